/* gst-check test of the translations: with a Korean locale, the error an
 * rtmfpsrc posts when it cannot reach its server is the Korean text of
 * po/ko.po, read from the catalog built in the build directory.
 *
 * Needs the ko_KR.UTF-8 locale (scripts/deps.sh generates it); without it
 * (or without NLS) the test is skipped (exit 77) and says why.  The
 * catalogs are looked up in $RTMFP_LOCALEDIR, else in <builddir>/po, found
 * from this executable's path (<builddir>/tests/check/elements_i18n).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <locale.h>
#include <libintl.h>
#include <string.h>
#include <gio/gio.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"

#include "../libs/testci.h"
#include "rtmfptestutil.h"

#define KO_LOCALE "ko_KR.UTF-8"
/* msgstr of "Could not connect to RTMFP server \"%s\"." and of its
 * "...: no answer in time." variant in po/ko.po, up to the host */
#define KO_CONNECT_FAILED "RTMFP 서버 \"127.0.0.1\"에 연결할 수 없습니다"

static gchar *locale_dir;

/* The catalog directory of the build tree (see the top comment) */
static gchar *
find_locale_dir (void)
{
  const gchar *env = g_getenv ("RTMFP_LOCALEDIR");
  gchar *exe, *dir, *po;

  if (env)
    return g_strdup (env);
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (!exe)
    return NULL;
  dir = g_path_get_dirname (exe);
  po = g_build_filename (dir, "..", "..", "po", NULL);
  g_free (dir);
  g_free (exe);
  return po;
}

GST_START_TEST (test_korean_connect_error)
{
  gchar *desc = g_strdup_printf ("rtmfpsrc timeout=2 "
      "location=rtmfp://127.0.0.1:%u/live/x ! fakesink", dead_port ());
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstBus *bus;
  GstMessage *msg;
  gchar *dbg = NULL;

  fail_unless (p != NULL && err == NULL, "%s: %s", desc,
      err ? err->message : "no pipeline");
  /* The plugin is loaded now and has bound its domain to the install
   * prefix; the last bindtextdomain wins, so point it at the build tree */
  fail_unless (bindtextdomain (GETTEXT_PACKAGE, locale_dir) != NULL);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless (msg != NULL, "no error within 10 s");
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_ERROR);
  gst_message_parse_error (msg, &err, &dbg);
  GST_INFO ("error: %s (%s)", err->message, dbg);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_READ), "%s", err->message);
  fail_unless (g_utf8_validate (err->message, -1, NULL));
  fail_unless (g_str_has_prefix (err->message, KO_CONNECT_FAILED),
      "not the Korean text of po/ko.po: %s", err->message);
  /* the English text is gone, the host is in place */
  fail_if (strstr (err->message, "Could not") != NULL, "%s", err->message);

  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);
}

GST_END_TEST;

/* The catalog itself: every message of the template has a Korean text
 * that keeps the format (spot check of the two-argument one) */
GST_START_TEST (test_korean_catalog)
{
  const gchar *ko;

  fail_unless (bindtextdomain (GETTEXT_PACKAGE, locale_dir) != NULL);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  ko = dgettext (GETTEXT_PACKAGE,
      "The RTMFP server \"%s\" refused to publish stream \"%s\".");
  fail_unless (g_strcmp0 (ko,
          "RTMFP 서버 \"%s\"이(가) 스트림 \"%s\"의 게시를 거부했습니다.") == 0,
      "wrong text: %s", ko);
  ko = dgettext (GETTEXT_PACKAGE, "Could not open a UDP socket.");
  fail_unless_equals_string (ko, "UDP 소켓을 열 수 없습니다.");
}

GST_END_TEST;

static Suite *
i18n_suite (void)
{
  Suite *s = suite_create ("i18n");
  TCase *tc = tcase_create ("korean");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  test_watchdog_add (tc, 60);
  tcase_add_test (tc, test_korean_catalog);
  tcase_add_test (tc, test_korean_connect_error);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;
  gchar *mo;
  int ret;

#ifndef ENABLE_NLS
  if (test_ci_enabled ()) {
    g_printerr ("FAIL: built without NLS (no xgettext at configure time); "
        "RTMFP_CI is set, so a skip is a failure\n");
    return 1;
  }
  g_print ("SKIP: built without NLS (no xgettext at configure time)\n");
  return 77;
#else
  /* The application sets the locale; glibc translates only in a real
   * (non-C) locale, and LANGUAGE picks the catalog */
  g_setenv ("LANGUAGE", "ko", TRUE);
  g_setenv ("LC_ALL", KO_LOCALE, TRUE);
  g_setenv ("LANG", KO_LOCALE, TRUE);
  if (!setlocale (LC_ALL, "")) {
    if (test_ci_enabled ()) {
      g_printerr ("FAIL: locale %s is not available (scripts/deps.sh "
          "generates it); RTMFP_CI is set, so a skip is a failure\n",
          KO_LOCALE);
      return 1;
    }
    g_print ("SKIP: locale %s is not available (run scripts/deps.sh as "
        "root, or locale-gen %s)\n", KO_LOCALE, KO_LOCALE);
    return 77;
  }
  locale_dir = find_locale_dir ();
  mo = locale_dir ? g_build_filename (locale_dir, "ko", "LC_MESSAGES",
      GETTEXT_PACKAGE ".mo", NULL) : NULL;
  if (!mo || !g_file_test (mo, G_FILE_TEST_EXISTS)) {
    g_printerr ("FAIL: the Korean catalog was not built: %s\n",
        mo ? mo : "(no locale dir)");
    return 1;
  }
  g_free (mo);

  gst_check_init (&argc, &argv);
  s = i18n_suite ();
  ret = gst_check_run_suite (s, "i18n", __FILE__);
  g_free (locale_dir);
  return ret;
#endif
}
