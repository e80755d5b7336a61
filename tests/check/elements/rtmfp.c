/* gst-check tests of rtmfpsink and rtmfpsrc: real pipelines through the
 * rtmfp-server binary (started here on an ephemeral port), properties,
 * URIs, statistics and the error cases.
 *
 * Environment: RTMFP_SERVER = path of the rtmfp-server binary (set by
 * meson).  The pipelines need x264enc, h264parse, avdec_h264, flvmux,
 * flvdemux, speexenc, speexdec and lamemp3enc from the system plugins.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"
#include <gst/check/gstharness.h>

#include "rtmfptestutil.h"

static const gchar *elements[] = { "rtmfpsrc", "rtmfpsink" };

static void
check_stats_schema (GstStructure * a, GstStructure * b)
{
  gint i;

  fail_unless_equals_int (gst_structure_n_fields (a),
      gst_structure_n_fields (b));
  for (i = 0; i < gst_structure_n_fields (a); i++) {
    const gchar *n = gst_structure_nth_field_name (a, i);
    fail_unless (gst_structure_has_field_typed (b, n,
            gst_structure_get_field_type (a, n)), "field %s", n);
  }
}

/* ------------------------------------------------------------------ */
/* end to end                                                          */

GST_START_TEST (test_publish_play)
{
  Server *srv = server_start (NULL, FALSE);
  Sent sent;
  Got got;
  GstElement *pub, *play, *sink, *src;
  GstMessage *msg;
  GstStructure *null_stats, *st;
  gchar *peer_id = NULL;
  guint64 v;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new (srv->port, "live/test", &sent, NULL);
  play = player_new (srv->port, "live/test", &got, NULL);
  sink = gst_bin_get_by_name (GST_BIN (pub), "sink");
  src = gst_bin_get_by_name (GST_BIN (play), "src");
  g_object_get (src, "stats", &null_stats, NULL);

  /* the player first: the server waits for the publisher */
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);

  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 60 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "publisher did not finish");
  gst_message_unref (msg);
  g_object_get (sink, "peer-id", &peer_id, NULL);
  fail_unless (peer_id && strlen (peer_id) == 64);
  g_object_get (sink, "stats", &st, NULL);
  check_stats_schema (null_stats, st);
  fail_unless (gst_structure_get_uint64 (st, "video-messages-sent", &v));
  fail_unless (v >= N_VIDEO);
  fail_unless (gst_structure_get_uint64 (st, "audio-messages-sent", &v));
  fail_unless (v > 0);
  fail_unless_equals_string (gst_structure_get_string (st, "protocol"),
      "rtmfp");
  gst_structure_free (st);

  /* UnpublishNotify ends the player */
  msg = wait_bus (play, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 20 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "player did not get EOS");
  gst_message_unref (msg);
  assert_no_error (pub);
  assert_no_error (play);

  g_object_get (src, "stats", &st, NULL);
  check_stats_schema (null_stats, st);
  fail_unless (gst_structure_get_uint64 (st, "video-messages-received", &v));
  fail_unless (v >= N_VIDEO * 95 / 100);
  fail_unless (gst_structure_get_uint64 (st, "packets-received", &v));
  fail_unless (v > 0);
  gst_structure_free (st);

  check_received (&sent, &got, "player");

  set_state_checked (pub, GST_STATE_NULL);
  set_state_checked (play, GST_STATE_NULL);
  /* stats keep the last values after stop */
  g_object_get (src, "stats", &st, NULL);
  fail_unless (gst_structure_get_uint64 (st, "video-messages-received", &v));
  fail_unless (v > 0);
  gst_structure_free (st);

  gst_structure_free (null_stats);
  g_free (peer_id);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (pub);
  gst_object_unref (play);
  got_clear (&got);
  sent_clear (&sent);
  server_stop (srv);
}

GST_END_TEST;

