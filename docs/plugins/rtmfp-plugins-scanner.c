/* rtmfp-plugins-scanner: the GStreamer plugin documentation cache of
 * gst-rtmfp, in the format GStreamer's modules keep in
 * docs/plugins/gst_plugins_cache.json (what their hotdoc "gst" extension
 * reads): per plugin its description, filename, license, source, package
 * and url, and per element its rank, metadata, type hierarchy,
 * interfaces, own properties (flags, type, default, range), signals and
 * pad templates (documentation caps, direction, presence); enums and
 * flags marked as plugin API go to "other-types".
 *
 *   rtmfp-plugins-scanner OUTPUT.json PLUGIN.so...
 *
 * Writes compact JSON; docs/plugins/plugins-cache.py formats it (sorted
 * keys, 4-space indent) and compares it with, or writes it to, the cache
 * file.  Written for this project from the cache's format, Debian has no
 * gst-hotdoc-plugins-scanner.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <gst/gst.h>

/* ---- JSON output ---- */

/* A JSON string, with the cache's convention that '%' is doubled (hotdoc
 * formats these strings); NULL is the string "NULL" */
static void
put_str (GString * out, const gchar * s)
{
  const guchar *p;

  if (!s)
    s = "NULL";
  g_string_append_c (out, '"');
  for (p = (const guchar *) s; *p; p++) {
    switch (*p) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '%':
        g_string_append (out, "%%");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      default:
        if (*p < 0x20 || *p == 0x7f)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, *p);
        break;
    }
  }
  g_string_append_c (out, '"');
}

static void
put_key (GString * out, gboolean * first, const gchar * key)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  put_str (out, key);
  g_string_append_c (out, ':');
}

static void
put_kv (GString * out, gboolean * first, const gchar * key,
    const gchar * value)
{
  put_key (out, first, key);
  put_str (out, value);
}

static void
put_kb (GString * out, gboolean * first, const gchar * key, gboolean value)
{
  put_key (out, first, key);
  g_string_append (out, value ? "true" : "false");
}

/* ---- types documented once per plugin ("other-types") ---- */

typedef struct {
  GString *json;                /* "Name": {...},... */
  GHashTable *seen;             /* type names */
} OtherTypes;

static void
other_enum (OtherTypes * ot, GType t, GstPluginAPIFlags api_flags)
{
  GEnumClass *klass = g_type_class_ref (t);
  gboolean first = ot->json->len == 0, f = TRUE;
  guint i;

  put_key (ot->json, &first, g_type_name (t));
  g_string_append (ot->json, "{\"kind\":\"enum\"");
  if (api_flags & GST_PLUGIN_API_FLAG_IGNORE_ENUM_MEMBERS) {
    g_string_append (ot->json, ",\"ignore-enum-members\":true}");
    g_type_class_unref (klass);
    return;
  }
  g_string_append (ot->json, ",\"values\":[");
  for (i = 0; i < klass->n_values; i++) {
    gchar *v = g_strdup_printf ("%d", klass->values[i].value);

    g_string_append (ot->json, i ? ",{" : "{");
    f = TRUE;
    put_kv (ot->json, &f, "name", klass->values[i].value_nick);
    put_kv (ot->json, &f, "value", v);
    put_kv (ot->json, &f, "desc", klass->values[i].value_name);
    g_string_append_c (ot->json, '}');
    g_free (v);
  }
  g_string_append (ot->json, "]}");
  g_type_class_unref (klass);
}

static void
other_flags (OtherTypes * ot, GType t)
{
  GFlagsClass *klass = g_type_class_ref (t);
  gboolean first = ot->json->len == 0, f;
  guint i;

  put_key (ot->json, &first, g_type_name (t));
  g_string_append (ot->json, "{\"kind\":\"flags\",\"values\":[");
  for (i = 0; i < klass->n_values; i++) {
    gchar *v = g_strdup_printf ("0x%08x", klass->values[i].value);

    g_string_append (ot->json, i ? ",{" : "{");
    f = TRUE;
    put_kv (ot->json, &f, "name", klass->values[i].value_nick);
    put_kv (ot->json, &f, "value", v);
    put_kv (ot->json, &f, "desc", klass->values[i].value_name);
    g_string_append_c (ot->json, '}');
    g_free (v);
  }
  g_string_append (ot->json, "]}");
  g_type_class_unref (klass);
}

