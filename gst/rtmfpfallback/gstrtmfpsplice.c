/* GStreamer rtmfpfallback: splicing one played stream onto another (see
 * gstrtmfpsplice.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstrtmfpsplice.h"

/* Two sources carry the same clock when their delays (timestamp minus
 * arrival) agree this closely (an outage's backlog, a server's buffer) */
#define SAME_TIMELINE_NS (10 * GST_SECOND)
/* A hold's bounds */
#define HOLD_MAX_MSGS 4000
#define HOLD_MAX_BYTES (16 * 1024 * 1024)
#define HOLD_MAX_MS 20000
/* audio only, before anything was given out: the latest this much */
#define HOLD_AUDIO_ONLY_MS 500

void
gst_rtmfp_splice_msg_free (GstRtmfpSpliceMsg * m)
{
  if (!m)
    return;
  rtmfp_media_item_free (m->item);
  g_free (m);
}

/* ------------------------------------------------------------------------ */
/* the output's timeline */

void
gst_rtmfp_timeline_init (GstRtmfpTimeline * tl)
{
  memset (tl, 0, sizeof *tl);
  tl->last_video = tl->last_audio = GST_CLOCK_TIME_NONE;
}

static GstClockTime
map (const GstRtmfpTimeline * tl, guint64 ms)
{
  if (ms >= tl->anchor_ms)
    return tl->anchor_rt + (ms - tl->anchor_ms) * GST_MSECOND;
  if ((tl->anchor_ms - ms) * GST_MSECOND > tl->anchor_rt)
    return 0;
  return tl->anchor_rt - (tl->anchor_ms - ms) * GST_MSECOND;
}

static void
anchor (GstRtmfpTimeline * tl, guint64 ms, GstClockTime rt)
{
  if (!tl->anchored) {
    tl->base_ms = ms;
    tl->base_rt = rt;
  }
  tl->anchored = TRUE;
  tl->anchor_ms = ms;
  tl->anchor_rt = rt;
}

static GstClockTime
last_given (const GstRtmfpTimeline * tl)
{
  GstClockTime v = tl->last_video, a = tl->last_audio;

  if (!GST_CLOCK_TIME_IS_VALID (v))
    return a;
  if (!GST_CLOCK_TIME_IS_VALID (a))
    return v;
  return MAX (v, a);
}

GstClockTime
gst_rtmfp_timeline_stamp (GstRtmfpTimeline * tl, GstRtmfpSpliceMsg * m)
{
  GstClockTime dts;
  guint8 type = m->item->type;

  if (!tl->anchored)
    anchor (tl, m->ms, m->arrival);
  dts = map (tl, m->ms);
  /* the output's FLV timestamps: ms since the first anchor */
  m->item->timestamp = (guint32) (tl->base_ms + (dts > tl->base_rt ?
          (dts - tl->base_rt) / GST_MSECOND : 0));
  if (m->item->flags & RTMFP_MEDIA_HEADER)
    return dts;
  if (type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    tl->last_video = dts;
    tl->has_video = TRUE;
  } else if (type == RTMFP_FLV_TAG_TYPE_AUDIO) {
    tl->last_audio = dts;
  }
  tl->last_delay = (gint64) dts - (gint64) m->arrival;
  return dts;
}

/* Would m come after what was given out of its type (same clock)? */
static gboolean
later (const GstRtmfpTimeline * tl, const GstRtmfpSpliceMsg * m)
{
  GstClockTime last = m->item->type == RTMFP_FLV_TAG_TYPE_VIDEO ?
      tl->last_video : tl->last_audio;

  return !tl->anchored || !GST_CLOCK_TIME_IS_VALID (last) ||
      map (tl, m->ms) > last;
}

static gboolean
same_clock (const GstRtmfpTimeline * tl, const GstRtmfpSpliceMsg * m)
{
  gint64 delay;

  if (!tl->anchored || !GST_CLOCK_TIME_IS_VALID (last_given (tl)))
    return TRUE;
  delay = (gint64) map (tl, m->ms) - (gint64) m->arrival;
  return ABS (delay - tl->last_delay) <= (gint64) SAME_TIMELINE_NS;
}

