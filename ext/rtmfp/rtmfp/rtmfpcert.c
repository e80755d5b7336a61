/* RTMFP core: RFC 7425 certificates, endpoint discriminators and local
 * identities (4.3, 4.4, 5.3).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-cert"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmfpcrypto.h"
#include "rtmfpvlu.h"

/* Extra Randomness (4.3.3.3) in our client certificates, and in server
 * (ephemeral) ones, where it only makes the fingerprint unique: 128 bits
 * do that, and keep the RHello small enough to answer the shortest
 * IHellos of real clients within the anti-amplification bound
 * (rtmfpendpoint.h, max_startup_amplification). */
#define CERT_EXTRA_RANDOMNESS 32
#define SERVER_CERT_EXTRA_RANDOMNESS 16
/* Flash Player's certificate: one Static DH Public Key, group 2 */
#define FLASH_GROUP 2

/* ---- certificates (4.3) ---- */

/* Parses a value that must be exactly one VLU (a group ID). */
static gboolean
parse_group_vlu (const guint8 * value, gsize len, guint64 * group,
    gsize * consumed)
{
  gsize n;

  if (!rtmfp_vlu_decode (value, len, group, &n))
    return FALSE;
  if (consumed)
    *consumed = n;
  else if (n != len)
    return FALSE;
  return TRUE;
}

gboolean
rtmfp_cert_parse (const guint8 * cert, gsize len, RtmfpCertInfo * info)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker, in_canonical = TRUE;
  gsize canonical_len = 0;
  gboolean have_hostname = FALSE;
  gboolean saw_static = FALSE, saw_ephemeral = FALSE;

  g_return_val_if_fail (info != NULL, FALSE);

  memset (info, 0, sizeof (*info));
  if (cert == NULL && len > 0)
    return FALSE;

  /* 4.3.1: options and markers; the canonical section ends at the first
   * marker */
  rtmfp_option_iter_init (&it, cert, len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    if (marker) {
      in_canonical = FALSE;
      continue;
    }
    if (!in_canonical) {
      /* 4.3.3: every option we understand (except Extra Randomness, which
       * has no meaning for us) must be ignored outside it */
      continue;
    }
    canonical_len = it.r.pos;

    switch (opt.type) {
      case RTMFP_CERT_OPT_HOSTNAME:
        /* 4.3.3.1: MUST NOT occur more than once */
        if (have_hostname)
          return FALSE;
        have_hostname = TRUE;
        info->hostname = opt.value;
        info->hostname_len = opt.len;
        break;
      case RTMFP_CERT_OPT_ACCEPTS_ANCILLARY:
        info->accepts_ancillary = TRUE;
        break;
      case RTMFP_CERT_OPT_EPHEMERAL_GROUP:{
        guint64 group;
        guint i;
        gboolean dup = FALSE;

        if (!parse_group_vlu (opt.value, opt.len, &group, NULL))
          return FALSE;
        /* 4.3.3.4: never together with a static key */
        if (saw_static)
          return FALSE;
        saw_ephemeral = TRUE;
        for (i = 0; i < info->n_ephemeral_groups; i++)
          dup |= info->ephemeral_groups[i] == group;
        /* groups we could never use (too big, beyond the table) are
         * simply not recorded */
        if (!dup && group <= G_MAXUINT &&
            info->n_ephemeral_groups < RTMFP_CERT_MAX_GROUPS)
          info->ephemeral_groups[info->n_ephemeral_groups++] = (guint) group;
        break;
      }
      case RTMFP_CERT_OPT_STATIC_DH_KEY:{
        guint64 group;
        gsize n;
        guint i;

        if (!parse_group_vlu (opt.value, opt.len, &group, &n))
          return FALSE;
        if (n >= opt.len)
          return FALSE;         /* no key */
        /* 4.3.3.5: never together with ephemeral groups */
        if (saw_ephemeral)
          return FALSE;
        saw_static = TRUE;
        for (i = 0; i < info->n_static_keys; i++)
          if (info->static_keys[i].group == group)
            return FALSE;       /* behaviour undefined by 4.3.3.5 */
        if (group > G_MAXUINT || info->n_static_keys >= RTMFP_CERT_MAX_GROUPS)
          break;
        info->static_keys[info->n_static_keys].group = (guint) group;
        info->static_keys[info->n_static_keys].key = opt.value + n;
        info->static_keys[info->n_static_keys].len = opt.len - n;
        info->n_static_keys++;
        break;
      }
      default:
        /* Extra Randomness and unknown options: nothing to record */
        break;
    }
  }
  if (it.malformed)
    return FALSE;

  /* 4.3.2: SHA-256 of the canonical section */
  rtmfp_sha256 (cert, canonical_len, info->fingerprint);
  return TRUE;
}

