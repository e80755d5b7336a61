/* GStreamer RTMFP: shared properties and the settings of a run (see
 * gstrtmfpsettings.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpsettings.h"
#include "gstrtmfpobject.h"
#include "rtmfptcclient.h"

static GQuark settings_quark;

void
gst_rtmfp_settings_init (GstRtmfpSettings * s, GstElement * element,
    gboolean publisher)
{
  g_mutex_init (&s->lock);
  s->publisher = publisher;
  s->running = FALSE;
  s->location = g_strdup (GST_RTMFP_DEFAULT_LOCATION);
  s->timeout = GST_RTMFP_DEFAULT_TIMEOUT;
  s->idle_timeout = GST_RTMFP_DEFAULT_IDLE_TIMEOUT;
  s->audio_lifetime = GST_RTMFP_DEFAULT_AUDIO_LIFETIME;
  s->video_lifetime = GST_RTMFP_DEFAULT_VIDEO_LIFETIME;
  s->stats_interval = GST_RTMFP_DEFAULT_STATS_INTERVAL;
  s->auto_reconnect = GST_RTMFP_DEFAULT_AUTO_RECONNECT;
  g_object_set_qdata (G_OBJECT (element), settings_quark, s);
}

void
gst_rtmfp_settings_clear (GstRtmfpSettings * s)
{
  g_free (s->location);
  g_free (s->play_peer_id);
  g_free (s->server_fingerprint);
  g_free (s->auth_token);
  g_free (s->local_peer_id);
  g_mutex_clear (&s->lock);
}

/* ------------------------------------------------------------------------ */
/* values */

gboolean
gst_rtmfp_settings_set_location (GstRtmfpSettings * s, const gchar * location,
    GError ** error)
{
  g_mutex_lock (&s->lock);
  if (s->running) {
    g_mutex_unlock (&s->lock);
    g_set_error_literal (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "Changing the location of a running element is not supported");
    return FALSE;
  }
  g_free (s->location);
  s->location = g_strdup (location);
  g_mutex_unlock (&s->lock);
  return TRUE;
}

gchar *
gst_rtmfp_settings_dup_location (GstRtmfpSettings * s)
{
  gchar *l;

  g_mutex_lock (&s->lock);
  l = g_strdup (s->location);
  g_mutex_unlock (&s->lock);
  return l;
}

gchar *
gst_rtmfp_settings_dup_local_peer_id (GstRtmfpSettings * s)
{
  gchar *id;

  g_mutex_lock (&s->lock);
  id = g_strdup (s->local_peer_id);
  g_mutex_unlock (&s->lock);
  return id;
}

void
gst_rtmfp_settings_set_running (GstRtmfpSettings * s, gboolean running,
    const gchar * local_peer_id)
{
  g_mutex_lock (&s->lock);
  s->running = running;
  if (local_peer_id) {
    g_free (s->local_peer_id);
    s->local_peer_id = g_strdup (local_peer_id);
  }
  g_mutex_unlock (&s->lock);
}

void
gst_rtmfp_settings_set_local_peer_id (GstRtmfpSettings * s,
    const gchar * local_peer_id)
{
  g_mutex_lock (&s->lock);
  g_free (s->local_peer_id);
  s->local_peer_id = g_strdup (local_peer_id);
  g_mutex_unlock (&s->lock);
}

static void
set_string (GstRtmfpSettings * s, gchar ** field, const GValue * value)
{
  g_mutex_lock (&s->lock);
  g_free (*field);
  *field = g_value_dup_string (value);
  g_mutex_unlock (&s->lock);
}

static void
set_uint (GstRtmfpSettings * s, guint * field, guint value)
{
  g_mutex_lock (&s->lock);
  *field = value;
  g_mutex_unlock (&s->lock);
}

