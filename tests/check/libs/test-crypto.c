/* Unit tests of the RFC 7425 crypto profile: Diffie-Hellman, key
 * derivation, keying components in all four key modes, HMAC/SSEQ
 * negotiation, packet protection with anti-replay, certificates and
 * endpoint discriminators.
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

/* ---- known answers ----
 *
 * Produced independently of this code base by a Python 3 script using only
 * pow() (modular exponentiation in the RFC 7296 group 2 prime), the hmac
 * and hashlib modules, and the 'cryptography' package for AES-128-CBC:
 *   A = 2^a mod p, B = 2^b mod p, secret = A^b mod p as big-endian bytes
 *   without leading zeros (b was chosen so that it HAS a leading zero
 *   byte: the secret is 127 bytes);
 *   SKIC = opt(0x0d, vlu(2) A) opt(0x0e, 16 x aa) opt(0x1a, 06 vlu(16))
 *          opt(0x1e, 05);
 *   SKRC = opt(0x0d, vlu(2) B) opt(0x0e, 16 x bb) opt(0x1a, 02 vlu(10))
 *          opt(0x1e, 02);
 *   the initiator's keys per RFC 7425 4.6.3-4.6.5 (SKNC = SKIC, SKFC =
 *   SKRC, HMAC-SHA256 with the key first);
 *   datagrams: SSID || AES-128-CBC(ENCRYPT_KEY[0:16], IV 0,
 *   [vlu SSEQ][checksum] packet 0xff..) [|| HMAC(HMAC_SEND_KEY, ct)[:n]],
 *   SSID = 0x12345678 ^ ct[0:4] ^ ct[4:8]; the checksum with the odd
 *   trailing byte as the low byte (4.7.3.1).
 */
/* secret length 127 */
static const gchar kat_priv_a[] =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
    "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40";
static const gchar kat_priv_b[] =
    "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
    "6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e00a4";
static const gchar kat_pub_a[] =
    "d45667a37a74bf24b2769872354064f51fc26e5dbd8c376726aa1a415eca14d2"
    "36bf60467e64f0489d8d6ec4a5f983c48ea58ade3493336e00c9c6b442182822"
    "0017700d77039c0e090ded7807c9e9bc28e42fb2939ebb9d1ac4af10a7b2bef1"
    "356cb6f6b21eba5c8191ba982955698d860bb25fdfa60569adc75a68d160536e";
static const gchar kat_pub_b[] =
    "d5994c170693276eb8362f40d4fc9d30420c6c03379d01b4df37a26d5c70589a"
    "250bcc1deefeaa9dff7620af56f69f9958d7b78c8211d43c8701d26e9703ff8b"
    "8fd78caccf7e915b582c454fee0c51977adbbca164dcea4576a8bac365690ce0"
    "a868054a378ef678876dadcea166fd97828c873c8ebeb86de27d06fdc13a958d";
static const gchar kat_secret[] =
    "f5e920a2c7bf0064dc0ceb2eb0c77606bee076c51c9b54468c5c071e911328e7"
    "6e3347ae78c3278df1b2628c7069d82aa8ac520b795b2aa1db29e019eb41d08a"
    "74c5366bd5e4b5686f0818a1c8814c3e39e12dffa0652fc3984e6db8f9341f6f"
    "b975f31c0a54613f3ffa278aa097bda810aad575191bd73f59a8b37df69c8a";
static const gchar kat_skic[] =
    "81020d02d45667a37a74bf24b2769872354064f51fc26e5dbd8c376726aa1a41"
    "5eca14d236bf60467e64f0489d8d6ec4a5f983c48ea58ade3493336e00c9c6b4"
    "421828220017700d77039c0e090ded7807c9e9bc28e42fb2939ebb9d1ac4af10"
    "a7b2bef1356cb6f6b21eba5c8191ba982955698d860bb25fdfa60569adc75a68"
    "d160536e110eaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa031a0610021e05";
static const gchar kat_skrc[] =
    "81020d02d5994c170693276eb8362f40d4fc9d30420c6c03379d01b4df37a26d"
    "5c70589a250bcc1deefeaa9dff7620af56f69f9958d7b78c8211d43c8701d26e"
    "9703ff8b8fd78caccf7e915b582c454fee0c51977adbbca164dcea4576a8bac3"
    "65690ce0a868054a378ef678876dadcea166fd97828c873c8ebeb86de27d06fd"
    "c13a958d110ebbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb031a020a021e02";
static const gchar kat_encrypt[] =
    "d3946bbb917641860440fc21e5eb6a7adfa542008280f5721e8f736161f358f4";
static const gchar kat_decrypt[] =
    "20a216292f136c553711009f2c7b5480bd210606b43a84ae8ca7710beef38777";
static const gchar kat_hmac_send[] =
    "50fb1660e7fd658d7b45948f98fa82597d6cf1b83c13290adfaafeb0c15922ee";
static const gchar kat_hmac_recv[] =
    "d78d304dfb7aedbcdf3ad983109fe210949594576613c7ef79b9413277b7ed1c";
static const gchar kat_near_nonce[] =
    "711f68dee565b69ec988ec118ce6300acf2acbd5e5777d52a5f73e78383d9e0a";
static const gchar kat_far_nonce[] =
    "1fa3205aed1df21becb88635709dfa1ef755349d9efb1bc9f32b386b04d10178";
static const gchar kat_packet[] =
    "8d1234567810000a03010203040506070809";
static const gchar kat_hmac_sseq0[] =
    "064bf41d1100c463057f660669c677d136cc81129ef4c78c6cbd94bd050144a4"
    "a805751d8c054b082116ae32d71d";
static const gchar kat_hmac_sseq130[] =
    "163883c8a48b11a2a087c4121959de910e5cbdbe0a9e260f04bcadbe988d4e25"
    "7844c1ad040973487fa7db71e24d";
static const gchar kat_sum_sseq0[] =
    "b014642b2c7858b28e586ae1afb3861e8cb8c4a24e9cf5c34c4daa8090486f8a"
    "cd397b84";
static const gchar kat_sum_sseq130[] =
    "165252cf48fe470e4c9843b977e10d1c47873ad56aa66884881ea8381a3efb9f"
    "606f876e";
static const gchar kat_hmac_nosseq[] =
    "0e8ba4b646ecaeb65a535c78bb1dbf06d488ed35ae65b197202e1eef706b9677"
    "f7e9e4b02e2e01e64ebacc0e6d53581e48d2cf6f14487c05a3828ecb25543387"
    "61b0df78";

/* ---- helpers ---- */

static const guint8 *
bdata (GBytes * b, gsize * len)
{
  return g_bytes_get_data (b, len);
}

/* A big-endian number of `size` bytes: value v placed at the end */
static guint8 *
be_number (gsize size, guint64 v)
{
  guint8 *b = g_malloc0 (size);
  gsize i;

  for (i = 0; i < 8 && i < size; i++)
    b[size - 1 - i] = (guint8) (v >> (8 * i));
  return b;
}

/* Finds an option of type t in an option sequence */
static gboolean
find_option (const guint8 * data, gsize len, guint64 t, RtmfpOption * out)
{
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;

  rtmfp_option_iter_init (&it, data, len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    if (!marker && opt.type == t) {
      if (out)
        *out = opt;
      return TRUE;
    }
  }
  g_assert_false (it.malformed);
  return FALSE;
}

/* ---- primitives ---- */

