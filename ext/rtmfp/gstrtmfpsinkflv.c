/* GStreamer RTMFP: the FLV input of rtmfpsink (see gstrtmfpsinkflv.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gstrtmfpsinkflv.h"
#include "rtmfptcclient.h"
#include "flvtag.h"
#include "amf0.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_sink_flv_debug);
#define GST_CAT_DEFAULT gst_rtmfp_sink_flv_debug

enum { K_AUDIO, K_VIDEO, K_DATA, K_N };

typedef struct
{
  guint8 type;
  guint32 timestamp;
  GBytes *payload;
} Tag;

struct _GstRtmfpFlvInput
{
  GstElement *element;
  GPtrArray *caps_headers;      /* Tag*: from the streamheader */
  GBytes *sent[K_N];            /* last stream state sent, per kind */
  gboolean audio_checked;
  gboolean video_checked;
  gboolean refused;             /* error posted already */
  gboolean after_speex_header;
  GByteArray *partial;          /* a tag split over buffers */
};

static void
tag_free (Tag * t)
{
  g_bytes_unref (t->payload);
  g_free (t);
}

static guint
kind_of (guint8 type)
{
  return type == RTMFP_FLV_TAG_TYPE_AUDIO ? K_AUDIO :
      type == RTMFP_FLV_TAG_TYPE_VIDEO ? K_VIDEO : K_DATA;
}

GstRtmfpFlvInput *
gst_rtmfp_flv_input_new (GstElement * element)
{
  GstRtmfpFlvInput *in = g_new0 (GstRtmfpFlvInput, 1);
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (gst_rtmfp_sink_flv_debug, "rtmfpsinkflv", 0,
        "The FLV input of rtmfpsink");
    g_once_init_leave (&once, 1);
  }
  in->element = element;
  in->caps_headers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      tag_free);
  in->partial = g_byte_array_new ();
  return in;
}

void
gst_rtmfp_flv_input_free (GstRtmfpFlvInput * in)
{
  if (!in)
    return;
  gst_rtmfp_flv_input_reset (in);
  g_ptr_array_unref (in->caps_headers);
  g_byte_array_unref (in->partial);
  g_free (in);
}

void
gst_rtmfp_flv_input_flush (GstRtmfpFlvInput * in)
{
  g_byte_array_set_size (in->partial, 0);
}

void
gst_rtmfp_flv_input_reset (GstRtmfpFlvInput * in)
{
  guint k;

  for (k = 0; k < K_N; k++)
    g_clear_pointer (&in->sent[k], g_bytes_unref);
  in->audio_checked = in->video_checked = FALSE;
  in->refused = FALSE;
  in->after_speex_header = FALSE;
  g_byte_array_set_size (in->partial, 0);
}

/* ------------------------------------------------------------------------ */
/* codec policy (DESIGN.md "Media mapping") */

static gboolean
refuse_audio (GstRtmfpFlvInput * in, guint format, const gchar * reason)
{
  if (!in->refused)
    GST_ELEMENT_ERROR (in->element, STREAM, CODEC_NOT_FOUND,
        (_("Audio codec \"%s\" is not supported over RTMFP (use Speex at "
                "16 kHz mono, AAC or Nellymoser)."),
            rtmfp_flv_sound_format_get_name (format)), ("%s", reason));
  in->refused = TRUE;
  return FALSE;
}

static gboolean
refuse_video (GstRtmfpFlvInput * in, guint codec, const gchar * reason)
{
  if (!in->refused)
    GST_ELEMENT_ERROR (in->element, STREAM, CODEC_NOT_FOUND,
        (_("Video codec \"%s\" is not supported over RTMFP (use H.264 or "
                "VP6)."), rtmfp_flv_video_codec_get_name (codec)),
        ("%s", reason));
  in->refused = TRUE;
  return FALSE;
}

/* onMetaData's audiocodecid / videocodecid (what flvmux writes): refuses
 * a stream before any media arrives */
static gboolean
check_metadata (GstRtmfpFlvInput * in, const guint8 * p, gsize len)
{
  GPtrArray *values = rtmfp_amf_parse_values (p, len);
  const RtmfpAmfNode *props;
  gdouble id;
  gboolean ok = TRUE;

  if (!values)
    return TRUE;
  props = values->len >= 2 ? g_ptr_array_index (values, 1) : NULL;
  if (props && rtmfp_amf_node_get_field_number (props, "audiocodecid", &id)) {
    guint f = (guint) id;
    if (id != f || !(f == RTMFP_FLV_SOUND_SPEEX || f == RTMFP_FLV_SOUND_AAC ||
            f == RTMFP_FLV_SOUND_NELLYMOSER_16K_MONO ||
            f == RTMFP_FLV_SOUND_NELLYMOSER_8K_MONO ||
            f == RTMFP_FLV_SOUND_NELLYMOSER))
      ok = refuse_audio (in, f, "onMetaData audiocodecid");
  }
  if (ok && props &&
      rtmfp_amf_node_get_field_number (props, "videocodecid", &id)) {
    guint c = (guint) id;
    if (id != c || !(c == RTMFP_FLV_VIDEO_AVC || c == RTMFP_FLV_VIDEO_VP6 ||
            c == RTMFP_FLV_VIDEO_VP6_ALPHA))
      ok = refuse_video (in, c, "onMetaData videocodecid");
  }
  g_ptr_array_unref (values);
  return ok;
}

