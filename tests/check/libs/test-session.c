/* Session tests (RFC 7016 3.5, 3.6) on the simulated network: a real
 * handshake between two endpoints, then transfers, loss, reordering,
 * duplication, partial reliability, congestion response, address
 * mobility, the close handshake, keepalive / dead peer detection and RTT
 * measurement through the timestamp echo.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "test-session"

#include <string.h>

#include "rtmfpsimnet.h"
#include "rtmfpsession.h"
#include "rtmfpsessionpriv.h"     /* the session ciphers, to read the wire */
#include "rtmfpcrypto.h"
#include "rtmfppacket.h"

#define SERVER_ADDR "10.0.0.1:1935"
#define CLIENT_ADDR "10.0.0.2:50000"
#define CLIENT_ADDR_MOVED "10.0.0.3:40000"

#define MS (G_TIME_SPAN_MILLISECOND)
#define SEC (G_TIME_SPAN_SECOND)

typedef struct _Fixture Fixture;

typedef struct {
  Fixture *fx;
  RtmfpSimHost *host;
  RtmfpSession *session;        /* ref */
  RtmfpSession *session2;       /* a second session (server), ref */

  guint opened;
  guint closed;
  guint open_failed;
  guint addr_changed;
  guint flows_opened;
  guint writable;
  guint exceptions;
  guint64 exception_code;
  gint64 closed_at;
  gint closed_error;            /* error code at close, -1 for none */
  RtmfpSessionState state_at_close;
  gboolean reject_flows;
  gboolean accept_any;          /* no metadata check (injected flows) */
  gboolean close_in_flow_opened;
  guint64 abort_after_msgs;     /* 0: never */
  gboolean unref_in_closed;
  gsize rx_capacity;            /* 0: default */
  gboolean rx_paused;
  RtmfpSendFlow *last_assoc;

  /* receiving side */
  RtmfpRecvFlow *rflow;
  gboolean partial;             /* messages carry index + send time */
  guint64 rx_next;              /* reliable: next expected message index */
  guint64 rx_msgs;
  guint64 rx_bytes;
  guint64 rx_gap_events;
  guint64 rx_gap_total;
  gboolean rx_bad;
  gboolean rx_complete;
  gint64 rx_last_index;         /* partial: last delivered index */
  gint64 max_latency;
  GArray *delivery_times;       /* gint64 */
  gboolean live;                /* messages carry index + send time; any
                                 * size, gaps not checked */
  GArray *latencies;            /* live: gint64 per delivered message */

  /* sending side */
  RtmfpSendFlow *sflow;
  guint64 tx_next;
  guint64 tx_msgs;              /* messages to send */
  guint64 tx_bytes;
  gboolean tx_flow_closed;
} Peer;

struct _Fixture {
  RtmfpSimNet *net;
  Peer server;
  Peer client;
  guint startup_packets;        /* datagrams on session ID 0 */
  gboolean drop_from_server;
  guint64 dropped_from_server;
  guint64 client_datagrams;
  /* wire capture: with SSEQ off, a datagram can be decrypted in the filter
   * with the receiving session's cipher without disturbing anything */
  gboolean no_sseq;
  gboolean wire_on;
  GArray *wire;                 /* WirePkt */
  guint wire_undecodable;
  Peer *third;
  gboolean has_alias;           /* another address of the client's */
  RtmfpAddr alias;
  /* congestion sampling */
  guint64 cwnd_max;
  guint64 cwnd_min;
};

#define WIRE_MAX_CHUNKS 48

/* One decrypted datagram of an open session, as sent */
typedef struct {
  gint64 t;
  Peer *from;
  Peer *to;
  gboolean to_alias;
  gsize len;                    /* datagram */
  guint8 flags;
  guint16 ts;
  guint16 echo;
  guint n_chunks;
  guint8 types[WIRE_MAX_CHUNKS];
  guint16 lens[WIRE_MAX_CHUNKS];
  gboolean has_ud;
  gboolean has_ack;
  gboolean ack_after_ud;
  gboolean has_ping;
  gboolean has_ping_reply;
  guint8 ping[32];              /* first Ping / Ping Reply message */
  gsize ping_len;
  guint8 reply[32];
  gsize reply_len;
} WirePkt;

/* ---- deterministic message contents ---- */

static gsize
msg_size (guint64 i)
{
  guint32 h = (guint32) (i * 2654435761u);

  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  switch (h % 8) {
    case 0:
    case 1:
    case 2:
      return 1 + h % 200;       /* small */
    case 3:
    case 4:
    case 5:
      return 200 + h % 4000;    /* around one fragment */
    default:
      return 4000 + (h >> 3) % 30000;   /* many fragments */
  }
}

static guint8
msg_byte (guint64 i, gsize j)
{
  return (guint8) (i * 131 + j * 7 + (j >> 9) + 1);
}

static guint8 *
msg_make (guint64 i, gsize * len)
{
  gsize n = msg_size (i), j;
  guint8 *d = g_malloc (n);

  for (j = 0; j < n; j++)
    d[j] = msg_byte (i, j);
  *len = n;
  return d;
}

static gint64
now_of (Peer * p)
{
  return rtmfp_sim_net_now (p->fx->net);
}

/* ---- sending ---- */

/* Writes messages until the flow's queue passes the high-water mark; the
 * writable callback calls it again. */
static void
pump (Peer * p)
{
  gint64 now = now_of (p);

  while (p->sflow && p->tx_next < p->tx_msgs &&
      rtmfp_send_flow_get_queued_bytes (p->sflow) <
      RTMFP_SESSION_FLOW_HIGH_WATER) {
    gsize len;
    guint8 *d = msg_make (p->tx_next, &len);
    gboolean ok = rtmfp_session_write (p->session, p->sflow, d, len,
        RTMFP_NO_DEADLINE, 0, now);

    g_assert_true (ok);
    g_free (d);
    p->tx_bytes += len;
    p->tx_next++;
  }
  if (p->sflow && p->tx_next == p->tx_msgs && !p->tx_flow_closed) {
    rtmfp_session_close_flow (p->session, p->sflow, now);
    p->tx_flow_closed = TRUE;
  }
}

/* ---- receiving ---- */

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  Peer *p = ud;
  gint64 now = now_of (p);

  p->rx_msgs++;
  p->rx_bytes += len;
  if (p->abort_after_msgs && p->rx_msgs == p->abort_after_msgs && p->session)
    rtmfp_session_abort (p->session, now);
  if (p->accept_any)
    return;
  if (gap) {
    p->rx_gap_events++;
    p->rx_gap_total += gap;
  }
  if (p->delivery_times)
    g_array_append_val (p->delivery_times, now);

  if (p->live) {
    gint64 idx, sent, lat;

    if (len < 16) {
      p->rx_bad = TRUE;
      return;
    }
    memcpy (&idx, data, 8);
    memcpy (&sent, data + 8, 8);
    if (idx <= p->rx_last_index)
      p->rx_bad = TRUE;
    p->rx_last_index = idx;
    lat = now - sent;
    g_array_append_val (p->latencies, lat);
    p->max_latency = MAX (p->max_latency, lat);
    return;
  }
  if (p->partial) {
    gint64 idx, sent;

    if (len < 16) {
      p->rx_bad = TRUE;
      return;
    }
    memcpy (&idx, data, 8);
    memcpy (&sent, data + 8, 8);
    /* in order; the gap counts exactly the skipped (single-fragment)
     * messages */
    if (idx <= p->rx_last_index || (guint64) (idx - p->rx_last_index - 1) !=
        gap)
      p->rx_bad = TRUE;
    p->rx_last_index = idx;
    p->max_latency = MAX (p->max_latency, now - sent);
    return;
  }

  /* reliable: every message, in order, byte for byte */
  if (gap != 0 || len != msg_size (p->rx_next)) {
    p->rx_bad = TRUE;
  } else {
    gsize j;
    for (j = 0; j < len; j++) {
      if (data[j] != msg_byte (p->rx_next, j)) {
        p->rx_bad = TRUE;
        break;
      }
    }
  }
  p->rx_next++;
}

static void
on_complete (RtmfpRecvFlow * f, gpointer ud)
{
  Peer *p = ud;

  p->rx_complete = TRUE;
}

/* ---- endpoint callbacks ---- */

static void
cb_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;

  p->opened++;
  if (!p->session)
    p->session = rtmfp_session_ref (s);
  else if (!p->session2)
    p->session2 = rtmfp_session_ref (s);
}

static void
cb_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;

  p->open_failed++;
}

static void
cb_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Peer *p = ud;
  const GError *err = rtmfp_session_get_error (s);

  p->closed++;
  p->closed_at = now_of (p);
  /* the session is still valid for the length of the callback */
  g_assert_cmpint (rtmfp_session_get_state (s), ==, RTMFP_SESSION_CLOSED);
  g_assert_true (rtmfp_session_get_endpoint (s) == ep);
  p->closed_error = err ? err->code : -1;
  if (err)
    g_assert_true (err->domain == RTMFP_SESSION_ERROR);
  p->state_at_close = rtmfp_session_get_state (s);
  if (p->unref_in_closed && s == p->session)
    g_clear_pointer (&p->session, rtmfp_session_unref);
}

static void
cb_session_address_changed (RtmfpEndpoint * ep, RtmfpSession * s,
    gpointer ud)
{
  Peer *p = ud;

  p->addr_changed++;
}

static gboolean
cb_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Peer *p = ud;
  gsize mdlen;
  const guint8 *md = rtmfp_recv_flow_get_metadata (f, &mdlen);

  p->flows_opened++;
  p->last_assoc = assoc;
  if (p->reject_flows)
    return FALSE;
  if (p->close_in_flow_opened) {
    rtmfp_session_close (s, now_of (p));
    /* the flow is no longer the session's to deliver */
    return TRUE;
  }
  if (p->accept_any) {
    p->rflow = f;
    rtmfp_recv_flow_set_delivery (f, FALSE, on_message, on_complete, p);
    return TRUE;
  }
  /* the metadata arrives intact */
  g_assert_cmpuint (mdlen, ==, 9);
  g_assert_cmpmem (md, mdlen, "test-flow", 9);
  p->rflow = f;
  rtmfp_recv_flow_set_delivery (f, FALSE, on_message, on_complete, p);
  if (p->rx_capacity)
    rtmfp_recv_flow_set_buffer_capacity (f, p->rx_capacity);
  if (p->rx_paused)
    rtmfp_recv_flow_set_paused (f, TRUE);
  return TRUE;
}

static void
cb_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  Peer *p = ud;

  p->exceptions++;
  p->exception_code = code;
}

static void
cb_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  Peer *p = ud;

  p->writable++;
  /* the queue really dropped below the low mark */
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (f), <,
      RTMFP_SESSION_FLOW_LOW_WATER);
  if (f == p->sflow)
    pump (p);
}

static const RtmfpEndpointCallbacks callbacks = {
  .session_opened = cb_session_opened,
  .session_open_failed = cb_session_open_failed,
  .session_closed = cb_session_closed,
  .session_address_changed = cb_session_address_changed,
  .flow_opened = cb_flow_opened,
  .send_flow_exception = cb_send_flow_exception,
  .send_flow_writable = cb_send_flow_writable,
};

/* ---- the network ---- */

static Peer *
peer_at (Fixture * fx, const RtmfpAddr * a)
{
  if (rtmfp_addr_equal (a, rtmfp_sim_host_get_address (fx->server.host)))
    return &fx->server;
  if (rtmfp_addr_equal (a, rtmfp_sim_host_get_address (fx->client.host)))
    return &fx->client;
  if (fx->third && fx->third->host &&
      rtmfp_addr_equal (a, rtmfp_sim_host_get_address (fx->third->host)))
    return fx->third;
  return NULL;
}

