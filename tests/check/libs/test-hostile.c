/* Hostile-peer tests: what a far end (or anyone able to send datagrams)
 * can do to an endpoint, and that each attack is dropped and counted,
 * bounded, or refused, never a crash, a leak or corrupted state.
 *
 * - tampered ciphertext, bad or truncated HMAC: dropped, counted
 *   (dropped_undecodable), the session survives, data arrives intact;
 * - replayed datagrams (session sequence numbers, 4.7.3.3): dropped,
 *   counted (dropped_replay), never delivered twice;
 * - IHello floods from spoofed addresses: no state at all, and no answer
 *   larger than 3x the datagram it answers (max_startup_amplification)
 *   beyond an endpoint-wide allowance of bytes per second, while every
 *   legitimate IHello (ours, Flash Player's, the 36-byte minimum) is
 *   answered; the same for Redirects;
 * - spoofed IIKeyings (garbage cookies, a genuine one replayed from other
 *   addresses): no session, counted, no amplification;
 * - limits: receiving flows per session (Flow Exception Report, session
 *   up), reassembly bytes, receive buffers under a fragment flood, the
 *   send queue of a flow whose far end never acknowledges (writes refused,
 *   then the idle timeout) or never consumes (writes refused, writable
 *   once it drains, data intact).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "test-hostile"

#include <string.h>

#include "rtmfpsimnet.h"
#include "rtmfpendpoint.h"
#include "rtmfpsessionpriv.h"   /* session ciphers: hostile raw packets */
#include "rtmfpcrypto.h"
#include "rtmfppacket.h"
#include "rtmfpvlu.h"

#define MS (G_TIME_SPAN_MILLISECOND)
#define SEC (G_TIME_SPAN_SECOND)

#define SERVER_ADDR "10.0.0.1:1935"
#define CLIENT_ADDR "10.0.0.2:50000"
#define SERVER_URI "rtmfp://10.0.0.1/app"

static RtmfpCipher *default_cipher;
static const guint8 flow_meta[] = { 'T', 'C', 0x04, 0x00 };

/* ------------------------------------------------------------------ */
/* Deterministic messages: 4-byte index, then a pattern of it          */

static gsize
msg_len (guint idx)
{
  guint32 h = idx * 2654435761u;
  return 4 + (h >> 7) % 2500;
}

static void
msg_fill (guint idx, guint8 * buf, gsize len)
{
  gsize i;

  buf[0] = idx >> 24;
  buf[1] = idx >> 16;
  buf[2] = idx >> 8;
  buf[3] = idx;
  for (i = 4; i < len; i++)
    buf[i] = (guint8) (idx * 31 + i * 7);
}

static gboolean
msg_check (const guint8 * data, gsize len, guint * idx)
{
  guint8 *ref;
  gboolean ok;

  if (len < 4)
    return FALSE;
  *idx = ((guint) data[0] << 24) | ((guint) data[1] << 16)
      | ((guint) data[2] << 8) | data[3];
  if (len != msg_len (*idx))
    return FALSE;
  ref = g_malloc (len);
  msg_fill (*idx, ref, len);
  ok = memcmp (ref, data, len) == 0;
  g_free (ref);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Two endpoints on the simulated network                             */

typedef struct _Net Net;

typedef struct {
  Net *net;
  RtmfpSimHost *host;
  RtmfpEndpoint *ep;
  RtmfpSession *session;        /* first session opened, ref */
  guint opened;
  guint closed;
  gint close_error;             /* -1: none */
  gint64 closed_at;

  /* receiving */
  GPtrArray *rflows;            /* RtmfpRecvFlow* (valid while session is) */
  gboolean pause_flows;
  gboolean unordered;           /* messages of several flows interleave */
  guint rx_msgs;
  guint rx_next;                /* next expected index (in order flows) */
  gboolean rx_bad;              /* wrong content, order or duplicate */

  /* sending */
  guint writable;
  guint exceptions;
  GPtrArray *exc_flows;
} Node;

struct _Net {
  RtmfpSimNet *sim;
  Node server;
  Node client;
  RtmfpAddr server_addr;
  RtmfpAddr client_addr;
  GRand *rand;

  /* filter */
  gboolean session_up;          /* only touch session datagrams after */
  guint tamper_every;           /* 0: off */
  guint c2s_seen;
  guint tampered;               /* tampered copies queued */
  gboolean capture;             /* keep copies of client -> server */
  GPtrArray *captured;          /* GBytes */
  gboolean race_copies;         /* inject a copy before the original */
  gboolean drop_s2c;
  guint64 s2c_dropped;
  GPtrArray *pending;           /* GBytes to inject into the server */
  guint injected;
  /* startup datagrams the server sends to addresses other than the
   * client's (answers to spoofed requests) */
  guint64 to_spoofed_n;
  guint64 to_spoofed_bytes;
  guint8 first_type_to_spoofed;
  GBytes *iikeying;             /* first IIKeying seen on the wire */

  gboolean (*done) (Net * n);
};

static guint8
startup_first_chunk (const guint8 * data, gsize len, RtmfpChunk * first,
    guint8 * plain)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  gsize plen;

  if (!rtmfp_cipher_decode (default_cipher, data, len, plain, &plen)
      || !rtmfp_packet_parse (plain, plen, &p)
      || rtmfp_packet_mode (&p) != RTMFP_MODE_STARTUP)
    return 0;
  rtmfp_chunk_iter_init (&it, &p);
  if (!rtmfp_chunk_iter_next (&it, &ch))
    return 0;
  if (first)
    *first = ch;
  return ch.type;
}

static void
tamper_copy (Net * n, const guint8 * data, gsize len)
{
  guint8 *c = g_memdup2 (data, len);
  gsize clen = len;

  /* the first 12 bytes scramble the session ID: leave them, or it would
   * be another (unknown) session, counted elsewhere */
  switch (n->tampered % 4) {
    case 0:                    /* a bit of the cipher blocks */
      c[g_rand_int_range (n->rand, 12, len - 16)] ^=
          1 << g_rand_int_range (n->rand, 0, 8);
      break;
    case 1:                    /* a bit of the HMAC */
      c[g_rand_int_range (n->rand, len - 16, len)] ^=
          1 << g_rand_int_range (n->rand, 0, 8);
      break;
    case 2:                    /* HMAC truncated by one byte */
      clen = len - 1;
      break;
    default:                   /* HMAC cut off entirely */
      clen = len - 16;
      break;
  }
  n->tampered++;
  g_ptr_array_add (n->pending, g_bytes_new_take (c, clen));
}

static gboolean
net_filter (RtmfpSimNet * sim, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  Net *n = ud;
  guint32 sid = rtmfp_session_id_unscramble (data, len);
  gboolean c2s = rtmfp_addr_equal (from, &n->client_addr)
      && rtmfp_addr_equal (to, &n->server_addr);
  gboolean s2c = rtmfp_addr_equal (from, &n->server_addr)
      && rtmfp_addr_equal (to, &n->client_addr);

  if (sid == 0 && n->iikeying == NULL && c2s) {
    guint8 plain[4096];
    if (len <= sizeof (plain)
        && startup_first_chunk (data, len, NULL, plain) ==
        RTMFP_CHUNK_IIKEYING)
      n->iikeying = g_bytes_new (data, len);
  }
  if (rtmfp_addr_equal (from, &n->server_addr)
      && !rtmfp_addr_equal (to, &n->client_addr)) {
    guint8 plain[4096];
    n->to_spoofed_n++;
    n->to_spoofed_bytes += len;
    if (len <= sizeof (plain))
      n->first_type_to_spoofed = startup_first_chunk (data, len, NULL, plain);
  }
  if (s2c && n->drop_s2c) {
    n->s2c_dropped++;
    return FALSE;
  }
  if (!c2s || sid == 0 || !n->session_up)
    return TRUE;

  n->c2s_seen++;
  if (n->capture)
    g_ptr_array_add (n->captured, g_bytes_new (data, len));
  if (n->race_copies)
    g_ptr_array_add (n->pending, g_bytes_new (data, len));
  if (n->tamper_every && n->c2s_seen % n->tamper_every == 0) {
    /* the original is lost; a forged copy arrives instead */
    tamper_copy (n, data, len);
    return FALSE;
  }
  return TRUE;
}

