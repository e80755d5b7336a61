/* GStreamer rtmfpautosink: publishes over RTMFP, falls back to RTMP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpautosink
 * @title: rtmfpautosink
 * @see_also: rtmfpsink, rtmp2sink, rtmfpautosrc
 *
 * A sink bin that publishes with rtmfpsink and switches to RTMP
 * (rtmp2sink, or rtmpsink where only that is installed) when RTMFP does
 * not work.  It has rtmfpsink's pads, with the same rules: request pads
 * `video` (H.264 avc/au, VP6) and `audio` (Speex 16 kHz mono, AAC,
 * Nellymoser), elementary and each optional, or `sink` (`video/x-flv` from
 * `flvmux streamable=true`); one pad of each kind, FLV not mixed with
 * elementary pads, other codecs refused at caps time with an error naming
 * the codec.  Over RTMP the bin writes the FLV itself from the elementary
 * streams (the same tag bodies as rtmfpsink, timestamps from the running
 * time, one timeline for both pads), so Speex falls back too.
 *
 * The bin falls back when rtmfpsink does not publish within
 * #GstRtmfpAutoSink:rtmfp-timeout seconds of the start (UDP blocked,
 * nothing on the UDP port), when it fails (an error, a flow error), or
 * when its connection is lost and rtmfpsink has not restored it within
 * rtmfp-timeout (from its `rtmfp-reconnecting` message to
 * `rtmfp-reconnected`; rtmfpsink's own timeout is rtmfp-timeout, so it
 * gives up then too).  The decision never reads packet counters.  The new
 * sink gets the stream's sticky events (FLV: the caps with the stream state
 * as streamheader) and media from the next keyframe, which the bin asks
 * upstream for (GstForceKeyUnit).
 *
 * While on RTMP the bin tries RTMFP every #GstRtmfpAutoSink:probe-interval
 * seconds with a second rtmfpsink, which publishes without data: when it
 * publishes, it takes over at the next keyframe; when it reaches the
 * server but the server refuses the name (the RTMP publisher holds it on
 * that server), the bin closes the RTMP sink at the next keyframe and
 * publishes with a new rtmfpsink.
 *
 * Every switch posts an element message `rtmfp-fallback` with the fields
 * `protocol` (now in use: `rtmfp` or `rtmp`), `previous` and `reason`;
 * #GstRtmfpAutoSink:active-protocol tells the protocol in use.  Errors of
 * the children never reach the application while another protocol is
 * left; when both fail the bin posts one error that says why each failed.
 * The children run with async=false (one can replace another while the
 * pipeline plays), so the bin does not preroll.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -e rtmfpautosink name=s location=rtmfp://example.com/live/cam rtmfp-timeout=3 \
 *     videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=30 ! s.video \
 *     audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! speexenc ! s.audio
 * ]| Publishes H.264 and Speex over RTMFP, or over RTMP to
 * rtmp://example.com/live/cam.
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=30 ! \
 *     h264parse ! flvmux streamable=true ! rtmfpautosink location=rtmfp://example.com/live/cam
 * ]| The same through flvmux.
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpautosinkpriv.h"
#include "gstrtmfpfallbackprops.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_auto_sink_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_sink_debug

#define DEFAULT_RTMFP_ELEMENT "rtmfpsink"

enum
{
  PROP_RTMFP_ELEMENT = 128,
  PROP_FALLBACK_ELEMENT,
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_VIDEO_CAPS));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_AUDIO_CAPS));
static GstStaticPadTemplate flv_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("video/x-flv"));

static const gchar *const kind_names[] = { "video", "audio", "sink" };

#define gst_rtmfp_auto_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpAutoSink, gst_rtmfp_auto_sink, GST_TYPE_BIN,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_fallback_uri_handler_init_sink));
/* NONE: like rtmfpautosrc, chosen by name (see docs/user-guide.md) */
GST_ELEMENT_REGISTER_DEFINE (rtmfpautosink, "rtmfpautosink", GST_RANK_NONE,
    GST_TYPE_RTMFP_AUTO_SINK);

static void apply (GstRtmfpAutoSink * self, GstRtmfpFallbackAction action);

/* ------------------------------------------------------------------------ */
/* the active child */

GstRtmfpAutoSinkChild *
gst_rtmfp_auto_sink_get_child (GstRtmfpAutoSink * self)
{
  GstRtmfpAutoSinkChild *c;

  g_mutex_lock (&self->lock);
  c = self->child ? gst_rtmfp_auto_sink_child_ref (self->child) : NULL;
  g_mutex_unlock (&self->lock);
  return c;
}