static void
wire_capture (Fixture * fx, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to)
{
  Peer *src = peer_at (fx, from), *dst = peer_at (fx, to);
  RtmfpCipher *cipher;
  guint8 *plain;
  gsize plain_len = 0;
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk c;
  WirePkt w;

  gboolean alias = FALSE;

  if (!dst && fx->has_alias && rtmfp_addr_equal (to, &fx->alias)) {
    dst = &fx->client;
    alias = TRUE;
  }
  if (!src || !dst || !dst->session)
    return;
  /* the server's session with the third host is its second one */
  cipher = _rtmfp_session_get_cipher (src == fx->third && dst->session2 ?
      dst->session2 : dst->session);
  if (!cipher)
    return;
  plain = g_malloc (len);
  if (!rtmfp_cipher_decode (cipher, data, len, plain, &plain_len) ||
      !rtmfp_packet_parse (plain, plain_len, &p)) {
    fx->wire_undecodable++;
    g_free (plain);
    return;
  }
  memset (&w, 0, sizeof w);
  w.t = rtmfp_sim_net_now (fx->net);
  w.from = src;
  w.to = dst;
  w.to_alias = alias;
  w.len = len;
  w.flags = p.flags;
  w.ts = p.timestamp;
  w.echo = p.timestamp_echo;
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &c)) {
    if (w.n_chunks < WIRE_MAX_CHUNKS) {
      w.types[w.n_chunks] = c.type;
      w.lens[w.n_chunks] = (guint16) c.len;
      w.n_chunks++;
    }
    switch (c.type) {
      case RTMFP_CHUNK_USER_DATA:
      case RTMFP_CHUNK_NEXT_USER_DATA:
        w.has_ud = TRUE;
        break;
      case RTMFP_CHUNK_ACK_BITMAP:
      case RTMFP_CHUNK_ACK_RANGES:
        if (w.has_ud)
          w.ack_after_ud = TRUE;
        w.has_ack = TRUE;
        break;
      case RTMFP_CHUNK_PING:
        if (!w.has_ping && c.len <= sizeof w.ping) {
          w.has_ping = TRUE;
          memcpy (w.ping, c.data, c.len);
          w.ping_len = c.len;
        }
        break;
      case RTMFP_CHUNK_PING_REPLY:
        if (!w.has_ping_reply && c.len <= sizeof w.reply) {
          w.has_ping_reply = TRUE;
          memcpy (w.reply, c.data, c.len);
          w.reply_len = c.len;
        }
        break;
      default:
        break;
    }
  }
  g_array_append_val (fx->wire, w);
  g_free (plain);
}

static gboolean
wire_has_chunk (const WirePkt * w, guint8 type)
{
  guint i;

  for (i = 0; i < w->n_chunks; i++)
    if (w->types[i] == type)
      return TRUE;
  return FALSE;
}

static gboolean
net_filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  Fixture *fx = ud;

  if (fx->wire_on && rtmfp_session_id_unscramble (data, len) != 0)
    wire_capture (fx, data, len, from, to);

  if (rtmfp_session_id_unscramble (data, len) == 0)
    fx->startup_packets++;
  if (rtmfp_addr_equal (from, rtmfp_sim_host_get_address (fx->client.host)))
    fx->client_datagrams++;
  if (fx->drop_from_server &&
      rtmfp_addr_equal (from, rtmfp_sim_host_get_address (fx->server.host))) {
    fx->dropped_from_server++;
    return FALSE;
  }
  return TRUE;
}

static gboolean
both_open (gpointer ud)
{
  Fixture *fx = ud;

  return fx->server.opened > 0 && fx->client.opened > 0;
}

static void
fixture_setup_full (Fixture * fx, guint32 seed, const RtmfpSimLink * link,
    gboolean wire)
{
  static const guint groups[] = { 14 };
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *sid, *cid;
  GByteArray *epd;
  RtmfpSession *s;

  memset (fx, 0, sizeof *fx);
  fx->no_sseq = wire;
  fx->server.fx = fx;
  fx->client.fx = fx;
  fx->server.closed_error = fx->client.closed_error = -2;
  fx->server.rx_last_index = fx->client.rx_last_index = -1;
  fx->net = rtmfp_sim_net_new (seed);
  if (link)
    rtmfp_sim_net_set_link (fx->net, link);
  rtmfp_sim_net_set_filter (fx->net, net_filter, fx);

  sid = rtmfp_identity_new_ephemeral (groups, 1, NULL, TRUE);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = sid;
  cfg.accept_sessions = TRUE;
  if (fx->no_sseq)
    cfg.crypto.sseq_flags = 0;
  fx->server.host = rtmfp_sim_net_add_host (fx->net, SERVER_ADDR, &cfg,
      &callbacks, &fx->server);

  cid = rtmfp_identity_new_static (groups, 1);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = cid;
  cfg.accept_sessions = FALSE;
  if (fx->no_sseq)
    cfg.crypto.sseq_flags = 0;
  fx->client.host = rtmfp_sim_net_add_host (fx->net, CLIENT_ADDR, &cfg,
      &callbacks, &fx->client);

  epd = g_byte_array_new ();
  rtmfp_epd_append_fingerprint (epd, rtmfp_identity_get_fingerprint (sid));
  s = rtmfp_endpoint_open_session (rtmfp_sim_host_get_endpoint
      (fx->client.host), epd->data, epd->len,
      rtmfp_sim_host_get_address (fx->server.host), 1,
      rtmfp_sim_net_now (fx->net));
  g_assert_nonnull (s);
  g_assert_true (rtmfp_session_is_initiator (s));
  g_byte_array_unref (epd);
  rtmfp_sim_net_kick (fx->net);

  g_assert_true (rtmfp_sim_net_run_until (fx->net, both_open, fx, 30 * SEC));
  g_assert_cmpuint (fx->client.opened, ==, 1);
  g_assert_cmpuint (fx->server.opened, ==, 1);
  g_assert_true (fx->client.session == s);
  g_assert_false (rtmfp_session_is_initiator (fx->server.session));
  g_assert_cmpint (rtmfp_session_get_state (fx->client.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (fx->server.session), ==,
      RTMFP_SESSION_OPEN);
  /* each side knows the other's identity */
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint (fx->client.session),
      RTMFP_FINGERPRINT_SIZE, rtmfp_identity_get_fingerprint (sid),
      RTMFP_FINGERPRINT_SIZE);
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint (fx->server.session),
      RTMFP_FINGERPRINT_SIZE, rtmfp_identity_get_fingerprint (cid),
      RTMFP_FINGERPRINT_SIZE);
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address
          (fx->server.session), rtmfp_sim_host_get_address (fx->client.host)));
  rtmfp_identity_unref (sid);
  rtmfp_identity_unref (cid);
  if (wire) {
    fx->wire = g_array_new (FALSE, FALSE, sizeof (WirePkt));
    fx->wire_on = TRUE;
  }
}

static void
fixture_setup (Fixture * fx, guint32 seed, const RtmfpSimLink * link)
{
  fixture_setup_full (fx, seed, link, FALSE);
}

static void
fixture_teardown (Fixture * fx)
{
  g_clear_pointer (&fx->server.session, rtmfp_session_unref);
  g_clear_pointer (&fx->server.session2, rtmfp_session_unref);
  g_clear_pointer (&fx->client.session, rtmfp_session_unref);
  rtmfp_sim_net_free (fx->net);
  g_clear_pointer (&fx->server.delivery_times, g_array_unref);
  g_clear_pointer (&fx->client.delivery_times, g_array_unref);
  g_clear_pointer (&fx->server.latencies, g_array_unref);
  g_clear_pointer (&fx->wire, g_array_unref);
}

static void
start_sending (Peer * p, guint64 n_msgs)
{
  p->sflow = rtmfp_session_open_flow (p->session, (const guint8 *)
      "test-flow", 9, NULL);
  g_assert_nonnull (p->sflow);
  p->tx_msgs = n_msgs;
  pump (p);
  rtmfp_sim_net_kick (p->fx->net);
}

/* Messages for about `bytes` of data */
static guint64
msgs_for_bytes (guint64 bytes)
{
  guint64 n = 0, sum = 0;

  while (sum < bytes)
    sum += msg_size (n++);
  return n;
}

static gboolean
received_all (gpointer ud)
{
  Peer *rx = ud;
  Peer *tx = rx == &rx->fx->server ? &rx->fx->client : &rx->fx->server;

  return rx->rx_complete && rx->rx_next == tx->tx_msgs;
}

static void
check_transfer (Peer * tx, Peer * rx)
{
  RtmfpSessionStats st;

  rtmfp_session_get_stats (tx->session, &st);
  g_test_message ("%" G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT
      " bytes at %.1f s: %" G_GUINT64_FORMAT " packets sent, %"
      G_GUINT64_FORMAT " retransmitted, %" G_GUINT64_FORMAT " lost, %"
      G_GUINT64_FORMAT " timeouts, srtt %" G_GINT64_FORMAT " ms, cwnd %"
      G_GUINT64_FORMAT, rx->rx_msgs, rx->rx_bytes,
      rtmfp_sim_net_now (tx->fx->net) / 1e6 - 1000.0, st.packets_sent,
      st.fragments_retransmitted, st.fragments_lost, st.timeouts,
      st.srtt_us / 1000, st.cwnd);
  g_assert_false (rx->rx_bad);
  g_assert_true (rx->rx_complete);
  g_assert_cmpuint (rx->rx_next, ==, tx->tx_msgs);
  g_assert_cmpuint (rx->rx_msgs, ==, tx->tx_msgs);
  g_assert_cmpuint (rx->rx_bytes, ==, tx->tx_bytes);
  g_assert_cmpuint (rx->rx_gap_events, ==, 0);
  g_assert_cmpuint (rx->flows_opened, ==, 1);
}

/* ---- tests ---- */

static void
test_transfer_clean (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  RtmfpSimStats ns;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 1, &link);

  start_sending (&fx.client, msgs_for_bytes (4 * 1024 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          120 * SEC));
  check_transfer (&fx.client, &fx.server);
  g_assert_cmpuint (fx.client.tx_bytes, >=, 4 * 1024 * 1024);
  /* backpressure went through the writable callback */
  g_assert_cmpuint (fx.client.writable, >, 0);

  rtmfp_session_get_stats (fx.client.session, &st);
  rtmfp_sim_net_get_stats (fx.net, &ns);
  g_assert_cmpuint (ns.dropped_loss, ==, 0);
  g_assert_cmpuint (st.fragments_retransmitted, ==, 0);
  g_assert_cmpuint (st.timeouts, ==, 0);
  g_assert_cmpuint (st.packets_sent, >, 4 * 1024 * 1024 / RTMFP_MAX_PLAIN_SIZE);
  /* no packet was larger than the 1200-byte class */
  g_assert_cmpuint (st.bytes_sent, <=, st.packets_sent *
      RTMFP_MAX_DATAGRAM_SIZE);
  g_assert_cmpuint (st.n_send_flows, ==, 1);
  /* acks were delayed / packed: far fewer ack packets than data packets */
  {
    RtmfpSessionStats sst;
    rtmfp_session_get_stats (fx.server.session, &sst);
    g_assert_cmpuint (sst.packets_received, ==, st.packets_sent);
    g_assert_cmpuint (sst.packets_sent, <, st.packets_sent * 3 / 4);
    g_assert_cmpuint (sst.packets_sent, >, st.packets_sent / 4);
  }
  g_assert_cmpuint (fx.client.closed + fx.server.closed, ==, 0);

  /* finished flows linger (F_COMPLETE_LINGER 130 s, RF 120 s), then the
   * session frees them */
  rtmfp_sim_net_run_for (fx.net, 100 * SEC);
  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpuint (st.n_send_flows, ==, 1);
  rtmfp_sim_net_run_for (fx.net, 40 * SEC);
  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpuint (st.n_send_flows, ==, 0);
  rtmfp_session_get_stats (fx.server.session, &st);
  g_assert_cmpuint (st.n_recv_flows, ==, 0);
  /* the freed flow's figures stay in the session's totals */
  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpint (st.state, ==, RTMFP_SESSION_OPEN);
  fixture_teardown (&fx);
}

static void
test_transfer_lossy (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  RtmfpSimStats ns;

  rtmfp_sim_link_init (&link);
  link.delay_us = 15 * MS;
  fixture_setup (&fx, 2, &link);

  /* the data path: 10% loss, reordering, duplicates */
  link.loss = 0.10;
  link.jitter_us = 20 * MS;
  link.duplicate = 0.05;
  rtmfp_sim_net_set_link (fx.net, &link);

  start_sending (&fx.client, msgs_for_bytes (4 * 1024 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          900 * SEC));
  check_transfer (&fx.client, &fx.server);

  rtmfp_sim_net_get_stats (fx.net, &ns);
  g_assert_cmpuint (ns.dropped_loss, >, 500);
  g_assert_cmpuint (ns.duplicated, >, 100);
  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpuint (st.fragments_retransmitted, >, 200);
  g_assert_cmpuint (st.fragments_lost, >, 0);
  g_assert_cmpuint (st.messages_abandoned, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_OPEN);
  fixture_teardown (&fx);
}

