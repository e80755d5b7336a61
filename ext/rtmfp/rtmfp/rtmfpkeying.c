/* RTMFP core: RFC 7425 session keying components and key computation
 * (4.5, 4.6).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-keying"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmfpcrypto.h"
#include "rtmfpvlu.h"

/* 4.5.2.2: 16..64 bytes recommended */
#define SKC_EXTRA_RANDOMNESS 32
#define HMAC_LEN_MIN 4
#define HMAC_LEN_MAX 32
#define NEG_MASK (RTMFP_NEG_SND | RTMFP_NEG_SOR | RTMFP_NEG_REQ)

void
rtmfp_crypto_config_init (RtmfpCryptoConfig * cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof (*cfg));
  cfg->hmac_flags = RTMFP_NEG_SOR | RTMFP_NEG_REQ;
  cfg->hmac_len = 16;
  cfg->sseq_flags = RTMFP_NEG_SOR | RTMFP_NEG_REQ;
  cfg->require_hmac = FALSE;
  cfg->require_sseq = FALSE;
  cfg->n_groups = 3;
  cfg->groups[0] = 14;
  cfg->groups[1] = 5;
  cfg->groups[2] = 2;
}

/* ---- key derivation (4.6.3 - 4.6.5) ---- */

void
rtmfp_derive_keys (const guint8 * dh_secret, gsize secret_len,
    const guint8 * sknc, gsize sknc_len, const guint8 * skfc, gsize skfc_len,
    RtmfpSessionKeys * out)
{
  guint8 inner[RTMFP_SHA256_SIZE];

  g_return_if_fail (dh_secret != NULL || secret_len == 0);
  g_return_if_fail (sknc != NULL || sknc_len == 0);
  g_return_if_fail (skfc != NULL || skfc_len == 0);
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof (*out));

  /* ENCRYPT_KEY = HMAC-SHA256(DH_SECRET, HMAC-SHA256(SKFC, SKNC)) */
  rtmfp_hmac_sha256 (skfc, skfc_len, sknc, sknc_len, inner);
  rtmfp_hmac_sha256 (dh_secret, secret_len, inner, sizeof (inner),
      out->encrypt_key);
  /* DECRYPT_KEY = HMAC-SHA256(DH_SECRET, HMAC-SHA256(SKNC, SKFC)) */
  rtmfp_hmac_sha256 (sknc, sknc_len, skfc, skfc_len, inner);
  rtmfp_hmac_sha256 (dh_secret, secret_len, inner, sizeof (inner),
      out->decrypt_key);
  /* HMAC_SEND_KEY / HMAC_RECV_KEY over the full 256-bit keys */
  rtmfp_hmac_sha256 (dh_secret, secret_len, out->encrypt_key,
      RTMFP_SHA256_SIZE, out->hmac_send_key);
  rtmfp_hmac_sha256 (dh_secret, secret_len, out->decrypt_key,
      RTMFP_SHA256_SIZE, out->hmac_recv_key);
  /* nonces */
  rtmfp_hmac_sha256 (dh_secret, secret_len, sknc, sknc_len, out->near_nonce);
  rtmfp_hmac_sha256 (dh_secret, secret_len, skfc, skfc_len, out->far_nonce);

  memset (inner, 0, sizeof (inner));
}

/* ---- signatures (4.3.5) ---- */

void
rtmfp_signature_append_none (GByteArray * out)
{
  g_return_if_fail (out != NULL);
  /* "no signature" as a UTF-8 capital X */
  rtmfp_append_u8 (out, 0x58);
}

/* ---- keying components (4.5) ---- */

typedef struct
{
  gboolean has_eph;
  guint64 eph_group;
  const guint8 *eph_key;
  gsize eph_len;
  gboolean has_select;
  guint64 select_group;
  gboolean has_hmac;
  guint8 hmac_flags;
  guint64 hmac_len;
  gboolean has_sseq;
  guint8 sseq_flags;
} Component;

