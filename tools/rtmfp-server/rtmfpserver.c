/* rtmfp-server: the server object (see rtmfpserver.h).  Maps endpoint
 * events to NetConnections (rtmfpserverconn.c), owns the relay
 * (rtmfprelay.c), answers forwarded-IHello introduction requests, and
 * keeps statistics.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "rtmfpserverpriv.h"

#include "rtmfpcrypto.h"
#include "amf0.h"

#include <string.h>

/* RFC 7425 4.2: groups 14, 5 and 2, best first */
static const guint server_dh_groups[] = { 14, 5, 2 };

/* Redirect at most this many addresses (RFC 7016 3.5.1.4) */
#define MAX_REDIRECT_ADDRS 8
#define POLL_INTERVAL_US (250 * G_TIME_SPAN_MILLISECOND)

void
rtmfp_server_config_init (RtmfpServerConfig * cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof (*cfg));
  rtmfp_relay_config_init (&cfg->relay);
  cfg->keepalive_server_ms = 15000;
  cfg->keepalive_peer_ms = 10000;
  cfg->wait_for_publisher = TRUE;
  cfg->max_streams_per_connection = 64;
  cfg->publisher_idle_us = 500 * G_TIME_SPAN_MILLISECOND;
  cfg->rtmp_max_output = 4 * 1024 * 1024;
  cfg->rtmp_connect_timeout_us = 10 * G_TIME_SPAN_SECOND;
  cfg->stream_end_linger_us = 1 * G_TIME_SPAN_SECOND;
  cfg->player_dead_peer_timeout_us = 10 * G_TIME_SPAN_SECOND;
}

gint64
rtmfp_server_now (RtmfpServer * srv)
{
  return srv->clock (srv->clock_data);
}

gchar *
rtmfp_server_normalize_app (const gchar * app)
{
  gsize n;

  if (!app)
    return g_strdup ("");
  n = strcspn (app, "?");
  while (n > 0 && app[n - 1] == '/')
    n--;
  return g_strndup (app, n);
}

void
rtmfp_server_log (RtmfpServer * srv, const gchar * fmt, ...)
{
  va_list ap;
  gchar *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (srv->cfg.verbose)
    g_message ("%s", msg);
  else
    g_debug ("%s", msg);
  g_free (msg);
}

