/* GStreamer rtmfpfallback: the stream state of an FLV input.
 *
 * rtmfpautosink's `sink` pad takes FLV (from flvmux).  A sink that takes
 * over mid-stream must start with the FLV file header, the last
 * onMetaData and the codec sequence headers: they are kept here (whole
 * tags, as they came), read with the core's FLV code (flvtag.h,
 * rtmfp_media_classify), and given to the new sink as the caps'
 * streamheader, which rtmp2sink and rtmfpsink send first.  Also tells
 * whether a buffer holds a video keyframe (where a switch may happen) or
 * only stream state.  Streaming thread only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  GstBuffer *file_header;       /* "FLV" ... PreviousTagSize0 */
  GstBuffer *metadata;          /* whole onMetaData tag */
  GstBuffer *video_config;      /* whole video sequence header tag */
  GstBuffer *audio_config;      /* whole AAC sequence header tag */
  gboolean has_video, has_audio;
} GstRtmfpFlvCache;

/* What one buffer holds */
typedef struct {
  gboolean headers_only;        /* file header, metadata, configs only */
  gboolean keyframe;            /* a video keyframe */
  gboolean changed;             /* the cache changed */
} GstRtmfpFlvScan;

void      gst_rtmfp_flv_cache_clear (GstRtmfpFlvCache * c);
void      gst_rtmfp_flv_cache_scan (GstRtmfpFlvCache * c, GstBuffer * buf,
    GstRtmfpFlvScan * scan);
/* The streamheader of caps, if any */
void      gst_rtmfp_flv_cache_scan_caps (GstRtmfpFlvCache * c,
    const GstCaps * caps);
/* caps with a streamheader of what the cache knows (flvmux's order) */
GstCaps  *gst_rtmfp_flv_cache_make_caps (GstRtmfpFlvCache * c,
    GstCaps * caps);

G_END_DECLS