static void
policy_reschedule_locked (GstRtmfpAutoSink * self)
{
  gst_rtmfp_fallback_timer_set (&self->policy_timer, self->running ?
      gst_rtmfp_fallback_policy_next_timeout (&self->policy) : -1);
}

/* c (started, in the bin) replaces the active child, which goes */
static void
switch_to (GstRtmfpAutoSink * self, GstRtmfpAutoSinkChild * c,
    GstRtmfpFallbackProtocol previous, const gchar * reason)
{
  GstRtmfpAutoSinkChild *old;

  c->replacement = TRUE;
  g_mutex_lock (&self->lock);
  old = self->child;
  self->child = c;
  if (old)
    previous = old->proto;
  self->switches++;
  gst_rtmfp_fallback_policy_switched (&self->policy, c->proto,
      g_get_monotonic_time ());
  policy_reschedule_locked (self);
  GST_OBJECT_LOCK (self);
  self->active_protocol = c->proto;
  GST_OBJECT_UNLOCK (self);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_auto_sink_child_retire (old);
  g_object_notify (G_OBJECT (self), "active-protocol");
  gst_rtmfp_fallback_post_switch (GST_ELEMENT (self), c->proto, previous,
      reason);
}

/* A new started child for proto, or NULL */
static GstRtmfpAutoSinkChild *
start_child (GstRtmfpAutoSink * self, GstRtmfpFallbackProtocol proto)
{
  GstRtmfpAutoSinkChild *c = gst_rtmfp_auto_sink_child_new (self, proto);

  if (c && !gst_element_sync_state_with_parent (c->el))
    GST_WARNING_OBJECT (self, "%" GST_PTR_FORMAT " did not start", c->el);
  return c;
}

static void to_rtmp_locked (GstRtmfpAutoSink * self, const gchar * reason,
    gboolean start);
static void
post_failure (GstRtmfpAutoSink * self)
{
  gchar *rtmfp, *rtmp, *loc;

  g_mutex_lock (&self->lock);
  rtmfp = g_strdup (self->policy.rtmfp_failure ? self->policy.rtmfp_failure
      : self->policy.have_rtmfp ? _("not tried") : _("no RTMFP sink"));
  rtmp = g_strdup (self->policy.rtmp_failure ? self->policy.rtmp_failure :
      self->policy.have_rtmp ? _("not tried") : _("no RTMP sink"));
  g_mutex_unlock (&self->lock);
  GST_OBJECT_LOCK (self);
  loc = g_strdup (self->settings.location);
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
      (_("Could not publish \"%s\" over RTMFP (%s) nor over RTMP (%s)."),
          loc, rtmfp, rtmp), ("every protocol failed"));
  g_free (loc);
  g_free (rtmfp);
  g_free (rtmp);
}

/* RTMP now (RTMFP failed); the state lock held, so that a switch never
 * runs through a state change of the bin */
static void
to_rtmp_locked (GstRtmfpAutoSink * self, const gchar * reason,
    gboolean start)
{
  GstRtmfpAutoSinkChild *c = NULL;
  gboolean wanted;

  g_mutex_lock (&self->lock);
  wanted = self->running && self->child &&
      self->child->proto == GST_RTMFP_FALLBACK_RTMFP;
  g_mutex_unlock (&self->lock);
  if (wanted) {
    c = gst_rtmfp_auto_sink_child_new (self, GST_RTMFP_FALLBACK_RTMP);
    if (c && start)
      gst_element_sync_state_with_parent (c->el);
  }
  if (wanted && !c) {
    g_mutex_lock (&self->lock);
    g_free (self->policy.rtmp_failure);
    self->policy.rtmp_failure = g_strdup (_("no RTMP sink"));
    g_mutex_unlock (&self->lock);
    post_failure (self);
  } else if (wanted) {
    switch_to (self, c, GST_RTMFP_FALLBACK_NONE, reason);
  }
}

/* On a thread of the pool */
static void
to_rtmp_job (GstElement * element, gpointer data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);

  GST_STATE_LOCK (self);
  to_rtmp_locked (self, data, TRUE);
  g_mutex_lock (&self->lock);
  self->to_rtmp = FALSE;
  g_mutex_unlock (&self->lock);
  GST_STATE_UNLOCK (self);
}

/* On a thread of the pool: a probe, an RTMFP sink publishing without
 * data next to the RTMP one */
