/* RTMFP core: a player's bounded receive queue.
 *
 * Holds the messages of a played stream between the thread that receives
 * them and the one that hands them on (a GStreamer streaming thread), with
 * hard limits on messages and bytes.  When a new message does not fit,
 * the queue makes room in the way that costs the picture least:
 *
 *   1. video: the oldest inter frame and every video message after it up
 *      to the next keyframe (a GOP tail: nothing in it decodes without
 *      the frames before); with no keyframe queued after it, video stays
 *      cut until the next keyframe arrives;
 *   2. else the oldest audio message;
 *   3. else the oldest video keyframe (then video waits for the next);
 *   4. else the oldest message of any kind but stream state (sequence
 *      headers and metadata go last).
 *
 * The message after what was dropped of its type is marked DISCONT and
 * counts the dropped ones in `lost`, so a player can conceal exactly that
 * much.  Not thread safe: the owner locks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpmedia.h"

G_BEGIN_DECLS

typedef struct _RtmfpMediaQueue RtmfpMediaQueue;

typedef struct {
  guint8 type;
  guint32 timestamp;
  GBytes *payload;              /* owned by the item */
  guint flags;                  /* RtmfpMediaFlags */
  guint lost;
} RtmfpMediaItem;

void      rtmfp_media_item_free (RtmfpMediaItem * item);

RtmfpMediaQueue *rtmfp_media_queue_new (guint max_items, gsize max_bytes);
void      rtmfp_media_queue_free (RtmfpMediaQueue * q);

/* Copies msg's payload; makes room first.  A message larger than the whole
 * byte limit is dropped (and counted as lost for the next of its type). */
void      rtmfp_media_queue_push (RtmfpMediaQueue * q,
    const RtmfpMediaMessage * msg);
/* The oldest item (transfer full), or NULL */
RtmfpMediaItem *rtmfp_media_queue_pop (RtmfpMediaQueue * q);
/* Forgets everything (and the pending losses) */
void      rtmfp_media_queue_clear (RtmfpMediaQueue * q);

guint     rtmfp_media_queue_get_length (RtmfpMediaQueue * q);
gsize     rtmfp_media_queue_get_bytes (RtmfpMediaQueue * q);
/* messages dropped to make room, in total */
guint64   rtmfp_media_queue_get_dropped (RtmfpMediaQueue * q);

G_END_DECLS
