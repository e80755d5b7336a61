/* RTMFP core: the publisher side of direct peer-to-peer NetStreams
 * (RFC 7425 5.4).  See rtmfptcpeer.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-tcpeer"

#include "rtmfptcpeer.h"
#include "flvtag.h"

#include <string.h>

#define MAX_HEADERS 8           /* sequence header messages kept per kind */

typedef struct {
  RtmfpTcPeerPublisher *p;
  RtmfpSession *session;        /* ref'd */
  RtmfpRecvFlow *in;            /* the subscriber's NetStream flow */
  guint32 sid;
  gboolean complete;            /* in is complete: no more delivery */
  gboolean playing;
  gboolean need_key;            /* video waits for a keyframe */
  RtmfpSendFlow *out[RTMFP_TC_MEDIA_N]; /* audio, video, data */
  guint64 messages_sent, bytes_sent, messages_dropped;
} Peer;

struct _RtmfpTcPeerPublisher {
  gchar *stream;
  gint64 lifetime[RTMFP_TC_MEDIA_N];
  guint max_peers;
  RtmfpTcPeerPublisherCallbacks cb;
  gpointer ud;
  RtmfpTcClientClockFunc clock;
  gpointer clock_data;
  RtmfpTcClient *client;

  GPtrArray *peers;             /* Peer* */
  GPtrArray *headers[RTMFP_TC_MEDIA_N]; /* GBytes* whole TC messages */
  gboolean last_was_header[RTMFP_TC_MEDIA_N];
  GBytes *metadata;             /* TC message: onMetaData */
  guint32 sync_id;              /* last flow sync barrier sent */
};

static gint64
pp_now (RtmfpTcPeerPublisher * p)
{
  return p->clock (p->clock_data);
}

static void
peer_free (Peer * peer)
{
  if (!peer->complete && peer->in)
    rtmfp_recv_flow_set_delivery (peer->in, FALSE, NULL, NULL, NULL);
  rtmfp_session_unref (peer->session);
  g_free (peer);
}

/* ------------------------------------------------------------------------ */
/* sending to one subscriber */

static gboolean
peer_write (Peer * peer, RtmfpTcMediaKind kind, const guint8 * data,
    gsize len, gint64 deadline, gint64 now)
{
  if (!peer->out[kind] ||
      !rtmfp_session_write (peer->session, peer->out[kind], data, len,
          deadline, 0, now)) {
    peer->messages_dropped++;
    return FALSE;
  }
  peer->messages_sent++;
  peer->bytes_sent += len;
  return TRUE;
}

static void
peer_write_bytes (Peer * peer, RtmfpTcMediaKind kind, GBytes * b, gint64 now)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  peer_write (peer, kind, d, len, RTMFP_NO_DEADLINE, now);
}

static void
peer_status (Peer * peer, const gchar * level, const gchar * code,
    const gchar * desc, gint64 now)
{
  GByteArray *m = g_byte_array_new ();
  RtmfpAmfNode *info = rtmfp_tc_status_new (level, code, desc);
  RtmfpAmfNode *null = rtmfp_amf_node_new_null ();

  rtmfp_tc_command_append (m, 0, "onStatus", 0.0, null, info, NULL);
  peer_write (peer, RTMFP_TC_MEDIA_DATA, m->data, m->len, RTMFP_NO_DEADLINE,
      now);
  rtmfp_amf_node_free (info);
  rtmfp_amf_node_free (null);
  g_byte_array_unref (m);
}

static void
peer_user_control (Peer * peer, guint16 event, gint64 now)
{
  GByteArray *pl = g_byte_array_new (), *m = g_byte_array_new ();
  guint32 arg = peer->sid;

  rtmfp_tc_user_control_append (pl, event, &arg, 1);
  rtmfp_tc_message_append (m, RTMFP_TC_MSG_USER_CONTROL, 0, pl->data,
      pl->len);
  peer_write (peer, RTMFP_TC_MEDIA_DATA, m->data, m->len, RTMFP_NO_DEADLINE,
      now);
  g_byte_array_unref (pl);
  g_byte_array_unref (m);
}

/* 5.4 / 5.3.5.2: the stream's flows, associated to the subscriber's
 * NetStream flow, same stream ID; audio with the RXI hint */
