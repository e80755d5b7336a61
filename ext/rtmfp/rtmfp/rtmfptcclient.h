/* RTMFP core: a NetConnection + NetStream client over one RTMFP session
 * (RFC 7425 section 5.3): connect, setPeerInfo, createStream, then
 * publish or play one stream.
 *
 * Sans-I/O like the rest of the core: the client does not own the
 * endpoint.  Whoever drives the endpoint (rtmfpnet, or a simulated
 * network in tests) installs the endpoint callbacks of
 * rtmfp_tc_client_get_endpoint_callbacks() with the client as user data,
 * or calls them from its own callbacks; sessions that are not the
 * client's are ignored.  The client reads the time through a clock
 * function (callbacks of the endpoint carry no timestamp) and asks for a
 * timer through rtmfp_tc_client_next_timeout.  All calls on the thread
 * that drives the endpoint.
 *
 * Flows (5.1.1, 5.3.5):
 *   control   TC 04 00, the NetConnection control flow (connect,
 *             setPeerInfo, createStream, deleteStream)
 *   stream    TC 04 <sid>, associated to the server's canonical control
 *             flow: publish / play / closeStream, and the publisher's
 *             data messages (@setDataFrame onMetaData)
 *   audio     TC 05 <sid> (RXI: arrival order hint), publisher only
 *   video     TC 04 <sid>, publisher only
 * Messages from the server are taken in original queuing order on every
 * flow (the receiver's choice, 5.1.1), so a player sees each flow in
 * order, with gaps where the sender abandoned messages.
 *
 * Publisher deadlines: audio messages live audio_lifetime_us, video frames
 * video_lifetime_us, and inter frames still held by the client when a new
 * keyframe is sent are dropped (they cannot be decoded without the
 * keyframe they were superseded by).  Messages sent with
 * RTMFP_TC_CLIENT_SEND_RELIABLE (sequence headers, metadata) never expire.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpendpoint.h"
#include "rtmfptc.h"

G_BEGIN_DECLS

typedef struct _RtmfpTcClient RtmfpTcClient;

typedef enum {
  RTMFP_TC_CLIENT_ROLE_PUBLISH,
  RTMFP_TC_CLIENT_ROLE_PLAY,
  /* The server NetConnection of a direct (peer-to-peer) publisher
   * (RFC 7425 5.4): connect + setPeerInfo, then STREAMING with no stream;
   * the subscribers are served by RtmfpTcPeerPublisher (rtmfptcpeer.h).
   * send() refuses. */
  RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH,
  /* A NetConnection only: connect + setPeerInfo, then STREAMING with no
   * stream, for calls (rtmfp_tc_client_call).  send() refuses. */
  RTMFP_TC_CLIENT_ROLE_CONNECT,
} RtmfpTcClientRole;

typedef enum {
  RTMFP_TC_CLIENT_STATE_IDLE,
  RTMFP_TC_CLIENT_STATE_OPENING,        /* RTMFP handshake */
  RTMFP_TC_CLIENT_STATE_CONNECTING,     /* "connect" sent */
  RTMFP_TC_CLIENT_STATE_CREATING_STREAM,        /* "createStream" sent */
  RTMFP_TC_CLIENT_STATE_STARTING,       /* "publish" / "play" sent */
  RTMFP_TC_CLIENT_STATE_STREAMING,      /* Publish.Start / Play.Start */
  RTMFP_TC_CLIENT_STATE_CLOSING,        /* orderly close under way */
  RTMFP_TC_CLIENT_STATE_CLOSED,
  RTMFP_TC_CLIENT_STATE_FAILED,
} RtmfpTcClientState;

const gchar *rtmfp_tc_client_state_get_nick (RtmfpTcClientState state);

#define RTMFP_TC_CLIENT_ERROR (rtmfp_tc_client_error_quark ())
GQuark    rtmfp_tc_client_error_quark (void);
/* Errors name the RTMP status code where there is one: the message then
 * starts with it, e.g. "NetConnection.Connect.Rejected: bad app". */
