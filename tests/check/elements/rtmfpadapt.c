/* rtmfpsink's bandwidth report, adaptive bitrate and congestion-control
 * (issue 14): the properties, the `rtmfp-bandwidth` message, and x264enc's
 * bitrate lowered by rtmfpsink behind a rate-limited path (a drop-tail
 * bottleneck in the test's UDP proxy, rtmfptestutil.c).
 *
 * Every wait is on a condition with a bound.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"

#include "rtmfptestutil.h"
#include "../libs/testci.h"

/* ------------------------------------------------------------------ */
/* properties                                                          */

static void
assert_enum_nick (GObject * o, const gchar * name, const gchar * nick)
{
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (o), name);
  GEnumValue *v;
  gint value;

  fail_unless (p && G_IS_PARAM_SPEC_ENUM (p), "%s has no enum %s",
      G_OBJECT_TYPE_NAME (o), name);
  g_object_get (o, name, &value, NULL);
  v = g_enum_get_value (G_PARAM_SPEC_ENUM (p)->enum_class, value);
  fail_unless (v != NULL);
  fail_unless_equals_string (v->value_nick, nick);
}

/* A value out of the property's range is refused (clamped by the param
 * spec's validation, never stored as given) */
static void
assert_uint_refused (GObject * o, const gchar * name, guint bad)
{
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (o), name);
  GValue v = G_VALUE_INIT;

  fail_unless (p != NULL);
  g_value_init (&v, G_TYPE_UINT);
  g_value_set_uint (&v, bad);
  fail_unless (g_param_value_validate (p, &v), "%s accepts %u", name, bad);
  g_value_unset (&v);
}

static void
assert_launch_refused (const gchar * desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);

  fail_unless (err != NULL, "accepted: %s", desc);
  g_clear_error (&err);
  if (p)
    gst_object_unref (p);
}

