/* Test helper: media-like RTMFP sessions on the simulated network (see
 * simmedia.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "simmedia"

#include <string.h>

#include "simmedia.h"
#include "rtmfpsessionpriv.h"   /* the receiving session's cipher */
#include "rtmfpcrypto.h"
#include "rtmfppacket.h"

#define HDR 16                  /* index (8) + send time (8) */
#define BULK_MSG 4000

struct _SimWorld {
  RtmfpSimNet *net;
  GPtrArray *pairs;             /* SimPair* */
};

void
sim_live_profile_init (SimLiveProfile * p)
{
  memset (p, 0, sizeof *p);
  p->fps = 30;
  p->gop = 60;
  p->key_bytes = 30000;
  p->video_bps = 1500000;
  p->video_lifetime_us = 1 * SIM_SEC;
  p->audio_bytes = 60;
  p->audio_interval_us = 20 * SIM_MS;
  p->audio_lifetime_us = 200 * SIM_MS;
}

static void
record_init (SimFlowRecord * r)
{
  memset (r, 0, sizeof *r);
  r->latency = g_array_new (FALSE, FALSE, sizeof (gint64));
  r->arrival = g_array_new (FALSE, FALSE, sizeof (gint64));
  r->index = g_array_new (FALSE, FALSE, sizeof (gint64));
  r->last_index = -1;
}

static void
record_clear (SimFlowRecord * r)
{
  g_clear_pointer (&r->latency, g_array_unref);
  g_clear_pointer (&r->index, g_array_unref);
  g_clear_pointer (&r->arrival, g_array_unref);
}

gint64
sim_flow_record_longest_gap (const SimFlowRecord * r, gint64 from)
{
  gint64 prev = from, longest = 0;
  guint i;

  for (i = 0; i < r->arrival->len; i++) {
    gint64 t = g_array_index (r->arrival, gint64, i);

    if (t < from)
      continue;
    longest = MAX (longest, t - prev);
    prev = t;
  }
  return longest;
}

guint64
sim_flow_record_on_time (const SimFlowRecord * r, gint64 bound)
{
  guint64 n = 0;
  guint i;

  for (i = 0; i < r->latency->len; i++)
    if (g_array_index (r->latency, gint64, i) <= bound)
      n++;
  return n;
}

guint64
sim_flow_record_decodable_on_time (const SimFlowRecord * r, guint gop,
    gint64 bound)
{
  guint64 n = 0;
  gint64 expect = 0;
  guint i;

  /* delivered in order: a frame is decodable when every frame of its GOP
   * before it was delivered too */
  for (i = 0; i < r->index->len; i++) {
    gint64 idx = g_array_index (r->index, gint64, i);

    if (idx % gop == 0)
      expect = idx;
    if (idx != expect)
      continue;
    expect = idx + 1;
    if (g_array_index (r->latency, gint64, i) <= bound)
      n++;
  }
  return n;
}

static gint64
now_of (SimPair * p)
{
  return rtmfp_sim_net_now (p->world->net);
}

/* ---- receiving ---- */

static void
on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len, guint64 gap,
    gpointer ud)
{
  SimPair *p = ud;
  const guint8 *md;
  gsize mdlen;
  SimFlowRecord *r = NULL;
  gint64 idx, sent, now = now_of (p), lat;

  p->rx_bytes += len;
  md = rtmfp_recv_flow_get_metadata (f, &mdlen);
  if (mdlen == 5 && memcmp (md, "video", 5) == 0)
    r = &p->vrec;
  else if (mdlen == 5 && memcmp (md, "audio", 5) == 0)
    r = &p->arec;
  if (!r)
    return;
  if (len < HDR) {
    r->bad = TRUE;
    return;
  }
  memcpy (&idx, data, 8);
  memcpy (&sent, data + 8, 8);
  if (idx <= r->last_index)
    r->bad = TRUE;
  r->last_index = idx;
  if (gap)
    r->gaps++;
  r->delivered++;
  lat = now - sent;
  r->max_latency = MAX (r->max_latency, lat);
  g_array_append_val (r->latency, lat);
  g_array_append_val (r->index, idx);
  g_array_append_val (r->arrival, now);
}

