/* RTMFP core: sending and receiving flows, RFC 7016 sections 3.6.2, 3.6.3
 *
 * Sending flow: SEND_QUEUE entries are message fragments cut at write time
 * (3.6.2.2).  Every entry belongs to a message record holding the data, the
 * deadline and the time-critical flag; abandoning one fragment abandons the
 * whole message (3.6.2.7).  Transmission, FSN computation and eligibility
 * follow 3.6.2.3 step by step, acknowledgements 3.6.2.4, NAKs 3.6.2.5,
 * timeouts 3.6.2.6, flow control and Buffer Probes 3.6.2.9, exceptions
 * 3.6.2.10 and close 3.6.2.11.
 *
 * Receiving flow: SEQUENCE_SET is kept as sorted disjoint ranges (bounded
 * in number), RECV_BUFFER as a sorted sequence of fragments.  Data
 * processing follows 3.6.3.2, delivery 3.6.3.3, acknowledgement content
 * 3.6.3.4.3 and the advertised window 3.6.3.5.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-flow"

#include <string.h>

#include "rtmfpflow.h"

/* Largest encoded User Data chunk header: chunk header, flags and three
 * 64-bit VLUs (flow ID, sequence number, fsnOffset). */
#define UD_MAX_HEADER_SIZE (RTMFP_CHUNK_HEADER_SIZE + 1 + 3 * RTMFP_VLU_MAX_SIZE)
/* Room left in a full-size data packet for piggybacked acknowledgements
 * once the startup options are no longer sent. */
#define ACK_RESERVE 32
/* Buffer Probe period (3.6.2.9.1): first one within one second of the
 * window closing, then doubling up to one minute. */
#define PROBE_INITIAL_US G_TIME_SPAN_SECOND
#define PROBE_MAX_US (60 * G_TIME_SPAN_SECOND)
/* 3.6.2.5: a fragment is lost after three negative acknowledgements */
#define NAK_LOSS_THRESHOLD 3

/* Receiver: bookkeeping charged per buffered fragment on top of its data
 * (part of BUFFERED_SIZE, 3.6.3: "plus any additional storage overhead").
 * Close to the framing a sender counts in TRANSMIT_SIZE, so that a sender
 * keeping within the window does not overfill the buffer. */
#define RECV_ENTRY_OVERHEAD 16
/* Receiver: what may be buffered past BUFFER_CAPACITY: one packet's worth
 * (a sender may overshoot the window by a chunk, and the advertise-one-
 * block rule of 3.6.3.5 lets a full buffer take one more). */
#define RECV_SLACK (RTMFP_MAX_PLAIN_SIZE + RECV_ENTRY_OVERHEAD)
/* Receiver: most disjoint ranges kept in SEQUENCE_SET: the cumulative one
 * plus what one acknowledgement chunk can report.  A fragment that would
 * create more is dropped unrecorded (the sender will retransmit it). */
#define RECV_MAX_RANGES (RTMFP_ACK_MAX_RANGES + 1)
/* Receiver: after data arrived, the flow's acknowledgement is repeated in
 * this many later packets that carry acknowledgements anyway (never a
 * packet of its own).  3.6.3.4 acks a flow again only when new data
 * arrives for it, so a lost ack of a quiet flow (audio beside video) would
 * leave the sender to NAK or time out fragments that arrived. */
#define RECV_REACK 2

/* ======================= sending flow (3.6.2) ======================= */

typedef struct _SendEntry SendEntry;

typedef struct {
  GList link;                   /* in RtmfpSendFlow.deadline_msgs */
  const guint8 *data;           /* bytes' data; NULL once abandoned */
  GBytes *bytes;                /* the message (shared by a relay's
                                 * players: rtmfp_send_flow_write_bytes) */
  gsize len;
  gint64 deadline;
  gboolean time_critical;
  gboolean abandoned;
  gboolean in_deadline_list;
  guint n_entries;              /* fragments still in SEND_QUEUE */
  SendEntry *head_entry;        /* lowest one of them */
} SendMsg;

struct _SendEntry {
  GList link;                   /* in RtmfpSendFlow.queue */
  GList plink;                  /* in RtmfpSendFlow.pending */
  GList tlink;                  /* in RtmfpSendFlow.flight */
  SendMsg *msg;                 /* NULL for the closing FIN entry */
  guint64 seq;
  gsize offset;                 /* fragment = msg->data[offset, offset+len) */
  gsize len;
  guint8 fra;                   /* RTMFP_UD_FRA_* */
  gboolean abandoned;
  gboolean sent_abandoned;
  gboolean ever_sent;
  gboolean in_flight;
  gboolean pending;             /* in RtmfpSendFlow.pending */
  gboolean declared_lost;       /* the transmission before the latest one
                                 * was declared lost */
  gboolean timeout_lost;        /* ... by a TIMEOUT_ALARM */
  guint nak_count;
  guint64 tsn;
  guint64 prev_tsn;             /* TSN of the transmission before, 0 none */
  gint64 tx_time;               /* of the latest transmission */
  gsize transmit_size;
};

struct _RtmfpSendFlow {
  guint64 id;
  guint8 *metadata;
  gsize metadata_len;
  GByteArray *startup_options;  /* encoded, Marker-terminated */
  gboolean startup_acked;       /* STARTUP_OPTIONS emptied (3.6.2.4) */

  GQueue queue;                 /* SEND_QUEUE of SendEntry, seq ascending */
  /* The entries neither in flight nor abandoned, seq ascending: never sent
   * or declared lost.  With the tail's own rule (see send_flow_special)
   * these are exactly the entries eligible for transmission (3.6.2.3), so
   * emitting and readiness never walk the fragments in flight. */
  GQueue pending;
  GQueue flight;                /* entries in flight, TSN ascending */
  GQueue deadline_msgs;         /* live messages having a deadline */
  gint64 min_deadline;          /* lower bound of their deadlines */

  guint64 outstanding;          /* F_OUTSTANDING_BYTES */
  guint n_in_flight;
  /* Highest TSN of this flow's own fragments acknowledged: a fragment is
   * declared lost by NAKs only below it (see on_acks_done) */
  guint64 max_tsn_acked;
  /* Latest transmission time among this flow's acknowledged fragments
   * (time-based loss detection, see on_acks_done) */
  gint64 max_acked_tx_time;
  guint64 rx_buffer_size;       /* RX_BUFFER_SIZE */
  guint64 next_sn;              /* NEXT_SN */
  gboolean has_final;
  guint64 final_sn;             /* F_FINAL_SN */
  gboolean exception;           /* EXCEPTION */
  gboolean has_exception_code;
  guint64 exception_code;
  RtmfpSendFlowState state;
  gint64 linger_end;

  gsize fragment_size;
  gsize max_fragment_size;
  gsize queued_bytes;

  gint64 probe_due;             /* next Buffer Probe, RTMFP_NO_DEADLINE */
  gint64 probe_interval;        /* period after the next probe */
  gint64 probe_last;            /* last probe sent or window closing */

  GByteArray *scratch;
  RtmfpSendFlowStats stats;
};

static gboolean
send_flow_suspended (const RtmfpSendFlow * f)
{
  /* 3.6.2.9.1 */
  return f->rx_buffer_size == 0 && !f->exception &&
      (f->state == RTMFP_SEND_FLOW_OPEN || f->state == RTMFP_SEND_FLOW_CLOSING);
}

RtmfpSendFlow *
rtmfp_send_flow_new (guint64 flow_id, const guint8 * metadata,
    gsize metadata_len, gboolean has_assoc, guint64 assoc_flow_id)
{
  RtmfpSendFlow *f;

  g_return_val_if_fail (metadata != NULL || metadata_len == 0, NULL);
  g_return_val_if_fail (metadata_len <= RTMFP_MAX_METADATA_SIZE, NULL);

  f = g_new0 (RtmfpSendFlow, 1);
  f->id = flow_id;
  f->metadata = metadata_len ? g_memdup2 (metadata, metadata_len) : NULL;
  f->metadata_len = metadata_len;

  /* 3.6.2.1: STARTUP_OPTIONS = metadata [+ return association] */
  f->startup_options = g_byte_array_new ();
  rtmfp_option_append (f->startup_options, RTMFP_UD_OPT_METADATA, metadata,
      metadata_len);
  if (has_assoc)
    rtmfp_option_append_vlu (f->startup_options,
        RTMFP_UD_OPT_RETURN_ASSOCIATION, assoc_flow_id);
  rtmfp_marker_append (f->startup_options);

  g_queue_init (&f->queue);
  g_queue_init (&f->pending);
  g_queue_init (&f->flight);
  g_queue_init (&f->deadline_msgs);
  f->min_deadline = RTMFP_NO_DEADLINE;
  f->rx_buffer_size = RTMFP_DEFAULT_RX_BUFFER_SIZE;
  f->next_sn = 1;
  f->state = RTMFP_SEND_FLOW_OPEN;
  f->linger_end = RTMFP_NO_DEADLINE;
  f->probe_due = RTMFP_NO_DEADLINE;
  f->probe_interval = PROBE_INITIAL_US;
  f->scratch = g_byte_array_new ();

  /* 3.6.2.2: a fragment with a maximum packet header, User Data header
   * and the startup options must fit in a packet. */
  f->max_fragment_size = RTMFP_MAX_PLAIN_SIZE - RTMFP_PKT_MAX_HEADER_SIZE -
      UD_MAX_HEADER_SIZE - f->startup_options->len;
  f->fragment_size = f->max_fragment_size - ACK_RESERVE;
  return f;
}

