/* rtmfp-server's RTMP listener, the real binary with real GStreamer
 * clients: `rtmfp-server --rtmfp 127.0.0.1:0 --rtmp 127.0.0.1:0` on
 * loopback, H.264 from videotestsrc ! x264enc ! flvmux, published with
 * rtmp2sink (or rtmfpsink) and played with rtmp2src (or rtmfpsrc), each in
 * a gst-launch-1.0 process; every decoded frame is counted at a fakesink
 * (gst-launch -v prints one line per buffer).
 *
 *   rtmp2sink -> rtmp2src    the RTMP listener, chunking, relay
 *   rtmfpsink -> rtmp2src    RTMFP publisher, RTMP player
 *   rtmp2sink -> rtmfpsrc    RTMP publisher, RTMFP player
 *
 * The rtmfp elements are taken from the build tree (ext/rtmfp).  Our own
 * server and elements missing is a failure; a test that needs a system
 * element or tool that is missing is skipped, saying which, or fails
 * under RTMFP_CI (testci.h).  Every wait is bounded, ports are ephemeral,
 * the server is stopped (SIGTERM, SIGKILL if it hangs) at the end of each
 * test.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE             /* dladdr */
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <dlfcn.h>
#include <unistd.h>
#include <poll.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <glib.h>
#include <gio/gio.h>
#include "testproc.h"
#include "testci.h"


#define N_FRAMES 90

/* ------------------------------------------------------------------------ */
/* The server process */

typedef struct {
  GPid pid;
  gint out_fd;
  GString *buf;
  guint udp_port;
  guint tcp_port;
} Server;

static guint
parse_port (const gchar * line, const gchar * prefix)
{
  guint64 v;

  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, prefix));
  v = g_ascii_strtoull (line + strlen (prefix), NULL, 10);
  g_assert_cmpuint (v, >, 0);
  g_assert_cmpuint (v, <, 65536);
  return (guint) v;
}

/* The server dies with us, even when an assertion aborts the test (it
 * must not keep the test's output pipes open) */
static void
child_setup (gpointer data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* meson builds rtmfp-server before this test runs (a test dependency):
 * missing, it is a broken build, never a skip */
static gboolean
server_binary_exists (void)
{
  if (g_file_test (RTMFP_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE))
    return TRUE;
  g_test_fail_printf ("rtmfp-server is not built: %s", RTMFP_SERVER_PATH);
  return FALSE;
}

/* Starts rtmfp-server on loopback, ephemeral ports, both listeners; reads
 * the two "listening" lines */
static void
server_start (Server * s)
{
  gchar *argv[] = { (gchar *) RTMFP_SERVER_PATH, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--rtmp", (gchar *) "127.0.0.1:0",
    NULL
  };
  GError *err = NULL;
  gchar *line;

  memset (s, 0, sizeof (*s));
  s->buf = g_string_new (NULL);
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, &s->pid, NULL,
          &s->out_fd, NULL, &err));
  g_assert_no_error (err);
  line = read_line (s->out_fd, s->buf, 10000);
  g_test_message ("%s", line ? line : "(nothing)");
  s->udp_port = parse_port (line, "listening rtmfp 127.0.0.1:");
  g_free (line);
  line = read_line (s->out_fd, s->buf, 10000);
  g_test_message ("%s", line ? line : "(nothing)");
  s->tcp_port = parse_port (line, "listening rtmp 127.0.0.1:");
  g_free (line);
}

/* SIGUSR1 -> the stats line */
static gchar *
server_stats (Server * s)
{
  gchar *line;

  kill (s->pid, SIGUSR1);
  while ((line = read_line (s->out_fd, s->buf, 10000))) {
    if (g_str_has_prefix (line, "stats "))
      return line;
    g_free (line);
  }
  g_assert_not_reached ();
  return NULL;
}

/* The value of " key=N" in a stats line */
static guint64
stats_value (const gchar * line, const gchar * key)
{
  gchar *pat = g_strdup_printf (" %s=", key);
  const gchar *p = strstr (line, pat);
  guint64 v;

  g_assert_nonnull (p);
  v = g_ascii_strtoull (p + strlen (pat), NULL, 10);
  g_free (pat);
  return v;
}

