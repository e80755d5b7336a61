/* Unit tests of the FLV tag codec (ext/rtmfp/rtmfp/flvtag.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>

#include "ext/rtmfp/rtmfp/flvtag.h"
#include "ext/rtmfp/rtmfp/amf0.h"

#define LIT(s) ((const guint8 *) (s)), (sizeof (s) - 1)

static void
test_file_header (void)
{
  guint8 h[RTMFP_FLV_FILE_HEADER_SIZE];
  GByteArray *a = g_byte_array_new ();
  guint8 flags = 0;
  gsize consumed = 0;

  rtmfp_flv_header_write (h, TRUE, TRUE);
  g_assert_cmpmem (h, sizeof h, "FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00",
      13);
  rtmfp_flv_header_append (a, FALSE, TRUE);
  g_assert_cmpmem (a->data, a->len,
      "FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00", 13);
  rtmfp_flv_header_write (h, TRUE, FALSE);
  g_assert_cmpint (h[4], ==, 0x04);

  g_assert_true (rtmfp_flv_header_parse (a->data, a->len, &flags, &consumed));
  g_assert_cmpint (flags, ==, RTMFP_FLV_FLAG_VIDEO);
  g_assert_cmpuint (consumed, ==, 13);
  g_assert_true (rtmfp_flv_is_header (a->data, 3));
  g_assert_false (rtmfp_flv_is_header (LIT ("\x09\x00\x00")));

  /* truncated, wrong signature, version 0, bad offsets */
  g_assert_false (rtmfp_flv_header_parse (a->data, 12, NULL, NULL));
  g_assert_false (rtmfp_flv_header_parse (LIT
          ("FLX\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"), NULL, NULL));
  g_assert_false (rtmfp_flv_header_parse (LIT
          ("FLV\x00\x05\x00\x00\x00\x09\x00\x00\x00\x00"), NULL, NULL));
  g_assert_false (rtmfp_flv_header_parse (LIT
          ("FLV\x01\x05\x00\x00\x00\x08\x00\x00\x00\x00"), NULL, NULL));
  g_assert_false (rtmfp_flv_header_parse (LIT
          ("FLV\x01\x05\xff\xff\xff\xff\x00\x00\x00\x00"), NULL, NULL));
  /* a larger offset (future versions) is skipped */
  g_assert_true (rtmfp_flv_header_parse (LIT
          ("FLV\x01\x05\x00\x00\x00\x0b\xaa\xbb\x00\x00\x00\x00"), &flags,
          &consumed));
  g_assert_cmpuint (consumed, ==, 15);
  g_byte_array_unref (a);
}

