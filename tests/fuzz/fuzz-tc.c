/* gst-rtmfp fuzz target: the Flash TC profile codecs (rtmfptc.h).
 *
 * The input goes through every parser: flow metadata, the RTMP message
 * header, then by message type the user control event or the command
 * (AMF0, or AMF3 type 17 with its format byte), and as text the rtmfp://
 * URI parser.  Whatever parses is re-encoded and must parse back equal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "rtmfptc.h"

/* Known bugs, reported and not fixed yet, can be skipped unless
 * FUZZ_STRICT is set (their reproducers go to crashers/fuzz-tc/).  None
 * at the moment. */
static gboolean strict;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  strict = g_getenv ("FUZZ_STRICT") != NULL;
  return 0;
}

static void
check_metadata (const guint8 * data, gsize size)
{
  guint32 sid, sid2;
  gboolean rxi, rxi2;
  GByteArray *out;

  if (!rtmfp_tc_metadata_parse (data, size, &sid, &rxi))
    return;
  FUZZ_CHECK (size >= 3 && data[0] == 'T' && data[1] == 'C');
  FUZZ_CHECK (sid <= 0xffffff);
  out = g_byte_array_new ();
  rtmfp_tc_metadata_append (out, sid, rxi);
  FUZZ_CHECK (out->len <= size);
  FUZZ_CHECK (rtmfp_tc_metadata_parse (out->data, out->len, &sid2, &rxi2));
  FUZZ_CHECK (sid == sid2 && rxi == rxi2);
  g_byte_array_unref (out);
}

static gboolean
args_equal (GPtrArray * a, GPtrArray * b)
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

static void
check_command (const RtmfpTcMessage * msg)
{
  GPtrArray *args, *args2;
  gchar *name = NULL, *name2 = NULL;
  gdouble txn = 0, txn2 = 0;
  GByteArray *out;
  RtmfpTcMessage m2;
  guint i;

  args = rtmfp_tc_command_parse (msg, &name, &txn);
  if (args == NULL) {
    FUZZ_CHECK (name == NULL);
    return;
  }
  FUZZ_CHECK (name != NULL);
  for (i = 0; i < args->len; i++) {
    /* lenient lookups, as the client and server do on any argument */
    rtmfp_tc_status_peek_code (g_ptr_array_index (args, i));
    rtmfp_tc_status_peek_description (g_ptr_array_index (args, i));
  }

  /* re-sent as an AMF0 command message (type 20) */
  out = g_byte_array_new ();
  rtmfp_tc_command_append_with_args (out, msg->timestamp, name, txn,
      args->len, (const RtmfpAmfNode * const *) args->pdata);
  FUZZ_CHECK (rtmfp_tc_message_parse (out->data, out->len, &m2));
  FUZZ_CHECK (m2.type == RTMFP_TC_MSG_COMMAND_AMF0);
  FUZZ_CHECK (m2.timestamp == msg->timestamp);
  args2 = rtmfp_tc_command_parse (&m2, &name2, &txn2);
  FUZZ_CHECK (args2 != NULL);
  FUZZ_CHECK (strcmp (name, name2) == 0);
  FUZZ_CHECK (memcmp (&txn, &txn2, sizeof (txn)) == 0);
  FUZZ_CHECK (args_equal (args, args2));
  g_ptr_array_unref (args2);
  g_ptr_array_unref (args);
  g_byte_array_unref (out);
  g_free (name);
  g_free (name2);
}

