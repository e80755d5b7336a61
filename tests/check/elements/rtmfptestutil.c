/* Scaffolding shared by the element tests (rtmfp.c, rtmfpp2p.c, ...):
 * the rtmfp-server subprocess, bus helpers, the publisher and player
 * pipelines with their Sent/Got probes and the end-to-end checks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfptestutil.h"

#include <string.h>
#include <sys/prctl.h>
#include <signal.h>

/* ------------------------------------------------------------------ */
/* the server                                                          */

static void
line_read (GObject * src, GAsyncResult * res, gpointer data)
{
  gchar **line = data;
  GError *err = NULL;

  *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (src),
      res, NULL, &err);
  if (!*line)
    *line = g_strdup (err ? err->message : "(end of output)");
  g_clear_error (&err);
}

static gboolean
cancel_read (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Reads one line of in, bounded: the read is cancelled after 10 s (the
 * line is then the error message) */
gchar *
read_line_bounded (GDataInputStream * in)
{
  GMainContext *ctx = g_main_context_new ();
  GCancellable *cancel = g_cancellable_new ();
  GSource *timer;
  gchar *line = NULL;

  g_main_context_push_thread_default (ctx);
  timer = g_timeout_source_new_seconds (10);
  g_source_set_callback (timer, cancel_read, cancel, NULL);
  g_source_attach (timer, ctx);
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, cancel,
      line_read, &line);
  while (!line)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  g_object_unref (cancel);
  return line;
}

/* Starts rtmfp-server on 127.0.0.1:0 and reads its port (bounded wait).
 * keep_output: keep its stdout open in s->out (for later lines, e.g. the
 * stats printed on SIGUSR1); otherwise it is closed after that line. */
Server *
server_start (const gchar * app, gboolean keep_output)
{
  return server_start_port (app, keep_output, 0);
}

/* Children die with the test (PR_SET_PDEATHSIG): a test that aborts
 * never leaves a server behind holding meson's output pipe */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

void
launcher_for_sanitizer (GSubprocessLauncher * l)
{
  gchar *out = NULL, *preload;
  const gchar *argv[] = { "gcc", "-print-file-name=libasan.so", NULL };

  if (g_strcmp0 (g_getenv ("RTMFP_ASAN"), "1") != 0)
    return;
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH
          | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, NULL, NULL),
      "cannot ask gcc where libasan.so is");
  g_strstrip (out);
  preload = g_strdup_printf ("%s libstdc++.so.6", out);
  g_subprocess_launcher_setenv (l, "LD_PRELOAD", preload, TRUE);
  /* gst-launch-1.0 itself is not ours to check for leaks */
  g_subprocess_launcher_setenv (l, "ASAN_OPTIONS",
      "detect_leaks=0:abort_on_error=1", TRUE);
  g_free (preload);
  g_free (out);
}

GSubprocess *
spawn (const gchar * const *argv, GSubprocessFlags flags)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (flags);
  GSubprocess *p;
  GError *err = NULL;

  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  p = g_subprocess_launcher_spawnv (l, argv, &err);
  fail_unless (p != NULL, "cannot start %s: %s", argv[0],
      err ? err->message : "");
  g_object_unref (l);
  return p;
}


Server *
server_start_port (const gchar * app, gboolean keep_output, guint16 port)
{
  const gchar *path = g_getenv ("RTMFP_SERVER");
  Server *s = g_new0 (Server, 1);
  GDataInputStream *in;
  gchar *line, *bind = g_strdup_printf ("127.0.0.1:%u", port);
  const gchar *argv[6] = { path, "--rtmfp", bind, NULL, NULL, NULL };

  fail_unless (path != NULL, "RTMFP_SERVER is not set");
  if (app) {
    argv[3] = "--app";
    argv[4] = app;
  }
  s->proc = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (s->proc));
  line = read_line_bounded (in);
  if (keep_output)
    s->out = in;
  else
    g_object_unref (in);

  fail_unless (g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"),
      "unexpected server output: %s", line);
  s->port = (guint16) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  fail_unless (s->port > 0);
  g_free (line);
  g_free (bind);
  return s;
}

