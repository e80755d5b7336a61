/* GStreamer RTMFP: the one bus error of a run, from the core's GError.
 *
 * The core reports failures as GErrors (RTMFP_TC_CLIENT_ERROR,
 * RTMFP_TC_AGENT_ERROR, G_RESOLVER_ERROR, G_IO_ERROR); this turns one into
 * the GST_ELEMENT_ERROR users see: a RESOURCE error code that says what
 * kind of failure it is, a translated message naming the server or the
 * stream, and the core's own (untranslated) text as the debug string.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  gboolean publisher;
  gboolean play_direct;         /* a player playing from a peer */
  const gchar *host;            /* the server, "" if unknown */
  const gchar *stream;          /* the stream name, "" if unknown */
} GstRtmfpErrorContext;

void      gst_rtmfp_post_error (GstElement * element,
    const GstRtmfpErrorContext * ctx, const GError * err);

G_END_DECLS