static void
test_primitives (void)
{
  guint8 a[32], b[32], d[RTMFP_SHA256_SIZE];

  /* FIPS 180-2 "abc" */
  rtmfp_sha256 ((const guint8 *) "abc", 3, d);
  assert_hex_eq (d, sizeof (d),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  rtmfp_sha256 (NULL, 0, d);
  assert_hex_eq (d, sizeof (d),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  /* RFC 4231 test case 2 */
  rtmfp_hmac_sha256 ((const guint8 *) "Jefe", 4,
      (const guint8 *) "what do ya want for nothing?", 28, d);
  assert_hex_eq (d, sizeof (d),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  memset (a, 0x11, sizeof (a));
  memcpy (b, a, sizeof (b));
  g_assert_true (rtmfp_crypto_equal (a, b, sizeof (a)));
  b[31] ^= 1;
  g_assert_false (rtmfp_crypto_equal (a, b, sizeof (a)));
  g_assert_true (rtmfp_crypto_equal (a, b, 31));
  g_assert_true (rtmfp_crypto_equal (NULL, NULL, 0));

  /* random: not all zero, two draws differ */
  memset (a, 0, sizeof (a));
  memset (b, 0, sizeof (b));
  rtmfp_random_bytes (a, sizeof (a));
  rtmfp_random_bytes (b, sizeof (b));
  g_assert_true (memcmp (a, b, sizeof (a)) != 0);
  g_assert_true (rtmfp_random_u32 () != rtmfp_random_u32 () ||
      rtmfp_random_u32 () != rtmfp_random_u32 ());
}

/* ---- Diffie-Hellman ---- */

static const guint all_groups[] = { 2, 5, 14, 16 };

static void
test_dh_groups (void)
{
  guint i;

  g_assert_cmpuint (rtmfp_dh_group_size (2), ==, 128);
  g_assert_cmpuint (rtmfp_dh_group_size (5), ==, 192);
  g_assert_cmpuint (rtmfp_dh_group_size (14), ==, 256);
  g_assert_cmpuint (rtmfp_dh_group_size (16), ==, 512);
  for (i = 0; i < 20; i++) {
    gboolean known = i == 2 || i == 5 || i == 14 || i == 16;

    g_assert_cmpint (rtmfp_dh_group_supported (i), ==, known);
    if (!known) {
      g_assert_cmpuint (rtmfp_dh_group_size (i), ==, 0);
      g_assert_null (rtmfp_dh_new (i));
    }
  }
}

static void
test_dh_agree (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (all_groups); i++) {
    guint g = all_groups[i];
    RtmfpDH *x = rtmfp_dh_new (g), *y = rtmfp_dh_new (g);
    const guint8 *px, *py;
    gsize lx, ly, sx_len;
    GBytes *sx, *sy;

    g_assert_cmpuint (rtmfp_dh_get_group (x), ==, g);
    px = rtmfp_dh_get_public_key (x, &lx);
    py = rtmfp_dh_get_public_key (y, &ly);
    g_assert_cmpuint (lx, ==, rtmfp_dh_group_size (g));
    g_assert_cmpuint (ly, ==, rtmfp_dh_group_size (g));
    g_assert_true (memcmp (px, py, lx) != 0);
    g_assert_true (rtmfp_dh_public_key_is_valid (g, px, lx));

    sx = rtmfp_dh_compute_secret (x, py, ly);
    sy = rtmfp_dh_compute_secret (y, px, lx);
    g_assert_nonnull (sx);
    g_assert_nonnull (sy);
    g_assert_true (g_bytes_equal (sx, sy));
    bdata (sx, &sx_len);
    g_assert_cmpuint (sx_len, <=, lx);
    g_assert_cmpuint (sx_len, >, lx - 8);
    g_assert_cmphex (((const guint8 *) bdata (sx, NULL))[0], !=, 0);

    g_bytes_unref (sx);
    g_bytes_unref (sy);
    rtmfp_dh_free (x);
    rtmfp_dh_free (y);
  }
}

/* 4.6.2 acceptance rules */
static void
test_dh_validity (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (all_groups); i++) {
    guint g = all_groups[i];
    gsize n = rtmfp_dh_group_size (g);
    RtmfpDH *dh = rtmfp_dh_new (g);
    const guint8 *pub = rtmfp_dh_get_public_key (dh, NULL);
    guint8 *p, *k, *longer;
    static const guint64 bad_small[] = { 0, 1, 2, 3, 0xffffff, 0x1000000,
      0xaaaaaaa8,               /* 15 one bits */
      0x55555555,               /* 15 zero bits, leading zeros not counted */
      0xffff8000,               /* 15 zero bits */
      G_GUINT64_CONSTANT (0xffffffffffffffff),  /* no zero bits */
      G_GUINT64_CONSTANT (0x8000000000000000),  /* one 1 bit */
    };
    static const guint64 good_small[] = { 0xaaaaaaaa, 0xffff0000,
      G_GUINT64_CONSTANT (0x0123456789abcdef)
    };
    guint j;
    gsize m;
    GBytes *s;

    for (j = 0; j < G_N_ELEMENTS (bad_small); j++) {
      k = be_number (n, bad_small[j]);
      g_assert_false (rtmfp_dh_public_key_is_valid (g, k, n));
      g_assert_null (rtmfp_dh_compute_secret (dh, k, n));
      g_free (k);
    }
    for (j = 0; j < G_N_ELEMENTS (good_small); j++) {
      k = be_number (n, good_small[j]);
      g_assert_true (rtmfp_dh_public_key_is_valid (g, k, n));
      /* same value without the leading zeros */
      g_assert_true (rtmfp_dh_public_key_is_valid (g, k + n - 8, 8));
      g_free (k);
    }

    /* all ones: greater than p (and no zero bits) */
    p = g_malloc (n);
    memset (p, 0xff, n);
    g_assert_false (rtmfp_dh_public_key_is_valid (g, p, n));
    g_free (p);

    /* a key longer than the group (non-zero extra byte) */
    longer = g_malloc0 (n + 1);
    memcpy (longer + 1, pub, n);
    g_assert_true (rtmfp_dh_public_key_is_valid (g, longer, n + 1));
    longer[0] = 1;
    g_assert_false (rtmfp_dh_public_key_is_valid (g, longer, n + 1));
    g_free (longer);

    g_assert_false (rtmfp_dh_public_key_is_valid (g, pub, 0));
    g_assert_false (rtmfp_dh_public_key_is_valid (g, NULL, 0));
    g_assert_false (rtmfp_dh_public_key_is_valid (3, pub, n));

    s = rtmfp_dh_compute_secret (dh, pub, n);
    g_assert_nonnull (s);
    bdata (s, &m);
    g_assert_cmpuint (m, >, 0);
    g_bytes_unref (s);
    rtmfp_dh_free (dh);
  }
}

/* p - 1, p and the 2^24 margins, from the group 2 prime */
static void
test_dh_validity_bounds (void)
{
  /* RFC 7296 B.2 / RFC 2409 6.2 */
  GBytes *pb = hex ("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
      "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
      "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
      "FFFFFFFFFFFFFFFF");
  gsize n;
  guint8 *k = g_memdup2 (bdata (pb, &n), 128);

  g_assert_cmpuint (n, ==, 128);
  /* p */
  g_assert_false (rtmfp_dh_public_key_is_valid (2, k, n));
  /* p - 1 */
  k[127] = 0xfe;
  g_assert_false (rtmfp_dh_public_key_is_valid (2, k, n));
  /* p - 2^24: ...ff fe ff ff ff (p ends in 8 x ff) */
  k[127] = 0xff;
  k[124] = 0xfe;
  g_assert_true (rtmfp_dh_public_key_is_valid (2, k, n));
  /* p - 2^24 + 1 */
  k[127] = 0x00;
  k[124] = 0xff;
  k[126] = 0x00;
  k[125] = 0x00;
  /* that was p - 2^24 + 1 = ... fe ff ff ff + 1 = ... ff 00 00 00 */
  g_assert_false (rtmfp_dh_public_key_is_valid (2, k, n));
  /* p - 2^24 - 1 */
  k[124] = 0xfe;
  k[125] = 0xff;
  k[126] = 0xff;
  k[127] = 0xfe;
  g_assert_true (rtmfp_dh_public_key_is_valid (2, k, n));

  g_free (k);
  g_bytes_unref (pb);
}

static void
test_dh_fixed_private (void)
{
  GBytes *a = hex (kat_priv_a), *b = hex (kat_priv_b);
  GBytes *s1, *s2;
  gsize al, bl, n;
  RtmfpDH *x = rtmfp_dh_new_with_private (2, bdata (a, &al), 64);
  RtmfpDH *y = rtmfp_dh_new_with_private (2, bdata (b, &bl), 64);
  const guint8 *pub;
  guint8 one = 1, zero = 0;
  guint8 *big;

  g_assert_nonnull (x);
  g_assert_nonnull (y);
  pub = rtmfp_dh_get_public_key (x, &n);
  assert_hex_eq (pub, n, kat_pub_a);
  pub = rtmfp_dh_get_public_key (y, &n);
  assert_hex_eq (pub, n, kat_pub_b);

  s1 = rtmfp_dh_compute_secret (x, rtmfp_dh_get_public_key (y, NULL), 128);
  s2 = rtmfp_dh_compute_secret (y, rtmfp_dh_get_public_key (x, NULL), 128);
  g_assert_nonnull (s1);
  /* 127 bytes: the leading zero byte is dropped (4.6.2) */
  pub = bdata (s1, &n);
  assert_hex_eq (pub, n, kat_secret);
  g_assert_cmpuint (n, ==, 127);
  g_assert_true (g_bytes_equal (s1, s2));

  /* private exponents out of range */
  g_assert_null (rtmfp_dh_new_with_private (2, &zero, 1));
  g_assert_null (rtmfp_dh_new_with_private (2, &one, 1));
  g_assert_null (rtmfp_dh_new_with_private (7, bdata (a, &al), 64));
  big = g_malloc (129);
  memset (big, 0xff, 129);
  g_assert_null (rtmfp_dh_new_with_private (2, big, 129));
  g_free (big);

  g_bytes_unref (s1);
  g_bytes_unref (s2);
  rtmfp_dh_free (x);
  rtmfp_dh_free (y);
  g_bytes_unref (a);
  g_bytes_unref (b);
}

/* Key derivation KAT (4.6.3 - 4.6.5) and the protected packets made with
 * those keys */
static void
test_derive_keys_kat (void)
{
  GBytes *s = hex (kat_secret), *ic = hex (kat_skic), *rc = hex (kat_skrc);
  GBytes *pkt = hex (kat_packet);
  gsize sl, il, rl, pl;
  const guint8 *sd = bdata (s, &sl), *id = bdata (ic, &il), *rd =
      bdata (rc, &rl), *pd = bdata (pkt, &pl);
  RtmfpSessionKeys ik, rk;
  struct
  {
    guint hmac_len;
    gboolean sseq;
    const gchar *first, *at130;
  } modes[] = {
    {10, TRUE, kat_hmac_sseq0, kat_hmac_sseq130},
    {0, TRUE, kat_sum_sseq0, kat_sum_sseq130},
    {32, FALSE, kat_hmac_nosseq, NULL},
  };
  guint m;

  /* the initiator's view */
  rtmfp_derive_keys (sd, sl, id, il, rd, rl, &ik);
  assert_hex_eq (ik.encrypt_key, 32, kat_encrypt);
  assert_hex_eq (ik.decrypt_key, 32, kat_decrypt);
  assert_hex_eq (ik.hmac_send_key, 32, kat_hmac_send);
  assert_hex_eq (ik.hmac_recv_key, 32, kat_hmac_recv);
  assert_hex_eq (ik.near_nonce, 32, kat_near_nonce);
  assert_hex_eq (ik.far_nonce, 32, kat_far_nonce);

  /* the responder's is the mirror image */
  rtmfp_derive_keys (sd, sl, rd, rl, id, il, &rk);
  g_assert_cmpmem (rk.encrypt_key, 32, ik.decrypt_key, 32);
  g_assert_cmpmem (rk.decrypt_key, 32, ik.encrypt_key, 32);
  g_assert_cmpmem (rk.hmac_send_key, 32, ik.hmac_recv_key, 32);
  g_assert_cmpmem (rk.hmac_recv_key, 32, ik.hmac_send_key, 32);
  g_assert_cmpmem (rk.near_nonce, 32, ik.far_nonce, 32);
  g_assert_cmpmem (rk.far_nonce, 32, ik.near_nonce, 32);

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    RtmfpCipher *tx, *rx;
    guint8 out[128], plain[128];
    gsize n, plain_len;
    guint i;

    ik.hmac_send_len = modes[m].hmac_len;
    ik.sseq_send = modes[m].sseq;
    rk.hmac_recv_len = modes[m].hmac_len;
    rk.sseq_recv = modes[m].sseq;
    tx = rtmfp_cipher_new (&ik);
    rx = rtmfp_cipher_new (&rk);
    g_assert_false (rtmfp_cipher_is_default (tx));

    n = rtmfp_cipher_encode (tx, 0x12345678, pd, pl, out, sizeof (out));
    assert_hex_eq (out, n, modes[m].first);
    g_assert_cmphex (rtmfp_session_id_unscramble (out, n), ==, 0x12345678);
    g_assert_true (rtmfp_cipher_decode (rx, out, n, plain, &plain_len));
    g_assert_cmpuint (plain_len, >=, pl);
    g_assert_cmpmem (plain, pl, pd, pl);
    for (i = pl; i < plain_len; i++)
      g_assert_cmphex (plain[i], ==, 0xff);

    if (modes[m].at130) {
      /* sequence numbers 1..129, then 130 (a two-byte VLU) */
      for (i = 1; i < 130; i++)
        g_assert_cmpuint (rtmfp_cipher_encode (tx, 0x12345678, pd, pl, out,
                sizeof (out)), >, 0);
      n = rtmfp_cipher_encode (tx, 0x12345678, pd, pl, out, sizeof (out));
      assert_hex_eq (out, n, modes[m].at130);
      g_assert_true (rtmfp_cipher_decode (rx, out, n, plain, &plain_len));
      g_assert_cmpmem (plain, pl, pd, pl);
    }
    rtmfp_cipher_free (tx);
    rtmfp_cipher_free (rx);
  }

  g_bytes_unref (s);
  g_bytes_unref (ic);
  g_bytes_unref (rc);
  g_bytes_unref (pkt);
}

