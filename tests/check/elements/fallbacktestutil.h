/* Scaffolding of the fallback tests (rtmfpautosink.c, rtmfpautosrc.c):
 * nginx-rtmp and rtmp-server subprocesses on loopback, a UDP relay that
 * goes dark, players that record decoded frames, and which tests can run.
 *
 * In CI (RTMFP_CI=1) nothing may be missing: check_interop() fails the
 * program instead of leaving the interop tests out.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef FALLBACK_TEST_UTIL_H
#define FALLBACK_TEST_UTIL_H

#include "rtmfptestutil.h"

G_BEGIN_DECLS

extern gchar *nginx_path, *nginx_module;
extern const gchar *interop_skip;
extern const gchar *midstream_skip;
extern gchar *build_dir;

typedef struct
{
  GSubprocess *proc;
  gchar *dir;
} Nginx;

typedef struct
{
  GMutex lock;
  GCond cond;
  guint frames;
} Counter;

typedef struct
{
  GMutex lock;
  GCond cond;
  gchar *line;
  gboolean done;
} LineRead;

typedef struct
{
  GSocket *front;               /* the publisher talks to this one */
  GSocket *back;                /* connected to the server (lock) */
  guint16 server_port;
  GSocketAddress *client;       /* learnt from the first datagram */
  GMutex lock;
  gboolean dark;
  guint64 dropped;
  gint stop;
  GThread *up, *down;
} UdpProxy;

typedef struct
{
  GMutex lock;
  GCond cond;
  GArray *arrival;              /* gint64 monotonic us */
  GArray *pts;                  /* GstClockTime */
  gboolean eos;
  GPtrArray *errors;
} Frames;

void kill_and_reap (GSubprocess * p);
guint16 free_port (void);
gboolean wait_tcp (guint16 port, gint64 timeout_us);
Nginx *nginx_start (guint16 port);
void nginx_stop (Nginx * n);
gboolean play_and_count (const gchar * src_factory, const gchar * location, guint n,
    gint64 timeout_us, guint * got);
gchar *server_path (void);
GSubprocess *rtmfp_server_start (guint16 port);
GSubprocess *dual_server_start (guint16 * rtmfp_port, guint16 * rtmp_port);
UdpProxy *udp_proxy_start (guint16 server_port, guint16 * port);
void udp_proxy_go_dark (UdpProxy * px);
void udp_proxy_go_light (UdpProxy * px);
void udp_proxy_stop (UdpProxy * px);
GstElement *frames_player (const gchar * src, const gchar * location, Frames * f);
GstElement *frames_player_launch (const gchar * desc, Frames * f);
void frames_player_free (GstElement * pipe, Frames * f);
gboolean frames_wait (Frames * f, guint n, gint64 timeout_us);
void frames_max_gap (Frames * f, guint from, gint64 * arrival_gap,
    GstClockTime * pts_gap);
gboolean have_elements (const gchar * const *names, const gchar ** missing);
void check_interop (void);

G_END_DECLS

#endif