static gboolean
peer_open_flows (Peer * peer)
{
  guint k;

  for (k = 0; k < RTMFP_TC_MEDIA_N; k++) {
    GByteArray *md;
    if (peer->out[k])
      continue;
    md = g_byte_array_new ();
    rtmfp_tc_metadata_append (md, peer->sid, k == RTMFP_TC_MEDIA_AUDIO);
    peer->out[k] = rtmfp_session_open_flow (peer->session, md->data, md->len,
        peer->in);
    g_byte_array_unref (md);
    if (!peer->out[k])
      return FALSE;
  }
  return TRUE;
}

static void
peer_close_flows (Peer * peer, gint64 now)
{
  guint k;

  for (k = 0; k < RTMFP_TC_MEDIA_N; k++) {
    if (peer->out[k])
      rtmfp_session_close_flow (peer->session, peer->out[k], now);
    peer->out[k] = NULL;
  }
}

static void
peer_stop (Peer * peer, gint64 now)
{
  RtmfpTcPeerPublisher *p = peer->p;
  gboolean was_playing = peer->playing;

  peer->playing = FALSE;
  peer_close_flows (peer, now);
  if (was_playing && p->cb.peer_left)
    p->cb.peer_left (p, peer->session, p->ud);
}

static void
peer_start (Peer * peer, const gchar * name, gint64 now)
{
  RtmfpTcPeerPublisher *p = peer->p;
  guint i, k;

  if (peer->playing)
    return;
  if (!peer_open_flows (peer)) {
    g_debug ("peer %p: could not open the stream flows", peer);
    peer_close_flows (peer, now);
    return;
  }
  if (!name || g_strcmp0 (name, p->stream) != 0) {
    peer_status (peer, "error", RTMFP_TC_PLAY_STREAMNOTFOUND,
        "No such stream", now);
    peer_close_flows (peer, now);
    return;
  }
  peer_user_control (peer, RTMFP_TC_EVENT_STREAM_BEGIN, now);
  peer_status (peer, "status", RTMFP_TC_PLAY_RESET, "Playing and resetting",
      now);
  peer_status (peer, "status", RTMFP_TC_PLAY_START, "Started playing", now);
  if (p->metadata)
    peer_write_bytes (peer, RTMFP_TC_MEDIA_DATA, p->metadata, now);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    for (i = 0; i < p->headers[k]->len; i++)
      peer_write_bytes (peer, k, g_ptr_array_index (p->headers[k], i), now);
  peer->playing = TRUE;
  peer->need_key = TRUE;
  g_debug ("peer %p: playing %s", peer, name);
  if (p->cb.peer_playing)
    p->cb.peer_playing (p, peer->session, p->ud);
}

/* ------------------------------------------------------------------------ */
/* receiving from a subscriber */

static void
peer_command (Peer * peer, const RtmfpTcMessage * msg, gint64 now)
{
  gchar *name = NULL;
  gdouble txn = 0;
  GPtrArray *args = rtmfp_tc_command_parse (msg, &name, &txn);
  guint i;

  if (!args)
    return;
  if (g_str_equal (name, "play")) {
    const gchar *stream = NULL;
    for (i = 0; i < args->len && !stream; i++) {
      const RtmfpAmfNode *n = g_ptr_array_index (args, i);
      if (rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_STRING)
        stream = rtmfp_amf_node_peek_string (n, NULL);
    }
    peer_start (peer, stream, now);
  } else if (g_str_equal (name, "closeStream") ||
      g_str_equal (name, "deleteStream")) {
    peer_stop (peer, now);
  } else if (g_str_equal (name, RTMFP_TC_REQUEST_KEYFRAME)) {
    if (peer->playing && peer->p->cb.keyframe_requested)
      peer->p->cb.keyframe_requested (peer->p, peer->session, peer->p->ud);
  } else {
    g_debug ("peer %p: command '%s' ignored", peer, name);
  }
  g_free (name);
  g_ptr_array_unref (args);
}

static void
on_peer_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer user_data)
{
  Peer *peer = user_data;
  RtmfpTcMessage msg;

  if (!rtmfp_tc_message_parse (data, len, &msg))
    return;
  if (msg.type == RTMFP_TC_MSG_COMMAND_AMF0 ||
      msg.type == RTMFP_TC_MSG_COMMAND_AMF3)
    peer_command (peer, &msg, pp_now (peer->p));
}

static void
remove_peer (RtmfpTcPeerPublisher * p, Peer * peer)
{
  g_ptr_array_remove_fast (p->peers, peer);
}

