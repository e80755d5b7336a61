/* Unit and simulated-link tests: RTMFP sending and receiving flows
 * (RFC 7016 sections 3.6.2, 3.6.3).
 *
 * The "link" below plays the part of two sessions: it moves the chunks a
 * sending flow emits (real packets, built with RtmfpPacketBuilder and parsed
 * back with the chunk parsers) to a receiving flow and its acknowledgements
 * back, with seeded loss, duplication and reordering, a simulated clock, a
 * TIMEOUT_ALARM (3.6.2.6), delayed acks (3.6.3.4.4), burst avoidance
 * (3.5.2.3) and the Appendix A congestion window.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>

#include "rtmfpflow.h"
#include "rtmfpcongestion.h"

#define MS G_TIME_SPAN_MILLISECOND
#define SEC G_TIME_SPAN_SECOND
#define NEVER G_MAXINT64
#define FLOW_ID 7
#define ASSOC_ID 3
#define ERTO_BASE (300 * MS)

/* ------------------------------------------------------------------ */
/* messages with a self-describing pattern */

static GBytes *
make_msg (guint32 idx, gsize len)
{
  guint8 *d;
  gsize j;

  g_assert_cmpuint (len, >=, 8);
  d = g_malloc (len);
  d[0] = idx >> 24;
  d[1] = idx >> 16;
  d[2] = idx >> 8;
  d[3] = idx;
  d[4] = len >> 24;
  d[5] = len >> 16;
  d[6] = len >> 8;
  d[7] = len;
  for (j = 8; j < len; j++)
    d[j] = (guint8) (idx * 131 + j * 7 + (j >> 8));
  return g_bytes_new_take (d, len);
}

/* Checks the pattern, returns the message index */
static guint32
check_msg (GBytes * b)
{
  gsize len, j;
  const guint8 *d = g_bytes_get_data (b, &len);
  guint32 idx, l;

  g_assert_cmpuint (len, >=, 8);
  idx = ((guint32) d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
  l = ((guint32) d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7];
  g_assert_cmpuint (l, ==, len);
  for (j = 8; j < len; j++)
    if (d[j] != (guint8) (idx * 131 + j * 7 + (j >> 8)))
      g_error ("message %u corrupt at byte %" G_GSIZE_FORMAT, idx, j);
  return idx;
}

/* ------------------------------------------------------------------ */
/* the link */

typedef struct {
  guint8 *data;
  gsize len;
  gint64 at;
  gboolean to_rx;
} Pkt;

typedef struct _Link Link;
typedef void (*AppFunc) (Link * l);
typedef void (*HookFunc) (Link * l, const guint8 * data, gsize len,
    gboolean to_rx);

struct _Link {
  GRand *rand;
  gint64 now;
  gdouble loss, dup;
  gint64 delay, jitter;
  gint64 bytes_per_sec;         /* serialisation rate, each direction */
  gint64 busy_until[2];         /* [to_rx] */
  GQueue wire;
  guint64 n_events;

  /* sender session */
  RtmfpSendFlow *sf;
  RtmfpCongestion cc;
  guint64 next_tsn, max_tsn_ack;
  gint64 timeout_alarm, erto;
  guint burst;
  gint64 sf_complete_at;

  /* receiver session */
  RtmfpRecvFlow *rf;
  guint n_flows_created;
  gboolean rf_freed;
  gboolean arrival_order;
  gsize capacity;
  gboolean start_paused;
  gboolean ack_now;
  gint64 delack_alarm;
  guint rx_data_packets;
  guint reject_after;
  guint64 reject_code;
  gint64 rf_complete_at;
  gint64 rf_closed_at;

  /* results */
  GPtrArray *msgs;              /* GBytes, delivery order */
  GArray *gaps;                 /* guint64 */
  GArray *delivered_at;         /* gint64 */
  guint n_complete;
  gsize max_buffered;
  guint n_data_pkts, n_ack_pkts, n_probes, n_exceptions;
  GArray *probe_times;          /* gint64 */
  gboolean saw_zero_window;

  AppFunc app;
  gint64 app_next;
  gpointer app_data;
  HookFunc hook;
  gpointer hook_data;
};

static Link *
link_new (guint32 seed)
{
  Link *l = g_new0 (Link, 1);

  l->rand = g_rand_new_with_seed (seed);
  l->now = 1000 * SEC;          /* any origin */
  l->delay = 20 * MS;
  l->bytes_per_sec = 2 * 1000 * 1000;
  g_queue_init (&l->wire);
  rtmfp_congestion_init (&l->cc, RTMFP_MAX_PLAIN_SIZE);
  l->next_tsn = 1;
  l->timeout_alarm = NEVER;
  l->erto = ERTO_BASE;
  l->sf_complete_at = NEVER;
  l->delack_alarm = NEVER;
  l->rf_complete_at = NEVER;
  l->rf_closed_at = NEVER;
  l->msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  l->gaps = g_array_new (FALSE, FALSE, sizeof (guint64));
  l->delivered_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  l->probe_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  l->app_next = NEVER;
  return l;
}

static void
pkt_free (Pkt * p)
{
  g_free (p->data);
  g_free (p);
}

static void
link_free (Link * l)
{
  g_queue_clear_full (&l->wire, (GDestroyNotify) pkt_free);
  rtmfp_send_flow_free (l->sf);
  rtmfp_recv_flow_free (l->rf);
  g_ptr_array_unref (l->msgs);
  g_array_unref (l->gaps);
  g_array_unref (l->delivered_at);
  g_array_unref (l->probe_times);
  g_rand_free (l->rand);
  g_free (l);
}

static void
wire_put (Link * l, const guint8 * data, gsize len, gboolean to_rx)
{
  guint copies = 1, i;
  gint64 sent;

  if (l->hook)
    l->hook (l, data, len, to_rx);
  /* serialised at the link rate, then propagation delay and jitter */
  sent = MAX (l->now, l->busy_until[to_rx]) + len * SEC / l->bytes_per_sec;
  l->busy_until[to_rx] = sent;
  if (g_rand_double (l->rand) < l->loss)
    copies = 0;
  else if (g_rand_double (l->rand) < l->dup)
    copies = 2;
  for (i = 0; i < copies; i++) {
    Pkt *p = g_new0 (Pkt, 1);
    GList *it;

    p->data = g_memdup2 (data, len);
    p->len = len;
    p->to_rx = to_rx;
    p->at = sent + l->delay +
        (l->jitter ? g_rand_int_range (l->rand, 0, l->jitter) : 0);
    /* sorted by arrival time, FIFO among equals */
    for (it = l->wire.tail; it && ((Pkt *) it->data)->at > p->at; it = it->prev);
    if (it)
      g_queue_insert_after (&l->wire, it, p);
    else
      g_queue_push_head (&l->wire, p);
  }
}

/* Calls func for every chunk of a plain packet */
typedef void (*ChunkFunc) (const RtmfpChunk * c, guint index, gpointer data);

static guint
for_each_chunk (const guint8 * data, gsize len, ChunkFunc func, gpointer ud)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk c;
  guint n = 0;

  g_assert_true (rtmfp_packet_parse (data, len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &c))
    func (&c, n++, ud);
  return n;
}

/* ---- receiver side ---- */

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer user_data)
{
  Link *l = user_data;

  g_ptr_array_add (l->msgs, g_bytes_new (data, len));
  g_array_append_val (l->gaps, gap);
  g_array_append_val (l->delivered_at, l->now);
  if (l->reject_after && l->msgs->len == l->reject_after) {
    rtmfp_recv_flow_reject (f, l->reject_code);
    l->ack_now = TRUE;          /* 3.6.3.7 step 5 */
  }
}

static void
on_complete (RtmfpRecvFlow * f, gpointer user_data)
{
  Link *l = user_data;

  l->n_complete++;
}

typedef struct {
  gboolean has_meta;
  const guint8 *meta;
  gsize meta_len;
  gboolean has_assoc;
  guint64 assoc;
} OpenOptions;

static gboolean
scan_open_option (const RtmfpOption * opt, gpointer user_data)
{
  OpenOptions *o = user_data;

  if (opt->type == RTMFP_UD_OPT_METADATA && !o->has_meta) {
    o->has_meta = TRUE;
    o->meta = opt->value;
    o->meta_len = opt->len;
  } else if (opt->type == RTMFP_UD_OPT_RETURN_ASSOCIATION) {
    gsize n;

    o->has_assoc = rtmfp_vlu_decode (opt->value, opt->len, &o->assoc, &n);
  }
  return TRUE;
}

/* 3.6.3.1, as a session would do it */
static void
receiver_open_flow (Link * l, const RtmfpUserDataChunk * c)
{
  OpenOptions o = { 0 };
  gsize consumed;

  if (c->options_len)
    g_assert_true (rtmfp_option_list_parse (c->options, c->options_len,
            scan_open_option, &o, &consumed));
  l->rf = rtmfp_recv_flow_new (c->flow_id, o.meta, o.meta_len, o.has_assoc,
      o.assoc);
  l->n_flows_created++;
  rtmfp_recv_flow_set_delivery (l->rf, l->arrival_order, on_message,
      on_complete, l);
  if (l->capacity)
    rtmfp_recv_flow_set_buffer_capacity (l->rf, l->capacity);
  if (l->start_paused)
    rtmfp_recv_flow_set_paused (l->rf, TRUE);
  if (!o.has_meta)
    rtmfp_recv_flow_reject (l->rf, 0);
  l->ack_now = TRUE;
}

static void
receiver_chunk (Link * l, const RtmfpUserDataChunk * c)
{
  RtmfpRecvFlowState before;

  g_assert_cmpuint (c->flow_id, ==, FLOW_ID);
  if (!l->rf)
    receiver_open_flow (l, c);
  before = rtmfp_recv_flow_get_state (l->rf);
  rtmfp_recv_flow_on_chunk (l->rf, c, l->now, &l->ack_now);
  if (before != RTMFP_RECV_FLOW_COMPLETE_LINGER &&
      rtmfp_recv_flow_get_state (l->rf) == RTMFP_RECV_FLOW_COMPLETE_LINGER)
    l->rf_complete_at = l->now;
  l->max_buffered = MAX (l->max_buffered,
      rtmfp_recv_flow_get_buffered_size (l->rf));
}

static void
receiver_input (Link * l, const guint8 * data, gsize len)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  RtmfpUserDataChunk prev, c;
  gboolean have_prev = FALSE, any_ud = FALSE;

  g_assert_true (rtmfp_packet_parse (data, len, &p));
  g_assert_cmpint (rtmfp_packet_mode (&p), ==, RTMFP_MODE_INITIATOR);
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    switch (ch.type) {
      case RTMFP_CHUNK_USER_DATA:
        g_assert_true (rtmfp_user_data_chunk_parse (ch.data, ch.len, &c));
        if (l->rf_freed)
          break;                /* a closed flow: a session would start a
                                 * new one; count it instead */
        receiver_chunk (l, &c);
        prev = c;
        have_prev = any_ud = TRUE;
        break;
      case RTMFP_CHUNK_NEXT_USER_DATA:
        g_assert_true (have_prev);
        g_assert_true (rtmfp_next_user_data_chunk_parse (ch.data, ch.len,
                &prev, &c));
        if (l->rf_freed)
          break;
        receiver_chunk (l, &c);
        prev = c;
        any_ud = TRUE;
        break;
      case RTMFP_CHUNK_BUFFER_PROBE:{
        guint64 id;

        g_assert_true (rtmfp_buffer_probe_chunk_parse (ch.data, ch.len, &id));
        g_assert_cmpuint (id, ==, FLOW_ID);
        if (l->rf) {
          rtmfp_recv_flow_on_buffer_probe (l->rf);
          l->ack_now = TRUE;
        }
        have_prev = FALSE;
        break;
      }
      default:
        g_assert_not_reached ();
    }
  }
  /* 3.6.3.2: every second packet with user data is acked at once */
  if (any_ud) {
    if (++l->rx_data_packets >= 2)
      l->ack_now = TRUE;
    if (!l->ack_now && l->delack_alarm == NEVER)
      l->delack_alarm = l->now + 200 * MS;
  }
}

