/* rtmfp-bench-fanout: what a relay server spends to fan one live stream
 * out to N players (issue 14, "Relay that scales").
 *
 *   rtmfp-bench-fanout --players N [--seconds 20] [--kbps 1070]
 *       (--server-cmd PATH [--server-arg ARG]... | --server HOST:PORT
 *        --server-pid PID) [--player-server HOST:PORT]...
 *       [--measure-pid PID]... [--app live] [--stream bench] [--csv FILE]
 *
 * One publisher sends a synthetic stream of about --kbps (30 fps video, a
 * keyframe every 2 s four times the size of an inter frame, and 50 Speex
 * sized audio frames a second) and N players play it, every one of them a
 * real RTMFP NetConnection client of the core (RtmfpTcClient) on its own
 * UDP socket on 127.0.0.1, all driven sans-I/O from this one thread (epoll),
 * so that the load generator takes one core and the server the other.
 * The server is either spawned (--server-cmd, started as
 * `PATH --rtmfp 127.0.0.1:0 ARGS...`, the address read from its
 * "listening rtmfp ADDR" line: tools/rtmfp-server) or already running
 * (--server and --server-pid: e.g. rtmfp-cpp's tcserver, which
 * bench/rtmfp-bench-fanout.sh starts when it finds one).  The publisher
 * always uses that server; with --player-server (repeatable) the players
 * go to those servers instead, round robin (player i to the
 * ((i - 1) mod K)-th), e.g. the other nodes of an rtmfp-server cluster
 * (bench/rtmfp-bench-cluster.sh).  --measure-pid (repeatable) adds more
 * processes whose CPU is taken over the same window (the nodes, Redis).
 *
 * Once every player is streaming and a 2 s warm-up has passed, the server's
 * CPU time (user + system, /proc/PID/stat) and the message bytes every
 * player received are taken over --seconds.  Reported: server CPU in
 * cores, player Mbit/s (sum of what the players received, in message
 * bytes), and **server CPU ms per player-Mbit** = CPU seconds / (sum of
 * player Mbit), the cost of relaying one megabit to one player; players
 * with gaps (lost messages) are counted, and the load generator's own CPU
 * is printed so that a saturated generator is visible.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "rtmfptcclient.h"

#define SEC G_TIME_SPAN_SECOND
#define MS G_TIME_SPAN_MILLISECOND

static gint opt_players = 25, opt_seconds = 20, opt_kbps = 1070;
static gchar *opt_server_cmd, *opt_server, *opt_csv;
static gchar **opt_server_args;
static gint opt_server_pid;
static gchar *opt_app = (gchar *) "live", *opt_stream = (gchar *) "bench";
static gboolean opt_version;
static gchar **opt_player_servers, **opt_measure_pids;

static GOptionEntry entries[] = {
  {"players", 'n', 0, G_OPTION_ARG_INT, &opt_players, "Players (25)", "N"},
  {"seconds", 's', 0, G_OPTION_ARG_INT, &opt_seconds,
      "Measured seconds (20)", "S"},
  {"kbps", 0, 0, G_OPTION_ARG_INT, &opt_kbps,
      "Stream bitrate, kbit/s of media (1070)", "K"},
  {"server-cmd", 0, 0, G_OPTION_ARG_FILENAME, &opt_server_cmd,
      "Spawn this server: PATH --rtmfp 127.0.0.1:0 [ARGS]", "PATH"},
  {"server-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_server_args,
      "One more argument for --server-cmd (repeatable)", "ARG"},
  {"server", 0, 0, G_OPTION_ARG_STRING, &opt_server,
      "A running server's RTMFP address (with --server-pid)", "HOST:PORT"},
  {"server-pid", 0, 0, G_OPTION_ARG_INT, &opt_server_pid,
      "Its process ID, for its CPU time", "PID"},
  {"player-server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_player_servers,
      "Players connect to these servers, round robin (repeatable; default "
        "the publisher's)", "HOST:PORT"},
  {"measure-pid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_measure_pids,
      "Also take this process' CPU over the window (repeatable)", "PID"},
  {"app", 0, 0, G_OPTION_ARG_STRING, &opt_app, "App (live)", "APP"},
  {"stream", 0, 0, G_OPTION_ARG_STRING, &opt_stream, "Stream (bench)", "S"},
  {"csv", 0, 0, G_OPTION_ARG_FILENAME, &opt_csv,
      "Append one CSV row to FILE", "FILE"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  gint fd;
  RtmfpEndpoint *ep;
  RtmfpTcClient *c;
  gboolean publisher;
  gboolean streaming;
  gboolean ended;
  guint64 bytes, messages, gaps;
  /* publisher */
  gint64 t0;
  guint64 frame, audio;
} Client;

