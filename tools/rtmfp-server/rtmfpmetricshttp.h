/* rtmfp-server --metrics ADDR:PORT: the Prometheus text exposition of the
 * server's metrics over HTTP (GET /metrics), served from a thread of its
 * own (GSocketService on its own GMainContext) that never touches the
 * server: it formats snapshots the server's thread publishes.
 *
 * A scrape uses the last snapshot when it is at most 100 ms old; else it
 * asks for a new one (the refresh function, at most one outstanding, so
 * the server's thread takes at most ~10 snapshots a second however hard
 * the port is hammered) and waits for it up to 1 s, then answers with the
 * last one it has (or 503 before the first).
 *
 * Minimal HTTP/1.x: one request per connection (Connection: close), GET or
 * HEAD of /metrics (a query string is ignored).  Anything else is answered
 * and closed: other paths 404, other methods 405, a malformed request line
 * or another protocol version 400, a request head over 8 KiB 431, a
 * request not complete within 5 s 408, a 65th connection at once 503.
 * A client has 5 more seconds to take the answer, then it is cut.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpservermetrics.h"

G_BEGIN_DECLS

#define RTMFP_METRICS_MAX_CLIENTS 64
#define RTMFP_METRICS_MAX_REQUEST 8192
#define RTMFP_METRICS_REQUEST_TIMEOUT_US (5 * G_TIME_SPAN_SECOND)
#define RTMFP_METRICS_FRESH_US (100 * G_TIME_SPAN_MILLISECOND)
#define RTMFP_METRICS_REFRESH_TIMEOUT_US (1 * G_TIME_SPAN_SECOND)

typedef struct _RtmfpMetricsHttp RtmfpMetricsHttp;

/* --metrics ADDR:PORT (for the program's option context) */
extern const GOptionEntry rtmfp_metrics_option_entries[];
/* The option's value, NULL when not given */
const gchar *rtmfp_metrics_option_address (void);

/* Called on the HTTP thread when a scrape needs a new snapshot; must not
 * block.  The snapshot comes back through rtmfp_metrics_http_publish. */
typedef void (*RtmfpMetricsRefreshFunc) (RtmfpMetricsHttp * m, gpointer data);

/* Binds host:port (port 0: any free port); NULL (error set) if it
 * cannot.  version: for rtmfp_server_info. */
RtmfpMetricsHttp *rtmfp_metrics_http_new (const gchar * host, guint16 port,
    const gchar * version, RtmfpMetricsRefreshFunc refresh, gpointer data,
    GError ** error);
guint16   rtmfp_metrics_http_get_port (RtmfpMetricsHttp * m);
/* Starts the thread: clients are served from now on */
void      rtmfp_metrics_http_start (RtmfpMetricsHttp * m);
/* A new snapshot, from any thread; takes what snap holds (snap is
 * cleared) */
void      rtmfp_metrics_http_publish (RtmfpMetricsHttp * m,
    RtmfpServerMetrics * snap);
/* Closes the listener and every client, joins the thread: no refresh
 * call after this.  Publishing stays allowed until free. */
void      rtmfp_metrics_http_stop (RtmfpMetricsHttp * m);
void      rtmfp_metrics_http_free (RtmfpMetricsHttp * m);

G_END_DECLS
