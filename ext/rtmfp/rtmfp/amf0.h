/* RTMFP core: AMF0 values (Action Message Format 0), used by the Flash
 * TC profile for NetConnection / NetStream commands and script data
 * (RFC 7425 sections 5.1.2, 5.3; AMF0 specification).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One value per AMF0 marker (the enum value is the marker byte). */
typedef enum {
  RTMFP_AMF_TYPE_INVALID = -1,
  RTMFP_AMF_TYPE_NUMBER = 0x00,
  RTMFP_AMF_TYPE_BOOLEAN = 0x01,
  RTMFP_AMF_TYPE_STRING = 0x02,
  RTMFP_AMF_TYPE_OBJECT = 0x03,
  RTMFP_AMF_TYPE_MOVIECLIP = 0x04,      /* reserved: refused by the parser */
  RTMFP_AMF_TYPE_NULL = 0x05,
  RTMFP_AMF_TYPE_UNDEFINED = 0x06,
  RTMFP_AMF_TYPE_REFERENCE = 0x07,
  RTMFP_AMF_TYPE_ECMA_ARRAY = 0x08,
  RTMFP_AMF_TYPE_OBJECT_END = 0x09,     /* terminator only, never a node */
  RTMFP_AMF_TYPE_STRICT_ARRAY = 0x0a,
  RTMFP_AMF_TYPE_DATE = 0x0b,
  RTMFP_AMF_TYPE_LONG_STRING = 0x0c,    /* wire form only, see below */
  RTMFP_AMF_TYPE_UNSUPPORTED = 0x0d,
  RTMFP_AMF_TYPE_RECORDSET = 0x0e,      /* reserved: refused by the parser */
  RTMFP_AMF_TYPE_XML_DOCUMENT = 0x0f,
  RTMFP_AMF_TYPE_TYPED_OBJECT = 0x10,
  RTMFP_AMF_TYPE_AVMPLUS_OBJECT = 0x11, /* switch to AMF3 (opaque blob) */
} RtmfpAmfType;

/* A parsed long string (0x0c) becomes an RTMFP_AMF_TYPE_STRING node; the
 * serialiser picks the long form by itself for strings > 65535 bytes
 * (RTMFP_AMF_MAX_SHORT_STRING), so nodes never have type LONG_STRING. */
#define RTMFP_AMF_MAX_SHORT_STRING 65535

/* Containers (object, ECMA array, strict array, typed object) nested
 * deeper than this are refused by rtmfp_amf_node_parse(). */
#define RTMFP_AMF_DEFAULT_MAX_DEPTH 32

typedef struct _RtmfpAmfNode RtmfpAmfNode;

const gchar *rtmfp_amf_type_get_nick (RtmfpAmfType type);

/* --- Constructors ------------------------------------------------------ */

/* size < 0 means NUL-terminated.  Strings are byte strings (meant to be
 * UTF-8, not validated); they may contain NULs when a size is given.
 * Every string getter returns a NUL-terminated buffer anyway. */
RtmfpAmfNode *rtmfp_amf_node_new_number (gdouble value);
RtmfpAmfNode *rtmfp_amf_node_new_boolean (gboolean value);
RtmfpAmfNode *rtmfp_amf_node_new_string (const gchar * value, gssize size);
/* Takes ownership of value (g_malloc'ed). */
RtmfpAmfNode *rtmfp_amf_node_new_take_string (gchar * value, gssize size);
RtmfpAmfNode *rtmfp_amf_node_new_null (void);
RtmfpAmfNode *rtmfp_amf_node_new_undefined (void);
RtmfpAmfNode *rtmfp_amf_node_new_unsupported (void);
RtmfpAmfNode *rtmfp_amf_node_new_object (void);
RtmfpAmfNode *rtmfp_amf_node_new_ecma_array (void);
RtmfpAmfNode *rtmfp_amf_node_new_strict_array (void);
RtmfpAmfNode *rtmfp_amf_node_new_typed_object (const gchar * class_name,
    gssize size);