Server *
server_start_identity (const gchar * identity_file, gchar ** fingerprint)
{
  const gchar *path = g_getenv ("RTMFP_SERVER");
  const gchar *argv[] = { path, "--rtmfp", "127.0.0.1:0", "--identity",
    identity_file, NULL
  };
  GError *err = NULL;
  Server *s = g_new0 (Server, 1);
  GDataInputStream *in;
  gchar *line;

  fail_unless (path != NULL, "RTMFP_SERVER is not set");
  s->proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
  fail_unless (s->proc != NULL, "cannot start %s: %s", path,
      err ? err->message : "?");
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (s->proc));
  line = read_line_bounded (in);
  fail_unless (line && g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"),
      "unexpected server output: %s", line);
  s->port = (guint16) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  g_free (line);
  /* "fingerprint HEX" follows the listening line */
  line = read_line_bounded (in);
  fail_unless (line && g_str_has_prefix (line, "fingerprint "),
      "unexpected server output: %s", line);
  *fingerprint = g_strdup (line + strlen ("fingerprint "));
  fail_unless_equals_int (strlen (*fingerprint), 64);
  g_free (line);
  g_object_unref (in);
  return s;
}

gchar *
server_stats_line (Server * s)
{
  gchar *line;

  fail_unless (s->out != NULL, "server started without keep_output");
  g_subprocess_send_signal (s->proc, SIGUSR1);
  line = read_line_bounded (s->out);
  fail_unless (g_str_has_prefix (line, "stats "), "unexpected: %s", line);
  return line;
}

guint64
server_stat (const gchar * line, const gchar * name)
{
  gchar *key = g_strdup_printf (" %s=", name);
  const gchar *p = strstr (line, key);
  guint64 v;

  fail_unless (p != NULL, "no %s in %s", name, line);
  v = g_ascii_strtoull (p + strlen (key), NULL, 10);
  g_free (key);
  return v;
}

void
server_stop (Server * s)
{
  g_subprocess_send_signal (s->proc, SIGTERM);
  g_subprocess_wait (s->proc, NULL, NULL);
  fail_unless (g_subprocess_get_if_exited (s->proc) &&
      g_subprocess_get_exit_status (s->proc) == 0,
      "rtmfp-server did not exit cleanly");
  g_object_unref (s->proc);
  g_clear_object (&s->out);
  g_free (s);
}

/* A UDP port nobody listens on */
guint16
dead_port (void)
{
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (lo, 0), *bound;
  guint16 port;

  fail_unless (g_socket_bind (sock, sa, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (sa);
  g_object_unref (lo);
  g_socket_close (sock, NULL);
  g_object_unref (sock);
  return port;
}

/* A UDP socket bound on 127.0.0.1, connected to port_to_connect if not 0;
 * its receive times out after 1 s */
GSocket *
udp_socket (guint16 port_to_connect)
{
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (lo, 0);

  fail_unless (g_socket_bind (sock, sa, FALSE, NULL));
  g_object_unref (sa);
  if (port_to_connect) {
    sa = g_inet_socket_address_new (lo, port_to_connect);
    fail_unless (g_socket_connect (sock, sa, NULL, NULL));
    g_object_unref (sa);
  }
  g_object_unref (lo);
  /* wakes up regularly to see the stop flag */
  g_socket_set_timeout (sock, 1);
  return sock;
}

/* ------------------------------------------------------------------ */
/* the UDP proxy                                                       */

struct _Proxy
{
  GSocket *front;               /* the client talks to this one */
  GSocket *back;                /* connected to the server (lock) */
  GSList *old_backs;            /* replaced by proxy_rebind */
  guint16 server_port;
  GSocketAddress *client;       /* where the client's datagrams come from */
  guint client_changes;
  GMutex lock;
  gint64 down_from, down_until; /* drop server -> client in [from, until) */
  gint64 up_from, up_until;     /* drop client -> server */
  gint64 small_from, small_until;       /* drop small server -> client */
  gsize small_max;
  guint64 dropped;
  gint stop;
  GThread *up, *down;
  /* client -> server bottleneck (proxy_set_up_rate): a drop-tail queue
   * drained at up_rate_bps by the pacer thread */
  guint64 up_rate_bps;
  gint64 up_queue_us;
  gint64 link_free_at;
  guint64 rate_dropped;
  GAsyncQueue *paced;
  GThread *pacer;
};

typedef struct
{
  gint64 depart;
  gsize len;
  gchar data[];
} PacedPacket;

/* Sends what the bottleneck let through, each at its departure time */
static gpointer
proxy_pacer (gpointer data)
{
  Proxy *px = data;

  while (!g_atomic_int_get (&px->stop)) {
    PacedPacket *pk = g_async_queue_timeout_pop (px->paced, 100 * 1000);
    GSocket *back;
    gint64 wait;

    if (!pk)
      continue;
    wait = pk->depart - g_get_monotonic_time ();
    if (wait > 0)
      g_usleep (wait);
    g_mutex_lock (&px->lock);
    back = g_object_ref (px->back);
    g_mutex_unlock (&px->lock);
    g_socket_send (back, pk->data, pk->len, NULL, NULL);
    g_object_unref (back);
    g_free (pk);
  }
  return NULL;
}

/* The bottleneck's verdict on a datagram (lock): NULL if it is dropped
 * (the queue is full), else the packet to pace */
static PacedPacket *
bottleneck (Proxy * px, const gchar * buf, gsize n, gint64 now)
{
  gint64 start = MAX (now, px->link_free_at);
  PacedPacket *pk;

  /* IP + UDP headers count on the wire */
  if (start - now > px->up_queue_us) {
    px->rate_dropped++;
    return NULL;
  }
  px->link_free_at = start + (gint64) ((n + 28) * 8 * G_USEC_PER_SEC /
      px->up_rate_bps);
  pk = g_malloc (sizeof (PacedPacket) + n);
  pk->depart = px->link_free_at;
  pk->len = n;
  memcpy (pk->data, buf, n);
  return pk;
}

static gboolean
in_window (gint64 now, gint64 from, gint64 until)
{
  return from >= 0 && now >= from && now < until;
}

static gpointer
proxy_up (gpointer data)
{
  Proxy *px = data;
  gchar buf[8192];

  while (!g_atomic_int_get (&px->stop)) {
    GSocketAddress *from = NULL;
    gssize n = g_socket_receive_from (px->front, &from, buf, sizeof buf,
        NULL, NULL);
    GSocket *back;
    gboolean drop;

    if (n <= 0) {
      g_clear_object (&from);
      continue;
    }
    g_mutex_lock (&px->lock);
    if (!px->client) {
      px->client = g_object_ref (from);
    } else if (!g_inet_address_equal (g_inet_socket_address_get_address
            (G_INET_SOCKET_ADDRESS (from)),
            g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS
                (px->client))) ||
        g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from)) !=
        g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (px->client))) {
      /* the client moved: answer it where it is now */
      g_object_unref (px->client);
      px->client = g_object_ref (from);
      px->client_changes++;
    }
    drop = in_window (g_get_monotonic_time (), px->up_from, px->up_until);
    if (drop)
      px->dropped++;
    if (!drop && px->up_rate_bps) {
      PacedPacket *pk = bottleneck (px, buf, n, g_get_monotonic_time ());

      if (pk)
        g_async_queue_push (px->paced, pk);
      drop = TRUE;              /* not sent from here */
    }
    back = g_object_ref (px->back);
    g_mutex_unlock (&px->lock);
    g_object_unref (from);
    if (!drop)
      g_socket_send (back, buf, n, NULL, NULL);
    g_object_unref (back);
  }
  return NULL;
}

