/* GStreamer RTMFP: bus posts from the net thread.
 *
 * What the net thread learns for the bus (the run's error, element
 * messages, asking upstream for a keyframe) is queued here and posted in
 * order from a thread of GStreamer's pool (gst_element_call_async), never
 * from the net thread: an application may tear the pipeline down from a
 * sync handler, which must not run where stop() joins.  Posts of a run
 * that stopped are dropped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Posts the error (the owner maps it to GST_ELEMENT_ERROR) */
typedef void (*GstRtmfpPosterErrorFunc) (const GError * error,
    gpointer data);

typedef struct {
  GstElement *element;
  GstRtmfpPosterErrorFunc error_func;
  gpointer error_data;
  GMutex lock;
  GQueue posts;
  gboolean scheduled;
  guint run_id;
  gboolean active;
} GstRtmfpPoster;

void      gst_rtmfp_poster_init (GstRtmfpPoster * p, GstElement * element,
    GstRtmfpPosterErrorFunc error_func, gpointer error_data);
void      gst_rtmfp_poster_clear (GstRtmfpPoster * p);
/* A run begins / ends (what is still queued of it is dropped) */
void      gst_rtmfp_poster_start (GstRtmfpPoster * p);
void      gst_rtmfp_poster_stop (GstRtmfpPoster * p);

void      gst_rtmfp_poster_error (GstRtmfpPoster * p, const GError * error);
/* An element message with this structure (taken) */
void      gst_rtmfp_poster_message (GstRtmfpPoster * p, GstStructure * s);
/* A GstForceKeyUnit event upstream (all-headers) */
void      gst_rtmfp_poster_key_unit (GstRtmfpPoster * p);

/* Calls func (element, data) in order with the posts (dropped, and data
 * destroyed, if the run stopped first) */
typedef void (*GstRtmfpPosterFunc) (GstElement * element, gpointer data);
void      gst_rtmfp_poster_call (GstRtmfpPoster * p, GstRtmfpPosterFunc func,
    gpointer data, GDestroyNotify destroy);

G_END_DECLS