/* A bidirectional transfer: both flows intact at the same time */
static void
test_transfer_bidirectional (void)
{
  Fixture fx;
  RtmfpSimLink link;

  rtmfp_sim_link_init (&link);
  link.loss = 0.03;
  link.jitter_us = 5 * MS;
  fixture_setup (&fx, 3, &link);

  start_sending (&fx.client, msgs_for_bytes (600 * 1024));
  start_sending (&fx.server, msgs_for_bytes (600 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          300 * SEC));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.client,
          300 * SEC));
  check_transfer (&fx.client, &fx.server);
  check_transfer (&fx.server, &fx.client);
  fixture_teardown (&fx);
}

/* ---- partial reliability ---- */

static void
write_timed_sized (Peer * p, guint64 idx, gint64 lifetime, gsize size,
    guint flags)
{
  guint8 *buf = g_malloc (size);
  gint64 now = now_of (p);
  gint64 i = (gint64) idx;
  gsize j;

  g_assert_cmpuint (size, >=, 16);
  memcpy (buf, &i, 8);
  memcpy (buf + 8, &now, 8);
  for (j = 16; j < size; j++)
    buf[j] = (guint8) (idx + j);
  g_assert_true (rtmfp_session_write (p->session, p->sflow, buf, size,
          lifetime == RTMFP_NO_DEADLINE ? RTMFP_NO_DEADLINE : now + lifetime,
          flags, now));
  g_free (buf);
  rtmfp_sim_net_kick (p->fx->net);
}

static void
write_timed (Peer * p, guint64 idx, gint64 lifetime)
{
  write_timed_sized (p, idx, lifetime, 300, 0);
}

static void
test_partial_reliability (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSendFlowStats fst;
  RtmfpSessionStats st;
  /* shorter than a repair (a NAK needs the next message, 20 ms later, and
   * a round trip of 40 ms), so that lost messages are abandoned */
  const gint64 lifetime = 50 * MS;
  const guint n = 500;          /* 10 s at 50 messages per second */
  gint64 *sent_at = g_new (gint64, n);
  guint i, d;

  rtmfp_sim_link_init (&link);
  link.delay_us = 20 * MS;
  fixture_setup (&fx, 4, &link);
  fx.server.partial = TRUE;
  fx.server.delivery_times = g_array_new (FALSE, FALSE, sizeof (gint64));

  link.loss = 0.20;
  rtmfp_sim_net_set_link (fx.net, &link);

  fx.client.sflow = rtmfp_session_open_flow (fx.client.session,
      (const guint8 *) "test-flow", 9, NULL);
  for (i = 0; i < n; i++) {
    sent_at[i] = rtmfp_sim_net_now (fx.net);
    write_timed (&fx.client, i, lifetime);
    rtmfp_sim_net_run_for (fx.net, 20 * MS);
  }
  rtmfp_sim_net_run_for (fx.net, 3 * SEC);

  rtmfp_send_flow_get_stats (fx.client.sflow, &fst);
  rtmfp_session_get_stats (fx.client.session, &st);
  g_test_message ("delivered %" G_GUINT64_FORMAT "/%u, abandoned %"
      G_GUINT64_FORMAT ", gaps %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
      " messages), max latency %" G_GINT64_FORMAT " ms", fx.server.rx_msgs,
      n, fst.messages_abandoned, fx.server.rx_gap_events,
      fx.server.rx_gap_total, fx.server.max_latency / 1000);

  g_assert_false (fx.server.rx_bad);
  /* expired messages were abandoned by the sender ... */
  g_assert_cmpuint (fst.messages_abandoned, >, 0);
  g_assert_cmpuint (st.messages_abandoned, ==, fst.messages_abandoned);
  /* ... and the receiver skipped them (gap > 0) instead of stalling */
  g_assert_cmpuint (fx.server.rx_gap_events, >, 0);
  g_assert_cmpuint (fx.server.rx_msgs + fx.server.rx_gap_total, ==,
      (guint64) fx.server.rx_last_index + 1);
  /* most messages made it, the last ones too */
  g_assert_cmpuint (fx.server.rx_msgs, >, n * 6 / 10);
  g_assert_cmpint (fx.server.rx_last_index, >=, (gint64) n - 5);
  /* nothing was held much past its lifetime */
  g_assert_cmpint (fx.server.max_latency, <, lifetime + 600 * MS);
  /* never stalls: after every write something is delivered soon */
  for (i = 0, d = 0; i < n; i++) {
    GArray *dt = fx.server.delivery_times;
    while (d < dt->len && g_array_index (dt, gint64, d) < sent_at[i])
      d++;
    g_assert_cmpuint (d, <, dt->len);
    g_assert_cmpint (g_array_index (dt, gint64, d) - sent_at[i], <,
        lifetime + 600 * MS);
  }
  g_free (sent_at);
  fixture_teardown (&fx);
}

/* ---- congestion ---- */

static gboolean
sample_cwnd (gpointer ud)
{
  Fixture *fx = ud;
  RtmfpSessionStats st;

  rtmfp_session_get_stats (fx->client.session, &st);
  fx->cwnd_max = MAX (fx->cwnd_max, st.cwnd);
  fx->cwnd_min = MIN (fx->cwnd_min, st.cwnd);
  return received_all (&fx->server);
}

static void
test_congestion (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  guint64 before, during, after;

  rtmfp_sim_link_init (&link);
  link.delay_us = 20 * MS;
  fixture_setup (&fx, 5, &link);

  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpuint (st.cwnd, >, 0);
  g_assert_cmpuint (st.ssthresh, ==, G_MAXUINT64);

  start_sending (&fx.client, msgs_for_bytes (16 * 1024 * 1024));

  /* clean: the window opens */
  fx.cwnd_max = 0;
  fx.cwnd_min = G_MAXUINT64;
  g_assert_false (rtmfp_sim_net_run_until (fx.net, sample_cwnd, &fx,
          3 * SEC));
  before = fx.cwnd_max;
  g_assert_cmpuint (before, >, 4 * st.cwnd);

  /* a loss burst: the window shrinks */
  link.loss = 0.4;
  rtmfp_sim_net_set_link (fx.net, &link);
  fx.cwnd_min = G_MAXUINT64;
  g_assert_false (rtmfp_sim_net_run_until (fx.net, sample_cwnd, &fx,
          1 * SEC));
  during = fx.cwnd_min;
  rtmfp_session_get_stats (fx.client.session, &st);
  g_assert_cmpuint (st.ssthresh, <, before);
  g_assert_cmpuint (during, <=, before / 2);

  /* clean again: it grows back */
  link.loss = 0;
  rtmfp_sim_net_set_link (fx.net, &link);
  fx.cwnd_max = 0;
  (void) rtmfp_sim_net_run_until (fx.net, sample_cwnd, &fx, 10 * SEC);
  after = fx.cwnd_max;
  g_test_message ("cwnd before %" G_GUINT64_FORMAT " min during %"
      G_GUINT64_FORMAT " max after %" G_GUINT64_FORMAT, before, during,
      after);
  g_assert_cmpuint (after, >=, 4 * during);
  /* past slow start into congestion avoidance above the new threshold */
  g_assert_cmpuint (after, >, st.ssthresh);
  g_assert_false (fx.server.rx_bad);
  fixture_teardown (&fx);
}

/* A paced live stream over a lossy path: 1.5 Mbit/s of "video" at 30
 * frames per second with a 30 KB keyframe every 2 s, each frame a
 * time-critical message with a 1 s lifetime, 30 ms RTT, random loss both
 * ways, 60 s.  This is the loss bench's 5 % / 10 % cell (bench/results/
 * loss-investigation.md) in simulated time.  An application-limited
 * sender must keep a window above its media rate x RTT, which the
 * unmodified Appendix A.2 example does not (rtmfpcongestion.c). */
#define LIVE_FPS 30
#define LIVE_GOP 60             /* 2 s */
#define LIVE_KEY_BYTES 30000
#define LIVE_RATE_BPS 1500000

static void
live_case (guint32 seed, gdouble loss, guint min_on_time_permille)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  const guint n = 60 * LIVE_FPS;
  const gint64 frame_us = SEC / LIVE_FPS;
  /* the other frames share what the keyframe leaves of a GOP's bytes */
  const gsize p_bytes = (LIVE_RATE_BPS / 8 * LIVE_GOP / LIVE_FPS -
      LIVE_KEY_BYTES) / (LIVE_GOP - 1);
  const guint64 media_window = LIVE_RATE_BPS / 8 * 30 / 1000;  /* x RTT */
  guint i, on_time = 0, samples = 0, above = 0;
  gint64 t0;

  rtmfp_sim_link_init (&link);
  link.delay_us = 15 * MS;
  fixture_setup (&fx, seed, &link);
  fx.server.live = TRUE;
  fx.server.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  link.loss = loss;
  rtmfp_sim_net_set_link (fx.net, &link);

  fx.client.sflow = rtmfp_session_open_flow (fx.client.session,
      (const guint8 *) "test-flow", 9, NULL);
  t0 = rtmfp_sim_net_now (fx.net);
  for (i = 0; i < n; i++) {
    write_timed_sized (&fx.client, i, 1 * SEC,
        i % LIVE_GOP == 0 ? LIVE_KEY_BYTES : p_bytes,
        RTMFP_WRITE_TIME_CRITICAL);
    /* paced: the next frame is due one frame interval after this one */
    rtmfp_sim_net_run_for (fx.net, t0 + (i + 1) * frame_us -
        rtmfp_sim_net_now (fx.net));
    rtmfp_session_get_stats (fx.client.session, &st);
    if (i >= 2 * LIVE_FPS) {    /* after the first 2 s */
      samples++;
      if (st.cwnd > media_window)
        above++;
    }
  }
  rtmfp_sim_net_run_for (fx.net, 2 * SEC);

  for (i = 0; i < fx.server.latencies->len; i++)
    if (g_array_index (fx.server.latencies, gint64, i) < 400 * MS)
      on_time++;
  rtmfp_session_get_stats (fx.client.session, &st);
  g_test_message ("live %.0f %% loss: %u/%u frames delivered, %u within "
      "400 ms, max latency %" G_GINT64_FORMAT " ms; cwnd > %" G_GUINT64_FORMAT
      " B in %u/%u samples; %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT
      " timeouts, cwnd %" G_GUINT64_FORMAT " at the end", loss * 100,
      fx.server.latencies->len, n, on_time, fx.server.max_latency / 1000,
      media_window, above, samples, st.fragments_lost, st.timeouts, st.cwnd);

  g_assert_false (fx.server.rx_bad);
  g_assert_cmpuint (st.fragments_lost, >, 0);
  g_assert_cmpuint (on_time * 1000, >=, (guint64) n * min_on_time_permille);
  /* the window carries the stream most of the time */
  g_assert_cmpuint (above * 10, >=, samples * 9);
  fixture_teardown (&fx);
}

static void
test_live_loss5 (void)
{
  live_case (31, 0.05, 990);
}

static void
test_live_loss10 (void)
{
  live_case (32, 0.10, 950);
}

/* A bulk (not application-limited) transfer at 1 % random loss, 30 ms
 * RTT: the loss-episode and window-sizing changes to Appendix A.2
 * (rtmfpcongestion.c) must keep it TCP-like.  The steady-state TCP rate
 * for loss rate p is about MSS / RTT x 1.22 / sqrt (p) (Mathis et al.),
 * with MSS the user data of one packet (about 1150 bytes here):
 * 1150 x 8 / 0.03 x 12.2 = 3.7 Mbit/s. */
