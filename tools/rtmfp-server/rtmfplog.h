/* rtmfp-server --log-format text|json.
 *
 * text (default): as before, -v logs connections and streams as GLib
 * messages on stderr.  json: one JSON object per line on stderr, for log
 * collectors: every client event (connect, publish, play, unpublish, stop,
 * close, with result and reason: RtmfpServerEvent) whether or not -v is
 * given, and every GLib log message (warnings; with -v the detail lines)
 * as {"time", "level", "domain", "message"}.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpserver.h"

G_BEGIN_DECLS

/* --log-format (for the program's option context) */
extern const GOptionEntry rtmfp_log_option_entries[];

/* Applies the option (after parsing): FALSE, message printed, on a bad
 * value */
gboolean  rtmfp_log_setup (void);
gboolean  rtmfp_log_is_json (void);

/* RtmfpServerConfig.on_event for the JSON format (any thread) */
void      rtmfp_log_event (const RtmfpServerEvent * event, gpointer data);

/* One event as a JSON object, without newline (newly allocated); for
 * rtmfp_log_event and tests */
gchar    *rtmfp_log_event_to_json (const RtmfpServerEvent * event,
    GDateTime * time);

G_END_DECLS