/* Injects what the filter queued into the server, as if from the client */
static void
inject_pending (Net * n)
{
  guint i;

  if (n->pending->len == 0)
    return;
  for (i = 0; i < n->pending->len; i++) {
    gsize l;
    const guint8 *d = g_bytes_get_data (g_ptr_array_index (n->pending, i), &l);
    rtmfp_endpoint_receive (n->server.ep, d, l, &n->client_addr,
        rtmfp_sim_net_now (n->sim));
    n->injected++;
  }
  g_ptr_array_set_size (n->pending, 0);
  rtmfp_sim_net_kick (n->sim);
}

static gboolean
net_cond (gpointer ud)
{
  Net *n = ud;

  inject_pending (n);
  return n->done && n->done (n);
}

static gboolean
run_until (Net * n, gboolean (*done) (Net *), gint64 max_us)
{
  gboolean ok;

  n->done = done;
  ok = rtmfp_sim_net_run_until (n->sim, net_cond, n, max_us);
  n->done = NULL;
  return ok;
}

static void
run_for (Net * n, gint64 us)
{
  run_until (n, NULL, us);
}

/* ---- callbacks ---- */

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  Node *nd = ud;
  guint idx = 0;

  if (gap != 0 || !msg_check (data, len, &idx)
      || (!nd->unordered && idx != nd->rx_next))
    nd->rx_bad = TRUE;
  nd->rx_next = idx + 1;
  nd->rx_msgs++;
}

static void
on_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Node *nd = ud;

  if (!nd->session)
    nd->session = rtmfp_session_ref (s);
  nd->opened++;
}

static void
on_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Node *nd = ud;
  const GError *e = rtmfp_session_get_error (s);

  if (s != nd->session)
    return;
  nd->closed++;
  nd->close_error = e ? e->code : -1;
  nd->closed_at = rtmfp_sim_net_now (nd->net->sim);
}

static gboolean
on_flow (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Node *nd = ud;

  g_ptr_array_add (nd->rflows, f);
  rtmfp_recv_flow_set_delivery (f, FALSE, on_message, NULL, nd);
  if (nd->pause_flows)
    rtmfp_recv_flow_set_paused (f, TRUE);
  return TRUE;
}

static void
on_exception (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    guint64 code, gpointer ud)
{
  Node *nd = ud;

  g_assert_cmpuint (code, ==, 0);
  nd->exceptions++;
  g_ptr_array_add (nd->exc_flows, f);
}

static void
on_writable (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    gpointer ud)
{
  Node *nd = ud;
  nd->writable++;
}

static const RtmfpEndpointCallbacks node_callbacks = {
  .session_opened = on_opened,
  .session_closed = on_closed,
  .flow_opened = on_flow,
  .send_flow_exception = on_exception,
  .send_flow_writable = on_writable,
};

static RtmfpIdentity *
server_identity (void)
{
  static const guint groups[] = { 14, 5, 2 };
  return rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
}

static RtmfpIdentity *
client_identity (void)
{
  static const guint groups[] = { 14 };
  return rtmfp_identity_new_static (groups, 1);
}

static void
node_init (Net * n, Node * nd, const gchar * addr, RtmfpEndpointConfig * cfg)
{
  nd->net = n;
  nd->close_error = -1;
  nd->rflows = g_ptr_array_new ();
  nd->exc_flows = g_ptr_array_new ();
  nd->host = rtmfp_sim_net_add_host (n->sim, addr, cfg, &node_callbacks, nd);
  nd->ep = rtmfp_sim_host_get_endpoint (nd->host);
}

static gboolean
both_open (Net * n)
{
  return n->server.opened > 0 && n->client.opened > 0;
}

/* srv_cfg / cli_cfg: NULL for defaults.  Runs the handshake. */
static Net *
net_new (guint32 seed, RtmfpEndpointConfig * srv_cfg,
    RtmfpEndpointConfig * cli_cfg)
{
  Net *n = g_new0 (Net, 1);
  RtmfpEndpointConfig s, c;
  GByteArray *epd = g_byte_array_new ();
  RtmfpSession *cs;

  if (srv_cfg)
    s = *srv_cfg;
  else
    rtmfp_endpoint_config_init (&s);
  if (cli_cfg)
    c = *cli_cfg;
  else
    rtmfp_endpoint_config_init (&c);
  s.identity = server_identity ();
  s.accept_sessions = TRUE;
  c.identity = client_identity ();
  c.accept_sessions = FALSE;

  n->sim = rtmfp_sim_net_new (seed);
  n->rand = g_rand_new_with_seed (seed);
  n->captured = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  n->pending = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  node_init (n, &n->server, SERVER_ADDR, &s);
  node_init (n, &n->client, CLIENT_ADDR, &c);
  rtmfp_identity_unref (s.identity);
  rtmfp_identity_unref (c.identity);
  n->server_addr = *rtmfp_sim_host_get_address (n->server.host);
  n->client_addr = *rtmfp_sim_host_get_address (n->client.host);
  rtmfp_sim_net_set_filter (n->sim, net_filter, n);

  rtmfp_epd_append_ancillary (epd, SERVER_URI);
  cs = rtmfp_endpoint_open_session (n->client.ep, epd->data, epd->len,
      &n->server_addr, 1, rtmfp_sim_net_now (n->sim));
  g_assert_nonnull (cs);
  g_byte_array_unref (epd);
  rtmfp_sim_net_kick (n->sim);
  g_assert_true (run_until (n, both_open, 5 * SEC));
  g_assert_true (n->client.session == cs);
  n->session_up = TRUE;
  return n;
}

static void
node_clear (Node * nd)
{
  g_clear_pointer (&nd->session, rtmfp_session_unref);
  g_ptr_array_unref (nd->rflows);
  g_ptr_array_unref (nd->exc_flows);
}

static void
net_free (Net * n)
{
  /* sessions first: the endpoints go with the simulated net */
  node_clear (&n->server);
  node_clear (&n->client);
  rtmfp_sim_net_free (n->sim);
  g_ptr_array_unref (n->captured);
  g_ptr_array_unref (n->pending);
  g_clear_pointer (&n->iikeying, g_bytes_unref);
  g_rand_free (n->rand);
  g_free (n);
}

static gint64
now_of (Net * n)
{
  return rtmfp_sim_net_now (n->sim);
}

/* ---- sending a stream of messages from the client ---- */

typedef struct {
  Net *n;
  RtmfpSendFlow *flow;
  guint next;                   /* next index to write */
  guint total;
} Stream;

/* Writes while the flow is below the high mark and writes are accepted */
static void
stream_pump (Stream * st)
{
  while (st->next < st->total
      && rtmfp_send_flow_get_queued_bytes (st->flow) <
      RTMFP_SESSION_FLOW_HIGH_WATER) {
    gsize len = msg_len (st->next);
    guint8 *buf = g_malloc (len);
    gboolean ok;

    msg_fill (st->next, buf, len);
    ok = rtmfp_session_write (st->n->client.session, st->flow, buf, len,
        RTMFP_NO_DEADLINE, 0, now_of (st->n));
    g_free (buf);
    if (!ok)
      break;                    /* max_send_queue_bytes */
    st->next++;
  }
  rtmfp_sim_net_kick (st->n->sim);
}

static Stream *stream_current;

static gboolean
stream_delivered (Net * n)
{
  stream_pump (stream_current);
  return n->server.rx_msgs >= stream_current->total;
}

static void
stream_run (Net * n, RtmfpSendFlow * f, guint total, gint64 max_us)
{
  Stream st = { n, f, 0, total };

  stream_current = &st;
  stream_pump (&st);
  g_assert_true (run_until (n, stream_delivered, max_us));
  stream_current = NULL;
}

static void
get_stats (RtmfpEndpoint * ep, RtmfpEndpointStats * st)
{
  rtmfp_endpoint_get_stats (ep, st);
}

/* ------------------------------------------------------------------ */
/* Tampering                                                           */

/* Our endpoints negotiate HMAC and SSEQ both ways by default */
static void
check_protection (RtmfpSession * s)
{
  guint hs, hr;
  gboolean ss, sr;

  rtmfp_cipher_get_protection (_rtmfp_session_get_cipher (s), &hs, &hr, &ss,
      &sr);
  g_assert_cmpuint (hs, ==, 16);
  g_assert_cmpuint (hr, ==, 16);
  g_assert_true (ss);
  g_assert_true (sr);
}

