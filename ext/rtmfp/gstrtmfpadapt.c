/* GStreamer RTMFP: rtmfpsink's bandwidth report and adaptive bitrate (see
 * gstrtmfpadapt.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstrtmfpadapt.h"
#include "rtmfpbitrate.h"
#include "rtmfpcongestion.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_adapt_debug);
#define GST_CAT_DEFAULT gst_rtmfp_adapt_debug

/* How far upstream of the sink's pad the encoder may be */
#define MAX_HOPS 32
/* An encoder not found (or not supported) is looked for again after */
#define SEARCH_INTERVAL_US (1 * G_TIME_SPAN_SECOND)
/* rtmfp-bandwidth: the estimate moved by more than this since the last
 * message, and that was at least POST_INTERVAL_US ago (or the bitrate
 * changed) */
#define POST_CHANGE 0.10
#define POST_INTERVAL_US (1 * G_TIME_SPAN_SECOND)
/* smoothing of the audio rate and the loss fraction (per sample) */
#define EWMA_GAIN 0.25

/* The encoders whose bitrate property we know: its name and unit (bit/s
 * per unit).  Others are left alone: a guess at the unit could set a
 * bitrate a thousand times off. */
typedef struct
{
  const gchar *factory;         /* name, or prefix if it ends with '_' */
  const gchar *property;
  guint bps_per_unit;
} EncoderKind;

static const EncoderKind encoders[] = {
  {"x264enc", "bitrate", 1000},
  {"x265enc", "bitrate", 1000},
  {"nvh264enc", "bitrate", 1000},
  {"vaapih264enc", "bitrate", 1000},
  {"vah264enc", "bitrate", 1000},
  {"openh264enc", "bitrate", 1},
  {"vp8enc", "target-bitrate", 1},
  {"vp9enc", "target-bitrate", 1},
  {"avenc_", "bitrate", 1},
};

struct _GstRtmfpAdapt
{
  GstElement *sink;

  /* properties (lock) */
  GMutex lock;
  gboolean enabled;
  guint min_kbps, max_kbps;

  /* the samples' state (state_lock; the poster's thread, and reset) */
  GMutex state_lock;
  GWeakRef encoder;
  const EncoderKind *kind;
  gchar *encoder_name;
  guint initial_kbps;           /* the encoder's own, when found */
  gboolean have_ctl;
  RtmfpBitrateCtl ctl;
  guint ctl_min, ctl_max;       /* the properties ctl was given */
  gint64 next_search_us;
  gboolean told_none;           /* logged that no encoder was found */

  gboolean have_prev;
  GstRtmfpBandwidthSample prev;
  gdouble audio_kbps;
  gdouble loss;

  gboolean posted;
  gint64 last_post_us;
  guint64 last_post_kbps;
};

void
gst_rtmfp_adapt_class_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (gst_rtmfp_adapt_debug, "rtmfpadapt", 0,
        "rtmfpsink's bandwidth report and adaptive bitrate");
    g_once_init_leave (&once, 1);
  }
}

GstRtmfpAdapt *
gst_rtmfp_adapt_new (GstElement * sink)
{
  GstRtmfpAdapt *a = g_new0 (GstRtmfpAdapt, 1);

  gst_rtmfp_adapt_class_init ();
  a->sink = sink;
  g_mutex_init (&a->lock);
  g_mutex_init (&a->state_lock);
  g_weak_ref_init (&a->encoder, NULL);
  a->enabled = GST_RTMFP_ADAPT_DEFAULT_ENABLED;
  a->min_kbps = GST_RTMFP_ADAPT_DEFAULT_MIN_BITRATE;
  a->max_kbps = GST_RTMFP_ADAPT_DEFAULT_MAX_BITRATE;
  return a;
}

void
gst_rtmfp_adapt_free (GstRtmfpAdapt * a)
{
  if (!a)
    return;
  g_weak_ref_clear (&a->encoder);
  g_free (a->encoder_name);
  g_mutex_clear (&a->lock);
  g_mutex_clear (&a->state_lock);
  g_free (a);
}

/* ------------------------------------------------------------------------ */
/* properties */

