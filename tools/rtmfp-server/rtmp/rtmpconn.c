/* rtmfp-server RTMP layer: server side of one RTMP connection (Adobe RTMP
 * Specification 1.0), sans-I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-rtmpconn"

#include "rtmpconn.h"
#include "rtmfpcrypto.h"

#include <math.h>
#include <string.h>

/* 5.2.2-5.2.4: C0/S0 one version byte, C1/S1/C2/S2 1536 bytes */
#define RTMP_VERSION 3
#define HANDSHAKE_SIZE 1536
/* rtmp_conn_peek_output chunks until this much is ready */
#define PEEK_TARGET (64 * 1024)

typedef enum {
  STREAM_IDLE,                  /* created, nothing going on */
  STREAM_PUBLISH_PENDING,
  STREAM_PUBLISHING,
  STREAM_PLAY_PENDING,
  STREAM_PLAYING,
} StreamState;

enum {
  KIND_AUDIO,
  KIND_VIDEO,
  KIND_DATA,
  N_KINDS,
};

typedef struct {
  guint32 id;
  StreamState state;
  gchar *name;
  /* the name of the last publish / play closed on this (idle) stream, for
   * a deleteStream by name that follows an FCUnpublish */
  gchar *closed_name;
  gboolean reset;               /* play asked for Play.Reset */
  gsize queued[N_KINDS];        /* queued media payload bytes */
} ConnStream;

typedef struct {
  guint32 csid;
  guint32 stream_id;
  guint8 type;
  guint32 timestamp;
  GBytes *payload;
  guint32 new_chunk_size;       /* Set Chunk Size: applies after this one */
} OutMsg;

struct _RtmpConn {
  RtmpConnConfig cfg;
  gchar *fms_ver;
  RtmpConnCallbacks cb;
  gpointer user_data;

  RtmpConnState state;
  gboolean got_c0c1;
  gboolean in_feed;
  GPtrArray *connect_args;      /* during on_connect only */
  const gchar *error;

  GByteArray *inbuf;            /* unparsed input (handshake, partial header) */
  RtmpChunkReader *reader;
  RtmpChunkWriter *writer;

  GQueue outq;                  /* OutMsg, not yet chunked */
  gsize queued_bytes;
  GByteArray *out;              /* chunked bytes */
  gsize out_pos;                /* consumed prefix of out */

  GHashTable *streams;          /* id -> ConnStream */
  guint32 next_stream_id;

  gchar *app;
  gchar *tc_url;

  guint64 last_ack;             /* bytes_in when we last acknowledged */
  guint32 window_sent;          /* last Window Ack Size we sent */
  gint last_limit_type;         /* of the client's Set Peer Bandwidth */

  RtmpConnStats stats;
};

/* ------------------------------------------------------------------------ */

void
rtmp_conn_config_init (RtmpConnConfig * cfg)
{
  g_return_if_fail (cfg != NULL);
  memset (cfg, 0, sizeof (*cfg));
  cfg->chunk_size = 4096;
  cfg->window_ack_size = 5000000;
  cfg->peer_bandwidth = 5000000;
  cfg->max_buffered = 16 * 1024 * 1024;
  cfg->max_chunk_streams = 64;
  cfg->max_streams = 64;
  cfg->max_output = 64 * 1024 * 1024;
  cfg->fms_ver = "FMS/3,0,1,123";
}

static void
conn_stream_free (gpointer data)
{
  ConnStream *s = data;

  g_free (s->name);
  g_free (s->closed_name);
  g_free (s);
}

static void
out_msg_free (gpointer data)
{
  OutMsg *m = data;

  g_bytes_unref (m->payload);
  g_free (m);
}

RtmpConn *
rtmp_conn_new (const RtmpConnCallbacks * callbacks, gpointer user_data)
{
  return rtmp_conn_new_full (NULL, callbacks, user_data);
}

RtmpConn *
rtmp_conn_new_full (const RtmpConnConfig * cfg,
    const RtmpConnCallbacks * callbacks, gpointer user_data)
{
  RtmpConn *conn = g_new0 (RtmpConn, 1);
  RtmpChunkReaderLimits limits;

  if (cfg)
    conn->cfg = *cfg;
  else
    rtmp_conn_config_init (&conn->cfg);
  if (conn->cfg.chunk_size < 1 || conn->cfg.chunk_size > RTMP_MAX_CHUNK_SIZE)
    conn->cfg.chunk_size = 4096;
  if (conn->cfg.max_streams == 0)
    conn->cfg.max_streams = 1;
  conn->fms_ver = g_strdup (conn->cfg.fms_ver ? conn->cfg.fms_ver :
      "FMS/3,0,1,123");
  conn->cfg.fms_ver = conn->fms_ver;
  if (callbacks)
    conn->cb = *callbacks;
  conn->user_data = user_data;

  conn->state = RTMP_CONN_STATE_HANDSHAKE;
  conn->inbuf = g_byte_array_new ();
  limits.max_buffered = conn->cfg.max_buffered;
  limits.max_chunk_streams = conn->cfg.max_chunk_streams;
  conn->reader = rtmp_chunk_reader_new (&limits);
  conn->writer = rtmp_chunk_writer_new ();
  g_queue_init (&conn->outq);
  conn->out = g_byte_array_new ();
  conn->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      conn_stream_free);
  conn->next_stream_id = 1;
  conn->last_limit_type = -1;
  return conn;
}

void
rtmp_conn_free (RtmpConn * conn)
{
  if (!conn)
    return;
  g_return_if_fail (!conn->in_feed);
  g_byte_array_unref (conn->inbuf);
  rtmp_chunk_reader_free (conn->reader);
  rtmp_chunk_writer_free (conn->writer);
  g_queue_clear_full (&conn->outq, out_msg_free);
  g_byte_array_unref (conn->out);
  g_hash_table_unref (conn->streams);
  g_free (conn->app);
  g_free (conn->tc_url);
  g_free (conn->fms_ver);
  g_free (conn);
}

static gboolean
conn_running (RtmpConn * conn)
{
  return conn->state != RTMP_CONN_STATE_CLOSED
      && conn->state != RTMP_CONN_STATE_FAILED;
}

static void
conn_fail (RtmpConn * conn, const gchar * what)
{
  if (!conn_running (conn))
    return;
  g_debug ("connection failed: %s", what);
  conn->state = RTMP_CONN_STATE_FAILED;
  conn->error = what;
  if (conn->cb.on_error)
    conn->cb.on_error (conn, what, conn->user_data);
}

