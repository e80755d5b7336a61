/* rtmfp-server: one NetConnection over one RTMFP session (RFC 7425 5.3).
 *
 * Flows (Figure 4 of RFC 7425):
 *   client control flow  TC stream 0, unassociated: connect, setPeerInfo,
 *                        createStream, deleteStream
 *   server control flow  TC stream 0, associated to the client's control
 *                        flow (5.3.2, the canonical one): _result/_error,
 *                        Set Keepalive Timers
 *   client stream flows  TC stream N (from createStream): publish, play,
 *                        closeStream, and the publisher's media
 *   server stream flows  TC stream N, associated to the client's control
 *                        flow (5.3.5.2), one per kind: data (user control,
 *                        onStatus, script data), audio (RXI=1), video
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "rtmfpserverpriv.h"
#include "rtmfptc.h"
#include "rtmfpcrypto.h"

#include <string.h>

#define MAX_PEER_ADDRESSES 16
/* Receive buffer for client stream flows: must hold the largest message
 * (a video keyframe) */
#define STREAM_FLOW_BUFFER (1024 * 1024)
/* A closing connection waits this long at most for its client's flows
 * (conn_close_orderly).  A publication the client ends stays for
 * RtmfpServerConfig.stream_end_linger_us (stream_linger). */
#define LINGER_US (1 * G_TIME_SPAN_SECOND)

typedef enum {
  CONN_AWAIT_CONNECT,
  CONN_CONNECTED,
  CONN_REJECTED,                /* _error sent, waiting for the client to go */
  CONN_CLOSING,                 /* the client closed its control flow; its
                                 * stream flows still deliver (5.3.6) */
  CONN_CLOSED,
} ConnState;

typedef struct {
  RtmfpServerConn *conn;
  guint32 id;
  guint n_recv_flows;           /* client flows open for this stream */
  RtmfpSendFlow *flows[RTMFP_RELAY_N_KINDS];
  gboolean failed;              /* the client rejected a flow of ours */
  RtmfpRelayStream *publishing;
  RtmfpRelayPlayer *player;
  gchar *name;
  /* the client ended the publication; it lingers (stream_linger) */
  gboolean ending;
  gint64 end_deadline;
  gboolean delete_when_ended;   /* deleteStream: free it then */
} NetStream;

struct _RtmfpServerConn {
  RtmfpServer *srv;
  RtmfpSession *session;        /* ref'd */
  guint64 id;
  ConnState state;
  RtmfpRecvFlow *ctrl_recv;     /* the client's NetConnection control flow */
  RtmfpSendFlow *ctrl_send;     /* our canonical control flow */
  gchar *app;
  GArray *peer_addrs;           /* RtmfpAddr, from setPeerInfo */
  gboolean behind_nat;
  GHashTable *streams;          /* stream ID -> NetStream (owned) */
  guint32 next_stream_id;
  GByteArray *scratch;
  gint64 close_deadline;        /* CONN_CLOSING */
  const gchar *close_reason;    /* for the "close" event, if known */
  gboolean close_reported;      /* the "close" event was sent */
};

static const RtmfpRelayPlayerFuncs player_funcs;

/* An event of this connection (RtmfpServerConfig.on_event) */
static void
conn_event (RtmfpServerConn * conn, const gchar * event, const gchar * stream,
    const gchar * result, const gchar * reason)
{
  gchar addr[RTMFP_ADDR_STRLEN];

  if (!conn->srv->cfg.on_event)
    return;
  rtmfp_server_event (conn->srv, event, "rtmfp", conn->id,
      rtmfp_addr_to_string (rtmfp_session_get_far_address (conn->session),
          addr), conn->app, stream, result, reason);
}
static void stream_evicted (RtmfpRelayStream * stream, gpointer ud);
static void stream_keyframe_wanted (RtmfpRelayStream * stream, gpointer ud);

static gint64
conn_now (RtmfpServerConn * conn)
{
  return rtmfp_server_now (conn->srv);
}

static gboolean
session_open (RtmfpServerConn * conn)
{
  return rtmfp_session_get_state (conn->session) == RTMFP_SESSION_OPEN;
}

/* ------------------------------------------------------------------------ */
/* Sending */

/* Queues one whole TC message (already in conn->scratch) on flow */
static void
write_scratch (RtmfpServerConn * conn, RtmfpSendFlow * flow, gint64 deadline,
    guint flags)
{
  if (!flow || !session_open (conn))
    return;
  if (!rtmfp_session_write (conn->session, flow, conn->scratch->data,
          conn->scratch->len, deadline, flags, conn_now (conn)))
    g_debug ("conn %" G_GUINT64_FORMAT ": write refused", conn->id);
}

static void
send_command (RtmfpServerConn * conn, RtmfpSendFlow * flow, const gchar * name,
    gdouble txn, guint n_args, RtmfpAmfNode ** args)
{
  guint i;

  g_byte_array_set_size (conn->scratch, 0);
  rtmfp_tc_command_append_with_args (conn->scratch, 0, name, txn, n_args,
      (const RtmfpAmfNode * const *) args);
  for (i = 0; i < n_args; i++)
    rtmfp_amf_node_free (args[i]);
  write_scratch (conn, flow, RTMFP_NO_DEADLINE, 0);
}

static void
send_user_control (RtmfpServerConn * conn, RtmfpSendFlow * flow,
    guint16 event, guint32 a0, guint32 a1, guint n)
{
  guint32 args[2] = { a0, a1 };
  GByteArray *pl = g_byte_array_new ();

  rtmfp_tc_user_control_append (pl, event, args, n);
  g_byte_array_set_size (conn->scratch, 0);
  rtmfp_tc_message_append (conn->scratch, RTMFP_TC_MSG_USER_CONTROL, 0,
      pl->data, pl->len);
  g_byte_array_unref (pl);
  write_scratch (conn, flow, RTMFP_NO_DEADLINE, 0);
}

/* ------------------------------------------------------------------------ */
/* NetStreams */

