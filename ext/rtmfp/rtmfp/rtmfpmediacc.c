/* RTMFP core: the opt-in "media" congestion controller.
 *
 * RFC 7016 section 3.5.2 requires a TCP-compatible controller, and the
 * default one (rtmfpcongestion.c) is.  A TCP-compatible sender reads every
 * loss as congestion, so at 100 ms RTT and 5 % random loss it carries
 * about 0.5 Mbit/s (Mathis et al.), and at 10 % it cannot carry a
 * 1.5 Mbit/s stream at any RTT.  This controller, selected per session
 * (RTMFP_CONGESTION_MEDIA) for paths an operator knows to be lossy, reads
 * congestion from queueing delay instead, as WebRTC's GCC
 * (draft-ietf-rmcat-gcc-02) and BBR (Cardwell et al., ACM Queue 2016)
 * do, and treats loss as congestion only when it comes with a full queue
 * or is heavy.  It still yields: a growing bottleneck queue makes it back
 * off, and a TCP flow that keeps the queue full gets its share (it then
 * competes like TCP, AIMD on the losses of the full queue).
 *
 * Signals:
 *  - base RTT: the minimum RTT over BASE_RTT_WINDOW (LEDBAT, RFC 6817,
 *    keeps a similar "base delay"); queueing delay = RTT - base RTT,
 *    smoothed (gain 1/4).  RTT samples come from the timestamp echo
 *    (3.5.2.2, 4 ms ticks).
 *  - delivery rate: bytes acknowledged per interval of about an RTT; an
 *    interval in which the sender was not held back by the window or
 *    pacing is application limited (BBR's rule: such a sample only counts
 *    when it is higher than the estimate).
 *  - loss: episodes as in rtmfpcongestion.c (one response per window of
 *    data), and the loss fraction over LOSS_INTERVAL.
 *
 * Rate control (the rate is the estimate of what the path carries; the
 * window and the pacing rate follow from it):
 *  - STARTUP: doubles per RTT (RFC 5681 slow start, the most RFC 7016
 *    allows) until the queue grows or a loss comes with a queue.
 *  - INCREASE: queue below Q_LOW: +1.5 % and one packet per RTT; between
 *    Q_LOW and Q_HIGH: one packet per RTT (additive near the bottleneck,
 *    which makes competing media sessions converge, as GCC's additive
 *    mode does).  Never increased above 1.5 x the delivery rate averaged
 *    over 500 ms (GCC's cap on the received rate; for an application-
 *    limited sender also RFC 7661's validation), 2 x in STARTUP.
 *  - over-use, queue above Q_HIGH: rate = 0.85 x delivery rate (GCC's
 *    beta) minus what drains the queue within DRAIN_TIME, then HOLD while
 *    the queue drains, decreasing again when it grows.
 *  - a queue that does not drain for COMPETE_AFTER although we decreased
 *    is another flow's (a loss-based TCP flow fills any buffer): COMPETE,
 *    Reno-like AIMD (one packet per RTT; halve on a loss episode), with a
 *    drain probe every COMPETE_PROBE (half rate for a round trip: if the
 *    queue then nearly empties, it was ours: HOLD).  Back to INCREASE once
 *    the queue drained.
 *  - loss: an episode with the queue above Q_LOSS is congestion: x 0.7 in
 *    every state.  Without a queue it is random loss and ignored, unless
 *    the loss fraction passes LOSS_HIGH (20 %): then x (1 - loss / 2),
 *    GCC's loss-based controller with its upper threshold raised from
 *    10 % (so that 10 % random loss is tolerated).
 *  - TIMEOUT_ALARM with loss: halve (no collapse to one packet).
 *  - time-critical reverse notification (3.5.2.1): no multiplicative
 *    increase while it applies.
 * Outputs: pacing at 1.25 x the rate; window = rate x (2 base RTT +
 * 2 Q_HIGH) + 2 packets.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-mediacc"

#include "rtmfpmediacc.h"

#define MS (G_TIME_SPAN_MILLISECOND)
#define SEC (G_TIME_SPAN_SECOND)

#define RATE_MIN 64000.0                /* bit/s */
#define RATE_INIT (4380 * 8 * 10.0)     /* CWND_INIT per 100 ms */
#define Q_LOW (8 * MS)
#define Q_HIGH (30 * MS)
#define Q_LOSS (15 * MS)
#define BASE_RTT_WINDOW (30 * SEC)
#define DELIVERY_MAX_WINDOW (2 * SEC)
#define AVG_INTERVAL (500 * MS)          /* delivery average for the cap */
#define DR_INTERVAL_MIN (20 * MS)
#define LOSS_INTERVAL (500 * MS)
#define LOSS_HIGH 0.20
#define BETA_DELAY 0.85
#define BETA_LOSS 0.7
#define MULT_INCREASE 0.015             /* per RTT, queue empty */
#define APP_LIMITED_CAP 1.5
#define STARTUP_CAP 2.0
#define COMPETE_AFTER (1 * SEC)
#define COMPETE_PROBE (5 * SEC)
#define DRAIN_TIME (1.0 * SEC)
#define PACING_GAIN 1.25
#define DEFAULT_RTT (100 * MS)          /* before any sample */
#define ESTIMATE_AVERAGE (1.0 * SEC)

