/* GStreamer RTMFP plugin: rtmfpsrc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpsrc
 * @title: rtmfpsrc
 * @see_also: rtmfpsink, rtmfpautosrc, flvdemux, rtmp2src
 *
 * Plays a stream over RTMFP (RFC 7016 with the Flash profile of RFC 7425),
 * through an RTMFP server or directly from a peer-to-peer publisher.  It
 * gives the stream two ways, use either or both:
 *
 * - sometimes pads `video` and `audio`: the elementary streams, with the
 *   caps flvdemux would give (H.264 avc with codec_data, VP6, Speex with
 *   the streamheader speexdec wants, AAC with codec_data, Nellymoser), so
 *   a player needs no demuxer.  A lost audio message becomes GAP events,
 *   one per lost frame (speexdec's concealment fills exactly that); after
 *   a lost video message video resumes at the next keyframe, marked
 *   DISCONT, so no corrupted picture reaches the decoder, and the
 *   publisher is asked for a keyframe at once;
 * - the always pad `src`: `video/x-flv` (for flvdemux and playbin, as
 *   rtmp2src gives it), with DISCONT after a gap and true timestamps.
 *
 * A medium the stream does not have (its metadata says so, confirmed by
 * 1 s of stream) still gets its pad, which ends at once with EOS: a player
 * written for audio and video also plays a video-only stream.  An output
 * nobody links costs nothing and is no error.  Every start is
 * coherent, on every output: joining a live stream, a reconnection or a
 * new publisher of the name all begin with the metadata and sequence
 * headers, then video from a keyframe and audio from that keyframe's time
 * (so `queue`s in front of the decoders never fill with audio while video
 * waits).  The source is live and reports 200 ms of latency.
 *
 * While the stream is not published the element posts `rtmfp-waiting`;
 * with #GstRtmfpSrc:idle-timeout it fails naming the stream when nobody
 * publishes it in time.  The stream ends (EOS) when the publisher stops:
 * 3 seconds after NetStream.Play.UnpublishNotify unless the stream is
 * published again meanwhile (a publisher switching protocols or
 * reconnecting: play goes on from its first keyframe), or shortly after
 * StreamEOF.  With #GstRtmfpSrc:auto-reconnect (the default) a lost
 * connection is restored by itself.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 rtmfpsrc name=s location=rtmfp://127.0.0.1/live/cam \
 *     s.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! autovideosink \
 *     s.audio ! queue ! speexdec plc=true ! audioconvert ! autoaudiosink
 * ]| Plays stream "cam" of application "live" (H.264 and Speex).
 * |[
 * gst-launch-1.0 rtmfpsrc location=rtmfp://127.0.0.1/live/cam ! flvdemux name=d \
 *     d.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! autovideosink
 * ]| The same video through flvdemux, as with rtmp2src.
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpelements.h"
#include "gstrtmfpsrc.h"
#include "gstrtmfpsrcout.h"
#include "gstrtmfpobject.h"
#include "gstrtmfpmedia.h"
#include "flvtag.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_src_debug);
#define GST_CAT_DEFAULT gst_rtmfp_src_debug

/* Reported as the minimum latency: the jitter the timestamps (sender
 * paced, anchored at the first message's arrival) are allowed against
 * arrival times. */
#define SRC_LATENCY (200 * GST_MSECOND)

enum
{
  PROP_IDLE_TIMEOUT = 128,
};

struct _GstRtmfpSrc
{
  GstElement parent;

  GstRtmfpObject *obj;
  GstPad *flv_pad;

  /* PLAYING (live: nothing is pushed before) and flushing (lock) */
  GMutex lock;
  GCond cond;
  gboolean playing;
  gboolean flushing;
  /* the task's flushing flag for the object's waits (the object's lock) */
  gboolean obj_flushing;

  /* streaming thread */
  GstRtmfpSrcOut *out;
  gboolean have_first;
  guint64 first_ms;
  GstClockTime first_time;
  RtmfpFlvTsUnwrapper unwrap;
};

static GstStaticPadTemplate flv_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));
static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_SRC_VIDEO_CAPS));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_SRC_AUDIO_CAPS));

#define gst_rtmfp_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpSrc, gst_rtmfp_src, GST_TYPE_ELEMENT,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_settings_uri_handler_init_src));
/* PRIMARY + 1: the librtmp-based rtmpsrc/rtmpsink also claim rtmfp:// */
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (rtmfpsrc, "rtmfpsrc",
    GST_RANK_PRIMARY + 1, GST_TYPE_RTMFP_SRC, rtmfp_element_init (plugin));

/* ------------------------------------------------------------------------ */
/* pads */