static RtmfpSendFlow *
stream_flow (NetStream * ns, RtmfpRelayKind kind)
{
  RtmfpServerConn *conn = ns->conn;
  GByteArray *md;

  if (ns->flows[kind])
    return ns->flows[kind];
  if (ns->failed || !conn->ctrl_recv || !session_open (conn))
    return NULL;
  /* 5.3.5.2: stream ID N, associated to the client's control flow */
  md = g_byte_array_new ();
  rtmfp_tc_metadata_append (md, ns->id, kind == RTMFP_RELAY_AUDIO);
  ns->flows[kind] = rtmfp_session_open_flow (conn->session, md->data, md->len,
      conn->ctrl_recv);
  g_byte_array_unref (md);
  return ns->flows[kind];
}

static void
stream_status (NetStream * ns, const gchar * level, const gchar * code,
    const gchar * description)
{
  RtmfpAmfNode *args[2];

  args[0] = rtmfp_amf_node_new_null ();
  args[1] = rtmfp_tc_status_new (level, code, description);
  if (ns->name)
    rtmfp_amf_node_append_field_string (args[1], "details", ns->name, -1);
  rtmfp_amf_node_append_field_number (args[1], "clientid",
      (gdouble) ns->conn->id);
  send_command (ns->conn, stream_flow (ns, RTMFP_RELAY_DATA), "onStatus", 0.0,
      2, args);
}

static void
stream_close_flows (NetStream * ns)
{
  RtmfpServerConn *conn = ns->conn;
  guint k;

  for (k = 0; k < RTMFP_RELAY_N_KINDS; k++) {
    if (ns->flows[k] && session_open (conn))
      rtmfp_session_close_flow (conn->session, ns->flows[k], conn_now (conn));
    ns->flows[k] = NULL;
  }
}

/* Ends publishing / playing; notify: tell the client (Unpublish.Success,
 * Play.Stop) when it asked for it */
static void
stream_end (NetStream * ns, gboolean notify)
{
  RtmfpServer *srv = ns->conn->srv;

  ns->ending = FALSE;
  if (ns->publishing) {
    rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": unpublish %s/%s",
        ns->conn->id, ns->conn->app, ns->name);
    conn_event (ns->conn, "unpublish", ns->name, NULL, notify ?
        "unpublished by the client" : "the stream ended");
    rtmfp_relay_unpublish (srv->relay, ns->publishing);
    ns->publishing = NULL;
    if (notify)
      stream_status (ns, "status", RTMFP_TC_UNPUBLISH_SUCCESS,
          "Stream unpublished.");
  }
  if (ns->player) {
    rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": stop playing %s/%s",
        ns->conn->id, ns->conn->app, ns->name);
    conn_event (ns->conn, "stop", ns->name, NULL, notify ?
        "stopped by the client" : "the stream ended");
    rtmfp_relay_stop (srv->relay, ns->player);
    ns->player = NULL;
    if (notify)
      stream_status (ns, "status", RTMFP_TC_PLAY_STOP, "Stopped playing.");
  }
}

static void
stream_free (gpointer data)
{
  NetStream *ns = data;

  stream_end (ns, FALSE);
  stream_close_flows (ns);
  g_free (ns->name);
  g_free (ns);
}

static NetStream *
stream_lookup (RtmfpServerConn * conn, guint32 id)
{
  return g_hash_table_lookup (conn->streams, GUINT_TO_POINTER (id));
}

/* The client ends a publication (closeStream, deleteStream, or the
 * connection) while flows of the stream are still open: what it sent on
 * them before may still be on its way, since flows are not ordered with
 * each other (RFC 7016 3.6; a deleteStream on the control flow overtakes
 * the last video frame, say).  The publication stays until those flows
 * are complete (the client closes them after its last message, RFC 7425
 * 5.3.6) or stream_end_linger_us has passed; meanwhile a new publisher
 * of the name takes it over at once (rtmfp_relay_stream_release).  TRUE if
 * it lingers; FALSE: nothing to wait for (or no lingering configured), end
 * it now. */
static gboolean
stream_linger (NetStream * ns)
{
  gint64 linger = ns->conn->srv->cfg.stream_end_linger_us;

  if (!ns->publishing || ns->n_recv_flows == 0 || linger <= 0)
    return FALSE;
  if (!ns->ending) {
    g_debug ("conn %" G_GUINT64_FORMAT ": stream %u ends once its %u "
        "flow(s) are complete", ns->conn->id, ns->id, ns->n_recv_flows);
    ns->ending = TRUE;
    ns->end_deadline = conn_now (ns->conn) + linger;
    rtmfp_relay_stream_release (ns->publishing);
  }
  return TRUE;
}

static gboolean
conn_lingering (RtmfpServerConn * conn)
{
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    if (((NetStream *) v)->ending)
      return TRUE;
  }
  return FALSE;
}

static void conn_stream_ended (RtmfpServerConn * conn);

/* A lingering publication is over (flows complete, or the deadline).
 * check_conn: then see whether a closing connection is over (which may
 * free it: the caller must not touch it afterwards) */
static void
stream_linger_done (NetStream * ns, gboolean check_conn)
{
  RtmfpServerConn *conn = ns->conn;

  stream_end (ns, FALSE);
  stream_close_flows (ns);
  if (ns->delete_when_ended)
    g_hash_table_remove (conn->streams, GUINT_TO_POINTER (ns->id));
  if (check_conn)
    conn_stream_ended (conn);
}

static void
stream_set_name (NetStream * ns, const gchar * name)
{
  g_free (ns->name);
  ns->name = name ? rtmfp_relay_normalize_name (name) : NULL;
}