/* SIGTERM: exits 0 within the bound (else killed, and the test fails) */
static void
server_stop (Server * s)
{
  gint status;

  kill (s->pid, SIGTERM);
  status = wait_exit (s->pid, 10000);
  if (status == -1) {
    kill (s->pid, SIGKILL);
    wait_exit (s->pid, 5000);
  }
  g_spawn_close_pid (s->pid);
  close (s->out_fd);
  g_string_free (s->buf, TRUE);
  g_assert_cmpint (status, !=, -1);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* ------------------------------------------------------------------------ */

static void
test_listen (void)
{
  Server s;
  gchar *line;
  GError *err = NULL;

  if (!server_binary_exists ())
    return;
  server_start (&s);
  g_assert_cmpuint (s.udp_port, !=, 0);
  /* a TCP client connects and goes: counted, then gone */
  {
    GSocketClient *sc = g_socket_client_new ();
    GSocketConnection *conn;
    gchar *host = g_strdup_printf ("127.0.0.1:%u", s.tcp_port);
    static const guint8 c0 = 3;
    guint8 c1[1536] = { 0 };
    guint8 s012[3073];
    GInputStream *in;
    gsize got = 0;

    g_socket_client_set_timeout (sc, 10);
    conn = g_socket_client_connect_to_host (sc, host, 0, NULL, &err);
    g_assert_no_error (err);
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM
            (conn)), &c0, 1, NULL, NULL, &err);
    g_assert_no_error (err);
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM
            (conn)), c1, sizeof (c1), NULL, NULL, &err);
    g_assert_no_error (err);
    /* S0, S1, S2 (an echo of C1) */
    in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
    g_assert_true (g_input_stream_read_all (in, s012, sizeof (s012), &got,
            NULL, &err));
    g_assert_no_error (err);
    g_assert_cmpuint (got, ==, sizeof (s012));
    g_assert_cmpuint (s012[0], ==, 3);
    g_assert_cmpmem (s012 + 1537, 1536, c1, 1536);
    line = server_stats (&s);
    g_test_message ("%s", line);
    g_assert_cmpuint (stats_value (line, "rtmp_connections"), ==, 1);
    g_assert_cmpuint (stats_value (line, "rtmp_bytes_out"), ==, 3073);
    g_free (line);
    g_object_unref (conn);
    g_object_unref (sc);
    g_free (host);
  }
  /* closed on the server side too (bounded wait) */
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    guint64 n = 1;

    while (n != 0 && g_get_monotonic_time () < end) {
      line = server_stats (&s);
      n = stats_value (line, "rtmp_connections");
      g_free (line);
      if (n)
        poll (NULL, 0, 20);
    }
    g_assert_cmpuint (n, ==, 0);
  }
  server_stop (&s);

  /* bad --rtmp, and a TCP port that is taken: exit status 1 */
  {
    GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new (lo, 0);
    gchar *taken, *serr = NULL;
    gchar *argv[] = { (gchar *) RTMFP_SERVER_PATH, (gchar *) "--rtmfp",
      (gchar *) "127.0.0.1:0", (gchar *) "--rtmp", NULL, NULL
    };
    gint st;

    g_assert_true (g_socket_bind (sock, sa, FALSE, NULL));
    g_assert_true (g_socket_listen (sock, NULL));
    g_object_unref (sa);
    sa = g_socket_get_local_address (sock, NULL);
    taken = g_strdup_printf ("127.0.0.1:%u",
        g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa)));
    argv[4] = taken;
    g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT,
            child_setup, NULL, NULL, &serr, &st, &err));
    g_assert_no_error (err);
    g_assert_true (WIFEXITED (st));
    g_assert_cmpint (WEXITSTATUS (st), ==, 1);
    g_assert_nonnull (strstr (serr, "cannot listen"));
    g_free (serr);

    argv[4] = (gchar *) "127.0.0.1";
    g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT,
            child_setup, NULL, NULL, &serr, &st, &err));
    g_assert_no_error (err);
    g_assert_true (WIFEXITED (st));
    g_assert_cmpint (WEXITSTATUS (st), ==, 1);
    g_assert_nonnull (strstr (serr, "bad address"));
    g_free (serr);
    g_free (taken);
    g_object_unref (sa);
    g_object_unref (lo);
    g_object_unref (sock);
  }
}

