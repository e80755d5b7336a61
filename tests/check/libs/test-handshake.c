/* Session startup tests (RFC 7016 3.4, 3.5.1; RFC 7425 4, 5.3, 5.4) on the
 * simulated network: normal handshake, loss and retransmission backoff,
 * cookie change, redirect, forwarder introduction, glare, session override,
 * packet fragmentation, floods and hostile datagrams.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpendpoint.h"
#include "rtmfppacket.h"
#include "rtmfpsimnet.h"
#include "rtmfpvlu.h"

#define SEC G_USEC_PER_SEC
#define MS (G_USEC_PER_SEC / 1000)

static RtmfpCipher *default_cipher;
/* references the tests hold on sessions they opened (the endpoint drops
 * its own when a session fails or closes) */
static GPtrArray *held_sessions;

static void
net_free (RtmfpSimNet * net)
{
  g_ptr_array_set_size (held_sessions, 0);
  rtmfp_sim_net_free (net);
}

/* ------------------------------------------------------------------ */
/* Wire inspection                                                     */

/* Decodes a datagram with the default key.  Returns the type of its first
 * chunk (startup packets), or 0 for anything else (session packets). */
static guint8
wire_decode (const guint8 * data, gsize len, guint32 * sid, RtmfpChunk * first,
    guint8 * plain, gsize * plain_len, guint16 * ts)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;

  *sid = rtmfp_session_id_unscramble (data, len);
  if (!rtmfp_cipher_decode (default_cipher, data, len, plain, plain_len))
    return 0;
  if (!rtmfp_packet_parse (plain, *plain_len, &p)
      || rtmfp_packet_mode (&p) != RTMFP_MODE_STARTUP)
    return 0;
  if (ts)
    *ts = (p.flags & RTMFP_PKT_FLAG_TS) ? p.timestamp : 0;
  rtmfp_chunk_iter_init (&it, &p);
  if (!rtmfp_chunk_iter_next (&it, &ch))
    return 0;
  if (first)
    *first = ch;
  return ch.type;
}

static guint8
wire_type (const guint8 * data, gsize len)
{
  guint8 plain[8192];
  gsize plen;
  guint32 sid;

  if (len > sizeof (plain))
    return 0;
  return wire_decode (data, len, &sid, NULL, plain, &plen, NULL);
}

typedef struct {
  RtmfpSimNet *net;
  guint count[256];             /* startup datagrams by first chunk type */
  guint drop_first[256];        /* drop this many of each type */
  gboolean drop_all[256];
  guint n_session_datagrams;
  /* IHello send times (all destinations) */
  GArray *ihello_times;
  /* IIKeying datagrams, captured */
  GPtrArray *iikeyings;
  RtmfpAddr iikeying_from;
  /* RIKeying chunk payloads, captured */
  GPtrArray *rikeyings;
  /* counting traffic to/from one address */
  RtmfpAddr watch;
  guint watch_count;
  /* RHellos from one address to another */
  RtmfpAddr pair_from, pair_to;
  guint pair_rhellos;
  /* hosts behind address-dependent filtering NATs: inbound only from
   * addresses they sent to (pairs inside -> outside, as "a|b" strings) */
  RtmfpAddr nat[2];
  GHashTable *nat_open;
  guint nat_dropped;
  /* pairs (from -> to) of startup chunk types seen, as text */
  GString *log;
} Wire;

static gboolean
wire_filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  Wire *w = ud;
  guint8 plain[8192];
  gsize plen;
  guint32 sid;
  RtmfpChunk ch;
  guint8 t;

  g_assert_cmpuint (len, <=, 1200);
  t = wire_decode (data, len, &sid, &ch, plain, &plen, NULL);

  if (w->watch.family && (rtmfp_addr_equal (from, &w->watch)
          || rtmfp_addr_equal (to, &w->watch)))
    w->watch_count++;

  if (w->nat_open) {
    gchar fb[RTMFP_ADDR_STRLEN], tb[RTMFP_ADDR_STRLEN];
    guint i;

    rtmfp_addr_to_string (from, fb);
    rtmfp_addr_to_string (to, tb);
    for (i = 0; i < G_N_ELEMENTS (w->nat); i++) {
      if (rtmfp_addr_equal (from, &w->nat[i]))
        g_hash_table_add (w->nat_open, g_strdup_printf ("%s|%s", fb, tb));
    }
    for (i = 0; i < G_N_ELEMENTS (w->nat); i++) {
      gchar *k;
      gboolean ok;

      if (!rtmfp_addr_equal (to, &w->nat[i]))
        continue;
      k = g_strdup_printf ("%s|%s", tb, fb);
      ok = g_hash_table_contains (w->nat_open, k);
      g_free (k);
      if (!ok) {
        w->nat_dropped++;
        return FALSE;
      }
    }
  }

  if (t == 0) {
    w->n_session_datagrams++;
    return TRUE;
  }
  w->count[t]++;
  if (w->log)
    g_string_append_printf (w->log, "%s ", rtmfp_chunk_type_get_nick (t));
  if (t == RTMFP_CHUNK_IHELLO) {
    gint64 now = rtmfp_sim_net_now (net);
    g_array_append_val (w->ihello_times, now);
  }
  if (t == RTMFP_CHUNK_RHELLO && w->pair_from.family
      && rtmfp_addr_equal (from, &w->pair_from)
      && rtmfp_addr_equal (to, &w->pair_to))
    w->pair_rhellos++;
  if (t == RTMFP_CHUNK_IIKEYING) {
    g_ptr_array_add (w->iikeyings, g_bytes_new (data, len));
    w->iikeying_from = *from;
  }
  if (t == RTMFP_CHUNK_RIKEYING)
    g_ptr_array_add (w->rikeyings, g_bytes_new (ch.data, ch.len));

  if (w->drop_all[t])
    return FALSE;
  if (w->drop_first[t] > 0) {
    w->drop_first[t]--;
    return FALSE;
  }
  return TRUE;
}

static Wire *
wire_new (RtmfpSimNet * net)
{
  Wire *w = g_new0 (Wire, 1);

  w->net = net;
  w->ihello_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  w->iikeyings = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  w->rikeyings = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  rtmfp_sim_net_set_filter (net, wire_filter, w);
  return w;
}

static void
wire_free (Wire * w)
{
  g_array_unref (w->ihello_times);
  g_ptr_array_unref (w->iikeyings);
  g_ptr_array_unref (w->rikeyings);
  if (w->log)
    g_string_free (w->log, TRUE);
  if (w->nat_open)
    g_hash_table_unref (w->nat_open);
  g_free (w);
}

/* ------------------------------------------------------------------ */
/* Peers                                                               */

typedef struct _Peer Peer;
struct _Peer {
  RtmfpSimNet *net;
  RtmfpSimHost *host;
  RtmfpEndpoint *ep;
  RtmfpIdentity *id;
  guint n_opened;
  guint n_failed;
  guint n_closed;
  RtmfpSession *opened;         /* last opened (owned by the endpoint) */
  gint last_error;
  GString *received;            /* messages delivered on flows */
  /* an introduction server: redirect + forward IHellos for peers */
  gboolean introducer;
  /* a plain redirector: send everyone to redirect_to */
  RtmfpAddr redirect_to;
  guint n_ihello_other;
  gboolean refuse;
};

static void
on_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;

  g_assert_cmpint (rtmfp_session_get_state (s), ==, RTMFP_SESSION_OPEN);
  p->n_opened++;
  p->opened = s;
}

static void
on_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;
  const GError *e = rtmfp_session_get_error (s);

  g_assert_cmpint (rtmfp_session_get_state (s), ==,
      RTMFP_SESSION_OPEN_FAILED);
  g_assert_nonnull (e);
  g_assert_true (e->domain == RTMFP_SESSION_ERROR);
  p->n_failed++;
  p->last_error = e->code;
}

static void
on_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;
  p->n_closed++;
}

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  Peer *p = ud;
  g_string_append_len (p->received, (const gchar *) data, len);
  g_string_append_c (p->received, '|');
}

static gboolean
on_flow (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, on_message, NULL, ud);
  return TRUE;
}