static void
stream_publish (NetStream * ns, const gchar * name)
{
  RtmfpServerConn *conn = ns->conn;
  RtmfpServer *srv = conn->srv;
  gchar *desc;

  stream_end (ns, FALSE);
  ns->failed = FALSE;
  stream_set_name (ns, name);
  if (!ns->name || !*ns->name) {
    stream_status (ns, "error", RTMFP_TC_PUBLISH_BADNAME, "No stream name.");
    return;
  }
  if (rtmfp_server_publish_allowed (srv, conn->app, ns->name))
    ns->publishing = rtmfp_relay_publish_full (srv->relay, conn->app,
        ns->name, conn_now (conn), srv->cfg.publisher_idle_us,
        stream_evicted, ns);
  if (!ns->publishing) {
    desc = g_strdup_printf ("%s is already published.", ns->name);
    rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": publish %s/%s "
        "refused: already published", conn->id, conn->app, ns->name);
    conn_event (conn, "publish", ns->name, "refused", "already published");
    stream_status (ns, "error", RTMFP_TC_PUBLISH_BADNAME, desc);
    g_free (desc);
    return;
  }
  rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": publish %s/%s",
      conn->id, conn->app, ns->name);
  conn_event (conn, "publish", ns->name, "started", NULL);
  rtmfp_relay_stream_set_keyframe_func (ns->publishing,
      stream_keyframe_wanted, ns);
  send_user_control (conn, stream_flow (ns, RTMFP_RELAY_DATA),
      RTMFP_TC_EVENT_STREAM_BEGIN, ns->id, 0, 1);
  desc = g_strdup_printf ("%s is now published.", ns->name);
  stream_status (ns, "status", RTMFP_TC_PUBLISH_START, desc);
  g_free (desc);
}

/* A player asked for a keyframe: the publisher is asked on its stream */
static void
stream_keyframe_wanted (RtmfpRelayStream * stream, gpointer ud)
{
  NetStream *ns = ud;
  RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_null () };

  g_debug ("conn %" G_GUINT64_FORMAT ": stream %u: keyframe requested",
      ns->conn->id, ns->id);
  send_command (ns->conn, stream_flow (ns, RTMFP_RELAY_DATA),
      RTMFP_TC_REQUEST_KEYFRAME, 0.0, 1, args);
}

/* Another publisher took the name over while we were silent */
static void
stream_evicted (RtmfpRelayStream * stream, gpointer ud)
{
  NetStream *ns = ud;
  gchar *desc;

  if (ns->publishing != stream)
    return;
  ns->publishing = NULL;
  rtmfp_server_log (ns->conn->srv, "conn %" G_GUINT64_FORMAT ": %s/%s taken "
      "over by another publisher", ns->conn->id, ns->conn->app, ns->name);
  conn_event (ns->conn, "unpublish", ns->name, NULL,
      "taken over by another publisher");
  if (ns->ending)
    return;                     /* it was leaving anyway */
  desc = g_strdup_printf ("%s: no data for too long; the stream was taken "
      "over.", ns->name);
  stream_status (ns, "status", "NetStream.Publish.Idle", desc);
  g_free (desc);
}

/* start: the play command's start argument (-2 live or recorded, -1 live
 * only, >= 0 recorded only) */
static void
stream_play (NetStream * ns, const gchar * name, gdouble start)
{
  RtmfpServerConn *conn = ns->conn;
  RtmfpServer *srv = conn->srv;
  gchar *desc;

  stream_end (ns, FALSE);
  ns->failed = FALSE;
  stream_set_name (ns, name);
  if (!ns->name || !*ns->name ||
      (!rtmfp_relay_is_published (srv->relay, conn->app, ns->name) &&
          (start >= 0 || !srv->cfg.wait_for_publisher))) {
    desc = g_strdup_printf ("Failed to play %s; stream not found.",
        ns->name ? ns->name : "");
    rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": play %s/%s: not "
        "found", conn->id, conn->app, ns->name ? ns->name : "");
    conn_event (conn, "play", ns->name, "not-found", "stream not found");
    stream_status (ns, "error", RTMFP_TC_PLAY_STREAMNOTFOUND, desc);
    g_free (desc);
    return;
  }
  rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": play %s/%s", conn->id,
      conn->app, ns->name);
  conn_event (conn, "play", ns->name, "started", NULL);
  /* Figure 5: StreamBegin, then the status events, then the media */
  send_user_control (conn, stream_flow (ns, RTMFP_RELAY_DATA),
      RTMFP_TC_EVENT_STREAM_BEGIN, ns->id, 0, 1);
  desc = g_strdup_printf ("Playing and resetting %s.", ns->name);
  stream_status (ns, "status", RTMFP_TC_PLAY_RESET, desc);
  g_free (desc);
  desc = g_strdup_printf ("Started playing %s.", ns->name);
  stream_status (ns, "status", RTMFP_TC_PLAY_START, desc);
  g_free (desc);
  ns->player = rtmfp_relay_play (srv->relay, conn->app, ns->name,
      &player_funcs, ns);
  if (rtmfp_relay_is_published (srv->relay, conn->app, ns->name)) {
    /* a fresh keyframe starts the new player at once */
    rtmfp_relay_request_keyframe (srv->relay, ns->player, conn_now (conn));
  } else {
    /* waiting for a publisher: the stream is dry (no data) until then */
    send_user_control (conn, stream_flow (ns, RTMFP_RELAY_DATA),
        RTMFP_TC_EVENT_STREAM_DRY, ns->id, 0, 1);
  }
  /* a player that vanished (killed, unplugged) goes within seconds */
  if (srv->cfg.player_dead_peer_timeout_us > 0)
    rtmfp_session_set_dead_peer_timeout (conn->session,
        srv->cfg.player_dead_peer_timeout_us);
}

/* ---- the relay's view of a player ---- */

static void
player_send (gpointer ud, RtmfpRelayKind kind, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gint64 lifetime_us)
{
  NetStream *ns = ud;
  RtmfpServerConn *conn = ns->conn;
  RtmfpSendFlow *flow = stream_flow (ns, kind);
  gint64 deadline = RTMFP_NO_DEADLINE;

  if (!flow)
    return;
  if (lifetime_us > 0)
    deadline = conn_now (conn) + lifetime_us;
  g_byte_array_set_size (conn->scratch, 0);
  rtmfp_tc_message_append (conn->scratch, type, ts, payload, len);
  /* media is time critical (RFC 7016 3.5.2.1) */
  write_scratch (conn, flow, deadline, kind == RTMFP_RELAY_DATA ? 0 :
      RTMFP_WRITE_TIME_CRITICAL);
}

/* The relay's message, encoded once for all its players: queued by
 * reference, no copy per player */