static void
test_bulk_loss (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  gint64 t0;
  gdouble secs, mbps;

  rtmfp_sim_link_init (&link);
  link.delay_us = 15 * MS;
  fixture_setup (&fx, 41, &link);
  link.loss = 0.01;
  rtmfp_sim_net_set_link (fx.net, &link);

  t0 = rtmfp_sim_net_now (fx.net);
  fx.cwnd_max = 0;
  fx.cwnd_min = G_MAXUINT64;
  start_sending (&fx.client, msgs_for_bytes (8 * 1024 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, sample_cwnd, &fx,
          300 * SEC));
  check_transfer (&fx.client, &fx.server);
  secs = (rtmfp_sim_net_now (fx.net) - t0) / 1e6;
  mbps = fx.server.rx_bytes * 8 / secs / 1e6;
  rtmfp_session_get_stats (fx.client.session, &st);
  g_test_message ("bulk at 1 %% loss: %.2f Mbit/s over %.1f s, cwnd max %"
      G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT
      " window reductions, %" G_GUINT64_FORMAT " timeouts", mbps, secs,
      fx.cwnd_max, st.fragments_lost, st.loss_episodes, st.timeouts);
  g_assert_cmpuint (st.fragments_lost, >, 0);
  /* TCP-like, and near what the implementation does (4.35 Mbit/s; the
   * run is deterministic, the margins are for later legitimate changes):
   * RFC 7016 Appendix A.2 as written (a cut on every loss report, sized
   * from the outstanding bytes, no growth with NAKs) makes 4.08 here,
   * which the lower bound rejects; 1.3 x the Mathis rate (3.7 Mbit/s) is
   * the upper one.  One window reduction per loss episode: fewer than
   * the losses. */
  g_assert_cmpfloat (mbps, >, 4.2);
  g_assert_cmpfloat (mbps, <, 1.3 * 3.7);
  g_assert_cmpuint (st.loss_episodes, <, st.fragments_lost);
  g_assert_cmpuint (st.timeouts, ==, 0);
  fixture_teardown (&fx);
}

/* 3.5.2.1: time-critical data arriving on one session makes the far ends
 * of the other sessions (TCR) give up exponential window growth. */
static guint64
tcr_case (gboolean tc_active)
{
  Fixture fx;
  RtmfpSimLink link;
  Peer b;
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *id;
  static const guint groups[] = { 14 };
  GByteArray *epd;
  RtmfpSession *s;
  guint64 cwnd_max = 0;
  guint i;

  rtmfp_sim_link_init (&link);
  link.delay_us = 20 * MS;
  fixture_setup_full (&fx, 17, &link, TRUE);

  /* a second client B */
  memset (&b, 0, sizeof b);
  b.fx = &fx;
  b.rx_last_index = -1;
  fx.third = &b;
  id = rtmfp_identity_new_static (groups, 1);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = FALSE;
  cfg.crypto.sseq_flags = 0;
  b.host = rtmfp_sim_net_add_host (fx.net, "10.0.0.4:50000", &cfg,
      &callbacks, &b);
  rtmfp_identity_unref (id);
  epd = g_byte_array_new ();
  rtmfp_epd_append_fingerprint (epd,
      rtmfp_session_get_far_fingerprint (fx.client.session));
  s = rtmfp_endpoint_open_session (rtmfp_sim_host_get_endpoint (b.host),
      epd->data, epd->len, rtmfp_sim_host_get_address (fx.server.host), 1,
      rtmfp_sim_net_now (fx.net));
  g_assert_nonnull (s);
  g_byte_array_unref (epd);
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 1 * SEC);
  g_assert_cmpuint (b.opened, ==, 1);

  /* A streams time-critical audio-like messages to the server */
  fx.client.sflow = rtmfp_session_open_flow (fx.client.session,
      (const guint8 *) "test-flow", 9, NULL);
  for (i = 0; i < 10; i++) {
    guint8 buf[200] = { 0 };
    if (tc_active)
      g_assert_true (rtmfp_session_write (fx.client.session,
              fx.client.sflow, buf, sizeof buf, RTMFP_NO_DEADLINE,
              RTMFP_WRITE_TIME_CRITICAL, rtmfp_sim_net_now (fx.net)));
    rtmfp_sim_net_kick (fx.net);
    rtmfp_sim_net_run_for (fx.net, 20 * MS);
  }

  /* while B sends bulk data to the server */
  start_sending (&b, msgs_for_bytes (16 * 1024 * 1024));
  for (i = 0; i < 100; i++) {
    guint8 buf[200] = { 0 };
    RtmfpSessionStats st;
    if (tc_active)
      g_assert_true (rtmfp_session_write (fx.client.session,
              fx.client.sflow, buf, sizeof buf, RTMFP_NO_DEADLINE,
              RTMFP_WRITE_TIME_CRITICAL, rtmfp_sim_net_now (fx.net)));
    rtmfp_sim_net_kick (fx.net);
    rtmfp_sim_net_run_for (fx.net, 20 * MS);
    rtmfp_session_get_stats (b.session, &st);
    cwnd_max = MAX (cwnd_max, st.cwnd);
  }
  g_assert_cmpuint (b.tx_next, >, 0);
  g_assert_cmpint (rtmfp_session_get_state (b.session), ==,
      RTMFP_SESSION_OPEN);

  /* on the wire: A's data is flagged TC; the server flags TCR towards B
   * (another session) but never towards A, the TC source itself */
  {
    guint n_tcr_b = 0, n_to_b = 0, n_tc_a = 0, n_ud_a = 0;
    g_assert_cmpuint (fx.wire_undecodable, ==, 0);
    for (i = 0; i < fx.wire->len; i++) {
      WirePkt *w = &g_array_index (fx.wire, WirePkt, i);
      if (w->from == &fx.client && w->has_ud) {
        n_ud_a++;
        if (w->flags & RTMFP_PKT_FLAG_TC)
          n_tc_a++;
      }
      if (w->from == &fx.server && w->to == &fx.client)
        g_assert_false (w->flags & RTMFP_PKT_FLAG_TCR);
      if (w->from == &fx.server && w->to == &b) {
        n_to_b++;
        if (w->flags & RTMFP_PKT_FLAG_TCR)
          n_tcr_b++;
      }
      if (!tc_active)
        g_assert_false (w->flags & (RTMFP_PKT_FLAG_TC | RTMFP_PKT_FLAG_TCR));
    }
    g_assert_cmpuint (n_to_b, >, 100);
    if (tc_active) {
      g_assert_cmpuint (n_ud_a, >=, 100);
      g_assert_cmpuint (n_tc_a, ==, n_ud_a);
      g_assert_cmpuint (n_tcr_b, >, n_to_b * 9 / 10);
    }
  }
  g_clear_pointer (&b.session, rtmfp_session_unref);
  fixture_teardown (&fx);
  return cwnd_max;
}

static void
test_congestion_tcr (void)
{
  guint64 free_run = tcr_case (FALSE);
  guint64 yielding = tcr_case (TRUE);

  g_test_message ("cwnd of a bulk sender: %" G_GUINT64_FORMAT " alone, %"
      G_GUINT64_FORMAT " beside time-critical traffic", free_run, yielding);
  /* slow start without TCR ... */
  g_assert_cmpuint (free_run, >, 100000);
  /* ... none with it: at most ~0.5% or 384 bytes per round trip */
  g_assert_cmpuint (yielding, <, 4380 + 50 * 2 * 384);
}

/* ---- mobility ---- */

static gboolean
received_all_both (gpointer ud)
{
  Fixture *fx = ud;

  return received_all (&fx->server) && received_all (&fx->client);
}

static void
test_address_change (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats st;
  guint startup_before;
  RtmfpAddr moved;

  rtmfp_sim_link_init (&link);
  link.delay_us = 15 * MS;
  fixture_setup (&fx, 6, &link);
  startup_before = fx.startup_packets;
  g_assert_cmpuint (startup_before, >=, 3);     /* IHello, RHello, IIKeying */

  start_sending (&fx.client, msgs_for_bytes (2 * 1024 * 1024));
  start_sending (&fx.server, msgs_for_bytes (512 * 1024));
  rtmfp_sim_net_run_for (fx.net, 300 * MS);
  g_assert_cmpuint (fx.server.rx_next, >, 0);
  g_assert_false (received_all (&fx.server));

  /* the client's NAT rebinds mid-transfer */
  rtmfp_sim_host_set_address (fx.client.host, CLIENT_ADDR_MOVED);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all_both, &fx,
          120 * SEC));
  check_transfer (&fx.client, &fx.server);
  check_transfer (&fx.server, &fx.client);

  /* no new handshake, one validated move */
  g_assert_cmpuint (fx.startup_packets, ==, startup_before);
  g_assert_cmpuint (fx.server.addr_changed, ==, 1);
  g_assert_cmpuint (fx.client.addr_changed, ==, 0);
  rtmfp_session_get_stats (fx.server.session, &st);
  g_assert_cmpuint (st.address_changes, ==, 1);
  g_assert_true (rtmfp_addr_from_string (&moved, CLIENT_ADDR_MOVED, 0));
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address
          (fx.server.session), &moved));
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_OPEN);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_OPEN);
  fixture_teardown (&fx);
}

/* ---- close ---- */

static gboolean
closed_cond (gpointer ud)
{
  Peer *p = ud;

  return p->closed > 0;
}

static void
test_close_orderly (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 7, &link);
  start_sending (&fx.client, msgs_for_bytes (64 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          30 * SEC));

  t0 = rtmfp_sim_net_now (fx.net);
  rtmfp_session_close (fx.client.session, t0);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_NEARCLOSE);
  /* flows are aborted when leaving S_OPEN */
  g_assert_null (rtmfp_session_find_send_flow (fx.client.session,
          rtmfp_send_flow_get_id (fx.client.sflow)));
  g_assert_null (rtmfp_session_open_flow (fx.client.session,
          (const guint8 *) "x", 1, NULL));
  rtmfp_sim_net_kick (fx.net);

  /* Close -> Close Ack: the near end is closed at once */
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          2 * SEC));
  g_assert_cmpint (fx.client.closed_at - t0, <, 100 * MS);
  g_assert_cmpint (fx.client.state_at_close, ==, RTMFP_SESSION_CLOSED);
  g_assert_cmpint (fx.client.closed_error, ==, -1);
  /* the far end lingers (19 s) to answer retransmitted Close Requests */
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_FARCLOSE_LINGER);
  g_assert_cmpuint (fx.server.closed, ==, 0);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          30 * SEC));
  g_assert_cmpint (fx.server.closed_at - t0, >=, 19 * SEC);
  g_assert_cmpint (fx.server.closed_at - t0, <, 20 * SEC);
  g_assert_cmpint (fx.server.closed_error, ==, RTMFP_SESSION_ERROR_CLOSED);
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_CLOSED);

  /* exactly once each, nothing more happens */
  rtmfp_sim_net_run_for (fx.net, 200 * SEC);
  g_assert_cmpuint (fx.client.closed, ==, 1);
  g_assert_cmpuint (fx.server.closed, ==, 1);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (rtmfp_sim_host_get_endpoint
          (fx.client.host)), ==, 0);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions (rtmfp_sim_host_get_endpoint
          (fx.server.host)), ==, 0);
  fixture_teardown (&fx);
}

static void
test_close_ack_lost (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 8, &link);

  /* everything the server sends for the next 3 s is lost, its first Close
   * Ack included: the client must retransmit its Close Request (5 s) */
  fx.drop_from_server = TRUE;
  t0 = rtmfp_sim_net_now (fx.net);
  rtmfp_session_close (fx.client.session, t0);
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 3 * SEC);
  g_assert_cmpuint (fx.dropped_from_server, >=, 1);
  g_assert_cmpuint (fx.client.closed, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_NEARCLOSE);
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_FARCLOSE_LINGER);
  fx.drop_from_server = FALSE;

  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          30 * SEC));
  g_assert_cmpint (fx.client.closed_at - t0, >=, 5 * SEC);
  g_assert_cmpint (fx.client.closed_at - t0, <, 6 * SEC);
  g_assert_cmpint (fx.client.closed_error, ==, -1);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          30 * SEC));
  g_assert_cmpint (fx.server.closed_error, ==, RTMFP_SESSION_ERROR_CLOSED);
  fixture_teardown (&fx);
}

static void
test_close_far (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;
  RtmfpSendFlow *cflow;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 9, &link);
  start_sending (&fx.client, msgs_for_bytes (16 * 1024 * 1024));
  rtmfp_sim_net_run_for (fx.net, 200 * MS);
  cflow = fx.client.sflow;

  /* the server closes while the client is sending */
  t0 = rtmfp_sim_net_now (fx.net);
  rtmfp_session_close (fx.server.session, t0);
  rtmfp_sim_net_kick (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          2 * SEC));
  g_assert_cmpint (fx.server.closed_error, ==, -1);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_FARCLOSE_LINGER);
  /* the client's flows were aborted; writing fails, nothing crashes */
  g_assert_false (rtmfp_session_write (fx.client.session, cflow,
          (const guint8 *) "x", 1, RTMFP_NO_DEADLINE, 0,
          rtmfp_sim_net_now (fx.net)));
  g_assert_cmpuint (fx.client.closed, ==, 0);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          30 * SEC));
  g_assert_cmpint (fx.client.closed_at - t0, >=, 19 * SEC);
  g_assert_cmpint (fx.client.closed_at - t0, <, 20 * SEC);
  g_assert_cmpint (fx.client.closed_error, ==, RTMFP_SESSION_ERROR_CLOSED);
  g_assert_cmpuint (fx.client.closed, ==, 1);
  g_assert_cmpuint (fx.server.closed, ==, 1);
  fixture_teardown (&fx);
}