static gpointer
proxy_down (gpointer data)
{
  Proxy *px = data;
  gchar buf[8192];

  while (!g_atomic_int_get (&px->stop)) {
    GSocket *back;
    GSocketAddress *to;
    gssize n;

    g_mutex_lock (&px->lock);
    back = g_object_ref (px->back);
    g_mutex_unlock (&px->lock);
    /* short waits: a rebinding takes effect at once */
    if (!g_socket_condition_timed_wait (back, G_IO_IN, 100 * 1000, NULL,
            NULL)) {
      g_object_unref (back);
      continue;
    }
    n = g_socket_receive (back, buf, sizeof buf, NULL, NULL);
    g_object_unref (back);
    if (n <= 0)
      continue;
    g_mutex_lock (&px->lock);
    to = px->client ? g_object_ref (px->client) : NULL;
    if (in_window (g_get_monotonic_time (), px->down_from,
            px->down_until) || ((gsize) n <= px->small_max &&
            in_window (g_get_monotonic_time (), px->small_from,
                px->small_until))) {
      px->dropped++;
      g_clear_object (&to);
    }
    g_mutex_unlock (&px->lock);
    if (to) {
      g_socket_send_to (px->front, to, buf, n, NULL, NULL);
      g_object_unref (to);
    }
  }
  return NULL;
}

Proxy *
proxy_start (guint16 server_port)
{
  Proxy *px = g_new0 (Proxy, 1);

  g_mutex_init (&px->lock);
  px->down_from = px->down_until = px->up_from = px->up_until = -1;
  px->small_from = px->small_until = -1;
  px->server_port = server_port;
  px->front = udp_socket (0);
  px->back = udp_socket (server_port);
  px->paced = g_async_queue_new_full (g_free);
  px->up = g_thread_new ("proxy-up", proxy_up, px);
  px->down = g_thread_new ("proxy-down", proxy_down, px);
  px->pacer = g_thread_new ("proxy-pacer", proxy_pacer, px);
  return px;
}

void
proxy_set_up_rate (Proxy * px, guint64 rate_bps, gint64 queue_us)
{
  g_mutex_lock (&px->lock);
  px->up_rate_bps = rate_bps;
  px->up_queue_us = queue_us;
  px->link_free_at = 0;
  g_mutex_unlock (&px->lock);
}

