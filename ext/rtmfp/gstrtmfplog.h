/* GStreamer RTMFP: the protocol core's log in GStreamer's debug log
 * (category "rtmfpcore"; see gstrtmfplog.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Once per process, at plugin load */
void      gst_rtmfp_log_bridge_init (void);

G_END_DECLS
