/* GStreamer rtmfpautosrc: plays over RTMFP, falls back to RTMP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpautosrc
 * @title: rtmfpautosrc
 * @see_also: rtmfpsrc, rtmp2src, rtmfpautosink
 *
 * A source bin that plays a stream with rtmfpsrc and switches to RTMP
 * (rtmp2src) when RTMFP does not work: when RTMFP is not playing within
 * #GstRtmfpAutoSrc:rtmfp-timeout seconds of the start (UDP blocked,
 * nothing listening on the UDP port), when rtmfpsrc fails, or when its
 * connection is lost and rtmfpsrc has not restored it (its own
 * auto-reconnect: `rtmfp-reconnecting` ... `rtmfp-reconnected`) within
 * rtmfp-timeout.  While on RTMP it tries RTMFP again every
 * #GstRtmfpAutoSrc:probe-interval seconds with a second rtmfpsrc, which
 * takes over at its first keyframe later than what was played.
 *
 * The output goes on across a switch, on the same pads as rtmfpsrc's (the
 * always pad `src` with `video/x-flv`, and the sometimes pads `video` and
 * `audio` with the caps flvdemux gives), with the same caps, no EOS and no
 * error: the new protocol starts with the stream state (metadata and
 * sequence headers), then video from a keyframe and audio from that
 * keyframe's time, marked DISCONT.  Timestamps are the publisher's,
 * anchored once at the running time of the first message, so they stay
 * monotonic and true when both protocols carry the publisher's clock (the
 * same server, or servers that relay timestamps unchanged); a source with
 * a clock of its own is anchored again at its arrival.  When RTMFP media
 * stops coming (for 4 times its usual spacing, at least 0.5 s) the bin
 * starts the RTMP source in the background, so that a switch finds media
 * from that moment on: the media lost to an outage is then at most one
 * GOP, though the switch itself waits for the decision above.
 *
 * Every switch posts an element message `rtmfp-fallback` with the fields
 * `protocol` (now in use: `rtmfp` or `rtmp`), `previous` and `reason`;
 * #GstRtmfpAutoSrc:active-protocol tells the protocol in use.  Errors of
 * the children never reach the application while another protocol is
 * left; when both fail the bin posts one error that says why each failed.
 *
 * The bin handles `rtmfp://` URIs with rank NONE, so playbin and
 * uridecodebin keep choosing rtmfpsrc (rank PRIMARY + 1) unless asked: the
 * fallback connects to a second address (TCP) that the URI does not name,
 * and probes in the background, which an application should choose.  To
 * let playbin use it, raise its rank, e.g.
 * `GST_PLUGIN_FEATURE_RANK=rtmfpautosrc:MAX gst-play-1.0 rtmfp://...`, or
 * gst_plugin_feature_set_rank() in the application.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtmfpautosrc name=s location=rtmfp://example.com/live/cam rtmfp-timeout=3 \
 *     s.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! autovideosink \
 *     s.audio ! queue ! speexdec ! audioconvert ! autoaudiosink
 * ]| Plays over RTMFP, or over RTMP from rtmp://example.com/live/cam.
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpautosrcpriv.h"
#include "gstrtmfpfallbackprops.h"
#include "gstrtmfpmedia.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_auto_src_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_src_debug

/* as rtmfpsrc */
#define SRC_LATENCY (200 * GST_MSECOND)
/* how often the RTMFP media is looked at (stalls, standby) */
#define WATCH_MS 250
#define STALL_MIN_US (500 * G_TIME_SPAN_MILLISECOND)
/* an RTMP path standing by is dropped once RTMFP flowed this long again */
#define STANDBY_KEEP_US (5 * G_TIME_SPAN_SECOND)
/* an EOS of a child is its end unless its error follows this soon */
#define END_GRACE_US (500 * G_TIME_SPAN_MILLISECOND)

static GstStaticPadTemplate flv_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));
static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_SRC_VIDEO_CAPS));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (GST_RTMFP_MEDIA_SRC_AUDIO_CAPS));

