/* rtmfp-bench-latency: capture-to-decoder latency on loopback, rtmfpsink's
 * and rtmfpsrc's elementary pads against flvmux ! rtmfpsink and
 * rtmfpsrc ! flvdemux (issue 12).
 *
 *   rtmfp-bench-latency [--seconds N] [--runs N] [--mode elementary|flv|both]
 *                       [--server PATH] [--out FILE]
 *
 * Starts rtmfp-server on 127.0.0.1 (PATH, else $RTMFP_SERVER, else
 * rtmfp-server from PATH), then per run and mode a player, and once the
 * player is waiting for the stream, a publisher, in this one process on
 * the one system clock:
 *
 *   publisher  videotestsrc is-live 640x360 30 fps ! x264enc tune=zerolatency
 *              speed-preset=ultrafast 1500 kbit/s, 2 s GOP ! h264parse, and
 *              audiotestsrc is-live 16 kHz mono 20 ms ! speexenc,
 *              into rtmfpsink's video and audio pads (elementary), or
 *              through queues and flvmux streamable=true into its sink pad
 *              (flv; the Speex header buffers get a timestamp, as GStreamer
 *              1.22's flvmux otherwise never sends audio);
 *   player     rtmfpsrc's video and audio pads (elementary), or its src pad
 *              into flvdemux (flv); queue ! h264parse ! avdec_h264 and
 *              queue ! speexdec, into fakesinks that do not sync.
 *
 * Latency of a frame = when its decoded buffer leaves the decoder - when
 * the source handed it over (clock times in pad probes: a live source
 * pushes a buffer once it is complete, a 20 ms audio buffer at its end).
 * Decoded frames are matched to captured ones by timestamp: both ends keep
 * one timeline for audio and video, so the offset between the player's and
 * the publisher's timestamps is the same for both and is taken from video
 * (nothing is lost on loopback: the i-th decoded video frame is the i-th
 * captured one; a run where the counts differ is reported and left out).
 * Prints p50 / p99 / max per mode and medium, over all runs; with --out
 * also writes them as a Markdown table with the machine and the command.
 *
 * Not a test: numbers depend on the machine and its load.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "benchutil.h"

static gint opt_seconds = 20, opt_runs = 3;
static gchar *opt_mode, *opt_server, *opt_out;
static gboolean opt_version, opt_no_sync;

static GOptionEntry entries[] = {
  {"seconds", 0, 0, G_OPTION_ARG_INT, &opt_seconds,
      "Seconds of stream per run (default 20)", "N"},
  {"runs", 0, 0, G_OPTION_ARG_INT, &opt_runs, "Runs per mode (default 3)",
      "N"},
  {"mode", 0, 0, G_OPTION_ARG_STRING, &opt_mode,
      "elementary, flv or both (default)", "MODE"},
  {"server", 0, 0, G_OPTION_ARG_FILENAME, &opt_server,
      "rtmfp-server binary (default $RTMFP_SERVER, else from PATH)", "PATH"},
  {"out", 0, 0, G_OPTION_ARG_FILENAME, &opt_out,
      "Also write the results as Markdown to FILE", "FILE"},
  {"no-sync", 0, 0, G_OPTION_ARG_NONE, &opt_no_sync,
      "rtmfpsink sync=false: send each frame as it comes instead of at its "
        "running time plus the pipeline latency (the default, as rtmp2sink "
        "and srtsink)", NULL},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

enum { VIDEO, AUDIO, N_MEDIA };
static const gchar *const media_names[N_MEDIA] = { "video", "audio" };

typedef struct {
  GstClockTime pts;             /* the publisher's PTS */
  GstClockTime t;               /* captured (clock time) */
} Captured;

typedef struct {
  GstClockTime pts;             /* the player's PTS */
  GstClockTime t;               /* left the decoder (clock time) */
} Decoded;

typedef struct {
  GMutex lock;
  GArray *captured[N_MEDIA];    /* Captured */
  GArray *decoded[N_MEDIA];     /* Decoded */
  GArray *encoded_audio;        /* GstClockTime: speexenc's output PTS */
  GstElement *publisher;
  gboolean waiting;             /* the player waits for the stream */
  gboolean failed;
  GstClock *clock;
} Run;

/* ---- probes ---- */

static GstPadProbeReturn
capture_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint m = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (pad), "medium"));
  Captured c;

  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  c.pts = GST_BUFFER_PTS (buf);
  /* when the source hands the buffer over (a microphone's buffer is full,
   * a camera's frame is there) */
  c.t = gst_clock_get_time (r->clock);
  g_mutex_lock (&r->lock);
  g_array_append_val (r->captured[m], c);
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
decode_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint m = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (pad), "medium"));
  Decoded d;

  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  d.pts = GST_BUFFER_PTS (buf);
  d.t = gst_clock_get_time (r->clock);
  g_mutex_lock (&r->lock);
  g_array_append_val (r->decoded[m], d);
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