static void
send_msg_free (SendMsg * m)
{
  g_clear_pointer (&m->bytes, g_bytes_unref);
  g_free (m);
}

static void
send_flow_unlink_deadline (RtmfpSendFlow * f, SendMsg * m)
{
  if (m->in_deadline_list) {
    g_queue_unlink (&f->deadline_msgs, &m->link);
    m->in_deadline_list = FALSE;
  }
}

static void
send_flow_pending_remove (RtmfpSendFlow * f, SendEntry * e)
{
  if (e->pending) {
    g_queue_unlink (&f->pending, &e->plink);
    e->pending = FALSE;
  }
}

/* Puts e (neither in flight nor abandoned) back in the pending list at its
 * place by sequence number.  *pos is where to start looking: callers
 * inserting in ascending order pass the same cursor (first f->pending.head)
 * so that a pass over the queue costs one walk of the list. */
static void
send_flow_pending_insert (RtmfpSendFlow * f, SendEntry * e, GList ** pos)
{
  GList *l = *pos;

  if (e->pending)
    return;
  while (l && ((SendEntry *) l->data)->seq < e->seq)
    l = l->next;
  e->plink.data = e;
  if (l)
    g_queue_insert_before_link (&f->pending, l, &e->plink);
  else
    g_queue_push_tail_link (&f->pending, &e->plink);
  e->pending = TRUE;
  *pos = l;
}

/* Puts e in flight, keeping f->flight in TSN order (TSNs normally grow,
 * so this is appending) */
static void
send_flow_take_off (RtmfpSendFlow * f, SendEntry * e)
{
  GList *l = f->flight.tail;

  while (l && ((SendEntry *) l->data)->tsn > e->tsn)
    l = l->prev;
  e->tlink.data = e;
  if (l)
    g_queue_insert_after_link (&f->flight, l, &e->tlink);
  else
    g_queue_push_head_link (&f->flight, &e->tlink);
  e->in_flight = TRUE;
  f->outstanding += e->transmit_size;
  f->n_in_flight++;
}

/* Takes e out of flight (acknowledged, lost or removed) */
static void
send_flow_land (RtmfpSendFlow * f, SendEntry * e)
{
  g_queue_unlink (&f->flight, &e->tlink);
  e->in_flight = FALSE;
  f->outstanding -= e->transmit_size;
  f->n_in_flight--;
}

/* Removes an entry from SEND_QUEUE, keeping every sum in step */
static void
send_flow_remove_entry (RtmfpSendFlow * f, SendEntry * e)
{
  SendMsg *m = e->msg;

  if (e->in_flight)
    send_flow_land (f, e);
  if (!e->abandoned)
    f->queued_bytes -= e->len;
  send_flow_pending_remove (f, e);

  if (m) {
    if (m->head_entry == e) {
      GList *next = e->link.next;
      SendEntry *ne = next ? next->data : NULL;
      m->head_entry = (ne && ne->msg == m) ? ne : NULL;
    }
    if (--m->n_entries == 0) {
      send_flow_unlink_deadline (f, m);
      send_msg_free (m);
    }
  }
  g_queue_unlink (&f->queue, &e->link);
  g_free (e);
}

void
rtmfp_send_flow_free (RtmfpSendFlow * f)
{
  if (!f)
    return;
  while (f->queue.head)
    send_flow_remove_entry (f, f->queue.head->data);
  g_byte_array_unref (f->startup_options);
  g_byte_array_unref (f->scratch);
  g_free (f->metadata);
  g_free (f);
}

guint64
rtmfp_send_flow_get_id (const RtmfpSendFlow * f)
{
  return f->id;
}

RtmfpSendFlowState
rtmfp_send_flow_get_state (const RtmfpSendFlow * f)
{
  return f->state;
}

const guint8 *
rtmfp_send_flow_get_metadata (const RtmfpSendFlow * f, gsize * len)
{
  if (len)
    *len = f->metadata_len;
  return f->metadata;
}

void
rtmfp_send_flow_get_stats (const RtmfpSendFlow * f, RtmfpSendFlowStats * stats)
{
  *stats = f->stats;
}

void
rtmfp_send_flow_set_fragment_size (RtmfpSendFlow * f, gsize size)
{
  if (size == 0)
    size = f->max_fragment_size - ACK_RESERVE;
  f->fragment_size = CLAMP (size, 1, f->max_fragment_size);
}

