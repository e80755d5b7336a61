/* Unit tests of the RTMP layer of rtmfp-server (tools/rtmfp-server/rtmp:
 * rtmpchunk.c, rtmpconn.c), with real bytes.
 *
 * Client input is built by a small encoder written here (every header
 * type and basic header form chosen by hand), and what the server sends
 * is parsed by a minimal chunk reader written here too, so the code under
 * test is never checked against itself.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>

#include "rtmpchunk.h"
#include "rtmpconn.h"
#include "amf0.h"

#define HS 1536

/* ======================================================================== */
/* Test-side encoder */

static void
enc_be (GByteArray * b, guint32 v, guint n)
{
  guint8 x[4];
  guint i;

  for (i = 0; i < n; i++)
    x[i] = v >> (8 * (n - 1 - i));
  g_byte_array_append (b, x, n);
}

static void
enc_le32 (GByteArray * b, guint32 v)
{
  guint8 x[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (b, x, 4);
}

/* 5.3.1.1: csid 2-63 in one byte, 64-319 in two, 320-65599 in three */
static void
enc_basic (GByteArray * b, guint fmt, guint32 csid)
{
  guint8 h[3];

  if (csid < 64) {
    h[0] = (fmt << 6) | csid;
    g_byte_array_append (b, h, 1);
  } else if (csid < 320) {
    h[0] = fmt << 6;
    h[1] = csid - 64;
    g_byte_array_append (b, h, 2);
  } else {
    h[0] = (fmt << 6) | 1;
    h[1] = (csid - 64) & 0xff;
    h[2] = (csid - 64) >> 8;
    g_byte_array_append (b, h, 3);
  }
}

/* One chunk header.  ts: absolute (fmt 0) or delta (fmt 1, 2); >= 0xffffff
 * goes to the extended field.  fmt 3: ext3 >= 0 writes that extended
 * field. */
static void
enc_header (GByteArray * b, guint fmt, guint32 csid, guint32 ts, guint32 len,
    guint8 type, guint32 sid, gint64 ext3)
{
  gboolean ext = fmt < 3 && ts >= 0xffffff;

  enc_basic (b, fmt, csid);
  if (fmt < 3)
    enc_be (b, ext ? 0xffffff : ts, 3);
  if (fmt < 2) {
    enc_be (b, len, 3);
    g_byte_array_append (b, &type, 1);
  }
  if (fmt == 0)
    enc_le32 (b, sid);
  if (ext)
    enc_be (b, ts, 4);
  else if (fmt == 3 && ext3 >= 0)
    enc_be (b, (guint32) ext3, 4);
}

/* A whole message: first header of type fmt, then type 3 continuations.
 * For fmt 3 a ts >= 0xffffff is the extended value to repeat.
 * ext_in_cont: continuations carry the extended timestamp (Adobe). */
static void
enc_msg (GByteArray * b, guint fmt, guint32 csid, guint32 ts, guint32 sid,
    guint8 type, const guint8 * p, gsize len, guint32 chunk_size,
    gboolean ext_in_cont)
{
  gboolean ext = ts >= 0xffffff;
  gsize off = 0;

  enc_header (b, fmt, csid, ts, len, type, sid,
      (fmt == 3 && ext) ? (gint64) ts : -1);
  for (;;) {
    gsize n = MIN (chunk_size, len - off);

    if (n > 0)
      g_byte_array_append (b, p + off, n);
    off += n;
    if (off >= len)
      break;
    enc_header (b, 3, csid, 0, 0, 0, 0, (ext && ext_in_cont) ? (gint64) ts :
        -1);
  }
}

static GBytes *
pattern_bytes (gsize len, guint seed)
{
  guint8 *p = g_malloc (len ? len : 1);
  gsize i;

  for (i = 0; i < len; i++)
    p[i] = (guint8) (i * 31 + seed * 7 + (i >> 8));
  return g_bytes_new_take (p, len);
}

/* ======================================================================== */
/* Test-side chunk reader (independent of rtmpchunk.c) */

typedef struct {
  guint32 csid, sid, ts;
  guint8 type;
  GBytes *payload;
  guint n_chunks;
  guint first_fmt;
} TMsg;

typedef struct {
  gboolean valid;
  guint32 sid, len, ts, delta, ts_field;
  guint8 type;
  gboolean ext;
  GByteArray *partial;          /* NULL: no message in progress */
  guint n_chunks, first_fmt;
} TCs;

typedef struct {
  GByteArray *buf;
  guint32 chunk_size;
  GHashTable *cs;
  GPtrArray *msgs;
} TReader;

static void
tmsg_free (gpointer p)
{
  TMsg *m = p;

  g_bytes_unref (m->payload);
  g_free (m);
}

static void
tcs_free (gpointer p)
{
  TCs *c = p;

  if (c->partial)
    g_byte_array_unref (c->partial);
  g_free (c);
}

static TReader *
tr_new (void)
{
  TReader *tr = g_new0 (TReader, 1);

  tr->buf = g_byte_array_new ();
  tr->chunk_size = 128;
  tr->cs = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      tcs_free);
  tr->msgs = g_ptr_array_new_with_free_func (tmsg_free);
  return tr;
}

static void
tr_free (TReader * tr)
{
  g_byte_array_unref (tr->buf);
  g_hash_table_unref (tr->cs);
  g_ptr_array_unref (tr->msgs);
  g_free (tr);
}

