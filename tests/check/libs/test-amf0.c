/* Unit tests of the AMF0 codec (ext/rtmfp/rtmfp/amf0.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <string.h>
#include <glib.h>

#include "ext/rtmfp/rtmfp/amf0.h"

/* Builds a byte array from a C literal that may contain NULs. */
#define LIT(s) ((const guint8 *) (s)), (sizeof (s) - 1)

#define NUM_1 "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
#define NUM_0 "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
#define OBJ_END "\x00\x00\x09"

static gchar *
hex (const guint8 * data, gsize len)
{
  GString *s = g_string_new (NULL);
  gsize i;

  for (i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static void
assert_bytes (const guint8 * got, gsize got_len, const guint8 * want,
    gsize want_len)
{
  if (got_len != want_len || memcmp (got, want, want_len) != 0) {
    gchar *g = hex (got, got_len), *w = hex (want, want_len);
    g_test_message ("got  %s", g);
    g_test_message ("want %s", w);
    g_free (g);
    g_free (w);
  }
  g_assert_cmpmem (got, got_len, want, want_len);
}

/* serialise node, compare with want, parse want back and compare nodes */
static void
check_encoding (const RtmfpAmfNode * node, const guint8 * want, gsize len)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpAmfNode *parsed;
  gsize consumed = 0;

  rtmfp_amf_node_serialize (node, out);
  assert_bytes (out->data, out->len, want, len);
  g_byte_array_unref (out);

  parsed = rtmfp_amf_node_parse (want, len, &consumed);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (consumed, ==, len);
  g_assert_true (rtmfp_amf_node_equal (node, parsed));
  rtmfp_amf_node_free (parsed);
}

static void
test_scalars (void)
{
  RtmfpAmfNode *n;

  n = rtmfp_amf_node_new_number (1.0);
  check_encoding (n, LIT (NUM_1));
  g_assert_cmpfloat (rtmfp_amf_node_get_number (n), ==, 1.0);
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_number (-2.5);
  check_encoding (n, LIT ("\x00\xc0\x04\x00\x00\x00\x00\x00\x00"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_boolean (TRUE);
  check_encoding (n, LIT ("\x01\x01"));
  g_assert_true (rtmfp_amf_node_get_boolean (n));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_boolean (FALSE);
  check_encoding (n, LIT ("\x01\x00"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_string ("abc", -1);
  check_encoding (n, LIT ("\x02\x00\x03" "abc"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_string ("", 0);
  check_encoding (n, LIT ("\x02\x00\x00"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_null ();
  check_encoding (n, LIT ("\x05"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_undefined ();
  check_encoding (n, LIT ("\x06"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_unsupported ();
  check_encoding (n, LIT ("\x0d"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_reference (0x0102);
  check_encoding (n, LIT ("\x07\x01\x02"));
  g_assert_cmpuint (rtmfp_amf_node_get_reference (n), ==, 0x0102);
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_xml_document ("<a/>", -1);
  check_encoding (n, LIT ("\x0f\x00\x00\x00\x04" "<a/>"));
  g_assert_cmpstr (rtmfp_amf_node_peek_string (n, NULL), ==, "<a/>");
  rtmfp_amf_node_free (n);

  /* a boolean byte other than 0/1 still means true */
  n = rtmfp_amf_node_parse (LIT ("\x01\x7f"), NULL);
  g_assert_nonnull (n);
  g_assert_true (rtmfp_amf_node_get_boolean (n));
  rtmfp_amf_node_free (n);
}

static void
test_containers_known_bytes (void)
{
  RtmfpAmfNode *n, *inner;
  const gchar *name = NULL;

  n = rtmfp_amf_node_new_object ();
  check_encoding (n, LIT ("\x03" OBJ_END));
  rtmfp_amf_node_append_field_number (n, "a", 1.0);
  rtmfp_amf_node_append_field_string (n, "bc", "x", -1);
  check_encoding (n, LIT ("\x03" "\x00\x01" "a" NUM_1
          "\x00\x02" "bc" "\x02\x00\x01" "x" OBJ_END));
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (n), ==, 2);
  g_assert_nonnull (rtmfp_amf_node_get_field_by_index (n, 1, &name));
  g_assert_cmpstr (name, ==, "bc");
  g_assert_null (rtmfp_amf_node_get_field_by_index (n, 2, &name));
  rtmfp_amf_node_free (n);

  /* the ECMA count is written from the real number of fields */
  n = rtmfp_amf_node_new_ecma_array ();
  rtmfp_amf_node_append_take_field (n, "a", rtmfp_amf_node_new_null ());
  rtmfp_amf_node_append_field_boolean (n, "b", TRUE);
  check_encoding (n, LIT ("\x08\x00\x00\x00\x02" "\x00\x01" "a" "\x05"
          "\x00\x01" "b" "\x01\x01" OBJ_END));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_strict_array ();
  check_encoding (n, LIT ("\x0a\x00\x00\x00\x00"));
  rtmfp_amf_node_append_take_element (n, rtmfp_amf_node_new_number (1.0));
  rtmfp_amf_node_append_take_element (n, rtmfp_amf_node_new_undefined ());
  check_encoding (n, LIT ("\x0a\x00\x00\x00\x02" NUM_1 "\x06"));
  g_assert_cmpuint (rtmfp_amf_node_get_num_elements (n), ==, 2);
  g_assert_cmpint (rtmfp_amf_node_get_type (rtmfp_amf_node_get_element (n,
              1)), ==, RTMFP_AMF_TYPE_UNDEFINED);
  g_assert_null (rtmfp_amf_node_get_element (n, 2));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_typed_object ("Foo", -1);
  inner = rtmfp_amf_node_new_object ();
  rtmfp_amf_node_append_take_field (n, "o", inner);
  check_encoding (n, LIT ("\x10\x00\x03" "Foo" "\x00\x01" "o" "\x03" OBJ_END
          OBJ_END));
  g_assert_cmpstr (rtmfp_amf_node_peek_class_name (n, NULL), ==, "Foo");
  rtmfp_amf_node_free (n);

  /* a property with an empty name that is not the end marker */
  n = rtmfp_amf_node_new_object ();
  rtmfp_amf_node_append_take_field (n, "", rtmfp_amf_node_new_null ());
  check_encoding (n, LIT ("\x03\x00\x00\x05" OBJ_END));
  g_assert_nonnull (rtmfp_amf_node_get_field (n, ""));
  rtmfp_amf_node_free (n);
}

static RtmfpAmfNode *
build_everything (void)
{
  RtmfpAmfNode *root = rtmfp_amf_node_new_object ();
  RtmfpAmfNode *arr = rtmfp_amf_node_new_strict_array ();
  RtmfpAmfNode *ecma = rtmfp_amf_node_new_ecma_array ();
  RtmfpAmfNode *typed = rtmfp_amf_node_new_typed_object ("flex.Msg", -1);
  RtmfpAmfNode *deep = rtmfp_amf_node_new_object ();
  static const gchar nul_str[] = "a\0b";

  rtmfp_amf_node_append_field_number (root, "num", 3.25);
  rtmfp_amf_node_append_field_number (root, "neg0", -0.0);
  rtmfp_amf_node_append_field_boolean (root, "t", TRUE);
  rtmfp_amf_node_append_field_string (root, "s", "hello \xc3\xa9", -1);
  rtmfp_amf_node_append_field_string (root, "nul", nul_str, 3);
  rtmfp_amf_node_append_take_field (root, "null", rtmfp_amf_node_new_null ());
  rtmfp_amf_node_append_take_field (root, "undef",
      rtmfp_amf_node_new_undefined ());
  rtmfp_amf_node_append_take_field (root, "date",
      rtmfp_amf_node_new_date (1234567890123.0, 0));
  rtmfp_amf_node_append_take_field (root, "ref",
      rtmfp_amf_node_new_reference (3));
  rtmfp_amf_node_append_take_field (root, "xml",
      rtmfp_amf_node_new_xml_document ("<x/>", -1));
  rtmfp_amf_node_append_take_field (root, "unsup",
      rtmfp_amf_node_new_unsupported ());

  rtmfp_amf_node_append_field_number (deep, "depth", 3);
  rtmfp_amf_node_append_take_element (arr, rtmfp_amf_node_new_number (1));
  rtmfp_amf_node_append_take_element (arr, deep);
  rtmfp_amf_node_append_take_element (arr, rtmfp_amf_node_new_strict_array ());
  rtmfp_amf_node_append_take_field (ecma, "list", arr);
  rtmfp_amf_node_append_field_string (ecma, "k", "v", 1);
  rtmfp_amf_node_append_take_field (root, "ecma", ecma);
  rtmfp_amf_node_append_field_string (typed, "body", "b", -1);
  rtmfp_amf_node_append_take_field (root, "typed", typed);
  return root;
}

static void
test_roundtrip_nested (void)
{
  RtmfpAmfNode *root = build_everything ();
  RtmfpAmfNode *copy, *parsed, *other;
  GBytes *bytes;
  gsize consumed = 0, size;
  const guint8 *data;
  const RtmfpAmfNode *f;
  GString *dump;

  bytes = rtmfp_amf_node_serialize_to_bytes (root);
  data = g_bytes_get_data (bytes, &size);
  parsed = rtmfp_amf_node_parse (data, size, &consumed);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (consumed, ==, size);
  g_assert_true (rtmfp_amf_node_equal (root, parsed));

  copy = rtmfp_amf_node_copy (parsed);
  g_assert_true (rtmfp_amf_node_equal (copy, root));

  /* values survived, including the embedded NUL and -0.0 */
  f = rtmfp_amf_node_get_field (parsed, "nul");
  g_assert_nonnull (f);
  {
    gsize len = 0;
    const gchar *s = rtmfp_amf_node_peek_string (f, &len);
    g_assert_cmpmem (s, len, "a\0b", 3);
  }
  f = rtmfp_amf_node_get_field (parsed, "neg0");
  g_assert_true (signbit (rtmfp_amf_node_get_number (f)));
  f = rtmfp_amf_node_get_field (rtmfp_amf_node_get_field (parsed, "ecma"),
      "list");
  g_assert_cmpuint (rtmfp_amf_node_get_num_elements (f), ==, 3);
  g_assert_true (rtmfp_amf_node_get_field_number (rtmfp_amf_node_get_element
          (f, 1), "depth", NULL));

  /* equality notices a change deep down */
  other = build_everything ();
  g_assert_true (rtmfp_amf_node_equal (other, root));
  rtmfp_amf_node_append_field_number ((RtmfpAmfNode *)
      rtmfp_amf_node_get_element (rtmfp_amf_node_get_field
          (rtmfp_amf_node_get_field (other, "ecma"), "list"), 1), "x", 1);
  g_assert_false (rtmfp_amf_node_equal (other, root));
  rtmfp_amf_node_free (other);

  /* the dump names things */
  dump = g_string_new (NULL);
  rtmfp_amf_node_dump (parsed, 0, dump);
  g_assert_nonnull (strstr (dump->str, "\"depth\": 3"));
  g_assert_nonnull (strstr (dump->str, "\"a\\x00b\""));
  g_assert_nonnull (strstr (dump->str, "ECMA{"));
  g_assert_nonnull (strchr (dump->str, '\n'));
  g_string_truncate (dump, 0);
  rtmfp_amf_node_dump (parsed, -1, dump);
  g_assert_null (strchr (dump->str, '\n'));
  g_string_free (dump, TRUE);

  rtmfp_amf_node_free (copy);
  rtmfp_amf_node_free (parsed);
  rtmfp_amf_node_free (root);
  g_bytes_unref (bytes);
}

/* RTMP connect as Flash sends it, built byte by byte. */
static const gchar connect_bytes[] =
    "\x02\x00\x07" "connect"
    NUM_1
    "\x03"
    "\x00\x03" "app" "\x02\x00\x04" "live"
    "\x00\x08" "flashVer" "\x02\x00\x0d" "LNX 9,0,124,2"
    "\x00\x05" "tcUrl" "\x02\x00\x16" "rtmfp://localhost/live"
    "\x00\x0e" "objectEncoding" NUM_0
    OBJ_END;

static void
test_connect (void)
{
  RtmfpAmfNode *obj = rtmfp_amf_node_new_object ();
  GByteArray *cmd;
  GPtrArray *args;
  gchar *name = NULL;
  gdouble txn = -1;
  gdouble enc = -1;
  gsize len = 0;

  rtmfp_amf_node_append_field_string (obj, "app", "live", -1);
  rtmfp_amf_node_append_field_string (obj, "flashVer", "LNX 9,0,124,2", -1);
  rtmfp_amf_node_append_field_take_string (obj, "tcUrl",
      g_strdup ("rtmfp://localhost/live"), -1);
  rtmfp_amf_node_append_field_number (obj, "objectEncoding", 0);

  cmd = rtmfp_amf_serialize_command ("connect", 1.0, obj, NULL);
  assert_bytes (cmd->data, cmd->len, LIT (connect_bytes));
  g_byte_array_unref (cmd);

  args = rtmfp_amf_parse_command (LIT (connect_bytes), &name, &txn);
  g_assert_nonnull (args);
  g_assert_cmpstr (name, ==, "connect");
  g_assert_cmpfloat (txn, ==, 1.0);
  g_assert_cmpuint (args->len, ==, 1);
  g_assert_true (rtmfp_amf_node_equal (args->pdata[0], obj));
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (args->pdata[0], "app",
          &len), ==, "live");
  g_assert_cmpuint (len, ==, 4);
  g_assert_true (rtmfp_amf_node_get_field_number (args->pdata[0],
          "objectEncoding", &enc));
  g_assert_cmpfloat (enc, ==, 0.0);
  /* typed lookups refuse the wrong type / missing fields */
  g_assert_false (rtmfp_amf_node_get_field_number (args->pdata[0], "app",
          &enc));
  g_assert_null (rtmfp_amf_node_peek_field_string (args->pdata[0],
          "objectEncoding", NULL));
  g_assert_null (rtmfp_amf_node_get_field (args->pdata[0], "swfUrl"));
  g_assert_null (rtmfp_amf_node_get_field (args->pdata[0], "ap"));

  g_free (name);
  g_ptr_array_unref (args);
  rtmfp_amf_node_free (obj);
}

static const gchar result_bytes[] =
    "\x02\x00\x07" "_result"
    NUM_1
    "\x03"
    "\x00\x06" "fmsVer" "\x02\x00\x0e" "FMS/3,5,7,7009"
    "\x00\x0c" "capabilities" "\x00\x40\x3f\x00\x00\x00\x00\x00\x00"
    OBJ_END
    "\x03"
    "\x00\x05" "level" "\x02\x00\x06" "status"
    "\x00\x04" "code" "\x02\x00\x1d" "NetConnection.Connect.Success"
    "\x00\x0e" "objectEncoding" NUM_0
    OBJ_END;

static void
test_result (void)
{
  RtmfpAmfNode *props = rtmfp_amf_node_new_object ();
  RtmfpAmfNode *info = rtmfp_amf_node_new_object ();
  const RtmfpAmfNode *argv[2];
  GByteArray *cmd;
  GPtrArray *args;
  gchar *name = NULL, *code;
  gdouble txn = 0, caps = 0;

  args = rtmfp_amf_parse_command (LIT (result_bytes), &name, &txn);
  g_assert_nonnull (args);
  g_assert_cmpstr (name, ==, "_result");
  g_assert_cmpfloat (txn, ==, 1.0);
  g_assert_cmpuint (args->len, ==, 2);
  g_assert_true (rtmfp_amf_node_get_field_number (args->pdata[0],
          "capabilities", &caps));
  g_assert_cmpfloat (caps, ==, 31.0);
  code = rtmfp_amf_node_copy_string (rtmfp_amf_node_get_field (args->pdata[1],
          "code"), NULL);
  g_assert_cmpstr (code, ==, "NetConnection.Connect.Success");
  g_free (code);

  rtmfp_amf_node_append_field_string (props, "fmsVer", "FMS/3,5,7,7009", -1);
  rtmfp_amf_node_append_field_number (props, "capabilities", 31);
  rtmfp_amf_node_append_field_string (info, "level", "status", -1);
  rtmfp_amf_node_append_field_string (info, "code",
      "NetConnection.Connect.Success", -1);
  rtmfp_amf_node_append_field_number (info, "objectEncoding", 0);
  argv[0] = props;
  argv[1] = info;
  cmd = rtmfp_amf_serialize_command_with_args ("_result", 1.0, 2, argv);
  assert_bytes (cmd->data, cmd->len, LIT (result_bytes));
  g_byte_array_unref (cmd);

  /* the parsed arguments serialise back to the same command */
  cmd = rtmfp_amf_serialize_command_with_args (name, txn, args->len,
      (const RtmfpAmfNode * const *) args->pdata);
  assert_bytes (cmd->data, cmd->len, LIT (result_bytes));
  g_byte_array_unref (cmd);

  g_free (name);
  g_ptr_array_unref (args);
  rtmfp_amf_node_free (props);
  rtmfp_amf_node_free (info);
}

static const gchar on_status_bytes[] =
    "\x02\x00\x08" "onStatus"
    NUM_0
    "\x05"
    "\x03"
    "\x00\x05" "level" "\x02\x00\x06" "status"
    "\x00\x04" "code" "\x02\x00\x17" "NetStream.Publish.Start"
    "\x00\x0b" "description" "\x02\x00\x1a" "Started publishing stream."
    OBJ_END;

static void
test_on_status (void)
{
  g_autoptr (RtmfpAmfNode) null = rtmfp_amf_node_new_null ();
  g_autoptr (RtmfpAmfNode) info = rtmfp_amf_node_new_object ();
  GByteArray *cmd;
  GPtrArray *args;
  gchar *name = NULL;
  gdouble txn = 7;

  rtmfp_amf_node_append_field_string (info, "level", "status", -1);
  rtmfp_amf_node_append_field_string (info, "code", "NetStream.Publish.Start",
      -1);
  rtmfp_amf_node_append_field_string (info, "description",
      "Started publishing stream.", -1);
  cmd = rtmfp_amf_serialize_command ("onStatus", 0.0, null, info, NULL);
  assert_bytes (cmd->data, cmd->len, LIT (on_status_bytes));
  g_byte_array_unref (cmd);

  args = rtmfp_amf_parse_command (LIT (on_status_bytes), &name, &txn);
  g_assert_nonnull (args);
  g_assert_cmpstr (name, ==, "onStatus");
  g_assert_cmpfloat (txn, ==, 0.0);
  g_assert_cmpuint (args->len, ==, 2);
  g_assert_cmpint (rtmfp_amf_node_get_type (args->pdata[0]), ==,
      RTMFP_AMF_TYPE_NULL);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (args->pdata[1], "code",
          NULL), ==, "NetStream.Publish.Start");
  g_free (name);
  g_ptr_array_unref (args);

  /* no arguments at all */
  cmd = rtmfp_amf_serialize_command_with_args ("closeStream", 0.0, 0, NULL);
  args = rtmfp_amf_parse_command (cmd->data, cmd->len, NULL, NULL);
  g_assert_nonnull (args);
  g_assert_cmpuint (args->len, ==, 0);
  g_ptr_array_unref (args);
  g_byte_array_unref (cmd);

  /* not a command: wrong leading types, or a name alone */
  g_assert_null (rtmfp_amf_parse_command (LIT (NUM_1 "\x02\x00\x01" "x"),
          NULL, NULL));
  g_assert_null (rtmfp_amf_parse_command (LIT ("\x02\x00\x01" "x" "\x05"),
          NULL, NULL));
  g_assert_null (rtmfp_amf_parse_command (LIT ("\x02\x00\x01" "x"), NULL,
          NULL));
  g_assert_null (rtmfp_amf_parse_command (LIT (""), NULL, NULL));
  /* trailing garbage after the arguments */
  g_assert_null (rtmfp_amf_parse_command (LIT ("\x02\x00\x01" "x" NUM_0
              "\x05\x04"), NULL, NULL));
}

static void
test_long_string (void)
{
  gsize n = RTMFP_AMF_MAX_SHORT_STRING;
  gchar *s = g_malloc (n + 2);
  RtmfpAmfNode *node, *parsed;
  GByteArray *out = g_byte_array_new ();
  gsize consumed = 0;

  memset (s, 'a', n + 1);
  s[n + 1] = '\0';

  /* 65535 bytes: still the short form */
  node = rtmfp_amf_node_new_string (s, n);
  rtmfp_amf_node_serialize (node, out);
  g_assert_cmpuint (out->len, ==, 3 + n);
  assert_bytes (out->data, 3, LIT ("\x02\xff\xff"));
  rtmfp_amf_node_free (node);

  /* 65536 bytes: long string */
  g_byte_array_set_size (out, 0);
  node = rtmfp_amf_node_new_take_string (s, n + 1);
  rtmfp_amf_node_serialize (node, out);
  g_assert_cmpuint (out->len, ==, 5 + n + 1);
  assert_bytes (out->data, 5, LIT ("\x0c\x00\x01\x00\x00"));
  g_assert_cmpint (out->data[out->len - 1], ==, 'a');
  parsed = rtmfp_amf_node_parse (out->data, out->len, &consumed);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (consumed, ==, out->len);
  g_assert_cmpint (rtmfp_amf_node_get_type (parsed), ==, RTMFP_AMF_TYPE_STRING);
  g_assert_true (rtmfp_amf_node_equal (parsed, node));
  rtmfp_amf_node_free (parsed);
  rtmfp_amf_node_free (node);

  /* a long string marker with short content parses as a string and is
   * written back in the short form */
  node = rtmfp_amf_node_parse (LIT ("\x0c\x00\x00\x00\x02" "hi"), &consumed);
  g_assert_nonnull (node);
  g_assert_cmpuint (consumed, ==, 7);
  g_assert_cmpstr (rtmfp_amf_node_peek_string (node, NULL), ==, "hi");
  g_byte_array_set_size (out, 0);
  rtmfp_amf_node_serialize (node, out);
  assert_bytes (out->data, out->len, LIT ("\x02\x00\x02" "hi"));
  rtmfp_amf_node_free (node);

  /* claimed length beyond the data */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x0c\xff\xff\xff\xff" "hi"),
          NULL));
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x02\x00\x03" "hi"), NULL));

  g_byte_array_unref (out);
}

static void
test_ecma_count_hint (void)
{
  /* count 0 but two fields (seen from real encoders) */
  static const gchar zero[] = "\x08\x00\x00\x00\x00"
      "\x00\x01" "a" NUM_1 "\x00\x01" "b" "\x05" OBJ_END;
  /* count 5 but one field */
  static const gchar five[] = "\x08\x00\x00\x00\x05"
      "\x00\x01" "a" NUM_1 OBJ_END;
  /* a huge count must not be trusted for allocation */
  static const gchar huge[] = "\x08\xff\xff\xff\xff"
      "\x00\x01" "a" NUM_1 OBJ_END;
  RtmfpAmfNode *n;
  gsize consumed = 0;

  n = rtmfp_amf_node_parse (LIT (zero), &consumed);
  g_assert_nonnull (n);
  g_assert_cmpuint (consumed, ==, sizeof zero - 1);
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (n), ==, 2);
  g_assert_nonnull (rtmfp_amf_node_get_field (n, "b"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_parse (LIT (five), &consumed);
  g_assert_nonnull (n);
  g_assert_cmpuint (consumed, ==, sizeof five - 1);
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (n), ==, 1);
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_parse (LIT (huge), &consumed);
  g_assert_nonnull (n);
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (n), ==, 1);
  rtmfp_amf_node_free (n);

  /* ... but the end marker is required */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x08\x00\x00\x00\x01"
              "\x00\x01" "a" NUM_1), NULL));

  /* strict arrays: the count is exact; impossible counts are refused */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x0a\xff\xff\xff\xff" "\x05"),
          NULL));
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x0a\x00\x00\x00\x03"
              "\x05\x05"), NULL));
  n = rtmfp_amf_node_parse (LIT ("\x0a\x00\x00\x00\x02" "\x05\x05\x05"),
      &consumed);
  g_assert_nonnull (n);
  g_assert_cmpuint (consumed, ==, 7);
  rtmfp_amf_node_free (n);
}

/* levels nested containers, alternating object / strict array */
static GByteArray *
nested (guint levels)
{
  GByteArray *out = g_byte_array_new ();
  guint i;

  for (i = 0; i < levels; i++) {
    if (i % 2 == 0)
      g_byte_array_append (out, LIT ("\x03\x00\x01" "o"));
    else
      g_byte_array_append (out, LIT ("\x0a\x00\x00\x00\x01"));
  }
  g_byte_array_append (out, LIT ("\x05"));
  for (i = levels; i > 0; i--) {
    if ((i - 1) % 2 == 0)
      g_byte_array_append (out, LIT (OBJ_END));
  }
  return out;
}

static void
test_depth_limit (void)
{
  GByteArray *b;
  RtmfpAmfNode *n;
  gsize consumed = 0;

  b = nested (RTMFP_AMF_DEFAULT_MAX_DEPTH);
  n = rtmfp_amf_node_parse (b->data, b->len, &consumed);
  g_assert_nonnull (n);
  g_assert_cmpuint (consumed, ==, b->len);
  /* and it serialises back to the same bytes */
  {
    GByteArray *again = g_byte_array_new ();
    rtmfp_amf_node_serialize (n, again);
    assert_bytes (again->data, again->len, b->data, b->len);
    g_byte_array_unref (again);
  }
  rtmfp_amf_node_free (n);
  g_byte_array_unref (b);

  b = nested (RTMFP_AMF_DEFAULT_MAX_DEPTH + 1);
  g_assert_null (rtmfp_amf_node_parse (b->data, b->len, NULL));
  n = rtmfp_amf_node_parse_with_depth (b->data, b->len,
      RTMFP_AMF_DEFAULT_MAX_DEPTH + 1, NULL);
  g_assert_nonnull (n);
  rtmfp_amf_node_free (n);
  g_byte_array_unref (b);

  /* very deep input fails quickly without blowing the stack */
  b = nested (100000);
  g_assert_null (rtmfp_amf_node_parse (b->data, b->len, NULL));
  g_assert_null (rtmfp_amf_parse_values (b->data, b->len));
  g_byte_array_unref (b);

  b = nested (2);
  g_assert_null (rtmfp_amf_node_parse_with_depth (b->data, b->len, 1, NULL));
  n = rtmfp_amf_node_parse_with_depth (b->data, b->len, 2, NULL);
  g_assert_nonnull (n);
  rtmfp_amf_node_free (n);
  g_byte_array_unref (b);

  /* depth 0: scalars only */
  n = rtmfp_amf_node_parse_with_depth (LIT (NUM_1), 0, NULL);
  g_assert_nonnull (n);
  rtmfp_amf_node_free (n);
  g_assert_null (rtmfp_amf_node_parse_with_depth (LIT ("\x03" OBJ_END), 0,
          NULL));
  g_assert_null (rtmfp_amf_node_parse_with_depth (LIT ("\x0a\x00\x00\x00\x00"),
          0, NULL));
}

static void
test_bad_markers (void)
{
  static const guint8 bad[] = { 0x04, 0x09, 0x0e, 0x12, 0x13, 0x7f, 0xff };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    guint8 buf[16] = { bad[i] };
    g_assert_null (rtmfp_amf_node_parse (buf, sizeof buf, NULL));
  }
  g_assert_null (rtmfp_amf_node_parse (NULL, 0, NULL));
  /* object-end without the empty name inside an object */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x03\x09"), NULL));
  /* object-end marker as a property value */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x03\x00\x01" "a" "\x09"
              OBJ_END), NULL));
}

