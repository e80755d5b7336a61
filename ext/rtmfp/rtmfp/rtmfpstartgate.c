/* RTMFP core: a coherent start for a player (see rtmfpstartgate.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpstartgate.h"
#include "amf0.h"
#include "flvtag.h"

typedef struct {
  guint32 timestamp;
  GBytes *payload;
  guint lost;
} Held;

struct _RtmfpStartGate {
  gint64 hold_us;
  RtmfpMediaFunc out;
  gpointer ud;

  gboolean restart_pending;     /* the next release gets RESTART */
  gboolean need_key;            /* video waits for a keyframe */
  gboolean audio_open;          /* audio passes */
  gint video_known;             /* -1 unknown, 0 none, 1 video */
  gint64 first_at;              /* first message of this start, -1 */
  gint64 hold_since;            /* first held audio, -1 */
  GQueue held;                  /* Held*, audio */
  gsize held_bytes;
  guint dropped_video;          /* dropped since the last release */
  guint dropped_audio;
  gboolean have_last;
  guint32 last_ts;              /* newest audio/video timestamp out */

  RtmfpStartGateStats stats;
};

static void
held_free (Held * h)
{
  g_bytes_unref (h->payload);
  g_free (h);
}

RtmfpStartGate *
rtmfp_start_gate_new (gint64 hold_us, RtmfpMediaFunc out, gpointer user_data)
{
  RtmfpStartGate *g;

  g_return_val_if_fail (out != NULL, NULL);
  g = g_new0 (RtmfpStartGate, 1);
  g->hold_us = hold_us > 0 ? hold_us : RTMFP_START_GATE_DEFAULT_HOLD_US;
  g->out = out;
  g->ud = user_data;
  g_queue_init (&g->held);
  rtmfp_start_gate_restart (g);
  return g;
}

void
rtmfp_start_gate_free (RtmfpStartGate * g)
{
  if (!g)
    return;
  g_queue_clear_full (&g->held, (GDestroyNotify) held_free);
  g_free (g);
}

void
rtmfp_start_gate_restart (RtmfpStartGate * g)
{
  g_return_if_fail (g != NULL);

  g_queue_clear_full (&g->held, (GDestroyNotify) held_free);
  g->held_bytes = 0;
  g->restart_pending = TRUE;
  g->need_key = TRUE;
  g->audio_open = FALSE;
  g->video_known = -1;
  g->first_at = -1;
  g->hold_since = -1;
  g->dropped_video = g->dropped_audio = 0;
}

/* later in 32-bit millisecond arithmetic (timestamps wrap) */
static gboolean
ts_before (guint32 a, guint32 b)
{
  return (gint32) (a - b) < 0;
}

static void
release (RtmfpStartGate * g, guint8 type, guint32 ts, const guint8 * p,
    gsize len, guint flags, guint lost)
{
  RtmfpMediaMessage m;

  if (type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    lost += g->dropped_video;
    g->dropped_video = 0;
  } else if (type == RTMFP_FLV_TAG_TYPE_AUDIO) {
    lost += g->dropped_audio;
    g->dropped_audio = 0;
  }
  if ((flags & RTMFP_MEDIA_HEADER) || (type != RTMFP_FLV_TAG_TYPE_AUDIO &&
          type != RTMFP_FLV_TAG_TYPE_VIDEO)) {
    /* stream state replayed with the time it was first sent */
    if (g->have_last && ts_before (ts, g->last_ts)) {
      ts = g->last_ts;
      g->stats.restamped++;
    }
  } else if (!g->have_last || ts_before (g->last_ts, ts)) {
    g->last_ts = ts;
    g->have_last = TRUE;
  }
  if (lost)
    flags |= RTMFP_MEDIA_DISCONT;
  if (g->restart_pending) {
    flags |= RTMFP_MEDIA_RESTART | RTMFP_MEDIA_DISCONT;
    g->restart_pending = FALSE;
  }
  m.type = type;
  m.timestamp = ts;
  m.payload = p;
  m.len = len;
  m.flags = flags;
  m.lost = lost;
  g->out (&m, g->ud);
}

/* Audio flows from now on; held audio before `from` (if set) is dropped,
 * the rest released in order */
static void
open_audio (RtmfpStartGate * g, gboolean have_from, guint32 from)
{
  Held *h;

  g->audio_open = TRUE;
  g->hold_since = -1;
  while ((h = g_queue_pop_head (&g->held))) {
    gsize len;
    const guint8 *p = g_bytes_get_data (h->payload, &len);

    g->held_bytes -= len;
    if (have_from && ts_before (h->timestamp, from)) {
      g->dropped_audio += 1 + h->lost;
      g->stats.audio_dropped++;
    } else {
      release (g, RTMFP_FLV_TAG_TYPE_AUDIO, h->timestamp, p, len, 0,
          h->lost);
    }
    held_free (h);
  }
}

