/* RTMFP core: the session from S_OPEN on (RFC 7016 sections 3.5, 3.6).
 *
 * The endpoint (rtmfpendpoint.c) runs the handshake and hands an open
 * session decrypted, parsed packets.  Everything else about a session
 * lives here: timestamps and RTT (3.5.2.2), congestion and burst
 * avoidance (3.5.2, 3.5.2.3), acknowledgement timing and packing
 * (3.6.3.4), the TIMEOUT_ALARM (3.6.2.6), flow startup and dispatch
 * (3.6.3.1), ping, keepalive and address mobility (3.5.4), and the close
 * handshake (3.5.5).
 *
 * Re-entrancy: user callbacks (flow_opened, message delivery, writable,
 * exceptions, session_closed...) may call back into the session, even
 * close or abort it.  Every entry point holds a reference and a dispatch
 * depth while it runs; packets are only assembled when the outermost
 * entry point leaves, and flows are never freed while a dispatch is under
 * way (flows of a session that left S_OPEN are kept, closed, until the
 * session itself is freed, so user pointers to them stay valid).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-session"

#include <string.h>

#include "rtmfpsessionpriv.h"
#include "rtmfpcongestion.h"
#include "rtmfpmediacc.h"
#include "rtmfpcrypto.h"
#include "rtmfpvlu.h"

/* ---- constants (RFC 7016 unless noted) ---- */
#define MS (G_TIME_SPAN_MILLISECOND)
#define SEC (G_TIME_SPAN_SECOND)

#define ERTO_INITIAL (3 * SEC)          /* 3.5.2.2 */
#define ERTO_MIN (250 * MS)
#define ERTO_MAX (10 * SEC)
#define MRTO_INITIAL (250 * MS)
#define MRTO_ACK_DELAY (200 * MS)
#define TS_ECHO_MAX_AGE (128 * SEC)
#define TS_TICK (4 * MS)                /* 250 Hz timestamp clock, 2.2.4 */
#define DELACK_DELAY (200 * MS)         /* 3.6.3.4.1 */
#define BURST_LIMIT 6                   /* 3.5.2.3 */
#define MOB_PROBE_INTERVAL (1 * SEC)    /* 3.5.4.2 */
#define MOB_REPLY_MAX_AGE (120 * SEC)
#define CLOSE_RESEND (5 * SEC)          /* 3.5.5 */
#define NEARCLOSE_MAX (90 * SEC)
#define FARCLOSE_LINGER (19 * SEC)

#define MOB_MARK 'M'
#define MOB_SECRET_SIZE 16
#define MOB_HASH_SIZE 16
#define MOB_MSG_SIZE (1 + 8 + MOB_HASH_SIZE)

/* Hardening limits (the configurable ones are in RtmfpEndpointConfig) */
#define MAX_PENDING_CTRL 32             /* queued control chunks */
#define MAX_REFUSED_PER_PACKET 8        /* flows refused statelessly per
                                         * received packet (answers) */
#define REFUSED_FLOW_WINDOW_BLOCKS 1    /* advertised for a refused flow */
#define MAX_PACKETS_PER_FLUSH 4096

/* Loss recovery beyond RFC 7016 (rtmfpflow.c, RFC 8985) */
#define PTO_MIN (10 * MS)               /* probe timeout floor */
#define PROBE_PACKETS 2                 /* per probe timeout (RFC 9002 6.2.4) */
#define PTO_MAX_DOUBLINGS 8
/* MEDIA pacing: a burst of this many full packets may go at once */
#define PACE_BURST_PACKETS 2
/* Dead peer: after an ICMP port unreachable for the far address, this
 * many TIMEOUT_ALARMs in a row with data unacknowledged are enough (the
 * retransmissions were tried and drew no answer) */
#define DEAD_PEER_TIMEOUTS_UNREACHABLE 2

#define NO_TIME G_MININT64
/* the delivery rate's interval (stats.delivery_rate_bps, app_limited) */
#define DELIVERY_INTERVAL (500 * MS)

/* ---- per-endpoint tracker of received time-critical data (TCR) ----
 *
 * 2.2.4: TCR "indicates that the sender is currently receiving packets on
 * OTHER sessions that have the timeCritical flag set".  The endpoint
 * tracks what we send (note_tc_sent), so the receive side is tracked here:
 * the most recent session that received TC and the most recent different
 * one, per endpoint.  Session pointers are only compared, never
 * dereferenced; a session clears itself out when freed. */
typedef struct {
  gconstpointer a;
  gint64 ta;
  gconstpointer b;
  gint64 tb;
} TcRxTracker;

static GMutex tc_lock;
static GHashTable *tc_trackers; /* RtmfpEndpoint* -> TcRxTracker* */

static void
tc_rx_note (RtmfpEndpoint * ep, gconstpointer s, gint64 now)
{
  TcRxTracker *t;

  g_mutex_lock (&tc_lock);
  if (!tc_trackers)
    tc_trackers = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  t = g_hash_table_lookup (tc_trackers, ep);
  if (!t) {
    t = g_new0 (TcRxTracker, 1);
    t->ta = t->tb = NO_TIME;
    g_hash_table_insert (tc_trackers, ep, t);
  }
  if (t->a != s) {
    t->b = t->a;
    t->tb = t->ta;
    t->a = s;
  }
  t->ta = now;
  g_mutex_unlock (&tc_lock);
}

/* TC received on a session other than s within the window? */
static gboolean
tc_rx_on_other_session (RtmfpEndpoint * ep, gconstpointer s, gint64 now)
{
  TcRxTracker *t;
  gboolean ret = FALSE;

  g_mutex_lock (&tc_lock);
  t = tc_trackers ? g_hash_table_lookup (tc_trackers, ep) : NULL;
  if (t) {
    gint64 last = (t->a != s) ? t->ta : t->tb;
    gconstpointer who = (t->a != s) ? t->a : t->b;
    ret = who != NULL && last != NO_TIME && now - last < RTMFP_TC_WINDOW_US;
  }
  g_mutex_unlock (&tc_lock);
  return ret;
}

static void
tc_rx_forget (RtmfpEndpoint * ep, gconstpointer s)
{
  TcRxTracker *t;

  g_mutex_lock (&tc_lock);
  t = tc_trackers ? g_hash_table_lookup (tc_trackers, ep) : NULL;
  if (t) {
    if (t->a == s) {
      t->a = t->b;
      t->ta = t->tb;
      t->b = NULL;
      t->tb = NO_TIME;
    } else if (t->b == s) {
      t->b = NULL;
      t->tb = NO_TIME;
    }
    if (!t->a && !t->b)
      g_hash_table_remove (tc_trackers, ep);
  }
  g_mutex_unlock (&tc_lock);
}

/* ---- session ---- */

typedef struct {
  RtmfpSendFlow *flow;
  guint64 id;
  gboolean above_high;          /* queued bytes went past the high mark */
} SendEntry;

typedef struct {
  RtmfpRecvFlow *flow;
  guint64 id;
  guint ack_gen;                /* flush generation of its last ack */
} RecvEntry;

/* A new receiving flow refused past max_recv_flows_per_session: nothing
 * is allocated for it, it is only answered (see session_refuse_flow) */
typedef struct {
  guint64 id;
  guint64 max_seq;              /* highest sequence number seen in the packet */
} RefusedFlow;

struct _RtmfpSession {
  gint ref_count;
  RtmfpEndpoint *ep;            /* not owned; NULL once detached */
  gboolean initiator;
  RtmfpSessionState state;
  GError *error;
  gpointer user_data;
  GDestroyNotify user_destroy;

  guint32 near_id;
  guint32 far_id;
  RtmfpAddr dest;               /* DESTADDR */
  RtmfpCipher *cipher;
  guint8 *far_cert;
  gsize far_cert_len;
  gboolean has_fingerprint;
  guint8 far_fingerprint[RTMFP_FINGERPRINT_SIZE];
  gboolean has_nonces;
  guint8 near_nonce[RTMFP_SHA256_SIZE];
  guint8 far_nonce[RTMFP_SHA256_SIZE];

  /* 3.5.2.2 timestamps and RTT */
  gboolean ts_rx_valid;
  guint16 ts_rx;
  gint64 ts_rx_time;
  gboolean ts_echo_tx_valid;
  guint16 ts_echo_tx;
  gboolean ts_echo_rx_valid;
  guint16 ts_echo_rx;
  gint64 srtt;                  /* -1: no value */
  gint64 min_rtt;               /* -1: no value; windowed minimum */
  gint64 min_rtt_time;          /* when min_rtt was measured */
  gint64 rttvar;
  gint64 mrto;
  gint64 erto;

  /* congestion (3.5.2, Appendix A; or the opt-in media controller) */
  RtmfpCongestionControl cc_kind;
  RtmfpCongestion cc;           /* TCP */
  RtmfpMediaCc mcc;             /* MEDIA */
  gint64 pace_time;             /* MEDIA: no data packet before this */
  gboolean pace_blocked;        /* data is waiting for pace_time */
  gboolean window_limited;      /* data waited for the window since the
                                 * last packet with acknowledgements */
  gint64 last_flush;
  gint64 pkt_rtt;               /* RTT sample of the packet being received */
  gint64 last_rtt;              /* the latest RTT sample, -1 none */
  /* delivery rate: user data acknowledged per DELIVERY_INTERVAL,
   * averaged with the previous interval (for the rate estimate) */
  gint64 dr_start;
  guint64 dr_bytes;
  gdouble delivery_bps;
  guint dr_acks, dr_limited_acks;       /* ack batches, and those after data
                                         * waited for the controller */
  gboolean dr_limited;          /* the last interval was held back */
  /* Spurious timeout undo (F-RTO, RFC 5682; Eifel response, RFC 4015):
   * the controller as it was before the last TIMEOUT_ALARM, restored if
   * the first acknowledgement after it shows that what it declared lost
   * had arrived (only acknowledgements were lost or late) */
  gboolean rto_undo;
  RtmfpCongestion cc_before_rto;
  RtmfpMediaCc mcc_before_rto;
  gint64 last_tcr_rx;
  gint64 last_tc_tx;
  guint data_packet_count;      /* 3.5.2.3 burst avoidance */
  gint64 timeout_alarm;         /* TIMEOUT_ALARM, -1 unset */
  /* loss probes (RFC 8985 section 7, RFC 9002 section 6.2): when nothing
   * was acknowledged for a probe timeout while data is in flight, up to two
   * packets go out whatever the window, so that the acknowledgement they
   * draw reveals a lost tail long before TIMEOUT_ALARM; they repeat every
   * probe timeout, which doubles with every TIMEOUT_ALARM, until an
   * acknowledgement arrives */
  gint64 tlp_alarm;             /* -1 unset */
  gboolean tlp_lone;            /* tlp_alarm armed with the lone-packet
                                 * (delayed ack) allowance */
  guint pto_count;              /* doublings of the probe timeout: one per
                                 * TIMEOUT_ALARM since the last ack */
  guint probe_packets;          /* to send with the next flush */
  gboolean last_tx_new;         /* the last data packet had new fragments */
  gint64 last_probe;            /* time of the last probe, -1 none since
                                 * the last acknowledgement of data */
  guint64 next_tsn;
  guint64 max_tsn_ack;

  /* acknowledgements (3.6.3.4) */
  gboolean ack_now;
  guint rx_data_packets;
  gint64 delack_alarm;          /* -1 unset */
  guint flush_gen;

  /* flows */
  GPtrArray *send_flows;        /* SendEntry*, in creation order */
  GHashTable *send_by_id;       /* &id -> SendEntry* */
  GHashTable *send_by_ptr;      /* RtmfpSendFlow* -> SendEntry* */
  GPtrArray *recv_flows;        /* RecvEntry* */
  GHashTable *recv_by_id;
  GHashTable *recv_by_ptr;
  GPtrArray *dead_send;         /* flows of a session no longer open */
  GPtrArray *dead_recv;
  guint rr_next;                /* round robin position */
  guint64 next_flow_id;
  GArray *refused;              /* RefusedFlow, of the packet being received */

  /* hostile-peer limits, from the endpoint configuration */
  guint max_recv_flows;
  gsize recv_flow_capacity;
  gsize max_send_queue;

  /* control chunks waiting for the next packet to DESTADDR */
  GQueue ctrl;                  /* GBytes*: whole chunks */

  /* keepalive and dead peer detection (3.5.4.1) */
  gint64 keepalive_period;
  gint64 idle_timeout;
  /* dead peer from unacknowledged data (RtmfpEndpointConfig) */
  gint64 dead_peer_timeout;     /* 0 off */
  gint64 unacked_since;         /* user data sent and no ack since, -1 */
  guint consecutive_timeouts;   /* TIMEOUT_ALARMs with loss, no ack since */
  gint64 unreach_time;          /* ICMP port unreachable noted, -1 none */
  gint64 last_rx;
  gboolean ka_outstanding;
  gint64 ka_ping_tx;

  /* mobility (3.5.4.2) */
  guint8 mob_secret[MOB_SECRET_SIZE];
  gint64 mob_tx_ts;
  gint64 mob_rx_ts;
  gboolean mob_pending;
  RtmfpAddr mob_pending_addr;

  /* close (3.5.5) */
  gint64 drain_deadline;        /* close_when_drained, NO_TIME unset */
  gint64 close_start;
  gint64 next_close_tx;
  gint64 farclose_start;
  gboolean closed_notified;

  /* dispatch / re-entrancy */
  guint depth;
  gboolean flush_pending;
  gint64 last_handled;

  /* statistics */
  RtmfpSessionStats stats;      /* counters kept here; the rest computed */
  guint64 gone_retransmitted;   /* of send flows already freed */
  guint64 gone_lost;
  guint64 gone_lost_spurious;
  guint64 gone_lost_timeout;
  guint64 timeout_spurious;     /* spurious losses found at session level */
  guint64 probe_losses;         /* losses repaired by loss probes */
  guint64 gone_abandoned;
};