static void
on_peer_complete (RtmfpRecvFlow * f, gpointer user_data)
{
  Peer *peer = user_data;

  /* the subscriber closed its NetStream flow: the subscription ends */
  peer->complete = TRUE;
  peer_stop (peer, pp_now (peer->p));
  remove_peer (peer->p, peer);
}

/* ------------------------------------------------------------------------ */
/* endpoint callbacks: the client's session is passed on */

#define CLIENT_CB (rtmfp_tc_client_get_endpoint_callbacks ())

static gboolean
is_client_session (RtmfpTcPeerPublisher * p, RtmfpSession * s)
{
  return p->client && rtmfp_tc_client_get_session (p->client) == s;
}

static void
ep_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;

  if (is_client_session (p, s))
    CLIENT_CB->session_opened (ep, s, p->client);
}

static void
ep_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;

  if (is_client_session (p, s))
    CLIENT_CB->session_open_failed (ep, s, p->client);
}

static void
ep_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;
  guint i;

  if (is_client_session (p, s)) {
    CLIENT_CB->session_closed (ep, s, p->client);
    return;
  }
  for (i = p->peers->len; i > 0; i--) {
    Peer *peer = g_ptr_array_index (p->peers, i - 1);
    if (peer->session != s)
      continue;
    peer->complete = TRUE;      /* the session's flows are gone */
    if (peer->playing) {
      peer->playing = FALSE;
      if (p->cb.peer_left)
        p->cb.peer_left (p, s, p->ud);
    }
    remove_peer (p, peer);
  }
}

static void
ep_session_address_changed (RtmfpEndpoint * ep, RtmfpSession * s,
    gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;

  if (is_client_session (p, s) && CLIENT_CB->session_address_changed)
    CLIENT_CB->session_address_changed (ep, s, p->client);
}

static gboolean
ep_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;
  const guint8 *md;
  gsize md_len;
  guint32 sid;
  gboolean rxi;
  Peer *peer;

  if (is_client_session (p, s))
    return CLIENT_CB->flow_opened (ep, s, f, assoc, p->client);
  md = rtmfp_recv_flow_get_metadata (f, &md_len);
  /* 5.1.1, 5.4: a subscriber's NetStream flow: TC, stream ID != 0 */
  if (!rtmfp_tc_metadata_parse (md, md_len, &sid, &rxi) || sid == 0 ||
      assoc != NULL)
    return FALSE;
  if (p->max_peers && p->peers->len >= p->max_peers) {
    g_debug ("too many subscribers, flow rejected");
    return FALSE;
  }
  peer = g_new0 (Peer, 1);
  peer->p = p;
  peer->session = rtmfp_session_ref (s);
  peer->in = f;
  peer->sid = sid;
  g_ptr_array_add (p->peers, peer);
  rtmfp_recv_flow_set_delivery (f, FALSE, on_peer_message, on_peer_complete,
      peer);
  return TRUE;
}

static void
ep_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;
  guint i, k;

  if (is_client_session (p, s)) {
    CLIENT_CB->send_flow_exception (ep, s, f, code, p->client);
    return;
  }
  for (i = 0; i < p->peers->len; i++) {
    Peer *peer = g_ptr_array_index (p->peers, i);
    for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
      if (peer->out[k] == f) {
        /* the subscriber rejected a stream flow: it is not listening */
        peer_stop (peer, pp_now (p));
        return;
      }
  }
}

static void
ep_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  RtmfpTcPeerPublisher *p = ud;

  if (is_client_session (p, s))
    CLIENT_CB->send_flow_writable (ep, s, f, p->client);
}

static const RtmfpEndpointCallbacks endpoint_callbacks = {
  .session_opened = ep_session_opened,
  .session_open_failed = ep_session_open_failed,
  .session_closed = ep_session_closed,
  .session_address_changed = ep_session_address_changed,
  .flow_opened = ep_flow_opened,
  .send_flow_exception = ep_send_flow_exception,
  .send_flow_writable = ep_send_flow_writable,
};

const RtmfpEndpointCallbacks *
rtmfp_tc_peer_publisher_get_endpoint_callbacks (void)
{
  return &endpoint_callbacks;
}

/* ------------------------------------------------------------------------ */
/* public API */