static void
on_ihello_other (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  Peer *p = ud;
  RtmfpEpdInfo info;
  RtmfpSession *target;

  p->n_ihello_other++;
  if (p->redirect_to.family) {
    rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, &p->redirect_to, 1);
    return;
  }
  if (!p->introducer || !rtmfp_epd_parse (epd, epd_len, &info)
      || !info.has_fingerprint)
    return;
  target = rtmfp_endpoint_find_session_by_fingerprint (ep, info.fingerprint);
  if (target == NULL)
    return;
  /* RFC 7016 3.5.1.6: Redirect to the target's observed address and an
   * FIHello to the target naming the initiator's observed address. */
  rtmfp_endpoint_send_redirect (ep, from, tag, tag_len,
      rtmfp_session_get_far_address (target), 1);
  rtmfp_session_forward_ihello (target, epd, epd_len, from, tag, tag_len,
      rtmfp_sim_net_now (p->net));
}

static gboolean
on_accept (RtmfpEndpoint * ep, const guint8 * cert, gsize cert_len,
    const RtmfpAddr * from, gpointer ud)
{
  Peer *p = ud;
  return !p->refuse;
}

static const RtmfpEndpointCallbacks peer_callbacks = {
  .session_opened = on_opened,
  .session_open_failed = on_open_failed,
  .session_closed = on_closed,
  .flow_opened = on_flow,
  .ihello_other = on_ihello_other,
  .accept_session = on_accept,
};

static RtmfpIdentity *
client_identity (void)
{
  static const guint groups[] = { 14 };
  return rtmfp_identity_new_static (groups, 1);
}

static RtmfpIdentity *
server_identity (void)
{
  static const guint groups[] = { 14, 5, 2 };
  return rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
}

static Peer *
peer_new_full (RtmfpSimNet * net, const gchar * addr, RtmfpIdentity * id,
    gboolean accept, guint max_sessions)
{
  Peer *p = g_new0 (Peer, 1);
  RtmfpEndpointConfig cfg;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = accept;
  cfg.keepalive_us = 0;
  cfg.idle_timeout_us = 0;
  if (max_sessions)
    cfg.max_sessions = max_sessions;
  p->net = net;
  p->id = id;
  p->received = g_string_new (NULL);
  p->host = rtmfp_sim_net_add_host (net, addr, &cfg, &peer_callbacks, p);
  p->ep = rtmfp_sim_host_get_endpoint (p->host);
  g_assert_true (rtmfp_endpoint_get_identity (p->ep) == id);
  return p;
}

static Peer *
peer_new (RtmfpSimNet * net, const gchar * addr, RtmfpIdentity * id,
    gboolean accept)
{
  return peer_new_full (net, addr, id, accept, 0);
}

static void
peer_free (Peer * p)
{
  /* the endpoint is freed with the net */
  rtmfp_identity_unref (p->id);
  g_string_free (p->received, TRUE);
  g_free (p);
}

static const RtmfpAddr *
peer_addr (Peer * p)
{
  return rtmfp_sim_host_get_address (p->host);
}

static GByteArray *
epd_uri (const gchar * uri)
{
  GByteArray *e = g_byte_array_new ();
  rtmfp_epd_append_ancillary (e, uri);
  return e;
}

static GByteArray *
epd_fp (Peer * target)
{
  GByteArray *e = g_byte_array_new ();
  rtmfp_epd_append_fingerprint (e, rtmfp_identity_get_fingerprint (target->id));
  return e;
}

static RtmfpSession *
peer_open (Peer * p, GByteArray * epd, const RtmfpAddr * cand)
{
  RtmfpSession *s = rtmfp_endpoint_open_session (p->ep, epd->data, epd->len,
      cand, 1, rtmfp_sim_net_now (p->net));

  g_assert_nonnull (s);
  g_ptr_array_add (held_sessions, rtmfp_session_ref (s));
  rtmfp_sim_net_kick (p->net);
  return s;
}

typedef struct {
  RtmfpSession *s;
  RtmfpSessionState state;
} StateCond;

static gboolean
cond_state (gpointer ud)
{
  StateCond *c = ud;
  return rtmfp_session_get_state (c->s) == c->state;
}

static gboolean
cond_not_opening (gpointer ud)
{
  StateCond *c = ud;
  RtmfpSessionState st = rtmfp_session_get_state (c->s);
  return st != RTMFP_SESSION_IHELLO_SENT && st != RTMFP_SESSION_KEYING_SENT;
}

static gboolean
run_to_state (RtmfpSimNet * net, RtmfpSession * s, RtmfpSessionState st,
    gint64 max_us)
{
  StateCond c = { s, st };
  return rtmfp_sim_net_run_until (net, cond_state, &c, max_us);
}

static gboolean
cond_received (gpointer ud)
{
  Peer *p = ud;
  return p->received->len > 0;
}

/* Keys agree both ways: a message each way on a flow, and no datagram of
 * the session failed verification at either end. */
static void
check_traffic (RtmfpSimNet * net, Peer * a, RtmfpSession * sa, Peer * b,
    RtmfpSession * sb)
{
  RtmfpSendFlow *f;
  RtmfpEndpointStats sta, stb;
  static const guint8 meta[] = { 'T', 'C', 0x04, 0x00 };

  g_string_truncate (a->received, 0);
  g_string_truncate (b->received, 0);
  f = rtmfp_session_open_flow (sa, meta, sizeof (meta), NULL);
  g_assert_nonnull (f);
  g_assert_true (rtmfp_session_write (sa, f, (const guint8 *) "ping", 4,
          RTMFP_NO_DEADLINE, 0, rtmfp_sim_net_now (net)));
  rtmfp_sim_net_kick (net);
  g_assert_true (rtmfp_sim_net_run_until (net, cond_received, b, 5 * SEC));
  g_assert_cmpstr (b->received->str, ==, "ping|");

  f = rtmfp_session_open_flow (sb, meta, sizeof (meta), NULL);
  g_assert_nonnull (f);
  g_assert_true (rtmfp_session_write (sb, f, (const guint8 *) "pong", 4,
          RTMFP_NO_DEADLINE, 0, rtmfp_sim_net_now (net)));
  rtmfp_sim_net_kick (net);
  g_assert_true (rtmfp_sim_net_run_until (net, cond_received, a, 5 * SEC));
  g_assert_cmpstr (a->received->str, ==, "pong|");

  rtmfp_endpoint_get_stats (a->ep, &sta);
  rtmfp_endpoint_get_stats (b->ep, &stb);
  g_assert_cmpuint (sta.dropped_undecodable, ==, 0);
  g_assert_cmpuint (stb.dropped_undecodable, ==, 0);
}

static void
check_pair (Peer * a, RtmfpSession * sa, Peer * b, RtmfpSession * sb)
{
  g_assert_nonnull (sa);
  g_assert_nonnull (sb);
  g_assert_cmpint (rtmfp_session_get_state (sa), ==, RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (sb), ==, RTMFP_SESSION_OPEN);
  g_assert_nonnull (rtmfp_session_get_far_fingerprint (sa));
  g_assert_nonnull (rtmfp_session_get_far_fingerprint (sb));
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint (sa),
      RTMFP_FINGERPRINT_SIZE, rtmfp_identity_get_fingerprint (b->id),
      RTMFP_FINGERPRINT_SIZE);
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint (sb),
      RTMFP_FINGERPRINT_SIZE, rtmfp_identity_get_fingerprint (a->id),
      RTMFP_FINGERPRINT_SIZE);
  g_assert_true (rtmfp_endpoint_find_session_by_fingerprint (a->ep,
          rtmfp_identity_get_fingerprint (b->id)) == sa);
  g_assert_true (rtmfp_endpoint_find_session_by_fingerprint (b->ep,
          rtmfp_identity_get_fingerprint (a->id)) == sb);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