/* Close Requests into the void: resent every 5 s, given up after 90 s */
static void
test_close_unanswered (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;
  guint64 before;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 10, &link);
  rtmfp_sim_host_set_blackhole (fx.server.host, TRUE);
  before = fx.client_datagrams;
  t0 = rtmfp_sim_net_now (fx.net);
  rtmfp_session_close (fx.client.session, t0);
  rtmfp_sim_net_kick (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          120 * SEC));
  g_assert_cmpint (fx.client.closed_at - t0, >=, 90 * SEC);
  g_assert_cmpint (fx.client.closed_at - t0, <, 91 * SEC);
  /* one at once, then one every 5 s: 18 or 19 in 90 s */
  g_assert_cmpuint (fx.client_datagrams - before, >=, 18);
  g_assert_cmpuint (fx.client_datagrams - before, <=, 19);
  fixture_teardown (&fx);
}

static void
test_abort (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 11, &link);
  t0 = rtmfp_sim_net_now (fx.net);
  rtmfp_session_abort (fx.client.session, t0);
  /* closed at once, the far end learns it from the Close Ack */
  g_assert_cmpuint (fx.client.closed, ==, 1);
  g_assert_cmpint (fx.client.closed_error, ==, RTMFP_SESSION_ERROR_ABORTED);
  rtmfp_sim_net_kick (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          2 * SEC));
  g_assert_cmpint (fx.server.closed_at - t0, <, 100 * MS);
  g_assert_cmpint (fx.server.closed_error, ==, RTMFP_SESSION_ERROR_CLOSED);
  fixture_teardown (&fx);
}

/* ---- keepalive and dead peers ---- */

static void
test_idle_timeout (void)
{
  Fixture fx;
  RtmfpSimLink link;
  gint64 t0;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 12, &link);
  rtmfp_session_set_keepalive (fx.server.session, 5 * SEC);
  rtmfp_session_set_idle_timeout (fx.server.session, 20 * SEC);
  rtmfp_session_set_keepalive (fx.client.session, 5 * SEC);
  rtmfp_session_set_idle_timeout (fx.client.session, 20 * SEC);

  /* alive: keepalives hold an otherwise silent session open */
  rtmfp_sim_net_run_for (fx.net, 120 * SEC);
  g_assert_cmpuint (fx.server.closed + fx.client.closed, ==, 0);
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_OPEN);

  /* the client dies silently */
  rtmfp_sim_host_set_blackhole (fx.client.host, TRUE);
  t0 = rtmfp_sim_net_now (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          60 * SEC));
  g_assert_cmpint (fx.server.closed_error, ==, RTMFP_SESSION_ERROR_IDLE);
  g_assert_cmpint (fx.server.state_at_close, ==, RTMFP_SESSION_CLOSED);
  /* the last thing it heard was at most one keepalive period before */
  g_assert_cmpint (fx.server.closed_at - t0, >, 15 * SEC);
  g_assert_cmpint (fx.server.closed_at - t0, <=, 20 * SEC);
  fixture_teardown (&fx);
}

static void
test_keepalive_floor (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats a, b;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 13, &link);
  rtmfp_session_set_keepalive (fx.client.session, 0);
  rtmfp_session_set_keepalive (fx.server.session, 1 * SEC);    /* -> 5 s */
  rtmfp_session_get_stats (fx.server.session, &a);
  rtmfp_sim_net_run_for (fx.net, 60 * SEC);
  rtmfp_session_get_stats (fx.server.session, &b);
  /* a Ping every 5 s (each answered), not every second */
  g_assert_cmpuint (b.packets_sent - a.packets_sent, >=, 10);
  g_assert_cmpuint (b.packets_sent - a.packets_sent, <=, 13);
  g_assert_cmpuint (b.packets_received - a.packets_received, ==,
      b.packets_sent - a.packets_sent);
  fixture_teardown (&fx);
}

/* ---- RTT through the timestamp echo ---- */

static void
test_rtt (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSessionStats cs, ss;
  guint i;

  rtmfp_sim_link_init (&link);
  link.delay_us = 25 * MS;
  fixture_setup (&fx, 14, &link);

  /* one small message every 500 ms: the receiver delays its acks up to
   * 200 ms, which the echo's elapsed-time correction takes out */
  fx.client.sflow = rtmfp_session_open_flow (fx.client.session,
      (const guint8 *) "test-flow", 9, NULL);
  fx.server.partial = TRUE;
  for (i = 0; i < 40; i++) {
    write_timed (&fx.client, i, RTMFP_NO_DEADLINE);
    rtmfp_sim_net_run_for (fx.net, 500 * MS);
  }
  g_assert_cmpuint (fx.server.rx_msgs, ==, 40);
  rtmfp_session_get_stats (fx.client.session, &cs);
  rtmfp_session_get_stats (fx.server.session, &ss);
  g_test_message ("srtt client %" G_GINT64_FORMAT " server %" G_GINT64_FORMAT,
      cs.srtt_us, ss.srtt_us);
  g_assert_cmpint (cs.srtt_us, >=, 40 * MS);
  g_assert_cmpint (cs.srtt_us, <=, 60 * MS);
  g_assert_cmpint (ss.srtt_us, >=, 40 * MS);
  g_assert_cmpint (ss.srtt_us, <=, 60 * MS);
  /* ERTO = max(SRTT + 4 RTTVAR + 200 ms, 250 ms) */
  g_assert_cmpint (cs.erto_us, ==, MAX (cs.srtt_us + 4 * cs.rttvar_us +
          200 * MS, 250 * MS));
  g_assert_cmpint (cs.erto_us, <, 400 * MS);

  /* the path gets longer: the estimate follows */
  link.delay_us = 100 * MS;
  rtmfp_sim_net_set_link (fx.net, &link);
  for (i = 40; i < 80; i++) {
    write_timed (&fx.client, i, RTMFP_NO_DEADLINE);
    rtmfp_sim_net_run_for (fx.net, 500 * MS);
  }
  rtmfp_session_get_stats (fx.client.session, &cs);
  g_assert_cmpint (cs.srtt_us, >=, 190 * MS);
  g_assert_cmpint (cs.srtt_us, <=, 215 * MS);
  g_assert_false (fx.server.rx_bad);
  fixture_teardown (&fx);
}

/* ---- flow startup ---- */

static void
test_flow_rejected (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSendFlow *f;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 15, &link);
  fx.server.reject_flows = TRUE;
  f = rtmfp_session_open_flow (fx.client.session, (const guint8 *)
      "test-flow", 9, NULL);
  g_assert_true (rtmfp_session_write (fx.client.session, f,
          (const guint8 *) "hello", 5, RTMFP_NO_DEADLINE, 0,
          rtmfp_sim_net_now (fx.net)));
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 2 * SEC);
  g_assert_cmpuint (fx.server.flows_opened, ==, 1);
  g_assert_cmpuint (fx.client.exceptions, ==, 1);
  g_assert_cmpuint (fx.client.exception_code, ==, 0);
  g_assert_cmpint (rtmfp_send_flow_get_state (f), !=, RTMFP_SEND_FLOW_OPEN);
  g_assert_false (rtmfp_session_write (fx.client.session, f,
          (const guint8 *) "again", 5, RTMFP_NO_DEADLINE, 0,
          rtmfp_sim_net_now (fx.net)));
  fixture_teardown (&fx);
}

static void
test_flow_association (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSendFlow *ret, *f1, *f2;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 16, &link);
  start_sending (&fx.client, 3);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          10 * SEC));
  g_assert_null (fx.server.last_assoc);

  /* the server answers on a return flow associated with the client's */
  ret = rtmfp_session_open_flow (fx.server.session, (const guint8 *)
      "test-flow", 9, fx.server.rflow);
  /* the client's flow completed (FIN): the association is refused */
  g_assert_null (ret);

  /* a fresh flow that stays open */
  f1 = rtmfp_session_open_flow (fx.client.session, (const guint8 *)
      "test-flow", 9, NULL);
  g_assert_true (rtmfp_session_write (fx.client.session, f1,
          (const guint8 *) "q", 1, RTMFP_NO_DEADLINE, 0,
          rtmfp_sim_net_now (fx.net)));
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 1 * SEC);
  g_assert_cmpuint (fx.server.flows_opened, ==, 2);
  /* flow IDs never collide with a lingering flow */
  g_assert_cmpuint (rtmfp_send_flow_get_id (f1), !=,
      rtmfp_send_flow_get_id (fx.client.sflow));
  ret = rtmfp_session_open_flow (fx.server.session, (const guint8 *)
      "test-flow", 9, fx.server.rflow);
  g_assert_nonnull (ret);
  g_assert_true (rtmfp_session_write (fx.server.session, ret,
          (const guint8 *) "a", 1, RTMFP_NO_DEADLINE, 0,
          rtmfp_sim_net_now (fx.net)));
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 1 * SEC);
  g_assert_cmpuint (fx.client.flows_opened, ==, 1);
  g_assert_true (fx.client.last_assoc == f1);
  g_assert_cmpuint (fx.client.rx_msgs, ==, 1);

  /* once that flow is finished, no new return flow may name it */
  rtmfp_session_close_flow (fx.client.session, f1, rtmfp_sim_net_now (fx.net));
  rtmfp_sim_net_kick (fx.net);
  rtmfp_sim_net_run_for (fx.net, 1 * SEC);
  g_assert_cmpint (rtmfp_recv_flow_get_state (fx.server.rflow), !=,
      RTMFP_RECV_FLOW_OPEN);
  f2 = rtmfp_session_open_flow (fx.server.session, (const guint8 *)
      "test-flow", 9, fx.server.rflow);
  g_assert_null (f2);
  fixture_teardown (&fx);
}

/* 3.6.2.9 / 3.6.3.5 / 3.6.3.6: a receiver that stops reading closes its
 * window; the sender then only sends Buffer Probes (timer driven, backing
 * off) until the window opens again, and the transfer completes intact. */
static void
test_flow_window (void)
{
  Fixture fx;
  RtmfpSimLink link;
  guint i, probes = 0, data_late = 0;
  gint64 t_stalled;

  rtmfp_sim_link_init (&link);
  fixture_setup_full (&fx, 25, &link, TRUE);
  fx.server.rx_capacity = 16 * 1024;
  fx.server.rx_paused = TRUE;
  start_sending (&fx.client, msgs_for_bytes (200 * 1024));
  rtmfp_sim_net_run_for (fx.net, 2 * SEC);
  t_stalled = rtmfp_sim_net_now (fx.net);
  rtmfp_sim_net_run_for (fx.net, 10 * SEC);
  g_assert_cmpuint (fx.server.rx_msgs, ==, 0);
  g_assert_false (received_all (&fx.server));

  for (i = 0; i < fx.wire->len; i++) {
    WirePkt *w = &g_array_index (fx.wire, WirePkt, i);
    if (w->from != &fx.client || w->t < t_stalled)
      continue;
    if (wire_has_chunk (w, RTMFP_CHUNK_BUFFER_PROBE))
      probes++;
    if (w->has_ud)
      data_late++;
  }
  /* suspended: probes, starting at >= 1 s and backing off; no data */
  g_assert_cmpuint (data_late, ==, 0);
  g_assert_cmpuint (probes, >=, 2);
  g_assert_cmpuint (probes, <=, 6);

  /* the reader resumes: the next probe's answer reopens the window */
  rtmfp_recv_flow_set_paused (fx.server.rflow, FALSE);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all, &fx.server,
          120 * SEC));
  check_transfer (&fx.client, &fx.server);
  fixture_teardown (&fx);
}

/* ---- on the wire ---- */

