/* RTMFP core: FLV file header and tags, the video/x-flv side of the Flash
 * TC profile (RFC 7425 section 5.1: an FLV tag payload is the payload of
 * an RTMP message of the same type: 8 audio, 9 video, 18 data).
 * Reference: Adobe Flash Video File Format Specification v10.1, annex E.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 'F' 'L' 'V' version(1) flags(1) data offset(u32 = 9) */
#define RTMFP_FLV_HEADER_SIZE 9
/* header + PreviousTagSize0 (u32 0): what flvmux writes first */
#define RTMFP_FLV_FILE_HEADER_SIZE 13
/* type(1) data size(u24) timestamp(u24) timestamp ext(1) stream id(u24) */
#define RTMFP_FLV_TAG_HEADER_SIZE 11
/* PreviousTagSize (u32) after each tag = 11 + data size */
#define RTMFP_FLV_TAG_TRAILER_SIZE 4
#define RTMFP_FLV_MAX_DATA_SIZE 0xffffff

#define RTMFP_FLV_FLAG_VIDEO 0x01
#define RTMFP_FLV_FLAG_AUDIO 0x04

typedef enum {
  RTMFP_FLV_TAG_TYPE_AUDIO = 8,
  RTMFP_FLV_TAG_TYPE_VIDEO = 9,
  RTMFP_FLV_TAG_TYPE_SCRIPT = 18,
} RtmfpFlvTagType;

/* --- File header --------------------------------------------------------- */

/* Writes the 13-byte file header (flags from has_audio/has_video, offset
 * 9, PreviousTagSize0 = 0). */
void      rtmfp_flv_header_write (guint8 out[RTMFP_FLV_FILE_HEADER_SIZE],
    gboolean has_audio, gboolean has_video);
void      rtmfp_flv_header_append (GByteArray * out, gboolean has_audio,
    gboolean has_video);
/* data starts with "FLV" (a tag type byte never does) */
gboolean  rtmfp_flv_is_header (const guint8 * data, gsize size);
/* Parses a file header: "FLV", version 1 or later, data offset 9..4096,
 * then PreviousTagSize0 (value not checked).  *consumed = data offset + 4.  FALSE if not a
 * header or truncated.  flags/consumed are optional. */
gboolean  rtmfp_flv_header_parse (const guint8 * data, gsize size,
    guint8 * flags, gsize * consumed);

/* --- Tags ----------------------------------------------------------------- */

typedef struct {
  guint8 type;                  /* RtmfpFlvTagType, or an unknown value */
  gboolean filtered;            /* Filter bit (0x20): encrypted payload */
  guint32 data_size;            /* payload bytes */
  guint32 timestamp;            /* ms: 24 bits + 8 extended (upper) bits */
  guint32 stream_id;            /* always 0 in FLV files */
  gsize total_size;             /* 11 + data_size + 4 */
} RtmfpFlvTag;

/* Parses the 11-byte tag header at data (the payload need not be there
 * yet).  FALSE if size < 11 or the reserved bits (0xc0) of the type byte
 * are set. */
gboolean  rtmfp_flv_tag_parse_header (const guint8 * data, gsize size,
    RtmfpFlvTag * tag);
/* Parses a complete tag: header, payload and PreviousTagSize must all be
 * within size.  payload (optional) points into data.  The PreviousTagSize
 * value is not checked (flvdemux ignores it too). */
gboolean  rtmfp_flv_tag_parse (const guint8 * data, gsize size,
    RtmfpFlvTag * tag, const guint8 ** payload);

/* Writes an 11-byte tag header; FALSE (nothing written) if data_size >
 * RTMFP_FLV_MAX_DATA_SIZE or stream_id > 0xffffff. */
gboolean  rtmfp_flv_tag_write_header (guint8 out[RTMFP_FLV_TAG_HEADER_SIZE],
    guint8 type, guint32 data_size, guint32 timestamp, guint32 stream_id);
/* Writes the 4-byte PreviousTagSize for a tag of data_size payload bytes. */
void      rtmfp_flv_tag_write_trailer (guint8
    out[RTMFP_FLV_TAG_TRAILER_SIZE], guint32 data_size);
/* Appends a whole tag (stream id 0).  FALSE (nothing appended) if size >
 * RTMFP_FLV_MAX_DATA_SIZE. */
gboolean  rtmfp_flv_tag_append (GByteArray * out, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize size);
/* Writes a whole tag (stream id 0) into out; returns the bytes written
 * (11 + size + 4) or 0 if out_size is too small or size too large. */
gsize     rtmfp_flv_tag_write (guint8 * out, gsize out_size, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize size);

