/* GStreamer rtmfpfallback: the stream state of an FLV input (see
 * gstrtmfpflvcache.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstrtmfpflvcache.h"
#include "flvtag.h"
#include "rtmfpmedia.h"

void
gst_rtmfp_flv_cache_clear (GstRtmfpFlvCache * c)
{
  gst_clear_buffer (&c->file_header);
  gst_clear_buffer (&c->metadata);
  gst_clear_buffer (&c->video_config);
  gst_clear_buffer (&c->audio_config);
  c->has_video = c->has_audio = FALSE;
}

/* Keeps bytes [offset, offset + size) of buf in *slot unless it has them */
static void
store (GstBuffer ** slot, GstBuffer * buf, const guint8 * data, gsize offset,
    gsize size, gboolean * changed)
{
  GstBuffer *copy;

  if (*slot && gst_buffer_get_size (*slot) == size &&
      gst_buffer_memcmp (*slot, 0, data + offset, size) == 0)
    return;
  copy = gst_buffer_copy_region (buf, GST_BUFFER_COPY_MEMORY, offset, size);
  if (!copy)
    return;
  GST_BUFFER_FLAG_SET (copy, GST_BUFFER_FLAG_HEADER);
  gst_buffer_replace (slot, copy);
  gst_buffer_unref (copy);
  *changed = TRUE;
}

/* One tag: stream state into the cache, or media (keyframe or not) */
static void
scan_tag (GstRtmfpFlvCache * c, GstBuffer * buf, const guint8 * data,
    const RtmfpFlvTag * tag, const guint8 * payload, gsize offset,
    GstRtmfpFlvScan * scan)
{
  guint flags = rtmfp_media_classify (tag->type, payload, tag->data_size);
  GstBuffer **slot = NULL;

  if (tag->type == RTMFP_FLV_TAG_TYPE_VIDEO)
    c->has_video = TRUE;
  else if (tag->type == RTMFP_FLV_TAG_TYPE_AUDIO)
    c->has_audio = TRUE;
  if (flags & RTMFP_MEDIA_HEADER)
    slot = tag->type == RTMFP_FLV_TAG_TYPE_SCRIPT ? &c->metadata :
        tag->type == RTMFP_FLV_TAG_TYPE_VIDEO ? &c->video_config :
        &c->audio_config;
  if (slot) {
    store (slot, buf, data, offset, tag->total_size, &scan->changed);
    return;
  }
  scan->headers_only = FALSE;
  if (flags & RTMFP_MEDIA_KEYFRAME)
    scan->keyframe = TRUE;
}

void
gst_rtmfp_flv_cache_scan (GstRtmfpFlvCache * c, GstBuffer * buf,
    GstRtmfpFlvScan * scan)
{
  GstMapInfo map;
  RtmfpFlvIter it;
  RtmfpFlvTag tag;
  const guint8 *payload;
  gsize offset, first = 0;
  gboolean any = FALSE, first_set = FALSE;

  memset (scan, 0, sizeof *scan);
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  scan->headers_only = TRUE;
  rtmfp_flv_iter_init (&it, map.data, map.size);
  while (rtmfp_flv_iter_next (&it, &tag, &payload, &offset) ==
      RTMFP_FLV_ITER_TAG) {
    if (!first_set) {
      first = offset;
      first_set = TRUE;
    }
    any = TRUE;
    scan_tag (c, buf, map.data, &tag, payload, offset, scan);
  }
  if (it.had_header) {
    any = TRUE;
    c->has_video |= (it.header_flags & RTMFP_FLV_FLAG_VIDEO) != 0;
    c->has_audio |= (it.header_flags & RTMFP_FLV_FLAG_AUDIO) != 0;
    store (&c->file_header, buf, map.data, 0, first_set ? first :
        rtmfp_flv_iter_position (&it), &scan->changed);
  }
  /* a partial or malformed tag is not ours to judge: it goes through */
  if (!any || rtmfp_flv_iter_position (&it) < map.size)
    scan->headers_only = FALSE;
  gst_buffer_unmap (buf, &map);
}

void
gst_rtmfp_flv_cache_scan_caps (GstRtmfpFlvCache * c, const GstCaps * caps)
{
  const GValue *sh;
  GstRtmfpFlvScan scan;
  guint i;

  if (!caps || gst_caps_get_size (caps) < 1)
    return;
  sh = gst_structure_get_value (gst_caps_get_structure (caps, 0),
      "streamheader");
  if (sh && GST_VALUE_HOLDS_BUFFER (sh)) {
    gst_rtmfp_flv_cache_scan (c, gst_value_get_buffer (sh), &scan);
  } else if (sh && GST_VALUE_HOLDS_ARRAY (sh)) {
    for (i = 0; i < gst_value_array_get_size (sh); i++) {
      const GValue *v = gst_value_array_get_value (sh, i);
      if (GST_VALUE_HOLDS_BUFFER (v))
        gst_rtmfp_flv_cache_scan (c, gst_value_get_buffer (v), &scan);
    }
  }
}

static void
add_header (GValue * array, GstBuffer * buf)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, GST_TYPE_BUFFER);
  gst_value_set_buffer (&v, buf);
  gst_value_array_append_and_take_value (array, &v);
}

GstCaps *
gst_rtmfp_flv_cache_make_caps (GstRtmfpFlvCache * c, GstCaps * caps)
{
  GValue array = G_VALUE_INIT;
  GstBuffer *header;

  if (!c->metadata && !c->video_config && !c->audio_config)
    return gst_caps_ref (caps);
  caps = gst_caps_copy (caps);
  g_value_init (&array, GST_TYPE_ARRAY);
  if (c->file_header) {
    header = gst_buffer_ref (c->file_header);
  } else {
    guint8 h[RTMFP_FLV_FILE_HEADER_SIZE];

    rtmfp_flv_header_write (h, c->has_audio, c->has_video);
    header = gst_buffer_new_memdup (h, sizeof h);
    GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
  }
  add_header (&array, header);
  gst_buffer_unref (header);
  if (c->metadata)
    add_header (&array, c->metadata);
  if (c->video_config)
    add_header (&array, c->video_config);
  if (c->audio_config)
    add_header (&array, c->audio_config);
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &array);
  return caps;
}
