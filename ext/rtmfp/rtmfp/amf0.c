/* RTMFP core: AMF0 values (Action Message Format 0) for the Flash TC
 * profile (RFC 7425 section 5; AMF0 specification, Adobe 2007).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-amf0"

#include "amf0.h"

#include <string.h>

typedef struct {
  gchar *name;                  /* NUL-terminated copy */
  gsize name_len;
  RtmfpAmfNode *value;
} AmfField;

struct _RtmfpAmfNode {
  RtmfpAmfType type;
  union {
    gdouble number;
    gboolean boolean;
    guint16 reference;
    struct {
      gdouble ms;
      gint16 tz;
    } date;
    struct {
      gchar *data;              /* NUL-terminated */
      gsize len;
    } string;                   /* STRING, XML_DOCUMENT */
    struct {
      GArray *fields;           /* of AmfField */
      gchar *class_name;        /* TYPED_OBJECT only */
      gsize class_len;
    } object;                   /* OBJECT, ECMA_ARRAY, TYPED_OBJECT */
    GPtrArray *elements;        /* STRICT_ARRAY */
    GBytes *avmplus;
  } v;
};

static const gchar *const type_nicks[] = {
  "number", "boolean", "string", "object", "movieclip", "null", "undefined",
  "reference", "ecma-array", "object-end", "strict-array", "date",
  "long-string", "unsupported", "recordset", "xml-document", "typed-object",
  "avmplus-object",
};

const gchar *
rtmfp_amf_type_get_nick (RtmfpAmfType type)
{
  if (type < 0 || (guint) type >= G_N_ELEMENTS (type_nicks))
    return "invalid";
  return type_nicks[type];
}

/* ------------------------------------------------------------------------ */
/* Construction */

static RtmfpAmfNode *
node_new (RtmfpAmfType type)
{
  RtmfpAmfNode *node = g_new0 (RtmfpAmfNode, 1);
  node->type = type;
  return node;
}

static gboolean
is_field_container (RtmfpAmfType type)
{
  return type == RTMFP_AMF_TYPE_OBJECT || type == RTMFP_AMF_TYPE_ECMA_ARRAY ||
      type == RTMFP_AMF_TYPE_TYPED_OBJECT;
}

static gboolean
is_string_type (RtmfpAmfType type)
{
  return type == RTMFP_AMF_TYPE_STRING || type == RTMFP_AMF_TYPE_XML_DOCUMENT;
}

static void
field_clear (gpointer p)
{
  AmfField *f = p;
  g_free (f->name);
  rtmfp_amf_node_free (f->value);
}

static GArray *
fields_new (guint reserve)
{
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (AmfField), reserve);
  g_array_set_clear_func (a, field_clear);
  return a;
}

