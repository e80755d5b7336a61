/* Resilience of rtmfpsrc / rtmfpsink (issue 6): outages, a restarted
 * server, IP mobility, and tearing down from a sync bus handler.
 *
 * Every wait is on a condition with a generous bound; the network
 * trouble is made by UDP proxies in the test (rtmfptestutil.c) and by
 * killing the real rtmfp-server.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <string.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"

#include "rtmfptestutil.h"

/* ------------------------------------------------------------------ */
/* what a pipeline's bus said (sync handler: nothing is missed)        */

typedef struct
{
  GMutex lock;
  GCond cond;
  guint errors;
  gint64 first_error_at;
  GQuark error_domain;
  gchar *error_text;
  guint reconnecting;
  guint reconnected;
  guint64 downtime_ms;          /* of the last rtmfp-reconnected */
  gint64 reconnected_at;
  guint connect_success;        /* NetConnection.Connect.Success */
} Rec;

static GstBusSyncReply
rec_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  Rec *r = data;
  const GstStructure *s;

  g_mutex_lock (&r->lock);
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;

      gst_message_parse_error (msg, &err, NULL);
      if (r->errors++ == 0) {
        r->first_error_at = g_get_monotonic_time ();
        r->error_domain = err->domain;
        r->error_text = g_strdup (err->message);
      }
      g_print ("error from %s: %s\n", GST_OBJECT_NAME (msg->src),
          err->message);
      g_error_free (err);
      break;
    }
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "rtmfp-reconnecting")) {
        r->reconnecting++;
        g_print ("%s: rtmfp-reconnecting attempt %u: %s\n",
            GST_OBJECT_NAME (msg->src),
            g_value_get_uint (gst_structure_get_value (s, "attempt")),
            gst_structure_get_string (s, "reason"));
      } else if (gst_structure_has_name (s, "rtmfp-reconnected")) {
        r->reconnected++;
        r->reconnected_at = g_get_monotonic_time ();
        gst_structure_get_uint64 (s, "downtime-ms", &r->downtime_ms);
        g_print ("%s: rtmfp-reconnected after %" G_GUINT64_FORMAT " ms\n",
            GST_OBJECT_NAME (msg->src), r->downtime_ms);
      } else if (gst_structure_has_name (s, "rtmfp-status") &&
          g_strcmp0 (gst_structure_get_string (s, "code"),
              "NetConnection.Connect.Success") == 0) {
        r->connect_success++;
      }
      break;
    default:
      break;
  }
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  /* a sync handler that drops a message releases it */
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static void
rec_attach (Rec * r, GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);

  memset (r, 0, sizeof *r);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  gst_bus_set_sync_handler (bus, rec_handler, r, NULL);
  gst_object_unref (bus);
}

static void
rec_clear (Rec * r)
{
  g_free (r->error_text);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
}

/* The end of a test: the pipeline to NULL and freed, then its recorder
 * (attached to the pipeline's bus, so released after it) */
