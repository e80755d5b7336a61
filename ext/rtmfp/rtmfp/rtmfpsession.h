/* RTMFP core: a session (RFC 7016 sections 3.5, 3.6) as the user sees it.
 *
 * Sessions belong to an RtmfpEndpoint, which creates them (by opening, or
 * when a far end opens one to us) and feeds them packets and the clock.
 * All calls happen on the endpoint's thread.  Everything that sends takes
 * `now` and may transmit at once through the endpoint's send function.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpaddr.h"
#include "rtmfpflow.h"
#include "rtmfpcongestion.h"

G_BEGIN_DECLS

typedef struct _RtmfpSession RtmfpSession;
typedef struct _RtmfpEndpoint RtmfpEndpoint;

typedef enum {
  RTMFP_SESSION_IHELLO_SENT,
  RTMFP_SESSION_KEYING_SENT,
  RTMFP_SESSION_OPEN,
  RTMFP_SESSION_NEARCLOSE,
  RTMFP_SESSION_FARCLOSE_LINGER,
  RTMFP_SESSION_CLOSED,
  RTMFP_SESSION_OPEN_FAILED,
} RtmfpSessionState;

const gchar *rtmfp_session_state_get_nick (RtmfpSessionState state);

#define RTMFP_SESSION_ERROR (rtmfp_session_error_quark ())
GQuark    rtmfp_session_error_quark (void);
typedef enum {
  RTMFP_SESSION_ERROR_TIMEOUT,          /* not open within the open timeout */
  RTMFP_SESSION_ERROR_DUPLICATE,        /* duplicate of an existing session */
  RTMFP_SESSION_ERROR_KEYING,           /* keying failed (see message) */
  RTMFP_SESSION_ERROR_CLOSED,           /* closed by the far end */
  RTMFP_SESSION_ERROR_IDLE,             /* far end silent too long */
  RTMFP_SESSION_ERROR_ABORTED,          /* aborted locally */
  RTMFP_SESSION_ERROR_IDENTITY,         /* the responder is not the pinned
                                         * identity, or cannot prove it
                                         * (RtmfpOpenOptions) */
} RtmfpSessionError;

typedef struct {
  RtmfpSessionState state;
  gint64 srtt_us;               /* -1 before the first sample */
  gint64 rttvar_us;
  gint64 erto_us;
  guint64 cwnd;
  guint64 ssthresh;
  guint64 bytes_in_flight;      /* S_OUTSTANDING_BYTES */
  guint64 packets_sent;
  guint64 packets_received;
  guint64 bytes_sent;           /* UDP payload bytes */
  guint64 bytes_received;
  guint64 fragments_retransmitted;
  guint64 fragments_lost;
  guint64 messages_abandoned;
  guint64 timeouts;             /* TIMEOUT_ALARM firings with loss */
  guint64 address_changes;
  guint n_send_flows;
  guint n_recv_flows;
  /* appended */
  guint64 recv_flows_refused;   /* past max_recv_flows_per_session */
  guint64 writes_refused;       /* rtmfp_session_write refused for
                                 * max_send_queue_bytes */
  /* appended.  Of fragments_lost, those the far end turned out to have
   * received (RtmfpSendFlowStats.fragments_lost_spurious) */
  guint64 fragments_lost_spurious;
  /* Of fragments_lost, those declared by TIMEOUT_ALARM (everything in
   * flight then, also what only lost its acknowledgement): the others
   * were declared on the evidence of acknowledgements */
  guint64 fragments_lost_timeout;
  guint64 loss_episodes;        /* window reductions for loss by
                                 * acknowledgement (one per episode) */
  guint64 loss_probes;          /* tail loss probes sent (RFC 8985) */
  /* The controller's estimate of the rate the session can send at, in
   * bit/s: TCP: cwnd / RTT (the larger of SRTT and the latest sample,
   * which follows a queue that builds sooner); MEDIA: its rate, or the
   * mean of its sawtooth while it competes with a TCP flow
   * (rtmfpmediacc.c).  0 before an RTT sample.
   * For adaptive bitrate: an encoder above it builds a queue in the
   * sender.  app_limited: over the last 500 ms the controller (window or
   * pacing) held data back after fewer than half of the acknowledgements,
   * so the estimate was not put to the test and the path may carry more,
   * or less (TCP's window does not grow then, RFC 7661): raise a bitrate
   * towards it slowly. */
  guint64 rate_estimate_bps;
  gboolean app_limited;
  RtmfpCongestionControl congestion_control;
  gint64 min_rtt_us;            /* windowed minimum RTT, -1 none */
  gint64 queue_delay_us;        /* the RTT above its minimum: MEDIA its
                                 * smoothed signal, TCP SRTT - min RTT;
                                 * -1 unknown */
  guint64 dead_peer_closes;     /* 0 or 1: closed by dead_peer_timeout */
  guint64 icmp_unreachable;     /* ICMP port unreachable hints noted */
  guint64 spurious_timeouts;    /* timeouts undone (F-RTO, RFC 5682) */
  guint64 delivery_rate_bps;    /* user data acknowledged per second
                                 * (500 ms intervals, smoothed); 0 none */
} RtmfpSessionStats;

