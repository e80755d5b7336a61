/* Unit tests of the RTMFP codec: VLUs, options, addresses, packets and
 * every chunk type (RFC 7016 sections 2.1 - 2.3), against the RFC's
 * examples and a real Flash Player handshake capture.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib.h>
#include <gio/gio.h>

#include "rtmfpvlu.h"
#include "rtmfpaddr.h"
#include "rtmfppacket.h"

/* ------------------------------------------------------------------ */
/* helpers */

static GByteArray *
hex (const gchar * s)
{
  GByteArray *a = g_byte_array_new ();
  gint hi = -1;

  for (; *s; s++) {
    gint v = g_ascii_xdigit_value (*s);

    if (v < 0) {
      g_assert_true (g_ascii_isspace (*s));
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      guint8 b = (guint8) (hi << 4 | v);

      g_byte_array_append (a, &b, 1);
      hi = -1;
    }
  }
  g_assert_cmpint (hi, ==, -1);
  return a;
}

static void
assert_bytes (const guint8 * got, gsize got_len, const guint8 * want,
    gsize want_len)
{
  if (got_len != want_len || memcmp (got, want, want_len) != 0) {
    gchar *g = g_strdup_printf ("%" G_GSIZE_FORMAT, got_len);
    GString *s = g_string_new (NULL);
    gsize i;

    g_string_append (s, "got ");
    for (i = 0; i < got_len; i++)
      g_string_append_printf (s, "%02x", got[i]);
    g_string_append (s, " want ");
    for (i = 0; i < want_len; i++)
      g_string_append_printf (s, "%02x", want[i]);
    g_test_message ("%s (len %s)", s->str, g);
    g_string_free (s, TRUE);
    g_free (g);
    g_assert_not_reached ();
  }
}

static void
assert_array_hex (const GByteArray * got, const gchar * want_hex)
{
  GByteArray *w = hex (want_hex);

  assert_bytes (got->data, got->len, w->data, w->len);
  g_byte_array_unref (w);
}

/* An exact-size heap copy so that ASan catches any read past the end */
static guint8 *
exact_copy (const guint8 * d, gsize len)
{
  guint8 *p = g_malloc (MAX (len, 1));

  if (len)
    memcpy (p, d, len);
  return p;
}

/* ------------------------------------------------------------------ */
/* test vectors (test-vectors.txt): plaintexts without the 2-byte checksum */

static const gchar ihello_plain[] =
    "0b132d30002716150a72746d66703a2f2f63632e72746d66702e6e657412"
    "af718559bbeea27a125b08236c4318ff";

static const gchar rhello_plain[] =
    "0b374570009f1012af718559bbeea27a125b08236c4318409c24e20ce1cb"
    "9f51c3893104c9967e31f172e8b7965feb34e602360658678a549b98d438e192"
    "e4bbfd04d4ba9c64d0f847f67c8072004f0d9c3a87f03ef8e47a010a410e9b86"
    "82f1b1d8d72e184526241f19e194a6208f2d1e18ab7692d76ae3194300aec345"
    "b975df285830dc835f6f5ab9febff1cd42bce95f82f1384bfeea7e259a090215"
    "0202150502150effffffffffffffffff";

static const gchar iikeying_plain[] =
    "0b136838011902000000409c24e20ce1cb9f51c3893104c9967e31f172e8"
    "b7965feb34e602360658678a549b98d438e192e4bbfd04d4ba9c64d0f847f67c"
    "8072004f0d9c3a87f03ef8e47a810481021d0289f7ea812923cc71861b6e5aa4"
    "24a852c3922cc0d274412e827376f2759d21aa4a651402ecde2f0079986b7628"
    "8b101d8cd3a7369a874f7a8857b72f25b01d2e9c54d659929410079f3d0464bf"
    "e2375d1545714719863206858f2a9488dee587ede6fc4ebe53f4bfe2a588e182"
    "66c476962ec70eae4077a126b7c393355ea6e14c021d02410ebf536b12751ff5"
    "abefa374b5f0e871e945e542780a89c0d94954ab377b99458de85aa032f071ad"
    "b09194fddd44355d9565cc28f7140d91e224c611b13901c93d031a020a021e02"
    "58ffffffffffffffffffffffffffffff";

static const gchar rikeying_plain[] =
    "0b378178009245020000810b031a0000021e0081020d02fab4f4b7c385b5"
    "e354b684cf11183337c36ca7a94840b9f3aa6b92fce6b34247f949b726dfe958"
    "2da75221291f122665e2ad07588ab22c8ec4536370fed43b2869343efa5fba82"
    "119e5dfe254d67ecd786382a9653aee65442c4c1a61ff075ea83435f8bd84d3b"
    "de4aa691bab92f50c6aeb435b2b152cd4bf1047e5ed15841db58ffffffffffff";

static const gchar ihello_tag[] = "12af718559bbeea27a125b08236c4318";

/* RFC 7016 Fig. 3, 4, 5, 6 */
static const gchar fig3_chunks[] =
    "10000700020503000102" "1100040003" "0405" "11000400060708";
static const gchar fig4_bitmap[] = "500005 057f10 7906";
static const gchar fig5_ranges[] = "51000705 7f10 0000 0103";
static const gchar fig6_ranges[] = "51000705 7f10 0000 0183";

/* ------------------------------------------------------------------ */
/* VLU */

typedef struct {
  guint64 v;
  const gchar *enc;
} VluVector;

static const VluVector vlu_vectors[] = {
  {0, "00"},
  {127, "7f"},
  {128, "8100"},
  {130, "8102"},
  {16383, "ff7f"},
  {16384, "818000"},
  {0x2000, "c000"},
  {G_GUINT64_CONSTANT (0xffffffff), "8fffffff7f"},
  {G_MAXUINT64, "81ffffffffffffffff7f"},
};

static void
test_vlu_vectors (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (vlu_vectors); i++) {
    GByteArray *want = hex (vlu_vectors[i].enc);
    GByteArray *out = g_byte_array_new ();
    guint8 buf[RTMFP_VLU_MAX_SIZE];
    guint64 v = 12345;
    gsize n = 0;

    g_assert_cmpuint (rtmfp_vlu_size (vlu_vectors[i].v), ==, want->len);
    g_assert_cmpuint (rtmfp_vlu_encode (vlu_vectors[i].v, buf), ==, want->len);
    assert_bytes (buf, want->len, want->data, want->len);
    rtmfp_vlu_append (out, vlu_vectors[i].v);
    assert_bytes (out->data, out->len, want->data, want->len);

    g_assert_true (rtmfp_vlu_decode (want->data, want->len, &v, &n));
    g_assert_cmpuint (v, ==, vlu_vectors[i].v);
    g_assert_cmpuint (n, ==, want->len);

    /* trailing bytes are not consumed */
    g_byte_array_append (out, (const guint8 *) "\x05\x06", 2);
    g_assert_true (rtmfp_vlu_decode (out->data, out->len, &v, &n));
    g_assert_cmpuint (v, ==, vlu_vectors[i].v);
    g_assert_cmpuint (n, ==, want->len);

    /* every strict prefix is truncated */
    for (n = 0; n < want->len; n++) {
      guint8 *p = exact_copy (want->data, n);
      g_assert_false (rtmfp_vlu_decode (p, n, &v, NULL));
      g_free (p);
    }
    g_byte_array_unref (out);
    g_byte_array_unref (want);
  }
}

