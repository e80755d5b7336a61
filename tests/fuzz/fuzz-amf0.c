/* gst-rtmfp fuzz target: AMF0 (amf0.h).
 *
 * The input is parsed as one value (with the default and with a
 * fuzzer-chosen nesting limit), as a sequence of values and as a command.
 * Whatever parses must serialise and parse back equal, copy equal, dump
 * without crashing, and survive the lenient accessors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "amf0.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* Walks a tree through the public accessors */
static void
walk (const RtmfpAmfNode * node, guint depth)
{
  RtmfpAmfType type = rtmfp_amf_node_get_type (node);
  guint i, n;
  gsize size = 0;

  FUZZ_CHECK (depth <= RTMFP_AMF_DEFAULT_MAX_DEPTH + 1);
  FUZZ_CHECK (type != RTMFP_AMF_TYPE_INVALID);
  FUZZ_CHECK (type != RTMFP_AMF_TYPE_LONG_STRING);
  FUZZ_CHECK (type != RTMFP_AMF_TYPE_OBJECT_END);
  FUZZ_CHECK (type != RTMFP_AMF_TYPE_MOVIECLIP &&
      type != RTMFP_AMF_TYPE_RECORDSET);
  FUZZ_CHECK (rtmfp_amf_type_get_nick (type) != NULL);

  switch (type) {
    case RTMFP_AMF_TYPE_NUMBER:
      (void) rtmfp_amf_node_get_number (node);
      break;
    case RTMFP_AMF_TYPE_BOOLEAN:
      (void) rtmfp_amf_node_get_boolean (node);
      break;
    case RTMFP_AMF_TYPE_STRING:
    case RTMFP_AMF_TYPE_XML_DOCUMENT:{
      const gchar *s = rtmfp_amf_node_peek_string (node, &size);
      gchar *c = rtmfp_amf_node_copy_string (node, NULL);

      FUZZ_CHECK (s != NULL && s[size] == '\0');
      FUZZ_CHECK (memcmp (c, s, size + 1) == 0);
      g_free (c);
      break;
    }
    case RTMFP_AMF_TYPE_DATE:{
      gint16 tz;

      (void) rtmfp_amf_node_get_date (node, &tz);
      break;
    }
    case RTMFP_AMF_TYPE_REFERENCE:
      (void) rtmfp_amf_node_get_reference (node);
      break;
    case RTMFP_AMF_TYPE_TYPED_OBJECT:{
      const gchar *s = rtmfp_amf_node_peek_class_name (node, &size);

      FUZZ_CHECK (s != NULL && s[size] == '\0');
      break;
    }
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      FUZZ_CHECK (rtmfp_amf_node_peek_avmplus (node, &size) != NULL);
      FUZZ_CHECK (size > 0);
      break;
    default:
      break;
  }

  n = rtmfp_amf_node_get_num_fields (node);
  for (i = 0; i < n; i++) {
    const gchar *name = NULL;
    const RtmfpAmfNode *v = rtmfp_amf_node_get_field_by_index (node, i,
        &name);

    FUZZ_CHECK (v != NULL && name != NULL);
    /* by name (names may repeat, and may hold NULs that a C string
     * lookup cannot match: just no crash) */
    rtmfp_amf_node_get_field (node, name);
    walk (v, depth + 1);
  }
  FUZZ_CHECK (rtmfp_amf_node_get_field_by_index (node, n, NULL) == NULL);
  n = rtmfp_amf_node_get_num_elements (node);
  for (i = 0; i < n; i++)
    walk (rtmfp_amf_node_get_element (node, i), depth + 1);
  FUZZ_CHECK (rtmfp_amf_node_get_element (node, n) == NULL);

  /* lenient lookups used on network input */
  {
    gdouble d;
    gboolean b;

    rtmfp_amf_node_get_field_number (node, "objectEncoding", &d);
    rtmfp_amf_node_get_field_boolean (node, "fpad", &b);
    rtmfp_amf_node_peek_field_string (node, "code", NULL);
    rtmfp_amf_node_get_field (node, "");
  }
}

