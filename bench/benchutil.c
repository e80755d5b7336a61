/* Shared helpers of the benchmarks (see benchutil.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-bench"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/hmac.h>
#include <nettle/version.h>

#include "benchutil.h"

gdouble
bench_now (void)
{
  return g_get_monotonic_time () / 1e6;
}

gdouble
bench_process_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

gdouble
bench_thread_cpu (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

gdouble
bench_pid_cpu (gint pid)
{
  gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  gchar *text = NULL, *p;
  gchar **fields;
  gdouble r = -1;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    /* the command name may contain spaces: fields start after ')' */
    p = strrchr (text, ')');
    if (p) {
      fields = g_strsplit (p + 2, " ", 0);
      /* state is field 3 (index 0 here); utime 14, stime 15 */
      if (g_strv_length (fields) > 12)
        r = (g_ascii_strtod (fields[11], NULL) +
            g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
      g_strfreev (fields);
    }
  }
  g_free (text);
  g_free (path);
  return r;
}

gint64
bench_pid_rss_kib (gint pid)
{
  gchar *path = pid ? g_strdup_printf ("/proc/%d/status", pid) :
      g_strdup ("/proc/self/status");
  gchar *text = NULL, *p;
  gint64 r = -1;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    p = strstr (text, "VmRSS:");
    if (p)
      r = g_ascii_strtoll (p + 6, NULL, 10);
  }
  g_free (text);
  g_free (path);
  return r;
}

gchar *
bench_machine_description (void)
{
  gchar *text = NULL, *model = NULL, *flags = NULL;
  GString *s = g_string_new (NULL);
  gchar **lines, **l;
  static const gchar *interesting[] = { "aes", "sha_ni", "avx2", "avx512f",
    NULL
  };

  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL)) {
    lines = g_strsplit (text, "\n", 0);
    for (l = lines; *l; l++) {
      gchar *colon = strchr (*l, ':');
      if (!colon)
        continue;
      if (!model && g_str_has_prefix (*l, "model name"))
        model = g_strstrip (g_strdup (colon + 1));
      else if (!flags && g_str_has_prefix (*l, "flags"))
        flags = g_strdup (colon + 1);
    }
    g_strfreev (lines);
  }
  g_string_append_printf (s, "%ld x %s", sysconf (_SC_NPROCESSORS_ONLN),
      model ? model : "unknown CPU");
  if (flags) {
    gchar **f = g_strsplit (flags, " ", 0);
    const gchar **i;
    gboolean first = TRUE;

    g_string_append (s, " (flags:");
    for (i = interesting; *i; i++)
      if (g_strv_contains ((const gchar * const *) f, *i)) {
        g_string_append_printf (s, " %s", *i);
        first = FALSE;
      }
    if (first)
      g_string_append (s, " none of aes/sha_ni/avx2");
    g_string_append (s, ")");
    g_strfreev (f);
  }
  g_free (text);
  text = NULL;
  /* the machine may be shared: say how busy it was */
  if (g_file_get_contents ("/proc/loadavg", &text, NULL, NULL)) {
    gchar **f = g_strsplit (text, " ", 0);
    if (g_strv_length (f) >= 3)
      g_string_append_printf (s, ", load average %s %s %s", f[0], f[1], f[2]);
    g_strfreev (f);
  }
  g_free (text);
  g_free (model);
  g_free (flags);
  return g_string_free (s, FALSE);
}

/* ---- the crypto limit ---- */

static void
cbc_enc (const struct aes128_ctx *aes, guint8 * buf, gsize len)
{
  guint8 iv[16] = { 0 };
#if NETTLE_VERSION_MAJOR > 3 || NETTLE_VERSION_MINOR >= 8
  cbc_aes128_encrypt (aes, iv, len, buf, buf);
#else
  cbc_encrypt (aes, (nettle_cipher_func *) aes128_encrypt, 16, iv, len, buf,
      buf);
#endif
}