static void
test_vlu_malformed (void)
{
  GByteArray *a;
  guint64 v;
  gsize n;

  /* truncated: last byte carries the continuation bit */
  a = hex ("81");
  g_assert_false (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_byte_array_unref (a);
  a = hex ("ffffff");
  g_assert_false (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_byte_array_unref (a);
  g_assert_false (rtmfp_vlu_decode (NULL, 0, &v, &n));

  /* overflow: 2^64 */
  a = hex ("82808080808080808000");
  g_assert_false (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_byte_array_unref (a);
  /* overflow: 2^70 - 1 */
  a = hex ("ffffffffffffffffff7f");
  g_assert_false (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_byte_array_unref (a);

  /* overlong: 11 bytes, even though the value (1) is tiny */
  a = hex ("8080808080808080808001");
  g_assert_false (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_byte_array_unref (a);

  /* non-minimal but within 10 bytes is valid syntax (RFC 7016 2.1.2) */
  a = hex ("808080808080808080 05");
  g_assert_true (rtmfp_vlu_decode (a->data, a->len, &v, &n));
  g_assert_cmpuint (v, ==, 5);
  g_assert_cmpuint (n, ==, 10);
  g_byte_array_unref (a);
}

static void
test_vlu_roundtrip (void)
{
  GRand *rand = g_rand_new_with_seed (7016);
  guint i;

  for (i = 0; i < 2000; i++) {
    guint bits = i % 65;
    guint64 v = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
    guint8 buf[RTMFP_VLU_MAX_SIZE];
    guint64 out;
    gsize n, m;

    /* exactly `bits` significant bits */
    if (bits == 0)
      v = 0;
    else if (bits < 64)
      v = (v & ((G_GUINT64_CONSTANT (1) << bits) - 1)) |
          (G_GUINT64_CONSTANT (1) << (bits - 1));
    else
      v |= G_GUINT64_CONSTANT (1) << 63;
    n = rtmfp_vlu_encode (v, buf);
    g_assert_cmpuint (n, ==, bits == 0 ? 1 : (bits + 6) / 7);
    g_assert_cmpuint (n, ==, rtmfp_vlu_size (v));
    g_assert_true (rtmfp_vlu_decode (buf, n, &out, &m));
    g_assert_cmpuint (out, ==, v);
    g_assert_cmpuint (m, ==, n);
  }
  g_rand_free (rand);
}

static void
test_reader (void)
{
  GByteArray *a = hex ("01 0203 04050607 8100 03 aabbcc 05 aa");
  RtmfpReader r;
  guint8 u8;
  guint16 u16;
  guint32 u32;
  guint64 v;
  const guint8 *p;
  gsize n;

  rtmfp_reader_init (&r, a->data, a->len);
  g_assert_cmpuint (rtmfp_reader_remaining (&r), ==, a->len);
  g_assert_true (rtmfp_reader_u8 (&r, &u8));
  g_assert_cmpuint (u8, ==, 1);
  g_assert_true (rtmfp_reader_u16 (&r, &u16));
  g_assert_cmpuint (u16, ==, 0x0203);
  g_assert_true (rtmfp_reader_u32 (&r, &u32));
  g_assert_cmpuint (u32, ==, 0x04050607);
  g_assert_true (rtmfp_reader_vlu (&r, &v));
  g_assert_cmpuint (v, ==, 128);
  g_assert_true (rtmfp_reader_vlu_bytes (&r, &p, &n));
  g_assert_cmpuint (n, ==, 3);
  g_assert_true (p == a->data + 10);
  g_assert_cmpuint (p[2], ==, 0xcc);
  /* "05 aa": declared 5, one byte left: fails, cursor unchanged */
  g_assert_cmpuint (r.pos, ==, 13);
  g_assert_false (rtmfp_reader_vlu_bytes (&r, &p, &n));
  g_assert_cmpuint (r.pos, ==, 13);
  g_assert_false (rtmfp_reader_u32 (&r, &u32));
  g_assert_false (rtmfp_reader_skip (&r, 3));
  g_assert_cmpuint (r.pos, ==, 13);
  g_assert_true (rtmfp_reader_peek (&r) == a->data + 13);
  g_assert_true (rtmfp_reader_u16 (&r, &u16));
  g_assert_cmpuint (u16, ==, 0x05aa);
  g_assert_cmpuint (rtmfp_reader_remaining (&r), ==, 0);
  g_assert_false (rtmfp_reader_u8 (&r, &u8));
  g_assert_false (rtmfp_reader_vlu (&r, &v));
  g_assert_true (rtmfp_reader_bytes (&r, 0, &p));

  /* a truncated VLU does not move the cursor */
  rtmfp_reader_init (&r, (const guint8 *) "\x81\x82", 2);
  g_assert_false (rtmfp_reader_vlu (&r, &v));
  g_assert_cmpuint (r.pos, ==, 0);

  g_byte_array_unref (a);

  a = g_byte_array_new ();
  rtmfp_append_u8 (a, 0x11);
  rtmfp_append_u16 (a, 0x2233);
  rtmfp_append_u32 (a, 0x44556677);
  rtmfp_append_bytes (a, (const guint8 *) "\x88", 1);
  rtmfp_append_vlu_bytes (a, (const guint8 *) "\x99\xaa", 2);
  rtmfp_append_vlu_bytes (a, NULL, 0);
  assert_array_hex (a, "11 2233 44556677 88 02 99aa 00");
  g_byte_array_unref (a);
}

/* ------------------------------------------------------------------ */
/* options */

static void
test_option (void)
{
  static const gchar url[] = "rtmfp://cc.rtmfp.net";
  GByteArray *a = g_byte_array_new ();
  RtmfpOption opt;
  gboolean marker;
  gsize n;
  guint8 big[200];

  /* The EPD of the captured IHello: option length 0x15, type 0x0a */
  rtmfp_option_append (a, 0x0a, (const guint8 *) url, strlen (url));
  g_assert_cmpuint (rtmfp_option_size (0x0a, strlen (url)), ==, a->len);
  assert_array_hex (a, "150a72746d66703a2f2f63632e72746d66702e6e6574");
  g_assert_true (rtmfp_option_parse (a->data, a->len, &marker, &opt, &n));
  g_assert_false (marker);
  g_assert_cmpuint (n, ==, a->len);
  g_assert_cmpuint (opt.type, ==, 0x0a);
  g_assert_cmpuint (opt.len, ==, strlen (url));
  g_assert_true (memcmp (opt.value, url, opt.len) == 0);
  /* all prefixes are truncated */
  for (n = 0; n < a->len; n++) {
    guint8 *p = exact_copy (a->data, n);
    g_assert_false (rtmfp_option_parse (p, n, &marker, &opt, NULL));
    g_free (p);
  }
  g_byte_array_set_size (a, 0);

  /* option whose value is a VLU, and a large type */
  rtmfp_option_append_vlu (a, 0x0a, 300);
  rtmfp_option_append (a, 0x2000, NULL, 0);
  rtmfp_marker_append (a);
  assert_array_hex (a, "030a822c 02c000 00");
  g_assert_cmpuint (rtmfp_option_size (0x2000, 0), ==, 3);
  g_byte_array_set_size (a, 0);

  /* a 200-byte value needs a 2-byte length */
  memset (big, 0x5a, sizeof big);
  rtmfp_option_append (a, 0x0e, big, sizeof big);
  g_assert_cmpuint (a->len, ==, 2 + 1 + 200);
  g_assert_cmpuint (a->data[0], ==, 0x81);
  g_assert_cmpuint (a->data[1], ==, 201 - 128);
  g_assert_cmpuint (rtmfp_option_size (0x0e, 200), ==, 203);
  g_assert_true (rtmfp_option_parse (a->data, a->len, &marker, &opt, &n));
  g_assert_cmpuint (opt.len, ==, 200);
  g_byte_array_set_size (a, 0);

  /* Marker: opt untouched */
  opt.type = 77;
  g_assert_true (rtmfp_option_parse ((const guint8 *) "\x00\x05", 2, &marker,
          &opt, &n));
  g_assert_true (marker);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (opt.type, ==, 77);

  /* empty value */
  g_assert_true (rtmfp_option_parse ((const guint8 *) "\x01\x0a", 2, &marker,
          &opt, &n));
  g_assert_false (marker);
  g_assert_cmpuint (opt.type, ==, 0x0a);
  g_assert_cmpuint (opt.len, ==, 0);
  g_assert_cmpuint (n, ==, 2);

  /* type VLU running past the option's length */
  g_assert_false (rtmfp_option_parse ((const guint8 *) "\x01\x81\x01", 3,
          &marker, &opt, &n));
  /* length past the end */
  g_assert_false (rtmfp_option_parse ((const guint8 *) "\x05\x0a\x01", 3,
          &marker, &opt, &n));
  /* overflowing length */
  g_assert_false (rtmfp_option_parse ((const guint8 *)
          "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10, &marker, &opt, &n));
  g_assert_false (rtmfp_option_parse (NULL, 0, &marker, &opt, &n));

  g_byte_array_unref (a);
}

typedef struct {
  guint count;
  guint64 types[8];
  gsize lens[8];
  guint stop_after;
} ListCtx;

static gboolean
list_cb (const RtmfpOption * opt, gpointer user_data)
{
  ListCtx *ctx = user_data;

  g_assert_cmpuint (ctx->count, <, 8);
  ctx->types[ctx->count] = opt->type;
  ctx->lens[ctx->count] = opt->len;
  ctx->count++;
  return ctx->count != ctx->stop_after;
}

static void
test_option_list (void)
{
  /* metadata "TC\x04\x00", return association 5, a must-ignore option */
  GByteArray *a = hex ("05 00 54430400 02 0a 05 03 c000 ee 00 aabb");
  ListCtx ctx = { 0, };
  gsize n = 0, i;

  g_assert_true (rtmfp_option_list_parse (a->data, a->len, list_cb, &ctx, &n));
  g_assert_cmpuint (n, ==, a->len - 2);
  g_assert_cmpuint (ctx.count, ==, 3);
  g_assert_cmpuint (ctx.types[0], ==, 0);
  g_assert_cmpuint (ctx.lens[0], ==, 4);
  g_assert_cmpuint (ctx.types[1], ==, 0x0a);
  g_assert_cmpuint (ctx.lens[1], ==, 1);
  g_assert_cmpuint (ctx.types[2], ==, 0x2000);
  g_assert_cmpuint (ctx.lens[2], ==, 1);

  /* NULL func just validates */
  g_assert_true (rtmfp_option_list_parse (a->data, a->len, NULL, NULL, &n));
  g_assert_cmpuint (n, ==, a->len - 2);

  /* func stops early */
  memset (&ctx, 0, sizeof ctx);
  ctx.stop_after = 2;
  g_assert_false (rtmfp_option_list_parse (a->data, a->len, list_cb, &ctx,
          &n));
  g_assert_cmpuint (ctx.count, ==, 2);

  /* every prefix without the Marker fails */
  for (i = 0; i < a->len - 2; i++) {
    guint8 *p = exact_copy (a->data, i);
    g_assert_false (rtmfp_option_list_parse (p, i, NULL, NULL, &n));
    g_free (p);
  }

  /* the empty list is just a Marker */
  g_assert_true (rtmfp_option_list_parse ((const guint8 *) "\x00", 1, list_cb,
          &ctx, &n));
  g_assert_cmpuint (n, ==, 1);
  g_byte_array_unref (a);

  /* malformed option inside */
  a = hex ("02 0a 05 01 81 00");
  g_assert_false (rtmfp_option_list_parse (a->data, a->len, NULL, NULL, &n));
  g_byte_array_unref (a);
}

static void
test_option_iter (void)
{
  /* a sequence with a Marker in the middle and no terminator */
  GByteArray *a = hex ("02 15 02 00 01 0a 03 0e aabb");
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;

  rtmfp_option_iter_init (&it, a->data, a->len);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (marker);
  g_assert_cmpuint (opt.type, ==, 0x15);
  g_assert_cmpuint (opt.len, ==, 1);
  g_assert_cmpuint (opt.value[0], ==, 2);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_true (marker);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (marker);
  g_assert_cmpuint (opt.type, ==, 0x0a);
  g_assert_cmpuint (opt.len, ==, 0);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_cmpuint (opt.type, ==, 0x0e);
  g_assert_cmpuint (opt.len, ==, 2);
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (it.malformed);
  g_byte_array_unref (a);

  /* truncated last option */
  a = hex ("02 15 02 05 0e aabb");
  rtmfp_option_iter_init (&it, a->data, a->len);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_true (it.malformed);
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_byte_array_unref (a);

  /* empty */
  rtmfp_option_iter_init (&it, NULL, 0);
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (it.malformed);
}

/* ------------------------------------------------------------------ */
/* addresses */

static void
test_addr_wire (void)
{
  static const guint8 ip4[4] = { 1, 2, 3, 4 };
  static const guint8 ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 1
  };
  GByteArray *a = g_byte_array_new ();
  RtmfpAddr x, y;
  gsize n, i;

  rtmfp_addr_set_ipv4 (&x, ip4, 5);
  x.origin = RTMFP_ADDR_ORIGIN_REFLEXIVE;
  g_assert_cmpuint (rtmfp_addr_encoded_size (&x), ==, 7);
  rtmfp_addr_append (a, &x);
  assert_array_hex (a, "02 01020304 0005");
  g_assert_true (rtmfp_addr_parse (a->data, a->len, &y, &n));
  g_assert_cmpuint (n, ==, 7);
  g_assert_cmpuint (y.family, ==, 4);
  g_assert_cmpuint (y.origin, ==, RTMFP_ADDR_ORIGIN_REFLEXIVE);
  g_assert_cmpuint (y.port, ==, 5);
  g_assert_true (rtmfp_addr_equal (&x, &y));
  for (i = 0; i < a->len; i++) {
    guint8 *p = exact_copy (a->data, i);
    g_assert_false (rtmfp_addr_parse (p, i, &y, &n));
    g_free (p);
  }
  g_byte_array_set_size (a, 0);

  rtmfp_addr_set_ipv6 (&x, ip6, 443);
  x.origin = RTMFP_ADDR_ORIGIN_LOCAL;
  g_assert_cmpuint (rtmfp_addr_encoded_size (&x), ==, 19);
  rtmfp_addr_append (a, &x);
  assert_array_hex (a, "81 20010db8000000000000000000000001 01bb");
  /* trailing bytes are not part of the address */
  rtmfp_append_u8 (a, 0xee);
  g_assert_true (rtmfp_addr_parse (a->data, a->len, &y, &n));
  g_assert_cmpuint (n, ==, 19);
  g_assert_cmpuint (y.family, ==, 6);
  g_assert_cmpuint (y.origin, ==, RTMFP_ADDR_ORIGIN_LOCAL);
  g_assert_cmpuint (y.port, ==, 443);
  g_assert_true (memcmp (y.addr, ip6, 16) == 0);
  for (i = 0; i < 19; i++) {
    guint8 *p = exact_copy (a->data, i);
    g_assert_false (rtmfp_addr_parse (p, i, &y, &n));
    g_free (p);
  }

  /* relay origin */
  g_byte_array_unref (a);
  a = hex ("03 7f000001 0781");
  g_assert_true (rtmfp_addr_parse (a->data, a->len, &y, &n));
  g_assert_cmpuint (y.origin, ==, RTMFP_ADDR_ORIGIN_RELAY);
  g_assert_cmpuint (y.port, ==, 1921);
  g_byte_array_unref (a);
}

static void
test_addr_string (void)
{
  static const struct {
    const gchar *in;
    guint16 def;
    const gchar *out;           /* NULL: must fail */
  } cases[] = {
    {"1.2.3.4:5", 0, "1.2.3.4:5"},
    {"255.255.255.255:65535", 0, "255.255.255.255:65535"},
    {"1.2.3.4", 1935, "1.2.3.4:1935"},
    {"[::1]:5", 0, "[::1]:5"},
    {"[2001:db8::1]:1935", 0, "[2001:db8::1]:1935"},
    {"[2001:db8::1]", 1935, "[2001:db8::1]:1935"},
    {"::1", 7, "[::1]:7"},
    {"1.2.3.4", 0, NULL},
    {"1.2.3.4:", 0, NULL},
    {"1.2.3.4:65536", 0, NULL},
    {"1.2.3.4:-1", 0, NULL},
    {"1.2.3.4:5x", 0, NULL},
    {"1.2.3:5", 0, NULL},
    {"example.com:5", 0, NULL},
    {"[::1", 0, NULL},
    {"[::1]5", 0, NULL},
    {"[::1]", 0, NULL},
    {"::1", 0, NULL},
    {"[1.2.3.4]:5", 0, NULL},
    {"[fe80::1%eth0]:5", 0, NULL},
    {"", 5, NULL},
    {":5", 0, NULL},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpAddr a, b;
    gchar buf[RTMFP_ADDR_STRLEN];
    gboolean ok = rtmfp_addr_from_string (&a, cases[i].in, cases[i].def);

    g_test_message ("address string '%s'", cases[i].in);
    if (cases[i].out == NULL) {
      g_assert_false (ok);
      continue;
    }
    g_assert_true (ok);
    g_assert_cmpstr (rtmfp_addr_to_string (&a, buf), ==, cases[i].out);
    g_assert_true (rtmfp_addr_from_string (&b, buf, 0));
    g_assert_true (rtmfp_addr_equal (&a, &b));
  }
}

static void
test_addr_equal_hash (void)
{
  RtmfpAddr a, b, c;
  RtmfpAddr *d;
  GHashTable *h;
  gchar buf[RTMFP_ADDR_STRLEN];

  g_assert_true (rtmfp_addr_from_string (&a, "10.0.0.1:1935", 0));
  g_assert_true (rtmfp_addr_from_string (&b, "10.0.0.1:1935", 0));
  b.origin = RTMFP_ADDR_ORIGIN_RELAY;
  g_assert_true (rtmfp_addr_equal (&a, &b));
  g_assert_cmpuint (rtmfp_addr_hash (&a), ==, rtmfp_addr_hash (&b));
  g_assert_true (rtmfp_addr_from_string (&c, "10.0.0.1:1936", 0));
  g_assert_false (rtmfp_addr_equal (&a, &c));
  g_assert_true (rtmfp_addr_from_string (&c, "10.0.0.2:1935", 0));
  g_assert_false (rtmfp_addr_equal (&a, &c));
  g_assert_true (rtmfp_addr_from_string (&c, "[::ffff:10.0.0.1]:1935", 0));
  g_assert_false (rtmfp_addr_equal (&a, &c));

  h = g_hash_table_new_full (rtmfp_addr_hash_func, rtmfp_addr_equal_func,
      g_free, NULL);
  g_hash_table_add (h, rtmfp_addr_copy (&a));
  g_hash_table_add (h, rtmfp_addr_copy (&c));
  g_assert_true (g_hash_table_contains (h, &b));
  g_assert_cmpuint (g_hash_table_size (h), ==, 2);
  g_hash_table_add (h, rtmfp_addr_copy (&b));
  g_assert_cmpuint (g_hash_table_size (h), ==, 2);
  g_hash_table_unref (h);

  d = rtmfp_addr_copy (&b);
  g_assert_cmpuint (d->origin, ==, RTMFP_ADDR_ORIGIN_RELAY);
  g_free (d);

  memset (&a, 0, sizeof a);
  g_assert_cmpstr (rtmfp_addr_to_string (&a, buf), ==, "(none)");
  g_assert_cmpuint (rtmfp_addr_encoded_size (&a), ==, 0);
}

static void
test_addr_gsocket (void)
{
  static const gchar *strs[] = { "192.0.2.7:40000", "[2001:db8::42]:1935" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (strs); i++) {
    RtmfpAddr a, b;
    GSocketAddress *sa;
    gchar *s;

    g_assert_true (rtmfp_addr_from_string (&a, strs[i], 0));
    sa = rtmfp_addr_to_gsocket (&a);
    g_assert_nonnull (sa);
    g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
            (sa)), ==, a.port);
    s = g_inet_address_to_string (g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (sa)));
    g_assert_cmpstr (s, ==, i == 0 ? "192.0.2.7" : "2001:db8::42");
    g_free (s);
    g_assert_true (rtmfp_addr_from_gsocket (&b, sa));
    g_assert_true (rtmfp_addr_equal (&a, &b));
    g_object_unref (sa);
  }

  {
    RtmfpAddr a;
    memset (&a, 0, sizeof a);
    g_assert_null (rtmfp_addr_to_gsocket (&a));
    g_assert_false (rtmfp_addr_from_gsocket (&a, NULL));
  }
}

static void
test_addr_classify (void)
{
  static const struct {
    const gchar *s;
    gboolean loop, link;
  } cases[] = {
    {"127.0.0.1:1", TRUE, FALSE},
    {"127.255.0.9:1", TRUE, FALSE},
    {"0.0.0.0:1", TRUE, FALSE},
    {"[::1]:1", TRUE, FALSE},
    {"[::]:1", TRUE, FALSE},
    {"[::ffff:127.0.0.1]:1", TRUE, FALSE},
    {"169.254.3.4:1", FALSE, TRUE},
    {"[fe80::1]:1", FALSE, TRUE},
    {"[febf::1]:1", FALSE, TRUE},
    {"[fec0::1]:1", FALSE, FALSE},
    {"192.168.1.1:1", FALSE, FALSE},
    {"8.8.8.8:1", FALSE, FALSE},
    {"[2001:db8::1]:1", FALSE, FALSE},
    {"[::2]:1", FALSE, FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    RtmfpAddr a;

    g_test_message ("classify %s", cases[i].s);
    g_assert_true (rtmfp_addr_from_string (&a, cases[i].s, 0));
    g_assert_cmpint (rtmfp_addr_is_loopback (&a), ==, cases[i].loop);
    g_assert_cmpint (rtmfp_addr_is_link_local (&a), ==, cases[i].link);
  }
}

/* ------------------------------------------------------------------ */
/* packets */

static void
test_packet_header (void)
{
  RtmfpPacket p;
  GByteArray *a;

  a = hex ("4d 1234 5678 0c0000");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  g_assert_cmpuint (p.flags, ==, 0x4d);
  g_assert_cmpint (rtmfp_packet_mode (&p), ==, RTMFP_MODE_INITIATOR);
  g_assert_cmpuint (p.timestamp, ==, 0x1234);
  g_assert_cmpuint (p.timestamp_echo, ==, 0x5678);
  g_assert_true (p.chunks == a->data + 5);
  g_assert_cmpuint (p.chunks_len, ==, 3);
  /* truncated header */
  g_assert_false (rtmfp_packet_parse (a->data, 4, &p));
  g_assert_false (rtmfp_packet_parse (a->data, 2, &p));
  g_assert_false (rtmfp_packet_parse (a->data, 0, &p));
  g_byte_array_unref (a);

  /* echo only */
  a = hex ("06 abcd");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  g_assert_cmpint (rtmfp_packet_mode (&p), ==, RTMFP_MODE_RESPONDER);
  g_assert_cmpuint (p.timestamp_echo, ==, 0xabcd);
  g_assert_cmpuint (p.chunks_len, ==, 0);
  g_byte_array_unref (a);

  /* mode 0 is invalid whatever else is there */
  a = hex ("8c 1234 5678 0c0000");
  g_assert_false (rtmfp_packet_parse (a->data, a->len, &p));
  g_byte_array_unref (a);
  a = hex ("00");
  g_assert_false (rtmfp_packet_parse (a->data, a->len, &p));
  g_byte_array_unref (a);
}

static void
test_chunk_iter (void)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk c;
  GByteArray *a;

  /* ping "ab", empty close, an unknown chunk, then a chunk whose length
   * overruns: padding */
  a = hex ("01  01 0002 6162  0c 0000  ee 0001 99  41 0005 0102");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_PING);
  g_assert_cmpuint (c.len, ==, 2);
  g_assert_true (memcmp (c.data, "ab", 2) == 0);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_SESSION_CLOSE);
  g_assert_cmpuint (c.len, ==, 0);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, 0xee);
  g_assert_cmpuint (c.len, ==, 1);
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  g_byte_array_unref (a);

  /* an 0xff chunk whose length fits is a Padding chunk like 0x00: it is
   * returned and what follows is parsed (RFC 7016 3.5.4.3: a PMTU probe is
   * a Padding chunk followed by a Ping) */
  a = hex ("01 ff0004 ffffffff 010002 6869 0c0000");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_PADDING);
  g_assert_cmpuint (c.len, ==, 4);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_PING);
  g_assert_cmpuint (c.len, ==, 2);
  g_assert_true (memcmp (c.data, "hi", 2) == 0);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_SESSION_CLOSE);
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  g_byte_array_unref (a);

  /* trailing 0xff padding never parses as a chunk (ff ffff cannot fit) */
  a = hex ("01 0c0000 ffffffffff");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_SESSION_CLOSE);
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  g_byte_array_unref (a);

  /* a 0x00 chunk is returned (the caller ignores it); fewer than three
   * bytes after it are padding */
  a = hex ("01 000000 4c0000 0c00");
  g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_PADDING0);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_SESSION_CLOSE_ACK);
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  g_byte_array_unref (a);
}