static void
receiver_ack (Link * l)
{
  GByteArray *p;

  if (!l->ack_now)
    return;
  l->ack_now = FALSE;
  l->rx_data_packets = 0;
  l->delack_alarm = NEVER;
  if (!l->rf || !rtmfp_recv_flow_should_ack (l->rf))
    return;
  p = g_byte_array_new ();
  g_byte_array_append (p, (const guint8 *) "\x02", 1);  /* responder mark */
  if (rtmfp_recv_flow_append_ack (l->rf, p, RTMFP_MAX_PLAIN_SIZE - 1) > 0) {
    l->n_ack_pkts++;
    wire_put (l, p->data, p->len, FALSE);
  }
  g_byte_array_unref (p);
}

/* ---- sender side ---- */

static void
sender_input (Link * l, const guint8 * data, gsize len)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  RtmfpAckContext ctx = { 0 };
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  gboolean any_ack = FALSE;
  guint64 pre = l->sf ? rtmfp_send_flow_get_outstanding_bytes (l->sf) : 0;

  ctx.max_tsn_acked = l->max_tsn_ack;
  g_assert_true (rtmfp_packet_parse (data, len, &p));
  g_assert_cmpint (rtmfp_packet_mode (&p), ==, RTMFP_MODE_RESPONDER);
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    switch (ch.type) {
      case RTMFP_CHUNK_ACK_BITMAP:
      case RTMFP_CHUNK_ACK_RANGES:
        if (ch.type == RTMFP_CHUNK_ACK_BITMAP)
          g_assert_true (rtmfp_ack_bitmap_chunk_parse (ch.data, ch.len, ack));
        else
          g_assert_true (rtmfp_ack_ranges_chunk_parse (ch.data, ch.len, ack));
        g_assert_cmpuint (ack->flow_id, ==, FLOW_ID);
        if (ack->buffer_blocks == 0)
          l->saw_zero_window = TRUE;
        if (l->sf)
          rtmfp_send_flow_on_ack (l->sf, ack, &ctx, l->now);
        any_ack = TRUE;
        break;
      case RTMFP_CHUNK_FLOW_EXCEPTION:{
        guint64 id, code;

        g_assert_true (rtmfp_flow_exception_chunk_parse (ch.data, ch.len,
                &id, &code));
        g_assert_cmpuint (id, ==, FLOW_ID);
        l->n_exceptions++;
        if (l->sf)
          rtmfp_send_flow_on_exception (l->sf, code);
        break;
      }
      default:
        g_assert_not_reached ();
    }
  }
  if (any_ack && l->sf) {
    RtmfpCongestionAck ca = { 0 };

    rtmfp_send_flow_on_acks_done (l->sf, &ctx);
    l->max_tsn_ack = ctx.max_tsn_acked;
    ca.acked_bytes = ctx.acked_bytes;
    ca.pre_ack_outstanding = pre;
    ca.any_loss = ctx.any_loss;
    ca.any_nak = ctx.any_nak;
    ca.fastgrow = TRUE;
    rtmfp_congestion_on_acks (&l->cc, &ca);
    if (l->timeout_alarm != NEVER)
      l->timeout_alarm = l->now + l->erto;
    l->erto = ERTO_BASE;
    l->burst = 0;
    if (l->sf_complete_at == NEVER && rtmfp_send_flow_is_complete (l->sf))
      l->sf_complete_at = l->now;
  }
  g_free (ack);
}

static void
sender_pump (Link * l)
{
  while (l->sf && l->burst < 6 && rtmfp_send_flow_is_ready (l->sf, l->now)) {
    RtmfpPacketBuilder b;
    RtmfpEmitContext ctx = { 0 };
    guint64 out = rtmfp_send_flow_get_outstanding_bytes (l->sf);
    gboolean added;

    ctx.next_tsn = l->next_tsn;
    ctx.budget = out < l->cc.cwnd ? l->cc.cwnd - out : 0;
    rtmfp_packet_builder_init (&b, RTMFP_MODE_INITIATOR, 0, 0,
        RTMFP_MAX_PLAIN_SIZE);
    added = rtmfp_send_flow_emit (l->sf, &b, &ctx, l->now);
    g_assert_cmpuint (ctx.next_tsn, >=, l->next_tsn);
    l->next_tsn = ctx.next_tsn;
    if (added) {
      gsize len;
      const guint8 *d = rtmfp_packet_builder_data (&b, &len);

      g_assert_cmpuint (len, <=, RTMFP_MAX_PLAIN_SIZE);
      if (ctx.any_user_data) {
        l->timeout_alarm = l->now + l->erto;
        l->burst++;
        l->n_data_pkts++;
      }
      wire_put (l, d, len, TRUE);
    }
    rtmfp_packet_builder_clear (&b);
    if (!added)
      break;
  }
}

/* ---- event loop ---- */

typedef gboolean (*DoneFunc) (Link * l);

static gint64
link_next_event (Link * l)
{
  gint64 t = NEVER, ft;

  if (l->wire.head)
    t = MIN (t, ((Pkt *) l->wire.head->data)->at);
  t = MIN (t, l->timeout_alarm);
  t = MIN (t, l->delack_alarm);
  t = MIN (t, l->app_next);
  if (l->sf) {
    ft = rtmfp_send_flow_next_timeout (l->sf);
    if (ft != NEVER)
      t = MIN (t, MAX (ft, l->now + 1));
  }
  if (l->rf) {
    ft = rtmfp_recv_flow_next_timeout (l->rf);
    if (ft != NEVER)
      t = MIN (t, MAX (ft, l->now + 1));
  }
  return t;
}

static void
link_process (Link * l)
{
  while (l->wire.head && ((Pkt *) l->wire.head->data)->at <= l->now) {
    Pkt *p = g_queue_pop_head (&l->wire);

    if (p->to_rx)
      receiver_input (l, p->data, p->len);
    else
      sender_input (l, p->data, p->len);
    pkt_free (p);
  }
  if (l->timeout_alarm <= l->now) {
    gboolean was_loss = FALSE;

    /* 3.6.2.6 */
    if (l->sf)
      was_loss = rtmfp_send_flow_on_timeout (l->sf);
    rtmfp_congestion_on_timeout (&l->cc, was_loss);
    if (was_loss)
      l->erto = MIN (l->erto * 14142 / 10000, 10 * SEC);
    l->timeout_alarm = NEVER;
    l->burst = 0;
  }
  if (l->delack_alarm <= l->now) {
    l->delack_alarm = NEVER;
    l->ack_now = TRUE;
  }
  if (l->sf)
    rtmfp_send_flow_expire (l->sf, l->now);
}

/* Runs until done() (TRUE) or the simulated time passes `until` (FALSE) */
static gboolean
link_run (Link * l, DoneFunc done, gint64 until)
{
  for (;;) {
    gint64 t;

    if (l->app && l->now >= l->app_next)
      l->app (l);
    sender_pump (l);
    receiver_ack (l);
    if (l->sf && rtmfp_send_flow_tick (l->sf, l->now))
      g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
          RTMFP_SEND_FLOW_CLOSED);
    if (l->rf && rtmfp_recv_flow_tick (l->rf, l->now)) {
      l->rf_closed_at = l->now;
      rtmfp_recv_flow_free (l->rf);
      l->rf = NULL;
      l->rf_freed = TRUE;
    }
    if (done && done (l))
      return TRUE;
    t = link_next_event (l);
    if (t == NEVER || t > until) {
      l->now = MAX (l->now, until);
      return FALSE;
    }
    g_assert_cmpint (t, >=, l->now);
    l->now = t;
    link_process (l);
    g_assert_cmpuint (++l->n_events, <, 5000000);
  }
}

static gboolean
done_sender_complete (Link * l)
{
  return l->sf_complete_at != NEVER;
}

static gboolean
done_transfer (Link * l)
{
  return l->n_complete > 0 && l->sf_complete_at != NEVER;
}

/* ------------------------------------------------------------------ */
/* reliable bulk transfer */

static RtmfpSendFlow *
new_sender (void)
{
  return rtmfp_send_flow_new (FLOW_ID, (const guint8 *) "meta", 4, TRUE,
      ASSOC_ID);
}

/* Queues about 1 MB of variable-size messages; returns how many */
static guint
queue_bulk (Link * l, RtmfpSendFlow * sf, gsize total)
{
  gsize queued = 0;
  guint i;

  for (i = 0; queued < total; i++) {
    gsize len = (i % 50 == 49) ? (gsize) g_rand_int_range (l->rand, 5000,
        40000) : (gsize) g_rand_int_range (l->rand, 8, 3000);
    GBytes *m = make_msg (i, len);

    g_assert_true (rtmfp_send_flow_write (sf, g_bytes_get_data (m, NULL),
            len, RTMFP_NO_DEADLINE, 0));
    g_bytes_unref (m);
    queued += len;
  }
  return i;
}

static void
run_bulk (guint32 seed, gdouble loss, gdouble dup, gint64 jitter,
    gboolean arrival_order)
{
  Link *l = link_new (seed);
  guint n, i, inversions = 0;
  RtmfpSendFlowStats ss;
  RtmfpRecvFlowStats rs;
  guint8 *seen;
  gsize meta_len;
  const guint8 *meta;
  guint64 assoc;

  l->loss = loss;
  l->dup = dup;
  l->jitter = jitter;
  l->arrival_order = arrival_order;
  l->sf = new_sender ();
  n = queue_bulk (l, l->sf, 1024 * 1024);
  rtmfp_send_flow_close (l->sf);
  g_assert_false (rtmfp_send_flow_write (l->sf, (const guint8 *) "12345678",
          8, RTMFP_NO_DEADLINE, 0));

  g_assert_true (link_run (l, done_transfer, l->now + 3600 * SEC));

  /* the receiver got the metadata and association of the startup options */
  g_assert_nonnull (l->rf);
  meta = rtmfp_recv_flow_get_metadata (l->rf, &meta_len);
  g_assert_cmpmem (meta, meta_len, "meta", 4);
  g_assert_true (rtmfp_recv_flow_get_association (l->rf, &assoc));
  g_assert_cmpuint (assoc, ==, ASSOC_ID);
  g_assert_cmpuint (l->n_flows_created, ==, 1);

  /* every message exactly once, intact, no gaps */
  g_assert_cmpuint (l->msgs->len, ==, n);
  seen = g_malloc0 (n);
  for (i = 0; i < n; i++) {
    guint32 idx = check_msg (g_ptr_array_index (l->msgs, i));

    g_assert_cmpuint (idx, <, n);
    g_assert_false (seen[idx]);
    seen[idx] = 1;
    if (!arrival_order)
      g_assert_cmpuint (idx, ==, i);
    else if (i > 0 && idx < check_msg (g_ptr_array_index (l->msgs, i - 1)))
      inversions++;
    g_assert_cmpuint (g_array_index (l->gaps, guint64, i), ==, 0);
  }
  g_free (seen);
  g_assert_cmpuint (l->n_complete, ==, 1);

  rtmfp_send_flow_get_stats (l->sf, &ss);
  rtmfp_recv_flow_get_stats (l->rf, &rs);
  g_assert_cmpuint (ss.messages_queued, ==, n);
  g_assert_cmpuint (ss.messages_abandoned, ==, 0);
  g_assert_cmpuint (rs.messages_delivered, ==, n);
  g_assert_cmpuint (rs.sequence_gaps, ==, 0);
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (l->sf), ==, 0);
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (l->sf), ==, 0);
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_COMPLETE_LINGER);
  g_assert_cmpint (rtmfp_recv_flow_get_state (l->rf), ==,
      RTMFP_RECV_FLOW_COMPLETE_LINGER);
  if (loss == 0 && dup == 0) {
    g_assert_cmpuint (ss.fragments_retransmitted, ==, 0);
    g_assert_cmpuint (ss.fragments_lost, ==, 0);
    g_assert_cmpuint (rs.duplicates, ==, 0);
  } else {
    g_assert_cmpuint (ss.fragments_retransmitted, >, 0);
    g_assert_cmpuint (ss.fragments_lost, >, 0);
    g_assert_cmpuint (rs.duplicates, >, 0);
  }
  if (arrival_order && jitter)
    g_assert_cmpuint (inversions, >, 0);
  /* a reliable sender keeps within the window: nothing refused */
  g_assert_cmpuint (rs.fragments_dropped, ==, 0);
  g_test_message ("%u messages, %u data packets, %u ack packets, "
      "%" G_GUINT64_FORMAT " retransmitted, %.1f s simulated", n,
      l->n_data_pkts, l->n_ack_pkts, ss.fragments_retransmitted,
      (l->now - 1000 * SEC) / 1e6);
  link_free (l);
}

