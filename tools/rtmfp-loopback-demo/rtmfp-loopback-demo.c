/* rtmfp-loopback-demo: runs an RTMFP server endpoint and a client endpoint
 * on 127.0.0.1 in one process (each on its own RtmfpNet thread), does the
 * handshake, sends N messages over one reliable flow, checks every one
 * arrives intact and in order, and prints a summary.
 *
 * Exit status: 0 on success, 1 on failure, 2 on timeout.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-loopback-demo"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "rtmfpnet.h"

#define APP_URI "rtmfp://127.0.0.1/app"
/* Keep at most this much unacknowledged data queued in the flow */
#define HIGH_WATER (256 * 1024)

static const guint dh_groups[] = { 14 };

static gint opt_messages = 1000;
static gint opt_max_size = 4000;
static gint opt_timeout = 30;
static gboolean opt_quiet = FALSE;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"messages", 'n', 0, G_OPTION_ARG_INT, &opt_messages,
      "Number of messages to send (default 1000)", "N"},
  {"max-size", 's', 0, G_OPTION_ARG_INT, &opt_max_size,
      "Largest message size in bytes (default 4000)", "BYTES"},
  {"timeout", 't', 0, G_OPTION_ARG_INT, &opt_timeout,
      "Give up after this many seconds (default 30)", "S"},
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
      "Only print the summary", NULL},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  GMutex lock;
  GCond cond;

  RtmfpNet *server;
  RtmfpNet *client;
  guint n_messages;
  gsize max_size;

  /* client net thread only */
  RtmfpSession *session;        /* ref'd */
  RtmfpSendFlow *flow;
  guint next_to_send;

  /* under lock */
  gint64 t_start;
  gint64 t_opened;
  gint64 t_done;
  gboolean opened;
  gboolean failed;
  gchar *error;
  gboolean closed;
  guint received;
  guint64 bytes_received;
} Demo;

static gsize
message_size (Demo * d, guint i)
{
  return 4 + ((guint64) i * 7919u) % (d->max_size - 3);
}

static guint8
pattern_byte (guint i, gsize j)
{
  return (guint8) ((i * 131u + j * 7u + (j >> 8)) & 0xff);
}

static void
fail (Demo * d, const gchar * fmt, ...) G_GNUC_PRINTF (2, 3);

static void
fail (Demo * d, const gchar * fmt, ...)
{
  va_list ap;

  g_mutex_lock (&d->lock);
  if (!d->failed) {
    va_start (ap, fmt);
    d->error = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    d->failed = TRUE;
  }
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
}

/* ------------------------------ client ------------------------------ */

/* Client net thread: queue messages while the flow has room */
static void
pump (Demo * d)
{
  gint64 now = rtmfp_net_now (d->client);
  guint8 *buf;

  if (d->flow == NULL || d->next_to_send >= d->n_messages)
    return;
  buf = g_malloc (d->max_size);
  while (d->next_to_send < d->n_messages &&
      rtmfp_send_flow_get_queued_bytes (d->flow) < HIGH_WATER) {
    guint i = d->next_to_send;
    gsize len = message_size (d, i), j;

    buf[0] = i >> 24;
    buf[1] = i >> 16;
    buf[2] = i >> 8;
    buf[3] = i;
    for (j = 4; j < len; j++)
      buf[j] = pattern_byte (i, j);
    if (!rtmfp_session_write (d->session, d->flow, buf, len,
            RTMFP_NO_DEADLINE, 0, now)) {
      fail (d, "write of message %u refused", i);
      break;
    }
    d->next_to_send++;
  }
  g_free (buf);
}

static void
pump_invoked (RtmfpNet * net, gpointer data)
{
  pump (data);
}

static void
client_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Demo *d = ud;

  g_mutex_lock (&d->lock);
  d->t_opened = g_get_monotonic_time ();
  d->opened = TRUE;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);

  d->flow = rtmfp_session_open_flow (s, (const guint8 *) "demo", 4, NULL);
  if (d->flow == NULL) {
    fail (d, "could not open a flow");
    return;
  }
  pump (d);
}

static void
client_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  const GError *err = rtmfp_session_get_error (s);

  fail (ud, "handshake failed: %s", err ? err->message : "unknown error");
}

static void
client_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Demo *d = ud;

  g_mutex_lock (&d->lock);
  d->closed = TRUE;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
}

static void
client_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  pump (ud);
}

static void
client_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  fail (ud, "the server rejected the flow (code %" G_GUINT64_FORMAT ")", code);
}

static void
do_open (RtmfpNet * net, gpointer data)
{
  Demo *d = data;
  GByteArray *epd = g_byte_array_new ();
  RtmfpAddr to;

  rtmfp_net_get_local_address (d->server, &to);
  rtmfp_epd_append_ancillary (epd, APP_URI);
  d->session = rtmfp_endpoint_open_session (rtmfp_net_get_endpoint (net),
      epd->data, epd->len, &to, 1, rtmfp_net_now (net));
  if (d->session)
    rtmfp_session_ref (d->session);
  else
    fail (d, "could not start the handshake");
  g_byte_array_unref (epd);
}