/* Every 3rd client datagram is replaced by a forged copy (a flipped bit
 * in the cipher blocks or HMAC, a truncated or missing HMAC): each is
 * dropped and counted, the lost originals are retransmitted, and 300
 * messages arrive intact and in order over a session that stays up. */
static void
test_tamper (void)
{
  Net *n = net_new (11, NULL, NULL);
  RtmfpSendFlow *f;
  RtmfpEndpointStats st;

  check_protection (n->client.session);
  check_protection (n->server.session);

  n->tamper_every = 3;
  f = rtmfp_session_open_flow (n->client.session, flow_meta,
      sizeof (flow_meta), NULL);
  g_assert_nonnull (f);
  stream_run (n, f, 300, 120 * SEC);

  g_assert_false (n->server.rx_bad);
  g_assert_cmpuint (n->server.rx_msgs, ==, 300);
  {
    RtmfpSessionStats ss;
    rtmfp_session_get_stats (n->client.session, &ss);
    g_assert_cmpuint (ss.writes_refused, ==, 0);
  }
  g_assert_cmpuint (n->tampered, >=, 50);
  g_assert_cmpuint (n->injected, ==, n->tampered);
  get_stats (n->server.ep, &st);
  g_assert_cmpuint (st.dropped_undecodable, ==, n->tampered);
  g_assert_cmpuint (st.dropped_replay, ==, 0);
  g_assert_cmpuint (st.dropped_unknown_session, ==, 0);
  g_assert_cmpuint (st.dropped_malformed, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (n->client.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpuint (n->server.closed + n->client.closed, ==, 0);
  net_free (n);
}

/* rtmfp_cipher_decode_full tells forgeries from replays: with HMAC or
 * with the checksum only, a datagram is only a replay once it verified;
 * numbers older than the anti-replay window are replays too. */
static void
cipher_pair (guint hmac_len, RtmfpCipher ** tx, RtmfpCipher ** rx)
{
  RtmfpSessionKeys k;

  memset (&k, 0, sizeof (k));
  memset (k.encrypt_key, 0x11, sizeof (k.encrypt_key));
  memset (k.hmac_send_key, 0x22, sizeof (k.hmac_send_key));
  k.hmac_send_len = hmac_len;
  k.sseq_send = TRUE;
  *tx = rtmfp_cipher_new (&k);
  memset (&k, 0, sizeof (k));
  memset (k.decrypt_key, 0x11, sizeof (k.decrypt_key));
  memset (k.hmac_recv_key, 0x22, sizeof (k.hmac_recv_key));
  k.hmac_recv_len = hmac_len;
  k.sseq_recv = TRUE;
  *rx = rtmfp_cipher_new (&k);
}

static void
test_decode_status (void)
{
  static const guint hmac_lens[] = { 16, 0 };
  guint h;

  for (h = 0; h < G_N_ELEMENTS (hmac_lens); h++) {
    RtmfpCipher *tx, *rx;
    guint8 plain[64], dg[300][128], out[128], bad[128];
    gsize len[300], olen;
    guint i;

    cipher_pair (hmac_lens[h], &tx, &rx);
    for (i = 0; i < 300; i++) {
      memset (plain, i, sizeof (plain));
      plain[0] = RTMFP_MODE_INITIATOR;
      len[i] = rtmfp_cipher_encode (tx, 0x01020304, plain, 40, dg[i],
          sizeof (dg[i]));
      g_assert_cmpuint (len[i], >, 0);
    }
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[0], len[0], out,
            &olen), ==, RTMFP_DECODE_OK);
    g_assert_cmpuint (olen, >=, 40);
    memset (plain, 0, sizeof (plain));
    plain[0] = RTMFP_MODE_INITIATOR;
    g_assert_cmpmem (out, 40, plain, 40);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[0], len[0], out,
            &olen), ==, RTMFP_DECODE_REPLAY);
    g_assert_false (rtmfp_cipher_decode (rx, dg[0], len[0], out, &olen));
    /* a forged copy of a seen datagram is a forgery, not a replay */
    memcpy (bad, dg[0], len[0]);
    bad[len[0] - (hmac_lens[h] ? 20 : 3)] ^= 0x10;
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, bad, len[0], out, &olen),
        ==, hmac_lens[h] ? RTMFP_DECODE_BAD_HMAC : RTMFP_DECODE_BAD_CHECKSUM);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[1], len[1] - 1, out,
            &olen), ==, RTMFP_DECODE_BAD_LENGTH);
    /* a failed forgery does not burn the sequence number */
    memcpy (bad, dg[1], len[1]);
    bad[len[1] - (hmac_lens[h] ? 20 : 3)] ^= 0x01;
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, bad, len[1], out, &olen),
        !=, RTMFP_DECODE_OK);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[1], len[1], out,
            &olen), ==, RTMFP_DECODE_OK);
    /* far ahead, then the old ones: outside the window */
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[299], len[299], out,
            &olen), ==, RTMFP_DECODE_OK);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[2], len[2], out,
            &olen), ==, RTMFP_DECODE_REPLAY);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[200], len[200], out,
            &olen), ==, RTMFP_DECODE_OK);
    g_assert_cmpint (rtmfp_cipher_decode_full (rx, dg[200], len[200], out,
            &olen), ==, RTMFP_DECODE_REPLAY);
    rtmfp_cipher_free (tx);
    rtmfp_cipher_free (rx);
  }
}

/* ------------------------------------------------------------------ */
/* Replays                                                             */

/* Every client datagram also arrives as a copy injected before the
 * original (a duplicating, reordering attacker); later all of them are
 * replayed again, in order and backwards.  Exactly one copy of each is
 * accepted: every other one is dropped as a replay, nothing is delivered
 * twice. */
static void
test_replay (void)
{
  Net *n = net_new (12, NULL, NULL);
  RtmfpSendFlow *f;
  RtmfpEndpointStats st, st2;
  guint i, n_cap;

  n->race_copies = TRUE;
  n->capture = TRUE;
  f = rtmfp_session_open_flow (n->client.session, flow_meta,
      sizeof (flow_meta), NULL);
  stream_run (n, f, 200, 60 * SEC);
  n->race_copies = FALSE;
  n->capture = FALSE;
  run_for (n, 1 * SEC);

  get_stats (n->server.ep, &st);
  n_cap = n->captured->len;
  g_assert_cmpuint (n_cap, >=, 100);
  /* the originals, arriving after their copies, were the replays */
  g_assert_cmpuint (st.dropped_replay, ==, n_cap);
  g_assert_cmpuint (st.dropped_undecodable, ==, 0);
  g_assert_false (n->server.rx_bad);
  g_assert_cmpuint (n->server.rx_msgs, ==, 200);

  /* replayed wholesale, then backwards: all dropped (seen, or older than
   * the anti-replay window) */
  for (i = 0; i < n_cap; i++)
    g_ptr_array_add (n->pending, g_bytes_ref (g_ptr_array_index
            (n->captured, i)));
  for (i = n_cap; i > 0; i--)
    g_ptr_array_add (n->pending, g_bytes_ref (g_ptr_array_index
            (n->captured, i - 1)));
  inject_pending (n);
  run_for (n, 2 * SEC);
  get_stats (n->server.ep, &st2);
  g_assert_cmpuint (st2.dropped_replay - st.dropped_replay, ==, 2 * n_cap);
  g_assert_cmpuint (st2.dropped_undecodable, ==, 0);
  g_assert_cmpuint (n->server.rx_msgs, ==, 200);
  g_assert_false (n->server.rx_bad);
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (n->client.session), ==,
      RTMFP_SESSION_OPEN);
  net_free (n);
}

/* ------------------------------------------------------------------ */
/* IHello floods and amplification (no simulated network)             */

typedef struct {
  guint n;
  gsize bytes;
  guint n_rhello;
  guint n_redirect;
  GBytes *last;
} Sink;

static void
sink_send (const guint8 * data, gsize len, const RtmfpAddr * to, gpointer ud)
{
  Sink *k = ud;
  guint8 plain[4096];
  guint8 t = len <= sizeof (plain) ? startup_first_chunk (data, len, NULL,
      plain) : 0;

  k->n++;
  k->bytes += len;
  if (t == RTMFP_CHUNK_RHELLO)
    k->n_rhello++;
  if (t == RTMFP_CHUNK_REDIRECT)
    k->n_redirect++;
  g_clear_pointer (&k->last, g_bytes_unref);
  k->last = g_bytes_new (data, len);
}

