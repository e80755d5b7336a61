/* RTMFP core: a coherent start for a player.
 *
 * The messages of a played stream go through the gate, which releases
 * them so that every start (joining a live stream, a reconnection, a new
 * publisher of the name) decodes from its first frame and keeps audio and
 * video together:
 *
 *   - metadata and sequence headers pass at once;
 *   - video starts at a keyframe: inter frames before it are dropped;
 *   - audio starts at that keyframe's time: while video is expected and
 *     its first keyframe has not come, audio is held (bounded); when the
 *     keyframe comes, held audio older than it is dropped and the rest
 *     released after it.  A stream without video lets audio through at
 *     once: the metadata tells (no videocodecid), or, without metadata,
 *     no video message within the probe time.  If no keyframe comes
 *     within the hold time, audio is released anyway (video still waits
 *     for its keyframe);
 *   - repeated sequence headers and metadata (a server replays its cache
 *     to a new player or after a new publisher) that carry an old
 *     timestamp are restamped to the newest media timestamp seen, since a
 *     demuxer takes a timestamp going back for a jump.
 *
 * The first message released after a (re)start has RESTART and DISCONT
 * set; a message after dropped ones of its type has DISCONT and counts
 * them in `lost`.  Sans-I/O: time is a parameter.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpmedia.h"

G_BEGIN_DECLS

typedef struct _RtmfpStartGate RtmfpStartGate;

/* Hold audio waiting for the first keyframe at most this long */
#define RTMFP_START_GATE_DEFAULT_HOLD_US (4 * G_TIME_SPAN_SECOND)
/* Without metadata: a stream that sent no video this long after its
 * first message is taken as audio only */
#define RTMFP_START_GATE_PROBE_US (500 * G_TIME_SPAN_MILLISECOND)
/* Held audio beyond this many bytes: the oldest goes */
#define RTMFP_START_GATE_MAX_HELD_BYTES (512 * 1024)

/* hold_us 0: the default.  out gets every released message. */
RtmfpStartGate *rtmfp_start_gate_new (gint64 hold_us, RtmfpMediaFunc out,
    gpointer user_data);
void      rtmfp_start_gate_free (RtmfpStartGate * g);

/* Continuity is lost (a reconnection, a new publisher): what comes next is
 * a new start.  Held audio is dropped. */
void      rtmfp_start_gate_restart (RtmfpStartGate * g);

/* One message of the stream, in flow order; lost: messages of its flow
 * lost just before it (a gap).  May call out() for it and for held ones. */
void      rtmfp_start_gate_push (RtmfpStartGate * g, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len, guint lost,
    gint64 now);

/* When the gate wants handle_timeout (hold or probe expiring), or -1 */
gint64    rtmfp_start_gate_next_timeout (RtmfpStartGate * g);
void      rtmfp_start_gate_handle_timeout (RtmfpStartGate * g, gint64 now);

typedef struct {
  guint64 video_dropped;        /* inter frames before a keyframe */
  guint64 audio_dropped;        /* held audio older than the keyframe */
  guint64 audio_held;           /* audio messages that were held */
  guint64 restamped;            /* headers given a newer timestamp */
} RtmfpStartGateStats;

void      rtmfp_start_gate_get_stats (RtmfpStartGate * g,
    RtmfpStartGateStats * st);

G_END_DECLS