static void
test_bulk_clean (void)
{
  run_bulk (1, 0, 0, 0, FALSE);
}

static void
test_bulk_lossy (void)
{
  /* 10% loss each way, 5% duplication, up to 30 ms jitter (reordering) */
  run_bulk (2, 0.10, 0.05, 30 * MS, FALSE);
  run_bulk (3, 0.10, 0.05, 30 * MS, FALSE);
}

static void
test_arrival_order (void)
{
  run_bulk (4, 0.10, 0.05, 30 * MS, TRUE);
}

/* ------------------------------------------------------------------ */
/* fragmentation */

static void
test_large_message (void)
{
  Link *l = link_new (5);
  GBytes *m = make_msg (77, 100000);
  RtmfpSendFlowStats ss;
  gsize frag;

  l->loss = 0.05;
  l->jitter = 10 * MS;
  l->sf = new_sender ();
  g_assert_true (rtmfp_send_flow_write (l->sf, g_bytes_get_data (m, NULL),
          100000, RTMFP_NO_DEADLINE, 0));
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (l->sf), ==, 100000);
  rtmfp_send_flow_close (l->sf);
  g_assert_true (link_run (l, done_transfer, l->now + 600 * SEC));
  g_assert_cmpuint (l->msgs->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (l->msgs, 0), m));

  /* fragments no larger than the default fragment size, which leaves
   * room for a maximal User Data header and the startup options */
  rtmfp_send_flow_get_stats (l->sf, &ss);
  frag = RTMFP_MAX_PLAIN_SIZE - RTMFP_PKT_MAX_HEADER_SIZE - 34 - 12;
  g_assert_cmpuint (ss.fragments_sent, >=, (100000 + frag - 1) / frag);
  g_assert_cmpuint (ss.fragments_sent, <=, 100000 / 900 + 2);
  g_bytes_unref (m);
  link_free (l);
}

static void
test_progress_guarantee (void)
{
  guint8 meta[RTMFP_MAX_METADATA_SIZE];
  RtmfpSendFlow *sf;
  RtmfpPacketBuilder b;
  RtmfpEmitContext ctx = { 0 };
  guint8 *data = g_malloc0 (5000);

  /* worst case: 512 bytes of metadata, a 10-byte association and flow
   * ID, and sequence numbers needing long VLUs: a fragment with its
   * User Data header and options still fits an empty packet. */
  memset (meta, 'm', sizeof (meta));
  sf = rtmfp_send_flow_new (G_MAXUINT64 - 1, meta, sizeof (meta), TRUE,
      G_MAXUINT64);
  rtmfp_send_flow_set_fragment_size (sf, 100000);       /* clamped */
  g_assert_true (rtmfp_send_flow_write (sf, data, 5000, RTMFP_NO_DEADLINE, 0));
  ctx.next_tsn = 1;
  ctx.budget = G_MAXUINT64;
  rtmfp_packet_builder_init (&b, RTMFP_MODE_INITIATOR | RTMFP_PKT_FLAG_TS |
      RTMFP_PKT_FLAG_TSE, 1, 2, RTMFP_MAX_PLAIN_SIZE);
  g_assert_true (rtmfp_send_flow_emit (sf, &b, &ctx, 0));
  g_assert_cmpuint (b.n_chunks, ==, 1);
  g_assert_cmpuint (b.buf->len, <=, RTMFP_MAX_PLAIN_SIZE);
  /* and it was a big fragment (not a degenerate small one) */
  g_assert_cmpuint (b.buf->len, >, RTMFP_MAX_PLAIN_SIZE - 40);
  rtmfp_packet_builder_clear (&b);
  rtmfp_send_flow_free (sf);
  g_free (data);
}

/* ------------------------------------------------------------------ */
/* partial reliability */

typedef struct {
  guint n_total, n_written;
  gint64 lifetime;
  GArray *first_seq, *last_seq; /* guint64 per message */
  GArray *written_at;
  guint64 next_seq;
  gsize frag;
} PartialApp;

static void
partial_app (Link * l)
{
  PartialApp *a = l->app_data;
  gsize len = (a->n_written % 7 == 3) ? 2500 : 8 + a->n_written % 900;
  GBytes *m = make_msg (a->n_written, len);
  guint64 nfrag = (len + a->frag - 1) / a->frag, last;
  gint64 deadline = a->n_written + 1 == a->n_total ? RTMFP_NO_DEADLINE :
      l->now + a->lifetime;

  g_assert_true (rtmfp_send_flow_write (l->sf, g_bytes_get_data (m, NULL),
          len, deadline, 0));
  g_bytes_unref (m);
  g_array_append_val (a->first_seq, a->next_seq);
  last = a->next_seq + nfrag - 1;
  g_array_append_val (a->last_seq, last);
  g_array_append_val (a->written_at, l->now);
  a->next_seq += nfrag;
  if (++a->n_written == a->n_total) {
    rtmfp_send_flow_close (l->sf);
    l->app_next = NEVER;
  } else {
    l->app_next = l->now + 20 * MS;
  }
}

static void
test_partial_reliability (void)
{
  Link *l = link_new (6);
  PartialApp a = { 0 };
  RtmfpSendFlowStats ss;
  RtmfpRecvFlowStats rs;
  guint i, n_gaps = 0;
  guint64 gap_sum = 0;
  gint64 max_latency = 0;

  l->loss = 0.2;
  l->jitter = 20 * MS;
  l->sf = new_sender ();
  a.frag = 1000;
  rtmfp_send_flow_set_fragment_size (l->sf, a.frag);
  a.n_total = 500;
  a.lifetime = 150 * MS;
  a.first_seq = g_array_new (FALSE, FALSE, sizeof (guint64));
  a.last_seq = g_array_new (FALSE, FALSE, sizeof (guint64));
  a.written_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  a.next_seq = 1;
  l->app = partial_app;
  l->app_data = &a;
  l->app_next = l->now;

  g_assert_true (link_run (l, done_transfer, l->now + 3600 * SEC));

  rtmfp_send_flow_get_stats (l->sf, &ss);
  rtmfp_recv_flow_get_stats (l->rf, &rs);
  g_assert_cmpuint (ss.messages_abandoned, >, 10);
  g_assert_cmpuint (l->msgs->len, <, a.n_total);
  g_assert_cmpuint (l->msgs->len + ss.messages_abandoned, >=, a.n_total);

  /* in order, intact, and the gap reported is exactly the count of
   * sequence numbers skipped since the previous delivered message */
  for (i = 0; i < l->msgs->len; i++) {
    guint32 idx = check_msg (g_ptr_array_index (l->msgs, i));
    guint64 gap = g_array_index (l->gaps, guint64, i);
    guint64 prev_last = 0;
    gint64 latency;

    if (i > 0) {
      guint32 pidx = check_msg (g_ptr_array_index (l->msgs, i - 1));

      g_assert_cmpuint (idx, >, pidx);
      prev_last = g_array_index (a.last_seq, guint64, pidx);
    }
    g_assert_cmpuint (gap, ==,
        g_array_index (a.first_seq, guint64, idx) - prev_last - 1);
    if (gap)
      n_gaps++;
    gap_sum += gap;
    latency = g_array_index (l->delivered_at, gint64, i) -
        g_array_index (a.written_at, gint64, idx);
    max_latency = MAX (max_latency, latency);
  }
  g_assert_cmpuint (n_gaps, >, 0);
  g_assert_cmpuint (rs.sequence_gaps, ==, gap_sum);
  /* the last message (reliable) arrived; the receiver never stalled:
   * nothing waited for long behind an abandoned message */
  g_assert_cmpuint (check_msg (g_ptr_array_index (l->msgs,
              l->msgs->len - 1)), ==, a.n_total - 1);
  g_assert_cmpint (max_latency, <, 3 * SEC);
  g_assert_cmpuint (l->n_complete, ==, 1);
  g_test_message ("%u of %u delivered, %" G_GUINT64_FORMAT " abandoned, "
      "max latency %" G_GINT64_FORMAT " ms", l->msgs->len, a.n_total,
      ss.messages_abandoned, max_latency / MS);

  g_array_unref (a.first_seq);
  g_array_unref (a.last_seq);
  g_array_unref (a.written_at);
  link_free (l);
}

/* ------------------------------------------------------------------ */
/* close and linger */

typedef struct {
  gboolean saw_fin;
  gboolean fin_abandoned;
  guint64 fin_seq;
  gsize fin_len;
  RtmfpUserDataChunk prev;
} FinWatch;

static void
fin_chunk (const RtmfpChunk * ch, guint index, gpointer data)
{
  FinWatch *w = data;
  RtmfpUserDataChunk c;

  if (ch->type == RTMFP_CHUNK_USER_DATA)
    g_assert_true (rtmfp_user_data_chunk_parse (ch->data, ch->len, &c));
  else if (ch->type == RTMFP_CHUNK_NEXT_USER_DATA)
    g_assert_true (rtmfp_next_user_data_chunk_parse (ch->data, ch->len,
            &w->prev, &c));
  else
    return;
  w->prev = c;
  if (c.flags & RTMFP_UD_FLAG_FIN) {
    w->saw_fin = TRUE;
    w->fin_abandoned = (c.flags & RTMFP_UD_FLAG_ABN) != 0;
    w->fin_seq = c.seq;
    w->fin_len = c.len;
  }
}

static void
fin_hook (Link * l, const guint8 * data, gsize len, gboolean to_rx)
{
  if (to_rx)
    for_each_chunk (data, len, fin_chunk, l->hook_data);
}

static void
run_close (gboolean close_early)
{
  Link *l = link_new (8);
  FinWatch w = { 0 };
  guint i;
  gint64 t0;

  l->hook = fin_hook;
  l->hook_data = &w;
  l->sf = new_sender ();
  for (i = 0; i < 5; i++) {
    GBytes *m = make_msg (i, 100);

    g_assert_true (rtmfp_send_flow_write (l->sf, g_bytes_get_data (m, NULL),
            100, RTMFP_NO_DEADLINE, 0));
    g_bytes_unref (m);
  }
  if (close_early) {
    /* 3.6.2.11 step 2: the unsent tail entry becomes the final one */
    rtmfp_send_flow_close (l->sf);
  } else {
    /* everything sent and acked first: step 3 adds an abandoned entry */
    g_assert_false (link_run (l, NULL, l->now + 5 * SEC));
    g_assert_cmpuint (l->msgs->len, ==, 5);
    g_assert_cmpuint (l->n_complete, ==, 0);
    rtmfp_send_flow_close (l->sf);
  }
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_CLOSING);
  g_assert_true (link_run (l, done_transfer, l->now + 60 * SEC));
  g_assert_cmpuint (l->msgs->len, ==, 5);
  g_assert_true (w.saw_fin);
  if (close_early) {
    g_assert_false (w.fin_abandoned);
    g_assert_cmpuint (w.fin_seq, ==, 5);
    g_assert_cmpuint (w.fin_len, ==, 100);
  } else {
    g_assert_true (w.fin_abandoned);
    g_assert_cmpuint (w.fin_seq, ==, 6);
    g_assert_cmpuint (w.fin_len, ==, 0);
  }

  /* both linger: the receiver 120 s, the sender 130 s (3.6.2.11, 3.6.3.8) */
  g_assert_cmpint (l->rf_complete_at, <=, l->sf_complete_at);
  g_assert_cmpint (rtmfp_recv_flow_get_state (l->rf), ==,
      RTMFP_RECV_FLOW_COMPLETE_LINGER);
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_COMPLETE_LINGER);
  g_assert_cmpint (rtmfp_recv_flow_next_timeout (l->rf), ==,
      l->rf_complete_at + RTMFP_RF_COMPLETE_LINGER_US);
  g_assert_cmpint (rtmfp_send_flow_next_timeout (l->sf), ==,
      l->sf_complete_at + RTMFP_F_COMPLETE_LINGER_US);
  t0 = l->now;
  g_assert_false (link_run (l, NULL, l->rf_complete_at + 120 * SEC - 1));
  g_assert_nonnull (l->rf);
  g_assert_false (rtmfp_recv_flow_tick (l->rf, l->now));
  g_assert_false (link_run (l, NULL, l->rf_complete_at + 120 * SEC));
  g_assert_null (l->rf);
  g_assert_cmpint (l->rf_closed_at, ==, l->rf_complete_at + 120 * SEC);
  g_assert_false (rtmfp_send_flow_tick (l->sf, l->sf_complete_at + 130 * SEC
          - 1));
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_COMPLETE_LINGER);
  g_assert_true (rtmfp_send_flow_tick (l->sf, l->sf_complete_at + 130 * SEC));
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_CLOSED);
  g_assert_cmpint (rtmfp_send_flow_next_timeout (l->sf), ==, NEVER);
  g_assert_cmpint (l->now, >, t0);
  g_assert_cmpuint (l->n_flows_created, ==, 1);
  link_free (l);
}

