/* RTMFP core: a publisher or player that survives outages.
 *
 * The session policy of the elements, sans-I/O like the rest of the core
 * (time is a parameter or the clock function; nothing here reads a clock
 * or touches a socket), so it runs the same on rtmfpnet and on the
 * simulated network of the tests.  An agent owns the NetConnection /
 * NetStream client of the moment (RtmfpTcClient) and, for a direct
 * publisher, the peer-to-peer side (RtmfpTcPeerPublisher), and adds:
 *
 *   - reconnection: a session that is lost after the stream flowed (closed
 *     by the far end, or silent past the dead-peer time) is replaced by a
 *     new one on the same endpoint (same identity, same peer ID):
 *     handshake, connect, createStream, publish / play again; attempts at
 *     once, then backing off (with jitter) to 1 s, each with a deadline,
 *     until `timeout` after the last packet from the far end.  Refusals
 *     (connect rejected, wrong fingerprint, publish refused while
 *     streaming) are final;
 *   - dead-peer detection: the session's idle timeout, and pings every
 *     250 ms once nothing was received for 0.5 s, so that a path that
 *     comes back is used at once (RFC 7016 3.5.4.1);
 *   - publisher: the last sequence headers and metadata are kept and sent
 *     first on a new session, before any media; the owner is asked for a
 *     keyframe (keyframe_wanted) after a reconnection and when a player
 *     asks for one;
 *   - player: the start gate (rtmfpstartgate.h) makes every start coherent
 *     (first play, reconnection, a new publisher of the name); the end of
 *     the stream follows UnpublishNotify (after a grace period in which a
 *     new publisher may take the name over), Play.Stop or StreamEOF;
 *     `waiting` tells when the stream is not published (yet), and
 *     idle_timeout bounds that wait; peer IDs can be resolved by the
 *     server from the stream name (rtmfp-server's lookupPeer);
 *   - statistics kept across reconnections.
 *
 * The owner drives the endpoint: it installs the agent's endpoint
 * callbacks (rtmfp_tc_agent_get_endpoint_callbacks, user data = the agent;
 * a direct publisher's endpoint must accept sessions) and calls
 * handle_timeout at next_timeout.  All calls on the endpoint's thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpendpoint.h"
#include "rtmfptcclient.h"
#include "rtmfpmedia.h"

G_BEGIN_DECLS

typedef struct _RtmfpTcAgent RtmfpTcAgent;

typedef enum {
  RTMFP_TC_AGENT_PUBLISH,       /* publish through the server */
  RTMFP_TC_AGENT_PUBLISH_DIRECT,        /* to peer-to-peer subscribers */
  RTMFP_TC_AGENT_PLAY,          /* through the server, or from a peer */
} RtmfpTcAgentRole;

typedef enum {
  RTMFP_TC_AGENT_STATE_IDLE,
  RTMFP_TC_AGENT_STATE_CONNECTING,      /* the first connection */
  RTMFP_TC_AGENT_STATE_STREAMING,
  RTMFP_TC_AGENT_STATE_RECONNECTING,
  RTMFP_TC_AGENT_STATE_CLOSING,
  RTMFP_TC_AGENT_STATE_CLOSED,
  RTMFP_TC_AGENT_STATE_FAILED,
} RtmfpTcAgentState;

const gchar *rtmfp_tc_agent_state_get_nick (RtmfpTcAgentState state);

#define RTMFP_TC_AGENT_ERROR (rtmfp_tc_agent_error_quark ())
GQuark    rtmfp_tc_agent_error_quark (void);
typedef enum {
  /* the connection was lost and not restored within the timeout; the
   * message names the first cause and the last attempt's failure */
  RTMFP_TC_AGENT_ERROR_LOST,
  /* player: the stream was not published within idle_timeout */
  RTMFP_TC_AGENT_ERROR_NOT_PUBLISHED,
  /* player: the server cannot resolve the stream's peer ID */
  RTMFP_TC_AGENT_ERROR_NO_LOOKUP,
} RtmfpTcAgentError;
/* Other errors are the client's (RTMFP_TC_CLIENT_ERROR), passed on. */

