/* GStreamer rtmfpfallback: what the two bins share (see
 * gstrtmfpfallbackutil.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstrtmfpfallbackutil.h"

gchar *
gst_rtmfp_fallback_derive_location (const gchar * location)
{
  /* the authority (an explicit port included: rtmfp-server listens for
   * RTMP on the TCP port of the same number by default) and path stay */
  if (!location || g_ascii_strncasecmp (location, "rtmfp://", 8) != 0 ||
      location[8] == '\0' || location[8] == '/')
    return NULL;
  return g_strconcat ("rtmp://", location + 8, NULL);
}

gboolean
gst_rtmfp_fallback_factory_exists (const gchar * name)
{
  GstElementFactory *f;

  if (!name || !(f = gst_element_factory_find (name)))
    return FALSE;
  gst_object_unref (f);
  return TRUE;
}

void
gst_rtmfp_fallback_settings_clear (GstRtmfpFallbackSettings * s)
{
  g_clear_pointer (&s->location, g_free);
  g_clear_pointer (&s->fallback_location, g_free);
  g_clear_pointer (&s->auth_token, g_free);
  g_clear_pointer (&s->server_fingerprint, g_free);
  g_clear_pointer (&s->peer_id, g_free);
}

gchar *
gst_rtmfp_fallback_settings_rtmp_location (const GstRtmfpFallbackSettings * s)
{
  if (s->fallback_location)
    return g_strdup (s->fallback_location);
  return gst_rtmfp_fallback_derive_location (s->location);
}

void
gst_rtmfp_fallback_set_if_exists (GstElement * el, const gchar * name,
    const GValue * value)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (el),
      name);
  GValue v = G_VALUE_INIT;

  if (!pspec || !(pspec->flags & G_PARAM_WRITABLE))
    return;
  g_value_init (&v, pspec->value_type);
  if (g_value_transform (value, &v))
    g_object_set_property (G_OBJECT (el), name, &v);
  g_value_unset (&v);
}

static void
set_string (GstElement * el, const gchar * name, const gchar * value)
{
  GValue v = G_VALUE_INIT;

  if (!value)
    return;
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, value);
  gst_rtmfp_fallback_set_if_exists (el, name, &v);
  g_value_unset (&v);
}

static void
set_uint (GstElement * el, const gchar * name, guint value)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_UINT);
  g_value_set_uint (&v, value);
  gst_rtmfp_fallback_set_if_exists (el, name, &v);
  g_value_unset (&v);
}

static void
set_bool (GstElement * el, const gchar * name, gboolean value)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_BOOLEAN);
  g_value_set_boolean (&v, value);
  gst_rtmfp_fallback_set_if_exists (el, name, &v);
  g_value_unset (&v);
}

/* An enum property of another plugin's type, by nick, if el has it */
static void
set_enum_nick (GstElement * el, const gchar * name, const gchar * nick)
{
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (el),
      name);
  GEnumValue *v;

  if (!p || !G_IS_PARAM_SPEC_ENUM (p))
    return;
  v = g_enum_get_value_by_nick (G_PARAM_SPEC_ENUM (p)->enum_class, nick);
  if (v)
    g_object_set (el, name, v->value, NULL);
}

static void
configure_rtmfp (GstElement * el, const GstRtmfpFallbackSettings * s)
{

  set_string (el, "location", s->location);
  /* the child gives up (and says why) when the bin would switch */
  set_uint (el, "timeout", s->rtmfp_timeout);
  set_string (el, "auth-token", s->auth_token);
  set_string (el, "server-fingerprint", s->server_fingerprint);
  /* rtmfpsink's enums are its plugin's types: set by nick */
  set_enum_nick (el, "mode", s->mode ? "direct" : "server");
  set_enum_nick (el, "congestion-control",
      s->congestion_control ? "media" : "tcp");
  if (s->peer_id && *s->peer_id)
    set_string (el, "peer-id", s->peer_id);
}

