/* rtmfp-server: RTMP connections on the server object (see the "RTMP
 * connections" part of rtmfpserver.h).  Glue between one RtmpConn (the
 * sans-I/O RTMP protocol layer, rtmp/rtmpconn.h) and the relay the RTMFP
 * side uses, so both protocols share applications and stream names:
 *
 *   RtmpConn callback          server
 *   on_connect                 rtmfp_server_app_allowed -> accept / reject
 *   on_publish                 rtmfp_relay_publish (NULL: Publish.BadName)
 *   on_play                    rtmp_conn_play_ok, then rtmfp_relay_play
 *   on_media                   rtmfp_relay_stream_push
 *   on_close_stream            rtmfp_relay_unpublish / rtmfp_relay_stop
 *
 *   relay player function      RtmpConn
 *   send                       rtmp_conn_send_media
 *   queued_bytes               rtmp_conn_get_queued_bytes (not yet chunked)
 *   flush                      rtmp_conn_drop_queued
 *   status                     rtmp_conn_send_status
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "rtmfpserverpriv.h"
#include "rtmpconn.h"
#include "rtmfptc.h"

#include <string.h>

typedef struct {
  RtmfpServerRtmpConn *rc;
  guint32 id;                   /* RTMP message stream ID */
  gchar *name;                  /* normalized stream name */
  RtmfpRelayStream *publishing;
  RtmfpRelayPlayer *player;
} RtmpStream;

struct _RtmfpServerRtmpConn {
  RtmfpServer *srv;             /* NULL once detached (server freed) */
  RtmpConn *rtmp;
  guint64 id;
  gchar *peer;
  gchar *app;                   /* normalized, from connect */
  gboolean connected;
  gboolean dropped;             /* close at once, output not worth writing */
  gboolean in_feed;
  gint64 created;
  GHashTable *streams;          /* message stream ID -> RtmpStream (owned) */
  RtmfpServerRtmpWakeFunc wake;
  gpointer wake_data;
  gchar *close_reason;          /* for the "close" event, if known */
};

static const RtmfpRelayPlayerFuncs rtmp_player_funcs;
static void stream_evicted (RtmfpRelayStream * stream, gpointer ud);

/* An event of this connection (RtmfpServerConfig.on_event) */
static void
rc_event (RtmfpServerRtmpConn * rc, const gchar * event, const gchar * stream,
    const gchar * result, const gchar * reason)
{
  if (rc->srv && rc->srv->cfg.on_event)
    rtmfp_server_event (rc->srv, event, "rtmp", rc->id, rc->peer, rc->app,
        stream, result, reason);
}

static void
rc_set_close_reason (RtmfpServerRtmpConn * rc, const gchar * reason)
{
  if (!rc->close_reason)
    rc->close_reason = g_strdup (reason);
}

static void
rc_log (RtmfpServerRtmpConn * rc, const gchar * fmt, ...) G_GNUC_PRINTF (2, 3);

static void
rc_log (RtmfpServerRtmpConn * rc, const gchar * fmt, ...)
{
  va_list ap;
  gchar *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (rc->srv)
    rtmfp_server_log (rc->srv, "rtmp %" G_GUINT64_FORMAT " (%s): %s", rc->id,
        rc->peer, msg);
  g_free (msg);
}

static void
rc_wake (RtmfpServerRtmpConn * rc)
{
  /* during a feed the driver writes afterwards anyway */
  if (!rc->in_feed && rc->wake)
    rc->wake (rc, rc->wake_data);
}

/* A client that does not take its output (or did not connect in time):
 * closed at once.  Its streams end when the driver frees it, never from
 * here (this may run inside the relay's loop over players). */
static void
rc_drop (RtmfpServerRtmpConn * rc, const gchar * why)
{
  if (rc->dropped)
    return;
  rc->dropped = TRUE;
  rtmp_conn_close (rc->rtmp);
  if (rc->srv)
    rc->srv->rtmp_dropped++;
  rc_log (rc, "dropped: %s", why);
  rc_set_close_reason (rc, why);
  rc_wake (rc);
}

static void
rc_check_output (RtmfpServerRtmpConn * rc)
{
  if (rc->srv && !rc->dropped &&
      rtmp_conn_get_output_size (rc->rtmp) > rc->srv->cfg.rtmp_max_output)
    rc_drop (rc, "output not taken (the client does not read)");
}

/* ------------------------------------------------------------------------ */
/* Streams */

/* Ends publishing / playing (players of a publication get UnpublishNotify
 * from the relay) */