typedef enum {
  RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED, /* session could not be opened */
  RTMFP_TC_CLIENT_ERROR_TIMEOUT,        /* not streaming within the timeout */
  RTMFP_TC_CLIENT_ERROR_REJECTED,       /* "connect" answered by _error */
  RTMFP_TC_CLIENT_ERROR_STREAM,         /* publish / play refused or failed */
  RTMFP_TC_CLIENT_ERROR_CLOSED,         /* connection closed by the far end */
  RTMFP_TC_CLIENT_ERROR_PROTOCOL,       /* unusable answer from the server */
  RTMFP_TC_CLIENT_ERROR_FINGERPRINT,    /* not the server we pinned, or it
                                         * cannot prove it (no static key,
                                         * nothing under the session keys) */
  RTMFP_TC_CLIENT_ERROR_AUTH,           /* RTMFP_TC_AUTH_MUTUAL: the server
                                         * did not prove it knows the token */
} RtmfpTcClientError;

/* The certificate a client presents (RFC 7425 4.3), i.e. how it keys */
typedef enum {
  /* RFC first; if the server shows it only understands Flash Player's
   * certificate (a keying answer in another DH group than selected, or an
   * unusable one, or no answer to the IIKeying within
   * RTMFP_TC_CLIENT_FLASH_FALLBACK_US although the RHello came), once
   * more with a Flash-shaped identity, which then stays the endpoint's
   * (callbacks.identity_changed).  Never with a pinned server or to a
   * peer (no downgrade there). */
  RTMFP_HANDSHAKE_AUTO,
  /* Static keys for groups 14, 5 and 2 plus Extra Randomness (4.3.3):
   * keying in the best group both ends have, 2048-bit with rtmfp-server
   * and rtmfp-cpp.  Servers built for Flash Player cannot parse it. */
  RTMFP_HANDSHAKE_RFC,
  /* Flash Player's shape (rtmfp_identity_new_flash): one static key in
   * group 2, so keying is always in 1024-bit MODP group 2, which is within
   * reach of well-funded attackers (precomputation, "Logjam").  What
   * MonaServer, Cumulus and other servers built for Flash Player need. */
  RTMFP_HANDSHAKE_FLASH,
} RtmfpHandshakeMode;

const gchar *rtmfp_handshake_mode_get_nick (RtmfpHandshakeMode mode);
/* A new identity (one reference) for a client starting in this mode:
 * what its endpoint is made with (RtmfpEndpointConfig.identity).  AUTO
 * starts as RFC. */
RtmfpIdentity *rtmfp_tc_client_new_identity (RtmfpHandshakeMode mode);
/* How long AUTO waits for the RIKeying after the RHello came before it
 * tries the Flash shape (the IIKeying went out three times by then) */
#define RTMFP_TC_CLIENT_FLASH_FALLBACK_US (3 * G_TIME_SPAN_SECOND)

/* How the authentication token (RtmfpTcClientConfig.auth_token) goes to
 * the server; the schemes of rtmfp-cpp's tcserver */
typedef enum {
  /* as given: anyone who sees it (a man in the middle of an unpinned
   * session) can replay it */
  RTMFP_TC_AUTH_PLAIN,
  /* lower-case hex HMAC-SHA-256 (key: the server's session nonce, RFC
   * 7425 4.6.5, message: the token): proves the token without disclosing
   * it and cannot be replayed on another session (tcconn -m) */
  RTMFP_TC_AUTH_HASHED,
  /* hashed, and the server must prove that it knows the token too: its
   * connect answer carries authToken = hex HMAC-SHA-256 (key: our session
   * nonce, message: the token), or the client fails with
   * RTMFP_TC_CLIENT_ERROR_AUTH before using the connection (tcconn -m -M) */
  RTMFP_TC_AUTH_MUTUAL,
} RtmfpTcAuthMode;

const gchar *rtmfp_tc_auth_mode_get_nick (RtmfpTcAuthMode mode);

/* Media kinds, for flows and statistics */
typedef enum {
  RTMFP_TC_MEDIA_AUDIO,
  RTMFP_TC_MEDIA_VIDEO,
  RTMFP_TC_MEDIA_DATA,
  RTMFP_TC_MEDIA_N
} RtmfpTcMediaKind;

const gchar *rtmfp_tc_media_kind_get_nick (RtmfpTcMediaKind kind);
/* audio for type 8, video for 9, data for everything else */
RtmfpTcMediaKind rtmfp_tc_media_kind_from_type (guint8 type);