gboolean
rtmfp_server_app_allowed (RtmfpServer * srv, const gchar * app)
{
  gsize n;
  guint i;

  if (!srv->apps || !srv->apps[0])
    return TRUE;
  if (!app)
    return FALSE;
  /* "live/instance" belongs to the application "live" */
  n = strcspn (app, "/");
  for (i = 0; srv->apps[i]; i++) {
    if (strlen (srv->apps[i]) == n && strncmp (srv->apps[i], app, n) == 0)
      return TRUE;
  }
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Authentication: tokens are HMAC-SHA-256 of the application (or of
 * "user@app") under a master key, in lower-case hex, given as string
 * arguments of connect after its command object (the scheme of tcserver
 * style servers) */

gchar *
rtmfp_server_auth_token (const guint8 * key, gsize key_len,
    const gchar * user, const gchar * app)
{
  gchar *msg, *hex;

  g_return_val_if_fail (app != NULL, NULL);
  msg = user ? g_strconcat (user, "@", app, NULL) : g_strdup (app);
  hex = rtmfp_hmac_sha256_hex (key, key_len, msg);
  g_free (msg);
  return hex;
}

static const gchar *
string_arg (GPtrArray * args, guint i)
{
  const RtmfpAmfNode *n;

  if (!args || i >= args->len)
    return NULL;
  n = args->pdata[i];
  if (!n || rtmfp_amf_node_get_type (n) != RTMFP_AMF_TYPE_STRING)
    return NULL;
  return rtmfp_amf_node_peek_string (n, NULL);
}

gboolean
rtmfp_server_auth_ok (RtmfpServer * srv, const gchar * app, GPtrArray * args,
    guint first, const guint8 * nonce, gchar ** proof)
{
  const gchar *a = string_arg (args, first);
  const gchar *b = string_arg (args, first + 1);
  const gchar *user = NULL, *token;
  gchar *given;
  gboolean ok = FALSE;
  guint i;

  if (proof)
    *proof = NULL;
  if (!srv->auth_keys || srv->auth_keys->len == 0)
    return TRUE;
  if (!app || !a)
    return FALSE;
  if (b) {
    user = a;
    token = b;
  } else {
    token = a;
  }
  if (strlen (token) != 2 * RTMFP_SHA256_SIZE)
    return FALSE;
  given = g_ascii_strdown (token, -1);
  /* every key is tried (no early exit), each compared in constant time:
   * the token itself, or (RTMFP) the token hashed with our session nonce,
   * which a client sends so that it cannot be replayed elsewhere */
  for (i = 0; i < srv->auth_keys->len; i++) {
    gsize klen;
    const guint8 *k = g_bytes_get_data (srv->auth_keys->pdata[i], &klen);
    gchar *want = rtmfp_server_auth_token (k, klen, user, app);
    gboolean match = rtmfp_crypto_equal ((const guint8 *) want,
        (const guint8 *) given, 2 * RTMFP_SHA256_SIZE);

    if (nonce) {
      gchar *hashed = rtmfp_hmac_sha256_hex (nonce, RTMFP_SHA256_SIZE,
          want);
      match |= rtmfp_crypto_equal ((const guint8 *) hashed,
          (const guint8 *) given, 2 * RTMFP_SHA256_SIZE);
      g_free (hashed);
    }
    if (match && proof && !*proof)
      *proof = g_strdup (want);
    ok |= match;
    g_free (want);
  }
  g_free (given);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Endpoint callbacks */

static RtmfpServerConn *
conn_for (RtmfpServer * srv, RtmfpSession * s)
{
  return g_hash_table_lookup (srv->conns, s);
}

void
rtmfp_server_poll (RtmfpServer * srv)
{
  GList *conns, *l;

  srv->last_poll = rtmfp_server_now (srv);
  conns = g_hash_table_get_values (srv->conns);
  for (l = conns; l; l = l->next)
    rtmfp_server_conn_poll (l->data);
  g_list_free (conns);
  rtmfp_server_rtmp_poll (srv);
}

/* From endpoint callbacks: poll if it was not done lately */
static void
maybe_poll (RtmfpServer * srv)
{
  if (rtmfp_server_now (srv) - srv->last_poll >= POLL_INTERVAL_US)
    rtmfp_server_poll (srv);
}

static void
cb_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpServer *srv = ud;
  RtmfpServerConn *conn;
  gchar addr[RTMFP_ADDR_STRLEN];

  maybe_poll (srv);
  if (rtmfp_session_is_initiator (s) || conn_for (srv, s))
    return;
  conn = rtmfp_server_conn_new (srv, s, ++srv->next_conn_id);
  g_hash_table_insert (srv->conns, s, conn);
  rtmfp_server_log (srv, "session %" G_GUINT64_FORMAT " from %s opened",
      srv->next_conn_id,
      rtmfp_addr_to_string (rtmfp_session_get_far_address (s), addr));
}

static void
cb_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpServer *srv = ud;
  RtmfpServerConn *conn = conn_for (srv, s);
  RtmfpSessionStats st;

  if (!conn)
    return;
  rtmfp_session_get_stats (s, &st);
  srv->abandoned_closed += st.messages_abandoned;
  srv->lost_closed += st.fragments_lost;
  srv->retransmitted_closed += st.fragments_retransmitted;
  rtmfp_server_conn_closed_event (conn);
  /* steal first: freeing may reach code that looks the session up */
  g_hash_table_steal (srv->conns, s);
  rtmfp_server_conn_free (conn);
  rtmfp_server_log (srv, "session closed (%u left)",
      g_hash_table_size (srv->conns));
}

static gboolean
cb_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  RtmfpServerConn *conn = conn_for (ud, s);

  maybe_poll (ud);

  if (!conn)
    return FALSE;
  return rtmfp_server_conn_flow_opened (conn, f, assoc);
}