GST_START_TEST (test_properties)
{
  GstElement *sink = gst_element_factory_make ("rtmfpsink", NULL);
  GstElement *src = gst_element_factory_make ("rtmfpsrc", NULL);
  GstElement *asink = gst_element_factory_make ("rtmfpautosink", NULL);
  GstElement *asrc = gst_element_factory_make ("rtmfpautosrc", NULL);
  gboolean adapt = TRUE;
  guint min = 0, max = 1;
  GstStructure *st = NULL;

  fail_unless (sink && src && asink && asrc);
  /* defaults */
  g_object_get (sink, "adapt-bitrate", &adapt, "min-bitrate", &min,
      "max-bitrate", &max, NULL);
  fail_unless (!adapt);
  fail_unless_equals_int (min, 100);
  fail_unless_equals_int (max, 0);
  assert_enum_nick (G_OBJECT (sink), "congestion-control", "tcp");
  assert_enum_nick (G_OBJECT (src), "congestion-control", "tcp");
  assert_enum_nick (G_OBJECT (asink), "congestion-control", "tcp");
  assert_enum_nick (G_OBJECT (asrc), "congestion-control", "tcp");
  /* the stats name the controller, before a start too */
  g_object_get (sink, "stats", &st, NULL);
  fail_unless_equals_string (gst_structure_get_string (st,
          "congestion-control"), "tcp");
  gst_structure_free (st);

  /* values */
  gst_util_set_object_arg (G_OBJECT (sink), "congestion-control", "media");
  gst_util_set_object_arg (G_OBJECT (src), "congestion-control", "media");
  gst_util_set_object_arg (G_OBJECT (asink), "congestion-control", "media");
  gst_util_set_object_arg (G_OBJECT (asrc), "congestion-control", "media");
  assert_enum_nick (G_OBJECT (sink), "congestion-control", "media");
  assert_enum_nick (G_OBJECT (src), "congestion-control", "media");
  assert_enum_nick (G_OBJECT (asink), "congestion-control", "media");
  assert_enum_nick (G_OBJECT (asrc), "congestion-control", "media");
  g_object_set (sink, "adapt-bitrate", TRUE, "min-bitrate", 250,
      "max-bitrate", 3000, NULL);
  g_object_get (sink, "adapt-bitrate", &adapt, "min-bitrate", &min,
      "max-bitrate", &max, NULL);
  fail_unless (adapt);
  fail_unless_equals_int (min, 250);
  fail_unless_equals_int (max, 3000);

  /* ranges: min 1-10000000, max 0-10000000 kbit/s */
  assert_uint_refused (G_OBJECT (sink), "min-bitrate", 0);
  assert_uint_refused (G_OBJECT (sink), "min-bitrate", 10000001);
  assert_uint_refused (G_OBJECT (sink), "max-bitrate", 10000001);

  /* bad values of the launch syntax */
  assert_launch_refused ("fakesrc ! rtmfpsink congestion-control=bbr");
  assert_launch_refused ("rtmfpsrc congestion-control=2x ! fakesink");
  assert_launch_refused ("fakesrc ! rtmfpautosink congestion-control=cubic");
  assert_launch_refused ("rtmfpautosrc congestion-control=reno ! fakesink");
  assert_launch_refused ("fakesrc ! rtmfpsink adapt-bitrate=maybe");

  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (asink);
  gst_object_unref (asrc);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* the publisher and what its bus says                                 */

typedef struct
{
  gint64 time;
  guint kbps;
} Change;

typedef struct
{
  GMutex lock;
  GCond cond;
  guint n_bandwidth;
  GstStructure *first;          /* the first rtmfp-bandwidth */
  GstStructure *last;           /* the last */
  GstStructure *lowered;        /* the first with bitrate <= want_below */
  guint want_below;
  GstStructure *raised;         /* then the first with bitrate >= want_above */
  guint want_above;
  GArray *changes;              /* Change: every new bitrate */
  guint errors;
  gchar *error_text;
} Rec;

static GstBusSyncReply
rec_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  Rec *r = data;
  const GstStructure *s = gst_message_get_structure (msg);

  g_mutex_lock (&r->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    if (r->errors++ == 0)
      r->error_text = g_strdup (err->message);
    g_error_free (err);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (s, "rtmfp-bandwidth")) {
    guint bitrate = 0;
    gchar *str = gst_structure_to_string (s);

    g_print ("%s\n", str);
    g_free (str);
    r->n_bandwidth++;
    if (!r->first)
      r->first = gst_structure_copy (s);
    if (r->last)
      gst_structure_free (r->last);
    r->last = gst_structure_copy (s);
    gst_structure_get_uint (s, "bitrate", &bitrate);
    if (bitrate && (r->changes->len == 0 || g_array_index (r->changes,
                Change, r->changes->len - 1).kbps != bitrate)) {
      Change c = { g_get_monotonic_time (), bitrate };
      g_array_append_val (r->changes, c);
    }
    if (!r->lowered && bitrate > 0 && bitrate <= r->want_below)
      r->lowered = gst_structure_copy (s);
    else if (r->lowered && !r->raised && r->want_above &&
        bitrate >= r->want_above)
      r->raised = gst_structure_copy (s);
  }
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  return GST_BUS_PASS;
}

static void
rec_init (Rec * r, guint want_below)
{
  memset (r, 0, sizeof *r);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->want_below = want_below;
  r->changes = g_array_new (FALSE, FALSE, sizeof (Change));
}

static void
rec_clear (Rec * r)
{
  g_clear_pointer (&r->first, gst_structure_free);
  g_clear_pointer (&r->last, gst_structure_free);
  g_clear_pointer (&r->lowered, gst_structure_free);
  g_clear_pointer (&r->raised, gst_structure_free);
  g_array_unref (r->changes);
  g_free (r->error_text);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
}

/* Waits until pred holds (or an error, or the bound) */
typedef gboolean (*RecPred) (Rec * r);

static gboolean
rec_wait (Rec * r, RecPred pred, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok;

  g_mutex_lock (&r->lock);
  while (!(ok = pred (r)) && !r->errors)
    if (!g_cond_wait_until (&r->cond, &r->lock, end))
      break;
  ok = pred (r);
  fail_if (r->errors, "error: %s", r->error_text);
  g_mutex_unlock (&r->lock);
  return ok;
}

static gboolean
have_bandwidth (Rec * r)
{
  return r->first != NULL;
}

static gboolean
have_lowered (Rec * r)
{
  return r->lowered != NULL;
}

static gboolean
have_raised (Rec * r)
{
  return r->raised != NULL;
}

