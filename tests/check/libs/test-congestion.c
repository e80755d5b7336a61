/* Unit tests: RFC 7016 Appendix A congestion window algorithm.
 *
 * Every expected number below was worked out by hand from Figures 24 and 25
 * of RFC 7016 (CWND_INIT 4380, SMSS 1460, CWND_TIMEDOUT 1 SMSS).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib.h>

#include "rtmfpcongestion.h"
#include "rtmfpmediacc.h"

#define SMSS 1460

static void
ack (RtmfpCongestion * cc, guint64 pre, guint64 acked, gboolean nak,
    gboolean loss, gboolean fastgrow, gboolean tc_sent)
{
  RtmfpCongestionAck a = { 0 };

  a.acked_bytes = acked;
  a.pre_ack_outstanding = pre;
  a.any_nak = nak;
  a.any_loss = loss;
  a.fastgrow = fastgrow;
  a.tc_sent = tc_sent;
  rtmfp_congestion_on_acks (cc, &a);
}

/* Sets CWND = SSTHRESH = x via a loss with PRE_ACK_OUTSTANDING 2x
 * (halving branch: not fastgrow, no TC) */
static void
set_window (RtmfpCongestion * cc, guint64 x)
{
  ack (cc, 2 * x, 0, TRUE, TRUE, FALSE, FALSE);
  g_assert_cmpuint (cc->cwnd, ==, x);
  g_assert_cmpuint (cc->ssthresh, ==, x);
  g_assert_cmpuint (cc->acked_accumulator, ==, 0);
}

static void
test_init (void)
{
  RtmfpCongestion cc;

  rtmfp_congestion_init (&cc, SMSS);
  g_assert_cmpuint (cc.smss, ==, SMSS);
  g_assert_cmpuint (cc.cwnd_init, ==, 4380);
  g_assert_cmpuint (cc.cwnd_timedout, ==, SMSS);
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  g_assert_cmpuint (cc.ssthresh, ==, G_MAXUINT64);
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);

  /* transmission allowed while S_OUTSTANDING_BYTES < CWND (3.5.2) */
  g_assert_true (rtmfp_congestion_can_send (&cc, 0));
  g_assert_true (rtmfp_congestion_can_send (&cc, 4379));
  g_assert_false (rtmfp_congestion_can_send (&cc, 4380));
  g_assert_false (rtmfp_congestion_can_send (&cc, 100000));
}

static void
test_slow_start (void)
{
  RtmfpCongestion cc;

  rtmfp_congestion_init (&cc, SMSS);

  /* FASTGROW, CWND < SSTHRESH: INCREASE = acked, capped at SMSS */
  ack (&cc, 4380, 1000, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 5380);
  ack (&cc, 5380, 2000, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 6840);   /* + min (2000, 1460) */
  ack (&cc, 6840, 1460, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 8300);

  /* window not full (PRE_ACK_OUTSTANDING < CWND): no growth */
  ack (&cc, 8299, 1460, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 8300);
  /* a NAK without a new loss does not block the increase (deviation 3
   * from Figure 25, see rtmfpcongestion.c) */
  ack (&cc, 9000, 1460, TRUE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 9760);
  /* the accumulator is untouched in slow start */
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);

  /* roughly one doubling per round trip of full-window acks */
  rtmfp_congestion_init (&cc, SMSS);
  {
    guint64 start = cc.cwnd, w, acked;

    w = cc.cwnd;
    for (acked = 0; acked + SMSS <= w; acked += SMSS)
      ack (&cc, cc.cwnd, SMSS, FALSE, FALSE, TRUE, FALSE);
    /* 4380 / 1460 = 3 packets of 1460 each: +4380 */
    g_assert_cmpuint (cc.cwnd, ==, 2 * start);
  }
}

