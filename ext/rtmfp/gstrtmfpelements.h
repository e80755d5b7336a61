/* GStreamer RTMFP plugin: element registration
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

void      rtmfp_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DECLARE (rtmfpsrc);
GST_ELEMENT_REGISTER_DECLARE (rtmfpsink);

G_END_DECLS