/* Copies size bytes into a new NUL-terminated buffer. */
static gchar *
dup_bytes (const gchar * data, gsize size)
{
  gchar *s = g_malloc (size + 1);
  if (size)
    memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

static gsize
resolve_size (const gchar * value, gssize size)
{
  if (!value)
    return 0;
  return size < 0 ? strlen (value) : (gsize) size;
}

RtmfpAmfNode *
rtmfp_amf_node_new_number (gdouble value)
{
  RtmfpAmfNode *node = node_new (RTMFP_AMF_TYPE_NUMBER);
  node->v.number = value;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_boolean (gboolean value)
{
  RtmfpAmfNode *node = node_new (RTMFP_AMF_TYPE_BOOLEAN);
  node->v.boolean = ! !value;
  return node;
}

static RtmfpAmfNode *
new_string_type (RtmfpAmfType type, const gchar * value, gssize size)
{
  RtmfpAmfNode *node = node_new (type);
  node->v.string.len = resolve_size (value, size);
  node->v.string.data = dup_bytes (value, node->v.string.len);
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_string (const gchar * value, gssize size)
{
  return new_string_type (RTMFP_AMF_TYPE_STRING, value, size);
}

RtmfpAmfNode *
rtmfp_amf_node_new_take_string (gchar * value, gssize size)
{
  RtmfpAmfNode *node;
  gsize len = resolve_size (value, size);

  if (!value)
    return rtmfp_amf_node_new_string (NULL, 0);

  /* Our getters promise NUL termination: a sized string may lack it, so
   * grow the (g_malloc'ed) buffer by one byte. */
  if (size >= 0) {
    value = g_realloc (value, len + 1);
    value[len] = '\0';
  }
  node = node_new (RTMFP_AMF_TYPE_STRING);
  node->v.string.data = value;
  node->v.string.len = len;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_null (void)
{
  return node_new (RTMFP_AMF_TYPE_NULL);
}

RtmfpAmfNode *
rtmfp_amf_node_new_undefined (void)
{
  return node_new (RTMFP_AMF_TYPE_UNDEFINED);
}

RtmfpAmfNode *
rtmfp_amf_node_new_unsupported (void)
{
  return node_new (RTMFP_AMF_TYPE_UNSUPPORTED);
}

static RtmfpAmfNode *
new_field_container (RtmfpAmfType type, guint reserve)
{
  RtmfpAmfNode *node = node_new (type);
  node->v.object.fields = fields_new (reserve);
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_object (void)
{
  return new_field_container (RTMFP_AMF_TYPE_OBJECT, 0);
}

RtmfpAmfNode *
rtmfp_amf_node_new_ecma_array (void)
{
  return new_field_container (RTMFP_AMF_TYPE_ECMA_ARRAY, 0);
}

static RtmfpAmfNode *
new_strict_array (guint reserve)
{
  RtmfpAmfNode *node = node_new (RTMFP_AMF_TYPE_STRICT_ARRAY);
  node->v.elements = g_ptr_array_new_full (reserve, rtmfp_amf_node_free);
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_strict_array (void)
{
  return new_strict_array (0);
}

RtmfpAmfNode *
rtmfp_amf_node_new_typed_object (const gchar * class_name, gssize size)
{
  RtmfpAmfNode *node;
  gsize len = resolve_size (class_name, size);

  g_return_val_if_fail (len <= RTMFP_AMF_MAX_SHORT_STRING, NULL);

  node = new_field_container (RTMFP_AMF_TYPE_TYPED_OBJECT, 0);
  node->v.object.class_len = len;
  node->v.object.class_name = dup_bytes (class_name, len);
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_date (gdouble ms, gint16 tz)
{
  RtmfpAmfNode *node = node_new (RTMFP_AMF_TYPE_DATE);
  node->v.date.ms = ms;
  node->v.date.tz = tz;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_reference (guint16 index)
{
  RtmfpAmfNode *node = node_new (RTMFP_AMF_TYPE_REFERENCE);
  node->v.reference = index;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_new_xml_document (const gchar * value, gssize size)
{
  return new_string_type (RTMFP_AMF_TYPE_XML_DOCUMENT, value, size);
}

RtmfpAmfNode *
rtmfp_amf_node_new_avmplus (const guint8 * data, gsize size)
{
  RtmfpAmfNode *node;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  node = node_new (RTMFP_AMF_TYPE_AVMPLUS_OBJECT);
  node->v.avmplus = g_bytes_new (data, size);
  return node;
}

void
rtmfp_amf_node_free (gpointer ptr)
{
  RtmfpAmfNode *node = ptr;

  if (!node)
    return;

  switch (node->type) {
    case RTMFP_AMF_TYPE_STRING:
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      g_free (node->v.string.data);
      break;
    case RTMFP_AMF_TYPE_OBJECT:
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
    case RTMFP_AMF_TYPE_TYPED_OBJECT:
      g_array_unref (node->v.object.fields);
      g_free (node->v.object.class_name);
      break;
    case RTMFP_AMF_TYPE_STRICT_ARRAY:
      g_ptr_array_unref (node->v.elements);
      break;
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      g_bytes_unref (node->v.avmplus);
      break;
    default:
      break;
  }
  g_free (node);
}

static void
append_field_internal (RtmfpAmfNode * node, const gchar * name,
    gsize name_len, RtmfpAmfNode * value)
{
  AmfField f;

  f.name = dup_bytes (name, name_len);
  f.name_len = name_len;
  f.value = value;
  g_array_append_val (node->v.object.fields, f);
}

RtmfpAmfNode *
rtmfp_amf_node_copy (const RtmfpAmfNode * node)
{
  RtmfpAmfNode *copy;
  guint i;

  g_return_val_if_fail (node != NULL, NULL);

  switch (node->type) {
    case RTMFP_AMF_TYPE_STRING:
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      return new_string_type (node->type, node->v.string.data,
          node->v.string.len);
    case RTMFP_AMF_TYPE_OBJECT:
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
    case RTMFP_AMF_TYPE_TYPED_OBJECT:
      copy = new_field_container (node->type, node->v.object.fields->len);
      if (node->v.object.class_name) {
        copy->v.object.class_len = node->v.object.class_len;
        copy->v.object.class_name = dup_bytes (node->v.object.class_name,
            node->v.object.class_len);
      }
      for (i = 0; i < node->v.object.fields->len; i++) {
        const AmfField *f = &g_array_index (node->v.object.fields, AmfField, i);
        append_field_internal (copy, f->name, f->name_len,
            rtmfp_amf_node_copy (f->value));
      }
      return copy;
    case RTMFP_AMF_TYPE_STRICT_ARRAY:
      copy = new_strict_array (node->v.elements->len);
      for (i = 0; i < node->v.elements->len; i++)
        g_ptr_array_add (copy->v.elements,
            rtmfp_amf_node_copy (g_ptr_array_index (node->v.elements, i)));
      return copy;
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      copy = node_new (node->type);
      copy->v.avmplus = g_bytes_ref (node->v.avmplus);
      return copy;
    default:
      copy = node_new (node->type);
      copy->v = node->v;
      return copy;
  }
}

/* ------------------------------------------------------------------------ */
/* Getters */

RtmfpAmfType
rtmfp_amf_node_get_type (const RtmfpAmfNode * node)
{
  g_return_val_if_fail (node != NULL, RTMFP_AMF_TYPE_INVALID);
  return node->type;
}

gdouble
rtmfp_amf_node_get_number (const RtmfpAmfNode * node)
{
  g_return_val_if_fail (node != NULL, 0.0);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_NUMBER, 0.0);
  return node->v.number;
}

gboolean
rtmfp_amf_node_get_boolean (const RtmfpAmfNode * node)
{
  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_BOOLEAN, FALSE);
  return node->v.boolean;
}

const gchar *
rtmfp_amf_node_peek_string (const RtmfpAmfNode * node, gsize * size)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (is_string_type (node->type), NULL);
  if (size)
    *size = node->v.string.len;
  return node->v.string.data;
}

gchar *
rtmfp_amf_node_copy_string (const RtmfpAmfNode * node, gsize * size)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (is_string_type (node->type), NULL);
  if (size)
    *size = node->v.string.len;
  return dup_bytes (node->v.string.data, node->v.string.len);
}

gdouble
rtmfp_amf_node_get_date (const RtmfpAmfNode * node, gint16 * tz)
{
  g_return_val_if_fail (node != NULL, 0.0);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_DATE, 0.0);
  if (tz)
    *tz = node->v.date.tz;
  return node->v.date.ms;
}

guint16
rtmfp_amf_node_get_reference (const RtmfpAmfNode * node)
{
  g_return_val_if_fail (node != NULL, 0);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_REFERENCE, 0);
  return node->v.reference;
}

const gchar *
rtmfp_amf_node_peek_class_name (const RtmfpAmfNode * node, gsize * size)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_TYPED_OBJECT, NULL);
  if (size)
    *size = node->v.object.class_len;
  return node->v.object.class_name;
}

const guint8 *
rtmfp_amf_node_peek_avmplus (const RtmfpAmfNode * node, gsize * size)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (node->type == RTMFP_AMF_TYPE_AVMPLUS_OBJECT, NULL);
  return g_bytes_get_data (node->v.avmplus, size);
}