/* Client (static keys) -> server (ephemeral, EPD = ancillary URI) */
static void
test_basic (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (1);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  RtmfpEndpointStats st;
  gsize cert_len, far_len;
  const guint8 *cert, *far;
  gchar *expect;

  w->log = g_string_new (NULL);
  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_cmpint (rtmfp_session_get_state (s), ==,
      RTMFP_SESSION_IHELLO_SENT);
  g_assert_true (rtmfp_session_is_initiator (s));
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (cli->ep), ==, 1);

  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  /* the 4-way handshake, nothing else, nothing twice */
  expect = g_strdup_printf ("%s %s %s %s ",
      rtmfp_chunk_type_get_nick (RTMFP_CHUNK_IHELLO),
      rtmfp_chunk_type_get_nick (RTMFP_CHUNK_RHELLO),
      rtmfp_chunk_type_get_nick (RTMFP_CHUNK_IIKEYING),
      rtmfp_chunk_type_get_nick (RTMFP_CHUNK_RIKEYING));
  g_assert_cmpstr (w->log->str, ==, expect);
  g_free (expect);
  rtmfp_sim_net_run_for (net, 100 * MS);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IHELLO], ==, 1);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_RHELLO], ==, 1);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], ==, 1);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_RIKEYING], ==, 1);

  g_assert_cmpuint (cli->n_opened, ==, 1);
  g_assert_cmpuint (srv->n_opened, ==, 1);
  g_assert_true (cli->opened == s);
  g_assert_false (rtmfp_session_is_initiator (srv->opened));
  check_pair (cli, s, srv, srv->opened);
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address (s),
          peer_addr (srv)));
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address
          (srv->opened), peer_addr (cli)));
  /* the server holds the client's certificate byte for byte */
  cert = rtmfp_identity_get_certificate (cli->id, &cert_len);
  far = rtmfp_session_get_far_certificate (srv->opened, &far_len);
  g_assert_cmpmem (far, far_len, cert, cert_len);

  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.ihellos_received, ==, 1);
  g_assert_cmpuint (st.rhellos_sent, ==, 1);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  g_assert_cmpuint (st.cookies_rejected, ==, 0);
  rtmfp_endpoint_get_stats (cli->ep, &st);
  g_assert_cmpuint (st.sessions_opened, ==, 1);

  /* opening again returns the open session */
  g_assert_true (rtmfp_endpoint_open_session (cli->ep, epd->data, epd->len,
          peer_addr (srv), 1, rtmfp_sim_net_now (net)) == s);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (cli->ep), ==, 1);

  check_traffic (net, cli, s, srv, srv->opened);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* The handshake's first packets, byte-level: IHello on session ID 0 with
 * our EPD and a 16-byte tag; the RHello echoes it, carries a cookie and
 * the server's certificate; the RIKeying travels on the client's ISID. */
static void
test_wire_format (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (2);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  guint8 plain[8192];
  gsize plen, cert_len;
  guint32 sid;
  RtmfpChunk ch;
  RtmfpIIKeyingChunk ik;
  RtmfpRIKeyingChunk rk;
  GBytes *b;
  const guint8 *d, *cert;
  gsize l;

  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_cmpuint (w->iikeyings->len, ==, 1);
  g_assert_cmpuint (w->rikeyings->len, ==, 1);

  b = g_ptr_array_index (w->iikeyings, 0);
  d = g_bytes_get_data (b, &l);
  g_assert_cmpint (wire_decode (d, l, &sid, &ch, plain, &plen, NULL), ==,
      RTMFP_CHUNK_IIKEYING);
  g_assert_cmpuint (sid, ==, 0);
  g_assert_true (rtmfp_iikeying_chunk_parse (ch.data, ch.len, &ik));
  g_assert_cmpuint (ik.initiator_session_id, !=, 0);
  cert = rtmfp_identity_get_certificate (cli->id, &cert_len);
  g_assert_cmpmem (ik.cert, ik.cert_len, cert, cert_len);
  /* F4.3.5: no signature, sent as 'X' */
  g_assert_cmpuint (ik.signature_len, ==, 1);
  g_assert_cmpuint (ik.signature[0], ==, 'X');
  g_assert_cmpuint (ik.cookie_len, >=, 16);

  b = g_ptr_array_index (w->rikeyings, 0);
  d = g_bytes_get_data (b, &l);
  g_assert_true (rtmfp_rikeying_chunk_parse (d, l, &rk));
  g_assert_cmpuint (rk.responder_session_id, !=, 0);
  g_assert_cmpuint (rk.signature_len, ==, 1);
  g_assert_cmpuint (rk.signature[0], ==, 'X');

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* P2P style: fingerprint EPD to a client-style (static key) peer; then a
 * wrong fingerprint: no answer, IHellos on the backoff, failure at the
 * 95 s open timeout. */
static void
test_fingerprint_and_timeout (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (3);
  Wire *w = wire_new (net);
  Peer *a = peer_new (net, "10.0.0.1:40000", client_identity (), TRUE);
  Peer *b = peer_new (net, "10.0.0.2:40000", client_identity (), TRUE);
  GByteArray *epd = epd_fp (a), *bad;
  RtmfpSession *s;
  RtmfpEndpointStats st;
  guint8 fp[RTMFP_FINGERPRINT_SIZE];
  gint64 t0, prev_gap = 0;
  guint i, n_ihellos;

  s = peer_open (b, epd, peer_addr (a));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  check_pair (b, s, a, a->opened);
  check_traffic (net, b, s, a, a->opened);

  /* wrong fingerprint */
  memcpy (fp, rtmfp_identity_get_fingerprint (a->id), sizeof (fp));
  fp[7] ^= 0x40;
  bad = g_byte_array_new ();
  rtmfp_epd_append_fingerprint (bad, fp);
  g_array_set_size (w->ihello_times, 0);
  t0 = rtmfp_sim_net_now (net);
  s = peer_open (b, bad, peer_addr (a));
  g_assert_true (s != a->opened);
  {
    StateCond c = { s, 0 };
    g_assert_true (rtmfp_sim_net_run_until (net, cond_not_opening, &c,
            200 * SEC));
  }
  g_assert_cmpint (rtmfp_session_get_state (s), ==,
      RTMFP_SESSION_OPEN_FAILED);
  g_assert_cmpint (b->last_error, ==, RTMFP_SESSION_ERROR_TIMEOUT);
  g_assert_cmpuint (b->n_failed, ==, 1);
  /* RECOMMENDED ultimate open timeout: 95 s */
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, >=, 95 * SEC);
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, <=, 95 * SEC + 10 * MS);

  /* 3.5.1.1.1 backoff: first retry after 1 s, then each gap at least
   * 1.5 s longer than the previous one, and at least multiplicative. */
  n_ihellos = w->ihello_times->len;
  g_assert_cmpuint (n_ihellos, >=, 6);
  g_assert_cmpuint (n_ihellos, <=, 12);
  g_assert_cmpint (g_array_index (w->ihello_times, gint64, 0), ==, t0);
  for (i = 1; i < n_ihellos; i++) {
    gint64 gap = g_array_index (w->ihello_times, gint64, i)
        - g_array_index (w->ihello_times, gint64, i - 1);
    if (i == 1)
      g_assert_cmpint (gap, ==, 1 * SEC);
    else {
      g_assert_cmpint (gap, >=, prev_gap + 1500 * MS);
      g_assert_cmpint (gap, >=, prev_gap * 3 / 2);
    }
    prev_gap = gap;
  }
  /* the peer saw them all and answered none */
  rtmfp_endpoint_get_stats (a->ep, &st);
  g_assert_cmpuint (st.ihellos_received, ==, n_ihellos + 1);
  g_assert_cmpuint (st.rhellos_sent, ==, 1);
  g_assert_cmpuint (a->n_ihello_other, ==, n_ihellos);
  /* the failed session is gone, the good one stays */
  rtmfp_sim_net_run_for (net, 1 * SEC);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (b->ep), ==, 1);

  g_byte_array_unref (epd);
  g_byte_array_unref (bad);
  net_free (net);
  wire_free (w);
  peer_free (a);
  peer_free (b);
}

/* Losing the first of each handshake packet still opens, by the
 * retransmissions of 3.5.1.1.1; a lost RIKeying is resent from the stored
 * copy (one session only). */
static void
run_loss (guint8 type, guint n_drop)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (10 + type);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  RtmfpEndpointStats st;
  gint64 t0 = rtmfp_sim_net_now (net);

  w->drop_first[type] = n_drop;
  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 30 * SEC));
  g_assert_cmpuint (w->drop_first[type], ==, 0);
  g_assert_cmpuint (w->count[type], ==, n_drop + 1);
  /* took a retransmission (>= 1 s) but not more than the backoff */
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, >, 1 * SEC);
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, <, 10 * SEC);
  check_pair (cli, s, srv, srv->opened);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 1);
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  g_assert_cmpuint (srv->n_opened, ==, 1);
  if (type == RTMFP_CHUNK_RIKEYING) {
    /* both RIKeyings are the same chunk (same RSID, same SKRC) */
    GBytes *r0 = g_ptr_array_index (w->rikeyings, 0);
    GBytes *r1 = g_ptr_array_index (w->rikeyings, 1);
    g_assert_true (g_bytes_equal (r0, r1));
  }
  check_traffic (net, cli, s, srv, srv->opened);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