gboolean
gst_rtmfp_settings_set_property (GstRtmfpSettings * s, GstElement * element,
    guint prop_id, const GValue * value)
{
  GError *err = NULL;

  switch (prop_id) {
    case GST_RTMFP_PROP_LOCATION:
      if (!gst_rtmfp_settings_set_location (s, g_value_get_string (value),
              &err)) {
        GST_WARNING_OBJECT (element, "%s", err->message);
        g_error_free (err);
      }
      return TRUE;
    case GST_RTMFP_PROP_PEER_ID:
      set_string (s, &s->play_peer_id, value);
      return TRUE;
    case GST_RTMFP_PROP_TIMEOUT:
      set_uint (s, &s->timeout, g_value_get_uint (value));
      return TRUE;
    case GST_RTMFP_PROP_SERVER_FINGERPRINT:
      set_string (s, &s->server_fingerprint, value);
      return TRUE;
    case GST_RTMFP_PROP_AUTH_TOKEN:
      set_string (s, &s->auth_token, value);
      return TRUE;
    case GST_RTMFP_PROP_AUTO_RECONNECT:
      set_uint (s, (guint *) & s->auto_reconnect,
          g_value_get_boolean (value));
      return TRUE;
    case GST_RTMFP_PROP_STATS_INTERVAL:
      set_uint (s, &s->stats_interval, g_value_get_uint (value));
      return TRUE;
    case GST_RTMFP_PROP_HANDSHAKE:
      set_uint (s, (guint *) & s->handshake, g_value_get_enum (value));
      return TRUE;
    case GST_RTMFP_PROP_AUTH_MODE:
      set_uint (s, (guint *) & s->auth_mode, g_value_get_enum (value));
      return TRUE;
    case GST_RTMFP_PROP_CONGESTION_CONTROL:
      set_uint (s, (guint *) & s->congestion_control,
          g_value_get_enum (value));
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
gst_rtmfp_settings_get_property (GstRtmfpSettings * s, guint prop_id,
    GValue * value)
{
  gboolean handled = TRUE;

  g_mutex_lock (&s->lock);
  switch (prop_id) {
    case GST_RTMFP_PROP_LOCATION:
      g_value_set_string (value, s->location);
      break;
    case GST_RTMFP_PROP_PEER_ID:
      g_value_set_string (value, s->publisher ? s->local_peer_id :
          s->play_peer_id);
      break;
    case GST_RTMFP_PROP_TIMEOUT:
      g_value_set_uint (value, s->timeout);
      break;
    case GST_RTMFP_PROP_SERVER_FINGERPRINT:
      g_value_set_string (value, s->server_fingerprint);
      break;
    case GST_RTMFP_PROP_AUTO_RECONNECT:
      g_value_set_boolean (value, s->auto_reconnect);
      break;
    case GST_RTMFP_PROP_STATS_INTERVAL:
      g_value_set_uint (value, s->stats_interval);
      break;
    case GST_RTMFP_PROP_HANDSHAKE:
      g_value_set_enum (value, s->handshake);
      break;
    case GST_RTMFP_PROP_AUTH_MODE:
      g_value_set_enum (value, s->auth_mode);
      break;
    case GST_RTMFP_PROP_CONGESTION_CONTROL:
      g_value_set_enum (value, s->congestion_control);
      break;
    default:
      handled = FALSE;
      break;
  }
  g_mutex_unlock (&s->lock);
  return handled;
}

/* ------------------------------------------------------------------------ */
/* the settings of a run */

static gboolean
parse_peer (GstRtmfpRun * run, const gchar * peer, GstElement * element)
{
  if (!peer || !*peer)
    return TRUE;
  run->play_direct = TRUE;
  if (g_str_equal (peer, "auto")) {
    run->resolve_peer = TRUE;
    return TRUE;
  }
  if (!rtmfp_fingerprint_from_hex (peer, run->peer_fp)) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        (_("Invalid peer ID \"%s\"."), peer),
        ("a peer ID is 64 hexadecimal digits, or \"auto\""));
    return FALSE;
  }
  run->have_peer_fp = TRUE;
  return TRUE;
}

