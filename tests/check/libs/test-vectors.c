/* Known-answer tests of the RFC 7425 crypto profile against a real Flash
 * Player handshake (see /work/shared/spec/test-vectors.txt for provenance:
 * four datagrams of a public capture of Flash Player talking to
 * rtmfp://cc.rtmfp.net, APNIC-Labs/rtmfp-probe rtmfp.txt).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib.h>

#include "rtmfpcrypto.h"
#include "rtmfpvlu.h"
#include "testhex.h"

/* IHello: wire datagram = SSID || ciphertext */
static const gchar ihello_wire[] =
    "7ec60dab48a2a66b3664abc0af23e0c89634118f0d423863f988da53ac9c2f0b"
    "acbfb1238447bf5b9ff305faeb82f6d31eafee29";
static const gchar ihello_plain[] =
    "99f90b132d30002716150a72746d66703a2f2f63632e72746d66702e6e657412"
    "af718559bbeea27a125b08236c4318ff";

/* RHello: wire datagram = SSID || ciphertext */
static const gchar rhello_wire[] =
    "5058eeb6976d54b1c735ba077a6681cf62b4dd4ac87380cdbc7b27389d103c77"
    "5cc37804a971c3c4dbd7ef0c292072ec3ef11ecc619910583e7465f5b31aed1f"
    "646481798027825bf160904cec0829a6f0c29e34d3d0dd067c44730eb79713aa"
    "4fdaa83fda1538ef93f3f48850faa50787c29afb979670571e14d1f20f676321"
    "6740013a41ab9311899e4437e3a6a253aeb88857df19b7f0fd447566677a00d7"
    "63e5c40404f3894fdb534842655806f6c97317e4";
static const gchar rhello_plain[] =
    "f0bc0b374570009f1012af718559bbeea27a125b08236c4318409c24e20ce1cb"
    "9f51c3893104c9967e31f172e8b7965feb34e602360658678a549b98d438e192"
    "e4bbfd04d4ba9c64d0f847f67c8072004f0d9c3a87f03ef8e47a010a410e9b86"
    "82f1b1d8d72e184526241f19e194a6208f2d1e18ab7692d76ae3194300aec345"
    "b975df285830dc835f6f5ab9febff1cd42bce95f82f1384bfeea7e259a090215"
    "0202150502150effffffffffffffffff";

/* IIKeying: wire datagram = SSID || ciphertext */
static const gchar iikeying_wire[] =
    "24d163c310d26a8b340309480edf2a238938f2c43d76c6f4d4b86ff12fa9799f"
    "ba8c7dbde871b0643337ad3e2ece22af6683acc05b7a866b23ca6da092fdf3ac"
    "0a1df7665dcfd08264466d143d3fe925e63ea52965a632dba58d0cf36e6590d4"
    "392fe4c1ac962b8e47f9c340e2d971499f28c2483ed787bae2b9d0c57790880c"
    "cc5ab86c9e2ecc01053a763e16b67d6d35493e82cb9831027240f5b544095c26"
    "88aebdc8017ee6229e856796d640df1d2e8fdbac60a00cf6e6f805968f0f23e9"
    "322e5d34239ea6fc6b91beba9d3e00039694e47084afdd111e083d449b2ca01c"
    "04d2a155b9da5bc71188049d5cbfd7ec7f2ddbb8f7166d26e1f72b89cde81eed"
    "b88a93d24f631e41123e4a3efda90c2e6f0f6ed2cc8d9dd0754b866db1c33d24"
    "ad2821a4d80bd0910460caa79d3a7a785a0d6c19";
