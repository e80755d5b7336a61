/* GStreamer RTMFP plugin: rtmfpsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpsink
 * @title: rtmfpsink
 * @see_also: rtmfpsrc, flvmux, rtmp2sink
 *
 * Publishes an FLV stream (`video/x-flv` from `flvmux streamable=true`)
 * to an RTMFP server (RFC 7016 with the Flash profile of RFC 7425): it
 * connects, creates a stream and publishes it, then sends each FLV tag as
 * an RTMP message on the stream's flows.  Sequence headers and metadata
 * are sent reliably; audio and video frames are abandoned once they are
 * older than #GstRtmfpSink:audio-lifetime / #GstRtmfpSink:video-lifetime
 * (and inter frames still queued when a new keyframe arrives are
 * dropped), so a congested path loses frames instead of delay.
 *
 * Codecs: Speex (16 kHz mono), H.264 and VP6, as Flash Player plays them
 * over RTMFP; AAC and Nellymoser pass too.  Other codecs are refused with
 * an error (the sink returns not-negotiated).
 *
 * At EOS the sink sends closeStream and deleteStream and closes the
 * session cleanly.
 *
 * With #GstRtmfpSink:auto-reconnect (the default) a lost connection is
 * restored by itself within #GstRtmfpSink:timeout: a new session
 * publishes the same name again, sequence headers and metadata first, and
 * a GstForceKeyUnit event asks upstream for a keyframe; element messages
 * `rtmfp-reconnecting` / `rtmfp-reconnected` tell the application.  The
 * `rebind` action signal moves the element to a new local UDP port (IP
 * mobility: the session continues).
 *
 * Speex header packets (which flvmux writes as audio tags) are not sent:
 * FLV Speex has none.  Note that flvmux (at least up to GStreamer 1.22)
 * holds Speex audio back while video keeps coming, because speexenc's
 * header buffers carry no timestamp; applications can stamp them (e.g.
 * with a pad probe on speexenc's source pad) to interleave audio from the
 * start.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! \
 *     x264enc tune=zerolatency key-int-max=30 ! h264parse ! queue ! flvmux streamable=true name=m ! \
 *     rtmfpsink location=rtmfp://127.0.0.1:1935/live/test \
 *     audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! speexenc ! queue ! m.
 * ]| Publishes H.264 video and Speex audio as stream "test" of application
 * "live" (play it with rtmfpsrc).
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gstrtmfpelements.h"
#include "gstrtmfpsink.h"
#include "gstrtmfpobject.h"
#include "rtmfptcclient.h"
#include "flvtag.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_sink_debug);
#define GST_CAT_DEFAULT gst_rtmfp_sink_debug

enum
{
  PROP_MODE = 128,
  PROP_AUDIO_LIFETIME,
  PROP_VIDEO_LIFETIME,
};

#define DEFAULT_MODE GST_RTMFP_SINK_MODE_SERVER

typedef struct
{
  guint8 type;
  guint32 timestamp;
  GBytes *payload;
  guint flags;
} Header;

struct _GstRtmfpSink
{
  GstBaseSink parent;

  GstRtmfpObject *obj;

  /* properties (OBJECT_LOCK) */
  GstRtmfpSinkMode mode;

  /* streaming thread */
  GPtrArray *headers;           /* Header*, from the caps' streamheader */
  gboolean headers_sent;
  gboolean published;
  gboolean audio_checked;
  gboolean video_checked;
  gboolean codec_refused;       /* error posted already */
  gboolean after_speex_header;
  GByteArray *partial;          /* a tag split over buffers */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

static void gst_rtmfp_sink_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_rtmfp_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpSink, gst_rtmfp_sink, GST_TYPE_BASE_SINK,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_sink_uri_handler_init));
/* PRIMARY + 1: the librtmp-based rtmpsrc/rtmpsink also claim rtmfp:// */
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (rtmfpsink, "rtmfpsink",
    GST_RANK_PRIMARY + 1, GST_TYPE_RTMFP_SINK, rtmfp_element_init (plugin));