/* ------------------------------------------------------------------------ */
/* holding a source */

void
gst_rtmfp_splice_hold_init (GstRtmfpSpliceHold * h)
{
  memset (h, 0, sizeof *h);
  g_queue_init (&h->media);
  rtmfp_flv_ts_unwrapper_init (&h->unwrap);
}

static void
drop_media (GstRtmfpSpliceHold * h)
{
  GstRtmfpSpliceMsg *m;

  while ((m = g_queue_pop_head (&h->media))) {
    h->bytes -= g_bytes_get_size (m->item->payload);
    gst_rtmfp_splice_msg_free (m);
  }
}

void
gst_rtmfp_splice_hold_clear (GstRtmfpSpliceHold * h)
{
  guint i;

  drop_media (h);
  for (i = 0; i < G_N_ELEMENTS (h->state); i++)
    g_clear_pointer (&h->state[i], gst_rtmfp_splice_msg_free);
}

GstRtmfpSpliceMsg *
gst_rtmfp_splice_hold_wrap (GstRtmfpSpliceHold * h, RtmfpMediaItem * item,
    GstClockTime arrival)
{
  GstRtmfpSpliceMsg *m = g_new0 (GstRtmfpSpliceMsg, 1);

  m->item = item;
  m->ms = rtmfp_flv_ts_unwrapper_unwrap (&h->unwrap, item->timestamp);
  m->arrival = arrival;
  return m;
}

static gboolean
is_key (const GstRtmfpSpliceMsg * m)
{
  return (m->item->flags & RTMFP_MEDIA_KEYFRAME) != 0;
}

static void
drop_head (GstRtmfpSpliceHold * h)
{
  GstRtmfpSpliceMsg *m = g_queue_pop_head (&h->media);

  h->bytes -= g_bytes_get_size (m->item->payload);
  h->dropped++;
  gst_rtmfp_splice_msg_free (m);
}

/* Drops held media before the first message for which keep() says so */
static void
drop_until (GstRtmfpSpliceHold * h, const GstRtmfpTimeline * tl,
    gboolean (*keep) (const GstRtmfpTimeline *, const GstRtmfpSpliceMsg *))
{
  GList *l;

  for (l = h->media.head; l; l = l->next)
    if (keep (tl, l->data))
      break;
  if (!l)
    return;
  while (h->media.head != l)
    drop_head (h);
}

static gboolean
keep_later_key (const GstRtmfpTimeline * tl, const GstRtmfpSpliceMsg * m)
{
  /* before anything was given out, the newest GOP is the one to start
   * with (closest to live); after, the earliest one still later */
  return is_key (m) && tl->anchored && later (tl, m);
}

static gboolean
keep_later (const GstRtmfpTimeline * tl, const GstRtmfpSpliceMsg * m)
{
  return tl->anchored && later (tl, m);
}

static void
prune (GstRtmfpSpliceHold * h, const GstRtmfpTimeline * tl,
    GstRtmfpSpliceMsg * newest)
{
  GstRtmfpSpliceMsg *head;

  if (h->seen_video && is_key (newest)) {
    drop_until (h, tl, keep_later_key);
    if (!keep_later_key (tl, h->media.head->data))
      while (h->media.head->data != newest)
        drop_head (h);
  } else if (!h->seen_video) {
    drop_until (h, tl, keep_later);
    while (!tl->anchored && h->media.length > 1 && newest->ms >
        ((GstRtmfpSpliceMsg *) h->media.head->data)->ms + HOLD_AUDIO_ONLY_MS)
      drop_head (h);
  }
  /* bounded whatever comes (then from a keyframe where there is video) */
  while (h->media.length > 1 && (h->media.length > HOLD_MAX_MSGS ||
          h->bytes > HOLD_MAX_BYTES || newest->ms >
          ((GstRtmfpSpliceMsg *) h->media.head->data)->ms + HOLD_MAX_MS)) {
    drop_head (h);
    while (h->seen_video && h->media.length > 1 &&
        !is_key (head = h->media.head->data))
      drop_head (h);
  }
}

