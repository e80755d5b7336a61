/* GStreamer RTMFP: the one bus error of a run (see gstrtmfperror.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include "gstrtmfperror.h"
#include "rtmfptcclient.h"
#include "rtmfptcagent.h"

/* RESOURCE OPEN_READ for players, OPEN_WRITE for publishers */
#define POST_OPEN(el, ctx, text, debug) G_STMT_START {                       \
  if ((ctx)->publisher)                                                      \
    GST_ELEMENT_ERROR (el, RESOURCE, OPEN_WRITE, text, debug);               \
  else                                                                       \
    GST_ELEMENT_ERROR (el, RESOURCE, OPEN_READ, text, debug);                \
} G_STMT_END

/* RESOURCE READ for players, WRITE for publishers */
#define POST_RW(el, ctx, text, debug) G_STMT_START {                         \
  if ((ctx)->publisher)                                                      \
    GST_ELEMENT_ERROR (el, RESOURCE, WRITE, text, debug);                    \
  else                                                                       \
    GST_ELEMENT_ERROR (el, RESOURCE, READ, text, debug);                     \
} G_STMT_END

static void
post_client_error (GstElement * el, const GstRtmfpErrorContext * c,
    const GError * err)
{
  switch (err->code) {
    case RTMFP_TC_CLIENT_ERROR_TIMEOUT:
      if (c->play_direct)
        GST_ELEMENT_ERROR (el, RESOURCE, OPEN_READ,
            (_("Could not reach the peer directly through RTMFP server "
                    "\"%s\": no answer in time."), c->host),
            ("%s", err->message));
      else
        POST_OPEN (el, c, (_("Could not connect to RTMFP server \"%s\": no "
                    "answer in time."), c->host), ("%s", err->message));
      break;
    case RTMFP_TC_CLIENT_ERROR_REJECTED:
      GST_ELEMENT_ERROR (el, RESOURCE, NOT_AUTHORIZED,
          (_("The RTMFP server \"%s\" refused the connection."), c->host),
          ("%s", err->message));
      break;
    case RTMFP_TC_CLIENT_ERROR_STREAM:
      if (c->play_direct)
        GST_ELEMENT_ERROR (el, RESOURCE, NOT_FOUND,
            (_("The peer does not publish stream \"%s\"."), c->stream),
            ("%s", err->message));
      else if (c->publisher)
        GST_ELEMENT_ERROR (el, RESOURCE, NOT_AUTHORIZED,
            (_("The RTMFP server \"%s\" refused to publish stream \"%s\"."),
                c->host, c->stream), ("%s", err->message));
      else
        GST_ELEMENT_ERROR (el, RESOURCE, NOT_FOUND,
            (_("The RTMFP server \"%s\" could not play stream \"%s\"."),
                c->host, c->stream), ("%s", err->message));
      break;
    case RTMFP_TC_CLIENT_ERROR_CLOSED:
      POST_RW (el, c, (_("The connection to RTMFP server \"%s\" was closed."),
              c->host), ("%s", err->message));
      break;
    case RTMFP_TC_CLIENT_ERROR_FINGERPRINT:
      GST_ELEMENT_ERROR (el, RESOURCE, NOT_AUTHORIZED,
          (_("The RTMFP server \"%s\" is not the required server "
                  "(wrong fingerprint, or no proof of the pinned key)."),
              c->host), ("%s", err->message));
      break;
    case RTMFP_TC_CLIENT_ERROR_AUTH:
      GST_ELEMENT_ERROR (el, RESOURCE, NOT_AUTHORIZED,
          (_("The RTMFP server \"%s\" did not prove that it knows the "
                  "authentication token."), c->host), ("%s", err->message));
      break;
    default:
      POST_OPEN (el, c, (_("Could not connect to RTMFP server \"%s\"."),
              c->host), ("%s", err->message));
      break;
  }
}

static void
post_agent_error (GstElement * el, const GstRtmfpErrorContext * c,
    const GError * err)
{
  switch (err->code) {
    case RTMFP_TC_AGENT_ERROR_NOT_PUBLISHED:
      GST_ELEMENT_ERROR (el, RESOURCE, NOT_FOUND,
          (_("Stream \"%s\" is not published on RTMFP server \"%s\"."),
              c->stream, c->host), ("%s", err->message));
      break;
    case RTMFP_TC_AGENT_ERROR_NO_LOOKUP:
      GST_ELEMENT_ERROR (el, RESOURCE, SETTINGS,
          (_("The RTMFP server \"%s\" cannot find the peer ID of stream "
                  "\"%s\": set peer-id to the publisher's peer ID."),
              c->host, c->stream), ("%s", err->message));
      break;
    case RTMFP_TC_AGENT_ERROR_LOST:
    default:
      POST_RW (el, c, (_("The connection to RTMFP server \"%s\" was lost and "
                  "could not be restored in time."), c->host),
          ("%s", err->message));
      break;
  }
}

void
gst_rtmfp_post_error (GstElement * el, const GstRtmfpErrorContext * c,
    const GError * err)
{
  if (err->domain == RTMFP_TC_CLIENT_ERROR)
    post_client_error (el, c, err);
  else if (err->domain == RTMFP_TC_AGENT_ERROR)
    post_agent_error (el, c, err);
  else if (err->domain == G_RESOLVER_ERROR)
    GST_ELEMENT_ERROR (el, RESOURCE, NOT_FOUND,
        (_("Could not resolve RTMFP server name \"%s\"."), c->host),
        ("%s", err->message));
  else
    POST_OPEN (el, c, (_("Could not connect to RTMFP server \"%s\"."),
            c->host), ("%s", err->message));
}