static ConnStream *
lookup_stream (RtmpConn * conn, guint32 id)
{
  return g_hash_table_lookup (conn->streams, GUINT_TO_POINTER (id));
}

static gint
media_kind (guint8 type)
{
  switch (type) {
    case RTMP_MSG_AUDIO:
      return KIND_AUDIO;
    case RTMP_MSG_VIDEO:
      return KIND_VIDEO;
    case RTMP_MSG_DATA_AMF0:
    case RTMP_MSG_DATA_AMF3:
      return KIND_DATA;
    default:
      return -1;
  }
}

/* ------------------------------------------------------------------------ */
/* Output queue */

static void
account_queued (RtmpConn * conn, const OutMsg * m, gboolean add)
{
  gsize size = g_bytes_get_size (m->payload);
  gint kind = media_kind (m->type);

  if (add)
    conn->queued_bytes += size;
  else
    conn->queued_bytes -= size;
  if (kind >= 0) {
    ConnStream *s = lookup_stream (conn, m->stream_id);

    if (s) {
      if (add)
        s->queued[kind] += size;
      else
        s->queued[kind] -= MIN (s->queued[kind], size);
    }
  }
}

/* Takes payload */
static void
queue_message (RtmpConn * conn, guint32 csid, guint32 stream_id, guint8 type,
    guint32 timestamp, GBytes * payload)
{
  OutMsg *m = g_new0 (OutMsg, 1);

  m->csid = csid;
  m->stream_id = stream_id;
  m->type = type;
  m->timestamp = timestamp;
  m->payload = payload;
  account_queued (conn, m, TRUE);
  g_queue_push_tail (&conn->outq, m);
}

static void
queue_u32_control (RtmpConn * conn, guint8 type, guint32 value)
{
  GByteArray *b = g_byte_array_sized_new (4);

  rtmp_write_u32_payload (b, value);
  queue_message (conn, RTMP_CSID_CONTROL, 0, type, 0,
      g_byte_array_free_to_bytes (b));
}

/* 5.4.1 Set Chunk Size: the writer switches once this is chunked */
static void
queue_set_chunk_size (RtmpConn * conn, guint32 size)
{
  OutMsg *m;

  queue_u32_control (conn, RTMP_MSG_SET_CHUNK_SIZE, size);
  m = g_queue_peek_tail (&conn->outq);
  m->new_chunk_size = size;
}

/* 7.1.7 / 6.2 user control: event type (u16), then event data */
static void
queue_user_control (RtmpConn * conn, guint16 event, guint32 value,
    gboolean with_value2, guint32 value2)
{
  GByteArray *b = g_byte_array_sized_new (10);
  guint8 ev[2] = { event >> 8, event & 0xff };

  g_byte_array_append (b, ev, 2);
  rtmp_write_u32_payload (b, value);
  if (with_value2)
    rtmp_write_u32_payload (b, value2);
  queue_message (conn, RTMP_CSID_CONTROL, 0, RTMP_MSG_USER_CONTROL, 0,
      g_byte_array_free_to_bytes (b));
}

static void
queue_command (RtmpConn * conn, guint32 stream_id, const gchar * name,
    gdouble txn, guint n_args, const RtmfpAmfNode * const *args)
{
  GByteArray *b = rtmfp_amf_serialize_command_with_args (name, txn, n_args,
      args);

  queue_message (conn, RTMP_CSID_COMMAND, stream_id, RTMP_MSG_COMMAND_AMF0,
      0, g_byte_array_free_to_bytes (b));
}

static RtmfpAmfNode *
status_object (const gchar * level, const gchar * code,
    const gchar * description)
{
  RtmfpAmfNode *info = rtmfp_amf_node_new_object ();

  rtmfp_amf_node_append_field_string (info, "level", level, -1);
  rtmfp_amf_node_append_field_string (info, "code", code, -1);
  rtmfp_amf_node_append_field_string (info, "description",
      description ? description : "", -1);
  return info;
}

/* _error (txn, null, {level error, code, description}) */
static void
queue_error (RtmpConn * conn, guint32 stream_id, gdouble txn,
    const gchar * code, const gchar * description)
{
  RtmfpAmfNode *args[2];

  args[0] = rtmfp_amf_node_new_null ();
  args[1] = status_object ("error", code, description);
  queue_command (conn, stream_id, "_error", txn, 2,
      (const RtmfpAmfNode * const *) args);
  rtmfp_amf_node_free (args[0]);
  rtmfp_amf_node_free (args[1]);
}

/* onStatus (0, null, info) on the stream (7.2.2) */
static void
queue_status (RtmpConn * conn, guint32 stream_id, const gchar * level,
    const gchar * code, const gchar * description, const gchar * details)
{
  RtmfpAmfNode *args[2];

  args[0] = rtmfp_amf_node_new_null ();
  args[1] = status_object (level, code, description);
  if (details)
    rtmfp_amf_node_append_field_string (args[1], "details", details, -1);
  queue_command (conn, stream_id, "onStatus", 0, 2,
      (const RtmfpAmfNode * const *) args);
  rtmfp_amf_node_free (args[0]);
  rtmfp_amf_node_free (args[1]);
}

static void
queue_null_result (RtmpConn * conn, gdouble txn, RtmfpAmfNode * value)
{
  RtmfpAmfNode *args[2];
  guint n = 1;

  args[0] = rtmfp_amf_node_new_null ();
  if (value)
    args[n++] = value;
  queue_command (conn, 0, "_result", txn, n,
      (const RtmfpAmfNode * const *) args);
  rtmfp_amf_node_free (args[0]);
  if (value)
    rtmfp_amf_node_free (value);
}

static void
chunk_one (RtmpConn * conn)
{
  OutMsg *m = g_queue_pop_head (&conn->outq);
  gsize size;
  const guint8 *data = g_bytes_get_data (m->payload, &size);

  account_queued (conn, m, FALSE);
  if (rtmp_chunk_writer_write (conn->writer, conn->out, m->csid,
          m->stream_id, m->type, m->timestamp, data, size)) {
    conn->stats.messages_out++;
    if (m->new_chunk_size)
      rtmp_chunk_writer_set_chunk_size (conn->writer, m->new_chunk_size);
  } else {
    g_warning ("message of %" G_GSIZE_FORMAT " bytes not sendable", size);
  }
  out_msg_free (m);
}