static void
test_close (void)
{
  run_close (TRUE);
  run_close (FALSE);
}

/* ------------------------------------------------------------------ */
/* reject -> exception */

typedef struct {
  gint prev_type;
  guint64 code;
  guint n_checked;
  RtmfpRecvFlow **rf;
} ExcWatch;

static void
exc_chunk (const RtmfpChunk * ch, guint index, gpointer data)
{
  ExcWatch *w = data;

  if (ch->type == RTMFP_CHUNK_ACK_BITMAP || ch->type == RTMFP_CHUNK_ACK_RANGES) {
    if (*w->rf && rtmfp_recv_flow_get_state (*w->rf) ==
        RTMFP_RECV_FLOW_REJECTED) {
      /* 3.6.3.4.3 step 1: the report immediately precedes every ack */
      g_assert_cmpint (w->prev_type, ==, RTMFP_CHUNK_FLOW_EXCEPTION);
      w->n_checked++;
    }
  } else if (ch->type == RTMFP_CHUNK_FLOW_EXCEPTION) {
    guint64 id, code;

    g_assert_true (rtmfp_flow_exception_chunk_parse (ch->data, ch->len, &id,
            &code));
    g_assert_cmpuint (code, ==, w->code);
  }
  w->prev_type = ch->type;
}

static void
exc_hook (Link * l, const guint8 * data, gsize len, gboolean to_rx)
{
  ExcWatch *w = l->hook_data;

  if (!to_rx) {
    w->prev_type = -1;
    for_each_chunk (data, len, exc_chunk, w);
  }
}

static void
test_reject (void)
{
  Link *l = link_new (9);
  ExcWatch w = { 0 };
  RtmfpSendFlowStats ss;
  guint64 code = 0;
  guint n;

  l->loss = 0.05;
  l->jitter = 10 * MS;
  l->reject_after = 5;
  l->reject_code = 42;
  w.code = 42;
  w.rf = &l->rf;
  l->hook = exc_hook;
  l->hook_data = &w;
  l->sf = new_sender ();
  n = queue_bulk (l, l->sf, 300 * 1024);

  g_assert_true (link_run (l, done_sender_complete, l->now + 600 * SEC));
  /* the sender learnt the code, abandoned everything, closed; the FIN
   * went through and the rejected receiver completed */
  g_assert_true (rtmfp_send_flow_get_exception (l->sf, &code));
  g_assert_cmpuint (code, ==, 42);
  g_assert_false (rtmfp_send_flow_write (l->sf, (const guint8 *) "12345678",
          8, RTMFP_NO_DEADLINE, 0));
  rtmfp_send_flow_get_stats (l->sf, &ss);
  /* (what was delivered but not yet acked when the report came counts
   * as abandoned too: the exception precedes the ack in the packet) */
  g_assert_cmpuint (ss.messages_abandoned, >, n / 2);
  g_assert_cmpuint (ss.messages_abandoned, <=, n);
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (l->sf), ==, 0);
  g_assert_cmpint (rtmfp_send_flow_get_state (l->sf), ==,
      RTMFP_SEND_FLOW_COMPLETE_LINGER);
  g_assert_cmpuint (l->msgs->len, ==, 5);
  g_assert_cmpuint (l->n_complete, ==, 0);
  g_assert_cmpuint (l->n_exceptions, >, 0);
  g_assert_cmpuint (w.n_checked, >, 0);
  g_assert_cmpint (rtmfp_recv_flow_get_state (l->rf), ==,
      RTMFP_RECV_FLOW_COMPLETE_LINGER);
  link_free (l);
}

/* ------------------------------------------------------------------ */
/* zero window and Buffer Probe */

static gboolean
done_probes (Link * l)
{
  return l->probe_times->len >= 4;
}

static void
probe_chunk (const RtmfpChunk * ch, guint index, gpointer data)
{
  Link *l = data;

  if (ch->type == RTMFP_CHUNK_BUFFER_PROBE) {
    g_array_append_val (l->probe_times, l->now);
  } else if (l->saw_zero_window && l->probe_times->len > 0) {
    /* suspended: no data is sent */
    g_assert_cmpint (ch->type, !=, RTMFP_CHUNK_USER_DATA);
    g_assert_cmpint (ch->type, !=, RTMFP_CHUNK_NEXT_USER_DATA);
  }
}

static void
probe_hook (Link * l, const guint8 * data, gsize len, gboolean to_rx)
{
  if (to_rx && l->rf && rtmfp_recv_flow_get_buffered_size (l->rf) > 0)
    for_each_chunk (data, len, probe_chunk, l);
}

static void
test_zero_window (void)
{
  Link *l = link_new (10);
  guint n = 0, i;
  gint64 resume_at;

  l->capacity = 8192;
  l->start_paused = TRUE;
  l->hook = probe_hook;
  l->sf = new_sender ();
  for (i = 0; i < 64; i++, n++) {
    GBytes *m = make_msg (i, 1000);

    g_assert_true (rtmfp_send_flow_write (l->sf, g_bytes_get_data (m, NULL),
            1000, RTMFP_NO_DEADLINE, 0));
    g_bytes_unref (m);
  }
  rtmfp_send_flow_close (l->sf);

  /* paused with a full buffer: window 0, the sender probes with backoff */
  g_assert_true (link_run (l, done_probes, l->now + 60 * SEC));
  g_assert_true (l->saw_zero_window);
  g_assert_cmpuint (l->msgs->len, ==, 0);
  g_assert_cmpuint (l->max_buffered, <=, l->capacity + RTMFP_MAX_PLAIN_SIZE);
  for (i = 1; i < l->probe_times->len; i++) {
    gint64 d = g_array_index (l->probe_times, gint64, i) -
        g_array_index (l->probe_times, gint64, i - 1);

    /* 3.6.2.9.1: at least 1 s apart, growing */
    g_assert_cmpint (d, >=, SEC);
    if (i > 1)
      g_assert_cmpint (d, >, g_array_index (l->probe_times, gint64, i - 1) -
          g_array_index (l->probe_times, gint64, i - 2));
  }
  g_assert_cmpint (g_array_index (l->probe_times, gint64, 1) -
      g_array_index (l->probe_times, gint64, 0), <=, 2 * SEC);

  /* resume: the buffered messages come out at once, the next probe gets
   * an ack with an open window and the rest follows */
  rtmfp_recv_flow_set_paused (l->rf, FALSE);
  g_assert_cmpuint (l->msgs->len, >, 0);
  resume_at = l->now;
  g_assert_true (link_run (l, done_transfer, l->now + 120 * SEC));
  g_assert_cmpuint (l->msgs->len, ==, n);
  for (i = 0; i < n; i++)
    g_assert_cmpuint (check_msg (g_ptr_array_index (l->msgs, i)), ==, i);
  /* within the probe period (8 s after 4 probes) plus transfer time */
  g_assert_cmpint (l->now - resume_at, <, 10 * SEC);
  link_free (l);
}

/* ------------------------------------------------------------------ */
/* startup options, chunk encodings (bytes on the wire) */

static const guint8 startup_opts[] = {
  0x03, 0x00, 'a', 'b',         /* metadata "ab" */
  0x02, 0x0a, 0x05,             /* return association: flow 5 */
  0x00,                         /* marker */
};

static guint8 *
emit_packet (RtmfpSendFlow * sf, guint64 * tsn, guint64 budget, gsize * len)
{
  RtmfpPacketBuilder b;
  RtmfpEmitContext ctx = { 0 };
  guint8 *out = NULL;

  ctx.next_tsn = *tsn;
  ctx.budget = budget;
  rtmfp_packet_builder_init (&b, RTMFP_MODE_INITIATOR, 0, 0,
      RTMFP_MAX_PLAIN_SIZE);
  *len = 0;
  if (rtmfp_send_flow_emit (sf, &b, &ctx, 0)) {
    g_assert_true (ctx.any_user_data);
    out = g_memdup2 (b.buf->data, b.buf->len);
    *len = b.buf->len;
  }
  *tsn = ctx.next_tsn;
  rtmfp_packet_builder_clear (&b);
  return out;
}

static void
test_startup_options (void)
{
  RtmfpSendFlow *sf = rtmfp_send_flow_new (FLOW_ID, (const guint8 *) "ab", 2,
      TRUE, 5);
  guint8 msg[250], *p;
  gsize len, off;
  guint64 tsn = 1;
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckContext actx = { 0 };
  guint i;

  for (i = 0; i < sizeof (msg); i++)
    msg[i] = i;
  rtmfp_send_flow_set_fragment_size (sf, 100);
  g_assert_true (rtmfp_send_flow_write (sf, msg, 250, RTMFP_NO_DEADLINE, 0));

  /* packet 1: User Data seq 1 (begin) with the options, then two Next
   * User Data chunks without them */
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  g_assert_nonnull (p);
  g_assert_cmpuint (tsn, ==, 4);
  g_assert_cmpuint (len, ==, 1 + 115 + 104 + 54);
  g_assert_cmphex (p[0], ==, RTMFP_MODE_INITIATOR);
  {
    static const guint8 head1[] = { 0x10, 0x00, 0x70, 0x90, 0x07, 0x01, 0x01 };

    g_assert_cmpmem (p + 1, 7, head1, 7);
    g_assert_cmpmem (p + 8, 8, startup_opts, 8);
    g_assert_cmpmem (p + 16, 100, msg, 100);
    off = 116;
    g_assert_cmpmem (p + off, 4, "\x11\x00\x65\x30", 4);
    g_assert_cmpmem (p + off + 4, 100, msg + 100, 100);
    off += 104;
    g_assert_cmpmem (p + off, 4, "\x11\x00\x33\x20", 4);
    g_assert_cmpmem (p + off + 4, 50, msg + 200, 50);
  }
  g_free (p);
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (sf), ==,
      115 + 104 + 54);

  /* nothing more to send */
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));
  g_assert_null (emit_packet (sf, &tsn, G_MAXUINT64, &len));

  /* packet 2, still unacknowledged: the options again on its first
   * chunk (seq 4, FSN 0, whole) */
  g_assert_true (rtmfp_send_flow_write (sf, (const guint8 *) "0123456789", 10,
          RTMFP_NO_DEADLINE, 0));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01, 0x10, 0x00, 0x16, 0x80, 0x07, 0x04,
      0x04, 0x03, 0x00, 'a', 'b', 0x02, 0x0a, 0x05, 0x00,
      '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);

  /* an ack of 0..2 (window 64 blocks): options are dropped for good */
  ack->flow_id = FLOW_ID;
  ack->buffer_blocks = 64;
  ack->cumulative_ack = 2;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 0);
  rtmfp_send_flow_on_acks_done (sf, &actx);
  g_assert_cmpuint (actx.acked_bytes, ==, 115 + 104);
  g_assert_cmpuint (actx.max_tsn_acked, ==, 2);
  /* 3 and 4 were sent after TSN 2: no NAK */
  g_assert_false (actx.any_nak);

  g_assert_true (rtmfp_send_flow_write (sf, (const guint8 *) "abcdefghij", 10,
          RTMFP_NO_DEADLINE, 0));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    /* seq 5, FSN 2 (head is seq 3, not abandoned): fsnOffset 3, no OPT */
    static const guint8 exp[] = { 0x01, 0x10, 0x00, 0x0e, 0x00, 0x07, 0x05,
      0x03, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);

  /* timeout: 3, 4, 5 are lost and go again in one packet: a User Data
   * chunk then two Next User Data chunks, still no options */
  g_assert_true (rtmfp_send_flow_on_timeout (sf));
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (sf), ==, 0);
  g_assert_false (rtmfp_send_flow_on_timeout (sf));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01,
      0x10, 0x00, 0x36, 0x20, 0x07, 0x03, 0x01,      /* seq 3 end, FSN 2 */
    };
    g_assert_cmpmem (p, sizeof (exp), exp, sizeof (exp));
    g_assert_cmpmem (p + 8, 50, msg + 200, 50);
    g_assert_cmpmem (p + 58, 5, "\x11\x00\x0b\x00" "0", 5);
    g_assert_cmpmem (p + 58 + 14, 5, "\x11\x00\x0b\x00" "a", 5);
    g_assert_cmpuint (len, ==, 58 + 14 + 14);
  }
  g_free (p);
  {
    RtmfpSendFlowStats ss;

    rtmfp_send_flow_get_stats (sf, &ss);
    g_assert_cmpuint (ss.fragments_sent, ==, 5);
    g_assert_cmpuint (ss.fragments_retransmitted, ==, 3);
    g_assert_cmpuint (ss.fragments_lost, ==, 3);
    g_assert_cmpuint (ss.bytes_acked, ==, 115 + 104);
  }
  g_free (ack);
  rtmfp_send_flow_free (sf);
}