#define gst_rtmfp_auto_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstRtmfpAutoSrc, gst_rtmfp_auto_src, GST_TYPE_BIN,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_rtmfp_fallback_uri_handler_init_src));
/* NONE: see the section above (playbin keeps rtmfpsrc unless asked) */
GST_ELEMENT_REGISTER_DEFINE (rtmfpautosrc, "rtmfpautosrc", GST_RANK_NONE,
    GST_TYPE_RTMFP_AUTO_SRC);

static void request_candidate_locked (GstRtmfpAutoSrc * self,
    GstRtmfpFallbackProtocol proto, gboolean probe, gboolean want);

/* ------------------------------------------------------------------------ */
/* the outputs */

GstClockTime
gst_rtmfp_auto_src_running_time (GstRtmfpAutoSrc * self)
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

/* out_lock held */
GstFlowReturn
gst_rtmfp_auto_src_push (GstRtmfpAutoSrc * self, const RtmfpMediaItem * item,
    GstClockTime dts)
{
  GstFlowReturn ret;

  if (!self->out)
    return GST_FLOW_FLUSHING;
  ret = gst_rtmfp_src_out_push (self->out, item, dts);
  if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING || ret == GST_FLOW_EOS)
    return ret;
  /* ours to say (a child would take it for its own failure) */
  GST_ELEMENT_FLOW_ERROR (self, ret);
  return GST_FLOW_FLUSHING;
}

void
gst_rtmfp_auto_src_end (GstRtmfpAutoSrc * self, GstRtmfpAutoSrcPath * p)
{
  g_mutex_lock (&self->lock);
  if (p == self->active && self->running) {
    p->ended = TRUE;
    gst_rtmfp_fallback_timer_set (&self->end_timer, g_get_monotonic_time ()
        + END_GRACE_US);
  }
  g_mutex_unlock (&self->lock);
}

/* END_GRACE after an EOS of the active child without its error */
static void
end_timeout (GstElement * element)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (element);
  GstRtmfpAutoSrcPath *a;
  gboolean end;

  g_mutex_lock (&self->out_lock);
  g_mutex_lock (&self->lock);
  a = self->active;
  end = self->running && a && a->ended && !a->failed && self->out;
  g_mutex_unlock (&self->lock);
  if (end) {
    GST_INFO_OBJECT (self, "the stream ended (%s)",
        gst_rtmfp_fallback_protocol_name (a->proto));
    gst_rtmfp_src_out_eos (self->out);
  }
  g_mutex_unlock (&self->out_lock);
}

/* The active child's src pad, to ask it for a keyframe (ref) */
static GstPad *
active_sinkpad (GstRtmfpAutoSrc * self)
{
  GstPad *pad = NULL;

  g_mutex_lock (&self->lock);
  if (self->active)
    pad = gst_object_ref (self->active->sinkpad);
  g_mutex_unlock (&self->lock);
  return pad;
}

static void
ask_keyframe (GstRtmfpAutoSrc * self)
{
  GstPad *pad = active_sinkpad (self);

  if (!pad)
    return;
  gst_pad_push_event (pad, gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
          gst_structure_new ("GstForceKeyUnit", "all-headers",
              G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT, 0, NULL)));
  gst_object_unref (pad);
}

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
  gboolean ret = FALSE;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM &&
      gst_event_has_name (event, "GstForceKeyUnit")) {
    ask_keyframe (GST_RTMFP_AUTO_SRC (parent));
    ret = TRUE;
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_RECONFIGURE ||
      GST_EVENT_TYPE (event) == GST_EVENT_LATENCY ||
      GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    ret = TRUE;
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
  gst_element_add_pad (GST_ELEMENT (owner), pad);
}

static void
out_want_keyframe (gpointer owner)
{
  ask_keyframe (owner);
}

static const GstRtmfpSrcOutFuncs out_funcs = {
  out_new_pad, out_add_pad, out_want_keyframe,
};

/* ------------------------------------------------------------------------ */
/* the policy */

static void
policy_reschedule_locked (GstRtmfpAutoSrc * self)
{
  gst_rtmfp_fallback_timer_set (&self->policy_timer,
      self->running ? gst_rtmfp_fallback_policy_next_timeout (&self->policy) :
      -1);
}