static gboolean
parse_component (const guint8 * data, gsize len, Component * c,
    GError ** error)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;

  memset (c, 0, sizeof (*c));
  if (data == NULL && len > 0)
    goto malformed;

  rtmfp_option_iter_init (&it, data, len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    gsize n;

    if (marker)
      continue;
    switch (opt.type) {
      case RTMFP_SKC_OPT_EPHEMERAL_DH_KEY:
        /* 4.5.2.1: VLU group + key, at most once */
        if (c->has_eph)
          goto malformed;
        if (!rtmfp_vlu_decode (opt.value, opt.len, &c->eph_group, &n) ||
            n >= opt.len)
          goto malformed;
        c->has_eph = TRUE;
        c->eph_key = opt.value + n;
        c->eph_len = opt.len - n;
        break;
      case RTMFP_SKC_OPT_DH_GROUP_SELECT:
        /* 4.5.2.3: at most once */
        if (c->has_select)
          goto malformed;
        if (!rtmfp_vlu_decode (opt.value, opt.len, &c->select_group, &n))
          goto malformed;
        c->has_select = TRUE;
        break;
      case RTMFP_SKC_OPT_HMAC_NEGOTIATION:
        /* 4.5.2.4: flags byte + VLU hmacLength */
        if (c->has_hmac || opt.len < 2)
          goto malformed;
        if (!rtmfp_vlu_decode (opt.value + 1, opt.len - 1, &c->hmac_len, &n))
          goto malformed;
        c->has_hmac = TRUE;
        c->hmac_flags = opt.value[0] & NEG_MASK;        /* rsv ignored */
        break;
      case RTMFP_SKC_OPT_SSEQ_NEGOTIATION:
        /* 4.5.2.5: flags byte */
        if (c->has_sseq || opt.len < 1)
          goto malformed;
        c->has_sseq = TRUE;
        c->sseq_flags = opt.value[0] & NEG_MASK;
        break;
      default:
        /* Extra Randomness only salts the keys; unknown types MUST be
         * ignored (4.5.2) */
        break;
    }
  }
  if (it.malformed)
    goto malformed;
  return TRUE;

malformed:
  g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
      "malformed session keying component");
  return FALSE;
}

struct _RtmfpKeying
{
  gboolean initiator;
  RtmfpIdentity *near;
  RtmfpCryptoConfig cfg;

  guint8 *far_cert;
  gsize far_cert_len;
  RtmfpCertInfo far_info;       /* points into far_cert */

  guint group;
  RtmfpDH *ephemeral;           /* our ephemeral key, if we use one */
  const RtmfpDH *near_dh;       /* ephemeral or the identity's static key */

  GByteArray *near_comp;
  guint8 *far_comp;
  gsize far_comp_len;

  gboolean keyed;
  RtmfpSessionKeys keys;
};

static void
config_load (RtmfpKeying * k, const RtmfpCryptoConfig * cfg)
{
  if (cfg != NULL)
    k->cfg = *cfg;
  else
    rtmfp_crypto_config_init (&k->cfg);

  k->cfg.hmac_flags &= NEG_MASK;
  k->cfg.sseq_flags &= NEG_MASK;
  /* requiring something means asking for it */
  if (k->cfg.require_hmac)
    k->cfg.hmac_flags |= RTMFP_NEG_REQ;
  if (k->cfg.require_sseq)
    k->cfg.sseq_flags |= RTMFP_NEG_REQ;
  k->cfg.hmac_len = CLAMP (k->cfg.hmac_len, HMAC_LEN_MIN, HMAC_LEN_MAX);
  if (k->cfg.n_groups > RTMFP_CERT_MAX_GROUPS)
    k->cfg.n_groups = RTMFP_CERT_MAX_GROUPS;
}