static void
test_loss_ihello (void)
{
  run_loss (RTMFP_CHUNK_IHELLO, 2);
}

static void
test_loss_rhello (void)
{
  run_loss (RTMFP_CHUNK_RHELLO, 1);
}

static void
test_loss_iikeying (void)
{
  run_loss (RTMFP_CHUNK_IIKEYING, 2);
}

static void
test_loss_rikeying (void)
{
  run_loss (RTMFP_CHUNK_RIKEYING, 1);
}

/* A lossy, duplicating, reordering network: every handshake still ends
 * with exactly one session on each side, keys in agreement. */
static void
test_impaired (void)
{
  guint seed;

  for (seed = 0; seed < 24; seed++) {
    RtmfpSimNet *net = rtmfp_sim_net_new (1000 + seed);
    RtmfpSimLink link;
    Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
    Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), TRUE);
    Peer *p2p = peer_new (net, "10.0.0.3:50000", client_identity (), TRUE);
    GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app"), *fp = epd_fp (cli);
    RtmfpSession *s, *s2;

    rtmfp_sim_link_init (&link);
    link.loss = 0.3;
    link.duplicate = 0.2;
    link.delay_us = 40 * MS;
    link.jitter_us = 60 * MS;
    rtmfp_sim_net_set_link (net, &link);
    s = peer_open (cli, epd, peer_addr (srv));
    s2 = peer_open (p2p, fp, peer_addr (cli));
    g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 95 * SEC));
    g_assert_true (run_to_state (net, s2, RTMFP_SESSION_OPEN, 95 * SEC));
    rtmfp_sim_net_run_for (net, 10 * SEC);
    g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 1);
    g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (cli->ep), ==, 2);
    g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (p2p->ep), ==, 1);
    g_assert_cmpuint (srv->n_opened, ==, 1);
    g_assert_cmpuint (cli->n_opened, ==, 2);
    g_assert_cmpuint (cli->n_failed + srv->n_failed + p2p->n_failed, ==, 0);
    check_pair (cli, s, srv, srv->opened);
    check_pair (p2p, s2, cli, rtmfp_endpoint_find_session_by_fingerprint
        (cli->ep, rtmfp_identity_get_fingerprint (p2p->id)));

    g_byte_array_unref (epd);
    g_byte_array_unref (fp);
    net_free (net);
    peer_free (srv);
    peer_free (cli);
    peer_free (p2p);
  }
}

/* A duplicated IIKeying (delayed copy) gets the same RIKeying again and
 * creates no second session, even after the session carried traffic. */
static void
test_duplicate_iikeying (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (20);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  RtmfpEndpointStats st;
  GBytes *ik;
  const guint8 *d;
  gsize l;

  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  check_traffic (net, cli, s, srv, srv->opened);
  g_assert_cmpuint (w->rikeyings->len, ==, 1);

  ik = g_bytes_ref (g_ptr_array_index (w->iikeyings, 0));
  d = g_bytes_get_data (ik, &l);
  rtmfp_endpoint_receive (srv->ep, d, l, &w->iikeying_from,
      rtmfp_sim_net_now (net));
  rtmfp_endpoint_receive (srv->ep, d, l, &w->iikeying_from,
      rtmfp_sim_net_now (net));
  rtmfp_sim_net_run_for (net, 1 * SEC);
  g_assert_cmpuint (w->rikeyings->len, ==, 3);
  g_assert_true (g_bytes_equal (g_ptr_array_index (w->rikeyings, 0),
          g_ptr_array_index (w->rikeyings, 1)));
  g_assert_true (g_bytes_equal (g_ptr_array_index (w->rikeyings, 0),
          g_ptr_array_index (w->rikeyings, 2)));
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 1);
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  g_assert_cmpuint (srv->n_opened, ==, 1);
  g_assert_cmpuint (srv->n_closed, ==, 0);
  /* the client's open session ignores the stray RIKeyings */
  g_assert_cmpint (rtmfp_session_get_state (s), ==, RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (srv->opened), ==,
      RTMFP_SESSION_OPEN);
  check_traffic (net, cli, s, srv, srv->opened);

  g_bytes_unref (ik);
  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* 3.5.1.2: the client moves between RHello and IIKeying: its IIKeying
 * cookie is bound to the old address, the server answers with a Cookie
 * Change on the ISID, the client adopts it and opens. */
typedef struct {
  Wire *w;
  RtmfpSimHost *h;
  RtmfpSession *s;
  gboolean moved;
} MoveCtx;

static gboolean
cond_keying_then_move (gpointer ud)
{
  MoveCtx *m = ud;

  if (!m->moved && rtmfp_session_get_state (m->s) ==
      RTMFP_SESSION_KEYING_SENT) {
    rtmfp_sim_host_set_address (m->h, "10.0.0.99:50123");
    m->moved = TRUE;
  }
  return rtmfp_session_get_state (m->s) == RTMFP_SESSION_OPEN;
}

static void
test_cookie_change (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (30);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpEndpointStats st;
  MoveCtx m = { 0 };
  RtmfpAddr newaddr;

  /* the first IIKeying (from the old address) is lost */
  w->drop_first[RTMFP_CHUNK_IIKEYING] = 1;
  m.w = w;
  m.h = cli->host;
  m.s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (rtmfp_sim_net_run_until (net, cond_keying_then_move, &m,
          20 * SEC));
  g_assert_true (m.moved);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_COOKIE_CHANGE], ==, 1);
  /* lost one, one with the old cookie, one with the new */
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], ==, 3);
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.cookies_rejected, ==, 1);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  g_assert_true (rtmfp_addr_from_string (&newaddr, "10.0.0.99:50123", 0));
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address
          (srv->opened), &newaddr));
  check_pair (cli, m.s, srv, srv->opened);
  check_traffic (net, cli, m.s, srv, srv->opened);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* 3.5.1.4: a redirector answers IHellos for others with a Redirect; the
 * client then opens with the third host directly. */
static void
test_redirect (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (40);
  Wire *w = wire_new (net);
  Peer *red = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *tgt = peer_new (net, "10.0.0.3:1935", client_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_fp (tgt);
  RtmfpSession *s;
  RtmfpEndpointStats st;

  red->redirect_to = *peer_addr (tgt);
  s = peer_open (cli, epd, peer_addr (red));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address (s),
          peer_addr (tgt)));
  check_pair (cli, s, tgt, tgt->opened);
  rtmfp_endpoint_get_stats (red->ep, &st);
  g_assert_cmpuint (st.redirects_sent, ==, 1);
  g_assert_cmpuint (st.rhellos_sent, ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (red->ep), ==, 0);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_REDIRECT], ==, 1);
  check_traffic (net, cli, s, tgt, tgt->opened);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (red);
  peer_free (tgt);
  peer_free (cli);
}

/* 3.5.1.7: IHellos to several candidates (one dead), the first RHello
 * wins, the other responder keeps no state; a candidate added late
 * (rtmfp_endpoint_add_candidate) is tried at once. */