static const gchar iikeying_plain[] =
    "ac130b136838011902000000409c24e20ce1cb9f51c3893104c9967e31f172e8"
    "b7965feb34e602360658678a549b98d438e192e4bbfd04d4ba9c64d0f847f67c"
    "8072004f0d9c3a87f03ef8e47a810481021d0289f7ea812923cc71861b6e5aa4"
    "24a852c3922cc0d274412e827376f2759d21aa4a651402ecde2f0079986b7628"
    "8b101d8cd3a7369a874f7a8857b72f25b01d2e9c54d659929410079f3d0464bf"
    "e2375d1545714719863206858f2a9488dee587ede6fc4ebe53f4bfe2a588e182"
    "66c476962ec70eae4077a126b7c393355ea6e14c021d02410ebf536b12751ff5"
    "abefa374b5f0e871e945e542780a89c0d94954ab377b99458de85aa032f071ad"
    "b09194fddd44355d9565cc28f7140d91e224c611b13901c93d031a020a021e02"
    "58ffffffffffffffffffffffffffffff";

/* RIKeying: wire datagram = SSID || ciphertext */
static const gchar rikeying_wire[] =
    "7dfed0ffa3894cd3dc779c2c80c96bff51d010f42e180422a1a7c8b077242484"
    "b7317faa0263e86257aef72b19b7377f3c7161e6661b8d88cc6353b1368855a1"
    "71c8d6678a252c43da691bf739288e824e328b75daf1eeb6617feb06f0fdd963"
    "1afc8e27cad5d3eab99c0d696ecc0954b56602f14d08bfd8428c42e494864e29"
    "b9340975b4c591c5c51d7624e40f51b9cf3075172a606d47b68813cb03a93baa"
    "b0cbff16";
static const gchar rikeying_plain[] =
    "02960b378178009245020000810b031a0000021e0081020d02fab4f4b7c385b5"
    "e354b684cf11183337c36ca7a94840b9f3aa6b92fce6b34247f949b726dfe958"
    "2da75221291f122665e2ad07588ab22c8ec4536370fed43b2869343efa5fba82"
    "119e5dfe254d67ecd786382a9653aee65442c4c1a61ff075ea83435f8bd84d3b"
    "de4aa691bab92f50c6aeb435b2b152cd4bf1047e5ed15841db58ffffffffffff";


typedef struct
{
  const gchar *name;
  const gchar *wire_hex;
  const gchar *plain_hex;
  guint32 session_id;
  guint16 checksum;
  guint8 chunk_type;
} Vector;

static const Vector vectors[] = {
  {"IHello", ihello_wire, ihello_plain, 0x00000000, 0x99f9, 0x30},
  {"RHello", rhello_wire, rhello_plain, 0x00000000, 0xf0bc, 0x70},
  {"IIKeying", iikeying_wire, iikeying_plain, 0x00000000, 0xac13, 0x38},
  {"RIKeying", rikeying_wire, rikeying_plain, 0x02000000, 0x0296, 0x78},
};

/* The chunk payload of a plain packet whose flags are 0x0b (startup, one
 * timestamp): flags(1) timestamp(2) then type(1) length(2) payload. */
static const guint8 *
chunk_payload (const guint8 * pkt, gsize len, guint8 type, gsize * plen)
{
  gsize clen;

  g_assert_cmpuint (len, >=, 6);
  g_assert_cmphex (pkt[0], ==, 0x0b);
  g_assert_cmphex (pkt[3], ==, type);
  clen = (gsize) pkt[4] << 8 | pkt[5];
  g_assert_cmpuint (6 + clen, <=, len);
  *plen = clen;
  return pkt + 6;
}

static void
test_session_id_unscramble (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++) {
    GBytes *w = hex (vectors[i].wire_hex);
    gsize len;
    const guint8 *d = g_bytes_get_data (w, &len);

    g_assert_cmphex (rtmfp_session_id_unscramble (d, len), ==,
        vectors[i].session_id);
    g_bytes_unref (w);
  }
}

/* Default key decryption gives the published plaintexts; the checksum
 * field holds the published value, which our checksum reproduces. */