static const gchar *
state_nick (RtmfpMediaCcState s)
{
  switch (s) {
    case RTMFP_MEDIA_CC_STARTUP:
      return "startup";
    case RTMFP_MEDIA_CC_INCREASE:
      return "increase";
    case RTMFP_MEDIA_CC_HOLD:
      return "hold";
    case RTMFP_MEDIA_CC_COMPETE:
      return "compete";
  }
  return "?";
}

static void
set_state (RtmfpMediaCc * cc, RtmfpMediaCcState s, gint64 now)
{
  if (cc->state == s)
    return;
  g_debug ("%s -> %s, rate %.0f kbit/s, queue %" G_GINT64_FORMAT " ms",
      state_nick (cc->state), state_nick (s), cc->rate / 1000,
      cc->qdelay / 1000);
  cc->state = s;
  cc->state_since = now;
}

static gint64
base_or_default (const RtmfpMediaCc * cc)
{
  return cc->base_rtt > 0 ? cc->base_rtt : DEFAULT_RTT;
}

static void
update_outputs (RtmfpMediaCc * cc)
{
  gdouble window_s = (2.0 * base_or_default (cc) + 2.0 * Q_HIGH) / 1e6;
  gdouble rate;

  cc->rate = MAX (cc->rate, RATE_MIN);
  /* a COMPETE drain probe sends at half the rate */
  rate = cc->probing ? cc->rate / 2 : cc->rate;
  cc->pacing_rate = rate * PACING_GAIN;
  cc->cwnd = (guint64) (rate / 8.0 * window_s) + 2 * (guint64) cc->smss;
}

void
rtmfp_media_cc_init (RtmfpMediaCc * cc, guint smss, gint64 now)
{
  g_return_if_fail (cc != NULL);

  *cc = (RtmfpMediaCc) {
  0};
  cc->smss = smss ? smss : 1;
  cc->state = RTMFP_MEDIA_CC_STARTUP;
  cc->state_since = now;
  cc->rate = RATE_INIT;
  cc->last_update = -1;
  cc->base_rtt = -1;
  cc->qdelay = -1;
  cc->overuse_since = -1;
  cc->dr_start = -1;
  cc->delivery_max_time = -1;
  cc->loss_start = -1;
  cc->avg_start = -1;
  cc->avg_time = -1;
  update_outputs (cc);
  cc->estimate = cc->rate;
}

static void
decrease_to (RtmfpMediaCc * cc, gdouble rate, const gchar * why, gint64 now)
{
  rate = MAX (rate, RATE_MIN);
  if (rate >= cc->rate)
    return;
  g_debug ("%s: rate %.0f -> %.0f kbit/s (delivery %.0f, queue %"
      G_GINT64_FORMAT " ms, loss %.1f %%)", why, cc->rate / 1000,
      rate / 1000, cc->delivery_rate / 1000, cc->qdelay / 1000,
      cc->loss_fraction * 100);
  cc->rate = rate;
  cc->last_update = now;
  cc->reductions++;
}