RtmfpTcPeerPublisher *
rtmfp_tc_peer_publisher_new (const gchar * stream, gint64 audio_lifetime_us,
    gint64 video_lifetime_us, guint max_peers,
    const RtmfpTcPeerPublisherCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data)
{
  RtmfpTcPeerPublisher *p;
  guint k;

  g_return_val_if_fail (stream != NULL, NULL);
  g_return_val_if_fail (clock != NULL, NULL);

  p = g_new0 (RtmfpTcPeerPublisher, 1);
  p->stream = g_strdup (stream);
  p->lifetime[RTMFP_TC_MEDIA_AUDIO] = audio_lifetime_us > 0 ?
      audio_lifetime_us : RTMFP_TC_CLIENT_DEFAULT_AUDIO_LIFETIME_US;
  p->lifetime[RTMFP_TC_MEDIA_VIDEO] = video_lifetime_us > 0 ?
      video_lifetime_us : RTMFP_TC_CLIENT_DEFAULT_VIDEO_LIFETIME_US;
  p->lifetime[RTMFP_TC_MEDIA_DATA] = 0;
  p->max_peers = max_peers;
  if (callbacks)
    p->cb = *callbacks;
  p->ud = user_data;
  p->clock = clock;
  p->clock_data = clock_data;
  p->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    p->headers[k] = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
  return p;
}

void
rtmfp_tc_peer_publisher_free (RtmfpTcPeerPublisher * p)
{
  guint k;

  if (!p)
    return;
  g_ptr_array_unref (p->peers);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    g_ptr_array_unref (p->headers[k]);
  if (p->metadata)
    g_bytes_unref (p->metadata);
  g_free (p->stream);
  g_free (p);
}

void
rtmfp_tc_peer_publisher_set_client (RtmfpTcPeerPublisher * p,
    RtmfpTcClient * client)
{
  g_return_if_fail (p != NULL);
  p->client = client;
}

static gboolean
is_on_metadata (const guint8 * payload, gsize len)
{
  gsize off = rtmfp_flv_script_skip_set_data_frame (payload, len);

  return len - off >= 13 && payload[off] == 0x02 && payload[off + 1] == 0 &&
      payload[off + 2] == 10 && memcmp (payload + off + 3, "onMetaData",
      10) == 0;
}

gboolean
rtmfp_tc_peer_publisher_send (RtmfpTcPeerPublisher * p, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len, guint flags,
    gint64 now)
{
  RtmfpTcMediaKind kind;
  gboolean reliable, key;
  GByteArray *m;
  GBytes *b = NULL;
  guint i;

  g_return_val_if_fail (p != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);

  if ((type != RTMFP_TC_MSG_AUDIO && type != RTMFP_TC_MSG_VIDEO &&
          type != RTMFP_TC_MSG_DATA_AMF0) || len > RTMFP_TC_MAX_PAYLOAD)
    return FALSE;
  kind = rtmfp_tc_media_kind_from_type (type);
  reliable = (flags & RTMFP_TC_CLIENT_SEND_RELIABLE) ||
      kind == RTMFP_TC_MEDIA_DATA;
  key = (flags & RTMFP_TC_CLIENT_SEND_KEYFRAME) != 0;
  m = g_byte_array_sized_new (len + RTMFP_TC_MESSAGE_HEADER_SIZE);
  rtmfp_tc_message_append (m, type, timestamp, payload, len);

  /* what a new subscriber needs first (as the server's relay keeps it) */
  if (kind == RTMFP_TC_MEDIA_DATA) {
    if (is_on_metadata (payload, len)) {
      if (p->metadata)
        g_bytes_unref (p->metadata);
      p->metadata = b = g_bytes_new (m->data, m->len);
      g_bytes_ref (b);
    }
  } else if (reliable) {
    if (!p->last_was_header[kind])
      g_ptr_array_set_size (p->headers[kind], 0);
    if (p->headers[kind]->len < MAX_HEADERS)
      g_ptr_array_add (p->headers[kind], g_bytes_new (m->data, m->len));
    p->last_was_header[kind] = TRUE;
  } else {
    p->last_was_header[kind] = FALSE;
  }
  if (b)
    g_bytes_unref (b);

  for (i = 0; i < p->peers->len; i++) {
    Peer *peer = g_ptr_array_index (p->peers, i);
    gint64 deadline = reliable ? RTMFP_NO_DEADLINE :
        now + p->lifetime[kind];

    if (!peer->playing || !peer->out[kind])
      continue;
    if (kind == RTMFP_TC_MEDIA_VIDEO && !reliable) {
      /* a new (or congested) subscriber starts at a keyframe */
      if (peer->need_key && !key) {
        peer->messages_dropped++;
        continue;
      }
      peer->need_key = FALSE;
    }
    /* lossy media is not queued behind a congested flow */
    if (!reliable && rtmfp_send_flow_get_queued_bytes (peer->out[kind]) >=
        RTMFP_SESSION_FLOW_HIGH_WATER) {
      peer->messages_dropped++;
      if (kind == RTMFP_TC_MEDIA_VIDEO)
        peer->need_key = TRUE;
      continue;
    }
    if (!peer_write (peer, kind, m->data, m->len, deadline, now) &&
        kind == RTMFP_TC_MEDIA_VIDEO)
      peer->need_key = TRUE;
  }
  g_byte_array_unref (m);
  return TRUE;
}

