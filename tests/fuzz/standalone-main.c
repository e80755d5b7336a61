/* gst-rtmfp fuzz targets: a main() for replaying inputs without libFuzzer.
 *
 *   fuzz-xxx-replay FILE|DIR...
 *
 * Runs LLVMFuzzerTestOneInput once on every file named (directories: on
 * every regular file in them, sorted by name, not recursively; names
 * starting with '.' and README* are skipped).  Each input is passed in an
 * exact-size heap block so sanitizers catch over-reads.  A failing input
 * aborts (the target's invariant checks); otherwise exits 0 after
 * printing how many inputs ran.  Exits 1 if an argument cannot be read
 * or nothing at all was run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fuzz-common.h"

static gboolean
run_file (const gchar * path, guint * count)
{
  gchar *contents = NULL;
  gsize len = 0;
  GError *err = NULL;
  guint8 *buf;

  if (!g_file_get_contents (path, &contents, &len, &err)) {
    fprintf (stderr, "%s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  buf = fuzz_dup ((const guint8 *) contents, len);
  g_free (contents);

  if (g_getenv ("FUZZ_REPLAY_VERBOSE"))
    fprintf (stderr, "running %s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
  LLVMFuzzerTestOneInput (buf, len);
  free (buf);
  (*count)++;
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

static gboolean
run_dir (const gchar * path, guint * count)
{
  GError *err = NULL;
  GDir *dir = g_dir_open (path, 0, &err);
  GPtrArray *names;
  const gchar *name;
  gboolean ok = TRUE;
  guint i;

  if (dir == NULL) {
    fprintf (stderr, "%s\n", err->message);
    g_error_free (err);
    return FALSE;
  }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (name[0] == '.' || g_str_has_prefix (name, "README"))
      continue;
    g_ptr_array_add (names, g_strdup (name));
  }
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);

  for (i = 0; i < names->len; i++) {
    gchar *full = g_build_filename (path, g_ptr_array_index (names, i), NULL);

    if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
      ok &= run_file (full, count);
    g_free (full);
  }
  g_ptr_array_unref (names);
  return ok;
}

int
main (int argc, char **argv)
{
  guint count = 0;
  gboolean ok = TRUE;
  int i;

  LLVMFuzzerInitialize (&argc, &argv);

  for (i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
      ok &= run_dir (argv[i], &count);
    else
      ok &= run_file (argv[i], &count);
  }
  printf ("%s: %u input(s) replayed without a crash\n", argv[0], count);
  return ok && count > 0 ? 0 : 1;
}