/* Random numbers (reconnection jitter): NULL uses g_random_int; tests give
 * a seeded one so that runs repeat bit for bit */
typedef guint32 (*RtmfpTcAgentRandomFunc) (gpointer data);

typedef struct {
  RtmfpTcAgentRole role;
  const gchar *tc_url;          /* rtmfp://host[:port]/app */
  const gchar *app;
  const gchar *stream;
  const gchar *flash_ver;       /* NULL: the client's default */
  const gchar *auth_token;      /* NULL: none */
  const guint8 *server_fingerprint;     /* pinned server, or NULL */
  /* PLAY: from the peer with this fingerprint (RTMFP_FINGERPRINT_SIZE),
   * the server introducing; or resolve_peer: ask the server for the peer
   * ID of the stream's direct publisher first */
  const guint8 *peer_fingerprint;
  gboolean resolve_peer;
  /* PUBLISH_DIRECT: setPeerInfo addresses (NULL-terminated) */
  const gchar *const *peer_info;
  gint64 timeout_us;            /* connect, and reconnect budget */
  gint64 idle_timeout_us;       /* PLAY: 0 waits forever */
  gint64 audio_lifetime_us;     /* 0: the client's defaults */
  gint64 video_lifetime_us;
  gboolean reconnect;
  RtmfpTcAgentRandomFunc random;
  gpointer random_data;
  /* appended.  The certificate presented (RtmfpHandshakeMode, see
   * rtmfptcclient.h; the endpoint is made with
   * rtmfp_tc_client_new_identity of it) and how auth_token is sent */
  RtmfpHandshakeMode handshake;
  RtmfpTcAuthMode auth_mode;
} RtmfpTcAgentConfig;

void      rtmfp_tc_agent_config_init (RtmfpTcAgentConfig * cfg);

typedef struct {
  void (*state_changed) (RtmfpTcAgent * a, RtmfpTcAgentState state,
      gpointer ud);
  /* The agent failed for good (FAILED follows); once */
  void (*error) (RtmfpTcAgent * a, const GError * error, gpointer ud);
  /* onStatus / NetConnection status from the server or the peer */
  void (*status) (RtmfpTcAgent * a, const gchar * level, const gchar * code,
      const gchar * description, gpointer ud);
  /* PLAY: a message of the stream, through the start gate */
  void (*message) (RtmfpTcAgent * a, const RtmfpMediaMessage * msg,
      gpointer ud);
  /* PLAY: the stream ended (after the messages before it) */
  void (*end_of_stream) (RtmfpTcAgent * a, gpointer ud);
  /* publishers: the server took the stream (PUBLISH), or knows us and
   * introduces subscribers (PUBLISH_DIRECT); once per run */
  void (*publishing) (RtmfpTcAgent * a, gpointer ud);
  /* PLAY: the stream is not published (yet); once per wait */
  void (*waiting) (RtmfpTcAgent * a, gpointer ud);
  void (*reconnecting) (RtmfpTcAgent * a, guint attempt,
      const gchar * reason, gpointer ud);
  void (*reconnected) (RtmfpTcAgent * a, guint attempt, gint64 downtime_us,
      gpointer ud);
  /* publishers: send a keyframe soon (a new session, a player asked) */
  void (*keyframe_wanted) (RtmfpTcAgent * a, gpointer ud);
  /* publishers: room again after rtmfp_tc_agent_get_pending_bytes grew */
  void (*writable) (RtmfpTcAgent * a, gpointer ud);
  /* PUBLISH_DIRECT: a subscriber plays / left; PLAY from a peer: the
   * session to the peer is up (peer_left unused) */
  void (*peer_playing) (RtmfpTcAgent * a, RtmfpSession * s, gpointer ud);
  void (*peer_left) (RtmfpTcAgent * a, RtmfpSession * s, gpointer ud);
  /* appended.  The endpoint has a new identity, so a new peer ID: the
   * handshake fell back to Flash Player's certificate (RTMFP_HANDSHAKE_AUTO
   * with a server built for Flash Player).  identity is borrowed. */
  void (*identity_changed) (RtmfpTcAgent * a, RtmfpIdentity * identity,
      gpointer ud);
} RtmfpTcAgentCallbacks;

