/* GStreamer RTMFP: elementary streams <-> FLV tag bodies (see
 * gstrtmfpmedia.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/base/gstbytewriter.h>
#include <gst/pbutils/pbutils.h>
#include <gst/tag/tag.h>

#include "gstrtmfpmedia.h"

#include <glib/gi18n-lib.h>
#include "flvtag.h"
#include "amf0.h"

void
gst_rtmfp_media_format_clear (GstRtmfpMediaFormat * fmt)
{
  if (fmt->sequence_header)
    g_bytes_unref (fmt->sequence_header);
  memset (fmt, 0, sizeof *fmt);
}

static gchar *
codec_description (const GstCaps * caps)
{
  gchar *d = gst_pb_utils_get_codec_description (caps);

  if (!d)
    d = g_strdup (gst_structure_get_name (gst_caps_get_structure (caps, 0)));
  return d;
}

/* A sequence header body: the FLV framing, then codec_data */
static GBytes *
sequence_header (const guint8 * framing, gsize flen, const GValue * cd)
{
  GstBuffer *buf = gst_value_get_buffer (cd);
  GByteArray *b = g_byte_array_new ();
  GstMapInfo map;

  g_byte_array_append (b, framing, flen);
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_byte_array_append (b, map.data, map.size);
    gst_buffer_unmap (buf, &map);
  }
  return g_byte_array_free_to_bytes (b);
}

static gboolean
video_format (const GstStructure * s, const GstCaps * caps,
    GstRtmfpMediaFormat * fmt, gchar ** reason)
{
  const gchar *name = gst_structure_get_name (s);

  if (g_str_equal (name, "video/x-h264")) {
    const gchar *sf = gst_structure_get_string (s, "stream-format");
    const gchar *al = gst_structure_get_string (s, "alignment");
    const GValue *cd = gst_structure_get_value (s, "codec_data");
    static const guint8 framing[] = { 0x17, 0x00, 0, 0, 0 };

    if (!sf || !g_str_equal (sf, "avc") || (al && !g_str_equal (al, "au"))) {
      *reason = g_strdup_printf (_("H.264 with stream-format=%s and "
          "alignment=%s cannot be sent: RTMFP carries H.264 in its avc form, "
          "one access unit per buffer; put h264parse before rtmfpsink."),
          sf ? sf : "(none)", al ? al : "(none)");
      return FALSE;
    }
    if (!cd || !GST_VALUE_HOLDS_BUFFER (cd)) {
      *reason = g_strdup (_("H.264 without codec_data (SPS and PPS) "
          "cannot be sent: put h264parse before rtmfpsink."));
      return FALSE;
    }
    fmt->codec = RTMFP_FLV_VIDEO_AVC;
    fmt->codec_name = "H.264";
    fmt->sequence_header = sequence_header (framing, sizeof framing, cd);
  } else if (g_str_equal (name, "video/x-vp6-flash")) {
    fmt->codec = RTMFP_FLV_VIDEO_VP6;
    fmt->codec_name = "VP6";
  } else if (g_str_equal (name, "video/x-vp6-alpha")) {
    fmt->codec = RTMFP_FLV_VIDEO_VP6_ALPHA;
    fmt->codec_name = "VP6 alpha";
  } else {
    gchar *d = codec_description (caps);
    *reason = g_strdup_printf (_("Video \"%s\" is not carried over RTMFP: "
        "encode it as H.264 (x264enc ! h264parse) or VP6."), d);
    g_free (d);
    return FALSE;
  }
  gst_structure_get_int (s, "width", &fmt->width);
  gst_structure_get_int (s, "height", &fmt->height);
  gst_structure_get_fraction (s, "framerate", &fmt->fps_n, &fmt->fps_d);
  return TRUE;
}

/* The SoundRate bits for a rate, or -1 */
static gint
rate_index (gint rate)
{
  switch (rate) {
    case 5512:
    case 5500:
      return 0;
    case 11025:
      return 1;
    case 22050:
      return 2;
    case 44100:
      return 3;
    default:
      return -1;
  }
}

