/* Deterministic simulated network for protocol tests (see rtmfpsimnet.h).
 *
 * A discrete-event simulator: datagrams in flight are events in a binary
 * min-heap ordered by (delivery time, insertion sequence); endpoint timers
 * are read from every host after every event.  The virtual clock only
 * moves forward, to the next event.  All randomness comes from one GRand
 * seeded from the net's seed, so a run is repeatable bit for bit.
 *
 * Tie-breaking at equal times (deterministic): deliveries first, in the
 * order they were sent; then timers, in the order hosts were added.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-simnet"

#include <string.h>

#include "rtmfpsimnet.h"

/* An endpoint whose timer stays due after handle_timeout gets its timer
 * pushed 1 us into the future; this many such spins in a row (with no
 * progress in between) is a bug in the core, not a slow test. */
#define MAX_TIMER_SPINS 100000

typedef struct {
  gint64 time;
  guint64 seq;
  RtmfpAddr from;
  RtmfpAddr to;
  gsize len;
  guint8 data[];
} SimEvent;

/* A host's way into the network: the bottleneck queue and the burst-loss
 * state, shared by hosts behind one uplink */
typedef struct {
  /* Bandwidth model: the sending link is busy until this time */
  gint64 link_free_at;
  /* Gilbert-Elliott state: in the bad (losing) state */
  gboolean bad;
  /* current run of consecutive loss drops */
  guint64 loss_run;
} SimUplink;

struct _RtmfpSimHost {
  RtmfpSimNet *net;
  guint index;
  RtmfpAddr addr;
  RtmfpEndpoint *ep;            /* NULL for a raw host */
  RtmfpSimRawFuncs raw;
  gpointer raw_data;
  gboolean blackhole;
  SimUplink own_uplink;
  SimUplink *uplink;            /* own_uplink or another host's */
  /* Cached absolute timer (-1: none), after the spin clamp */
  gint64 timer;
  /* Time of the last handle_timeout and consecutive spins there */
  gint64 last_fired_at;
  guint spins;
};

struct _RtmfpSimNet {
  guint32 seed;
  GRand *rand;
  gint64 now;
  RtmfpSimLink link;
  GPtrArray *hosts;             /* RtmfpSimHost*, in order of addition */
  GPtrArray *heap;              /* SimEvent*, binary min-heap */
  guint64 next_seq;
  RtmfpSimFilter filter;
  gpointer filter_data;
  RtmfpSimDropFunc drop_func;
  gpointer drop_data;
  RtmfpSimStats stats;
  gboolean running;
  gboolean freeing;
};

void
rtmfp_sim_link_init (RtmfpSimLink * link)
{
  g_return_if_fail (link != NULL);

  memset (link, 0, sizeof (*link));
  link->delay_us = 10 * 1000;
}

/* ---------------------------- event heap ---------------------------- */

static gboolean
event_before (const SimEvent * a, const SimEvent * b)
{
  if (a->time != b->time)
    return a->time < b->time;
  return a->seq < b->seq;
}

static void
heap_push (RtmfpSimNet * net, SimEvent * ev)
{
  GPtrArray *h = net->heap;
  guint i;

  g_ptr_array_add (h, ev);
  i = h->len - 1;
  while (i > 0) {
    guint parent = (i - 1) / 2;
    SimEvent *p = g_ptr_array_index (h, parent);

    if (!event_before (ev, p))
      break;
    h->pdata[i] = p;
    i = parent;
  }
  h->pdata[i] = ev;
}

static SimEvent *
heap_peek (RtmfpSimNet * net)
{
  return net->heap->len ? g_ptr_array_index (net->heap, 0) : NULL;
}

static SimEvent *
heap_pop (RtmfpSimNet * net)
{
  GPtrArray *h = net->heap;
  SimEvent *top, *last;
  guint i, n;

  if (h->len == 0)
    return NULL;
  top = h->pdata[0];
  last = h->pdata[h->len - 1];
  g_ptr_array_set_size (h, h->len - 1);
  n = h->len;
  if (n == 0)
    return top;

  i = 0;
  for (;;) {
    guint l = 2 * i + 1, r = l + 1, m = i;
    SimEvent *best = last;

    if (l < n && event_before (h->pdata[l], best)) {
      m = l;
      best = h->pdata[l];
    }
    if (r < n && event_before (h->pdata[r], best))
      m = r;
    if (m == i)
      break;
    h->pdata[i] = h->pdata[m];
    i = m;
  }
  h->pdata[i] = last;
  return top;
}

