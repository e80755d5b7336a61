/* RTMFP core: FLV file header and tags for the Flash TC profile
 * (RFC 7425 section 5.1; FLV specification v10.1, annex E).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-flvtag"

#include "flvtag.h"

#include <string.h>

static inline guint32
rd_u24 (const guint8 * p)
{
  return ((guint32) p[0] << 16) | ((guint32) p[1] << 8) | p[2];
}

static inline guint32
rd_u32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | rd_u24 (p + 1);
}

static inline void
wr_u24 (guint8 * p, guint32 v)
{
  p[0] = (v >> 16) & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = v & 0xff;
}

static inline void
wr_u32 (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  wr_u24 (p + 1, v);
}

/* ------------------------------------------------------------------------ */
/* File header (FLV spec E.2) */

void
rtmfp_flv_header_write (guint8 out[RTMFP_FLV_FILE_HEADER_SIZE],
    gboolean has_audio, gboolean has_video)
{
  out[0] = 'F';
  out[1] = 'L';
  out[2] = 'V';
  out[3] = 1;
  out[4] = (has_audio ? RTMFP_FLV_FLAG_AUDIO : 0) |
      (has_video ? RTMFP_FLV_FLAG_VIDEO : 0);
  wr_u32 (out + 5, RTMFP_FLV_HEADER_SIZE);
  wr_u32 (out + 9, 0);          /* PreviousTagSize0 */
}

void
rtmfp_flv_header_append (GByteArray * out, gboolean has_audio,
    gboolean has_video)
{
  guint8 h[RTMFP_FLV_FILE_HEADER_SIZE];

  g_return_if_fail (out != NULL);
  rtmfp_flv_header_write (h, has_audio, has_video);
  g_byte_array_append (out, h, sizeof h);
}

gboolean
rtmfp_flv_is_header (const guint8 * data, gsize size)
{
  return data && size >= 3 && data[0] == 'F' && data[1] == 'L' &&
      data[2] == 'V';
}

typedef enum {
  HEADER_OK,
  HEADER_NEED_MORE,
  HEADER_BAD,
} HeaderCheck;

/* Largest data offset we wait for: every FLV version so far uses 9. */
#define MAX_HEADER_OFFSET 4096

static HeaderCheck
header_check (const guint8 * data, gsize size, guint8 * flags,
    gsize * consumed)
{
  static const guint8 sig[3] = { 'F', 'L', 'V' };
  guint32 offset;

  if (size < 3)
    return memcmp (data, sig, size) == 0 ? HEADER_NEED_MORE : HEADER_BAD;
  if (memcmp (data, sig, 3) != 0)
    return HEADER_BAD;
  if (size >= 4 && data[3] < 1)
    return HEADER_BAD;
  if (size < RTMFP_FLV_HEADER_SIZE)
    return HEADER_NEED_MORE;
  offset = rd_u32 (data + 5);
  /* The offset may grow in later versions; PreviousTagSize0 follows it. */
  if (offset < RTMFP_FLV_HEADER_SIZE || offset > MAX_HEADER_OFFSET)
    return HEADER_BAD;
  if (size < (gsize) offset + RTMFP_FLV_TAG_TRAILER_SIZE)
    return HEADER_NEED_MORE;
  if (flags)
    *flags = data[4];
  if (consumed)
    *consumed = (gsize) offset + RTMFP_FLV_TAG_TRAILER_SIZE;
  return HEADER_OK;
}

gboolean
rtmfp_flv_header_parse (const guint8 * data, gsize size, guint8 * flags,
    gsize * consumed)
{
  if (!data)
    return FALSE;
  return header_check (data, size, flags, consumed) == HEADER_OK;
}

/* ------------------------------------------------------------------------ */
/* Tags (FLV spec E.4.1) */