static gboolean
audio_format (const GstStructure * s, const GstCaps * caps,
    GstRtmfpMediaFormat * fmt, gchar ** reason)
{
  const gchar *name = gst_structure_get_name (s);
  gint rate = 0, channels = 0, version = 0;

  gst_structure_get_int (s, "rate", &rate);
  gst_structure_get_int (s, "channels", &channels);
  fmt->rate = rate;
  fmt->channels = channels;

  if (g_str_equal (name, "audio/x-speex")) {
    if (rate != 16000 || channels != 1) {
      *reason = g_strdup_printf (_("Speex at %d Hz with %d channel(s) cannot "
          "be sent: FLV carries Speex at 16 kHz mono only; put audioresample "
          "! audioconvert ! audio/x-raw,rate=16000,channels=1 before "
          "speexenc."), rate, channels);
      return FALSE;
    }
    fmt->codec = RTMFP_FLV_SOUND_SPEEX;
    fmt->codec_name = "Speex";
    fmt->tag_byte = RTMFP_FLV_SPEEX_TAG_BYTE;
    return TRUE;
  }
  if (g_str_equal (name, "audio/mpeg")) {
    const gchar *sf = gst_structure_get_string (s, "stream-format");
    const GValue *cd = gst_structure_get_value (s, "codec_data");
    static const guint8 framing[] = { 0xaf, 0x00 };

    gst_structure_get_int (s, "mpegversion", &version);
    if (version == 1) {
      *reason = g_strdup (_("MP3 is not carried over RTMFP: use Speex "
          "(speexenc, 16 kHz mono) or AAC (avenc_aac)."));
      return FALSE;
    }
    if (!sf || !g_str_equal (sf, "raw")) {
      *reason = g_strdup_printf (_("AAC with stream-format=%s cannot be "
              "sent: RTMFP carries raw AAC with its codec_data; put aacparse "
              "before rtmfpsink."), sf ? sf : "(none)");
      return FALSE;
    }
    if (!cd || !GST_VALUE_HOLDS_BUFFER (cd)) {
      *reason = g_strdup (_("AAC without codec_data cannot be sent: put "
              "aacparse before rtmfpsink."));
      return FALSE;
    }
    fmt->codec = RTMFP_FLV_SOUND_AAC;
    fmt->codec_name = "AAC";
    /* always 44 kHz stereo in the tag byte (the spec's rule for AAC) */
    fmt->tag_byte = 0xaf;
    fmt->sequence_header = sequence_header (framing, sizeof framing, cd);
    return TRUE;
  }
  if (g_str_equal (name, "audio/x-nellymoser")) {
    gint idx = rate_index (rate);

    fmt->codec_name = "Nellymoser";
    if (rate == 16000 && channels == 1) {
      fmt->codec = RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO;
      fmt->tag_byte = (4 << 4) | 0x02;
    } else if (rate == 8000 && channels == 1) {
      fmt->codec = RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO;
      fmt->tag_byte = (5 << 4) | 0x02;
    } else if (idx >= 0 && (channels == 1 || channels == 2)) {
      fmt->codec = RTMFP_FLV_SOUND_NELLYMOSER;
      fmt->tag_byte = (6 << 4) | (idx << 2) | 0x02 | (channels == 2);
    } else {
      *reason = g_strdup_printf (_("Nellymoser at %d Hz with %d channel(s) "
          "cannot be sent: FLV has 5512, 8000, 11025, 16000, 22050 or "
          "44100 Hz."), rate, channels);
      return FALSE;
    }
    return TRUE;
  }
  {
    gchar *d = codec_description (caps);
    *reason = g_strdup_printf (_("Audio \"%s\" is not carried over RTMFP: use "
        "Speex (audioresample ! audio/x-raw,rate=16000,channels=1 ! "
        "speexenc), AAC (avenc_aac) or Nellymoser."), d);
    g_free (d);
    return FALSE;
  }
}

gboolean
gst_rtmfp_media_format_from_caps (const GstCaps * caps, gboolean video,
    GstRtmfpMediaFormat * fmt, gchar ** reason)
{
  const GstStructure *s;
  gchar *why = NULL;
  gboolean ok;

  g_return_val_if_fail (caps && fmt, FALSE);

  memset (fmt, 0, sizeof *fmt);
  fmt->video = video;
  if (!gst_caps_is_fixed (caps)) {
    if (reason)
      *reason = g_strdup (_("The caps are not fixed."));
    return FALSE;
  }
  s = gst_caps_get_structure (caps, 0);
  ok = video ? video_format (s, caps, fmt, &why) :
      audio_format (s, caps, fmt, &why);
  if (!ok) {
    gst_rtmfp_media_format_clear (fmt);
    if (reason)
      *reason = why;
    else
      g_free (why);
  }
  return ok;
}