GST_START_TEST (test_two_players_late_joiner)
{
  Server *srv = server_start ("live", FALSE);
  Sent sent;
  Got got1, got2;
  GstElement *pub, *p1, *p2;
  GstMessage *msg;

  sent_init (&sent);
  got_init (&got1);
  got_init (&got2);
  pub = publisher_new (srv->port, "live/two", &sent, NULL);
  p1 = player_new (srv->port, "live/two", &got1, NULL);
  p2 = player_new (srv->port, "live/two", &got2, NULL);

  set_state_checked (p1, GST_STATE_PLAYING);
  fail_unless (wait_status (p1, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  /* the second player joins 2 s into the stream */
  fail_unless (wait_decoded (&got1, 60, 30 * SEC), "first player stalled");
  set_state_checked (p2, GST_STATE_PLAYING);

  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 60 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  msg = wait_bus (p1, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 20 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  msg = wait_bus (p2, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 20 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);

  check_received (&sent, &got1, "player 1");
  check_received (&sent, &got2, "late player");
  /* the late joiner started at a keyframe, well into the stream */
  fail_unless (got2.first_video_key, "late joiner did not start at a "
      "keyframe");
  fail_unless (g_array_index (got2.video_pts, GstClockTime, 0) >=
      GST_SECOND);

  set_state_checked (pub, GST_STATE_NULL);
  set_state_checked (p1, GST_STATE_NULL);
  set_state_checked (p2, GST_STATE_NULL);
  gst_object_unref (pub);
  gst_object_unref (p1);
  gst_object_unref (p2);
  got_clear (&got1);
  got_clear (&got2);
  sent_clear (&sent);
  server_stop (srv);
}

GST_END_TEST;

/* The path to the player goes dark for 1.5 s mid-stream: the server
 * abandons what it could not deliver in time, the player marks the gap
 * DISCONT and plays on with true timestamps; nothing stalls. */
GST_START_TEST (test_gaps_never_stall)
{
  Server *srv = server_start (NULL, FALSE);
  Proxy *px = proxy_start (srv->port);
  Sent sent;
  Got got;
  GstElement *pub, *play;
  GstMessage *msg;
  GstClockTime last;
  guint i, after = 0;
  guint64 dropped;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new (srv->port, "live/lossy", &sent, NULL);
  play = player_new (proxy_port (px), "live/lossy", &got, NULL);

  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");
  proxy_blackout (px, 1500 * 1000);

  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 60 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  msg = wait_bus (play, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 30 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "the player did not play to the end");
  gst_message_unref (msg);
  assert_no_error (play);

  dropped = proxy_dropped (px);
  g_print ("lossy: video %u/%u decoded, %u discont, %" G_GUINT64_FORMAT
      " datagrams dropped\n", got.video_pts->len, sent.video->len,
      got.discont_buffers, dropped);
  fail_unless (dropped > 0);
  /* the gap was signalled, and the stream went on to its end in order */
  fail_unless (got.discont_buffers >= 2, "no DISCONT after the outage");
  for (i = 1; i < got.video_pts->len; i++)
    fail_unless (g_array_index (got.video_pts, GstClockTime, i) >
        g_array_index (got.video_pts, GstClockTime, i - 1));
  last = g_array_index (sent.video, SentTag, sent.video->len - 1).ts *
      GST_MSECOND;
  for (i = 0; i < got.video_pts->len; i++)
    if (g_array_index (got.video_pts, GstClockTime, i) + 2 * GST_SECOND >=
        last)
      after++;
  /* the last 2 s of the stream (after the outage) decoded */
  fail_unless (after >= 50, "only %u frames decoded after the outage", after);
  fail_unless (got.video_pts->len < sent.video->len);

  set_state_checked (pub, GST_STATE_NULL);
  set_state_checked (play, GST_STATE_NULL);
  gst_object_unref (pub);
  gst_object_unref (play);
  got_clear (&got);
  sent_clear (&sent);
  proxy_stop (px);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* errors                                                              */

/* Sets PLAYING and returns the first ERROR within `timeout` */
static GstMessage *
run_until_error (GstElement * p, GstClockTime timeout)
{
  GstMessage *msg;

  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = wait_bus (p, GST_MESSAGE_ERROR | GST_MESSAGE_EOS, timeout);
  fail_unless (msg != NULL, "no error within %" GST_TIME_FORMAT,
      GST_TIME_ARGS (timeout));
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  return msg;
}

GST_START_TEST (test_unreachable_server)
{
  gchar *desc = g_strdup_printf ("rtmfpsrc timeout=2 "
      "location=rtmfp://127.0.0.1:%u/live/x ! fakesink", dead_port ());
  GstElement *p = gst_parse_launch (desc, NULL);
  gint64 t0 = g_get_monotonic_time ();
  GstMessage *msg = run_until_error (p, 5 * GST_SECOND);
  GError *err = NULL;
  gchar *dbg = NULL;
  gint64 elapsed = g_get_monotonic_time () - t0;

  gst_message_parse_error (msg, &err, &dbg);
  GST_INFO ("error after %" G_GINT64_FORMAT " ms: %s (%s)", elapsed / 1000,
      err->message, dbg);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ), "%s", err->message);
  fail_unless (strstr (err->message, "Could not connect to RTMFP server "
          "\"127.0.0.1\"") != NULL, "%s", err->message);
  /* after the timeout, not before */
  fail_unless (elapsed >= 2 * SEC - 100000, "error too early");
  fail_unless (elapsed < 5 * SEC);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  set_state_checked (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);
}

GST_END_TEST;

GST_START_TEST (test_rejected_app)
{
  Server *srv = server_start ("live", FALSE);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (elements); i++) {
    gchar *desc = i == 0 ?
        g_strdup_printf ("rtmfpsrc name=el "
        "location=rtmfp://127.0.0.1:%u/other/test ! fakesink", srv->port) :
        g_strdup_printf ("fakesrc is-live=true sizetype=fixed sizemax=20 "
        "filltype=zero ! video/x-flv ! rtmfpsink name=el "
        "location=rtmfp://127.0.0.1:%u/other/test", srv->port);
    GstElement *p = gst_parse_launch (desc, NULL);
    GstMessage *msg = run_until_error (p, 10 * GST_SECOND);
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fail_unless_equals_string (GST_OBJECT_NAME (msg->src), "el");
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_NOT_AUTHORIZED), "%s", err->message);
    fail_unless (strstr (dbg, "NetConnection.Connect.Rejected") != NULL,
        "%s", dbg);
    fail_unless (strstr (err->message, "refused the connection") != NULL);
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (msg);
    set_state_checked (p, GST_STATE_NULL);
    gst_object_unref (p);
    g_free (desc);
  }
  server_stop (srv);
}