typedef gint64 (*RtmfpTcClientClockFunc) (gpointer data);

typedef struct {
  RtmfpTcClientRole role;
  const gchar *tc_url;          /* rtmfp://host[:port]/app: EPD and tcUrl */
  const gchar *app;
  const gchar *stream;          /* publish / play name */
  const gchar *flash_ver;       /* NULL: rtmfp_tc_connect_object_new's */
  const gchar *publish_type;    /* NULL: "live" */
  const gchar *const *peer_info;        /* setPeerInfo addresses, NULL-
                                         * terminated; NULL: none */
  gint64 timeout_us;            /* start -> streaming; 0: no limit */
  gint64 audio_lifetime_us;     /* 0: RTMFP_TC_CLIENT_DEFAULT_* */
  gint64 video_lifetime_us;
  gint64 close_timeout_us;      /* orderly close before giving up */
  /* appended.  PLAY only: play directly from the peer with this identity
   * fingerprint (RTMFP_FINGERPRINT_SIZE bytes; RFC 7425 5.4): the session
   * is opened with EPD = the fingerprint (4.4.2.3), the candidates being
   * the server (which redirects and forwards the IHello, 3.5.1.5/6); no
   * NetConnection: once the session is open a NetStream flow (stream ID
   * RTMFP_TC_CLIENT_PEER_STREAM_ID, not associated) carries "play".
   * NULL: play through the server. */
  const guint8 *peer_fingerprint;
  /* appended.  Authentication to tcserver-style servers (rtmfp-server
   * --auth-key): auth_token is sent as a string argument of "connect"
   * after the command object: the App-wide token (lower-case hex
   * HMAC-SHA-256 of the app under the server's key), or, with auth_user,
   * the arguments are auth_user then auth_token (the user token, of
   * "user@app").  NULL: no argument (auth_user alone is ignored). */
  const gchar *auth_token;
  const gchar *auth_user;
  /* appended.  Fingerprint pinning: the server's fingerprint (peer ID,
   * RTMFP_FINGERPRINT_SIZE bytes) the session must have, with static
   * Diffie-Hellman keys used for keying (RtmfpOpenOptions, so only the
   * holder of the private key can finish the handshake: rtmfp-server
   * --identity).  An RHello of another server, or of one with ephemeral
   * keys, fails the client at once with RTMFP_TC_CLIENT_ERROR_FINGERPRINT
   * (nothing is sent to it); so does a session over which nothing
   * arrives under the session keys before the timeout (a man in the
   * middle that replays the certificate but cannot derive the keys).
   * NULL: any server. */
  const guint8 *server_fingerprint;
  /* appended.  The certificate to present: see RtmfpHandshakeMode.  The
   * endpoint's identity is what is presented; AUTO may replace it. */
  RtmfpHandshakeMode handshake;
  /* appended.  How auth_token is sent (default PLAIN) */
  RtmfpTcAuthMode auth_mode;
} RtmfpTcClientConfig;

#define RTMFP_TC_CLIENT_PEER_STREAM_ID 1

#define RTMFP_TC_CLIENT_DEFAULT_AUDIO_LIFETIME_US (200 * G_TIME_SPAN_MILLISECOND)
#define RTMFP_TC_CLIENT_DEFAULT_VIDEO_LIFETIME_US (1000 * G_TIME_SPAN_MILLISECOND)
#define RTMFP_TC_CLIENT_DEFAULT_CLOSE_TIMEOUT_US (2 * G_TIME_SPAN_SECOND)
/* Keepalive periods advised by the server (5.3.4) are kept within these */
#define RTMFP_TC_CLIENT_MIN_KEEPALIVE_US (5 * G_TIME_SPAN_SECOND)
#define RTMFP_TC_CLIENT_MAX_KEEPALIVE_US (3600 * G_TIME_SPAN_SECOND)
/* Publisher: what the client holds beyond the flows' own queues before
 * rtmfp_tc_client_get_pending_bytes asks its feeder to wait (the writable
 * callback says when there is room again). */
#define RTMFP_TC_CLIENT_PENDING_HIGH (512 * 1024)
#define RTMFP_TC_CLIENT_PENDING_LOW (128 * 1024)