static guint32
rd_be (const guint8 * p, guint n)
{
  guint32 v = 0;
  guint i;

  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* Parses every complete chunk in tr->buf; asserts on anything malformed */
static void
tr_feed (TReader * tr, const guint8 * data, gsize len)
{
  gsize pos = 0;

  g_byte_array_append (tr->buf, data, len);
  for (;;) {
    const guint8 *p = tr->buf->data + pos;
    gsize avail = tr->buf->len - pos, h, n;
    guint fmt, csid;
    TCs *c;
    guint32 ts = 0;
    gboolean ext;

    if (avail < 1)
      break;
    fmt = p[0] >> 6;
    csid = p[0] & 0x3f;
    h = 1;
    if (csid == 0) {
      if (avail < 2)
        break;
      csid = p[1] + 64;
      h = 2;
    } else if (csid == 1) {
      if (avail < 3)
        break;
      csid = p[1] + p[2] * 256 + 64;
      h = 3;
    }
    h += (const guint[]) {
    11, 7, 3, 0}[fmt];
    if (avail < h)
      break;
    c = g_hash_table_lookup (tr->cs, GUINT_TO_POINTER (csid));
    if (!c) {
      g_assert_cmpuint (fmt, ==, 0);
      c = g_new0 (TCs, 1);
      g_hash_table_insert (tr->cs, GUINT_TO_POINTER (csid), c);
    }
    g_assert_true (fmt == 0 || c->valid);
    if (fmt < 3) {
      ts = rd_be (p + h - (fmt == 0 ? 11 : fmt == 1 ? 7 : 3), 3);
      ext = ts == 0xffffff;
    } else {
      ext = c->ext;
    }
    if (ext) {
      if (avail < h + 4)
        break;
      if (fmt < 3)
        ts = rd_be (p + h, 4);
      else
        g_assert_cmpuint (rd_be (p + h, 4), ==, c->ts_field);
      h += 4;
    }
    /* the whole chunk must be there */
    {
      guint32 mlen = fmt < 2 ? rd_be (p + h - (ext ? 4 : 0) -
          (fmt == 0 ? 8 : 4), 3) : c->len;
      gsize have = c->partial ? c->partial->len : 0;

      if (fmt < 3)
        g_assert_null (c->partial);
      n = MIN (tr->chunk_size, mlen - have);
      if (avail < h + n)
        break;
      if (fmt == 0) {
        const guint8 *mh = p + h - (ext ? 4 : 0) - 11;

        c->sid = mh[7] | mh[8] << 8 | mh[9] << 16 | (guint32) mh[10] << 24;
        c->type = mh[6];
        c->len = mlen;
        c->ts = ts;
        c->delta = ts;
        c->valid = TRUE;
      } else if (fmt == 1) {
        const guint8 *mh = p + h - (ext ? 4 : 0) - 7;

        c->type = mh[6];
        c->len = mlen;
        c->delta = ts;
        c->ts += ts;
      } else if (fmt == 2) {
        c->delta = ts;
        c->ts += ts;
      } else if (!c->partial) {
        c->ts += c->delta;
      }
      if (fmt < 3) {
        c->ts_field = ts;
        c->ext = ext;
      }
      if (!c->partial) {
        c->partial = g_byte_array_new ();
        c->n_chunks = 0;
        c->first_fmt = fmt;
      }
      g_byte_array_append (c->partial, p + h, n);
      c->n_chunks++;
      pos += h + n;
      if (c->partial->len == c->len) {
        TMsg *m = g_new0 (TMsg, 1);

        m->csid = csid;
        m->sid = c->sid;
        m->ts = c->ts;
        m->type = c->type;
        m->n_chunks = c->n_chunks;
        m->first_fmt = c->first_fmt;
        m->payload = g_byte_array_free_to_bytes (c->partial);
        c->partial = NULL;
        if (m->type == RTMP_MSG_SET_CHUNK_SIZE) {
          g_assert_cmpuint (g_bytes_get_size (m->payload), ==, 4);
          tr->chunk_size = rd_be (g_bytes_get_data (m->payload, NULL), 4);
        }
        g_ptr_array_add (tr->msgs, m);
      }
    }
  }
  g_byte_array_remove_range (tr->buf, 0, pos);
}

/* ======================================================================== */
/* Fixture: a connection, its callbacks recorded, its output parsed */

typedef struct {
  RtmpConn *conn;
  GPtrArray *events;            /* gchar* */
  GPtrArray *media;             /* GBytes of on_media payloads */
  TReader *tr;
  guint next_out;               /* first unread message in tr->msgs */
  guint32 client_chunk_size;
  gboolean accept, publish_ok, play_ok;
  gboolean close_in_media;
  GRand *rand;                  /* feeds in random pieces when set */
} Fx;

static void
ev (Fx * fx, const gchar * fmt, ...) G_GNUC_PRINTF (2, 3);

static void
ev (Fx * fx, const gchar * fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  g_ptr_array_add (fx->events, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

static void
on_connect (RtmpConn * conn, gdouble txn, const gchar * app,
    const gchar * tc_url, const RtmfpAmfNode * obj, gpointer ud)
{
  Fx *fx = ud;
  const gchar *fv = rtmfp_amf_node_peek_field_string (obj, "flashVer", NULL);

  ev (fx, "connect txn=%g app=%s tc=%s flashVer=%s", txn, app, tc_url,
      fv ? fv : "-");
  if (fx->accept)
    g_assert_true (rtmp_conn_accept_connect (conn, txn));
}

static void
on_publish (RtmpConn * conn, guint32 sid, const gchar * name,
    const gchar * type, gpointer ud)
{
  Fx *fx = ud;

  ev (fx, "publish %u %s %s", sid, name, type);
  if (fx->publish_ok)
    g_assert_true (rtmp_conn_publish_ok (conn, sid));
}

static void
on_play (RtmpConn * conn, guint32 sid, const gchar * name, gdouble start,
    gdouble duration, gboolean reset, gpointer ud)
{
  Fx *fx = ud;

  ev (fx, "play %u %s %g %g %d", sid, name, start, duration, reset);
  if (fx->play_ok)
    g_assert_true (rtmp_conn_play_ok (conn, sid));
}

static void
on_close_stream (RtmpConn * conn, guint32 sid, gpointer ud)
{
  ev (ud, "close %u", sid);
}

static void
on_media (RtmpConn * conn, guint32 sid, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gpointer ud)
{
  Fx *fx = ud;

  ev (fx, "media %u %u %u %" G_GSIZE_FORMAT, sid, type, ts, len);
  g_ptr_array_add (fx->media, g_bytes_new (payload, len));
  if (fx->close_in_media)
    rtmp_conn_close (conn);
}

static gboolean
on_command (RtmpConn * conn, guint32 sid, const gchar * name, gdouble txn,
    GPtrArray * args, gpointer ud)
{
  ev (ud, "command %u %s %g %u", sid, name, txn, args->len);
  return g_str_equal (name, "handledCall");
}

static void
on_user_control (RtmpConn * conn, guint16 event, guint32 v, guint32 v2,
    gpointer ud)
{
  ev (ud, "uc %u %u %u", event, v, v2);
}

static void
on_error (RtmpConn * conn, const gchar * msg, gpointer ud)
{
  ev (ud, "error %s", msg);
}

static const RtmpConnCallbacks callbacks = {
  on_connect, on_publish, on_play, on_close_stream, on_media, on_command,
  on_user_control, on_error,
};

static Fx *
fx_new_with (const RtmpConnConfig * cfg, const RtmpConnCallbacks * cb)
{
  Fx *fx = g_new0 (Fx, 1);

  fx->conn = rtmp_conn_new_full (cfg, cb, fx);
  fx->events = g_ptr_array_new_with_free_func (g_free);
  fx->media = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fx->tr = tr_new ();
  fx->client_chunk_size = 128;
  fx->accept = fx->publish_ok = fx->play_ok = TRUE;
  return fx;
}

static Fx *
fx_new_full (const RtmpConnConfig * cfg)
{
  return fx_new_with (cfg, &callbacks);
}

static Fx *
fx_new (void)
{
  return fx_new_full (NULL);
}

static void
fx_free (Fx * fx)
{
  rtmp_conn_free (fx->conn);
  g_ptr_array_unref (fx->events);
  g_ptr_array_unref (fx->media);
  tr_free (fx->tr);
  if (fx->rand)
    g_rand_free (fx->rand);
  g_free (fx);
}

static gboolean
fx_feed (Fx * fx, const guint8 * data, gsize len)
{
  gboolean ok = TRUE;
  gsize off = 0;

  if (!fx->rand)
    return rtmp_conn_feed (fx->conn, data, len);
  while (off < len) {
    /* (MIN evaluates its arguments twice) */
    gsize n = g_rand_int_range (fx->rand, 1, 40);

    n = MIN (len - off, n);
    ok = rtmp_conn_feed (fx->conn, data + off, n);
    off += n;
  }
  return ok;
}

static gboolean
fx_feed_array (Fx * fx, GByteArray * b)
{
  gboolean ok = fx_feed (fx, b->data, b->len);

  g_byte_array_unref (b);
  return ok;
}

/* Drains the output into the test reader; returns its size */
static gsize
fx_drain (Fx * fx)
{
  GBytes *out = rtmp_conn_take_output (fx->conn);
  gsize len = 0;

  if (out) {
    const guint8 *d = g_bytes_get_data (out, &len);

    tr_feed (fx->tr, d, len);
    g_bytes_unref (out);
  }
  return len;
}

static TMsg *
fx_next (Fx * fx)
{
  fx_drain (fx);
  g_assert_cmpuint (fx->next_out, <, fx->tr->msgs->len);
  return g_ptr_array_index (fx->tr->msgs, fx->next_out++);
}

static void
fx_assert_no_more (Fx * fx)
{
  fx_drain (fx);
  g_assert_cmpuint (fx->next_out, ==, fx->tr->msgs->len);
  g_assert_cmpuint (fx->tr->buf->len, ==, 0);
}

static void
fx_assert_events (Fx * fx, const gchar * const *want)
{
  guint i;

  for (i = 0; want[i]; i++) {
    if (i >= fx->events->len)
      g_error ("missing event %u: %s", i, want[i]);
    g_assert_cmpstr (g_ptr_array_index (fx->events, i), ==, want[i]);
  }
  if (fx->events->len != i) {
    g_error ("unexpected event %u: %s", i,
        (gchar *) g_ptr_array_index (fx->events, i));
  }
}

static void
fx_handshake (Fx * fx)
{
  guint8 c0c1[1 + HS], c2[HS];
  GBytes *out;
  const guint8 *o;
  gsize len, i;

  c0c1[0] = 3;
  for (i = 1; i < sizeof (c0c1); i++)
    c0c1[i] = (guint8) (i * 13 + 5);
  memset (c2, 0xc2, sizeof (c2));
  g_assert_true (rtmp_conn_feed (fx->conn, c0c1, sizeof (c0c1)));
  out = rtmp_conn_take_output (fx->conn);
  g_assert_nonnull (out);
  o = g_bytes_get_data (out, &len);
  g_assert_cmpuint (len, ==, 1 + 2 * HS);
  g_assert_cmpuint (o[0], ==, 3);
  g_assert_cmpmem (o + 1 + HS, HS, c0c1 + 1, HS);
  g_bytes_unref (out);
  g_assert_true (rtmp_conn_feed (fx->conn, c2, sizeof (c2)));
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_OPEN);
}

/* A command (AMF0, type 20) as one message; takes the nodes */
static GByteArray *
enc_command (guint fmt, guint32 csid, guint32 sid, guint32 chunk_size,
    const gchar * name, gdouble txn, guint n, RtmfpAmfNode ** nodes)
{
  GByteArray *payload, *b = g_byte_array_new ();
  guint i;

  payload = rtmfp_amf_serialize_command_with_args (name, txn, n,
      (const RtmfpAmfNode * const *) nodes);
  for (i = 0; i < n; i++)
    rtmfp_amf_node_free (nodes[i]);
  enc_msg (b, fmt, csid, 0, sid, RTMP_MSG_COMMAND_AMF0, payload->data,
      payload->len, chunk_size, TRUE);
  g_byte_array_unref (payload);
  return b;
}

#define NODES(...) ((RtmfpAmfNode *[]) { __VA_ARGS__ })
#define N_NODES(...) (sizeof (NODES (__VA_ARGS__)) / sizeof (RtmfpAmfNode *))
/* send a command on csid 3 (type 0 header) */
#define fx_cmd(fx, sid, name, txn, ...) \
  fx_feed_array ((fx), enc_command (0, 3, (sid), (fx)->client_chunk_size, \
      (name), (txn), N_NODES (__VA_ARGS__), NODES (__VA_ARGS__)))

static RtmfpAmfNode *
connect_object (const gchar * app, const gchar * tc_url)
{
  RtmfpAmfNode *o = rtmfp_amf_node_new_object ();

  rtmfp_amf_node_append_field_string (o, "app", app, -1);
  rtmfp_amf_node_append_field_string (o, "type", "nonprivate", -1);
  rtmfp_amf_node_append_field_string (o, "flashVer",
      "FMLE/3.0 (compatible; FMSc/1.0)", -1);
  rtmfp_amf_node_append_field_string (o, "tcUrl", tc_url, -1);
  return o;
}

static void
fx_control (Fx * fx, guint8 type, guint32 value)
{
  GByteArray *b = g_byte_array_new ();
  guint8 p[4] = { value >> 24, value >> 16, value >> 8, value };

  enc_msg (b, 0, 2, 0, 0, type, p, 4, fx->client_chunk_size, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  if (type == RTMP_MSG_SET_CHUNK_SIZE)
    fx->client_chunk_size = value;
}

static void
fx_user_control (Fx * fx, guint16 event, guint32 v, gboolean with2,
    guint32 v2)
{
  GByteArray *b = g_byte_array_new ();
  guint8 p[10] = { event >> 8, event, v >> 24, v >> 16, v >> 8, v,
    v2 >> 24, v2 >> 16, v2 >> 8, v2
  };

  enc_msg (b, 0, 2, 0, 0, RTMP_MSG_USER_CONTROL, p, with2 ? 10 : 6,
      fx->client_chunk_size, TRUE);
  g_assert_true (fx_feed_array (fx, b));
}

/* --- checks on parsed output --------------------------------------------- */

static guint32
payload_u32 (TMsg * m)
{
  g_assert_cmpuint (g_bytes_get_size (m->payload), >=, 4);
  return rd_be (g_bytes_get_data (m->payload, NULL), 4);
}

static void
check_control (TMsg * m, guint8 type, guint32 value)
{
  g_assert_cmpuint (m->csid, ==, 2);
  g_assert_cmpuint (m->sid, ==, 0);
  g_assert_cmpuint (m->type, ==, type);
  g_assert_cmpuint (payload_u32 (m), ==, value);
}

static void
check_user_control (TMsg * m, guint16 event, guint32 value)
{
  const guint8 *p;
  gsize len;

  g_assert_cmpuint (m->csid, ==, 2);
  g_assert_cmpuint (m->sid, ==, 0);
  g_assert_cmpuint (m->type, ==, RTMP_MSG_USER_CONTROL);
  p = g_bytes_get_data (m->payload, &len);
  g_assert_cmpuint (len, ==, 6);
  g_assert_cmpuint (rd_be (p, 2), ==, event);
  g_assert_cmpuint (rd_be (p + 2, 4), ==, value);
}

/* Parses a command message; returns its arguments (after name, txn) */
static GPtrArray *
check_command (TMsg * m, guint32 sid, const gchar * name, gdouble txn)
{
  gchar *got = NULL;
  gdouble got_txn = -1;
  gsize len;
  const guint8 *p = g_bytes_get_data (m->payload, &len);
  GPtrArray *args;

  g_assert_cmpuint (m->type, ==, RTMP_MSG_COMMAND_AMF0);
  g_assert_cmpuint (m->sid, ==, sid);
  g_assert_cmpuint (m->csid, ==, RTMP_CSID_COMMAND);
  args = rtmfp_amf_parse_command (p, len, &got, &got_txn);
  g_assert_nonnull (args);
  g_assert_cmpstr (got, ==, name);
  g_assert_cmpfloat (got_txn, ==, txn);
  g_free (got);
  return args;
}

static void
check_status (TMsg * m, guint32 sid, const gchar * level, const gchar * code)
{
  GPtrArray *args = check_command (m, sid, "onStatus", 0);
  const RtmfpAmfNode *info;

  g_assert_cmpuint (args->len, ==, 2);
  g_assert_cmpint (rtmfp_amf_node_get_type (g_ptr_array_index (args, 0)),
      ==, RTMFP_AMF_TYPE_NULL);
  info = g_ptr_array_index (args, 1);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "level", NULL),
      ==, level);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "code", NULL),
      ==, code);
  g_assert_nonnull (rtmfp_amf_node_peek_field_string (info, "description",
          NULL));
  g_ptr_array_unref (args);
}

/* connect + the server's answer, checked message by message */
static void
fx_connect (Fx * fx)
{
  GPtrArray *args;
  const RtmfpAmfNode *props, *info;
  gdouble num;

  fx_handshake (fx);
  g_assert_true (fx_cmd (fx, 0, "connect", 1,
          connect_object ("live", "rtmp://127.0.0.1:1935/live")));
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_CONNECTED);

  check_control (fx_next (fx), RTMP_MSG_WINDOW_ACK_SIZE, 5000000);
  {
    TMsg *m = fx_next (fx);

    check_control (m, RTMP_MSG_SET_PEER_BANDWIDTH, 5000000);
    g_assert_cmpuint (g_bytes_get_size (m->payload), ==, 5);
    g_assert_cmpuint (((const guint8 *) g_bytes_get_data (m->payload,
                NULL))[4], ==, 2);
  }
  check_control (fx_next (fx), RTMP_MSG_SET_CHUNK_SIZE, 4096);
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, 0);
  args = check_command (fx_next (fx), 0, "_result", 1);
  g_assert_cmpuint (args->len, ==, 2);
  props = g_ptr_array_index (args, 0);
  info = g_ptr_array_index (args, 1);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (props, "fmsVer", NULL),
      ==, "FMS/3,0,1,123");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "code", NULL), ==,
      "NetConnection.Connect.Success");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "level", NULL),
      ==, "status");
  g_assert_true (rtmfp_amf_node_get_field_number (info, "objectEncoding",
          &num));
  g_assert_cmpfloat (num, ==, 0);
  g_ptr_array_unref (args);
  g_assert_cmpuint (fx->tr->chunk_size, ==, 4096);
  g_assert_cmpstr (rtmp_conn_get_app (fx->conn), ==, "live");
  g_assert_cmpstr (rtmp_conn_get_tc_url (fx->conn), ==,
      "rtmp://127.0.0.1:1935/live");
  g_ptr_array_set_size (fx->events, 0);
}

/* createStream with txn; checks _result and returns the ID */
static guint32
fx_create_stream (Fx * fx, gdouble txn)
{
  GPtrArray *args;
  gdouble id;

  g_assert_true (fx_cmd (fx, 0, "createStream", txn,
          rtmfp_amf_node_new_null ()));
  args = check_command (fx_next (fx), 0, "_result", txn);
  g_assert_cmpuint (args->len, ==, 2);
  g_assert_cmpint (rtmfp_amf_node_get_type (g_ptr_array_index (args, 1)), ==,
      RTMFP_AMF_TYPE_NUMBER);
  id = rtmfp_amf_node_get_number (g_ptr_array_index (args, 1));
  g_ptr_array_unref (args);
  g_assert_cmpfloat (id, >=, 1);
  return (guint32) id;
}

/* ======================================================================== */
/* Handshake */

