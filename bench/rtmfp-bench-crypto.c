/* rtmfp-bench-crypto: the single-core cost of RTMFP packet protection
 * (RFC 7425 4.7: AES-128-CBC with a zero IV per packet, then a truncated
 * HMAC-SHA256 over the cipher blocks), for one packet size (default: a
 * full 1160-byte plain packet, i.e. a 1188-byte datagram).
 *
 * Rows:
 *   - the primitives alone (nettle, and GnuTLS for comparison);
 *   - "limit": what a session must do per packet, with the fastest nettle
 *     calls and pre-keyed contexts: the ceiling for one core;
 *   - our rtmfp_cipher_encode / rtmfp_cipher_decode (SSEQ + 16-byte HMAC,
 *     the negotiated default), which add framing, the SSEQ window, copies.
 *
 * Rates count bytes of plain RTMFP packet per second (what the session
 * layer hands to the cipher), so they compare directly with goodput.
 *
 * Prints a markdown table; --csv FILE writes the same rows as CSV.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-bench"

#include "config.h"

#include <string.h>
#include <stdlib.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/hmac.h>
#include <nettle/version.h>

#include "rtmfpcrypto.h"
#include "benchutil.h"

static gint opt_size = 1160;
static gdouble opt_seconds = 1.0;
static gchar *opt_csv;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"size", 's', 0, G_OPTION_ARG_INT, &opt_size,
      "Plain RTMFP packet size in bytes (default 1160)", "BYTES"},
  {"seconds", 't', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
      "Seconds per measurement, split in 5 trials (default 1)", "S"},
  {"csv", 0, 0, G_OPTION_ARG_FILENAME, &opt_csv,
      "Also write the rows to this CSV file", "FILE"},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  const gchar *name;
  const gchar *what;
  gdouble pps;                  /* packets per second */
} Row;

static GArray *rows;
static gsize plain_len, cipher_len;

static void
add_row (const gchar * name, const gchar * what, gdouble pps)
{
  Row r = { name, what, pps };

  g_array_append_val (rows, r);
}

/* The machine is shared: every measurement is the best of TRIALS runs
 * of opt_seconds / TRIALS each, timed in CPU time of this thread
 * (bench_thread_cpu), which other load does not inflate. */
#define TRIALS 5

/* Runs body(ctx) in batches of 64; returns calls per second. */
typedef void (*BodyFunc) (gpointer ctx);

static gdouble
run (BodyFunc body, gpointer ctx)
{
  gdouble best = 0;
  guint trial, i;

  for (trial = 0; trial < TRIALS; trial++) {
    gdouble t0 = bench_thread_cpu (), t;
    guint64 n = 0;

    do {
      for (i = 0; i < 64; i++)
        body (ctx);
      n += 64;
      t = bench_thread_cpu ();
    } while (t - t0 < opt_seconds / TRIALS);
    best = MAX (best, n / (t - t0));
  }
  return best;
}

/* ---- nettle primitives ---- */

typedef struct {
  struct aes128_ctx enc, dec;
  struct hmac_sha256_ctx hmac;
  guint8 key[32];
  guint8 buf[16384 + 64];
  guint8 out[16384 + 64];
  guint8 mac[32];
} Nettle;

static void
body_cbc_generic (gpointer p)
{
  Nettle *n = p;
  guint8 iv[16] = { 0 };

  cbc_encrypt (&n->enc, (nettle_cipher_func *) aes128_encrypt, 16, iv,
      cipher_len, n->buf, n->buf);
}

#if NETTLE_VERSION_MAJOR > 3 || NETTLE_VERSION_MINOR >= 8
static void
body_cbc_aes128 (gpointer p)
{
  Nettle *n = p;
  guint8 iv[16] = { 0 };

  cbc_aes128_encrypt (&n->enc, iv, cipher_len, n->buf, n->buf);
}
#endif

