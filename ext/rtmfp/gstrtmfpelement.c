/* GStreamer RTMFP plugin: what every element registration runs once
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpelements.h"
#include "gstrtmfpsink.h"
#include "gstrtmfplog.h"
#include "gstrtmfpsettings.h"

void
rtmfp_element_init (GstPlugin * plugin)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
#ifdef ENABLE_NLS
    /* the plugin binds its text domain; the application sets the locale */
    bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
#endif
    gst_type_mark_as_plugin_api (GST_TYPE_RTMFP_SINK_MODE, 0);
    gst_type_mark_as_plugin_api (GST_TYPE_RTMFP_CONGESTION_CONTROL, 0);
    gst_rtmfp_log_bridge_init ();
    g_once_init_leave (&done, 1);
  }
}
