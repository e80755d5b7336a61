/* gst-check tests of rtmfpautosrc (plugin "rtmfpfallback").
 *
 * "basics": properties, the URI handler and its rank (playbin keeps
 * rtmfpsrc unless the application raises rtmfpautosrc's rank).
 * "interop": real pipelines on loopback: an H.264 + Speex publisher
 * (rtmfpsink's elementary pads) on rtmfp-server with its RTMP side, or
 * rtmp2sink on nginx-rtmp (Debian's libnginx-mod-rtmp); the player is
 * rtmfpautosrc, decoding what it gives (its elementary pads, or its FLV
 * pad through flvdemux):
 *   - nothing on the RTMFP port: decoded through RTMP within
 *     rtmfp-timeout + 2 s (rtmfp-server's RTMP side, and nginx with the
 *     fallback location derived from the rtmfp:// one);
 *   - the player's RTMFP path goes dark mid-stream (a UDP relay in this
 *     program): the stream goes on through RTMP with at most one GOP of
 *     media missing, PTS strictly increasing, no ERROR and no EOS; the
 *     relay comes back and RTMFP takes over again.
 *
 * In CI (RTMFP_CI=1) a missing nginx or element fails the program
 * (fallbacktestutil.c); elsewhere the interop tests are left out and the
 * program exits 77 (skipped) if nothing else ran.
 *
 * Every wait is bounded; ports are ephemeral.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <gio/gio.h>
#include <gst/check/gstcheck.h>

#include "fallbacktestutil.h"

/* GOP of the publishers: 2 s (60 frames at 30 fps) */
#define GOP_FRAMES 60
#define GOP_US (2 * SEC)

/* ------------------------------------------------------------------ */
/* what the player's bus says                                          */

typedef struct
{
  GMutex lock;
  GCond cond;
  GPtrArray *switches;          /* "protocol" of each rtmfp-fallback */
  gint64 first_switch_at;
  GPtrArray *errors;
  gboolean eos;
  guint rtmp_stats;             /* the bin's stats messages over RTMP */
} PlayerWatch;

static GstBusSyncReply
player_watch_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  PlayerWatch *w = data;
  const GstStructure *s = gst_message_get_structure (msg);

  g_mutex_lock (&w->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (s, "rtmfp-fallback")) {
    if (!w->switches->len)
      w->first_switch_at = g_get_monotonic_time ();
    g_ptr_array_add (w->switches,
        g_strdup (gst_structure_get_string (s, "protocol")));
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (s, "application/x-rtmfp-statistics") &&
      g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "asrc") &&
      !g_strcmp0 (gst_structure_get_string (s, "protocol"), "rtmp")) {
    w->rtmp_stats++;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    g_ptr_array_add (w->errors, g_strdup_printf ("%s: %s",
            GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message));
    g_error_free (err);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    w->eos = TRUE;
  }
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

/* Replaces the bus handler of a Frames player (it records the same
 * errors and EOS, and the switches) */
static void
player_watch_attach (GstElement * pipe, PlayerWatch * w)
{
  GstBus *bus = gst_element_get_bus (pipe);

  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->switches = g_ptr_array_new_with_free_func (g_free);
  w->errors = g_ptr_array_new_with_free_func (g_free);
  gst_bus_set_sync_handler (bus, player_watch_handler, w, NULL);
  gst_object_unref (bus);
}