/* Every strict prefix of one encoded value fails cleanly. */
static void
check_prefixes_fail (const guint8 * data, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++) {
    /* copy so ASan catches any read past the prefix */
    guint8 *copy = g_memdup2 (data, i);
    gsize consumed = 12345;
    RtmfpAmfNode *n = rtmfp_amf_node_parse (copy, i, &consumed);
    if (n)
      g_error ("prefix of %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " parsed", i,
          len);
    g_assert_cmpuint (consumed, ==, 12345);
    g_free (copy);
  }
}

static void
test_truncation (void)
{
  RtmfpAmfNode *root = build_everything ();
  RtmfpAmfNode *ls;
  GByteArray *out = g_byte_array_new ();
  gchar *big = g_strnfill (70000, 'z');
  gsize i;

  rtmfp_amf_node_serialize (root, out);
  check_prefixes_fail (out->data, out->len);

  /* a command: every prefix fails unless it ends on a value boundary
   * after the transaction id, in which case fewer args come back */
  for (i = 0; i < sizeof connect_bytes - 1; i++) {
    GPtrArray *args = rtmfp_amf_parse_command ((const guint8 *) connect_bytes,
        i, NULL, NULL);
    if (args) {
      g_assert_cmpuint (i, ==, 19);
      g_assert_cmpuint (args->len, ==, 0);
      g_ptr_array_unref (args);
    }
  }
  /* the object argument alone */
  check_prefixes_fail ((const guint8 *) connect_bytes + 19,
      sizeof connect_bytes - 1 - 19);
  for (i = 0; i < sizeof result_bytes - 1; i++) {
    GPtrArray *args = rtmfp_amf_parse_command ((const guint8 *) result_bytes,
        i, NULL, NULL);
    if (args) {
      g_assert_true (i == 19 || i == 71);
      g_assert_cmpuint (args->len, ==, i == 19 ? 0 : 1);
      g_ptr_array_unref (args);
    }
  }

  /* long string: only check a few boundaries (70 KB of prefixes is slow
   * under sanitizers) */
  g_byte_array_set_size (out, 0);
  ls = rtmfp_amf_node_new_take_string (big, -1);
  rtmfp_amf_node_serialize (ls, out);
  for (i = 0; i < 8; i++)
    g_assert_null (rtmfp_amf_node_parse (out->data, i, NULL));
  g_assert_null (rtmfp_amf_node_parse (out->data, out->len - 1, NULL));
  rtmfp_amf_node_free (ls);

  g_byte_array_unref (out);
  rtmfp_amf_node_free (root);
}