static void session_flush (RtmfpSession * s, gint64 now);
static void session_set_closed (RtmfpSession * s, GError * error);

GQuark
rtmfp_session_error_quark (void)
{
  return g_quark_from_static_string ("rtmfp-session-error-quark");
}

const gchar *
rtmfp_session_state_get_nick (RtmfpSessionState state)
{
  switch (state) {
    case RTMFP_SESSION_IHELLO_SENT:
      return "ihello-sent";
    case RTMFP_SESSION_KEYING_SENT:
      return "keying-sent";
    case RTMFP_SESSION_OPEN:
      return "open";
    case RTMFP_SESSION_NEARCLOSE:
      return "nearclose";
    case RTMFP_SESSION_FARCLOSE_LINGER:
      return "farclose-linger";
    case RTMFP_SESSION_CLOSED:
      return "closed";
    case RTMFP_SESSION_OPEN_FAILED:
      return "open-failed";
  }
  return "unknown";
}

/* ---- small helpers ---- */

static inline guint16
session_ts_now (gint64 now)
{
  return (guint16) (((guint64) MAX (now, 0) / TS_TICK) & 0xffff);
}

static void
min_time (gint64 * t, gint64 v)
{
  if (v < 0 || v == G_MAXINT64)
    return;
  if (*t < 0 || v < *t)
    *t = v;
}

static const RtmfpEndpointCallbacks *
session_callbacks (RtmfpSession * s, gpointer * ud)
{
  *ud = NULL;
  if (!s->ep)
    return NULL;
  return _rtmfp_endpoint_get_callbacks (s->ep, ud);
}

static void
session_enter (RtmfpSession * s)
{
  rtmfp_session_ref (s);
  s->depth++;
}

/* Tells the endpoint that our deadlines may have moved (timer heap) */
static void
session_timer_changed (RtmfpSession * s)
{
  if (s->ep)
    _rtmfp_endpoint_session_timer_changed (s->ep, s);
}

static void session_drain_check (RtmfpSession * s, gint64 now);

static void
session_leave (RtmfpSession * s, gint64 now)
{
  g_assert (s->depth > 0);
  if (s->depth == 1)
    session_drain_check (s, now);
  s->depth--;
  if (s->depth == 0) {
    if (s->flush_pending) {
      s->flush_pending = FALSE;
      session_flush (s, now);
    }
    session_timer_changed (s);
  }
  rtmfp_session_unref (s);
}

/* Assemble packets now, or when the outermost dispatch leaves */
static void
session_request_flush (RtmfpSession * s, gint64 now)
{
  if (s->depth > 0) {
    s->flush_pending = TRUE;
    return;
  }
  session_enter (s);
  session_flush (s, now);
  session_leave (s, now);
}

static guint64
session_outstanding (RtmfpSession * s)
{
  guint64 sum = 0;
  guint i;

  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    sum += rtmfp_send_flow_get_outstanding_bytes (e->flow);
  }
  return sum;
}

static void
session_queue_chunk (RtmfpSession * s, guint8 type, const guint8 * payload,
    gsize len)
{
  GByteArray *a;

  if (g_queue_get_length (&s->ctrl) >= MAX_PENDING_CTRL) {
    g_debug ("control queue full, dropping chunk 0x%02x", type);
    return;
  }
  a = g_byte_array_sized_new (len + RTMFP_CHUNK_HEADER_SIZE);
  rtmfp_chunk_append (a, type, payload, len);
  g_queue_push_tail (&s->ctrl, g_byte_array_free_to_bytes (a));
}

/* ---- flow tables ---- */

static SendEntry *
send_entry_lookup (RtmfpSession * s, guint64 id)
{
  return g_hash_table_lookup (s->send_by_id, &id);
}

static RecvEntry *
recv_entry_lookup (RtmfpSession * s, guint64 id)
{
  return g_hash_table_lookup (s->recv_by_id, &id);
}

static void
send_flow_account_gone (RtmfpSession * s, RtmfpSendFlow * f)
{
  RtmfpSendFlowStats st;

  rtmfp_send_flow_get_stats (f, &st);
  s->gone_retransmitted += st.fragments_retransmitted;
  s->gone_lost += st.fragments_lost;
  s->gone_lost_spurious += st.fragments_lost_spurious;
  s->gone_lost_timeout += st.fragments_lost_timeout;
  s->gone_abandoned += st.messages_abandoned;
}

static void
send_entry_remove (RtmfpSession * s, guint idx)
{
  SendEntry *e = g_ptr_array_index (s->send_flows, idx);

  g_hash_table_remove (s->send_by_id, &e->id);
  g_hash_table_remove (s->send_by_ptr, e->flow);
  g_ptr_array_remove_index (s->send_flows, idx);
  if (s->rr_next > idx)
    s->rr_next--;
  if (s->rr_next >= s->send_flows->len)
    s->rr_next = 0;
  g_free (e);
}

static void
recv_entry_remove (RtmfpSession * s, guint idx)
{
  RecvEntry *e = g_ptr_array_index (s->recv_flows, idx);

  g_hash_table_remove (s->recv_by_id, &e->id);
  g_hash_table_remove (s->recv_by_ptr, e->flow);
  g_ptr_array_remove_index (s->recv_flows, idx);
  g_free (e);
}

/* 3.5.5: leaving S_OPEN aborts every flow.  The flow objects are kept
 * (closed) until the session is freed: the user may still hold them. */
static void
session_abort_flows (RtmfpSession * s)
{
  while (s->send_flows->len > 0) {
    guint idx = s->send_flows->len - 1;
    SendEntry *e = g_ptr_array_index (s->send_flows, idx);
    RtmfpSendFlow *f = e->flow;

    rtmfp_send_flow_abandon_all (f);
    rtmfp_send_flow_close (f);
    send_entry_remove (s, idx);
    g_ptr_array_add (s->dead_send, f);
  }
  while (s->recv_flows->len > 0) {
    guint idx = s->recv_flows->len - 1;
    RecvEntry *e = g_ptr_array_index (s->recv_flows, idx);
    RtmfpRecvFlow *f = e->flow;

    recv_entry_remove (s, idx);
    g_ptr_array_add (s->dead_recv, f);
  }
  s->rr_next = 0;
  s->ack_now = FALSE;
  s->rx_data_packets = 0;
  s->delack_alarm = -1;
  s->timeout_alarm = -1;
  s->tlp_alarm = -1;
  s->probe_packets = 0;
}

/* Frees flows that finished their linger (F_CLOSED / RF_CLOSED) */
static void
session_tick_flows (RtmfpSession * s, gint64 now)
{
  guint i;

  if (s->depth > 1)             /* never under a user callback */
    return;
  for (i = s->send_flows->len; i > 0; i--) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i - 1);
    if (rtmfp_send_flow_tick (e->flow, now)) {
      RtmfpSendFlow *f = e->flow;
      g_debug ("send flow %" G_GUINT64_FORMAT " closed", e->id);
      send_flow_account_gone (s, f);
      send_entry_remove (s, i - 1);
      rtmfp_send_flow_free (f);
    }
  }
  for (i = s->recv_flows->len; i > 0; i--) {
    RecvEntry *e = g_ptr_array_index (s->recv_flows, i - 1);
    if (rtmfp_recv_flow_tick (e->flow, now)) {
      RtmfpRecvFlow *f = e->flow;
      g_debug ("recv flow %" G_GUINT64_FORMAT " closed", e->id);
      recv_entry_remove (s, i - 1);
      rtmfp_recv_flow_free (f);
    }
  }
}

/* 3.6.2.7: message deadlines */
static void
session_expire_flows (RtmfpSession * s, gint64 now)
{
  guint i;

  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    guint n = rtmfp_send_flow_expire (e->flow, now);
    if (n > 0)
      g_debug ("flow %" G_GUINT64_FORMAT ": %u messages expired", e->id, n);
  }
}

/* The low mark: RTMFP_SESSION_FLOW_LOW_WATER, or a quarter of
 * max_send_queue_bytes if that is smaller (so that a flow refused for a
 * small queue limit hears about room) */
static gsize
session_low_water (RtmfpSession * s)
{
  return MIN ((gsize) RTMFP_SESSION_FLOW_LOW_WATER, s->max_send_queue / 4);
}

/* send_flow_writable: queued bytes fell below the low mark after having
 * been above the high mark, or after a write was refused for the queue
 * limit. */
static void
session_check_writable (RtmfpSession * s)
{
  guint i;

  for (i = 0; i < s->send_flows->len && s->state == RTMFP_SESSION_OPEN; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    const RtmfpEndpointCallbacks *cb;
    gpointer ud;

    if (!e->above_high ||
        rtmfp_send_flow_get_state (e->flow) != RTMFP_SEND_FLOW_OPEN ||
        rtmfp_send_flow_get_queued_bytes (e->flow) >=
        session_low_water (s))
      continue;
    e->above_high = FALSE;
    cb = session_callbacks (s, &ud);
    if (cb && cb->send_flow_writable)
      cb->send_flow_writable (s->ep, s, e->flow, ud);
  }
}

/* ---- RTT (3.5.2.2) ---- */

/* The minimum RTT over the last MIN_RTT_WINDOW (a sample older than that
 * is replaced by the next one): the path's propagation delay, for the
 * retransmission ambiguity test (rtmfpflow.c) and the congestion
 * controllers. */
#define MIN_RTT_WINDOW (10 * SEC)

static void
session_rtt_sample (RtmfpSession * s, gint64 rtt, gint64 now)
{
  if (s->min_rtt < 0 || rtt <= s->min_rtt ||
      now - s->min_rtt_time > MIN_RTT_WINDOW) {
    s->min_rtt = rtt;
    s->min_rtt_time = now;
  }
  if (s->srtt >= 0) {
    gint64 delta = ABS (s->srtt - rtt);
    s->rttvar = (3 * s->rttvar + delta) / 4;
    s->srtt = (7 * s->srtt + rtt) / 8;
  } else {
    s->srtt = rtt;
    s->rttvar = rtt / 2;
  }
  s->mrto = s->srtt + 4 * s->rttvar + MRTO_ACK_DELAY;
  s->erto = MAX (s->mrto, ERTO_MIN);
}

/* One packet of new data in flight: the receiver may be delaying its
 * ack (every second packet, 3.6.3.4.1); a retransmission fills a gap,
 * which is acknowledged at once */
static gboolean
session_pto_lone (RtmfpSession * s)
{
  return s->last_tx_new && session_outstanding (s) <= RTMFP_MAX_PLAIN_SIZE;
}

/* Probe timeout (RFC 8985 section 7.2): two smoothed RTTs, or 1.5 SRTT
 * plus the delayed-ack time for a lone packet; -1 before the first RTT
 * sample (then only TIMEOUT_ALARM) */
static gint64
session_pto (RtmfpSession * s)
{
  gint64 pto;

  if (s->srtt < 0)
    return -1;
  pto = MAX (2 * s->srtt, PTO_MIN);
  if (session_pto_lone (s))
    pto = MAX (pto, s->srtt * 3 / 2 + DELACK_DELAY);
  return pto;
}

/* Reordering window of time-based loss detection (RFC 8985 section 6.2:
 * a quarter of the minimum RTT) */
static gint64
session_reo_wnd (RtmfpSession * s)
{
  if (s->min_rtt < 0)
    return 0;
  return MAX (s->min_rtt / 4, MS);
}

static void
session_erto_backoff (RtmfpSession * s)
{
  gint64 b = s->erto / 10000 * 14142 + (s->erto % 10000) * 14142 / 10000;

  s->erto = MAX (MIN (b, ERTO_MAX), s->mrto);
}

/* ---- packet assembly ---- */

/* Packets are built in one buffer per thread (no allocation per packet,
 * no buffer held per idle session); one built while another is in it
 * (re-entrance) gets its own. */
typedef struct {
  GByteArray *buf;
  gboolean busy;
} OutBuf;

static void
out_buf_free (gpointer p)
{
  OutBuf *ob = p;

  g_byte_array_unref (ob->buf);
  g_free (ob);
}

static GPrivate out_buf_key = G_PRIVATE_INIT (out_buf_free);

typedef struct {
  RtmfpPacketBuilder b;
  gboolean echo;
  guint16 echo_value;
  OutBuf *shared;               /* the thread's buffer, if built there */
} OutPacket;

static void
out_packet_begin (RtmfpSession * s, OutPacket * o, gint64 now)
{
  guint8 flags = s->initiator ? RTMFP_MODE_INITIATOR : RTMFP_MODE_RESPONDER;
  guint16 echo = 0;

  flags |= RTMFP_PKT_FLAG_TS;
  o->echo = FALSE;

  /* 3.5.2.2 timestamp echo */
  if (s->ts_rx_valid) {
    gint64 elapsed = now - s->ts_rx_time;
    if (elapsed > TS_ECHO_MAX_AGE || elapsed < 0) {
      s->ts_rx_valid = FALSE;
      s->ts_echo_tx_valid = FALSE;
    } else {
      echo = (guint16) ((s->ts_rx + (guint64) (elapsed / TS_TICK)) & 0xffff);
      if (!s->ts_echo_tx_valid || echo != s->ts_echo_tx) {
        flags |= RTMFP_PKT_FLAG_TSE;
        o->echo = TRUE;
        o->echo_value = echo;
      }
    }
  }

  /* 3.5.2.1 / 2.2.4: we receive time-critical data on another session */
  if (s->ep && tc_rx_on_other_session (s->ep, s, now))
    flags |= RTMFP_PKT_FLAG_TCR;

  o->shared = g_private_get (&out_buf_key);
  if (o->shared == NULL) {
    o->shared = g_new0 (OutBuf, 1);
    o->shared->buf = g_byte_array_sized_new (RTMFP_MAX_PLAIN_SIZE);
    g_private_set (&out_buf_key, o->shared);
  }
  if (!o->shared->busy) {
    o->shared->busy = TRUE;
    rtmfp_packet_builder_init_with (&o->b, o->shared->buf, flags,
        session_ts_now (now), echo, RTMFP_MAX_PLAIN_SIZE);
  } else {
    o->shared = NULL;
    rtmfp_packet_builder_init (&o->b, flags, session_ts_now (now), echo,
        RTMFP_MAX_PLAIN_SIZE);
  }
}

