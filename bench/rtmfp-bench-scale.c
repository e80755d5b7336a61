/* rtmfp-bench-scale: how many sessions one server endpoint holds, how fast
 * it opens them, and what an idle session costs.
 *
 * The server runs in a CHILD process (this binary with --serve): one
 * RtmfpEndpoint on one RtmfpNet thread, server-style ephemeral identity
 * (DH group 14), max_sessions raised above --sessions, default keepalive
 * (15 s) and idle timeout.  The child answers commands on stdin:
 *   stats         sessions, endpoint counters, VmRSS, malloc'd heap
 *                 (mallinfo2), CPU of its net thread
 *   timeout-cost  time of one rtmfp_endpoint_next_timeout () call (the
 *                 net thread calls it after every event to re-arm)
 *   quit
 * so its memory and CPU are not mixed with the clients'.
 *
 * The parent is the load: --sessions client endpoints, each with its own
 * identity and UDP socket on 127.0.0.1 (a session is per endpoint pair),
 * all driven sans-I/O from ONE thread with epoll (no RtmfpNet: that would
 * be a thread per client).  It keeps --window handshakes in progress,
 * records checkpoints (sessions held, wall time, server RSS / heap / CPU)
 * every --sessions/20, then holds every session idle for --idle seconds
 * (clients answer the keepalives) and measures the server's CPU.
 *
 * With --server-cmd PATH, the load goes to that program instead (the
 * project's rtmfp-server: `PATH --rtmfp 127.0.0.1:0`, which prints
 * "listening rtmfp 127.0.0.1:PORT"); then only its VmRSS and whole-process
 * CPU (/proc, 10 ms ticks) are known, and sessions held are counted on the
 * client side.
 *
 * Prints markdown tables; --csv-prefix P writes P-checkpoints.csv.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-bench"

#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "rtmfpnet.h"
#include "benchutil.h"

#define APP_URI "rtmfp://127.0.0.1/scale"

static const guint dh_groups[] = { 14 };

static gint opt_sessions = 5000;
static gint opt_window = 32;
static gdouble opt_idle = 20;
static gdouble opt_timeout = 600;
static gboolean opt_serve = FALSE;
static gint opt_max_sessions = 0;
static gchar *opt_csv_prefix;
static gchar *opt_server_cmd;
static gchar **opt_server_args;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"sessions", 'n', 0, G_OPTION_ARG_INT, &opt_sessions,
      "Sessions to open (default 5000)", "N"},
  {"window", 'w', 0, G_OPTION_ARG_INT, &opt_window,
      "Handshakes in progress at once (default 32)", "N"},
  {"idle", 'i', 0, G_OPTION_ARG_DOUBLE, &opt_idle,
      "Seconds to hold the sessions idle (default 20)", "S"},
  {"timeout", 't', 0, G_OPTION_ARG_DOUBLE, &opt_timeout,
      "Give up opening after this many seconds (default 600)", "S"},
  {"csv-prefix", 0, 0, G_OPTION_ARG_FILENAME, &opt_csv_prefix,
      "Write PREFIX-checkpoints.csv", "PREFIX"},
  {"server-cmd", 0, 0, G_OPTION_ARG_FILENAME, &opt_server_cmd,
      "Load this server instead (e.g. tools/rtmfp-server/rtmfp-server, run "
        "with --rtmfp 127.0.0.1:0); only its RSS and process CPU are "
        "measured", "PATH"},
  {"server-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_server_args,
      "One more argument for --server-cmd (repeatable), e.g. "
        "--server-arg=--max-sessions=20000", "ARG"},
  {"serve", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_serve,
      "(internal) run the server side", NULL},
  {"max-sessions", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT,
        &opt_max_sessions,
      "(internal) server max_sessions", "N"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

/* ============================== server ============================== */

typedef struct {
  RtmfpNet *net;
  gchar *reply;
} Serve;

/* Context switches of the calling thread (the net thread): each is one
 * sleep/wakeup of its event loop, voluntary or not. */
