/* RtmfpNet on real UDP sockets over loopback: the I/O driver, the real
 * clock, and a full handshake + bulk transfer between two endpoints in one
 * process, each on its own net thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-test-loopback"

#include <string.h>
#include <gio/gio.h>

#include "rtmfpnet.h"

#define N_MESSAGES 1000
#define WAIT_S 60
#define APP_URI "rtmfp://127.0.0.1/app"

static const guint dh_groups[] = { 14 };

/* --------------------------- shared state --------------------------- */

typedef struct {
  GMutex lock;
  GCond cond;

  RtmfpNet *server;
  RtmfpNet *client;
  RtmfpSession *client_session; /* ref'd */
  RtmfpSession *server_session; /* ref'd */
  RtmfpSendFlow *client_flow;

  /* under lock */
  gboolean client_opened;
  gboolean client_open_failed;
  gint open_error_code;
  gboolean client_closed;
  gboolean server_opened;
  gboolean server_closed;
  gboolean flow_seen;
  guint received;
  guint64 bytes_received;
  guint bad;                    /* order, size, content or gap errors */
  gchar *first_error;
  gboolean write_failed;
  guint callbacks_after_stop;
  gboolean stopped;
  RtmfpSessionState server_state;
} Ctx;

static void
ctx_init (Ctx * c)
{
  memset (c, 0, sizeof (*c));
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
}

static void
ctx_clear (Ctx * c)
{
  g_free (c->first_error);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
}

/* Waits (no polling, no fixed sleeps) until *flag under lock is TRUE */
static gboolean
wait_flag (Ctx * c, gboolean * flag, gint seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_TIME_SPAN_SECOND;
  gboolean ok;

  g_mutex_lock (&c->lock);
  while (!*flag)
    if (!g_cond_wait_until (&c->cond, &c->lock, end))
      break;
  ok = *flag;
  g_mutex_unlock (&c->lock);
  return ok;
}

static gboolean
wait_received (Ctx * c, guint n, gint seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_TIME_SPAN_SECOND;
  gboolean ok;

  g_mutex_lock (&c->lock);
  while (c->received < n && !c->client_closed && !c->client_open_failed)
    if (!g_cond_wait_until (&c->cond, &c->lock, end))
      break;
  ok = c->received >= n;
  g_mutex_unlock (&c->lock);
  return ok;
}

static void
set_flag (Ctx * c, gboolean * flag)
{
  g_mutex_lock (&c->lock);
  if (c->stopped)
    c->callbacks_after_stop++;
  *flag = TRUE;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

/* ------------------------- message pattern -------------------------- */

/* Varied sizes: small, around one fragment, several fragments, and now
 * and then a large message spanning many packets. */
static gsize
message_size (guint i)
{
  if (i % 97 == 13)
    return 20000 + (i % 7) * 1111;
  if (i % 10 == 3)
    return 1100 + (i * 37) % 4000;
  return 4 + (i * 7919) % 1300;
}

static guint8
pattern_byte (guint i, gsize j)
{
  return (guint8) ((i * 131u + j * 7u + (j >> 8)) & 0xff);
}

static guint8 *
make_message (guint i, gsize * len)
{
  gsize n = message_size (i), j;
  guint8 *m = g_malloc (n);

  m[0] = i >> 24;
  m[1] = i >> 16;
  m[2] = i >> 8;
  m[3] = i;
  for (j = 4; j < n; j++)
    m[j] = pattern_byte (i, j);
  *len = n;
  return m;
}

static void
note_bad (Ctx * c, const gchar * what)
{
  c->bad++;
  if (c->first_error == NULL)
    c->first_error = g_strdup (what);
}

/* ------------------------- server callbacks ------------------------- */

static void
server_on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Ctx *c = ud;
  guint idx;
  gsize j;

  g_mutex_lock (&c->lock);
  if (len < 4) {
    note_bad (c, "short message");
    goto done;
  }
  idx = ((guint) data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3];
  if (idx != c->received) {
    gchar *m = g_strdup_printf ("message %u arrived as #%u", idx, c->received);

    note_bad (c, m);
    g_free (m);
  } else if (gap != 0) {
    note_bad (c, "gap reported on a reliable flow");
  } else if (len != message_size (idx)) {
    note_bad (c, "wrong message size");
  } else {
    for (j = 4; j < len; j++)
      if (data[j] != pattern_byte (idx, j)) {
        note_bad (c, "corrupted message content");
        break;
      }
  }
  c->bytes_received += len;
done:
  c->received++;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

static gboolean
server_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Ctx *c = ud;
  gsize mlen = 0;
  const guint8 *meta = rtmfp_recv_flow_get_metadata (f, &mlen);

  g_mutex_lock (&c->lock);
  if (mlen != 4 || memcmp (meta, "test", 4) != 0)
    note_bad (c, "flow metadata mismatch");
  if (assoc != NULL)
    note_bad (c, "unexpected flow association");
  c->flow_seen = TRUE;
  g_mutex_unlock (&c->lock);

  rtmfp_recv_flow_set_delivery (f, FALSE, server_on_message, NULL, c);
  return TRUE;
}

