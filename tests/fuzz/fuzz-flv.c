/* gst-rtmfp fuzz target: FLV (flvtag.h).
 *
 * The input is read as an FLV stream (file header optional) with the tag
 * iterator; every tag is rewritten and must parse back identical, and its
 * payload goes through the audio, video or script-data helpers by type
 * (and through all of them as raw bytes).  Tag timestamps also feed the
 * 32-to-64-bit unwrapper, checked against its documented rule.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "flvtag.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static void
check_audio (const guint8 * p, gsize size)
{
  RtmfpFlvAudioInfo info;
  const gchar *reason = NULL;
  gboolean supported = rtmfp_flv_audio_codec_supported (p, size, &reason);

  if (!supported)
    FUZZ_CHECK (reason != NULL);
  if (size == 0)
    FUZZ_CHECK (!supported);
  if (rtmfp_flv_audio_parse (p, size, &info)) {
    FUZZ_CHECK (size > 0);
    FUZZ_CHECK (info.header_size >= 1 && info.header_size <= size);
    FUZZ_CHECK (info.bits == 8 || info.bits == 16);
    FUZZ_CHECK (info.channels == 1 || info.channels == 2);
    FUZZ_CHECK (info.rate_index <= 3);
    FUZZ_CHECK (rtmfp_flv_sound_format_get_name (info.format) != NULL);
    if (info.format == RTMFP_FLV_SOUND_AAC)
      FUZZ_CHECK (info.aac_packet_type >= 0 && info.header_size == 2);
    else
      FUZZ_CHECK (info.aac_packet_type == -1);
    /* the one Speex byte FLV allows: 16 kHz mono */
    if (p[0] == RTMFP_FLV_SPEEX_TAG_BYTE)
      FUZZ_CHECK (info.format == RTMFP_FLV_SOUND_SPEEX && info.rate == 16000
          && info.channels == 1 && supported);
    if (rtmfp_flv_audio_is_sequence_header (p, size))
      FUZZ_CHECK (info.format == RTMFP_FLV_SOUND_AAC &&
          info.aac_packet_type == 0);
  } else {
    FUZZ_CHECK (!rtmfp_flv_audio_is_sequence_header (p, size));
  }
}

static void
check_video (const guint8 * p, gsize size)
{
  RtmfpFlvVideoInfo info;
  const gchar *reason = NULL;
  gboolean supported = rtmfp_flv_video_codec_supported (p, size, &reason);

  if (!supported)
    FUZZ_CHECK (reason != NULL);
  if (size == 0)
    FUZZ_CHECK (!supported);
  if (rtmfp_flv_video_parse (p, size, &info)) {
    FUZZ_CHECK (size > 0);
    FUZZ_CHECK (rtmfp_flv_video_codec_get_name (info.codec) != NULL);
    if (!info.ex_header) {
      FUZZ_CHECK (info.header_size >= 1 && info.header_size <= size);
      FUZZ_CHECK (info.frame_type == (guint) (p[0] >> 4));
      FUZZ_CHECK (info.codec == (guint) (p[0] & 0x0f));
      FUZZ_CHECK (info.is_keyframe == (info.frame_type == 1 ||
              info.frame_type == 4));
      FUZZ_CHECK (rtmfp_flv_video_is_keyframe (p, size) ==
          info.is_keyframe);
      if (info.codec == RTMFP_FLV_VIDEO_AVC) {
        FUZZ_CHECK (info.avc_packet_type >= 0 && info.header_size == 5);
        FUZZ_CHECK (info.composition_time >= -(1 << 23) &&
            info.composition_time < (1 << 23));
      } else {
        FUZZ_CHECK (info.avc_packet_type == -1 &&
            info.composition_time == 0);
      }
      if (rtmfp_flv_video_is_sequence_header (p, size))
        FUZZ_CHECK (info.codec == RTMFP_FLV_VIDEO_AVC &&
            info.avc_packet_type == 0);
    }
  } else {
    FUZZ_CHECK (!rtmfp_flv_video_is_sequence_header (p, size));
  }
}