GType
gst_rtmfp_sink_mode_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {GST_RTMFP_SINK_MODE_SERVER, "Publish through the server", "server"},
    {GST_RTMFP_SINK_MODE_DIRECT,
        "Publish to peer-to-peer subscribers introduced by the server", "direct"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpSinkMode", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

static void
header_free (Header * h)
{
  g_bytes_unref (h->payload);
  g_free (h);
}

/* ------------------------------------------------------------------------ */
/* codec policy (DESIGN.md "Media mapping") */

static gboolean
refuse_audio (GstRtmfpSink * self, guint format, const gchar * reason)
{
  if (self->codec_refused)
    return FALSE;
  self->codec_refused = TRUE;
  GST_ELEMENT_ERROR (self, STREAM, CODEC_NOT_FOUND,
      (_("Audio codec \"%s\" is not supported over RTMFP (use Speex at "
              "16 kHz mono, AAC or Nellymoser)."),
          rtmfp_flv_sound_format_get_name (format)), ("%s", reason));
  return FALSE;
}

static gboolean
refuse_video (GstRtmfpSink * self, guint codec, const gchar * reason)
{
  if (self->codec_refused)
    return FALSE;
  self->codec_refused = TRUE;
  GST_ELEMENT_ERROR (self, STREAM, CODEC_NOT_FOUND,
      (_("Video codec \"%s\" is not supported over RTMFP (use H.264 or "
              "VP6)."), rtmfp_flv_video_codec_get_name (codec)),
      ("%s", reason));
  return FALSE;
}

static gboolean
check_audio_tag (GstRtmfpSink * self, const guint8 * p, gsize len)
{
  const gchar *reason = NULL;

  if (rtmfp_flv_audio_codec_supported (p, len, &reason))
    return TRUE;
  return refuse_audio (self, len ? p[0] >> 4 : 0, reason);
}

static gboolean
check_video_tag (GstRtmfpSink * self, const guint8 * p, gsize len)
{
  const gchar *reason = NULL;

  if (rtmfp_flv_video_codec_supported (p, len, &reason))
    return TRUE;
  return refuse_video (self, len ? p[0] & 0x0f : 0, reason);
}

/* onMetaData's audiocodecid / videocodecid (what flvmux writes): lets
 * set_caps refuse a stream before any media arrives */
static gboolean
check_metadata (GstRtmfpSink * self, const guint8 * p, gsize len)
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
      ok = refuse_audio (self, f, "onMetaData audiocodecid");
  }
  if (ok && props &&
      rtmfp_amf_node_get_field_number (props, "videocodecid", &id)) {
    guint c = (guint) id;
    if (id != c || !(c == RTMFP_FLV_VIDEO_AVC || c == RTMFP_FLV_VIDEO_VP6 ||
            c == RTMFP_FLV_VIDEO_VP6_ALPHA))
      ok = refuse_video (self, c, "onMetaData videocodecid");
  }
  g_ptr_array_unref (values);
  return ok;
}

/* speexenc's two header packets (the "Speex   " ID header and the comment
 * packet after it), which flvmux writes as audio tags: FLV Speex has no
 * headers (always 16 kHz wideband), players would decode them as frames */
static gboolean
is_speex_header (GstRtmfpSink * self, const guint8 * p, gsize len)
{
  gboolean was_after = self->after_speex_header;

  self->after_speex_header = FALSE;
  if (len < 1 || (p[0] >> 4) != RTMFP_FLV_SOUND_SPEEX)
    return FALSE;
  if (len >= 9 && memcmp (p + 1, "Speex   ", 8) == 0) {
    self->after_speex_header = TRUE;
    return TRUE;
  }
  if (was_after && len >= 9) {
    /* comment packet: u32 LE vendor length, printable vendor string,
     * u32 LE count of comments */
    guint32 vlen = GST_READ_UINT32_LE (p + 1);
    gsize i;

    if (vlen > len - 9)
      return FALSE;
    for (i = 0; i < vlen; i++)
      if (p[5 + i] < 0x20 || p[5 + i] > 0x7e)
        return FALSE;
    return TRUE;
  }
  return FALSE;
}