guint64
proxy_rate_dropped (Proxy * px)
{
  guint64 n;

  g_mutex_lock (&px->lock);
  n = px->rate_dropped;
  g_mutex_unlock (&px->lock);
  return n;
}

guint16
proxy_port (Proxy * px)
{
  GSocketAddress *sa = g_socket_get_local_address (px->front, NULL);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa));

  g_object_unref (sa);
  return port;
}

void
proxy_blackout (Proxy * px, gint64 duration_us)
{
  g_mutex_lock (&px->lock);
  px->down_from = g_get_monotonic_time ();
  px->down_until = px->down_from + duration_us;
  g_mutex_unlock (&px->lock);
}

void
proxy_blackout_both (Proxy * px, gint64 duration_us)
{
  g_mutex_lock (&px->lock);
  px->down_from = px->up_from = g_get_monotonic_time ();
  px->down_until = px->up_until = px->down_from + duration_us;
  g_mutex_unlock (&px->lock);
}

void
proxy_drop_small (Proxy * px, gsize max_len, gint64 duration_us)
{
  g_mutex_lock (&px->lock);
  px->small_max = max_len;
  px->small_from = g_get_monotonic_time ();
  px->small_until = px->small_from + duration_us;
  g_mutex_unlock (&px->lock);
}

guint64
proxy_dropped (Proxy * px)
{
  guint64 n;

  g_mutex_lock (&px->lock);
  n = px->dropped;
  g_mutex_unlock (&px->lock);
  return n;
}

guint
proxy_client_changes (Proxy * px)
{
  guint n;

  g_mutex_lock (&px->lock);
  n = px->client_changes;
  g_mutex_unlock (&px->lock);
  return n;
}

void
proxy_rebind (Proxy * px)
{
  GSocket *sock = udp_socket (px->server_port);

  g_mutex_lock (&px->lock);
  px->old_backs = g_slist_prepend (px->old_backs, px->back);
  px->back = sock;
  g_mutex_unlock (&px->lock);
}

void
proxy_stop (Proxy * px)
{
  g_atomic_int_set (&px->stop, 1);
  g_thread_join (px->up);
  g_thread_join (px->down);
  g_thread_join (px->pacer);
  g_async_queue_unref (px->paced);
  g_object_unref (px->front);
  g_object_unref (px->back);
  g_slist_free_full (px->old_backs, g_object_unref);
  g_clear_object (&px->client);
  g_mutex_clear (&px->lock);
  g_free (px);
}

/* ------------------------------------------------------------------ */
/* bus helpers                                                         */

/* Waits for EOS or ERROR (or one of extra) on the pipeline's bus */
GstMessage *
wait_bus (GstElement * pipeline, GstMessageType types, GstClockTime timeout)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, timeout, types);

  gst_object_unref (bus);
  return msg;
}

void
assert_no_error (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (msg) {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (msg->src), err->message,
        dbg);
  }
  gst_object_unref (bus);
}

/* Waits for an element message rtmfp-status with this code */
gboolean
wait_status (GstElement * pipeline, const gchar * code, GstClockTime timeout)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 end = g_get_monotonic_time () + timeout / 1000;
  gboolean found = FALSE;

  while (!found && g_get_monotonic_time () < end) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus,
        (end - g_get_monotonic_time ()) * 1000,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    if (!msg)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      fail ("error while waiting for %s: %s (%s)", code, err->message, dbg);
    } else if (gst_message_has_name (msg, "rtmfp-status")) {
      const gchar *c = gst_structure_get_string (gst_message_get_structure
          (msg), "code");
      found = c && g_str_equal (c, code);
    }
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return found;
}

/* ------------------------------------------------------------------ */
/* publisher and players                                               */

/* rtmfpsink's input: the FLV tags the sender hands over */
static GstPadProbeReturn
sent_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Sent *sent = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  gsize pos = 0;

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER))
    return GST_PAD_PROBE_OK;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  if (map.size >= 13 && memcmp (map.data, "FLV", 3) == 0)
    pos = 13;
  g_mutex_lock (&sent->lock);
  while (pos + 11 <= map.size) {
    const guint8 *t = map.data + pos;
    guint32 size = (t[1] << 16) | (t[2] << 8) | t[3];
    SentTag st = { t[0], ((guint32) t[7] << 24) | (t[4] << 16) | (t[5] << 8)
          | t[6]
    };
    if (pos + 11 + size + 4 > map.size)
      break;
    if (st.type == 9 && size >= 2 && t[12] == 1)        /* AVC NALU */
      g_array_append_val (sent->video, st);
    else if (st.type == 8 && size >= 9 && memcmp (t + 12, "Speex   ", 8) == 0)
      sent->skip_next_audio = TRUE;     /* ID header, then comments */
    else if (st.type == 8 && sent->skip_next_audio)
      sent->skip_next_audio = FALSE;
    else if (st.type == 8 && size >= 1)
      g_array_append_val (sent->audio, st);
    pos += 11 + size + 4;
  }
  g_mutex_unlock (&sent->lock);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