static void
pipeline_finish (GstElement * pipeline, Rec * r)
{
  set_state_checked (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  rec_clear (r);
}

/* Waits until *field >= n (field inside r) */
static gboolean
rec_wait (Rec * r, guint * field, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok;

  g_mutex_lock (&r->lock);
  while (*field < n && g_cond_wait_until (&r->cond, &r->lock, end));
  ok = *field >= n;
  g_mutex_unlock (&r->lock);
  return ok;
}

static guint
rec_get (Rec * r, guint * field)
{
  guint v;

  g_mutex_lock (&r->lock);
  v = *field;
  g_mutex_unlock (&r->lock);
  return v;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static GstClockTime
last_video_pts (Got * got)
{
  GstClockTime t = 0;

  g_mutex_lock (&got->lock);
  if (got->video_pts->len)
    t = g_array_index (got->video_pts, GstClockTime, got->video_pts->len - 1);
  g_mutex_unlock (&got->lock);
  return t;
}

/* Waits until n frames with a timestamp >= from were decoded; returns the
 * time the first of them was seen (-1: timeout) */
static gint64
wait_decoded_after_pts (Got * got, GstClockTime from, guint n,
    gint64 timeout_us, GstClockTime * first_pts)
{
  gint64 end = g_get_monotonic_time () + timeout_us, first_at = -1;
  guint i, seen = 0, scanned = 0;

  g_mutex_lock (&got->lock);
  for (;;) {
    for (i = scanned; i < got->video_pts->len; i++)
      if (g_array_index (got->video_pts, GstClockTime, i) >= from) {
        if (seen++ == 0) {
          first_at = g_get_monotonic_time ();
          if (first_pts)
            *first_pts = g_array_index (got->video_pts, GstClockTime, i);
        }
      }
    scanned = got->video_pts->len;
    if (seen >= n)
      break;
    if (!g_cond_wait_until (&got->cond, &got->lock, end)) {
      first_at = -1;
      break;
    }
  }
  g_mutex_unlock (&got->lock);
  return first_at;
}

static gint64
wait_decoded_after (Got * got, GstClockTime from, guint n, gint64 timeout_us)
{
  return wait_decoded_after_pts (got, from, n, timeout_us, NULL);
}

/* The largest step between consecutive decoded video timestamps from
 * `from` on (how long the picture froze around an event) */
static GstClockTime
max_pts_step (Got * got, GstClockTime from)
{
  GstClockTime step = 0, prev = GST_CLOCK_TIME_NONE;
  guint i;

  g_mutex_lock (&got->lock);
  for (i = 0; i < got->video_pts->len; i++) {
    GstClockTime t = g_array_index (got->video_pts, GstClockTime, i);

    if (t + 100 * GST_MSECOND < from)
      continue;
    if (GST_CLOCK_TIME_IS_VALID (prev) && t > prev)
      step = MAX (step, t - prev);
    prev = t;
  }
  g_mutex_unlock (&got->lock);
  return step;
}

static GstElement *
get_by_name (GstElement * p, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (p), name);

  fail_unless (e != NULL);
  return e;
}

static void
set_timeout (GstElement * p, const gchar * name, guint timeout)
{
  GstElement *e = get_by_name (p, name);

  g_object_set (e, "timeout", timeout, NULL);
  gst_object_unref (e);
}

static gboolean
emit_rebind (GstElement * p, const gchar * name)
{
  GstElement *e = get_by_name (p, name);
  gboolean ok = FALSE;

  g_signal_emit_by_name (e, "rebind", &ok);
  gst_object_unref (e);
  return ok;
}

/* The `local-port` of element `name`'s stats */
static guint
local_port (GstElement * p, const gchar * name)
{
  GstElement *e = get_by_name (p, name);
  GstStructure *st = NULL;
  guint port = 0;

  g_object_get (e, "stats", &st, NULL);
  fail_unless (gst_structure_get_uint (st, "local-port", &port));
  gst_structure_free (st);
  gst_object_unref (e);
  return port;
}

/* The port of the one peer-to-peer player the direct publisher `name`
 * sends to (its stats' peers[0].peer-address), 0 when it has none */
static guint
peer_port (GstElement * p, const gchar * name)
{
  GstElement *e = get_by_name (p, name);
  GstStructure *st = NULL;
  const GValue *peers;
  guint port = 0;

  g_object_get (e, "stats", &st, NULL);
  peers = gst_structure_get_value (st, "peers");
  if (peers && gst_value_array_get_size (peers) == 1) {
    const GstStructure *peer =
        gst_value_get_structure (gst_value_array_get_value (peers, 0));
    const gchar *addr = gst_structure_get_string (peer, "peer-address");
    const gchar *colon = addr ? strrchr (addr, ':') : NULL;

    if (colon)
      port = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
  }
  gst_structure_free (st);
  gst_object_unref (e);
  return port;
}

/* Waits (bounded) until the direct publisher sees its player at `port` */
static gboolean
wait_peer_port (GstElement * p, const gchar * name, guint port,
    gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;

  while (g_get_monotonic_time () < end) {
    if (peer_port (p, name) == port)
      return TRUE;
    g_usleep (50 * 1000);
  }
  return FALSE;
}

static void
server_kill (Server * s)
{
  g_subprocess_send_signal (s->proc, SIGKILL);
  g_subprocess_wait (s->proc, NULL, NULL);
  g_object_unref (s->proc);
  g_clear_object (&s->out);
  g_free (s);
}

/* Video buffers out of flvdemux: whether the first one at or past a
 * timestamp (set by the test: past what was in flight at a restart) is a
 * keyframe */
typedef struct
{
  GMutex lock;
  GstClockTime from;            /* GST_CLOCK_TIME_NONE: not armed */
  gboolean seen;
  gboolean key;
} AfterProbe;

static GstPadProbeReturn
after_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  AfterProbe *a = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  g_mutex_lock (&a->lock);
  if (GST_CLOCK_TIME_IS_VALID (a->from) && !a->seen &&
      GST_BUFFER_PTS_IS_VALID (buf) && GST_BUFFER_PTS (buf) >= a->from) {
    a->seen = TRUE;
    a->key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  }
  g_mutex_unlock (&a->lock);
  return GST_PAD_PROBE_OK;
}

