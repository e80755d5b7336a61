/* GStreamer RTMFP: the outputs of rtmfpsrc (see gstrtmfpsrcout.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/base/gstflowcombiner.h>

#include "gstrtmfpsrcout.h"
#include "flvtag.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_src_out_debug);
#define GST_CAT_DEFAULT gst_rtmfp_src_out_debug

/* nothing was pushed for this output */
#define NOTHING GST_FLOW_CUSTOM_SUCCESS

enum { OUT_VIDEO, OUT_AUDIO, OUT_N };

typedef struct
{
  GstPad *pad;
  gboolean video;
  GstCaps *caps;
  gboolean caps_dirty;          /* a new sequence header */
  gboolean discont;             /* the next buffer */
  gboolean loss;                /* something before the next was lost */
  gboolean need_key;            /* video: nothing until a keyframe */
  GstClockTime next_ts;         /* audio: the next frame's time */
  GstClockTime last_ts;
  GstClockTime frame_dur;       /* audio: measured between frames */
  gboolean empty;               /* the stream has no such medium: the pad
                                 * was made only to end at once (EOS) */
} Elem;

struct _GstRtmfpSrcOut
{
  GstElement *element;
  GstPad *flv_pad;
  const GstRtmfpSrcOutFuncs *funcs;
  gpointer owner;
  guint group_id;
  GstFlowCombiner *combiner;

  gboolean flv_started;
  gboolean flv_discont;
  guint64 flv_offset;

  /* the stream state (tag bodies), for caps and late starts */
  GBytes *metadata;
  GBytes *vheader;
  GBytes *aheader;
  GstRtmfpMediaInfo info;
  gint md_video;                /* -1 unknown, from the metadata */
  gint md_audio;
  gboolean no_more_pads;
  GstClockTime first_pad_ts;

  Elem out[OUT_N];
  GstRtmfpSrcOutStats stats;
};

GstRtmfpSrcOut *
gst_rtmfp_src_out_new (GstElement * element, GstPad * flv_pad,
    const GstRtmfpSrcOutFuncs * funcs, gpointer owner)
{
  GstRtmfpSrcOut *o = g_new0 (GstRtmfpSrcOut, 1);
  static gsize once = 0;
  guint i;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (gst_rtmfp_src_out_debug, "rtmfpsrcout", 0,
        "The outputs of rtmfpsrc");
    g_once_init_leave (&once, 1);
  }
  o->element = element;
  o->flv_pad = flv_pad;
  o->funcs = funcs;
  o->owner = owner;
  o->group_id = gst_util_group_id_next ();
  o->combiner = gst_flow_combiner_new ();
  gst_flow_combiner_add_pad (o->combiner, flv_pad);
  o->md_video = o->md_audio = -1;
  o->first_pad_ts = GST_CLOCK_TIME_NONE;
  for (i = 0; i < OUT_N; i++) {
    o->out[i].video = i == OUT_VIDEO;
    o->out[i].need_key = TRUE;
    o->out[i].next_ts = o->out[i].last_ts = o->out[i].frame_dur =
        GST_CLOCK_TIME_NONE;
  }
  return o;
}

void
gst_rtmfp_src_out_free (GstRtmfpSrcOut * o)
{
  guint i;

  if (!o)
    return;
  gst_flow_combiner_free (o->combiner);
  for (i = 0; i < OUT_N; i++) {
    if (o->out[i].caps)
      gst_caps_unref (o->out[i].caps);
  }
  g_clear_pointer (&o->metadata, g_bytes_unref);
  g_clear_pointer (&o->vheader, g_bytes_unref);
  g_clear_pointer (&o->aheader, g_bytes_unref);
  g_free (o);
}

GstPad *
gst_rtmfp_src_out_get_pad (GstRtmfpSrcOut * o, gboolean video)
{
  return o->out[video ? OUT_VIDEO : OUT_AUDIO].pad;
}

void
gst_rtmfp_src_out_get_stats (GstRtmfpSrcOut * o, GstRtmfpSrcOutStats * st)
{
  *st = o->stats;
}

/* stream-start (one group for all pads), caps, segment */
static void
start_pad (GstRtmfpSrcOut * o, GstPad * pad, const gchar * id,
    GstCaps * caps)
{
  gchar *sid = gst_pad_create_stream_id (pad, o->element, id);
  GstEvent *ev = gst_event_new_stream_start (sid);
  GstSegment seg;

  gst_event_set_group_id (ev, o->group_id);
  gst_pad_push_event (pad, ev);
  g_free (sid);
  gst_pad_push_event (pad, gst_event_new_caps (caps));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (pad, gst_event_new_segment (&seg));
}