static void
player_send_tc (gpointer ud, RtmfpRelayKind kind, GBytes * tc_message,
    gint64 lifetime_us)
{
  NetStream *ns = ud;
  RtmfpServerConn *conn = ns->conn;
  RtmfpSendFlow *flow = stream_flow (ns, kind);
  gint64 deadline = RTMFP_NO_DEADLINE;

  if (!flow || !session_open (conn))
    return;
  if (lifetime_us > 0)
    deadline = conn_now (conn) + lifetime_us;
  /* media is time critical (RFC 7016 3.5.2.1) */
  if (!rtmfp_session_write_bytes (conn->session, flow, tc_message, deadline,
          kind == RTMFP_RELAY_DATA ? 0 : RTMFP_WRITE_TIME_CRITICAL,
          conn_now (conn)))
    g_debug ("conn %" G_GUINT64_FORMAT ": write refused", conn->id);
}

static gsize
player_queued_bytes (gpointer ud, RtmfpRelayKind kind)
{
  NetStream *ns = ud;

  if (!ns->flows[kind] || !session_open (ns->conn))
    return 0;
  return rtmfp_send_flow_get_queued_bytes (ns->flows[kind]);
}

static void
player_flush (gpointer ud, RtmfpRelayKind kind)
{
  NetStream *ns = ud;

  if (ns->flows[kind] && session_open (ns->conn))
    rtmfp_send_flow_abandon_all (ns->flows[kind]);
}

static void
player_status (gpointer ud, const gchar * level, const gchar * code,
    const gchar * description)
{
  stream_status (ud, level, code, description);
}

static const RtmfpRelayPlayerFuncs player_funcs = {
  .send = player_send,
  .queued_bytes = player_queued_bytes,
  .flush = player_flush,
  .status = player_status,
  .send_tc = player_send_tc,
};

/* ------------------------------------------------------------------------ */
/* NetConnection commands (stream 0) */

static RtmfpAmfNode *
connect_properties (void)
{
  RtmfpAmfNode *p = rtmfp_amf_node_new_object ();

  rtmfp_amf_node_append_field_string (p, "fmsVer", "FMS/3,5,7,7009", -1);
  rtmfp_amf_node_append_field_number (p, "capabilities", 31);
  rtmfp_amf_node_append_field_number (p, "mode", 1);
  return p;
}

/* The application from the connect object: "app", else from "tcUrl" */
static gchar *
connect_app (const RtmfpAmfNode * obj)
{
  const gchar *s = rtmfp_amf_node_peek_field_string (obj, "app", NULL);
  RtmfpUri uri;
  gchar *app = NULL;

  if (s)
    return g_strdup (s);
  s = rtmfp_amf_node_peek_field_string (obj, "tcUrl", NULL);
  if (s && rtmfp_uri_parse (s, FALSE, &uri, NULL)) {
    app = g_strdup (uri.app);
    rtmfp_uri_clear (&uri);
  }
  return app;
}

static void
handle_connect (RtmfpServerConn * conn, RtmfpRecvFlow * f, gdouble txn,
    GPtrArray * args)
{
  RtmfpServer *srv = conn->srv;
  const RtmfpAmfNode *obj = args->len > 0 ? args->pdata[0] : NULL;
  RtmfpAmfNode *reply[2];
  GByteArray *md;
  gchar *desc, *proof = NULL;
  guint8 near[RTMFP_SHA256_SIZE], far[RTMFP_SHA256_SIZE];
  gboolean have_nonces = rtmfp_session_get_nonces (conn->session, near, far);

  if (conn->state != CONN_AWAIT_CONNECT) {
    g_debug ("conn %" G_GUINT64_FORMAT ": connect again, ignored", conn->id);
    return;
  }
  g_free (conn->app);
  {
    gchar *app = connect_app (obj);

    /* the same key as RTMP connections use for the relay */
    conn->app = rtmfp_server_normalize_app (app);
    g_free (app);
  }

  /* 5.3.2: return control flow, stream 0, associated to the client's */
  md = g_byte_array_new ();
  rtmfp_tc_metadata_append (md, 0, FALSE);
  conn->ctrl_send = rtmfp_session_open_flow (conn->session, md->data, md->len,
      f);
  g_byte_array_unref (md);

  desc = NULL;
  if (!rtmfp_server_app_allowed (srv, conn->app))
    desc = g_strdup_printf ("Application '%s' is not available.", conn->app);
  else if (!rtmfp_server_auth_ok (srv, conn->app, args, 1,
          have_nonces ? near : NULL, &proof))
    desc = g_strdup ("Authentication failed.");
  if (desc) {
    srv->connects_rejected++;
    rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": connect to '%s' "
        "rejected: %s", conn->id, conn->app, desc);
    conn_event (conn, "connect", NULL, "rejected", desc);
    conn->close_reason = "connect rejected";
    reply[0] = rtmfp_amf_node_new_null ();
    reply[1] = rtmfp_tc_status_new ("error", RTMFP_TC_CONNECT_REJECTED, desc);
    g_free (desc);
    send_command (conn, conn->ctrl_send, "_error", txn, 2, reply);
    conn->state = CONN_REJECTED;
    /* 5.3.6: closing our control flow ends the connection; what is queued
     * (the _error) is still delivered */
    if (conn->ctrl_send)
      rtmfp_session_close_flow (conn->session, conn->ctrl_send,
          conn_now (conn));
    conn->ctrl_send = NULL;
    return;
  }

  srv->connects_accepted++;
  conn->state = CONN_CONNECTED;
  rtmfp_server_log (srv, "conn %" G_GUINT64_FORMAT ": connected to '%s'",
      conn->id, conn->app);
  conn_event (conn, "connect", NULL, "accepted", NULL);
  reply[0] = connect_properties ();
  reply[1] = rtmfp_tc_status_new ("status", RTMFP_TC_CONNECT_SUCCESS,
      "Connection succeeded.");
  rtmfp_amf_node_append_field_number (reply[1], "objectEncoding", 0);
  if (proof && have_nonces) {
    /* we know the token: hashed with the client's nonce (tcserver) */
    gchar *h = rtmfp_hmac_sha256_hex (far, sizeof far, proof);
    rtmfp_amf_node_append_field_string (reply[1], "authToken", h, -1);
    g_free (h);
  }
  g_free (proof);
  send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
  /* 5.3.4 Set Keepalive Timers */
  if (srv->cfg.keepalive_server_ms)
    send_user_control (conn, conn->ctrl_send, RTMFP_TC_EVENT_SET_KEEPALIVE,
        srv->cfg.keepalive_server_ms, srv->cfg.keepalive_peer_ms, 2);
}