static void
test_slow_start_not_fastgrow (void)
{
  RtmfpCongestion cc;

  /* TC_SENT and not FASTGROW in slow start: INCREASE = ceil (acked / 4) */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 4380, 1001, FALSE, FALSE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 4380 + 251);
  ack (&cc, 4631, 1000, FALSE, FALSE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 4631 + 250);
  /* capped at SMSS: ceil (10000 / 4) = 2500 > 1460 */
  ack (&cc, 4881, 10000, FALSE, FALSE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 4881 + 1460);

  /* TCR received (not FASTGROW), no TC sent: no exponential growth even
   * below SSTHRESH (3.5.2.1), 24 bytes per AITHRESH instead.
   * AITHRESH = min (max (4380 / 16 = 273, 64), 4800) = 273;
   * 4380 / 273 = 16 (remainder 12) -> +16 * 24 = 384 */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 4380, 4380, FALSE, FALSE, FALSE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 4380 + 384);
  g_assert_cmpuint (cc.acked_accumulator, ==, 12);
}

static void
test_additive_increase (void)
{
  RtmfpCongestion cc;

  /* FASTGROW, CWND >= SSTHRESH = 40000:
   * AITHRESH = min (max (2500, 64), 4800) = 2500 */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack (&cc, 40000, 6000, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 40096);        /* 2 x 48 */
  g_assert_cmpuint (cc.acked_accumulator, ==, 1000);
  /* AITHRESH now 40096 / 16 = 2506: 2500 accumulated is not enough */
  ack (&cc, 40096, 1500, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 40096);
  g_assert_cmpuint (cc.acked_accumulator, ==, 2500);
  ack (&cc, 40096, 6, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 40144);
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);

  /* large window: AITHRESH capped at 4800 (the "scalable" 1%).
   * Loss with TC_SENT: SSTHRESH = 7/8 x 160000 = 140000 */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 160000, 0, TRUE, TRUE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 140000);
  g_assert_cmpuint (cc.ssthresh, ==, 140000);
  ack (&cc, 140000, 100000, FALSE, FALSE, TRUE, FALSE);
  /* 100000 / 4800 = 20 -> +960, remainder 4000 */
  g_assert_cmpuint (cc.cwnd, ==, 140960);
  g_assert_cmpuint (cc.acked_accumulator, ==, 4000);
  /* INCREASE is capped at SMSS: 1000000 + 4000 -> 209 x 48 = 10032 */
  ack (&cc, 140960, 1000000, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 140960 + SMSS);
  g_assert_cmpuint (cc.acked_accumulator, ==, 1004000 - 209 * 4800);

  /* Not FASTGROW, no TC: cap 4800, 24 bytes per threshold.
   * AITHRESH = 2500; 5000 -> 2 x 24 */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack (&cc, 40000, 5000, FALSE, FALSE, FALSE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 40048);        /* 2 x 24 */
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);

  /* Not FASTGROW, TC_SENT, above SSTHRESH: cap 2400.  CWND 140000:
   * AITHRESH = min (8750, 2400) = 2400; 4800 -> 2 x 24 */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 160000, 0, TRUE, TRUE, FALSE, TRUE);
  ack (&cc, 140000, 4800, FALSE, FALSE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 140048);
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);
  /* ...whereas FASTGROW with the same numbers uses 4800: one step of 48 */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 160000, 0, TRUE, TRUE, FALSE, TRUE);
  ack (&cc, 140000, 4800, FALSE, FALSE, TRUE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 140048);
  ack (&cc, 140048, 2400, FALSE, FALSE, TRUE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 140048);
  g_assert_cmpuint (cc.acked_accumulator, ==, 2400);
}