/* 20 s of stream: more than any test here runs */
#define LONG_STREAM 600

/* ------------------------------------------------------------------ */
/* outages                                                             */

/* 5 s of total loss both ways on the paths of the publisher and of the
 * player: the sessions survive, media flows again promptly after the
 * path returns, no element error. */
GST_START_TEST (test_outage_5s_resumes)
{
  Server *srv = server_start (NULL, FALSE);
  Proxy *pxp = proxy_start (srv->port), *pxl = proxy_start (srv->port);
  Sent sent;
  Got got;
  Rec rp, rl;
  GstElement *pub, *play;
  GstClockTime before;
  gint64 end, first_at;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_n (proxy_port (pxp), "live/outage", &sent, NULL,
      LONG_STREAM);
  play = player_new (proxy_port (pxl), "live/outage", &got, NULL);
  rec_attach (&rp, pub);
  rec_attach (&rl, play);

  set_state_checked (play, GST_STATE_PLAYING);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");

  before = last_video_pts (&got);
  proxy_blackout_both (pxp, 5 * SEC);
  proxy_blackout_both (pxl, 5 * SEC);
  end = g_get_monotonic_time () + 5 * SEC;

  /* frames sent after the outage (their timestamps are past it) */
  first_at = wait_decoded_after (&got, before + 5 * GST_SECOND, 30, 40 * SEC);
  fail_unless (first_at > 0, "no frames decoded after the outage");
  g_print ("outage 5 s: media again %" G_GINT64_FORMAT " ms after the path "
      "returned (%" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
      " datagrams dropped), %u reconnections\n", (first_at - end) / 1000,
      proxy_dropped (pxp), proxy_dropped (pxl),
      rec_get (&rp, &rp.reconnected) + rec_get (&rl, &rl.reconnected));
  fail_unless (proxy_dropped (pxp) > 0 && proxy_dropped (pxl) > 0);
  /* bounded recovery: about 0.5 s here (pings every 250 ms through the
   * outage, the first answer resets the backed-off retransmission timer);
   * a backed-off timer left alone would take several seconds */
  fail_unless (first_at - end < 2500 * G_TIME_SPAN_MILLISECOND,
      "recovery took %" G_GINT64_FORMAT " ms", (first_at - end) / 1000);
  fail_unless (got.discont_buffers >= 1, "no DISCONT after the outage");
  fail_unless_equals_int (rec_get (&rp, &rp.errors), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.errors), 0);
  /* the same sessions: no new handshake */
  fail_unless_equals_int (rec_get (&rp, &rp.reconnecting), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.reconnecting), 0);

  pipeline_finish (pub, &rp);
  pipeline_finish (play, &rl);
  got_clear (&got);
  sent_clear (&sent);
  proxy_stop (pxp);
  proxy_stop (pxl);
  server_stop (srv);
}

GST_END_TEST;

