/* RTMFP core: sending and receiving flows, RFC 7016 sections 3.6.2, 3.6.3
 *
 * A flow knows nothing of packets beyond the chunks it emits and consumes.
 * The session drives it: it hands the flow room in a packet being built,
 * feeds it received User Data and acknowledgements, and tells it the time.
 * Times are monotonic microseconds (gint64), as everywhere in the core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfppacket.h"

G_BEGIN_DECLS

#define RTMFP_F_COMPLETE_LINGER_US  (130 * G_TIME_SPAN_SECOND)
#define RTMFP_RF_COMPLETE_LINGER_US (120 * G_TIME_SPAN_SECOND)
#define RTMFP_DEFAULT_RX_BUFFER_SIZE 65536
#define RTMFP_MAX_METADATA_SIZE 512
#define RTMFP_NO_DEADLINE G_MAXINT64

/* ======================= sending flow (3.6.2) ======================= */

typedef enum {
  RTMFP_SEND_FLOW_OPEN,
  RTMFP_SEND_FLOW_CLOSING,
  RTMFP_SEND_FLOW_COMPLETE_LINGER,
  RTMFP_SEND_FLOW_CLOSED,
} RtmfpSendFlowState;

typedef struct _RtmfpSendFlow RtmfpSendFlow;

/* Flags for rtmfp_send_flow_write */
#define RTMFP_WRITE_TIME_CRITICAL 0x01  /* set the TC packet flag (3.5.2.1) */

typedef struct {
  guint64 messages_queued;
  guint64 messages_abandoned;     /* abandoned before fully acknowledged */
  guint64 bytes_queued;
  guint64 fragments_sent;         /* first transmissions */
  guint64 fragments_retransmitted;
  guint64 fragments_lost;         /* declared lost by NAK or timeout */
  guint64 bytes_acked;
  /* appended.  Of fragments_lost, those the receiver turned out to have
   * (acknowledged before their retransmission, or sooner after it than a
   * round trip) */
  guint64 fragments_lost_spurious;
  /* Of fragments_lost, those a TIMEOUT_ALARM declared (everything in
   * flight, 3.6.2.6: also what only lost its acknowledgement) */
  guint64 fragments_lost_timeout;
} RtmfpSendFlowStats;

/* metadata: the User's Per-Flow Metadata (copied, may be empty, at most
 * RTMFP_MAX_METADATA_SIZE bytes).
 * has_assoc/assoc_flow_id: the Return Flow Association, i.e. the ID of the
 * RECEIVING flow this flow answers. */
RtmfpSendFlow *rtmfp_send_flow_new (guint64 flow_id, const guint8 * metadata,
    gsize metadata_len, gboolean has_assoc, guint64 assoc_flow_id);
void      rtmfp_send_flow_free (RtmfpSendFlow * f);
guint64   rtmfp_send_flow_get_id (const RtmfpSendFlow * f);
RtmfpSendFlowState rtmfp_send_flow_get_state (const RtmfpSendFlow * f);
const guint8 *rtmfp_send_flow_get_metadata (const RtmfpSendFlow * f, gsize * len);
void      rtmfp_send_flow_get_stats (const RtmfpSendFlow * f,
    RtmfpSendFlowStats * stats);

/* Largest fragment payload the flow cuts messages into (default fits one
 * 1200-byte class packet with room for acks).  Clamped so that a fragment
 * with a maximal packet header, User Data header and this flow's startup
 * options always fits an empty RTMFP_MAX_PLAIN_SIZE packet; 0 restores the
 * default.  Applies to messages written afterwards. */
void      rtmfp_send_flow_set_fragment_size (RtmfpSendFlow * f, gsize size);

/* Queues one message.  deadline: absolute time after which the message is
 * abandoned if not yet fully acknowledged (RTMFP_NO_DEADLINE = reliable).
 * Returns FALSE if the flow is not F_OPEN (closed or got an exception). */
gboolean  rtmfp_send_flow_write (RtmfpSendFlow * f, const guint8 * data,
    gsize len, gint64 deadline, guint flags);
/* The same with the message in bytes, which the flow keeps a reference
 * to instead of a copy (bytes are immutable): a relay hands one message to
 * all its players without a copy per player. */