GST_END_TEST;

/* Fingerprint pinning: a server with another fingerprint fails with
 * NOT_AUTHORIZED naming the reason; a malformed one is a settings error.
 * (The right fingerprint streaming: test_pinned_identity_server.) */
GST_START_TEST (test_server_fingerprint_pinning)
{
  static const gchar other_fp[] =
      "0000000000000000000000000000000000000000000000000000000000000000";
  Server *srv = server_start ("live", FALSE);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (elements); i++) {
    gchar *desc = i == 0 ?
        g_strdup_printf ("rtmfpsrc name=el server-fingerprint=%s "
        "location=rtmfp://127.0.0.1:%u/live/test ! fakesink", other_fp,
        srv->port) :
        g_strdup_printf ("fakesrc is-live=true sizetype=fixed sizemax=20 "
        "filltype=zero ! video/x-flv ! rtmfpsink name=el "
        "server-fingerprint=%s location=rtmfp://127.0.0.1:%u/live/test",
        other_fp, srv->port);
    GstElement *p = gst_parse_launch (desc, NULL);
    GstMessage *msg = run_until_error (p, 10 * GST_SECOND);
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fail_unless_equals_string (GST_OBJECT_NAME (msg->src), "el");
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_NOT_AUTHORIZED), "%s", err->message);
    fail_unless (strstr (err->message, "wrong fingerprint") != NULL,
        "%s", err->message);
    fail_unless (strstr (dbg, other_fp) != NULL, "%s", dbg);
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (msg);
    set_state_checked (p, GST_STATE_NULL);
    gst_object_unref (p);
    g_free (desc);
  }

  {
    gchar *desc = g_strdup_printf ("rtmfpsrc name=el server-fingerprint=xyz "
        "location=rtmfp://127.0.0.1:%u/live/test ! fakesink", srv->port);
    GstElement *p = gst_parse_launch (desc, NULL);
    GstMessage *msg = run_until_error (p, 10 * GST_SECOND);
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_SETTINGS), "%s", err->message);
    g_error_free (err);
    gst_message_unref (msg);
    set_state_checked (p, GST_STATE_NULL);
    gst_object_unref (p);
    g_free (desc);
  }
  server_stop (srv);
}

GST_END_TEST;

/* rtmfp-server --identity, pinned by the fingerprint it printed: the
 * publisher and the player (both pinned) stream end to end, and after a
 * restart with the same file the same pin still works.  (Pinning an
 * ephemeral certificate fails: test-tcclient /tcclient/fingerprint-pinning.) */
GST_START_TEST (test_pinned_identity_server)
{
  gchar *dir = g_dir_make_tmp ("rtmfp-pin-XXXXXX", NULL);
  gchar *file = g_build_filename (dir, "id", NULL);
  gchar *fp = NULL, *fp2 = NULL;
  Server *srv;
  Sent sent;
  Got got;
  GstElement *pub, *play, *src;
  GstMessage *msg;

  srv = server_start_identity (file, &fp);
  sent_init (&sent);
  got_init (&got);
  {
    gchar *props = g_strdup_printf ("server-fingerprint=%s ", fp);
    pub = publisher_new (srv->port, "live/pinned", &sent, props);
    g_free (props);
  }
  play = player_new (srv->port, "live/pinned", &got, NULL);
  src = gst_bin_get_by_name (GST_BIN (play), "src");
  g_object_set (src, "server-fingerprint", fp, NULL);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));
  set_state_checked (pub, GST_STATE_PLAYING);
  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 60 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "pinned publisher did not finish");
  gst_message_unref (msg);
  msg = wait_bus (play, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 20 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "pinned player did not get EOS");
  gst_message_unref (msg);
  assert_no_error (pub);
  assert_no_error (play);
  check_received (&sent, &got, "pinned player");
  set_state_checked (pub, GST_STATE_NULL);
  set_state_checked (play, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pub);
  gst_object_unref (play);
  got_clear (&got);
  sent_clear (&sent);
  server_stop (srv);

  /* restarted with the file: the same fingerprint, the pin still holds */
  srv = server_start_identity (file, &fp2);
  fail_unless_equals_string (fp, fp2);
  {
    gchar *desc = g_strdup_printf ("rtmfpsrc name=el server-fingerprint=%s "
        "location=rtmfp://127.0.0.1:%u/live/none ! fakesink", fp, srv->port);
    GstElement *p = gst_parse_launch (desc, NULL);

    set_state_checked (p, GST_STATE_PLAYING);
    fail_unless (wait_status (p, "NetStream.Play.Start", 10 * GST_SECOND));
    assert_no_error (p);
    set_state_checked (p, GST_STATE_NULL);
    gst_object_unref (p);
    g_free (desc);
  }
  server_stop (srv);

  g_unlink (file);
  g_rmdir (dir);
  g_free (file);
  g_free (dir);
  g_free (fp);
  g_free (fp2);
}

