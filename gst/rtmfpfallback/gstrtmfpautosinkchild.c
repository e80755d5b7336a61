/* GStreamer rtmfpautosink: its children, the publishing sinks (see
 * gstrtmfpautosinkpriv.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpautosinkpriv.h"

GST_DEBUG_CATEGORY (gst_rtmfp_auto_sink_child_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_sink_child_debug

static GstStaticPadTemplate route_template =
GST_STATIC_PAD_TEMPLATE ("route_%s", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS_ANY);

static const gchar *const kind_names[] = { "video", "audio", "sink" };

/* The factory of the RTMP sink: fallback-element, else rtmp2sink or
 * rtmpsink, whichever is installed (OBJECT_LOCK) */
static const gchar *
rtmp_factory (GstRtmfpAutoSink * self)
{
  if (self->fallback_element)
    return self->fallback_element;
  if (gst_rtmfp_fallback_factory_exists ("rtmp2sink"))
    return "rtmp2sink";
  return gst_rtmfp_fallback_factory_exists ("rtmpsink") ? "rtmpsink" : NULL;
}

GstRtmfpAutoSinkChild *
gst_rtmfp_auto_sink_child_new (GstRtmfpAutoSink * self,
    GstRtmfpFallbackProtocol proto)
{
  GstRtmfpAutoSinkChild *c;
  GstElement *el;

  GST_OBJECT_LOCK (self);
  el = gst_rtmfp_fallback_make_child (proto == GST_RTMFP_FALLBACK_RTMFP ?
      self->rtmfp_element : rtmp_factory (self), proto, &self->settings);
  GST_OBJECT_UNLOCK (self);
  if (!el)
    return NULL;
  c = g_new0 (GstRtmfpAutoSinkChild, 1);
  c->refcount = 1;              /* the bin's */
  c->self = self;
  c->el = el;
  c->proto = proto;
  g_mutex_init (&c->lock);
  g_mutex_lock (&self->lock);
  c->gen = ++self->next_gen;
  g_mutex_unlock (&self->lock);
  gst_bin_add (GST_BIN (self), el);     /* the bin takes a ref of its own */
  GST_DEBUG_OBJECT (self, "new %s sink %" GST_PTR_FORMAT,
      gst_rtmfp_fallback_protocol_name (proto), el);
  return c;
}

GstRtmfpAutoSinkChild *
gst_rtmfp_auto_sink_child_ref (GstRtmfpAutoSinkChild * c)
{
  g_atomic_int_inc (&c->refcount);
  return c;
}

void
gst_rtmfp_auto_sink_child_unref (GstRtmfpAutoSinkChild * c)
{
  guint i;

  if (!c || !g_atomic_int_dec_and_test (&c->refcount))
    return;
  for (i = 0; i < GST_RTMFP_AUTO_SINK_N; i++)
    gst_clear_object (&c->routes[i]);
  gst_rtmfp_flv_writer_free (c->writer);
  gst_object_unref (c->el);
  g_mutex_clear (&c->lock);
  g_free (c);
}

/* Upstream events from the child: its requests for a keyframe go up the
 * input (rtmfpsink asks after a reconnection, players ask after a loss) */
static gboolean
route_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpAutoSinkInput *in = gst_pad_get_element_private (pad);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM &&
      gst_event_has_name (event, "GstForceKeyUnit"))
    return gst_pad_push_event (in->pad, event);
  gst_event_unref (event);
  return TRUE;
}

static gboolean
route_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstRtmfpAutoSinkInput *in = gst_pad_get_element_private (pad);

  return gst_pad_peer_query (in->pad, query);
}

/* The child's pad for an input kind (ref), requested if need be */
static GstPad *
child_pad (GstRtmfpAutoSinkChild * c, GstRtmfpAutoSinkKind kind)
{
  const gchar *name = c->proto == GST_RTMFP_FALLBACK_RTMP ? "sink" :
      kind_names[kind];
  GstPad *p = gst_element_get_static_pad (c->el, name);

  return p ? p : gst_element_request_pad_simple (c->el, name);
}

