/* gst-rtmfp fuzz target: an open session (RFC 7016 sections 3.5 - 3.6).
 *
 * Two endpoints, a client (static DH, initiator) and a server (ephemeral
 * DH, responder), are connected through an in-memory network and complete
 * a real handshake (which must succeed).  Then the input drives both:
 * plain packets that the harness protects with the negotiated session keys
 * and injects on either side (so the flow, ack, ping, close, FIHello,
 * mobility... code sees arbitrary chunks past the crypto), messages
 * written by either application, loss, and time.
 *
 * Input: a configuration byte (keying options), then records split at
 * "FUZZ", each a control byte and a payload:
 *   ctl & 7 == 0  payload = a plain packet for the server, protected with
 *                 the client's session keys (mode bits forced to
 *                 initiator unless ctl bit 7); ctl bit 3: from another
 *                 address (address change, 3.5.4)
 *           == 1  the same towards the client (responder mode)
 *           == 2  the client writes the payload as a message on its flow
 *                 (ctl bits 3-4), opening it first if needed; bit 5: time
 *                 critical; bit 6: with a deadline
 *           == 3  the server writes the payload on a return flow
 *                 associated with the client's flow (ctl bits 3-4)
 *           == 4  time passes: payload[0] * 100 ms, timers run
 *           == 5  control: payload[0] selects a client flow close, a
 *                 server flow reject, an orderly or abrupt session close, a
 *                 ping, a keepalive change, pausing a receiving flow, or
 *                 the client moving to another address
 *           == 6  payload = a raw datagram for the server
 *           == 7  the network drops datagrams: payload bits = a loss
 *                 pattern (1 = drop), applied cyclically from now on
 *   After every record the network delivers what is in flight.
 *
 * Invariant: when nothing was injected (kinds 0, 1, 6), no session closed
 * or flow was rejected or paused (kind 5), every message written on a
 * reliable flow arrives intact and in order, whatever the loss pattern and
 * address changes, once the network is let drain without loss at the end
 * (RFC 7016 3.6.2: reliable, ordered delivery), unless the loss killed the
 * session; and what arrives is always what was written, in order.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfpendpoint.h"
#include "rtmfpsessionpriv.h"
#include "rtmfppacket.h"

#define MAX_RECORDS 128
#define N_FLOWS 4
#define START_TIME (G_GINT64_CONSTANT (500000) * 1000000)
#define MAX_PUMP_ROUNDS 48
#define MAX_PUMP_DATAGRAMS 1500

static RtmfpIdentity *server_id;
static RtmfpIdentity *client_id;
static RtmfpAddr server_addr, client_addr, client_alt_addr;
static gboolean verbose;

typedef struct {
  RtmfpAddr from;
  RtmfpAddr to;
  GBytes *data;
} Datagram;

typedef struct {
  RtmfpEndpoint *server;
  RtmfpEndpoint *client;
  RtmfpSession *cs;             /* ref held */
  RtmfpSession *ss;             /* ref held, once opened */
  RtmfpAddr client_src;         /* the client's current address */
  GQueue net;                   /* Datagram */
  gint64 now;

  guint64 loss_pattern;
  guint loss_len;
  guint64 n_delivered_dgrams;

  /* the client's send flows (by index) and the server's return flows */
  guint64 client_flow_id[N_FLOWS];
  gboolean client_flow_open[N_FLOWS];
  guint64 server_flow_id[N_FLOWS];
  gboolean server_flow_open[N_FLOWS];

  /* reliable-delivery bookkeeping: flow id -> GPtrArray of GBytes
   * written by the client, and how many arrived in order, intact */
  GHashTable *expected;
  GHashTable *arrived;          /* flow id -> count (GUINT_TO_POINTER) */
  gboolean mismatch;
  gboolean tainted;             /* something injected/closed: no check */
  guint n_server_msgs, n_client_msgs;
} Harness;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const guint g2[] = { 2 };
  static const guint8 ip_s[4] = { 192, 0, 2, 2 };
  static const guint8 ip_c[4] = { 192, 0, 2, 1 };
  static const guint8 ip_m[4] = { 203, 0, 113, 9 };

  fuzz_init ();
  server_id = rtmfp_identity_new_ephemeral (g2, 1, "fuzz.example", TRUE);
  client_id = rtmfp_identity_new_static (g2, 1);
  FUZZ_CHECK (server_id && client_id);
  rtmfp_addr_set_ipv4 (&server_addr, ip_s, 1935);
  rtmfp_addr_set_ipv4 (&client_addr, ip_c, 50000);
  rtmfp_addr_set_ipv4 (&client_alt_addr, ip_m, 40000);
  verbose = g_getenv ("FUZZ_VERBOSE") != NULL;
  return 0;
}

