/* Vanished players leave the real rtmfp-server (issue 15): a publisher and
 * five players, each a child process (this binary with --child) running
 * the core's NetConnection client on a real UDP socket over loopback; the
 * players are killed with SIGKILL, and the server's counts (sessions,
 * players, from its SIGUSR1 stats line) drop within seconds: the relay's
 * media to them is unacknowledged, and the ICMP port unreachable each
 * datagram to a closed port draws shortens the wait (rtmfpnet's error
 * queue, the session's dead peer detection, --dead-peer-timeout).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "test-server-players"

#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>

#include "rtmfptcclient.h"
#include "testproc.h"

#define SEC G_TIME_SPAN_SECOND
#define MS G_TIME_SPAN_MILLISECOND
#define N_PLAYERS 5
/* a child never outlives a failed test by long */
#define CHILD_MAX_S 120

static const gchar *self_path;

/* ------------------------------ children ----------------------------- */

typedef struct {
  GSocket *sock;
  RtmfpEndpoint *ep;
  RtmfpTcClient *c;
  gboolean publisher;
  gboolean announced;
  guint64 frame;
  gint64 t0;
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
  }
  if (state == RTMFP_TC_CLIENT_STATE_FAILED ||
      state == RTMFP_TC_CLIENT_STATE_CLOSED) {
    printf ("ended\n");
    fflush (stdout);
    exit (3);
  }
}

/* Publisher: 30 fps video (5 KB, a keyframe every 30) and audio every
 * 20 ms, from the time it is streaming */
static void
child_publish_due (Child * ch, gint64 now)
{
  static guint8 frame[5000];

  while (ch->announced && ch->t0 + (gint64) ch->frame * SEC / 30 <= now) {
    guint32 ts = (guint32) (ch->frame * 1000 / 30);
    gboolean key = ch->frame % 30 == 0;

    frame[0] = key ? 0x17 : 0x27;
    rtmfp_tc_client_send (ch->c, RTMFP_TC_MSG_VIDEO, ts, frame,
        sizeof frame, key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, now);
    frame[0] = 0xb2;
    rtmfp_tc_client_send (ch->c, RTMFP_TC_MSG_AUDIO, ts, frame, 60, 0, now);
    ch->frame++;
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
run_child (const gchar * role, const gchar * server)
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
  ch.publisher = g_str_equal (role, "publish");
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
  ccfg.stream = "cam";
  ccfg.timeout_us = 30 * SEC;
  cb.state_changed = child_state;
  ch.c = rtmfp_tc_client_new (&ccfg, &cb, &ch, child_clock, NULL);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = FALSE;
  ch.ep = rtmfp_endpoint_new (&ecfg, rtmfp_tc_client_get_endpoint_callbacks
      (), ch.c, child_send, &ch);
  if (!ch.ep || !rtmfp_tc_client_start (ch.c, ch.ep, &addr, 1,
          g_get_monotonic_time ()))
    return 2;

  while (g_get_monotonic_time () < end) {
    gint64 now = g_get_monotonic_time (), wake = now + 100 * MS, t;
    struct pollfd pfd = { g_socket_get_fd (ch.sock), POLLIN, 0 };
    GSocketAddress *from = NULL;
    gssize len;

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
  GString *buf;
} Proc;

/* In the child: die with the test (a failed assertion aborts it) */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
proc_spawn (Proc * p, gchar ** argv)
{
  GError *err = NULL;

  p->buf = g_string_new (NULL);
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent, NULL, &p->pid, NULL,
          &p->out, NULL, &err));
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
  p->out = -1;
  if (p->buf)
    g_string_free (p->buf, TRUE);
  p->buf = NULL;
}

static void
child_spawn (Proc * p, const gchar * role, const gchar * server)
{
  gchar *argv[] = { (gchar *) self_path, (gchar *) "--child", (gchar *) role,
    (gchar *) server, NULL
  };
  gchar *line;

  proc_spawn (p, argv);
  line = read_line (p->out, p->buf, 30000);
  g_assert_cmpstr (line, ==, "streaming");
  g_free (line);
}

/* The server's counts: "stats sessions=N ... players=N ..." */
static void
server_counts (Proc * srv, guint * sessions, guint * players)
{
  gchar *line, *s;

  kill (srv->pid, SIGUSR1);
  line = read_line (srv->out, srv->buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "stats sessions="));
  *sessions = atoi (line + strlen ("stats sessions="));
  s = strstr (line, " players=");
  g_assert_nonnull (s);
  *players = atoi (s + strlen (" players="));
  g_free (line);
}

static void
test_killed_players_leave (void)
{
  const gchar *path = RTMFP_SERVER_PATH;
  gchar *argv[] = { (gchar *) path, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--dead-peer-timeout",
    (gchar *) "3000", NULL
  };
  Proc srv = { 0 }, pub = { 0 }, players[N_PLAYERS] = { {0} };
  gchar *line, *server;
  guint sessions = 0, n_players = 0, i;
  gint64 t0, took = -1;

  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE)) {
    /* built together with this test; its absence is a failure */
    g_error ("rtmfp-server is not built at %s", path);
  }
  proc_spawn (&srv, argv);
  line = read_line (srv.out, srv.buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening rtmfp "));
  server = g_strdup (line + strlen ("listening rtmfp "));
  g_free (line);

  child_spawn (&pub, "publish", server);
  for (i = 0; i < N_PLAYERS; i++)
    child_spawn (&players[i], "play", server);
  /* every player is in the relay (bounded wait) */
  for (i = 0; i < 100; i++) {
    server_counts (&srv, &sessions, &n_players);
    if (n_players == N_PLAYERS)
      break;
    poll (NULL, 0, 100);
  }
  g_test_message ("before: sessions %u, players %u", sessions, n_players);
  g_assert_cmpuint (n_players, ==, N_PLAYERS);
  g_assert_cmpuint (sessions, ==, N_PLAYERS + 1);

  for (i = 0; i < N_PLAYERS; i++)
    kill (players[i].pid, SIGKILL);
  t0 = g_get_monotonic_time ();
  /* poll the counts every 100 ms for at most 20 s */
  for (i = 0; i < 200; i++) {
    server_counts (&srv, &sessions, &n_players);
    if (n_players == 0 && sessions == 1) {
      took = g_get_monotonic_time () - t0;
      break;
    }
    poll (NULL, 0, 100);
  }
  g_test_message ("after SIGKILL: sessions %u, players %u, gone after %"
      G_GINT64_FORMAT " ms (issue 15: 42-47 s before)", sessions, n_players,
      took / 1000);
  g_assert_cmpint (took, >=, 0);
  /* --dead-peer-timeout 3000, shortened by the ICMP port unreachable;
   * headroom for a loaded machine */
  g_assert_cmpint (took, <, 5 * SEC);

  for (i = 0; i < N_PLAYERS; i++)
    proc_end (&players[i], SIGKILL);
  proc_end (&pub, SIGKILL);
  proc_end (&srv, SIGTERM);
  g_free (server);
}

int
main (int argc, char **argv)
{
  self_path = g_canonicalize_filename (argv[0], NULL);
  if (argc >= 4 && g_str_equal (argv[1], "--child"))
    return run_child (argv[2], argv[3]);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server-players/killed-players-leave",
      test_killed_players_leave);
  return g_test_run ();
}