static void
out_packet_release (RtmfpSession * s, OutPacket * o)
{
  if (o->shared)
    o->shared->busy = FALSE;
  o->shared = NULL;
  rtmfp_packet_builder_clear (&o->b);
}

static gsize
out_packet_space (const OutPacket * o)
{
  return o->b.buf->len < o->b.max_size ? o->b.max_size - o->b.buf->len : 0;
}

/* Appends pre-built whole chunk bytes */
static gboolean
out_packet_add_raw (OutPacket * o, GBytes * chunk)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (chunk, &len);

  if (len > out_packet_space (o))
    return FALSE;
  g_byte_array_append (o->b.buf, d, len);
  o->b.n_chunks++;
  return TRUE;
}

/* Transmits and clears the packet */
static void
out_packet_send (RtmfpSession * s, OutPacket * o, const RtmfpAddr * to)
{
  gsize len;
  const guint8 *data = rtmfp_packet_builder_data (&o->b, &len);

  if (o->echo) {
    s->ts_echo_tx = o->echo_value;
    s->ts_echo_tx_valid = TRUE;
  }
  s->stats.packets_sent++;
  /* estimate of the UDP payload: plain + the profile's worst overhead */
  s->stats.bytes_sent += len + (s->cipher ? rtmfp_cipher_overhead (s->cipher)
      : 0);
  if (s->ep && s->cipher)
    _rtmfp_endpoint_transmit (s->ep, s->cipher, s->far_id, data, len, to);
  out_packet_release (s, o);
}

static void
out_packet_discard (RtmfpSession * s, OutPacket * o)
{
  out_packet_release (s, o);
}

/* A packet of whole chunks to `to` (not DESTADDR: mobility probe, ping
 * replies to another source; or an abrupt Close Ack) */
static void
session_send_direct (RtmfpSession * s, const RtmfpAddr * to,
    GPtrArray * chunks, gint64 now)
{
  OutPacket o;
  guint i;

  if (!s->cipher || !s->ep || chunks->len == 0)
    return;
  out_packet_begin (s, &o, now);
  for (i = 0; i < chunks->len; i++) {
    if (!out_packet_add_raw (&o, g_ptr_array_index (chunks, i))) {
      if (o.b.n_chunks > 0) {
        out_packet_send (s, &o, to);
        out_packet_begin (s, &o, now);
      }
      /* a chunk larger than a whole packet is dropped */
      (void) out_packet_add_raw (&o, g_ptr_array_index (chunks, i));
    }
  }
  if (o.b.n_chunks > 0)
    out_packet_send (s, &o, to);
  else
    out_packet_discard (s, &o);
}

/* A packet with just a Session Close Acknowledgement, now (3.5.5) */
static void
session_send_close_ack (RtmfpSession * s, gint64 now)
{
  GPtrArray *chunks =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GByteArray *a = g_byte_array_new ();

  rtmfp_chunk_append (a, RTMFP_CHUNK_SESSION_CLOSE_ACK, NULL, 0);
  g_ptr_array_add (chunks, g_byte_array_free_to_bytes (a));
  session_send_direct (s, &s->dest, chunks, now);
  g_ptr_array_unref (chunks);
}

static gboolean
session_wants_ack (RtmfpSession * s)
{
  guint i;

  for (i = 0; i < s->recv_flows->len; i++) {
    RecvEntry *e = g_ptr_array_index (s->recv_flows, i);
    if (e->ack_gen != s->flush_gen && rtmfp_recv_flow_should_ack (e->flow))
      return TRUE;
  }
  return FALSE;
}

static gboolean
session_any_should_ack (RtmfpSession * s)
{
  guint i;

  for (i = 0; i < s->recv_flows->len; i++) {
    RecvEntry *e = g_ptr_array_index (s->recv_flows, i);
    if (rtmfp_recv_flow_should_ack (e->flow))
      return TRUE;
  }
  return FALSE;
}

/* Appends e's acknowledgement; FALSE if the packet is full */
static gboolean
session_add_ack (RtmfpSession * s, OutPacket * o, RecvEntry * e)
{
  gsize space, n;
  guint before;

  space = out_packet_space (o);
  if (space <= RTMFP_CHUNK_HEADER_SIZE)
    return FALSE;
  before = o->b.buf->len;
  n = rtmfp_recv_flow_append_ack (e->flow, o->b.buf, space);
  if (n == 0 || o->b.buf->len != before + n) {
    g_byte_array_set_size (o->b.buf, before);
    return FALSE;
  }
  o->b.n_chunks++;
  e->ack_gen = s->flush_gen;
  return TRUE;
}

/* 3.6.3.4.5 / 3.6.3.4.6: acknowledgements for every flow that wants one
 * and was not acknowledged yet in this flush, while they fit.  An ack that
 * does not fit whole is truncated (acking less is always safe) and the
 * flow keeps SHOULD_ACK, so the rest goes in a later packet.  Once a
 * packet carries an acknowledgement, the flows whose data arrived
 * recently repeat theirs in it too (rtmfp_recv_flow_wants_reack), after
 * the ones due. */
static void
session_add_acks (RtmfpSession * s, OutPacket * o)
{
  guint i, pass;

  for (pass = 0; pass < 2; pass++) {
    if (pass == 1 && o->b.n_chunks == 0)
      return;
    for (i = 0; i < s->recv_flows->len; i++) {
      RecvEntry *e = g_ptr_array_index (s->recv_flows, i);

      if (e->ack_gen == s->flush_gen)
        continue;
      if (pass == 0 ? !rtmfp_recv_flow_should_ack (e->flow) :
          !rtmfp_recv_flow_wants_reack (e->flow))
        continue;
      if (!session_add_ack (s, o, e))
        return;                 /* packet full */
    }
  }
}

static guint64
session_cwnd (const RtmfpSession * s)
{
  return s->cc_kind == RTMFP_CONGESTION_MEDIA ? s->mcc.cwnd : s->cc.cwnd;
}

/* Transmission of new or retransmitted data allowed now: the burst limit
 * (3.5.2.3), the window (3.5.2) and, with the media controller, pacing. */
static gboolean
session_data_allowed (RtmfpSession * s, guint64 * budget, gint64 now)
{
  guint64 out, cwnd = session_cwnd (s);

  if (s->data_packet_count >= BURST_LIMIT)
    return FALSE;
  out = session_outstanding (s);
  /* held back by the controller (not by the burst limit): the window, or
   * pacing */
  if (out >= cwnd) {
    s->window_limited = TRUE;
    return FALSE;
  }
  if (s->cc_kind == RTMFP_CONGESTION_MEDIA && s->pace_time > now) {
    s->pace_blocked = TRUE;
    s->window_limited = TRUE;
    return FALSE;
  }
  *budget = cwnd - out;
  return TRUE;
}

/* MEDIA: a data packet of len bytes went out; the next waits its time at
 * the pacing rate, with a small burst allowance */
static void
session_pace_sent (RtmfpSession * s, gsize len, gint64 now)
{
  gdouble rate = s->mcc.pacing_rate;
  gint64 pkt, allowance;

  if (s->cc_kind != RTMFP_CONGESTION_MEDIA || rate <= 0)
    return;
  pkt = (gint64) (RTMFP_MAX_PLAIN_SIZE * 8e6 / rate);
  allowance = PACE_BURST_PACKETS * pkt;
  s->pace_time = MAX (s->pace_time, now - allowance) +
      (gint64) (len * 8e6 / rate);
}

static gboolean
session_any_flow_ready (RtmfpSession * s, gint64 now)
{
  guint i;

  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    if (rtmfp_send_flow_is_ready (e->flow, now))
      return TRUE;
  }
  return FALSE;
}

/* Round robin over ready flows, fair per packet: the next packet starts
 * with the flow after the last one that put data in this one. */
static void
session_add_data (RtmfpSession * s, OutPacket * o, RtmfpEmitContext * ctx,
    gint64 now)
{
  guint n = s->send_flows->len, i, last = 0;
  gboolean emitted = FALSE;

  for (i = 0; i < n; i++) {
    guint idx = (s->rr_next + i) % n;
    SendEntry *e = g_ptr_array_index (s->send_flows, idx);

    if (out_packet_space (o) <= RTMFP_CHUNK_HEADER_SIZE || ctx->budget == 0)
      break;
    if (!rtmfp_send_flow_is_ready (e->flow, now))
      continue;
    if (rtmfp_send_flow_emit (e->flow, &o->b, ctx, now)) {
      emitted = TRUE;
      last = idx;
    }
  }
  if (emitted && n > 0)
    s->rr_next = (last + 1) % n;
}

/* The loss probe (RFC 8985 section 7.3): one packet of new data if a flow
 * has some (within its receive window), whatever the congestion window and
 * burst limit; else the fragment most recently put in flight, again. */
static void
session_add_probe (RtmfpSession * s, OutPacket * o, RtmfpEmitContext * ctx,
    gint64 now)
{
  SendEntry *best = NULL;
  guint64 best_tsn = 0;
  guint i;

  ctx->budget = RTMFP_MAX_PLAIN_SIZE;
  if (session_any_flow_ready (s, now)) {
    session_add_data (s, o, ctx, now);
    if (ctx->any_user_data)
      return;
  }
  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    guint64 t = rtmfp_send_flow_get_tail_tsn (e->flow);

    if (t > best_tsn) {
      best_tsn = t;
      best = e;
    }
  }
  if (best)
    rtmfp_send_flow_emit_tail (best->flow, &o->b, ctx, now);
}

/* Builds and sends packets while there is something to send to DESTADDR:
 * control chunks, acknowledgements (ACK_NOW, or piggybacked), user data
 * within the congestion window and burst limit. */
static void
session_flush (RtmfpSession * s, gint64 now)
{
  guint npk;
  gboolean open;

  if (s->state != RTMFP_SESSION_OPEN && s->state != RTMFP_SESSION_NEARCLOSE
      && s->state != RTMFP_SESSION_FARCLOSE_LINGER)
    return;
  if (!s->cipher || !s->ep)
    return;

  open = s->state == RTMFP_SESSION_OPEN;
  s->flush_gen++;
  s->last_flush = now;
  s->pace_blocked = FALSE;
  if (open)
    session_expire_flows (s, now);

  for (npk = 0; npk < MAX_PACKETS_PER_FLUSH; npk++) {
    gboolean want_ctrl = !g_queue_is_empty (&s->ctrl);
    gboolean want_ack = open && s->ack_now && session_wants_ack (s);
    guint64 budget = 0;
    gboolean ready = open && session_any_flow_ready (s, now);
    gboolean want_data = ready && session_data_allowed (s, &budget, now);
    gboolean probe = open && s->probe_packets > 0 && !want_data;
    RtmfpEmitContext ctx;
    OutPacket o;

    if (!want_ctrl && !want_ack && !want_data && !probe)
      break;

    out_packet_begin (s, &o, now);

    /* control chunks first (Close, Close Ack, Ping, Ping Reply, FIHello) */
    while (!g_queue_is_empty (&s->ctrl)) {
      GBytes *c = g_queue_peek_head (&s->ctrl);
      if (!out_packet_add_raw (&o, c)) {
        if (o.b.n_chunks == 0) {
          /* larger than any packet: drop it */
          g_bytes_unref (g_queue_pop_head (&s->ctrl));
          continue;
        }
        break;
      }
      g_bytes_unref (g_queue_pop_head (&s->ctrl));
    }

    /* acknowledgements: obligatory (ACK_NOW) or opportunistic on any
     * packet we send anyway (3.6.3.4.6) */
    if (open)
      session_add_acks (s, &o);

    memset (&ctx, 0, sizeof ctx);
    if (want_data) {
      ctx.next_tsn = s->next_tsn;
      ctx.budget = budget;
      session_add_data (s, &o, &ctx, now);
      s->next_tsn = ctx.next_tsn;
    } else if (probe) {
      ctx.next_tsn = s->next_tsn;
      session_add_probe (s, &o, &ctx, now);
      s->next_tsn = ctx.next_tsn;
    }
    if (probe)
      s->probe_packets--;
    else if (want_data)
      s->probe_packets = 0;     /* the window allows data anyway */

    if (o.b.n_chunks == 0) {
      out_packet_discard (s, &o);
      break;
    }

    if (ctx.time_critical) {
      rtmfp_packet_builder_set_flags (&o.b, RTMFP_PKT_FLAG_TC);
      s->last_tc_tx = now;
      _rtmfp_endpoint_note_tc_sent (s->ep, now);
    }
    if (ctx.any_user_data) {
      /* 3.6.2.6 and 3.5.2.3; a loss probe neither pushes back the
       * TIMEOUT_ALARM (which bounds how long probing goes on before the
       * window collapses and the probes back off) nor counts as a burst */
      s->last_tx_new = ctx.new_fragments > 0;
      if (!probe) {
        s->timeout_alarm = now + s->erto;
        s->data_packet_count++;
        session_pace_sent (s, o.b.buf->len, now);
      } else if (s->timeout_alarm < 0) {
        s->timeout_alarm = now + s->erto;
      }
      if (session_pto (s) > 0) {
        gint64 t = now + (session_pto (s) << s->pto_count);

        if (s->tlp_alarm < 0) {
          s->tlp_alarm = t;
          s->tlp_lone = session_pto_lone (s);
        } else if (s->tlp_lone && !probe && !session_pto_lone (s)) {
          /* the probe was armed while a lone packet was in flight, with
           * room for the receiver's delayed ack (200 ms); a second packet
           * ends that delay (3.6.3.4.1), so the probe is due one PTO
           * after it: a burst that takes a whole frame sent just after a
           * lone audio message is probed two SRTT after the frame, not
           * 1.5 SRTT + 200 ms after the audio (issue 14) */
          s->tlp_alarm = MIN (s->tlp_alarm, t);
          s->tlp_lone = FALSE;
        }
      }
      if (s->unacked_since < 0)
        s->unacked_since = now;
    }
    out_packet_send (s, &o, &s->dest);
  }

  /* 3.6.3.4.5 / 3.6.3.4.6: once no flow is ready to ack, reset; a flow
   * whose ack was truncated is acked again within the delack time */
  if (open) {
    s->ack_now = FALSE;
    if (session_any_should_ack (s)) {
      if (s->delack_alarm < 0)
        s->delack_alarm = now + DELACK_DELAY;
    } else {
      s->rx_data_packets = 0;
      s->delack_alarm = -1;
    }
  }
}

