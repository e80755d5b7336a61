/* rtmfp-bench-throughput: the largest encrypted goodput of ONE session on
 * loopback, and what it costs in CPU.
 *
 * Two endpoints, each on its own RtmfpNet thread, on 127.0.0.1; one
 * session (DH group 14, negotiated HMAC-SHA256-128 and session sequence
 * numbers: the default), one reliable flow.  The sender keeps up to
 * --queue bytes written into the flow (rtmfp_session_write until
 * rtmfp_send_flow_get_queued_bytes reaches it, topped up on
 * send_flow_writable and every sample), for --seconds after a warm-up.
 *
 * Reports goodput (application bytes delivered in order), packets/s,
 * retransmissions, CPU (whole process via getrusage, and each net thread
 * via CLOCK_THREAD_CPUTIME_ID) and compares the goodput with the
 * single-core crypto limit measured just before (benchutil.c):
 *   - per side: the sender thread must encrypt + HMAC every byte, the
 *     receiver thread must verify + decrypt it, each on its own core;
 *   - one core: encrypt + decrypt of every packet, as if both ends shared
 *     a core (the conservative comparison for a one-process test).
 *
 * Prints a markdown table; --csv-prefix P writes P-samples.csv (goodput
 * over time) and P-summary.csv.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-bench"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "rtmfpnet.h"
#include "rtmfppacket.h"
#include "benchutil.h"

#define APP_URI "rtmfp://127.0.0.1/bench"

static const guint dh_groups[] = { 14 };

static gdouble opt_seconds = 5;
static gdouble opt_warmup = 0.5;
static gint opt_message_size = 16384;
static gint opt_queue = 256 * 1024;
static gint opt_sample_ms = 100;
static gint opt_fragment_size = 0;
static gdouble opt_limit_seconds = 1.5;
static gchar *opt_csv_prefix;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"seconds", 't', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
      "Measured seconds (default 5)", "S"},
  {"warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &opt_warmup,
      "Seconds after the handshake before measuring (default 0.5)", "S"},
  {"message-size", 's', 0, G_OPTION_ARG_INT, &opt_message_size,
      "Bytes per message written (default 16384)", "BYTES"},
  {"queue", 'q', 0, G_OPTION_ARG_INT, &opt_queue,
      "Bytes kept queued in the flow (default 262144)", "BYTES"},
  {"fragment-size", 'f', 0, G_OPTION_ARG_INT, &opt_fragment_size,
      "rtmfp_send_flow_set_fragment_size (default 0: the flow's default; "
        "-1: the largest allowed)", "BYTES"},
  {"sample-ms", 0, 0, G_OPTION_ARG_INT, &opt_sample_ms,
      "Goodput sample period (default 100)", "MS"},
  {"limit-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_limit_seconds,
      "Time spent measuring the crypto limit first (default 1.5; 0: skip)",
      "S"},
  {"csv-prefix", 0, 0, G_OPTION_ARG_FILENAME, &opt_csv_prefix,
      "Write PREFIX-samples.csv and PREFIX-summary.csv", "PREFIX"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  GMutex lock;
  GCond cond;

  RtmfpNet *server;
  RtmfpNet *client;

  /* client net thread */
  RtmfpSession *session;        /* ref'd */
  RtmfpSendFlow *flow;
  guint8 *msg;
  guint64 next_seq;
  guint64 writes;

  /* server net thread */
  RtmfpSession *server_session; /* ref'd */
  guint64 expect_seq;

  /* atomics */
  guint64 bytes_delivered;
  gint bad;                     /* out of order / wrong size */

  /* under lock */
  gboolean opened;
  gboolean failed;
  gchar *error;
} Bench;

static void
fail (Bench * b, const gchar * msg)
{
  g_mutex_lock (&b->lock);
  if (!b->failed) {
    b->failed = TRUE;
    b->error = g_strdup (msg);
  }
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
}

/* ------------------------------ client ------------------------------ */

static void
pump (Bench * b)
{
  gint64 now;

  if (b->flow == NULL)
    return;
  now = rtmfp_net_now (b->client);
  while (rtmfp_send_flow_get_queued_bytes (b->flow) < (gsize) opt_queue) {
    guint64 seq = b->next_seq;

    /* a sequence number in front: the receiver checks order and size */
    memcpy (b->msg, &seq, sizeof (seq));
    if (!rtmfp_session_write (b->session, b->flow, b->msg, opt_message_size,
            RTMFP_NO_DEADLINE, 0, now)) {
      fail (b, "write refused");
      return;
    }
    b->next_seq++;
    b->writes++;
  }
}