static gsize
pending_output (RtmpConn * conn)
{
  return conn->out->len - conn->out_pos;
}

GBytes *
rtmp_conn_take_output (RtmpConn * conn)
{
  GBytes *bytes;
  gsize n;

  g_return_val_if_fail (conn != NULL, NULL);
  while (!g_queue_is_empty (&conn->outq))
    chunk_one (conn);
  n = pending_output (conn);
  if (n == 0)
    return NULL;
  if (conn->out_pos == 0) {
    bytes = g_byte_array_free_to_bytes (conn->out);
    conn->out = g_byte_array_new ();
  } else {
    bytes = g_bytes_new (conn->out->data + conn->out_pos, n);
    g_byte_array_set_size (conn->out, 0);
    conn->out_pos = 0;
  }
  conn->stats.bytes_out += n;
  return bytes;
}

const guint8 *
rtmp_conn_peek_output (RtmpConn * conn, gsize * len)
{
  g_return_val_if_fail (conn != NULL, NULL);
  g_return_val_if_fail (len != NULL, NULL);

  if (conn->out_pos > 0 && conn->out_pos >= conn->out->len / 2) {
    g_byte_array_remove_range (conn->out, 0, conn->out_pos);
    conn->out_pos = 0;
  }
  while (pending_output (conn) < PEEK_TARGET
      && !g_queue_is_empty (&conn->outq))
    chunk_one (conn);
  *len = pending_output (conn);
  return *len ? conn->out->data + conn->out_pos : NULL;
}

void
rtmp_conn_consume_output (RtmpConn * conn, gsize n)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (n <= pending_output (conn));
  conn->out_pos += n;
  conn->stats.bytes_out += n;
  if (conn->out_pos == conn->out->len) {
    g_byte_array_set_size (conn->out, 0);
    conn->out_pos = 0;
  }
}

gboolean
rtmp_conn_has_output (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  return pending_output (conn) > 0 || !g_queue_is_empty (&conn->outq);
}

gsize
rtmp_conn_get_output_size (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, 0);
  return pending_output (conn) + conn->queued_bytes;
}

gsize
rtmp_conn_get_queued_bytes (RtmpConn * conn, guint32 stream_id, guint8 type)
{
  gint kind;
  gsize total = 0;

  g_return_val_if_fail (conn != NULL, 0);
  kind = media_kind (type);
  if (stream_id == G_MAXUINT32) {
    GHashTableIter it;
    gpointer v;

    if (type == 0)
      return conn->queued_bytes;
    if (kind < 0)
      return 0;
    g_hash_table_iter_init (&it, conn->streams);
    while (g_hash_table_iter_next (&it, NULL, &v))
      total += ((ConnStream *) v)->queued[kind];
    return total;
  } else {
    ConnStream *s = lookup_stream (conn, stream_id);

    if (!s)
      return 0;
    if (type == 0)
      return s->queued[KIND_AUDIO] + s->queued[KIND_VIDEO] +
          s->queued[KIND_DATA];
    return kind >= 0 ? s->queued[kind] : 0;
  }
}

