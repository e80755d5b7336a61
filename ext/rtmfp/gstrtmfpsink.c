/* GStreamer RTMFP plugin: rtmfpsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpsink
 * @title: rtmfpsink
 * @see_also: rtmfpsrc, rtmfpautosink, flvmux, rtmp2sink
 *
 * Publishes audio and video over RTMFP (RFC 7016 with the Flash profile of
 * RFC 7425), through an RTMFP server or directly to peer-to-peer players.
 * RTMFP carries each medium on its own flow, so the sink takes them
 * separately, with no muxer in between:
 *
 * - request pad `video`: H.264 (`video/x-h264`, avc, one access unit per
 *   buffer, as h264parse or x264enc give it), VP6 or VP6 alpha;
 * - request pad `audio`: Speex at 16 kHz mono (speexenc), AAC (raw, as
 *   avenc_aac or aacparse give it) or Nellymoser;
 * - or request pad `sink`: `video/x-flv` from `flvmux streamable=true`,
 *   for pipelines written for rtmp2sink (`flvmux ! rtmfpsink`).
 *
 * Each pad is optional and works on its own (a silent microphone never
 * holds video back, nor the reverse; a camera that starts after the
 * microphone does not hold the audio: #GstRtmfpSink:async is FALSE by
 * default).  Sequence headers (codec_data) and
 * metadata (generated from the caps) are sent reliably, and again when
 * they change; audio and video frames are abandoned once older than
 * #GstRtmfpSink:audio-lifetime / #GstRtmfpSink:video-lifetime, and inter
 * frames still queued when a new keyframe comes are dropped, so a
 * congested path loses frames instead of piling up delay.  Timestamps are
 * the buffers' running time, one timeline for both pads.  Other codecs are
 * refused at caps time with an error naming the codec and what to use.
 *
 * At EOS (of every pad) the sink ends the stream once its media flows
 * are complete and closes the session, so players get the last frames and
 * then their end of stream; `gst-launch-1.0 -e` exits at once after.
 *
 * Once the server has the stream the sink posts an element message
 * `rtmfp-publishing` (`location`, `stream`, `mode`, `peer-id`), which
 * `gst-launch-1.0 -m` shows: with #GstRtmfpSink:mode `direct`, players
 * need that peer ID (or `peer-id=auto` on rtmfpsrc with rtmfp-server).
 * With #GstRtmfpSink:auto-reconnect (the default) a lost connection is
 * restored by itself (see the property), and players' requests for a
 * keyframe (after a loss) become GstForceKeyUnit events upstream.
 *
 * The sink reports what the path carries: an element message
 * `rtmfp-bandwidth` (`rate-estimate-kbps`, `delivery-rate-kbps`,
 * `app-limited`, `rtt-ms`, `loss`, `audio-kbps`, `bitrate`, `encoder`,
 * `congestion-control`) whenever the session's rate estimate moves by more
 * than 10 % (at most once a second) and at each bitrate change.  With
 * #GstRtmfpSink:adapt-bitrate it also makes the stream fit the path, by
 * setting the upstream video encoder's bitrate (see the property);
 * #GstRtmfpSink:congestion-control chooses the controller behind the
 * estimate.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e rtmfpsink name=s location=rtmfp://127.0.0.1/live/cam \
 *     videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=60 ! s.video \
 *     audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! speexenc ! s.audio
 * ]| Publishes H.264 video and Speex audio as stream "cam" of application
 * "live" (play it with rtmfpsrc).
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! x264enc tune=zerolatency ! flvmux streamable=true ! \
 *     rtmfpsink location=rtmfp://127.0.0.1/live/cam
 * ]| The same video through flvmux, as with rtmp2sink.
 * |[
 * gst-launch-1.0 -m -e rtmfpsink name=s location=rtmfp://127.0.0.1/live/cam adapt-bitrate=true \
 *     videotestsrc is-live=true ! x264enc tune=zerolatency bitrate=1500 ! s.video \
 *     audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! speexenc ! s.audio
 * ]| x264enc's bitrate follows the path (up to its 1500 kbit/s); -m shows
 * the `rtmfp-bandwidth` messages.
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
#include "gstrtmfpsinkinput.h"
#include "gstrtmfpsinkflv.h"
#include "gstrtmfpobject.h"
#include "gstrtmfpmedia.h"
#include "gstrtmfpadapt.h"
#include "rtmfptcclient.h"
#include "flvtag.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_sink_debug);
#define GST_CAT_DEFAULT gst_rtmfp_sink_debug

enum
{
  PROP_MODE = 128,
  PROP_AUDIO_LIFETIME,
  PROP_VIDEO_LIFETIME,
  PROP_SYNC,
  PROP_ASYNC,
  PROP_ADAPT_BITRATE,
  PROP_MIN_BITRATE,
  PROP_MAX_BITRATE,
};

#define DEFAULT_MODE GST_RTMFP_SINK_MODE_SERVER
#define DEFAULT_SYNC TRUE
#define DEFAULT_ASYNC FALSE
#define N_KINDS 3

/* What the sink keeps per elementary input (its streaming thread) */
typedef struct
{
  GstRtmfpMediaFormat fmt;
  gboolean have_fmt;
  GBytes *pending_header;       /* sequence header to send first */
  GBytes *sent_header;          /* the last one sent */
  guint32 last_ts;
} InputState;

