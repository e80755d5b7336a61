/* RTMFP core: variable length unsigned integers and options
 * (RFC 7016 sections 2.1.2 - 2.1.4)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest VLU we emit or accept: 64 bits need 10 base-128 digits. */
#define RTMFP_VLU_MAX_SIZE 10

gsize     rtmfp_vlu_size (guint64 value);
/* Writes into out (>= RTMFP_VLU_MAX_SIZE bytes); returns bytes written. */
gsize     rtmfp_vlu_encode (guint64 value, guint8 * out);
void      rtmfp_vlu_append (GByteArray * out, guint64 value);
/* Returns FALSE when truncated (last byte has the continuation bit),
 * longer than RTMFP_VLU_MAX_SIZE, or overflowing 64 bits. */
gboolean  rtmfp_vlu_decode (const guint8 * data, gsize len, guint64 * value,
    gsize * consumed);

/* A bounds-checked cursor over a byte buffer.  Every read returns FALSE
 * (and leaves the cursor unchanged) if the data is short or malformed. */
typedef struct {
  const guint8 *data;
  gsize len;
  gsize pos;
} RtmfpReader;

void      rtmfp_reader_init (RtmfpReader * r, const guint8 * data, gsize len);
gsize     rtmfp_reader_remaining (const RtmfpReader * r);
const guint8 *rtmfp_reader_peek (const RtmfpReader * r);
gboolean  rtmfp_reader_u8 (RtmfpReader * r, guint8 * v);
gboolean  rtmfp_reader_u16 (RtmfpReader * r, guint16 * v);  /* big endian */
gboolean  rtmfp_reader_u32 (RtmfpReader * r, guint32 * v);  /* big endian */
gboolean  rtmfp_reader_vlu (RtmfpReader * r, guint64 * v);
gboolean  rtmfp_reader_bytes (RtmfpReader * r, gsize n, const guint8 ** out);
/* VLU length followed by that many bytes */
gboolean  rtmfp_reader_vlu_bytes (RtmfpReader * r, const guint8 ** out,
    gsize * out_len);
gboolean  rtmfp_reader_skip (RtmfpReader * r, gsize n);

/* Big-endian appenders */
void      rtmfp_append_u8 (GByteArray * out, guint8 v);
void      rtmfp_append_u16 (GByteArray * out, guint16 v);
void      rtmfp_append_u32 (GByteArray * out, guint32 v);
void      rtmfp_append_bytes (GByteArray * out, const guint8 * data, gsize len);
/* VLU length + bytes */
void      rtmfp_append_vlu_bytes (GByteArray * out, const guint8 * data,
    gsize len);

/* An option (RFC 7016 section 2.1.3): VLU length, VLU type, value.
 * A zero length is a Marker (no type, no value). */
typedef struct {
  guint64 type;
  const guint8 *value;
  gsize len;
} RtmfpOption;

/* Parses one option at the start of data.  *is_marker is set for a
 * Marker (opt then untouched).  Returns FALSE if malformed/truncated. */
gboolean  rtmfp_option_parse (const guint8 * data, gsize len,
    gboolean * is_marker, RtmfpOption * opt, gsize * consumed);
void      rtmfp_option_append (GByteArray * out, guint64 type,
    const guint8 * value, gsize len);
/* Option whose value is a single VLU */
void      rtmfp_option_append_vlu (GByteArray * out, guint64 type,
    guint64 value);
gsize     rtmfp_option_size (guint64 type, gsize value_len);
void      rtmfp_marker_append (GByteArray * out);

/* Option list (RFC 7016 section 2.1.4): options terminated by a Marker.
 * Calls func for each option until the Marker; stops early (returning
 * FALSE) if func returns FALSE.  *consumed includes the Marker. */
typedef gboolean (*RtmfpOptionFunc) (const RtmfpOption * opt,
    gpointer user_data);
gboolean  rtmfp_option_list_parse (const guint8 * data, gsize len,
    RtmfpOptionFunc func, gpointer user_data, gsize * consumed);

/* Iterates a sequence of options that is NOT marker-terminated but fills
 * the whole buffer (certificates, EPDs, keying components): Markers are
 * reported through *is_marker.  Returns FALSE at the end or on a
 * malformed option (*malformed set). */
typedef struct {
  RtmfpReader r;
  gboolean malformed;
} RtmfpOptionIter;

void      rtmfp_option_iter_init (RtmfpOptionIter * it, const guint8 * data,
    gsize len);
gboolean  rtmfp_option_iter_next (RtmfpOptionIter * it, RtmfpOption * opt,
    gboolean * is_marker);

G_END_DECLS
