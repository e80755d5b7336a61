/* gst-rtmfp fuzz targets: fuzz-endpoint and fuzz-endpoint-startup.
 *
 * One endpoint (responder, optionally also an initiator with one session
 * opening) is fed a sequence of datagrams from a few fixed addresses, with
 * a fake clock that moves forward, timers run between them, and is freed
 * at the end.  Whatever it sends is decoded and checked, and remembered so
 * later inputs can echo it (see tokens below).
 *
 * Input: a configuration byte, then records split at "FUZZ", each a
 * control byte and a payload.
 *   config bit 0     our identity: 0 server style (ephemeral DH, accepts
 *                    URI EPDs, hostname "fuzz.example"), 1 client style
 *                    (static DH)
 *   config bit 1     accept_session refuses every session
 *   config bit 2     IHellos that don't select us get a Redirect
 *   config bit 3     open a session (initiator) at the start, to
 *                    192.0.2.2:1935
 *   config bits 4-5  max_sessions 1, 2, 8 or the default
 *   control bits 0-1 source address (3 IPv4, 1 IPv6)
 *   control bits 2-4 clock step before the datagram (0 .. 120 s)
 *   control bit 5    run the due timers after it
 *   control bits 6-7 session ID: 0 = as is (fuzz-endpoint) / 0
 *                    (fuzz-endpoint-startup); 1 = the initiator session ID
 *                    of our last IIKeying; 2 = the responder session ID of
 *                    our last RIKeying; 3 = the first 4 payload bytes
 *                    (fuzz-endpoint-startup only)
 *
 * fuzz-endpoint: the payload is the datagram (with session ID choices 1
 * and 2 its SSID is rewritten so that it unscrambles to that ID).
 *
 * fuzz-endpoint-startup (FUZZ_STARTUP_WRAP): the payload is the chunk area
 * of a startup packet (flags 0x0b, a timestamp) that the harness encrypts
 * with the Default Session Key: this gets past decryption, so IHello,
 * IIKeying, RHello, Redirect, RIKeying, Cookie Change and Fragment
 * handling is what gets fuzzed.  Tokens in the payload are replaced:
 *   "COOKIE"   -> VLU length + the cookie of our last RHello
 *   "TAGECHO"  -> VLU length + the tag of our last IHello
 * so a handshake can be completed from either side.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfpendpoint.h"
#include "rtmfppacket.h"

#define MAX_RECORDS 256
#define START_TIME (G_GINT64_CONSTANT (1000000) * 1000000)

static const gint64 time_steps[8] = {
  0, 1000, 10000, 200000, G_USEC_PER_SEC, 5 * G_USEC_PER_SEC,
  30 * G_USEC_PER_SEC, 120 * G_USEC_PER_SEC
};

static RtmfpIdentity *server_id;
static RtmfpIdentity *client_id;
static RtmfpAddr addrs[4];
static RtmfpCipher *default_cipher;
static gboolean verbose;

typedef struct {
  RtmfpEndpoint *ep;
  guint8 config;
  GByteArray *cookie;           /* from our last RHello */
  GByteArray *tag;              /* from our last IHello */
  guint32 isid;                 /* from our last IIKeying */
  guint32 rsid;                 /* from our last RIKeying */
  guint n_sent;
  guint n_opened;
  guint n_messages;
} Harness;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const guint g2[] = { 2 };
  static const guint8 ip_a[4] = { 192, 0, 2, 1 };
  static const guint8 ip_b[4] = { 192, 0, 2, 2 };
  static const guint8 ip_c[4] = { 198, 51, 100, 7 };
  static const guint8 ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 1
  };

  fuzz_init ();
  server_id = rtmfp_identity_new_ephemeral (g2, 1, "fuzz.example", TRUE);
  client_id = rtmfp_identity_new_static (g2, 1);
  FUZZ_CHECK (server_id && client_id);
  rtmfp_addr_set_ipv4 (&addrs[0], ip_a, 50000);
  rtmfp_addr_set_ipv4 (&addrs[1], ip_b, 1935);
  rtmfp_addr_set_ipv6 (&addrs[2], ip6, 50001);
  rtmfp_addr_set_ipv4 (&addrs[3], ip_c, 6000);
  default_cipher = rtmfp_cipher_new_default ();
  verbose = g_getenv ("FUZZ_VERBOSE") != NULL;
  return 0;
}

/* ---- what the endpoint sends ---- */

static void
remember (GByteArray ** slot, const guint8 * data, gsize len)
{
  if (*slot == NULL)
    *slot = g_byte_array_new ();
  g_byte_array_set_size (*slot, 0);
  g_byte_array_append (*slot, data, len);
}