static RtmfpKeying *
keying_alloc (RtmfpIdentity * near, const guint8 * far_cert,
    gsize far_cert_len, const RtmfpCryptoConfig * cfg, GError ** error)
{
  RtmfpKeying *k;

  if (far_cert == NULL && far_cert_len > 0) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "no far certificate");
    return NULL;
  }

  k = g_new0 (RtmfpKeying, 1);
  k->near = rtmfp_identity_ref (near);
  config_load (k, cfg);
  k->far_cert = g_memdup2 (far_cert, far_cert_len);
  k->far_cert_len = far_cert_len;
  k->near_comp = g_byte_array_new ();

  if (!rtmfp_cert_parse (k->far_cert, k->far_cert_len, &k->far_info)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "malformed far certificate");
    rtmfp_keying_free (k);
    return NULL;
  }
  return k;
}

void
rtmfp_keying_free (RtmfpKeying * k)
{
  if (k == NULL)
    return;
  rtmfp_identity_unref (k->near);
  g_free (k->far_cert);
  rtmfp_dh_free (k->ephemeral);
  g_byte_array_unref (k->near_comp);
  g_free (k->far_comp);
  memset (&k->keys, 0, sizeof (k->keys));
  g_free (k);
}

static gboolean
cert_is_static (const RtmfpCertInfo * info)
{
  return info->n_static_keys > 0;
}

static const guint8 *
cert_static_key (const RtmfpCertInfo * info, guint64 group, gsize * len)
{
  guint i;

  for (i = 0; i < info->n_static_keys; i++) {
    if (info->static_keys[i].group == group) {
      *len = info->static_keys[i].len;
      return info->static_keys[i].key;
    }
  }
  return NULL;
}

static gboolean
cert_lists_group (const RtmfpCertInfo * info, guint64 group)
{
  guint i;

  for (i = 0; i < info->n_ephemeral_groups; i++)
    if (info->ephemeral_groups[i] == group)
      return TRUE;
  return FALSE;
}

/* Can a certificate's holder do DH in group (4.6.1)? */
static gboolean
cert_supports_group (const RtmfpCertInfo * info, guint64 group)
{
  gsize len = 0;

  if (cert_is_static (info))
    return cert_static_key (info, group, &len) != NULL;
  return cert_lists_group (info, group);
}

/* Our side of the DH in k->group: the identity's static key, or a fresh
 * ephemeral one. */
static void
setup_near_dh (RtmfpKeying * k)
{
  const RtmfpCertInfo *near = rtmfp_identity_get_cert_info (k->near);

  if (cert_is_static (near)) {
    k->near_dh = rtmfp_identity_get_static_dh (k->near, k->group);
  } else {
    k->ephemeral = rtmfp_dh_new (k->group);
    k->near_dh = k->ephemeral;
  }
  g_assert (k->near_dh != NULL);
}

static void
append_ephemeral_key (GByteArray * out, const RtmfpDH * dh)
{
  GByteArray *val = g_byte_array_new ();
  const guint8 *pub;
  gsize pub_len;

  pub = rtmfp_dh_get_public_key (dh, &pub_len);
  rtmfp_vlu_append (val, rtmfp_dh_get_group (dh));
  g_byte_array_append (val, pub, pub_len);
  rtmfp_option_append (out, RTMFP_SKC_OPT_EPHEMERAL_DH_KEY, val->data,
      val->len);
  g_byte_array_unref (val);
}

static void
append_extra_randomness (GByteArray * out)
{
  guint8 rnd[SKC_EXTRA_RANDOMNESS];

  rtmfp_random_bytes (rnd, sizeof (rnd));
  rtmfp_option_append (out, RTMFP_SKC_OPT_EXTRA_RANDOMNESS, rnd, sizeof (rnd));
}