gint
rtmfp_cert_compare (const guint8 * a, gsize a_len, const guint8 * b,
    gsize b_len)
{
  gsize n = MIN (a_len, b_len);
  gint r = n > 0 ? memcmp (a, b, n) : 0;

  /* 4.3.6: unsigned bytewise, a proper prefix sorts first */
  if (r != 0)
    return r < 0 ? -1 : 1;
  if (a_len == b_len)
    return 0;
  return a_len < b_len ? -1 : 1;
}

gboolean
rtmfp_cert_overrides (const guint8 * a, gsize a_len, const guint8 * b,
    gsize b_len)
{
  /* 4.3.7: identical certificates only */
  return rtmfp_cert_compare (a, a_len, b, b_len) == 0;
}

/* ---- endpoint discriminators (4.4) ---- */

void
rtmfp_epd_append_ancillary (GByteArray * out, const gchar * uri)
{
  g_return_if_fail (out != NULL && uri != NULL);
  rtmfp_option_append (out, RTMFP_EPD_OPT_ANCILLARY_DATA,
      (const guint8 *) uri, strlen (uri));
}

void
rtmfp_epd_append_fingerprint (GByteArray * out,
    const guint8 fp[RTMFP_FINGERPRINT_SIZE])
{
  g_return_if_fail (out != NULL && fp != NULL);
  rtmfp_option_append (out, RTMFP_EPD_OPT_FINGERPRINT, fp,
      RTMFP_FINGERPRINT_SIZE);
}

void
rtmfp_epd_append_hostname (GByteArray * out, const gchar * hostname)
{
  g_return_if_fail (out != NULL && hostname != NULL);
  rtmfp_option_append (out, RTMFP_EPD_OPT_REQUIRED_HOSTNAME,
      (const guint8 *) hostname, strlen (hostname));
}

void
rtmfp_epd_canonical (const guint8 fp[RTMFP_FINGERPRINT_SIZE],
    guint8 out[RTMFP_CANONICAL_EPD_SIZE])
{
  /* 4.4.4: one-byte length 0x21 and type 0x0f, always */
  out[0] = 0x21;
  out[1] = RTMFP_EPD_OPT_FINGERPRINT;
  memcpy (out + 2, fp, RTMFP_FINGERPRINT_SIZE);
}

gboolean
rtmfp_epd_parse (const guint8 * epd, gsize len, RtmfpEpdInfo * info)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  gboolean have_host = FALSE, have_anc = FALSE;

  g_return_val_if_fail (info != NULL, FALSE);

  memset (info, 0, sizeof (*info));
  if (epd == NULL)
    return FALSE;

  rtmfp_option_iter_init (&it, epd, len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    if (marker)
      continue;                 /* carries nothing */
    switch (opt.type) {
      case RTMFP_EPD_OPT_REQUIRED_HOSTNAME:
        /* each of the three MUST NOT occur more than once (4.4.2) */
        if (have_host)
          return FALSE;
        have_host = TRUE;
        info->hostname = opt.value;
        info->hostname_len = opt.len;
        break;
      case RTMFP_EPD_OPT_ANCILLARY_DATA:
        if (have_anc)
          return FALSE;
        have_anc = TRUE;
        info->ancillary = opt.value;
        info->ancillary_len = opt.len;
        break;
      case RTMFP_EPD_OPT_FINGERPRINT:
        if (info->has_fingerprint || opt.len != RTMFP_FINGERPRINT_SIZE)
          return FALSE;
        info->has_fingerprint = TRUE;
        memcpy (info->fingerprint, opt.value, RTMFP_FINGERPRINT_SIZE);
        break;
      default:
        break;                  /* 4.4.2: ignore what we don't know */
    }
  }
  if (it.malformed)
    return FALSE;

  /* 4.4.3: at least one of them, or it selects nothing */
  return info->has_fingerprint || have_host || have_anc;
}