static void
test_handshake (void)
{
  Fx *fx = fx_new ();
  guint8 c0c1[1 + HS], c2[HS];
  GBytes *out;
  const guint8 *o;
  gsize len, i;
  GRand *rand = g_rand_new_with_seed (3);

  c0c1[0] = 3;
  /* a digest-style C1 (non-zero version field) is opaque to us */
  for (i = 1; i < sizeof (c0c1); i++)
    c0c1[i] = g_rand_int (rand);
  g_rand_free (rand);
  c0c1[5] = 0x80;
  c0c1[6] = 0x00;
  c0c1[7] = 0x07;
  c0c1[8] = 0x02;
  for (i = 0; i < sizeof (c2); i++)
    c2[i] = i;

  /* C0 and part of C1: nothing yet */
  g_assert_true (rtmp_conn_feed (fx->conn, c0c1, 1));
  g_assert_true (rtmp_conn_feed (fx->conn, c0c1 + 1, 700));
  g_assert_false (rtmp_conn_has_output (fx->conn));
  /* the rest of C1 together with half of C2 */
  {
    GByteArray *b = g_byte_array_new ();

    g_byte_array_append (b, c0c1 + 701, sizeof (c0c1) - 701);
    g_byte_array_append (b, c2, 1000);
    g_assert_true (rtmp_conn_feed (fx->conn, b->data, b->len));
    g_byte_array_unref (b);
  }
  out = rtmp_conn_take_output (fx->conn);
  o = g_bytes_get_data (out, &len);
  g_assert_cmpuint (len, ==, 1 + HS + HS);
  /* S0 version 3; S1 time then four zero bytes (plain handshake) */
  g_assert_cmpuint (o[0], ==, 3);
  g_assert_cmpmem (o + 5, 4, "\0\0\0\0", 4);
  /* S2 echoes C1 */
  g_assert_cmpmem (o + 1 + HS, HS, c0c1 + 1, HS);
  /* S1's random part is not C1's */
  g_assert_true (memcmp (o + 9, c0c1 + 9, HS - 8) != 0);
  g_bytes_unref (out);
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_HANDSHAKE);

  /* the rest of C2 plus the first byte of a chunk */
  {
    GByteArray *b = g_byte_array_new ();

    g_byte_array_append (b, c2 + 1000, HS - 1000);
    g_assert_true (rtmp_conn_feed (fx->conn, b->data, b->len));
    g_byte_array_unref (b);
  }
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_OPEN);
  g_assert_false (rtmp_conn_has_output (fx->conn));
  /* and it speaks chunks now */
  g_assert_true (fx_cmd (fx, 0, "connect", 1,
          connect_object ("app", "rtmp://h/app")));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
      "connect txn=1 app=app tc=rtmp://h/app flashVer=FMLE/3.0 (compatible; "
      "FMSc/1.0)");
  g_assert_cmpuint (fx->events->len, ==, 1);
  fx_free (fx);
}

static void
test_handshake_bad_version (void)
{
  static const guint8 versions[] = { 0, 2, 6, 8, 31, 'G' };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (versions); i++) {
    Fx *fx = fx_new ();
    guint8 c0c1[1 + HS] = { versions[i] };

    g_assert_false (rtmp_conn_feed (fx->conn, c0c1, sizeof (c0c1)));
    g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
        RTMP_CONN_STATE_FAILED);
    g_assert_true (rtmp_conn_is_closed (fx->conn));
    g_assert_false (rtmp_conn_has_output (fx->conn));
    g_assert_cmpuint (fx->events->len, ==, 1);
    g_assert_true (g_str_has_prefix (g_ptr_array_index (fx->events, 0),
            "error "));
    /* stays failed, no more callbacks */
    g_assert_false (rtmp_conn_feed (fx->conn, c0c1, sizeof (c0c1)));
    g_assert_cmpuint (fx->events->len, ==, 1);
    fx_free (fx);
  }
  {
    /* an HTTP request fails at its first byte */
    Fx *fx = fx_new ();

    g_assert_false (rtmp_conn_feed (fx->conn, (const guint8 *) "GET / ", 6));
    fx_free (fx);
  }
}

/* ======================================================================== */
/* Chunk reader: header types, csid forms, interleaving, timestamps */

typedef struct {
  guint32 csid, sid, ts;
  guint8 type;
  GBytes *payload;
} Want;

/* Feeds b to a fresh reader (whole, then byte by byte, then in random
 * pieces) and checks the messages against want */
static void
check_reader (GByteArray * b, const Want * want, guint n_want,
    guint32 chunk_size)
{
  guint mode;

  for (mode = 0; mode < 3; mode++) {
    RtmpChunkReader *r = rtmp_chunk_reader_new (NULL);
    GByteArray *pending = g_byte_array_new ();
    GRand *rand = g_rand_new_with_seed (17 + mode);
    gsize off = 0;
    guint got = 0;

    g_assert_true (rtmp_chunk_reader_set_chunk_size (r, chunk_size));
    while (off < b->len) {
      gsize n = mode == 0 ? b->len : mode == 1 ? 1 :
          (gsize) g_rand_int_range (rand, 1, 300);
      gsize pos = 0;

      n = MIN (n, b->len - off);
      g_byte_array_append (pending, b->data + off, n);
      off += n;
      for (;;) {
        RtmpMessage msg;
        gsize used = 99999;
        const gchar *err = NULL;
        RtmpChunkResult res = rtmp_chunk_reader_next (r, pending->data + pos,
            pending->len - pos, &used, &msg, &err);

        g_assert_cmpint (res, !=, RTMP_CHUNK_ERROR);
        g_assert_cmpuint (used, <=, pending->len - pos);
        pos += used;
        if (res == RTMP_CHUNK_NEED_MORE) {
          /* whatever is left is less than a chunk header */
          g_assert_cmpuint (pending->len - pos, <,
              RTMP_MAX_CHUNK_HEADER_SIZE);
          break;
        }
        g_assert_cmpuint (got, <, n_want);
        g_assert_cmpuint (msg.csid, ==, want[got].csid);
        g_assert_cmpuint (msg.stream_id, ==, want[got].sid);
        g_assert_cmpuint (msg.type, ==, want[got].type);
        g_assert_cmpuint (msg.timestamp, ==, want[got].ts);
        g_assert_cmpmem (msg.payload, msg.len,
            g_bytes_get_data (want[got].payload, NULL),
            g_bytes_get_size (want[got].payload));
        got++;
      }
      g_byte_array_remove_range (pending, 0, pos);
    }
    g_assert_cmpuint (got, ==, n_want);
    g_assert_cmpuint (pending->len, ==, 0);
    g_byte_array_unref (pending);
    g_rand_free (rand);
    rtmp_chunk_reader_free (r);
  }
}

static void
test_chunk_header_types (void)
{
  GByteArray *b = g_byte_array_new ();
  GBytes *p1 = pattern_bytes (300, 1), *p2 = pattern_bytes (300, 2),
      *p3 = pattern_bytes (50, 3), *p4 = pattern_bytes (50, 4),
      *p5 = pattern_bytes (0, 5), *p6 = pattern_bytes (128, 6);
  const guint8 *d1 = g_bytes_get_data (p1, NULL),
      *d2 = g_bytes_get_data (p2, NULL), *d3 = g_bytes_get_data (p3, NULL),
      *d4 = g_bytes_get_data (p4, NULL), *d6 = g_bytes_get_data (p6, NULL);
  Want want[] = {
    {4, 1, 1000, 9, p1},        /* type 0 */
    {4, 1, 1040, 9, p2},        /* type 2: delta 40 */
    {4, 1, 1080, 9, p1},        /* type 3: delta 40 again */
    {4, 1, 1100, 8, p3},        /* type 1: delta 20, other type, length */
    {4, 1, 1120, 8, p4},        /* type 3 */
    {4, 1, 1145, 8, p3},        /* type 2: delta 25 */
    {64, 7, 0, 18, p5},         /* 2-byte basic header, empty message */
    {319, 7, 5, 8, p6},         /* largest 2-byte csid */
    {320, 8, 7, 9, p3},         /* smallest 3-byte csid */
    {65599, 9, 100, 9, p4},     /* largest csid */
    {2, 0, 0, 5, p4},           /* csid 2 */
    /* type 3 right after a type 0: the delta is the type 0 timestamp
     * (RTMP 1.0 5.3.1.2.4) */
    {65599, 9, 200, 9, p4},
    {319, 7, 10, 8, p6},
  };

  enc_msg (b, 0, 4, 1000, 1, 9, d1, 300, 128, TRUE);
  enc_msg (b, 2, 4, 40, 0, 0, d2, 300, 128, TRUE);
  enc_msg (b, 3, 4, 0, 0, 0, d1, 300, 128, TRUE);
  enc_msg (b, 1, 4, 20, 0, 8, d3, 50, 128, TRUE);
  enc_msg (b, 3, 4, 0, 0, 0, d4, 50, 128, TRUE);
  enc_msg (b, 2, 4, 25, 0, 0, d3, 50, 128, TRUE);
  enc_msg (b, 0, 64, 0, 7, 18, NULL, 0, 128, TRUE);
  enc_msg (b, 0, 319, 5, 7, 8, d6, 128, 128, TRUE);
  enc_msg (b, 0, 320, 7, 8, 9, d3, 50, 128, TRUE);
  enc_msg (b, 0, 65599, 100, 9, 9, d4, 50, 128, TRUE);
  enc_msg (b, 0, 2, 0, 0, 5, d4, 50, 128, TRUE);
  enc_msg (b, 3, 65599, 0, 0, 0, d4, 50, 128, TRUE);
  enc_msg (b, 3, 319, 0, 0, 0, d6, 128, 128, TRUE);
  /* the exact bytes of the first header: 0x04, ts 0x0003e8, len 0x00012c,
   * type 9, stream 1 (little endian) */
  g_assert_cmpmem (b->data, 12, "\x04\x00\x03\xe8\x00\x01\x2c\x09\x01\x00\x00"
      "\x00", 12);
  check_reader (b, want, G_N_ELEMENTS (want), 128);

  g_byte_array_unref (b);
  g_bytes_unref (p1);
  g_bytes_unref (p2);
  g_bytes_unref (p3);
  g_bytes_unref (p4);
  g_bytes_unref (p5);
  g_bytes_unref (p6);
}

/* Three messages split over many chunks, interleaved chunk by chunk across
 * chunk streams of all three basic header forms */
static void
test_chunk_interleaved (void)
{
  GByteArray *b = g_byte_array_new ();
  const guint32 csids[3] = { 5, 200, 40000 };
  const gsize lens[3] = { 1000, 700, 1300 };
  GBytes *p[3];
  gsize off[3] = { 0, 0, 0 };
  guint i, chunk = 100;
  gboolean more = TRUE;
  Want want[3];

  for (i = 0; i < 3; i++)
    p[i] = pattern_bytes (lens[i], 10 + i);
  while (more) {
    more = FALSE;
    for (i = 0; i < 3; i++) {
      gsize n;

      if (off[i] >= lens[i])
        continue;
      if (off[i] == 0)
        enc_header (b, 0, csids[i], 33 * (i + 1), lens[i], 8 + (i % 2), i + 1,
            -1);
      else
        enc_header (b, 3, csids[i], 0, 0, 0, 0, -1);
      n = MIN (chunk, lens[i] - off[i]);
      g_byte_array_append (b, (const guint8 *) g_bytes_get_data (p[i],
              NULL) + off[i], n);
      off[i] += n;
      more = TRUE;
    }
  }
  /* completion order: 700 bytes (7 chunks) first, then 1000, then 1300 */
  want[0] = (Want) {
  200, 2, 66, 9, p[1]};
  want[1] = (Want) {
  5, 1, 33, 8, p[0]};
  want[2] = (Want) {
  40000, 3, 99, 8, p[2]};
  check_reader (b, want, 3, chunk);
  g_byte_array_unref (b);
  for (i = 0; i < 3; i++)
    g_bytes_unref (p[i]);
}