void
gst_rtmfp_adapt_set_enabled (GstRtmfpAdapt * a, gboolean enabled)
{
  g_mutex_lock (&a->lock);
  a->enabled = enabled;
  g_mutex_unlock (&a->lock);
}

gboolean
gst_rtmfp_adapt_get_enabled (GstRtmfpAdapt * a)
{
  gboolean v;

  g_mutex_lock (&a->lock);
  v = a->enabled;
  g_mutex_unlock (&a->lock);
  return v;
}

void
gst_rtmfp_adapt_set_min_bitrate (GstRtmfpAdapt * a, guint kbps)
{
  g_mutex_lock (&a->lock);
  a->min_kbps = kbps;
  g_mutex_unlock (&a->lock);
}

guint
gst_rtmfp_adapt_get_min_bitrate (GstRtmfpAdapt * a)
{
  guint v;

  g_mutex_lock (&a->lock);
  v = a->min_kbps;
  g_mutex_unlock (&a->lock);
  return v;
}

void
gst_rtmfp_adapt_set_max_bitrate (GstRtmfpAdapt * a, guint kbps)
{
  g_mutex_lock (&a->lock);
  a->max_kbps = kbps;
  g_mutex_unlock (&a->lock);
}

guint
gst_rtmfp_adapt_get_max_bitrate (GstRtmfpAdapt * a)
{
  guint v;

  g_mutex_lock (&a->lock);
  v = a->max_kbps;
  g_mutex_unlock (&a->lock);
  return v;
}

/* forget the encoder (state_lock) */
static void
drop_encoder (GstRtmfpAdapt * a)
{
  g_weak_ref_set (&a->encoder, NULL);
  a->kind = NULL;
  g_clear_pointer (&a->encoder_name, g_free);
  a->have_ctl = FALSE;
  a->next_search_us = 0;
}

void
gst_rtmfp_adapt_reset (GstRtmfpAdapt * a)
{
  g_mutex_lock (&a->state_lock);
  drop_encoder (a);
  a->told_none = FALSE;
  a->have_prev = FALSE;
  a->audio_kbps = 0;
  a->loss = 0;
  a->posted = FALSE;
  a->last_post_us = 0;
  a->last_post_kbps = 0;
  g_mutex_unlock (&a->state_lock);
}

/* ------------------------------------------------------------------------ */
/* the encoder */

static const EncoderKind *
encoder_kind (GstElement * el)
{
  GstElementFactory *f = gst_element_get_factory (el);
  const gchar *klass, *name;
  guint i;

  if (!f)
    return NULL;
  klass = gst_element_factory_get_metadata (f, GST_ELEMENT_METADATA_KLASS);
  if (!klass || !strstr (klass, "Encoder"))
    return NULL;
  name = GST_OBJECT_NAME (f);
  for (i = 0; i < G_N_ELEMENTS (encoders); i++) {
    const EncoderKind *k = &encoders[i];
    gboolean prefix = g_str_has_suffix (k->factory, "_");

    if (prefix ? g_str_has_prefix (name, k->factory) :
        g_str_equal (name, k->factory))
      return k;
  }
  return NULL;
}

static gboolean
is_encoder (GstElement * el)
{
  GstElementFactory *f = gst_element_get_factory (el);
  const gchar *klass = f ? gst_element_factory_get_metadata (f,
      GST_ELEMENT_METADATA_KLASS) : NULL;

  return klass && strstr (klass, "Encoder");
}

/* The source pad feeding sinkpad, through ghost pads of bins, or NULL */
static GstPad *
upstream_src (GstPad * sinkpad)
{
  GstPad *peer = gst_pad_get_peer (sinkpad);
  guint i;

  for (i = 0; peer && i < MAX_HOPS; i++) {
    GstPad *next;

    if (GST_IS_GHOST_PAD (peer)) {
      /* a bin's source pad: into the bin */
      next = gst_ghost_pad_get_target (GST_GHOST_PAD (peer));
    } else if (GST_IS_PROXY_PAD (peer)) {
      /* the inside of a bin's sink pad: out of the bin */
      GstProxyPad *ghost = gst_proxy_pad_get_internal (GST_PROXY_PAD (peer));

      next = ghost ? gst_pad_get_peer (GST_PAD (ghost)) : NULL;
      if (ghost)
        gst_object_unref (ghost);
    } else {
      return peer;
    }
    gst_object_unref (peer);
    peer = next;
  }
  if (peer)
    gst_object_unref (peer);
  return NULL;
}