gboolean
rtmfp_epd_selects (const RtmfpEpdInfo * epd, const RtmfpCertInfo * cert)
{
  g_return_val_if_fail (epd != NULL && cert != NULL, FALSE);

  /* 4.4.3, Figure 1 */
  if (epd->has_fingerprint)
    return rtmfp_crypto_equal (epd->fingerprint, cert->fingerprint,
        RTMFP_FINGERPRINT_SIZE);

  if (epd->hostname != NULL) {
    if (cert->hostname == NULL)
      return FALSE;
    if (cert->hostname_len != epd->hostname_len ||
        (epd->hostname_len > 0 &&
            memcmp (cert->hostname, epd->hostname, epd->hostname_len) != 0))
      return FALSE;
  }
  if (epd->ancillary != NULL) {
    if (!cert->accepts_ancillary)
      return FALSE;
  } else if (epd->hostname == NULL) {
    return FALSE;
  }
  return TRUE;
}

/* ---- fingerprint hex ---- */

gchar *
rtmfp_fingerprint_to_hex (const guint8 fp[RTMFP_FINGERPRINT_SIZE])
{
  static const gchar digits[] = "0123456789abcdef";
  gchar *s;
  guint i;

  g_return_val_if_fail (fp != NULL, NULL);

  s = g_malloc (RTMFP_FINGERPRINT_SIZE * 2 + 1);
  for (i = 0; i < RTMFP_FINGERPRINT_SIZE; i++) {
    s[2 * i] = digits[fp[i] >> 4];
    s[2 * i + 1] = digits[fp[i] & 0x0f];
  }
  s[RTMFP_FINGERPRINT_SIZE * 2] = '\0';
  return s;
}

gboolean
rtmfp_fingerprint_from_hex (const gchar * hex,
    guint8 fp[RTMFP_FINGERPRINT_SIZE])
{
  guint8 tmp[RTMFP_FINGERPRINT_SIZE];
  guint i;

  if (hex == NULL || fp == NULL)
    return FALSE;
  for (i = 0; i < RTMFP_FINGERPRINT_SIZE; i++) {
    gint hi, lo;

    /* stops at the terminating NUL: never reads past it */
    hi = g_ascii_xdigit_value (hex[2 * i]);
    if (hi < 0)
      return FALSE;
    lo = g_ascii_xdigit_value (hex[2 * i + 1]);
    if (lo < 0)
      return FALSE;
    tmp[i] = (guint8) ((hi << 4) | lo);
  }
  if (hex[2 * RTMFP_FINGERPRINT_SIZE] != '\0')
    return FALSE;
  memcpy (fp, tmp, RTMFP_FINGERPRINT_SIZE);
  return TRUE;
}

/* ---- local identity ---- */

struct _RtmfpIdentity
{
  gint ref_count;
  RtmfpIdentityKind kind;
  guint8 *cert;
  gsize cert_len;
  RtmfpCertInfo info;           /* points into cert */
  guint n_static;
  RtmfpDH *static_dh[RTMFP_CERT_MAX_GROUPS];
};

static const guint default_groups[] = { 14, 5, 2 };

/* Supported groups from the caller's list, deduplicated, in order; the
 * default list if none were given. */
static guint
usable_groups (const guint * groups, guint n_groups,
    guint out[RTMFP_CERT_MAX_GROUPS])
{
  guint i, j, n = 0;

  if (groups == NULL || n_groups == 0) {
    groups = default_groups;
    n_groups = G_N_ELEMENTS (default_groups);
  }
  for (i = 0; i < n_groups && n < RTMFP_CERT_MAX_GROUPS; i++) {
    gboolean dup = FALSE;

    if (!rtmfp_dh_group_supported (groups[i]))
      continue;
    for (j = 0; j < n; j++)
      dup |= out[j] == groups[i];
    if (!dup)
      out[n++] = groups[i];
  }
  return n;
}

static void
append_extra_randomness (GByteArray * cert, gsize len)
{
  guint8 rnd[CERT_EXTRA_RANDOMNESS];

  g_assert (len <= sizeof (rnd));
  rtmfp_random_bytes (rnd, len);
  rtmfp_option_append (cert, RTMFP_CERT_OPT_EXTRA_RANDOMNESS, rnd, len);
}

