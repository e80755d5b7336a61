/* RTMFP core: the encoder bitrate that fits the path (adaptive bitrate).
 *
 * A small state machine driven by the session's rate estimate
 * (RtmfpSessionStats.rate_estimate_bps) and the time, with no I/O: the
 * publisher feeds it samples, it answers with the video bitrate to set.
 *
 *   goal = clamp (estimate x 0.85 - audio bitrate, min, max)
 *
 * - down at once: once the estimate falls below the current bitrate
 *   (plus the audio), the goal is taken at that sample (a path that got
 *   thinner must not queue video for seconds); between the goal and the
 *   estimate nothing changes (hysteresis: an estimate that wobbles by a
 *   few percent does not make the encoder follow it);
 * - up slowly: at most every 2 s since the last change, and by at most
 *   +25 % (+15 % while the estimate is application limited, i.e. the
 *   controller did not test it: the path may carry less than it says);
 * - a change below 5 % of the current bitrate is no change (encoders
 *   reconfigure at a cost).
 *
 * Rates in kbit/s (the unit of x264enc's `bitrate`), times in µs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTMFP_BITRATE_HEADROOM 0.85     /* of the estimate, for video+audio */
#define RTMFP_BITRATE_UP_INTERVAL_US (2 * G_TIME_SPAN_SECOND)
#define RTMFP_BITRATE_UP_STEP 1.25      /* per increase, tested estimate */
#define RTMFP_BITRATE_UP_STEP_APP_LIMITED 1.15
#define RTMFP_BITRATE_MIN_CHANGE 0.05   /* smaller changes are ignored */

typedef struct {
  guint min_kbps;               /* >= 1 */
  guint max_kbps;               /* >= min_kbps */
  guint current_kbps;           /* the bitrate set now */
  gint64 last_change_us;        /* when current_kbps last changed */
  guint changes;                /* how many times it changed */
} RtmfpBitrateCtl;

/* initial_kbps: the encoder's bitrate now (clamped into [min, max]: call
 * rtmfp_bitrate_ctl_get to see whether that already changed it); max 0
 * means initial_kbps; min above max is lowered to max. */
void      rtmfp_bitrate_ctl_init (RtmfpBitrateCtl * c, guint initial_kbps,
    guint min_kbps, guint max_kbps, gint64 now_us);

/* New bounds while running (same rules as init; max 0 keeps the current
 * maximum).  TRUE if that moved the current bitrate. */
gboolean  rtmfp_bitrate_ctl_set_bounds (RtmfpBitrateCtl * c, guint min_kbps,
    guint max_kbps, gint64 now_us);

/* The goal for an estimate (the clamp above, no hysteresis) */
guint     rtmfp_bitrate_ctl_goal (const RtmfpBitrateCtl * c,
    guint64 estimate_kbps, guint audio_kbps);

/* One sample: the rate estimate (0: none yet, nothing changes), the audio
 * bitrate sent beside the video, whether the estimate is application
 * limited.  Returns TRUE and sets *new_kbps (also c->current_kbps) when
 * the bitrate should change. */
gboolean  rtmfp_bitrate_ctl_update (RtmfpBitrateCtl * c,
    guint64 estimate_kbps, guint audio_kbps, gboolean app_limited,
    gint64 now_us, guint * new_kbps);

static inline guint
rtmfp_bitrate_ctl_get (const RtmfpBitrateCtl * c)
{
  return c->current_kbps;
}

G_END_DECLS