gboolean  rtmfp_send_flow_write_bytes (RtmfpSendFlow * f, GBytes * bytes,
    gint64 deadline, guint flags);
/* Abandons every queued message (e.g. on an application flush) */
void      rtmfp_send_flow_abandon_all (RtmfpSendFlow * f);
/* Orderly close (3.6.2.11): what is queued is still delivered. */
void      rtmfp_send_flow_close (RtmfpSendFlow * f);
/* Bytes of unacknowledged message data held (for backpressure) */
gsize     rtmfp_send_flow_get_queued_bytes (const RtmfpSendFlow * f);
/* F_OUTSTANDING_BYTES: in flight */
guint64   rtmfp_send_flow_get_outstanding_bytes (const RtmfpSendFlow * f);
/* Exception code received from the far end, if any */
gboolean  rtmfp_send_flow_get_exception (const RtmfpSendFlow * f, guint64 * code);

/* Applies message deadlines at `now` (3.6.2.7); returns how many messages
 * were newly abandoned.  Call it when next_timeout() is reached (emit()
 * also calls it): is_ready() does not expire anything. */
guint     rtmfp_send_flow_expire (RtmfpSendFlow * f, gint64 now);
/* Earliest time anything in the flow needs attention (a deadline, the
 * buffer probe, the linger end), or RTMFP_NO_DEADLINE. */
gint64    rtmfp_send_flow_next_timeout (const RtmfpSendFlow * f);
/* Does the flow have something to put in a packet now (eligible data
 * within the far end's advertised window, or a due Buffer Probe)? */
gboolean  rtmfp_send_flow_is_ready (const RtmfpSendFlow * f, gint64 now);

typedef struct {
  guint64 next_tsn;             /* in/out: session transmission seq (3.6.2.5) */
  guint64 bytes_sent;           /* out: += user data bytes put in flight */
  gboolean time_critical;       /* out: |= a TIME_CRITICAL fragment was sent */
  gboolean any_user_data;       /* out: |= a User Data chunk was added */
  guint64 budget;               /* in/out: bytes congestion allows; emit
                                 * stops when this is exhausted */
  guint new_fragments;          /* out: += fragments sent for the first time */
} RtmfpEmitContext;

/* Adds as many User Data / Next User Data chunks (and a due Buffer Probe)
 * as fit into b and the budget, per 3.6.2.3.  Startup options travel with
 * the first chunk of the flow in each packet until acknowledged.  Returns
 * TRUE if anything was added. */
gboolean  rtmfp_send_flow_emit (RtmfpSendFlow * f, RtmfpPacketBuilder * b,
    RtmfpEmitContext * ctx, gint64 now);

/* Loss probe (RFC 8985 section 7.3): re-sends the fragment most recently
 * put in flight (it stays in flight, as a retransmission with a new TSN),
 * whatever the budget.  FALSE if nothing is in flight or it does not fit.
 * get_tail_tsn: the TSN of that fragment, 0 if none. */
gboolean  rtmfp_send_flow_emit_tail (RtmfpSendFlow * f,
    RtmfpPacketBuilder * b, RtmfpEmitContext * ctx, gint64 now);
guint64   rtmfp_send_flow_get_tail_tsn (const RtmfpSendFlow * f);

