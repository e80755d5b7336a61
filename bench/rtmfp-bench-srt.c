/* rtmfp-bench-srt: the same loopback goodput measurement as
 * rtmfp-bench-throughput, with SRT (libsrt) for comparison.
 *
 * One process, a sender thread and a receiver thread, one SRT connection
 * on 127.0.0.1, the sender writing 1316-byte payloads (SRT's default live
 * payload) as fast as srt_send accepts them (blocking mode: it blocks
 * when SRT's send buffer is full, i.e. backpressure), for --seconds.
 *
 * Modes (--mode):
 *   file      SRTT_FILE, stream API: reliable with SRT's file congestion
 *             control -- the analogue of one reliable RTMFP flow (default)
 *   live      SRTT_LIVE (TSBPD, too-late drop), maxbw 10 Gbit/s: what SRT
 *             is mostly used for; late packets may be dropped
 * Encryption: AES-128 (--pbkeylen 16, SRT 1.5.1: AES-CTR, no packet
 * authentication, so less work per byte than RTMFP's CBC + HMAC), or
 * none with --no-crypto.
 *
 * Prints a markdown table; --csv FILE appends one summary row.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-bench"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <glib.h>
#include <srt/srt.h>

#include "benchutil.h"

static gdouble opt_seconds = 5;
static gdouble opt_warmup = 0.5;
static gint opt_payload = 1316;
static gchar *opt_mode = NULL;
static gboolean opt_no_crypto = FALSE;
static gchar *opt_csv;
static gint opt_port = 0;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"seconds", 't', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
      "Measured seconds (default 5)", "S"},
  {"warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &opt_warmup,
      "Seconds before measuring (default 0.5)", "S"},
  {"payload", 's', 0, G_OPTION_ARG_INT, &opt_payload,
      "Bytes per srt_send (default 1316)", "BYTES"},
  {"mode", 'm', 0, G_OPTION_ARG_STRING, &opt_mode,
      "file (default) or live", "MODE"},
  {"no-crypto", 0, 0, G_OPTION_ARG_NONE, &opt_no_crypto,
      "Unencrypted SRT", NULL},
  {"port", 'p', 0, G_OPTION_ARG_INT, &opt_port,
      "Loopback port (default: a free one chosen by the kernel)", "PORT"},
  {"csv", 0, 0, G_OPTION_ARG_FILENAME, &opt_csv,
      "Append the summary row to this CSV file", "FILE"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  SRTSOCKET listener;
  SRTSOCKET rx;
  SRTSOCKET tx;
  gboolean live;
  gint stop;                    /* atomic */
  guint64 received;             /* atomic */
  guint64 sent;
  gchar *error;
} Ctx;

static gboolean
set_common (Ctx * c, SRTSOCKET s)
{
  SRT_TRANSTYPE tt = c->live ? SRTT_LIVE : SRTT_FILE;
  int yes = 1;
  /* bytes/s: 10 Gbit/s, i.e. no cap that matters on loopback here */
  int64_t maxbw = G_GINT64_CONSTANT (1250000000);
  int udpbuf = 1024 * 1024;
  int keylen = 16;

  if (srt_setsockflag (s, SRTO_TRANSTYPE, &tt, sizeof (tt)) < 0)
    return FALSE;
  if (c->live) {
    /* pacing at maxbw; payload must stay <= SRTO_PAYLOADSIZE (1316) */
    srt_setsockflag (s, SRTO_MAXBW, &maxbw, sizeof (maxbw));
  }
  srt_setsockflag (s, SRTO_SNDSYN, &yes, sizeof (yes));
  srt_setsockflag (s, SRTO_RCVSYN, &yes, sizeof (yes));
  srt_setsockflag (s, SRTO_UDP_SNDBUF, &udpbuf, sizeof (udpbuf));
  srt_setsockflag (s, SRTO_UDP_RCVBUF, &udpbuf, sizeof (udpbuf));
  if (!opt_no_crypto) {
    const char *pass = "rtmfp-bench-passphrase";
    if (srt_setsockflag (s, SRTO_PASSPHRASE, pass, strlen (pass)) < 0 ||
        srt_setsockflag (s, SRTO_PBKEYLEN, &keylen, sizeof (keylen)) < 0)
      return FALSE;
  }
  return TRUE;
}

static gpointer
receiver (gpointer data)
{
  Ctx *c = data;
  static char buf[65536];
  struct sockaddr_storage peer;
  int plen = sizeof (peer);

  c->rx = srt_accept (c->listener, (struct sockaddr *) &peer, &plen);
  if (c->rx == SRT_INVALID_SOCK) {
    c->error = g_strdup_printf ("srt_accept: %s", srt_getlasterror_str ());
    return NULL;
  }
  while (!g_atomic_int_get (&c->stop)) {
    int n = c->live ? srt_recvmsg (c->rx, buf, sizeof (buf)) :
        srt_recv (c->rx, buf, sizeof (buf));
    if (n <= 0)
      break;
    __atomic_add_fetch (&c->received, (guint64) n, __ATOMIC_RELAXED);
  }
  return NULL;
}

