/* GStreamer RTMFP plugin: what rtmfpsrc and rtmfpsink share.
 *
 * Threads:
 *   - the element's threads (application, streaming): properties, start,
 *     stop, send (sink render), pop (src loop), unlock;
 *   - the net thread (RtmfpNet): the endpoint and the session agent, which
 *     only it touches.  The element's threads reach them through
 *     rtmfp_net_invoke; the agent's callbacks come back here on the net
 *     thread and publish what they learn under obj->lock;
 *   - a thread of GStreamer's pool (gst_element_call_async) posts what the
 *     net thread queued for the bus, in order.
 *
 * Locks: obj->lock protects the properties and everything shared with the
 * net thread (state flags, queues, counters); obj->cond signals changes.
 * It is taken before GST_OBJECT_LOCK and never held while waiting for the
 * net thread.  stats_lock guards the statistics snapshot (written by the
 * net thread only) so that reading `stats` never waits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gstrtmfpobject.h"
#include "gstrtmfperror.h"
#include "gstrtmfpstats.h"
#include "gstrtmfpposter.h"
#include "rtmfpnet.h"
#include "rtmfptcagent.h"
#include "rtmfptcpeer.h"
#include "flvtag.h"


GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_object_debug);
#define GST_CAT_DEFAULT gst_rtmfp_object_debug

/* Publisher: bytes handed to the net thread or held by the agent before
 * send() waits */
#define MAX_QUEUED_BYTES (1024 * 1024)
/* Player: the receive queue's hard limits (rtmfpmediaqueue.h) */
#define MAX_ITEMS 2048
#define MAX_ITEM_BYTES (16 * 1024 * 1024)
/* Statistics snapshot period on the net thread */
#define STATS_PERIOD_US (100 * G_TIME_SPAN_MILLISECOND)
/* RTMFP's timestamp resolution (RFC 7016 2.2.4: 4 ms ticks) */
#define RTT_RESOLUTION_US 4000
/* Bound on the orderly close at EOS */
#define CLOSE_WAIT_US (5 * G_TIME_SPAN_SECOND)
/* DNS answers still due when stopping are awaited this long */
#define RESOLVE_DRAIN_MS 1000

struct _GstRtmfpObject
{
  GstElement *element;
  gboolean publisher;

  GMutex lock;
  GCond cond;

  GstRtmfpSettings settings;    /* the properties (their own lock) */

  /* a run: set by start, cleared by stop (lock for the flags) */
  gboolean started;
  GstRtmfpRun run;              /* the settings of this run */
  RtmfpNet *net;
  RtmfpTcAgent *agent;          /* net thread only */
  GSource *timer;               /* the agent's timer, net context */
  GSource *stats_source;        /* stats-interval */
  GSource *bandwidth_source;    /* publisher: bandwidth samples */
  GCancellable *cancellable;
  gboolean resolving;           /* a DNS answer is due (net thread) */
  guint rebinding;              /* rebinds under way (lock) */

  /* shared with the net thread (lock) */
  gboolean streaming;           /* reached STREAMING this run */
  gboolean failed;
  gboolean closed;
  gboolean flushing;
  gboolean error_posted;
  gboolean stopping;
  gboolean eos;                 /* player: the stream ended */
  gsize in_transit;
  gsize agent_pending;
  RtmfpMediaQueue *queue;       /* player */

  GstRtmfpPoster poster;        /* bus posts from the net thread */

  /* statistics (stats_lock) */
  GMutex stats_lock;
  GstRtmfpStats stats;
  GValue peers_stats;           /* GST_TYPE_ARRAY of "peer" structures */
  gint64 stats_time;            /* net thread */

  /* publisher: bandwidth samples (set before the first start) */
  GstRtmfpBandwidthFunc bandwidth_func;
  gpointer bandwidth_data;
};

static GQuark object_quark;

/* ------------------------------------------------------------------------ */
/* errors and element messages */

/* The one GST_ELEMENT_ERROR of this run (on the poster's thread) */
static void
post_error_now (const GError * err, gpointer data)
{
  GstRtmfpObject *obj = data;
  GstRtmfpErrorContext ctx = { obj->publisher, obj->run.play_direct };
  gchar *host, *stream;
  gboolean post;

  g_mutex_lock (&obj->lock);
  post = !obj->error_posted && !obj->stopping;
  obj->error_posted = TRUE;
  host = g_strdup (obj->run.uri.host ? obj->run.uri.host : "");
  stream = g_strdup (obj->run.uri.stream ? obj->run.uri.stream : "");
  g_mutex_unlock (&obj->lock);

  if (post) {
    GST_WARNING_OBJECT (obj->element, "error: %s", err->message);
    ctx.host = host;
    ctx.stream = stream;
    gst_rtmfp_post_error (obj->element, &ctx, err);
  } else {
    GST_DEBUG_OBJECT (obj->element, "not posting: %s", err->message);
  }
  /* only now wake the streaming thread: its own flow error message must
   * come after ours on the bus */
  g_mutex_lock (&obj->lock);
  obj->failed = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  g_free (host);
  g_free (stream);
}

static void
post_structure (GstRtmfpObject * obj, GstStructure * s)
{
  gst_rtmfp_poster_message (&obj->poster, s);
}

