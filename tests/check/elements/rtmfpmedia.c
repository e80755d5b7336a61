/* gst-check tests of the media mapping: rtmfpsink's elementary `video` and
 * `audio` pads and rtmfpsrc's elementary outputs, end to end through the
 * real rtmfp-server and peer to peer: H.264 + Speex and H.264 + AAC in
 * both start orders, FLV and elementary mixed, audio only and video only,
 * VP6 byte for byte, an SPS change mid-stream, loss (GAP events per lost
 * audio frame, video only from a keyframe after a loss), a clean -e end,
 * refused caps and pad requests, and the element messages a gst-launch
 * user sees (rtmfp-publishing, rtmfp-waiting, idle-timeout, peer-id=auto).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"
#include <gst/check/gstharness.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>

#include "rtmfptestutil.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Waits for the end (EOS) of pipeline; fails on an error or a timeout */
static void
wait_ended (GstElement * pipeline, GstClockTime timeout)
{
  GstMessage *msg = wait_bus (pipeline, GST_MESSAGE_EOS | GST_MESSAGE_ERROR,
      timeout);

  fail_unless (msg != NULL, "no EOS in time");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fail ("error instead of EOS: %s (%s)", err->message, dbg);
  }
  gst_message_unref (msg);
}

/* Waits for an error; returns its message (g_free) or NULL */
static gchar *
wait_error (GstElement * pipeline, GstClockTime timeout, GQuark * domain,
    gint * code)
{
  GstMessage *msg = wait_bus (pipeline, GST_MESSAGE_ERROR, timeout);
  GError *err = NULL;
  gchar *text;

  if (!msg)
    return NULL;
  gst_message_parse_error (msg, &err, NULL);
  if (domain)
    *domain = err->domain;
  if (code)
    *code = err->code;
  text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  return text;
}

static void
stop_pipeline (GstElement * p)
{
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
}

/* A publisher and a player of one stream through the server, in either
 * start order; checks >= 95% of each medium decoded, coherently */
static void
run_through_server (MediaMode pub_mode, MediaMode play_mode,
    gboolean player_first, const gchar * name)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *path = g_strdup_printf ("live/%s", name);
  Sent sent;
  Got got;
  GstElement *pub, *play;
  GstStructure *s;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_full (srv->port, path, &sent, NULL, N_VIDEO, pub_mode);
  play = player_new_full (srv->port, path, &got, NULL, play_mode);
  if (player_first) {
    set_state_checked (play, GST_STATE_PLAYING);
    s = wait_element_message (play, "rtmfp-waiting", 10 * GST_SECOND);
    fail_unless (s != NULL, "%s: no rtmfp-waiting", name);
    fail_unless_equals_string (gst_structure_get_string (s, "stream"), name);
    gst_structure_free (s);
    set_state_checked (pub, GST_STATE_PLAYING);
  } else {
    set_state_checked (pub, GST_STATE_PLAYING);
    s = wait_element_message (pub, "rtmfp-publishing", 10 * GST_SECOND);
    fail_unless (s != NULL, "%s: no rtmfp-publishing", name);
    gst_structure_free (s);
    /* the player joins a live stream */
    g_usleep (G_USEC_PER_SEC / 2);
    set_state_checked (play, GST_STATE_PLAYING);
  }
  wait_decoded (&got, 10, 20 * G_USEC_PER_SEC);
  note_base_times (pub, &sent, play, &got);
  wait_ended (pub, 30 * GST_SECOND);
  wait_decoded (&got, N_VIDEO * 9 / 10, 10 * G_USEC_PER_SEC);
  assert_no_error (play);
  g_mutex_lock (&got.lock);
  /* a coherent start: the first video into the decoder is a keyframe */
  fail_unless (got.first_video_key, "%s: first video not a keyframe", name);
  fail_unless_equals_int (got.video_discont_delta, 0);
  check_received (&sent, &got, name);
  g_mutex_unlock (&got.lock);
  stop_pipeline (play);
  stop_pipeline (pub);
  sent_clear (&sent);
  got_clear (&got);
  g_free (path);
  server_stop (srv);
}

/* ------------------------------------------------------------------ */
/* end to end                                                          */

GST_START_TEST (test_h264_speex_player_first)
{
  run_through_server (MEDIA_ELEMENTARY, MEDIA_ELEMENTARY, TRUE, "speex1");
}

GST_END_TEST;

GST_START_TEST (test_h264_speex_publisher_first)
{
  run_through_server (MEDIA_ELEMENTARY, MEDIA_ELEMENTARY, FALSE, "speex2");
}

GST_END_TEST;

GST_START_TEST (test_h264_aac_player_first)
{
  run_through_server (MEDIA_ELEMENTARY_AAC, MEDIA_ELEMENTARY_AAC, TRUE,
      "aac1");
}

GST_END_TEST;

GST_START_TEST (test_h264_aac_publisher_first)
{
  run_through_server (MEDIA_ELEMENTARY_AAC, MEDIA_ELEMENTARY_AAC, FALSE,
      "aac2");
}

