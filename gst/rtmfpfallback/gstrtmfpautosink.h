/* GStreamer rtmfpautosink: publishes over RTMFP, falls back to RTMP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTMFP_AUTO_SINK (gst_rtmfp_auto_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstRtmfpAutoSink, gst_rtmfp_auto_sink, GST,
    RTMFP_AUTO_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE (rtmfpautosink);

/* the values of rtmfpsink's mode (server 0, direct 1) */
GType     gst_rtmfp_auto_sink_mode_get_type (void);


G_END_DECLS