static guint64
thread_wakeups (void)
{
  gchar *status = NULL;
  guint64 total = 0;
  gchar **lines, **l;

  if (!g_file_get_contents ("/proc/thread-self/status", &status, NULL, NULL))
    return 0;
  lines = g_strsplit (status, "\n", -1);
  for (l = lines; *l; l++) {
    if (g_str_has_prefix (*l, "voluntary_ctxt_switches:"))
      total += g_ascii_strtoull (strchr (*l, ':') + 1, NULL, 10);
    else if (g_str_has_prefix (*l, "nonvoluntary_ctxt_switches:"))
      total += g_ascii_strtoull (strchr (*l, ':') + 1, NULL, 10);
  }
  g_strfreev (lines);
  g_free (status);
  return total;
}

static void
serve_stats (RtmfpNet * net, gpointer data)
{
  Serve *sv = data;
  RtmfpEndpoint *ep = rtmfp_net_get_endpoint (net);
  RtmfpEndpointStats st;
  struct mallinfo2 mi = mallinfo2 ();

  rtmfp_endpoint_get_stats (ep, &st);
  sv->reply = g_strdup_printf ("sessions=%u opened=%" G_GUINT64_FORMAT
      " refused=%" G_GUINT64_FORMAT " dgrams_in=%" G_GUINT64_FORMAT
      " dgrams_out=%" G_GUINT64_FORMAT " rss_kib=%" G_GINT64_FORMAT
      " heap=%zu thread_cpu=%.6f wakeups=%" G_GUINT64_FORMAT,
      rtmfp_endpoint_get_n_sessions (ep), st.sessions_opened,
      st.sessions_refused, st.datagrams_received, st.datagrams_sent,
      bench_pid_rss_kib (0), mi.uordblks + mi.hblkhd, bench_thread_cpu (),
      thread_wakeups ());
}

static void
serve_timeout_cost (RtmfpNet * net, gpointer data)
{
  Serve *sv = data;
  RtmfpEndpoint *ep = rtmfp_net_get_endpoint (net);
  gdouble t0 = bench_now (), t;
  guint n = 0;
  gint64 sink = 0;

  do {
    sink += rtmfp_endpoint_next_timeout (ep);
    n++;
    t = bench_now ();
  } while (t - t0 < 0.2);
  sv->reply = g_strdup_printf ("next_timeout_us=%.3f calls=%u sink=%d",
      (t - t0) * 1e6 / n, n, (gint) (sink & 1));
}

static int
serve_main (void)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb = { 0 };
  RtmfpIdentity *id;
  GError *err = NULL;
  Serve sv = { 0 };
  gchar line[256];

  id = rtmfp_identity_new_ephemeral (dh_groups, 1, NULL, TRUE);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = TRUE;
  cfg.max_sessions = opt_max_sessions;
  sv.net = rtmfp_net_new (&cfg, &cb, NULL, "127.0.0.1", 0, &err);
  rtmfp_identity_unref (id);
  if (sv.net == NULL) {
    g_printerr ("server: %s\n", err->message);
    return 1;
  }
  rtmfp_net_start (sv.net);
  printf ("port %u\n", rtmfp_net_get_local_port (sv.net));
  fflush (stdout);

  while (fgets (line, sizeof (line), stdin)) {
    g_strchomp (line);
    if (g_str_equal (line, "stats"))
      rtmfp_net_invoke_sync (sv.net, serve_stats, &sv);
    else if (g_str_equal (line, "timeout-cost"))
      rtmfp_net_invoke_sync (sv.net, serve_timeout_cost, &sv);
    else if (g_str_equal (line, "quit"))
      break;
    else
      sv.reply = g_strdup ("error unknown command");
    printf ("%s\n", sv.reply);
    fflush (stdout);
    g_clear_pointer (&sv.reply, g_free);
  }
  rtmfp_net_free (sv.net);
  return 0;
}

/* ============================== clients ============================= */

typedef struct _Bench Bench;