static void
cbc_dec (const struct aes128_ctx *aes, const guint8 * in, guint8 * out,
    gsize len)
{
  guint8 iv[16] = { 0 };

  cbc_decrypt (aes, (nettle_cipher_func *) aes128_decrypt, 16, iv, len, out,
      in);
}

typedef enum {
  MODE_ENC,
  MODE_DEC,
  MODE_BOTH
} Mode;

/* Packets per second of `mode` over `seconds` */
static gdouble
measure (Mode mode, gsize cipher_len, guint hmac_len, gdouble seconds)
{
  struct aes128_ctx enc, dec;
  struct hmac_sha256_ctx hs, hr;
  guint8 key[32], mac[32];
  guint8 *pkt = g_malloc0 (cipher_len + 32);
  guint8 *out = g_malloc0 (cipher_len + 32);
  guint64 n = 0;
  gdouble t0, t;
  guint i;

  memset (key, 0x5a, sizeof (key));
  aes128_set_encrypt_key (&enc, key);
  aes128_set_decrypt_key (&dec, key);
  hmac_sha256_set_key (&hs, 32, key);
  hmac_sha256_set_key (&hr, 32, key);
  for (i = 0; i < cipher_len; i++)
    pkt[i] = (guint8) (i * 31);

  /* CPU time of this thread, not wall time: the limit is what one core
   * does per second of its own, comparable with the per-core goodput of
   * the net threads, and not lowered by other work preempting us */
  t0 = bench_thread_cpu ();
  do {
    for (i = 0; i < 256; i++) {
      if (mode != MODE_DEC) {
        cbc_enc (&enc, pkt, cipher_len);
        hmac_sha256_update (&hs, cipher_len, pkt);
        hmac_sha256_digest (&hs, hmac_len, pkt + cipher_len);
      }
      if (mode != MODE_ENC) {
        hmac_sha256_update (&hr, cipher_len, pkt);
        hmac_sha256_digest (&hr, 32, mac);
        if (memcmp (mac, pkt + cipher_len, hmac_len) != 0 && mode == MODE_BOTH)
          g_error ("crypto limit: HMAC mismatch");
        cbc_dec (&dec, pkt, out, cipher_len);
      }
    }
    n += 256;
    t = bench_thread_cpu ();
  } while (t - t0 < seconds);

  /* keep the compiler honest */
  if (mode == MODE_BOTH && out[0] == 0x42 && out[1] == 0x17)
    g_printerr (" ");
  g_free (pkt);
  g_free (out);
  return n / (t - t0);
}

void
bench_crypto_limit (gsize plain_len, gdouble seconds, BenchCryptoLimit * out)
{
  /* Negotiated session protection (RFC 7425 4.7): VLU SSEQ (2 bytes for
   * the numbers of a long transfer: up to 3), packet, 0xff padding, then
   * a 16-byte truncated HMAC-SHA256 (our default); no checksum. */
  gsize body = 3 + plain_len;
  guint i;

  memset (out, 0, sizeof (*out));
  out->plain_len = plain_len;
  out->cipher_len = (body + 15) / 16 * 16;
  out->hmac_len = 16;
  /* best of 5 short trials each: the machine may be shared */
  for (i = 0; i < 5; i++) {
    out->enc_Bps = MAX (out->enc_Bps, plain_len * measure (MODE_ENC,
            out->cipher_len, 16, seconds / 15));
    out->dec_Bps = MAX (out->dec_Bps, plain_len * measure (MODE_DEC,
            out->cipher_len, 16, seconds / 15));
    out->both_Bps = MAX (out->both_Bps, plain_len * measure (MODE_BOTH,
            out->cipher_len, 16, seconds / 15));
  }
}

FILE *
bench_open_csv (const gchar * path)
{
  FILE *f = fopen (path, "w");

  if (f == NULL) {
    g_printerr ("cannot write %s: %s\n", path, g_strerror (errno));
    exit (1);
  }
  return f;
}
