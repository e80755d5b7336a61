/* GStreamer RTMFP plugin: rtmfpsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTMFP_SINK (gst_rtmfp_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstRtmfpSink, gst_rtmfp_sink, GST, RTMFP_SINK, GstBin)

/**
 * GstRtmfpSinkMode:
 * @GST_RTMFP_SINK_MODE_SERVER: publish through the server, which relays
 *   the stream to its players
 * @GST_RTMFP_SINK_MODE_DIRECT: publish to peer-to-peer subscribers the
 *   server introduces
 *
 * Since: 1.0
 */
typedef enum {
  GST_RTMFP_SINK_MODE_SERVER,
  GST_RTMFP_SINK_MODE_DIRECT,
} GstRtmfpSinkMode;

#define GST_TYPE_RTMFP_SINK_MODE (gst_rtmfp_sink_mode_get_type ())
GType     gst_rtmfp_sink_mode_get_type (void);

G_END_DECLS