static void
stream_end (RtmpStream * st)
{
  RtmfpServerRtmpConn *rc = st->rc;
  RtmfpServer *srv = rc->srv;

  if (!srv) {
    st->publishing = NULL;
    st->player = NULL;
    return;
  }
  if (st->publishing) {
    rc_log (rc, "unpublish %s/%s", rc->app, st->name);
    rc_event (rc, "unpublish", st->name, NULL, "the stream ended");
    rtmfp_relay_unpublish (srv->relay, st->publishing);
    st->publishing = NULL;
  }
  if (st->player) {
    rc_log (rc, "stop playing %s/%s", rc->app, st->name);
    rc_event (rc, "stop", st->name, NULL, "the stream ended");
    rtmfp_relay_stop (srv->relay, st->player);
    st->player = NULL;
  }
}

static void
stream_free (gpointer data)
{
  RtmpStream *st = data;

  stream_end (st);
  g_free (st->name);
  g_free (st);
}

static RtmpStream *
stream_lookup (RtmfpServerRtmpConn * rc, guint32 id)
{
  return g_hash_table_lookup (rc->streams, GUINT_TO_POINTER (id));
}

/* A fresh record for a publish / play on that message stream */
static RtmpStream *
stream_new (RtmfpServerRtmpConn * rc, guint32 id, const gchar * name)
{
  RtmpStream *st = g_new0 (RtmpStream, 1);

  st->rc = rc;
  st->id = id;
  st->name = rtmfp_relay_normalize_name (name);
  /* replaces (and ends) what was left on that ID */
  g_hash_table_replace (rc->streams, GUINT_TO_POINTER (id), st);
  return st;
}

/* Another publisher took the name over while we were silent (a stalled
 * TCP connection, say) */
static void
stream_evicted (RtmfpRelayStream * stream, gpointer ud)
{
  RtmpStream *st = ud;
  RtmfpServerRtmpConn *rc = st->rc;
  gchar *desc;

  if (st->publishing != stream)
    return;
  st->publishing = NULL;
  rc_log (rc, "%s/%s taken over by another publisher", rc->app, st->name);
  rc_event (rc, "unpublish", st->name, NULL,
      "taken over by another publisher");
  desc = g_strdup_printf ("%s: no data for too long; the stream was taken "
      "over.", st->name);
  rtmp_conn_send_status (rc->rtmp, st->id, "status",
      "NetStream.Publish.Idle", desc);
  g_free (desc);
  rc_wake (rc);
}

/* ---- the relay's view of an RTMP player ---- */

static guint8
kind_type (RtmfpRelayKind kind)
{
  switch (kind) {
    case RTMFP_RELAY_AUDIO:
      return RTMP_MSG_AUDIO;
    case RTMFP_RELAY_VIDEO:
      return RTMP_MSG_VIDEO;
    default:
      return RTMP_MSG_DATA_AMF0;
  }
}

static void
player_send (gpointer ud, RtmfpRelayKind kind, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gint64 lifetime_us)
{
  RtmpStream *st = ud;
  RtmfpServerRtmpConn *rc = st->rc;

  /* lifetime_us: TCP delivers everything it takes; what the player is
   * late on stays queued here and the relay's queue limits apply */
  if (rc->dropped)
    return;
  if (!rtmp_conn_send_media (rc->rtmp, st->id, type, ts, payload, len)) {
    g_debug ("rtmp %" G_GUINT64_FORMAT ": %s message not sendable", rc->id,
        rtmp_message_type_get_nick (type));
    return;
  }
  rc_check_output (rc);
  rc_wake (rc);
}

static gsize
player_queued_bytes (gpointer ud, RtmfpRelayKind kind)
{
  RtmpStream *st = ud;

  return rtmp_conn_get_queued_bytes (st->rc->rtmp, st->id, kind_type (kind));
}

static void
player_flush (gpointer ud, RtmfpRelayKind kind)
{
  RtmpStream *st = ud;

  rtmp_conn_drop_queued (st->rc->rtmp, st->id, kind_type (kind));
}

static void
player_status (gpointer ud, const gchar * level, const gchar * code,
    const gchar * description)
{
  RtmpStream *st = ud;
  RtmfpServerRtmpConn *rc = st->rc;

  /* UnpublishNotify / PublishNotify only: no StreamEOF, no StreamBegin,
   * so that players stay across a publisher switching protocols (see
   * rtmfpserver.h) */
  if (rc->dropped)
    return;
  rtmp_conn_send_status (rc->rtmp, st->id, level, code, description);
  rc_check_output (rc);
  rc_wake (rc);
}

static const RtmfpRelayPlayerFuncs rtmp_player_funcs = {
  .send = player_send,
  .queued_bytes = player_queued_bytes,
  .flush = player_flush,
  .status = player_status,
};