struct _GstRtmfpSink
{
  GstBin parent;

  GstRtmfpObject *obj;
  GstRtmfpAdapt *adapt;         /* rtmfp-bandwidth, adapt-bitrate */

  /* properties (OBJECT_LOCK) */
  GstRtmfpSinkMode mode;
  gboolean sync;
  gboolean async;

  /* the inputs and the stream state they share (lock); never held while
   * waiting on the object */
  GMutex lock;
  GstRtmfpSinkInput *inputs[N_KINDS];
  gboolean metadata_dirty;
  guint n_eos;
  GstRtmfpFlvInput *flv;
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_VIDEO_CAPS));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_AUDIO_CAPS));
static GstStaticPadTemplate flv_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("video/x-flv"));

#define gst_rtmfp_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpSink, gst_rtmfp_sink, GST_TYPE_BIN,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_settings_uri_handler_init_sink));
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

static InputState *
input_state (GstRtmfpSinkInput * in)
{
  return in->state;
}

static void
input_state_free (InputState * st)
{
  gst_rtmfp_media_format_clear (&st->fmt);
  if (st->pending_header)
    g_bytes_unref (st->pending_header);
  if (st->sent_header)
    g_bytes_unref (st->sent_header);
  g_free (st);
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

/* ------------------------------------------------------------------------ */
/* the inputs' work (each on its own streaming thread) */

static gboolean
elementary_caps (GstRtmfpSink * self, GstRtmfpSinkInput * in, GstCaps * caps)
{
  InputState *st = input_state (in);
  GstRtmfpMediaFormat fmt;
  gchar *reason = NULL;

  if (!gst_rtmfp_media_format_from_caps (caps,
          in->kind == GST_RTMFP_SINK_INPUT_VIDEO, &fmt, &reason)) {
    GST_ELEMENT_ERROR (self, STREAM, CODEC_NOT_FOUND, ("%s", reason),
        ("refused caps %" GST_PTR_FORMAT, caps));
    g_free (reason);
    return FALSE;
  }
  g_mutex_lock (&self->lock);
  gst_rtmfp_media_format_clear (&st->fmt);
  st->fmt = fmt;
  st->have_fmt = TRUE;
  if (st->pending_header)
    g_bytes_unref (st->pending_header);
  st->pending_header = NULL;
  /* a new SPS/PPS or AAC config goes out before the next frame */
  if (fmt.sequence_header && !(st->sent_header &&
          g_bytes_equal (st->sent_header, fmt.sequence_header)))
    st->pending_header = g_bytes_ref (fmt.sequence_header);
  self->metadata_dirty = TRUE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
input_set_caps (gpointer owner, GstRtmfpSinkInput * in, GstCaps * caps)
{
  GstRtmfpSink *self = owner;

  if (in->kind == GST_RTMFP_SINK_INPUT_FLV)
    return gst_rtmfp_flv_input_set_caps (self->flv, caps);
  return elementary_caps (self, in, caps);
}

/* onMetaData from the formats of the moment, if they changed (lock) */
static GBytes *
take_metadata (GstRtmfpSink * self)
{
  GstRtmfpSinkInput *v = self->inputs[GST_RTMFP_SINK_INPUT_VIDEO];
  GstRtmfpSinkInput *a = self->inputs[GST_RTMFP_SINK_INPUT_AUDIO];
  InputState *vs = v ? input_state (v) : NULL;
  InputState *as = a ? input_state (a) : NULL;

  if (!self->metadata_dirty)
    return NULL;
  self->metadata_dirty = FALSE;
  return gst_rtmfp_media_metadata (vs && vs->have_fmt ? &vs->fmt : NULL,
      as && as->have_fmt ? &as->fmt : NULL, v != NULL, a != NULL);
}

/* Running time of the buffer in ms (DTS first), and the composition time
 * offset (PTS - DTS) */
static guint32
buffer_time (GstRtmfpSinkInput * in, GstBuffer * buf, gint32 * cts)
{
  GstSegment *seg = &GST_BASE_SINK (in)->segment;
  GstClockTime pts = GST_BUFFER_PTS (buf), dts = GST_BUFFER_DTS (buf);
  GstClockTime rt_pts = GST_CLOCK_TIME_NONE, rt_dts = GST_CLOCK_TIME_NONE;

  if (GST_CLOCK_TIME_IS_VALID (pts))
    rt_pts = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
  if (GST_CLOCK_TIME_IS_VALID (dts))
    rt_dts = gst_segment_to_running_time (seg, GST_FORMAT_TIME, dts);
  if (!GST_CLOCK_TIME_IS_VALID (rt_dts))
    rt_dts = rt_pts;
  *cts = 0;
  if (GST_CLOCK_TIME_IS_VALID (rt_pts) && GST_CLOCK_TIME_IS_VALID (rt_dts) &&
      rt_pts > rt_dts)
    *cts = (gint32) MIN ((rt_pts - rt_dts) / GST_MSECOND, 0x7fffff);
  if (!GST_CLOCK_TIME_IS_VALID (rt_dts))
    return input_state (in) ? input_state (in)->last_ts : 0;
  return (guint32) (rt_dts / GST_MSECOND);
}

/* Waits until the stream is published (the first buffer of each input) */
static GstFlowReturn
wait_published (GstRtmfpSink * self, GstRtmfpSinkInput * in)
{
  return wait_result_to_flow (gst_rtmfp_object_wait_streaming (self->obj,
          &in->flushing));
}

static GstFlowReturn
send (GstRtmfpSink * self, GstRtmfpSinkInput * in, guint8 type, guint32 ts,
    GBytes * payload, guint flags)
{
  return wait_result_to_flow (gst_rtmfp_object_send (self->obj, type, ts,
          payload, flags, &in->flushing));
}

/* Metadata and this input's sequence header, if they changed */
static GstFlowReturn
send_state (GstRtmfpSink * self, GstRtmfpSinkInput * in, guint32 ts)
{
  InputState *st = input_state (in);
  GstFlowReturn ret = GST_FLOW_OK;
  GBytes *md, *hdr;

  g_mutex_lock (&self->lock);
  md = take_metadata (self);
  hdr = st->pending_header;
  st->pending_header = NULL;
  g_mutex_unlock (&self->lock);

  if (md)
    ret = send (self, in, RTMFP_FLV_TAG_TYPE_SCRIPT, ts, md,
        RTMFP_TC_CLIENT_SEND_RELIABLE);
  if (hdr && ret == GST_FLOW_OK) {
    ret = send (self, in, st->fmt.video ? RTMFP_FLV_TAG_TYPE_VIDEO :
        RTMFP_FLV_TAG_TYPE_AUDIO, ts, hdr, RTMFP_TC_CLIENT_SEND_RELIABLE);
    if (ret == GST_FLOW_OK) {
      if (st->sent_header)
        g_bytes_unref (st->sent_header);
      st->sent_header = g_bytes_ref (hdr);
    }
  }
  if (ret != GST_FLOW_OK) {
    /* not sent: again next time */
    g_mutex_lock (&self->lock);
    if (md)
      self->metadata_dirty = TRUE;
    if (hdr && !st->pending_header)
      st->pending_header = g_bytes_ref (hdr);
    g_mutex_unlock (&self->lock);
  }
  if (md)
    g_bytes_unref (md);
  if (hdr)
    g_bytes_unref (hdr);
  return ret;
}

static GstFlowReturn
render_elementary (GstRtmfpSink * self, GstRtmfpSinkInput * in,
    GstBuffer * buf)
{
  InputState *st = input_state (in);
  GstFlowReturn ret;
  guint32 ts;
  gint32 cts;
  guint flags = 0;
  GBytes *body;

  if (!st->have_fmt)
    return GST_FLOW_NOT_NEGOTIATED;
  ts = buffer_time (in, buf, &cts);
  st->last_ts = ts;
  ret = send_state (self, in, ts);
  if (ret != GST_FLOW_OK)
    return ret;
  /* speexenc's header packets: FLV Speex has none */
  if (st->fmt.codec == RTMFP_FLV_SOUND_SPEEX && !st->fmt.video &&
      GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER))
    return GST_FLOW_OK;
  if (st->fmt.video && !GST_BUFFER_FLAG_IS_SET (buf,
          GST_BUFFER_FLAG_DELTA_UNIT))
    flags |= RTMFP_TC_CLIENT_SEND_KEYFRAME;
  body = gst_rtmfp_media_tag_body (&st->fmt, buf, cts);
  ret = send (self, in, st->fmt.video ? RTMFP_FLV_TAG_TYPE_VIDEO :
      RTMFP_FLV_TAG_TYPE_AUDIO, ts, body, flags);
  g_bytes_unref (body);
  return ret;
}

typedef struct
{
  GstRtmfpSink *self;
  GstRtmfpSinkInput *in;
} FlvSend;

static GstFlowReturn
flv_send (guint8 type, guint32 ts, GBytes * payload, guint flags,
    gpointer data)
{
  FlvSend *fs = data;

  return send (fs->self, fs->in, type, ts, payload, flags);
}

static GstFlowReturn
input_render (gpointer owner, GstRtmfpSinkInput * in, GstBuffer * buf)
{
  GstRtmfpSink *self = owner;
  GstFlowReturn ret = wait_published (self, in);
  FlvSend fs = { self, in };

  if (ret != GST_FLOW_OK)
    return ret;
  if (in->kind == GST_RTMFP_SINK_INPUT_FLV)
    return gst_rtmfp_flv_input_push (self->flv, buf, flv_send, &fs);
  return render_elementary (self, in, buf);
}

/* EOS on one input: H.264 ends with an end of sequence (as flvmux
 * writes); once every input has it, the stream ends (orderly close: the
 * media flows complete first) */
static void
input_eos (gpointer owner, GstRtmfpSinkInput * in)
{
  GstRtmfpSink *self = owner;
  InputState *st = input_state (in);
  gboolean last;
  guint i, n = 0;

  if (st && st->have_fmt) {
    GBytes *eos = gst_rtmfp_media_end_of_sequence (&st->fmt);
    if (eos) {
      send (self, in, RTMFP_FLV_TAG_TYPE_VIDEO, st->last_ts, eos,
          RTMFP_TC_CLIENT_SEND_RELIABLE);
      g_bytes_unref (eos);
    }
  }
  g_mutex_lock (&self->lock);
  if (!in->eos) {
    in->eos = TRUE;
    self->n_eos++;
  }
  for (i = 0; i < N_KINDS; i++)
    n += self->inputs[i] != NULL;
  last = self->n_eos >= n;
  g_mutex_unlock (&self->lock);
  if (last) {
    GST_DEBUG_OBJECT (self, "EOS on every input: closing the stream");
    gst_rtmfp_object_close (self->obj, &in->flushing);
  }
}

static void
input_flush (gpointer owner, GstRtmfpSinkInput * in)
{
  GstRtmfpSink *self = owner;

  g_mutex_lock (&self->lock);
  if (in->eos) {
    in->eos = FALSE;
    self->n_eos--;
  }
  g_mutex_unlock (&self->lock);
  if (in->kind == GST_RTMFP_SINK_INPUT_FLV)
    gst_rtmfp_flv_input_flush (self->flv);
}

static void
input_set_flushing (gpointer owner, GstRtmfpSinkInput * in,
    gboolean flushing)
{
  gst_rtmfp_object_set_flushing (((GstRtmfpSink *) owner)->obj,
      &in->flushing, flushing);
}

static const GstRtmfpSinkInputFuncs input_funcs = {
  input_set_caps, input_render, input_eos, input_flush, input_set_flushing,
};

/* ------------------------------------------------------------------------ */
/* pads */

static GstRtmfpSinkInputKind
kind_of_template (GstPadTemplate * templ)
{
  const gchar *n = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);

  return g_str_equal (n, "video") ? GST_RTMFP_SINK_INPUT_VIDEO :
      g_str_equal (n, "audio") ? GST_RTMFP_SINK_INPUT_AUDIO :
      GST_RTMFP_SINK_INPUT_FLV;
}

