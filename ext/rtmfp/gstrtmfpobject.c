/* GStreamer RTMFP plugin: what rtmfpsrc and rtmfpsink share.
 *
 * Threads:
 *   - the element's threads (application, streaming): properties, start,
 *     stop, send (sink render), pop (src create), unlock;
 *   - the net thread (RtmfpNet): the endpoint, the session and the
 *     RtmfpTcClient, which only it touches.  The element's threads reach
 *     them through rtmfp_net_invoke; the client's callbacks come back here
 *     on the net thread and publish what they learn under obj->lock.
 *
 * Locks: obj->lock protects the properties and everything shared with the
 * net thread (state flags, queues, counters); obj->cond signals changes.
 * obj->lock is taken before GST_OBJECT_LOCK and is never held while
 * waiting for the net thread.  stats_lock guards the statistics snapshot
 * (written by the net thread only) so reading `stats` never waits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gst/base/gstbasesink.h>

#include "gstrtmfpobject.h"
#include "rtmfpnet.h"
#include "rtmfptcclient.h"
#include "rtmfptcpeer.h"
#include "flvtag.h"

#include <sys/types.h>
#include <ifaddrs.h>
#include <netinet/in.h>

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_object_debug);
#define GST_CAT_DEFAULT gst_rtmfp_object_debug

/* Publisher: bytes handed to the net thread or held by the client before
 * send() waits */
#define MAX_QUEUED_BYTES (1024 * 1024)
/* Player: messages waiting for create() */
#define MAX_ITEMS 2048
#define MAX_ITEM_BYTES (16 * 1024 * 1024)
/* EOS after UnpublishNotify waits this long for media still in flight on
 * the other flows of the stream (they are not ordered with the status) */
#define EOS_GRACE_US (500 * G_TIME_SPAN_MILLISECOND)
/* After UnpublishNotify, EOS waits this long for the stream to be
 * published again (NetStream.Play.PublishNotify): a publisher that
 * switches protocols (rtmfpautosink falling back to RTMP, or back) or
 * reconnects hands the name over within a second or two */
#define UNPUBLISH_GRACE_US (3 * G_TIME_SPAN_SECOND)
/* Statistics snapshot period on the net thread */
#define STATS_PERIOD_US (100 * G_TIME_SPAN_MILLISECOND)
/* Bound on the orderly close at EOS */
#define CLOSE_WAIT_US (5 * G_TIME_SPAN_SECOND)
/* DNS answers still due when stopping are awaited this long */
#define RESOLVE_DRAIN_MS 1000
/* auto-reconnect: dead peer detection.  A session the far end has not
 * answered for DEAD_PEER_US is taken as lost (RFC 7016 3.5.4.1: an open
 * session survives silence until its idle timeout; past this one we would
 * rather start a new one).  While nothing is received for SILENCE_PING_US
 * the net thread probes with a Ping every WATCH_PERIOD_MS, so that the
 * first packet through a path that came back draws an answer at once
 * (the keepalive alone is paced by the backed-off ERTO, 3.5.4.1), and a
 * live far end is never mistaken for a dead one. */
#define DEAD_PEER_US (6 * G_TIME_SPAN_SECOND)
#define DEAD_PEER_MIN_US (2 * G_TIME_SPAN_SECOND)
#define SILENCE_PING_US (500 * G_TIME_SPAN_MILLISECOND)
#define WATCH_PERIOD_MS 250
/* Reconnection attempts: the first at once, then backing off to this */
#define RECONNECT_FIRST_DELAY_US (250 * G_TIME_SPAN_MILLISECOND)
#define RECONNECT_MAX_DELAY_US (1 * G_TIME_SPAN_SECOND)
/* An attempt (handshake to publish/play) is given 10 round trips of the
 * lost session, at least this long: then a new one starts, so that a
 * server coming back is found by a fresh IHello rather than after the
 * handshake's own growing retransmission intervals (3.5.1.1.1) */
#define RECONNECT_ATTEMPT_MIN_US (2 * G_TIME_SPAN_SECOND)


struct _GstRtmfpObject
{
  GstElement *element;
  gboolean publisher;

  GMutex lock;
  GCond cond;

  /* properties (lock) */
  gchar *location;
  guint timeout;
  guint audio_lifetime;
  guint video_lifetime;
  gchar *play_peer_id;          /* src: play from this peer */
  gchar *server_fingerprint;    /* pinned server peer ID (hex) or NULL */
  gchar *auth_token;            /* connect token (write-only) or NULL */
  gchar *local_peer_id;         /* our identity, once started */
  gint handshake;               /* RtmfpHandshakeMode (lock) */
  gint auth_mode;               /* RtmfpTcAuthMode (lock) */
  gboolean direct;              /* sink: mode=direct (lock) */
  gboolean auto_reconnect;      /* (lock) */

  /* set by start, cleared by stop (streaming / application thread) */
  gboolean started;
  RtmfpUri uri;
  RtmfpNet *net;
  RtmfpTcClient *client;        /* net thread only */
  RtmfpTcPeerPublisher *peers;  /* direct publisher: net thread only */
  guint8 peer_fp[RTMFP_FINGERPRINT_SIZE];       /* direct player */
  guint8 server_fp[RTMFP_FINGERPRINT_SIZE];     /* pinned server */
  gboolean play_direct;
  GSource *client_source;
  GCancellable *cancellable;
  gboolean resolving;           /* a DNS answer is due (net thread) */
  gboolean timeout_queued;      /* net thread */

  /* shared with the net thread (lock) */
  RtmfpTcClientState state;
  gboolean streaming;
  gboolean failed;
  gboolean closed;
  gboolean flushing;
  gboolean error_posted;
  gboolean stopping;
  gint64 eos_at;                /* -1 none */
  gboolean unpublished;         /* eos_at set by UnpublishNotify only */
  gsize in_transit;
  gsize client_pending;
  GQueue items;                 /* GstRtmfpObjectItem* (player) */
  gsize items_bytes;
  gboolean pending_discont;
  gboolean need_keyframe;
  gboolean have_last_ts;        /* player: last_ts is set (net thread) */
  guint32 last_ts;              /* player: last audio/video timestamp out;
                                 * publisher: last timestamp sent */

  /* this run, for reconnecting (set by start, then net thread only) */
  gboolean run_reconnect;       /* auto-reconnect at start */
  gint64 run_timeout_us;        /* the timeout property at start */
  RtmfpTcClientConfig ccfg;     /* strings point into uri / below */
  gchar *run_auth_token;
  gchar **run_peer_info;
  GArray *addrs;                /* RtmfpAddr: the server's addresses */
  gboolean ever_streamed;
  gboolean closing;             /* orderly close asked: no reconnect */
  gint64 lost_at;               /* last answer from the far end, -1 */
  guint attempt;                /* reconnection attempts so far */
  gchar *lost_reason;
  gint64 lost_srtt_us;          /* RTT of the lost session, -1 unknown */
  GSource *reconnect_source;
  GSource *watch_source;
  guint64 watch_rx;             /* packets received at the last look */
  gint64 watch_rx_time;
  GBytes *reliable[RTMFP_TC_MEDIA_N];   /* last reliable message per kind */
  guint8 reliable_type[RTMFP_TC_MEDIA_N];

  /* bus messages and errors from the net thread, posted in order from
   * another thread (an application may tear the pipeline down from a
   * sync handler: that must never run on the net thread) (lock) */
  guint run_id;
  GQueue posts;                 /* Post* */
  gboolean post_scheduled;

  /* statistics (stats_lock) */
  GMutex stats_lock;
  RtmfpTcClientStats stats;
  GValue peers_stats;           /* GST_TYPE_ARRAY of "peer" structures */
  gint64 stats_time;            /* net thread */
};

static GQuark object_quark;

/* ------------------------------------------------------------------------ */
/* errors */

#define POST_OPEN_ERROR(obj, code_r, code_w, text, debug) G_STMT_START {     \
  if ((obj)->publisher)                                                      \
    GST_ELEMENT_ERROR ((obj)->element, RESOURCE, code_w, text, debug);       \
  else                                                                       \
    GST_ELEMENT_ERROR ((obj)->element, RESOURCE, code_r, text, debug);       \
} G_STMT_END

/* Posts the one GST_ELEMENT_ERROR of this run for err (not on the net
 * thread: see post_error) */
static void
post_error_now (GstRtmfpObject * obj, const GError * err)
{
  gchar *host, *stream;
  gboolean post;

  g_mutex_lock (&obj->lock);
  post = !obj->error_posted && !obj->stopping;
  obj->error_posted = TRUE;
  host = g_strdup (obj->uri.host ? obj->uri.host : "");
  stream = g_strdup (obj->uri.stream ? obj->uri.stream : "");
  g_mutex_unlock (&obj->lock);

  if (!post) {
    GST_DEBUG_OBJECT (obj->element, "not posting: %s", err->message);
    goto done;
  }
  GST_WARNING_OBJECT (obj->element, "error: %s", err->message);
  if (err->domain == RTMFP_TC_CLIENT_ERROR) {
    switch (err->code) {
      case RTMFP_TC_CLIENT_ERROR_TIMEOUT:
        if (obj->play_direct) {
          GST_ELEMENT_ERROR (obj->element, RESOURCE, OPEN_READ,
              (_("Could not reach the peer directly through RTMFP server "
                      "\"%s\": no answer in time."), host),
              ("%s", err->message));
          break;
        }
        POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
            (_("Could not connect to RTMFP server \"%s\": no answer in time."),
                host), ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_REJECTED:
        GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_AUTHORIZED,
            (_("The RTMFP server \"%s\" refused the connection."), host),
            ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_STREAM:
        if (obj->play_direct)
          GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_FOUND,
              (_("The peer does not publish stream \"%s\"."), stream),
              ("%s", err->message));
        else if (obj->publisher)
          GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_AUTHORIZED,
              (_("The RTMFP server \"%s\" refused to publish stream \"%s\"."),
                  host, stream), ("%s", err->message));
        else
          GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_FOUND,
              (_("The RTMFP server \"%s\" could not play stream \"%s\"."),
                  host, stream), ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_CLOSED:
        if (obj->publisher)
          GST_ELEMENT_ERROR (obj->element, RESOURCE, WRITE,
              (_("The connection to RTMFP server \"%s\" was closed."), host),
              ("%s", err->message));
        else
          GST_ELEMENT_ERROR (obj->element, RESOURCE, READ,
              (_("The connection to RTMFP server \"%s\" was closed."), host),
              ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_FINGERPRINT:
        GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_AUTHORIZED,
            (_("The RTMFP server \"%s\" is not the required server "
                    "(wrong fingerprint, or no proof of the pinned key)."),
                host), ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_AUTH:
        GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_AUTHORIZED,
            (_("The RTMFP server \"%s\" did not prove that it knows the "
                    "authentication token."), host), ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED:
      case RTMFP_TC_CLIENT_ERROR_PROTOCOL:
      default:
        POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
            (_("Could not connect to RTMFP server \"%s\"."), host),
            ("%s", err->message));
        break;
    }
  } else if (err->domain == GST_RESOURCE_ERROR) {
    /* auto-reconnect gave up */
    if (obj->publisher)
      GST_ELEMENT_ERROR (obj->element, RESOURCE, WRITE,
          (_("The connection to RTMFP server \"%s\" was lost and could not "
                  "be restored in time."), host), ("%s", err->message));
    else
      GST_ELEMENT_ERROR (obj->element, RESOURCE, READ,
          (_("The connection to RTMFP server \"%s\" was lost and could not "
                  "be restored in time."), host), ("%s", err->message));
  } else if (err->domain == G_RESOLVER_ERROR) {
    GST_ELEMENT_ERROR (obj->element, RESOURCE, NOT_FOUND,
        (_("Could not resolve RTMFP server name \"%s\"."), host),
        ("%s", err->message));
  } else {
    POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
        (_("Could not connect to RTMFP server \"%s\"."), host),
        ("%s", err->message));
  }