static void
test_date (void)
{
  RtmfpAmfNode *n;
  gint16 tz = 1;

  n = rtmfp_amf_node_new_date (0, 0);
  check_encoding (n, LIT ("\x0b" "\x00\x00\x00\x00\x00\x00\x00\x00"
          "\x00\x00"));
  rtmfp_amf_node_free (n);

  n = rtmfp_amf_node_new_date (1234567890123.0, -60);
  check_encoding (n, LIT ("\x0b" "\x42\x71\xf7\x1f\xb0\x4c\xb0\x00"
          "\xff\xc4"));
  g_assert_cmpfloat (rtmfp_amf_node_get_date (n, &tz), ==, 1234567890123.0);
  g_assert_cmpint (tz, ==, -60);
  rtmfp_amf_node_free (n);

  /* different tz: not equal */
  {
    g_autoptr (RtmfpAmfNode) a = rtmfp_amf_node_new_date (5, 0);
    g_autoptr (RtmfpAmfNode) b = rtmfp_amf_node_new_date (5, 1);
    g_assert_false (rtmfp_amf_node_equal (a, b));
  }
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x0b" "\x00\x00\x00\x00\x00"
              "\x00\x00\x00" "\x00"), NULL));
}

static void
test_avmplus (void)
{
  /* "x", then an AMF3 switch: AMF3 object (0x0a) with some bytes */
  static const gchar bytes[] = "\x02\x00\x01" "x" NUM_0 "\x11"
      "\x0a\x0b\x01\x09" "a" "\x04\x05\x01";
  GPtrArray *args;
  const guint8 *blob;
  gsize blob_len = 0;
  GByteArray *cmd;
  RtmfpAmfNode *n;

  args = rtmfp_amf_parse_command (LIT (bytes), NULL, NULL);
  g_assert_nonnull (args);
  g_assert_cmpuint (args->len, ==, 1);
  g_assert_cmpint (rtmfp_amf_node_get_type (args->pdata[0]), ==,
      RTMFP_AMF_TYPE_AVMPLUS_OBJECT);
  blob = rtmfp_amf_node_peek_avmplus (args->pdata[0], &blob_len);
  assert_bytes (blob, blob_len, LIT ("\x0a\x0b\x01\x09" "a" "\x04\x05\x01"));

  cmd = rtmfp_amf_serialize_command_with_args ("x", 0, args->len,
      (const RtmfpAmfNode * const *) args->pdata);
  assert_bytes (cmd->data, cmd->len, LIT (bytes));
  g_byte_array_unref (cmd);
  g_ptr_array_unref (args);

  n = rtmfp_amf_node_new_avmplus ((const guint8 *) "\x06\x05" "ab", 4);
  check_encoding (n, LIT ("\x11\x06\x05" "ab"));
  rtmfp_amf_node_free (n);

  /* marker with nothing after it */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x11"), NULL));
  /* inside an object the blob eats the end marker: no longer an object */
  g_assert_null (rtmfp_amf_node_parse (LIT ("\x03\x00\x01" "a" "\x11\x01"
              OBJ_END), NULL));
}