const RtmfpAmfNode *
rtmfp_amf_node_get_field (const RtmfpAmfNode * node, const gchar * name)
{
  gsize len;
  guint i;

  g_return_val_if_fail (name != NULL, NULL);
  if (!node || !is_field_container (node->type))
    return NULL;

  len = strlen (name);
  for (i = 0; i < node->v.object.fields->len; i++) {
    const AmfField *f = &g_array_index (node->v.object.fields, AmfField, i);
    if (f->name_len == len && memcmp (f->name, name, len) == 0)
      return f->value;
  }
  return NULL;
}

const RtmfpAmfNode *
rtmfp_amf_node_get_field_by_index (const RtmfpAmfNode * node, guint index,
    const gchar ** name)
{
  const AmfField *f;

  if (!node || !is_field_container (node->type) ||
      index >= node->v.object.fields->len)
    return NULL;

  f = &g_array_index (node->v.object.fields, AmfField, index);
  if (name)
    *name = f->name;
  return f->value;
}

guint
rtmfp_amf_node_get_num_fields (const RtmfpAmfNode * node)
{
  if (!node || !is_field_container (node->type))
    return 0;
  return node->v.object.fields->len;
}

gboolean
rtmfp_amf_node_get_field_number (const RtmfpAmfNode * node,
    const gchar * name, gdouble * value)
{
  const RtmfpAmfNode *f = rtmfp_amf_node_get_field (node, name);

  if (!f || f->type != RTMFP_AMF_TYPE_NUMBER)
    return FALSE;
  if (value)
    *value = f->v.number;
  return TRUE;
}

gboolean
rtmfp_amf_node_get_field_boolean (const RtmfpAmfNode * node,
    const gchar * name, gboolean * value)
{
  const RtmfpAmfNode *f = rtmfp_amf_node_get_field (node, name);

  if (!f || f->type != RTMFP_AMF_TYPE_BOOLEAN)
    return FALSE;
  if (value)
    *value = f->v.boolean;
  return TRUE;
}

const gchar *
rtmfp_amf_node_peek_field_string (const RtmfpAmfNode * node,
    const gchar * name, gsize * size)
{
  const RtmfpAmfNode *f = rtmfp_amf_node_get_field (node, name);

  if (!f || f->type != RTMFP_AMF_TYPE_STRING)
    return NULL;
  if (size)
    *size = f->v.string.len;
  return f->v.string.data;
}

const RtmfpAmfNode *
rtmfp_amf_node_get_element (const RtmfpAmfNode * node, guint index)
{
  if (!node || node->type != RTMFP_AMF_TYPE_STRICT_ARRAY ||
      index >= node->v.elements->len)
    return NULL;
  return g_ptr_array_index (node->v.elements, index);
}

guint
rtmfp_amf_node_get_num_elements (const RtmfpAmfNode * node)
{
  if (!node || node->type != RTMFP_AMF_TYPE_STRICT_ARRAY)
    return 0;
  return node->v.elements->len;
}

/* ------------------------------------------------------------------------ */
/* Building */

