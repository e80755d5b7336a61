/* Test helper: a TCP-like bulk transfer on the simulated network, to
 * share a bottleneck with RTMFP sessions.  A small NewReno model (RFC 5681
 * slow start and congestion avoidance, RFC 6582 fast recovery, RFC 6298
 * retransmission timer with Linux's 200 ms floor on the variance term),
 * no SACK, a
 * receiver that acknowledges every segment.  Segments are the size of a
 * full RTMFP packet, so that byte counts compare.  Not TCP on the wire:
 * raw hosts (rtmfpsimnet.h) exchanging the model's own datagrams.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpsimnet.h"

G_BEGIN_DECLS

typedef struct _SimReno SimReno;

/* A sender host at sender_addr and a receiver host at receiver_addr;
 * sends without end once started */
SimReno  *sim_reno_new (RtmfpSimNet * net, const gchar * sender_addr,
    const gchar * receiver_addr);
void      sim_reno_free (SimReno * r);
RtmfpSimHost *sim_reno_get_sender (SimReno * r);
void      sim_reno_start (SimReno * r);
/* Bytes delivered in order to the receiver so far */
guint64   sim_reno_get_delivered (SimReno * r);
/* Window in segments, retransmission timeouts, fast retransmits */
gdouble   sim_reno_get_cwnd (SimReno * r);
guint64   sim_reno_get_timeouts (SimReno * r);
guint64   sim_reno_get_fast_retransmits (SimReno * r);

G_END_DECLS
