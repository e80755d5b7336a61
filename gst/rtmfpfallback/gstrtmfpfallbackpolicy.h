/* GStreamer rtmfpfallback: when to switch between RTMFP and RTMP.
 *
 * The switch policy of rtmfpautosink and rtmfpautosrc, without GStreamer,
 * threads or clocks (time is a parameter, in microseconds), so that it is
 * the same for both bins and can be driven by a test clock.  The bins feed
 * it what their children tell (rtmfpsink / rtmfpsrc element messages and
 * errors, the RTMP element's errors) and act on what it answers:
 *
 *   - RTMFP first.  It must publish / play within rtmfp-timeout of the
 *     start, else RTMP (RTMFP_TIMEOUT);
 *   - a lost RTMFP connection is the child's to restore (its own
 *     auto-reconnect): `rtmfp-reconnecting` starts a deadline of
 *     rtmfp-timeout, `rtmfp-reconnected` ends it; past it, RTMP.  The
 *     decision never looks at packet counters, which every new session of
 *     the child starts again;
 *   - an error of the RTMFP element: RTMP at once;
 *   - while on RTMP: a probe of RTMFP every probe-interval; a probe that
 *     works brings RTMFP back (at a keyframe: the bins' part);
 *   - an error of the RTMP element while RTMFP has failed too, or with no
 *     RTMFP to go back to: the bins post one error that says why each
 *     protocol failed (gst_rtmfp_fallback_policy_describe_failure).
 *
 * Not thread safe: the owner locks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GST_RTMFP_FALLBACK_NONE = -1,
  GST_RTMFP_FALLBACK_RTMFP = 0,
  GST_RTMFP_FALLBACK_RTMP = 1,
} GstRtmfpFallbackProtocol;

const gchar *gst_rtmfp_fallback_protocol_name (GstRtmfpFallbackProtocol p);

typedef enum {
  GST_RTMFP_FALLBACK_ACT_NOTHING,
  /* go to RTMP now (the RTMFP path is gone) */
  GST_RTMFP_FALLBACK_ACT_TO_RTMP,
  /* start a probe of RTMFP */
  GST_RTMFP_FALLBACK_ACT_PROBE,
  /* every protocol failed: post the error */
  GST_RTMFP_FALLBACK_ACT_FAIL,
} GstRtmfpFallbackAction;

typedef struct {
  /* configuration: set before start, kept across runs */
  gboolean player;              /* rtmfpautosrc (words in reasons) */
  gint64 rtmfp_timeout_us;
  gint64 probe_interval_us;     /* 0: never probe */
  gboolean have_rtmfp, have_rtmp;

  /* the run */
  GstRtmfpFallbackProtocol active;
  gboolean rtmfp_streaming;     /* publishing / playing */
  gboolean reconnecting;
  gint64 deadline;              /* RTMFP streaming (again) by then, or -1 */
  gint64 probe_at;              /* -1 */
  gboolean probing;
  gboolean failed_over;         /* TO_RTMP told, the switch not done */
  gchar *reason;                /* of the pending action (TO_RTMP) */
  gchar *rtmfp_failure;         /* why RTMFP failed last, or NULL */
  gchar *rtmp_failure;
} GstRtmfpFallbackPolicy;

void      gst_rtmfp_fallback_policy_init (GstRtmfpFallbackPolicy * p);
void      gst_rtmfp_fallback_policy_clear (GstRtmfpFallbackPolicy * p);

/* A run starts with RTMFP (RTMP when there is no RTMFP element) */
GstRtmfpFallbackProtocol gst_rtmfp_fallback_policy_start (
    GstRtmfpFallbackPolicy * p, gint64 now);
/* The bin now uses proto (after a switch) */
void      gst_rtmfp_fallback_policy_switched (GstRtmfpFallbackPolicy * p,
    GstRtmfpFallbackProtocol proto, gint64 now);

/* What the active RTMFP element tells */
void      gst_rtmfp_fallback_policy_rtmfp_streaming (GstRtmfpFallbackPolicy *
    p, gint64 now);
void      gst_rtmfp_fallback_policy_rtmfp_reconnecting (GstRtmfpFallbackPolicy
    * p, const gchar * reason, gint64 now);
void      gst_rtmfp_fallback_policy_rtmfp_reconnected (GstRtmfpFallbackPolicy *
    p, gint64 now);
/* An error of the RTMFP element (active, or a probe: then only noted) */
GstRtmfpFallbackAction gst_rtmfp_fallback_policy_rtmfp_failed (
    GstRtmfpFallbackPolicy * p, const gchar * reason, gboolean probe,
    gint64 now);
/* An error of the active RTMP element */
GstRtmfpFallbackAction gst_rtmfp_fallback_policy_rtmp_failed (
    GstRtmfpFallbackPolicy * p, const gchar * reason, gint64 now);
/* A probe ended without taking over (the next one is scheduled) */
void      gst_rtmfp_fallback_policy_probe_done (GstRtmfpFallbackPolicy * p,
    gint64 now);

/* When handle_timeout is due next (-1: never) */
gint64    gst_rtmfp_fallback_policy_next_timeout (GstRtmfpFallbackPolicy * p);
GstRtmfpFallbackAction gst_rtmfp_fallback_policy_handle_timeout (
    GstRtmfpFallbackPolicy * p, gint64 now);

/* The reason of the last TO_RTMP (borrowed) */
const gchar *gst_rtmfp_fallback_policy_get_reason (GstRtmfpFallbackPolicy *
    p);

G_END_DECLS