/* HMAC (4.5.2.4) and SSEQ (4.5.2.5) negotiation options */
static void
append_negotiation (GByteArray * out, const RtmfpCryptoConfig * cfg)
{
  guint8 val[1 + RTMFP_VLU_MAX_SIZE];
  gsize n;
  /* hmacLength is 0 iff neither SND nor SOR */
  guint hlen = (cfg->hmac_flags & (RTMFP_NEG_SND | RTMFP_NEG_SOR)) ?
      cfg->hmac_len : 0;

  val[0] = cfg->hmac_flags;
  n = rtmfp_vlu_encode (hlen, val + 1);
  rtmfp_option_append (out, RTMFP_SKC_OPT_HMAC_NEGOTIATION, val, 1 + n);
  val[0] = cfg->sseq_flags;
  rtmfp_option_append (out, RTMFP_SKC_OPT_SSEQ_NEGOTIATION, val, 1);
}

/* Does a side with flags `mine` send, given the other side's `theirs`?
 * (4.6.4, 4.6.6) */
static gboolean
neg_sends (guint8 mine, guint8 theirs)
{
  return (mine & RTMFP_NEG_SND) ||
      ((mine & RTMFP_NEG_SOR) && (theirs & RTMFP_NEG_REQ));
}

static gboolean
negotiate (RtmfpKeying * k, const Component * far, RtmfpSessionKeys * keys,
    GError ** error)
{
  guint8 far_h = far->has_hmac ? far->hmac_flags : 0;
  guint8 far_s = far->has_sseq ? far->sseq_flags : 0;
  gboolean far_hmac = neg_sends (far_h, k->cfg.hmac_flags);
  gboolean far_sseq = neg_sends (far_s, k->cfg.sseq_flags);

  if ((far_h & (RTMFP_NEG_SND | RTMFP_NEG_SOR)) &&
      (far->hmac_len < HMAC_LEN_MIN || far->hmac_len > HMAC_LEN_MAX)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "HMAC length %" G_GUINT64_FORMAT " out of range", far->hmac_len);
    return FALSE;
  }
  if (k->cfg.require_hmac && !far_hmac) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_NEGOTIATION,
        "far end will not send an HMAC");
    return FALSE;
  }
  if (k->cfg.require_sseq && !far_sseq) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_NEGOTIATION,
        "far end will not send session sequence numbers");
    return FALSE;
  }

  keys->hmac_send_len = neg_sends (k->cfg.hmac_flags, far_h) ?
      k->cfg.hmac_len : 0;
  keys->hmac_recv_len = far_hmac ? (guint) far->hmac_len : 0;
  keys->sseq_send = neg_sends (k->cfg.sseq_flags, far_s);
  keys->sseq_recv = far_sseq;
  return TRUE;
}

static gboolean
check_public_key (guint group, const guint8 * key, gsize len, GError ** error)
{
  if (!rtmfp_dh_public_key_is_valid (group, key, len)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY,
        "unacceptable DH public key (4.6.2)");
    return FALSE;
  }
  return TRUE;
}

/* Final step for both roles: DH secret, key derivation, negotiated
 * settings. */
static gboolean
finish_keys (RtmfpKeying * k, const guint8 * far_key, gsize far_key_len,
    const Component * far, const guint8 * skfc, gsize skfc_len,
    GError ** error)
{
  RtmfpSessionKeys keys, neg;
  GBytes *secret;
  const guint8 *s;
  gsize s_len;

  memset (&neg, 0, sizeof (neg));
  if (!negotiate (k, far, &neg, error))
    return FALSE;

  secret = rtmfp_dh_compute_secret (k->near_dh, far_key, far_key_len);
  if (secret == NULL) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY,
        "unacceptable DH public key (4.6.2)");
    return FALSE;
  }
  s = g_bytes_get_data (secret, &s_len);
  rtmfp_derive_keys (s, s_len, k->near_comp->data, k->near_comp->len,
      skfc, skfc_len, &keys);
  g_bytes_unref (secret);

  keys.hmac_send_len = neg.hmac_send_len;
  keys.hmac_recv_len = neg.hmac_recv_len;
  keys.sseq_send = neg.sseq_send;
  keys.sseq_recv = neg.sseq_recv;
  k->keys = keys;
  memset (&keys, 0, sizeof (keys));

  g_free (k->far_comp);
  k->far_comp = g_memdup2 (skfc, skfc_len);
  k->far_comp_len = skfc_len;
  k->keyed = TRUE;

  g_debug ("keyed (%s) group %u: HMAC send %u recv %u, SSEQ send %d recv %d",
      k->initiator ? "initiator" : "responder", k->group,
      k->keys.hmac_send_len, k->keys.hmac_recv_len, k->keys.sseq_send,
      k->keys.sseq_recv);
  return TRUE;
}

