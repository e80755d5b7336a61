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
  GPtrArray *auth_keys;         /* GBytes * (owned); NULL: no auth */
  RtmfpServerClockFunc clock;
  gpointer clock_data;
  RtmfpIdentity *identity;
  RtmfpEndpoint *ep;
  RtmfpRelay *relay;
  GHashTable *conns;            /* RtmfpSession* -> RtmfpServerConn* (owned) */
  /* direct publishers by "app/name" (publishDirect): the connection of
   * the publisher (not owned; removed when it is freed) */
  GHashTable *direct;
  guint64 next_conn_id;
  gint64 last_poll;

  /* totals of connections gone */
  guint64 abandoned_closed;
  guint64 lost_closed;
  guint64 retransmitted_closed;
  guint64 connects_accepted;
  guint64 connects_rejected;

  /* RTMP side (rtmfpserverrtmp.c) */
  GHashTable *rtmp_conns;       /* set of RtmfpServerRtmpConn* (not owned) */
  guint64 next_rtmp_id;
  guint64 rtmp_bytes_in_closed; /* of connections gone */
  guint64 rtmp_bytes_out_closed;
  guint64 rtmp_connects_accepted;
  guint64 rtmp_connects_rejected;
  guint64 rtmp_dropped;
};

gint64    rtmfp_server_now (RtmfpServer * srv);
/* cfg.publish_check: may (app, name) be published here? */
gboolean  rtmfp_server_publish_allowed (RtmfpServer * srv, const gchar * app,
    const gchar * name);
/* The application of a connect's "app": without a "?query" or trailing
 * slashes ("live/?x" -> "live"); never NULL */
gchar    *rtmfp_server_normalize_app (const gchar * app);
/* Is this application (connect's "app", maybe "app/instance") allowed? */
gboolean  rtmfp_server_app_allowed (RtmfpServer * srv, const gchar * app);
/* Authentication (RtmfpServerConfig.auth_keys): args are a connect's
 * arguments, the command object at index first - 1 and the token(s) from
 * index first; app normalized.  TRUE when no keys are configured.
 * nonce: our session nonce (RTFMP; NULL over RTMP), under which a hashed
 * token is accepted too.  proof: if not NULL and a token matched, the
 * plain token (newly allocated), for the authToken answer. */
gboolean  rtmfp_server_auth_ok (RtmfpServer * srv, const gchar * app,
    GPtrArray * args, guint first, const guint8 * nonce, gchar ** proof);
void      rtmfp_server_log (RtmfpServer * srv, const gchar * fmt, ...)
    G_GNUC_PRINTF (2, 3);
/* Tells cfg.on_event (rtmfpserverevent.c); any string may be NULL */
void      rtmfp_server_event (RtmfpServer * srv, const gchar * event,
    const gchar * protocol, guint64 conn, const gchar * peer,
    const gchar * app, const gchar * stream, const gchar * result,
    const gchar * reason);

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
/* The "close" event of a connection (once): when its session is no
 * longer open, at the latest when it closed (before
 * rtmfp_server_conn_free) */
void      rtmfp_server_conn_closed_event (RtmfpServerConn * conn);
/* The peer ID of the direct publisher of (app, name), or NULL (newly
 * allocated hex) */
gchar    *rtmfp_server_lookup_direct (RtmfpServer * srv, const gchar * app,
    const gchar * name);
/* setPeerInfo addresses (RFC 7425 5.3.3), for introduction */
const RtmfpAddr *rtmfp_server_conn_get_peer_addresses (const RtmfpServerConn *
    conn, guint * n);

/* ---- RTMP connections (rtmfpserverrtmp.c) ---- */

/* Drops RTMP connections that did not connect in time */
void      rtmfp_server_rtmp_poll (RtmfpServer * srv);
/* Ends every RTMP connection's streams and closes it (output drained) */
void      rtmfp_server_rtmp_shutdown (RtmfpServer * srv);
/* rtmfp_server_free: the connections left end their streams and forget
 * the server (the driver frees them later) */
void      rtmfp_server_rtmp_detach_all (RtmfpServer * srv);
void      rtmfp_server_rtmp_get_stats (RtmfpServer * srv,
    RtmfpServerStats * st);

G_END_DECLS