void
gst_rtmfp_splice_hold_push (GstRtmfpSpliceHold * h, GstRtmfpSpliceMsg * m,
    const GstRtmfpTimeline * tl)
{
  RtmfpMediaItem *it = m->item;

  if (it->flags & RTMFP_MEDIA_HEADER) {
    guint k = it->type == RTMFP_FLV_TAG_TYPE_SCRIPT ? 0 :
        it->type == RTMFP_FLV_TAG_TYPE_VIDEO ? 1 : 2;

    gst_rtmfp_splice_msg_free (h->state[k]);
    h->state[k] = m;
    return;
  }
  if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO)
    h->seen_video = TRUE;
  /* a video message not yet after a keyframe decodes to nothing */
  if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO && !is_key (m) &&
      !h->media.length) {
    gst_rtmfp_splice_msg_free (m);
    return;
  }
  g_queue_push_tail (&h->media, m);
  h->bytes += g_bytes_get_size (it->payload);
  prune (h, tl, m);
}

/* ------------------------------------------------------------------------ */
/* splicing */

/* The held message to start from, or NULL; *reanchor if the source has a
 * clock of its own */
static GList *
find_start (GstRtmfpSpliceHold * h, const GstRtmfpTimeline * tl,
    gboolean * reanchor)
{
  gboolean video = h->seen_video || tl->has_video;
  GList *l, *first = NULL;

  for (l = h->media.head; l && !first; l = l->next) {
    GstRtmfpSpliceMsg *m = l->data;
    if (video ? is_key (m) : m->item->type == RTMFP_FLV_TAG_TYPE_AUDIO)
      first = l;
  }
  if (!first)
    return NULL;
  *reanchor = !same_clock (tl, first->data);
  if (*reanchor)
    return first;
  for (l = first; l; l = l->next) {
    GstRtmfpSpliceMsg *m = l->data;
    if ((video ? is_key (m) : m->item->type == RTMFP_FLV_TAG_TYPE_AUDIO) &&
        later (tl, m))
      return l;
  }
  return NULL;
}

static GstFlowReturn
give (GstRtmfpTimeline * tl, GstRtmfpSpliceMsg * m, guint extra_flags,
    GstRtmfpSpliceOutFunc out, gpointer data)
{
  GstClockTime dts = gst_rtmfp_timeline_stamp (tl, m);

  m->item->flags |= extra_flags;
  return out (m->item, dts, data);
}

gboolean
gst_rtmfp_splice_hold_splice (GstRtmfpSpliceHold * h, GstRtmfpTimeline * tl,
    GstRtmfpSpliceOutFunc out, gpointer data, GstFlowReturn * ret)
{
  gboolean reanchor = FALSE;
  GList *start = find_start (h, tl, &reanchor);
  GstRtmfpSpliceMsg *s, *m;
  guint i, restart = RTMFP_MEDIA_RESTART;
  guint64 start_ms;

  *ret = GST_FLOW_OK;
  if (!start)
    return FALSE;
  s = start->data;
  if (reanchor)
    anchor (tl, s->ms, MAX (s->arrival, GST_CLOCK_TIME_IS_VALID (last_given
                (tl)) ? last_given (tl) + GST_MSECOND : 0));
  while (h->media.head != start)
    drop_head (h);
  start_ms = s->ms;             /* s is given out (and freed) below */
  /* the stream state, stamped with the start's time */
  for (i = 0; i < G_N_ELEMENTS (h->state); i++) {
    if (!h->state[i])
      continue;
    h->state[i]->ms = start_ms;
    *ret = give (tl, h->state[i], restart, out, data);
    restart = 0;
  }
  while ((m = g_queue_pop_head (&h->media))) {
    h->bytes -= g_bytes_get_size (m->item->payload);
    /* audio from the start's time on */
    if (m->ms >= start_ms || m->item->type != RTMFP_FLV_TAG_TYPE_AUDIO) {
      *ret = give (tl, m, restart, out, data);
      restart = 0;
    }
    gst_rtmfp_splice_msg_free (m);
  }
  return TRUE;
}
