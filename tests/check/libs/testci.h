/* In CI a skip is a failure.
 *
 * scripts/test.sh (the README's test command, which .ci/run calls) exports
 * RTMFP_CI=1: it has installed everything the tests need, so a test that
 * finds something missing has found a broken setup, not a machine that
 * cannot run it.  Outside CI (RTMFP_CI unset, empty or 0) such a test is
 * skipped and says why.
 *
 * What the build itself provides (rtmfp-server, our plugins) is never a
 * reason to skip: its absence is a failure everywhere.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <string.h>

static inline gboolean
test_ci_enabled (void)
{
  const gchar *v = g_getenv ("RTMFP_CI");

  return v && *v && strcmp (v, "0") != 0;
}

/* Ends the current test case for want of `why` (a system component): a
 * skip, or under RTMFP_CI a failure.  The caller returns right after. */
static inline void
test_skip_or_fail (const gchar * why)
{
  if (test_ci_enabled ()) {
    g_printerr ("# FAILED (RTMFP_CI is set, a skip is a failure): %s\n",
        why);
    g_test_fail_printf ("%s (RTMFP_CI is set: in CI a skip is a failure)",
        why);
  } else {
    g_printerr ("# skipped: %s\n", why);
    g_test_skip (why);
  }
}