static void
test_chunk_extended_timestamp (void)
{
  GByteArray *b = g_byte_array_new ();
  GBytes *p = pattern_bytes (400, 7), *q = pattern_bytes (90, 8);
  const guint8 *d = g_bytes_get_data (p, NULL), *e = g_bytes_get_data (q,
      NULL);
  Want want[] = {
    {6, 1, 0x01000000, 9, p},   /* type 0, extended, repeated in type 3 */
    {6, 1, 0x01000020, 9, q},   /* type 1 delta 0x20 */
    {7, 1, 0x00ffffff, 9, p},   /* exactly 0xffffff is extended too */
    {7, 1, 0x01fffffe, 9, p},   /* type 2 with an extended delta */
    {7, 1, 0x02fffffd, 9, p},   /* type 3 new message: delta again, ext */
    {9, 1, 0xfffffff0, 8, q},   /* wrap: 0xfffffff0 + 0x20 = 0x10 */
    {9, 1, 0x00000010, 8, q},
  };

  enc_msg (b, 0, 6, 0x01000000, 1, 9, d, 400, 128, TRUE);
  /* the extended field: header 06 ff ff ff ... then 01 00 00 00; the
   * continuation chunk header is c6 01 00 00 00 */
  g_assert_cmpmem (b->data, 16, "\x06\xff\xff\xff\x00\x01\x90\x09\x01\x00\x00"
      "\x00\x01\x00\x00\x00", 16);
  g_assert_cmpmem (b->data + 16 + 128, 5, "\xc6\x01\x00\x00\x00", 5);
  enc_msg (b, 1, 6, 0x20, 0, 9, e, 90, 128, TRUE);
  enc_msg (b, 0, 7, 0xffffff, 1, 9, d, 400, 128, TRUE);
  enc_msg (b, 2, 7, 0xffffff, 0, 0, d, 400, 128, TRUE);
  enc_msg (b, 3, 7, 0xffffff, 0, 0, d, 400, 128, TRUE);
  enc_msg (b, 0, 9, 0xfffffff0, 1, 8, e, 90, 128, TRUE);
  enc_msg (b, 2, 9, 0x20, 0, 0, e, 90, 128, TRUE);
  check_reader (b, want, G_N_ELEMENTS (want), 128);
  g_byte_array_unref (b);
  g_bytes_unref (p);
  g_bytes_unref (q);
}

/* Type 3 chunks carry the extended timestamp field exactly when the last
 * type 0/1/2 header of their chunk stream did (RTMP 1.0 5.3.1.3), whatever
 * its value: senders repeat the header's field (a delta for types 1 and 2)
 * or the message's absolute timestamp, and the reader must not guess from
 * the bytes.  A reader that compares them with the header's field takes
 * the four bytes as payload here: the messages grow by 4 bytes per
 * continuation chunk and the chunk stream falls out of step. */
static void
test_chunk_extended_timestamp_value (void)
{
  GByteArray *b = g_byte_array_new ();
  GBytes *p = pattern_bytes (300, 11), *q = pattern_bytes (260, 12);
  const guint8 *d = g_bytes_get_data (p, NULL), *e = g_bytes_get_data (q,
      NULL);
  Want want[] = {
    {6, 1, 0x01000000, 9, p},
    {6, 1, 0x02000000, 9, p},
    {6, 1, 0x03000000, 9, p},
    {7, 1, 0x12345678, 8, q},
    {7, 1, 0x12345690, 8, q},
  };

  /* type 0 at 0x01000000: continuations repeat it (equal to the field) */
  enc_header (b, 0, 6, 0x01000000, 300, 9, 1, -1);
  g_byte_array_append (b, d, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x01000000);
  g_byte_array_append (b, d + 128, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x01000000);
  g_byte_array_append (b, d + 256, 44);
  /* type 2 with the extended delta 0x01000000: this sender repeats the
   * message's absolute timestamp, not the delta */
  enc_header (b, 2, 6, 0x01000000, 0, 0, 0, -1);
  g_byte_array_append (b, d, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x02000000);
  g_byte_array_append (b, d + 128, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x02000000);
  g_byte_array_append (b, d + 256, 44);
  /* type 3 starting a message: delta again; its field says 0x03000000 */
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x03000000);
  g_byte_array_append (b, d, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x03000000);
  g_byte_array_append (b, d + 128, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, 0x03000000);
  g_byte_array_append (b, d + 256, 44);
  /* the payload starts with bytes that equal the timestamp: the field is
   * present all the same, taken once, and the payload stays whole */
  {
    guint8 *r = g_memdup2 (e, 260);

    r[0] = 0x12;
    r[1] = 0x34;
    r[2] = 0x56;
    r[3] = 0x78;
    memcpy (r + 128, r, 4);
    g_bytes_unref (q);
    q = g_bytes_new_take (r, 260);
    e = r;
    want[3].payload = want[4].payload = q;
  }
  enc_header (b, 0, 7, 0x12345678, 260, 8, 1, -1);
  g_byte_array_append (b, e, 128);
  enc_header (b, 3, 7, 0, 0, 0, 0, 0x12345678);
  g_byte_array_append (b, e + 128, 128);
  enc_header (b, 3, 7, 0, 0, 0, 0, 0x12345678);
  g_byte_array_append (b, e + 256, 4);
  /* then small deltas: no extended field any more, in any chunk, even
   * when the payload begins with the old extended value */
  enc_header (b, 2, 7, 0x18, 0, 0, 0, -1);
  g_byte_array_append (b, e, 128);
  enc_header (b, 3, 7, 0, 0, 0, 0, -1);
  g_byte_array_append (b, e + 128, 128);
  enc_header (b, 3, 7, 0, 0, 0, 0, -1);
  g_byte_array_append (b, e + 256, 4);
  check_reader (b, want, G_N_ELEMENTS (want), 128);
  g_byte_array_unref (b);
  g_bytes_unref (p);
  g_bytes_unref (q);
}

/* Writer output: header compression and extended timestamps, by bytes */
static void
test_chunk_writer_bytes (void)
{
  RtmpChunkWriter *w = rtmp_chunk_writer_new ();
  GByteArray *out = g_byte_array_new ();
  guint8 p[200];

  memset (p, 0xab, sizeof (p));
  /* first: type 0 */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 1, 9, 1000, p, 10));
  g_assert_cmpmem (out->data, 12, "\x06\x00\x03\xe8\x00\x00\x0a\x09\x01\x00"
      "\x00\x00", 12);
  g_byte_array_set_size (out, 0);
  /* same length and type, delta 40: type 2 (never type 3 after type 0) */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 1, 9, 1040, p, 10));
  g_assert_cmpmem (out->data, 4, "\x86\x00\x00\x28", 4);
  g_assert_cmpuint (out->len, ==, 14);
  g_byte_array_set_size (out, 0);
  /* delta 40 again: type 3 */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 1, 9, 1080, p, 10));
  g_assert_cmpuint (out->data[0], ==, 0xc6);
  g_assert_cmpuint (out->len, ==, 11);
  g_byte_array_set_size (out, 0);
  /* other length: type 1 */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 1, 9, 1100, p, 20));
  g_assert_cmpmem (out->data, 8, "\x46\x00\x00\x14\x00\x00\x14\x09", 8);
  g_byte_array_set_size (out, 0);
  /* backwards: type 0 */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 1, 9, 500, p, 20));
  g_assert_cmpuint (out->data[0], ==, 0x06);
  g_byte_array_set_size (out, 0);
  /* other message stream: type 0 */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 2, 9, 600, p, 20));
  g_assert_cmpuint (out->data[0], ==, 0x06);
  g_byte_array_set_size (out, 0);
  /* huge delta: type 0 with the extended field, repeated in continuations */
  g_assert_true (rtmp_chunk_writer_write (w, out, 6, 2, 9, 0x12345678, p,
          200));
  g_assert_cmpmem (out->data, 16, "\x06\xff\xff\xff\x00\x00\xc8\x09\x02\x00"
      "\x00\x00\x12\x34\x56\x78", 16);
  g_assert_cmpmem (out->data + 16 + 128, 5, "\xc6\x12\x34\x56\x78", 5);
  g_assert_cmpuint (out->len, ==, 16 + 128 + 5 + 72);
  g_byte_array_set_size (out, 0);
  /* 2- and 3-byte basic headers */
  g_assert_true (rtmp_chunk_writer_write (w, out, 64, 0, 9, 0, p, 1));
  g_assert_cmpmem (out->data, 2, "\x00\x00", 2);
  g_byte_array_set_size (out, 0);
  g_assert_true (rtmp_chunk_writer_write (w, out, 65599, 0, 9, 0, p, 1));
  g_assert_cmpmem (out->data, 3, "\x01\xff\xff", 3);
  g_byte_array_set_size (out, 0);
  /* out of range */
  g_assert_false (rtmp_chunk_writer_write (w, out, 1, 0, 9, 0, p, 1));
  g_assert_false (rtmp_chunk_writer_write (w, out, 65600, 0, 9, 0, p, 1));
  g_assert_cmpuint (out->len, ==, 0);
  g_assert_false (rtmp_chunk_writer_set_chunk_size (w, 0));
  g_assert_false (rtmp_chunk_writer_set_chunk_size (w, 0x80000000u));
  g_assert_true (rtmp_chunk_writer_set_chunk_size (w, 0x7fffffff));
  g_byte_array_unref (out);
  rtmp_chunk_writer_free (w);
}

/* Seeded random messages: writer -> reader (code under test) and writer
 * -> test reader, fed in random pieces, with random chunk sizes */
static void
test_chunk_random_roundtrip (void)
{
  guint seed;

  for (seed = 1; seed <= 40; seed++) {
    GRand *rand = g_rand_new_with_seed (seed);
    RtmpChunkWriter *w = rtmp_chunk_writer_new ();
    RtmpChunkReader *r = rtmp_chunk_reader_new (NULL);
    TReader *tr = tr_new ();
    GByteArray *out = g_byte_array_new ();
    GPtrArray *sent = g_ptr_array_new_with_free_func (tmsg_free);
    static const guint32 csids[] = { 3, 4, 63, 64, 300, 319, 320, 9999,
      65599
    };
    guint32 chunk = g_rand_boolean (rand) ? g_rand_int_range (rand, 1, 300) :
        g_rand_int_range (rand, 300, 70000);
    guint32 ts[G_N_ELEMENTS (csids)] = { 0 };
    guint i, n = g_rand_int_range (rand, 20, 80), got = 0;
    gsize pos = 0;

    rtmp_chunk_writer_set_chunk_size (w, chunk);
    rtmp_chunk_reader_set_chunk_size (r, chunk);
    tr->chunk_size = chunk;
    for (i = 0; i < n; i++) {
      TMsg *m = g_new0 (TMsg, 1);
      guint c = g_rand_int_range (rand, 0, G_N_ELEMENTS (csids));
      gsize len = g_rand_boolean (rand) ? g_rand_int_range (rand, 0, 200) :
          g_rand_int_range (rand, 0, 20000);

      switch (g_rand_int_range (rand, 0, 6)) {
        case 0:                /* big jump, extended */
          ts[c] += g_rand_int_range (rand, 0xfffff0, 0x2000000);
          break;
        case 1:                /* backwards */
          ts[c] -= g_rand_int_range (rand, 0, 1000);
          break;
        case 2:                /* same delta as before, often */
          ts[c] += 40;
          break;
        default:
          ts[c] += g_rand_int_range (rand, 0, 100);
          break;
      }
      m->csid = csids[c];
      m->sid = g_rand_int_range (rand, 0, 3);
      m->type = g_rand_boolean (rand) ? 8 : 9;
      m->ts = ts[c];
      m->payload = pattern_bytes (len, seed * 1000 + i);
      g_assert_true (rtmp_chunk_writer_write (w, out, m->csid, m->sid,
              m->type, m->ts, g_bytes_get_data (m->payload, NULL), len));
      g_ptr_array_add (sent, m);
    }
    tr_feed (tr, out->data, out->len);
    g_assert_cmpuint (tr->msgs->len, ==, n);
    g_assert_cmpuint (tr->buf->len, ==, 0);

    while (pos < out->len || got < n) {
      gsize piece = g_rand_int_range (rand, 1, 5000);
      gsize used;
      RtmpMessage msg;
      RtmpChunkResult res;

      piece = MIN (piece, out->len - pos);
      res = rtmp_chunk_reader_next (r, out->data + pos, piece, &used, &msg,
          NULL);
      g_assert_cmpint (res, !=, RTMP_CHUNK_ERROR);
      if (res == RTMP_CHUNK_NEED_MORE && used == 0 && piece == out->len - pos)
        g_assert_not_reached ();
      pos += used;
      if (res == RTMP_CHUNK_MESSAGE) {
        TMsg *m = g_ptr_array_index (sent, got);
        TMsg *t = g_ptr_array_index (tr->msgs, got);

        g_assert_cmpuint (msg.csid, ==, m->csid);
        g_assert_cmpuint (msg.stream_id, ==, m->sid);
        g_assert_cmpuint (msg.type, ==, m->type);
        g_assert_cmpuint (msg.timestamp, ==, m->ts);
        g_assert_cmpmem (msg.payload, msg.len,
            g_bytes_get_data (m->payload, NULL),
            g_bytes_get_size (m->payload));
        g_assert_cmpuint (t->csid, ==, m->csid);
        g_assert_cmpuint (t->sid, ==, m->sid);
        g_assert_cmpuint (t->ts, ==, m->ts);
        g_assert_true (g_bytes_equal (t->payload, m->payload));
        got++;
      }
    }
    g_assert_cmpuint (got, ==, n);
    g_assert_cmpuint (rtmp_chunk_reader_get_buffered (r), <=, 64 * 1024 * 9);

    g_ptr_array_unref (sent);
    g_byte_array_unref (out);
    tr_free (tr);
    rtmp_chunk_reader_free (r);
    rtmp_chunk_writer_free (w);
    g_rand_free (rand);
  }
}