/* ------------------------------------------------------------------------ */
/* RtmpConn callbacks */

/* "rtmp://host[:port]/app[/instance]" -> "app[/instance]" */
static gchar *
app_from_tc_url (const gchar * url)
{
  const gchar *p = url ? strstr (url, "://") : NULL;

  if (!p)
    return NULL;
  p = strchr (p + 3, '/');
  return p ? g_strdup (p + 1) : NULL;
}

static void
on_connect (RtmpConn * conn, gdouble txn, const gchar * app,
    const gchar * tc_url, const RtmfpAmfNode * command_object, gpointer ud)
{
  RtmfpServerRtmpConn *rc = ud;
  RtmfpServer *srv = rc->srv;
  gchar *desc, *from_url = NULL;

  if (!srv) {
    rtmp_conn_reject_connect (conn, txn, NULL, "Server shutting down.");
    return;
  }
  if (!*app)
    app = from_url = app_from_tc_url (tc_url);
  g_free (rc->app);
  rc->app = rtmfp_server_normalize_app (app);
  g_free (from_url);

  desc = NULL;
  if (!rtmfp_server_app_allowed (srv, rc->app))
    desc = g_strdup_printf ("Application '%s' is not available.", rc->app);
  else if (!rtmfp_server_auth_ok (srv, rc->app,
          rtmp_conn_peek_connect_args (conn), 1, NULL, NULL))
    desc = g_strdup ("Authentication failed.");
  if (desc) {
    srv->rtmp_connects_rejected++;
    rc_log (rc, "connect to '%s' rejected: %s", rc->app, desc);
    rc_event (rc, "connect", NULL, "rejected", desc);
    rc_set_close_reason (rc, "connect rejected");
    rtmp_conn_reject_connect (conn, txn, RTMFP_TC_CONNECT_REJECTED, desc);
    g_free (desc);
    return;
  }
  srv->rtmp_connects_accepted++;
  rc->connected = TRUE;
  rc_log (rc, "connected to '%s'", rc->app);
  rc_event (rc, "connect", NULL, "accepted", NULL);
  rtmp_conn_accept_connect (conn, txn);
}

static void
on_publish (RtmpConn * conn, guint32 sid, const gchar * name,
    const gchar * type, gpointer ud)
{
  RtmfpServerRtmpConn *rc = ud;
  RtmfpServer *srv = rc->srv;
  RtmpStream *st;
  gchar *desc;

  if (!srv) {
    rtmp_conn_publish_fail (conn, sid, NULL, "Server shutting down.");
    return;
  }
  st = stream_new (rc, sid, name);
  if (!*st->name) {
    rtmp_conn_publish_fail (conn, sid, RTMFP_TC_PUBLISH_BADNAME,
        "No stream name.");
    g_hash_table_remove (rc->streams, GUINT_TO_POINTER (sid));
    return;
  }
  /* "record" and "append" are published live as well: nothing is
   * recorded here */
  if (rtmfp_server_publish_allowed (srv, rc->app, st->name))
    st->publishing = rtmfp_relay_publish_full (srv->relay, rc->app,
        st->name, rtmfp_server_now (srv), srv->cfg.publisher_idle_us,
        stream_evicted, st);
  if (!st->publishing) {
    rc_log (rc, "publish %s/%s refused: already published", rc->app,
        st->name);
    rc_event (rc, "publish", st->name, "refused", "already published");
    desc = g_strdup_printf ("%s is already published.", st->name);
    rtmp_conn_publish_fail (conn, sid, RTMFP_TC_PUBLISH_BADNAME, desc);
    g_free (desc);
    g_hash_table_remove (rc->streams, GUINT_TO_POINTER (sid));
    return;
  }
  rc_log (rc, "publish %s/%s (%s)", rc->app, st->name, type);
  rc_event (rc, "publish", st->name, "started", NULL);
  rtmp_conn_publish_ok (conn, sid);
}

