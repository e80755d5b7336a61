/* rtmfp-server --cluster (issue 18): a redis-server started here on a
 * free loopback port and three rtmfp-server nodes sharing it.  Clients
 * are child processes (this binary with --child) running the core's
 * NetConnection client on real UDP sockets, like test-server-players.c.
 *
 *   /cluster/relay         a stream published on node 1 plays on nodes 2
 *                          (10 players) and 3 (2 players): each player gets
 *                          the sequence header first, video from a
 *                          keyframe and >= 95 % of the frames; each pulling
 *                          node has exactly one upstream session (its
 *                          stats line), so node 1 serves exactly 2
 *                          players; a second publisher of the name on
 *                          node 3 is refused.
 *   /cluster/redis-outage  Redis stops: a local stream goes on without a
 *                          gap, the outage is logged once; Redis back: the
 *                          nodes rejoin and a stream crosses nodes again.
 *   /cluster/bad-input     a malformed or unreachable URL is a startup
 *                          error (exit 1, a message); corrupted entries in
 *                          Redis are ignored, the nodes go on.
 *
 * In CI (RTMFP_CI=1) a server built without hiredis, or no redis-server,
 * is a failure, elsewhere a skip.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "test-cluster"

#include "config.h"

#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>

#include "rtmfptcclient.h"
#include "testci.h"
#include "testproc.h"

#define SEC G_TIME_SPAN_SECOND
#define MS G_TIME_SPAN_MILLISECOND
/* a child never outlives a failed test by long */
#define CHILD_MAX_S 90
/* players measure this long from their first frame */
#define PLAY_S 8

static const gchar *self_path;
static volatile sig_atomic_t child_term;

static void
on_child_term (int sig)
{
  child_term = 1;
}

/* ------------------------------ children ----------------------------- */

typedef struct {
  GSocket *sock;
  RtmfpEndpoint *ep;
  RtmfpTcClient *c;
  gboolean publisher;
  gboolean announced;
  guint64 frame;
  gint64 t0;
  /* player */
  gint play_s;
  gint64 first_at;
  gint first_idx, last_idx;
  guint frames;
  gboolean header_seen, header_first, key_first;
  gboolean watch;               /* "frames N" every 250 ms, no end */
  gint64 next_report;
  /* "publish-gop10": a keyframe every 10 s, or when asked for one */
  guint gop;
  gboolean key_wanted;
  guint keys_asked;
  /* "first": prints the time to the first video frame, then exits */
  gboolean first;
} Child;

static gint64
child_clock (gpointer data)
{
  return g_get_monotonic_time ();
}

static void
child_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer ud)
{
  Child *ch = ud;
  GSocketAddress *sa = rtmfp_addr_to_gsocket (to);

  g_socket_send_to (ch->sock, sa, (const gchar *) data, len, NULL, NULL);
  g_object_unref (sa);
}

static void
child_state (RtmfpTcClient * c, RtmfpTcClientState state, gpointer ud)
{
  Child *ch = ud;

  if (state == RTMFP_TC_CLIENT_STATE_STREAMING && !ch->announced) {
    ch->announced = TRUE;
    ch->t0 = g_get_monotonic_time ();
    printf ("streaming\n");
    fflush (stdout);
    if (ch->publisher) {
      /* an AVC sequence header (reliable), for late joiners */
      static const guint8 hdr[] = { 0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f };

      rtmfp_tc_client_send (ch->c, RTMFP_TC_MSG_VIDEO, 0, hdr, sizeof hdr,
          RTMFP_TC_CLIENT_SEND_RELIABLE, g_get_monotonic_time ());
    }
  }
  if (state == RTMFP_TC_CLIENT_STATE_FAILED ||
      state == RTMFP_TC_CLIENT_STATE_CLOSED) {
    printf ("ended\n");
    fflush (stdout);
    exit (3);
  }
}

/* Player: counts coded video frames (AVC NALU packets); frame index from
 * the publisher's timestamps (frame * 1000 / 30) */
static void
child_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Child *ch = ud;
  gint idx;

  if (msg->type != RTMFP_TC_MSG_VIDEO || msg->len < 2)
    return;
  if (msg->payload[1] == 0) {
    ch->header_seen = TRUE;
    return;
  }
  idx = (gint) (((guint64) msg->timestamp * 30 + 500) / 1000);
  if (ch->first) {
    printf ("first %" G_GINT64_FORMAT " key %d\n",
        (g_get_monotonic_time () - ch->t0) / 1000,
        (msg->payload[0] >> 4) == 1);
    fflush (stdout);
    exit (0);
  }
  if (ch->frames == 0) {
    ch->first_at = g_get_monotonic_time ();
    ch->first_idx = idx;
    ch->header_first = ch->header_seen;
    ch->key_first = (msg->payload[0] >> 4) == 1;
  }
  ch->last_idx = idx;
  ch->frames++;
}

/* Publisher: 30 fps video (5 KB, a keyframe every 30) and audio every
 * 33 ms, from the time it is streaming */
static void
child_publish_due (Child * ch, gint64 now)
{
  static guint8 frame[5000];

  while (ch->announced && ch->t0 + (gint64) ch->frame * SEC / 30 <= now) {
    guint32 ts = (guint32) (ch->frame * 1000 / 30);
    gboolean key = ch->frame % ch->gop == 0 || ch->key_wanted;

    ch->key_wanted = FALSE;
    frame[0] = key ? 0x17 : 0x27;
    frame[1] = 1;
    rtmfp_tc_client_send (ch->c, RTMFP_TC_MSG_VIDEO, ts, frame,
        sizeof frame, key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, now);
    frame[0] = 0xaf;
    frame[1] = 1;
    rtmfp_tc_client_send (ch->c, RTMFP_TC_MSG_AUDIO, ts, frame, 60, 0, now);
    ch->frame++;
  }
}

/* Publisher: the server asks for a keyframe (a player joined) */
static void
child_command (RtmfpTcClient * c, guint32 stream_id, const gchar * name,
    GPtrArray * args, gpointer ud)
{
  Child *ch = ud;

  if (g_str_equal (name, RTMFP_TC_REQUEST_KEYFRAME)) {
    ch->key_wanted = TRUE;
    ch->keys_asked++;
  }
}