/* lock held; TRUE: every protocol failed (post the error, unlocked) */
static gboolean
apply_locked (GstRtmfpAutoSrc * self, GstRtmfpFallbackAction action)
{
  switch (action) {
    case GST_RTMFP_FALLBACK_ACT_TO_RTMP:
      g_free (self->switch_reason);
      self->switch_reason =
          g_strdup (gst_rtmfp_fallback_policy_get_reason (&self->policy));
      request_candidate_locked (self, GST_RTMFP_FALLBACK_RTMP, FALSE, TRUE);
      break;
    case GST_RTMFP_FALLBACK_ACT_PROBE:
      g_free (self->switch_reason);
      self->switch_reason = g_strdup ("RTMFP plays again");
      request_candidate_locked (self, GST_RTMFP_FALLBACK_RTMFP, TRUE, TRUE);
      break;
    case GST_RTMFP_FALLBACK_ACT_FAIL:
      if (self->failed)
        return FALSE;
      self->failed = TRUE;
      return TRUE;
    default:
      break;
  }
  policy_reschedule_locked (self);
  return FALSE;
}

static void
post_failure (GstRtmfpAutoSrc * self)
{
  gchar *rtmfp, *rtmp, *loc;

  g_mutex_lock (&self->lock);
  rtmfp = g_strdup (self->policy.rtmfp_failure ? self->policy.rtmfp_failure
      : self->policy.have_rtmfp ? _("not tried") : _("rtmfpsrc is missing"));
  rtmp = g_strdup (self->policy.rtmp_failure ? self->policy.rtmp_failure :
      self->policy.have_rtmp ? _("not tried") : _("rtmp2src is missing"));
  g_mutex_unlock (&self->lock);
  GST_OBJECT_LOCK (self);
  loc = g_strdup (self->settings.location);
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      (_("Could not play \"%s\" over RTMFP (%s) nor over RTMP (%s)."), loc,
          rtmfp, rtmp), ("every protocol failed"));
  g_free (loc);
  g_free (rtmfp);
  g_free (rtmp);
}

static void
policy_timeout (GstElement * element)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (element);
  gboolean fail = FALSE;

  g_mutex_lock (&self->lock);
  if (self->running)
    fail = apply_locked (self, gst_rtmfp_fallback_policy_handle_timeout
        (&self->policy, g_get_monotonic_time ()));
  g_mutex_unlock (&self->lock);
  if (fail)
    post_failure (self);
}

void
gst_rtmfp_auto_src_media_locked (GstRtmfpAutoSrc * self,
    GstRtmfpAutoSrcPath * p)
{
  if (p->got_media)
    return;
  p->got_media = TRUE;
  if (p->proto == GST_RTMFP_FALLBACK_RTMFP) {
    GST_INFO_OBJECT (self, "RTMFP plays");
    gst_rtmfp_fallback_policy_rtmfp_streaming (&self->policy,
        g_get_monotonic_time ());
    policy_reschedule_locked (self);
  }
}

/* ------------------------------------------------------------------------ */
/* the candidate */

typedef struct
{
  GstRtmfpFallbackProtocol proto;
  gboolean probe;
} CandidateJob;

static void
candidate_job (GstElement * element, gpointer data)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (element);
  CandidateJob *job = data;
  GstRtmfpAutoSrcPath *p = gst_rtmfp_auto_src_path_new (self, job->proto);
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = p && self->running && !self->candidate;
  if (ok) {
    p->probe = job->probe;
    self->candidate = p;
  }
  g_mutex_unlock (&self->lock);
  if (!ok) {
    gst_rtmfp_auto_src_path_free (p);
    return;
  }
  GST_INFO_OBJECT (self, "%s path %s", job->probe ? "probing with an RTMFP" :
      "starting an RTMP", "candidate");
  /* a failure to start posts an error: handled as the candidate's */
  gst_rtmfp_auto_src_path_start (p);
}

/* lock held */
static void
request_candidate_locked (GstRtmfpAutoSrc * self,
    GstRtmfpFallbackProtocol proto, gboolean probe, gboolean want)
{
  CandidateJob *job;

  if (want)
    self->want_switch = TRUE;
  if (self->candidate && self->candidate->proto == proto)
    return;                     /* it starts when it can */
  if (self->candidate) {
    gst_rtmfp_auto_src_path_retire (self->candidate);
    self->candidate = NULL;
  }
  job = g_new0 (CandidateJob, 1);
  job->proto = proto;
  job->probe = probe;
  gst_rtmfp_fallback_call_async (GST_ELEMENT (self), candidate_job, job,
      g_free);
}