static void
on_play (RtmpConn * conn, guint32 sid, const gchar * name, gdouble start,
    gdouble duration, gboolean reset, gpointer ud)
{
  RtmfpServerRtmpConn *rc = ud;
  RtmfpServer *srv = rc->srv;
  RtmpStream *st;
  gchar *desc;

  if (!srv) {
    rtmp_conn_play_fail (conn, sid, NULL, "Server shutting down.");
    return;
  }
  st = stream_new (rc, sid, name);
  /* the same rule as RTMFP players: a live name nobody publishes yet is
   * waited for, unless the server is strict or recorded content is asked
   * for (start >= 0) */
  if (!*st->name ||
      (!rtmfp_relay_is_published (srv->relay, rc->app, st->name) &&
          (start >= 0 || !srv->cfg.wait_for_publisher))) {
    rc_log (rc, "play %s/%s: not found", rc->app, st->name);
    rc_event (rc, "play", st->name, "not-found", "stream not found");
    desc = g_strdup_printf ("Failed to play %s; stream not found.",
        st->name);
    rtmp_conn_play_fail (conn, sid, RTMFP_TC_PLAY_STREAMNOTFOUND, desc);
    g_free (desc);
    g_hash_table_remove (rc->streams, GUINT_TO_POINTER (sid));
    return;
  }
  rc_log (rc, "play %s/%s", rc->app, st->name);
  rc_event (rc, "play", st->name, "started", NULL);
  /* StreamBegin, Play.Reset, Play.Start first; then the relay sends the
   * cached metadata and sequence headers */
  rtmp_conn_play_ok (conn, sid);
  st->player = rtmfp_relay_play (srv->relay, rc->app, st->name,
      &rtmp_player_funcs, st);
  /* a fresh keyframe from an RTMFP publisher starts the player at once */
  rtmfp_relay_request_keyframe (srv->relay, st->player,
      rtmfp_server_now (srv));
}

static void
on_close_stream (RtmpConn * conn, guint32 sid, gpointer ud)
{
  RtmfpServerRtmpConn *rc = ud;

  /* ends the publication or the playing (stream_free) */
  g_hash_table_remove (rc->streams, GUINT_TO_POINTER (sid));
}

static void
on_media (RtmpConn * conn, guint32 sid, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gpointer ud)
{
  RtmfpServerRtmpConn *rc = ud;
  RtmpStream *st = stream_lookup (rc, sid);

  if (st && st->publishing) {
    rtmfp_relay_stream_set_active (st->publishing,
        rtmfp_server_now (rc->srv));
    rtmfp_relay_stream_push (st->publishing, type, ts, payload, len);
  }
}

static void
on_error (RtmpConn * conn, const gchar * message, gpointer ud)
{
  gchar *reason = g_strdup_printf ("protocol error: %s", message);

  rc_log (ud, "%s", reason);
  rc_set_close_reason (ud, reason);
  g_free (reason);
}

static const RtmpConnCallbacks rtmp_callbacks = {
  .on_connect = on_connect,
  .on_publish = on_publish,
  .on_play = on_play,
  .on_close_stream = on_close_stream,
  .on_media = on_media,
  .on_error = on_error,
};

/* ------------------------------------------------------------------------ */

RtmfpServerRtmpConn *
rtmfp_server_rtmp_conn_new (RtmfpServer * srv, const gchar * peer,
    RtmfpServerRtmpWakeFunc wake, gpointer wake_data)
{
  RtmfpServerRtmpConn *rc;

  g_return_val_if_fail (srv != NULL, NULL);

  rc = g_new0 (RtmfpServerRtmpConn, 1);
  rc->srv = srv;
  rc->id = ++srv->next_rtmp_id;
  rc->peer = g_strdup (peer ? peer : "?");
  rc->rtmp = rtmp_conn_new (&rtmp_callbacks, rc);
  rc->created = rtmfp_server_now (srv);
  rc->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      stream_free);
  rc->wake = wake;
  rc->wake_data = wake_data;
  g_hash_table_add (srv->rtmp_conns, rc);
  rc_log (rc, "TCP connection (%u open)", g_hash_table_size (srv->rtmp_conns));
  return rc;
}

void
rtmfp_server_rtmp_conn_free (RtmfpServerRtmpConn * rc)
{
  RtmfpServer *srv;

  if (!rc)
    return;
  g_return_if_fail (!rc->in_feed);

  srv = rc->srv;
  /* ends every stream while the server is still known */
  g_hash_table_remove_all (rc->streams);
  if (srv) {
    RtmpConnStats cs;

    rtmp_conn_get_stats (rc->rtmp, &cs);
    srv->rtmp_bytes_in_closed += cs.bytes_in;
    srv->rtmp_bytes_out_closed += cs.bytes_out;
    g_hash_table_remove (srv->rtmp_conns, rc);
    rc_log (rc, "closed (%u open)", g_hash_table_size (srv->rtmp_conns));
    rc_event (rc, "close", NULL, NULL, rc->close_reason ? rc->close_reason :
        "connection closed");
  }
  g_free (rc->close_reason);
  g_hash_table_unref (rc->streams);
  rtmp_conn_free (rc->rtmp);
  g_free (rc->peer);
  g_free (rc->app);
  g_free (rc);
}