static gint64
child_next_media (Child * ch)
{
  if (!ch->publisher || !ch->announced)
    return G_MAXINT64;
  return ch->t0 + (gint64) ch->frame * SEC / 30;
}

static int
run_child (const gchar * role, const gchar * server, const gchar * stream,
    gint play_s)
{
  RtmfpTcClientConfig ccfg;
  RtmfpTcClientCallbacks cb = { 0 };
  RtmfpEndpointConfig ecfg;
  Child ch = { 0 };
  RtmfpAddr addr;
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (lo, 0);
  gchar *url;
  gint64 end = g_get_monotonic_time () + CHILD_MAX_S * SEC;
  guint8 buf[8192];

  if (!rtmfp_addr_from_string (&addr, server, 0))
    return 2;
  ch.publisher = g_str_has_prefix (role, "publish");
  ch.gop = g_str_equal (role, "publish-gop10") ? 300 : 30;
  ch.watch = g_str_equal (role, "watch");
  ch.first = g_str_equal (role, "first");
  ch.play_s = play_s;
  ch.sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);
  if (!ch.sock || !g_socket_bind (ch.sock, sa, FALSE, NULL))
    return 2;
  g_socket_set_blocking (ch.sock, FALSE);
  g_object_unref (sa);
  g_object_unref (lo);

  url = g_strdup_printf ("rtmfp://%s/live", server);
  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = ch.publisher ? RTMFP_TC_CLIENT_ROLE_PUBLISH :
      RTMFP_TC_CLIENT_ROLE_PLAY;
  ccfg.tc_url = url;
  ccfg.app = "live";
  ccfg.stream = stream;
  ccfg.timeout_us = 30 * SEC;
  cb.state_changed = child_state;
  cb.message = child_message;
  cb.command = child_command;
  ch.c = rtmfp_tc_client_new (&ccfg, &cb, &ch, child_clock, NULL);
  g_free (url);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = FALSE;
  ch.ep = rtmfp_endpoint_new (&ecfg, rtmfp_tc_client_get_endpoint_callbacks
      (), ch.c, child_send, &ch);
  if (!ch.ep || !rtmfp_tc_client_start (ch.c, ch.ep, &addr, 1,
          g_get_monotonic_time ()))
    return 2;

  /* a publisher closes its session on SIGTERM (then exits: "ended") */
  if (ch.publisher)
    signal (SIGTERM, on_child_term);
  while (g_get_monotonic_time () < end) {
    gint64 now = g_get_monotonic_time (), wake = now + 100 * MS, t;
    struct pollfd pfd = { g_socket_get_fd (ch.sock), POLLIN, 0 };
    GSocketAddress *from = NULL;
    gssize len;

    if (child_term == 1) {
      child_term = 2;
      ch.announced = FALSE;     /* no more media */
      rtmfp_tc_client_close (ch.c, now);
    }

    if (ch.watch && ch.announced && now >= ch.next_report) {
      printf ("frames %u\n", ch.frames);
      fflush (stdout);
      ch.next_report = now + 250 * MS;
    }
    if (!ch.publisher && !ch.watch && ch.frames &&
        now - ch.first_at >= ch.play_s * SEC) {
      printf ("result frames=%u expected=%d header_first=%d key_first=%d\n",
          ch.frames, ch.last_idx - ch.first_idx + 1, ch.header_first,
          ch.key_first);
      fflush (stdout);
      return 0;
    }
    if (ch.publisher)
      child_publish_due (&ch, now);
    t = rtmfp_endpoint_next_timeout (ch.ep);
    if (t >= 0 && t <= now)
      rtmfp_endpoint_handle_timeout (ch.ep, now);
    t = rtmfp_tc_client_next_timeout (ch.c);
    if (t >= 0 && t <= now)
      rtmfp_tc_client_handle_timeout (ch.c, now);
    t = rtmfp_endpoint_next_timeout (ch.ep);
    if (t >= 0)
      wake = MIN (wake, t);
    t = rtmfp_tc_client_next_timeout (ch.c);
    if (t >= 0)
      wake = MIN (wake, t);
    wake = MIN (wake, child_next_media (&ch));
    poll (&pfd, 1, (gint) CLAMP ((wake - now + 999) / 1000, 0, 100));
    now = g_get_monotonic_time ();
    while ((len = g_socket_receive_from (ch.sock, &from, (gchar *) buf,
                sizeof buf, NULL, NULL)) >= 0) {
      RtmfpAddr a;

      if (rtmfp_addr_from_gsocket (&a, from))
        rtmfp_endpoint_receive (ch.ep, buf, len, &a, now);
      g_clear_object (&from);
    }
  }
  return 0;
}

/* ------------------------------- parent ------------------------------ */

typedef struct {
  GPid pid;
  gint out;
  gint err;
  GString *buf;
  gchar *addr;                  /* a node's "listening rtmfp" address */
  gchar *metrics;               /* and "listening metrics" (--metrics) */
} Proc;

/* In the child: die with the test (a failed assertion aborts it) */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
proc_spawn (Proc * p, gchar ** argv, gboolean want_stderr)
{
  GError *err = NULL;

  p->buf = g_string_new (NULL);
  p->err = -1;
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent, NULL, &p->pid, NULL,
          &p->out, want_stderr ? &p->err : NULL, &err));
  g_assert_no_error (err);
}

static void
proc_end (Proc * p, gint sig)
{
  if (p->pid) {
    kill (p->pid, sig);
    if (wait_exit (p->pid, 10000) == -1) {
      kill (p->pid, SIGKILL);
      wait_exit (p->pid, 5000);
    }
    g_spawn_close_pid (p->pid);
    p->pid = 0;
  }
  if (p->out > 0)
    close (p->out);
  if (p->err > 0)
    close (p->err);
  p->out = p->err = -1;
  if (p->buf)
    g_string_free (p->buf, TRUE);
  p->buf = NULL;
  g_clear_pointer (&p->addr, g_free);
  g_clear_pointer (&p->metrics, g_free);
}