/* ------------------------------------------------------------------------ */
/* GStreamer clients: gst-launch-1.0 processes (so that this process, and
 * the server's, hold nothing of GStreamer's: under AddressSanitizer the
 * server is checked for leaks, the system's GStreamer is not) */

static gchar **client_env;      /* our plugins and a registry of our own */

static void
client_env_init (void)
{
  gchar *tools = g_path_get_dirname (RTMFP_SERVER_PATH);
  gchar *build = g_build_filename (tools, "..", "..", NULL);
  gchar *plugins = g_build_filename (build, "ext", "rtmfp", NULL);
  gchar *registry = g_build_filename (build, "tests", "check", "libs",
      "test-server-rtmp.registry", NULL);
  const gchar *old;
  gchar *path;

  client_env = g_get_environ ();
  old = g_environ_getenv (client_env, "GST_PLUGIN_PATH_1_0");
  path = old && *old ? g_strconcat (plugins, ":", old, NULL) :
      g_strdup (plugins);
  client_env = g_environ_setenv (client_env, "GST_PLUGIN_PATH_1_0", path,
      TRUE);
  client_env = g_environ_setenv (client_env, "GST_REGISTRY_1_0", registry,
      FALSE);
#ifdef __SANITIZE_ADDRESS__
  {
    /* in an AddressSanitizer build the uninstrumented gst-launch-1.0 /
     * gst-inspect-1.0 need the ASan runtime first to load our plugin
     * (and libstdc++ loaded with it, or ASan's __cxa_throw interceptor
     * has nothing to call when C++ code they load later, libproxy, throws);
     * what they leak themselves is not ours (the server is checked) */
    extern void __asan_init (void);
    Dl_info info;

    if (dladdr ((void *) __asan_init, &info) && info.dli_fname) {
      gchar *preload = g_strconcat (info.dli_fname, " libstdc++.so.6", NULL);

      client_env = g_environ_setenv (client_env, "LD_PRELOAD", preload, TRUE);
      g_free (preload);
      client_env = g_environ_setenv (client_env, "ASAN_OPTIONS",
          "detect_leaks=0:abort_on_error=1", TRUE);
    }
  }
#endif
  g_free (path);
  g_free (registry);
  g_free (plugins);
  g_free (build);
  g_free (tools);
}

/* Ours: found in the build tree (client_env), or the build is broken */
static gboolean
is_our_element (const gchar * name)
{
  return g_str_has_prefix (name, "rtmfp");
}

/* TRUE if gst-launch-1.0 and all these elements are there.  Else: one of
 * ours missing fails the test (when the plugin was built; without it,
 * -Dgst=disabled, the test is skipped like for a system element); a
 * system element or tool missing skips it, saying what is missing, or
 * fails it under RTMFP_CI */
static gboolean
have_elements (const gchar * const *names)
{
  gchar *launch = g_find_program_in_path ("gst-launch-1.0");
  gchar *inspect = g_find_program_in_path ("gst-inspect-1.0");
  gchar *why = NULL;
  gboolean ours = FALSE;
  guint i;

  if (!launch || !inspect)
    why = g_strdup ("gst-launch-1.0 / gst-inspect-1.0 are not installed");
  for (i = 0; !why && names[i]; i++) {
    /* any version (the default is at least GStreamer's own, which our
     * plugin's 0.x is not) */
    gchar *argv[] = { inspect, (gchar *) "--exists",
      (gchar *) "--atleast-version=0.0", (gchar *) names[i], NULL
    };
    gint st = -1;

    if (!g_spawn_sync (NULL, argv, client_env, G_SPAWN_STDOUT_TO_DEV_NULL |
            G_SPAWN_STDERR_TO_DEV_NULL, child_setup, NULL, NULL, NULL, &st,
            NULL) || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
      ours = is_our_element (names[i]);
      why = g_strdup_printf ("GStreamer element %s is not available",
          names[i]);
    }
  }
  g_free (launch);
  g_free (inspect);
  if (!why)
    return TRUE;
#ifdef RTMFP_PLUGIN_BUILT
  if (ours) {
    g_test_fail_printf ("%s: our plugin was built but is not found in the "
        "build tree", why);
    g_free (why);
    return FALSE;
  }
#else
  if (ours) {
    g_free (why);
    why = g_strdup ("the rtmfp plugin is not built (-Dgst=disabled)");
  }
#endif
  test_skip_or_fail (why);
  g_free (why);
  return FALSE;
}