/* ======================================================================== */
/* Connection: publisher, the way rtmp2sink / ffmpeg / OBS talk */

static GByteArray *
metadata_payload (void)
{
  RtmfpAmfNode *n;
  GByteArray *b = g_byte_array_new ();

  n = rtmfp_amf_node_new_string ("@setDataFrame", -1);
  rtmfp_amf_node_serialize (n, b);
  rtmfp_amf_node_free (n);
  n = rtmfp_amf_node_new_string ("onMetaData", -1);
  rtmfp_amf_node_serialize (n, b);
  rtmfp_amf_node_free (n);
  n = rtmfp_amf_node_new_ecma_array ();
  rtmfp_amf_node_append_field_number (n, "width", 320);
  rtmfp_amf_node_append_field_number (n, "height", 240);
  rtmfp_amf_node_append_field_number (n, "videocodecid", 7);
  rtmfp_amf_node_append_field_string (n, "encoder", "GStreamer FLV muxer",
      -1);
  rtmfp_amf_node_serialize (n, b);
  rtmfp_amf_node_free (n);
  return b;
}

static void
run_publish_script (gboolean random_pieces)
{
  Fx *fx = fx_new ();
  GByteArray *b, *meta = metadata_payload ();
  GBytes *aac_hdr = g_bytes_new_static ("\xaf\x00\x12\x10", 4);
  GBytes *avc_hdr = pattern_bytes (40, 77);
  GBytes *key = pattern_bytes (9000, 78), *inter = pattern_bytes (700, 79);
  GBytes *aac = pattern_bytes (200, 80);
  guint32 sid;
  GPtrArray *args;
  const gchar *want[] = {
    "publish 1 test live",
    NULL,
    "media 1 8 0 4",
    "media 1 9 0 40",
    "media 1 9 0 9000",
    "media 1 8 23 200",
    "media 1 9 33 700",
    "media 1 8 46 200",
    "media 1 9 66 700",
    "media 1 8 69 200",
    "command 0 someCall 9 2",
    "close 1",
    NULL
  };
  gchar *meta_event;

  if (random_pieces)
    fx->rand = g_rand_new_with_seed (4242);
  fx_connect (fx);
  /* the client's Set Chunk Size and Window Ack Size (ffmpeg sends both) */
  fx_control (fx, RTMP_MSG_SET_CHUNK_SIZE, 4096);
  fx_control (fx, RTMP_MSG_WINDOW_ACK_SIZE, 2500000);
  /* releaseStream, FCPublish (ffmpeg: txn 2, 3; rtmp2sink: txn 0) */
  g_assert_true (fx_cmd (fx, 0, "releaseStream", 2,
          rtmfp_amf_node_new_null (), rtmfp_amf_node_new_string ("test", -1)));
  g_assert_true (fx_cmd (fx, 0, "FCPublish", 3, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("test", -1)));
  g_assert_true (fx_cmd (fx, 0, "releaseStream", 0,
          rtmfp_amf_node_new_null (), rtmfp_amf_node_new_string ("test", -1)));
  args = check_command (fx_next (fx), 0, "_result", 2);
  g_ptr_array_unref (args);
  args = check_command (fx_next (fx), 0, "_result", 3);
  g_ptr_array_unref (args);
  sid = fx_create_stream (fx, 4);
  g_assert_cmpuint (sid, ==, 1);
  fx_assert_no_more (fx);

  /* publish on the new stream, on csid 4 like ffmpeg's source channel */
  g_assert_true (fx_feed_array (fx, enc_command (0, 8, sid, 4096, "publish",
              5, 3, NODES (rtmfp_amf_node_new_null (),
                  rtmfp_amf_node_new_string ("test", -1),
                  rtmfp_amf_node_new_string ("live", -1)))));
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, 1);
  check_status (fx_next (fx), 1, "status", "NetStream.Publish.Start");
  g_assert_cmpstr (rtmp_conn_get_stream_name (fx->conn, 1), ==, "test");

  /* @setDataFrame on csid 4, then media on csid 4 (audio) and 6 (video)
   * with every header type */
  b = g_byte_array_new ();
  enc_msg (b, 0, 4, 0, sid, 18, meta->data, meta->len, 4096, TRUE);
  enc_msg (b, 1, 4, 0, 0, 8, g_bytes_get_data (aac_hdr, NULL), 4, 4096,
      TRUE);
  enc_msg (b, 0, 6, 0, sid, 9, g_bytes_get_data (avc_hdr, NULL), 40, 4096,
      TRUE);
  enc_msg (b, 1, 6, 0, 0, 9, g_bytes_get_data (key, NULL), 9000, 4096, TRUE);
  enc_msg (b, 1, 4, 23, 0, 8, g_bytes_get_data (aac, NULL), 200, 4096, TRUE);
  enc_msg (b, 1, 6, 33, 0, 9, g_bytes_get_data (inter, NULL), 700, 4096,
      TRUE);
  enc_msg (b, 3, 4, 0, 0, 0, g_bytes_get_data (aac, NULL), 200, 4096, TRUE);
  enc_msg (b, 2, 6, 33, 0, 0, g_bytes_get_data (inter, NULL), 700, 4096,
      TRUE);
  enc_msg (b, 3, 4, 0, 0, 0, g_bytes_get_data (aac, NULL), 200, 4096, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  /* an unknown call goes to on_command, then _error (not handled) */
  g_assert_true (fx_cmd (fx, 0, "someCall", 9, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_number (1)));
  args = check_command (fx_next (fx), 0, "_error", 9);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (g_ptr_array_index (args,
              1), "code", NULL), ==, "NetConnection.Call.Failed");
  g_ptr_array_unref (args);
  /* FCUnpublish, deleteStream (ffmpeg) */
  g_assert_true (fx_cmd (fx, 0, "FCUnpublish", 6, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("test", -1)));
  args = check_command (fx_next (fx), 0, "_result", 6);
  g_ptr_array_unref (args);
  g_assert_true (fx_cmd (fx, 0, "deleteStream", 7, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_number (sid)));
  fx_assert_no_more (fx);
  g_assert_null (rtmp_conn_get_stream_name (fx->conn, 1));

  meta_event = g_strdup_printf ("media 1 18 0 %u", meta->len);
  want[1] = meta_event;
  fx_assert_events (fx, want);
  g_free (meta_event);
  /* payloads intact */
  g_assert_cmpuint (fx->media->len, ==, 9);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (fx->media, 0), NULL),
      g_bytes_get_size (g_ptr_array_index (fx->media, 0)), meta->data,
      meta->len);
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 1), aac_hdr));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 2), avc_hdr));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 3), key));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 4), aac));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 5), inter));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 6), aac));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 7), inter));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 8), aac));

  {
    RtmpConnStats st;

    rtmp_conn_get_stats (fx->conn, &st);
    g_assert_cmpuint (st.media_in, ==, 9);
    g_assert_cmpuint (st.in_chunk_size, ==, 4096);
    g_assert_cmpuint (st.out_chunk_size, ==, 4096);
    g_assert_cmpuint (st.peer_window, ==, 2500000);
  }
  g_byte_array_unref (meta);
  g_bytes_unref (aac_hdr);
  g_bytes_unref (avc_hdr);
  g_bytes_unref (key);
  g_bytes_unref (inter);
  g_bytes_unref (aac);
  fx_free (fx);
}

static void
test_publish_ffmpeg_style (void)
{
  run_publish_script (FALSE);
  run_publish_script (TRUE);
}

/* rtmp2sink's own quirks: txn 0 for releaseStream/FCPublish/publish,
 * and FCUnpublish / deleteStream with the stream *name* on stream 0 */
static void
test_publish_rtmp2sink_style (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  static const gchar *const want[] = {
    "publish 1 cam?key=1 live",
    "media 1 9 1000 3",
    "close 1",
    NULL
  };

  fx_connect (fx);
  g_assert_true (fx_cmd (fx, 0, "releaseStream", 0,
          rtmfp_amf_node_new_null (), rtmfp_amf_node_new_string ("cam?key=1",
              -1)));
  g_assert_true (fx_cmd (fx, 0, "FCPublish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("cam?key=1", -1)));
  /* txn 0: no answer */
  sid = fx_create_stream (fx, 1);
  fx_assert_no_more (fx);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("cam?key=1", -1),
          rtmfp_amf_node_new_string ("live", -1)));
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, sid);
  check_status (fx_next (fx), sid, "status", "NetStream.Publish.Start");
  {
    GByteArray *b = g_byte_array_new ();

    enc_msg (b, 0, 7, 1000, sid, 9, (const guint8 *) "\x17\x01\x00", 3, 128,
        TRUE);
    g_assert_true (fx_feed_array (fx, b));
  }
  g_assert_true (fx_cmd (fx, 0, "FCUnpublish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("cam?key=1", -1)));
  g_assert_true (fx_cmd (fx, 0, "deleteStream", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("cam?key=1", -1)));
  fx_assert_no_more (fx);
  fx_assert_events (fx, want);
  /* the stream is gone: publishing on it again is refused */
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("cam", -1)));
  check_status (fx_next (fx), sid, "error", "NetStream.Publish.BadName");
  fx_free (fx);
}

static void
test_publish_refused (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GByteArray *b;

  fx->publish_ok = FALSE;
  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("taken", -1)));
  /* the driver has not answered: media is not reported */
  b = g_byte_array_new ();
  enc_msg (b, 0, 4, 0, sid, 8, (const guint8 *) "\xaf\x01", 2, 128, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  fx_assert_no_more (fx);
  g_assert_true (rtmp_conn_publish_fail (fx->conn, sid, NULL,
          "Already publishing."));
  check_status (fx_next (fx), sid, "error", "NetStream.Publish.BadName");
  g_assert_false (rtmp_conn_publish_ok (fx->conn, sid));
  g_assert_false (rtmp_conn_publish_fail (fx->conn, sid, NULL, NULL));
  /* a second publish on the same stream is reported again */
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("other", -1)));
  g_assert_true (rtmp_conn_publish_ok (fx->conn, sid));
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, sid);
  check_status (fx_next (fx), sid, "status", "NetStream.Publish.Start");
  /* busy stream, unknown stream, missing name */
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("third", -1)));
  check_status (fx_next (fx), sid, "error", "NetStream.Publish.BadName");
  g_assert_true (fx_cmd (fx, 77, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("x", -1)));
  check_status (fx_next (fx), 77, "error", "NetStream.Publish.BadName");
  fx_assert_no_more (fx);
  {
    static const gchar *const want[] = {
      "publish 1 taken live", "publish 1 other live", NULL
    };
    fx_assert_events (fx, want);
  }
  fx_free (fx);
}

/* ======================================================================== */
/* Connection: player */

