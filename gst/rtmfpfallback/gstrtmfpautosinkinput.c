/* GStreamer rtmfpautosink: its inputs, the request pads (see
 * gstrtmfpautosinkpriv.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpautosinkpriv.h"

GST_DEBUG_CATEGORY (gst_rtmfp_auto_sink_input_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_sink_input_debug

/* attempts for one buffer when the child is replaced meanwhile */
#define MAX_ATTEMPTS 3

/* Running time of a buffer in ms (DTS first), and PTS - DTS */
static guint32
running_ms (GstRtmfpAutoSinkInput * in, GstBuffer * buf, gint32 * cts)
{
  GstSegment *seg = NULL;
  GstEvent *ev = gst_pad_get_sticky_event (in->pad, GST_EVENT_SEGMENT, 0);
  GstClockTime pts = GST_CLOCK_TIME_NONE, dts = GST_CLOCK_TIME_NONE;

  *cts = 0;
  if (ev) {
    gst_event_parse_segment (ev, (const GstSegment **) & seg);
    if (seg->format == GST_FORMAT_TIME) {
      pts = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
          GST_BUFFER_PTS (buf));
      dts = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
          GST_BUFFER_DTS (buf));
    }
    gst_event_unref (ev);
  }
  if (!GST_CLOCK_TIME_IS_VALID (dts))
    dts = pts;
  if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (dts) &&
      pts > dts)
    *cts = (gint32) MIN ((pts - dts) / GST_MSECOND, 0x7fffff);
  return GST_CLOCK_TIME_IS_VALID (dts) ? (guint32) (dts / GST_MSECOND) : 0;
}

static gboolean
is_video (GstRtmfpAutoSinkInput * in)
{
  return in->kind == GST_RTMFP_AUTO_SINK_VIDEO ||
      (in->kind == GST_RTMFP_AUTO_SINK_FLV && in->cache.has_video);
}

typedef struct
{
  GstPad *route;
  GstCaps *caps;
} Replay;

static gboolean
replay_sticky (GstPad * pad, GstEvent ** event, gpointer data)
{
  Replay *r = data;
  GstEvent *ev = *event;

  if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS ||
      GST_EVENT_TYPE (ev) == GST_EVENT_STREAM_GROUP_DONE)
    return TRUE;
  ev = GST_EVENT_TYPE (ev) == GST_EVENT_CAPS && r->caps ?
      gst_event_new_caps (r->caps) : gst_event_ref (ev);
  gst_pad_push_event (r->route, ev);
  return TRUE;
}

/* A child this input has not fed yet: the stream's sticky events (FLV:
 * caps with the stream state as streamheader), then from a keyframe */
static void
prime (GstRtmfpAutoSinkInput * in, GstRtmfpAutoSinkChild * c, GstPad * route,
    GstRtmfpFlvWriter * writer)
{
  Replay r = { route, NULL };
  GstCaps *caps;

  GST_DEBUG_OBJECT (in->pad, "starting on %" GST_PTR_FORMAT, c->el);
  /* the first sink gets the stream from its start; a later one from a
   * keyframe */
  in->state_in_caps = in->primed != 0 || c->replacement;
  in->need_key = in->state_in_caps && is_video (in);
  in->primed = c->gen;
  if (writer) {
    if (in->have_fmt)
      gst_rtmfp_flv_writer_set_format (writer, &in->fmt);
  } else {
    caps = gst_pad_get_current_caps (in->pad);
    if (caps && in->kind == GST_RTMFP_AUTO_SINK_FLV)
      r.caps = gst_rtmfp_flv_cache_make_caps (&in->cache, caps);
    gst_pad_sticky_events_foreach (in->pad, replay_sticky, &r);
    gst_clear_caps (&r.caps);
    gst_clear_caps (&caps);
  }
  /* the new sink starts at once, not at the end of the GOP */
  if (in->need_key)
    gst_pad_push_event (in->pad, gst_event_new_custom
        (GST_EVENT_CUSTOM_UPSTREAM, gst_structure_new ("GstForceKeyUnit",
                "all-headers", G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT,
                0, NULL)));
}

static GstFlowReturn
push (GstRtmfpAutoSinkInput * in, GstPad * route, GstRtmfpFlvWriter * writer,
    GstBuffer * buf)
{
  guint32 ts;
  gint32 cts;

  if (!writer)
    return gst_pad_push (route, gst_buffer_ref (buf));
  ts = running_ms (in, buf, &cts);
  return gst_rtmfp_flv_writer_push (writer,
      in->kind == GST_RTMFP_AUTO_SINK_VIDEO, buf, ts, cts);
}