/* 5.2: a Flow Synchronization barrier on each of the subscriber's flows,
 * so that what follows on the data flow (StreamEOF, UnpublishNotify)
 * is acted on after the last message of every flow */
static void
peer_sync_barrier (Peer * peer, guint32 sync_id, gint64 now)
{
  GByteArray *pl = g_byte_array_new (), *m = g_byte_array_new ();
  guint32 args[2] = { sync_id, 0 };
  guint k;

  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    if (peer->out[k])
      args[1]++;
  rtmfp_tc_user_control_append (pl, RTMFP_TC_EVENT_FLOW_SYNC, args, 2);
  rtmfp_tc_message_append (m, RTMFP_TC_MSG_USER_CONTROL, 0, pl->data,
      pl->len);
  for (k = 0; k < RTMFP_TC_MEDIA_N && args[1] > 1; k++)
    if (peer->out[k])
      peer_write (peer, k, m->data, m->len, RTMFP_NO_DEADLINE, now);
  g_byte_array_unref (pl);
  g_byte_array_unref (m);
}

void
rtmfp_tc_peer_publisher_close (RtmfpTcPeerPublisher * p, gint64 now)
{
  GPtrArray *sessions;
  gint64 drain = MAX (p->lifetime[RTMFP_TC_MEDIA_AUDIO],
      p->lifetime[RTMFP_TC_MEDIA_VIDEO]) + RTMFP_TC_CLIENT_DRAIN_MARGIN_US;
  guint i;

  g_return_if_fail (p != NULL);

  sessions = g_ptr_array_new_with_free_func ((GDestroyNotify)
      rtmfp_session_unref);
  for (i = 0; i < p->peers->len; i++) {
    Peer *peer = g_ptr_array_index (p->peers, i);
    if (peer->playing) {
      peer_sync_barrier (peer, ++p->sync_id, now);
      peer_user_control (peer, RTMFP_TC_EVENT_STREAM_EOF, now);
      peer_status (peer, "status", RTMFP_TC_PLAY_UNPUBLISHNOTIFY,
          "The publisher stopped", now);
    }
    peer_close_flows (peer, now);
    peer->playing = FALSE;
    g_ptr_array_add (sessions, rtmfp_session_ref (peer->session));
  }
  /* The sessions close once what was queued on their flows has arrived
   * (or been abandoned): closing them now would drop the last frames.
   * Closing may call back (session_closed) and free peers. */
  for (i = 0; i < sessions->len; i++)
    rtmfp_session_close_when_drained (g_ptr_array_index (sessions, i), drain,
        now);
  g_ptr_array_unref (sessions);
}

guint
rtmfp_tc_peer_publisher_get_n_peers (RtmfpTcPeerPublisher * p)
{
  g_return_val_if_fail (p != NULL, 0);
  return p->peers->len;
}

gboolean
rtmfp_tc_peer_publisher_get_peer (RtmfpTcPeerPublisher * p, guint index,
    RtmfpTcPeerInfo * info)
{
  Peer *peer;

  g_return_val_if_fail (p != NULL && info != NULL, FALSE);
  if (index >= p->peers->len)
    return FALSE;
  peer = g_ptr_array_index (p->peers, index);
  info->session = peer->session;
  info->playing = peer->playing;
  info->messages_sent = peer->messages_sent;
  info->bytes_sent = peer->bytes_sent;
  info->messages_dropped = peer->messages_dropped;
  return TRUE;
}
