/* rtmfp-server: the server object.  NetConnections over RTMFP sessions
 * (RFC 7425 section 5.3) and a relay of published streams to players.
 *
 * Sans-I/O like the core: the server is the user of one RtmfpEndpoint.
 * Give the endpoint the server's callbacks (rtmfp_server_get_callbacks,
 * user data = the server) and configuration (rtmfp_server_endpoint_config),
 * then rtmfp_server_set_endpoint.  The clock is a function, so the same
 * code runs on rtmfpnet (main.c) and on the simulated network (tests).
 * Everything runs on the endpoint's thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpendpoint.h"
#include "rtmfprelay.h"

G_BEGIN_DECLS

typedef struct _RtmfpServer RtmfpServer;

/* Monotonic microseconds, as the endpoint is driven with */
typedef gint64 (*RtmfpServerClockFunc) (gpointer data);

typedef struct {
  /* Applications accepted by connect (the part of "app" before any
   * "/instance"); NULL or empty: any. */
  const gchar *const *apps;
  RtmfpRelayConfig relay;
  /* Set Keepalive Timers advice sent after connect (RFC 7425 5.3.4);
   * server 0: not sent.  Defaults 15000 / 10000 ms. */
  guint32 keepalive_server_ms;
  guint32 keepalive_peer_ms;
  /* play of a name nobody publishes: wait for a publisher (Play.Start now,
   * PublishNotify later; default) or answer Play.StreamNotFound.  A play
   * with start >= 0 (recorded only) always gets StreamNotFound. */
  gboolean wait_for_publisher;
  guint max_streams_per_connection;     /* createStream limit, default 64 */
  gboolean verbose;             /* g_message for connections and streams */
} RtmfpServerConfig;

void      rtmfp_server_config_init (RtmfpServerConfig * cfg);

/* The identity is ephemeral Diffie-Hellman (groups 14, 5, 2) and accepts
 * ancillary data, so URI EPDs select it (RFC 7425 4.3.3.2, 4.4.3). */
RtmfpServer *rtmfp_server_new (const RtmfpServerConfig * cfg,
    RtmfpServerClockFunc clock, gpointer clock_data);
/* Forgets every connection (no callbacks); free the endpoint after or
 * before, either works. */
void      rtmfp_server_free (RtmfpServer * srv);

/* Initialises cfg for the server's endpoint: identity, accept_sessions */
void      rtmfp_server_endpoint_config (RtmfpServer * srv,
    RtmfpEndpointConfig * cfg);
const RtmfpEndpointCallbacks *rtmfp_server_get_callbacks (void);
void      rtmfp_server_set_endpoint (RtmfpServer * srv, RtmfpEndpoint * ep);
RtmfpIdentity *rtmfp_server_get_identity (RtmfpServer * srv);

/* Orderly shutdown: every NetConnection closed, every session closed. */
void      rtmfp_server_shutdown (RtmfpServer * srv);

/* Housekeeping the driver calls now and then (rtmfp-server: every 250 ms):
 * a session closed by the far end lingers in S_FARCLOSE_LINGER before the
 * endpoint reports it closed; its publications and players end here. */
void      rtmfp_server_poll (RtmfpServer * srv);

typedef struct {
  guint sessions;               /* endpoint sessions, any state */
  guint connections;            /* NetConnections connected */
  guint streams;                /* published stream names */
  guint players;
  guint64 bytes_in;             /* UDP payload bytes */
  guint64 bytes_out;
  guint64 messages_in;          /* media / data from publishers */
  guint64 messages_relayed;     /* queued to players */
  guint64 messages_abandoned;   /* abandoned by flows (lifetimes) */
  guint64 messages_dropped;     /* not queued (keyframe gating, backlog) */
  guint64 connects_accepted;
  guint64 connects_rejected;
} RtmfpServerStats;

void      rtmfp_server_get_stats (RtmfpServer * srv, RtmfpServerStats * st);
/* "stats sessions=1 connections=1 ..." (one line, no newline) */
gchar    *rtmfp_server_stats_to_string (const RtmfpServerStats * st);

G_END_DECLS
