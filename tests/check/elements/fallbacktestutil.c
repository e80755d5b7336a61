/* Scaffolding of the fallback tests (see fallbacktestutil.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <glib/gstdio.h>

#include "fallbacktestutil.h"

gchar *nginx_path, *nginx_module;
const gchar *interop_skip;      /* why the interop tests are out */
const gchar *midstream_skip;    /* why the mid-stream ones are */
gchar *build_dir;               /* the test program's directory */

void
kill_and_reap (GSubprocess * p)
{
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, NULL);
  g_object_unref (p);
}

/* A port free for both TCP and UDP on 127.0.0.1 */
guint16
free_port (void)
{
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint16 port = 0;
  guint tries;

  for (tries = 0; tries < 50 && !port; tries++) {
    GSocket *t = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, NULL);
    GSocket *u = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
        G_SOCKET_PROTOCOL_UDP, NULL);
    GSocketAddress *a = g_inet_socket_address_new (lo, 0), *got, *ua;
    guint16 p;

    if (g_socket_bind (t, a, FALSE, NULL)) {
      got = g_socket_get_local_address (t, NULL);
      p = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (got));
      ua = g_inet_socket_address_new (lo, p);

      if (g_socket_bind (u, ua, FALSE, NULL))
        port = p;
      g_object_unref (ua);
      g_object_unref (got);
    }
    g_object_unref (a);
    g_object_unref (t);
    g_object_unref (u);
  }
  g_object_unref (lo);
  fail_unless (port != 0, "no free port");
  return port;
}

/* Waits (bounded) until something accepts TCP connections on port */
gboolean
wait_tcp (guint16 port, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  GSocketClient *c = g_socket_client_new ();
  gboolean ok = FALSE;

  while (!ok && g_get_monotonic_time () < end) {
    GSocketConnection *conn = g_socket_client_connect_to_host (c,
        "127.0.0.1", port, NULL, NULL);

    if (conn) {
      ok = TRUE;
      g_object_unref (conn);
    } else {
      g_usleep (20 * 1000);
    }
  }
  g_object_unref (c);
  return ok;
}


Nginx *
nginx_start (guint16 port)
{
  Nginx *n = g_new0 (Nginx, 1);
  gchar *conf, *conf_path, *logs, *errlog;
  GError *err = NULL;

  n->dir = g_strdup_printf ("%s/rtmfpautosink-nginx-%d", build_dir,
      (gint) getpid ());
  logs = g_build_filename (n->dir, "logs", NULL);
  fail_unless (g_mkdir_with_parents (logs, 0755) == 0);
  errlog = g_build_filename (logs, "error.log", NULL);
  conf = g_strdup_printf ("load_module %s;\n"
      "daemon off;\n"
      "master_process off;\n"
      "worker_processes 1;\n"
      "error_log %s info;\n"
      "pid %s/nginx.pid;\n"
      "events { worker_connections 64; }\n"
      "rtmp {\n"
      "  server {\n"
      "    listen 127.0.0.1:%u;\n"
      "    application live { live on; }\n"
      "  }\n"
      "}\n", nginx_module, errlog, n->dir, port);
  conf_path = g_build_filename (n->dir, "nginx.conf", NULL);
  fail_unless (g_file_set_contents (conf_path, conf, -1, &err));
  {
    const gchar *argv[] = { nginx_path, "-e", errlog, "-p", n->dir, "-c",
      conf_path, NULL
    };
    n->proc = spawn (argv, G_SUBPROCESS_FLAGS_NONE);
  }
  fail_unless (wait_tcp (port, 10 * SEC), "nginx does not listen on %u "
      "(see %s)", port, errlog);
  g_free (conf);
  g_free (conf_path);
  g_free (logs);
  g_free (errlog);
  return n;
}

/* Stops nginx and removes its directory (kept when a test failed) */
void
nginx_stop (Nginx * n)
{
  static const gchar *const files[] = { "logs/error.log", "logs",
    "nginx.conf", "nginx.pid", ""
  };
  guint i;

  kill_and_reap (n->proc);
  for (i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *f = g_build_filename (n->dir, files[i], NULL);

    g_remove (f);
    g_free (f);
  }
  g_free (n->dir);
  g_free (n);
}