static void
send_cb (const guint8 * data, gsize len, const RtmfpAddr * to, gpointer ud)
{
  Harness *h = ud;
  guint8 plain[8192];
  gsize plain_len;
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;

  FUZZ_CHECK (data != NULL && to != NULL);
  FUZZ_CHECK (to->family == 4 || to->family == 6);
  /* SSID + whole blocks (+ HMAC): never more than one startup fragment
   * or session packet */
  FUZZ_CHECK (len >= 4 + 16 && len <= RTMFP_MAX_DATAGRAM_SIZE + 64);
  h->n_sent++;

  /* Our startup packets (default key) must decode and parse */
  if (!rtmfp_cipher_decode (default_cipher, data, len, plain, &plain_len))
    return;
  if (!rtmfp_packet_parse (plain, plain_len, &p)
      || rtmfp_packet_mode (&p) != RTMFP_MODE_STARTUP)
    return;
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    switch (ch.type) {
      case RTMFP_CHUNK_RHELLO:{
        RtmfpRHelloChunk c;

        FUZZ_CHECK (rtmfp_rhello_chunk_parse (ch.data, ch.len, &c));
        remember (&h->cookie, c.cookie, c.cookie_len);
        break;
      }
      case RTMFP_CHUNK_IHELLO:{
        RtmfpIHelloChunk c;

        FUZZ_CHECK (rtmfp_ihello_chunk_parse (ch.data, ch.len, &c));
        remember (&h->tag, c.tag, c.tag_len);
        break;
      }
      case RTMFP_CHUNK_IIKEYING:{
        RtmfpIIKeyingChunk c;

        FUZZ_CHECK (rtmfp_iikeying_chunk_parse (ch.data, ch.len, &c));
        h->isid = c.initiator_session_id;
        break;
      }
      case RTMFP_CHUNK_RIKEYING:{
        RtmfpRIKeyingChunk c;

        FUZZ_CHECK (rtmfp_rikeying_chunk_parse (ch.data, ch.len, &c));
        h->rsid = c.responder_session_id;
        break;
      }
      default:
        break;
    }
  }
}

/* ---- callbacks ---- */

static void
session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (ep == h->ep && s != NULL);
  FUZZ_CHECK (rtmfp_session_get_state (s) == RTMFP_SESSION_OPEN);
  FUZZ_CHECK (rtmfp_session_get_far_fingerprint (s) != NULL);
  h->n_opened++;
}

static void
session_other (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (ep == h->ep && s != NULL);
}

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (data != NULL || len == 0);
  h->n_messages++;
}

static gboolean
flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, on_message, NULL, ud);
  return TRUE;
}

static void
ihello_other (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (from != NULL);
  FUZZ_CHECK (epd != NULL || epd_len == 0);
  if (h->config & 0x04)
    rtmfp_endpoint_send_redirect (ep, from, tag, tag_len, &addrs[1], 3);
}

static gboolean
accept_session (RtmfpEndpoint * ep, const guint8 * far_cert, gsize len,
    const RtmfpAddr * from, gpointer ud)
{
  Harness *h = ud;

  FUZZ_CHECK (far_cert != NULL || len == 0);
  return (h->config & 0x02) == 0;
}

/* ---- input shaping ---- */

#ifndef FUZZ_STARTUP_WRAP
static guint32
scramble_word (const guint8 * enc, gsize enc_len)
{
  guint8 w[8] = { 0 };

  memcpy (w, enc, MIN (enc_len, sizeof (w)));
  return (((guint32) w[0] << 24) | ((guint32) w[1] << 16) |
      ((guint32) w[2] << 8) | w[3]) ^ (((guint32) w[4] << 24) |
      ((guint32) w[5] << 16) | ((guint32) w[6] << 8) | w[7]);
}
#endif

#ifdef FUZZ_STARTUP_WRAP
/* Replaces the first occurrence of token by VLU length + value */
static void
substitute (GByteArray * buf, const gchar * token, const GByteArray * value)
{
  gsize tlen = strlen (token), i;

  if (value == NULL || buf->len < tlen)
    return;
  for (i = 0; i + tlen <= buf->len; i++) {
    if (memcmp (buf->data + i, token, tlen) == 0) {
      GByteArray *rep = g_byte_array_new ();

      rtmfp_append_vlu_bytes (rep, value->data, value->len);
      g_byte_array_remove_range (buf, i, tlen);
      /* insert rep at i */
      g_byte_array_set_size (buf, buf->len + rep->len);
      memmove (buf->data + i + rep->len, buf->data + i,
          buf->len - rep->len - i);
      memcpy (buf->data + i, rep->data, rep->len);
      g_byte_array_unref (rep);
      return;
    }
  }
}
#endif