/* The paths go dark for good (a 60 s outage: the test does not wait it
 * out): both elements fail with a RESOURCE error within timeout (8 s)
 * of the outage start, after trying to reconnect. */
GST_START_TEST (test_outage_long_errors_in_timeout)
{
  Server *srv = server_start (NULL, FALSE);
  Proxy *pxp = proxy_start (srv->port), *pxl = proxy_start (srv->port);
  Got got;
  Rec rp, rl;
  GstElement *pub, *play;
  gint64 start;

  got_init (&got);
  pub = publisher_new_n (proxy_port (pxp), "live/dark", NULL, "timeout=8 ",
      LONG_STREAM);
  play = player_new (proxy_port (pxl), "live/dark", &got, NULL);
  set_timeout (play, "src", 8);
  rec_attach (&rp, pub);
  rec_attach (&rl, play);

  set_state_checked (play, GST_STATE_PLAYING);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");

  start = g_get_monotonic_time ();
  proxy_blackout_both (pxp, 60 * SEC);
  proxy_blackout_both (pxl, 60 * SEC);

  fail_unless (rec_wait (&rl, &rl.errors, 1, 20 * SEC), "no player error");
  fail_unless (rec_wait (&rp, &rp.errors, 1, 20 * SEC), "no publisher error");
  g_print ("outage 60 s, timeout 8 s: player error after %" G_GINT64_FORMAT
      " ms, publisher error after %" G_GINT64_FORMAT " ms: %s\n",
      (rl.first_error_at - start) / 1000, (rp.first_error_at - start) / 1000,
      rl.error_text);
  fail_unless (rl.error_domain == GST_RESOURCE_ERROR);
  fail_unless (rp.error_domain == GST_RESOURCE_ERROR);
  /* not before the element tried, not (much) after the timeout */
  fail_unless (rl.first_error_at - start >= 4 * SEC);
  fail_unless (rl.first_error_at - start <= 8 * SEC + 2 * SEC);
  fail_unless (rp.first_error_at - start >= 4 * SEC);
  fail_unless (rp.first_error_at - start <= 8 * SEC + 2 * SEC);
  fail_unless (rec_get (&rl, &rl.reconnecting) >= 1);
  fail_unless (rec_get (&rp, &rp.reconnecting) >= 1);
  fail_unless_equals_int (rec_get (&rl, &rl.reconnected), 0);

  pipeline_finish (pub, &rp);
  pipeline_finish (play, &rl);
  got_clear (&got);
  proxy_stop (pxp);
  proxy_stop (pxl);
  server_stop (srv);
}

GST_END_TEST;

/* auto-reconnect=false: the old behaviour, a lost session is an error */
GST_START_TEST (test_no_auto_reconnect)
{
  Server *srv = server_start (NULL, FALSE);
  GstElement *play;
  GstElement *src;
  Rec rl;
  Got got;
  gboolean ar = TRUE;

  got_init (&got);
  play = player_new (srv->port, "live/none", &got, NULL);
  src = get_by_name (play, "src");
  g_object_get (src, "auto-reconnect", &ar, NULL);
  fail_unless (ar, "auto-reconnect is not on by default");
  g_object_set (src, "auto-reconnect", FALSE, NULL);
  gst_object_unref (src);
  rec_attach (&rl, play);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (rec_wait (&rl, &rl.connect_success, 1, 10 * SEC));
  /* the server goes away for good: its session close reaches us */
  server_stop (srv);
  fail_unless (rec_wait (&rl, &rl.errors, 1, 20 * SEC), "no error");
  fail_unless_equals_int (rec_get (&rl, &rl.reconnecting), 0);
  pipeline_finish (play, &rl);
  got_clear (&got);
}

GST_END_TEST;

/* The publisher's path goes dark for 7 s: past the dead-peer limit (6 s),
 * so it opens a new session when the path is back, while the server still
 * holds the old one.  The server hands the silent publisher's name over
 * (rtmfp_relay_publish_full), the player (whose path stayed up) goes on
 * with the new publisher's stream, without an error anywhere. */
