/* rtmfp-server RTMP layer: the chunk stream (Adobe RTMP Specification 1.0,
 * section 5.3 "Chunking" and 5.4 "Protocol Control Messages").
 *
 * Sans-I/O codecs: RtmpChunkReader turns chunk stream bytes into whole
 * messages, RtmpChunkWriter turns messages into chunks.  No sockets, no
 * clock.  Hostile input never makes the reader read out of bounds,
 * allocate without limit or crash: it fails and stays failed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Message type IDs (RTMP 1.0 sections 5.4, 6.1, 7.1) */
typedef enum {
  RTMP_MSG_SET_CHUNK_SIZE = 1,
  RTMP_MSG_ABORT = 2,
  RTMP_MSG_ACKNOWLEDGEMENT = 3,
  RTMP_MSG_USER_CONTROL = 4,
  RTMP_MSG_WINDOW_ACK_SIZE = 5,
  RTMP_MSG_SET_PEER_BANDWIDTH = 6,
  RTMP_MSG_AUDIO = 8,
  RTMP_MSG_VIDEO = 9,
  RTMP_MSG_DATA_AMF3 = 15,
  RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
  RTMP_MSG_COMMAND_AMF3 = 17,
  RTMP_MSG_DATA_AMF0 = 18,
  RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
  RTMP_MSG_COMMAND_AMF0 = 20,
  RTMP_MSG_AGGREGATE = 22,
} RtmpMessageType;

/* Chunk stream IDs: 2..65599 (5.3.1.1); 2 is for protocol control. */
#define RTMP_CSID_MIN 2
#define RTMP_CSID_MAX 65599
#define RTMP_CSID_CONTROL 2

/* Chunk sizes (5.4.1): default 128, at most 0x7fffffff (top bit clear) */
#define RTMP_DEFAULT_CHUNK_SIZE 128
#define RTMP_MAX_CHUNK_SIZE 0x7fffffffu
/* Message length is a 24-bit field */
#define RTMP_MAX_MESSAGE_SIZE 0xffffffu
/* The 24-bit timestamp value that announces an extended timestamp */
#define RTMP_EXTENDED_TIMESTAMP 0xffffffu

/* Largest chunk header: 3 (basic) + 11 (type 0) + 4 (extended ts) */
#define RTMP_MAX_CHUNK_HEADER_SIZE 18

const gchar *rtmp_message_type_get_nick (guint8 type);

/* A complete message.  payload stays valid until the next call on the
 * reader that returned it. */
typedef struct {
  guint32 csid;
  guint32 stream_id;            /* message stream ID */
  guint8 type;
  guint32 timestamp;            /* absolute, ms, modulo 2^32 */
  const guint8 *payload;
  gsize len;
} RtmpMessage;

/* ---- Reader ------------------------------------------------------------ */

typedef struct _RtmpChunkReader RtmpChunkReader;

typedef struct {
  /* Bytes held in partially received messages, summed over every chunk
   * stream (buffers are grown as payload arrives, never from the declared
   * length alone).  Default 16 MiB. */
  gsize max_buffered;
  /* Distinct chunk stream IDs one reader keeps state for.  Default 64. */
  guint max_chunk_streams;
} RtmpChunkReaderLimits;

void      rtmp_chunk_reader_limits_init (RtmpChunkReaderLimits * limits);

/* limits NULL: the defaults */
RtmpChunkReader *rtmp_chunk_reader_new (const RtmpChunkReaderLimits * limits);
void      rtmp_chunk_reader_free (RtmpChunkReader * reader);

typedef enum {
  RTMP_CHUNK_NEED_MORE,         /* all usable bytes taken, no message yet */
  RTMP_CHUNK_MESSAGE,           /* *msg holds a complete message */
  RTMP_CHUNK_ERROR,             /* malformed input or a limit hit */
} RtmpChunkResult;