/* 320x240 of noise (every bit of the bitrate is needed) at 30 fps through
 * h264parse and a queue, and Speex */
/* The encoder: x264enc (kbit/s) unless openh264 (openh264enc, bit/s) */
static gchar *
encoder_desc (guint kbps, gboolean openh264)
{
  return openh264 ? g_strdup_printf ("openh264enc name=enc bitrate=%u "
      "rate-control=bitrate gop-size=30", kbps * 1000) :
      g_strdup_printf ("x264enc name=enc bitrate=%u tune=zerolatency "
      "key-int-max=30 speed-preset=ultrafast", kbps);
}

static GstElement *
adaptive_publisher_enc (guint16 port, const gchar * stream,
    const gchar * props, guint kbps, gboolean flv, gboolean openh264,
    Rec * r)
{
  gchar *enc = encoder_desc (kbps, openh264);
  gchar *desc = flv ? g_strdup_printf ("videotestsrc is-live=true "
      "pattern=snow ! video/x-raw,width=320,height=240,framerate=30/1 "
      "! %s ! h264parse ! queue ! flvmux streamable=true "
      "! rtmfpsink name=sink %s location=rtmfp://127.0.0.1:%u/live/%s",
      enc, props, port, stream) :
      g_strdup_printf ("rtmfpsink name=sink %s "
      "location=rtmfp://127.0.0.1:%u/live/%s "
      "videotestsrc is-live=true pattern=snow "
      "! video/x-raw,width=320,height=240,framerate=30/1 "
      "! %s ! h264parse ! queue ! sink.video "
      "audiotestsrc is-live=true samplesperbuffer=320 "
      "! audio/x-raw,rate=16000,channels=1 ! speexenc ! queue ! sink.audio",
      props, port, stream, enc);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstBus *bus;

  fail_unless (p != NULL, "%s", err ? err->message : "?");
  g_free (desc);
  g_free (enc);
  bus = gst_element_get_bus (p);
  gst_bus_set_sync_handler (bus, rec_handler, r, NULL);
  gst_object_unref (bus);
  return p;
}

static GstElement *
adaptive_publisher (guint16 port, const gchar * stream, const gchar * props,
    guint kbps, gboolean flv, Rec * r)
{
  return adaptive_publisher_enc (port, stream, props, kbps, flv, FALSE, r);
}

static void
publisher_stop (GstElement * p)
{
  GstBus *bus = gst_element_get_bus (p);

  set_state_checked (p, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
}

/* The encoder's bitrate in kbit/s (openh264enc's is in bit/s) */
static guint
enc_bitrate (GstElement * p)
{
  GstElement *enc = gst_bin_get_by_name (GST_BIN (p), "enc");
  gboolean bps = g_str_equal (GST_OBJECT_NAME (gst_element_get_factory
          (enc)), "openh264enc");
  guint v = 0;

  g_object_get (enc, "bitrate", &v, NULL);
  gst_object_unref (enc);
  return bps ? v / 1000 : v;
}

static GstStructure *
sink_stats (GstElement * p)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstStructure *s = NULL;

  g_object_get (sink, "stats", &s, NULL);
  gst_object_unref (sink);
  return s;
}

/* ------------------------------------------------------------------ */
/* behaviour                                                           */

/* No bottleneck, adapt-bitrate off: rtmfp-bandwidth comes with a sane
 * estimate and bitrate 0, and congestion-control=media is what the
 * sessions use (stats and message say so) */