static gboolean
pad_is_video (GstPad * pad)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  gboolean video = FALSE;

  if (caps && gst_caps_get_size (caps) > 0)
    video = g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure
            (caps, 0)), "video/");
  else
    video = strstr (GST_PAD_NAME (pad), "video") != NULL;
  if (caps)
    gst_caps_unref (caps);
  return video;
}

/* The sink pad of el to go on upstream from: its only one, or the video
 * one of a muxer (flvmux) */
static GstPad *
video_sink_pad (GstElement * el)
{
  GstPad *found = NULL;
  GList *l;

  GST_OBJECT_LOCK (el);
  for (l = el->sinkpads; l; l = l->next) {
    GstPad *p = l->data;

    if (!found && (el->numsinkpads == 1 || pad_is_video (p)))
      found = gst_object_ref (p);
  }
  GST_OBJECT_UNLOCK (el);
  return found;
}

/* The first encoder upstream of pad (ref), or NULL */
static GstElement *
find_encoder (GstPad * pad)
{
  GstPad *sinkpad = gst_object_ref (pad);
  guint i;

  for (i = 0; sinkpad && i < MAX_HOPS; i++) {
    GstPad *src = upstream_src (sinkpad);
    GstElement *el = src ? gst_pad_get_parent_element (src) : NULL;

    gst_object_unref (sinkpad);
    sinkpad = NULL;
    if (src)
      gst_object_unref (src);
    if (!el)
      return NULL;
    if (is_encoder (el))
      return el;
    /* parsers, queues, capsfilters, tees, muxers ...: on upstream */
    sinkpad = video_sink_pad (el);
    gst_object_unref (el);
  }
  if (sinkpad)
    gst_object_unref (sinkpad);
  return NULL;
}

/* The encoder's bitrate in kbit/s (0: unset / automatic) */
static guint
encoder_get_kbps (GstElement * enc, const EncoderKind * k)
{
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (enc),
      k->property);
  GValue v = G_VALUE_INIT, u = G_VALUE_INIT;
  guint64 units = 0;

  if (!p)
    return 0;
  g_value_init (&v, p->value_type);
  g_object_get_property (G_OBJECT (enc), k->property, &v);
  g_value_init (&u, G_TYPE_UINT64);
  /* negative values (none here) would wrap: treat as unset */
  if (G_VALUE_HOLDS_INT (&v) && g_value_get_int (&v) < 0)
    units = 0;
  else if (G_VALUE_HOLDS_INT64 (&v) && g_value_get_int64 (&v) < 0)
    units = 0;
  else if (g_value_transform (&v, &u))
    units = g_value_get_uint64 (&u);
  g_value_unset (&v);
  g_value_unset (&u);
  return (guint) MIN (units * k->bps_per_unit / 1000, G_MAXUINT);
}

static void
encoder_set_kbps (GstElement * enc, const EncoderKind * k, guint kbps)
{
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (enc),
      k->property);
  guint64 units = (guint64) kbps * 1000 / k->bps_per_unit;
  GValue v = G_VALUE_INIT;

  if (!p)
    return;
  g_value_init (&v, p->value_type);
  if (G_IS_PARAM_SPEC_UINT (p)) {
    GParamSpecUInt *s = G_PARAM_SPEC_UINT (p);
    g_value_set_uint (&v, (guint) CLAMP (units, s->minimum, s->maximum));
  } else if (G_IS_PARAM_SPEC_INT (p)) {
    GParamSpecInt *s = G_PARAM_SPEC_INT (p);
    g_value_set_int (&v, (gint) CLAMP (units, (guint64) MAX (s->minimum, 0),
            (guint64) MAX (s->maximum, 0)));
  } else if (G_IS_PARAM_SPEC_UINT64 (p)) {
    GParamSpecUInt64 *s = G_PARAM_SPEC_UINT64 (p);
    g_value_set_uint64 (&v, CLAMP (units, s->minimum, s->maximum));
  } else if (G_IS_PARAM_SPEC_INT64 (p)) {
    GParamSpecInt64 *s = G_PARAM_SPEC_INT64 (p);
    g_value_set_int64 (&v, (gint64) CLAMP (units,
            (guint64) MAX (s->minimum, 0), (guint64) MAX (s->maximum, 0)));
  } else {
    g_value_unset (&v);
    return;
  }
  GST_INFO_OBJECT (enc, "%s = %" G_GUINT64_FORMAT " (%u kbit/s)",
      k->property, units, kbps);
  g_object_set_property (G_OBJECT (enc), k->property, &v);
  g_value_unset (&v);
}

