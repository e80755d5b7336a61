/* RTMFP core: the opt-in "media" congestion controller (delay based,
 * tolerant of random loss; see rtmfpmediacc.c and docs/core.md).
 *
 * A deviation from RFC 7016 section 3.5.2 ("MUST ... be TCP compatible"),
 * selected per session (RTMFP_CONGESTION_MEDIA) for paths an operator
 * knows to lose packets at random.  Sans-I/O like the rest of the core:
 * every input carries the time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RTMFP_MEDIA_CC_STARTUP,       /* doubling per RTT until the path pushes back */
  RTMFP_MEDIA_CC_INCREASE,
  RTMFP_MEDIA_CC_HOLD,          /* after a decrease, until the queue drained */
  RTMFP_MEDIA_CC_COMPETE,       /* a queue we cannot drain: loss-based AIMD */
} RtmfpMediaCcState;

typedef struct {
  guint smss;
  RtmfpMediaCcState state;
  gdouble rate;                 /* bit/s: what the path is estimated to carry */
  gint64 last_update;           /* last rate change (-1 never) */
  gint64 state_since;

  /* delay: the path's base RTT (a long windowed minimum) and the queueing
   * delay above it, smoothed */
  gint64 base_rtt;              /* -1 none */
  gint64 base_rtt_time;
  gint64 qdelay;                /* -1 none */
  gint64 overuse_since;         /* queue above the high mark without
                                 * draining since, -1 not */
  gint64 overuse_qdelay;        /* the queue then */
  gint64 last_decision;
  /* COMPETE: drain probes (is the queue ours after all?) */
  gboolean probing;
  gint64 probe_end;
  gint64 probe_qdelay;
  gint64 last_probe;

  /* delivery rate: bytes acknowledged over intervals of about an RTT */
  guint64 delivered;
  gint64 dr_start;              /* -1: no interval open */
  guint64 dr_start_delivered;
  gboolean dr_limited;          /* the window or pacing held data back in it */
  gdouble delivery_rate;        /* bit/s, latest sample; 0 none */
  gdouble delivery_max;         /* max of the recent samples */
  gint64 delivery_max_time;
  gboolean app_limited;         /* the latest interval was not held back */
  gint64 avg_start;
  guint64 avg_start_delivered;
  gdouble delivery_avg;         /* over the last AVG_INTERVAL */
  gdouble delivery_avg_prev;
  gdouble startup_best;
  guint startup_rounds;

  /* loss: episodes (as in rtmfpcongestion.c) and the loss fraction over
   * the last interval of at least LOSS_INTERVAL */
  guint64 recover_tsn;
  gint64 loss_start;
  guint64 loss_acked;
  guint64 loss_lost;
  gdouble loss_fraction;

  /* the estimate of the sendable rate (bit/s) for adaptive bitrate: the
   * rate, or in COMPETE the rate's mean (a sawtooth) */
  gdouble estimate;
  gdouble rate_avg;
  gint64 avg_time;

  guint64 cwnd;                 /* bytes allowed in flight */
  gdouble pacing_rate;          /* bit/s */
  guint64 reductions;           /* decreases (statistics) */
} RtmfpMediaCc;

/* What one received packet carrying acknowledgements told */
typedef struct {
  guint64 acked_bytes;          /* newly acknowledged */
  guint64 lost_bytes;           /* newly declared lost (not spurious) */
  gboolean any_loss;
  guint64 lost_tsn;             /* highest TSN among the fragments lost */
  guint64 next_tsn;             /* the session's next TSN */
  gint64 rtt_sample;            /* this packet's RTT sample, -1 none */
  gint64 srtt;                  /* -1 none */
  gboolean window_limited;      /* data waited for the window or pacing
                                 * since the previous call */
  gboolean yield;               /* TCR from the far end and no TC sent:
                                 * no multiplicative increase (3.5.2.1) */
} RtmfpMediaCcAck;

void      rtmfp_media_cc_init (RtmfpMediaCc * cc, guint smss, gint64 now);
void      rtmfp_media_cc_on_acks (RtmfpMediaCc * cc, const RtmfpMediaCcAck * a,
    gint64 now);
/* Starts from this rate (bit/s) if it is higher than the initial one */
void      rtmfp_media_cc_seed_rate (RtmfpMediaCc * cc, gdouble rate);
/* TIMEOUT_ALARM fired; was_loss: something was in flight */
void      rtmfp_media_cc_on_timeout (RtmfpMediaCc * cc, gboolean was_loss,
    guint64 next_tsn, gint64 now);

G_END_DECLS