done:
  /* only now wake the streaming thread: its own flow error message must
   * come after ours on the bus */
  g_mutex_lock (&obj->lock);
  obj->failed = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  g_free (host);
  g_free (stream);
}

/* ------------------------------------------------------------------------ */
/* posting from the net thread */

/* One thing for the bus, queued by the net thread */
typedef struct
{
  guint run_id;
  GError *error;                /* the error of the run, or */
  GstMessage *message;          /* an element message, or */
  gboolean key_unit;            /* sink: ask upstream for a keyframe */
} Post;

static void
post_free (Post * p)
{
  g_clear_error (&p->error);
  if (p->message)
    gst_message_unref (p->message);
  g_free (p);
}

/* On a thread of GStreamer's pool (gst_element_call_async, which holds a
 * reference to the element): posts what the net thread queued, in order.
 * A handler may set the pipeline to NULL from here: stop() then joins the
 * net thread, which is not this one. */
static void
drain_posts (GstElement * element, gpointer data)
{
  GstRtmfpObject *obj = data;

  for (;;) {
    Post *p;
    gboolean current;

    g_mutex_lock (&obj->lock);
    p = g_queue_pop_head (&obj->posts);
    if (!p) {
      obj->post_scheduled = FALSE;
      g_mutex_unlock (&obj->lock);
      break;
    }
    current = p->run_id == obj->run_id && obj->started && !obj->stopping;
    g_mutex_unlock (&obj->lock);

    if (!current) {
      GST_DEBUG_OBJECT (element, "dropping a post of a finished run");
    } else if (p->error) {
      post_error_now (obj, p->error);
    } else if (p->message) {
      gst_element_post_message (element, p->message);
      p->message = NULL;
    } else if (p->key_unit) {
      /* the GstForceKeyUnit event of gstvideoevent.h, all headers again:
       * players that joined again start at once */
      GST_INFO_OBJECT (element, "asking upstream for a keyframe");
      gst_element_send_event (element,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new ("GstForceKeyUnit", "all-headers",
                  G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT, 0, NULL)));
    }
    post_free (p);
  }
}

static void
queue_post (GstRtmfpObject * obj, Post * p)
{
  gboolean schedule;

  g_mutex_lock (&obj->lock);
  p->run_id = obj->run_id;
  g_queue_push_tail (&obj->posts, p);
  schedule = !obj->post_scheduled;
  obj->post_scheduled = TRUE;
  g_mutex_unlock (&obj->lock);
  if (schedule)
    gst_element_call_async (obj->element, drain_posts, obj, NULL);
}

/* The error of this run, from the net thread (posted from another) */
static void
post_error (GstRtmfpObject * obj, const GError * err)
{
  Post *p = g_new0 (Post, 1);

  GST_DEBUG_OBJECT (obj->element, "queueing error: %s", err->message);
  p->error = g_error_copy (err);
  queue_post (obj, p);
}

/* An element message, from the net thread (takes s) */
static void
post_structure (GstRtmfpObject * obj, GstStructure * s)
{
  Post *p = g_new0 (Post, 1);

  p->message = gst_message_new_element (GST_OBJECT (obj->element), s);
  queue_post (obj, p);
}

/* ------------------------------------------------------------------------ */
/* statistics */

static const gchar *const media_names[RTMFP_TC_MEDIA_N] =
    { "audio", "video", "data" };

/* One table: the schema of application/x-rtmfp-statistics.  Every field is
 * always present (zero before a connection, the last values after). */
typedef enum {
  F_STR, F_DOUBLE, F_U64, F_UINT
} FieldType;

static const struct
{
  const gchar *name;
  FieldType type;
} session_fields[] = {
  {"protocol", F_STR},
  {"state", F_STR},
  {"stream-id", F_UINT},
  {"rtt-ms", F_DOUBLE},
  {"rtt-variance-ms", F_DOUBLE},
  {"cwnd-bytes", F_U64},
  {"bytes-in-flight", F_U64},
  {"packets-sent", F_U64},
  {"packets-received", F_U64},
  {"bytes-sent", F_U64},
  {"bytes-received", F_U64},
  {"packets-retransmitted", F_U64},
  {"packets-lost", F_U64},
  {"messages-abandoned", F_U64},
  {"send-flows", F_UINT},
  {"receive-flows", F_UINT},
  {"flows", F_UINT},
};

/* per media kind: "<kind>-<suffix>", all guint64 */
static const gchar *const media_fields[] = {
  "messages-sent", "bytes-sent", "messages-abandoned", "messages-dropped",
  "messages-received", "bytes-received", "messages-lost", "sequence-gaps",
};

static guint64
media_value (const RtmfpTcMediaStats * m, guint i)
{
  switch (i) {
    case 0:
      return m->messages_sent;
    case 1:
      return m->bytes_sent;
    case 2:
      return m->messages_abandoned;
    case 3:
      return m->messages_dropped;
    case 4:
      return m->messages_received;
    case 5:
      return m->bytes_received;
    case 6:
      return m->gaps;
    default:
      return m->sequence_gaps;
  }
}

static GstStructure *
stats_to_structure (const RtmfpTcClientStats * st)
{
  GstStructure *s = gst_structure_new_empty (GST_RTMFP_STATS_NAME);
  const RtmfpSessionStats *ss = &st->session;
  guint i, k;

  for (i = 0; i < G_N_ELEMENTS (session_fields); i++) {
    const gchar *n = session_fields[i].name;
    GValue v = G_VALUE_INIT;

    switch (session_fields[i].type) {
      case F_STR:
        g_value_init (&v, G_TYPE_STRING);
        if (i == 0)
          g_value_set_string (&v, "rtmfp");
        else
          g_value_set_string (&v, rtmfp_tc_client_state_get_nick (st->state));
        break;
      case F_DOUBLE:
        g_value_init (&v, G_TYPE_DOUBLE);
        if (g_str_equal (n, "rtt-ms"))
          g_value_set_double (&v, ss->srtt_us > 0 ? ss->srtt_us / 1000.0 : 0);
        else
          g_value_set_double (&v, ss->rttvar_us > 0 ? ss->rttvar_us / 1000.0 :
              0);
        break;
      case F_UINT:
        g_value_init (&v, G_TYPE_UINT);
        if (g_str_equal (n, "stream-id"))
          g_value_set_uint (&v, st->stream_id);
        else if (g_str_equal (n, "send-flows"))
          g_value_set_uint (&v, st->n_send_flows);
        else if (g_str_equal (n, "receive-flows"))
          g_value_set_uint (&v, st->n_recv_flows);
        else
          g_value_set_uint (&v, st->n_send_flows + st->n_recv_flows);
        break;
      case F_U64:{
        guint64 x = 0;
        g_value_init (&v, G_TYPE_UINT64);
        if (g_str_equal (n, "cwnd-bytes"))
          x = ss->cwnd;
        else if (g_str_equal (n, "bytes-in-flight"))
          x = ss->bytes_in_flight;
        else if (g_str_equal (n, "packets-sent"))
          x = ss->packets_sent;
        else if (g_str_equal (n, "packets-received"))
          x = ss->packets_received;
        else if (g_str_equal (n, "bytes-sent"))
          x = ss->bytes_sent;
        else if (g_str_equal (n, "bytes-received"))
          x = ss->bytes_received;
        else if (g_str_equal (n, "packets-retransmitted"))
          x = ss->fragments_retransmitted;
        else if (g_str_equal (n, "packets-lost"))
          x = ss->fragments_lost;
        else if (g_str_equal (n, "messages-abandoned"))
          x = ss->messages_abandoned;
        g_value_set_uint64 (&v, x);
        break;
      }
    }
    gst_structure_take_value (s, n, &v);
  }
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++) {
    for (i = 0; i < G_N_ELEMENTS (media_fields); i++) {
      gchar *n = g_strdup_printf ("%s-%s", media_names[k], media_fields[i]);
      gst_structure_set (s, n, G_TYPE_UINT64, media_value (&st->media[k], i),
          NULL);
      g_free (n);
    }
  }
  return s;
}

/* net thread: the subscribers of a direct publisher */
static void
peers_to_array (RtmfpTcPeerPublisher * pp, GValue * array)
{
  RtmfpTcPeerInfo info;
  guint i;

  for (i = 0; rtmfp_tc_peer_publisher_get_peer (pp, i, &info); i++) {
    GValue v = G_VALUE_INIT;
    RtmfpSessionStats ss;
    gchar buf[RTMFP_ADDR_STRLEN], *id;
    const guint8 *fp = rtmfp_session_get_far_fingerprint (info.session);

    rtmfp_session_get_stats (info.session, &ss);
    id = fp ? rtmfp_fingerprint_to_hex (fp) : g_strdup ("");
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("peer",
            "peer-id", G_TYPE_STRING, id,
            "peer-address", G_TYPE_STRING,
            rtmfp_addr_to_string (rtmfp_session_get_far_address
                (info.session), buf),
            "playing", G_TYPE_BOOLEAN, info.playing,
            "rtt-ms", G_TYPE_DOUBLE, ss.srtt_us > 0 ? ss.srtt_us / 1000.0 : 0.0,
            "messages-sent", G_TYPE_UINT64, info.messages_sent,
            "bytes-sent", G_TYPE_UINT64, info.bytes_sent,
            "messages-dropped", G_TYPE_UINT64, info.messages_dropped,
            "packets-lost", G_TYPE_UINT64, ss.fragments_lost,
            "packets-retransmitted", G_TYPE_UINT64,
            ss.fragments_retransmitted, NULL));
    gst_value_array_append_and_take_value (array, &v);
    g_free (id);
  }
}

/* net thread */
static void
update_stats (GstRtmfpObject * obj, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  RtmfpTcClientStats st;
  GValue peers = G_VALUE_INIT;

  if (!obj->client || (!force && now - obj->stats_time < STATS_PERIOD_US))
    return;
  obj->stats_time = now;
  rtmfp_tc_client_get_stats (obj->client, &st);
  g_value_init (&peers, GST_TYPE_ARRAY);
  if (obj->peers)
    peers_to_array (obj->peers, &peers);
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
  RtmfpTcClientStats st;
  GValue peers = G_VALUE_INIT;
  GstStructure *s;

  g_value_init (&peers, GST_TYPE_ARRAY);
  g_mutex_lock (&obj->stats_lock);
  st = obj->stats;
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_copy (&obj->peers_stats, &peers);
  g_mutex_unlock (&obj->stats_lock);
  s = stats_to_structure (&st);
  /* direct publisher: one structure per subscriber (empty otherwise) */
  gst_structure_take_value (s, "peers", &peers);
  return s;
}