static void
probe_job (GstElement * element, gpointer data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstRtmfpAutoSinkChild *c = gst_rtmfp_auto_sink_child_new (self,
      GST_RTMFP_FALLBACK_RTMFP);
  gboolean ok;

  if (!c)
    return;
  g_mutex_lock (&self->lock);
  ok = self->running && !self->probe && self->child &&
      self->child->proto == GST_RTMFP_FALLBACK_RTMP;
  if (ok)
    self->probe = c;
  g_mutex_unlock (&self->lock);
  if (!ok) {
    gst_rtmfp_auto_sink_child_retire (c);
    return;
  }
  GST_INFO_OBJECT (self, "probing RTMFP with %" GST_PTR_FORMAT, c->el);
  gst_element_sync_state_with_parent (c->el);
}

static void
apply (GstRtmfpAutoSink * self, GstRtmfpFallbackAction action)
{
  gchar *reason;

  switch (action) {
    case GST_RTMFP_FALLBACK_ACT_TO_RTMP:
      /* once: the failure may be told more than once (error and flow) */
      g_mutex_lock (&self->lock);
      reason = self->to_rtmp ? NULL :
          g_strdup (gst_rtmfp_fallback_policy_get_reason (&self->policy));
      self->to_rtmp = TRUE;
      g_mutex_unlock (&self->lock);
      if (reason)
        gst_rtmfp_fallback_call_async (GST_ELEMENT (self), to_rtmp_job,
            reason, g_free);
      break;
    case GST_RTMFP_FALLBACK_ACT_PROBE:
      gst_rtmfp_fallback_call_async (GST_ELEMENT (self), probe_job, NULL,
          NULL);
      break;
    case GST_RTMFP_FALLBACK_ACT_FAIL:
      g_mutex_lock (&self->lock);
      action = self->failed ? GST_RTMFP_FALLBACK_ACT_NOTHING : action;
      self->failed = TRUE;
      g_mutex_unlock (&self->lock);
      if (action == GST_RTMFP_FALLBACK_ACT_FAIL)
        post_failure (self);
      break;
    default:
      break;
  }
}

static void
policy_timeout (GstElement * element)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstRtmfpFallbackAction action = GST_RTMFP_FALLBACK_ACT_NOTHING;

  g_mutex_lock (&self->lock);
  if (self->running) {
    action = gst_rtmfp_fallback_policy_handle_timeout (&self->policy,
        g_get_monotonic_time ());
    policy_reschedule_locked (self);
  }
  g_mutex_unlock (&self->lock);
  apply (self, action);
}

void
gst_rtmfp_auto_sink_child_failed (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkChild * c, GstFlowReturn ret)
{
  GstRtmfpFallbackAction action = GST_RTMFP_FALLBACK_ACT_NOTHING;
  gchar *why = g_strdup_printf ("the sink returned %s",
      gst_flow_get_name (ret));

  g_mutex_lock (&self->lock);
  if (c == self->child)
    action = gst_rtmfp_fallback_policy_rtmfp_failed (&self->policy, why,
        FALSE, g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);
  g_free (why);
  apply (self, action);
}

/* ------------------------------------------------------------------------ */
/* switching back at a keyframe */

/* The input whose starts time a switch: video, else FLV, else audio */
static gboolean
gates (GstRtmfpAutoSink * self, GstRtmfpAutoSinkInput * in)
{
  if (self->inputs[GST_RTMFP_AUTO_SINK_VIDEO])
    return in->kind == GST_RTMFP_AUTO_SINK_VIDEO;
  if (self->inputs[GST_RTMFP_AUTO_SINK_FLV])
    return in->kind == GST_RTMFP_AUTO_SINK_FLV;
  return TRUE;
}

void
gst_rtmfp_auto_sink_keyframe (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkInput * in)
{
  GstRtmfpAutoSinkChild *c = NULL, *old = NULL;
  gboolean reopen = FALSE;
  gchar *reason = NULL;

  g_mutex_lock (&self->lock);
  if (self->running && gates (self, in) && (self->pending_adopt ||
          self->pending_reopen)) {
    reopen = self->pending_reopen;
    c = self->pending_adopt ? g_steal_pointer (&self->probe) : NULL;
    if (reopen)                 /* the RTMP sink leaves the name first */
      old = g_steal_pointer (&self->child);
    self->pending_adopt = self->pending_reopen = FALSE;
    reason = g_steal_pointer (&self->pending_reason);
  }
  g_mutex_unlock (&self->lock);
  if (reopen) {
    gst_rtmfp_auto_sink_child_retire (old);
    c = start_child (self, GST_RTMFP_FALLBACK_RTMFP);
  }
  if (c)
    switch_to (self, c, GST_RTMFP_FALLBACK_RTMP, reason);
  g_free (reason);
}

