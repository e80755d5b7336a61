/* Hex helpers shared by the known-answer tests (test-crypto.c,
 * test-vectors.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef RTMFP_TEST_HEX_H
#define RTMFP_TEST_HEX_H

#include <string.h>
#include <glib.h>

/* The bytes of a hex string (even length, hex digits only: asserted) */
static inline GBytes *
hex (const gchar * s)
{
  gsize n = strlen (s), i;
  guint8 *b;

  g_assert_cmpuint (n % 2, ==, 0);
  b = g_malloc (n / 2 + 1);
  for (i = 0; i < n / 2; i++) {
    gint hi = g_ascii_xdigit_value (s[2 * i]);
    gint lo = g_ascii_xdigit_value (s[2 * i + 1]);

    g_assert_cmpint (hi, >=, 0);
    g_assert_cmpint (lo, >=, 0);
    b[i] = (guint8) (hi << 4 | lo);
  }
  return g_bytes_new_take (b, n / 2);
}

static inline void
assert_hex_eq (const guint8 * data, gsize len, const gchar * expected)
{
  GBytes *e = hex (expected);
  gsize elen;
  const guint8 *ed = g_bytes_get_data (e, &elen);

  g_assert_cmpmem (data, len, ed, elen);
  g_bytes_unref (e);
}

#endif /* RTMFP_TEST_HEX_H */
