/* gst-rtmfp fuzz target: certificates, endpoint discriminators and the
 * session keying handshake (RFC 7425 sections 4.3 - 4.6).
 *
 * Input: a configuration byte, then records split at "FUZZ":
 *   record 0  a far certificate (the initiator's, or the responder's)
 *   record 1  a far session keying component (SKIC, or SKRC)
 *   record 2  an endpoint discriminator
 * Every record is also tried as the other kinds.  The keying runs as a
 * responder (our identity fixed, the far certificate + SKIC from the
 * input) and as an initiator (SKIC built for the far certificate, then
 * the SKRC from the input); either fails cleanly with an error set, or
 * succeeds with usable keys.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfpcrypto.h"
#include "rtmfpvlu.h"

/* Our identities, made once: a server (ephemeral keys, accepts URI EPDs,
 * a hostname), and a client (static group 2 key, the Flash Player
 * style).  Group 2 keeps the modular exponentiations cheap. */
static RtmfpIdentity *server_id;
static RtmfpIdentity *server_id_14;
static RtmfpIdentity *client_id;
static gboolean verbose;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const guint g2[] = { 2 };
  static const guint g14_2[] = { 14, 2 };

  fuzz_init ();
  server_id = rtmfp_identity_new_ephemeral (g2, 1, "fuzz.example", TRUE);
  server_id_14 = rtmfp_identity_new_ephemeral (g14_2, 2, NULL, FALSE);
  client_id = rtmfp_identity_new_static (g2, 1);
  FUZZ_CHECK (server_id && server_id_14 && client_id);
  verbose = g_getenv ("FUZZ_VERBOSE") != NULL;
  return 0;
}

static gboolean
within (const guint8 * p, gsize len, const guint8 * base, gsize base_len)
{
  return p >= base && len <= base_len && p - base <= (gssize) (base_len - len);
}

static gboolean
check_cert (const guint8 * cert, gsize len, RtmfpCertInfo * info)
{
  guint8 epd[RTMFP_CANONICAL_EPD_SIZE];
  RtmfpEpdInfo e;
  gchar *hex;
  guint8 fp[RTMFP_FINGERPRINT_SIZE];
  guint i;

  if (!rtmfp_cert_parse (cert, len, info))
    return FALSE;

  FUZZ_CHECK (info->n_ephemeral_groups <= RTMFP_CERT_MAX_GROUPS);
  FUZZ_CHECK (info->n_static_keys <= RTMFP_CERT_MAX_GROUPS);
  /* 4.3.3.4 / 4.3.3.5: never both */
  FUZZ_CHECK (info->n_ephemeral_groups == 0 || info->n_static_keys == 0);
  if (info->hostname)
    FUZZ_CHECK (within (info->hostname, info->hostname_len, cert, len));
  for (i = 0; i < info->n_static_keys; i++) {
    FUZZ_CHECK (info->static_keys[i].len > 0);
    FUZZ_CHECK (within (info->static_keys[i].key, info->static_keys[i].len,
            cert, len));
  }

  /* 4.4.4: the canonical EPD selects the certificate it came from */
  rtmfp_epd_canonical (info->fingerprint, epd);
  FUZZ_CHECK (rtmfp_epd_parse (epd, sizeof (epd), &e));
  FUZZ_CHECK (e.has_fingerprint);
  FUZZ_CHECK (rtmfp_epd_selects (&e, info));
  /* and no other: a fingerprint EPD selects by fingerprint alone */
  FUZZ_CHECK (rtmfp_epd_selects (&e, rtmfp_identity_get_cert_info
          (client_id)) == (memcmp (info->fingerprint,
              rtmfp_identity_get_fingerprint (client_id),
              RTMFP_FINGERPRINT_SIZE) == 0));

  hex = rtmfp_fingerprint_to_hex (info->fingerprint);
  FUZZ_CHECK (strlen (hex) == 2 * RTMFP_FINGERPRINT_SIZE);
  FUZZ_CHECK (rtmfp_fingerprint_from_hex (hex, fp));
  FUZZ_CHECK (memcmp (fp, info->fingerprint, sizeof (fp)) == 0);
  g_free (hex);
  return TRUE;
}