static void
server_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Ctx *c = ud;

  g_mutex_lock (&c->lock);
  if (c->server_session == NULL)
    c->server_session = rtmfp_session_ref (s);
  g_mutex_unlock (&c->lock);
  set_flag (c, &c->server_opened);
}

static void
server_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Ctx *c = ud;

  set_flag (c, &c->server_closed);
}

/* ------------------------- client callbacks ------------------------- */

static void
client_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Ctx *c = ud;
  gint64 now = rtmfp_net_now (c->client);
  RtmfpSendFlow *f;
  guint i;

  f = rtmfp_session_open_flow (s, (const guint8 *) "test", 4, NULL);
  c->client_flow = f;
  for (i = 0; f != NULL && i < N_MESSAGES; i++) {
    gsize len;
    guint8 *m = make_message (i, &len);

    if (!rtmfp_session_write (s, f, m, len, RTMFP_NO_DEADLINE, 0, now)) {
      g_mutex_lock (&c->lock);
      c->write_failed = TRUE;
      g_mutex_unlock (&c->lock);
      g_free (m);
      break;
    }
    g_free (m);
  }
  if (f == NULL) {
    g_mutex_lock (&c->lock);
    c->write_failed = TRUE;
    g_mutex_unlock (&c->lock);
  }
  set_flag (c, &c->client_opened);
}

static void
client_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Ctx *c = ud;
  const GError *err = rtmfp_session_get_error (s);

  g_mutex_lock (&c->lock);
  c->open_error_code = err && err->domain == RTMFP_SESSION_ERROR ?
      err->code : -1;
  g_mutex_unlock (&c->lock);
  set_flag (c, &c->client_open_failed);
}

static void
client_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Ctx *c = ud;

  set_flag (c, &c->client_closed);
}

/* --------------------------- net helpers ---------------------------- */

static RtmfpNet *
make_server (Ctx * c, const RtmfpEndpointCallbacks * cb)
{
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *id;
  RtmfpNet *net;
  GError *err = NULL;

  id = rtmfp_identity_new_ephemeral (dh_groups, G_N_ELEMENTS (dh_groups),
      NULL, TRUE);
  g_assert_nonnull (id);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = TRUE;
  net = rtmfp_net_new (&cfg, cb, c, "127.0.0.1", 0, &err);
  g_assert_no_error (err);
  g_assert_nonnull (net);
  rtmfp_identity_unref (id);
  g_assert_cmpuint (rtmfp_net_get_local_port (net), !=, 0);
  return net;
}

static RtmfpNet *
make_client (Ctx * c, const RtmfpEndpointCallbacks * cb, gint64 open_timeout)
{
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *id;
  RtmfpNet *net;
  GError *err = NULL;

  id = rtmfp_identity_new_static (dh_groups, G_N_ELEMENTS (dh_groups));
  g_assert_nonnull (id);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = FALSE;
  if (open_timeout > 0)
    cfg.open_timeout_us = open_timeout;
  net = rtmfp_net_new (&cfg, cb, c, "127.0.0.1", 0, &err);
  g_assert_no_error (err);
  g_assert_nonnull (net);
  rtmfp_identity_unref (id);
  return net;
}

typedef struct {
  Ctx *c;
  guint16 port;
} OpenArgs;

/* On the client's net thread */
static void
do_open (RtmfpNet * net, gpointer data)
{
  OpenArgs *a = data;
  GByteArray *epd = g_byte_array_new ();
  RtmfpAddr to;
  RtmfpSession *s;

  rtmfp_epd_append_ancillary (epd, APP_URI);
  g_assert_true (rtmfp_addr_from_string (&to, "127.0.0.1", a->port));
  to.port = a->port;
  s = rtmfp_endpoint_open_session (rtmfp_net_get_endpoint (net), epd->data,
      epd->len, &to, 1, rtmfp_net_now (net));
  g_assert_nonnull (s);
  a->c->client_session = rtmfp_session_ref (s);
  g_byte_array_unref (epd);
}