GstElement *
gst_rtmfp_fallback_make_child (const gchar * factory,
    GstRtmfpFallbackProtocol proto, const GstRtmfpFallbackSettings * s)
{
  GstElement *el = factory ? gst_element_factory_make (factory, NULL) : NULL;
  gchar *loc;

  if (!el)
    return NULL;
  gst_object_ref_sink (el);
  /* a child added to a running bin must not go async (that would take
   * the pipeline back to PAUSED until it prerolls); none does */
  set_bool (el, "async", FALSE);
  if (proto == GST_RTMFP_FALLBACK_RTMFP) {
    configure_rtmfp (el, s);
  } else {
    loc = gst_rtmfp_fallback_settings_rtmp_location (s);
    set_string (el, "location", loc);
    g_free (loc);
    if (s->timeout)
      set_uint (el, "timeout", s->timeout);
  }
  return el;
}

GstElement *
gst_rtmfp_fallback_find_child (GstBin * bin, GstObject * obj)
{
  GstObject *cur, *parent;

  if (!obj)
    return NULL;
  cur = gst_object_ref (obj);
  while (cur) {
    parent = gst_object_get_parent (cur);
    if (parent == GST_OBJECT_CAST (bin)) {
      gst_object_unref (parent);
      if (GST_IS_ELEMENT (cur))
        return GST_ELEMENT_CAST (cur);
      gst_object_unref (cur);
      return NULL;
    }
    gst_object_unref (cur);
    cur = parent;
  }
  return NULL;
}

void
gst_rtmfp_fallback_post_switch (GstElement * bin,
    GstRtmfpFallbackProtocol proto, GstRtmfpFallbackProtocol previous,
    const gchar * reason)
{
  GST_INFO_OBJECT (bin, "switched %s -> %s (%s)",
      gst_rtmfp_fallback_protocol_name (previous),
      gst_rtmfp_fallback_protocol_name (proto), reason);
  gst_element_post_message (bin, gst_message_new_element (GST_OBJECT (bin),
          gst_structure_new ("rtmfp-fallback",
              "protocol", G_TYPE_STRING,
              gst_rtmfp_fallback_protocol_name (proto),
              "previous", G_TYPE_STRING,
              gst_rtmfp_fallback_protocol_name (previous),
              "reason", G_TYPE_STRING, reason ? reason : "", NULL)));
}

gchar *
gst_rtmfp_fallback_error_text (GstMessage * msg)
{
  GError *err = NULL;
  gchar *text;

  gst_message_parse_error (msg, &err, NULL);
  text = g_strdup (err && err->message ? err->message : "error");
  g_clear_error (&err);
  return text;
}

/* ------------------------------------------------------------------------ */
/* statistics */

static gboolean
zero_field (GQuark field, GValue * value, gpointer data)
{
  GType t = G_VALUE_TYPE (value);

  if (t == G_TYPE_UINT64)
    g_value_set_uint64 (value, 0);
  else if (t == G_TYPE_UINT)
    g_value_set_uint (value, 0);
  else if (t == G_TYPE_DOUBLE)
    g_value_set_double (value, 0);
  else if (t == G_TYPE_INT)
    g_value_set_int (value, 0);
  else if (t == GST_TYPE_ARRAY) {
    g_value_unset (value);
    g_value_init (value, GST_TYPE_ARRAY);
  }
  return TRUE;
}

GstStructure *
gst_rtmfp_fallback_stats_template (const GstStructure * s)
{
  GstStructure *t = gst_structure_copy (s);

  gst_structure_map_in_place (t, zero_field, NULL);
  return t;
}

static GstStructure *
child_stats (GstElement * child)
{
  GstStructure *s = NULL;

  if (child && g_object_class_find_property (G_OBJECT_GET_CLASS (child),
          "stats"))
    g_object_get (child, "stats", &s, NULL);
  return s;
}

static guint64
u64_field (const GstStructure * s, const gchar * name)
{
  guint64 v = 0;

  if (s)
    gst_structure_get_uint64 (s, name, &v);
  return v;
}