static void
addr_n (RtmfpAddr * a, guint32 n)
{
  guint8 ip[4] = { 172, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff };
  rtmfp_addr_set_ipv4 (a, ip, 1024 + (n % 50000));
}

/* A startup datagram: flags (+ timestamp), one chunk */
static GBytes *
startup_dgram (gboolean ts, guint8 type, const guint8 * payload, gsize len)
{
  GByteArray *p = g_byte_array_new ();
  guint8 out[2048];
  gsize n;

  rtmfp_append_u8 (p, RTMFP_MODE_STARTUP | (ts ? RTMFP_PKT_FLAG_TS : 0));
  if (ts)
    rtmfp_append_u16 (p, 0x1234);
  rtmfp_chunk_append (p, type, payload, len);
  n = rtmfp_cipher_encode (default_cipher, 0, p->data, p->len, out,
      sizeof (out));
  g_assert_cmpuint (n, >, 0);
  g_byte_array_unref (p);
  return g_bytes_new (out, n);
}

static GBytes *
ihello_dgram (gboolean ts, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len)
{
  GByteArray *c = g_byte_array_new ();
  GBytes *b;

  rtmfp_append_vlu_bytes (c, epd, epd_len);
  rtmfp_append_bytes (c, tag, tag_len);
  b = startup_dgram (ts, RTMFP_CHUNK_IHELLO, c->data, c->len);
  g_byte_array_unref (c);
  return b;
}

/* Flash Player's IHello from the test vectors (52 bytes on the wire) */
static const guint8 flash_ihello[] = {
  0x7e, 0xc6, 0x0d, 0xab,
  0x48, 0xa2, 0xa6, 0x6b, 0x36, 0x64, 0xab, 0xc0, 0xaf, 0x23, 0xe0, 0xc8,
  0x96, 0x34, 0x11, 0x8f, 0x0d, 0x42, 0x38, 0x63, 0xf9, 0x88, 0xda, 0x53,
  0xac, 0x9c, 0x2f, 0x0b, 0xac, 0xbf, 0xb1, 0x23, 0x84, 0x47, 0xbf, 0x5b,
  0x9f, 0xf3, 0x05, 0xfa, 0xeb, 0x82, 0xf6, 0xd3, 0x1e, 0xaf, 0xee, 0x29,
};

/* The first datagram an endpoint sends when opening a session */
static GBytes *
capture_open (RtmfpIdentity * id, const guint8 * epd, gsize epd_len)
{
  Sink k = { 0 };
  RtmfpEndpointConfig cfg;
  RtmfpEndpoint *ep;
  RtmfpAddr to;
  GBytes *b;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = FALSE;
  ep = rtmfp_endpoint_new (&cfg, NULL, NULL, sink_send, &k);
  addr_n (&to, 424242);
  g_assert_nonnull (rtmfp_endpoint_open_session (ep, epd, epd_len, &to, 1,
          1000));
  g_assert_cmpuint (k.n, ==, 1);
  b = g_bytes_ref (k.last);
  g_clear_pointer (&k.last, g_bytes_unref);
  rtmfp_endpoint_free (ep);
  return b;
}

/* An endpoint sending into k; no allowance beyond the factor (the
 * factor alone bounds every single answer) unless `allowance` */
static RtmfpEndpoint *
lone_endpoint_full (RtmfpIdentity * id, Sink * k,
    const RtmfpEndpointCallbacks * cb, guint max_reassembly, guint allowance)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpoint *ep;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.startup_excess_bytes_per_sec = allowance;
  if (max_reassembly)
    cfg.max_reassembly_bytes = max_reassembly;
  ep = rtmfp_endpoint_new (&cfg, cb, NULL, sink_send, k);
  return ep;
}

static RtmfpEndpoint *
lone_endpoint (RtmfpIdentity * id, Sink * k,
    const RtmfpEndpointCallbacks * cb, guint max_reassembly)
{
  return lone_endpoint_full (id, k, cb, max_reassembly, 0);
}

typedef struct {
  GBytes *dgram;
  gboolean answered;            /* a legitimate one: must get an RHello */
} Kind;

/* 10,000 IHellos from as many spoofed addresses, of six kinds: a crafted
 * tag-less one (20 bytes, one AES block) that an RHello would amplify
 * more than 3x, and legitimate ones: the shortest a client sends (36
 * bytes: two AES blocks, the shortest EPD, an empty Ancillary Data, and a
 * 16-byte tag), Flash Player's, a bare foreign-style one with the
 * shortest URI, one with a fingerprint EPD, and our own (padded).  No
 * answer to any datagram exceeds 3x its size (the server-style ephemeral
 * certificate is small enough); the legitimate ones are all answered;
 * nothing is kept (no session, no reassembly, no timer). */
static void
test_ihello_flood (void)
{
  RtmfpIdentity *id = server_identity ();
  RtmfpIdentity *cid = client_identity ();
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (id, &k, NULL, 0);
  static const guint8 epd_min[] = { 0x01, 0x0a };       /* empty ancillary */
  guint8 tag[16];
  GByteArray *epd_uri = g_byte_array_new (), *epd_fp = g_byte_array_new ();
  Kind kinds[6];
  RtmfpEndpointStats st;
  guint i, n_answered = 0, n_refused = 0;
  gsize cert_len;

  memset (tag, 0x5a, sizeof (tag));
  rtmfp_epd_append_ancillary (epd_uri, "rtmfp://");
  rtmfp_epd_append_fingerprint (epd_fp, rtmfp_identity_get_fingerprint (id));
  kinds[0].dgram = ihello_dgram (FALSE, epd_min, sizeof (epd_min), NULL, 0);
  kinds[0].answered = FALSE;
  kinds[1].dgram = ihello_dgram (TRUE, epd_min, sizeof (epd_min), tag, 16);
  kinds[1].answered = TRUE;
  kinds[2].dgram = g_bytes_new_static (flash_ihello, sizeof (flash_ihello));
  kinds[2].answered = TRUE;
  kinds[3].dgram = ihello_dgram (FALSE, epd_uri->data, epd_uri->len, tag, 16);
  kinds[3].answered = TRUE;
  kinds[4].dgram = ihello_dgram (TRUE, epd_fp->data, epd_fp->len, tag, 16);
  kinds[4].answered = TRUE;
  {
    GByteArray *e = g_byte_array_new ();
    rtmfp_epd_append_ancillary (e, "rtmfp://a");
    kinds[5].dgram = capture_open (cid, e->data, e->len);
    g_byte_array_unref (e);
  }
  kinds[5].answered = TRUE;
  g_assert_cmpuint (g_bytes_get_size (kinds[0].dgram), ==, 20);
  g_assert_cmpuint (g_bytes_get_size (kinds[1].dgram), ==, 36);
  g_assert_cmpuint (g_bytes_get_size (kinds[3].dgram), ==, 52);
  g_assert_cmpuint (g_bytes_get_size (kinds[4].dgram), ==, 68);
  g_assert_cmpuint (g_bytes_get_size (kinds[5].dgram), ==,
      RTMFP_IHELLO_MIN_DATAGRAM_SIZE);
  /* what the answer mostly is: the certificate (ephemeral, 3 groups,
   * accepts ancillary, 16 bytes of extra randomness) */
  rtmfp_identity_get_certificate (id, &cert_len);
  g_assert_cmpuint (cert_len, ==, 29);

  for (i = 0; i < 10000; i++) {
    Kind *kd = &kinds[i % G_N_ELEMENTS (kinds)];
    gsize len, bytes0 = k.bytes;
    guint rh0 = k.n_rhello, n0 = k.n;
    const guint8 *d = g_bytes_get_data (kd->dgram, &len);
    RtmfpAddr from;

    addr_n (&from, i);
    rtmfp_endpoint_receive (ep, d, len, &from, 1000 + i * 10);
    g_assert_cmpuint (k.bytes - bytes0, <=, 3 * len);
    /* the 36-byte one: a 100-byte RHello */
    if (len == 36)
      g_assert_cmpuint (k.bytes - bytes0, ==, 100);
    if (kd->answered) {
      g_assert_cmpuint (k.n_rhello - rh0, ==, 1);
      g_assert_cmpuint (k.n - n0, ==, 1);
      n_answered++;
    } else {
      g_assert_cmpuint (k.n - n0, ==, 0);
      n_refused++;
    }
  }
  get_stats (ep, &st);
  g_assert_cmpuint (st.ihellos_received, ==, 10000);
  g_assert_cmpuint (st.rhellos_sent, ==, n_answered);
  g_assert_cmpuint (st.replies_refused, ==, n_refused);
  g_assert_cmpuint (st.dropped_undecodable + st.dropped_malformed, ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (ep), ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (ep), ==, 0);
  g_assert_cmpint (rtmfp_endpoint_next_timeout (ep), ==, -1);

  for (i = 0; i < G_N_ELEMENTS (kinds); i++)
    g_bytes_unref (kinds[i].dgram);
  g_clear_pointer (&k.last, g_bytes_unref);
  g_byte_array_unref (epd_uri);
  g_byte_array_unref (epd_fp);
  rtmfp_endpoint_free (ep);
  rtmfp_identity_unref (id);
  rtmfp_identity_unref (cid);
}