static gint64
clock_fn (gpointer data)
{
  return g_get_monotonic_time ();
}

/* IPv4 only: everything is on 127.0.0.1 */
static void
send_fn (const guint8 * data, gsize len, const RtmfpAddr * to, gpointer ud)
{
  Client *c = ud;
  struct sockaddr_in sin = { 0 };

  if (to->family != 4)
    return;
  sin.sin_family = AF_INET;
  sin.sin_port = htons (to->port);
  memcpy (&sin.sin_addr, to->addr, 4);
  (void) sendto (c->fd, data, len, 0, (struct sockaddr *) &sin, sizeof sin);
}

static void
on_state (RtmfpTcClient * tc, RtmfpTcClientState state, gpointer ud)
{
  Client *c = ud;

  if (state == RTMFP_TC_CLIENT_STATE_STREAMING && !c->streaming) {
    c->streaming = TRUE;
    c->t0 = g_get_monotonic_time ();
  }
  if (state == RTMFP_TC_CLIENT_STATE_FAILED ||
      state == RTMFP_TC_CLIENT_STATE_CLOSED)
    c->ended = TRUE;
}

static void
on_error (RtmfpTcClient * tc, const GError * error, gpointer ud)
{
  Client *c = ud;

  g_printerr ("%s: %s\n", c->publisher ? "publisher" : "player",
      error->message);
}

static void
on_message (RtmfpTcClient * tc, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Client *c = ud;

  c->bytes += msg->len;
  c->messages++;
  c->gaps += gap != 0;
}

/* The publisher's stream: 30 fps video, keyframes every 60 frames at 4x
 * the size; 50 audio frames a second of 42 bytes (Speex 16 kHz); sized so
 * that the message bytes make --kbps */
static gsize video_size, key_size;
#define AUDIO_SIZE 42

static void
publish_due (Client * c, gint64 now)
{
  static guint8 *buf;
  guint n = 0;

  if (!buf)
    buf = g_malloc0 (key_size);
  /* bounded: at most a second's worth per call */
  while (c->streaming && n++ < 80) {
    gint64 tv = c->t0 + (gint64) c->frame * SEC / 30;
    gint64 ta = c->t0 + (gint64) c->audio * SEC / 50;

    if (tv <= now && tv <= ta) {
      gboolean key = c->frame % 60 == 0;
      buf[0] = key ? 0x17 : 0x27;
      buf[1] = 1;
      rtmfp_tc_client_send (c->c, RTMFP_TC_MSG_VIDEO,
          (guint32) (c->frame * 1000 / 30), buf, key ? key_size : video_size,
          key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, now);
      c->frame++;
    } else if (ta <= now) {
      buf[0] = 0xb2;
      rtmfp_tc_client_send (c->c, RTMFP_TC_MSG_AUDIO,
          (guint32) (c->audio * 20), buf, AUDIO_SIZE, 0, now);
      c->audio++;
    } else {
      break;
    }
  }
}

static gint64
publish_next (Client * c)
{
  if (!c->streaming)
    return G_MAXINT64;
  return MIN (c->t0 + (gint64) c->frame * SEC / 30,
      c->t0 + (gint64) c->audio * SEC / 50);
}

