/* Tests of the Flash TC profile codecs (RFC 7425 section 5, 6.1):
 * flow metadata, messages, user control, commands, status objects and
 * rtmfp:// URIs.  Known answers come from the RFC figures and DIGEST.md
 * (the metadata examples are from a real capture / rtmfp-cpp's tests).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfptc.h"

#include <string.h>

static void
assert_bytes (const GByteArray * got, const guint8 * want, gsize len)
{
  g_assert_cmpmem (got->data, got->len, want, len);
}

/* ---- flow metadata (5.1.1) ---- */

static void
test_metadata_known (void)
{
  static const guint8 md0[] = { 0x54, 0x43, 0x04, 0x00 };
  static const guint8 md5[] = { 0x54, 0x43, 0x05, 0x05 };
  static const guint8 md128[] = { 0x54, 0x43, 0x04, 0x81, 0x00 };
  static const guint8 md1a[] = { 0x54, 0x43, 0x05, 0x01 };
  GByteArray *b = g_byte_array_new ();
  guint32 sid = 99;
  gboolean rxi = TRUE;

  rtmfp_tc_metadata_append (b, 0, FALSE);
  assert_bytes (b, md0, sizeof (md0));
  g_byte_array_set_size (b, 0);
  rtmfp_tc_metadata_append (b, 5, TRUE);
  assert_bytes (b, md5, sizeof (md5));
  g_byte_array_set_size (b, 0);
  rtmfp_tc_metadata_append (b, 128, FALSE);
  assert_bytes (b, md128, sizeof (md128));
  g_byte_array_unref (b);

  g_assert_true (rtmfp_tc_metadata_parse (md0, sizeof (md0), &sid, &rxi));
  g_assert_cmpuint (sid, ==, 0);
  g_assert_false (rxi);
  g_assert_true (rtmfp_tc_metadata_parse (md5, sizeof (md5), &sid, &rxi));
  g_assert_cmpuint (sid, ==, 5);
  g_assert_true (rxi);
  g_assert_true (rtmfp_tc_metadata_parse (md128, sizeof (md128), &sid, &rxi));
  g_assert_cmpuint (sid, ==, 128);
  g_assert_false (rxi);
  g_assert_true (rtmfp_tc_metadata_parse (md1a, sizeof (md1a), &sid, &rxi));
  g_assert_cmpuint (sid, ==, 1);
  g_assert_true (rxi);
}

static void
test_metadata_roundtrip (void)
{
  static const guint32 ids[] = { 0, 1, 127, 128, 16383, 16384, 0xffffff };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (ids); i++) {
    GByteArray *b = g_byte_array_new ();
    guint32 sid;
    gboolean rxi;

    rtmfp_tc_metadata_append (b, ids[i], i & 1);
    g_assert_true (rtmfp_tc_metadata_parse (b->data, b->len, &sid, &rxi));
    g_assert_cmpuint (sid, ==, ids[i]);
    g_assert_cmpint (rxi, ==, (gboolean) (i & 1));
    g_byte_array_unref (b);
  }
}