/* ms since the epoch (UTC); tz in minutes (the spec reserves it, write 0) */
RtmfpAmfNode *rtmfp_amf_node_new_date (gdouble ms, gint16 tz);
RtmfpAmfNode *rtmfp_amf_node_new_reference (guint16 index);
RtmfpAmfNode *rtmfp_amf_node_new_xml_document (const gchar * value,
    gssize size);
/* The bytes that follow the 0x11 marker (AMF3 data, not decoded). */
RtmfpAmfNode *rtmfp_amf_node_new_avmplus (const guint8 * data, gsize size);

RtmfpAmfNode *rtmfp_amf_node_copy (const RtmfpAmfNode * node);
void      rtmfp_amf_node_free (gpointer node);

/* --- Getters ------------------------------------------------------------
 * The scalar getters must be called on a node of the right type
 * (g_return_val_if_fail otherwise); check rtmfp_amf_node_get_type() first
 * on values coming from the network.  The container lookups below are
 * lenient: on any other type they return NULL / 0, so hostile input can be
 * walked without type checks at every step. */
RtmfpAmfType rtmfp_amf_node_get_type (const RtmfpAmfNode * node);
gdouble   rtmfp_amf_node_get_number (const RtmfpAmfNode * node);
gboolean  rtmfp_amf_node_get_boolean (const RtmfpAmfNode * node);
/* STRING or XML_DOCUMENT.  peek: borrowed; copy: g_free() it.
 * size (optional) receives the length in bytes. */
const gchar *rtmfp_amf_node_peek_string (const RtmfpAmfNode * node,
    gsize * size);
gchar    *rtmfp_amf_node_copy_string (const RtmfpAmfNode * node,
    gsize * size);
/* DATE: returns ms, tz (optional) receives the time zone field. */
gdouble   rtmfp_amf_node_get_date (const RtmfpAmfNode * node, gint16 * tz);
guint16   rtmfp_amf_node_get_reference (const RtmfpAmfNode * node);
/* TYPED_OBJECT */
const gchar *rtmfp_amf_node_peek_class_name (const RtmfpAmfNode * node,
    gsize * size);
/* AVMPLUS_OBJECT: the raw AMF3 bytes after the marker (borrowed). */
const guint8 *rtmfp_amf_node_peek_avmplus (const RtmfpAmfNode * node,
    gsize * size);

/* OBJECT, ECMA_ARRAY, TYPED_OBJECT.  get_field returns the first field
 * with that name (NULL if none or not a field container). */
const RtmfpAmfNode *rtmfp_amf_node_get_field (const RtmfpAmfNode * node,
    const gchar * name);
const RtmfpAmfNode *rtmfp_amf_node_get_field_by_index (const RtmfpAmfNode *
    node, guint index, const gchar ** name);
guint     rtmfp_amf_node_get_num_fields (const RtmfpAmfNode * node);
/* Typed field lookups: FALSE if missing or of another type. */
gboolean  rtmfp_amf_node_get_field_number (const RtmfpAmfNode * node,
    const gchar * name, gdouble * value);
gboolean  rtmfp_amf_node_get_field_boolean (const RtmfpAmfNode * node,
    const gchar * name, gboolean * value);
const gchar *rtmfp_amf_node_peek_field_string (const RtmfpAmfNode * node,
    const gchar * name, gsize * size);

/* STRICT_ARRAY */
const RtmfpAmfNode *rtmfp_amf_node_get_element (const RtmfpAmfNode * node,
    guint index);
guint     rtmfp_amf_node_get_num_elements (const RtmfpAmfNode * node);

/* --- Building -----------------------------------------------------------
 * Fields go to OBJECT, ECMA_ARRAY or TYPED_OBJECT nodes, in order; names
 * are at most 65535 bytes (an empty name is allowed and round-trips).
 * append_field copies value, append_take_field takes ownership of it. */
void      rtmfp_amf_node_append_field (RtmfpAmfNode * node,
    const gchar * name, const RtmfpAmfNode * value);
void      rtmfp_amf_node_append_take_field (RtmfpAmfNode * node,
    const gchar * name, RtmfpAmfNode * value);
void      rtmfp_amf_node_append_field_number (RtmfpAmfNode * node,
    const gchar * name, gdouble value);
void      rtmfp_amf_node_append_field_boolean (RtmfpAmfNode * node,
    const gchar * name, gboolean value);