RtmfpKeying *
rtmfp_keying_new_initiator (RtmfpIdentity * near, const guint8 * far_cert,
    gsize far_cert_len, const RtmfpCryptoConfig * cfg, GError ** error)
{
  const RtmfpCertInfo *near_info;
  RtmfpKeying *k;
  guint i;
  gboolean found = FALSE;

  g_return_val_if_fail (near != NULL, NULL);

  k = keying_alloc (near, far_cert, far_cert_len, cfg, error);
  if (k == NULL)
    return NULL;
  k->initiator = TRUE;
  near_info = rtmfp_identity_get_cert_info (near);

  /* 4.6.1: the first of our preferred groups that both ends support */
  for (i = 0; i < k->cfg.n_groups && !found; i++) {
    guint g = k->cfg.groups[i];

    if (rtmfp_dh_group_supported (g) && cert_supports_group (near_info, g) &&
        cert_supports_group (&k->far_info, g)) {
      k->group = g;
      found = TRUE;
    }
  }
  if (!found) {
    g_set_error (error, RTMFP_CRYPTO_ERROR,
        RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP, "no common DH group");
    rtmfp_keying_free (k);
    return NULL;
  }

  if (cert_is_static (&k->far_info)) {
    gsize len = 0;
    const guint8 *key = cert_static_key (&k->far_info, k->group, &len);

    if (!check_public_key (k->group, key, len, error)) {
      rtmfp_keying_free (k);
      return NULL;
    }
  }

  setup_near_dh (k);

  /* SKIC */
  if (k->ephemeral != NULL) {
    /* 4.6.1.1 / 4.6.1.2: our ephemeral key picks the group */
    append_ephemeral_key (k->near_comp, k->ephemeral);
  } else {
    /* 4.6.1.3 / 4.6.1.4: Group Select for our static key */
    rtmfp_option_append_vlu (k->near_comp, RTMFP_SKC_OPT_DH_GROUP_SELECT,
        k->group);
  }
  append_extra_randomness (k->near_comp);
  append_negotiation (k->near_comp, &k->cfg);
  return k;
}