/* ---- mobility (3.5.4.2) ---- */

static void
mob_hash (RtmfpSession * s, const guint8 * msg9, const RtmfpAddr * addr,
    guint8 out[MOB_HASH_SIZE])
{
  GByteArray *a = g_byte_array_new ();
  RtmfpAddr plain = *addr;
  guint8 mac[RTMFP_SHA256_SIZE];

  plain.origin = 0;
  g_byte_array_append (a, msg9, 9);
  rtmfp_addr_append (a, &plain);
  rtmfp_hmac_sha256 (s->mob_secret, sizeof s->mob_secret, a->data, a->len,
      mac);
  memcpy (out, mac, MOB_HASH_SIZE);
  g_byte_array_unref (a);
}

static GBytes *
mob_ping_chunk (RtmfpSession * s, const RtmfpAddr * to, gint64 now)
{
  guint8 msg[MOB_MSG_SIZE];
  GByteArray *a;
  guint64 ts = (guint64) now;
  guint i;

  msg[0] = MOB_MARK;
  for (i = 0; i < 8; i++)
    msg[1 + i] = (guint8) (ts >> (56 - 8 * i));
  mob_hash (s, msg, to, msg + 9);
  a = g_byte_array_new ();
  rtmfp_chunk_append (a, RTMFP_CHUNK_PING, msg, sizeof msg);
  return g_byte_array_free_to_bytes (a);
}

/* A Ping Reply: is it the answer to one of our mobility probes, sent from
 * `from`?  Then DESTADDR moves there. */
static void
mob_on_ping_reply (RtmfpSession * s, const guint8 * d, gsize len,
    const RtmfpAddr * from, gint64 now)
{
  guint8 expect[MOB_HASH_SIZE];
  gint64 ts = 0;
  guint i;

  if (len != MOB_MSG_SIZE || d[0] != MOB_MARK)
    return;
  for (i = 0; i < 8; i++)
    ts = (gint64) (((guint64) ts << 8) | d[1 + i]);
  mob_hash (s, d, from, expect);
  if (!rtmfp_crypto_equal (expect, d + 9, MOB_HASH_SIZE))
    return;
  if (ts > now || now - ts > MOB_REPLY_MAX_AGE || ts <= s->mob_rx_ts)
    return;
  s->mob_rx_ts = ts;
  if (!rtmfp_addr_equal (from, &s->dest)) {
    const RtmfpEndpointCallbacks *cb;
    gpointer ud;
    gchar a[RTMFP_ADDR_STRLEN], b[RTMFP_ADDR_STRLEN];

    g_debug ("session %08x: far end moved %s -> %s", s->near_id,
        rtmfp_addr_to_string (&s->dest, a), rtmfp_addr_to_string (from, b));
    s->dest = *from;
    s->stats.address_changes++;
    if (s->mob_pending && rtmfp_addr_equal (&s->mob_pending_addr, from))
      s->mob_pending = FALSE;
    cb = session_callbacks (s, &ud);
    if (cb && cb->session_address_changed)
      cb->session_address_changed (s->ep, s, ud);
  }
}

static void
mob_probe (RtmfpSession * s, const RtmfpAddr * to, GPtrArray * direct,
    gint64 now)
{
  s->mob_tx_ts = now;
  s->mob_pending = FALSE;
  g_ptr_array_add (direct, mob_ping_chunk (s, to, now));
}

/* ---- receiving ---- */

typedef struct {
  gboolean has_md;
  const guint8 *md;
  gsize md_len;
  gboolean has_assoc;
  guint64 assoc;
  gboolean bad;                 /* must reject: unknown < 0x2000, malformed */
} UdOptions;

static gboolean
ud_option_cb (const RtmfpOption * opt, gpointer user_data)
{
  UdOptions *o = user_data;

  switch (opt->type) {
    case RTMFP_UD_OPT_METADATA:
      if (!o->has_md) {
        o->has_md = TRUE;
        o->md = opt->value;
        o->md_len = opt->len;
      }
      break;
    case RTMFP_UD_OPT_RETURN_ASSOCIATION:{
      guint64 v;
      gsize used;
      /* 2.3.11.1.2: at most one association */
      if (o->has_assoc || !rtmfp_vlu_decode (opt->value, opt->len, &v, &used)
          || used != opt->len)
        o->bad = TRUE;
      else {
        o->has_assoc = TRUE;
        o->assoc = v;
      }
      break;
    }
    default:
      if (opt->type < RTMFP_UD_OPT_MUST_UNDERSTAND_LIMIT)
        o->bad = TRUE;
      break;
  }
  return TRUE;
}

static void
ud_parse_options (const RtmfpUserDataChunk * c, UdOptions * o)
{
  gsize consumed = 0;

  memset (o, 0, sizeof *o);
  if (!(c->flags & RTMFP_UD_FLAG_OPT))
    return;
  if (!c->options || !rtmfp_option_list_parse (c->options, c->options_len,
          ud_option_cb, o, &consumed))
    o->bad = TRUE;
}

/* max_recv_flows_per_session reached: a chunk of a flow that would be
 * new.  Rejecting it the 3.6.3.7 way would take a flow context, the very
 * memory the limit protects; instead it is rejected statelessly: noted
 * here, answered after the packet (session_answer_refused) with a Flow
 * Exception Report (code 0) and an acknowledgement of everything up to
 * the highest sequence number seen (the data is discarded either way),
 * so that an honest sender closes the flow and completes it. */
static void
session_refuse_flow (RtmfpSession * s, const RtmfpUserDataChunk * c)
{
  RefusedFlow r;
  guint i;

  for (i = 0; i < s->refused->len; i++) {
    RefusedFlow *o = &g_array_index (s->refused, RefusedFlow, i);
    if (o->id == c->flow_id) {
      if (c->seq < G_MAXUINT64)
        o->max_seq = MAX (o->max_seq, c->seq);
      return;
    }
  }
  s->stats.recv_flows_refused++;
  if (s->ep)
    _rtmfp_endpoint_note_flow_refused (s->ep);
  g_debug ("session %08x: %u receiving flows, flow %" G_GUINT64_FORMAT
      " refused", s->near_id, s->recv_flows->len, c->flow_id);
  if (s->refused->len >= MAX_REFUSED_PER_PACKET)
    return;                     /* its next packet will be answered */
  r.id = c->flow_id;
  r.max_seq = c->seq < G_MAXUINT64 ? c->seq : 0;
  g_array_append_val (s->refused, r);
}

static void
session_answer_refused (RtmfpSession * s)
{
  RtmfpAckChunk *ack;
  guint i;

  if (s->refused->len == 0)
    return;
  ack = g_new0 (RtmfpAckChunk, 1);
  for (i = 0; i < s->refused->len; i++) {
    RefusedFlow *r = &g_array_index (s->refused, RefusedFlow, i);
    GByteArray *a;

    if (g_queue_get_length (&s->ctrl) + 2 > MAX_PENDING_CTRL)
      break;
    /* 3.6.3.4.3: the exception report precedes the ack */
    a = g_byte_array_new ();
    rtmfp_flow_exception_chunk_append (a, r->id, 0);
    g_queue_push_tail (&s->ctrl, g_byte_array_free_to_bytes (a));
    ack->flow_id = r->id;
    ack->buffer_blocks = REFUSED_FLOW_WINDOW_BLOCKS;
    ack->cumulative_ack = r->max_seq;
    ack->n_ranges = 0;
    a = g_byte_array_new ();
    rtmfp_ack_chunk_append (a, ack, G_MAXSIZE);
    g_queue_push_tail (&s->ctrl, g_byte_array_free_to_bytes (a));
  }
  g_free (ack);
  g_array_set_size (s->refused, 0);
}

/* 3.6.3.1 / 3.6.3.2 */
static void
session_on_user_data (RtmfpSession * s, const RtmfpUserDataChunk * c,
    gint64 now)
{
  RecvEntry *e = recv_entry_lookup (s, c->flow_id);
  UdOptions opts;
  gboolean ack_now = FALSE;
  RtmfpRecvFlow *f;

  ud_parse_options (c, &opts);

  if (e && rtmfp_recv_flow_get_state (e->flow) == RTMFP_RECV_FLOW_CLOSED) {
    /* finished its linger: the ID may start a new flow */
    guint idx;
    RtmfpRecvFlow *old = e->flow;
    if (s->depth <= 1 && g_ptr_array_find (s->recv_flows, e, &idx)) {
      recv_entry_remove (s, idx);
      rtmfp_recv_flow_free (old);
    } else
      return;
    e = NULL;
  }

  if (!e) {
    /* 3.6.3.1 startup */
    SendEntry *assoc = NULL;
    gboolean reject;

    if (s->recv_flows->len >= s->max_recv_flows) {
      session_refuse_flow (s, c);
      return;
    }
    f = rtmfp_recv_flow_new (c->flow_id, opts.md,
        opts.has_md ? opts.md_len : 0, opts.has_assoc, opts.assoc);
    /* the user may change it in flow_opened */
    rtmfp_recv_flow_set_buffer_capacity (f, s->recv_flow_capacity);
    e = g_new0 (RecvEntry, 1);
    e->flow = f;
    e->id = c->flow_id;
    g_ptr_array_add (s->recv_flows, e);
    g_hash_table_insert (s->recv_by_id, &e->id, e);
    g_hash_table_insert (s->recv_by_ptr, f, e);

    reject = !opts.has_md || opts.bad;
    if (!reject && opts.has_assoc) {
      assoc = send_entry_lookup (s, opts.assoc);
      if (!assoc ||
          rtmfp_send_flow_get_state (assoc->flow) != RTMFP_SEND_FLOW_OPEN)
        reject = TRUE;
    }
    if (reject) {
      g_debug ("flow %" G_GUINT64_FORMAT " rejected automatically",
          c->flow_id);
      rtmfp_recv_flow_reject (f, 0);
    } else {
      const RtmfpEndpointCallbacks *cb;
      gpointer ud;
      gboolean ok = FALSE;

      cb = session_callbacks (s, &ud);
      if (cb && cb->flow_opened)
        ok = cb->flow_opened (s->ep, s, f, assoc ? assoc->flow : NULL, ud);
      if (s->state != RTMFP_SESSION_OPEN)
        return;
      if (!ok && rtmfp_recv_flow_get_state (f) == RTMFP_RECV_FLOW_OPEN)
        rtmfp_recv_flow_reject (f, 0);
    }
    s->ack_now = TRUE;          /* 3.6.3.1 step 11 */
  } else {
    f = e->flow;
    /* 3.6.3.2 step 4 */
    if (opts.bad && rtmfp_recv_flow_get_state (f) == RTMFP_RECV_FLOW_OPEN)
      rtmfp_recv_flow_reject (f, 0);
  }

  if (rtmfp_recv_flow_get_state (f) != RTMFP_RECV_FLOW_OPEN)
    s->ack_now = TRUE;
  rtmfp_recv_flow_on_chunk (f, c, now, &ack_now);
  if (s->state != RTMFP_SESSION_OPEN)
    return;
  if (ack_now)
    s->ack_now = TRUE;
  else if (!s->ack_now && s->delack_alarm < 0)
    s->delack_alarm = now + DELACK_DELAY;
}

typedef struct {
  gboolean any;
  guint64 pre_outstanding;
  RtmfpAckContext ctx;
} AckState;

static void
session_on_ack (RtmfpSession * s, const RtmfpAckChunk * ack, AckState * st,
    gint64 now)
{
  SendEntry *e;

  if (!st->any) {
    st->any = TRUE;
    st->pre_outstanding = session_outstanding (s);
    memset (&st->ctx, 0, sizeof st->ctx);
    st->ctx.max_tsn_acked = s->max_tsn_ack;
    st->ctx.rtt_floor_us = s->min_rtt > 0 ? s->min_rtt * 3 / 4 : 0;
    st->ctx.reo_wnd_us = session_reo_wnd (s);
    st->ctx.probe_time = s->last_probe;
  }
  s->data_packet_count = 0;     /* 3.5.2.3 */
  e = send_entry_lookup (s, ack->flow_id);
  if (e)
    rtmfp_send_flow_on_ack (e->flow, ack, &st->ctx, now);
}