static void
on_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  Counter *c = data;

  g_mutex_lock (&c->lock);
  c->frames++;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

/* Plays location with src_factory, counts decoded frames: TRUE once
 * there are n of them (bounded wait) */
gboolean
play_and_count (const gchar * src_factory, const gchar * location, guint n,
    gint64 timeout_us, guint * got)
{
  gchar *desc = g_strdup_printf ("%s location=%s ! flvdemux ! h264parse ! "
      "avdec_h264 ! fakesink name=out signal-handoffs=true sync=false",
      src_factory, location);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *out;
  Counter c = { 0 };
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok = TRUE;

  fail_unless (pipe != NULL, "cannot make %s", desc);
  out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  g_mutex_init (&c.lock);
  g_cond_init (&c.cond);
  g_signal_connect (out, "handoff", G_CALLBACK (on_handoff), &c);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  g_mutex_lock (&c.lock);
  while (c.frames < n && ok)
    ok = g_cond_wait_until (&c.cond, &c.lock, end);
  *got = c.frames;
  g_mutex_unlock (&c.lock);
  gst_element_set_state (pipe, GST_STATE_NULL);
  g_signal_handlers_disconnect_by_data (out, &c);
  gst_object_unref (out);
  gst_object_unref (pipe);
  g_mutex_clear (&c.lock);
  g_cond_clear (&c.cond);
  g_free (desc);
  return *got >= n;
}

gchar *
server_path (void)
{
  const gchar *env = g_getenv ("RTMFP_SERVER");

  if (env)
    return g_strdup (env);
  return g_build_filename (build_dir, "..", "..", "tools", "rtmfp-server",
      "rtmfp-server", NULL);
}


static gpointer
read_line_thread (gpointer data)
{
  GDataInputStream *in = data;
  LineRead *lr = g_object_get_data (G_OBJECT (in), "lr");
  gchar *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);

  g_mutex_lock (&lr->lock);
  lr->line = line;
  lr->done = TRUE;
  g_cond_broadcast (&lr->cond);
  g_mutex_unlock (&lr->lock);
  return NULL;
}

/* rtmfp-server on 127.0.0.1:port (UDP), once it says it listens */
GSubprocess *
rtmfp_server_start (guint16 port)
{
  gchar *path = server_path (), *addr;
  GSubprocess *p;
  GDataInputStream *in;
  LineRead lr = { 0 };
  GThread *t;
  gint64 end = g_get_monotonic_time () + 10 * SEC;
  gchar *expect;

  addr = g_strdup_printf ("127.0.0.1:%u", port);
  {
    const gchar *argv[] = { path, "--rtmfp", addr, NULL };
    p = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  }
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_mutex_init (&lr.lock);
  g_cond_init (&lr.cond);
  g_object_set_data (G_OBJECT (in), "lr", &lr);
  t = g_thread_new ("read-line", read_line_thread, in);
  g_mutex_lock (&lr.lock);
  while (!lr.done && g_cond_wait_until (&lr.cond, &lr.lock, end));
  g_mutex_unlock (&lr.lock);
  if (!lr.done)
    g_subprocess_force_exit (p);        /* the read ends with the pipe */
  g_thread_join (t);
  expect = g_strdup_printf ("listening rtmfp %s", addr);
  fail_unless (lr.line && g_str_equal (lr.line, expect),
      "rtmfp-server said \"%s\"", GST_STR_NULL (lr.line));
  g_free (expect);
  g_free (lr.line);
  g_mutex_clear (&lr.lock);
  g_cond_clear (&lr.cond);
  g_object_unref (in);
  g_free (addr);
  g_free (path);
  return p;
}

/* ------------------------------------------------------------------ */
/* mid-stream failure: the RTMFP side of rtmfp-server stops answering,
 * its RTMP side stays                                                 */