/* A server with static keys (rtmfp-server --identity: a 590-byte
 * certificate) and the default allowance: a spoofed flood of the
 * shortest IHellos (36 bytes, 10,000 of them within one simulated second,
 * from as many addresses) gets answers totalling at most 3x the flood
 * plus the allowance (one second's worth to start, plus one per second
 * elapsed); once the flood stops and the allowance has refilled, Flash
 * Player's IHello (52 bytes, answered only over the factor) is answered
 * again. */
static void
test_ihello_flood_static (void)
{
  RtmfpIdentity *id = rtmfp_identity_new_server_static (NULL, 0);
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint_full (id, &k, NULL, 0,
      RTMFP_DEFAULT_STARTUP_EXCESS_BYTES_PER_SEC);
  static const guint8 epd_min[] = { 0x01, 0x0a };
  guint8 tag[16];
  GBytes *b = NULL;
  RtmfpEndpointStats st;
  gsize len, in = 0, cert_len;
  const guint8 *d;
  RtmfpAddr from;
  gint64 t = 1000;
  guint i, rh;

  rtmfp_identity_get_certificate (id, &cert_len);
  g_assert_cmpuint (cert_len, ==, 590);
  memset (tag, 0x11, sizeof tag);
  b = ihello_dgram (TRUE, epd_min, sizeof epd_min, tag, 16);
  d = g_bytes_get_data (b, &len);
  g_assert_cmpuint (len, ==, 36);
  for (i = 0; i < 10000; i++) {
    addr_n (&from, i);
    t = 1000 + (gint64) i * 100;        /* 10,000 per second */
    rtmfp_endpoint_receive (ep, d, len, &from, t);
    in += len;
  }
  get_stats (ep, &st);
  /* the bound, exactly as documented */
  g_assert_cmpuint (k.bytes, <=, 3 * in +
      RTMFP_DEFAULT_STARTUP_EXCESS_BYTES_PER_SEC *
      (1 + (t - 1000) / (gdouble) SEC));
  /* ... and it is what limited them: most of the flood went unanswered */
  g_assert_cmpuint (st.rhellos_sent, ==, st.replies_over_factor);
  g_assert_cmpuint (st.rhellos_sent, >, 10);
  g_assert_cmpuint (st.rhellos_sent, <, 100);
  g_assert_cmpuint (st.replies_refused, ==, 10000 - st.rhellos_sent);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (ep), ==, 0);

  /* a second later: a legitimate unpadded IHello is answered again */
  rh = k.n_rhello;
  addr_n (&from, 424242);
  rtmfp_endpoint_receive (ep, flash_ihello, sizeof flash_ihello, &from,
      t + SEC);
  g_assert_cmpuint (k.n_rhello, ==, rh + 1);

  g_bytes_unref (b);
  g_clear_pointer (&k.last, g_bytes_unref);
  rtmfp_endpoint_free (ep);
  rtmfp_identity_unref (id);
}

/* P2P: a peer with static keys for groups 14, 5, 2 (a 600-byte
 * certificate) answers our (padded) IHello within 3x, and refuses an
 * unpadded 68-byte one rather than send it a 10x larger RHello; with the
 * limit off (max_startup_amplification 0) it answers that one too. */
static void
test_ihello_static_peer (void)
{
  static const guint groups[] = { 14, 5, 2 };
  RtmfpIdentity *peer_id = rtmfp_identity_new_static (groups, 3);
  RtmfpIdentity *cid = client_identity ();
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (peer_id, &k, NULL, 0);
  RtmfpEndpointConfig cfg;
  GByteArray *epd = g_byte_array_new ();
  GBytes *ours, *bare;
  guint8 tag[16] = { 1, 2, 3 };
  const guint8 *d;
  gsize len;
  RtmfpAddr from;
  RtmfpEndpointStats st;

  rtmfp_epd_append_fingerprint (epd,
      rtmfp_identity_get_fingerprint (peer_id));
  ours = capture_open (cid, epd->data, epd->len);
  bare = ihello_dgram (TRUE, epd->data, epd->len, tag, sizeof (tag));

  addr_n (&from, 1);
  d = g_bytes_get_data (ours, &len);
  rtmfp_endpoint_receive (ep, d, len, &from, 1000);
  g_assert_cmpuint (k.n_rhello, ==, 1);
  g_assert_cmpuint (k.bytes, >, 500);
  g_assert_cmpuint (k.bytes, <=, 3 * len);

  addr_n (&from, 2);
  d = g_bytes_get_data (bare, &len);
  g_assert_cmpuint (len, ==, 68);
  rtmfp_endpoint_receive (ep, d, len, &from, 2000);
  g_assert_cmpuint (k.n_rhello, ==, 1);
  get_stats (ep, &st);
  g_assert_cmpuint (st.replies_refused, ==, 1);
  rtmfp_endpoint_free (ep);

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = peer_id;
  cfg.max_startup_amplification = 0;
  ep = rtmfp_endpoint_new (&cfg, NULL, NULL, sink_send, &k);
  rtmfp_endpoint_receive (ep, d, len, &from, 3000);
  g_assert_cmpuint (k.n_rhello, ==, 2);
  rtmfp_endpoint_free (ep);

  g_clear_pointer (&k.last, g_bytes_unref);
  g_bytes_unref (ours);
  g_bytes_unref (bare);
  g_byte_array_unref (epd);
  rtmfp_identity_unref (peer_id);
  rtmfp_identity_unref (cid);
}

/* A redirector answering IHellos for other endpoints with 16 IPv6
 * addresses: its Redirect is trimmed to what 3x the IHello allows (at
 * least one address), the tag echoed; a Redirect sent outside of any
 * datagram's processing is not limited. */
static RtmfpAddr redirect_addrs[16];

static void
redirect_other (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, redirect_addrs, 16);
}

static guint
redirect_n_addrs (Sink * k, gsize tag_len)
{
  guint8 plain[4096];
  RtmfpChunk ch;
  RtmfpRedirectChunk rc;
  gsize l;
  const guint8 *d = g_bytes_get_data (k->last, &l);

  g_assert_cmpint (startup_first_chunk (d, l, &ch, plain), ==,
      RTMFP_CHUNK_REDIRECT);
  g_assert_true (rtmfp_redirect_chunk_parse (ch.data, ch.len, &rc));
  g_assert_cmpuint (rc.tag_echo_len, ==, tag_len);
  return rc.n_addrs;
}

static void
test_redirect_amplification (void)
{
  static const RtmfpEndpointCallbacks cb = {.ihello_other = redirect_other };
  static const guint8 epd_other[] = { 0x02, 0x00, 'x' };        /* hostname */
  RtmfpIdentity *id = server_identity ();
  Sink k = { 0 };
  RtmfpEndpoint *ep = lone_endpoint (id, &k, &cb, 0);
  guint8 tag[16] = { 7 };
  GBytes *tiny, *normal;
  RtmfpAddr from;
  RtmfpEndpointStats st;
  const guint8 *d;
  gsize len, b0;
  guint i, n;

  for (i = 0; i < 16; i++) {
    guint8 ip6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    ip6[15] = i + 1;
    rtmfp_addr_set_ipv6 (&redirect_addrs[i], ip6, 1935);
  }
  tiny = ihello_dgram (FALSE, epd_other, sizeof (epd_other), NULL, 0);
  normal = ihello_dgram (TRUE, epd_other, sizeof (epd_other), tag, 16);

  addr_n (&from, 1);
  d = g_bytes_get_data (tiny, &len);
  g_assert_cmpuint (len, ==, 20);
  rtmfp_endpoint_receive (ep, d, len, &from, 1000);
  g_assert_cmpuint (k.n_redirect, ==, 1);
  g_assert_cmpuint (k.bytes, <=, 3 * len);
  n = redirect_n_addrs (&k, 0);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (n, <, 16);

  addr_n (&from, 2);
  b0 = k.bytes;
  d = g_bytes_get_data (normal, &len);
  rtmfp_endpoint_receive (ep, d, len, &from, 2000);
  g_assert_cmpuint (k.n_redirect, ==, 2);
  g_assert_cmpuint (k.bytes - b0, <=, 3 * len);
  g_assert_cmpuint (redirect_n_addrs (&k, 16), <, 16);
  get_stats (ep, &st);
  g_assert_cmpuint (st.replies_refused, ==, 2);
  g_assert_cmpuint (st.redirects_sent, ==, 2);

  /* not answering a datagram: all 16 */
  rtmfp_endpoint_send_redirect (ep, &from, tag, 16, redirect_addrs, 16);
  g_assert_cmpuint (redirect_n_addrs (&k, 16), ==, 16);

  g_clear_pointer (&k.last, g_bytes_unref);
  g_bytes_unref (tiny);
  g_bytes_unref (normal);
  rtmfp_endpoint_free (ep);
  rtmfp_identity_unref (id);
}