/* A client child; expect: its first line ("streaming" or "ended") */
static void
child_spawn (Proc * p, const gchar * role, const gchar * server,
    const gchar * stream, const gchar * expect)
{
  gchar *secs = g_strdup_printf ("%d", PLAY_S);
  gchar *argv[] = { (gchar *) self_path, (gchar *) "--child", (gchar *) role,
    (gchar *) server, (gchar *) stream, secs, NULL
  };
  gchar *line;

  proc_spawn (p, argv, FALSE);
  line = read_line (p->out, p->buf, 30000);
  g_assert_cmpstr (line, ==, expect);
  g_free (line);
  g_free (secs);
}

/* A free loopback TCP port (bound, then released) */
static guint16
free_tcp_port (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (lo, 0), *bound;
  guint16 port;

  g_assert_true (g_socket_bind (s, sa, FALSE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (sa);
  g_object_unref (lo);
  g_object_unref (s);
  return port;
}

/* redis-server on loopback port; FALSE (skip or fail said) without one */
static gboolean
redis_start (Proc * p, guint16 port)
{
  gchar *exe = g_find_program_in_path ("redis-server");
  gchar *ps = g_strdup_printf ("%u", port);
  gchar *argv[] = { exe, (gchar *) "--port", ps, (gchar *) "--bind",
    (gchar *) "127.0.0.1", (gchar *) "--save", (gchar *) "",
    (gchar *) "--appendonly", (gchar *) "no", NULL
  };
  gchar *line;
  gboolean ready = FALSE;

  if (!exe) {
    test_skip_or_fail ("no redis-server (Debian package redis-server)");
    g_free (ps);
    return FALSE;
  }
  proc_spawn (p, argv, FALSE);
  while (!ready && (line = read_line (p->out, p->buf, 10000))) {
    ready = strstr (line, "Ready to accept connections") != NULL;
    g_free (line);
  }
  g_assert_true (ready);
  g_free (exe);
  g_free (ps);
  return TRUE;
}

/* redis-cli ARGS... against port; its output (stripped) */
static gchar *
redis_cli (guint16 port, const gchar * const *args)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  gchar *out = NULL;
  gint status = 0;
  guint i;

  g_ptr_array_add (argv, g_strdup ("redis-cli"));
  g_ptr_array_add (argv, g_strdup ("-p"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", port));
  for (i = 0; args[i]; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv->pdata, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
          NULL, &status, NULL));
  g_ptr_array_unref (argv);
  return g_strstrip (out);
}

/* extra: more options (NULL-terminated), or NULL */
static void
node_start_full (Proc * p, guint16 redis_port, const gchar * name,
    gboolean want_stderr, const gchar * const *extra)
{
  gchar *url = g_strdup_printf ("redis://127.0.0.1:%u/0", redis_port);
  const gchar *base[] = { RTMFP_SERVER_PATH, "--rtmfp", "127.0.0.1:0",
    "--cluster", url, "--node-name", name, "--dead-peer-timeout", "3000",
    "--metrics", "127.0.0.1:0", NULL
  };
  GPtrArray *argv = g_ptr_array_new ();
  gchar *line, *expect;
  guint i;

  for (i = 0; base[i]; i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  proc_spawn (p, (gchar **) argv->pdata, want_stderr);
  g_ptr_array_unref (argv);
  line = read_line (p->out, p->buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening rtmfp "));
  p->addr = g_strdup (line + strlen ("listening rtmfp "));
  g_free (line);
  line = read_line (p->out, p->buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening metrics "));
  p->metrics = g_strdup (line + strlen ("listening metrics "));
  g_free (line);
  line = read_line (p->out, p->buf, 10000);
  expect = g_strdup_printf ("cluster node %s", name);
  g_assert_cmpstr (line, ==, expect);
  g_free (expect);
  g_free (line);
  g_free (url);
}

static void
node_start (Proc * p, guint16 redis_port, const gchar * name,
    gboolean want_stderr)
{
  node_start_full (p, redis_port, name, want_stderr, NULL);
}

/* The node's stats line (SIGUSR1) */
static gchar *
node_stats (Proc * p)
{
  gchar *line;

  kill (p->pid, SIGUSR1);
  line = read_line (p->out, p->buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "stats "));
  return line;
}

static gint
stat_field (const gchar * line, const gchar * name)
{
  gchar *key = g_strdup_printf (" %s=", name);
  const gchar *s = strstr (line, key);
  gint v;

  g_assert_nonnull (s);
  v = atoi (s + strlen (key));
  g_free (key);
  return v;
}

static gboolean
stat_has (const gchar * line, const gchar * field_value)
{
  gchar *key = g_strdup_printf (" %s", field_value);
  gboolean has = strstr (line, key) != NULL;

  g_free (key);
  return has;
}

/* Polls the node's stats (every 100 ms, at most timeout_s) until
 * name=value; the last line (for the caller's message) */
static gboolean
wait_stat (Proc * p, const gchar * name, gint value, gint timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * SEC;
  gchar *line = NULL;
  gboolean ok = FALSE;

  while (!ok && g_get_monotonic_time () < end) {
    g_free (line);
    line = node_stats (p);
    ok = stat_field (line, name) == value;
    if (!ok)
      poll (NULL, 0, 100);
  }
  if (!ok)
    g_test_message ("waited for %s=%d: %s", name, value, line);
  g_free (line);
  return ok;
}

static gboolean
have_cluster (void)
{
#ifndef HAVE_HIREDIS
  test_skip_or_fail ("rtmfp-server built without hiredis (libhiredis-dev): "
      "no --cluster");
  return FALSE;
#else
  if (!g_file_test (RTMFP_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("rtmfp-server is not built at %s", RTMFP_SERVER_PATH);
  return TRUE;
#endif
}

/* A player's "result ..." line: checks and logs it */
static void
check_player (Proc * p, const gchar * what)
{
  gchar *line = read_line (p->out, p->buf, (PLAY_S + 20) * 1000);
  guint frames = 0;
  gint expected = 0, header_first = 0, key_first = 0;

  g_assert_nonnull (line);
  g_assert_cmpint (sscanf (line, "result frames=%u expected=%d "
          "header_first=%d key_first=%d", &frames, &expected, &header_first,
          &key_first), ==, 4);
  g_test_message ("%s: %u of %d frames (%.1f %%), header first %d, "
      "keyframe first %d", what, frames, expected, 100.0 * frames / expected,
      header_first, key_first);
  g_assert_cmpint (expected, >=, (PLAY_S - 1) * 30);
  g_assert_cmpuint (frames * 100, >=, (guint) expected * 95);
  g_assert_cmpint (header_first, ==, 1);
  g_assert_cmpint (key_first, ==, 1);
  g_free (line);
}

/* A "watch" player's count goes past min within timeout_ms; the count,
 * or -1 (timeout, or the player ended) */
static gint
watch_past (Proc * p, guint min, gint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gchar *line;
  guint n;

  while (g_get_monotonic_time () < end) {
    line = read_line (p->out, p->buf,
        (gint) MAX ((end - g_get_monotonic_time ()) / 1000, 1));
    if (!line)
      return -1;
    if (sscanf (line, "frames %u", &n) != 1) {
      g_test_message ("player: %s", line);
      g_free (line);
      return -1;
    }
    g_free (line);
    if (n > min)
      return (gint) n;
  }
  return -1;
}

/* A "watch" player's latest count (what it printed up to now) */
static gint
watch_latest (Proc * p)
{
  gchar *line;
  guint n;
  gint last = -1;

  /* it prints every 250 ms: a 100 ms silence means we are up to date */
  while ((line = read_line (p->out, p->buf, 100))) {
    if (sscanf (line, "frames %u", &n) == 1)
      last = (gint) n;
    g_free (line);
  }
  return last;
}

#define N_PLAYERS_2 10
#define N_PLAYERS_3 2

static void
test_relay (void)
{
  Proc redis = { 0 }, nodes[3] = { {0} }, pub = { 0 }, dup = { 0 };
  Proc p2[N_PLAYERS_2] = { {0} }, p3[N_PLAYERS_3] = { {0} };
  guint16 rport;
  gchar *line, *name;
  guint i;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  for (i = 0; i < 3; i++) {
    name = g_strdup_printf ("node%u", i + 1);
    node_start (&nodes[i], rport, name, FALSE);
    g_free (name);
  }
  for (i = 0; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_nodes", 3, 10));

  child_spawn (&pub, "publish", nodes[0].addr, "cam", "streaming");
  /* every node has read the registration */
  for (i = 0; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_streams", 1, 10));
  /* one publisher per name across the cluster */
  child_spawn (&dup, "publish", nodes[2].addr, "cam", "ended");
  proc_end (&dup, SIGKILL);

  for (i = 0; i < N_PLAYERS_2; i++)
    child_spawn (&p2[i], "play", nodes[1].addr, "cam", "streaming");
  for (i = 0; i < N_PLAYERS_3; i++)
    child_spawn (&p3[i], "play", nodes[2].addr, "cam", "streaming");

  /* one upstream session per pulling node, shared by its players */
  g_assert_true (wait_stat (&nodes[1], "cluster_upstreams", 1, 10));
  g_assert_true (wait_stat (&nodes[2], "cluster_upstreams", 1, 10));
  g_assert_true (wait_stat (&nodes[1], "players", N_PLAYERS_2, 10));
  g_assert_true (wait_stat (&nodes[2], "players", N_PLAYERS_3, 10));
  /* the origin serves the two pulling nodes, nothing more */
  g_assert_true (wait_stat (&nodes[0], "players", 2, 10));
  line = node_stats (&nodes[0]);
  g_test_message ("origin: %s", line);
  g_assert_cmpint (stat_field (line, "cluster_upstreams"), ==, 0);
  g_assert_cmpint (stat_field (line, "sessions"), ==, 3);
  g_free (line);

  for (i = 0; i < N_PLAYERS_2; i++)
    check_player (&p2[i], "node 2 player");
  for (i = 0; i < N_PLAYERS_3; i++)
    check_player (&p3[i], "node 3 player");
  /* still one each at the end */
  line = node_stats (&nodes[1]);
  g_test_message ("node 2: %s", line);
  g_assert_cmpint (stat_field (line, "cluster_upstreams"), ==, 1);
  g_free (line);
  line = node_stats (&nodes[2]);
  g_assert_cmpint (stat_field (line, "cluster_upstreams"), ==, 1);
  g_free (line);

  for (i = 0; i < N_PLAYERS_2; i++)
    proc_end (&p2[i], SIGKILL);
  for (i = 0; i < N_PLAYERS_3; i++)
    proc_end (&p3[i], SIGKILL);
  proc_end (&pub, SIGKILL);
  for (i = 0; i < 3; i++)
    proc_end (&nodes[i], SIGTERM);
  proc_end (&redis, SIGTERM);
}

/* lines of fd read so far (non-blocking drain, bounded) */
static void
drain (gint fd, GString * into, gint timeout_ms)
{
  gchar *line;
  GString *buf = g_string_new (NULL);

  while ((line = read_line (fd, buf, timeout_ms))) {
    g_string_append (into, line);
    g_string_append_c (into, '\n');
    g_free (line);
  }
  g_string_free (buf, TRUE);
}

static guint
count_substr (const gchar * s, const gchar * sub)
{
  guint n = 0;

  while ((s = strstr (s, sub))) {
    n++;
    s += strlen (sub);
  }
  return n;
}

static void
test_redis_outage (void)
{
  Proc redis = { 0 }, nodes[2] = { {0} }, pub = { 0 }, local = { 0 };
  Proc pub2 = { 0 }, remote = { 0 }, xpub = { 0 }, xwatch = { 0 };
  GString *err = g_string_new (NULL);
  guint16 rport;
  guint i;
  gint n, m;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  node_start (&nodes[0], rport, "a", TRUE);
  node_start (&nodes[1], rport, "b", FALSE);
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));

  /* a cross-node stream (published on b, watched on a) and a local one
   * on node a, both playing before the outage */
  child_spawn (&xpub, "publish", nodes[1].addr, "cross", "streaming");
  g_assert_true (wait_stat (&nodes[0], "cluster_streams", 1, 10));
  child_spawn (&xwatch, "watch", nodes[0].addr, "cross", "streaming");
  g_assert_cmpint (watch_past (&xwatch, 30, 10000), >, 30);
  child_spawn (&pub, "publish", nodes[0].addr, "local", "streaming");
  child_spawn (&local, "play", nodes[0].addr, "local", "streaming");

  proc_end (&redis, SIGTERM);
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 0, 10));
  g_assert_true (wait_stat (&nodes[1], "cluster_nodes", 0, 10));
  /* the local player has no gap (>= 95 % of frames over PLAY_S s, the
   * outage included) */
  check_player (&local, "local player during the Redis outage");
  /* the cross-node stream went on through its upstream session too */
  n = watch_latest (&xwatch);
  m = watch_past (&xwatch, n + 30, 5000);
  g_test_message ("cross-node player during the outage: %d frames, then %d",
      n, m);
  g_assert_cmpint (m, >, n + 30);

  /* Redis back on the same port: the nodes rejoin */
  g_assert_true (redis_start (&redis, rport));
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));
  g_assert_true (wait_stat (&nodes[1], "cluster_nodes", 2, 10));
  /* and streams cross nodes again: published on b, played on a */
  child_spawn (&pub2, "publish", nodes[1].addr, "after", "streaming");
  g_assert_true (wait_stat (&nodes[0], "cluster_streams", 3, 10));
  child_spawn (&remote, "play", nodes[0].addr, "after", "streaming");
  check_player (&remote, "cross-node player after Redis came back");

  /* and the cross-node stream of before is still there */
  n = watch_latest (&xwatch);
  g_assert_cmpint (watch_past (&xwatch, n + 30, 5000), >, n + 30);
  g_assert_true (wait_stat (&nodes[0], "cluster_upstreams", 2, 10));

  /* the outage was logged once, the return once */
  proc_end (&xwatch, SIGKILL);
  proc_end (&xpub, SIGKILL);
  proc_end (&remote, SIGKILL);
  proc_end (&pub2, SIGKILL);
  proc_end (&local, SIGKILL);
  proc_end (&pub, SIGKILL);
  kill (nodes[0].pid, SIGTERM);
  drain (nodes[0].err, err, 10000);
  g_test_message ("node a stderr:\n%s", err->str);
  g_assert_cmpuint (count_substr (err->str, "is unreachable"), ==, 1);
  g_assert_cmpuint (count_substr (err->str, "is back;"), ==, 1);
  for (i = 0; i < 2; i++)
    proc_end (&nodes[i], SIGTERM);
  proc_end (&redis, SIGTERM);
  g_string_free (err, TRUE);
}

/* GET /metrics of a node (bounded by a 10 s socket timeout) */
static gchar *
node_metrics (Proc * p)
{
  GSocketClient *sc = g_socket_client_new ();
  GSocketConnection *conn;
  GError *err = NULL;
  GString *body = g_string_new (NULL);
  const gchar *req = "GET /metrics HTTP/1.0\r\n\r\n";
  gchar buf[4096];
  gssize r;

  g_socket_client_set_timeout (sc, 10);
  /* loopback: no proxy resolver (libproxy) */
  g_socket_client_set_enable_proxy (sc, FALSE);
  conn = g_socket_client_connect_to_host (sc, p->metrics, 0, NULL, &err);
  g_assert_no_error (err);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream
          (G_IO_STREAM (conn)), req, strlen (req), NULL, NULL, &err));
  while ((r = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM
                  (conn)), buf, sizeof buf, NULL, &err)) > 0)
    g_string_append_len (body, buf, r);
  g_assert_no_error (err);
  g_object_unref (conn);
  g_object_unref (sc);
  return g_string_free (body, FALSE);
}

