/* RTMFP core: Diffie-Hellman for the RFC 7425 Flash profile (4.2, 4.6.2).
 *
 * MODP groups 2 (RFC 7296 / RFC 2409, 1024 bits), 5 (1536), 14 (2048) and
 * 16 (4096) from RFC 3526, generator 2.  Big numbers are GMP's; the
 * modular exponentiation uses mpz_powm_sec (side-channel silent).
 *
 * The primes below were checked when transcribed: each equals
 * 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k) with the RFCs'
 * k, and both p and (p-1)/2 pass Miller-Rabin.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-dh"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gmp.h>

#include "rtmfpcrypto.h"

typedef struct
{
  guint id;
  gsize size;                   /* bytes of p */
  const gchar *hex;
} DHGroupDef;

static const DHGroupDef group_defs[] = {
  {2, 128,
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
      "FFFFFFFFFFFFFFFF"},
  {5, 192,
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
      "670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF"},
  {14, 256,
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
        "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
        "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
      "15728E5A8AACAA68FFFFFFFFFFFFFFFF"},
  {16, 512,
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
        "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
        "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
        "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B"
        "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
        "43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
        "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA"
        "2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6"
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED"
        "1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
        "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199"
      "FFFFFFFFFFFFFFFF"},
};

#define N_GROUPS G_N_ELEMENTS (group_defs)
#define DH_GENERATOR 2
/* Random private exponents: 512 bits, far above twice the strength of the
 * largest group (4096-bit MODP ~ 150 bits). */
#define DH_PRIVATE_BYTES 64
/* 4.6.2 limits */
#define DH_KEY_MARGIN 16777216UL        /* 2^24 */
#define DH_MIN_BITS_SET 16
#define DH_MIN_BITS_CLEAR 16

struct _RtmfpDH
{
  const DHGroupDef *def;
  mpz_t priv;
  guint8 *pub;                  /* def->size bytes, big endian */
};

/* The primes, parsed once and kept for the life of the process. */
static mpz_t group_primes[N_GROUPS];

static void
init_primes (void)
{
  static gsize inited = 0;

  if (g_once_init_enter (&inited)) {
    guint i;

    for (i = 0; i < N_GROUPS; i++) {
      int r = mpz_init_set_str (group_primes[i], group_defs[i].hex, 16);

      g_assert (r == 0);
      g_assert ((mpz_sizeinbase (group_primes[i], 2) + 7) / 8 ==
          group_defs[i].size);
    }
    g_once_init_leave (&inited, 1);
  }
}

static gint
group_index (guint group)
{
  guint i;

  for (i = 0; i < N_GROUPS; i++)
    if (group_defs[i].id == group)
      return (gint) i;
  return -1;
}

static mpz_srcptr
group_prime (const DHGroupDef * def)
{
  init_primes ();
  return group_primes[def - group_defs];
}

gboolean
rtmfp_dh_group_supported (guint group)
{
  return group_index (group) >= 0;
}

gsize
rtmfp_dh_group_size (guint group)
{
  gint i = group_index (group);

  return i >= 0 ? group_defs[i].size : 0;
}

/* Overwrites the limbs of a secret number before it is freed: GMP does
 * not clear memory itself. */
static void
mpz_wipe_clear (mpz_t x)
{
  gsize n = mpz_size (x);

  if (n > 0) {
    mp_limb_t *limbs = mpz_limbs_modify (x, (mp_size_t) n);

    memset (limbs, 0, n * sizeof (mp_limb_t));
  }
  mpz_clear (x);
}

/* Big-endian export into exactly size bytes (left-padded with zeros).
 * x must fit. */
static void
mpz_export_fixed (const mpz_t x, guint8 * out, gsize size)
{
  gsize n = (mpz_sgn (x) == 0) ? 0 : (mpz_sizeinbase (x, 2) + 7) / 8;
  gsize count = 0;

  g_assert (n <= size);
  memset (out, 0, size - n);
  if (n > 0)
    mpz_export (out + (size - n), &count, 1, 1, 1, 0, x);
  g_assert (count == n);
}

/* 4.6.2: y >= 2^24, y <= p - 2^24, >= 16 one bits, >= 16 zero bits not
 * counting leading zeros. */
static gboolean
public_key_ok (const mpz_t y, const mpz_t p)
{
  mpz_t hi;
  gsize bits;
  mp_bitcnt_t ones;
  gboolean ok = TRUE;

  if (mpz_cmp_ui (y, DH_KEY_MARGIN) < 0)
    return FALSE;

  mpz_init (hi);
  mpz_sub_ui (hi, p, DH_KEY_MARGIN);
  if (mpz_cmp (y, hi) > 0)
    ok = FALSE;
  mpz_clear (hi);
  if (!ok)
    return FALSE;

  bits = mpz_sizeinbase (y, 2);
  ones = mpz_popcount (y);
  if (ones < DH_MIN_BITS_SET)
    return FALSE;
  if (bits - ones < DH_MIN_BITS_CLEAR)
    return FALSE;
  return TRUE;
}

/* Imports a far public key; FALSE if it is longer than the group's size
 * (after any leading zero bytes) or fails the 4.6.2 checks. */
static gboolean
import_public_key (const DHGroupDef * def, const guint8 * key, gsize len,
    mpz_t y)
{
  while (len > 0 && key[0] == 0) {
    key++;
    len--;
  }
  if (len == 0 || len > def->size)
    return FALSE;
  mpz_import (y, len, 1, 1, 1, 0, key);
  return public_key_ok (y, group_prime (def));
}