static void
test_tag_build_parse (void)
{
  static const guint8 speex[] = { 0xb2, 0x11, 0x22, 0x33 };
  /* hand-written: type 8, size 4, timestamp 0x01020304 split 24+8 */
  static const gchar want[] =
      "\x08" "\x00\x00\x04" "\x02\x03\x04" "\x01" "\x00\x00\x00"
      "\xb2\x11\x22\x33" "\x00\x00\x00\x0f";
  GByteArray *a = g_byte_array_new ();
  guint8 buf[64];
  RtmfpFlvTag tag;
  const guint8 *payload = NULL;

  g_assert_true (rtmfp_flv_tag_append (a, RTMFP_FLV_TAG_TYPE_AUDIO,
          0x01020304, speex, sizeof speex));
  g_assert_cmpmem (a->data, a->len, want, sizeof want - 1);

  g_assert_cmpuint (rtmfp_flv_tag_write (buf, sizeof buf,
          RTMFP_FLV_TAG_TYPE_AUDIO, 0x01020304, speex, sizeof speex), ==, 19);
  g_assert_cmpmem (buf, 19, want, sizeof want - 1);
  /* too small an output buffer */
  g_assert_cmpuint (rtmfp_flv_tag_write (buf, 18, RTMFP_FLV_TAG_TYPE_AUDIO,
          0, speex, sizeof speex), ==, 0);

  g_assert_true (rtmfp_flv_tag_parse_header (a->data, 11, &tag));
  g_assert_cmpint (tag.type, ==, RTMFP_FLV_TAG_TYPE_AUDIO);
  g_assert_false (tag.filtered);
  g_assert_cmpuint (tag.data_size, ==, 4);
  g_assert_cmpuint (tag.timestamp, ==, 0x01020304);
  g_assert_cmpuint (tag.stream_id, ==, 0);
  g_assert_cmpuint (tag.total_size, ==, 19);
  g_assert_false (rtmfp_flv_tag_parse_header (a->data, 10, &tag));
  g_assert_false (rtmfp_flv_tag_parse (a->data, 18, &tag, &payload));
  g_assert_true (rtmfp_flv_tag_parse (a->data, a->len, &tag, &payload));
  g_assert_true (payload == a->data + 11);

  /* separate header / trailer writers (what rtmfpsrc wraps payloads in) */
  g_assert_true (rtmfp_flv_tag_write_header (buf, RTMFP_FLV_TAG_TYPE_VIDEO,
          0xabcdef, 0xff000001, 0));
  g_assert_cmpmem (buf, 11, "\x09\xab\xcd\xef\x00\x00\x01\xff\x00\x00\x00",
      11);
  rtmfp_flv_tag_write_trailer (buf, 0xabcdef);
  g_assert_cmpmem (buf, 4, "\x00\xab\xcd\xfa", 4);
  g_assert_false (rtmfp_flv_tag_write_header (buf, 9, 0x1000000, 0, 0));
  g_assert_false (rtmfp_flv_tag_write_header (buf, 9, 1, 0, 0x1000000));

  /* stream id, filter bit, reserved bits */
  g_assert_true (rtmfp_flv_tag_parse_header (LIT ("\x29\x00\x00\x00"
              "\x00\x00\x00\x00" "\x01\x02\x03"), &tag));
  g_assert_cmpint (tag.type, ==, 9);
  g_assert_true (tag.filtered);
  g_assert_cmpuint (tag.stream_id, ==, 0x010203);
  g_assert_false (rtmfp_flv_tag_parse_header (LIT ("\x48\x00\x00\x00"
              "\x00\x00\x00\x00" "\x00\x00\x00"), &tag));

  /* empty payload tag */
  g_byte_array_set_size (a, 0);
  g_assert_true (rtmfp_flv_tag_append (a, RTMFP_FLV_TAG_TYPE_SCRIPT, 7, NULL,
          0));
  g_assert_cmpmem (a->data, a->len,
      "\x12\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00" "\x00\x00\x00\x0b", 15);
  g_byte_array_unref (a);
}

static void
test_audio (void)
{
  RtmfpFlvAudioInfo ai;

  /* Speex as flvmux writes it (cf. flvmux test_speex_streamable) */
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\xb2\x00"), &ai));
  g_assert_cmpint (ai.format, ==, RTMFP_FLV_SOUND_SPEEX);
  g_assert_cmpuint (ai.rate_index, ==, 0);
  g_assert_cmpuint (ai.rate, ==, 16000);
  g_assert_cmpuint (ai.bits, ==, 16);
  g_assert_cmpuint (ai.channels, ==, 1);
  g_assert_cmpint (ai.aac_packet_type, ==, -1);
  g_assert_cmpuint (ai.header_size, ==, 1);
  g_assert_false (rtmfp_flv_audio_is_sequence_header (LIT ("\xb2\x00")));

  /* AAC: sequence header and raw */
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\xaf\x00\x12\x10"), &ai));
  g_assert_cmpint (ai.format, ==, RTMFP_FLV_SOUND_AAC);
  g_assert_cmpuint (ai.rate, ==, 44100);
  g_assert_cmpuint (ai.channels, ==, 2);
  g_assert_cmpint (ai.aac_packet_type, ==, 0);
  g_assert_cmpuint (ai.header_size, ==, 2);
  g_assert_true (rtmfp_flv_audio_is_sequence_header (LIT ("\xaf\x00\x12")));
  g_assert_false (rtmfp_flv_audio_is_sequence_header (LIT ("\xaf\x01\x21")));
  g_assert_false (rtmfp_flv_audio_parse (LIT ("\xaf"), &ai));
  g_assert_false (rtmfp_flv_audio_is_sequence_header (LIT ("\xaf")));

  /* MP3 22 kHz 8-bit mono; Nellymoser 8k mono; G.711 */
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\x28"), &ai));
  g_assert_cmpint (ai.format, ==, RTMFP_FLV_SOUND_MP3);
  g_assert_cmpuint (ai.rate, ==, 22050);
  g_assert_cmpuint (ai.bits, ==, 8);
  g_assert_cmpuint (ai.channels, ==, 1);
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\x52"), &ai));
  g_assert_cmpint (ai.format, ==, RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO);
  g_assert_cmpuint (ai.rate, ==, 8000);
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\x42"), &ai));
  g_assert_cmpuint (ai.rate, ==, 16000);
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\x6d"), &ai));
  g_assert_cmpuint (ai.rate, ==, 44100);
  g_assert_cmpuint (ai.channels, ==, 2);
  g_assert_true (rtmfp_flv_audio_parse (LIT ("\x72"), &ai));
  g_assert_cmpuint (ai.rate, ==, 8000);
  g_assert_false (rtmfp_flv_audio_parse (NULL, 0, &ai));

  g_assert_cmpstr (rtmfp_flv_sound_format_get_name (11), ==, "Speex");
  g_assert_cmpstr (rtmfp_flv_sound_format_get_name (9), ==, "reserved");
}