static void
cb_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  RtmfpServerConn *conn = conn_for (ud, s);

  if (conn)
    rtmfp_server_conn_send_flow_exception (conn, f, code);
}

/* Introduction (RFC 7016 3.5.1.6, RFC 7425 5.4.1): an IHello naming the
 * peer ID of a connected client is answered with a Redirect to that
 * client's addresses and forwarded to the client over its session. */
static void
cb_ihello_other (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  RtmfpServer *srv = ud;
  RtmfpEpdInfo info;
  RtmfpSession *target;
  RtmfpServerConn *conn;
  RtmfpAddr addrs[MAX_REDIRECT_ADDRS];
  const RtmfpAddr *peer;
  guint n_peer, n = 0, i;
  gchar buf[RTMFP_ADDR_STRLEN];

  if (!rtmfp_epd_parse (epd, epd_len, &info) || !info.has_fingerprint)
    return;
  target = rtmfp_endpoint_find_session_by_fingerprint (ep, info.fingerprint);
  if (!target || !(conn = conn_for (srv, target)) ||
      !rtmfp_server_conn_is_connected (conn)) {
    /* not ours: other servers of the cluster may have it */
    if (srv->cfg.peer_elsewhere &&
        (n = srv->cfg.peer_elsewhere (info.fingerprint, addrs,
                MAX_REDIRECT_ADDRS, srv->cfg.peer_elsewhere_data)) > 0) {
      n = MIN (n, MAX_REDIRECT_ADDRS);
      rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, addrs, n);
      rtmfp_server_log (srv, "sent an initiator for an unknown peer at %s "
          "to %u other servers", rtmfp_addr_to_string (from, buf), n);
    }
    return;
  }

  /* the observed address first, then what the client told us */
  addrs[n] = *rtmfp_session_get_far_address (target);
  addrs[n++].origin = RTMFP_ADDR_ORIGIN_REFLEXIVE;
  peer = rtmfp_server_conn_get_peer_addresses (conn, &n_peer);
  for (i = 0; i < n_peer && n < MAX_REDIRECT_ADDRS; i++) {
    if (rtmfp_addr_equal (&peer[i], &addrs[0]))
      continue;
    addrs[n] = peer[i];
    addrs[n++].origin = RTMFP_ADDR_ORIGIN_LOCAL;
  }
  rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, addrs, n);
  rtmfp_session_forward_ihello (target, epd, epd_len, from, tag, tag_len,
      rtmfp_server_now (srv));
  rtmfp_server_log (srv, "introduced a peer to the client at %s",
      rtmfp_addr_to_string (&addrs[0], buf));
}

/* An initiator for us: cfg.redirect may send it elsewhere (3.5.1.4),
 * before any keying work */
static gboolean
cb_ihello_ours (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  RtmfpServer *srv = ud;
  RtmfpEpdInfo info;
  RtmfpAddr addrs[MAX_REDIRECT_ADDRS];
  gchar *tc_url = NULL;
  gchar buf[RTMFP_ADDR_STRLEN], buf2[RTMFP_ADDR_STRLEN];
  guint n;

  if (!srv->cfg.redirect)
    return FALSE;
  if (rtmfp_epd_parse (epd, epd_len, &info) && info.ancillary &&
      info.ancillary_len < 4096)
    tc_url = g_strndup ((const gchar *) info.ancillary, info.ancillary_len);
  n = srv->cfg.redirect (rtmfp_endpoint_get_n_sessions (ep), tc_url, addrs,
      MAX_REDIRECT_ADDRS, srv->cfg.redirect_data);
  g_free (tc_url);
  if (n == 0)
    return FALSE;
  n = MIN (n, MAX_REDIRECT_ADDRS);
  rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, addrs, n);
  rtmfp_server_log (srv, "redirected the initiator at %s to %s%s",
      rtmfp_addr_to_string (from, buf), rtmfp_addr_to_string (&addrs[0],
          buf2), n > 1 ? " and others" : "");
  return TRUE;
}

static const RtmfpEndpointCallbacks server_callbacks = {
  .session_opened = cb_session_opened,
  .session_closed = cb_session_closed,
  .flow_opened = cb_flow_opened,
  .send_flow_exception = cb_send_flow_exception,
  .ihello_other = cb_ihello_other,
  .ihello_ours = cb_ihello_ours,
};