/* ---- the network ---- */

static void
queue_dgram (Harness * h, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to)
{
  Datagram *d = g_new (Datagram, 1);

  d->from = *from;
  d->to = *to;
  d->data = g_bytes_new (data, len);
  g_queue_push_tail (&h->net, d);
}

static void
server_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (len >= 4 + 16 && len <= RTMFP_MAX_DATAGRAM_SIZE + 64);
  queue_dgram (h, data, len, &server_addr, to);
}

static void
client_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (len >= 4 + 16 && len <= RTMFP_MAX_DATAGRAM_SIZE + 64);
  queue_dgram (h, data, len, &h->client_src, to);
}

static void
datagram_free (gpointer p)
{
  Datagram *d = p;

  g_bytes_unref (d->data);
  g_free (d);
}

static gboolean
lose (Harness * h)
{
  guint bit;

  if (h->loss_len == 0)
    return FALSE;
  bit = (guint) (h->n_delivered_dgrams++ % h->loss_len);
  return (h->loss_pattern >> bit) & 1;
}

static void
deliver (Harness * h, Datagram * d)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (d->data, &len);

  if (rtmfp_addr_equal (&d->to, &server_addr))
    rtmfp_endpoint_receive (h->server, data, len, &d->from, h->now);
  else if (rtmfp_addr_equal (&d->to, &h->client_src))
    rtmfp_endpoint_receive (h->client, data, len, &d->from, h->now);
  /* anything else (the client's old address): lost */
}

static void
run_timers (Harness * h)
{
  rtmfp_endpoint_handle_timeout (h->server, h->now);
  rtmfp_endpoint_handle_timeout (h->client, h->now);
}

/* Delivers what is in flight (and what that provokes), 1 ms per round */
static void
pump (Harness * h, gboolean lossy)
{
  guint round, total = 0;

  for (round = 0; round < MAX_PUMP_ROUNDS && !g_queue_is_empty (&h->net);
      round++) {
    GQueue batch = G_QUEUE_INIT;
    Datagram *d;

    /* swap: what this round's deliveries send goes to the next round */
    batch = h->net;
    g_queue_init (&h->net);
    h->now += 1000;
    while ((d = g_queue_pop_head (&batch)) != NULL) {
      if (total++ < MAX_PUMP_DATAGRAMS && !(lossy && lose (h)))
        deliver (h, d);
      datagram_free (d);
    }
    run_timers (h);
  }
}

/* ---- callbacks ---- */

static void
on_server_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Harness *h = ud;
  guint64 id = rtmfp_recv_flow_get_id (f);
  GPtrArray *exp = g_hash_table_lookup (h->expected, &id);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (h->arrived, &id));
  guint64 *key;

  FUZZ_CHECK (data != NULL || len == 0);
  h->n_server_msgs++;
  if (exp == NULL || n >= exp->len || gap != 0) {
    h->mismatch = TRUE;
    return;
  }
  {
    gsize elen;
    const guint8 *e = g_bytes_get_data (g_ptr_array_index (exp, n), &elen);

    if (elen != len || (len > 0 && memcmp (e, data, len) != 0))
      h->mismatch = TRUE;
  }
  key = g_new (guint64, 1);
  *key = id;
  g_hash_table_replace (h->arrived, key, GUINT_TO_POINTER (n + 1));
}

static void
on_client_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (data != NULL || len == 0);
  h->n_client_msgs++;
}

static gboolean
flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Harness *h = ud;

  if (ep == h->server)
    rtmfp_recv_flow_set_delivery (f, FALSE, on_server_message, NULL, h);
  else
    rtmfp_recv_flow_set_delivery (f, (rtmfp_recv_flow_get_id (f) & 1) != 0,
        on_client_message, NULL, h);
  return TRUE;
}

static void
session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (rtmfp_session_get_state (s) == RTMFP_SESSION_OPEN);
  if (ep == h->server) {
    FUZZ_CHECK (!rtmfp_session_is_initiator (s));
    if (h->ss == NULL)
      h->ss = rtmfp_session_ref (s);
  } else {
    FUZZ_CHECK (s == h->cs && rtmfp_session_is_initiator (s));
  }
}

static void
session_event (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  FUZZ_CHECK (ep != NULL && s != NULL);
}

static void
send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    guint64 code, gpointer ud)
{
  FUZZ_CHECK (f != NULL);
}

static void
send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    gpointer ud)
{
  FUZZ_CHECK (f != NULL);
}

/* ---- actions ---- */