static gboolean
parse_location (GstRtmfpRun * run, GstElement * element)
{
  GError *err = NULL;

  if (!run->location || !rtmfp_uri_parse (run->location, TRUE, &run->uri,
          &err)) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        (_("Invalid RTMFP location \"%s\"."), run->location ? run->location :
            ""), ("%s", err ? err->message : "no location"));
    g_clear_error (&err);
    return FALSE;
  }
  run->have_uri = TRUE;
  if (!run->uri.host) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        (_("Invalid RTMFP location \"%s\"."), "rtmfp:"),
        ("a server is needed (rtmfp://host/app/stream)"));
    return FALSE;
  }
  return TRUE;
}

gboolean
gst_rtmfp_settings_snapshot (GstRtmfpSettings * s, GstElement * element,
    GstRtmfpRun * run)
{
  gchar *peer, *server_fp;
  gboolean ok;

  memset (run, 0, sizeof *run);
  g_mutex_lock (&s->lock);
  run->location = g_strdup (s->location);
  run->auth_token = g_strdup (s->auth_token);
  run->handshake = s->handshake;
  run->auth_mode = s->auth_mode;
  run->congestion_control = s->congestion_control;
  run->timeout = s->timeout;
  run->idle_timeout = s->idle_timeout;
  run->stats_interval = s->stats_interval;
  run->audio_lifetime = s->audio_lifetime;
  run->video_lifetime = s->video_lifetime;
  run->direct = s->publisher && s->direct;
  run->reconnect = s->auto_reconnect;
  peer = s->publisher ? NULL : g_strdup (s->play_peer_id);
  server_fp = g_strdup (s->server_fingerprint);
  g_mutex_unlock (&s->lock);

  ok = parse_peer (run, peer, element);
  if (ok && server_fp) {
    run->have_server_fp = rtmfp_fingerprint_from_hex (server_fp,
        run->server_fp);
    if (!run->have_server_fp) {
      GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
          (_("Invalid peer ID \"%s\"."), server_fp),
          ("server-fingerprint: a peer ID is 64 hexadecimal digits"));
      ok = FALSE;
    }
  }
  ok = ok && parse_location (run, element);
  g_free (peer);
  g_free (server_fp);
  if (!ok)
    gst_rtmfp_run_clear (run);
  return ok;
}

void
gst_rtmfp_run_clear (GstRtmfpRun * run)
{
  g_free (run->location);
  g_free (run->auth_token);
  if (run->have_uri)
    rtmfp_uri_clear (&run->uri);
  memset (run, 0, sizeof *run);
}

/* ------------------------------------------------------------------------ */
/* specifications */

static gboolean
rebind_action (GstElement * element)
{
  GstRtmfpObject *obj = gst_rtmfp_object_from_element (element);

  return obj ? gst_rtmfp_object_rebind (obj) : FALSE;
}

#define RW_READY (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_READY)

