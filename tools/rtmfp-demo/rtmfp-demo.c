/* rtmfp-demo: the main job of gst-rtmfp in one command.
 *
 *   rtmfp-demo [--seconds N] [--relay]
 *   rtmfp-demo --server HOST:PORT --publish-only [--seconds N]
 *   rtmfp-demo --server HOST:PORT --play PEER_ID [--seconds N]
 *
 * Starts rtmfp-server on 127.0.0.1:0, publishes test video (H.264) and
 * audio (Speex 16 kHz) with rtmfpsink and plays the stream back with
 * rtmfpsrc into decoders.  The stream goes directly peer to peer
 * (rtmfpsink mode=direct, rtmfpsrc peer-id=..., the server only introduces
 * the peers) when the elements support it, else (or with --relay) through
 * the server.  Prints a progress line every second and a summary; exits 0
 * when the player decoded most of what was sent.
 *
 * The split roles (for tests across hosts or network namespaces) use a
 * running server: --publish-only publishes directly and prints
 * "peer-id HEX" once the server knows it; --play PEER_ID plays from that
 * peer and exits 0 if it decoded at least 95 % of the video frames the
 * stream's timestamps span (30 fps) and some audio.
 *
 * Run from the build tree it starts the build's rtmfp-server and needs
 * GST_PLUGIN_PATH to include the build's ext/rtmfp (scripts/demo.sh sets
 * it); installed, the installed server and plugins.  RTMFP_SERVER (the
 * server's path) overrides.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <signal.h>
#include <string.h>

#ifndef RTMFP_SERVER_PATH
#define RTMFP_SERVER_PATH "rtmfp-server"
#endif
#ifndef RTMFP_SERVER_INSTALLED_PATH
#define RTMFP_SERVER_INSTALLED_PATH "rtmfp-server"
#endif

#define FPS 30

typedef struct {
  GMutex lock;
  guint video_sent, audio_sent;
  guint video_decoded, audio_decoded;
  GstClockTime first_video_pts, last_video_pts;
} Counters;

static gint opt_seconds = 5;
static gboolean opt_relay;
static gchar *opt_server;
static gboolean opt_publish_only;
static gchar *opt_play;
static gchar *server_host = NULL;       /* "127.0.0.1" or from --server */

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"seconds", 's', 0, G_OPTION_ARG_INT, &opt_seconds,
      "How long to stream (default 5)", "N"},
  {"relay", 0, 0, G_OPTION_ARG_NONE, &opt_relay,
      "Go through the server instead of peer to peer", NULL},
  {"server", 0, 0, G_OPTION_ARG_STRING, &opt_server,
      "Use this running rtmfp-server instead of starting one", "HOST:PORT"},
  {"publish-only", 0, 0, G_OPTION_ARG_NONE, &opt_publish_only,
      "Only publish (directly), print the peer-id", NULL},
  {"play", 0, 0, G_OPTION_ARG_STRING, &opt_play,
      "Only play, directly from this peer", "PEER_ID"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

/* ---- rtmfp-server ---- */

typedef struct {
  GSubprocess *proc;
  GDataInputStream *out;
  guint16 port;
} Server;

/* The server prints its lines at once and a dead server gives EOF, so a
 * blocking read is bounded by the server's own life. */
static gchar *
read_line (GDataInputStream * in)
{
  return g_data_input_stream_read_line (in, NULL, NULL, NULL);
}

/* $RTMFP_SERVER; else the build's server when this is the build's demo
 * (the program runs from its build directory), else the installed one */
static const gchar *
server_path (void)
{
  const gchar *path = g_getenv ("RTMFP_SERVER");
#ifdef RTMFP_DEMO_BUILD_DIR
  gchar *exe, *dir;
  gboolean in_build;
#endif

  if (path && *path)
    return path;
#ifdef RTMFP_DEMO_BUILD_DIR
  exe = g_file_read_link ("/proc/self/exe", NULL);
  dir = exe ? g_path_get_dirname (exe) : NULL;
  in_build = dir && g_str_equal (dir, RTMFP_DEMO_BUILD_DIR);
  g_free (exe);
  g_free (dir);
  if (in_build)
    return RTMFP_SERVER_PATH;
#endif
  return RTMFP_SERVER_INSTALLED_PATH;
}

static gboolean
server_start (Server * s)
{
  GError *err = NULL;
  gchar *line;
  const gchar *path = server_path ();
  s->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err, path,
      "--rtmfp", "127.0.0.1:0", NULL);
  if (!s->proc) {
    g_printerr ("cannot start %s: %s\n", path, err->message);
    g_error_free (err);
    return FALSE;
  }
  s->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (s->proc));
  line = read_line (s->out);
  if (!line || !g_str_has_prefix (line, "listening rtmfp 127.0.0.1:")) {
    g_printerr ("rtmfp-server did not start (%s)\n", line ? line : "EOF");
    g_free (line);
    return FALSE;
  }
  s->port = (guint16) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  g_print ("server:    %s\n", line);
  g_free (line);
  return TRUE;
}