const RtmfpEndpointCallbacks *
rtmfp_server_get_callbacks (void)
{
  return &server_callbacks;
}

/* ------------------------------------------------------------------------ */

RtmfpServer *
rtmfp_server_new (const RtmfpServerConfig * cfg, RtmfpServerClockFunc clock,
    gpointer clock_data)
{
  RtmfpServer *srv;

  g_return_val_if_fail (clock != NULL, NULL);

  srv = g_new0 (RtmfpServer, 1);
  if (cfg)
    srv->cfg = *cfg;
  else
    rtmfp_server_config_init (&srv->cfg);
  if (srv->cfg.apps && srv->cfg.apps[0])
    srv->apps = g_strdupv ((gchar **) srv->cfg.apps);
  srv->cfg.apps = NULL;
  if (srv->cfg.auth_keys && srv->cfg.auth_keys[0]) {
    guint i;

    srv->auth_keys = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
    for (i = 0; srv->cfg.auth_keys[i]; i++)
      g_ptr_array_add (srv->auth_keys, g_bytes_ref (srv->cfg.auth_keys[i]));
  }
  srv->cfg.auth_keys = NULL;
  srv->clock = clock;
  srv->clock_data = clock_data;
  if (srv->cfg.identity)
    srv->identity = rtmfp_identity_ref (srv->cfg.identity);
  else
    srv->identity = rtmfp_identity_new_ephemeral (server_dh_groups,
        G_N_ELEMENTS (server_dh_groups), NULL, TRUE);
  srv->cfg.identity = NULL;
  srv->relay = rtmfp_relay_new (&srv->cfg.relay);
  srv->conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  srv->direct = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  srv->rtmp_conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  return srv;
}

void
rtmfp_server_free (RtmfpServer * srv)
{
  GHashTableIter it;
  gpointer v;

  if (!srv)
    return;
  srv->cfg.on_event = NULL;     /* no callbacks from here on */
  /* conns drop their players and publications first, then the relay */
  g_hash_table_iter_init (&it, srv->conns);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    g_hash_table_iter_steal (&it);
    rtmfp_server_conn_free (v);
  }
  g_hash_table_unref (srv->conns);
  g_hash_table_unref (srv->direct);
  rtmfp_server_rtmp_detach_all (srv);
  g_hash_table_unref (srv->rtmp_conns);
  rtmfp_relay_free (srv->relay);
  rtmfp_identity_unref (srv->identity);
  g_strfreev (srv->apps);
  if (srv->auth_keys)
    g_ptr_array_unref (srv->auth_keys);
  g_free (srv);
}

void
rtmfp_server_endpoint_config (RtmfpServer * srv, RtmfpEndpointConfig * cfg)
{
  g_return_if_fail (srv && cfg);

  rtmfp_endpoint_config_init (cfg);
  cfg->identity = srv->identity;
  cfg->accept_sessions = TRUE;
}

void
rtmfp_server_set_endpoint (RtmfpServer * srv, RtmfpEndpoint * ep)
{
  srv->ep = ep;
}

RtmfpIdentity *
rtmfp_server_get_identity (RtmfpServer * srv)
{
  return srv->identity;
}

RtmfpRelay *
rtmfp_server_get_relay (RtmfpServer * srv)
{
  return srv->relay;
}

gboolean
rtmfp_server_publish_allowed (RtmfpServer * srv, const gchar * app,
    const gchar * name)
{
  return !srv->cfg.publish_check ||
      srv->cfg.publish_check (app, name, srv->cfg.publish_check_data);
}