static void
player_watch_clear (PlayerWatch * w)
{
  g_ptr_array_unref (w->switches);
  g_ptr_array_unref (w->errors);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

static gboolean
wait_switches (PlayerWatch * w, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok;

  g_mutex_lock (&w->lock);
  while (w->switches->len < n && w->errors->len == 0 &&
      g_cond_wait_until (&w->cond, &w->lock, end));
  ok = w->switches->len >= n;
  g_mutex_unlock (&w->lock);
  return ok;
}

static void
assert_clean (PlayerWatch * w)
{
  g_mutex_lock (&w->lock);
  fail_unless (w->errors->len == 0, "player error: %s", w->errors->len ?
      (gchar *) g_ptr_array_index (w->errors, 0) : "");
  fail_if (w->eos, "the player ended");
  g_mutex_unlock (&w->lock);
}

static const gchar *
switch_at (PlayerWatch * w, guint i)
{
  const gchar *p;

  g_mutex_lock (&w->lock);
  p = i < w->switches->len ? g_ptr_array_index (w->switches, i) : NULL;
  g_mutex_unlock (&w->lock);
  return p;
}

static gchar *
active_of (GstElement * pipe)
{
  GstElement *s = gst_bin_get_by_name (GST_BIN (pipe), "asrc");
  gchar *p = NULL;

  fail_unless (s != NULL);
  g_object_get (s, "active-protocol", &p, NULL);
  gst_object_unref (s);
  return p;
}

/* The bin's stats: of the active protocol, with a protocol field; a
 * counter of it is above zero */
static void
assert_stats (GstElement * pipe, const gchar * protocol, const gchar * field)
{
  GstElement *s = gst_bin_get_by_name (GST_BIN (pipe), "asrc");
  GstStructure *st = NULL;
  guint64 v = 0;

  g_object_get (s, "stats", &st, NULL);
  fail_unless (st != NULL);
  fail_unless_equals_string (gst_structure_get_string (st, "protocol"),
      protocol);
  fail_unless (gst_structure_get_uint64 (st, field, &v) && v > 0,
      "%s: %s is %" G_GUINT64_FORMAT, protocol, field, v);
  /* the same schema on both protocols (rtmfpsrc's fields) */
  fail_unless (gst_structure_has_field (st, "rtt-ms"));
  fail_unless (gst_structure_has_field (st, "video-messages-received"));
  gst_structure_free (st);
  gst_object_unref (s);
}

static GstPadProbeReturn
count_caps (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CAPS)
    g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

/* Counts the caps events on the bin's video pad from now on */
static GstPad *
watch_caps (GstElement * pipe, gint * count)
{
  GstElement *s = gst_bin_get_by_name (GST_BIN (pipe), "asrc");
  GstPad *pad = gst_element_get_static_pad (s, "video");

  fail_unless (pad != NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, count_caps,
      count, NULL);
  gst_object_unref (s);
  return pad;
}

static guint
frames_count (Frames * f)
{
  guint n;

  g_mutex_lock (&f->lock);
  n = f->arrival->len;
  g_mutex_unlock (&f->lock);
  return n;
}

/* Every decoded frame's PTS is later than the one before */
static void
assert_pts_increasing (Frames * f)
{
  guint i;

  g_mutex_lock (&f->lock);
  for (i = 1; i < f->pts->len; i++) {
    GstClockTime a = g_array_index (f->pts, GstClockTime, i - 1);
    GstClockTime b = g_array_index (f->pts, GstClockTime, i);

    fail_unless (GST_CLOCK_TIME_IS_VALID (a) && GST_CLOCK_TIME_IS_VALID (b)
        && b > a, "PTS %" GST_TIME_FORMAT " after %" GST_TIME_FORMAT
        " (frame %u)", GST_TIME_ARGS (b), GST_TIME_ARGS (a), i);
  }
  g_mutex_unlock (&f->lock);
}

/* ------------------------------------------------------------------ */
/* publishers                                                          */

/* H.264 + Speex on rtmfpsink's elementary pads */
static GstElement *
rtmfp_publisher (guint16 port, const gchar * stream)
{
  gchar *desc = g_strdup_printf ("rtmfpsink name=p "
      "location=rtmfp://127.0.0.1:%u/live/%s "
      "videotestsrc is-live=true ! video/x-raw,width=320,height=240,"
      "framerate=30/1 ! x264enc tune=zerolatency speed-preset=ultrafast "
      "key-int-max=%u bitrate=400 ! p.video "
      "audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! "
      "speexenc ! p.audio", port, stream, GOP_FRAMES);
  GstElement *pipe = gst_parse_launch (desc, NULL);

  fail_unless (pipe != NULL, "cannot make %s", desc);
  g_free (desc);
  fail_if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  return pipe;
}

/* H.264 through flvmux and rtmp2sink (to nginx, which cannot be asked
 * for a keyframe: a GOP of 1 s) */
static GstElement *
rtmp_publisher (guint16 port, const gchar * stream)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! x264enc "
      "tune=zerolatency speed-preset=ultrafast key-int-max=%u bitrate=400 ! "
      "h264parse ! flvmux streamable=true ! "
      "rtmp2sink location=rtmp://127.0.0.1:%u/live/%s", GOP_FRAMES / 2, port,
      stream);
  GstElement *pipe = gst_parse_launch (desc, NULL);

  fail_unless (pipe != NULL, "cannot make %s", desc);
  g_free (desc);
  fail_if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  return pipe;
}