guint
rtmp_conn_drop_queued (RtmpConn * conn, guint32 stream_id, guint8 type)
{
  GList *l, *next;
  guint n = 0;

  g_return_val_if_fail (conn != NULL, 0);
  for (l = conn->outq.head; l; l = next) {
    OutMsg *m = l->data;

    next = l->next;
    if (media_kind (m->type) < 0)
      continue;
    if (stream_id != G_MAXUINT32 && m->stream_id != stream_id)
      continue;
    if (type != 0 && m->type != type)
      continue;
    account_queued (conn, m, FALSE);
    g_queue_delete_link (&conn->outq, l);
    out_msg_free (m);
    n++;
  }
  conn->stats.messages_dropped += n;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Handshake (5.2) */

static void
send_s0s1s2 (RtmpConn * conn, const guint8 * c1)
{
  guint8 s0s1[1 + HANDSHAKE_SIZE];

  /* S0: version.  S1: time (0 is allowed), zero, random.  Four zero bytes
   * after the time tell digest-aware clients (ffmpeg, librtmp, Flash) that
   * this is the plain handshake. */
  s0s1[0] = RTMP_VERSION;
  memset (s0s1 + 1, 0, 8);
  rtmfp_random_bytes (s0s1 + 9, HANDSHAKE_SIZE - 8);
  g_byte_array_append (conn->out, s0s1, sizeof (s0s1));
  /* S2: an echo of C1 (time, time2, random echo) */
  g_byte_array_append (conn->out, c1, HANDSHAKE_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Streams */

static void
stream_close (RtmpConn * conn, ConnStream * s)
{
  StreamState was = s->state;

  if (was == STREAM_IDLE)
    return;
  s->state = STREAM_IDLE;
  rtmp_conn_drop_queued (conn, s->id, 0);
  g_debug ("stream %u (%s) closed", s->id, s->name);
  if (conn->cb.on_close_stream)
    conn->cb.on_close_stream (conn, s->id, conn->user_data);
  g_free (s->closed_name);
  s->closed_name = g_steal_pointer (&s->name);
}

static ConnStream *
find_stream_by_name (RtmpConn * conn, const gchar * name)
{
  GHashTableIter it;
  gpointer v;
  ConnStream *best = NULL;

  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    ConnStream *s = v;

    if (s->state != STREAM_IDLE && g_strcmp0 (s->name, name) == 0)
      if (!best || s->id < best->id)
        best = s;
  }
  if (best)
    return best;
  /* an idle stream whose publish / play of that name was closed already
   * (FCUnpublish, then deleteStream by name) */
  g_hash_table_iter_init (&it, conn->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    ConnStream *s = v;

    if (s->state == STREAM_IDLE && g_strcmp0 (s->closed_name, name) == 0)
      if (!best || s->id < best->id)
        best = s;
  }
  return best;
}

/* ------------------------------------------------------------------------ */
/* Commands (7.2) */

static const RtmfpAmfNode *
arg (GPtrArray * args, guint i)
{
  return i < args->len ? g_ptr_array_index (args, i) : NULL;
}

static const gchar *
arg_string (GPtrArray * args, guint i)
{
  const RtmfpAmfNode *n = arg (args, i);

  if (n && rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_STRING)
    return rtmfp_amf_node_peek_string (n, NULL);
  return NULL;
}

static gdouble
arg_number (GPtrArray * args, guint i, gdouble def)
{
  const RtmfpAmfNode *n = arg (args, i);

  if (n && rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_NUMBER)
    return rtmfp_amf_node_get_number (n);
  return def;
}

static gboolean
arg_boolean (GPtrArray * args, guint i, gboolean def)
{
  const RtmfpAmfNode *n = arg (args, i);

  if (!n)
    return def;
  if (rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_BOOLEAN)
    return rtmfp_amf_node_get_boolean (n);
  if (rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_NUMBER)
    return rtmfp_amf_node_get_number (n) != 0;
  return def;
}

/* A stream ID given as a number: integral, 1..2^32-1 */
static gboolean
number_to_stream_id (gdouble v, guint32 * id)
{
  if (!isfinite (v) || v < 1 || v > G_MAXUINT32 || v != floor (v))
    return FALSE;
  *id = (guint32) v;
  return TRUE;
}

/* deleteStream / closeStream target: the message stream, else the
 * argument: a stream ID, or the stream name (what rtmp2sink sends). */
static ConnStream *
command_target_stream (RtmpConn * conn, guint32 msg_stream_id,
    GPtrArray * args, gboolean prefer_arg)
{
  const RtmfpAmfNode *a = arg (args, 1);
  guint32 id;

  if (!prefer_arg && msg_stream_id != 0)
    return lookup_stream (conn, msg_stream_id);
  if (a && rtmfp_amf_node_get_type (a) == RTMFP_AMF_TYPE_NUMBER) {
    if (number_to_stream_id (rtmfp_amf_node_get_number (a), &id))
      return lookup_stream (conn, id);
    return NULL;
  }
  if (a && rtmfp_amf_node_get_type (a) == RTMFP_AMF_TYPE_STRING)
    return find_stream_by_name (conn, rtmfp_amf_node_peek_string (a, NULL));
  if (msg_stream_id != 0)
    return lookup_stream (conn, msg_stream_id);
  return NULL;
}

static void
handle_connect (RtmpConn * conn, gdouble txn, GPtrArray * args)
{
  const RtmfpAmfNode *obj = arg (args, 0);
  const gchar *app, *tc_url;

  if (conn->state != RTMP_CONN_STATE_OPEN) {
    g_debug ("connect in state %d", conn->state);
    if (txn != 0)
      queue_error (conn, 0, txn, "NetConnection.Call.Failed",
          "Already connected.");
    return;
  }
  app = rtmfp_amf_node_peek_field_string (obj, "app", NULL);
  tc_url = rtmfp_amf_node_peek_field_string (obj, "tcUrl", NULL);
  conn->app = g_strdup (app ? app : "");
  conn->tc_url = g_strdup (tc_url ? tc_url : "");
  conn->state = RTMP_CONN_STATE_CONNECTING;
  g_debug ("connect app '%s' tcUrl '%s'", conn->app, conn->tc_url);
  if (conn->cb.on_connect) {
    conn->connect_args = args;
    conn->cb.on_connect (conn, txn, conn->app, conn->tc_url, obj,
        conn->user_data);
    conn->connect_args = NULL;
  } else
    rtmp_conn_accept_connect (conn, txn);
}

GPtrArray *
rtmp_conn_peek_connect_args (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  return conn->connect_args;
}

static void
handle_create_stream (RtmpConn * conn, gdouble txn)
{
  ConnStream *s;

  if (g_hash_table_size (conn->streams) >= conn->cfg.max_streams) {
    queue_error (conn, 0, txn, "NetConnection.Call.Failed",
        "Too many streams.");
    return;
  }
  while (conn->next_stream_id == 0 || lookup_stream (conn,
          conn->next_stream_id))
    conn->next_stream_id++;
  s = g_new0 (ConnStream, 1);
  s->id = conn->next_stream_id++;
  g_hash_table_insert (conn->streams, GUINT_TO_POINTER (s->id), s);
  g_debug ("createStream -> %u", s->id);
  queue_null_result (conn, txn, rtmfp_amf_node_new_number (s->id));
}

static void
handle_publish (RtmpConn * conn, guint32 stream_id, GPtrArray * args)
{
  ConnStream *s = lookup_stream (conn, stream_id);
  const gchar *name = arg_string (args, 1);
  const gchar *type = arg_string (args, 2);

  if (!s) {
    queue_status (conn, stream_id, "error", "NetStream.Publish.BadName",
        "No such stream.", name);
    return;
  }
  if (s->state != STREAM_IDLE) {
    queue_status (conn, stream_id, "error", "NetStream.Publish.BadName",
        "Stream is busy.", name);
    return;
  }
  if (!name || !*name) {
    queue_status (conn, stream_id, "error", "NetStream.Publish.BadName",
        "No stream name.", NULL);
    return;
  }
  s->state = STREAM_PUBLISH_PENDING;
  s->name = g_strdup (name);
  g_clear_pointer (&s->closed_name, g_free);
  g_debug ("publish '%s' (%s) on stream %u", name, type ? type : "live",
      stream_id);
  if (conn->cb.on_publish)
    conn->cb.on_publish (conn, stream_id, s->name, type ? type : "live",
        conn->user_data);
  else
    rtmp_conn_publish_fail (conn, stream_id, NULL, "Publishing refused.");
}

static void
handle_play (RtmpConn * conn, guint32 stream_id, GPtrArray * args)
{
  ConnStream *s = lookup_stream (conn, stream_id);
  const gchar *name = arg_string (args, 1);
  gdouble start = arg_number (args, 2, -2);
  gdouble duration = arg_number (args, 3, -1);
  gboolean reset = arg_boolean (args, 4, TRUE);

  if (!s || s->state != STREAM_IDLE || !name || !*name) {
    queue_status (conn, stream_id, "error", "NetStream.Play.Failed",
        !s ? "No such stream." : s->state != STREAM_IDLE ?
        "Stream is busy." : "No stream name.", name);
    return;
  }
  s->state = STREAM_PLAY_PENDING;
  s->name = g_strdup (name);
  g_clear_pointer (&s->closed_name, g_free);
  s->reset = reset;
  g_debug ("play '%s' start %g duration %g on stream %u", name, start,
      duration, stream_id);
  if (conn->cb.on_play)
    conn->cb.on_play (conn, stream_id, s->name, start, duration, reset,
        conn->user_data);
  else
    rtmp_conn_play_fail (conn, stream_id, NULL, "No such stream.");
}

static gboolean
is_response (const gchar * name)
{
  return g_str_equal (name, "_result") || g_str_equal (name, "_error")
      || g_str_equal (name, "onStatus");
}

static void
handle_command (RtmpConn * conn, const RtmpMessage * msg,
    const guint8 * data, gsize len)
{
  gchar *name = NULL;
  gdouble txn = 0;
  GPtrArray *args;
  gboolean handled = FALSE;

  args = rtmfp_amf_parse_command (data, len, &name, &txn);
  if (!args) {
    g_debug ("malformed command on stream %u", msg->stream_id);
    conn->stats.commands_ignored++;
    return;
  }
  g_debug ("command '%s' txn %g on stream %u", name, txn, msg->stream_id);

  if (g_str_equal (name, "connect")) {
    handle_connect (conn, txn, args);
    goto done;
  }
  if (conn->state != RTMP_CONN_STATE_CONNECTED) {
    /* nothing but connect before the connection is accepted */
    conn->stats.commands_ignored++;
    if (txn != 0 && !is_response (name))
      queue_error (conn, 0, txn, "NetConnection.Call.Failed",
          "Not connected.");
    goto done;
  }

  if (g_str_equal (name, "createStream")) {
    handle_create_stream (conn, txn);
  } else if (g_str_equal (name, "publish")) {
    handle_publish (conn, msg->stream_id, args);
  } else if (g_str_equal (name, "play")) {
    handle_play (conn, msg->stream_id, args);
  } else if (g_str_equal (name, "deleteStream")) {
    /* 7.2.2.3: deleteStream (txn 0, null, stream ID), on stream 0 */
    ConnStream *s = command_target_stream (conn, msg->stream_id, args, TRUE);

    if (s) {
      guint32 id = s->id;

      stream_close (conn, s);
      rtmp_conn_drop_queued (conn, id, 0);
      g_hash_table_remove (conn->streams, GUINT_TO_POINTER (id));
      g_debug ("stream %u deleted", id);
    }
  } else if (g_str_equal (name, "closeStream")) {
    ConnStream *s = command_target_stream (conn, msg->stream_id, args, FALSE);

    if (s)
      stream_close (conn, s);
  } else if (g_str_equal (name, "releaseStream")
      || g_str_equal (name, "FCPublish") || g_str_equal (name, "FCUnpublish")
      || g_str_equal (name, "FCSubscribe")
      || g_str_equal (name, "FCUnsubscribe")) {
    /* not in the specification; sent by rtmp2sink, ffmpeg, librtmp, OBS.
     * Answered harmlessly.  FCUnpublish (name) ends the publication of
     * that name on this connection (an encoder may send it without
     * deleteStream); the others change nothing: the stream's fate is
     * decided by publish, closeStream and deleteStream. */
    if (g_str_equal (name, "FCUnpublish")) {
      const gchar *sname = arg_string (args, 1);
      ConnStream *s = sname ? find_stream_by_name (conn, sname) : NULL;

      if (s && s->state == STREAM_PUBLISHING)
        stream_close (conn, s);
    }
    if (txn != 0 && conn_running (conn))
      queue_null_result (conn, txn, NULL);
  } else {
    if (conn->cb.on_command)
      handled = conn->cb.on_command (conn, msg->stream_id, name, txn, args,
          conn->user_data);
    if (!handled && txn != 0 && !is_response (name) && conn_running (conn)) {
      gchar *desc = g_strdup_printf ("Method not found (%s).", name);

      queue_error (conn, msg->stream_id, txn, "NetConnection.Call.Failed",
          desc);
      g_free (desc);
    }
  }

done:
  g_ptr_array_unref (args);
  g_free (name);
}

/* ------------------------------------------------------------------------ */
/* Media */

static gboolean
stream_is_publishing (RtmpConn * conn, guint32 stream_id)
{
  ConnStream *s = lookup_stream (conn, stream_id);

  return s && s->state == STREAM_PUBLISHING;
}

static void
deliver_media (RtmpConn * conn, guint32 stream_id, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len)
{
  if (!stream_is_publishing (conn, stream_id)) {
    conn->stats.media_ignored++;
    return;
  }
  conn->stats.media_in++;
  if (conn->cb.on_media)
    conn->cb.on_media (conn, stream_id, type, timestamp, payload, len,
        conn->user_data);
}

/* 7.1.6 aggregate: FLV-like tags (type, size u24, timestamp u24 + u8
 * upper bits, stream ID u24, data, back pointer u32).  The sub-messages
 * keep their offsets from the first one, based at the aggregate's own
 * timestamp. */
static void
handle_aggregate (RtmpConn * conn, const RtmpMessage * msg)
{
  const guint8 *p = msg->payload;
  gsize left = msg->len;
  gboolean first = TRUE;
  guint32 base = 0;

  if (!stream_is_publishing (conn, msg->stream_id)) {
    conn->stats.media_ignored++;
    return;
  }
  while (left >= 11) {
    guint8 type = p[0] & 0x1f;
    gsize size = ((gsize) p[1] << 16) | ((gsize) p[2] << 8) | p[3];
    guint32 ts = ((guint32) p[7] << 24) | ((guint32) p[4] << 16) |
        ((guint32) p[5] << 8) | p[6];

    if (size > left - 11) {
      g_debug ("aggregate sub-message overruns (%" G_GSIZE_FORMAT
          " > %" G_GSIZE_FORMAT ")", size, left - 11);
      conn->stats.media_ignored++;
      return;
    }
    if (first) {
      base = ts;
      first = FALSE;
    }
    if (media_kind (type) >= 0)
      deliver_media (conn, msg->stream_id, type, msg->timestamp + (ts - base),
          p + 11, size);
    else
      conn->stats.media_ignored++;
    if (!conn_running (conn))
      return;
    p += 11 + size;
    left -= 11 + size;
    /* back pointer (may be missing after the last one) */
    if (left < 4)
      break;
    p += 4;
    left -= 4;
  }
}

/* ------------------------------------------------------------------------ */
/* Protocol control and user control (5.4, 7.1.7) */

static guint32
get_u32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | p[3];
}

static void
handle_user_control (RtmpConn * conn, const RtmpMessage * msg)
{
  guint16 event;
  guint32 value = 0, value2 = 0;

  if (msg->len < 2) {
    conn->stats.commands_ignored++;
    return;
  }
  event = ((guint16) msg->payload[0] << 8) | msg->payload[1];
  if (msg->len >= 6)
    value = get_u32 (msg->payload + 2);
  if (msg->len >= 10)
    value2 = get_u32 (msg->payload + 6);

  if (event == RTMP_USER_CONTROL_PING_REQUEST) {
    if (msg->len >= 6)
      queue_user_control (conn, RTMP_USER_CONTROL_PING_RESPONSE, value, FALSE,
          0);
    return;
  }
  g_debug ("user control %u (%u, %u)", event, value, value2);
  if (conn->cb.on_user_control)
    conn->cb.on_user_control (conn, event, value, value2, conn->user_data);
}

/* 5.4.5: answer with a Window Acknowledgement Size when the window the
 * client asks for differs from the last one we sent */
static void
handle_set_peer_bandwidth (RtmpConn * conn, guint32 window, guint8 limit)
{
  gboolean apply;

  switch (limit) {
    case RTMP_LIMIT_HARD:
      apply = TRUE;
      break;
    case RTMP_LIMIT_SOFT:
      apply = conn->window_sent == 0 || window < conn->window_sent;
      break;
    case RTMP_LIMIT_DYNAMIC:
      apply = conn->last_limit_type == RTMP_LIMIT_HARD;
      limit = RTMP_LIMIT_HARD;
      break;
    default:
      return;
  }
  if (!apply || window == 0)
    return;
  conn->last_limit_type = limit;
  if (window != conn->window_sent) {
    queue_u32_control (conn, RTMP_MSG_WINDOW_ACK_SIZE, window);
    conn->window_sent = window;
  }
}

static void
handle_message (RtmpConn * conn, const RtmpMessage * msg)
{
  conn->stats.messages_in++;
  g_debug ("message %s (%u) csid %u stream %u ts %u len %" G_GSIZE_FORMAT,
      rtmp_message_type_get_nick (msg->type), msg->type, msg->csid,
      msg->stream_id, msg->timestamp, msg->len);

  switch (msg->type) {
    case RTMP_MSG_SET_CHUNK_SIZE:{
      guint32 v;

      if (msg->len < 4) {
        conn_fail (conn, "short Set Chunk Size message");
        return;
      }
      v = get_u32 (msg->payload);
      /* 5.4.1: bit 0 must be zero; 1..0x7fffffff */
      if (v & 0x80000000u || v == 0) {
        conn_fail (conn, "invalid chunk size");
        return;
      }
      rtmp_chunk_reader_set_chunk_size (conn->reader, v);
      break;
    }
    case RTMP_MSG_ABORT:
      if (msg->len >= 4)
        rtmp_chunk_reader_abort (conn->reader, get_u32 (msg->payload));
      break;
    case RTMP_MSG_ACKNOWLEDGEMENT:
      if (msg->len >= 4)
        conn->stats.peer_acked = get_u32 (msg->payload);
      break;
    case RTMP_MSG_USER_CONTROL:
      handle_user_control (conn, msg);
      break;
    case RTMP_MSG_WINDOW_ACK_SIZE:
      if (msg->len >= 4)
        conn->stats.peer_window = get_u32 (msg->payload);
      break;
    case RTMP_MSG_SET_PEER_BANDWIDTH:
      if (msg->len >= 5)
        handle_set_peer_bandwidth (conn, get_u32 (msg->payload),
            msg->payload[4]);
      break;
    case RTMP_MSG_AUDIO:
    case RTMP_MSG_VIDEO:
    case RTMP_MSG_DATA_AMF0:
    case RTMP_MSG_DATA_AMF3:
      deliver_media (conn, msg->stream_id, msg->type, msg->timestamp,
          msg->payload, msg->len);
      break;
    case RTMP_MSG_AGGREGATE:
      handle_aggregate (conn, msg);
      break;
    case RTMP_MSG_COMMAND_AMF0:
      handle_command (conn, msg, msg->payload, msg->len);
      break;
    case RTMP_MSG_COMMAND_AMF3:
      /* 7.1.1: AMF3 command = format byte 0, then AMF0 values (with
       * 0x11 switches to AMF3 inside, kept opaque) */
      if (msg->len >= 1 && msg->payload[0] == 0)
        handle_command (conn, msg, msg->payload + 1, msg->len - 1);
      else
        conn->stats.commands_ignored++;
      break;
    default:
      /* shared objects and unknown types */
      conn->stats.commands_ignored++;
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Input */

static gsize
process_input (RtmpConn * conn, const guint8 * data, gsize len)
{
  gsize pos = 0;

  while (conn_running (conn) && pos < len) {
    if (conn->state == RTMP_CONN_STATE_HANDSHAKE) {
      if (!conn->got_c0c1) {
        /* 5.2.2: version 3.  0-2 are deprecated, 4-31 reserved, 6 is
         * RTMPE and >= 32 a text protocol (HTTP...): all refused. */
        if (data[pos] != RTMP_VERSION) {
          conn_fail (conn, "unsupported RTMP version");
          break;
        }
        if (len - pos < 1 + HANDSHAKE_SIZE)
          break;
        send_s0s1s2 (conn, data + pos + 1);
        conn->got_c0c1 = TRUE;
        pos += 1 + HANDSHAKE_SIZE;
      } else {
        /* C2 should echo S1; clients with a digest handshake send
         * something else, so it is not checked */
        if (len - pos < HANDSHAKE_SIZE)
          break;
        pos += HANDSHAKE_SIZE;
        conn->state = RTMP_CONN_STATE_OPEN;
        g_debug ("handshake done");
      }
    } else {
      RtmpMessage msg;
      const gchar *err = NULL;
      gsize used = 0;
      RtmpChunkResult r;

      r = rtmp_chunk_reader_next (conn->reader, data + pos, len - pos, &used,
          &msg, &err);
      pos += used;
      if (r == RTMP_CHUNK_ERROR) {
        conn_fail (conn, err ? err : "chunk stream error");
        break;
      }
      if (r == RTMP_CHUNK_NEED_MORE)
        break;
      handle_message (conn, &msg);
      if (conn_running (conn)
          && rtmp_conn_get_output_size (conn) > conn->cfg.max_output)
        conn_fail (conn, "too much output pending: the client does not read");
    }
  }
  return pos;
}

/* 5.4.3: acknowledge once the client's window is reached.  A client that
 * never sent a Window Acknowledgement Size still had our Set Peer
 * Bandwidth, which tells it to keep at most that much unacknowledged
 * (Flash Player throttles on it): it gets acks at half of that. */
static void
maybe_ack (RtmpConn * conn)
{
  guint32 window = conn->stats.peer_window;

  if (window == 0 && conn->state == RTMP_CONN_STATE_CONNECTED)
    window = conn->cfg.peer_bandwidth / 2;
  if (window == 0 || conn->state == RTMP_CONN_STATE_HANDSHAKE)
    return;
  if (conn->stats.bytes_in - conn->last_ack >= window) {
    conn->last_ack = conn->stats.bytes_in;
    queue_u32_control (conn, RTMP_MSG_ACKNOWLEDGEMENT,
        (guint32) conn->stats.bytes_in);
    conn->stats.acks_sent++;
  }
}

gboolean
rtmp_conn_feed (RtmpConn * conn, const guint8 * data, gsize len)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (!conn->in_feed, FALSE);

  if (!conn_running (conn))
    return conn->state != RTMP_CONN_STATE_FAILED;

  conn->in_feed = TRUE;
  conn->stats.bytes_in += len;
  if (conn->inbuf->len == 0) {
    gsize used = process_input (conn, data, len);

    if (conn_running (conn) && used < len)
      g_byte_array_append (conn->inbuf, data + used, len - used);
  } else {
    gsize used;

    g_byte_array_append (conn->inbuf, data, len);
    used = process_input (conn, conn->inbuf->data, conn->inbuf->len);
    if (conn_running (conn))
      g_byte_array_remove_range (conn->inbuf, 0, used);
  }
  if (!conn_running (conn))
    g_byte_array_set_size (conn->inbuf, 0);
  else
    maybe_ack (conn);
  conn->in_feed = FALSE;
  return conn->state != RTMP_CONN_STATE_FAILED;
}

void
rtmp_conn_close (RtmpConn * conn)
{
  g_return_if_fail (conn != NULL);
  if (conn_running (conn))
    conn->state = RTMP_CONN_STATE_CLOSED;
}

RtmpConnState
rtmp_conn_get_state (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, RTMP_CONN_STATE_FAILED);
  return conn->state;
}

gboolean
rtmp_conn_is_closed (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, TRUE);
  return !conn_running (conn);
}