static void
test_parallel_open (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (45);
  Wire *w = wire_new (net);
  Peer *s1 = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *s2 = peer_new (net, "10.0.0.3:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://pool/app");
  RtmfpAddr cands[3], dead;
  RtmfpEndpointStats st1, st2;
  RtmfpSession *s, *again;
  gint64 t0;

  g_assert_true (rtmfp_addr_from_string (&dead, "10.9.9.9:1935", 0));
  cands[0] = dead;
  cands[1] = *peer_addr (s2);
  cands[2] = *peer_addr (s1);
  s = rtmfp_endpoint_open_session (cli->ep, epd->data, epd->len, cands, 3,
      rtmfp_sim_net_now (net));
  g_ptr_array_add (held_sessions, rtmfp_session_ref (s));
  /* the same EPD while opening: the same session */
  again = rtmfp_endpoint_open_session (cli->ep, epd->data, epd->len, cands,
      1, rtmfp_sim_net_now (net));
  g_assert_true (again == s);
  rtmfp_sim_net_kick (net);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IHELLO], ==, 3);
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  rtmfp_sim_net_run_for (net, 3 * SEC);
  rtmfp_endpoint_get_stats (s1->ep, &st1);
  rtmfp_endpoint_get_stats (s2->ep, &st2);
  g_assert_cmpuint (st1.rhellos_sent, ==, 1);
  g_assert_cmpuint (st2.rhellos_sent, ==, 1);
  /* exactly one of them was chosen */
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (s1->ep)
      + rtmfp_endpoint_get_n_sessions (s2->ep), ==, 1);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], ==, 1);
  /* no more IHellos once keying started */
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IHELLO], ==, 3);
  check_traffic (net, cli, s, st1.sessions_opened ? s1 : s2,
      st1.sessions_opened ? s1->opened : s2->opened);

  /* a late candidate */
  {
    Peer *s3 = peer_new (net, "10.0.0.4:1935", server_identity (), TRUE);
    Peer *c2 = peer_new (net, "10.0.0.5:50000", client_identity (), FALSE);
    RtmfpSession *s4;

    s4 = peer_open (c2, epd, &dead);
    rtmfp_sim_net_run_for (net, 2 * SEC);
    g_assert_cmpint (rtmfp_session_get_state (s4), ==,
        RTMFP_SESSION_IHELLO_SENT);
    t0 = rtmfp_sim_net_now (net);
    rtmfp_endpoint_add_candidate (c2->ep, s4, peer_addr (s3), t0);
    rtmfp_sim_net_kick (net);
    g_assert_true (run_to_state (net, s4, RTMFP_SESSION_OPEN, 5 * SEC));
    g_assert_cmpint (rtmfp_sim_net_now (net) - t0, <, 100 * MS);
    check_pair (c2, s4, s3, s3->opened);
    net_free (net);
    net = NULL;
    peer_free (s3);
    peer_free (c2);
  }

  g_byte_array_unref (epd);
  wire_free (w);
  peer_free (s1);
  peer_free (s2);
  peer_free (cli);
}

/* 3.5.1.6 / F5.4: the server introduces B to A (Redirect to B, FIHello to
 * A); A's RHello goes straight to B; the B-A session is direct.  A and B
 * are each behind a NAT that only lets in packets from addresses they
 * have sent to: B's first IHello to A is dropped by A's NAT, A's RHello
 * (answering the FIHello) is what opens the way (Fig. 17). */
static void
test_introduction (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (50);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *a = peer_new (net, "10.0.1.1:40001", client_identity (), TRUE);
  Peer *b = peer_new (net, "10.0.2.2:40002", client_identity (), TRUE);
  GByteArray *uri = epd_uri ("rtmfp://10.0.0.1/app"), *epd;
  RtmfpSession *sa, *sb, *sab;
  RtmfpSession *a_side;
  RtmfpEndpointStats st;
  gint64 t0;

  srv->introducer = TRUE;
  w->nat[0] = *peer_addr (a);
  w->nat[1] = *peer_addr (b);
  w->nat_open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  sa = peer_open (a, uri, peer_addr (srv));
  sb = peer_open (b, uri, peer_addr (srv));
  g_assert_true (run_to_state (net, sa, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_true (run_to_state (net, sb, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 2);
  g_assert_cmpuint (a->n_opened, ==, 1);

  /* B wants A, knowing only A's peer ID and the server */
  epd = epd_fp (a);
  w->pair_from = *peer_addr (a);
  w->pair_to = *peer_addr (b);
  t0 = rtmfp_sim_net_now (net);
  w->nat_dropped = 0;
  sab = peer_open (b, epd, peer_addr (srv));
  g_assert_true (sab != sb);
  g_assert_true (run_to_state (net, sab, RTMFP_SESSION_OPEN, 5 * SEC));
  /* no retransmission needed, and the NAT did get in the way */
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, <, 500 * MS);
  g_assert_cmpuint (w->nat_dropped, >=, 1);
  g_assert_cmpuint (a->n_opened, ==, 2);
  a_side = a->opened;
  check_pair (b, sab, a, a_side);
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address (sab),
          peer_addr (a)));
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address (a_side),
          peer_addr (b)));
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.redirects_sent, >=, 1);
  g_assert_cmpuint (srv->n_ihello_other, >=, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 2);
  /* A answered the FIHello (or B's IHello) with an RHello to B */
  g_assert_cmpuint (w->pair_rhellos, >=, 1);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_FIHELLO], ==, 0);

  /* B-A traffic does not touch the server */
  rtmfp_sim_net_run_for (net, 1 * SEC);
  w->watch = *peer_addr (srv);
  w->watch_count = 0;
  check_traffic (net, b, sab, a, a_side);
  g_assert_cmpuint (w->watch_count, ==, 0);
  /* the server sessions are intact */
  g_assert_cmpint (rtmfp_session_get_state (sa), ==, RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (sb), ==, RTMFP_SESSION_OPEN);

  g_byte_array_unref (uri);
  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (a);
  peer_free (b);
}

/* 3.5.1.3: both ends open to each other at once: one session survives,
 * with the initiator whose certificate sorts first (F4.3.6). */
static void
test_glare (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (60);
  Peer *a = peer_new (net, "10.0.1.1:40001", client_identity (), TRUE);
  Peer *b = peer_new (net, "10.0.2.2:40002", client_identity (), TRUE);
  GByteArray *ea = epd_fp (a), *eb = epd_fp (b);
  RtmfpSession *sa, *sb, *fa, *fb;
  const guint8 *ca, *cb;
  gsize la, lb;
  Peer *first;

  sa = rtmfp_endpoint_open_session (a->ep, eb->data, eb->len, peer_addr (b),
      1, rtmfp_sim_net_now (net));
  sb = rtmfp_endpoint_open_session (b->ep, ea->data, ea->len, peer_addr (a),
      1, rtmfp_sim_net_now (net));
  g_ptr_array_add (held_sessions, rtmfp_session_ref (sa));
  g_ptr_array_add (held_sessions, rtmfp_session_ref (sb));
  rtmfp_sim_net_kick (net);
  rtmfp_sim_net_run_for (net, 10 * SEC);

  fa = rtmfp_endpoint_find_session_by_fingerprint (a->ep,
      rtmfp_identity_get_fingerprint (b->id));
  fb = rtmfp_endpoint_find_session_by_fingerprint (b->ep,
      rtmfp_identity_get_fingerprint (a->id));
  check_pair (a, fa, b, fb);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (a->ep), ==, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (b->ep), ==, 1);
  g_assert_cmpuint (a->n_opened + b->n_opened, ==, 2);
  g_assert_cmpuint (a->n_failed + b->n_failed, ==, 1);

  ca = rtmfp_identity_get_certificate (a->id, &la);
  cb = rtmfp_identity_get_certificate (b->id, &lb);
  first = rtmfp_cert_compare (ca, la, cb, lb) <= 0 ? a : b;
  if (first == a) {
    g_assert_true (fa == sa);
    g_assert_true (rtmfp_session_is_initiator (fa));
    g_assert_false (rtmfp_session_is_initiator (fb));
    g_assert_cmpint (rtmfp_session_get_state (sb), ==,
        RTMFP_SESSION_OPEN_FAILED);
  } else {
    g_assert_true (fb == sb);
    g_assert_true (rtmfp_session_is_initiator (fb));
    g_assert_false (rtmfp_session_is_initiator (fa));
    g_assert_cmpint (rtmfp_session_get_state (sa), ==,
        RTMFP_SESSION_OPEN_FAILED);
  }
  check_traffic (net, a, fa, b, fb);

  g_byte_array_unref (ea);
  g_byte_array_unref (eb);
  net_free (net);
  peer_free (a);
  peer_free (b);
}

/* F4.3.7: a new session from the byte-identical certificate (the client
 * restarted behind another port) closes the stale one. */
