/* rtmfp-server RTMP layer: the server side of one RTMP (TCP) connection
 * (Adobe RTMP Specification 1.0: handshake section 5.2, chunk stream 5.3,
 * protocol control 5.4, user control 6.2 / 7.1.7, NetConnection and
 * NetStream commands 7.2).
 *
 * Sans-I/O: bytes from the socket go in with rtmp_conn_feed(), which
 * calls the callbacks for what the client asks; bytes for the socket are
 * queued inside and taken with rtmp_conn_take_output() or
 * rtmp_conn_peek_output() / rtmp_conn_consume_output().  No sockets, no
 * clock, no threads: the driver owns all of that.
 *
 * What the connection answers by itself: the handshake (S0/S1/S2, with S2
 * an echo of C1, which plain and digest-style clients both accept),
 * protocol control messages, acknowledgements at the client's window,
 * PingRequest, createStream (stream IDs from 1), releaseStream,
 * FCPublish, FCUnpublish, FCSubscribe, FCUnsubscribe (harmless _result;
 * FCUnpublish also closes the stream publishing that name), and _error to
 * unknown calls.  What it asks the driver: connect, publish,
 * play (answered with the functions below, from inside the callback or
 * later), and it reports media, stream closes and errors.
 *
 * Hostile input never crashes or grows memory without bound: limits on
 * buffered partial messages, chunk streams, NetStreams and pending output
 * fail the connection (on_error, then rtmp_conn_feed() returns FALSE).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "amf0.h"
#include "rtmpchunk.h"

G_BEGIN_DECLS

typedef struct _RtmpConn RtmpConn;

typedef enum {
  RTMP_CONN_STATE_HANDSHAKE,    /* waiting for C0+C1, then C2 */
  RTMP_CONN_STATE_OPEN,         /* handshake done, no connect yet */
  RTMP_CONN_STATE_CONNECTING,   /* connect reported, not yet answered */
  RTMP_CONN_STATE_CONNECTED,    /* connect accepted */
  RTMP_CONN_STATE_CLOSED,       /* rejected or rtmp_conn_close(): input ignored */
  RTMP_CONN_STATE_FAILED,       /* protocol error: input ignored */
} RtmpConnState;

/* Chunk stream IDs used for what we send */
#define RTMP_CSID_COMMAND 3     /* _result, _error, onStatus */
#define RTMP_CSID_AUDIO 4
#define RTMP_CSID_DATA 5        /* data messages (18, 15) */
#define RTMP_CSID_VIDEO 6

typedef struct {
  guint32 chunk_size;           /* sent after connect is accepted; 4096 */
  guint32 window_ack_size;      /* Window Ack Size we ask for; 5000000 */
  /* Set Peer Bandwidth (dynamic) we send; 5000000.  Until the client
   * sends a Window Ack Size, it is acknowledged every peer_bandwidth / 2
   * bytes, so a client that throttles on this limit never stalls. */
  guint32 peer_bandwidth;
  gsize max_buffered;           /* partial input messages; 16 MiB */
  guint max_chunk_streams;      /* distinct input chunk streams; 64 */
  guint max_streams;            /* NetStreams at once (createStream); 64 */
  /* Output the client makes us produce (answers, acks, pongs) is refused
   * once this much output is waiting: the connection fails, since a
   * client that sends but never reads would otherwise grow it forever.
   * Output queued by the driver (media) is the driver's to limit. 64 MiB */
  gsize max_output;
  const gchar *fms_ver;         /* _result fmsVer; "FMS/3,0,1,123" */
} RtmpConnConfig;

void      rtmp_conn_config_init (RtmpConnConfig * cfg);

/* Callbacks, all optional.  They run inside rtmp_conn_feed(); they may
 * call any rtmp_conn_* function on conn except rtmp_conn_free() (use
 * rtmp_conn_close(), then free after rtmp_conn_feed() returns).  Strings,
 * nodes and payloads are borrowed for the duration of the call. */