typedef struct
{
  GstRtmfpFallbackProtocol proto, previous;
  gchar *reason;
} SwitchNote;

static void
switch_note_free (gpointer data)
{
  SwitchNote *n = data;

  g_free (n->reason);
  g_free (n);
}

static void
switched_job (GstElement * element, gpointer data)
{
  SwitchNote *n = data;

  g_object_notify (G_OBJECT (element), "active-protocol");
  gst_rtmfp_fallback_post_switch (element, n->proto, n->previous, n->reason);
}

void
gst_rtmfp_auto_src_take_over_locked (GstRtmfpAutoSrc * self)
{
  GstRtmfpAutoSrcPath *old = self->active, *p = self->candidate;
  SwitchNote *n = g_new0 (SwitchNote, 1);

  self->active = p;
  self->candidate = NULL;
  self->want_switch = FALSE;
  self->switches++;
  n->proto = p->proto;
  n->previous = old ? old->proto : GST_RTMFP_FALLBACK_NONE;
  n->reason = g_steal_pointer (&self->switch_reason);
  gst_rtmfp_fallback_policy_switched (&self->policy, p->proto,
      g_get_monotonic_time ());
  if (p->proto == GST_RTMFP_FALLBACK_RTMFP)
    gst_rtmfp_fallback_policy_rtmfp_streaming (&self->policy,
        g_get_monotonic_time ());
  policy_reschedule_locked (self);
  GST_OBJECT_LOCK (self);
  self->active_protocol = p->proto;
  GST_OBJECT_UNLOCK (self);
  gst_rtmfp_auto_src_path_retire (old);
  gst_rtmfp_fallback_call_async (GST_ELEMENT (self), switched_job, n,
      switch_note_free);
}

/* Every WATCH_MS: RTMFP media that stalls gets an RTMP path standing by;
 * one no longer needed goes */
static void
watch (GstElement * element)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (element);
  GstRtmfpAutoSrcPath *a, *c;
  gint64 now = g_get_monotonic_time (), stall;

  g_mutex_lock (&self->lock);
  a = self->active;
  c = self->candidate;
  if (!self->running || !a || a->proto != GST_RTMFP_FALLBACK_RTMFP ||
      !a->got_media || !self->policy.have_rtmp) {
    g_mutex_unlock (&self->lock);
    return;
  }
  stall = MAX (STALL_MIN_US, 4 * a->gap_us);
  if (!c && now - a->last_arrival_us > stall) {
    GST_INFO_OBJECT (self, "RTMFP media stalled for %" G_GINT64_FORMAT
        " ms: RTMP stands by", (now - a->last_arrival_us) / 1000);
    request_candidate_locked (self, GST_RTMFP_FALLBACK_RTMP, FALSE, FALSE);
  } else if (c && !self->want_switch && c->proto == GST_RTMFP_FALLBACK_RTMP
      && now - a->last_arrival_us < stall / 2 && !self->policy.reconnecting
      && now - c->started_us > STANDBY_KEEP_US) {
    GST_INFO_OBJECT (self, "RTMFP flows again: RTMP no longer stands by");
    gst_rtmfp_auto_src_path_retire (c);
    self->candidate = NULL;
  }
  g_mutex_unlock (&self->lock);
}

static void
post_stats (GstElement * element)
{
  GstStructure *s;

  g_object_get (element, "stats", &s, NULL);
  gst_element_post_message (element,
      gst_message_new_element (GST_OBJECT (element), s));
}

/* ------------------------------------------------------------------------ */
/* what the children say */

/* The path of child (lock held), or NULL */
static GstRtmfpAutoSrcPath *
path_of (GstRtmfpAutoSrc * self, GstElement * child)
{
  if (self->active && self->active->src == child)
    return self->active;
  if (self->candidate && self->candidate->src == child)
    return self->candidate;
  return NULL;
}

