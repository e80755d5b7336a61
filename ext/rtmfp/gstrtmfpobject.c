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

/* Static DH keys in our certificate for every group we support, best
 * first: the initiator can only select a group it has a static key for,
 * and RFC 7425 4.2 makes group 2 mandatory (Flash-era servers may offer
 * nothing else). */
static const guint dh_groups[] = { 14, 5, 2 };

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
  gboolean direct;              /* sink: mode=direct (lock) */

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

/* Posts the one GST_ELEMENT_ERROR of this run for err (any thread) */
static void
post_error (GstRtmfpObject * obj, const GError * err)
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
                    "(wrong fingerprint)."), host), ("%s", err->message));
        break;
      case RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED:
      case RTMFP_TC_CLIENT_ERROR_PROTOCOL:
      default:
        POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
            (_("Could not connect to RTMFP server \"%s\"."), host),
            ("%s", err->message));
        break;
    }
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
  gst_element_post_message (obj->element,
      gst_message_new_element (GST_OBJECT (obj->element),
          gst_structure_new (name, "peer-id", G_TYPE_STRING, peer_id,
              "address", G_TYPE_STRING,
              rtmfp_addr_to_string (rtmfp_session_get_far_address (s), buf),
              "rtt-ms", G_TYPE_DOUBLE, st.srtt_us < 0 ? -1.0 :
              st.srtt_us / 1000.0, NULL)));
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

static void
on_state (RtmfpTcClient * c, RtmfpTcClientState state, gpointer ud)
{
  GstRtmfpObject *obj = ud;

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
  if (state == RTMFP_TC_CLIENT_STATE_STREAMING)
    GST_INFO_OBJECT (obj->element, "%s stream %s",
        obj->publisher ? "publishing" : "playing", obj->uri.stream);
}

static void
on_error (RtmfpTcClient * c, const GError * err, gpointer ud)
{
  post_error (ud, err);
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

  GST_INFO_OBJECT (obj->element, "status %s %s: %s", level, code, desc);
  gst_element_post_message (obj->element,
      gst_message_new_element (GST_OBJECT (obj->element),
          gst_structure_new ("rtmfp-status", "level", G_TYPE_STRING, level,
              "code", G_TYPE_STRING, code, "description", G_TYPE_STRING,
              desc, NULL)));
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
  gboolean key = FALSE;

  GST_LOG_OBJECT (obj->element, "message type %u ts %u len %" G_GSIZE_FORMAT
      " gap %" G_GUINT64_FORMAT, msg->type, msg->timestamp, msg->len, gap);
  if (msg->len > RTMFP_FLV_MAX_DATA_SIZE)
    return;
  if (msg->type == RTMFP_TC_MSG_VIDEO) {
    key = rtmfp_flv_video_is_keyframe (msg->payload, msg->len);
    if (obj->need_keyframe && !key) {
      /* decoders cannot use frames before the first keyframe */
      GST_LOG_OBJECT (obj->element, "video before a keyframe dropped");
      g_mutex_lock (&obj->lock);
      obj->pending_discont = TRUE;
      g_mutex_unlock (&obj->lock);
      return;
    }
    obj->need_keyframe = FALSE;
  }

  buf = gst_buffer_new_allocate (NULL, RTMFP_FLV_TAG_HEADER_SIZE + msg->len +
      RTMFP_FLV_TAG_TRAILER_SIZE, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  rtmfp_flv_tag_write (map.data, map.size, msg->type, msg->timestamp,
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
  it->timestamp = msg->timestamp;

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
  gsize pending = rtmfp_tc_client_get_pending_bytes (c);

  g_mutex_lock (&obj->lock);
  obj->client_pending = pending;
  g_cond_broadcast (&obj->cond);
  g_mutex_unlock (&obj->lock);
}

static const RtmfpTcClientCallbacks client_callbacks = {
  .state_changed = on_state,
  .error = on_error,
  .status = on_status,
  .message = on_message,
  .stream_event = on_stream_event,
  .writable = on_writable,
};

static gint64
net_clock (gpointer data)
{
  return g_get_monotonic_time ();
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
  g_queue_init (&obj->items);
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
  gboolean direct;
  RtmfpUri uri;

  g_mutex_lock (&obj->lock);
  location = g_strdup (obj->location);
  play_peer = g_strdup (obj->play_peer_id);
  server_fp_hex = g_strdup (obj->server_fingerprint);
  auth_token = g_strdup (obj->auth_token);
  timeout = obj->timeout;
  alife = obj->audio_lifetime;
  vlife = obj->video_lifetime;
  direct = obj->publisher && obj->direct;
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

  /* RFC 7425 5.3: a new certificate (peer ID) for every connection */
  id = rtmfp_identity_new_static (dh_groups, G_N_ELEMENTS (dh_groups));
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
  ccfg.tc_url = uri.tc_url;
  ccfg.app = uri.app;
  ccfg.stream = uri.stream;
  ccfg.timeout_us = (gint64) timeout * G_TIME_SPAN_SECOND;
  ccfg.audio_lifetime_us = (gint64) alife * G_TIME_SPAN_MILLISECOND;
  ccfg.video_lifetime_us = (gint64) vlife * G_TIME_SPAN_MILLISECOND;

  g_mutex_lock (&obj->lock);
  obj->uri = uri;
  obj->state = RTMFP_TC_CLIENT_STATE_IDLE;
  obj->streaming = obj->failed = obj->closed = FALSE;
  obj->error_posted = obj->stopping = FALSE;
  obj->eos_at = -1;
  obj->unpublished = FALSE;
  obj->in_transit = obj->client_pending = 0;
  obj->pending_discont = FALSE;
  obj->need_keyframe = TRUE;
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
    g_strfreev (peer_info);
  } else {
    obj->client = rtmfp_tc_client_new (&ccfg, &client_callbacks, obj,
        net_clock, NULL);
    obj->net = rtmfp_net_new (&ecfg,
        rtmfp_tc_client_get_endpoint_callbacks (), obj->client, NULL, 0,
        &err);
  }
  rtmfp_identity_unref (id);
  g_free (auth_token);          /* the client keeps its own copy */
  if (!obj->net) {
    POST_OPEN_ERROR (obj, OPEN_READ, OPEN_WRITE,
        (_("Could not open a UDP socket.")), ("%s", err->message));
    g_clear_error (&err);
    rtmfp_tc_client_free (obj->client);
    obj->client = NULL;
    rtmfp_tc_peer_publisher_free (obj->peers);
    obj->peers = NULL;
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
  update_stats (obj, TRUE);
  rtmfp_tc_client_free (obj->client);
  obj->client = NULL;
  rtmfp_net_free (obj->net);
  obj->net = NULL;
  rtmfp_tc_peer_publisher_free (obj->peers);
  obj->peers = NULL;
  g_clear_object (&obj->cancellable);

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
    post_error (obj, err);
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

  if (obj->peers)
    rtmfp_tc_peer_publisher_close (obj->peers, rtmfp_net_now (net));
  rtmfp_tc_client_close (obj->client, rtmfp_net_now (net));
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
   * publish or play) before failing with an error.
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
   * fingerprint of its certificate) the server in the location must have.
   * A session to any other server is closed before anything is said to
   * it, and the element fails with a RESOURCE NOT_AUTHORIZED error.  NULL
   * (default): any server.
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
    case GST_RTMFP_PROP_STATS:
      g_value_take_boxed (value, gst_rtmfp_object_get_stats (obj));
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