static void
call_failed (RtmfpServerConn * conn, RtmfpSendFlow * flow, gdouble txn,
    const gchar * what)
{
  RtmfpAmfNode *reply[2];

  if (txn <= 0)                 /* no answer expected */
    return;
  reply[0] = rtmfp_amf_node_new_null ();
  reply[1] = rtmfp_tc_status_new ("error", RTMFP_TC_CALL_FAILED, what);
  send_command (conn, flow, "_error", txn, 2, reply);
}

static void
handle_create_stream (RtmfpServerConn * conn, gdouble txn)
{
  RtmfpAmfNode *reply[2];
  NetStream *ns;
  guint32 id;

  if (g_hash_table_size (conn->streams) >=
      conn->srv->cfg.max_streams_per_connection) {
    call_failed (conn, conn->ctrl_send, txn, "Too many streams.");
    return;
  }
  /* stream IDs are 24-bit (RFC 7425 5.1); 0 is the NetConnection */
  do {
    id = conn->next_stream_id++;
    if (conn->next_stream_id > 0xffffff)
      conn->next_stream_id = 1;
  } while (stream_lookup (conn, id));

  ns = g_new0 (NetStream, 1);
  ns->conn = conn;
  ns->id = id;
  g_hash_table_insert (conn->streams, GUINT_TO_POINTER (id), ns);
  g_debug ("conn %" G_GUINT64_FORMAT ": stream %u created", conn->id, id);

  reply[0] = rtmfp_amf_node_new_null ();
  reply[1] = rtmfp_amf_node_new_number (id);
  send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
}

static void
delete_stream (RtmfpServerConn * conn, GPtrArray * args)
{
  const RtmfpAmfNode *n = args->len > 1 ? args->pdata[1] : NULL;
  NetStream *ns;
  gdouble v;

  if (!n || rtmfp_amf_node_get_type (n) != RTMFP_AMF_TYPE_NUMBER)
    return;
  v = rtmfp_amf_node_get_number (n);
  if (v < 1 || v > 0xffffff || v != (guint32) v)
    return;
  ns = stream_lookup (conn, (guint32) v);
  if (!ns)
    return;
  if (stream_linger (ns)) {
    ns->delete_when_ended = TRUE;
    return;
  }
  /* frees the NetStream: unpublishes, stops, closes its flows */
  g_hash_table_remove (conn->streams, GUINT_TO_POINTER ((guint32) v));
}

/* 5.3.3: ("setPeerInfo", 0, null, "addr:port", ...) */
static void
handle_set_peer_info (RtmfpServerConn * conn, GPtrArray * args)
{
  const RtmfpAddr *far = rtmfp_session_get_far_address (conn->session);
  gboolean far_listed = FALSE;
  guint i;

  g_array_set_size (conn->peer_addrs, 0);
  for (i = 1; i < args->len; i++) {
    const gchar *s;
    RtmfpAddr a;

    if (rtmfp_amf_node_get_type (args->pdata[i]) != RTMFP_AMF_TYPE_STRING)
      continue;
    s = rtmfp_amf_node_peek_string (args->pdata[i], NULL);
    if (!rtmfp_addr_from_string (&a, s, 0)) {
      g_debug ("conn %" G_GUINT64_FORMAT ": setPeerInfo: bad address '%s'",
          conn->id, s);
      continue;
    }
    if (far && rtmfp_addr_equal (&a, far))
      far_listed = TRUE;
    if (conn->peer_addrs->len < MAX_PEER_ADDRESSES)
      g_array_append_val (conn->peer_addrs, a);
  }
  /* the client is behind a NAT iff its observed address is not listed */
  conn->behind_nat = !far_listed;
  rtmfp_server_log (conn->srv, "conn %" G_GUINT64_FORMAT ": setPeerInfo, %u "
      "address(es)%s", conn->id, conn->peer_addrs->len,
      conn->behind_nat ? ", behind a NAT" : "");
}

static gchar *
direct_key (const gchar * app, const gchar * name)
{
  gchar *norm = rtmfp_relay_normalize_name (name);
  gchar *key = g_strdup_printf ("%" G_GSIZE_FORMAT ":%s/%s", strlen (app),
      app, norm);

  g_free (norm);
  return key;
}

/* publishDirect (null, name): this connection publishes name peer to peer
 * (RFC 7425 5.4); players may ask for its peer ID with lookupPeer.  The
 * latest publisher of a name wins (a restarted publisher has a new peer
 * ID; the old one is gone or going). */
static void
handle_publish_direct (RtmfpServerConn * conn, gdouble txn, GPtrArray * args)
{
  const gchar *name = args->len > 1 &&
      rtmfp_amf_node_get_type (args->pdata[1]) == RTMFP_AMF_TYPE_STRING ?
      rtmfp_amf_node_peek_string (args->pdata[1], NULL) : NULL;
  RtmfpAmfNode *reply[2];

  if (!name || !*name || !rtmfp_session_get_far_fingerprint (conn->session)) {
    call_failed (conn, conn->ctrl_send, txn, "No stream name.");
    return;
  }
  g_hash_table_replace (conn->srv->direct, direct_key (conn->app, name),
      conn);
  rtmfp_server_log (conn->srv, "conn %" G_GUINT64_FORMAT ": publishes %s/%s "
      "peer to peer", conn->id, conn->app, name);
  if (txn > 0) {
    reply[0] = rtmfp_amf_node_new_null ();
    reply[1] = rtmfp_amf_node_new_undefined ();
    send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
  }
}

gchar *
rtmfp_server_lookup_direct (RtmfpServer * srv, const gchar * app,
    const gchar * name)
{
  gchar *key = direct_key (app, name);
  RtmfpServerConn *pub = g_hash_table_lookup (srv->direct, key);
  const guint8 *fp;

  g_free (key);
  if (!pub || pub->state != CONN_CONNECTED || !session_open (pub))
    return NULL;
  fp = rtmfp_session_get_far_fingerprint (pub->session);
  return fp ? rtmfp_fingerprint_to_hex (fp) : NULL;
}