static gboolean
client_open (Client * c, gboolean publisher, const RtmfpAddr * server,
    gint epfd, guint index)
{
  RtmfpTcClientConfig ccfg;
  RtmfpTcClientCallbacks cb = { 0 };
  RtmfpEndpointConfig ecfg;
  struct sockaddr_in sin = { 0 };
  struct epoll_event ev = { 0 };
  gchar *url;
  gchar buf[RTMFP_ADDR_STRLEN];
  gint big = 4 << 20;

  c->publisher = publisher;
  c->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (c->fd < 0 || bind (c->fd, (struct sockaddr *) &sin, sizeof sin) < 0)
    return FALSE;
  setsockopt (c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt (c->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  ev.events = EPOLLIN;
  ev.data.u32 = index;
  if (epoll_ctl (epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
    return FALSE;

  url = g_strdup_printf ("rtmfp://%s/%s", rtmfp_addr_to_string (server, buf),
      opt_app);
  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = publisher ? RTMFP_TC_CLIENT_ROLE_PUBLISH :
      RTMFP_TC_CLIENT_ROLE_PLAY;
  ccfg.tc_url = url;
  ccfg.app = opt_app;
  ccfg.stream = opt_stream;
  ccfg.timeout_us = 60 * SEC;
  cb.state_changed = on_state;
  cb.error = on_error;
  cb.message = on_message;
  c->c = rtmfp_tc_client_new (&ccfg, &cb, c, clock_fn, NULL);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = FALSE;
  c->ep = rtmfp_endpoint_new (&ecfg, rtmfp_tc_client_get_endpoint_callbacks
      (), c->c, send_fn, c);
  g_free (url);
  return c->ep && rtmfp_tc_client_start (c->c, c->ep, server, 1,
      g_get_monotonic_time ());
}

/* Runs the clients' timers due now; returns the earliest next one */
static gint64
service_timers (Client * cl, guint n, gint64 now)
{
  gint64 wake = now + 100 * MS;
  guint i;

  for (i = 0; i < n; i++) {
    Client *c = &cl[i];
    gint64 t;

    if (c->publisher)
      publish_due (c, now);
    t = rtmfp_endpoint_next_timeout (c->ep);
    if (t >= 0 && t <= now)
      rtmfp_endpoint_handle_timeout (c->ep, now);
    t = rtmfp_tc_client_next_timeout (c->c);
    if (t >= 0 && t <= now)
      rtmfp_tc_client_handle_timeout (c->c, now);
    t = rtmfp_endpoint_next_timeout (c->ep);
    if (t >= 0)
      wake = MIN (wake, t);
    t = rtmfp_tc_client_next_timeout (c->c);
    if (t >= 0)
      wake = MIN (wake, t);
    if (c->publisher)
      wake = MIN (wake, publish_next (c));
  }
  return wake;
}

static void
receive_all (Client * c)
{
  guint8 buf[2048];
  guint k;

  /* bounded per wakeup, so that one busy socket does not starve others */
  for (k = 0; k < 256; k++) {
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    ssize_t len = recvfrom (c->fd, buf, sizeof buf, 0,
        (struct sockaddr *) &sin, &sl);
    RtmfpAddr a;

    if (len < 0)
      return;
    if (sin.sin_family != AF_INET)
      continue;
    rtmfp_addr_set_ipv4 (&a, (const guint8 *) &sin.sin_addr,
        ntohs (sin.sin_port));
    rtmfp_endpoint_receive (c->ep, buf, (gsize) len, &a,
        g_get_monotonic_time ());
  }
}

/* Runs the loop until deadline or until done(cl) says so */
static void
run_until (Client * cl, guint n, gint epfd, gint64 deadline,
    gboolean (*done) (Client *, guint))
{
  struct epoll_event evs[64];

  while (g_get_monotonic_time () < deadline && !(done && done (cl, n))) {
    gint64 now = g_get_monotonic_time ();
    gint64 wake = service_timers (cl, n, now);
    gint ms = (gint) CLAMP ((wake - now + 999) / 1000, 0, 100);
    gint k, i;

    k = epoll_wait (epfd, evs, G_N_ELEMENTS (evs), ms);
    for (i = 0; i < k; i++)
      receive_all (&cl[evs[i].data.u32]);
  }
}

static gboolean
all_streaming (Client * cl, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    if (!cl[i].streaming || cl[i].ended)
      return FALSE;
  return TRUE;
}

static GPid server_child;

static gboolean
spawn_server (RtmfpAddr * addr, GError ** error)
{
  GPtrArray *argv = g_ptr_array_new ();
  gint out = -1;
  gchar **a;
  GString *line = g_string_new (NULL);
  gint64 end = g_get_monotonic_time () + 10 * SEC;
  gboolean ok;

  g_ptr_array_add (argv, opt_server_cmd);
  g_ptr_array_add (argv, (gpointer) "--rtmfp");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  for (a = opt_server_args; a && *a; a++)
    g_ptr_array_add (argv, *a);
  g_ptr_array_add (argv, NULL);
  ok = g_spawn_async_with_pipes (NULL, (gchar **) argv->pdata, NULL,
      G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &server_child, NULL, &out, NULL,
      error);
  g_ptr_array_free (argv, TRUE);
  if (!ok)
    return FALSE;
  /* "listening rtmfp ADDR", within 10 s */
  while (g_get_monotonic_time () < end) {
    gchar ch;
    ssize_t r = read (out, &ch, 1);
    if (r <= 0)
      break;
    if (ch != '\n') {
      g_string_append_c (line, ch);
      continue;
    }
    if (g_str_has_prefix (line->str, "listening rtmfp ")) {
      ok = rtmfp_addr_from_string (addr, line->str + 16, 0);
      g_string_free (line, TRUE);
      /* its later output is not read: keep it from blocking */
      close (out);
      return ok;
    }
    g_string_truncate (line, 0);
  }
  g_string_free (line, TRUE);
  close (out);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
      "%s did not say where it listens", opt_server_cmd);
  return FALSE;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- relay fan-out bench");
  GError *err = NULL;
  RtmfpAddr server, *pservers = NULL;
  guint n_pservers = 0, n_mpids = 0;
  gint *mpids = NULL;
  gdouble *mcpu0 = NULL, *mcpu1 = NULL;
  GString *mcores;
  Client *cl;
  guint n, i, streaming = 0;
  gint epfd, pid;
  gint64 t_start, t_end;
  gdouble cpu0, cpu1, gen0, gen1, secs, mbit = 0, cores, per;
  guint64 *b0, gaps = 0, worst = G_MAXUINT64, best = 0;
  gchar *machine;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (opt_players < 1 || opt_players > 2000 || opt_seconds < 1
      || opt_seconds > 600 || opt_kbps < 50 || opt_kbps > 20000
      || (!opt_server_cmd && !(opt_server && opt_server_pid > 0))) {
    g_printerr ("need --server-cmd PATH, or --server HOST:PORT and "
        "--server-pid PID; 1 <= --players <= 2000; 1 <= --seconds <= 600\n");
    return 2;
  }
  signal (SIGPIPE, SIG_IGN);
  {
    /* message bytes per second: video 30 fps with one keyframe (4x) in
     * 60, audio 50 x AUDIO_SIZE */
    gdouble vbps = opt_kbps * 1000.0 / 8 - 50.0 * AUDIO_SIZE;
    video_size = (gsize) (vbps / 30 * 60 / 63);
    key_size = 4 * video_size;
  }
  if (opt_server_cmd) {
    if (!spawn_server (&server, &err)) {
      g_printerr ("server: %s\n", err->message);
      return 1;
    }
    pid = server_child;
  } else {
    if (!rtmfp_addr_from_string (&server, opt_server, 0)) {
      g_printerr ("bad --server %s\n", opt_server);
      return 2;
    }
    pid = opt_server_pid;
  }
  n_pservers = opt_player_servers ? g_strv_length (opt_player_servers) : 0;
  pservers = g_new0 (RtmfpAddr, MAX (n_pservers, 1));
  for (i = 0; i < n_pservers; i++)
    if (!rtmfp_addr_from_string (&pservers[i], opt_player_servers[i], 0)) {
      g_printerr ("bad --player-server %s\n", opt_player_servers[i]);
      return 2;
    }
  n_mpids = opt_measure_pids ? g_strv_length (opt_measure_pids) : 0;
  mpids = g_new0 (gint, MAX (n_mpids, 1));
  mcpu0 = g_new0 (gdouble, MAX (n_mpids, 1));
  mcpu1 = g_new0 (gdouble, MAX (n_mpids, 1));
  for (i = 0; i < n_mpids; i++) {
    gchar *end = NULL;
    gint64 v = g_ascii_strtoll (opt_measure_pids[i], &end, 10);
    if (!end || *end || v <= 0 || v > G_MAXINT || bench_pid_cpu ((gint) v) < 0) {
      g_printerr ("bad --measure-pid %s (no such process)\n",
          opt_measure_pids[i]);
      return 2;
    }
    mpids[i] = (gint) v;
  }

  n = (guint) opt_players + 1;
  cl = g_new0 (Client, n);
  b0 = g_new0 (guint64, n);
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (!client_open (&cl[0], TRUE, &server, epfd, 0)) {
    g_printerr ("publisher: cannot start\n");
    return 1;
  }
  run_until (cl, 1, epfd, g_get_monotonic_time () + 30 * SEC,
      all_streaming);
  if (!cl[0].streaming) {
    g_printerr ("publisher: not streaming within 30 s\n");
    return 1;
  }
  /* players join in groups of 10, so that handshakes do not pile up */
  for (i = 1; i < n; i++) {
    if (!client_open (&cl[i], FALSE, n_pservers ?
            &pservers[(i - 1) % n_pservers] : &server, epfd, i)) {
      g_printerr ("player %u: cannot start\n", i);
      return 1;
    }
    if (i % 10 == 0 || i == n - 1)
      run_until (cl, i + 1, epfd, g_get_monotonic_time () + 30 * SEC,
          all_streaming);
  }
  for (i = 0; i < n; i++)
    streaming += cl[i].streaming && !cl[i].ended;
  if (streaming != n) {
    g_printerr ("only %u of %u clients streaming\n", streaming, n);
    return 1;
  }
  /* warm-up */
  run_until (cl, n, epfd, g_get_monotonic_time () + 2 * SEC, NULL);

  for (i = 0; i < n; i++)
    b0[i] = cl[i].bytes;
  for (i = 0; i < n; i++)
    gaps -= cl[i].gaps;
  t_start = g_get_monotonic_time ();
  cpu0 = bench_pid_cpu (pid);
  for (i = 0; i < n_mpids; i++)
    mcpu0[i] = bench_pid_cpu (mpids[i]);
  gen0 = bench_process_cpu ();
  run_until (cl, n, epfd, t_start + (gint64) opt_seconds * SEC, NULL);
  cpu1 = bench_pid_cpu (pid);
  for (i = 0; i < n_mpids; i++)
    mcpu1[i] = bench_pid_cpu (mpids[i]);
  gen1 = bench_process_cpu ();
  t_end = g_get_monotonic_time ();
  secs = (t_end - t_start) / 1e6;
  for (i = 1; i < n; i++) {
    guint64 d = cl[i].bytes - b0[i];
    mbit += d * 8 / 1e6;
    worst = MIN (worst, d);
    best = MAX (best, d);
    gaps += cl[i].gaps;
  }
  gaps += cl[0].gaps;
  cores = (cpu1 - cpu0) / secs;
  per = (cpu1 - cpu0) * 1000.0 / mbit;
  machine = bench_machine_description ();
  printf ("| players | seconds | player Mbit/s (each, min-max) | server CPU "
      "(cores) | server CPU ms per player-Mbit | players per core at %.2f "
      "Mbit/s | load generator CPU (cores) | gaps |\n", opt_kbps / 1000.0);
  printf ("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  printf ("| %d | %.1f | %.3f-%.3f | %.3f | **%.2f** | %.0f | %.2f | %"
      G_GUINT64_FORMAT " |\n", opt_players, secs, worst * 8 / 1e6 / secs,
      best * 8 / 1e6 / secs, cores, per,
      1000.0 / (per * (mbit / opt_players / secs)), (gen1 - gen0) / secs,
      gaps);
  /* made here, not at the top: the early exits (--version, bad options)
   * must not leak it */
  mcores = g_string_new (NULL);
  for (i = 0; i < n_mpids; i++)
    g_string_append_printf (mcores, "%s%.4f", i ? ";" : "",
        (mcpu1[i] - mcpu0[i]) / secs);
  if (n_mpids)
    printf ("(--measure-pid CPU, cores: %s)\n", mcores->str);
  printf ("(machine: %s)\n", machine);
  if (opt_csv) {
    gboolean fresh = !g_file_test (opt_csv, G_FILE_TEST_EXISTS);
    FILE *f = fopen (opt_csv, "a");
    if (f) {
      if (fresh)
        fprintf (f, "server,players,seconds,player_mbit_min,player_mbit_max,"
            "server_cores,server_ms_per_player_mbit,generator_cores,gaps,"
            "measured_cores\n");
      fprintf (f, "%s,%d,%.2f,%.4f,%.4f,%.4f,%.4f,%.3f,%" G_GUINT64_FORMAT
          ",%s\n", opt_server_cmd ? opt_server_cmd : opt_server, opt_players,
          secs, worst * 8 / 1e6 / secs, best * 8 / 1e6 / secs, cores, per,
          (gen1 - gen0) / secs, gaps, mcores->str);
      fclose (f);
    }
  }
  g_string_free (mcores, TRUE);
  /* the server is ours to stop when we spawned it; the clients simply
   * go (the server notices them gone) */
  if (server_child) {
    kill (server_child, SIGTERM);
    for (i = 0; i < 50 && waitpid (server_child, NULL, WNOHANG) == 0; i++)
      g_usleep (100000);
    if (i == 50) {
      kill (server_child, SIGKILL);
      waitpid (server_child, NULL, 0);
    }
  }
  return 0;
}