const gchar *
rtmp_conn_get_error (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  return conn->error;
}

const gchar *
rtmp_conn_get_app (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  return conn->app;
}

const gchar *
rtmp_conn_get_tc_url (RtmpConn * conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  return conn->tc_url;
}

const gchar *
rtmp_conn_get_stream_name (RtmpConn * conn, guint32 stream_id)
{
  ConnStream *s;

  g_return_val_if_fail (conn != NULL, NULL);
  s = lookup_stream (conn, stream_id);
  return s ? s->name : NULL;
}

/* ------------------------------------------------------------------------ */
/* Answers */

gboolean
rtmp_conn_accept_connect (RtmpConn * conn, gdouble txn)
{
  RtmfpAmfNode *args[2];

  g_return_val_if_fail (conn != NULL, FALSE);
  if (conn->state != RTMP_CONN_STATE_CONNECTING)
    return FALSE;
  conn->state = RTMP_CONN_STATE_CONNECTED;

  /* 7.2.1.1 message flow: Window Acknowledgement Size, Set Peer
   * Bandwidth, StreamBegin, then _result */
  queue_u32_control (conn, RTMP_MSG_WINDOW_ACK_SIZE,
      conn->cfg.window_ack_size);
  conn->window_sent = conn->cfg.window_ack_size;
  {
    GByteArray *b = g_byte_array_sized_new (5);
    guint8 limit = RTMP_LIMIT_DYNAMIC;

    rtmp_write_u32_payload (b, conn->cfg.peer_bandwidth);
    g_byte_array_append (b, &limit, 1);
    queue_message (conn, RTMP_CSID_CONTROL, 0, RTMP_MSG_SET_PEER_BANDWIDTH,
        0, g_byte_array_free_to_bytes (b));
  }
  queue_set_chunk_size (conn, conn->cfg.chunk_size);
  queue_user_control (conn, RTMP_USER_CONTROL_STREAM_BEGIN, 0, FALSE, 0);

  args[0] = rtmfp_amf_node_new_object ();
  rtmfp_amf_node_append_field_string (args[0], "fmsVer", conn->fms_ver, -1);
  rtmfp_amf_node_append_field_number (args[0], "capabilities", 31);
  rtmfp_amf_node_append_field_number (args[0], "mode", 1);
  args[1] = status_object ("status", "NetConnection.Connect.Success",
      "Connection succeeded.");
  /* only AMF0 is spoken here */
  rtmfp_amf_node_append_field_number (args[1], "objectEncoding", 0);
  queue_command (conn, 0, "_result", txn, 2,
      (const RtmfpAmfNode * const *) args);
  rtmfp_amf_node_free (args[0]);
  rtmfp_amf_node_free (args[1]);
  return TRUE;
}