GST_END_TEST;

/* FLV in, elementary out, and the reverse */
GST_START_TEST (test_flv_to_elementary)
{
  run_through_server (MEDIA_FLV, MEDIA_ELEMENTARY, FALSE, "mixed1");
}

GST_END_TEST;

GST_START_TEST (test_elementary_to_flv)
{
  run_through_server (MEDIA_ELEMENTARY, MEDIA_FLV, TRUE, "mixed2");
}

GST_END_TEST;

/* Peer to peer with elementary pads; the player finds the publisher by
 * the stream name (peer-id=auto); the server relays nothing */
GST_START_TEST (test_direct_peer_id_auto)
{
  Server *srv = server_start (NULL, TRUE);
  Sent sent;
  Got got;
  GstElement *pub, *play, *sink;
  GstStructure *s;
  gchar *id = NULL, *line;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_full (srv->port, "live/me", &sent, "mode=direct ",
      N_VIDEO, MEDIA_ELEMENTARY);
  set_state_checked (pub, GST_STATE_PLAYING);
  s = wait_element_message (pub, "rtmfp-publishing", 10 * GST_SECOND);
  fail_unless (s != NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "mode"), "direct");
  sink = gst_bin_get_by_name (GST_BIN (pub), "sink");
  g_object_get (sink, "peer-id", &id, NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "peer-id"), id);
  gst_object_unref (sink);
  gst_structure_free (s);

  play = player_new_full (srv->port, "live/me", &got, "peer-id=auto ",
      MEDIA_ELEMENTARY);
  set_state_checked (play, GST_STATE_PLAYING);
  s = wait_element_message (play, "rtmfp-direct-session", 10 * GST_SECOND);
  fail_unless (s != NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "peer-id"), id);
  gst_structure_free (s);
  wait_decoded (&got, 10, 20 * G_USEC_PER_SEC);
  note_base_times (pub, &sent, play, &got);
  wait_ended (pub, 30 * GST_SECOND);
  wait_decoded (&got, 60, 10 * G_USEC_PER_SEC);
  assert_no_error (play);
  g_mutex_lock (&got.lock);
  check_received (&sent, &got, "direct, peer-id=auto");
  g_mutex_unlock (&got.lock);
  line = server_stats_line (srv);
  fail_unless_equals_uint64 (server_stat (line, "relayed"), 0);
  g_free (line);
  stop_pipeline (play);
  stop_pipeline (pub);
  g_free (id);
  sent_clear (&sent);
  got_clear (&got);
  server_stop (srv);
}

GST_END_TEST;

/* Counts buffers (and the first one's flags) at a pad */
typedef struct
{
  gint count;
  gboolean first_key;
  gboolean any;
} Count;

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Count *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!c->any)
    c->first_key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  c->any = TRUE;
  g_atomic_int_inc (&c->count);
  return GST_PAD_PROBE_OK;
}

/* Waits (bounded) until the probe counted at least want buffers */
static void
wait_count (Count * c, gint want, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;

  while (g_atomic_int_get (&c->count) < want && g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
}

/* One medium only: the player starts at once (audio) or from a keyframe
 * (video); nothing waits for the other medium */
/* both_branches: the player is written for audio and video (as the docs'
 * players are) with sinks that sync, so it must preroll the branch of the
 * medium the stream does not have: rtmfpsrc ends that pad at once */
static void
one_medium_full (gboolean video, gboolean both_branches)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *pub_desc = g_strdup_printf ("rtmfpsink name=sink "
      "location=rtmfp://127.0.0.1:%u/live/one %s", srv->port, video ?
      "videotestsrc is-live=true num-buffers=90 ! video/x-raw,width=160,"
      "height=120,framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 "
      "speed-preset=ultrafast ! sink.video" :
      "audiotestsrc is-live=true num-buffers=150 samplesperbuffer=320 "
      "! audio/x-raw,rate=16000,channels=1 ! speexenc ! sink.audio");
  gchar *play_desc = both_branches ?
      g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/one "
      "src.video ! identity name=%s ! queue ! h264parse ! avdec_h264 "
      "name=%s ! fakesink "
      "src.audio ! identity name=%s ! queue ! speexdec name=%s ! fakesink",
      srv->port, video ? "in" : "vin", video ? "dec" : "vdec",
      video ? "ain" : "in", video ? "adec" : "dec") :
      g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/one %s", srv->port, video ?
      "src.video ! identity name=in ! queue ! h264parse ! avdec_h264 "
      "name=dec ! fakesink sync=false async=false" :
      "src.audio ! identity name=in ! queue ! speexdec name=dec "
      "! fakesink sync=false async=false");
  GstElement *pub = gst_parse_launch (pub_desc, NULL);
  GstElement *play = gst_parse_launch (play_desc, NULL);
  Count in = { 0 }, dec = { 0 };
  gint want = video ? 85 : 140;

  fail_unless (pub && play);
  probe (play, "in", "src", count_probe, &in);
  probe (play, "dec", "src", count_probe, &dec);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  wait_ended (pub, 30 * GST_SECOND);
  wait_count (&dec, want, 10 * G_USEC_PER_SEC);
  assert_no_error (play);
  assert_no_error (pub);
  GST_INFO ("%s only: %d in, %d decoded", video ? "video" : "audio",
      in.count, dec.count);
  fail_unless (dec.count >= want, "only %d of %s decoded", dec.count,
      video ? "90 frames" : "150 frames");
  if (video)
    fail_unless (in.first_key);
  if (both_branches)            /* the whole player ends with the stream */
    wait_ended (play, 20 * GST_SECOND);
  stop_pipeline (play);
  stop_pipeline (pub);
  g_free (pub_desc);
  g_free (play_desc);
  server_stop (srv);
}

