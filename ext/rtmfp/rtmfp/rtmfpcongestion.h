/* RTMFP core: congestion control, RFC 7016 section 3.5.2 and Appendix A
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTMFP_TC_WINDOW_US (800 * G_TIME_SPAN_MILLISECOND)

/* The congestion controller of a session (RtmfpEndpointConfig,
 * rtmfp_session_set_congestion_control).
 * TCP: the default, RFC 7016 section 3.5.2's TCP-compatible window
 *   (Appendix A with the deviations documented in rtmfpcongestion.c).
 * MEDIA: opt-in, delay based and tolerant of random loss below about
 *   20 %, for paths known to be lossy; a documented deviation from 3.5.2's
 *   "TCP compatible" MUST (rtmfpmediacc.c, docs/core.md). */
typedef enum {
  RTMFP_CONGESTION_TCP = 0,
  RTMFP_CONGESTION_MEDIA = 1,
} RtmfpCongestionControl;

/* "tcp" / "media" (the elements' congestion-control values) */
const gchar *rtmfp_congestion_control_get_nick (RtmfpCongestionControl cc);
/* FALSE for an unknown nick (*cc unchanged) */
gboolean  rtmfp_congestion_control_from_nick (const gchar * nick,
    RtmfpCongestionControl * cc);

typedef struct {
  guint smss;                   /* sender maximum segment size */
  guint64 cwnd_init;            /* 4380 (RFC 5681 IW) by default */
  guint64 cwnd_timedout;        /* 1 x SMSS */
  guint64 cwnd;
  guint64 ssthresh;             /* G_MAXUINT64 = infinity */
  guint64 acked_accumulator;
  /* Loss recovery (deviation from Appendix A, see rtmfpcongestion.c):
   * fragments with a TSN below recover_tsn were sent before the last
   * window reduction, so their loss does not reduce the window again. */
  guint64 recover_tsn;
  guint64 reductions;           /* window reductions on loss (statistics) */
} RtmfpCongestion;

/* What one received packet carrying acknowledgements did (Appendix A) */
typedef struct {
  guint64 acked_bytes;          /* newly acknowledged user data bytes */
  guint64 pre_ack_outstanding;  /* S_OUTSTANDING_BYTES before the acks */
  gboolean any_loss;            /* a fragment became lost (3 NAKs) */
  gboolean any_nak;             /* any negative acknowledgement */
  gboolean fastgrow;            /* no TCR rx here, no TC tx anywhere, 800 ms */
  gboolean tc_sent;             /* TC sent on this session within 800 ms */
  /* Loss episodes (3.6.2.5 TSNs).  Both 0 (callers that do not track
   * TSNs) gives the Appendix A behaviour: every loss reduces the window. */
  guint64 lost_tsn;             /* highest TSN among the fragments lost here */
  guint64 next_tsn;             /* session's next TSN: the recovery point */
} RtmfpCongestionAck;

void      rtmfp_congestion_init (RtmfpCongestion * cc, guint smss);
void      rtmfp_congestion_on_timeout (RtmfpCongestion * cc, gboolean was_loss);
/* Same, also ending the loss episode at next_tsn: losses of fragments
 * sent before the timeout do not reduce the window again (RFC 6582
 * section 3.2 step 4). */
void      rtmfp_congestion_on_timeout_tsn (RtmfpCongestion * cc,
    gboolean was_loss, guint64 next_tsn);
void      rtmfp_congestion_on_acks (RtmfpCongestion * cc,
    const RtmfpCongestionAck * ack);
/* Transmission of new or retransmitted data allowed? */
gboolean  rtmfp_congestion_can_send (const RtmfpCongestion * cc,
    guint64 outstanding_bytes);

G_END_DECLS
