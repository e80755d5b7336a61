/* GStreamer RTMFP: elementary streams <-> FLV tag bodies.
 *
 * RTMFP carries each medium on its own flow as RTMP messages whose
 * payloads are FLV tag bodies (RFC 7425 5.1).  This maps GStreamer caps
 * and buffers to them and back, exactly as flvmux and flvdemux do (so a
 * stream published with either path plays with either):
 *
 *   video/x-h264 (avc, au)   codec 7: 0x17/0x27, AVCPacketType, CTS, NALUs;
 *                            codec_data = the AVC sequence header body
 *   video/x-vp6-flash        codec 4: tag byte, adjustment byte, frame
 *   video/x-vp6-alpha        codec 5: tag byte, adjustment byte, alpha
 *                            offset + frame + alpha (flvdemux keeps the
 *                            offset in the buffer)
 *   audio/x-speex 16k mono   0xb2 + one Speex packet (FLV Speex has no
 *                            header packets; the source builds the
 *                            streamheader speexdec wants, as flvdemux)
 *   audio/mpeg 4 raw (AAC)   0xaf, AACPacketType, frame; codec_data = the
 *                            AAC sequence header body
 *   audio/x-nellymoser       format 4 (16 kHz mono), 5 (8 kHz mono) or 6
 *
 * Used by rtmfpsink / rtmfpsrc and by the fallback bins (their RTMP side
 * writes FLV from the same bodies).  No state, no threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Pad template caps: what the sink takes (the first structures are the
 * carried formats; the others are listed so that a pipeline linking them
 * gets a clear error at caps time naming the codec and what to use) */
#define GST_RTMFP_MEDIA_VIDEO_CAPS \
  "video/x-h264, stream-format = (string) avc, alignment = (string) au; " \
  "video/x-vp6-flash; video/x-vp6-alpha; " \
  "video/x-h264; video/x-raw(ANY); video/x-h265; video/x-vp8; " \
  "video/x-vp9; video/x-av1; video/mpeg; video/x-theora; image/jpeg"
#define GST_RTMFP_MEDIA_AUDIO_CAPS \
  "audio/x-speex; " \
  "audio/mpeg, mpegversion = (int) 4, stream-format = (string) raw; " \
  "audio/x-nellymoser; " \
  "audio/mpeg; audio/x-raw(ANY); audio/x-opus; audio/x-vorbis; " \
  "audio/x-alaw; audio/x-mulaw; audio/x-flac; audio/x-ac3"
/* What the source's elementary pads give (flvdemux's caps for them) */
#define GST_RTMFP_MEDIA_SRC_VIDEO_CAPS \
  "video/x-h264, stream-format = (string) avc, alignment = (string) au; " \
  "video/x-vp6-flash; video/x-vp6-alpha"
#define GST_RTMFP_MEDIA_SRC_AUDIO_CAPS \
  "audio/x-speex, rate = (int) 16000, channels = (int) 1; " \
  "audio/mpeg, mpegversion = (int) 4, stream-format = (string) raw, " \
  "framed = (boolean) true; audio/x-nellymoser"

/* One elementary stream as FLV carries it */
typedef struct {
  gboolean video;
  guint codec;                  /* FLV video codec ID or sound format */
  guint8 tag_byte;              /* audio: the whole first byte */
  GBytes *sequence_header;      /* AVC / AAC sequence header body, or NULL */
  /* for onMetaData */
  gint width, height;
  gint fps_n, fps_d;
  gint rate, channels;
  const gchar *codec_name;      /* for messages */
} GstRtmfpMediaFormat;

void      gst_rtmfp_media_format_clear (GstRtmfpMediaFormat * fmt);

/* The format of caps, or FALSE and *reason (newly allocated, for the
 * user: names the codec and what to use) for caps RTMFP does not carry. */
gboolean  gst_rtmfp_media_format_from_caps (const GstCaps * caps,
    gboolean video, GstRtmfpMediaFormat * fmt, gchar ** reason);

/* The tag body of one buffer (a copy: the tag header, then the data).
 * cts_ms: composition time offset (AVC), keyframe from the buffer flags. */
GBytes   *gst_rtmfp_media_tag_body (const GstRtmfpMediaFormat * fmt,
    GstBuffer * buf, gint32 cts_ms);
/* AVC end of sequence (what flvmux writes at EOS), or NULL */
GBytes   *gst_rtmfp_media_end_of_sequence (const GstRtmfpMediaFormat * fmt);

/* onMetaData (script tag body: "onMetaData", ECMA array) describing the
 * streams present (either format may be NULL).  has_video / has_audio:
 * the publisher has that input even if its format is not known yet;
 * "hasVideo" and "hasAudio" say so, so that a player does not take an
 * early onMetaData (sent before the encoder of the other medium
 * negotiated) for a stream without that medium. */
GBytes   *gst_rtmfp_media_metadata (const GstRtmfpMediaFormat * video,
    const GstRtmfpMediaFormat * audio, gboolean has_video,
    gboolean has_audio);

/* ---- the source side ---- */

/* What onMetaData says about the video (0 where it does not), and which
 * media the stream has: 1 yes, 0 no, -1 it does not say ("hasVideo" /
 * "hasAudio" first, else the presence of "videocodecid" / "audiocodecid"
 * in a metadata that describes media) */
typedef struct {
  gint width, height;
  gdouble framerate;
  gint has_video, has_audio;
} GstRtmfpMediaInfo;

void      gst_rtmfp_media_info_from_metadata (const guint8 * payload,
    gsize len, GstRtmfpMediaInfo * info);

/* Caps for an elementary pad from a media tag body (and the sequence
 * header body for AVC / AAC), or NULL if the codec is not one we give out
 * (or the sequence header is missing). */
GstCaps  *gst_rtmfp_media_caps_for_video (const guint8 * payload, gsize len,
    GBytes * sequence_header, const GstRtmfpMediaInfo * info);
GstCaps  *gst_rtmfp_media_caps_for_audio (const guint8 * payload, gsize len,
    GBytes * sequence_header);
/* Bytes of FLV framing before the elementary data of a tag body (0 if the
 * body has no data after its framing) */
gsize     gst_rtmfp_media_data_offset (guint8 type, const guint8 * payload,
    gsize len);
/* Speex frames are 20 ms (320 samples at 16 kHz): duration of one tag of
 * this audio format, or GST_CLOCK_TIME_NONE if it varies */
GstClockTime gst_rtmfp_media_audio_frame_duration (const guint8 * payload,
    gsize len);

G_END_DECLS