/* (rtmfpsink frees an input's state only when its request pad is
 * released, which gst_parse_launch pipelines never do: released here so
 * that the sanitizer pass sees this program's own leaks) */
static void
release_request_pads (GstElement * pipe, const gchar * name)
{
  GstElement *el = gst_bin_get_by_name (GST_BIN (pipe), name);
  GList *l, *pads;

  if (!el)
    return;
  GST_OBJECT_LOCK (el);
  pads = g_list_copy (el->sinkpads);
  g_list_foreach (pads, (GFunc) (void (*)(void)) gst_object_ref, NULL);
  GST_OBJECT_UNLOCK (el);
  for (l = pads; l; l = l->next) {
    GstPadTemplate *t = GST_PAD_PAD_TEMPLATE (l->data);
    if (t && GST_PAD_TEMPLATE_PRESENCE (t) == GST_PAD_REQUEST)
      gst_element_release_request_pad (el, l->data);
  }
  g_list_free_full (pads, gst_object_unref);
  gst_object_unref (el);
}

static void
stop_pipeline (GstElement * pipe)
{
  gst_element_set_state (pipe, GST_STATE_NULL);
  release_request_pads (pipe, "p");
  gst_object_unref (pipe);
}

/* ------------------------------------------------------------------ */
/* basics                                                              */

GST_START_TEST (test_properties)
{
  GstElement *s = gst_element_factory_make ("rtmfpautosrc", NULL);
  GParamSpec *ps;
  GstStructure *st = NULL;
  gchar *str = NULL;
  guint u;

  fail_unless (s != NULL);
  g_object_get (s, "rtmfp-timeout", &u, NULL);
  fail_unless_equals_int (u, 5);
  g_object_get (s, "probe-interval", &u, NULL);
  fail_unless_equals_int (u, 10);
  g_object_set (s, "location", "rtmfp://example.org:1940/live/cam", NULL);
  g_object_get (s, "fallback-location", &str, NULL);
  fail_unless_equals_string (str, "rtmp://example.org:1940/live/cam");
  g_free (str);
  g_object_set (s, "fallback-location", "rtmp://other/app/x", NULL);
  g_object_get (s, "fallback-location", &str, NULL);
  fail_unless_equals_string (str, "rtmp://other/app/x");
  g_free (str);

  /* the child properties users need; the token is write-only */
  ps = g_object_class_find_property (G_OBJECT_GET_CLASS (s), "auth-token");
  fail_unless (ps && (ps->flags & G_PARAM_WRITABLE) &&
      !(ps->flags & G_PARAM_READABLE));
  fail_unless (g_object_class_find_property (G_OBJECT_GET_CLASS (s),
          "server-fingerprint"));
  fail_unless (g_object_class_find_property (G_OBJECT_GET_CLASS (s),
          "peer-id"));
  fail_unless (g_object_class_find_property (G_OBJECT_GET_CLASS (s),
          "timeout"));
  fail_unless (g_object_class_find_property (G_OBJECT_GET_CLASS (s),
          "stats-interval"));
  g_object_get (s, "stats", &st, NULL);
  fail_unless (st != NULL);
  fail_unless (gst_structure_has_name (st, "application/x-rtmfp-statistics"));
  fail_unless (gst_structure_has_field (st, "protocol"));
  gst_structure_free (st);
  g_object_get (s, "active-protocol", &str, NULL);
  fail_unless (str == NULL);
  gst_object_unref (s);
}