gboolean
rtmfp_flv_tag_parse_header (const guint8 * data, gsize size,
    RtmfpFlvTag * tag)
{
  g_return_val_if_fail (tag != NULL, FALSE);

  if (!data || size < RTMFP_FLV_TAG_HEADER_SIZE)
    return FALSE;
  /* Reserved(2) Filter(1) TagType(5) */
  if (data[0] & 0xc0)
    return FALSE;

  tag->type = data[0] & 0x1f;
  tag->filtered = (data[0] & 0x20) != 0;
  tag->data_size = rd_u24 (data + 1);
  /* Timestamp (lower 24 bits) then TimestampExtended (upper 8 bits) */
  tag->timestamp = rd_u24 (data + 4) | ((guint32) data[7] << 24);
  tag->stream_id = rd_u24 (data + 8);
  tag->total_size = RTMFP_FLV_TAG_HEADER_SIZE + (gsize) tag->data_size +
      RTMFP_FLV_TAG_TRAILER_SIZE;
  return TRUE;
}

gboolean
rtmfp_flv_tag_parse (const guint8 * data, gsize size, RtmfpFlvTag * tag,
    const guint8 ** payload)
{
  RtmfpFlvTag t;

  if (!rtmfp_flv_tag_parse_header (data, size, &t))
    return FALSE;
  if (size < t.total_size)
    return FALSE;
  if (tag)
    *tag = t;
  if (payload)
    *payload = data + RTMFP_FLV_TAG_HEADER_SIZE;
  return TRUE;
}

gboolean
rtmfp_flv_tag_write_header (guint8 out[RTMFP_FLV_TAG_HEADER_SIZE],
    guint8 type, guint32 data_size, guint32 timestamp, guint32 stream_id)
{
  if (data_size > RTMFP_FLV_MAX_DATA_SIZE || stream_id > 0xffffff)
    return FALSE;

  out[0] = type;
  wr_u24 (out + 1, data_size);
  wr_u24 (out + 4, timestamp & 0xffffff);
  out[7] = timestamp >> 24;
  wr_u24 (out + 8, stream_id);
  return TRUE;
}

void
rtmfp_flv_tag_write_trailer (guint8 out[RTMFP_FLV_TAG_TRAILER_SIZE],
    guint32 data_size)
{
  wr_u32 (out, RTMFP_FLV_TAG_HEADER_SIZE + data_size);
}

gsize
rtmfp_flv_tag_write (guint8 * out, gsize out_size, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize size)
{
  gsize total;

  g_return_val_if_fail (out != NULL || out_size == 0, 0);
  g_return_val_if_fail (payload != NULL || size == 0, 0);

  if (size > RTMFP_FLV_MAX_DATA_SIZE)
    return 0;
  total = RTMFP_FLV_TAG_HEADER_SIZE + size + RTMFP_FLV_TAG_TRAILER_SIZE;
  if (out_size < total)
    return 0;

  rtmfp_flv_tag_write_header (out, type, size, timestamp, 0);
  if (size)
    memcpy (out + RTMFP_FLV_TAG_HEADER_SIZE, payload, size);
  rtmfp_flv_tag_write_trailer (out + RTMFP_FLV_TAG_HEADER_SIZE + size, size);
  return total;
}

gboolean
rtmfp_flv_tag_append (GByteArray * out, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize size)
{
  guint8 h[RTMFP_FLV_TAG_HEADER_SIZE], t[RTMFP_FLV_TAG_TRAILER_SIZE];

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || size == 0, FALSE);

  if (!rtmfp_flv_tag_write_header (h, type, size > G_MAXUINT32 ? G_MAXUINT32
          : size, timestamp, 0))
    return FALSE;
  rtmfp_flv_tag_write_trailer (t, size);
  g_byte_array_append (out, h, sizeof h);
  if (size)
    g_byte_array_append (out, payload, size);
  g_byte_array_append (out, t, sizeof t);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Iterator */

void
rtmfp_flv_iter_init (RtmfpFlvIter * iter, const guint8 * data, gsize size)
{
  g_return_if_fail (iter != NULL);
  g_return_if_fail (data != NULL || size == 0);

  memset (iter, 0, sizeof *iter);
  iter->data = data;
  iter->size = size;
}