gboolean
rtmp_conn_reject_connect (RtmpConn * conn, gdouble txn, const gchar * code,
    const gchar * description)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  if (conn->state != RTMP_CONN_STATE_CONNECTING)
    return FALSE;
  queue_error (conn, 0, txn, code ? code : "NetConnection.Connect.Rejected",
      description ? description : "Connection rejected.");
  conn->state = RTMP_CONN_STATE_CLOSED;
  return TRUE;
}

static ConnStream *
pending_stream (RtmpConn * conn, guint32 stream_id, StreamState state)
{
  ConnStream *s = lookup_stream (conn, stream_id);

  if (!s || s->state != state || conn->state != RTMP_CONN_STATE_CONNECTED)
    return NULL;
  return s;
}

gboolean
rtmp_conn_publish_ok (RtmpConn * conn, guint32 stream_id)
{
  ConnStream *s;
  gchar *desc;

  g_return_val_if_fail (conn != NULL, FALSE);
  s = pending_stream (conn, stream_id, STREAM_PUBLISH_PENDING);
  if (!s)
    return FALSE;
  s->state = STREAM_PUBLISHING;
  queue_user_control (conn, RTMP_USER_CONTROL_STREAM_BEGIN, stream_id, FALSE,
      0);
  desc = g_strdup_printf ("%s is now published.", s->name);
  queue_status (conn, stream_id, "status", "NetStream.Publish.Start", desc,
      s->name);
  g_free (desc);
  return TRUE;
}

