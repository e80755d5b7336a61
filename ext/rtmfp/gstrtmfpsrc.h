/* GStreamer RTMFP plugin: rtmfpsrc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTMFP_SRC (gst_rtmfp_src_get_type ())
G_DECLARE_FINAL_TYPE (GstRtmfpSrc, gst_rtmfp_src, GST, RTMFP_SRC, GstElement)

G_END_DECLS