/* An error of a candidate (lock held): it goes; TRUE: all failed */
static gboolean
candidate_failed_locked (GstRtmfpAutoSrc * self, GstRtmfpAutoSrcPath * p,
    const gchar * text)
{
  gint64 now = g_get_monotonic_time ();
  gboolean wanted = self->want_switch;

  self->candidate = NULL;
  self->want_switch = FALSE;
  gst_rtmfp_auto_src_path_retire (p);
  if (p->proto == GST_RTMFP_FALLBACK_RTMFP) {
    gst_rtmfp_fallback_policy_rtmfp_failed (&self->policy, text, TRUE, now);
    gst_rtmfp_fallback_policy_probe_done (&self->policy, now);
    policy_reschedule_locked (self);
    return FALSE;
  }
  g_free (self->policy.rtmp_failure);
  self->policy.rtmp_failure = g_strdup (text);
  /* RTMP was what was left */
  return wanted && apply_locked (self, GST_RTMFP_FALLBACK_ACT_FAIL);
}

/* TRUE: the message is the bin's business (dropped) */
static gboolean
child_error (GstRtmfpAutoSrc * self, GstElement * child, GstMessage * msg)
{
  gchar *text = gst_rtmfp_fallback_error_text (msg);
  GstRtmfpAutoSrcPath *p;
  gboolean fail = FALSE, mine = TRUE;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  p = path_of (self, child);
  if (!p) {
    /* a retired path's, or ours before the first path */
  } else if (p == self->candidate) {
    p->failed = TRUE;
    fail = candidate_failed_locked (self, p, text);
  } else if (p->proto == GST_RTMFP_FALLBACK_RTMFP) {
    p->failed = TRUE;
    fail = apply_locked (self, gst_rtmfp_fallback_policy_rtmfp_failed
        (&self->policy, text, FALSE, now));
  } else {
    p->failed = TRUE;
    fail = apply_locked (self, gst_rtmfp_fallback_policy_rtmp_failed
        (&self->policy, text, now));
  }
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "%s: %s", GST_OBJECT_NAME (child), text);
  g_free (text);
  if (fail)
    post_failure (self);
  return mine;
}