/* flvmux (1.22) never picks speexenc's untimestamped header buffers while
 * video keeps coming, which holds back all the audio until the video
 * ends: give the headers the timestamp of the start. */
static GstPadProbeReturn
speex_header_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!GST_BUFFER_PTS_IS_VALID (buf) &&
      GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)) {
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = 0;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

/* sink_props: extra rtmfpsink properties ("mode=direct ") or NULL */
GstElement *
publisher_new (guint16 port, const gchar * path, Sent * sent,
    const gchar * sink_props)
{
  return publisher_new_n (port, path, sent, sink_props, N_VIDEO);
}

GstElement *
publisher_new_n (guint16 port, const gchar * path, Sent * sent,
    const gchar * sink_props, guint n_video)
{
  return publisher_new_full (port, path, sent, sink_props, n_video,
      MEDIA_FLV);
}

/* rtmfpsink's elementary inputs: the running time of each frame */
static GstPadProbeReturn
sent_elementary_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Sent *sent = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *seg;
  GstClockTime t = GST_BUFFER_DTS_OR_PTS (buf);
  gboolean video = g_str_equal (GST_PAD_NAME (pad), "video");
  SentTag st = { video ? 9 : 8, 0 };

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER) || !ev)
    goto done;
  gst_event_parse_segment (ev, &seg);
  st.ts = gst_segment_to_running_time (seg, GST_FORMAT_TIME, t) /
      GST_MSECOND;
  g_mutex_lock (&sent->lock);
  g_array_append_val (video ? sent->video : sent->audio, st);
  g_mutex_unlock (&sent->lock);
done:
  if (ev)
    gst_event_unref (ev);
  return GST_PAD_PROBE_OK;
}

static gchar *
publisher_desc (guint16 port, const gchar * path, const gchar * sink_props,
    guint n_video, MediaMode mode)
{
  const gchar *props = sink_props ? sink_props : "";
  guint n_audio = n_video * N_AUDIO / N_VIDEO;
  gchar *video = g_strdup_printf ("videotestsrc is-live=true num-buffers=%u "
      "! video/x-raw,width=320,height=240,framerate=30/1 "
      "! x264enc tune=zerolatency key-int-max=30 speed-preset=ultrafast",
      n_video);
  gchar *desc;

  if (mode == MEDIA_FLV) {
    desc = g_strdup_printf ("%s ! h264parse ! queue ! flvmux streamable=true "
        "name=m ! rtmfpsink name=sink %slocation=rtmfp://127.0.0.1:%u/%s "
        "audiotestsrc is-live=true num-buffers=%u samplesperbuffer=320 "
        "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc "
        "! queue ! m.", video, props, port, path, n_audio);
    g_free (video);
    return desc;
  }
  /* the AAC branch sends as many 20 ms-ish frames: 1024 samples at
   * 48 kHz is 21.3 ms */
  desc = g_strdup_printf ("rtmfpsink name=sink %slocation=rtmfp://127.0.0.1:"
      "%u/%s %s ! sink.video audiotestsrc is-live=true num-buffers=%u %s "
      "! sink.audio", props, port, path, video, n_audio,
      mode == MEDIA_ELEMENTARY ? "samplesperbuffer=320 "
      "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc" :
      "samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 "
      "! avenc_aac name=aenc");
  g_free (video);
  return desc;
}

GstElement *
publisher_new_full (guint16 port, const gchar * path, Sent * sent,
    const gchar * sink_props, guint n_video, MediaMode mode)
{
  gchar *desc = publisher_desc (port, path, sink_props, n_video, mode);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstElement *e;
  GstPad *pad;

  fail_unless (p != NULL, "%s", err ? err->message : "?");
  g_free (desc);
  if (mode == MEDIA_FLV) {
    e = gst_bin_get_by_name (GST_BIN (p), "aenc");
    pad = gst_element_get_static_pad (e, "src");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, speex_header_probe,
        NULL, NULL);
    gst_object_unref (pad);
    gst_object_unref (e);
  }
  if (sent && mode == MEDIA_FLV) {
    probe (p, "sink", "sink", sent_probe, sent);
  } else if (sent) {
    probe (p, "sink", "video", sent_elementary_probe, sent);
    probe (p, "sink", "audio", sent_elementary_probe, sent);
  }
  return p;
}