static void
test_loss (void)
{
  RtmfpCongestion cc;

  /* FASTGROW and PRE_ACK_OUTSTANDING > 67200: 7/8 */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 80000, 5000, TRUE, TRUE, TRUE, FALSE);
  g_assert_cmpuint (cc.ssthresh, ==, 70000);
  g_assert_cmpuint (cc.cwnd, ==, 70000);

  /* exactly 67200 is not above the threshold: halve */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 67200, 0, TRUE, TRUE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 33600);

  /* not FASTGROW (TCR received), no TC sent: halve even when large */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 80000, 0, TRUE, TRUE, FALSE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 40000);

  /* TC_SENT: 7/8 whatever the size */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 10000, 0, TRUE, TRUE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 8750);
  /* 7/8 of 10001 = 8750.875 -> 8750 (integer arithmetic) */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 10001, 0, TRUE, TRUE, TRUE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 8750);

  /* never below CWND_INIT */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 6000, 0, TRUE, TRUE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  g_assert_cmpuint (cc.ssthresh, ==, 4380);
  ack (&cc, 4000, 0, TRUE, TRUE, FALSE, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 4380);

  /* loss resets the accumulator */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack (&cc, 40000, 1000, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.acked_accumulator, ==, 1000);
  ack (&cc, 40000, 1000, TRUE, TRUE, TRUE, FALSE);
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);
  g_assert_cmpuint (cc.cwnd, ==, 20000);

  /* after a loss the window grows additively (CWND == SSTHRESH) */
  ack (&cc, 20000, 2500, FALSE, FALSE, TRUE, FALSE);
  /* AITHRESH = 20000 / 16 = 1250 -> 2 x 48 */
  g_assert_cmpuint (cc.cwnd, ==, 20096);
}

static void
test_timeout (void)
{
  RtmfpCongestion cc;

  /* with loss: CWND_TIMEDOUT; SSTHRESH = max (inf, ...) stays infinite */
  rtmfp_congestion_init (&cc, SMSS);
  ack (&cc, 4380, 1460, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 5840);
  rtmfp_congestion_on_timeout (&cc, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, SMSS);
  g_assert_cmpuint (cc.ssthresh, ==, G_MAXUINT64);
  g_assert_false (rtmfp_congestion_can_send (&cc, SMSS));
  g_assert_true (rtmfp_congestion_can_send (&cc, SMSS - 1));

  /* the next acks bring it back to at least CWND_INIT at once:
   * max (1460 + min (500, 1460), 4380) */
  ack (&cc, SMSS, 500, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 4380);

  /* without loss: CWND_INIT */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack (&cc, 40000, 1000, FALSE, FALSE, TRUE, FALSE);
  rtmfp_congestion_on_timeout (&cc, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  /* SSTHRESH = max (40000, 3/4 x 40000) = 40000; accumulator cleared */
  g_assert_cmpuint (cc.ssthresh, ==, 40000);
  g_assert_cmpuint (cc.acked_accumulator, ==, 0);

  /* SSTHRESH raised to 3/4 CWND when that is larger */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 20000);
  /* above SSTHRESH: AITHRESH 1250, 20 steps of 48 = 960 */
  ack (&cc, 20000, 1250 * 20, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 20960);
  rtmfp_congestion_on_timeout (&cc, TRUE);
  /* 3/4 x 20960 = 15720 < 20000: SSTHRESH stays 20000 */
  g_assert_cmpuint (cc.ssthresh, ==, 20000);
  g_assert_cmpuint (cc.cwnd, ==, SMSS);

  /* SSTHRESH == CWND_INIT: a timeout without loss keeps both */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 4380);
  rtmfp_congestion_on_timeout (&cc, FALSE);
  g_assert_cmpuint (cc.ssthresh, ==, 4380);
  g_assert_cmpuint (cc.cwnd, ==, 4380);

  /* CWND = SSTHRESH = 100000: max (100000, 75000) keeps SSTHRESH */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 100000);
  rtmfp_congestion_on_timeout (&cc, FALSE);
  g_assert_cmpuint (cc.ssthresh, ==, 100000);
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  /* slow start back up: +1460 per full-window packet while below
   * SSTHRESH; 4380 + 66 x 1460 = 100740 is the first value >= 100000 */
  while (cc.cwnd < 100000)
    ack (&cc, cc.cwnd, SMSS, FALSE, FALSE, TRUE, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 100740);
  /* a window of 140000 times out: SSTHRESH = max (100000, 105000) */
  cc.cwnd = 140000;
  rtmfp_congestion_on_timeout (&cc, TRUE);
  g_assert_cmpuint (cc.ssthresh, ==, 105000);
  g_assert_cmpuint (cc.cwnd, ==, SMSS);
}