void
rtmfp_amf_node_append_take_field (RtmfpAmfNode * node, const gchar * name,
    RtmfpAmfNode * value)
{
  gsize len;

  g_return_if_fail (node != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (value != NULL);

  len = strlen (name);
  if (!is_field_container (node->type) || len > RTMFP_AMF_MAX_SHORT_STRING) {
    g_critical ("%s: cannot append field '%.32s' to a %s", G_STRFUNC, name,
        rtmfp_amf_type_get_nick (node->type));
    rtmfp_amf_node_free (value);
    return;
  }
  append_field_internal (node, name, len, value);
}

void
rtmfp_amf_node_append_field (RtmfpAmfNode * node, const gchar * name,
    const RtmfpAmfNode * value)
{
  g_return_if_fail (value != NULL);
  rtmfp_amf_node_append_take_field (node, name, rtmfp_amf_node_copy (value));
}

void
rtmfp_amf_node_append_field_number (RtmfpAmfNode * node, const gchar * name,
    gdouble value)
{
  rtmfp_amf_node_append_take_field (node, name,
      rtmfp_amf_node_new_number (value));
}

void
rtmfp_amf_node_append_field_boolean (RtmfpAmfNode * node, const gchar * name,
    gboolean value)
{
  rtmfp_amf_node_append_take_field (node, name,
      rtmfp_amf_node_new_boolean (value));
}

void
rtmfp_amf_node_append_field_string (RtmfpAmfNode * node, const gchar * name,
    const gchar * value, gssize size)
{
  rtmfp_amf_node_append_take_field (node, name,
      rtmfp_amf_node_new_string (value, size));
}

void
rtmfp_amf_node_append_field_take_string (RtmfpAmfNode * node,
    const gchar * name, gchar * value, gssize size)
{
  rtmfp_amf_node_append_take_field (node, name,
      rtmfp_amf_node_new_take_string (value, size));
}

void
rtmfp_amf_node_append_take_element (RtmfpAmfNode * node, RtmfpAmfNode * value)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (value != NULL);

  if (node->type != RTMFP_AMF_TYPE_STRICT_ARRAY) {
    g_critical ("%s: not a strict array but a %s", G_STRFUNC,
        rtmfp_amf_type_get_nick (node->type));
    rtmfp_amf_node_free (value);
    return;
  }
  g_ptr_array_add (node->v.elements, value);
}

void
rtmfp_amf_node_append_element (RtmfpAmfNode * node, const RtmfpAmfNode * value)
{
  g_return_if_fail (value != NULL);
  rtmfp_amf_node_append_take_element (node, rtmfp_amf_node_copy (value));
}

/* ------------------------------------------------------------------------ */
/* Parsing.  A bounds-checked cursor; every read fails without moving when
 * the data is short. */

typedef struct {
  const guint8 *data;
  gsize size;
  gsize pos;
  guint max_depth;
} AmfParser;

static inline gsize
parser_left (const AmfParser * p)
{
  return p->size - p->pos;
}

static gboolean
read_u8 (AmfParser * p, guint8 * v)
{
  if (parser_left (p) < 1)
    return FALSE;
  *v = p->data[p->pos++];
  return TRUE;
}

static gboolean
read_u16 (AmfParser * p, guint16 * v)
{
  if (parser_left (p) < 2)
    return FALSE;
  *v = ((guint16) p->data[p->pos] << 8) | p->data[p->pos + 1];
  p->pos += 2;
  return TRUE;
}

static gboolean
read_u32 (AmfParser * p, guint32 * v)
{
  if (parser_left (p) < 4)
    return FALSE;
  *v = ((guint32) p->data[p->pos] << 24) | ((guint32) p->data[p->pos + 1] << 16)
      | ((guint32) p->data[p->pos + 2] << 8) | p->data[p->pos + 3];
  p->pos += 4;
  return TRUE;
}

static gboolean
read_double (AmfParser * p, gdouble * v)
{
  guint64 bits = 0;
  guint i;

  if (parser_left (p) < 8)
    return FALSE;
  for (i = 0; i < 8; i++)
    bits = (bits << 8) | p->data[p->pos + i];
  p->pos += 8;
  memcpy (v, &bits, sizeof bits);
  return TRUE;
}

/* Reads len bytes; the length was claimed by the input, so it is checked
 * against what is left before anything is allocated. */
static gboolean
read_bytes (AmfParser * p, gsize len, const gchar ** out)
{
  if (parser_left (p) < len)
    return FALSE;
  *out = (const gchar *) p->data + p->pos;
  p->pos += len;
  return TRUE;
}

static RtmfpAmfNode *parse_value (AmfParser * p, guint depth);

/* Object properties up to the empty name + object-end marker
 * (AMF0 spec 2.5: object-property = (UTF-8 value-type) |
 * (UTF-8-empty object-end-marker)). */
static gboolean
parse_properties (AmfParser * p, RtmfpAmfNode * node, guint depth)
{
  for (;;) {
    guint16 name_len;
    const gchar *name;
    RtmfpAmfNode *value;

    if (!read_u16 (p, &name_len))
      return FALSE;
    /* UTF-8-empty followed by object-end closes the object.  Anything
     * else after an empty name is taken as a property named "" (what
     * encoders emit for such a key; it cannot be confused with the end
     * since 0x09 is not a value marker). */
    if (name_len == 0 && parser_left (p) >= 1 &&
        p->data[p->pos] == RTMFP_AMF_TYPE_OBJECT_END) {
      p->pos++;
      return TRUE;
    }
    if (!read_bytes (p, name_len, &name))
      return FALSE;
    value = parse_value (p, depth);
    if (!value)
      return FALSE;
    append_field_internal (node, name, name_len, value);
  }
}

static RtmfpAmfNode *
parse_string_value (AmfParser * p, RtmfpAmfType type, gboolean long_len)
{
  const gchar *data;
  gsize len;

  if (long_len) {
    guint32 l;
    if (!read_u32 (p, &l))
      return NULL;
    len = l;
  } else {
    guint16 l;
    if (!read_u16 (p, &l))
      return NULL;
    len = l;
  }
  if (!read_bytes (p, len, &data))
    return NULL;
  return new_string_type (type, data, len);
}

