/* Embedding gst-rtmfp from C: publish a stream with rtmfpsink and play it
 * back with rtmfpsrc, in one program.
 *
 *   publish-and-play [rtmfp://host[:port]/app/stream]
 *
 * Without a location it starts its own rtmfp-server on a free loopback
 * port ($RTMFP_SERVER, else "rtmfp-server" from PATH).  The player starts
 * first; when the server answers NetStream.Play.Start the publisher sends
 * 3 s of H.264 test video and Speex test audio on rtmfpsink's elementary
 * `video` and `audio` pads, and ends; the player decodes what comes out of
 * rtmfpsrc's `video` and `audio` pads and ends when the server tells it the
 * publisher is gone (EOS).  Exit status 0 when the frames arrived and
 * decoded.
 *
 * Build: cc publish-and-play.c $(pkg-config --cflags --libs gstreamer-1.0 gio-2.0)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <string.h>
#include <gio/gio.h>
#include <gst/gst.h>

#define N_FRAMES 90             /* 3 s at 30 fps */
#define N_AUDIO 150             /* 3 s of 20 ms Speex frames */

typedef struct
{
  GMainLoop *loop;
  guint timeout_id;
  GstElement *publisher, *player;
  guint frames;                 /* video frames decoded by the player */
  guint audio;                  /* audio buffers decoded by the player */
  gboolean failed;
} App;

/* Counts the decoded buffers that reach one of the player's sinks */
static GstPadProbeReturn
count_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer counter)
{
  g_atomic_int_inc ((guint *) counter);
  return GST_PAD_PROBE_OK;
}

/* Calls count_buffer for every buffer reaching the sink `name` */
static void
count_buffers (GstElement * pipeline, const gchar * name, guint * counter)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GstPad *pad = gst_element_get_static_pad (sink, "sink");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, counter,
      NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;
  const gchar *who = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;

      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("error from %s: %s (%s)\n", who, err->message, dbg);
      g_clear_error (&err);
      g_free (dbg);
      app->failed = TRUE;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_ELEMENT:{
      /* rtmfpsrc/rtmfpsink post the server's NetStream status codes */
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, "rtmfp-status")) {
        const gchar *code = gst_structure_get_string (s, "code");

        g_print ("%s: %s\n", who, code);
        if (g_strcmp0 (code, "NetStream.Play.Start") == 0)
          gst_element_set_state (app->publisher, GST_STATE_PLAYING);
      }
      break;
    }
    case GST_MESSAGE_EOS:
      g_print ("%s: end of stream\n", who);
      /* the player's EOS follows the publisher's: then all is in */
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (app->player))
        g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer data)
{
  App *app = data;

  g_printerr ("timed out\n");
  app->timeout_id = 0;
  app->failed = TRUE;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

/* Starts rtmfp-server on 127.0.0.1 and returns its port (0 on failure) */
static guint
start_server (GSubprocess ** proc)
{
  const gchar *path = g_getenv ("RTMFP_SERVER");
  GDataInputStream *out;
  gchar *line;
  guint port = 0;
  GError *err = NULL;

  *proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err,
      path ? path : "rtmfp-server", "--rtmfp", "127.0.0.1:0", NULL);
  if (!*proc) {
    g_printerr ("cannot start rtmfp-server: %s\n", err->message);
    g_clear_error (&err);
    return 0;
  }
  /* its first line: "listening rtmfp 127.0.0.1:PORT" */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (*proc));
  line = g_data_input_stream_read_line (out, NULL, NULL, NULL);
  if (line && g_str_has_prefix (line, "listening rtmfp "))
    port = (guint) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  g_free (line);
  g_object_unref (out);
  return port;
}

static GstElement *
make_pipeline (const gchar * name, const gchar * desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  if (!p) {
    g_printerr ("%s: %s\n", name, err->message);
    g_clear_error (&err);
    return NULL;
  }
  gst_object_set_name (GST_OBJECT (p), name);
  return p;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  GSubprocess *server = NULL;
  gchar *location, *desc;
  GstBus *bus;
  guint bus_watch[2];
  int ret = 1;

  gst_init (&argc, &argv);

  if (argc > 1) {
    location = g_strdup (argv[1]);
  } else {
    guint port = start_server (&server);

    if (port == 0)
      return 1;
    location = g_strdup_printf ("rtmfp://127.0.0.1:%u/live/example", port);
  }
  g_print ("stream: %s\n", location);

  /* one pad per medium: no muxer */
  desc = g_strdup_printf ("rtmfpsink name=s location=%s "
      "videotestsrc is-live=true num-buffers=%d ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency key-int-max=30 ! h264parse ! s.video "
      "audiotestsrc is-live=true num-buffers=%d samplesperbuffer=320 ! "
      "audio/x-raw,rate=16000,channels=1 ! speexenc ! s.audio",
      location, N_FRAMES, N_AUDIO);
  app.publisher = make_pipeline ("publisher", desc);
  g_free (desc);
  /* rtmfpsrc adds its `video` and `audio` pads when the stream has them */
  desc = g_strdup_printf ("rtmfpsrc name=src location=%s "
      "src.video ! queue ! h264parse ! avdec_h264 ! fakesink name=vout "
      "src.audio ! queue ! speexdec ! fakesink name=aout", location);
  app.player = make_pipeline ("player", desc);
  g_free (desc);
  if (!app.publisher || !app.player)
    goto done;

  count_buffers (app.player, "vout", &app.frames);
  count_buffers (app.player, "aout", &app.audio);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.publisher);
  bus_watch[0] = gst_bus_add_watch (bus, on_message, &app);
  gst_object_unref (bus);
  bus = gst_element_get_bus (app.player);
  bus_watch[1] = gst_bus_add_watch (bus, on_message, &app);
  gst_object_unref (bus);
  app.timeout_id = g_timeout_add_seconds (30, on_timeout, &app);

  /* the player first; on_message starts the publisher */
  gst_element_set_state (app.player, GST_STATE_PLAYING);
  g_main_loop_run (app.loop);

  gst_element_set_state (app.publisher, GST_STATE_NULL);
  gst_element_set_state (app.player, GST_STATE_NULL);
  g_source_remove (bus_watch[0]);
  g_source_remove (bus_watch[1]);
  if (app.timeout_id)
    g_source_remove (app.timeout_id);
  g_main_loop_unref (app.loop);

  g_print ("video frames sent: %d, decoded: %u; audio frames sent: %d, "
      "decoded: %u\n", N_FRAMES, app.frames, N_AUDIO, app.audio);
  /* on loopback nothing is lost; allow for a late first keyframe */
  if (!app.failed && app.frames >= N_FRAMES / 2 && app.audio >= N_AUDIO / 2)
    ret = 0;

done:
  g_clear_object (&app.publisher);
  g_clear_object (&app.player);
  if (server) {
    g_subprocess_send_signal (server, SIGTERM);
    g_subprocess_wait (server, NULL, NULL);
    g_object_unref (server);
  }
  g_free (location);
  return ret;
}