/* NULL if the request is refused (lock) */
static gboolean
request_allowed (GstRtmfpSink * self, GstRtmfpSinkInputKind kind)
{
  static const gchar *const names[] = { "video", "audio", "sink" };
  gboolean flv = self->inputs[GST_RTMFP_SINK_INPUT_FLV] != NULL;
  gboolean elementary = self->inputs[GST_RTMFP_SINK_INPUT_VIDEO] ||
      self->inputs[GST_RTMFP_SINK_INPUT_AUDIO];

  if (self->inputs[kind]) {
    GST_ELEMENT_WARNING (self, CORE, PAD,
        (_("rtmfpsink has one \"%s\" pad only."), names[kind]),
        ("a second %s pad was requested", names[kind]));
    return FALSE;
  }
  if ((kind == GST_RTMFP_SINK_INPUT_FLV && elementary) ||
      (kind != GST_RTMFP_SINK_INPUT_FLV && flv)) {
    GST_ELEMENT_ERROR (self, CORE, PAD,
        (_("rtmfpsink takes either FLV (its \"sink\" pad, from flvmux) or "
                "elementary \"video\" and \"audio\" pads, not both.")),
        ("%s pad requested while %s pads exist", names[kind],
            flv ? "the FLV" : "elementary"));
    return FALSE;
  }
  return TRUE;
}