GST_START_TEST (test_bandwidth_message_media)
{
  Server *srv = server_start ("live", FALSE);
  Rec r;
  GstElement *p;
  GstStructure *st;
  guint64 est = 0;
  guint bitrate = 1;
  gdouble rtt = -1, loss = -1;
  GstElement *play, *src;
  Got got;

  rec_init (&r, 0);
  p = adaptive_publisher (srv->port, "bw", "congestion-control=media", 1000,
      FALSE, &r);
  set_state_checked (p, GST_STATE_PLAYING);
  fail_unless (rec_wait (&r, have_bandwidth, 20 * SEC),
      "no rtmfp-bandwidth message within 20 s");
  g_mutex_lock (&r.lock);
  st = gst_structure_copy (r.first);
  g_mutex_unlock (&r.lock);
  fail_unless (gst_structure_get_uint64 (st, "rate-estimate-kbps", &est));
  /* loopback: at least the stream's own rate, at most 100 Gbit/s */
  fail_unless (est >= 100 && est <= 100000000, "estimate %" G_GUINT64_FORMAT,
      est);
  fail_unless (gst_structure_get_uint (st, "bitrate", &bitrate));
  fail_unless_equals_int (bitrate, 0);
  fail_unless (gst_structure_get_double (st, "rtt-ms", &rtt));
  fail_unless (rtt >= 0 && rtt < 1000, "rtt %f", rtt);
  fail_unless (gst_structure_get_double (st, "loss", &loss));
  fail_unless (loss >= 0 && loss <= 1);
  fail_unless_equals_string (gst_structure_get_string (st,
          "congestion-control"), "media");
  gst_structure_free (st);
  /* x264enc untouched */
  fail_unless_equals_int (enc_bitrate (p), 1000);

  st = sink_stats (p);
  fail_unless_equals_string (gst_structure_get_string (st,
          "congestion-control"), "media");
  fail_unless (gst_structure_get_uint64 (st, "rate-estimate-kbps", &est));
  fail_unless (est > 0);
  gst_structure_free (st);

  /* a player with congestion-control=media decodes the stream and says
   * so in its stats */
  got_init (&got);
  play = player_new_full (srv->port, "live/bw", &got,
      "congestion-control=media ", MEDIA_ELEMENTARY);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 20 * SEC),
      "the media-controlled player decoded nothing in 20 s");
  src = gst_bin_get_by_name (GST_BIN (play), "src");
  g_object_get (src, "stats", &st, NULL);
  fail_unless_equals_string (gst_structure_get_string (st,
          "congestion-control"), "media");
  gst_structure_free (st);
  gst_object_unref (src);
  set_state_checked (play, GST_STATE_NULL);
  gst_object_unref (play);
  got_clear (&got);

  publisher_stop (p);
  rec_clear (&r);
  server_stop (srv);
}

GST_END_TEST;

/* x264enc at 2 Mbit/s behind a 500 kbit/s bottleneck (150 ms drop-tail
 * queue): rtmfpsink lowers x264enc's bitrate to fit, reports it in
 * rtmfp-bandwidth, and the estimate says why */
