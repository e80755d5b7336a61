/* RTMFP core: a player's bounded receive queue (see rtmfpmediaqueue.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpmediaqueue.h"
#include "flvtag.h"

enum { K_AUDIO, K_VIDEO, K_DATA, K_N };

struct _RtmfpMediaQueue {
  guint max_items;
  gsize max_bytes;
  GQueue items;                 /* RtmfpMediaItem* */
  gsize bytes;
  guint pending_lost[K_N];      /* for the next item of that kind */
  gboolean video_cut;           /* video waits for a keyframe */
  guint64 dropped;
};

static guint
kind_of (guint8 type)
{
  if (type == RTMFP_FLV_TAG_TYPE_AUDIO)
    return K_AUDIO;
  if (type == RTMFP_FLV_TAG_TYPE_VIDEO)
    return K_VIDEO;
  return K_DATA;
}

void
rtmfp_media_item_free (RtmfpMediaItem * item)
{
  if (!item)
    return;
  g_bytes_unref (item->payload);
  g_free (item);
}

RtmfpMediaQueue *
rtmfp_media_queue_new (guint max_items, gsize max_bytes)
{
  RtmfpMediaQueue *q = g_new0 (RtmfpMediaQueue, 1);

  q->max_items = MAX (max_items, 1);
  q->max_bytes = MAX (max_bytes, 1);
  g_queue_init (&q->items);
  return q;
}

void
rtmfp_media_queue_free (RtmfpMediaQueue * q)
{
  if (!q)
    return;
  rtmfp_media_queue_clear (q);
  g_free (q);
}

void
rtmfp_media_queue_clear (RtmfpMediaQueue * q)
{
  g_return_if_fail (q != NULL);
  g_queue_clear_full (&q->items, (GDestroyNotify) rtmfp_media_item_free);
  q->bytes = 0;
  q->video_cut = FALSE;
  memset (q->pending_lost, 0, sizeof q->pending_lost);
}

/* n messages of kind k were dropped at l: the next one of that kind after
 * l (or the next one pushed) says so */
static void
note_lost (RtmfpMediaQueue * q, GList * l, guint k, guint n)
{
  for (; l; l = l->next) {
    RtmfpMediaItem *it = l->data;
    if (kind_of (it->type) == k) {
      it->lost += n;
      it->flags |= RTMFP_MEDIA_DISCONT;
      return;
    }
  }
  q->pending_lost[k] += n;
}

/* Removes l; returns the link after it */
static GList *
remove_link (RtmfpMediaQueue * q, GList * l, guint * n)
{
  RtmfpMediaItem *it = l->data;
  GList *next = l->next;

  q->bytes -= g_bytes_get_size (it->payload);
  g_queue_delete_link (&q->items, l);
  /* what this item stood for goes with it */
  *n += 1 + it->lost;
  rtmfp_media_item_free (it);
  q->dropped++;
  return next;
}

static gboolean
is_inter (const RtmfpMediaItem * it)
{
  return it->type == RTMFP_FLV_TAG_TYPE_VIDEO &&
      !(it->flags & (RTMFP_MEDIA_KEYFRAME | RTMFP_MEDIA_HEADER));
}

/* 1: the oldest inter frame and the video after it up to the next
 * keyframe */
static gboolean
drop_gop_tail (RtmfpMediaQueue * q)
{
  GList *l;
  guint n = 0;

  for (l = q->items.head; l && !is_inter (l->data); l = l->next);
  if (!l)
    return FALSE;
  while (l) {
    RtmfpMediaItem *it = l->data;
    if (it->type != RTMFP_FLV_TAG_TYPE_VIDEO || (it->flags &
            RTMFP_MEDIA_HEADER)) {
      l = l->next;
      continue;
    }
    if (it->flags & RTMFP_MEDIA_KEYFRAME)
      break;
    l = remove_link (q, l, &n);
  }
  if (!l)
    q->video_cut = TRUE;        /* the GOP goes on beyond the queue */
  note_lost (q, l, K_VIDEO, n);
  return TRUE;
}

/* The oldest item matching: audio (2), a keyframe (3), anything but stream
 * state (4) */