static void
check_script (const guint8 * p, gsize size)
{
  RtmfpFlvScriptKind kind = rtmfp_flv_script_classify (p, size);
  gsize skip = rtmfp_flv_script_skip_set_data_frame (p, size);
  gboolean meta = rtmfp_flv_script_is_metadata (p, size);
  GByteArray *pre;

  FUZZ_CHECK (kind >= RTMFP_FLV_SCRIPT_INVALID &&
      kind <= RTMFP_FLV_SCRIPT_SET_DATA_FRAME);
  FUZZ_CHECK (skip <= size);
  if (kind == RTMFP_FLV_SCRIPT_SET_DATA_FRAME)
    FUZZ_CHECK (skip > 0);
  if (kind == RTMFP_FLV_SCRIPT_ON_METADATA)
    FUZZ_CHECK (meta);
  if (kind == RTMFP_FLV_SCRIPT_INVALID || kind == RTMFP_FLV_SCRIPT_OTHER)
    FUZZ_CHECK (!meta);

  /* "@setDataFrame" + payload: what rtmp2sink publishes */
  pre = rtmfp_flv_script_prepend_set_data_frame (p, size);
  FUZZ_CHECK (pre != NULL && pre->len > size);
  skip = rtmfp_flv_script_skip_set_data_frame (pre->data, pre->len);
  FUZZ_CHECK (skip == pre->len - size);
  FUZZ_CHECK (size == 0 || memcmp (pre->data + skip, p, size) == 0);
  if (kind != RTMFP_FLV_SCRIPT_INVALID)
    FUZZ_CHECK (rtmfp_flv_script_classify (pre->data, pre->len) ==
        RTMFP_FLV_SCRIPT_SET_DATA_FRAME);
  if (kind == RTMFP_FLV_SCRIPT_ON_METADATA)
    FUZZ_CHECK (rtmfp_flv_script_is_metadata (pre->data, pre->len));
  g_byte_array_unref (pre);
}

static void
check_tag (const guint8 * data, gsize size, const RtmfpFlvTag * tag,
    const guint8 * payload, gsize offset)
{
  guint8 hdr[RTMFP_FLV_TAG_HEADER_SIZE];
  guint8 *buf;
  RtmfpFlvTag t2;
  const guint8 *p2;
  gsize n;

  FUZZ_CHECK (tag->total_size == RTMFP_FLV_TAG_HEADER_SIZE +
      (gsize) tag->data_size + RTMFP_FLV_TAG_TRAILER_SIZE);
  FUZZ_CHECK (offset <= size && tag->total_size <= size - offset);
  FUZZ_CHECK (payload == data + offset + RTMFP_FLV_TAG_HEADER_SIZE);
  FUZZ_CHECK (tag->type <= 0x1f && tag->stream_id <= 0xffffff);

  /* header rewrite: identical bytes */
  FUZZ_CHECK (rtmfp_flv_tag_write_header (hdr,
          tag->type | (tag->filtered ? 0x20 : 0), tag->data_size,
          tag->timestamp, tag->stream_id));
  FUZZ_CHECK (memcmp (hdr, data + offset, sizeof (hdr)) == 0);
  FUZZ_CHECK (rtmfp_flv_tag_parse_header (hdr, sizeof (hdr), &t2));
  FUZZ_CHECK (t2.type == tag->type && t2.data_size == tag->data_size &&
      t2.timestamp == tag->timestamp && t2.stream_id == tag->stream_id &&
      t2.filtered == tag->filtered);

  /* whole-tag rewrite (stream id 0): parses back the same */
  buf = malloc (tag->total_size);
  n = rtmfp_flv_tag_write (buf, tag->total_size, tag->type, tag->timestamp,
      payload, tag->data_size);
  FUZZ_CHECK (n == tag->total_size);
  FUZZ_CHECK (rtmfp_flv_tag_write (buf, tag->total_size - 1, tag->type,
          tag->timestamp, payload, tag->data_size) == 0);
  FUZZ_CHECK (rtmfp_flv_tag_parse (buf, n, &t2, &p2));
  FUZZ_CHECK (t2.type == tag->type && t2.data_size == tag->data_size &&
      t2.timestamp == tag->timestamp && t2.stream_id == 0 &&
      t2.total_size == n);
  FUZZ_CHECK (tag->data_size == 0 ||
      memcmp (p2, payload, tag->data_size) == 0);
  /* truncated: refused */
  FUZZ_CHECK (!rtmfp_flv_tag_parse (buf, n - 1, &t2, NULL));
  free (buf);

  switch (tag->type) {
    case RTMFP_FLV_TAG_TYPE_AUDIO:
      check_audio (payload, tag->data_size);
      break;
    case RTMFP_FLV_TAG_TYPE_VIDEO:
      check_video (payload, tag->data_size);
      break;
    case RTMFP_FLV_TAG_TYPE_SCRIPT:
      check_script (payload, tag->data_size);
      break;
    default:
      break;
  }
}