static void
install_peer_id (GObjectClass * klass, gboolean publisher)
{
  /**
   * GstRtmfpSink:peer-id:
   *
   * The peer ID (lower-case hex of the SHA-256 fingerprint of this
   * element's certificate) for peer-to-peer subscribers; a new one for
   * every start.  NULL before the element starts.  It is also in the
   * `rtmfp-publishing` element message, posted once the server knows the
   * element (gst-launch-1.0 -m shows it).
   *
   * Since: 1.0
   */
  /**
   * GstRtmfpSrc:peer-id:
   *
   * Play the stream directly from the publisher with this peer ID (a
   * #GstRtmfpSink with #GstRtmfpSink:mode `direct`), the server in
   * #GstRtmfpSrc:location introducing them (RFC 7425 5.4): the session goes
   * to the publisher's own addresses, the server relays nothing.  `auto`:
   * ask the server for the peer ID of the stream's direct publisher first
   * (rtmfp-server answers; with other servers give the peer ID).  Once the
   * session is up the element posts `rtmfp-direct-session` (fields
   * `peer-id`, `address`, `rtt-ms`).  When the publisher stops, the
   * stream ends (EOS).
   *
   * Since: 1.0
   */
  if (publisher)
    g_object_class_install_property (klass, GST_RTMFP_PROP_PEER_ID,
        g_param_spec_string ("peer-id", "Peer ID",
            "Hex peer ID of this publisher (read-only, set when started)",
            NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  else
    g_object_class_install_property (klass, GST_RTMFP_PROP_PEER_ID,
        g_param_spec_string ("peer-id", "Peer ID",
            "Hex peer ID of a publisher to play from directly (peer to "
            "peer), or \"auto\" to ask the server for it", NULL, RW_READY));
}

static void
install_security (GObjectClass * klass)
{
  /**
   * GstRtmfpSink:server-fingerprint:
   * GstRtmfpSrc:server-fingerprint:
   *
   * Fingerprint pinning: the peer ID (64 hex digits, the SHA-256
   * fingerprint of its certificate) the server in the location must have,
   * with static Diffie-Hellman keys that the session is keyed with, so
   * that only the holder of the private key can answer (`rtmfp-server
   * --identity` prints its fingerprint; a server without static keys
   * cannot be pinned).  Another server, or one that cannot prove it
   * holds the pinned key, makes the element fail with a RESOURCE
   * NOT_AUTHORIZED error naming the reason, before anything (the
   * auth-token) is said to it.  NULL (default): any server.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_SERVER_FINGERPRINT,
      g_param_spec_string ("server-fingerprint", "Server fingerprint",
          "Required peer ID (hex SHA-256 fingerprint) of the server; "
          "NULL: any server", NULL, RW_READY));

  /**
   * GstRtmfpSink:auth-token:
   * GstRtmfpSrc:auth-token:
   *
   * Authentication token sent with `connect` (after the command object),
   * as servers with shared secrets expect (`rtmfp-server --auth-key`):
   * the lower-case hex HMAC-SHA256 of the application name under the
   * server's key.  Write-only.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTH_TOKEN,
      g_param_spec_string ("auth-token", "Authentication token",
          "Token sent with connect for servers that require one "
          "(write-only)", NULL, G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:auth-mode:
   * GstRtmfpSrc:auth-mode:
   *
   * How #GstRtmfpSink:auth-token is sent.  `plain`: as given.  `hashed`:
   * HMAC-SHA256 of it keyed with the server's session nonce (RFC 7425
   * 4.6.5), which proves the token without disclosing it and cannot be
   * replayed on another session (rtmfp-server and rtmfp-cpp's tcserver
   * accept both).  `mutual`: hashed, and the server must answer with the
   * token hashed with our nonce, or the element fails with a RESOURCE
   * NOT_AUTHORIZED error.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTH_MODE,
      g_param_spec_enum ("auth-mode", "Authentication mode",
          "How auth-token is sent (hashed: bound to the session)",
          GST_TYPE_RTMFP_AUTH_MODE, RTMFP_TC_AUTH_PLAIN, RW_READY));

  /**
   * GstRtmfpSink:handshake:
   * GstRtmfpSrc:handshake:
   *
   * The certificate presented to the server, i.e. how the session is
   * keyed.  `rfc`: static Diffie-Hellman keys for groups 14, 5 and 2 (RFC
   * 7425 4.3), keying in the best group both ends support (2048-bit with
   * rtmfp-server and rtmfp-cpp).  `flash`: the shape of Flash Player's
   * certificate, one key in group 2 (1024 bits, within reach of
   * well-funded attackers); servers built for Flash Player (MonaServer,
   * Cumulus) need it.  `auto` (default): `rfc`, and `flash` if the server
   * answers the RFC handshake in a way that shows it needs that (the peer
   * ID then changes); never with #GstRtmfpSink:server-fingerprint set.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_HANDSHAKE,
      g_param_spec_enum ("handshake", "Handshake",
          "Certificate presented to the server (auto: Flash Player's when "
          "the server needs it)", GST_TYPE_RTMFP_HANDSHAKE,
          RTMFP_HANDSHAKE_AUTO, RW_READY));
}

GType
gst_rtmfp_handshake_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {RTMFP_HANDSHAKE_AUTO, "RFC certificate; Flash Player's if the server "
          "shows it needs that", "auto"},
    {RTMFP_HANDSHAKE_RFC, "RFC 7425 certificate with static keys for DH "
          "groups 14, 5 and 2 (best common group)", "rfc"},
    {RTMFP_HANDSHAKE_FLASH, "Flash Player's certificate (DH group 2, "
          "1024 bits)", "flash"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpHandshake", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

GType
gst_rtmfp_auth_mode_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {RTMFP_TC_AUTH_PLAIN, "The token as given", "plain"},
    {RTMFP_TC_AUTH_HASHED, "The token hashed with the session's nonce "
          "(not replayable)", "hashed"},
    {RTMFP_TC_AUTH_MUTUAL, "Hashed, and the server must prove it knows the "
          "token", "mutual"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpAuthMode", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

GType
gst_rtmfp_congestion_control_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {RTMFP_CONGESTION_TCP, "RFC 7016's TCP-compatible window (loss is "
          "congestion)", "tcp"},
    {RTMFP_CONGESTION_MEDIA, "Delay based, tolerates random loss (opt-in "
          "deviation from RFC 7016 3.5.2, for lossy links)", "media"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpCongestionControl", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

static void
install_transport (GObjectClass * klass)
{
  /**
   * GstRtmfpSink:congestion-control:
   * GstRtmfpSrc:congestion-control:
   *
   * The congestion controller of the sessions the element opens (and, for
   * #GstRtmfpSink:mode `direct`, accepts).  `tcp` (default): RFC 7016
   * 3.5.2's TCP-compatible window, which reads every loss as congestion.
   * `media`: delay based (queueing delay above the base RTT, as WebRTC's
   * GCC and BBR), tolerant of random loss up to about 20 %, still backing
   * off when the bottleneck queue grows and sharing with a TCP flow; an
   * explicit deviation from the RFC's "TCP compatible" for links known
   * to be lossy (docs/core.md, "Congestion control").  It governs what
   * the element sends: on rtmfpsink the media, on rtmfpsrc only its
   * commands and acknowledgements (the server's controller governs what
   * a player receives: `rtmfp-server --congestion-control`).  The
   * `congestion-control` field of #GstRtmfpSink:stats names it.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_CONGESTION_CONTROL,
      g_param_spec_enum ("congestion-control", "Congestion control",
          "Congestion controller of the sessions (tcp: RFC 7016's default; "
          "media: delay based, for lossy links)",
          GST_TYPE_RTMFP_CONGESTION_CONTROL, RTMFP_CONGESTION_TCP, RW_READY));
}

static void
install_observability (GObjectClass * klass)
{
  /**
   * GstRtmfpSink:stats:
   * GstRtmfpSrc:stats:
   *
   * Statistics as an `application/x-rtmfp-statistics` structure, always
   * with the same fields (zero before a connection); counters are totals
   * over every session of the run (reconnections included), rtt, cwnd and
   * flows describe the session of the moment.  docs/user-guide.md lists
   * the fields.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Connection statistics (application/x-rtmfp-statistics)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpSink:stats-interval:
   * GstRtmfpSrc:stats-interval:
   *
   * Every this many milliseconds, post the #GstRtmfpSink:stats structure
   * as an element message (`gst-launch-1.0 -m` prints it); 0: never.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Statistics interval",
          "Post the statistics as an element message every this many ms "
          "(0: never)", 0, 3600000, GST_RTMFP_DEFAULT_STATS_INTERVAL,
          RW_READY));
}

void
gst_rtmfp_settings_install_properties (GObjectClass * klass,
    gboolean publisher)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    settings_quark = g_quark_from_static_string ("gst-rtmfp-settings");
    g_once_init_leave (&once, 1);
  }

  /**
   * GstRtmfpSink:location:
   * GstRtmfpSrc:location:
   *
   * The stream: `rtmfp://host[:port]/app[/instance]/stream`, default UDP
   * port 1935.  The last path segment is the stream name, the rest the
   * application (as rtmp2sink does).
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "RTMFP URI of the stream: rtmfp://host[:port]/app[/instance]/stream",
          GST_RTMFP_DEFAULT_LOCATION, RW_READY));
  install_peer_id (klass, publisher);

  /**
   * GstRtmfpSink:timeout:
   * GstRtmfpSrc:timeout:
   *
   * Seconds to wait for the server (handshake, connect, createStream and
   * publish or play) before failing with an error.  With
   * #GstRtmfpSink:auto-reconnect, also the time a lost connection has to
   * be restored, counted from the last packet from the server.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "Timeout",
          "Seconds to wait for the server before failing", 1, 3600,
          GST_RTMFP_DEFAULT_TIMEOUT, RW_READY));
  install_security (klass);
  install_observability (klass);
  install_transport (klass);

  /**
   * GstRtmfpSink:auto-reconnect:
   * GstRtmfpSrc:auto-reconnect:
   *
   * Restore a lost connection by itself, without an element error.  An
   * outage of a few seconds is ridden out by the session itself (the
   * element pings through silences so that it resumes as soon as the path
   * is back).  A session that is dead (closed by the server, or silent for
   * 6 s, or for #GstRtmfpSink:timeout minus 2 s if that is shorter) is
   * replaced by a new one on the same socket and identity (handshake,
   * connect, createStream, publish or play of the same stream), retrying
   * with backoff until #GstRtmfpSink:timeout seconds after the last packet
   * from the server; then the element fails with a RESOURCE READ
   * (rtmfpsrc) or WRITE (rtmfpsink) error.  Element messages
   * `rtmfp-reconnecting` (`attempt`, `reason`) and `rtmfp-reconnected`
   * (`attempt`, `downtime-ms`) tell the application.  rtmfpsrc goes on from
   * the next keyframe with DISCONT; rtmfpsink publishes the same name
   * again (sequence headers and metadata first) and asks upstream for a
   * keyframe.  A refused connection or publish is never retried.  FALSE:
   * the first error is final.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTO_RECONNECT,
      g_param_spec_boolean ("auto-reconnect", "Auto reconnect",
          "Restore a lost connection (within timeout) instead of failing",
          GST_RTMFP_DEFAULT_AUTO_RECONNECT, RW_READY));

  /**
   * GstRtmfpSink::rebind:
   * GstRtmfpSrc::rebind:
   * @element: the element
   *
   * IP mobility (RFC 7016 3.5.4.2): moves the element to a new local UDP
   * socket (a new ephemeral port of the same local address), as after a
   * change of network.  The session continues without a new handshake:
   * the server validates the new address and follows it.  Returns %TRUE
   * if the element moved.
   *
   * Since: 1.0
   */
  g_signal_new_class_handler ("rebind", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (rebind_action),
      NULL, NULL, NULL, G_TYPE_BOOLEAN, 0);
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
  GstRtmfpSettings *s = g_object_get_qdata (G_OBJECT (handler),
      settings_quark);

  return gst_rtmfp_settings_dup_location (s);
}

static gboolean
uri_set_uri (GstURIHandler * handler, const gchar * uri, GError ** error)
{
  GstRtmfpSettings *s = g_object_get_qdata (G_OBJECT (handler),
      settings_quark);
  RtmfpUri parsed;
  GError *err = NULL;

  if (!rtmfp_uri_parse (uri, TRUE, &parsed, &err)) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "%s",
        err->message);
    g_error_free (err);
    return FALSE;
  }
  rtmfp_uri_clear (&parsed);
  if (!gst_rtmfp_settings_set_location (s, uri, error))
    return FALSE;
  g_object_notify (G_OBJECT (handler), "location");
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
gst_rtmfp_settings_uri_handler_init_src (gpointer g_iface, gpointer data)
{
  uri_handler_init (g_iface);
  ((GstURIHandlerInterface *) g_iface)->get_type = uri_get_type_src;
}

void
gst_rtmfp_settings_uri_handler_init_sink (gpointer g_iface, gpointer data)
{
  uri_handler_init (g_iface);
  ((GstURIHandlerInterface *) g_iface)->get_type = uri_get_type_sink;
}
