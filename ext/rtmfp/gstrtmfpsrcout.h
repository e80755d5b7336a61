/* GStreamer RTMFP: the outputs of rtmfpsrc.
 *
 * One played stream goes out three ways, each an independent output with
 * its own continuity rules:
 *
 *   FLV        video/x-flv (for flvdemux, playbin): a file header, then one
 *              tag per message, DISCONT after a gap, true timestamps;
 *   video      elementary (the caps flvdemux would give): after a lost or
 *              dropped video message, nothing until the next keyframe,
 *              which is marked DISCONT (no corrupted picture reaches the
 *              decoder), and the publisher is asked for one;
 *   audio      elementary: a lost message becomes GAP events, one per lost
 *              frame where the frame duration is known (Speex: 20 ms), so
 *              a decoder's concealment covers exactly what is missing.
 *
 * A stream that starts or starts again (RESTART) puts every output back to
 * the start: sequence headers first, video from a keyframe.  The stream
 * state (metadata, sequence headers) is kept so that an output that starts
 * late (a pad linked later) starts coherently too.  Streaming thread only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "rtmfpmediaqueue.h"
#include "gstrtmfpmedia.h"

G_BEGIN_DECLS

typedef struct _GstRtmfpSrcOut GstRtmfpSrcOut;

typedef struct {
  /* A sometimes pad is needed ("video" / "audio"): the owner makes it
   * (with its query / event functions) and adds it once caps are set */
  GstPad *(*new_pad) (gpointer owner, gboolean video);
  void (*add_pad) (gpointer owner, GstPad * pad);
  /* the elementary video output lost continuity: ask for a keyframe */
  void (*want_keyframe) (gpointer owner);
} GstRtmfpSrcOutFuncs;

/* flv_pad: the always pad; group_id for stream-start of every pad */
GstRtmfpSrcOut *gst_rtmfp_src_out_new (GstElement * element,
    GstPad * flv_pad, const GstRtmfpSrcOutFuncs * funcs, gpointer owner);
void      gst_rtmfp_src_out_free (GstRtmfpSrcOut * o);

/* Pushes one message (already timestamped: dts, and pts for video) to
 * every output.  GST_FLOW_OK unless the stream must stop (flushing, EOS,
 * an error: every linked output said so); NOT_LINKED outputs are fine. */
GstFlowReturn gst_rtmfp_src_out_push (GstRtmfpSrcOut * o,
    const RtmfpMediaItem * item, GstClockTime dts);
/* EOS on every pad */
void      gst_rtmfp_src_out_eos (GstRtmfpSrcOut * o);
/* The sometimes pads it added (for removal at stop) */
GstPad   *gst_rtmfp_src_out_get_pad (GstRtmfpSrcOut * o, gboolean video);

typedef struct {
  guint64 gap_events;           /* audio frames concealed by GAP */
  guint64 video_dropped;        /* waiting for a keyframe after a loss */
} GstRtmfpSrcOutStats;

void      gst_rtmfp_src_out_get_stats (GstRtmfpSrcOut * o,
    GstRtmfpSrcOutStats * st);

G_END_DECLS
