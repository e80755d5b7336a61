/* RTMFP core: the contract between the endpoint (rtmfpendpoint.c: startup,
 * handshake, demultiplexing) and the session (rtmfpsession.c: everything
 * from S_OPEN on).  Not installed; only these two files and tests use it.
 *
 * Division of labour:
 * - The endpoint owns sessions (one reference each), their near session
 *   IDs and the handshake state of opening sessions (tags, candidates,
 *   backoff, keying) kept in its own records.  It decrypts every datagram
 *   and hands open sessions parsed plain packets.
 * - The session owns flows, packet assembly, acks, RTT, congestion,
 *   keepalive, mobility and close, and sends through
 *   _rtmfp_endpoint_transmit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "rtmfpendpoint.h"
#include "rtmfppacket.h"

G_BEGIN_DECLS

/* ---- implemented by rtmfpsession.c, called by the endpoint ---- */

/* A new session object in S_IHELLO_SENT (initiator) or, for a responder,
 * created directly by _rtmfp_session_established.  One reference, owned
 * by the caller (the endpoint). */
RtmfpSession *_rtmfp_session_new (RtmfpEndpoint * ep, gboolean initiator,
    gint64 now);
/* Initiator progress: S_IHELLO_SENT -> S_KEYING_SENT */
void      _rtmfp_session_set_opening_state (RtmfpSession * s,
    RtmfpSessionState state);
/* Handshake done: the session becomes S_OPEN, sends with far_session_id
 * to far_addr under `cipher` (taken), and calls callbacks.session_opened.
 * mode: the RTMFP_MODE_INITIATOR/RESPONDER mark of what WE send. */
void      _rtmfp_session_established (RtmfpSession * s, guint32 near_id,
    guint32 far_id, const RtmfpAddr * far_addr, RtmfpCipher * cipher,
    const guint8 * far_cert, gsize far_cert_len, gint64 now);
/* The session nonces (4.6.5), set just before _rtmfp_session_established */
void      _rtmfp_session_set_nonces (RtmfpSession * s, const guint8 * near,
    const guint8 * far);
/* Initiator: the time from the (only) IIKeying to the RIKeying, the first
 * RTT sample (before _rtmfp_session_established) */
void      _rtmfp_session_set_handshake_rtt (RtmfpSession * s, gint64 rtt,
    gint64 now);
/* Opening failed: S_OPEN_FAILED, error copied, callbacks.session_open_failed */
void      _rtmfp_session_fail (RtmfpSession * s, const GError * error);
guint32   _rtmfp_session_get_near_id (const RtmfpSession * s);
guint32   _rtmfp_session_get_far_id (const RtmfpSession * s);
/* The cipher of an open session (NULL before S_OPEN) */
RtmfpCipher *_rtmfp_session_get_cipher (RtmfpSession * s);
/* A decrypted, parsed packet for this session (mode already checked to be
 * the far end's mark), received from `from`. */
void      _rtmfp_session_receive (RtmfpSession * s, const RtmfpPacket * p,
    const RtmfpAddr * from, gsize datagram_len, gint64 now);
/* Session timers (-1 none) */
gint64    _rtmfp_session_next_timeout (RtmfpSession * s);
void      _rtmfp_session_handle_timeout (RtmfpSession * s, gint64 now);
/* An ICMP port unreachable came back for the far address (a hint for
 * dead peer detection, never proof) */
void      _rtmfp_session_note_unreachable (RtmfpSession * s, gint64 now);
/* Endpoint teardown: S_CLOSED without callbacks or packets */
void      _rtmfp_session_destroy (RtmfpSession * s);
/* Last time time-critical data was sent on this session (-1 never) */
gint64    _rtmfp_session_last_tc_sent (const RtmfpSession * s);

/* ---- implemented by rtmfpendpoint.c, called by the session ---- */

const RtmfpEndpointCallbacks *_rtmfp_endpoint_get_callbacks (RtmfpEndpoint * ep,
    gpointer * user_data);
/* The endpoint's configuration, its hostile-peer limits normalised (never
 * 0 where 0 means "the default") */
const RtmfpEndpointConfig *_rtmfp_endpoint_get_config (RtmfpEndpoint * ep);
/* A session refused a new receiving flow (max_recv_flows_per_session) */
void      _rtmfp_endpoint_note_flow_refused (RtmfpEndpoint * ep);
/* Encrypts plain with cipher, scrambles far_session_id, sends to `to`. */
void      _rtmfp_endpoint_transmit (RtmfpEndpoint * ep, RtmfpCipher * cipher,
    guint32 far_session_id, const guint8 * plain, gsize plain_len,
    const RtmfpAddr * to);
/* Any session sent time-critical data since `since` (FASTGROW, App. A) */
gboolean  _rtmfp_endpoint_tc_sent_since (RtmfpEndpoint * ep, gint64 since);
void      _rtmfp_endpoint_note_tc_sent (RtmfpEndpoint * ep, gint64 now);
/* An FIHello chunk arrived on open session s (3.5.1.5 target side) */
void      _rtmfp_endpoint_handle_fihello (RtmfpEndpoint * ep, RtmfpSession * s,
    const RtmfpFIHelloChunk * c, gint64 now);
/* What _rtmfp_session_next_timeout returns may have changed (the session
 * calls this when its outermost entry point returns, and from setters
 * that move a deadline).  The endpoint keeps the sessions in a timer heap
 * and re-keys this one before it next reads the heap.  O(1). */
void      _rtmfp_endpoint_session_timer_changed (RtmfpEndpoint * ep,
    RtmfpSession * s);
/* The session reached S_CLOSED: the endpoint frees its ID and drops its
 * reference after calling callbacks.session_closed. */
void      _rtmfp_endpoint_session_closed (RtmfpEndpoint * ep, RtmfpSession * s);

G_END_DECLS