static void
test_video (void)
{
  RtmfpFlvVideoInfo vi;

  /* AVC sequence header */
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x17\x00\x00\x00\x00\x01"),
          &vi));
  g_assert_cmpuint (vi.frame_type, ==, RTMFP_FLV_FRAME_KEY);
  g_assert_cmpuint (vi.codec, ==, RTMFP_FLV_VIDEO_AVC);
  g_assert_true (vi.is_keyframe);
  g_assert_cmpint (vi.avc_packet_type, ==, RTMFP_FLV_AVC_SEQUENCE_HEADER);
  g_assert_cmpint (vi.composition_time, ==, 0);
  g_assert_cmpuint (vi.header_size, ==, 5);
  g_assert_true (rtmfp_flv_video_is_sequence_header (LIT
          ("\x17\x00\x00\x00\x00")));
  g_assert_true (rtmfp_flv_video_is_keyframe (LIT ("\x17\x00\x00\x00\x00")));

  /* AVC key NALU with composition time +40; inter with -2 */
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x17\x01\x00\x00\x28"), &vi));
  g_assert_cmpint (vi.avc_packet_type, ==, RTMFP_FLV_AVC_NALU);
  g_assert_cmpint (vi.composition_time, ==, 40);
  g_assert_false (rtmfp_flv_video_is_sequence_header (LIT
          ("\x17\x01\x00\x00\x28")));
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x27\x01\xff\xff\xfe\x00"),
          &vi));
  g_assert_false (vi.is_keyframe);
  g_assert_cmpuint (vi.frame_type, ==, RTMFP_FLV_FRAME_INTER);
  g_assert_cmpint (vi.composition_time, ==, -2);
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x27\x01\x80\x00\x00"), &vi));
  g_assert_cmpint (vi.composition_time, ==, -8388608);
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x27\x02\x00\x00\x00"), &vi));
  g_assert_cmpint (vi.avc_packet_type, ==, RTMFP_FLV_AVC_END_OF_SEQUENCE);
  /* truncated AVC header */
  g_assert_false (rtmfp_flv_video_parse (LIT ("\x17\x01\x00\x00"), &vi));
  g_assert_false (rtmfp_flv_video_is_keyframe (LIT ("\x17\x01")));

  /* VP6 key / inter, VP6 alpha key */
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x14\x00\x55"), &vi));
  g_assert_cmpuint (vi.codec, ==, RTMFP_FLV_VIDEO_VP6);
  g_assert_true (vi.is_keyframe);
  g_assert_cmpuint (vi.header_size, ==, 2);
  g_assert_cmpint (vi.avc_packet_type, ==, -1);
  g_assert_false (rtmfp_flv_video_is_keyframe (LIT ("\x24\x00\x55")));
  g_assert_false (rtmfp_flv_video_parse (LIT ("\x14"), &vi));
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x15\x00\x00\x00\x10\x99"),
          &vi));
  g_assert_cmpuint (vi.codec, ==, RTMFP_FLV_VIDEO_VP6_ALPHA);
  g_assert_cmpuint (vi.header_size, ==, 5);
  g_assert_true (vi.is_keyframe);
  g_assert_false (rtmfp_flv_video_parse (LIT ("\x15\x00\x00\x00"), &vi));

  /* generated keyframe; info/command frame; H.263 */
  g_assert_true (rtmfp_flv_video_is_keyframe (LIT ("\x44\x00")));
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x57\x00\x00\x00\x00"), &vi));
  g_assert_cmpuint (vi.frame_type, ==, RTMFP_FLV_FRAME_INFO);
  g_assert_false (vi.is_keyframe);
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x12"), &vi));
  g_assert_cmpuint (vi.codec, ==, RTMFP_FLV_VIDEO_H263);
  g_assert_cmpuint (vi.header_size, ==, 1);

  /* enhanced RTMP ex-header */
  g_assert_true (rtmfp_flv_video_parse (LIT ("\x90hvc1"), &vi));
  g_assert_true (vi.ex_header);
  g_assert_false (vi.is_keyframe);

  g_assert_false (rtmfp_flv_video_parse (LIT (""), &vi));
  g_assert_cmpstr (rtmfp_flv_video_codec_get_name (7), ==, "AVC (H.264)");
}