static void
child_element_message (GstRtmfpAutoSrc * self, GstElement * child,
    const GstStructure * s)
{
  GstRtmfpAutoSrcPath *p;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  p = path_of (self, child);
  if (p && p == self->active && p->proto == GST_RTMFP_FALLBACK_RTMFP) {
    if (gst_structure_has_name (s, "rtmfp-reconnecting")) {
      gst_rtmfp_fallback_policy_rtmfp_reconnecting (&self->policy,
          gst_structure_get_string (s, "reason"), now);
      if (!self->candidate && self->policy.have_rtmp)
        request_candidate_locked (self, GST_RTMFP_FALLBACK_RTMP, FALSE,
            FALSE);
    } else if (gst_structure_has_name (s, "rtmfp-reconnected")) {
      gst_rtmfp_fallback_policy_rtmfp_reconnected (&self->policy, now);
    }
    policy_reschedule_locked (self);
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_rtmfp_auto_src_handle_message (GstBin * bin, GstMessage * msg)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (bin);
  GstElement *child = gst_rtmfp_fallback_find_child (bin,
      GST_MESSAGE_SRC (msg));
  gboolean drop = FALSE;

  if (child && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    drop = child_error (self, child, msg);
  else if (child && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT)
    child_element_message (self, child, gst_message_get_structure (msg));
  gst_clear_object (&child);
  if (drop) {
    GST_DEBUG_OBJECT (self, "swallowed %" GST_PTR_FORMAT, msg);
    gst_message_unref (msg);
    return;
  }
  GST_BIN_CLASS (parent_class)->handle_message (bin, msg);
}

/* ------------------------------------------------------------------------ */
/* states */

static void
configure_policy (GstRtmfpAutoSrc * self)
{
  GstRtmfpFallbackPolicy *p = &self->policy;

  GST_OBJECT_LOCK (self);
  p->rtmfp_timeout_us = (gint64) self->settings.rtmfp_timeout * G_USEC_PER_SEC;
  p->probe_interval_us = (gint64) self->settings.probe_interval *
      G_USEC_PER_SEC;
  GST_OBJECT_UNLOCK (self);
  p->player = TRUE;
  p->have_rtmfp = gst_rtmfp_fallback_factory_exists ("rtmfpsrc");
  p->have_rtmp = gst_rtmfp_fallback_factory_exists ("rtmp2src");
}

/* The zeroed stats schema of rtmfpsrc, for the RTMP path's stats */
static void
keep_stats_template (GstRtmfpAutoSrc * self, GstRtmfpAutoSrcPath * p)
{
  GstStructure *s = NULL;

  if (self->stats_tmpl || !p || p->proto != GST_RTMFP_FALLBACK_RTMFP)
    return;
  g_object_get (p->src, "stats", &s, NULL);
  if (s) {
    self->stats_tmpl = gst_rtmfp_fallback_stats_template (s);
    gst_structure_free (s);
  }
}

/* READY -> PAUSED: the first path (RTMFP, or RTMP without rtmfpsrc) */
static gboolean
start (GstRtmfpAutoSrc * self)
{
  GstRtmfpFallbackProtocol proto;
  GstRtmfpAutoSrcPath *p;
  guint stats_interval;

  configure_policy (self);
  g_mutex_lock (&self->out_lock);
  self->out = gst_rtmfp_src_out_new (GST_ELEMENT (self), self->flv_pad,
      &out_funcs, self);
  g_mutex_unlock (&self->out_lock);
  g_mutex_lock (&self->lock);
  gst_rtmfp_timeline_init (&self->tl);
  self->running = TRUE;
  self->failed = self->want_switch = FALSE;
  self->switches = 0;
  proto = gst_rtmfp_fallback_policy_start (&self->policy,
      g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);

  p = gst_rtmfp_auto_src_path_new (self, proto);
  if (!p) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        (_("Neither rtmfpsrc nor rtmp2src is installed.")),
        ("no element for %s", gst_rtmfp_fallback_protocol_name (proto)));
    return FALSE;
  }
  keep_stats_template (self, p);
  GST_OBJECT_LOCK (self);
  self->active_protocol = proto;
  stats_interval = self->settings.stats_interval;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  self->active = p;
  policy_reschedule_locked (self);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_fallback_timer_set_periodic (&self->watch_timer, WATCH_MS);
  gst_rtmfp_fallback_timer_set_periodic (&self->stats_timer, stats_interval);
  /* an rtmfpsrc that cannot start (it says why) is the policy's failure:
   * it stays out of the bin's state changes until retired */
  if (gst_element_set_state (p->src, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE)
    gst_element_set_locked_state (p->src, TRUE);
  return TRUE;
}

static void
stop (GstRtmfpAutoSrc * self)
{
  GstRtmfpAutoSrcPath *a, *c;

  g_mutex_lock (&self->lock);
  self->running = self->playing = FALSE;
  a = g_steal_pointer (&self->active);
  c = g_steal_pointer (&self->candidate);
  self->want_switch = FALSE;
  gst_rtmfp_fallback_timer_set (&self->policy_timer, -1);
  g_mutex_unlock (&self->lock);
  gst_rtmfp_fallback_timer_set (&self->watch_timer, -1);
  gst_rtmfp_fallback_timer_set (&self->stats_timer, -1);
  gst_rtmfp_fallback_timer_set (&self->end_timer, -1);
  gst_rtmfp_auto_src_path_free (a);
  gst_rtmfp_auto_src_path_free (c);
  g_mutex_lock (&self->out_lock);
  g_clear_pointer (&self->out, gst_rtmfp_src_out_free);
  g_mutex_unlock (&self->out_lock);
}

static void
set_playing (GstRtmfpAutoSrc * self, gboolean playing)
{
  g_mutex_lock (&self->lock);
  self->playing = playing;
  g_mutex_unlock (&self->lock);
}

static GstStateChangeReturn
gst_rtmfp_auto_src_change_state (GstElement * element,
    GstStateChange transition)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
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
  if (ret == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      stop (self);
    return ret;
  }
  /* live: no preroll */
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
      transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

/* ------------------------------------------------------------------------ */
/* properties */

static GstStructure *
get_stats (GstRtmfpAutoSrc * self)
{
  GstElement *child = NULL;
  GstRtmfpFallbackProtocol proto = GST_RTMFP_FALLBACK_NONE;
  GstStructure *tmpl, *s;
  guint switches;

  g_mutex_lock (&self->lock);
  if (self->active) {
    child = gst_object_ref (self->active->src);
    proto = self->active->proto;
  }
  tmpl = self->stats_tmpl ? gst_structure_copy (self->stats_tmpl) : NULL;
  switches = self->switches;
  g_mutex_unlock (&self->lock);
  s = gst_rtmfp_fallback_stats (child, proto, tmpl, switches);
  gst_clear_object (&child);
  if (tmpl)
    gst_structure_free (tmpl);
  return s;
}

static void
gst_rtmfp_auto_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (object);
  gboolean handled;

  GST_OBJECT_LOCK (self);
  handled = gst_rtmfp_fallback_settings_set (&self->settings, prop_id, value);
  GST_OBJECT_UNLOCK (self);
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_rtmfp_auto_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (object);
  gboolean handled = TRUE;

  if (prop_id == GST_RTMFP_FALLBACK_PROP_STATS) {
    g_value_take_boxed (value, get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  if (prop_id == GST_RTMFP_FALLBACK_PROP_ACTIVE_PROTOCOL)
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
gst_rtmfp_auto_src_finalize (GObject * object)
{
  GstRtmfpAutoSrc *self = GST_RTMFP_AUTO_SRC (object);

  gst_rtmfp_fallback_settings_clear (&self->settings);
  gst_rtmfp_fallback_policy_clear (&self->policy);
  gst_rtmfp_fallback_timer_clear (&self->policy_timer);
  gst_rtmfp_fallback_timer_clear (&self->watch_timer);
  gst_rtmfp_fallback_timer_clear (&self->stats_timer);
  gst_rtmfp_fallback_timer_clear (&self->end_timer);
  g_free (self->switch_reason);
  if (self->stats_tmpl)
    gst_structure_free (self->stats_tmpl);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->out_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtmfp_auto_src_class_init (GstRtmfpAutoSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_src_debug, "rtmfpautosrc", 0,
      "RTMFP source with RTMP fallback");
  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_src_path_debug, "rtmfpautosrcpath",
      0, "The sources of rtmfpautosrc");
  gobject_class->set_property = gst_rtmfp_auto_src_set_property;
  gobject_class->get_property = gst_rtmfp_auto_src_get_property;
  gobject_class->finalize = gst_rtmfp_auto_src_finalize;
  gst_rtmfp_fallback_install_properties (gobject_class, TRUE);

  gst_element_class_add_static_pad_template (element_class, &flv_template);
  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_set_static_metadata (element_class,
      "RTMFP source with RTMP fallback", "Source/Network",
      "Plays a stream over RTMFP, or over RTMP when RTMFP does not work, "
      "switching back when it works again", "gst-rtmfp authors");
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_src_change_state);
  bin_class->handle_message =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_src_handle_message);
}