static RtmfpIdentity *
identity_finish (RtmfpIdentity * id, RtmfpIdentityKind kind,
    GByteArray * cert)
{
  id->ref_count = 1;
  id->kind = kind;
  id->cert_len = cert->len;
  id->cert = g_byte_array_free (cert, FALSE);
  if (!rtmfp_cert_parse (id->cert, id->cert_len, &id->info))
    g_assert_not_reached ();
  return id;
}

/* 4.3.3.5: a Static DH Public Key option (VLU group + key) */
static void
append_static_key (GByteArray * cert, const RtmfpDH * dh)
{
  GByteArray *val = g_byte_array_new ();
  const guint8 *pub;
  gsize pub_len;

  pub = rtmfp_dh_get_public_key (dh, &pub_len);
  rtmfp_vlu_append (val, rtmfp_dh_get_group (dh));
  g_byte_array_append (val, pub, pub_len);
  rtmfp_option_append (cert, RTMFP_CERT_OPT_STATIC_DH_KEY, val->data,
      val->len);
  g_byte_array_unref (val);
}

RtmfpIdentity *
rtmfp_identity_new_static (const guint * groups, guint n_groups)
{
  guint use[RTMFP_CERT_MAX_GROUPS];
  guint n = usable_groups (groups, n_groups, use);
  RtmfpIdentity *id;
  GByteArray *cert;
  guint i;

  if (n == 0)
    return NULL;

  id = g_new0 (RtmfpIdentity, 1);
  cert = g_byte_array_new ();
  /* 4.3.3.5: one Static DH Public Key per group */
  for (i = 0; i < n; i++) {
    id->static_dh[i] = rtmfp_dh_new (use[i]);
    append_static_key (cert, id->static_dh[i]);
  }
  id->n_static = n;
  /* in the canonical section, so that every identity is a new peer ID
   * (5.3) whatever the keys */
  append_extra_randomness (cert, CERT_EXTRA_RANDOMNESS);
  return identity_finish (id, RTMFP_IDENTITY_CLIENT, cert);
}

RtmfpIdentity *
rtmfp_identity_new_flash (void)
{
  RtmfpIdentity *id = g_new0 (RtmfpIdentity, 1);
  GByteArray *cert = g_byte_array_new ();

  /* exactly what Flash Player sends (the capture in test-vectors.txt):
   * 81 02 1d 02 <128-byte key>, nothing else.  A fresh key makes a fresh
   * peer ID (5.3) without Extra Randomness. */
  id->static_dh[0] = rtmfp_dh_new (FLASH_GROUP);
  id->n_static = 1;
  append_static_key (cert, id->static_dh[0]);
  return identity_finish (id, RTMFP_IDENTITY_FLASH, cert);
}

gboolean
rtmfp_cert_is_flash_shaped (const guint8 * cert, gsize len)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  guint64 group;
  gsize n;

  if (cert == NULL)
    return FALSE;
  /* one option, a Static DH Public Key in group 2 with a key of the
   * group's size, and nothing after it: fields at Flash's positions */
  rtmfp_option_iter_init (&it, cert, len);
  if (!rtmfp_option_iter_next (&it, &opt, &marker) || marker ||
      opt.type != RTMFP_CERT_OPT_STATIC_DH_KEY)
    return FALSE;
  if (!rtmfp_vlu_decode (opt.value, opt.len, &group, &n) || n != 1 ||
      group != FLASH_GROUP || opt.len - n != rtmfp_dh_group_size (FLASH_GROUP))
    return FALSE;
  return it.r.pos == len;
}

RtmfpIdentity *
rtmfp_identity_new_server_static_take_keys (RtmfpDH ** keys, guint n_keys)
{
  RtmfpIdentity *id;
  GByteArray *cert;
  guint i, j;

  g_return_val_if_fail (keys != NULL || n_keys == 0, NULL);

  for (i = 0; i < n_keys; i++) {
    gboolean bad = keys[i] == NULL || n_keys > RTMFP_CERT_MAX_GROUPS;

    for (j = 0; j < i && !bad; j++)
      bad = rtmfp_dh_get_group (keys[j]) == rtmfp_dh_get_group (keys[i]);
    if (bad) {
      for (j = 0; j < n_keys; j++)
        rtmfp_dh_free (keys[j]);
      return NULL;
    }
  }
  if (n_keys == 0)
    return NULL;

  id = g_new0 (RtmfpIdentity, 1);
  cert = g_byte_array_new ();
  /* 4.3.3.2: servers accept URI EPDs.  No Extra Randomness: the keys make
   * the certificate unique, and the same keys give the same certificate,
   * so the peer ID stays what users pinned. */
  rtmfp_option_append (cert, RTMFP_CERT_OPT_ACCEPTS_ANCILLARY, NULL, 0);
  for (i = 0; i < n_keys; i++) {
    id->static_dh[i] = keys[i];
    append_static_key (cert, keys[i]);
  }
  id->n_static = n_keys;
  return identity_finish (id, RTMFP_IDENTITY_SERVER_STATIC, cert);
}