/* depth: number of containers around this value. */
static RtmfpAmfNode *
parse_value (AmfParser * p, guint depth)
{
  RtmfpAmfNode *node = NULL;
  guint8 marker;
  gsize start = p->pos;

  if (!read_u8 (p, &marker))
    return NULL;

  switch (marker) {
    case RTMFP_AMF_TYPE_NUMBER:{
      gdouble d;
      if (read_double (p, &d))
        node = rtmfp_amf_node_new_number (d);
      break;
    }
    case RTMFP_AMF_TYPE_BOOLEAN:{
      guint8 b;
      if (read_u8 (p, &b))
        node = rtmfp_amf_node_new_boolean (b != 0);
      break;
    }
    case RTMFP_AMF_TYPE_STRING:
      node = parse_string_value (p, RTMFP_AMF_TYPE_STRING, FALSE);
      break;
    case RTMFP_AMF_TYPE_LONG_STRING:
      node = parse_string_value (p, RTMFP_AMF_TYPE_STRING, TRUE);
      break;
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      node = parse_string_value (p, RTMFP_AMF_TYPE_XML_DOCUMENT, TRUE);
      break;
    case RTMFP_AMF_TYPE_NULL:
    case RTMFP_AMF_TYPE_UNDEFINED:
    case RTMFP_AMF_TYPE_UNSUPPORTED:
      node = node_new (marker);
      break;
    case RTMFP_AMF_TYPE_REFERENCE:{
      guint16 idx;
      if (read_u16 (p, &idx))
        node = rtmfp_amf_node_new_reference (idx);
      break;
    }
    case RTMFP_AMF_TYPE_DATE:{
      gdouble ms;
      guint16 tz;
      if (read_double (p, &ms) && read_u16 (p, &tz))
        node = rtmfp_amf_node_new_date (ms, (gint16) tz);
      break;
    }
    case RTMFP_AMF_TYPE_OBJECT:
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
    case RTMFP_AMF_TYPE_TYPED_OBJECT:{
      guint32 hint = 0;
      guint16 class_len = 0;
      const gchar *class_name = NULL;

      if (depth >= p->max_depth) {
        g_debug ("AMF0 nesting deeper than %u", p->max_depth);
        break;
      }
      if (marker == RTMFP_AMF_TYPE_ECMA_ARRAY && !read_u32 (p, &hint))
        break;
      if (marker == RTMFP_AMF_TYPE_TYPED_OBJECT &&
          !(read_u16 (p, &class_len) &&
              read_bytes (p, class_len, &class_name)))
        break;
      /* The ECMA count is only a hint (AMF0 spec 2.10; encoders are known
       * to write 0 or wrong counts): read until object-end.  Each field
       * takes at least 3 bytes, so cap the reservation by that. */
      node = new_field_container (marker, MIN (hint, parser_left (p) / 3));
      if (class_name) {
        node->v.object.class_len = class_len;
        node->v.object.class_name = dup_bytes (class_name, class_len);
      }
      if (!parse_properties (p, node, depth + 1))
        g_clear_pointer (&node, rtmfp_amf_node_free);
      break;
    }
    case RTMFP_AMF_TYPE_STRICT_ARRAY:{
      guint32 count, i;

      if (depth >= p->max_depth) {
        g_debug ("AMF0 nesting deeper than %u", p->max_depth);
        break;
      }
      if (!read_u32 (p, &count))
        break;
      /* each element is at least one byte: refuse impossible counts
       * before allocating anything */
      if (count > parser_left (p)) {
        g_debug ("strict array claims %u elements, %" G_GSIZE_FORMAT
            " bytes left", count, parser_left (p));
        break;
      }
      node = new_strict_array (count);
      for (i = 0; i < count; i++) {
        RtmfpAmfNode *e = parse_value (p, depth + 1);
        if (!e) {
          g_clear_pointer (&node, rtmfp_amf_node_free);
          break;
        }
        g_ptr_array_add (node->v.elements, e);
      }
      break;
    }
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      /* RFC 7425 5.3.3 / AMF0 spec 3.1: switch to AMF3 for this value.  We
       * don't decode AMF3, so we can't know where it ends: keep the rest
       * as an opaque blob. */
      if (parser_left (p) == 0)
        break;
      node = rtmfp_amf_node_new_avmplus (p->data + p->pos, parser_left (p));
      p->pos = p->size;
      break;
    default:
      /* movieclip, recordset (reserved), object-end out of place, unknown */
      g_debug ("unexpected AMF0 marker 0x%02x", marker);
      break;
  }

  if (!node)
    p->pos = start;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_parse_with_depth (const guint8 * data, gsize size,
    guint max_depth, gsize * consumed)
{
  AmfParser p = { data, size, 0, max_depth };
  RtmfpAmfNode *node;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  node = parse_value (&p, 0);
  if (node && consumed)
    *consumed = p.pos;
  return node;
}

RtmfpAmfNode *
rtmfp_amf_node_parse (const guint8 * data, gsize size, gsize * consumed)
{
  return rtmfp_amf_node_parse_with_depth (data, size,
      RTMFP_AMF_DEFAULT_MAX_DEPTH, consumed);
}

GPtrArray *
rtmfp_amf_parse_values (const guint8 * data, gsize size)
{
  GPtrArray *values;
  gsize pos = 0;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  values = g_ptr_array_new_with_free_func (rtmfp_amf_node_free);
  while (pos < size) {
    gsize used;
    RtmfpAmfNode *node = rtmfp_amf_node_parse (data + pos, size - pos, &used);

    if (!node) {
      g_debug ("malformed AMF0 value at offset %" G_GSIZE_FORMAT, pos);
      g_ptr_array_unref (values);
      return NULL;
    }
    g_ptr_array_add (values, node);
    pos += used;
  }
  return values;
}

GPtrArray *
rtmfp_amf_parse_command (const guint8 * data, gsize size,
    gchar ** command_name, gdouble * transaction_id)
{
  GPtrArray *values;
  RtmfpAmfNode *name, *txn;

  values = rtmfp_amf_parse_values (data, size);
  if (!values)
    return NULL;

  if (values->len < 2) {
    g_debug ("command has %u values, need name and transaction id",
        values->len);
    goto bad;
  }
  name = g_ptr_array_index (values, 0);
  txn = g_ptr_array_index (values, 1);
  if (name->type != RTMFP_AMF_TYPE_STRING ||
      txn->type != RTMFP_AMF_TYPE_NUMBER) {
    g_debug ("command starts with %s, %s instead of string, number",
        rtmfp_amf_type_get_nick (name->type),
        rtmfp_amf_type_get_nick (txn->type));
    goto bad;
  }

  if (command_name)
    *command_name = dup_bytes (name->v.string.data, name->v.string.len);
  if (transaction_id)
    *transaction_id = txn->v.number;
  g_ptr_array_remove_range (values, 0, 2);
  return values;

bad:
  g_ptr_array_unref (values);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Serialising */

static void
put_u8 (GByteArray * out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u16 (GByteArray * out, guint16 v)
{
  guint8 b[2] = { v >> 8, v & 0xff };
  g_byte_array_append (out, b, 2);
}

static void
put_u32 (GByteArray * out, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (out, b, 4);
}

static void
put_double (GByteArray * out, gdouble d)
{
  guint64 bits;
  guint8 b[8];
  gint i;

  memcpy (&bits, &d, sizeof bits);
  for (i = 7; i >= 0; i--) {
    b[i] = bits & 0xff;
    bits >>= 8;
  }
  g_byte_array_append (out, b, 8);
}

/* UTF-8 / UTF-8-long body: the caller has checked the length fits. */
static void
put_utf8 (GByteArray * out, const gchar * data, gsize len)
{
  put_u16 (out, len);
  g_byte_array_append (out, (const guint8 *) data, len);
}

static void
put_utf8_long (GByteArray * out, const gchar * data, gsize len)
{
  put_u32 (out, len);
  g_byte_array_append (out, (const guint8 *) data, len);
}

static void
serialize_properties (const RtmfpAmfNode * node, GByteArray * out)
{
  guint i;

  for (i = 0; i < node->v.object.fields->len; i++) {
    const AmfField *f = &g_array_index (node->v.object.fields, AmfField, i);
    put_utf8 (out, f->name, f->name_len);
    rtmfp_amf_node_serialize (f->value, out);
  }
  put_u16 (out, 0);
  put_u8 (out, RTMFP_AMF_TYPE_OBJECT_END);
}

void
rtmfp_amf_node_serialize (const RtmfpAmfNode * node, GByteArray * out)
{
  guint i;

  g_return_if_fail (node != NULL);
  g_return_if_fail (out != NULL);

  switch (node->type) {
    case RTMFP_AMF_TYPE_NUMBER:
      put_u8 (out, node->type);
      put_double (out, node->v.number);
      break;
    case RTMFP_AMF_TYPE_BOOLEAN:
      put_u8 (out, node->type);
      put_u8 (out, node->v.boolean ? 1 : 0);
      break;
    case RTMFP_AMF_TYPE_STRING:
      if (node->v.string.len > G_MAXUINT32) {
        g_critical ("AMF0 string of %" G_GSIZE_FORMAT " bytes is too long",
            node->v.string.len);
        put_u8 (out, RTMFP_AMF_TYPE_UNDEFINED);
      } else if (node->v.string.len > RTMFP_AMF_MAX_SHORT_STRING) {
        put_u8 (out, RTMFP_AMF_TYPE_LONG_STRING);
        put_utf8_long (out, node->v.string.data, node->v.string.len);
      } else {
        put_u8 (out, RTMFP_AMF_TYPE_STRING);
        put_utf8 (out, node->v.string.data, node->v.string.len);
      }
      break;
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      if (node->v.string.len > G_MAXUINT32) {
        g_critical ("AMF0 XML document too long");
        put_u8 (out, RTMFP_AMF_TYPE_UNDEFINED);
        break;
      }
      put_u8 (out, node->type);
      put_utf8_long (out, node->v.string.data, node->v.string.len);
      break;
    case RTMFP_AMF_TYPE_NULL:
    case RTMFP_AMF_TYPE_UNDEFINED:
    case RTMFP_AMF_TYPE_UNSUPPORTED:
      put_u8 (out, node->type);
      break;
    case RTMFP_AMF_TYPE_REFERENCE:
      put_u8 (out, node->type);
      put_u16 (out, node->v.reference);
      break;
    case RTMFP_AMF_TYPE_DATE:
      put_u8 (out, node->type);
      put_double (out, node->v.date.ms);
      put_u16 (out, (guint16) node->v.date.tz);
      break;
    case RTMFP_AMF_TYPE_OBJECT:
      put_u8 (out, node->type);
      serialize_properties (node, out);
      break;
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
      put_u8 (out, node->type);
      put_u32 (out, node->v.object.fields->len);
      serialize_properties (node, out);
      break;
    case RTMFP_AMF_TYPE_TYPED_OBJECT:
      put_u8 (out, node->type);
      put_utf8 (out, node->v.object.class_name, node->v.object.class_len);
      serialize_properties (node, out);
      break;
    case RTMFP_AMF_TYPE_STRICT_ARRAY:
      put_u8 (out, node->type);
      put_u32 (out, node->v.elements->len);
      for (i = 0; i < node->v.elements->len; i++)
        rtmfp_amf_node_serialize (g_ptr_array_index (node->v.elements, i),
            out);
      break;
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:{
      gsize len;
      const guint8 *data = g_bytes_get_data (node->v.avmplus, &len);
      put_u8 (out, node->type);
      if (len)
        g_byte_array_append (out, data, len);
      break;
    }
    default:
      g_assert_not_reached ();
  }
}

GBytes *
rtmfp_amf_node_serialize_to_bytes (const RtmfpAmfNode * node)
{
  GByteArray *out;

  g_return_val_if_fail (node != NULL, NULL);

  out = g_byte_array_new ();
  rtmfp_amf_node_serialize (node, out);
  return g_byte_array_free_to_bytes (out);
}

static GByteArray *
command_start (const gchar * command_name, gdouble transaction_id)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpAmfNode tmp;

  tmp.type = RTMFP_AMF_TYPE_STRING;
  tmp.v.string.data = (gchar *) command_name;
  tmp.v.string.len = strlen (command_name);
  rtmfp_amf_node_serialize (&tmp, out);

  put_u8 (out, RTMFP_AMF_TYPE_NUMBER);
  put_double (out, transaction_id);
  return out;
}

GByteArray *
rtmfp_amf_serialize_command_valist (const gchar * command_name,
    gdouble transaction_id, const RtmfpAmfNode * argument, va_list args)
{
  GByteArray *out;

  g_return_val_if_fail (command_name != NULL, NULL);

  out = command_start (command_name, transaction_id);
  while (argument) {
    rtmfp_amf_node_serialize (argument, out);
    argument = va_arg (args, const RtmfpAmfNode *);
  }
  return out;
}

GByteArray *
rtmfp_amf_serialize_command (const gchar * command_name,
    gdouble transaction_id, const RtmfpAmfNode * argument, ...)
{
  GByteArray *out;
  va_list args;

  va_start (args, argument);
  out = rtmfp_amf_serialize_command_valist (command_name, transaction_id,
      argument, args);
  va_end (args);
  return out;
}

GByteArray *
rtmfp_amf_serialize_command_with_args (const gchar * command_name,
    gdouble transaction_id, guint n_arguments,
    const RtmfpAmfNode * const *arguments)
{
  GByteArray *out;
  guint i;

  g_return_val_if_fail (command_name != NULL, NULL);
  g_return_val_if_fail (arguments != NULL || n_arguments == 0, NULL);

  out = command_start (command_name, transaction_id);
  for (i = 0; i < n_arguments; i++)
    rtmfp_amf_node_serialize (arguments[i], out);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Dump and equality */

#define DUMP_MAX_STRING 128

static void
dump_bytes (GString * out, const gchar * data, gsize len)
{
  gsize i, n = MIN (len, DUMP_MAX_STRING);

  g_string_append_c (out, '"');
  for (i = 0; i < n; i++) {
    guchar c = data[i];
    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c >= 0x20 && c < 0x7f)
      g_string_append_c (out, c);
    else
      g_string_append_printf (out, "\\x%02x", c);
  }
  g_string_append_c (out, '"');
  if (n < len)
    g_string_append_printf (out, "...(%" G_GSIZE_FORMAT " bytes)", len);
}

static void
dump_newline (GString * out, gint indent)
{
  if (indent < 0) {
    g_string_append_c (out, ' ');
    return;
  }
  g_string_append_c (out, '\n');
  g_string_append_printf (out, "%*s", indent * 2, "");
}

static void
dump_double (GString * out, gdouble d)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_dtostr (buf, sizeof buf, d));
}