static void
test_play (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GPtrArray *args;
  TMsg *m;
  GBytes *key = pattern_bytes (10000, 5), *audio = pattern_bytes (300, 6);
  GByteArray *meta = metadata_payload ();
  static const gchar *const want[] = {
    "uc 3 0 300",
    "play 1 test -2 -1 1",
    "uc 3 1 30000",
    NULL
  };

  fx_connect (fx);
  /* what rtmp2src sends: Window Ack Size, SetBufferLength 0 300,
   * createStream, play (txn 0, start -2), SetBufferLength 1 30000 */
  fx_control (fx, RTMP_MSG_WINDOW_ACK_SIZE, 2500000);
  fx_user_control (fx, RTMP_USER_CONTROL_SET_BUFFER_LENGTH, 0, TRUE, 300);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("test", -1),
          rtmfp_amf_node_new_number (-2)));
  fx_user_control (fx, RTMP_USER_CONTROL_SET_BUFFER_LENGTH, sid, TRUE, 30000);
  fx_assert_events (fx, want);

  /* StreamBegin 1, Play.Reset, Play.Start, |RtmpSampleAccess */
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, sid);
  check_status (fx_next (fx), sid, "status", "NetStream.Play.Reset");
  check_status (fx_next (fx), sid, "status", "NetStream.Play.Start");
  m = fx_next (fx);
  g_assert_cmpuint (m->type, ==, RTMP_MSG_DATA_AMF0);
  g_assert_cmpuint (m->sid, ==, sid);
  args = rtmfp_amf_parse_values (g_bytes_get_data (m->payload, NULL),
      g_bytes_get_size (m->payload));
  g_assert_nonnull (args);
  g_assert_cmpuint (args->len, ==, 3);
  g_assert_cmpstr (rtmfp_amf_node_peek_string (g_ptr_array_index (args, 0),
          NULL), ==, "|RtmpSampleAccess");
  g_ptr_array_unref (args);
  fx_assert_no_more (fx);

  /* media to the player: metadata, audio, a video frame over 4096 bytes */
  g_assert_true (rtmp_conn_send_media (fx->conn, sid, 18, 0, meta->data,
          meta->len));
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 9, 0, key));
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 8, 21, audio));
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 8, 44, audio));
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 8, 67, audio));
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 9, 0x01000000,
          key));
  /* wrong stream, wrong type, not playing */
  g_assert_false (rtmp_conn_send_media_bytes (fx->conn, sid + 1, 9, 0, key));
  g_assert_false (rtmp_conn_send_media_bytes (fx->conn, sid, 20, 0, key));
  g_assert_false (rtmp_conn_send_media_bytes (fx->conn, 0, 9, 0, key));

  m = fx_next (fx);
  g_assert_cmpuint (m->csid, ==, RTMP_CSID_DATA);
  g_assert_cmpuint (m->type, ==, 18);
  g_assert_cmpmem (g_bytes_get_data (m->payload, NULL),
      g_bytes_get_size (m->payload), meta->data, meta->len);
  m = fx_next (fx);
  g_assert_cmpuint (m->csid, ==, RTMP_CSID_VIDEO);
  g_assert_cmpuint (m->sid, ==, sid);
  g_assert_cmpuint (m->ts, ==, 0);
  g_assert_true (g_bytes_equal (m->payload, key));
  /* 10000 bytes at our chunk size 4096: 3 chunks */
  g_assert_cmpuint (m->n_chunks, ==, 3);
  g_assert_cmpuint (m->first_fmt, ==, 0);
  m = fx_next (fx);
  g_assert_cmpuint (m->csid, ==, RTMP_CSID_AUDIO);
  g_assert_cmpuint (m->ts, ==, 21);
  g_assert_cmpuint (m->first_fmt, ==, 0);
  m = fx_next (fx);
  g_assert_cmpuint (m->ts, ==, 44);
  g_assert_cmpuint (m->first_fmt, ==, 2);
  m = fx_next (fx);
  g_assert_cmpuint (m->ts, ==, 67);
  g_assert_cmpuint (m->first_fmt, ==, 3);
  g_assert_true (g_bytes_equal (m->payload, audio));
  m = fx_next (fx);
  g_assert_cmpuint (m->ts, ==, 0x01000000);
  g_assert_true (g_bytes_equal (m->payload, key));
  fx_assert_no_more (fx);

  /* UnpublishNotify and StreamEOF from the driver */
  g_assert_true (rtmp_conn_send_status (fx->conn, sid, "status",
          "NetStream.Play.UnpublishNotify", "test is now unpublished."));
  g_assert_true (rtmp_conn_send_user_control (fx->conn,
          RTMP_USER_CONTROL_STREAM_EOF, sid, 0));
  check_status (fx_next (fx), sid, "status",
      "NetStream.Play.UnpublishNotify");
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_EOF, sid);

  /* queued media dropped when the player deletes its stream */
  g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 9, 2000, key));
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 9), ==,
      10000);
  g_assert_true (fx_cmd (fx, 0, "deleteStream", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_number (sid)));
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, G_MAXUINT32, 0),
      ==, 0);
  fx_assert_no_more (fx);
  g_assert_cmpstr (g_ptr_array_index (fx->events, fx->events->len - 1), ==,
      "close 1");

  g_bytes_unref (key);
  g_bytes_unref (audio);
  g_byte_array_unref (meta);
  fx_free (fx);
}

static void
test_play_fail (void)
{
  Fx *fx = fx_new ();
  guint32 sid;

  fx->play_ok = FALSE;
  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("nobody", -1),
          rtmfp_amf_node_new_number (-1), rtmfp_amf_node_new_number (-1),
          rtmfp_amf_node_new_boolean (FALSE)));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
      "play 1 nobody -1 -1 0");
  fx_assert_no_more (fx);
  g_assert_false (rtmp_conn_send_media (fx->conn, sid, 9, 0,
          (const guint8 *) "x", 1));
  g_assert_true (rtmp_conn_play_fail (fx->conn, sid, NULL, NULL));
  check_status (fx_next (fx), sid, "error", "NetStream.Play.StreamNotFound");
  g_assert_false (rtmp_conn_play_ok (fx->conn, sid));
  /* played again, accepted later, without reset: no Play.Reset */
  g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("later", -1),
          rtmfp_amf_node_new_number (-2), rtmfp_amf_node_new_number (-1),
          rtmfp_amf_node_new_boolean (FALSE)));
  g_assert_true (rtmp_conn_play_ok (fx->conn, sid));
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, sid);
  check_status (fx_next (fx), sid, "status", "NetStream.Play.Start");
  g_assert_cmpuint (fx_next (fx)->type, ==, RTMP_MSG_DATA_AMF0);
  fx_assert_no_more (fx);
  /* closeStream on the stream itself (Flash) */
  g_assert_true (fx_cmd (fx, sid, "closeStream", 0,
          rtmfp_amf_node_new_null ()));
  g_assert_cmpstr (g_ptr_array_index (fx->events, fx->events->len - 1), ==,
      "close 1");
  /* the stream still exists and can play again */
  g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("again", -1)));
  g_assert_cmpstr (g_ptr_array_index (fx->events, fx->events->len - 1), ==,
      "play 1 again -2 -1 1");
  fx_free (fx);

  /* no callbacks at all: connect accepted, publish and play refused */
  {
    RtmpConnCallbacks none = { 0 };

    fx = fx_new_with (NULL, &none);
    fx_connect (fx);
    sid = fx_create_stream (fx, 2);
    g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
            rtmfp_amf_node_new_string ("x", -1)));
    check_status (fx_next (fx), sid, "error",
        "NetStream.Play.StreamNotFound");
    g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
            rtmfp_amf_node_new_string ("x", -1)));
    check_status (fx_next (fx), sid, "error", "NetStream.Publish.BadName");
    fx_assert_no_more (fx);
    g_assert_cmpuint (fx->events->len, ==, 0);
    fx_free (fx);
  }
}

static void
test_connect_reject (void)
{
  Fx *fx = fx_new ();
  GPtrArray *args;
  const RtmfpAmfNode *info;

  fx->accept = FALSE;
  fx_handshake (fx);
  /* commands before connect get _error */
  g_assert_true (fx_cmd (fx, 0, "createStream", 5,
          rtmfp_amf_node_new_null ()));
  args = check_command (fx_next (fx), 0, "_error", 5);
  g_ptr_array_unref (args);
  g_assert_true (fx_cmd (fx, 0, "connect", 1,
          connect_object ("private", "rtmp://h/private")));
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_CONNECTING);
  fx_assert_no_more (fx);
  g_assert_false (rtmp_conn_publish_ok (fx->conn, 1));
  g_assert_false (rtmp_conn_send_status (fx->conn, 0, "status", "x", NULL));
  /* accepted later, outside the callback */
  g_assert_true (rtmp_conn_accept_connect (fx->conn, 1));
  g_assert_false (rtmp_conn_accept_connect (fx->conn, 1));
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_CONNECTED);
  check_control (fx_next (fx), RTMP_MSG_WINDOW_ACK_SIZE, 5000000);
  check_control (fx_next (fx), RTMP_MSG_SET_PEER_BANDWIDTH, 5000000);
  check_control (fx_next (fx), RTMP_MSG_SET_CHUNK_SIZE, 4096);
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_STREAM_BEGIN, 0);
  g_ptr_array_unref (check_command (fx_next (fx), 0, "_result", 1));
  fx_assert_no_more (fx);
  fx_free (fx);

  fx = fx_new ();
  fx->accept = FALSE;
  fx_handshake (fx);
  g_assert_true (fx_cmd (fx, 0, "connect", 1,
          connect_object ("private", "rtmp://h/private")));
  g_assert_true (rtmp_conn_reject_connect (fx->conn, 1, NULL,
          "[ code=403 need auth; authmod=adobe ]"));
  g_assert_false (rtmp_conn_reject_connect (fx->conn, 1, NULL, NULL));
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_CLOSED);
  g_assert_true (rtmp_conn_is_closed (fx->conn));
  args = check_command (fx_next (fx), 0, "_error", 1);
  info = g_ptr_array_index (args, 1);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "code", NULL), ==,
      "NetConnection.Connect.Rejected");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (info, "description",
          NULL), ==, "[ code=403 need auth; authmod=adobe ]");
  g_ptr_array_unref (args);
  /* input after that is ignored; not an error */
  g_assert_true (fx_cmd (fx, 0, "createStream", 2,
          rtmfp_amf_node_new_null ()));
  fx_assert_no_more (fx);
  g_assert_cmpuint (fx->events->len, ==, 1);
  fx_free (fx);
}

/* ======================================================================== */
/* Protocol control from the client */

static void
test_set_chunk_size_midstream (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GByteArray *b;
  GBytes *p = pattern_bytes (5000, 9);
  const guint8 *d = g_bytes_get_data (p, NULL);

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("s", -1)));
  fx_drain (fx);
  /* one buffer: a message at 128, Set Chunk Size 1000, the same message at
   * 1000, Set Chunk Size 0x7fffffff, and the message in one chunk */
  b = g_byte_array_new ();
  enc_msg (b, 0, 6, 10, sid, 9, d, 5000, 128, TRUE);
  {
    guint8 v[4] = { 0, 0, 0x03, 0xe8 };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_CHUNK_SIZE, v, 4, 128, TRUE);
  }
  enc_msg (b, 2, 6, 10, 0, 0, d, 5000, 1000, TRUE);
  {
    guint8 v[4] = { 0x7f, 0xff, 0xff, 0xff };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_CHUNK_SIZE, v, 4, 1000, TRUE);
  }
  enc_msg (b, 3, 6, 0, 0, 0, d, 5000, 0x7fffffff, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  g_assert_cmpuint (fx->media->len, ==, 3);
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 0), p));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 1), p));
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 2), p));
  {
    static const gchar *const want[] = {
      "publish 1 s live",
      "media 1 9 10 5000", "media 1 9 20 5000", "media 1 9 30 5000", NULL
    };
    fx_assert_events (fx, want);
  }
  g_bytes_unref (p);
  fx_free (fx);

  /* invalid sizes fail the connection */
  {
    static const guint32 bad[] = { 0, 0x80000000u, 0xffffffffu };
    guint i;

    for (i = 0; i < G_N_ELEMENTS (bad); i++) {
      guint8 v[4] = { bad[i] >> 24, bad[i] >> 16, bad[i] >> 8, bad[i] };

      fx = fx_new ();
      fx_handshake (fx);
      b = g_byte_array_new ();
      enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_CHUNK_SIZE, v, 4, 128, TRUE);
      g_assert_false (fx_feed_array (fx, b));
      g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
          RTMP_CONN_STATE_FAILED);
      g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
          "error invalid chunk size");
      fx_free (fx);
    }
  }
}

static void
test_abort (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GByteArray *b;
  GBytes *p = pattern_bytes (1000, 3), *q = pattern_bytes (300, 4);
  const guint8 *d = g_bytes_get_data (p, NULL);

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("s", -1)));
  fx_drain (fx);
  b = g_byte_array_new ();
  /* 3 chunks of a 1000-byte message on csid 6 */
  enc_header (b, 0, 6, 100, 1000, 9, sid, -1);
  g_byte_array_append (b, d, 128);
  enc_header (b, 3, 6, 0, 0, 0, 0, -1);
  g_byte_array_append (b, d + 128, 128);
  /* Abort (csid 6) */
  {
    guint8 v[4] = { 0, 0, 0, 6 };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_ABORT, v, 4, 128, TRUE);
  }
  /* a new message on csid 6, then abort of an idle csid (no-op) */
  enc_msg (b, 0, 6, 200, sid, 9, g_bytes_get_data (q, NULL), 300, 128, TRUE);
  {
    guint8 v[4] = { 0, 0, 0, 9 };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_ABORT, v, 4, 128, TRUE);
  }
  g_assert_true (fx_feed_array (fx, b));
  g_assert_cmpuint (fx->media->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (fx->media, 0), q));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 1), ==, "media 1 9 200 300");
  g_bytes_unref (p);
  g_bytes_unref (q);
  fx_free (fx);
}