/* speexenc's frames carry other timestamps than the source's buffers (the
 * codec's lookahead): the k-th encoded frame is the k-th captured one */
static GstPadProbeReturn
encoded_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Run *r = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime pts = GST_BUFFER_PTS (buf);

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER) ||
      !GST_CLOCK_TIME_IS_VALID (pts))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&r->lock);
  g_array_append_val (r->encoded_audio, pts);
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

/* GStreamer 1.22's flvmux never schedules speexenc's untimestamped header
 * buffers: give them the first timestamp (what an application must do) */
static GstPadProbeReturn
speex_header_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!GST_BUFFER_PTS_IS_VALID (buf)) {
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = 0;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement * bin, const gchar * name, guint medium,
    GstPadProbeCallback cb, gpointer data)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, "src");

  g_object_set_data (G_OBJECT (pad), "medium", GUINT_TO_POINTER (medium));
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

/* ---- pipelines ---- */

#define VIDEO_IN "videotestsrc name=vsrc is-live=true " \
  "! video/x-raw,width=640,height=360,framerate=30/1 " \
  "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=1500 " \
  "key-int-max=60 ! h264parse "
#define AUDIO_IN "audiotestsrc name=asrc is-live=true samplesperbuffer=320 " \
  "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc "
#define VIDEO_OUT "queue ! h264parse ! avdec_h264 name=vdec " \
  "! fakesink sync=false async=false "
#define AUDIO_OUT "queue ! speexdec name=adec ! fakesink sync=false " \
  "async=false "

static GstElement *
make (const gchar * desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  if (!p) {
    g_printerr ("cannot build \"%s\": %s\n", desc, err->message);
    exit (1);
  }
  return p;
}

static GstElement *
publisher_new (gboolean flv, const gchar * location)
{
  gchar *d = flv ?
      g_strdup_printf (VIDEO_IN "! queue ! flvmux name=m streamable=true "
      "! rtmfpsink sync=%s location=%s " AUDIO_IN "! queue ! m.",
      opt_no_sync ? "false" : "true", location) :
      g_strdup_printf ("rtmfpsink name=s sync=%s location=%s " VIDEO_IN
      "! s.video " AUDIO_IN "! s.audio", opt_no_sync ? "false" : "true",
      location);
  GstElement *p = make (d);

  g_free (d);
  return p;
}

static GstElement *
player_new (gboolean flv, const gchar * location)
{
  gchar *d = flv ?
      g_strdup_printf ("rtmfpsrc location=%s ! flvdemux name=d "
      "d.video ! " VIDEO_OUT "d.audio ! " AUDIO_OUT, location) :
      g_strdup_printf ("rtmfpsrc name=s location=%s s.video ! " VIDEO_OUT
      "s.audio ! " AUDIO_OUT, location);
  GstElement *p = make (d);

  g_free (d);
  return p;
}

/* Pops bus messages for up to `wait`; returns when `stop` says so.
 * Errors fail the run. */
static gboolean
pump (Run * r, GstElement * p, GstClockTime wait,
    gboolean (*stop) (Run *, GstMessage *))
{
  GstBus *bus = gst_element_get_bus (p);
  gint64 end = g_get_monotonic_time () + wait / 1000;
  gboolean done = FALSE;

  while (!done && g_get_monotonic_time () < end) {
    GstMessage *m = gst_bus_timed_pop (bus, 50 * GST_MSECOND);

    if (!m)
      continue;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;

      gst_message_parse_error (m, &err, &dbg);
      g_printerr ("error from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (m),
          err->message, dbg);
      g_clear_error (&err);
      g_free (dbg);
      r->failed = TRUE;
      done = TRUE;
    } else if (stop && stop (r, m)) {
      done = TRUE;
    }
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  return done && !r->failed;
}

static gboolean
is_waiting (Run * r, GstMessage * m)
{
  const GstStructure *s = gst_message_get_structure (m);

  return GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT && s &&
      (gst_structure_has_name (s, "rtmfp-waiting") ||
      (gst_structure_has_name (s, "rtmfp-status") &&
          !g_strcmp0 (gst_structure_get_string (s, "code"),
              "NetStream.Play.Start")));
}

static gboolean
is_eos (Run * r, GstMessage * m)
{
  return GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
}

/* ---- statistics ---- */

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
percentile (GArray * sorted, gdouble q)
{
  guint i;

  if (sorted->len == 0)
    return 0;
  i = (guint) (q * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, gdouble, i);
}

