/* RTMFP core: the saved (text) form of a long-lived server identity, its
 * static Diffie-Hellman keys (RFC 7425 4.3.3.5).  See rtmfpcrypto.h.
 *
 * The text is the private exponent of every static key, in certificate
 * order, and the fingerprint they make: the certificate is rebuilt from
 * the keys (rtmfp_identity_new_server_static_take_keys is deterministic),
 * and a fingerprint that does not match is a damaged text, never a new
 * identity.  No I/O here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-identity"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmfpcrypto.h"

#define MAGIC "rtmfp-identity"
#define VERSION 1
/* far more than any identity we write: a bound on what is parsed */
#define MAX_TEXT (64 * 1024)

static void
append_hex (GString * s, const guint8 * d, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", d[i]);
}

gchar *
rtmfp_identity_to_text (const RtmfpIdentity * id)
{
  GString *s;
  gchar *fp;
  guint i;

  g_return_val_if_fail (id != NULL, NULL);

  if (rtmfp_identity_get_kind (id) != RTMFP_IDENTITY_SERVER_STATIC)
    return NULL;

  s = g_string_new ("# RTMFP server identity: static Diffie-Hellman keys "
      "(RFC 7425 4.3.3.5).\n"
      "# Keep it private: whoever has it can impersonate this server.\n");
  g_string_append_printf (s, "%s %d\n", MAGIC, VERSION);
  for (i = 0; i < rtmfp_identity_get_n_static_keys (id); i++) {
    const RtmfpDH *dh = rtmfp_identity_get_static_key (id, i);
    GBytes *priv = rtmfp_dh_get_private_key (dh);
    gsize len;
    const guint8 *d = g_bytes_get_data (priv, &len);

    g_string_append_printf (s, "dh %u ", rtmfp_dh_get_group (dh));
    append_hex (s, d, len);
    g_string_append_c (s, '\n');
    g_bytes_unref (priv);
  }
  fp = rtmfp_identity_get_peer_id (id);
  g_string_append_printf (s, "fingerprint %s\n", fp);
  g_free (fp);
  return g_string_free (s, FALSE);
}

/* Hex digits to bytes; NULL unless an even, non-zero number of them */
static guint8 *
hex_decode (const gchar * hex, gsize * out_len)
{
  gsize n = strlen (hex), i;
  guint8 *out;

  if (n == 0 || n % 2)
    return NULL;
  out = g_malloc (n / 2);
  for (i = 0; i < n / 2; i++) {
    gint hi = g_ascii_xdigit_value (hex[2 * i]);
    gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

    if (hi < 0 || lo < 0) {
      memset (out, 0, n / 2);
      g_free (out);
      return NULL;
    }
    out[i] = (guint8) ((hi << 4) | lo);
  }
  *out_len = n / 2;
  return out;
}

typedef struct {
  gboolean have_magic;
  gboolean have_fp;
  guint8 fp[RTMFP_FINGERPRINT_SIZE];
  RtmfpDH *keys[RTMFP_CERT_MAX_GROUPS];
  guint n_keys;
} Parsed;

static void
parsed_clear (Parsed * p)
{
  guint i;

  for (i = 0; i < p->n_keys; i++)
    rtmfp_dh_free (p->keys[i]);
  p->n_keys = 0;
}

/* "dh GROUP HEX" */
static gboolean
parse_dh (Parsed * p, gchar ** f, guint nf, GError ** error)
{
  guint64 group;
  guint8 *priv;
  gsize len = 0;
  RtmfpDH *dh;

  if (nf != 3 || !g_ascii_string_to_unsigned (f[1], 10, 1, G_MAXUINT,
          &group, NULL) || !rtmfp_dh_group_supported ((guint) group)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "a 'dh' line needs a supported group (2, 5, 14, 16) and a key");
    return FALSE;
  }
  if (p->n_keys >= RTMFP_CERT_MAX_GROUPS) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "too many keys");
    return FALSE;
  }
  priv = hex_decode (f[2], &len);
  dh = priv ? rtmfp_dh_new_with_private ((guint) group, priv, len) : NULL;
  if (priv) {
    memset (priv, 0, len);
    g_free (priv);
  }
  if (!dh) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "unusable private key for group %u", (guint) group);
    return FALSE;
  }
  p->keys[p->n_keys++] = dh;
  return TRUE;
}