/* Checks every captured packet sent by `x` against 2.2.4 and 3.5.2.2 -
 * 3.5.2.3: mode, timestamp (250 Hz clock), the exact timestamp echo
 * (TS_RX + whole 4 ms ticks since it changed, only when changed), acks
 * ahead of data, the burst limit.  The link has a fixed delay and no
 * loss, so a packet sent at t arrives at t + delay.  Of several arrivals
 * at the very instant a packet leaves, some prefix (in sending order) was
 * processed before it: the echo must match one such prefix, never fewer
 * than for an earlier packet of the same instant. */
typedef struct {
  gboolean valid;
  guint16 ts_rx;
  gint64 ts_rx_time;
} EchoModel;

static void
echo_model_apply (EchoModel * m, const WirePkt * in, gint64 delay)
{
  if (!m->valid || in->ts != m->ts_rx) {
    m->ts_rx = in->ts;
    m->ts_rx_time = in->t + delay;
    m->valid = TRUE;
  }
}

static gboolean
echo_ok (const EchoModel * m, const WirePkt * w, gboolean last_valid,
    guint16 last_echo)
{
  guint16 expect;

  if (!m->valid)
    return !(w->flags & RTMFP_PKT_FLAG_TSE);
  expect = (guint16) (m->ts_rx + (w->t - m->ts_rx_time) / 4000);
  if (w->flags & RTMFP_PKT_FLAG_TSE)
    return w->echo == expect && (!last_valid || w->echo != last_echo);
  return last_valid && expect == last_echo;
}

static void
check_wire_from (Fixture * fx, Peer * x, gint64 delay)
{
  GArray *wire = fx->wire;
  EchoModel model = { FALSE, 0, 0 };
  gboolean last_valid = FALSE;
  guint16 last_echo = 0;
  guint i, j = 0, burst = 0, echoes = 0, n = 0;
  guint same_instant_min = 0;
  gint64 instant = G_MININT64;
  guint8 mode = x == &fx->client ? RTMFP_MODE_INITIATOR :
      RTMFP_MODE_RESPONDER;

  for (i = 0; i < wire->len; i++) {
    WirePkt *w = &g_array_index (wire, WirePkt, i);
    EchoModel m;
    guint k, p;
    gboolean ok = FALSE;

    if (w->from != x)
      continue;
    n++;

    /* what surely arrived at x before now */
    while (j < wire->len) {
      WirePkt *in = &g_array_index (wire, WirePkt, j);
      if (in->to != x) {
        j++;
        continue;
      }
      if (in->t + delay >= w->t)
        break;
      echo_model_apply (&model, in, delay);
      if (in->has_ack)
        burst = 0;
      j++;
    }
    if (w->t != instant) {
      instant = w->t;
      same_instant_min = 0;
    }

    /* an ack arriving at this very instant may have reset the burst count
     * (counted conservatively) */
    for (k = j; k < wire->len; k++) {
      WirePkt *in = &g_array_index (wire, WirePkt, k);
      if (in->to != x)
        continue;
      if (in->t + delay > w->t)
        break;
      if (in->has_ack)
        burst = 0;
    }

    /* try 0, 1, ... of the arrivals at this instant */
    m = model;
    p = 0;
    k = j;
    while (TRUE) {
      if (p >= same_instant_min && echo_ok (&m, w, last_valid, last_echo)) {
        ok = TRUE;
        break;
      }
      while (k < wire->len && g_array_index (wire, WirePkt, k).to != x)
        k++;
      if (k >= wire->len || g_array_index (wire, WirePkt, k).t + delay > w->t)
        break;
      echo_model_apply (&m, &g_array_index (wire, WirePkt, k), delay);
      k++;
      p++;
    }
    if (!ok)
      g_error ("packet %u from %s at %" G_GINT64_FORMAT ": echo %s%u does "
          "not match the far end's timestamps", i, x == &fx->client ?
          "client" : "server", w->t, (w->flags & RTMFP_PKT_FLAG_TSE) ? "" :
          "(none) ", w->echo);
    same_instant_min = p;

    g_assert_cmpuint (w->flags & RTMFP_PKT_MODE_MASK, ==, mode);
    g_assert_true (w->flags & RTMFP_PKT_FLAG_TS);
    g_assert_cmpuint (w->ts, ==, (guint16) ((w->t / 4000) & 0xffff));
    g_assert_cmpuint (w->len, <=, RTMFP_MAX_DATAGRAM_SIZE);
    g_assert_false (w->ack_after_ud);
    g_assert_cmpuint (w->n_chunks, >, 0);

    if (w->flags & RTMFP_PKT_FLAG_TSE) {
      last_echo = w->echo;
      last_valid = TRUE;
      echoes++;
    }
    if (w->has_ud) {
      /* 3.5.2.3: at most 6 packets with user data between acks */
      g_assert_cmpuint (burst, <, 6);
      burst++;
    }
  }
  g_assert_cmpuint (n, >, 100);
  g_assert_cmpuint (echoes, >, 10);
}

static void
test_wire (void)
{
  Fixture fx;
  RtmfpSimLink link;
  const gint64 delay = 15 * MS;
  gint64 t_ping, t_close;
  guint i, pings = 0, replies = 0, closes = 0, close_acks = 0;

  rtmfp_sim_link_init (&link);
  link.delay_us = delay;
  fixture_setup_full (&fx, 18, &link, TRUE);

  start_sending (&fx.client, msgs_for_bytes (400 * 1024));
  start_sending (&fx.server, msgs_for_bytes (150 * 1024));
  rtmfp_sim_net_run_for (fx.net, 50 * MS);
  t_ping = rtmfp_sim_net_now (fx.net);
  rtmfp_session_ping (fx.client.session, t_ping);
  rtmfp_sim_net_kick (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all_both, &fx,
          60 * SEC));
  check_transfer (&fx.client, &fx.server);
  check_transfer (&fx.server, &fx.client);
  rtmfp_sim_net_run_for (fx.net, 2 * SEC);

  t_close = rtmfp_sim_net_now (fx.net);
  rtmfp_session_close (fx.client.session, t_close);
  rtmfp_sim_net_kick (fx.net);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          2 * SEC));

  g_assert_cmpuint (fx.wire_undecodable, ==, 0);
  g_assert_cmpuint (fx.wire->len, >, 500);
  check_wire_from (&fx, &fx.client, delay);
  check_wire_from (&fx, &fx.server, delay);

  for (i = 0; i < fx.wire->len; i++) {
    WirePkt *w = &g_array_index (fx.wire, WirePkt, i);

    /* nothing time critical here */
    g_assert_false (w->flags & (RTMFP_PKT_FLAG_TC | RTMFP_PKT_FLAG_TCR));
    /* 3.5.4: our Ping, answered at once with the same (empty) message */
    if (w->has_ping) {
      g_assert_true (w->from == &fx.client);
      g_assert_cmpint (w->t, ==, t_ping);
      g_assert_cmpuint (w->ping_len, ==, 0);
      pings++;
    }
    if (w->has_ping_reply) {
      g_assert_true (w->from == &fx.server);
      g_assert_cmpint (w->t, ==, t_ping + delay);
      g_assert_cmpuint (w->reply_len, ==, 0);
      replies++;
    }
    /* 3.5.5: Close Request, answered by a Close Ack; both empty */
    if (wire_has_chunk (w, RTMFP_CHUNK_SESSION_CLOSE)) {
      g_assert_true (w->from == &fx.client);
      g_assert_cmpint (w->t, ==, t_close);
      g_assert_cmpuint (w->n_chunks, ==, 1);
      g_assert_cmpuint (w->lens[0], ==, 0);
      closes++;
    }
    if (wire_has_chunk (w, RTMFP_CHUNK_SESSION_CLOSE_ACK)) {
      g_assert_true (w->from == &fx.server);
      g_assert_cmpint (w->t, ==, t_close + delay);
      g_assert_cmpuint (w->n_chunks, ==, 1);
      g_assert_cmpuint (w->lens[0], ==, 0);
      close_acks++;
    }
    if (w->t > t_close)
      g_assert_false (w->has_ud || w->has_ack);
  }
  g_assert_cmpuint (pings, ==, 1);
  g_assert_cmpuint (replies, ==, 1);
  g_assert_cmpuint (closes, ==, 1);
  g_assert_cmpuint (close_acks, ==, 1);
  fixture_teardown (&fx);
}

/* 3.6.3.4: a lone data packet is acknowledged after the 200 ms delay;
 * the second of two is acknowledged at once; a new flow at once. */
static void
test_wire_delayed_ack (void)
{
  Fixture fx;
  RtmfpSimLink link;
  const gint64 delay = 20 * MS;
  guint i, j, n_single = 0, n_pair = 0;

  rtmfp_sim_link_init (&link);
  link.delay_us = delay;
  fixture_setup_full (&fx, 19, &link, TRUE);
  fx.server.partial = TRUE;
  fx.client.sflow = rtmfp_session_open_flow (fx.client.session,
      (const guint8 *) "test-flow", 9, NULL);
  for (i = 0; i < 20; i++) {
    write_timed_sized (&fx.client, i, RTMFP_NO_DEADLINE, i < 10 ? 300 : 2000,
        0);
    rtmfp_sim_net_run_for (fx.net, 500 * MS);
  }
  g_assert_cmpuint (fx.server.rx_msgs, ==, 20);
  g_assert_false (fx.server.rx_bad);
  g_assert_cmpuint (fx.wire_undecodable, ==, 0);

  for (i = 0; i < fx.wire->len; i++) {
    WirePkt *d = &g_array_index (fx.wire, WirePkt, i);
    WirePkt *d2 = NULL, *ack = NULL;
    gint64 arrival;

    if (d->from != &fx.client || !d->has_ud)
      continue;
    /* the data packets of one message leave together */
    if (i + 1 < fx.wire->len) {
      WirePkt *n = &g_array_index (fx.wire, WirePkt, i + 1);
      if (n->from == &fx.client && n->has_ud && n->t == d->t)
        d2 = n;
    }
    arrival = (d2 ? d2->t : d->t) + delay;
    for (j = i + 1; j < fx.wire->len; j++) {
      WirePkt *a = &g_array_index (fx.wire, WirePkt, j);
      if (a->from == &fx.server && a->has_ack && a->t >= arrival) {
        ack = a;
        break;
      }
    }
    g_assert_nonnull (ack);
    if (n_single == 0 && n_pair == 0)
      g_assert_cmpint (ack->t - arrival, ==, 0);        /* new flow */
    else if (d2)
      g_assert_cmpint (ack->t - arrival, ==, 0);        /* 2nd packet */
    else
      g_assert_cmpint (ack->t - arrival, ==, 200 * MS); /* delayed */
    if (d2) {
      n_pair++;
      i++;
    } else
      n_single++;
  }
  g_assert_cmpuint (n_single, ==, 10);
  g_assert_cmpuint (n_pair, ==, 10);
  /* one ack per message, nothing else */
  {
    guint acks = 0;
    for (i = 0; i < fx.wire->len; i++) {
      WirePkt *w = &g_array_index (fx.wire, WirePkt, i);
      if (w->from == &fx.server) {
        g_assert_true (w->has_ack);
        acks++;
      }
    }
    g_assert_cmpuint (acks, ==, 20);
  }
  fixture_teardown (&fx);
}

/* ---- re-entrancy ---- */

static void
test_reentrant (void)
{
  Fixture fx;
  RtmfpSimLink link;

  rtmfp_sim_link_init (&link);

  /* the receiver aborts its session from inside a message delivery, in
   * the middle of a packet full of messages, and drops its own reference
   * from inside session_closed */
  fixture_setup (&fx, 20, &link);
  fx.server.abort_after_msgs = 5;
  fx.server.unref_in_closed = TRUE;
  start_sending (&fx.client, 200);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.server,
          10 * SEC));
  g_assert_null (fx.server.session);
  g_assert_cmpint (fx.server.closed_error, ==, RTMFP_SESSION_ERROR_ABORTED);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          10 * SEC));
  g_assert_cmpint (fx.client.closed_error, ==, RTMFP_SESSION_ERROR_CLOSED);
  rtmfp_sim_net_run_for (fx.net, 30 * SEC);
  g_assert_cmpuint (fx.server.closed, ==, 1);
  g_assert_cmpuint (fx.client.closed, ==, 1);
  fixture_teardown (&fx);

  /* the receiver closes its session from inside flow_opened */
  fixture_setup (&fx, 21, &link);
  fx.server.close_in_flow_opened = TRUE;
  start_sending (&fx.client, 50);
  rtmfp_sim_net_run_for (fx.net, 2 * SEC);
  g_assert_cmpuint (fx.server.flows_opened, ==, 1);
  g_assert_cmpuint (fx.server.rx_msgs, ==, 0);
  g_assert_cmpuint (fx.server.closed, ==, 1);
  g_assert_cmpint (fx.server.closed_error, ==, -1);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_FARCLOSE_LINGER);
  g_assert_true (rtmfp_sim_net_run_until (fx.net, closed_cond, &fx.client,
          30 * SEC));
  fixture_teardown (&fx);
}