/* --- Iterating over concatenated tags (what flvmux pushes) ---------------- */

typedef enum {
  RTMFP_FLV_ITER_TAG,           /* a complete tag was returned */
  RTMFP_FLV_ITER_END,           /* no complete tag left; see remaining */
  RTMFP_FLV_ITER_ERROR,         /* malformed header / tag: stop */
} RtmfpFlvIterResult;

typedef struct {
  const guint8 *data;
  gsize size;
  gsize pos;
  gboolean had_header;          /* a file header was skipped */
  guint8 header_flags;          /* its flags byte */
  gboolean failed;
} RtmfpFlvIter;

void      rtmfp_flv_iter_init (RtmfpFlvIter * iter, const guint8 * data,
    gsize size);
/* Returns the next tag.  A file header at the very start is skipped
 * (had_header, header_flags).  Tags of unknown type are returned too.
 * *offset (optional) is the tag's offset in data; payload points into
 * data.  After END, rtmfp_flv_iter_remaining() tells how many bytes of a
 * partial tag (or header) are left at rtmfp_flv_iter_position(). */
RtmfpFlvIterResult rtmfp_flv_iter_next (RtmfpFlvIter * iter,
    RtmfpFlvTag * tag, const guint8 ** payload, gsize * offset);
gsize     rtmfp_flv_iter_position (const RtmfpFlvIter * iter);
gsize     rtmfp_flv_iter_remaining (const RtmfpFlvIter * iter);

/* --- Audio tags (first payload byte: SoundFormat(4) SoundRate(2)
 *     SoundSize(1) SoundType(1)) ------------------------------------------ */

typedef enum {
  RTMFP_FLV_SOUND_PCM = 0,      /* platform endian */
  RTMFP_FLV_SOUND_ADPCM = 1,
  RTMFP_FLV_SOUND_MP3 = 2,
  RTMFP_FLV_SOUND_PCM_LE = 3,
  RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO = 4,
  RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO = 5,
  RTMFP_FLV_SOUND_NELLYMOSER = 6,
  RTMFP_FLV_SOUND_G711_ALAW = 7,
  RTMFP_FLV_SOUND_G711_MULAW = 8,
  RTMFP_FLV_SOUND_RESERVED = 9,
  RTMFP_FLV_SOUND_AAC = 10,
  RTMFP_FLV_SOUND_SPEEX = 11,
  RTMFP_FLV_SOUND_MP3_8K = 14,
  RTMFP_FLV_SOUND_DEVICE_SPECIFIC = 15,
} RtmfpFlvSoundFormat;

/* The one tag byte FLV allows for Speex: format 11, rate bits 0, 16-bit,
 * mono; the audio is always 16 kHz mono. */
#define RTMFP_FLV_SPEEX_TAG_BYTE 0xb2

typedef struct {
  RtmfpFlvSoundFormat format;
  guint rate_index;             /* raw SoundRate bits 0..3 */
  guint rate;                   /* Hz, with the codec-implied rates applied:
                                 * Speex 16000, Nellymoser 16k/8k, MP3 8k,
                                 * G.711 8000 */
  guint bits;                   /* 8 or 16 */
  guint channels;               /* 1 or 2 (Speex/Nellymoser 4,5: 1) */
  gint aac_packet_type;         /* AAC: 0 sequence header, 1 raw; else -1 */
  gsize header_size;            /* bytes before codec data (1, AAC 2) */
} RtmfpFlvAudioInfo;

/* FALSE if empty, or AAC without its packet type byte. */
gboolean  rtmfp_flv_audio_parse (const guint8 * payload, gsize size,
    RtmfpFlvAudioInfo * info);
/* AAC AudioSpecificConfig (AACPacketType 0). */
gboolean  rtmfp_flv_audio_is_sequence_header (const guint8 * payload,
    gsize size);
const gchar *rtmfp_flv_sound_format_get_name (RtmfpFlvSoundFormat format);

/* --- Video tags (first payload byte: FrameType(4) CodecID(4)) ------------ */

typedef enum {
  RTMFP_FLV_FRAME_KEY = 1,
  RTMFP_FLV_FRAME_INTER = 2,
  RTMFP_FLV_FRAME_DISPOSABLE_INTER = 3, /* H.263 only */
  RTMFP_FLV_FRAME_GENERATED_KEY = 4,
  RTMFP_FLV_FRAME_INFO = 5,     /* video info / command frame */
} RtmfpFlvFrameType;