/* Backpressure: a flow whose queued (unacknowledged) bytes reached the
 * high mark gets callbacks.send_flow_writable once they fall below the
 * low mark.  rtmfp_session_write refuses (FALSE, nothing queued) a message
 * that would take the flow's queued bytes past the endpoint's
 * max_send_queue_bytes (default 16 MiB; a single message larger than that
 * is always refused); send_flow_writable follows once they fall below the
 * low mark (RTMFP_SESSION_FLOW_LOW_WATER, or a quarter of
 * max_send_queue_bytes if smaller). */
#define RTMFP_SESSION_FLOW_HIGH_WATER (256 * 1024)
#define RTMFP_SESSION_FLOW_LOW_WATER  (64 * 1024)
/* Keepalive periods below this are raised to it (RFC 7425 5.3.4) */
#define RTMFP_SESSION_MIN_KEEPALIVE_US (5 * G_TIME_SPAN_SECOND)

RtmfpSession *rtmfp_session_ref (RtmfpSession * s);
void      rtmfp_session_unref (RtmfpSession * s);

RtmfpEndpoint *rtmfp_session_get_endpoint (const RtmfpSession * s);
RtmfpSessionState rtmfp_session_get_state (const RtmfpSession * s);
gboolean  rtmfp_session_is_initiator (const RtmfpSession * s);
/* DESTADDR: where we send (changes with far-end mobility) */
const RtmfpAddr *rtmfp_session_get_far_address (const RtmfpSession * s);
/* The far end's certificate and fingerprint (peer ID), once known */
const guint8 *rtmfp_session_get_far_certificate (const RtmfpSession * s,
    gsize * len);
const guint8 *rtmfp_session_get_far_fingerprint (const RtmfpSession * s);
void      rtmfp_session_get_stats (const RtmfpSession * s,
    RtmfpSessionStats * stats);
/* The error that closed or failed the session, if any */
const GError *rtmfp_session_get_error (const RtmfpSession * s);
/* The session nonces (RFC 7425 4.6.5), RTMFP_SHA256_SIZE bytes each:
 * near = HMAC-SHA256(DH_SECRET, SKNC), far = HMAC-SHA256(DH_SECRET, SKFC).
 * Only the two ends of this very session know them: binding a secret to
 * one (rtmfp-cpp's hashed authentication tokens) keeps it from being
 * replayed on another session.  FALSE (nothing written) before S_OPEN. */
gboolean  rtmfp_session_get_nonces (const RtmfpSession * s, guint8 * near,
    guint8 * far);

void      rtmfp_session_set_user_data (RtmfpSession * s, gpointer data,
    GDestroyNotify destroy);
gpointer  rtmfp_session_get_user_data (const RtmfpSession * s);

/* ---- flows ---- */

/* Opens a sending flow with the given metadata, associated (Return Flow
 * Association) with the receiving flow assoc if not NULL.  NULL unless the
 * session is open.  The flow is owned by the session.
 *
 * Flow lifetime (sending and receiving alike): a flow is freed once it has
 * finished its linger (F_CLOSED / RF_CLOSED); when the session leaves
 * S_OPEN its flows are aborted but stay allocated until the session itself
 * is freed, so pointers held by the user remain valid as long as the
 * session is. */