typedef struct {
  Bench *b;
  guint index;
  gint fd;
  RtmfpEndpoint *ep;
  RtmfpSession *session;        /* borrowed: owned by ep */
  gint64 deadline;              /* next_timeout, -1 none */
  gboolean started;
  gboolean opened;
  gboolean failed;
} Client;

typedef struct {
  guint sessions;
  guint64 opened;
  guint64 refused;
  guint64 dgrams_in;
  guint64 dgrams_out;
  gint64 rss_kib;
  gsize heap;
  gdouble thread_cpu;
  guint64 wakeups;              /* net thread context switches */
} ServerStats;

typedef struct {
  guint held;                   /* client sessions open */
  gdouble t;                    /* since the first open */
  ServerStats s;
  gdouble hs_per_s;             /* since previous checkpoint */
  gdouble cpu_ms_per_hs;        /* server thread CPU per handshake, same */
} Checkpoint;

struct _Bench {
  gboolean external;            /* --server-cmd */
  GPid child;
  FILE *to_child;
  FILE *from_child;
  guint16 port;
  struct sockaddr_in server_sa;
  RtmfpAddr server_addr;

  Client *clients;
  guint n;
  gint epfd;
  guint next_to_start;
  guint in_progress;
  guint opened;
  guint failed;
  guint closed_later;
  guint8 rxbuf[8192 + 1];
};

static gboolean
server_query (Bench * b, const gchar * cmd, gchar ** reply)
{
  gchar line[512];

  fprintf (b->to_child, "%s\n", cmd);
  fflush (b->to_child);
  if (!fgets (line, sizeof (line), b->from_child))
    return FALSE;
  *reply = g_strdup (g_strchomp (line));
  return TRUE;
}

static gboolean
server_stats (Bench * b, ServerStats * st)
{
  gchar *r = NULL;
  gint n;

  memset (st, 0, sizeof (*st));
  if (b->external) {
    st->sessions = b->opened - MIN (b->opened, b->closed_later);
    st->opened = b->opened;
    st->rss_kib = bench_pid_rss_kib (b->child);
    st->thread_cpu = bench_pid_cpu (b->child);
    return st->rss_kib >= 0;
  }
  if (!server_query (b, "stats", &r))
    return FALSE;
  n = sscanf (r, "sessions=%u opened=%" G_GUINT64_FORMAT " refused=%"
      G_GUINT64_FORMAT " dgrams_in=%" G_GUINT64_FORMAT " dgrams_out=%"
      G_GUINT64_FORMAT " rss_kib=%" G_GINT64_FORMAT " heap=%zu "
      "thread_cpu=%lf wakeups=%" G_GUINT64_FORMAT, &st->sessions,
      &st->opened, &st->refused, &st->dgrams_in, &st->dgrams_out,
      &st->rss_kib, &st->heap, &st->thread_cpu, &st->wakeups);
  g_free (r);
  return n >= 8;
}

static void
client_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer user_data)
{
  Client *c = user_data;
  struct sockaddr_in sa;

  /* the clients only ever talk to the server */
  memset (&sa, 0, sizeof (sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons (to->port);
  memcpy (&sa.sin_addr, to->addr, 4);
  if (sendto (c->fd, data, len, MSG_DONTWAIT, (struct sockaddr *) &sa,
          sizeof (sa)) < 0)
    g_debug ("client %u: sendto: %s", c->index, g_strerror (errno));
}

static void
client_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Client *c = ud;

  if (c->opened || c->failed)
    return;
  c->opened = TRUE;
  c->b->opened++;
  c->b->in_progress--;
}

static void
client_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Client *c = ud;

  if (c->opened || c->failed)
    return;
  c->failed = TRUE;
  c->b->failed++;
  c->b->in_progress--;
}

static void
client_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  Client *c = ud;

  c->b->closed_later++;
}

