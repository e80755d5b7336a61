/* RTMFP core: one message of a played stream (see rtmfpmedia.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfpmedia.h"
#include "flvtag.h"

guint
rtmfp_media_classify (guint8 type, const guint8 * payload, gsize len)
{
  RtmfpFlvVideoInfo vi;

  switch (type) {
    case RTMFP_FLV_TAG_TYPE_VIDEO:
      if (!rtmfp_flv_video_parse (payload, len, &vi) || vi.ex_header)
        return 0;
      if (vi.avc_packet_type == RTMFP_FLV_AVC_SEQUENCE_HEADER)
        return RTMFP_MEDIA_HEADER;
      /* an AVC end of sequence or a video info frame is no picture */
      if (vi.avc_packet_type == RTMFP_FLV_AVC_END_OF_SEQUENCE ||
          vi.frame_type == RTMFP_FLV_FRAME_INFO)
        return 0;
      return vi.is_keyframe ? RTMFP_MEDIA_KEYFRAME : 0;
    case RTMFP_FLV_TAG_TYPE_AUDIO:
      return rtmfp_flv_audio_is_sequence_header (payload, len) ?
          RTMFP_MEDIA_HEADER : 0;
    case RTMFP_FLV_TAG_TYPE_SCRIPT:
      return rtmfp_flv_script_is_metadata (payload, len) ?
          RTMFP_MEDIA_HEADER : 0;
    default:
      return 0;
  }
}
