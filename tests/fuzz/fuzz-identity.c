/* gst-rtmfp fuzz target: the saved text form of a server identity
 * (rtmfp_identity_new_from_text, rtmfpidentity.c): what rtmfp-server
 * --identity reads from a file.
 *
 * Input: the text.  Either it is refused with an RTMFP_CRYPTO_ERROR (the
 * message names the problem), or it is a static server identity whose
 * certificate carries static keys and accepts URI EPDs, and whose own text
 * reads back as the very same certificate.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfpcrypto.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *err = NULL;
  RtmfpIdentity *id, *back;
  const guint8 *c1, *c2;
  gsize l1, l2;
  RtmfpCertInfo ci;
  gchar *text;

  id = rtmfp_identity_new_from_text ((const gchar *) data, size, &err);
  if (!id) {
    FUZZ_CHECK (err != NULL && err->domain == RTMFP_CRYPTO_ERROR &&
        err->message[0] != '\0');
    g_error_free (err);
    return 0;
  }
  FUZZ_CHECK (err == NULL);
  FUZZ_CHECK (rtmfp_identity_get_kind (id) == RTMFP_IDENTITY_SERVER_STATIC);
  c1 = rtmfp_identity_get_certificate (id, &l1);
  FUZZ_CHECK (rtmfp_cert_parse (c1, l1, &ci));
  FUZZ_CHECK (ci.n_static_keys > 0 && ci.n_ephemeral_groups == 0);
  FUZZ_CHECK (ci.accepts_ancillary);
  /* saving and reading back gives the same certificate */
  text = rtmfp_identity_to_text (id);
  FUZZ_CHECK (text != NULL);
  back = rtmfp_identity_new_from_text (text, strlen (text), &err);
  FUZZ_CHECK (back != NULL && err == NULL);
  c2 = rtmfp_identity_get_certificate (back, &l2);
  FUZZ_CHECK (l1 == l2 && memcmp (c1, c2, l1) == 0);
  g_free (text);
  rtmfp_identity_unref (back);
  rtmfp_identity_unref (id);
  return 0;
}
