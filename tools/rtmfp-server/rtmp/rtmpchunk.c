/* rtmfp-server RTMP layer: chunk stream reader and writer (Adobe RTMP
 * Specification 1.0, sections 5.3 and 5.4).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-rtmpchunk"

#include "rtmpchunk.h"

#include <string.h>

/* Message buffers above this are released once their message is out, so
 * idle chunk streams do not keep big allocations. */
#define KEEP_BUFFER_MAX (64 * 1024)
#define MIN_BUFFER_ALLOC 256

static const gchar *const type_nicks[] = {
  NULL, "set-chunk-size", "abort", "acknowledgement", "user-control",
  "window-ack-size", "set-peer-bandwidth", NULL, "audio", "video",
  NULL, NULL, NULL, NULL, NULL, "data-amf3", "shared-object-amf3",
  "command-amf3", "data-amf0", "shared-object-amf0", "command-amf0", NULL,
  "aggregate",
};

const gchar *
rtmp_message_type_get_nick (guint8 type)
{
  if (type < G_N_ELEMENTS (type_nicks) && type_nicks[type])
    return type_nicks[type];
  return "unknown";
}

static inline guint32
read_u24_be (const guint8 * p)
{
  return ((guint32) p[0] << 16) | ((guint32) p[1] << 8) | p[2];
}

static inline guint32
read_u32_be (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | p[3];
}

static inline guint32
read_u32_le (const guint8 * p)
{
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) |
      ((guint32) p[1] << 8) | p[0];
}

/* Message header sizes by fmt (5.3.1.2) */
static const guint8 message_header_size[4] = { 11, 7, 3, 0 };

/* ------------------------------------------------------------------------ */
/* Reader */

typedef struct {
  guint32 csid;
  gboolean have_header;         /* a type 0 header was seen */
  guint32 stream_id;
  guint8 type;
  guint32 length;
  guint32 timestamp;            /* absolute timestamp of the last message */
  guint32 delta;                /* what a type 3 header for a new message adds */
  guint32 ts_field;             /* last timestamp field, extended included */
  gboolean ext;                 /* last type 0/1/2 header had 0xffffff */
  /* message being assembled */
  guint8 *buf;
  gsize alloc;
  gsize filled;
  gboolean in_message;
} ReaderStream;

struct _RtmpChunkReader {
  RtmpChunkReaderLimits limits;
  guint32 chunk_size;
  GHashTable *streams;          /* csid -> ReaderStream */
  ReaderStream *cur;            /* stream whose chunk payload is being read */
  gsize chunk_left;             /* payload bytes left in the current chunk */
  ReaderStream *delivered;      /* message handed out by the last call */
  gsize buffered;               /* sum of the buffers' alloc */
  gboolean failed;
};

void
rtmp_chunk_reader_limits_init (RtmpChunkReaderLimits * limits)
{
  g_return_if_fail (limits != NULL);
  limits->max_buffered = 16 * 1024 * 1024;
  limits->max_chunk_streams = 64;
}

static void
reader_stream_free (gpointer data)
{
  ReaderStream *s = data;

  g_free (s->buf);
  g_free (s);
}

RtmpChunkReader *
rtmp_chunk_reader_new (const RtmpChunkReaderLimits * limits)
{
  RtmpChunkReader *r = g_new0 (RtmpChunkReader, 1);

  if (limits)
    r->limits = *limits;
  else
    rtmp_chunk_reader_limits_init (&r->limits);
  if (r->limits.max_chunk_streams == 0)
    r->limits.max_chunk_streams = 1;
  r->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
  r->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      reader_stream_free);
  return r;
}

void
rtmp_chunk_reader_free (RtmpChunkReader * reader)
{
  if (!reader)
    return;
  g_hash_table_unref (reader->streams);
  g_free (reader);
}

gboolean
rtmp_chunk_reader_set_chunk_size (RtmpChunkReader * reader, guint32 chunk_size)
{
  g_return_val_if_fail (reader != NULL, FALSE);
  if (chunk_size < 1 || chunk_size > RTMP_MAX_CHUNK_SIZE)
    return FALSE;
  reader->chunk_size = chunk_size;
  return TRUE;
}

guint32
rtmp_chunk_reader_get_chunk_size (RtmpChunkReader * reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->chunk_size;
}

gsize
rtmp_chunk_reader_get_buffered (RtmpChunkReader * reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->buffered;
}

static void
stream_release_buffer (RtmpChunkReader * r, ReaderStream * s, gboolean force)
{
  s->filled = 0;
  s->in_message = FALSE;
  if (force || s->alloc > KEEP_BUFFER_MAX) {
    r->buffered -= s->alloc;
    g_clear_pointer (&s->buf, g_free);
    s->alloc = 0;
  }
}