RtmfpFlvIterResult
rtmfp_flv_iter_next (RtmfpFlvIter * iter, RtmfpFlvTag * tag,
    const guint8 ** payload, gsize * offset)
{
  RtmfpFlvTag t;
  const guint8 *p;
  gsize left;

  g_return_val_if_fail (iter != NULL, RTMFP_FLV_ITER_ERROR);

  if (iter->failed)
    return RTMFP_FLV_ITER_ERROR;

  left = iter->size - iter->pos;
  if (left == 0)
    return RTMFP_FLV_ITER_END;
  p = iter->data + iter->pos;

  /* flvmux pushes the file header as its own buffer first (and in the
   * streamheader); tolerate it at the start of what we are given.  'F'
   * (0x46) has a reserved bit set, so it never starts a tag. */
  if (iter->pos == 0 && p[0] == 'F') {
    gsize used = 0;

    switch (header_check (p, left, &iter->header_flags, &used)) {
      case HEADER_NEED_MORE:
        return RTMFP_FLV_ITER_END;
      case HEADER_BAD:
        goto bad;
      case HEADER_OK:
        break;
    }
    iter->had_header = TRUE;
    iter->pos += used;
    p += used;
    left -= used;
  }

  if (left == 0)
    return RTMFP_FLV_ITER_END;
  if (p[0] & 0xc0)
    goto bad;
  if (left < RTMFP_FLV_TAG_HEADER_SIZE)
    return RTMFP_FLV_ITER_END;
  if (!rtmfp_flv_tag_parse_header (p, left, &t))
    goto bad;
  if (left < t.total_size)
    return RTMFP_FLV_ITER_END;

  if (tag)
    *tag = t;
  if (payload)
    *payload = p + RTMFP_FLV_TAG_HEADER_SIZE;
  if (offset)
    *offset = iter->pos;
  iter->pos += t.total_size;
  return RTMFP_FLV_ITER_TAG;

bad:
  g_debug ("bad FLV header or tag at offset %" G_GSIZE_FORMAT, iter->pos);
  iter->failed = TRUE;
  return RTMFP_FLV_ITER_ERROR;
}

gsize
rtmfp_flv_iter_position (const RtmfpFlvIter * iter)
{
  g_return_val_if_fail (iter != NULL, 0);
  return iter->pos;
}

gsize
rtmfp_flv_iter_remaining (const RtmfpFlvIter * iter)
{
  g_return_val_if_fail (iter != NULL, 0);
  return iter->size - iter->pos;
}

/* ------------------------------------------------------------------------ */
/* Audio (FLV spec E.4.2.1) */

static const guint flv_rates[4] = { 5512, 11025, 22050, 44100 };

gboolean
rtmfp_flv_audio_parse (const guint8 * payload, gsize size,
    RtmfpFlvAudioInfo * info)
{
  RtmfpFlvAudioInfo i;

  if (!payload || size < 1)
    return FALSE;

  i.format = payload[0] >> 4;
  i.rate_index = (payload[0] >> 2) & 0x03;
  i.bits = (payload[0] & 0x02) ? 16 : 8;
  i.channels = (payload[0] & 0x01) ? 2 : 1;
  i.rate = flv_rates[i.rate_index];
  i.aac_packet_type = -1;
  i.header_size = 1;

  switch (i.format) {
    case RTMFP_FLV_SOUND_SPEEX:
      /* "the audio is compressed mono sampled at 16 kHz" whatever the
       * bits say (they must be 0xb2, see the policy below) */
      i.rate = 16000;
      i.channels = 1;
      break;
    case RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO:
      i.rate = 16000;
      i.channels = 1;
      break;
    case RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO:
      i.rate = 8000;
      i.channels = 1;
      break;
    case RTMFP_FLV_SOUND_MP3_8K:
    case RTMFP_FLV_SOUND_G711_ALAW:
    case RTMFP_FLV_SOUND_G711_MULAW:
      i.rate = 8000;
      break;
    case RTMFP_FLV_SOUND_AAC:
      if (size < 2)
        return FALSE;
      i.aac_packet_type = payload[1];
      i.header_size = 2;
      break;
    default:
      break;
  }

  if (info)
    *info = i;
  return TRUE;
}

