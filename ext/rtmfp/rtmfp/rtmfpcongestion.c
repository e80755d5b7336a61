/* RTMFP core: congestion control, RFC 7016 section 3.5.2 and Appendix A
 *
 * This is the example window algorithm of Appendix A.2, with its constants
 * unchanged.  The session keeps S_OUTSTANDING_BYTES and the per-packet
 * notifications (ANY_LOSS, ANY_NAKS, ACKED_BYTES_THIS_PACKET,
 * PRE_ACK_OUTSTANDING) and hands them over once per received packet that
 * carried acknowledgements (that call is ANY_ACKS = true).
 *
 * Section 3.5.2 requires only a TCP-compatible algorithm; Appendix A is an
 * example.  We deviate from Figure 25 in three places, because as written
 * it holds an application-limited live sender (a 1.5 Mbit/s stream at
 * 30 ms RTT and 5-10 % random loss) at CWND_INIT, below its media rate
 * (bench/results/loss-investigation.md):
 *
 *  1. One reduction per loss episode (RFC 5681 section 3.2 / RFC 6582
 *     NewReno "recover"): Figure 25 reduces on every packet reporting a
 *     new loss, several times per round trip at these loss rates.  We
 *     remember the session's next TSN (3.6.2.5) when reducing; a later
 *     loss of a fragment transmitted before that point belongs to the same
 *     congestion event and does not reduce again.  TCP reduces once per
 *     window of data, so this is exactly as conservative as TCP.
 *  2. The reduction is sized from MAX(PRE_ACK_OUTSTANDING, CWND), not from
 *     PRE_ACK_OUTSTANDING alone.  For an application-limited sender the
 *     outstanding bytes are only what the last frame put in flight, so
 *     Figure 25 resets the window to CWND_INIT on every loss.  RFC 7661
 *     (section 4.4) likewise sizes the reduction of a rate-limited sender
 *     from what it recently used (pipeACK), not from the flight at the
 *     moment of the loss.  CWND itself stays validated: it only grows on
 *     acks while PRE_ACK_OUTSTANDING >= CWND (as in Figure 25), so it is
 *     never more than one increment above a flight the sender really had
 *     -- it cannot grow while application limited (RFC 7661 section 4.3).
 *     Simplification: we do not measure pipeACK nor decay an unused window
 *     after RFC 7661's five-minute non-validated period; a live stream's
 *     keyframes fill the window every few seconds anyway.
 *  3. Increase is not blocked by NAKs alone.  Figure 25 skips the increase
 *     for any packet with a NAK; at 5 % loss nearly every ack carries one
 *     (three NAKs per loss), so the window never grows back.  Acks that
 *     report no new loss episode (no loss, or only losses of fragments
 *     sent before the last reduction) grow the window as in Figure 25.
 *
 * Timeouts (Figure 24) are unchanged, and also end the loss episode.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-congestion"

#include "rtmfpcongestion.h"

/* Appendix A.2: CWND_INIT per RFC 5681 section 3.1, example 4380 bytes */
#define CWND_INIT_DEFAULT 4380

/* Appendix A.2, Figure 25 constants */
#define LOSS_SCALABLE_THRESHOLD 67200   /* 7/8 of 76800 */
#define AI_FAST_INCREMENT 48
#define AI_SLOW_INCREMENT 24
#define AITHRESH_MIN 64
#define AITHRESH_CAP 4800
#define AITHRESH_CAP_TC 2400

const gchar *
rtmfp_congestion_control_get_nick (RtmfpCongestionControl cc)
{
  switch (cc) {
    case RTMFP_CONGESTION_TCP:
      return "tcp";
    case RTMFP_CONGESTION_MEDIA:
      return "media";
  }
  return "unknown";
}

gboolean
rtmfp_congestion_control_from_nick (const gchar * nick,
    RtmfpCongestionControl * cc)
{
  g_return_val_if_fail (cc != NULL, FALSE);

  if (g_strcmp0 (nick, "tcp") == 0)
    *cc = RTMFP_CONGESTION_TCP;
  else if (g_strcmp0 (nick, "media") == 0)
    *cc = RTMFP_CONGESTION_MEDIA;
  else
    return FALSE;
  return TRUE;
}

/* x * num / den without overflowing for any realistic x */
static guint64
mul_frac (guint64 x, guint num, guint den)
{
  return (x / den) * num + ((x % den) * num) / den;
}

void
rtmfp_congestion_init (RtmfpCongestion * cc, guint smss)
{
  g_return_if_fail (cc != NULL);

  if (smss == 0)
    smss = 1;
  cc->smss = smss;
  cc->cwnd_init = CWND_INIT_DEFAULT;
  cc->cwnd_timedout = smss;     /* CWND_TIMEDOUT = 1 * SMSS */
  cc->cwnd = cc->cwnd_init;
  cc->ssthresh = G_MAXUINT64;   /* positive infinity */
  cc->acked_accumulator = 0;
  cc->recover_tsn = 0;
  cc->reductions = 0;
}

