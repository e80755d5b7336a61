/* GStreamer RTMFP plugin: rtmfpsrc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpsrc
 * @title: rtmfpsrc
 * @see_also: rtmfpsink, flvdemux, rtmp2src
 *
 * Plays a stream from an RTMFP server (RFC 7016 with the Flash profile of
 * RFC 7425) and outputs it as `video/x-flv` for flvdemux: an FLV file
 * header, then one FLV tag per RTMP message, with the sender's
 * timestamps.
 *
 * The source is live.  It never waits for a message the sender abandoned:
 * what follows a gap is marked DISCONT and keeps its true timestamp, so
 * decoders conceal the loss and play on.  A late joiner starts at a
 * keyframe (video before the first keyframe is dropped).  The stream ends
 * (EOS) when the publisher stops: 3 seconds after
 * NetStream.Play.UnpublishNotify unless the stream is published again
 * meanwhile (NetStream.Play.PublishNotify: a publisher switching
 * protocols or reconnecting; play goes on with a DISCONT from the new
 * publisher's first keyframe), or shortly after a StreamEOF event.
 *
 * With #GstRtmfpSrc:auto-reconnect (the default) a lost connection is
 * restored by itself within #GstRtmfpSrc:timeout (a new session, play
 * again; output goes on from the next keyframe with a DISCONT buffer),
 * with `rtmfp-reconnecting` / `rtmfp-reconnected` element messages.  The
 * `rebind` action signal moves the element to a new local UDP port (IP
 * mobility: the session continues).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtmfpsrc location=rtmfp://127.0.0.1:1935/live/test ! flvdemux name=d \
 *     d.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! autovideosink \
 *     d.audio ! queue ! speexdec ! audioconvert ! autoaudiosink
 * ]| Plays stream "test" of application "live".
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstrtmfpelements.h"
#include "gstrtmfpsrc.h"
#include "gstrtmfpobject.h"
#include "rtmfptc.h"
#include "flvtag.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_src_debug);
#define GST_CAT_DEFAULT gst_rtmfp_src_debug

/* Reported as the minimum latency: the jitter the timestamps (sender
 * paced, anchored at the first message's arrival) are allowed against
 * arrival times. */
#define SRC_LATENCY (200 * GST_MSECOND)

struct _GstRtmfpSrc
{
  GstPushSrc parent;

  GstRtmfpObject *obj;

  /* streaming thread */
  gboolean sent_header;
  guint64 offset;
  gboolean have_first;
  guint64 first_ms;
  GstClockTime first_time;
  RtmfpFlvTsUnwrapper unwrap;
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

static void gst_rtmfp_src_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_rtmfp_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpSrc, gst_rtmfp_src, GST_TYPE_PUSH_SRC,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_src_uri_handler_init));
/* PRIMARY + 1: the librtmp-based rtmpsrc/rtmpsink also claim rtmfp:// */
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (rtmfpsrc, "rtmfpsrc",
    GST_RANK_PRIMARY + 1, GST_TYPE_RTMFP_SRC, rtmfp_element_init (plugin));

/* Running time now (0 without a clock) */
static GstClockTime
running_time_now (GstRtmfpSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, base;

  if (!clock)
    return 0;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (GST_ELEMENT (self));
  gst_object_unref (clock);
  return now > base ? now - base : 0;
}

static void
timestamp_buffer (GstRtmfpSrc * self, GstBuffer * buf,
    const GstRtmfpObjectItem * it)
{
  guint64 ms = rtmfp_flv_ts_unwrapper_unwrap (&self->unwrap, it->timestamp);
  GstClockTime dts;

  if (!self->have_first) {
    self->have_first = TRUE;
    self->first_ms = ms;
    self->first_time = running_time_now (self);
  }
  /* the sender's clock, anchored at our first arrival */
  if (ms >= self->first_ms)
    dts = self->first_time + (ms - self->first_ms) * GST_MSECOND;
  else
    dts = self->first_time > (self->first_ms - ms) * GST_MSECOND ?
        self->first_time - (self->first_ms - ms) * GST_MSECOND : 0;
  GST_BUFFER_DTS (buf) = dts;
  GST_BUFFER_PTS (buf) = dts;
  if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    GstMapInfo map;
    RtmfpFlvVideoInfo vi;

    if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
      gsize off = map.size - gst_buffer_get_size (it->tag);
      if (rtmfp_flv_video_parse (map.data + off + RTMFP_FLV_TAG_HEADER_SIZE,
              map.size - off - RTMFP_FLV_TAG_HEADER_SIZE -
              RTMFP_FLV_TAG_TRAILER_SIZE, &vi) && vi.composition_time > 0)
        GST_BUFFER_PTS (buf) = dts + vi.composition_time * GST_MSECOND;
      gst_buffer_unmap (buf, &map);
    }
  }
}