static void
do_close (RtmfpNet * net, gpointer data)
{
  Ctx *c = data;

  rtmfp_session_close (c->client_session, rtmfp_net_now (net));
}

typedef struct {
  Ctx *c;
  RtmfpSessionStats session;
  RtmfpSendFlowStats flow;
  RtmfpEndpointStats ep;
} StatsArgs;

static void
do_client_stats (RtmfpNet * net, gpointer data)
{
  StatsArgs *a = data;

  rtmfp_session_get_stats (a->c->client_session, &a->session);
  if (a->c->client_flow)
    rtmfp_send_flow_get_stats (a->c->client_flow, &a->flow);
  rtmfp_endpoint_get_stats (rtmfp_net_get_endpoint (net), &a->ep);
}

static void
do_server_state (RtmfpNet * net, gpointer data)
{
  Ctx *c = data;

  c->server_state = rtmfp_session_get_state (c->server_session);
}

static void
do_endpoint_stats (RtmfpNet * net, gpointer data)
{
  rtmfp_endpoint_get_stats (rtmfp_net_get_endpoint (net), data);
}

/* A UDP port on 127.0.0.1 with nothing bound to it (bound, then closed) */
static guint16
unused_port (void)
{
  GSocket *s;
  GInetAddress *ia = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (ia, 0), *local;
  guint16 port;

  s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);
  g_assert_nonnull (s);
  g_assert_true (g_socket_bind (s, sa, FALSE, NULL));
  local = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_object_unref (local);
  g_socket_close (s, NULL);
  g_object_unref (s);
  g_object_unref (sa);
  g_object_unref (ia);
  return port;
}

/* ------------------------------ tests ------------------------------- */

/* Handshake (ancillary EPD, ephemeral server, static client) and 1000
 * messages of varied sizes delivered intact and in order over real UDP. */
