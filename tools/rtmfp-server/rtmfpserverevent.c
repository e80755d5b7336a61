/* rtmfp-server: client events for an operator's log (RtmfpServerEvent,
 * RtmfpServerConfig.on_event).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfpserverpriv.h"

void
rtmfp_server_event (RtmfpServer * srv, const gchar * event,
    const gchar * protocol, guint64 conn, const gchar * peer,
    const gchar * app, const gchar * stream, const gchar * result,
    const gchar * reason)
{
  RtmfpServerEvent ev = {
    .event = event,
    .protocol = protocol,
    .conn = conn,
    .peer = peer,
    .app = app,
    .stream = stream,
    .result = result,
    .reason = reason,
  };

  if (srv->cfg.on_event)
    srv->cfg.on_event (&ev, srv->cfg.event_data);
}