gboolean
gst_rtmfp_auto_sink_all_eos (GstRtmfpAutoSink * self,
    GstRtmfpAutoSinkInput * in)
{
  gboolean all = TRUE;
  guint i;

  g_mutex_lock (&self->lock);
  in->eos = TRUE;
  for (i = 0; i < GST_RTMFP_AUTO_SINK_N; i++)
    if (self->inputs[i] && !self->inputs[i]->eos)
      all = FALSE;
  g_mutex_unlock (&self->lock);
  return all;
}

/* ------------------------------------------------------------------------ */
/* what the children say */

static gboolean
says_publishing (const GstStructure * s)
{
  /* rtmfpsink's message; NetStream.Publish.Start from other RTMFP sinks */
  return gst_structure_has_name (s, "rtmfp-publishing") ||
      (gst_structure_has_name (s, "rtmfp-status") &&
      !g_strcmp0 (gst_structure_get_string (s, "code"),
          "NetStream.Publish.Start"));
}

static void
probe_message_locked (GstRtmfpAutoSink * self, const GstStructure * s)
{
  if (says_publishing (s) && !self->pending_reopen) {
    GST_INFO_OBJECT (self, "the probe publishes: RTMFP at the next keyframe");
    self->pending_adopt = TRUE;
    g_free (self->pending_reason);
    self->pending_reason = g_strdup ("RTMFP publishes again");
  } else if (gst_structure_has_name (s, "rtmfp-status") &&
      !g_strcmp0 (gst_structure_get_string (s, "code"),
          "NetConnection.Connect.Success")) {
    self->probe->reached = TRUE;
  }
}

static void
child_element_message (GstRtmfpAutoSink * self, GstElement * el,
    const GstStructure * s)
{
  GstRtmfpAutoSinkChild *c;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  c = self->child;
  if (self->probe && self->probe->el == el) {
    probe_message_locked (self, s);
  } else if (c && c->el == el && c->proto == GST_RTMFP_FALLBACK_RTMFP) {
    if (says_publishing (s))
      gst_rtmfp_fallback_policy_rtmfp_streaming (&self->policy, now);
    else if (gst_structure_has_name (s, "rtmfp-reconnecting"))
      gst_rtmfp_fallback_policy_rtmfp_reconnecting (&self->policy,
          gst_structure_get_string (s, "reason"), now);
    else if (gst_structure_has_name (s, "rtmfp-reconnected"))
      gst_rtmfp_fallback_policy_rtmfp_reconnected (&self->policy, now);
    policy_reschedule_locked (self);
  }
  g_mutex_unlock (&self->lock);
}

static void
retire_job (GstElement * element, gpointer data)
{
  gst_rtmfp_auto_sink_child_retire (data);
}

/* An error of the probe: it goes; if it reached the server (which refused
 * the name the RTMP publisher holds there), RTMFP at the next keyframe */
static void
probe_failed_locked (GstRtmfpAutoSink * self, const gchar * text)
{
  GstRtmfpAutoSinkChild *p = g_steal_pointer (&self->probe);
  gint64 now = g_get_monotonic_time ();

  gst_rtmfp_fallback_policy_rtmfp_failed (&self->policy, text, TRUE, now);
  self->pending_adopt = FALSE;
  if (p->reached) {
    GST_INFO_OBJECT (self, "the RTMFP server answers: RTMFP at the next "
        "keyframe");
    self->pending_reopen = TRUE;
    g_free (self->pending_reason);
    self->pending_reason = g_strdup ("RTMFP server reachable again");
  } else {
    gst_rtmfp_fallback_policy_probe_done (&self->policy, now);
    policy_reschedule_locked (self);
  }
  /* not from this thread: it may be the child's own */
  gst_rtmfp_fallback_call_async (GST_ELEMENT (self), retire_job, p, NULL);
}