static void
session_on_acks_done (RtmfpSession * s, AckState * st, gint64 now)
{
  RtmfpCongestionAck ca;
  guint i;

  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    rtmfp_send_flow_on_acks_done (e->flow, &st->ctx);
  }
  s->max_tsn_ack = st->ctx.max_tsn_acked;

  /* a loss probe repaired a loss (RFC 8985 section 7.4), unless what was
   * sent before it is acknowledged too: then only acknowledgements had
   * been lost */
  if (st->ctx.probe_acked > 0 && !st->ctx.old_acked) {
    s->probe_losses += st->ctx.probe_acked;
    st->ctx.any_loss = TRUE;
    st->ctx.lost_bytes += st->ctx.probe_acked_bytes;
    st->ctx.max_lost_tsn = MAX (st->ctx.max_lost_tsn, st->ctx.probe_lost_tsn);
  }
  if (st->ctx.acked_bytes > 0)
    s->last_probe = -1;

  memset (&ca, 0, sizeof ca);
  ca.acked_bytes = st->ctx.acked_bytes;
  ca.pre_ack_outstanding = st->pre_outstanding;
  ca.any_loss = st->ctx.any_loss;
  ca.any_nak = st->ctx.any_nak;
  /* one window reduction per loss episode (rtmfpcongestion.c) */
  ca.lost_tsn = st->ctx.max_lost_tsn;
  ca.next_tsn = s->next_tsn;
  ca.tc_sent = s->last_tc_tx != NO_TIME
      && now - s->last_tc_tx < RTMFP_TC_WINDOW_US;
  ca.fastgrow = !(s->last_tcr_rx != NO_TIME
      && now - s->last_tcr_rx < RTMFP_TC_WINDOW_US)
      && !_rtmfp_endpoint_tc_sent_since (s->ep, now - RTMFP_TC_WINDOW_US);

  /* the first acknowledgement of something after a timeout decides
   * whether the timeout was spurious */
  if (s->rto_undo && (st->ctx.any_spurious || st->ctx.acked_bytes > 0)) {
    s->rto_undo = FALSE;
    if (st->ctx.any_spurious) {
      g_debug ("session %08x: spurious timeout, window restored",
          s->near_id);
      s->cc = s->cc_before_rto;
      s->mcc = s->mcc_before_rto;
      s->stats.spurious_timeouts++;
      /* what it declared lost and was retransmitted meanwhile arrived
       * the first time too */
      s->timeout_spurious += st->ctx.timeout_ambiguous;
    }
  }
  if (s->cc_kind == RTMFP_CONGESTION_MEDIA) {
    RtmfpMediaCcAck ma;

    memset (&ma, 0, sizeof ma);
    ma.acked_bytes = st->ctx.acked_bytes;
    ma.lost_bytes = st->ctx.lost_bytes;
    ma.any_loss = st->ctx.any_loss;
    ma.lost_tsn = st->ctx.max_lost_tsn;
    ma.next_tsn = s->next_tsn;
    ma.rtt_sample = s->pkt_rtt;
    ma.srtt = s->srtt;
    ma.window_limited = s->window_limited;
    ma.yield = !ca.fastgrow && !ca.tc_sent;
    rtmfp_media_cc_on_acks (&s->mcc, &ma, now);
  } else {
    rtmfp_congestion_on_acks (&s->cc, &ca);
  }
  /* delivery rate, and whether the controller held the sender back for
   * most of the interval (a keyframe waiting for a moment is not that) */
  s->dr_bytes += st->ctx.acked_bytes;
  s->dr_acks++;
  if (s->window_limited)
    s->dr_limited_acks++;
  s->window_limited = FALSE;
  if (s->dr_start < 0) {
    s->dr_start = now;
    s->dr_bytes = 0;
    s->dr_acks = s->dr_limited_acks = 0;
  } else if (now - s->dr_start >= DELIVERY_INTERVAL) {
    gdouble r = (gdouble) s->dr_bytes * 8e6 / (gdouble) (now - s->dr_start);

    s->delivery_bps = s->delivery_bps > 0 ? (s->delivery_bps + r) / 2 : r;
    s->dr_limited = s->dr_limited_acks * 2 > s->dr_acks;
    s->dr_start = now;
    s->dr_bytes = 0;
    s->dr_acks = s->dr_limited_acks = 0;
  }

  /* the far end is alive: dead peer detection starts over */
  s->consecutive_timeouts = 0;
  s->unacked_since = session_outstanding (s) > 0 ? now : -1;

  /* 3.6.2.6: push back TIMEOUT_ALARM if armed */
  if (s->timeout_alarm >= 0)
    s->timeout_alarm = now + s->erto;
  /* the loss probe: again one PTO after this acknowledgement, while
   * anything is in flight */
  s->pto_count = 0;
  s->tlp_alarm = -1;
  if (session_pto (s) > 0 && session_outstanding (s) > 0) {
    s->tlp_alarm = now + session_pto (s);
    s->tlp_lone = session_pto_lone (s);
  }
}

static void
session_on_flow_exception (RtmfpSession * s, guint64 flow_id, guint64 code)
{
  SendEntry *e = send_entry_lookup (s, flow_id);
  const RtmfpEndpointCallbacks *cb;
  gpointer ud;
  guint64 old;

  if (!e || rtmfp_send_flow_get_exception (e->flow, &old))
    return;                     /* unknown, or reported already */
  rtmfp_send_flow_on_exception (e->flow, code);
  cb = session_callbacks (s, &ud);
  if (cb && cb->send_flow_exception)
    cb->send_flow_exception (s->ep, s, e->flow, code, ud);
}

/* Far end closed (3.5.5) */
static void
session_on_close_request (RtmfpSession * s, gint64 now)
{
  if (s->state == RTMFP_SESSION_OPEN) {
    s->state = RTMFP_SESSION_FARCLOSE_LINGER;
    s->farclose_start = now;
    session_abort_flows (s);
    g_queue_clear_full (&s->ctrl, (GDestroyNotify) g_bytes_unref);
    if (!s->error)
      s->error = g_error_new_literal (RTMFP_SESSION_ERROR,
          RTMFP_SESSION_ERROR_CLOSED, "Session closed by the far end");
  }
  session_send_close_ack (s, now);
}

void
_rtmfp_session_receive (RtmfpSession * s, const RtmfpPacket * p,
    const RtmfpAddr * from, gsize datagram_len, gint64 now)
{
  RtmfpChunkIter it;
  RtmfpChunk c;
  RtmfpUserDataChunk prev;
  gboolean prev_valid = FALSE;
  gboolean had_user_data = FALSE;
  AckState acks;
  GPtrArray *replies;           /* Ping Replies for this packet */
  RtmfpAckChunk *ack = NULL;

  g_return_if_fail (s != NULL);
  g_return_if_fail (p != NULL);
  g_return_if_fail (from != NULL);

  if (s->state != RTMFP_SESSION_OPEN && s->state != RTMFP_SESSION_NEARCLOSE
      && s->state != RTMFP_SESSION_FARCLOSE_LINGER)
    return;

  session_enter (s);
  memset (&acks, 0, sizeof acks);
  replies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  s->stats.packets_received++;
  s->stats.bytes_received += datagram_len;
  s->last_rx = now;
  s->pkt_rtt = -1;
  s->ka_outstanding = FALSE;

  /* 3.5.2.2 timestamps */
  if (p->flags & RTMFP_PKT_FLAG_TS) {
    if (!s->ts_rx_valid || p->timestamp != s->ts_rx) {
      s->ts_rx = p->timestamp;
      s->ts_rx_time = now;
      s->ts_rx_valid = TRUE;
    }
  }
  if ((p->flags & RTMFP_PKT_FLAG_TSE) &&
      (!s->ts_echo_rx_valid || p->timestamp_echo != s->ts_echo_rx)) {
    guint16 ticks;

    s->ts_echo_rx = p->timestamp_echo;
    s->ts_echo_rx_valid = TRUE;
    ticks = (guint16) (session_ts_now (now) - p->timestamp_echo);
    if (ticks <= 32767) {
      session_rtt_sample (s, (gint64) ticks * TS_TICK, now);
      s->pkt_rtt = (gint64) ticks * TS_TICK;
      s->last_rtt = s->pkt_rtt;
      /* 3.5.2.2 / 3.6.2.6: after an outage the TIMEOUT_ALARM was armed
       * with a backed-off ERTO (up to 10 s); the far end answering again
       * gives a fresh ERTO, and the alarm follows it, so that what was
       * lost is sent again promptly (rather than up to 10 s later) */
      if (s->timeout_alarm > now + s->erto)
        s->timeout_alarm = now + s->erto;
    }
  }
  /* 3.5.2.1 */
  if (p->flags & RTMFP_PKT_FLAG_TC)
    tc_rx_note (s->ep, s, now);
  if (p->flags & RTMFP_PKT_FLAG_TCR)
    s->last_tcr_rx = now;

  rtmfp_chunk_iter_init (&it, p);
  while (rtmfp_chunk_iter_next (&it, &c)) {
    gboolean open = s->state == RTMFP_SESSION_OPEN;

    switch (c.type) {
      case RTMFP_CHUNK_PING:
        /* 3.5.4: answer promptly, to the packet's source */
        if (open && replies->len < MAX_PENDING_CTRL) {
          GByteArray *a = g_byte_array_new ();
          rtmfp_chunk_append (a, RTMFP_CHUNK_PING_REPLY, c.data, c.len);
          g_ptr_array_add (replies, g_byte_array_free_to_bytes (a));
        }
        break;
      case RTMFP_CHUNK_PING_REPLY:
        if (open)
          mob_on_ping_reply (s, c.data, c.len, from, now);
        break;
      case RTMFP_CHUNK_USER_DATA:{
        RtmfpUserDataChunk ud;
        if (!rtmfp_user_data_chunk_parse (c.data, c.len, &ud)) {
          prev_valid = FALSE;
          break;
        }
        prev = ud;
        prev_valid = TRUE;
        if (open) {
          had_user_data = TRUE;
          session_on_user_data (s, &ud, now);
        }
        break;
      }
      case RTMFP_CHUNK_NEXT_USER_DATA:{
        RtmfpUserDataChunk ud;
        if (!prev_valid || prev.seq == G_MAXUINT64 ||
            !rtmfp_next_user_data_chunk_parse (c.data, c.len, &prev, &ud)) {
          prev_valid = FALSE;
          break;
        }
        prev = ud;
        if (open) {
          had_user_data = TRUE;
          session_on_user_data (s, &ud, now);
        }
        break;
      }
      case RTMFP_CHUNK_ACK_BITMAP:
      case RTMFP_CHUNK_ACK_RANGES:{
        gboolean ok;
        if (!open)
          break;
        if (!ack)
          ack = g_new (RtmfpAckChunk, 1);
        ok = c.type == RTMFP_CHUNK_ACK_BITMAP ?
            rtmfp_ack_bitmap_chunk_parse (c.data, c.len, ack) :
            rtmfp_ack_ranges_chunk_parse (c.data, c.len, ack);
        if (ok)
          session_on_ack (s, ack, &acks, now);
        break;
      }
      case RTMFP_CHUNK_BUFFER_PROBE:{
        guint64 id;
        RecvEntry *e;
        if (open && rtmfp_buffer_probe_chunk_parse (c.data, c.len, &id) &&
            (e = recv_entry_lookup (s, id)) != NULL &&
            rtmfp_recv_flow_get_state (e->flow) != RTMFP_RECV_FLOW_CLOSED) {
          rtmfp_recv_flow_on_buffer_probe (e->flow);
          s->ack_now = TRUE;    /* 3.6.3.6 */
        }
        break;
      }
      case RTMFP_CHUNK_FLOW_EXCEPTION:{
        guint64 id, code;
        if (open && rtmfp_flow_exception_chunk_parse (c.data, c.len, &id,
                &code))
          session_on_flow_exception (s, id, code);
        break;
      }
      case RTMFP_CHUNK_SESSION_CLOSE:
        session_on_close_request (s, now);
        break;
      case RTMFP_CHUNK_SESSION_CLOSE_ACK:
        /* 3.5.5: S_OPEN (far abort), S_NEARCLOSE, S_FARCLOSE_LINGER */
        if (s->state == RTMFP_SESSION_OPEN)
          session_set_closed (s, g_error_new_literal (RTMFP_SESSION_ERROR,
                  RTMFP_SESSION_ERROR_CLOSED, "Session aborted by the far end"));
        else
          session_set_closed (s, NULL);
        break;
      case RTMFP_CHUNK_FIHELLO:{
        RtmfpFIHelloChunk fi;
        if (open && s->ep && rtmfp_fihello_chunk_parse (c.data, c.len, &fi))
          _rtmfp_endpoint_handle_fihello (s->ep, s, &fi, now);
        break;
      }
      default:
        /* padding, startup chunks (wrong mode), unknown: ignored */
        break;
    }
    if (s->state == RTMFP_SESSION_CLOSED)
      break;
  }
  g_free (ack);

  if (s->state == RTMFP_SESSION_OPEN) {
    GPtrArray *direct;

    if (acks.any) {
      session_on_acks_done (s, &acks, now);
      session_check_writable (s);
    }
    if (had_user_data && s->state == RTMFP_SESSION_OPEN) {
      /* 3.6.3.2: every second packet with user data is acked at once */
      if (++s->rx_data_packets >= 2)
        s->ack_now = TRUE;
    }

    direct = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    if (s->state == RTMFP_SESSION_OPEN && !rtmfp_addr_equal (from, &s->dest)) {
      /* 3.5.4.2: the far end may have moved; probe the new source */
      if (s->mob_tx_ts == NO_TIME || now - s->mob_tx_ts >= MOB_PROBE_INTERVAL)
        mob_probe (s, from, direct, now);
      else {
        s->mob_pending = TRUE;
        s->mob_pending_addr = *from;
      }
    }
    if (rtmfp_addr_equal (from, &s->dest)) {
      guint i;
      for (i = 0; i < replies->len; i++) {
        if (g_queue_get_length (&s->ctrl) < MAX_PENDING_CTRL)
          g_queue_push_tail (&s->ctrl,
              g_bytes_ref (g_ptr_array_index (replies, i)));
      }
    } else {
      guint i;
      for (i = 0; i < replies->len; i++)
        g_ptr_array_add (direct, g_bytes_ref (g_ptr_array_index (replies, i)));
    }
    if (direct->len > 0 && s->state == RTMFP_SESSION_OPEN)
      session_send_direct (s, from, direct, now);
    g_ptr_array_unref (direct);
    if (s->state == RTMFP_SESSION_OPEN)
      session_answer_refused (s);
  }
  g_array_set_size (s->refused, 0);
  g_ptr_array_unref (replies);

  s->flush_pending = TRUE;
  session_leave (s, now);
}