gboolean
rtmfp_dh_public_key_is_valid (guint group, const guint8 * key, gsize len)
{
  gint i = group_index (group);
  mpz_t y;
  gboolean ok;

  if (i < 0 || key == NULL)
    return FALSE;
  mpz_init (y);
  ok = import_public_key (&group_defs[i], key, len, y);
  mpz_clear (y);
  return ok;
}

/* Computes the public key from the private one.  FALSE if the result would
 * be refused by a peer (4.6.2), vanishingly unlikely for a random x. */
static gboolean
dh_make_public (RtmfpDH * dh)
{
  mpz_srcptr p = group_prime (dh->def);
  mpz_t g, y;
  gboolean ok;

  mpz_init_set_ui (g, DH_GENERATOR);
  mpz_init (y);
  mpz_powm_sec (y, g, dh->priv, p);
  ok = public_key_ok (y, p);
  if (ok)
    mpz_export_fixed (y, dh->pub, dh->def->size);
  mpz_clear (y);
  mpz_clear (g);
  return ok;
}

static RtmfpDH *
dh_alloc (const DHGroupDef * def)
{
  RtmfpDH *dh = g_new0 (RtmfpDH, 1);

  dh->def = def;
  mpz_init (dh->priv);
  dh->pub = g_malloc0 (def->size);
  return dh;
}

RtmfpDH *
rtmfp_dh_new (guint group)
{
  gint i = group_index (group);
  RtmfpDH *dh;
  guint8 x[DH_PRIVATE_BYTES];

  if (i < 0)
    return NULL;

  dh = dh_alloc (&group_defs[i]);
  do {
    rtmfp_random_bytes (x, sizeof (x));
    x[0] |= 0x80;               /* full 512 bits, well above 1 */
    mpz_import (dh->priv, sizeof (x), 1, 1, 1, 0, x);
  } while (!dh_make_public (dh));
  memset (x, 0, sizeof (x));
  return dh;
}

RtmfpDH *
rtmfp_dh_new_with_private (guint group, const guint8 * priv, gsize priv_len)
{
  gint i = group_index (group);
  RtmfpDH *dh;

  g_return_val_if_fail (priv != NULL && priv_len > 0, NULL);

  if (i < 0)
    return NULL;

  dh = dh_alloc (&group_defs[i]);
  mpz_import (dh->priv, priv_len, 1, 1, 1, 0, priv);
  /* x must lie in [2, p-2] and give an acceptable public key */
  if (priv_len > dh->def->size || mpz_cmp_ui (dh->priv, 2) < 0 ||
      mpz_cmp (dh->priv, group_prime (dh->def)) >= 0 ||
      !dh_make_public (dh)) {
    rtmfp_dh_free (dh);
    return NULL;
  }
  return dh;
}

void
rtmfp_dh_free (RtmfpDH * dh)
{
  if (dh == NULL)
    return;
  mpz_wipe_clear (dh->priv);
  g_free (dh->pub);
  g_free (dh);
}

guint
rtmfp_dh_get_group (const RtmfpDH * dh)
{
  g_return_val_if_fail (dh != NULL, 0);
  return dh->def->id;
}

const guint8 *
rtmfp_dh_get_public_key (const RtmfpDH * dh, gsize * len)
{
  g_return_val_if_fail (dh != NULL, NULL);
  if (len)
    *len = dh->def->size;
  return dh->pub;
}

static void
wipe_free (gpointer data, gsize len)
{
  memset (data, 0, len);
  g_free (data);
}

typedef struct
{
  guint8 *data;
  gsize len;
} SecretBuf;

static void
secret_buf_free (gpointer p)
{
  SecretBuf *b = p;

  wipe_free (b->data, b->len);
  g_free (b);
}

/* A wiped-on-free GBytes of the big-endian value of x, no leading zero
 * bytes (x > 0) */
static GBytes *
secret_bytes (const mpz_t x)
{
  SecretBuf *buf = g_new0 (SecretBuf, 1);
  gsize count = 0;

  buf->len = (mpz_sizeinbase (x, 2) + 7) / 8;
  buf->data = g_malloc0 (MAX (buf->len, 1));
  if (mpz_sgn (x) != 0)
    mpz_export (buf->data, &count, 1, 1, 1, 0, x);
  buf->len = count;
  return g_bytes_new_with_free_func (buf->data, buf->len, secret_buf_free,
      buf);
}

GBytes *
rtmfp_dh_get_private_key (const RtmfpDH * dh)
{
  g_return_val_if_fail (dh != NULL, NULL);
  return secret_bytes (dh->priv);
}

GBytes *
rtmfp_dh_compute_secret (const RtmfpDH * dh, const guint8 * far_key,
    gsize far_len)
{
  mpz_t y, s;
  GBytes *secret;

  g_return_val_if_fail (dh != NULL, NULL);

  if (far_key == NULL)
    return NULL;

  mpz_init (y);
  if (!import_public_key (dh->def, far_key, far_len, y)) {
    mpz_clear (y);
    return NULL;
  }

  /* DH_SECRET = y^x mod p */
  mpz_init (s);
  mpz_powm_sec (s, y, dh->priv, group_prime (dh->def));
  mpz_clear (y);

  /* 4.6.2: big endian, no leading zero bytes.  s >= 2: y is neither 1
   * nor p-1 and p is a safe prime. */
  secret = secret_bytes (s);
  mpz_wipe_clear (s);
  return secret;
}