/* ------------------------------------------------------------------------ */
/* client callbacks (net thread) */

static void
item_free (GstRtmfpObjectItem * it)
{
  gst_buffer_unref (it->tag);
  g_free (it);
}

/* Element message about a direct (peer-to-peer) session: peer-id,
 * address, rtt-ms (net thread) */
static void
post_peer_message (GstRtmfpObject * obj, const gchar * name,
    RtmfpSession * s)
{
  gchar buf[RTMFP_ADDR_STRLEN], *peer_id;
  RtmfpSessionStats st;
  const guint8 *fp;

  if (!s)
    return;
  fp = rtmfp_session_get_far_fingerprint (s);
  peer_id = fp ? rtmfp_fingerprint_to_hex (fp) : g_strdup ("");
  rtmfp_session_get_stats (s, &st);
  GST_INFO_OBJECT (obj->element, "%s: peer %s at %s", name, peer_id,
      rtmfp_addr_to_string (rtmfp_session_get_far_address (s), buf));
  post_structure (obj, gst_structure_new (name, "peer-id", G_TYPE_STRING,
          peer_id, "address", G_TYPE_STRING,
          rtmfp_addr_to_string (rtmfp_session_get_far_address (s), buf),
          "rtt-ms", G_TYPE_DOUBLE, st.srtt_us < 0 ? -1.0 :
          st.srtt_us / 1000.0, NULL));
  g_free (peer_id);
}

static void
on_peer_playing (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  post_peer_message (ud, "rtmfp-peer-connected", s);
}

static void
on_peer_left (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  post_peer_message (ud, "rtmfp-peer-disconnected", s);
}

static const RtmfpTcPeerPublisherCallbacks peer_callbacks = {
  on_peer_playing, on_peer_left
};

static void on_streaming (GstRtmfpObject * obj, RtmfpTcClient * c);

static void
on_state (RtmfpTcClient * c, RtmfpTcClientState state, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  if (c != obj->client)
    return;                     /* a client being replaced */
  GST_DEBUG_OBJECT (obj->element, "client state %s",
      rtmfp_tc_client_state_get_nick (state));
  g_mutex_lock (&obj->lock);
  obj->state = state;
  if (state == RTMFP_TC_CLIENT_STATE_STREAMING)
    obj->streaming = TRUE;
  if (state == RTMFP_TC_CLIENT_STATE_CLOSED)
    obj->closed = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  update_stats (obj, TRUE);
  if (state == RTMFP_TC_CLIENT_STATE_STREAMING && obj->play_direct)
    post_peer_message (obj, "rtmfp-direct-session",
        rtmfp_tc_client_get_session (c));
  if (state == RTMFP_TC_CLIENT_STATE_STREAMING) {
    GST_INFO_OBJECT (obj->element, "%s stream %s",
        obj->publisher ? "publishing" : "playing", obj->uri.stream);
    on_streaming (obj, c);
  }
}

static gboolean try_reconnect (GstRtmfpObject * obj, RtmfpTcClient * c,
    const GError * err);

static void
on_error (RtmfpTcClient * c, const GError * err, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  if (c != obj->client)
    return;
  if (try_reconnect (obj, c, err))
    return;
  if (obj->lost_at >= 0 && !(err->domain == RTMFP_TC_CLIENT_ERROR &&
          (err->code == RTMFP_TC_CLIENT_ERROR_REJECTED ||
              err->code == RTMFP_TC_CLIENT_ERROR_FINGERPRINT))) {
    /* auto-reconnect ran out of time (a refusal is told as such) */
    GError *e = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "Connection lost (%s); %u reconnection attempts in %u s failed, "
        "the last one: %s", obj->lost_reason, obj->attempt,
        (guint) (obj->run_timeout_us / G_TIME_SPAN_SECOND), err->message);
    post_error (obj, e);
    g_error_free (e);
    return;
  }
  post_error (obj, err);
}

/* The stream ends in `grace` (media still in flight, or a republish,
 * may come first).  unpublish: only UnpublishNotify says so, and a
 * PublishNotify may take it back; anything else ends it for good, as
 * soon as the shorter grace allows */
static void
set_eos (GstRtmfpObject * obj, const gchar * why, gint64 grace,
    gboolean unpublish)
{
  gint64 at = g_get_monotonic_time () + grace;

  g_mutex_lock (&obj->lock);
  if (obj->eos_at < 0) {
    GST_INFO_OBJECT (obj->element, "end of stream in %" G_GINT64_FORMAT
        " ms (%s)", grace / 1000, why);
    obj->eos_at = at;
    obj->unpublished = unpublish;
  } else if (!unpublish && obj->unpublished) {
    GST_INFO_OBJECT (obj->element, "end of stream (%s)", why);
    obj->eos_at = MIN (obj->eos_at, at);
    obj->unpublished = FALSE;
  }
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

/* PublishNotify after UnpublishNotify: the stream goes on (a publisher
 * replaced the one that left), from its next keyframe, after a DISCONT
 * (net thread) */
static void
republished (GstRtmfpObject * obj)
{
  g_mutex_lock (&obj->lock);
  if (obj->eos_at >= 0 && obj->unpublished) {
    GST_INFO_OBJECT (obj->element, "published again: the stream goes on");
    obj->eos_at = -1;
    obj->unpublished = FALSE;
    obj->pending_discont = TRUE;
    obj->need_keyframe = TRUE;
  }
  g_mutex_unlock (&obj->lock);
}

static void
on_status (RtmfpTcClient * c, const gchar * level, const gchar * code,
    const gchar * desc, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  if (c != obj->client)
    return;
  GST_INFO_OBJECT (obj->element, "status %s %s: %s", level, code, desc);
  post_structure (obj, gst_structure_new ("rtmfp-status", "level",
          G_TYPE_STRING, level, "code", G_TYPE_STRING, code, "description",
          G_TYPE_STRING, desc, NULL));
  /* The player ends when the publisher goes away for good (and after
   * Play.Stop, which only answers our own closeStream) */
  if (obj->publisher)
    return;
  if (g_str_equal (code, RTMFP_TC_PLAY_UNPUBLISHNOTIFY))
    set_eos (obj, code, UNPUBLISH_GRACE_US, TRUE);
  else if (g_str_equal (code, RTMFP_TC_PLAY_STOP))
    set_eos (obj, code, EOS_GRACE_US, FALSE);
  else if (g_str_equal (code, RTMFP_TC_PLAY_PUBLISHNOTIFY))
    republished (obj);
}

static void
on_stream_event (RtmfpTcClient * c, guint16 event, gpointer ud)
{
  GstRtmfpObject *obj = ud;

  if (c != obj->client)
    return;
  GST_DEBUG_OBJECT (obj->element, "stream event %u", event);
  if (!obj->publisher && event == RTMFP_TC_EVENT_STREAM_EOF)
    set_eos (obj, "StreamEOF", EOS_GRACE_US, FALSE);
}

/* Removes one queued item; what follows it is marked DISCONT (lock held) */
static void
drop_item (GstRtmfpObject * obj, GList * l)
{
  GstRtmfpObjectItem *it = l->data;
  GList *next = l->next;

  obj->items_bytes -= gst_buffer_get_size (it->tag);
  g_queue_delete_link (&obj->items, l);
  item_free (it);
  if (next)
    ((GstRtmfpObjectItem *) next->data)->discont = TRUE;
  else
    obj->pending_discont = TRUE;
}

/* Makes room for an item of `size` bytes: the limits are hard.  The oldest
 * audio or non-key video goes first; when none is queued (data-only or
 * all-intra streams, a paused source), the oldest item of any type
 * (lock held) */
static void
make_room (GstRtmfpObject * obj, gsize size)
{
  while (obj->items.head && (g_queue_get_length (&obj->items) >= MAX_ITEMS ||
          obj->items_bytes + size > MAX_ITEM_BYTES)) {
    GList *l, *victim = obj->items.head;

    for (l = obj->items.head; l; l = l->next) {
      GstRtmfpObjectItem *it = l->data;
      if (it->type == RTMFP_TC_MSG_AUDIO || (it->type == RTMFP_TC_MSG_VIDEO &&
              !GST_BUFFER_FLAG_IS_SET (it->tag, GST_BUFFER_FLAG_HEADER))) {
        victim = l;
        break;
      }
    }
    GST_LOG_OBJECT (obj->element, "receive queue full: item dropped");
    drop_item (obj, victim);
  }
}

static void
on_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  GstRtmfpObject *obj = ud;
  GstRtmfpObjectItem *it;
  GstBuffer *buf;
  GstMapInfo map;
  gboolean key = FALSE, header = FALSE;
  guint32 ts;

  if (c != obj->client)
    return;
  GST_LOG_OBJECT (obj->element, "message type %u ts %u len %" G_GSIZE_FORMAT
      " gap %" G_GUINT64_FORMAT, msg->type, msg->timestamp, msg->len, gap);
  if (msg->len > RTMFP_FLV_MAX_DATA_SIZE)
    return;
  if (msg->type == RTMFP_TC_MSG_VIDEO) {
    header = rtmfp_flv_video_is_sequence_header (msg->payload, msg->len);
    key = rtmfp_flv_video_is_keyframe (msg->payload, msg->len);
    if (obj->need_keyframe && !key) {
      /* decoders cannot use frames before the first keyframe */
      GST_LOG_OBJECT (obj->element, "video before a keyframe dropped");
      g_mutex_lock (&obj->lock);
      obj->pending_discont = TRUE;
      g_mutex_unlock (&obj->lock);
      return;
    }
    /* a sequence header (frame type "key", no picture: the server sends
     * its cached one first) goes through but is not the keyframe */
    if (!header)
      obj->need_keyframe = FALSE;
  }

  /* Sequence headers and metadata that the server repeats from its cache
   * (a new publisher, or our own new session) carry the timestamp they
   * were first sent with, maybe long ago: they go out at the current
   * time, since a demuxer takes a timestamp going back for a jump and
   * would shift everything after it */
  ts = msg->timestamp;
  if (msg->type == RTMFP_TC_MSG_AUDIO && !header)
    header = rtmfp_flv_audio_is_sequence_header (msg->payload, msg->len);
  if ((header || (msg->type != RTMFP_TC_MSG_AUDIO &&
              msg->type != RTMFP_TC_MSG_VIDEO)) && obj->have_last_ts &&
      (gint32) (ts - obj->last_ts) < 0)
    ts = obj->last_ts;
  if (msg->type == RTMFP_TC_MSG_AUDIO || msg->type == RTMFP_TC_MSG_VIDEO) {
    if (!obj->have_last_ts || (gint32) (ts - obj->last_ts) > 0)
      obj->last_ts = ts;
    obj->have_last_ts = TRUE;
  }

  buf = gst_buffer_new_allocate (NULL, RTMFP_FLV_TAG_HEADER_SIZE + msg->len +
      RTMFP_FLV_TAG_TRAILER_SIZE, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  rtmfp_flv_tag_write (map.data, map.size, msg->type, ts,
      msg->payload, msg->len);
  gst_buffer_unmap (buf, &map);
  if (key || (msg->type == RTMFP_TC_MSG_AUDIO &&
          rtmfp_flv_audio_is_sequence_header (msg->payload, msg->len)))
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);  /* never dropped */
  else
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (msg->type == RTMFP_TC_MSG_VIDEO && key)
    GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_DELTA_UNIT);

  it = g_new0 (GstRtmfpObjectItem, 1);
  it->tag = buf;
  it->type = msg->type;
  it->timestamp = ts;

  g_mutex_lock (&obj->lock);
  it->discont = gap > 0 || obj->pending_discont;
  obj->pending_discont = FALSE;
  if (gst_buffer_get_size (buf) > MAX_ITEM_BYTES) {
    /* larger than the whole queue may hold */
    obj->pending_discont = TRUE;
    g_mutex_unlock (&obj->lock);
    item_free (it);
    return;
  }
  make_room (obj, gst_buffer_get_size (buf));
  g_queue_push_tail (&obj->items, it);
  obj->items_bytes += gst_buffer_get_size (buf);
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  update_stats (obj, FALSE);
}

