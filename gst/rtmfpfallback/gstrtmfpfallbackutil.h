/* GStreamer rtmfpfallback: what rtmfpautosink and rtmfpautosrc share
 * beyond the policy: locations, the children's settings, the messages and
 * the error of the bins, statistics, and a timer on the system clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpfallbackpolicy.h"

G_BEGIN_DECLS

/* rtmfp://host[:port]/app/stream -> rtmp://host[:port]/app/stream, or
 * NULL if location is no rtmfp:// URI with an authority */
gchar    *gst_rtmfp_fallback_derive_location (const gchar * location);

gboolean  gst_rtmfp_fallback_factory_exists (const gchar * name);

/* What the bins pass on to their children (the properties users need of
 * rtmfpsink / rtmfpsrc, and the RTMP element's timeout) */
typedef struct {
  gchar *location;              /* rtmfp:// */
  gchar *fallback_location;     /* rtmp://, NULL: derived */
  guint rtmfp_timeout;          /* s */
  guint probe_interval;         /* s */
  guint timeout;                /* s: the RTMP element's */
  gchar *auth_token;
  gchar *server_fingerprint;
  gchar *peer_id;               /* src: play from this peer */
  gint mode;                    /* sink: GstRtmfpSinkMode (0 server) */
  gint congestion_control;      /* 0 tcp, 1 media */
  guint stats_interval;         /* ms: the bin posts its stats */
} GstRtmfpFallbackSettings;

void      gst_rtmfp_fallback_settings_clear (GstRtmfpFallbackSettings * s);
/* The fallback location in use (fallback-location, or derived) */
gchar    *gst_rtmfp_fallback_settings_rtmp_location (const
    GstRtmfpFallbackSettings * s);

/* A new child (owned, not floating, async=false where it has async) for
 * proto, configured from s; NULL if factory cannot be made */
GstElement *gst_rtmfp_fallback_make_child (const gchar * factory,
    GstRtmfpFallbackProtocol proto, const GstRtmfpFallbackSettings * s);
/* Sets a property from a value if el has it (transformed to its type) */
void      gst_rtmfp_fallback_set_if_exists (GstElement * el,
    const gchar * name, const GValue * value);

/* The direct child of bin that obj is or is inside of (ref), or NULL */
GstElement *gst_rtmfp_fallback_find_child (GstBin * bin, GstObject * obj);

/* The `rtmfp-fallback` element message of a switch */
void      gst_rtmfp_fallback_post_switch (GstElement * bin,
    GstRtmfpFallbackProtocol proto, GstRtmfpFallbackProtocol previous,
    const gchar * reason);
/* The error message text of an ERROR message (newly allocated) */
gchar    *gst_rtmfp_fallback_error_text (GstMessage * msg);

/* `stats` of the bins: the active child's, as application/x-rtmfp-
 * statistics with `protocol` (rtmfp | rtmp).  For RTMP the RTMFP schema
 * (tmpl, zeroed, when known) with the RTMP element's byte counters. */
GstStructure *gst_rtmfp_fallback_stats (GstElement * child,
    GstRtmfpFallbackProtocol proto, const GstStructure * tmpl,
    guint switches);
/* A copy of an RTMFP stats structure with every number zeroed */
GstStructure *gst_rtmfp_fallback_stats_template (const GstStructure * s);

/* One-shot timers on the system clock that run func on a thread of
 * GStreamer's pool (gst_element_call_async on element) */
typedef void (*GstRtmfpFallbackTimerFunc) (GstElement * element);

typedef struct {
  GstElement *element;
  GstClock *clock;
  GstClockID id;
  GstRtmfpFallbackTimerFunc func;
} GstRtmfpFallbackTimer;

void      gst_rtmfp_fallback_timer_init (GstRtmfpFallbackTimer * t,
    GstElement * element, GstRtmfpFallbackTimerFunc func);
void      gst_rtmfp_fallback_timer_clear (GstRtmfpFallbackTimer * t);
/* (Re)arms at the monotonic time at_us (g_get_monotonic_time), -1: off */
void      gst_rtmfp_fallback_timer_set (GstRtmfpFallbackTimer * t,
    gint64 at_us);
/* Periodic: every period_ms, 0: off */
void      gst_rtmfp_fallback_timer_set_periodic (GstRtmfpFallbackTimer * t,
    guint period_ms);

void      gst_rtmfp_fallback_call_async (GstElement * element,
    GstElementCallAsyncFunc func, gpointer data, GDestroyNotify notify);

G_END_DECLS
