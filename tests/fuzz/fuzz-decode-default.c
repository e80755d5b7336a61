/* gst-rtmfp fuzz target: a wire datagram under the Default Session Key.
 *
 * 1. The input as a received datagram: session ID unscrambling, then
 *    decryption and checksum verification with the default cipher; what
 *    decodes is parsed as a plain packet (packet-check.c).
 * 2. The input as a plain packet to send: encoding with the default cipher
 *    (session ID from the first input bytes) and decoding again must give
 *    back the session ID and the input plus 0xff padding (RFC 7425 4.7).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "packet-check.h"
#include "rtmfpcrypto.h"
#include "rtmfppacket.h"

static RtmfpCipher *cipher;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  cipher = rtmfp_cipher_new_default ();
  return 0;
}

static void
decode_datagram (const guint8 * data, gsize size)
{
  guint8 *out = malloc (size > 0 ? size : 1);
  gsize out_len = G_MAXSIZE;
  guint32 sid;

  sid = rtmfp_session_id_unscramble (data, size);
  if (size < 4)
    FUZZ_CHECK (sid == 0);
  if (rtmfp_cipher_decode (cipher, data, size, out, &out_len)) {
    /* SSID, whole AES blocks; the 2-byte checksum is removed */
    FUZZ_CHECK (size >= 4 + RTMFP_AES_BLOCK);
    FUZZ_CHECK ((size - 4) % RTMFP_AES_BLOCK == 0);
    FUZZ_CHECK (out_len == size - 4 - 2);
    fuzz_check_plain_packet (out, out_len);
  }
  free (out);
}

static void
round_trip (const guint8 * data, gsize size)
{
  gsize cap = size + rtmfp_cipher_overhead (cipher);
  guint8 *dgram = malloc (cap);
  guint8 *plain;
  gsize n, plain_len = 0, i;
  guint32 sid = 0;

  for (i = 0; i < MIN (size, 4); i++)
    sid = (sid << 8) | data[i];

  /* too small a buffer: refused, nothing written past it */
  FUZZ_CHECK (rtmfp_cipher_encode (cipher, sid, data, size, dgram, 4 + 1) ==
      0);

  n = rtmfp_cipher_encode (cipher, sid, data, size, dgram, cap);
  FUZZ_CHECK (n > 0 && n <= cap);
  FUZZ_CHECK ((n - 4) % RTMFP_AES_BLOCK == 0);
  FUZZ_CHECK (n - 4 >= size + 2 && n - 4 < size + 2 + RTMFP_AES_BLOCK);
  FUZZ_CHECK (rtmfp_session_id_unscramble (dgram, n) == sid);

  plain = malloc (n);
  FUZZ_CHECK (rtmfp_cipher_decode (cipher, dgram, n, plain, &plain_len));
  FUZZ_CHECK (plain_len == n - 4 - 2);
  FUZZ_CHECK (size == 0 || memcmp (plain, data, size) == 0);
  for (i = size; i < plain_len; i++)
    FUZZ_CHECK (plain[i] == 0xff);

  /* any single flipped bit in the ciphertext breaks the checksum, or at
   * least never crashes */
  if (size > 0) {
    dgram[4 + data[0] % (n - 4)] ^= (guint8) (1u << (data[size - 1] % 8));
    rtmfp_cipher_decode (cipher, dgram, n, plain, &plain_len);
  }

  free (plain);
  free (dgram);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  decode_datagram (data, size);
  if (size <= RTMFP_MAX_STARTUP_PLAIN_SIZE)
    round_trip (data, size);
  return 0;
}