static void
do_close (RtmfpNet * net, gpointer data)
{
  Demo *d = data;

  if (d->session)
    rtmfp_session_close (d->session, rtmfp_net_now (net));
}

typedef struct {
  Demo *d;
  RtmfpSessionStats session;
  RtmfpSendFlowStats flow;
  gboolean have_flow;
} Stats;

static void
do_stats (RtmfpNet * net, gpointer data)
{
  Stats *st = data;

  if (st->d->session)
    rtmfp_session_get_stats (st->d->session, &st->session);
  if (st->d->flow) {
    rtmfp_send_flow_get_stats (st->d->flow, &st->flow);
    st->have_flow = TRUE;
  }
}

/* ------------------------------ server ------------------------------ */

static void
server_on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Demo *d = ud;
  guint idx;
  gsize j;

  if (len < 4) {
    fail (d, "short message (%" G_GSIZE_FORMAT " bytes)", len);
    return;
  }
  idx = ((guint) data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3];
  g_mutex_lock (&d->lock);
  if (idx != d->received || gap != 0 || len != message_size (d, idx)) {
    g_mutex_unlock (&d->lock);
    fail (d, "message %u arrived as #%u (%" G_GSIZE_FORMAT " bytes, gap %"
        G_GUINT64_FORMAT ")", idx, d->received, len, gap);
    return;
  }
  g_mutex_unlock (&d->lock);
  for (j = 4; j < len; j++)
    if (data[j] != pattern_byte (idx, j)) {
      fail (d, "message %u corrupted at byte %" G_GSIZE_FORMAT, idx, j);
      return;
    }

  g_mutex_lock (&d->lock);
  d->received++;
  d->bytes_received += len;
  if (d->received == d->n_messages)
    d->t_done = g_get_monotonic_time ();
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
}

static gboolean
server_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, server_on_message, NULL, ud);
  return TRUE;
}

/* ------------------------------- main ------------------------------- */

static RtmfpNet *
make_net (Demo * d, RtmfpIdentity * id, gboolean server,
    const RtmfpEndpointCallbacks * cb, GError ** error)
{
  RtmfpEndpointConfig cfg;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = server;
  cfg.open_timeout_us = (gint64) opt_timeout * G_TIME_SPAN_SECOND;
  return rtmfp_net_new (&cfg, cb, d, "127.0.0.1", 0, error);
}