/* ---- crafted packets straight into a session ---- */

/* A plain packet from the client (initiator mark), without timestamps */
static void
inject (Fixture * fx, RtmfpSession * s, const RtmfpAddr * from,
    const GByteArray * chunks)
{
  GByteArray *pkt = g_byte_array_new ();
  RtmfpPacket p;
  guint8 flags = rtmfp_session_is_initiator (s) ? RTMFP_MODE_RESPONDER :
      RTMFP_MODE_INITIATOR;

  g_byte_array_append (pkt, &flags, 1);
  g_byte_array_append (pkt, chunks->data, chunks->len);
  g_assert_true (rtmfp_packet_parse (pkt->data, pkt->len, &p));
  _rtmfp_session_receive (s, &p, from, pkt->len + 20,
      rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  g_byte_array_unref (pkt);
}

/* A User Data chunk opening flow `id` with the given option list */
static void
append_opening_chunk (GByteArray * out, guint64 id, const GByteArray * opts)
{
  RtmfpUserDataChunk c;

  memset (&c, 0, sizeof c);
  c.flow_id = id;
  c.seq = 1;
  c.fsn_offset = 1;
  if (opts) {
    c.options = opts->data;
    c.options_len = opts->len;
  }
  c.data = (const guint8 *) "x";
  c.len = 1;
  rtmfp_user_data_chunk_append (out, FALSE, &c);
}

static RtmfpRecvFlowState
inject_opening (Fixture * fx, guint64 id, gboolean md, gboolean assoc,
    guint64 assoc_id, guint64 extra_type)
{
  GByteArray *opts = g_byte_array_new (), *chunks = g_byte_array_new ();
  RtmfpRecvFlow *f;

  if (md)
    rtmfp_option_append (opts, RTMFP_UD_OPT_METADATA, (const guint8 *)
        "test-flow", 9);
  if (assoc)
    rtmfp_option_append_vlu (opts, RTMFP_UD_OPT_RETURN_ASSOCIATION, assoc_id);
  if (extra_type != G_MAXUINT64)
    rtmfp_option_append (opts, extra_type, (const guint8 *) "?", 1);
  rtmfp_marker_append (opts);
  append_opening_chunk (chunks, id, opts);
  inject (fx, fx->server.session, rtmfp_sim_host_get_address
      (fx->client.host), chunks);
  g_byte_array_unref (opts);
  g_byte_array_unref (chunks);
  f = rtmfp_session_find_recv_flow (fx->server.session, id);
  g_assert_nonnull (f);
  return rtmfp_recv_flow_get_state (f);
}

/* 3.6.3.1: the automatic rejection rules of the receiving side */
static void
test_inject_flow_startup (void)
{
  Fixture fx;
  RtmfpSimLink link;
  RtmfpSendFlow *open_flow, *closed_flow;
  guint i, exceptions = 0;

  rtmfp_sim_link_init (&link);
  fixture_setup_full (&fx, 22, &link, TRUE);
  fx.server.accept_any = TRUE;
  open_flow = rtmfp_session_open_flow (fx.server.session, (const guint8 *)
      "test-flow", 9, NULL);
  closed_flow = rtmfp_session_open_flow (fx.server.session, (const guint8 *)
      "test-flow", 9, NULL);
  rtmfp_session_close_flow (fx.server.session, closed_flow,
      rtmfp_sim_net_now (fx.net));

  /* metadata: accepted, delivered */
  g_assert_cmpint (inject_opening (&fx, 1000, TRUE, FALSE, 0, G_MAXUINT64),
      ==, RTMFP_RECV_FLOW_OPEN);
  g_assert_cmpuint (fx.server.flows_opened, ==, 1);
  g_assert_cmpuint (fx.server.rx_msgs, ==, 1);
  g_assert_null (fx.server.last_assoc);
  /* no metadata: rejected without asking the user */
  g_assert_cmpint (inject_opening (&fx, 1001, FALSE, FALSE, 0, G_MAXUINT64),
      ==, RTMFP_RECV_FLOW_REJECTED);
  /* association with no such sending flow */
  g_assert_cmpint (inject_opening (&fx, 1002, TRUE, TRUE, 777, G_MAXUINT64),
      ==, RTMFP_RECV_FLOW_REJECTED);
  /* association with a sending flow that is not F_OPEN */
  g_assert_cmpint (inject_opening (&fx, 1003, TRUE, TRUE,
          rtmfp_send_flow_get_id (closed_flow), G_MAXUINT64), ==,
      RTMFP_RECV_FLOW_REJECTED);
  /* an unknown option below 0x2000 must be understood: rejected */
  g_assert_cmpint (inject_opening (&fx, 1004, TRUE, FALSE, 0, 0x15), ==,
      RTMFP_RECV_FLOW_REJECTED);
  g_assert_cmpuint (fx.server.flows_opened, ==, 1);
  /* one at 0x2000 or above is ignored */
  g_assert_cmpint (inject_opening (&fx, 1005, TRUE, FALSE, 0, 0x2000), ==,
      RTMFP_RECV_FLOW_OPEN);
  /* a valid association reaches the user */
  g_assert_cmpint (inject_opening (&fx, 1006, TRUE, TRUE,
          rtmfp_send_flow_get_id (open_flow), G_MAXUINT64), ==,
      RTMFP_RECV_FLOW_OPEN);
  g_assert_true (fx.server.last_assoc == open_flow);
  g_assert_cmpuint (fx.server.flows_opened, ==, 3);
  /* the user says no: rejected with code 0 */
  fx.server.reject_flows = TRUE;
  g_assert_cmpint (inject_opening (&fx, 1007, TRUE, FALSE, 0, G_MAXUINT64),
      ==, RTMFP_RECV_FLOW_REJECTED);
  g_assert_cmpuint (fx.server.flows_opened, ==, 4);

  /* every new flow is acknowledged at once; the rejected ones with a Flow
   * Exception Report right before the ack */
  rtmfp_sim_net_run_for (fx.net, 10 * MS);
  for (i = 0; i < fx.wire->len; i++) {
    WirePkt *w = &g_array_index (fx.wire, WirePkt, i);
    guint k;
    if (w->from != &fx.server)
      continue;
    for (k = 0; k < w->n_chunks; k++) {
      if (w->types[k] == RTMFP_CHUNK_FLOW_EXCEPTION) {
        g_assert_cmpuint (k + 1, <, w->n_chunks);
        g_assert_true (w->types[k + 1] == RTMFP_CHUNK_ACK_BITMAP ||
            w->types[k + 1] == RTMFP_CHUNK_ACK_RANGES);
        exceptions++;
      }
    }
  }
  g_assert_cmpuint (exceptions, ==, 5);
  g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
      RTMFP_SESSION_OPEN);
  fixture_teardown (&fx);
}

/* 3.5.4: a Ping is answered to the address it came from, with its message;
 * that address also gets a mobility probe (3.5.4.2), but DESTADDR only
 * moves once a probe is answered from there. */
static void
test_inject_ping_source (void)
{
  Fixture fx;
  RtmfpSimLink link;
  GByteArray *chunks = g_byte_array_new ();
  RtmfpSimHost *h3;
  guint i, replies = 0, probes = 0;
  gint64 t;

  rtmfp_sim_link_init (&link);
  fixture_setup_full (&fx, 23, &link, TRUE);
  /* a host at another address (with no session: it drops what it gets);
   * the capture decrypts what the server sends there */
  h3 = rtmfp_sim_net_add_host (fx.net, "10.0.0.9:7000", NULL, NULL, NULL);
  fx.alias = *rtmfp_sim_host_get_address (h3);
  fx.has_alias = TRUE;

  rtmfp_chunk_append (chunks, RTMFP_CHUNK_PING, (const guint8 *) "hello", 5);
  t = rtmfp_sim_net_now (fx.net);
  inject (&fx, fx.server.session, &fx.alias, chunks);
  g_byte_array_unref (chunks);
  rtmfp_sim_net_run_for (fx.net, 3 * SEC);

  g_assert_cmpuint (fx.wire_undecodable, ==, 0);
  for (i = 0; i < fx.wire->len; i++) {
    WirePkt *w = &g_array_index (fx.wire, WirePkt, i);
    if (!w->to_alias)
      continue;
    g_assert_true (w->from == &fx.server);
    g_assert_cmpint (w->t, ==, t);
    g_assert_false (w->has_ud || w->has_ack);
    if (w->has_ping_reply) {
      g_assert_cmpmem (w->reply, w->reply_len, "hello", 5);
      replies++;
    }
    if (w->has_ping) {
      /* the probe: a marking, a timestamp and a hash */
      g_assert_cmpuint (w->ping_len, >=, 1 + 8 + 8);
      g_assert_cmpuint (w->ping[0], ==, 'M');
      probes++;
    }
  }
  g_assert_cmpuint (replies, ==, 1);
  g_assert_cmpuint (probes, ==, 1);
  /* unanswered: DESTADDR unchanged, no address change reported */
  g_assert_cmpuint (fx.server.addr_changed, ==, 0);
  g_assert_true (rtmfp_addr_equal (rtmfp_session_get_far_address
          (fx.server.session), rtmfp_sim_host_get_address (fx.client.host)));
  fixture_teardown (&fx);
}

/* Hostile (authenticated) input: malformed and random chunks never crash,
 * leak or wedge the session; real traffic afterwards is intact. */
static void
test_inject_hostile (void)
{
  Fixture fx;
  RtmfpSimLink link;
  GRand *r = g_rand_new_with_seed (99);
  static const guint8 types[] = { 0x00, 0x01, 0x0f, 0x10, 0x11, 0x18, 0x30,
    0x38, 0x41, 0x50, 0x51, 0x5e, 0x70, 0x71, 0x78, 0x79, 0x7f, 0xff, 0x42
  };
  const RtmfpAddr *caddr;
  guint i, k;

  rtmfp_sim_link_init (&link);
  fixture_setup (&fx, 24, &link);
  caddr = rtmfp_sim_host_get_address (fx.client.host);
  fx.server.reject_flows = TRUE;

  /* specific cases */
  {
    GByteArray *c = g_byte_array_new ();
    /* Next User Data with no User Data before it */
    rtmfp_chunk_append (c, RTMFP_CHUNK_NEXT_USER_DATA, (const guint8 *)
        "\x00" "abc", 4);
    /* truncated User Data, then a chunk running past the end */
    rtmfp_chunk_append (c, RTMFP_CHUNK_USER_DATA, (const guint8 *) "\x00\x87",
        2);
    g_byte_array_append (c, (const guint8 *) "\x10\xff\xf0\x00", 4);
    inject (&fx, fx.server.session, caddr, c);
    g_byte_array_set_size (c, 0);
    /* acks, probes and exceptions for flows that do not exist */
    rtmfp_chunk_append (c, RTMFP_CHUNK_ACK_RANGES, (const guint8 *)
        "\x87\x68\x7f\x10\x00\x00", 6);
    rtmfp_chunk_append (c, RTMFP_CHUNK_BUFFER_PROBE, (const guint8 *)
        "\x87\x68", 2);
    rtmfp_chunk_append (c, RTMFP_CHUNK_FLOW_EXCEPTION, (const guint8 *)
        "\x87\x68\x05", 3);
    /* a 64-bit overflowing VLU flow ID */
    rtmfp_chunk_append (c, RTMFP_CHUNK_USER_DATA, (const guint8 *)
        "\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x01x",
        15);
    /* many pings in one packet */
    for (k = 0; k < 100; k++)
      rtmfp_chunk_append (c, RTMFP_CHUNK_PING, (const guint8 *) "p", 1);
    inject (&fx, fx.server.session, caddr, c);
    g_byte_array_unref (c);
  }

  /* random chunks; flow-carrying ones name flows >= 1000 so that the real
   * flows below are not disturbed */
  for (i = 0; i < 3000; i++) {
    GByteArray *c = g_byte_array_new ();
    guint n = g_rand_int_range (r, 1, 6);

    for (k = 0; k < n; k++) {
      guint8 type = types[g_rand_int_range (r, 0, G_N_ELEMENTS (types))];
      guint len = g_rand_int_range (r, 0, 60), j;
      GByteArray *pl = g_byte_array_new ();

      if (type == 0x10) {
        guint8 fl = (guint8) g_rand_int (r);
        g_byte_array_append (pl, &fl, 1);
      }
      if (type == 0x10 || type == 0x18 || type == 0x50 || type == 0x51 ||
          type == 0x5e) {
        guint8 id[2] = { 0x87, (guint8) g_rand_int_range (r, 0x68, 0x7f) };
        g_byte_array_append (pl, id, 2);
      }
      for (j = 0; j < len; j++) {
        guint8 b = (guint8) g_rand_int (r);
        g_byte_array_append (pl, &b, 1);
      }
      rtmfp_chunk_append (c, type, pl->data, pl->len);
      g_byte_array_unref (pl);
    }
    if (g_rand_int_range (r, 0, 4) == 0)
      g_byte_array_set_size (c, g_rand_int_range (r, 0, c->len + 1));
    inject (&fx, fx.server.session, caddr, c);
    g_byte_array_unref (c);
    g_assert_cmpint (rtmfp_session_get_state (fx.server.session), ==,
        RTMFP_SESSION_OPEN);
  }
  g_rand_free (r);
  g_assert_cmpint (rtmfp_session_get_state (fx.client.session), ==,
      RTMFP_SESSION_OPEN);

  /* the session still works both ways */
  fx.server.reject_flows = FALSE;
  start_sending (&fx.client, msgs_for_bytes (256 * 1024));
  start_sending (&fx.server, msgs_for_bytes (256 * 1024));
  g_assert_true (rtmfp_sim_net_run_until (fx.net, received_all_both, &fx,
          60 * SEC));
  check_transfer (&fx.client, &fx.server);
  check_transfer (&fx.server, &fx.client);
  fixture_teardown (&fx);
}