static void
one_medium (gboolean video)
{
  one_medium_full (video, FALSE);
}

/* A camera that starts after the microphone (v4l2src takes a second or
 * two where pulsesrc is at once).  The audio goes out meanwhile (the
 * sink's inputs do not preroll together: async is FALSE by default), and
 * the publisher's first onMetaData knows no video format yet.  The player
 * must not take the stream for audio-only and end its video pad: the
 * metadata says the publisher has a video input (hasVideo), and video
 * plays once the camera runs. */
GST_START_TEST (test_late_video_input)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *pub_desc = g_strdup_printf ("rtmfpsink name=sink "
      "location=rtmfp://127.0.0.1:%u/live/late "
      "videotestsrc is-live=true ! video/x-raw,width=160,height=120,"
      "framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 "
      "speed-preset=ultrafast ! valve name=camera drop=true ! sink.video "
      "audiotestsrc is-live=true samplesperbuffer=320 ! audio/x-raw,"
      "rate=16000,channels=1 ! speexenc ! sink.audio", srv->port);
  gchar *play_desc = g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/late "
      "src.video ! queue ! h264parse ! avdec_h264 name=dec "
      "! fakesink sync=false async=false "
      "src.audio ! queue ! speexdec name=adec "
      "! fakesink sync=false async=false", srv->port);
  GstElement *pub = gst_parse_launch (pub_desc, NULL);
  GstElement *play = gst_parse_launch (play_desc, NULL);
  GstElement *camera;
  Count dec = { 0 }, adec = { 0 };

  fail_unless (pub && play);
  camera = gst_bin_get_by_name (GST_BIN (pub), "camera");
  probe (play, "dec", "src", count_probe, &dec);
  probe (play, "adec", "src", count_probe, &adec);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  /* 2 s of audio (20 ms frames) before the camera delivers anything */
  wait_count (&adec, 100, 20 * G_USEC_PER_SEC);
  fail_unless (g_atomic_int_get (&adec.count) >= 100,
      "only %d audio frames decoded", g_atomic_int_get (&adec.count));
  fail_unless_equals_int (g_atomic_int_get (&dec.count), 0);
  g_object_set (camera, "drop", FALSE, NULL);
  wait_count (&dec, 30, 20 * G_USEC_PER_SEC);
  assert_no_error (play);
  assert_no_error (pub);
  fail_unless (g_atomic_int_get (&dec.count) >= 30,
      "the camera started late: %d video frames decoded",
      g_atomic_int_get (&dec.count));
  gst_object_unref (camera);
  stop_pipeline (play);
  stop_pipeline (pub);
  g_free (pub_desc);
  g_free (play_desc);
  server_stop (srv);
}

GST_END_TEST;