gboolean
rtmp_conn_publish_fail (RtmpConn * conn, guint32 stream_id,
    const gchar * code, const gchar * description)
{
  ConnStream *s;

  g_return_val_if_fail (conn != NULL, FALSE);
  s = pending_stream (conn, stream_id, STREAM_PUBLISH_PENDING);
  if (!s)
    return FALSE;
  queue_status (conn, stream_id, "error",
      code ? code : "NetStream.Publish.BadName",
      description ? description : "Publishing refused.", s->name);
  s->state = STREAM_IDLE;
  g_clear_pointer (&s->name, g_free);
  return TRUE;
}

gboolean
rtmp_conn_play_ok (RtmpConn * conn, guint32 stream_id)
{
  ConnStream *s;
  gchar *desc;

  g_return_val_if_fail (conn != NULL, FALSE);
  s = pending_stream (conn, stream_id, STREAM_PLAY_PENDING);
  if (!s)
    return FALSE;
  s->state = STREAM_PLAYING;

  /* 7.2.2.1 message flow: StreamBegin, onStatus Play.Reset (when asked),
   * Play.Start, then the data */
  queue_user_control (conn, RTMP_USER_CONTROL_STREAM_BEGIN, stream_id, FALSE,
      0);
  if (s->reset) {
    desc = g_strdup_printf ("Playing and resetting %s.", s->name);
    queue_status (conn, stream_id, "status", "NetStream.Play.Reset", desc,
        s->name);
    g_free (desc);
  }
  desc = g_strdup_printf ("Started playing %s.", s->name);
  queue_status (conn, stream_id, "status", "NetStream.Play.Start", desc,
      s->name);
  g_free (desc);
  {
    /* "|RtmpSampleAccess" (audio, video): what FMS-style servers send so
     * Flash lets the player read samples */
    RtmfpAmfNode *n;
    GByteArray *b = g_byte_array_new ();

    n = rtmfp_amf_node_new_string ("|RtmpSampleAccess", -1);
    rtmfp_amf_node_serialize (n, b);
    rtmfp_amf_node_free (n);
    n = rtmfp_amf_node_new_boolean (TRUE);
    rtmfp_amf_node_serialize (n, b);
    rtmfp_amf_node_serialize (n, b);
    rtmfp_amf_node_free (n);
    queue_message (conn, RTMP_CSID_DATA, stream_id, RTMP_MSG_DATA_AMF0, 0,
        g_byte_array_free_to_bytes (b));
  }
  return TRUE;
}

