/* GStreamer rtmfpautosink: what the element (gstrtmfpautosink.c), its
 * inputs (gstrtmfpautosinkinput.c) and its children
 * (gstrtmfpautosinkchild.c) share.
 *
 * Inputs are the bin's request pads: `video` and `audio` (elementary, as
 * rtmfpsink takes them) or `sink` (FLV).  A child is one publishing sink:
 * rtmfpsink, whose pads of the same names the inputs feed, or the RTMP
 * sink (rtmp2sink), fed FLV: the FLV input as it is, elementary inputs
 * through an FLV writer (gstrtmfpflvwriter.h).  Each input reaches the
 * child of the moment through a route (an internal src pad linked to the
 * child's pad), made when the input first pushes to that child; before
 * that it primes it (stream-start, caps, segment: the sticky events) and
 * waits for a keyframe.
 *
 * A switch replaces the active child: at once when RTMFP failed (the old
 * child is stopped, which releases input threads blocked in it; they push
 * again to the new one), or at the next keyframe when RTMFP comes back
 * (a probe that publishes is adopted; a probe that only reached the
 * server, which refused the name the RTMP publisher holds, closes the RTMP
 * sink first and publishes anew).
 *
 * Locks: self->lock (inputs, children, policy, pending switch), then a
 * child's lock (its routes), then OBJECT_LOCK.  Never call into a child
 * with self->lock held (children post messages, handle_message takes it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpautosink.h"
#include "gstrtmfpfallbackpolicy.h"
#include "gstrtmfpfallbackutil.h"
#include "gstrtmfpflvcache.h"
#include "gstrtmfpflvwriter.h"
#include "gstrtmfpmedia.h"

G_BEGIN_DECLS

/* registered with rtmfpautosink's class */
GST_DEBUG_CATEGORY_EXTERN (gst_rtmfp_auto_sink_input_debug);
GST_DEBUG_CATEGORY_EXTERN (gst_rtmfp_auto_sink_child_debug);

typedef enum {
  GST_RTMFP_AUTO_SINK_VIDEO,
  GST_RTMFP_AUTO_SINK_AUDIO,
  GST_RTMFP_AUTO_SINK_FLV,
  GST_RTMFP_AUTO_SINK_N,
} GstRtmfpAutoSinkKind;

typedef struct _GstRtmfpAutoSinkInput GstRtmfpAutoSinkInput;
typedef struct _GstRtmfpAutoSinkChild GstRtmfpAutoSinkChild;

struct _GstRtmfpAutoSinkInput {
  GstRtmfpAutoSink *self;
  GstRtmfpAutoSinkKind kind;
  GstPad *pad;                  /* the bin's request pad */
  /* its streaming thread */
  GstRtmfpMediaFormat fmt;      /* elementary */
  gboolean have_fmt;
  GstRtmfpFlvCache cache;       /* FLV */
  guint primed;                 /* generation of the child it primed */
  gboolean need_key;
  gboolean state_in_caps;       /* FLV: the new sink has it in its caps */
  gboolean eos;                 /* (self->lock) */
};

struct _GstRtmfpAutoSinkChild {
  gint refcount;
  GstRtmfpAutoSink *self;
  GstElement *el;               /* in the bin (ref) */
  GstRtmfpFallbackProtocol proto;
  guint gen;
  gboolean reached;             /* probe: the server answered */
  gboolean replacement;         /* not the first sink of the run */
  GMutex lock;                  /* routes, writer */
  GstPad *routes[GST_RTMFP_AUTO_SINK_N];
  GstRtmfpFlvWriter *writer;    /* RTMP, elementary inputs */
};

struct _GstRtmfpAutoSink {
  GstBin parent;

  /* properties (OBJECT_LOCK) */
  GstRtmfpFallbackSettings settings;
  gchar *rtmfp_element;
  gchar *fallback_element;      /* NULL: rtmp2sink, else rtmpsink */
  GstRtmfpFallbackProtocol active_protocol;

  GMutex lock;
  GstRtmfpAutoSinkInput *inputs[GST_RTMFP_AUTO_SINK_N];
  gboolean running, failed;
  gboolean to_rtmp;             /* a switch to RTMP is under way */
  GstRtmfpFallbackPolicy policy;
  GstRtmfpAutoSinkChild *child; /* active */
  GstRtmfpAutoSinkChild *probe; /* an RTMFP sink being tried */
  guint next_gen;
  /* a switch at the next keyframe: adopt the probe, or reopen RTMFP */
  gboolean pending_adopt, pending_reopen;
  gchar *pending_reason;
  guint switches;
  guint32 stream_start_seqnum;
  GstStructure *stats_tmpl;
  GstRtmfpFallbackTimer policy_timer, stats_timer;
};

/* gstrtmfpautosinkchild.c */
/* A new child for proto, in the bin, not started (NULL: no element) */
GstRtmfpAutoSinkChild *gst_rtmfp_auto_sink_child_new (GstRtmfpAutoSink *
    self, GstRtmfpFallbackProtocol proto);
GstRtmfpAutoSinkChild *gst_rtmfp_auto_sink_child_ref (GstRtmfpAutoSinkChild
    * c);
void      gst_rtmfp_auto_sink_child_unref (GstRtmfpAutoSinkChild * c);
/* The route for an input (made on first use; NULL if the child has no pad
 * for it), and the writer of an RTMP child with elementary inputs */
GstPad   *gst_rtmfp_auto_sink_child_route (GstRtmfpAutoSinkChild * c,
    GstRtmfpAutoSinkInput * in, GstRtmfpFlvWriter ** writer);
/* Stops it and takes it out of the bin (drops the bin's reference to c) */
void      gst_rtmfp_auto_sink_child_retire (GstRtmfpAutoSinkChild * c);

/* gstrtmfpautosinkinput.c */
GstRtmfpAutoSinkInput *gst_rtmfp_auto_sink_input_new (GstRtmfpAutoSink *
    self, GstRtmfpAutoSinkKind kind, GstPadTemplate * templ);
void      gst_rtmfp_auto_sink_input_free (GstRtmfpAutoSinkInput * in);

/* gstrtmfpautosink.c */
/* The active child (ref) or NULL */
GstRtmfpAutoSinkChild *gst_rtmfp_auto_sink_get_child (GstRtmfpAutoSink *
    self);
/* in's buffer is a start (keyframe): a pending switch happens now */
void      gst_rtmfp_auto_sink_keyframe (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkInput * in);
/* The RTMFP child c returned ret: it failed */
void      gst_rtmfp_auto_sink_child_failed (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkChild * c, GstFlowReturn ret);
/* Every input has EOS (self->lock not held) */
gboolean  gst_rtmfp_auto_sink_all_eos (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkInput * in);

G_END_DECLS