static void
child_error (GstRtmfpAutoSink * self, GstElement * el, GstMessage * msg)
{
  gchar *text = gst_rtmfp_fallback_error_text (msg);
  GstRtmfpFallbackAction action = GST_RTMFP_FALLBACK_ACT_NOTHING;
  GstRtmfpAutoSinkChild *c;
  gint64 now = g_get_monotonic_time ();

  GST_INFO_OBJECT (self, "%s: %s", GST_OBJECT_NAME (el), text);
  g_mutex_lock (&self->lock);
  c = self->child;
  if (self->probe && self->probe->el == el)
    probe_failed_locked (self, text);
  else if (c && c->el == el && c->proto == GST_RTMFP_FALLBACK_RTMFP)
    action = gst_rtmfp_fallback_policy_rtmfp_failed (&self->policy, text,
        FALSE, now);
  else if (c && c->el == el)
    action = gst_rtmfp_fallback_policy_rtmp_failed (&self->policy, text, now);
  policy_reschedule_locked (self);
  g_mutex_unlock (&self->lock);
  g_free (text);
  apply (self, action);
}

/* A new sink announces the stream the old one had: not news */
static gboolean
seen_stream_start (GstRtmfpAutoSink * self, GstMessage * msg)
{
  guint32 seqnum = gst_message_get_seqnum (msg);
  gboolean seen;

  g_mutex_lock (&self->lock);
  seen = seqnum == self->stream_start_seqnum;
  self->stream_start_seqnum = seqnum;
  g_mutex_unlock (&self->lock);
  return seen;
}

static void
gst_rtmfp_auto_sink_handle_message (GstBin * bin, GstMessage * msg)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (bin);
  GstElement *el = gst_rtmfp_fallback_find_child (bin, GST_MESSAGE_SRC (msg));
  gboolean drop = FALSE;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_STREAM_START:
      drop = seen_stream_start (self, msg);
      break;
    case GST_MESSAGE_ERROR:
      if ((drop = el != NULL))
        child_error (self, el, msg);
      break;
    case GST_MESSAGE_ELEMENT:
      if (el)
        child_element_message (self, el, gst_message_get_structure (msg));
      break;
    default:
      break;
  }
  gst_clear_object (&el);
  if (drop) {
    GST_DEBUG_OBJECT (self, "swallowed %" GST_PTR_FORMAT, msg);
    gst_message_unref (msg);
    return;
  }
  GST_BIN_CLASS (parent_class)->handle_message (bin, msg);
}

/* ------------------------------------------------------------------------ */
/* pads */

static GstRtmfpAutoSinkKind
kind_of_template (GstPadTemplate * templ)
{
  const gchar *n = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);

  return g_str_equal (n, "video") ? GST_RTMFP_AUTO_SINK_VIDEO :
      g_str_equal (n, "audio") ? GST_RTMFP_AUTO_SINK_AUDIO :
      GST_RTMFP_AUTO_SINK_FLV;
}

/* rtmfpsink's rules (lock held) */
static gboolean
request_allowed (GstRtmfpAutoSink * self, GstRtmfpAutoSinkKind kind)
{
  gboolean flv = self->inputs[GST_RTMFP_AUTO_SINK_FLV] != NULL;
  gboolean elementary = self->inputs[GST_RTMFP_AUTO_SINK_VIDEO] ||
      self->inputs[GST_RTMFP_AUTO_SINK_AUDIO];

  if (self->inputs[kind]) {
    GST_ELEMENT_WARNING (self, CORE, PAD,
        (_("rtmfpautosink has one \"%s\" pad only."), kind_names[kind]),
        ("a second %s pad was requested", kind_names[kind]));
    return FALSE;
  }
  if ((kind == GST_RTMFP_AUTO_SINK_FLV && elementary) ||
      (kind != GST_RTMFP_AUTO_SINK_FLV && flv)) {
    GST_ELEMENT_ERROR (self, CORE, PAD,
        (_("rtmfpautosink takes either FLV (its \"sink\" pad, from flvmux) "
                "or elementary \"video\" and \"audio\" pads, not both.")),
        ("%s pad requested while %s pads exist", kind_names[kind],
            flv ? "the FLV" : "elementary"));
    return FALSE;
  }
  return TRUE;
}

static GstPad *
gst_rtmfp_auto_sink_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstRtmfpAutoSinkKind kind = kind_of_template (templ);
  GstRtmfpAutoSinkInput *in;

  g_mutex_lock (&self->lock);
  if (!request_allowed (self, kind)) {
    g_mutex_unlock (&self->lock);
    return NULL;
  }
  in = gst_rtmfp_auto_sink_input_new (self, kind, templ);
  self->inputs[kind] = in;
  g_mutex_unlock (&self->lock);
  gst_pad_set_active (in->pad, TRUE);
  gst_element_add_pad (element, in->pad);
  return in->pad;
}