/* ------------------------------------------------------------------------ */
/* statistics (net thread) */

static void
update_stats (GstRtmfpObject * obj, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  GstRtmfpStats st = { 0 };
  GValue peers = G_VALUE_INIT;

  if (!obj->agent || (!force && now - obj->stats_time < STATS_PERIOD_US))
    return;
  obj->stats_time = now;
  gst_rtmfp_stats_snapshot (obj->agent, &st, &peers);
  if (obj->net)
    st.local_port = rtmfp_net_get_local_port (obj->net);
  st.congestion_control = obj->run.congestion_control;
  g_mutex_lock (&obj->lock);
  if (obj->queue)
    st.receive_queue_dropped = rtmfp_media_queue_get_dropped (obj->queue);
  g_mutex_unlock (&obj->lock);
  g_mutex_lock (&obj->stats_lock);
  obj->stats = st;
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_unset (&obj->peers_stats);
  obj->peers_stats = peers;
  g_mutex_unlock (&obj->stats_lock);
}

GstStructure *
gst_rtmfp_object_get_stats (GstRtmfpObject * obj)
{
  GstRtmfpStats st;
  GValue peers = G_VALUE_INIT;
  GstStructure *s;

  g_value_init (&peers, GST_TYPE_ARRAY);
  g_mutex_lock (&obj->stats_lock);
  st = obj->stats;
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_copy (&obj->peers_stats, &peers);
  g_mutex_unlock (&obj->stats_lock);
  s = gst_rtmfp_stats_to_structure (&st, &peers);
  g_value_unset (&peers);
  return s;
}