static void
gst_rtmfp_auto_src_init (GstRtmfpAutoSrc * self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->out_lock);
  gst_rtmfp_fallback_settings_init (&self->settings);
  self->active_protocol = GST_RTMFP_FALLBACK_NONE;
  gst_rtmfp_fallback_policy_init (&self->policy);
  gst_rtmfp_fallback_timer_init (&self->policy_timer, GST_ELEMENT (self),
      policy_timeout);
  gst_rtmfp_fallback_timer_init (&self->watch_timer, GST_ELEMENT (self),
      watch);
  gst_rtmfp_fallback_timer_init (&self->stats_timer, GST_ELEMENT (self),
      post_stats);
  gst_rtmfp_fallback_timer_init (&self->end_timer, GST_ELEMENT (self),
      end_timeout);

  self->flv_pad = gst_pad_new_from_static_template (&flv_template, "src");
  gst_pad_set_query_function (self->flv_pad, GST_DEBUG_FUNCPTR (src_query));
  gst_pad_set_event_function (self->flv_pad, GST_DEBUG_FUNCPTR (src_event));
  gst_pad_use_fixed_caps (self->flv_pad);
  gst_element_add_pad (GST_ELEMENT (self), self->flv_pad);

  gst_bin_set_suppressed_flags (GST_BIN (self),
      GST_ELEMENT_FLAG_SOURCE | GST_ELEMENT_FLAG_SINK);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
