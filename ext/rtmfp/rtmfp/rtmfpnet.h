/* RTMFP core: the I/O driver.  Runs one RtmfpEndpoint on one UDP GSocket
 * from a thread of its own with its own GMainContext; the only code of
 * the core that touches sockets and the real clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "rtmfpendpoint.h"

G_BEGIN_DECLS

typedef struct _RtmfpNet RtmfpNet;

/* Creates the endpoint (callbacks run on the net thread) and binds a UDP
 * socket to address:port (port 0 = ephemeral; address NULL = any, dual
 * stack where available). */
RtmfpNet *rtmfp_net_new (const RtmfpEndpointConfig * cfg,
    const RtmfpEndpointCallbacks * callbacks, gpointer user_data,
    const gchar * address, guint16 port, GError ** error);
/* Starts the thread; idempotent */
void      rtmfp_net_start (RtmfpNet * net);
/* Stops the thread (joins it); the endpoint stays (for stats), no more
 * callbacks run. */
void      rtmfp_net_stop (RtmfpNet * net);
void      rtmfp_net_free (RtmfpNet * net);

guint16   rtmfp_net_get_local_port (RtmfpNet * net);
/* Local address the socket is bound to */
gboolean  rtmfp_net_get_local_address (RtmfpNet * net, RtmfpAddr * out);
GMainContext *rtmfp_net_get_context (RtmfpNet * net);
/* The endpoint: only to be used from the net thread (callbacks, invoke) */
RtmfpEndpoint *rtmfp_net_get_endpoint (RtmfpNet * net);
/* The clock the net thread passes to the core (g_get_monotonic_time) */
gint64    rtmfp_net_now (RtmfpNet * net);

/* Runs func(net, data) on the net thread soon (asynchronously), then
 * re-arms the endpoint's timer.  Safe from any thread. */
typedef void (*RtmfpNetFunc) (RtmfpNet * net, gpointer data);
void      rtmfp_net_invoke (RtmfpNet * net, RtmfpNetFunc func, gpointer data,
    GDestroyNotify destroy);
/* Same, but waits until func has run (must not be called from the net
 * thread itself; if the thread is not running, runs func directly). */
void      rtmfp_net_invoke_sync (RtmfpNet * net, RtmfpNetFunc func,
    gpointer data);

typedef struct {
  guint64 send_errors;          /* sendto failures (e.g. unreachable) */
  guint64 receive_errors;
  /* appended.  ICMP port unreachable errors read from the socket's error
   * queue (Linux), each passed to rtmfp_endpoint_note_unreachable */
  guint64 icmp_unreachable;
} RtmfpNetStats;
void      rtmfp_net_get_stats (RtmfpNet * net, RtmfpNetStats * st);

/* A timer on the net thread for a sans-I/O component above the endpoint
 * (rtmfpnettimer.c): next(data) is asked for the absolute time (the
 * clock of rtmfp_net_now) of the next timeout, -1 for none, on every
 * iteration; when due, fire(net, data) runs as an invocation (so the
 * endpoint's timer is re-armed after it).  Destroy the source to stop. */
typedef gint64 (*RtmfpNetNextFunc) (gpointer data);
GSource  *rtmfp_net_add_timer (RtmfpNet * net, RtmfpNetNextFunc next,
    RtmfpNetFunc fire, gpointer data);

/* The local interface addresses with our port, "addr:port" ("[v6]:port"),
 * neither loopback, link-local nor any, at most 8, NULL-terminated
 * (g_strfreev): what a direct publisher reports with setPeerInfo (RFC 7425
 * 5.3.3, 5.4).  The server adds the address it observes. */
gchar   **rtmfp_net_list_local_addresses (RtmfpNet * net);

/* IP mobility (RFC 7016 3.5.4.2): moves to a new UDP socket on a new
 * ephemeral port of the same local address; the sessions continue (the
 * far ends follow the new address after validating it), no new handshake.
 * Call on the net thread (rtmfp_net_invoke) or while it is not running.
 * FALSE (error set) if no new socket could be made: the old one stays. */
gboolean  rtmfp_net_rebind (RtmfpNet * net, GError ** error);

G_END_DECLS