GST_END_TEST;

GST_START_TEST (test_unsupported_codec)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=50 "
      "! audio/x-raw,rate=44100,channels=1 ! lamemp3enc ! mpegaudioparse "
      "! flvmux streamable=true ! rtmfpsink name=sink "
      "location=rtmfp://127.0.0.1:%u/live/mp3", srv->port);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstMessage *msg = run_until_error (p, 10 * GST_SECOND);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (p != NULL);
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless_equals_string (GST_OBJECT_NAME (msg->src), "sink");
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_CODEC_NOT_FOUND), "%s", err->message);
  fail_unless (strstr (err->message, "MP3") != NULL, "%s", err->message);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  set_state_checked (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);
  server_stop (srv);
}

GST_END_TEST;

/* FLV pushed by hand: metadata naming MP3 in the caps' streamheader is
 * refused at caps time; without metadata, the first MP3 tag is refused
 * once publishing, as not-negotiated */
static void
check_codec_error (GstBus * bus, const gchar * codec)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_CODEC_NOT_FOUND), "%s", err->message);
  fail_unless (strstr (err->message, codec) != NULL, "%s", err->message);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
}

static GstBuffer *
flv_tag (guint8 type, guint32 ts, const guint8 * payload, gsize len)
{
  GByteArray *a = g_byte_array_new ();
  guint8 hdr[11] = { type, len >> 16, len >> 8, len, ts >> 16, ts >> 8, ts,
    ts >> 24, 0, 0, 0
  };
  guint8 trailer[4] = { 0, 0, (11 + len) >> 8, 11 + len };

  g_byte_array_append (a, hdr, 11);
  g_byte_array_append (a, payload, len);
  g_byte_array_append (a, trailer, 4);
  return gst_buffer_new_wrapped (g_byte_array_free (a, FALSE), 15 + len);
}

GST_START_TEST (test_unsupported_codec_by_hand)
{
  /* onMetaData { audiocodecid: 2 (MP3) } as flvmux writes it */
  static const guint8 meta[] = {
    0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
    0x08, 0, 0, 0, 1,
    0x00, 0x0c, 'a', 'u', 'd', 'i', 'o', 'c', 'o', 'd', 'e', 'c', 'i', 'd',
    0x00, 0x40, 0x00, 0, 0, 0, 0, 0, 0,
    0x00, 0x00, 0x09
  };
  static const guint8 mp3[] = { 0x2f, 0xff, 0xfb, 0x90, 0x00 };
  static const guint8 sorenson[] = { 0x12, 0x00, 0x00, 0x84, 0x00 };
  Server *srv = server_start (NULL, FALSE);
  gchar *desc = g_strdup_printf ("rtmfpsink "
      "location=rtmfp://127.0.0.1:%u/live/byhand", srv->port);
  GstHarness *h;
  GstBus *bus;
  GstCaps *caps;
  GValue arr = G_VALUE_INIT, v = G_VALUE_INIT;
  GstBuffer *mb;
  guint i;

  /* caps time */
  h = sink_harness (desc, "sink");
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  mb = flv_tag (18, 0, meta, sizeof meta);
  GST_BUFFER_FLAG_SET (mb, GST_BUFFER_FLAG_HEADER);
  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&v, GST_TYPE_BUFFER);
  gst_value_set_buffer (&v, mb);
  gst_value_array_append_value (&arr, &v);
  g_value_unset (&v);
  caps = gst_caps_new_empty_simple ("video/x-flv");
  gst_caps_set_value (caps, "streamheader", &arr);
  g_value_unset (&arr);
  gst_harness_set_src_caps (h, caps);
  fail_unless_equals_int (gst_harness_push (h, mb), GST_FLOW_NOT_NEGOTIATED);
  check_codec_error (bus, "MP3");
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);

  /* first tag, audio then video */
  for (i = 0; i < 2; i++) {
    GstFlowReturn r;

    h = sink_harness (desc, "sink");
    bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    gst_harness_set_src_caps_str (h, "video/x-flv");
    r = gst_harness_push (h, i == 0 ? flv_tag (8, 0, mp3, sizeof mp3) :
        flv_tag (9, 0, sorenson, sizeof sorenson));
    fail_unless_equals_int (r, GST_FLOW_NOT_NEGOTIATED);
    check_codec_error (bus, i == 0 ? "MP3" : "H.263");
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
  g_free (desc);
  server_stop (srv);
}