static void
inject (Harness * h, gboolean to_server, guint8 ctl, const guint8 * payload,
    gsize len)
{
  RtmfpSession *from_s = to_server ? h->cs : h->ss;
  RtmfpCipher *cipher;
  guint8 *plain, *dgram;
  gsize cap, n;

  h->tainted = TRUE;
  if (from_s == NULL || len == 0)
    return;
  cipher = _rtmfp_session_get_cipher (from_s);
  if (cipher == NULL)
    return;
  plain = fuzz_dup (payload, len);
  if (!(ctl & 0x80))
    plain[0] = (plain[0] & ~RTMFP_PKT_MODE_MASK) |
        (to_server ? RTMFP_MODE_INITIATOR : RTMFP_MODE_RESPONDER);
  cap = len + rtmfp_cipher_overhead (cipher);
  dgram = malloc (cap);
  n = rtmfp_cipher_encode (cipher, _rtmfp_session_get_far_id (from_s), plain,
      len, dgram, cap);
  if (n > 0) {
    if (to_server) {
      if (ctl & 0x08)
        h->client_src = rtmfp_addr_equal (&h->client_src, &client_addr) ?
            client_alt_addr : client_addr;
      queue_dgram (h, dgram, n, &h->client_src, &server_addr);
    } else {
      queue_dgram (h, dgram, n, &server_addr, &h->client_src);
    }
  }
  free (dgram);
  free (plain);
}

static void
client_write (Harness * h, guint8 ctl, const guint8 * payload, gsize len)
{
  guint idx = (ctl >> 3) & (N_FLOWS - 1);
  RtmfpSendFlow *f = NULL;
  gboolean reliable = !(ctl & 0x40);
  guint64 *key;
  GPtrArray *exp;

  if (h->client_flow_open[idx])
    f = rtmfp_session_find_send_flow (h->cs, h->client_flow_id[idx]);
  if (f == NULL) {
    static const guint8 md[] = { 'T', 'C', 0x04, 0x00 };

    f = rtmfp_session_open_flow (h->cs, md, sizeof (md), NULL);
    if (f == NULL)
      return;
    h->client_flow_id[idx] = rtmfp_send_flow_get_id (f);
    h->client_flow_open[idx] = TRUE;
  }
  if (!rtmfp_session_write (h->cs, f, payload, len,
          reliable ? RTMFP_NO_DEADLINE : h->now + 50000,
          (ctl & 0x20) ? RTMFP_WRITE_TIME_CRITICAL : 0, h->now))
    return;
  if (!reliable) {
    /* abandoned messages leave gaps: no exact delivery check */
    h->tainted = TRUE;
    return;
  }
  exp = g_hash_table_lookup (h->expected, &h->client_flow_id[idx]);
  if (exp == NULL) {
    exp = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    key = g_new (guint64, 1);
    *key = h->client_flow_id[idx];
    g_hash_table_insert (h->expected, key, exp);
  }
  g_ptr_array_add (exp, g_bytes_new (payload, len));
}

static void
server_write (Harness * h, guint8 ctl, const guint8 * payload, gsize len)
{
  guint idx = (ctl >> 3) & (N_FLOWS - 1);
  RtmfpSendFlow *f = NULL;

  if (h->ss == NULL)
    return;
  if (h->server_flow_open[idx])
    f = rtmfp_session_find_send_flow (h->ss, h->server_flow_id[idx]);
  if (f == NULL) {
    static const guint8 md[] = { 'T', 'C', 0x04, 0x00 };
    RtmfpRecvFlow *assoc = NULL;

    if (h->client_flow_open[idx])
      assoc = rtmfp_session_find_recv_flow (h->ss, h->client_flow_id[idx]);
    f = rtmfp_session_open_flow (h->ss, md, sizeof (md), assoc);
    if (f == NULL)
      return;
    h->server_flow_id[idx] = rtmfp_send_flow_get_id (f);
    h->server_flow_open[idx] = TRUE;
  }
  rtmfp_session_write (h->ss, f, payload, len,
      (ctl & 0x40) ? h->now + 20000 : RTMFP_NO_DEADLINE,
      (ctl & 0x20) ? RTMFP_WRITE_TIME_CRITICAL : 0, h->now);
}