static void
test_codec_policy (void)
{
  const gchar *reason = "unset";

  /* audio */
  g_assert_true (rtmfp_flv_audio_codec_supported (LIT ("\xb2\x01"), &reason));
  g_assert_null (reason);
  /* Speex with stereo, 8-bit or another rate index: not the FLV form */
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\xb3"), &reason));
  g_assert_nonnull (strstr (reason, "0xb2"));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\xb0"), &reason));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\xb6"), &reason));
  g_assert_nonnull (strstr (reason, "16 kHz mono"));
  reason = "unset";
  g_assert_true (rtmfp_flv_audio_codec_supported (LIT ("\xaf\x00\x12\x10"),
          &reason));
  g_assert_null (reason);
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\xaf"), &reason));
  g_assert_true (rtmfp_flv_audio_codec_supported (LIT ("\x42"), NULL));
  g_assert_true (rtmfp_flv_audio_codec_supported (LIT ("\x52"), NULL));
  g_assert_true (rtmfp_flv_audio_codec_supported (LIT ("\x6e"), NULL));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\x2f"), &reason));
  g_assert_nonnull (strstr (reason, "MP3"));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\xe2"), &reason));
  g_assert_nonnull (strstr (reason, "MP3"));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\x3e"), &reason));
  g_assert_nonnull (strstr (reason, "unsupported audio codec"));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT ("\x72"), &reason));
  g_assert_false (rtmfp_flv_audio_codec_supported (LIT (""), &reason));
  g_assert_nonnull (reason);

  /* video */
  reason = "unset";
  g_assert_true (rtmfp_flv_video_codec_supported (LIT ("\x17\x00\x00\x00\x00"),
          &reason));
  g_assert_null (reason);
  g_assert_true (rtmfp_flv_video_codec_supported (LIT ("\x27\x01\x00\x00\x00"),
          NULL));
  g_assert_true (rtmfp_flv_video_codec_supported (LIT ("\x14\x00"), NULL));
  g_assert_true (rtmfp_flv_video_codec_supported (LIT ("\x25\x00\x00\x00\x00"),
          NULL));
  g_assert_false (rtmfp_flv_video_codec_supported (LIT ("\x12\x00\x00"),
          &reason));
  g_assert_nonnull (strstr (reason, "H.263"));
  g_assert_false (rtmfp_flv_video_codec_supported (LIT ("\x13\x00"),
          &reason));
  g_assert_nonnull (strstr (reason, "unsupported video codec"));
  g_assert_false (rtmfp_flv_video_codec_supported (LIT ("\x1c\x00"),
          &reason));
  g_assert_false (rtmfp_flv_video_codec_supported (LIT ("\x90hvc1"),
          &reason));
  g_assert_nonnull (strstr (reason, "enhanced"));
  g_assert_false (rtmfp_flv_video_codec_supported (LIT ("\x17\x01"),
          &reason));
  g_assert_false (rtmfp_flv_video_codec_supported (NULL, 0, &reason));
}

