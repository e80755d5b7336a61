/* RTMFP core: an endpoint (RFC 7016 sections 3.2 - 3.5.1) -- one identity,
 * one (logical) UDP socket, any number of sessions demultiplexed by
 * session ID, the stateless responder, the initiator, redirect and
 * forwarded IHello (introduction).
 *
 * Sans-I/O: datagrams come in through rtmfp_endpoint_receive, go out
 * through the RtmfpSendFunc; the clock is a parameter (monotonic
 * microseconds).  Ask rtmfp_endpoint_next_timeout when to call
 * rtmfp_endpoint_handle_timeout next.  Not thread safe: one thread drives
 * an endpoint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpaddr.h"
#include "rtmfpcrypto.h"
#include "rtmfpsession.h"
#include "rtmfpcongestion.h"

G_BEGIN_DECLS

typedef void (*RtmfpSendFunc) (const guint8 * data, gsize len,
    const RtmfpAddr * to, gpointer user_data);

typedef struct {
  /* A session reached S_OPEN (both roles). */
  void (*session_opened) (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud);
  /* An opening session failed (timeout, keying...); see get_error. */
  void (*session_open_failed) (RtmfpEndpoint * ep, RtmfpSession * s,
      gpointer ud);
  /* An open session reached S_CLOSED (either side closed, idle...). */
  void (*session_closed) (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud);
  /* The far end's address changed (mobility, validated). */
  void (*session_address_changed) (RtmfpEndpoint * ep, RtmfpSession * s,
      gpointer ud);

  /* A far end opened a receiving flow.  assoc: our sending flow it is
   * associated with, or NULL.  Call rtmfp_recv_flow_set_delivery here.
   * Return FALSE to reject it (exception code 0). */
  gboolean (*flow_opened) (RtmfpEndpoint * ep, RtmfpSession * s,
      RtmfpRecvFlow * f, RtmfpSendFlow * assoc, gpointer ud);
  /* A sending flow got a Flow Exception Report (rejected by the far end) */
  void (*send_flow_exception) (RtmfpEndpoint * ep, RtmfpSession * s,
      RtmfpSendFlow * f, guint64 code, gpointer ud);
  /* Room freed up in a sending flow (its queue went below the low mark) */
  void (*send_flow_writable) (RtmfpEndpoint * ep, RtmfpSession * s,
      RtmfpSendFlow * f, gpointer ud);

  /* An IHello (or an FIHello's IHello) whose EPD does not select us.  A
   * server acting as redirector/introducer answers here, using
   * rtmfp_endpoint_send_redirect and rtmfp_session_forward_ihello.  NULL:
   * ignored. */
  void (*ihello_other) (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
      const guint8 * tag, gsize tag_len, const RtmfpAddr * from, gpointer ud);
  /* Incoming session handshake: return FALSE to refuse (no RIKeying is
   * sent).  NULL: accept all.  (Limits live here: e.g. max sessions.) */
  gboolean (*accept_session) (RtmfpEndpoint * ep, const guint8 * far_cert,
      gsize far_cert_len, const RtmfpAddr * from, gpointer ud);
  /* appended.  An IHello (not an FIHello) whose EPD selects us, before
   * anything is answered or kept: return TRUE when the callback answered
   * it itself, e.g. a server above its load sending a Redirect to other
   * servers (rtmfp_endpoint_send_redirect, RFC 7016 3.5.1.4): then no
   * RHello is sent, no keying work is done.  NULL or FALSE: the RHello
   * (if accept_sessions). */
  gboolean (*ihello_ours) (RtmfpEndpoint * ep, const guint8 * epd,
      gsize epd_len, const guint8 * tag, gsize tag_len,
      const RtmfpAddr * from, gpointer ud);
} RtmfpEndpointCallbacks;