static void
test_ownership (void)
{
  RtmfpAmfNode *obj = rtmfp_amf_node_new_object ();
  RtmfpAmfNode *val = rtmfp_amf_node_new_string ("copied", -1);
  RtmfpAmfNode *num = rtmfp_amf_node_new_number (9);
  gchar *taken = g_strdup ("xyz");
  gchar *copy;
  const gchar *peek;
  gsize size = 0;

  /* append_field copies: freeing the original is fine */
  rtmfp_amf_node_append_field (obj, "c", val);
  rtmfp_amf_node_free (val);
  /* take: obj owns num now */
  rtmfp_amf_node_append_take_field (obj, "n", num);
  /* take_string with a size that excludes the last char */
  rtmfp_amf_node_append_field_take_string (obj, "t", taken, 2);

  peek = rtmfp_amf_node_peek_string (rtmfp_amf_node_get_field (obj, "c"),
      &size);
  g_assert_cmpstr (peek, ==, "copied");
  g_assert_cmpuint (size, ==, 6);
  copy = rtmfp_amf_node_copy_string (rtmfp_amf_node_get_field (obj, "t"),
      &size);
  g_assert_cmpstr (copy, ==, "xy");
  g_assert_cmpuint (size, ==, 2);
  g_assert_true (copy != rtmfp_amf_node_peek_string (rtmfp_amf_node_get_field
          (obj, "t"), NULL));
  g_free (copy);
  g_assert_cmpfloat (rtmfp_amf_node_get_number (rtmfp_amf_node_get_field (obj,
              "n")), ==, 9);

  /* lenient lookups on non-containers */
  g_assert_null (rtmfp_amf_node_get_field (rtmfp_amf_node_get_field (obj, "n"),
          "x"));
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (rtmfp_amf_node_get_field
          (obj, "n")), ==, 0);
  g_assert_null (rtmfp_amf_node_get_element (obj, 0));
  g_assert_cmpuint (rtmfp_amf_node_get_num_elements (obj), ==, 0);
  g_assert_null (rtmfp_amf_node_get_field (NULL, "x"));

  g_assert_cmpstr (rtmfp_amf_type_get_nick (RTMFP_AMF_TYPE_ECMA_ARRAY), ==,
      "ecma-array");
  g_assert_cmpstr (rtmfp_amf_type_get_nick (99), ==, "invalid");

  rtmfp_amf_node_free (obj);
}