static void
run_adapt_behind_bottleneck (const gchar * cc, gboolean widen, gboolean flv,
    gboolean openh264)
{
  Server *srv = server_start ("live", FALSE);
  Proxy *px = proxy_start (srv->port);
  Rec r;
  GstElement *p;
  gchar *props = g_strdup_printf ("adapt-bitrate=true min-bitrate=150 "
      "congestion-control=%s", cc);
  guint64 est = 0;
  guint bitrate = 0, now_kbps;
  gint64 t0;

  proxy_set_up_rate (px, 500000, 150 * G_TIME_SPAN_MILLISECOND);
  /* lowered below the path's 500 kbit/s */
  rec_init (&r, 480);
  p = adaptive_publisher_enc (proxy_port (px), "adapt", props, 2000, flv,
      openh264, &r);
  t0 = g_get_monotonic_time ();
  set_state_checked (p, GST_STATE_PLAYING);
  fail_unless (rec_wait (&r, have_lowered, 40 * SEC),
      "%s: the encoder's bitrate not lowered below 480 kbit/s within 40 s "
      "(now %u)", cc, enc_bitrate (p));
  g_print ("%s: lowered after %.1f s; bottleneck dropped %" G_GUINT64_FORMAT
      " datagrams\n", cc, (g_get_monotonic_time () - t0) / 1e6,
      proxy_rate_dropped (px));

  g_mutex_lock (&r.lock);
  fail_unless (gst_structure_get_uint (r.lowered, "bitrate", &bitrate));
  fail_unless (gst_structure_get_uint64 (r.lowered, "rate-estimate-kbps",
          &est));
  fail_unless_equals_string (gst_structure_get_string (r.lowered,
          "encoder"), openh264 ? "openh264enc" : "x264enc");
  fail_unless_equals_string (gst_structure_get_string (r.lowered,
          "congestion-control"), cc);
  g_mutex_unlock (&r.lock);
  /* the estimate that lowered it: below the stream (2 Mbit/s), and
   * 0.85 x estimate - audio is the bitrate set (or min-bitrate) */
  fail_unless (est > 0 && est < 2000, "estimate %" G_GUINT64_FORMAT, est);
  fail_unless (bitrate >= 150 && bitrate <= est * 85 / 100,
      "bitrate %u for estimate %" G_GUINT64_FORMAT, bitrate, est);
  /* x264enc has it (or a later value the sink set) */
  now_kbps = enc_bitrate (p);
  fail_unless (now_kbps >= 150 && now_kbps < 2000, "x264enc at %u",
      now_kbps);

  if (widen) {
    /* the bottleneck goes: back up to 800 kbit/s, in steps of at most
     * +25 % at least 2 s apart (so not within 4 s) */
    gint64 t1;
    guint lowest, i, first;

    g_mutex_lock (&r.lock);
    gst_structure_get_uint (r.last, "bitrate", &lowest);
    r.want_above = 800;
    first = r.changes->len;
    g_mutex_unlock (&r.lock);
    proxy_set_up_rate (px, 0, 0);
    t1 = g_get_monotonic_time ();
    fail_unless (rec_wait (&r, have_raised, 60 * SEC),
        "x264enc's bitrate not raised from %u to 800 kbit/s within 60 s "
        "(now %u)", lowest, enc_bitrate (p));
    g_print ("%s: raised from %u to 800+ after %.1f s\n", cc, lowest,
        (g_get_monotonic_time () - t1) / 1e6);
    fail_unless (g_get_monotonic_time () - t1 >= 4 * SEC);
    g_mutex_lock (&r.lock);
    for (i = MAX (first, 1); i < r.changes->len; i++) {
      Change *a = &g_array_index (r.changes, Change, i - 1);
      Change *b = &g_array_index (r.changes, Change, i);

      if (b->kbps < a->kbps)
        continue;               /* a decrease: at once */
      fail_unless (b->kbps <= a->kbps * 125 / 100 + 1,
          "step from %u to %u", a->kbps, b->kbps);
      fail_unless (b->time - a->time >= 1900 * G_TIME_SPAN_MILLISECOND,
          "steps %u -> %u only %.2f s apart", a->kbps, b->kbps,
          (b->time - a->time) / 1e6);
    }
    g_mutex_unlock (&r.lock);
    fail_unless (enc_bitrate (p) >= 800 && enc_bitrate (p) <= 2000);
  }

  publisher_stop (p);
  rec_clear (&r);
  proxy_stop (px);
  server_stop (srv);
  g_free (props);
}

GST_START_TEST (test_adapt_lowers_x264enc)
{
  run_adapt_behind_bottleneck ("tcp", TRUE, FALSE, FALSE);
}

GST_END_TEST;

GST_START_TEST (test_adapt_lowers_x264enc_media)
{
  run_adapt_behind_bottleneck ("media", FALSE, FALSE, FALSE);
}

GST_END_TEST;

/* The same through flvmux into the `sink` pad: the encoder is found
 * upstream of flvmux's video input */
GST_START_TEST (test_adapt_lowers_x264enc_flv)
{
  run_adapt_behind_bottleneck ("tcp", FALSE, TRUE, FALSE);
}

GST_END_TEST;

/* openh264enc, whose bitrate is in bit/s: the same kbit/s decisions,
 * converted */
GST_START_TEST (test_adapt_lowers_openh264enc)
{
  if (!gst_registry_check_feature_version (gst_registry_get (),
          "openh264enc", 1, 0, 0)) {
    /* in CI (RTMFP_CI=1) a skip is a failure */
    fail_if (test_ci_enabled (), "no openh264enc (gstreamer1.0-plugins-bad)");
    g_print ("SKIP: no openh264enc\n");
    return;
  }
  run_adapt_behind_bottleneck ("tcp", FALSE, FALSE, TRUE);
}

GST_END_TEST;

/* mode=direct: the estimate is the playing peers' (none before a peer
 * plays), and the encoder adapts to it */
