/* GStreamer rtmfpautosrc: plays over RTMFP, falls back to RTMP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTMFP_AUTO_SRC (gst_rtmfp_auto_src_get_type ())
G_DECLARE_FINAL_TYPE (GstRtmfpAutoSrc, gst_rtmfp_auto_src, GST,
    RTMFP_AUTO_SRC, GstBin)

GST_ELEMENT_REGISTER_DECLARE (rtmfpautosrc);

G_END_DECLS