typedef struct {
  RtmfpIdentity *identity;      /* borrowed at config time, ref'd by new */
  RtmfpCryptoConfig crypto;
  gboolean accept_sessions;     /* answer IHellos that select us */
  gint64 open_timeout_us;       /* initiator: give up (default 95 s) */
  gint64 keepalive_us;          /* default for new sessions (0 = off) */
  gint64 idle_timeout_us;       /* default for new sessions */
  guint max_sessions;           /* refuse new responder sessions past this */

  /* ---- hostile-peer limits (appended; see rtmfp_endpoint_config_init).
   * Sessions: max_sessions above.  AMF0 nesting depth is the TC layer's
   * (rtmfp_amf_node_parse_with_depth). */

  /* Receiving flows a far end may have per session, in any state (open,
   * rejected, lingering).  A User Data chunk that would start one more is
   * answered with a Flow Exception Report (code 0) and an acknowledgement
   * and nothing is allocated for it (3.6.3.7 without state): an honest
   * sender closes the flow; the session stays up.  0: the default. */
  guint max_recv_flows_per_session;
  /* Bytes held by startup packet reassembly (3.4), endpoint-wide; the
   * oldest reassembly is evicted past it.  A single reassembled packet is
   * also at most this (and at most 64 KiB).  0: the default. */
  gsize max_reassembly_bytes;
  /* BUFFER_CAPACITY of every new receiving flow before flow_opened runs
   * (which may change it with rtmfp_recv_flow_set_buffer_capacity).  A
   * flow never buffers more than about twice its capacity, whatever the
   * far end sends.  0: the default. */
  gsize recv_flow_buffer_bytes;
  /* Unacknowledged message bytes a sending flow may hold:
   * rtmfp_session_write returns FALSE (queuing nothing) when the flow's
   * queued bytes plus the message would exceed it, so a far end that
   * never acknowledges cannot make us buffer without bound.
   * callbacks.send_flow_writable tells when room freed up after such a
   * refusal.  0: the default; G_MAXSIZE: no limit. */
  gsize max_send_queue_bytes;
  /* Anti-amplification before the cookie round trip (3.5.1.1.2): the
   * answers (RHello, Redirect, Cookie Change) to one unauthenticated
   * startup datagram total at most this many times its size on the wire,
   * plus what the endpoint-wide allowance below grants; an answer that
   * does not fit is not sent (Redirect: trimmed to the addresses that
   * fit) and counted in replies_refused.  Answers to an FIHello (an
   * introduction over an open session) are not limited.
   *
   * With the default factor 3 and a server-style ephemeral identity (a
   * 29-byte certificate, 16 bytes of Extra Randomness) every IHello of
   * 36 bytes or more is answered within the factor: 36 bytes is two AES
   * blocks, the shortest any known client sends (a 16-byte tag and a short
   * EPD; Flash Player's is 52, ours are padded to
   * RTMFP_IHELLO_MIN_DATAGRAM_SIZE).  Its RHello is at most 100 bytes.
   * 0: no limit (the RFC 7016 behaviour). */
  guint max_startup_amplification;
  /* appended.  Answers that the factor does not cover (an identity with
   * static keys has a 600-byte certificate: rtmfp-server --identity, a
   * direct publisher) are still sent while this endpoint-wide allowance
   * lasts: a token bucket of this many bytes per second, holding at most
   * one second's worth, charged with what each answer exceeds its
   * datagram's factor budget by (counted in replies_over_factor).  So
   * whatever arrives, unauthenticated answers total at most
   *   max_startup_amplification x (bytes received)
   *     + startup_excess_bytes_per_sec x (1 + seconds elapsed).
   * Default RTMFP_DEFAULT_STARTUP_EXCESS_BYTES_PER_SEC; 0: none (the
   * factor alone). */
  guint startup_excess_bytes_per_sec;

  /* ---- appended: transport policy of new sessions ---- */

  /* The congestion controller of every new session (either role):
   * RTMFP_CONGESTION_TCP (default, RFC 7016 3.5.2) or the opt-in
   * RTMFP_CONGESTION_MEDIA; rtmfp_session_set_congestion_control changes
   * one session's. */
  RtmfpCongestionControl congestion_control;
  /* Dead peer detection from the evidence of unacknowledged data: a
   * session whose user data has waited this long for any
   * acknowledgement (retransmissions and loss probes unanswered) is
   * closed (error IDLE), however recently the far end sent other packets.
   * An ICMP port unreachable for the far address
   * (rtmfp_endpoint_note_unreachable), not contradicted by a packet from
   * the far end since, shortens the wait to two retransmission timeouts
   * in a row or a quarter of the limit, whichever comes first, never
   * below RTMFP_SESSION_MIN_DEAD_PEER_US: a hint, never proof alone.
   * 0: off (the default; the idle timeout still applies).
   * rtmfp_session_set_dead_peer_timeout changes one session's. */
  gint64 dead_peer_timeout_us;
} RtmfpEndpointConfig;