/* Enums and flags the plugin marks as API are described once */
static void
note_type (OtherTypes * ot, GType t)
{
  GstPluginAPIFlags api_flags = 0;
  const gchar *name = g_type_name (t);

  if (!name || g_hash_table_contains (ot->seen, name) ||
      !gst_type_is_plugin_api (t, &api_flags))
    return;
  g_hash_table_add (ot->seen, (gpointer) name);
  if (G_TYPE_IS_ENUM (t))
    other_enum (ot, t, api_flags);
  else if (G_TYPE_IS_FLAGS (t))
    other_flags (ot, t);
}

/* ---- properties ---- */

static gchar *
enum_default (GParamSpec * spec, const GValue * v)
{
  GEnumClass *klass = g_type_class_ref (spec->value_type);
  GEnumValue *ev = g_enum_get_value (klass, g_value_get_enum (v));
  gchar *s = g_strdup_printf ("%s (%d)", ev ? ev->value_nick : "",
      g_value_get_enum (v));

  g_type_class_unref (klass);
  return s;
}

static gchar *
flags_default (GParamSpec * spec, const GValue * v)
{
  GFlagsClass *klass = g_type_class_ref (spec->value_type);
  guint flags = g_value_get_flags (v), left = flags;
  GString *s = g_string_new (NULL);
  gint i;

  for (i = 0; i < (gint) klass->n_values; i++)
    if (klass->values[i].value == flags) {
      g_string_assign (s, klass->values[i].value_nick);
      g_type_class_unref (klass);
      return g_string_free (s, FALSE);
    }
  for (i = klass->n_values - 1; i >= 0 && left; i--) {
    guint fv = klass->values[i].value;

    if (fv && (left & fv) == fv) {
      if (s->len)
        g_string_append_c (s, '+');
      g_string_append (s, klass->values[i].value_nick);
      left &= ~fv;
    }
  }
  if (!s->len)
    g_string_assign (s, "(none)");
  g_type_class_unref (klass);
  return g_string_free (s, FALSE);
}

/* "default", "min", "max" of one property */
static void
put_value (GString * out, gboolean * f, GParamSpec * spec, const GValue * v)
{
  gchar *d = NULL, *min = NULL, *max = NULL;

#define RANGE(T, fmt, get) do { T *p = (T *) spec; \
    d = g_strdup_printf (fmt, get (v)); \
    min = g_strdup_printf (fmt, p->minimum); \
    max = g_strdup_printf (fmt, p->maximum); } while (0)
  switch (G_VALUE_TYPE (v)) {
    case G_TYPE_STRING:
      d = g_strdup (g_value_get_string (v) ? g_value_get_string (v) : "NULL");
      break;
    case G_TYPE_BOOLEAN:
      d = g_strdup (g_value_get_boolean (v) ? "true" : "false");
      break;
    case G_TYPE_INT:
      RANGE (GParamSpecInt, "%d", g_value_get_int);
      break;
    case G_TYPE_UINT:
      RANGE (GParamSpecUInt, "%u", g_value_get_uint);
      break;
    case G_TYPE_INT64:
      RANGE (GParamSpecInt64, "%" G_GINT64_FORMAT, g_value_get_int64);
      break;
    case G_TYPE_UINT64:
      RANGE (GParamSpecUInt64, "%" G_GUINT64_FORMAT, g_value_get_uint64);
      break;
    case G_TYPE_LONG:
      RANGE (GParamSpecLong, "%ld", g_value_get_long);
      break;
    case G_TYPE_ULONG:
      RANGE (GParamSpecULong, "%lu", g_value_get_ulong);
      break;
    case G_TYPE_FLOAT:
      RANGE (GParamSpecFloat, "%g", g_value_get_float);
      break;
    case G_TYPE_DOUBLE:
      RANGE (GParamSpecDouble, "%g", g_value_get_double);
      break;
    default:
      if (G_IS_PARAM_SPEC_ENUM (spec))
        d = enum_default (spec, v);
      else if (G_IS_PARAM_SPEC_FLAGS (spec))
        d = flags_default (spec, v);
      else if (spec->value_type == GST_TYPE_CAPS && gst_value_get_caps (v))
        d = gst_caps_to_string (gst_value_get_caps (v));
      else if (spec->value_type == GST_TYPE_STRUCTURE &&
          gst_value_get_structure (v))
        d = gst_structure_to_string (gst_value_get_structure (v));
      break;
  }