GST_START_TEST (test_video_only_player_for_both)
{
  one_medium_full (TRUE, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_audio_only_player_for_both)
{
  one_medium_full (FALSE, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_audio_only)
{
  one_medium (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_video_only)
{
  one_medium (TRUE);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* VP6, byte for byte                                                  */

typedef struct
{
  GMutex lock;
  GPtrArray *bufs;              /* GBytes */
  GstCaps *caps;
} Collect;

static GstFlowReturn
collect_sample (GstAppSink * sink, gpointer data)
{
  Collect *c = data;
  GstSample *s = gst_app_sink_pull_sample (sink);
  GstBuffer *b = gst_sample_get_buffer (s);
  GstMapInfo map;

  gst_buffer_map (b, &map, GST_MAP_READ);
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->bufs, g_bytes_new (map.data, map.size));
  if (!c->caps && gst_sample_get_caps (s))
    c->caps = gst_caps_ref (gst_sample_get_caps (s));
  g_mutex_unlock (&c->lock);
  gst_buffer_unmap (b, &map);
  gst_sample_unref (s);
  return GST_FLOW_OK;
}

static void
collect_init (Collect * c, GstElement * pipe, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipe), name);
  GstAppSinkCallbacks cb = { NULL, NULL, collect_sample };

  g_mutex_init (&c->lock);
  c->bufs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  c->caps = NULL;
  gst_app_sink_set_callbacks (GST_APP_SINK (e), &cb, c, NULL);
  gst_object_unref (e);
}

static void
collect_clear (Collect * c)
{
  g_ptr_array_unref (c->bufs);
  if (c->caps)
    gst_caps_unref (c->caps);
  g_mutex_clear (&c->lock);
}

static guint
collected (Collect * c)
{
  guint n;

  g_mutex_lock (&c->lock);
  n = c->bufs->len;
  g_mutex_unlock (&c->lock);
  return n;
}

/* A frame of a made-up VP6 stream: its index in every byte */
static GBytes *
vp6_frame (guint n)
{
  gsize len = 300 + (n * 37) % 900, i;
  guint8 *d = g_malloc (len);

  for (i = 0; i < len; i++)
    d[i] = (guint8) (n + i * 7);
  return g_bytes_new_take (d, len);
}

/* caps the decoder factory's sink template accepts */
static gboolean
decoder_accepts (const gchar * factory, GstCaps * caps)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  const GList *l;
  gboolean ok = FALSE;

  fail_unless (f != NULL, "no %s (gst-libav)", factory);
  for (l = gst_element_factory_get_static_pad_templates (f); l; l = l->next) {
    GstStaticPadTemplate *t = l->data;
    GstCaps *tc;
    if (t->direction != GST_PAD_SINK)
      continue;
    tc = gst_static_caps_get (&t->static_caps);
    ok = ok || gst_caps_can_intersect (tc, caps);
    gst_caps_unref (tc);
  }
  gst_object_unref (f);
  return ok;
}

#define N_VP6 60

static void
vp6_end_to_end (const gchar * caps_name, const gchar * decoder)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *pub_desc = g_strdup_printf ("appsrc name=a caps=%s format=time "
      "is-live=true ! rtmfpsink name=sink sync=false "
      "location=rtmfp://127.0.0.1:%u/live/vp6", caps_name, srv->port);
  gchar *play_desc = g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/vp6 src.video ! appsink name=el "
      "sync=false async=false src.src ! flvdemux name=d d.video ! appsink "
      "name=fl sync=false async=false", srv->port);
  GstElement *pub = gst_parse_launch (pub_desc, NULL);
  GstElement *play = gst_parse_launch (play_desc, NULL);
  GstElement *a = gst_bin_get_by_name (GST_BIN (pub), "a");
  Collect el, fl;
  GstStructure *published;
  gint64 end;
  guint n;

  fail_unless (pub && play);
  collect_init (&el, play, "el");
  collect_init (&fl, play, "fl");
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  published = wait_element_message (pub, "rtmfp-publishing", 10 * GST_SECOND);
  fail_unless (published != NULL);
  gst_structure_free (published);
  for (n = 0; n < N_VP6; n++) {
    GBytes *frame = vp6_frame (n);
    /* the buffer takes its own reference */
    GstBuffer *b = gst_buffer_new_wrapped_bytes (frame);

    g_bytes_unref (frame);
    GST_BUFFER_PTS (b) = GST_BUFFER_DTS (b) = n * 33 * GST_MSECOND;
    if (n % 20)
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (a), b),
        GST_FLOW_OK);
    g_usleep (10 * 1000);
  }
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((collected (&el) < N_VP6 || collected (&fl) < N_VP6) &&
      g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
  assert_no_error (play);
  fail_unless_equals_int (collected (&el), N_VP6);
  fail_unless_equals_int (collected (&fl), N_VP6);
  for (n = 0; n < N_VP6; n++) {
    GBytes *want = vp6_frame (n);
    fail_unless (g_bytes_equal (want, el.bufs->pdata[n]),
        "elementary frame %u differs", n);
    fail_unless (g_bytes_equal (want, fl.bufs->pdata[n]),
        "frame %u out of flvdemux differs", n);
    g_bytes_unref (want);
  }
  fail_unless (gst_structure_has_name (gst_caps_get_structure (el.caps, 0),
          caps_name));
  fail_unless (decoder_accepts (decoder, el.caps), "%s refuses %"
      GST_PTR_FORMAT, decoder, el.caps);
  collect_clear (&el);
  collect_clear (&fl);
  gst_object_unref (a);
  stop_pipeline (play);
  stop_pipeline (pub);
  g_free (pub_desc);
  g_free (play_desc);
  server_stop (srv);
}

GST_START_TEST (test_vp6)
{
  vp6_end_to_end ("video/x-vp6-flash", "avdec_vp6f");
}

GST_END_TEST;