gboolean
rtmfp_flv_audio_is_sequence_header (const guint8 * payload, gsize size)
{
  return payload && size >= 2 && (payload[0] >> 4) == RTMFP_FLV_SOUND_AAC &&
      payload[1] == 0;
}

const gchar *
rtmfp_flv_sound_format_get_name (RtmfpFlvSoundFormat format)
{
  switch (format) {
    case RTMFP_FLV_SOUND_PCM:
      return "linear PCM (platform endian)";
    case RTMFP_FLV_SOUND_ADPCM:
      return "ADPCM";
    case RTMFP_FLV_SOUND_MP3:
      return "MP3";
    case RTMFP_FLV_SOUND_PCM_LE:
      return "linear PCM (little endian)";
    case RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO:
      return "Nellymoser 16 kHz mono";
    case RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO:
      return "Nellymoser 8 kHz mono";
    case RTMFP_FLV_SOUND_NELLYMOSER:
      return "Nellymoser";
    case RTMFP_FLV_SOUND_G711_ALAW:
      return "G.711 A-law";
    case RTMFP_FLV_SOUND_G711_MULAW:
      return "G.711 mu-law";
    case RTMFP_FLV_SOUND_AAC:
      return "AAC";
    case RTMFP_FLV_SOUND_SPEEX:
      return "Speex";
    case RTMFP_FLV_SOUND_MP3_8K:
      return "MP3 8 kHz";
    case RTMFP_FLV_SOUND_DEVICE_SPECIFIC:
      return "device-specific sound";
    default:
      return "reserved";
  }
}

/* ------------------------------------------------------------------------ */
/* Video (FLV spec E.4.3.1) */

gboolean
rtmfp_flv_video_parse (const guint8 * payload, gsize size,
    RtmfpFlvVideoInfo * info)
{
  RtmfpFlvVideoInfo i;

  if (!payload || size < 1)
    return FALSE;

  i.ex_header = (payload[0] & 0x80) != 0;
  i.frame_type = (payload[0] >> 4) & 0x0f;
  i.codec = payload[0] & 0x0f;
  i.is_keyframe = !i.ex_header && (i.frame_type == RTMFP_FLV_FRAME_KEY ||
      i.frame_type == RTMFP_FLV_FRAME_GENERATED_KEY);
  i.avc_packet_type = -1;
  i.composition_time = 0;
  i.header_size = 1;

  if (!i.ex_header) {
    switch (i.codec) {
      case RTMFP_FLV_VIDEO_AVC:
        /* AVCPacketType(8) CompositionTime(SI24) */
        if (size < 5)
          return FALSE;
        i.avc_packet_type = payload[1];
        i.composition_time = (gint32) (rd_u24 (payload + 2) << 8) >> 8;
        i.header_size = 5;
        break;
      case RTMFP_FLV_VIDEO_VP6:
        /* HorizontalAdjustment(4) VerticalAdjustment(4) */
        if (size < 2)
          return FALSE;
        i.header_size = 2;
        break;
      case RTMFP_FLV_VIDEO_VP6_ALPHA:
        /* adjustments(8) OffsetToAlpha(UI24) */
        if (size < 5)
          return FALSE;
        i.header_size = 5;
        break;
      default:
        break;
    }
  }

  if (info)
    *info = i;
  return TRUE;
}

gboolean
rtmfp_flv_video_is_keyframe (const guint8 * payload, gsize size)
{
  RtmfpFlvVideoInfo i;

  return rtmfp_flv_video_parse (payload, size, &i) && i.is_keyframe;
}