GBytes *
gst_rtmfp_media_tag_body (const GstRtmfpMediaFormat * fmt, GstBuffer * buf,
    gint32 cts_ms)
{
  gboolean key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gsize size = gst_buffer_get_size (buf);
  guint8 hdr[5];
  gsize hlen;
  guint8 *out;

  if (fmt->video) {
    hdr[0] = ((key ? RTMFP_FLV_FRAME_KEY : RTMFP_FLV_FRAME_INTER) << 4) |
        fmt->codec;
    if (fmt->codec == RTMFP_FLV_VIDEO_AVC) {
      hdr[1] = RTMFP_FLV_AVC_NALU;
      hdr[2] = (cts_ms >> 16) & 0xff;
      hdr[3] = (cts_ms >> 8) & 0xff;
      hdr[4] = cts_ms & 0xff;
      hlen = 5;
    } else {
      hdr[1] = 0;               /* VP6: no crop adjustment */
      hlen = 2;
    }
  } else {
    hdr[0] = fmt->tag_byte;
    hdr[1] = 1;                 /* AAC raw */
    hlen = fmt->codec == RTMFP_FLV_SOUND_AAC ? 2 : 1;
  }
  out = g_malloc (hlen + size);
  memcpy (out, hdr, hlen);
  gst_buffer_extract (buf, 0, out + hlen, size);
  return g_bytes_new_take (out, hlen + size);
}

GBytes *
gst_rtmfp_media_end_of_sequence (const GstRtmfpMediaFormat * fmt)
{
  static const guint8 eos[] = { 0x17, RTMFP_FLV_AVC_END_OF_SEQUENCE, 0, 0,
    0
  };

  if (!fmt->video || fmt->codec != RTMFP_FLV_VIDEO_AVC)
    return NULL;
  return g_bytes_new_static (eos, sizeof eos);
}

GBytes *
gst_rtmfp_media_metadata (const GstRtmfpMediaFormat * video,
    const GstRtmfpMediaFormat * audio, gboolean has_video, gboolean has_audio)
{
  RtmfpAmfNode *name = rtmfp_amf_node_new_string ("onMetaData", -1);
  RtmfpAmfNode *a = rtmfp_amf_node_new_ecma_array ();
  GByteArray *out = g_byte_array_new ();

  rtmfp_amf_node_append_field_number (a, "duration", 0);
  rtmfp_amf_node_append_field_boolean (a, "hasVideo", has_video || video);
  rtmfp_amf_node_append_field_boolean (a, "hasAudio", has_audio || audio);
  if (video) {
    if (video->width > 0)
      rtmfp_amf_node_append_field_number (a, "width", video->width);
    if (video->height > 0)
      rtmfp_amf_node_append_field_number (a, "height", video->height);
    if (video->fps_n > 0 && video->fps_d > 0)
      rtmfp_amf_node_append_field_number (a, "framerate",
          (gdouble) video->fps_n / video->fps_d);
    rtmfp_amf_node_append_field_number (a, "videocodecid", video->codec);
  }
  if (audio) {
    rtmfp_amf_node_append_field_number (a, "audiocodecid", audio->codec);
    if (audio->rate > 0)
      rtmfp_amf_node_append_field_number (a, "audiosamplerate", audio->rate);
    rtmfp_amf_node_append_field_number (a, "audiosamplesize", 16);
    rtmfp_amf_node_append_field_boolean (a, "stereo", audio->channels == 2);
  }
  rtmfp_amf_node_append_field_string (a, "encoder", "gst-rtmfp " VERSION,
      -1);
  rtmfp_amf_node_serialize (name, out);
  rtmfp_amf_node_serialize (a, out);
  rtmfp_amf_node_free (name);
  rtmfp_amf_node_free (a);
  return g_byte_array_free_to_bytes (out);
}

/* ------------------------------------------------------------------------ */
/* the source side */

