/* RTMFP core: variable length unsigned integers and options
 * (RFC 7016 sections 2.1.2 - 2.1.4)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-codec"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmfpvlu.h"

/* ---- VLU (section 2.1.2): base 128, most significant digit first, high
 * bit of each byte set when another byte follows. ---- */

gsize
rtmfp_vlu_size (guint64 value)
{
  gsize n = 1;

  while (value >= 0x80) {
    value >>= 7;
    n++;
  }
  return n;
}

gsize
rtmfp_vlu_encode (guint64 value, guint8 * out)
{
  gsize n = rtmfp_vlu_size (value);
  gsize i;

  g_return_val_if_fail (out != NULL, 0);

  /* least significant digit last, without the continuation bit */
  for (i = n; i > 0; i--) {
    out[i - 1] = (guint8) ((value & 0x7f) | (i == n ? 0x00 : 0x80));
    value >>= 7;
  }
  return n;
}

void
rtmfp_vlu_append (GByteArray * out, guint64 value)
{
  guint8 tmp[RTMFP_VLU_MAX_SIZE];
  gsize n;

  g_return_if_fail (out != NULL);

  n = rtmfp_vlu_encode (value, tmp);
  g_byte_array_append (out, tmp, n);
}

gboolean
rtmfp_vlu_decode (const guint8 * data, gsize len, guint64 * value,
    gsize * consumed)
{
  guint64 v = 0;
  gsize i;

  if (data == NULL)
    return FALSE;

  for (i = 0; i < len && i < RTMFP_VLU_MAX_SIZE; i++) {
    guint8 b = data[i];

    /* v * 128 + digit must stay within 64 bits */
    if (v > (G_MAXUINT64 >> 7))
      return FALSE;
    v = (v << 7) | (b & 0x7f);

    if (!(b & 0x80)) {
      if (value)
        *value = v;
      if (consumed)
        *consumed = i + 1;
      return TRUE;
    }
  }

  /* ran out of data (truncated) or of allowed length (overlong) */
  return FALSE;
}

/* ---- reader ---- */

void
rtmfp_reader_init (RtmfpReader * r, const guint8 * data, gsize len)
{
  g_return_if_fail (r != NULL);

  r->data = data;
  r->len = data ? len : 0;
  r->pos = 0;
}

gsize
rtmfp_reader_remaining (const RtmfpReader * r)
{
  return r->pos <= r->len ? r->len - r->pos : 0;
}

const guint8 *
rtmfp_reader_peek (const RtmfpReader * r)
{
  if (r->data == NULL)
    return NULL;
  return r->data + MIN (r->pos, r->len);
}

gboolean
rtmfp_reader_u8 (RtmfpReader * r, guint8 * v)
{
  if (rtmfp_reader_remaining (r) < 1)
    return FALSE;
  if (v)
    *v = r->data[r->pos];
  r->pos += 1;
  return TRUE;
}

gboolean
rtmfp_reader_u16 (RtmfpReader * r, guint16 * v)
{
  const guint8 *p;

  if (rtmfp_reader_remaining (r) < 2)
    return FALSE;
  p = r->data + r->pos;
  if (v)
    *v = (guint16) ((p[0] << 8) | p[1]);
  r->pos += 2;
  return TRUE;
}

gboolean
rtmfp_reader_u32 (RtmfpReader * r, guint32 * v)
{
  const guint8 *p;

  if (rtmfp_reader_remaining (r) < 4)
    return FALSE;
  p = r->data + r->pos;
  if (v)
    *v = ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
        ((guint32) p[2] << 8) | (guint32) p[3];
  r->pos += 4;
  return TRUE;
}

gboolean
rtmfp_reader_vlu (RtmfpReader * r, guint64 * v)
{
  gsize n;

  if (rtmfp_reader_remaining (r) < 1)
    return FALSE;
  if (!rtmfp_vlu_decode (r->data + r->pos, rtmfp_reader_remaining (r), v, &n))
    return FALSE;
  r->pos += n;
  return TRUE;
}

gboolean
rtmfp_reader_bytes (RtmfpReader * r, gsize n, const guint8 ** out)
{
  if (rtmfp_reader_remaining (r) < n)
    return FALSE;
  if (out)
    *out = r->data ? r->data + r->pos : NULL;
  r->pos += n;
  return TRUE;
}

gboolean
rtmfp_reader_vlu_bytes (RtmfpReader * r, const guint8 ** out, gsize * out_len)
{
  gsize save = r->pos;
  guint64 n;

  if (!rtmfp_reader_vlu (r, &n))
    return FALSE;
  if (n > rtmfp_reader_remaining (r)) {
    r->pos = save;
    return FALSE;
  }
  if (out)
    *out = r->data + r->pos;
  if (out_len)
    *out_len = (gsize) n;
  r->pos += (gsize) n;
  return TRUE;
}

gboolean
rtmfp_reader_skip (RtmfpReader * r, gsize n)
{
  return rtmfp_reader_bytes (r, n, NULL);
}

/* ---- appenders ---- */