/* Node 1 holds its limit (--cluster-max-load 1: its publisher): a new
 * player asking node 1 is redirected (RFC 7016 3.5.1.4) before keying,
 * lands on node 2 or 3 and plays node 1's stream from there (the
 * upstream session of that node is not redirected) */
/* With Redis down, a node cannot know that a name is published
 * elsewhere: a local publisher of a name the node plays from another
 * node, whose upstream went silent, takes it over like a silent local
 * publisher (the relay's idle takeover); the upstream session ends and
 * the node's players go on with the local publisher */
static void
test_takeover_during_outage (void)
{
  Proc redis = { 0 }, nodes[2] = { {0} }, remote = { 0 }, local = { 0 };
  Proc watcher = { 0 };
  guint16 rport;
  guint i;
  gint n, m;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  node_start (&nodes[0], rport, "t1", FALSE);
  node_start (&nodes[1], rport, "t2", FALSE);
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));
  child_spawn (&remote, "publish", nodes[1].addr, "cam", "streaming");
  g_assert_true (wait_stat (&nodes[0], "cluster_streams", 1, 10));
  child_spawn (&watcher, "watch", nodes[0].addr, "cam", "streaming");
  g_assert_cmpint (watch_past (&watcher, 30, 10000), >, 30);
  g_assert_true (wait_stat (&nodes[0], "cluster_upstreams", 1, 10));

  proc_end (&redis, SIGTERM);
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 0, 10));
  /* the remote publisher vanishes (its session stays a while on t2) */
  proc_end (&remote, SIGKILL);
  /* a publisher of the name on t1: allowed once the upstream has been
   * silent for --idle-publisher (500 ms); bounded retries */
  for (i = 0; i < 40; i++) {
    gchar *argv[] = { (gchar *) self_path, (gchar *) "--child",
      (gchar *) "publish", nodes[0].addr, (gchar *) "cam", (gchar *) "0",
      NULL
    };
    gchar *line;
    gboolean ok;

    proc_spawn (&local, argv, FALSE);
    line = read_line (local.out, local.buf, 30000);
    g_assert_nonnull (line);
    ok = g_str_equal (line, "streaming");
    g_free (line);
    if (ok)
      break;
    proc_end (&local, SIGKILL);
    poll (NULL, 0, 250);
  }
  g_assert_nonnull (local.buf);
  /* the player on t1 goes on from the local publisher */
  n = watch_latest (&watcher);
  m = watch_past (&watcher, n + 30, 10000);
  g_test_message ("player on t1: %d frames at the takeover, %d after", n, m);
  g_assert_cmpint (m, >, n + 30);
  g_assert_true (wait_stat (&nodes[0], "cluster_upstreams", 0, 10));

  proc_end (&watcher, SIGKILL);
  proc_end (&local, SIGKILL);
  for (i = 0; i < 2; i++)
    proc_end (&nodes[i], SIGTERM);
}