static void
test_builder (void)
{
  RtmfpPacketBuilder b;
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk c;
  guint8 payload[64];
  const guint8 *data;
  gsize len;

  memset (payload, 0xab, sizeof payload);

  /* header 3 bytes (flags + timestamp), max 20 */
  rtmfp_packet_builder_init (&b, RTMFP_PKT_FLAG_TS | RTMFP_MODE_INITIATOR,
      0x1234, 0x5678, 20);
  data = rtmfp_packet_builder_data (&b, &len);
  g_assert_cmpuint (len, ==, 3);
  assert_bytes (data, len, (const guint8 *) "\x09\x12\x34", 3);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 20 - 3 - 3);
  /* one byte too many: refused, nothing written */
  g_assert_false (rtmfp_packet_builder_add (&b, 0x01, payload, 15));
  g_assert_cmpuint (b.buf->len, ==, 3);
  g_assert_cmpuint (b.n_chunks, ==, 0);
  g_assert_true (rtmfp_packet_builder_add (&b, 0x01, payload, 5));
  g_assert_cmpuint (b.buf->len, ==, 11);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 20 - 11 - 3);
  g_assert_false (rtmfp_packet_builder_add (&b, 0x01, payload, 7));
  g_assert_true (rtmfp_packet_builder_add (&b, 0x41, payload, 6));
  g_assert_cmpuint (b.buf->len, ==, 20);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 0);
  /* not even an empty chunk fits now */
  g_assert_false (rtmfp_packet_builder_add (&b, 0x0c, NULL, 0));
  g_assert_cmpuint (b.n_chunks, ==, 2);
  rtmfp_packet_builder_set_flags (&b, RTMFP_PKT_FLAG_TC);

  data = rtmfp_packet_builder_data (&b, &len);
  g_assert_cmpuint (len, ==, 20);
  g_assert_true (rtmfp_packet_parse (data, len, &p));
  g_assert_cmpuint (p.flags, ==, 0x89);
  g_assert_cmpuint (p.timestamp, ==, 0x1234);
  rtmfp_chunk_iter_init (&it, &p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, 0x01);
  g_assert_cmpuint (c.len, ==, 5);
  g_assert_true (rtmfp_chunk_iter_next (&it, &c));
  g_assert_cmpuint (c.type, ==, 0x41);
  g_assert_cmpuint (c.len, ==, 6);
  g_assert_false (rtmfp_chunk_iter_next (&it, &c));
  rtmfp_packet_builder_clear (&b);

  /* exactly-full with an empty chunk; TS+TSE header */
  rtmfp_packet_builder_init (&b, 0x0e, 1, 2, 8);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 0);
  g_assert_true (rtmfp_packet_builder_add (&b, 0x4c, NULL, 0));
  g_assert_false (rtmfp_packet_builder_add (&b, 0x4c, NULL, 0));
  data = rtmfp_packet_builder_data (&b, &len);
  assert_bytes (data, len, (const guint8 *) "\x0e\x00\x01\x00\x02\x4c\x00\x00",
      8);
  rtmfp_packet_builder_clear (&b);

  /* max_size below the header */
  rtmfp_packet_builder_init (&b, 0x0e, 1, 2, 4);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 0);
  g_assert_false (rtmfp_packet_builder_add (&b, 0x4c, NULL, 0));
  rtmfp_packet_builder_clear (&b);

  /* add_array, and space is capped by the 16-bit chunk length */
  rtmfp_packet_builder_init (&b, 0x03, 0, 0, 100000);
  g_assert_cmpuint (rtmfp_packet_builder_space (&b), ==, 0xffff);
  {
    GByteArray *pl = g_byte_array_new ();

    g_byte_array_append (pl, payload, 10);
    g_assert_true (rtmfp_packet_builder_add_array (&b, 0x01, pl));
    g_byte_array_unref (pl);
  }
  g_assert_cmpuint (b.buf->len, ==, 1 + 3 + 10);
  rtmfp_packet_builder_clear (&b);
  g_assert_null (b.buf);
}