static void
test_override (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (70);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  RtmfpIdentity *id = client_identity ();
  Peer *c1 = peer_new (net, "10.0.0.2:50000", rtmfp_identity_ref (id), FALSE);
  Peer *c2 = peer_new (net, "10.0.0.2:50001", id, FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s1, *s2, *old;

  s1 = peer_open (c1, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s1, RTMFP_SESSION_OPEN, 5 * SEC));
  old = rtmfp_session_ref (srv->opened);
  rtmfp_sim_host_set_blackhole (c1->host, TRUE);

  s2 = peer_open (c2, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s2, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_true (srv->opened != old);
  g_assert_cmpint (rtmfp_session_get_state (old), ==, RTMFP_SESSION_CLOSED);
  g_assert_cmpuint (srv->n_closed, ==, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 1);
  check_pair (c2, s2, srv, srv->opened);
  check_traffic (net, c2, s2, srv, srv->opened);

  rtmfp_session_unref (old);
  g_byte_array_unref (epd);
  net_free (net);
  peer_free (srv);
  peer_free (c1);
  peer_free (c2);
}

/* Local policy: accept_session refusing and max_sessions */
static void
test_refuse (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (80);
  Peer *srv = peer_new_full (net, "10.0.0.1:1935", server_identity (), TRUE,
      1);
  Peer *c1 = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  Peer *c2 = peer_new (net, "10.0.0.3:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s1, *s2;
  RtmfpEndpointStats st;

  srv->refuse = TRUE;
  s1 = peer_open (c1, epd, peer_addr (srv));
  g_assert_false (run_to_state (net, s1, RTMFP_SESSION_OPEN, 10 * SEC));
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.sessions_refused, >=, 2);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 0);

  /* accepted now: the retransmitted IIKeying gets through */
  srv->refuse = FALSE;
  g_assert_true (run_to_state (net, s1, RTMFP_SESSION_OPEN, 30 * SEC));
  /* the second client hits max_sessions = 1 */
  s2 = peer_open (c2, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s2, RTMFP_SESSION_OPEN_FAILED,
          100 * SEC));
  g_assert_cmpint (c2->last_error, ==, RTMFP_SESSION_ERROR_TIMEOUT);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 1);

  g_byte_array_unref (epd);
  net_free (net);
  peer_free (srv);
  peer_free (c1);
  peer_free (c2);
}

/* 3.4: certificates with static keys for groups 16, 14, 5 and 2 make the
 * RHello and IIKeying larger than a datagram: they go as Packet Fragments,
 * and the handshake works (also with the first fragment lost). */
static void
run_fragmented (gboolean lose_one)
{
  static const guint big[] = { 16, 14, 5, 2 };
  RtmfpSimNet *net = rtmfp_sim_net_new (90 + lose_one);
  Wire *w = wire_new (net);
  Peer *a = peer_new (net, "10.0.1.1:40001",
      rtmfp_identity_new_static (big, 4), TRUE);
  Peer *b = peer_new (net, "10.0.2.2:40002",
      rtmfp_identity_new_static (big, 4), TRUE);
  GByteArray *epd = epd_fp (a);
  RtmfpSession *s;
  gsize cert_len;

  rtmfp_identity_get_certificate (a->id, &cert_len);
  g_assert_cmpuint (cert_len, >, RTMFP_MAX_PLAIN_SIZE - 100);
  if (lose_one)
    w->drop_first[RTMFP_CHUNK_FRAGMENT] = 1;
  s = peer_open (b, epd, peer_addr (a));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 10 * SEC));
  /* RHello and IIKeying: 2 fragments each at least */
  g_assert_cmpuint (w->count[RTMFP_CHUNK_FRAGMENT], >=, 4 + lose_one);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_RHELLO], ==, 0);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], ==, 0);
  check_pair (b, s, a, a->opened);
  check_traffic (net, b, s, a, a->opened);
  rtmfp_sim_net_run_for (net, 5 * SEC);
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (a->ep), ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (b->ep), ==, 0);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (a);
  peer_free (b);
}

static void
test_fragmented (void)
{
  run_fragmented (FALSE);
}

static void
test_fragmented_loss (void)
{
  run_fragmented (TRUE);
}

/* ------------------------------------------------------------------ */
/* Hostile input, straight into an endpoint                           */

typedef struct {
  guint n;
  guint n_rhello;
  GBytes *last;
  RtmfpAddr last_to;
} Sink;

static void
sink_send (const guint8 * data, gsize len, const RtmfpAddr * to, gpointer ud)
{
  Sink *k = ud;

  k->n++;
  if (wire_type (data, len) == RTMFP_CHUNK_RHELLO)
    k->n_rhello++;
  g_clear_pointer (&k->last, g_bytes_unref);
  k->last = g_bytes_new (data, len);
  k->last_to = *to;
}

/* A startup packet (default key) with one chunk */
static gsize
make_startup (guint32 sid, guint8 mode, guint8 type, const guint8 * payload,
    gsize len, guint8 * out, gsize out_size)
{
  GByteArray *p = g_byte_array_new ();
  gsize n;

  rtmfp_append_u8 (p, mode);
  rtmfp_chunk_append (p, type, payload, len);
  n = rtmfp_cipher_encode (default_cipher, sid, p->data, p->len, out,
      out_size);
  g_byte_array_unref (p);
  return n;
}

static RtmfpEndpoint *
lone_endpoint (Sink * k)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpoint *ep;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = server_identity ();
  ep = rtmfp_endpoint_new (&cfg, &peer_callbacks, NULL, sink_send, k);
  rtmfp_identity_unref (cfg.identity);
  return ep;
}

static void
addr_n (RtmfpAddr * a, guint32 n)
{
  guint8 ip[4] = { 10, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff };
  rtmfp_addr_set_ipv4 (a, ip, 1024 + (n % 50000));
}

/* 10,000 IHellos from as many addresses: 10,000 RHellos, no state */
static void
test_ihello_flood (void)
{
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (&k);
  GByteArray *ih = g_byte_array_new (), *epd = epd_uri ("rtmfp://x/app");
  RtmfpIHelloChunk c;
  RtmfpEndpointStats st;
  guint8 tag[16], dg[256], frag[64];
  gsize n;
  guint i;

  for (i = 0; i < 10000; i++) {
    RtmfpAddr from;
    RtmfpFragmentChunk fc;
    GByteArray *fb = g_byte_array_new ();

    memset (tag, i & 0xff, sizeof (tag));
    memcpy (tag, &i, sizeof (i));
    c.epd = epd->data;
    c.epd_len = epd->len;
    c.tag = tag;
    c.tag_len = sizeof (tag);
    g_byte_array_set_size (ih, 0);
    rtmfp_append_u8 (ih, RTMFP_MODE_STARTUP);
    rtmfp_ihello_chunk_append (ih, &c);
    n = rtmfp_cipher_encode (default_cipher, 0, ih->data, ih->len, dg,
        sizeof (dg));
    g_assert_cmpuint (n, >, 0);
    addr_n (&from, i);
    rtmfp_endpoint_receive (ep, dg, n, &from, i * 100);

    /* and a first fragment of a never-completed packet */
    memset (frag, 0xab, sizeof (frag));
    fc.more = TRUE;
    fc.packet_id = i;
    fc.fragment_num = 0;
    fc.data = frag;
    fc.len = sizeof (frag);
    rtmfp_append_u8 (fb, RTMFP_MODE_STARTUP);
    rtmfp_fragment_chunk_append (fb, &fc);
    n = rtmfp_cipher_encode (default_cipher, 0, fb->data, fb->len, dg,
        sizeof (dg));
    rtmfp_endpoint_receive (ep, dg, n, &from, i * 100);
    g_byte_array_unref (fb);
    g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (ep), <=, 256);
  }
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.ihellos_received, ==, 10000);
  g_assert_cmpuint (st.rhellos_sent, ==, 10000);
  g_assert_cmpuint (k.n_rhello, ==, 10000);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (ep), ==, 0);
  g_assert_cmpuint (st.dropped_malformed + st.dropped_undecodable
      + st.dropped_unknown_session, ==, 0);
  /* the reassembly buffers are bounded and expire (3.4) */
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (ep), <=, 256);
  g_assert_cmpint (rtmfp_endpoint_next_timeout (ep), >=, 0);
  rtmfp_endpoint_handle_timeout (ep, 10000 * 100 + 61 * SEC);
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (ep), ==, 0);
  /* and then nothing at all is pending */
  g_assert_cmpint (rtmfp_endpoint_next_timeout (ep), ==, -1);

  g_clear_pointer (&k.last, g_bytes_unref);
  g_byte_array_unref (ih);
  g_byte_array_unref (epd);
  rtmfp_endpoint_free (ep);
}