static void
test_transfer (void)
{
  RtmfpEndpointCallbacks scb = { 0 }, ccb = { 0 };
  Ctx c;
  OpenArgs oa;
  StatsArgs st = { 0 };
  RtmfpEndpointStats sst;
  RtmfpNetStats nst;
  guint64 expect_bytes = 0;
  gint64 t0;
  guint i;

  ctx_init (&c);
  for (i = 0; i < N_MESSAGES; i++)
    expect_bytes += message_size (i);

  scb.session_opened = server_session_opened;
  scb.session_closed = server_session_closed;
  scb.flow_opened = server_flow_opened;
  ccb.session_opened = client_session_opened;
  ccb.session_open_failed = client_session_open_failed;
  ccb.session_closed = client_session_closed;

  c.server = make_server (&c, &scb);
  c.client = make_client (&c, &ccb, 0);
  rtmfp_net_start (c.server);
  rtmfp_net_start (c.client);
  rtmfp_net_start (c.client);   /* idempotent */

  oa.c = &c;
  oa.port = rtmfp_net_get_local_port (c.server);
  rtmfp_net_invoke_sync (c.client, do_open, &oa);
  g_assert_nonnull (c.client_session);

  t0 = g_get_monotonic_time ();
  g_assert_true (wait_flag (&c, &c.client_opened, WAIT_S));
  g_test_message ("handshake done after %" G_GINT64_FORMAT " us",
      g_get_monotonic_time () - t0);
  g_assert_false (c.client_open_failed);
  g_assert_false (c.write_failed);

  g_assert_true (wait_received (&c, N_MESSAGES, WAIT_S));
  g_test_message ("%u messages delivered after %" G_GINT64_FORMAT " us",
      N_MESSAGES, g_get_monotonic_time () - t0);
  g_mutex_lock (&c.lock);
  if (c.bad)
    g_error ("%u bad messages; first: %s", c.bad, c.first_error);
  g_assert_cmpuint (c.received, ==, N_MESSAGES);
  g_assert_cmpuint (c.bytes_received, ==, expect_bytes);
  g_assert_true (c.server_opened);
  g_assert_true (c.flow_seen);
  g_mutex_unlock (&c.lock);

  st.c = &c;
  rtmfp_net_invoke_sync (c.client, do_client_stats, &st);
  g_assert_cmpint (st.session.state, ==, RTMFP_SESSION_OPEN);
  /* RTT measured through the timestamp echo (3.5.2.2): on loopback a few
   * 4 ms ticks at most, even on a loaded machine; ERTO is at least MRTO
   * (SRTT + 4 RTTVAR + the 200 ms delayed-ack allowance) and never below
   * 250 ms (the clamp), at most the 10 s backoff cap */
  g_assert_cmpint (st.session.srtt_us, >=, 0);
  g_assert_cmpint (st.session.srtt_us, <=, 100 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (st.session.erto_us, >=, 250 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (st.session.erto_us, >=, st.session.srtt_us + 4 *
      st.session.rttvar_us + 200 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (st.session.erto_us, <=, 10 * G_TIME_SPAN_SECOND);
  g_assert_cmpint (st.session.min_rtt_us, >=, 0);
  g_assert_cmpint (st.session.min_rtt_us, <=, st.session.srtt_us +
      4 * 1000);
  g_assert_cmpuint (st.session.bytes_sent, >, expect_bytes);
  g_assert_cmpuint (st.flow.messages_queued, ==, N_MESSAGES);
  g_assert_cmpuint (st.flow.bytes_queued, ==, expect_bytes);
  g_assert_cmpuint (st.ep.sessions_opened, ==, 1);
  g_assert_cmpuint (st.ep.datagrams_sent, >=,
      expect_bytes / RTMFP_MAX_DATAGRAM_SIZE);
  g_assert_cmpuint (rtmfp_session_get_far_address (c.client_session)->port,
      ==, oa.port);

  rtmfp_net_invoke_sync (c.server, do_endpoint_stats, &sst);
  g_assert_cmpuint (sst.sessions_opened, ==, 1);
  g_assert_cmpuint (sst.ihellos_received, >=, 1);
  g_assert_cmpuint (sst.dropped_undecodable, ==, 0);

  /* Orderly close (3.5.5): the initiator of the close reaches S_CLOSED
   * when acknowledged; the far end lingers (S_FARCLOSE_LINGER, 19 s) */
  rtmfp_net_invoke_sync (c.client, do_close, &c);
  g_assert_true (wait_flag (&c, &c.client_closed, WAIT_S));
  rtmfp_net_invoke_sync (c.server, do_server_state, &c);
  g_assert_cmpint (c.server_state, ==, RTMFP_SESSION_FARCLOSE_LINGER);
  g_test_message ("closed after %" G_GINT64_FORMAT " us",
      g_get_monotonic_time () - t0);

  rtmfp_net_stop (c.client);
  rtmfp_net_stop (c.server);
  rtmfp_net_stop (c.server);    /* idempotent */
  rtmfp_net_get_stats (c.client, &nst);
  g_assert_cmpuint (nst.send_errors, ==, 0);

  rtmfp_session_unref (c.client_session);
  rtmfp_session_unref (c.server_session);
  rtmfp_net_free (c.client);
  rtmfp_net_free (c.server);
  ctx_clear (&c);
}

/* Nothing listens: the session fails after the configured open timeout,
 * neither much sooner nor hanging. */
static void
test_connect_refused (void)
{
  RtmfpEndpointCallbacks ccb = { 0 };
  Ctx c;
  OpenArgs oa;
  gint64 t0, elapsed;

  ctx_init (&c);
  ccb.session_opened = client_session_opened;
  ccb.session_open_failed = client_session_open_failed;
  ccb.session_closed = client_session_closed;
  c.client = make_client (&c, &ccb, 2 * G_TIME_SPAN_SECOND);
  rtmfp_net_start (c.client);

  oa.c = &c;
  oa.port = unused_port ();
  t0 = g_get_monotonic_time ();
  rtmfp_net_invoke_sync (c.client, do_open, &oa);

  g_assert_true (wait_flag (&c, &c.client_open_failed, 20));
  elapsed = g_get_monotonic_time () - t0;
  g_assert_cmpint (elapsed, >=, 2 * G_TIME_SPAN_SECOND - 100 * 1000);
  g_assert_cmpint (elapsed, <, 15 * G_TIME_SPAN_SECOND);
  g_assert_false (c.client_opened);
  g_assert_cmpint (c.open_error_code, ==, RTMFP_SESSION_ERROR_TIMEOUT);
  g_assert_cmpint (rtmfp_session_get_state (c.client_session), ==,
      RTMFP_SESSION_OPEN_FAILED);

  t0 = g_get_monotonic_time ();
  rtmfp_net_stop (c.client);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_TIME_SPAN_SECOND);

  rtmfp_session_unref (c.client_session);
  rtmfp_net_free (c.client);
  ctx_clear (&c);
}

/* Stopping while a handshake is pending (default 95 s open timeout)
 * returns at once and no callback runs afterwards. */
static void
test_stop_during_handshake (void)
{
  RtmfpEndpointCallbacks ccb = { 0 };
  Ctx c;
  OpenArgs oa;
  gint64 t0;

  ctx_init (&c);
  ccb.session_opened = client_session_opened;
  ccb.session_open_failed = client_session_open_failed;
  ccb.session_closed = client_session_closed;
  c.client = make_client (&c, &ccb, 0);
  rtmfp_net_start (c.client);

  oa.c = &c;
  oa.port = unused_port ();
  rtmfp_net_invoke_sync (c.client, do_open, &oa);
  g_assert_cmpint (rtmfp_session_get_state (c.client_session), ==,
      RTMFP_SESSION_IHELLO_SENT);

  t0 = g_get_monotonic_time ();
  rtmfp_net_stop (c.client);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_TIME_SPAN_SECOND);
  g_mutex_lock (&c.lock);
  c.stopped = TRUE;
  g_assert_false (c.client_open_failed);
  g_mutex_unlock (&c.lock);

  /* Stopped: invoke_sync runs on the caller, and free aborts quietly */
  rtmfp_session_unref (c.client_session);
  rtmfp_net_free (c.client);
  g_assert_cmpuint (c.callbacks_after_stop, ==, 0);
  ctx_clear (&c);
}

/* ------------------- driver only (no handshake) --------------------- */

typedef struct {
  RtmfpAddr to;
  guint8 tag[16];
} RedirectArgs;

static void
do_redirect (RtmfpNet * net, gpointer data)
{
  RedirectArgs *a = data;

  rtmfp_endpoint_send_redirect (rtmfp_net_get_endpoint (net), &a->to, a->tag,
      sizeof (a->tag), &a->to, 1);
}

/* Receives one startup datagram on the (blocking, with timeout) raw
 * socket, checks it came from `port`, decodes it with the default session
 * key and returns a copy of its first chunk's payload. */
static GBytes *
raw_receive_chunk (GSocket * raw, guint16 port, guint8 * type)
{
  guint8 buf[4096], plain[4096];
  gsize plain_len = 0;
  GSocketAddress *from = NULL;
  GError *err = NULL;
  RtmfpCipher *cipher = rtmfp_cipher_new_default ();
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  gssize n;
  GBytes *res;

  n = g_socket_receive_from (raw, &from, (gchar *) buf, sizeof (buf), NULL,
      &err);
  g_assert_no_error (err);
  g_assert_cmpint (n, >, 8);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
          (from)), ==, port);
  g_object_unref (from);

  /* Startup packets use session ID 0 */
  g_assert_cmpuint (rtmfp_session_id_unscramble (buf, n), ==, 0);
  g_assert_true (rtmfp_cipher_decode (cipher, buf, n, plain, &plain_len));
  g_assert_true (rtmfp_packet_parse (plain, plain_len, &p));
  g_assert_cmpint (rtmfp_packet_mode (&p), ==, RTMFP_MODE_STARTUP);
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &ch));
  *type = ch.type;
  res = g_bytes_new (ch.data, ch.len);
  rtmfp_cipher_free (cipher);
  return res;
}

