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

/* What happened to a client, for an operator's log (rtmfp-server
 * --log-format json prints one JSON object per event).  Strings are valid
 * during the callback only; NULL where they do not apply. */
typedef struct {
  /* "connect", "publish", "play", "unpublish" (the publisher stopped or
   * was taken over), "stop" (a player stopped), "close" (the connection
   * ended) */
  const gchar *event;
  const gchar *protocol;        /* "rtmfp" or "rtmp" */
  guint64 conn;                 /* connection number (per protocol) */
  const gchar *peer;            /* the client's address, "1.2.3.4:5678" */
  const gchar *app;
  const gchar *stream;
  /* connect: "accepted" / "rejected"; publish, play: "started" /
   * "refused" / "not-found" */
  const gchar *result;
  const gchar *reason;          /* why refused / ended / closed */
} RtmfpServerEvent;

typedef void (*RtmfpServerEventFunc) (const RtmfpServerEvent * event,
    gpointer data);

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
  /* A publish of a name whose publisher (RTMFP or RTMP) has sent nothing
   * for this long takes the name over (the old publisher gets onStatus
   * NetStream.Publish.Idle, players UnpublishNotify then PublishNotify):
   * a publisher that lost its network, and falls back to the other
   * protocol, gets its name back long before its old session times out.
   * A publisher that is sending keeps its name: the newcomer gets
   * NetStream.Publish.BadName.  Default 500 ms (audio and video arrive
   * every few tens of ms; a fallback after rtmfp-timeout=1 s must find
   * the name free); 0: never taken over. */
  gint64 publisher_idle_us;
  gboolean verbose;             /* g_message for connections and streams */
  /* RTMP connections (rtmfp_server_rtmp_conn_*): output waiting for a
   * client beyond this is a client that does not read: it is dropped
   * (default 4 MiB; media for a slow player is dropped long before, by
   * the relay's queue limits).  A client that has not completed connect
   * within rtmp_connect_timeout_us is dropped too (default 10 s). */
  gsize rtmp_max_output;
  gint64 rtmp_connect_timeout_us;
  /* Authentication master keys (GBytes *, NULL-terminated; copied by
   * rtmfp_server_new).  NULL or empty: no authentication.  Otherwise a
   * connect (RTMFP or RTMP) needs, after its command object, either one
   * string: the App-wide token, lower-case hex HMAC-SHA-256 (key, app), or
   * two: a user name and the user token, HMAC-SHA-256 (key, "user@app"),
   * app being the normalized application (rtmfp_server_normalize_app);
   * any key matching accepts.  Else: _error NetConnection.Connect.Rejected
   * and the connection is closed. */
  GBytes *const *auth_keys;
  /* appended.  The server's identity (a reference is taken): with static
   * keys (rtmfp_identity_new_server_static, rtmfp-server --identity) its
   * fingerprint can be pinned by clients and cannot be forged (RFC 7425
   * section 7).  NULL: a new ephemeral identity (groups 14, 5, 2), a new
   * fingerprint at every start, forward secrecy. */
  RtmfpIdentity *identity;
  /* appended.  A publication the client ends (closeStream, deleteStream)
   * while its other flows may still carry its last messages stays at most
   * this long for them (flows are not ordered with one another, RFC 7016
   * 3.6).  Default 1 s; 0: it ends at once (rtmfp-cpp's tcserver does:
   * the tests use it to check that clients close cleanly). */
  gint64 stream_end_linger_us;
  /* Client events (RtmfpServerEvent), on the server's thread; NULL: none */
  RtmfpServerEventFunc on_event;
  gpointer event_data;
  /* appended.  Dead peer detection for RTMFP sessions that play a stream
   * (rtmfp_session_set_dead_peer_timeout): a player whose media waited
   * this long for any acknowledgement (or several retransmission timeouts
   * in a row after an ICMP port unreachable) is closed, and its relay
   * slot freed.  Default 10 s (a player survives outages shorter than
   * that); 0: off (only the idle timeout). */
  gint64 player_dead_peer_timeout_us;
  /* appended.  Asked before a publish (RTMFP or RTMP) claims (app, name):
   * FALSE refuses it as if the name were published here already
   * (NetStream.Publish.BadName).  rtmfp-server --cluster: the name is
   * published on another node.  On the server's thread; must not block.
   * NULL: every publish may go on. */
  gboolean (*publish_check) (const gchar * app, const gchar * name,
      gpointer data);
  gpointer publish_check_data;
  /* appended.  Load spreading (RFC 7016 3.5.1.4; rtmfp-server
   * --cluster-max-load): asked for every IHello that selects the server,
   * before anything is answered or allocated, with the endpoint's
   * sessions now and the initiator's tcUrl (the EPD's ancillary data;
   * NULL if none).  Writes at most max addresses to addrs and returns how
   * many: the initiator is sent a Redirect to them instead of an RHello.
   * 0: served here.  On the server's thread; must not block.  NULL: no
   * redirects. */
  guint (*redirect) (guint n_sessions, const gchar * tc_url,
      RtmfpAddr * addrs, guint max, gpointer data);
  gpointer redirect_data;
  /* appended.  Introductions across servers: an IHello for a peer ID
   * (RFC 7425 5.4) that no connected client of ours has.  Writes at most
   * max addresses of other servers that may have it to addrs and returns
   * how many: the initiator is sent a Redirect to them (it asks them in
   * turn; the one with the peer introduces it).  0, or NULL: ignored, as
   * without it.  On the server's thread; must not block. */
  guint (*peer_elsewhere) (const guint8 * fingerprint, RtmfpAddr * addrs,
      guint max, gpointer data);
  gpointer peer_elsewhere_data;
} RtmfpServerConfig;

