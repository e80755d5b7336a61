/* GStreamer rtmfpfallback: the properties rtmfpautosink and rtmfpautosrc
 * share (specifications with their documentation, and the values in
 * GstRtmfpFallbackSettings).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpfallbackutil.h"

G_BEGIN_DECLS

/* Shared property IDs; element-only IDs start at 128 */
enum {
  GST_RTMFP_FALLBACK_PROP_0,
  GST_RTMFP_FALLBACK_PROP_LOCATION,
  GST_RTMFP_FALLBACK_PROP_FALLBACK_LOCATION,
  GST_RTMFP_FALLBACK_PROP_RTMFP_TIMEOUT,
  GST_RTMFP_FALLBACK_PROP_PROBE_INTERVAL,
  GST_RTMFP_FALLBACK_PROP_ACTIVE_PROTOCOL,
  GST_RTMFP_FALLBACK_PROP_TIMEOUT,
  GST_RTMFP_FALLBACK_PROP_AUTH_TOKEN,
  GST_RTMFP_FALLBACK_PROP_SERVER_FINGERPRINT,
  GST_RTMFP_FALLBACK_PROP_PEER_ID,
  GST_RTMFP_FALLBACK_PROP_MODE,
  GST_RTMFP_FALLBACK_PROP_STATS,
  GST_RTMFP_FALLBACK_PROP_STATS_INTERVAL,
  GST_RTMFP_FALLBACK_PROP_CONGESTION_CONTROL,
};

/* congestion-control of the bins: the RTMFP element's, by nick (tcp 0,
 * media 1) */
GType     gst_rtmfp_fallback_congestion_control_get_type (void);

#define GST_RTMFP_FALLBACK_DEFAULT_LOCATION "rtmfp://localhost/live/myStream"
#define GST_RTMFP_FALLBACK_DEFAULT_RTMFP_TIMEOUT 5
#define GST_RTMFP_FALLBACK_DEFAULT_PROBE_INTERVAL 10
#define GST_RTMFP_FALLBACK_DEFAULT_TIMEOUT 5

void      gst_rtmfp_fallback_settings_init (GstRtmfpFallbackSettings * s);

/* player: rtmfpautosrc (peer-id to play from) or rtmfpautosink (mode,
 * peer-id read-only) */
void      gst_rtmfp_fallback_install_properties (GObjectClass * klass,
    gboolean player);
/* Values kept in the settings (call with the element's OBJECT_LOCK);
 * FALSE for other IDs (active-protocol, stats, peer-id of the sink) */
gboolean  gst_rtmfp_fallback_settings_set (GstRtmfpFallbackSettings * s,
    guint prop_id, const GValue * value);
gboolean  gst_rtmfp_fallback_settings_get (GstRtmfpFallbackSettings * s,
    guint prop_id, GValue * value);

/* GstURIHandler of the bins (scheme rtmfp; the value is `location`) */
void      gst_rtmfp_fallback_uri_handler_init_src (gpointer g_iface,
    gpointer iface_data);
void      gst_rtmfp_fallback_uri_handler_init_sink (gpointer g_iface,
    gpointer iface_data);

G_END_DECLS