/* Raw socket <-> RtmfpNet bound to the dual-stack "any" address:
 * - a Redirect the endpoint sends to an IPv4 peer arrives from the net's
 *   port, intact;
 * - junk and an IHello sent to the net reach the endpoint (junk dropped,
 *   IHello answered by an RHello echoing our tag). */
static void
test_driver_io (void)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb = { 0 };
  RtmfpIdentity *id;
  RtmfpNet *net;
  RtmfpEndpointStats est;
  RtmfpNetStats nst;
  RtmfpAddr local;
  RedirectArgs ra;
  RtmfpRedirectChunk rd;
  RtmfpRHelloChunk rh;
  RtmfpIHelloChunk ih;
  RtmfpPacketBuilder pb;
  RtmfpCipher *cipher;
  GByteArray *epd, *chunk;
  GBytes *payload;
  GError *err = NULL;
  GSocket *raw;
  GInetAddress *lo;
  GSocketAddress *sa, *local_sa;
  guint8 junk[64], dgram[4200], type = 0;
  const guint8 *plain;
  gsize plain_len, dlen;
  guint16 raw_port, net_port;
  guint i;

  id = rtmfp_identity_new_ephemeral (dh_groups, 1, NULL, TRUE);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = TRUE;
  net = rtmfp_net_new (&cfg, &cb, NULL, NULL, 0, &err);
  g_assert_no_error (err);
  rtmfp_identity_unref (id);
  net_port = rtmfp_net_get_local_port (net);
  g_assert_cmpuint (net_port, !=, 0);
  g_assert_true (rtmfp_net_get_local_address (net, &local));
  g_assert_cmpuint (local.port, ==, net_port);
  g_assert_nonnull (rtmfp_net_get_context (net));
  g_assert_nonnull (rtmfp_net_get_endpoint (net));

  /* The raw peer: blocking with a timeout, so a failure cannot hang */
  lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  sa = g_inet_socket_address_new (lo, 0);
  raw = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, &err);
  g_assert_no_error (err);
  g_assert_true (g_socket_bind (raw, sa, FALSE, &err));
  g_object_unref (sa);
  g_socket_set_timeout (raw, 10);
  local_sa = g_socket_get_local_address (raw, &err);
  g_assert_no_error (err);
  raw_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local_sa));
  g_object_unref (local_sa);

  rtmfp_net_start (net);

  /* endpoint -> raw: Redirect (3.5.1.4) echoing our tag */
  g_assert_true (rtmfp_addr_from_string (&ra.to, "127.0.0.1", raw_port));
  ra.to.port = raw_port;
  for (i = 0; i < sizeof (ra.tag); i++)
    ra.tag[i] = 0xa0 + i;
  rtmfp_net_invoke_sync (net, do_redirect, &ra);
  payload = raw_receive_chunk (raw, net_port, &type);
  g_assert_cmpuint (type, ==, RTMFP_CHUNK_REDIRECT);
  g_assert_true (rtmfp_redirect_chunk_parse (g_bytes_get_data (payload, NULL),
          g_bytes_get_size (payload), &rd));
  g_assert_cmpmem (rd.tag_echo, rd.tag_echo_len, ra.tag, sizeof (ra.tag));
  g_assert_cmpuint (rd.n_addrs, ==, 1);
  g_assert_true (rtmfp_addr_equal (&rd.addrs[0], &ra.to));
  g_bytes_unref (payload);

  /* raw -> endpoint: three junk datagrams, then an IHello */
  sa = g_inet_socket_address_new (lo, net_port);
  memset (junk, 0x5a, sizeof (junk));
  for (i = 0; i < 3; i++)
    g_assert_cmpint (g_socket_send_to (raw, sa, (gchar *) junk, sizeof (junk),
            NULL, &err), ==, sizeof (junk));

  epd = g_byte_array_new ();
  rtmfp_epd_append_ancillary (epd, APP_URI);
  ih.epd = epd->data;
  ih.epd_len = epd->len;
  ih.tag = ra.tag;
  ih.tag_len = sizeof (ra.tag);
  chunk = g_byte_array_new ();
  rtmfp_ihello_chunk_append (chunk, &ih);
  rtmfp_packet_builder_init (&pb, RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS,
      1234, 0, RTMFP_MAX_STARTUP_PLAIN_SIZE);
  /* chunk holds type + length + payload: add the payload */
  g_assert_true (rtmfp_packet_builder_add (&pb, RTMFP_CHUNK_IHELLO,
          chunk->data + 3, chunk->len - 3));
  plain = rtmfp_packet_builder_data (&pb, &plain_len);
  cipher = rtmfp_cipher_new_default ();
  dlen = rtmfp_cipher_encode (cipher, 0, plain, plain_len, dgram,
      sizeof (dgram));
  g_assert_cmpuint (dlen, >, 0);
  g_assert_cmpint (g_socket_send_to (raw, sa, (gchar *) dgram, dlen, NULL,
          &err), ==, (gssize) dlen);
  g_assert_no_error (err);
  rtmfp_cipher_free (cipher);
  rtmfp_packet_builder_clear (&pb);
  g_byte_array_unref (chunk);
  g_byte_array_unref (epd);
  g_object_unref (sa);

  /* The RHello proves the whole path; the junk, sent earlier on the same
   * path, was read before it. */
  payload = raw_receive_chunk (raw, net_port, &type);
  g_assert_cmpuint (type, ==, RTMFP_CHUNK_RHELLO);
  g_assert_true (rtmfp_rhello_chunk_parse (g_bytes_get_data (payload, NULL),
          g_bytes_get_size (payload), &rh));
  g_assert_cmpmem (rh.tag_echo, rh.tag_echo_len, ra.tag, sizeof (ra.tag));
  g_bytes_unref (payload);

  rtmfp_net_invoke_sync (net, do_endpoint_stats, &est);
  g_assert_cmpuint (est.datagrams_received, ==, 4);
  g_assert_cmpuint (est.bytes_received, ==, 3 * sizeof (junk) + dlen);
  g_assert_cmpuint (est.ihellos_received, ==, 1);
  g_assert_cmpuint (est.rhellos_sent, ==, 1);
  g_assert_cmpuint (est.redirects_sent, ==, 1);
  g_assert_cmpuint (est.sessions_opened, ==, 0);

  rtmfp_net_stop (net);
  rtmfp_net_get_stats (net, &nst);
  g_assert_cmpuint (nst.send_errors, ==, 0);
  g_assert_cmpuint (nst.receive_errors, ==, 0);
  rtmfp_net_free (net);
  g_object_unref (raw);
  g_object_unref (lo);
}