/* ------------------------------- net -------------------------------- */

RtmfpSimNet *
rtmfp_sim_net_new (guint32 seed)
{
  RtmfpSimNet *net = g_new0 (RtmfpSimNet, 1);

  net->seed = seed;
  net->rand = g_rand_new_with_seed (seed);
  /* Start the clock well away from 0 so that "0" or negative times in
   * the core show up as bugs rather than coincidences. */
  net->now = 1000 * G_TIME_SPAN_SECOND;
  rtmfp_sim_link_init (&net->link);
  net->hosts = g_ptr_array_new ();
  net->heap = g_ptr_array_new ();
  return net;
}

void
rtmfp_sim_net_free (RtmfpSimNet * net)
{
  guint i;

  if (net == NULL)
    return;
  g_return_if_fail (!net->running);

  /* Endpoints may still try to send while being torn down: dropped. */
  net->freeing = TRUE;
  for (i = 0; i < net->hosts->len; i++) {
    RtmfpSimHost *h = g_ptr_array_index (net->hosts, i);

    g_clear_pointer (&h->ep, rtmfp_endpoint_free);
  }
  for (i = 0; i < net->hosts->len; i++)
    g_free (g_ptr_array_index (net->hosts, i));
  g_ptr_array_free (net->hosts, TRUE);

  for (i = 0; i < net->heap->len; i++)
    g_free (g_ptr_array_index (net->heap, i));
  g_ptr_array_free (net->heap, TRUE);

  g_rand_free (net->rand);
  g_free (net);
}

void
rtmfp_sim_net_set_link (RtmfpSimNet * net, const RtmfpSimLink * link)
{
  g_return_if_fail (net != NULL);
  g_return_if_fail (link != NULL);
  g_return_if_fail (link->loss >= 0.0 && link->loss <= 1.0);
  g_return_if_fail (link->duplicate >= 0.0 && link->duplicate <= 1.0);
  g_return_if_fail (link->delay_us >= 0 && link->jitter_us >= 0);
  g_return_if_fail (link->burst_mean >= 0.0);

  net->link = *link;
}

gint64
rtmfp_sim_net_now (RtmfpSimNet * net)
{
  g_return_val_if_fail (net != NULL, 0);

  return net->now;
}

void
rtmfp_sim_net_set_filter (RtmfpSimNet * net, RtmfpSimFilter filter,
    gpointer user_data)
{
  g_return_if_fail (net != NULL);

  net->filter = filter;
  net->filter_data = user_data;
}

void
rtmfp_sim_net_set_drop_observer (RtmfpSimNet * net, RtmfpSimDropFunc func,
    gpointer user_data)
{
  g_return_if_fail (net != NULL);

  net->drop_func = func;
  net->drop_data = user_data;
}

void
rtmfp_sim_net_get_stats (RtmfpSimNet * net, RtmfpSimStats * st)
{
  g_return_if_fail (net != NULL);
  g_return_if_fail (st != NULL);

  *st = net->stats;
}

/* ------------------------------ sending ----------------------------- */

static gboolean
chance (RtmfpSimNet * net, gdouble p)
{
  /* Draw only for a real impairment so that a perfect link consumes no
   * randomness (runs stay comparable when only jitter changes). */
  if (p <= 0.0)
    return FALSE;
  if (p >= 1.0)
    return TRUE;
  return g_rand_double (net->rand) < p;
}

static gint64
draw_jitter (RtmfpSimNet * net)
{
  gint64 j = net->link.jitter_us;
  gint64 v;

  if (j <= 0)
    return 0;
  /* uniform in [0, jitter] */
  v = (gint64) (g_rand_double (net->rand) * (gdouble) (j + 1));
  return CLAMP (v, 0, j);
}

static void
enqueue_copy (RtmfpSimNet * net, gint64 time, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to)
{
  SimEvent *ev = g_malloc (sizeof (SimEvent) + len);

  ev->time = time;
  ev->seq = net->next_seq++;
  ev->from = *from;
  ev->to = *to;
  ev->len = len;
  if (len)
    memcpy (ev->data, data, len);
  heap_push (net, ev);
}

static void
dropped (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, RtmfpSimDropReason reason)
{
  if (net->drop_func)
    net->drop_func (net, data, len, from, to, reason, net->drop_data);
}

/* Is the datagram leaving this uplink lost?  Random (Bernoulli) loss, or
 * the Gilbert-Elliott chain when link.burst_mean > 1 (rtmfpsimnet.h). */