void
rtmfp_server_shutdown (RtmfpServer * srv)
{
  GList *sessions, *l;

  /* no new sessions while the open ones close: a client (re)connecting
   * now would only lose its session again when we exit */
  if (srv->ep)
    rtmfp_endpoint_set_accept_sessions (srv->ep, FALSE);

  /* closing may free connections (callbacks): walk a snapshot of sessions */
  sessions = g_hash_table_get_keys (srv->conns);
  for (l = sessions; l; l = l->next)
    rtmfp_session_ref (l->data);
  for (l = sessions; l; l = l->next) {
    RtmfpServerConn *conn = conn_for (srv, l->data);
    if (conn)
      rtmfp_server_conn_close (conn);
  }
  g_list_free_full (sessions, (GDestroyNotify) rtmfp_session_unref);
  rtmfp_server_rtmp_shutdown (srv);
}

/* ------------------------------------------------------------------------ */

void
rtmfp_server_get_stats (RtmfpServer * srv, RtmfpServerStats * st)
{
  RtmfpRelayStats rs;
  GHashTableIter it;
  gpointer v;
  guint n_rtt = 0;

  g_return_if_fail (srv && st);

  memset (st, 0, sizeof (*st));
  rtmfp_relay_get_stats (srv->relay, &rs);
  st->streams = rs.n_streams;
  st->players = rs.n_players;
  st->messages_in = rs.messages_in;
  st->messages_relayed = rs.messages_relayed;
  st->messages_dropped = rs.messages_dropped;
  st->messages_abandoned = srv->abandoned_closed;
  st->fragments_lost = srv->lost_closed;
  st->fragments_retransmitted = srv->retransmitted_closed;
  st->connects_accepted = srv->connects_accepted;
  st->connects_rejected = srv->connects_rejected;

  g_hash_table_iter_init (&it, srv->conns);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    RtmfpSessionStats ss;

    if (rtmfp_server_conn_is_connected (v))
      st->connections++;
    rtmfp_session_get_stats (rtmfp_server_conn_get_session (v), &ss);
    st->messages_abandoned += ss.messages_abandoned;
    st->fragments_lost += ss.fragments_lost;
    st->fragments_retransmitted += ss.fragments_retransmitted;
    if (ss.srtt_us >= 0) {
      st->rtt_ms += ss.srtt_us / 1000.0;
      n_rtt++;
    }
  }
  if (n_rtt)
    st->rtt_ms /= n_rtt;
  if (srv->ep) {
    RtmfpEndpointStats es;

    rtmfp_endpoint_get_stats (srv->ep, &es);
    st->sessions = rtmfp_endpoint_get_n_sessions (srv->ep);
    st->bytes_in = es.bytes_received;
    st->bytes_out = es.bytes_sent;
  }
  rtmfp_server_rtmp_get_stats (srv, st);
}

gchar *
rtmfp_server_stats_to_string (const RtmfpServerStats * st)
{
  return g_strdup_printf ("stats sessions=%u connections=%u streams=%u "
      "players=%u bytes_in=%" G_GUINT64_FORMAT " bytes_out=%" G_GUINT64_FORMAT
      " messages_in=%" G_GUINT64_FORMAT " relayed=%" G_GUINT64_FORMAT
      " abandoned=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT
      " connects=%" G_GUINT64_FORMAT " rejected=%" G_GUINT64_FORMAT
      " rtmp_connections=%u rtmp_bytes_in=%" G_GUINT64_FORMAT
      " rtmp_bytes_out=%" G_GUINT64_FORMAT " rtmp_connects=%"
      G_GUINT64_FORMAT " rtmp_rejected=%" G_GUINT64_FORMAT " rtmp_dropped=%"
      G_GUINT64_FORMAT " rtt_ms=%.1f lost=%" G_GUINT64_FORMAT
      " retransmitted=%" G_GUINT64_FORMAT " kbps_in=%.0f kbps_out=%.0f",
      st->sessions, st->connections, st->streams, st->players, st->bytes_in,
      st->bytes_out, st->messages_in, st->messages_relayed,
      st->messages_abandoned, st->messages_dropped, st->connects_accepted,
      st->connects_rejected, st->rtmp_connections, st->rtmp_bytes_in,
      st->rtmp_bytes_out, st->rtmp_connects_accepted,
      st->rtmp_connects_rejected, st->rtmp_dropped, st->rtt_ms,
      st->fragments_lost, st->fragments_retransmitted, st->kbps_in,
      st->kbps_out);
}