GST_START_TEST (test_bandwidth_direct)
{
  Server *srv = server_start ("live", FALSE);
  Rec r;
  GstElement *p, *play;
  Got got;
  guint64 est = 0;
  guint bitrate = 0;

  rec_init (&r, 0);
  p = adaptive_publisher (srv->port, "direct", "mode=direct "
      "adapt-bitrate=true", 1000, FALSE, &r);
  set_state_checked (p, GST_STATE_PLAYING);
  /* no subscriber: no estimate, no message */
  fail_if (rec_wait (&r, have_bandwidth, 2 * SEC),
      "rtmfp-bandwidth without a peer");
  got_init (&got);
  play = player_new_full (srv->port, "live/direct", &got, "peer-id=auto ",
      MEDIA_ELEMENTARY);
  set_state_checked (play, GST_STATE_PLAYING);
  if (!rec_wait (&r, have_bandwidth, 20 * SEC)) {
    /* what the two ends saw, for the log */
    GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
    GstElement *src = gst_bin_get_by_name (GST_BIN (play), "src");
    GstStructure *ps = NULL, *ss = NULL;
    gchar *a, *b;

    g_object_get (sink, "stats", &ps, NULL);
    if (src)
      g_object_get (src, "stats", &ss, NULL);
    a = ps ? gst_structure_to_string (ps) : g_strdup ("none");
    b = ss ? gst_structure_to_string (ss) : g_strdup ("none");
    g_mutex_lock (&got.lock);
    g_printerr ("publisher stats: %s\nplayer stats: %s\nvideo into the "
        "decoder: %u\n", a, b, got.video_in);
    g_mutex_unlock (&got.lock);
    fail ("no rtmfp-bandwidth within 20 s of a peer playing");
  }
  fail_unless (wait_decoded (&got, 30, 20 * SEC));
  g_mutex_lock (&r.lock);
  fail_unless (gst_structure_get_uint64 (r.first, "rate-estimate-kbps",
          &est));
  fail_unless (gst_structure_get_uint (r.first, "bitrate", &bitrate));
  fail_unless_equals_string (gst_structure_get_string (r.first, "encoder"),
      "x264enc");
  g_mutex_unlock (&r.lock);
  fail_unless (est >= 100, "estimate %" G_GUINT64_FORMAT, est);
  /* loopback carries the 1000 kbit/s asked for (the ceiling) */
  fail_unless_equals_int (bitrate, 1000);
  set_state_checked (play, GST_STATE_NULL);
  gst_object_unref (play);
  got_clear (&got);
  publisher_stop (p);
  rec_clear (&r);
  server_stop (srv);
}

GST_END_TEST;

/* rtmfp-server --congestion-control: accepted values, refused others */
GST_START_TEST (test_server_option)
{
  const gchar *server = g_getenv ("RTMFP_SERVER");
  const gchar *bad[] = { server, "--rtmfp", "127.0.0.1:0",
    "--congestion-control", "cubic", NULL
  };
  GSubprocess *proc;
  GError *err = NULL;
  gchar *errout = NULL;

  fail_unless (server != NULL);
  proc = g_subprocess_newv (bad, G_SUBPROCESS_FLAGS_STDERR_PIPE |
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &err);
  fail_unless (proc != NULL, "%s", err ? err->message : "?");
  fail_unless (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL,
          &errout, &err));
  fail_unless (g_subprocess_get_if_exited (proc));
  fail_unless_equals_int (g_subprocess_get_exit_status (proc), 1);
  fail_unless (strstr (errout, "--congestion-control") != NULL, "%s",
      errout);
  g_free (errout);
  g_object_unref (proc);
}

GST_END_TEST;

static Suite *
rtmfpadapt_suite (void)
{
  Suite *s = suite_create ("rtmfpadapt");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  test_watchdog_add (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_server_option);
  tcase_add_test (tc, test_bandwidth_message_media);
  tcase_add_test (tc, test_bandwidth_direct);
  tcase_add_test (tc, test_adapt_lowers_x264enc);
  tcase_add_test (tc, test_adapt_lowers_x264enc_media);
  tcase_add_test (tc, test_adapt_lowers_x264enc_flv);
  tcase_add_test (tc, test_adapt_lowers_openh264enc);
  return s;
}

GST_CHECK_MAIN (rtmfpadapt);