RtmfpKeying *
rtmfp_keying_new_responder (RtmfpIdentity * near, const guint8 * far_cert,
    gsize far_cert_len, const guint8 * skic, gsize skic_len,
    const RtmfpCryptoConfig * cfg, GError ** error)
{
  const RtmfpCertInfo *near_info;
  RtmfpKeying *k;
  Component far;
  const guint8 *far_key;
  gsize far_key_len = 0;
  guint64 group;

  g_return_val_if_fail (near != NULL, NULL);

  k = keying_alloc (near, far_cert, far_cert_len, cfg, error);
  if (k == NULL)
    return NULL;
  k->initiator = FALSE;
  near_info = rtmfp_identity_get_cert_info (near);

  if (!parse_component (skic, skic_len, &far, error))
    goto fail;

  if (cert_is_static (&k->far_info)) {
    /* 4.6.1.3 / 4.6.1.4: Group Select, no ephemeral key (4.5.2.1) */
    if (!far.has_select || far.has_eph) {
      g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "static initiator must send only a DH Group Select");
      goto fail;
    }
    group = far.select_group;
    far_key = cert_static_key (&k->far_info, group, &far_key_len);
    if (far_key == NULL) {
      g_set_error (error, RTMFP_CRYPTO_ERROR,
          RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP,
          "initiator selected a group it has no static key for");
      goto fail;
    }
  } else {
    /* 4.6.1.1 / 4.6.1.2: ephemeral key, no Group Select (4.5.2.3) */
    if (!far.has_eph || far.has_select) {
      g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "ephemeral initiator must send only an ephemeral DH key");
      goto fail;
    }
    group = far.eph_group;
    far_key = far.eph_key;
    far_key_len = far.eph_len;
  }

  if (group > G_MAXUINT || !rtmfp_dh_group_supported ((guint) group) ||
      !cert_supports_group (near_info, group)) {
    g_set_error (error, RTMFP_CRYPTO_ERROR,
        RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP, "unsupported DH group %"
        G_GUINT64_FORMAT, group);
    goto fail;
  }
  k->group = (guint) group;

  if (!check_public_key (k->group, far_key, far_key_len, error))
    goto fail;

  setup_near_dh (k);

  /* SKRC */
  if (k->ephemeral != NULL)
    append_ephemeral_key (k->near_comp, k->ephemeral);
  append_extra_randomness (k->near_comp);
  append_negotiation (k->near_comp, &k->cfg);

  if (!finish_keys (k, far_key, far_key_len, &far, skic, skic_len, error))
    goto fail;
  return k;

fail:
  rtmfp_keying_free (k);
  return NULL;
}

const guint8 *
rtmfp_keying_get_near_component (const RtmfpKeying * k, gsize * len)
{
  g_return_val_if_fail (k != NULL, NULL);
  if (len)
    *len = k->near_comp->len;
  return k->near_comp->data;
}

gboolean
rtmfp_keying_set_far_component (RtmfpKeying * k, const guint8 * skrc,
    gsize skrc_len, GError ** error)
{
  Component far;
  const guint8 *far_key;
  gsize far_key_len = 0;

  g_return_val_if_fail (k != NULL, FALSE);

  if (!k->initiator) {
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "the responder has no far component to set");
    return FALSE;
  }
  if (k->keyed) {
    /* a retransmitted RIKeying: fine if it is the same one */
    if (skrc_len == k->far_comp_len &&
        (skrc_len == 0 || memcmp (skrc, k->far_comp, skrc_len) == 0))
      return TRUE;
    g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
        "already keyed with a different responder component");
    return FALSE;
  }

  if (!parse_component (skrc, skrc_len, &far, error))
    return FALSE;

  if (cert_is_static (&k->far_info)) {
    /* 4.6.1.2 / 4.6.1.4: the certificate's key; no ephemeral key */
    if (far.has_eph) {
      g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "static responder sent an ephemeral DH key");
      return FALSE;
    }
    far_key = cert_static_key (&k->far_info, k->group, &far_key_len);
    g_assert (far_key != NULL);
  } else {
    /* 4.6.1.1 / 4.6.1.3: ephemeral key in the group we chose */
    if (!far.has_eph) {
      g_set_error (error, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED,
          "ephemeral responder sent no DH key");
      return FALSE;
    }
    if (far.eph_group != k->group) {
      g_set_error (error, RTMFP_CRYPTO_ERROR,
          RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP,
          "responder answered in group %" G_GUINT64_FORMAT ", not %u",
          far.eph_group, k->group);
      return FALSE;
    }
    far_key = far.eph_key;
    far_key_len = far.eph_len;
  }

  if (!check_public_key (k->group, far_key, far_key_len, error))
    return FALSE;

  return finish_keys (k, far_key, far_key_len, &far, skrc, skrc_len, error);
}

gboolean
rtmfp_keying_get_keys (const RtmfpKeying * k, RtmfpSessionKeys * out)
{
  g_return_val_if_fail (k != NULL && out != NULL, FALSE);

  if (!k->keyed)
    return FALSE;
  *out = k->keys;
  return TRUE;
}