static void
body_cbc_decrypt (gpointer p)
{
  Nettle *n = p;
  guint8 iv[16] = { 0 };

  cbc_decrypt (&n->dec, (nettle_cipher_func *) aes128_decrypt, 16, iv,
      cipher_len, n->out, n->buf);
}

static void
body_hmac_prekeyed (gpointer p)
{
  Nettle *n = p;

  hmac_sha256_update (&n->hmac, cipher_len, n->buf);
  hmac_sha256_digest (&n->hmac, 32, n->mac);
}

static void
body_hmac_rekeyed (gpointer p)
{
  Nettle *n = p;
  struct hmac_sha256_ctx ctx;

  hmac_sha256_set_key (&ctx, 32, n->key);
  hmac_sha256_update (&ctx, cipher_len, n->buf);
  hmac_sha256_digest (&ctx, 32, n->mac);
}

/* ---- GnuTLS ---- */

typedef struct {
  gnutls_cipher_hd_t cipher;
  gnutls_hmac_hd_t hmac;
  guint8 buf[16384 + 64];
  guint8 mac[32];
} Gnutls;

static void
body_gnutls_enc (gpointer p)
{
  Gnutls *g = p;
  guint8 iv[16] = { 0 };

  gnutls_cipher_set_iv (g->cipher, iv, 16);
  gnutls_cipher_encrypt (g->cipher, g->buf, cipher_len);
  gnutls_hmac (g->hmac, g->buf, cipher_len);
  gnutls_hmac_output (g->hmac, g->mac);
}

static void
body_gnutls_cbc (gpointer p)
{
  Gnutls *g = p;
  guint8 iv[16] = { 0 };

  gnutls_cipher_set_iv (g->cipher, iv, 16);
  gnutls_cipher_encrypt (g->cipher, g->buf, cipher_len);
}

static void
body_gnutls_hmac (gpointer p)
{
  Gnutls *g = p;

  gnutls_hmac (g->hmac, g->buf, cipher_len);
  gnutls_hmac_output (g->hmac, g->mac);
}

/* ---- rtmfp_cipher ---- */

#define BATCH 2048

typedef struct {
  RtmfpCipher *a, *b;           /* a encodes, b decodes */
  guint8 plain[16384];
  guint8 *dgrams;               /* BATCH datagrams of dgram_size */
  gsize dgram_size;
  gsize lens[BATCH];
  guint8 out[16384 + 64];
  guint64 failures;
} Ours;

static void
ours_keys (RtmfpSessionKeys * k, gboolean mirror)
{
  guint8 k1[32], k2[32], h1[32], h2[32];

  memset (k1, 0x11, 32);
  memset (k2, 0x22, 32);
  memset (h1, 0x33, 32);
  memset (h2, 0x44, 32);
  memset (k, 0, sizeof (*k));
  memcpy (k->encrypt_key, mirror ? k2 : k1, 32);
  memcpy (k->decrypt_key, mirror ? k1 : k2, 32);
  memcpy (k->hmac_send_key, mirror ? h2 : h1, 32);
  memcpy (k->hmac_recv_key, mirror ? h1 : h2, 32);
  k->hmac_send_len = k->hmac_recv_len = 16;
  k->sseq_send = k->sseq_recv = TRUE;
}

static void
body_ours_encode (gpointer p)
{
  Ours *o = p;

  if (rtmfp_cipher_encode (o->a, 0x12345678, o->plain, plain_len, o->out,
          sizeof (o->out)) == 0)
    o->failures++;
}

static void
body_ours_both (gpointer p)
{
  Ours *o = p;
  gsize n, outlen;

  n = rtmfp_cipher_encode (o->a, 0x12345678, o->plain, plain_len, o->dgrams,
      o->dgram_size);
  if (n == 0 || !rtmfp_cipher_decode (o->b, o->dgrams, n, o->out, &outlen)
      || outlen < plain_len)
    o->failures++;
}