#undef RANGE
  if (d)
    put_kv (out, f, "default", d);
  if (min)
    put_kv (out, f, "min", min);
  if (max)
    put_kv (out, f, "max", max);
  g_free (d);
  g_free (min);
  g_free (max);
}

static const gchar *
mutable_state (GParamSpec * spec)
{
  if (spec->flags & GST_PARAM_MUTABLE_PLAYING)
    return "playing";
  if (spec->flags & GST_PARAM_MUTABLE_PAUSED)
    return "paused";
  if (spec->flags & GST_PARAM_MUTABLE_READY)
    return "ready";
  return "null";
}

/* The properties the element's own class installs */
static void
put_properties (GString * out, OtherTypes * ot, GObject * obj, GType type)
{
  guint n, i;
  GParamSpec **specs = g_object_class_list_properties (G_OBJECT_GET_CLASS
      (obj), &n);
  gboolean first = TRUE;

  for (i = 0; i < n; i++) {
    GParamSpec *spec = specs[i];
    GValue v = G_VALUE_INIT;
    gboolean f = TRUE;

    if (spec->owner_type != type)
      continue;
    if (first)
      g_string_append (out, ",\"properties\":{");
    put_key (out, &first, spec->name);
    g_string_append_c (out, '{');
    g_value_init (&v, spec->value_type);
    /* the value of a fresh instance, as a user sees it */
    if ((spec->flags & G_PARAM_READABLE) &&
        !(spec->flags & GST_PARAM_DOC_SHOW_DEFAULT))
      g_object_get_property (obj, spec->name, &v);
    else
      g_param_value_set_default (spec, &v);
    put_kb (out, &f, "construct-only", spec->flags & G_PARAM_CONSTRUCT_ONLY);
    put_kb (out, &f, "construct", spec->flags & G_PARAM_CONSTRUCT);
    put_kb (out, &f, "readable", spec->flags & G_PARAM_READABLE);
    put_kb (out, &f, "writable", spec->flags & G_PARAM_WRITABLE);
    put_kv (out, &f, "blurb", g_param_spec_get_blurb (spec));
    put_kb (out, &f, "controllable", spec->flags & GST_PARAM_CONTROLLABLE);
    put_kb (out, &f, "conditionally-available",
        spec->flags & GST_PARAM_CONDITIONALLY_AVAILABLE);
    put_kv (out, &f, "mutable", mutable_state (spec));
    put_kv (out, &f, "type", g_type_name (spec->value_type));
    put_value (out, &f, spec, &v);
    g_string_append_c (out, '}');
    g_value_unset (&v);
    note_type (ot, spec->value_type);
  }
  if (!first)
    g_string_append_c (out, '}');
  g_free (specs);
}

/* ---- signals ---- */