typedef struct {
  guint8 type;
  guint32 ts;
  const gchar *payload;
  gsize len;
} TagSpec;

static const TagSpec stream_tags[] = {
  {18, 0, "\x02\x00\x0a" "onMetaData" "\x05", 14},
  {9, 0, "\x17\x00\x00\x00\x00\x01\x64", 7},
  {8, 0, "\xb2\xaa\xbb", 3},
  {9, 33, "\x27\x01\x00\x00\x00\x12\x34", 7},
  {8, 20, "\xb2", 1},
};

static GByteArray *
build_stream (gboolean with_header)
{
  GByteArray *a = g_byte_array_new ();
  guint i;

  if (with_header)
    rtmfp_flv_header_append (a, TRUE, TRUE);
  for (i = 0; i < G_N_ELEMENTS (stream_tags); i++)
    g_assert_true (rtmfp_flv_tag_append (a, stream_tags[i].type,
            stream_tags[i].ts, (const guint8 *) stream_tags[i].payload,
            stream_tags[i].len));
  return a;
}

/* Runs the iterator over data; returns how many tags matched stream_tags
 * (starting at first) and sets *res to the final result. */
static guint
iterate (const guint8 * data, gsize size, guint first,
    RtmfpFlvIterResult * res, RtmfpFlvIter * it)
{
  RtmfpFlvTag tag;
  const guint8 *payload;
  gsize offset;
  guint n = 0;

  rtmfp_flv_iter_init (it, data, size);
  while ((*res = rtmfp_flv_iter_next (it, &tag, &payload, &offset)) ==
      RTMFP_FLV_ITER_TAG) {
    const TagSpec *s;

    g_assert_cmpuint (first + n, <, G_N_ELEMENTS (stream_tags));
    s = &stream_tags[first + n];
    g_assert_cmpint (tag.type, ==, s->type);
    g_assert_cmpuint (tag.timestamp, ==, s->ts);
    g_assert_cmpmem (payload, tag.data_size, s->payload, s->len);
    g_assert_true (payload == data + offset + 11);
    g_assert_cmpuint (offset + tag.total_size, <=, size);
    n++;
  }
  return n;
}