/* ------------------------------------------------------------------ */
/* Spoofed IIKeying                                                    */

static GBytes *
iikeying_variant (GBytes * genuine, GRand * rand, guint i, gboolean keep_cookie)
{
  guint8 plain[4096], cookie[128];
  RtmfpChunk ch;
  RtmfpIIKeyingChunk c;
  GByteArray *p;
  GBytes *b;
  gsize l;
  const guint8 *d = g_bytes_get_data (genuine, &l);

  g_assert_cmpint (startup_first_chunk (d, l, &ch, plain), ==,
      RTMFP_CHUNK_IIKEYING);
  g_assert_true (rtmfp_iikeying_chunk_parse (ch.data, ch.len, &c));
  c.initiator_session_id = g_rand_int (rand) | 1;
  if (!keep_cookie) {
    guint j;
    /* garbage of assorted lengths, or a right-length cookie with its
     * authenticator (A, bytes 4-19) off by a bit; a cookie whose A holds
     * and B does not is ours for another address: a Cookie Change */
    if (i % 2) {
      c.cookie_len = g_rand_int_range (rand, 0, sizeof (cookie));
      for (j = 0; j < c.cookie_len; j++)
        cookie[j] = g_rand_int (rand);
    } else {
      memcpy (cookie, c.cookie, c.cookie_len);
      cookie[g_rand_int_range (rand, 4, 20)] ^= 1 << (i % 8);
    }
    c.cookie = cookie;
  }
  p = g_byte_array_new ();
  rtmfp_iikeying_chunk_append (p, &c);
  /* the chunk header is already in p: strip it for startup_dgram */
  b = startup_dgram (TRUE, RTMFP_CHUNK_IIKEYING, p->data + 3, p->len - 3);
  g_byte_array_unref (p);
  return b;
}

/* 1000 IIKeyings with forged cookies from spoofed addresses: no session,
 * no answer, all counted.  The genuine IIKeying replayed from 100 other
 * addresses: only a Cookie Change each (3.5.1.2, smaller than the
 * IIKeying), no session. */
static void
test_spoofed_iikeying (void)
{
  Net *n = net_new (13, NULL, NULL);
  RtmfpEndpointStats st0, st;
  guint i;
  gsize req_bytes = 0;

  g_assert_nonnull (n->iikeying);
  get_stats (n->server.ep, &st0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (n->server.ep), ==, 1);

  for (i = 0; i < 1000; i++) {
    GBytes *b = iikeying_variant (n->iikeying, n->rand, i, FALSE);
    RtmfpAddr from;
    gsize l;
    const guint8 *d = g_bytes_get_data (b, &l);

    addr_n (&from, i);
    rtmfp_endpoint_receive (n->server.ep, d, l, &from, now_of (n));
    g_bytes_unref (b);
  }
  rtmfp_sim_net_kick (n->sim);
  run_for (n, 1 * SEC);
  get_stats (n->server.ep, &st);
  g_assert_cmpuint (st.cookies_rejected - st0.cookies_rejected, ==, 1000);
  g_assert_cmpuint (st.sessions_opened, ==, st0.sessions_opened);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (n->server.ep), ==, 1);
  g_assert_cmpuint (n->to_spoofed_n, ==, 0);

  for (i = 0; i < 100; i++) {
    RtmfpAddr from;
    gsize l;
    const guint8 *d = g_bytes_get_data (n->iikeying, &l);

    addr_n (&from, 5000 + i);
    rtmfp_endpoint_receive (n->server.ep, d, l, &from, now_of (n));
    req_bytes += l;
  }
  rtmfp_sim_net_kick (n->sim);
  run_for (n, 1 * SEC);
  get_stats (n->server.ep, &st);
  g_assert_cmpuint (st.cookies_rejected - st0.cookies_rejected, ==, 1100);
  g_assert_cmpuint (st.sessions_opened, ==, st0.sessions_opened);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (n->server.ep), ==, 1);
  g_assert_cmpuint (n->to_spoofed_n, ==, 100);
  g_assert_cmpuint (n->first_type_to_spoofed, ==, RTMFP_CHUNK_COOKIE_CHANGE);
  g_assert_cmpuint (n->to_spoofed_bytes, <=, req_bytes);
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);
  net_free (n);
}

/* ------------------------------------------------------------------ */
/* Hostile raw packets inside an open session                         */

/* Sends plain chunks as the client, under its session keys (so they are
 * authentic): what a malicious but keyed far end can do. */
static void
raw_send (Net * n, GByteArray * chunks)
{
  RtmfpSession *s = n->client.session;
  GByteArray *p = g_byte_array_new ();

  rtmfp_append_u8 (p, RTMFP_MODE_INITIATOR);
  g_byte_array_append (p, chunks->data, chunks->len);
  g_assert_cmpuint (p->len, <=, RTMFP_MAX_PLAIN_SIZE);
  _rtmfp_endpoint_transmit (n->client.ep, _rtmfp_session_get_cipher (s),
      _rtmfp_session_get_far_id (s), p->data, p->len,
      rtmfp_session_get_far_address (s));
  g_byte_array_unref (p);
  rtmfp_sim_net_kick (n->sim);
}

static void
raw_user_data (GByteArray * out, guint64 flow_id, guint64 seq, guint8 fra,
    gboolean with_meta, const guint8 * data, gsize len)
{
  RtmfpUserDataChunk c;
  GByteArray *opts = g_byte_array_new ();

  memset (&c, 0, sizeof (c));
  c.flags = fra;
  c.flow_id = flow_id;
  c.seq = seq;
  c.fsn_offset = seq;           /* FSN 0: nothing before was abandoned */
  if (with_meta) {
    rtmfp_option_append (opts, RTMFP_UD_OPT_METADATA, flow_meta,
        sizeof (flow_meta));
    rtmfp_marker_append (opts);
    c.options = opts->data;
    c.options_len = opts->len;
  }
  c.data = data;
  c.len = len;
  rtmfp_user_data_chunk_append (out, FALSE, &c);
  g_byte_array_unref (opts);
}

/* max_recv_flows_per_session = 8.  An honest client opening 20 flows:
 * 8 are accepted, the 12 others get a Flow Exception Report (code 0) and
 * complete on the client; the session stays up; once accepted flows
 * finished, new flows are accepted again.  Then a hostile client opening
 * 2000 flows in a burst: never more than 8 exist, all refused ones are
 * counted, the session stays up. */