static gboolean
check_epd (const guint8 * epd, gsize len, RtmfpEpdInfo * e)
{
  if (!rtmfp_epd_parse (epd, len, e))
    return FALSE;
  FUZZ_CHECK (e->has_fingerprint || e->hostname || e->ancillary);
  if (e->hostname)
    FUZZ_CHECK (within (e->hostname, e->hostname_len, epd, len));
  if (e->ancillary)
    FUZZ_CHECK (within (e->ancillary, e->ancillary_len, epd, len));
  /* selection against our identities never crashes; a fingerprint EPD
   * selects exactly the matching identity */
  if (e->has_fingerprint)
    FUZZ_CHECK (rtmfp_epd_selects (e, rtmfp_identity_get_cert_info
            (server_id)) == (memcmp (e->fingerprint,
                rtmfp_identity_get_fingerprint (server_id),
                RTMFP_FINGERPRINT_SIZE) == 0));
  else
    rtmfp_epd_selects (e, rtmfp_identity_get_cert_info (server_id));
  rtmfp_epd_selects (e, rtmfp_identity_get_cert_info (client_id));
  return TRUE;
}

static void
check_keys (const RtmfpKeying * k)
{
  RtmfpSessionKeys keys;

  FUZZ_CHECK (rtmfp_keying_get_keys (k, &keys));
  FUZZ_CHECK (keys.hmac_send_len <= RTMFP_SHA256_SIZE);
  FUZZ_CHECK (keys.hmac_recv_len <= RTMFP_SHA256_SIZE);
  /* 4.6.4: 0 (checksum) or at least 4 bytes */
  FUZZ_CHECK (keys.hmac_send_len == 0 || keys.hmac_send_len >= 4);
  FUZZ_CHECK (keys.hmac_recv_len == 0 || keys.hmac_recv_len >= 4);
  /* the keys make a working cipher */
  {
    RtmfpCipher *c = rtmfp_cipher_new (&keys);
    guint8 dgram[64];

    FUZZ_CHECK (c != NULL);
    FUZZ_CHECK (rtmfp_cipher_encode (c, 7, (const guint8 *) "\x0d", 1,
            dgram, sizeof (dgram)) > 0);
    rtmfp_cipher_free (c);
  }
}

static void
responder (RtmfpIdentity * near, const guint8 * cert, gsize cert_len,
    const guint8 * skic, gsize skic_len, const RtmfpCryptoConfig * cfg)
{
  GError *err = NULL;
  RtmfpKeying *k;

  k = rtmfp_keying_new_responder (near, cert, cert_len, skic, skic_len, cfg,
      &err);
  if (k == NULL) {
    FUZZ_CHECK (err != NULL && err->domain == RTMFP_CRYPTO_ERROR);
    if (verbose)
      fprintf (stderr, "responder: %s\n", err->message);
    g_error_free (err);
    return;
  }
  FUZZ_CHECK (err == NULL);
  if (verbose)
    fprintf (stderr, "responder: keyed\n");
  {
    gsize n = 0;

    FUZZ_CHECK (rtmfp_keying_get_near_component (k, &n) != NULL && n > 0);
  }
  check_keys (k);
  rtmfp_keying_free (k);
}