GST_END_TEST;

/* Rank NONE: rtmfp:// URIs get rtmfpsrc unless the application raises
 * rtmfpautosrc's rank (GST_PLUGIN_FEATURE_RANK does the same) */
GST_START_TEST (test_uri_rank)
{
  GstPluginFeature *f =
      GST_PLUGIN_FEATURE (gst_element_factory_find ("rtmfpautosrc"));
  const gchar *uri = "rtmfp://127.0.0.1:1935/live/x";
  GstElement *e;
  gchar *got;

  fail_unless (f != NULL);
  fail_unless_equals_int (gst_plugin_feature_get_rank (f), GST_RANK_NONE);
  e = gst_element_make_from_uri (GST_URI_SRC, uri, NULL, NULL);
  fail_unless (e != NULL);
  fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory (e)),
      "rtmfpsrc");
  gst_object_unref (e);

  gst_plugin_feature_set_rank (f, GST_RANK_PRIMARY + 10);
  e = gst_element_make_from_uri (GST_URI_SRC, uri, NULL, NULL);
  fail_unless (e != NULL);
  fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory (e)),
      "rtmfpautosrc");
  got = gst_uri_handler_get_uri (GST_URI_HANDLER (e));
  fail_unless_equals_string (got, uri);
  g_free (got);
  gst_object_unref (e);
  gst_plugin_feature_set_rank (f, GST_RANK_NONE);
  gst_object_unref (f);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* nothing on the RTMFP port                                           */

/* Plays rtmfpautosrc (launch: player description with `asrc` and a
 * fakesink `out`): the first decoded frame within rtmfp-timeout + 2 s,
 * through RTMP, and 30 more */