void      rtmfp_amf_node_append_field_string (RtmfpAmfNode * node,
    const gchar * name, const gchar * value, gssize size);
void      rtmfp_amf_node_append_field_take_string (RtmfpAmfNode * node,
    const gchar * name, gchar * value, gssize size);
/* STRICT_ARRAY */
void      rtmfp_amf_node_append_element (RtmfpAmfNode * node,
    const RtmfpAmfNode * value);
void      rtmfp_amf_node_append_take_element (RtmfpAmfNode * node,
    RtmfpAmfNode * value);

/* --- Parsing ------------------------------------------------------------
 * Parses one value at the start of data.  Returns NULL on any malformed,
 * truncated or too deeply nested input (never reads past size; counts
 * claimed by the input are checked against the remaining bytes before
 * anything is allocated).  *consumed (optional) gets the bytes used, set
 * only on success.
 *
 * ECMA arrays: the count is only a hint (encoders get it wrong); fields
 * are read up to the object-end marker.  Reference (0x07) nodes are kept
 * as indexes, not resolved.  AVMPLUS (0x11): AMF3 lengths cannot be known
 * without decoding AMF3, so the node takes ALL remaining bytes as an
 * opaque blob (at least one). */
RtmfpAmfNode *rtmfp_amf_node_parse (const guint8 * data, gsize size,
    gsize * consumed);
/* max_depth: container nesting allowed (0 = scalars only). */
RtmfpAmfNode *rtmfp_amf_node_parse_with_depth (const guint8 * data,
    gsize size, guint max_depth, gsize * consumed);

/* Parses values until size is used up.  Returns a GPtrArray of nodes
 * (free func set; possibly empty), or NULL if any value is malformed. */
GPtrArray *rtmfp_amf_parse_values (const guint8 * data, gsize size);

/* An AMF0 command (RTMP type 20 payload; for type 17/15 skip the leading
 * format byte first): command name (string), transaction id (number),
 * then the arguments, returned as a GPtrArray of nodes (possibly empty).
 * NULL if malformed or the first two values have the wrong types.
 * command_name (g_free) and transaction_id are optional, set on success. */
GPtrArray *rtmfp_amf_parse_command (const guint8 * data, gsize size,
    gchar ** command_name, gdouble * transaction_id);

/* --- Serialising --------------------------------------------------------
 * Appends the AMF0 encoding of node to out. */
void      rtmfp_amf_node_serialize (const RtmfpAmfNode * node,
    GByteArray * out);
/* Convenience: a new GBytes with the encoding. */
GBytes   *rtmfp_amf_node_serialize_to_bytes (const RtmfpAmfNode * node);

/* name, transaction id, then each argument (NULL-terminated list; with
 * no arguments use _with_args (name, txn, 0, NULL), which avoids the
 * compiler's missing-sentinel warning). */
GByteArray *rtmfp_amf_serialize_command (const gchar * command_name,
    gdouble transaction_id, const RtmfpAmfNode * argument, ...)
    G_GNUC_NULL_TERMINATED;
GByteArray *rtmfp_amf_serialize_command_valist (const gchar * command_name,
    gdouble transaction_id, const RtmfpAmfNode * argument, va_list args);
GByteArray *rtmfp_amf_serialize_command_with_args (const gchar *
    command_name, gdouble transaction_id, guint n_arguments,
    const RtmfpAmfNode * const *arguments);

/* --- Debugging / tests -------------------------------------------------- */

/* Human-readable dump appended to out.  indent < 0: one line; otherwise
 * multi-line, starting at that indentation level.  Strings longer than
 * 128 bytes are shortened, non-printable bytes escaped. */
void      rtmfp_amf_node_dump (const RtmfpAmfNode * node, gint indent,
    GString * out);

/* Deep structural equality: same types, same field names in the same
 * order, numbers and dates compared bit for bit, ECMA count hints
 * ignored.  NULL equals only NULL. */
gboolean  rtmfp_amf_node_equal (const RtmfpAmfNode * a,
    const RtmfpAmfNode * b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtmfpAmfNode, rtmfp_amf_node_free)

G_END_DECLS