/* lookupPeer (null, name): the peer ID of name's direct publisher */
static void
handle_lookup_peer (RtmfpServerConn * conn, gdouble txn, GPtrArray * args)
{
  const gchar *name = args->len > 1 &&
      rtmfp_amf_node_get_type (args->pdata[1]) == RTMFP_AMF_TYPE_STRING ?
      rtmfp_amf_node_peek_string (args->pdata[1], NULL) : NULL;
  gchar *hex = name ? rtmfp_server_lookup_direct (conn->srv, conn->app,
      name) : NULL;
  RtmfpAmfNode *reply[2];

  if (txn <= 0) {
    g_free (hex);
    return;
  }
  reply[0] = rtmfp_amf_node_new_null ();
  if (hex) {
    reply[1] = rtmfp_amf_node_new_take_string (hex, -1);
    send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
  } else {
    gchar *desc = g_strdup_printf ("%s is not published peer to peer.",
        name ? name : "");
    reply[1] = rtmfp_tc_status_new ("error", RTMFP_TC_PLAY_STREAMNOTFOUND,
        desc);
    g_free (desc);
    send_command (conn, conn->ctrl_send, "_error", txn, 2, reply);
  }
}

static void
handle_control_command (RtmfpServerConn * conn, RtmfpRecvFlow * f,
    const gchar * name, gdouble txn, GPtrArray * args)
{
  if (g_str_equal (name, "connect")) {
    handle_connect (conn, f, txn, args);
    return;
  }
  if (conn->state != CONN_CONNECTED) {
    g_debug ("conn %" G_GUINT64_FORMAT ": '%s' before connect, ignored",
        conn->id, name);
    return;
  }
  if (g_str_equal (name, "createStream"))
    handle_create_stream (conn, txn);
  else if (g_str_equal (name, "deleteStream"))
    delete_stream (conn, args);
  else if (g_str_equal (name, "setPeerInfo")) {
    handle_set_peer_info (conn, args);
    /* 5.3.3 sends it with transaction ID 0 (no answer); answer others */
    if (txn > 0) {
      RtmfpAmfNode *reply[2] = { rtmfp_amf_node_new_null (),
        rtmfp_amf_node_new_undefined ()
      };
      send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
    }
  } else if (g_str_equal (name, RTMFP_TC_PUBLISH_DIRECT)) {
    handle_publish_direct (conn, txn, args);
  } else if (g_str_equal (name, RTMFP_TC_LOOKUP_PEER)) {
    handle_lookup_peer (conn, txn, args);
  } else if (g_str_equal (name, "releaseStream") ||
      g_str_equal (name, "FCPublish") || g_str_equal (name, "FCUnpublish")) {
    /* RTMP encoder habits: acknowledged, nothing to do */
    if (txn > 0) {
      RtmfpAmfNode *reply[2] = { rtmfp_amf_node_new_null (),
        rtmfp_amf_node_new_undefined ()
      };
      send_command (conn, conn->ctrl_send, "_result", txn, 2, reply);
    }
  } else {
    gchar *what = g_strdup_printf ("Method not found (%s).", name);
    call_failed (conn, conn->ctrl_send, txn, what);
    g_free (what);
  }
}

/* ------------------------------------------------------------------------ */
/* Stream commands and media (stream N) */

static const gchar *
arg_string (GPtrArray * args, guint i)
{
  if (i >= args->len ||
      rtmfp_amf_node_get_type (args->pdata[i]) != RTMFP_AMF_TYPE_STRING)
    return NULL;
  return rtmfp_amf_node_peek_string (args->pdata[i], NULL);
}

static void
handle_stream_command (NetStream * ns, const gchar * name, gdouble txn,
    GPtrArray * args)
{
  RtmfpServerConn *conn = ns->conn;

  /* args[0] is the (null) command object */
  if (g_str_equal (name, "publish")) {
    const gchar *s = arg_string (args, 1);
    if (s)
      stream_publish (ns, s);
    else
      stream_end (ns, TRUE);    /* publish(false): unpublish */
  } else if (g_str_equal (name, "play")) {
    const gchar *s = arg_string (args, 1);
    gdouble start = -2;
    if (args->len > 2 &&
        rtmfp_amf_node_get_type (args->pdata[2]) == RTMFP_AMF_TYPE_NUMBER)
      start = rtmfp_amf_node_get_number (args->pdata[2]);
    if (s)
      stream_play (ns, s, start);
    else
      stream_end (ns, TRUE);    /* play(false): stop */
  } else if (g_str_equal (name, "closeStream")) {
    if (!stream_linger (ns))
      stream_end (ns, FALSE);
  } else if (g_str_equal (name, "deleteStream")) {
    delete_stream (conn, args);
  } else if (g_str_equal (name, RTMFP_TC_REQUEST_KEYFRAME)) {
    if (ns->player)
      rtmfp_relay_request_keyframe (conn->srv->relay, ns->player,
          conn_now (conn));
  } else if (g_str_equal (name, "receiveAudio") ||
      g_str_equal (name, "receiveVideo") || g_str_equal (name, "pause") ||
      g_str_equal (name, "seek")) {
    g_debug ("conn %" G_GUINT64_FORMAT ": '%s' ignored", conn->id, name);
  } else {
    gchar *what = g_strdup_printf ("Method not found (%s).", name);
    call_failed (conn, stream_flow (ns, RTMFP_RELAY_DATA), txn, what);
    g_free (what);
  }
}