static void
test_iterator (void)
{
  GByteArray *a = build_stream (TRUE);
  RtmfpFlvIter it;
  RtmfpFlvIterResult res;
  gsize cut;

  /* whole stream with its header */
  g_assert_cmpuint (iterate (a->data, a->len, 0, &res, &it), ==, 5);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
  g_assert_true (it.had_header);
  g_assert_cmpint (it.header_flags, ==, 0x05);
  g_assert_cmpuint (rtmfp_flv_iter_remaining (&it), ==, 0);
  g_assert_cmpuint (rtmfp_flv_iter_position (&it), ==, a->len);

  /* header alone (flvmux pushes it as its own buffer) */
  g_assert_cmpuint (iterate (a->data, 13, 0, &res, &it), ==, 0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
  g_assert_true (it.had_header);
  g_assert_cmpuint (rtmfp_flv_iter_remaining (&it), ==, 0);

  /* every cut point: the complete tags come out, the rest is left over,
   * and iterating the leftover + the remainder yields the rest */
  for (cut = 0; cut <= a->len; cut++) {
    guint n = iterate (a->data, cut, 0, &res, &it), m;
    gsize pos = rtmfp_flv_iter_position (&it);
    GByteArray *rest;

    g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
    g_assert_cmpuint (pos + rtmfp_flv_iter_remaining (&it), ==, cut);
    rest = g_byte_array_new ();
    g_byte_array_append (rest, a->data + pos, a->len - pos);
    if (pos == 0) {
      m = iterate (rest->data, rest->len, 0, &res, &it);
    } else {
      m = iterate (rest->data, rest->len, n, &res, &it);
      g_assert_false (it.had_header);
    }
    g_assert_cmpuint (n + m, ==, 5);
    g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
    g_byte_array_unref (rest);
  }

  /* trailing partial tag: header complete, payload not */
  g_assert_cmpuint (iterate (a->data, a->len - 3, 0, &res, &it), ==, 4);
  g_assert_cmpuint (rtmfp_flv_iter_remaining (&it), ==, 1 + 11 + 4 - 3);
  g_byte_array_unref (a);

  /* no file header */
  a = build_stream (FALSE);
  g_assert_cmpuint (iterate (a->data, a->len, 0, &res, &it), ==, 5);
  g_assert_false (it.had_header);

  /* garbage after two tags: error, and it sticks */
  g_byte_array_set_size (a, 11 + 14 + 4 + 11 + 7 + 4);
  g_byte_array_append (a, LIT ("\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
          "\x00\x00\x00\x0b"));
  g_assert_cmpuint (iterate (a->data, a->len, 0, &res, &it), ==, 2);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_ERROR);
  g_assert_cmpint (rtmfp_flv_iter_next (&it, NULL, NULL, NULL), ==,
      RTMFP_FLV_ITER_ERROR);
  g_byte_array_unref (a);

  /* header prefixes wait; non-headers starting with 'F' fail */
  g_assert_cmpuint (iterate (LIT ("FL"), 0, &res, &it), ==, 0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
  g_assert_cmpuint (rtmfp_flv_iter_remaining (&it), ==, 2);
  g_assert_cmpuint (iterate (LIT ("FLV\x01\x05\x00\x00"), 0, &res, &it), ==,
      0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
  g_assert_cmpuint (iterate (LIT ("FOO"), 0, &res, &it), ==, 0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_ERROR);
  g_assert_cmpuint (iterate (LIT ("FLV\x01\x05\x00\x00\x00\x01\x00\x00\x00"
              "\x00"), 0, &res, &it), ==, 0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_ERROR);
  g_assert_cmpuint (iterate (NULL, 0, 0, &res, &it), ==, 0);
  g_assert_cmpint (res, ==, RTMFP_FLV_ITER_END);
}

static void
test_rollover (void)
{
  RtmfpFlvTsUnwrapper u;
  GByteArray *a = g_byte_array_new ();
  RtmfpFlvIter it;
  RtmfpFlvTag tag;
  guint64 prev = 0, expect;
  guint32 ts;
  guint i;

  /* starts at the first timestamp, crosses 2^32 */
  rtmfp_flv_ts_unwrapper_init (&u);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 0xfffffc18), ==,
      0xfffffc18);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 0xffffffff), ==,
      0xffffffffu);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 0), ==,
      G_GUINT64_CONSTANT (0x100000000));
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 1000), ==,
      G_GUINT64_CONSTANT (0x100000000) + 1000);
  /* a small step back (B-frames) after the wrap stays after it */
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 990), ==,
      G_GUINT64_CONSTANT (0x100000000) + 990);
  /* and a step back across the wrap point goes back before it */
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 0xfffffff6), ==,
      0xfffffff6u);

  /* a first timestamp >= 2^31 is not a step backwards from 0 */
  rtmfp_flv_ts_unwrapper_init (&u);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 3000000000u), ==,
      3000000000u);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 3000000040u), ==,
      3000000040u);

  /* steps back before the first timestamp clamp at 0 but keep the
   * relation to what follows */
  rtmfp_flv_ts_unwrapper_init (&u);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 10), ==, 10);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 0xfffffffa), ==, 0);
  g_assert_cmpuint (rtmfp_flv_ts_unwrapper_unwrap (&u, 20), ==, 20);

  /* several wraps in big steps, through FLV tags built and re-parsed */
  rtmfp_flv_ts_unwrapper_init (&u);
  for (i = 0, expect = 5000; i < 12; i++, expect += 0x7fffffff) {
    ts = (guint32) expect;
    g_assert_true (rtmfp_flv_tag_append (a, 8, ts, (const guint8 *) "\xb2",
            1));
  }
  rtmfp_flv_iter_init (&it, a->data, a->len);
  for (i = 0, expect = 5000; i < 12; i++, expect += 0x7fffffff) {
    guint64 out;
    g_assert_cmpint (rtmfp_flv_iter_next (&it, &tag, NULL, NULL), ==,
        RTMFP_FLV_ITER_TAG);
    out = rtmfp_flv_ts_unwrapper_unwrap (&u, tag.timestamp);
    g_assert_cmpuint (out, ==, expect);
    g_assert_cmpuint (out, >, prev);
    prev = out;
  }
  g_assert_cmpuint (prev, >, G_GUINT64_CONSTANT (5) << 32);
  g_byte_array_unref (a);
}

