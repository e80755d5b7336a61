/* GStreamer RTMFP: one input of rtmfpsink (see gstrtmfpsinkinput.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpsinkinput.h"
#include "gstrtmfpmedia.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_sink_input_debug);
#define GST_CAT_DEFAULT gst_rtmfp_sink_input_debug

/* the ghost pad in front carries the real template; this pad answers
 * caps queries with the kind's caps (get_caps) */
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (GstRtmfpSinkInput, gst_rtmfp_sink_input, GST_TYPE_BASE_SINK);

GstCaps *
gst_rtmfp_sink_input_kind_caps (GstRtmfpSinkInputKind kind)
{
  switch (kind) {
    case GST_RTMFP_SINK_INPUT_VIDEO:
      return gst_caps_from_string (GST_RTMFP_MEDIA_VIDEO_CAPS);
    case GST_RTMFP_SINK_INPUT_AUDIO:
      return gst_caps_from_string (GST_RTMFP_MEDIA_AUDIO_CAPS);
    default:
      return gst_caps_new_empty_simple ("video/x-flv");
  }
}

static GstCaps *
input_get_caps (GstBaseSink * bsink, GstCaps * filter)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);
  GstCaps *caps = gst_rtmfp_sink_input_kind_caps (in->kind);

  if (filter) {
    GstCaps *c = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = c;
  }
  return caps;
}

static gboolean
input_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);

  GST_DEBUG_OBJECT (in, "caps %" GST_PTR_FORMAT, caps);
  return in->funcs->set_caps (in->owner, in, caps);
}

static GstFlowReturn
input_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);

  return in->funcs->render (in->owner, in, buf);
}

static gboolean
input_event (GstBaseSink * bsink, GstEvent * event)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      in->funcs->eos (in->owner, in);
      break;
    case GST_EVENT_FLUSH_STOP:
      in->funcs->flush (in->owner, in);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (gst_rtmfp_sink_input_parent_class)->event
      (bsink, event);
}

static gboolean
input_unlock (GstBaseSink * bsink)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);

  in->funcs->set_flushing (in->owner, in, TRUE);
  return TRUE;
}

static gboolean
input_unlock_stop (GstBaseSink * bsink)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (bsink);

  in->funcs->set_flushing (in->owner, in, FALSE);
  return TRUE;
}

/* A bin disposed with its request pads still there removes its children
 * before it would release the pads: the state goes with the input */
static void
gst_rtmfp_sink_input_finalize (GObject * object)
{
  GstRtmfpSinkInput *in = GST_RTMFP_SINK_INPUT (object);

  if (in->state && in->state_free)
    in->state_free (in->state);
  in->state = NULL;
  G_OBJECT_CLASS (gst_rtmfp_sink_input_parent_class)->finalize (object);
}

static void
gst_rtmfp_sink_input_class_init (GstRtmfpSinkInputClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *bs = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_rtmfp_sink_input_finalize;
  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_sink_input_debug, "rtmfpsinkinput", 0,
      "An input of rtmfpsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "RTMFP sink input",
      "Sink/Network", "One input of rtmfpsink (internal)",
      "gst-rtmfp authors");
  bs->get_caps = GST_DEBUG_FUNCPTR (input_get_caps);
  bs->set_caps = GST_DEBUG_FUNCPTR (input_set_caps);
  bs->render = GST_DEBUG_FUNCPTR (input_render);
  bs->event = GST_DEBUG_FUNCPTR (input_event);
  bs->unlock = GST_DEBUG_FUNCPTR (input_unlock);
  bs->unlock_stop = GST_DEBUG_FUNCPTR (input_unlock_stop);
}

static void
gst_rtmfp_sink_input_init (GstRtmfpSinkInput * in)
{
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (in), FALSE);
}

GstRtmfpSinkInput *
gst_rtmfp_sink_input_new (GstRtmfpSinkInputKind kind,
    const GstRtmfpSinkInputFuncs * funcs, gpointer owner)
{
  static const gchar *const names[] = { "video-input", "audio-input",
    "flv-input"
  };
  GstRtmfpSinkInput *in = g_object_new (GST_TYPE_RTMFP_SINK_INPUT, "name",
      names[kind], NULL);

  in->kind = kind;
  in->funcs = funcs;
  in->owner = owner;
  return in;
}