GST_END_TEST;

/* The player's receive queue is bounded whatever the stream holds: with
 * nothing droppable queued (data messages only) and the source's output
 * blocked, 3000 messages arrive; once unblocked, at most the queue's 2048
 * (+ the one blocked in the probe) come out, the newest last, with
 * DISCONT after the loss */
#define N_DATA 3000
#define QUEUE_ITEMS 2048

typedef struct
{
  GMutex lock;
  GCond cond;
  guint tags;
  guint disconts;
  gint last_seq;
} DataGot;

static GstPadProbeReturn
block_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  return GST_PAD_PROBE_OK;      /* stays blocked until removed */
}

static void
data_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  DataGot *g = data;
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_READ);
  /* each tag ends with AMF0 "qNNNNNN" then the 4-byte trailer */
  if (map.size >= 15 + 10 && map.data[map.size - 4 - 10] == 0x02 &&
      map.data[map.size - 4 - 7] == 'q') {
    gchar num[7];

    memcpy (num, map.data + map.size - 4 - 6, 6);
    num[6] = 0;
    g_mutex_lock (&g->lock);
    g->tags++;
    if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) && g->tags > 1)
      g->disconts++;
    g->last_seq = atoi (num);
    g_cond_broadcast (&g->cond);
    g_mutex_unlock (&g->lock);
  }
  gst_buffer_unmap (buf, &map);
}

GST_START_TEST (test_receive_queue_bounded)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *desc;
  GstElement *play, *src, *out;
  GstPad *srcpad;
  GstHarness *h;
  DataGot g = { 0 };
  gulong block;
  guint i;
  guint64 received = 0;
  gint64 end;

  g_mutex_init (&g.lock);
  g_cond_init (&g.cond);
  g.last_seq = -1;
  desc = g_strdup_printf ("rtmfpsrc name=src "
      "location=rtmfp://127.0.0.1:%u/live/queue ! fakesink name=out "
      "signal-handoffs=true sync=false async=false", srv->port);
  play = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (play != NULL);
  src = gst_bin_get_by_name (GST_BIN (play), "src");
  out = gst_bin_get_by_name (GST_BIN (play), "out");
  g_signal_connect (out, "handoff", G_CALLBACK (data_handoff), &g);
  srcpad = gst_element_get_static_pad (src, "src");
  block = gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BLOCK, block_probe, NULL, NULL);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 10 * GST_SECOND));

  desc = g_strdup_printf ("rtmfpsink location=rtmfp://127.0.0.1:%u/live/queue",
      srv->port);
  h = sink_harness (desc, "sink");
  g_free (desc);
  gst_harness_set_src_caps_str (h, "video/x-flv");
  for (i = 0; i < N_DATA; i++) {
    gchar amf[11];              /* AMF0 string "qNNNNNN" (+ NUL) */

    amf[0] = 0x02;
    amf[1] = 0;
    amf[2] = 7;
    g_snprintf (amf + 3, 8, "q%06u", i);
    fail_unless_equals_int (gst_harness_push (h, flv_tag (18, i,
                (const guint8 *) amf, 10)), GST_FLOW_OK);
  }

  /* all of them at the player (its source blocked) */
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (received < N_DATA && g_get_monotonic_time () < end) {
    GstStructure *st;

    g_usleep (50 * 1000);
    g_object_get (src, "stats", &st, NULL);
    fail_unless (gst_structure_get_uint64 (st, "data-messages-received",
            &received));
    gst_structure_free (st);
  }
  fail_unless (received >= N_DATA, "only %" G_GUINT64_FORMAT " data "
      "messages reached the player", received);

  gst_pad_remove_probe (srcpad, block);
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_mutex_lock (&g.lock);
  while (g.last_seq != N_DATA - 1 &&
      g_cond_wait_until (&g.cond, &g.lock, end));
  fail_unless_equals_int (g.last_seq, N_DATA - 1);
  GST_INFO ("%u of %u data messages out, %u DISCONT", g.tags, N_DATA,
      g.disconts);
  fail_unless (g.tags <= QUEUE_ITEMS + 1, "%u messages queued (limit %u)",
      g.tags, QUEUE_ITEMS);
  fail_unless (g.tags >= QUEUE_ITEMS / 2, "only %u messages out", g.tags);
  fail_unless (g.disconts >= 1, "no DISCONT after the dropped messages");
  g_mutex_unlock (&g.lock);
  assert_no_error (play);

  gst_harness_teardown (h);
  gst_element_set_state (play, GST_STATE_NULL);
  gst_object_unref (srcpad);
  gst_object_unref (src);
  gst_object_unref (out);
  gst_object_unref (play);
  g_mutex_clear (&g.lock);
  g_cond_clear (&g.cond);
  server_stop (srv);
}

GST_END_TEST;