/* Is a start for a sink that waits for one?  *state_only: FLV stream
 * state (kept for the next sink's caps, not sent now) */
static gboolean
is_start (GstRtmfpAutoSinkInput * in, GstBuffer * buf,
    const GstRtmfpFlvScan * scan)
{
  if (in->kind == GST_RTMFP_AUTO_SINK_FLV)
    return scan->keyframe || (!in->cache.has_video && !scan->headers_only);
  /* audio: speexenc's header packets are no start.  Video: a keyframe
   * that carries its parameter sets is one (h264parse flags an access unit
   * with SPS/PPS as HEADER: x264enc's byte-stream repeats them at every
   * keyframe) */
  if (in->kind == GST_RTMFP_AUTO_SINK_AUDIO)
    return !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER);
  return !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
}

static void
push_state_caps (GstRtmfpAutoSinkInput * in, GstPad * route)
{
  GstCaps *caps = gst_pad_get_current_caps (in->pad), *sh;

  if (!caps)
    return;
  sh = gst_rtmfp_flv_cache_make_caps (&in->cache, caps);
  gst_pad_push_event (route, gst_event_new_caps (sh));
  gst_caps_unref (sh);
  gst_caps_unref (caps);
}

/* One attempt of buf on the child of the moment.  *again: that child was
 * replaced meanwhile (or failed): try the next one */
static GstFlowReturn
push_once (GstRtmfpAutoSinkInput * in, GstBuffer * buf,
    const GstRtmfpFlvScan * scan, gboolean * again)
{
  GstRtmfpAutoSinkChild *c = gst_rtmfp_auto_sink_get_child (in->self), *now;
  GstRtmfpFlvWriter *writer = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  GstPad *route;

  *again = FALSE;
  if (!c)
    return GST_FLOW_OK;         /* between sinks: dropped */
  route = gst_rtmfp_auto_sink_child_route (c, in, &writer);
  if (in->primed != c->gen)
    prime (in, c, route, writer);
  if (in->state_in_caps && in->kind == GST_RTMFP_AUTO_SINK_FLV &&
      scan->headers_only) {
    /* stream state: the sink has it in its caps, newer goes there too */
    if (scan->changed)
      push_state_caps (in, route);
  } else if (in->need_key && !is_start (in, buf, scan)) {
    GST_LOG_OBJECT (in->pad, "waiting for a keyframe");
  } else {
    in->need_key = in->state_in_caps = FALSE;
    ret = push (in, route, writer, buf);
  }
  gst_object_unref (route);
  if (ret != GST_FLOW_OK && !GST_PAD_IS_FLUSHING (in->pad)) {
    now = gst_rtmfp_auto_sink_get_child (in->self);
    *again = now != c;
    if (!*again && c->proto == GST_RTMFP_FALLBACK_RTMFP &&
        ret != GST_FLOW_FLUSHING) {
      gst_rtmfp_auto_sink_child_failed (in->self, c, ret);
      ret = GST_FLOW_OK;        /* the next buffer goes to RTMP */
    } else if (!*again && ret == GST_FLOW_FLUSHING) {
      ret = GST_FLOW_OK;        /* a sink being replaced */
    }
    if (now)
      gst_rtmfp_auto_sink_child_unref (now);
  }
  gst_rtmfp_auto_sink_child_unref (c);
  return ret;
}

static GstFlowReturn
input_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstRtmfpAutoSinkInput *in = gst_pad_get_element_private (pad);
  GstRtmfpFlvScan scan = { 0 };
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean again = TRUE;
  guint attempt;

  if (in->kind == GST_RTMFP_AUTO_SINK_FLV)
    gst_rtmfp_flv_cache_scan (&in->cache, buf, &scan);
  if (is_start (in, buf, &scan))
    gst_rtmfp_auto_sink_keyframe (in->self, in);
  for (attempt = 0; again && attempt < MAX_ATTEMPTS; attempt++)
    ret = push_once (in, buf, &scan, &again);
  gst_buffer_unref (buf);
  return ret;
}

/* ------------------------------------------------------------------------ */
/* events */