gboolean
rtmfp_server_rtmp_conn_feed (RtmfpServerRtmpConn * rc, const guint8 * data,
    gsize len)
{
  gboolean ok;

  g_return_val_if_fail (rc != NULL, FALSE);
  g_return_val_if_fail (!rc->in_feed, FALSE);

  if (rc->dropped || !rc->srv)
    return FALSE;
  rc->in_feed = TRUE;
  ok = rtmp_conn_feed (rc->rtmp, data, len);
  rc->in_feed = FALSE;
  rc_check_output (rc);
  return ok && !rc->dropped && !rtmp_conn_is_closed (rc->rtmp);
}

const guint8 *
rtmfp_server_rtmp_conn_peek_output (RtmfpServerRtmpConn * rc, gsize * len)
{
  g_return_val_if_fail (rc != NULL && len != NULL, NULL);

  if (rc->dropped) {
    *len = 0;
    return NULL;
  }
  return rtmp_conn_peek_output (rc->rtmp, len);
}

void
rtmfp_server_rtmp_conn_consume_output (RtmfpServerRtmpConn * rc, gsize n)
{
  g_return_if_fail (rc != NULL);
  rtmp_conn_consume_output (rc->rtmp, n);
}

gboolean
rtmfp_server_rtmp_conn_has_output (RtmfpServerRtmpConn * rc)
{
  g_return_val_if_fail (rc != NULL, FALSE);
  return !rc->dropped && rtmp_conn_has_output (rc->rtmp);
}

gsize
rtmfp_server_rtmp_conn_get_output_size (RtmfpServerRtmpConn * rc)
{
  g_return_val_if_fail (rc != NULL, 0);
  return rtmp_conn_get_output_size (rc->rtmp);
}

gboolean
rtmfp_server_rtmp_conn_should_close (RtmfpServerRtmpConn * rc)
{
  g_return_val_if_fail (rc != NULL, TRUE);
  return rc->dropped || (rtmp_conn_is_closed (rc->rtmp) &&
      !rtmp_conn_has_output (rc->rtmp));
}

/* ------------------------------------------------------------------------ */
/* The server's side */

void
rtmfp_server_rtmp_poll (RtmfpServer * srv)
{
  gint64 now = rtmfp_server_now (srv);
  GHashTableIter it;
  gpointer k;

  g_hash_table_iter_init (&it, srv->rtmp_conns);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    RtmfpServerRtmpConn *rc = k;

    /* rc_drop only marks and wakes: the set is not changed */
    if (!rc->connected && !rc->dropped &&
        !rtmp_conn_is_closed (rc->rtmp) &&
        now - rc->created >= srv->cfg.rtmp_connect_timeout_us)
      rc_drop (rc, "no connect in time");
  }
}

void
rtmfp_server_rtmp_shutdown (RtmfpServer * srv)
{
  GList *conns, *l;

  conns = g_hash_table_get_keys (srv->rtmp_conns);
  for (l = conns; l; l = l->next) {
    RtmfpServerRtmpConn *rc = l->data;

    rc_set_close_reason (rc, "server shutdown");
    g_hash_table_remove_all (rc->streams);
    rtmp_conn_close (rc->rtmp);
    rc_wake (rc);
  }
  g_list_free (conns);
}

void
rtmfp_server_rtmp_detach_all (RtmfpServer * srv)
{
  GHashTableIter it;
  gpointer k;

  g_hash_table_iter_init (&it, srv->rtmp_conns);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    RtmfpServerRtmpConn *rc = k;

    g_hash_table_remove_all (rc->streams);
    rtmp_conn_close (rc->rtmp);
    rc->dropped = TRUE;
    rc->srv = NULL;
    g_hash_table_iter_remove (&it);
  }
}

void
rtmfp_server_rtmp_get_stats (RtmfpServer * srv, RtmfpServerStats * st)
{
  GHashTableIter it;
  gpointer k;

  st->rtmp_connections = g_hash_table_size (srv->rtmp_conns);
  st->rtmp_bytes_in = srv->rtmp_bytes_in_closed;
  st->rtmp_bytes_out = srv->rtmp_bytes_out_closed;
  st->rtmp_connects_accepted = srv->rtmp_connects_accepted;
  st->rtmp_connects_rejected = srv->rtmp_connects_rejected;
  st->rtmp_dropped = srv->rtmp_dropped;
  g_hash_table_iter_init (&it, srv->rtmp_conns);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    RtmfpServerRtmpConn *rc = k;
    RtmpConnStats cs;

    rtmp_conn_get_stats (rc->rtmp, &cs);
    st->rtmp_bytes_in += cs.bytes_in;
    st->rtmp_bytes_out += cs.bytes_out;
  }
}