static void
on_writable (RtmfpTcClient * c, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  gsize pending;

  if (c != obj->client)
    return;
  pending = rtmfp_tc_client_get_pending_bytes (c);
  g_mutex_lock (&obj->lock);
  obj->client_pending = pending;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

/* AUTO fell back to Flash Player's certificate: a new peer ID */
static void
on_identity_changed (RtmfpTcClient * c, RtmfpIdentity * id, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  gchar *peer_id = rtmfp_identity_get_peer_id (id);

  GST_INFO_OBJECT (obj->element, "handshake: Flash Player's certificate "
      "(DH group 2), peer ID now %s", peer_id);
  g_mutex_lock (&obj->lock);
  g_free (obj->local_peer_id);
  obj->local_peer_id = peer_id;
  g_mutex_unlock (&obj->lock);
}

static const RtmfpTcClientCallbacks client_callbacks = {
  .state_changed = on_state,
  .error = on_error,
  .status = on_status,
  .message = on_message,
  .stream_event = on_stream_event,
  .writable = on_writable,
  .identity_changed = on_identity_changed,
};

static gint64
net_clock (gpointer data)
{
  return g_get_monotonic_time ();
}

/* ------------------------------------------------------------------------ */
/* the endpoint's callbacks go to the client of the moment (net thread) */

#define TC_EP (rtmfp_tc_client_get_endpoint_callbacks ())

static void
ep_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->session_opened)
    TC_EP->session_opened (ep, s, obj->client);
}

static void
ep_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->session_open_failed)
    TC_EP->session_open_failed (ep, s, obj->client);
}

static void
ep_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->session_closed)
    TC_EP->session_closed (ep, s, obj->client);
}

static void
ep_session_address_changed (RtmfpEndpoint * ep, RtmfpSession * s,
    gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->session_address_changed)
    TC_EP->session_address_changed (ep, s, obj->client);
}

static gboolean
ep_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->flow_opened)
    return TC_EP->flow_opened (ep, s, f, assoc, obj->client);
  return FALSE;
}

static void
ep_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->send_flow_exception)
    TC_EP->send_flow_exception (ep, s, f, code, obj->client);
}

static void
ep_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->send_flow_writable)
    TC_EP->send_flow_writable (ep, s, f, obj->client);
}

static void
ep_ihello_other (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->ihello_other)
    TC_EP->ihello_other (ep, epd, epd_len, tag, tag_len, from, obj->client);
}

static gboolean
ep_accept_session (RtmfpEndpoint * ep, const guint8 * far_cert,
    gsize far_cert_len, const RtmfpAddr * from, gpointer ud)
{
  GstRtmfpObject *obj = ud;
  if (obj->client && TC_EP->accept_session)
    return TC_EP->accept_session (ep, far_cert, far_cert_len, from,
        obj->client);
  return TRUE;
}

static const RtmfpEndpointCallbacks endpoint_callbacks = {
  .session_opened = ep_session_opened,
  .session_open_failed = ep_session_open_failed,
  .session_closed = ep_session_closed,
  .session_address_changed = ep_session_address_changed,
  .flow_opened = ep_flow_opened,
  .send_flow_exception = ep_send_flow_exception,
  .send_flow_writable = ep_send_flow_writable,
  .ihello_other = ep_ihello_other,
  .accept_session = ep_accept_session,
};

/* ------------------------------------------------------------------------ */
/* auto-reconnect (net thread) */

/* Silence taken as a dead session: DEAD_PEER_US, but leaving at least
 * 2 s of the timeout to reconnect in */
static gint64
dead_peer_us (GstRtmfpObject * obj)
{
  return CLAMP (obj->run_timeout_us - 2 * G_TIME_SPAN_SECOND,
      DEAD_PEER_MIN_US, DEAD_PEER_US);
}

/* Publisher: the sequence headers and metadata of the stream go to a new
 * session first (the server forgot them with the old publisher) */
static void
do_replay (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;
  static const RtmfpTcMediaKind order[] = { RTMFP_TC_MEDIA_DATA,
    RTMFP_TC_MEDIA_VIDEO, RTMFP_TC_MEDIA_AUDIO
  };
  guint i;

  if (!obj->client || obj->peers ||
      rtmfp_tc_client_get_state (obj->client) !=
      RTMFP_TC_CLIENT_STATE_STREAMING)
    return;
  for (i = 0; i < G_N_ELEMENTS (order); i++) {
    GBytes *b = obj->reliable[order[i]];
    gsize len;
    const guint8 *p;

    if (!b)
      continue;
    p = g_bytes_get_data (b, &len);
    /* at the current time: a timestamp going back would look like a jump
     * to demuxers */
    rtmfp_tc_client_send (obj->client, obj->reliable_type[order[i]],
        obj->last_ts, p, len, RTMFP_TC_CLIENT_SEND_RELIABLE,
        rtmfp_net_now (net));
  }
}

static void
on_streaming (GstRtmfpObject * obj, RtmfpTcClient * c)
{
  RtmfpSession *s = rtmfp_tc_client_get_session (c);
  gint64 now = g_get_monotonic_time ();

  obj->ever_streamed = TRUE;
  if (obj->run_reconnect && s) {
    /* dead peer detection (3.5.4.1); the watch pings during silences */
    rtmfp_session_set_idle_timeout (s, dead_peer_us (obj));
    obj->watch_rx = 0;
    obj->watch_rx_time = now;
  }
  if (obj->lost_at < 0)
    return;

  GST_INFO_OBJECT (obj->element, "reconnected after %" G_GINT64_FORMAT
      " ms (%u attempts)", (now - obj->lost_at) / 1000, obj->attempt);
  post_structure (obj, gst_structure_new ("rtmfp-reconnected",
          "attempt", G_TYPE_UINT, obj->attempt,
          "downtime-ms", G_TYPE_UINT64, (guint64) (now - obj->lost_at) / 1000,
          NULL));
  obj->lost_at = -1;
  obj->attempt = 0;
  if (!obj->publisher) {
    /* An UnpublishNotify that came with the loss (a server shutting down
     * tells its players the publisher left) is void: this new session
     * plays the stream as the server has it now (PublishNotify comes
     * only if the publisher arrives after us) */
    g_mutex_lock (&obj->lock);
    if (obj->eos_at >= 0 && obj->unpublished) {
      GST_INFO_OBJECT (obj->element, "playing again: the pending end of "
          "stream is cancelled");
      obj->eos_at = -1;
      obj->unpublished = FALSE;
      g_cond_broadcast (&obj->cond);
    }
    g_mutex_unlock (&obj->lock);
  }
  if (obj->publisher && !obj->peers) {
    Post *p = g_new0 (Post, 1);

    rtmfp_net_invoke (obj->net, do_replay, obj, NULL);
    p->key_unit = TRUE;
    queue_post (obj, p);
  }
}

static void do_reconnect (RtmfpNet * net, gpointer data);

static gboolean
reconnect_due (gpointer data)
{
  GstRtmfpObject *obj = data;

  /* via invoke: the endpoint's timer is re-armed after the IHello */
  rtmfp_net_invoke (obj->net, do_reconnect, obj, NULL);
  return G_SOURCE_REMOVE;
}

static void
cancel_reconnect (GstRtmfpObject * obj)
{
  if (obj->reconnect_source) {
    g_source_destroy (obj->reconnect_source);
    g_source_unref (obj->reconnect_source);
    obj->reconnect_source = NULL;
  }
}

/* The client c (the current one) failed with err: schedules a new
 * connection if auto-reconnect applies and time is left.  FALSE: the
 * error is final. */
static gboolean
try_reconnect (GstRtmfpObject * obj, RtmfpTcClient * c, const GError * err)
{
  gint64 now = g_get_monotonic_time (), delay;

  if (!obj->run_reconnect || !obj->ever_streamed || obj->closing ||
      err->domain != RTMFP_TC_CLIENT_ERROR)
    return FALSE;
  switch (err->code) {
    case RTMFP_TC_CLIENT_ERROR_REJECTED:
    case RTMFP_TC_CLIENT_ERROR_FINGERPRINT:
      return FALSE;             /* asking again changes nothing */
    case RTMFP_TC_CLIENT_ERROR_STREAM:
      /* refused while streaming (e.g. the name was taken over) is final;
       * while reconnecting, the server may still hold our old session */
      if (obj->lost_at < 0)
        return FALSE;
      break;
    default:
      break;
  }

  if (obj->lost_at < 0) {
    RtmfpSession *s = rtmfp_tc_client_get_session (c);
    const GError *se = s ? rtmfp_session_get_error (s) : NULL;

    /* lost since the last packet from the far end: the idle timeout
     * fired dead_peer_us after it */
    obj->lost_at = se && g_error_matches (se, RTMFP_SESSION_ERROR,
        RTMFP_SESSION_ERROR_IDLE) ? now - dead_peer_us (obj) : now;
    obj->attempt = 0;
    g_free (obj->lost_reason);
    obj->lost_reason = g_strdup (err->message);
    obj->lost_srtt_us = -1;
    if (s) {
      RtmfpSessionStats st;
      rtmfp_session_get_stats (s, &st);
      obj->lost_srtt_us = st.srtt_us;
    }
    GST_WARNING_OBJECT (obj->element, "connection lost (%s), reconnecting",
        err->message);
    /* player: what comes next follows a gap, from a keyframe */
    obj->need_keyframe = TRUE;
    g_mutex_lock (&obj->lock);
    obj->pending_discont = TRUE;
    g_mutex_unlock (&obj->lock);
  }
  if (now >= obj->lost_at + obj->run_timeout_us)
    return FALSE;

  delay = obj->attempt == 0 ? 0 :
      MIN (RECONNECT_FIRST_DELAY_US << MIN (obj->attempt - 1, 8),
      RECONNECT_MAX_DELAY_US);
  obj->attempt++;
  GST_INFO_OBJECT (obj->element, "reconnection attempt %u in %"
      G_GINT64_FORMAT " ms", obj->attempt, delay / 1000);
  post_structure (obj, gst_structure_new ("rtmfp-reconnecting",
          "attempt", G_TYPE_UINT, obj->attempt,
          "reason", G_TYPE_STRING, obj->attempt == 1 ? obj->lost_reason :
          err->message, NULL));
  cancel_reconnect (obj);
  obj->reconnect_source = g_timeout_source_new (delay / 1000);
  g_source_set_callback (obj->reconnect_source, reconnect_due, obj, NULL);
  g_source_attach (obj->reconnect_source, rtmfp_net_get_context (obj->net));
  return TRUE;
}

