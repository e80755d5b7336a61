/* gst-check test of what gst-inspect-1.0 shows users: every element of
 * this project (rtmfpsrc, rtmfpsink, and rtmfpautosink when its plugin is
 * built) has its metadata, every property a real blurb, every debug
 * category of docs/user-guide.md exists, and gst-inspect-1.0 prints it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#define _GNU_SOURCE             /* dladdr */
#include <string.h>
#include <dlfcn.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"

#include "../libs/testci.h"

static const gchar *elements[] = { "rtmfpsrc", "rtmfpsink", "rtmfpautosink",
  "rtmfpautosrc"
};

/* rtmfpautosink is in another plugin, which may not be built */
static GstElementFactory *
find_factory (const gchar * name)
{
  GstElementFactory *f = gst_element_factory_find (name);

  if (!f && g_str_has_prefix (name, "rtmfpauto") && !test_ci_enabled ())
    g_print ("SKIP: %s is not built\n", name);
  else
    fail_unless (f != NULL, "no element %s", name);
  return f;
}

GST_START_TEST (test_metadata)
{
  const gchar *name = elements[__i__];
  GstElementFactory *f = find_factory (name);
  const gchar *keys[] = { GST_ELEMENT_METADATA_LONGNAME,
    GST_ELEMENT_METADATA_KLASS, GST_ELEMENT_METADATA_DESCRIPTION,
    GST_ELEMENT_METADATA_AUTHOR
  };
  guint i;

  if (!f)
    return;
  for (i = 0; i < G_N_ELEMENTS (keys); i++) {
    const gchar *v = gst_element_factory_get_metadata (f, keys[i]);

    fail_unless (v != NULL && *v != '\0', "%s has no %s", name, keys[i]);
  }
  fail_unless (strstr (gst_element_factory_get_metadata (f,
              GST_ELEMENT_METADATA_KLASS), "Network") != NULL);
  fail_unless (strstr (gst_element_factory_get_metadata (f,
              GST_ELEMENT_METADATA_DESCRIPTION), "RTMFP") != NULL);
  gst_object_unref (f);
}

GST_END_TEST;

/* Every property (own and inherited) has a nick and a blurb that says
 * more than its name */
GST_START_TEST (test_property_blurbs)
{
  const gchar *name = elements[__i__];
  GstElementFactory *f = find_factory (name);
  GstElement *e;
  GParamSpec **props;
  guint n, i, own = 0;

  if (!f)
    return;
  e = gst_element_factory_create (f, NULL);
  fail_unless (e != NULL);
  props = g_object_class_list_properties (G_OBJECT_GET_CLASS (e), &n);
  fail_unless (n > 0);
  for (i = 0; i < n; i++) {
    const gchar *pname = g_param_spec_get_name (props[i]);
    const gchar *nick = g_param_spec_get_nick (props[i]);
    const gchar *blurb = g_param_spec_get_blurb (props[i]);

    GST_DEBUG ("%s::%s: %s", name, pname, blurb ? blurb : "(null)");
    fail_unless (nick != NULL && *nick != '\0', "%s::%s has no nick", name,
        pname);
    fail_unless (blurb != NULL && *blurb != '\0', "%s::%s has no blurb",
        name, pname);
    fail_if (g_ascii_strcasecmp (blurb, pname) == 0 ||
        g_ascii_strcasecmp (blurb, nick) == 0,
        "%s::%s: the blurb only repeats the name", name, pname);
    if (props[i]->owner_type == G_OBJECT_TYPE (e))
      own++;
  }
  fail_unless (own > 0, "%s has no properties of its own", name);
  g_free (props);
  gst_object_unref (e);
  gst_object_unref (f);
}

GST_END_TEST;