static void
client_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Bench *b = ud;

  b->flow = rtmfp_session_open_flow (s, (const guint8 *) "bench", 5, NULL);
  if (b->flow == NULL) {
    fail (b, "could not open a flow");
    return;
  }
  if (opt_fragment_size != 0)
    rtmfp_send_flow_set_fragment_size (b->flow, opt_fragment_size < 0 ?
        G_MAXSIZE : (gsize) opt_fragment_size);
  g_mutex_lock (&b->lock);
  b->opened = TRUE;
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
  pump (b);
}

static void
client_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  fail (ud, "handshake failed");
}

static void
client_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  fail (ud, "session closed during the run");
}

static void
client_writable (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    gpointer ud)
{
  pump (ud);
}

static void
client_exception (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    guint64 code, gpointer ud)
{
  fail (ud, "flow rejected");
}

static void
do_open (RtmfpNet * net, gpointer data)
{
  Bench *b = data;
  GByteArray *epd = g_byte_array_new ();
  RtmfpAddr to;

  rtmfp_net_get_local_address (b->server, &to);
  rtmfp_epd_append_ancillary (epd, APP_URI);
  b->session = rtmfp_endpoint_open_session (rtmfp_net_get_endpoint (net),
      epd->data, epd->len, &to, 1, rtmfp_net_now (net));
  if (b->session)
    rtmfp_session_ref (b->session);
  else
    fail (b, "could not start the handshake");
  g_byte_array_unref (epd);
}

/* ------------------------------ server ------------------------------ */

static void
server_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Bench *b = ud;
  guint64 seq;

  if (len != (gsize) opt_message_size || gap != 0) {
    g_atomic_int_set (&b->bad, 1);
    return;
  }
  memcpy (&seq, data, sizeof (seq));
  if (seq != b->expect_seq)
    g_atomic_int_set (&b->bad, 1);
  b->expect_seq = seq + 1;
  __atomic_add_fetch (&b->bytes_delivered, len, __ATOMIC_RELAXED);
}

static gboolean
server_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, server_message, NULL, ud);
  return TRUE;
}

static void
server_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Bench *b = ud;

  if (b->server_session == NULL)
    b->server_session = rtmfp_session_ref (s);
}

/* ------------------------------ probes ------------------------------ */

typedef struct {
  Bench *b;
  gboolean server;
  gdouble thread_cpu;
  RtmfpSessionStats st;
  gboolean have_st;
  RtmfpEndpointStats ep;
  guint64 writes;
} Probe;

static void
probe (RtmfpNet * net, gpointer data)
{
  Probe *p = data;
  RtmfpSession *s = p->server ? p->b->server_session : p->b->session;

  p->thread_cpu = bench_thread_cpu ();
  if (s) {
    rtmfp_session_get_stats (s, &p->st);
    p->have_st = TRUE;
  }
  rtmfp_endpoint_get_stats (rtmfp_net_get_endpoint (net), &p->ep);
  p->writes = p->b->writes;
  if (!p->server)
    pump (p->b);                /* top up, in case a wakeup was missed */
}

static void
probe_both (Bench * b, Probe * c, Probe * s)
{
  memset (c, 0, sizeof (*c));
  memset (s, 0, sizeof (*s));
  c->b = s->b = b;
  s->server = TRUE;
  rtmfp_net_invoke_sync (b->client, probe, c);
  rtmfp_net_invoke_sync (b->server, probe, s);
}

/* ------------------------------- main ------------------------------- */

static RtmfpNet *
make_net (Bench * b, RtmfpIdentity * id, gboolean server,
    const RtmfpEndpointCallbacks * cb, GError ** error)
{
  RtmfpEndpointConfig cfg;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = server;
  return rtmfp_net_new (&cfg, cb, b, "127.0.0.1", 0, error);
}

typedef struct {
  const gchar *name;
  gchar *value;
  gchar *note;
} Line;

static GArray *lines;

static void
line (const gchar * name, const gchar * note, const gchar * fmt, ...)
G_GNUC_PRINTF (3, 4);