static gpointer
sender (gpointer data)
{
  Ctx *c = data;
  char *buf = g_malloc (opt_payload);
  gint i;

  for (i = 0; i < opt_payload; i++)
    buf[i] = (char) (i * 7);
  while (!g_atomic_int_get (&c->stop)) {
    int n = c->live ? srt_sendmsg (c->tx, buf, opt_payload, -1, 1) :
        srt_send (c->tx, buf, opt_payload);
    if (n <= 0) {
      if (!g_atomic_int_get (&c->stop))
        g_printerr ("srt send: %s\n", srt_getlasterror_str ());
      break;
    }
    c->sent += n;
  }
  g_free (buf);
  return NULL;
}

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  Ctx c;
  struct sockaddr_in sa;
  int salen = sizeof (sa);
  GThread *rt, *st;
  SRT_TRACEBSTATS s0, s1, r1;
  gdouble t0, t1, cpu0, cpu1, wall, goodput;
  guint64 b0, b1;
  gchar *machine;

  octx = g_option_context_new ("- SRT goodput on loopback, for comparison");
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

  memset (&c, 0, sizeof (c));
  c.live = opt_mode && g_str_equal (opt_mode, "live");
  if (opt_mode && !c.live && !g_str_equal (opt_mode, "file")) {
    g_printerr ("--mode is file or live\n");
    return 1;
  }
  if (c.live && opt_payload > 1316) {
    g_printerr ("live mode: --payload <= 1316\n");
    return 1;
  }

  srt_startup ();
  srt_setloglevel (LOG_ERR);

  c.listener = srt_create_socket ();
  if (!set_common (&c, c.listener)) {
    g_printerr ("srt options: %s\n", srt_getlasterror_str ());
    return 1;
  }
  memset (&sa, 0, sizeof (sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons (opt_port);
  inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);
  if (srt_bind (c.listener, (struct sockaddr *) &sa, sizeof (sa)) < 0 ||
      srt_listen (c.listener, 1) < 0 ||
      srt_getsockname (c.listener, (struct sockaddr *) &sa, &salen) < 0) {
    g_printerr ("srt listen: %s\n", srt_getlasterror_str ());
    return 1;
  }
  rt = g_thread_new ("srt-rx", receiver, &c);

  c.tx = srt_create_socket ();
  set_common (&c, c.tx);
  if (srt_connect (c.tx, (struct sockaddr *) &sa, sizeof (sa)) < 0) {
    g_printerr ("srt_connect: %s\n", srt_getlasterror_str ());
    return 1;
  }
  st = g_thread_new ("srt-tx", sender, &c);

  g_usleep ((gulong) (opt_warmup * 1e6));
  srt_bstats (c.tx, &s0, 0);
  cpu0 = bench_process_cpu ();
  t0 = bench_now ();
  b0 = __atomic_load_n (&c.received, __ATOMIC_RELAXED);
  g_usleep ((gulong) (opt_seconds * 1e6));
  b1 = __atomic_load_n (&c.received, __ATOMIC_RELAXED);
  t1 = bench_now ();
  cpu1 = bench_process_cpu ();
  srt_bstats (c.tx, &s1, 0);
  srt_bstats (c.rx, &r1, 0);

  g_atomic_int_set (&c.stop, 1);
  srt_close (c.tx);
  srt_close (c.rx);
  srt_close (c.listener);
  g_thread_join (st);
  g_thread_join (rt);
  srt_cleanup ();

  if (c.error) {
    g_printerr ("%s\n", c.error);
    return 1;
  }

  wall = t1 - t0;
  goodput = (b1 - b0) / wall;
  machine = bench_machine_description ();
  g_print ("## SRT on loopback (libsrt %s)\n\n", SRT_VERSION_STRING);
  g_print ("Machine: %s.  %s mode, %s, %d-byte sends, %.1f s measured.\n\n",
      machine, c.live ? "live" : "file", opt_no_crypto ? "no encryption" :
      "AES-128 (CTR, no HMAC)", opt_payload, wall);
  g_print ("| metric | value |\n|---|---:|\n");
  g_print ("| goodput | %.1f Mbit/s (%.1f MB/s) |\n", BENCH_MBIT (goodput),
      goodput / 1e6);
  g_print ("| packets sent | %.0f /s |\n",
      (s1.pktSentTotal - s0.pktSentTotal) / wall);
  g_print ("| retransmitted packets | %d |\n",
      s1.pktRetransTotal - s0.pktRetransTotal);
  g_print ("| receiver loss / drops | %d / %d |\n", r1.pktRcvLossTotal,
      r1.pktRcvDropTotal);
  g_print ("| CPU, whole process | %.2f cores |\n", (cpu1 - cpu0) / wall);
  g_print ("| CPU per Mbit/s | %.5f cores (%.2f ms CPU per Mbit) |\n",
      (cpu1 - cpu0) / wall / BENCH_MBIT (goodput),
      1000 * (cpu1 - cpu0) / wall / BENCH_MBIT (goodput));

  if (opt_csv) {
    gboolean exists = g_file_test (opt_csv, G_FILE_TEST_EXISTS);
    FILE *f = fopen (opt_csv, "a");
    if (f) {
      if (!exists)
        fprintf (f, "mode,crypto,goodput_mbitps,process_cores,"
            "retransmitted\n");
      fprintf (f, "%s,%s,%.1f,%.3f,%d\n", c.live ? "live" : "file",
          opt_no_crypto ? "none" : "aes128", BENCH_MBIT (goodput),
          (cpu1 - cpu0) / wall, s1.pktRetransTotal - s0.pktRetransTotal);
      fclose (f);
    }
  }
  g_free (machine);
  g_free (c.error);
  return 0;
}