/* The GST_DEBUG categories docs/user-guide.md lists */
GST_START_TEST (test_debug_categories)
{
  const gchar *cats[] = { "rtmfpsrc", "rtmfpsink", "rtmfpobject" };
  GstElement *e;
  guint i;

  /* the categories are registered when the elements' classes are made */
  e = gst_element_factory_make ("rtmfpsrc", NULL);
  gst_object_unref (e);
  e = gst_element_factory_make ("rtmfpsink", NULL);
  gst_object_unref (e);
  for (i = 0; i < G_N_ELEMENTS (cats); i++)
    fail_unless (_gst_debug_get_category (cats[i]) != NULL,
        "no debug category %s", cats[i]);
  e = gst_element_factory_make ("rtmfpautosink", NULL);
  if (e) {
    fail_unless (_gst_debug_get_category ("rtmfpautosink") != NULL);
    fail_unless (_gst_debug_get_category ("rtmfpautosinkinput") != NULL);
    fail_unless (_gst_debug_get_category ("rtmfpautosinkchild") != NULL);
    gst_object_unref (e);
  }
  e = gst_element_factory_make ("rtmfpautosrc", NULL);
  if (e) {
    fail_unless (_gst_debug_get_category ("rtmfpautosrc") != NULL);
    fail_unless (_gst_debug_get_category ("rtmfpautosrcpath") != NULL);
    gst_object_unref (e);
  }
}

GST_END_TEST;

/* The environment of a child process: in an AddressSanitizer build our
 * plugin needs the ASan runtime preloaded in an uninstrumented program */
static gchar **
child_environ (void)
{
  gchar **envp = g_get_environ ();
#ifdef __SANITIZE_ADDRESS__
  extern void __asan_init (void);
  Dl_info info;

  if (dladdr ((void *) __asan_init, &info) && info.dli_fname) {
    envp = g_environ_setenv (envp, "LD_PRELOAD", info.dli_fname, TRUE);
    /* what gst-inspect itself leaks is not ours */
    envp = g_environ_setenv (envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
  }
#endif
  return envp;
}

/* gst-inspect-1.0 (with this test's plugin path and registry, inherited
 * from the environment meson sets) prints the description and every
 * property of the element with its blurb */
GST_START_TEST (test_gst_inspect)
{
  const gchar *name = elements[__i__];
  GstElementFactory *f = find_factory (name);
  const gchar *argv[] = { "gst-inspect-1.0", name, NULL };
  gchar *out = NULL, *err = NULL, **envp;
  gint status = -1;
  GError *error = NULL;
  GstElement *e;
  GParamSpec **props;
  guint n, i;

  if (!f)
    return;
  envp = child_environ ();
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, envp,
          G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error),
      "cannot run gst-inspect-1.0: %s", error ? error->message : "?");
  g_strfreev (envp);
  fail_unless (g_spawn_check_wait_status (status, NULL),
      "gst-inspect-1.0 %s failed: %s", name, err);
  fail_unless (strstr (out, "Description") != NULL, "%s", out);
  fail_unless (strstr (out, gst_element_factory_get_metadata (f,
              GST_ELEMENT_METADATA_DESCRIPTION)) != NULL, "%s", out);

  e = gst_element_factory_create (f, NULL);
  props = g_object_class_list_properties (G_OBJECT_GET_CLASS (e), &n);
  for (i = 0; i < n; i++) {
    const gchar *pname = g_param_spec_get_name (props[i]);

    if (props[i]->owner_type != G_OBJECT_TYPE (e))
      continue;
    fail_unless (strstr (out, pname) != NULL, "%s not shown", pname);
    fail_unless (strstr (out, g_param_spec_get_blurb (props[i])) != NULL,
        "blurb of %s not shown", pname);
  }
  g_free (props);
  gst_object_unref (e);
  g_free (out);
  g_free (err);
  gst_object_unref (f);
}

GST_END_TEST;

static Suite *
docs_suite (void)
{
  Suite *s = suite_create ("docs");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  test_watchdog_add (tc, 60);
  tcase_add_loop_test (tc, test_metadata, 0, G_N_ELEMENTS (elements));
  tcase_add_loop_test (tc, test_property_blurbs, 0, G_N_ELEMENTS (elements));
  tcase_add_test (tc, test_debug_categories);
  tcase_add_loop_test (tc, test_gst_inspect, 0, G_N_ELEMENTS (elements));
  return s;
}

GST_CHECK_MAIN (docs);