/* 3.4 startup rate limit: a burst of IHellos from one address (e.g.
 * spoofed, to reflect RHellos at a victim) gets at most 4 answers per
 * 200 ms; other addresses are not affected. */
static void
test_rate_limit (void)
{
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (&k);
  GByteArray *ih = g_byte_array_new (), *epd = epd_uri ("rtmfp://x/app");
  RtmfpIHelloChunk c;
  RtmfpEndpointStats st;
  RtmfpAddr victim, other;
  guint8 tag[16] = { 1 }, dg[256];
  gsize n;
  guint i;

  c.epd = epd->data;
  c.epd_len = epd->len;
  c.tag = tag;
  c.tag_len = sizeof (tag);
  rtmfp_append_u8 (ih, RTMFP_MODE_STARTUP);
  rtmfp_ihello_chunk_append (ih, &c);
  n = rtmfp_cipher_encode (default_cipher, 0, ih->data, ih->len, dg,
      sizeof (dg));
  addr_n (&victim, 1);
  addr_n (&other, 2);

  for (i = 0; i < 20; i++)
    rtmfp_endpoint_receive (ep, dg, n, &victim, 1000 + i * MS);
  g_assert_cmpuint (k.n_rhello, ==, 4);
  rtmfp_endpoint_receive (ep, dg, n, &other, 1000 + 20 * MS);
  g_assert_cmpuint (k.n_rhello, ==, 5);
  g_assert_true (rtmfp_addr_equal (&k.last_to, &other));
  /* the next window */
  for (i = 0; i < 20; i++)
    rtmfp_endpoint_receive (ep, dg, n, &victim, 1000 + 200 * MS + i * MS);
  g_assert_cmpuint (k.n_rhello, ==, 9);
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.ihellos_received, ==, 41);
  g_assert_cmpuint (st.rhellos_sent, ==, 9);

  g_clear_pointer (&k.last, g_bytes_unref);
  g_byte_array_unref (ih);
  g_byte_array_unref (epd);
  rtmfp_endpoint_free (ep);
}

/* An IIKeying whose cookie we never issued, or that expired, is ignored */
static void
test_bad_cookies (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (100);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  RtmfpEndpointStats st;
  GBytes *ik;
  const guint8 *d;
  gsize l;
  guint8 plain[2048], mod[2048], dg[2048];
  gsize plen;
  guint32 sid;
  RtmfpChunk ch;
  RtmfpIIKeyingChunk c;
  GByteArray *p;
  gsize n;

  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 5 * SEC));
  ik = g_bytes_ref (g_ptr_array_index (w->iikeyings, 0));
  d = g_bytes_get_data (ik, &l);
  g_assert_cmpint (wire_decode (d, l, &sid, &ch, plain, &plen, NULL), ==,
      RTMFP_CHUNK_IIKEYING);
  g_assert_true (rtmfp_iikeying_chunk_parse (ch.data, ch.len, &c));

  /* a forged cookie (one bit off), new ISID so it is not a retransmission */
  memcpy (mod, c.cookie, c.cookie_len);
  mod[c.cookie_len - 1] ^= 1;
  mod[5] ^= 1;
  c.cookie = mod;
  c.initiator_session_id ^= 0x10101;
  p = g_byte_array_new ();
  rtmfp_append_u8 (p, RTMFP_MODE_STARTUP);
  rtmfp_iikeying_chunk_append (p, &c);
  n = rtmfp_cipher_encode (default_cipher, 0, p->data, p->len, dg,
      sizeof (dg));
  rtmfp_endpoint_receive (srv->ep, dg, n, &w->iikeying_from,
      rtmfp_sim_net_now (net));
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.cookies_rejected, ==, 1);

  /* the genuine IIKeying replayed after the cookie lifetime (>= 95 s) */
  rtmfp_sim_net_run_for (net, 250 * SEC);
  rtmfp_endpoint_receive (srv->ep, d, l, &w->iikeying_from,
      rtmfp_sim_net_now (net));
  rtmfp_endpoint_get_stats (srv->ep, &st);
  g_assert_cmpuint (st.cookies_rejected, ==, 2);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  g_assert_cmpuint (srv->n_opened, ==, 1);

  g_byte_array_unref (p);
  g_bytes_unref (ik);
  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* Garbage, wrong modes, unknown session IDs: dropped and counted */
static void
test_garbage (void)
{
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (&k);
  GRand *rand = g_rand_new_with_seed (4242);
  RtmfpEndpointStats st;
  RtmfpAddr from;
  guint8 dg[2048], payload[64];
  gsize n;
  guint i, sent = 0;
  guint64 dropped;

  addr_n (&from, 7);

  /* random bytes of every length */
  for (i = 0; i < 3000; i++) {
    gsize len = g_rand_int_range (rand, 0, 1300);
    gsize j;
    for (j = 0; j < len; j++)
      dg[j] = g_rand_int_range (rand, 0, 256);
    rtmfp_endpoint_receive (ep, dg, len, &from, i);
    sent++;
  }
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.datagrams_received, ==, sent);
  dropped = st.dropped_undecodable + st.dropped_malformed
      + st.dropped_unknown_session;
  g_assert_cmpuint (dropped, ==, sent);

  /* startup chunks in a packet of mode 1 / 2 on session 0: malformed */
  memset (payload, 0, sizeof (payload));
  n = make_startup (0, RTMFP_MODE_INITIATOR, RTMFP_CHUNK_IHELLO, payload, 8,
      dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  n = make_startup (0, RTMFP_MODE_RESPONDER, RTMFP_CHUNK_IHELLO, payload, 8,
      dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  /* mode 0: invalid */
  n = make_startup (0, 0, RTMFP_CHUNK_IHELLO, payload, 8, dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.dropped_malformed + st.dropped_undecodable
      + st.dropped_unknown_session, ==, dropped + 3);
  dropped += 3;

  /* an unknown session ID */
  n = make_startup (0x12345678, RTMFP_MODE_STARTUP, RTMFP_CHUNK_PING,
      payload, 4, dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.dropped_unknown_session, >=, 1);
  g_assert_cmpuint (st.dropped_malformed + st.dropped_undecodable
      + st.dropped_unknown_session, ==, dropped + 1);
  dropped += 1;

  /* a startup chunk that is not allowed on session 0 is ignored (no
   * reply), so are session chunks in a startup packet */
  k.n = 0;
  n = make_startup (0, RTMFP_MODE_STARTUP, RTMFP_CHUNK_RIKEYING, payload, 20,
      dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  n = make_startup (0, RTMFP_MODE_STARTUP, RTMFP_CHUNK_PING, payload, 4, dg,
      sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  /* an IHello with a malformed EPD */
  payload[0] = 5;
  payload[1] = 0x7f;
  n = make_startup (0, RTMFP_MODE_STARTUP, RTMFP_CHUNK_IHELLO, payload, 20,
      dg, sizeof (dg));
  rtmfp_endpoint_receive (ep, dg, n, &from, 5000);
  g_assert_cmpuint (k.n, ==, 0);
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.dropped_malformed, >=, 1);

  /* a too short datagram */
  rtmfp_endpoint_receive (ep, dg, 19, &from, 5000);
  rtmfp_endpoint_get_stats (ep, &st);
  g_assert_cmpuint (st.dropped_undecodable, >=, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (ep), ==, 0);
  g_assert_cmpuint (k.n, ==, 0);

  g_rand_free (rand);
  rtmfp_endpoint_free (ep);
}

/* Mutated handshake packets (re-encoded so they pass the checksum) into a
 * server and a client: parsers see every kind of damage; no crash, no
 * session from a broken packet. */
static void
test_mutations (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (110);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  GRand *rand = g_rand_new_with_seed (99);
  RtmfpSession *s;
  GBytes *ik;
  const guint8 *d;
  gsize l, plen;
  guint8 plain[2048], mod[2048], dg[2200];
  guint32 sid;
  guint i;

  w->drop_all[RTMFP_CHUNK_RIKEYING] = TRUE;
  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_KEYING_SENT, 5 * SEC));
  rtmfp_sim_net_run_for (net, 100 * MS);
  g_assert_cmpuint (srv->n_opened, ==, 1);
  ik = g_bytes_ref (g_ptr_array_index (w->iikeyings, 0));
  d = g_bytes_get_data (ik, &l);
  g_assert_cmpint (wire_decode (d, l, &sid, NULL, plain, &plen, NULL), ==,
      RTMFP_CHUNK_IIKEYING);

  for (i = 0; i < 400; i++) {
    gsize mlen = plen, n;
    guint k, nmut = g_rand_int_range (rand, 1, 4);

    memcpy (mod, plain, plen);
    for (k = 0; k < nmut; k++) {
      guint pos = g_rand_int_range (rand, 1, plen);
      switch (g_rand_int_range (rand, 0, 3)) {
        case 0:
          mod[pos] ^= 1 << g_rand_int_range (rand, 0, 8);
          break;
        case 1:
          mod[pos] = g_rand_int_range (rand, 0, 256);
          break;
        default:
          mlen = pos;           /* truncate */
          break;
      }
    }
    n = rtmfp_cipher_encode (default_cipher, 0, mod, mlen, dg, sizeof (dg));
    g_assert_cmpuint (n, >, 0);
    rtmfp_endpoint_receive (srv->ep, dg, n, &w->iikeying_from,
        rtmfp_sim_net_now (net));
    /* the same, as if an RIKeying / Cookie Change for the client */
    n = rtmfp_cipher_encode (default_cipher, 0, mod, mlen, dg, sizeof (dg));
    rtmfp_endpoint_receive (cli->ep, dg, n, peer_addr (srv),
        rtmfp_sim_net_now (net));
  }
  /* the client is still opening, the server has at most its session */
  g_assert_cmpint (rtmfp_session_get_state (s), ==, RTMFP_SESSION_KEYING_SENT);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), <=, 2);

  /* and still opens */
  w->drop_all[RTMFP_CHUNK_RIKEYING] = FALSE;
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN, 20 * SEC));

  g_rand_free (rand);
  g_bytes_unref (ik);
  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* No answer to IIKeying: IIKeying retransmitted on the backoff, then the
 * open timeout. */