gboolean
rtmp_conn_play_fail (RtmpConn * conn, guint32 stream_id, const gchar * code,
    const gchar * description)
{
  ConnStream *s;

  g_return_val_if_fail (conn != NULL, FALSE);
  s = pending_stream (conn, stream_id, STREAM_PLAY_PENDING);
  if (!s)
    return FALSE;
  queue_status (conn, stream_id, "error",
      code ? code : "NetStream.Play.StreamNotFound",
      description ? description : "No such stream.", s->name);
  s->state = STREAM_IDLE;
  g_clear_pointer (&s->name, g_free);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Sending */

gboolean
rtmp_conn_send_media_bytes (RtmpConn * conn, guint32 stream_id, guint8 type,
    guint32 timestamp, GBytes * payload)
{
  ConnStream *s;
  guint32 csid;

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  if (g_bytes_get_size (payload) > RTMP_MAX_MESSAGE_SIZE)
    return FALSE;
  switch (type) {
    case RTMP_MSG_AUDIO:
      csid = RTMP_CSID_AUDIO;
      break;
    case RTMP_MSG_VIDEO:
      csid = RTMP_CSID_VIDEO;
      break;
    case RTMP_MSG_DATA_AMF0:
    case RTMP_MSG_DATA_AMF3:
      csid = RTMP_CSID_DATA;
      break;
    default:
      return FALSE;
  }
  s = lookup_stream (conn, stream_id);
  if (!s || s->state != STREAM_PLAYING
      || conn->state != RTMP_CONN_STATE_CONNECTED)
    return FALSE;
  queue_message (conn, csid, stream_id, type, timestamp,
      g_bytes_ref (payload));
  return TRUE;
}

gboolean
rtmp_conn_send_media (RtmpConn * conn, guint32 stream_id, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len)
{
  GBytes *b;
  gboolean ret;

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);
  if (len > RTMP_MAX_MESSAGE_SIZE)
    return FALSE;
  b = g_bytes_new (payload, len);
  ret = rtmp_conn_send_media_bytes (conn, stream_id, type, timestamp, b);
  g_bytes_unref (b);
  return ret;
}

gboolean
rtmp_conn_send_status (RtmpConn * conn, guint32 stream_id,
    const gchar * level, const gchar * code, const gchar * description)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (level != NULL && code != NULL, FALSE);
  if (conn->state != RTMP_CONN_STATE_CONNECTED)
    return FALSE;
  queue_status (conn, stream_id, level, code, description, NULL);
  return TRUE;
}

gboolean
rtmp_conn_send_user_control (RtmpConn * conn, guint16 event, guint32 value,
    guint32 value2)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  if (conn->state == RTMP_CONN_STATE_HANDSHAKE
      || conn->state == RTMP_CONN_STATE_FAILED)
    return FALSE;
  queue_user_control (conn, event, value,
      event == RTMP_USER_CONTROL_SET_BUFFER_LENGTH, value2);
  return TRUE;
}

gboolean
rtmp_conn_send_ping (RtmpConn * conn, guint32 timestamp)
{
  return rtmp_conn_send_user_control (conn, RTMP_USER_CONTROL_PING_REQUEST,
      timestamp, 0);
}

gboolean
rtmp_conn_send_command (RtmpConn * conn, guint32 stream_id,
    const gchar * name, gdouble txn, guint n_args,
    const RtmfpAmfNode * const *args)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (args != NULL || n_args == 0, FALSE);
  if (conn->state == RTMP_CONN_STATE_HANDSHAKE
      || conn->state == RTMP_CONN_STATE_FAILED)
    return FALSE;
  queue_command (conn, stream_id, name, txn, n_args, args);
  return TRUE;
}

void
rtmp_conn_get_stats (RtmpConn * conn, RtmpConnStats * stats)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (stats != NULL);
  *stats = conn->stats;
  stats->in_chunk_size = rtmp_chunk_reader_get_chunk_size (conn->reader);
  stats->out_chunk_size = rtmp_chunk_writer_get_chunk_size (conn->writer);
}