void
rtmp_chunk_reader_abort (RtmpChunkReader * reader, guint32 csid)
{
  ReaderStream *s;

  g_return_if_fail (reader != NULL);
  s = g_hash_table_lookup (reader->streams, GUINT_TO_POINTER (csid));
  if (!s || !s->in_message)
    return;
  g_debug ("abort on chunk stream %u: %" G_GSIZE_FORMAT " of %u bytes "
      "dropped", csid, s->filled, s->length);
  /* the current chunk (if on that stream) is over too: the Abort came in
   * another message, so we are between chunks anyway */
  if (reader->delivered == s)
    reader->delivered = NULL;
  stream_release_buffer (reader, s, TRUE);
}

static RtmpChunkResult
reader_fail (RtmpChunkReader * r, const gchar ** error, const gchar * what)
{
  g_debug ("chunk stream error: %s", what);
  r->failed = TRUE;
  if (error)
    *error = what;
  return RTMP_CHUNK_ERROR;
}

/* Makes room for n more payload bytes, within the limits */
static gboolean
stream_reserve (RtmpChunkReader * r, ReaderStream * s, gsize n)
{
  gsize need = s->filled + n, new_alloc;

  if (need <= s->alloc)
    return TRUE;
  new_alloc = MAX (s->alloc * 2, MIN_BUFFER_ALLOC);
  new_alloc = MAX (new_alloc, need);
  new_alloc = MIN (new_alloc, (gsize) s->length);
  g_assert (new_alloc >= need);
  if (r->buffered - s->alloc + new_alloc > r->limits.max_buffered)
    return FALSE;
  s->buf = g_realloc (s->buf, new_alloc);
  r->buffered = r->buffered - s->alloc + new_alloc;
  s->alloc = new_alloc;
  return TRUE;
}

/* Parses a chunk header at p (avail bytes).  Returns the header size, 0 if
 * more bytes are needed, -1 on error (*error set).  On success the stream
 * state is updated and r->cur / r->chunk_left set. */
static gssize
parse_chunk_header (RtmpChunkReader * r, const guint8 * p, gsize avail,
    const gchar ** error)
{
  guint fmt, basic, hdr;
  guint32 csid, ts_field = 0;
  ReaderStream *s;
  gboolean new_message, ext = FALSE;

  if (avail < 1)
    return 0;
  fmt = p[0] >> 6;

  /* 5.3.1.1 basic header: 1, 2 or 3 bytes */
  switch (p[0] & 0x3f) {
    case 0:
      if (avail < 2)
        return 0;
      basic = 2;
      csid = (guint32) p[1] + 64;
      break;
    case 1:
      if (avail < 3)
        return 0;
      basic = 3;
      csid = (guint32) p[2] * 256 + p[1] + 64;
      break;
    default:
      basic = 1;
      csid = p[0] & 0x3f;
      break;
  }
  hdr = basic + message_header_size[fmt];
  if (avail < hdr)
    return 0;

  s = g_hash_table_lookup (r->streams, GUINT_TO_POINTER (csid));
  if (fmt != 0 && (!s || !s->have_header)) {
    *error = "chunk header type 1-3 on a chunk stream without a type 0";
    return -1;
  }

  if (fmt < 3) {
    ts_field = read_u24_be (p + basic);
    if (ts_field == RTMP_EXTENDED_TIMESTAMP) {
      ext = TRUE;
      if (avail < hdr + 4)
        return 0;
      ts_field = read_u32_be (p + hdr);
      hdr += 4;
    }
  } else if (s->ext) {
    /* 5.3.1.3: a type 3 chunk carries the extended timestamp field
     * exactly when the last type 0, 1 or 2 header of its chunk stream
     * did.  That header is what the sender did, so it decides; the
     * bytes are never compared with anything (a guess from their value
     * would hold a message waiting for four bytes that never come, or
     * take payload that happens to match as a timestamp).  Senders put
     * either the header's field or the message's absolute timestamp
     * there; neither is needed: a new message adds s->delta. */
    if (avail < hdr + 4)
      return 0;
    if (read_u32_be (p + hdr) != s->ts_field)
      g_debug ("csid %u: type 3 extended timestamp %u, header had %u", csid,
          read_u32_be (p + hdr), s->ts_field);
    hdr += 4;
  }

  if (!s) {
    if (g_hash_table_size (r->streams) >= r->limits.max_chunk_streams) {
      *error = "too many chunk streams";
      return -1;
    }
    s = g_new0 (ReaderStream, 1);
    s->csid = csid;
    g_hash_table_insert (r->streams, GUINT_TO_POINTER (csid), s);
  }

  if (fmt < 3 && s->in_message) {
    /* A new header while a message is incomplete: the sender gave up on
     * it without an Abort.  Drop what we have (lenient). */
    g_debug ("csid %u: new header type %u inside a message (%" G_GSIZE_FORMAT
        " of %u bytes), dropping it", csid, fmt, s->filled, s->length);
    stream_release_buffer (r, s, FALSE);
  }
  new_message = !s->in_message;

  switch (fmt) {
    case 0:
      s->stream_id = read_u32_le (p + basic + 7);
      s->type = p[basic + 6];
      s->length = read_u24_be (p + basic + 3);
      s->timestamp = ts_field;
      /* 5.3.1.2.4: a type 3 chunk after a type 0 takes its timestamp
       * as the delta */
      s->delta = ts_field;
      s->have_header = TRUE;
      break;
    case 1:
      s->type = p[basic + 6];
      s->length = read_u24_be (p + basic + 3);
      s->delta = ts_field;
      s->timestamp += ts_field;
      break;
    case 2:
      s->delta = ts_field;
      s->timestamp += ts_field;
      break;
    default:
      if (new_message)
        s->timestamp += s->delta;
      break;
  }
  if (fmt < 3) {
    s->ts_field = ts_field;
    s->ext = ext;
  }

  if (new_message) {
    s->filled = 0;
    s->in_message = TRUE;
  }
  r->cur = s;
  r->chunk_left = MIN ((gsize) r->chunk_size, (gsize) s->length - s->filled);
  return hdr;
}