static void
test_acks (void)
{
  Fx *fx = fx_new ();
  guint32 sid, window = 1000;
  guint64 total, last_ack = 0;
  GBytes *p = pattern_bytes (300, 1);
  guint i, n_acks = 0;
  GPtrArray *want_acks = g_ptr_array_new ();

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("s", -1)));
  fx_drain (fx);
  fx->next_out = fx->tr->msgs->len;
  /* no window set: no acks */
  {
    RtmpConnStats st;

    rtmp_conn_get_stats (fx->conn, &st);
    g_assert_cmpuint (st.acks_sent, ==, 0);
    total = st.bytes_in;
  }
  /* the client asks for acks every 1000 bytes */
  {
    GByteArray *b = g_byte_array_new ();
    guint8 v[4] = { 0, 0, window >> 8, window & 0xff };

    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_WINDOW_ACK_SIZE, v, 4, 128, TRUE);
    total += b->len;
    g_assert_true (fx_feed_array (fx, b));
  }
  /* the model: after each feed, ack the total if a window has passed */
  if (total - last_ack >= window) {
    last_ack = total;
    g_ptr_array_add (want_acks, GUINT_TO_POINTER ((guint32) total));
  }
  for (i = 0; i < 20; i++) {
    GByteArray *b = g_byte_array_new ();

    enc_msg (b, i == 0 ? 0 : 3, 4, 0, sid, 8,
        g_bytes_get_data (p, NULL), 300, 128, TRUE);
    total += b->len;
    g_assert_true (fx_feed_array (fx, b));
    if (total - last_ack >= window) {
      last_ack = total;
      g_ptr_array_add (want_acks, GUINT_TO_POINTER ((guint32) total));
    }
  }
  g_assert_cmpuint (want_acks->len, >=, 5);
  for (;;) {
    TMsg *m;

    fx_drain (fx);
    if (fx->next_out >= fx->tr->msgs->len)
      break;
    m = fx_next (fx);
    check_control (m, RTMP_MSG_ACKNOWLEDGEMENT,
        GPOINTER_TO_UINT (g_ptr_array_index (want_acks, n_acks)));
    n_acks++;
  }
  g_assert_cmpuint (n_acks, ==, want_acks->len);
  g_assert_cmpuint (fx->media->len, ==, 20);
  g_ptr_array_unref (want_acks);
  fx_free (fx);

  /* a client that never sends a Window Ack Size is acknowledged at half
   * the Set Peer Bandwidth we sent it */
  {
    RtmpConnConfig cfg;
    guint64 expect_next;

    rtmp_conn_config_init (&cfg);
    cfg.peer_bandwidth = 4000;
    fx = fx_new_full (&cfg);
    fx_handshake (fx);
    g_assert_true (fx_cmd (fx, 0, "connect", 1,
            connect_object ("live", "rtmp://h/live")));
    fx_drain (fx);
    /* connected with more than 2000 bytes in: acked at once */
    {
      RtmpConnStats st;
      TMsg *m = g_ptr_array_index (fx->tr->msgs, fx->tr->msgs->len - 1);

      rtmp_conn_get_stats (fx->conn, &st);
      check_control (m, RTMP_MSG_ACKNOWLEDGEMENT, (guint32) st.bytes_in);
      g_assert_cmpuint (st.acks_sent, ==, 1);
      g_assert_cmpuint (st.peer_window, ==, 0);
      expect_next = st.bytes_in + 2000;
    }
    fx->next_out = fx->tr->msgs->len;
    fx_create_stream (fx, 2);
    n_acks = 0;
    for (i = 0; i < 30; i++) {
      GByteArray *b = g_byte_array_new ();
      RtmpConnStats st;

      enc_msg (b, 0, 4, 0, 0, 8, g_bytes_get_data (p, NULL), 300, 128, TRUE);
      g_assert_true (fx_feed_array (fx, b));
      rtmp_conn_get_stats (fx->conn, &st);
      if (st.bytes_in >= expect_next) {
        TMsg *m = fx_next (fx);

        check_control (m, RTMP_MSG_ACKNOWLEDGEMENT, (guint32) st.bytes_in);
        expect_next = st.bytes_in + 2000;
        n_acks++;
      }
      fx_assert_no_more (fx);
    }
    g_assert_cmpuint (n_acks, >=, 3);
    fx_free (fx);
  }
  g_bytes_unref (p);
}

static void
test_control_misc (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GPtrArray *args;

  fx_connect (fx);
  /* PingRequest -> PingResponse with the same timestamp */
  fx_user_control (fx, RTMP_USER_CONTROL_PING_REQUEST, 123456, FALSE, 0);
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_PING_RESPONSE, 123456);
  /* PingResponse to our ping goes to the driver */
  g_assert_true (rtmp_conn_send_ping (fx->conn, 777));
  check_user_control (fx_next (fx), RTMP_USER_CONTROL_PING_REQUEST, 777);
  fx_user_control (fx, RTMP_USER_CONTROL_PING_RESPONSE, 777, FALSE, 0);
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==, "uc 7 777 0");
  /* Set Peer Bandwidth: hard 1000000 -> Window Ack Size 1000000; soft
   * larger: nothing; dynamic after hard: applied as hard */
  {
    GByteArray *b = g_byte_array_new ();
    guint8 v1[5] = { 0, 0x0f, 0x42, 0x40, 0 };
    guint8 v2[5] = { 0, 0x1f, 0x42, 0x40, 1 };
    guint8 v3[5] = { 0, 0x0f, 0x42, 0x41, 2 };

    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_PEER_BANDWIDTH, v1, 5, 128, TRUE);
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_PEER_BANDWIDTH, v2, 5, 128, TRUE);
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_PEER_BANDWIDTH, v3, 5, 128, TRUE);
    g_assert_true (fx_feed_array (fx, b));
  }
  check_control (fx_next (fx), RTMP_MSG_WINDOW_ACK_SIZE, 1000000);
  check_control (fx_next (fx), RTMP_MSG_WINDOW_ACK_SIZE, 1000001);
  /* the client's Acknowledgement is recorded */
  fx_control (fx, RTMP_MSG_ACKNOWLEDGEMENT, 4242);
  {
    RtmpConnStats st;

    rtmp_conn_get_stats (fx->conn, &st);
    g_assert_cmpuint (st.peer_acked, ==, 4242);
  }
  /* an AMF3 command (type 17, format byte 0) is understood */
  {
    GByteArray *b = g_byte_array_new ();
    RtmfpAmfNode *null = rtmfp_amf_node_new_null ();
    GByteArray *c = rtmfp_amf_serialize_command ("createStream", 8, null,
        NULL);
    guint8 zero = 0;

    g_byte_array_prepend (c, &zero, 1);
    enc_msg (b, 0, 3, 0, 0, RTMP_MSG_COMMAND_AMF3, c->data, c->len, 128,
        TRUE);
    g_assert_true (fx_feed_array (fx, b));
    g_byte_array_unref (c);
    rtmfp_amf_node_free (null);
  }
  args = check_command (fx_next (fx), 0, "_result", 8);
  sid = (guint32) rtmfp_amf_node_get_number (g_ptr_array_index (args, 1));
  g_assert_cmpuint (sid, ==, 1);
  g_ptr_array_unref (args);
  /* a handled call: no _error; a _result from the client: never answered */
  g_assert_true (fx_cmd (fx, 0, "handledCall", 3,
          rtmfp_amf_node_new_null ()));
  g_assert_true (fx_cmd (fx, 0, "_result", 4, rtmfp_amf_node_new_null ()));
  fx_assert_no_more (fx);
  {
    static const gchar *const want[] = {
      "uc 7 777 0", "command 0 handledCall 3 1", "command 0 _result 4 1", NULL
    };
    fx_assert_events (fx, want);
  }
  /* the driver's own command */
  {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };

    g_assert_true (rtmp_conn_send_command (fx->conn, 0, "onBWDone", 0, 1,
            (const RtmfpAmfNode * const *) a));
    rtmfp_amf_node_free (a[0]);
    args = check_command (fx_next (fx), 0, "onBWDone", 0);
    g_ptr_array_unref (args);
  }
  fx_free (fx);
}

/* Aggregate (type 22): split into sub-messages with rebased timestamps */
static void
test_aggregate (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GByteArray *agg = g_byte_array_new (), *b;
  struct {
    guint8 type;
    guint32 ts;
    const gchar *data;
  } subs[] = {
    {8, 1000, "\xaf\x01" "abc"},
    {9, 1000, "\x27\x01" "defgh"},
    {8, 0x01000017, "\xaf\x01" "ij"},       /* upper timestamp bits used */
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (subs); i++) {
    gsize len = strlen (subs[i].data);
    guint32 ts = subs[i].ts;

    g_byte_array_append (agg, &subs[i].type, 1);
    enc_be (agg, len, 3);
    enc_be (agg, ts & 0xffffff, 3);
    {
      guint8 hi = ts >> 24;
      g_byte_array_append (agg, &hi, 1);
    }
    enc_be (agg, 1, 3);
    g_byte_array_append (agg, (const guint8 *) subs[i].data, len);
    /* the last back pointer is left out */
    if (i + 1 < G_N_ELEMENTS (subs))
      enc_be (agg, 11 + len, 4);
  }

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("s", -1)));
  b = g_byte_array_new ();
  enc_msg (b, 0, 4, 5000, sid, RTMP_MSG_AGGREGATE, agg->data, agg->len, 128,
      TRUE);
  /* a truncated aggregate: the complete sub-message before is delivered */
  enc_msg (b, 0, 4, 9000, sid, RTMP_MSG_AGGREGATE, agg->data, 29, 128, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  {
    static const gchar *const want[] = {
      "publish 1 s live",
      "media 1 8 5000 5", "media 1 9 5000 7",
      "media 1 8 16781239 4",   /* 5000 + 0x01000017 - 1000 */
      "media 1 8 9000 5",
      NULL
    };
    fx_assert_events (fx, want);
  }
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (fx->media, 1), NULL),
      7, "\x27\x01" "defgh", 7);
  g_byte_array_unref (agg);
  fx_free (fx);
}

/* ======================================================================== */
/* Output queue: peek/consume, queued bytes, dropping */

static void
test_output_queue (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GBytes *v = pattern_bytes (50000, 1), *a = pattern_bytes (400, 2);
  guint i, dropped;
  gsize queued_v;

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "play", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("x", -1)));
  fx_drain (fx);
  fx->next_out = fx->tr->msgs->len;

  for (i = 0; i < 4; i++) {
    g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 9, i * 40, v));
    g_assert_true (rtmp_conn_send_media_bytes (fx->conn, sid, 8, i * 40, a));
  }
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 9), ==,
      4 * 50000);
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 8), ==,
      4 * 400);
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, G_MAXUINT32, 9),
      ==, 4 * 50000);
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 0), ==,
      4 * 50400);

  /* peek chunks only part of the queue; consume byte counts in pieces */
  {
    gsize len, total = 0;
    const guint8 *p = rtmp_conn_peek_output (fx->conn, &len);

    g_assert_nonnull (p);
    g_assert_cmpuint (len, >=, 50000);
    g_assert_cmpuint (len, <, 4 * 50400);
    /* the first video frame and its audio are chunked now */
    g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 9), <,
        4 * 50000);
    tr_feed (fx->tr, p, 1000);
    rtmp_conn_consume_output (fx->conn, 1000);
    total += 1000;
    p = rtmp_conn_peek_output (fx->conn, &len);
    tr_feed (fx->tr, p, len);
    rtmp_conn_consume_output (fx->conn, len);
    total += len;
    g_assert_cmpuint (total, >, 50000);
  }
  /* drop the video not yet chunked */
  queued_v = rtmp_conn_get_queued_bytes (fx->conn, sid, 9);
  dropped = rtmp_conn_drop_queued (fx->conn, sid, 9);
  g_assert_cmpuint (dropped, ==, queued_v / 50000);
  g_assert_cmpuint (dropped, >=, 1);
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 9), ==, 0);
  g_assert_cmpuint (rtmp_conn_get_queued_bytes (fx->conn, sid, 8), >, 0);
  fx_drain (fx);
  {
    guint n_v = 0, n_a = 0;
    guint32 last_ts = 0;

    while (fx->next_out < fx->tr->msgs->len) {
      TMsg *m = fx_next (fx);

      if (m->type == 9) {
        g_assert_true (g_bytes_equal (m->payload, v));
        n_v++;
      } else {
        g_assert_cmpuint (m->type, ==, 8);
        g_assert_true (g_bytes_equal (m->payload, a));
        g_assert_cmpuint (m->ts, >=, last_ts);
        last_ts = m->ts;
        n_a++;
      }
    }
    g_assert_cmpuint (n_a, ==, 4);
    g_assert_cmpuint (n_v, ==, 4 - dropped);
  }
  g_assert_false (rtmp_conn_has_output (fx->conn));
  g_assert_cmpuint (rtmp_conn_get_output_size (fx->conn), ==, 0);
  g_bytes_unref (v);
  g_bytes_unref (a);
  fx_free (fx);
}