static void
test_default_decrypt (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++) {
    GBytes *w = hex (vectors[i].wire_hex);
    GBytes *p = hex (vectors[i].plain_hex);
    gsize wlen, plen, out_len = 0;
    const guint8 *wd = g_bytes_get_data (w, &wlen);
    const guint8 *pd = g_bytes_get_data (p, &plen);
    guint8 *out = g_malloc (wlen);
    RtmfpCipher *c = rtmfp_cipher_new_default ();

    g_test_message ("%s", vectors[i].name);
    g_assert_true (rtmfp_cipher_is_default (c));
    g_assert_cmphex ((pd[0] << 8) | pd[1], ==, vectors[i].checksum);
    g_assert_cmphex (rtmfp_checksum (pd + 2, plen - 2), ==,
        vectors[i].checksum);

    g_assert_true (rtmfp_cipher_decode (c, wd, wlen, out, &out_len));
    /* checksum removed, padding kept */
    g_assert_cmpmem (out, out_len, pd + 2, plen - 2);
    g_assert_cmphex (out[3], ==, vectors[i].chunk_type);

    /* the default key has no replay protection: decoding again works */
    g_assert_true (rtmfp_cipher_decode (c, wd, wlen, out, &out_len));

    rtmfp_cipher_free (c);
    g_free (out);
    g_bytes_unref (w);
    g_bytes_unref (p);
  }
}

/* Encrypting the plain packet (without its padding) with the default key
 * reproduces the Flash Player / server datagram bit for bit. */
static void
test_default_encrypt (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++) {
    GBytes *w = hex (vectors[i].wire_hex);
    GBytes *p = hex (vectors[i].plain_hex);
    gsize wlen, plen, pkt_len, n;
    const guint8 *wd = g_bytes_get_data (w, &wlen);
    const guint8 *pd = g_bytes_get_data (p, &plen);
    RtmfpCipher *c = rtmfp_cipher_new_default ();
    guint8 out[512];

    g_test_message ("%s", vectors[i].name);
    /* the packet proper: header(3) + chunk header(3) + chunk */
    pkt_len = 6 + ((gsize) pd[2 + 4] << 8 | pd[2 + 5]);
    g_assert_cmpuint (pkt_len, <, plen - 2);
    g_assert_cmpuint (rtmfp_cipher_overhead (c), >=, wlen - pkt_len);

    n = rtmfp_cipher_encode (c, vectors[i].session_id, pd + 2, pkt_len, out,
        sizeof (out));
    g_assert_cmpmem (out, n, wd, wlen);

    /* padded input (what we decoded) gives the same datagram */
    n = rtmfp_cipher_encode (c, vectors[i].session_id, pd + 2, plen - 2, out,
        sizeof (out));
    g_assert_cmpmem (out, n, wd, wlen);

    /* too small an output buffer */
    g_assert_cmpuint (rtmfp_cipher_encode (c, vectors[i].session_id, pd + 2,
            pkt_len, out, wlen - 1), ==, 0);

    rtmfp_cipher_free (c);
    g_bytes_unref (w);
    g_bytes_unref (p);
  }
}

static void
test_default_tampered (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++) {
    GBytes *w = hex (vectors[i].wire_hex);
    gsize wlen, out_len, pos;
    guint8 *d = g_bytes_unref_to_data (w, &wlen);
    guint8 *out = g_malloc (wlen + 16);
    RtmfpCipher *c = rtmfp_cipher_new_default ();

    /* flip one bit in each ciphertext block in turn: CBC garbles that
     * block and the next, and the checksum catches it */
    for (pos = 4; pos < wlen; pos += 16) {
      d[pos + 5] ^= 0x10;
      g_assert_false (rtmfp_cipher_decode (c, d, wlen, out, &out_len));
      d[pos + 5] ^= 0x10;
    }
    g_assert_true (rtmfp_cipher_decode (c, d, wlen, out, &out_len));

    /* not whole blocks */
    g_assert_false (rtmfp_cipher_decode (c, d, wlen - 1, out, &out_len));
    g_assert_false (rtmfp_cipher_decode (c, d, wlen - 15, out, &out_len));
    /* a block short: still whole blocks, but the checksum fails */
    g_assert_false (rtmfp_cipher_decode (c, d, wlen - 16, out, &out_len));
    /* SSID only, or less */
    g_assert_false (rtmfp_cipher_decode (c, d, 4, out, &out_len));
    g_assert_false (rtmfp_cipher_decode (c, d, 3, out, &out_len));
    g_assert_false (rtmfp_cipher_decode (c, d, 0, out, &out_len));

    rtmfp_cipher_free (c);
    g_free (out);
    g_free (d);
  }
}