RtmpChunkResult
rtmp_chunk_reader_next (RtmpChunkReader * reader, const guint8 * data,
    gsize len, gsize * consumed, RtmpMessage * msg, const gchar ** error)
{
  RtmpChunkReader *r = reader;
  gsize pos = 0;

  g_return_val_if_fail (reader != NULL, RTMP_CHUNK_ERROR);
  g_return_val_if_fail (consumed != NULL, RTMP_CHUNK_ERROR);
  g_return_val_if_fail (msg != NULL, RTMP_CHUNK_ERROR);
  g_return_val_if_fail (data != NULL || len == 0, RTMP_CHUNK_ERROR);

  *consumed = 0;
  if (r->failed) {
    if (error)
      *error = "chunk stream failed before";
    return RTMP_CHUNK_ERROR;
  }

  /* the last message handed out is no longer referenced */
  if (r->delivered) {
    stream_release_buffer (r, r->delivered, FALSE);
    r->delivered = NULL;
  }

  for (;;) {
    ReaderStream *s;

    if (!r->cur) {
      const gchar *err = NULL;
      gssize h = parse_chunk_header (r, data + pos, len - pos, &err);

      if (h < 0)
        return reader_fail (r, error, err);
      if (h == 0) {
        *consumed = pos;
        return RTMP_CHUNK_NEED_MORE;
      }
      pos += h;
    }

    s = r->cur;
    if (r->chunk_left > 0) {
      gsize n = MIN (r->chunk_left, len - pos);

      if (n == 0) {
        *consumed = pos;
        return RTMP_CHUNK_NEED_MORE;
      }
      if (!stream_reserve (r, s, n))
        return reader_fail (r, error,
            "partial messages exceed the buffer limit");
      memcpy (s->buf + s->filled, data + pos, n);
      s->filled += n;
      r->chunk_left -= n;
      pos += n;
      if (r->chunk_left > 0) {
        *consumed = pos;
        return RTMP_CHUNK_NEED_MORE;
      }
    }

    /* chunk complete */
    r->cur = NULL;
    if (s->filled == s->length) {
      msg->csid = s->csid;
      msg->stream_id = s->stream_id;
      msg->type = s->type;
      msg->timestamp = s->timestamp;
      msg->payload = s->buf ? s->buf : (const guint8 *) "";
      msg->len = s->filled;
      s->in_message = FALSE;
      r->delivered = s;
      *consumed = pos;
      return RTMP_CHUNK_MESSAGE;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Writer */

typedef struct {
  guint32 stream_id;
  guint8 type;
  guint32 length;
  guint32 timestamp;
  guint32 delta;
  gboolean delta_valid;         /* last header was type 1, 2 or 3 */
} WriterStream;

struct _RtmpChunkWriter {
  guint32 chunk_size;
  GHashTable *streams;          /* csid -> WriterStream */
};

RtmpChunkWriter *
rtmp_chunk_writer_new (void)
{
  RtmpChunkWriter *w = g_new0 (RtmpChunkWriter, 1);

  w->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
  w->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
      g_free);
  return w;
}

void
rtmp_chunk_writer_free (RtmpChunkWriter * writer)
{
  if (!writer)
    return;
  g_hash_table_unref (writer->streams);
  g_free (writer);
}

gboolean
rtmp_chunk_writer_set_chunk_size (RtmpChunkWriter * writer, guint32 chunk_size)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  if (chunk_size < 1 || chunk_size > RTMP_MAX_CHUNK_SIZE)
    return FALSE;
  writer->chunk_size = chunk_size;
  return TRUE;
}

guint32
rtmp_chunk_writer_get_chunk_size (RtmpChunkWriter * writer)
{
  g_return_val_if_fail (writer != NULL, 0);
  return writer->chunk_size;
}

void
rtmp_chunk_writer_reset_stream (RtmpChunkWriter * writer, guint32 csid)
{
  g_return_if_fail (writer != NULL);
  g_hash_table_remove (writer->streams, GUINT_TO_POINTER (csid));
}

static void
put_u24_be (guint8 * p, guint32 v)
{
  p[0] = v >> 16;
  p[1] = v >> 8;
  p[2] = v;
}

static void
put_u32_be (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
put_u32_le (guint8 * p, guint32 v)
{
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}

/* 5.3.1.1 basic header */
static guint
put_basic_header (guint8 * p, guint fmt, guint32 csid)
{
  if (csid < 64) {
    p[0] = (fmt << 6) | csid;
    return 1;
  }
  if (csid < 64 + 256) {
    p[0] = fmt << 6;
    p[1] = csid - 64;
    return 2;
  }
  p[0] = (fmt << 6) | 1;
  p[1] = (csid - 64) & 0xff;
  p[2] = (csid - 64) >> 8;
  return 3;
}

gboolean
rtmp_chunk_writer_write (RtmpChunkWriter * writer, GByteArray * out,
    guint32 csid, guint32 stream_id, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize len)
{
  WriterStream *s;
  guint8 hdr[RTMP_MAX_CHUNK_HEADER_SIZE];
  guint fmt, n;
  guint32 ts_field;
  gboolean ext;
  gsize off;

  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);
  if (csid < RTMP_CSID_MIN || csid > RTMP_CSID_MAX
      || len > RTMP_MAX_MESSAGE_SIZE)
    return FALSE;

  s = g_hash_table_lookup (writer->streams, GUINT_TO_POINTER (csid));
  if (!s || s->stream_id != stream_id || timestamp < s->timestamp
      || timestamp - s->timestamp >= RTMP_EXTENDED_TIMESTAMP) {
    /* absolute: first message, other stream, backwards, wrapped, or a
     * delta that would need an extended field in a type 1/2/3 header */
    fmt = 0;
    ts_field = timestamp;
    if (!s) {
      s = g_new0 (WriterStream, 1);
      g_hash_table_insert (writer->streams, GUINT_TO_POINTER (csid), s);
    }
    s->delta_valid = FALSE;
  } else {
    guint32 delta = timestamp - s->timestamp;

    ts_field = delta;
    if (s->type != type || s->length != len)
      fmt = 1;
    else if (s->delta_valid && s->delta == delta)
      fmt = 3;
    else
      fmt = 2;
    s->delta = delta;
    s->delta_valid = TRUE;
  }
  s->stream_id = stream_id;
  s->type = type;
  s->length = len;
  s->timestamp = timestamp;

  ext = (fmt == 0 && ts_field >= RTMP_EXTENDED_TIMESTAMP);

  n = put_basic_header (hdr, fmt, csid);
  if (fmt < 3)
    put_u24_be (hdr + n, ext ? RTMP_EXTENDED_TIMESTAMP : ts_field);
  if (fmt < 2) {
    put_u24_be (hdr + n + 3, len);
    hdr[n + 6] = type;
  }
  if (fmt == 0)
    put_u32_le (hdr + n + 7, stream_id);
  n += message_header_size[fmt];
  if (ext) {
    put_u32_be (hdr + n, ts_field);
    n += 4;
  }
  g_byte_array_append (out, hdr, n);

  off = 0;
  for (;;) {
    gsize take = MIN ((gsize) writer->chunk_size, len - off);

    if (take > 0)
      g_byte_array_append (out, payload + off, take);
    off += take;
    if (off >= len)
      break;
    /* continuation: type 3, with the extended timestamp repeated */
    n = put_basic_header (hdr, 3, csid);
    if (ext) {
      put_u32_be (hdr + n, ts_field);
      n += 4;
    }
    g_byte_array_append (out, hdr, n);
  }
  return TRUE;
}

void
rtmp_write_u32_payload (GByteArray * out, guint32 value)
{
  guint8 b[4];

  put_u32_be (b, value);
  g_byte_array_append (out, b, 4);
}