/* Send flags for one tag; FALSE if its codec is refused */
static gboolean
classify_tag (GstRtmfpSink * self, guint8 type, const guint8 * p, gsize len,
    guint * flags)
{
  *flags = 0;
  switch (type) {
    case RTMFP_FLV_TAG_TYPE_AUDIO:
      if (!self->audio_checked) {
        if (!check_audio_tag (self, p, len))
          return FALSE;
        self->audio_checked = TRUE;
      }
      if (rtmfp_flv_audio_is_sequence_header (p, len))
        *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
      break;
    case RTMFP_FLV_TAG_TYPE_VIDEO:{
      RtmfpFlvVideoInfo vi;
      if (!self->video_checked) {
        if (!check_video_tag (self, p, len))
          return FALSE;
        self->video_checked = TRUE;
      }
      if (rtmfp_flv_video_parse (p, len, &vi)) {
        if (vi.avc_packet_type == RTMFP_FLV_AVC_SEQUENCE_HEADER ||
            vi.avc_packet_type == RTMFP_FLV_AVC_END_OF_SEQUENCE)
          *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
        else if (vi.is_keyframe)
          *flags |= RTMFP_TC_CLIENT_SEND_KEYFRAME;
      }
      break;
    }
    case RTMFP_FLV_TAG_TYPE_SCRIPT:
      if (rtmfp_flv_script_is_metadata (p, len) && !check_metadata (self, p,
              len))
        return FALSE;
      *flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
      break;
    default:
      break;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */

static gboolean
gst_rtmfp_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (sink);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const GValue *sh = gst_structure_get_value (s, "streamheader");
  guint i;

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  if (self->headers_sent) {
    GST_DEBUG_OBJECT (self, "headers already sent, new ones ignored");
    return TRUE;
  }
  g_ptr_array_set_size (self->headers, 0);
  if (!sh || !GST_VALUE_HOLDS_ARRAY (sh))
    return TRUE;

  for (i = 0; i < gst_value_array_get_size (sh); i++) {
    const GValue *v = gst_value_array_get_value (sh, i);
    GstBuffer *buf;
    GstMapInfo map;
    RtmfpFlvIter it;
    RtmfpFlvTag tag;
    const guint8 *payload;

    if (!GST_VALUE_HOLDS_BUFFER (v))
      continue;
    buf = gst_value_get_buffer (v);
    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      continue;
    rtmfp_flv_iter_init (&it, map.data, map.size);
    while (rtmfp_flv_iter_next (&it, &tag, &payload, NULL) ==
        RTMFP_FLV_ITER_TAG) {
      Header *h;
      guint flags;

      if (!classify_tag (self, tag.type, payload, tag.data_size, &flags)) {
        gst_buffer_unmap (buf, &map);
        g_ptr_array_set_size (self->headers, 0);
        return FALSE;
      }
      h = g_new0 (Header, 1);
      h->type = tag.type;
      h->timestamp = tag.timestamp;
      h->payload = g_bytes_new (payload, tag.data_size);
      h->flags = flags | RTMFP_TC_CLIENT_SEND_RELIABLE;
      g_ptr_array_add (self->headers, h);
    }
    gst_buffer_unmap (buf, &map);
  }
  GST_DEBUG_OBJECT (self, "%u header messages from the caps",
      self->headers->len);
  return TRUE;
}

static GstFlowReturn
wait_result_to_flow (GstRtmfpObjectWaitResult r)
{
  switch (r) {
    case GST_RTMFP_OBJECT_WAIT_OK:
      return GST_FLOW_OK;
    case GST_RTMFP_OBJECT_WAIT_FLUSHING:
      return GST_FLOW_FLUSHING;
    case GST_RTMFP_OBJECT_WAIT_EOS:
      return GST_FLOW_EOS;
    default:
      return GST_FLOW_ERROR;
  }
}

static GstFlowReturn
send_tag (GstRtmfpSink * self, guint8 type, guint32 ts, GBytes * payload,
    guint flags)
{
  if (type != RTMFP_FLV_TAG_TYPE_AUDIO && type != RTMFP_FLV_TAG_TYPE_VIDEO &&
      type != RTMFP_FLV_TAG_TYPE_SCRIPT)
    return GST_FLOW_OK;
  GST_LOG_OBJECT (self, "tag type %u ts %u, %" G_GSIZE_FORMAT " bytes%s%s",
      type, ts, g_bytes_get_size (payload),
      flags & RTMFP_TC_CLIENT_SEND_RELIABLE ? " reliable" : "",
      flags & RTMFP_TC_CLIENT_SEND_KEYFRAME ? " key" : "");
  return wait_result_to_flow (gst_rtmfp_object_send (self->obj, type, ts,
          payload, flags));
}

static GstFlowReturn
gst_rtmfp_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (sink);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMapInfo map;
  RtmfpFlvIter it;
  RtmfpFlvTag tag;
  RtmfpFlvIterResult ir;
  const guint8 *data, *payload;
  gsize size;
  guint i;

  if (!self->published) {
    ret = wait_result_to_flow (gst_rtmfp_object_wait_streaming (self->obj));
    if (ret != GST_FLOW_OK)
      return ret;
    self->published = TRUE;
  }
  if (!self->headers_sent) {
    for (i = 0; i < self->headers->len && ret == GST_FLOW_OK; i++) {
      Header *h = g_ptr_array_index (self->headers, i);
      ret = send_tag (self, h->type, h->timestamp, h->payload, h->flags);
    }
    if (ret != GST_FLOW_OK)
      return ret;
    self->headers_sent = TRUE;
  }
  /* flvmux pushes its headers as HEADER buffers too: sent already */
  if (self->headers->len &&
      GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_HEADER)) {
    GST_LOG_OBJECT (self, "header buffer dropped (sent from the caps)");
    return GST_FLOW_OK;
  }

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (self->partial->len) {
    g_byte_array_append (self->partial, map.data, map.size);
    data = self->partial->data;
    size = self->partial->len;
  } else {
    data = map.data;
    size = map.size;
  }

  rtmfp_flv_iter_init (&it, data, size);
  while ((ir = rtmfp_flv_iter_next (&it, &tag, &payload, NULL)) ==
      RTMFP_FLV_ITER_TAG && ret == GST_FLOW_OK) {
    guint flags;
    GBytes *b;

    if (!classify_tag (self, tag.type, payload, tag.data_size, &flags)) {
      ret = GST_FLOW_NOT_NEGOTIATED;
      break;
    }
    if (tag.type == RTMFP_FLV_TAG_TYPE_AUDIO &&
        is_speex_header (self, payload, tag.data_size)) {
      GST_DEBUG_OBJECT (self, "Speex header packet not sent");
      continue;
    }
    b = g_bytes_new (payload, tag.data_size);
    ret = send_tag (self, tag.type, tag.timestamp, b, flags);
    g_bytes_unref (b);
  }

  if (ret == GST_FLOW_OK && ir == RTMFP_FLV_ITER_ERROR) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("malformed FLV tag at offset %" G_GSIZE_FORMAT,
            rtmfp_flv_iter_position (&it)));
    ret = GST_FLOW_ERROR;
  } else if (ret == GST_FLOW_OK) {
    /* keep an incomplete tag for the next buffer */
    gsize pos = rtmfp_flv_iter_position (&it);
    gsize rem = rtmfp_flv_iter_remaining (&it);
    GByteArray *rest = g_byte_array_new ();

    if (rem > RTMFP_FLV_TAG_HEADER_SIZE + RTMFP_FLV_MAX_DATA_SIZE +
        RTMFP_FLV_TAG_TRAILER_SIZE) {
      rem = 0;
    }
    g_byte_array_append (rest, data + pos, rem);
    g_byte_array_unref (self->partial);
    self->partial = rest;
  } else {
    /* flushing or failed: what was parsed is done with (tags already sent
     * must not be sent again after a flush), and a partial tag from before
     * a flush cannot continue with what comes after it */
    g_byte_array_set_size (self->partial, 0);
  }
  gst_buffer_unmap (buffer, &map);
  return ret;
}