typedef struct {
  /* connect (7.2.1.1): answer with rtmp_conn_accept_connect() or
   * rtmp_conn_reject_connect().  app and tc_url are "" when missing;
   * command_object is the client's object (app, flashVer, tcUrl, ...).
   * NULL callback: accepted at once. */
  void (*on_connect) (RtmpConn * conn, gdouble txn, const gchar * app,
      const gchar * tc_url, const RtmfpAmfNode * command_object,
      gpointer user_data);
  /* publish (7.2.2.6) on a created stream: answer with
   * rtmp_conn_publish_ok() or rtmp_conn_publish_fail().  type: "live",
   * "record" or "append" (default "live").  name is as sent (it may
   * carry a "?query").  NULL callback: refused (Publish.BadName). */
  void (*on_publish) (RtmpConn * conn, guint32 stream_id, const gchar * name,
      const gchar * type, gpointer user_data);
  /* play (7.2.2.1): answer with rtmp_conn_play_ok() or
   * rtmp_conn_play_fail().  start: -2 live or recorded (default), -1 live
   * only, >= 0 recorded from that second; duration -1 (default): all;
   * reset: Play.Reset wanted (default TRUE).  NULL callback: refused
   * (Play.StreamNotFound). */
  void (*on_play) (RtmpConn * conn, guint32 stream_id, const gchar * name,
      gdouble start, gdouble duration, gboolean reset, gpointer user_data);
  /* A stream that was reported to on_publish or on_play is over:
   * closeStream or deleteStream (by ID, or by name as rtmp2sink sends
   * them), or FCUnpublish of the name it publishes.  Pending output of the stream's media is dropped first.  Not
   * called by rtmp_conn_free(). */
  void (*on_close_stream) (RtmpConn * conn, guint32 stream_id,
      gpointer user_data);
  /* Audio (8), video (9) or data (18; 15 with its leading format byte)
   * from a stream whose publish was accepted, aggregates (22) already
   * split.  Data includes "@setDataFrame" messages as sent. */
  void (*on_media) (RtmpConn * conn, guint32 stream_id, guint8 type,
      guint32 timestamp, const guint8 * payload, gsize len,
      gpointer user_data);
  /* Any other command (pause, receiveAudio, getStreamLength, _checkbw,
   * _result to a call of ours, ...): args after name and transaction ID
   * (the command object first).  Return TRUE if handled; otherwise a
   * call with txn != 0 gets _error NetConnection.Call.Failed. */
  gboolean (*on_command) (RtmpConn * conn, guint32 stream_id,
      const gchar * name, gdouble txn, GPtrArray * args, gpointer user_data);
  /* User control events from the client other than PingRequest (answered
   * by the connection): SetBufferLength (value = stream ID, value2 = ms),
   * PingResponse (value = the timestamp we sent), ... */
  void (*on_user_control) (RtmpConn * conn, guint16 event, guint32 value,
      guint32 value2, gpointer user_data);
  /* The connection failed (malformed input, a limit, wrong version);
   * called once, no callback follows. */
  void (*on_error) (RtmpConn * conn, const gchar * message,
      gpointer user_data);
} RtmpConnCallbacks;

/* Inside on_connect: every argument of the connect command (index 0 the
 * command object, then optional arguments such as authentication tokens);
 * NULL elsewhere.  Borrowed. */
GPtrArray *rtmp_conn_peek_connect_args (RtmpConn * conn);

RtmpConn *rtmp_conn_new (const RtmpConnCallbacks * callbacks,
    gpointer user_data);
/* cfg NULL: defaults */
RtmpConn *rtmp_conn_new_full (const RtmpConnConfig * cfg,
    const RtmpConnCallbacks * callbacks, gpointer user_data);
void      rtmp_conn_free (RtmpConn * conn);

/* ---- Input ------------------------------------------------------------- */

/* Takes all len bytes (what cannot be parsed yet is kept), handles every
 * complete message.  FALSE once the connection has failed (before or
 * during this call); bytes fed after close or failure are ignored. */
gboolean  rtmp_conn_feed (RtmpConn * conn, const guint8 * data, gsize len);

/* Stop taking input (no more callbacks); queued output stays to be
 * drained.  The driver closes the socket once the output is empty. */
void      rtmp_conn_close (RtmpConn * conn);

RtmpConnState rtmp_conn_get_state (RtmpConn * conn);
/* CLOSED or FAILED: drain the output, then close the socket */
gboolean  rtmp_conn_is_closed (RtmpConn * conn);
/* The last error (static string), NULL if none */
const gchar *rtmp_conn_get_error (RtmpConn * conn);
/* From connect; NULL before */
const gchar *rtmp_conn_get_app (RtmpConn * conn);
const gchar *rtmp_conn_get_tc_url (RtmpConn * conn);
/* The name given to publish/play on that stream; NULL if none */
const gchar *rtmp_conn_get_stream_name (RtmpConn * conn, guint32 stream_id);

/* ---- Output ------------------------------------------------------------ *
 * Messages are queued whole and cut into chunks when the driver takes the
 * bytes, so media not yet taken can still be dropped
 * (rtmp_conn_drop_queued) and header compression stays consistent. */

/* Everything pending, as one buffer (NULL if nothing). */
GBytes   *rtmp_conn_take_output (RtmpConn * conn);
/* A view of the pending bytes (chunking up to ~64 KiB more when less is
 * ready); NULL and *len = 0 if nothing.  Valid until the next call on
 * conn.  After writing n of them, call rtmp_conn_consume_output (n). */
const guint8 *rtmp_conn_peek_output (RtmpConn * conn, gsize * len);
void      rtmp_conn_consume_output (RtmpConn * conn, gsize n);
gboolean  rtmp_conn_has_output (RtmpConn * conn);
/* Bytes already chunked and not consumed + payload bytes of the queued
 * messages */
