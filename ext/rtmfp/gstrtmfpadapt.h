/* GStreamer RTMFP: rtmfpsink's bandwidth report and adaptive bitrate.
 *
 * Fed with the object's bandwidth samples (gstrtmfpobject.h, every
 * 250 ms, on the poster's thread), it posts the `rtmfp-bandwidth` element
 * message and, with adapt-bitrate, sets the bitrate of the video encoder
 * upstream of the sink to what rtmfpbitrate.h decides.  The decisions are
 * in the core (rtmfpbitrate.c); this is the GStreamer side: finding the
 * encoder, its property and unit, and the bus.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstrtmfpobject.h"

G_BEGIN_DECLS

#define GST_RTMFP_ADAPT_DEFAULT_ENABLED FALSE
#define GST_RTMFP_ADAPT_DEFAULT_MIN_BITRATE 100
#define GST_RTMFP_ADAPT_DEFAULT_MAX_BITRATE 0
#define GST_RTMFP_ADAPT_MAX_KBPS 10000000

typedef struct _GstRtmfpAdapt GstRtmfpAdapt;

/* The debug category (rtmfpsink's class_init) */
void      gst_rtmfp_adapt_class_init (void);
GstRtmfpAdapt *gst_rtmfp_adapt_new (GstElement * sink);
void      gst_rtmfp_adapt_free (GstRtmfpAdapt * a);

/* Properties (any thread) */
void      gst_rtmfp_adapt_set_enabled (GstRtmfpAdapt * a, gboolean enabled);
gboolean  gst_rtmfp_adapt_get_enabled (GstRtmfpAdapt * a);
void      gst_rtmfp_adapt_set_min_bitrate (GstRtmfpAdapt * a, guint kbps);
guint     gst_rtmfp_adapt_get_min_bitrate (GstRtmfpAdapt * a);
void      gst_rtmfp_adapt_set_max_bitrate (GstRtmfpAdapt * a, guint kbps);
guint     gst_rtmfp_adapt_get_max_bitrate (GstRtmfpAdapt * a);

/* A run starts: forget the encoder and the estimates of the last one */
void      gst_rtmfp_adapt_reset (GstRtmfpAdapt * a);

/* GstRtmfpBandwidthFunc (data: the GstRtmfpAdapt) */
void      gst_rtmfp_adapt_on_sample (GstElement * sink,
    const GstRtmfpBandwidthSample * sample, gpointer data);

G_END_DECLS