void
gst_rtmfp_media_info_from_metadata (const guint8 * p, gsize len,
    GstRtmfpMediaInfo * info)
{
  gsize skip = rtmfp_flv_script_skip_set_data_frame (p, len);
  GPtrArray *values;
  gdouble d;
  gboolean b, vcodec, acodec;
  guint i;

  info->has_video = info->has_audio = -1;
  values = rtmfp_amf_parse_values (p + skip, len - skip);
  if (!values)
    return;
  for (i = 1; i < values->len; i++) {
    const RtmfpAmfNode *n = g_ptr_array_index (values, i);
    RtmfpAmfType t = rtmfp_amf_node_get_type (n);

    if (t != RTMFP_AMF_TYPE_OBJECT && t != RTMFP_AMF_TYPE_ECMA_ARRAY)
      continue;
    /* which media: said outright, or told by the codec IDs of a metadata
     * that describes media (flvmux, FMLE, OBS write no hasVideo) */
    vcodec = rtmfp_amf_node_get_field (n, "videocodecid") != NULL;
    acodec = rtmfp_amf_node_get_field (n, "audiocodecid") != NULL;
    if (rtmfp_amf_node_get_field_boolean (n, "hasVideo", &b))
      info->has_video = b;
    else if (vcodec || acodec)
      info->has_video = vcodec;
    if (rtmfp_amf_node_get_field_boolean (n, "hasAudio", &b))
      info->has_audio = b;
    else if (vcodec || acodec)
      info->has_audio = acodec;
    /* bounded: a hostile publisher's numbers must make sane caps */
    if (rtmfp_amf_node_get_field_number (n, "width", &d) && d >= 1 &&
        d <= 16384)
      info->width = (gint) d;
    if (rtmfp_amf_node_get_field_number (n, "height", &d) && d >= 1 &&
        d <= 16384)
      info->height = (gint) d;
    if (rtmfp_amf_node_get_field_number (n, "framerate", &d) && d > 0 &&
        d <= 1000)
      info->framerate = d;
    break;
  }
  g_ptr_array_unref (values);
}

static GstBuffer *
codec_data_from (GBytes * header, gsize skip)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (header, &len);

  if (len <= skip)
    return NULL;
  return gst_buffer_new_memdup (d + skip, len - skip);
}

GstCaps *
gst_rtmfp_media_caps_for_video (const guint8 * p, gsize len,
    GBytes * sequence_header, const GstRtmfpMediaInfo * info)
{
  GstCaps *caps;

  if (len < 1)
    return NULL;
  switch (p[0] & 0x0f) {
    case RTMFP_FLV_VIDEO_AVC:{
      GstBuffer *cd;
      if (!sequence_header || !(cd = codec_data_from (sequence_header, 5)))
        return NULL;
      caps = gst_caps_new_simple ("video/x-h264", "stream-format",
          G_TYPE_STRING, "avc", "alignment", G_TYPE_STRING, "au",
          "codec_data", GST_TYPE_BUFFER, cd, NULL);
      gst_buffer_unref (cd);
      break;
    }
    case RTMFP_FLV_VIDEO_VP6:
      caps = gst_caps_new_empty_simple ("video/x-vp6-flash");
      break;
    case RTMFP_FLV_VIDEO_VP6_ALPHA:
      caps = gst_caps_new_empty_simple ("video/x-vp6-alpha");
      break;
    default:
      return NULL;
  }
  if (info && info->width > 0 && info->height > 0)
    gst_caps_set_simple (caps, "width", G_TYPE_INT, info->width, "height",
        G_TYPE_INT, info->height, NULL);
  if (info && info->framerate > 0) {
    gint n, d;
    gst_util_double_to_fraction (info->framerate, &n, &d);
    gst_caps_set_simple (caps, "framerate", GST_TYPE_FRACTION, n, d, NULL);
  }
  return caps;
}

/* The Speex header packet for 16 kHz wideband mono, one frame per packet:
 * what FLV Speex always is */
static GstBuffer *
speex_header (void)
{
  GstByteWriter w;
  static const gchar version[20] = "gst-rtmfp";

  gst_byte_writer_init_with_size (&w, 80, TRUE);
  gst_byte_writer_put_data (&w, (const guint8 *) "Speex   ", 8);
  gst_byte_writer_put_data (&w, (const guint8 *) version, 20);
  gst_byte_writer_put_uint32_le (&w, 1);        /* speex_version_id */
  gst_byte_writer_put_uint32_le (&w, 80);       /* header_size */
  gst_byte_writer_put_uint32_le (&w, 16000);    /* rate */
  gst_byte_writer_put_uint32_le (&w, 1);        /* mode: wideband */
  gst_byte_writer_put_uint32_le (&w, 4);        /* mode_bitstream_version */
  gst_byte_writer_put_uint32_le (&w, 1);        /* nb_channels */
  gst_byte_writer_put_int32_le (&w, -1);        /* bitrate */
  gst_byte_writer_put_uint32_le (&w, 320);      /* frame_size */
  gst_byte_writer_put_uint32_le (&w, 0);        /* vbr */
  gst_byte_writer_put_uint32_le (&w, 1);        /* frames_per_packet */
  gst_byte_writer_put_uint32_le (&w, 0);        /* extra_headers */
  gst_byte_writer_put_uint32_le (&w, 0);        /* reserved1 */
  gst_byte_writer_put_uint32_le (&w, 0);        /* reserved2 */
  return gst_byte_writer_reset_and_get_buffer (&w);
}