/* The documented unwrapper rule, in 128-bit-free arithmetic: the first
 * result equals the first timestamp, then each moves by the signed 32-bit
 * difference; results below 0 read as 0. */
typedef struct {
  gboolean started;
  guint32 last;
  gint64 out;
} TsModel;

static guint64
ts_model (TsModel * m, guint32 ts)
{
  if (!m->started) {
    m->started = TRUE;
    m->out = ts;
  } else {
    m->out += (gint32) (ts - m->last);
  }
  m->last = ts;
  return m->out < 0 ? 0 : (guint64) m->out;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  RtmfpFlvIter it;
  RtmfpFlvTag tag;
  RtmfpFlvTsUnwrapper u;
  TsModel model = { FALSE, 0, 0 };
  const guint8 *payload;
  gsize offset, end = 0;
  RtmfpFlvIterResult r;
  guint8 flags;
  guint n = 0;

  /* file header */
  if (rtmfp_flv_header_parse (data, size, &flags, &offset)) {
    FUZZ_CHECK (rtmfp_flv_is_header (data, size));
    FUZZ_CHECK (offset >= RTMFP_FLV_FILE_HEADER_SIZE && offset <= size);
  }

  rtmfp_flv_ts_unwrapper_init (&u);
  rtmfp_flv_iter_init (&it, data, size);
  while ((r = rtmfp_flv_iter_next (&it, &tag, &payload, &offset)) ==
      RTMFP_FLV_ITER_TAG) {
    FUZZ_CHECK (offset >= end);
    check_tag (data, size, &tag, payload, offset);
    end = offset + tag.total_size;
    FUZZ_CHECK (rtmfp_flv_iter_position (&it) == end);
    FUZZ_CHECK (rtmfp_flv_ts_unwrapper_unwrap (&u, tag.timestamp) ==
        ts_model (&model, tag.timestamp));
    n++;
  }
  FUZZ_CHECK (r == RTMFP_FLV_ITER_END || r == RTMFP_FLV_ITER_ERROR);
  if (r == RTMFP_FLV_ITER_END)
    FUZZ_CHECK (rtmfp_flv_iter_position (&it) +
        rtmfp_flv_iter_remaining (&it) == size);
  /* finished stays finished */
  FUZZ_CHECK (rtmfp_flv_iter_next (&it, &tag, &payload, &offset) !=
      RTMFP_FLV_ITER_TAG);

  /* the raw input as each kind of payload */
  check_audio (data, size);
  check_video (data, size);
  check_script (data, size);
  {
    RtmfpFlvTag t;

    if (rtmfp_flv_tag_parse_header (data, size, &t))
      FUZZ_CHECK (size >= RTMFP_FLV_TAG_HEADER_SIZE && !(data[0] & 0xc0));
  }
  return 0;
}