#define RTMFP_DEFAULT_MAX_RECV_FLOWS_PER_SESSION 4096
#define RTMFP_DEFAULT_MAX_REASSEMBLY_BYTES (1024 * 1024)
#define RTMFP_DEFAULT_MAX_SEND_QUEUE_BYTES (16 * 1024 * 1024)
#define RTMFP_DEFAULT_MAX_STARTUP_AMPLIFICATION 3
/* About 25 RHellos of a 600-byte static certificate per second to
 * unpadded IHellos (Flash Player, rtmfp-cpp, librtmfp) */
#define RTMFP_DEFAULT_STARTUP_EXCESS_BYTES_PER_SEC 16384
/* Our IHello datagrams are padded (with 0xff, 2.2.4 padding) to at least
 * this size, so that a responder enforcing a 3x amplification limit still
 * answers with an RHello carrying a certificate of up to about 650 bytes
 * (e.g. static DH keys for groups 14, 5 and 2); and to at least a third
 * of the RHello our own certificate would make, if that is more. */
#define RTMFP_IHELLO_MIN_DATAGRAM_SIZE 244

/* Defaults: no identity (see rtmfp_endpoint_new), crypto defaults,
 * accept_sessions TRUE, open timeout 95 s, keepalive 15 s, idle timeout
 * 120 s, max_sessions 4096 (0 = unlimited), max_recv_flows_per_session
 * 4096, max_reassembly_bytes 1 MiB, recv_flow_buffer_bytes
 * RTMFP_DEFAULT_RECV_BUFFER_CAPACITY (256 KiB), max_send_queue_bytes
 * 16 MiB, max_startup_amplification 3, startup_excess_bytes_per_sec
 * 16384, congestion_control RTMFP_CONGESTION_TCP, dead_peer_timeout_us 0
 * (off). */
void      rtmfp_endpoint_config_init (RtmfpEndpointConfig * cfg);

/* cfg NULL: defaults.  cfg->identity NULL: a fresh client-style identity
 * (static keys for cfg->crypto.groups).  NULL if no identity can be made. */
RtmfpEndpoint *rtmfp_endpoint_new (const RtmfpEndpointConfig * cfg,
    const RtmfpEndpointCallbacks * callbacks, gpointer user_data,
    RtmfpSendFunc send, gpointer send_data);
/* Aborts every session (no callbacks) and frees.  Not from inside one of
 * the endpoint's own callbacks.  Sessions the caller still holds a
 * reference to stay valid objects, in S_CLOSED, detached. */
void      rtmfp_endpoint_free (RtmfpEndpoint * ep);
RtmfpIdentity *rtmfp_endpoint_get_identity (RtmfpEndpoint * ep);
/* A new identity for what starts from now on: the RHellos we send, the
 * EPDs that select us, sessions opened after this call.  Sessions open or
 * opening keep the identity they started with.  (A client falling back
 * to a Flash-shaped certificate, rtmfptcclient.h.) */
void      rtmfp_endpoint_set_identity (RtmfpEndpoint * ep,
    RtmfpIdentity * identity);

/* One received UDP datagram */
void      rtmfp_endpoint_receive (RtmfpEndpoint * ep, const guint8 * data,
    gsize len, const RtmfpAddr * from, gint64 now);
/* Absolute time of the next timer, or -1 if none */
gint64    rtmfp_endpoint_next_timeout (RtmfpEndpoint * ep);
void      rtmfp_endpoint_handle_timeout (RtmfpEndpoint * ep, gint64 now);

/* Initiator (3.5.1.1.1): opens a session to the endpoint selected by epd
 * (see rtmfp_epd_append_*), trying every candidate address.  Returns the
 * new session (owned by the endpoint: ref it to keep it) in
 * S_IHELLO_SENT.  If an open session to that identity exists already it
 * is returned instead. */
RtmfpSession *rtmfp_endpoint_open_session (RtmfpEndpoint * ep,
    const guint8 * epd, gsize epd_len, const RtmfpAddr * candidates,
    guint n_candidates, gint64 now);
