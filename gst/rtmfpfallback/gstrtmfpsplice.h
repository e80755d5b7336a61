/* GStreamer rtmfpfallback: splicing one played stream onto another.
 *
 * rtmfpautosrc gives one stream out of two sources (RTMFP, RTMP).  Each
 * source's messages are held here (GstRtmfpSpliceHold) while it is not
 * the one given out, and the output keeps one timeline (GstRtmfpTimeline):
 *
 *   - timestamps are the publisher's, anchored once at the running time
 *     of the first message given out (as rtmfpsrc does), so they stay
 *     true across a switch when both sources carry the publisher's clock
 *     (the same server, or servers that relay timestamps as they are: the
 *     delay between a message's timestamp and its arrival agrees within
 *     SAME_TIMELINE_US); otherwise the new source is anchored again at
 *     its arrival, never before what was given out;
 *   - a switch starts at a video keyframe later than the last video given
 *     out (audio only: the first later audio message), audio from that
 *     keyframe's time on, after the stream state (metadata and sequence
 *     headers) of the new source: the output restarts (RTMFP_MEDIA_RESTART
 *     marks the first message), so every pad gets DISCONT and the
 *     elementary video waits for that keyframe;
 *   - a hold keeps the stream state and the media from the earliest
 *     keyframe that is still later than the output (so the gap is as short
 *     as what the new source has), bounded in messages, bytes and time.
 *
 * Not thread safe: the owner locks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "rtmfpmediaqueue.h"
#include "flvtag.h"

G_BEGIN_DECLS

typedef struct {
  RtmfpMediaItem *item;         /* owned */
  guint64 ms;                   /* unwrapped timestamp */
  GstClockTime arrival;         /* running time when it came */
} GstRtmfpSpliceMsg;

void      gst_rtmfp_splice_msg_free (GstRtmfpSpliceMsg * m);

typedef struct {
  gboolean anchored;
  guint64 anchor_ms;            /* the source of the moment's ms ... */
  GstClockTime anchor_rt;       /* ... at this running time */
  guint64 base_ms;              /* the first anchor: the output's FLV */
  GstClockTime base_rt;         /* timestamps count from it */
  GstClockTime last_video, last_audio;  /* last dts given out, or NONE */
  gint64 last_delay;            /* ns: dts - arrival of the last one */
  gboolean has_video;           /* video was given out */
} GstRtmfpTimeline;

void      gst_rtmfp_timeline_init (GstRtmfpTimeline * tl);
/* Stamps a message given out now: returns its dts and sets its item's
 * timestamp to the output's FLV timeline (anchors on the first) */
GstClockTime gst_rtmfp_timeline_stamp (GstRtmfpTimeline * tl,
    GstRtmfpSpliceMsg * m);

typedef struct {
  RtmfpFlvTsUnwrapper unwrap;
  GQueue media;                 /* GstRtmfpSpliceMsg */
  gsize bytes;
  GstRtmfpSpliceMsg *state[3];  /* latest metadata, video, audio header */
  gboolean seen_video;
  guint64 dropped;              /* media dropped to stay bounded */
} GstRtmfpSpliceHold;

void      gst_rtmfp_splice_hold_init (GstRtmfpSpliceHold * h);
void      gst_rtmfp_splice_hold_clear (GstRtmfpSpliceHold * h);
/* A message of this source (item taken), stamped with its arrival */
GstRtmfpSpliceMsg *gst_rtmfp_splice_hold_wrap (GstRtmfpSpliceHold * h,
    RtmfpMediaItem * item, GstClockTime arrival);
/* Keeps m (taken) for a later switch, pruned against the output */
void      gst_rtmfp_splice_hold_push (GstRtmfpSpliceHold * h,
    GstRtmfpSpliceMsg * m, const GstRtmfpTimeline * tl);

/* Where given-out messages go: item and dts (item borrowed) */
typedef GstFlowReturn (*GstRtmfpSpliceOutFunc) (const RtmfpMediaItem * item,
    GstClockTime dts, gpointer data);

/* If the hold has a start later than the output: anchors the timeline
 * for it, gives out its stream state and media from that start (the
 * first RESTART) and empties the hold; FALSE if there is none yet.  *ret:
 * the last flow return. */
gboolean  gst_rtmfp_splice_hold_splice (GstRtmfpSpliceHold * h,
    GstRtmfpTimeline * tl, GstRtmfpSpliceOutFunc out, gpointer data,
    GstFlowReturn * ret);
G_END_DECLS