static gboolean
src_query (GstPad * pad, GstObject * parent, GstQuery * query)
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
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (parent);
  gboolean ret = FALSE;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CUSTOM_UPSTREAM:
      /* a decoder (or the application) wants a keyframe: the publisher
       * is asked (at most once per round trip) */
      if (gst_event_has_name (event, "GstForceKeyUnit")) {
        gst_rtmfp_object_request_keyframe (self->obj);
        ret = TRUE;
      }
      break;
    case GST_EVENT_RECONFIGURE:
    case GST_EVENT_LATENCY:
    case GST_EVENT_QOS:
      ret = TRUE;
      break;
    default:
      break;                    /* no seeking in a live stream */
  }
  gst_event_unref (event);
  return ret;
}

static GstPad *
out_new_pad (gpointer owner, gboolean video)
{
  GstPad *pad = gst_pad_new_from_static_template (video ? &video_template :
      &audio_template, video ? "video" : "audio");

  gst_pad_set_query_function (pad, GST_DEBUG_FUNCPTR (src_query));
  gst_pad_set_event_function (pad, GST_DEBUG_FUNCPTR (src_event));
  gst_pad_use_fixed_caps (pad);
  gst_pad_set_active (pad, TRUE);
  return pad;
}

static void
out_add_pad (gpointer owner, GstPad * pad)
{
  GST_DEBUG_OBJECT (owner, "new pad %s", GST_PAD_NAME (pad));
  gst_element_add_pad (GST_ELEMENT (owner), pad);
}

static void
out_want_keyframe (gpointer owner)
{
  gst_rtmfp_object_request_keyframe (GST_RTMFP_SRC (owner)->obj);
}

static const GstRtmfpSrcOutFuncs out_funcs = {
  out_new_pad, out_add_pad, out_want_keyframe,
};