/* The encoder to adapt (ref), looking for it if due (state_lock) */
static GstElement *
get_encoder (GstRtmfpAdapt * a, guint min_kbps, guint max_kbps, gint64 now,
    gboolean * set_now)
{
  GstElement *enc = g_weak_ref_get (&a->encoder);
  const EncoderKind *k;
  GstPad *pad;

  *set_now = FALSE;
  if (enc || now < a->next_search_us)
    return enc;
  if (a->kind) {
    /* it went away: look for another */
    GST_INFO_OBJECT (a->sink, "encoder %s is gone", a->encoder_name);
    drop_encoder (a);
  }
  a->next_search_us = now + SEARCH_INTERVAL_US;
  pad = gst_element_get_static_pad (a->sink, "video");
  if (!pad)
    pad = gst_element_get_static_pad (a->sink, "sink");
  enc = pad ? find_encoder (pad) : NULL;
  if (pad)
    gst_object_unref (pad);
  k = enc ? encoder_kind (enc) : NULL;
  if (!k) {
    if (!a->told_none) {
      if (enc)
        GST_WARNING_OBJECT (a->sink, "adapt-bitrate: encoder %s (%s) is not "
            "one whose bitrate property is known; not adapting",
            GST_OBJECT_NAME (enc),
            GST_OBJECT_NAME (gst_element_get_factory (enc)));
      else
        GST_WARNING_OBJECT (a->sink, "adapt-bitrate: no video encoder "
            "upstream of the video input; not adapting");
    }
    a->told_none = TRUE;
    if (enc)
      gst_object_unref (enc);
    return NULL;
  }
  g_weak_ref_set (&a->encoder, enc);
  a->kind = k;
  a->encoder_name = g_strdup (GST_OBJECT_NAME (gst_element_get_factory (enc)));
  a->initial_kbps = encoder_get_kbps (enc, k);
  if (a->initial_kbps == 0)     /* automatic: start from the ceiling */
    a->initial_kbps = max_kbps ? max_kbps : 2048;
  rtmfp_bitrate_ctl_init (&a->ctl, a->initial_kbps, min_kbps, max_kbps, now);
  a->ctl_min = min_kbps;
  a->ctl_max = max_kbps;
  a->have_ctl = TRUE;
  *set_now = rtmfp_bitrate_ctl_get (&a->ctl) != a->initial_kbps;
  GST_INFO_OBJECT (a->sink, "adapting the bitrate of %s (%s, %s, %u kbit/s "
      "now, %u-%u)", GST_OBJECT_NAME (enc), a->encoder_name, k->property,
      a->initial_kbps, a->ctl.min_kbps, a->ctl.max_kbps);
  return enc;
}

/* ------------------------------------------------------------------------ */
/* samples */

static void
account (GstRtmfpAdapt * a, const GstRtmfpBandwidthSample * s)
{
  if (a->have_prev && s->time_us > a->prev.time_us &&
      s->audio_bytes_sent >= a->prev.audio_bytes_sent &&
      s->packets_sent >= a->prev.packets_sent) {
    gdouble dt = (s->time_us - a->prev.time_us) / 1e6;
    gdouble audio = (s->audio_bytes_sent - a->prev.audio_bytes_sent) * 8.0 /
        1000.0 / dt;
    guint64 sent = s->packets_sent - a->prev.packets_sent;
    guint64 lost = s->fragments_lost >= a->prev.fragments_lost ?
        s->fragments_lost - a->prev.fragments_lost : 0;

    a->audio_kbps += EWMA_GAIN * (audio - a->audio_kbps);
    if (sent)
      a->loss += EWMA_GAIN * (MIN ((gdouble) lost / sent, 1.0) - a->loss);
  }
  a->prev = *s;
  a->have_prev = TRUE;
}