static void
test_next_user_data_gap (void)
{
  RtmfpSendFlow *sf = rtmfp_send_flow_new (FLOW_ID, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckContext actx = { 0 };
  guint64 tsn = 1;
  guint8 *p;
  gsize len;
  guint i;

  /* empty metadata still is a metadata option: 01 00 then the marker */
  for (i = 0; i < 4; i++)
    g_assert_true (rtmfp_send_flow_write (sf, (const guint8 *) "x", 1,
            RTMFP_NO_DEADLINE, 0));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01,
      0x10, 0x00, 0x08, 0x80, 0x07, 0x01, 0x01, 0x01, 0x00, 0x00, 'x',
      0x11, 0x00, 0x02, 0x00, 'x',
      0x11, 0x00, 0x02, 0x00, 'x',
      0x11, 0x00, 0x02, 0x00, 'x',
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);

  /* ack 1 and 3: 2 and 4 get a NAK (sent before TSN 3) */
  ack->flow_id = FLOW_ID;
  ack->buffer_blocks = 64;
  ack->cumulative_ack = 1;
  ack->n_ranges = 1;
  ack->ranges[0].first = ack->ranges[0].last = 3;
  for (i = 0; i < 3; i++) {
    memset (&actx, 0, sizeof (actx));
    actx.max_tsn_acked = 3;
    rtmfp_send_flow_on_ack (sf, ack, &actx, 0);
    rtmfp_send_flow_on_acks_done (sf, &actx);
    /* TSN 2 < 3 is NAKed; TSN 4 is not */
    g_assert_true (actx.any_nak);
    g_assert_cmpint (actx.any_loss, ==, i == 2);
  }
  /* seq 2 lost (3 NAKs), seq 4 still in flight: retransmitting 2 alone
   * uses a full User Data chunk; FSN = 1 */
  g_assert_true (rtmfp_send_flow_is_ready (sf, 0));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01,
      0x10, 0x00, 0x05, 0x00, 0x07, 0x02, 0x01, 'x',
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);
  g_assert_cmpuint (tsn, ==, 6);
  g_free (ack);
  rtmfp_send_flow_free (sf);
}

/* The sequence numbers of the User Data chunks of packet p, in order */
static GArray *
packet_seqs (const guint8 * data, gsize len, guint8 * last_flags)
{
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  RtmfpUserDataChunk prev, c;
  gboolean have_prev = FALSE;

  g_assert_true (rtmfp_packet_parse (data, len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    if (ch.type == RTMFP_CHUNK_USER_DATA) {
      g_assert_true (rtmfp_user_data_chunk_parse (ch.data, ch.len, &c));
    } else {
      g_assert_cmpint (ch.type, ==, RTMFP_CHUNK_NEXT_USER_DATA);
      g_assert_true (have_prev);
      g_assert_true (rtmfp_next_user_data_chunk_parse (ch.data, ch.len,
              &prev, &c));
    }
    g_array_append_val (seqs, c.seq);
    *last_flags = c.flags;
    prev = c;
    have_prev = TRUE;
  }
  return seqs;
}

static void
ack_rounds (RtmfpSendFlow * sf, RtmfpAckChunk * ack, guint64 * max_tsn,
    guint rounds)
{
  RtmfpAckContext actx;
  guint i;

  for (i = 0; i < rounds; i++) {
    memset (&actx, 0, sizeof (actx));
    actx.max_tsn_acked = *max_tsn;
    rtmfp_send_flow_on_ack (sf, ack, &actx, 0);
    rtmfp_send_flow_on_acks_done (sf, &actx);
    *max_tsn = actx.max_tsn_acked;
  }
}

static void
check_emit_seqs (RtmfpSendFlow * sf, guint64 * tsn, guint64 budget,
    const guint64 * exp, guint n_exp, guint8 * last_flags)
{
  gsize len;
  guint8 *p = emit_packet (sf, tsn, budget, &len);
  GArray *seqs;

  g_assert_nonnull (p);
  seqs = packet_seqs (p, len, last_flags);
  g_assert_cmpmem (seqs->data, seqs->len * sizeof (guint64), exp,
      n_exp * sizeof (guint64));
  g_array_unref (seqs);
  g_free (p);
}

/* 3.6.2.3, 3.6.2.5: fragments lost in an order other than their sequence
 * numbers (NAKs follow transmission order) are retransmitted in ascending
 * sequence order; nothing in flight is sent again; the FIN entry goes last. */
static void
test_retransmit_order (void)
{
  RtmfpSendFlow *sf = rtmfp_send_flow_new (FLOW_ID, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  guint64 tsn = 1, max_tsn = 0;
  guint8 flags = 0;
  guint i;

  for (i = 0; i < 8; i++)
    g_assert_true (rtmfp_send_flow_write (sf, (const guint8 *) "x", 1,
            RTMFP_NO_DEADLINE, 0));
  {
    static const guint64 exp[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    check_emit_seqs (sf, &tsn, G_MAXUINT64, exp, G_N_ELEMENTS (exp), &flags);
  }
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));
  ack->flow_id = FLOW_ID;
  ack->buffer_blocks = 64;

  /* only 4 arrives: 1, 2, 3 (TSN 1-3) are lost after three NAKs */
  ack->cumulative_ack = 0;
  ack->n_ranges = 1;
  ack->ranges[0].first = ack->ranges[0].last = 4;
  ack_rounds (sf, ack, &max_tsn, 2);
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));
  ack_rounds (sf, ack, &max_tsn, 1);
  g_assert_cmpuint (max_tsn, ==, 4);
  g_assert_true (rtmfp_send_flow_is_ready (sf, 0));
  /* a budget of one byte sends one chunk: 1 again (TSN 9), then 2 (10) */
  {
    static const guint64 exp[] = { 1 };
    check_emit_seqs (sf, &tsn, 1, exp, 1, &flags);
  }
  {
    static const guint64 exp[] = { 2 };
    check_emit_seqs (sf, &tsn, 1, exp, 1, &flags);
  }
  g_assert_cmpuint (tsn, ==, 11);

  /* 2 (TSN 10) and 5 arrive: in flight by TSN are 6, 7, 8 and 1 (TSN 9),
   * all sent before TSN 10, so they are lost in that order after three
   * NAKs, while 3 is still waiting to go again */
  ack->n_ranges = 2;
  ack->ranges[0].first = ack->ranges[0].last = 2;
  ack->ranges[1].first = ack->ranges[1].last = 5;
  ack_rounds (sf, ack, &max_tsn, 3);
  g_assert_cmpuint (max_tsn, ==, 10);
  {
    RtmfpSendFlowStats st;

    rtmfp_send_flow_get_stats (sf, &st);
    g_assert_cmpuint (st.fragments_lost, ==, 7);
    g_assert_cmpuint (st.fragments_retransmitted, ==, 2);
  }
  {
    static const guint64 exp[] = { 1, 3, 6, 7, 8 };
    check_emit_seqs (sf, &tsn, G_MAXUINT64, exp, G_N_ELEMENTS (exp), &flags);
  }
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));

  /* close after 8 was sent: a separate FIN entry 9, sent alone */
  rtmfp_send_flow_close (sf);
  g_assert_true (rtmfp_send_flow_is_ready (sf, 0));
  {
    static const guint64 exp[] = { 9 };
    check_emit_seqs (sf, &tsn, G_MAXUINT64, exp, 1, &flags);
  }
  g_assert_true (flags & RTMFP_UD_FLAG_FIN);
  g_assert_true (flags & RTMFP_UD_FLAG_ABN);
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));

  /* a timeout loses everything in flight; it all goes again in order */
  g_assert_true (rtmfp_send_flow_on_timeout (sf));
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (sf), ==, 0);
  {
    static const guint64 exp[] = { 1, 3, 6, 7, 8, 9 };
    check_emit_seqs (sf, &tsn, G_MAXUINT64, exp, G_N_ELEMENTS (exp), &flags);
  }
  ack->cumulative_ack = 9;
  ack->n_ranges = 0;
  ack_rounds (sf, ack, &max_tsn, 1);
  g_assert_true (rtmfp_send_flow_is_complete (sf));
  g_free (ack);
  rtmfp_send_flow_free (sf);
}

static void
test_fsn_update (void)
{
  RtmfpSendFlow *sf = rtmfp_send_flow_new (FLOW_ID, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckContext actx = { 0 };
  guint64 tsn = 1;
  guint8 *p, big[2500] = { 0 };
  gsize len;

  rtmfp_send_flow_set_fragment_size (sf, 1000);
  /* message A: 1 fragment reliable; B: 3 fragments, deadline 100;
   * C: 1 fragment, deadline 100 */
  g_assert_true (rtmfp_send_flow_write (sf, big, 10, RTMFP_NO_DEADLINE, 0));
  g_assert_true (rtmfp_send_flow_write (sf, big, 2500, 100, 0));
  g_assert_true (rtmfp_send_flow_write (sf, big, 10, 100, 0));
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==, 100);

  /* send A and B's first fragment (budget small) */
  p = emit_packet (sf, &tsn, 20, &len);
  g_free (p);
  p = emit_packet (sf, &tsn, 1, &len);
  g_free (p);
  g_assert_cmpuint (tsn, ==, 3);

  /* A acked; then B's deadline passes with B partly sent: B is
   * abandoned whole, and C too */
  ack->flow_id = FLOW_ID;
  ack->buffer_blocks = 64;
  ack->cumulative_ack = 1;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 0);
  g_assert_cmpuint (rtmfp_send_flow_expire (sf, 99), ==, 0);
  g_assert_cmpuint (rtmfp_send_flow_expire (sf, 100), ==, 2);
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==, NEVER);
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (sf), ==, 0);

  /* seq 2 (B begin) still in flight, sent not abandoned: FSN = 1.  Only
   * entries eligible: none (3, 4, 5 abandoned, not first, not final) */
  g_assert_false (rtmfp_send_flow_is_ready (sf, 100));
  /* it is lost: now 2..5 are abandoned and not in flight: trimmed to the
   * last, sent as an FSN Update: ABN, seq 5, fsnOffset 0 (3.6.2.7.1) */
  g_assert_true (rtmfp_send_flow_on_timeout (sf));
  g_assert_true (rtmfp_send_flow_is_ready (sf, 100));
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01,
      0x10, 0x00, 0x04, 0x02, 0x07, 0x05, 0x00,
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);

  /* close now: the FSN Update entry was sent, so a new final entry is
   * queued; with seq 5 in flight sent abandoned, FSN = 5 */
  rtmfp_send_flow_close (sf);
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  {
    static const guint8 exp[] = { 0x01,
      0x10, 0x00, 0x04, 0x03, 0x07, 0x06, 0x01,
    };
    g_assert_cmpmem (p, len, exp, sizeof (exp));
  }
  g_free (p);
  ack->cumulative_ack = 6;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 500);
  g_assert_true (rtmfp_send_flow_is_complete (sf));
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==,
      500 + RTMFP_F_COMPLETE_LINGER_US);
  {
    RtmfpSendFlowStats ss;

    rtmfp_send_flow_get_stats (sf, &ss);
    g_assert_cmpuint (ss.messages_abandoned, ==, 2);
  }
  g_free (ack);
  rtmfp_send_flow_free (sf);
}

