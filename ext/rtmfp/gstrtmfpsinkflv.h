/* GStreamer RTMFP: the FLV input of rtmfpsink (what flvmux gives, as
 * rtmp2sink takes it).
 *
 * Splits video/x-flv into tags, refuses codecs RTMFP does not carry (with
 * an error naming the codec and what to use), marks what is sent
 * reliably (metadata, sequence headers, end of sequence) and keyframes,
 * drops Speex header packets (FLV Speex has none), and sends stream state
 * (the caps' streamheader, HEADER buffers) only when it changed, so that a
 * new SPS/PPS or new metadata mid-stream goes out and duplicates do not.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstRtmfpFlvInput GstRtmfpFlvInput;

/* Sends one tag body (type 8, 9, 18) with RTMFP_TC_CLIENT_SEND_* flags */
typedef GstFlowReturn (*GstRtmfpFlvSendFunc) (guint8 type, guint32 ts,
    GBytes * payload, guint flags, gpointer data);

/* element: where refusals are posted */
GstRtmfpFlvInput *gst_rtmfp_flv_input_new (GstElement * element);
void      gst_rtmfp_flv_input_free (GstRtmfpFlvInput * in);
/* Forgets a partial tag (flush) */
void      gst_rtmfp_flv_input_flush (GstRtmfpFlvInput * in);
/* A new start (another run): stream state is sent again */
void      gst_rtmfp_flv_input_reset (GstRtmfpFlvInput * in);

/* The caps' streamheader; FALSE (error posted) for a refused codec */
gboolean  gst_rtmfp_flv_input_set_caps (GstRtmfpFlvInput * in,
    GstCaps * caps);
/* Sends what changed of the streamheader, then the tags of buf */
GstFlowReturn gst_rtmfp_flv_input_push (GstRtmfpFlvInput * in,
    GstBuffer * buf, GstRtmfpFlvSendFunc send, gpointer data);

G_END_DECLS