typedef struct {
  guint64 acked_bytes;          /* out: += newly acknowledged bytes */
  guint64 max_tsn_acked;        /* in/out: MAX_TSN_ACK (3.6.2.5) */
  gboolean any_nak;             /* out */
  gboolean any_loss;            /* out */
  guint64 max_lost_tsn;         /* out: MAX= TSN of fragments declared lost
                                 * (loss episodes, rtmfpcongestion.c) */
  guint64 lost_bytes;           /* out: += transmit sizes declared lost */
  gboolean any_spurious;        /* out: |= an acknowledgement showed a
                                 * fragment declared lost had arrived */
  /* Loss probes: a probe re-sends the last fragment in flight; whether the
   * first transmission was lost is decided by the session: it was not if
   * fragments sent before the probe and never re-sent are acknowledged
   * with it (then only acknowledgements were lost). */
  gint64 probe_time;            /* in: the last probe's time, -1 none */
  guint64 probe_acked;          /* out: += probe-re-sent fragments acked */
  guint64 probe_acked_bytes;    /* out: += their transmit sizes */
  guint64 probe_lost_tsn;       /* out: MAX= their first TSNs */
  gboolean old_acked;           /* out: |= a fragment sent before probe_time
                                 * and never re-sent was acknowledged */
  guint64 timeout_ambiguous;    /* out: += fragments a TIMEOUT_ALARM declared
                                 * lost, retransmitted since and now
                                 * acknowledged (spurious if the timeout
                                 * was, which the session decides) */
  /* in: an acknowledgement arriving less than this after a fragment's
   * retransmission is taken for one of an earlier transmission (0: off;
   * the session passes 3/4 of its minimum RTT) */
  gint64 rtt_floor_us;
  /* in: reordering window of time-based loss detection (0: off): a
   * fragment sent this much earlier than one of its flow that was
   * acknowledged is lost (RFC 8985 section 6.2) */
  gint64 reo_wnd_us;
} RtmfpAckContext;

/* Processes one acknowledgement for this flow (3.6.2.4).  Besides the
 * entries in flight, entries already declared lost that the receiver
 * reports having are removed too (they are not counted as acked bytes). */
void      rtmfp_send_flow_on_ack (RtmfpSendFlow * f, const RtmfpAckChunk * ack,
    RtmfpAckContext * ctx, gint64 now);
/* After all acks of a packet: NAK counting and loss (3.6.2.5) */
void      rtmfp_send_flow_on_acks_done (RtmfpSendFlow * f, RtmfpAckContext * ctx);
/* TIMEOUT_ALARM fired (3.6.2.6): everything in flight is lost; returns
 * TRUE if anything was in flight. */
gboolean  rtmfp_send_flow_on_timeout (RtmfpSendFlow * f);
/* Flow Exception Report received (3.6.2.10) */
void      rtmfp_send_flow_on_exception (RtmfpSendFlow * f, guint64 code);
/* F_COMPLETE_LINGER reached, to be moved to F_CLOSED at `now` + linger */
gboolean  rtmfp_send_flow_is_complete (const RtmfpSendFlow * f);
/* Advances linger timers; returns TRUE when the flow reached F_CLOSED and
 * can be freed (its ID may then be reused). */
gboolean  rtmfp_send_flow_tick (RtmfpSendFlow * f, gint64 now);

/* ====================== receiving flow (3.6.3) ====================== */

typedef enum {
  RTMFP_RECV_FLOW_OPEN,
  RTMFP_RECV_FLOW_REJECTED,
  RTMFP_RECV_FLOW_COMPLETE_LINGER,
  RTMFP_RECV_FLOW_CLOSED,
} RtmfpRecvFlowState;

typedef struct _RtmfpRecvFlow RtmfpRecvFlow;

typedef struct {
  guint64 messages_delivered;
  guint64 bytes_delivered;
  guint64 sequence_gaps;          /* sequence numbers skipped (abandoned/lost) */
  guint64 duplicates;
  guint64 fragments_received;
  guint64 fragments_dropped;      /* malformed, or refused to bound memory */
} RtmfpRecvFlowStats;

/* A complete message.  gap: how many sequence numbers were skipped
 * (abandoned by the sender, never to arrive) between the previous delivered
 * message and this one; 0 for a clean continuation.  The data is only
 * valid during the call.  The callback must not free the flow. */
typedef void (*RtmfpRecvFlowMessageFunc) (RtmfpRecvFlow * f,
    const guint8 * data, gsize len, guint64 gap, gpointer user_data);
/* All messages up to the final one were delivered (flow finished) */
typedef void (*RtmfpRecvFlowCompleteFunc) (RtmfpRecvFlow * f,
    gpointer user_data);

/* Created on the first User Data of a new flow ID; metadata copied. */
RtmfpRecvFlow *rtmfp_recv_flow_new (guint64 flow_id, const guint8 * metadata,
    gsize metadata_len, gboolean has_assoc, guint64 assoc_flow_id);