/* ---- sending ---- */

static gboolean
write_msg (SimPair * p, RtmfpSendFlow * f, guint64 index, gsize size,
    gint64 lifetime, guint flags)
{
  gint64 now = now_of (p);
  guint8 *d = g_malloc0 (MAX (size, HDR));
  gboolean ok;

  memcpy (d, &index, 8);
  memcpy (d + 8, &now, 8);
  ok = rtmfp_session_write (p->tx, f, d, MAX (size, HDR),
      lifetime > 0 ? now + lifetime : RTMFP_NO_DEADLINE, flags, now);
  g_free (d);
  return ok;
}

static void
bulk_pump (SimPair * p)
{
  while (p->bulk_flow && rtmfp_send_flow_get_queued_bytes (p->bulk_flow) <
      RTMFP_SESSION_FLOW_HIGH_WATER) {
    if (!write_msg (p, p->bulk_flow, p->bulk_index, BULK_MSG, 0, 0))
      break;
    p->bulk_index++;
    p->bulk_bytes_written += BULK_MSG;
  }
}

/* ---- endpoint callbacks ---- */

static void
cb_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  SimPair *p = ud;

  if (ep == rtmfp_sim_host_get_endpoint (p->tx_host)) {
    p->tx_opened++;
    if (!p->tx)
      p->tx = rtmfp_session_ref (s);
  } else {
    p->rx_opened++;
    if (!p->rx)
      p->rx = rtmfp_session_ref (s);
  }
}

static void
cb_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  SimPair *p = ud;

  if (ep == rtmfp_sim_host_get_endpoint (p->tx_host))
    p->tx_closed++;
  else
    p->rx_closed++;
}

static gboolean
cb_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, on_message, NULL, ud);
  return TRUE;
}

static void
cb_writable (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpSendFlow * f,
    gpointer ud)
{
  SimPair *p = ud;

  if (f == p->bulk_flow)
    bulk_pump (p);
}

static const RtmfpEndpointCallbacks pair_callbacks = {
  .session_opened = cb_opened,
  .session_closed = cb_closed,
  .flow_opened = cb_flow_opened,
  .send_flow_writable = cb_writable,
};

/* ---- what the link dropped ---- */

typedef void (*FragmentFunc) (SimPair * p, const RtmfpUserDataChunk * ud,
    gpointer data);

/* Decodes a session datagram from the sender to the receiver and calls
 * func for each user data chunk; FALSE if it is not one */
static gboolean
foreach_fragment (SimPair * p, const guint8 * data, gsize len,
    FragmentFunc func, gpointer fdata)
{
  RtmfpCipher *cipher = p->rx ? _rtmfp_session_get_cipher (p->rx) : NULL;
  guint8 *plain;
  gsize plain_len = 0;
  RtmfpPacket pk;
  RtmfpChunkIter it;
  RtmfpChunk c;
  RtmfpUserDataChunk prev, ud;
  gboolean prev_ok = FALSE;

  if (!cipher || rtmfp_session_id_unscramble (data, len) == 0)
    return FALSE;
  plain = g_malloc (len);
  if (!rtmfp_cipher_decode (cipher, data, len, plain, &plain_len) ||
      !rtmfp_packet_parse (plain, plain_len, &pk)) {
    p->undecodable++;
    g_free (plain);
    return FALSE;
  }
  rtmfp_chunk_iter_init (&it, &pk);
  while (rtmfp_chunk_iter_next (&it, &c)) {
    gboolean ok = FALSE;

    if (c.type == RTMFP_CHUNK_USER_DATA)
      ok = rtmfp_user_data_chunk_parse (c.data, c.len, &ud);
    else if (c.type == RTMFP_CHUNK_NEXT_USER_DATA && prev_ok)
      ok = rtmfp_next_user_data_chunk_parse (c.data, c.len, &prev, &ud);
    else
      continue;
    if (!ok) {
      p->undecodable++;
      prev_ok = FALSE;
      continue;
    }
    func (p, &ud, fdata);
    prev = ud;
    prev_ok = TRUE;
  }
  g_free (plain);
  return TRUE;
}