/* A player joining a stream its node plays from another node asks for a
 * keyframe; the request goes up the upstream session to the origin's
 * publisher, so it starts at once, not at the next keyframe (here every
 * 10 s) */
static void
test_keyframe_upstream (void)
{
  Proc redis = { 0 }, nodes[2] = { {0} }, pub = { 0 }, first = { 0 };
  Proc watcher = { 0 };
  guint16 rport;
  guint i;
  gint64 ms = -1;
  gint key = 0;
  gchar *line;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  node_start (&nodes[0], rport, "k1", FALSE);
  node_start (&nodes[1], rport, "k2", FALSE);
  g_assert_true (wait_stat (&nodes[1], "cluster_nodes", 2, 10));
  child_spawn (&pub, "publish-gop10", nodes[0].addr, "cam", "streaming");
  g_assert_true (wait_stat (&nodes[1], "cluster_streams", 1, 10));
  /* the first player on k2 starts the upstream session */
  child_spawn (&watcher, "watch", nodes[1].addr, "cam", "streaming");
  g_assert_cmpint (watch_past (&watcher, 30, 15000), >, 30);
  /* later players join an upstream that is already streaming */
  for (i = 0; i < 3; i++) {
    child_spawn (&first, "first", nodes[1].addr, "cam", "streaming");
    line = read_line (first.out, first.buf, 15000);
    g_assert_nonnull (line);
    g_assert_cmpint (sscanf (line, "first %" G_GINT64_FORMAT " key %d", &ms,
            &key), ==, 2);
    g_test_message ("late player %u on k2: first video after %" G_GINT64_FORMAT
        " ms (keyframe %d; the publisher's keyframes are 10 s apart)", i, ms,
        key);
    g_free (line);
    g_assert_cmpint (key, ==, 1);
    g_assert_cmpint (ms, <, 2000);
    proc_end (&first, SIGKILL);
    /* out of the relays' 200 ms keyframe request limit */
    poll (NULL, 0, 300);
  }

  proc_end (&watcher, SIGKILL);
  proc_end (&pub, SIGKILL);
  for (i = 0; i < 2; i++)
    proc_end (&nodes[i], SIGTERM);
  proc_end (&redis, SIGTERM);
}