static GstCaps *
speex_caps (void)
{
  GstCaps *caps = gst_caps_new_simple ("audio/x-speex", "rate", G_TYPE_INT,
      16000, "channels", G_TYPE_INT, 1, NULL);
  GValue sh = G_VALUE_INIT, v = G_VALUE_INIT;
  GstTagList *tags = gst_tag_list_new_empty ();
  GstBuffer *hdr = speex_header ();
  GstBuffer *comment = gst_tag_list_to_vorbiscomment_buffer (tags, NULL, 0,
      "gst-rtmfp");

  GST_BUFFER_FLAG_SET (hdr, GST_BUFFER_FLAG_HEADER);
  GST_BUFFER_FLAG_SET (comment, GST_BUFFER_FLAG_HEADER);
  g_value_init (&sh, GST_TYPE_ARRAY);
  g_value_init (&v, GST_TYPE_BUFFER);
  g_value_take_boxed (&v, hdr);
  gst_value_array_append_value (&sh, &v);
  g_value_unset (&v);
  g_value_init (&v, GST_TYPE_BUFFER);
  g_value_take_boxed (&v, comment);
  gst_value_array_append_value (&sh, &v);
  g_value_unset (&v);
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &sh);
  gst_tag_list_unref (tags);
  return caps;
}

GstCaps *
gst_rtmfp_media_caps_for_audio (const guint8 * p, gsize len,
    GBytes * sequence_header)
{
  RtmfpFlvAudioInfo ai;

  if (!rtmfp_flv_audio_parse (p, len, &ai))
    return NULL;
  switch (ai.format) {
    case RTMFP_FLV_SOUND_SPEEX:
      return speex_caps ();
    case RTMFP_FLV_SOUND_AAC:{
      GstBuffer *cd;
      GstMapInfo map;
      gint rate = 0, channels = 0;
      GstCaps *caps;

      if (!sequence_header || !(cd = codec_data_from (sequence_header, 2)))
        return NULL;
      if (gst_buffer_map (cd, &map, GST_MAP_READ)) {
        rate = gst_codec_utils_aac_get_sample_rate (map.data, map.size);
        channels = gst_codec_utils_aac_get_channels (map.data, map.size);
        gst_buffer_unmap (cd, &map);
      }
      caps = gst_caps_new_simple ("audio/mpeg", "mpegversion", G_TYPE_INT, 4,
          "stream-format", G_TYPE_STRING, "raw", "framed", G_TYPE_BOOLEAN,
          TRUE, "codec_data", GST_TYPE_BUFFER, cd, NULL);
      if (rate > 0)
        gst_caps_set_simple (caps, "rate", G_TYPE_INT, rate, NULL);
      if (channels > 0)
        gst_caps_set_simple (caps, "channels", G_TYPE_INT, channels, NULL);
      gst_buffer_unref (cd);
      return caps;
    }
    case RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO:
    case RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO:
    case RTMFP_FLV_SOUND_NELLYMOSER:
      return gst_caps_new_simple ("audio/x-nellymoser", "rate", G_TYPE_INT,
          ai.rate == 5500 ? 5512 : ai.rate, "channels", G_TYPE_INT,
          ai.channels, NULL);
    default:
      return NULL;
  }
}

gsize
gst_rtmfp_media_data_offset (guint8 type, const guint8 * p, gsize len)
{
  gsize off;

  if (len < 1)
    return 0;
  if (type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    guint codec = p[0] & 0x0f;
    off = codec == RTMFP_FLV_VIDEO_AVC ? 5 :
        (codec == RTMFP_FLV_VIDEO_VP6 || codec == RTMFP_FLV_VIDEO_VP6_ALPHA) ?
        2 : 1;
  } else if (type == RTMFP_FLV_TAG_TYPE_AUDIO) {
    off = (p[0] >> 4) == RTMFP_FLV_SOUND_AAC ? 2 : 1;
  } else {
    return 0;
  }
  return len > off ? off : 0;
}

GstClockTime
gst_rtmfp_media_audio_frame_duration (const guint8 * p, gsize len)
{
  if (len >= 1 && (p[0] >> 4) == RTMFP_FLV_SOUND_SPEEX)
    return 20 * GST_MSECOND;
  return GST_CLOCK_TIME_NONE;
}