/* An empty message (MonaServer sends empty audio and video messages when
 * a player starts) reaches rtmfpsrc: nothing is output for it, and what
 * follows plays (the FLV output used to wrap its NULL data and crash).
 * rtmfp-server's relay drops empty messages, so they go peer to peer. */
GST_START_TEST (test_empty_message)
{
  Server *srv = server_start (NULL, FALSE);
  gchar *desc, *peer_id = NULL;
  GstElement *play, *out, *sink;
  GstHarness *h;
  DataGot g = { 0 };
  gint64 end;
  guint i;
  static const guint8 amf[] = { 0x02, 0, 7, 'q', '0', '0', '0', '0', '0',
    '7'
  };
  static const guint8 avc_hdr[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0x00,
    0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0x00, 0x1e, 0x01, 0x00, 0x04,
    0x68, 0xce, 0x3c, 0x80
  };
  static const guint8 avc_key[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 5, 0x65,
    0x88, 0x84, 0x00, 0x33
  };

  g_mutex_init (&g.lock);
  g_cond_init (&g.cond);
  g.last_seq = -1;
  desc = g_strdup_printf ("rtmfpsink mode=direct "
      "location=rtmfp://127.0.0.1:%u/live/empty", srv->port);
  h = sink_harness (desc, "sink");
  g_free (desc);
  sink = gst_object_ref (h->element);
  g_object_get (sink, "peer-id", &peer_id, NULL);
  fail_unless (peer_id != NULL);
  gst_harness_set_src_caps_str (h, "video/x-flv");
  fail_unless_equals_int (gst_harness_push (h, flv_tag (9, 0, avc_hdr,
              sizeof avc_hdr)), GST_FLOW_OK);

  desc = g_strdup_printf ("rtmfpsrc peer-id=%s "
      "location=rtmfp://127.0.0.1:%u/live/empty ! fakesink name=out "
      "signal-handoffs=true sync=false async=false", peer_id, srv->port);
  play = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (play != NULL);
  out = gst_bin_get_by_name (GST_BIN (play), "out");
  g_signal_connect (out, "handoff", G_CALLBACK (data_handoff), &g);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_status (play, "NetStream.Play.Start", 20 * GST_SECOND));

  /* a keyframe, then empty video and data messages, then data the
   * player must still get (each round: until it arrives, bounded) */
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (i = 0; g.last_seq != 7 && g_get_monotonic_time () < end; i++) {
    guint32 ts = 100 * i;

    fail_unless_equals_int (gst_harness_push (h, flv_tag (9, ts, avc_key,
                sizeof avc_key)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h, flv_tag (9, ts + 40, NULL,
                0)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h, flv_tag (18, ts + 42, NULL,
                0)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h, flv_tag (18, ts + 43, amf,
                sizeof amf)), GST_FLOW_OK);
    g_mutex_lock (&g.lock);
    g_cond_wait_until (&g.cond, &g.lock, g_get_monotonic_time () +
        100 * G_TIME_SPAN_MILLISECOND);
    g_mutex_unlock (&g.lock);
  }
  fail_unless_equals_int (g.last_seq, 7);
  assert_no_error (play);

  gst_element_set_state (play, GST_STATE_NULL);
  gst_harness_teardown (h);
  gst_object_unref (sink);
  gst_object_unref (out);
  gst_object_unref (play);
  g_free (peer_id);
  g_mutex_clear (&g.lock);
  g_cond_clear (&g.cond);
  server_stop (srv);
}

GST_END_TEST;

/* PLAYING -> NULL while connecting to a black hole never hangs */
GST_START_TEST (test_stop_while_connecting)
{
  static const gchar *descs[] = {
    "rtmfpsrc timeout=60 location=rtmfp://192.0.2.1/live/x ! fakesink",
    "fakesrc is-live=true sizetype=fixed sizemax=20 filltype=zero "
        "! video/x-flv ! rtmfpsink timeout=60 "
        "location=rtmfp://192.0.2.1/live/x",
    "rtmfpsrc timeout=60 location=rtmfp://localhost:@PORT@/live/x "
        "! fakesink",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (descs); i++) {
    gchar *port = g_strdup_printf ("%u", dead_port ());
    GString *d = g_string_new (descs[i]);
    gchar *desc;
    GstElement *p;
    gint64 t0;

    g_string_replace (d, "@PORT@", port, 0);
    desc = g_string_free (d, FALSE);
    g_free (port);

    p = gst_parse_launch (desc, NULL);
    fail_unless (p != NULL);
    gst_element_set_state (p, GST_STATE_PLAYING);
    gst_element_get_state (p, NULL, NULL, 5 * GST_SECOND);
    t0 = g_get_monotonic_time ();
    set_state_checked (p, GST_STATE_NULL);
    fail_unless (g_get_monotonic_time () - t0 < 3 * SEC,
        "%s: stopping took %" G_GINT64_FORMAT " ms", desc,
        (g_get_monotonic_time () - t0) / 1000);
    /* and again, straight from PLAYING to NULL */
    gst_element_set_state (p, GST_STATE_PLAYING);
    t0 = g_get_monotonic_time ();
    set_state_checked (p, GST_STATE_NULL);
    fail_unless (g_get_monotonic_time () - t0 < 3 * SEC);
    assert_no_error (p);
    gst_object_unref (p);
    g_free (desc);
  }
}