/* ------------------------------------------------------------------ */
/* user data */

static void
test_next_user_data_fig3 (void)
{
  GByteArray *pkt = hex ("09 0102");
  GByteArray *chunks = hex (fig3_chunks);
  GByteArray *out = g_byte_array_new ();
  RtmfpUserDataChunk ud[3];
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk c;
  guint i = 0;

  g_byte_array_append (pkt, chunks->data, chunks->len);
  g_assert_true (rtmfp_packet_parse (pkt->data, pkt->len, &p));
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &c)) {
    g_assert_cmpuint (i, <, 3);
    if (i == 0) {
      g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_USER_DATA);
      g_assert_true (rtmfp_user_data_chunk_parse (c.data, c.len, &ud[i]));
    } else {
      g_assert_cmpuint (c.type, ==, RTMFP_CHUNK_NEXT_USER_DATA);
      g_assert_true (rtmfp_next_user_data_chunk_parse (c.data, c.len,
              &ud[i - 1], &ud[i]));
    }
    g_assert_cmpuint (ud[i].flags, ==, 0);
    g_assert_cmpuint (ud[i].flow_id, ==, 2);
    g_assert_cmpuint (ud[i].seq, ==, 5 + i);
    g_assert_cmpuint (ud[i].seq - ud[i].fsn_offset, ==, 2);     /* FSN */
    g_assert_null (ud[i].options);
    g_assert_cmpuint (ud[i].options_len, ==, 0);
    g_assert_cmpuint (ud[i].len, ==, 3);
    g_assert_cmpuint (ud[i].data[0], ==, 3 * i);
    g_assert_cmpuint (ud[i].data[2], ==, 3 * i + 2);

    g_assert_cmpuint (rtmfp_user_data_chunk_size (i > 0, ud[i].flow_id,
            ud[i].seq, ud[i].fsn_offset, 0, ud[i].len), ==, c.len + 3);
    rtmfp_user_data_chunk_append (out, i > 0, &ud[i]);
    i++;
  }
  g_assert_cmpuint (i, ==, 3);
  /* re-serialised identically */
  assert_bytes (out->data, out->len, chunks->data, chunks->len);

  g_byte_array_unref (out);
  g_byte_array_unref (chunks);
  g_byte_array_unref (pkt);
}

static void
test_user_data_options (void)
{
  GByteArray *opts = g_byte_array_new ();
  GByteArray *out = g_byte_array_new ();
  RtmfpUserDataChunk c = { 0, }, d, n;
  ListCtx ctx = { 0, };
  GByteArray *bad;
  gsize i;

  /* TC metadata for stream 1 + return flow association to flow 3 */
  rtmfp_option_append (opts, RTMFP_UD_OPT_METADATA,
      (const guint8 *) "TC\x04\x01", 4);
  rtmfp_option_append_vlu (opts, RTMFP_UD_OPT_RETURN_ASSOCIATION, 3);
  rtmfp_marker_append (opts);

  c.flags = RTMFP_UD_FRA_BEGIN | RTMFP_UD_FLAG_FIN;  /* OPT set by append */
  c.flow_id = 200;
  c.seq = 1;
  c.fsn_offset = 1;
  c.options = opts->data;
  c.options_len = opts->len;
  c.data = (const guint8 *) "hello";
  c.len = 5;
  rtmfp_user_data_chunk_append (out, FALSE, &c);
  assert_array_hex (out, "10 0014 91 8148 01 01 05005443 0401 020a03 00"
      "68656c6c6f");
  g_assert_cmpuint (rtmfp_user_data_chunk_size (FALSE, 200, 1, 1, opts->len,
          5), ==, out->len);

  g_assert_true (rtmfp_user_data_chunk_parse (out->data + 3, out->len - 3, &d));
  g_assert_cmpuint (d.flags, ==, 0x91);
  g_assert_cmpuint (d.flow_id, ==, 200);
  g_assert_cmpuint (d.seq, ==, 1);
  g_assert_cmpuint (d.fsn_offset, ==, 1);
  g_assert_cmpuint (d.options_len, ==, opts->len);
  assert_bytes (d.options, d.options_len, opts->data, opts->len);
  g_assert_true (rtmfp_option_list_parse (d.options, d.options_len, list_cb,
          &ctx, NULL));
  g_assert_cmpuint (ctx.count, ==, 2);
  g_assert_cmpuint (ctx.types[1], ==, RTMFP_UD_OPT_RETURN_ASSOCIATION);
  assert_bytes (d.data, d.len, (const guint8 *) "hello", 5);

  /* every truncation of the header or options fails, later ones only
   * shorten the data */
  for (i = 0; i < out->len - 3; i++) {
    guint8 *p = exact_copy (out->data + 3, i);
    gboolean ok = rtmfp_user_data_chunk_parse (p, i, &d);

    g_assert_cmpint (ok, ==, i >= 5 + opts->len);
    if (ok)
      g_assert_cmpuint (d.len, ==, i - 5 - opts->len);
    g_free (p);
  }

  /* Next User Data carrying options, abandoned, no data */
  g_assert_true (rtmfp_user_data_chunk_parse (out->data + 3, out->len - 3, &d));
  g_byte_array_set_size (out, 0);
  c.flags = RTMFP_UD_FLAG_ABN;
  c.len = 0;
  rtmfp_user_data_chunk_append (out, TRUE, &c);
  g_assert_cmpuint (out->data[0], ==, RTMFP_CHUNK_NEXT_USER_DATA);
  g_assert_cmpuint (out->data[3], ==, RTMFP_UD_FLAG_OPT | RTMFP_UD_FLAG_ABN);
  g_assert_true (rtmfp_next_user_data_chunk_parse (out->data + 3,
          out->len - 3, &d, &n));
  g_assert_cmpuint (n.flow_id, ==, 200);
  g_assert_cmpuint (n.seq, ==, 2);
  g_assert_cmpuint (n.seq - n.fsn_offset, ==, d.seq - d.fsn_offset);
  g_assert_cmpuint (n.options_len, ==, opts->len);
  g_assert_cmpuint (n.len, ==, 0);

  /* the OPT flag follows options_len: cleared when there are none */
  g_byte_array_set_size (out, 0);
  c.flags = RTMFP_UD_FLAG_OPT;
  c.options = NULL;
  c.options_len = 0;
  rtmfp_user_data_chunk_append (out, FALSE, &c);
  assert_array_hex (out, "10 0005 00 8148 01 01");

  /* OPT set but no Marker */
  bad = hex ("80 02 05 01 02 0a 03");
  g_assert_false (rtmfp_user_data_chunk_parse (bad->data, bad->len, &d));
  g_byte_array_unref (bad);
  /* seq 0 */
  bad = hex ("00 02 00 00 aa");
  g_assert_false (rtmfp_user_data_chunk_parse (bad->data, bad->len, &d));
  g_byte_array_unref (bad);
  /* fsnOffset > seq */
  bad = hex ("00 02 05 06 aa");
  g_assert_false (rtmfp_user_data_chunk_parse (bad->data, bad->len, &d));
  g_byte_array_unref (bad);
  /* fsnOffset == seq (FSN 0) is fine */
  bad = hex ("00 02 05 05 aa");
  g_assert_true (rtmfp_user_data_chunk_parse (bad->data, bad->len, &d));
  g_assert_cmpuint (d.len, ==, 1);
  g_byte_array_unref (bad);

  /* Next User Data needs a predecessor and must not wrap */
  bad = hex ("00 aa");
  g_assert_false (rtmfp_next_user_data_chunk_parse (bad->data, bad->len, NULL,
          &n));
  d.seq = G_MAXUINT64;
  d.fsn_offset = 1;
  g_assert_false (rtmfp_next_user_data_chunk_parse (bad->data, bad->len, &d,
          &n));
  d.seq = G_MAXUINT64 - 1;
  g_assert_true (rtmfp_next_user_data_chunk_parse (bad->data, bad->len, &d,
          &n));
  g_assert_cmpuint (n.seq, ==, G_MAXUINT64);
  g_assert_false (rtmfp_next_user_data_chunk_parse (bad->data, 0, &d, &n));
  g_byte_array_unref (bad);

  g_byte_array_unref (opts);
  g_byte_array_unref (out);
}

/* ------------------------------------------------------------------ */
/* acknowledgements */

static void
assert_ranges (const RtmfpAckChunk * c, const guint64 * pairs, guint n)
{
  guint i;

  g_assert_cmpuint (c->n_ranges, ==, n);
  for (i = 0; i < n; i++) {
    g_assert_cmpuint (c->ranges[i].first, ==, pairs[2 * i]);
    g_assert_cmpuint (c->ranges[i].last, ==, pairs[2 * i + 1]);
  }
}

/* Parses a whole ack chunk (header included) of either type */
static gboolean
parse_ack (const guint8 * d, gsize len, RtmfpAckChunk * c)
{
  g_assert_cmpuint (len, >=, 3);
  g_assert_cmpuint (((gsize) d[1] << 8 | d[2]), ==, len - 3);
  if (d[0] == RTMFP_CHUNK_ACK_BITMAP)
    return rtmfp_ack_bitmap_chunk_parse (d + 3, len - 3, c);
  g_assert_cmpuint (d[0], ==, RTMFP_CHUNK_ACK_RANGES);
  return rtmfp_ack_ranges_chunk_parse (d + 3, len - 3, c);
}