typedef struct {
  GPid pid;
  gint out_fd;                  /* -1: not read */
  GString *buf;
  gint status;                  /* -1 while running */
} Proc;

static void
proc_start (Proc * p, const gchar * desc, gboolean verbose)
{
  gchar **argv;
  GError *err = NULL;
  gchar *cmd = g_strdup_printf ("gst-launch-1.0 %s %s", verbose ? "-v" :
      "-q", desc);

  g_test_message ("%s", cmd);
  g_assert_true (g_shell_parse_argv (cmd, NULL, &argv, &err));
  g_assert_no_error (err);
  memset (p, 0, sizeof (*p));
  p->status = -1;
  p->out_fd = -1;
  p->buf = g_string_new (NULL);
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, client_env,
          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH |
          (verbose ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL), child_setup, NULL,
          &p->pid, NULL, verbose ? &p->out_fd : NULL, NULL, &err));
  g_assert_no_error (err);
  g_strfreev (argv);
  g_free (cmd);
}

/* Has it exited (status kept)? */
static gboolean
proc_exited (Proc * p)
{
  gint st;

  if (p->status == -1 && waitpid (p->pid, &st, WNOHANG) == p->pid)
    p->status = st;
  return p->status != -1;
}

/* Ends it (SIGINT, then SIGKILL) unless it has exited; TRUE if it was
 * still running */
static gboolean
proc_stop (Proc * p)
{
  gboolean running = !proc_exited (p);

  if (running) {
    kill (p->pid, SIGINT);
    p->status = wait_exit (p->pid, 5000);
    if (p->status == -1) {
      kill (p->pid, SIGKILL);
      p->status = wait_exit (p->pid, 5000);
    }
  }
  g_spawn_close_pid (p->pid);
  if (p->out_fd >= 0)
    close (p->out_fd);
  g_string_free (p->buf, TRUE);
  return running;
}

/* Waits (bounded) until the server has this many players */
static void
wait_players (Server * s, guint64 want)
{
  gint64 end = g_get_monotonic_time () + 15 * G_TIME_SPAN_SECOND;
  guint64 n = G_MAXUINT64;

  while (g_get_monotonic_time () < end) {
    gchar *line = server_stats (s);

    n = stats_value (line, "players");
    g_free (line);
    if (n == want)
      return;
    poll (NULL, 0, 50);
  }
  g_assert_cmpuint (n, ==, want);
}

#define ENCODE "videotestsrc num-buffers=" G_STRINGIFY (N_FRAMES) \
    " is-live=true ! video/x-raw,format=I420,width=320,height=240," \
    "framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 " \
    "speed-preset=ultrafast ! h264parse ! flvmux streamable=true ! "
/* one decoding thread: no frame threading, whose delay would keep the
 * last frame in the decoder of a player that gets no EOS; every decoded
 * frame is one "last-message = chain" line of gst-launch -v */
#define DECODE " ! flvdemux ! h264parse ! avdec_h264 max-threads=1 ! " \
    "fakesink silent=false sync=false"

/* The player waits for the stream; the publisher sends N_FRAMES at 30 fps
 * and ends; the player must have decoded every frame */