static void
gst_rtmfp_auto_sink_release_pad (GstElement * element, GstPad * pad)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstRtmfpAutoSinkInput *in = gst_pad_get_element_private (pad);

  g_mutex_lock (&self->lock);
  if (in && self->inputs[in->kind] == in)
    self->inputs[in->kind] = NULL;
  g_mutex_unlock (&self->lock);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
  gst_rtmfp_auto_sink_input_free (in);
}

/* ------------------------------------------------------------------------ */
/* states */

/* NULL -> READY: the first sink (RTMFP, or RTMP without an RTMFP sink) */
static gboolean
start (GstRtmfpAutoSink * self)
{
  GstRtmfpFallbackPolicy *p = &self->policy;
  GstRtmfpAutoSinkChild *c;
  GstStructure *s = NULL;

  GST_OBJECT_LOCK (self);
  p->rtmfp_timeout_us = (gint64) self->settings.rtmfp_timeout *
      G_USEC_PER_SEC;
  p->probe_interval_us = (gint64) self->settings.probe_interval *
      G_USEC_PER_SEC;
  p->have_rtmfp = gst_rtmfp_fallback_factory_exists (self->rtmfp_element);
  p->have_rtmp = self->fallback_element ?
      gst_rtmfp_fallback_factory_exists (self->fallback_element) :
      gst_rtmfp_fallback_factory_exists ("rtmp2sink") ||
      gst_rtmfp_fallback_factory_exists ("rtmpsink");
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  self->running = TRUE;
  self->failed = self->pending_adopt = self->pending_reopen = FALSE;
  self->to_rtmp = FALSE;
  self->switches = 0;
  self->stream_start_seqnum = 0;
  gst_rtmfp_fallback_policy_start (p, g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);

  c = gst_rtmfp_auto_sink_child_new (self, p->active);
  if (!c) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        (_("No RTMFP or RTMP sink element is installed.")),
        ("no sink for %s", gst_rtmfp_fallback_protocol_name (p->active)));
    return FALSE;
  }
  if (c->proto == GST_RTMFP_FALLBACK_RTMFP &&
      g_object_class_find_property (G_OBJECT_GET_CLASS (c->el), "stats"))
    g_object_get (c->el, "stats", &s, NULL);
  g_mutex_lock (&self->lock);
  self->child = c;
  if (s && !self->stats_tmpl)
    self->stats_tmpl = gst_rtmfp_fallback_stats_template (s);
  g_mutex_unlock (&self->lock);
  if (s)
    gst_structure_free (s);
  GST_OBJECT_LOCK (self);
  self->active_protocol = c->proto;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* READY -> PAUSED: the policy's timers (rtmfp-timeout counts from the
 * start, NULL -> READY) and statistics */
static void
arm (GstRtmfpAutoSink * self)
{
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->settings.stats_interval;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  policy_reschedule_locked (self);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_fallback_timer_set_periodic (&self->stats_timer, interval);
}

static void
stop (GstRtmfpAutoSink * self)
{
  GstRtmfpAutoSinkChild *c, *p;

  g_mutex_lock (&self->lock);
  self->running = FALSE;
  c = g_steal_pointer (&self->child);
  p = g_steal_pointer (&self->probe);
  self->pending_adopt = self->pending_reopen = FALSE;
  gst_rtmfp_fallback_timer_set (&self->policy_timer, -1);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_fallback_timer_set (&self->stats_timer, -1);
  gst_rtmfp_auto_sink_child_retire (c);
  gst_rtmfp_auto_sink_child_retire (p);
}

/* A child did not start.  An RTMFP sink that cannot start (it said why,
 * and the policy has it) leaves the way to RTMP: it stays out of the
 * bin's state changes until retired */
static GstStateChangeReturn
start_failed (GstRtmfpAutoSink * self, GstStateChange transition)
{
  gboolean rtmp;
  gchar *reason;

  g_mutex_lock (&self->lock);
  rtmp = self->child && self->policy.have_rtmp;
  reason = g_strdup (self->policy.reason ? self->policy.reason :
      "RTMFP: the sink did not start");
  g_mutex_unlock (&self->lock);
  if (rtmp) {
    /* here, not in a job: the bin's state change brings it up */
    to_rtmp_locked (self, reason, FALSE);
  } else if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    stop (self);
  }
  g_free (reason);
  return rtmp ? GST_STATE_CHANGE_SUCCESS : GST_STATE_CHANGE_FAILURE;
}