static void
check_message (const guint8 * data, gsize size)
{
  RtmfpTcMessage msg, m2;
  GByteArray *out;

  if (!rtmfp_tc_message_parse (data, size, &msg))
    return;
  FUZZ_CHECK (size >= RTMFP_TC_MESSAGE_HEADER_SIZE);
  FUZZ_CHECK (msg.payload == data + RTMFP_TC_MESSAGE_HEADER_SIZE);
  FUZZ_CHECK (msg.len == size - RTMFP_TC_MESSAGE_HEADER_SIZE);
  FUZZ_CHECK (rtmfp_tc_message_type_get_nick (msg.type) != NULL);
  FUZZ_CHECK (rtmfp_tc_message_type_is_chunk_control (msg.type) ==
      (msg.type == 1 || msg.type == 2 || msg.type == 3 || msg.type == 5 ||
          msg.type == 6));

  out = g_byte_array_new ();
  rtmfp_tc_message_append (out, msg.type, msg.timestamp, msg.payload,
      msg.len);
  FUZZ_CHECK (out->len == size && memcmp (out->data, data, size) == 0);
  FUZZ_CHECK (rtmfp_tc_message_parse (out->data, out->len, &m2));
  FUZZ_CHECK (m2.type == msg.type && m2.timestamp == msg.timestamp &&
      m2.len == msg.len);
  g_byte_array_unref (out);

  if (msg.type == RTMFP_TC_MSG_USER_CONTROL) {
    guint16 ev, ev2;
    guint32 args[2], args2[2];
    guint n, n2;

    if (rtmfp_tc_user_control_parse (msg.payload, msg.len, &ev, args, &n)) {
      FUZZ_CHECK (n <= 2);
      FUZZ_CHECK (msg.len >= 2 + 4 * n);
      out = g_byte_array_new ();
      rtmfp_tc_user_control_append (out, ev, args, n);
      FUZZ_CHECK (out->len == 2 + 4 * n);
      FUZZ_CHECK (rtmfp_tc_user_control_parse (out->data, out->len, &ev2,
              args2, &n2));
      FUZZ_CHECK (ev == ev2 && n == n2);
      FUZZ_CHECK (n == 0 || memcmp (args, args2, n * sizeof (guint32)) == 0);
      g_byte_array_unref (out);
    }
  }
  /* any type through the command parser: only 17 and 20 may parse */
  check_command (&msg);
}

/* tc_url keeps the application path as spelt in the input, so it only
 * has to agree once both went through rtmfp_uri_to_string */
static void
check_uri_fields (const RtmfpUri * a, const RtmfpUri * b, gboolean tc_url)
{
  FUZZ_CHECK (g_strcmp0 (a->host, b->host) == 0);
  FUZZ_CHECK (a->port == b->port);
  FUZZ_CHECK (g_strcmp0 (a->app, b->app) == 0);
  FUZZ_CHECK (g_strcmp0 (a->stream, b->stream) == 0);
  if (tc_url)
    FUZZ_CHECK (g_strcmp0 (a->tc_url, b->tc_url) == 0);
}

static void
check_uri (const guint8 * data, gsize size)
{
  gchar *str = g_strndup ((const gchar *) data, size);
  gboolean require;

  for (require = FALSE; require <= TRUE; require++) {
    RtmfpUri uri, again, third;
    GError *err = NULL;
    gchar *s, *s2;

    if (!rtmfp_uri_parse (str, require, &uri, &err)) {
      FUZZ_CHECK (err != NULL && err->domain == RTMFP_URI_ERROR);
      g_error_free (err);
      continue;
    }
    FUZZ_CHECK (err == NULL);
    if (require)
      FUZZ_CHECK (uri.stream != NULL);
    if (uri.host) {
      FUZZ_CHECK (uri.app != NULL && uri.tc_url != NULL);
      FUZZ_CHECK (g_str_has_prefix (uri.tc_url, "rtmfp://"));
    }
    s = rtmfp_uri_to_string (&uri);
    FUZZ_CHECK (s != NULL);
    FUZZ_CHECK (rtmfp_uri_parse (s, require, &again, NULL));
    check_uri_fields (&uri, &again, FALSE);
    /* the string form is a fixed point from then on */
    s2 = rtmfp_uri_to_string (&again);
    FUZZ_CHECK (strcmp (s, s2) == 0);
    FUZZ_CHECK (rtmfp_uri_parse (s2, require, &third, NULL));
    check_uri_fields (&again, &third, TRUE);
    rtmfp_uri_clear (&third);
    rtmfp_uri_clear (&again);
    rtmfp_uri_clear (&uri);
    g_free (s2);
    g_free (s);
  }
  g_free (str);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  check_metadata (data, size);
  check_message (data, size);
  check_uri (data, size);
  return 0;
}