static void
test_budget_and_window (void)
{
  RtmfpSendFlow *sf = rtmfp_send_flow_new (FLOW_ID, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckContext actx = { 0 };
  guint8 data[500] = { 0 };
  guint64 tsn = 1;
  guint8 *p;
  gsize len;
  guint i;

  rtmfp_send_flow_set_fragment_size (sf, 500);
  for (i = 0; i < 20; i++)
    g_assert_true (rtmfp_send_flow_write (sf, data, 500, RTMFP_NO_DEADLINE,
            0));
  /* budget of one byte: one chunk goes (the budget may be overshot by
   * the last chunk, as S_OUTSTANDING_BYTES < CWND allows) */
  p = emit_packet (sf, &tsn, 1, &len);
  g_assert_cmpuint (tsn, ==, 2);
  g_free (p);
  /* budget 0: nothing */
  g_assert_null (emit_packet (sf, &tsn, 0, &len));

  /* window of 1 block: chunks go while F_OUTSTANDING_BYTES < 1024:
   * 510 + 507 = 1017 still is, so two go (3.6.2.9), the second one
   * as Next User Data */
  ack->flow_id = FLOW_ID;
  ack->buffer_blocks = 1;
  ack->cumulative_ack = 0;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 0);
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  g_assert_cmpuint (tsn, ==, 4);
  g_assert_cmpuint (len, ==, 1 + 507 + 504);
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (sf), ==, 1521);
  g_free (p);
  g_assert_false (rtmfp_send_flow_is_ready (sf, 0));
  g_assert_null (emit_packet (sf, &tsn, G_MAXUINT64, &len));

  /* window 0: suspended; a probe after a second, none before */
  ack->buffer_blocks = 0;
  ack->cumulative_ack = 3;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 1000);
  g_assert_cmpuint (rtmfp_send_flow_get_outstanding_bytes (sf), ==, 0);
  g_assert_false (rtmfp_send_flow_is_ready (sf, 1000 + SEC - 1));
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==, 1000 + SEC);
  g_assert_true (rtmfp_send_flow_is_ready (sf, 1000 + SEC));
  {
    RtmfpPacketBuilder b;
    RtmfpEmitContext ctx = { 0 };

    ctx.budget = G_MAXUINT64;
    rtmfp_packet_builder_init (&b, RTMFP_MODE_INITIATOR, 0, 0,
        RTMFP_MAX_PLAIN_SIZE);
    g_assert_true (rtmfp_send_flow_emit (sf, &b, &ctx, 1000 + SEC));
    g_assert_false (ctx.any_user_data);
    g_assert_cmpuint (b.buf->len, ==, 1 + 4);
    g_assert_cmpmem (b.buf->data + 1, 4, "\x18\x00\x01\x07", 4);
    rtmfp_packet_builder_clear (&b);
  }
  /* periods of 1 s, then 2 s, 4 s... */
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==, 1000 + 2 * SEC);
  g_assert_false (rtmfp_send_flow_is_ready (sf, 1000 + 2 * SEC - 1));
  /* window reopens: data again, no more probes */
  ack->buffer_blocks = 4;
  rtmfp_send_flow_on_ack (sf, ack, &actx, 1000 + SEC + 10);
  g_assert_cmpint (rtmfp_send_flow_next_timeout (sf), ==, NEVER);
  p = emit_packet (sf, &tsn, G_MAXUINT64, &len);
  g_assert_nonnull (p);
  g_assert_cmphex (p[1], ==, RTMFP_CHUNK_USER_DATA);
  g_free (p);
  g_free (ack);
  rtmfp_send_flow_free (sf);
}

/* ------------------------------------------------------------------ */
/* receiver: acks, hostile input, bounds */

static void
feed (RtmfpRecvFlow * rf, guint8 flags, guint64 seq, guint64 fsn_offset,
    const guint8 * opts, gsize opts_len, const guint8 * data, gsize len,
    gboolean * ack_now)
{
  RtmfpUserDataChunk c = { 0 };
  GByteArray *wire = g_byte_array_new ();
  RtmfpUserDataChunk parsed;
  gboolean an = FALSE;

  /* through the wire format and back */
  c.flags = flags;
  c.flow_id = rtmfp_recv_flow_get_id (rf);
  c.seq = seq;
  c.fsn_offset = fsn_offset;
  c.options = opts;
  c.options_len = opts_len;
  c.data = data;
  c.len = len;
  rtmfp_user_data_chunk_append (wire, FALSE, &c);
  g_assert_true (rtmfp_user_data_chunk_parse (wire->data + 3, wire->len - 3,
          &parsed));
  rtmfp_recv_flow_on_chunk (rf, &parsed, 0, &an);
  if (ack_now)
    *ack_now = an;
  g_byte_array_unref (wire);
}

/* Appends the ack; returns it parsed (and the raw bytes) */
static GByteArray *
get_ack (RtmfpRecvFlow * rf, RtmfpAckChunk * ack, gsize max_len)
{
  GByteArray *out = g_byte_array_new ();
  gsize n = rtmfp_recv_flow_append_ack (rf, out, max_len);
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  GByteArray *pkt;

  g_assert_cmpuint (n, ==, out->len);
  if (n == 0)
    return out;
  pkt = g_byte_array_new ();
  g_byte_array_append (pkt, (const guint8 *) "\x02", 1);
  g_byte_array_append (pkt, out->data, out->len);
  g_assert_true (rtmfp_packet_parse (pkt->data, pkt->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    if (ch.type == RTMFP_CHUNK_ACK_BITMAP)
      g_assert_true (rtmfp_ack_bitmap_chunk_parse (ch.data, ch.len, ack));
    else if (ch.type == RTMFP_CHUNK_ACK_RANGES)
      g_assert_true (rtmfp_ack_ranges_chunk_parse (ch.data, ch.len, ack));
  }
  g_byte_array_unref (pkt);
  return out;
}

static void
count_msg (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer user_data)
{
  GArray *a = user_data;
  guint64 v = len;

  g_array_append_val (a, v);
  g_array_append_val (a, gap);
}

/* capacity such that exactly `blocks` are advertised */
static void
set_window (RtmfpRecvFlow * rf, gsize blocks)
{
  rtmfp_recv_flow_set_buffer_capacity (rf, blocks * 1024 +
      rtmfp_recv_flow_get_buffered_size (rf));
}

static void
test_ack_encoding (void)
{
  RtmfpRecvFlow *rf = rtmfp_recv_flow_new (5, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  GArray *got = g_array_new (FALSE, FALSE, sizeof (guint64));
  GByteArray *out;
  guint64 s;
  gboolean an;

  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);
  /* RFC 7016 section 2.3.13 example: 0-16, 18, 21-24, 27, 28 with
   * 127 KiB available: 50 00 05 05 7f 10 79 06 */
  for (s = 1; s <= 16; s++)
    feed (rf, 0, s, s, NULL, 0, NULL, 0, NULL);
  g_assert_cmpuint (got->len, ==, 32);
  feed (rf, 0, 18, 18, NULL, 0, NULL, 0, &an);
  g_assert_true (an);           /* a gap */
  for (s = 21; s <= 24; s++)
    feed (rf, 0, s, s, NULL, 0, NULL, 0, NULL);
  feed (rf, 0, 27, 27, NULL, 0, NULL, 0, NULL);
  feed (rf, 0, 28, 28, NULL, 0, NULL, 0, NULL);
  g_assert_cmpuint (got->len, ==, 32);
  set_window (rf, 127);
  g_assert_true (rtmfp_recv_flow_should_ack (rf));
  out = get_ack (rf, ack, 100);
  g_assert_cmpmem (out->data, out->len,
      "\x50\x00\x05\x05\x7f\x10\x79\x06", 8);
  g_assert_false (rtmfp_recv_flow_should_ack (rf));
  g_byte_array_unref (out);

  /* too small even for the cumulative part: nothing, SHOULD_ACK stays */
  feed (rf, 0, 30, 30, NULL, 0, NULL, 0, NULL);
  set_window (rf, 127);
  out = get_ack (rf, ack, 5);
  g_assert_cmpuint (out->len, ==, 0);
  g_assert_true (rtmfp_recv_flow_should_ack (rf));
  g_byte_array_unref (out);
  /* truncated from the top to fit (acking less is safe), SHOULD_ACK
   * kept: the rest goes with a later ack */
  out = get_ack (rf, ack, 7);
  g_assert_cmpmem (out->data, out->len, "\x50\x00\x04\x05\x7f\x10\x79", 7);
  g_assert_cmpuint (ack->n_ranges, ==, 2);      /* 18, 21-24 */
  g_assert_true (rtmfp_recv_flow_should_ack (rf));
  g_byte_array_unref (out);
  out = get_ack (rf, ack, 8);
  g_assert_cmpmem (out->data, out->len,
      "\x50\x00\x05\x05\x7f\x10\x79\x16", 8);
  g_assert_false (rtmfp_recv_flow_should_ack (rf));
  g_byte_array_unref (out);

  /* an FSN jump: the sender abandoned everything through 25 */
  feed (rf, RTMFP_UD_FLAG_ABN, 25, 0, NULL, 0, NULL, 0, &an);
  g_assert_true (an);
  set_window (rf, 127);
  out = get_ack (rf, ack, 100);
  /* 0-25 cumulative, then 27-28, 30: a one-byte bitmap */
  g_assert_cmpmem (out->data, out->len, "\x50\x00\x04\x05\x7f\x19\x0b", 7);
  g_byte_array_unref (out);

  /* a far range makes the ranges form smaller: 0-30 and 1000-1001.
   * holes-1 = 1000 - 30 - 2 = 968 = 0x87 0x48, recv-1 = 1 */
  feed (rf, 0, 26, 26, NULL, 0, NULL, 0, NULL);
  feed (rf, 0, 29, 29, NULL, 0, NULL, 0, NULL);
  feed (rf, 0, 1000, 1000, NULL, 0, NULL, 0, NULL);
  feed (rf, 0, 1001, 1001, NULL, 0, NULL, 0, NULL);
  set_window (rf, 127);
  out = get_ack (rf, ack, 100);
  g_assert_cmpmem (out->data, out->len,
      "\x51\x00\x06\x05\x7f\x1e\x87\x48\x01", 9);
  g_assert_cmpuint (ack->cumulative_ack, ==, 30);
  g_assert_cmpuint (ack->n_ranges, ==, 1);
  g_assert_cmpuint (ack->ranges[0].first, ==, 1000);
  g_assert_cmpuint (ack->ranges[0].last, ==, 1001);
  g_byte_array_unref (out);

  /* deliveries: 1-16; the FSN jump delivers 18 (gap 1: 17), 21 (gap 2:
   * 19, 20), 22-24; 26 (gap 1: 25), 27-30 */
  {
    static const guint64 gaps[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0
    };
    guint i;

    g_assert_cmpuint (got->len / 2, ==, G_N_ELEMENTS (gaps));
    for (i = 0; i < G_N_ELEMENTS (gaps); i++)
      g_assert_cmpuint (g_array_index (got, guint64, 2 * i + 1), ==, gaps[i]);
  }
  g_array_unref (got);
  g_free (ack);
  rtmfp_recv_flow_free (rf);
}

/* SEQUENCE_SET against a naive model: after random fragments and FSN
 * jumps the ack covers exactly the numbers seen (0..FSN and received
 * ones), never more (3.6.1.3: never ack unreceived numbers above the
 * FSN), and its cumulative part is the CSN. */
static void
test_ack_model (void)
{
  guint seed;

  for (seed = 0; seed < 30; seed++) {
    GRand *r = g_rand_new_with_seed (100 + seed);
    RtmfpRecvFlow *rf = rtmfp_recv_flow_new (3, NULL, 0, FALSE, 0);
    RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
    guint8 model[1200] = { 1 };
    guint step;

    rtmfp_recv_flow_set_delivery (rf, seed & 1, NULL, NULL, NULL);
    for (step = 0; step < 400; step++) {
      guint64 seq = g_rand_int_range (r, 1, 1100), fsn = 0, v, csn;
      guint n_ranges = 0, i;
      gboolean abn = g_rand_int_range (r, 0, 10) == 0;
      GByteArray *out;

      if (g_rand_int_range (r, 0, 20) == 0)
        fsn = g_rand_int_range (r, 0, seq);
      if (abn && g_rand_boolean (r))
        fsn = seq;
      feed (rf, abn ? RTMFP_UD_FLAG_ABN : 0, seq, seq - fsn, NULL, 0,
          (const guint8 *) "d", abn ? 0 : 1, NULL);
      for (v = 0; v <= fsn; v++)
        model[v] = 1;
      model[seq] = 1;

      for (v = 1; v < sizeof (model); v++)
        if (model[v] && !model[v - 1])
          n_ranges++;
      if (n_ranges > RTMFP_ACK_MAX_RANGES)
        continue;               /* the ack would be truncated */
      for (csn = 0; csn + 1 < sizeof (model) && model[csn + 1]; csn++);
      out = get_ack (rf, ack, 4000);
      g_assert_cmpuint (out->len, >, 0);
      g_byte_array_unref (out);
      g_assert_cmpuint (ack->cumulative_ack, ==, csn);
      g_assert_cmpuint (ack->n_ranges, ==, n_ranges);
      v = csn + 1;
      for (i = 0; i < ack->n_ranges; i++) {
        guint64 x;

        for (; v < ack->ranges[i].first; v++)
          g_assert_cmpuint (model[v], ==, 0);
        for (x = ack->ranges[i].first; x <= ack->ranges[i].last; x++)
          g_assert_cmpuint (model[x], ==, 1);
        v = ack->ranges[i].last + 1;
      }
      for (; v < sizeof (model); v++)
        g_assert_cmpuint (model[v], ==, 0);
    }
    g_free (ack);
    rtmfp_recv_flow_free (rf);
    g_rand_free (r);
  }
}

static void
test_unknown_option (void)
{
  /* type 5 (< 0x2000, unknown): the flow must be rejected (2.3.11.1) */
  static const guint8 bad[] = { 0x01, 0x00, 0x02, 0x05, 'x', 0x00 };
  /* type 0x2001: ignored */
  static const guint8 ok[] = { 0x01, 0x00, 0x03, 0xc0, 0x01, 'x', 0x00 };
  RtmfpRecvFlow *rf;
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  GArray *got = g_array_new (FALSE, FALSE, sizeof (guint64));
  GByteArray *out;
  gboolean an;

  rf = rtmfp_recv_flow_new (9, (const guint8 *) "", 0, FALSE, 0);
  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);
  feed (rf, RTMFP_UD_FLAG_OPT, 1, 1, ok, sizeof (ok), (const guint8 *) "hi",
      2, &an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==, RTMFP_RECV_FLOW_OPEN);
  g_assert_cmpuint (got->len, ==, 2);
  /* a later chunk with a must-understand option rejects the flow */
  feed (rf, RTMFP_UD_FLAG_OPT, 2, 1, bad, sizeof (bad), (const guint8 *) "hi",
      2, &an);
  g_assert_true (an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==,
      RTMFP_RECV_FLOW_REJECTED);
  g_assert_cmpuint (got->len, ==, 2);
  /* exception report (flow 9, code 0) precedes the ack; the rejected
   * data is still acknowledged */
  out = get_ack (rf, ack, 100);
  g_assert_cmpmem (out->data, 5, "\x5e\x00\x02\x09\x00", 5);
  g_assert_true (out->data[5] == RTMFP_CHUNK_ACK_BITMAP ||
      out->data[5] == RTMFP_CHUNK_ACK_RANGES);
  g_assert_cmpuint (ack->cumulative_ack, ==, 2);
  g_byte_array_unref (out);
  /* more data: acked, not buffered, ack now */
  feed (rf, 0, 3, 1, NULL, 0, (const guint8 *) "hi", 2, &an);
  g_assert_true (an);
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), ==, 0);
  /* no room for the report and the ack: nothing at all */
  out = get_ack (rf, ack, 6);
  g_assert_cmpuint (out->len, ==, 0);
  g_byte_array_unref (out);
  /* the final sequence number completes even a rejected flow */
  feed (rf, RTMFP_UD_FLAG_ABN | RTMFP_UD_FLAG_FIN, 4, 0, NULL, 0, NULL, 0,
      &an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==,
      RTMFP_RECV_FLOW_COMPLETE_LINGER);
  rtmfp_recv_flow_free (rf);

  /* rejected from the first chunk */
  g_array_set_size (got, 0);
  rf = rtmfp_recv_flow_new (9, (const guint8 *) "", 0, FALSE, 0);
  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);
  feed (rf, RTMFP_UD_FLAG_OPT, 1, 1, bad, sizeof (bad), (const guint8 *) "hi",
      2, &an);
  g_assert_true (an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==,
      RTMFP_RECV_FLOW_REJECTED);
  g_assert_cmpuint (got->len, ==, 0);
  rtmfp_recv_flow_free (rf);
  g_array_unref (got);
  g_free (ack);
}