/* ---- keying (4.5, 4.6) ---- */

typedef struct
{
  RtmfpKeying *ini, *res;
  RtmfpSessionKeys ik, rk;
} Handshake;

/* Runs SKIC -> SKRC between the two identities.  Returns FALSE (with
 * error) where it stopped. */
static gboolean
handshake (Handshake * h, RtmfpIdentity * ini, RtmfpIdentity * res,
    const RtmfpCryptoConfig * icfg, const RtmfpCryptoConfig * rcfg,
    GError ** error)
{
  const guint8 *cert, *skic, *skrc;
  gsize cert_len, skic_len, skrc_len;

  memset (h, 0, sizeof (*h));
  cert = rtmfp_identity_get_certificate (res, &cert_len);
  h->ini = rtmfp_keying_new_initiator (ini, cert, cert_len, icfg, error);
  if (h->ini == NULL)
    return FALSE;
  skic = rtmfp_keying_get_near_component (h->ini, &skic_len);
  cert = rtmfp_identity_get_certificate (ini, &cert_len);
  h->res = rtmfp_keying_new_responder (res, cert, cert_len, skic, skic_len,
      rcfg, error);
  if (h->res == NULL)
    return FALSE;
  g_assert_true (rtmfp_keying_get_keys (h->res, &h->rk));
  skrc = rtmfp_keying_get_near_component (h->res, &skrc_len);
  if (!rtmfp_keying_set_far_component (h->ini, skrc, skrc_len, error))
    return FALSE;
  g_assert_true (rtmfp_keying_get_keys (h->ini, &h->ik));
  return TRUE;
}

static void
handshake_clear (Handshake * h)
{
  rtmfp_keying_free (h->ini);
  rtmfp_keying_free (h->res);
  memset (h, 0, sizeof (*h));
}

static void
assert_keys_mirror (const RtmfpSessionKeys * a, const RtmfpSessionKeys * b)
{
  g_assert_cmpmem (a->encrypt_key, 32, b->decrypt_key, 32);
  g_assert_cmpmem (a->decrypt_key, 32, b->encrypt_key, 32);
  g_assert_cmpmem (a->hmac_send_key, 32, b->hmac_recv_key, 32);
  g_assert_cmpmem (a->hmac_recv_key, 32, b->hmac_send_key, 32);
  g_assert_cmpmem (a->near_nonce, 32, b->far_nonce, 32);
  g_assert_cmpmem (a->far_nonce, 32, b->near_nonce, 32);
  g_assert_true (memcmp (a->encrypt_key, a->decrypt_key, 32) != 0);
  g_assert_true (memcmp (a->near_nonce, a->far_nonce, 32) != 0);
  g_assert_cmpuint (a->hmac_send_len, ==, b->hmac_recv_len);
  g_assert_cmpuint (a->hmac_recv_len, ==, b->hmac_send_len);
  g_assert_cmpint (a->sseq_send, ==, b->sseq_recv);
  g_assert_cmpint (a->sseq_recv, ==, b->sseq_send);
}

/* One packet each way through ciphers built from both sides' keys */
static void
assert_ciphers_talk (const RtmfpSessionKeys * a, const RtmfpSessionKeys * b)
{
  RtmfpCipher *ca = rtmfp_cipher_new (a), *cb = rtmfp_cipher_new (b);
  static const guint8 msg[] = "\x0d\x01\x02hello, far end";
  guint8 wire[256], plain[256];
  gsize n, pl;

  n = rtmfp_cipher_encode (ca, 0xabcdef01, msg, sizeof (msg), wire,
      sizeof (wire));
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (n, <=, sizeof (msg) + rtmfp_cipher_overhead (ca));
  g_assert_cmphex (rtmfp_session_id_unscramble (wire, n), ==, 0xabcdef01);
  g_assert_true (rtmfp_cipher_decode (cb, wire, n, plain, &pl));
  g_assert_cmpmem (plain, sizeof (msg), msg, sizeof (msg));
  /* not with the sender's own receive direction */
  g_assert_false (rtmfp_cipher_decode (ca, wire, n, plain, &pl));

  n = rtmfp_cipher_encode (cb, 7, msg, sizeof (msg), wire, sizeof (wire));
  g_assert_true (rtmfp_cipher_decode (ca, wire, n, plain, &pl));
  g_assert_cmpmem (plain, sizeof (msg), msg, sizeof (msg));

  rtmfp_cipher_free (ca);
  rtmfp_cipher_free (cb);
}

/* The group a component selects: DH Group Select or ephemeral key group */
static guint64
component_group (RtmfpKeying * k, gboolean * ephemeral)
{
  gsize len, n;
  const guint8 *c = rtmfp_keying_get_near_component (k, &len);
  RtmfpOption opt;
  guint64 g = 0;

  *ephemeral = find_option (c, len, RTMFP_SKC_OPT_EPHEMERAL_DH_KEY, &opt);
  if (!*ephemeral)
    g_assert_true (find_option (c, len, RTMFP_SKC_OPT_DH_GROUP_SELECT, &opt));
  g_assert_true (rtmfp_vlu_decode (opt.value, opt.len, &g, &n));
  if (*ephemeral)
    g_assert_cmpuint (opt.len - n, ==, rtmfp_dh_group_size ((guint) g));
  else
    g_assert_cmpuint (n, ==, opt.len);
  return g;
}

static gboolean
component_has (RtmfpKeying * k, guint64 type)
{
  gsize len;
  const guint8 *c = rtmfp_keying_get_near_component (k, &len);

  return find_option (c, len, type, NULL);
}