/* Takes bytes (gst_buffer_new_wrapped_bytes refs it itself) */
static GstBuffer *
wrap (GBytes * bytes, gsize offset)
{
  GstBuffer *b = gst_buffer_new_wrapped_bytes (bytes);

  g_bytes_unref (bytes);
  if (offset)
    gst_buffer_resize (b, offset, -1);
  return b;
}

/* ------------------------------------------------------------------------ */
/* the stream state */

static void
note_state (GstRtmfpSrcOut * o, const RtmfpMediaItem * it)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (it->payload, &len);
  GBytes **slot = NULL;

  if (!(it->flags & RTMFP_MEDIA_HEADER))
    return;
  if (it->type == RTMFP_FLV_TAG_TYPE_SCRIPT) {
    GstRtmfpMediaInfo info = { 0 };
    RtmfpFlvScriptKind k = rtmfp_flv_script_classify (p, len);

    gst_rtmfp_media_info_from_metadata (p, len, &info);
    o->info = info;
    if (k == RTMFP_FLV_SCRIPT_ON_METADATA) {
      /* which media the stream has, when the metadata says */
      o->md_video = info.has_video;
      o->md_audio = info.has_audio;
    }
    slot = &o->metadata;
  } else if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    slot = &o->vheader;
    o->out[OUT_VIDEO].caps_dirty = TRUE;
  } else if (it->type == RTMFP_FLV_TAG_TYPE_AUDIO) {
    slot = &o->aheader;
    o->out[OUT_AUDIO].caps_dirty = TRUE;
  }
  if (slot) {
    if (*slot)
      g_bytes_unref (*slot);
    *slot = g_bytes_ref (it->payload);
  }
}

/* ------------------------------------------------------------------------ */
/* the FLV output */

static GstBuffer *
flv_tag (guint8 type, guint32 ts, GBytes * payload)
{
  gsize len = g_bytes_get_size (payload);
  GstBuffer *hdr = gst_buffer_new_allocate (NULL, RTMFP_FLV_TAG_HEADER_SIZE,
      NULL);
  GstBuffer *trl = gst_buffer_new_allocate (NULL, RTMFP_FLV_TAG_TRAILER_SIZE,
      NULL);
  GstMapInfo map;

  gst_buffer_map (hdr, &map, GST_MAP_WRITE);
  rtmfp_flv_tag_write_header (map.data, type, len, ts, 0);
  gst_buffer_unmap (hdr, &map);
  gst_buffer_map (trl, &map, GST_MAP_WRITE);
  rtmfp_flv_tag_write_trailer (map.data, len);
  gst_buffer_unmap (trl, &map);
  return gst_buffer_append (gst_buffer_append (hdr, wrap (g_bytes_ref
              (payload), 0)), trl);
}

/* The file header and the stream state seen so far: what an FLV output
 * that starts (or starts late) needs first */
static GstBuffer *
flv_start_buffer (GstRtmfpSrcOut * o, guint32 ts)
{
  GstBuffer *b = gst_buffer_new_allocate (NULL, RTMFP_FLV_FILE_HEADER_SIZE,
      NULL);
  GstMapInfo map;

  gst_buffer_map (b, &map, GST_MAP_WRITE);
  rtmfp_flv_header_write (map.data, o->md_audio != 0, o->md_video != 0);
  gst_buffer_unmap (b, &map);
  if (o->metadata)
    b = gst_buffer_append (b, flv_tag (RTMFP_FLV_TAG_TYPE_SCRIPT, ts,
            o->metadata));
  if (o->vheader)
    b = gst_buffer_append (b, flv_tag (RTMFP_FLV_TAG_TYPE_VIDEO, ts,
            o->vheader));
  if (o->aheader)
    b = gst_buffer_append (b, flv_tag (RTMFP_FLV_TAG_TYPE_AUDIO, ts,
            o->aheader));
  return b;
}

/* dts on the buffer; PTS too unless set already (video with a
 * composition time) */
static GstFlowReturn
flv_push (GstRtmfpSrcOut * o, GstBuffer * b, GstClockTime dts)
{
  GST_BUFFER_DTS (b) = dts;
  if (!GST_BUFFER_PTS_IS_VALID (b))
    GST_BUFFER_PTS (b) = dts;
  GST_BUFFER_OFFSET (b) = o->flv_offset;
  o->flv_offset += gst_buffer_get_size (b);
  GST_BUFFER_OFFSET_END (b) = o->flv_offset;
  if (o->flv_discont) {
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    o->flv_discont = FALSE;
  }
  return gst_pad_push (o->flv_pad, b);
}

