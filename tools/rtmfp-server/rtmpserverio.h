/* rtmfp-server: the RTMP listener's I/O.  A listening TCP GSocket and one
 * non-blocking GSocket per client, as GSources on a GMainContext (the
 * thread that runs the RTMFP endpoint and the server object), driving one
 * RtmfpServerRtmpConn each (rtmfpserver.h): what is read is fed to it,
 * what it has to send is written as the socket takes it (G_IO_OUT watched
 * only while output is left), and the socket is closed once the
 * connection is over and drained, or dropped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "rtmfpserver.h"

G_BEGIN_DECLS

typedef struct _RtmpServerIo RtmpServerIo;

/* Called on the context's thread after the server object was touched by
 * RTMP input or a connection closing (rtmfp-server: re-arms the RTMFP
 * endpoint's timer, since relayed media may have been queued on RTMFP
 * flows). */
typedef void (*RtmpServerIoTouchedFunc) (gpointer data);

/* Binds and listens on host:port (port 0: any free port; host an address
 * or a name).  Nothing runs until rtmp_server_io_start. */
RtmpServerIo *rtmp_server_io_new (RtmfpServer * srv, const gchar * host,
    guint16 port, GError ** error);
/* Attaches the sources to context (whose thread must be the server's);
 * touched may be NULL */
void      rtmp_server_io_start (RtmpServerIo * io, GMainContext * context,
    RtmpServerIoTouchedFunc touched, gpointer touched_data);
guint16   rtmp_server_io_get_port (RtmpServerIo * io);
/* Open client connections */
guint     rtmp_server_io_get_n_connections (RtmpServerIo * io);
/* Closes every socket and frees the connections (their streams end on
 * the server, which must still exist).  From the context's thread, or
 * once nothing runs the context any more. */
void      rtmp_server_io_free (RtmpServerIo * io);

G_END_DECLS