static gchar *
server_stats (Server * s)
{
  g_subprocess_send_signal (s->proc, SIGUSR1);
  return read_line (s->out);
}

static guint64
stats_field (const gchar * line, const gchar * name)
{
  gchar *key = g_strdup_printf (" %s=", name);
  const gchar *p = line ? strstr (line, key) : NULL;
  guint64 v = p ? g_ascii_strtoull (p + strlen (key), NULL, 10) : 0;

  g_free (key);
  return v;
}

static void
server_stop (Server * s)
{
  if (s->proc) {
    g_subprocess_send_signal (s->proc, SIGTERM);
    g_subprocess_wait (s->proc, NULL, NULL);
    g_object_unref (s->proc);
  }
  g_clear_object (&s->out);
}

/* ---- pipelines ---- */

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  guint *n = data;
  Counters *c = g_object_get_data (G_OBJECT (pad), "counters");

  GstClockTime pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info));

  g_mutex_lock (&c->lock);
  (*n)++;
  if (n == &c->video_decoded && GST_CLOCK_TIME_IS_VALID (pts)) {
    if (c->video_decoded == 1)
      c->first_video_pts = pts;
    c->last_video_pts = pts;
  }
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

static void
count (GstElement * bin, const gchar * name, Counters * c, guint * n)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, "src");

  g_object_set_data (G_OBJECT (pad), "counters", c);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, n, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

static GstElement *
publisher_new (guint16 port, gboolean direct, Counters * c)
{
  /* one pad per medium, no muxer */
  gchar *desc = g_strdup_printf ("rtmfpsink name=sink mode=%s "
      "location=rtmfp://%s:%u/live/demo "
      "videotestsrc is-live=true "
      "! video/x-raw,width=320,height=240,framerate=%d/1 "
      "! x264enc name=venc tune=zerolatency key-int-max=30 "
      "speed-preset=ultrafast bitrate=500 ! h264parse ! sink.video "
      "audiotestsrc is-live=true samplesperbuffer=320 wave=ticks "
      "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc "
      "! sink.audio", direct ? "direct" : "server", server_host, port, FPS);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  g_free (desc);
  if (!p) {
    g_printerr ("publisher: %s\n", err->message);
    g_error_free (err);
    return NULL;
  }
  count (p, "venc", c, &c->video_sent);
  count (p, "aenc", c, &c->audio_sent);
  return p;
}

static GstElement *
player_new (guint16 port, const gchar * peer_id, Counters * c)
{
  gchar *desc = g_strdup_printf ("rtmfpsrc name=src%s%s "
      "location=rtmfp://%s:%u/live/demo "
      "src.video ! queue ! h264parse ! avdec_h264 name=vdec "
      "! fakesink sync=false async=false "
      "src.audio ! queue ! speexdec name=adec ! fakesink sync=false "
      "async=false", peer_id ? " peer-id=" : "", peer_id ? peer_id : "",
      server_host, port);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  g_free (desc);
  if (!p) {
    g_printerr ("player: %s\n", err->message);
    g_error_free (err);
    return NULL;
  }
  count (p, "vdec", c, &c->video_decoded);
  count (p, "adec", c, &c->audio_decoded);
  return p;
}