/* Decrypts vector i into a newly allocated plain packet. */
static guint8 *
decrypt_vector (guint i, gsize * len)
{
  GBytes *w = hex (vectors[i].wire_hex);
  gsize wlen;
  const guint8 *wd = g_bytes_get_data (w, &wlen);
  guint8 *out = g_malloc (wlen);
  RtmfpCipher *c = rtmfp_cipher_new_default ();

  g_assert_true (rtmfp_cipher_decode (c, wd, wlen, out, len));
  rtmfp_cipher_free (c);
  g_bytes_unref (w);
  return out;
}

static void
read_vlu_bytes (RtmfpReader * r, const guint8 ** b, gsize * n)
{
  g_assert_true (rtmfp_reader_vlu_bytes (r, b, n));
}

/* The server certificate in the RHello: Accepts Ancillary Data, Extra
 * Randomness, ephemeral groups 2, 5, 14; its fingerprint is the server's
 * peer ID.  The IHello's EPD (ancillary data: the URI) selects it. */
static void
test_rhello_certificate (void)
{
  gsize plen, clen, n, cert_len, epd_len;
  guint8 *pkt = decrypt_vector (1, &plen);
  guint8 *ipkt;
  const guint8 *chunk = chunk_payload (pkt, plen, 0x70, &clen);
  const guint8 *tag, *cookie, *cert, *epd;
  RtmfpReader r;
  RtmfpCertInfo info;
  RtmfpEpdInfo epd_info;
  gchar *fp_hex;

  rtmfp_reader_init (&r, chunk, clen);
  read_vlu_bytes (&r, &tag, &n);
  g_assert_cmpuint (n, ==, 16);
  assert_hex_eq (tag, n, "12af718559bbeea27a125b08236c4318");
  read_vlu_bytes (&r, &cookie, &n);
  g_assert_cmpuint (n, ==, 64);
  cert = rtmfp_reader_peek (&r);
  cert_len = rtmfp_reader_remaining (&r);
  g_assert_cmpuint (cert_len, ==, 2 + 66 + 9);

  g_assert_true (rtmfp_cert_parse (cert, cert_len, &info));
  g_assert_true (info.accepts_ancillary);
  g_assert_null (info.hostname);
  g_assert_cmpuint (info.n_static_keys, ==, 0);
  g_assert_cmpuint (info.n_ephemeral_groups, ==, 3);
  g_assert_cmpuint (info.ephemeral_groups[0], ==, 2);
  g_assert_cmpuint (info.ephemeral_groups[1], ==, 5);
  g_assert_cmpuint (info.ephemeral_groups[2], ==, 14);
  fp_hex = rtmfp_fingerprint_to_hex (info.fingerprint);
  g_assert_cmpstr (fp_hex, ==,
      "63ab863bfa745785583790edba4f89b76d8ae7986f23323eef40f7d8737666e8");
  g_free (fp_hex);

  /* the IHello EPD */
  ipkt = decrypt_vector (0, &plen);
  chunk = chunk_payload (ipkt, plen, 0x30, &clen);
  rtmfp_reader_init (&r, chunk, clen);
  read_vlu_bytes (&r, &epd, &epd_len);
  g_assert_true (rtmfp_epd_parse (epd, epd_len, &epd_info));
  g_assert_false (epd_info.has_fingerprint);
  g_assert_null (epd_info.hostname);
  g_assert_cmpmem (epd_info.ancillary, epd_info.ancillary_len,
      "rtmfp://cc.rtmfp.net", 20);
  g_assert_true (rtmfp_epd_selects (&epd_info, &info));
  /* the same URI in a fresh EPD encodes identically */
  {
    GByteArray *mine = g_byte_array_new ();

    rtmfp_epd_append_ancillary (mine, "rtmfp://cc.rtmfp.net");
    g_assert_cmpmem (mine->data, mine->len, epd, epd_len);
    g_byte_array_unref (mine);
  }

  g_free (ipkt);
  g_free (pkt);
}