/* speexenc's two header packets (the "Speex   " ID header and the comment
 * packet after it), which flvmux writes as audio tags */
static gboolean
is_speex_header (GstRtmfpFlvInput * in, const guint8 * p, gsize len)
{
  gboolean was_after = in->after_speex_header;
  guint32 vlen;
  gsize i;

  in->after_speex_header = FALSE;
  if (len < 1 || (p[0] >> 4) != RTMFP_FLV_SOUND_SPEEX)
    return FALSE;
  if (len >= 9 && memcmp (p + 1, "Speex   ", 8) == 0) {
    in->after_speex_header = TRUE;
    return TRUE;
  }
  if (!was_after || len < 9)
    return FALSE;
  /* comment packet: u32 LE vendor length, printable vendor string, u32 LE
   * count of comments */
  /* byte by byte: GST_READ_UINT32_LE may read unaligned (UB) */
  vlen = (guint32) p[1] | ((guint32) p[2] << 8) | ((guint32) p[3] << 16) |
      ((guint32) p[4] << 24);
  if (vlen > len - 9)
    return FALSE;
  for (i = 0; i < vlen; i++)
    if (p[5 + i] < 0x20 || p[5 + i] > 0x7e)
      return FALSE;
  return TRUE;
}

/* Send flags for one tag; FALSE if its codec is refused */
static gboolean
classify (GstRtmfpFlvInput * in, guint8 type, const guint8 * p, gsize len,
    guint * flags)
{
  const gchar *reason = NULL;
  RtmfpFlvVideoInfo vi;

  *flags = 0;
  switch (type) {
    case RTMFP_FLV_TAG_TYPE_AUDIO:
      if (!in->audio_checked) {
        if (!rtmfp_flv_audio_codec_supported (p, len, &reason))
          return refuse_audio (in, len ? p[0] >> 4 : 0, reason);
        in->audio_checked = TRUE;
      }
      if (rtmfp_flv_audio_is_sequence_header (p, len))
        *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
      return TRUE;
    case RTMFP_FLV_TAG_TYPE_VIDEO:
      if (!in->video_checked) {
        if (!rtmfp_flv_video_codec_supported (p, len, &reason))
          return refuse_video (in, len ? p[0] & 0x0f : 0, reason);
        in->video_checked = TRUE;
      }
      if (rtmfp_flv_video_parse (p, len, &vi)) {
        if (vi.avc_packet_type == RTMFP_FLV_AVC_SEQUENCE_HEADER ||
            vi.avc_packet_type == RTMFP_FLV_AVC_END_OF_SEQUENCE)
          *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
        else if (vi.is_keyframe)
          *flags |= RTMFP_TC_CLIENT_SEND_KEYFRAME;
      }
      return TRUE;
    case RTMFP_FLV_TAG_TYPE_SCRIPT:
      if (rtmfp_flv_script_is_metadata (p, len) && !check_metadata (in, p,
              len))
        return FALSE;
      *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
      return TRUE;
    default:
      return TRUE;
  }
}

/* Stream state (metadata, sequence headers) goes out only when it differs
 * from what was sent last of its kind */
static gboolean
is_repeat (GstRtmfpFlvInput * in, guint8 type, GBytes * payload, guint flags)
{
  guint k = kind_of (type);
  gboolean state = (flags & RTMFP_TC_CLIENT_SEND_RELIABLE) &&
      (type != RTMFP_FLV_TAG_TYPE_SCRIPT ||
      rtmfp_flv_script_is_metadata (g_bytes_get_data (payload, NULL),
          g_bytes_get_size (payload)));
  gsize len;
  const guint8 *p = g_bytes_get_data (payload, &len);

  if (!state || (type == RTMFP_FLV_TAG_TYPE_VIDEO &&
          !rtmfp_flv_video_is_sequence_header (p, len)))
    return FALSE;
  if (in->sent[k] && g_bytes_equal (in->sent[k], payload))
    return TRUE;
  if (in->sent[k])
    g_bytes_unref (in->sent[k]);
  in->sent[k] = g_bytes_ref (payload);
  return FALSE;
}

