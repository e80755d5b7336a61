/* RTMFP core: adaptive bitrate decisions (see rtmfpbitrate.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "rtmfpbitrate.h"

static void
bounds (RtmfpBitrateCtl * c, guint min_kbps, guint max_kbps)
{
  c->min_kbps = MAX (min_kbps, 1);
  c->max_kbps = max_kbps;
  if (c->min_kbps > c->max_kbps)
    c->min_kbps = c->max_kbps;
}

void
rtmfp_bitrate_ctl_init (RtmfpBitrateCtl * c, guint initial_kbps,
    guint min_kbps, guint max_kbps, gint64 now_us)
{
  initial_kbps = MAX (initial_kbps, 1);
  bounds (c, min_kbps, max_kbps ? max_kbps : initial_kbps);
  c->current_kbps = CLAMP (initial_kbps, c->min_kbps, c->max_kbps);
  c->last_change_us = now_us;
  c->changes = 0;
}

gboolean
rtmfp_bitrate_ctl_set_bounds (RtmfpBitrateCtl * c, guint min_kbps,
    guint max_kbps, gint64 now_us)
{
  guint before = c->current_kbps;

  bounds (c, min_kbps, max_kbps ? max_kbps : c->max_kbps);
  c->current_kbps = CLAMP (before, c->min_kbps, c->max_kbps);
  if (c->current_kbps == before)
    return FALSE;
  c->last_change_us = now_us;
  c->changes++;
  return TRUE;
}

guint
rtmfp_bitrate_ctl_goal (const RtmfpBitrateCtl * c, guint64 estimate_kbps,
    guint audio_kbps)
{
  gdouble goal = (gdouble) estimate_kbps * RTMFP_BITRATE_HEADROOM -
      (gdouble) audio_kbps;

  if (goal < c->min_kbps)
    return c->min_kbps;
  if (goal > c->max_kbps)
    return c->max_kbps;
  return (guint) goal;
}

gboolean
rtmfp_bitrate_ctl_update (RtmfpBitrateCtl * c, guint64 estimate_kbps,
    guint audio_kbps, gboolean app_limited, gint64 now_us, guint * new_kbps)
{
  guint cur = c->current_kbps, goal, next;

  if (estimate_kbps == 0)
    return FALSE;
  goal = rtmfp_bitrate_ctl_goal (c, estimate_kbps, audio_kbps);
  if (goal < cur) {
    /* the band between the goal and the estimate itself is hysteresis:
     * down only once the stream no longer fits the estimate */
    if ((gdouble) estimate_kbps >= (gdouble) cur + audio_kbps)
      return FALSE;
    next = goal;
  } else if (goal > cur) {
    gdouble step = app_limited ? RTMFP_BITRATE_UP_STEP_APP_LIMITED :
        RTMFP_BITRATE_UP_STEP;

    if (now_us - c->last_change_us < RTMFP_BITRATE_UP_INTERVAL_US)
      return FALSE;
    next = (guint) MIN ((gdouble) goal, cur * step);
  } else {
    return FALSE;
  }
  /* below 5 %: not worth a reconfiguration */
  if (next == cur || ABS ((gdouble) next - (gdouble) cur) <
      cur * RTMFP_BITRATE_MIN_CHANGE)
    return FALSE;
  c->current_kbps = next;
  c->last_change_us = now_us;
  c->changes++;
  if (new_kbps)
    *new_kbps = next;
  return TRUE;
}