static void
put_signals (GString * out, OtherTypes * ot, GType type)
{
  guint n, i, j;
  guint *ids = g_signal_list_ids (type, &n);
  gboolean first = TRUE;

  for (i = 0; i < n; i++) {
    GSignalQuery q;
    gboolean f = TRUE;

    g_signal_query (ids[i], &q);
    if (first)
      g_string_append (out, ",\"signals\":{");
    put_key (out, &first, q.signal_name);
    g_string_append (out, "{\"args\":[");
    for (j = 0; j < q.n_params; j++) {
      GType pt = q.param_types[j] & ~G_SIGNAL_TYPE_STATIC_SCOPE;
      gchar *name = g_strdup_printf ("arg%u", j);
      gboolean af = TRUE;

      g_string_append (out, j ? ",{" : "{");
      put_kv (out, &af, "name", name);
      put_kv (out, &af, "type", g_type_name (pt));
      g_string_append_c (out, '}');
      g_free (name);
      note_type (ot, pt);
    }
    g_string_append_c (out, ']');
    f = FALSE;
    put_kv (out, &f, "return-type", g_type_name (q.return_type &
            ~G_SIGNAL_TYPE_STATIC_SCOPE));
    if (q.signal_flags & G_SIGNAL_RUN_FIRST)
      put_kv (out, &f, "when", "first");
    else if (q.signal_flags & G_SIGNAL_RUN_LAST)
      put_kv (out, &f, "when", "last");
    else if (q.signal_flags & G_SIGNAL_RUN_CLEANUP)
      put_kv (out, &f, "when", "cleanup");
    if (q.signal_flags & G_SIGNAL_NO_RECURSE)
      put_kb (out, &f, "no-recurse", TRUE);
    if (q.signal_flags & G_SIGNAL_DETAILED)
      put_kb (out, &f, "detailed", TRUE);
    if (q.signal_flags & G_SIGNAL_ACTION)
      put_kb (out, &f, "action", TRUE);
    if (q.signal_flags & G_SIGNAL_NO_HOOKS)
      put_kb (out, &f, "no-hooks", TRUE);
    g_string_append_c (out, '}');
  }
  if (!first)
    g_string_append_c (out, '}');
  g_free (ids);
}

/* ---- pad templates ---- */

static gboolean
caps_field (GQuark field, const GValue * value, gpointer data)
{
  GString *s = data;
  gchar *v = gst_value_serialize (value);
  const gchar *name = g_quark_to_string (field);

  /* "(string)" / "(rate)" type prefixes are noise for the reader */
  if (g_str_equal (name, "format") || g_str_equal (name, "rate")) {
    GRegex *re = g_regex_new ("\\(string\\)|\\(rate\\)", 0, 0, NULL);
    gchar *t = g_regex_replace_literal (re, v, -1, 0, "", 0, NULL);

    g_regex_unref (re);
    g_free (v);
    v = t;
  }
  g_string_append_printf (s, "%15s: %s\n", name, v);
  g_free (v);
  return TRUE;
}

/* Caps, one structure per block, one "field: value" per line */
static gchar *
caps_text (const GstCaps * caps)
{
  GString *s = g_string_new (NULL);
  guint i;

  if (gst_caps_is_any (caps))
    return g_string_free (s, FALSE), g_strdup ("ANY");
  if (gst_caps_is_empty (caps))
    return g_string_free (s, FALSE), g_strdup ("EMPTY");
  for (i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *st = gst_caps_get_structure (caps, i);
    GstCapsFeatures *feat = gst_caps_get_features (caps, i);

    if (feat && (gst_caps_features_is_any (feat) ||
            !gst_caps_features_is_equal (feat,
                GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY))) {
      gchar *fs = gst_caps_features_to_string (feat);

      g_string_append_printf (s, "%s%s(%s):\n", i ? "\n" : "",
          gst_structure_get_name (st), fs);
      g_free (fs);
    } else {
      g_string_append_printf (s, "%s:\n", gst_structure_get_name (st));
    }
    gst_structure_foreach (st, caps_field, s);
  }
  return g_string_free (s, FALSE);
}

static const gchar *
presence_name (GstPadPresence p)
{
  switch (p) {
    case GST_PAD_ALWAYS:
      return "always";
    case GST_PAD_SOMETIMES:
      return "sometimes";
    case GST_PAD_REQUEST:
      return "request";
  }
  return "unknown";
}