static void
test_ack_rfc_examples (void)
{
  static const guint64 fig4[] = { 18, 18, 21, 24, 27, 28 };
  static const guint64 fig5[] = { 18, 18, 21, 24 };
  RtmfpAckChunk *c = g_new0 (RtmfpAckChunk, 1);
  GByteArray *a, *out = g_byte_array_new ();

  a = hex (fig4_bitmap);
  g_assert_true (parse_ack (a->data, a->len, c));
  g_assert_cmpuint (c->flow_id, ==, 5);
  g_assert_cmpuint (c->buffer_blocks, ==, 127);
  g_assert_cmpuint (c->cumulative_ack, ==, 16);
  assert_ranges (c, fig4, 3);
  /* the bitmap is the smaller encoding here: identical bytes */
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 1200), ==, a->len);
  assert_bytes (out->data, out->len, a->data, a->len);
  g_byte_array_unref (a);

  a = hex (fig5_ranges);
  g_assert_true (parse_ack (a->data, a->len, c));
  g_assert_cmpuint (c->flow_id, ==, 5);
  g_assert_cmpuint (c->buffer_blocks, ==, 127);
  g_assert_cmpuint (c->cumulative_ack, ==, 16);
  assert_ranges (c, fig5, 2);
  /* bitmap 79 (4 payload bytes) beats ranges (7 bytes) */
  g_byte_array_set_size (out, 0);
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 1200), ==, 7);
  assert_array_hex (out, "50 0004 05 7f 10 79");
  g_assert_true (parse_ack (out->data, out->len, c));
  assert_ranges (c, fig5, 2);
  g_byte_array_unref (a);

  /* Fig. 6: "01 83" is a truncated pair, ignored; "00 00" still counts */
  a = hex (fig6_ranges);
  g_assert_true (parse_ack (a->data, a->len, c));
  g_assert_cmpuint (c->cumulative_ack, ==, 16);
  assert_ranges (c, fig5, 1);
  g_byte_array_unref (a);
  /* only the holes VLU of the second pair present */
  a = hex ("51 0006 05 7f 10 00 00 01");
  g_assert_true (parse_ack (a->data, a->len, c));
  assert_ranges (c, fig5, 1);
  g_byte_array_unref (a);
  /* cumulative part incomplete: malformed */
  a = hex ("51 0002 05 7f");
  g_assert_false (parse_ack (a->data, a->len, c));
  g_byte_array_unref (a);
  a = hex ("50 0003 05 7f 90");
  g_assert_false (parse_ack (a->data, a->len, c));
  g_byte_array_unref (a);

  g_byte_array_unref (out);
  g_free (c);
}

static void
test_ack_encoding_choice (void)
{
  RtmfpAckChunk *c = g_new0 (RtmfpAckChunk, 1);
  GByteArray *out = g_byte_array_new ();

  /* far range: ranges encoding 87 56 05 wins over a 123-byte bitmap */
  c->flow_id = 5;
  c->buffer_blocks = 127;
  c->cumulative_ack = 16;
  c->n_ranges = 1;
  c->ranges[0].first = 1000;
  c->ranges[0].last = 1005;
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 1200), ==, 9);
  assert_array_hex (out, "51 0006 05 7f 10 8756 05");
  memset (c, 0, sizeof *c);
  g_assert_true (parse_ack (out->data, out->len, c));
  g_assert_cmpuint (c->cumulative_ack, ==, 16);
  g_assert_cmpuint (c->n_ranges, ==, 1);
  g_assert_cmpuint (c->ranges[0].first, ==, 1000);
  g_assert_cmpuint (c->ranges[0].last, ==, 1005);

  /* cumulative only */
  g_byte_array_set_size (out, 0);
  c->n_ranges = 0;
  c->buffer_blocks = 0;
  c->cumulative_ack = 128;
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 1200), ==, 7);
  g_assert_cmpuint (out->data[1] << 8 | out->data[2], ==, 4);
  assert_bytes (out->data + 3, 4, (const guint8 *) "\x05\x00\x81\x00", 4);
  g_assert_true (parse_ack (out->data, out->len, c));
  g_assert_cmpuint (c->cumulative_ack, ==, 128);
  g_assert_cmpuint (c->n_ranges, ==, 0);

  /* does not fit at all: nothing appended */
  g_byte_array_set_size (out, 0);
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 6), ==, 0);
  g_assert_cmpuint (out->len, ==, 0);

  /* a range touching the cumulative ack extends it; overlapping and
   * adjacent input ranges are merged, empty ones dropped */
  c->cumulative_ack = 10;
  c->n_ranges = 4;
  c->ranges[0] = (RtmfpSeqRange) {11, 12};
  c->ranges[1] = (RtmfpSeqRange) {20, 22};
  c->ranges[2] = (RtmfpSeqRange) {21, 25};
  c->ranges[3] = (RtmfpSeqRange) {26, 26};
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 1200), >, 0);
  g_assert_true (parse_ack (out->data, out->len, c));
  g_assert_cmpuint (c->cumulative_ack, ==, 12);
  g_assert_cmpuint (c->n_ranges, ==, 1);
  g_assert_cmpuint (c->ranges[0].first, ==, 20);
  g_assert_cmpuint (c->ranges[0].last, ==, 26);

  g_byte_array_unref (out);
  g_free (c);
}

static void
test_ack_truncation (void)
{
  RtmfpAckChunk *c = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckChunk *d = g_new0 (RtmfpAckChunk, 1);
  GByteArray *out = g_byte_array_new ();
  gsize full, max, prev_len = 0;
  guint i;

  /* 100 spread-out ranges: the ranges encoding is the compact one */
  c->flow_id = 3;
  c->buffer_blocks = 64;
  c->cumulative_ack = 1000;
  c->n_ranges = 100;
  for (i = 0; i < 100; i++) {
    c->ranges[i].first = 1000 + 50 * (i + 1);
    c->ranges[i].last = c->ranges[i].first + i % 7;
  }
  full = rtmfp_ack_chunk_append (out, c, G_MAXSIZE);
  g_assert_cmpuint (full, ==, out->len);
  g_assert_cmpuint (out->data[0], ==, RTMFP_CHUNK_ACK_RANGES);
  g_assert_true (parse_ack (out->data, out->len, d));
  g_assert_cmpuint (d->n_ranges, ==, 100);
  g_assert_true (memcmp (d->ranges, c->ranges, 100 * sizeof (RtmfpSeqRange))
      == 0);

  /* any limit: the result fits, is a bottom prefix of the ranges, and is
   * the longest such prefix (each pair here is 2 bytes) */
  for (max = 0; max <= full; max++) {
    gsize n;

    g_byte_array_set_size (out, 0);
    n = rtmfp_ack_chunk_append (out, c, max);
    g_assert_cmpuint (n, ==, out->len);
    g_assert_cmpuint (n, <=, max);
    if (max < 3 + 1 + 1 + 2) {
      g_assert_cmpuint (n, ==, 0);
      continue;
    }
    g_assert_cmpuint (n, >=, max - 1);
    g_assert_true (parse_ack (out->data, out->len, d));
    g_assert_cmpuint (d->cumulative_ack, ==, 1000);
    g_assert_cmpuint (d->flow_id, ==, 3);
    g_assert_cmpuint (d->n_ranges, ==, (n - 7) / 2);
    g_assert_true (memcmp (d->ranges, c->ranges,
            d->n_ranges * sizeof (RtmfpSeqRange)) == 0);
    g_assert_cmpuint (n, >=, prev_len);
    prev_len = n;
  }

  /* dense ranges: the bitmap is chosen, and truncated from the top too */
  c->cumulative_ack = 0;
  c->n_ranges = 40;
  for (i = 0; i < 40; i++)
    c->ranges[i].first = c->ranges[i].last = 2 + 2 * i;
  g_byte_array_set_size (out, 0);
  full = rtmfp_ack_chunk_append (out, c, 1200);
  g_assert_cmpuint (out->data[0], ==, RTMFP_CHUNK_ACK_BITMAP);
  g_assert_cmpuint (full, ==, 6 + 10);
  for (i = 0; i < 10; i++)
    g_assert_cmpuint (out->data[6 + i], ==, 0x55);
  g_byte_array_set_size (out, 0);
  g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 9), ==, 9);
  g_assert_true (parse_ack (out->data, out->len, d));
  g_assert_cmpuint (d->n_ranges, ==, 12);
  g_assert_cmpuint (d->ranges[11].last, ==, 24);

  g_byte_array_unref (out);
  g_free (c);
  g_free (d);
}

static void
test_ack_limits (void)
{
  RtmfpAckChunk *c = g_new0 (RtmfpAckChunk, 1);
  GByteArray *a;
  gsize i;

  /* 100 bytes of 0x55 = 400 isolated numbers: capped, excess ignored */
  a = hex ("05 7f 00");
  for (i = 0; i < 100; i++)
    rtmfp_append_u8 (a, 0x55);
  g_assert_true (rtmfp_ack_bitmap_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->n_ranges, ==, RTMFP_ACK_MAX_RANGES);
  g_assert_cmpuint (c->ranges[0].first, ==, 2);
  g_assert_cmpuint (c->ranges[RTMFP_ACK_MAX_RANGES - 1].last, ==,
      2 + 2 * (RTMFP_ACK_MAX_RANGES - 1));
  g_byte_array_unref (a);

  /* same for 300 range pairs */
  a = hex ("05 7f 00");
  for (i = 0; i < 300; i++) {
    rtmfp_append_u8 (a, 0);
    rtmfp_append_u8 (a, 0);
  }
  g_assert_true (rtmfp_ack_ranges_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->n_ranges, ==, RTMFP_ACK_MAX_RANGES);
  g_assert_cmpuint (c->ranges[RTMFP_ACK_MAX_RANGES - 1].first, ==,
      2 * RTMFP_ACK_MAX_RANGES);
  g_byte_array_unref (a);

  /* 64-bit overflow of the acknowledged numbers */
  a = hex ("05 7f 81ffffffffffffffff7e 00 00");    /* cum = 2^64 - 2 */
  g_assert_false (rtmfp_ack_ranges_chunk_parse (a->data, a->len, c));
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7c 00 00");    /* cum = 2^64 - 4 */
  g_assert_true (rtmfp_ack_ranges_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->ranges[0].first, ==, G_MAXUINT64 - 1);
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7c 00 01");    /* up to 2^64 - 1 */
  g_assert_true (rtmfp_ack_ranges_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->ranges[0].last, ==, G_MAXUINT64);
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7c 00 02");
  g_assert_false (rtmfp_ack_ranges_chunk_parse (a->data, a->len, c));
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7e 01");
  g_assert_false (rtmfp_ack_bitmap_chunk_parse (a->data, a->len, c));
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7d 01");
  g_assert_true (rtmfp_ack_bitmap_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->ranges[0].first, ==, G_MAXUINT64);
  g_byte_array_unref (a);
  a = hex ("05 7f 81ffffffffffffffff7d 02");
  g_assert_false (rtmfp_ack_bitmap_chunk_parse (a->data, a->len, c));
  g_byte_array_unref (a);
  /* empty bitmap at the very top is fine */
  a = hex ("05 7f 81ffffffffffffffff7f");
  g_assert_true (rtmfp_ack_bitmap_chunk_parse (a->data, a->len, c));
  g_assert_cmpuint (c->cumulative_ack, ==, G_MAXUINT64);
  g_assert_cmpuint (c->n_ranges, ==, 0);
  g_byte_array_unref (a);

  g_free (c);
}