/* An error on the bus of p, or NULL (not blocking) */
static gchar *
pop_error (GstElement * p, GstClockTime wait)
{
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, wait, GST_MESSAGE_ERROR);
  gchar *text = NULL;

  if (m) {
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    text = g_strdup_printf ("%s: %s", GST_MESSAGE_SRC_NAME (m), err->message);
    g_error_free (err);
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  return text;
}

static GstStructure *
element_stats (GstElement * p, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (p), name);
  GstStructure *st = NULL;

  g_object_get (e, "stats", &st, NULL);
  gst_object_unref (e);
  return st;
}

static gdouble
sget_double (const GstStructure * s, const gchar * f)
{
  gdouble v = 0;

  if (s)
    gst_structure_get_double (s, f, &v);
  return v;
}

static guint64
sget_u64 (const GstStructure * s, const gchar * f)
{
  guint64 v = 0;

  if (s)
    gst_structure_get_uint64 (s, f, &v);
  return v;
}

/* Starts a direct publisher and waits (bounded) until it is connected to
 * the server (which can then introduce subscribers to it); returns its
 * peer-id, or NULL if the sink cannot publish directly (the pipeline is
 * then stopped). */
static gchar *
start_direct (GstElement * pub)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pub), "sink");
  GstBus *bus = gst_element_get_bus (pub);
  gchar *peer_id = NULL;
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  gboolean connected = FALSE;

  gst_element_set_state (pub, GST_STATE_PLAYING);
  while (!connected && g_get_monotonic_time () < end) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 100 * GST_MSECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;

    if (!m)
      continue;
    s = gst_message_get_structure (m);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error (m, &err, NULL);
      g_print ("publisher: direct mode unavailable (%s)\n", err->message);
      g_error_free (err);
      gst_message_unref (m);
      break;
    }
    if (gst_structure_has_name (s, "rtmfp-status") &&
        g_strcmp0 (gst_structure_get_string (s, "code"),
            "NetConnection.Connect.Success") == 0)
      connected = TRUE;
    gst_message_unref (m);
  }
  if (connected)
    g_object_get (sink, "peer-id", &peer_id, NULL);
  if (peer_id && !*peer_id)
    g_clear_pointer (&peer_id, g_free);
  gst_object_unref (bus);
  gst_object_unref (sink);
  if (!peer_id)
    gst_element_set_state (pub, GST_STATE_NULL);
  return peer_id;
}

/* --publish-only: publish directly, print the peer-id, stream */
static gint
run_publish_only (guint16 port)
{
  Counters c;
  GstElement *pub;
  gchar *peer_id, *failure = NULL;
  gint i;

  memset (&c, 0, sizeof (c));
  g_mutex_init (&c.lock);
  pub = publisher_new (port, TRUE, &c);
  if (!pub || !(peer_id = start_direct (pub))) {
    g_printerr ("FAILED: could not publish directly\n");
    return 1;
  }
  g_print ("peer-id %s\n", peer_id);
  for (i = 0; i < opt_seconds && !failure; i++)
    failure = pop_error (pub, GST_SECOND);
  gst_element_set_state (pub, GST_STATE_NULL);
  gst_object_unref (pub);
  g_print ("sent video %u audio %u\n", c.video_sent, c.audio_sent);
  g_free (peer_id);
  if (failure) {
    g_printerr ("FAILED: %s\n", failure);
    g_free (failure);
    return 1;
  }
  return 0;
}

/* --play PEER: play directly from that peer; success is 95 % of the video
 * frames the received timestamps span */
