/* GStreamer rtmfpautosrc: one path, a child source and what it gives (see
 * gstrtmfpautosrcpriv.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpautosrcpriv.h"

GST_DEBUG_CATEGORY (gst_rtmfp_auto_src_path_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_src_path_debug

static GstStaticPadTemplate internal_template =
GST_STATIC_PAD_TEMPLATE ("internal_sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-flv"));

/* What a path gives out, pushed after the locks but out_lock are left */
typedef struct
{
  RtmfpMediaItem *item;
  GstClockTime dts;
} Given;

static void
given_free (gpointer data)
{
  Given *g = data;

  rtmfp_media_item_free (g->item);
  g_free (g);
}

static RtmfpMediaItem *
item_copy (const RtmfpMediaItem * it)
{
  RtmfpMediaItem *c = g_new0 (RtmfpMediaItem, 1);

  *c = *it;
  c->payload = g_bytes_ref (it->payload);
  return c;
}

static GstFlowReturn
collect_given (const RtmfpMediaItem * item, GstClockTime dts, gpointer data)
{
  Given *g = g_new0 (Given, 1);

  g->item = item_copy (item);
  g->dts = dts;
  g_queue_push_tail (data, g);
  return GST_FLOW_OK;
}

static void
collect_item (RtmfpMediaItem * item, gpointer data)
{
  g_queue_push_tail (data, item);
}

/* The time between messages, smoothed (for stalls) */
static void
note_arrival (GstRtmfpAutoSrcPath * p, gint64 now)
{
  if (p->last_arrival_us > 0) {
    gint64 gap = now - p->last_arrival_us;
    p->gap_us = p->gap_us ? (7 * p->gap_us + gap) / 8 : gap;
  }
  p->last_arrival_us = now;
}

/* One message of p (taken), lock held: given out (appended to given),
 * held, or the start of a switch */
static void
handle_item_locked (GstRtmfpAutoSrcPath * p, RtmfpMediaItem * item,
    GstClockTime arrival, GQueue * given)
{
  GstRtmfpAutoSrc *self = p->self;
  GstRtmfpSpliceMsg *m;
  GstFlowReturn r;

  if (p != self->active && p != self->candidate) {
    rtmfp_media_item_free (item);
    return;
  }
  note_arrival (p, g_get_monotonic_time ());
  m = gst_rtmfp_splice_hold_wrap (&p->hold, item, arrival);
  if (p == self->active)
    gst_rtmfp_auto_src_media_locked (self, p);
  if (p == self->active && p->spliced && self->playing) {
    collect_given (m->item, gst_rtmfp_timeline_stamp (&self->tl, m), given);
    gst_rtmfp_splice_msg_free (m);
    return;
  }
  gst_rtmfp_splice_hold_push (&p->hold, m, &self->tl);
  if (!self->playing || !(p == self->active || (p == self->candidate &&
              self->want_switch)))
    return;
  if (!gst_rtmfp_splice_hold_splice (&p->hold, &self->tl, collect_given,
          given, &r))
    return;
  if (p == self->candidate)
    gst_rtmfp_auto_src_take_over_locked (self);
  p->spliced = TRUE;
}

static GstFlowReturn
path_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstRtmfpAutoSrcPath *p = gst_pad_get_element_private (pad);
  GstRtmfpAutoSrc *self = p->self;
  GQueue items = G_QUEUE_INIT, given = G_QUEUE_INIT;
  GstClockTime arrival = gst_rtmfp_auto_src_running_time (self);
  GstFlowReturn ret = GST_FLOW_OK;
  RtmfpMediaItem *it;
  Given *g;

  gst_rtmfp_flv_reader_push (&p->reader, buf, collect_item, &items);
  g_mutex_lock (&self->out_lock);
  g_mutex_lock (&self->lock);
  while ((it = g_queue_pop_head (&items)))
    handle_item_locked (p, it, arrival, &given);
  g_mutex_unlock (&self->lock);
  while ((g = g_queue_pop_head (&given))) {
    if (ret == GST_FLOW_OK)
      ret = gst_rtmfp_auto_src_push (self, g->item, g->dts);
    given_free (g);
  }
  g_mutex_unlock (&self->out_lock);
  return ret;
}