static void
test_never_below_init (void)
{
  RtmfpCongestion cc;
  GRand *r = g_rand_new_with_seed (7);
  guint i;

  /* Random acks, NAKs, losses: after any packet with acknowledgements the
   * window is at least CWND_INIT, and it only drops below on a timeout
   * with loss (to exactly CWND_TIMEDOUT). */
  rtmfp_congestion_init (&cc, SMSS);
  for (i = 0; i < 20000; i++) {
    guint what = g_rand_int_range (r, 0, 100);

    if (what < 3) {
      gboolean loss = g_rand_boolean (r);

      rtmfp_congestion_on_timeout (&cc, loss);
      g_assert_cmpuint (cc.cwnd, ==, loss ? SMSS : 4380);
    } else {
      guint64 before = cc.cwnd;
      guint64 pre = g_rand_int_range (r, 0, 2 * before + 2);
      guint64 acked = g_rand_int_range (r, 0, pre + 1);
      gboolean loss = g_rand_int_range (r, 0, 100) < 5;
      gboolean nak = loss || g_rand_int_range (r, 0, 100) < 10;

      ack (&cc, pre, acked, nak, loss, g_rand_boolean (r), g_rand_boolean (r));
      /* NAKs alone do not block growth (deviation 3, rtmfpcongestion.c);
       * the window is validated: no growth unless it was full */
      if (!loss && pre < before)
        g_assert_cmpuint (cc.cwnd, ==, before);
      else
        g_assert_cmpuint (cc.cwnd, >=, 4380);
      if (!loss)
        g_assert_cmpuint (cc.cwnd, <=, MAX (before + SMSS, 4380));
      else                      /* deviation 2: sized from MAX (pre, cwnd) */
        g_assert_cmpuint (cc.cwnd, >=, MAX (MIN (pre, before) / 2, 4380));
    }
  }
  g_rand_free (r);
}

/* ---- deviations from Figure 25 (rtmfpcongestion.c, top comment) ---- */

static void
ack_tsn (RtmfpCongestion * cc, guint64 pre, guint64 acked, gboolean loss,
    guint64 lost_tsn, guint64 next_tsn, gboolean tc_sent)
{
  RtmfpCongestionAck a = { 0 };

  a.acked_bytes = acked;
  a.pre_ack_outstanding = pre;
  a.any_nak = TRUE;
  a.any_loss = loss;
  a.lost_tsn = lost_tsn;
  a.next_tsn = next_tsn;
  a.fastgrow = TRUE;
  a.tc_sent = tc_sent;
  rtmfp_congestion_on_acks (cc, &a);
}

/* 1: several packets of one round trip report losses: one reduction */
static void
test_one_cut_per_episode (void)
{
  RtmfpCongestion cc;
  guint64 tsn;

  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  g_assert_cmpuint (cc.reductions, ==, 1);
  cc.reductions = 0;

  /* TSNs 1..99 sent; losing TSN 10 reduces once (halving, no TC) and the
   * episode lasts until everything sent so far (next TSN 100) */
  ack_tsn (&cc, 40000, 1000, TRUE, 10, 100, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 20000);
  g_assert_cmpuint (cc.ssthresh, ==, 20000);
  g_assert_cmpuint (cc.recover_tsn, ==, 100);
  g_assert_cmpuint (cc.reductions, ==, 1);

  /* the rest of the burst, and the fragments sent before the reduction
   * lost later (the window is still full of them): no further cut */
  for (tsn = 11; tsn < 100; tsn += 7)
    ack_tsn (&cc, 30000, 1000, TRUE, tsn, 100 + tsn, FALSE);
  g_assert_cmpuint (cc.reductions, ==, 1);
  g_assert_cmpuint (cc.ssthresh, ==, 20000);
  g_assert_cmpuint (cc.cwnd, >=, 20000);
  g_assert_cmpuint (cc.recover_tsn, ==, 100);

  /* a fragment transmitted after the reduction is lost: new episode */
  tsn = cc.cwnd;
  ack_tsn (&cc, cc.cwnd, 1000, TRUE, 100, 250, FALSE);
  g_assert_cmpuint (cc.reductions, ==, 2);
  g_assert_cmpuint (cc.cwnd, ==, tsn / 2);
  g_assert_cmpuint (cc.recover_tsn, ==, 250);

  /* without TSNs (both 0) every loss reduces, as in Figure 25 */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  set_window (&cc, 20000);
  g_assert_cmpuint (cc.reductions, ==, 2);
}