/* invoke runs on the net thread in FIFO order; invoke_sync waits; both
 * work (on the caller) when the thread is not running. */
typedef struct {
  GMutex lock;
  GCond cond;
  GArray *order;
  GThread *thread;
  guint destroyed;
} InvokeLog;

static void
log_index (RtmfpNet * net, gpointer data)
{
  guint *p = data;
  InvokeLog *log = *(InvokeLog **) (p + 2);

  g_mutex_lock (&log->lock);
  g_array_append_val (log->order, p[0]);
  if (log->thread == NULL)
    log->thread = g_thread_self ();
  else if (log->thread != g_thread_self ())
    log->thread = (GThread *) & log->thread;    /* mismatch: never equal */
  g_cond_broadcast (&log->cond);
  g_mutex_unlock (&log->lock);
}

static void
destroy_index (gpointer data)
{
  guint *p = data;
  InvokeLog *log = *(InvokeLog **) (p + 2);

  g_mutex_lock (&log->lock);
  log->destroyed++;
  g_mutex_unlock (&log->lock);
  g_free (p);
}

static guint *
new_index (InvokeLog * log, guint i)
{
  guint *p = g_malloc0 (2 * sizeof (guint) + sizeof (gpointer));

  p[0] = i;
  *(InvokeLog **) (p + 2) = log;
  return p;
}