/* Latencies (ms) of this run's decoded frames, appended to out[m]; FALSE
 * when the run cannot be matched */
static gboolean
collect (Run * r, GArray * out[N_MEDIA])
{
  GArray *cv = r->captured[VIDEO], *dv = r->decoded[VIDEO];
  GstClockTimeDiff offset;
  guint m, i, j;

  if (dv->len < 30 || cv->len < dv->len) {
    g_printerr ("  run left out: %u video frames captured, %u decoded\n",
        cv->len, dv->len);
    return FALSE;
  }
  /* the player starts with the publisher's first frame (it waited): the
   * decoded frames are the first dv->len captured ones */
  offset = GST_CLOCK_DIFF (g_array_index (cv, Captured, 0).pts,
      g_array_index (dv, Decoded, 0).pts);
  /* audio: the timestamps the stream carries are speexenc's */
  for (i = 0; i < r->captured[AUDIO]->len && i < r->encoded_audio->len; i++)
    g_array_index (r->captured[AUDIO], Captured, i).pts =
        g_array_index (r->encoded_audio, GstClockTime, i);
  g_array_set_size (r->captured[AUDIO], i);
  for (m = 0; m < N_MEDIA; m++) {
    GArray *c = r->captured[m], *d = r->decoded[m];

    for (i = 0, j = 0; i < d->len; i++) {
      Decoded *x = &g_array_index (d, Decoded, i);
      GstClockTime want = x->pts - offset;

      /* captured timestamps increase: advance to the nearest one */
      while (j + 1 < c->len && g_array_index (c, Captured, j + 1).pts <=
          want + 2 * GST_MSECOND)
        j++;
      if (j < c->len && ABS (GST_CLOCK_DIFF (g_array_index (c, Captured,
                      j).pts, want)) <= 2 * GST_MSECOND) {
        gdouble ms = GST_CLOCK_DIFF (g_array_index (c, Captured, j).t,
            x->t) / 1e6;

        g_array_append_val (out[m], ms);
      }
    }
  }
  return TRUE;
}

/* ---- one run ---- */

static gboolean
run_once (gboolean flv, const gchar * location, GArray * out[N_MEDIA])
{
  Run r = { 0 };
  GstElement *player;
  guint m;
  gboolean ok = FALSE;

  g_mutex_init (&r.lock);
  for (m = 0; m < N_MEDIA; m++) {
    r.captured[m] = g_array_new (FALSE, FALSE, sizeof (Captured));
    r.decoded[m] = g_array_new (FALSE, FALSE, sizeof (Decoded));
  }
  r.encoded_audio = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  r.clock = gst_system_clock_obtain ();
  player = player_new (flv, location);
  r.publisher = publisher_new (flv, location);
  gst_pipeline_use_clock (GST_PIPELINE (player), r.clock);
  gst_pipeline_use_clock (GST_PIPELINE (r.publisher), r.clock);
  add_probe (r.publisher, "vsrc", VIDEO, capture_probe, &r);
  add_probe (r.publisher, "asrc", AUDIO, capture_probe, &r);
  if (flv)
    add_probe (r.publisher, "aenc", AUDIO, speex_header_probe, NULL);
  add_probe (r.publisher, "aenc", AUDIO, encoded_probe, &r);
  add_probe (player, "vdec", VIDEO, decode_probe, &r);
  add_probe (player, "adec", AUDIO, decode_probe, &r);

  gst_element_set_state (player, GST_STATE_PLAYING);
  if (!pump (&r, player, 20 * GST_SECOND, is_waiting)) {
    g_printerr ("  the player did not start waiting\n");
    goto done;
  }
  gst_element_set_state (r.publisher, GST_STATE_PLAYING);
  pump (&r, r.publisher, opt_seconds * GST_SECOND, NULL);
  if (r.failed)
    goto done;
  gst_element_send_event (r.publisher, gst_event_new_eos ());
  if (!pump (&r, r.publisher, 10 * GST_SECOND, is_eos)) {
    g_printerr ("  the publisher did not end\n");
    goto done;
  }
  /* the player ends with the stream (UnpublishNotify, then EOS) */
  pump (&r, player, 10 * GST_SECOND, is_eos);
  g_mutex_lock (&r.lock);
  ok = collect (&r, out);
  g_mutex_unlock (&r.lock);

done:
  gst_element_set_state (r.publisher, GST_STATE_NULL);
  gst_element_set_state (player, GST_STATE_NULL);
  gst_object_unref (r.publisher);
  gst_object_unref (player);
  gst_object_unref (r.clock);
  g_array_unref (r.encoded_audio);
  for (m = 0; m < N_MEDIA; m++) {
    g_array_unref (r.captured[m]);
    g_array_unref (r.decoded[m]);
  }
  g_mutex_clear (&r.lock);
  return ok;
}