static gboolean
draw_loss (RtmfpSimNet * net, SimUplink * up)
{
  const RtmfpSimLink *link = &net->link;
  gboolean lost;

  if (link->burst_mean > 1.0 && link->loss > 0.0 && link->loss < 1.0) {
    gdouble r = 1.0 / link->burst_mean;
    gdouble p = link->loss * r / (1.0 - link->loss);

    /* the state of this datagram: one step of the chain */
    if (up->bad)
      up->bad = !chance (net, r);
    else
      up->bad = chance (net, MIN (p, 1.0));
    lost = up->bad;
  } else {
    lost = chance (net, link->loss);
  }

  if (lost) {
    if (up->loss_run++ == 0)
      net->stats.loss_bursts++;
    net->stats.max_loss_burst = MAX (net->stats.max_loss_burst, up->loss_run);
  } else {
    up->loss_run = 0;
  }
  return lost;
}

/* A datagram from host h enters the network now, with source address
 * from (h's own, or a spoofed one) */
static void
sim_transmit (RtmfpSimHost * h, const RtmfpAddr * from_addr,
    const guint8 * data, gsize len, const RtmfpAddr * to)
{
  RtmfpSimNet *net = h->net;
  RtmfpSimLink *link = &net->link;
  SimUplink *up = h->uplink;
  RtmfpAddr from = *from_addr;
  gint64 departure;

  if (net->freeing || to == NULL || (data == NULL && len > 0))
    return;

  net->stats.sent++;
  net->stats.bytes_sent += len;

  if (net->filter && !net->filter (net, data, len, &from, to,
          net->filter_data)) {
    net->stats.dropped_filter++;
    dropped (net, data, len, &from, to, RTMFP_SIM_DROP_FILTER);
    return;
  }

  if (h->blackhole) {
    net->stats.dropped_blackhole++;
    dropped (net, data, len, &from, to, RTMFP_SIM_DROP_BLACKHOLE);
    return;
  }

  /* Bandwidth: serialisation on the sender's uplink behind what it (or a
   * host sharing it) already queued; drop-tail when the backlog exceeds
   * the queue limit. */
  departure = net->now;
  if (link->bandwidth_bps > 0) {
    gint64 start = MAX (net->now, up->link_free_at);
    gint64 tx_us;

    if (link->queue_limit_bytes > 0 && up->link_free_at > net->now) {
      gdouble backlog = (gdouble) (up->link_free_at - net->now) *
          (gdouble) link->bandwidth_bps / 8e6;

      if (backlog + (gdouble) len > (gdouble) link->queue_limit_bytes) {
        net->stats.dropped_queue++;
        dropped (net, data, len, &from, to, RTMFP_SIM_DROP_QUEUE);
        return;
      }
    }
    tx_us = (gint64) (((gdouble) len * 8e6 + (gdouble) link->bandwidth_bps -
            1) / (gdouble) link->bandwidth_bps);
    up->link_free_at = start + MAX (tx_us, 1);
    departure = up->link_free_at;
  }

  /* Loss happens past the bottleneck: the datagram used its link time. */
  if (draw_loss (net, up)) {
    net->stats.dropped_loss++;
    dropped (net, data, len, &from, to, RTMFP_SIM_DROP_LOSS);
    return;
  }

  enqueue_copy (net, departure + link->delay_us + draw_jitter (net), data,
      len, &from, to);

  if (chance (net, link->duplicate)) {
    net->stats.duplicated++;
    enqueue_copy (net, departure + link->delay_us + draw_jitter (net), data,
        len, &from, to);
  }
}

/* The RtmfpSendFunc of every endpoint host */
static void
sim_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer user_data)
{
  RtmfpSimHost *h = user_data;

  sim_transmit (h, &h->addr, data, len, to);
}

void
rtmfp_sim_host_send (RtmfpSimHost * h, const guint8 * data, gsize len,
    const RtmfpAddr * to)
{
  g_return_if_fail (h != NULL);
  g_return_if_fail (to != NULL);

  sim_transmit (h, &h->addr, data, len, to);
}

void
rtmfp_sim_host_send_from (RtmfpSimHost * h, const RtmfpAddr * from,
    const guint8 * data, gsize len, const RtmfpAddr * to)
{
  g_return_if_fail (h != NULL);
  g_return_if_fail (from != NULL);
  g_return_if_fail (to != NULL);

  sim_transmit (h, from, data, len, to);
}

/* ------------------------------- hosts ------------------------------ */