static GstStateChangeReturn
gst_rtmfp_auto_sink_change_state (GstElement * element,
    GstStateChange transition)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !start (self)) {
    stop (self);
    return GST_STATE_CHANGE_FAILURE;
  }
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    arm (self);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    stop (self);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE &&
      (transition == GST_STATE_CHANGE_NULL_TO_READY ||
          transition == GST_STATE_CHANGE_READY_TO_PAUSED)) {
    ret = start_failed (self, transition);
    /* the new child starts with the rest of this state change */
    if (ret == GST_STATE_CHANGE_SUCCESS)
      ret = GST_ELEMENT_CLASS (parent_class)->change_state (element,
          transition);
    if (ret == GST_STATE_CHANGE_FAILURE &&
        transition == GST_STATE_CHANGE_NULL_TO_READY)
      stop (self);
  }
  return ret;
}

/* ------------------------------------------------------------------------ */
/* properties */

static GstStructure *
get_stats (GstRtmfpAutoSink * self)
{
  GstElement *el = NULL;
  GstRtmfpFallbackProtocol proto = GST_RTMFP_FALLBACK_NONE;
  GstStructure *tmpl, *s;
  guint switches;

  g_mutex_lock (&self->lock);
  if (self->child) {
    el = gst_object_ref (self->child->el);
    proto = self->child->proto;
  }
  tmpl = self->stats_tmpl ? gst_structure_copy (self->stats_tmpl) : NULL;
  switches = self->switches;
  g_mutex_unlock (&self->lock);
  s = gst_rtmfp_fallback_stats (el, proto, tmpl, switches);
  gst_clear_object (&el);
  if (tmpl)
    gst_structure_free (tmpl);
  return s;
}

static void
post_stats (GstElement * element)
{
  gst_element_post_message (element, gst_message_new_element (GST_OBJECT
          (element), get_stats (GST_RTMFP_AUTO_SINK (element))));
}

/* The RTMFP sink's peer ID while it publishes (mode direct) */
static gchar *
get_peer_id (GstRtmfpAutoSink * self)
{
  GstElement *el = NULL;
  gchar *id = NULL;

  g_mutex_lock (&self->lock);
  if (self->child && self->child->proto == GST_RTMFP_FALLBACK_RTMFP)
    el = gst_object_ref (self->child->el);
  g_mutex_unlock (&self->lock);
  if (el && g_object_class_find_property (G_OBJECT_GET_CLASS (el),
          "peer-id"))
    g_object_get (el, "peer-id", &id, NULL);
  gst_clear_object (&el);
  return id;
}