void
rtmfp_append_u8 (GByteArray * out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

void
rtmfp_append_u16 (GByteArray * out, guint16 v)
{
  guint8 b[2] = { (guint8) (v >> 8), (guint8) v };

  g_byte_array_append (out, b, 2);
}

void
rtmfp_append_u32 (GByteArray * out, guint32 v)
{
  guint8 b[4] = { (guint8) (v >> 24), (guint8) (v >> 16), (guint8) (v >> 8),
    (guint8) v
  };

  g_byte_array_append (out, b, 4);
}

void
rtmfp_append_bytes (GByteArray * out, const guint8 * data, gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (len <= G_MAXUINT);

  if (len > 0)
    g_byte_array_append (out, data, (guint) len);
}

void
rtmfp_append_vlu_bytes (GByteArray * out, const guint8 * data, gsize len)
{
  g_return_if_fail (data != NULL || len == 0);

  rtmfp_vlu_append (out, len);
  rtmfp_append_bytes (out, data, len);
}

/* ---- options (section 2.1.3) ---- */

gboolean
rtmfp_option_parse (const guint8 * data, gsize len, gboolean * is_marker,
    RtmfpOption * opt, gsize * consumed)
{
  RtmfpReader r, payload;
  guint64 length, type;
  const guint8 *p;

  rtmfp_reader_init (&r, data, len);
  if (!rtmfp_reader_vlu (&r, &length))
    return FALSE;

  if (length == 0) {
    /* Marker: no type, no value */
    if (is_marker)
      *is_marker = TRUE;
    if (consumed)
      *consumed = r.pos;
    return TRUE;
  }

  if (length > rtmfp_reader_remaining (&r))
    return FALSE;
  rtmfp_reader_bytes (&r, (gsize) length, &p);

  /* the type VLU must lie within the option's payload */
  rtmfp_reader_init (&payload, p, (gsize) length);
  if (!rtmfp_reader_vlu (&payload, &type))
    return FALSE;

  if (is_marker)
    *is_marker = FALSE;
  if (opt) {
    opt->type = type;
    opt->value = rtmfp_reader_peek (&payload);
    opt->len = rtmfp_reader_remaining (&payload);
  }
  if (consumed)
    *consumed = r.pos;
  return TRUE;
}

gsize
rtmfp_option_size (guint64 type, gsize value_len)
{
  gsize payload = rtmfp_vlu_size (type) + value_len;

  return rtmfp_vlu_size (payload) + payload;
}

void
rtmfp_option_append (GByteArray * out, guint64 type, const guint8 * value,
    gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (value != NULL || len == 0);

  rtmfp_vlu_append (out, rtmfp_vlu_size (type) + len);
  rtmfp_vlu_append (out, type);
  rtmfp_append_bytes (out, value, len);
}

void
rtmfp_option_append_vlu (GByteArray * out, guint64 type, guint64 value)
{
  guint8 tmp[RTMFP_VLU_MAX_SIZE];
  gsize n = rtmfp_vlu_encode (value, tmp);

  rtmfp_option_append (out, type, tmp, n);
}

void
rtmfp_marker_append (GByteArray * out)
{
  rtmfp_append_u8 (out, 0x00);
}

/* ---- option list (section 2.1.4) ---- */

gboolean
rtmfp_option_list_parse (const guint8 * data, gsize len,
    RtmfpOptionFunc func, gpointer user_data, gsize * consumed)
{
  gsize pos = 0;

  if (data == NULL)
    return FALSE;

  while (pos < len) {
    RtmfpOption opt;
    gboolean marker;
    gsize n;

    if (!rtmfp_option_parse (data + pos, len - pos, &marker, &opt, &n))
      return FALSE;
    pos += n;
    if (marker) {
      if (consumed)
        *consumed = pos;
      return TRUE;
    }
    if (func && !func (&opt, user_data))
      return FALSE;
  }

  /* no terminating Marker */
  return FALSE;
}

/* ---- option iterator (non-terminated option sequences) ---- */

void
rtmfp_option_iter_init (RtmfpOptionIter * it, const guint8 * data, gsize len)
{
  g_return_if_fail (it != NULL);

  rtmfp_reader_init (&it->r, data, len);
  it->malformed = FALSE;
}

gboolean
rtmfp_option_iter_next (RtmfpOptionIter * it, RtmfpOption * opt,
    gboolean * is_marker)
{
  RtmfpOption o;
  gboolean marker;
  gsize n;

  if (it->malformed || rtmfp_reader_remaining (&it->r) == 0)
    return FALSE;

  if (!rtmfp_option_parse (rtmfp_reader_peek (&it->r),
          rtmfp_reader_remaining (&it->r), &marker, &o, &n)) {
    it->malformed = TRUE;
    return FALSE;
  }
  rtmfp_reader_skip (&it->r, n);

  if (is_marker)
    *is_marker = marker;
  if (opt) {
    if (marker) {
      opt->type = 0;
      opt->value = NULL;
      opt->len = 0;
    } else {
      *opt = o;
    }
  }
  return TRUE;
}
