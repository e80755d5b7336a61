/* RTMFP core: congestion control, RFC 7016 section 3.5.2 and Appendix A
 *
 * This is the example window algorithm of Appendix A.2, with its constants
 * unchanged.  The session keeps S_OUTSTANDING_BYTES and the per-packet
 * notifications (ANY_LOSS, ANY_NAKS, ACKED_BYTES_THIS_PACKET,
 * PRE_ACK_OUTSTANDING) and hands them over once per received packet that
 * carried acknowledgements (that call is ANY_ACKS = true).
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
}

/* Figure 24 */
void
rtmfp_congestion_on_timeout (RtmfpCongestion * cc, gboolean was_loss)
{
  g_return_if_fail (cc != NULL);

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

/* Figure 25.  Called for a packet with at least one acknowledgement chunk
 * (ANY_ACKS is true). */
void
rtmfp_congestion_on_acks (RtmfpCongestion * cc, const RtmfpCongestionAck * ack)
{
  guint64 pre;

  g_return_if_fail (cc != NULL);
  g_return_if_fail (ack != NULL);

  pre = ack->pre_ack_outstanding;

  if (ack->any_loss) {
    if (ack->tc_sent || (pre > LOSS_SCALABLE_THRESHOLD && ack->fastgrow))
      cc->ssthresh = MAX (mul_frac (pre, 7, 8), cc->cwnd_init);
    else
      cc->ssthresh = MAX (pre / 2, cc->cwnd_init);
    cc->cwnd = cc->ssthresh;
    cc->acked_accumulator = 0;
    g_debug ("loss: cwnd %" G_GUINT64_FORMAT, cc->cwnd);
  } else if (!ack->any_nak && pre >= cc->cwnd) {
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