static void
put_pad_templates (GString * out, GstElement * element,
    GstElementFactory * factory)
{
  const GList *l;
  gboolean first = TRUE;

  for (l = gst_element_factory_get_static_pad_templates (factory); l;
      l = l->next) {
    GstStaticPadTemplate *st = l->data;
    GstPadTemplate *tmpl =
        gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (element),
        st->name_template);
    GstCaps *caps = gst_pad_template_get_documentation_caps (tmpl);
    gchar *text = caps_text (caps);
    gboolean f = TRUE;
    GType pad_type = GST_PAD_TEMPLATE_GTYPE (tmpl);

    if (first)
      g_string_append (out, ",\"pad-templates\":{");
    put_key (out, &first, st->name_template);
    g_string_append_c (out, '{');
    put_kv (out, &f, "caps", text);
    put_kv (out, &f, "direction", st->direction == GST_PAD_SRC ? "src" :
        st->direction == GST_PAD_SINK ? "sink" : "unknown");
    put_kv (out, &f, "presence", presence_name (st->presence));
    if (pad_type != G_TYPE_NONE && pad_type != GST_TYPE_PAD)
      put_kv (out, &f, "type", g_type_name (pad_type));
    g_string_append_c (out, '}');
    g_free (text);
    gst_caps_unref (caps);
  }
  if (!first)
    g_string_append_c (out, '}');
}

/* ---- elements, plugins ---- */

/* "primary", "primary + 1", "none" ... */
static gchar *
rank_name (gint rank)
{
  static const struct {
    gint rank;
    const gchar *name;
  } ranks[] = {
    {GST_RANK_NONE, "none"}, {GST_RANK_MARGINAL, "marginal"},
    {GST_RANK_SECONDARY, "secondary"}, {GST_RANK_PRIMARY, "primary"},
  };
  guint i, best = 0;

  for (i = 0; i < G_N_ELEMENTS (ranks); i++) {
    if (rank == ranks[i].rank)
      return g_strdup (ranks[i].name);
    if (ABS (rank - ranks[i].rank) < ABS (rank - ranks[best].rank))
      best = i;
  }
  return g_strdup_printf ("%s %c %d", ranks[best].name,
      rank > ranks[best].rank ? '+' : '-', ABS (rank - ranks[best].rank));
}

static void
put_element (GString * out, OtherTypes * ot, GstElementFactory * factory)
{
  GstElement *element = gst_element_factory_create (factory, NULL);
  GType type, t;
  gchar **keys, *rank;
  GType *ifaces;
  guint n, i;
  gboolean f = TRUE;

  if (!element) {
    g_printerr ("rtmfp-plugins-scanner: cannot create %s\n",
        GST_OBJECT_NAME (factory));
    exit (1);
  }
  gst_object_ref_sink (element);
  type = G_OBJECT_TYPE (element);
  g_string_append_c (out, '{');
  rank = rank_name (gst_plugin_feature_get_rank (GST_PLUGIN_FEATURE
          (factory)));
  put_kv (out, &f, "rank", rank);
  g_free (rank);
  /* the metadata, but long-name (it may vary with the environment) */
  keys = gst_element_factory_get_metadata_keys (factory);
  for (i = 0; keys && keys[i]; i++)
    if (!g_str_equal (keys[i], GST_ELEMENT_METADATA_LONGNAME))
      put_kv (out, &f, keys[i], gst_element_factory_get_metadata (factory,
              keys[i]));
  g_strfreev (keys);
  put_key (out, &f, "hierarchy");
  g_string_append_c (out, '[');
  for (t = type; t; t = g_type_parent (t)) {
    if (t != type)
      g_string_append_c (out, ',');
    put_str (out, g_type_name (t));
  }
  g_string_append_c (out, ']');
  ifaces = g_type_interfaces (type, &n);
  if (n) {
    put_key (out, &f, "interfaces");
    g_string_append_c (out, '[');
    for (i = 0; i < n; i++) {
      if (i)
        g_string_append_c (out, ',');
      put_str (out, g_type_name (ifaces[i]));
    }
    g_string_append_c (out, ']');
  }
  g_free (ifaces);
  put_properties (out, ot, G_OBJECT (element), type);
  put_signals (out, ot, type);
  put_pad_templates (out, element, factory);
  g_string_append_c (out, '}');
  gst_object_unref (element);
}