GST_START_TEST (test_publisher_reconnects_takeover)
{
  Server *srv = server_start (NULL, FALSE);
  Proxy *pxp = proxy_start (srv->port);
  Sent sent;
  Got got;
  Rec rp, rl;
  GstElement *pub, *play;
  GstClockTime before;
  gint64 end, first_at;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_n (proxy_port (pxp), "live/takeover", &sent, NULL,
      LONG_STREAM);
  play = player_new (srv->port, "live/takeover", &got, NULL);
  rec_attach (&rp, pub);
  rec_attach (&rl, play);

  set_state_checked (play, GST_STATE_PLAYING);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");

  before = last_video_pts (&got);
  proxy_blackout_both (pxp, 7 * SEC);
  end = g_get_monotonic_time () + 7 * SEC;
  fail_unless (rec_wait (&rp, &rp.reconnected, 1, 30 * SEC),
      "publisher did not reconnect");
  first_at = wait_decoded_after (&got, before + 7 * GST_SECOND, 30,
      30 * SEC);
  fail_unless (first_at > 0, "no frames decoded after the takeover");
  g_print ("publisher outage 7 s: reconnected %" G_GINT64_FORMAT " ms "
      "after the path returned (downtime %" G_GUINT64_FORMAT " ms, %u "
      "attempts), media at the player %" G_GINT64_FORMAT " ms after it\n",
      (rp.reconnected_at - end) / 1000, rp.downtime_ms,
      rec_get (&rp, &rp.reconnecting), (first_at - end) / 1000);
  fail_unless (rp.reconnected_at > end);
  fail_unless_equals_int (rec_get (&rp, &rp.errors), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.errors), 0);
  /* the player's own session was never lost */
  fail_unless_equals_int (rec_get (&rl, &rl.reconnecting), 0);

  pipeline_finish (pub, &rp);
  pipeline_finish (play, &rl);
  got_clear (&got);
  sent_clear (&sent);
  proxy_stop (pxp);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* a restarted server                                                  */

/* graceful: the server stops cleanly (closing its sessions: the elements
 * start reconnecting at once) and a new one starts once they try; else it
 * is killed (the elements find out by dead peer detection) and a new one
 * starts at once, on the same port. */
static void
run_server_restart (gboolean graceful)
{
  Server *srv = server_start (NULL, FALSE);
  guint16 port = srv->port;
  Sent sent;
  Got got;
  Rec rp, rl;
  GstElement *pub, *play, *e;
  GstPad *pad;
  AfterProbe ap;
  GstClockTime before, first_pts = 0;
  gint64 killed, first_at, before_at;

  memset (&ap, 0, sizeof ap);
  ap.from = GST_CLOCK_TIME_NONE;
  g_mutex_init (&ap.lock);
  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_n (port, "live/restart", &sent, NULL, LONG_STREAM);
  play = player_new (port, "live/restart", &got, NULL);
  e = get_by_name (play, "vdemux");
  pad = gst_element_get_static_pad (e, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, after_probe, &ap, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
  rec_attach (&rp, pub);
  rec_attach (&rl, play);

  set_state_checked (play, GST_STATE_PLAYING);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");

  killed = g_get_monotonic_time ();
  if (graceful) {
    /* the elements start reconnecting at once; until it exits the
     * stopping server may still take them (and close them again) */
    server_stop (srv);
    fail_unless (rec_wait (&rp, &rp.reconnecting, 1, 10 * SEC));
    fail_unless (rec_wait (&rl, &rl.reconnecting, 1, 10 * SEC));
  } else {
    server_kill (srv);
  }
  /* the old server is gone: what comes from here on is the new one's */
  before = last_video_pts (&got);
  before_at = g_get_monotonic_time ();
  g_mutex_lock (&ap.lock);
  /* well past what may still be in flight */
  ap.from = before + GST_SECOND;
  g_mutex_unlock (&ap.lock);
  srv = server_start_port (NULL, FALSE, port);

  fail_unless (rec_wait (&rp, &rp.reconnected, 1, 30 * SEC),
      "publisher did not reconnect");
  fail_unless (rec_wait (&rl, &rl.reconnected, 1, 30 * SEC),
      "player did not reconnect");
  first_at = wait_decoded_after_pts (&got, before + GST_SECOND, 30, 30 * SEC,
      &first_pts);
  fail_unless (first_at > 0, "no frames decoded after the restart");
  /* timestamps stay true: the first frame after the restart is stamped
   * about as much later as it came (live, decoded at once) */
  g_print ("server restart: first frame after it %" GST_TIME_FORMAT
      " later in the stream, %" G_GINT64_FORMAT " ms later in time\n",
      GST_TIME_ARGS (first_pts - before), (first_at - before_at) / 1000);
  fail_unless (ABS ((gint64) (first_pts - before) / 1000 -
          (first_at - before_at)) < 1500 * 1000);
  g_print ("server %s: publisher reconnected after %" G_GUINT64_FORMAT
      " ms, player after %" G_GUINT64_FORMAT " ms, media %" G_GINT64_FORMAT
      " ms after the stop\n", graceful ? "stopped and restarted" :
      "killed and restarted", rp.downtime_ms, rl.downtime_ms,
      (first_at - killed) / 1000);
  fail_unless_equals_int (rec_get (&rp, &rp.errors), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.errors), 0);
  fail_unless (got.discont_buffers >= 1);
  g_mutex_lock (&ap.lock);
  fail_unless (ap.seen && ap.key, "the player did not resume at a keyframe");
  g_mutex_unlock (&ap.lock);

  pipeline_finish (pub, &rp);
  pipeline_finish (play, &rl);
  got_clear (&got);
  sent_clear (&sent);
  g_mutex_clear (&ap.lock);
  server_stop (srv);
}