/* ======================================================================== */
/* Hostile input */

static void
test_limits (void)
{
  RtmpConnConfig cfg;
  Fx *fx;
  GByteArray *b;
  guint i;

  /* partial messages beyond max_buffered */
  rtmp_conn_config_init (&cfg);
  cfg.max_buffered = 64 * 1024;
  fx = fx_new_full (&cfg);
  fx_handshake (fx);
  b = g_byte_array_new ();
  {
    /* chunks of 30000: each message stops after one chunk */
    guint8 v[4] = { 0, 0, 30000 >> 8, 30000 & 0xff };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_SET_CHUNK_SIZE, v, 4, 128, TRUE);
  }
  g_assert_true (fx_feed_array (fx, b));
  for (i = 0; i < 3; i++) {
    guint8 junk[30000];

    memset (junk, i, sizeof (junk));
    b = g_byte_array_new ();
    /* absurd length: 16 MiB - 1, never completed */
    enc_header (b, 0, 4 + i, 0, 0xffffff, 9, 1, -1);
    g_byte_array_append (b, junk, sizeof (junk));
    if (i < 2)
      g_assert_true (fx_feed_array (fx, b));
    else
      g_assert_false (fx_feed_array (fx, b));
  }
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
      "error partial messages exceed the buffer limit");
  fx_free (fx);

  /* a flood of chunk streams */
  fx = fx_new ();
  fx_handshake (fx);
  b = g_byte_array_new ();
  for (i = 0; i < 100; i++)
    enc_msg (b, 0, 3 + i * 600, 0, 0, 8, (const guint8 *) "x", 1, 128, TRUE);
  g_assert_false (fx_feed_array (fx, b));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
      "error too many chunk streams");
  fx_free (fx);

  /* type 1 header without a type 0 first */
  fx = fx_new ();
  fx_handshake (fx);
  b = g_byte_array_new ();
  enc_msg (b, 1, 5, 0, 0, 8, (const guint8 *) "x", 1, 128, TRUE);
  g_assert_false (fx_feed_array (fx, b));
  fx_free (fx);

  /* too many streams */
  rtmp_conn_config_init (&cfg);
  cfg.max_streams = 3;
  fx = fx_new_full (&cfg);
  fx_connect (fx);
  for (i = 0; i < 3; i++)
    fx_create_stream (fx, 10 + i);
  g_assert_true (fx_cmd (fx, 0, "createStream", 20,
          rtmfp_amf_node_new_null ()));
  g_ptr_array_unref (check_command (fx_next (fx), 0, "_error", 20));
  /* deleting one frees a slot */
  g_assert_true (fx_cmd (fx, 0, "deleteStream", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_number (2)));
  g_assert_cmpuint (fx_create_stream (fx, 21), ==, 4);
  fx_free (fx);

  /* a client that pings but never reads */
  rtmp_conn_config_init (&cfg);
  cfg.max_output = 10000;
  fx = fx_new_full (&cfg);
  fx_connect (fx);
  b = g_byte_array_new ();
  for (i = 0; i < 2000; i++) {
    guint8 v[6] = { 0, 6, 0, 0, i >> 8, i };
    enc_msg (b, 0, 2, 0, 0, RTMP_MSG_USER_CONTROL, v, 6, 128, TRUE);
  }
  g_assert_false (fx_feed_array (fx, b));
  g_assert_cmpstr (g_ptr_array_index (fx->events, 0), ==,
      "error too much output pending: the client does not read");
  fx_free (fx);

  /* malformed commands are ignored, the connection goes on */
  fx = fx_new ();
  fx_connect (fx);
  b = g_byte_array_new ();
  enc_msg (b, 0, 3, 0, 0, 20, (const guint8 *) "\x02\x00\x10" "abc", 6, 128,
      TRUE);
  enc_msg (b, 0, 3, 0, 0, 20, (const guint8 *) "\x00\x00", 2, 128, TRUE);
  enc_msg (b, 0, 3, 0, 0, 17, (const guint8 *) "\x05", 1, 128, TRUE);
  enc_msg (b, 0, 3, 0, 0, 4, (const guint8 *) "\x00", 1, 128, TRUE);
  enc_msg (b, 0, 3, 0, 0, 20, (const guint8 *) "", 0, 128, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  fx_create_stream (fx, 2);
  fx_free (fx);
}

/* Seeded random garbage after the handshake, and bit flips in a valid
 * publisher stream: never crashes, never grows past its limits */
static void
test_fuzz (void)
{
  GRand *rand = g_rand_new_with_seed (99);
  GByteArray *script = g_byte_array_new ();
  guint iter;

  /* a valid publisher stream after the handshake */
  {
    GByteArray *meta = metadata_payload ();
    RtmfpAmfNode *n[3];
    GByteArray *c;
    GBytes *key = pattern_bytes (3000, 3);

    n[0] = connect_object ("live", "rtmp://h/live");
    c = rtmfp_amf_serialize_command_with_args ("connect", 1, 1,
        (const RtmfpAmfNode * const *) n);
    enc_msg (script, 0, 3, 0, 0, 20, c->data, c->len, 128, TRUE);
    g_byte_array_unref (c);
    rtmfp_amf_node_free (n[0]);
    n[0] = rtmfp_amf_node_new_null ();
    c = rtmfp_amf_serialize_command_with_args ("createStream", 2, 1,
        (const RtmfpAmfNode * const *) n);
    enc_msg (script, 1, 3, 0, 0, 20, c->data, c->len, 128, TRUE);
    g_byte_array_unref (c);
    n[1] = rtmfp_amf_node_new_string ("s", -1);
    n[2] = rtmfp_amf_node_new_string ("live", -1);
    c = rtmfp_amf_serialize_command_with_args ("publish", 0, 3,
        (const RtmfpAmfNode * const *) n);
    enc_msg (script, 0, 8, 0, 1, 20, c->data, c->len, 128, TRUE);
    g_byte_array_unref (c);
    rtmfp_amf_node_free (n[0]);
    rtmfp_amf_node_free (n[1]);
    rtmfp_amf_node_free (n[2]);
    enc_msg (script, 0, 4, 0, 1, 18, meta->data, meta->len, 128, TRUE);
    enc_msg (script, 0, 6, 0x1000000, 1, 9, g_bytes_get_data (key, NULL),
        3000, 128, TRUE);
    enc_msg (script, 2, 6, 40, 0, 0, g_bytes_get_data (key, NULL), 3000, 128,
        TRUE);
    g_byte_array_unref (meta);
    g_bytes_unref (key);
  }

  for (iter = 0; iter < 400; iter++) {
    RtmpConnConfig cfg;
    Fx *fx;
    GByteArray *b = g_byte_array_new ();
    guint i;

    rtmp_conn_config_init (&cfg);
    cfg.max_buffered = 256 * 1024;
    fx = fx_new_full (&cfg);
    fx->rand = g_rand_new_with_seed (iter);
    fx->publish_ok = iter % 2;
    fx_handshake (fx);
    if (iter % 2 == 0) {
      gsize len = g_rand_int_range (rand, 1, 4096);

      for (i = 0; i < len; i++) {
        guint8 x = g_rand_int (rand);
        g_byte_array_append (b, &x, 1);
      }
    } else {
      guint flips = g_rand_int_range (rand, 1, 8);

      g_byte_array_append (b, script->data, script->len);
      for (i = 0; i < flips; i++)
        b->data[g_rand_int_range (rand, 0, b->len)] ^=
            1 << g_rand_int_range (rand, 0, 8);
    }
    fx_feed_array (fx, b);
    while (rtmp_conn_has_output (fx->conn)) {
      GBytes *o = rtmp_conn_take_output (fx->conn);
      g_bytes_unref (o);
    }
    if (rtmp_conn_get_state (fx->conn) == RTMP_CONN_STATE_FAILED) {
      g_assert_nonnull (rtmp_conn_get_error (fx->conn));
      g_assert_true (g_str_has_prefix (g_ptr_array_index (fx->events,
                  fx->events->len - 1), "error "));
    }
    fx_free (fx);
  }
  g_byte_array_unref (script);
  g_rand_free (rand);
}

/* Closing from a callback stops at once */
static void
test_close_from_callback (void)
{
  Fx *fx = fx_new ();
  guint32 sid;
  GByteArray *b;

  fx_connect (fx);
  sid = fx_create_stream (fx, 2);
  g_assert_true (fx_cmd (fx, sid, "publish", 0, rtmfp_amf_node_new_null (),
          rtmfp_amf_node_new_string ("s", -1)));
  fx->close_in_media = TRUE;
  b = g_byte_array_new ();
  enc_msg (b, 0, 4, 0, sid, 8, (const guint8 *) "ab", 2, 128, TRUE);
  enc_msg (b, 0, 4, 10, sid, 8, (const guint8 *) "cd", 2, 128, TRUE);
  g_assert_true (fx_feed_array (fx, b));
  g_assert_cmpuint (fx->media->len, ==, 1);
  g_assert_cmpint (rtmp_conn_get_state (fx->conn), ==,
      RTMP_CONN_STATE_CLOSED);
  fx_free (fx);
}

static void
drop_debug (const gchar * domain, GLogLevelFlags level, const gchar * message,
    gpointer user_data)
{
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the fuzz test alone would print thousands of traces */
  if (!g_getenv ("G_MESSAGES_DEBUG")) {
    g_log_set_handler ("rtmfp-rtmpconn", G_LOG_LEVEL_DEBUG, drop_debug, NULL);
    g_log_set_handler ("rtmfp-rtmpchunk", G_LOG_LEVEL_DEBUG, drop_debug, NULL);
  }

  g_test_add_func ("/rtmp/handshake", test_handshake);
  g_test_add_func ("/rtmp/handshake-bad-version", test_handshake_bad_version);
  g_test_add_func ("/rtmp/chunk/header-types", test_chunk_header_types);
  g_test_add_func ("/rtmp/chunk/interleaved", test_chunk_interleaved);
  g_test_add_func ("/rtmp/chunk/extended-timestamp",
      test_chunk_extended_timestamp);
  g_test_add_func ("/rtmp/chunk/extended-timestamp-value",
      test_chunk_extended_timestamp_value);
  g_test_add_func ("/rtmp/chunk/writer-bytes", test_chunk_writer_bytes);
  g_test_add_func ("/rtmp/chunk/random-roundtrip",
      test_chunk_random_roundtrip);
  g_test_add_func ("/rtmp/conn/publish-ffmpeg", test_publish_ffmpeg_style);
  g_test_add_func ("/rtmp/conn/publish-rtmp2sink",
      test_publish_rtmp2sink_style);
  g_test_add_func ("/rtmp/conn/publish-refused", test_publish_refused);
  g_test_add_func ("/rtmp/conn/play", test_play);
  g_test_add_func ("/rtmp/conn/play-fail", test_play_fail);
  g_test_add_func ("/rtmp/conn/connect-reject", test_connect_reject);
  g_test_add_func ("/rtmp/conn/set-chunk-size", test_set_chunk_size_midstream);
  g_test_add_func ("/rtmp/conn/abort", test_abort);
  g_test_add_func ("/rtmp/conn/acks", test_acks);
  g_test_add_func ("/rtmp/conn/control-misc", test_control_misc);
  g_test_add_func ("/rtmp/conn/aggregate", test_aggregate);
  g_test_add_func ("/rtmp/conn/output-queue", test_output_queue);
  g_test_add_func ("/rtmp/conn/limits", test_limits);
  g_test_add_func ("/rtmp/conn/fuzz", test_fuzz);
  g_test_add_func ("/rtmp/conn/close-from-callback",
      test_close_from_callback);
  return g_test_run ();
}
