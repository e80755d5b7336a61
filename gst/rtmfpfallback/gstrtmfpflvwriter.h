/* GStreamer rtmfpfallback: elementary streams as FLV for the RTMP sink.
 *
 * When rtmfpautosink takes elementary `video` / `audio` pads and falls
 * back to RTMP, it writes the FLV that rtmp2sink takes itself, with the
 * core's FLV code (flvtag.h) and the same tag bodies as rtmfpsink
 * (gstrtmfpmedia.h): no flvmux, so Speex (whose header buffers flvmux
 * cannot schedule) falls back too.  The first buffer goes with caps whose
 * streamheader is the file header, onMetaData made from the formats and
 * the sequence headers (rtmp2sink sends them first); a format that comes
 * or changes later goes inline (metadata, then its sequence header) before
 * its next frame.  Timestamps are the running time in ms given by the
 * caller: one timeline for both pads.  Thread safe (both inputs push).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpmedia.h"

G_BEGIN_DECLS

typedef struct _GstRtmfpFlvWriter GstRtmfpFlvWriter;

/* pad: linked to the RTMP sink (ref taken); which media the stream has */
GstRtmfpFlvWriter *gst_rtmfp_flv_writer_new (GstPad * pad, gboolean video,
    gboolean audio);
void      gst_rtmfp_flv_writer_free (GstRtmfpFlvWriter * w);

/* The format of an input (copied) */
void      gst_rtmfp_flv_writer_set_format (GstRtmfpFlvWriter * w,
    const GstRtmfpMediaFormat * fmt);
/* One buffer of an input at running time ts_ms (cts_ms: PTS - DTS) */
GstFlowReturn gst_rtmfp_flv_writer_push (GstRtmfpFlvWriter * w,
    gboolean video, GstBuffer * buf, guint32 ts_ms, gint32 cts_ms);
/* Every input ended: the end of sequence, then EOS */
void      gst_rtmfp_flv_writer_eos (GstRtmfpFlvWriter * w);

G_END_DECLS