void      rtmfp_recv_flow_free (RtmfpRecvFlow * f);
guint64   rtmfp_recv_flow_get_id (const RtmfpRecvFlow * f);
RtmfpRecvFlowState rtmfp_recv_flow_get_state (const RtmfpRecvFlow * f);
const guint8 *rtmfp_recv_flow_get_metadata (const RtmfpRecvFlow * f, gsize * len);
/* Return Flow Association: the SENDING flow of ours it answers */
gboolean  rtmfp_recv_flow_get_association (const RtmfpRecvFlow * f,
    guint64 * send_flow_id);
void      rtmfp_recv_flow_get_stats (const RtmfpRecvFlow * f,
    RtmfpRecvFlowStats * stats);

/* arrival_order: deliver each complete message as soon as it is complete
 * (network arrival order, RXI=1 in the Flash profile) instead of in
 * sequence order. */
void      rtmfp_recv_flow_set_delivery (RtmfpRecvFlow * f,
    gboolean arrival_order, RtmfpRecvFlowMessageFunc on_message,
    RtmfpRecvFlowCompleteFunc on_complete, gpointer user_data);
/* Receive buffer capacity in bytes (advertised window), default
 * RTMFP_DEFAULT_RECV_BUFFER_CAPACITY.  It also bounds memory: out-of-order
 * data is buffered up to one packet's worth beyond it, only the fragment
 * in-order delivery waits for up to twice it; fragments beyond are dropped
 * unacknowledged.  It must be at least the largest message the flow is to
 * receive. */
#define RTMFP_DEFAULT_RECV_BUFFER_CAPACITY (256 * 1024)
void      rtmfp_recv_flow_set_buffer_capacity (RtmfpRecvFlow * f, gsize bytes);
/* BUFFERED_SIZE: buffered data plus a small per-fragment overhead */
gsize     rtmfp_recv_flow_get_buffered_size (const RtmfpRecvFlow * f);
/* Stop delivering (and let the advertised window close) / resume */
void      rtmfp_recv_flow_set_paused (RtmfpRecvFlow * f, gboolean paused);

/* Processes one User Data / Next User Data chunk (3.6.3.2), delivering
 * what became complete.  *ack_now is set (never cleared) when an immediate
 * ack is due, including for the first chunk of a new flow.  Rejecting for
 * a missing metadata option or a bad association at startup (3.6.3.1
 * steps 5-7) is the session's business; unknown options below 0x2000 are
 * handled here (the flow becomes RF_REJECTED, code 0).  Malformed chunks
 * (seq 0, fsnOffset > seq, fsnOffset 0 without ABN) are dropped. */
void      rtmfp_recv_flow_on_chunk (RtmfpRecvFlow * f,
    const RtmfpUserDataChunk * c, gint64 now, gboolean * ack_now);
/* Buffer Probe received: an ack is due */
void      rtmfp_recv_flow_on_buffer_probe (RtmfpRecvFlow * f);
/* Reject (3.6.3.7): drop data, report the code before every ack.  Sets
 * SHOULD_ACK; the caller sets the session's ACK_NOW. */
void      rtmfp_recv_flow_reject (RtmfpRecvFlow * f, guint64 code);
gboolean  rtmfp_recv_flow_should_ack (const RtmfpRecvFlow * f);
/* The flow's last acknowledgement is worth repeating in a packet that
 * carries acknowledgements anyway (data arrived recently): appending it
 * counts one repeat.  Never a reason to send a packet. */
gboolean  rtmfp_recv_flow_wants_reack (const RtmfpRecvFlow * f);
/* Appends the Flow Exception Report (if rejected) and the acknowledgement
 * chunk(s), at most max_len bytes.  Clears SHOULD_ACK when the whole ack
 * fitted (or when max_len is a whole empty packet, where truncation is
 * final).  Returns bytes appended (0 if nothing fits). */
gsize     rtmfp_recv_flow_append_ack (RtmfpRecvFlow * f, GByteArray * out,
    gsize max_len);
/* Advances linger; TRUE once RF_CLOSED (free it, the ID may be reused).
 * A paused flow holding complete messages stays in RF_COMPLETE_LINGER until
 * they were delivered (3.6.3.8). */
gboolean  rtmfp_recv_flow_tick (RtmfpRecvFlow * f, gint64 now);
gint64    rtmfp_recv_flow_next_timeout (const RtmfpRecvFlow * f);

G_END_DECLS