/* Decode only: batches of datagrams encoded beforehand, outside the
 * clock (each sequence number is accepted once). */
static gdouble
run_ours_decode_once (Ours * o)
{
  gdouble spent = 0, t0;
  guint64 n = 0;
  guint i;

  do {
    for (i = 0; i < BATCH; i++)
      o->lens[i] = rtmfp_cipher_encode (o->a, 0x12345678, o->plain,
          plain_len, o->dgrams + i * o->dgram_size, o->dgram_size);
    t0 = bench_thread_cpu ();
    for (i = 0; i < BATCH; i++) {
      gsize outlen;
      if (!rtmfp_cipher_decode (o->b, o->dgrams + i * o->dgram_size,
              o->lens[i], o->out, &outlen))
        o->failures++;
    }
    spent += bench_thread_cpu () - t0;
    n += BATCH;
  } while (spent < opt_seconds / TRIALS);
  return n / spent;
}

static gdouble
run_ours_decode (Ours * o)
{
  gdouble best = 0;
  guint trial;

  for (trial = 0; trial < TRIALS; trial++)
    best = MAX (best, run_ours_decode_once (o));
  return best;
}

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  Nettle *nt;
  Gnutls gt;
  Ours *o;
  BenchCryptoLimit lim;
  RtmfpSessionKeys ka, kb;
  gnutls_datum_t key = { NULL, 16 };
  guint8 keybytes[32];
  gchar *machine;
  FILE *csv = NULL;
  guint i;

  octx = g_option_context_new ("- single-core cost of RTMFP packet "
      "protection");
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  g_option_context_free (octx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (opt_size < 16 || opt_size > 16000 || opt_seconds <= 0) {
    g_printerr ("need 16 <= --size <= 16000 and --seconds > 0\n");
    return 1;
  }
  plain_len = opt_size;
  cipher_len = (3 + plain_len + 15) / 16 * 16;
  rows = g_array_new (FALSE, FALSE, sizeof (Row));

  nt = g_new0 (Nettle, 1);
  memset (nt->key, 0x5a, 32);
  aes128_set_encrypt_key (&nt->enc, nt->key);
  aes128_set_decrypt_key (&nt->dec, nt->key);
  hmac_sha256_set_key (&nt->hmac, 32, nt->key);
  for (i = 0; i < sizeof (nt->buf); i++)
    nt->buf[i] = (guint8) i;

  add_row ("nettle cbc_encrypt(aes128_encrypt)", "AES-128-CBC encrypt, "
      "generic CBC loop", run (body_cbc_generic, nt));
#if NETTLE_VERSION_MAJOR > 3 || NETTLE_VERSION_MINOR >= 8
  add_row ("nettle cbc_aes128_encrypt", "AES-128-CBC encrypt, fused "
      "(nettle >= 3.8)", run (body_cbc_aes128, nt));
#endif
  add_row ("nettle cbc_decrypt(aes128_decrypt)", "AES-128-CBC decrypt",
      run (body_cbc_decrypt, nt));
  add_row ("nettle HMAC-SHA256, pre-keyed", "HMAC over the cipher blocks",
      run (body_hmac_prekeyed, nt));
  add_row ("nettle HMAC-SHA256, keyed per packet", "same, set_key each time",
      run (body_hmac_rekeyed, nt));

  memset (keybytes, 0x5a, sizeof (keybytes));
  key.data = keybytes;
  if (gnutls_cipher_init (&gt.cipher, GNUTLS_CIPHER_AES_128_CBC, &key,
          NULL) == 0 && gnutls_hmac_init (&gt.hmac, GNUTLS_MAC_SHA256,
          keybytes, 32) == 0) {
    memset (gt.buf, 7, sizeof (gt.buf));
    add_row ("GnuTLS AES-128-CBC", "gnutls_cipher_encrypt",
        run (body_gnutls_cbc, &gt));
    add_row ("GnuTLS HMAC-SHA256", "gnutls_hmac", run (body_gnutls_hmac,
            &gt));
    add_row ("GnuTLS CBC + HMAC (encrypt side)", "one packet at a time",
        run (body_gnutls_enc, &gt));
    gnutls_cipher_deinit (gt.cipher);
    gnutls_hmac_deinit (gt.hmac, NULL);
  }

  bench_crypto_limit (plain_len, 3 * opt_seconds, &lim);
  add_row ("LIMIT encrypt side (nettle)", "CBC encrypt + HMAC, pre-keyed",
      lim.enc_Bps / plain_len);
  add_row ("LIMIT decrypt side (nettle)", "HMAC verify + CBC decrypt",
      lim.dec_Bps / plain_len);
  add_row ("LIMIT both on one core (nettle)", "encrypt then decrypt each "
      "packet", lim.both_Bps / plain_len);

  o = g_new0 (Ours, 1);
  ours_keys (&ka, FALSE);
  ours_keys (&kb, TRUE);
  o->a = rtmfp_cipher_new (&ka);
  o->b = rtmfp_cipher_new (&kb);
  o->dgram_size = plain_len + rtmfp_cipher_overhead (o->a);
  o->dgrams = g_malloc (BATCH * o->dgram_size);
  for (i = 0; i < plain_len; i++)
    o->plain[i] = (guint8) (i * 13);
  add_row ("rtmfp_cipher_encode", "SSEQ + HMAC-16 (negotiated default)",
      run (body_ours_encode, o));
  add_row ("rtmfp_cipher_decode", "incl. HMAC check and SSEQ window",
      run_ours_decode (o));
  add_row ("rtmfp_cipher encode + decode", "one core does both",
      run (body_ours_both, o));
  if (o->failures) {
    g_printerr ("rtmfp_cipher failed %" G_GUINT64_FORMAT " times\n",
        o->failures);
    return 1;
  }

  machine = bench_machine_description ();
  g_print ("## RTMFP packet protection, one core\n\n");
  g_print ("Machine: %s; nettle %d.%d, GnuTLS %s.  Plain packet %"
      G_GSIZE_FORMAT " bytes (%" G_GSIZE_FORMAT " bytes encrypted, "
      "datagram %" G_GSIZE_FORMAT " bytes).\n\n", machine,
      NETTLE_VERSION_MAJOR, NETTLE_VERSION_MINOR, gnutls_check_version (NULL),
      plain_len, cipher_len, 4 + cipher_len + 16);
  g_print ("| operation | what | packets/s | MB/s | Mbit/s | ns/packet |\n");
  g_print ("|---|---|---:|---:|---:|---:|\n");
  if (opt_csv) {
    csv = bench_open_csv (opt_csv);
    fprintf (csv, "operation,packets_per_s,MBps,Mbitps,ns_per_packet\n");
  }
  for (i = 0; i < rows->len; i++) {
    Row *r = &g_array_index (rows, Row, i);
    gdouble Bps = r->pps * plain_len;

    g_print ("| %s | %s | %.0f | %.1f | %.0f | %.0f |\n", r->name, r->what,
        r->pps, Bps / 1e6, BENCH_MBIT (Bps), 1e9 / r->pps);
    if (csv)
      fprintf (csv, "\"%s\",%.0f,%.2f,%.1f,%.1f\n", r->name, r->pps,
          Bps / 1e6, BENCH_MBIT (Bps), 1e9 / r->pps);
  }
  if (csv)
    fclose (csv);
  g_print ("\nRates count plain packet bytes (%" G_GSIZE_FORMAT
      " per packet).\n", plain_len);

  rtmfp_cipher_free (o->a);
  rtmfp_cipher_free (o->b);
  g_free (o->dgrams);
  g_free (o);
  g_free (nt);
  g_free (machine);
  g_array_unref (rows);
  return 0;
}
