/* Direct peer-to-peer NetStreams (RFC 7425 5.4) on the simulated network:
 * a publisher (RtmfpTcClient in role DIRECT_PUBLISH for its server
 * NetConnection + RtmfpTcPeerPublisher for its subscribers), subscribers
 * (RtmfpTcClient PLAY with a peer fingerprint) and rtmfp-server's library
 * as introducer (RFC 7016 3.5.1.5 Redirect, 3.5.1.6 Forwarded IHello).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfptcpeer.h"
#include "rtmfpserver.h"
#include "rtmfpsimnet.h"
#include "flvtag.h"

#define MS G_TIME_SPAN_MILLISECOND
#define SEC G_TIME_SPAN_SECOND
#define SERVER_ADDR "10.0.0.1:1935"
#define MAX_CLIENTS 8

typedef struct _Fx Fx;

typedef struct {
  Fx *fx;
  RtmfpSimHost *host;
  RtmfpTcClient *c;
  guint video, audio, video_headers, audio_headers, data;
  gboolean first_video_seen, first_video_key;
  guint64 media_bytes;
  gint64 started_at;
} Sub;

struct _Fx {
  RtmfpSimNet *net;
  RtmfpServer *srv;
  RtmfpSimHost *server_host;
  RtmfpSimHost *pub_host;
  RtmfpTcPeerPublisher *pp;
  RtmfpTcClient *pub;
  Sub *subs[MAX_CLIENTS];
  guint n_subs;
  guint playing, left;
  guint video_sent, audio_sent;
  guint64 media_bytes_sent;
};

static gint64
sim_clock (gpointer data)
{
  return rtmfp_sim_net_now (data);
}

static void
on_playing (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  ((Fx *) ud)->playing++;
}

static void
on_left (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  ((Fx *) ud)->left++;
}

static Fx *
fx_new (guint32 seed, const gchar * const *peer_info)
{
  Fx *fx = g_new0 (Fx, 1);
  RtmfpServerConfig scfg;
  RtmfpEndpointConfig ecfg;
  RtmfpTcClientConfig ccfg;
  RtmfpTcPeerPublisherCallbacks pcb = { on_playing, on_left };
  RtmfpAddr server;

  fx->net = rtmfp_sim_net_new (seed);
  rtmfp_server_config_init (&scfg);
  fx->srv = rtmfp_server_new (&scfg, sim_clock, fx->net);
  rtmfp_server_endpoint_config (fx->srv, &ecfg);
  fx->server_host = rtmfp_sim_net_add_host (fx->net, SERVER_ADDR, &ecfg,
      rtmfp_server_get_callbacks (), fx->srv);
  rtmfp_server_set_endpoint (fx->srv,
      rtmfp_sim_host_get_endpoint (fx->server_host));

  /* the publisher: a static-key client identity that accepts sessions */
  fx->pp = rtmfp_tc_peer_publisher_new ("cam", 0, 0, 0, &pcb, fx, sim_clock,
      fx->net);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = TRUE;
  fx->pub_host = rtmfp_sim_net_add_host (fx->net, "10.0.0.2:5000", &ecfg,
      rtmfp_tc_peer_publisher_get_endpoint_callbacks (), fx->pp);
  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH;
  ccfg.tc_url = "rtmfp://10.0.0.1/live";
  ccfg.app = "live";
  ccfg.stream = "cam";
  ccfg.peer_info = peer_info;
  ccfg.timeout_us = 10 * SEC;
  fx->pub = rtmfp_tc_client_new (&ccfg, NULL, NULL, sim_clock, fx->net);
  rtmfp_tc_peer_publisher_set_client (fx->pp, fx->pub);
  g_assert_true (rtmfp_addr_from_string (&server, SERVER_ADDR, 0));
  g_assert_true (rtmfp_tc_client_start (fx->pub,
          rtmfp_sim_host_get_endpoint (fx->pub_host), &server, 1,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  return fx;
}

static void
sub_free (Sub * s)
{
  rtmfp_tc_client_free (s->c);
  g_free (s);
}

static void
fx_free (Fx * fx)
{
  guint i;

  for (i = 0; i < fx->n_subs; i++)
    sub_free (fx->subs[i]);
  rtmfp_tc_client_free (fx->pub);
  rtmfp_server_free (fx->srv);
  rtmfp_sim_net_free (fx->net);
  rtmfp_tc_peer_publisher_free (fx->pp);
  g_free (fx);
}

static void
serve_client (Fx * fx, RtmfpTcClient * c, gint64 now, gint64 * next)
{
  gint64 t = rtmfp_tc_client_next_timeout (c);

  if (t >= 0 && t <= now) {
    rtmfp_tc_client_handle_timeout (c, now);
    rtmfp_sim_net_kick (fx->net);
    t = rtmfp_tc_client_next_timeout (c);
  }
  if (t >= 0 && (*next < 0 || t < *next))
    *next = t;
}

/* The simulated network knows only endpoint timers: run it in slices and
 * serve the clients' timers (and the server's housekeeping) between. */
static gboolean
drive_until (Fx * fx, RtmfpSimCondition cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (fx->net) + max_us;

  for (;;) {
    gint64 now = rtmfp_sim_net_now (fx->net), next = -1, slice;
    guint i;

    if (cond && cond (ud))
      return TRUE;
    serve_client (fx, fx->pub, now, &next);
    for (i = 0; i < fx->n_subs; i++)
      serve_client (fx, fx->subs[i]->c, now, &next);
    rtmfp_server_poll (fx->srv);
    slice = MIN (end - now, 10 * MS);
    if (slice <= 0)
      return cond ? cond (ud) : TRUE;
    if (next > now)
      slice = MIN (slice, next - now);
    if (rtmfp_sim_net_run_until (fx->net, cond, ud, MAX (slice, 1)))
      return TRUE;
  }
}

static void
run_for (Fx * fx, gint64 us)
{
  drive_until (fx, NULL, NULL, us);
}

static gboolean
client_streaming (gpointer ud)
{
  return rtmfp_tc_client_get_state (ud) == RTMFP_TC_CLIENT_STATE_STREAMING;
}

static gboolean
client_finished (gpointer ud)
{
  RtmfpTcClientState st = rtmfp_tc_client_get_state (ud);
  return st == RTMFP_TC_CLIENT_STATE_FAILED ||
      st == RTMFP_TC_CLIENT_STATE_CLOSED;
}

static void
sub_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Sub *s = ud;

  s->media_bytes += msg->len;
  if (msg->type == RTMFP_TC_MSG_VIDEO) {
    if (rtmfp_flv_video_is_sequence_header (msg->payload, msg->len)) {
      s->video_headers++;
      return;
    }
    if (!s->first_video_seen) {
      s->first_video_seen = TRUE;
      s->first_video_key = rtmfp_flv_video_is_keyframe (msg->payload,
          msg->len);
    }
    s->video++;
  } else if (msg->type == RTMFP_TC_MSG_AUDIO) {
    if (msg->len >= 2 && msg->payload[1] == 0)
      s->audio_headers++;       /* AAC-style sequence header (test data) */
    else
      s->audio++;
  } else {
    s->data++;
  }
}