static void
test_keying_timeout (void)
{
  RtmfpSimNet *net = rtmfp_sim_net_new (120);
  Wire *w = wire_new (net);
  Peer *srv = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000", client_identity (), FALSE);
  GByteArray *epd = epd_uri ("rtmfp://10.0.0.1/app");
  RtmfpSession *s;
  gint64 t0 = rtmfp_sim_net_now (net);

  w->drop_all[RTMFP_CHUNK_IIKEYING] = TRUE;
  s = peer_open (cli, epd, peer_addr (srv));
  g_assert_true (run_to_state (net, s, RTMFP_SESSION_OPEN_FAILED,
          120 * SEC));
  g_assert_cmpint (cli->last_error, ==, RTMFP_SESSION_ERROR_TIMEOUT);
  g_assert_cmpint (rtmfp_sim_net_now (net) - t0, >=, 95 * SEC);
  /* 1 + retries at 1, 3.5, 7.5, 13.5, 22.5, 36, 56.25, 86.6 s or so */
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], >=, 6);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IIKEYING], <=, 12);
  g_assert_cmpuint (w->count[RTMFP_CHUNK_IHELLO], ==, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (cli->ep), ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (srv->ep), ==, 0);

  g_byte_array_unref (epd);
  net_free (net);
  wire_free (w);
  peer_free (srv);
  peer_free (cli);
}

/* One client endpoint, two servers: a URI EPD selects any server's
 * certificate, so an open session to server A must not be handed out for
 * rtmfp://B/... ; the same URI again does reuse it, and so does A's
 * fingerprint.  The second server only does DH group 2 (RFC 7425 4.2's
 * mandatory group): a client certificate with static keys for 14, 5 and 2
 * still negotiates with it. */
static void
test_reuse_by_epd (void)
{
  static const guint all_groups[] = { 14, 5, 2 };
  static const guint group2[] = { 2 };
  RtmfpSimNet *net = rtmfp_sim_net_new (46);
  Peer *a = peer_new (net, "10.0.0.1:1935", server_identity (), TRUE);
  Peer *b = peer_new (net, "10.0.0.3:1935",
      rtmfp_identity_new_ephemeral (group2, 1, NULL, TRUE), TRUE);
  Peer *cli = peer_new (net, "10.0.0.2:50000",
      rtmfp_identity_new_static (all_groups, 3), FALSE);
  GByteArray *epd_a = epd_uri ("rtmfp://a/app");
  GByteArray *epd_b = epd_uri ("rtmfp://b/app");
  GByteArray *fp_a = epd_fp (a);
  RtmfpSession *sa, *sb, *again;

  sa = peer_open (cli, epd_a, peer_addr (a));
  g_assert_true (run_to_state (net, sa, RTMFP_SESSION_OPEN, 5 * SEC));
  sb = peer_open (cli, epd_b, peer_addr (b));
  g_assert_true (sb != sa);
  g_assert_true (run_to_state (net, sb, RTMFP_SESSION_OPEN, 5 * SEC));
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint (sb),
      RTMFP_FINGERPRINT_SIZE, rtmfp_identity_get_fingerprint (b->id),
      RTMFP_FINGERPRINT_SIZE);
  g_assert_cmpuint (b->n_opened, ==, 1);

  again = rtmfp_endpoint_open_session (cli->ep, epd_a->data, epd_a->len,
      peer_addr (a), 1, rtmfp_sim_net_now (net));
  g_assert_true (again == sa);
  again = rtmfp_endpoint_open_session (cli->ep, fp_a->data, fp_a->len,
      peer_addr (a), 1, rtmfp_sim_net_now (net));
  g_assert_true (again == sa);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (cli->ep), ==, 2);

  g_byte_array_unref (epd_a);
  g_byte_array_unref (epd_b);
  g_byte_array_unref (fp_a);
  net_free (net);
  peer_free (a);
  peer_free (b);
  peer_free (cli);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  default_cipher = rtmfp_cipher_new_default ();
  held_sessions = g_ptr_array_new_with_free_func ((GDestroyNotify)
      rtmfp_session_unref);

  g_test_add_func ("/handshake/basic", test_basic);
  g_test_add_func ("/handshake/wire-format", test_wire_format);
  g_test_add_func ("/handshake/fingerprint-and-timeout",
      test_fingerprint_and_timeout);
  g_test_add_func ("/handshake/loss/ihello", test_loss_ihello);
  g_test_add_func ("/handshake/loss/rhello", test_loss_rhello);
  g_test_add_func ("/handshake/loss/iikeying", test_loss_iikeying);
  g_test_add_func ("/handshake/loss/rikeying", test_loss_rikeying);
  g_test_add_func ("/handshake/duplicate-iikeying", test_duplicate_iikeying);
  g_test_add_func ("/handshake/impaired", test_impaired);
  g_test_add_func ("/handshake/keying-timeout", test_keying_timeout);
  g_test_add_func ("/handshake/cookie-change", test_cookie_change);
  g_test_add_func ("/handshake/bad-cookies", test_bad_cookies);
  g_test_add_func ("/handshake/redirect", test_redirect);
  g_test_add_func ("/handshake/parallel-open", test_parallel_open);
  g_test_add_func ("/handshake/reuse-by-epd", test_reuse_by_epd);
  g_test_add_func ("/handshake/introduction", test_introduction);
  g_test_add_func ("/handshake/glare", test_glare);
  g_test_add_func ("/handshake/override", test_override);
  g_test_add_func ("/handshake/refuse", test_refuse);
  g_test_add_func ("/handshake/fragmented", test_fragmented);
  g_test_add_func ("/handshake/fragmented-loss", test_fragmented_loss);
  g_test_add_func ("/handshake/ihello-flood", test_ihello_flood);
  g_test_add_func ("/handshake/rate-limit", test_rate_limit);
  g_test_add_func ("/handshake/garbage", test_garbage);
  g_test_add_func ("/handshake/mutations", test_mutations);

  ret = g_test_run ();
  rtmfp_cipher_free (default_cipher);
  g_ptr_array_unref (held_sessions);
  return ret;
}