static void
test_hostile (void)
{
  RtmfpRecvFlow *rf = rtmfp_recv_flow_new (3, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  GArray *got = g_array_new (FALSE, FALSE, sizeof (guint64));
  RtmfpRecvFlowStats rs;
  RtmfpUserDataChunk c = { 0 };
  GByteArray *out;
  gboolean an = FALSE;
  guint64 huge = G_GUINT64_CONSTANT (1) << 62;
  guint i;

  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);

  /* huge sequence number with FSN 5: recorded exactly, nothing forged */
  feed (rf, 0, huge, huge - 5, NULL, 0, (const guint8 *) "zz", 2, &an);
  g_assert_true (an);
  out = get_ack (rf, ack, 200);
  g_assert_cmpuint (ack->cumulative_ack, ==, 5);
  g_assert_cmpuint (ack->n_ranges, ==, 1);
  g_assert_cmpuint (ack->ranges[0].first, ==, huge);
  g_assert_cmpuint (ack->ranges[0].last, ==, huge);
  g_assert_cmphex (out->data[0], ==, RTMFP_CHUNK_ACK_RANGES);
  g_byte_array_unref (out);
  g_assert_cmpuint (got->len, ==, 0);

  /* malformed chunks (straight to the flow: the parser refuses some of
   * them already): dropped and counted, nothing recorded */
  c.flow_id = 3;
  c.seq = 10;
  c.fsn_offset = 11;            /* fsnOffset > seq */
  rtmfp_recv_flow_on_chunk (rf, &c, 0, &an);
  c.seq = 0;
  c.fsn_offset = 0;
  rtmfp_recv_flow_on_chunk (rf, &c, 0, &an);
  c.seq = 12;
  c.fsn_offset = 0;             /* zero offset without ABN */
  rtmfp_recv_flow_on_chunk (rf, &c, 0, &an);
  c.seq = G_MAXUINT64;
  c.fsn_offset = 1;
  rtmfp_recv_flow_on_chunk (rf, &c, 0, &an);
  c.flow_id = 4;                /* not this flow */
  c.seq = 6;
  c.fsn_offset = 1;
  rtmfp_recv_flow_on_chunk (rf, &c, 0, &an);
  rtmfp_recv_flow_get_stats (rf, &rs);
  g_assert_cmpuint (rs.fragments_dropped, ==, 4);
  out = get_ack (rf, ack, 200);
  g_assert_cmpuint (ack->cumulative_ack, ==, 5);
  g_assert_cmpuint (ack->n_ranges, ==, 1);
  g_byte_array_unref (out);
  {
    /* the wire parser already refuses fsnOffset > seq and seq 0 */
    static const guint8 w1[] = { 0x00, 0x03, 0x0a, 0x0b };
    static const guint8 w2[] = { 0x00, 0x03, 0x00, 0x00 };
    RtmfpUserDataChunk p;

    g_assert_false (rtmfp_user_data_chunk_parse (w1, sizeof (w1), &p));
    g_assert_false (rtmfp_user_data_chunk_parse (w2, sizeof (w2), &p));
  }

  /* FIN at the huge number: never completes, no harm */
  feed (rf, RTMFP_UD_FLAG_FIN, huge + 1, huge - 4, NULL, 0, NULL, 0, &an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==, RTMFP_RECV_FLOW_OPEN);

  /* many disjoint numbers: SEQUENCE_SET stays bounded (what an ack can
   * carry); the excess is dropped unacknowledged */
  for (i = 0; i < 600; i++)
    feed (rf, 0, 1000 + 2 * i, 1000 + 2 * i - 5, NULL, 0, NULL, 0, &an);
  rtmfp_recv_flow_get_stats (rf, &rs);
  g_assert_cmpuint (rs.fragments_dropped, >, 4 + 300);
  out = get_ack (rf, ack, RTMFP_MAX_PLAIN_SIZE - 1);
  g_assert_cmpuint (out->len, >, 0);
  g_assert_cmpuint (ack->n_ranges, ==, RTMFP_ACK_MAX_RANGES);
  g_assert_false (rtmfp_recv_flow_should_ack (rf));
  g_byte_array_unref (out);
  /* an FSN jump merges them all and frees room again */
  feed (rf, RTMFP_UD_FLAG_ABN, 5000, 0, NULL, 0, NULL, 0, &an);
  out = get_ack (rf, ack, 200);
  g_assert_cmpuint (ack->cumulative_ack, ==, 5000);
  g_assert_cmpuint (ack->n_ranges, ==, 1);    /* huge .. huge + 1 */
  g_assert_cmpuint (ack->ranges[0].first, ==, huge);
  g_assert_cmpuint (ack->ranges[0].last, ==, huge + 1);
  g_byte_array_unref (out);

  g_array_unref (got);
  g_free (ack);
  rtmfp_recv_flow_free (rf);
}

