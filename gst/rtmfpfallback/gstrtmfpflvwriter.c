/* GStreamer rtmfpfallback: elementary streams as FLV for the RTMP sink
 * (see gstrtmfpflvwriter.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstrtmfpflvwriter.h"
#include "flvtag.h"

enum
{ W_VIDEO, W_AUDIO, W_N };

struct _GstRtmfpFlvWriter
{
  GMutex lock;
  GstPad *pad;
  gboolean has[W_N];            /* inputs of the stream */
  gboolean started;
  GstRtmfpMediaFormat fmt[W_N];
  gboolean have_fmt[W_N];
  GBytes *sent_header[W_N];
  gboolean metadata_dirty;
  guint32 last_ts;
};

GstRtmfpFlvWriter *
gst_rtmfp_flv_writer_new (GstPad * pad, gboolean video, gboolean audio)
{
  GstRtmfpFlvWriter *w = g_new0 (GstRtmfpFlvWriter, 1);

  g_mutex_init (&w->lock);
  w->pad = gst_object_ref (pad);
  w->has[W_VIDEO] = video;
  w->has[W_AUDIO] = audio;
  return w;
}

void
gst_rtmfp_flv_writer_free (GstRtmfpFlvWriter * w)
{
  guint i;

  if (!w)
    return;
  for (i = 0; i < W_N; i++) {
    gst_rtmfp_media_format_clear (&w->fmt[i]);
    if (w->sent_header[i])
      g_bytes_unref (w->sent_header[i]);
  }
  gst_object_unref (w->pad);
  g_mutex_clear (&w->lock);
  g_free (w);
}

void
gst_rtmfp_flv_writer_set_format (GstRtmfpFlvWriter * w,
    const GstRtmfpMediaFormat * fmt)
{
  guint k = fmt->video ? W_VIDEO : W_AUDIO;

  g_mutex_lock (&w->lock);
  gst_rtmfp_media_format_clear (&w->fmt[k]);
  w->fmt[k] = *fmt;
  if (fmt->sequence_header)
    w->fmt[k].sequence_header = g_bytes_ref (fmt->sequence_header);
  w->have_fmt[k] = TRUE;
  w->metadata_dirty = TRUE;
  g_mutex_unlock (&w->lock);
}

/* One whole tag (header, body, PreviousTagSize) as a buffer at ts */
static GstBuffer *
tag_buffer (guint8 type, guint32 ts, GBytes * body)
{
  GByteArray *a = g_byte_array_new ();
  gsize len;
  const guint8 *p = g_bytes_get_data (body, &len);
  GstBuffer *b;

  rtmfp_flv_tag_append (a, type, ts, p, len);
  b = gst_buffer_new_wrapped (a->data, a->len);
  g_byte_array_free (a, FALSE);
  GST_BUFFER_PTS (b) = GST_BUFFER_DTS (b) = ts * GST_MSECOND;
  return b;
}

static GBytes *
metadata (GstRtmfpFlvWriter * w)
{
  return gst_rtmfp_media_metadata (w->have_fmt[W_VIDEO] ? &w->fmt[W_VIDEO] :
      NULL, w->have_fmt[W_AUDIO] ? &w->fmt[W_AUDIO] : NULL, w->has[W_VIDEO],
      w->has[W_AUDIO]);
}

static void
add_header (GValue * array, GstBuffer * b)
{
  GValue v = G_VALUE_INIT;

  GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_HEADER);
  g_value_init (&v, GST_TYPE_BUFFER);
  gst_value_take_buffer (&v, b);
  gst_value_array_append_and_take_value (array, &v);
}