static Sub *
sub_new_full (Fx * fx, const gchar * addr, const guint8 * fp, gint64 timeout,
    const gchar * stream)
{
  Sub *s = g_new0 (Sub, 1);
  RtmfpEndpointConfig ecfg;
  RtmfpTcClientConfig ccfg;
  RtmfpTcClientCallbacks cb = { 0 };
  RtmfpAddr server;

  g_assert_cmpuint (fx->n_subs, <, MAX_CLIENTS);
  s->fx = fx;
  cb.message = sub_message;
  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = RTMFP_TC_CLIENT_ROLE_PLAY;
  ccfg.tc_url = "rtmfp://10.0.0.1/live";
  ccfg.app = "live";
  ccfg.stream = stream;
  ccfg.timeout_us = timeout;
  ccfg.peer_fingerprint = fp;
  s->c = rtmfp_tc_client_new (&ccfg, &cb, s, sim_clock, fx->net);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = FALSE;
  s->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
      rtmfp_tc_client_get_endpoint_callbacks (), s->c);
  fx->subs[fx->n_subs++] = s;
  g_assert_true (rtmfp_addr_from_string (&server, SERVER_ADDR, 0));
  /* 5.4: the server is the first (and only) candidate: it introduces */
  g_assert_true (rtmfp_tc_client_start (s->c,
          rtmfp_sim_host_get_endpoint (s->host), &server, 1,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  return s;
}

static Sub *
sub_new (Fx * fx, const gchar * addr, const guint8 * fp, gint64 timeout)
{
  return sub_new_full (fx, addr, fp, timeout, "cam");
}

static const guint8 *
pub_fp (Fx * fx)
{
  return rtmfp_identity_get_fingerprint (rtmfp_endpoint_get_identity
      (rtmfp_sim_host_get_endpoint (fx->pub_host)));
}

static void
publish (Fx * fx, guint8 type, const guint8 * payload, gsize len,
    guint flags, guint32 ts)
{
  g_assert_true (rtmfp_tc_peer_publisher_send (fx->pp, type, ts, payload,
          len, flags, rtmfp_sim_net_now (fx->net)));
  fx->media_bytes_sent += len;
  rtmfp_sim_net_kick (fx->net);
}

static void
publish_headers (Fx * fx)
{
  static const guint8 meta[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't',
    'a', 'D', 'a', 't', 'a', 0x08, 0, 0, 0, 0, 0, 0, 9
  };
  static const guint8 avc_hdr[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0, 0x1e,
    0xff
  };
  static const guint8 aac_hdr[] = { 0xaf, 0x00, 0x14, 0x08 };

  publish (fx, RTMFP_TC_MSG_DATA_AMF0, meta, sizeof (meta), 0, 0);
  publish (fx, RTMFP_TC_MSG_VIDEO, avc_hdr, sizeof (avc_hdr),
      RTMFP_TC_CLIENT_SEND_RELIABLE, 0);
  publish (fx, RTMFP_TC_MSG_AUDIO, aac_hdr, sizeof (aac_hdr),
      RTMFP_TC_CLIENT_SEND_RELIABLE, 0);
}

/* One 40 ms tick: a video frame (keyframe every 25) and two audio frames */
static void
publish_tick (Fx * fx, guint n)
{
  guint8 v[1500], a[60];
  gboolean key = n % 25 == 0;

  memset (v, n & 0xff, sizeof (v));
  v[0] = key ? 0x17 : 0x27;
  v[1] = 0x01;
  memset (a, 0x55, sizeof (a));
  a[0] = 0xaf;
  a[1] = 0x01;
  publish (fx, RTMFP_TC_MSG_VIDEO, v, sizeof (v),
      key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, n * 40);
  publish (fx, RTMFP_TC_MSG_AUDIO, a, sizeof (a), 0, n * 40);
  publish (fx, RTMFP_TC_MSG_AUDIO, a, sizeof (a), 0, n * 40 + 20);
  fx->video_sent++;
  fx->audio_sent += 2;
}

static void
wait_publisher_connected (Fx * fx)
{
  g_assert_true (drive_until (fx, client_streaming, fx->pub, 5 * SEC));
}

static void
check_sub (Fx * fx, Sub * s, guint expect_video, guint expect_audio)
{
  g_test_message ("sub: video %u/%u audio %u/%u headers %u/%u data %u",
      s->video, expect_video, s->audio, expect_audio, s->video_headers,
      s->audio_headers, s->data);
  g_assert_cmpuint (s->video_headers, ==, 1);
  g_assert_cmpuint (s->audio_headers, ==, 1);
  g_assert_cmpuint (s->data, >=, 1);    /* onMetaData */
  g_assert_true (s->first_video_seen);
  g_assert_true (s->first_video_key);
  g_assert_cmpuint (s->video * 100, >=, expect_video * 95);
  g_assert_cmpuint (s->video, <=, expect_video);
  g_assert_cmpuint (s->audio * 100, >=, expect_audio * 95);
}

static void
check_server_relayed_nothing (Fx * fx)
{
  RtmfpServerStats st;

  rtmfp_server_get_stats (fx->srv, &st);
  g_test_message ("server: bytes_in %" G_GUINT64_FORMAT " bytes_out %"
      G_GUINT64_FORMAT " relayed %" G_GUINT64_FORMAT " (media sent %"
      G_GUINT64_FORMAT ")", st.bytes_in, st.bytes_out, st.messages_relayed,
      fx->media_bytes_sent);
  g_assert_cmpuint (st.messages_relayed, ==, 0);
  g_assert_cmpuint (st.messages_in, ==, 0);
  /* handshakes, introductions and keepalives only */
  g_assert_cmpuint (st.bytes_out * 20, <, fx->media_bytes_sent);
}

/* One subscriber introduced by the server plays the direct stream; the
 * publisher gave no addresses (setPeerInfo empty): the Redirect carries
 * the address the server observed. */
static void
test_play_direct (void)
{
  Fx *fx = fx_new (1, NULL);
  Sub *s;
  guint n, v0, a0;
  gchar buf[RTMFP_ADDR_STRLEN];
  RtmfpTcPeerInfo info;

  wait_publisher_connected (fx);
  publish_headers (fx);
  for (n = 0; n < 10; n++) {
    publish_tick (fx, n);
    run_for (fx, 40 * MS);
  }
  s = sub_new (fx, "10.0.0.3:5000", pub_fp (fx), 10 * SEC);
  g_assert_true (drive_until (fx, client_streaming, s->c, 5 * SEC));
  /* the session is with the publisher itself, at its address */
  g_assert_cmpstr (rtmfp_addr_to_string (rtmfp_session_get_far_address
          (rtmfp_tc_client_get_session (s->c)), buf), ==, "10.0.0.2:5000");
  g_assert_cmpuint (fx->playing, ==, 1);
  v0 = fx->video_sent;
  a0 = fx->audio_sent;
  for (; n < 110; n++) {
    publish_tick (fx, n);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 500 * MS);
  /* video starts at the next keyframe (n = 25) */
  check_sub (fx, s, fx->video_sent - 25, fx->audio_sent - a0);
  g_assert_cmpuint (s->video, >, (fx->video_sent - v0) / 2);
  check_server_relayed_nothing (fx);
  g_assert_cmpuint (rtmfp_tc_peer_publisher_get_n_peers (fx->pp), ==, 1);
  g_assert_true (rtmfp_tc_peer_publisher_get_peer (fx->pp, 0, &info));
  g_assert_true (info.playing);
  g_assert_cmpuint (info.messages_sent, >, 250);
  fx_free (fx);
}

/* The publisher's setPeerInfo addresses reach the subscriber too */
static void
test_play_with_peer_info (void)
{
  const gchar *const addrs[] = { "10.0.0.2:5000", NULL };
  Fx *fx = fx_new (2, addrs);
  Sub *s;
  guint n;

  wait_publisher_connected (fx);
  publish_headers (fx);
  publish_tick (fx, 0);
  s = sub_new (fx, "10.0.0.3:5000", pub_fp (fx), 10 * SEC);
  g_assert_true (drive_until (fx, client_streaming, s->c, 5 * SEC));
  for (n = 1; n < 51; n++) {
    publish_tick (fx, n);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 500 * MS);
  check_sub (fx, s, 50 - 24, 100);
  check_server_relayed_nothing (fx);

  /* the publisher stops: the subscriber's stream ends (CLOSED, not a
   * failure: there is no NetConnection to lose) */
  rtmfp_tc_peer_publisher_close (fx->pp, rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (drive_until (fx, client_finished, s->c, 5 * SEC));
  g_assert_cmpint (rtmfp_tc_client_get_state (s->c), ==,
      RTMFP_TC_CLIENT_STATE_CLOSED);
  g_assert_null (rtmfp_tc_client_get_error (s->c));
  fx_free (fx);
}

/* A subscriber that vanishes (no close): the publisher stops serving it
 * when its session times out; the others are not affected */
static void
test_subscriber_vanishes (void)
{
  Fx *fx = fx_new (6, NULL);
  Sub *a, *b;
  guint n;

  wait_publisher_connected (fx);
  publish_headers (fx);
  publish_tick (fx, 0);
  a = sub_new (fx, "10.0.0.3:5000", pub_fp (fx), 10 * SEC);
  b = sub_new (fx, "10.0.0.4:5000", pub_fp (fx), 10 * SEC);
  g_assert_true (drive_until (fx, client_streaming, a->c, 5 * SEC));
  g_assert_true (drive_until (fx, client_streaming, b->c, 5 * SEC));
  rtmfp_sim_host_set_blackhole (a->host, TRUE);
  for (n = 1; n < 1000 && fx->left == 0; n++) {
    publish_tick (fx, n);
    run_for (fx, 200 * MS);
  }
  g_test_message ("left after %u ticks", n);
  g_assert_cmpuint (fx->left, ==, 1);
  g_assert_cmpuint (rtmfp_tc_peer_publisher_get_n_peers (fx->pp), ==, 1);
  g_assert_cmpint (rtmfp_tc_client_get_state (b->c), ==,
      RTMFP_TC_CLIENT_STATE_STREAMING);
  g_assert_cmpuint (b->video, >, 0);
  fx_free (fx);
}

/* One publisher, three subscribers at once, each its own session; one
 * leaves, the others play on. */
static void
test_three_subscribers (void)
{
  Fx *fx = fx_new (3, NULL);
  Sub *s[3];
  guint n, i, before;

  wait_publisher_connected (fx);
  publish_headers (fx);
  publish_tick (fx, 0);
  for (i = 0; i < 3; i++) {
    gchar *addr = g_strdup_printf ("10.0.0.%u:5000", 3 + i);
    s[i] = sub_new (fx, addr, pub_fp (fx), 10 * SEC);
    g_free (addr);
  }
  for (i = 0; i < 3; i++)
    g_assert_true (drive_until (fx, client_streaming, s[i]->c, 5 * SEC));
  g_assert_cmpuint (fx->playing, ==, 3);
  g_assert_cmpuint (rtmfp_tc_peer_publisher_get_n_peers (fx->pp), ==, 3);
  for (n = 1; n < 76; n++) {
    publish_tick (fx, n);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 500 * MS);
  for (i = 0; i < 3; i++)
    check_sub (fx, s[i], 75 - 24, 150);

  /* the second one leaves: the publisher stops serving it only */
  rtmfp_tc_client_close (s[1]->c, rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (drive_until (fx, client_finished, s[1]->c, 5 * SEC));
  run_for (fx, 1 * SEC);
  g_assert_cmpuint (fx->left, ==, 1);
  g_assert_cmpuint (rtmfp_tc_peer_publisher_get_n_peers (fx->pp), ==, 2);
  before = s[0]->video;
  for (; n < 126; n++) {
    publish_tick (fx, n);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 500 * MS);
  g_assert_cmpuint (s[0]->video - before, >=, 48);
  g_assert_cmpuint (s[2]->video, >=, s[0]->video - 1);
  check_server_relayed_nothing (fx);
  fx_free (fx);
}

/* A peer nobody knows (not connected to the server): a clear timeout
 * error, within the timeout, no hang */
static void
test_unreachable_peer (void)
{
  Fx *fx = fx_new (4, NULL);
  guint8 fp[RTMFP_FINGERPRINT_SIZE];
  Sub *s;
  gint64 t0;
  const GError *err;

  wait_publisher_connected (fx);
  memset (fp, 0x5a, sizeof (fp));
  t0 = rtmfp_sim_net_now (fx->net);
  s = sub_new (fx, "10.0.0.3:5000", fp, 3 * SEC);
  g_assert_true (drive_until (fx, client_finished, s->c, 10 * SEC));
  g_assert_cmpint (rtmfp_sim_net_now (fx->net) - t0, <=, 3 * SEC + 50 * MS);
  g_assert_cmpint (rtmfp_tc_client_get_state (s->c), ==,
      RTMFP_TC_CLIENT_STATE_FAILED);
  err = rtmfp_tc_client_get_error (s->c);
  g_assert_error (err, RTMFP_TC_CLIENT_ERROR, RTMFP_TC_CLIENT_ERROR_TIMEOUT);
  fx_free (fx);
}

/* The publisher only serves the name it publishes */
static void
test_wrong_stream (void)
{
  Fx *fx = fx_new (5, NULL);
  Sub *s;

  wait_publisher_connected (fx);
  s = sub_new_full (fx, "10.0.0.3:5000", pub_fp (fx), 5 * SEC, "other");
  g_assert_true (drive_until (fx, client_finished, s->c, 10 * SEC));
  g_assert_error (rtmfp_tc_client_get_error (s->c), RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_STREAM);
  g_assert_cmpuint (fx->playing, ==, 0);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/p2p/play-direct", test_play_direct);
  g_test_add_func ("/p2p/play-with-peer-info", test_play_with_peer_info);
  g_test_add_func ("/p2p/three-subscribers", test_three_subscribers);
  g_test_add_func ("/p2p/unreachable-peer", test_unreachable_peer);
  g_test_add_func ("/p2p/subscriber-vanishes", test_subscriber_vanishes);
  g_test_add_func ("/p2p/wrong-stream", test_wrong_stream);
  return g_test_run ();
}