/* A fresh session: handshake, connect, createStream, publish / play, on
 * the same socket (the endpoint keeps its identity) */
static void
do_reconnect (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;
  RtmfpTcClient *old = obj->client;
  gint64 now = rtmfp_net_now (net);
  gint64 left = obj->lost_at + obj->run_timeout_us - now;

  cancel_reconnect (obj);
  if (obj->closing || obj->lost_at < 0 || !obj->addrs)
    return;
  GST_DEBUG_OBJECT (obj->element, "reconnection attempt %u (%"
      G_GINT64_FORMAT " ms left)", obj->attempt, left / 1000);
  obj->client = NULL;           /* its callbacks are ignored from here */
  if (old) {
    rtmfp_tc_client_abort (old, now);
    rtmfp_tc_client_free (old);
  }
  obj->ccfg.timeout_us = CLAMP (MAX (10 * obj->lost_srtt_us,
          RECONNECT_ATTEMPT_MIN_US), 100 * G_TIME_SPAN_MILLISECOND,
      MAX (left, 100 * G_TIME_SPAN_MILLISECOND));
  obj->client = rtmfp_tc_client_new (&obj->ccfg, &client_callbacks, obj,
      net_clock, NULL);
  if (obj->peers)
    rtmfp_tc_peer_publisher_set_client (obj->peers, obj->client);
  g_mutex_lock (&obj->lock);
  obj->client_pending = 0;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
  rtmfp_tc_client_start (obj->client, rtmfp_net_get_endpoint (net),
      (const RtmfpAddr *) obj->addrs->data, obj->addrs->len, now);
}

/* Every WATCH_PERIOD_MS while streaming: pings through silences */
static void
do_watch (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;
  RtmfpSessionStats st;
  RtmfpSession *s;
  gint64 now = rtmfp_net_now (net);

  if (!obj->client || obj->lost_at >= 0 || obj->closing ||
      rtmfp_tc_client_get_state (obj->client) !=
      RTMFP_TC_CLIENT_STATE_STREAMING)
    return;
  s = rtmfp_tc_client_get_session (obj->client);
  if (!s || rtmfp_session_get_state (s) != RTMFP_SESSION_OPEN)
    return;
  rtmfp_session_get_stats (s, &st);
  if (st.packets_received != obj->watch_rx) {
    obj->watch_rx = st.packets_received;
    obj->watch_rx_time = now;
    return;
  }
  if (now - obj->watch_rx_time >= SILENCE_PING_US) {
    GST_LOG_OBJECT (obj->element, "silent for %" G_GINT64_FORMAT " ms: ping",
        (now - obj->watch_rx_time) / 1000);
    rtmfp_session_ping (s, now);
  }
}

static gboolean
watch_due (gpointer data)
{
  GstRtmfpObject *obj = data;

  rtmfp_net_invoke (obj->net, do_watch, obj, NULL);
  return G_SOURCE_CONTINUE;
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
  GError *err = NULL;
  gint64 now = rtmfp_net_now (net);

  rd->ok = rtmfp_net_rebind (net, &err);
  if (!rd->ok) {
    GST_WARNING_OBJECT (rd->obj->element, "rebind failed: %s", err->message);
    g_error_free (err);
    return;
  }
  rd->port = rtmfp_net_get_local_port (net);
  /* tell the far end at once (a Ping from the new address: it validates
   * and moves the session, 3.5.4.2) rather than at the next packet */
  if (rd->obj->client && rtmfp_tc_client_get_session (rd->obj->client))
    rtmfp_session_ping (rtmfp_tc_client_get_session (rd->obj->client), now);
}

gboolean
gst_rtmfp_object_rebind (GstRtmfpObject * obj)
{
  RebindData rd = { obj, FALSE, 0 };

  g_mutex_lock (&obj->lock);
  if (!obj->started || obj->stopping) {
    g_mutex_unlock (&obj->lock);
    GST_WARNING_OBJECT (obj->element, "rebind: not started");
    return FALSE;
  }
  g_mutex_unlock (&obj->lock);
  /* from the application thread; start/stop run on the state change
   * thread, which an application does not race with its own signal */
  rtmfp_net_invoke_sync (obj->net, do_rebind, &rd);
  if (rd.ok)
    GST_INFO_OBJECT (obj->element, "rebound to local UDP port %u", rd.port);
  return rd.ok;
}

/* ------------------------------------------------------------------------ */
/* the client's timer on the net thread's context */

typedef struct
{
  GSource source;
  GstRtmfpObject *obj;
} ClientSource;

static void
client_timeout_invoked (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  obj->timeout_queued = FALSE;
  rtmfp_tc_client_handle_timeout (obj->client, rtmfp_net_now (net));
  update_stats (obj, FALSE);
}