/* Reads chunks from data until one message is complete or the data is
 * used up.  *consumed (always set) is how many bytes were taken; after
 * NEED_MORE the bytes not taken (fewer than a full chunk header) must be
 * given again, followed by more, on the next call.  Payload is taken as
 * it comes, so a huge chunk size never needs a huge input buffer.
 *
 * After MESSAGE the caller handles the message, then calls again with
 * the rest: a Set Chunk Size (type 1) must be applied with
 * rtmp_chunk_reader_set_chunk_size() before the next call.  An Abort
 * (type 2) is applied with rtmp_chunk_reader_abort().
 *
 * A type 3 chunk carries the extended timestamp field exactly when the
 * last type 0, 1 or 2 header of its chunk stream had one (section
 * 5.3.1.3; what Flash Player, FMS, librtmp, ffmpeg and GStreamer send):
 * the reader follows the sender's own header, never the value of the
 * bytes.  A sender that leaves the field out of type 3 chunks does not
 * follow the specification; its stream falls out of step and ends in an
 * ERROR.
 *
 * error (optional) gets a static description on ERROR; the reader then
 * stays failed. */
RtmpChunkResult rtmp_chunk_reader_next (RtmpChunkReader * reader,
    const guint8 * data, gsize len, gsize * consumed, RtmpMessage * msg,
    const gchar ** error);

/* 1..RTMP_MAX_CHUNK_SIZE; FALSE (nothing changed) otherwise */
gboolean  rtmp_chunk_reader_set_chunk_size (RtmpChunkReader * reader,
    guint32 chunk_size);
guint32   rtmp_chunk_reader_get_chunk_size (RtmpChunkReader * reader);
/* Discards the partial message of that chunk stream (5.4.2) */
void      rtmp_chunk_reader_abort (RtmpChunkReader * reader, guint32 csid);
/* Bytes held in partial messages now */
gsize     rtmp_chunk_reader_get_buffered (RtmpChunkReader * reader);

/* ---- Writer ------------------------------------------------------------ */

typedef struct _RtmpChunkWriter RtmpChunkWriter;

RtmpChunkWriter *rtmp_chunk_writer_new (void);
void      rtmp_chunk_writer_free (RtmpChunkWriter * writer);
/* Takes effect for the next message written.  1..RTMP_MAX_CHUNK_SIZE. */
gboolean  rtmp_chunk_writer_set_chunk_size (RtmpChunkWriter * writer,
    guint32 chunk_size);
guint32   rtmp_chunk_writer_get_chunk_size (RtmpChunkWriter * writer);

/* Appends one message as chunks on chunk stream csid (2..65599) to out.
 * The header type is the smallest that the receiver can decode without
 * ambiguity: type 0 for the first message on a chunk stream, another
 * message stream, a timestamp going backwards (or wrapping) or a delta
 * of 0xffffff and more; type 1 when the length or type changed; type 2
 * when only the delta changed; type 3 when the delta repeats the one of
 * a previous type 1 or 2 header.  Timestamps >= 0xffffff use the
 * extended field, repeated in every type 3 continuation chunk.
 * FALSE (nothing written) if csid or len is out of range. */
gboolean  rtmp_chunk_writer_write (RtmpChunkWriter * writer, GByteArray * out,
    guint32 csid, guint32 stream_id, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize len);
/* The message must be written again from a type 0 header on csid (after
 * an Abort was sent for it, say). */
void      rtmp_chunk_writer_reset_stream (RtmpChunkWriter * writer,
    guint32 csid);

/* ---- Protocol control payloads (5.4, 6.2) ------------------------------ */

/* Appends the payload of a 4-byte protocol control message (types 1, 2,
 * 3, 5) */
void      rtmp_write_u32_payload (GByteArray * out, guint32 value);

/* User Control event types (RTMP 1.0 section 7.1.7) */
typedef enum {
  RTMP_USER_CONTROL_STREAM_BEGIN = 0,
  RTMP_USER_CONTROL_STREAM_EOF = 1,
  RTMP_USER_CONTROL_STREAM_DRY = 2,
  RTMP_USER_CONTROL_SET_BUFFER_LENGTH = 3,
  RTMP_USER_CONTROL_STREAM_IS_RECORDED = 4,
  RTMP_USER_CONTROL_PING_REQUEST = 6,
  RTMP_USER_CONTROL_PING_RESPONSE = 7,
} RtmpUserControlType;

/* Set Peer Bandwidth limit types (5.4.5) */
typedef enum {
  RTMP_LIMIT_HARD = 0,
  RTMP_LIMIT_SOFT = 1,
  RTMP_LIMIT_DYNAMIC = 2,
} RtmpLimitType;

G_END_DECLS