/* rtmfp-server with both listeners on ephemeral ports (bounded wait for
 * its two "listening" lines) */
static gpointer
read_two_lines_thread (gpointer data)
{
  GDataInputStream *in = data;
  LineRead *lr = g_object_get_data (G_OBJECT (in), "lr");
  gchar *a = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  gchar *b = a ? g_data_input_stream_read_line (in, NULL, NULL, NULL) : NULL;

  g_mutex_lock (&lr->lock);
  lr->line = g_strdup_printf ("%s\n%s", GST_STR_NULL (a), GST_STR_NULL (b));
  lr->done = TRUE;
  g_cond_broadcast (&lr->cond);
  g_mutex_unlock (&lr->lock);
  g_free (a);
  g_free (b);
  return NULL;
}

GSubprocess *
dual_server_start (guint16 * rtmfp_port, guint16 * rtmp_port)
{
  gchar *path = server_path ();
  GSubprocess *p;
  GDataInputStream *in;
  LineRead lr = { 0 };
  GThread *t;
  gint64 end = g_get_monotonic_time () + 10 * SEC;
  gchar **lines;

  {
    const gchar *argv[] = { path, "--rtmfp", "127.0.0.1:0", "--rtmp",
      "127.0.0.1:0", NULL
    };
    p = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  }
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_mutex_init (&lr.lock);
  g_cond_init (&lr.cond);
  g_object_set_data (G_OBJECT (in), "lr", &lr);
  t = g_thread_new ("read-lines", read_two_lines_thread, in);
  g_mutex_lock (&lr.lock);
  while (!lr.done && g_cond_wait_until (&lr.cond, &lr.lock, end));
  g_mutex_unlock (&lr.lock);
  if (!lr.done)
    g_subprocess_force_exit (p);        /* the read ends with the pipe */
  g_thread_join (t);
  fail_unless (lr.line != NULL);
  lines = g_strsplit (lr.line, "\n", 2);
  fail_unless (g_str_has_prefix (lines[0], "listening rtmfp 127.0.0.1:") &&
      lines[1] && g_str_has_prefix (lines[1], "listening rtmp 127.0.0.1:"),
      "rtmfp-server said \"%s\"", lr.line);
  *rtmfp_port = g_ascii_strtoull (strrchr (lines[0], ':') + 1, NULL, 10);
  *rtmp_port = g_ascii_strtoull (strrchr (lines[1], ':') + 1, NULL, 10);
  fail_unless (*rtmfp_port && *rtmp_port);
  g_strfreev (lines);
  g_free (lr.line);
  g_mutex_clear (&lr.lock);
  g_cond_clear (&lr.cond);
  g_object_unref (in);
  g_free (path);
  return p;
}

/* A UDP relay in front of the server's RTMFP port that can go dark
 * (drops everything, both ways) */

static gboolean
proxy_pass (UdpProxy * px)
{
  gboolean pass;

  g_mutex_lock (&px->lock);
  pass = !px->dark;
  if (!pass)
    px->dropped++;
  g_mutex_unlock (&px->lock);
  return pass;
}

static gpointer
udp_proxy_up (gpointer data)
{
  UdpProxy *px = data;
  gchar buf[8192];

  while (!g_atomic_int_get (&px->stop)) {
    GSocketAddress *from = NULL;
    GSocket *back;
    gssize n = g_socket_receive_from (px->front, &from, buf, sizeof buf,
        NULL, NULL);

    if (n > 0) {
      /* like a NAT: a client at a new port (a new session's socket) gets
       * a new outward port, so the server tells the sessions apart */
      g_mutex_lock (&px->lock);
      if (!px->client || g_inet_socket_address_get_port
          (G_INET_SOCKET_ADDRESS (px->client)) !=
          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from))) {
        g_clear_object (&px->client);
        px->client = g_object_ref (from);
        g_object_unref (px->back);
        px->back = udp_socket (px->server_port);
      }
      back = g_object_ref (px->back);
      g_mutex_unlock (&px->lock);
      if (proxy_pass (px))
        g_socket_send (back, buf, n, NULL, NULL);
      g_object_unref (back);
    }
    g_clear_object (&from);
  }
  return NULL;
}