GstStructure *
gst_rtmfp_fallback_stats (GstElement * child, GstRtmfpFallbackProtocol proto,
    const GstStructure * tmpl, guint switches)
{
  GstStructure *cs = child_stats (child), *s;

  if (proto == GST_RTMFP_FALLBACK_RTMFP && cs) {
    s = cs;
  } else {
    s = tmpl ? gst_structure_copy (tmpl) :
        gst_structure_new_empty ("application/x-rtmfp-statistics");
    gst_structure_set_name (s, "application/x-rtmfp-statistics");
    /* rtmp2's GstRtmpConnectionStats: in/out bytes of the connection */
    gst_structure_set (s, "state", G_TYPE_STRING, cs ? "streaming" : "idle",
        "bytes-sent", G_TYPE_UINT64, u64_field (cs, "out-bytes-total"),
        "bytes-received", G_TYPE_UINT64, u64_field (cs, "in-bytes-total"),
        NULL);
    if (cs)
      gst_structure_free (cs);
  }
  gst_structure_set (s, "protocol", G_TYPE_STRING,
      gst_rtmfp_fallback_protocol_name (proto), "fallback-switches",
      G_TYPE_UINT, switches, NULL);
  return s;
}

/* ------------------------------------------------------------------------ */
/* timers */

void
gst_rtmfp_fallback_call_async (GstElement * element,
    GstElementCallAsyncFunc func, gpointer data, GDestroyNotify notify)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
  gst_element_call_async (element, func, data, notify);
  G_GNUC_END_IGNORE_DEPRECATIONS;
}

typedef struct
{
  GstElement *element;          /* ref */
  GstRtmfpFallbackTimerFunc func;
} TimerData;

static TimerData *
timer_data_new (GstRtmfpFallbackTimer * t)
{
  TimerData *d = g_new (TimerData, 1);

  d->element = gst_object_ref (t->element);
  d->func = t->func;
  return d;
}

static void
timer_data_free (gpointer data)
{
  TimerData *d = data;

  gst_object_unref (d->element);
  g_free (d);
}

static void
timer_job (GstElement * element, gpointer data)
{
  ((GstRtmfpFallbackTimerFunc) data) (element);
}

static gboolean
timer_cb (GstClock * clock, GstClockTime t, GstClockID id, gpointer data)
{
  TimerData *d = data;

  if (t != GST_CLOCK_TIME_NONE)
    gst_rtmfp_fallback_call_async (d->element, timer_job, (gpointer) d->func,
        NULL);
  return TRUE;
}

void
gst_rtmfp_fallback_timer_init (GstRtmfpFallbackTimer * t,
    GstElement * element, GstRtmfpFallbackTimerFunc func)
{
  t->element = element;
  t->clock = gst_system_clock_obtain ();
  t->id = NULL;
  t->func = func;
}

static void
timer_cancel (GstRtmfpFallbackTimer * t)
{
  if (t->id) {
    gst_clock_id_unschedule (t->id);
    gst_clock_id_unref (t->id);
    t->id = NULL;
  }
}

void
gst_rtmfp_fallback_timer_clear (GstRtmfpFallbackTimer * t)
{
  timer_cancel (t);
  gst_clear_object (&t->clock);
}

/* A timer holds a reference to the element until cancelled: the owner
 * cancels its timers when it stops (READY -> NULL) */
void
gst_rtmfp_fallback_timer_set (GstRtmfpFallbackTimer * t, gint64 at_us)
{
  gint64 in_us;

  timer_cancel (t);
  if (at_us < 0)
    return;
  in_us = MAX (at_us - g_get_monotonic_time (), 0);
  t->id = gst_clock_new_single_shot_id (t->clock,
      gst_clock_get_time (t->clock) + in_us * GST_USECOND);
  gst_clock_id_wait_async (t->id, timer_cb, timer_data_new (t),
      timer_data_free);
}

void
gst_rtmfp_fallback_timer_set_periodic (GstRtmfpFallbackTimer * t,
    guint period_ms)
{
  timer_cancel (t);
  if (!period_ms)
    return;
  t->id = gst_clock_new_periodic_id (t->clock,
      gst_clock_get_time (t->clock) + period_ms * GST_MSECOND,
      period_ms * GST_MSECOND);
  gst_clock_id_wait_async (t->id, timer_cb, timer_data_new (t),
      timer_data_free);
}