GST_START_TEST (test_vp6_alpha)
{
  vp6_end_to_end ("video/x-vp6-alpha", "avdec_vp6a");
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* an SPS change mid-stream                                            */

static GstPadProbeReturn
decoded_width (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  gint w = 0;

  if (caps) {
    gst_structure_get_int (gst_caps_get_structure (caps, 0), "width", &w);
    gst_caps_unref (caps);
  }
  if (w == 640)
    g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_sps_change)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *pub_desc = g_strdup_printf ("videotestsrc is-live=true "
      "num-buffers=150 ! capsfilter name=cf caps=video/x-raw,width=320,"
      "height=240,framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 "
      "speed-preset=ultrafast ! h264parse ! rtmfpsink name=s "
      "location=rtmfp://127.0.0.1:%u/live/sps", srv->port);
  gchar *play_desc = g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/sps src.video ! queue ! h264parse "
      "! avdec_h264 name=dec ! fakesink sync=false async=false", srv->port);
  GstElement *pub = gst_parse_launch (pub_desc, NULL);
  GstElement *play = gst_parse_launch (play_desc, NULL);
  GstElement *cf = gst_bin_get_by_name (GST_BIN (pub), "cf");
  GstCaps *big = gst_caps_from_string ("video/x-raw,width=640,height=480,"
      "framerate=30/1");
  Count dec = { 0 };
  gint wide = 0;

  probe (play, "dec", "src", count_probe, &dec);
  probe (play, "dec", "src", decoded_width, &wide);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  /* a new resolution: new SPS/PPS, new codec_data, sent again */
  wait_count (&dec, 45, 20 * G_USEC_PER_SEC);
  g_object_set (cf, "caps", big, NULL);
  wait_ended (pub, 30 * GST_SECOND);
  wait_count (&dec, 140, 10 * G_USEC_PER_SEC);
  assert_no_error (play);
  assert_no_error (pub);
  GST_INFO ("%d decoded, %d at 640x480", dec.count, wide);
  fail_unless (dec.count >= 140, "only %d of 150 decoded", dec.count);
  fail_unless (wide >= 60, "only %d frames decoded at the new size", wide);
  gst_caps_unref (big);
  gst_object_unref (cf);
  stop_pipeline (play);
  stop_pipeline (pub);
  g_free (pub_desc);
  g_free (play_desc);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* loss on the elementary path                                         */

/* Into the audio decoder, buffers and GAPs tile the timeline: every hole
 * between two buffers is covered by exactly one GAP per missing frame */
static guint
check_audio_tiling (Got * got, GstClockTime frame)
{
  GstClockTime next = GST_CLOCK_TIME_NONE;
  guint i, gaps = 0;

  for (i = 0; i < got->audio_in->len; i++) {
    gint64 t = g_array_index (got->audio_in, gint64, i);
    GstClockTime at = t < 0 ? (GstClockTime) (-t - 1) : (GstClockTime) t;

    if (GST_CLOCK_TIME_IS_VALID (next)) {
      GstClockTimeDiff d = GST_CLOCK_DIFF (next, at);
      fail_unless (ABS (d) < (GstClockTimeDiff) frame / 2, "audio entry %u "
          "at %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT
          " (a hole not covered by GAPs)", i, GST_TIME_ARGS (at),
          GST_TIME_ARGS (next));
    }
    if (t < 0)
      gaps++;
    next = at + frame;
  }
  return gaps;
}

GST_START_TEST (test_loss_gaps_and_keyframes)
{
  Server *srv = server_start (NULL, FALSE);
  Proxy *px = proxy_start (srv->port);
  Sent sent;
  Got got;
  GstElement *pub, *play;
  guint gaps;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_full (srv->port, "live/lossy", &sent, NULL, 240,
      MEDIA_ELEMENTARY);
  play = player_new_full (proxy_port (px), "live/lossy", &got, NULL,
      MEDIA_ELEMENTARY);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 40, 20 * G_USEC_PER_SEC));
  /* audio lost: the small datagrams, past the relay's audio lifetime */
  proxy_drop_small (px, 200, 450 * 1000);
  g_usleep (G_USEC_PER_SEC);
  fail_unless (wait_decoded (&got, 90, 20 * G_USEC_PER_SEC));
  /* video lost too: everything, past the inter frames' lifetime */
  proxy_blackout (px, 1500 * 1000);
  wait_ended (pub, 40 * GST_SECOND);
  wait_decoded (&got, 200, 10 * G_USEC_PER_SEC);
  assert_no_error (play);

  {
    GstElement *src = gst_bin_get_by_name (GST_BIN (play), "src");
    GstStructure *st;
    g_object_get (src, "stats", &st, NULL);
    GST_INFO ("player stats %" GST_PTR_FORMAT, st);
    gst_structure_free (st);
    gst_object_unref (src);
  }
  g_mutex_lock (&got.lock);
  gaps = check_audio_tiling (&got, 20 * GST_MSECOND);
  GST_INFO ("%u GAP events, %u video in (%u DISCONT), %u datagrams dropped",
      gaps, got.video_in, got.discont_buffers, (guint) proxy_dropped (px));
  fail_unless (proxy_dropped (px) > 0);
  fail_unless (gaps >= 1, "no audio was lost: the test lost nothing");
  fail_unless_equals_int (gaps, got.gap_events);
  /* video: DISCONT only at keyframes, and one after the blackout */
  fail_unless_equals_int (got.video_discont_delta, 0);
  fail_unless (got.discont_buffers >= 2);
  g_mutex_unlock (&got.lock);
  stop_pipeline (play);
  stop_pipeline (pub);
  proxy_stop (px);
  sent_clear (&sent);
  got_clear (&got);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* a clean end                                                         */