static void
put_plugin (GString * out, gboolean * first, GstPlugin * plugin,
    const gchar * path)
{
  GList *features, *l;
  OtherTypes ot = { g_string_new (NULL), g_hash_table_new (g_str_hash,
        g_str_equal)
  };
  gchar *base = g_path_get_basename (path), *dot = strchr (base, '.');
  const gchar *filename = g_str_has_prefix (base, "lib") ? base + 3 : base;
  gboolean f = TRUE, ef = TRUE, tf = TRUE;

  if (dot)
    *dot = '\0';
  put_key (out, first, gst_plugin_get_name (plugin));
  g_string_append_c (out, '{');
  put_kv (out, &f, "description", gst_plugin_get_description (plugin));
  put_kv (out, &f, "filename", filename);
  put_kv (out, &f, "source", gst_plugin_get_source (plugin));
  put_kv (out, &f, "package", gst_plugin_get_package (plugin));
  put_kv (out, &f, "license", gst_plugin_get_license (plugin));
  put_kv (out, &f, "url", gst_plugin_get_origin (plugin));
  features = gst_registry_get_feature_list_by_plugin (gst_registry_get (),
      gst_plugin_get_name (plugin));
  put_key (out, &f, "elements");
  g_string_append_c (out, '{');
  for (l = features; l; l = l->next) {
    GstElementFactory *factory;

    if (!GST_IS_ELEMENT_FACTORY (l->data))
      continue;
    factory = l->data;
    if (gst_element_factory_get_skip_documentation (factory))
      continue;
    put_key (out, &ef, GST_OBJECT_NAME (factory));
    put_element (out, &ot, factory);
  }
  g_string_append_c (out, '}');
  put_key (out, &f, "tracers");
  g_string_append_c (out, '{');
  for (l = features; l; l = l->next)
    if (GST_IS_TRACER_FACTORY (l->data)) {
      put_key (out, &tf, GST_OBJECT_NAME (l->data));
      g_string_append (out, "{}");
    }
  g_string_append_c (out, '}');
  put_key (out, &f, "other-types");
  g_string_append_printf (out, "{%s}}", ot.json->str);
  gst_plugin_feature_list_free (features);
  g_string_free (ot.json, TRUE);
  g_hash_table_unref (ot.seen);
  g_free (base);
}

int
main (int argc, char **argv)
{
  GString *out;
  GError *err = NULL;
  gboolean first = TRUE;
  gint i;

  if (argc < 3) {
    g_printerr ("usage: %s OUTPUT.json PLUGIN.so...\n", argv[0]);
    return 2;
  }
  /* untranslated, and numbers with a '.' */
  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C");
  gst_init (NULL, NULL);
  out = g_string_new ("{");
  for (i = 2; i < argc; i++) {
    GstPlugin *plugin = gst_plugin_load_file (argv[i], &err);

    if (!plugin) {
      g_printerr ("rtmfp-plugins-scanner: cannot load %s: %s\n", argv[i],
          err ? err->message : "?");
      return 1;
    }
    put_plugin (out, &first, plugin, argv[i]);
    gst_object_unref (plugin);
  }
  g_string_append (out, "}\n");
  if (!g_file_set_contents (argv[1], out->str, out->len, &err)) {
    g_printerr ("rtmfp-plugins-scanner: %s\n", err->message);
    return 1;
  }
  g_string_free (out, TRUE);
  gst_deinit ();
  return 0;
}
