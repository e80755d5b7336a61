/* gst-rtmfp fuzz target: packet protection with negotiated session keys
 * (RFC 7425 4.7: AES-128-CBC, truncated HMAC-SHA256, session sequence
 * numbers with an anti-replay window).
 *
 * Input: a configuration byte (HMAC length), then records split at "FUZZ",
 * each a kind byte and a payload:
 *   kind 0: the payload as a received datagram: decode must not crash
 *           (and cannot succeed: it would be an HMAC forgery);
 *   kind 1: the payload as an authentic plaintext whose first bytes are
 *           the SSEQ VLU: it is protected with the right keys by a sender
 *           that does not add SSEQs itself, so the fuzzer chooses every
 *           sequence number the receiver sees.  The result is checked
 *           against a model of the replay window: a number accepted once
 *           is never accepted again, any number above the highest seen is
 *           accepted, unseen numbers in the 64 below it too.  The same
 *           datagram decoded twice must fail the second time;
 *   kind 2: a normal sender/receiver pair with SSEQ on both sides: every
 *           packet (fresh sequence number) decodes to what was sent;
 *   kind 3: kind 1 with one ciphertext or HMAC byte flipped: must fail.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfpcrypto.h"
#include "rtmfppacket.h"
#include "rtmfpvlu.h"

/* The window every implementation must at least tolerate (reordering);
 * beyond it, old unseen numbers may be accepted or refused. */
#define MODEL_SURE_WINDOW 64
#define MAX_RECORDS 512

typedef struct {
  gboolean seen_any;
  guint64 top;
  GHashTable *seen;             /* guint64* -> itself */
} ReplayModel;

/* 1: must accept, 0: must refuse, -1: either */
static gint
model_expect (const ReplayModel * m, guint64 seq)
{
  if (g_hash_table_contains (m->seen, &seq))
    return 0;
  if (!m->seen_any || seq > m->top)
    return 1;
  if (m->top - seq < MODEL_SURE_WINDOW)
    return 1;
  return -1;
}

static void
model_commit (ReplayModel * m, guint64 seq)
{
  guint64 *k = g_new (guint64, 1);

  *k = seq;
  g_hash_table_add (m->seen, k);
  if (!m->seen_any || seq > m->top)
    m->top = seq;
  m->seen_any = TRUE;
}