/* The datagram to deliver for one record, or NULL */
static guint8 *
make_datagram (Harness * h, guint8 ctl, const guint8 * payload, gsize len,
    gint64 now, gsize * out_len)
{
  guint sid_choice = ctl >> 6;
  guint32 sid = 0;

  if (sid_choice == 1)
    sid = h->isid;
  else if (sid_choice == 2)
    sid = h->rsid;

#ifdef FUZZ_STARTUP_WRAP
  {
    GByteArray *plain = g_byte_array_new ();
    guint16 ts = (guint16) (now / 4000);
    guint8 *dgram;
    gsize cap, n;

    if (sid_choice == 3) {
      guint i;

      for (i = 0; i < 4; i++)
        sid = (sid << 8) | fuzz_take_u8 (&payload, &len);
    }
    rtmfp_append_u8 (plain, RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS);
    rtmfp_append_u16 (plain, ts);
    g_byte_array_append (plain, payload, len);
    substitute (plain, "COOKIE", h->cookie);
    substitute (plain, "TAGECHO", h->tag);
    cap = plain->len + rtmfp_cipher_overhead (default_cipher);
    dgram = malloc (cap);
    n = rtmfp_cipher_encode (default_cipher, sid, plain->data, plain->len,
        dgram, cap);
    FUZZ_CHECK (n > 0);
    g_byte_array_unref (plain);
    *out_len = n;
    return dgram;
  }
#else
  {
    guint8 *dgram = fuzz_dup (payload, len);

    if ((sid_choice == 1 || sid_choice == 2) && len >= 4) {
      guint32 w = sid ^ scramble_word (dgram + 4, len - 4);

      dgram[0] = w >> 24;
      dgram[1] = w >> 16;
      dgram[2] = w >> 8;
      dgram[3] = w;
      FUZZ_CHECK (rtmfp_session_id_unscramble (dgram, len) == sid);
    }
    *out_len = len;
    return dgram;
  }
#endif
}

static void
run_timers (Harness * h, gint64 now)
{
  gint64 t = rtmfp_endpoint_next_timeout (h->ep);

  FUZZ_CHECK (t == -1 || t > 0);
  rtmfp_endpoint_handle_timeout (h->ep, now);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const guint max_sessions[4] = { 1, 2, 8, 0 };
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb = { 0, };
  RtmfpEndpointStats st;
  Harness h = { 0, };
  FuzzSplit sp;
  const guint8 *rec;
  gsize rec_len;
  gint64 now = START_TIME;
  guint n_records = 0, n_received = 0, i;

  h.config = fuzz_take_u8 (&data, &size);

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = (h.config & 0x01) ? client_id : server_id;
  if (max_sessions[(h.config >> 4) & 3])
    cfg.max_sessions = max_sessions[(h.config >> 4) & 3];
  cb.session_opened = session_opened;
  cb.session_open_failed = session_other;
  cb.session_closed = session_other;
  cb.session_address_changed = session_other;
  cb.flow_opened = flow_opened;
  cb.ihello_other = ihello_other;
  cb.accept_session = accept_session;

  h.ep = rtmfp_endpoint_new (&cfg, &cb, &h, send_cb, &h);
  FUZZ_CHECK (h.ep != NULL);

  if (h.config & 0x08) {
    GByteArray *epd = g_byte_array_new ();
    RtmfpSession *s;

    rtmfp_epd_append_ancillary (epd, "rtmfp://fuzz.example/app");
    s = rtmfp_endpoint_open_session (h.ep, epd->data, epd->len, &addrs[1], 1,
        now);
    FUZZ_CHECK (s != NULL);
    FUZZ_CHECK (rtmfp_session_get_state (s) == RTMFP_SESSION_IHELLO_SENT);
    g_byte_array_unref (epd);
  }

  fuzz_split_init (&sp, data, size);
  while (fuzz_split_next (&sp, &rec, &rec_len) && n_records++ < MAX_RECORDS) {
    guint8 ctl = fuzz_take_u8 (&rec, &rec_len);
    guint8 *dgram;
    gsize dlen = 0;

    now += time_steps[(ctl >> 2) & 7];
    dgram = make_datagram (&h, ctl, rec, rec_len, now, &dlen);
    rtmfp_endpoint_receive (h.ep, dgram, dlen, &addrs[ctl & 3], now);
    n_received++;
    free (dgram);
    if (ctl & 0x20)
      run_timers (&h, now);
  }

  /* let every timer run out: retransmissions, open timeouts, idle
   * sessions, reassembly expiry */
  for (i = 0; i < 64; i++) {
    gint64 t = rtmfp_endpoint_next_timeout (h.ep);

    if (t < 0)
      break;
    now = MAX (now + 1000, t);
    run_timers (&h, now);
  }

  rtmfp_endpoint_get_stats (h.ep, &st);
  FUZZ_CHECK (st.datagrams_received == n_received);
  FUZZ_CHECK (st.datagrams_sent == h.n_sent);
  FUZZ_CHECK (rtmfp_endpoint_get_n_reassemblies (h.ep) <= 4096);
  if (verbose)
    fprintf (stderr, "received %u, sent %u, opened %u, messages %u; "
        "undecodable %" G_GUINT64_FORMAT ", unknown session %"
        G_GUINT64_FORMAT ", malformed %" G_GUINT64_FORMAT ", ihellos %"
        G_GUINT64_FORMAT ", rhellos %" G_GUINT64_FORMAT ", cookies "
        "rejected %" G_GUINT64_FORMAT ", refused %" G_GUINT64_FORMAT "\n",
        n_received, h.n_sent, h.n_opened, h.n_messages,
        st.dropped_undecodable, st.dropped_unknown_session,
        st.dropped_malformed, st.ihellos_received, st.rhellos_sent,
        st.cookies_rejected, st.sessions_refused);

  rtmfp_endpoint_free (h.ep);
  if (h.cookie)
    g_byte_array_unref (h.cookie);
  if (h.tag)
    g_byte_array_unref (h.tag);
  return 0;
}