static void
hold_audio (RtmfpStartGate * g, guint32 ts, const guint8 * p, gsize len,
    guint lost, gint64 now)
{
  Held *h = g_new0 (Held, 1);

  h->timestamp = ts;
  h->payload = g_bytes_new (p, len);
  h->lost = lost;
  g_queue_push_tail (&g->held, h);
  g->held_bytes += len;
  g->stats.audio_held++;
  if (g->hold_since < 0)
    g->hold_since = now;
  while (g->held_bytes > RTMFP_START_GATE_MAX_HELD_BYTES &&
      g->held.length > 1) {
    Held *old = g_queue_pop_head (&g->held);

    g->held_bytes -= g_bytes_get_size (old->payload);
    g->dropped_audio += 1 + old->lost;
    g->stats.audio_dropped++;
    held_free (old);
  }
}

/* onMetaData: does the stream have video?  -1 if it does not say */
static gint
metadata_video (const guint8 * p, gsize len)
{
  GPtrArray *values;
  const RtmfpAmfNode *props = NULL;
  gsize skip = rtmfp_flv_script_skip_set_data_frame (p, len);
  gdouble d;
  gboolean b;
  gint known = -1;
  guint i;

  values = rtmfp_amf_parse_values (p + skip, len - skip);
  if (!values)
    return -1;
  for (i = 1; i < values->len; i++) {
    RtmfpAmfType t = rtmfp_amf_node_get_type (g_ptr_array_index (values, i));
    if (t == RTMFP_AMF_TYPE_OBJECT || t == RTMFP_AMF_TYPE_ECMA_ARRAY) {
      props = g_ptr_array_index (values, i);
      break;
    }
  }
  if (props) {
    if (rtmfp_amf_node_get_field_boolean (props, "hasVideo", &b))
      known = b ? 1 : 0;
    else if (rtmfp_amf_node_get_field_number (props, "videocodecid", &d))
      known = 1;
    else if (rtmfp_amf_node_get_field (props, "audiocodecid"))
      known = 0;                /* media described, no video among it */
  }
  g_ptr_array_unref (values);
  return known;
}

void
rtmfp_start_gate_push (RtmfpStartGate * g, guint8 type, guint32 ts,
    const guint8 * p, gsize len, guint lost, gint64 now)
{
  guint flags;

  g_return_if_fail (g != NULL);

  flags = rtmfp_media_classify (type, p, len);
  if (g->first_at < 0)
    g->first_at = now;

  switch (type) {
    case RTMFP_FLV_TAG_TYPE_VIDEO:
      g->video_known = 1;
      if (!(flags & RTMFP_MEDIA_HEADER) && g->need_key) {
        if (!(flags & RTMFP_MEDIA_KEYFRAME)) {
          g->dropped_video += 1 + lost;
          g->stats.video_dropped++;
          return;
        }
        g->need_key = FALSE;
        release (g, type, ts, p, len, flags, lost);
        if (!g->audio_open)
          open_audio (g, TRUE, ts);
        return;
      }
      release (g, type, ts, p, len, flags, lost);
      return;
    case RTMFP_FLV_TAG_TYPE_AUDIO:
      if ((flags & RTMFP_MEDIA_HEADER) || g->audio_open) {
        release (g, type, ts, p, len, flags, lost);
        return;
      }
      if (g->video_known == 0) {
        open_audio (g, FALSE, 0);
        release (g, type, ts, p, len, flags, lost);
        return;
      }
      hold_audio (g, ts, p, len, lost, now);
      return;
    default:
      if (flags & RTMFP_MEDIA_HEADER) {
        gint v = metadata_video (p, len);
        if (v >= 0)
          g->video_known = v;
      }
      release (g, type, ts, p, len, flags, lost);
      if (g->video_known == 0 && !g->audio_open)
        open_audio (g, FALSE, 0);
      return;
  }
}

gint64
rtmfp_start_gate_next_timeout (RtmfpStartGate * g)
{
  gint64 t = -1;

  g_return_val_if_fail (g != NULL, -1);

  if (g->audio_open || !g->held.length)
    return -1;
  if (g->hold_since >= 0)
    t = g->hold_since + g->hold_us;
  if (g->video_known < 0 && g->first_at >= 0) {
    gint64 probe = g->first_at + RTMFP_START_GATE_PROBE_US;
    t = t < 0 ? probe : MIN (t, probe);
  }
  return t;
}

void
rtmfp_start_gate_handle_timeout (RtmfpStartGate * g, gint64 now)
{
  g_return_if_fail (g != NULL);

  if (g->audio_open || !g->held.length)
    return;
  if (g->video_known < 0 && g->first_at >= 0 &&
      now >= g->first_at + RTMFP_START_GATE_PROBE_US) {
    /* nothing said video and none came: audio only */
    g->video_known = 0;
    open_audio (g, FALSE, 0);
  } else if (g->hold_since >= 0 && now >= g->hold_since + g->hold_us) {
    /* no keyframe in time: live audio goes on, what waited is stale */
    Held *h;

    while ((h = g_queue_pop_head (&g->held))) {
      g->dropped_audio += 1 + h->lost;
      g->stats.audio_dropped++;
      held_free (h);
    }
    g->held_bytes = 0;
    open_audio (g, FALSE, 0);
  }
}

void
rtmfp_start_gate_get_stats (RtmfpStartGate * g, RtmfpStartGateStats * st)
{
  g_return_if_fail (g != NULL && st != NULL);
  *st = g->stats;
}