GST_START_TEST (test_eos_ends_quickly)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *pub_desc = g_strdup_printf ("rtmfpsink name=s "
      "location=rtmfp://127.0.0.1:%u/live/end "
      "videotestsrc is-live=true ! video/x-raw,width=160,height=120,"
      "framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 "
      "speed-preset=ultrafast ! s.video audiotestsrc is-live=true "
      "samplesperbuffer=320 ! audio/x-raw,rate=16000,channels=1 ! speexenc "
      "! s.audio", srv->port);
  GstElement *pub = gst_parse_launch (pub_desc, NULL);
  Got got;
  GstElement *play;
  GstMessage *msg;
  gint64 t0, t_pub;

  got_init (&got);
  play = player_new_full (srv->port, "live/end", &got, NULL,
      MEDIA_ELEMENTARY);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 20 * G_USEC_PER_SEC));
  /* what gst-launch-1.0 -e does at Ctrl-C */
  t0 = g_get_monotonic_time ();
  gst_element_send_event (pub, gst_event_new_eos ());
  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 10 * GST_SECOND);
  t_pub = g_get_monotonic_time ();
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  GST_INFO ("publisher EOS after %" G_GINT64_FORMAT " ms", (t_pub - t0) /
      1000);
  fail_unless (t_pub - t0 < 2 * G_USEC_PER_SEC, "EOS took %" G_GINT64_FORMAT
      " ms", (t_pub - t0) / 1000);
  msg = wait_bus (play, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 10 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "the player got no EOS");
  gst_message_unref (msg);
  stop_pipeline (play);
  stop_pipeline (pub);
  got_clear (&got);
  g_free (pub_desc);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* refusals                                                            */

static void
refused (const gchar * pad, const gchar * caps, const gchar * expect1,
    const gchar * expect2)
{
  gchar *desc = g_strdup_printf ("appsrc name=a caps=\"%s\" format=time "
      "! rtmfpsink name=s sync=false timeout=60 "
      "location=rtmfp://127.0.0.1:%u/live/x s.%s", caps, dead_port (), pad);
  GstElement *p, *a;
  gchar *text;
  GQuark domain = 0;
  gint code = 0;

  /* appsrc ! rtmfpsink links the sink's pad of that name */
  g_free (desc);
  desc = g_strdup_printf ("appsrc name=a caps=\"%s\" format=time ! s.%s "
      "rtmfpsink name=s sync=false timeout=60 "
      "location=rtmfp://127.0.0.1:%u/live/x", caps, pad, dead_port ());
  p = gst_parse_launch (desc, NULL);
  fail_unless (p != NULL, "%s", desc);
  a = gst_bin_get_by_name (GST_BIN (p), "a");
  set_state_checked (p, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (a), gst_buffer_new_allocate (NULL,
          64, NULL));
  text = wait_error (p, 10 * GST_SECOND, &domain, &code);
  fail_unless (text != NULL, "caps %s were not refused", caps);
  GST_INFO ("%s: %s", caps, text);
  fail_unless (domain == GST_STREAM_ERROR);
  fail_unless (strstr (text, expect1) != NULL, "'%s' does not say '%s'",
      text, expect1);
  fail_unless (strstr (text, expect2) != NULL, "'%s' does not say '%s'",
      text, expect2);
  g_free (text);
  gst_object_unref (a);
  stop_pipeline (p);
  g_free (desc);
}

GST_START_TEST (test_refused_caps)
{
  refused ("video", "video/x-raw,format=I420,width=64,height=64,"
      "framerate=30/1", "not carried", "x264enc");
  refused ("audio", "audio/mpeg,mpegversion=1,layer=3,rate=44100,"
      "channels=2", "MP3", "speexenc");
  refused ("audio", "audio/x-speex,rate=8000,channels=1", "8000 Hz",
      "16000");
  refused ("audio", "audio/x-speex,rate=16000,channels=2", "2 channel",
      "channels=1");
  refused ("video", "video/x-h264,stream-format=byte-stream,alignment=au",
      "byte-stream", "h264parse");
  refused ("audio", "audio/x-raw,format=S16LE,rate=16000,channels=1,"
      "layout=interleaved", "not carried", "speexenc");
}

GST_END_TEST;