GST_START_TEST (test_server_restart)
{
  run_server_restart (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_server_graceful_restart)
{
  run_server_restart (TRUE);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* IP mobility                                                         */

/* The publisher and the player reach the server through proxies.  nat:
 * the proxies change their outward port (a NAT rebinding); otherwise the
 * elements move to a new local port themselves (the rebind action
 * signal), which the proxies see as a new client address. */
static void
run_mobility (gboolean nat)
{
  Server *srv = server_start (NULL, TRUE);
  Proxy *pxp = proxy_start (srv->port), *pxl = proxy_start (srv->port);
  Sent sent;
  Got got;
  Rec rp, rl;
  GstElement *pub, *play;
  GstClockTime before;
  gchar *line;
  guint64 connects, sessions;
  gint64 moved, first_at;
  GstClockTime step;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_n (proxy_port (pxp), "live/mobile", &sent, NULL,
      LONG_STREAM);
  play = player_new (proxy_port (pxl), "live/mobile", &got, NULL);
  rec_attach (&rp, pub);
  rec_attach (&rl, play);

  set_state_checked (play, GST_STATE_PLAYING);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");
  line = server_stats_line (srv);
  connects = server_stat (line, "connects");
  sessions = server_stat (line, "sessions");
  g_free (line);
  fail_unless_equals_int (connects, 2);

  before = last_video_pts (&got);
  if (nat) {
    proxy_rebind (pxp);
    proxy_rebind (pxl);
  } else {
    fail_unless (emit_rebind (pub, "sink"));
    fail_unless (emit_rebind (play, "src"));
  }
  moved = g_get_monotonic_time ();

  /* 2 s of stream past the change */
  first_at = wait_decoded_after (&got, before + 2 * GST_SECOND, 1, 30 * SEC);
  fail_unless (first_at > 0, "no frames decoded after the address change");
  step = max_pts_step (&got, before);
  line = server_stats_line (srv);
  g_print ("%s: longest video step across the change %" GST_TIME_FORMAT
      ", 2 s of stream %" G_GINT64_FORMAT " ms after it; %s\n",
      nat ? "NAT rebinding" : "element rebind", GST_TIME_ARGS (step),
      (first_at - moved) / 1000, line);
  /* media continues: at most a short freeze (the server validates the
   * new address first, 3.5.4.2) */
  fail_unless (step < 1500 * GST_MSECOND);
  /* no new handshake: the same connections and sessions */
  fail_unless_equals_int (server_stat (line, "connects"), connects);
  fail_unless_equals_int (server_stat (line, "sessions"), sessions);
  g_free (line);
  fail_unless (first_at - moved < 10 * SEC);
  fail_unless_equals_int (rec_get (&rp, &rp.errors), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.errors), 0);
  fail_unless_equals_int (rec_get (&rp, &rp.reconnecting), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.reconnecting), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.connect_success), 1);
  /* the elements did move (or stayed, behind the NAT) */
  fail_unless_equals_int (proxy_client_changes (pxp), nat ? 0 : 1);
  fail_unless_equals_int (proxy_client_changes (pxl), nat ? 0 : 1);

  pipeline_finish (pub, &rp);
  pipeline_finish (play, &rl);
  got_clear (&got);
  sent_clear (&sent);
  proxy_stop (pxp);
  proxy_stop (pxl);
  server_stop (srv);
}

