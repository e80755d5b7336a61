/* Test helper: a NewReno-like bulk transfer on the simulated network (see
 * simreno.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "simreno"

#include <string.h>

#include "simreno.h"

#define SEG_SIZE 1200           /* datagram bytes, like a full RTMFP packet */
#define ACK_SIZE 40             /* like a bare TCP/IP acknowledgement */
#define HDR 13                  /* type, seq (4), time (8) */
#define RTO_MIN (200 * G_TIME_SPAN_MILLISECOND)
#define RTO_INIT G_TIME_SPAN_SECOND
#define RTO_MAX (60 * G_TIME_SPAN_SECOND)
#define INIT_CWND 10.0          /* RFC 6928 */

struct _SimReno {
  RtmfpSimNet *net;
  RtmfpSimHost *tx, *rx;
  gboolean started;

  /* sender, in segments */
  guint32 snd_una, snd_nxt, recover;
  gdouble cwnd, ssthresh;
  guint dupacks;
  gboolean in_recovery;
  guint partial_acks;           /* in this recovery */
  gint64 srtt, rttvar, rto, rto_deadline;
  guint64 timeouts, fast_retransmits;

  /* receiver */
  guint32 rcv_next;
  GHashTable *ooo;              /* out-of-order segment numbers */
};

static void
put32 (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get32 (const guint8 * p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 |
      p[3];
}

static void
send_segment (SimReno * r, guint32 seq, gint64 now)
{
  guint8 d[SEG_SIZE];

  memset (d, 0, sizeof d);
  d[0] = 'D';
  put32 (d + 1, seq);
  memcpy (d + 5, &now, 8);
  rtmfp_sim_host_send (r->tx, d, sizeof d, rtmfp_sim_host_get_address (r->rx));
  if (r->rto_deadline < 0)
    r->rto_deadline = now + r->rto;
}

static void
try_send (SimReno * r, gint64 now)
{
  /* in fast recovery the window is inflated by the duplicate acks */
  while (r->snd_nxt - r->snd_una < (guint32) MAX (r->cwnd, 1.0)) {
    send_segment (r, r->snd_nxt, now);
    r->snd_nxt++;
  }
}

static void
on_ack (SimReno * r, guint32 cum, gint64 echo, gint64 now)
{
  if (echo > 0 && now >= echo) {
    gint64 rtt = now - echo;

    if (r->srtt < 0) {
      r->srtt = rtt;
      r->rttvar = rtt / 2;
    } else {
      r->rttvar = (3 * r->rttvar + ABS (r->srtt - rtt)) / 4;
      r->srtt = (7 * r->srtt + rtt) / 8;
    }
    /* Linux: the variance term is at least the 200 ms floor */
    r->rto = MIN (r->srtt + MAX (4 * r->rttvar, RTO_MIN), RTO_MAX);
  }

  if (cum > r->snd_una) {
    guint32 newly = cum - r->snd_una;

    r->snd_una = cum;
    if (r->snd_nxt < r->snd_una)
      r->snd_nxt = r->snd_una;
    r->dupacks = 0;
    if (r->in_recovery) {
      if (cum > r->recover) {
        r->in_recovery = FALSE;         /* full ack: deflate */
        r->cwnd = r->ssthresh;
        r->rto_deadline = -1;
      } else {
        /* partial ack (RFC 6582 3.2 step 5); the "impatient" timer (RFC
         * 6582 4.2): only the first partial ack restarts it, so that a
         * window with many holes is repaired by a timeout and go-back-N
         * rather than one hole per round trip */
        send_segment (r, r->snd_una, now);
        r->cwnd = MAX (r->cwnd - newly + 1, 1.0);
        if (r->partial_acks++ > 0)
          return;
      }
    } else if (r->cwnd < r->ssthresh) {
      r->cwnd += newly;
    } else {
      r->cwnd += (gdouble) newly / r->cwnd;
    }
    r->rto_deadline = r->snd_nxt > r->snd_una ? now + r->rto : -1;
  } else if (cum == r->snd_una && r->snd_nxt > r->snd_una) {
    r->dupacks++;
    if (r->dupacks == 3 && !r->in_recovery && cum > r->recover) {
      gdouble flight = r->snd_nxt - r->snd_una;

      r->ssthresh = MAX (flight / 2, 2.0);
      r->cwnd = r->ssthresh + 3;
      r->recover = r->snd_nxt - 1;
      r->in_recovery = TRUE;
      r->partial_acks = 0;
      r->fast_retransmits++;
      send_segment (r, r->snd_una, now);
    } else if (r->in_recovery) {
      r->cwnd += 1;
    }
  }
  try_send (r, now);
}

static void
on_timeout (SimReno * r, gint64 now)
{
  /* the window before any fast recovery inflation */
  gdouble flight = r->in_recovery ? r->ssthresh :
      MIN (r->snd_nxt - r->snd_una, r->cwnd);

  r->rto_deadline = -1;
  if (r->snd_nxt == r->snd_una)
    return;
  r->timeouts++;
  r->ssthresh = MAX (flight / 2, 2.0);
  r->cwnd = 1;
  r->recover = r->snd_nxt - 1;
  r->snd_nxt = r->snd_una;      /* go back N */
  r->in_recovery = FALSE;
  r->dupacks = 0;
  r->rto = MIN (r->rto * 2, RTO_MAX);
  try_send (r, now);
}

static void
on_data (SimReno * r, const guint8 * d, gint64 now)
{
  guint32 seq = get32 (d + 1);
  guint8 a[ACK_SIZE];

  if (seq == r->rcv_next) {
    r->rcv_next++;
    while (g_hash_table_remove (r->ooo, GUINT_TO_POINTER (r->rcv_next)))
      r->rcv_next++;
  } else if (seq > r->rcv_next) {
    g_hash_table_add (r->ooo, GUINT_TO_POINTER (seq));
  }
  /* every segment acknowledged, echoing its send time (RFC 7323) */
  memset (a, 0, sizeof a);
  a[0] = 'A';
  put32 (a + 1, r->rcv_next);
  memcpy (a + 5, d + 5, 8);
  rtmfp_sim_host_send (r->rx, a, sizeof a, rtmfp_sim_host_get_address (r->tx));
}

static void
raw_receive (RtmfpSimHost * h, const guint8 * data, gsize len,
    const RtmfpAddr * from, gint64 now, gpointer ud)
{
  SimReno *r = ud;

  if (len < HDR)
    return;
  if (h == r->rx && data[0] == 'D')
    on_data (r, data, now);
  else if (h == r->tx && data[0] == 'A' && r->started) {
    gint64 echo;

    memcpy (&echo, data + 5, 8);
    on_ack (r, get32 (data + 1), echo, now);
  }
}

static gint64
raw_next_timeout (RtmfpSimHost * h, gpointer ud)
{
  SimReno *r = ud;

  return h == r->tx ? r->rto_deadline : -1;
}

static void
raw_handle_timeout (RtmfpSimHost * h, gint64 now, gpointer ud)
{
  SimReno *r = ud;

  if (h == r->tx && r->rto_deadline >= 0 && now >= r->rto_deadline)
    on_timeout (r, now);
}

static const RtmfpSimRawFuncs raw_funcs = {
  raw_receive, raw_next_timeout, raw_handle_timeout
};

SimReno *
sim_reno_new (RtmfpSimNet * net, const gchar * sender_addr,
    const gchar * receiver_addr)
{
  SimReno *r = g_new0 (SimReno, 1);

  r->net = net;
  r->tx = rtmfp_sim_net_add_raw_host (net, sender_addr, &raw_funcs, r);
  r->rx = rtmfp_sim_net_add_raw_host (net, receiver_addr, &raw_funcs, r);
  r->cwnd = INIT_CWND;
  r->ssthresh = G_MAXDOUBLE;
  r->srtt = -1;
  r->rto = RTO_INIT;
  r->rto_deadline = -1;
  r->ooo = g_hash_table_new (NULL, NULL);
  return r;
}

void
sim_reno_free (SimReno * r)
{
  if (!r)
    return;
  g_hash_table_unref (r->ooo);
  g_free (r);
}

RtmfpSimHost *
sim_reno_get_sender (SimReno * r)
{
  return r->tx;
}

void
sim_reno_start (SimReno * r)
{
  r->started = TRUE;
  try_send (r, rtmfp_sim_net_now (r->net));
  rtmfp_sim_net_kick (r->net);
}

guint64
sim_reno_get_delivered (SimReno * r)
{
  return (guint64) r->rcv_next * SEG_SIZE;
}

gdouble
sim_reno_get_cwnd (SimReno * r)
{
  return r->cwnd;
}

guint64
sim_reno_get_timeouts (SimReno * r)
{
  return r->timeouts;
}

guint64
sim_reno_get_fast_retransmits (SimReno * r)
{
  return r->fast_retransmits;
}
