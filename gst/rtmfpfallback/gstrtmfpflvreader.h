/* GStreamer rtmfpfallback: FLV from a child source, as messages.
 *
 * rtmfpautosrc reads the video/x-flv output of its children (rtmfpsrc,
 * rtmp2src) with the core's FLV code (flvtag.h) and hands each tag on as
 * a message of the played stream (rtmfpmediaqueue.h: type, timestamp, tag
 * body, KEYFRAME / HEADER from rtmfp_media_classify), so that either
 * protocol feeds the same outputs (gstrtmfpsrcout.h).  A DISCONT buffer
 * marks the next audio and video message DISCONT.  Malformed input is
 * dropped and counted, never trusted.  One streaming thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstadapter.h>
#include "rtmfpmediaqueue.h"

G_BEGIN_DECLS

typedef struct {
  GstAdapter *adapter;
  gboolean header_done;
  gboolean discont_audio, discont_video;
  guint64 dropped_bytes;        /* malformed input skipped */
} GstRtmfpFlvReader;

/* item: transfer full */
typedef void (*GstRtmfpFlvReaderFunc) (RtmfpMediaItem * item, gpointer data);

void      gst_rtmfp_flv_reader_init (GstRtmfpFlvReader * r);
void      gst_rtmfp_flv_reader_clear (GstRtmfpFlvReader * r);
/* Takes buf; calls func for every complete tag of type 8, 9 or 18 */
void      gst_rtmfp_flv_reader_push (GstRtmfpFlvReader * r, GstBuffer * buf,
    GstRtmfpFlvReaderFunc func, gpointer data);

G_END_DECLS