static gboolean
gst_rtmfp_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    g_byte_array_set_size (self->partial, 0);
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->published) {
    /* closeStream + deleteStream, then close the session cleanly */
    GST_DEBUG_OBJECT (self, "EOS: closing the stream");
    gst_rtmfp_object_close (self->obj);
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

static void
reset (GstRtmfpSink * self)
{
  self->headers_sent = FALSE;
  self->published = FALSE;
  self->audio_checked = FALSE;
  self->video_checked = FALSE;
  self->codec_refused = FALSE;
  self->after_speex_header = FALSE;
  g_byte_array_set_size (self->partial, 0);
}

static gboolean
gst_rtmfp_sink_start (GstBaseSink * sink)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (sink);
  GstRtmfpSinkMode mode;

  GST_OBJECT_LOCK (self);
  mode = self->mode;
  GST_OBJECT_UNLOCK (self);
  gst_rtmfp_object_set_direct (self->obj, mode == GST_RTMFP_SINK_MODE_DIRECT);
  reset (self);
  return gst_rtmfp_object_start (self->obj);
}

static gboolean
gst_rtmfp_sink_stop (GstBaseSink * sink)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (sink);

  gst_rtmfp_object_stop (self->obj);
  reset (self);
  return TRUE;
}

static gboolean
gst_rtmfp_sink_unlock (GstBaseSink * sink)
{
  gst_rtmfp_object_unlock (GST_RTMFP_SINK (sink)->obj);
  return TRUE;
}

static gboolean
gst_rtmfp_sink_unlock_stop (GstBaseSink * sink)
{
  gst_rtmfp_object_unlock_stop (GST_RTMFP_SINK (sink)->obj);
  return TRUE;
}