/* ---- the server ---- */

static GSubprocess *
server_start (guint * port)
{
  const gchar *path = opt_server ? opt_server : g_getenv ("RTMFP_SERVER");
  GError *err = NULL;
  GSubprocess *p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err,
      path ? path : "rtmfp-server", "--rtmfp", "127.0.0.1:0", NULL);
  GDataInputStream *in;
  gchar *line;

  if (!p) {
    g_printerr ("cannot start rtmfp-server: %s\n", err->message);
    exit (1);
  }
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  if (!line || !g_str_has_prefix (line, "listening rtmfp ")) {
    g_printerr ("rtmfp-server did not start\n");
    exit (1);
  }
  *port = (guint) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  g_free (line);
  g_object_unref (in);
  return p;
}

/* ---- main ---- */

typedef struct {
  const gchar *name;
  gboolean flv;
  GArray *lat[N_MEDIA];
  guint runs_ok;
} Mode;

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- capture-to-decoder latency, "
      "elementary pads vs FLV");
  GError *err = NULL;
  Mode modes[2] = { {"elementary", FALSE}, {"flv", TRUE} };
  GString *report;
  gchar *cmd, *machine, *location;
  GSubprocess *server;
  guint port, i, m, k;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  cmd = g_strjoinv (" ", argv);
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  g_option_context_free (ctx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    g_free (cmd);
    return 0;
  }
  if (opt_mode && strcmp (opt_mode, "both") && strcmp (opt_mode, "flv") &&
      strcmp (opt_mode, "elementary")) {
    g_printerr ("--mode: elementary, flv or both\n");
    return 1;
  }
  if (opt_seconds < 2 || opt_runs < 1) {
    g_printerr ("--seconds must be at least 2, --runs at least 1\n");
    return 1;
  }

  server = server_start (&port);
  location = g_strdup_printf ("rtmfp://127.0.0.1:%u/live/latency", port);
  for (k = 0; k < 2; k++) {
    if (opt_mode && strcmp (opt_mode, "both") &&
        strcmp (opt_mode, modes[k].name))
      continue;
    for (m = 0; m < N_MEDIA; m++)
      modes[k].lat[m] = g_array_new (FALSE, FALSE, sizeof (gdouble));
  }
  /* alternate the modes run by run, so load changes hit both alike */
  for (i = 0; i < (guint) opt_runs; i++) {
    for (k = 0; k < 2; k++) {
      if (!modes[k].lat[0])
        continue;
      g_print ("run %u, %s ...\n", i + 1, modes[k].name);
      if (run_once (modes[k].flv, location, modes[k].lat))
        modes[k].runs_ok++;
    }
  }
  g_subprocess_send_signal (server, SIGTERM);
  g_subprocess_wait (server, NULL, NULL);
  g_object_unref (server);

  machine = bench_machine_description ();
  report = g_string_new (NULL);
  g_string_append_printf (report, "Capture-to-decoder latency on loopback "
      "through rtmfp-server, %d s per run, 640x360 H.264 1.5 Mbit/s + "
      "Speex 16 kHz, rtmfpsink sync=%s\n\nmachine: %s\n\n", opt_seconds,
      opt_no_sync ? "false" : "true (default)", machine);
  g_string_append (report, "| publisher -> player | runs | medium | frames "
      "| p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n");
  for (k = 0; k < 2; k++) {
    if (!modes[k].lat[0])
      continue;
    for (m = 0; m < N_MEDIA; m++) {
      GArray *a = modes[k].lat[m];

      g_array_sort (a, cmp_double);
      g_string_append_printf (report, "| %s | %u/%d | %s | %u | %.1f | "
          "%.1f | %.1f |\n", modes[k].flv ?
          "flvmux ! rtmfpsink -> rtmfpsrc ! flvdemux" :
          "rtmfpsink pads -> rtmfpsrc pads", modes[k].runs_ok, opt_runs,
          media_names[m], a->len, percentile (a, 0.5), percentile (a, 0.99),
          a->len ? g_array_index (a, gdouble, a->len - 1) : 0.0);
      g_array_unref (a);
    }
  }
  g_string_append_printf (report, "\ncommand: `%s`\n", cmd);
  g_print ("\n%s", report->str);
  if (opt_out && !g_file_set_contents (opt_out, report->str, -1, &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  g_string_free (report, TRUE);
  g_free (machine);
  g_free (cmd);
  g_free (location);
  return 0;
}