static GstPad *
gst_rtmfp_sink_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (element);
  GstRtmfpSinkInputKind kind = kind_of_template (templ);
  GstRtmfpSinkInput *in;
  GstPad *target, *ghost;
  gboolean sync, async;

  g_mutex_lock (&self->lock);
  if (!request_allowed (self, kind)) {
    g_mutex_unlock (&self->lock);
    return NULL;
  }
  in = gst_rtmfp_sink_input_new (kind, &input_funcs, self);
  if (kind != GST_RTMFP_SINK_INPUT_FLV) {
    in->state = g_new0 (InputState, 1);
    in->state_free = (GDestroyNotify) input_state_free;
  }
  self->inputs[kind] = in;
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  sync = self->sync;
  async = self->async;
  GST_OBJECT_UNLOCK (self);
  gst_base_sink_set_sync (GST_BASE_SINK (in), sync);
  gst_base_sink_set_async_enabled (GST_BASE_SINK (in), async);
  gst_bin_add (GST_BIN (self), GST_ELEMENT (in));
  target = gst_element_get_static_pad (GST_ELEMENT (in), "sink");
  ghost = gst_ghost_pad_new_from_template (GST_PAD_TEMPLATE_NAME_TEMPLATE
      (templ), target, templ);
  gst_object_unref (target);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  gst_element_sync_state_with_parent (GST_ELEMENT (in));
  GST_DEBUG_OBJECT (self, "new %s pad", GST_PAD_NAME (ghost));
  return ghost;
}