GST_START_TEST (test_pad_requests)
{
  GstElement *e = gst_element_factory_make ("rtmfpsink", NULL);
  GstBus *bus = gst_bus_new ();
  GstPad *v, *v2, *flv, *a;
  GstMessage *msg;

  gst_element_set_bus (e, bus);
  v = gst_element_request_pad_simple (e, "video");
  fail_unless (v != NULL);
  /* one video pad (GStreamer core itself complains about the name) */
  v2 = NULL;
  ASSERT_CRITICAL (v2 = gst_element_request_pad_simple (e, "video"));
  fail_unless (v2 == NULL);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning for a second video pad");
  gst_message_unref (msg);
  /* FLV and elementary pads do not mix */
  flv = gst_element_request_pad_simple (e, "sink");
  fail_unless (flv == NULL);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error for FLV mixed with elementary pads");
  gst_message_unref (msg);
  a = gst_element_request_pad_simple (e, "audio");
  fail_unless (a != NULL);
  gst_element_release_request_pad (e, v);
  gst_element_release_request_pad (e, a);
  gst_object_unref (v);
  gst_object_unref (a);
  /* released: now FLV is fine */
  flv = gst_element_request_pad_simple (e, "sink");
  fail_unless (flv != NULL);
  gst_element_release_request_pad (e, flv);
  gst_object_unref (flv);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* waiting for a publisher                                             */

GST_START_TEST (test_waiting_idle_timeout)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *desc = g_strdup_printf ("rtmfpsrc idle-timeout=2 "
      "location=rtmfp://127.0.0.1:%u/live/nobody ! fakesink", srv->port);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstStructure *s;
  gchar *text;
  GQuark domain = 0;
  gint code = 0;
  gint64 t0 = g_get_monotonic_time (), t;

  set_state_checked (p, GST_STATE_PLAYING);
  s = wait_element_message (p, "rtmfp-waiting", 5 * GST_SECOND);
  fail_unless (s != NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "stream"),
      "nobody");
  gst_structure_free (s);
  text = wait_error (p, 10 * GST_SECOND, &domain, &code);
  t = g_get_monotonic_time ();
  fail_unless (text != NULL);
  fail_unless (domain == GST_RESOURCE_ERROR);
  fail_unless_equals_int (code, GST_RESOURCE_ERROR_NOT_FOUND);
  fail_unless (strstr (text, "nobody") != NULL, "%s", text);
  fail_unless (t - t0 >= 2 * G_USEC_PER_SEC);
  fail_unless (t - t0 < 8 * G_USEC_PER_SEC);
  g_free (text);
  stop_pipeline (p);
  g_free (desc);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* statistics in gst-launch-1.0 -m                                     */

/* The largest value of `field` in the stats messages gst-launch-1.0 -m
 * printed to file `path` so far */
static guint64
launch_stat (const gchar * path, const gchar * field)
{
  gchar *text = NULL, *pat = g_strdup_printf ("%s=(guint64)", field), *p;
  guint64 best = 0;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    for (p = strstr (text, pat); p; p = strstr (p + 1, pat)) {
      guint64 v = g_ascii_strtoull (p + strlen (pat), NULL, 10);

      best = MAX (best, v);
    }
  }
  g_free (text);
  g_free (pat);
  return best;
}

static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
launch (const gchar * out, const gchar * const *argv)
{
  GSubprocessLauncher *l =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  GSubprocess *p;
  GError *err = NULL;

  g_subprocess_launcher_set_stdout_file_path (l, out);
  g_subprocess_launcher_set_child_setup (l, die_with_test, NULL, NULL);
  launcher_for_sanitizer (l);
  p = g_subprocess_launcher_spawnv (l, argv, &err);
  fail_unless (p != NULL, "cannot run gst-launch-1.0: %s",
      err ? err->message : "?");
  g_object_unref (l);
  return p;
}

static void
exited (GObject * source, GAsyncResult * res, gpointer done)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *(gboolean *) done = TRUE;
}

/* Waits (bounded) for p to end; FALSE if it still runs (then killed) */
static gboolean
wait_exit (GSubprocess * p, gint64 timeout_us)
{
  GMainContext *ctx = g_main_context_new ();
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean done = FALSE;

  g_main_context_push_thread_default (ctx);
  g_subprocess_wait_async (p, NULL, exited, &done);
  while (!done && g_get_monotonic_time () < end) {
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (20 * 1000);
  }
  if (!done) {
    g_subprocess_force_exit (p);
    while (!done)
      g_main_context_iteration (ctx, TRUE);
  }
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  return g_get_monotonic_time () < end;
}

/* p exited with status 0; else fails with its status and the end of its
 * output (file out) */
static void
assert_exited_cleanly (GSubprocess * p, const gchar * out, const gchar * what)
{
  gchar *text = NULL;
  gsize len = 0;

  if (g_subprocess_get_if_exited (p) && g_subprocess_get_exit_status (p) == 0)
    return;
  g_file_get_contents (out, &text, &len, NULL);
  fail ("%s: %s %d; its output ends with: %s", what,
      g_subprocess_get_if_exited (p) ? "exit status" : "killed by signal",
      g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) :
      g_subprocess_get_term_sig (p), text ? text + (len > 1500 ? len - 1500 :
          0) : "(none)");
  g_free (text);
}