static void
control (Harness * h, guint8 ctl, const guint8 * payload, gsize len)
{
  guint8 what = len > 0 ? payload[0] : 0;
  guint idx = (ctl >> 3) & (N_FLOWS - 1);

  switch (what % 8) {
    case 0:{
      RtmfpSendFlow *f = h->client_flow_open[idx] ?
          rtmfp_session_find_send_flow (h->cs, h->client_flow_id[idx]) : NULL;

      /* an orderly flow close delivers what was written: no taint */
      if (f)
        rtmfp_session_close_flow (h->cs, f, h->now);
      break;
    }
    case 1:{
      RtmfpRecvFlow *f = (h->ss && h->client_flow_open[idx]) ?
          rtmfp_session_find_recv_flow (h->ss, h->client_flow_id[idx]) : NULL;

      h->tainted = TRUE;
      if (f)
        rtmfp_session_reject_flow (h->ss, f, what >> 3, h->now);
      break;
    }
    case 2:
      h->tainted = TRUE;
      rtmfp_session_close ((what & 0x08) && h->ss ? h->ss : h->cs, h->now);
      break;
    case 3:
      h->tainted = TRUE;
      rtmfp_session_abort ((what & 0x08) && h->ss ? h->ss : h->cs, h->now);
      break;
    case 4:
      rtmfp_session_ping ((what & 0x08) && h->ss ? h->ss : h->cs, h->now);
      break;
    case 5:
      rtmfp_session_set_keepalive ((what & 0x08) && h->ss ? h->ss : h->cs,
          (gint64) (what >> 4) * G_USEC_PER_SEC);
      break;
    case 6:{
      RtmfpRecvFlow *f = (h->ss && h->client_flow_open[idx]) ?
          rtmfp_session_find_recv_flow (h->ss, h->client_flow_id[idx]) : NULL;

      /* a paused flow holds its data back: no delivery check */
      h->tainted |= (what & 0x08) != 0;
      if (f)
        rtmfp_recv_flow_set_paused (f, (what & 0x08) != 0);
      break;
    }
    case 7:
      /* the client moves (NAT rebinding): packets to its old address are
       * lost from now on; the session must follow (3.5.4) */
      h->client_src = rtmfp_addr_equal (&h->client_src, &client_addr) ?
          client_alt_addr : client_addr;
      break;
  }

  {
    RtmfpSessionStats st;

    rtmfp_session_get_stats (h->cs, &st);
    FUZZ_CHECK (st.state == rtmfp_session_get_state (h->cs));
    if (h->ss)
      rtmfp_session_get_stats (h->ss, &st);
  }
}

/* ---- the handshake ---- */

static gboolean
open_session (Harness * h, guint8 config)
{
  GByteArray *epd = g_byte_array_new ();
  guint i;

  rtmfp_epd_append_fingerprint (epd,
      rtmfp_identity_get_fingerprint (server_id));
  h->cs = rtmfp_endpoint_open_session (h->client, epd->data, epd->len,
      &server_addr, 1, h->now);
  g_byte_array_unref (epd);
  FUZZ_CHECK (h->cs != NULL);
  rtmfp_session_ref (h->cs);
  for (i = 0; i < 8 && (h->ss == NULL ||
          rtmfp_session_get_state (h->cs) != RTMFP_SESSION_OPEN); i++)
    pump (h, FALSE);
  return h->ss != NULL &&
      rtmfp_session_get_state (h->cs) == RTMFP_SESSION_OPEN &&
      rtmfp_session_get_state (h->ss) == RTMFP_SESSION_OPEN;
}

static void
harness_setup (Harness * h, guint8 config)
{
  RtmfpEndpointConfig scfg, ccfg;
  RtmfpEndpointCallbacks cb = { 0, };

  cb.session_opened = session_opened;
  cb.session_open_failed = session_event;
  cb.session_closed = session_event;
  cb.session_address_changed = session_event;
  cb.flow_opened = flow_opened;
  cb.send_flow_exception = send_flow_exception;
  cb.send_flow_writable = send_flow_writable;

  rtmfp_endpoint_config_init (&scfg);
  scfg.identity = server_id;
  rtmfp_endpoint_config_init (&ccfg);
  ccfg.identity = client_id;
  ccfg.crypto.n_groups = 1;
  ccfg.crypto.groups[0] = 2;
  /* keying options that still agree: HMAC / SSEQ sent always, on
   * request, or not at all (4.6.4, 4.6.6) */
  if (config & 0x01)
    ccfg.crypto.hmac_flags = RTMFP_NEG_SND | RTMFP_NEG_REQ;
  if (config & 0x02)
    scfg.crypto.hmac_flags = 0, ccfg.crypto.hmac_flags = 0;
  if (config & 0x04)
    scfg.crypto.sseq_flags = RTMFP_NEG_SND;
  if (config & 0x08)
    ccfg.crypto.sseq_flags = 0, scfg.crypto.sseq_flags = 0;
  ccfg.crypto.hmac_len = 4 + (config >> 4);

  g_queue_init (&h->net);
  h->now = START_TIME;
  h->client_src = client_addr;
  h->server = rtmfp_endpoint_new (&scfg, &cb, h, server_send, h);
  h->client = rtmfp_endpoint_new (&ccfg, &cb, h, client_send, h);
  h->expected = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      (GDestroyNotify) g_ptr_array_unref);
  h->arrived = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      NULL);
}