/* IIKeying: the Flash Player's static-key certificate and its SKIC
 * (Group Select 2, Extra Randomness, HMAC SOR len 10, SSEQ SOR).  A
 * responder of ours accepts it and negotiates as 4.6.4/4.6.6 say. */
static void
test_iikeying (void)
{
  gsize plen, clen, n, cert_len, skic_len;
  guint8 *pkt = decrypt_vector (2, &plen);
  const guint8 *chunk = chunk_payload (pkt, plen, 0x38, &clen);
  const guint8 *cookie, *cert, *skic;
  guint32 isid;
  RtmfpReader r;
  RtmfpCertInfo info;
  gchar *fp_hex;
  RtmfpIdentity *server;
  RtmfpKeying *k;
  RtmfpSessionKeys keys;
  RtmfpCryptoConfig cfg;
  GError *err = NULL;
  guint groups[] = { 2 };

  rtmfp_reader_init (&r, chunk, clen);
  g_assert_true (rtmfp_reader_u32 (&r, &isid));
  g_assert_cmphex (isid, ==, 0x02000000);
  read_vlu_bytes (&r, &cookie, &n);
  g_assert_cmpuint (n, ==, 64);
  read_vlu_bytes (&r, &cert, &cert_len);
  g_assert_cmpuint (cert_len, ==, 132);
  read_vlu_bytes (&r, &skic, &skic_len);
  g_assert_cmpuint (skic_len, ==, 76);
  /* signature: 'X' */
  g_assert_cmpuint (rtmfp_reader_remaining (&r), ==, 1);
  g_assert_cmphex (*rtmfp_reader_peek (&r), ==, 0x58);

  g_assert_true (rtmfp_cert_parse (cert, cert_len, &info));
  g_assert_cmpuint (info.n_static_keys, ==, 1);
  g_assert_cmpuint (info.n_ephemeral_groups, ==, 0);
  g_assert_cmpuint (info.static_keys[0].group, ==, 2);
  g_assert_cmpuint (info.static_keys[0].len, ==, 128);
  g_assert_true (info.static_keys[0].key == cert + 4);
  g_assert_false (info.accepts_ancillary);
  g_assert_true (rtmfp_dh_public_key_is_valid (2, info.static_keys[0].key,
          info.static_keys[0].len));
  fp_hex = rtmfp_fingerprint_to_hex (info.fingerprint);
  g_assert_cmpstr (fp_hex, ==,
      "95c1b98c8fde775e678921cde3a303cde119284ae56ca4a3e4515c3b81bae21e");
  g_free (fp_hex);

  /* the SKIC as a responder sees it (4.6.1.3: static initiator,
   * ephemeral responder) */
  server = rtmfp_identity_new_ephemeral (groups, 1, NULL, TRUE);
  rtmfp_crypto_config_init (&cfg);
  k = rtmfp_keying_new_responder (server, cert, cert_len, skic, skic_len,
      &cfg, &err);
  g_assert_no_error (err);
  g_assert_nonnull (k);
  g_assert_true (rtmfp_keying_get_keys (k, &keys));
  /* Flash: HMAC SOR len 10, SSEQ SOR; we: SOR|REQ both.  It sends both
   * because we request them; we don't because it didn't ask. */
  g_assert_cmpuint (keys.hmac_recv_len, ==, 10);
  g_assert_cmpuint (keys.hmac_send_len, ==, 0);
  g_assert_true (keys.sseq_recv);
  g_assert_false (keys.sseq_send);
  rtmfp_keying_free (k);

  /* not asking for anything: nobody sends anything */
  cfg.hmac_flags = RTMFP_NEG_SOR;
  cfg.sseq_flags = RTMFP_NEG_SOR;
  k = rtmfp_keying_new_responder (server, cert, cert_len, skic, skic_len,
      &cfg, &err);
  g_assert_no_error (err);
  g_assert_true (rtmfp_keying_get_keys (k, &keys));
  g_assert_cmpuint (keys.hmac_recv_len, ==, 0);
  g_assert_cmpuint (keys.hmac_send_len, ==, 0);
  g_assert_false (keys.sseq_recv);
  g_assert_false (keys.sseq_send);
  rtmfp_keying_free (k);

  /* a responder without group 2 can't talk to it */
  {
    guint g14[] = { 14 };
    RtmfpIdentity *strong = rtmfp_identity_new_ephemeral (g14, 1, NULL, TRUE);

    k = rtmfp_keying_new_responder (strong, cert, cert_len, skic, skic_len,
        NULL, &err);
    g_assert_null (k);
    g_assert_error (err, RTMFP_CRYPTO_ERROR,
        RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
    g_clear_error (&err);
    rtmfp_identity_unref (strong);
  }

  rtmfp_identity_unref (server);
  g_free (pkt);
}

/* RIKeying: Adobe's SKRC (HMAC flags 0 len 0, SSEQ flags 0, ephemeral key
 * in group 2), processed by an initiator of ours that chose group 2 for
 * the RHello certificate. */
static void
test_rikeying (void)
{
  gsize plen, clen, n, rcert_len, skrc_len;
  guint8 *pkt = decrypt_vector (3, &plen);
  guint8 *rpkt = decrypt_vector (1, &n);
  const guint8 *chunk = chunk_payload (pkt, plen, 0x78, &clen);
  const guint8 *rchunk, *rcert, *skrc, *skic;
  guint32 rsid;
  RtmfpReader r;
  RtmfpIdentity *client;
  RtmfpKeying *k;
  RtmfpSessionKeys keys;
  RtmfpCryptoConfig cfg;
  GError *err = NULL;
  guint groups[] = { 2 };
  gsize skic_len;

  rtmfp_reader_init (&r, chunk, clen);
  g_assert_true (rtmfp_reader_u32 (&r, &rsid));
  g_assert_cmphex (rsid, ==, 0x45020000);
  read_vlu_bytes (&r, &skrc, &skrc_len);
  g_assert_cmpuint (skrc_len, ==, 139);
  g_assert_cmpuint (rtmfp_reader_remaining (&r), ==, 1);
  g_assert_cmphex (*rtmfp_reader_peek (&r), ==, 0x58);

  /* the responder certificate from the RHello */
  rchunk = chunk_payload (rpkt, n, 0x70, &clen);
  rtmfp_reader_init (&r, rchunk, clen);
  read_vlu_bytes (&r, &skic, &n);
  read_vlu_bytes (&r, &skic, &n);
  rcert = rtmfp_reader_peek (&r);
  rcert_len = rtmfp_reader_remaining (&r);

  client = rtmfp_identity_new_static (groups, 1);
  rtmfp_crypto_config_init (&cfg);
  k = rtmfp_keying_new_initiator (client, rcert, rcert_len, &cfg, &err);
  g_assert_no_error (err);
  /* our SKIC starts with DH Group Select 2, like the Flash Player's */
  skic = rtmfp_keying_get_near_component (k, &skic_len);
  g_assert_cmpuint (skic_len, >=, 3);
  assert_hex_eq (skic, 3, "021d02");
  g_assert_false (rtmfp_keying_get_keys (k, &keys));
  g_assert_true (rtmfp_keying_set_far_component (k, skrc, skrc_len, &err));
  g_assert_no_error (err);
  g_assert_true (rtmfp_keying_get_keys (k, &keys));
  /* the server refused everything */
  g_assert_cmpuint (keys.hmac_send_len, ==, 0);
  g_assert_cmpuint (keys.hmac_recv_len, ==, 0);
  g_assert_false (keys.sseq_send);
  g_assert_false (keys.sseq_recv);
  rtmfp_keying_free (k);

  /* requiring HMAC from this server fails the negotiation */
  cfg.require_hmac = TRUE;
  k = rtmfp_keying_new_initiator (client, rcert, rcert_len, &cfg, &err);
  g_assert_no_error (err);
  g_assert_false (rtmfp_keying_set_far_component (k, skrc, skrc_len, &err));
  g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_NEGOTIATION);
  g_clear_error (&err);
  g_assert_false (rtmfp_keying_get_keys (k, &keys));
  rtmfp_keying_free (k);

  /* an initiator that picked group 14 refuses an answer in group 2 */
  rtmfp_crypto_config_init (&cfg);
  rtmfp_identity_unref (client);
  client = rtmfp_identity_new_static (NULL, 0);
  k = rtmfp_keying_new_initiator (client, rcert, rcert_len, &cfg, &err);
  g_assert_no_error (err);
  skic = rtmfp_keying_get_near_component (k, &skic_len);
  assert_hex_eq (skic, 3, "021d0e");
  g_assert_false (rtmfp_keying_set_far_component (k, skrc, skrc_len, &err));
  g_assert_error (err, RTMFP_CRYPTO_ERROR,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  g_clear_error (&err);
  rtmfp_keying_free (k);

  rtmfp_identity_unref (client);
  g_free (rpkt);
  g_free (pkt);
}

static void
test_checksum_kat (void)
{
  static const guint8 five[] = { 0x01, 0x02, 0x03, 0x04, 0x05 };
  static const guint8 four[] = { 0x01, 0x02, 0x03, 0x04 };

  /* odd trailing byte is the LOW byte: ~(0x0102 + 0x0304 + 0x0005) */
  g_assert_cmphex (rtmfp_checksum (five, 5), ==, 0xfbf4);
  g_assert_cmphex (rtmfp_checksum (four, 4), ==, 0xfbf9);
  g_assert_cmphex (rtmfp_checksum (NULL, 0), ==, 0xffff);
}

static void
test_hmac_kat (void)
{
  guint8 mac[RTMFP_SHA256_SIZE];

  rtmfp_hmac_sha256 ((const guint8 *) "supersecret", 11,
      (const guint8 *) "live/12345", 10, mac);
  assert_hex_eq (mac, sizeof (mac),
      "df41d9cbe74f325250d6e0346dcd9e95fb837892f4a927c27cecf2664d639786");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vectors/ssid-unscramble", test_session_id_unscramble);
  g_test_add_func ("/vectors/default-decrypt", test_default_decrypt);
  g_test_add_func ("/vectors/default-encrypt", test_default_encrypt);
  g_test_add_func ("/vectors/default-tampered", test_default_tampered);
  g_test_add_func ("/vectors/rhello-certificate", test_rhello_certificate);
  g_test_add_func ("/vectors/iikeying", test_iikeying);
  g_test_add_func ("/vectors/rikeying", test_rikeying);
  g_test_add_func ("/vectors/checksum", test_checksum_kat);
  g_test_add_func ("/vectors/hmac", test_hmac_kat);

  return g_test_run ();
}