RtmfpIdentity *
rtmfp_identity_new_server_static (const guint * groups, guint n_groups)
{
  guint use[RTMFP_CERT_MAX_GROUPS];
  guint n = usable_groups (groups, n_groups, use);
  RtmfpDH *keys[RTMFP_CERT_MAX_GROUPS];
  guint i;

  for (i = 0; i < n; i++)
    keys[i] = rtmfp_dh_new (use[i]);
  return rtmfp_identity_new_server_static_take_keys (keys, n);
}

RtmfpIdentity *
rtmfp_identity_new_ephemeral (const guint * groups, guint n_groups,
    const gchar * hostname, gboolean accepts_ancillary)
{
  guint use[RTMFP_CERT_MAX_GROUPS];
  guint n = usable_groups (groups, n_groups, use);
  RtmfpIdentity *id;
  GByteArray *cert;
  guint i;

  if (n == 0)
    return NULL;

  id = g_new0 (RtmfpIdentity, 1);
  cert = g_byte_array_new ();
  if (accepts_ancillary)
    rtmfp_option_append (cert, RTMFP_CERT_OPT_ACCEPTS_ANCILLARY, NULL, 0);
  if (hostname != NULL)
    rtmfp_option_append (cert, RTMFP_CERT_OPT_HOSTNAME,
        (const guint8 *) hostname, strlen (hostname));
  /* 4.3.3.3: gives the ephemeral certificate a unique fingerprint */
  append_extra_randomness (cert, SERVER_CERT_EXTRA_RANDOMNESS);
  for (i = 0; i < n; i++)
    rtmfp_option_append_vlu (cert, RTMFP_CERT_OPT_EPHEMERAL_GROUP, use[i]);
  return identity_finish (id, RTMFP_IDENTITY_EPHEMERAL, cert);
}

RtmfpIdentity *
rtmfp_identity_ref (RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);
  g_atomic_int_inc (&id->ref_count);
  return id;
}

void
rtmfp_identity_unref (RtmfpIdentity * id)
{
  guint i;

  if (id == NULL)
    return;
  if (!g_atomic_int_dec_and_test (&id->ref_count))
    return;
  for (i = 0; i < id->n_static; i++)
    rtmfp_dh_free (id->static_dh[i]);
  g_free (id->cert);
  g_free (id);
}

RtmfpIdentityKind
rtmfp_identity_get_kind (const RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, RTMFP_IDENTITY_EPHEMERAL);
  return id->kind;
}

guint
rtmfp_identity_get_n_static_keys (const RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, 0);
  return id->n_static;
}

const RtmfpDH *
rtmfp_identity_get_static_key (const RtmfpIdentity * id, guint index)
{
  g_return_val_if_fail (id != NULL, NULL);
  return index < id->n_static ? id->static_dh[index] : NULL;
}

const guint8 *
rtmfp_identity_get_certificate (const RtmfpIdentity * id, gsize * len)
{
  g_return_val_if_fail (id != NULL, NULL);
  if (len)
    *len = id->cert_len;
  return id->cert;
}

const RtmfpCertInfo *
rtmfp_identity_get_cert_info (const RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);
  return &id->info;
}

const guint8 *
rtmfp_identity_get_fingerprint (const RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);
  return id->info.fingerprint;
}

gchar *
rtmfp_identity_get_peer_id (const RtmfpIdentity * id)
{
  g_return_val_if_fail (id != NULL, NULL);
  return rtmfp_fingerprint_to_hex (id->info.fingerprint);
}

const RtmfpDH *
rtmfp_identity_get_static_dh (const RtmfpIdentity * id, guint group)
{
  guint i;

  g_return_val_if_fail (id != NULL, NULL);
  for (i = 0; i < id->n_static; i++)
    if (rtmfp_dh_get_group (id->static_dh[i]) == group)
      return id->static_dh[i];
  return NULL;
}