static void
run_relay (const gchar * sink_kind, const gchar * src_kind)
{
  static const gchar *const common[] = { "videotestsrc", "x264enc",
    "h264parse", "flvmux", "flvdemux", "avdec_h264", "fakesink", NULL
  };
  const gchar *const need[] = { sink_kind, src_kind, NULL };
  gboolean src_rtmfp = g_str_has_prefix (src_kind, "rtmfp");
  gboolean sink_rtmfp = g_str_has_prefix (sink_kind, "rtmfp");
  Server s;
  gchar *pub_desc, *play_desc, *line;
  Proc play, pub;
  gint64 end;
  guint frames = 0;
  gboolean play_running;

  if (!server_binary_exists ())
    return;
  if (!have_elements (common) || !have_elements (need))
    return;

  server_start (&s);
  play_desc = g_strdup_printf ("%s location=%s://127.0.0.1:%u/live/test"
      DECODE, src_kind, src_rtmfp ? "rtmfp" : "rtmp",
      src_rtmfp ? s.udp_port : s.tcp_port);
  pub_desc = g_strdup_printf (ENCODE "%s location=%s://127.0.0.1:%u/live/test",
      sink_kind, sink_rtmfp ? "rtmfp" : "rtmp",
      sink_rtmfp ? s.udp_port : s.tcp_port);

  proc_start (&play, play_desc, TRUE);
  /* the player waits for a publisher: it is a relay player */
  wait_players (&s, 1);
  proc_start (&pub, pub_desc, FALSE);

  /* frames as they are decoded, until all came or the publisher is long
   * gone (bounded) */
  end = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  while (frames < N_FRAMES && g_get_monotonic_time () < end) {
    gchar *l = read_line (play.out_fd, play.buf, 100);

    if (l) {
      if (strstr (l, "last-message = chain"))
        frames++;
      else if (strstr (l, "ERROR"))
        g_test_message ("player: %s", l);
      g_free (l);
    } else if (proc_exited (&play)) {
      break;
    }
    if (proc_exited (&pub) && end - g_get_monotonic_time () >
        10 * G_TIME_SPAN_SECOND)
      end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  }
  /* the publisher ends by itself (EOS after N_FRAMES) */
  end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  while (!proc_exited (&pub) && g_get_monotonic_time () < end)
    poll (NULL, 0, 20);
  g_test_message ("%s -> %s: %u of %u frames decoded", sink_kind, src_kind,
      frames, N_FRAMES);

  line = server_stats (&s);
  g_test_message ("%s", line);
  g_assert_cmpuint (stats_value (line, "messages_in"), >=, N_FRAMES);
  if (!src_rtmfp)
    g_assert_cmpuint (stats_value (line, "players"), ==, 1);
  g_free (line);

  play_running = proc_stop (&play);
  g_assert_true (proc_stop (&pub) == FALSE);
  g_assert_true (WIFEXITED (pub.status));
  g_assert_cmpint (WEXITSTATUS (pub.status), ==, 0);
  /* no loss on loopback: every frame, all of them decodable (the player
   * joined before the first keyframe), the last one too (rtmfpsink's
   * deleteStream at EOS may overtake it: the server keeps the publication
   * until the publisher's flows are complete) */
  g_assert_cmpuint (frames, ==, N_FRAMES);
  /* the publisher went, the RTMP player stays for the next one: it got
   * UnpublishNotify but no StreamEOF (on which rtmp2src ends) */
  if (!src_rtmfp)
    g_assert_true (play_running);

  g_free (pub_desc);
  g_free (play_desc);
  server_stop (&s);
}

static void
test_rtmp_to_rtmp (void)
{
  run_relay ("rtmp2sink", "rtmp2src");
}

static void
test_rtmfp_to_rtmp (void)
{
  run_relay ("rtmfpsink", "rtmp2src");
}

static void
test_rtmp_to_rtmfp (void)
{
  run_relay ("rtmp2sink", "rtmfpsrc");
}

int
main (int argc, char **argv)
{
  gint ret;

  /* a reader of our pipes that went away must not kill us */
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  client_env_init ();
  g_test_add_func ("/server-rtmp/listen", test_listen);
  g_test_add_func ("/server-rtmp/rtmp2sink-rtmp2src", test_rtmp_to_rtmp);
  g_test_add_func ("/server-rtmp/rtmfpsink-rtmp2src", test_rtmfp_to_rtmp);
  g_test_add_func ("/server-rtmp/rtmp2sink-rtmfpsrc", test_rtmp_to_rtmfp);
  ret = g_test_run ();
  g_strfreev (client_env);
  return ret;
}