static void
gst_rtmfp_sink_release_pad (GstElement * element, GstPad * pad)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (element);
  GstPad *target = gst_ghost_pad_get_target (GST_GHOST_PAD (pad));
  GstRtmfpSinkInput *in = target ?
      GST_RTMFP_SINK_INPUT (gst_pad_get_parent_element (target)) : NULL;

  if (target)
    gst_object_unref (target);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
  if (!in)
    return;
  gst_element_set_state (GST_ELEMENT (in), GST_STATE_NULL);
  g_mutex_lock (&self->lock);
  self->inputs[in->kind] = NULL;
  if (in->eos)
    self->n_eos--;
  g_mutex_unlock (&self->lock);
  if (in->state)
    input_state_free (in->state);
  in->state = NULL;
  gst_bin_remove (GST_BIN (self), GST_ELEMENT (in));
  gst_object_unref (in);
}

/* ------------------------------------------------------------------------ */
/* states */

static void
reset_stream (GstRtmfpSink * self)
{
  guint i;

  g_mutex_lock (&self->lock);
  self->metadata_dirty = TRUE;
  self->n_eos = 0;
  for (i = 0; i < N_KINDS; i++) {
    GstRtmfpSinkInput *in = self->inputs[i];
    InputState *st = in ? input_state (in) : NULL;

    if (in)
      in->eos = FALSE;
    if (!st)
      continue;
    g_clear_pointer (&st->sent_header, g_bytes_unref);
    g_clear_pointer (&st->pending_header, g_bytes_unref);
    if (st->have_fmt && st->fmt.sequence_header)
      st->pending_header = g_bytes_ref (st->fmt.sequence_header);
  }
  gst_rtmfp_flv_input_reset (self->flv);
  g_mutex_unlock (&self->lock);
}