/* Options for rtmfp_endpoint_open_session_full; zero them first */
typedef struct {
  /* Pinning: the responder's certificate must have this fingerprint
   * (RTMFP_FINGERPRINT_SIZE bytes) AND carry Static DH Public Keys (RFC
   * 7425 4.3.3.5); keying then uses the static key of the selected group
   * (4.6.1.2, 4.6.1.4), so a responder that replays the certificate
   * without the private key cannot derive the session keys.  An RHello
   * that fails either test fails the opening session at once with
   * RTMFP_SESSION_ERROR_IDENTITY, the message naming the reason (nothing
   * is sent to that responder).  An already open session is reused only
   * if it passes both.  NULL: any responder the EPD selects. */
  const guint8 *pinned_fingerprint;
} RtmfpOpenOptions;

RtmfpSession *rtmfp_endpoint_open_session_full (RtmfpEndpoint * ep,
    const guint8 * epd, gsize epd_len, const RtmfpOpenOptions * opts,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now);
/* More candidates for an opening session (e.g. a late DNS answer) */
void      rtmfp_endpoint_add_candidate (RtmfpEndpoint * ep, RtmfpSession * s,
    const RtmfpAddr * addr, gint64 now);

/* Redirector (3.5.1.4): a Redirect to `to` echoing tag, listing addrs */
void      rtmfp_endpoint_send_redirect (RtmfpEndpoint * ep,
    const RtmfpAddr * to, const guint8 * tag, gsize tag_len,
    const RtmfpAddr * addrs, guint n_addrs);

/* The socket layer saw an ICMP port unreachable (or equivalent) for a
 * datagram sent to `to`: a hint, never proof (it can be spoofed), that
 * shortens dead peer detection of the open sessions sending there
 * (RtmfpEndpointConfig.dead_peer_timeout_us). */
void      rtmfp_endpoint_note_unreachable (RtmfpEndpoint * ep,
    const RtmfpAddr * to, gint64 now);

/* Open session whose far certificate has this fingerprint, or NULL */
RtmfpSession *rtmfp_endpoint_find_session_by_fingerprint (RtmfpEndpoint * ep,
    const guint8 fp[RTMFP_FINGERPRINT_SIZE]);
/* Calls func for every session (any state) */
void      rtmfp_endpoint_foreach_session (RtmfpEndpoint * ep, GFunc func,
    gpointer user_data);
guint     rtmfp_endpoint_get_n_sessions (RtmfpEndpoint * ep);
/* Whether IHellos (and IIKeyings) selecting us are answered from now on
 * (RtmfpEndpointConfig.accept_sessions at creation).  A server that is
 * shutting down turns it off, so clients do not open sessions that are
 * about to go away.  Open sessions are not affected. */
void      rtmfp_endpoint_set_accept_sessions (RtmfpEndpoint * ep,
    gboolean accept);

typedef struct {
  guint64 datagrams_received;
  guint64 datagrams_sent;
  guint64 bytes_received;
  guint64 bytes_sent;
  guint64 dropped_undecodable;  /* bad length, checksum, HMAC */
  guint64 dropped_unknown_session;
  guint64 dropped_malformed;    /* decoded but invalid packet/chunks */
  guint64 ihellos_received;
  guint64 rhellos_sent;
  guint64 redirects_sent;
  guint64 cookies_rejected;
  guint64 sessions_opened;
  guint64 sessions_refused;
  /* appended */
  guint64 dropped_replay;       /* verified, but a replayed or too old SSEQ
                                 * (not counted in dropped_undecodable) */
  guint64 replies_refused;      /* startup answers not sent (or Redirects
                                 * trimmed) by max_startup_amplification */
  guint64 reassembly_evictions; /* reassemblies dropped to respect
                                 * max_reassembly_bytes or the entry cap */
  guint64 recv_flows_refused;   /* new receiving flows refused past
                                 * max_recv_flows_per_session (all sessions) */
  /* appended */
  guint64 replies_over_factor;  /* startup answers sent beyond
                                 * max_startup_amplification, on the
                                 * startup_excess_bytes_per_sec allowance */
  guint64 icmp_unreachable;     /* rtmfp_endpoint_note_unreachable calls */
} RtmfpEndpointStats;

void      rtmfp_endpoint_get_stats (RtmfpEndpoint * ep, RtmfpEndpointStats * st);
/* Packet reassembly buffers currently held (3.4); for tests and
 * monitoring: bounded whatever the input. */
guint     rtmfp_endpoint_get_n_reassemblies (RtmfpEndpoint * ep);
/* Bytes those reassembly buffers hold (<= max_reassembly_bytes) */
gsize     rtmfp_endpoint_get_reassembly_bytes (RtmfpEndpoint * ep);

G_END_DECLS
