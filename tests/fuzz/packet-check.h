/* gst-rtmfp fuzz targets: plain packet checks shared by fuzz-packet and
 * fuzz-decode-default.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Parses a plain RTMFP packet, every chunk in it with the parser of its
 * type, re-serialises what parsed and checks that it parses back equal
 * (abort()s otherwise).  Returns the number of chunks iterated, or -1 if
 * the packet header did not parse. */
gint      fuzz_check_plain_packet (const guint8 * plain, gsize len);

G_END_DECLS
