/* Unit tests: adaptive bitrate decisions (rtmfpbitrate.h).  Deterministic:
 * estimates and times are fed in, the targets asserted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib.h>

#include "rtmfpbitrate.h"

#define S G_TIME_SPAN_SECOND
#define MS G_TIME_SPAN_MILLISECOND

static void
test_init_bounds (void)
{
  RtmfpBitrateCtl c;

  /* max 0: the encoder's bitrate is the ceiling */
  rtmfp_bitrate_ctl_init (&c, 1500, 100, 0, 0);
  g_assert_cmpuint (c.max_kbps, ==, 1500);
  g_assert_cmpuint (c.min_kbps, ==, 100);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 1500);
  /* an encoder above max starts at max */
  rtmfp_bitrate_ctl_init (&c, 2048, 100, 1000, 0);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 1000);
  /* below min: min */
  rtmfp_bitrate_ctl_init (&c, 50, 200, 1000, 0);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 200);
  /* min above max: lowered to max */
  rtmfp_bitrate_ctl_init (&c, 500, 800, 600, 0);
  g_assert_cmpuint (c.min_kbps, ==, 600);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 600);
  /* min 0 is 1 */
  rtmfp_bitrate_ctl_init (&c, 500, 0, 600, 0);
  g_assert_cmpuint (c.min_kbps, ==, 1);
  /* new bounds while running */
  rtmfp_bitrate_ctl_init (&c, 1500, 100, 0, 0);
  g_assert_true (rtmfp_bitrate_ctl_set_bounds (&c, 100, 1000, 5 * S));
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 1000);
  g_assert_cmpint (c.last_change_us, ==, 5 * S);
  g_assert_false (rtmfp_bitrate_ctl_set_bounds (&c, 200, 0, 6 * S));
  g_assert_cmpuint (c.max_kbps, ==, 1000);
  g_assert_cmpuint (c.min_kbps, ==, 200);
}

static void
test_goal (void)
{
  RtmfpBitrateCtl c;

  rtmfp_bitrate_ctl_init (&c, 1500, 100, 2000, 0);
  /* 0.85 x 1000 - 50 */
  g_assert_cmpuint (rtmfp_bitrate_ctl_goal (&c, 1000, 50), ==, 800);
  g_assert_cmpuint (rtmfp_bitrate_ctl_goal (&c, 1000, 0), ==, 850);
  g_assert_cmpuint (rtmfp_bitrate_ctl_goal (&c, 100, 50), ==, 100);
  g_assert_cmpuint (rtmfp_bitrate_ctl_goal (&c, 100000, 50), ==, 2000);
}

static void
test_down_at_once (void)
{
  RtmfpBitrateCtl c;
  guint k = 0;

  rtmfp_bitrate_ctl_init (&c, 1500, 100, 0, 0);
  /* no estimate yet: nothing */
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 0, 0, FALSE, 100 * MS, &k));
  /* the estimate falls to 1 Mbit/s 100 ms after the start: 850 at once */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 1000, 0, FALSE, 100 * MS,
          &k));
  g_assert_cmpuint (k, ==, 850);
  /* and again 100 ms later, the audio counted */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 600, 30, FALSE, 200 * MS,
          &k));
  g_assert_cmpuint (k, ==, 480);
  /* a collapse: down to min, no lower */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 50, 30, FALSE, 300 * MS,
          &k));
  g_assert_cmpuint (k, ==, 100);
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 10, 30, FALSE, 400 * MS,
          &k));
  g_assert_cmpuint (c.changes, ==, 3);
}

static void
test_small_changes_ignored (void)
{
  RtmfpBitrateCtl c;
  guint k = 0;

  rtmfp_bitrate_ctl_init (&c, 1000, 100, 0, 0);
  /* the goal (0.85 x 1130 = 960) is below, but the stream still fits the
   * estimate: no change (the hysteresis band) */
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 1130, 0, FALSE, 1 * S, &k));
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 1000, 0, FALSE, 1 * S, &k));
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 1000);
  /* it no longer fits: the goal, 0.85 x 990 */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 990, 0, FALSE, 1 * S, &k));
  g_assert_cmpuint (k, ==, 841);
  /* up by less than 5 % (after the 2 s): ignored (875 is 4 % up) */
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 1030, 0, FALSE, 4 * S, &k));
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 841);
  /* 5 % or more: taken */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 1040, 0, FALSE, 4 * S, &k));
  g_assert_cmpuint (k, ==, 884);
  /* down to min by less than 5 %: ignored */
  rtmfp_bitrate_ctl_init (&c, 104, 100, 0, 0);
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 50, 0, FALSE, 1 * S, &k));
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 104);
}

