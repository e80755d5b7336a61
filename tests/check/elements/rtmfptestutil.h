/* Scaffolding shared by the element tests: the rtmfp-server subprocess,
 * bus helpers, the publisher and player pipelines with their Sent/Got
 * probes and the end-to-end checks (rtmfptestutil.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RTMFP_TEST_UTIL_H
#define RTMFP_TEST_UTIL_H

#include <gio/gio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

G_BEGIN_DECLS

#define SEC G_USEC_PER_SEC
/* frames sent by the publisher: 5 s of 30 fps video, 20 ms Speex */
#define N_VIDEO 150
#define N_AUDIO 250
#define VIDEO_FRAME_MS 33.4
#define AUDIO_FRAME_MS 20

/* the server */

typedef struct
{
  GSubprocess *proc;
  GDataInputStream *out;        /* its stdout, if kept (else NULL) */
  guint16 port;
} Server;

gchar *read_line_bounded (GDataInputStream * in);
/* In a sanitizer build (RTMFP_ASAN=1): preload the ASan runtime into an
 * uninstrumented program (gst-launch-1.0) that loads our plugins */
void launcher_for_sanitizer (GSubprocessLauncher * l);
/* A child process that dies with the test (fails when it cannot start) */
GSubprocess *spawn (const gchar * const *argv, GSubprocessFlags flags);
Server *server_start (const gchar * app, gboolean keep_output);
/* the same on a given UDP port (a server restarted where it was) */
Server *server_start_port (const gchar * app, gboolean keep_output,
    guint16 port);
/* rtmfp-server --identity file (static keys, made if missing): its
 * fingerprint, as printed, in *fingerprint (newly allocated) */
Server *server_start_identity (const gchar * identity_file,
    gchar ** fingerprint);
/* the server's "stats ..." line (SIGUSR1; the server started with
 * keep_output) and one of its numeric fields */
gchar *server_stats_line (Server * s);
guint64 server_stat (const gchar * line, const gchar * name);
void server_stop (Server * s);
guint16 dead_port (void);
GSocket *udp_socket (guint16 port_to_connect);

/* a UDP proxy between one client and the server: it can black out either
 * direction or both for a while, and change its outward port (a NAT
 * rebinding) */

typedef struct _Proxy Proxy;

Proxy *proxy_start (guint16 server_port);
guint16 proxy_port (Proxy * px);
/* drop server -> client for duration_us from now */
void proxy_blackout (Proxy * px, gint64 duration_us);
/* drop both directions for duration_us from now */
void proxy_blackout_both (Proxy * px, gint64 duration_us);
/* datagrams dropped so far */
guint64 proxy_dropped (Proxy * px);
/* how often the client's source address changed (the proxy then answers
 * it at the new one) */
guint proxy_client_changes (Proxy * px);
/* from now on, talk to the server from a new UDP port */
void proxy_rebind (Proxy * px);
/* drop server -> client datagrams of at most max_len bytes for
 * duration_us from now (the small ones: audio, acks) */
void proxy_drop_small (Proxy * px, gsize max_len, gint64 duration_us);
/* client -> server through a bottleneck of rate_bps (IP and UDP headers
 * counted) with a drop-tail queue of queue_us; rate 0: none */
void proxy_set_up_rate (Proxy * px, guint64 rate_bps, gint64 queue_us);
/* datagrams the bottleneck's full queue dropped */
guint64 proxy_rate_dropped (Proxy * px);
void proxy_stop (Proxy * px);

/* bus helpers */

GstMessage *wait_bus (GstElement * pipeline, GstMessageType types,
    GstClockTime timeout);
void assert_no_error (GstElement * pipeline);
/* Waits for an element message `name` (fails on an error); a copy of its
 * structure, or NULL after timeout */
GstStructure *wait_element_message (GstElement * pipeline,
    const gchar * name, GstClockTime timeout);
gboolean wait_status (GstElement * pipeline, const gchar * code,
    GstClockTime timeout);

/* publisher and players */

typedef struct
{
  guint8 type;
  guint32 ts;
} SentTag;

typedef struct
{
  GMutex lock;
  GArray *video;                /* SentTag, frames (not sequence headers) */
  GArray *audio;
  gboolean skip_next_audio;
  GstClockTime base_time;       /* the publisher pipeline's (elementary) */
} Sent;

typedef struct
{
  GMutex lock;
  GCond cond;
  GArray *video_pts;            /* GstClockTime, decoded frames */
  GArray *audio_pts;
  guint64 audio_samples;
  gboolean first_video_seen;
  gboolean first_video_key;     /* the first video buffer out of flvdemux */
  guint discont_buffers;        /* DISCONT buffers out of rtmfpsrc */
  gboolean elementary;          /* timestamps on the player's timeline */
  GstClockTime base_time;       /* the player pipeline's */
  guint gap_events;             /* GAP events into the audio decoder */
  GArray *audio_in;             /* GstClockTime: buffers into the audio
                                 * decoder, then GAPs as -(start + 1) */
  guint video_discont_delta;    /* DISCONT video that is not a keyframe */
  guint video_in;               /* video buffers into the decoder */
} Got;

/* How a test publisher / player carries the stream */
typedef enum
{
  MEDIA_FLV,                    /* flvmux ! rtmfpsink, rtmfpsrc ! flvdemux */
  MEDIA_ELEMENTARY,             /* rtmfpsink.video/.audio, rtmfpsrc's pads */
  MEDIA_ELEMENTARY_AAC,         /* the same with AAC instead of Speex */
} MediaMode;

GstElement *publisher_new (guint16 port, const gchar * path, Sent * sent,
    const gchar * sink_props);
/* mode and frame count of the publisher; audio_props: extra caps of the
 * audio branch or NULL */
GstElement *publisher_new_full (guint16 port, const gchar * path,
    Sent * sent, const gchar * sink_props, guint n_video, MediaMode mode);
/* the same with n_video frames (and as much audio) */
GstElement *publisher_new_n (guint16 port, const gchar * path, Sent * sent,
    const gchar * sink_props, guint n_video);
void probe (GstElement * bin, const gchar * name, const gchar * padname,
    GstPadProbeCallback cb, gpointer data);
GstElement *player_new (guint16 port, const gchar * path, Got * got,
    const gchar * peer_id);
GstElement *player_new_full (guint16 port, const gchar * path, Got * got,
    const gchar * src_props, MediaMode mode);
void sent_init (Sent * s);
void sent_clear (Sent * s);
void got_init (Got * g);
void got_clear (Got * g);
void set_state_checked (GstElement * p, GstState state);
/* A harness around the element of a one-element launch description
 * ("rtmfpsink location=..."), fed through its request pad padname */
GstHarness *sink_harness (const gchar * desc, const gchar * padname);
gboolean wait_decoded (Got * got, guint n, gint64 timeout_us);
void check_received (Sent * sent, Got * got, const gchar * who);
/* Notes both pipelines' base times (once both play) for check_received
 * of elementary players */
void note_base_times (GstElement * pub, Sent * sent, GstElement * play,
    Got * got);

G_END_DECLS

#endif /* RTMFP_TEST_UTIL_H */