void      rtmfp_server_config_init (RtmfpServerConfig * cfg);

/* The App-wide (user NULL) or user-specific authentication token for app
 * under key: 64 lower-case hex digits (newly allocated).  Over RTMFP a
 * client may instead send it hashed with the server's session nonce
 * (rtmfp_hmac_sha256_hex, rtmfp-cpp's tcserver scheme); the connect answer
 * then carries authToken, the token hashed with the client's nonce, which
 * proves to the client that the server knows the token. */
gchar    *rtmfp_server_auth_token (const guint8 * key, gsize key_len,
    const gchar * user, const gchar * app);

/* The identity is cfg->identity, or ephemeral Diffie-Hellman (groups 14,
 * 5, 2); either accepts ancillary data, so URI EPDs select it (RFC 7425
 * 4.3.3.2, 4.4.3). */
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
/* The relay (borrowed; on the server's thread only): rtmfp-server
 * --cluster publishes the streams it pulls from other nodes in it */
RtmfpRelay *rtmfp_server_get_relay (RtmfpServer * srv);

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
  /* RTMP side (rtmp_*: TCP connections; the relay figures above count
   * both protocols) */
  guint rtmp_connections;       /* open TCP connections */
  guint64 rtmp_bytes_in;        /* TCP payload bytes, handshake included */
  guint64 rtmp_bytes_out;
  guint64 rtmp_connects_accepted;
  guint64 rtmp_connects_rejected;
  guint64 rtmp_dropped;         /* clients dropped: timeout, no reading */
  /* RTMFP connections: mean smoothed RTT (ms, 0 before any sample), and
   * fragments declared lost / retransmitted, totals since start */
  gdouble rtt_ms;
  guint64 fragments_lost;
  guint64 fragments_retransmitted;
  /* UDP payload rates since the previous stats line (kbit/s; set by the
   * caller that prints periodically, 0 otherwise) */
  gdouble kbps_in;
  gdouble kbps_out;
} RtmfpServerStats;

void      rtmfp_server_get_stats (RtmfpServer * srv, RtmfpServerStats * st);
/* "stats sessions=1 connections=1 ... rtmp_connections=0 ..." (one line,
 * no newline) */
gchar    *rtmfp_server_stats_to_string (const RtmfpServerStats * st);