static gpointer
fragment_key (const RtmfpUserDataChunk * ud)
{
  return GSIZE_TO_POINTER ((gsize) ((ud->flow_id << 40) ^ ud->seq));
}

static void
on_dropped_fragment (SimPair * p, const RtmfpUserDataChunk * ud,
    gpointer data)
{
  RtmfpSimDropReason reason = GPOINTER_TO_INT (data);
  gint64 *t = g_new (gint64, 1);

  p->dropped_fragments++;
  if (reason == RTMFP_SIM_DROP_QUEUE)
    p->dropped_fragments_queue++;
  *t = now_of (p);
  g_hash_table_replace (p->unrepaired, fragment_key (ud), t);
}

static void
on_sent_fragment (SimPair * p, const RtmfpUserDataChunk * ud, gpointer data)
{
  gint64 *t = g_hash_table_lookup (p->unrepaired, fragment_key (ud));

  if (p->timed && ud->flow_id == rtmfp_send_flow_get_id (p->timed) &&
      !(ud->flags & RTMFP_UD_FLAG_ABN) && ud->len >= HDR) {
    gint64 sent;

    memcpy (&sent, ud->data + 8, 8);
    p->timed_transmissions++;
    if (now_of (p) > sent + p->timed_lifetime)
      p->late_transmissions++;
  }

  if (t) {
    gint64 d = now_of (p) - *t;

    p->repairs++;
    p->sum_repair_us += d;
    p->max_repair_us = MAX (p->max_repair_us, d);
    g_hash_table_remove (p->unrepaired, fragment_key (ud));
  }
}

static void
count_dropped (SimPair * p, const guint8 * data, gsize len,
    RtmfpSimDropReason reason)
{
  if (foreach_fragment (p, data, len, on_dropped_fragment,
          GINT_TO_POINTER (reason)))
    p->dropped_datagrams++;
}

static void
on_drop (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, RtmfpSimDropReason reason,
    gpointer ud)
{
  SimWorld *w = ud;
  guint i;

  for (i = 0; i < w->pairs->len; i++) {
    SimPair *p = g_ptr_array_index (w->pairs, i);

    if (rtmfp_addr_equal (from, rtmfp_sim_host_get_address (p->tx_host)) &&
        rtmfp_addr_equal (to, rtmfp_sim_host_get_address (p->rx_host)))
      count_dropped (p, data, len, reason);
  }
}

static gboolean
filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  SimWorld *w = ud;
  guint i;

  for (i = 0; i < w->pairs->len; i++) {
    SimPair *p = g_ptr_array_index (w->pairs, i);

    if (!p->rx || rtmfp_session_id_unscramble (data, len) == 0 ||
        !rtmfp_addr_equal (from, rtmfp_sim_host_get_address (p->tx_host)) ||
        !rtmfp_addr_equal (to, rtmfp_sim_host_get_address (p->rx_host)))
      continue;
    /* every transmission, for the repair times; the drop observer sees
     * this datagram after us if the network drops it */
    foreach_fragment (p, data, len, on_sent_fragment, NULL);
    if (p->drop_next > 0) {
      p->drop_next--;
      return FALSE;
    }
  }
  return TRUE;
}

void
sim_pair_drop_next (SimPair * p, guint n)
{
  p->drop_next = n;
}

/* ---- world ---- */

SimWorld *
sim_world_new (guint32 seed, const RtmfpSimLink * link)
{
  SimWorld *w = g_new0 (SimWorld, 1);

  w->net = rtmfp_sim_net_new (seed);
  if (link)
    rtmfp_sim_net_set_link (w->net, link);
  w->pairs = g_ptr_array_new ();
  rtmfp_sim_net_set_drop_observer (w->net, on_drop, w);
  rtmfp_sim_net_set_filter (w->net, filter, w);
  return w;
}