void
gst_rtmfp_adapt_on_sample (GstElement * sink,
    const GstRtmfpBandwidthSample * s, gpointer data)
{
  GstRtmfpAdapt *a = data;
  guint64 est = s->rate_estimate_bps / 1000;
  GstElement *enc = NULL;
  const EncoderKind *kind = NULL;
  gboolean enabled, set = FALSE, post;
  guint min_kbps, max_kbps, bitrate = 0;
  gchar *encoder_name = NULL;
  gdouble audio, loss;

  g_mutex_lock (&a->lock);
  enabled = a->enabled;
  min_kbps = a->min_kbps;
  max_kbps = a->max_kbps;
  g_mutex_unlock (&a->lock);

  g_mutex_lock (&a->state_lock);
  GST_LOG_OBJECT (sink, "sample: streaming %d, estimate %" G_GUINT64_FORMAT
      " kbit/s%s, rtt %.1f ms", s->streaming, est, s->app_limited ?
      " (application limited)" : "", s->rtt_ms);
  account (a, s);
  audio = a->audio_kbps;
  loss = a->loss;
  if (!enabled && a->kind)
    drop_encoder (a);           /* enabled again: from its bitrate then */
  if (enabled && s->streaming && est > 0)
    enc = get_encoder (a, min_kbps, max_kbps, s->time_us, &set);
  if (enc && a->have_ctl) {
    guint k = 0;

    if (min_kbps != a->ctl_min || max_kbps != a->ctl_max) {
      set |= rtmfp_bitrate_ctl_set_bounds (&a->ctl, min_kbps,
          max_kbps ? max_kbps : a->initial_kbps, s->time_us);
      a->ctl_min = min_kbps;
      a->ctl_max = max_kbps;
    }
    set |= rtmfp_bitrate_ctl_update (&a->ctl, est, (guint) audio,
        s->app_limited, s->time_us, &k);
    kind = a->kind;
  }
  if (a->have_ctl) {
    /* also while reconnecting: what the encoder has */
    bitrate = rtmfp_bitrate_ctl_get (&a->ctl);
    encoder_name = g_strdup (a->encoder_name);
  }
  post = est > 0 && (set || !a->posted ||
      (s->time_us - a->last_post_us >= POST_INTERVAL_US &&
          ABS ((gdouble) est - (gdouble) a->last_post_kbps) >
          POST_CHANGE * a->last_post_kbps));
  if (post) {
    a->posted = TRUE;
    a->last_post_us = s->time_us;
    a->last_post_kbps = est;
  }
  g_mutex_unlock (&a->state_lock);

  if (set && enc) {
    GST_DEBUG_OBJECT (sink, "estimate %" G_GUINT64_FORMAT " kbit/s%s, audio "
        "%.0f kbit/s: video %u kbit/s", est, s->app_limited ?
        " (application limited)" : "", audio, bitrate);
    encoder_set_kbps (enc, kind, bitrate);
  }
  if (post) {
    GstStructure *st = gst_structure_new ("rtmfp-bandwidth",
        "rate-estimate-kbps", G_TYPE_UINT64, est,
        "delivery-rate-kbps", G_TYPE_UINT64, s->delivery_rate_bps / 1000,
        "app-limited", G_TYPE_BOOLEAN, s->app_limited,
        "rtt-ms", G_TYPE_DOUBLE, s->rtt_ms,
        "loss", G_TYPE_DOUBLE, loss,
        "audio-kbps", G_TYPE_UINT, (guint) (audio + 0.5),
        "bitrate", G_TYPE_UINT, bitrate,
        "encoder", G_TYPE_STRING, encoder_name,
        "congestion-control", G_TYPE_STRING,
        rtmfp_congestion_control_get_nick (s->congestion_control), NULL);

    gst_element_post_message (sink, gst_message_new_element (GST_OBJECT
            (sink), st));
  }
  g_free (encoder_name);
  if (enc)
    gst_object_unref (enc);
}