/* ------------------------------------------------------------------------ */

static void
gst_rtmfp_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (object);
  guint a, v;

  if (gst_rtmfp_object_set_property_helper (self->obj, prop_id, value, pspec))
    return;
  switch (prop_id) {
    case PROP_MODE:
      GST_OBJECT_LOCK (self);
      self->mode = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_AUDIO_LIFETIME:
      gst_rtmfp_object_get_lifetimes (self->obj, &a, &v);
      gst_rtmfp_object_set_lifetimes (self->obj, g_value_get_uint (value), v);
      break;
    case PROP_VIDEO_LIFETIME:
      gst_rtmfp_object_get_lifetimes (self->obj, &a, &v);
      gst_rtmfp_object_set_lifetimes (self->obj, a, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtmfp_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (object);
  guint a, v;

  if (gst_rtmfp_object_get_property_helper (self->obj, prop_id, value, pspec))
    return;
  switch (prop_id) {
    case PROP_MODE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->mode);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_AUDIO_LIFETIME:
      gst_rtmfp_object_get_lifetimes (self->obj, &a, &v);
      g_value_set_uint (value, a);
      break;
    case PROP_VIDEO_LIFETIME:
      gst_rtmfp_object_get_lifetimes (self->obj, &a, &v);
      g_value_set_uint (value, v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtmfp_sink_finalize (GObject * object)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (object);

  gst_rtmfp_object_destroy (self->obj);
  g_ptr_array_unref (self->headers);
  g_byte_array_unref (self->partial);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtmfp_sink_class_init (GstRtmfpSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_sink_debug, "rtmfpsink", 0,
      "RTMFP sink");

  gobject_class->set_property = gst_rtmfp_sink_set_property;
  gobject_class->get_property = gst_rtmfp_sink_get_property;
  gobject_class->finalize = gst_rtmfp_sink_finalize;

  gst_rtmfp_object_install_properties_helper (gobject_class, TRUE);

  /**
   * GstRtmfpSink:mode:
   *
   * How the stream is published: through the server (`server`, the
   * default), or to peer-to-peer subscribers introduced by the server
   * (`direct`, RFC 7425 5.4): the element keeps a NetConnection to the
   * server (connect + setPeerInfo with its interface addresses), accepts
   * the sessions of the subscribers the server introduces (rtmfpsrc with
   * #GstRtmfpSrc:peer-id set to this element's #GstRtmfpSink:peer-id) and
   * serves each its own flows, starting at the metadata, the sequence
   * headers and a keyframe.  It posts `rtmfp-peer-connected` and
   * `rtmfp-peer-disconnected` element messages (fields `peer-id`,
   * `address`, `rtt-ms`) and lists the subscribers in the `peers` array
   * of #GstRtmfpSink:stats.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Publish through the server or directly to peer-to-peer "
          "subscribers", GST_TYPE_RTMFP_SINK_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:audio-lifetime:
   *
   * Milliseconds an audio message may wait for delivery before the sender
   * abandons it (RFC 7016 partial reliability).
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_AUDIO_LIFETIME,
      g_param_spec_uint ("audio-lifetime", "Audio lifetime",
          "Milliseconds before an undelivered audio message is abandoned",
          10, 60000, GST_RTMFP_DEFAULT_AUDIO_LIFETIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpSink:video-lifetime:
   *
   * Milliseconds a video frame may wait for delivery before the sender
   * abandons it; inter frames not yet sent when a newer keyframe arrives
   * are dropped at once.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_VIDEO_LIFETIME,
      g_param_spec_uint ("video-lifetime", "Video lifetime",
          "Milliseconds before an undelivered video frame is abandoned",
          10, 60000, GST_RTMFP_DEFAULT_VIDEO_LIFETIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "RTMFP sink",
      "Sink/Network", "Publishes an FLV stream over RTMFP (RFC 7016/7425)",
      "gst-rtmfp authors");

  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_set_caps);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_event);
  basesink_class->start = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_stop);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_unlock_stop);
}

static void
gst_rtmfp_sink_init (GstRtmfpSink * self)
{
  self->obj = gst_rtmfp_object_new (GST_ELEMENT (self), TRUE);
  self->mode = DEFAULT_MODE;
  self->headers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      header_free);
  self->partial = g_byte_array_new ();
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_rtmfp_sink_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  gst_rtmfp_object_uri_handler_init (g_iface, iface_data);
}
