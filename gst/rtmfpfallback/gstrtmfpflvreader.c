/* GStreamer rtmfpfallback: FLV from a child source, as messages (see
 * gstrtmfpflvreader.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpflvreader.h"
#include "flvtag.h"

/* A tag larger than this is no media of ours: skipped */
#define MAX_TAG_DATA (8 * 1024 * 1024)

void
gst_rtmfp_flv_reader_init (GstRtmfpFlvReader * r)
{
  r->adapter = gst_adapter_new ();
  r->header_done = FALSE;
  r->discont_audio = r->discont_video = FALSE;
  r->dropped_bytes = 0;
}

void
gst_rtmfp_flv_reader_clear (GstRtmfpFlvReader * r)
{
  g_clear_object (&r->adapter);
}

/* The file header, if the stream starts with one; FALSE: wait for more */
static gboolean
read_header (GstRtmfpFlvReader * r)
{
  gsize avail = gst_adapter_available (r->adapter), used = 0;
  const guint8 *d;

  if (avail < 3)
    return FALSE;
  d = gst_adapter_map (r->adapter, MIN (avail, 4096 + 4));
  if (!rtmfp_flv_is_header (d, MIN (avail, 4096 + 4))) {
    gst_adapter_unmap (r->adapter);
    r->header_done = TRUE;
    return TRUE;
  }
  if (!rtmfp_flv_header_parse (d, MIN (avail, 4096 + 4), NULL, &used)) {
    gst_adapter_unmap (r->adapter);
    if (avail < 4096 + 4)
      return FALSE;             /* truncated: wait */
    used = avail;               /* not a header we understand */
    r->dropped_bytes += used;
  } else {
    gst_adapter_unmap (r->adapter);
  }
  gst_adapter_flush (r->adapter, used);
  r->header_done = TRUE;
  return TRUE;
}

static RtmfpMediaItem *
make_item (GstRtmfpFlvReader * r, const RtmfpFlvTag * tag,
    const guint8 * payload)
{
  RtmfpMediaItem *it = g_new0 (RtmfpMediaItem, 1);
  gboolean *discont = tag->type == RTMFP_FLV_TAG_TYPE_VIDEO ?
      &r->discont_video : tag->type == RTMFP_FLV_TAG_TYPE_AUDIO ?
      &r->discont_audio : NULL;

  it->type = tag->type;
  it->timestamp = tag->timestamp;
  it->payload = g_bytes_new (payload, tag->data_size);
  it->flags = rtmfp_media_classify (tag->type, payload, tag->data_size);
  if (discont && *discont && !(it->flags & RTMFP_MEDIA_HEADER)) {
    it->flags |= RTMFP_MEDIA_DISCONT;
    it->lost = 1;
    *discont = FALSE;
  }
  return it;
}

/* One tag off the adapter: 1 handed on or skipped, 0 wait for more */
static gboolean
read_tag (GstRtmfpFlvReader * r, GstRtmfpFlvReaderFunc func, gpointer data)
{
  gsize avail = gst_adapter_available (r->adapter);
  const guint8 *d, *payload;
  RtmfpFlvTag tag;

  if (avail < RTMFP_FLV_TAG_HEADER_SIZE)
    return FALSE;
  d = gst_adapter_map (r->adapter, RTMFP_FLV_TAG_HEADER_SIZE);
  if (!rtmfp_flv_tag_parse_header (d, RTMFP_FLV_TAG_HEADER_SIZE, &tag) ||
      tag.data_size > MAX_TAG_DATA) {
    gst_adapter_unmap (r->adapter);
    /* lost sync: drop what we have, resync at the next buffer */
    r->dropped_bytes += avail;
    gst_adapter_clear (r->adapter);
    r->discont_audio = r->discont_video = TRUE;
    return FALSE;
  }
  gst_adapter_unmap (r->adapter);
  if (avail < tag.total_size)
    return FALSE;
  d = gst_adapter_map (r->adapter, tag.total_size);
  if (rtmfp_flv_tag_parse (d, tag.total_size, &tag, &payload) &&
      !tag.filtered && tag.data_size > 0 &&
      (tag.type == RTMFP_FLV_TAG_TYPE_AUDIO ||
          tag.type == RTMFP_FLV_TAG_TYPE_VIDEO ||
          tag.type == RTMFP_FLV_TAG_TYPE_SCRIPT))
    func (make_item (r, &tag, payload), data);
  gst_adapter_unmap (r->adapter);
  gst_adapter_flush (r->adapter, tag.total_size);
  return TRUE;
}

void
gst_rtmfp_flv_reader_push (GstRtmfpFlvReader * r, GstBuffer * buf,
    GstRtmfpFlvReaderFunc func, gpointer data)
{
  /* (the first buffer of a source is always DISCONT: nothing is lost) */
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) && r->header_done)
    r->discont_audio = r->discont_video = TRUE;
  gst_adapter_push (r->adapter, buf);
  if (!r->header_done && !read_header (r))
    return;
  while (read_tag (r, func, data));
}
