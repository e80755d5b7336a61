/* Test helpers for tests that run a child process (rtmfp-server): bounded
 * line reads from its output and a bounded wait for its exit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* One line from fd within timeout_ms (bounded); NULL on timeout or EOF.
 * buf keeps what was read past the line for the next call. */
static inline gchar *
read_line (gint fd, GString * buf, gint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    gchar *nl = memchr (buf->str, '\n', buf->len);
    struct pollfd pfd = { fd, POLLIN, 0 };
    gint64 left;
    gchar chunk[512];
    gssize r;

    if (nl) {
      gchar *line = g_strndup (buf->str, nl - buf->str);
      g_string_erase (buf, 0, nl - buf->str + 1);
      return line;
    }
    left = (end - g_get_monotonic_time ()) / 1000;
    if (left <= 0 || poll (&pfd, 1, (gint) left) <= 0)
      return NULL;
    r = read (fd, chunk, sizeof (chunk));
    if (r <= 0)
      return NULL;
    g_string_append_len (buf, chunk, r);
  }
}

/* waitpid with a bound (10 ms steps); the wait status, -1 on timeout */
static inline gint
wait_exit (GPid pid, gint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint status;

  while (g_get_monotonic_time () < end) {
    if (waitpid (pid, &status, WNOHANG) == pid)
      return status;
    poll (NULL, 0, 10);
  }
  return -1;
}