static GstPadProbeReturn
video_decoded (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;
  GstClockTime pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));

  g_mutex_lock (&got->lock);
  g_array_append_val (got->video_pts, pts);
  g_cond_broadcast (&got->cond);
  g_mutex_unlock (&got->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
audio_decoded (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime pts = GST_BUFFER_PTS (buf);

  g_mutex_lock (&got->lock);
  g_array_append_val (got->audio_pts, pts);
  /* in 16 kHz samples, whatever the decoder's format */
  if (GST_BUFFER_DURATION_IS_VALID (buf))
    got->audio_samples += GST_BUFFER_DURATION (buf) * 16000 / GST_SECOND;
  else
    got->audio_samples += gst_buffer_get_size (buf) / 2;
  g_mutex_unlock (&got->lock);
  return GST_PAD_PROBE_OK;
}

/* What goes into the audio decoder: buffers (their time) and GAP events
 * (as -(start + 1)) */
static GstPadProbeReturn
audio_in (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;
  gint64 t;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    t = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));
  } else {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    GstClockTime ts, dur;
    if (GST_EVENT_TYPE (ev) != GST_EVENT_GAP)
      return GST_PAD_PROBE_OK;
    gst_event_parse_gap (ev, &ts, &dur);
    t = -(gint64) ts - 1;
  }
  g_mutex_lock (&got->lock);
  if (t < 0)
    got->gap_events++;
  g_array_append_val (got->audio_in, t);
  g_mutex_unlock (&got->lock);
  return GST_PAD_PROBE_OK;
}

/* What goes into the video decoder of an elementary player: a DISCONT is
 * only ever a keyframe (nothing that depends on a lost picture) */
static GstPadProbeReturn
video_in (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  g_mutex_lock (&got->lock);
  got->video_in++;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT)) {
    got->discont_buffers++;
    if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
      got->video_discont_delta++;
  }
  g_mutex_unlock (&got->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
demuxed_video (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  g_mutex_lock (&got->lock);
  if (!got->first_video_seen) {
    got->first_video_seen = TRUE;
    got->first_video_key = !GST_BUFFER_FLAG_IS_SET (buf,
        GST_BUFFER_FLAG_DELTA_UNIT);
  }
  g_mutex_unlock (&got->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
src_output (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Got *got = data;

  if (GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info),
          GST_BUFFER_FLAG_DISCONT)) {
    g_mutex_lock (&got->lock);
    got->discont_buffers++;
    g_mutex_unlock (&got->lock);
  }
  return GST_PAD_PROBE_OK;
}

void
probe (GstElement * bin, const gchar * name, const gchar * padname,
    GstPadProbeCallback cb, gpointer data)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, padname);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

/* peer_id: play directly from that peer (rtmfpsrc peer-id), or NULL */
GstElement *
player_new (guint16 port, const gchar * path, Got * got,
    const gchar * peer_id)
{
  gchar *peer = peer_id ? g_strdup_printf ("peer-id=%s ", peer_id) : NULL;
  GstElement *p = player_new_full (port, path, got, peer, MEDIA_FLV);

  g_free (peer);
  return p;
}