static void
line (const gchar * name, const gchar * note, const gchar * fmt, ...)
{
  Line l;
  va_list ap;

  va_start (ap, fmt);
  l.name = name;
  l.value = g_strdup_vprintf (fmt, ap);
  l.note = g_strdup (note ? note : "");
  va_end (ap);
  g_array_append_val (lines, l);
}

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  RtmfpEndpointCallbacks scb = { 0 }, ccb = { 0 };
  RtmfpIdentity *sid, *cid;
  RtmfpNetStats cns, sns;
  BenchCryptoLimit lim;
  Bench b;
  Probe c0, s0, c1, s1;
  GArray *samples;
  FILE *csv;
  gdouble t_req, t_open, t_start, t_end, cpu0, cpu1, wall, next, prev_t;
  guint64 bytes0, bytes1, prev_bytes;
  gdouble goodput, pps, cpu_cores, snd_cores, rcv_cores, mbit;
  gchar *machine;
  guint i;
  gint status = 0;

  octx = g_option_context_new ("- one RTMFP session's goodput and CPU cost "
      "on loopback");
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  g_option_context_free (octx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (opt_seconds <= 0 || opt_message_size < 8 || opt_message_size >
      4 * 1024 * 1024 || opt_queue < opt_message_size || opt_sample_ms < 10) {
    g_printerr ("bad options\n");
    return 1;
  }

  memset (&lim, 0, sizeof (lim));
  if (opt_limit_seconds > 0)
    bench_crypto_limit (RTMFP_MAX_PLAIN_SIZE, opt_limit_seconds, &lim);

  memset (&b, 0, sizeof (b));
  g_mutex_init (&b.lock);
  g_cond_init (&b.cond);
  b.msg = g_malloc (opt_message_size);
  for (i = 0; i < (guint) opt_message_size; i++)
    b.msg[i] = (guint8) (i * 7 + 3);

  scb.flow_opened = server_flow_opened;
  scb.session_opened = server_opened;
  ccb.session_opened = client_opened;
  ccb.session_open_failed = client_open_failed;
  ccb.session_closed = client_closed;
  ccb.send_flow_writable = client_writable;
  ccb.send_flow_exception = client_exception;

  sid = rtmfp_identity_new_ephemeral (dh_groups, 1, NULL, TRUE);
  cid = rtmfp_identity_new_static (dh_groups, 1);
  b.server = make_net (&b, sid, TRUE, &scb, &err);
  if (b.server)
    b.client = make_net (&b, cid, FALSE, &ccb, &err);
  rtmfp_identity_unref (sid);
  rtmfp_identity_unref (cid);
  if (b.client == NULL) {
    g_printerr ("cannot open UDP sockets: %s\n", err->message);
    return 1;
  }
  rtmfp_net_start (b.server);
  rtmfp_net_start (b.client);
  t_req = bench_now ();
  rtmfp_net_invoke_sync (b.client, do_open, &b);

  g_mutex_lock (&b.lock);
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (!b.opened && !b.failed)
      if (!g_cond_wait_until (&b.cond, &b.lock, deadline))
        break;
  }
  if (!b.opened) {
    g_mutex_unlock (&b.lock);
    g_printerr ("no session: %s\n", b.error ? b.error : "timeout");
    return 1;
  }
  g_mutex_unlock (&b.lock);
  t_open = bench_now ();

  /* warm-up (slow start, buffers) */
  g_usleep ((gulong) (opt_warmup * 1e6));

  samples = g_array_new (FALSE, FALSE, sizeof (gdouble) * 2);
  probe_both (&b, &c0, &s0);
  cpu0 = bench_process_cpu ();
  t_start = bench_now ();
  bytes0 = __atomic_load_n (&b.bytes_delivered, __ATOMIC_RELAXED);
  prev_t = t_start;
  prev_bytes = bytes0;
  next = t_start;
  for (;;) {
    gdouble now, pair[2];
    guint64 by;
    Probe dummy;

    next += opt_sample_ms / 1000.0;
    now = bench_now ();
    if (next > now)
      g_usleep ((gulong) ((next - now) * 1e6));
    now = bench_now ();
    by = __atomic_load_n (&b.bytes_delivered, __ATOMIC_RELAXED);
    pair[0] = now - t_start;
    pair[1] = BENCH_MBIT ((by - prev_bytes) / (now - prev_t));
    g_array_append_vals (samples, pair, 1);
    prev_t = now;
    prev_bytes = by;
    /* top up the sender (cheap; covers a missed writable) */
    memset (&dummy, 0, sizeof (dummy));
    dummy.b = &b;
    rtmfp_net_invoke_sync (b.client, probe, &dummy);
    if (now - t_start >= opt_seconds || b.failed)
      break;
  }
  bytes1 = __atomic_load_n (&b.bytes_delivered, __ATOMIC_RELAXED);
  t_end = bench_now ();
  cpu1 = bench_process_cpu ();
  probe_both (&b, &c1, &s1);

  rtmfp_net_stop (b.client);
  rtmfp_net_stop (b.server);
  rtmfp_net_get_stats (b.client, &cns);
  rtmfp_net_get_stats (b.server, &sns);

  if (b.failed) {
    g_printerr ("FAILED: %s\n", b.error);
    status = 1;
  }
  if (g_atomic_int_get (&b.bad)) {
    g_printerr ("FAILED: messages out of order or wrong size\n");
    status = 1;
  }

  wall = t_end - t_start;
  goodput = (bytes1 - bytes0) / wall;
  mbit = BENCH_MBIT (goodput);
  pps = (c1.st.packets_sent - c0.st.packets_sent) / wall;
  cpu_cores = (cpu1 - cpu0) / wall;
  snd_cores = (c1.thread_cpu - c0.thread_cpu) / wall;
  rcv_cores = (s1.thread_cpu - s0.thread_cpu) / wall;

  lines = g_array_new (FALSE, FALSE, sizeof (Line));
  line ("goodput", "application bytes delivered in order", "%.1f Mbit/s "
      "(%.1f MB/s)", mbit, goodput / 1e6);
  line ("packets sent", "sender, data + retransmissions", "%.0f /s", pps);
  line ("wire bytes", "UDP payload, sender", "%.1f Mbit/s",
      BENCH_MBIT ((c1.st.bytes_sent - c0.st.bytes_sent) / wall));
  line ("datagram size", "sender, mean", "%.0f bytes",
      c1.st.packets_sent > c0.st.packets_sent ?
      (gdouble) (c1.st.bytes_sent - c0.st.bytes_sent) /
      (c1.st.packets_sent - c0.st.packets_sent) : 0);
  line ("goodput per packet", "application bytes / packets sent",
      "%.0f bytes", pps > 0 ? goodput / pps : 0);
  line ("packets received", "receiver (acks go back)", "%.0f /s",
      (s1.st.packets_received - s0.st.packets_received) / wall);
  line ("acks/packets sent by receiver", NULL, "%.0f /s",
      (s1.st.packets_sent - s0.st.packets_sent) / wall);
  line ("retransmitted fragments", "during the window", "%" G_GUINT64_FORMAT
      " (%.3f%% of packets)",
      c1.st.fragments_retransmitted - c0.st.fragments_retransmitted,
      pps > 0 ? 100.0 * (c1.st.fragments_retransmitted -
          c0.st.fragments_retransmitted) / (pps * wall) : 0);
  line ("fragments declared lost", NULL, "%" G_GUINT64_FORMAT,
      c1.st.fragments_lost - c0.st.fragments_lost);
  line ("timeouts (RTO)", NULL, "%" G_GUINT64_FORMAT,
      c1.st.timeouts - c0.st.timeouts);
  line ("send errors (socket full)", "client / server, whole run",
      "%" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT, cns.send_errors,
      sns.send_errors);
  line ("srtt / cwnd at end", NULL, "%.3f ms / %" G_GUINT64_FORMAT " B",
      c1.st.srtt_us / 1000.0, c1.st.cwnd);
  line ("CPU, whole process", "user + sys (getrusage)", "%.2f cores",
      cpu_cores);
  line ("CPU, sender net thread", NULL, "%.2f cores", snd_cores);
  line ("CPU, receiver net thread", NULL, "%.2f cores", rcv_cores);
  line ("CPU per Mbit/s", "process cores / goodput", "%.5f cores "
      "(%.2f ms CPU per Mbit)", cpu_cores / mbit, 1000.0 * cpu_cores / mbit);
  if (lim.enc_Bps > 0) {
    gdouble enc_share = pps / (lim.enc_Bps / lim.plain_len);

    line ("crypto limit, encrypt side", "AES-CBC + HMAC, 1 core, 1160-B "
        "packets", "%.0f Mbit/s", BENCH_MBIT (lim.enc_Bps));
    line ("crypto limit, decrypt side", "HMAC + AES-CBC decrypt, 1 core",
        "%.0f Mbit/s", BENCH_MBIT (lim.dec_Bps));
    line ("crypto limit, both on 1 core", "encrypt + decrypt each packet",
        "%.0f Mbit/s", BENCH_MBIT (lim.both_Bps));
    line ("RATIO goodput / encrypt-side limit", "sender's core (the "
        "bottleneck side)", "%.1f%%", 100 * goodput / lim.enc_Bps);
    line ("RATIO per sender core", "goodput per CPU-second of the sender "
        "thread / encrypt-side limit: the ratio with a core of its own",
        "%.1f%%", snd_cores > 0 ? 100 * goodput / snd_cores / lim.enc_Bps :
        0);
    line ("RATIO goodput / decrypt-side limit", "receiver's core",
        "%.1f%%", 100 * goodput / lim.dec_Bps);
    line ("RATIO goodput / both-on-1-core limit", "conservative "
        "(this process uses 2 cores)", "%.1f%%", 100 * goodput /
        lim.both_Bps);
    line ("crypto share of the sender thread", "packets/s x limit cost "
        "per packet / thread CPU", "%.0f%%", snd_cores > 0 ?
        100 * enc_share / snd_cores : 0);
  }

  machine = bench_machine_description ();
  g_print ("## One session on loopback: goodput and CPU\n\n");
  g_print ("Machine: %s.  %.1f s measured after a %.1f s warm-up; messages "
      "of %d bytes, %d bytes kept queued, fragment size %s; session open "
      "after %.0f ms.\n\n", machine, wall, opt_warmup, opt_message_size,
      opt_queue, opt_fragment_size == 0 ? "default" : opt_fragment_size < 0 ?
      "largest" : "set",
      1000 * (t_open - t_req));
  g_print ("| metric | value | note |\n|---|---:|---|\n");
  for (i = 0; i < lines->len; i++) {
    Line *l = &g_array_index (lines, Line, i);
    g_print ("| %s | %s | %s |\n", l->name, l->value, l->note);
  }

  if (opt_csv_prefix) {
    gchar *path = g_strdup_printf ("%s-samples.csv", opt_csv_prefix);

    csv = bench_open_csv (path);
    fprintf (csv, "t_s,goodput_mbitps\n");
    for (i = 0; i < samples->len; i++) {
      gdouble *p = (gdouble *) (samples->data + i * 2 * sizeof (gdouble));
      fprintf (csv, "%.3f,%.2f\n", p[0], p[1]);
    }
    fclose (csv);
    g_free (path);

    path = g_strdup_printf ("%s-summary.csv", opt_csv_prefix);
    csv = bench_open_csv (path);
    fprintf (csv, "goodput_mbitps,packets_per_s,retransmitted,"
        "process_cores,sender_cores,receiver_cores,limit_enc_mbitps,"
        "limit_dec_mbitps,limit_both_mbitps\n");
    fprintf (csv, "%.1f,%.0f,%" G_GUINT64_FORMAT ",%.3f,%.3f,%.3f,%.0f,%.0f,"
        "%.0f\n", mbit, pps, c1.st.fragments_retransmitted -
        c0.st.fragments_retransmitted, cpu_cores, snd_cores, rcv_cores,
        BENCH_MBIT (lim.enc_Bps), BENCH_MBIT (lim.dec_Bps),
        BENCH_MBIT (lim.both_Bps));
    fclose (csv);
    g_free (path);
  }

  for (i = 0; i < lines->len; i++) {
    Line *l = &g_array_index (lines, Line, i);
    g_free (l->value);
    g_free (l->note);
  }
  g_array_unref (lines);
  g_array_unref (samples);
  if (b.session)
    rtmfp_session_unref (b.session);
  if (b.server_session)
    rtmfp_session_unref (b.server_session);
  rtmfp_net_free (b.client);
  rtmfp_net_free (b.server);
  g_free (b.msg);
  g_free (b.error);
  g_free (machine);
  return status;
}