static void
note_thread (RtmfpNet * net, gpointer data)
{
  *(GThread **) data = g_thread_self ();
}

static void
test_invoke (void)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb = { 0 };
  RtmfpIdentity *id;
  RtmfpNet *net;
  InvokeLog log = { 0 };
  GError *err = NULL;
  GThread *t = NULL;
  guint i;
  gint64 end;

  g_mutex_init (&log.lock);
  g_cond_init (&log.cond);
  log.order = g_array_new (FALSE, FALSE, sizeof (guint));

  id = rtmfp_identity_new_static (dh_groups, 1);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  net = rtmfp_net_new (&cfg, &cb, NULL, "127.0.0.1", 0, &err);
  g_assert_no_error (err);
  rtmfp_identity_unref (id);

  /* Not running: invoke_sync runs on the caller */
  rtmfp_net_invoke_sync (net, note_thread, &t);
  g_assert_true (t == g_thread_self ());

  /* Queued before start, run in order once started */
  for (i = 0; i < 50; i++)
    rtmfp_net_invoke (net, log_index, new_index (&log, i), destroy_index);
  rtmfp_net_start (net);
  for (i = 50; i < 100; i++)
    rtmfp_net_invoke (net, log_index, new_index (&log, i), destroy_index);
  rtmfp_net_invoke_sync (net, note_thread, &t);
  g_assert_true (t != g_thread_self ());

  end = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&log.lock);
  while (log.order->len < 100)
    if (!g_cond_wait_until (&log.cond, &log.lock, end))
      break;
  g_assert_cmpuint (log.order->len, ==, 100);
  for (i = 0; i < 100; i++)
    g_assert_cmpuint (g_array_index (log.order, guint, i), ==, i);
  g_assert_true (log.thread == t);
  g_assert_cmpuint (log.destroyed, ==, 100);
  g_mutex_unlock (&log.lock);

  /* Stopped: async invokes stay queued and are released by free */
  rtmfp_net_stop (net);
  for (i = 0; i < 5; i++)
    rtmfp_net_invoke (net, log_index, new_index (&log, 1000 + i),
        destroy_index);
  rtmfp_net_free (net);
  g_assert_cmpuint (log.order->len, ==, 100);
  g_assert_cmpuint (log.destroyed, ==, 105);

  g_array_unref (log.order);
  g_mutex_clear (&log.lock);
  g_cond_clear (&log.cond);
}