static gboolean
drop_oldest (RtmfpMediaQueue * q, gint what)
{
  GList *l;
  guint n = 0;

  for (l = q->items.head; l; l = l->next) {
    RtmfpMediaItem *it = l->data;
    gboolean match;

    if (what == 2)
      match = it->type == RTMFP_FLV_TAG_TYPE_AUDIO &&
          !(it->flags & RTMFP_MEDIA_HEADER);
    else if (what == 3)
      match = (it->flags & RTMFP_MEDIA_KEYFRAME) != 0;
    else
      match = !(it->flags & RTMFP_MEDIA_HEADER);
    if (match) {
      guint k = kind_of (it->type);
      gboolean key = (it->flags & RTMFP_MEDIA_KEYFRAME) != 0;
      GList *next = remove_link (q, l, &n);

      if (key) {
        /* its GOP goes with it */
        while (next && !(((RtmfpMediaItem *) next->data)->type ==
                RTMFP_FLV_TAG_TYPE_VIDEO && (((RtmfpMediaItem *) next->data)->
                    flags & (RTMFP_MEDIA_KEYFRAME | RTMFP_MEDIA_HEADER)))) {
          if (is_inter (next->data))
            next = remove_link (q, next, &n);
          else
            next = next->next;
        }
        if (!next)
          q->video_cut = TRUE;
      }
      note_lost (q, next, k, n);
      return TRUE;
    }
  }
  return FALSE;
}

static void
make_room (RtmfpMediaQueue * q, gsize size)
{
  while (q->items.length && (q->items.length >= q->max_items ||
          q->bytes + size > q->max_bytes)) {
    if (drop_gop_tail (q) || drop_oldest (q, 2) || drop_oldest (q, 3) ||
        drop_oldest (q, 4))
      continue;
    /* only stream state left: the oldest goes */
    {
      guint n = 0;
      RtmfpMediaItem *it = q->items.head->data;
      guint k = kind_of (it->type);
      GList *next = remove_link (q, q->items.head, &n);
      note_lost (q, next, k, n);
    }
  }
}

void
rtmfp_media_queue_push (RtmfpMediaQueue * q, const RtmfpMediaMessage * msg)
{
  RtmfpMediaItem *it;
  guint k;

  g_return_if_fail (q != NULL && msg != NULL);

  k = kind_of (msg->type);
  if (k == K_VIDEO && q->video_cut) {
    if (!(msg->flags & (RTMFP_MEDIA_KEYFRAME | RTMFP_MEDIA_HEADER))) {
      q->pending_lost[K_VIDEO] += 1 + msg->lost;
      q->dropped++;
      return;
    }
    if (msg->flags & RTMFP_MEDIA_KEYFRAME)
      q->video_cut = FALSE;
  }
  if (msg->len > q->max_bytes) {
    q->pending_lost[k] += 1 + msg->lost;
    q->dropped++;
    if (k == K_VIDEO && !(msg->flags & RTMFP_MEDIA_HEADER))
      q->video_cut = TRUE;
    return;
  }
  make_room (q, msg->len);

  it = g_new0 (RtmfpMediaItem, 1);
  it->type = msg->type;
  it->timestamp = msg->timestamp;
  it->payload = g_bytes_new (msg->payload, msg->len);
  it->flags = msg->flags;
  it->lost = msg->lost + q->pending_lost[k];
  if (q->pending_lost[k])
    it->flags |= RTMFP_MEDIA_DISCONT;
  q->pending_lost[k] = 0;
  g_queue_push_tail (&q->items, it);
  q->bytes += msg->len;
}

RtmfpMediaItem *
rtmfp_media_queue_pop (RtmfpMediaQueue * q)
{
  RtmfpMediaItem *it;

  g_return_val_if_fail (q != NULL, NULL);
  it = g_queue_pop_head (&q->items);
  if (it)
    q->bytes -= g_bytes_get_size (it->payload);
  return it;
}

guint
rtmfp_media_queue_get_length (RtmfpMediaQueue * q)
{
  g_return_val_if_fail (q != NULL, 0);
  return q->items.length;
}

gsize
rtmfp_media_queue_get_bytes (RtmfpMediaQueue * q)
{
  g_return_val_if_fail (q != NULL, 0);
  return q->bytes;
}

guint64
rtmfp_media_queue_get_dropped (RtmfpMediaQueue * q)
{
  g_return_val_if_fail (q != NULL, 0);
  return q->dropped;
}