/* 1 (timeouts): what was in flight at a timeout does not cut again */
static void
test_timeout_ends_episode (void)
{
  RtmfpCongestion cc;

  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  rtmfp_congestion_on_timeout_tsn (&cc, TRUE, 500);
  g_assert_cmpuint (cc.cwnd, ==, SMSS);
  g_assert_cmpuint (cc.recover_tsn, ==, 500);
  cc.reductions = 0;
  /* a NAK-detected loss of a fragment sent before the timeout */
  ack_tsn (&cc, SMSS, SMSS, TRUE, 499, 510, FALSE);
  g_assert_cmpuint (cc.reductions, ==, 0);
  /* slow start goes on (Figure 25: never below CWND_INIT after acks) */
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  /* one sent after it */
  ack_tsn (&cc, 4380, 0, TRUE, 505, 520, FALSE);
  g_assert_cmpuint (cc.reductions, ==, 1);
  g_assert_cmpuint (cc.cwnd, ==, 4380);
  /* the recovery point never moves backwards */
  rtmfp_congestion_on_timeout_tsn (&cc, FALSE, 300);
  g_assert_cmpuint (cc.recover_tsn, ==, 520);
}

/* 2: an application-limited sender's cut is sized from the window */
static void
test_app_limited_cut (void)
{
  RtmfpCongestion cc;

  /* 1.5 Mbit/s at 30 ms with room to spare: CWND 16000, and one frame of
   * 3000 bytes in flight when the loss is detected */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 16000);
  ack_tsn (&cc, 3000, 1000, TRUE, 40, 50, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 8000);        /* Figure 25: CWND_INIT */
  /* time critical: 7/8 of the window */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 16000);
  ack_tsn (&cc, 3000, 1000, TRUE, 60, 70, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 14000);
  /* more outstanding than the window (just after a cut): from that */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 16000);
  ack_tsn (&cc, 20000, 1000, TRUE, 80, 90, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 10000);
}

/* 2 (validation): no growth while application limited */
static void
test_app_limited_no_growth (void)
{
  RtmfpCongestion cc;
  guint i;

  rtmfp_congestion_init (&cc, SMSS);
  /* slow start, FASTGROW, but the sender never fills the window: a long
   * run of acks for small frames leaves CWND where it was */
  for (i = 0; i < 10000; i++)
    ack_tsn (&cc, 4000, 1200, FALSE, 0, i + 1, i % 2);
  g_assert_cmpuint (cc.cwnd, ==, 4380);

  /* it grows only while full, by at most one SMSS per ack: the window is
   * never more than one SMSS above the largest flight seen */
  for (i = 0; i < 1000; i++) {
    guint64 flight = 4380 + (i % 10) * 300;

    ack_tsn (&cc, MIN (flight, cc.cwnd), 1460, FALSE, 0, i + 1, FALSE);
    g_assert_cmpuint (cc.cwnd, <=, 4380 + 9 * 300 + SMSS);
  }

  /* after a cut sized from the window, an app-limited flight does not
   * grow it back */
  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack_tsn (&cc, 3000, 0, TRUE, 5, 9, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 35000);
  for (i = 0; i < 1000; i++)
    ack_tsn (&cc, 20000, 2000, FALSE, 0, 9, TRUE);
  g_assert_cmpuint (cc.cwnd, ==, 35000);
}

/* 3: increase continues on acks with NAKs for losses already handled */
static void
test_growth_despite_naks (void)
{
  RtmfpCongestion cc;
  guint64 w;
  guint i;

  rtmfp_congestion_init (&cc, SMSS);
  set_window (&cc, 40000);
  ack_tsn (&cc, 40000, 0, TRUE, 100, 200, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, 20000);
  w = cc.cwnd;
  /* full window, every ack has NAKs, some report old losses: additive
   * increase (AITHRESH 1250 -> 2 x 48 per 2500 acked) */
  ack_tsn (&cc, 20000, 2500, FALSE, 0, 210, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, w + 96);
  /* AITHRESH 20096 / 16 = 1256: one step, 1244 carried */
  ack_tsn (&cc, 20096, 2500, TRUE, 150, 220, FALSE);
  g_assert_cmpuint (cc.cwnd, ==, w + 144);
  for (i = 0; i < 100; i++)
    ack_tsn (&cc, cc.cwnd, 1250, i % 3 == 0, 100 + i % 100, 230 + i, FALSE);
  g_assert_cmpuint (cc.reductions, ==, 2);
  g_assert_cmpuint (cc.cwnd, >, w + 144 + 50 * 48);
}