static void
test_flows_per_session (void)
{
  RtmfpEndpointConfig scfg;
  Net *n;
  RtmfpSendFlow *f[20], *g;
  RtmfpEndpointStats st;
  RtmfpSessionStats ss;
  guint i, n_done;

  rtmfp_endpoint_config_init (&scfg);
  scfg.max_recv_flows_per_session = 8;
  n = net_new (14, &scfg, NULL);
  n->server.unordered = TRUE;

  for (i = 0; i < 20; i++) {
    gsize len = msg_len (i);
    guint8 *buf = g_malloc (len);
    msg_fill (i, buf, len);
    f[i] = rtmfp_session_open_flow (n->client.session, flow_meta,
        sizeof (flow_meta), NULL);
    g_assert_nonnull (f[i]);
    g_assert_true (rtmfp_session_write (n->client.session, f[i], buf, len,
            RTMFP_NO_DEADLINE, 0, now_of (n)));
    g_free (buf);
  }
  rtmfp_sim_net_kick (n->sim);
  run_for (n, 5 * SEC);

  g_assert_cmpuint (n->server.rflows->len, ==, 8);
  g_assert_cmpuint (n->client.exceptions, ==, 12);
  n_done = 0;
  for (i = 0; i < n->client.exc_flows->len; i++) {
    RtmfpSendFlow *x = g_ptr_array_index (n->client.exc_flows, i);
    if (rtmfp_send_flow_is_complete (x))
      n_done++;
  }
  g_assert_cmpuint (n_done, ==, 12);
  get_stats (n->server.ep, &st);
  g_assert_cmpuint (st.recv_flows_refused, >=, 12);
  rtmfp_session_get_stats (n->server.session, &ss);
  g_assert_cmpuint (ss.recv_flows_refused, ==, st.recv_flows_refused);
  g_assert_cmpuint (ss.n_recv_flows, ==, 8);
  /* accepted flows delivered (in whatever order of flows) */
  g_assert_cmpuint (n->server.rx_msgs, ==, 8);
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);

  /* the client finishes its flows; after the receivers' linger, room */
  for (i = 0; i < 20; i++)
    rtmfp_session_close_flow (n->client.session, f[i], now_of (n));
  run_for (n, 125 * SEC);
  rtmfp_session_get_stats (n->server.session, &ss);
  g_assert_cmpuint (ss.n_recv_flows, ==, 0);
  g = rtmfp_session_open_flow (n->client.session, flow_meta,
      sizeof (flow_meta), NULL);
  {
    gsize len = msg_len (0);
    guint8 *buf = g_malloc (len);
    msg_fill (0, buf, len);
    n->server.rx_next = 0;
    g_assert_true (rtmfp_session_write (n->client.session, g, buf, len,
            RTMFP_NO_DEADLINE, 0, now_of (n)));
    g_free (buf);
  }
  run_for (n, 2 * SEC);
  g_assert_cmpuint (n->server.rflows->len, ==, 9);
  g_assert_cmpuint (n->server.rx_msgs, ==, 9);
  g_assert_false (n->server.rx_bad);

  /* hostile: 2000 new flows, 40 per packet */
  get_stats (n->server.ep, &st);
  for (i = 0; i < 50; i++) {
    GByteArray *c = g_byte_array_new ();
    guint j;
    for (j = 0; j < 40; j++)
      raw_user_data (c, 1000 + i * 40 + j, 1, RTMFP_UD_FRA_WHOLE, TRUE,
          (const guint8 *) "x", 1);
    raw_send (n, c);
    g_byte_array_unref (c);
    run_for (n, 20 * MS);
    rtmfp_session_get_stats (n->server.session, &ss);
    g_assert_cmpuint (ss.n_recv_flows, <=, 8);
  }
  run_for (n, 1 * SEC);
  rtmfp_session_get_stats (n->server.session, &ss);
  g_assert_cmpuint (ss.n_recv_flows, ==, 8);
  g_assert_cmpuint (n->server.rflows->len, ==, 9 + 7);
  {
    RtmfpEndpointStats st2;
    get_stats (n->server.ep, &st2);
    g_assert_cmpuint (st2.recv_flows_refused - st.recv_flows_refused, ==,
        2000 - 7);
  }
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (n->client.session), ==,
      RTMFP_SESSION_OPEN);
  net_free (n);
}

/* A peer that opens flows and never completes a message, sending
 * fragments far beyond the advertised window: each flow buffers at most
 * about twice its capacity (recv_flow_buffer_bytes), the number of flows
 * is bounded, the excess is dropped and counted; the session stays up. */
static void
test_fragment_flood (void)
{
  RtmfpEndpointConfig scfg;
  Net *n;
  guint8 frag[1000];
  guint i, j;
  gsize total = 0, bound;
  guint64 dropped = 0;
  const gsize cap = 32 * 1024;

  rtmfp_endpoint_config_init (&scfg);
  scfg.max_recv_flows_per_session = 16;
  scfg.recv_flow_buffer_bytes = cap;
  n = net_new (15, &scfg, NULL);
  memset (frag, 0xee, sizeof (frag));

  /* 24 flows x 300 fragments of 1000 bytes: 7.2 MB, never a message end */
  for (i = 1; i <= 300; i++) {
    GByteArray *c = g_byte_array_new ();
    for (j = 0; j < 24; j++) {
      if (c->len > 0 && c->len + sizeof (frag) + 32 > RTMFP_MAX_PLAIN_SIZE) {
        raw_send (n, c);
        g_byte_array_set_size (c, 0);
      }
      raw_user_data (c, 100 + j, i, i == 1 ? RTMFP_UD_FRA_BEGIN :
          RTMFP_UD_FRA_MIDDLE, i == 1, frag, sizeof (frag));
    }
    raw_send (n, c);
    g_byte_array_unref (c);
    run_for (n, 5 * MS);
  }
  run_for (n, 1 * SEC);

  g_assert_cmpuint (n->server.rflows->len, ==, 16);
  for (i = 0; i < n->server.rflows->len; i++) {
    RtmfpRecvFlow *rf = g_ptr_array_index (n->server.rflows, i);
    RtmfpRecvFlowStats rs;
    total += rtmfp_recv_flow_get_buffered_size (rf);
    rtmfp_recv_flow_get_stats (rf, &rs);
    dropped += rs.fragments_dropped;
  }
  bound = 16 * (2 * cap + 2 * RTMFP_MAX_PLAIN_SIZE);
  g_assert_cmpuint (total, <=, bound);
  g_assert_cmpuint (total, >=, 16 * cap);       /* it did buffer */
  g_assert_cmpuint (dropped, >, 16 * 200);
  g_assert_cmpuint (n->server.rx_msgs, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (n->server.session), ==,
      RTMFP_SESSION_OPEN);
  net_free (n);
}

/* Startup fragment reassembly (3.4) under a flood of never completed
 * packets: max_reassembly_bytes holds at every step; a genuine fragmented
 * IHello still reassembles and is answered, within 3x of its fragments. */
static GBytes *
fragment_dgram (guint64 packet_id, guint64 num, gboolean more,
    const guint8 * data, gsize len)
{
  RtmfpFragmentChunk fc;
  GByteArray *p = g_byte_array_new ();
  GBytes *b;

  fc.more = more;
  fc.packet_id = packet_id;
  fc.fragment_num = num;
  fc.data = data;
  fc.len = len;
  rtmfp_fragment_chunk_append (p, &fc);
  b = startup_dgram (FALSE, RTMFP_CHUNK_FRAGMENT, p->data + 3, p->len - 3);
  g_byte_array_unref (p);
  return b;
}

static void
test_reassembly_limit (void)
{
  RtmfpIdentity *id = server_identity ();
  Sink k = { 0 };
  const guint limit = 16 * 1024;
  RtmfpEndpoint *ep = lone_endpoint (id, &k, NULL, limit);
  RtmfpEndpointStats st;
  guint8 junk[1000];
  GByteArray *whole, *epd = g_byte_array_new ();
  RtmfpIHelloChunk ic;
  guint8 tag[16] = { 9 };
  RtmfpAddr from;
  guint i;
  gsize req = 0, l;
  GBytes *b;
  const guint8 *d;

  memset (junk, 0x42, sizeof (junk));
  for (i = 0; i < 2000; i++) {
    addr_n (&from, i % 200);
    b = fragment_dgram (i, i % 3, TRUE, junk, sizeof (junk));
    d = g_bytes_get_data (b, &l);
    rtmfp_endpoint_receive (ep, d, l, &from, 1000 + i * 10);
    g_bytes_unref (b);
    g_assert_cmpuint (rtmfp_endpoint_get_reassembly_bytes (ep), <=, limit);
  }
  get_stats (ep, &st);
  g_assert_cmpuint (st.reassembly_evictions, >, 1900);
  g_assert_cmpuint (rtmfp_endpoint_get_n_reassemblies (ep), <=, 16);
  g_assert_cmpuint (k.n, ==, 0);

  /* a packet larger than the limit never completes */
  addr_n (&from, 300);
  for (i = 0; i < 20; i++) {
    b = fragment_dgram (77777, i, i < 19, junk, sizeof (junk));
    d = g_bytes_get_data (b, &l);
    rtmfp_endpoint_receive (ep, d, l, &from, 30000 + i);
    g_bytes_unref (b);
    g_assert_cmpuint (rtmfp_endpoint_get_reassembly_bytes (ep), <=, limit);
  }
  g_assert_cmpuint (k.n, ==, 0);

  /* a genuine IHello in two fragments */
  rtmfp_epd_append_ancillary (epd, SERVER_URI);
  whole = g_byte_array_new ();
  rtmfp_append_u8 (whole, RTMFP_MODE_STARTUP);
  ic.epd = epd->data;
  ic.epd_len = epd->len;
  ic.tag = tag;
  ic.tag_len = sizeof (tag);
  rtmfp_ihello_chunk_append (whole, &ic);
  addr_n (&from, 400);
  for (i = 0; i < 2; i++) {
    gsize half = whole->len / 2;
    b = fragment_dgram (5, i, i == 0, whole->data + i * half,
        i == 0 ? half : whole->len - half);
    d = g_bytes_get_data (b, &l);
    req += l;
    rtmfp_endpoint_receive (ep, d, l, &from, 40000 + i);
    g_bytes_unref (b);
  }
  g_assert_cmpuint (k.n_rhello, ==, 1);
  g_assert_cmpuint (k.bytes, <=, 3 * req);

  g_clear_pointer (&k.last, g_bytes_unref);
  g_byte_array_unref (whole);
  g_byte_array_unref (epd);
  rtmfp_endpoint_free (ep);
  rtmfp_identity_unref (id);
}