RtmfpSendFlow *rtmfp_session_open_flow (RtmfpSession * s,
    const guint8 * metadata, gsize metadata_len, RtmfpRecvFlow * assoc);
/* Queues a message on a flow and transmits what congestion allows.
 * deadline: absolute abandon time, RTMFP_NO_DEADLINE for reliable.
 * FALSE (nothing queued) if the session is not open, the flow is not
 * F_OPEN, or the message would exceed max_send_queue_bytes (see above). */
gboolean  rtmfp_session_write (RtmfpSession * s, RtmfpSendFlow * f,
    const guint8 * data, gsize len, gint64 deadline, guint flags, gint64 now);
/* The same with the message in bytes, kept by reference, not copied
 * (rtmfp_send_flow_write_bytes): one message for many sessions. */
gboolean  rtmfp_session_write_bytes (RtmfpSession * s, RtmfpSendFlow * f,
    GBytes * bytes, gint64 deadline, guint flags, gint64 now);
void      rtmfp_session_close_flow (RtmfpSession * s, RtmfpSendFlow * f,
    gint64 now);
void      rtmfp_session_reject_flow (RtmfpSession * s, RtmfpRecvFlow * f,
    guint64 code, gint64 now);
RtmfpSendFlow *rtmfp_session_find_send_flow (RtmfpSession * s, guint64 id);
RtmfpRecvFlow *rtmfp_session_find_recv_flow (RtmfpSession * s, guint64 id);

/* ---- session control ---- */

/* Sends a Forwarded IHello to the far end over this (open) session,
 * asking it to answer the initiator at reply_address (3.5.1.5). */
void      rtmfp_session_forward_ihello (RtmfpSession * s, const guint8 * epd,
    gsize epd_len, const RtmfpAddr * reply_address, const guint8 * tag,
    gsize tag_len, gint64 now);
/* Keepalive period: a Ping when nothing was received for this long
 * (0 = off).  Also the server-advised timers of RFC 7425 5.3.4 land here. */
void      rtmfp_session_set_keepalive (RtmfpSession * s, gint64 period_us);
/* Close when nothing at all was received from the far end for this long,
 * keepalives notwithstanding (dead peer detection); 0 = never. */
void      rtmfp_session_set_idle_timeout (RtmfpSession * s, gint64 timeout_us);
/* The congestion controller (RtmfpEndpointConfig.congestion_control for
 * new sessions).  Changing it mid-session starts the new controller from
 * the current rate estimate. */
void      rtmfp_session_set_congestion_control (RtmfpSession * s,
    RtmfpCongestionControl cc);
RtmfpCongestionControl rtmfp_session_get_congestion_control (const
    RtmfpSession * s);
/* Dead peer detection from unacknowledged data (see
 * RtmfpEndpointConfig.dead_peer_timeout_us); 0 = off. */
#define RTMFP_SESSION_MIN_DEAD_PEER_US (500 * G_TIME_SPAN_MILLISECOND)
void      rtmfp_session_set_dead_peer_timeout (RtmfpSession * s,
    gint64 timeout_us);
/* Sends a Ping now (RTT probe) */
void      rtmfp_session_ping (RtmfpSession * s, gint64 now);
/* Orderly close (3.5.5): S_NEARCLOSE, Close Request until acked.  Leaving
 * S_OPEN aborts every flow at once (queued data is dropped): to finish
 * flows first, close them and wait for completion. */
void      rtmfp_session_close (RtmfpSession * s, gint64 now);
/* Abrupt close: Close Ack sent, S_CLOSED at once. */
void      rtmfp_session_abort (RtmfpSession * s, gint64 now);
/* Orderly close that lets what was written arrive: closes every sending
 * flow still open (their last message then carries FIN), and closes the
 * session (rtmfp_session_close) once every sending flow is complete
 * (3.6.2.11: all acknowledged or abandoned), or after max_wait_us,
 * whichever comes first.  Only in S_OPEN; nothing else changes until
 * then (new flows may still be opened and written). */
void      rtmfp_session_close_when_drained (RtmfpSession * s,
    gint64 max_wait_us, gint64 now);
/* Between rtmfp_session_close_when_drained and the close it leads to */
gboolean  rtmfp_session_is_draining (const RtmfpSession * s);

G_END_DECLS