static gchar *
format_rate (gdouble bytes, gdouble seconds)
{
  gdouble bps = seconds > 0 ? bytes * 8 / seconds : 0;

  if (bps >= 1e6)
    return g_strdup_printf ("%.2f Mbit/s", bps / 1e6);
  return g_strdup_printf ("%.1f kbit/s", bps / 1e3);
}

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  RtmfpEndpointCallbacks scb = { 0 }, ccb = { 0 };
  RtmfpIdentity *sid, *cid;
  Demo d;
  Stats st = { 0 };
  gint64 deadline, next_print;
  gboolean timed_out = FALSE, ok;
  gint status;

  octx = g_option_context_new ("- RTMFP over loopback, end to end");
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    g_option_context_free (octx);
    g_clear_error (&err);
    return 1;
  }
  g_option_context_free (octx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (opt_messages < 1 || opt_max_size < 4 || opt_max_size > 16 * 1024 * 1024
      || opt_timeout < 1) {
    g_printerr ("need --messages >= 1, 4 <= --max-size <= 16M, "
        "--timeout >= 1\n");
    return 1;
  }

  memset (&d, 0, sizeof (d));
  g_mutex_init (&d.lock);
  g_cond_init (&d.cond);
  d.n_messages = opt_messages;
  d.max_size = opt_max_size;

  scb.flow_opened = server_flow_opened;
  ccb.session_opened = client_session_opened;
  ccb.session_open_failed = client_session_open_failed;
  ccb.session_closed = client_session_closed;
  ccb.send_flow_writable = client_flow_writable;
  ccb.send_flow_exception = client_flow_exception;

  sid = rtmfp_identity_new_ephemeral (dh_groups, G_N_ELEMENTS (dh_groups),
      NULL, TRUE);
  cid = rtmfp_identity_new_static (dh_groups, G_N_ELEMENTS (dh_groups));
  d.server = make_net (&d, sid, TRUE, &scb, &err);
  if (d.server)
    d.client = make_net (&d, cid, FALSE, &ccb, &err);
  rtmfp_identity_unref (sid);
  rtmfp_identity_unref (cid);
  if (d.client == NULL) {
    g_printerr ("cannot open a UDP socket on 127.0.0.1: %s\n", err->message);
    g_clear_error (&err);
    rtmfp_net_free (d.server);
    return 1;
  }

  if (!opt_quiet) {
    gchar *peer = rtmfp_identity_get_peer_id (rtmfp_endpoint_get_identity
        (rtmfp_net_get_endpoint (d.client)));

    g_print ("server  listening on 127.0.0.1:%u\n",
        rtmfp_net_get_local_port (d.server));
    g_print ("client  127.0.0.1:%u, peer ID %.16s...\n",
        rtmfp_net_get_local_port (d.client), peer);
    g_print ("sending %u messages of 4..%" G_GSIZE_FORMAT " bytes to %s\n",
        d.n_messages, d.max_size, APP_URI);
    g_free (peer);
  }

  rtmfp_net_start (d.server);
  rtmfp_net_start (d.client);
  d.t_start = g_get_monotonic_time ();
  deadline = d.t_start + (gint64) opt_timeout * G_TIME_SPAN_SECOND;
  rtmfp_net_invoke_sync (d.client, do_open, &d);

  /* Wait for the end, printing progress and topping up the flow (in case
   * a writable notification was missed) every 250 ms. */
  next_print = d.t_start + 250 * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock (&d.lock);
  while (!d.failed && d.received < d.n_messages) {
    gint64 now = g_get_monotonic_time ();

    if (now >= deadline) {
      timed_out = TRUE;
      break;
    }
    if (now >= next_print) {
      guint r = d.received;
      guint64 b = d.bytes_received;
      gboolean opened = d.opened;

      g_mutex_unlock (&d.lock);
      if (opened)
        rtmfp_net_invoke (d.client, pump_invoked, &d, NULL);
      if (!opt_quiet)
        g_print ("  %s %u/%u messages, %.1f kB\n",
            opened ? "delivered" : "handshaking...", r, d.n_messages,
            b / 1000.0);
      next_print = now + 250 * G_TIME_SPAN_MILLISECOND;
      g_mutex_lock (&d.lock);
      continue;
    }
    g_cond_wait_until (&d.cond, &d.lock, MIN (deadline, next_print));
  }
  ok = !d.failed && !timed_out;
  g_mutex_unlock (&d.lock);

  st.d = &d;
  rtmfp_net_invoke_sync (d.client, do_stats, &st);

  /* Orderly close (bounded wait) */
  rtmfp_net_invoke_sync (d.client, do_close, &d);
  {
    gint64 end = g_get_monotonic_time () + 2 * G_TIME_SPAN_SECOND;

    g_mutex_lock (&d.lock);
    while (!d.closed && d.session)
      if (!g_cond_wait_until (&d.cond, &d.lock, end))
        break;
    g_mutex_unlock (&d.lock);
  }
  rtmfp_net_stop (d.client);
  rtmfp_net_stop (d.server);

  g_print ("\n== rtmfp-loopback-demo summary ==\n");
  if (d.opened)
    g_print ("handshake      %.1f ms\n", (d.t_opened - d.t_start) / 1000.0);
  else
    g_print ("handshake      not completed\n");
  g_print ("delivered      %u/%u messages, %" G_GUINT64_FORMAT " bytes\n",
      d.received, d.n_messages, d.bytes_received);
  if (d.session) {
    gdouble secs = ((d.t_done ? d.t_done : g_get_monotonic_time ()) -
        d.t_opened) / 1e6;
    gchar *rate = format_rate (d.bytes_received, secs);

    if (st.session.srtt_us >= 0)
      g_print ("rtt            %.3f ms (rttvar %.3f ms)\n",
          st.session.srtt_us / 1000.0, st.session.rttvar_us / 1000.0);
    else
      g_print ("rtt            no sample\n");
    g_print ("packets        %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
        " received; %" G_GUINT64_FORMAT " bytes on the wire\n",
        st.session.packets_sent, st.session.packets_received,
        st.session.bytes_sent);
    g_print ("retransmitted  %" G_GUINT64_FORMAT " fragments (%"
        G_GUINT64_FORMAT " declared lost, %" G_GUINT64_FORMAT " timeouts)\n",
        st.session.fragments_retransmitted, st.session.fragments_lost,
        st.session.timeouts);
    g_print ("congestion     cwnd %" G_GUINT64_FORMAT " bytes\n",
        st.session.cwnd);
    if (d.opened)
      g_print ("throughput     %s over %.3f s\n", rate, secs);
    g_free (rate);
  }

  if (ok) {
    g_print ("result         OK\n");
    status = 0;
  } else if (timed_out) {
    g_print ("result         TIMEOUT after %d s\n", opt_timeout);
    status = 2;
  } else {
    g_print ("result         FAILED: %s\n", d.error);
    status = 1;
  }

  if (d.session)
    rtmfp_session_unref (d.session);
  rtmfp_net_free (d.client);
  rtmfp_net_free (d.server);
  g_free (d.error);
  g_mutex_clear (&d.lock);
  g_cond_clear (&d.cond);
  return status;
}