/* Delivery rate intervals of at least an RTT */
static void
update_delivery (RtmfpMediaCc * cc, const RtmfpMediaCcAck * a, gint64 now)
{
  gint64 rtt = a->srtt > 0 ? a->srtt : base_or_default (cc);
  gint64 len;

  cc->delivered += a->acked_bytes;
  if (a->window_limited)
    cc->dr_limited = TRUE;
  /* the average over AVG_INTERVAL, for the application-limited cap (GCC
   * caps at 1.5 x the received rate, measured over 500 ms) */
  if (cc->avg_start < 0) {
    cc->avg_start = now;
    cc->avg_start_delivered = cc->delivered;
  } else if (now - cc->avg_start >= AVG_INTERVAL) {
    gdouble avg = (gdouble) (cc->delivered - cc->avg_start_delivered) *
        8e6 / (gdouble) (now - cc->avg_start);

    cc->delivery_avg_prev = cc->delivery_avg;
    cc->delivery_avg = avg;
    cc->avg_start = now;
    cc->avg_start_delivered = cc->delivered;
  }
  if (cc->dr_start < 0) {
    cc->dr_start = now;
    cc->dr_start_delivered = cc->delivered;
    cc->dr_limited = a->window_limited;
    return;
  }
  len = now - cc->dr_start;
  if (len < MAX (rtt, DR_INTERVAL_MIN))
    return;

  cc->delivery_rate = (gdouble) (cc->delivered - cc->dr_start_delivered) *
      8e6 / (gdouble) len;
  cc->app_limited = !cc->dr_limited;
  /* the recent maximum (a window of DELIVERY_MAX_WINDOW) */
  if (cc->delivery_rate > cc->delivery_max ||
      now - cc->delivery_max_time > DELIVERY_MAX_WINDOW) {
    cc->delivery_max = cc->delivery_rate;
    cc->delivery_max_time = now;
  }
  /* STARTUP ends when the delivery rate stops growing although the
   * window held data back: the pipe is full (BBR: three rounds without
   * 25 % growth) */
  if (cc->state == RTMFP_MEDIA_CC_STARTUP && !cc->app_limited) {
    if (cc->delivery_rate >= 1.25 * cc->startup_best) {
      cc->startup_best = cc->delivery_rate;
      cc->startup_rounds = 0;
    } else if (++cc->startup_rounds >= 3) {
      cc->rate = MIN (cc->rate, MAX (cc->delivery_max, RATE_MIN));
      set_state (cc, RTMFP_MEDIA_CC_INCREASE, now);
    }
  }
  cc->dr_start = now;
  cc->dr_start_delivered = cc->delivered;
  cc->dr_limited = FALSE;
}

static void
update_loss (RtmfpMediaCc * cc, const RtmfpMediaCcAck * a, gint64 now)
{
  cc->loss_acked += a->acked_bytes;
  cc->loss_lost += a->lost_bytes;
  if (cc->loss_start < 0) {
    cc->loss_start = now;
    return;
  }
  if (now - cc->loss_start < LOSS_INTERVAL)
    return;
  if (cc->loss_acked + cc->loss_lost > 0)
    cc->loss_fraction = (gdouble) cc->loss_lost /
        (gdouble) (cc->loss_acked + cc->loss_lost);
  cc->loss_start = now;
  cc->loss_acked = cc->loss_lost = 0;
  if (cc->loss_fraction > LOSS_HIGH)
    decrease_to (cc, cc->rate * (1.0 - cc->loss_fraction / 2.0),
        "heavy loss", now);
}

static void
update_delay (RtmfpMediaCc * cc, gint64 sample, gint64 now)
{
  gint64 q;

  if (sample < 0)
    return;
  if (cc->base_rtt < 0 || sample <= cc->base_rtt ||
      now - cc->base_rtt_time > BASE_RTT_WINDOW) {
    cc->base_rtt = sample;
    cc->base_rtt_time = now;
  }
  q = sample - cc->base_rtt;
  cc->qdelay = cc->qdelay < 0 ? q : (3 * cc->qdelay + q) / 4;
}

/* COMPETE: every COMPETE_PROBE, send at half the rate for a round trip;
 * if the queue then drains, it was ours after all */
