/* rtmfp-server: the --identity file, where the server keeps its static
 * Diffie-Hellman keys (RFC 7425 4.3.3.5) so that its fingerprint (peer
 * ID) stays the same across restarts and clients can pin it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpcrypto.h"

G_BEGIN_DECLS

/* The identity in `path` (rtmfp_identity_new_from_text).  If there is no
 * such file, a new one with static keys for `groups` is made and written
 * there, readable by the owner only (0600, created exclusively: two
 * servers starting at once never overwrite each other's); *created is
 * then TRUE.  A file that exists but cannot be read, or does not hold a
 * complete, consistent identity, is an error naming the file and the
 * reason: never a silent new identity (clients pinned the old one).
 * *warning (newly allocated, or NULL): the file is accessible to other
 * users than its owner (its keys let anyone impersonate the server). */
RtmfpIdentity *rtmfp_identity_file_load (const gchar * path,
    const guint * groups, guint n_groups, gboolean * created,
    gchar ** warning, GError ** error);

G_END_DECLS