gboolean
rtmfp_send_flow_write (RtmfpSendFlow * f, const guint8 * data, gsize len,
    gint64 deadline, guint flags)
{
  GBytes *b;
  gboolean ok;

  g_return_val_if_fail (f != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (f->state != RTMFP_SEND_FLOW_OPEN)
    return FALSE;
  b = g_bytes_new (data, len);
  ok = rtmfp_send_flow_write_bytes (f, b, deadline, flags);
  g_bytes_unref (b);
  return ok;
}

gboolean
rtmfp_send_flow_write_bytes (RtmfpSendFlow * f, GBytes * bytes,
    gint64 deadline, guint flags)
{
  SendMsg *m;
  guint64 n, i;
  gsize len;
  const guint8 *data;

  g_return_val_if_fail (f != NULL, FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);

  if (f->state != RTMFP_SEND_FLOW_OPEN)
    return FALSE;
  data = g_bytes_get_data (bytes, &len);

  /* 3.6.2.2: fragments no larger than the fragment size; every message
   * takes at least one sequence number (3.6.1.2). */
  n = len == 0 ? 1 : (len + f->fragment_size - 1) / f->fragment_size;
  /* keep NEXT_SN and the FIN entry of a later close representable */
  if (f->next_sn > G_MAXUINT64 - 2 - n)
    return FALSE;

  m = g_new0 (SendMsg, 1);
  /* no copy: the message's bytes are immutable and shared */
  m->bytes = g_bytes_ref (bytes);
  m->data = data;
  m->len = len;
  m->deadline = deadline;
  m->time_critical = (flags & RTMFP_WRITE_TIME_CRITICAL) != 0;
  m->n_entries = n;
  m->link.data = m;

  for (i = 0; i < n; i++) {
    SendEntry *e = g_new0 (SendEntry, 1);

    e->link.data = e;
    e->msg = m;
    e->seq = f->next_sn++;
    e->offset = i * f->fragment_size;
    e->len = MIN (f->fragment_size, len - e->offset);
    if (n == 1)
      e->fra = RTMFP_UD_FRA_WHOLE;
    else if (i == 0)
      e->fra = RTMFP_UD_FRA_BEGIN;
    else if (i == n - 1)
      e->fra = RTMFP_UD_FRA_END;
    else
      e->fra = RTMFP_UD_FRA_MIDDLE;
    if (i == 0)
      m->head_entry = e;
    g_queue_push_tail_link (&f->queue, &e->link);
    e->plink.data = e;
    e->pending = TRUE;
    g_queue_push_tail_link (&f->pending, &e->plink);
  }

  if (deadline != RTMFP_NO_DEADLINE) {
    g_queue_push_tail_link (&f->deadline_msgs, &m->link);
    m->in_deadline_list = TRUE;
    f->min_deadline = MIN (f->min_deadline, deadline);
  }

  f->queued_bytes += len;
  f->stats.messages_queued++;
  f->stats.bytes_queued += len;

  /* New data for a suspended flow: probe again soon instead of after a
   * long backoff (3.6.2.9.1 only bounds the period from above). */
  if (f->probe_due != RTMFP_NO_DEADLINE) {
    f->probe_due = MIN (f->probe_due, f->probe_last + PROBE_INITIAL_US);
    f->probe_interval = PROBE_INITIAL_US;
  }
  return TRUE;
}

/* 3.6.2.7: abandons every fragment of m still queued */
static gboolean
send_flow_abandon_msg (RtmfpSendFlow * f, SendMsg * m)
{
  SendEntry *e;

  if (m->abandoned)
    return FALSE;
  m->abandoned = TRUE;
  for (e = m->head_entry; e && e->msg == m;
      e = e->link.next ? e->link.next->data : NULL) {
    if (!e->abandoned) {
      e->abandoned = TRUE;
      f->queued_bytes -= e->len;
      send_flow_pending_remove (f, e);
    }
  }
  send_flow_unlink_deadline (f, m);
  m->data = NULL;
  g_clear_pointer (&m->bytes, g_bytes_unref);
  f->stats.messages_abandoned++;
  return TRUE;
}

/* Abandons every entry of the queue */
static void
send_flow_abandon_everything (RtmfpSendFlow * f)
{
  GList *l;

  for (l = f->queue.head; l; l = l->next) {
    SendEntry *e = l->data;

    if (e->msg)
      send_flow_abandon_msg (f, e->msg);
    else
      e->abandoned = TRUE;      /* the FIN entry already is */
  }
  f->min_deadline = RTMFP_NO_DEADLINE;
}

void
rtmfp_send_flow_abandon_all (RtmfpSendFlow * f)
{
  g_return_if_fail (f != NULL);
  send_flow_abandon_everything (f);
}

void
rtmfp_send_flow_close (RtmfpSendFlow * f)
{
  SendEntry *tail;

  g_return_if_fail (f != NULL);

  /* 3.6.2.11 */
  if (f->state != RTMFP_SEND_FLOW_OPEN)
    return;
  f->state = RTMFP_SEND_FLOW_CLOSING;

  tail = f->queue.tail ? f->queue.tail->data : NULL;
  if (tail && tail->seq == f->next_sn - 1 && !tail->ever_sent) {
    f->final_sn = tail->seq;
  } else {
    SendEntry *e = g_new0 (SendEntry, 1);

    e->link.data = e;
    e->seq = f->next_sn++;
    e->fra = RTMFP_UD_FRA_WHOLE;
    e->abandoned = TRUE;
    g_queue_push_tail_link (&f->queue, &e->link);
    f->final_sn = e->seq;
  }
  f->has_final = TRUE;
  g_debug ("flow %" G_GUINT64_FORMAT " closing, final sn %" G_GUINT64_FORMAT,
      f->id, f->final_sn);
}

gsize
rtmfp_send_flow_get_queued_bytes (const RtmfpSendFlow * f)
{
  return f->queued_bytes;
}

guint64
rtmfp_send_flow_get_outstanding_bytes (const RtmfpSendFlow * f)
{
  return f->outstanding;
}

gboolean
rtmfp_send_flow_get_exception (const RtmfpSendFlow * f, guint64 * code)
{
  if (f->has_exception_code && code)
    *code = f->exception_code;
  return f->has_exception_code;
}

guint
rtmfp_send_flow_expire (RtmfpSendFlow * f, gint64 now)
{
  GList *l, *next;
  guint n = 0;
  gint64 min = RTMFP_NO_DEADLINE;

  g_return_val_if_fail (f != NULL, 0);

  if (now < f->min_deadline)
    return 0;

  /* 3.6.2.7: a message past its deadline is abandoned whole, even if
   * some of its fragments were already acknowledged. */
  for (l = f->deadline_msgs.head; l; l = next) {
    SendMsg *m = l->data;

    next = l->next;
    if (now >= m->deadline) {
      if (send_flow_abandon_msg (f, m))
        n++;
    } else {
      min = MIN (min, m->deadline);
    }
  }
  f->min_deadline = min;
  if (n)
    g_debug ("flow %" G_GUINT64_FORMAT ": %u messages expired", f->id, n);
  return n;
}

gint64
rtmfp_send_flow_next_timeout (const RtmfpSendFlow * f)
{
  gint64 t = RTMFP_NO_DEADLINE;

  switch (f->state) {
    case RTMFP_SEND_FLOW_OPEN:
    case RTMFP_SEND_FLOW_CLOSING:
      if (f->deadline_msgs.length)
        t = MIN (t, f->min_deadline);
      if (send_flow_suspended (f))
        t = MIN (t, f->probe_due);
      break;
    case RTMFP_SEND_FLOW_COMPLETE_LINGER:
      t = f->linger_end;
      break;
    case RTMFP_SEND_FLOW_CLOSED:
      break;
  }
  return t;
}

/* 3.6.2.3: the abandoned entry that is nevertheless eligible, if any.
 * Every entry neither in flight nor abandoned is eligible and is in
 * f->pending.  An abandoned entry not in flight is eligible only as the
 * entry of F_FINAL_SN, or as the first entry of SEND_QUEUE once the
 * abandoned entries not in flight are trimmed off its head (steps 1-4),
 * which happens only when every entry is such and leaves just the last
 * one.  Both can only be the tail of SEND_QUEUE (no write follows close). */
static SendEntry *
send_flow_special (const RtmfpSendFlow * f)
{
  SendEntry *t = f->queue.tail ? f->queue.tail->data : NULL;

  if (!t || t->in_flight || !t->abandoned)
    return NULL;
  if (f->has_final && t->seq == f->final_sn)
    return t;
  if (f->n_in_flight == 0 && f->pending.length == 0)
    return t;
  return NULL;
}

static gboolean
send_flow_window_open (const RtmfpSendFlow * f)
{
  /* 3.6.2.3 / 3.6.2.9 */
  return f->rx_buffer_size > f->outstanding || f->exception;
}

static gboolean
send_flow_has_eligible (const RtmfpSendFlow * f)
{
  return f->pending.length > 0 || send_flow_special (f) != NULL;
}

gboolean
rtmfp_send_flow_is_ready (const RtmfpSendFlow * f, gint64 now)
{
  g_return_val_if_fail (f != NULL, FALSE);

  if (f->state != RTMFP_SEND_FLOW_OPEN && f->state != RTMFP_SEND_FLOW_CLOSING)
    return FALSE;
  if (send_flow_suspended (f))
    return now >= f->probe_due;
  return send_flow_window_open (f) && send_flow_has_eligible (f);
}

/* 3.6.2.3 steps 1-4: trims abandoned entries off the head and returns the
 * Forward Sequence Number. */
static guint64
send_flow_compute_fsn (RtmfpSendFlow * f)
{
  SendEntry *head;

  while (f->queue.length >= 2) {
    head = f->queue.head->data;
    if (head->in_flight || !head->abandoned)
      break;
    send_flow_remove_entry (f, head);
  }
  if (!f->queue.head)
    return f->next_sn - 1;
  head = f->queue.head->data;
  if (!head->abandoned)
    return head->seq - 1;
  if (head->in_flight && !head->sent_abandoned)
    return head->seq - 1;
  return head->seq;
}

static gboolean
send_flow_emit_probe (RtmfpSendFlow * f, RtmfpPacketBuilder * b, gint64 now)
{
  g_byte_array_set_size (f->scratch, 0);
  rtmfp_buffer_probe_chunk_append (f->scratch, f->id);
  if (f->scratch->len < RTMFP_CHUNK_HEADER_SIZE ||
      !rtmfp_packet_builder_add (b, f->scratch->data[0],
          f->scratch->data + RTMFP_CHUNK_HEADER_SIZE,
          f->scratch->len - RTMFP_CHUNK_HEADER_SIZE))
    return FALSE;
  f->probe_last = now;
  f->probe_due = now + f->probe_interval;
  f->probe_interval = MIN (f->probe_interval * 2, PROBE_MAX_US);
  g_debug ("flow %" G_GUINT64_FORMAT ": buffer probe", f->id);
  return TRUE;
}

/* Steps 2-18 of 3.6.2.3 for one entry: encodes it into b and puts it in
 * flight (a new transmission, with the next TSN).  FALSE (nothing
 * changed) if it does not fit.  next: as a Next User Data chunk. */
static gboolean
send_flow_put (RtmfpSendFlow * f, RtmfpPacketBuilder * b,
    RtmfpEmitContext * ctx, SendEntry * e, guint64 fsn, gboolean next,
    gboolean with_options, gint64 now)
{
  RtmfpUserDataChunk c;
  gsize size;

  memset (&c, 0, sizeof (c));
  c.flags = e->fra;
  if (e->abandoned)
    c.flags |= RTMFP_UD_FLAG_ABN;
  if (f->has_final && e->seq == f->final_sn)
    c.flags |= RTMFP_UD_FLAG_FIN;
  c.flow_id = f->id;
  c.seq = e->seq;
  c.fsn_offset = e->seq - fsn;
  if (with_options) {
    c.options = f->startup_options->data;
    c.options_len = f->startup_options->len;
  }
  if (!e->abandoned && e->len) {
    c.data = e->msg->data + e->offset;
    c.len = e->len;
  }

  size = rtmfp_user_data_chunk_size (next, c.flow_id, c.seq, c.fsn_offset,
      c.options_len, c.len);
  if (size > rtmfp_packet_builder_space (b) + RTMFP_CHUNK_HEADER_SIZE)
    return FALSE;               /* step 11: the packet is full */

  g_byte_array_set_size (f->scratch, 0);
  rtmfp_user_data_chunk_append (f->scratch, next, &c);
  if (f->scratch->len < RTMFP_CHUNK_HEADER_SIZE ||
      !rtmfp_packet_builder_add (b, f->scratch->data[0],
          f->scratch->data + RTMFP_CHUNK_HEADER_SIZE,
          f->scratch->len - RTMFP_CHUNK_HEADER_SIZE))
    return FALSE;
  size = f->scratch->len;

  /* steps 12-16 and the TSN of 3.6.2.5 */
  if (e->ever_sent) {
    f->stats.fragments_retransmitted++;
  } else {
    f->stats.fragments_sent++;
    ctx->new_fragments++;
  }
  /* the transmission before this one was declared lost (else this is a
   * loss probe re-sending one in flight) */
  e->declared_lost = e->ever_sent && !e->in_flight;
  if (e->in_flight)
    send_flow_land (f, e);
  send_flow_pending_remove (f, e);
  e->prev_tsn = e->ever_sent ? e->tsn : 0;
  e->ever_sent = TRUE;
  e->nak_count = 0;
  e->sent_abandoned = e->abandoned;
  e->transmit_size = size;
  e->tx_time = now;
  e->tsn = ctx->next_tsn++;
  send_flow_take_off (f, e);

  ctx->bytes_sent += size;
  ctx->budget -= MIN (ctx->budget, (guint64) size);
  ctx->any_user_data = TRUE;
  /* step 18 */
  if (!e->abandoned && e->msg && e->msg->time_critical) {
    ctx->time_critical = TRUE;
    rtmfp_packet_builder_set_flags (b, RTMFP_PKT_FLAG_TC);
  }
  return TRUE;
}

gboolean
rtmfp_send_flow_emit (RtmfpSendFlow * f, RtmfpPacketBuilder * b,
    RtmfpEmitContext * ctx, gint64 now)
{
  gboolean added = FALSE, first_in_packet = TRUE;
  guint64 fsn, prev_seq = 0;
  SendEntry *e;

  g_return_val_if_fail (f != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);
  g_return_val_if_fail (ctx != NULL, FALSE);

  if (f->state != RTMFP_SEND_FLOW_OPEN && f->state != RTMFP_SEND_FLOW_CLOSING)
    return FALSE;

  rtmfp_send_flow_expire (f, now);

  /* 3.6.2.9.1: a suspended sender only probes */
  if (send_flow_suspended (f)) {
    if (now >= f->probe_due)
      added = send_flow_emit_probe (f, b, now);
    return added;
  }

  fsn = send_flow_compute_fsn (f);

  /* The eligible entries in ascending order: the pending ones, then the
   * tail if its own rule makes it eligible.  Sending one takes it out of
   * the pending list (or puts the tail in flight). */
  for (;;) {
    gboolean next, with_options;

    if (ctx->budget == 0 || !send_flow_window_open (f))
      break;
    e = f->pending.head ? f->pending.head->data : send_flow_special (f);
    if (!e)
      break;

    /* 3.6.2.3.2: Next User Data for a consecutive fragment; the first
     * fragment of the flow in the packet is a full User Data chunk, which
     * carries the startup options (3.6.2.3.1) until the flow is acked. */
    next = !first_in_packet && e->seq == prev_seq + 1;
    with_options = first_in_packet && !f->startup_acked;
    if (!send_flow_put (f, b, ctx, e, fsn, next, with_options, now))
      break;

    added = TRUE;
    first_in_packet = FALSE;
    prev_seq = e->seq;
  }
  return added;
}

guint64
rtmfp_send_flow_get_tail_tsn (const RtmfpSendFlow * f)
{
  g_return_val_if_fail (f != NULL, 0);

  return f->flight.tail ? ((SendEntry *) f->flight.tail->data)->tsn : 0;
}

gboolean
rtmfp_send_flow_emit_tail (RtmfpSendFlow * f, RtmfpPacketBuilder * b,
    RtmfpEmitContext * ctx, gint64 now)
{
  SendEntry *e;
  guint64 fsn;

  g_return_val_if_fail (f != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);
  g_return_val_if_fail (ctx != NULL, FALSE);

  if (f->state != RTMFP_SEND_FLOW_OPEN && f->state != RTMFP_SEND_FLOW_CLOSING)
    return FALSE;
  rtmfp_send_flow_expire (f, now);
  if (!f->flight.tail)
    return FALSE;
  e = f->flight.tail->data;
  /* the FSN must not pass what is in flight, this entry included */
  fsn = send_flow_compute_fsn (f);
  if (fsn >= e->seq && !(e->abandoned && fsn == e->seq))
    fsn = e->seq - 1;
  return send_flow_put (f, b, ctx, e, fsn, FALSE, !f->startup_acked, now);
}

static int
range_cmp (gconstpointer a, gconstpointer b)
{
  const RtmfpSeqRange *ra = a, *rb = b;

  return ra->first < rb->first ? -1 : ra->first > rb->first;
}

void
rtmfp_send_flow_on_ack (RtmfpSendFlow * f, const RtmfpAckChunk * ack,
    RtmfpAckContext * ctx, gint64 now)
{
  RtmfpSeqRange sorted[RTMFP_ACK_MAX_RANGES];
  const RtmfpSeqRange *ranges = ack->ranges;
  guint n_ranges, ri = 0, i;
  guint64 pre, top, old_rx;
  GList *l, *next;

  g_return_if_fail (f != NULL);
  g_return_if_fail (ack != NULL);
  g_return_if_fail (ctx != NULL);

  if (f->state == RTMFP_SEND_FLOW_CLOSED)
    return;

  /* 3.6.2.4 */
  pre = f->outstanding;
  f->startup_acked = TRUE;
  old_rx = f->rx_buffer_size;
  f->rx_buffer_size = ack->buffer_blocks > G_MAXUINT64 / 1024 ?
      G_MAXUINT64 : ack->buffer_blocks * 1024;

  /* 3.6.2.9.1: probe while suspended, first within one second */
  if (send_flow_suspended (f)) {
    if (old_rx != 0 || f->probe_due == RTMFP_NO_DEADLINE) {
      f->probe_interval = PROBE_INITIAL_US;
      f->probe_last = now;
      f->probe_due = now + PROBE_INITIAL_US;
    }
  } else {
    f->probe_due = RTMFP_NO_DEADLINE;
    f->probe_interval = PROBE_INITIAL_US;
  }

  n_ranges = MIN (ack->n_ranges, RTMFP_ACK_MAX_RANGES);
  for (i = 1; i < n_ranges; i++) {
    if (ranges[i].first <= ranges[i - 1].last) {
      /* not ascending: the parser promises it is, but be safe */
      memcpy (sorted, ack->ranges, n_ranges * sizeof (RtmfpSeqRange));
      qsort (sorted, n_ranges, sizeof (RtmfpSeqRange), range_cmp);
      ranges = sorted;
      break;
    }
  }
  top = ack->cumulative_ack;
  for (i = 0; i < n_ranges; i++)
    top = MAX (top, ranges[i].last);

  /* step 4: remove acknowledged entries.  The RFC removes the entries in
   * flight; an entry already declared lost (or never sent but abandoned)
   * that the receiver reports having is removed too, so that it is not
   * retransmitted for nothing; only in-flight ones count as acked bytes. */
  for (l = f->queue.head; l; l = next) {
    SendEntry *e = l->data;
    gboolean acked;

    next = l->next;
    if (e->seq > top)
      break;
    acked = e->seq <= ack->cumulative_ack;
    if (!acked) {
      while (ri < n_ranges && ranges[ri].last < e->seq)
        ri++;
      acked = ri < n_ranges && ranges[ri].first <= e->seq;
    }
    if (!acked)
      continue;
    if (e->in_flight) {
      guint64 tsn = e->tsn;

      /* Retransmission ambiguity: an acknowledgement arriving sooner after
       * the retransmission than any round trip takes is for an earlier
       * transmission (RFC 8985 section 6.2 step 2, Eifel), so it says
       * nothing about what was sent after that one; crediting the new
       * TSN would NAK everything sent in between.  The loss that
       * triggered the retransmission was not real. */
      if (e->prev_tsn && ctx->rtt_floor_us > 0 &&
          now - e->tx_time < ctx->rtt_floor_us) {
        tsn = e->prev_tsn;
        if (e->declared_lost) {
          f->stats.fragments_lost_spurious++;
          ctx->any_spurious = TRUE;
        }
      } else {
        f->max_acked_tx_time = MAX (f->max_acked_tx_time, e->tx_time);
        if (e->declared_lost && e->timeout_lost)
          ctx->timeout_ambiguous++;
        if (e->prev_tsn && !e->declared_lost) {
          /* a loss probe re-sent it while in flight, and the probe may be
           * what arrived (RFC 8985 section 7.4): the session decides */
          ctx->probe_acked++;
          ctx->probe_acked_bytes += e->transmit_size;
          ctx->probe_lost_tsn = MAX (ctx->probe_lost_tsn, e->prev_tsn);
        }
        if (!e->prev_tsn && ctx->probe_time >= 0 &&
            e->tx_time < ctx->probe_time)
          ctx->old_acked = TRUE;
      }
      ctx->max_tsn_acked = MAX (ctx->max_tsn_acked, tsn);
      f->max_tsn_acked = MAX (f->max_tsn_acked, tsn);
      send_flow_remove_entry (f, e);
    } else if (e->ever_sent || e->abandoned) {
      /* declared lost, and the receiver has it after all */
      if (e->ever_sent && !e->abandoned) {
        f->stats.fragments_lost_spurious++;
        ctx->any_spurious = TRUE;
      }
      send_flow_remove_entry (f, e);
    }
  }

  /* step 5 */
  ctx->acked_bytes += pre - f->outstanding;
  f->stats.bytes_acked += pre - f->outstanding;

  /* 3.6.2.11: complete once everything through F_FINAL_SN is acked */
  if (f->state == RTMFP_SEND_FLOW_CLOSING && f->queue.length == 0) {
    f->state = RTMFP_SEND_FLOW_COMPLETE_LINGER;
    f->linger_end = now + RTMFP_F_COMPLETE_LINGER_US;
    f->probe_due = RTMFP_NO_DEADLINE;
    g_debug ("flow %" G_GUINT64_FORMAT " complete", f->id);
  }
}

void
rtmfp_send_flow_on_acks_done (RtmfpSendFlow * f, RtmfpAckContext * ctx)
{
  GList *l, *next;

  g_return_if_fail (f != NULL);
  g_return_if_fail (ctx != NULL);

  /* 3.6.2.5: entries in flight sent before the latest acknowledged one
   * are negatively acknowledged; three NAKs make a loss.  f->flight is in
   * TSN order, so they are its head up to the first TSN not below
   * MAX_TSN_ACK.
   *
   * Two refinements (the RFC's rule is a SHOULD):
   *
   * - A loss is declared only once this flow's own acknowledgements
   *   passed the fragment (a fragment of the flow sent after it was
   *   acked).  The receiver acknowledges a flow only when data arrived for
   *   it (3.6.3.4): if the one acknowledgement of a fragment of a quiet
   *   flow (audio beside video) is lost, the other flows' acknowledgements
   *   would NAK it three times although it arrived.  With this rule such a
   *   fragment waits for its flow's next acknowledgement, which covers it.
   *
   * - Time as well as count (RACK, RFC 8985 section 6.2): a fragment sent
   *   more than the reordering window (ctx->reo_wnd_us) before one of its
   *   flow that was acknowledged is lost at once, without waiting for
   *   three NAKs.  A live stream's next frame, or a loss probe, then
   *   reveals the loss of a whole tail in one acknowledgement. */
  for (l = f->flight.head; l; l = next) {
    SendEntry *e = l->data;
    gboolean by_time;

    next = l->next;
    if (e->tsn >= ctx->max_tsn_acked)
      break;
    e->nak_count++;
    ctx->any_nak = TRUE;
    if (e->tsn >= f->max_tsn_acked)
      continue;
    by_time = ctx->reo_wnd_us > 0 &&
        e->tx_time + ctx->reo_wnd_us <= f->max_acked_tx_time;
    if (e->nak_count >= NAK_LOSS_THRESHOLD || by_time) {
      GList *pos = f->pending.head;

      send_flow_land (f, e);
      e->declared_lost = TRUE;
      e->timeout_lost = FALSE;
      f->stats.fragments_lost++;
      ctx->lost_bytes += e->transmit_size;
      ctx->any_loss = TRUE;
      ctx->max_lost_tsn = MAX (ctx->max_lost_tsn, e->tsn);
      if (!e->abandoned)
        send_flow_pending_insert (f, e, &pos);
    }
  }
}

gboolean
rtmfp_send_flow_on_timeout (RtmfpSendFlow * f)
{
  GList *l, *pos;
  gboolean was_loss = FALSE;

  g_return_val_if_fail (f != NULL, FALSE);

  /* 3.6.2.6 */
  pos = f->pending.head;
  for (l = f->queue.head; l && f->n_in_flight; l = l->next) {
    SendEntry *e = l->data;

    if (e->in_flight) {
      was_loss = TRUE;
      send_flow_land (f, e);
      e->declared_lost = TRUE;
      e->timeout_lost = TRUE;
      f->stats.fragments_lost++;
      f->stats.fragments_lost_timeout++;
      if (!e->abandoned)
        send_flow_pending_insert (f, e, &pos);
    }
  }
  return was_loss;
}

void
rtmfp_send_flow_on_exception (RtmfpSendFlow * f, guint64 code)
{
  g_return_if_fail (f != NULL);

  /* 3.6.2.10 */
  if (!f->has_exception_code) {
    f->has_exception_code = TRUE;
    f->exception_code = code;
  }
  if (f->state == RTMFP_SEND_FLOW_OPEN) {
    g_debug ("flow %" G_GUINT64_FORMAT ": exception %" G_GUINT64_FORMAT,
        f->id, code);
    rtmfp_send_flow_close (f);
  }
  f->exception = TRUE;
  f->probe_due = RTMFP_NO_DEADLINE;
  send_flow_abandon_everything (f);
}

gboolean
rtmfp_send_flow_is_complete (const RtmfpSendFlow * f)
{
  return f->state == RTMFP_SEND_FLOW_COMPLETE_LINGER ||
      f->state == RTMFP_SEND_FLOW_CLOSED;
}

gboolean
rtmfp_send_flow_tick (RtmfpSendFlow * f, gint64 now)
{
  g_return_val_if_fail (f != NULL, FALSE);

  if (f->state == RTMFP_SEND_FLOW_COMPLETE_LINGER && now >= f->linger_end)
    f->state = RTMFP_SEND_FLOW_CLOSED;
  return f->state == RTMFP_SEND_FLOW_CLOSED;
}

/* ====================== receiving flow (3.6.3) ====================== */

typedef struct {
  guint64 seq;
  guint8 fra;
  gboolean delivered;           /* arrival order: already handed over */
  gsize len;
  guint8 *data;
} RecvEntry;

struct _RtmfpRecvFlow {
  guint64 id;
  guint8 *metadata;
  gsize metadata_len;
  gboolean has_assoc;
  guint64 assoc;

  RtmfpRecvFlowState state;
  GArray *seqset;               /* SEQUENCE_SET: RtmfpSeqRange, sorted,
                                 * disjoint, non-adjacent; [0] starts at 0 */
  gboolean has_final;
  guint64 final_sn;             /* RF_FINAL_SN */
  GSequence *buffer;            /* RECV_BUFFER of RecvEntry */
  gsize buffered;               /* BUFFERED_SIZE */
  gsize capacity;               /* BUFFER_CAPACITY */
  gboolean has_prev_rwnd;
  guint64 prev_rwnd;            /* PREV_RWND */
  gboolean should_ack;          /* SHOULD_ACK */
  guint reack;                  /* repeats of the ack still to piggyback */
  guint64 exception_code;       /* EXCEPTION_CODE */
  gboolean ever_rejected;
  gboolean started;
  gint64 linger_end;

  gboolean arrival_order;
  gboolean paused;
  RtmfpRecvFlowMessageFunc on_message;
  RtmfpRecvFlowCompleteFunc on_complete;
  gpointer user_data;
  gboolean delivering;
  gboolean complete_notified;
  guint64 cursor;               /* last sequence number accounted for */
  guint64 pending_gap;          /* skipped numbers not reported yet */

  GByteArray *scratch;
  RtmfpRecvFlowStats stats;
};

static void
recv_entry_free (RecvEntry * e)
{
  g_free (e->data);
  g_free (e);
}

static gsize
recv_entry_cost (const RecvEntry * e)
{
  return (e->delivered ? 0 : e->len) + RECV_ENTRY_OVERHEAD;
}

static gint
recv_entry_cmp (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const RecvEntry *ea = a, *eb = b;

  return ea->seq < eb->seq ? -1 : ea->seq > eb->seq;
}

RtmfpRecvFlow *
rtmfp_recv_flow_new (guint64 flow_id, const guint8 * metadata,
    gsize metadata_len, gboolean has_assoc, guint64 assoc_flow_id)
{
  RtmfpRecvFlow *f;
  RtmfpSeqRange zero = { 0, 0 };

  g_return_val_if_fail (metadata != NULL || metadata_len == 0, NULL);

  f = g_new0 (RtmfpRecvFlow, 1);
  f->id = flow_id;
  f->metadata = metadata_len ? g_memdup2 (metadata, metadata_len) : NULL;
  f->metadata_len = metadata_len;
  f->has_assoc = has_assoc;
  f->assoc = assoc_flow_id;
  f->state = RTMFP_RECV_FLOW_OPEN;
  /* Sequence numbers start at 1; 0 is always "seen" (every chunk adds
   * 0..FSN, 3.6.3.2 step 12). */
  f->seqset = g_array_new (FALSE, FALSE, sizeof (RtmfpSeqRange));
  g_array_append_val (f->seqset, zero);
  f->buffer = g_sequence_new (NULL);
  f->capacity = RTMFP_DEFAULT_RECV_BUFFER_CAPACITY;
  f->linger_end = RTMFP_NO_DEADLINE;
  f->scratch = g_byte_array_new ();
  return f;
}

static void
recv_flow_clear_buffer (RtmfpRecvFlow * f)
{
  GSequenceIter *it = g_sequence_get_begin_iter (f->buffer);

  while (!g_sequence_iter_is_end (it)) {
    GSequenceIter *next = g_sequence_iter_next (it);
    RecvEntry *e = g_sequence_get (it);

    f->buffered -= recv_entry_cost (e);
    g_sequence_remove (it);
    recv_entry_free (e);
    it = next;
  }
}

void
rtmfp_recv_flow_free (RtmfpRecvFlow * f)
{
  if (!f)
    return;
  g_return_if_fail (!f->delivering);
  recv_flow_clear_buffer (f);
  g_sequence_free (f->buffer);
  g_array_unref (f->seqset);
  g_byte_array_unref (f->scratch);
  g_free (f->metadata);
  g_free (f);
}

guint64
rtmfp_recv_flow_get_id (const RtmfpRecvFlow * f)
{
  return f->id;
}

RtmfpRecvFlowState
rtmfp_recv_flow_get_state (const RtmfpRecvFlow * f)
{
  return f->state;
}

const guint8 *
rtmfp_recv_flow_get_metadata (const RtmfpRecvFlow * f, gsize * len)
{
  if (len)
    *len = f->metadata_len;
  return f->metadata;
}

gboolean
rtmfp_recv_flow_get_association (const RtmfpRecvFlow * f,
    guint64 * send_flow_id)
{
  if (f->has_assoc && send_flow_id)
    *send_flow_id = f->assoc;
  return f->has_assoc;
}

void
rtmfp_recv_flow_get_stats (const RtmfpRecvFlow * f, RtmfpRecvFlowStats * stats)
{
  *stats = f->stats;
}

/* ---- SEQUENCE_SET ---- */

#define RANGE(f, i) (g_array_index ((f)->seqset, RtmfpSeqRange, (i)))

static guint64
recv_flow_csn (const RtmfpRecvFlow * f)
{
  /* 3.6.3.3: top of the contiguous range starting at 0 */
  return RANGE (f, 0).last;
}

static gboolean
recv_flow_has_gaps (const RtmfpRecvFlow * f)
{
  return f->seqset->len > 1;
}

/* Index of the first range whose last + 1 >= v (could touch v) */
static guint
seqset_lower (const RtmfpRecvFlow * f, guint64 v)
{
  guint lo = 0, hi = f->seqset->len;

  while (lo < hi) {
    guint mid = (lo + hi) / 2;

    if (RANGE (f, mid).last + 1 < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static gboolean
seqset_contains (const RtmfpRecvFlow * f, guint64 v)
{
  guint i = seqset_lower (f, v);

  return i < f->seqset->len && RANGE (f, i).first <= v && v <= RANGE (f, i).last;
}

/* Adds [lo, hi] (hi < G_MAXUINT64).  Returns FALSE, changing nothing, if
 * that would need a new range beyond RECV_MAX_RANGES. */
static gboolean
seqset_add (RtmfpRecvFlow * f, guint64 lo, guint64 hi)
{
  guint i = seqset_lower (f, lo), j;
  RtmfpSeqRange r = { lo, hi };

  /* ranges i..j-1 touch or overlap [lo, hi] */
  for (j = i; j < f->seqset->len && RANGE (f, j).first <= hi + 1; j++);

  if (i == j) {
    if (f->seqset->len >= RECV_MAX_RANGES)
      return FALSE;
    g_array_insert_val (f->seqset, i, r);
    return TRUE;
  }
  r.first = MIN (lo, RANGE (f, i).first);
  r.last = MAX (hi, RANGE (f, j - 1).last);
  RANGE (f, i) = r;
  if (j - i > 1)
    g_array_remove_range (f->seqset, i + 1, j - i - 1);
  return TRUE;
}

/* Would adding v need a new range? */
static gboolean
seqset_needs_new_range (const RtmfpRecvFlow * f, guint64 v)
{
  guint i = seqset_lower (f, v);

  return !(i < f->seqset->len && RANGE (f, i).first <= v + 1);
}

/* ---- delivery (3.6.3.3) ---- */

static RecvEntry *
iter_entry (GSequenceIter * it)
{
  return g_sequence_iter_is_end (it) ? NULL : g_sequence_get (it);
}

/* From a 1-begin entry, the last entry of its segment: the contiguous run
 * of 3-middle fragments ended by a 2-end. */
static GSequenceIter *
segment_last (GSequenceIter * begin)
{
  GSequenceIter *it = begin;
  RecvEntry *e = g_sequence_get (begin);

  for (;;) {
    GSequenceIter *n = g_sequence_iter_next (it);
    RecvEntry *ne = iter_entry (n);

    if (!ne || ne->seq != e->seq + 1 ||
        (ne->fra != RTMFP_UD_FRA_MIDDLE && ne->fra != RTMFP_UD_FRA_END))
      return it;
    it = n;
    e = ne;
    if (e->fra == RTMFP_UD_FRA_END)
      return it;
  }
}

/* Removes first..last from RECV_BUFFER; returns the concatenated data of
 * entries not yet delivered (NULL if already delivered). */
static guint8 *
recv_flow_take_segment (RtmfpRecvFlow * f, GSequenceIter * first,
    GSequenceIter * last, gsize * len, gboolean * was_delivered)
{
  GSequenceIter *it, *end = g_sequence_iter_next (last);
  gsize total = 0, pos = 0;
  guint8 *out = NULL;
  RecvEntry *e0 = g_sequence_get (first);

  *was_delivered = e0->delivered;
  if (!e0->delivered) {
    for (it = first; it != end; it = g_sequence_iter_next (it))
      total += ((RecvEntry *) g_sequence_get (it))->len;
    out = g_malloc (total ? total : 1);
  }
  for (it = first; it != end;) {
    GSequenceIter *next = g_sequence_iter_next (it);
    RecvEntry *e = g_sequence_get (it);

    if (out && e->len) {
      memcpy (out + pos, e->data, e->len);
      pos += e->len;
    }
    f->buffered -= recv_entry_cost (e);
    g_sequence_remove (it);
    recv_entry_free (e);
    it = next;
  }
  *len = total;
  return out;
}

static void
recv_flow_discard_segment (RtmfpRecvFlow * f, GSequenceIter * first,
    GSequenceIter * last)
{
  gsize len;
  gboolean d;

  g_free (recv_flow_take_segment (f, first, last, &len, &d));
}

static void
recv_flow_hand_over (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap)
{
  f->stats.messages_delivered++;
  f->stats.bytes_delivered += len;
  f->stats.sequence_gaps += gap;
  if (f->on_message)
    f->on_message (f, data, len, gap, f->user_data);
}

static gboolean
recv_flow_can_deliver (const RtmfpRecvFlow * f)
{
  return !f->paused && (f->state == RTMFP_RECV_FLOW_OPEN ||
      f->state == RTMFP_RECV_FLOW_COMPLETE_LINGER);
}

/* In-order pass over the fragments at or below the CSN */
static void
recv_flow_deliver_in_order (RtmfpRecvFlow * f)
{
  while (recv_flow_can_deliver (f)) {
    guint64 csn = recv_flow_csn (f);
    GSequenceIter *first = g_sequence_get_begin_iter (f->buffer), *last;
    RecvEntry *e = iter_entry (first), *le;
    guint8 *data;
    gsize len;
    gboolean delivered;
    guint64 a, gap;

    if (!e || e->seq > csn)
      break;

    if (e->fra == RTMFP_UD_FRA_END || e->fra == RTMFP_UD_FRA_MIDDLE) {
      /* step 2: part of an abandoned segment */
      recv_flow_discard_segment (f, first, first);
      continue;
    }
    last = first;
    if (e->fra == RTMFP_UD_FRA_BEGIN) {
      last = segment_last (first);
      le = g_sequence_get (last);
      if (le->fra != RTMFP_UD_FRA_END) {
        if (le->seq < csn) {
          /* step 3.2: incomplete and abandoned */
          recv_flow_discard_segment (f, first, last);
          continue;
        }
        break;                  /* step 3.3: in progress */
      }
    }
    /* a complete message (steps 1 and 3.1) */
    a = e->seq;
    le = g_sequence_get (last);
    f->pending_gap += a - f->cursor - 1;
    f->cursor = le->seq;
    data = recv_flow_take_segment (f, first, last, &len, &delivered);
    if (!delivered) {
      gap = f->pending_gap;
      f->pending_gap = 0;
      recv_flow_hand_over (f, data, len, gap);
    }
    g_free (data);
  }
}

/* Arrival order: delivers the message containing `it` if it is complete,
 * leaving its fragments as delivered markers for the in-order pass. */
static void
recv_flow_deliver_arrived (RtmfpRecvFlow * f, GSequenceIter * it)
{
  GSequenceIter *first = it, *last, *end, *p;
  RecvEntry *e = g_sequence_get (it), *fe, *le;
  gsize total = 0, pos = 0;
  guint8 *out;
  guint64 gap;

  if (e->delivered)
    return;
  /* walk back to the 1-begin */
  while (e->fra == RTMFP_UD_FRA_MIDDLE || e->fra == RTMFP_UD_FRA_END) {
    RecvEntry *pe;

    if (g_sequence_iter_is_begin (first))
      return;
    p = g_sequence_iter_prev (first);
    pe = g_sequence_get (p);
    if (pe->seq + 1 != e->seq || pe->delivered ||
        (pe->fra != RTMFP_UD_FRA_BEGIN && pe->fra != RTMFP_UD_FRA_MIDDLE))
      return;
    first = p;
    e = pe;
  }
  fe = e;
  if (fe->fra == RTMFP_UD_FRA_WHOLE) {
    last = first;
  } else {
    last = segment_last (first);
    le = g_sequence_get (last);
    if (le->fra != RTMFP_UD_FRA_END)
      return;
  }

  end = g_sequence_iter_next (last);
  for (p = first; p != end; p = g_sequence_iter_next (p))
    total += ((RecvEntry *) g_sequence_get (p))->len;
  out = g_malloc (total ? total : 1);
  for (p = first; p != end; p = g_sequence_iter_next (p)) {
    RecvEntry *pe = g_sequence_get (p);

    if (pe->len)
      memcpy (out + pos, pe->data, pe->len);
    pos += pe->len;
    f->buffered -= pe->len;
    pe->delivered = TRUE;
    g_clear_pointer (&pe->data, g_free);
  }
  gap = f->pending_gap;
  f->pending_gap = 0;
  recv_flow_hand_over (f, out, total, gap);
  g_free (out);
}

static void
recv_flow_check_complete (RtmfpRecvFlow * f)
{
  if (f->has_final && recv_flow_csn (f) >= f->final_sn &&
      g_sequence_get_length (f->buffer) == 0 && !f->complete_notified &&
      !f->ever_rejected && !f->paused) {
    f->complete_notified = TRUE;
    if (f->on_complete)
      f->on_complete (f, f->user_data);
  }
}

/* Arrival order: delivers the message holding sequence number seq if it
 * is buffered, not yet delivered and complete. */
static void
recv_flow_deliver_seq (RtmfpRecvFlow * f, guint64 seq)
{
  RecvEntry key = { 0 };
  GSequenceIter *it;

  key.seq = seq;
  it = g_sequence_lookup (f->buffer, &key, recv_entry_cmp, NULL);
  if (it)
    recv_flow_deliver_arrived (f, it);
}

/* new_seq: the sequence number just buffered (arrival order), or 0 to
 * look at the whole buffer */
static void
recv_flow_deliver (RtmfpRecvFlow * f, guint64 new_seq)
{
  if (f->delivering)
    return;
  f->delivering = TRUE;

  recv_flow_deliver_in_order (f);
  if (f->arrival_order && recv_flow_can_deliver (f)) {
    if (new_seq) {
      recv_flow_deliver_seq (f, new_seq);
    } else {
      /* resume: everything complete above the CSN.  Callbacks may change
       * the buffer, so collect the candidates first. */
      GArray *ends = g_array_new (FALSE, FALSE, sizeof (guint64));
      GSequenceIter *it;
      guint i;

      for (it = g_sequence_get_begin_iter (f->buffer);
          !g_sequence_iter_is_end (it); it = g_sequence_iter_next (it)) {
        RecvEntry *e = g_sequence_get (it);

        if (!e->delivered && (e->fra == RTMFP_UD_FRA_WHOLE ||
                e->fra == RTMFP_UD_FRA_END))
          g_array_append_val (ends, e->seq);
      }
      for (i = 0; i < ends->len && recv_flow_can_deliver (f); i++)
        recv_flow_deliver_seq (f, g_array_index (ends, guint64, i));
      g_array_unref (ends);
    }
    /* what the callbacks did may allow more in-order progress */
    recv_flow_deliver_in_order (f);
  }
  recv_flow_check_complete (f);
  f->delivering = FALSE;
}

void
rtmfp_recv_flow_set_delivery (RtmfpRecvFlow * f, gboolean arrival_order,
    RtmfpRecvFlowMessageFunc on_message, RtmfpRecvFlowCompleteFunc on_complete,
    gpointer user_data)
{
  g_return_if_fail (f != NULL);

  f->arrival_order = arrival_order;
  f->on_message = on_message;
  f->on_complete = on_complete;
  f->user_data = user_data;
}

void
rtmfp_recv_flow_set_buffer_capacity (RtmfpRecvFlow * f, gsize bytes)
{
  g_return_if_fail (f != NULL);
  f->capacity = bytes;
}

gsize
rtmfp_recv_flow_get_buffered_size (const RtmfpRecvFlow * f)
{
  return f->buffered;
}

void
rtmfp_recv_flow_set_paused (RtmfpRecvFlow * f, gboolean paused)
{
  g_return_if_fail (f != NULL);

  if (f->paused == paused)
    return;
  f->paused = paused;
  if (!paused) {
    /* the window may reopen: let the next packet carry an ack */
    if (f->has_prev_rwnd && f->prev_rwnd < 2 &&
        f->state != RTMFP_RECV_FLOW_CLOSED)
      f->should_ack = TRUE;
    recv_flow_deliver (f, 0);
  }
}

/* 3.6.3.5 */
static guint64
recv_flow_window_blocks (const RtmfpRecvFlow * f)
{
  gsize avail = f->buffered >= f->capacity ? 0 : f->capacity - f->buffered;
  guint64 blocks = avail / 1024 + (avail % 1024 ? 1 : 0);

  if (blocks == 0 && f->capacity > 0 && !f->paused)
    blocks = 1;
  return blocks;
}

/* Hard bound on BUFFERED_SIZE.  Out-of-order data may use the capacity
 * plus one packet.  The fragment in-order delivery waits for (CSN + 1)
 * may go further, up to twice the capacity: a sender that believed
 * fragments lost (NAKs after reordering) can have overshot the window, and
 * refusing the one fragment that lets the buffer drain would deadlock the
 * flow.  A paused flow gets no such exception: resuming drains it. */
static gsize
recv_flow_buffer_limit (const RtmfpRecvFlow * f, gboolean progress)
{
  gsize cap = MIN (f->capacity, G_MAXSIZE / 4);

  if (progress && !f->paused)
    return 2 * cap + RECV_SLACK;
  return cap + RECV_SLACK;
}

typedef struct {
  gboolean unknown;
} OptionScan;

static gboolean
scan_option (const RtmfpOption * opt, gpointer user_data)
{
  OptionScan *s = user_data;

  /* 2.3.11.1: unrecognized types below 8192 must be understood */
  if (opt->type < RTMFP_UD_OPT_MUST_UNDERSTAND_LIMIT &&
      opt->type != RTMFP_UD_OPT_METADATA &&
      opt->type != RTMFP_UD_OPT_RETURN_ASSOCIATION)
    s->unknown = TRUE;
  return TRUE;
}

static void
recv_flow_do_reject (RtmfpRecvFlow * f, guint64 code)
{
  /* 3.6.3.7 */
  f->state = RTMFP_RECV_FLOW_REJECTED;
  f->ever_rejected = TRUE;
  recv_flow_clear_buffer (f);
  f->exception_code = code;
  f->should_ack = TRUE;
  g_debug ("flow %" G_GUINT64_FORMAT " rejected, code %" G_GUINT64_FORMAT,
      f->id, code);
}

void
rtmfp_recv_flow_on_chunk (RtmfpRecvFlow * f, const RtmfpUserDataChunk * c,
    gint64 now, gboolean * ack_now)
{
  gboolean ack = FALSE, dup, abn, fin, record = TRUE;
  guint64 fsn, seq;
  RecvEntry *new_entry = NULL;

  g_return_if_fail (f != NULL);
  g_return_if_fail (c != NULL);

  if (f->state == RTMFP_RECV_FLOW_CLOSED || c->flow_id != f->id)
    return;

  seq = c->seq;
  abn = (c->flags & RTMFP_UD_FLAG_ABN) != 0;
  fin = (c->flags & RTMFP_UD_FLAG_FIN) != 0;
  /* 2.3.11: seq > 0, fsnOffset <= seq, non-zero unless abandoned */
  if (seq == 0 || seq == G_MAXUINT64 || c->fsn_offset > seq ||
      (c->fsn_offset == 0 && !abn)) {
    g_debug ("flow %" G_GUINT64_FORMAT ": malformed chunk seq %"
        G_GUINT64_FORMAT " fsnOffset %" G_GUINT64_FORMAT " dropped", f->id, seq,
        c->fsn_offset);
    f->stats.fragments_dropped++;
    return;
  }
  fsn = seq - c->fsn_offset;

  /* 3.6.3.1 step 11: a new flow is acknowledged at once */
  if (!f->started) {
    f->started = TRUE;
    ack = TRUE;
  }

  /* 3.6.3.2 */
  f->should_ack = TRUE;                                 /* step 3 */
  f->reack = RECV_REACK;
  if (f->state == RTMFP_RECV_FLOW_OPEN && c->options_len) {     /* step 4 */
    OptionScan scan = { FALSE };
    gsize consumed;

    if (!rtmfp_option_list_parse (c->options, c->options_len, scan_option,
            &scan, &consumed) || scan.unknown)
      recv_flow_do_reject (f, 0);
  }
  if (f->state != RTMFP_RECV_FLOW_OPEN)                 /* step 5 */
    ack = TRUE;
  if (f->has_prev_rwnd && f->prev_rwnd < 2)             /* step 6 */
    ack = TRUE;
  if (abn)                                              /* step 7 */
    ack = TRUE;
  if (recv_flow_has_gaps (f))                           /* step 8 */
    ack = TRUE;
  dup = seqset_contains (f, seq);                       /* step 9 */
  if (dup) {
    ack = TRUE;
    f->stats.duplicates++;
  }
  if (!dup && fin && !f->has_final) {                   /* step 10 */
    f->has_final = TRUE;
    f->final_sn = seq;
    ack = TRUE;
  }

  /* Step 12 comes early: adding 0..FSN only ever merges ranges, and the
   * range count below must see it. */
  seqset_add (f, 0, fsn);

  /* Bounded memory: a fragment that would need one more range than an
   * ack can carry, or that would overfill the buffer beyond one packet
   * past the capacity, is dropped unrecorded (not acknowledged, so an
   * honest sender retransmits it). */
  if (!dup && f->seqset->len >= RECV_MAX_RANGES &&
      seqset_needs_new_range (f, seq))
    record = FALSE;

  if (record && !dup && !abn && f->state == RTMFP_RECV_FLOW_OPEN) { /* 11 */
    gsize cost = c->len + RECV_ENTRY_OVERHEAD;
    gsize limit = recv_flow_buffer_limit (f, seq == recv_flow_csn (f) + 1);

    if (cost > limit || f->buffered > limit - cost) {
      record = FALSE;
    } else {
      new_entry = g_new0 (RecvEntry, 1);
      new_entry->seq = seq;
      new_entry->fra = c->flags & RTMFP_UD_FRA_MASK;
      new_entry->len = c->len;
      new_entry->data = c->len ? g_memdup2 (c->data, c->len) : NULL;
      g_sequence_insert_sorted (f->buffer, new_entry, recv_entry_cmp, NULL);
      f->buffered += cost;
      f->stats.fragments_received++;
    }
  }
  if (!record) {
    f->stats.fragments_dropped++;
    if (fin && f->has_final && f->final_sn == seq && !dup)
      f->has_final = FALSE;     /* not recorded: learn it again */
    ack = TRUE;
  }

  if (record && !dup)
    seqset_add (f, seq, seq);                           /* step 13 */
  if (recv_flow_has_gaps (f))                           /* step 14 */
    ack = TRUE;

  /* 3.6.3.8: complete once 0..RF_FINAL_SN were all seen */
  if (f->has_final && recv_flow_csn (f) >= f->final_sn &&
      (f->state == RTMFP_RECV_FLOW_OPEN ||
          f->state == RTMFP_RECV_FLOW_REJECTED)) {
    f->state = RTMFP_RECV_FLOW_COMPLETE_LINGER;
    f->linger_end = now + RTMFP_RF_COMPLETE_LINGER_US;
    f->should_ack = TRUE;
    ack = TRUE;
    g_debug ("flow %" G_GUINT64_FORMAT " complete", f->id);
  }

  recv_flow_deliver (f, new_entry ? seq : 0);          /* step 16 */

  /* 3.6.3.4.1: less than one block of room left */
  if (f->capacity < f->buffered + 1024)
    ack = TRUE;

  if (ack && ack_now)
    *ack_now = TRUE;
}

void
rtmfp_recv_flow_on_buffer_probe (RtmfpRecvFlow * f)
{
  g_return_if_fail (f != NULL);

  /* 3.6.3.6 */
  if (f->state != RTMFP_RECV_FLOW_CLOSED)
    f->should_ack = TRUE;
}

void
rtmfp_recv_flow_reject (RtmfpRecvFlow * f, guint64 code)
{
  g_return_if_fail (f != NULL);

  if (f->state == RTMFP_RECV_FLOW_OPEN)
    recv_flow_do_reject (f, code);
}

gboolean
rtmfp_recv_flow_should_ack (const RtmfpRecvFlow * f)
{
  return f->should_ack && f->state != RTMFP_RECV_FLOW_CLOSED;
}

gboolean
rtmfp_recv_flow_wants_reack (const RtmfpRecvFlow * f)
{
  /* a rejected flow's exception report goes with its obligatory acks */
  return f->reack > 0 && (f->state == RTMFP_RECV_FLOW_OPEN ||
      f->state == RTMFP_RECV_FLOW_COMPLETE_LINGER);
}

gsize
rtmfp_recv_flow_append_ack (RtmfpRecvFlow * f, GByteArray * out,
    gsize max_len)
{
  RtmfpAckChunk *ack;
  gsize start, exc_len = 0, full_len, n;
  guint i;

  g_return_val_if_fail (f != NULL, 0);
  g_return_val_if_fail (out != NULL, 0);

  if (f->state == RTMFP_RECV_FLOW_CLOSED)
    return 0;

  start = out->len;
  /* 3.6.3.4.3 step 1: the exception report precedes the ack */
  if (f->state == RTMFP_RECV_FLOW_REJECTED) {
    rtmfp_flow_exception_chunk_append (out, f->id, f->exception_code);
    exc_len = out->len - start;
    if (exc_len >= max_len) {
      g_byte_array_set_size (out, start);
      return 0;
    }
  }

  ack = g_new0 (RtmfpAckChunk, 1);
  ack->flow_id = f->id;
  ack->buffer_blocks = recv_flow_window_blocks (f);
  ack->cumulative_ack = recv_flow_csn (f);
  for (i = 1; i < f->seqset->len && ack->n_ranges < RTMFP_ACK_MAX_RANGES; i++)
    ack->ranges[ack->n_ranges++] = RANGE (f, i);

  /* the size of the whole ack, to know whether truncation happened */
  g_byte_array_set_size (f->scratch, 0);
  full_len = rtmfp_ack_chunk_append (f->scratch, ack, G_MAXSIZE);

  n = rtmfp_ack_chunk_append (out, ack, max_len - exc_len);
  if (n == 0) {
    g_byte_array_set_size (out, start);
    g_free (ack);
    return 0;
  }
  /* 3.6.3.4.5: the whole ack went out, or it was truncated to fit an
   * otherwise empty packet (it could never fit better; keeping SHOULD_ACK
   * would only make the ACK_NOW loop spin) */
  if (!f->should_ack && f->reack > 0)
    f->reack--;                 /* a repeat */
  if (n >= full_len || max_len >= RTMFP_MAX_PLAIN_SIZE -
      RTMFP_PKT_MAX_HEADER_SIZE - RTMFP_CHUNK_HEADER_SIZE)
    f->should_ack = FALSE;
  f->has_prev_rwnd = TRUE;
  f->prev_rwnd = ack->buffer_blocks;
  g_free (ack);
  return out->len - start;
}

gboolean
rtmfp_recv_flow_tick (RtmfpRecvFlow * f, gint64 now)
{
  g_return_val_if_fail (f != NULL, FALSE);

  /* 3.6.3.8: resources are reclaimed once what was complete has been
   * delivered (a paused flow keeps it until resumed) */
  if (f->state == RTMFP_RECV_FLOW_COMPLETE_LINGER && now >= f->linger_end &&
      g_sequence_get_length (f->buffer) == 0)
    f->state = RTMFP_RECV_FLOW_CLOSED;
  return f->state == RTMFP_RECV_FLOW_CLOSED;
}

gint64
rtmfp_recv_flow_next_timeout (const RtmfpRecvFlow * f)
{
  if (f->state == RTMFP_RECV_FLOW_COMPLETE_LINGER)
    return f->linger_end;
  return RTMFP_NO_DEADLINE;
}
