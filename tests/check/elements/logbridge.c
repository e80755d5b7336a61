/* gst-check test of the bridge from the protocol core's GLib log domains
 * to GStreamer's debug log (ext/rtmfp/gstrtmfplog.c): with the category
 * "rtmfpcore" at DEBUG when the plugin loads, what the core logs with
 * g_debug() (here the session agent and the NetConnection client of an
 * rtmfpsrc trying a silent server) reaches a GStreamer log function in
 * that category, with its log domain as the file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"
#include "rtmfptestutil.h"

static GMutex lock;
static GHashTable *domains;     /* log domains seen in rtmfpcore */
static guint core_messages;

static void
log_func (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  if (strcmp (gst_debug_category_get_name (category), "rtmfpcore") != 0)
    return;
  g_mutex_lock (&lock);
  core_messages++;
  g_hash_table_add (domains, g_strdup (file));
  g_mutex_unlock (&lock);
}

GST_START_TEST (test_core_log_in_gst_debug)
{
  gchar *desc = g_strdup_printf ("rtmfpsrc timeout=1 "
      "location=rtmfp://127.0.0.1:%u/live/x ! fakesink", dead_port ());
  GstElement *p = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m;

  fail_unless (p != NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  /* the handshake times out after 1 s: an error, bounded */
  m = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (m != NULL, "no error from an unreachable server");
  gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);

  g_mutex_lock (&lock);
  GST_INFO ("%u core messages", core_messages);
  fail_unless (core_messages > 0, "nothing of the core's log in rtmfpcore");
  fail_unless (g_hash_table_contains (domains, "rtmfp-tcagent"),
      "no message of the rtmfp-tcagent domain");
  fail_unless (g_hash_table_contains (domains, "rtmfp-tcclient"),
      "no message of the rtmfp-tcclient domain");
  g_mutex_unlock (&lock);

  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);
}

GST_END_TEST;

static Suite *
logbridge_suite (void)
{
  Suite *s = suite_create ("logbridge");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  test_watchdog_add (tc, 60);
  tcase_add_test (tc, test_core_log_in_gst_debug);
  return s;
}

int
main (int argc, char **argv)
{
  int ret;

  /* before the plugin loads: the bridge is installed then or never */
  g_setenv ("GST_DEBUG", "rtmfpcore:5", TRUE);
  domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gst_check_init (&argc, &argv);
  gst_debug_add_log_function (log_func, NULL, NULL);
  ret = gst_check_run_suite (logbridge_suite (), "logbridge", __FILE__);
  g_hash_table_unref (domains);
  return ret;
}