static void
handle_stream_message (NetStream * ns, const RtmfpTcMessage * msg)
{
  switch (msg->type) {
    case RTMFP_TC_MSG_AUDIO:
    case RTMFP_TC_MSG_VIDEO:
    case RTMFP_TC_MSG_DATA_AMF0:
    case RTMFP_TC_MSG_DATA_AMF3:
      if (ns->publishing) {
        rtmfp_relay_stream_set_active (ns->publishing, conn_now (ns->conn));
        rtmfp_relay_stream_push (ns->publishing, msg->type, msg->timestamp,
            msg->payload, msg->len);
      } else
        g_debug ("conn %" G_GUINT64_FORMAT ": stream %u: %s message while "
            "not publishing, ignored", ns->conn->id, ns->id,
            rtmfp_tc_message_type_get_nick (msg->type));
      break;
    default:
      g_debug ("conn %" G_GUINT64_FORMAT ": stream %u: %s message ignored",
          ns->conn->id, ns->id, rtmfp_tc_message_type_get_nick (msg->type));
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Receiving flows */

static gboolean
flow_stream_id (RtmfpRecvFlow * f, guint32 * sid, gboolean * rxi)
{
  gsize len;
  const guint8 *md = rtmfp_recv_flow_get_metadata (f, &len);

  return rtmfp_tc_metadata_parse (md, len, sid, rxi);
}

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  RtmfpServerConn *conn = ud;
  RtmfpTcMessage msg;
  NetStream *ns = NULL;
  GPtrArray *args;
  gchar *name = NULL;
  gdouble txn = 0;
  guint32 sid;

  if (conn->state == CONN_CLOSED || conn->state == CONN_REJECTED ||
      !flow_stream_id (f, &sid, NULL))
    return;
  if (!rtmfp_tc_message_parse (data, len, &msg) ||
      rtmfp_tc_message_type_is_chunk_control (msg.type))
    return;                     /* 5.1: MUST be ignored */
  if (sid != 0) {
    ns = stream_lookup (conn, sid);
    if (!ns)
      return;                   /* deleted meanwhile */
    /* media abandoned by the publisher: players wait for a keyframe
     * rather than decode from a broken reference */
    if (gap && ns->publishing && msg.type == RTMFP_TC_MSG_VIDEO)
      rtmfp_relay_stream_discont (ns->publishing);
  }

  if (msg.type != RTMFP_TC_MSG_COMMAND_AMF0 &&
      msg.type != RTMFP_TC_MSG_COMMAND_AMF3) {
    if (ns)
      handle_stream_message (ns, &msg);
    return;
  }
  if (conn->state == CONN_CLOSING)
    return;                     /* what is still on its way is media */
  args = rtmfp_tc_command_parse (&msg, &name, &txn);
  if (!args) {
    g_debug ("conn %" G_GUINT64_FORMAT ": malformed command", conn->id);
    return;
  }
  if (ns)
    handle_stream_command (ns, name, txn, args);
  else
    handle_control_command (conn, f, name, txn, args);
  g_ptr_array_unref (args);
  g_free (name);
}

/* 5.3.6: the client closed its control flow: an orderly close.  We close
 * our sending flows; the connection is over when the client's receiving
 * flows are complete too: publications linger until then (what they
 * still carry is relayed), bounded by LINGER_US. */
static void
conn_close_orderly (RtmfpServerConn * conn)
{
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    NetStream *ns = v;

    if (!stream_linger (ns)) {
      stream_end (ns, FALSE);
      stream_close_flows (ns);
    }
  }
  if (!conn_lingering (conn)) {
    rtmfp_server_conn_close (conn);
    return;
  }
  conn->state = CONN_CLOSING;
  conn->close_deadline = conn_now (conn) + LINGER_US;
  if (conn->ctrl_send && session_open (conn))
    rtmfp_session_close_flow (conn->session, conn->ctrl_send,
        conn_now (conn));
  conn->ctrl_send = NULL;
}

/* After a lingering publication ended: a closing connection is over when
 * none is left */
static void
conn_stream_ended (RtmfpServerConn * conn)
{
  if (conn->state == CONN_CLOSING && !conn_lingering (conn))
    rtmfp_server_conn_close (conn);
}

static void
on_complete (RtmfpRecvFlow * f, gpointer ud)
{
  RtmfpServerConn *conn = ud;
  NetStream *ns;
  guint32 sid;

  if (conn->state == CONN_CLOSED)
    return;
  if (f == conn->ctrl_recv) {
    conn->ctrl_recv = NULL;
    rtmfp_server_log (conn->srv, "conn %" G_GUINT64_FORMAT ": closed by the "
        "client", conn->id);
    conn->close_reason = "closed by the client";
    conn_close_orderly (conn);
    return;
  }
  if (!flow_stream_id (f, &sid, NULL) || sid == 0)
    return;
  ns = stream_lookup (conn, sid);
  if (!ns || ns->n_recv_flows == 0)
    return;
  /* the last flow of a stream gone: nothing can come on it any more */
  if (--ns->n_recv_flows == 0) {
    if (ns->ending)
      stream_linger_done (ns, TRUE);    /* may free ns, or conn */
    else {
      stream_end (ns, FALSE);
      stream_close_flows (ns);
    }
  }
}

gboolean
rtmfp_server_conn_flow_opened (RtmfpServerConn * conn, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc)
{
  guint32 sid;
  gboolean rxi;
  NetStream *ns;

  /* 5.1.1: reject flows that are not TC flows with a stream ID */
  if (!flow_stream_id (f, &sid, &rxi)) {
    g_debug ("conn %" G_GUINT64_FORMAT ": non-TC flow rejected", conn->id);
    return FALSE;
  }
  if (conn->state == CONN_CLOSED || conn->state == CONN_REJECTED ||
      conn->state == CONN_CLOSING)
    return FALSE;

  if (sid == 0) {
    if (!conn->ctrl_recv) {
      if (assoc)
        return FALSE;           /* 5.3.1: the control flow stands alone */
      conn->ctrl_recv = f;
    }
    rtmfp_recv_flow_set_delivery (f, rxi, on_message, on_complete, conn);
    return TRUE;
  }

  /* 5.3.5.1: stream flows of a stream created by createStream */
  if (conn->state != CONN_CONNECTED || !(ns = stream_lookup (conn, sid))) {
    g_debug ("conn %" G_GUINT64_FORMAT ": flow for unknown stream %u "
        "rejected", conn->id, sid);
    return FALSE;
  }
  ns->n_recv_flows++;
  rtmfp_recv_flow_set_buffer_capacity (f, STREAM_FLOW_BUFFER);
  rtmfp_recv_flow_set_delivery (f, rxi, on_message, on_complete, conn);
  return TRUE;
}