static void
test_redirect (void)
{
  Proc redis = { 0 }, nodes[3] = { {0} }, pub = { 0 }, player = { 0 };
  gchar *line, *name;
  guint16 rport;
  gint s2, s3, u2, u3;
  guint i;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  for (i = 0; i < 3; i++) {
    static const gchar *const max_load[] = { "--cluster-max-load", "1",
      NULL
    };

    name = g_strdup_printf ("node%u", i + 1);
    node_start_full (&nodes[i], rport, name, FALSE, i == 0 ? max_load : NULL);
    g_free (name);
  }
  for (i = 0; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_nodes", 3, 10));
  child_spawn (&pub, "publish", nodes[0].addr, "cam", "streaming");
  for (i = 1; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_streams", 1, 10));

  /* asks node 1, for node 1's stream */
  child_spawn (&player, "play", nodes[0].addr, "cam", "streaming");
  check_player (&player, "redirected player");

  line = node_stats (&nodes[0]);
  g_test_message ("node 1: %s", line);
  g_assert_cmpint (stat_field (line, "cluster_redirects"), >=, 1);
  /* the publisher and the upstream session of the node the player
   * landed on */
  g_assert_cmpint (stat_field (line, "sessions"), ==, 2);
  g_assert_cmpint (stat_field (line, "players"), ==, 1);
  g_free (line);
  line = node_stats (&nodes[1]);
  s2 = stat_field (line, "sessions");
  u2 = stat_field (line, "cluster_upstreams");
  g_free (line);
  line = node_stats (&nodes[2]);
  s3 = stat_field (line, "sessions");
  u3 = stat_field (line, "cluster_upstreams");
  g_free (line);
  g_test_message ("node 2: %d sessions, %d upstreams; node 3: %d, %d", s2,
      u2, s3, u3);
  g_assert_cmpint (s2 + s3, ==, 1);
  g_assert_cmpint (u2, ==, s2);
  g_assert_cmpint (u3, ==, s3);
  /* the same in --metrics */
  line = node_metrics (&nodes[0]);
  g_assert_nonnull (strstr (line, "\nrtmfp_server_cluster_redirects_total "));
  g_assert_null (strstr (line, "\nrtmfp_server_cluster_redirects_total 0\n"));
  g_assert_nonnull (strstr (line, "\nrtmfp_server_cluster_nodes 3\n"));
  g_assert_nonnull (strstr (line, "\nrtmfp_server_cluster_redis_up 1\n"));
  g_free (line);
  line = node_metrics (s2 ? &nodes[1] : &nodes[2]);
  g_assert_nonnull (strstr (line, "\nrtmfp_server_cluster_upstreams 1\n"));
  g_assert_nonnull (strstr (line, "\nrtmfp_server_cluster_streams 1\n"));
  g_free (line);

  proc_end (&player, SIGKILL);
  proc_end (&pub, SIGKILL);
  for (i = 0; i < 3; i++)
    proc_end (&nodes[i], SIGTERM);
  proc_end (&redis, SIGTERM);
}

/* kill -9 the origin mid-stream: its registrations expire, the pulling
 * nodes end their upstream sessions; the publisher publishes again on
 * another node (refused while the dead node's name is still registered;
 * it retries, as the elements do) and the players on the surviving nodes
 * play again from the new origin, without having to reconnect */
static void
test_origin_dies (void)
{
  Proc redis = { 0 }, nodes[3] = { {0} }, pub = { 0 }, pub2 = { 0 };
  Proc watchers[2] = { {0} };
  gchar *name;
  guint16 rport;
  gint64 killed, republished = 0, resumed;
  gint n[2];
  guint i;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  for (i = 0; i < 3; i++) {
    name = g_strdup_printf ("node%u", i + 1);
    node_start (&nodes[i], rport, name, FALSE);
    g_free (name);
  }
  for (i = 0; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_nodes", 3, 10));
  child_spawn (&pub, "publish", nodes[0].addr, "cam", "streaming");
  for (i = 1; i < 3; i++)
    g_assert_true (wait_stat (&nodes[i], "cluster_streams", 1, 10));
  /* a player on node 2 (where the new publisher will come) and on 3 */
  for (i = 0; i < 2; i++) {
    child_spawn (&watchers[i], "watch", nodes[i + 1].addr, "cam",
        "streaming");
    n[i] = watch_past (&watchers[i], 30, 10000);
    g_assert_cmpint (n[i], >, 30);
  }

  kill (nodes[0].pid, SIGKILL);
  killed = g_get_monotonic_time ();
  proc_end (&pub, SIGKILL);
  /* the publisher comes back on node 2: refused until the dead origin's
   * registration expires (5 s), so it retries (bounded) */
  for (i = 0; i < 40 && !republished; i++) {
    gchar *argv[] = { (gchar *) self_path, (gchar *) "--child",
      (gchar *) "publish", nodes[1].addr, (gchar *) "cam", (gchar *) "0",
      NULL
    };
    gchar *line;

    proc_spawn (&pub2, argv, FALSE);
    line = read_line (pub2.out, pub2.buf, 30000);
    g_assert_nonnull (line);
    if (g_str_equal (line, "streaming"))
      republished = g_get_monotonic_time ();
    else
      proc_end (&pub2, SIGKILL);
    g_free (line);
    if (!republished)
      poll (NULL, 0, 250);
  }
  g_assert_cmpint (republished, >, 0);
  g_test_message ("published again on node 2 %.1f s after the kill",
      (republished - killed) / 1e6);
  /* both players decode again (one more second of video) within 10 s of
   * the new publisher */
  for (i = 0; i < 2; i++)
    n[i] = watch_latest (&watchers[i]);
  for (i = 0; i < 2; i++) {
    gint m = watch_past (&watchers[i], n[i] + 30, 10000);

    resumed = g_get_monotonic_time ();
    g_test_message ("node %u player: %d frames when the new publisher "
        "started, %d %.1f s after it (%.1f s after the kill)", i + 2, n[i], m,
        (resumed - republished) / 1e6, (resumed - killed) / 1e6);
    g_assert_cmpint (m, >, n[i] + 30);
  }
  g_assert_true (wait_stat (&nodes[2], "cluster_upstreams", 1, 10));

  for (i = 0; i < 2; i++)
    proc_end (&watchers[i], SIGKILL);
  proc_end (&pub2, SIGKILL);
  for (i = 0; i < 3; i++)
    proc_end (&nodes[i], SIGTERM);
  proc_end (&redis, SIGTERM);
}

/* SIGTERM with --drain-timeout: the node redirects new clients to the
 * other node, its stream goes on for the players elsewhere, and it stops
 * (exit 0) as soon as its last session has ended */
static void
test_drain (void)
{
  static const gchar *const drain[] = { "--drain-timeout", "30", NULL };
  Proc redis = { 0 }, nodes[2] = { {0} }, pub = { 0 }, player = { 0 };
  Proc watcher = { 0 };
  gchar *line;
  guint16 rport;
  gint n, status;
  gint64 t0;

  if (!have_cluster ())
    return;
  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  node_start_full (&nodes[0], rport, "d1", FALSE, drain);
  node_start (&nodes[1], rport, "d2", FALSE);
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));
  child_spawn (&pub, "publish", nodes[0].addr, "cam", "streaming");
  g_assert_true (wait_stat (&nodes[1], "cluster_streams", 1, 10));
  child_spawn (&watcher, "watch", nodes[1].addr, "cam", "streaming");
  g_assert_cmpint (watch_past (&watcher, 30, 10000), >, 30);

  kill (nodes[0].pid, SIGTERM);
  line = read_line (nodes[0].out, nodes[0].buf, 10000);
  g_assert_cmpstr (line, ==, "draining");
  g_free (line);
  /* a new client asking the draining node plays on the other */
  child_spawn (&player, "play", nodes[0].addr, "cam", "streaming");
  check_player (&player, "player redirected by the draining node");
  line = node_stats (&nodes[0]);
  g_test_message ("draining node: %s", line);
  g_assert_cmpint (stat_field (line, "cluster_redirects"), >=, 1);
  g_assert_cmpint (stat_field (line, "sessions"), ==, 2);
  g_free (line);
  /* the stream went on for the player on the other node */
  n = watch_latest (&watcher);
  g_assert_cmpint (watch_past (&watcher, n + 30, 10000), >, n + 30);

  /* the publisher leaves: the node stops */
  kill (pub.pid, SIGTERM);
  line = read_line (pub.out, pub.buf, 10000);
  g_assert_cmpstr (line, ==, "ended");
  g_free (line);
  t0 = g_get_monotonic_time ();
  line = read_line (nodes[0].out, nodes[0].buf, 15000);
  g_test_message ("draining node: %s %.1f s after its publisher left", line,
      (g_get_monotonic_time () - t0) / 1e6);
  if (!line) {
    g_free (line);
    line = node_stats (&nodes[0]);
    g_test_message ("draining node: %s", line);
    g_free (line);
    line = node_stats (&nodes[1]);
    g_test_message ("other node: %s", line);
    g_free (line);
    line = NULL;
  }
  g_assert_cmpstr (line, ==, "drained 0");
  g_free (line);
  status = wait_exit (nodes[0].pid, 10000);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  nodes[0].pid = 0;
  /* and left the cluster */
  g_assert_true (wait_stat (&nodes[1], "cluster_nodes", 1, 10));

  proc_end (&player, SIGKILL);
  proc_end (&watcher, SIGKILL);
  proc_end (&pub, SIGKILL);
  proc_end (&nodes[0], SIGTERM);
  proc_end (&nodes[1], SIGTERM);
  proc_end (&redis, SIGTERM);
}

static void
expect_startup_error (const gchar * url, const gchar * message)
{
  gchar *argv[] = { (gchar *) RTMFP_SERVER_PATH, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--cluster", (gchar *) url, NULL
  };
  gchar *out = NULL, *err = NULL;
  gint status = 0;

  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, &err, &status, NULL));
  g_test_message ("%s: exit %d, %s", url, status, err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, message));
  g_assert_null (strstr (out, "listening"));
  g_free (out);
  g_free (err);
}