/* ---- the media controller (rtmfpmediacc.c) ---- */

#define MS 1000
#define T0 (1000 * G_TIME_SPAN_SECOND)

/* Feeds `n` acknowledgements, one every 10 ms from *t, each acking `bytes`
 * with an RTT sample of rtt_ms; loss: lose `lost` bytes in each, with a
 * new episode every time */
static void
media_feed (RtmfpMediaCc * cc, gint64 * t, guint n, guint64 bytes,
    gint64 rtt_ms, guint64 lost, gboolean limited)
{
  static guint64 tsn = 1;
  guint i;

  for (i = 0; i < n; i++) {
    RtmfpMediaCcAck a = { 0 };

    a.acked_bytes = bytes;
    a.lost_bytes = lost;
    a.any_loss = lost > 0;
    a.lost_tsn = tsn;
    a.next_tsn = tsn + 1;
    tsn += 2;
    a.rtt_sample = rtt_ms * MS;
    a.srtt = rtt_ms * MS;
    a.window_limited = limited;
    *t += 10 * MS;
    rtmfp_media_cc_on_acks (cc, &a, *t);
  }
}

static void
test_media_nicks (void)
{
  RtmfpCongestionControl cc = RTMFP_CONGESTION_TCP;

  g_assert_cmpstr (rtmfp_congestion_control_get_nick (RTMFP_CONGESTION_TCP),
      ==, "tcp");
  g_assert_cmpstr (rtmfp_congestion_control_get_nick
      (RTMFP_CONGESTION_MEDIA), ==, "media");
  g_assert_true (rtmfp_congestion_control_from_nick ("media", &cc));
  g_assert_cmpint (cc, ==, RTMFP_CONGESTION_MEDIA);
  g_assert_true (rtmfp_congestion_control_from_nick ("tcp", &cc));
  g_assert_cmpint (cc, ==, RTMFP_CONGESTION_TCP);
  g_assert_false (rtmfp_congestion_control_from_nick ("bbr", &cc));
  g_assert_false (rtmfp_congestion_control_from_nick (NULL, &cc));
  g_assert_cmpint (cc, ==, RTMFP_CONGESTION_TCP);
}

/* Random loss without a queue (RTT at its base) does not lower the rate;
 * the same loss with a queue does, once per episode */
static void
test_media_random_loss (void)
{
  RtmfpMediaCc cc;
  gint64 t = T0;
  gdouble before;

  rtmfp_media_cc_init (&cc, 1200, t);
  /* 3 Mbit/s delivered (3750 bytes per 10 ms), window limited */
  media_feed (&cc, &t, 300, 3750, 30, 0, TRUE);
  before = cc.rate;
  g_assert_cmpfloat (before, >=, 3e6);
  /* 10 % loss, no queue: no decrease */
  media_feed (&cc, &t, 300, 3375, 30, 375, TRUE);
  g_assert_cmpfloat (cc.rate, >=, before);
  g_assert_cmpuint (cc.reductions, ==, 0);
  /* the same with a queue of 40 ms (the smoothed queueing delay passes
   * 15 ms at the third sample): congestion */
  media_feed (&cc, &t, 4, 3375, 70, 375, TRUE);
  g_assert_cmpuint (cc.reductions, >=, 1);
  g_assert_cmpint (cc.qdelay, >=, 15 * MS);
  g_assert_cmpfloat (cc.rate, <, before);
}

