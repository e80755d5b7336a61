/* RTMFP core: one message of a played stream, as the player side of the
 * Flash profile hands it on (RFC 7425 section 5.1: an RTMP message of
 * type 8 audio, 9 video or 18 data, whose payload is an FLV tag body).
 *
 * Shared by the start gate (rtmfpstartgate.h), the receive queue
 * (rtmfpmediaqueue.h) and the agent (rtmfptcagent.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  /* a video keyframe (not a sequence header) */
  RTMFP_MEDIA_KEYFRAME = 1 << 0,
  /* stream state: a sequence header (AVC / AAC) or the metadata */
  RTMFP_MEDIA_HEADER = 1 << 1,
  /* something of this stream was lost or dropped just before it */
  RTMFP_MEDIA_DISCONT = 1 << 2,
  /* the first message of a new start (first play, a reconnection, a new
   * publisher): what came before is not continued */
  RTMFP_MEDIA_RESTART = 1 << 3,
} RtmfpMediaFlags;

typedef struct {
  guint8 type;                  /* 8 audio, 9 video, 18 data */
  guint32 timestamp;            /* ms */
  const guint8 *payload;        /* FLV tag body */
  gsize len;
  guint flags;                  /* RtmfpMediaFlags */
  /* messages of this type (flow) lost or dropped just before it, as far
   * as known (a gap in the flow counts at least one) */
  guint lost;
} RtmfpMediaMessage;

/* Where messages go next */
typedef void (*RtmfpMediaFunc) (const RtmfpMediaMessage * msg,
    gpointer user_data);

/* KEYFRAME / HEADER for a message from its type and payload */
guint     rtmfp_media_classify (guint8 type, const guint8 * payload,
    gsize len);

G_END_DECLS