GST_END_TEST;

GST_START_TEST (test_bad_settings)
{
  static const gchar *descs[] = {
    "rtmfpsrc location=http://example.com/live/x ! fakesink",
    "rtmfpsrc location=rtmfp://127.0.0.1/appwithoutstream ! fakesink",
    "rtmfpsrc location=rtmfp: ! fakesink",
    "rtmfpsrc peer-id=0123 location=rtmfp://127.0.0.1/live/x ! fakesink",
    "rtmfpsrc peer-id=zz23456789012345678901234567890123456789012345678901"
        "234567890123 location=rtmfp://127.0.0.1/live/x ! fakesink",
    "fakesrc ! video/x-flv ! rtmfpsink mode=direct "
        "location=rtmfp://127.0.0.1/appwithoutstream",
    "fakesrc ! video/x-flv ! rtmfpsink location=rtmfp://[::1/live/x",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (descs); i++) {
    GstElement *p = gst_parse_launch (descs[i], NULL);
    GstMessage *msg;
    GError *err = NULL;
    gchar *dbg = NULL;

    fail_unless (p != NULL);
    fail_unless_equals_int (gst_element_set_state (p, GST_STATE_PLAYING),
        GST_STATE_CHANGE_FAILURE);
    msg = wait_bus (p, GST_MESSAGE_ERROR, GST_SECOND);
    fail_unless (msg != NULL, "%s: no error", descs[i]);
    gst_message_parse_error (msg, &err, &dbg);
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_SETTINGS), "%s: %s", descs[i], err->message);
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (msg);
    set_state_checked (p, GST_STATE_NULL);
    gst_object_unref (p);
  }
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* properties, URIs, stats                                             */