static gpointer
udp_proxy_down (gpointer data)
{
  UdpProxy *px = data;
  gchar buf[8192];

  while (!g_atomic_int_get (&px->stop)) {
    GSocket *back;
    GSocketAddress *to;
    gssize n = -1;

    g_mutex_lock (&px->lock);
    back = g_object_ref (px->back);
    g_mutex_unlock (&px->lock);
    /* bounded: the outward socket may change meanwhile */
    if (g_socket_condition_timed_wait (back, G_IO_IN, 100 * 1000, NULL,
            NULL))
      n = g_socket_receive (back, buf, sizeof buf, NULL, NULL);
    g_object_unref (back);
    if (n <= 0 || !proxy_pass (px))
      continue;
    g_mutex_lock (&px->lock);
    to = px->client ? g_object_ref (px->client) : NULL;
    g_mutex_unlock (&px->lock);
    if (to) {
      g_socket_send_to (px->front, to, buf, n, NULL, NULL);
      g_object_unref (to);
    }
  }
  return NULL;
}

UdpProxy *
udp_proxy_start (guint16 server_port, guint16 * port)
{
  UdpProxy *px = g_new0 (UdpProxy, 1);
  GSocketAddress *sa;

  g_mutex_init (&px->lock);
  px->front = udp_socket (0);
  px->back = udp_socket (server_port);
  px->server_port = server_port;
  sa = g_socket_get_local_address (px->front, NULL);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa));
  g_object_unref (sa);
  px->up = g_thread_new ("proxy-up", udp_proxy_up, px);
  px->down = g_thread_new ("proxy-down", udp_proxy_down, px);
  return px;
}

void
udp_proxy_go_dark (UdpProxy * px)
{
  g_mutex_lock (&px->lock);
  px->dark = TRUE;
  g_mutex_unlock (&px->lock);
}

void
udp_proxy_go_light (UdpProxy * px)
{
  g_mutex_lock (&px->lock);
  px->dark = FALSE;
  g_mutex_unlock (&px->lock);
}

void
udp_proxy_stop (UdpProxy * px)
{
  g_atomic_int_set (&px->stop, 1);
  g_thread_join (px->up);
  g_thread_join (px->down);
  g_object_unref (px->front);
  g_object_unref (px->back);
  g_clear_object (&px->client);
  g_mutex_clear (&px->lock);
  g_free (px);
}

/* A player that records when each decoded frame arrives, and its PTS */

static void
frames_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  Frames *f = data;
  gint64 now = g_get_monotonic_time ();
  GstClockTime pts = GST_BUFFER_PTS (buf);

  g_mutex_lock (&f->lock);
  g_array_append_val (f->arrival, now);
  g_array_append_val (f->pts, pts);
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
}

static GstBusSyncReply
frames_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Frames *f = data;

  g_mutex_lock (&f->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    g_ptr_array_add (f->errors, g_strdup_printf ("%s: %s",
            GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message));
    g_error_free (err);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    f->eos = TRUE;
  }
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

GstElement *
frames_player (const gchar * src, const gchar * location, Frames * f)
{
  gchar *desc = g_strdup_printf ("%s location=%s ! flvdemux ! h264parse ! "
      "avdec_h264 ! fakesink name=out signal-handoffs=true sync=false",
      src, location);
  GstElement *pipe = frames_player_launch (desc, f);

  g_free (desc);
  return pipe;
}

/* desc has a fakesink named out after the decoder */
GstElement *
frames_player_launch (const gchar * desc, Frames * f)
{
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *out;
  GstBus *bus;

  fail_unless (pipe != NULL, "cannot make %s", desc);
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->arrival = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  f->errors = g_ptr_array_new_with_free_func (g_free);
  out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  g_signal_connect (out, "handoff", G_CALLBACK (frames_handoff), f);
  gst_object_unref (out);
  bus = gst_element_get_bus (pipe);
  gst_bus_set_sync_handler (bus, frames_bus, f, NULL);
  gst_object_unref (bus);
  return pipe;
}