static void
compete_probe (RtmfpMediaCc * cc, gint64 rtt, gint64 now)
{
  if (cc->probing) {
    if (now < cc->probe_end)
      return;
    cc->probing = FALSE;
    cc->last_probe = now;
    if (cc->qdelay <= MAX (Q_HIGH, cc->probe_qdelay * 4 / 10)) {
      g_debug ("queue drained from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
          " ms when we slowed down: ours", cc->probe_qdelay / 1000,
          cc->qdelay / 1000);
      set_state (cc, RTMFP_MEDIA_CC_HOLD, now);
      cc->overuse_since = now;
      cc->overuse_qdelay = cc->qdelay;
    }
    return;
  }
  if (now - cc->last_probe >= COMPETE_PROBE) {
    cc->probing = TRUE;
    cc->probe_end = now + MAX (rtt + cc->qdelay, 200 * MS);
    cc->probe_qdelay = cc->qdelay;
  }
}

/* Decreases for a growing queue; TRUE if the queue is over the mark.
 * The decrease aims below the delivery rate by enough to drain what is
 * queued within DRAIN_TIME; then one decision per round trip: the queue
 * drains (ours: wait), grows (decrease again), or stays: if it does not
 * shrink for COMPETE_AFTER although we send below the rate the path
 * delivers, another flow keeps it full: COMPETE. */
static gboolean
handle_overuse (RtmfpMediaCc * cc, gint64 rtt, gint64 now)
{
  gdouble d, target;

  if (cc->state == RTMFP_MEDIA_CC_COMPETE)
    compete_probe (cc, rtt, now);
  if (cc->qdelay <= Q_HIGH) {
    cc->overuse_since = -1;
    if ((cc->state == RTMFP_MEDIA_CC_HOLD ||
            cc->state == RTMFP_MEDIA_CC_COMPETE) && cc->qdelay < Q_LOW) {
      cc->probing = FALSE;
      set_state (cc, RTMFP_MEDIA_CC_INCREASE, now);
    }
    return FALSE;
  }
  if (cc->state == RTMFP_MEDIA_CC_COMPETE)
    return TRUE;
  if (cc->overuse_since < 0) {
    cc->overuse_since = now;
    cc->overuse_qdelay = cc->qdelay;
  } else if (cc->state == RTMFP_MEDIA_CC_HOLD) {
    if (now - cc->last_decision < rtt + cc->qdelay)
      return TRUE;
    cc->last_decision = now;
    if (cc->qdelay < cc->overuse_qdelay * 9 / 10) {
      /* draining: it is our queue, and it goes */
      cc->overuse_since = now;
      cc->overuse_qdelay = cc->qdelay;
      return TRUE;
    }
    if (now - cc->overuse_since >= COMPETE_AFTER) {
      g_debug ("queue of %" G_GINT64_FORMAT " ms does not drain: competing",
          cc->qdelay / 1000);
      set_state (cc, RTMFP_MEDIA_CC_COMPETE, now);
      cc->last_probe = now;
      return TRUE;
    }
    if (cc->qdelay <= cc->overuse_qdelay * 11 / 10)
      return TRUE;              /* flat: not ours to chase down */
    cc->overuse_qdelay = cc->qdelay;
  }
  cc->last_decision = now;
  d = cc->delivery_rate > 0 ? cc->delivery_rate : cc->rate;
  target = d * MAX (BETA_DELAY - (gdouble) cc->qdelay / DRAIN_TIME, 0.5);
  decrease_to (cc, target, "queue", now);
  set_state (cc, RTMFP_MEDIA_CC_HOLD, now);
  return TRUE;
}