/* ---- dead peer detection with the ICMP hint (issue 15) ---- */

static void
do_write_some (RtmfpNet * net, gpointer data)
{
  Ctx *c = data;
  guint8 m[1000] = { 0 };
  guint i;

  for (i = 0; i < 5; i++)
    rtmfp_session_write (c->client_session, c->client_flow, m, sizeof m,
        RTMFP_NO_DEADLINE, 0, rtmfp_net_now (net));
}

static void
do_client_session_stats (RtmfpNet * net, gpointer data)
{
  StatsArgs *a = data;

  rtmfp_session_get_stats (a->c->client_session, &a->session);
}

/* The far end's socket closes (its process killed) while we have data
 * for it: every datagram draws an ICMP port unreachable, which rtmfpnet
 * reads from the error queue; with it, dead peer detection closes the
 * session after two retransmission timeouts (about 0.6 s on loopback)
 * rather than five (2.8 s) or the 4 s limit. */
static void
test_dead_peer_icmp (void)
{
  RtmfpEndpointCallbacks scb = { 0 }, ccb = { 0 };
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *id;
  Ctx c;
  OpenArgs oa;
  StatsArgs st = { 0 };
  RtmfpNetStats nst;
  GError *err = NULL;
  gint64 t0, took;

  ctx_init (&c);
  scb.session_opened = server_session_opened;
  scb.session_closed = server_session_closed;
  scb.flow_opened = server_flow_opened;
  ccb.session_opened = client_session_opened;
  ccb.session_open_failed = client_session_open_failed;
  ccb.session_closed = client_session_closed;

  c.server = make_server (&c, &scb);
  id = rtmfp_identity_new_static (dh_groups, G_N_ELEMENTS (dh_groups));
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = FALSE;
  cfg.dead_peer_timeout_us = 4 * G_TIME_SPAN_SECOND;
  c.client = rtmfp_net_new (&cfg, &ccb, &c, "127.0.0.1", 0, &err);
  g_assert_no_error (err);
  rtmfp_identity_unref (id);
  rtmfp_net_start (c.server);
  rtmfp_net_start (c.client);

  oa.c = &c;
  oa.port = rtmfp_net_get_local_port (c.server);
  rtmfp_net_invoke_sync (c.client, do_open, &oa);
  g_assert_true (wait_flag (&c, &c.client_opened, WAIT_S));
  g_assert_true (wait_received (&c, N_MESSAGES, WAIT_S));

  /* the far end vanishes: its socket is closed */
  rtmfp_net_stop (c.server);
  rtmfp_net_free (c.server);
  c.server = NULL;

  t0 = g_get_monotonic_time ();
  rtmfp_net_invoke_sync (c.client, do_write_some, &c);
  g_assert_true (wait_flag (&c, &c.client_closed, 10));
  took = g_get_monotonic_time () - t0;
  st.c = &c;
  rtmfp_net_invoke_sync (c.client, do_client_session_stats, &st);
  rtmfp_net_get_stats (c.client, &nst);
  g_test_message ("far end gone: closed after %" G_GINT64_FORMAT " ms; %"
      G_GUINT64_FORMAT " ICMP port unreachable read, %" G_GUINT64_FORMAT
      " timeouts", took / 1000, nst.icmp_unreachable, st.session.timeouts);
  g_assert_cmpuint (nst.icmp_unreachable, >, 0);
  g_assert_cmpuint (st.session.icmp_unreachable, >, 0);
  g_assert_cmpuint (st.session.dead_peer_closes, ==, 1);
  g_assert_cmpint (took, >=, RTMFP_SESSION_MIN_DEAD_PEER_US);
  g_assert_cmpint (took, <, 2 * G_TIME_SPAN_SECOND);

  rtmfp_net_stop (c.client);
  rtmfp_session_unref (c.client_session);
  rtmfp_session_unref (c.server_session);
  rtmfp_net_free (c.client);
  ctx_clear (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/loopback/dead-peer-icmp", test_dead_peer_icmp);

  g_test_add_func ("/loopback/invoke", test_invoke);
  g_test_add_func ("/loopback/driver-io", test_driver_io);
  g_test_add_func ("/loopback/transfer", test_transfer);
  g_test_add_func ("/loopback/connect-refused", test_connect_refused);
  g_test_add_func ("/loopback/stop-during-handshake",
      test_stop_during_handshake);
  return g_test_run ();
}