static RtmfpSimHost *
host_new (RtmfpSimNet * net, const RtmfpAddr * addr)
{
  RtmfpSimHost *h = g_new0 (RtmfpSimHost, 1);

  h->net = net;
  h->index = net->hosts->len;
  h->addr = *addr;
  h->uplink = &h->own_uplink;
  h->timer = -1;
  h->last_fired_at = G_MININT64;
  g_ptr_array_add (net->hosts, h);
  return h;
}

RtmfpSimHost *
rtmfp_sim_net_add_raw_host (RtmfpSimNet * net, const gchar * address,
    const RtmfpSimRawFuncs * funcs, gpointer ud)
{
  RtmfpSimHost *h;
  RtmfpAddr addr;

  g_return_val_if_fail (net != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (funcs != NULL, NULL);

  if (!rtmfp_addr_from_string (&addr, address, 0)) {
    g_critical ("simnet: bad host address '%s'", address);
    return NULL;
  }
  h = host_new (net, &addr);
  h->raw = *funcs;
  h->raw_data = ud;
  return h;
}

RtmfpSimHost *
rtmfp_sim_net_add_host (RtmfpSimNet * net, const gchar * address,
    const RtmfpEndpointConfig * cfg, const RtmfpEndpointCallbacks * callbacks,
    gpointer user_data)
{
  RtmfpSimHost *h;
  RtmfpEndpointConfig defcfg;
  RtmfpAddr addr;

  g_return_val_if_fail (net != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);

  if (!rtmfp_addr_from_string (&addr, address, 0)) {
    g_critical ("simnet: bad host address '%s'", address);
    return NULL;
  }
  if (cfg == NULL) {
    rtmfp_endpoint_config_init (&defcfg);
    cfg = &defcfg;
  }

  h = host_new (net, &addr);
  h->ep = rtmfp_endpoint_new (cfg, callbacks, user_data, sim_send, h);
  if (h->ep == NULL)
    g_error ("simnet: rtmfp_endpoint_new failed for host %s", address);
  return h;
}

RtmfpEndpoint *
rtmfp_sim_host_get_endpoint (RtmfpSimHost * h)
{
  g_return_val_if_fail (h != NULL, NULL);

  return h->ep;
}

const RtmfpAddr *
rtmfp_sim_host_get_address (RtmfpSimHost * h)
{
  g_return_val_if_fail (h != NULL, NULL);

  return &h->addr;
}

void
rtmfp_sim_host_set_address (RtmfpSimHost * h, const gchar * address)
{
  RtmfpAddr addr;

  g_return_if_fail (h != NULL);
  g_return_if_fail (address != NULL);

  if (!rtmfp_addr_from_string (&addr, address, 0)) {
    g_critical ("simnet: bad host address '%s'", address);
    return;
  }
  h->addr = addr;
}

void
rtmfp_sim_host_set_blackhole (RtmfpSimHost * h, gboolean blackhole)
{
  g_return_if_fail (h != NULL);

  h->blackhole = blackhole;
}

void
rtmfp_sim_host_share_uplink (RtmfpSimHost * h, RtmfpSimHost * with)
{
  g_return_if_fail (h != NULL);
  g_return_if_fail (with != NULL);
  g_return_if_fail (with->uplink == &with->own_uplink);

  h->uplink = &with->own_uplink;
}

gint64
rtmfp_sim_host_get_backlog_us (RtmfpSimHost * h)
{
  g_return_val_if_fail (h != NULL, 0);

  return MAX (h->uplink->link_free_at - h->net->now, 0);
}

/* ---------------------------- event loop ---------------------------- */

static RtmfpSimHost *
find_host (RtmfpSimNet * net, const RtmfpAddr * addr)
{
  guint i;

  /* Few hosts, many datagrams: a linear scan of current addresses keeps
   * mobility trivial (first host added wins if two share an address). */
  for (i = 0; i < net->hosts->len; i++) {
    RtmfpSimHost *h = g_ptr_array_index (net->hosts, i);

    if (rtmfp_addr_equal (&h->addr, addr))
      return h;
  }
  return NULL;
}

static gint64
host_next_timeout (RtmfpSimHost * h)
{
  if (h->ep)
    return rtmfp_endpoint_next_timeout (h->ep);
  if (h->raw.next_timeout)
    return h->raw.next_timeout (h, h->raw_data);
  return -1;
}

static void
refresh_timer (RtmfpSimHost * h)
{
  gint64 t = host_next_timeout (h);

  if (t >= 0 && t <= h->last_fired_at)
    t = h->last_fired_at + 1;   /* still due after firing: zero progress */
  h->timer = t;
}

static void
refresh_timers (RtmfpSimNet * net)
{
  guint i;

  for (i = 0; i < net->hosts->len; i++)
    refresh_timer (g_ptr_array_index (net->hosts, i));
}

void
rtmfp_sim_net_kick (RtmfpSimNet * net)
{
  g_return_if_fail (net != NULL);

  refresh_timers (net);
}

static RtmfpSimHost *
earliest_timer (RtmfpSimNet * net)
{
  RtmfpSimHost *best = NULL;
  guint i;

  for (i = 0; i < net->hosts->len; i++) {
    RtmfpSimHost *h = g_ptr_array_index (net->hosts, i);

    if (h->timer >= 0 && (best == NULL || h->timer < best->timer))
      best = h;
  }
  return best;
}

static void
deliver (RtmfpSimNet * net, SimEvent * ev)
{
  RtmfpSimHost *h = find_host (net, &ev->to);

  if (h == NULL) {
    gchar buf[RTMFP_ADDR_STRLEN];

    g_debug ("simnet: nobody at %s, datagram lost",
        rtmfp_addr_to_string (&ev->to, buf));
    return;
  }
  if (h->blackhole) {
    net->stats.dropped_blackhole++;
    dropped (net, ev->data, ev->len, &ev->from, &ev->to,
        RTMFP_SIM_DROP_BLACKHOLE);
    return;
  }
  net->stats.delivered++;
  if (h->ep)
    rtmfp_endpoint_receive (h->ep, ev->data, ev->len, &ev->from, net->now);
  else if (h->raw.receive)
    h->raw.receive (h, ev->data, ev->len, &ev->from, net->now, h->raw_data);
}

static void
fire_timer (RtmfpSimNet * net, RtmfpSimHost * h)
{
  gint64 t;

  if (h->ep)
    rtmfp_endpoint_handle_timeout (h->ep, net->now);
  else if (h->raw.handle_timeout)
    h->raw.handle_timeout (h, net->now, h->raw_data);
  t = host_next_timeout (h);
  if (t >= 0 && t <= net->now) {
    if (++h->spins >= MAX_TIMER_SPINS) {
      gchar buf[RTMFP_ADDR_STRLEN];

      g_error ("simnet: endpoint at %s keeps a timer due at %" G_GINT64_FORMAT
          " after handle_timeout at %" G_GINT64_FORMAT " (%u times in a row):"
          " zero-progress loop in the core", rtmfp_addr_to_string (&h->addr,
              buf), t, net->now, h->spins);
    }
  } else {
    h->spins = 0;
  }
  h->last_fired_at = net->now;
}

/* Runs the next event if it is due at or before `deadline`.  Returns FALSE
 * when there is none (nothing pending or only later events). */
static gboolean
step (RtmfpSimNet * net, gint64 deadline)
{
  SimEvent *ev = heap_peek (net);
  RtmfpSimHost *th = earliest_timer (net);
  gint64 t_ev = ev ? ev->time : G_MAXINT64;
  gint64 t_th = th ? MAX (th->timer, net->now) : G_MAXINT64;

  if (ev == NULL && th == NULL)
    return FALSE;

  if (ev && t_ev <= t_th) {
    if (t_ev > deadline)
      return FALSE;
    heap_pop (net);
    net->now = MAX (net->now, t_ev);
    deliver (net, ev);
    g_free (ev);
  } else {
    if (t_th > deadline)
      return FALSE;
    net->now = t_th;
    fire_timer (net, th);
  }
  refresh_timers (net);
  return TRUE;
}

gboolean
rtmfp_sim_net_run_until (RtmfpSimNet * net, RtmfpSimCondition cond,
    gpointer ud, gint64 max_us)
{
  gint64 deadline;
  gboolean ok = FALSE;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (!net->running, FALSE);  /* not re-entrant */
  g_return_val_if_fail (max_us >= 0, FALSE);

  deadline = net->now > G_MAXINT64 - max_us ? G_MAXINT64 : net->now + max_us;
  net->running = TRUE;
  refresh_timers (net);

  if (cond && cond (ud)) {
    ok = TRUE;
  } else {
    while (step (net, deadline)) {
      if (cond && cond (ud)) {
        ok = TRUE;
        break;
      }
    }
    if (!ok)
      net->now = MAX (net->now, deadline);
  }

  net->running = FALSE;
  refresh_timers (net);
  return ok;
}

void
rtmfp_sim_net_run_for (RtmfpSimNet * net, gint64 us)
{
  rtmfp_sim_net_run_until (net, NULL, NULL, us);
}
