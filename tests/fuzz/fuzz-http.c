/* gst-rtmfp fuzz target: rtmfp-server --metrics' HTTP request heads
 * (tools/rtmfp-server/rtmfphttprequest.h).
 *
 * Input: bytes from a client.  The head's end is found (never past the
 * input, always after an empty line) and the head answered: only 200,
 * 400, 404 or 405; 200 exactly for "GET /metrics" or "HEAD /metrics"
 * (with a query string or not) and HTTP/1.x, HEAD flagged (for a 404
 * too: no body either way); the whole
 * input read as a head never reads past its end either.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfphttprequest.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static void
check_head (const uint8_t * data, size_t len)
{
  gboolean head_only = TRUE;
  guint code = rtmfp_http_request_status (data, len, "/metrics", &head_only);

  FUZZ_CHECK (code == 200 || code == 400 || code == 404 || code == 405);
  if (code == 200) {
    const gchar *want = head_only ? "HEAD /metrics" : "GET /metrics";
    gsize n = strlen (want);

    FUZZ_CHECK (len > n && memcmp (data, want, n) == 0);
    FUZZ_CHECK (data[n] == ' ' || data[n] == '?');
  } else if (code == 404) {
    /* a HEAD is answered without a body, whatever the status */
    FUZZ_CHECK (head_only == (len >= 5 && memcmp (data, "HEAD ", 5) == 0));
  } else {
    FUZZ_CHECK (!head_only);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  gsize end = rtmfp_http_request_head_end (data, size);

  FUZZ_CHECK (end <= size);
  if (end) {
    FUZZ_CHECK (end >= 2 && data[end - 1] == '\n');
    FUZZ_CHECK (data[end - 2] == '\n' || (end >= 3 && data[end - 2] == '\r'
            && data[end - 3] == '\n'));
    /* nothing earlier ends the head */
    FUZZ_CHECK (rtmfp_http_request_head_end (data, end - 1) == 0);
    check_head (data, end);
  }
  /* a copy exactly as long as the input: a read past it is caught */
  {
    uint8_t *copy = g_memdup2 (data, size);

    check_head (copy, size);
    g_free (copy);
  }
  return 0;
}