static gboolean
stats_due (gpointer data)
{
  GstRtmfpObject *obj = data;

  update_stats (obj, TRUE);
  post_structure (obj, gst_rtmfp_object_get_stats (obj));
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* bandwidth samples (publisher, net thread) */

void
gst_rtmfp_object_set_bandwidth_func (GstRtmfpObject * obj,
    GstRtmfpBandwidthFunc func, gpointer data)
{
  obj->bandwidth_func = func;
  obj->bandwidth_data = data;
}

typedef struct
{
  GstRtmfpObject *obj;
  GstRtmfpBandwidthSample sample;
} BandwidthPost;

static void
call_bandwidth (GstElement * element, gpointer data)
{
  BandwidthPost *bp = data;

  bp->obj->bandwidth_func (element, &bp->sample, bp->obj->bandwidth_data);
}

/* Direct mode: the thinnest path among the playing subscribers (the
 * encoder serves them all) */
static gboolean
thinnest_peer (RtmfpTcAgent * agent, RtmfpSessionStats * out)
{
  RtmfpTcPeerPublisher *pp = rtmfp_tc_agent_get_peer_publisher (agent);
  RtmfpTcPeerInfo info;
  gboolean any = FALSE;
  guint i;

  for (i = 0; pp && rtmfp_tc_peer_publisher_get_peer (pp, i, &info); i++) {
    RtmfpSessionStats ss;

    if (!info.playing)
      continue;
    rtmfp_session_get_stats (info.session, &ss);
    if (ss.rate_estimate_bps == 0)
      continue;
    if (!any || ss.rate_estimate_bps < out->rate_estimate_bps)
      *out = ss;
    any = TRUE;
  }
  return any;
}

static gboolean
bandwidth_due (gpointer data)
{
  GstRtmfpObject *obj = data;
  RtmfpTcAgentStats st;
  RtmfpSessionStats cur;
  BandwidthPost *bp;

  if (!obj->agent)
    return G_SOURCE_CONTINUE;
  rtmfp_tc_agent_get_stats (obj->agent, &st);
  cur = st.client.session;
  if (obj->run.direct && !thinnest_peer (obj->agent, &cur))
    memset (&cur, 0, sizeof cur);
  bp = g_new0 (BandwidthPost, 1);
  bp->obj = obj;
  bp->sample.time_us = g_get_monotonic_time ();
  bp->sample.streaming = rtmfp_tc_agent_get_state (obj->agent) ==
      RTMFP_TC_AGENT_STATE_STREAMING;
  bp->sample.rate_estimate_bps = cur.rate_estimate_bps;
  /* RTMFP's timestamps tick every 4 ms (RFC 7016 2.2.4): on a path faster
   * than that the smoothed RTT can read 0, and the window's estimate with
   * it; the window per tick is then what the path is known to carry */
  if (cur.rate_estimate_bps == 0 && cur.srtt_us == 0 && cur.cwnd > 0 &&
      cur.congestion_control == RTMFP_CONGESTION_TCP)
    bp->sample.rate_estimate_bps = cur.cwnd * 8 * G_USEC_PER_SEC /
        RTT_RESOLUTION_US;
  bp->sample.app_limited = cur.app_limited;
  bp->sample.delivery_rate_bps = cur.delivery_rate_bps;
  bp->sample.rtt_ms = cur.srtt_us > 0 ? cur.srtt_us / 1000.0 : 0.0;
  bp->sample.packets_sent = st.total_session.packets_sent;
  bp->sample.fragments_lost = st.total_session.fragments_lost;
  bp->sample.audio_bytes_sent =
      st.total_media[RTMFP_TC_MEDIA_AUDIO].bytes_sent;
  bp->sample.congestion_control = obj->run.congestion_control;
  gst_rtmfp_poster_call (&obj->poster, call_bandwidth, bp, g_free);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* the agent's callbacks (net thread) */

static void
post_peer_message (GstRtmfpObject * obj, const gchar * name, RtmfpSession * s)
{
  gchar buf[RTMFP_ADDR_STRLEN], *peer_id;
  RtmfpSessionStats st;
  const guint8 *fp;

  if (!s)
    return;
  fp = rtmfp_session_get_far_fingerprint (s);
  peer_id = fp ? rtmfp_fingerprint_to_hex (fp) : g_strdup ("");
  rtmfp_session_get_stats (s, &st);
  rtmfp_addr_to_string (rtmfp_session_get_far_address (s), buf);
  GST_INFO_OBJECT (obj->element, "%s: peer %s at %s", name, peer_id, buf);
  post_structure (obj, gst_structure_new (name, "peer-id", G_TYPE_STRING,
          peer_id, "address", G_TYPE_STRING, buf, "rtt-ms", G_TYPE_DOUBLE,
          st.srtt_us < 0 ? -1.0 : st.srtt_us / 1000.0, NULL));
  g_free (peer_id);
}

static void
on_state (RtmfpTcAgent * a, RtmfpTcAgentState state, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_DEBUG_OBJECT (obj->element, "agent state %s",
      rtmfp_tc_agent_state_get_nick (state));
  g_mutex_lock (&obj->lock);
  if (state == RTMFP_TC_AGENT_STATE_STREAMING)
    obj->streaming = TRUE;
  if (state == RTMFP_TC_AGENT_STATE_CLOSED)
    obj->closed = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  update_stats (obj, TRUE);
}

static void
on_error (RtmfpTcAgent * a, const GError * err, gpointer ud)
{
  gst_rtmfp_poster_error (&((GstRtmfpObject *) ud)->poster, err);
}

static void
on_status (RtmfpTcAgent * a, const gchar * level, const gchar * code,
    const gchar * desc, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_INFO_OBJECT (obj->element, "status %s %s: %s", level, code, desc);
  post_structure (obj, gst_structure_new ("rtmfp-status", "level",
          G_TYPE_STRING, level, "code", G_TYPE_STRING, code, "description",
          G_TYPE_STRING, desc, NULL));
}

static void
on_message (RtmfpTcAgent * a, const RtmfpMediaMessage * msg, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_LOG_OBJECT (obj->element, "message type %u ts %u len %" G_GSIZE_FORMAT
      " flags 0x%x lost %u", msg->type, msg->timestamp, msg->len, msg->flags,
      msg->lost);
  g_mutex_lock (&obj->lock);
  rtmfp_media_queue_push (obj->queue, msg);
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  update_stats (obj, FALSE);
}

static void
on_end_of_stream (RtmfpTcAgent * a, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_INFO_OBJECT (obj->element, "end of stream");
  g_mutex_lock (&obj->lock);
  obj->eos = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

static void
on_publishing (RtmfpTcAgent * a, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  gchar *peer_id = gst_rtmfp_settings_dup_local_peer_id (&obj->settings);
  const gchar *mode = obj->run.direct ? "direct" : "server";

  GST_INFO_OBJECT (obj->element, "publishing %s (%s), peer ID %s",
      obj->run.location, mode, peer_id);
  post_structure (obj, gst_structure_new ("rtmfp-publishing",
          "location", G_TYPE_STRING, obj->run.location,
          "stream", G_TYPE_STRING, obj->run.uri.stream,
          "mode", G_TYPE_STRING, mode,
          "peer-id", G_TYPE_STRING, peer_id, NULL));
  g_free (peer_id);
}

static void
on_waiting (RtmfpTcAgent * a, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_INFO_OBJECT (obj->element, "stream %s is not published yet",
      obj->run.uri.stream);
  post_structure (obj, gst_structure_new ("rtmfp-waiting", "location",
          G_TYPE_STRING, obj->run.location, "stream", G_TYPE_STRING,
          obj->run.uri.stream, NULL));
}

static void
on_reconnecting (RtmfpTcAgent * a, guint attempt, const gchar * reason,
    gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_INFO_OBJECT (obj->element, "reconnection attempt %u (%s)", attempt,
      reason);
  post_structure (obj, gst_structure_new ("rtmfp-reconnecting", "attempt",
          G_TYPE_UINT, attempt, "reason", G_TYPE_STRING, reason, NULL));
}

static void
on_reconnected (RtmfpTcAgent * a, guint attempt, gint64 downtime,
    gpointer ud)
{
  GstRtmfpObject *obj = ud;

  GST_INFO_OBJECT (obj->element, "reconnected after %" G_GINT64_FORMAT
      " ms (%u attempts)", downtime / 1000, attempt);
  post_structure (obj, gst_structure_new ("rtmfp-reconnected", "attempt",
          G_TYPE_UINT, attempt, "downtime-ms", G_TYPE_UINT64,
          (guint64) downtime / 1000, NULL));
}

static void
on_keyframe_wanted (RtmfpTcAgent * a, gpointer ud)
{
  gst_rtmfp_poster_key_unit (&((GstRtmfpObject *) ud)->poster);
}

static void
on_writable (RtmfpTcAgent * a, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  gsize pending = rtmfp_tc_agent_get_pending_bytes (a);

  g_mutex_lock (&obj->lock);
  obj->agent_pending = pending;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

static void
on_peer_playing (RtmfpTcAgent * a, RtmfpSession * s, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  post_peer_message (obj, obj->publisher ? "rtmfp-peer-connected" :
      "rtmfp-direct-session", s);
}

static void
on_peer_left (RtmfpTcAgent * a, RtmfpSession * s, gpointer ud)
{
  post_peer_message (ud, "rtmfp-peer-disconnected", s);
}

/* The handshake fell back to Flash Player's certificate: a new peer ID */
static void
on_identity_changed (RtmfpTcAgent * a, RtmfpIdentity * id, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  gchar *peer_id = rtmfp_identity_get_peer_id (id);

  GST_INFO_OBJECT (obj->element, "handshake: Flash Player's certificate "
      "(DH group 2), peer ID now %s", peer_id);
  gst_rtmfp_settings_set_local_peer_id (&obj->settings, peer_id);
  g_free (peer_id);
}

static const RtmfpTcAgentCallbacks agent_callbacks = {
  .state_changed = on_state,
  .error = on_error,
  .status = on_status,
  .message = on_message,
  .end_of_stream = on_end_of_stream,
  .publishing = on_publishing,
  .waiting = on_waiting,
  .reconnecting = on_reconnecting,
  .reconnected = on_reconnected,
  .keyframe_wanted = on_keyframe_wanted,
  .writable = on_writable,
  .peer_playing = on_peer_playing,
  .peer_left = on_peer_left,
  .identity_changed = on_identity_changed,
};

static gint64
net_clock (gpointer data)
{
  return g_get_monotonic_time ();
}

/* ------------------------------------------------------------------------ */
/* the agent's timer on the net thread */

static gint64
agent_next_timeout (gpointer data)
{
  return rtmfp_tc_agent_next_timeout (((GstRtmfpObject *) data)->agent);
}

static void
agent_timeout (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  rtmfp_tc_agent_handle_timeout (obj->agent, rtmfp_net_now (net));
  update_stats (obj, FALSE);
}

/* ------------------------------------------------------------------------ */
/* connecting (net thread) */

static void
start_agent (GstRtmfpObject * obj, RtmfpNet * net, GArray * addrs)
{
  if (addrs->len == 0) {
    GError *err = g_error_new (G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
        "No usable address for %s", obj->run.uri.host);
    gst_rtmfp_poster_error (&obj->poster, err);
    g_error_free (err);
    return;
  }
  GST_DEBUG_OBJECT (obj->element, "connecting to %s (%u candidates)",
      obj->run.uri.tc_url, addrs->len);
  rtmfp_tc_agent_start (obj->agent, rtmfp_net_get_endpoint (net),
      (const RtmfpAddr *) addrs->data, addrs->len, rtmfp_net_now (net));
}

static void
add_inet_address (GArray * addrs, GInetAddress * ia, guint16 port)
{
  GSocketAddress *sa = g_inet_socket_address_new (ia, port);
  RtmfpAddr a;

  if (rtmfp_addr_from_gsocket (&a, sa))
    g_array_append_val (addrs, a);
  g_object_unref (sa);
}

typedef struct
{
  GstRtmfpObject *obj;
  GArray *addrs;                /* RtmfpAddr */
} StartData;

static void
start_data_free (gpointer data)
{
  StartData *sd = data;

  g_array_unref (sd->addrs);
  g_free (sd);
}

static void
do_start_agent (RtmfpNet * net, gpointer data)
{
  StartData *sd = data;

  start_agent (sd->obj, net, sd->addrs);
}

static void
resolved (GObject * source, GAsyncResult * res, gpointer data)
{
  GstRtmfpObject *obj = data;
  GError *err = NULL;
  GList *list, *l;
  StartData *sd;

  list = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &err);
  obj->resolving = FALSE;
  if (!list) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      gst_rtmfp_poster_error (&obj->poster, err);
    g_error_free (err);
    return;
  }
  if (g_cancellable_is_cancelled (obj->cancellable)) {
    g_resolver_free_addresses (list);
    return;
  }
  sd = g_new0 (StartData, 1);
  sd->obj = obj;
  sd->addrs = g_array_new (FALSE, TRUE, sizeof (RtmfpAddr));
  for (l = list; l; l = l->next)
    add_inet_address (sd->addrs, l->data, obj->run.uri.port);
  g_resolver_free_addresses (list);
  /* via invoke: the endpoint's timer is re-armed after the IHello */
  rtmfp_net_invoke (obj->net, do_start_agent, sd, start_data_free);
}

static void
do_connect (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;
  GInetAddress *ia = g_inet_address_new_from_string (obj->run.uri.host);

  if (ia) {
    GArray *addrs = g_array_new (FALSE, TRUE, sizeof (RtmfpAddr));
    add_inet_address (addrs, ia, obj->run.uri.port);
    g_object_unref (ia);
    start_agent (obj, net, addrs);
    g_array_unref (addrs);
  } else {
    /* the answer comes back on this thread (its default context) */
    GResolver *r = g_resolver_get_default ();
    obj->resolving = TRUE;
    g_resolver_lookup_by_name_async (r, obj->run.uri.host, obj->cancellable,
        resolved, obj);
    g_object_unref (r);
  }
}

/* ------------------------------------------------------------------------ */
/* lifecycle */

GstRtmfpObject *
gst_rtmfp_object_new (GstElement * element, gboolean publisher)
{
  GstRtmfpObject *obj = g_new0 (GstRtmfpObject, 1);

  obj->element = element;
  obj->publisher = publisher;
  g_mutex_init (&obj->lock);
  g_cond_init (&obj->cond);
  g_mutex_init (&obj->stats_lock);
  gst_rtmfp_settings_init (&obj->settings, element, publisher);
  gst_rtmfp_poster_init (&obj->poster, element, post_error_now, obj);
  g_object_set_qdata (G_OBJECT (element), object_quark, obj);
  return obj;
}

void
gst_rtmfp_object_destroy (GstRtmfpObject * obj)
{
  if (!obj)
    return;
  gst_rtmfp_object_stop (obj);
  gst_rtmfp_poster_clear (&obj->poster);
  gst_rtmfp_settings_clear (&obj->settings);
  g_mutex_clear (&obj->lock);
  g_cond_clear (&obj->cond);
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_unset (&obj->peers_stats);
  g_mutex_clear (&obj->stats_lock);
  g_free (obj);
}

static RtmfpTcAgent *
make_agent (GstRtmfpObject * obj, GstRtmfpRun * rs)
{
  RtmfpTcAgentConfig cfg;

  rtmfp_tc_agent_config_init (&cfg);
  cfg.role = rs->direct ? RTMFP_TC_AGENT_PUBLISH_DIRECT : obj->publisher ?
      RTMFP_TC_AGENT_PUBLISH : RTMFP_TC_AGENT_PLAY;
  cfg.tc_url = rs->uri.tc_url;
  cfg.app = rs->uri.app;
  cfg.stream = rs->uri.stream;
  cfg.auth_token = rs->auth_token;
  cfg.auth_mode = rs->auth_mode;
  cfg.handshake = rs->handshake;
  cfg.server_fingerprint = rs->have_server_fp ? rs->server_fp : NULL;
  cfg.resolve_peer = rs->resolve_peer;
  cfg.peer_fingerprint = rs->have_peer_fp ? rs->peer_fp : NULL;
  cfg.timeout_us = (gint64) rs->timeout * G_TIME_SPAN_SECOND;
  cfg.idle_timeout_us = (gint64) rs->idle_timeout * G_TIME_SPAN_SECOND;
  cfg.audio_lifetime_us = (gint64) rs->audio_lifetime *
      G_TIME_SPAN_MILLISECOND;
  cfg.video_lifetime_us = (gint64) rs->video_lifetime *
      G_TIME_SPAN_MILLISECOND;
  cfg.reconnect = rs->reconnect;
  return rtmfp_tc_agent_new (&cfg, &agent_callbacks, obj, net_clock, NULL);
}

static RtmfpNet *
make_net (GstRtmfpObject * obj, GstRtmfpRun * rs, RtmfpTcAgent * agent,
    gchar ** peer_id)
{
  RtmfpEndpointConfig ecfg;
  RtmfpIdentity *id;
  RtmfpNet *net;
  GError *err = NULL;

  /* RFC 7425 5.3: a new certificate (peer ID) for every connection, of
   * the shape the handshake property asks for */
  id = rtmfp_tc_client_new_identity (rs->handshake);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = id;
  /* 5.4: a direct publisher answers the IHellos the server forwards */
  ecfg.accept_sessions = rs->direct;
  ecfg.congestion_control = rs->congestion_control;
  ecfg.open_timeout_us = (gint64) MAX (rs->timeout, 1) * G_TIME_SPAN_SECOND;
  net = rtmfp_net_new (&ecfg, rtmfp_tc_agent_get_endpoint_callbacks (),
      agent, NULL, 0, &err);
  *peer_id = rtmfp_identity_get_peer_id (id);
  rtmfp_identity_unref (id);
  if (!net) {
    if (obj->publisher)
      GST_ELEMENT_ERROR (obj->element, RESOURCE, OPEN_WRITE,
          (_("Could not open a UDP socket.")), ("%s", err->message));
    else
      GST_ELEMENT_ERROR (obj->element, RESOURCE, OPEN_READ,
          (_("Could not open a UDP socket.")), ("%s", err->message));
    g_clear_error (&err);
    return NULL;
  }
  if (rs->direct) {
    /* setPeerInfo (RFC 7425 5.3.3, 5.4) */
    gchar **info = rtmfp_net_list_local_addresses (net);
    rtmfp_tc_agent_set_peer_info (agent, (const gchar * const *) info);
    g_strfreev (info);
  }
  return net;
}

/* The net thread's sources: the agent's timer and stats-interval */
static void
attach_sources (GstRtmfpObject * obj, guint stats_interval)
{
  GMainContext *ctx = rtmfp_net_get_context (obj->net);

  obj->timer = rtmfp_net_add_timer (obj->net, agent_next_timeout,
      agent_timeout, obj);
  if (stats_interval) {
    obj->stats_source = g_timeout_source_new (stats_interval);
    g_source_set_callback (obj->stats_source, stats_due, obj, NULL);
    g_source_attach (obj->stats_source, ctx);
  }
  if (obj->publisher && obj->bandwidth_func) {
    obj->bandwidth_source =
        g_timeout_source_new (GST_RTMFP_BANDWIDTH_PERIOD_MS);
    g_source_set_callback (obj->bandwidth_source, bandwidth_due, obj, NULL);
    g_source_attach (obj->bandwidth_source, ctx);
  }
}

gboolean
gst_rtmfp_object_start (GstRtmfpObject * obj)
{
  GstRtmfpRun rs;
  RtmfpTcAgent *agent = NULL;
  RtmfpNet *net = NULL;
  gchar *peer_id = NULL;
  gboolean ok = FALSE;

  if (!gst_rtmfp_settings_snapshot (&obj->settings, obj->element, &rs))
    return FALSE;
  agent = make_agent (obj, &rs);
  net = make_net (obj, &rs, agent, &peer_id);
  if (!net)
    goto out;

  gst_rtmfp_poster_start (&obj->poster);
  gst_rtmfp_settings_set_running (&obj->settings, TRUE, peer_id);
  g_mutex_lock (&obj->lock);
  obj->run = rs;
  memset (&rs, 0, sizeof rs);   /* moved */
  obj->streaming = obj->failed = obj->closed = obj->eos = FALSE;
  obj->error_posted = obj->stopping = obj->flushing = FALSE;
  obj->in_transit = obj->agent_pending = 0;
  if (!obj->publisher)
    obj->queue = rtmfp_media_queue_new (MAX_ITEMS, MAX_ITEM_BYTES);
  obj->agent = agent;
  obj->net = net;
  agent = NULL;
  net = NULL;
  obj->started = TRUE;
  g_mutex_unlock (&obj->lock);

  g_mutex_lock (&obj->stats_lock);
  memset (&obj->stats, 0, sizeof obj->stats);
  obj->stats.congestion_control = obj->run.congestion_control;
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_unset (&obj->peers_stats);
  g_mutex_unlock (&obj->stats_lock);

  GST_DEBUG_OBJECT (obj->element, "local UDP port %u, peer ID %s",
      rtmfp_net_get_local_port (obj->net), peer_id);
  obj->resolving = FALSE;
  obj->stats_time = 0;
  obj->cancellable = g_cancellable_new ();
  attach_sources (obj, obj->run.stats_interval);
  rtmfp_net_start (obj->net);
  rtmfp_net_invoke (obj->net, do_connect, obj, NULL);
  ok = TRUE;

out:
  if (net)
    rtmfp_net_free (net);
  rtmfp_tc_agent_free (agent);
  g_free (peer_id);
  gst_rtmfp_run_clear (&rs);
  return ok;
}

static void
do_abort (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  rtmfp_tc_agent_abort (obj->agent, rtmfp_net_now (net));
  update_stats (obj, TRUE);
}

static gboolean
drain_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A DNS answer still on its way lands on the (now idle) net context: let
 * it arrive so nothing is left referring to us */
static void
drain_resolver (GstRtmfpObject * obj)
{
  GMainContext *ctx = rtmfp_net_get_context (obj->net);
  gboolean timed_out = FALSE;
  GSource *t = g_timeout_source_new (RESOLVE_DRAIN_MS);

  g_source_set_callback (t, drain_timeout, &timed_out, NULL);
  g_source_attach (t, ctx);
  g_main_context_push_thread_default (ctx);
  while (obj->resolving && !timed_out)
    g_main_context_iteration (ctx, TRUE);
  g_main_context_pop_thread_default (ctx);
  g_source_destroy (t);
  g_source_unref (t);
}

static void
destroy_source (GSource ** s)
{
  if (*s) {
    g_source_destroy (*s);
    g_source_unref (*s);
    *s = NULL;
  }
}

void
gst_rtmfp_object_stop (GstRtmfpObject * obj)
{
  g_mutex_lock (&obj->lock);
  if (!obj->started) {
    g_mutex_unlock (&obj->lock);
    return;
  }
  obj->stopping = TRUE;
  obj->flushing = TRUE;
  gst_rtmfp_poster_stop (&obj->poster);
  g_cond_broadcast (&obj->cond);
  /* a rebind from the application thread finishes first */
  while (obj->rebinding)
    g_cond_wait (&obj->cond, &obj->lock);
  g_mutex_unlock (&obj->lock);

  g_cancellable_cancel (obj->cancellable);
  /* abrupt close of whatever is left (the orderly close is the sink's EOS) */
  rtmfp_net_invoke_sync (obj->net, do_abort, obj);
  rtmfp_net_stop (obj->net);
  if (obj->resolving)
    drain_resolver (obj);
  destroy_source (&obj->timer);
  destroy_source (&obj->stats_source);
  destroy_source (&obj->bandwidth_source);
  update_stats (obj, TRUE);
  rtmfp_tc_agent_free (obj->agent);
  rtmfp_net_free (obj->net);
  g_clear_object (&obj->cancellable);

  g_mutex_lock (&obj->lock);
  obj->agent = NULL;
  obj->net = NULL;
  gst_rtmfp_run_clear (&obj->run);
  g_clear_pointer (&obj->queue, rtmfp_media_queue_free);
  obj->flushing = FALSE;
  obj->started = FALSE;
  g_mutex_unlock (&obj->lock);
  gst_rtmfp_settings_set_running (&obj->settings, FALSE, NULL);
}

/* ------------------------------------------------------------------------ */
/* streaming-thread API */

void
gst_rtmfp_object_set_flushing (GstRtmfpObject * obj, gboolean * flag,
    gboolean flushing)
{
  g_mutex_lock (&obj->lock);
  *flag = flushing;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

/* called with obj->lock; flag: the caller's own flushing flag, or NULL */
static GstRtmfpObjectWaitResult
check_status (GstRtmfpObject * obj, const gboolean * flag)
{
  if (obj->flushing || !obj->started || (flag && *flag))
    return GST_RTMFP_OBJECT_WAIT_FLUSHING;
  if (obj->failed)
    return GST_RTMFP_OBJECT_WAIT_ERROR;
  return GST_RTMFP_OBJECT_WAIT_OK;
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_wait_streaming (GstRtmfpObject * obj, const gboolean * flag)
{
  GstRtmfpObjectWaitResult r;
  gint64 deadline;
  gboolean timed_out = FALSE;

  g_mutex_lock (&obj->lock);
  /* the agent gives up after `timeout` itself; this only guards it */
  deadline = g_get_monotonic_time () + ((gint64) obj->run.timeout + 2) *
      G_TIME_SPAN_SECOND;
  while ((r = check_status (obj, flag)) == GST_RTMFP_OBJECT_WAIT_OK &&
      !obj->streaming && !obj->closed) {
    if (!g_cond_wait_until (&obj->cond, &obj->lock, deadline)) {
      timed_out = TRUE;
      break;
    }
  }
  if (r == GST_RTMFP_OBJECT_WAIT_OK && !obj->streaming)
    r = GST_RTMFP_OBJECT_WAIT_ERROR;
  g_mutex_unlock (&obj->lock);

  if (timed_out && r == GST_RTMFP_OBJECT_WAIT_ERROR) {
    GError *err = g_error_new (RTMFP_TC_CLIENT_ERROR,
        RTMFP_TC_CLIENT_ERROR_TIMEOUT, "Not %s after %u s",
        obj->publisher ? "publishing" : "playing", obj->run.timeout);
    post_error_now (err, obj);
    g_error_free (err);
  }
  return r;
}

typedef struct
{
  GstRtmfpObject *obj;
  guint8 type;
  guint32 timestamp;
  GBytes *payload;
  guint flags;
} SendData;

static void
send_data_free (gpointer data)
{
  SendData *sd = data;
  GstRtmfpObject *obj = sd->obj;

  g_mutex_lock (&obj->lock);
  obj->in_transit -= g_bytes_get_size (sd->payload);
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  g_bytes_unref (sd->payload);
  g_free (sd);
}

static void
do_send (RtmfpNet * net, gpointer data)
{
  SendData *sd = data;
  GstRtmfpObject *obj = sd->obj;
  gsize len, pending;
  const guint8 *p = g_bytes_get_data (sd->payload, &len);

  if (!rtmfp_tc_agent_send (obj->agent, sd->type, sd->timestamp, p, len,
          sd->flags, rtmfp_net_now (net)))
    GST_LOG_OBJECT (obj->element, "message of type %u not sent now",
        sd->type);
  pending = rtmfp_tc_agent_get_pending_bytes (obj->agent);
  g_mutex_lock (&obj->lock);
  obj->agent_pending = pending;
  g_mutex_unlock (&obj->lock);
  update_stats (obj, FALSE);
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_send (GstRtmfpObject * obj, guint8 type, guint32 timestamp,
    GBytes * payload, guint flags, const gboolean * flag)
{
  GstRtmfpObjectWaitResult r;
  SendData *sd;

  g_mutex_lock (&obj->lock);
  while ((r = check_status (obj, flag)) == GST_RTMFP_OBJECT_WAIT_OK &&
      obj->in_transit + obj->agent_pending > MAX_QUEUED_BYTES)
    g_cond_wait (&obj->cond, &obj->lock);
  if (r == GST_RTMFP_OBJECT_WAIT_OK && obj->closed)
    r = GST_RTMFP_OBJECT_WAIT_EOS;
  if (r != GST_RTMFP_OBJECT_WAIT_OK) {
    g_mutex_unlock (&obj->lock);
    return r;
  }
  obj->in_transit += g_bytes_get_size (payload);
  g_mutex_unlock (&obj->lock);

  sd = g_new0 (SendData, 1);
  sd->obj = obj;
  sd->type = type;
  sd->timestamp = timestamp;
  sd->payload = g_bytes_ref (payload);
  sd->flags = flags;
  rtmfp_net_invoke (obj->net, do_send, sd, send_data_free);
  return GST_RTMFP_OBJECT_WAIT_OK;
}

static void
do_close (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  rtmfp_tc_agent_close (obj->agent, rtmfp_net_now (net));
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_close (GstRtmfpObject * obj, const gboolean * flag)
{
  GstRtmfpObjectWaitResult r;
  gint64 deadline = g_get_monotonic_time () + CLOSE_WAIT_US;

  g_mutex_lock (&obj->lock);
  if (!obj->started || obj->stopping) {
    g_mutex_unlock (&obj->lock);
    return GST_RTMFP_OBJECT_WAIT_OK;
  }
  g_mutex_unlock (&obj->lock);
  /* the end goes after everything render handed over (the net thread runs
   * invocations in order) */
  rtmfp_net_invoke (obj->net, do_close, obj, NULL);
  g_mutex_lock (&obj->lock);
  while ((r = check_status (obj, flag)) == GST_RTMFP_OBJECT_WAIT_OK &&
      !obj->closed) {
    if (!g_cond_wait_until (&obj->cond, &obj->lock, deadline)) {
      GST_WARNING_OBJECT (obj->element, "orderly close did not finish in "
          "time");
      break;
    }
  }
  g_mutex_unlock (&obj->lock);
  return r;
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_pop (GstRtmfpObject * obj, RtmfpMediaItem ** item,
    const gboolean * flag)
{
  GstRtmfpObjectWaitResult r;

  *item = NULL;
  g_mutex_lock (&obj->lock);
  for (;;) {
    r = check_status (obj, flag);
    if (r != GST_RTMFP_OBJECT_WAIT_OK)
      break;
    *item = rtmfp_media_queue_pop (obj->queue);
    if (*item)
      break;
    if (obj->eos || obj->closed) {
      r = GST_RTMFP_OBJECT_WAIT_EOS;
      break;
    }
    g_cond_wait (&obj->cond, &obj->lock);
  }
  g_mutex_unlock (&obj->lock);
  return r;
}

static void
do_request_keyframe (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  if (rtmfp_tc_agent_request_keyframe (obj->agent, rtmfp_net_now (net)))
    GST_DEBUG_OBJECT (obj->element, "keyframe requested");
}

void
gst_rtmfp_object_request_keyframe (GstRtmfpObject * obj)
{
  g_mutex_lock (&obj->lock);
  if (obj->started && !obj->stopping)
    rtmfp_net_invoke (obj->net, do_request_keyframe, obj, NULL);
  g_mutex_unlock (&obj->lock);
}

/* ------------------------------------------------------------------------ */
/* IP mobility */

typedef struct
{
  GstRtmfpObject *obj;
  gboolean ok;
  guint16 port;
} RebindData;

static void
do_rebind (RtmfpNet * net, gpointer data)
{
  RebindData *rd = data;
  RtmfpSession *s;
  GError *err = NULL;

  rd->ok = rtmfp_net_rebind (net, &err);
  if (!rd->ok) {
    GST_WARNING_OBJECT (rd->obj->element, "rebind failed: %s", err->message);
    g_error_free (err);
    return;
  }
  rd->port = rtmfp_net_get_local_port (net);
  /* tell the far end at once (a Ping from the new address: it validates
   * and moves the session, 3.5.4.2) rather than at the next packet */
  s = rtmfp_tc_agent_get_session (rd->obj->agent);
  if (s && rtmfp_session_get_state (s) == RTMFP_SESSION_OPEN)
    rtmfp_session_ping (s, rtmfp_net_now (net));
  update_stats (rd->obj, TRUE);       /* the new local-port */
}

gboolean
gst_rtmfp_object_rebind (GstRtmfpObject * obj)
{
  RebindData rd = { obj, FALSE, 0 };
  RtmfpNet *net;

  g_mutex_lock (&obj->lock);
  if (!obj->started || obj->stopping) {
    g_mutex_unlock (&obj->lock);
    GST_WARNING_OBJECT (obj->element, "rebind: not started");
    return FALSE;
  }
  /* stop waits for this to finish before it frees the net */
  obj->rebinding++;
  net = obj->net;
  g_mutex_unlock (&obj->lock);

  rtmfp_net_invoke_sync (net, do_rebind, &rd);

  g_mutex_lock (&obj->lock);
  obj->rebinding--;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  if (rd.ok)
    GST_INFO_OBJECT (obj->element, "rebound to local UDP port %u", rd.port);
  return rd.ok;
}

/* ------------------------------------------------------------------------ */
/* properties (specifications and values: gstrtmfpsettings.c) */

GstRtmfpObject *
gst_rtmfp_object_from_element (gpointer element)
{
  return g_object_get_qdata (G_OBJECT (element), object_quark);
}

void
gst_rtmfp_object_install_properties_helper (GObjectClass * klass,
    gboolean publisher)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (gst_rtmfp_object_debug, "rtmfpobject", 0,
        "RTMFP object shared by rtmfpsrc and rtmfpsink");
    object_quark = g_quark_from_static_string ("gst-rtmfp-object");
    g_once_init_leave (&once, 1);
  }
  gst_rtmfp_settings_install_properties (klass, publisher);
}

gboolean
gst_rtmfp_object_set_property_helper (GstRtmfpObject * obj, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  return gst_rtmfp_settings_set_property (&obj->settings, obj->element,
      prop_id, value);
}

gboolean
gst_rtmfp_object_get_property_helper (GstRtmfpObject * obj, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  if (prop_id == GST_RTMFP_PROP_STATS) {
    g_value_take_boxed (value, gst_rtmfp_object_get_stats (obj));
    return TRUE;
  }
  return gst_rtmfp_settings_get_property (&obj->settings, prop_id, value);
}

GstRtmfpSettings *
gst_rtmfp_object_get_settings (GstRtmfpObject * obj)
{
  return &obj->settings;
}
