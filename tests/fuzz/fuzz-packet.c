/* gst-rtmfp fuzz target: a plain (decrypted) RTMFP packet.
 *
 * The input is a plain packet: header, then chunks.  Every chunk goes
 * through the parser of its type and the round trips of packet-check.c.
 * The input is also tried as a VLU, an option sequence and, as text, as
 * an address literal (the other codec parsers of rtmfpvlu.h/rtmfpaddr.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "packet-check.h"
#include "rtmfppacket.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static void
check_vlu_and_options (const guint8 * data, gsize size)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  guint64 v;
  gsize n;

  if (rtmfp_vlu_decode (data, size, &v, &n)) {
    guint8 buf[RTMFP_VLU_MAX_SIZE];
    guint64 w;
    gsize m = rtmfp_vlu_encode (v, buf);

    FUZZ_CHECK (n >= 1 && n <= RTMFP_VLU_MAX_SIZE && n <= size);
    FUZZ_CHECK (m == rtmfp_vlu_size (v) && m <= n);
    FUZZ_CHECK (rtmfp_vlu_decode (buf, m, &w, &n) && w == v && n == m);
  }

  /* options filling the buffer (certificate / EPD style) */
  rtmfp_option_iter_init (&it, data, size);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    if (!marker)
      FUZZ_CHECK (opt.value >= data && opt.value + opt.len <= data + size);
  }
  FUZZ_CHECK (!rtmfp_option_iter_next (&it, &opt, &marker));
}

static void
check_addr_string (const guint8 * data, gsize size)
{
  gchar *str = g_strndup ((const gchar *) data, MIN (size, 128));
  RtmfpAddr a, b;
  gchar buf[RTMFP_ADDR_STRLEN];

  if (rtmfp_addr_from_string (&a, str, size > 0 ? data[0] : 0)) {
    FUZZ_CHECK (a.family == 4 || a.family == 6);
    rtmfp_addr_to_string (&a, buf);
    FUZZ_CHECK (rtmfp_addr_from_string (&b, buf, 0));
    FUZZ_CHECK (rtmfp_addr_equal (&a, &b));
  }
  g_free (str);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fuzz_check_plain_packet (data, size);
  check_vlu_and_options (data, size);
  check_addr_string (data, size);
  return 0;
}