static GstFlowReturn
push_flv (GstRtmfpSrcOut * o, const RtmfpMediaItem * it, GstClockTime dts)
{
  GstFlowReturn ret;
  GstBuffer *b;

  if (!o->flv_started) {
    GstCaps *caps;

    /* nobody links it: it costs nothing (it starts when linked) */
    if (!gst_pad_is_linked (o->flv_pad))
      return GST_FLOW_NOT_LINKED;
    caps = gst_caps_new_empty_simple ("video/x-flv");
    start_pad (o, o->flv_pad, "flv", caps);
    gst_caps_unref (caps);
    o->flv_started = TRUE;
    o->flv_discont = TRUE;
    ret = flv_push (o, flv_start_buffer (o, it->timestamp), dts);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  b = flv_tag (it->type, it->timestamp, it->payload);
  if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO) {
    RtmfpFlvVideoInfo vi;
    if (rtmfp_flv_video_parse (g_bytes_get_data (it->payload, NULL),
            g_bytes_get_size (it->payload), &vi) && vi.composition_time > 0)
      GST_BUFFER_PTS (b) = dts + vi.composition_time * GST_MSECOND;
  }
  if (!(it->flags & (RTMFP_MEDIA_KEYFRAME | RTMFP_MEDIA_HEADER)))
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
  if (it->flags & RTMFP_MEDIA_DISCONT) {
    GST_DEBUG_OBJECT (o->element, "gap before message at %u ms",
        it->timestamp);
    o->flv_discont = TRUE;
  }
  return flv_push (o, b, dts);
}

/* ------------------------------------------------------------------------ */
/* the elementary outputs */

static GstCaps *
elem_caps (GstRtmfpSrcOut * o, Elem * e, const RtmfpMediaItem * it)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (it->payload, &len);

  return e->video ? gst_rtmfp_media_caps_for_video (p, len, o->vheader,
      &o->info) : gst_rtmfp_media_caps_for_audio (p, len, o->aheader);
}

/* no-more-pads once both pads exist, or once the stream has gone on with
 * one for NO_MORE_PADS_AFTER and the metadata says it has nothing else (a
 * publisher's first metadata may come before it knows all its media) */
#define NO_MORE_PADS_AFTER (1 * GST_SECOND)

/* A medium the stream does not have still gets its pad, which ends at
 * once: a pipeline written for audio and video (gst-launch's
 * `s.video ! ... s.audio ! ...`) then plays a video-only stream, its audio
 * branch prerolled by the EOS, instead of waiting in PAUSED for a pad that
 * never comes */
static void
add_empty_pad (GstRtmfpSrcOut * o, Elem * e)
{
  gchar *sid;
  GstEvent *ev;
  GstSegment seg;

  e->pad = o->funcs->new_pad (o->owner, e->video);
  e->empty = TRUE;
  sid = gst_pad_create_stream_id (e->pad, o->element,
      e->video ? "video" : "audio");
  ev = gst_event_new_stream_start (sid);
  gst_event_set_group_id (ev, o->group_id);
  gst_pad_push_event (e->pad, ev);
  g_free (sid);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (e->pad, gst_event_new_segment (&seg));
  o->funcs->add_pad (o->owner, e->pad);
  GST_DEBUG_OBJECT (e->pad, "the stream has no %s: empty, ended",
      e->video ? "video" : "audio");
  gst_pad_push_event (e->pad, gst_event_new_eos ());
}

static void
maybe_no_more_pads (GstRtmfpSrcOut * o, GstClockTime dts)
{
  Elem *v = &o->out[OUT_VIDEO], *a = &o->out[OUT_AUDIO];
  gboolean done;

  if (o->no_more_pads)
    return;
  if (!GST_CLOCK_TIME_IS_VALID (o->first_pad_ts) && (v->pad || a->pad))
    o->first_pad_ts = dts;
  done = (v->pad && a->pad) || (GST_CLOCK_TIME_IS_VALID (o->first_pad_ts) &&
      dts >= o->first_pad_ts + NO_MORE_PADS_AFTER &&
      ((v->pad && o->md_audio == 0) || (a->pad && o->md_video == 0)));
  if (done) {
    GST_DEBUG_OBJECT (o->element, "no more pads");
    o->no_more_pads = TRUE;
    if (!v->pad)
      add_empty_pad (o, v);
    if (!a->pad)
      add_empty_pad (o, a);
    gst_element_no_more_pads (o->element);
  }
}