static void
initiator (RtmfpIdentity * near, const guint8 * cert, gsize cert_len,
    const guint8 * skrc, gsize skrc_len, const RtmfpCryptoConfig * cfg)
{
  GError *err = NULL;
  RtmfpKeying *k;
  RtmfpSessionKeys keys;
  gsize n = 0;

  k = rtmfp_keying_new_initiator (near, cert, cert_len, cfg, &err);
  if (k == NULL) {
    FUZZ_CHECK (err != NULL && err->domain == RTMFP_CRYPTO_ERROR);
    g_error_free (err);
    return;
  }
  FUZZ_CHECK (err == NULL);
  FUZZ_CHECK (rtmfp_keying_get_near_component (k, &n) != NULL && n > 0);
  FUZZ_CHECK (!rtmfp_keying_get_keys (k, &keys));
  if (rtmfp_keying_set_far_component (k, skrc, skrc_len, &err)) {
    FUZZ_CHECK (err == NULL);
    if (verbose)
      fprintf (stderr, "initiator: keyed\n");
    check_keys (k);
  } else {
    FUZZ_CHECK (err != NULL && err->domain == RTMFP_CRYPTO_ERROR);
    if (verbose)
      fprintf (stderr, "initiator: %s\n", err->message);
    g_clear_error (&err);
    FUZZ_CHECK (!rtmfp_keying_get_keys (k, &keys));
  }
  rtmfp_keying_free (k);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  const guint8 *rec[3] = { NULL, NULL, NULL };
  gsize len[3] = { 0, 0, 0 };
  guint8 *copy[3];
  RtmfpCertInfo info;
  RtmfpEpdInfo e;
  RtmfpCryptoConfig cfg;
  FuzzSplit sp;
  guint i, n = 0;
  gint c1, c2;
  guint8 config = fuzz_take_u8 (&data, &size);

  fuzz_split_init (&sp, data, size);
  while (n < 3 && fuzz_split_next (&sp, &rec[n], &len[n]))
    n++;
  for (i = 0; i < 3; i++)
    copy[i] = fuzz_dup (rec[i], len[i]);

  /* certificates, EPDs: every record as each */
  for (i = 0; i < 3; i++) {
    check_cert (copy[i], len[i], &info);
    check_epd (copy[i], len[i], &e);
  }
  if (check_cert (copy[0], len[0], &info) && check_epd (copy[2], len[2], &e))
    rtmfp_epd_selects (&e, &info);

  /* 4.3.6 glare order is a total order; 4.3.7 override is equality */
  c1 = rtmfp_cert_compare (copy[0], len[0], copy[2], len[2]);
  c2 = rtmfp_cert_compare (copy[2], len[2], copy[0], len[0]);
  FUZZ_CHECK (c1 == -c2);
  FUZZ_CHECK (rtmfp_cert_overrides (copy[0], len[0], copy[2], len[2]) ==
      (c1 == 0));
  FUZZ_CHECK (rtmfp_cert_compare (copy[1], len[1], copy[1], len[1]) == 0);

  {
    gchar *str = g_strndup ((const gchar *) copy[2], len[2]);
    guint8 fp[RTMFP_FINGERPRINT_SIZE];

    if (rtmfp_fingerprint_from_hex (str, fp)) {
      gchar *hex = rtmfp_fingerprint_to_hex (fp);

      FUZZ_CHECK (g_ascii_strcasecmp (hex, str) == 0);
      g_free (hex);
    }
    g_free (str);
  }

  /* keying, with a configuration from the first byte */
  rtmfp_crypto_config_init (&cfg);
  cfg.require_hmac = (config & 0x01) != 0;
  cfg.require_sseq = (config & 0x02) != 0;
  cfg.hmac_flags = (config >> 2) & 0x07;
  cfg.sseq_flags = (config >> 5) & 0x07;
  cfg.hmac_len = 4 + (config % 29);
  if (config & 0x80) {
    cfg.n_groups = 1;
    cfg.groups[0] = 2;
  }

  responder ((config & 0x40) ? server_id_14 : server_id, copy[0], len[0],
      copy[1], len[1], &cfg);
  /* a client answering a direct (P2P) session opened to it */
  responder (client_id, copy[0], len[0], copy[1], len[1], &cfg);
  initiator (client_id, copy[0], len[0], copy[1], len[1], &cfg);
  /* with the defaults (no configuration) too */
  if (config & 0x10)
    initiator (server_id, copy[0], len[0], copy[1], len[1], NULL);

  for (i = 0; i < 3; i++)
    free (copy[i]);
  return 0;
}