static void
increase (RtmfpMediaCc * cc, const RtmfpMediaCcAck * a, gint64 rtt,
    gint64 now)
{
  gint64 dt;
  gdouble f, cap, add, before = cc->rate;
  gdouble avg = MAX (cc->delivery_avg, cc->delivery_avg_prev);

  /* before a whole average interval, the per-RTT samples */
  if (avg <= 0)
    avg = cc->delivery_max;

  if (cc->last_update < 0) {
    cc->last_update = now;
    return;
  }
  dt = now - cc->last_update;
  if (dt <= 0)
    return;
  f = MIN ((gdouble) dt / (gdouble) rtt, 1.0);
  cc->last_update = now;
  add = cc->smss * 8.0 * 1e6 / (gdouble) rtt * f;       /* a packet per RTT */

  switch (cc->state) {
    case RTMFP_MEDIA_CC_STARTUP:
      if (a->yield)
        cc->rate += add;
      else
        cc->rate *= 1.0 + f;    /* doubling per RTT */
      /* per-RTT samples: the cap doubles as fast as the rate */
      cap = STARTUP_CAP * MAX (cc->delivery_max, RATE_INIT / STARTUP_CAP);
      break;
    case RTMFP_MEDIA_CC_INCREASE:
      if (cc->qdelay < Q_LOW && !a->yield)
        cc->rate *= 1.0 + MULT_INCREASE * f;
      cc->rate += add;
      cap = APP_LIMITED_CAP * avg;
      break;
    case RTMFP_MEDIA_CC_COMPETE:
      cc->rate += add;
      cap = APP_LIMITED_CAP * avg;
      break;
    default:
      return;
  }
  /* not beyond what the path delivered (the cap never decreases the
   * rate): an application-limited sender cannot validate more, and a
   * greedy one finds the bottleneck from below */
  cc->rate = MIN (cc->rate, MAX (cap, before));
}

/* The estimate for adaptive bitrate: the rate, or while COMPETE (a
 * Reno-like sawtooth) its mean, averaged over about ESTIMATE_AVERAGE */
static void
update_estimate (RtmfpMediaCc * cc, gint64 now)
{
  gdouble f;

  if (cc->avg_time < 0 || cc->rate_avg <= 0) {
    cc->rate_avg = cc->rate;
  } else {
    f = MIN ((gdouble) (now - cc->avg_time) / ESTIMATE_AVERAGE, 1.0);
    cc->rate_avg += (cc->rate - cc->rate_avg) * f;
  }
  cc->avg_time = now;
  cc->estimate = cc->state == RTMFP_MEDIA_CC_COMPETE ?
      MIN (cc->rate_avg, cc->rate * 2) : cc->rate;
}

void
rtmfp_media_cc_on_acks (RtmfpMediaCc * cc, const RtmfpMediaCcAck * a,
    gint64 now)
{
  gint64 rtt;
  gboolean over;

  g_return_if_fail (cc != NULL);
  g_return_if_fail (a != NULL);

  update_delivery (cc, a, now);
  update_delay (cc, a->rtt_sample, now);
  rtt = a->srtt > 0 ? a->srtt : base_or_default (cc);

  /* a loss episode with a queue is congestion; without one, random */
  if (a->any_loss && a->lost_tsn >= cc->recover_tsn) {
    if (cc->qdelay >= Q_LOSS) {
      decrease_to (cc, cc->rate * (cc->state == RTMFP_MEDIA_CC_COMPETE ?
              0.5 : BETA_LOSS), "loss with a queue", now);
      cc->recover_tsn = a->next_tsn;
      if (cc->state == RTMFP_MEDIA_CC_STARTUP)
        set_state (cc, RTMFP_MEDIA_CC_INCREASE, now);
    }
  }
  update_loss (cc, a, now);

  over = handle_overuse (cc, rtt, now);
  if (over && cc->state == RTMFP_MEDIA_CC_STARTUP)
    set_state (cc, RTMFP_MEDIA_CC_HOLD, now);
  if (!over || cc->state == RTMFP_MEDIA_CC_COMPETE)
    increase (cc, a, rtt, now);
  update_outputs (cc);
  update_estimate (cc, now);
}

void
rtmfp_media_cc_seed_rate (RtmfpMediaCc * cc, gdouble rate)
{
  g_return_if_fail (cc != NULL);

  if (rate > cc->rate) {
    cc->rate = rate;
    update_outputs (cc);
    cc->estimate = cc->rate;
  }
}

void
rtmfp_media_cc_on_timeout (RtmfpMediaCc * cc, gboolean was_loss,
    guint64 next_tsn, gint64 now)
{
  g_return_if_fail (cc != NULL);

  if (!was_loss)
    return;
  cc->recover_tsn = MAX (cc->recover_tsn, next_tsn);
  decrease_to (cc, cc->rate / 2, "timeout", now);
  if (cc->state == RTMFP_MEDIA_CC_STARTUP)
    set_state (cc, RTMFP_MEDIA_CC_INCREASE, now);
  update_outputs (cc);
  update_estimate (cc, now);
}
