/* GStreamer RTMFP: the protocol core's log, in GStreamer's debug log.
 *
 * The core (ext/rtmfp/rtmfp) is plain GLib: it logs with g_debug() and
 * g_info() under log domains "rtmfp-session", "rtmfp-flow"... which GLib
 * shows with G_MESSAGES_DEBUG.  A GStreamer user looks at GST_DEBUG, so
 * when the debug category "rtmfpcore" is at DEBUG or more when the plugin
 * loads (e.g. GST_DEBUG=rtmfpcore:5, or rtmfp*:5), the core's debug, info
 * and message output goes to that category too, with the log domain in
 * the file column.  Otherwise nothing is installed: g_debug() then costs
 * the core nothing (GLib drops it before formatting), which matters on
 * the per-packet paths.  Warnings and criticals keep GLib's handler, so
 * gst-check and G_DEBUG=fatal-warnings still see them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfplog.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_core_debug);

/* the core's log domains (docs/user-guide.md, Debugging) */
static const gchar *const core_domains[] = {
  "rtmfp-codec", "rtmfp-crypto", "rtmfp-dh", "rtmfp-cert", "rtmfp-keying",
  "rtmfp-session", "rtmfp-endpoint", "rtmfp-flow", "rtmfp-congestion",
  "rtmfp-mediacc", "rtmfp-net", "rtmfp-amf0", "rtmfp-flvtag", "rtmfp-tc",
  "rtmfp-tcclient", "rtmfp-tcpeer", "rtmfp-tcagent",
};

static void
core_log (const gchar * domain, GLogLevelFlags flags, const gchar * message,
    gpointer user_data)
{
  GstDebugLevel level = GST_LEVEL_DEBUG;

  if (flags & G_LOG_LEVEL_MESSAGE)
    level = GST_LEVEL_FIXME;
  else if (flags & G_LOG_LEVEL_INFO)
    level = GST_LEVEL_INFO;
  gst_debug_log (gst_rtmfp_core_debug, level, domain, "", 0, NULL, "%s",
      message);
  /* G_MESSAGES_DEBUG keeps working */
  g_log_default_handler (domain, flags, message, NULL);
}

void
gst_rtmfp_log_bridge_init (void)
{
  static gsize done = 0;
  guint i;

  if (!g_once_init_enter (&done))
    return;
  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_core_debug, "rtmfpcore", 0,
      "RTMFP protocol core (its GLib log domains rtmfp-*)");
  if (gst_debug_category_get_threshold (gst_rtmfp_core_debug) >=
      GST_LEVEL_DEBUG) {
    for (i = 0; i < G_N_ELEMENTS (core_domains); i++)
      g_log_set_handler (core_domains[i], G_LOG_LEVEL_DEBUG |
          G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE, core_log, NULL);
  }
  g_once_init_leave (&done, 1);
}
