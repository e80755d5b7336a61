/* GStreamer RTMFP plugin: what rtmfpsrc and rtmfpsink share.
 *
 * A plain struct owned by the element (srt style composition).  It owns
 * one RtmfpNet (the UDP socket and its thread, with a GMainContext of its
 * own) and the NetConnection/NetStream client driven on that thread;
 * nothing of the protocol runs on the streaming thread.  Errors found on
 * the net thread are posted once as GST_ELEMENT_ERROR by the object.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstRtmfpObject GstRtmfpObject;

/* Shared property IDs; element-only IDs start at 128 */
enum {
  GST_RTMFP_PROP_0,
  GST_RTMFP_PROP_LOCATION,
  GST_RTMFP_PROP_PEER_ID,
  GST_RTMFP_PROP_TIMEOUT,
  GST_RTMFP_PROP_STATS,
  GST_RTMFP_PROP_SERVER_FINGERPRINT,
  GST_RTMFP_PROP_AUTH_TOKEN,
  GST_RTMFP_PROP_AUTO_RECONNECT,
  GST_RTMFP_PROP_HANDSHAKE,
  GST_RTMFP_PROP_AUTH_MODE,
  GST_RTMFP_PROP_LAST
};

/* handshake: RtmfpHandshakeMode; auth-mode: RtmfpTcAuthMode */
#define GST_TYPE_RTMFP_HANDSHAKE (gst_rtmfp_handshake_get_type ())
GType     gst_rtmfp_handshake_get_type (void);
#define GST_TYPE_RTMFP_AUTH_MODE (gst_rtmfp_auth_mode_get_type ())
GType     gst_rtmfp_auth_mode_get_type (void);

#define GST_RTMFP_DEFAULT_LOCATION "rtmfp://localhost/live/myStream"
#define GST_RTMFP_DEFAULT_TIMEOUT 10
#define GST_RTMFP_DEFAULT_AUTO_RECONNECT TRUE
#define GST_RTMFP_DEFAULT_AUDIO_LIFETIME 200
#define GST_RTMFP_DEFAULT_VIDEO_LIFETIME 1000
#define GST_RTMFP_STATS_NAME "application/x-rtmfp-statistics"

typedef enum {
  GST_RTMFP_OBJECT_WAIT_OK,
  GST_RTMFP_OBJECT_WAIT_FLUSHING,
  GST_RTMFP_OBJECT_WAIT_ERROR,  /* already posted */
  GST_RTMFP_OBJECT_WAIT_EOS,
} GstRtmfpObjectWaitResult;

/* One message from the stream (player) as an FLV tag buffer */
typedef struct {
  GstBuffer *tag;               /* 11-byte header + payload + trailer */
  guint8 type;
  guint32 timestamp;            /* ms, as sent */
  gboolean discont;             /* something was lost before it */
} GstRtmfpObjectItem;

GstRtmfpObject *gst_rtmfp_object_new (GstElement * element,
    gboolean publisher);
void      gst_rtmfp_object_destroy (GstRtmfpObject * obj);

/* Properties */
void      gst_rtmfp_object_install_properties_helper (GObjectClass * klass,
    gboolean publisher);
gboolean  gst_rtmfp_object_set_property_helper (GstRtmfpObject * obj,
    guint prop_id, const GValue * value, GParamSpec * pspec);
gboolean  gst_rtmfp_object_get_property_helper (GstRtmfpObject * obj,
    guint prop_id, GValue * value, GParamSpec * pspec);
/* Sink only: lifetimes in ms */
void      gst_rtmfp_object_set_lifetimes (GstRtmfpObject * obj,
    guint audio_ms, guint video_ms);
void      gst_rtmfp_object_get_lifetimes (GstRtmfpObject * obj,
    guint * audio_ms, guint * video_ms);

/* Sink only: publish directly to peer-to-peer subscribers (RFC 7425
 * 5.4) instead of through the server; taken at the next start */
void      gst_rtmfp_object_set_direct (GstRtmfpObject * obj, gboolean direct);

/* GstURIHandler */
void      gst_rtmfp_object_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

/* Starts the net thread and connects asynchronously (DNS, handshake,
 * connect, createStream, publish/play).  Posts GST_ELEMENT_ERROR and
 * returns FALSE on an immediate failure (bad URI, no socket). */
gboolean  gst_rtmfp_object_start (GstRtmfpObject * obj);
/* Aborts what is left and joins the net thread; never blocks long. */
void      gst_rtmfp_object_stop (GstRtmfpObject * obj);
void      gst_rtmfp_object_unlock (GstRtmfpObject * obj);
void      gst_rtmfp_object_unlock_stop (GstRtmfpObject * obj);

/* Waits until publishing / playing, an error, flushing or timeout */
GstRtmfpObjectWaitResult gst_rtmfp_object_wait_streaming (GstRtmfpObject *
    obj);

/* Publisher: hands one message to the net thread, waiting first while
 * too much is queued (backpressure).  flags: RTMFP_TC_CLIENT_SEND_* */
GstRtmfpObjectWaitResult gst_rtmfp_object_send (GstRtmfpObject * obj,
    guint8 type, guint32 timestamp, GBytes * payload, guint flags);
/* Publisher: closeStream + deleteStream, orderly close; waits (bounded,
 * interruptible) until done. */
GstRtmfpObjectWaitResult gst_rtmfp_object_close (GstRtmfpObject * obj);

/* Player: the next message (blocks) */
GstRtmfpObjectWaitResult gst_rtmfp_object_pop (GstRtmfpObject * obj,
    GstRtmfpObjectItem * item);

/* IP mobility (the `rebind` action signal): moves to a new local UDP
 * port; the session continues without a new handshake (RFC 7016
 * 3.5.4.2).  Application thread; FALSE if not started or no new socket. */
gboolean  gst_rtmfp_object_rebind (GstRtmfpObject * obj);

/* The stats structure (always the same fields; zero before connecting) */
GstStructure *gst_rtmfp_object_get_stats (GstRtmfpObject * obj);

G_END_DECLS