gsize     rtmp_conn_get_output_size (RtmpConn * conn);
/* Payload bytes of queued (not yet chunked) media messages of that
 * stream (G_MAXUINT32: all streams) and type (8 audio, 9 video, 18 or 15
 * data, 0: all three).  G_MAXUINT32 with type 0 counts everything queued,
 * commands and control messages included. */
gsize     rtmp_conn_get_queued_bytes (RtmpConn * conn, guint32 stream_id,
    guint8 type);
/* Drops the queued (not yet chunked) messages of that stream and type
 * (0: audio, video and data); returns how many were dropped. */
guint     rtmp_conn_drop_queued (RtmpConn * conn, guint32 stream_id,
    guint8 type);

/* ---- Answers ----------------------------------------------------------- */

/* Window Ack Size, Set Peer Bandwidth, Set Chunk Size, StreamBegin 0 and
 * _result NetConnection.Connect.Success.  FALSE if no connect is
 * pending. */
gboolean  rtmp_conn_accept_connect (RtmpConn * conn, gdouble txn);
/* _error with code (NULL: "NetConnection.Connect.Rejected") and
 * description (may be NULL), then the connection is CLOSED. */
gboolean  rtmp_conn_reject_connect (RtmpConn * conn, gdouble txn,
    const gchar * code, const gchar * description);

/* StreamBegin and onStatus NetStream.Publish.Start; media is reported
 * from then on.  FALSE if no publish is pending on that stream. */
gboolean  rtmp_conn_publish_ok (RtmpConn * conn, guint32 stream_id);
/* onStatus level "error", code (NULL: "NetStream.Publish.BadName") */
gboolean  rtmp_conn_publish_fail (RtmpConn * conn, guint32 stream_id,
    const gchar * code, const gchar * description);

/* StreamBegin, onStatus NetStream.Play.Reset (if asked), Play.Start,
 * then |RtmpSampleAccess; rtmp_conn_send_media() works from then on.
 * FALSE if no play is pending on that stream. */
gboolean  rtmp_conn_play_ok (RtmpConn * conn, guint32 stream_id);
/* onStatus level "error", code (NULL: "NetStream.Play.StreamNotFound") */
gboolean  rtmp_conn_play_fail (RtmpConn * conn, guint32 stream_id,
    const gchar * code, const gchar * description);

/* ---- Sending ----------------------------------------------------------- */

/* Queues a media message for a playing stream: type 8 (audio, csid 4),
 * 9 (video, csid 6), 18 or 15 (data, csid 5); len <= 0xffffff.  The
 * payload is copied (the _bytes variant takes a reference).  FALSE if the
 * stream is not playing or the arguments are out of range. */
gboolean  rtmp_conn_send_media (RtmpConn * conn, guint32 stream_id,
    guint8 type, guint32 timestamp, const guint8 * payload, gsize len);
gboolean  rtmp_conn_send_media_bytes (RtmpConn * conn, guint32 stream_id,
    guint8 type, guint32 timestamp, GBytes * payload);
/* onStatus (0 txn, null, {level, code, description}) on the stream.
 * E.g. NetStream.Play.UnpublishNotify, NetStream.Play.PublishNotify.
 * FALSE if the connection is not connected. */
gboolean  rtmp_conn_send_status (RtmpConn * conn, guint32 stream_id,
    const gchar * level, const gchar * code, const gchar * description);
/* A user control event (7.1.7): StreamBegin/EOF/Dry/IsRecorded take the
 * stream ID as value, PingRequest/Response a timestamp; SetBufferLength
 * (stream ID, value2 = ms) is the only one with value2. */
gboolean  rtmp_conn_send_user_control (RtmpConn * conn, guint16 event,
    guint32 value, guint32 value2);
/* PingRequest with that timestamp (the driver's clock, ms) */
gboolean  rtmp_conn_send_ping (RtmpConn * conn, guint32 timestamp);
/* Any AMF0 command (e.g. a _result from on_command): name, txn, then
 * n_args arguments (the command object first, usually null). */
gboolean  rtmp_conn_send_command (RtmpConn * conn, guint32 stream_id,
    const gchar * name, gdouble txn, guint n_args,
    const RtmfpAmfNode * const *args);

/* ---- Statistics -------------------------------------------------------- */

typedef struct {
  guint64 bytes_in;             /* everything fed, handshake included */
  guint64 bytes_out;            /* everything consumed/taken */
  guint64 messages_in;          /* complete messages parsed */
  guint64 messages_out;         /* messages chunked */
  guint64 media_in;             /* reported to on_media */
  guint64 media_ignored;        /* media on streams not publishing */
  guint64 commands_ignored;     /* malformed or unusable commands */
  guint64 messages_dropped;     /* rtmp_conn_drop_queued */
  guint32 acks_sent;
  guint32 peer_acked;           /* last sequence number the client acked */
  guint32 peer_window;          /* the client's Window Ack Size (0: none) */
  guint32 in_chunk_size;
  guint32 out_chunk_size;
} RtmpConnStats;

void      rtmp_conn_get_stats (RtmpConn * conn, RtmpConnStats * stats);

G_END_DECLS