static void
gst_rtmfp_auto_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);
  gboolean handled = TRUE;

  GST_OBJECT_LOCK (self);
  if (prop_id == PROP_RTMFP_ELEMENT) {
    g_free (self->rtmfp_element);
    self->rtmfp_element = g_value_dup_string (value);
    if (!self->rtmfp_element)
      self->rtmfp_element = g_strdup (DEFAULT_RTMFP_ELEMENT);
  } else if (prop_id == PROP_FALLBACK_ELEMENT) {
    g_free (self->fallback_element);
    self->fallback_element = g_value_dup_string (value);
    if (self->fallback_element && !*self->fallback_element)
      g_clear_pointer (&self->fallback_element, g_free);
  } else {
    handled = gst_rtmfp_fallback_settings_set (&self->settings, prop_id,
        value);
  }
  GST_OBJECT_UNLOCK (self);
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_rtmfp_auto_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);
  gboolean handled = TRUE;

  if (prop_id == GST_RTMFP_FALLBACK_PROP_STATS) {
    g_value_take_boxed (value, get_stats (self));
    return;
  }
  if (prop_id == GST_RTMFP_FALLBACK_PROP_PEER_ID) {
    g_value_take_string (value, get_peer_id (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  if (prop_id == PROP_RTMFP_ELEMENT)
    g_value_set_string (value, self->rtmfp_element);
  else if (prop_id == PROP_FALLBACK_ELEMENT)
    g_value_set_string (value, self->fallback_element);
  else if (prop_id == GST_RTMFP_FALLBACK_PROP_ACTIVE_PROTOCOL)
    g_value_set_string (value, self->active_protocol ==
        GST_RTMFP_FALLBACK_NONE ? NULL :
        gst_rtmfp_fallback_protocol_name (self->active_protocol));
  else
    handled = gst_rtmfp_fallback_settings_get (&self->settings, prop_id,
        value);
  GST_OBJECT_UNLOCK (self);
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

/* ------------------------------------------------------------------------ */
/* GObject */

static void
gst_rtmfp_auto_sink_finalize (GObject * object)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);
  guint i;

  /* inputs whose pads were never released (gst_parse_launch pipelines):
   * their pads went with the element */
  for (i = 0; i < GST_RTMFP_AUTO_SINK_N; i++)
    gst_rtmfp_auto_sink_input_free (self->inputs[i]);
  gst_rtmfp_fallback_settings_clear (&self->settings);
  gst_rtmfp_fallback_policy_clear (&self->policy);
  gst_rtmfp_fallback_timer_clear (&self->policy_timer);
  gst_rtmfp_fallback_timer_clear (&self->stats_timer);
  g_free (self->rtmfp_element);
  g_free (self->fallback_element);
  g_free (self->pending_reason);
  if (self->stats_tmpl)
    gst_structure_free (self->stats_tmpl);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
install_properties (GObjectClass * klass)
{
  gst_rtmfp_fallback_install_properties (klass, FALSE);

  /**
   * GstRtmfpAutoSink:mode:
   *
   * rtmfpsink's `mode` (`server` or `direct`) over RTMFP; RTMP publishes
   * through the server.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "RTMFP publishing mode (rtmfpsink's "
          "mode)", gst_rtmfp_auto_sink_mode_get_type (), 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:peer-id:
   *
   * rtmfpsink's `peer-id` while RTMFP is in use (for peer-to-peer
   * players in mode `direct`), else NULL.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, GST_RTMFP_FALLBACK_PROP_PEER_ID,
      g_param_spec_string ("peer-id", "Peer ID", "Peer ID of the RTMFP sink "
          "in use (read-only)", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpAutoSink:rtmfp-element:
   *
   * The factory name of the RTMFP sink (tests put stand-ins here).
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, PROP_RTMFP_ELEMENT,
      g_param_spec_string ("rtmfp-element", "RTMFP element",
          "Factory name of the RTMFP sink", DEFAULT_RTMFP_ELEMENT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:fallback-element:
   *
   * The factory name of the RTMP sink; unset: rtmp2sink, or rtmpsink if
   * only that is installed.
   *
   * Since: 1.0
   */
  g_object_class_install_property (klass, PROP_FALLBACK_ELEMENT,
      g_param_spec_string ("fallback-element", "Fallback element",
          "Factory name of the RTMP sink (default: rtmp2sink, else rtmpsink)",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
}

static void
gst_rtmfp_auto_sink_class_init (GstRtmfpAutoSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_sink_debug, "rtmfpautosink", 0,
      "RTMFP sink with RTMP fallback");
  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_sink_input_debug,
      "rtmfpautosinkinput", 0, "The inputs of rtmfpautosink");
  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_sink_child_debug,
      "rtmfpautosinkchild", 0, "The sinks of rtmfpautosink");
  gobject_class->set_property = gst_rtmfp_auto_sink_set_property;
  gobject_class->get_property = gst_rtmfp_auto_sink_get_property;
  gobject_class->finalize = gst_rtmfp_auto_sink_finalize;
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &flv_template);
  gst_element_class_set_static_metadata (element_class,
      "RTMFP sink with RTMP fallback", "Sink/Network",
      "Publishes audio and video over RTMFP, or over RTMP when RTMFP does "
      "not work, switching back when it works again", "gst-rtmfp authors");
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_request_new_pad);
  element_class->release_pad =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_release_pad);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_change_state);
  bin_class->handle_message =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_handle_message);
  gst_type_mark_as_plugin_api (gst_rtmfp_auto_sink_mode_get_type (), 0);
}

static void
gst_rtmfp_auto_sink_init (GstRtmfpAutoSink * self)
{
  g_mutex_init (&self->lock);
  gst_rtmfp_fallback_settings_init (&self->settings);
  self->rtmfp_element = g_strdup (DEFAULT_RTMFP_ELEMENT);
  self->active_protocol = GST_RTMFP_FALLBACK_NONE;
  gst_rtmfp_fallback_timer_init (&self->policy_timer, GST_ELEMENT (self),
      policy_timeout);
  gst_rtmfp_fallback_timer_init (&self->stats_timer, GST_ELEMENT (self),
      post_stats);
  /* the children come and go; the bin is a sink all along */
  gst_bin_set_suppressed_flags (GST_BIN (self),
      GST_ELEMENT_FLAG_SOURCE | GST_ELEMENT_FLAG_SINK);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}

GType
gst_rtmfp_auto_sink_mode_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {0, "Publish through the server", "server"},
    {1, "Publish to peer-to-peer subscribers introduced by the server",
        "direct"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstRtmfpAutoSinkMode", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}
