/* gst-rtmfp fuzz target: the server side of an RTMP connection
 * (tools/rtmfp-server/rtmp/rtmpconn.h): handshake, chunk stream, protocol
 * control and NetConnection / NetStream commands, as rtmfp-server's TCP
 * listener feeds them.
 *
 * Input: byte 0 flags, byte 1 feed slice size (0: everything at once),
 * then the bytes from the client.
 *   flags & 1   a valid handshake first (C0 + C1, then C2 = S1 echoed), so
 *               the input is the chunk stream after it; otherwise the input
 *               starts with C0 itself (raw)
 *   flags & 2   connect is rejected (else accepted)
 *   flags & 4   publish / play are refused (else accepted)
 *   flags & 8   media from a publisher is sent back on its stream and a
 *               status / ping is sent on each message (output chunking)
 *   flags & 16  the driver takes its output only at the end (else after
 *               every feed, in pieces of the slice size)
 *
 * Invariants: no crash, leak or GLib critical; feed returns FALSE exactly
 * when the connection has failed (on_error called once), for good; input
 * after close or failure is ignored; the connect arguments are visible
 * only inside on_connect; all output drains and the stats count exactly
 * what was taken and every on_media.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmpconn.h"

#define HANDSHAKE_SIZE 1536

typedef struct {
  guint8 flags;
  gboolean in_connect;
  guint n_errors;
  guint n_media;
} Ctx;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static void
on_connect (RtmpConn * conn, gdouble txn, const gchar * app,
    const gchar * tc_url, const RtmfpAmfNode * obj, gpointer ud)
{
  Ctx *ctx = ud;
  GPtrArray *args = rtmp_conn_peek_connect_args (conn);

  FUZZ_CHECK (app != NULL && tc_url != NULL);
  FUZZ_CHECK (args != NULL);
  FUZZ_CHECK (args->len == 0 || args->pdata[0] == obj);
  ctx->in_connect = TRUE;
  if (ctx->flags & 2)
    FUZZ_CHECK (rtmp_conn_reject_connect (conn, txn, NULL, "no"));
  else
    FUZZ_CHECK (rtmp_conn_accept_connect (conn, txn));
  ctx->in_connect = FALSE;
}

static void
on_publish (RtmpConn * conn, guint32 sid, const gchar * name,
    const gchar * type, gpointer ud)
{
  Ctx *ctx = ud;

  FUZZ_CHECK (name != NULL && type != NULL);
  if (ctx->flags & 4)
    rtmp_conn_publish_fail (conn, sid, NULL, NULL);
  else
    rtmp_conn_publish_ok (conn, sid);
  (void) rtmp_conn_get_stream_name (conn, sid);
}

static void
on_play (RtmpConn * conn, guint32 sid, const gchar * name, gdouble start,
    gdouble duration, gboolean reset, gpointer ud)
{
  Ctx *ctx = ud;
  static const guint8 frame[] = { 0x17, 0x01, 0, 0, 0, 0xaa, 0xbb };

  FUZZ_CHECK (name != NULL);
  if (ctx->flags & 4) {
    rtmp_conn_play_fail (conn, sid, NULL, NULL);
    return;
  }
  if (rtmp_conn_play_ok (conn, sid))
    rtmp_conn_send_media (conn, sid, 9, 0, frame, sizeof frame);
}

static void
on_media (RtmpConn * conn, guint32 sid, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gpointer ud)
{
  Ctx *ctx = ud;

  FUZZ_CHECK (payload != NULL || len == 0);
  ctx->n_media++;
  if (ctx->flags & 8) {
    rtmp_conn_send_media (conn, sid, type, ts, payload, len);
    rtmp_conn_send_status (conn, sid, "status", "NetStream.Fuzz", "fuzz");
    rtmp_conn_send_ping (conn, ts);
    if (ctx->n_media % 7 == 0)
      rtmp_conn_drop_queued (conn, sid, type);
  }
  (void) rtmp_conn_get_queued_bytes (conn, sid, type);
}

static gboolean
on_command (RtmpConn * conn, guint32 sid, const gchar * name, gdouble txn,
    GPtrArray * args, gpointer ud)
{
  FUZZ_CHECK (name != NULL && args != NULL);
  /* handle every other one, so both answers are exercised */
  return (strlen (name) & 1) != 0;
}

static void
on_error (RtmpConn * conn, const gchar * message, gpointer ud)
{
  Ctx *ctx = ud;

  FUZZ_CHECK (message != NULL);
  ctx->n_errors++;
  FUZZ_CHECK (ctx->n_errors == 1);
}