/* Figure 24 */
void
rtmfp_congestion_on_timeout (RtmfpCongestion * cc, gboolean was_loss)
{
  rtmfp_congestion_on_timeout_tsn (cc, was_loss, 0);
}

void
rtmfp_congestion_on_timeout_tsn (RtmfpCongestion * cc, gboolean was_loss,
    guint64 next_tsn)
{
  g_return_if_fail (cc != NULL);

  /* RFC 6582 section 3.2 step 4: after a retransmission timeout, losses
   * of what was sent before it are not a new congestion event. */
  cc->recover_tsn = MAX (cc->recover_tsn, next_tsn);

  cc->ssthresh = MAX (cc->ssthresh, mul_frac (cc->cwnd, 3, 4));
  cc->acked_accumulator = 0;
  cc->cwnd = was_loss ? cc->cwnd_timedout : cc->cwnd_init;
  g_debug ("timeout (loss %d): cwnd %" G_GUINT64_FORMAT " ssthresh %"
      G_GUINT64_FORMAT, was_loss, cc->cwnd, cc->ssthresh);
}

/* Adds the accumulated acked bytes and returns how many times AITHRESH
 * was reached (the loop of Figure 25, without looping). */
static guint64
accumulate (RtmfpCongestion * cc, guint64 acked, guint64 cap)
{
  guint64 aithresh, n;

  cc->acked_accumulator += acked;
  aithresh = MIN (MAX (cc->cwnd / 16, AITHRESH_MIN), cap);
  n = cc->acked_accumulator / aithresh;
  cc->acked_accumulator -= n * aithresh;
  return n;
}

/* Figure 25, with the deviations 1-3 described at the top of this file.
 * Called for a packet with at least one acknowledgement chunk (ANY_ACKS is
 * true). */
void
rtmfp_congestion_on_acks (RtmfpCongestion * cc, const RtmfpCongestionAck * ack)
{
  guint64 pre;

  g_return_if_fail (cc != NULL);
  g_return_if_fail (ack != NULL);

  pre = ack->pre_ack_outstanding;

  /* deviation 1: a loss reduces the window only if the lost fragment was
   * transmitted after the previous reduction (a new loss episode) */
  if (ack->any_loss && ack->lost_tsn >= cc->recover_tsn) {
    /* deviation 2: sized from the window when application limited */
    guint64 base = MAX (pre, cc->cwnd);

    if (ack->tc_sent || (base > LOSS_SCALABLE_THRESHOLD && ack->fastgrow))
      cc->ssthresh = MAX (mul_frac (base, 7, 8), cc->cwnd_init);
    else
      cc->ssthresh = MAX (base / 2, cc->cwnd_init);
    cc->cwnd = cc->ssthresh;
    cc->acked_accumulator = 0;
    cc->recover_tsn = ack->next_tsn;
    cc->reductions++;
    g_debug ("loss: cwnd %" G_GUINT64_FORMAT ", episode ends at TSN %"
        G_GUINT64_FORMAT, cc->cwnd, cc->recover_tsn);
  } else if (pre >= cc->cwnd) {
    /* deviation 3: NAKs alone, or losses already answered by a reduction,
     * do not block the increase.  PRE_ACK_OUTSTANDING >= CWND keeps the
     * window validated (no growth while application limited). */
    guint64 increase = 0;

    if (ack->fastgrow) {
      if (cc->cwnd < cc->ssthresh)
        increase = ack->acked_bytes;
      else
        increase = AI_FAST_INCREMENT * accumulate (cc, ack->acked_bytes,
            AITHRESH_CAP);
    } else {
      if (cc->cwnd < cc->ssthresh && ack->tc_sent)
        increase = ack->acked_bytes / 4 + (ack->acked_bytes % 4 ? 1 : 0);
      else
        increase = AI_SLOW_INCREMENT * accumulate (cc, ack->acked_bytes,
            ack->tc_sent ? AITHRESH_CAP_TC : AITHRESH_CAP);
    }
    cc->cwnd = MAX (cc->cwnd + MIN (increase, (guint64) cc->smss),
        cc->cwnd_init);
  }
}

/* Section 3.5.2: transmission is allowed while S_OUTSTANDING_BYTES is
 * less than the congestion window. */
gboolean
rtmfp_congestion_can_send (const RtmfpCongestion * cc,
    guint64 outstanding_bytes)
{
  g_return_val_if_fail (cc != NULL, FALSE);

  return outstanding_bytes < cc->cwnd;
}