static gboolean
parse_line (Parsed * p, const gchar * line, guint lineno, GError ** error)
{
  gchar **f = g_strsplit_set (line, " \t", -1);
  gchar *words[4] = { NULL };
  guint nf = 0, i;
  gboolean ok = TRUE;
  GError *e = NULL;

  /* split on runs of blanks */
  for (i = 0; f[i]; i++) {
    if (!*f[i])
      continue;
    if (nf == G_N_ELEMENTS (words)) {
      nf++;
      break;
    }
    words[nf++] = f[i];
  }
  if (nf == 0 || words[0][0] == '#')
    goto out;

  if (g_str_equal (words[0], MAGIC)) {
    if (nf != 2 || strcmp (words[1], G_STRINGIFY (VERSION)) != 0) {
      g_set_error (&e, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "unsupported version (this program reads version %d)", VERSION);
      ok = FALSE;
    }
    p->have_magic = TRUE;
  } else if (!p->have_magic) {
    g_set_error (&e, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "not an RTMFP identity (no '%s' line first)", MAGIC);
    ok = FALSE;
  } else if (g_str_equal (words[0], "dh") && nf <= 3) {
    ok = parse_dh (p, words, nf, &e);
  } else if (g_str_equal (words[0], "fingerprint") && nf == 2 &&
      !p->have_fp) {
    ok = rtmfp_fingerprint_from_hex (words[1], p->fp);
    if (!ok)
      g_set_error (&e, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "the fingerprint is not 64 hexadecimal digits");
    p->have_fp = TRUE;
  } else {
    g_set_error (&e, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "unexpected '%s' line", words[0]);
    ok = FALSE;
  }
  if (!ok)
    g_propagate_prefixed_error (error, e, "line %u: ", lineno);

out:
  /* the key's hex is in here: wipe it */
  for (i = 0; f[i]; i++)
    memset (f[i], 0, strlen (f[i]));
  g_strfreev (f);
  return ok;
}

RtmfpIdentity *
rtmfp_identity_new_from_text (const gchar * text, gsize len, GError ** error)
{
  Parsed p = { 0 };
  RtmfpIdentity *id;
  gchar *copy, **lines;
  guint i;
  gboolean ok = TRUE;

  g_return_val_if_fail (text != NULL || len == 0, NULL);

  if (len > MAX_TEXT || memchr (text, '\0', len) != NULL) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "not an RTMFP identity (binary or too large)");
    return NULL;
  }
  copy = g_strndup (text, len);
  lines = g_strsplit (copy, "\n", -1);
  for (i = 0; lines[i] && ok; i++) {
    g_strchomp (lines[i]);
    ok = parse_line (&p, lines[i], i + 1, error);
  }
  for (i = 0; lines[i]; i++)
    memset (lines[i], 0, strlen (lines[i]));
  g_strfreev (lines);
  memset (copy, 0, len);
  g_free (copy);
  if (!ok) {
    parsed_clear (&p);
    return NULL;
  }
  if (!p.have_magic || p.n_keys == 0 || !p.have_fp) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "incomplete: %s", !p.have_magic ? "not an RTMFP identity" :
        p.n_keys == 0 ? "no 'dh' key" : "no 'fingerprint' line");
    parsed_clear (&p);
    return NULL;
  }

  id = rtmfp_identity_new_server_static_take_keys (p.keys, p.n_keys);
  p.n_keys = 0;
  if (!id) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "two keys for one group");
    return NULL;
  }
  if (!rtmfp_crypto_equal (rtmfp_identity_get_fingerprint (id), p.fp,
          RTMFP_FINGERPRINT_SIZE)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "the keys do not make the recorded fingerprint (damaged)");
    rtmfp_identity_unref (id);
    return NULL;
  }
  return id;
}