static void
test_capacity_bound (void)
{
  RtmfpRecvFlow *rf = rtmfp_recv_flow_new (3, NULL, 0, FALSE, 0);
  RtmfpAckChunk *ack = g_new0 (RtmfpAckChunk, 1);
  GArray *got = g_array_new (FALSE, FALSE, sizeof (guint64));
  RtmfpRecvFlowStats rs;
  guint8 data[1000] = { 0 };
  GByteArray *out;
  gboolean an;
  guint64 s, last_kept = 0;
  gsize cap = 4096;

  rtmfp_recv_flow_set_buffer_capacity (rf, cap);
  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);

  /* seq 1 missing; a flood of 1000-byte messages behind the gap */
  for (s = 2; s < 200; s++) {
    feed (rf, 0, s, s, NULL, 0, data, sizeof (data), &an);
    g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), <=,
        cap + RTMFP_MAX_PLAIN_SIZE + 64);
  }
  rtmfp_recv_flow_get_stats (rf, &rs);
  g_assert_cmpuint (rs.fragments_received, <=, 5);
  g_assert_cmpuint (rs.fragments_dropped, ==, 198 - rs.fragments_received);
  last_kept = 1 + rs.fragments_received;
  /* window closed to the advertise-one-block floor (3.6.3.5); what was
   * dropped is not acknowledged */
  out = get_ack (rf, ack, 200);
  g_assert_cmpuint (ack->buffer_blocks, ==, 1);
  g_assert_cmpuint (ack->cumulative_ack, ==, 0);
  g_assert_cmpuint (ack->n_ranges, ==, 1);
  g_assert_cmpuint (ack->ranges[0].first, ==, 2);
  g_assert_cmpuint (ack->ranges[0].last, ==, last_kept);
  g_byte_array_unref (out);

  /* paused: the window really closes */
  rtmfp_recv_flow_set_paused (rf, TRUE);
  out = get_ack (rf, ack, 200);
  g_assert_cmpuint (ack->buffer_blocks, ==, 0);
  g_byte_array_unref (out);
  /* the missing fragment is refused while paused and over capacity */
  feed (rf, 0, 1, 1, NULL, 0, data, sizeof (data), &an);
  g_assert_cmpuint (got->len, ==, 0);
  rtmfp_recv_flow_set_paused (rf, FALSE);

  /* not paused: the fragment delivery waits for is taken, everything
   * drains */
  feed (rf, 0, 1, 1, NULL, 0, data, sizeof (data), &an);
  g_assert_cmpuint (got->len / 2, ==, last_kept);
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), ==, 0);
  /* and the refused ones are welcome now */
  feed (rf, 0, last_kept + 1, 1, NULL, 0, data, sizeof (data), &an);
  g_assert_cmpuint (got->len / 2, ==, last_kept + 1);

  /* an endless in-order message (begin, middle...) cannot grow the
   * buffer past twice the capacity plus a packet */
  s = last_kept + 2;
  feed (rf, RTMFP_UD_FRA_BEGIN, s, 1, NULL, 0, data, sizeof (data), &an);
  for (s++; s < last_kept + 100; s++) {
    /* FSN stays at the message start */
    feed (rf, RTMFP_UD_FRA_MIDDLE, s, s - (last_kept + 1), NULL, 0, data,
        sizeof (data), &an);
    g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), <=,
        2 * cap + RTMFP_MAX_PLAIN_SIZE + 64);
  }
  rtmfp_recv_flow_get_stats (rf, &rs);
  g_assert_cmpuint (rs.fragments_dropped, >, 194 + 80);
  g_assert_cmpuint (got->len / 2, ==, last_kept + 1);

  /* the sender gives up on it (FSN past it): discarded, room again */
  feed (rf, RTMFP_UD_FLAG_ABN, s, 0, NULL, 0, NULL, 0, &an);
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), ==, 0);
  feed (rf, 0, s + 1, 1, NULL, 0, data, 10, &an);
  g_assert_cmpuint (got->len / 2, ==, last_kept + 2);
  /* gap: everything from the abandoned message through the FSN */
  g_assert_cmpuint (g_array_index (got, guint64, got->len - 1), ==,
      s - (last_kept + 2) + 1);

  g_array_unref (got);
  g_free (ack);
  rtmfp_recv_flow_free (rf);
}

static void
test_recv_delivery (void)
{
  RtmfpRecvFlow *rf = rtmfp_recv_flow_new (3, NULL, 0, FALSE, 0);
  GArray *got = g_array_new (FALSE, FALSE, sizeof (guint64));
  gboolean an;

  /* ordered: a complete message behind an in-progress one waits */
  rtmfp_recv_flow_set_delivery (rf, FALSE, count_msg, NULL, got);
  feed (rf, RTMFP_UD_FRA_BEGIN, 1, 1, NULL, 0, (const guint8 *) "ab", 2, &an);
  feed (rf, 0, 3, 3, NULL, 0, (const guint8 *) "xyz", 3, &an);
  g_assert_cmpuint (got->len, ==, 0);
  /* duplicate: ack now, counted, not buffered twice */
  feed (rf, 0, 3, 3, NULL, 0, (const guint8 *) "xyz", 3, &an);
  g_assert_true (an);
  feed (rf, RTMFP_UD_FRA_END, 2, 2, NULL, 0, (const guint8 *) "cd", 2, &an);
  g_assert_cmpuint (got->len, ==, 4);
  g_assert_cmpuint (g_array_index (got, guint64, 0), ==, 4);
  g_assert_cmpuint (g_array_index (got, guint64, 2), ==, 3);

  /* fragments of a message whose begin was abandoned: discarded once the
   * FSN passes; the next whole message reports the gap */
  feed (rf, RTMFP_UD_FRA_MIDDLE, 5, 2, NULL, 0, (const guint8 *) "m", 1, &an);
  feed (rf, RTMFP_UD_FRA_END, 6, 3, NULL, 0, (const guint8 *) "e", 1, &an);
  feed (rf, 0, 7, 4, NULL, 0, (const guint8 *) "w", 1, &an);
  g_assert_cmpuint (got->len, ==, 4);
  feed (rf, RTMFP_UD_FLAG_ABN, 4, 0, NULL, 0, NULL, 0, &an);
  g_assert_cmpuint (got->len, ==, 6);
  g_assert_cmpuint (g_array_index (got, guint64, 4), ==, 1);
  g_assert_cmpuint (g_array_index (got, guint64, 5), ==, 3);   /* 4, 5, 6 */
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), ==, 0);

  /* paused: held, and the window shrinks; resumed: delivered */
  rtmfp_recv_flow_set_paused (rf, TRUE);
  feed (rf, 0, 8, 1, NULL, 0, (const guint8 *) "p", 1, &an);
  g_assert_cmpuint (got->len, ==, 6);
  rtmfp_recv_flow_set_paused (rf, FALSE);
  g_assert_cmpuint (got->len, ==, 8);
  rtmfp_recv_flow_free (rf);

  /* arrival order: complete messages go at once; gaps are reported on
   * the next delivery after the FSN passes them */
  g_array_set_size (got, 0);
  rf = rtmfp_recv_flow_new (3, NULL, 0, FALSE, 0);
  rtmfp_recv_flow_set_delivery (rf, TRUE, count_msg, NULL, got);
  feed (rf, 0, 2, 2, NULL, 0, (const guint8 *) "b", 1, &an);
  feed (rf, RTMFP_UD_FRA_END, 5, 5, NULL, 0, (const guint8 *) "e", 1, &an);
  feed (rf, RTMFP_UD_FRA_BEGIN, 4, 4, NULL, 0, (const guint8 *) "dd", 2, &an);
  g_assert_cmpuint (got->len, ==, 4);
  g_assert_cmpuint (g_array_index (got, guint64, 0), ==, 1);
  g_assert_cmpuint (g_array_index (got, guint64, 2), ==, 3);
  /* the sender abandons 1 and 3: FSN 3 */
  feed (rf, 0, 6, 3, NULL, 0, (const guint8 *) "f", 1, &an);
  g_assert_cmpuint (got->len, ==, 6);
  g_assert_cmpuint (g_array_index (got, guint64, 5), ==, 2);
  /* complete: FIN at 7; 0..7 seen */
  feed (rf, RTMFP_UD_FLAG_FIN, 7, 4, NULL, 0, (const guint8 *) "g", 1, &an);
  g_assert_true (an);
  g_assert_cmpint (rtmfp_recv_flow_get_state (rf), ==,
      RTMFP_RECV_FLOW_COMPLETE_LINGER);
  g_assert_cmpuint (got->len, ==, 8);
  g_assert_cmpuint (rtmfp_recv_flow_get_buffered_size (rf), ==, 0);
  rtmfp_recv_flow_free (rf);
  g_array_unref (got);
}

/* rtmfp_send_flow_write_bytes: the flow keeps the caller's bytes (a relay
 * hands one message to many players), sends exactly them, and lets go of
 * them when the message is done with; the flows of two "players" share
 * one buffer. */
typedef struct {
  guint freed;
  gpointer mem;
} Tracked;

static void
note_freed (gpointer data)
{
  Tracked *t = data;

  t->freed++;
  g_free (t->mem);
  t->mem = NULL;
}

static void
test_write_bytes_shared (void)
{
  RtmfpSendFlow *a = rtmfp_send_flow_new (FLOW_ID, (const guint8 *) "ab", 2,
      TRUE, 5);
  RtmfpSendFlow *b = rtmfp_send_flow_new (FLOW_ID + 1, (const guint8 *) "ab",
      2, TRUE, 5);
  guint8 *msg = g_malloc (250), *p;
  guint8 copy[250];
  Tracked t = { 0, msg };
  guint i;
  GBytes *bytes;
  gsize len;
  guint64 tsn = 1;

  for (i = 0; i < 250; i++)
    msg[i] = (guint8) (i * 7);
  memcpy (copy, msg, 250);
  bytes = g_bytes_new_with_free_func (msg, 250, note_freed, &t);
  rtmfp_send_flow_set_fragment_size (a, 100);
  rtmfp_send_flow_set_fragment_size (b, 100);
  g_assert_true (rtmfp_send_flow_write_bytes (a, bytes, RTMFP_NO_DEADLINE,
          0));
  g_assert_true (rtmfp_send_flow_write_bytes (b, bytes, RTMFP_NO_DEADLINE,
          0));
  g_assert_cmpuint (rtmfp_send_flow_get_queued_bytes (a), ==, 250);
  g_bytes_unref (bytes);
  /* the flows hold it: not freed, not copied */
  g_assert_cmpuint (t.freed, ==, 0);

  /* flow a sends exactly those bytes (same layout as startup-options) */
  p = emit_packet (a, &tsn, G_MAXUINT64, &len);
  g_assert_nonnull (p);
  g_assert_cmpuint (len, ==, 1 + 115 + 104 + 54);
  g_assert_cmpmem (p + 16, 100, copy, 100);
  g_assert_cmpmem (p + 116 + 4, 100, copy + 100, 100);
  g_assert_cmpmem (p + 220 + 4, 50, copy + 200, 50);
  g_free (p);

  /* a is done with it (abandoned); b still holds it */
  rtmfp_send_flow_abandon_all (a);
  g_assert_cmpuint (t.freed, ==, 0);
  rtmfp_send_flow_abandon_all (b);
  g_assert_cmpuint (t.freed, ==, 1);
  rtmfp_send_flow_free (a);
  rtmfp_send_flow_free (b);
  g_assert_cmpuint (t.freed, ==, 1);

  /* and a flow freed with the message still queued releases it too */
  t.freed = 0;
  t.mem = g_malloc0 (10);
  bytes = g_bytes_new_with_free_func (t.mem, 10, note_freed, &t);
  a = rtmfp_send_flow_new (FLOW_ID, NULL, 0, FALSE, 0);
  g_assert_true (rtmfp_send_flow_write_bytes (a, bytes, RTMFP_NO_DEADLINE,
          0));
  g_bytes_unref (bytes);
  g_assert_cmpuint (t.freed, ==, 0);
  rtmfp_send_flow_free (a);
  g_assert_cmpuint (t.freed, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flow/startup-options", test_startup_options);
  g_test_add_func ("/flow/write-bytes-shared", test_write_bytes_shared);
  g_test_add_func ("/flow/next-user-data-and-nak", test_next_user_data_gap);
  g_test_add_func ("/flow/fsn-update", test_fsn_update);
  g_test_add_func ("/flow/retransmit-order", test_retransmit_order);
  g_test_add_func ("/flow/budget-and-window", test_budget_and_window);
  g_test_add_func ("/flow/progress-guarantee", test_progress_guarantee);
  g_test_add_func ("/flow/ack-encoding", test_ack_encoding);
  g_test_add_func ("/flow/ack-model", test_ack_model);
  g_test_add_func ("/flow/recv-delivery", test_recv_delivery);
  g_test_add_func ("/flow/unknown-option", test_unknown_option);
  g_test_add_func ("/flow/hostile", test_hostile);
  g_test_add_func ("/flow/capacity-bound", test_capacity_bound);
  g_test_add_func ("/flow/link/bulk-clean", test_bulk_clean);
  g_test_add_func ("/flow/link/bulk-lossy", test_bulk_lossy);
  g_test_add_func ("/flow/link/arrival-order", test_arrival_order);
  g_test_add_func ("/flow/link/large-message", test_large_message);
  g_test_add_func ("/flow/link/partial-reliability", test_partial_reliability);
  g_test_add_func ("/flow/link/close", test_close);
  g_test_add_func ("/flow/link/reject", test_reject);
  g_test_add_func ("/flow/link/zero-window", test_zero_window);
  return g_test_run ();
}