/* The pad with up-to-date caps; FALSE if caps cannot be made yet (an AVC
 * or AAC frame before its sequence header) */
static gboolean
elem_ready (GstRtmfpSrcOut * o, Elem * e, const RtmfpMediaItem * it)
{
  GstCaps *caps;

  if (e->pad && !e->caps_dirty)
    return TRUE;
  caps = elem_caps (o, e, it);
  if (!caps)
    return FALSE;
  e->caps_dirty = FALSE;
  if (!e->pad) {
    e->pad = o->funcs->new_pad (o->owner, e->video);
    start_pad (o, e->pad, e->video ? "video" : "audio", caps);
    gst_flow_combiner_add_pad (o->combiner, e->pad);
    o->funcs->add_pad (o->owner, e->pad);
  } else if (!e->caps || !gst_caps_is_equal (caps, e->caps)) {
    GST_DEBUG_OBJECT (e->pad, "new caps %" GST_PTR_FORMAT, caps);
    gst_pad_push_event (e->pad, gst_event_new_caps (caps));
  }
  if (e->caps)
    gst_caps_unref (e->caps);
  e->caps = caps;
  return TRUE;
}

static GstFlowReturn
push_video (GstRtmfpSrcOut * o, const RtmfpMediaItem * it, GstClockTime dts)
{
  Elem *e = &o->out[OUT_VIDEO];
  gsize len, off;
  const guint8 *p = g_bytes_get_data (it->payload, &len);
  RtmfpFlvVideoInfo vi;
  GstBuffer *b;

  if (e->empty)
    return NOTHING;
  if (e->need_key && !(it->flags & RTMFP_MEDIA_KEYFRAME)) {
    o->stats.video_dropped++;
    return NOTHING;
  }
  if (!(off = gst_rtmfp_media_data_offset (it->type, p, len)) ||
      !elem_ready (o, e, it))
    return NOTHING;
  e->need_key = FALSE;
  b = wrap (g_bytes_ref (it->payload), off);
  GST_BUFFER_DTS (b) = GST_BUFFER_PTS (b) = dts;
  if (rtmfp_flv_video_parse (p, len, &vi) && vi.composition_time > 0)
    GST_BUFFER_PTS (b) = dts + vi.composition_time * GST_MSECOND;
  if (!(it->flags & RTMFP_MEDIA_KEYFRAME))
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
  if (e->discont) {
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    e->discont = FALSE;
  }
  return gst_pad_push (e->pad, b);
}

/* Lost audio before dts: one GAP per lost frame where the frame duration
 * is known, so the decoder conceals exactly that much */
static void
push_gaps (GstRtmfpSrcOut * o, Elem * e, GstClockTime dts, GstClockTime dur)
{
  GstClockTime t = e->next_ts;
  guint n = 0;

  if (!GST_CLOCK_TIME_IS_VALID (t) || dts <= t)
    return;
  if (!GST_CLOCK_TIME_IS_VALID (dur) || dur == 0) {
    gst_pad_push_event (e->pad, gst_event_new_gap (t, dts - t));
    o->stats.gap_events++;
    return;
  }
  /* frames fit the hole to within half a frame */
  for (; t + dur / 2 < dts && n < 500; t += dur, n++) {
    gst_pad_push_event (e->pad, gst_event_new_gap (t, dur));
    o->stats.gap_events++;
  }
  GST_DEBUG_OBJECT (e->pad, "%u lost audio frame(s) before %" GST_TIME_FORMAT
      " concealed", n, GST_TIME_ARGS (dts));
}

static GstFlowReturn
push_audio (GstRtmfpSrcOut * o, const RtmfpMediaItem * it, GstClockTime dts)
{
  Elem *e = &o->out[OUT_AUDIO];
  gsize len, off;
  const guint8 *p = g_bytes_get_data (it->payload, &len);
  GstClockTime dur = gst_rtmfp_media_audio_frame_duration (p, len);
  GstBuffer *b;

  if (e->empty)
    return NOTHING;
  if (!(off = gst_rtmfp_media_data_offset (it->type, p, len)) ||
      !elem_ready (o, e, it))
    return NOTHING;
  if (!GST_CLOCK_TIME_IS_VALID (dur))
    dur = e->frame_dur;
  if (it->flags & RTMFP_MEDIA_RESTART)
    e->next_ts = GST_CLOCK_TIME_NONE;
  if (e->loss) {
    push_gaps (o, e, dts, dur);
    e->loss = FALSE;
  } else if (GST_CLOCK_TIME_IS_VALID (e->last_ts) && dts > e->last_ts) {
    e->frame_dur = dts - e->last_ts;
  }
  b = wrap (g_bytes_ref (it->payload), off);
  GST_BUFFER_DTS (b) = GST_BUFFER_PTS (b) = dts;
  if (GST_CLOCK_TIME_IS_VALID (dur))
    GST_BUFFER_DURATION (b) = dur;
  if (e->discont) {
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    e->discont = FALSE;
  }
  e->last_ts = dts;
  e->next_ts = GST_CLOCK_TIME_IS_VALID (dur) ? dts + dur :
      GST_CLOCK_TIME_NONE;
  return gst_pad_push (e->pad, b);
}