/* 4.6.1: all four public key modes */
static void
test_keying_modes (void)
{
  guint g_ini_static[] = { 14, 2 }, g_res_static[] = { 2, 5 };
  guint g_res_eph[] = { 2, 5 }, g_ini_eph[] = { 14, 5, 2 };
  RtmfpIdentity *is = rtmfp_identity_new_static (g_ini_static, 2);
  RtmfpIdentity *rs = rtmfp_identity_new_static (g_res_static, 2);
  RtmfpIdentity *ie = rtmfp_identity_new_ephemeral (g_ini_eph, 3, NULL, FALSE);
  RtmfpIdentity *re = rtmfp_identity_new_ephemeral (g_res_eph, 2, "srv",
      TRUE);
  struct
  {
    RtmfpIdentity *ini, *res;
    guint group;
    gboolean ini_eph, res_eph;
  } cases[] = {
    /* 4.6.1.1: both ephemeral; first of 14, 5, 2 the responder lists */
    {ie, re, 5, TRUE, TRUE},
    /* 4.6.1.2: initiator ephemeral, responder static keys 2 and 5 */
    {ie, rs, 5, TRUE, FALSE},
    /* 4.6.1.3: static initiator (14, 2), ephemeral responder (2, 5) */
    {is, re, 2, FALSE, TRUE},
    /* 4.6.1.4: both static: only group 2 in common */
    {is, rs, 2, FALSE, FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    Handshake h;
    GError *err = NULL;
    gboolean eph;

    g_test_message ("key mode case %u", i);
    g_assert_true (handshake (&h, cases[i].ini, cases[i].res, NULL, NULL,
            &err));
    g_assert_no_error (err);

    g_assert_cmpuint (component_group (h.ini, &eph), ==, cases[i].group);
    g_assert_cmpint (eph, ==, cases[i].ini_eph);
    /* 4.5.2.3: no Group Select with an ephemeral key and vice versa */
    g_assert_cmpint (component_has (h.ini, RTMFP_SKC_OPT_DH_GROUP_SELECT),
        ==, !cases[i].ini_eph);
    /* static initiators salt with Extra Randomness */
    g_assert_true (component_has (h.ini, RTMFP_SKC_OPT_EXTRA_RANDOMNESS));
    if (cases[i].res_eph) {
      /* same group as the initiator chose */
      g_assert_cmpuint (component_group (h.res, &eph), ==, cases[i].group);
      g_assert_true (eph);
    } else {
      g_assert_false (component_has (h.res, RTMFP_SKC_OPT_EPHEMERAL_DH_KEY));
      g_assert_true (component_has (h.res, RTMFP_SKC_OPT_EXTRA_RANDOMNESS));
    }
    g_assert_false (component_has (h.res, RTMFP_SKC_OPT_DH_GROUP_SELECT));

    assert_keys_mirror (&h.ik, &h.rk);
    /* defaults: HMAC SOR|REQ 16 and SSEQ SOR|REQ on both sides */
    g_assert_cmpuint (h.ik.hmac_send_len, ==, 16);
    g_assert_cmpuint (h.ik.hmac_recv_len, ==, 16);
    g_assert_true (h.ik.sseq_send);
    g_assert_true (h.ik.sseq_recv);
    assert_ciphers_talk (&h.ik, &h.rk);

    /* the responder's component, retransmitted, is accepted again; a
     * different one is not */
    {
      gsize len;
      const guint8 *skrc = rtmfp_keying_get_near_component (h.res, &len);
      guint8 *other = g_memdup2 (skrc, len);
      RtmfpSessionKeys again;

      g_assert_true (rtmfp_keying_set_far_component (h.ini, skrc, len, &err));
      g_assert_true (rtmfp_keying_get_keys (h.ini, &again));
      g_assert_cmpmem (&again, sizeof (again), &h.ik, sizeof (h.ik));
      other[len - 1] ^= 1;
      g_assert_false (rtmfp_keying_set_far_component (h.ini, other, len,
              &err));
      g_clear_error (&err);
      g_free (other);
      /* a responder has nothing to set */
      g_assert_false (rtmfp_keying_set_far_component (h.res, skrc, len,
              &err));
      g_clear_error (&err);
    }
    handshake_clear (&h);
  }

  /* Two sessions between the same identities get different keys (extra
   * randomness / fresh ephemeral keys), even static/static. */
  {
    Handshake h1, h2;

    g_assert_true (handshake (&h1, is, rs, NULL, NULL, NULL));
    g_assert_true (handshake (&h2, is, rs, NULL, NULL, NULL));
    g_assert_true (memcmp (h1.ik.encrypt_key, h2.ik.encrypt_key, 32) != 0);
    handshake_clear (&h1);
    handshake_clear (&h2);
  }

  rtmfp_identity_unref (is);
  rtmfp_identity_unref (rs);
  rtmfp_identity_unref (ie);
  rtmfp_identity_unref (re);
}

/* Group choice follows the initiator's configured order */
static void
test_keying_group_choice (void)
{
  guint rg[] = { 2, 14, 16 };
  RtmfpIdentity *res = rtmfp_identity_new_ephemeral (rg, 3, NULL, TRUE);
  RtmfpIdentity *ini = rtmfp_identity_new_ephemeral (NULL, 0, NULL, FALSE);
  RtmfpIdentity *ini16;
  RtmfpCryptoConfig cfg;
  Handshake h;
  GError *err = NULL;
  gboolean eph;
  guint g16[] = { 16 };

  rtmfp_crypto_config_init (&cfg);
  g_assert_cmpuint (cfg.n_groups, ==, 3);
  g_assert_cmpuint (cfg.groups[0], ==, 14);
  g_assert_cmpuint (cfg.groups[1], ==, 5);
  g_assert_cmpuint (cfg.groups[2], ==, 2);
  g_assert_cmpuint (cfg.hmac_flags, ==, RTMFP_NEG_SOR | RTMFP_NEG_REQ);
  g_assert_cmpuint (cfg.hmac_len, ==, 16);
  g_assert_cmpuint (cfg.sseq_flags, ==, RTMFP_NEG_SOR | RTMFP_NEG_REQ);
  g_assert_false (cfg.require_hmac);
  g_assert_false (cfg.require_sseq);

  g_assert_true (handshake (&h, ini, res, &cfg, NULL, &err));
  g_assert_cmpuint (component_group (h.ini, &eph), ==, 14);
  handshake_clear (&h);

  cfg.groups[0] = 2;
  cfg.groups[1] = 14;
  cfg.n_groups = 2;
  g_assert_true (handshake (&h, ini, res, &cfg, NULL, &err));
  g_assert_cmpuint (component_group (h.ini, &eph), ==, 2);
  assert_keys_mirror (&h.ik, &h.rk);
  handshake_clear (&h);

  /* group 16 only when configured and both have it */
  ini16 = rtmfp_identity_new_ephemeral (g16, 1, NULL, FALSE);
  g_assert_false (handshake (&h, ini16, res, NULL, NULL, &err));
  g_assert_error (err, RTMFP_CRYPTO_ERROR,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  g_clear_error (&err);
  handshake_clear (&h);
  cfg.groups[0] = 16;
  cfg.n_groups = 1;
  g_assert_true (handshake (&h, ini16, res, &cfg, NULL, &err));
  g_assert_no_error (err);
  g_assert_cmpuint (component_group (h.ini, &eph), ==, 16);
  assert_keys_mirror (&h.ik, &h.rk);
  handshake_clear (&h);

  /* nothing in common with the configuration */
  cfg.groups[0] = 5;
  g_assert_false (handshake (&h, ini, res, &cfg, NULL, &err));
  g_assert_error (err, RTMFP_CRYPTO_ERROR,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  g_clear_error (&err);
  handshake_clear (&h);

  rtmfp_identity_unref (ini16);
  rtmfp_identity_unref (ini);
  rtmfp_identity_unref (res);
}

/* 4.6.4 / 4.6.6: who sends HMAC and SSEQ */
static void
test_keying_negotiation (void)
{
  RtmfpIdentity *ini = rtmfp_identity_new_static (NULL, 0);
  RtmfpIdentity *res = rtmfp_identity_new_ephemeral (NULL, 0, NULL, TRUE);
  enum
  { D = RTMFP_NEG_SND, O = RTMFP_NEG_SOR, Q = RTMFP_NEG_REQ };
  struct
  {
    guint8 ih, il, is, rh, rl, rs;      /* flags, HMAC length, SSEQ flags */
    guint isend, irecv;         /* expected HMAC lengths at the initiator */
    gboolean isseq, irseq;      /* expected SSEQ send / recv */
  } cases[] = {
    {O | Q, 16, O | Q, O | Q, 16, O | Q, 16, 16, TRUE, TRUE},
    /* always-senders without requests */
    {D, 8, D, 0, 0, 0, 8, 0, TRUE, FALSE},
    {0, 0, 0, D, 32, D, 0, 32, FALSE, TRUE},
    /* on-request only: nobody asked */
    {O, 20, O, O, 4, O, 0, 0, FALSE, FALSE},
    /* one asks, the other obliges */
    {O | Q, 20, Q, O, 4, O, 0, 4, FALSE, TRUE},
    {Q, 12, O, O | D, 24, Q, 0, 24, TRUE, FALSE},
    /* requests without willingness on the other side */
    {Q, 16, Q, Q, 16, Q, 0, 0, FALSE, FALSE},
    /* SND wins without a request; reserved bits ignored */
    {D | Q | 0xf8, 5, D | 0xf8, O | Q, 7, O, 5, 7, TRUE, FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpCryptoConfig ic, rc;
    Handshake h;
    GError *err = NULL;

    g_test_message ("negotiation case %u", i);
    rtmfp_crypto_config_init (&ic);
    rtmfp_crypto_config_init (&rc);
    ic.hmac_flags = cases[i].ih;
    ic.hmac_len = cases[i].il;
    ic.sseq_flags = cases[i].is;
    rc.hmac_flags = cases[i].rh;
    rc.hmac_len = cases[i].rl;
    rc.sseq_flags = cases[i].rs;
    g_assert_true (handshake (&h, ini, res, &ic, &rc, &err));
    g_assert_no_error (err);
    g_assert_cmpuint (h.ik.hmac_send_len, ==, cases[i].isend);
    g_assert_cmpuint (h.ik.hmac_recv_len, ==, cases[i].irecv);
    g_assert_cmpint (h.ik.sseq_send, ==, cases[i].isseq);
    g_assert_cmpint (h.ik.sseq_recv, ==, cases[i].irseq);
    assert_keys_mirror (&h.ik, &h.rk);
    assert_ciphers_talk (&h.ik, &h.rk);
    handshake_clear (&h);
  }

  /* requirements */
  {
    RtmfpCryptoConfig ic, rc;
    Handshake h;
    GError *err = NULL;

    /* the initiator requires HMAC, the responder won't send one */
    rtmfp_crypto_config_init (&ic);
    rtmfp_crypto_config_init (&rc);
    ic.require_hmac = TRUE;
    rc.hmac_flags = RTMFP_NEG_REQ;
    g_assert_false (handshake (&h, ini, res, &ic, &rc, &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_NEGOTIATION);
    g_assert_nonnull (h.res);   /* it failed at the initiator */
    g_clear_error (&err);
    handshake_clear (&h);

    /* the responder requires SSEQ, the initiator won't send it */
    rtmfp_crypto_config_init (&ic);
    rtmfp_crypto_config_init (&rc);
    ic.sseq_flags = RTMFP_NEG_REQ;
    rc.require_sseq = TRUE;
    g_assert_false (handshake (&h, ini, res, &ic, &rc, &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_NEGOTIATION);
    g_assert_null (h.res);
    g_clear_error (&err);
    handshake_clear (&h);

    /* requiring implies requesting: the SOR-only far end then sends */
    rtmfp_crypto_config_init (&ic);
    rtmfp_crypto_config_init (&rc);
    ic.hmac_flags = RTMFP_NEG_SOR;
    ic.sseq_flags = RTMFP_NEG_SOR;
    rc.hmac_flags = 0;
    rc.sseq_flags = 0;
    rc.require_hmac = TRUE;
    rc.require_sseq = TRUE;
    g_assert_true (handshake (&h, ini, res, &ic, &rc, &err));
    g_assert_no_error (err);
    g_assert_cmpuint (h.rk.hmac_recv_len, ==, 16);
    g_assert_cmpuint (h.rk.hmac_send_len, ==, 0);
    g_assert_true (h.rk.sseq_recv);
    g_assert_false (h.rk.sseq_send);
    assert_ciphers_talk (&h.ik, &h.rk);
    handshake_clear (&h);

    /* both require, both get it */
    rtmfp_crypto_config_init (&ic);
    rtmfp_crypto_config_init (&rc);
    ic.require_hmac = ic.require_sseq = TRUE;
    rc.require_hmac = rc.require_sseq = TRUE;
    g_assert_true (handshake (&h, ini, res, &ic, &rc, &err));
    g_assert_cmpuint (h.ik.hmac_send_len, ==, 16);
    g_assert_cmpuint (h.ik.hmac_recv_len, ==, 16);
    handshake_clear (&h);
  }

  rtmfp_identity_unref (ini);
  rtmfp_identity_unref (res);
}

/* Builds an option into a GByteArray */
static void
put_option (GByteArray * a, guint64 type, const gchar * value_hex)
{
  GBytes *v = hex (value_hex);
  gsize n;
  const guint8 *d = bdata (v, &n);

  rtmfp_option_append (a, type, n ? d : NULL, n);
  g_bytes_unref (v);
}

static void
put_key_option (GByteArray * a, guint64 type, guint group, const guint8 * key,
    gsize len)
{
  GByteArray *v = g_byte_array_new ();

  rtmfp_vlu_append (v, group);
  g_byte_array_append (v, key, len);
  rtmfp_option_append (a, type, v->data, v->len);
  g_byte_array_unref (v);
}

static void
expect_responder_error (RtmfpIdentity * res, const guint8 * cert,
    gsize cert_len, GByteArray * skic, gint code)
{
  GError *err = NULL;
  RtmfpKeying *k = rtmfp_keying_new_responder (res, cert, cert_len,
      skic->data, skic->len, NULL, &err);

  g_assert_null (k);
  g_assert_error (err, RTMFP_CRYPTO_ERROR, code);
  g_clear_error (&err);
  g_byte_array_set_size (skic, 0);
}

/* Hostile or broken components */
static void
test_keying_bad_components (void)
{
  guint g2[] = { 2 };
  RtmfpIdentity *res = rtmfp_identity_new_ephemeral (g2, 1, NULL, TRUE);
  RtmfpIdentity *eph = rtmfp_identity_new_ephemeral (g2, 1, NULL, FALSE);
  RtmfpIdentity *sta = rtmfp_identity_new_static (g2, 1);
  RtmfpDH *dh = rtmfp_dh_new (2);
  const guint8 *pub = rtmfp_dh_get_public_key (dh, NULL);
  const guint8 *ecert, *scert;
  gsize ecert_len, scert_len;
  GByteArray *c = g_byte_array_new ();
  guint8 *weak = be_number (128, 2);
  GError *err = NULL;
  RtmfpKeying *k;

  ecert = rtmfp_identity_get_certificate (eph, &ecert_len);
  scert = rtmfp_identity_get_certificate (sta, &scert_len);

  /* baseline: a hand-made ephemeral SKIC works, and an unknown option
   * and a marker are ignored */
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x33, "0102");
  g_byte_array_append (c, (const guint8 *) "\0", 1);
  k = rtmfp_keying_new_responder (res, ecert, ecert_len, c->data, c->len,
      NULL, &err);
  g_assert_no_error (err);
  g_assert_nonnull (k);
  {
    RtmfpSessionKeys keys;

    /* no negotiation options: the far end neither sends nor requests */
    g_assert_true (rtmfp_keying_get_keys (k, &keys));
    g_assert_cmpuint (keys.hmac_send_len, ==, 0);
    g_assert_cmpuint (keys.hmac_recv_len, ==, 0);
    g_assert_false (keys.sseq_send);
    g_assert_false (keys.sseq_recv);
    rtmfp_keying_free (k);

    /* reserved flag bits are ignored: ff = SND|SOR|REQ, f8 = none */
    put_option (c, 0x1a, "ff10");
    put_option (c, 0x1e, "f8");
    k = rtmfp_keying_new_responder (res, ecert, ecert_len, c->data, c->len,
        NULL, &err);
    g_assert_no_error (err);
    g_assert_true (rtmfp_keying_get_keys (k, &keys));
    g_assert_cmpuint (keys.hmac_send_len, ==, 16);
    g_assert_cmpuint (keys.hmac_recv_len, ==, 16);
    g_assert_false (keys.sseq_send);
    g_assert_false (keys.sseq_recv);
    rtmfp_keying_free (k);
  }
  g_byte_array_set_size (c, 0);

  /* empty SKIC: no key at all */
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* truncated option */
  put_key_option (c, 0x0d, 2, pub, 128);
  g_byte_array_set_size (c, c->len - 1);
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* two ephemeral keys */
  put_key_option (c, 0x0d, 2, pub, 128);
  put_key_option (c, 0x0d, 2, pub, 128);
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* ephemeral key plus group select */
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x1d, "02");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* ephemeral key from a static certificate (4.5.2.1 MUST NOT) */
  put_key_option (c, 0x0d, 2, pub, 128);
  expect_responder_error (res, scert, scert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* group select from an ephemeral certificate */
  put_option (c, 0x1d, "02");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* group select for a group the static certificate has no key for */
  put_option (c, 0x1d, "0e");
  expect_responder_error (res, scert, scert_len, c,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  /* ephemeral key in a group the responder doesn't list / know */
  put_key_option (c, 0x0d, 5, pub, 128);
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  put_key_option (c, 0x0d, 77, pub, 128);
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  /* weak public key (4.6.2) */
  put_key_option (c, 0x0d, 2, weak, 128);
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY);
  /* HMAC negotiation: willing to send with length 3 or 33 */
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x1a, "0203");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x1a, "0421");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* HMAC negotiation without its length, SSEQ without flags */
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x1a, "02");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  put_key_option (c, 0x0d, 2, pub, 128);
  put_option (c, 0x1e, "");
  expect_responder_error (res, ecert, ecert_len, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);
  /* malformed initiator certificate */
  put_key_option (c, 0x0d, 2, pub, 128);
  expect_responder_error (res, (const guint8 *) "\x05\x00", 2, c,
      RTMFP_CRYPTO_ERROR_MALFORMED);

  /* initiator side: a far certificate with nothing in common or broken */
  k = rtmfp_keying_new_initiator (eph, (const guint8 *) "\x02\x15\x05", 3,
      NULL, &err);
  g_assert_null (k);
  g_assert_error (err, RTMFP_CRYPTO_ERROR,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  g_clear_error (&err);
  k = rtmfp_keying_new_initiator (eph, (const guint8 *) "\x05\x15", 2,
      NULL, &err);
  g_assert_null (k);
  g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
  g_clear_error (&err);
  k = rtmfp_keying_new_initiator (eph, NULL, 0, NULL, &err);
  g_assert_null (k);
  g_assert_error (err, RTMFP_CRYPTO_ERROR,
      RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP);
  g_clear_error (&err);
  /* a static responder certificate with a weak key */
  put_key_option (c, 0x1d, 2, weak, 128);
  k = rtmfp_keying_new_initiator (eph, c->data, c->len, NULL, &err);
  g_assert_null (k);
  g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY);
  g_clear_error (&err);
  g_byte_array_set_size (c, 0);

  /* initiator side: bad SKRCs from an ephemeral responder */
  {
    const guint8 *rcert;
    gsize rcert_len;

    rcert = rtmfp_identity_get_certificate (res, &rcert_len);
    k = rtmfp_keying_new_initiator (sta, rcert, rcert_len, NULL, &err);
    g_assert_no_error (err);
    /* no key */
    put_option (c, 0x0e, "00112233445566778899aabbccddeeff");
    g_assert_false (rtmfp_keying_set_far_component (k, c->data, c->len,
            &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
    g_clear_error (&err);
    g_byte_array_set_size (c, 0);
    /* weak key */
    put_key_option (c, 0x0d, 2, weak, 128);
    g_assert_false (rtmfp_keying_set_far_component (k, c->data, c->len,
            &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR,
        RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY);
    g_clear_error (&err);
    g_byte_array_set_size (c, 0);
    /* garbage */
    g_byte_array_append (c, (const guint8 *) "\x85\xff\xff", 3);
    g_assert_false (rtmfp_keying_set_far_component (k, c->data, c->len,
            &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
    g_clear_error (&err);
    g_byte_array_set_size (c, 0);
    /* still usable after the failures */
    put_key_option (c, 0x0d, 2, pub, 128);
    g_assert_true (rtmfp_keying_set_far_component (k, c->data, c->len,
            &err));
    g_assert_no_error (err);
    rtmfp_keying_free (k);
    g_byte_array_set_size (c, 0);
  }

  /* initiator side: a static responder must not send an ephemeral key */
  {
    guint g2b[] = { 2 };
    RtmfpIdentity *sres = rtmfp_identity_new_static (g2b, 1);
    const guint8 *rcert;
    gsize rcert_len;

    rcert = rtmfp_identity_get_certificate (sres, &rcert_len);
    k = rtmfp_keying_new_initiator (eph, rcert, rcert_len, NULL, &err);
    g_assert_no_error (err);
    put_key_option (c, 0x0d, 2, pub, 128);
    g_assert_false (rtmfp_keying_set_far_component (k, c->data, c->len,
            &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
    g_clear_error (&err);
    g_byte_array_set_size (c, 0);
    /* an empty SKRC is fine for a static responder (keys from certs) */
    g_assert_true (rtmfp_keying_set_far_component (k, NULL, 0, &err));
    g_assert_no_error (err);
    rtmfp_keying_free (k);
    rtmfp_identity_unref (sres);
  }

  g_free (weak);
  g_byte_array_unref (c);
  rtmfp_dh_free (dh);
  rtmfp_identity_unref (res);
  rtmfp_identity_unref (eph);
  rtmfp_identity_unref (sta);
}

static void
test_signature (void)
{
  GByteArray *a = g_byte_array_new ();

  rtmfp_signature_append_none (a);
  g_assert_cmpmem (a->data, a->len, "X", 1);
  g_byte_array_unref (a);
}

/* ---- packet protection (4.7) ---- */

/* Keys for a pair of ciphers (a sends to b and back) */
static void
make_key_pair (guint hmac_len, gboolean sseq, RtmfpSessionKeys * a,
    RtmfpSessionKeys * b)
{
  static const guint8 secret[] = "not a real DH secret";
  static const guint8 c1[] = "initiator component", c2[] =
      "responder component";

  rtmfp_derive_keys (secret, sizeof (secret), c1, sizeof (c1), c2,
      sizeof (c2), a);
  rtmfp_derive_keys (secret, sizeof (secret), c2, sizeof (c2), c1,
      sizeof (c1), b);
  a->hmac_send_len = a->hmac_recv_len = hmac_len;
  b->hmac_send_len = b->hmac_recv_len = hmac_len;
  a->sseq_send = a->sseq_recv = sseq;
  b->sseq_send = b->sseq_recv = sseq;
}

#define N_PKTS 400

typedef struct
{
  guint8 data[96];
  gsize len;
} Dgram;

/* Encodes N_PKTS packets (three cipher blocks) whose bytes 1-2 hold the
 * index */
static Dgram *
encode_many (RtmfpCipher * tx)
{
  Dgram *d = g_new0 (Dgram, N_PKTS);
  guint i;

  for (i = 0; i < N_PKTS; i++) {
    guint8 pkt[40] = { 0x89, (guint8) i, (guint8) (i >> 8), 1, 2, 3, 4, 5 };

    d[i].len = rtmfp_cipher_encode (tx, 0x01020304, pkt, sizeof (pkt),
        d[i].data, sizeof (d[i].data));
    g_assert_cmpuint (d[i].len, >, 0);
  }
  return d;
}

static gboolean
deliver (RtmfpCipher * rx, const Dgram * d, guint i)
{
  guint8 out[96];
  gsize n;

  if (!rtmfp_cipher_decode (rx, d[i].data, d[i].len, out, &n))
    return FALSE;
  g_assert_cmpuint (n, >=, 40);
  g_assert_cmpuint (out[1] | out[2] << 8, ==, i);
  return TRUE;
}

static void
test_cipher_replay (void)
{
  guint modes[][2] = { {16, TRUE}, {0, TRUE}, {4, TRUE}, {32, TRUE} };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    RtmfpSessionKeys ka, kb;
    RtmfpCipher *tx, *rx;
    Dgram *d;
    guint i;

    make_key_pair (modes[m][0], modes[m][1], &ka, &kb);
    tx = rtmfp_cipher_new (&ka);
    rx = rtmfp_cipher_new (&kb);
    d = encode_many (tx);

    /* in order, then each again: duplicates dropped */
    for (i = 0; i < 10; i++) {
      g_assert_true (deliver (rx, d, i));
      g_assert_false (deliver (rx, d, i));
    }
    /* 10..73 reordered: 73 first, then the 63 before it backwards, all
     * accepted (reordering by 64) */
    g_assert_true (deliver (rx, d, 73));
    for (i = 72; i >= 10; i--)
      g_assert_true (deliver (rx, d, i));
    for (i = 10; i <= 73; i++)
      g_assert_false (deliver (rx, d, i));
    /* a gap: 100 arrives, 74..99 later */
    g_assert_true (deliver (rx, d, 100));
    for (i = 74; i < 100; i++)
      g_assert_true (deliver (rx, d, i));
    g_assert_false (deliver (rx, d, 100));
    /* 101 skipped; 399 arrives: 101 is now older than the window and is
     * dropped as a possible replay, 150 (inside the window) is fine */
    g_assert_true (deliver (rx, d, 399));
    g_assert_false (deliver (rx, d, 101));
    g_assert_true (deliver (rx, d, 150));
    g_assert_false (deliver (rx, d, 150));
    g_assert_false (deliver (rx, d, 5));

    g_free (d);
    rtmfp_cipher_free (tx);
    rtmfp_cipher_free (rx);
  }
}

/* A packet that fails verification must not mark its sequence number as
 * seen. */
static void
test_cipher_no_commit_on_failure (void)
{
  guint hlen[] = { 0, 10 };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (hlen); m++) {
    RtmfpSessionKeys ka, kb;
    RtmfpCipher *tx, *rx;
    Dgram *d;
    guint8 out[96];
    gsize n;
    Dgram bad;

    make_key_pair (hlen[m], TRUE, &ka, &kb);
    tx = rtmfp_cipher_new (&ka);
    rx = rtmfp_cipher_new (&kb);
    d = encode_many (tx);

    /* corrupt the last ciphertext byte before the HMAC: with a checksum
     * this garbles the last block only, so the SSEQ in the first block
     * still decodes (and must not be committed) */
    g_assert_cmpuint (d[0].len - hlen[m], ==, 4 + 48);
    bad = d[0];
    bad.data[bad.len - hlen[m] - 1] ^= 0x40;
    g_assert_false (rtmfp_cipher_decode (rx, bad.data, bad.len, out, &n));
    g_assert_true (deliver (rx, d, 0));

    /* a packet far ahead, corrupted, doesn't move the window */
    bad = d[300];
    bad.data[bad.len - 1] ^= 0x01;
    g_assert_false (rtmfp_cipher_decode (rx, bad.data, bad.len, out, &n));
    g_assert_true (deliver (rx, d, 1));
    g_assert_true (deliver (rx, d, 300));

    g_free (d);
    rtmfp_cipher_free (tx);
    rtmfp_cipher_free (rx);
  }
}

static void
test_cipher_lengths (void)
{
  RtmfpSessionKeys ka, kb;
  RtmfpCipher *tx, *rx;
  guint8 pkt[100], wire[256], out[256], junk[256];
  gsize n, len, ol;
  guint i;

  for (i = 0; i < sizeof (pkt); i++)
    pkt[i] = (guint8) (i * 7);

  make_key_pair (12, TRUE, &ka, &kb);
  tx = rtmfp_cipher_new (&ka);
  rx = rtmfp_cipher_new (&kb);

  /* every plain length gives whole blocks + the HMAC */
  for (len = 1; len <= sizeof (pkt); len++) {
    n = rtmfp_cipher_encode (tx, 9, pkt, len, wire, sizeof (wire));
    g_assert_cmpuint ((n - 4 - 12) % 16, ==, 0);
    g_assert_cmpuint (n, <=, len + rtmfp_cipher_overhead (tx));
    g_assert_true (rtmfp_cipher_decode (rx, wire, n, out, &ol));
    g_assert_cmpmem (out, len, pkt, len);
    g_assert_cmpuint (ol, <, len + 16);
  }

  n = rtmfp_cipher_encode (tx, 9, pkt, 20, wire, sizeof (wire));
  /* every truncation and extension fails */
  for (len = 0; len < n; len++)
    g_assert_false (rtmfp_cipher_decode (rx, wire, len, out, &ol));
  memcpy (junk, wire, n);
  junk[n] = 0;
  g_assert_false (rtmfp_cipher_decode (rx, junk, n + 1, out, &ol));
  /* each byte of the HMAC and ciphertext matters; the SSID does not take
   * part in verification (it picks the session) */
  for (i = 4; i < n; i++) {
    memcpy (junk, wire, n);
    junk[i] ^= 0x80;
    g_assert_false (rtmfp_cipher_decode (rx, junk, n, out, &ol));
  }
  g_assert_true (rtmfp_cipher_decode (rx, wire, n, out, &ol));

  /* output buffer too small: nothing written, no sequence number used */
  g_assert_cmpuint (rtmfp_cipher_encode (tx, 9, pkt, 20, wire, n - 1), ==, 0);
  /* a session cipher's packet isn't a default-key packet and vice versa */
  {
    RtmfpCipher *def = rtmfp_cipher_new_default ();

    g_assert_false (rtmfp_cipher_is_default (tx));
    g_assert_false (rtmfp_cipher_decode (def, wire, n, out, &ol));
    n = rtmfp_cipher_encode (def, 0, pkt, 20, wire, sizeof (wire));
    g_assert_cmpuint (n, ==, 4 + 32);
    g_assert_false (rtmfp_cipher_decode (rx, wire, n, out, &ol));
    g_assert_cmpuint (rtmfp_cipher_overhead (def), ==, 4 + 2 + 15);
    rtmfp_cipher_free (def);
  }

  rtmfp_cipher_free (tx);
  rtmfp_cipher_free (rx);

  /* SSEQ + checksum: sequence numbers beyond one VLU byte keep working
   * (odd checksum regions, 4.7.3.1) */
  make_key_pair (0, TRUE, &ka, &kb);
  tx = rtmfp_cipher_new (&ka);
  rx = rtmfp_cipher_new (&kb);
  for (i = 0; i < 300; i++) {
    n = rtmfp_cipher_encode (tx, 9, pkt, 1 + i % 40, wire, sizeof (wire));
    g_assert_true (rtmfp_cipher_decode (rx, wire, n, out, &ol));
    g_assert_cmpmem (out, 1 + i % 40, pkt, 1 + i % 40);
  }
  rtmfp_cipher_free (tx);
  rtmfp_cipher_free (rx);
}

/* SSID scrambling with short encrypted packets (end-padded with zeros) */
static void
test_ssid_short (void)
{
  guint8 d[12] = { 0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x03, 0x04, 0x10,
    0x20, 0x30, 0x40
  };

  g_assert_cmphex (rtmfp_session_id_unscramble (d, 12), ==,
      0x11223344 ^ 0x01020304 ^ 0x10203040);
  g_assert_cmphex (rtmfp_session_id_unscramble (d, 9), ==,
      0x11223344 ^ 0x01020304 ^ 0x10000000);
  g_assert_cmphex (rtmfp_session_id_unscramble (d, 6), ==,
      0x11223344 ^ 0x01020000);
  g_assert_cmphex (rtmfp_session_id_unscramble (d, 4), ==, 0x11223344);
  g_assert_cmphex (rtmfp_session_id_unscramble (d, 3), ==, 0);
}

/* ---- certificates and identities (4.3, 5.3) ---- */

static void
test_identity_static (void)
{
  guint groups[] = { 14, 2, 14, 99 };
  RtmfpIdentity *a = rtmfp_identity_new_static (groups, 4);
  RtmfpIdentity *b = rtmfp_identity_new_static (groups, 2);
  const RtmfpCertInfo *info = rtmfp_identity_get_cert_info (a);
  RtmfpCertInfo parsed;
  const guint8 *cert;
  gsize cert_len, n;
  guint8 fp[32], back[32];
  gchar *peer;
  guint i;

  cert = rtmfp_identity_get_certificate (a, &cert_len);
  g_assert_true (rtmfp_cert_parse (cert, cert_len, &parsed));
  /* unsupported and duplicate groups dropped */
  g_assert_cmpuint (info->n_static_keys, ==, 2);
  g_assert_cmpuint (info->n_ephemeral_groups, ==, 0);
  g_assert_false (info->accepts_ancillary);
  g_assert_null (info->hostname);
  for (i = 0; i < 2; i++) {
    const RtmfpDH *dh = rtmfp_identity_get_static_dh (a, groups[i]);
    const guint8 *pub = rtmfp_dh_get_public_key (dh, &n);

    g_assert_cmpuint (info->static_keys[i].group, ==, groups[i]);
    g_assert_cmpmem (info->static_keys[i].key, info->static_keys[i].len,
        pub, n);
  }
  g_assert_null (rtmfp_identity_get_static_dh (a, 5));
  /* no marker: the fingerprint covers the whole certificate */
  rtmfp_sha256 (cert, cert_len, fp);
  g_assert_cmpmem (info->fingerprint, 32, fp, 32);
  g_assert_cmpmem (parsed.fingerprint, 32, fp, 32);
  g_assert_cmpmem (rtmfp_identity_get_fingerprint (a), 32, fp, 32);
  /* extra randomness in the canonical part */
  g_assert_true (find_option (cert, cert_len, RTMFP_CERT_OPT_EXTRA_RANDOMNESS,
          NULL));

  peer = rtmfp_identity_get_peer_id (a);
  g_assert_cmpuint (strlen (peer), ==, 64);
  g_assert_true (rtmfp_fingerprint_from_hex (peer, back));
  g_assert_cmpmem (back, 32, fp, 32);
  g_free (peer);

  /* 5.3: a new peer ID every time */
  g_assert_true (memcmp (rtmfp_identity_get_fingerprint (b), fp, 32) != 0);

  g_assert_true (rtmfp_identity_ref (a) == a);
  rtmfp_identity_unref (a);
  rtmfp_identity_unref (a);
  rtmfp_identity_unref (b);

  /* no usable group */
  groups[0] = 3;
  g_assert_null (rtmfp_identity_new_static (groups, 1));
  g_assert_null (rtmfp_identity_new_ephemeral (groups, 1, NULL, TRUE));
}

static void
test_identity_ephemeral (void)
{
  RtmfpIdentity *a = rtmfp_identity_new_ephemeral (NULL, 0,
      "media.example.com", TRUE);
  RtmfpIdentity *b = rtmfp_identity_new_ephemeral (NULL, 0, NULL, FALSE);
  const RtmfpCertInfo *ia = rtmfp_identity_get_cert_info (a);
  const RtmfpCertInfo *ib = rtmfp_identity_get_cert_info (b);
  const guint8 *cert;
  gsize len;

  g_assert_true (ia->accepts_ancillary);
  g_assert_cmpmem (ia->hostname, ia->hostname_len, "media.example.com", 17);
  g_assert_cmpuint (ia->n_ephemeral_groups, ==, 3);
  g_assert_cmpuint (ia->ephemeral_groups[0], ==, 14);
  g_assert_cmpuint (ia->ephemeral_groups[1], ==, 5);
  g_assert_cmpuint (ia->ephemeral_groups[2], ==, 2);
  g_assert_cmpuint (ia->n_static_keys, ==, 0);
  g_assert_null (rtmfp_identity_get_static_dh (a, 14));
  cert = rtmfp_identity_get_certificate (a, &len);
  /* the Adobe server's layout starts with Accepts Ancillary Data */
  g_assert_cmphex (cert[0], ==, 0x01);
  g_assert_cmphex (cert[1], ==, 0x0a);

  g_assert_false (ib->accepts_ancillary);
  g_assert_null (ib->hostname);
  /* unique fingerprints from the extra randomness */
  g_assert_true (memcmp (ia->fingerprint, ib->fingerprint, 32) != 0);

  rtmfp_identity_unref (a);
  rtmfp_identity_unref (b);
}

static void
assert_cert (const gchar * h, gboolean ok)
{
  GBytes *b = hex (h);
  gsize n;
  RtmfpCertInfo info;

  const guint8 *d = bdata (b, &n);

  g_assert_cmpint (rtmfp_cert_parse (d, n, &info), ==, ok);
  g_bytes_unref (b);
}

static void
test_cert_parse (void)
{
  /* hostname "ab", accepts ancillary, group 2 | marker | hostname "cd",
   * group 5, accepts ancillary again */
  GBytes *b = hex ("03006162" "010a" "021502" "00" "03006364" "021505");
  gsize n;
  const guint8 *d = bdata (b, &n);
  RtmfpCertInfo info;
  guint8 fp[32];

  g_assert_true (rtmfp_cert_parse (d, n, &info));
  g_assert_cmpmem (info.hostname, info.hostname_len, "ab", 2);
  g_assert_true (info.accepts_ancillary);
  g_assert_cmpuint (info.n_ephemeral_groups, ==, 1);
  g_assert_cmpuint (info.ephemeral_groups[0], ==, 2);
  rtmfp_sha256 (d, 9, fp);
  g_assert_cmpmem (info.fingerprint, 32, fp, 32);
  g_bytes_unref (b);

  /* the fingerprint changes with the canonical part only */
  {
    GBytes *b2 = hex ("03006162" "010a" "021502" "00" "021502" "0000");
    RtmfpCertInfo info2;

    d = bdata (b2, &n);
    g_assert_true (rtmfp_cert_parse (d, n, &info2));
    g_assert_cmpmem (info2.fingerprint, 32, info.fingerprint, 32);
    g_bytes_unref (b2);
  }

  /* a marker first: empty canonical section */
  b = hex ("00021502");
  d = bdata (b, &n);
  g_assert_true (rtmfp_cert_parse (d, n, &info));
  g_assert_cmpuint (info.n_ephemeral_groups, ==, 0);
  rtmfp_sha256 (NULL, 0, fp);
  g_assert_cmpmem (info.fingerprint, 32, fp, 32);
  g_bytes_unref (b);

  /* empty certificate */
  g_assert_true (rtmfp_cert_parse (NULL, 0, &info));
  g_assert_cmpmem (info.fingerprint, 32, fp, 32);

  /* unknown options ignored, extra randomness anywhere */
  assert_cert ("0333ffff" "020e00" "021502", TRUE);
  /* multi-byte group VLU (group 128 = 81 00), unknown groups kept */
  assert_cert ("03158100", TRUE);

  /* malformed */
  assert_cert ("05", FALSE);    /* truncated */
  assert_cert ("0300", FALSE);  /* truncated */
  assert_cert ("80", FALSE);    /* unterminated VLU */
  assert_cert ("028080", FALSE);        /* type VLU unterminated inside */
  assert_cert ("0300616203006364", FALSE);      /* hostname twice */
  assert_cert ("021502" "831d0201", FALSE);     /* ephemeral + static */
  assert_cert ("831d0201" "021502", FALSE);     /* static + ephemeral */
  assert_cert ("831d0201" "831d0202", FALSE);   /* static group twice */
  assert_cert ("021d02", FALSE);        /* static group without key */
  assert_cert ("0115", FALSE);  /* group missing */
  assert_cert ("03150202", FALSE);      /* junk after the group */
  assert_cert ("021580", FALSE);        /* bad group VLU */
  /* after the marker those rules don't apply (ignored options) but the
   * encoding must still be valid */
  assert_cert ("021502" "00" "0300616203006364", TRUE);
  assert_cert ("021502" "00" "05", FALSE);
}

static void
test_cert_compare (void)
{
  static const guint8 a[] = { 1, 2, 3 }, b[] = { 1, 2, 3, 0 },
      c[] = { 1, 2, 0x80 }, d[] = { 1, 2, 0x7f };

  g_assert_cmpint (rtmfp_cert_compare (a, 3, a, 3), ==, 0);
  g_assert_cmpint (rtmfp_cert_compare (a, 3, b, 4), <, 0);
  g_assert_cmpint (rtmfp_cert_compare (b, 4, a, 3), >, 0);
  /* unsigned bytes */
  g_assert_cmpint (rtmfp_cert_compare (c, 3, d, 3), >, 0);
  g_assert_cmpint (rtmfp_cert_compare (d, 3, c, 3), <, 0);
  g_assert_cmpint (rtmfp_cert_compare (c, 3, b, 4), >, 0);
  g_assert_cmpint (rtmfp_cert_compare (NULL, 0, a, 3), <, 0);
  g_assert_cmpint (rtmfp_cert_compare (NULL, 0, NULL, 0), ==, 0);

  g_assert_true (rtmfp_cert_overrides (a, 3, a, 3));
  g_assert_false (rtmfp_cert_overrides (a, 3, b, 4));
  g_assert_false (rtmfp_cert_overrides (c, 3, d, 3));
}

/* ---- EPDs (4.4) ---- */

static void
test_epd (void)
{
  RtmfpIdentity *srv = rtmfp_identity_new_ephemeral (NULL, 0, "host.example",
      TRUE);
  RtmfpIdentity *plain = rtmfp_identity_new_ephemeral (NULL, 0, NULL, FALSE);
  RtmfpIdentity *other = rtmfp_identity_new_ephemeral (NULL, 0,
      "other.example", FALSE);
  const RtmfpCertInfo *cs = rtmfp_identity_get_cert_info (srv);
  const RtmfpCertInfo *cp = rtmfp_identity_get_cert_info (plain);
  const RtmfpCertInfo *co = rtmfp_identity_get_cert_info (other);
  GByteArray *e = g_byte_array_new ();
  RtmfpEpdInfo info;
  guint8 canon[RTMFP_CANONICAL_EPD_SIZE];

  /* canonical EPD: 21 0f fingerprint */
  rtmfp_epd_canonical (cs->fingerprint, canon);
  g_assert_cmphex (canon[0], ==, 0x21);
  g_assert_cmphex (canon[1], ==, 0x0f);
  g_assert_cmpmem (canon + 2, 32, cs->fingerprint, 32);
  rtmfp_epd_append_fingerprint (e, cs->fingerprint);
  g_assert_cmpmem (e->data, e->len, canon, sizeof (canon));
  g_assert_true (rtmfp_epd_parse (canon, sizeof (canon), &info));
  g_assert_true (info.has_fingerprint);
  g_assert_true (rtmfp_epd_selects (&info, cs));
  g_assert_false (rtmfp_epd_selects (&info, cp));
  g_byte_array_set_size (e, 0);

  /* fingerprint decides alone, whatever else is there */
  rtmfp_epd_append_hostname (e, "host.example");
  rtmfp_epd_append_fingerprint (e, cp->fingerprint);
  rtmfp_epd_append_ancillary (e, "rtmfp://host.example/app");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_cmpmem (info.hostname, info.hostname_len, "host.example", 12);
  g_assert_cmpmem (info.ancillary, info.ancillary_len,
      "rtmfp://host.example/app", 24);
  g_assert_false (rtmfp_epd_selects (&info, cs));
  g_assert_true (rtmfp_epd_selects (&info, cp));
  g_byte_array_set_size (e, 0);

  /* required hostname only: needs the identical hostname */
  rtmfp_epd_append_hostname (e, "host.example");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_true (rtmfp_epd_selects (&info, cs));
  g_assert_false (rtmfp_epd_selects (&info, cp));
  g_assert_false (rtmfp_epd_selects (&info, co));
  g_byte_array_set_size (e, 0);
  /* an empty required hostname needs an empty Hostname option */
  rtmfp_epd_append_hostname (e, "");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_false (rtmfp_epd_selects (&info, cp));
  g_assert_false (rtmfp_epd_selects (&info, cs));
  {
    RtmfpCertInfo empty_host;

    g_assert_true (rtmfp_cert_parse ((const guint8 *) "\x01\x00", 2,
            &empty_host));
    g_assert_true (rtmfp_epd_selects (&info, &empty_host));
  }
  g_byte_array_set_size (e, 0);
  rtmfp_epd_append_hostname (e, "host.exampl");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_false (rtmfp_epd_selects (&info, cs));
  g_byte_array_set_size (e, 0);

  /* ancillary only: needs Accepts Ancillary Data */
  rtmfp_epd_append_ancillary (e, "rtmfp://x/y");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_true (rtmfp_epd_selects (&info, cs));
  g_assert_false (rtmfp_epd_selects (&info, cp));
  g_assert_false (rtmfp_epd_selects (&info, co));
  g_byte_array_set_size (e, 0);

  /* both: needs both */
  rtmfp_epd_append_ancillary (e, "rtmfp://x/y");
  rtmfp_epd_append_hostname (e, "other.example");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_false (rtmfp_epd_selects (&info, co));       /* no ancillary */
  g_assert_false (rtmfp_epd_selects (&info, cs));       /* wrong host */
  g_byte_array_set_size (e, 0);

  /* none of the three: not an EPD that selects anything */
  put_option (e, 0x33, "01");
  g_assert_false (rtmfp_epd_parse (e->data, e->len, &info));
  g_assert_false (rtmfp_epd_parse (NULL, 0, &info));
  memset (&info, 0, sizeof (info));
  g_assert_false (rtmfp_epd_selects (&info, cs));
  g_byte_array_set_size (e, 0);

  /* unknown options beside a known one are fine */
  put_option (e, 0x33, "01");
  rtmfp_epd_append_ancillary (e, "u");
  g_assert_true (rtmfp_epd_parse (e->data, e->len, &info));
  g_byte_array_set_size (e, 0);

  /* duplicates, bad fingerprint length, truncation */
  rtmfp_epd_append_ancillary (e, "a");
  rtmfp_epd_append_ancillary (e, "b");
  g_assert_false (rtmfp_epd_parse (e->data, e->len, &info));
  g_byte_array_set_size (e, 0);
  rtmfp_epd_append_hostname (e, "a");
  rtmfp_epd_append_hostname (e, "a");
  g_assert_false (rtmfp_epd_parse (e->data, e->len, &info));
  g_byte_array_set_size (e, 0);
  rtmfp_epd_append_fingerprint (e, cs->fingerprint);
  rtmfp_epd_append_fingerprint (e, cs->fingerprint);
  g_assert_false (rtmfp_epd_parse (e->data, e->len, &info));
  g_byte_array_set_size (e, 0);
  rtmfp_option_append (e, 0x0f, cs->fingerprint, 31);
  g_assert_false (rtmfp_epd_parse (e->data, e->len, &info));
  g_byte_array_set_size (e, 0);
  g_assert_false (rtmfp_epd_parse (canon, sizeof (canon) - 1, &info));

  g_byte_array_unref (e);
  rtmfp_identity_unref (srv);
  rtmfp_identity_unref (plain);
  rtmfp_identity_unref (other);
}

static void
test_fingerprint_hex (void)
{
  guint8 fp[32], back[32];
  gchar *s, *up;
  guint i;

  for (i = 0; i < 32; i++)
    fp[i] = (guint8) (i * 9 + 0xa0);
  s = rtmfp_fingerprint_to_hex (fp);
  g_assert_cmpstr (s, ==,
      "a0a9b2bbc4cdd6dfe8f1fa030c151e273039424b545d666f78818a939ca5aeb7");
  up = g_ascii_strup (s, -1);
  g_assert_true (rtmfp_fingerprint_from_hex (up, back));
  g_assert_cmpmem (back, 32, fp, 32);
  memset (back, 0, sizeof (back));
  g_assert_false (rtmfp_fingerprint_from_hex ("a0a9", back));
  up[63] = 'g';
  g_assert_false (rtmfp_fingerprint_from_hex (up, back));
  g_free (up);
  up = g_strconcat (s, "0", NULL);
  g_assert_false (rtmfp_fingerprint_from_hex (up, back));
  g_assert_false (rtmfp_fingerprint_from_hex (NULL, back));
  g_assert_false (rtmfp_fingerprint_from_hex ("", back));
  /* failures leave the output alone */
  for (i = 0; i < 32; i++)
    g_assert_cmphex (back[i], ==, 0);
  g_free (up);
  g_free (s);
}

/* ---- robustness: random and mutated input never crashes ---- */

static void
test_random_input (void)
{
  GRand *rand = g_rand_new_with_seed (0x7425);
  RtmfpIdentity *res = rtmfp_identity_new_ephemeral (NULL, 0, NULL, TRUE);
  RtmfpIdentity *ini = rtmfp_identity_new_static (NULL, 0);
  const guint8 *icert, *rcert;
  gsize icert_len, rcert_len;
  Handshake h;
  RtmfpSessionKeys ka, kb;
  RtmfpCipher *rx, *def;
  guint8 buf[600], out[700];
  guint i;

  icert = rtmfp_identity_get_certificate (ini, &icert_len);
  rcert = rtmfp_identity_get_certificate (res, &rcert_len);
  g_assert_true (handshake (&h, ini, res, NULL, NULL, NULL));
  make_key_pair (16, TRUE, &ka, &kb);
  rx = rtmfp_cipher_new (&kb);
  def = rtmfp_cipher_new_default ();

  for (i = 0; i < 3000; i++) {
    gsize len = g_rand_int_range (rand, 0, 300), j, n;
    RtmfpCertInfo ci;
    RtmfpEpdInfo ei;
    RtmfpKeying *k;
    GError *err = NULL;

    /* pure noise, or a mutated valid structure */
    switch (i % 4) {
      case 0:
        for (j = 0; j < len; j++)
          buf[j] = (guint8) g_rand_int (rand);
        break;
      case 1:{
        gsize clen;
        const guint8 *c = rtmfp_keying_get_near_component (h.ini, &clen);

        len = MIN (clen, sizeof (buf));
        memcpy (buf, c, len);
        break;
      }
      case 2:
        len = MIN (icert_len, sizeof (buf));
        memcpy (buf, icert, len);
        break;
      default:
        len = MIN (rcert_len, sizeof (buf));
        memcpy (buf, rcert, len);
        break;
    }
    if (i % 4 != 0 && len > 0) {
      guint flips = g_rand_int_range (rand, 1, 4), f;

      for (f = 0; f < flips; f++)
        buf[g_rand_int_range (rand, 0, len)] ^=
            (guint8) g_rand_int_range (rand, 1, 256);
      if (g_rand_boolean (rand))
        len = g_rand_int_range (rand, 0, len + 1);
    }

    if (rtmfp_cert_parse (buf, len, &ci)) {
      g_assert_cmpuint (ci.n_ephemeral_groups, <=, RTMFP_CERT_MAX_GROUPS);
      g_assert_cmpuint (ci.n_static_keys, <=, RTMFP_CERT_MAX_GROUPS);
      g_assert_true (ci.n_ephemeral_groups == 0 || ci.n_static_keys == 0);
      if (ci.hostname)
        g_assert_true (ci.hostname >= buf &&
            ci.hostname + ci.hostname_len <= buf + len);
    }
    if (rtmfp_epd_parse (buf, len, &ei))
      g_assert_true (ei.has_fingerprint || ei.hostname || ei.ancillary);

    /* as an SKIC from the static initiator, and as its certificate */
    k = rtmfp_keying_new_responder (res, icert, icert_len, buf, len, NULL,
        &err);
    g_assert_true ((k == NULL) == (err != NULL));
    rtmfp_keying_free (k);
    g_clear_error (&err);
    {
      gsize skic_len;
      const guint8 *skic = rtmfp_keying_get_near_component (h.ini,
          &skic_len);

      k = rtmfp_keying_new_responder (res, buf, len, skic, skic_len, NULL,
          &err);
      g_assert_true ((k == NULL) == (err != NULL));
      rtmfp_keying_free (k);
      g_clear_error (&err);
    }
    /* as a responder certificate and SKRC for a new initiator */
    k = rtmfp_keying_new_initiator (ini, buf, len, NULL, &err);
    g_assert_true ((k == NULL) == (err != NULL));
    g_clear_error (&err);
    if (k != NULL) {
      gboolean ok = rtmfp_keying_set_far_component (k, buf, len, &err);

      g_assert_true (ok == (err == NULL));
      g_clear_error (&err);
      rtmfp_keying_free (k);
    }

    /* as datagrams */
    g_assert_false (rtmfp_cipher_decode (rx, buf, len, out, &n));
    rtmfp_cipher_decode (def, buf, len, out, &n);
    rtmfp_session_id_unscramble (buf, len);
  }

  rtmfp_cipher_free (rx);
  rtmfp_cipher_free (def);
  handshake_clear (&h);
  rtmfp_identity_unref (ini);
  rtmfp_identity_unref (res);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/crypto/primitives", test_primitives);
  g_test_add_func ("/crypto/dh/groups", test_dh_groups);
  g_test_add_func ("/crypto/dh/agree", test_dh_agree);
  g_test_add_func ("/crypto/dh/validity", test_dh_validity);
  g_test_add_func ("/crypto/dh/validity-bounds", test_dh_validity_bounds);
  g_test_add_func ("/crypto/dh/fixed-private-kat", test_dh_fixed_private);
  g_test_add_func ("/crypto/derive-keys-kat", test_derive_keys_kat);
  g_test_add_func ("/crypto/keying/modes", test_keying_modes);
  g_test_add_func ("/crypto/keying/group-choice", test_keying_group_choice);
  g_test_add_func ("/crypto/keying/negotiation", test_keying_negotiation);
  g_test_add_func ("/crypto/keying/bad-components",
      test_keying_bad_components);
  g_test_add_func ("/crypto/signature", test_signature);
  g_test_add_func ("/crypto/cipher/replay", test_cipher_replay);
  g_test_add_func ("/crypto/cipher/no-commit-on-failure",
      test_cipher_no_commit_on_failure);
  g_test_add_func ("/crypto/cipher/lengths", test_cipher_lengths);
  g_test_add_func ("/crypto/ssid-short", test_ssid_short);
  g_test_add_func ("/crypto/cert/identity-static", test_identity_static);
  g_test_add_func ("/crypto/cert/identity-ephemeral", test_identity_ephemeral);
  g_test_add_func ("/crypto/cert/parse", test_cert_parse);
  g_test_add_func ("/crypto/cert/compare", test_cert_compare);
  g_test_add_func ("/crypto/epd", test_epd);
  g_test_add_func ("/crypto/fingerprint-hex", test_fingerprint_hex);
  g_test_add_func ("/crypto/random-input", test_random_input);

  return g_test_run ();
}
