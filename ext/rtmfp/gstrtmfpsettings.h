/* GStreamer RTMFP: the properties rtmfpsrc and rtmfpsink share, and the
 * settings of a run.
 *
 * The values live here under their own lock; a run takes a checked copy
 * at start (GstRtmfpRun), so nothing a streaming or the net thread uses
 * changes under it.  Also here: the property specifications with their
 * documentation, and the URI handler.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "rtmfptc.h"
#include "rtmfpcrypto.h"
#include "rtmfpcongestion.h"

G_BEGIN_DECLS

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
  GST_RTMFP_PROP_STATS_INTERVAL,
  GST_RTMFP_PROP_HANDSHAKE,
  GST_RTMFP_PROP_AUTH_MODE,
  GST_RTMFP_PROP_CONGESTION_CONTROL,
  GST_RTMFP_PROP_LAST
};

/* handshake: RtmfpHandshakeMode; auth-mode: RtmfpTcAuthMode */
#define GST_TYPE_RTMFP_HANDSHAKE (gst_rtmfp_handshake_get_type ())
GType     gst_rtmfp_handshake_get_type (void);
#define GST_TYPE_RTMFP_AUTH_MODE (gst_rtmfp_auth_mode_get_type ())
GType     gst_rtmfp_auth_mode_get_type (void);
/* congestion-control: RtmfpCongestionControl (nicks tcp, media) */
#define GST_TYPE_RTMFP_CONGESTION_CONTROL \
    (gst_rtmfp_congestion_control_get_type ())
GType     gst_rtmfp_congestion_control_get_type (void);

#define GST_RTMFP_DEFAULT_LOCATION "rtmfp://localhost/live/myStream"
#define GST_RTMFP_DEFAULT_TIMEOUT 10
#define GST_RTMFP_DEFAULT_AUTO_RECONNECT TRUE
#define GST_RTMFP_DEFAULT_AUDIO_LIFETIME 200
#define GST_RTMFP_DEFAULT_VIDEO_LIFETIME 1000
#define GST_RTMFP_DEFAULT_STATS_INTERVAL 0
#define GST_RTMFP_DEFAULT_IDLE_TIMEOUT 0

typedef struct {
  GMutex lock;
  gboolean publisher;
  gboolean running;             /* the location cannot change */
  gchar *location;
  guint timeout;
  guint idle_timeout;
  guint audio_lifetime;
  guint video_lifetime;
  guint stats_interval;
  gchar *play_peer_id;          /* src: play from this peer, or "auto" */
  gchar *server_fingerprint;    /* pinned server peer ID (hex) or NULL */
  gchar *auth_token;            /* write-only */
  gint handshake;               /* RtmfpHandshakeMode */
  gint auth_mode;               /* RtmfpTcAuthMode */
  gint congestion_control;      /* RtmfpCongestionControl */
  gchar *local_peer_id;         /* sink: ours, once started */
  gboolean direct;              /* sink: mode=direct */
  gboolean auto_reconnect;
} GstRtmfpSettings;

/* Also makes the settings the element's (for the URI handler) */
void      gst_rtmfp_settings_init (GstRtmfpSettings * s, GstElement * element,
    gboolean publisher);
void      gst_rtmfp_settings_clear (GstRtmfpSettings * s);

void      gst_rtmfp_settings_install_properties (GObjectClass * klass,
    gboolean publisher);
/* The shared properties but `stats`; FALSE for other IDs */
gboolean  gst_rtmfp_settings_set_property (GstRtmfpSettings * s,
    GstElement * element, guint prop_id, const GValue * value);
gboolean  gst_rtmfp_settings_get_property (GstRtmfpSettings * s,
    guint prop_id, GValue * value);

gboolean  gst_rtmfp_settings_set_location (GstRtmfpSettings * s,
    const gchar * location, GError ** error);
gchar    *gst_rtmfp_settings_dup_location (GstRtmfpSettings * s);
gchar    *gst_rtmfp_settings_dup_local_peer_id (GstRtmfpSettings * s);
void      gst_rtmfp_settings_set_running (GstRtmfpSettings * s,
    gboolean running, const gchar * local_peer_id);
/* Our peer ID changed while running (the handshake fell back to Flash
 * Player's certificate) */
void      gst_rtmfp_settings_set_local_peer_id (GstRtmfpSettings * s,
    const gchar * local_peer_id);

/* The settings of one run, checked */
typedef struct {
  gchar *location;
  gchar *auth_token;
  gint handshake;               /* RtmfpHandshakeMode */
  gint auth_mode;               /* RtmfpTcAuthMode */
  gint congestion_control;      /* RtmfpCongestionControl */
  guint timeout, idle_timeout, stats_interval;
  guint audio_lifetime, video_lifetime;
  gboolean direct, reconnect;
  RtmfpUri uri;
  gboolean have_uri;
  gboolean play_direct;         /* a peer ID, or "auto" */
  gboolean resolve_peer;        /* "auto" */
  gboolean have_peer_fp;
  guint8 peer_fp[RTMFP_FINGERPRINT_SIZE];
  gboolean have_server_fp;
  guint8 server_fp[RTMFP_FINGERPRINT_SIZE];
} GstRtmfpRun;

/* A checked copy; FALSE (and a RESOURCE SETTINGS error posted on element)
 * for bad settings */
gboolean  gst_rtmfp_settings_snapshot (GstRtmfpSettings * s,
    GstElement * element, GstRtmfpRun * run);
void      gst_rtmfp_run_clear (GstRtmfpRun * run);

/* GstURIHandler of the elements (scheme rtmfp) */
void      gst_rtmfp_settings_uri_handler_init_src (gpointer g_iface,
    gpointer iface_data);
void      gst_rtmfp_settings_uri_handler_init_sink (gpointer g_iface,
    gpointer iface_data);

G_END_DECLS