/* ------------------------------------------------------------------------ */

/* Something of this kind was lost before it (also when it is a sequence
 * header: the relay sends one again after flushing a player's video):
 * video waits for a keyframe (a picture that refers to what was lost
 * would be corrupted), audio covers the hole with GAPs */
static void
note_loss (GstRtmfpSrcOut * o, const RtmfpMediaItem * it)
{
  Elem *e;

  if (!it->lost && !(it->flags & RTMFP_MEDIA_DISCONT))
    return;
  if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO)
    e = &o->out[OUT_VIDEO];
  else if (it->type == RTMFP_FLV_TAG_TYPE_AUDIO)
    e = &o->out[OUT_AUDIO];
  else
    return;
  e->discont = TRUE;
  e->loss = TRUE;
  if (e->video && !e->need_key && !(it->flags & RTMFP_MEDIA_KEYFRAME)) {
    e->need_key = TRUE;
    o->funcs->want_keyframe (o->owner);
  }
}

static void
restart (GstRtmfpSrcOut * o)
{
  guint i;

  o->flv_discont = TRUE;
  for (i = 0; i < OUT_N; i++) {
    o->out[i].discont = TRUE;
    o->out[i].next_ts = o->out[i].last_ts = GST_CLOCK_TIME_NONE;
    if (o->out[i].video)
      o->out[i].need_key = TRUE;
  }
}

GstFlowReturn
gst_rtmfp_src_out_push (GstRtmfpSrcOut * o, const RtmfpMediaItem * it,
    GstClockTime dts)
{
  GstFlowReturn ret, r;

  if (it->flags & RTMFP_MEDIA_RESTART)
    restart (o);
  /* An empty message is no FLV tag (a tag body has at least its codec
   * byte); MonaServer sends empty audio and video messages when a player
   * starts.  Nothing to output. */
  if (g_bytes_get_size (it->payload) == 0)
    return GST_FLOW_OK;
  /* a late FLV start replays the state from before this message */
  ret = push_flv (o, it, dts);
  note_state (o, it);
  ret = gst_flow_combiner_update_pad_flow (o->combiner, o->flv_pad, ret);
  note_loss (o, it);
  if (it->flags & RTMFP_MEDIA_HEADER)
    r = NOTHING;
  else if (it->type == RTMFP_FLV_TAG_TYPE_VIDEO)
    r = push_video (o, it, dts);
  else if (it->type == RTMFP_FLV_TAG_TYPE_AUDIO)
    r = push_audio (o, it, dts);
  else
    r = NOTHING;
  maybe_no_more_pads (o, dts);
  if (r != NOTHING)
    ret = gst_flow_combiner_update_pad_flow (o->combiner,
        o->out[it->type == RTMFP_FLV_TAG_TYPE_VIDEO ? OUT_VIDEO :
            OUT_AUDIO].pad, r);
  /* outputs nobody links are no error */
  return ret == GST_FLOW_NOT_LINKED ? GST_FLOW_OK : ret;
}

void
gst_rtmfp_src_out_eos (GstRtmfpSrcOut * o)
{
  guint i;

  if (!o->flv_started && gst_pad_is_linked (o->flv_pad)) {
    GstCaps *caps = gst_caps_new_empty_simple ("video/x-flv");
    start_pad (o, o->flv_pad, "flv", caps);
    gst_caps_unref (caps);
    o->flv_started = TRUE;
  }
  if (o->flv_started)
    gst_pad_push_event (o->flv_pad, gst_event_new_eos ());
  for (i = 0; i < OUT_N; i++)
    if (o->out[i].pad && !o->out[i].empty)
      gst_pad_push_event (o->out[i].pad, gst_event_new_eos ());
}
