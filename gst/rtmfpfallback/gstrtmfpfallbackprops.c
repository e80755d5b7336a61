/* GStreamer rtmfpfallback: the shared properties (see
 * gstrtmfpfallbackprops.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstrtmfpfallbackprops.h"

#define RW_READY (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_READY)

void
gst_rtmfp_fallback_settings_init (GstRtmfpFallbackSettings * s)
{
  memset (s, 0, sizeof *s);
  s->location = g_strdup (GST_RTMFP_FALLBACK_DEFAULT_LOCATION);
  s->rtmfp_timeout = GST_RTMFP_FALLBACK_DEFAULT_RTMFP_TIMEOUT;
  s->probe_interval = GST_RTMFP_FALLBACK_DEFAULT_PROBE_INTERVAL;
  s->timeout = GST_RTMFP_FALLBACK_DEFAULT_TIMEOUT;
}

static gchar **
string_field (GstRtmfpFallbackSettings * s, guint prop_id)
{
  switch (prop_id) {
    case GST_RTMFP_FALLBACK_PROP_LOCATION:
      return &s->location;
    case GST_RTMFP_FALLBACK_PROP_FALLBACK_LOCATION:
      return &s->fallback_location;
    case GST_RTMFP_FALLBACK_PROP_AUTH_TOKEN:
      return &s->auth_token;
    case GST_RTMFP_FALLBACK_PROP_SERVER_FINGERPRINT:
      return &s->server_fingerprint;
    case GST_RTMFP_FALLBACK_PROP_PEER_ID:
      return &s->peer_id;
    default:
      return NULL;
  }
}

static guint *
uint_field (GstRtmfpFallbackSettings * s, guint prop_id)
{
  switch (prop_id) {
    case GST_RTMFP_FALLBACK_PROP_RTMFP_TIMEOUT:
      return &s->rtmfp_timeout;
    case GST_RTMFP_FALLBACK_PROP_PROBE_INTERVAL:
      return &s->probe_interval;
    case GST_RTMFP_FALLBACK_PROP_TIMEOUT:
      return &s->timeout;
    case GST_RTMFP_FALLBACK_PROP_STATS_INTERVAL:
      return &s->stats_interval;
    default:
      return NULL;
  }
}

gboolean
gst_rtmfp_fallback_settings_set (GstRtmfpFallbackSettings * s, guint prop_id,
    const GValue * value)
{
  gchar **str = string_field (s, prop_id);
  guint *u = uint_field (s, prop_id);

  if (str) {
    g_free (*str);
    *str = g_value_dup_string (value);
    /* empty: unset (fallback-location derived again, no token ...) */
    if (*str && !**str && prop_id != GST_RTMFP_FALLBACK_PROP_LOCATION)
      g_clear_pointer (str, g_free);
  } else if (u) {
    *u = g_value_get_uint (value);
  } else if (prop_id == GST_RTMFP_FALLBACK_PROP_MODE) {
    s->mode = g_value_get_enum (value);
  } else if (prop_id == GST_RTMFP_FALLBACK_PROP_CONGESTION_CONTROL) {
    s->congestion_control = g_value_get_enum (value);
  } else {
    return FALSE;
  }
  return TRUE;
}

gboolean
gst_rtmfp_fallback_settings_get (GstRtmfpFallbackSettings * s, guint prop_id,
    GValue * value)
{
  gchar **str = string_field (s, prop_id);
  guint *u = uint_field (s, prop_id);

  if (prop_id == GST_RTMFP_FALLBACK_PROP_FALLBACK_LOCATION)
    g_value_take_string (value, gst_rtmfp_fallback_settings_rtmp_location (s));
  else if (prop_id == GST_RTMFP_FALLBACK_PROP_AUTH_TOKEN)
    return FALSE;               /* write-only */
  else if (str)
    g_value_set_string (value, *str);
  else if (u)
    g_value_set_uint (value, *u);
  else if (prop_id == GST_RTMFP_FALLBACK_PROP_MODE)
    g_value_set_enum (value, s->mode);
  else if (prop_id == GST_RTMFP_FALLBACK_PROP_CONGESTION_CONTROL)
    g_value_set_enum (value, s->congestion_control);
  else
    return FALSE;
  return TRUE;
}