static void
harness_teardown (Harness * h)
{
  g_queue_clear_full (&h->net, datagram_free);
  rtmfp_endpoint_free (h->client);
  rtmfp_endpoint_free (h->server);
  if (h->cs)
    rtmfp_session_unref (h->cs);
  if (h->ss)
    rtmfp_session_unref (h->ss);
  g_hash_table_unref (h->expected);
  g_hash_table_unref (h->arrived);
}

static gboolean
all_delivered (Harness * h)
{
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, h->expected);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    GPtrArray *exp = v;
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (h->arrived, k));

    if (n != exp->len)
      return FALSE;
  }
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  Harness h;
  FuzzSplit sp;
  const guint8 *rec;
  gsize rec_len;
  guint n_records = 0, i;
  guint8 config = fuzz_take_u8 (&data, &size);

  memset (&h, 0, sizeof (h));
  harness_setup (&h, config);
  /* a clean network: the handshake must succeed */
  FUZZ_CHECK (open_session (&h, config));

  fuzz_split_init (&sp, data, size);
  while (fuzz_split_next (&sp, &rec, &rec_len) && n_records++ < MAX_RECORDS) {
    guint8 ctl = fuzz_take_u8 (&rec, &rec_len);
    guint8 *copy = fuzz_dup (rec, rec_len);

    switch (ctl & 7) {
      case 0:
        inject (&h, TRUE, ctl, copy, rec_len);
        break;
      case 1:
        inject (&h, FALSE, ctl, copy, rec_len);
        break;
      case 2:
        client_write (&h, ctl, copy, rec_len);
        break;
      case 3:
        server_write (&h, ctl, copy, rec_len);
        break;
      case 4:
        h.now += (gint64) (rec_len > 0 ? copy[0] : 1) * 100000;
        run_timers (&h);
        break;
      case 5:
        control (&h, ctl, copy, rec_len);
        break;
      case 6:
        h.tainted = TRUE;
        queue_dgram (&h, copy, rec_len, &h.client_src, &server_addr);
        break;
      case 7:
        h.loss_pattern = 0;
        h.loss_len = MIN (rec_len * 8, 64);
        for (i = 0; i < MIN (rec_len, 8); i++)
          h.loss_pattern |= (guint64) copy[i] << (8 * i);
        /* never drop everything */
        if (h.loss_len > 0) {
          guint64 mask = h.loss_len == 64 ? G_MAXUINT64 :
              (G_GUINT64_CONSTANT (1) << h.loss_len) - 1;

          if ((h.loss_pattern & mask) == mask)
            h.loss_pattern &= ~G_GUINT64_CONSTANT (1);
        }
        break;
    }
    free (copy);
    pump (&h, TRUE);
  }

  /* drain without loss: retransmissions finish what was written */
  for (i = 0; i < 40 && !all_delivered (&h); i++) {
    gint64 t1 = rtmfp_endpoint_next_timeout (h.server);
    gint64 t2 = rtmfp_endpoint_next_timeout (h.client);
    gint64 t = t1 < 0 ? t2 : (t2 < 0 ? t1 : MIN (t1, t2));

    if (t > h.now)
      h.now = MIN (t, h.now + 5 * G_USEC_PER_SEC);
    run_timers (&h);
    pump (&h, FALSE);
  }

  if (verbose)
    fprintf (stderr, "client %s, server %s, server got %u messages, client "
        "%u; tainted %d, mismatch %d, all delivered %d\n",
        rtmfp_session_state_get_nick (rtmfp_session_get_state (h.cs)),
        h.ss ? rtmfp_session_state_get_nick (rtmfp_session_get_state (h.ss))
        : "-", h.n_server_msgs, h.n_client_msgs, h.tainted, h.mismatch,
        all_delivered (&h));
  if (!h.tainted) {
    /* what arrived is what was written, in order; and all of it unless
     * the loss (legitimately) killed the session */
    FUZZ_CHECK (!h.mismatch);
    if (rtmfp_session_get_state (h.cs) == RTMFP_SESSION_OPEN &&
        rtmfp_session_get_state (h.ss) == RTMFP_SESSION_OPEN)
      FUZZ_CHECK (all_delivered (&h));
  }

  harness_teardown (&h);
  return 0;
}