static const RtmpConnCallbacks callbacks = {
  .on_connect = on_connect,
  .on_publish = on_publish,
  .on_play = on_play,
  .on_media = on_media,
  .on_command = on_command,
  .on_error = on_error,
};

/* Takes (up to max, 0: all) output; returns the bytes taken */
static gsize
drain (RtmpConn * conn, gsize max, GByteArray * keep)
{
  gsize total = 0, len;
  const guint8 *d;

  while ((d = rtmp_conn_peek_output (conn, &len)) != NULL) {
    FUZZ_CHECK (len > 0);
    if (max && len > max)
      len = max;
    if (keep)
      g_byte_array_append (keep, d, len);
    rtmp_conn_consume_output (conn, len);
    total += len;
    if (max)
      break;
  }
  return total;
}

/* The contract: FALSE exactly when the connection has failed (for good);
 * input after close or failure is ignored; no callback after failure */
static gboolean
feed (RtmpConn * conn, Ctx * ctx, const guint8 * d, gsize len)
{
  gboolean was_failed = rtmp_conn_get_state (conn) == RTMP_CONN_STATE_FAILED;
  guint errors = ctx->n_errors, media = ctx->n_media;
  gboolean ok = rtmp_conn_feed (conn, d, len);
  RtmpConnState st = rtmp_conn_get_state (conn);

  FUZZ_CHECK (rtmp_conn_peek_connect_args (conn) == NULL);
  FUZZ_CHECK (ok == (st != RTMP_CONN_STATE_FAILED));
  FUZZ_CHECK (!ok == (ctx->n_errors == 1));
  if (was_failed)
    FUZZ_CHECK (!ok && ctx->n_errors == errors && ctx->n_media == media);
  if (st == RTMP_CONN_STATE_CLOSED || st == RTMP_CONN_STATE_FAILED)
    FUZZ_CHECK (rtmp_conn_is_closed (conn));
  return ok;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  Ctx ctx = { 0 };
  RtmpConn *conn;
  RtmpConnStats stats;
  guint64 taken = 0;
  gsize slice, pos = 0;
  gboolean ok = TRUE;

  if (size < 2)
    return 0;
  ctx.flags = data[0];
  slice = data[1];
  data += 2;
  size -= 2;

  conn = rtmp_conn_new (&callbacks, &ctx);

  if (ctx.flags & 1) {
    /* RTMP 1.0 5.2: C0 (version 3) + C1; S0 + S1 + S2 back; C2 = S1 */
    guint8 c01[1 + HANDSHAKE_SIZE];
    GByteArray *out = g_byte_array_new ();

    memset (c01, 0, sizeof c01);
    c01[0] = 3;
    for (guint i = 9; i < sizeof c01; i++)
      c01[i] = (guint8) (i * 31);
    FUZZ_CHECK (feed (conn, &ctx, c01, sizeof c01));
    taken += drain (conn, 0, out);
    FUZZ_CHECK (out->len == 1 + 2 * HANDSHAKE_SIZE);
    FUZZ_CHECK (out->data[0] == 3);
    FUZZ_CHECK (memcmp (out->data + 1 + HANDSHAKE_SIZE, c01 + 1,
            HANDSHAKE_SIZE) == 0);
    FUZZ_CHECK (feed (conn, &ctx, out->data + 1, HANDSHAKE_SIZE));
    FUZZ_CHECK (rtmp_conn_get_state (conn) == RTMP_CONN_STATE_OPEN);
    g_byte_array_unref (out);
  }

  while (pos < size) {
    gsize n = slice ? MIN (slice, size - pos) : size - pos;
    gboolean r = feed (conn, &ctx, data + pos, n);

    if (!ok)
      FUZZ_CHECK (!r);
    ok = r;
    pos += n;
    if (!(ctx.flags & 16))
      taken += drain (conn, slice, NULL);
  }
  /* input after close is ignored */
  if (ok) {
    guint64 before;

    rtmp_conn_close (conn);
    rtmp_conn_get_stats (conn, &stats);
    before = stats.messages_in;
    FUZZ_CHECK (feed (conn, &ctx, data, size));
    rtmp_conn_get_stats (conn, &stats);
    FUZZ_CHECK (stats.messages_in == before);
  }
  taken += drain (conn, 0, NULL);
  FUZZ_CHECK (!rtmp_conn_has_output (conn));

  rtmp_conn_get_stats (conn, &stats);
  FUZZ_CHECK (stats.bytes_out == taken);
  FUZZ_CHECK (stats.media_in == ctx.n_media);
  (void) rtmp_conn_get_error (conn);
  (void) rtmp_conn_get_app (conn);
  (void) rtmp_conn_get_tc_url (conn);
  rtmp_conn_free (conn);
  return 0;
}