/* One tag: classified, filtered, sent */
static GstFlowReturn
send_tag (GstRtmfpFlvInput * in, guint8 type, guint32 ts, GBytes * payload,
    GstRtmfpFlvSendFunc send, gpointer data)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (payload, &len);
  guint flags;

  if (type != RTMFP_FLV_TAG_TYPE_AUDIO && type != RTMFP_FLV_TAG_TYPE_VIDEO &&
      type != RTMFP_FLV_TAG_TYPE_SCRIPT)
    return GST_FLOW_OK;
  if (!classify (in, type, p, len, &flags))
    return GST_FLOW_NOT_NEGOTIATED;
  if (type == RTMFP_FLV_TAG_TYPE_AUDIO && is_speex_header (in, p, len)) {
    GST_DEBUG_OBJECT (in->element, "Speex header packet not sent");
    return GST_FLOW_OK;
  }
  if (is_repeat (in, type, payload, flags)) {
    GST_LOG_OBJECT (in->element, "stream state unchanged, not sent again");
    return GST_FLOW_OK;
  }
  GST_LOG_OBJECT (in->element, "tag type %u ts %u, %" G_GSIZE_FORMAT
      " bytes%s%s", type, ts, len,
      flags & RTMFP_TC_CLIENT_SEND_RELIABLE ? " reliable" : "",
      flags & RTMFP_TC_CLIENT_SEND_KEYFRAME ? " key" : "");
  return send (type, ts, payload, flags, data);
}

gboolean
gst_rtmfp_flv_input_set_caps (GstRtmfpFlvInput * in, GstCaps * caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const GValue *sh = gst_structure_get_value (s, "streamheader");
  guint i;

  g_ptr_array_set_size (in->caps_headers, 0);
  if (!sh || !GST_VALUE_HOLDS_ARRAY (sh))
    return TRUE;
  for (i = 0; i < gst_value_array_get_size (sh); i++) {
    const GValue *v = gst_value_array_get_value (sh, i);
    GstMapInfo map;
    RtmfpFlvIter it;
    RtmfpFlvTag tag;
    const guint8 *payload;
    GstBuffer *buf;

    if (!GST_VALUE_HOLDS_BUFFER (v))
      continue;
    buf = gst_value_get_buffer (v);
    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      continue;
    rtmfp_flv_iter_init (&it, map.data, map.size);
    while (rtmfp_flv_iter_next (&it, &tag, &payload, NULL) ==
        RTMFP_FLV_ITER_TAG) {
      Tag *t;
      guint flags;

      if (!classify (in, tag.type, payload, tag.data_size, &flags)) {
        gst_buffer_unmap (buf, &map);
        g_ptr_array_set_size (in->caps_headers, 0);
        return FALSE;
      }
      t = g_new0 (Tag, 1);
      t->type = tag.type;
      t->timestamp = tag.timestamp;
      t->payload = g_bytes_new (payload, tag.data_size);
      g_ptr_array_add (in->caps_headers, t);
    }
    gst_buffer_unmap (buf, &map);
  }
  GST_DEBUG_OBJECT (in->element, "%u header tags in the caps",
      in->caps_headers->len);
  return TRUE;
}

GstFlowReturn
gst_rtmfp_flv_input_push (GstRtmfpFlvInput * in, GstBuffer * buffer,
    GstRtmfpFlvSendFunc send, gpointer data)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  RtmfpFlvIter it;
  RtmfpFlvTag tag;
  RtmfpFlvIterResult ir = RTMFP_FLV_ITER_END;
  const guint8 *d, *payload;
  gsize size;
  guint i;

  for (i = 0; i < in->caps_headers->len && ret == GST_FLOW_OK; i++) {
    Tag *t = g_ptr_array_index (in->caps_headers, i);
    ret = send_tag (in, t->type, t->timestamp, t->payload, send, data);
  }
  if (ret != GST_FLOW_OK)
    return ret;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (in->partial->len) {
    g_byte_array_append (in->partial, map.data, map.size);
    d = in->partial->data;
    size = in->partial->len;
  } else {
    d = map.data;
    size = map.size;
  }

  rtmfp_flv_iter_init (&it, d, size);
  while (ret == GST_FLOW_OK && (ir = rtmfp_flv_iter_next (&it, &tag,
              &payload, NULL)) == RTMFP_FLV_ITER_TAG) {
    GBytes *b = g_bytes_new (payload, tag.data_size);
    ret = send_tag (in, tag.type, tag.timestamp, b, send, data);
    g_bytes_unref (b);
  }

  if (ret == GST_FLOW_OK && ir == RTMFP_FLV_ITER_ERROR) {
    GST_ELEMENT_ERROR (in->element, STREAM, FORMAT, (NULL),
        ("malformed FLV tag at offset %" G_GSIZE_FORMAT,
            rtmfp_flv_iter_position (&it)));
    ret = GST_FLOW_ERROR;
  } else if (ret == GST_FLOW_OK) {
    /* keep an incomplete tag for the next buffer */
    gsize pos = rtmfp_flv_iter_position (&it);
    gsize rem = rtmfp_flv_iter_remaining (&it);
    GByteArray *rest = g_byte_array_new ();

    if (rem > RTMFP_FLV_TAG_HEADER_SIZE + RTMFP_FLV_MAX_DATA_SIZE +
        RTMFP_FLV_TAG_TRAILER_SIZE)
      rem = 0;
    g_byte_array_append (rest, d + pos, rem);
    g_byte_array_unref (in->partial);
    in->partial = rest;
  } else {
    /* flushing or failed: a partial tag cannot continue after it */
    g_byte_array_set_size (in->partial, 0);
  }
  gst_buffer_unmap (buffer, &map);
  return ret;
}