RtmfpSimNet *
sim_world_get_net (SimWorld * w)
{
  return w->net;
}

void
sim_world_set_link (SimWorld * w, const RtmfpSimLink * link)
{
  rtmfp_sim_net_set_link (w->net, link);
}

static gboolean
pair_open (gpointer ud)
{
  SimPair *p = ud;

  return p->tx && p->rx;
}

SimPair *
sim_world_add_pair (SimWorld * w, const gchar * tx_addr,
    const gchar * rx_addr, const RtmfpEndpointConfig * tx_cfg)
{
  static const guint groups[] = { 14 };
  SimPair *p = g_new0 (SimPair, 1);
  RtmfpEndpointConfig cfg;
  RtmfpIdentity *rid, *tid;
  GByteArray *epd;
  RtmfpSession *s;

  p->world = w;
  p->unrepaired = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  record_init (&p->vrec);
  record_init (&p->arec);
  g_ptr_array_add (w->pairs, p);

  rid = rtmfp_identity_new_ephemeral (groups, 1, NULL, TRUE);
  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = rid;
  cfg.accept_sessions = TRUE;
  cfg.crypto.sseq_flags = 0;
  p->rx_host = rtmfp_sim_net_add_host (w->net, rx_addr, &cfg,
      &pair_callbacks, p);

  tid = rtmfp_identity_new_static (groups, 1);
  if (tx_cfg)
    cfg = *tx_cfg;
  else
    rtmfp_endpoint_config_init (&cfg);
  cfg.identity = tid;
  cfg.accept_sessions = FALSE;
  cfg.crypto.sseq_flags = 0;
  p->tx_host = rtmfp_sim_net_add_host (w->net, tx_addr, &cfg,
      &pair_callbacks, p);

  epd = g_byte_array_new ();
  rtmfp_epd_append_fingerprint (epd, rtmfp_identity_get_fingerprint (rid));
  s = rtmfp_endpoint_open_session (rtmfp_sim_host_get_endpoint (p->tx_host),
      epd->data, epd->len, rtmfp_sim_host_get_address (p->rx_host), 1,
      rtmfp_sim_net_now (w->net));
  g_assert_nonnull (s);
  g_byte_array_unref (epd);
  rtmfp_identity_unref (rid);
  rtmfp_identity_unref (tid);
  rtmfp_sim_net_kick (w->net);
  g_assert_true (rtmfp_sim_net_run_until (w->net, pair_open, p, 60 * SIM_SEC));
  g_assert_true (p->tx == s);
  return p;
}

void
sim_pair_start_live (SimPair * p, const SimLiveProfile * profile)
{
  p->live = TRUE;
  p->profile = *profile;
  p->video = rtmfp_session_open_flow (p->tx, (const guint8 *) "video", 5,
      NULL);
  g_assert_nonnull (p->video);
  if (profile->audio_interval_us > 0) {
    p->audio = rtmfp_session_open_flow (p->tx, (const guint8 *) "audio", 5,
        NULL);
    g_assert_nonnull (p->audio);
  }
  p->t0 = now_of (p);
  p->cur_bps = profile->adapt ? MAX (profile->min_bps, profile->video_bps / 2) :
      profile->video_bps;
  p->next_adapt = p->t0 + SIM_SEC;
}

void
sim_pair_start_bulk (SimPair * p)
{
  p->bulk = TRUE;
  p->bulk_flow = rtmfp_session_open_flow (p->tx, (const guint8 *) "bulk", 4,
      NULL);
  g_assert_nonnull (p->bulk_flow);
  bulk_pump (p);
  rtmfp_sim_net_kick (p->world->net);
}