static GstStateChangeReturn
gst_rtmfp_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (element);
  GstStateChangeReturn ret;
  GstRtmfpSinkMode mode;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    mode = self->mode;
    GST_OBJECT_UNLOCK (self);
    {
      GstRtmfpSettings *s = gst_rtmfp_object_get_settings (self->obj);
      g_mutex_lock (&s->lock);
      s->direct = mode == GST_RTMFP_SINK_MODE_DIRECT;
      g_mutex_unlock (&s->lock);
    }
    reset_stream (self);
    gst_rtmfp_adapt_reset (self->adapt);
    if (!gst_rtmfp_object_start (self->obj))
      return GST_STATE_CHANGE_FAILURE;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
          ret == GST_STATE_CHANGE_FAILURE))
    gst_rtmfp_object_stop (self->obj);
  return ret;
}

/* ------------------------------------------------------------------------ */
/* properties */

/* sync / async, on the inputs too */
static void
set_sink_flag (GstRtmfpSink * self, gboolean async, gboolean value)
{
  guint i;

  GST_OBJECT_LOCK (self);
  if (async)
    self->async = value;
  else
    self->sync = value;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  for (i = 0; i < N_KINDS; i++) {
    GstBaseSink *in = (GstBaseSink *) self->inputs[i];
    if (in && async)
      gst_base_sink_set_async_enabled (in, value);
    else if (in)
      gst_base_sink_set_sync (in, value);
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_rtmfp_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpSink *self = GST_RTMFP_SINK (object);
  GstRtmfpSettings *s = gst_rtmfp_object_get_settings (self->obj);

  if (gst_rtmfp_object_set_property_helper (self->obj, prop_id, value, pspec))
    return;
  switch (prop_id) {
    case PROP_MODE:
      GST_OBJECT_LOCK (self);
      self->mode = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_AUDIO_LIFETIME:
      g_mutex_lock (&s->lock);
      s->audio_lifetime = g_value_get_uint (value);
      g_mutex_unlock (&s->lock);
      break;
    case PROP_VIDEO_LIFETIME:
      g_mutex_lock (&s->lock);
      s->video_lifetime = g_value_get_uint (value);
      g_mutex_unlock (&s->lock);
      break;
    case PROP_SYNC:
      set_sink_flag (self, FALSE, g_value_get_boolean (value));
      break;
    case PROP_ASYNC:
      set_sink_flag (self, TRUE, g_value_get_boolean (value));
      break;
    case PROP_ADAPT_BITRATE:
      gst_rtmfp_adapt_set_enabled (self->adapt, g_value_get_boolean (value));
      break;
    case PROP_MIN_BITRATE:
      gst_rtmfp_adapt_set_min_bitrate (self->adapt, g_value_get_uint (value));
      break;
    case PROP_MAX_BITRATE:
      gst_rtmfp_adapt_set_max_bitrate (self->adapt, g_value_get_uint (value));
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
  GstRtmfpSettings *s = gst_rtmfp_object_get_settings (self->obj);

  if (gst_rtmfp_object_get_property_helper (self->obj, prop_id, value, pspec))
    return;
  switch (prop_id) {
    case PROP_MODE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->mode);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_AUDIO_LIFETIME:
      g_mutex_lock (&s->lock);
      g_value_set_uint (value, s->audio_lifetime);
      g_mutex_unlock (&s->lock);
      break;
    case PROP_VIDEO_LIFETIME:
      g_mutex_lock (&s->lock);
      g_value_set_uint (value, s->video_lifetime);
      g_mutex_unlock (&s->lock);
      break;
    case PROP_SYNC:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->sync);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ASYNC:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->async);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ADAPT_BITRATE:
      g_value_set_boolean (value, gst_rtmfp_adapt_get_enabled (self->adapt));
      break;
    case PROP_MIN_BITRATE:
      g_value_set_uint (value, gst_rtmfp_adapt_get_min_bitrate (self->adapt));
      break;
    case PROP_MAX_BITRATE:
      g_value_set_uint (value, gst_rtmfp_adapt_get_max_bitrate (self->adapt));
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
  gst_rtmfp_adapt_free (self->adapt);
  gst_rtmfp_flv_input_free (self->flv);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * gobject_class)
{
  /**
   * GstRtmfpSink:mode:
   *
   * How the stream is published: through the server (`server`, the
   * default), or to peer-to-peer subscribers introduced by the server
   * (`direct`, RFC 7425 5.4): the element keeps a NetConnection to the
   * server (connect + setPeerInfo with its interface addresses), accepts
   * the sessions of the subscribers the server introduces (rtmfpsrc with
   * #GstRtmfpSrc:peer-id set to this element's #GstRtmfpSink:peer-id, or
   * `auto` with rtmfp-server) and serves each its own flows, starting at
   * the metadata, the sequence headers and a fresh keyframe.  It posts
   * `rtmfp-peer-connected` and `rtmfp-peer-disconnected` element messages
   * (fields `peer-id`, `address`, `rtt-ms`) and lists the subscribers in
   * the `peers` array of #GstRtmfpSink:stats.
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

  /**
   * GstRtmfpSink:sync:
   *
   * Send each buffer at its running time on the pipeline clock (as
   * GstBaseSink's `sync`): a file or another non-live source is then sent
   * in real time.  With live sources, FALSE sends at once.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_SYNC,
      g_param_spec_boolean ("sync", "Sync",
          "Send buffers at their running time on the clock",
          DEFAULT_SYNC, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpSink:async:
   *
   * Go to PAUSED asynchronously, prerolling each input (as GstBaseSink's
   * `async`): the pipeline then reaches PLAYING only once every input has
   * had data, so a camera that starts a second or two after the
   * microphone holds the audio back until then.  FALSE (the default, the
   * inputs being independent flows of a live publisher): every input
   * sends as soon as it has data, and the pipeline changes state without
   * data, e.g. when the sink is added to a running pipeline.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_ASYNC,
      g_param_spec_boolean ("async", "Async",
          "Go asynchronously to PAUSED (preroll)", DEFAULT_ASYNC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpSink:adapt-bitrate:
   *
   * Make the stream fit the path: set the bitrate of the video encoder
   * upstream of the `video` pad (or of flvmux's video input on the `sink`
   * pad) from the session's rate estimate.  The sink walks upstream
   * through parsers, queues, capsfilters, tees and bins to the first
   * element whose class says "Encoder"; supported are x264enc, x265enc,
   * nvh264enc, vaapih264enc, vah264enc (`bitrate`, kbit/s), openh264enc
   * and avenc_* (`bitrate`, bit/s), vp8enc and vp9enc (`target-bitrate`,
   * bit/s); another encoder is left alone (a warning in the debug log).
   * The video bitrate follows clamp (0.85 x estimate - audio bitrate,
   * #GstRtmfpSink:min-bitrate, #GstRtmfpSink:max-bitrate): down at once
   * when the estimate falls below the stream, up by at most 25 % (15 %
   * while the estimate is application limited) every 2 s, changes under
   * 5 % ignored.  The `rtmfp-bandwidth` element message reports each
   * change (field `bitrate`).  Can be switched on and off while playing
   * (on again: from the encoder's bitrate of the moment).
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_ADAPT_BITRATE,
      g_param_spec_boolean ("adapt-bitrate", "Adapt bitrate",
          "Set the upstream video encoder's bitrate from the session's rate "
          "estimate (x264enc, openh264enc, avenc_*, vp8enc ...)",
          GST_RTMFP_ADAPT_DEFAULT_ENABLED, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstRtmfpSink:min-bitrate:
   *
   * With #GstRtmfpSink:adapt-bitrate, the lowest video bitrate set, in
   * kbit/s (the unit of x264enc's `bitrate`; converted for encoders in
   * bit/s).  Above #GstRtmfpSink:max-bitrate, max-bitrate wins.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_MIN_BITRATE,
      g_param_spec_uint ("min-bitrate", "Minimum bitrate",
          "With adapt-bitrate: the lowest video bitrate to set, kbit/s",
          1, GST_RTMFP_ADAPT_MAX_KBPS, GST_RTMFP_ADAPT_DEFAULT_MIN_BITRATE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstRtmfpSink:max-bitrate:
   *
   * With #GstRtmfpSink:adapt-bitrate, the highest video bitrate set, in
   * kbit/s.  0 (default): the encoder's own bitrate when adaptation
   * starts (the stream never goes above what the pipeline asked for).
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_MAX_BITRATE,
      g_param_spec_uint ("max-bitrate", "Maximum bitrate",
          "With adapt-bitrate: the highest video bitrate to set, kbit/s "
          "(0: the encoder's bitrate at the start)", 0,
          GST_RTMFP_ADAPT_MAX_KBPS, GST_RTMFP_ADAPT_DEFAULT_MAX_BITRATE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

static void
gst_rtmfp_sink_class_init (GstRtmfpSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_sink_debug, "rtmfpsink", 0,
      "RTMFP sink");
  gst_rtmfp_adapt_class_init ();

  gobject_class->set_property = gst_rtmfp_sink_set_property;
  gobject_class->get_property = gst_rtmfp_sink_get_property;
  gobject_class->finalize = gst_rtmfp_sink_finalize;
  gst_rtmfp_object_install_properties_helper (gobject_class, TRUE);
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &flv_template);
  gst_element_class_set_static_metadata (element_class, "RTMFP sink",
      "Sink/Network", "Publishes audio and video over RTMFP (RFC 7016/7425)",
      "gst-rtmfp authors");
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_rtmfp_sink_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_rtmfp_sink_release_pad);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_rtmfp_sink_change_state);
  gst_type_mark_as_plugin_api (GST_TYPE_RTMFP_SINK_MODE, 0);
}

static void
gst_rtmfp_sink_init (GstRtmfpSink * self)
{
  self->obj = gst_rtmfp_object_new (GST_ELEMENT (self), TRUE);
  self->adapt = gst_rtmfp_adapt_new (GST_ELEMENT (self));
  gst_rtmfp_object_set_bandwidth_func (self->obj, gst_rtmfp_adapt_on_sample,
      self->adapt);
  self->mode = DEFAULT_MODE;
  self->sync = DEFAULT_SYNC;
  self->async = DEFAULT_ASYNC;
  g_mutex_init (&self->lock);
  self->flv = gst_rtmfp_flv_input_new (GST_ELEMENT (self));
}
