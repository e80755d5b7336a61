/* rtmfp-server --cluster: nodes that share their registrations and
 * published stream names through Redis (hiredis), and pull the streams
 * published on other nodes over one server-to-server RTMFP session per
 * (pulling node, stream) (docs/cluster.md).
 *
 * Threads: Redis is talked to from a thread of its own with the
 * synchronous hiredis API (Debian 12's hiredis 0.14 has no GLib adapter);
 * the server's (net) thread only reads and writes a snapshot under a
 * mutex, so it never waits for Redis.  Each upstream (pull) session runs
 * the core's NetConnection client (rtmfptcclient.c) on an RtmfpNet of its
 * own; its media is handed to the server's thread, where it is published
 * in the server's relay like a local publisher's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpnet.h"
#include "rtmfpserver.h"

G_BEGIN_DECLS

typedef struct _RtmfpCluster RtmfpCluster;

/* Seconds a registration (node or stream) lives without a refresh; the
 * owner refreshes it every RTMFP_CLUSTER_REFRESH_MS */
#define RTMFP_CLUSTER_TTL_S 5
#define RTMFP_CLUSTER_REFRESH_MS 500

/* "redis://HOST:PORT[/DB]" (HOST may be [v6]); FALSE with a message in
 * *error when malformed */
gboolean  rtmfp_cluster_parse_url (const gchar * url, gchar ** host,
    guint16 * port, gint * db, gchar ** error);

/* Connects to Redis now (a clear error if it cannot: *error set, NULL) and
 * registers the node (refused when a live node has the same name).
 * advertise: "ADDR:PORT" other nodes reach our RTMFP socket at.
 * auth_key (may be NULL): the first --auth-key, for the tokens of our
 * upstream sessions to nodes that require one. */
RtmfpCluster *rtmfp_cluster_new (const gchar * url, const gchar * node_name,
    const gchar * advertise, GBytes * auth_key, gchar ** error);
/* For RtmfpServerConfig.publish_check (data = the cluster) */
gboolean  rtmfp_cluster_publish_check (const gchar * app, const gchar * name,
    gpointer data);
/* --cluster-max-load: a node holding max_sessions RTMFP sessions or
 * more redirects new initiators (RFC 7016 3.5.1.4) to up to 3 live nodes
 * below that load, least loaded first (as last read from Redis); none:
 * served here.  0 (default): never. */
void      rtmfp_cluster_set_max_load (RtmfpCluster * cl, guint max_sessions);
/* For RtmfpServerConfig.redirect (data = the cluster).  Upstream
 * sessions of other nodes are never redirected. */
guint     rtmfp_cluster_redirect (guint n_sessions, const gchar * tc_url,
    RtmfpAddr * addrs, guint max, gpointer data);
/* For RtmfpServerConfig.peer_elsewhere (data = the cluster): the other
 * live nodes' addresses */
guint     rtmfp_cluster_peer_elsewhere (const guint8 * fingerprint,
    RtmfpAddr * addrs, guint max, gpointer data);
/* SIGTERM with --drain-timeout: from now on every new initiator is
 * redirected to live nodes that do not drain (none: served here), and
 * the node is registered as draining so that no node redirects to it;
 * streams and upstream sessions go on.  Any thread. */
void      rtmfp_cluster_drain (RtmfpCluster * cl);
/* Starts the Redis thread; srv and net are the server's */
void      rtmfp_cluster_start (RtmfpCluster * cl, RtmfpServer * srv,
    RtmfpNet * net);
/* On the server's thread, every few hundred ms: shares our load and
 * streams, starts and ends upstream sessions */
void      rtmfp_cluster_poll (RtmfpCluster * cl);
/* On the server's thread: ends every upstream session (orderly close,
 * bounded) */
void      rtmfp_cluster_shutdown (RtmfpCluster * cl);
/* Stops the Redis thread (our registrations are deleted), frees */
void      rtmfp_cluster_free (RtmfpCluster * cl);

/* " cluster_nodes=N cluster_streams=N cluster_upstreams=N
 * cluster_redirects=N cluster_redis=up|down" (for the stats line): live
 * nodes (us included) and stream names registered in the cluster as last
 * read from Redis, upstream sessions streaming from other nodes now,
 * initiators redirected since start (read racily from another thread:
 * a monitoring figure) */
gchar    *rtmfp_cluster_stats_string (RtmfpCluster * cl);
const gchar *rtmfp_cluster_get_node_name (RtmfpCluster * cl);
/* The same figures, on the server's thread (--metrics) */
void      rtmfp_cluster_get_counts (RtmfpCluster * cl, gboolean * redis_up,
    guint * nodes, guint * streams, guint * upstreams, guint64 * redirects);

G_END_DECLS