static gboolean
path_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpAutoSrcPath *p = gst_pad_get_element_private (pad);

  /* the outputs make their own stream-start, caps and segment */
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    gst_rtmfp_auto_src_end (p->self, p);
  gst_event_unref (event);
  return TRUE;
}

GstRtmfpAutoSrcPath *
gst_rtmfp_auto_src_path_new (GstRtmfpAutoSrc * self,
    GstRtmfpFallbackProtocol proto)
{
  GstRtmfpAutoSrcPath *p;
  GstElement *src;
  GstPad *srcpad;

  GST_OBJECT_LOCK (self);
  src = gst_rtmfp_fallback_make_child (proto == GST_RTMFP_FALLBACK_RTMFP ?
      "rtmfpsrc" : "rtmp2src", proto, &self->settings);
  GST_OBJECT_UNLOCK (self);
  if (!src)
    return NULL;

  p = g_new0 (GstRtmfpAutoSrcPath, 1);
  p->self = self;
  p->proto = proto;
  p->src = src;
  p->started_us = g_get_monotonic_time ();
  gst_rtmfp_flv_reader_init (&p->reader);
  gst_rtmfp_splice_hold_init (&p->hold);
  p->sinkpad = gst_pad_new_from_static_template (&internal_template,
      proto == GST_RTMFP_FALLBACK_RTMFP ? "rtmfp" : "rtmp");
  gst_object_ref_sink (p->sinkpad);
  gst_pad_set_element_private (p->sinkpad, p);
  gst_pad_set_chain_function (p->sinkpad, path_chain);
  gst_pad_set_event_function (p->sinkpad, path_event);
  gst_pad_set_active (p->sinkpad, TRUE);

  gst_bin_add (GST_BIN (self), src);   /* the bin takes a ref of its own */
  srcpad = gst_element_get_static_pad (src, "src");
  if (!srcpad || gst_pad_link_full (srcpad, p->sinkpad,
          GST_PAD_LINK_CHECK_NOTHING) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT (self, "could not link %" GST_PTR_FORMAT, src);
  gst_clear_object (&srcpad);
  GST_DEBUG_OBJECT (self, "new %s path %" GST_PTR_FORMAT,
      gst_rtmfp_fallback_protocol_name (proto), src);
  return p;
}

gboolean
gst_rtmfp_auto_src_path_start (GstRtmfpAutoSrcPath * p)
{
  return gst_element_sync_state_with_parent (p->src);
}

void
gst_rtmfp_auto_src_path_free (GstRtmfpAutoSrcPath * p)
{
  GstPad *peer;

  if (!p)
    return;
  GST_DEBUG_OBJECT (p->self, "retiring %" GST_PTR_FORMAT, p->src);
  gst_element_set_locked_state (p->src, TRUE);
  gst_element_set_state (p->src, GST_STATE_NULL);
  if ((peer = gst_pad_get_peer (p->sinkpad))) {
    gst_pad_unlink (peer, p->sinkpad);
    gst_object_unref (peer);
  }
  gst_pad_set_active (p->sinkpad, FALSE);
  gst_object_unref (p->sinkpad);
  gst_bin_remove (GST_BIN (p->self), p->src);
  gst_object_unref (p->src);
  gst_rtmfp_flv_reader_clear (&p->reader);
  gst_rtmfp_splice_hold_clear (&p->hold);
  g_free (p);
}

static void
retire_job (GstElement * element, gpointer data)
{
  gst_rtmfp_auto_src_path_free (data);
}

void
gst_rtmfp_auto_src_path_retire (GstRtmfpAutoSrcPath * p)
{
  if (p)
    gst_rtmfp_fallback_call_async (GST_ELEMENT (p->self), retire_job, p,
        NULL);
}