static void
install_locations (GObjectClass * klass)
{
  /**
   * GstRtmfpAutoSink:location:
   * GstRtmfpAutoSrc:location:
   *
   * The stream over RTMFP: `rtmfp://host[:port]/app/stream`.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "RTMFP location (rtmfp://host[:port]/app/stream)",
          GST_RTMFP_FALLBACK_DEFAULT_LOCATION, RW_READY));

  /**
   * GstRtmfpAutoSink:fallback-location:
   * GstRtmfpAutoSrc:fallback-location:
   *
   * The stream over RTMP when RTMFP does not work.  Unset (or empty), it
   * is the location with the scheme `rtmp://` instead of `rtmfp://`: the
   * same host, port (if one is given: rtmfp-server listens for RTMP on the
   * TCP port of its UDP port's number), application and stream.  Reading
   * it gives the location in use.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_FALLBACK_LOCATION,
      g_param_spec_string ("fallback-location", "Fallback location",
          "RTMP location to fall back to (default: location with rtmp://)",
          NULL, RW_READY));
}

static void
install_switching (GObjectClass * klass)
{
  /**
   * GstRtmfpAutoSink:rtmfp-timeout:
   * GstRtmfpAutoSrc:rtmfp-timeout:
   *
   * Seconds RTMFP has to publish / play after the start, and to restore
   * a lost connection (from the child's `rtmfp-reconnecting` on), before
   * the bin falls back to RTMP.  It is also the RTMFP element's own
   * `timeout` (so its dead-peer detection is `rtmfp-timeout` minus 2 s,
   * at least 2 s), and the time a probe gets.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_RTMFP_TIMEOUT,
      g_param_spec_uint ("rtmfp-timeout", "RTMFP timeout",
          "Seconds RTMFP has to work (at the start, after a loss) before "
          "falling back to RTMP", 1, 3600,
          GST_RTMFP_FALLBACK_DEFAULT_RTMFP_TIMEOUT, RW_READY));

  /**
   * GstRtmfpAutoSink:probe-interval:
   * GstRtmfpAutoSrc:probe-interval:
   *
   * While on RTMP: seconds between attempts of RTMFP in the background;
   * one that works takes over at a keyframe.  0: stay on RTMP.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_PROBE_INTERVAL,
      g_param_spec_uint ("probe-interval", "Probe interval",
          "Seconds between background RTMFP probes while on RTMP (0: never "
          "switch back)", 0, 86400, GST_RTMFP_FALLBACK_DEFAULT_PROBE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstRtmfpAutoSink:active-protocol:
   * GstRtmfpAutoSrc:active-protocol:
   *
   * The protocol in use: `rtmfp` or `rtmp` (NULL before the start).
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_ACTIVE_PROTOCOL,
      g_param_spec_string ("active-protocol", "Active protocol",
          "The protocol in use: rtmfp or rtmp", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
install_children (GObjectClass * klass, gboolean player)
{
  /**
   * GstRtmfpAutoSink:timeout:
   * GstRtmfpAutoSrc:timeout:
   *
   * Seconds the RTMP element (rtmp2sink / rtmp2src `timeout`) waits for
   * its server.  RTMFP's is #GstRtmfpAutoSink:rtmfp-timeout.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "Timeout",
          "Seconds the RTMP element waits for its server", 1, 3600,
          GST_RTMFP_FALLBACK_DEFAULT_TIMEOUT, RW_READY));

  /**
   * GstRtmfpAutoSink:auth-token:
   * GstRtmfpAutoSrc:auth-token:
   *
   * The RTMFP element's `auth-token` (sent with connect).  Write-only.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_AUTH_TOKEN,
      g_param_spec_string ("auth-token", "Authentication token",
          "Token sent with the RTMFP connect (write-only)", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:server-fingerprint:
   * GstRtmfpAutoSrc:server-fingerprint:
   *
   * The RTMFP element's `server-fingerprint`: the peer ID the RTMFP server
   * must have.  A server that does not is an RTMFP failure (the bin falls
   * back).
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_SERVER_FINGERPRINT,
      g_param_spec_string ("server-fingerprint", "Server fingerprint",
          "Required peer ID (hex) of the RTMFP server; NULL: any server",
          NULL, RW_READY));

  /**
   * GstRtmfpAutoSrc:peer-id:
   *
   * rtmfpsrc's `peer-id`: play from this direct-mode publisher (or `auto`)
   * over RTMFP; RTMP plays from the server.
   *
   * Since: 1.0
   */
  if (player)
    g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_PEER_ID,
        g_param_spec_string ("peer-id", "Peer ID",
            "Hex peer ID of a direct publisher to play from over RTMFP, or "
            "\"auto\"", NULL, RW_READY));

  /**
   * GstRtmfpAutoSink:congestion-control:
   * GstRtmfpAutoSrc:congestion-control:
   *
   * The RTMFP element's `congestion-control`: `tcp` (default, RFC 7016's
   * TCP-compatible window) or `media` (delay based, for links known to be
   * lossy).  RTMP uses its TCP connection's controller.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_CONGESTION_CONTROL,
      g_param_spec_enum ("congestion-control", "Congestion control",
          "Congestion controller of RTMFP (tcp: RFC 7016's default; media: "
          "delay based, for lossy links)",
          gst_rtmfp_fallback_congestion_control_get_type (), 0, RW_READY));
}

GType
gst_rtmfp_fallback_congestion_control_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {0, "RFC 7016's TCP-compatible window (loss is congestion)", "tcp"},
    {1, "Delay based, tolerates random loss (opt-in deviation from RFC "
          "7016 3.5.2, for lossy links)", "media"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpAutoCongestionControl",
        values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

static void
install_stats (GObjectClass * klass)
{
  /**
   * GstRtmfpAutoSink:stats:
   * GstRtmfpAutoSrc:stats:
   *
   * The statistics of the active protocol, as an
   * `application/x-rtmfp-statistics` structure with the field `protocol`
   * (`rtmfp` or `rtmp`) and `fallback-switches` (switches in this run).
   * On RTMFP: the fields of rtmfpsink / rtmfpsrc; on RTMP the same fields
   * (zero where RTMP has no such figure) with `bytes-sent` and
   * `bytes-received` of the RTMP connection.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Statistics of the active protocol (application/x-rtmfp-"
          "statistics, with a protocol field)", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpAutoSink:stats-interval:
   * GstRtmfpAutoSrc:stats-interval:
   *
   * Every this many milliseconds, post #GstRtmfpAutoSink:stats as an
   * element message of the bin (`gst-launch-1.0 -m` prints it); 0: never.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass,
      GST_RTMFP_FALLBACK_PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Statistics interval",
          "Post the statistics as an element message every this many ms "
          "(0: never)", 0, 3600000, 0, RW_READY));
}

void
gst_rtmfp_fallback_install_properties (GObjectClass * klass, gboolean player)
{
  install_locations (klass);
  install_switching (klass);
  install_children (klass, player);
  install_stats (klass);
  gst_type_mark_as_plugin_api (gst_rtmfp_fallback_congestion_control_get_type
      (), 0);
}

/* ------------------------------------------------------------------------ */
/* GstURIHandler */