static void
test_ack_random_roundtrip (void)
{
  GRand *rand = g_rand_new_with_seed (2247);
  RtmfpAckChunk *c = g_new0 (RtmfpAckChunk, 1);
  RtmfpAckChunk *d = g_new0 (RtmfpAckChunk, 1);
  GByteArray *out = g_byte_array_new ();
  guint iter, n_bitmap = 0, n_ranges = 0;

  for (iter = 0; iter < 500; iter++) {
    guint64 cursor;
    guint i, n = g_rand_int_range (rand, 0, 60);

    c->flow_id = g_rand_int (rand);
    c->buffer_blocks = g_rand_int_range (rand, 0, 1000);
    c->cumulative_ack = iter % 50 == 0 ? G_MAXUINT64 / 2 :
        g_rand_int_range (rand, 0, 100000);
    cursor = c->cumulative_ack;
    /* odd iterations: dense, short runs (bitmap territory); even: sparse */
    for (i = 0; i < n; i++) {
      guint64 gap = 2 + (iter % 2 ? g_rand_int_range (rand, 0, 3)
          : g_rand_int_range (rand, 0, 5000));
      guint64 run = iter % 2 ? g_rand_int_range (rand, 0, 2) :
          g_rand_int_range (rand, 0, 30);

      c->ranges[i].first = cursor + gap;
      c->ranges[i].last = c->ranges[i].first + run;
      cursor = c->ranges[i].last;
    }
    c->n_ranges = n;

    g_byte_array_set_size (out, 0);
    g_assert_cmpuint (rtmfp_ack_chunk_append (out, c, 65535), ==, out->len);
    if (out->data[0] == RTMFP_CHUNK_ACK_BITMAP)
      n_bitmap++;
    else
      n_ranges++;
    memset (d, 0xaa, sizeof *d);
    g_assert_true (parse_ack (out->data, out->len, d));
    g_assert_cmpuint (d->flow_id, ==, c->flow_id);
    g_assert_cmpuint (d->buffer_blocks, ==, c->buffer_blocks);
    g_assert_cmpuint (d->cumulative_ack, ==, c->cumulative_ack);
    g_assert_cmpuint (d->n_ranges, ==, c->n_ranges);
    g_assert_true (memcmp (d->ranges, c->ranges,
            n * sizeof (RtmfpSeqRange)) == 0);
  }
  /* both encodings were exercised */
  g_assert_cmpuint (n_bitmap, >, 20);
  g_assert_cmpuint (n_ranges, >, 20);

  g_byte_array_unref (out);
  g_free (c);
  g_free (d);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* handshake capture */

typedef struct {
  GByteArray *pkt;
  RtmfpPacket p;
  RtmfpChunk c;
} Captured;

static void
captured_load (Captured * cap, const gchar * plain, guint16 ts, guint8 type,
    gsize chunk_len)
{
  RtmfpChunkIter it;
  RtmfpChunk extra;

  cap->pkt = hex (plain);
  g_assert_true (rtmfp_packet_parse (cap->pkt->data, cap->pkt->len, &cap->p));
  g_assert_cmpuint (cap->p.flags, ==, 0x0b);
  g_assert_cmpint (rtmfp_packet_mode (&cap->p), ==, RTMFP_MODE_STARTUP);
  g_assert_true (cap->p.flags & RTMFP_PKT_FLAG_TS);
  g_assert_false (cap->p.flags & RTMFP_PKT_FLAG_TSE);
  g_assert_cmpuint (cap->p.timestamp, ==, ts);
  rtmfp_chunk_iter_init (&it, &cap->p);
  g_assert_true (rtmfp_chunk_iter_next (&it, &cap->c));
  g_assert_cmpuint (cap->c.type, ==, type);
  g_assert_cmpuint (cap->c.len, ==, chunk_len);
  /* the rest is 0xff padding */
  g_assert_false (rtmfp_chunk_iter_next (&it, &extra));
  g_assert_cmpuint (cap->c.data + cap->c.len - cap->pkt->data + 0, <,
      cap->pkt->len);
  {
    const guint8 *q;
    for (q = cap->c.data + cap->c.len; q < cap->pkt->data + cap->pkt->len; q++)
      g_assert_cmpuint (*q, ==, 0xff);
  }
}

/* The rebuilt chunk must equal the captured one, header included; and
 * a builder-made packet must equal the capture up to the padding. */
static void
captured_check_reserialised (Captured * cap, const GByteArray * chunk)
{
  RtmfpPacketBuilder b;
  const guint8 *data;
  gsize len;

  assert_bytes (chunk->data, chunk->len, cap->c.data - 3, cap->c.len + 3);

  rtmfp_packet_builder_init (&b, cap->p.flags, cap->p.timestamp, 0,
      RTMFP_MAX_STARTUP_PLAIN_SIZE);
  g_assert_true (rtmfp_packet_builder_add (&b, cap->c.type, chunk->data + 3,
          chunk->len - 3));
  data = rtmfp_packet_builder_data (&b, &len);
  assert_bytes (data, len, cap->pkt->data, 3 + chunk->len);
  rtmfp_packet_builder_clear (&b);
}

static void
captured_clear (Captured * cap)
{
  g_byte_array_unref (cap->pkt);
}

static void
test_vector_ihello (void)
{
  Captured cap;
  RtmfpIHelloChunk h;
  RtmfpOption opt;
  gboolean marker;
  gsize n;
  GByteArray *tag = hex (ihello_tag), *out = g_byte_array_new ();

  captured_load (&cap, ihello_plain, 0x132d, RTMFP_CHUNK_IHELLO, 0x27);
  g_assert_true (rtmfp_ihello_chunk_parse (cap.c.data, cap.c.len, &h));
  g_assert_cmpuint (h.epd_len, ==, 0x16);
  g_assert_true (rtmfp_option_parse (h.epd, h.epd_len, &marker, &opt, &n));
  g_assert_false (marker);
  g_assert_cmpuint (n, ==, h.epd_len);
  g_assert_cmpuint (opt.type, ==, 0x0a);
  g_assert_cmpuint (opt.len, ==, 20);
  g_assert_true (memcmp (opt.value, "rtmfp://cc.rtmfp.net", 20) == 0);
  assert_bytes (h.tag, h.tag_len, tag->data, tag->len);

  rtmfp_ihello_chunk_append (out, &h);
  captured_check_reserialised (&cap, out);

  g_byte_array_unref (out);
  g_byte_array_unref (tag);
  captured_clear (&cap);
}

static void
test_vector_rhello (void)
{
  static const guint64 types[] = { 0x0a, 0x0e, 0x15, 0x15, 0x15 };
  static const gsize lens[] = { 0, 64, 1, 1, 1 };
  static const guint8 groups[] = { 2, 5, 14 };
  Captured cap;
  RtmfpRHelloChunk h;
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  guint i = 0;
  GByteArray *tag = hex (ihello_tag), *out = g_byte_array_new ();

  captured_load (&cap, rhello_plain, 0x3745, RTMFP_CHUNK_RHELLO, 0x9f);
  g_assert_true (rtmfp_rhello_chunk_parse (cap.c.data, cap.c.len, &h));
  assert_bytes (h.tag_echo, h.tag_echo_len, tag->data, tag->len);
  g_assert_cmpuint (h.cookie_len, ==, 64);
  g_assert_cmpuint (h.cookie[0], ==, 0x9c);
  g_assert_cmpuint (h.cookie[63], ==, 0x7a);
  g_assert_cmpuint (h.cert_len, ==, 77);

  rtmfp_option_iter_init (&it, h.cert, h.cert_len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    g_assert_cmpuint (i, <, 5);
    g_assert_false (marker);
    g_assert_cmpuint (opt.type, ==, types[i]);
    g_assert_cmpuint (opt.len, ==, lens[i]);
    if (i >= 2)
      g_assert_cmpuint (opt.value[0], ==, groups[i - 2]);
    i++;
  }
  g_assert_cmpuint (i, ==, 5);
  g_assert_false (it.malformed);

  rtmfp_rhello_chunk_append (out, &h);
  captured_check_reserialised (&cap, out);

  g_byte_array_unref (out);
  g_byte_array_unref (tag);
  captured_clear (&cap);
}

static void
test_vector_iikeying (void)
{
  static const guint64 skic_types[] = { 0x1d, 0x0e, 0x1a, 0x1e };
  static const gsize skic_lens[] = { 1, 64, 2, 1 };
  Captured cap, rh;
  RtmfpIIKeyingChunk k;
  RtmfpRHelloChunk h;
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  guint i = 0;
  GByteArray *out = g_byte_array_new ();

  captured_load (&rh, rhello_plain, 0x3745, RTMFP_CHUNK_RHELLO, 0x9f);
  g_assert_true (rtmfp_rhello_chunk_parse (rh.c.data, rh.c.len, &h));

  captured_load (&cap, iikeying_plain, 0x1368, RTMFP_CHUNK_IIKEYING, 281);
  g_assert_true (rtmfp_iikeying_chunk_parse (cap.c.data, cap.c.len, &k));
  g_assert_cmpuint (k.initiator_session_id, ==, 0x02000000);
  /* the cookie echo is the RHello's cookie */
  assert_bytes (k.cookie, k.cookie_len, h.cookie, h.cookie_len);
  g_assert_cmpuint (k.cert_len, ==, 132);
  g_assert_cmpuint (k.skic_len, ==, 76);
  g_assert_cmpuint (k.signature_len, ==, 1);
  g_assert_cmpuint (k.signature[0], ==, 'X');
  g_assert_true (k.signed_params == cap.c.data);
  g_assert_cmpuint (k.signed_len, ==, 280);
  g_assert_true (k.signature == cap.c.data + 280);

  /* certificate: one Static DH Public Key option, group 2, 128 bytes */
  rtmfp_option_iter_init (&it, k.cert, k.cert_len);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_cmpuint (opt.type, ==, 0x1d);
  g_assert_cmpuint (opt.len, ==, 129);
  g_assert_cmpuint (opt.value[0], ==, 0x02);
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (it.malformed);

  /* SKIC: DH group select, extra randomness, HMAC and SSEQ negotiation */
  rtmfp_option_iter_init (&it, k.skic, k.skic_len);
  while (rtmfp_option_iter_next (&it, &opt, &marker)) {
    g_assert_cmpuint (i, <, 4);
    g_assert_cmpuint (opt.type, ==, skic_types[i]);
    g_assert_cmpuint (opt.len, ==, skic_lens[i]);
    i++;
  }
  g_assert_cmpuint (i, ==, 4);
  g_assert_false (it.malformed);

  /* signed parameters rebuilt from the fields equal the span */
  rtmfp_iikeying_signed_params_append (out, &k);
  assert_bytes (out->data, out->len, k.signed_params, k.signed_len);
  g_byte_array_set_size (out, 0);
  rtmfp_iikeying_chunk_append (out, &k);
  captured_check_reserialised (&cap, out);

  g_byte_array_unref (out);
  captured_clear (&cap);
  captured_clear (&rh);
}

static void
test_vector_rikeying (void)
{
  Captured cap, ii;
  RtmfpRIKeyingChunk k;
  RtmfpIIKeyingChunk ik;
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  GByteArray *out = g_byte_array_new ();
  GByteArray *want = hex ("45020000 810b 031a0000 021e00");

  captured_load (&cap, rikeying_plain, 0x3781, RTMFP_CHUNK_RIKEYING, 0x92);
  g_assert_true (rtmfp_rikeying_chunk_parse (cap.c.data, cap.c.len, &k));
  g_assert_cmpuint (k.responder_session_id, ==, 0x45020000);
  g_assert_cmpuint (k.skrc_len, ==, 139);
  g_assert_cmpuint (k.signature_len, ==, 1);
  g_assert_cmpuint (k.signature[0], ==, 'X');
  g_assert_true (k.signed_params == cap.c.data);
  g_assert_cmpuint (k.signed_len, ==, 4 + 2 + 139);

  rtmfp_option_iter_init (&it, k.skrc, k.skrc_len);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_cmpuint (opt.type, ==, 0x1a);
  g_assert_cmpuint (opt.len, ==, 2);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_cmpuint (opt.type, ==, 0x1e);
  g_assert_cmpuint (opt.len, ==, 1);
  g_assert_true (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_cmpuint (opt.type, ==, 0x0d);
  g_assert_cmpuint (opt.len, ==, 129);
  g_assert_cmpuint (opt.value[0], ==, 2);
  g_assert_false (rtmfp_option_iter_next (&it, &opt, &marker));
  g_assert_false (it.malformed);

  rtmfp_rikeying_signed_params_append (out, &k);
  assert_bytes (out->data, out->len, k.signed_params, k.signed_len);
  assert_bytes (out->data, want->len, want->data, want->len);

  /* what the responder signs: this portion followed by the IIKeying SKIC */
  captured_load (&ii, iikeying_plain, 0x1368, RTMFP_CHUNK_IIKEYING, 281);
  g_assert_true (rtmfp_iikeying_chunk_parse (ii.c.data, ii.c.len, &ik));
  rtmfp_append_bytes (out, ik.skic, ik.skic_len);
  g_assert_cmpuint (out->len, ==, 145 + 76);
  assert_bytes (out->data + 145, 3, (const guint8 *) "\x02\x1d\x02", 3);

  g_byte_array_set_size (out, 0);
  rtmfp_rikeying_chunk_append (out, &k);
  captured_check_reserialised (&cap, out);

  g_byte_array_unref (want);
  g_byte_array_unref (out);
  captured_clear (&cap);
  captured_clear (&ii);
}

/* ------------------------------------------------------------------ */
/* other chunks */

static void
test_fragment (void)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpFragmentChunk f = { TRUE, 300, 2, (const guint8 *) "\xaa\xbb\xcc", 3 };
  RtmfpFragmentChunk g;
  gsize i;

  rtmfp_fragment_chunk_append (out, &f);
  assert_array_hex (out, "7f 0007 80 822c 02 aabbcc");
  g_assert_true (rtmfp_fragment_chunk_parse (out->data + 3, out->len - 3, &g));
  g_assert_true (g.more);
  g_assert_cmpuint (g.packet_id, ==, 300);
  g_assert_cmpuint (g.fragment_num, ==, 2);
  assert_bytes (g.data, g.len, f.data, f.len);
  for (i = 0; i < out->len - 3; i++) {
    guint8 *p = exact_copy (out->data + 3, i);
    gboolean ok = rtmfp_fragment_chunk_parse (p, i, &g);

    /* an empty fragment is invalid */
    g_assert_cmpint (ok, ==, i > 4);
    g_free (p);
  }
  /* reserved bits ignored, M clear */
  g_assert_true (rtmfp_fragment_chunk_parse ((const guint8 *) "\x7f\x00\x00\x01",
          4, &g));
  g_assert_false (g.more);
  g_byte_array_unref (out);
}

static void
test_fihello_redirect_cookie (void)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpFIHelloChunk fi = { 0, }, fi2;
  RtmfpRedirectChunk *rd = g_new0 (RtmfpRedirectChunk, 1);
  RtmfpRedirectChunk *rd2 = g_new0 (RtmfpRedirectChunk, 1);
  RtmfpCookieChangeChunk cc = { 0, }, cc2;
  GByteArray *bad;
  guint i;

  fi.epd = (const guint8 *) "\x02\x0a\x41";
  fi.epd_len = 3;
  g_assert_true (rtmfp_addr_from_string (&fi.reply_address, "192.0.2.1:1935",
          0));
  fi.reply_address.origin = RTMFP_ADDR_ORIGIN_REFLEXIVE;
  fi.tag = (const guint8 *) "\x01\x02\x03\x04";
  fi.tag_len = 4;
  rtmfp_fihello_chunk_append (out, &fi);
  assert_array_hex (out, "0f 000f 03020a41 02c000020107 8f 01020304");
  g_assert_true (rtmfp_fihello_chunk_parse (out->data + 3, out->len - 3,
          &fi2));
  assert_bytes (fi2.epd, fi2.epd_len, fi.epd, fi.epd_len);
  g_assert_true (rtmfp_addr_equal (&fi2.reply_address, &fi.reply_address));
  g_assert_cmpuint (fi2.reply_address.origin, ==, RTMFP_ADDR_ORIGIN_REFLEXIVE);
  assert_bytes (fi2.tag, fi2.tag_len, fi.tag, fi.tag_len);
  /* without a complete address it is malformed */
  g_assert_false (rtmfp_fihello_chunk_parse (out->data + 3, 4 + 6, &fi2));
  g_assert_true (rtmfp_fihello_chunk_parse (out->data + 3, 4 + 7, &fi2));
  g_assert_cmpuint (fi2.tag_len, ==, 0);

  /* Implied Redirect: tag echo only */
  g_byte_array_set_size (out, 0);
  rd->tag_echo = fi.tag;
  rd->tag_echo_len = 4;
  rtmfp_redirect_chunk_append (out, rd);
  assert_array_hex (out, "71 0005 04 01020304");
  g_assert_true (rtmfp_redirect_chunk_parse (out->data + 3, out->len - 3, rd2));
  g_assert_cmpuint (rd2->n_addrs, ==, 0);
  assert_bytes (rd2->tag_echo, rd2->tag_echo_len, fi.tag, 4);

  /* two addresses, v4 and v6 */
  g_byte_array_set_size (out, 0);
  rd->n_addrs = 2;
  g_assert_true (rtmfp_addr_from_string (&rd->addrs[0], "198.51.100.7:1935",
          0));
  rd->addrs[0].origin = RTMFP_ADDR_ORIGIN_RELAY;
  g_assert_true (rtmfp_addr_from_string (&rd->addrs[1], "[2001:db8::9]:80",
          0));
  rtmfp_redirect_chunk_append (out, rd);
  g_assert_cmpuint (out->len, ==, 3 + 5 + 7 + 19);
  g_assert_true (rtmfp_redirect_chunk_parse (out->data + 3, out->len - 3, rd2));
  g_assert_cmpuint (rd2->n_addrs, ==, 2);
  g_assert_true (rtmfp_addr_equal (&rd2->addrs[0], &rd->addrs[0]));
  g_assert_cmpuint (rd2->addrs[0].origin, ==, RTMFP_ADDR_ORIGIN_RELAY);
  g_assert_true (rtmfp_addr_equal (&rd2->addrs[1], &rd->addrs[1]));
  /* a truncated trailing address makes it malformed */
  for (i = 1; i < 19; i++)
    g_assert_false (rtmfp_redirect_chunk_parse (out->data + 3,
            out->len - 3 - i, rd2));

  /* more than RTMFP_REDIRECT_MAX_ADDRS: the excess is ignored */
  bad = hex ("00");
  for (i = 0; i < 30; i++) {
    RtmfpAddr a;
    guint8 ip[4] = { 10, 0, 0, (guint8) i };

    rtmfp_addr_set_ipv4 (&a, ip, 1000 + i);
    rtmfp_addr_append (bad, &a);
  }
  g_assert_true (rtmfp_redirect_chunk_parse (bad->data, bad->len, rd2));
  g_assert_cmpuint (rd2->n_addrs, ==, RTMFP_REDIRECT_MAX_ADDRS);
  g_assert_cmpuint (rd2->addrs[RTMFP_REDIRECT_MAX_ADDRS - 1].port, ==,
      1000 + RTMFP_REDIRECT_MAX_ADDRS - 1);
  /* ... but must still be well formed */
  g_assert_false (rtmfp_redirect_chunk_parse (bad->data, bad->len - 1, rd2));
  g_byte_array_unref (bad);

  /* cookie change */
  g_byte_array_set_size (out, 0);
  cc.old_cookie = (const guint8 *) "old";
  cc.old_cookie_len = 3;
  cc.new_cookie = (const guint8 *) "newer";
  cc.new_cookie_len = 5;
  rtmfp_cookie_change_chunk_append (out, &cc);
  assert_array_hex (out, "79 0009 03 6f6c64 6e65776572");
  g_assert_true (rtmfp_cookie_change_chunk_parse (out->data + 3, out->len - 3,
          &cc2));
  assert_bytes (cc2.old_cookie, cc2.old_cookie_len, cc.old_cookie, 3);
  assert_bytes (cc2.new_cookie, cc2.new_cookie_len, cc.new_cookie, 5);
  g_assert_false (rtmfp_cookie_change_chunk_parse (out->data + 3, 3, &cc2));

  g_free (rd);
  g_free (rd2);
  g_byte_array_unref (out);
}