void
rtmfp_amf_node_dump (const RtmfpAmfNode * node, gint indent, GString * out)
{
  gint inner = indent < 0 ? indent : indent + 1;
  guint i;

  g_return_if_fail (out != NULL);

  if (!node) {
    g_string_append (out, "(none)");
    return;
  }

  switch (node->type) {
    case RTMFP_AMF_TYPE_NUMBER:
      dump_double (out, node->v.number);
      break;
    case RTMFP_AMF_TYPE_BOOLEAN:
      g_string_append (out, node->v.boolean ? "True" : "False");
      break;
    case RTMFP_AMF_TYPE_STRING:
      dump_bytes (out, node->v.string.data, node->v.string.len);
      break;
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      g_string_append (out, "XML ");
      dump_bytes (out, node->v.string.data, node->v.string.len);
      break;
    case RTMFP_AMF_TYPE_NULL:
      g_string_append (out, "null");
      break;
    case RTMFP_AMF_TYPE_UNDEFINED:
      g_string_append (out, "undefined");
      break;
    case RTMFP_AMF_TYPE_UNSUPPORTED:
      g_string_append (out, "unsupported");
      break;
    case RTMFP_AMF_TYPE_REFERENCE:
      g_string_append_printf (out, "reference(%u)", node->v.reference);
      break;
    case RTMFP_AMF_TYPE_DATE:
      g_string_append (out, "Date(");
      dump_double (out, node->v.date.ms);
      g_string_append_printf (out, ", tz %d)", node->v.date.tz);
      break;
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      g_string_append_printf (out, "AMF3(%" G_GSIZE_FORMAT " bytes)",
          g_bytes_get_size (node->v.avmplus));
      break;
    case RTMFP_AMF_TYPE_OBJECT:
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
    case RTMFP_AMF_TYPE_TYPED_OBJECT:{
      GArray *fields = node->v.object.fields;

      if (node->type == RTMFP_AMF_TYPE_ECMA_ARRAY)
        g_string_append (out, "ECMA");
      else if (node->type == RTMFP_AMF_TYPE_TYPED_OBJECT)
        dump_bytes (out, node->v.object.class_name, node->v.object.class_len);
      g_string_append_c (out, '{');
      for (i = 0; i < fields->len; i++) {
        const AmfField *f = &g_array_index (fields, AmfField, i);
        dump_newline (out, inner);
        dump_bytes (out, f->name, f->name_len);
        g_string_append (out, ": ");
        rtmfp_amf_node_dump (f->value, inner, out);
        if (i + 1 < fields->len)
          g_string_append_c (out, ',');
      }
      if (fields->len)
        dump_newline (out, indent);
      g_string_append_c (out, '}');
      break;
    }
    case RTMFP_AMF_TYPE_STRICT_ARRAY:
      g_string_append_c (out, '[');
      for (i = 0; i < node->v.elements->len; i++) {
        dump_newline (out, inner);
        rtmfp_amf_node_dump (g_ptr_array_index (node->v.elements, i), inner,
            out);
        if (i + 1 < node->v.elements->len)
          g_string_append_c (out, ',');
      }
      if (node->v.elements->len)
        dump_newline (out, indent);
      g_string_append_c (out, ']');
      break;
    default:
      g_string_append_printf (out, "<%s>",
          rtmfp_amf_type_get_nick (node->type));
      break;
  }
}