static void
test_metadata_malformed (void)
{
  static const guint8 no_sid[] = { 0x54, 0x43, 0x00, 0x05 };
  static const guint8 no_sid_rxi[] = { 0x54, 0x43, 0x01 };
  static const guint8 wrong_sig[] = { 0x54, 0x44, 0x04, 0x00 };
  static const guint8 lower_sig[] = { 0x74, 0x63, 0x04, 0x00 };
  static const guint8 trunc_vlu[] = { 0x54, 0x43, 0x04, 0x81 };
  static const guint8 no_id[] = { 0x54, 0x43, 0x04 };
  static const guint8 too_big[] = { 0x54, 0x43, 0x04, 0x88, 0x80, 0x80, 0x00 };
  static const guint8 max_ok[] = { 0x54, 0x43, 0x04, 0x87, 0xff, 0xff, 0x7f };
  static const guint8 overflow[] = { 0x54, 0x43, 0x04, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
  };
  static const guint8 reserved[] = { 0x54, 0x43, 0xfe, 0x07 };
  guint32 sid = 42;
  gboolean rxi = FALSE;

  g_assert_false (rtmfp_tc_metadata_parse (NULL, 0, &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (no_sid, 2, &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (no_sid, sizeof (no_sid), &sid,
          &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (no_sid_rxi, sizeof (no_sid_rxi),
          &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (wrong_sig, sizeof (wrong_sig),
          &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (lower_sig, sizeof (lower_sig),
          &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (trunc_vlu, sizeof (trunc_vlu),
          &sid, &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (no_id, sizeof (no_id), &sid,
          &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (too_big, sizeof (too_big), &sid,
          &rxi));
  g_assert_false (rtmfp_tc_metadata_parse (overflow, sizeof (overflow), &sid,
          &rxi));
  /* failures leave the outputs alone */
  g_assert_cmpuint (sid, ==, 42);
  g_assert_false (rxi);

  g_assert_true (rtmfp_tc_metadata_parse (max_ok, sizeof (max_ok), &sid,
          &rxi));
  g_assert_cmpuint (sid, ==, 0xffffff);
  /* reserved bits are ignored; SID (0x04) and RXI (0x01) are read */
  g_assert_true (rtmfp_tc_metadata_parse (reserved, sizeof (reserved), &sid,
          &rxi));
  g_assert_cmpuint (sid, ==, 7);
  g_assert_false (rxi);
}

/* ---- messages (5.1.2) ---- */

static void
test_message (void)
{
  static const guint8 payload[] = { 0xaf, 0x01, 0x21, 0x10 };
  static const guint8 want[] = { 0x08, 0x01, 0x02, 0x03, 0x04,
    0xaf, 0x01, 0x21, 0x10
  };
  GByteArray *b = g_byte_array_new ();
  RtmfpTcMessage m;

  rtmfp_tc_message_append (b, RTMFP_TC_MSG_AUDIO, 0x01020304, payload,
      sizeof (payload));
  assert_bytes (b, want, sizeof (want));

  g_assert_true (rtmfp_tc_message_parse (b->data, b->len, &m));
  g_assert_cmpuint (m.type, ==, 8);
  g_assert_cmpuint (m.timestamp, ==, 0x01020304);
  g_assert_cmpmem (m.payload, m.len, payload, sizeof (payload));
  g_assert_true (m.payload == b->data + 5);

  /* header only: an empty payload */
  g_assert_true (rtmfp_tc_message_parse (want, 5, &m));
  g_assert_cmpuint (m.len, ==, 0);
  /* too short */
  g_assert_false (rtmfp_tc_message_parse (want, 4, &m));
  g_assert_false (rtmfp_tc_message_parse (want, 0, &m));
  g_assert_false (rtmfp_tc_message_parse (NULL, 0, &m));

  /* max timestamp */
  g_byte_array_set_size (b, 0);
  rtmfp_tc_message_append (b, RTMFP_TC_MSG_VIDEO, G_MAXUINT32, NULL, 0);
  g_assert_cmpuint (b->len, ==, 5);
  g_assert_true (rtmfp_tc_message_parse (b->data, b->len, &m));
  g_assert_cmpuint (m.timestamp, ==, G_MAXUINT32);
  g_assert_cmpuint (m.type, ==, 9);
  g_byte_array_unref (b);

  g_assert_cmpstr (rtmfp_tc_message_type_get_nick (20), ==, "command-amf0");
  g_assert_cmpstr (rtmfp_tc_message_type_get_nick (9), ==, "video");
  g_assert_cmpstr (rtmfp_tc_message_type_get_nick (200), ==, "unknown");
  {
    guint t, n = 0;
    for (t = 0; t < 256; t++)
      n += rtmfp_tc_message_type_is_chunk_control (t);
    g_assert_cmpuint (n, ==, 5);
    g_assert_true (rtmfp_tc_message_type_is_chunk_control (1));
    g_assert_true (rtmfp_tc_message_type_is_chunk_control (6));
    g_assert_false (rtmfp_tc_message_type_is_chunk_control (4));
  }
}

/* ---- user control ---- */

static void
test_user_control (void)
{
  /* 5.3.4 Set Keepalive Timers: 00 29 server-ms peer-ms */
  static const guint8 keepalive[] = { 0x00, 0x29, 0x00, 0x00, 0x75, 0x30,
    0x00, 0x00, 0x27, 0x10
  };
  /* StreamBegin for stream 5 */
  static const guint8 begin[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x05 };
  /* 5.2 flow sync 34 */
  static const guint8 sync[] = { 0x00, 0x22, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x00, 0x00, 0x02
  };
  guint32 args[2] = { 30000, 10000 };
  GByteArray *b = g_byte_array_new ();
  guint16 ev;
  guint n;

  rtmfp_tc_user_control_append (b, RTMFP_TC_EVENT_SET_KEEPALIVE, args, 2);
  assert_bytes (b, keepalive, sizeof (keepalive));
  g_byte_array_set_size (b, 0);
  args[0] = 5;
  rtmfp_tc_user_control_append (b, RTMFP_TC_EVENT_STREAM_BEGIN, args, 1);
  assert_bytes (b, begin, sizeof (begin));
  g_byte_array_unref (b);

  g_assert_true (rtmfp_tc_user_control_parse (sync, sizeof (sync), &ev, args,
          &n));
  g_assert_cmpuint (ev, ==, RTMFP_TC_EVENT_FLOW_SYNC);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (args[0], ==, 8);
  g_assert_cmpuint (args[1], ==, 2);

  g_assert_true (rtmfp_tc_user_control_parse (begin, sizeof (begin), &ev,
          args, &n));
  g_assert_cmpuint (ev, ==, 0);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (args[0], ==, 5);

  /* a partial argument is not an argument */
  g_assert_true (rtmfp_tc_user_control_parse (begin, 5, &ev, args, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (rtmfp_tc_user_control_parse (begin, 2, &ev, args, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_false (rtmfp_tc_user_control_parse (begin, 1, &ev, args, &n));
  g_assert_false (rtmfp_tc_user_control_parse (begin, 0, &ev, args, &n));
}

/* ---- commands ---- */

static void
test_command_known (void)
{
  /* "createStream", 2.0, null as a type 20 message at timestamp 0 */
  static const guint8 want[] = { 0x14, 0, 0, 0, 0,
    0x02, 0x00, 0x0c, 'c', 'r', 'e', 'a', 't', 'e', 'S', 't', 'r', 'e', 'a',
    'm',
    0x00, 0x40, 0x00, 0, 0, 0, 0, 0, 0,
    0x05
  };
  g_autoptr (RtmfpAmfNode) null = rtmfp_amf_node_new_null ();
  GByteArray *b = g_byte_array_new ();
  const RtmfpAmfNode *args[] = { null };
  RtmfpTcMessage m;
  GPtrArray *parsed;
  gchar *name = NULL;
  gdouble txn = 0;

  rtmfp_tc_command_append (b, 0, "createStream", 2.0, null, NULL);
  assert_bytes (b, want, sizeof (want));
  g_byte_array_set_size (b, 0);
  rtmfp_tc_command_append_with_args (b, 0, "createStream", 2.0, 1, args);
  assert_bytes (b, want, sizeof (want));

  g_assert_true (rtmfp_tc_message_parse (b->data, b->len, &m));
  parsed = rtmfp_tc_command_parse (&m, &name, &txn);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (name, ==, "createStream");
  g_assert_cmpfloat (txn, ==, 2.0);
  g_assert_cmpuint (parsed->len, ==, 1);
  g_assert_cmpint (rtmfp_amf_node_get_type (parsed->pdata[0]), ==,
      RTMFP_AMF_TYPE_NULL);
  g_ptr_array_unref (parsed);
  g_free (name);
  g_byte_array_unref (b);
}

static void
test_command_type17 (void)
{
  /* setPeerInfo (5.3.3, Figure 3) as a type 17 message: format byte 0 */
  g_autoptr (RtmfpAmfNode) null = rtmfp_amf_node_new_null ();
  g_autoptr (RtmfpAmfNode) a1 =
      rtmfp_amf_node_new_string ("192.0.2.129:50001", -1);
  g_autoptr (RtmfpAmfNode) a2 =
      rtmfp_amf_node_new_string ("[2001:db8:1::2]:50002", -1);
  GByteArray *amf =
      rtmfp_amf_serialize_command ("setPeerInfo", 0.0, null, a1, a2, NULL);
  GByteArray *payload = g_byte_array_new ();
  GByteArray *msgbytes = g_byte_array_new ();
  RtmfpTcMessage m;
  GPtrArray *parsed;
  gchar *name = NULL;
  gdouble txn = -1;
  guint8 zero = 0;

  g_byte_array_append (payload, &zero, 1);
  g_byte_array_append (payload, amf->data, amf->len);
  rtmfp_tc_message_append (msgbytes, RTMFP_TC_MSG_COMMAND_AMF3, 0,
      payload->data, payload->len);
  g_assert_cmpuint (msgbytes->data[0], ==, 17);
  g_assert_cmpuint (msgbytes->data[5], ==, 0);

  g_assert_true (rtmfp_tc_message_parse (msgbytes->data, msgbytes->len, &m));
  parsed = rtmfp_tc_command_parse (&m, &name, &txn);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (name, ==, "setPeerInfo");
  g_assert_cmpfloat (txn, ==, 0.0);
  g_assert_cmpuint (parsed->len, ==, 3);
  g_assert_cmpstr (rtmfp_amf_node_peek_string (parsed->pdata[2], NULL), ==,
      "[2001:db8:1::2]:50002");
  g_ptr_array_unref (parsed);
  g_free (name);

  /* format byte other than 0: refused */
  msgbytes->data[5] = 1;
  g_assert_true (rtmfp_tc_message_parse (msgbytes->data, msgbytes->len, &m));
  g_assert_null (rtmfp_tc_command_parse (&m, NULL, NULL));
  /* the same bytes without format byte as type 17: refused (0x02 != 0) */
  m.type = 17;
  m.payload = amf->data;
  m.len = amf->len;
  g_assert_null (rtmfp_tc_command_parse (&m, NULL, NULL));
  /* ... but fine as type 20 */
  m.type = 20;
  parsed = rtmfp_tc_command_parse (&m, NULL, NULL);
  g_assert_nonnull (parsed);
  g_ptr_array_unref (parsed);
  /* empty type 17 */
  m.type = 17;
  m.len = 0;
  g_assert_null (rtmfp_tc_command_parse (&m, NULL, NULL));
  /* not a command type */
  m.type = 18;
  m.payload = amf->data;
  m.len = amf->len;
  g_assert_null (rtmfp_tc_command_parse (&m, NULL, NULL));

  g_byte_array_unref (amf);
  g_byte_array_unref (payload);
  g_byte_array_unref (msgbytes);
}

static void
test_command_malformed (void)
{
  /* number first instead of the name */
  static const guint8 bad1[] = { 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0 };
  /* truncated string */
  static const guint8 bad2[] = { 0x02, 0x00, 0x10, 'a', 'b' };
  /* name without transaction id */
  static const guint8 bad3[] = { 0x02, 0x00, 0x01, 'a' };
  /* name, txn, then a junk marker */
  static const guint8 bad4[] = { 0x02, 0x00, 0x01, 'a', 0x00, 0, 0, 0, 0,
    0, 0, 0, 0, 0xff
  };
  const struct {
    const guint8 *d;
    gsize l;
  } cases[] = { {bad1, sizeof (bad1)}, {bad2, sizeof (bad2)},
    {bad3, sizeof (bad3)}, {bad4, sizeof (bad4)}, {bad1, 0}
  };
  guint i, cut;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpTcMessage m = { 20, 0, cases[i].d, cases[i].l };
    gchar *name = NULL;
    g_assert_null (rtmfp_tc_command_parse (&m, &name, NULL));
    g_assert_null (name);
  }

  /* every truncation of a valid command is refused, none crashes */
  {
    g_autoptr (RtmfpAmfNode) info =
        rtmfp_tc_status_new ("status", RTMFP_TC_PLAY_START, "Playing x");
    g_autoptr (RtmfpAmfNode) null = rtmfp_amf_node_new_null ();
    GByteArray *b = g_byte_array_new ();
    RtmfpTcMessage m;

    rtmfp_tc_command_append (b, 0, "onStatus", 0.0, null, info, NULL);
    for (cut = 0; cut < b->len; cut++) {
      GPtrArray *p;
      g_assert_true (rtmfp_tc_message_parse (b->data, cut, &m) == (cut >= 5));
      if (cut < 5)
        continue;
      p = rtmfp_tc_command_parse (&m, NULL, NULL);
      if (p) {
        g_assert_cmpuint (p->len, <, 2);
        g_ptr_array_unref (p);
      }
    }
    g_assert_true (rtmfp_tc_message_parse (b->data, b->len, &m));
    {
      GPtrArray *p = rtmfp_tc_command_parse (&m, NULL, NULL);
      g_assert_nonnull (p);
      g_assert_cmpuint (p->len, ==, 2);
      g_assert_cmpstr (rtmfp_tc_status_peek_code (p->pdata[1]), ==,
          "NetStream.Play.Start");
      g_ptr_array_unref (p);
    }
    g_byte_array_unref (b);
  }
}

/* ---- connect object and status objects ---- */

static void
test_connect_object (void)
{
  g_autoptr (RtmfpAmfNode) obj =
      rtmfp_tc_connect_object_new ("live/inst", "rtmfp://h/live/inst", NULL);
  static const gchar *const order[] = { "app", "flashVer", "tcUrl", "fpad",
    "capabilities", "audioCodecs", "videoCodecs", "videoFunction",
    "objectEncoding"
  };
  GByteArray *b = g_byte_array_new ();
  gdouble v;
  gboolean bv = TRUE;
  guint i;

  g_assert_cmpint (rtmfp_amf_node_get_type (obj), ==, RTMFP_AMF_TYPE_OBJECT);
  g_assert_cmpuint (rtmfp_amf_node_get_num_fields (obj), ==,
      G_N_ELEMENTS (order));
  for (i = 0; i < G_N_ELEMENTS (order); i++) {
    const gchar *n = NULL;
    rtmfp_amf_node_get_field_by_index (obj, i, &n);
    g_assert_cmpstr (n, ==, order[i]);
  }
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (obj, "app", NULL), ==,
      "live/inst");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (obj, "tcUrl", NULL), ==,
      "rtmfp://h/live/inst");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (obj, "flashVer", NULL),
      ==, "FMLE/3.0 (compatible; gst-rtmfp)");
  g_assert_true (rtmfp_amf_node_get_field_boolean (obj, "fpad", &bv));
  g_assert_false (bv);
  g_assert_true (rtmfp_amf_node_get_field_number (obj, "capabilities", &v));
  g_assert_cmpfloat (v, ==, 239);
  g_assert_true (rtmfp_amf_node_get_field_number (obj, "audioCodecs", &v));
  g_assert_cmpfloat (v, ==, 3575);
  g_assert_true (rtmfp_amf_node_get_field_number (obj, "videoCodecs", &v));
  g_assert_cmpfloat (v, ==, 252);
  g_assert_true (rtmfp_amf_node_get_field_number (obj, "videoFunction", &v));
  g_assert_cmpfloat (v, ==, 1);
  g_assert_true (rtmfp_amf_node_get_field_number (obj, "objectEncoding", &v));
  g_assert_cmpfloat (v, ==, 0);

  /* the wire form starts with the object marker and the "app" key */
  rtmfp_amf_node_serialize (obj, b);
  {
    static const guint8 head[] = { 0x03, 0x00, 0x03, 'a', 'p', 'p', 0x02,
      0x00, 0x09, 'l', 'i', 'v', 'e', '/', 'i', 'n', 's', 't'
    };
    g_assert_cmpuint (b->len, >, sizeof (head));
    g_assert_cmpmem (b->data, sizeof (head), head, sizeof (head));
    /* ends with the object-end marker 00 00 09 */
    g_assert_cmpuint (b->data[b->len - 1], ==, 0x09);
    g_assert_cmpuint (b->data[b->len - 2], ==, 0x00);
    g_assert_cmpuint (b->data[b->len - 3], ==, 0x00);
  }
  g_byte_array_unref (b);

  {
    g_autoptr (RtmfpAmfNode) o2 =
        rtmfp_tc_connect_object_new ("a", NULL, "WIN 32,0,0,1");
    g_assert_cmpstr (rtmfp_amf_node_peek_field_string (o2, "flashVer", NULL),
        ==, "WIN 32,0,0,1");
    g_assert_null (rtmfp_amf_node_get_field (o2, "tcUrl"));
  }
}

static void
test_status (void)
{
  static const guint8 want[] = { 0x03,
    0x00, 0x05, 'l', 'e', 'v', 'e', 'l', 0x02, 0x00, 0x05, 'e', 'r', 'r', 'o',
    'r',
    0x00, 0x04, 'c', 'o', 'd', 'e', 0x02, 0x00, 0x1e,
    'N', 'e', 't', 'C', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', '.',
    'C', 'o', 'n', 'n', 'e', 'c', 't', '.',
    'R', 'e', 'j', 'e', 'c', 't', 'e', 'd',
    0x00, 0x0b, 'd', 'e', 's', 'c', 'r', 'i', 'p', 't', 'i', 'o', 'n',
    0x02, 0x00, 0x02, 'n', 'o',
    0x00, 0x00, 0x09
  };
  g_autoptr (RtmfpAmfNode) st =
      rtmfp_tc_status_new ("error", RTMFP_TC_CONNECT_REJECTED, "no");
  g_autoptr (RtmfpAmfNode) num = rtmfp_amf_node_new_number (1);
  g_autoptr (RtmfpAmfNode) bad = rtmfp_amf_node_new_object ();
  GByteArray *b = g_byte_array_new ();

  rtmfp_amf_node_serialize (st, b);
  assert_bytes (b, want, sizeof (want));
  g_byte_array_unref (b);

  g_assert_cmpstr (rtmfp_tc_status_peek_code (st), ==,
      "NetConnection.Connect.Rejected");
  g_assert_cmpstr (rtmfp_tc_status_peek_description (st), ==, "no");
  g_assert_null (rtmfp_tc_status_peek_code (NULL));
  g_assert_null (rtmfp_tc_status_peek_code (num));
  /* code of the wrong type */
  rtmfp_amf_node_append_field_number (bad, "code", 3);
  g_assert_null (rtmfp_tc_status_peek_code (bad));
  g_assert_null (rtmfp_tc_status_peek_description (bad));
}

/* ---- URIs ---- */

typedef struct {
  const gchar *uri;
  const gchar *host;
  guint port;
  const gchar *app;
  const gchar *stream;
  const gchar *tc_url;
} UriCase;

static void
test_uri_good (void)
{
  static const UriCase cases[] = {
    {"rtmfp://example.com/live/cam", "example.com", 1935, "live", "cam",
        "rtmfp://example.com/live"},
    {"rtmfp://127.0.0.1:1936/live/cam", "127.0.0.1", 1936, "live", "cam",
        "rtmfp://127.0.0.1:1936/live"},
    {"rtmfp://h/app/instance/s1", "h", 1935, "app/instance", "s1",
        "rtmfp://h/app/instance"},
    {"rtmfp://[::1]:5000/live/x", "::1", 5000, "live", "x",
        "rtmfp://[::1]:5000/live"},
    {"rtmfp://[2001:db8::7]/a/b", "2001:db8::7", 1935, "a", "b",
        "rtmfp://[2001:db8::7]/a"},
    {"RTMFP://H/live/s?token=a&b=c", "H", 1935, "live", "s?token=a&b=c",
        "rtmfp://H/live"},
    {"rtmfp://h/live/my%20stream", "h", 1935, "live", "my stream",
        "rtmfp://h/live"},
    {"rtmfp://h:65535/live/s#frag", "h", 65535, "live", "s",
        "rtmfp://h:65535/live"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpUri u;
    GError *err = NULL;
    gchar *s;

    g_test_message ("%s", cases[i].uri);
    g_assert_true (rtmfp_uri_parse (cases[i].uri, TRUE, &u, &err));
    g_assert_no_error (err);
    g_assert_cmpstr (u.host, ==, cases[i].host);
    g_assert_cmpuint (u.port, ==, cases[i].port);
    g_assert_cmpstr (u.app, ==, cases[i].app);
    g_assert_cmpstr (u.stream, ==, cases[i].stream);
    g_assert_cmpstr (u.tc_url, ==, cases[i].tc_url);

    /* printing and parsing again gives the same fields */
    s = rtmfp_uri_to_string (&u);
    {
      RtmfpUri u2;
      g_assert_true (rtmfp_uri_parse (s, TRUE, &u2, NULL));
      g_assert_cmpstr (u2.host, ==, u.host);
      g_assert_cmpuint (u2.port, ==, u.port);
      g_assert_cmpstr (u2.app, ==, u.app);
      g_assert_cmpstr (u2.stream, ==, u.stream);
      rtmfp_uri_clear (&u2);
    }
    g_free (s);
    rtmfp_uri_clear (&u);
    g_assert_null (u.host);
  }
}

static void
test_uri_to_string (void)
{
  RtmfpUri u;

  g_assert_true (rtmfp_uri_parse ("rtmfp://[::1]:1935/live/s", TRUE, &u,
          NULL));
  {
    gchar *s = rtmfp_uri_to_string (&u);
    g_assert_cmpstr (s, ==, "rtmfp://[::1]/live/s");
    g_free (s);
  }
  rtmfp_uri_clear (&u);

  g_assert_true (rtmfp_uri_parse ("rtmfp://h:99/a/b/c?q=1", TRUE, &u,
          NULL));
  g_assert_cmpstr (u.app, ==, "a/b");
  {
    gchar *s;
    g_free (u.stream);
    u.stream = g_strdup ("x y?q=1");
    s = rtmfp_uri_to_string (&u);
    g_assert_cmpstr (s, ==, "rtmfp://h:99/a/b/x%20y?q=1");
    g_free (s);
  }
  rtmfp_uri_clear (&u);

  /* app with an instance and no stream keeps its trailing slash, so the
   * instance does not read back as a stream (found by fuzz-tc) */
  g_assert_true (rtmfp_uri_parse ("rtmfp://h/app/inst/", FALSE, &u, NULL));
  g_assert_cmpstr (u.app, ==, "app/inst");
  g_assert_null (u.stream);
  {
    RtmfpUri again;
    gchar *s = rtmfp_uri_to_string (&u);
    g_assert_cmpstr (s, ==, "rtmfp://h/app/inst/");
    g_assert_true (rtmfp_uri_parse (s, FALSE, &again, NULL));
    g_assert_cmpstr (again.app, ==, "app/inst");
    g_assert_null (again.stream);
    rtmfp_uri_clear (&again);
    g_free (s);
  }
  rtmfp_uri_clear (&u);
}

static void
test_uri_optional_stream (void)
{
  RtmfpUri u;
  GError *err = NULL;

  /* "rtmfp:": no server (peer-to-peer only) */
  g_assert_true (rtmfp_uri_parse ("rtmfp:", FALSE, &u, &err));
  g_assert_no_error (err);
  g_assert_null (u.host);
  g_assert_null (u.app);
  g_assert_null (u.stream);
  {
    gchar *s = rtmfp_uri_to_string (&u);
    g_assert_cmpstr (s, ==, "rtmfp:");
    g_free (s);
  }
  rtmfp_uri_clear (&u);

  /* a single path segment is the application */
  g_assert_true (rtmfp_uri_parse ("rtmfp://h/live", FALSE, &u, NULL));
  g_assert_cmpstr (u.app, ==, "live");
  g_assert_null (u.stream);
  g_assert_cmpstr (u.tc_url, ==, "rtmfp://h/live");
  rtmfp_uri_clear (&u);

  /* trailing slash: app with instance, no stream */
  g_assert_true (rtmfp_uri_parse ("rtmfp://h/app/inst/", FALSE, &u, NULL));
  g_assert_cmpstr (u.app, ==, "app/inst");
  g_assert_null (u.stream);
  g_assert_cmpstr (u.tc_url, ==, "rtmfp://h/app/inst");
  rtmfp_uri_clear (&u);

  /* the same URIs with a stream required */
  g_assert_false (rtmfp_uri_parse ("rtmfp://h/live", TRUE, &u, &err));
  g_assert_error (err, RTMFP_URI_ERROR, 0);
  g_clear_error (&err);
  g_assert_false (rtmfp_uri_parse ("rtmfp://h/app/inst/", TRUE, &u, &err));
  g_assert_error (err, RTMFP_URI_ERROR, 0);
  g_clear_error (&err);
  g_assert_false (rtmfp_uri_parse ("rtmfp:", TRUE, &u, &err));
  g_assert_error (err, RTMFP_URI_ERROR, 0);
  g_clear_error (&err);
}

static void
test_uri_bad (void)
{
  static const gchar *const bad[] = {
    "", "rtmp://h/live/s", "http://h/live/s", "rtmfp", "rtmfp:/h/live/s",
    "rtmfp:h/live/s", "rtmfp:///live/s", "rtmfp://:1935/live/s",
    "rtmfp://h", "rtmfp://h/", "rtmfp://h/?q", "rtmfp://h:0/live/s",
    "rtmfp://h:65536/live/s", "rtmfp://h:99999999999/live/s",
    "rtmfp://h:12a/live/s", "rtmfp://h:/live/s", "rtmfp://h:-1/live/s",
    "rtmfp://[::1/live/s", "rtmfp://[]/live/s", "rtmfp://[zz::1]/live/s",
    "rtmfp://[127.0.0.1]/live/s", "rtmfp://[::1]x/live/s",
    "rtmfp://user@h/live/s", "rtmfp://h//s", "rtmfp://h/a//s",
    "rtmfp://h/live/s%", "rtmfp://h/live/s%zz", "rtmfp://h/live/a%00b",
    "rtmfp://h/li%2fve/s", "rtmfp://h o/live/s", "rtmfp://h/live/s t",
    "rtmfp://h/live/s\n", "rtmfp://h%41/live/s",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    RtmfpUri u;
    GError *err = NULL;

    g_test_message ("bad: '%s'", bad[i]);
    g_assert_false (rtmfp_uri_parse (bad[i], TRUE, &u, &err));
    g_assert_error (err, RTMFP_URI_ERROR, 0);
    g_assert_nonnull (strstr (err->message, "RTMFP URI"));
    g_clear_error (&err);
    g_assert_null (u.host);
    g_assert_null (u.app);
    g_assert_null (u.stream);
    g_assert_null (u.tc_url);
  }
  /* NULL is refused without a crash */
  {
    RtmfpUri u;
    GError *err = NULL;
    g_assert_false (rtmfp_uri_parse (NULL, FALSE, &u, &err));
    g_clear_error (&err);
  }
}

/* error messages name the reason */
static void
test_uri_error_text (void)
{
  static const struct {
    const gchar *uri;
    const gchar *why;
  } cases[] = {
    {"rtmp://h/a/s", "scheme"}, {"rtmfp:///a/s", "host"},
    {"rtmfp://h", "application"}, {"rtmfp://h:70000/a/s", "port"},
    {"rtmfp://h/a/", "stream"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpUri u;
    GError *err = NULL;
    g_assert_false (rtmfp_uri_parse (cases[i].uri, TRUE, &u, &err));
    g_assert_nonnull (err);
    g_test_message ("%s", err->message);
    g_assert_nonnull (strstr (err->message, cases[i].why));
    g_clear_error (&err);
  }
}

/* seeded random garbage never crashes the parsers */
static void
test_random_input (void)
{
  GRand *r = g_rand_new_with_seed (7425);
  guint i, j;

  for (i = 0; i < 20000; i++) {
    guint8 buf[40];
    gsize len = g_rand_int_range (r, 0, sizeof (buf));
    RtmfpTcMessage m;
    guint32 sid, args[2];
    gboolean rxi;
    guint16 ev;
    guint n;

    for (j = 0; j < len; j++)
      buf[j] = g_rand_int (r);
    if (len >= 2 && (i & 1)) {
      buf[0] = 'T';
      buf[1] = 'C';
    }
    rtmfp_tc_metadata_parse (buf, len, &sid, &rxi);
    rtmfp_tc_user_control_parse (buf, len, &ev, args, &n);
    if (rtmfp_tc_message_parse (buf, len, &m)) {
      GPtrArray *p;
      gchar *name = NULL;
      m.type = (i & 2) ? 20 : 17;
      p = rtmfp_tc_command_parse (&m, &name, NULL);
      if (p)
        g_ptr_array_unref (p);
      g_free (name);
    }
    {
      gchar *s = g_strdup_printf ("rtmfp://%.*s", (int) len, (gchar *) buf);
      RtmfpUri u;
      /* embedded NULs just shorten the string */
      if (rtmfp_uri_parse (s, FALSE, &u, NULL))
        rtmfp_uri_clear (&u);
      g_free (s);
    }
  }
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tc/metadata/known", test_metadata_known);
  g_test_add_func ("/tc/metadata/roundtrip", test_metadata_roundtrip);
  g_test_add_func ("/tc/metadata/malformed", test_metadata_malformed);
  g_test_add_func ("/tc/message", test_message);
  g_test_add_func ("/tc/user-control", test_user_control);
  g_test_add_func ("/tc/command/known", test_command_known);
  g_test_add_func ("/tc/command/type17", test_command_type17);
  g_test_add_func ("/tc/command/malformed", test_command_malformed);
  g_test_add_func ("/tc/connect-object", test_connect_object);
  g_test_add_func ("/tc/status", test_status);
  g_test_add_func ("/tc/uri/good", test_uri_good);
  g_test_add_func ("/tc/uri/to-string", test_uri_to_string);
  g_test_add_func ("/tc/uri/optional-stream", test_uri_optional_stream);
  g_test_add_func ("/tc/uri/bad", test_uri_bad);
  g_test_add_func ("/tc/uri/error-text", test_uri_error_text);
  g_test_add_func ("/tc/random-input", test_random_input);

  return g_test_run ();
}
