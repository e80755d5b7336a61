/* rtmfp-server --metrics: the little of HTTP/1.x request parsing it needs
 * (sans-I/O, fuzzed by tests/fuzz/fuzz-http.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Where the request head ends in data (the index past its empty line:
 * CRLF CRLF or LF LF), 0 while it is not complete */
gsize     rtmfp_http_request_head_end (const guint8 * data, gsize len);

/* The answer to a complete request head for a server of one resource,
 * path: 200 for GET or HEAD of path (a query string ignored), 404 another
 * path, 405 another method, 400 a malformed request line or a version
 * other than HTTP/1.x.  *head_only: a HEAD (200 or 404: answer without a
 * body) */
guint     rtmfp_http_request_status (const guint8 * head, gsize len,
    const gchar * path, gboolean * head_only);

G_END_DECLS