static void
test_bad_input (void)
{
  static const gchar *const garbage[][4] = {
    {"SET", "rtmfp:node:evil", "v1 x 999.1.1.1:0 -1 a b", NULL},
    {"SET", "rtmfp:node:trunc", "v1", NULL},
    {"SET", "rtmfp:node:bad name!", "v1 0011 127.0.0.1:9 1 1 1 1", NULL},
    {"SET", "rtmfp:node:extra", "v1 0011 127.0.0.1:9 1 1 1 1 x", NULL},
    {"SET", "rtmfp:node:huge", "v1 0011 127.0.0.1:9 1 1 99999999999 1",
        NULL},
    {"HSET", "rtmfp:node:hash", "a", "b"},
    {"SET", "rtmfp:stream:4:live/cam", "no such node ! \x01", NULL},
    {"SADD", "rtmfp:stream:4:live/set", "x", NULL},
    {"SET", "rtmfp:stream:999999999999:", "", NULL},
  };
  Proc redis = { 0 }, nodes[2] = { {0} }, pub = { 0 }, player = { 0 };
  guint16 rport, dead;
  gchar *url;
  guint i;

  if (!have_cluster ())
    return;
  expect_startup_error ("redis:/127.0.0.1", "bad --cluster URL");
  expect_startup_error ("redis://127.0.0.1", "bad --cluster URL");
  expect_startup_error ("redis://127.0.0.1:99999", "bad --cluster URL");
  expect_startup_error ("redis://127.0.0.1:6379/x", "bad --cluster URL");
  expect_startup_error ("http://127.0.0.1:6379", "bad --cluster URL");
  dead = free_tcp_port ();
  url = g_strdup_printf ("redis://127.0.0.1:%u", dead);
  expect_startup_error (url, "cannot connect to Redis");
  g_free (url);

  rport = free_tcp_port ();
  if (!redis_start (&redis, rport))
    return;
  for (i = 0; i < G_N_ELEMENTS (garbage); i++) {
    gchar *r = redis_cli (rport, garbage[i]);

    g_free (r);
  }
  node_start (&nodes[0], rport, "x1", FALSE);
  node_start (&nodes[1], rport, "x2", FALSE);
  /* the corrupted entries are not nodes or streams */
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));
  /* what a node registers: "v1 INSTANCE ADDR:PORT SESSIONS PLAYERS KBPS
   * CPU" */
  {
    static const gchar *const get[] = { "GET", "rtmfp:node:x1", NULL };
    gchar *v = redis_cli (rport, get);
    gchar *re = g_strdup_printf ("^v1 [0-9a-f]{16} %s [0-9]+ [0-9]+ [0-9]+ "
        "[0-9]+$", nodes[0].addr);

    g_test_message ("node x1 registered: %s", v);
    g_assert_true (g_regex_match_simple (re, v, 0, 0));
    g_free (re);
    g_free (v);
  }
  {
    gchar *line = node_stats (&nodes[0]);

    g_assert_true (stat_has (line, "cluster_streams=0"));
    g_free (line);
  }
  /* a duplicate node name is refused while the first one lives */
  url = g_strdup_printf ("redis://127.0.0.1:%u", rport);
  {
    gchar *argv[] = { (gchar *) RTMFP_SERVER_PATH, (gchar *) "--rtmfp",
      (gchar *) "127.0.0.1:0", (gchar *) "--cluster", url,
      (gchar *) "--node-name", (gchar *) "x1", NULL
    };
    gchar *out = NULL, *err = NULL;
    gint status = 0;

    g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL,
            NULL, &out, &err, &status, NULL));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_nonnull (strstr (err, "registered by a live node"));
    g_free (out);
    g_free (err);
    g_free (url);
  }
  /* and the cluster works: published on x1, played on x2 */
  child_spawn (&pub, "publish", nodes[0].addr, "cam", "streaming");
  child_spawn (&player, "play", nodes[1].addr, "cam", "streaming");
  check_player (&player, "player next to corrupted entries");
  /* corrupting our own stream entry mid-stream does not crash a node */
  {
    static const gchar *const evil[] = { "SET", "rtmfp:stream:4:live/cam",
      "\xff\xfe garbage", NULL
    };
    gchar *r = redis_cli (rport, evil);

    g_free (r);
  }
  g_assert_true (wait_stat (&nodes[1], "cluster_nodes", 2, 10));
  g_assert_true (wait_stat (&nodes[0], "cluster_nodes", 2, 10));
  proc_end (&player, SIGKILL);
  proc_end (&pub, SIGKILL);
  for (i = 0; i < 2; i++) {
    kill (nodes[i].pid, SIGTERM);
    g_assert_cmpint (wait_exit (nodes[i].pid, 10000), ==, 0);
    nodes[i].pid = 0;
    proc_end (&nodes[i], SIGTERM);
  }
  proc_end (&redis, SIGTERM);
}

int
main (int argc, char **argv)
{
  self_path = g_canonicalize_filename (argv[0], NULL);
  if (argc >= 6 && g_str_equal (argv[1], "--child"))
    return run_child (argv[2], argv[3], argv[4], atoi (argv[5]));

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cluster/relay", test_relay);
  g_test_add_func ("/cluster/keyframe-upstream", test_keyframe_upstream);
  g_test_add_func ("/cluster/redirect", test_redirect);
  g_test_add_func ("/cluster/origin-dies", test_origin_dies);
  g_test_add_func ("/cluster/drain", test_drain);
  g_test_add_func ("/cluster/redis-outage", test_redis_outage);
  g_test_add_func ("/cluster/takeover-during-outage",
      test_takeover_during_outage);
  g_test_add_func ("/cluster/bad-input", test_bad_input);
  return g_test_run ();
}