static void
remove_sometimes_pads (GstRtmfpSrc * self)
{
  guint i;

  for (i = 0; i < 2 && self->out; i++) {
    GstPad *pad = gst_rtmfp_src_out_get_pad (self->out, i == 0);
    if (pad) {
      gst_pad_set_active (pad, FALSE);
      gst_element_remove_pad (GST_ELEMENT (self), pad);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* the streaming task */

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

/* The sender's clock, anchored at our first arrival */
static GstClockTime
timestamp (GstRtmfpSrc * self, guint32 ts)
{
  guint64 ms = rtmfp_flv_ts_unwrapper_unwrap (&self->unwrap, ts);

  if (!self->have_first) {
    self->have_first = TRUE;
    self->first_ms = ms;
    self->first_time = running_time_now (self);
  }
  if (ms >= self->first_ms)
    return self->first_time + (ms - self->first_ms) * GST_MSECOND;
  return self->first_time > (self->first_ms - ms) * GST_MSECOND ?
      self->first_time - (self->first_ms - ms) * GST_MSECOND : 0;
}

/* Live: nothing goes out before PLAYING.  FALSE when flushing. */
static gboolean
wait_playing (GstRtmfpSrc * self)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  while (!self->playing && !self->flushing)
    g_cond_wait (&self->cond, &self->lock);
  ok = !self->flushing;
  g_mutex_unlock (&self->lock);
  return ok;
}

static void
pause_task (GstRtmfpSrc * self, GstFlowReturn ret)
{
  GST_DEBUG_OBJECT (self, "pausing: %s", gst_flow_get_name (ret));
  gst_pad_pause_task (self->flv_pad);
  if (ret == GST_FLOW_EOS) {
    gst_rtmfp_src_out_eos (self->out);
  } else if (ret != GST_FLOW_FLUSHING) {
    if (ret != GST_FLOW_ERROR)  /* an error of ours is posted already */
      GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_rtmfp_src_out_eos (self->out);
  }
}

static void
src_loop (gpointer data)
{
  GstRtmfpSrc *self = data;
  RtmfpMediaItem *item = NULL;
  GstFlowReturn ret;

  if (!wait_playing (self)) {
    pause_task (self, GST_FLOW_FLUSHING);
    return;
  }
  switch (gst_rtmfp_object_pop (self->obj, &item, &self->obj_flushing)) {
    case GST_RTMFP_OBJECT_WAIT_OK:
      break;
    case GST_RTMFP_OBJECT_WAIT_EOS:
      GST_INFO_OBJECT (self, "end of stream");
      pause_task (self, GST_FLOW_EOS);
      return;
    case GST_RTMFP_OBJECT_WAIT_FLUSHING:
      pause_task (self, GST_FLOW_FLUSHING);
      return;
    default:
      pause_task (self, GST_FLOW_ERROR);
      return;
  }
  GST_LOG_OBJECT (self, "type %u ts %u flags 0x%x lost %u", item->type,
      item->timestamp, item->flags, item->lost);
  ret = gst_rtmfp_src_out_push (self->out, item,
      timestamp (self, item->timestamp));
  rtmfp_media_item_free (item);
  if (ret != GST_FLOW_OK)
    pause_task (self, ret);
}

/* ------------------------------------------------------------------------ */
/* states */

static void
set_flushing (GstRtmfpSrc * self, gboolean flushing)
{
  g_mutex_lock (&self->lock);
  self->flushing = flushing;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_object_set_flushing (self->obj, &self->obj_flushing, flushing);
}

static void
set_playing (GstRtmfpSrc * self, gboolean playing)
{
  g_mutex_lock (&self->lock);
  self->playing = playing;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gboolean
start (GstRtmfpSrc * self)
{
  self->have_first = FALSE;
  rtmfp_flv_ts_unwrapper_init (&self->unwrap);
  self->out = gst_rtmfp_src_out_new (GST_ELEMENT (self), self->flv_pad,
      &out_funcs, self);
  set_flushing (self, FALSE);
  if (!gst_rtmfp_object_start (self->obj))
    return FALSE;
  return gst_pad_start_task (self->flv_pad, src_loop, self, NULL);
}

static void
stop (GstRtmfpSrc * self)
{
  set_flushing (self, TRUE);
  gst_pad_stop_task (self->flv_pad);
  gst_rtmfp_object_stop (self->obj);
  remove_sometimes_pads (self);
  g_clear_pointer (&self->out, gst_rtmfp_src_out_free);
}

static GstStateChangeReturn
gst_rtmfp_src_change_state (GstElement * element, GstStateChange transition)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_pad_set_active (self->flv_pad, TRUE);
      if (!start (self)) {
        stop (self);
        return GST_STATE_CHANGE_FAILURE;
      }
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_playing (self, TRUE);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      set_playing (self, FALSE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop (self);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  /* live: no preroll */
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
      transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

/* ------------------------------------------------------------------------ */
/* properties */

static void
gst_rtmfp_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);
  GstRtmfpSettings *s = gst_rtmfp_object_get_settings (self->obj);

  if (gst_rtmfp_object_set_property_helper (self->obj, prop_id, value, pspec))
    return;
  if (prop_id == PROP_IDLE_TIMEOUT) {
    g_mutex_lock (&s->lock);
    s->idle_timeout = g_value_get_uint (value);
    g_mutex_unlock (&s->lock);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
gst_rtmfp_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);
  GstRtmfpSettings *s = gst_rtmfp_object_get_settings (self->obj);

  if (gst_rtmfp_object_get_property_helper (self->obj, prop_id, value, pspec))
    return;
  if (prop_id == PROP_IDLE_TIMEOUT) {
    g_mutex_lock (&s->lock);
    g_value_set_uint (value, s->idle_timeout);
    g_mutex_unlock (&s->lock);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
gst_rtmfp_src_finalize (GObject * object)
{
  GstRtmfpSrc *self = GST_RTMFP_SRC (object);

  gst_rtmfp_object_destroy (self->obj);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtmfp_src_class_init (GstRtmfpSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_src_debug, "rtmfpsrc", 0,
      "RTMFP source");

  gobject_class->set_property = gst_rtmfp_src_set_property;
  gobject_class->get_property = gst_rtmfp_src_get_property;
  gobject_class->finalize = gst_rtmfp_src_finalize;
  gst_rtmfp_object_install_properties_helper (gobject_class, FALSE);

  /**
   * GstRtmfpSrc:idle-timeout:
   *
   * Seconds the stream may go unpublished (the server says nobody
   * publishes it, or nothing of it came since play started) before the
   * element fails with a RESOURCE NOT_FOUND error naming the stream; 0
   * (the default): wait forever, posting `rtmfp-waiting`.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_IDLE_TIMEOUT,
      g_param_spec_uint ("idle-timeout", "Idle timeout",
          "Seconds to wait for an unpublished stream before failing "
          "(0: forever)", 0, 86400, GST_RTMFP_DEFAULT_IDLE_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &flv_template);
  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_set_static_metadata (element_class, "RTMFP source",
      "Source/Network", "Plays audio and video over RTMFP (RFC 7016/7425), "
      "as elementary streams or FLV", "gst-rtmfp authors");
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtmfp_src_change_state);
}

static void
gst_rtmfp_src_init (GstRtmfpSrc * self)
{
  self->obj = gst_rtmfp_object_new (GST_ELEMENT (self), FALSE);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->flv_pad = gst_pad_new_from_static_template (&flv_template, "src");
  gst_pad_set_query_function (self->flv_pad, GST_DEBUG_FUNCPTR (src_query));
  gst_pad_set_event_function (self->flv_pad, GST_DEBUG_FUNCPTR (src_event));
  gst_pad_use_fixed_caps (self->flv_pad);
  gst_element_add_pad (GST_ELEMENT (self), self->flv_pad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