RtmfpTcAgent *rtmfp_tc_agent_new (const RtmfpTcAgentConfig * cfg,
    const RtmfpTcAgentCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data);
/* Does not close anything: abort or close first (or free the endpoint) */
void      rtmfp_tc_agent_free (RtmfpTcAgent * a);

const RtmfpEndpointCallbacks *rtmfp_tc_agent_get_endpoint_callbacks (void);

/* PUBLISH_DIRECT: the setPeerInfo addresses, when they are only known
 * once the endpoint exists (its port); before start */
void      rtmfp_tc_agent_set_peer_info (RtmfpTcAgent * a,
    const gchar * const *peer_info);

/* Connects to these server candidates.  FALSE (and FAILED) at once if the
 * endpoint refuses. */
gboolean  rtmfp_tc_agent_start (RtmfpTcAgent * a, RtmfpEndpoint * ep,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now);

gint64    rtmfp_tc_agent_next_timeout (RtmfpTcAgent * a);
void      rtmfp_tc_agent_handle_timeout (RtmfpTcAgent * a, gint64 now);

RtmfpTcAgentState rtmfp_tc_agent_get_state (RtmfpTcAgent * a);
/* The session of the moment (to the server, or to the peer played
 * from), or NULL; borrowed */
RtmfpSession *rtmfp_tc_agent_get_session (RtmfpTcAgent * a);

/* ---- publishers ---- */

/* One message (types 8, 9, 18; flags RTMFP_TC_CLIENT_SEND_*).  Reliable
 * ones (sequence headers, metadata) are kept and sent first on every new
 * session.  FALSE if not sent now (not streaming: dropped and counted). */
gboolean  rtmfp_tc_agent_send (RtmfpTcAgent * a, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len, guint flags,
    gint64 now);
gsize     rtmfp_tc_agent_get_pending_bytes (RtmfpTcAgent * a);

/* ---- players ---- */

/* Ask the publisher for a keyframe (after a video loss); at most one per
 * round trip.  FALSE if not sent. */
gboolean  rtmfp_tc_agent_request_keyframe (RtmfpTcAgent * a, gint64 now);

/* ---- closing ---- */

/* Orderly: publishers end the stream once its media flows are complete;
 * state CLOSING then CLOSED */
void      rtmfp_tc_agent_close (RtmfpTcAgent * a, gint64 now);
/* Abrupt; state CLOSED at once (FAILED stays) */
void      rtmfp_tc_agent_abort (RtmfpTcAgent * a, gint64 now);

/* ---- statistics ---- */

typedef struct {
  RtmfpTcClientStats client;    /* the session of the moment */
  /* totals over every session of this run (the current one included):
   * session counters and the media counters */
  RtmfpSessionStats total_session;
  RtmfpTcMediaStats total_media[RTMFP_TC_MEDIA_N];
  guint sessions;               /* sessions opened (1 + reconnections) */
  guint reconnections;          /* successful */
  guint64 messages_not_sent;    /* publisher: given while not streaming */
  guint64 keyframe_requests_sent;       /* player */
  guint64 keyframe_requests_received;   /* publisher */
  guint n_peers;                /* direct publisher: subscribers */
} RtmfpTcAgentStats;

void      rtmfp_tc_agent_get_stats (RtmfpTcAgent * a, RtmfpTcAgentStats * st);

/* Direct publisher: the peer-to-peer side (for per-subscriber statistics),
 * or NULL; borrowed */
struct _RtmfpTcPeerPublisher *rtmfp_tc_agent_get_peer_publisher (RtmfpTcAgent
    * a);

G_END_DECLS