void
sim_pair_write_timed (SimPair * p, guint n, gsize size, gint64 lifetime)
{
  guint i;

  if (!p->timed) {
    p->timed = rtmfp_session_open_flow (p->tx, (const guint8 *) "timed", 5,
        NULL);
    g_assert_nonnull (p->timed);
  }
  p->timed_lifetime = lifetime;
  for (i = 0; i < n; i++) {
    g_assert_true (write_msg (p, p->timed, p->timed_sent, size, lifetime, 0));
    p->timed_sent++;
  }
  rtmfp_sim_net_kick (p->world->net);
}

static gint64
video_due (SimPair * p)
{
  return p->t0 + (gint64) (p->frame * SIM_SEC / p->profile.fps);
}

static gint64
audio_due (SimPair * p)
{
  return p->audio ? p->t0 + (gint64) p->aframe *
      p->profile.audio_interval_us : G_MAXINT64;
}

static void
live_write_due (SimPair * p, gint64 now)
{
  const SimLiveProfile *pr = &p->profile;

  if (pr->adapt && now >= p->next_adapt) {
    RtmfpSessionStats st;
    guint64 target;

    rtmfp_session_get_stats (p->tx, &st);
    target = st.rate_estimate_bps * 8 / 10;
    if (st.app_limited && target > p->cur_bps)
      target = MIN (target, p->cur_bps * 11 / 10);
    p->cur_bps = CLAMP (target, pr->min_bps, pr->video_bps);
    p->next_adapt = now + SIM_SEC;
    if (now - p->t0 >= 10 * SIM_SEC) {
      p->min_seen_bps = p->n_bps ? MIN (p->min_seen_bps, p->cur_bps) :
          p->cur_bps;
      p->sum_bps += p->cur_bps;
      p->n_bps++;
    }
  }
  while (video_due (p) <= now) {
    guint64 bps = pr->adapt ? p->cur_bps : pr->video_bps;
    gsize key = (gsize) (pr->key_bytes * bps / pr->video_bps);
    gsize p_bytes = (bps / 8 * pr->gop / pr->fps - key) / (pr->gop - 1);
    gsize size = p->frame % pr->gop == 0 ? key : p_bytes;

    if (write_msg (p, p->video, p->frame, size, pr->video_lifetime_us,
            RTMFP_WRITE_TIME_CRITICAL))
      p->vrec.sent++;
    else
      p->vrec.refused++;
    p->frame++;
  }
  while (audio_due (p) <= now) {
    if (write_msg (p, p->audio, p->aframe, pr->audio_bytes,
            pr->audio_lifetime_us, RTMFP_WRITE_TIME_CRITICAL))
      p->arec.sent++;
    else
      p->arec.refused++;
    p->aframe++;
  }
}

void
sim_world_run (SimWorld * w, gint64 us)
{
  gint64 end = rtmfp_sim_net_now (w->net) + us;

  for (;;) {
    gint64 now = rtmfp_sim_net_now (w->net), next = end;
    guint i;

    for (i = 0; i < w->pairs->len; i++) {
      SimPair *p = g_ptr_array_index (w->pairs, i);

      if (!p->live)
        continue;
      live_write_due (p, now);
      next = MIN (next, MIN (video_due (p), audio_due (p)));
    }
    rtmfp_sim_net_kick (w->net);
    if (now >= end)
      break;
    rtmfp_sim_net_run_for (w->net, MAX (next - now, 0));
    if (rtmfp_sim_net_now (w->net) >= end && next >= end)
      break;
  }
}

void
sim_world_free (SimWorld * w)
{
  guint i;

  for (i = 0; i < w->pairs->len; i++) {
    SimPair *p = g_ptr_array_index (w->pairs, i);

    g_clear_pointer (&p->tx, rtmfp_session_unref);
    g_clear_pointer (&p->rx, rtmfp_session_unref);
  }
  rtmfp_sim_net_free (w->net);
  for (i = 0; i < w->pairs->len; i++) {
    SimPair *p = g_ptr_array_index (w->pairs, i);

    record_clear (&p->vrec);
    record_clear (&p->arec);
    g_hash_table_unref (p->unrepaired);
    g_free (p);
  }
  g_ptr_array_unref (w->pairs);
  g_free (w);
}
