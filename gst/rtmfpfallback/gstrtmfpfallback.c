/* GStreamer plugin "rtmfpfallback": rtmfpautosink, rtmfpautosrc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpautosink.h"
#include "gstrtmfpautosrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

#ifdef ENABLE_NLS
  /* the plugin binds its text domain; the application sets the locale */
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
#endif
  ret |= GST_ELEMENT_REGISTER (rtmfpautosink, plugin);
  ret |= GST_ELEMENT_REGISTER (rtmfpautosrc, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, rtmfpfallback,
    "RTMFP sink and source with RTMP fallback (rtmfpautosink, rtmfpautosrc)",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