GstElement *
player_new_full (guint16 port, const gchar * path, Got * got,
    const gchar * src_props, MediaMode mode)
{
  const gchar *adec = mode == MEDIA_ELEMENTARY_AAC ? "avdec_aac" : "speexdec";
  gchar *desc = mode == MEDIA_FLV ? g_strdup_printf ("rtmfpsrc name=src %s"
      "location=rtmfp://127.0.0.1:%u/%s ! flvdemux name=d "
      "d.video ! identity name=vdemux ! queue ! h264parse "
      "! avdec_h264 name=vdec ! fakesink sync=false async=false "
      "d.audio ! identity name=ain ! queue ! %s name=adec "
      "! fakesink sync=false async=false", src_props ? src_props : "",
      port, path, adec) : g_strdup_printf ("rtmfpsrc name=src %s"
      "location=rtmfp://127.0.0.1:%u/%s "
      "src.video ! identity name=vdemux ! queue ! h264parse "
      "! avdec_h264 name=vdec ! fakesink sync=false async=false "
      "src.audio ! identity name=ain ! queue ! %s name=adec "
      "! fakesink sync=false async=false", src_props ? src_props : "",
      port, path, adec);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstElement *e;
  GstPad *pad;

  fail_unless (p != NULL, "%s", err ? err->message : "?");
  g_free (desc);
  got->elementary = mode != MEDIA_FLV;
  probe (p, "vdec", "src", video_decoded, got);
  probe (p, "adec", "src", audio_decoded, got);
  probe (p, "vdemux", "src", demuxed_video, got);
  probe (p, "vdemux", "src", video_in, got);
  if (mode == MEDIA_FLV)
    probe (p, "src", "src", src_output, got);
  e = gst_bin_get_by_name (GST_BIN (p), "ain");
  pad = gst_element_get_static_pad (e, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, audio_in, got, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
  return p;
}

void
sent_init (Sent * s)
{
  g_mutex_init (&s->lock);
  s->video = g_array_new (FALSE, FALSE, sizeof (SentTag));
  s->audio = g_array_new (FALSE, FALSE, sizeof (SentTag));
}

void
sent_clear (Sent * s)
{
  g_array_unref (s->video);
  g_array_unref (s->audio);
  g_mutex_clear (&s->lock);
}

void
got_init (Got * g)
{
  memset (g, 0, sizeof *g);
  g_mutex_init (&g->lock);
  g_cond_init (&g->cond);
  g->video_pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  g->audio_pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  g->audio_in = g_array_new (FALSE, FALSE, sizeof (gint64));
}

void
got_clear (Got * g)
{
  g_array_unref (g->video_pts);
  g_array_unref (g->audio_pts);
  g_array_unref (g->audio_in);
  g_mutex_clear (&g->lock);
  g_cond_clear (&g->cond);
}

GstHarness *
sink_harness (const gchar * desc, const gchar * padname)
{
  GError *err = NULL;
  GstElement *e = gst_parse_launch (desc, &err);
  GstHarness *h;

  fail_unless (e != NULL, "%s", err ? err->message : "?");
  /* as gst_harness_new_parse does for sinks */
  g_object_set (e, "async", FALSE, "sync", FALSE, NULL);
  h = gst_harness_new_with_element (e, padname, NULL);
  gst_object_unref (e);
  return h;
}

void
set_state_checked (GstElement * p, GstState state)
{
  fail_if (gst_element_set_state (p, state) == GST_STATE_CHANGE_FAILURE);
}

/* Waits until the player decoded at least n video frames */
gboolean
wait_decoded (Got * got, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok;

  g_mutex_lock (&got->lock);
  while (got->video_pts->len < n)
    if (!g_cond_wait_until (&got->cond, &got->lock, end))
      break;
  ok = got->video_pts->len >= n;
  g_mutex_unlock (&got->lock);
  return ok;
}

void
note_base_times (GstElement * pub, Sent * sent, GstElement * play,
    Got * got)
{
  sent->base_time = gst_element_get_base_time (pub);
  got->base_time = gst_element_get_base_time (play);
}

/* An elementary player's timestamps are on its own timeline (the
 * sender's, anchored at the first arrival): the offset to the sender's
 * that lines up the most decoded frames with sent ones (within 5 ms).
 * Frames are periodic, so many offsets line up as well: the one taken is
 * near what the two pipelines' base times say (both run on the system
 * clock; the first arrival is a few tens of ms after the capture). */
static gint64
timeline_offset (Sent * sent, Got * got, GArray * decoded)
{
  gint64 best_off = 0, expect = 0;
  guint best = 0, i, j, k;
  gboolean have_bases = sent->base_time && got->base_time &&
      GST_CLOCK_TIME_IS_VALID (sent->base_time) &&
      GST_CLOCK_TIME_IS_VALID (got->base_time);

  if (have_bases)
    expect = (gint64) sent->base_time - (gint64) got->base_time;
  for (j = 0; j < sent->video->len; j++) {
    gint64 off = (gint64) g_array_index (decoded, GstClockTime, 0) -
        (gint64) g_array_index (sent->video, SentTag, j).ts * GST_MSECOND;
    guint n = 0;

    /* the first arrival: 0 to 400 ms after the capture */
    if (have_bases && (off < expect - 50 * GST_MSECOND ||
            off > expect + 400 * GST_MSECOND))
      continue;

    for (i = 0, k = 0; i < decoded->len; i++) {
      gint64 t = (gint64) g_array_index (decoded, GstClockTime, i) - off;
      for (; k < sent->video->len && (gint64) g_array_index (sent->video,
              SentTag, k).ts * GST_MSECOND < t - 5 * GST_MSECOND; k++);
      if (k < sent->video->len && ABS ((gint64) g_array_index (sent->video,
                  SentTag, k).ts * GST_MSECOND - t) <= 5 * GST_MSECOND)
        n++;
    }
    if (n > best || (n == best && ABS (off - expect) <
            ABS (best_off - expect))) {
      best = n;
      best_off = off;
    }
  }
  return best_off;
}

static void
shift (GArray * a, gint64 off)
{
  guint i;

  for (i = 0; i < a->len; i++)
    g_array_index (a, GstClockTime, i) -= off;
}

/* The checks of the issue: >= 95% of the frames sent (since first_ms)
 * decode, in order, each within one frame of a sent timestamp; audio on
 * the same timeline as video */
void
check_received (Sent * sent, Got * got, const gchar * who)
{
  guint i, j, expected_v = 0, expected_a = 0;
  GstClockTime first_v, first_a;
  guint64 audio_frames;

  fail_unless (got->video_pts->len > 0, "%s: no video decoded", who);
  fail_unless (got->audio_pts->len > 0, "%s: no audio decoded", who);
  if (got->elementary) {
    /* one offset for both: audio and video must stay together */
    gint64 off = timeline_offset (sent, got, got->video_pts);
    shift (got->video_pts, off);
    shift (got->audio_pts, off);
    got->elementary = FALSE;    /* shifted once */
  }
  first_v = g_array_index (got->video_pts, GstClockTime, 0);
  first_a = g_array_index (got->audio_pts, GstClockTime, 0);

  for (i = 0; i < sent->video->len; i++)
    if (g_array_index (sent->video, SentTag, i).ts * GST_MSECOND + 34 *
        GST_MSECOND >= first_v)
      expected_v++;
  for (i = 0; i < sent->audio->len; i++)
    if (g_array_index (sent->audio, SentTag, i).ts * GST_MSECOND + 21 *
        GST_MSECOND >= first_a)
      expected_a++;

  GST_INFO ("%s: video %u decoded of %u sent (%u since it joined), audio %"
      G_GUINT64_FORMAT " samples for %u frames (%u since it joined)", who,
      got->video_pts->len, sent->video->len, expected_v, got->audio_samples,
      sent->audio->len, expected_a);
  g_print ("%s: video %u/%u frames decoded, audio %.1f/%u frames decoded, "
      "%u discont\n", who, got->video_pts->len, expected_v,
      got->audio_samples / 320.0, expected_a, got->discont_buffers);

  fail_unless (got->video_pts->len * 100 >= expected_v * 95,
      "%s: only %u of %u video frames decoded", who, got->video_pts->len,
      expected_v);
  audio_frames = got->audio_samples / 320;
  fail_unless (audio_frames * 100 >= (guint64) expected_a * 95,
      "%s: only %" G_GUINT64_FORMAT " of %u audio frames decoded", who,
      audio_frames, expected_a);

  /* in order, each within one frame of what the sender stamped */
  for (i = 0, j = 0; i < got->video_pts->len; i++) {
    GstClockTime pts = g_array_index (got->video_pts, GstClockTime, i);
    gdouble best = 1e12;

    if (i > 0)
      fail_unless (pts > g_array_index (got->video_pts, GstClockTime, i - 1),
          "%s: video frame %u out of order", who, i);
    for (; j < sent->video->len; j++) {
      gdouble d = ABS ((gdouble) pts / GST_MSECOND -
          g_array_index (sent->video, SentTag, j).ts);
      if (d > best)
        break;
      best = d;
    }
    if (j > 0)
      j--;
    fail_unless (best <= VIDEO_FRAME_MS, "%s: video frame %u at %"
        GST_TIME_FORMAT " is %.1f ms from any sent frame", who, i,
        GST_TIME_ARGS (pts), best);
  }
  for (i = 1; i < got->audio_pts->len; i++)
    fail_unless (g_array_index (got->audio_pts, GstClockTime, i) >=
        g_array_index (got->audio_pts, GstClockTime, i - 1),
        "%s: audio out of order at %u", who, i);
  /* the first decoded audio is where a sent frame was */
  {
    gdouble best = 1e12;
    for (i = 0; i < sent->audio->len; i++)
      best = MIN (best, ABS ((gdouble) first_a / GST_MSECOND -
              g_array_index (sent->audio, SentTag, i).ts));
    fail_unless (best <= AUDIO_FRAME_MS, "%s: first audio %.1f ms off", who,
        best);
  }
}

/* Waits for an element message with this name (fails on an error) */
GstStructure *
wait_element_message (GstElement * pipeline, const gchar * name,
    GstClockTime timeout)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 end = g_get_monotonic_time () + timeout / 1000;
  GstStructure *found = NULL;

  while (!found && g_get_monotonic_time () < end) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus,
        (end - g_get_monotonic_time ()) * 1000,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    if (!msg)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      fail ("error while waiting for %s: %s (%s)", name, err->message, dbg);
    } else if (gst_message_has_name (msg, name)) {
      found = gst_structure_copy (gst_message_get_structure (msg));
    }
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return found;
}