/* ---- the endpoint's timer heap against a scan of every session ---- */

#define TH_CLIENTS 12

typedef struct {
  RtmfpSimNet *net;
  RtmfpSimHost *server;
  RtmfpSimHost *clients[TH_CLIENTS];
  GPtrArray *sessions;          /* every open session, both sides, ref'd */
  GPtrArray *flows;             /* RtmfpSendFlow of sessions[i], or NULL */
  GRand *rand;
  guint checks;
  guint nonempty;               /* checks where some session had a timer */
} TimerHeap;

static void
th_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  TimerHeap *th = ud;

  g_ptr_array_add (th->sessions, rtmfp_session_ref (s));
  g_ptr_array_add (th->flows, NULL);
}

static void
th_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  TimerHeap *th = ud;
  guint i;

  for (i = 0; i < th->sessions->len; i++) {
    if (g_ptr_array_index (th->sessions, i) == s) {
      g_ptr_array_remove_index_fast (th->flows, i);
      g_ptr_array_remove_index_fast (th->sessions, i);
      rtmfp_session_unref (s);
      return;
    }
  }
}

static void
th_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
}

static gboolean
th_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, th_message, NULL, ud);
  return TRUE;
}

static const RtmfpEndpointCallbacks th_callbacks = {
  .session_opened = th_opened,
  .session_closed = th_closed,
  .flow_opened = th_flow_opened,
};

typedef struct {
  gint64 t;
  gboolean opening;
} ThScan;

static void
th_scan_one (gpointer data, gpointer ud)
{
  RtmfpSession *s = data;
  ThScan *sc = ud;
  gint64 v;

  switch (rtmfp_session_get_state (s)) {
    case RTMFP_SESSION_IHELLO_SENT:
    case RTMFP_SESSION_KEYING_SENT:
      sc->opening = TRUE;       /* handshake timers are the endpoint's */
      return;
    default:
      break;
  }
  v = _rtmfp_session_next_timeout (s);
  if (v >= 0 && (sc->t < 0 || v < sc->t))
    sc->t = v;
}

/* What the endpoint's next timeout must be: the earliest deadline of its
 * sessions, as a scan of all of them finds it */
static void
th_check_endpoint (TimerHeap * th, RtmfpEndpoint * ep)
{
  ThScan sc = { -1, FALSE };

  rtmfp_endpoint_foreach_session (ep, th_scan_one, &sc);
  if (sc.opening || rtmfp_endpoint_get_n_reassemblies (ep) > 0)
    return;
  g_assert_cmpint (rtmfp_endpoint_next_timeout (ep), ==, sc.t);
  th->checks++;
  if (sc.t >= 0)
    th->nonempty++;
}

static gboolean
th_check (gpointer ud)
{
  TimerHeap *th = ud;
  guint i;

  th_check_endpoint (th, rtmfp_sim_host_get_endpoint (th->server));
  for (i = 0; i < TH_CLIENTS; i++)
    th_check_endpoint (th, rtmfp_sim_host_get_endpoint (th->clients[i]));
  return FALSE;
}

static void
th_open (TimerHeap * th, guint i, const guint8 * fp)
{
  GByteArray *epd = g_byte_array_new ();

  rtmfp_epd_append_fingerprint (epd, fp);
  g_assert_nonnull (rtmfp_endpoint_open_session (rtmfp_sim_host_get_endpoint
          (th->clients[i]), epd->data, epd->len,
          rtmfp_sim_host_get_address (th->server), 1,
          rtmfp_sim_net_now (th->net)));
  g_byte_array_unref (epd);
}

/* One random action of an application on a random session: each moves
 * some deadline (keepalive, idle timeout, partial-reliability deadline,
 * acks and retransmissions of new data, orderly close) */
static void
th_act (TimerHeap * th, const guint8 * fp)
{
  gint64 now = rtmfp_sim_net_now (th->net);
  RtmfpSession *s;
  RtmfpSendFlow *f;
  guint i, action;
  guint8 data[3000];

  if (th->sessions->len == 0)
    return;
  i = g_rand_int_range (th->rand, 0, th->sessions->len);
  s = g_ptr_array_index (th->sessions, i);
  f = g_ptr_array_index (th->flows, i);
  action = g_rand_int_range (th->rand, 0, 20);
  memset (data, action, sizeof (data));
  if (action < 8) {
    /* data, half of it with a deadline */
    if (f == NULL) {
      f = rtmfp_session_open_flow (s, (const guint8 *) "th", 2, NULL);
      if (f == NULL) {          /* not open (closing) */
        g_assert_cmpint (rtmfp_session_get_state (s), !=,
            RTMFP_SESSION_OPEN);
        return;
      }
      th->flows->pdata[i] = f;
    }
    rtmfp_session_write (s, f, data, g_rand_int_range (th->rand, 1,
            sizeof (data)), action < 4 ? now + g_rand_int_range (th->rand,
                1, 3000) * 1000 : RTMFP_NO_DEADLINE, 0, now);
  } else if (action < 12) {
    rtmfp_session_set_keepalive (s, g_rand_int_range (th->rand, 1, 20) *
        G_TIME_SPAN_SECOND);
  } else if (action < 15) {
    rtmfp_session_set_idle_timeout (s, g_rand_int_range (th->rand, 0, 3) ?
        g_rand_int_range (th->rand, 2, 60) * G_TIME_SPAN_SECOND : 0);
  } else if (action < 17) {
    rtmfp_session_ping (s, now);
  } else if (action == 17 && f) {
    rtmfp_session_close_flow (s, f, now);
    th->flows->pdata[i] = NULL;
  } else if (action == 18) {
    rtmfp_session_close (s, now);
  } else {
    /* a new session from a random client */
    th_open (th, g_rand_int_range (th->rand, 0, TH_CLIENTS), fp);
  }
  rtmfp_sim_net_kick (th->net);
}

/* The endpoint keeps its sessions in a timer heap updated as deadlines
 * move, instead of scanning every session after every event: under
 * random traffic, loss and application calls, its next timeout must be
 * exactly what a scan of every session finds, at every event. */
static void
test_timer_heap (void)
{
  static const guint groups[] = { 14 };
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *sid;
  RtmfpSimLink link;
  TimerHeap th = { 0 };
  guint i, step;
  guint8 fp[RTMFP_FINGERPRINT_SIZE];

  th.net = rtmfp_sim_net_new (0x71e2);
  rtmfp_sim_link_init (&link);
  link.loss = 0.05;
  link.delay_us = 15 * 1000;
  link.jitter_us = 10 * 1000;
  rtmfp_sim_net_set_link (th.net, &link);
  th.sessions = g_ptr_array_new ();
  th.flows = g_ptr_array_new ();
  th.rand = g_rand_new_with_seed (0x71e2);

  sid = rtmfp_identity_new_ephemeral (groups, 1, NULL, TRUE);
  memcpy (fp, rtmfp_identity_get_fingerprint (sid), sizeof (fp));
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = sid;
  th.server = rtmfp_sim_net_add_host (th.net, "10.0.0.1:1935", &cfg,
      &th_callbacks, &th);
  rtmfp_identity_unref (sid);
  for (i = 0; i < TH_CLIENTS; i++) {
    gchar *addr = g_strdup_printf ("10.0.1.%u:5000", i + 1);
    rtmfp_endpoint_config_init (&cfg);
    cfg.accept_sessions = FALSE;
    th.clients[i] = rtmfp_sim_net_add_host (th.net, addr, &cfg,
        &th_callbacks, &th);
    g_free (addr);
    th_open (&th, i, fp);
  }
  rtmfp_sim_net_kick (th.net);

  for (step = 0; step < 600; step++) {
    rtmfp_sim_net_run_until (th.net, th_check, &th,
        g_rand_int_range (th.rand, 1, 400) * 1000);
    th_act (&th, fp);
  }
  /* then quiet: only keepalives, idle timeouts and closes move */
  rtmfp_sim_net_run_until (th.net, th_check, &th, 90 * SEC);

  g_assert_cmpuint (th.checks, >, 10000);
  g_assert_cmpuint (th.nonempty, >, th.checks / 2);

  for (i = 0; i < th.sessions->len; i++)
    rtmfp_session_unref (g_ptr_array_index (th.sessions, i));
  g_ptr_array_set_size (th.sessions, 0);
  rtmfp_sim_net_free (th.net);
  g_ptr_array_unref (th.sessions);
  g_ptr_array_unref (th.flows);
  g_rand_free (th.rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/session/transfer/clean", test_transfer_clean);
  g_test_add_func ("/session/timer-heap", test_timer_heap);
  g_test_add_func ("/session/transfer/lossy", test_transfer_lossy);
  g_test_add_func ("/session/transfer/bidirectional",
      test_transfer_bidirectional);
  g_test_add_func ("/session/partial-reliability", test_partial_reliability);
  g_test_add_func ("/session/congestion", test_congestion);
  g_test_add_func ("/session/live/loss-5", test_live_loss5);
  g_test_add_func ("/session/live/loss-10", test_live_loss10);
  g_test_add_func ("/session/congestion/bulk-loss-1", test_bulk_loss);
  g_test_add_func ("/session/congestion-tcr", test_congestion_tcr);
  g_test_add_func ("/session/address-change", test_address_change);
  g_test_add_func ("/session/close/orderly", test_close_orderly);
  g_test_add_func ("/session/close/ack-lost", test_close_ack_lost);
  g_test_add_func ("/session/close/far", test_close_far);
  g_test_add_func ("/session/close/unanswered", test_close_unanswered);
  g_test_add_func ("/session/close/abort", test_abort);
  g_test_add_func ("/session/keepalive/idle-timeout", test_idle_timeout);
  g_test_add_func ("/session/keepalive/floor", test_keepalive_floor);
  g_test_add_func ("/session/rtt", test_rtt);
  g_test_add_func ("/session/flow/rejected", test_flow_rejected);
  g_test_add_func ("/session/flow/window", test_flow_window);
  g_test_add_func ("/session/wire/headers", test_wire);
  g_test_add_func ("/session/reentrant", test_reentrant);
  g_test_add_func ("/session/inject/flow-startup", test_inject_flow_startup);
  g_test_add_func ("/session/inject/ping-source", test_inject_ping_source);
  g_test_add_func ("/session/inject/hostile", test_inject_hostile);
  g_test_add_func ("/session/wire/delayed-ack", test_wire_delayed_ack);
  g_test_add_func ("/session/flow/association", test_flow_association);

  return g_test_run ();
}