/* ---- RTMP connections (rtmfpserverrtmp.c) ----
 *
 * The server side of one RTMP (TCP) connection, sharing the applications
 * (cfg.apps) and the relay with the RTMFP side: an RTMP publisher reaches
 * RTMFP and RTMP players, an RTMP player plays what RTMFP or RTMP
 * publishers publish, a name is published once across both protocols.
 *
 * Sans-I/O too: the driver (rtmpserverio.c in rtmfp-server, a byte pipe
 * in tests) feeds what it reads from the socket and writes what
 * peek_output gives; all on the thread of the server.
 *
 *   connect       the same app check as RTMFP connect (Connect.Rejected)
 *   publish       claims the name in the relay (Publish.BadName if taken
 *                 over RTMFP or RTMP by a publisher that is sending; one
 *                 silent for cfg.publisher_idle_us loses it); media goes
 *                 to the relay
 *   play          a relay player (late joiners get metadata and sequence
 *                 headers, then video from a keyframe); a name nobody
 *                 publishes is waited for (or StreamNotFound, as RTMFP)
 *   closeStream, deleteStream, FCUnpublish, the socket closing
 *                 end the publication: players get
 *                 NetStream.Play.UnpublishNotify
 *
 * RTMP players are not sent StreamEOF when the publisher goes: rtmp2src
 * and Flash end playing on StreamEOF, and the use case is a publisher
 * that falls back from RTMFP to RTMP (or back) and publishes the name
 * again a moment later; its players stay, get NetStream.Play.PublishNotify
 * and go on from the new publisher's headers and first keyframe.
 * Timestamps are the publishers' own (not rebased).
 *
 * Slow players: media is queued whole in the RtmpConn and only cut into
 * chunks as the socket takes it, so the relay sees what a player has not
 * taken yet (rtmp_conn_get_queued_bytes) and applies the same limits and
 * keyframe restarts as for RTMFP players.  Lifetimes do not apply: TCP
 * cannot abandon what it has taken. */

typedef struct _RtmfpServerRtmpConn RtmfpServerRtmpConn;

/* Output was queued outside of a feed (media, statuses from the relay, a
 * drop decided by the server): the driver should write soon, and close
 * when rtmfp_server_rtmp_conn_should_close says so.  Must not free the
 * connection. */
typedef void (*RtmfpServerRtmpWakeFunc) (RtmfpServerRtmpConn * rc,
    gpointer data);

/* peer: for logs ("1.2.3.4:5678") */
RtmfpServerRtmpConn *rtmfp_server_rtmp_conn_new (RtmfpServer * srv,
    const gchar * peer, RtmfpServerRtmpWakeFunc wake, gpointer wake_data);
/* Ends its streams (players of what it published get UnpublishNotify) and
 * frees.  Works after rtmfp_server_free too. */
void      rtmfp_server_rtmp_conn_free (RtmfpServerRtmpConn * rc);
/* Bytes read from the socket.  FALSE once no more input is wanted (the
 * connection failed, was rejected or dropped). */
gboolean  rtmfp_server_rtmp_conn_feed (RtmfpServerRtmpConn * rc,
    const guint8 * data, gsize len);
/* What to write (NULL, *len 0: nothing); then consume what was written */
const guint8 *rtmfp_server_rtmp_conn_peek_output (RtmfpServerRtmpConn * rc,
    gsize * len);
void      rtmfp_server_rtmp_conn_consume_output (RtmfpServerRtmpConn * rc,
    gsize n);
gboolean  rtmfp_server_rtmp_conn_has_output (RtmfpServerRtmpConn * rc);
/* Output bytes waiting (chunked, and payload of queued messages) */
gsize     rtmfp_server_rtmp_conn_get_output_size (RtmfpServerRtmpConn * rc);
/* Close the socket now: the connection is over and its output written,
 * or it was dropped (then what is left is not worth writing). */
gboolean  rtmfp_server_rtmp_conn_should_close (RtmfpServerRtmpConn * rc);

G_END_DECLS