/* ---- closing ---- */

/* S_CLOSED: flows aborted, the endpoint told exactly once.  error is
 * taken (may be NULL).  Callers hold a reference. */
static void
session_set_closed (RtmfpSession * s, GError * error)
{
  RtmfpEndpoint *ep;

  if (s->state == RTMFP_SESSION_CLOSED ||
      s->state == RTMFP_SESSION_OPEN_FAILED) {
    g_clear_error (&error);
    return;
  }
  if (error && !s->error)
    s->error = error;
  else
    g_clear_error (&error);

  g_debug ("session %08x: %s -> closed", s->near_id,
      rtmfp_session_state_get_nick (s->state));
  session_abort_flows (s);
  g_queue_clear_full (&s->ctrl, (GDestroyNotify) g_bytes_unref);
  s->state = RTMFP_SESSION_CLOSED;
  s->mob_pending = FALSE;

  ep = s->ep;
  if (!s->closed_notified && ep) {
    s->closed_notified = TRUE;
    rtmfp_session_ref (s);
    _rtmfp_endpoint_session_closed (ep, s);
    s->ep = NULL;
    tc_rx_forget (ep, s);
    rtmfp_session_unref (s);
  }
}

/* Abrupt close: Close Ack to the far end, then S_CLOSED */
static void
session_abort_internal (RtmfpSession * s, GError * error, gint64 now)
{
  if (s->state == RTMFP_SESSION_OPEN || s->state == RTMFP_SESSION_NEARCLOSE
      || s->state == RTMFP_SESSION_FARCLOSE_LINGER)
    session_send_close_ack (s, now);
  session_set_closed (s, error);
}

/* ---- life cycle ---- */

RtmfpSession *
_rtmfp_session_new (RtmfpEndpoint * ep, gboolean initiator, gint64 now)
{
  RtmfpSession *s = g_new0 (RtmfpSession, 1);
  const RtmfpEndpointConfig *cfg = ep ? _rtmfp_endpoint_get_config (ep) : NULL;

  s->ref_count = 1;
  s->ep = ep;
  s->initiator = initiator;
  s->state = initiator ? RTMFP_SESSION_IHELLO_SENT :
      RTMFP_SESSION_KEYING_SENT;

  s->srtt = -1;
  s->min_rtt = -1;
  s->rttvar = 0;
  s->mrto = MRTO_INITIAL;
  s->erto = ERTO_INITIAL;
  rtmfp_congestion_init (&s->cc, RTMFP_MAX_PLAIN_SIZE);
  rtmfp_media_cc_init (&s->mcc, RTMFP_MAX_PLAIN_SIZE, now);
  s->cc_kind = cfg ? cfg->congestion_control : RTMFP_CONGESTION_TCP;
  s->pace_time = now;
  s->last_flush = now;
  s->pkt_rtt = -1;
  s->last_rtt = -1;
  s->dr_start = -1;
  s->unacked_since = -1;
  s->unreach_time = -1;
  s->last_tcr_rx = NO_TIME;
  s->last_tc_tx = NO_TIME;
  s->timeout_alarm = -1;
  s->tlp_alarm = -1;
  s->last_probe = -1;
  s->next_tsn = 1;
  s->max_tsn_ack = 0;
  s->delack_alarm = -1;

  s->send_flows = g_ptr_array_new ();
  s->send_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  s->send_by_ptr = g_hash_table_new (NULL, NULL);
  s->recv_flows = g_ptr_array_new ();
  s->recv_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  s->recv_by_ptr = g_hash_table_new (NULL, NULL);
  s->dead_send = g_ptr_array_new_with_free_func ((GDestroyNotify)
      rtmfp_send_flow_free);
  s->dead_recv = g_ptr_array_new_with_free_func ((GDestroyNotify)
      rtmfp_recv_flow_free);
  s->next_flow_id = 1;
  s->refused = g_array_new (FALSE, FALSE, sizeof (RefusedFlow));
  g_queue_init (&s->ctrl);

  s->max_recv_flows = RTMFP_DEFAULT_MAX_RECV_FLOWS_PER_SESSION;
  s->recv_flow_capacity = RTMFP_DEFAULT_RECV_BUFFER_CAPACITY;
  s->max_send_queue = RTMFP_DEFAULT_MAX_SEND_QUEUE_BYTES;
  if (cfg) {
    rtmfp_session_set_keepalive (s, cfg->keepalive_us);
    s->idle_timeout = MAX (cfg->idle_timeout_us, 0);
    s->dead_peer_timeout = MAX (cfg->dead_peer_timeout_us, 0);
    if (cfg->max_recv_flows_per_session > 0)
      s->max_recv_flows = cfg->max_recv_flows_per_session;
    if (cfg->recv_flow_buffer_bytes > 0)
      s->recv_flow_capacity = cfg->recv_flow_buffer_bytes;
    if (cfg->max_send_queue_bytes > 0)
      s->max_send_queue = cfg->max_send_queue_bytes;
  }
  s->last_rx = now;
  s->ka_ping_tx = NO_TIME;
  s->mob_tx_ts = NO_TIME;
  s->mob_rx_ts = NO_TIME;
  rtmfp_random_bytes (s->mob_secret, sizeof s->mob_secret);

  s->drain_deadline = NO_TIME;
  s->close_start = -1;
  s->next_close_tx = -1;
  s->farclose_start = -1;
  s->last_handled = NO_TIME;
  return s;
}

void
_rtmfp_session_set_opening_state (RtmfpSession * s, RtmfpSessionState state)
{
  g_return_if_fail (s != NULL);
  g_return_if_fail (state == RTMFP_SESSION_IHELLO_SENT ||
      state == RTMFP_SESSION_KEYING_SENT);

  if (s->state == RTMFP_SESSION_IHELLO_SENT ||
      s->state == RTMFP_SESSION_KEYING_SENT)
    s->state = state;
}

void
_rtmfp_session_established (RtmfpSession * s, guint32 near_id,
    guint32 far_id, const RtmfpAddr * far_addr, RtmfpCipher * cipher,
    const guint8 * far_cert, gsize far_cert_len, gint64 now)
{
  RtmfpCertInfo info;
  const RtmfpEndpointCallbacks *cb;
  gpointer ud;

  g_return_if_fail (s != NULL);
  g_return_if_fail (far_addr != NULL);
  g_return_if_fail (cipher != NULL);

  if (s->state != RTMFP_SESSION_IHELLO_SENT &&
      s->state != RTMFP_SESSION_KEYING_SENT) {
    rtmfp_cipher_free (cipher);
    g_return_if_reached ();
  }

  s->near_id = near_id;
  s->far_id = far_id;
  s->dest = *far_addr;
  if (s->cipher)
    rtmfp_cipher_free (s->cipher);
  s->cipher = cipher;
  g_free (s->far_cert);
  s->far_cert = far_cert_len ? g_memdup2 (far_cert, far_cert_len) : NULL;
  s->far_cert_len = far_cert_len;
  if (far_cert && far_cert_len && rtmfp_cert_parse (far_cert, far_cert_len,
          &info)) {
    memcpy (s->far_fingerprint, info.fingerprint, RTMFP_FINGERPRINT_SIZE);
    s->has_fingerprint = TRUE;
  } else if (far_cert && far_cert_len) {
    rtmfp_sha256 (far_cert, far_cert_len, s->far_fingerprint);
    s->has_fingerprint = TRUE;
  }

  /* 3.5.2.2: TS_RX_TIME = -infinity, TS_RX / TS_ECHO_TX no value */
  s->ts_rx_valid = FALSE;
  s->ts_echo_tx_valid = FALSE;
  s->ts_echo_rx_valid = FALSE;
  s->last_rx = now;
  s->state = RTMFP_SESSION_OPEN;
  g_debug ("session %08x (far %08x) open, %s", near_id, far_id,
      s->initiator ? "initiator" : "responder");

  session_enter (s);
  cb = session_callbacks (s, &ud);
  if (cb && cb->session_opened)
    cb->session_opened (s->ep, s, ud);
  session_leave (s, now);
}

void
_rtmfp_session_fail (RtmfpSession * s, const GError * error)
{
  const RtmfpEndpointCallbacks *cb;
  gpointer ud;

  g_return_if_fail (s != NULL);

  if (s->state != RTMFP_SESSION_IHELLO_SENT &&
      s->state != RTMFP_SESSION_KEYING_SENT)
    return;
  s->state = RTMFP_SESSION_OPEN_FAILED;
  if (!s->error)
    s->error = error ? g_error_copy (error) :
        g_error_new_literal (RTMFP_SESSION_ERROR, RTMFP_SESSION_ERROR_TIMEOUT,
        "Session open failed");
  rtmfp_session_ref (s);
  s->depth++;
  cb = session_callbacks (s, &ud);
  if (cb && cb->session_open_failed)
    cb->session_open_failed (s->ep, s, ud);
  s->depth--;
  /* finished: detached from the endpoint (which may go away first) */
  s->closed_notified = TRUE;
  s->ep = NULL;
  rtmfp_session_unref (s);
}

guint32
_rtmfp_session_get_near_id (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->near_id;
}

guint32
_rtmfp_session_get_far_id (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->far_id;
}

RtmfpCipher *
_rtmfp_session_get_cipher (RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->state == RTMFP_SESSION_IHELLO_SENT
      || s->state == RTMFP_SESSION_KEYING_SENT ? NULL : s->cipher;
}

void
_rtmfp_session_set_handshake_rtt (RtmfpSession * s, gint64 rtt, gint64 now)
{
  g_return_if_fail (s != NULL);

  /* RFC 6298 section 2 allows the handshake's round trip as the first
   * sample (it replaces ERTO_INITIAL's 3 s before any data was acked) */
  if (rtt > 0 && s->srtt < 0)
    session_rtt_sample (s, rtt, now);
}

gint64
_rtmfp_session_last_tc_sent (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, -1);
  return s->last_tc_tx == NO_TIME ? -1 : s->last_tc_tx;
}

void
_rtmfp_session_destroy (RtmfpSession * s)
{
  g_return_if_fail (s != NULL);

  session_abort_flows (s);
  g_queue_clear_full (&s->ctrl, (GDestroyNotify) g_bytes_unref);
  if (s->ep)
    tc_rx_forget (s->ep, s);
  if (s->state != RTMFP_SESSION_OPEN_FAILED)
    s->state = RTMFP_SESSION_CLOSED;
  s->closed_notified = TRUE;
  s->ep = NULL;
}

RtmfpSession *
rtmfp_session_ref (RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_atomic_int_inc (&s->ref_count);
  return s;
}

void
rtmfp_session_unref (RtmfpSession * s)
{
  g_return_if_fail (s != NULL);

  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;

  session_abort_flows (s);
  g_ptr_array_unref (s->dead_send);
  g_ptr_array_unref (s->dead_recv);
  g_ptr_array_unref (s->send_flows);
  g_ptr_array_unref (s->recv_flows);
  g_hash_table_unref (s->send_by_id);
  g_hash_table_unref (s->send_by_ptr);
  g_hash_table_unref (s->recv_by_id);
  g_hash_table_unref (s->recv_by_ptr);
  g_array_unref (s->refused);
  g_queue_clear_full (&s->ctrl, (GDestroyNotify) g_bytes_unref);
  if (s->ep)
    tc_rx_forget (s->ep, s);
  if (s->cipher)
    rtmfp_cipher_free (s->cipher);
  g_free (s->far_cert);
  g_clear_error (&s->error);
  if (s->user_destroy)
    s->user_destroy (s->user_data);
  g_free (s);
}

/* ---- timers ---- */

/* Dead peer (RtmfpEndpointConfig.dead_peer_timeout_us): when user data
 * has waited dead_peer_timeout for any acknowledgement; a quarter of that
 * (not below RTTMFP_SESSION_MIN_DEAD_PEER_US) after an ICMP port
 * unreachable for the far address that no packet from the far end
 * contradicted since.  -1: not armed. */
static gboolean
session_unreachable_hint (RtmfpSession * s)
{
  return s->unreach_time >= 0 && s->unreach_time > s->last_rx;
}

static gint64
session_dead_peer_due (RtmfpSession * s)
{
  gint64 limit = s->dead_peer_timeout;

  if (limit <= 0 || s->unacked_since < 0)
    return -1;
  if (session_unreachable_hint (s))
    limit = MAX (limit / 4, RTMFP_SESSION_MIN_DEAD_PEER_US);
  return s->unacked_since + limit;
}

/* Evidence enough: unacknowledged for the limit; or, after an ICMP hint,
 * for two TIMEOUT_ALARMs in a row and at least
 * RTMFP_SESSION_MIN_DEAD_PEER_US */
static gboolean
session_peer_dead (RtmfpSession * s, gint64 now)
{
  gint64 due = session_dead_peer_due (s);

  if (due < 0)
    return FALSE;
  if (now >= due)
    return TRUE;
  return session_unreachable_hint (s) &&
      s->consecutive_timeouts >= DEAD_PEER_TIMEOUTS_UNREACHABLE &&
      now - s->unacked_since >= RTMFP_SESSION_MIN_DEAD_PEER_US;
}