void      rtmfp_tc_client_config_init (RtmfpTcClientConfig * cfg);

typedef struct {
  /* Every state change, FAILED and CLOSED included */
  void (*state_changed) (RtmfpTcClient * c, RtmfpTcClientState state,
      gpointer ud);
  /* The client failed (state FAILED follows); called once */
  void (*error) (RtmfpTcClient * c, const GError * error, gpointer ud);
  /* An onStatus info object (either flow) or a NetConnection status */
  void (*status) (RtmfpTcClient * c, const gchar * level, const gchar * code,
      const gchar * description, gpointer ud);
  /* Player: an audio (8), video (9) or data (18) message of the stream, in
   * flow order.  Data messages lose a leading "@setDataFrame".  gap: the
   * flow sequence numbers skipped just before it (RFC 7016 3.6.3: one per
   * fragment the sender abandoned); non-zero means one or more messages of
   * this flow were lost. */
  void (*message) (RtmfpTcClient * c, const RtmfpTcMessage * msg,
      guint64 gap, gpointer ud);
  /* Player: StreamBegin (0) / StreamEOF (1) / StreamDry (2) ... for our
   * stream ID (keepalive and flow sync are handled inside) */
  void (*stream_event) (RtmfpTcClient * c, guint16 event, gpointer ud);
  /* Publisher: pending bytes fell below RTMFP_TC_CLIENT_PENDING_LOW */
  void (*writable) (RtmfpTcClient * c, gpointer ud);
  /* appended.  A command the client does not handle itself (not _result,
   * _error, onStatus, close), on any flow of the connection or of our
   * stream: stream_id 0 for the NetConnection.  args after the command
   * name and transaction ID (borrowed). */
  void (*command) (RtmfpTcClient * c, guint32 stream_id, const gchar * name,
      GPtrArray * args, gpointer ud);
  /* appended.  The endpoint has a new identity (a new peer ID): AUTO
   * fell back to the Flash shape.  identity is borrowed. */
  void (*identity_changed) (RtmfpTcClient * c, RtmfpIdentity * identity,
      gpointer ud);
} RtmfpTcClientCallbacks;

RtmfpTcClient *rtmfp_tc_client_new (const RtmfpTcClientConfig * cfg,
    const RtmfpTcClientCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data);
/* Drops the session reference (does not close it: call close or abort
 * first, or free the endpoint). */
void      rtmfp_tc_client_free (RtmfpTcClient * c);

/* The endpoint callbacks to install (or to call from one's own), user
 * data = the client.  Static; never NULL. */
const RtmfpEndpointCallbacks *rtmfp_tc_client_get_endpoint_callbacks (void);

/* Opens the session (EPD = Ancillary Data tcUrl, 4.4.2.2) to these
 * candidate addresses.  FALSE (and state FAILED, error reported) if the
 * endpoint refuses. */
gboolean  rtmfp_tc_client_start (RtmfpTcClient * c, RtmfpEndpoint * ep,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now);
/* A late candidate for the opening session */
void      rtmfp_tc_client_add_candidate (RtmfpTcClient * c,
    const RtmfpAddr * addr, gint64 now);

/* Timer: absolute time the client wants handle_timeout, or -1 */
gint64    rtmfp_tc_client_next_timeout (RtmfpTcClient * c);
void      rtmfp_tc_client_handle_timeout (RtmfpTcClient * c, gint64 now);

RtmfpTcClientState rtmfp_tc_client_get_state (RtmfpTcClient * c);
/* The error that failed the client, or NULL */
const GError *rtmfp_tc_client_get_error (RtmfpTcClient * c);
/* The session (NULL before start); borrowed */
RtmfpSession *rtmfp_tc_client_get_session (RtmfpTcClient * c);
/* Stream ID from createStream (0 before) */
guint32   rtmfp_tc_client_get_stream_id (RtmfpTcClient * c);
/* Peer keepalive period advised by the server (0: none yet) */
gint64    rtmfp_tc_client_get_peer_keepalive (RtmfpTcClient * c);
/* The shape of the certificate the current session was opened with:
 * RTMFP_HANDSHAKE_FLASH or RTMFP_HANDSHAKE_RFC (any other: RFC) */
RtmfpHandshakeMode rtmfp_tc_client_get_handshake (RtmfpTcClient * c);