/* stream-start, caps with the streamheader, segment (lock held) */
static void
start (GstRtmfpFlvWriter * w, guint32 ts)
{
  GstCaps *caps = gst_caps_new_empty_simple ("video/x-flv");
  GValue array = G_VALUE_INIT;
  guint8 hdr[RTMFP_FLV_FILE_HEADER_SIZE];
  GBytes *md = metadata (w);
  GstSegment seg;
  guint k;

  g_value_init (&array, GST_TYPE_ARRAY);
  rtmfp_flv_header_write (hdr, w->has[W_AUDIO], w->has[W_VIDEO]);
  add_header (&array, gst_buffer_new_memdup (hdr, sizeof hdr));
  add_header (&array, tag_buffer (RTMFP_FLV_TAG_TYPE_SCRIPT, ts, md));
  g_bytes_unref (md);
  for (k = 0; k < W_N; k++) {
    GBytes *sh = w->have_fmt[k] ? w->fmt[k].sequence_header : NULL;
    if (!sh)
      continue;
    add_header (&array, tag_buffer (k == W_VIDEO ? RTMFP_FLV_TAG_TYPE_VIDEO :
            RTMFP_FLV_TAG_TYPE_AUDIO, ts, sh));
    w->sent_header[k] = g_bytes_ref (sh);
  }
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &array);
  gst_pad_push_event (w->pad, gst_event_new_stream_start ("rtmfpautosink"));
  gst_pad_push_event (w->pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (w->pad, gst_event_new_segment (&seg));
  w->metadata_dirty = FALSE;
  w->started = TRUE;
}

/* What changed since: metadata, this input's sequence header (lock) */
static GstFlowReturn
push_state (GstRtmfpFlvWriter * w, guint k, guint32 ts)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GBytes *sh = w->fmt[k].sequence_header;

  if (w->metadata_dirty) {
    GBytes *md = metadata (w);
    ret = gst_pad_push (w->pad, tag_buffer (RTMFP_FLV_TAG_TYPE_SCRIPT, ts,
            md));
    g_bytes_unref (md);
    w->metadata_dirty = FALSE;
  }
  if (ret == GST_FLOW_OK && sh && !(w->sent_header[k] &&
          g_bytes_equal (sh, w->sent_header[k]))) {
    ret = gst_pad_push (w->pad, tag_buffer (k == W_VIDEO ?
            RTMFP_FLV_TAG_TYPE_VIDEO : RTMFP_FLV_TAG_TYPE_AUDIO, ts, sh));
    if (w->sent_header[k])
      g_bytes_unref (w->sent_header[k]);
    w->sent_header[k] = g_bytes_ref (sh);
  }
  return ret;
}

GstFlowReturn
gst_rtmfp_flv_writer_push (GstRtmfpFlvWriter * w, gboolean video,
    GstBuffer * buf, guint32 ts_ms, gint32 cts_ms)
{
  guint k = video ? W_VIDEO : W_AUDIO;
  GstFlowReturn ret;
  GstBuffer *b;
  GBytes *body;

  g_mutex_lock (&w->lock);
  if (!w->have_fmt[k]) {
    g_mutex_unlock (&w->lock);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  /* speexenc's header packets: FLV Speex has none */
  if (!video && w->fmt[k].codec == RTMFP_FLV_SOUND_SPEEX &&
      GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)) {
    g_mutex_unlock (&w->lock);
    return GST_FLOW_OK;
  }
  if (!w->started)
    start (w, ts_ms);
  ret = push_state (w, k, ts_ms);
  if (ret == GST_FLOW_OK) {
    body = gst_rtmfp_media_tag_body (&w->fmt[k], buf, cts_ms);
    b = tag_buffer (video ? RTMFP_FLV_TAG_TYPE_VIDEO :
        RTMFP_FLV_TAG_TYPE_AUDIO, ts_ms, body);
    g_bytes_unref (body);
    if (video && GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT))
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
    w->last_ts = MAX (w->last_ts, ts_ms);
    ret = gst_pad_push (w->pad, b);
  }
  g_mutex_unlock (&w->lock);
  return ret;
}

void
gst_rtmfp_flv_writer_eos (GstRtmfpFlvWriter * w)
{
  GBytes *eos;

  g_mutex_lock (&w->lock);
  if (w->started && w->have_fmt[W_VIDEO] &&
      (eos = gst_rtmfp_media_end_of_sequence (&w->fmt[W_VIDEO]))) {
    gst_pad_push (w->pad, tag_buffer (RTMFP_FLV_TAG_TYPE_VIDEO, w->last_ts,
            eos));
    g_bytes_unref (eos);
  }
  if (w->started)
    gst_pad_push_event (w->pad, gst_event_new_eos ());
  g_mutex_unlock (&w->lock);
}