static gboolean
client_new (Bench * b, Client * c, guint index)
{
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb = { 0 };
  RtmfpIdentity *id;
  struct sockaddr_in sa;
  struct epoll_event ev;

  c->b = b;
  c->index = index;
  c->deadline = -1;
  c->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return FALSE;
  memset (&sa, 0, sizeof (sa));
  sa.sin_family = AF_INET;
  inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind (c->fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    return FALSE;

  /* Server-style (ephemeral) identities with distinct hostnames: distinct
   * certificates (a session is per identity pair) without a DH key
   * generation per client up front; the keying makes one per session. */
  {
    gchar *host = g_strdup_printf ("client-%u.bench", index);
    id = rtmfp_identity_new_ephemeral (dh_groups, 1, host, FALSE);
    g_free (host);
  }
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = FALSE;
  cb.session_opened = client_opened;
  cb.session_open_failed = client_open_failed;
  cb.session_closed = client_closed;
  c->ep = rtmfp_endpoint_new (&cfg, &cb, c, client_send, c);
  rtmfp_identity_unref (id);
  if (c->ep == NULL)
    return FALSE;

  ev.events = EPOLLIN;
  ev.data.ptr = c;
  return epoll_ctl (b->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
}

static void
client_rearm (Client * c)
{
  c->deadline = rtmfp_endpoint_next_timeout (c->ep);
}

static void
client_start (Bench * b, Client * c)
{
  GByteArray *epd = g_byte_array_new ();

  rtmfp_epd_append_ancillary (epd, APP_URI);
  c->started = TRUE;
  b->in_progress++;
  c->session = rtmfp_endpoint_open_session (c->ep, epd->data, epd->len,
      &b->server_addr, 1, g_get_monotonic_time ());
  g_byte_array_unref (epd);
  if (c->session == NULL) {
    c->failed = TRUE;
    b->failed++;
    b->in_progress--;
  }
  client_rearm (c);
}

static void
client_readable (Client * c)
{
  Bench *b = c->b;
  guint i;

  for (i = 0; i < 64; i++) {
    struct sockaddr_in from;
    socklen_t fl = sizeof (from);
    RtmfpAddr a;
    ssize_t n = recvfrom (c->fd, b->rxbuf, sizeof (b->rxbuf), 0,
        (struct sockaddr *) &from, &fl);

    if (n < 0)
      break;
    if (n > 8192 || from.sin_family != AF_INET)
      continue;
    rtmfp_addr_set_ipv4 (&a, (const guint8 *) &from.sin_addr,
        ntohs (from.sin_port));
    rtmfp_endpoint_receive (c->ep, b->rxbuf, n, &a, g_get_monotonic_time ());
  }
  client_rearm (c);
}

/* One turn of the client loop: socket events (up to wait_ms), then the
 * due timers of every client. */
static void
client_loop_once (Bench * b, gint wait_ms)
{
  struct epoll_event evs[256];
  gint n, i;
  gint64 now;

  n = epoll_wait (b->epfd, evs, G_N_ELEMENTS (evs), wait_ms);
  for (i = 0; i < n; i++)
    client_readable (evs[i].data.ptr);

  now = g_get_monotonic_time ();
  for (i = 0; i < (gint) b->n; i++) {
    Client *c = &b->clients[i];
    if (c->deadline >= 0 && c->deadline <= now) {
      rtmfp_endpoint_handle_timeout (c->ep, now);
      client_rearm (c);
    }
  }
}

static void
start_more (Bench * b)
{
  while (b->in_progress < (guint) opt_window && b->next_to_start < b->n)
    client_start (b, &b->clients[b->next_to_start++]);
}

/* ============================== parent ============================== */

static gboolean
spawn_external_server (Bench * b, GError ** error)
{
  GPtrArray *argv = g_ptr_array_new ();
  gint out_fd;
  gchar line[256];
  guint port = 0;
  gboolean ok;
  gchar **a;

  g_ptr_array_add (argv, opt_server_cmd);
  g_ptr_array_add (argv, (gpointer) "--rtmfp");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  for (a = opt_server_args; a && *a; a++)
    g_ptr_array_add (argv, *a);
  g_ptr_array_add (argv, NULL);
  ok = g_spawn_async_with_pipes (NULL, (gchar **) argv->pdata, NULL,
      G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &b->child, NULL, &out_fd,
      NULL, error);
  g_ptr_array_unref (argv);
  if (!ok)
    return FALSE;
  b->external = TRUE;
  b->from_child = fdopen (out_fd, "r");
  while (fgets (line, sizeof (line), b->from_child))
    if (sscanf (line, "listening rtmfp 127.0.0.1:%u", &port) == 1)
      break;
  if (port == 0 || port > 65535) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not say "
        "where it listens", opt_server_cmd);
    return FALSE;
  }
  b->port = port;
  {
    guint8 lo[4] = { 127, 0, 0, 1 };
    rtmfp_addr_set_ipv4 (&b->server_addr, lo, port);
  }
  return TRUE;
}