/* What issue 16 asks of gst-launch users: with stats-interval, -m prints
 * the stats structure as element messages, with counters that move */
GST_START_TEST (test_gst_launch_stats)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *dir = g_dir_make_tmp ("rtmfp-stats-XXXXXX", NULL);
  gchar *pub_out = g_build_filename (dir, "pub.txt", NULL);
  gchar *play_out = g_build_filename (dir, "play.txt", NULL);
  gchar *loc = g_strdup_printf ("location=rtmfp://127.0.0.1:%u/live/stats",
      srv->port);
  /* under timeout(1): nothing outlives a failed test */
  const gchar *play_argv[] = { "timeout", "120", "gst-launch-1.0", "-m", "rtmfpsrc", "name=s",
    loc, "stats-interval=500", "s.video", "!", "queue", "!", "h264parse", "!",
    "avdec_h264", "!", "fakesink", NULL
  };
  const gchar *pub_argv[] = { "timeout", "120", "gst-launch-1.0", "-e", "-m", "rtmfpsink",
    "name=s", loc, "stats-interval=500", "videotestsrc", "is-live=true", "!",
    "x264enc", "tune=zerolatency", "key-int-max=30", "!", "h264parse", "!",
    "s.video", NULL
  };
  GSubprocess *play, *pub;
  gint64 end;
  guint64 sent = 0, received = 0;

  play = launch (play_out, play_argv);
  pub = launch (pub_out, pub_argv);
  end = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  while (g_get_monotonic_time () < end && (sent < 30 || received < 30)) {
    g_usleep (100 * 1000);
    sent = launch_stat (pub_out, "video-messages-sent");
    received = launch_stat (play_out, "video-messages-received");
  }
  GST_INFO ("stats messages: %" G_GUINT64_FORMAT " video messages sent, %"
      G_GUINT64_FORMAT " received", sent, received);
  fail_unless (sent >= 30, "the publisher's -m output shows %"
      G_GUINT64_FORMAT " video messages sent", sent);
  fail_unless (received >= 30, "the player's -m output shows %"
      G_GUINT64_FORMAT " video messages received", received);
  fail_unless (launch_stat (pub_out, "bytes-sent") > 0);
  fail_unless (launch_stat (play_out, "bytes-received") > 0);

  /* -e: Ctrl-C (relayed by timeout) ends the publisher cleanly, then the
   * player by itself */
  g_subprocess_send_signal (pub, SIGINT);
  fail_unless (wait_exit (pub, 20 * G_TIME_SPAN_SECOND), "publisher hangs");
  assert_exited_cleanly (pub, pub_out, "publisher");
  fail_unless (wait_exit (play, 20 * G_TIME_SPAN_SECOND), "player hangs");
  assert_exited_cleanly (play, play_out, "player");

  g_object_unref (pub);
  g_object_unref (play);
  g_unlink (pub_out);
  g_unlink (play_out);
  g_rmdir (dir);
  g_free (pub_out);
  g_free (play_out);
  g_free (dir);
  g_free (loc);
  server_stop (srv);
}

GST_END_TEST;

static Suite *
rtmfpmedia_suite (void)
{
  Suite *s = suite_create ("rtmfpmedia");
  TCase *e2e = tcase_create ("end-to-end");
  TCase *bad = tcase_create ("refusals");

  suite_add_tcase (s, e2e);
  tcase_set_timeout (e2e, 120);
  test_watchdog_add (e2e, 120);
  tcase_add_test (e2e, test_h264_speex_player_first);
  tcase_add_test (e2e, test_h264_speex_publisher_first);
  tcase_add_test (e2e, test_h264_aac_player_first);
  tcase_add_test (e2e, test_h264_aac_publisher_first);
  tcase_add_test (e2e, test_flv_to_elementary);
  tcase_add_test (e2e, test_elementary_to_flv);
  tcase_add_test (e2e, test_direct_peer_id_auto);
  tcase_add_test (e2e, test_audio_only);
  tcase_add_test (e2e, test_video_only);
  tcase_add_test (e2e, test_video_only_player_for_both);
  tcase_add_test (e2e, test_audio_only_player_for_both);
  tcase_add_test (e2e, test_late_video_input);
  tcase_add_test (e2e, test_vp6);
  tcase_add_test (e2e, test_vp6_alpha);
  tcase_add_test (e2e, test_sps_change);
  tcase_add_test (e2e, test_loss_gaps_and_keyframes);
  tcase_add_test (e2e, test_eos_ends_quickly);
  tcase_add_test (e2e, test_waiting_idle_timeout);
  tcase_add_test (e2e, test_gst_launch_stats);

  suite_add_tcase (s, bad);
  test_watchdog_add (bad, 120);
  tcase_add_test (bad, test_refused_caps);
  tcase_add_test (bad, test_pad_requests);
  return s;
}

GST_CHECK_MAIN (rtmfpmedia);