gboolean
rtmfp_flv_video_is_sequence_header (const guint8 * payload, gsize size)
{
  RtmfpFlvVideoInfo i;

  return rtmfp_flv_video_parse (payload, size, &i) &&
      i.avc_packet_type == RTMFP_FLV_AVC_SEQUENCE_HEADER;
}

const gchar *
rtmfp_flv_video_codec_get_name (guint codec)
{
  switch (codec) {
    case RTMFP_FLV_VIDEO_JPEG:
      return "JPEG";
    case RTMFP_FLV_VIDEO_H263:
      return "Sorenson H.263";
    case RTMFP_FLV_VIDEO_SCREEN:
      return "Screen video";
    case RTMFP_FLV_VIDEO_VP6:
      return "On2 VP6";
    case RTMFP_FLV_VIDEO_VP6_ALPHA:
      return "On2 VP6 with alpha";
    case RTMFP_FLV_VIDEO_SCREEN2:
      return "Screen video v2";
    case RTMFP_FLV_VIDEO_AVC:
      return "AVC (H.264)";
    default:
      return "unknown";
  }
}

/* ------------------------------------------------------------------------ */
/* Codec policy (DESIGN.md "Media mapping": Speex 16 kHz mono, H.264, VP6;
 * AAC and Nellymoser pass as a bonus) */

static gboolean
refuse (const gchar ** reason, const gchar * why)
{
  if (reason)
    *reason = why;
  return FALSE;
}

gboolean
rtmfp_flv_audio_codec_supported (const guint8 * payload, gsize size,
    const gchar ** reason)
{
  RtmfpFlvAudioInfo i;

  if (!payload || size < 1)
    return refuse (reason, "empty audio tag");

  switch (payload[0] >> 4) {
    case RTMFP_FLV_SOUND_SPEEX:
      /* FLV spec: for Speex SoundRate shall be 0, SoundSize 1, SoundType
       * 0 (16 kHz mono); anything else is not Speex as Flash plays it. */
      if (payload[0] != RTMFP_FLV_SPEEX_TAG_BYTE)
        return refuse (reason, "Speex must be 16 kHz mono, signalled as "
            "tag byte 0xb2 (rate bits 0, 16-bit, mono)");
      break;
    case RTMFP_FLV_SOUND_AAC:
      if (!rtmfp_flv_audio_parse (payload, size, &i))
        return refuse (reason, "AAC tag without AACPacketType");
      break;
    case RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO:
    case RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO:
    case RTMFP_FLV_SOUND_NELLYMOSER:
      break;
    case RTMFP_FLV_SOUND_MP3:
    case RTMFP_FLV_SOUND_MP3_8K:
      return refuse (reason, "MP3 audio is not supported over RTMFP "
          "(use Speex 16 kHz mono, or AAC/Nellymoser)");
    default:
      return refuse (reason, "unsupported audio codec (use Speex 16 kHz "
          "mono, or AAC/Nellymoser)");
  }
  if (reason)
    *reason = NULL;
  return TRUE;
}