static void
test_script (void)
{
  RtmfpAmfNode *meta = rtmfp_amf_node_new_ecma_array ();
  GByteArray *p = g_byte_array_new (), *sdf;
  RtmfpAmfNode *name = rtmfp_amf_node_new_string ("onMetaData", -1);
  gsize off;

  rtmfp_amf_node_append_field_number (meta, "duration", 0);
  rtmfp_amf_node_append_field_number (meta, "audiocodecid", 11);
  rtmfp_amf_node_serialize (name, p);
  rtmfp_amf_node_serialize (meta, p);

  g_assert_cmpint (rtmfp_flv_script_classify (p->data, p->len), ==,
      RTMFP_FLV_SCRIPT_ON_METADATA);
  g_assert_true (rtmfp_flv_script_is_metadata (p->data, p->len));
  g_assert_cmpuint (rtmfp_flv_script_skip_set_data_frame (p->data, p->len),
      ==, 0);

  sdf = rtmfp_flv_script_prepend_set_data_frame (p->data, p->len);
  g_assert_cmpmem (sdf->data, 16, "\x02\x00\x0d" "@setDataFrame", 16);
  g_assert_cmpuint (sdf->len, ==, 16 + p->len);
  g_assert_cmpint (rtmfp_flv_script_classify (sdf->data, sdf->len), ==,
      RTMFP_FLV_SCRIPT_SET_DATA_FRAME);
  g_assert_true (rtmfp_flv_script_is_metadata (sdf->data, sdf->len));
  off = rtmfp_flv_script_skip_set_data_frame (sdf->data, sdf->len);
  g_assert_cmpuint (off, ==, 16);
  g_assert_cmpmem (sdf->data + off, sdf->len - off, p->data, p->len);
  /* and the whole thing is a valid AMF0 value list */
  {
    GPtrArray *v = rtmfp_amf_parse_values (sdf->data, sdf->len);
    g_assert_nonnull (v);
    g_assert_cmpuint (v->len, ==, 3);
    g_assert_true (rtmfp_amf_node_equal (v->pdata[2], meta));
    g_ptr_array_unref (v);
  }
  g_byte_array_unref (sdf);

  g_assert_cmpint (rtmfp_flv_script_classify (LIT ("\x02\x00\x0a"
              "onCuePoint" "\x05")), ==, RTMFP_FLV_SCRIPT_OTHER);
  g_assert_false (rtmfp_flv_script_is_metadata (LIT ("\x02\x00\x0a"
              "onCuePoint")));
  g_assert_false (rtmfp_flv_script_is_metadata (LIT ("\x02\x00\x0d"
              "@setDataFrame" "\x02\x00\x0a" "onCuePoint")));
  g_assert_cmpint (rtmfp_flv_script_classify (LIT ("\x02\x00\x0b"
              "onMetaData")), ==, RTMFP_FLV_SCRIPT_INVALID);
  g_assert_cmpint (rtmfp_flv_script_classify (LIT ("\x03\x00\x00\x09")), ==,
      RTMFP_FLV_SCRIPT_INVALID);
  g_assert_cmpint (rtmfp_flv_script_classify (NULL, 0), ==,
      RTMFP_FLV_SCRIPT_INVALID);
  g_assert_false (rtmfp_flv_script_is_metadata (LIT ("\x02\x00\x0d"
              "@setDataFrame")));

  rtmfp_amf_node_free (name);
  rtmfp_amf_node_free (meta);
  g_byte_array_unref (p);
}

static void
drop_log (const gchar * domain, GLogLevelFlags level, const gchar * msg,
    gpointer user_data)
{
}