static gboolean
double_identical (gdouble a, gdouble b)
{
  return memcmp (&a, &b, sizeof a) == 0;
}

static gboolean
bytes_equal (const gchar * a, gsize alen, const gchar * b, gsize blen)
{
  return alen == blen && (alen == 0 || memcmp (a, b, alen) == 0);
}

gboolean
rtmfp_amf_node_equal (const RtmfpAmfNode * a, const RtmfpAmfNode * b)
{
  guint i;

  if (a == b)
    return TRUE;
  if (!a || !b || a->type != b->type)
    return FALSE;

  switch (a->type) {
    case RTMFP_AMF_TYPE_NUMBER:
      return double_identical (a->v.number, b->v.number);
    case RTMFP_AMF_TYPE_BOOLEAN:
      return a->v.boolean == b->v.boolean;
    case RTMFP_AMF_TYPE_STRING:
    case RTMFP_AMF_TYPE_XML_DOCUMENT:
      return bytes_equal (a->v.string.data, a->v.string.len,
          b->v.string.data, b->v.string.len);
    case RTMFP_AMF_TYPE_REFERENCE:
      return a->v.reference == b->v.reference;
    case RTMFP_AMF_TYPE_DATE:
      return double_identical (a->v.date.ms, b->v.date.ms) &&
          a->v.date.tz == b->v.date.tz;
    case RTMFP_AMF_TYPE_AVMPLUS_OBJECT:
      return g_bytes_equal (a->v.avmplus, b->v.avmplus);
    case RTMFP_AMF_TYPE_OBJECT:
    case RTMFP_AMF_TYPE_ECMA_ARRAY:
    case RTMFP_AMF_TYPE_TYPED_OBJECT:
      if (a->type == RTMFP_AMF_TYPE_TYPED_OBJECT &&
          !bytes_equal (a->v.object.class_name, a->v.object.class_len,
              b->v.object.class_name, b->v.object.class_len))
        return FALSE;
      if (a->v.object.fields->len != b->v.object.fields->len)
        return FALSE;
      for (i = 0; i < a->v.object.fields->len; i++) {
        const AmfField *fa = &g_array_index (a->v.object.fields, AmfField, i);
        const AmfField *fb = &g_array_index (b->v.object.fields, AmfField, i);
        if (!bytes_equal (fa->name, fa->name_len, fb->name, fb->name_len) ||
            !rtmfp_amf_node_equal (fa->value, fb->value))
          return FALSE;
      }
      return TRUE;
    case RTMFP_AMF_TYPE_STRICT_ARRAY:
      if (a->v.elements->len != b->v.elements->len)
        return FALSE;
      for (i = 0; i < a->v.elements->len; i++)
        if (!rtmfp_amf_node_equal (g_ptr_array_index (a->v.elements, i),
                g_ptr_array_index (b->v.elements, i)))
          return FALSE;
      return TRUE;
    default:
      return TRUE;              /* null, undefined, unsupported */
  }
}
