/* Shared helpers of the benchmarks in bench/: CPU clocks, the machine
 * description, the single-core crypto limit, CSV output.
 *
 * Not part of the core: benchmarks may read the real clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/* Wall clock, monotonic, seconds */
gdouble   bench_now (void);
/* CPU seconds (user + system) of the whole process */
gdouble   bench_process_cpu (void);
/* CPU seconds of the calling thread */
gdouble   bench_thread_cpu (void);
/* CPU seconds (user + system) of another process, from /proc/PID/stat;
 * -1 on error */
gdouble   bench_pid_cpu (gint pid);
/* VmRSS of a process in KiB (pid 0: ourselves); -1 on error */
gint64    bench_pid_rss_kib (gint pid);

/* "2 x Intel(R) Xeon(R) Processor (flags: aes sha_ni avx2)", newly
 * allocated */
gchar    *bench_machine_description (void);

/* The per-packet protection work of a session, done with the fastest
 * nettle primitives with pre-keyed contexts and nothing else: the limit a
 * session could reach on one core.  Rates are in bytes of plain RTMFP
 * packet (plain_len each) per second of the measuring thread's own CPU
 * time (CLOCK_THREAD_CPUTIME_ID), so that other load on a shared machine
 * does not lower it; best of 5 trials. */
typedef struct {
  gsize plain_len;              /* plain RTMFP packet size */
  gsize cipher_len;             /* bytes encrypted (SSEQ + packet + pad) */
  guint hmac_len;
  gdouble enc_Bps;              /* AES-CBC encrypt + HMAC, one packet at a time */
  gdouble dec_Bps;              /* HMAC + AES-CBC decrypt */
  gdouble both_Bps;             /* enc then dec of each packet, one core */
} BenchCryptoLimit;

/* Measures for about `seconds` in total (split over the three) */
void      bench_crypto_limit (gsize plain_len, gdouble seconds,
    BenchCryptoLimit * out);

/* Opens path for writing, or exits with a message */
FILE     *bench_open_csv (const gchar * path);

/* Mbit/s from bytes per second */
#define BENCH_MBIT(Bps) ((Bps) * 8.0 / 1e6)

G_END_DECLS