/* Elementary caps: RTMFP carries them, or an error naming the codec */
static gboolean
elementary_caps (GstRtmfpAutoSinkInput * in, GstCaps * caps)
{
  GstRtmfpMediaFormat fmt;
  gchar *reason = NULL;

  if (!gst_rtmfp_media_format_from_caps (caps,
          in->kind == GST_RTMFP_AUTO_SINK_VIDEO, &fmt, &reason)) {
    GST_ELEMENT_ERROR (in->self, STREAM, CODEC_NOT_FOUND, ("%s", reason),
        ("refused caps %" GST_PTR_FORMAT, caps));
    g_free (reason);
    return FALSE;
  }
  gst_rtmfp_media_format_clear (&in->fmt);
  in->fmt = fmt;
  in->have_fmt = TRUE;
  return TRUE;
}

/* Passes a serialized event on to the child of the moment */
static gboolean
forward (GstRtmfpAutoSinkInput * in, GstEvent * event)
{
  GstRtmfpAutoSinkChild *c = gst_rtmfp_auto_sink_get_child (in->self);
  GstRtmfpFlvWriter *writer = NULL;
  GstPad *route;
  gboolean ret = TRUE, sticky = GST_EVENT_IS_STICKY (event);

  if (!c) {
    gst_event_unref (event);
    return TRUE;
  }
  route = gst_rtmfp_auto_sink_child_route (c, in, &writer);
  if (in->primed != c->gen) {
    /* the sticky events go with the first buffer */
    gst_event_unref (event);
  } else if (writer) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS && in->have_fmt)
      gst_rtmfp_flv_writer_set_format (writer, &in->fmt);
    gst_event_unref (event);    /* the writer makes its own */
  } else {
    ret = gst_pad_push_event (route, event);
  }
  gst_object_unref (route);
  gst_rtmfp_auto_sink_child_unref (c);
  /* a sticky event a sink did not take goes to the next one */
  return ret || sticky;
}

static gboolean
input_eos (GstRtmfpAutoSinkInput * in, GstEvent * event)
{
  GstRtmfpAutoSinkChild *c;
  GstRtmfpFlvWriter *writer = NULL;
  GstPad *route;

  if (!gst_rtmfp_auto_sink_all_eos (in->self, in) ||
      !(c = gst_rtmfp_auto_sink_get_child (in->self)) ||
      c->proto == GST_RTMFP_FALLBACK_RTMFP ||
      in->kind == GST_RTMFP_AUTO_SINK_FLV)
    return forward (in, event);
  /* RTMP with the writer: its own end once every input ended */
  route = gst_rtmfp_auto_sink_child_route (c, in, &writer);
  if (writer)
    gst_rtmfp_flv_writer_eos (writer);
  gst_object_unref (route);
  gst_rtmfp_auto_sink_child_unref (c);
  gst_event_unref (event);
  return TRUE;
}

static gboolean
input_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpAutoSinkInput *in = gst_pad_get_element_private (pad);
  GstCaps *caps;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      gst_event_parse_caps (event, &caps);
      if (in->kind == GST_RTMFP_AUTO_SINK_FLV)
        gst_rtmfp_flv_cache_scan_caps (&in->cache, caps);
      else if (!elementary_caps (in, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_EOS:
      return input_eos (in, event);
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&in->self->lock);
      in->eos = FALSE;
      g_mutex_unlock (&in->self->lock);
      break;
    default:
      break;
  }
  return forward (in, event);
}

/* Caps: what the template says (the sinks come and go, and every one
 * takes what the template names) */
static gboolean
input_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  return gst_pad_query_default (pad, parent, query);
}

GstRtmfpAutoSinkInput *
gst_rtmfp_auto_sink_input_new (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkKind kind, GstPadTemplate * templ)
{
  GstRtmfpAutoSinkInput *in = g_new0 (GstRtmfpAutoSinkInput, 1);

  in->self = self;
  in->kind = kind;
  in->pad = gst_pad_new_from_template (templ,
      GST_PAD_TEMPLATE_NAME_TEMPLATE (templ));
  gst_pad_set_element_private (in->pad, in);
  gst_pad_set_chain_function (in->pad, GST_DEBUG_FUNCPTR (input_chain));
  gst_pad_set_event_function (in->pad, GST_DEBUG_FUNCPTR (input_event));
  gst_pad_set_query_function (in->pad, GST_DEBUG_FUNCPTR (input_query));
  return in;
}

void
gst_rtmfp_auto_sink_input_free (GstRtmfpAutoSinkInput * in)
{
  if (!in)
    return;
  gst_rtmfp_media_format_clear (&in->fmt);
  gst_rtmfp_flv_cache_clear (&in->cache);
  g_free (in);
}
