/* GStreamer RTMFP plugin: what rtmfpsrc and rtmfpsink share.
 *
 * A plain struct owned by the element (srt style composition).  It owns
 * one RtmfpNet (the UDP socket and its thread, with a GMainContext of its
 * own) and the session agent driven on that thread (rtmfptcagent.h: all
 * session policy lives there); nothing of the protocol runs on a
 * streaming thread.  The object carries what crosses threads: messages to
 * send (with backpressure), the player's receive queue, and bus posts
 * (errors, element messages, keyframe requests), which it makes from a
 * thread of GStreamer's pool, never from the net thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "rtmfpmediaqueue.h"
#include "gstrtmfpsettings.h"

G_BEGIN_DECLS

typedef struct _GstRtmfpObject GstRtmfpObject;

typedef enum {
  GST_RTMFP_OBJECT_WAIT_OK,
  GST_RTMFP_OBJECT_WAIT_FLUSHING,
  GST_RTMFP_OBJECT_WAIT_ERROR,  /* already posted */
  GST_RTMFP_OBJECT_WAIT_EOS,
} GstRtmfpObjectWaitResult;

GstRtmfpObject *gst_rtmfp_object_new (GstElement * element,
    gboolean publisher);
void      gst_rtmfp_object_destroy (GstRtmfpObject * obj);

/* Properties: the shared ones (gstrtmfpsettings.c); element-only values
 * go to the settings directly (gst_rtmfp_object_get_settings) */
void      gst_rtmfp_object_install_properties_helper (GObjectClass * klass,
    gboolean publisher);
gboolean  gst_rtmfp_object_set_property_helper (GstRtmfpObject * obj,
    guint prop_id, const GValue * value, GParamSpec * pspec);
gboolean  gst_rtmfp_object_get_property_helper (GstRtmfpObject * obj,
    guint prop_id, GValue * value, GParamSpec * pspec);
GstRtmfpSettings *gst_rtmfp_object_get_settings (GstRtmfpObject * obj);
GstRtmfpObject *gst_rtmfp_object_from_element (gpointer element);

/* Starts the net thread and connects asynchronously (DNS, handshake,
 * connect, createStream, publish/play).  Posts GST_ELEMENT_ERROR and
 * returns FALSE on an immediate failure (bad settings, no socket). */
gboolean  gst_rtmfp_object_start (GstRtmfpObject * obj);
/* Aborts what is left and joins the net thread; never blocks long. */
void      gst_rtmfp_object_stop (GstRtmfpObject * obj);

/* The waits below take the caller's own flushing flag (a streaming thread
 * of one pad is unblocked without touching the others): set it with
 * this, which wakes every waiter to look (unlock / unlock_stop). */
void      gst_rtmfp_object_set_flushing (GstRtmfpObject * obj,
    gboolean * flag, gboolean flushing);

/* Waits until publishing / playing, an error, flushing or timeout */
GstRtmfpObjectWaitResult gst_rtmfp_object_wait_streaming (GstRtmfpObject *
    obj, const gboolean * flushing);

/* Publisher: hands one message (an FLV tag body of type 8, 9 or 18) to
 * the net thread, waiting first while too much is queued (backpressure).
 * flags: RTMFP_TC_CLIENT_SEND_*.  While the connection is being restored
 * media is dropped (the stream is live); reliable messages are kept and
 * sent first on the new session. */
GstRtmfpObjectWaitResult gst_rtmfp_object_send (GstRtmfpObject * obj,
    guint8 type, guint32 timestamp, GBytes * payload, guint flags,
    const gboolean * flushing);
/* Publisher: the orderly end (the stream closed once its media is
 * delivered, then the session); waits, bounded and interruptible. */
GstRtmfpObjectWaitResult gst_rtmfp_object_close (GstRtmfpObject * obj,
    const gboolean * flushing);

/* Player: the next message (blocks); *item is transfer full */
GstRtmfpObjectWaitResult gst_rtmfp_object_pop (GstRtmfpObject * obj,
    RtmfpMediaItem ** item, const gboolean * flushing);
/* Player: ask the publisher for a keyframe (after a video loss) */
void      gst_rtmfp_object_request_keyframe (GstRtmfpObject * obj);

/* IP mobility (the `rebind` action signal): moves to a new local UDP
 * port; the session continues without a new handshake (RFC 7016
 * 3.5.4.2).  Application thread; FALSE if not started or no new socket. */
gboolean  gst_rtmfp_object_rebind (GstRtmfpObject * obj);

/* Publisher: what the session says of the path, sampled every
 * GST_RTMFP_BANDWIDTH_PERIOD_MS while a run is up (adaptive bitrate and
 * the rtmfp-bandwidth message).  Counters are totals over the run. */
#define GST_RTMFP_BANDWIDTH_PERIOD_MS 250
typedef struct {
  gint64 time_us;               /* monotonic */
  gboolean streaming;           /* publishing now */
  guint64 rate_estimate_bps;    /* 0: none yet */
  gboolean app_limited;
  guint64 delivery_rate_bps;
  gdouble rtt_ms;               /* 0: none yet */
  guint64 packets_sent;         /* totals */
  guint64 fragments_lost;
  guint64 audio_bytes_sent;
  gint congestion_control;      /* RtmfpCongestionControl */
} GstRtmfpBandwidthSample;

/* Called in order with the bus posts (a thread of GStreamer's pool, never
 * the net thread), sample owned by the caller */
typedef void (*GstRtmfpBandwidthFunc) (GstElement * element,
    const GstRtmfpBandwidthSample * sample, gpointer data);
/* Set before the first start (publisher) */
void      gst_rtmfp_object_set_bandwidth_func (GstRtmfpObject * obj,
    GstRtmfpBandwidthFunc func, gpointer data);

/* The stats structure (always the same fields; zero before connecting) */
GstStructure *gst_rtmfp_object_get_stats (GstRtmfpObject * obj);

G_END_DECLS
