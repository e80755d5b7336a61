/* rtmfp-server: metrics for monitoring systems.  A snapshot of the
 * server's counters (taken on the server's thread, then self-contained:
 * any thread may format it) and its Prometheus text exposition (format
 * version 0.0.4).  Sans-I/O: rtmfpmetricshttp.c serves it over HTTP.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpserver.h"
#include "rtmfpendpoint.h"

G_BEGIN_DECLS

/* Streams listed one by one (rtmfp_server_stream_players); past this the
 * rest are only counted (rtmfp_server_streams_unlisted): a client
 * inventing names must not blow up every scrape */
#define RTMFP_SERVER_METRICS_MAX_STREAMS 1000

typedef struct {
  gchar *app;
  gchar *name;
  gboolean published;
  guint players;
} RtmfpServerMetricsStream;

typedef struct {
  RtmfpServerStats stats;       /* what the stats line shows */
  RtmfpEndpointStats ep;        /* handshakes, drops (zero: no endpoint) */
  /* per RTMFP connection: smoothed RTT in seconds (those with a sample),
   * fragments lost per packet sent (those that sent) */
  GArray *rtt_seconds;          /* gdouble */
  GArray *loss_ratio;           /* gdouble */
  GPtrArray *streams;           /* RtmfpServerMetricsStream *, sorted */
  guint streams_unlisted;
  gint64 start_time;            /* server start, Unix µs (0: unknown) */
  /* appended.  rtmfp-server --cluster (set by its caller, zero
   * otherwise): the rtmfp_server_cluster_* families are written only
   * with cluster TRUE */
  gboolean cluster;
  gboolean cluster_redis_up;
  guint cluster_nodes;
  guint cluster_streams;
  guint cluster_upstreams;
  guint64 cluster_redirects;
} RtmfpServerMetrics;

/* Fills m (new arrays; rtmfp_server_metrics_clear frees them) from the
 * server, on its thread */
void      rtmfp_server_get_metrics (RtmfpServer * srv, RtmfpServerMetrics * m);
void      rtmfp_server_metrics_clear (RtmfpServerMetrics * m);

/* Appends the Prometheus text exposition of m to out: every family with
 * # HELP and # TYPE, label values escaped, NaN quantiles when there is no
 * connection */
void      rtmfp_server_metrics_format (const RtmfpServerMetrics * m,
    const gchar * version, GString * out);

G_END_DECLS