GST_START_TEST (test_nat_rebinding)
{
  run_mobility (TRUE);
}

GST_END_TEST;

GST_START_TEST (test_element_rebind)
{
  run_mobility (FALSE);
}

GST_END_TEST;

/* Peer to peer (rtmfpsink mode=direct, rtmfpsrc peer-id): the player and
 * then the publisher move to a new local port mid-stream; the direct
 * session follows each time, media continues, no new session. */
GST_START_TEST (test_p2p_rebind)
{
  Server *srv = server_start (NULL, FALSE);
  Sent sent;
  Got got;
  Rec rp, rl;
  GstElement *pub, *play, *sink;
  GstClockTime before, step;
  gchar *peer_id = NULL;
  gint64 first_at;
  guint old_port, new_port;

  sent_init (&sent);
  got_init (&got);
  pub = publisher_new_n (srv->port, "live/p2pmobile", &sent, "mode=direct ",
      LONG_STREAM);
  rec_attach (&rp, pub);
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (rec_wait (&rp, &rp.connect_success, 1, 10 * SEC));
  sink = get_by_name (pub, "sink");
  g_object_get (sink, "peer-id", &peer_id, NULL);
  gst_object_unref (sink);
  play = player_new (srv->port, "live/p2pmobile", &got, peer_id);
  rec_attach (&rl, play);
  set_state_checked (play, GST_STATE_PLAYING);
  fail_unless (wait_decoded (&got, 30, 30 * SEC), "player stalled");

  old_port = local_port (play, "src");
  fail_unless (old_port != 0);
  fail_unless (wait_peer_port (pub, "sink", old_port, 10 * SEC),
      "the publisher does not send to the player's port %u", old_port);
  before = last_video_pts (&got);
  fail_unless (emit_rebind (play, "src"));
  /* the player really moved, and the publisher follows it there */
  new_port = local_port (play, "src");
  fail_unless (new_port != 0 && new_port != old_port,
      "rebind left the player on port %u", old_port);
  fail_unless (wait_peer_port (pub, "sink", new_port, 10 * SEC),
      "the publisher did not follow the player to port %u", new_port);
  first_at = wait_decoded_after (&got, before + 2 * GST_SECOND, 1, 30 * SEC);
  fail_unless (first_at > 0, "no frames after the player moved");
  step = max_pts_step (&got, before);
  g_print ("p2p, player moved: longest video step %" GST_TIME_FORMAT "\n",
      GST_TIME_ARGS (step));
  fail_unless (step < 1500 * GST_MSECOND);

  old_port = local_port (pub, "sink");
  before = last_video_pts (&got);
  fail_unless (emit_rebind (pub, "sink"));
  new_port = local_port (pub, "sink");
  fail_unless (new_port != 0 && new_port != old_port,
      "rebind left the publisher on port %u", old_port);
  first_at = wait_decoded_after (&got, before + 2 * GST_SECOND, 1, 30 * SEC);
  fail_unless (first_at > 0, "no frames after the publisher moved");
  step = max_pts_step (&got, before);
  g_print ("p2p, publisher moved: longest video step %" GST_TIME_FORMAT
      "\n", GST_TIME_ARGS (step));
  fail_unless (step < 1500 * GST_MSECOND);

  fail_unless_equals_int (rec_get (&rp, &rp.errors), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.errors), 0);
  fail_unless_equals_int (rec_get (&rp, &rp.reconnecting), 0);
  fail_unless_equals_int (rec_get (&rl, &rl.reconnecting), 0);

  pipeline_finish (play, &rl);
  pipeline_finish (pub, &rp);
  g_free (peer_id);
  got_clear (&got);
  sent_clear (&sent);
  server_stop (srv);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* teardown from a sync bus handler on our error                       */