static gint64
session_keepalive_due (RtmfpSession * s)
{
  if (s->keepalive_period <= 0)
    return -1;
  if (s->ka_outstanding)
    return s->ka_ping_tx + s->erto;     /* <= 1 per ERTO, 3.5.4.1 */
  return s->last_rx + s->keepalive_period;
}

gint64
_rtmfp_session_next_timeout (RtmfpSession * s)
{
  gint64 t = -1;
  guint i;

  g_return_val_if_fail (s != NULL, -1);

  switch (s->state) {
    case RTMFP_SESSION_OPEN:
      min_time (&t, s->drain_deadline);
      min_time (&t, s->delack_alarm);
      min_time (&t, s->timeout_alarm);
      min_time (&t, s->tlp_alarm);
      min_time (&t, session_dead_peer_due (s));
      if (s->pace_blocked && s->cc_kind == RTMFP_CONGESTION_MEDIA)
        min_time (&t, s->pace_time);
      min_time (&t, session_keepalive_due (s));
      if (s->idle_timeout > 0)
        min_time (&t, s->last_rx + s->idle_timeout);
      if (s->mob_pending && s->mob_tx_ts != NO_TIME)
        min_time (&t, s->mob_tx_ts + MOB_PROBE_INTERVAL);
      for (i = 0; i < s->send_flows->len; i++) {
        SendEntry *e = g_ptr_array_index (s->send_flows, i);
        gint64 v = rtmfp_send_flow_next_timeout (e->flow);
        /* a flow reporting the past again after it was handled must not
         * spin its driver */
        if (v >= 0 && v != G_MAXINT64 && s->last_handled != NO_TIME &&
            v <= s->last_handled)
          v = s->last_handled + MS;
        min_time (&t, v);
      }
      for (i = 0; i < s->recv_flows->len; i++) {
        RecvEntry *e = g_ptr_array_index (s->recv_flows, i);
        gint64 v = rtmfp_recv_flow_next_timeout (e->flow);
        if (v >= 0 && v != G_MAXINT64 && s->last_handled != NO_TIME &&
            v <= s->last_handled)
          v = s->last_handled + MS;
        min_time (&t, v);
      }
      break;
    case RTMFP_SESSION_NEARCLOSE:
      min_time (&t, s->next_close_tx);
      min_time (&t, s->close_start + NEARCLOSE_MAX);
      break;
    case RTMFP_SESSION_FARCLOSE_LINGER:
      min_time (&t, s->farclose_start + FARCLOSE_LINGER);
      break;
    default:
      break;
  }
  return t;
}

void
_rtmfp_session_handle_timeout (RtmfpSession * s, gint64 now)
{
  g_return_if_fail (s != NULL);

  session_enter (s);
  s->last_handled = now;

  switch (s->state) {
    case RTMFP_SESSION_OPEN:
      /* dead peer */
      if (s->idle_timeout > 0 && now - s->last_rx >= s->idle_timeout) {
        g_debug ("session %08x: idle for %" G_GINT64_FORMAT " us", s->near_id,
            now - s->last_rx);
        session_abort_internal (s, g_error_new (RTMFP_SESSION_ERROR,
                RTMFP_SESSION_ERROR_IDLE, "Nothing received from the far end "
                "for %" G_GINT64_FORMAT " ms", (now - s->last_rx) / 1000),
            now);
        break;
      }

      if (session_peer_dead (s, now)) {
        g_debug ("session %08x: user data unacknowledged for %"
            G_GINT64_FORMAT " us, %u timeouts: dead peer", s->near_id,
            now - s->unacked_since, s->consecutive_timeouts);
        s->stats.dead_peer_closes++;
        session_abort_internal (s, g_error_new (RTMFP_SESSION_ERROR,
                RTMFP_SESSION_ERROR_IDLE, "No acknowledgement from the far "
                "end for %" G_GINT64_FORMAT " ms (dead peer)",
                (now - s->unacked_since) / 1000), now);
        break;
      }

      /* 3.6.3.4.4 */
      if (s->delack_alarm >= 0 && now >= s->delack_alarm) {
        s->delack_alarm = -1;
        s->ack_now = TRUE;
      }

      /* loss probe, unless TIMEOUT_ALARM is due as well */
      if (s->tlp_alarm >= 0 && now >= s->tlp_alarm) {
        s->tlp_alarm = -1;
        if (session_outstanding (s) > 0 &&
            (s->timeout_alarm < 0 || now < s->timeout_alarm)) {
          s->probe_packets = PROBE_PACKETS;
          s->stats.loss_probes++;
          s->last_probe = now;
          s->tlp_alarm = now + (session_pto (s) << s->pto_count);
          s->tlp_lone = session_pto_lone (s);
        }
      }

      /* 3.6.2.6 TIMEOUT_ALARM */
      if (s->timeout_alarm >= 0 && now >= s->timeout_alarm) {
        gboolean was_loss = FALSE;
        guint i;

        s->timeout_alarm = -1;
        for (i = 0; i < s->send_flows->len; i++) {
          SendEntry *e = g_ptr_array_index (s->send_flows, i);
          if (rtmfp_send_flow_on_timeout (e->flow))
            was_loss = TRUE;
        }
        if (was_loss) {
          session_erto_backoff (s);
          s->stats.timeouts++;
          /* the probes back off with the timeout */
          if (s->pto_count < PTO_MAX_DOUBLINGS)
            s->pto_count++;
        }
        if (was_loss) {
          s->consecutive_timeouts++;
          if (!s->rto_undo) {
            s->cc_before_rto = s->cc;
            s->mcc_before_rto = s->mcc;
            s->rto_undo = TRUE;
          }
        }
        if (s->cc_kind == RTMFP_CONGESTION_MEDIA)
          rtmfp_media_cc_on_timeout (&s->mcc, was_loss, s->next_tsn, now);
        else
          rtmfp_congestion_on_timeout_tsn (&s->cc, was_loss, s->next_tsn);
        s->data_packet_count = 0;
        g_debug ("session %08x: timeout (loss %d), erto %" G_GINT64_FORMAT,
            s->near_id, was_loss, s->erto);
        if (session_peer_dead (s, now)) {
          s->stats.dead_peer_closes++;
          session_abort_internal (s, g_error_new (RTMFP_SESSION_ERROR,
                  RTMFP_SESSION_ERROR_IDLE, "No acknowledgement from the "
                  "far end for %" G_GINT64_FORMAT " ms, %u timeouts (dead "
                  "peer)", (now - s->unacked_since) / 1000,
                  s->consecutive_timeouts), now);
          break;
        }
      }

      session_expire_flows (s, now);
      session_tick_flows (s, now);

      /* 3.5.4.1 keepalive */
      if (s->keepalive_period > 0) {
        gint64 due = session_keepalive_due (s);
        if (due >= 0 && now >= due) {
          if (s->ka_outstanding)
            session_erto_backoff (s);   /* no reply within ERTO */
          session_queue_chunk (s, RTMFP_CHUNK_PING, NULL, 0);
          s->ka_outstanding = TRUE;
          s->ka_ping_tx = now;
        }
      }

      /* 3.5.4.2 rate-limited mobility probe */
      if (s->mob_pending && s->mob_tx_ts != NO_TIME &&
          now - s->mob_tx_ts >= MOB_PROBE_INTERVAL) {
        GPtrArray *direct =
            g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
        RtmfpAddr to = s->mob_pending_addr;
        mob_probe (s, &to, direct, now);
        session_send_direct (s, &to, direct, now);
        g_ptr_array_unref (direct);
      }

      session_check_writable (s);
      s->flush_pending = TRUE;
      break;

    case RTMFP_SESSION_NEARCLOSE:
      if (now - s->close_start >= NEARCLOSE_MAX) {
        session_set_closed (s, NULL);
        break;
      }
      if (s->next_close_tx >= 0 && now >= s->next_close_tx) {
        session_queue_chunk (s, RTMFP_CHUNK_SESSION_CLOSE, NULL, 0);
        s->next_close_tx = now + CLOSE_RESEND;
        s->flush_pending = TRUE;
      }
      break;

    case RTMFP_SESSION_FARCLOSE_LINGER:
      if (now - s->farclose_start >= FARCLOSE_LINGER)
        session_set_closed (s, NULL);
      break;

    default:
      break;
  }
  session_leave (s, now);
}

/* ---- public API ---- */

RtmfpEndpoint *
rtmfp_session_get_endpoint (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->ep;
}

RtmfpSessionState
rtmfp_session_get_state (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, RTMFP_SESSION_CLOSED);
  return s->state;
}

gboolean
rtmfp_session_is_initiator (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, FALSE);
  return s->initiator;
}

const RtmfpAddr *
rtmfp_session_get_far_address (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return &s->dest;
}

const guint8 *
rtmfp_session_get_far_certificate (const RtmfpSession * s, gsize * len)
{
  g_return_val_if_fail (s != NULL, NULL);
  if (len)
    *len = s->far_cert_len;
  return s->far_cert;
}

const guint8 *
rtmfp_session_get_far_fingerprint (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->has_fingerprint ? s->far_fingerprint : NULL;
}

void
rtmfp_session_get_stats (const RtmfpSession * s, RtmfpSessionStats * stats)
{
  guint i;
  guint64 out = 0, ctl_rate;

  g_return_if_fail (s != NULL);
  g_return_if_fail (stats != NULL);

  *stats = s->stats;
  stats->state = s->state;
  stats->srtt_us = s->srtt;
  stats->rttvar_us = s->rttvar;
  stats->erto_us = s->erto;
  stats->cwnd = session_cwnd (s);
  stats->congestion_control = s->cc_kind;
  stats->min_rtt_us = s->min_rtt;
  stats->app_limited = !s->dr_limited;
  stats->delivery_rate_bps = (guint64) s->delivery_bps;
  if (s->cc_kind == RTMFP_CONGESTION_MEDIA) {
    ctl_rate = (guint64) s->mcc.estimate;
    stats->ssthresh = G_MAXUINT64;
    stats->loss_episodes = s->mcc.reductions;
    stats->queue_delay_us = s->mcc.qdelay;
  } else {
    /* the window per round trip; the RTT the latest sample if that is
     * longer (SRTT lags a queue that builds) */
    gint64 rtt = MAX (s->srtt, s->last_rtt);

    ctl_rate = rtt > 0 ? (guint64) ((gdouble) s->cc.cwnd * 8e6 /
        (gdouble) rtt) : 0;
    stats->ssthresh = s->cc.ssthresh;
    stats->loss_episodes = s->cc.reductions;
    stats->queue_delay_us = s->srtt >= 0 && s->min_rtt >= 0 ?
        MAX (s->srtt - s->min_rtt, 0) : -1;
  }
  stats->rate_estimate_bps = ctl_rate;
  stats->fragments_retransmitted = s->gone_retransmitted;
  stats->fragments_lost = s->gone_lost + s->probe_losses;
  stats->fragments_lost_spurious = s->gone_lost_spurious + s->timeout_spurious;
  stats->fragments_lost_timeout = s->gone_lost_timeout;
  stats->messages_abandoned = s->gone_abandoned;
  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    RtmfpSendFlowStats st;
    rtmfp_send_flow_get_stats (e->flow, &st);
    stats->fragments_retransmitted += st.fragments_retransmitted;
    stats->fragments_lost += st.fragments_lost;
    stats->fragments_lost_spurious += st.fragments_lost_spurious;
    stats->fragments_lost_timeout += st.fragments_lost_timeout;
    stats->messages_abandoned += st.messages_abandoned;
    out += rtmfp_send_flow_get_outstanding_bytes (e->flow);
  }
  for (i = 0; i < s->dead_send->len; i++) {
    RtmfpSendFlowStats st;
    rtmfp_send_flow_get_stats (g_ptr_array_index (s->dead_send, i), &st);
    stats->fragments_retransmitted += st.fragments_retransmitted;
    stats->fragments_lost += st.fragments_lost;
    stats->fragments_lost_spurious += st.fragments_lost_spurious;
    stats->messages_abandoned += st.messages_abandoned;
  }
  stats->bytes_in_flight = out;
  stats->n_send_flows = s->send_flows->len;
  stats->n_recv_flows = s->recv_flows->len;
}

gboolean
rtmfp_session_get_nonces (const RtmfpSession * s, guint8 * near,
    guint8 * far)
{
  g_return_val_if_fail (s != NULL, FALSE);

  if (!s->has_nonces)
    return FALSE;
  if (near)
    memcpy (near, s->near_nonce, RTMFP_SHA256_SIZE);
  if (far)
    memcpy (far, s->far_nonce, RTMFP_SHA256_SIZE);
  return TRUE;
}

void
_rtmfp_session_set_nonces (RtmfpSession * s, const guint8 * near,
    const guint8 * far)
{
  g_return_if_fail (s != NULL && near != NULL && far != NULL);

  memcpy (s->near_nonce, near, RTMFP_SHA256_SIZE);
  memcpy (s->far_nonce, far, RTMFP_SHA256_SIZE);
  s->has_nonces = TRUE;
}

const GError *
rtmfp_session_get_error (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->error;
}

void
rtmfp_session_set_user_data (RtmfpSession * s, gpointer data,
    GDestroyNotify destroy)
{
  gpointer old;
  GDestroyNotify old_destroy;

  g_return_if_fail (s != NULL);
  old = s->user_data;
  old_destroy = s->user_destroy;
  s->user_data = data;
  s->user_destroy = destroy;
  if (old_destroy)
    old_destroy (old);
}

gpointer
rtmfp_session_get_user_data (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->user_data;
}

/* 3.6.2.1: an ID not used by any sending flow still in the table (open,
 * closing or lingering) */