/* Random bytes through every parser: no crash, results stay in bounds. */
static void
test_random_garbage (void)
{
  GRand *rand = g_rand_new_with_seed (0x666c7621);
  guint8 buf[80];
  guint iter, tags = 0;
  /* the iterator logs every refusal at debug level: too much here */
  guint handler = g_log_set_handler ("rtmfp-flvtag", G_LOG_LEVEL_DEBUG,
      drop_log, NULL);

  for (iter = 0; iter < 20000; iter++) {
    gsize len = g_rand_int_range (rand, 0, sizeof buf + 1), i;
    RtmfpFlvIter it;
    RtmfpFlvTag tag;
    const guint8 *payload;
    gsize offset;
    RtmfpFlvAudioInfo ai;
    RtmfpFlvVideoInfo vi;
    const gchar *reason;
    guint guard = 0;

    if (g_rand_boolean (rand)) {
      /* valid tags with random payloads, then mutated and cut */
      GByteArray *a = g_byte_array_new ();
      guint flips = g_rand_int_range (rand, 0, 3), k;

      if (g_rand_boolean (rand))
        rtmfp_flv_header_append (a, TRUE, TRUE);
      while (a->len < sizeof buf) {
        guint8 pl[12];
        gsize pl_len = g_rand_int_range (rand, 0, sizeof pl + 1);
        static const guint8 types[] = { 8, 9, 18 };
        for (i = 0; i < pl_len; i++)
          pl[i] = g_rand_int_range (rand, 0, 256);
        rtmfp_flv_tag_append (a, types[g_rand_int_range (rand, 0, 3)],
            g_rand_int (rand), pl, pl_len);
      }
      len = MIN (len, a->len);
      memcpy (buf, a->data, len);
      for (k = 0; k < flips && len > 0; k++)
        buf[g_rand_int_range (rand, 0, len)] = g_rand_int_range (rand, 0, 256);
      g_byte_array_unref (a);
    } else {
      for (i = 0; i < len; i++)
        buf[i] = g_rand_int_range (rand, 0, 256);
      if (len >= 3 && g_rand_boolean (rand))
        memcpy (buf, "FLV", 3);
    }

    rtmfp_flv_iter_init (&it, buf, len);
    while (rtmfp_flv_iter_next (&it, &tag, &payload, &offset) ==
        RTMFP_FLV_ITER_TAG) {
      g_assert_cmpuint (offset + tag.total_size, <=, len);
      g_assert_true (payload + tag.data_size <= buf + len);
      g_assert_cmpuint (++guard, <=, len);
      tags++;
      (void) rtmfp_flv_audio_parse (payload, tag.data_size, &ai);
      (void) rtmfp_flv_video_parse (payload, tag.data_size, &vi);
      (void) rtmfp_flv_audio_codec_supported (payload, tag.data_size, &reason);
      (void) rtmfp_flv_video_codec_supported (payload, tag.data_size, &reason);
      (void) rtmfp_flv_script_is_metadata (payload, tag.data_size);
    }
    g_assert_cmpuint (rtmfp_flv_iter_position (&it), <=, len);
    (void) rtmfp_flv_header_parse (buf, len, NULL, NULL);
    (void) rtmfp_flv_script_classify (buf, len);
    (void) rtmfp_flv_script_skip_set_data_frame (buf, len);
  }
  /* the generator does reach the tag paths */
  g_assert_cmpuint (tags, >, 1000);
  g_log_remove_handler ("rtmfp-flvtag", handler);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flvtag/file-header", test_file_header);
  g_test_add_func ("/flvtag/tag-build-parse", test_tag_build_parse);
  g_test_add_func ("/flvtag/audio", test_audio);
  g_test_add_func ("/flvtag/video", test_video);
  g_test_add_func ("/flvtag/codec-policy", test_codec_policy);
  g_test_add_func ("/flvtag/iterator", test_iterator);
  g_test_add_func ("/flvtag/rollover", test_rollover);
  g_test_add_func ("/flvtag/script", test_script);
  g_test_add_func ("/flvtag/random-garbage", test_random_garbage);

  return g_test_run ();
}
