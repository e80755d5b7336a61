/* Deterministic simulated network for protocol tests: endpoints with
 * addresses, a virtual clock, and a seeded impairment model (loss,
 * duplication, delay, jitter/reordering, bandwidth, blackholes).  No
 * sockets, no real time: a run is repeatable bit for bit from its seed.
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
/* A host without an endpoint: what reaches its address goes to func
 * (attackers, foreign implementations written in a test).  It sends with
 * rtmfp_sim_net_send. */
typedef void (*RtmfpSimReceiveFunc) (RtmfpSimNet * net, const guint8 * data,
    gsize len, const RtmfpAddr * from, gpointer ud);
RtmfpSimHost *rtmfp_sim_net_add_raw_host (RtmfpSimNet * net,
    const gchar * address, RtmfpSimReceiveFunc func, gpointer user_data);
/* A datagram enters the network now from `from` (any address: spoofing
 * is allowed), through the filter and the link's impairments like any
 * other. */
void      rtmfp_sim_net_send (RtmfpSimNet * net, const RtmfpAddr * from,
    const RtmfpAddr * to, const guint8 * data, gsize len);
/* NULL for a raw host */
RtmfpEndpoint *rtmfp_sim_host_get_endpoint (RtmfpSimHost * h);
const RtmfpAddr *rtmfp_sim_host_get_address (RtmfpSimHost * h);
/* The host moves to a new address (mobility / NAT rebinding): what it
 * sends from now on comes from there, and only datagrams sent to the new
 * address reach it. */
void      rtmfp_sim_host_set_address (RtmfpSimHost * h, const gchar * address);
/* Drop everything to and from this host while TRUE (an outage) */
void      rtmfp_sim_host_set_blackhole (RtmfpSimHost * h, gboolean blackhole);

/* Sees every datagram as it is sent; return FALSE to drop it.  For tests
 * that inspect bytes on the wire or drop specific packets. */
typedef gboolean (*RtmfpSimFilter) (RtmfpSimNet * net, const guint8 * data,
    gsize len, const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud);
void      rtmfp_sim_net_set_filter (RtmfpSimNet * net, RtmfpSimFilter filter,
    gpointer user_data);

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
} RtmfpSimStats;
void      rtmfp_sim_net_get_stats (RtmfpSimNet * net, RtmfpSimStats * st);

G_END_DECLS