static void
test_small_chunks (void)
{
  GByteArray *out = g_byte_array_new ();
  guint64 f, e;

  rtmfp_buffer_probe_chunk_append (out, 5);
  rtmfp_flow_exception_chunk_append (out, 300, 0);
  rtmfp_chunk_append (out, RTMFP_CHUNK_PING, (const guint8 *) "hi", 2);
  rtmfp_chunk_append (out, RTMFP_CHUNK_SESSION_CLOSE, NULL, 0);
  assert_array_hex (out, "18 0001 05  5e 0003 822c 00  01 0002 6869  0c 0000");

  g_assert_true (rtmfp_buffer_probe_chunk_parse (out->data + 3, 1, &f));
  g_assert_cmpuint (f, ==, 5);
  g_assert_false (rtmfp_buffer_probe_chunk_parse (out->data + 3, 0, &f));
  g_assert_true (rtmfp_flow_exception_chunk_parse (out->data + 7, 3, &f, &e));
  g_assert_cmpuint (f, ==, 300);
  g_assert_cmpuint (e, ==, 0);
  g_assert_false (rtmfp_flow_exception_chunk_parse (out->data + 7, 2, &f, &e));
  g_assert_false (rtmfp_flow_exception_chunk_parse (out->data + 7, 1, &f, &e));

  g_assert_cmpstr (rtmfp_chunk_type_get_nick (0x10), ==, "user-data");
  g_assert_cmpstr (rtmfp_chunk_type_get_nick (0x51), ==, "ack-ranges");
  g_assert_cmpstr (rtmfp_chunk_type_get_nick (0x38), ==, "iikeying");
  g_assert_cmpstr (rtmfp_chunk_type_get_nick (0xee), ==, "unknown");
  g_byte_array_unref (out);
}

/* ------------------------------------------------------------------ */
/* hostile input */

static void
check_span (const guint8 * base, gsize len, const guint8 * p, gsize n)
{
  if (n == 0)
    return;
  g_assert_nonnull (p);
  g_assert_true (p >= base);
  g_assert_cmpuint (n, <=, len);
  g_assert_true ((gsize) (p - base) <= len - n);
}

/* Runs every chunk parser over one payload; checks any parsed span lies
 * within the input. */