GST_START_TEST (test_create_and_unref)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);

  fail_unless (e != NULL);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GParamSpec **specs;
  guint n, i, timeout;
  gchar *s;
  GType type = G_OBJECT_TYPE (e);

  /* every property of ours has a nick and a blurb */
  specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (e), &n);
  for (i = 0; i < n; i++) {
    if (specs[i]->owner_type != type)
      continue;
    fail_unless (g_param_spec_get_blurb (specs[i]) &&
        *g_param_spec_get_blurb (specs[i]), "%s has no blurb",
        specs[i]->name);
    fail_unless (g_param_spec_get_nick (specs[i]) &&
        strcmp (g_param_spec_get_nick (specs[i]), specs[i]->name) != 0,
        "%s has no nick", specs[i]->name);
  }
  g_free (specs);

  g_object_get (e, "location", &s, "timeout", &timeout, NULL);
  fail_unless_equals_string (s, "rtmfp://localhost/live/myStream");
  fail_unless_equals_int (timeout, 10);
  g_free (s);
  g_object_set (e, "timeout", 3, "location", "rtmfp://h:1000/a/b/c", NULL);
  g_object_get (e, "location", &s, "timeout", &timeout, NULL);
  fail_unless_equals_string (s, "rtmfp://h:1000/a/b/c");
  fail_unless_equals_int (timeout, 3);
  g_free (s);

  if (g_str_equal (elements[__i__], "rtmfpsink")) {
    guint a, v;
    gint mode;
    GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
        "peer-id");

    fail_unless (ps && !(ps->flags & G_PARAM_WRITABLE));
    g_object_get (e, "peer-id", &s, "audio-lifetime", &a, "video-lifetime",
        &v, "mode", &mode, NULL);
    fail_unless (s == NULL);
    fail_unless_equals_int (a, 200);
    fail_unless_equals_int (v, 1000);
    fail_unless_equals_int (mode, 0);
    gst_util_set_object_arg (G_OBJECT (e), "mode", "direct");
    g_object_set (e, "audio-lifetime", 150, "video-lifetime", 700, NULL);
    g_object_get (e, "audio-lifetime", &a, "video-lifetime", &v, "mode",
        &mode, NULL);
    fail_unless_equals_int (a, 150);
    fail_unless_equals_int (v, 700);
    fail_unless_equals_int (mode, 1);
  } else {
    g_object_set (e, "peer-id", "abcd", NULL);
    g_object_get (e, "peer-id", &s, NULL);
    fail_unless_equals_string (s, "abcd");
    g_free (s);
  }
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_uri_handler)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GstURIHandler *h = GST_URI_HANDLER (e);
  GError *err = NULL;
  gchar *s;
  GstElement *made;
  GstURIType dir = g_str_equal (elements[__i__], "rtmfpsink") ?
      GST_URI_SINK : GST_URI_SRC;

  fail_unless_equals_int (gst_uri_handler_get_uri_type (h), dir);
  fail_unless_equals_string (gst_uri_handler_get_protocols (h)[0], "rtmfp");
  fail_unless (gst_uri_handler_set_uri (h, "rtmfp://[::1]:1936/app/inst/s",
          &err));
  g_object_get (e, "location", &s, NULL);
  fail_unless_equals_string (s, "rtmfp://[::1]:1936/app/inst/s");
  g_free (s);
  g_object_set (e, "location", "rtmfp://example.com/live/x", NULL);
  s = gst_uri_handler_get_uri (h);
  fail_unless_equals_string (s, "rtmfp://example.com/live/x");
  g_free (s);

  fail_if (gst_uri_handler_set_uri (h, "http://example.com/live/x", &err));
  fail_unless (g_error_matches (err, GST_URI_ERROR,
          GST_URI_ERROR_UNSUPPORTED_PROTOCOL));
  g_clear_error (&err);
  fail_if (gst_uri_handler_set_uri (h, "rtmfp://example.com/nostream",
          &err));
  fail_unless (g_error_matches (err, GST_URI_ERROR, GST_URI_ERROR_BAD_URI));
  g_clear_error (&err);
  fail_if (gst_uri_handler_set_uri (h, "rtmfp://exa mple.com/a/b", &err));
  fail_unless (g_error_matches (err, GST_URI_ERROR, GST_URI_ERROR_BAD_URI));
  g_clear_error (&err);
  /* unchanged by the failures */
  s = gst_uri_handler_get_uri (h);
  fail_unless_equals_string (s, "rtmfp://example.com/live/x");
  g_free (s);

  made = gst_element_make_from_uri (dir, "rtmfp://127.0.0.1/live/x", NULL,
      &err);
  fail_unless (made != NULL);
  fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory
          (made)), elements[__i__]);
  gst_object_unref (made);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_null_stats)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GstStructure *st, *st2;
  static const gchar *u64[] = { "packets-sent", "packets-received",
    "bytes-sent", "bytes-received", "fragments-retransmitted",
    "fragments-lost",
    "cwnd-bytes", "bytes-in-flight", "messages-abandoned",
    "audio-messages-sent", "audio-messages-abandoned", "audio-messages-lost",
    "video-messages-sent", "video-messages-abandoned", "video-messages-lost",
    "video-messages-received", "audio-messages-received",
    "data-messages-sent", NULL
  };
  guint i;
  gdouble rtt;
  guint flows;

  g_object_get (e, "stats", &st, NULL);
  fail_unless (st != NULL);
  fail_unless (gst_structure_has_name (st, "application/x-rtmfp-statistics"));
  fail_unless_equals_string (gst_structure_get_string (st, "protocol"),
      "rtmfp");
  for (i = 0; u64[i]; i++) {
    guint64 v = 1;
    fail_unless (gst_structure_get_uint64 (st, u64[i], &v), "%s", u64[i]);
    fail_unless_equals_uint64 (v, 0);
  }
  fail_unless (gst_structure_get_double (st, "rtt-ms", &rtt));
  fail_unless (rtt == 0.0);
  fail_unless (gst_structure_get_uint (st, "flows", &flows));
  fail_unless_equals_int (flows, 0);
  /* the same schema every time */
  g_object_get (e, "stats", &st2, NULL);
  check_stats_schema (st, st2);
  gst_structure_free (st);
  gst_structure_free (st2);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
rtmfp_suite (void)
{
  Suite *s = suite_create ("rtmfp");
  TCase *tc = tcase_create ("general");
  TCase *net = tcase_create ("network");

  suite_add_tcase (s, tc);
  test_watchdog_add (tc, 120);
  tcase_add_loop_test (tc, test_create_and_unref, 0,
      G_N_ELEMENTS (elements));
  tcase_add_loop_test (tc, test_properties, 0, G_N_ELEMENTS (elements));
  tcase_add_loop_test (tc, test_uri_handler, 0, G_N_ELEMENTS (elements));
  tcase_add_loop_test (tc, test_null_stats, 0, G_N_ELEMENTS (elements));
  tcase_add_test (tc, test_bad_settings);

  suite_add_tcase (s, net);
  tcase_set_timeout (net, 120);
  test_watchdog_add (net, 120);
  tcase_add_test (net, test_unreachable_server);
  tcase_add_test (net, test_rejected_app);
  tcase_add_test (net, test_server_fingerprint_pinning);
  tcase_add_test (net, test_pinned_identity_server);
  tcase_add_test (net, test_unsupported_codec);
  tcase_add_test (net, test_unsupported_codec_by_hand);
  tcase_add_test (net, test_stop_while_connecting);
  tcase_add_test (net, test_publish_play);
  tcase_add_test (net, test_two_players_late_joiner);
  tcase_add_test (net, test_gaps_never_stall);
  tcase_add_test (net, test_receive_queue_bounded);
  tcase_add_test (net, test_empty_message);
  return s;
}

GST_CHECK_MAIN (rtmfp);