/* A growing queue: down to below the delivery rate, then HOLD */
static void
test_media_overuse (void)
{
  RtmfpMediaCc cc;
  gint64 t = T0;
  guint i;

  rtmfp_media_cc_init (&cc, 1200, t);
  media_feed (&cc, &t, 300, 3750, 30, 0, TRUE);
  g_assert_cmpfloat (cc.delivery_rate, >, 2.9e6);
  g_assert_cmpfloat (cc.delivery_rate, <, 3.1e6);
  /* the queue grows to 60 ms over 200 ms */
  for (i = 0; i < 20; i++)
    media_feed (&cc, &t, 1, 3750, 30 + 3 * i, 0, TRUE);
  g_assert_cmpint (cc.state, ==, RTMFP_MEDIA_CC_HOLD);
  g_assert_cmpfloat (cc.rate, <=, 0.85 * cc.delivery_rate);
  g_assert_cmpfloat (cc.rate, >=, 0.5 * cc.delivery_rate);
  /* the window and pacing follow the rate */
  g_assert_cmpfloat (cc.pacing_rate, ==, 1.25 * cc.rate);
  g_assert_cmpuint (cc.cwnd, <, (guint64) (cc.rate / 8 * 0.2) + 2 * 1200 +
      1);
  /* drained: increase again */
  media_feed (&cc, &t, 10, 3750, 30, 0, TRUE);
  g_assert_cmpint (cc.state, ==, RTMFP_MEDIA_CC_INCREASE);
}

/* A queue that stays although we slowed down: COMPETE; heavy loss (over
 * 20 %) lowers the rate even without a queue; a timeout halves it */
static void
test_media_compete_heavy_loss_timeout (void)
{
  RtmfpMediaCc cc;
  gint64 t = T0;
  gdouble r;

  rtmfp_media_cc_init (&cc, 1200, t);
  media_feed (&cc, &t, 300, 3750, 30, 0, TRUE);
  media_feed (&cc, &t, 300, 3750, 100, 0, TRUE);
  g_assert_cmpint (cc.state, ==, RTMFP_MEDIA_CC_COMPETE);
  media_feed (&cc, &t, 10, 3750, 30, 0, TRUE);
  g_assert_cmpint (cc.state, ==, RTMFP_MEDIA_CC_INCREASE);

  r = cc.rate;
  media_feed (&cc, &t, 100, 2500, 30, 1250, TRUE);
  g_assert_cmpfloat (cc.loss_fraction, >, 0.3);
  g_assert_cmpfloat (cc.rate, <, r);

  r = cc.rate;
  rtmfp_media_cc_on_timeout (&cc, FALSE, 1, t);
  g_assert_cmpfloat (cc.rate, ==, r);
  rtmfp_media_cc_on_timeout (&cc, TRUE, 1, t);
  g_assert_cmpfloat (cc.rate, ==, MAX (r / 2, 64000));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/congestion/media/nicks", test_media_nicks);
  g_test_add_func ("/congestion/media/random-loss", test_media_random_loss);
  g_test_add_func ("/congestion/media/overuse", test_media_overuse);
  g_test_add_func ("/congestion/media/compete-heavy-loss-timeout",
      test_media_compete_heavy_loss_timeout);

  g_test_add_func ("/congestion/init", test_init);
  g_test_add_func ("/congestion/slow-start", test_slow_start);
  g_test_add_func ("/congestion/slow-start-not-fastgrow",
      test_slow_start_not_fastgrow);
  g_test_add_func ("/congestion/additive-increase", test_additive_increase);
  g_test_add_func ("/congestion/loss", test_loss);
  g_test_add_func ("/congestion/timeout", test_timeout);
  g_test_add_func ("/congestion/never-below-init", test_never_below_init);
  g_test_add_func ("/congestion/one-cut-per-episode",
      test_one_cut_per_episode);
  g_test_add_func ("/congestion/timeout-ends-episode",
      test_timeout_ends_episode);
  g_test_add_func ("/congestion/app-limited-cut", test_app_limited_cut);
  g_test_add_func ("/congestion/app-limited-no-growth",
      test_app_limited_no_growth);
  g_test_add_func ("/congestion/growth-despite-naks",
      test_growth_despite_naks);
  return g_test_run ();
}