static gboolean
client_source_prepare (GSource * source, gint * timeout)
{
  GstRtmfpObject *obj = ((ClientSource *) source)->obj;
  gint64 t, now;

  *timeout = -1;
  if (obj->timeout_queued)
    return FALSE;
  t = rtmfp_tc_client_next_timeout (obj->client);
  if (t < 0)
    return FALSE;
  now = g_get_monotonic_time ();
  if (t <= now)
    return TRUE;
  *timeout = (gint) MIN ((t - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
client_source_check (GSource * source)
{
  GstRtmfpObject *obj = ((ClientSource *) source)->obj;
  gint64 t;

  if (obj->timeout_queued)
    return FALSE;
  t = rtmfp_tc_client_next_timeout (obj->client);
  return t >= 0 && t <= g_get_monotonic_time ();
}

static gboolean
client_source_dispatch (GSource * source, GSourceFunc cb, gpointer data)
{
  GstRtmfpObject *obj = ((ClientSource *) source)->obj;

  /* through rtmfp_net_invoke, so the endpoint's timer is re-armed after
   * whatever the client does to the session */
  obj->timeout_queued = TRUE;
  rtmfp_net_invoke (obj->net, client_timeout_invoked, obj, NULL);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs client_source_funcs = {
  client_source_prepare, client_source_check, client_source_dispatch,
  NULL, NULL, NULL
};

/* ------------------------------------------------------------------------ */
/* connecting (net thread) */

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
do_client_start (RtmfpNet * net, gpointer data)
{
  StartData *sd = data;
  GstRtmfpObject *obj = sd->obj;

  if (sd->addrs->len == 0) {
    GError *err = g_error_new (G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
        "No usable address for %s", obj->uri.host);
    post_error (obj, err);
    g_error_free (err);
    return;
  }
  GST_DEBUG_OBJECT (obj->element, "connecting to %s (%u candidates)",
      obj->uri.tc_url, sd->addrs->len);
  /* kept for reconnecting */
  if (obj->addrs)
    g_array_unref (obj->addrs);
  obj->addrs = g_array_ref (sd->addrs);
  rtmfp_tc_client_start (obj->client, rtmfp_net_get_endpoint (net),
      (const RtmfpAddr *) sd->addrs->data, sd->addrs->len,
      rtmfp_net_now (net));
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
      post_error (obj, err);
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
    add_inet_address (sd->addrs, l->data, obj->uri.port);
  g_resolver_free_addresses (list);
  /* via invoke: the endpoint's timer is re-armed after the IHello */
  rtmfp_net_invoke (obj->net, do_client_start, sd, start_data_free);
}

static void
do_connect (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;
  GInetAddress *ia = g_inet_address_new_from_string (obj->uri.host);

  if (ia) {
    StartData sd;
    sd.obj = obj;
    sd.addrs = g_array_new (FALSE, TRUE, sizeof (RtmfpAddr));
    add_inet_address (sd.addrs, ia, obj->uri.port);
    g_object_unref (ia);
    do_client_start (net, &sd);
    g_array_unref (sd.addrs);
  } else {
    /* the answer comes back on this thread (its default context) */
    GResolver *r = g_resolver_get_default ();
    obj->resolving = TRUE;
    g_resolver_lookup_by_name_async (r, obj->uri.host, obj->cancellable,
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
  obj->location = g_strdup (GST_RTMFP_DEFAULT_LOCATION);
  obj->timeout = GST_RTMFP_DEFAULT_TIMEOUT;
  obj->audio_lifetime = GST_RTMFP_DEFAULT_AUDIO_LIFETIME;
  obj->video_lifetime = GST_RTMFP_DEFAULT_VIDEO_LIFETIME;
  obj->eos_at = -1;
  obj->lost_at = -1;
  obj->auto_reconnect = GST_RTMFP_DEFAULT_AUTO_RECONNECT;
  g_queue_init (&obj->items);
  g_queue_init (&obj->posts);
  g_object_set_qdata (G_OBJECT (element), object_quark, obj);
  return obj;
}

void
gst_rtmfp_object_destroy (GstRtmfpObject * obj)
{
  if (!obj)
    return;
  gst_rtmfp_object_stop (obj);
  g_queue_clear_full (&obj->items, (GDestroyNotify) item_free);
  g_queue_clear_full (&obj->posts, (GDestroyNotify) post_free);
  g_free (obj->location);
  g_free (obj->play_peer_id);
  g_free (obj->server_fingerprint);
  g_free (obj->auth_token);
  g_free (obj->local_peer_id);
  g_mutex_clear (&obj->lock);
  g_cond_clear (&obj->cond);
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_unset (&obj->peers_stats);
  g_mutex_clear (&obj->stats_lock);
  g_free (obj);
}

/* setPeerInfo (RFC 7425 5.3.3, 5.4): our interface addresses with the
 * port of our socket, neither loopback nor link-local.  The server adds
 * the address it observes (behind a NAT, the translated one). */
static gchar **
local_peer_info (guint16 port)
{
  GPtrArray *out = g_ptr_array_new ();
  struct ifaddrs *ifs = NULL, *i;

  if (getifaddrs (&ifs) == 0) {
    for (i = ifs; i && out->len < 8; i = i->ifa_next) {
      GInetAddress *ia;
      gsize len;
      gchar *str;

      if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
              i->ifa_addr->sa_family != AF_INET6))
        continue;
      len = i->ifa_addr->sa_family == AF_INET ? sizeof (struct sockaddr_in)
          : sizeof (struct sockaddr_in6);
      {
        GSocketAddress *sa = g_socket_address_new_from_native (i->ifa_addr,
            len);
        if (!sa)
          continue;
        ia = g_object_ref (g_inet_socket_address_get_address
            (G_INET_SOCKET_ADDRESS (sa)));
        g_object_unref (sa);
      }
      if (g_inet_address_get_is_loopback (ia) ||
          g_inet_address_get_is_link_local (ia) ||
          g_inet_address_get_is_any (ia)) {
        g_object_unref (ia);
        continue;
      }
      str = g_inet_address_to_string (ia);
      if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6)
        g_ptr_array_add (out, g_strdup_printf ("[%s]:%u", str, port));
      else
        g_ptr_array_add (out, g_strdup_printf ("%s:%u", str, port));
      g_free (str);
      g_object_unref (ia);
    }
    freeifaddrs (ifs);
  }
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}

void
gst_rtmfp_object_set_direct (GstRtmfpObject * obj, gboolean direct)
{
  g_mutex_lock (&obj->lock);
  obj->direct = direct;
  g_mutex_unlock (&obj->lock);
}

gboolean
gst_rtmfp_object_start (GstRtmfpObject * obj)
{
  RtmfpEndpointConfig ecfg;
  RtmfpTcClientConfig ccfg;
  RtmfpIdentity *id;
  GError *err = NULL;
  gchar *location, *play_peer, *server_fp_hex, *auth_token,
      **peer_info = NULL;
  gboolean pinned = FALSE;
  guint timeout, alife, vlife;
  RtmfpHandshakeMode handshake;
  RtmfpTcAuthMode auth_mode;
  gboolean direct, reconnect;
  RtmfpUri uri;

  g_mutex_lock (&obj->lock);
  reconnect = obj->auto_reconnect;
  location = g_strdup (obj->location);
  play_peer = g_strdup (obj->play_peer_id);
  server_fp_hex = g_strdup (obj->server_fingerprint);
  auth_token = g_strdup (obj->auth_token);
  timeout = obj->timeout;
  alife = obj->audio_lifetime;
  vlife = obj->video_lifetime;
  direct = obj->publisher && obj->direct;
  handshake = obj->handshake;
  auth_mode = obj->auth_mode;
  g_mutex_unlock (&obj->lock);

  obj->play_direct = FALSE;
  if (!obj->publisher && play_peer && *play_peer) {
    if (!rtmfp_fingerprint_from_hex (play_peer, obj->peer_fp)) {
      GST_ELEMENT_ERROR (obj->element, RESOURCE, SETTINGS,
          (_("Invalid peer ID \"%s\"."), play_peer),
          ("a peer ID is 64 hexadecimal digits"));
      g_free (location);
      g_free (play_peer);
      return FALSE;
    }
    obj->play_direct = TRUE;
  }
  g_free (play_peer);
  if (server_fp_hex && *server_fp_hex) {
    if (!rtmfp_fingerprint_from_hex (server_fp_hex, obj->server_fp)) {
      GST_ELEMENT_ERROR (obj->element, RESOURCE, SETTINGS,
          (_("Invalid peer ID \"%s\"."), server_fp_hex),
          ("server-fingerprint: a peer ID is 64 hexadecimal digits"));
      g_free (server_fp_hex);
      g_free (auth_token);
      g_free (location);
      return FALSE;
    }
    pinned = TRUE;
  }
  g_free (server_fp_hex);

  if (!location || !rtmfp_uri_parse (location, TRUE, &uri, &err)) {
    GST_ELEMENT_ERROR (obj->element, RESOURCE, SETTINGS,
        (_("Invalid RTMFP location \"%s\"."), location ? location : ""),
        ("%s", err ? err->message : "no location"));
    g_clear_error (&err);
    g_free (location);
    g_free (auth_token);
    return FALSE;
  }
  g_free (location);
  if (!uri.host) {
    GST_ELEMENT_ERROR (obj->element, RESOURCE, SETTINGS,
        (_("Invalid RTMFP location \"%s\"."), "rtmfp:"),
        ("a server is needed (rtmfp://host/app/stream)"));
    rtmfp_uri_clear (&uri);
    g_free (auth_token);
    return FALSE;
  }

  /* RFC 7425 5.3: a new certificate (peer ID) for every connection, of
   * the shape the handshake property asks for */
  id = rtmfp_tc_client_new_identity (handshake);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = id;
  /* 5.4: a direct publisher answers the IHellos the server forwards */
  ecfg.accept_sessions = direct;
  ecfg.open_timeout_us = (gint64) MAX (timeout, 1) * G_TIME_SPAN_SECOND;

  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = direct ? RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH :
      obj->publisher ? RTMFP_TC_CLIENT_ROLE_PUBLISH :
      RTMFP_TC_CLIENT_ROLE_PLAY;
  if (obj->play_direct)
    ccfg.peer_fingerprint = obj->peer_fp;
  if (pinned)
    ccfg.server_fingerprint = obj->server_fp;
  ccfg.auth_token = auth_token;
  ccfg.handshake = handshake;
  ccfg.auth_mode = auth_mode;
  ccfg.tc_url = uri.tc_url;
  ccfg.app = uri.app;
  ccfg.stream = uri.stream;
  ccfg.timeout_us = (gint64) timeout * G_TIME_SPAN_SECOND;
  ccfg.audio_lifetime_us = (gint64) alife * G_TIME_SPAN_MILLISECOND;
  ccfg.video_lifetime_us = (gint64) vlife * G_TIME_SPAN_MILLISECOND;

  g_mutex_lock (&obj->lock);
  obj->run_id++;
  obj->uri = uri;
  obj->state = RTMFP_TC_CLIENT_STATE_IDLE;
  obj->streaming = obj->failed = obj->closed = FALSE;
  obj->error_posted = obj->stopping = FALSE;
  obj->eos_at = -1;
  obj->unpublished = FALSE;
  obj->in_transit = obj->client_pending = 0;
  obj->pending_discont = FALSE;
  obj->need_keyframe = TRUE;
  obj->have_last_ts = FALSE;
  g_queue_clear_full (&obj->items, (GDestroyNotify) item_free);
  obj->items_bytes = 0;
  g_free (obj->local_peer_id);
  obj->local_peer_id = rtmfp_identity_get_peer_id (id);
  g_mutex_unlock (&obj->lock);

  g_mutex_lock (&obj->stats_lock);
  memset (&obj->stats, 0, sizeof obj->stats);
  if (G_IS_VALUE (&obj->peers_stats))
    g_value_unset (&obj->peers_stats);
  g_mutex_unlock (&obj->stats_lock);

  if (direct) {
    /* the subscribers' sessions go to the peer publisher, the server's
     * session on to the client (set below, before the net thread runs) */
    obj->peers = rtmfp_tc_peer_publisher_new (uri.stream,
        ccfg.audio_lifetime_us, ccfg.video_lifetime_us, 0, &peer_callbacks,
        obj, net_clock, NULL);
    obj->net = rtmfp_net_new (&ecfg,
        rtmfp_tc_peer_publisher_get_endpoint_callbacks (), obj->peers, NULL,
        0, &err);
    if (obj->net) {
      peer_info = local_peer_info (rtmfp_net_get_local_port (obj->net));
      ccfg.peer_info = (const gchar * const *) peer_info;
    }
    obj->client = rtmfp_tc_client_new (&ccfg, &client_callbacks, obj,
        net_clock, NULL);
    rtmfp_tc_peer_publisher_set_client (obj->peers, obj->client);
  } else {
    obj->client = rtmfp_tc_client_new (&ccfg, &client_callbacks, obj,
        net_clock, NULL);
    /* through the object, to whichever client is current (reconnect) */
    obj->net = rtmfp_net_new (&ecfg, &endpoint_callbacks, obj, NULL, 0,
        &err);
  }
  rtmfp_identity_unref (id);
  /* kept for reconnecting: ccfg's strings live as long as the run */
  obj->ccfg = ccfg;
  obj->run_auth_token = auth_token;
  obj->run_peer_info = peer_info;
  obj->ccfg.auth_token = obj->run_auth_token;
  obj->ccfg.peer_info = (const gchar * const *) obj->run_peer_info;
  obj->run_reconnect = reconnect;
  obj->run_timeout_us = (gint64) timeout * G_TIME_SPAN_SECOND;
  obj->ever_streamed = obj->closing = FALSE;
  obj->lost_at = -1;
  obj->attempt = 0;
  if (!obj->net) {
    POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
        (_("Could not open a UDP socket.")), ("%s", err->message));
    g_clear_error (&err);
    rtmfp_tc_client_free (obj->client);
    obj->client = NULL;
    rtmfp_tc_peer_publisher_free (obj->peers);
    obj->peers = NULL;
    g_clear_pointer (&obj->run_auth_token, g_free);
    g_clear_pointer (&obj->run_peer_info, g_strfreev);
    g_mutex_lock (&obj->lock);
    rtmfp_uri_clear (&obj->uri);
    g_mutex_unlock (&obj->lock);
    return FALSE;
  }
  GST_DEBUG_OBJECT (obj->element, "local UDP port %u, peer ID %s",
      rtmfp_net_get_local_port (obj->net), obj->local_peer_id);

  obj->client_source = g_source_new (&client_source_funcs,
      sizeof (ClientSource));
  ((ClientSource *) obj->client_source)->obj = obj;
  g_source_set_name (obj->client_source, "rtmfp-client-timer");
  g_source_attach (obj->client_source, rtmfp_net_get_context (obj->net));
  if (reconnect) {
    obj->watch_source = g_timeout_source_new (WATCH_PERIOD_MS);
    g_source_set_callback (obj->watch_source, watch_due, obj, NULL);
    g_source_attach (obj->watch_source, rtmfp_net_get_context (obj->net));
  }
  obj->timeout_queued = FALSE;
  obj->resolving = FALSE;
  obj->stats_time = 0;
  obj->cancellable = g_cancellable_new ();
  obj->started = TRUE;

  rtmfp_net_start (obj->net);
  rtmfp_net_invoke (obj->net, do_connect, obj, NULL);
  return TRUE;
}

static void
do_abort (RtmfpNet * net, gpointer data)
{
  GstRtmfpObject *obj = data;

  /* subscribers are told (session close) rather than left to time out */
  if (obj->peers)
    rtmfp_tc_peer_publisher_close (obj->peers, rtmfp_net_now (net));
  rtmfp_tc_client_abort (obj->client, rtmfp_net_now (net));
  update_stats (obj, TRUE);
}

static gboolean
drain_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
gst_rtmfp_object_stop (GstRtmfpObject * obj)
{
  if (!obj->started)
    return;

  g_mutex_lock (&obj->lock);
  obj->stopping = TRUE;
  obj->flushing = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);

  g_cancellable_cancel (obj->cancellable);
  /* abrupt close of whatever is left (the orderly close is the sink's EOS) */
  rtmfp_net_invoke_sync (obj->net, do_abort, obj);
  rtmfp_net_stop (obj->net);

  /* a DNS answer still on its way lands on the (now idle) net context:
   * let it arrive so nothing is left referring to us */
  if (obj->resolving) {
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

  g_source_destroy (obj->client_source);
  g_source_unref (obj->client_source);
  obj->client_source = NULL;
  if (obj->watch_source) {
    g_source_destroy (obj->watch_source);
    g_source_unref (obj->watch_source);
    obj->watch_source = NULL;
  }
  cancel_reconnect (obj);
  update_stats (obj, TRUE);
  rtmfp_tc_client_free (obj->client);
  obj->client = NULL;
  rtmfp_net_free (obj->net);
  obj->net = NULL;
  rtmfp_tc_peer_publisher_free (obj->peers);
  obj->peers = NULL;
  g_clear_object (&obj->cancellable);
  g_clear_pointer (&obj->run_auth_token, g_free);
  g_clear_pointer (&obj->run_peer_info, g_strfreev);
  g_clear_pointer (&obj->addrs, g_array_unref);
  g_clear_pointer (&obj->lost_reason, g_free);
  {
    guint k;
    for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
      g_clear_pointer (&obj->reliable[k], g_bytes_unref);
  }

  g_mutex_lock (&obj->lock);
  rtmfp_uri_clear (&obj->uri);
  g_queue_clear_full (&obj->items, (GDestroyNotify) item_free);
  obj->items_bytes = 0;
  obj->flushing = FALSE;
  obj->started = FALSE;
  g_mutex_unlock (&obj->lock);
}

void
gst_rtmfp_object_unlock (GstRtmfpObject * obj)
{
  g_mutex_lock (&obj->lock);
  obj->flushing = TRUE;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

void
gst_rtmfp_object_unlock_stop (GstRtmfpObject * obj)
{
  g_mutex_lock (&obj->lock);
  obj->flushing = FALSE;
  g_mutex_unlock (&obj->lock);
}

/* ------------------------------------------------------------------------ */
/* streaming-thread API */

/* called with obj->lock */
static GstRtmfpObjectWaitResult
check_status (GstRtmfpObject * obj)
{
  if (obj->flushing)
    return GST_RTMFP_OBJECT_WAIT_FLUSHING;
  if (obj->failed)
    return GST_RTMFP_OBJECT_WAIT_ERROR;
  return GST_RTMFP_OBJECT_WAIT_OK;
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_wait_streaming (GstRtmfpObject * obj)
{
  GstRtmfpObjectWaitResult r;
  gint64 deadline;
  gboolean timed_out = FALSE;

  g_mutex_lock (&obj->lock);
  /* the client gives up after `timeout` itself; this only guards it */
  deadline = g_get_monotonic_time () + ((gint64) obj->timeout + 2) *
      G_TIME_SPAN_SECOND;
  while ((r = check_status (obj)) == GST_RTMFP_OBJECT_WAIT_OK &&
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
        obj->publisher ? "publishing" : "playing", obj->timeout);
    post_error_now (obj, err);
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
  gsize len;
  const guint8 *p = g_bytes_get_data (sd->payload, &len);
  gsize pending;

  if (!obj->have_last_ts || (gint32) (sd->timestamp - obj->last_ts) > 0)
    obj->last_ts = sd->timestamp;
  obj->have_last_ts = TRUE;
  if (sd->flags & RTMFP_TC_CLIENT_SEND_RELIABLE) {
    /* sequence headers and metadata: sent again after a reconnection */
    RtmfpTcMediaKind k = rtmfp_tc_media_kind_from_type (sd->type);

    if (obj->reliable[k])
      g_bytes_unref (obj->reliable[k]);
    obj->reliable[k] = g_bytes_ref (sd->payload);
    obj->reliable_type[k] = sd->type;
  }
  if (obj->peers) {
    if (!rtmfp_tc_peer_publisher_send (obj->peers, sd->type, sd->timestamp,
            p, len, sd->flags, rtmfp_net_now (net)))
      GST_LOG_OBJECT (obj->element, "message of type %u not sent", sd->type);
  } else if (!rtmfp_tc_client_send (obj->client, sd->type, sd->timestamp, p,
          len, sd->flags, rtmfp_net_now (net)))
    GST_LOG_OBJECT (obj->element, "message of type %u not sent", sd->type);
  pending = rtmfp_tc_client_get_pending_bytes (obj->client);
  g_mutex_lock (&obj->lock);
  obj->client_pending = pending;
  g_mutex_unlock (&obj->lock);
  update_stats (obj, FALSE);
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_send (GstRtmfpObject * obj, guint8 type, guint32 timestamp,
    GBytes * payload, guint flags)
{
  GstRtmfpObjectWaitResult r;
  SendData *sd;

  g_mutex_lock (&obj->lock);
  while ((r = check_status (obj)) == GST_RTMFP_OBJECT_WAIT_OK &&
      obj->in_transit + obj->client_pending > MAX_QUEUED_BYTES)
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

  obj->closing = TRUE;
  cancel_reconnect (obj);
  if (obj->peers)
    rtmfp_tc_peer_publisher_close (obj->peers, rtmfp_net_now (net));
  rtmfp_tc_client_close (obj->client, rtmfp_net_now (net));
  if (rtmfp_tc_client_get_state (obj->client) ==
      RTMFP_TC_CLIENT_STATE_FAILED) {
    /* reconnecting: nothing is left to close */
    g_mutex_lock (&obj->lock);
    obj->closed = TRUE;
    g_cond_broadcast (&obj->cond);
    g_mutex_unlock (&obj->lock);
  }
}

GstRtmfpObjectWaitResult
gst_rtmfp_object_close (GstRtmfpObject * obj)
{
  GstRtmfpObjectWaitResult r;
  gint64 deadline = g_get_monotonic_time () + CLOSE_WAIT_US;

  if (!obj->started)
    return GST_RTMFP_OBJECT_WAIT_OK;
  /* closeStream goes after everything render handed over (the net
   * thread runs invocations in order) */
  rtmfp_net_invoke (obj->net, do_close, obj, NULL);
  g_mutex_lock (&obj->lock);
  while ((r = check_status (obj)) == GST_RTMFP_OBJECT_WAIT_OK &&
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
gst_rtmfp_object_pop (GstRtmfpObject * obj, GstRtmfpObjectItem * item)
{
  GstRtmfpObjectWaitResult r;
  GstRtmfpObjectItem *it = NULL;

  g_mutex_lock (&obj->lock);
  for (;;) {
    r = check_status (obj);
    if (r != GST_RTMFP_OBJECT_WAIT_OK)
      break;
    it = g_queue_pop_head (&obj->items);
    if (it)
      break;
    if (obj->eos_at >= 0 || obj->closed) {
      gint64 now = g_get_monotonic_time ();
      if (obj->closed || now >= obj->eos_at) {
        r = GST_RTMFP_OBJECT_WAIT_EOS;
        break;
      }
      g_cond_wait_until (&obj->cond, &obj->lock, obj->eos_at);
    } else {
      g_cond_wait (&obj->cond, &obj->lock);
    }
  }
  if (it)
    obj->items_bytes -= gst_buffer_get_size (it->tag);
  g_mutex_unlock (&obj->lock);

  if (it) {
    *item = *it;
    g_free (it);
  }
  return r;
}

/* ------------------------------------------------------------------------ */
/* properties */

static gboolean
rebind_action (GstElement * element)
{
  GstRtmfpObject *obj = g_object_get_qdata (G_OBJECT (element),
      object_quark);

  return obj ? gst_rtmfp_object_rebind (obj) : FALSE;
}

/* ------------------------------------------------------------------------ */
/* trust and interop properties: handshake, auth-mode */

GType
gst_rtmfp_handshake_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {RTMFP_HANDSHAKE_AUTO, "RFC certificate; Flash Player's if the server "
          "shows it needs that", "auto"},
    {RTMFP_HANDSHAKE_RFC, "RFC 7425 certificate with static keys for DH "
          "groups 14, 5 and 2 (best common group)", "rfc"},
    {RTMFP_HANDSHAKE_FLASH, "Flash Player's certificate (DH group 2, "
          "1024 bits)", "flash"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpHandshake", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

GType
gst_rtmfp_auth_mode_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {RTMFP_TC_AUTH_PLAIN, "The token as given", "plain"},
    {RTMFP_TC_AUTH_HASHED, "The token hashed with the session's nonce "
          "(not replayable)", "hashed"},
    {RTMFP_TC_AUTH_MUTUAL, "Hashed, and the server must prove it knows the "
          "token", "mutual"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpAuthMode", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

static void
install_trust_properties (GObjectClass * klass)
{
  /**
   * GstRtmfpSink:handshake:
   * GstRtmfpSrc:handshake:
   *
   * The certificate presented to the server, i.e. how the session is
   * keyed.  `rfc`: static Diffie-Hellman keys for groups 14, 5 and 2 (RFC
   * 7425 4.3), keying in the best group both ends support (2048-bit with
   * rtmfp-server and rtmfp-cpp).  `flash`: the shape of Flash Player's
   * certificate, one key in group 2 (1024 bits, within reach of
   * well-funded attackers); servers built for Flash Player (MonaServer,
   * Cumulus) need it.  `auto` (default): `rfc`, and `flash` if the server
   * answers the RFC handshake in a way that shows it needs that (the peer
   * ID then changes); never with #GstRtmfpSink:server-fingerprint set.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_HANDSHAKE,
      g_param_spec_enum ("handshake", "Handshake",
          "Certificate presented to the server (auto: Flash Player's when "
          "the server needs it)", GST_TYPE_RTMFP_HANDSHAKE,
          RTMFP_HANDSHAKE_AUTO, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:auth-mode:
   * GstRtmfpSrc:auth-mode:
   *
   * How #GstRtmfpSink:auth-token is sent.  `plain`: as given.  `hashed`:
   * HMAC-SHA256 of it keyed with the server's session nonce (RFC 7425
   * 4.6.5), which proves the token without disclosing it and cannot be
   * replayed on another session (rtmfp-server and rtmfp-cpp's tcserver
   * accept both).  `mutual`: hashed, and the server must answer with the
   * token hashed with our nonce, or the element fails with a RESOURCE
   * NOT_AUTHORIZED error.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTH_MODE,
      g_param_spec_enum ("auth-mode", "Authentication mode",
          "How auth-token is sent (hashed: bound to the session)",
          GST_TYPE_RTMFP_AUTH_MODE, RTMFP_TC_AUTH_PLAIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
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

  /**
   * GstRtmfpSink:location:
   * GstRtmfpSrc:location:
   *
   * The stream: `rtmfp://host[:port]/app[/instance]/stream`, default UDP
   * port 1935.  The last path segment is the stream name, the rest the
   * application (as rtmp2sink does).
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "RTMFP URI of the stream: rtmfp://host[:port]/app[/instance]/stream",
          GST_RTMFP_DEFAULT_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:peer-id:
   *
   * The peer ID (lower-case hex of the SHA-256 fingerprint of this
   * element's certificate) for peer-to-peer subscribers; a new one for
   * every start.  NULL before the element starts.  With
   * #GstRtmfpSink:mode `direct`, subscribers can play once the server
   * knows the element: after the `rtmfp-status` element message with code
   * `NetConnection.Connect.Success`.
   *
   * Since: 1.0
   */
  /**
   * GstRtmfpSrc:peer-id:
   *
   * Play the stream directly from the publisher with this peer ID (a
   * #GstRtmfpSink with #GstRtmfpSink:mode `direct`), the server in
   * #GstRtmfpSrc:location introducing them (RFC 7425 5.4): the session goes
   * to the publisher's own addresses, the server relays nothing.  No
   * NetConnection to the server is made.  Once the session is up the
   * element posts an element message `rtmfp-direct-session` (fields
   * `peer-id`, `address`, `rtt-ms`).  If the peer cannot be reached within
   * #GstRtmfpSrc:timeout the element fails with a RESOURCE OPEN_READ
   * error.  When the publisher stops, the stream ends (EOS).
   *
   * Since: 1.0
   */
  if (publisher)
    g_object_class_install_property (klass, GST_RTMFP_PROP_PEER_ID,
        g_param_spec_string ("peer-id", "Peer ID",
            "Hex peer ID of this publisher (read-only, set when started)",
            NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  else
    g_object_class_install_property (klass, GST_RTMFP_PROP_PEER_ID,
        g_param_spec_string ("peer-id", "Peer ID",
            "Hex peer ID of a publisher to play from directly (peer to peer)",
            NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
            GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:timeout:
   * GstRtmfpSrc:timeout:
   *
   * Seconds to wait for the server (handshake, connect, createStream and
   * publish or play) before failing with an error.  With
   * #GstRtmfpSink:auto-reconnect, also the time a lost connection has to
   * be restored, counted from the last packet from the server.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "Timeout",
          "Seconds to wait for the server before failing", 1, 3600,
          GST_RTMFP_DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:server-fingerprint:
   * GstRtmfpSrc:server-fingerprint:
   *
   * Fingerprint pinning: the peer ID (64 hex digits, the SHA-256
   * fingerprint of its certificate) the server in the location must have,
   * with static Diffie-Hellman keys that the session is keyed with, so
   * that only the holder of the private key can answer (`rtmfp-server
   * --identity` prints its fingerprint; a server without static keys
   * cannot be pinned).  Another server, or one that cannot prove it
   * holds the pinned key, makes the element fail with a RESOURCE
   * NOT_AUTHORIZED error naming the reason, before anything (the
   * auth-token) is said to it.  NULL (default): any server.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_SERVER_FINGERPRINT,
      g_param_spec_string ("server-fingerprint", "Server fingerprint",
          "Required peer ID (hex SHA-256 fingerprint) of the server; "
          "NULL: any server", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:auth-token:
   * GstRtmfpSrc:auth-token:
   *
   * Authentication token sent with `connect` (after the command object),
   * as servers with shared secrets expect (`rtmfp-server --auth-key`):
   * the lower-case hex HMAC-SHA256 of the application name under the
   * server's key.  Write-only.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTH_TOKEN,
      g_param_spec_string ("auth-token", "Authentication token",
          "Token sent with connect for servers that require one "
          "(write-only)", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  install_trust_properties (klass);

  /**
   * GstRtmfpSink:stats:
   * GstRtmfpSrc:stats:
   *
   * Statistics as an `application/x-rtmfp-statistics` structure: protocol,
   * state, stream-id, rtt-ms, rtt-variance-ms, cwnd-bytes,
   * bytes-in-flight, packets-sent/-received, bytes-sent/-received,
   * packets-retransmitted, packets-lost, messages-abandoned,
   * send-flows/receive-flows/flows, and per media type (audio, video,
   * data) messages-sent, bytes-sent, messages-abandoned (by the transport
   * past their deadline), messages-dropped (by the sender before sending),
   * messages-received, bytes-received, messages-lost (gaps seen on
   * receive) and sequence-gaps.  Always the same fields: zero before a
   * connection, the last values after it.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Connection statistics (application/x-rtmfp-statistics)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpSink:auto-reconnect:
   * GstRtmfpSrc:auto-reconnect:
   *
   * Restore a lost connection by itself, without an element error.  The
   * session survives an outage as long as the server answers again within
   * a few seconds (the element pings through silences so that it resumes
   * as soon as the path is back).  A session that is dead (closed by the
   * server, or silent for 6 s, or for #GstRtmfpSink:timeout minus 2 s if
   * that is shorter: a server restarted, say) is replaced by a new one
   * (handshake, connect, createStream, publish or play of the same stream,
   * through the same socket), retrying with backoff until
   * #GstRtmfpSink:timeout seconds after the last packet from the server;
   * then the element fails with a RESOURCE READ (rtmfpsrc) or WRITE
   * (rtmfpsink) error.  Element messages `rtmfp-reconnecting` (fields
   * `attempt`, `reason`) and `rtmfp-reconnected` (`attempt`,
   * `downtime-ms`) tell the application.  rtmfpsrc goes on from the next
   * keyframe with a DISCONT buffer; rtmfpsink publishes the same name again
   * (sequence headers and metadata first) and asks upstream for a keyframe
   * (GstForceKeyUnit).  A refused connection or publish is never retried.
   * FALSE: the first error is final.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_PROP_AUTO_RECONNECT,
      g_param_spec_boolean ("auto-reconnect", "Auto reconnect",
          "Restore a lost connection (within timeout) instead of failing",
          GST_RTMFP_DEFAULT_AUTO_RECONNECT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink::rebind:
   * GstRtmfpSrc::rebind:
   * @element: the element
   *
   * IP mobility (RFC 7016 3.5.4.2): moves the element to a new local UDP
   * socket (a new ephemeral port of the same local address), as after a
   * change of network.  The session continues without a new handshake:
   * the server validates the new address and follows it.  Emit it when
   * the application knows the network changed.  Returns %TRUE if the
   * element moved.
   *
   * Since: 1.0
   */
  g_signal_new_class_handler ("rebind", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (rebind_action),
      NULL, NULL, NULL, G_TYPE_BOOLEAN, 0);
}

static gboolean
set_location (GstRtmfpObject * obj, const gchar * location, GError ** error)
{
  g_mutex_lock (&obj->lock);
  if (obj->started) {
    g_mutex_unlock (&obj->lock);
    g_set_error_literal (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "Changing the location of a running element is not supported");
    return FALSE;
  }
  g_free (obj->location);
  obj->location = g_strdup (location);
  g_mutex_unlock (&obj->lock);
  return TRUE;
}

gboolean
gst_rtmfp_object_set_property_helper (GstRtmfpObject * obj, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  switch (prop_id) {
    case GST_RTMFP_PROP_LOCATION:{
      GError *err = NULL;
      if (!set_location (obj, g_value_get_string (value), &err)) {
        GST_WARNING_OBJECT (obj->element, "%s", err->message);
        g_error_free (err);
      }
      return TRUE;
    }
    case GST_RTMFP_PROP_PEER_ID:
      g_mutex_lock (&obj->lock);
      g_free (obj->play_peer_id);
      obj->play_peer_id = g_value_dup_string (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_TIMEOUT:
      g_mutex_lock (&obj->lock);
      obj->timeout = g_value_get_uint (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_SERVER_FINGERPRINT:
      g_mutex_lock (&obj->lock);
      g_free (obj->server_fingerprint);
      obj->server_fingerprint = g_value_dup_string (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_AUTH_TOKEN:
      g_mutex_lock (&obj->lock);
      g_free (obj->auth_token);
      obj->auth_token = g_value_dup_string (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_AUTO_RECONNECT:
      g_mutex_lock (&obj->lock);
      obj->auto_reconnect = g_value_get_boolean (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_HANDSHAKE:
      g_mutex_lock (&obj->lock);
      obj->handshake = g_value_get_enum (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_AUTH_MODE:
      g_mutex_lock (&obj->lock);
      obj->auth_mode = g_value_get_enum (value);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
gst_rtmfp_object_get_property_helper (GstRtmfpObject * obj, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  switch (prop_id) {
    case GST_RTMFP_PROP_LOCATION:
      g_mutex_lock (&obj->lock);
      g_value_set_string (value, obj->location);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_PEER_ID:
      g_mutex_lock (&obj->lock);
      g_value_set_string (value, obj->publisher ? obj->local_peer_id :
          obj->play_peer_id);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_TIMEOUT:
      g_mutex_lock (&obj->lock);
      g_value_set_uint (value, obj->timeout);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_SERVER_FINGERPRINT:
      g_mutex_lock (&obj->lock);
      g_value_set_string (value, obj->server_fingerprint);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_AUTO_RECONNECT:
      g_mutex_lock (&obj->lock);
      g_value_set_boolean (value, obj->auto_reconnect);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_STATS:
      g_value_take_boxed (value, gst_rtmfp_object_get_stats (obj));
      return TRUE;
    case GST_RTMFP_PROP_HANDSHAKE:
      g_mutex_lock (&obj->lock);
      g_value_set_enum (value, obj->handshake);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    case GST_RTMFP_PROP_AUTH_MODE:
      g_mutex_lock (&obj->lock);
      g_value_set_enum (value, obj->auth_mode);
      g_mutex_unlock (&obj->lock);
      return TRUE;
    default:
      return FALSE;
  }
}

void
gst_rtmfp_object_set_lifetimes (GstRtmfpObject * obj, guint audio_ms,
    guint video_ms)
{
  g_mutex_lock (&obj->lock);
  obj->audio_lifetime = audio_ms;
  obj->video_lifetime = video_ms;
  g_mutex_unlock (&obj->lock);
}

void
gst_rtmfp_object_get_lifetimes (GstRtmfpObject * obj, guint * audio_ms,
    guint * video_ms)
{
  g_mutex_lock (&obj->lock);
  *audio_ms = obj->audio_lifetime;
  *video_ms = obj->video_lifetime;
  g_mutex_unlock (&obj->lock);
}

/* ------------------------------------------------------------------------ */
/* GstURIHandler */

static GstURIType
uri_get_type (GType type)
{
  return g_type_is_a (type, GST_TYPE_BASE_SINK) ? GST_URI_SINK : GST_URI_SRC;
}

static const gchar *const *
uri_get_protocols (GType type)
{
  static const gchar *const protocols[] = { "rtmfp", NULL };
  return protocols;
}

static gchar *
uri_get_uri (GstURIHandler * handler)
{
  GstRtmfpObject *obj = g_object_get_qdata (G_OBJECT (handler),
      object_quark);
  gchar *s;

  g_mutex_lock (&obj->lock);
  s = g_strdup (obj->location);
  g_mutex_unlock (&obj->lock);
  return s;
}

static gboolean
uri_set_uri (GstURIHandler * handler, const gchar * uri, GError ** error)
{
  GstRtmfpObject *obj = g_object_get_qdata (G_OBJECT (handler),
      object_quark);
  RtmfpUri parsed;
  GError *err = NULL;

  if (!rtmfp_uri_parse (uri, TRUE, &parsed, &err)) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "%s",
        err->message);
    g_error_free (err);
    return FALSE;
  }
  rtmfp_uri_clear (&parsed);
  if (!set_location (obj, uri, error))
    return FALSE;
  g_object_notify (G_OBJECT (handler), "location");
  return TRUE;
}

void
gst_rtmfp_object_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  iface->get_type = uri_get_type;
  iface->get_protocols = uri_get_protocols;
  iface->get_uri = uri_get_uri;
  iface->set_uri = uri_set_uri;
}