static GstURIType
uri_get_type_src (GType type)
{
  return GST_URI_SRC;
}

static GstURIType
uri_get_type_sink (GType type)
{
  return GST_URI_SINK;
}

static const gchar *const *
uri_get_protocols (GType type)
{
  static const gchar *const protocols[] = { "rtmfp", NULL };
  return protocols;
}

static gchar *
uri_get_uri (GstURIHandler * handler)
{
  gchar *uri = NULL;

  g_object_get (handler, "location", &uri, NULL);
  return uri;
}

static gboolean
uri_set_uri (GstURIHandler * handler, const gchar * uri, GError ** error)
{
  if (!g_str_has_prefix (uri, "rtmfp:")) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "Not an rtmfp:// URI: %s", uri);
    return FALSE;
  }
  if (GST_STATE (handler) > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "The location of a running element cannot change");
    return FALSE;
  }
  g_object_set (handler, "location", uri, NULL);
  return TRUE;
}

static void
uri_handler_init (GstURIHandlerInterface * iface)
{
  iface->get_protocols = uri_get_protocols;
  iface->get_uri = uri_get_uri;
  iface->set_uri = uri_set_uri;
}

void
gst_rtmfp_fallback_uri_handler_init_src (gpointer g_iface, gpointer data)
{
  uri_handler_init (g_iface);
  ((GstURIHandlerInterface *) g_iface)->get_type = uri_get_type_src;
}

void
gst_rtmfp_fallback_uri_handler_init_sink (gpointer g_iface, gpointer data)
{
  uri_handler_init (g_iface);
  ((GstURIHandlerInterface *) g_iface)->get_type = uri_get_type_sink;
}