static void
test_up_slowly (void)
{
  RtmfpBitrateCtl c;
  guint k = 0;
  gint64 t;
  guint ups = 0;

  rtmfp_bitrate_ctl_init (&c, 2000, 100, 0, 0);
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 500, 0, FALSE, 0, &k));
  g_assert_cmpuint (k, ==, 425);
  /* the path recovers to 10 Mbit/s (tested estimate): +25 % per 2 s,
   * never sooner, whatever the sample rate */
  for (t = 250 * MS; t < 2 * S; t += 250 * MS)
    g_assert_false (rtmfp_bitrate_ctl_update (&c, 10000, 0, FALSE, t, &k));
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 10000, 0, FALSE, 2 * S, &k));
  g_assert_cmpuint (k, ==, 531);        /* 425 x 1.25 */
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 10000, 0, FALSE,
          2 * S + 1999 * MS, &k));
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 10000, 0, FALSE, 4 * S, &k));
  g_assert_cmpuint (k, ==, 663);        /* 531 x 1.25 */
  /* application limited: +15 % */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 10000, 0, TRUE, 6 * S, &k));
  g_assert_cmpuint (k, ==, 762);        /* 663 x 1.15 */
  /* up to the goal, not past it */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 1000, 0, FALSE, 8 * S, &k));
  g_assert_cmpuint (k, ==, 850);
  /* then on to max (2000, the encoder's first bitrate), 2 s per step */
  for (t = 10 * S; t <= 30 * S; t += 250 * MS)
    ups += rtmfp_bitrate_ctl_update (&c, 10000, 0, FALSE, t, &k);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), ==, 2000);
  /* 850 -> 1062 -> 1327 -> 1658 -> 2000 */
  g_assert_cmpuint (ups, ==, 4);
}

static void
test_down_resets_up_timer (void)
{
  RtmfpBitrateCtl c;
  guint k = 0;

  rtmfp_bitrate_ctl_init (&c, 1000, 100, 2000, 0);
  /* 10 s of a steady goal above: up at once (the last change is old) */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 5000, 0, FALSE, 10 * S, &k));
  g_assert_cmpuint (k, ==, 1250);
  /* a dip: down promptly */
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 1000, 0, FALSE,
          10 * S + 500 * MS, &k));
  g_assert_cmpuint (k, ==, 850);
  /* back up: only 2 s after the decrease */
  g_assert_false (rtmfp_bitrate_ctl_update (&c, 5000, 0, FALSE,
          12 * S + 400 * MS, &k));
  g_assert_true (rtmfp_bitrate_ctl_update (&c, 5000, 0, FALSE,
          12 * S + 500 * MS, &k));
  g_assert_cmpuint (k, ==, 1062);
}

/* A path that carries 1.2 Mbit/s with 40 kbit/s of audio, sampled every
 * 250 ms for a minute with the estimate wobbling +-8 % around it: the
 * bitrate settles below the path within the first sample and changes a
 * few times only (no oscillation on noise). */
static void
test_steady_path (void)
{
  RtmfpBitrateCtl c;
  guint k = 0;
  gint64 t;
  guint i = 0;

  rtmfp_bitrate_ctl_init (&c, 1500, 200, 0, 0);
  for (t = 0; t < 60 * S; t += 250 * MS, i++) {
    guint64 est = 1200 + ((i % 4) == 0 ? 96 : (i % 4) == 2 ? -96 : 0);

    rtmfp_bitrate_ctl_update (&c, est, 40, (i % 3) == 0, t, &k);
    /* video + audio never above the path's 1.2 Mbit/s + the wobble */
    g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c) + 40, <=, 1296);
    if (t > 0)
      g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), >=, 200);
  }
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), >=, 850);
  g_assert_cmpuint (rtmfp_bitrate_ctl_get (&c), <=, 1070);
  g_assert_cmpuint (c.changes, <=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bitrate/init-bounds", test_init_bounds);
  g_test_add_func ("/bitrate/goal", test_goal);
  g_test_add_func ("/bitrate/down-at-once", test_down_at_once);
  g_test_add_func ("/bitrate/small-changes-ignored",
      test_small_changes_ignored);
  g_test_add_func ("/bitrate/up-slowly", test_up_slowly);
  g_test_add_func ("/bitrate/down-resets-up-timer",
      test_down_resets_up_timer);
  g_test_add_func ("/bitrate/steady-path", test_steady_path);
  return g_test_run ();
}