void
frames_player_free (GstElement * pipe, Frames * f)
{
  GstBus *bus = gst_element_get_bus (pipe);

  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_array_unref (f->arrival);
  g_array_unref (f->pts);
  g_ptr_array_unref (f->errors);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
}

/* Waits (bounded) for n frames in all; TRUE if they came */
gboolean
frames_wait (Frames * f, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok;

  g_mutex_lock (&f->lock);
  while (f->arrival->len < n && g_cond_wait_until (&f->cond, &f->lock, end));
  ok = f->arrival->len >= n;
  g_mutex_unlock (&f->lock);
  return ok;
}

/* The largest gaps between consecutive frames from frame `from` on: in
 * arrival time, and in PTS */
void
frames_max_gap (Frames * f, guint from, gint64 * arrival_gap,
    GstClockTime * pts_gap)
{
  guint i;

  *arrival_gap = 0;
  *pts_gap = 0;
  g_mutex_lock (&f->lock);
  for (i = MAX (from, 1); i < f->arrival->len; i++) {
    gint64 a = g_array_index (f->arrival, gint64, i) -
        g_array_index (f->arrival, gint64, i - 1);
    GstClockTime p0 = g_array_index (f->pts, GstClockTime, i - 1);
    GstClockTime p1 = g_array_index (f->pts, GstClockTime, i);

    *arrival_gap = MAX (*arrival_gap, a);
    if (GST_CLOCK_TIME_IS_VALID (p0) && GST_CLOCK_TIME_IS_VALID (p1) &&
        p1 > p0)
      *pts_gap = MAX (*pts_gap, p1 - p0);
  }
  g_mutex_unlock (&f->lock);
}


gboolean
have_elements (const gchar * const *names, const gchar ** missing)
{
  for (; *names; names++) {
    GstElementFactory *f = gst_element_factory_find (*names);

    if (!f) {
      *missing = *names;
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

void
check_interop (void)
{
  static const gchar *const needed[] = { "rtmfpsink", "rtmfpsrc",
    "videotestsrc", "x264enc", "h264parse", "flvmux", "flvdemux",
    "avdec_h264", "rtmp2sink", "rtmp2src", NULL
  };
  static gchar reason[256];
  const gchar *missing = NULL;
  const gchar *env;

  env = g_getenv ("NGINX");
  nginx_path = env ? g_strdup (env) : g_find_program_in_path ("nginx");
  if (!nginx_path && g_file_test ("/usr/sbin/nginx", G_FILE_TEST_IS_EXECUTABLE))
    nginx_path = g_strdup ("/usr/sbin/nginx");
  env = g_getenv ("NGINX_RTMP_MODULE");
  nginx_module = g_strdup (env ? env :
      "/usr/lib/nginx/modules/ngx_rtmp_module.so");

  if (!nginx_path || !g_file_test (nginx_path, G_FILE_TEST_IS_EXECUTABLE)) {
    interop_skip = "nginx is not installed (Debian: nginx)";
  } else if (!g_file_test (nginx_module, G_FILE_TEST_EXISTS)) {
    g_snprintf (reason, sizeof (reason), "the nginx RTMP module %s is "
        "missing (Debian: libnginx-mod-rtmp)", nginx_module);
    interop_skip = reason;
  }
  if (!have_elements (needed, &missing)) {
    static gchar why[256];

    g_snprintf (why, sizeof (why), "GStreamer element %s is missing",
        missing);
    midstream_skip = why;
  }
  if (!interop_skip && midstream_skip)
    interop_skip = midstream_skip;
  /* in CI everything is installed (scripts/deps.sh): a skip is a failure */
  if (g_strcmp0 (g_getenv ("RTMFP_CI"), "1") == 0 && (interop_skip ||
          midstream_skip)) {
    g_printerr ("FAIL: RTMFP_CI=1 and tests cannot run: %s\n",
        interop_skip ? interop_skip : midstream_skip);
    exit (1);
  }
}