typedef struct
{
  GstElement *pipeline;
  GThread *main;
  GMutex lock;
  GCond cond;
  gint done;
} Teardown;

static GstBusSyncReply
teardown_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  Teardown *t = data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR &&
      !g_atomic_int_get (&t->done)) {
    g_print ("sync handler: error from %s, on %s\n",
        GST_OBJECT_NAME (msg->src), g_thread_self () == t->main ?
        "the main thread" : "another thread");
    /* what applications do: stop at the first error, right here */
    gst_element_set_state (t->pipeline, GST_STATE_NULL);
    g_mutex_lock (&t->lock);
    g_atomic_int_set (&t->done, TRUE);
    g_cond_broadcast (&t->cond);
    g_mutex_unlock (&t->lock);
  }
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static void
run_teardown (const gchar * desc)
{
  Teardown t;
  GstBus *bus;
  GError *err = NULL;
  gint64 end = g_get_monotonic_time () + 30 * SEC;
  GstState state;

  memset (&t, 0, sizeof t);
  t.main = g_thread_self ();
  g_mutex_init (&t.lock);
  g_cond_init (&t.cond);
  t.pipeline = gst_parse_launch (desc, &err);
  fail_unless (t.pipeline != NULL, "%s", err ? err->message : "?");
  bus = gst_element_get_bus (t.pipeline);
  gst_bus_set_sync_handler (bus, teardown_handler, &t, NULL);
  gst_element_set_state (t.pipeline, GST_STATE_PLAYING);
  g_mutex_lock (&t.lock);
  while (!t.done && g_cond_wait_until (&t.cond, &t.lock, end));
  g_mutex_unlock (&t.lock);
  fail_unless (t.done, "no error");
  fail_unless (gst_element_get_state (t.pipeline, &state, NULL,
          10 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS);
  fail_unless (state == GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (t.pipeline);
  g_mutex_clear (&t.lock);
  g_cond_clear (&t.cond);
}

GST_START_TEST (test_sync_handler_teardown)
{
  guint16 dead = dead_port ();
  gchar *src = g_strdup_printf ("rtmfpsrc timeout=1 "
      "location=rtmfp://127.0.0.1:%u/live/none ! fakesink", dead);
  gchar *sink = g_strdup_printf ("fakesrc num-buffers=1000 sizetype=fixed "
      "sizemax=100 ! video/x-flv ! rtmfpsink timeout=1 "
      "location=rtmfp://127.0.0.1:%u/live/none", dead);

  run_teardown (src);
  run_teardown (sink);
  g_free (src);
  g_free (sink);
}

GST_END_TEST;

static Suite *
rtmfpresilience_suite (void)
{
  Suite *s = suite_create ("rtmfpresilience");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);

  test_watchdog_add (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_sync_handler_teardown);
  tcase_add_test (tc, test_element_rebind);
  tcase_add_test (tc, test_nat_rebinding);
  tcase_add_test (tc, test_p2p_rebind);
  tcase_add_test (tc, test_outage_5s_resumes);
  tcase_add_test (tc, test_outage_long_errors_in_timeout);
  tcase_add_test (tc, test_server_restart);
  tcase_add_test (tc, test_server_graceful_restart);
  tcase_add_test (tc, test_publisher_reconnects_takeover);
  tcase_add_test (tc, test_no_auto_reconnect);
  return s;
}

GST_CHECK_MAIN (rtmfpresilience);
