/* rtmfp-server: what the server object and its NetConnections share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "rtmfpserver.h"
#include "rtmfpsession.h"

G_BEGIN_DECLS

typedef struct _RtmfpServerConn RtmfpServerConn;

struct _RtmfpServer {
  RtmfpServerConfig cfg;
  gchar **apps;                 /* owned copy of cfg.apps (NULL = any) */
  RtmfpServerClockFunc clock;
  gpointer clock_data;
  RtmfpIdentity *identity;
  RtmfpEndpoint *ep;
  RtmfpRelay *relay;
  GHashTable *conns;            /* RtmfpSession* -> RtmfpServerConn* (owned) */
  guint64 next_conn_id;
  gint64 last_poll;

  /* totals of connections gone */
  guint64 abandoned_closed;
  guint64 connects_accepted;
  guint64 connects_rejected;
};

gint64    rtmfp_server_now (RtmfpServer * srv);
/* Is this application (connect's "app", maybe "app/instance") allowed? */
gboolean  rtmfp_server_app_allowed (RtmfpServer * srv, const gchar * app);
void      rtmfp_server_log (RtmfpServer * srv, const gchar * fmt, ...)
    G_GNUC_PRINTF (2, 3);

/* ---- one NetConnection per session (rtmfpserverconn.c) ---- */

RtmfpServerConn *rtmfp_server_conn_new (RtmfpServer * srv, RtmfpSession * s,
    guint64 id);
/* Unpublishes / stops its streams (other players are told) and frees.
 * Touches the session's flows only if the session is still open. */
void      rtmfp_server_conn_free (RtmfpServerConn * conn);
gboolean  rtmfp_server_conn_flow_opened (RtmfpServerConn * conn,
    RtmfpRecvFlow * f, RtmfpSendFlow * assoc);
void      rtmfp_server_conn_send_flow_exception (RtmfpServerConn * conn,
    RtmfpSendFlow * f, guint64 code);
/* Orderly end of the NetConnection (5.3.6): streams ended, our flows
 * closed, then the session. */
void      rtmfp_server_conn_close (RtmfpServerConn * conn);
/* Ends the streams of a connection whose session is no longer open */
void      rtmfp_server_conn_poll (RtmfpServerConn * conn);
gboolean  rtmfp_server_conn_is_connected (const RtmfpServerConn * conn);
RtmfpSession *rtmfp_server_conn_get_session (const RtmfpServerConn * conn);
/* setPeerInfo addresses (RFC 7425 5.3.3), for introduction */
const RtmfpAddr *rtmfp_server_conn_get_peer_addresses (const RtmfpServerConn *
    conn, guint * n);

G_END_DECLS
