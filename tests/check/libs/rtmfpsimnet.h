/* Deterministic simulated network for protocol tests: endpoints with
 * addresses, a virtual clock, and a seeded impairment model (random or
 * burst loss, duplication, delay, jitter/reordering, bandwidth with a
 * drop-tail queue, blackholes).  Besides RTMFP endpoints, a host may run a
 * test's own protocol model ("raw" hosts, e.g. a TCP-like bulk sender
 * sharing a bottleneck).  No sockets, no real time: a run is repeatable
 * bit for bit from its seed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpendpoint.h"

G_BEGIN_DECLS

typedef struct _RtmfpSimNet RtmfpSimNet;
typedef struct _RtmfpSimHost RtmfpSimHost;

/* Impairment applied to every datagram (between any two hosts). */
typedef struct {
  gdouble loss;                 /* probability a datagram is dropped */
  gdouble duplicate;            /* probability it is delivered twice */
  gint64 delay_us;              /* one-way base delay */
  gint64 jitter_us;             /* uniform extra delay 0..jitter: reorders */
  guint64 bandwidth_bps;        /* 0 = unlimited; else serialisation delay
                                 * per sending host, with a queue */
  gsize queue_limit_bytes;      /* drop-tail beyond this queue (0 = none) */
  /* appended.  Burst loss (Gilbert-Elliott): with burst_mean > 1, losses
   * come in runs of consecutive datagrams of this mean length (geometric)
   * from each sending host's uplink, still at the long-run rate `loss`:
   * a two-state chain per uplink, every datagram lost in the bad state,
   * none in the good one; P(good -> bad) = loss / (burst_mean (1 - loss)),
   * P(bad -> good) = 1 / burst_mean.  <= 1: independent (Bernoulli). */
  gdouble burst_mean;
} RtmfpSimLink;

void      rtmfp_sim_link_init (RtmfpSimLink * link);  /* perfect, 10 ms */

RtmfpSimNet *rtmfp_sim_net_new (guint32 seed);
void      rtmfp_sim_net_free (RtmfpSimNet * net);
void      rtmfp_sim_net_set_link (RtmfpSimNet * net, const RtmfpSimLink * link);
gint64    rtmfp_sim_net_now (RtmfpSimNet * net);

/* A host runs one endpoint at `address` ("10.0.0.1:1935" style, test
 * addresses never touch a real network). */
RtmfpSimHost *rtmfp_sim_net_add_host (RtmfpSimNet * net, const gchar * address,
    const RtmfpEndpointConfig * cfg, const RtmfpEndpointCallbacks * callbacks,
    gpointer user_data);
RtmfpEndpoint *rtmfp_sim_host_get_endpoint (RtmfpSimHost * h);
const RtmfpAddr *rtmfp_sim_host_get_address (RtmfpSimHost * h);
/* The host moves to a new address (mobility / NAT rebinding): what it
 * sends from now on comes from there, and only datagrams sent to the new
 * address reach it. */
void      rtmfp_sim_host_set_address (RtmfpSimHost * h, const gchar * address);
/* Drop everything to and from this host while TRUE (an outage) */
void      rtmfp_sim_host_set_blackhole (RtmfpSimHost * h, gboolean blackhole);
/* From now on h sends through `with`'s uplink: one serialisation queue
 * (bandwidth_bps, queue_limit_bytes) and one burst-loss chain for both,
 * i.e. two hosts behind one bottleneck.  `with` must not itself share
 * another's uplink. */
void      rtmfp_sim_host_share_uplink (RtmfpSimHost * h, RtmfpSimHost * with);
/* Queueing delay a datagram h sends now would wait at its uplink (the
 * bottleneck's backlog, in microseconds; 0 without bandwidth_bps) */
gint64    rtmfp_sim_host_get_backlog_us (RtmfpSimHost * h);

/* A host without an RTMFP endpoint: the test's own model of another
 * protocol.  receive: a datagram arrived; next_timeout: absolute time of
 * its next timer, -1 for none; handle_timeout: that time came. */
typedef struct {
  void (*receive) (RtmfpSimHost * h, const guint8 * data, gsize len,
      const RtmfpAddr * from, gint64 now, gpointer ud);
  gint64 (*next_timeout) (RtmfpSimHost * h, gpointer ud);
  void (*handle_timeout) (RtmfpSimHost * h, gint64 now, gpointer ud);
} RtmfpSimRawFuncs;
RtmfpSimHost *rtmfp_sim_net_add_raw_host (RtmfpSimNet * net,
    const gchar * address, const RtmfpSimRawFuncs * funcs, gpointer ud);
/* A raw host sends a datagram (through the same impairments as any) */
void      rtmfp_sim_host_send (RtmfpSimHost * h, const guint8 * data,
    gsize len, const RtmfpAddr * to);
/* The same with any source address (spoofing: an attacker's flood).  It
 * still leaves through h's uplink, blackhole and impairments. */
void      rtmfp_sim_host_send_from (RtmfpSimHost * h, const RtmfpAddr * from,
    const guint8 * data, gsize len, const RtmfpAddr * to);

/* Sees every datagram as it is sent; return FALSE to drop it.  For tests
 * that inspect bytes on the wire or drop specific packets. */
typedef gboolean (*RtmfpSimFilter) (RtmfpSimNet * net, const guint8 * data,
    gsize len, const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud);
void      rtmfp_sim_net_set_filter (RtmfpSimNet * net, RtmfpSimFilter filter,
    gpointer user_data);

/* Sees every datagram the network drops (the filter's drops included),
 * with the reason, e.g. to count what a lost packet carried. */
typedef enum {
  RTMFP_SIM_DROP_LOSS,          /* random or burst loss */
  RTMFP_SIM_DROP_QUEUE,         /* drop-tail at the bottleneck */
  RTMFP_SIM_DROP_BLACKHOLE,
  RTMFP_SIM_DROP_FILTER,        /* the filter returned FALSE */
} RtmfpSimDropReason;
typedef void (*RtmfpSimDropFunc) (RtmfpSimNet * net, const guint8 * data,
    gsize len, const RtmfpAddr * from, const RtmfpAddr * to,
    RtmfpSimDropReason reason, gpointer ud);
void      rtmfp_sim_net_set_drop_observer (RtmfpSimNet * net,
    RtmfpSimDropFunc func, gpointer user_data);

/* Processes deliveries and endpoint timers in time order.  run_until stops
 * as soon as cond(ud) is TRUE (checked after every event) and returns TRUE,
 * or returns FALSE once max_us of simulated time has passed. */
typedef gboolean (*RtmfpSimCondition) (gpointer ud);
gboolean  rtmfp_sim_net_run_until (RtmfpSimNet * net, RtmfpSimCondition cond,
    gpointer ud, gint64 max_us);
void      rtmfp_sim_net_run_for (RtmfpSimNet * net, gint64 us);

/* Call after acting on an endpoint from test code (open_session, write...)
 * so its timer is re-read.  run_* also re-read all timers. */
void      rtmfp_sim_net_kick (RtmfpSimNet * net);

typedef struct {
  guint64 sent;
  guint64 delivered;
  guint64 dropped_loss;
  guint64 dropped_filter;
  guint64 dropped_blackhole;
  guint64 dropped_queue;
  guint64 duplicated;
  guint64 bytes_sent;
  /* appended */
  guint64 loss_bursts;          /* runs of consecutive loss drops per uplink */
  guint64 max_loss_burst;       /* longest such run */
} RtmfpSimStats;
void      rtmfp_sim_net_get_stats (RtmfpSimNet * net, RtmfpSimStats * st);

G_END_DECLS