static gint
run_play_only (guint16 port, const gchar * peer)
{
  Counters c;
  GstElement *play;
  GstBus *bus;
  GstMessage *m;
  gchar *failure = NULL;
  gint i, ret = 1;
  guint expected;

  memset (&c, 0, sizeof (c));
  g_mutex_init (&c.lock);
  play = player_new (port, peer, &c);
  if (!play)
    return 1;
  gst_element_set_state (play, GST_STATE_PLAYING);
  bus = gst_element_get_bus (play);
  m = gst_bus_timed_pop_filtered (bus, 15 * GST_SECOND, GST_MESSAGE_ERROR |
      GST_MESSAGE_ELEMENT);
  while (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT &&
      !gst_message_has_name (m, "rtmfp-direct-session")) {
    gst_message_unref (m);
    m = gst_bus_timed_pop_filtered (bus, 15 * GST_SECOND, GST_MESSAGE_ERROR
        | GST_MESSAGE_ELEMENT);
  }
  gst_object_unref (bus);
  if (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT) {
    const GstStructure *st = gst_message_get_structure (m);
    gdouble rtt = -1;
    gst_structure_get_double (st, "rtt-ms", &rtt);
    g_print ("direct session to %s at %s, rtt %.1f ms\n",
        gst_structure_get_string (st, "peer-id"),
        gst_structure_get_string (st, "address"), rtt);
  } else if (m) {
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    failure = g_strdup (err->message);
    g_error_free (err);
  } else {
    failure = g_strdup ("no direct session within 15 s");
  }
  if (m)
    gst_message_unref (m);
  for (i = 0; i < opt_seconds && !failure; i++)
    failure = pop_error (play, GST_SECOND);
  gst_element_set_state (play, GST_STATE_NULL);
  gst_object_unref (play);
  expected = c.video_decoded ? (guint) ((c.last_video_pts -
          c.first_video_pts) * FPS / GST_SECOND) + 1 : 0;
  g_print ("decoded video %u of %u, audio %u\n", c.video_decoded, expected,
      c.audio_decoded);
  if (failure)
    g_printerr ("FAILED: %s\n", failure);
  else if (expected < FPS || c.video_decoded * 100 < expected * 95 ||
      c.audio_decoded == 0)
    g_printerr ("FAILED: too little arrived\n");
  else
    ret = 0;
  g_free (failure);
  return ret;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- RTMFP demo");
  GError *err = NULL;
  Server server = { 0 };
  Counters c;
  GstElement *pub = NULL, *play = NULL;
  gchar *peer_id = NULL, *line, *failure = NULL;
  GstStructure *st;
  guint64 last_bytes = 0, relayed, bytes_out;
  gboolean direct;
  gint ret = 1, i;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (opt_seconds < 1)
    opt_seconds = 1;
  memset (&c, 0, sizeof (c));
  g_mutex_init (&c.lock);

  if (!gst_element_factory_find ("rtmfpsink")) {
    g_printerr ("the rtmfp plugin is not found: install gst-rtmfp, or set "
        "GST_PLUGIN_PATH to the build's ext/rtmfp (scripts/demo.sh does)\n");
    return 1;
  }
  if (opt_server) {
    const gchar *colon = strrchr (opt_server, ':');
    if (!colon || (opt_publish_only == (opt_play != NULL))) {
      g_printerr ("--server HOST:PORT goes with --publish-only or --play\n");
      return 2;
    }
    server_host = g_strndup (opt_server, colon - opt_server);
    server.port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
    ret = opt_publish_only ? run_publish_only (server.port) :
        run_play_only (server.port, opt_play);
    g_free (server_host);
    return ret;
  }
  server_host = g_strdup ("127.0.0.1");
  if (!server_start (&server))
    goto out;

  /* direct peer to peer when the elements support it */
  if (!opt_relay) {
    pub = publisher_new (server.port, TRUE, &c);
    if (pub && !(peer_id = start_direct (pub)))
      g_clear_object (&pub);
  }
  direct = peer_id != NULL;
  if (!pub) {
    memset (&c, 0, sizeof (c));
    pub = publisher_new (server.port, FALSE, &c);
    if (!pub)
      goto out;
    gst_element_set_state (pub, GST_STATE_PLAYING);
  } else {
    g_print ("publisher: rtmfpsink mode=direct peer-id=%s\n", peer_id);
  }
  play = player_new (server.port, peer_id, &c);
  if (!play)
    goto out;
  gst_element_set_state (play, GST_STATE_PLAYING);
  g_print ("player:    rtmfpsrc %s%s\n", direct ? "peer-id=" : "via server",
      direct ? peer_id : "");
  if (direct) {
    /* the session the server introduced: straight to the publisher */
    GstBus *bus = gst_element_get_bus (play);
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        GST_MESSAGE_ELEMENT);
    while (m && !gst_message_has_name (m, "rtmfp-direct-session")) {
      gst_message_unref (m);
      m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
          GST_MESSAGE_ELEMENT);
    }
    if (m) {
      const GstStructure *s = gst_message_get_structure (m);
      gdouble rtt = -1;
      gst_structure_get_double (s, "rtt-ms", &rtt);
      g_print ("direct:    session to the publisher at %s (the server is "
          "at 127.0.0.1:%u), rtt %.1f ms\n",
          gst_structure_get_string (s, "address"), server.port, rtt);
      gst_message_unref (m);
    }
    gst_object_unref (bus);
  }

  for (i = 1; i <= opt_seconds && !failure; i++) {
    guint64 bytes;
    if ((failure = pop_error (pub, 0)) ||
        (failure = pop_error (play, GST_SECOND)))
      break;
    st = element_stats (play, "src");
    bytes = sget_u64 (st, "bytes-received");
    g_mutex_lock (&c.lock);
    g_print ("[%2ds] video %4u/%4u audio %4u/%4u  %6.0f kbit/s  "
        "rtt %5.1f ms  lost packets %" G_GUINT64_FORMAT "\n", i,
        c.video_decoded, c.video_sent, c.audio_decoded, c.audio_sent,
        (bytes - last_bytes) * 8 / 1000.0, sget_double (st, "rtt-ms"),
        sget_u64 (st, "packets-lost"));
    g_mutex_unlock (&c.lock);
    last_bytes = bytes;
    if (st)
      gst_structure_free (st);
  }

  /* stop the publisher first, let the last frames arrive */
  gst_element_set_state (pub, GST_STATE_NULL);
  g_usleep (300 * 1000);
  line = server_stats (&server);
  relayed = stats_field (line, "relayed");
  bytes_out = stats_field (line, "bytes_out");
  st = element_stats (play, "src");
  gst_element_set_state (play, GST_STATE_NULL);

  g_print ("---\n");
  g_print ("path:      %s\n", direct ? "direct (peer to peer)" :
      "relayed (through rtmfp-server)");
  g_print ("video:     %u frames sent, %u decoded\n", c.video_sent,
      c.video_decoded);
  g_print ("audio:     %u frames sent, %u decoded\n", c.audio_sent,
      c.audio_decoded);
  if (st) {
    gchar *s = gst_structure_to_string (st);
    g_print ("session:   %s\n", s);
    g_free (s);
    gst_structure_free (st);
  }
  g_print ("server:    %s\n", line ? line : "(no stats)");
  if (direct)
    g_print ("server relayed %" G_GUINT64_FORMAT " media messages, sent %"
        G_GUINT64_FORMAT " bytes in all\n", relayed, bytes_out);
  g_free (line);

  if (failure) {
    g_printerr ("FAILED: %s\n", failure);
  } else if (c.video_sent == 0 || c.video_decoded < c.video_sent * 8 / 10 ||
      c.audio_decoded < c.audio_sent * 8 / 10) {
    g_printerr ("FAILED: too little arrived\n");
  } else {
    g_print ("OK\n");
    ret = 0;
  }

out:
  if (pub) {
    gst_element_set_state (pub, GST_STATE_NULL);
    gst_object_unref (pub);
  }
  if (play) {
    gst_element_set_state (play, GST_STATE_NULL);
    gst_object_unref (play);
  }
  server_stop (&server);
  g_free (server_host);
  g_free (peer_id);
  g_free (failure);
  g_mutex_clear (&c.lock);
  return ret;
}