static void
test_parse_values (void)
{
  GPtrArray *v;

  v = rtmfp_amf_parse_values (LIT ("\x05\x06" NUM_1 "\x02\x00\x00"));
  g_assert_nonnull (v);
  g_assert_cmpuint (v->len, ==, 4);
  g_assert_cmpint (rtmfp_amf_node_get_type (v->pdata[2]), ==,
      RTMFP_AMF_TYPE_NUMBER);
  g_ptr_array_unref (v);

  v = rtmfp_amf_parse_values (NULL, 0);
  g_assert_nonnull (v);
  g_assert_cmpuint (v->len, ==, 0);
  g_ptr_array_unref (v);

  g_assert_null (rtmfp_amf_parse_values (LIT ("\x05\x06\x00\x01")));
}

static void
drop_log (const gchar * domain, GLogLevelFlags level, const gchar * msg,
    gpointer user_data)
{
}

/* Random input: never crashes; whatever parses re-serialises to
 * something that parses to an equal value (a round-trip property). */
static void
test_random_garbage (void)
{
  static const guint8 markers[] = {
    0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
    0x0d, 0x0f, 0x10, 0x11, 0x00, 0x00
  };
  GRand *rand = g_rand_new_with_seed (0x616d6630);
  guint8 buf[96];
  guint iter, parsed_ok = 0;
  GByteArray *out = g_byte_array_new ();
  /* the parser logs every refusal at debug level: too much here */
  guint handler = g_log_set_handler ("rtmfp-amf0", G_LOG_LEVEL_DEBUG,
      drop_log, NULL);

  for (iter = 0; iter < 30000; iter++) {
    gsize len = g_rand_int_range (rand, 0, sizeof buf + 1);
    gsize i, consumed = 0;
    RtmfpAmfNode *n;
    GPtrArray *args;

    /* bias towards structure: markers and small lengths */
    for (i = 0; i < len; i++) {
      guint r = g_rand_int_range (rand, 0, 4);
      if (r == 0)
        buf[i] = markers[g_rand_int_range (rand, 0, G_N_ELEMENTS (markers))];
      else if (r == 1)
        buf[i] = g_rand_int_range (rand, 0, 4);
      else
        buf[i] = g_rand_int_range (rand, 0, 256);
    }

    n = rtmfp_amf_node_parse_with_depth (buf, len, 4, &consumed);
    if (n) {
      RtmfpAmfNode *again;
      gsize consumed2 = 0;
      GString *dump = g_string_new (NULL);

      parsed_ok++;
      g_assert_cmpuint (consumed, <=, len);
      g_byte_array_set_size (out, 0);
      rtmfp_amf_node_serialize (n, out);
      again = rtmfp_amf_node_parse_with_depth (out->data, out->len, 4,
          &consumed2);
      g_assert_nonnull (again);
      g_assert_cmpuint (consumed2, ==, out->len);
      g_assert_true (rtmfp_amf_node_equal (n, again));
      rtmfp_amf_node_dump (n, 0, dump);
      g_string_free (dump, TRUE);
      rtmfp_amf_node_free (again);
      rtmfp_amf_node_free (n);
    }
    args = rtmfp_amf_parse_command (buf, len, NULL, NULL);
    if (args)
      g_ptr_array_unref (args);
  }
  /* the generator does produce parseable values */
  g_assert_cmpuint (parsed_ok, >, 1000);

  /* mutations of a real command */
  for (iter = 0; iter < 5000; iter++) {
    guint8 m[sizeof connect_bytes];
    guint flips = g_rand_int_range (rand, 1, 4), k;
    GPtrArray *args;

    memcpy (m, connect_bytes, sizeof m - 1);
    for (k = 0; k < flips; k++)
      m[g_rand_int_range (rand, 0, sizeof m - 1)] = g_rand_int_range (rand, 0,
          256);
    args = rtmfp_amf_parse_command (m, sizeof m - 1, NULL, NULL);
    if (args)
      g_ptr_array_unref (args);
  }

  g_log_remove_handler ("rtmfp-amf0", handler);
  g_byte_array_unref (out);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/amf0/scalars", test_scalars);
  g_test_add_func ("/amf0/containers-known-bytes", test_containers_known_bytes);
  g_test_add_func ("/amf0/roundtrip-nested", test_roundtrip_nested);
  g_test_add_func ("/amf0/connect", test_connect);
  g_test_add_func ("/amf0/result", test_result);
  g_test_add_func ("/amf0/on-status", test_on_status);
  g_test_add_func ("/amf0/long-string", test_long_string);
  g_test_add_func ("/amf0/ecma-count-hint", test_ecma_count_hint);
  g_test_add_func ("/amf0/depth-limit", test_depth_limit);
  g_test_add_func ("/amf0/bad-markers", test_bad_markers);
  g_test_add_func ("/amf0/truncation", test_truncation);
  g_test_add_func ("/amf0/date", test_date);
  g_test_add_func ("/amf0/avmplus", test_avmplus);
  g_test_add_func ("/amf0/ownership", test_ownership);
  g_test_add_func ("/amf0/parse-values", test_parse_values);
  g_test_add_func ("/amf0/random-garbage", test_random_garbage);

  return g_test_run ();
}