/* ------------------------------------------------------------------ */
/* Send queue bounds                                                   */

/* The server's packets stop reaching the client (it never acknowledges):
 * the client application keeps writing 4 KiB every 10 ms, its flow never
 * holds more than max_send_queue_bytes (writes refused past it), and the
 * idle timeout closes the session 30 s after the last packet came in. */
static void
test_never_acks (void)
{
  RtmfpEndpointConfig ccfg;
  Net *n;
  RtmfpSendFlow *f;
  RtmfpSessionStats ss;
  const gsize max_q = 64 * 1024;
  guint8 buf[4096];
  guint ok = 0, refused = 0, i;
  gint64 t0;

  rtmfp_endpoint_config_init (&ccfg);
  ccfg.max_send_queue_bytes = max_q;
  ccfg.keepalive_us = 10 * SEC;
  ccfg.idle_timeout_us = 30 * SEC;
  n = net_new (16, NULL, &ccfg);
  f = rtmfp_session_open_flow (n->client.session, flow_meta,
      sizeof (flow_meta), NULL);
  memset (buf, 0x11, sizeof (buf));
  g_assert_true (rtmfp_session_write (n->client.session, f, buf, 100,
          RTMFP_NO_DEADLINE, 0, now_of (n)));
  run_for (n, 1 * SEC);

  n->drop_s2c = TRUE;
  t0 = now_of (n);
  for (i = 0; i < 6000; i++) {
    if (rtmfp_session_get_state (n->client.session) != RTMFP_SESSION_OPEN)
      break;
    if (rtmfp_session_write (n->client.session, f, buf, sizeof (buf),
            RTMFP_NO_DEADLINE, 0, now_of (n)))
      ok++;
    else
      refused++;
    g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (f), <=, max_q);
    run_for (n, 10 * MS);
  }
  g_assert_cmpuint (ok, ==, max_q / sizeof (buf));
  g_assert_cmpuint (refused, >, 2000);
  rtmfp_session_get_stats (n->client.session, &ss);
  g_assert_cmpuint (ss.writes_refused, ==, refused);
  g_assert_cmpuint (n->s2c_dropped, >, 0);
  /* closed for silence, 30 s after the last datagram came in */
  g_assert_cmpint (rtmfp_session_get_state (n->client.session), ==,
      RTMFP_SESSION_CLOSED);
  g_assert_cmpuint (n->client.closed, ==, 1);
  g_assert_cmpint (n->client.close_error, ==, RTMFP_SESSION_ERROR_IDLE);
  g_assert_cmpint (n->client.closed_at - t0, <=, 30 * SEC);
  g_assert_cmpint (n->client.closed_at - t0, >=, 29 * SEC);
  g_assert_false (rtmfp_session_write (n->client.session, f, buf, 1,
          RTMFP_NO_DEADLINE, 0, now_of (n)));
  net_free (n);
}

/* The server acknowledges but never consumes (its flow is paused): the
 * client's queue stays within max_send_queue_bytes (writes refused), the
 * server's buffer within its capacity; once the server resumes, the
 * client hears send_flow_writable and everything arrives intact. */
static gboolean
server_got_all (Net * n)
{
  return n->server.rx_msgs >= stream_current->next;
}

static void
test_never_consumes (void)
{
  RtmfpEndpointConfig ccfg, scfg;
  Net *n;
  Stream st;
  RtmfpRecvFlow *rf;
  const gsize max_q = 64 * 1024, cap = 32 * 1024;
  guint refused = 0, i;

  rtmfp_endpoint_config_init (&ccfg);
  ccfg.max_send_queue_bytes = max_q;
  rtmfp_endpoint_config_init (&scfg);
  scfg.recv_flow_buffer_bytes = cap;
  n = net_new (17, &scfg, &ccfg);
  n->server.pause_flows = TRUE;
  st.n = n;
  st.flow = rtmfp_session_open_flow (n->client.session, flow_meta,
      sizeof (flow_meta), NULL);
  st.next = 0;
  st.total = G_MAXUINT;

  for (i = 0; i < 2000; i++) {
    gsize len = msg_len (st.next);
    guint8 *buf = g_malloc (len);
    msg_fill (st.next, buf, len);
    if (rtmfp_session_write (n->client.session, st.flow, buf, len,
            RTMFP_NO_DEADLINE, 0, now_of (n)))
      st.next++;
    else
      refused++;
    g_free (buf);
    g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (st.flow), <=, max_q);
    run_for (n, 10 * MS);
  }
  g_assert_cmpuint (refused, >, 1000);
  g_assert_cmpuint (n->server.rflows->len, ==, 1);
  rf = g_ptr_array_index (n->server.rflows, 0);
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), <=,
      2 * cap + 2 * RTMFP_MAX_PLAIN_SIZE);
  g_assert_cmpuint (n->server.rx_msgs, ==, 0);
  g_assert_cmpuint (n->client.writable, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (n->client.session), ==,
      RTMFP_SESSION_OPEN);

  /* the server consumes again: what was queued arrives, the client hears
   * it may write, and 100 more messages follow */
  rtmfp_recv_flow_set_paused (rf, FALSE);
  rtmfp_sim_net_kick (n->sim);
  stream_current = &st;
  g_assert_true (run_until (n, server_got_all, 60 * SEC));
  run_for (n, 1 * SEC);         /* the last acknowledgements */
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (st.flow), ==, 0);
  g_assert_cmpuint (n->client.writable, ==, 1);
  st.total = st.next + 100;
  g_assert_true (run_until (n, stream_delivered, 60 * SEC));
  stream_current = NULL;
  g_assert_cmpuint (n->server.rx_msgs, ==, st.total);
  g_assert_false (n->server.rx_bad);
  net_free (n);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  default_cipher = rtmfp_cipher_new_default ();

  g_test_add_func ("/hostile/decode-status", test_decode_status);
  g_test_add_func ("/hostile/tamper", test_tamper);
  g_test_add_func ("/hostile/replay", test_replay);
  g_test_add_func ("/hostile/ihello-flood", test_ihello_flood);
  g_test_add_func ("/hostile/ihello-static-peer", test_ihello_static_peer);
  g_test_add_func ("/hostile/ihello-flood-static", test_ihello_flood_static);
  g_test_add_func ("/hostile/redirect-amplification",
      test_redirect_amplification);
  g_test_add_func ("/hostile/spoofed-iikeying", test_spoofed_iikeying);
  g_test_add_func ("/hostile/flows-per-session", test_flows_per_session);
  g_test_add_func ("/hostile/fragment-flood", test_fragment_flood);
  g_test_add_func ("/hostile/reassembly-limit", test_reassembly_limit);
  g_test_add_func ("/hostile/never-acks", test_never_acks);
  g_test_add_func ("/hostile/never-consumes", test_never_consumes);

  ret = g_test_run ();
  rtmfp_cipher_free (default_cipher);
  return ret;
}