static guint64
session_alloc_flow_id (RtmfpSession * s)
{
  guint guard;

  for (guard = 0; guard < G_MAXUINT; guard++) {
    guint64 id = s->next_flow_id;

    s->next_flow_id = id == G_MAXUINT64 ? 1 : id + 1;
    if (!send_entry_lookup (s, id))
      return id;
  }
  g_assert_not_reached ();
  return 0;
}

RtmfpSendFlow *
rtmfp_session_open_flow (RtmfpSession * s, const guint8 * metadata,
    gsize metadata_len, RtmfpRecvFlow * assoc)
{
  RtmfpSendFlow *f;
  SendEntry *e;
  guint64 assoc_id = 0;

  g_return_val_if_fail (s != NULL, NULL);
  g_return_val_if_fail (metadata != NULL || metadata_len == 0, NULL);

  if (s->state != RTMFP_SESSION_OPEN)
    return NULL;
  if (metadata_len > RTMFP_MAX_METADATA_SIZE)
    return NULL;
  if (assoc) {
    RecvEntry *re = g_hash_table_lookup (s->recv_by_ptr, assoc);
    /* 3.6.2.1: no return flow for a receiving flow that is not RF_OPEN */
    if (!re || rtmfp_recv_flow_get_state (assoc) != RTMFP_RECV_FLOW_OPEN)
      return NULL;
    assoc_id = re->id;
  }

  f = rtmfp_send_flow_new (session_alloc_flow_id (s), metadata, metadata_len,
      assoc != NULL, assoc_id);
  e = g_new0 (SendEntry, 1);
  e->flow = f;
  e->id = rtmfp_send_flow_get_id (f);
  g_ptr_array_add (s->send_flows, e);
  g_hash_table_insert (s->send_by_id, &e->id, e);
  g_hash_table_insert (s->send_by_ptr, f, e);
  g_debug ("session %08x: opened send flow %" G_GUINT64_FORMAT, s->near_id,
      e->id);
  return f;
}

/* Whether a message of len bytes may be queued on f (rtmfp_session_write
 * and _write_bytes); its send entry, or NULL */
static SendEntry *
session_write_check (RtmfpSession * s, RtmfpSendFlow * f, gsize len)
{
  SendEntry *e;

  if (s->state != RTMFP_SESSION_OPEN)
    return NULL;
  e = g_hash_table_lookup (s->send_by_ptr, f);
  if (!e || rtmfp_send_flow_get_state (f) != RTMFP_SEND_FLOW_OPEN)
    return NULL;
  /* max_send_queue_bytes: a far end that does not acknowledge (or does
   * not consume) cannot make us buffer without bound */
  if (len > s->max_send_queue
      || rtmfp_send_flow_get_queued_bytes (f) > s->max_send_queue - len) {
    g_debug ("session %08x: flow %" G_GUINT64_FORMAT ": write of %"
        G_GSIZE_FORMAT " bytes refused, %" G_GSIZE_FORMAT " queued",
        s->near_id, e->id, len, rtmfp_send_flow_get_queued_bytes (f));
    s->stats.writes_refused++;
    e->above_high = TRUE;       /* send_flow_writable once it drains */
    return NULL;
  }
  return e;
}

static void
session_write_done (RtmfpSession * s, RtmfpSendFlow * f, SendEntry * e,
    gint64 now)
{
  if (rtmfp_send_flow_get_queued_bytes (f) >= RTMFP_SESSION_FLOW_HIGH_WATER)
    e->above_high = TRUE;
  session_request_flush (s, now);
}

gboolean
rtmfp_session_write_bytes (RtmfpSession * s, RtmfpSendFlow * f,
    GBytes * bytes, gint64 deadline, guint flags, gint64 now)
{
  SendEntry *e;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);

  e = session_write_check (s, f, g_bytes_get_size (bytes));
  if (!e || !rtmfp_send_flow_write_bytes (f, bytes, deadline, flags))
    return FALSE;
  session_write_done (s, f, e, now);
  return TRUE;
}

gboolean
rtmfp_session_write (RtmfpSession * s, RtmfpSendFlow * f,
    const guint8 * data, gsize len, gint64 deadline, guint flags, gint64 now)
{
  SendEntry *e;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  e = session_write_check (s, f, len);
  if (!e || !rtmfp_send_flow_write (f, data, len, deadline, flags))
    return FALSE;
  session_write_done (s, f, e, now);
  return TRUE;
}

void
rtmfp_session_close_flow (RtmfpSession * s, RtmfpSendFlow * f, gint64 now)
{
  g_return_if_fail (s != NULL);

  if (s->state != RTMFP_SESSION_OPEN ||
      !g_hash_table_lookup (s->send_by_ptr, f))
    return;
  rtmfp_send_flow_close (f);
  session_request_flush (s, now);
}

void
rtmfp_session_reject_flow (RtmfpSession * s, RtmfpRecvFlow * f,
    guint64 code, gint64 now)
{
  g_return_if_fail (s != NULL);

  if (s->state != RTMFP_SESSION_OPEN ||
      !g_hash_table_lookup (s->recv_by_ptr, f))
    return;
  if (rtmfp_recv_flow_get_state (f) != RTMFP_RECV_FLOW_OPEN)
    return;
  rtmfp_recv_flow_reject (f, code);
  s->ack_now = TRUE;            /* 3.6.3.7 */
  session_request_flush (s, now);
}

RtmfpSendFlow *
rtmfp_session_find_send_flow (RtmfpSession * s, guint64 id)
{
  SendEntry *e;

  g_return_val_if_fail (s != NULL, NULL);
  e = send_entry_lookup (s, id);
  return e ? e->flow : NULL;
}

RtmfpRecvFlow *
rtmfp_session_find_recv_flow (RtmfpSession * s, guint64 id)
{
  RecvEntry *e;

  g_return_val_if_fail (s != NULL, NULL);
  e = recv_entry_lookup (s, id);
  return e ? e->flow : NULL;
}

void
rtmfp_session_forward_ihello (RtmfpSession * s, const guint8 * epd,
    gsize epd_len, const RtmfpAddr * reply_address, const guint8 * tag,
    gsize tag_len, gint64 now)
{
  RtmfpFIHelloChunk c;
  GByteArray *a;

  g_return_if_fail (s != NULL);
  g_return_if_fail (epd != NULL || epd_len == 0);
  g_return_if_fail (reply_address != NULL);
  g_return_if_fail (tag != NULL || tag_len == 0);

  if (s->state != RTMFP_SESSION_OPEN)
    return;
  if (g_queue_get_length (&s->ctrl) >= MAX_PENDING_CTRL)
    return;
  memset (&c, 0, sizeof c);
  c.epd = epd;
  c.epd_len = epd_len;
  c.reply_address = *reply_address;
  c.tag = tag;
  c.tag_len = tag_len;
  a = g_byte_array_new ();
  rtmfp_fihello_chunk_append (a, &c);
  if (a->len > RTMFP_MAX_PLAIN_SIZE - RTMFP_PKT_MAX_HEADER_SIZE) {
    g_debug ("FIHello too large (%u bytes), not sent", a->len);
    g_byte_array_unref (a);
    return;
  }
  g_queue_push_tail (&s->ctrl, g_byte_array_free_to_bytes (a));
  session_request_flush (s, now);
}

void
rtmfp_session_set_keepalive (RtmfpSession * s, gint64 period_us)
{
  g_return_if_fail (s != NULL);

  if (period_us <= 0)
    s->keepalive_period = 0;
  else                          /* RFC 7425 5.3.4: a floor of 5 s */
    s->keepalive_period = MAX (period_us, RTMFP_SESSION_MIN_KEEPALIVE_US);
  session_timer_changed (s);
}

void
rtmfp_session_set_congestion_control (RtmfpSession * s,
    RtmfpCongestionControl cc)
{
  g_return_if_fail (s != NULL);
  g_return_if_fail (cc == RTMFP_CONGESTION_TCP ||
      cc == RTMFP_CONGESTION_MEDIA);

  if (s->cc_kind == cc)
    return;
  if (cc == RTMFP_CONGESTION_MEDIA) {
    /* start from what the window carried */
    gdouble seed = s->srtt > 0 ? (gdouble) s->cc.cwnd * 8e6 /
        (gdouble) s->srtt : 0;

    rtmfp_media_cc_init (&s->mcc, RTMFP_MAX_PLAIN_SIZE, s->last_flush);
    rtmfp_media_cc_seed_rate (&s->mcc, seed);
  } else {
    rtmfp_congestion_init (&s->cc, RTMFP_MAX_PLAIN_SIZE);
    if (s->srtt > 0)
      s->cc.cwnd = MAX (s->cc.cwnd_init, (guint64) (s->mcc.rate / 8e6 *
              (gdouble) s->srtt));
  }
  s->cc_kind = cc;
  g_debug ("session %08x: congestion control %s", s->near_id,
      rtmfp_congestion_control_get_nick (cc));
}

RtmfpCongestionControl
rtmfp_session_get_congestion_control (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, RTMFP_CONGESTION_TCP);
  return s->cc_kind;
}

void
rtmfp_session_set_dead_peer_timeout (RtmfpSession * s, gint64 timeout_us)
{
  g_return_if_fail (s != NULL);
  s->dead_peer_timeout = MAX (timeout_us, 0);
  session_timer_changed (s);
}

void
_rtmfp_session_note_unreachable (RtmfpSession * s, gint64 now)
{
  g_return_if_fail (s != NULL);
  if (s->state != RTMFP_SESSION_OPEN)
    return;
  s->unreach_time = now;
  s->stats.icmp_unreachable++;
  g_debug ("session %08x: ICMP port unreachable for the far address",
      s->near_id);
  session_timer_changed (s);
}

void
rtmfp_session_set_idle_timeout (RtmfpSession * s, gint64 timeout_us)
{
  g_return_if_fail (s != NULL);
  s->idle_timeout = MAX (timeout_us, 0);
  session_timer_changed (s);
}

void
rtmfp_session_ping (RtmfpSession * s, gint64 now)
{
  g_return_if_fail (s != NULL);

  if (s->state != RTMFP_SESSION_OPEN)
    return;
  session_queue_chunk (s, RTMFP_CHUNK_PING, NULL, 0);
  session_request_flush (s, now);
}

/* 3.5.5 orderly close of an open session: S_NEARCLOSE */
static void
session_begin_close (RtmfpSession * s, gint64 now)
{
  s->state = RTMFP_SESSION_NEARCLOSE;
  s->drain_deadline = NO_TIME;
  session_abort_flows (s);
  g_queue_clear_full (&s->ctrl, (GDestroyNotify) g_bytes_unref);
  s->close_start = now;
  s->next_close_tx = now + CLOSE_RESEND;
  session_queue_chunk (s, RTMFP_CHUNK_SESSION_CLOSE, NULL, 0);
  s->flush_pending = TRUE;
}

/* close_when_drained: every sending flow complete, or the deadline */
static void
session_drain_check (RtmfpSession * s, gint64 now)
{
  guint i;

  if (s->state != RTMFP_SESSION_OPEN || s->drain_deadline == NO_TIME)
    return;
  if (now < s->drain_deadline) {
    for (i = 0; i < s->send_flows->len; i++) {
      SendEntry *e = g_ptr_array_index (s->send_flows, i);
      if (!rtmfp_send_flow_is_complete (e->flow) &&
          rtmfp_send_flow_get_state (e->flow) != RTMFP_SEND_FLOW_CLOSED)
        return;
    }
  }
  g_debug ("session %08x: %s, closing", s->near_id, now < s->drain_deadline
      ? "sending flows complete" : "drain deadline passed");
  session_begin_close (s, now);
}

void
rtmfp_session_close_when_drained (RtmfpSession * s, gint64 max_wait_us,
    gint64 now)
{
  guint i;

  g_return_if_fail (s != NULL);

  if (s->state != RTMFP_SESSION_OPEN)
    return;
  session_enter (s);
  for (i = 0; i < s->send_flows->len; i++) {
    SendEntry *e = g_ptr_array_index (s->send_flows, i);
    if (rtmfp_send_flow_get_state (e->flow) == RTMFP_SEND_FLOW_OPEN)
      rtmfp_send_flow_close (e->flow);
  }
  s->drain_deadline = now + MAX (max_wait_us, 0);
  s->flush_pending = TRUE;
  session_leave (s, now);
}

gboolean
rtmfp_session_is_draining (const RtmfpSession * s)
{
  g_return_val_if_fail (s != NULL, FALSE);
  return s->state == RTMFP_SESSION_OPEN && s->drain_deadline != NO_TIME;
}

void
rtmfp_session_close (RtmfpSession * s, gint64 now)
{
  g_return_if_fail (s != NULL);

  session_enter (s);
  switch (s->state) {
    case RTMFP_SESSION_OPEN:
      session_begin_close (s, now);
      break;
    case RTMFP_SESSION_IHELLO_SENT:
    case RTMFP_SESSION_KEYING_SENT:
      /* nothing to tell the far end yet */
      session_set_closed (s, g_error_new_literal (RTMFP_SESSION_ERROR,
              RTMFP_SESSION_ERROR_ABORTED, "Session closed while opening"));
      break;
    default:
      break;
  }
  session_leave (s, now);
}

void
rtmfp_session_abort (RtmfpSession * s, gint64 now)
{
  g_return_if_fail (s != NULL);

  session_enter (s);
  if (s->state != RTMFP_SESSION_CLOSED &&
      s->state != RTMFP_SESSION_OPEN_FAILED)
    session_abort_internal (s, g_error_new_literal (RTMFP_SESSION_ERROR,
            RTMFP_SESSION_ERROR_ABORTED, "Session aborted"), now);
  session_leave (s, now);
}