gboolean
rtmfp_flv_video_codec_supported (const guint8 * payload, gsize size,
    const gchar ** reason)
{
  RtmfpFlvVideoInfo i;

  if (!payload || size < 1)
    return refuse (reason, "empty video tag");
  if (payload[0] & 0x80)
    return refuse (reason, "enhanced FLV (FourCC video header) is not "
        "supported (use H.264 or VP6)");

  switch (payload[0] & 0x0f) {
    case RTMFP_FLV_VIDEO_AVC:
    case RTMFP_FLV_VIDEO_VP6:
    case RTMFP_FLV_VIDEO_VP6_ALPHA:
      if (!rtmfp_flv_video_parse (payload, size, &i))
        return refuse (reason, "video tag too short for its codec header");
      break;
    case RTMFP_FLV_VIDEO_H263:
      return refuse (reason, "Sorenson H.263 video is not supported over "
          "RTMFP (use H.264 or VP6)");
    default:
      return refuse (reason, "unsupported video codec (use H.264 or VP6)");
  }
  if (reason)
    *reason = NULL;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Script data (FLV spec E.4.4: SCRIPTDATA = name (AMF0 string), value) */

#define SET_DATA_FRAME "@setDataFrame"
#define ON_METADATA "onMetaData"

/* Reads an AMF0 short string at payload; returns its total size
 * (3 + length) or 0. */
static gsize
amf_string_at (const guint8 * payload, gsize size, const guint8 ** str,
    gsize * len)
{
  gsize l;

  if (!payload || size < 3 || payload[0] != 0x02)
    return 0;
  l = ((gsize) payload[1] << 8) | payload[2];
  if (size - 3 < l)
    return 0;
  *str = payload + 3;
  *len = l;
  return 3 + l;
}

static gboolean
str_is (const guint8 * str, gsize len, const gchar * lit)
{
  gsize n = strlen (lit);
  return len == n && memcmp (str, lit, n) == 0;
}

RtmfpFlvScriptKind
rtmfp_flv_script_classify (const guint8 * payload, gsize size)
{
  const guint8 *s;
  gsize len;

  if (!amf_string_at (payload, size, &s, &len))
    return RTMFP_FLV_SCRIPT_INVALID;
  if (str_is (s, len, ON_METADATA))
    return RTMFP_FLV_SCRIPT_ON_METADATA;
  if (str_is (s, len, SET_DATA_FRAME))
    return RTMFP_FLV_SCRIPT_SET_DATA_FRAME;
  return RTMFP_FLV_SCRIPT_OTHER;
}

gsize
rtmfp_flv_script_skip_set_data_frame (const guint8 * payload, gsize size)
{
  const guint8 *s;
  gsize len, used;

  used = amf_string_at (payload, size, &s, &len);
  if (used && str_is (s, len, SET_DATA_FRAME))
    return used;
  return 0;
}

gboolean
rtmfp_flv_script_is_metadata (const guint8 * payload, gsize size)
{
  gsize off = rtmfp_flv_script_skip_set_data_frame (payload, size);

  return rtmfp_flv_script_classify (payload + off, size - off) ==
      RTMFP_FLV_SCRIPT_ON_METADATA;
}

GByteArray *
rtmfp_flv_script_prepend_set_data_frame (const guint8 * payload, gsize size)
{
  static const guint8 prefix[] = {
    0x02, 0x00, sizeof (SET_DATA_FRAME) - 1,
    '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e'
  };
  GByteArray *out;

  g_return_val_if_fail (payload != NULL || size == 0, NULL);

  out = g_byte_array_sized_new (sizeof prefix + size);
  g_byte_array_append (out, prefix, sizeof prefix);
  if (size)
    g_byte_array_append (out, payload, size);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Timestamp rollover */

void
rtmfp_flv_ts_unwrapper_init (RtmfpFlvTsUnwrapper * u)
{
  g_return_if_fail (u != NULL);
  memset (u, 0, sizeof *u);
}

guint64
rtmfp_flv_ts_unwrapper_unwrap (RtmfpFlvTsUnwrapper * u, guint32 timestamp)
{
  g_return_val_if_fail (u != NULL, 0);

  if (!u->started) {
    /* start from the first timestamp seen, not from 0, so a stream whose
     * first timestamp is >= 2^31 is not taken as a step backwards */
    u->started = TRUE;
    u->last_out = timestamp;
  } else {
    /* modular difference read as signed: steps of less than 2^31 ms
     * either way, so a wrap past 2^32 keeps counting up */
    gint32 delta = (gint32) (timestamp - u->last);
    if (delta > 0 && u->last_out > G_MAXINT64 - delta)
      u->last_out = G_MAXINT64;
    else if (delta < 0 && u->last_out < G_MININT64 - delta)
      u->last_out = G_MININT64;
    else
      u->last_out += delta;
    if (timestamp < u->last && delta > 0)
      g_debug ("timestamp rollover: %u -> %u", u->last, timestamp);
  }
  u->last = timestamp;
  return u->last_out < 0 ? 0 : (guint64) u->last_out;
}