/* ---- publisher ---- */

#define RTMFP_TC_CLIENT_SEND_RELIABLE 0x01      /* never abandoned */
#define RTMFP_TC_CLIENT_SEND_KEYFRAME 0x02      /* video: a keyframe */

/* Sends one message of type 8 (audio), 9 (video) or 18 (data) on the
 * stream.  Only while STREAMING (FALSE otherwise, or for other types).
 * A data message starting with "onMetaData" is sent as "@setDataFrame",
 * "onMetaData", ... (the RTMP publish form) and reliably. */
gboolean  rtmfp_tc_client_send (RtmfpTcClient * c, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len, guint flags,
    gint64 now);
/* Bytes accepted by send but not yet handed to the flows */
gsize     rtmfp_tc_client_get_pending_bytes (RtmfpTcClient * c);

/* ---- calls and commands ---- */

/* The answer to rtmfp_tc_client_call: ok for _result, FALSE for _error
 * or when the connection ended first (args NULL then).  args: after the
 * command name and transaction ID (borrowed). */
typedef void (*RtmfpTcClientCallFunc) (RtmfpTcClient * c, gboolean ok,
    GPtrArray * args, gpointer user_data);

/* A NetConnection call (command on the control flow, with a transaction
 * ID): first argument null, then args (taken).  Once connected (any role
 * but a direct player), FALSE otherwise (args freed, func not called).
 * func (optional) is called once with the answer. */
gboolean  rtmfp_tc_client_call (RtmfpTcClient * c, const gchar * name,
    guint n_args, RtmfpAmfNode ** args, RtmfpTcClientCallFunc func,
    gpointer user_data, gint64 now);

/* A command (transaction 0, first argument null, then args, taken) on our
 * NetStream's flow: to the server for its stream, or to the peer we play
 * from directly.  While STREAMING, FALSE otherwise. */
gboolean  rtmfp_tc_client_stream_command (RtmfpTcClient * c,
    const gchar * name, guint n_args, RtmfpAmfNode ** args, gint64 now);

/* ---- closing ---- */

/* Orderly close.  A publisher first closes its audio and video flows and
 * waits until they are complete (everything acknowledged or abandoned),
 * at most the longer media lifetime plus RTMFP_TC_CLIENT_DRAIN_MARGIN_US
 * (and never more than close_timeout_us): flows are not ordered with one
 * another (RFC 7425 5.2), and a server acting on deleteStream at once
 * would otherwise drop the last media still on its way.  Then
 * closeStream (on the stream flow) and deleteStream (a player sends
 * those at once); then the remaining sending flows are closed, and once
 * they are complete (or after the close timeout) the session is closed.
 * State CLOSING, then CLOSED. */
#define RTMFP_TC_CLIENT_DRAIN_MARGIN_US (500 * G_TIME_SPAN_MILLISECOND)
void      rtmfp_tc_client_close (RtmfpTcClient * c, gint64 now);
/* Abrupt: aborts the session; state CLOSED at once (FAILED stays). */
void      rtmfp_tc_client_abort (RtmfpTcClient * c, gint64 now);

/* ---- statistics ---- */

typedef struct {
  guint64 messages_sent;        /* handed to the transport */
  guint64 bytes_sent;           /* message bytes (TC header included) */
  guint64 messages_abandoned;   /* abandoned by the transport (deadline) */
  guint64 messages_dropped;     /* dropped by the client before sending:
                                 * expired or superseded by a keyframe */
  guint64 messages_received;
  guint64 bytes_received;
  guint64 gaps;                 /* deliveries after a gap: each stands for
                                 * one or more messages lost */
  guint64 sequence_gaps;        /* flow sequence numbers skipped */
} RtmfpTcMediaStats;

typedef struct {
  RtmfpTcClientState state;
  gboolean have_session;
  RtmfpSessionStats session;    /* zeroed without a session */
  RtmfpTcMediaStats media[RTMFP_TC_MEDIA_N];
  guint32 stream_id;
  guint n_send_flows;           /* the client's, open or closing */
  guint n_recv_flows;
} RtmfpTcClientStats;

void      rtmfp_tc_client_get_stats (RtmfpTcClient * c,
    RtmfpTcClientStats * stats);

G_END_DECLS