typedef enum {
  RTMFP_FLV_VIDEO_JPEG = 1,
  RTMFP_FLV_VIDEO_H263 = 2,     /* Sorenson H.263 */
  RTMFP_FLV_VIDEO_SCREEN = 3,
  RTMFP_FLV_VIDEO_VP6 = 4,
  RTMFP_FLV_VIDEO_VP6_ALPHA = 5,
  RTMFP_FLV_VIDEO_SCREEN2 = 6,
  RTMFP_FLV_VIDEO_AVC = 7,
} RtmfpFlvVideoCodec;

typedef enum {
  RTMFP_FLV_AVC_SEQUENCE_HEADER = 0,
  RTMFP_FLV_AVC_NALU = 1,
  RTMFP_FLV_AVC_END_OF_SEQUENCE = 2,
} RtmfpFlvAvcPacketType;

typedef struct {
  guint frame_type;             /* RtmfpFlvFrameType (raw 4 bits) */
  guint codec;                  /* RtmfpFlvVideoCodec (raw 4 bits) */
  gboolean ex_header;           /* bit 7: "enhanced RTMP" FourCC header,
                                 * the rest of this struct is not valid */
  gboolean is_keyframe;         /* frame type 1 or 4 */
  gint avc_packet_type;         /* AVC only, else -1 */
  gint32 composition_time;      /* AVC: signed 24-bit ms, else 0 */
  gsize header_size;            /* bytes before codec data: AVC 5, VP6 2,
                                 * VP6 alpha 5, others 1 */
} RtmfpFlvVideoInfo;

/* FALSE if empty or shorter than header_size for the codec. */
gboolean  rtmfp_flv_video_parse (const guint8 * payload, gsize size,
    RtmfpFlvVideoInfo * info);
gboolean  rtmfp_flv_video_is_keyframe (const guint8 * payload, gsize size);
/* AVC decoder configuration record (AVCPacketType 0). */
gboolean  rtmfp_flv_video_is_sequence_header (const guint8 * payload,
    gsize size);
const gchar *rtmfp_flv_video_codec_get_name (guint codec);

/* --- Codec policy (DESIGN.md "Media mapping") ----------------------------
 * Audio: Speex (only as 0xb2: 16 kHz mono, the FLV rule), plus AAC and
 * Nellymoser as a bonus.  Video: AVC, VP6, VP6 alpha.  Anything else is
 * refused; *reason (optional) then gets a static, human-readable
 * explanation.  An empty payload is refused too. */
gboolean  rtmfp_flv_audio_codec_supported (const guint8 * payload,
    gsize size, const gchar ** reason);
gboolean  rtmfp_flv_video_codec_supported (const guint8 * payload,
    gsize size, const gchar ** reason);

/* --- Script data tags ------------------------------------------------------ */

typedef enum {
  RTMFP_FLV_SCRIPT_INVALID,     /* does not start with an AMF0 string */
  RTMFP_FLV_SCRIPT_OTHER,       /* some other handler name */
  RTMFP_FLV_SCRIPT_ON_METADATA, /* "onMetaData", ... (what flvmux writes) */
  RTMFP_FLV_SCRIPT_SET_DATA_FRAME,      /* "@setDataFrame", name, ... */
} RtmfpFlvScriptKind;

RtmfpFlvScriptKind rtmfp_flv_script_classify (const guint8 * payload,
    gsize size);
/* "@setDataFrame", "onMetaData", ...: TRUE for onMetaData either way. */
gboolean  rtmfp_flv_script_is_metadata (const guint8 * payload, gsize size);
/* The RTMP publish form of a data frame: "@setDataFrame" + payload (as
 * rtmp2sink does for onMetaData).  Returns a new array. */
GByteArray *rtmfp_flv_script_prepend_set_data_frame (const guint8 * payload,
    gsize size);
/* Offset of the data after a leading "@setDataFrame" string (0 if there is
 * none): what a server stores and plays out as the data frame. */
gsize     rtmfp_flv_script_skip_set_data_frame (const guint8 * payload,
    gsize size);

/* --- Timestamps ------------------------------------------------------------ */

/* Turns 32-bit millisecond timestamps into 64-bit ones across rollovers.
 * It starts from the first timestamp seen (as rtmp2sink since 2024): the
 * first result equals it, each later one moves by the signed 32-bit
 * difference to the previous input (so small backward steps, e.g. from
 * B-frames, are kept as such).  Results never go below 0. */
typedef struct {
  gboolean started;
  guint32 last;
  gint64 last_out;              /* unclamped */
} RtmfpFlvTsUnwrapper;

void      rtmfp_flv_ts_unwrapper_init (RtmfpFlvTsUnwrapper * u);
guint64   rtmfp_flv_ts_unwrapper_unwrap (RtmfpFlvTsUnwrapper * u,
    guint32 timestamp);

G_END_DECLS