static void
play_through_rtmp (const gchar * desc, guint rtmfp_timeout)
{
  Frames f = { 0 };
  PlayerWatch w = { 0 };
  GstElement *player = frames_player_launch (desc, &f);
  gint64 t0, first_us;
  gchar *active;

  player_watch_attach (player, &w);
  t0 = g_get_monotonic_time ();
  fail_if (gst_element_set_state (player, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (frames_wait (&f, 1, (rtmfp_timeout + 2) * SEC),
      "nothing decoded within rtmfp-timeout + 2 s");
  g_mutex_lock (&f.lock);
  first_us = g_array_index (f.arrival, gint64, 0) - t0;
  g_mutex_unlock (&f.lock);
  g_print ("first frame through RTMP %" G_GINT64_FORMAT " ms after start "
      "(rtmfp-timeout %u s)\n", first_us / 1000, rtmfp_timeout);
  fail_unless (frames_wait (&f, 31, 10 * SEC), "only %u frames",
      frames_count (&f));
  fail_unless (wait_switches (&w, 1, SEC));
  fail_unless_equals_string (switch_at (&w, 0), "rtmp");
  active = active_of (player);
  fail_unless_equals_string (active, "rtmp");
  g_free (active);
  assert_stats (player, "rtmp", "bytes-received");
  /* stats-interval=200: the bin posts its stats (gst-launch -m shows
   * them), those of RTMP now */
  g_mutex_lock (&w.lock);
  fail_unless (w.rtmp_stats >= 2, "%u stats messages", w.rtmp_stats);
  g_mutex_unlock (&w.lock);
  assert_clean (&w);
  assert_pts_increasing (&f);
  frames_player_free (player, &f);
  player_watch_clear (&w);
}

/* rtmfp-server's RTMP side; the elementary pads of the bin */
GST_START_TEST (test_start_without_rtmfp_server)
{
  guint16 rtmfp_port, rtmp_port;
  GSubprocess *srv = dual_server_start (&rtmfp_port, &rtmp_port);
  GstElement *pub = rtmfp_publisher (rtmfp_port, "s");
  gchar *desc;

  desc = g_strdup_printf ("rtmfpautosrc name=asrc "
      "location=rtmfp://127.0.0.1:%u/live/s "
      "fallback-location=rtmp://127.0.0.1:%u/live/s rtmfp-timeout=2 "
      "stats-interval=200 asrc.video ! queue ! h264parse ! avdec_h264 ! "
      "fakesink name=out signal-handoffs=true sync=false "
      "asrc.audio ! queue ! speexdec ! fakesink sync=false", dead_port (),
      rtmp_port);
  play_through_rtmp (desc, 2);
  g_free (desc);
  stop_pipeline (pub);
  kill_and_reap (srv);
}

GST_END_TEST;

/* nginx-rtmp on the TCP port of the rtmfp:// location's number (the
 * fallback location derived); the FLV pad through flvdemux */
GST_START_TEST (test_start_without_rtmfp_nginx)
{
  guint16 port = free_port ();
  Nginx *ng = nginx_start (port);
  GstElement *pub = rtmp_publisher (port, "n");
  gchar *desc;

  desc = g_strdup_printf ("rtmfpautosrc name=asrc "
      "location=rtmfp://127.0.0.1:%u/live/n rtmfp-timeout=2 "
      "stats-interval=200 ! flvdemux ! "
      "h264parse ! avdec_h264 ! fakesink name=out signal-handoffs=true "
      "sync=false", port);
  play_through_rtmp (desc, 2);
  g_free (desc);
  stop_pipeline (pub);
  nginx_stop (ng);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* mid-stream                                                          */

/* The player reaches the server's RTMFP side through a relay that goes
 * dark, then comes back */
GST_START_TEST (test_midstream_loss_and_back)
{
  guint16 rtmfp_port, rtmp_port, proxy_port;
  GSubprocess *srv = dual_server_start (&rtmfp_port, &rtmp_port);
  UdpProxy *px = udp_proxy_start (rtmfp_port, &proxy_port);
  GstElement *pub = rtmfp_publisher (rtmfp_port, "m"), *player;
  Frames f = { 0 };
  PlayerWatch w = { 0 };
  gint64 dark_at, arrival_gap;
  GstClockTime pts_gap;
  guint before, n;
  gchar *desc, *active;
  gint caps_events = 0;
  GstPad *vpad;

  desc = g_strdup_printf ("rtmfpautosrc name=asrc "
      "location=rtmfp://127.0.0.1:%u/live/m "
      "fallback-location=rtmp://127.0.0.1:%u/live/m rtmfp-timeout=2 "
      "probe-interval=1 asrc.video ! queue ! h264parse ! avdec_h264 ! "
      "fakesink name=out signal-handoffs=true sync=false "
      "asrc.audio ! queue ! speexdec ! fakesink sync=false", proxy_port,
      rtmp_port);
  player = frames_player_launch (desc, &f);
  g_free (desc);
  player_watch_attach (player, &w);
  fail_if (gst_element_set_state (player, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (frames_wait (&f, 60, 15 * SEC), "only %u frames over RTMFP",
      frames_count (&f));
  active = active_of (player);
  fail_unless_equals_string (active, "rtmfp");
  g_free (active);
  assert_stats (player, "rtmfp", "packets-received");
  fail_unless_equals_int (w.switches->len, 0);
  vpad = watch_caps (player, &caps_events);

  /* RTMFP goes dark: RTMP carries on */
  udp_proxy_go_dark (px);
  dark_at = g_get_monotonic_time ();
  before = frames_count (&f);
  fail_unless (wait_switches (&w, 1, 10 * SEC), "no fallback");
  fail_unless_equals_string (switch_at (&w, 0), "rtmp");
  fail_unless (frames_wait (&f, before + 60, 15 * SEC),
      "the player stopped: %u frames after the outage",
      frames_count (&f) - before);
  frames_max_gap (&f, before - 1, &arrival_gap, &pts_gap);
  g_print ("RTMFP dark: fallback after %" G_GINT64_FORMAT " ms, largest gap "
      "%" G_GUINT64_FORMAT " ms of media (PTS), %" G_GINT64_FORMAT
      " ms waiting (arrival)\n", (w.first_switch_at - dark_at) / 1000,
      pts_gap / GST_MSECOND, arrival_gap / 1000);
  fail_unless (pts_gap <= GOP_US * GST_USECOND, "%" G_GUINT64_FORMAT
      " ms of media missing (GOP %u ms)", pts_gap / GST_MSECOND,
      (guint) (GOP_US / 1000));
  assert_clean (&w);

  /* RTMFP comes back: it takes over again */
  udp_proxy_go_light (px);
  fail_unless (wait_switches (&w, 2, 15 * SEC), "RTMFP did not take over");
  fail_unless_equals_string (switch_at (&w, 1), "rtmfp");
  n = frames_count (&f);
  fail_unless (frames_wait (&f, n + 60, 15 * SEC), "stopped after the "
      "switch back");
  active = active_of (player);
  fail_unless_equals_string (active, "rtmfp");
  g_free (active);
  assert_clean (&w);
  assert_pts_increasing (&f);
  /* the same caps all along (the same publisher's stream state) */
  fail_unless_equals_int (g_atomic_int_get (&caps_events), 0);
  gst_object_unref (vpad);

  frames_player_free (player, &f);
  player_watch_clear (&w);
  stop_pipeline (pub);
  udp_proxy_stop (px);
  kill_and_reap (srv);
}

GST_END_TEST;

/* Nothing on either port: one error, from the bin, saying why each
 * protocol failed */
GST_START_TEST (test_both_fail)
{
  guint16 tcp = free_port ();
  GstElement *pipe;
  PlayerWatch w = { 0 };
  gchar *desc;
  const gchar *e;
  gint64 end;

  desc = g_strdup_printf ("rtmfpautosrc name=asrc "
      "location=rtmfp://127.0.0.1:%u/live/x "
      "fallback-location=rtmp://127.0.0.1:%u/live/x rtmfp-timeout=1 ! "
      "fakesink", dead_port (), tcp);
  pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  g_free (desc);
  player_watch_attach (pipe, &w);
  fail_if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  end = g_get_monotonic_time () + 10 * SEC;
  g_mutex_lock (&w.lock);
  while (!w.errors->len && g_cond_wait_until (&w.cond, &w.lock, end));
  fail_unless_equals_int (w.errors->len, 1);
  e = g_ptr_array_index (w.errors, 0);
  fail_unless (g_str_has_prefix (e, "asrc: "), "%s", e);
  fail_unless (strstr (e, "over RTMFP (") && strstr (e, "over RTMP ("),
      "%s", e);
  fail_if (strstr (e, "not tried"), "%s", e);
  g_mutex_unlock (&w.lock);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  player_watch_clear (&w);
}

GST_END_TEST;

static Suite *
rtmfpautosrc_suite (void)
{
  Suite *s = suite_create ("rtmfpautosrc");
  TCase *tc = tcase_create ("basics");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_uri_rank);
  tcase_add_test (tc, test_both_fail);
  if (!midstream_skip) {
    TCase *net = tcase_create ("server");

    suite_add_tcase (s, net);
    tcase_set_timeout (net, 120);
    tcase_add_test (net, test_start_without_rtmfp_server);
    tcase_add_test (net, test_midstream_loss_and_back);
  }
  if (!interop_skip) {
    TCase *ng = tcase_create ("nginx");

    suite_add_tcase (s, ng);
    tcase_set_timeout (ng, 120);
    tcase_add_test (ng, test_start_without_rtmfp_nginx);
  }
  return s;
}

int
main (int argc, char **argv)
{
  gchar *exe;
  Suite *s;
  SRunner *sr;
  int failed;

  g_setenv ("GST_REGISTRY_FORK", "no", FALSE);
  gst_check_init (&argc, &argv);
  exe = g_file_read_link ("/proc/self/exe", NULL);
  build_dir = exe ? g_path_get_dirname (exe) : g_get_current_dir ();
  g_free (exe);

  check_interop ();
  s = rtmfpautosrc_suite ();
  sr = srunner_create (s);
  srunner_run_all (sr, CK_ENV);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  if (interop_skip)
    g_print ("SKIP: nginx interop test: %s\n", interop_skip);
  if (midstream_skip)
    g_print ("SKIP: server tests: %s\n", midstream_skip);
  return failed == 0 ? 0 : 1;
}
