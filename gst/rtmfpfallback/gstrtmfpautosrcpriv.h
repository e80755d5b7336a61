/* GStreamer rtmfpautosrc: what the element (gstrtmfpautosrc.c) and its
 * paths (gstrtmfpautosrcpath.c) share.
 *
 * A path is one child source (rtmfpsrc or rtmp2src) with the pad that
 * takes its FLV output, the reader of that FLV and a hold
 * (gstrtmfpsplice.h).  The bin has an active path (given out through the
 * outputs of rtmfpsrc, gstrtmfpsrcout.h) and at most one candidate: an
 * RTMFP probe while on RTMP, or an RTMP path that stands by (started when
 * RTMFP media stalls, so that a switch finds media from then on).  A
 * switch happens on the candidate's streaming thread when it is wanted and
 * the candidate holds a start later than the output.
 *
 * Locks: out_lock (the outputs, held while pushing) before lock (paths,
 * policy, timeline, hold); never call into a child with lock held.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpautosrc.h"
#include "gstrtmfpfallbackpolicy.h"
#include "gstrtmfpfallbackutil.h"
#include "gstrtmfpflvreader.h"
#include "gstrtmfpsplice.h"
#include "gstrtmfpsrcout.h"

G_BEGIN_DECLS

/* registered with rtmfpautosrc's class */
GST_DEBUG_CATEGORY_EXTERN (gst_rtmfp_auto_src_path_debug);

typedef struct _GstRtmfpAutoSrcPath GstRtmfpAutoSrcPath;

struct _GstRtmfpAutoSrcPath {
  GstRtmfpAutoSrc *self;
  GstRtmfpFallbackProtocol proto;
  GstElement *src;              /* the child (ref) */
  GstPad *sinkpad;              /* takes its FLV (ref) */
  GstRtmfpFlvReader reader;     /* its streaming thread */
  /* lock */
  GstRtmfpSpliceHold hold;
  gboolean spliced;             /* given out directly */
  gboolean got_media;
  gboolean probe;               /* an RTMFP probe */
  gboolean ended;               /* its child sent EOS */
  gboolean failed;              /* its child posted an error */
  gint64 started_us;
  gint64 last_arrival_us;
  gint64 gap_us;                /* smoothed time between messages */
};

struct _GstRtmfpAutoSrc {
  GstBin parent;

  GstPad *flv_pad;

  /* properties (OBJECT_LOCK) */
  GstRtmfpFallbackSettings settings;
  GstRtmfpFallbackProtocol active_protocol;

  GMutex out_lock;
  GstRtmfpSrcOut *out;

  GMutex lock;
  gboolean running, playing, failed;
  GstRtmfpFallbackPolicy policy;
  GstRtmfpAutoSrcPath *active, *candidate;
  gboolean want_switch;         /* to the candidate, once it can start */
  gchar *switch_reason;
  GstRtmfpTimeline tl;
  guint switches;
  GstStructure *stats_tmpl;
  GstRtmfpFallbackTimer policy_timer, watch_timer, stats_timer, end_timer;
};

/* gstrtmfpautosrcpath.c (lock not held) */
GstRtmfpAutoSrcPath *gst_rtmfp_auto_src_path_new (GstRtmfpAutoSrc * self,
    GstRtmfpFallbackProtocol proto);
/* The child runs (as its parent) or FALSE */
gboolean  gst_rtmfp_auto_src_path_start (GstRtmfpAutoSrcPath * p);
/* Stops the child and frees the path (not from its streaming thread) */
void      gst_rtmfp_auto_src_path_free (GstRtmfpAutoSrcPath * p);
/* ... on a thread of GStreamer's pool */
void      gst_rtmfp_auto_src_path_retire (GstRtmfpAutoSrcPath * p);

/* gstrtmfpautosrc.c */
GstClockTime gst_rtmfp_auto_src_running_time (GstRtmfpAutoSrc * self);
/* The candidate could start and a switch is wanted: it takes over
 * (lock held) */
void      gst_rtmfp_auto_src_take_over_locked (GstRtmfpAutoSrc * self);
/* A message of the active path (first media: RTMFP plays) (lock held) */
void      gst_rtmfp_auto_src_media_locked (GstRtmfpAutoSrc * self,
    GstRtmfpAutoSrcPath * p);
/* A child sent EOS: the stream ended, unless an error of that child
 * follows within END_GRACE (rtmfpsrc ends its outputs after an error too) */
void      gst_rtmfp_auto_src_end (GstRtmfpAutoSrc * self,
    GstRtmfpAutoSrcPath * p);
GstFlowReturn gst_rtmfp_auto_src_push (GstRtmfpAutoSrc * self,
    const RtmfpMediaItem * item, GstClockTime dts);

G_END_DECLS
