/* Every element test case bounds itself, also with CK_FORK=no.
 *
 * check cuts a test case at its timeout only when it runs the case in a
 * child process.  The sanitizer pass runs with CK_FORK=no (every case in
 * the test process, see the 'sanitize' test setup in meson.build), where a
 * hung case would run until meson kills the whole program.  This
 * watchdog, a checked fixture, aborts the process when one case runs past
 * its timeout (times CK_TIMEOUT_MULTIPLIER), naming the case, so a hang
 * fails at once with the name of what hung.
 *
 *   tcase_set_timeout (tc, 120);
 *   test_watchdog_add (tc, 120);
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <gst/check/gstcheck.h>

typedef struct
{
  GMutex lock;
  GCond cond;
  GThread *thread;
  gboolean done;
  gint64 deadline;              /* monotonic, us */
  guint seconds;
} TestWatchdog;

static TestWatchdog test_watchdog;
static guint test_watchdog_seconds;

static gpointer
test_watchdog_thread (gpointer data)
{
  TestWatchdog *w = data;
  gboolean fired = FALSE;

  g_mutex_lock (&w->lock);
  while (!w->done && !fired)
    fired = !g_cond_wait_until (&w->cond, &w->lock, w->deadline) &&
        !w->done && g_get_monotonic_time () >= w->deadline;
  g_mutex_unlock (&w->lock);
  if (fired) {
    gchar *pid = g_strdup_printf ("%d", (int) getpid ());
    const gchar *argv[] = { "gdb", "-p", pid, "-batch", "-nx", "-ex",
      "thread apply all bt", NULL
    };

    g_printerr ("\nwatchdog: a test case ran for more than %u s "
        "(CK_FORK=no, so check cannot cut it): the threads, then abort\n",
        w->seconds);
    /* every thread's stack, where gdb is installed (scripts/deps.sh) */
    prctl (PR_SET_PTRACER, PR_SET_PTRACER_ANY);
    g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH |
        G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free (pid);
    abort ();
  }
  return NULL;
}

static void
test_watchdog_setup (void)
{
  TestWatchdog *w = &test_watchdog;
  const gchar *mult = g_getenv ("CK_TIMEOUT_MULTIPLIER");
  gdouble m = mult ? g_ascii_strtod (mult, NULL) : 1.0;

  if (m < 1.0)
    m = 1.0;
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->done = FALSE;
  w->seconds = (guint) (test_watchdog_seconds * m);
  w->deadline = g_get_monotonic_time () + w->seconds * G_TIME_SPAN_SECOND;
  w->thread = g_thread_new ("test-watchdog", test_watchdog_thread, w);
}

static void
test_watchdog_teardown (void)
{
  TestWatchdog *w = &test_watchdog;

  g_mutex_lock (&w->lock);
  w->done = TRUE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  g_thread_join (w->thread);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

/* Adds the watchdog to tc when check runs cases in this process
 * (CK_FORK=no); with fork check's own timeout does the job */
static inline void
test_watchdog_add (TCase * tc, guint seconds)
{
  if (g_strcmp0 (g_getenv ("CK_FORK"), "no") != 0)
    return;
  test_watchdog_seconds = MAX (test_watchdog_seconds, seconds);
  tcase_add_checked_fixture (tc, test_watchdog_setup,
      test_watchdog_teardown);
}