void
rtmfp_server_conn_send_flow_exception (RtmfpServerConn * conn,
    RtmfpSendFlow * f, guint64 code)
{
  GHashTableIter it;
  gpointer v;
  guint k;

  if (f == conn->ctrl_send) {
    /* 5.3.6: exception on our control flow: the client went away */
    rtmfp_server_log (conn->srv, "conn %" G_GUINT64_FORMAT ": control flow "
        "rejected by the client", conn->id);
    conn->ctrl_send = NULL;
    rtmfp_server_conn_close (conn);
    return;
  }
  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    NetStream *ns = v;
    for (k = 0; k < RTMFP_RELAY_N_KINDS; k++) {
      if (ns->flows[k] == f) {
        /* 5.3.5.3: the client refuses the stream; don't reopen flows */
        g_debug ("conn %" G_GUINT64_FORMAT ": stream %u flow rejected "
            "(code %" G_GUINT64_FORMAT ")", conn->id, ns->id, code);
        stream_end (ns, FALSE);
        stream_close_flows (ns);
        ns->failed = TRUE;
        return;
      }
    }
  }
}

/* ------------------------------------------------------------------------ */

RtmfpServerConn *
rtmfp_server_conn_new (RtmfpServer * srv, RtmfpSession * s, guint64 id)
{
  RtmfpServerConn *conn = g_new0 (RtmfpServerConn, 1);

  conn->srv = srv;
  conn->session = rtmfp_session_ref (s);
  conn->id = id;
  conn->state = CONN_AWAIT_CONNECT;
  conn->peer_addrs = g_array_new (FALSE, FALSE, sizeof (RtmfpAddr));
  conn->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      stream_free);
  conn->next_stream_id = 1;
  conn->scratch = g_byte_array_new ();
  return conn;
}

/* Ends every stream (publications and players), closes our flows */
static void
conn_teardown (RtmfpServerConn * conn)
{
  g_hash_table_remove_all (conn->streams);
  if (conn->ctrl_send && session_open (conn))
    rtmfp_session_close_flow (conn->session, conn->ctrl_send,
        conn_now (conn));
  conn->ctrl_send = NULL;
  conn->ctrl_recv = NULL;
  conn->state = CONN_CLOSED;
}

void
rtmfp_server_conn_close (RtmfpServerConn * conn)
{
  RtmfpSession *s;

  if (conn->state == CONN_CLOSED)
    return;
  conn_teardown (conn);
  /* last: closing may call back and free conn */
  s = conn->session;
  if (rtmfp_session_get_state (s) == RTMFP_SESSION_OPEN)
    rtmfp_session_close (s, conn_now (conn));
}

void
rtmfp_server_conn_poll (RtmfpServerConn * conn)
{
  gint64 now = conn_now (conn);
  GList *ending = NULL, *l;
  GHashTableIter it;
  gpointer v;

  /* a session closed by the far end lingers (RFC 7016 3.5.5) before it is
   * reported closed: end its streams now */
  if (conn->state != CONN_CLOSED && !session_open (conn)) {
    rtmfp_server_log (conn->srv, "conn %" G_GUINT64_FORMAT ": session %s",
        conn->id,
        rtmfp_session_state_get_nick (rtmfp_session_get_state
            (conn->session)));
    if (!conn->close_reason &&
        rtmfp_session_get_state (conn->session) ==
        RTMFP_SESSION_FARCLOSE_LINGER)
      conn->close_reason = "the client closed the session";
    conn_teardown (conn);
    rtmfp_server_conn_closed_event (conn);
    return;
  }
  if (conn->state == CONN_CLOSING && now >= conn->close_deadline) {
    rtmfp_server_conn_close (conn);     /* may free conn */
    return;
  }
  /* publications past their lingering time */
  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    NetStream *ns = v;

    if (ns->ending && now >= ns->end_deadline)
      ending = g_list_prepend (ending, GUINT_TO_POINTER (ns->id));
  }
  for (l = ending; l; l = l->next) {
    NetStream *ns = stream_lookup (conn, GPOINTER_TO_UINT (l->data));

    if (ns && ns->ending) {
      g_debug ("conn %" G_GUINT64_FORMAT ": stream %u: its flows did not "
          "complete in time", conn->id, ns->id);
      stream_linger_done (ns, FALSE);
    }
  }
  g_list_free (ending);
  conn_stream_ended (conn);     /* last: may free conn */
}

static gboolean
is_value (gpointer key, gpointer value, gpointer data)
{
  return value == data;
}

void
rtmfp_server_conn_free (RtmfpServerConn * conn)
{
  if (!conn)
    return;
  /* no longer a direct publisher of anything */
  g_hash_table_foreach_remove (conn->srv->direct, is_value, conn);
  g_hash_table_unref (conn->streams);   /* ends streams, other players told */
  if (conn->ctrl_send && session_open (conn))
    rtmfp_session_close_flow (conn->session, conn->ctrl_send,
        conn_now (conn));
  rtmfp_session_unref (conn->session);
  g_array_unref (conn->peer_addrs);
  g_byte_array_unref (conn->scratch);
  g_free (conn->app);
  g_free (conn);
}

gboolean
rtmfp_server_conn_is_connected (const RtmfpServerConn * conn)
{
  return conn->state == CONN_CONNECTED;
}

void
rtmfp_server_conn_closed_event (RtmfpServerConn * conn)
{
  const GError *err = rtmfp_session_get_error (conn->session);

  if (conn->close_reported)
    return;
  conn->close_reported = TRUE;
  /* its streams end first (their unpublish / stop events) */
  if (conn->state != CONN_CLOSED)
    conn_teardown (conn);
  conn_event (conn, "close", NULL, NULL, conn->close_reason ?
      conn->close_reason : err ? err->message : "closed by the server");
}

RtmfpSession *
rtmfp_server_conn_get_session (const RtmfpServerConn * conn)
{
  return conn->session;
}

const RtmfpAddr *
rtmfp_server_conn_get_peer_addresses (const RtmfpServerConn * conn, guint * n)
{
  *n = conn->peer_addrs->len;
  return (const RtmfpAddr *) conn->peer_addrs->data;
}