static void
parse_chunk_all (const guint8 * d, gsize len)
{
  RtmfpFragmentChunk fr;
  RtmfpIHelloChunk ih;
  RtmfpFIHelloChunk fi;
  RtmfpRHelloChunk rh;
  RtmfpRedirectChunk rd;
  RtmfpCookieChangeChunk cc;
  RtmfpIIKeyingChunk ii;
  RtmfpRIKeyingChunk ri;
  RtmfpUserDataChunk ud, nud;
  static RtmfpAckChunk ack;
  RtmfpOptionIter it;
  RtmfpOption opt;
  gboolean marker;
  guint64 a, b;
  gsize n;
  guint i;

  if (rtmfp_fragment_chunk_parse (d, len, &fr))
    check_span (d, len, fr.data, fr.len);
  if (rtmfp_ihello_chunk_parse (d, len, &ih)) {
    check_span (d, len, ih.epd, ih.epd_len);
    check_span (d, len, ih.tag, ih.tag_len);
  }
  if (rtmfp_fihello_chunk_parse (d, len, &fi)) {
    check_span (d, len, fi.epd, fi.epd_len);
    check_span (d, len, fi.tag, fi.tag_len);
  }
  if (rtmfp_rhello_chunk_parse (d, len, &rh)) {
    check_span (d, len, rh.tag_echo, rh.tag_echo_len);
    check_span (d, len, rh.cookie, rh.cookie_len);
    check_span (d, len, rh.cert, rh.cert_len);
    rtmfp_option_iter_init (&it, rh.cert, rh.cert_len);
    while (rtmfp_option_iter_next (&it, &opt, &marker))
      check_span (d, len, opt.value, opt.len);
  }
  if (rtmfp_redirect_chunk_parse (d, len, &rd)) {
    check_span (d, len, rd.tag_echo, rd.tag_echo_len);
    g_assert_cmpuint (rd.n_addrs, <=, RTMFP_REDIRECT_MAX_ADDRS);
  }
  if (rtmfp_cookie_change_chunk_parse (d, len, &cc)) {
    check_span (d, len, cc.old_cookie, cc.old_cookie_len);
    check_span (d, len, cc.new_cookie, cc.new_cookie_len);
  }
  if (rtmfp_iikeying_chunk_parse (d, len, &ii)) {
    check_span (d, len, ii.cookie, ii.cookie_len);
    check_span (d, len, ii.cert, ii.cert_len);
    check_span (d, len, ii.skic, ii.skic_len);
    check_span (d, len, ii.signature, ii.signature_len);
    check_span (d, len, ii.signed_params, ii.signed_len);
    g_assert_cmpuint (ii.signed_len + ii.signature_len, ==, len);
  }
  if (rtmfp_rikeying_chunk_parse (d, len, &ri)) {
    check_span (d, len, ri.skrc, ri.skrc_len);
    check_span (d, len, ri.signature, ri.signature_len);
    check_span (d, len, ri.signed_params, ri.signed_len);
    g_assert_cmpuint (ri.signed_len + ri.signature_len, ==, len);
  }
  if (rtmfp_user_data_chunk_parse (d, len, &ud)) {
    check_span (d, len, ud.options, ud.options_len);
    check_span (d, len, ud.data, ud.len);
    g_assert_cmpuint (ud.fsn_offset, <=, ud.seq);
    if (rtmfp_next_user_data_chunk_parse (d, len, &ud, &nud)) {
      g_assert_cmpuint (nud.seq, ==, ud.seq + 1);
      check_span (d, len, nud.data, nud.len);
    }
  }
  if (rtmfp_ack_bitmap_chunk_parse (d, len, &ack)) {
    g_assert_cmpuint (ack.n_ranges, <=, RTMFP_ACK_MAX_RANGES);
    for (i = 0; i < ack.n_ranges; i++) {
      g_assert_cmpuint (ack.ranges[i].first, <=, ack.ranges[i].last);
      g_assert_cmpuint (ack.ranges[i].first, >, (i == 0 ?
              ack.cumulative_ack : ack.ranges[i - 1].last) + 1);
    }
  }
  if (rtmfp_ack_ranges_chunk_parse (d, len, &ack)) {
    g_assert_cmpuint (ack.n_ranges, <=, RTMFP_ACK_MAX_RANGES);
    for (i = 0; i < ack.n_ranges; i++) {
      g_assert_cmpuint (ack.ranges[i].first, <=, ack.ranges[i].last);
      g_assert_cmpuint (ack.ranges[i].first, >, (i == 0 ?
              ack.cumulative_ack : ack.ranges[i - 1].last) + 1);
    }
  }
  rtmfp_buffer_probe_chunk_parse (d, len, &a);
  rtmfp_flow_exception_chunk_parse (d, len, &a, &b);
  rtmfp_vlu_decode (d, len, &a, &n);
  rtmfp_option_list_parse (d, len, NULL, NULL, &n);
  rtmfp_option_iter_init (&it, d, len);
  while (rtmfp_option_iter_next (&it, &opt, &marker))
    check_span (d, len, opt.value, opt.len);
  {
    RtmfpAddr ad;
    if (rtmfp_addr_parse (d, len, &ad, &n))
      g_assert_cmpuint (n, <=, len);
  }
}

/* Packet parse + chunk walk + every parser on every chunk and on the
 * raw bytes.  The input is copied to an exact-size heap block. */
static void
parse_everything (const guint8 * src, gsize len)
{
  guint8 *d = exact_copy (src, len);
  RtmfpPacket p;

  if (rtmfp_packet_parse (d, len, &p)) {
    RtmfpChunkIter it;
    RtmfpChunk c;
    guint count = 0;

    check_span (d, len, p.chunks, p.chunks_len);
    rtmfp_chunk_iter_init (&it, &p);
    while (rtmfp_chunk_iter_next (&it, &c)) {
      check_span (d, len, c.data, c.len);
      parse_chunk_all (c.data, c.len);
      g_assert_cmpuint (++count, <=, len / 3);
    }
  }
  parse_chunk_all (d, len);
  g_free (d);
}

static GPtrArray *
corpus_new (void)
{
  GPtrArray *corpus = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_byte_array_unref);
  static const gchar *hexes[] = { ihello_plain, rhello_plain, iikeying_plain,
    rikeying_plain
  };
  GByteArray *a;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (hexes); i++) {
    RtmfpPacket p;

    a = hex (hexes[i]);
    g_ptr_array_add (corpus, a);
    /* the chunk payload alone */
    g_assert_true (rtmfp_packet_parse (a->data, a->len, &p));
    g_ptr_array_add (corpus, g_byte_array_new_take (g_memdup2 (p.chunks + 3,
                ((gsize) p.chunks[1] << 8) | p.chunks[2]),
            ((gsize) p.chunks[1] << 8) | p.chunks[2]));
  }

  a = hex ("4d 1234 5678");
  {
    GByteArray *c = hex (fig3_chunks);
    g_byte_array_append (a, c->data, c->len);
    g_byte_array_unref (c);
  }
  g_ptr_array_add (corpus, a);
  g_ptr_array_add (corpus, hex (fig4_bitmap + 6));
  g_ptr_array_add (corpus, hex (fig5_ranges + 6));
  g_ptr_array_add (corpus, hex (fig6_ranges + 6));
  g_ptr_array_add (corpus, hex ("80 02 05 01 05 00 54430400 020a03 00 aabb"));
  g_ptr_array_add (corpus, hex ("04 81020304 0506 8120010db8000000000000000000"
          "00000001 01bb 0301020304 0506"));
  g_ptr_array_add (corpus, hex ("80 822c 02 aabbcc"));
  return corpus;
}

static void
test_truncation (void)
{
  GPtrArray *corpus = corpus_new ();
  guint i;

  for (i = 0; i < corpus->len; i++) {
    GByteArray *a = g_ptr_array_index (corpus, i);
    gsize n;

    for (n = 0; n <= a->len; n++)
      parse_everything (a->data, n);
  }
  g_ptr_array_unref (corpus);
}

static void
test_random_input (void)
{
  GRand *rand = g_rand_new_with_seed (20131101);
  GPtrArray *corpus = corpus_new ();
  guint8 buf[400];
  guint i;

  /* random byte strings */
  for (i = 0; i < 3000; i++) {
    gsize len = g_rand_int_range (rand, 0, sizeof buf);
    gsize j;

    for (j = 0; j < len; j++)
      buf[j] = (guint8) g_rand_int (rand);
    /* bias some inputs towards valid headers */
    if (len > 0 && i % 3 == 0)
      buf[0] = (buf[0] & 0xf0) | 0x0b;
    parse_everything (buf, len);
  }

  /* mutations of the valid corpus: byte flips and length changes */
  for (i = 0; i < 3000; i++) {
    GByteArray *a = g_ptr_array_index (corpus,
        g_rand_int_range (rand, 0, corpus->len));
    gsize len = MIN (a->len, sizeof buf);
    guint flips = g_rand_int_range (rand, 1, 4), j;

    memcpy (buf, a->data, len);
    for (j = 0; j < flips && len > 0; j++) {
      gsize pos = g_rand_int_range (rand, 0, len);

      switch (g_rand_int_range (rand, 0, 3)) {
        case 0:
          buf[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
          break;
        case 1:
          buf[pos] = (guint8) g_rand_int (rand);
          break;
        default:
          buf[pos] = g_rand_boolean (rand) ? 0xff : 0x80;
          break;
      }
    }
    if (len > 0 && g_rand_int_range (rand, 0, 4) == 0)
      len = g_rand_int_range (rand, 0, len);
    parse_everything (buf, len);
  }

  g_ptr_array_unref (corpus);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/codec/vlu/vectors", test_vlu_vectors);
  g_test_add_func ("/codec/vlu/malformed", test_vlu_malformed);
  g_test_add_func ("/codec/vlu/roundtrip", test_vlu_roundtrip);
  g_test_add_func ("/codec/reader", test_reader);
  g_test_add_func ("/codec/option/single", test_option);
  g_test_add_func ("/codec/option/list", test_option_list);
  g_test_add_func ("/codec/option/iter", test_option_iter);
  g_test_add_func ("/codec/addr/wire", test_addr_wire);
  g_test_add_func ("/codec/addr/string", test_addr_string);
  g_test_add_func ("/codec/addr/equal-hash", test_addr_equal_hash);
  g_test_add_func ("/codec/addr/gsocket", test_addr_gsocket);
  g_test_add_func ("/codec/addr/classify", test_addr_classify);
  g_test_add_func ("/codec/packet/header", test_packet_header);
  g_test_add_func ("/codec/packet/chunk-iter", test_chunk_iter);
  g_test_add_func ("/codec/packet/builder", test_builder);
  g_test_add_func ("/codec/user-data/fig3", test_next_user_data_fig3);
  g_test_add_func ("/codec/user-data/options", test_user_data_options);
  g_test_add_func ("/codec/ack/rfc-examples", test_ack_rfc_examples);
  g_test_add_func ("/codec/ack/encoding-choice", test_ack_encoding_choice);
  g_test_add_func ("/codec/ack/truncation", test_ack_truncation);
  g_test_add_func ("/codec/ack/limits", test_ack_limits);
  g_test_add_func ("/codec/ack/random-roundtrip", test_ack_random_roundtrip);
  g_test_add_func ("/codec/vectors/ihello", test_vector_ihello);
  g_test_add_func ("/codec/vectors/rhello", test_vector_rhello);
  g_test_add_func ("/codec/vectors/iikeying", test_vector_iikeying);
  g_test_add_func ("/codec/vectors/rikeying", test_vector_rikeying);
  g_test_add_func ("/codec/chunk/fragment", test_fragment);
  g_test_add_func ("/codec/chunk/fihello-redirect-cookie",
      test_fihello_redirect_cookie);
  g_test_add_func ("/codec/chunk/small", test_small_chunks);
  g_test_add_func ("/codec/fuzz/truncation", test_truncation);
  g_test_add_func ("/codec/fuzz/random", test_random_input);

  return g_test_run ();
}