static GstPad *
make_route (GstRtmfpAutoSinkChild * c, GstRtmfpAutoSinkInput * in)
{
  GstPad *peer = child_pad (c, in->kind), *route;
  gchar *name = g_strdup_printf ("route_%s", kind_names[in->kind]);

  route = gst_pad_new_from_static_template (&route_template, name);
  g_free (name);
  gst_object_ref_sink (route);
  gst_pad_set_element_private (route, in);
  gst_pad_set_event_function (route, route_event);
  gst_pad_set_query_function (route, route_query);
  gst_pad_set_active (route, TRUE);
  if (!peer || gst_pad_link_full (route, peer, GST_PAD_LINK_CHECK_NOTHING)
      != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT (c->self, "%" GST_PTR_FORMAT " has no pad for %s",
        c->el, kind_names[in->kind]);
  gst_clear_object (&peer);
  return route;
}

GstPad *
gst_rtmfp_auto_sink_child_route (GstRtmfpAutoSinkChild * c,
    GstRtmfpAutoSinkInput * in, GstRtmfpFlvWriter ** writer)
{
  GstRtmfpAutoSink *self = c->self;
  gboolean elementary = in->kind != GST_RTMFP_AUTO_SINK_FLV;
  gboolean video, audio;
  GstPad *route;

  g_mutex_lock (&self->lock);
  video = self->inputs[GST_RTMFP_AUTO_SINK_VIDEO] != NULL;
  audio = self->inputs[GST_RTMFP_AUTO_SINK_AUDIO] != NULL;
  g_mutex_lock (&c->lock);
  g_mutex_unlock (&self->lock);
  if (!c->routes[in->kind]) {
    if (c->proto == GST_RTMFP_FALLBACK_RTMP && elementary && c->writer) {
      /* both elementary inputs share the writer's route */
      c->routes[in->kind] = gst_object_ref (c->routes[in->kind ^ 1]);
    } else {
      c->routes[in->kind] = make_route (c, in);
      if (c->proto == GST_RTMFP_FALLBACK_RTMP && elementary)
        c->writer = gst_rtmfp_flv_writer_new (c->routes[in->kind], video,
            audio);
    }
  }
  route = gst_object_ref (c->routes[in->kind]);
  *writer = c->writer;
  g_mutex_unlock (&c->lock);
  return route;
}

void
gst_rtmfp_auto_sink_child_retire (GstRtmfpAutoSinkChild * c)
{
  guint i;

  if (!c)
    return;
  GST_DEBUG_OBJECT (c->self, "retiring %" GST_PTR_FORMAT, c->el);
  /* down before the next sink publishes: an RTMP publisher must have left
   * the server before an RTMFP one publishes the same name.  Input
   * threads blocked in it return FLUSHING and push again. */
  gst_element_set_locked_state (c->el, TRUE);
  gst_element_set_state (c->el, GST_STATE_NULL);
  g_mutex_lock (&c->lock);
  for (i = 0; i < GST_RTMFP_AUTO_SINK_N; i++) {
    GstPad *peer = c->routes[i] ? gst_pad_get_peer (c->routes[i]) : NULL;

    if (peer) {
      gst_pad_unlink (c->routes[i], peer);
      /* the pads we requested go back (rtmfpsink frees its input) */
      if (GST_PAD_TEMPLATE (GST_PAD_PAD_TEMPLATE (peer)) &&
          GST_PAD_TEMPLATE_PRESENCE (GST_PAD_PAD_TEMPLATE (peer)) ==
          GST_PAD_REQUEST)
        gst_element_release_request_pad (c->el, peer);
      gst_object_unref (peer);
    }
    if (c->routes[i])
      gst_pad_set_active (c->routes[i], FALSE);
  }
  g_mutex_unlock (&c->lock);
  gst_bin_remove (GST_BIN (c->self), c->el);
  gst_rtmfp_auto_sink_child_unref (c);
}