static void
check_node (const RtmfpAmfNode * node, gsize consumed, guint max_depth)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpAmfNode *again, *copy;
  GBytes *bytes;
  GString *dump;
  gsize n = 0;

  walk (node, 0);

  rtmfp_amf_node_serialize (node, out);
  FUZZ_CHECK (out->len > 0);
  again = rtmfp_amf_node_parse_with_depth (out->data, out->len, max_depth,
      &n);
  FUZZ_CHECK (again != NULL);
  FUZZ_CHECK (n == out->len);
  FUZZ_CHECK (rtmfp_amf_node_equal (node, again));
  FUZZ_CHECK (rtmfp_amf_node_equal (again, node));

  /* serialising is deterministic */
  bytes = rtmfp_amf_node_serialize_to_bytes (again);
  FUZZ_CHECK (g_bytes_get_size (bytes) == out->len);
  FUZZ_CHECK (memcmp (g_bytes_get_data (bytes, NULL), out->data,
          out->len) == 0);
  g_bytes_unref (bytes);

  copy = rtmfp_amf_node_copy (node);
  FUZZ_CHECK (rtmfp_amf_node_equal (node, copy));

  dump = g_string_new (NULL);
  rtmfp_amf_node_dump (node, -1, dump);
  rtmfp_amf_node_dump (node, 0, dump);
  FUZZ_CHECK (dump->len > 0);
  g_string_free (dump, TRUE);

  rtmfp_amf_node_free (copy);
  rtmfp_amf_node_free (again);
  g_byte_array_unref (out);
}

static gboolean
values_equal (GPtrArray * a, GPtrArray * b)
{
  guint i;

  if (a->len != b->len)
    return FALSE;
  for (i = 0; i < a->len; i++)
    if (!rtmfp_amf_node_equal (g_ptr_array_index (a, i),
            g_ptr_array_index (b, i)))
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  RtmfpAmfNode *node;
  GPtrArray *values, *args;
  gchar *name = NULL;
  gdouble txn = 0;
  gsize consumed = 0;
  guint max_depth = size > 0 ? data[size - 1] % 40 : 0;

  /* one value, default depth */
  node = rtmfp_amf_node_parse (data, size, &consumed);
  if (node) {
    FUZZ_CHECK (consumed > 0 && consumed <= size);
    check_node (node, consumed, RTMFP_AMF_DEFAULT_MAX_DEPTH);
    rtmfp_amf_node_free (node);
  }

  /* one value, fuzzer-chosen depth */
  node = rtmfp_amf_node_parse_with_depth (data, size, max_depth, &consumed);
  if (node) {
    FUZZ_CHECK (consumed > 0 && consumed <= size);
    check_node (node, consumed, max_depth);
    rtmfp_amf_node_free (node);
  }

  /* a sequence of values */
  values = rtmfp_amf_parse_values (data, size);
  if (values) {
    GByteArray *out = g_byte_array_new ();
    GPtrArray *again;
    guint i;

    for (i = 0; i < values->len; i++)
      rtmfp_amf_node_serialize (g_ptr_array_index (values, i), out);
    again = rtmfp_amf_parse_values (out->data, out->len);
    FUZZ_CHECK (again != NULL);
    FUZZ_CHECK (values_equal (values, again));
    g_ptr_array_unref (again);
    g_byte_array_unref (out);
    g_ptr_array_unref (values);
  }

  /* a command: name, transaction ID, arguments */
  args = rtmfp_amf_parse_command (data, size, &name, &txn);
  if (args) {
    GByteArray *out;
    GPtrArray *again;
    gchar *name2 = NULL;
    gdouble txn2 = 0;

    FUZZ_CHECK (name != NULL);
    out = rtmfp_amf_serialize_command_with_args (name, txn, args->len,
        (const RtmfpAmfNode * const *) args->pdata);
    /* names with NUL bytes cannot go through the gchar * API */
    again = rtmfp_amf_parse_command (out->data, out->len, &name2, &txn2);
    FUZZ_CHECK (again != NULL);
    FUZZ_CHECK (strcmp (name, name2) == 0);
    FUZZ_CHECK (memcmp (&txn, &txn2, sizeof (txn)) == 0);
    FUZZ_CHECK (values_equal (args, again));
    g_free (name2);
    g_ptr_array_unref (again);
    g_byte_array_unref (out);
    g_ptr_array_unref (args);
    g_free (name);
  } else {
    FUZZ_CHECK (name == NULL);
  }
  return 0;
}