static GstFlowReturn
gst_rtmfp_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (psrc);
  GstRtmfpObjectItem it;
  GstBuffer *buf;

  switch (gst_rtmfp_object_pop (self->obj, &it)) {
    case GST_RTMFP_OBJECT_WAIT_OK:
      break;
    case GST_RTMFP_OBJECT_WAIT_FLUSHING:
      return GST_FLOW_FLUSHING;
    case GST_RTMFP_OBJECT_WAIT_EOS:
      GST_INFO_OBJECT (self, "end of stream");
      return GST_FLOW_EOS;
    default:
      return GST_FLOW_ERROR;    /* posted by the object */
  }

  if (!self->sent_header) {
    /* the 13-byte FLV file header goes in front of the first tag */
    GstBuffer *hdr = gst_buffer_new_allocate (NULL,
        RTMFP_FLV_FILE_HEADER_SIZE, NULL);
    GstMapInfo map;

    gst_buffer_map (hdr, &map, GST_MAP_WRITE);
    rtmfp_flv_header_write (map.data, TRUE, TRUE);
    gst_buffer_unmap (hdr, &map);
    buf = gst_buffer_append (hdr, gst_buffer_ref (it.tag));
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->sent_header = TRUE;
  } else {
    buf = gst_buffer_make_writable (gst_buffer_ref (it.tag));
  }
  timestamp_buffer (self, buf, &it);
  GST_BUFFER_OFFSET (buf) = self->offset;
  self->offset += gst_buffer_get_size (buf);
  GST_BUFFER_OFFSET_END (buf) = self->offset;
  if (it.discont) {
    GST_DEBUG_OBJECT (self, "gap before message at %u ms", it.timestamp);
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  }
  gst_buffer_unref (it.tag);

  GST_LOG_OBJECT (self, "type %u ts %u -> %" GST_PTR_FORMAT, it.type,
      it.timestamp, buf);
  *outbuf = buf;
  return GST_FLOW_OK;
}

static gboolean
gst_rtmfp_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY:
      gst_query_set_latency (query, TRUE, SRC_LATENCY, GST_CLOCK_TIME_NONE);
      return TRUE;
    case GST_QUERY_SCHEDULING:
      gst_query_set_scheduling (query, GST_SCHEDULING_FLAG_SEQUENTIAL |
          GST_SCHEDULING_FLAG_BANDWIDTH_LIMITED, 1, -1, 0);
      gst_query_add_scheduling_mode (query, GST_PAD_MODE_PUSH);
      return TRUE;
    default:
      return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
  }
}

static gboolean
gst_rtmfp_src_is_seekable (GstBaseSrc * bsrc)
{
  return FALSE;
}

static void
reset (GstRtmfpSrc * self)
{
  self->sent_header = FALSE;
  self->offset = 0;
  self->have_first = FALSE;
  rtmfp_flv_ts_unwrapper_init (&self->unwrap);
}

static gboolean
gst_rtmfp_src_start (GstBaseSrc * bsrc)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (bsrc);

  reset (self);
  return gst_rtmfp_object_start (self->obj);
}

static gboolean
gst_rtmfp_src_stop (GstBaseSrc * bsrc)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (bsrc);

  gst_rtmfp_object_stop (self->obj);
  reset (self);
  return TRUE;
}

static gboolean
gst_rtmfp_src_unlock (GstBaseSrc * bsrc)
{
  gst_rtmfp_object_unlock (GST_RTMFP_SRC (bsrc)->obj);
  return TRUE;
}

static gboolean
gst_rtmfp_src_unlock_stop (GstBaseSrc * bsrc)
{
  gst_rtmfp_object_unlock_stop (GST_RTMFP_SRC (bsrc)->obj);
  return TRUE;
}

static void
gst_rtmfp_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);

  if (!gst_rtmfp_object_set_property_helper (self->obj, prop_id, value,
          pspec))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_rtmfp_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);

  if (!gst_rtmfp_object_get_property_helper (self->obj, prop_id, value,
          pspec))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_rtmfp_src_finalize (GObject * object)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);

  gst_rtmfp_object_destroy (self->obj);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtmfp_src_class_init (GstRtmfpSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_src_debug, "rtmfpsrc", 0,
      "RTMFP source");

  gobject_class->set_property = gst_rtmfp_src_set_property;
  gobject_class->get_property = gst_rtmfp_src_get_property;
  gobject_class->finalize = gst_rtmfp_src_finalize;

  gst_rtmfp_object_install_properties_helper (gobject_class, FALSE);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTMFP source",
      "Source/Network", "Plays a stream over RTMFP (RFC 7016/7425) as FLV",
      "gst-rtmfp authors");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_rtmfp_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_rtmfp_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_rtmfp_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_rtmfp_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_rtmfp_src_query);
  basesrc_class->is_seekable = GST_DEBUG_FUNCPTR (gst_rtmfp_src_is_seekable);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_rtmfp_src_create);
}

static void
gst_rtmfp_src_init (GstRtmfpSrc * self)
{
  self->obj = gst_rtmfp_object_new (GST_ELEMENT (self), FALSE);
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp (GST_BASE_SRC (self), FALSE);
  reset (self);
}

static void
gst_rtmfp_src_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  gst_rtmfp_object_uri_handler_init (g_iface, iface_data);
}