static void
fill (guint8 * buf, gsize len, guint8 v)
{
  gsize i;

  for (i = 0; i < len; i++)
    buf[i] = (guint8) (v + i * 7);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* kind 1 / 3: protect payload with `auth`, decode with `rx` */
static void
authentic (RtmfpCipher * auth, RtmfpCipher * rx, ReplayModel * m,
    const guint8 * payload, gsize len, gboolean tamper, guint8 where)
{
  gsize cap = len + rtmfp_cipher_overhead (auth);
  guint8 *dgram = malloc (cap);
  guint8 *padded, *out;
  gsize n, blocks, out_len = 0, vlu_len = 0;
  guint64 seq = 0;
  gboolean vlu_ok, ok;
  gint expect;

  n = rtmfp_cipher_encode (auth, 0x01020304, payload, len, dgram, cap);
  FUZZ_CHECK (n > 0);
  blocks = (len + RTMFP_AES_BLOCK - 1) / RTMFP_AES_BLOCK * RTMFP_AES_BLOCK;

  /* what the receiver will decrypt: payload + 0xff padding */
  padded = malloc (blocks > 0 ? blocks : 1);
  if (len > 0)
    memcpy (padded, payload, len);
  memset (padded + len, 0xff, blocks - len);
  vlu_ok = blocks > 0 && rtmfp_vlu_decode (padded, blocks, &seq, &vlu_len);

  if (tamper) {
    dgram[4 + where % (n - 4)] ^= 0x01 << (where % 8);
    expect = 0;
  } else {
    expect = vlu_ok ? model_expect (m, seq) : 0;
  }

  out = malloc (n);
  ok = rtmfp_cipher_decode (rx, dgram, n, out, &out_len);
  if (expect >= 0)
    FUZZ_CHECK (ok == expect);
  if (ok) {
    FUZZ_CHECK (vlu_ok && !tamper);
    FUZZ_CHECK (out_len == blocks - vlu_len);
    FUZZ_CHECK (out_len == 0 || memcmp (out, padded + vlu_len, out_len) == 0);
    model_commit (m, seq);
    /* a replay of the very same datagram */
    FUZZ_CHECK (!rtmfp_cipher_decode (rx, dgram, n, out, &out_len));
  }
  free (out);
  free (padded);
  free (dgram);
}

/* kind 2: a normal pair */
static void
normal_pair (RtmfpCipher * tx, RtmfpCipher * rx, const guint8 * payload,
    gsize len)
{
  gsize cap = len + rtmfp_cipher_overhead (tx);
  guint8 *dgram = malloc (cap);
  guint8 *out;
  gsize n, out_len = 0, i;

  n = rtmfp_cipher_encode (tx, 0xdeadbeef, payload, len, dgram, cap);
  FUZZ_CHECK (n > 0 && n <= cap);
  FUZZ_CHECK (rtmfp_session_id_unscramble (dgram, n) == 0xdeadbeef);
  out = malloc (n);
  FUZZ_CHECK (rtmfp_cipher_decode (rx, dgram, n, out, &out_len));
  FUZZ_CHECK (out_len >= len);
  FUZZ_CHECK (len == 0 || memcmp (out, payload, len) == 0);
  for (i = len; i < out_len; i++)
    FUZZ_CHECK (out[i] == 0xff);
  free (out);
  free (dgram);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  RtmfpSessionKeys ka = { 0, }, kb = { 0, }, kc = { 0, }, kd = { 0, };
  RtmfpCipher *auth, *rx, *tx2, *rx2;
  ReplayModel m = { FALSE, 0, NULL };
  FuzzSplit sp;
  const guint8 *rec;
  gsize rec_len;
  guint hmac_len, n_records = 0;
  guint8 config = fuzz_take_u8 (&data, &size);

  hmac_len = 4 + config % 29;   /* RFC 7425 4.6.4: 4..32 */

  /* auth: the far end's sender without SSEQ; rx: our receiver with
   * SSEQ and HMAC (4.6.4, 4.6.6 both on) */
  fill (ka.encrypt_key, sizeof (ka.encrypt_key), 0x11);
  fill (ka.hmac_send_key, sizeof (ka.hmac_send_key), 0x22);
  ka.hmac_send_len = hmac_len;
  fill (kb.decrypt_key, sizeof (kb.decrypt_key), 0x11);
  fill (kb.hmac_recv_key, sizeof (kb.hmac_recv_key), 0x22);
  fill (kb.encrypt_key, sizeof (kb.encrypt_key), 0x33);
  fill (kb.hmac_send_key, sizeof (kb.hmac_send_key), 0x44);
  kb.hmac_recv_len = hmac_len;
  kb.hmac_send_len = hmac_len;
  kb.sseq_recv = TRUE;
  kb.sseq_send = TRUE;
  auth = rtmfp_cipher_new (&ka);
  rx = rtmfp_cipher_new (&kb);

  /* tx2 -> rx2: both sides with SSEQ (checksum when config bit 7 is set) */
  fill (kc.encrypt_key, sizeof (kc.encrypt_key), 0x55);
  fill (kc.hmac_send_key, sizeof (kc.hmac_send_key), 0x66);
  kc.hmac_send_len = (config & 0x80) ? 0 : hmac_len;
  kc.sseq_send = TRUE;
  fill (kd.decrypt_key, sizeof (kd.decrypt_key), 0x55);
  fill (kd.hmac_recv_key, sizeof (kd.hmac_recv_key), 0x66);
  kd.hmac_recv_len = kc.hmac_send_len;
  kd.sseq_recv = TRUE;
  tx2 = rtmfp_cipher_new (&kc);
  rx2 = rtmfp_cipher_new (&kd);
  FUZZ_CHECK (auth && rx && tx2 && rx2);
  FUZZ_CHECK (!rtmfp_cipher_is_default (rx));

  m.seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  fuzz_split_init (&sp, data, size);
  while (fuzz_split_next (&sp, &rec, &rec_len) && n_records++ < MAX_RECORDS) {
    guint8 kind = fuzz_take_u8 (&rec, &rec_len);
    guint8 *copy = fuzz_dup (rec, rec_len);

    switch (kind % 4) {
      case 0:{
        guint8 *out = malloc (rec_len > 0 ? rec_len : 1);
        gsize out_len;

        FUZZ_CHECK (!rtmfp_cipher_decode (rx, copy, rec_len, out, &out_len));
        rtmfp_cipher_decode (rx2, copy, rec_len, out, &out_len);
        free (out);
        break;
      }
      case 1:
        authentic (auth, rx, &m, copy, rec_len, FALSE, 0);
        break;
      case 2:
        if (rec_len <= RTMFP_MAX_STARTUP_PLAIN_SIZE)
          normal_pair (tx2, rx2, copy, rec_len);
        break;
      case 3:
        authentic (auth, rx, &m, copy, rec_len, TRUE,
            rec_len > 0 ? rec[rec_len - 1] ^ kind : kind);
        break;
    }
    free (copy);
  }

  g_hash_table_unref (m.seen);
  rtmfp_cipher_free (auth);
  rtmfp_cipher_free (rx);
  rtmfp_cipher_free (tx2);
  rtmfp_cipher_free (rx2);
  return 0;
}