static gboolean
spawn_server (Bench * b, const gchar * self, GError ** error)
{
  gchar *maxs = g_strdup_printf ("--max-sessions=%d", opt_sessions + 64);
  const gchar *argv[] = { self, "--serve", maxs, NULL };
  gint in_fd, out_fd;
  gchar line[128];
  guint port = 0;
  gboolean ok;

  ok = g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL,
      G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &b->child, &in_fd, &out_fd,
      NULL, error);
  g_free (maxs);
  if (!ok)
    return FALSE;
  b->to_child = fdopen (in_fd, "w");
  b->from_child = fdopen (out_fd, "r");
  if (!fgets (line, sizeof (line), b->from_child) ||
      sscanf (line, "port %u", &port) != 1 || port == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "server did not "
        "start");
    return FALSE;
  }
  b->port = port;
  {
    guint8 lo[4] = { 127, 0, 0, 1 };
    rtmfp_addr_set_ipv4 (&b->server_addr, lo, port);
  }
  return TRUE;
}

static void
raise_fd_limit (guint need)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
    rl.rlim_cur = MIN (rl.rlim_max, (rlim_t) need + 64);
    setrlimit (RLIMIT_NOFILE, &rl);
  }
}

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  Bench b;
  ServerStats s_base, s_open, s_idle0, s_idle1;
  GArray *cps;
  Checkpoint prev = { 0 };
  gdouble t0, t_open_done, setup_s, wall_open, idle_wall, cpu_idle;
  gchar *tc_reply = NULL, *machine;
  gdouble next_timeout_us = -1;
  guint step, next_cp, i;
  gint status = 0;

  octx = g_option_context_new ("- sessions held and handshakes per second "
      "of one RTMFP server endpoint");
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

  if (opt_serve)
    return serve_main ();

  if (opt_sessions < 1 || opt_window < 1 || opt_idle < 0) {
    g_printerr ("bad options\n");
    return 1;
  }
  signal (SIGPIPE, SIG_IGN);
  raise_fd_limit (opt_sessions + 16);

  memset (&b, 0, sizeof (b));
  if (opt_server_cmd ? !spawn_external_server (&b, &err) :
      !spawn_server (&b, "/proc/self/exe", &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  server_stats (&b, &s_base);
  g_printerr ("server pid %d, port %u\n", (gint) b.child, b.port);

  b.epfd = epoll_create1 (EPOLL_CLOEXEC);
  b.n = opt_sessions;
  b.clients = g_new0 (Client, b.n);
  t0 = bench_now ();
  for (i = 0; i < b.n; i++)
    if (!client_new (&b, &b.clients[i], i)) {
      g_printerr ("client %u: cannot create (%s); raise ulimit -n?\n", i,
          g_strerror (errno));
      return 1;
    }
  setup_s = bench_now () - t0;

  /* ---- opening ---- */
  cps = g_array_new (FALSE, TRUE, sizeof (Checkpoint));
  step = MAX (1, b.n / 20);
  next_cp = step;
  prev.s = s_base;
  t0 = bench_now ();
  start_more (&b);
  while (b.opened + b.failed < b.n) {
    client_loop_once (&b, 2);
    start_more (&b);
    if (b.opened >= next_cp || b.opened + b.failed == b.n) {
      Checkpoint cp = { 0 };

      cp.held = b.opened;
      cp.t = bench_now () - t0;
      server_stats (&b, &cp.s);
      if (cp.t > prev.t && cp.s.opened > prev.s.opened) {
        cp.hs_per_s = (cp.s.opened - prev.s.opened) / (cp.t - prev.t);
        cp.cpu_ms_per_hs = 1000 * (cp.s.thread_cpu - prev.s.thread_cpu) /
            (cp.s.opened - prev.s.opened);
      }
      g_array_append_val (cps, cp);
      g_printerr ("  %u sessions, %.1f s, %.0f handshakes/s, server RSS "
          "%" G_GINT64_FORMAT " KiB\n", cp.held, cp.t, cp.hs_per_s,
          cp.s.rss_kib);
      prev = cp;
      while (next_cp <= b.opened)
        next_cp += step;
    }
    if (bench_now () - t0 > opt_timeout) {
      g_printerr ("timeout: %u opened, %u failed\n", b.opened, b.failed);
      status = 1;
      break;
    }
  }
  t_open_done = bench_now ();
  wall_open = t_open_done - t0;
  server_stats (&b, &s_open);
  if (!b.external && server_query (&b, "timeout-cost", &tc_reply))
    sscanf (tc_reply, "next_timeout_us=%lf", &next_timeout_us);

  /* ---- idle ---- */
  g_printerr ("holding %u sessions idle for %.0f s\n", b.opened, opt_idle);
  server_stats (&b, &s_idle0);
  t0 = bench_now ();
  while (bench_now () - t0 < opt_idle)
    client_loop_once (&b, 5);
  idle_wall = bench_now () - t0;
  server_stats (&b, &s_idle1);
  cpu_idle = s_idle1.thread_cpu - s_idle0.thread_cpu;

  if (b.external) {
    kill (b.child, SIGTERM);
  } else {
    g_clear_pointer (&tc_reply, g_free);
    server_query (&b, "quit", &tc_reply);
    fclose (b.to_child);
  }
  waitpid (b.child, NULL, 0);
  fclose (b.from_child);
  g_spawn_close_pid (b.child);

  /* ---- report ---- */
  machine = bench_machine_description ();
  g_print ("## Server scale: %s, %u sessions\n\n", b.external ?
      opt_server_cmd : "one endpoint", b.n);
  if (b.external)
  {
    gchar *extra = opt_server_args ? g_strjoinv (" ", opt_server_args) :
        g_strdup ("");

    g_print ("Machine: %s.  Server: `%s --rtmfp 127.0.0.1:0%s%s` "
        "(whole-process CPU and RSS; sessions counted by the clients).  ",
        machine, opt_server_cmd, *extra ? " " : "", extra);
    g_free (extra);
  }
  else
    g_print ("Machine: %s.  Server: one RtmfpEndpoint on one RtmfpNet "
        "thread in a child process (DH group 14, ephemeral keys).  ",
        machine);
  g_print ("Load: %u client endpoints (one UDP socket each) in the parent, "
      "one thread, %d handshakes in progress at a time.\n\n", b.n,
      opt_window);
  g_print ("| metric | value | note |\n|---|---:|---|\n");
  g_print ("| sessions opened | %u of %u (%u failed) | server holds %u |\n",
      b.opened, b.n, b.failed, s_open.sessions);
  g_print ("| handshakes per second | %.0f /s | wall, %u sessions in %.1f "
      "s |\n", b.opened / wall_open, b.opened, wall_open);
  g_print ("| server CPU per handshake | %.2f ms | net thread CPU while "
      "opening / sessions opened |\n", b.opened ? 1000 *
      (s_open.thread_cpu - s_base.thread_cpu) / b.opened : 0);
  g_print ("| handshakes per server core-second | %.0f /s | capacity of "
      "one net thread |\n", s_open.thread_cpu > s_base.thread_cpu ?
      b.opened / (s_open.thread_cpu - s_base.thread_cpu) : 0);
  g_print ("| server RSS, no sessions | %" G_GINT64_FORMAT " KiB | |\n",
      s_base.rss_kib);
  g_print ("| server RSS, %u sessions | %" G_GINT64_FORMAT " KiB | |\n",
      s_open.sessions, s_open.rss_kib);
  g_print ("| memory per idle session (RSS) | %.1f KiB | (RSS delta) / "
      "sessions |\n", s_open.sessions ? (gdouble) (s_open.rss_kib -
          s_base.rss_kib) / s_open.sessions : 0);
  if (!b.external)
    g_print ("| memory per idle session (heap) | %.1f KiB | mallinfo2 "
        "in-use delta / sessions |\n", s_open.sessions ?
        ((gdouble) s_open.heap - s_base.heap) / 1024 / s_open.sessions : 0);
  g_print ("| server CPU, %u sessions idle | %.4f cores | %.1f s, "
      "keepalives (15 s) |\n", s_idle1.sessions, idle_wall > 0 ?
      cpu_idle / idle_wall : 0, idle_wall);
  if (!b.external)
    g_print ("| server datagrams while idle | %.0f in/s, %.0f out/s | |\n",
      idle_wall > 0 ? (s_idle1.dgrams_in - s_idle0.dgrams_in) / idle_wall :
      0, idle_wall > 0 ? (s_idle1.dgrams_out - s_idle0.dgrams_out) /
      idle_wall : 0);
  if (!b.external)
    g_print ("| server net-thread wakeups while idle | %.0f /s | context "
        "switches of the net thread |\n", idle_wall > 0 ?
        (s_idle1.wakeups - s_idle0.wakeups) / idle_wall : 0);
  g_print ("| CPU per idle session | %.2f us/s | |\n", s_idle1.sessions ?
      1e6 * cpu_idle / idle_wall / s_idle1.sessions : 0);
  if (next_timeout_us >= 0)
    g_print ("| rtmfp_endpoint_next_timeout at %u sessions | %.3f us/call | "
        "called after every event |\n", s_open.sessions,
        next_timeout_us);
  g_print ("| sessions closed during idle | %u | client side |\n",
      b.closed_later);
  g_print ("| client setup | %.1f s | %u identities + sockets |\n", setup_s,
      b.n);

  g_print ("\n### Checkpoints\n\n| sessions | t (s) | handshakes/s | "
      "server CPU ms/handshake | server RSS KiB | server heap KiB |\n"
      "|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < cps->len; i++) {
    Checkpoint *cp = &g_array_index (cps, Checkpoint, i);
    g_print ("| %u | %.1f | %.0f | %.2f | %" G_GINT64_FORMAT " | %.0f |\n",
        cp->held, cp->t, cp->hs_per_s, cp->cpu_ms_per_hs, cp->s.rss_kib,
        cp->s.heap / 1024.0);
  }

  if (opt_csv_prefix) {
    gchar *path = g_strdup_printf ("%s-checkpoints.csv", opt_csv_prefix);
    FILE *f = bench_open_csv (path);

    fprintf (f, "sessions,t_s,handshakes_per_s,server_cpu_ms_per_hs,"
        "server_rss_kib,server_heap_kib\n");
    fprintf (f, "0,0,0,0,%" G_GINT64_FORMAT ",%.0f\n", s_base.rss_kib,
        s_base.heap / 1024.0);
    for (i = 0; i < cps->len; i++) {
      Checkpoint *cp = &g_array_index (cps, Checkpoint, i);
      fprintf (f, "%u,%.2f,%.1f,%.3f,%" G_GINT64_FORMAT ",%.0f\n", cp->held,
          cp->t, cp->hs_per_s, cp->cpu_ms_per_hs, cp->s.rss_kib,
          cp->s.heap / 1024.0);
    }
    fclose (f);
    g_free (path);
  }

  for (i = 0; i < b.n; i++) {
    rtmfp_endpoint_free (b.clients[i].ep);
    close (b.clients[i].fd);
  }
  close (b.epfd);
  g_free (b.clients);
  g_array_unref (cps);
  g_free (tc_reply);
  g_free (machine);
  return status;
}
