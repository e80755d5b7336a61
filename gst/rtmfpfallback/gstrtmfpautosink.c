/* GStreamer rtmfpautosink: publishes over RTMFP, falls back to RTMP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-rtmfpautosink
 * @title: rtmfpautosink
 * @see_also: rtmfpsink, rtmp2sink, flvmux
 *
 * A sink bin that publishes an FLV stream (`video/x-flv` from
 * `flvmux streamable=true`) with rtmfpsink, and switches to RTMP
 * (rtmp2sink, or rtmpsink where only that is installed) when RTMFP does
 * not work: when the RTMFP session is not publishing within
 * #GstRtmfpAutoSink:rtmfp-timeout seconds (UDP blocked, nothing listening
 * on the UDP port), when rtmfpsink fails (an error, mid-stream too), or
 * when the session goes silent: the sink keeps sending but nothing comes
 * back for rtmfp-timeout seconds (the bin reads rtmfpsink's stats ten
 * times a second; the session itself would wait far longer before giving
 * up).  After a switch the bin asks upstream for a keyframe (an upstream
 * force-key-unit event), so the new sink starts without waiting for the
 * end of the GOP.
 * The switch happens inside the bin: the application sees no error, the
 * pipeline keeps running, and the new sink first gets the FLV header, the
 * last onMetaData and the codec sequence headers (as the caps'
 * streamheader, which rtmp2sink, rtmpsink and rtmfpsink send first), then
 * the stream from the next video keyframe on.  The bin does not depend
 * on the codecs: it only tells headers and keyframes apart by the FLV tag
 * type and the first payload bytes.
 *
 * While on RTMP the bin probes RTMFP in the background every
 * #GstRtmfpAutoSink:probe-interval seconds with a throwaway rtmfpsink in
 * a private pipeline: rtmfpsink connects and publishes as soon as it
 * starts, without data, so a real publish attempt is the probe (no
 * separate reachability check, which would need the RTMFP handshake and
 * its crypto in this dependency-free plugin).  When the probe publishes,
 * that very sink takes over at the next keyframe.  When the probe only
 * proves that the server answers over RTMFP (it connects but the server
 * refuses the stream name, which the RTMP publisher still holds there),
 * the bin closes the RTMP sink at the next keyframe and publishes with a
 * new rtmfpsink.
 *
 * Every switch posts an element message `rtmfp-fallback` with the fields
 * `protocol` (the protocol now in use: `rtmfp` or `rtmp`), `previous`
 * and `reason`; #GstRtmfpAutoSink:active-protocol tells the protocol in
 * use.  Errors of rtmfpsink never reach the application while a fallback
 * sink exists; errors of the RTMP sink do.  The bin does not preroll: its
 * sinks run with async=false, so that one can replace another while the
 * pipeline plays.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! \
 *     x264enc tune=zerolatency key-int-max=30 ! h264parse ! flvmux streamable=true ! \
 *     rtmfpautosink location=rtmfp://example.com/live/test rtmfp-timeout=3
 * ]| Publishes over RTMFP, or over RTMP to rtmp://example.com/live/test.
 *
 * Since: 1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gstrtmfpautosink.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtmfp_auto_sink_debug);
#define GST_CAT_DEFAULT gst_rtmfp_auto_sink_debug

#define DEFAULT_LOCATION "rtmfp://localhost/live/myStream"
#define DEFAULT_RTMFP_TIMEOUT 5
#define DEFAULT_PROBE_INTERVAL 10
#define DEFAULT_RTMFP_ELEMENT "rtmfpsink"
/* how often the publishing rtmfp sink's stats are looked at */
#define HEALTH_PERIOD (100 * GST_MSECOND)

/* rtmfpsink's element messages (gstrtmfpobject.c) and status codes */
#define MSG_RTMFP_STATUS "rtmfp-status"
#define MSG_RTMFP_CONNECTED "rtmfp-connected"
#define CODE_CONNECT_SUCCESS "NetConnection.Connect.Success"
#define CODE_PUBLISH_START "NetStream.Publish.Start"

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_FALLBACK_LOCATION,
  PROP_RTMFP_TIMEOUT,
  PROP_PROBE_INTERVAL,
  PROP_ACTIVE_PROTOCOL,
  PROP_RTMFP_ELEMENT,
  PROP_FALLBACK_ELEMENT,
};

typedef enum
{
  PROTO_NONE = -1,
  PROTO_RTMFP = 0,
  PROTO_RTMP = 1,
} Protocol;

static const gchar *const proto_names[] = { "rtmfp", "rtmp" };

#define PROTO_NAME(p) ((p) == PROTO_NONE ? "none" : proto_names[(p)])

typedef enum
{
  PROBE_FAILED,
  PROBE_REACHABLE,              /* the server answered over RTMFP */
  PROBE_PUBLISHING,             /* the probe sink publishes: adopt it */
} ProbeResult;

/* What the bin remembers of the FLV stream (streaming thread) */
typedef struct
{
  GstBuffer *file_header;       /* "FLV" ... PreviousTagSize0 */
  GstBuffer *metadata;          /* whole onMetaData tag */
  GstBuffer *video_config;      /* whole video sequence header tag */
  GstBuffer *audio_config;      /* whole AAC sequence header tag */
  gboolean has_video;
  gboolean has_audio;
} FlvCache;

/* What one buffer holds */
typedef struct
{
  gboolean headers_only;        /* only file header, metadata, configs */
  gboolean keyframe;            /* a video keyframe */
  gboolean changed;             /* the cache changed */
} FlvScan;

struct _GstRtmfpAutoSink
{
  GstBin parent;

  GstPad *sinkpad;

  /* Lock order: sinkpad STREAM_LOCK, then lock, then OBJECT_LOCK.  Never
   * call into a child (properties, state, pads) with lock held: children
   * post messages from their own threads, and handle_message takes lock. */
  GMutex lock;

  /* properties (OBJECT_LOCK) */
  gchar *location;
  gchar *fallback_location;     /* NULL: derived from location */
  guint rtmfp_timeout;
  guint probe_interval;
  gchar *rtmfp_element;
  gchar *fallback_element;      /* NULL: rtmp2sink, else rtmpsink */
  Protocol active_protocol;

  /* lock (child and child_pad change with the stream lock held too) */
  gboolean running;             /* READY or above */
  gboolean have_fallback;       /* an RTMP sink can be made */
  gboolean have_rtmfp;          /* an rtmfpsink can be made */
  GstElement *child;            /* the active sink (ref) */
  GstPad *child_pad;            /* our pad linked to it (ref) */
  Protocol child_proto;
  guint child_id;               /* changes with every child */
  gboolean child_publishing;    /* the rtmfp child publishes */
  guint next_id;
  guint32 stream_start_seqnum;  /* last stream-start passed on, or 0 */

  /* a requested switch (lock) */
  Protocol pending;
  gboolean pending_urgent;      /* at once, else at the next keyframe */
  gchar *pending_reason;
  GstElement *adopt;            /* a publishing probe sink to take over */

  /* timers (lock) */
  GstClock *sysclock;
  GstClockID connect_timer;     /* rtmfp child publishing in time? */
  GstClockID probe_timer;       /* next probe */
  GstClockID probe_timeout;     /* running probe's deadline */
  GstClockID health_timer;      /* every HEALTH_PERIOD while running */

  /* liveness of the publishing rtmfp child, from its stats (lock) */
  guint health_id;              /* child_id the values are of */
  guint64 health_rx, health_tx; /* packets received / sent ... */
  gint64 health_rx_at;          /* ... when received last changed */

  /* the running probe (lock) */
  GstElement *probe_pipe;
  GstElement *probe_sink;
  guint probe_id;
  gboolean probe_reached;       /* Connect.Success seen */

  /* streaming thread (sinkpad STREAM_LOCK) */
  FlvCache cache;
  gboolean need_keyframe;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

static GstStaticPadTemplate internal_template =
GST_STATIC_PAD_TEMPLATE ("internal_src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-flv"));

#define gst_rtmfp_auto_sink_parent_class parent_class
G_DEFINE_TYPE (GstRtmfpAutoSink, gst_rtmfp_auto_sink, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE (rtmfpautosink, "rtmfpautosink", GST_RANK_NONE,
    GST_TYPE_RTMFP_AUTO_SINK);

static gboolean request_switch_locked (GstRtmfpAutoSink * self,
    Protocol proto, const gchar * reason, gboolean urgent,
    GstElement * adopt);
static void schedule_probe_locked (GstRtmfpAutoSink * self);
static void arm_connect_timer_locked (GstRtmfpAutoSink * self);

/* ------------------------------------------------------------------------ */
/* locations */

/* rtmfp://host[:port]/app/stream -> rtmp://host[:port]/app/stream: the
 * authority (an explicit port included: our server listens for RTMP on
 * the TCP port of the same number by default) and path are kept. */
static gchar *
derive_fallback_location (const gchar * location)
{
  if (!location || g_ascii_strncasecmp (location, "rtmfp://", 8) != 0 ||
      location[8] == '\0' || location[8] == '/')
    return NULL;
  return g_strconcat ("rtmp://", location + 8, NULL);
}

static gchar *
get_fallback_location (GstRtmfpAutoSink * self)
{
  gchar *loc;

  GST_OBJECT_LOCK (self);
  if (self->fallback_location)
    loc = g_strdup (self->fallback_location);
  else
    loc = derive_fallback_location (self->location);
  GST_OBJECT_UNLOCK (self);
  return loc;
}

/* ------------------------------------------------------------------------ */
/* FLV scanning: just enough to know the headers and the keyframes
 * (FLV 10.1 E.4: tag header, E.4.2 audio, E.4.3 video, E.4.4 script data;
 * enhanced RTMP's ExVideoTagHeader for IsExHeader video tags) */

#define FLV_TAG_HEADER 11
#define FLV_TAG_TRAILER 4

static void
flv_cache_clear (FlvCache * cache)
{
  gst_clear_buffer (&cache->file_header);
  gst_clear_buffer (&cache->metadata);
  gst_clear_buffer (&cache->video_config);
  gst_clear_buffer (&cache->audio_config);
  cache->has_video = cache->has_audio = FALSE;
}

/* Keeps bytes [offset, offset+size) of buf in *slot unless it has them */
static void
flv_cache_store (GstBuffer ** slot, GstBuffer * buf, gsize offset,
    gsize size, gboolean * changed)
{
  GstBuffer *copy;

  if (*slot && gst_buffer_get_size (*slot) == size) {
    GstMapInfo map;
    gboolean same = FALSE;

    if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
      same = gst_buffer_memcmp (*slot, 0, map.data + offset, size) == 0;
      gst_buffer_unmap (buf, &map);
    }
    if (same)
      return;
  }
  copy = gst_buffer_copy_region (buf, GST_BUFFER_COPY_MEMORY, offset, size);
  if (!copy)
    return;
  GST_BUFFER_FLAG_SET (copy, GST_BUFFER_FLAG_HEADER);
  gst_buffer_replace (slot, copy);
  gst_buffer_unref (copy);
  *changed = TRUE;
}

/* An AMF0 string marker (0x02) + u16 length + bytes equal to name */
static gboolean
amf0_string_is (const guint8 * p, gsize size, const gchar * name,
    gsize * consumed)
{
  gsize n = strlen (name);

  if (size < 3 + n || p[0] != 0x02 || ((gsize) p[1] << 8 | p[2]) != n ||
      memcmp (p + 3, name, n) != 0)
    return FALSE;
  *consumed = 3 + n;
  return TRUE;
}

static gboolean
flv_is_metadata (const guint8 * p, gsize size)
{
  gsize used;

  if (amf0_string_is (p, size, "@setDataFrame", &used)) {
    p += used;
    size -= used;
  }
  return amf0_string_is (p, size, "onMetaData", &used);
}

/* Updates cache from the tags in buf and says what buf holds */
static void
flv_cache_scan (FlvCache * cache, GstBuffer * buf, FlvScan * scan)
{
  GstMapInfo map;
  gsize off = 0;
  gboolean any = FALSE;

  memset (scan, 0, sizeof (*scan));
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;

  if (map.size >= 13 && memcmp (map.data, "FLV", 3) == 0) {
    /* (byte by byte: GST_READ_UINT32_BE may read unaligned) */
    guint32 hlen = (guint32) map.data[5] << 24 | map.data[6] << 16 |
        map.data[7] << 8 | map.data[8];

    if (hlen < 9 || hlen > map.size - 4)
      hlen = 9;
    if (map.data[4] & 0x01)
      cache->has_video = TRUE;
    if (map.data[4] & 0x04)
      cache->has_audio = TRUE;
    flv_cache_store (&cache->file_header, buf, 0, hlen + 4, &scan->changed);
    off = hlen + 4;
    any = TRUE;
  }

  scan->headers_only = TRUE;
  while (map.size - off >= FLV_TAG_HEADER) {
    const guint8 *t = map.data + off;
    const guint8 *p = t + FLV_TAG_HEADER;
    gsize len = GST_READ_UINT24_BE (t + 1);
    gsize total = FLV_TAG_HEADER + len + FLV_TAG_TRAILER;

    if (total > map.size - off)
      break;                    /* incomplete: not ours to judge */
    any = TRUE;

    switch (t[0] & 0x1f) {
      case 8:                  /* audio */
        cache->has_audio = TRUE;
        if (len >= 2 && (p[0] >> 4) == 10 && p[1] == 0)
          flv_cache_store (&cache->audio_config, buf, off, total,
              &scan->changed);
        else
          scan->headers_only = FALSE;
        break;
      case 9:{                 /* video */
        guint frame_type;
        gboolean config;

        if (len < 1) {
          scan->headers_only = FALSE;
          break;
        }
        cache->has_video = TRUE;
        if (p[0] & 0x80) {
          /* ExVideoTagHeader: packet type 0 = SequenceStart */
          frame_type = (p[0] >> 4) & 0x07;
          config = (p[0] & 0x0f) == 0;
        } else {
          guint codec = p[0] & 0x0f;

          frame_type = p[0] >> 4;
          /* AVC (7) and HEVC (12): AVCPacketType 0 = sequence header */
          config = (codec == 7 || codec == 12) && len >= 2 && p[1] == 0;
        }
        if (config) {
          flv_cache_store (&cache->video_config, buf, off, total,
              &scan->changed);
        } else {
          scan->headers_only = FALSE;
          if (frame_type == 1)
            scan->keyframe = TRUE;
        }
        break;
      }
      case 18:                 /* script data */
        if (flv_is_metadata (p, len))
          flv_cache_store (&cache->metadata, buf, off, total, &scan->changed);
        else
          scan->headers_only = FALSE;
        break;
      default:
        scan->headers_only = FALSE;
        break;
    }
    off += total;
  }
  if (!any || off < map.size)
    scan->headers_only = FALSE;
  gst_buffer_unmap (buf, &map);
}

static void
add_header_value (GValue * array, GstBuffer * buf)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, GST_TYPE_BUFFER);
  gst_value_set_buffer (&v, buf);
  gst_value_array_append_and_take_value (array, &v);
}

/* caps with a streamheader made of what the cache knows (header,
 * metadata, video and audio sequence headers, in flvmux's order) */
static GstCaps *
flv_cache_make_caps (FlvCache * cache, GstCaps * caps)
{
  GValue array = G_VALUE_INIT;
  GstBuffer *header;

  if (!cache->metadata && !cache->video_config && !cache->audio_config)
    return gst_caps_ref (caps);

  caps = gst_caps_copy (caps);
  g_value_init (&array, GST_TYPE_ARRAY);
  if (cache->file_header) {
    header = gst_buffer_ref (cache->file_header);
  } else {
    static const guint8 tmpl[13] = { 'F', 'L', 'V', 1, 0, 0, 0, 0, 9 };
    guint8 *data = g_memdup2 (tmpl, sizeof (tmpl));

    data[4] = (cache->has_video ? 0x01 : 0) | (cache->has_audio ? 0x04 : 0);
    header = gst_buffer_new_wrapped (data, sizeof (tmpl));
    GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
  }
  add_header_value (&array, header);
  gst_buffer_unref (header);
  if (cache->metadata)
    add_header_value (&array, cache->metadata);
  if (cache->video_config)
    add_header_value (&array, cache->video_config);
  if (cache->audio_config)
    add_header_value (&array, cache->audio_config);
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &array);
  return caps;
}

static void
flv_cache_scan_caps (FlvCache * cache, GstCaps * caps)
{
  const GValue *sh;
  FlvScan scan;
  guint i;

  if (!caps || gst_caps_get_size (caps) < 1)
    return;
  sh = gst_structure_get_value (gst_caps_get_structure (caps, 0),
      "streamheader");
  if (!sh)
    return;
  if (GST_VALUE_HOLDS_BUFFER (sh)) {
    flv_cache_scan (cache, gst_value_get_buffer (sh), &scan);
  } else if (GST_VALUE_HOLDS_ARRAY (sh)) {
    for (i = 0; i < gst_value_array_get_size (sh); i++) {
      const GValue *v = gst_value_array_get_value (sh, i);

      if (GST_VALUE_HOLDS_BUFFER (v))
        flv_cache_scan (cache, gst_value_get_buffer (v), &scan);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* children */

static const gchar *
fallback_factory_name (GstRtmfpAutoSink * self, gchar ** owned)
{
  static const gchar *const autos[] = { "rtmp2sink", "rtmpsink" };
  GstElementFactory *f;
  guint i;

  GST_OBJECT_LOCK (self);
  *owned = g_strdup (self->fallback_element);
  GST_OBJECT_UNLOCK (self);
  if (*owned)
    return *owned;
  for (i = 0; i < G_N_ELEMENTS (autos); i++) {
    if ((f = gst_element_factory_find (autos[i]))) {
      gst_object_unref (f);
      return autos[i];
    }
  }
  return NULL;
}

static gboolean
factory_exists (const gchar * name)
{
  GstElementFactory *f;

  if (!name || !(f = gst_element_factory_find (name)))
    return FALSE;
  gst_object_unref (f);
  return TRUE;
}

static void
set_if_exists (GstElement * el, const gchar * name, const GValue * value)
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

/* The children do not preroll (async=false): a sink added to a running
 * bin must not go async, which would take the whole pipeline back to
 * PAUSED until it prerolls, and the first one behaves the same way */
static void
set_async_false (GstElement * el)
{
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_BOOLEAN);
  g_value_set_boolean (&v, FALSE);
  set_if_exists (el, "async", &v);
  g_value_unset (&v);
}

/* A new, configured child sink for proto (owned, not floating), or NULL */
static GstElement *
make_child (GstRtmfpAutoSink * self, Protocol proto)
{
  GstElement *el;
  gchar *factory, *location;
  guint timeout;
  GValue v = G_VALUE_INIT;

  if (proto == PROTO_RTMFP) {
    GST_OBJECT_LOCK (self);
    factory = g_strdup (self->rtmfp_element);
    location = g_strdup (self->location);
    timeout = self->rtmfp_timeout;
    GST_OBJECT_UNLOCK (self);
  } else {
    gchar *owned;
    const gchar *name = fallback_factory_name (self, &owned);

    factory = g_strdup (name);
    g_free (owned);
    location = get_fallback_location (self);
    timeout = 0;
  }

  el = factory ? gst_element_factory_make (factory, NULL) : NULL;
  if (!el) {
    GST_WARNING_OBJECT (self, "could not make \"%s\"", GST_STR_NULL (factory));
    g_free (factory);
    g_free (location);
    return NULL;
  }
  gst_object_ref_sink (el);
  set_async_false (el);

  if (location) {
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, location);
    set_if_exists (el, "location", &v);
    g_value_unset (&v);
  }
  if (timeout) {
    /* rtmfpsink gives up (and posts an error) when we would switch */
    g_value_init (&v, G_TYPE_UINT);
    g_value_set_uint (&v, timeout);
    set_if_exists (el, "timeout", &v);
    g_value_unset (&v);
  }
  GST_DEBUG_OBJECT (self, "made %" GST_PTR_FORMAT " (%s) for %s", el,
      factory, GST_STR_NULL (location));
  g_free (factory);
  g_free (location);
  return el;
}


/* The direct child of self that obj is or is inside of (ref), or NULL */
static GstElement *
find_child (GstRtmfpAutoSink * self, GstObject * obj)
{
  GstObject *cur, *parent;

  if (!obj)
    return NULL;
  cur = gst_object_ref (obj);
  while (cur) {
    parent = gst_object_get_parent (cur);
    if (parent == GST_OBJECT_CAST (self)) {
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

/* Is the rtmfp sink el publishing?  For sinks that post no message:
 * rtmfpsink's stats say state "streaming" once it publishes. */
static gboolean
child_stats_say_publishing (GstElement * el)
{
  GstStructure *s = NULL;
  const gchar *state;
  gboolean ret = FALSE;

  if (!g_object_class_find_property (G_OBJECT_GET_CLASS (el), "stats"))
    return FALSE;
  g_object_get (el, "stats", &s, NULL);
  if (s && (state = gst_structure_get_string (s, "state")))
    ret = g_str_equal (state, "streaming");
  if (s)
    gst_structure_free (s);
  return ret;
}

/* Upstream events from the active child go upstream; others are dropped */
static gboolean
internal_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpAutoSink *self = gst_pad_get_element_private (pad);
  gboolean active;

  g_mutex_lock (&self->lock);
  active = self->child_pad == pad;
  g_mutex_unlock (&self->lock);
  if (!active) {
    gst_event_unref (event);
    return FALSE;
  }
  return gst_pad_push_event (self->sinkpad, event);
}

static gboolean
internal_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstRtmfpAutoSink *self = gst_pad_get_element_private (pad);

  return gst_pad_peer_query (self->sinkpad, query);
}

static GstPad *
make_internal_pad (GstRtmfpAutoSink * self, GstElement * el)
{
  GstPad *pad, *peer;
  gchar *name = g_strdup_printf ("%s_src", GST_ELEMENT_NAME (el));

  pad = gst_pad_new_from_static_template (&internal_template, name);
  g_free (name);
  gst_object_ref_sink (pad);
  gst_pad_set_element_private (pad, self);
  gst_pad_set_event_function (pad, internal_src_event);
  gst_pad_set_query_function (pad, internal_src_query);
  gst_pad_set_active (pad, TRUE);
  peer = gst_element_get_static_pad (el, "sink");
  /* rtmfpsink's FLV input is a request pad */
  if (!peer)
    peer = gst_element_request_pad_simple (el, "sink");
  if (!peer || gst_pad_link_full (pad, peer,
          GST_PAD_LINK_CHECK_NOTHING) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT (self, "could not link to %" GST_PTR_FORMAT, el);
  gst_clear_object (&peer);
  return pad;
}

static void
release_internal_pad (GstPad * pad)
{
  GstPad *peer = gst_pad_get_peer (pad);

  if (peer) {
    gst_pad_unlink (pad, peer);
    gst_object_unref (peer);
  }
  gst_pad_set_active (pad, FALSE);
  gst_object_unref (pad);
}

/* Adds el to the bin as the active child (takes the ref) */
static void
attach_child (GstRtmfpAutoSink * self, GstElement * el, Protocol proto,
    gboolean publishing)
{
  GstPad *pad;

  gst_bin_add (GST_BIN_CAST (self), el);
  pad = make_internal_pad (self, el);

  g_mutex_lock (&self->lock);
  self->child = el;
  self->child_pad = pad;
  self->child_proto = proto;
  self->child_id = ++self->next_id;
  self->child_publishing = publishing;
  if (proto == PROTO_RTMFP && !publishing)
    arm_connect_timer_locked (self);
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  self->active_protocol = proto;
  GST_OBJECT_UNLOCK (self);
}

static void cancel_timer (GstClockID * id);

/* lock held: the active child stops being it (messages from it are
 * ignored from now on); returns it and its pad */
static void
steal_child_locked (GstRtmfpAutoSink * self, GstElement ** el, GstPad ** pad)
{
  *el = g_steal_pointer (&self->child);
  *pad = g_steal_pointer (&self->child_pad);
  self->child_id = ++self->next_id;
  self->child_publishing = FALSE;
  cancel_timer (&self->connect_timer);
}

/* Shuts a former child down and takes it out (stream lock held) */
static void
retire_child (GstRtmfpAutoSink * self, GstElement * el, GstPad * pad)
{
  if (!el)
    return;
  GST_DEBUG_OBJECT (self, "retiring %" GST_PTR_FORMAT, el);
  /* Shut down before the next sink starts: an RTMP publisher must have
   * left the server before the RTMFP one publishes the same name. */
  gst_element_set_locked_state (el, TRUE);
  gst_element_set_state (el, GST_STATE_NULL);
  if (pad)
    release_internal_pad (pad);
  gst_bin_remove (GST_BIN_CAST (self), el);
  gst_object_unref (el);
}

/* Takes the active child out (stream lock held) and shuts it down */
static void
detach_child (GstRtmfpAutoSink * self)
{
  GstElement *el;
  GstPad *pad;

  g_mutex_lock (&self->lock);
  steal_child_locked (self, &el, &pad);
  g_mutex_unlock (&self->lock);
  retire_child (self, el, pad);
}

typedef struct
{
  GstPad *pad;
  GstCaps *caps;
} ReplayData;

static gboolean
replay_sticky (GstPad * pad, GstEvent ** event, gpointer user_data)
{
  ReplayData *d = user_data;
  GstEvent *ev = *event;

  switch (GST_EVENT_TYPE (ev)) {
    case GST_EVENT_EOS:
    case GST_EVENT_STREAM_GROUP_DONE:
      return TRUE;
    case GST_EVENT_CAPS:
      ev = d->caps ? gst_event_new_caps (d->caps) : gst_event_ref (ev);
      break;
    default:
      gst_event_ref (ev);
      break;
  }
  /* stored on the pad even when the sink does not take it yet */
  gst_pad_push_event (d->pad, ev);
  return TRUE;
}

/* Asks upstream for a keyframe (and the codec headers with it), so the
 * new sink starts at once rather than at the end of the GOP: the
 * upstream force-key-unit event of GstVideoEncoder, h264parse and the
 * like (built by hand: same structure as
 * gst_video_event_new_upstream_force_key_unit) */
static void
request_keyframe (GstRtmfpAutoSink * self)
{
  GstStructure *s = gst_structure_new ("GstForceKeyUnit",
      "running-time", GST_TYPE_CLOCK_TIME, GST_CLOCK_TIME_NONE,
      "all-headers", G_TYPE_BOOLEAN, TRUE,
      "count", G_TYPE_UINT, 0, NULL);

  GST_DEBUG_OBJECT (self, "asking upstream for a keyframe");
  gst_pad_push_event (self->sinkpad,
      gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, s));
}

/* Performs the pending switch, if any (sinkpad STREAM_LOCK held) */
static void
perform_switch (GstRtmfpAutoSink * self)
{
  Protocol target, previous;
  GstElement *el, *adopt, *old;
  GstPad *old_pad;
  gchar *reason;
  GstCaps *caps;
  ReplayData d;

  g_mutex_lock (&self->lock);
  target = self->pending;
  if (!self->running || target == PROTO_NONE) {
    g_mutex_unlock (&self->lock);
    return;
  }
  adopt = g_steal_pointer (&self->adopt);
  g_mutex_unlock (&self->lock);

  el = adopt ? adopt : make_child (self, target);

  /* Taking the request and retiring the active child is one step: a late
   * error of the old sink must not ask for another switch */
  g_mutex_lock (&self->lock);
  if (!self->running || self->pending != target) {
    g_mutex_unlock (&self->lock);
    if (el) {
      gst_element_set_state (el, GST_STATE_NULL);
      gst_object_unref (el);
    }
    return;
  }
  self->pending = PROTO_NONE;
  reason = g_steal_pointer (&self->pending_reason);
  previous = self->child ? self->child_proto : PROTO_NONE;
  if (el) {
    steal_child_locked (self, &old, &old_pad);
    /* what requests compare with until the new one is attached */
    self->child_proto = target;
  }
  g_mutex_unlock (&self->lock);

  if (!el) {
    g_free (reason);
    if (target == PROTO_RTMP && previous == PROTO_RTMFP) {
      /* have_fallback said it exists: nothing left to publish with */
      GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
          (_("Could not create the RTMP sink to fall back to.")),
          ("could not make a sink for %s", PROTO_NAME (target)));
    } else {
      g_mutex_lock (&self->lock);
      schedule_probe_locked (self);
      g_mutex_unlock (&self->lock);
    }
    return;
  }
  GST_INFO_OBJECT (self, "switching %s -> %s (%s)", PROTO_NAME (previous),
      PROTO_NAME (target), reason);
  retire_child (self, old, old_pad);
  attach_child (self, el, target, adopt != NULL);
  if (adopt)
    gst_element_set_locked_state (el, FALSE);
  gst_element_sync_state_with_parent (el);

  /* The new sink starts with the stream's headers in the caps, then the
   * stream from the next keyframe */
  caps = gst_pad_get_current_caps (self->sinkpad);
  d.caps = caps ? flv_cache_make_caps (&self->cache, caps) : NULL;
  d.pad = self->child_pad;
  gst_pad_sticky_events_foreach (self->sinkpad, replay_sticky, &d);
  gst_clear_caps (&d.caps);
  gst_clear_caps (&caps);
  self->need_keyframe = TRUE;
  if (self->cache.has_video)
    request_keyframe (self);

  g_object_notify (G_OBJECT (self), "active-protocol");
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self),
          gst_structure_new ("rtmfp-fallback",
              "protocol", G_TYPE_STRING, PROTO_NAME (target),
              "previous", G_TYPE_STRING, PROTO_NAME (previous),
              "reason", G_TYPE_STRING, reason, NULL)));
  g_free (reason);

  if (target == PROTO_RTMP) {
    g_mutex_lock (&self->lock);
    schedule_probe_locked (self);
    g_mutex_unlock (&self->lock);
  }
}

/* ------------------------------------------------------------------------ */
/* switch requests and timers */

static void
switch_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstElement *el = NULL;
  GstPad *peer;
  gboolean wanted;

  g_mutex_lock (&self->lock);
  wanted = self->running && self->pending != PROTO_NONE &&
      self->pending_urgent;
  if (wanted && self->child)
    el = gst_object_ref (self->child);
  g_mutex_unlock (&self->lock);
  if (!wanted)
    return;

  /* Wake the streaming thread if it waits in the failed sink: it then
   * sees the request and switches itself */
  if (el && (peer = gst_element_get_static_pad (el, "sink"))) {
    gst_pad_send_event (peer, gst_event_new_flush_start ());
    gst_object_unref (peer);
  }
  gst_clear_object (&el);

  /* Nobody streaming (no data, or paused before data): switch here */
  if (GST_PAD_STREAM_TRYLOCK (self->sinkpad)) {
    perform_switch (self);
    GST_PAD_STREAM_UNLOCK (self->sinkpad);
  }
}

static void
call_async (GstRtmfpAutoSink * self, GstElementCallAsyncFunc func,
    gpointer data, GDestroyNotify notify)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
  gst_element_call_async (GST_ELEMENT_CAST (self), func, data, notify);
  G_GNUC_END_IGNORE_DEPRECATIONS;
}

/* lock held.  urgent: at once (the active sink failed; a job wakes the
 * streaming thread), else at the next keyframe.  adopt: a publishing sink
 * to take over, owned by the request if accepted (TRUE). */
static gboolean
request_switch_locked (GstRtmfpAutoSink * self, Protocol proto,
    const gchar * reason, gboolean urgent, GstElement * adopt)
{
  if (!self->running || self->pending != PROTO_NONE ||
      self->child_proto == proto)
    return FALSE;
  GST_INFO_OBJECT (self, "requesting %s (%s, %s)", PROTO_NAME (proto),
      reason, urgent ? "now" : "at the next keyframe");
  self->pending = proto;
  self->pending_urgent = urgent;
  g_free (self->pending_reason);
  self->pending_reason = g_strdup (reason);
  self->adopt = adopt;
  if (urgent)
    call_async (self, switch_job, NULL, NULL);
  return TRUE;
}

static void
cancel_timer (GstClockID * id)
{
  if (*id) {
    gst_clock_id_unschedule (*id);
    gst_clock_id_unref (*id);
    *id = NULL;
  }
}

typedef struct
{
  GstRtmfpAutoSink *self;
  guint id;
  ProbeResult result;
} JobData;

static JobData *
job_data_new (GstRtmfpAutoSink * self, guint id, ProbeResult result)
{
  JobData *d = g_new0 (JobData, 1);

  d->self = gst_object_ref (self);
  d->id = id;
  d->result = result;
  return d;
}

static void
job_data_free (gpointer p)
{
  JobData *d = p;

  gst_object_unref (d->self);
  g_free (d);
}

/* lock held: a one-shot timer in seconds on the system clock */
static GstClockID
start_timer (GstRtmfpAutoSink * self, guint seconds, GstClockCallback cb,
    guint id)
{
  GstClockID cid = gst_clock_new_single_shot_id (self->sysclock,
      gst_clock_get_time (self->sysclock) + seconds * GST_SECOND);

  gst_clock_id_wait_async (cid, cb, job_data_new (self, id, 0),
      job_data_free);
  return cid;
}

static void
connect_check_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  JobData *d = user_data;
  GstElement *el = NULL;
  gboolean publishing;

  g_mutex_lock (&self->lock);
  if (self->running && self->child_id == d->id && self->child &&
      !self->child_publishing)
    el = gst_object_ref (self->child);
  g_mutex_unlock (&self->lock);
  if (!el)
    return;

  publishing = child_stats_say_publishing (el);
  gst_object_unref (el);

  g_mutex_lock (&self->lock);
  if (self->child_id == d->id && !self->child_publishing) {
    if (publishing) {
      self->child_publishing = TRUE;
    } else if (self->have_fallback) {
      gchar *reason = g_strdup_printf ("RTMFP not publishing within %u s",
          self->rtmfp_timeout);

      request_switch_locked (self, PROTO_RTMP, reason, TRUE, NULL);
      g_free (reason);
    }
  }
  g_mutex_unlock (&self->lock);
}

static gboolean
connect_timer_cb (GstClock * clock, GstClockTime t, GstClockID id,
    gpointer user_data)
{
  JobData *d = user_data;

  if (t == GST_CLOCK_TIME_NONE)
    return TRUE;                /* unscheduled */
  /* stats are read off the clock thread */
  call_async (d->self, connect_check_job, job_data_new (d->self, d->id, 0),
      job_data_free);
  return TRUE;
}

/* lock held */
static void
arm_connect_timer_locked (GstRtmfpAutoSink * self)
{
  guint timeout;

  GST_OBJECT_LOCK (self);
  timeout = self->rtmfp_timeout;
  GST_OBJECT_UNLOCK (self);
  cancel_timer (&self->connect_timer);
  self->connect_timer = start_timer (self, timeout, connect_timer_cb,
      self->child_id);
}

/* ------------------------------------------------------------------------ */
/* background probe: a throwaway rtmfp sink in a private pipeline */

static void
probe_finish_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  JobData *d = user_data;
  GstElement *pipe, *sink, *adopt = NULL;
  GstBus *bus;
  ProbeResult result = d->result;
  gboolean wanted;

  g_mutex_lock (&self->lock);
  if (self->probe_id != d->id || !self->probe_pipe) {
    g_mutex_unlock (&self->lock);
    return;
  }
  pipe = g_steal_pointer (&self->probe_pipe);
  sink = g_steal_pointer (&self->probe_sink);
  cancel_timer (&self->probe_timeout);
  if (result == PROBE_FAILED && self->probe_reached)
    result = PROBE_REACHABLE;
  wanted = self->running && self->pending == PROTO_NONE &&
      self->child_proto == PROTO_RTMP;
  g_mutex_unlock (&self->lock);

  GST_INFO_OBJECT (self, "probe %u: %s", d->id,
      result == PROBE_PUBLISHING ? "publishing" :
      result == PROBE_REACHABLE ? "server reachable" : "failed");

  if (wanted && result == PROBE_PUBLISHING) {
    /* keep it running outside the pipeline until it takes over */
    adopt = gst_object_ref (sink);
    gst_element_set_locked_state (adopt, TRUE);
    gst_bin_remove (GST_BIN_CAST (pipe), adopt);
  }
  bus = gst_element_get_bus (pipe);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  gst_object_unref (sink);

  g_mutex_lock (&self->lock);
  if (wanted && result != PROBE_FAILED && request_switch_locked (self,
          PROTO_RTMFP, result == PROBE_PUBLISHING ? "RTMFP probe publishes" :
          "RTMFP server reachable", FALSE, adopt))
    adopt = NULL;
  else
    schedule_probe_locked (self);
  g_mutex_unlock (&self->lock);
  if (adopt) {
    gst_element_set_state (adopt, GST_STATE_NULL);
    gst_object_unref (adopt);
  }
}

static void
probe_finish (GstRtmfpAutoSink * self, guint id, ProbeResult result)
{
  call_async (self, probe_finish_job, job_data_new (self, id, result),
      job_data_free);
}

static GstBusSyncReply
probe_bus_handler (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  JobData *d = user_data;
  GstRtmfpAutoSink *self = d->self;
  const GstStructure *s;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      probe_finish (self, d->id, PROBE_FAILED);
      break;
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, MSG_RTMFP_CONNECTED)) {
        probe_finish (self, d->id, PROBE_PUBLISHING);
      } else if (gst_structure_has_name (s, MSG_RTMFP_STATUS)) {
        const gchar *code = gst_structure_get_string (s, "code");

        if (!g_strcmp0 (code, CODE_PUBLISH_START)) {
          probe_finish (self, d->id, PROBE_PUBLISHING);
        } else if (!g_strcmp0 (code, CODE_CONNECT_SUCCESS)) {
          g_mutex_lock (&self->lock);
          if (self->probe_id == d->id)
            self->probe_reached = TRUE;
          g_mutex_unlock (&self->lock);
        }
      }
      break;
    default:
      break;
  }
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static void
probe_timeout_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  JobData *d = user_data;
  GstElement *sink = NULL;
  gboolean publishing;

  g_mutex_lock (&self->lock);
  if (self->probe_id == d->id && self->probe_sink)
    sink = gst_object_ref (self->probe_sink);
  g_mutex_unlock (&self->lock);
  if (!sink)
    return;
  publishing = child_stats_say_publishing (sink);
  gst_object_unref (sink);
  probe_finish (self, d->id, publishing ? PROBE_PUBLISHING : PROBE_FAILED);
}

static gboolean
probe_timeout_cb (GstClock * clock, GstClockTime t, GstClockID id,
    gpointer user_data)
{
  JobData *d = user_data;

  if (t != GST_CLOCK_TIME_NONE)
    call_async (d->self, probe_timeout_job, job_data_new (d->self, d->id, 0),
        job_data_free);
  return TRUE;
}

static void
probe_start_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstElement *pipe, *sink;
  GstBus *bus;
  guint id, timeout;

  g_mutex_lock (&self->lock);
  if (!self->running || self->child_proto != PROTO_RTMP ||
      self->pending != PROTO_NONE || self->probe_pipe) {
    g_mutex_unlock (&self->lock);
    return;
  }
  id = ++self->probe_id;
  g_mutex_unlock (&self->lock);

  sink = make_child (self, PROTO_RTMFP);
  if (!sink)
    return;
  /* reaches PAUSED without data (async=false); rtmfpsink connects when
   * it starts */
  pipe = gst_pipeline_new (NULL);
  gst_bin_add (GST_BIN_CAST (pipe), sink);
  bus = gst_element_get_bus (pipe);
  gst_bus_set_sync_handler (bus, probe_bus_handler,
      job_data_new (self, id, 0), job_data_free);
  gst_object_unref (bus);

  GST_OBJECT_LOCK (self);
  timeout = self->rtmfp_timeout;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  if (!self->running || self->probe_id != id || self->probe_pipe) {
    g_mutex_unlock (&self->lock);
    gst_object_unref (pipe);
    gst_object_unref (sink);
    return;
  }
  self->probe_pipe = pipe;
  self->probe_sink = sink;
  self->probe_reached = FALSE;
  self->probe_timeout = start_timer (self, timeout, probe_timeout_cb, id);
  g_mutex_unlock (&self->lock);

  GST_DEBUG_OBJECT (self, "probe %u starts", id);
  /* probe_finish_job may take it down meanwhile: keep a ref */
  gst_object_ref (pipe);
  if (gst_element_set_state (pipe, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE)
    probe_finish (self, id, PROBE_FAILED);
  gst_object_unref (pipe);
}

static gboolean
probe_timer_cb (GstClock * clock, GstClockTime t, GstClockID id,
    gpointer user_data)
{
  JobData *d = user_data;

  if (t != GST_CLOCK_TIME_NONE)
    call_async (d->self, probe_start_job, NULL, NULL);
  return TRUE;
}

/* lock held: the next probe in probe-interval seconds, if wanted */
static void
schedule_probe_locked (GstRtmfpAutoSink * self)
{
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->probe_interval;
  GST_OBJECT_UNLOCK (self);
  if (!interval || !self->have_rtmfp || !self->running || self->probe_pipe ||
      self->child_proto != PROTO_RTMP)
    return;
  cancel_timer (&self->probe_timer);
  self->probe_timer = start_timer (self, interval, probe_timer_cb, 0);
}

/* ------------------------------------------------------------------------ */
/* liveness: a publishing rtmfpsink that keeps sending but hears nothing
 * back for rtmfp-timeout seconds has lost its session, even if the
 * session itself would wait much longer to say so */

static void
health_job (GstElement * element, gpointer user_data)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstElement *el = NULL;
  GstStructure *st = NULL;
  guint64 rx, tx;
  guint id, timeout;
  gint64 now;

  g_mutex_lock (&self->lock);
  if (self->running && self->child && self->child_proto == PROTO_RTMFP &&
      self->child_publishing && self->pending == PROTO_NONE)
    el = gst_object_ref (self->child);
  id = self->child_id;
  g_mutex_unlock (&self->lock);
  if (!el)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (el), "stats"))
    g_object_get (el, "stats", &st, NULL);
  gst_object_unref (el);
  if (!st)
    return;
  if (!gst_structure_get_uint64 (st, "packets-received", &rx) ||
      !gst_structure_get_uint64 (st, "packets-sent", &tx)) {
    gst_structure_free (st);
    return;
  }
  gst_structure_free (st);

  GST_OBJECT_LOCK (self);
  timeout = self->rtmfp_timeout;
  GST_OBJECT_UNLOCK (self);
  now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  if (id != self->health_id || rx != self->health_rx) {
    self->health_id = id;
    self->health_rx = rx;
    self->health_tx = tx;
    self->health_rx_at = now;
  } else if (id == self->child_id && tx > self->health_tx &&
      now - self->health_rx_at >= (gint64) timeout * G_USEC_PER_SEC &&
      self->have_fallback) {
    gchar *reason = g_strdup_printf ("RTMFP session silent for %u s",
        timeout);

    request_switch_locked (self, PROTO_RTMP, reason, TRUE, NULL);
    g_free (reason);
  }
  g_mutex_unlock (&self->lock);
}

static gboolean
health_timer_cb (GstClock * clock, GstClockTime t, GstClockID id,
    gpointer user_data)
{
  JobData *d = user_data;

  if (t != GST_CLOCK_TIME_NONE)
    call_async (d->self, health_job, NULL, NULL);
  return TRUE;
}

/* lock held */
static void
start_health_timer_locked (GstRtmfpAutoSink * self)
{
  cancel_timer (&self->health_timer);
  self->health_id = 0;
  self->health_timer = gst_clock_new_periodic_id (self->sysclock,
      gst_clock_get_time (self->sysclock) + HEALTH_PERIOD, HEALTH_PERIOD);
  gst_clock_id_wait_async (self->health_timer, health_timer_cb,
      job_data_new (self, 0, 0), job_data_free);
}

/* Stops timers and the probe (not with lock held) */
static void
stop_background (GstRtmfpAutoSink * self)
{
  GstElement *pipe, *sink, *adopt;

  g_mutex_lock (&self->lock);
  cancel_timer (&self->connect_timer);
  cancel_timer (&self->probe_timer);
  cancel_timer (&self->probe_timeout);
  cancel_timer (&self->health_timer);
  pipe = g_steal_pointer (&self->probe_pipe);
  sink = g_steal_pointer (&self->probe_sink);
  self->probe_id++;
  adopt = g_steal_pointer (&self->adopt);
  g_mutex_unlock (&self->lock);

  if (adopt) {
    gst_element_set_state (adopt, GST_STATE_NULL);
    gst_object_unref (adopt);
  }
  if (pipe) {
    GstBus *bus = gst_element_get_bus (pipe);

    gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
    gst_object_unref (bus);
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
  }
  gst_clear_object (&sink);
}

/* ------------------------------------------------------------------------ */
/* data flow */

/* Is a switch due before buf (stream lock held)? */
static gboolean
switch_due (GstRtmfpAutoSink * self, const FlvScan * scan)
{
  gboolean due;

  g_mutex_lock (&self->lock);
  due = self->pending != PROTO_NONE && (self->pending_urgent ||
      !self->child || (scan && (scan->keyframe ||
              (!self->cache.has_video && !scan->headers_only))));
  g_mutex_unlock (&self->lock);
  return due;
}

static GstPad *
get_child_pad (GstRtmfpAutoSink * self, guint * id, Protocol * proto)
{
  GstPad *pad;

  g_mutex_lock (&self->lock);
  pad = self->child_pad ? gst_object_ref (self->child_pad) : NULL;
  *id = self->child_id;
  *proto = self->child_proto;
  g_mutex_unlock (&self->lock);
  return pad;
}

/* Is the child with this id being replaced at once? */
static gboolean
child_replaced (GstRtmfpAutoSink * self, guint id)
{
  gboolean replaced;

  g_mutex_lock (&self->lock);
  replaced = self->child_id != id || (self->pending != PROTO_NONE &&
      self->pending_urgent);
  g_mutex_unlock (&self->lock);
  return replaced;
}

/* After the active child returned ret: is it being replaced?  A failing
 * rtmfp child is replaced even if its error message has not come yet. */
static gboolean
child_failed (GstRtmfpAutoSink * self, guint id, Protocol proto,
    GstFlowReturn ret)
{
  gboolean failed;

  g_mutex_lock (&self->lock);
  failed = self->child_id != id || (self->pending != PROTO_NONE &&
      self->pending_urgent);
  if (!failed && proto == PROTO_RTMFP && ret != GST_FLOW_FLUSHING &&
      self->have_fallback) {
    gchar *reason = g_strdup_printf ("RTMFP sink returned %s",
        gst_flow_get_name (ret));

    /* not urgent: no job needed, this thread switches */
    if (request_switch_locked (self, PROTO_RTMP, reason, FALSE, NULL)) {
      self->pending_urgent = TRUE;
      failed = TRUE;
    }
    g_free (reason);
  }
  g_mutex_unlock (&self->lock);
  return failed;
}

static GstFlowReturn
gst_rtmfp_auto_sink_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (parent);
  GstFlowReturn ret = GST_FLOW_OK;
  FlvScan scan;
  guint attempt, id;
  Protocol proto;
  GstPad *out;

  flv_cache_scan (&self->cache, buf, &scan);

  for (attempt = 0; attempt < 3; attempt++) {
    if (switch_due (self, &scan))
      perform_switch (self);

    if (self->need_keyframe) {
      if (scan.headers_only) {
        /* already in the new sink's caps; newer ones go there too */
        if (scan.changed) {
          GstCaps *caps = gst_pad_get_current_caps (pad);

          if (caps) {
            GstCaps *sh = flv_cache_make_caps (&self->cache, caps);

            out = get_child_pad (self, &id, &proto);
            if (out) {
              gst_pad_push_event (out, gst_event_new_caps (sh));
              gst_object_unref (out);
            }
            gst_caps_unref (sh);
            gst_caps_unref (caps);
          }
        }
        ret = GST_FLOW_OK;
        break;
      }
      if (!scan.keyframe && self->cache.has_video) {
        GST_LOG_OBJECT (self, "waiting for a keyframe");
        ret = GST_FLOW_OK;
        break;
      }
      GST_DEBUG_OBJECT (self, "resuming at %" GST_PTR_FORMAT, buf);
      self->need_keyframe = FALSE;
    }

    out = get_child_pad (self, &id, &proto);
    if (!out) {
      ret = GST_FLOW_NOT_LINKED;
      break;
    }
    ret = gst_pad_push (out, gst_buffer_ref (buf));
    gst_object_unref (out);
    if (ret == GST_FLOW_OK)
      break;
    if (GST_PAD_IS_FLUSHING (pad)) {
      ret = GST_FLOW_FLUSHING;
      break;
    }
    if (!child_failed (self, id, proto, ret))
      break;
    GST_DEBUG_OBJECT (self, "%s sink returned %s: switching",
        PROTO_NAME (proto), gst_flow_get_name (ret));
    /* the buffer goes to the new sink (which waits for a keyframe) */
  }
  gst_buffer_unref (buf);
  return ret;
}

static gboolean
gst_rtmfp_auto_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (parent);
  guint id, attempt;
  Protocol proto;
  GstPad *out;
  gboolean ret = FALSE;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;

    gst_event_parse_caps (event, &caps);
    flv_cache_scan_caps (&self->cache, caps);
  }

  if (!GST_EVENT_IS_SERIALIZED (event)) {
    out = get_child_pad (self, &id, &proto);
    if (out) {
      ret = gst_pad_push_event (out, event);
      gst_object_unref (out);
    } else {
      gst_event_unref (event);
      ret = TRUE;
    }
    return ret;
  }

  /* serialized: the stream lock is held, a due switch happens first */
  for (attempt = 0; attempt < 3; attempt++) {
    if (switch_due (self, NULL))
      perform_switch (self);
    out = get_child_pad (self, &id, &proto);
    if (!out) {
      ret = GST_EVENT_IS_STICKY (event);
      break;
    }
    ret = gst_pad_push_event (out, gst_event_ref (event));
    gst_object_unref (out);
    if (ret || GST_PAD_IS_FLUSHING (pad) || !child_replaced (self, id))
      break;
    /* again, to the replacement */
  }
  gst_event_unref (event);
  return ret;
}

static gboolean
gst_rtmfp_auto_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (parent);
  guint id;
  Protocol proto;
  GstPad *out;
  gboolean ret;

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:
    case GST_QUERY_ACCEPT_CAPS:
      return gst_pad_query_default (pad, parent, query);
    default:
      break;
  }
  out = get_child_pad (self, &id, &proto);
  if (!out)
    return gst_pad_query_default (pad, parent, query);
  ret = gst_pad_peer_query (out, query);
  gst_object_unref (out);
  return ret;
}

/* ------------------------------------------------------------------------ */
/* bus: errors of the rtmfp child never reach the application */

static void
gst_rtmfp_auto_sink_handle_message (GstBin * bin, GstMessage * msg)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (bin);
  GstElement *child;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_STREAM_START:{
      /* a new sink announces the stream the old one had: not news */
      guint32 seqnum = gst_message_get_seqnum (msg);
      gboolean seen;

      g_mutex_lock (&self->lock);
      seen = seqnum == self->stream_start_seqnum;
      self->stream_start_seqnum = seqnum;
      g_mutex_unlock (&self->lock);
      if (seen) {
        gst_message_unref (msg);
        return;
      }
      break;
    }
    case GST_MESSAGE_ERROR:
      child = find_child (self, GST_MESSAGE_SRC (msg));
      if (child) {
        gboolean drop = FALSE;

        g_mutex_lock (&self->lock);
        if (child != self->child) {
          drop = TRUE;          /* a retired sink */
        } else if (self->child_proto == PROTO_RTMFP && self->have_fallback) {
          GError *err = NULL;
          gchar *reason;

          gst_message_parse_error (msg, &err, NULL);
          reason = g_strdup_printf ("RTMFP error: %s", err->message);
          request_switch_locked (self, PROTO_RTMP, reason, TRUE, NULL);
          g_free (reason);
          g_error_free (err);
          drop = TRUE;
        }
        g_mutex_unlock (&self->lock);
        gst_object_unref (child);
        if (drop) {
          GST_INFO_OBJECT (self, "swallowed %" GST_PTR_FORMAT, msg);
          gst_message_unref (msg);
          return;
        }
      }
      break;
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      gboolean publishing = FALSE;

      if (gst_structure_has_name (s, MSG_RTMFP_CONNECTED))
        publishing = TRUE;
      else if (gst_structure_has_name (s, MSG_RTMFP_STATUS))
        publishing = !g_strcmp0 (gst_structure_get_string (s, "code"),
            CODE_PUBLISH_START);
      if (publishing && (child = find_child (self, GST_MESSAGE_SRC (msg)))) {
        g_mutex_lock (&self->lock);
        if (child == self->child && self->child_proto == PROTO_RTMFP) {
          GST_INFO_OBJECT (self, "RTMFP sink publishes");
          self->child_publishing = TRUE;
          cancel_timer (&self->connect_timer);
        }
        g_mutex_unlock (&self->lock);
        gst_object_unref (child);
      }
      break;
    }
    default:
      break;
  }
  GST_BIN_CLASS (parent_class)->handle_message (bin, msg);
}

/* ------------------------------------------------------------------------ */
/* state */

/* NULL->READY: the first sink is rtmfpsink (a new one if the last run
 * ended on RTMP or the element changed); without one, RTMP at once */
static gboolean
setup_first_child (GstRtmfpAutoSink * self)
{
  gchar *rtmfp_factory, *owned;
  const gchar *fb;
  GstElement *el;
  Protocol proto;

  GST_OBJECT_LOCK (self);
  rtmfp_factory = g_strdup (self->rtmfp_element);
  GST_OBJECT_UNLOCK (self);
  fb = fallback_factory_name (self, &owned);

  g_mutex_lock (&self->lock);
  self->have_rtmfp = factory_exists (rtmfp_factory);
  self->have_fallback = factory_exists (fb);
  self->stream_start_seqnum = 0;
  self->pending = PROTO_NONE;
  g_clear_pointer (&self->pending_reason, g_free);
  g_mutex_unlock (&self->lock);
  g_free (owned);
  g_free (rtmfp_factory);

  flv_cache_clear (&self->cache);
  self->need_keyframe = FALSE;

  /* a new sink every run: the settings may have changed */
  detach_child (self);
  proto = self->have_rtmfp ? PROTO_RTMFP : PROTO_RTMP;
  if (!self->have_rtmfp)
    GST_ELEMENT_WARNING (self, CORE, MISSING_PLUGIN,
        (_("No RTMFP sink element is installed: publishing over RTMP.")),
        ("no \"%s\" element", DEFAULT_RTMFP_ELEMENT));
  el = make_child (self, proto);
  if (!el) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        (_("No RTMFP or RTMP sink element is installed.")),
        ("could not make a sink for %s", PROTO_NAME (proto)));
    return FALSE;
  }
  attach_child (self, el, proto, FALSE);
  return TRUE;
}

static GstStateChangeReturn
gst_rtmfp_auto_sink_change_state (GstElement * element,
    GstStateChange transition)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:{
      GstElement *el = NULL;

      g_mutex_lock (&self->lock);
      self->running = TRUE;
      g_mutex_unlock (&self->lock);
      if (!setup_first_child (self)) {
        g_mutex_lock (&self->lock);
        self->running = FALSE;
        g_mutex_unlock (&self->lock);
        return GST_STATE_CHANGE_FAILURE;
      }

      /* rtmfpsink starts (and may fail) here: if it does, RTMP instead */
      g_mutex_lock (&self->lock);
      if (self->child_proto == PROTO_RTMFP && self->child)
        el = gst_object_ref (self->child);
      g_mutex_unlock (&self->lock);
      if (el && gst_element_set_state (el, GST_STATE_READY) ==
          GST_STATE_CHANGE_FAILURE) {
        g_mutex_lock (&self->lock);
        if (self->have_fallback)
          request_switch_locked (self, PROTO_RTMP, "RTMFP sink failed to "
              "start", FALSE, NULL);
        g_mutex_unlock (&self->lock);
        GST_PAD_STREAM_LOCK (self->sinkpad);
        perform_switch (self);
        GST_PAD_STREAM_UNLOCK (self->sinkpad);
      }
      gst_clear_object (&el);
      g_mutex_lock (&self->lock);
      start_health_timer_locked (self);
      g_mutex_unlock (&self->lock);
      break;
    }
    case GST_STATE_CHANGE_READY_TO_NULL:
      g_mutex_lock (&self->lock);
      self->running = FALSE;
      self->pending = PROTO_NONE;
      g_mutex_unlock (&self->lock);
      stop_background (self);
      /* a switch under way finishes before the children go down */
      GST_PAD_STREAM_LOCK (self->sinkpad);
      GST_PAD_STREAM_UNLOCK (self->sinkpad);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_NULL_TO_READY &&
      ret == GST_STATE_CHANGE_FAILURE) {
    g_mutex_lock (&self->lock);
    self->running = FALSE;
    self->pending = PROTO_NONE;
    g_mutex_unlock (&self->lock);
    stop_background (self);
  } else if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    GST_PAD_STREAM_LOCK (self->sinkpad);
    self->need_keyframe = FALSE;
    GST_PAD_STREAM_UNLOCK (self->sinkpad);
  }
  return ret;
}

/* ------------------------------------------------------------------------ */
/* GObject */

static void
gst_rtmfp_auto_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_FALLBACK_LOCATION:
      g_free (self->fallback_location);
      self->fallback_location = g_value_dup_string (value);
      if (self->fallback_location && !*self->fallback_location)
        g_clear_pointer (&self->fallback_location, g_free);
      break;
    case PROP_RTMFP_TIMEOUT:
      self->rtmfp_timeout = g_value_get_uint (value);
      break;
    case PROP_PROBE_INTERVAL:
      self->probe_interval = g_value_get_uint (value);
      break;
    case PROP_RTMFP_ELEMENT:
      g_free (self->rtmfp_element);
      self->rtmfp_element = g_value_dup_string (value);
      if (!self->rtmfp_element)
        self->rtmfp_element = g_strdup (DEFAULT_RTMFP_ELEMENT);
      break;
    case PROP_FALLBACK_ELEMENT:
      g_free (self->fallback_element);
      self->fallback_element = g_value_dup_string (value);
      if (self->fallback_element && !*self->fallback_element)
        g_clear_pointer (&self->fallback_element, g_free);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_rtmfp_auto_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);

  if (prop_id == PROP_FALLBACK_LOCATION) {
    g_value_take_string (value, get_fallback_location (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_RTMFP_TIMEOUT:
      g_value_set_uint (value, self->rtmfp_timeout);
      break;
    case PROP_PROBE_INTERVAL:
      g_value_set_uint (value, self->probe_interval);
      break;
    case PROP_ACTIVE_PROTOCOL:
      g_value_set_string (value, self->active_protocol == PROTO_NONE ? NULL :
          proto_names[self->active_protocol]);
      break;
    case PROP_RTMFP_ELEMENT:
      g_value_set_string (value, self->rtmfp_element);
      break;
    case PROP_FALLBACK_ELEMENT:
      g_value_set_string (value, self->fallback_element);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_rtmfp_auto_sink_dispose (GObject * object)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);

  stop_background (self);
  g_mutex_lock (&self->lock);
  gst_clear_object (&self->child);
  if (self->child_pad) {
    GstPad *pad = g_steal_pointer (&self->child_pad);

    g_mutex_unlock (&self->lock);
    release_internal_pad (pad);
  } else {
    g_mutex_unlock (&self->lock);
  }
  G_OBJECT_CLASS (parent_class)->dispose (object);
}

static void
gst_rtmfp_auto_sink_finalize (GObject * object)
{
  GstRtmfpAutoSink *self = GST_RTMFP_AUTO_SINK (object);

  flv_cache_clear (&self->cache);
  g_free (self->location);
  g_free (self->fallback_location);
  g_free (self->rtmfp_element);
  g_free (self->fallback_element);
  g_free (self->pending_reason);
  gst_clear_object (&self->sysclock);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtmfp_auto_sink_class_init (GstRtmfpAutoSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_rtmfp_auto_sink_debug, "rtmfpautosink", 0,
      "RTMFP sink with RTMP fallback");

  gobject_class->set_property = gst_rtmfp_auto_sink_set_property;
  gobject_class->get_property = gst_rtmfp_auto_sink_get_property;
  gobject_class->dispose = gst_rtmfp_auto_sink_dispose;
  gobject_class->finalize = gst_rtmfp_auto_sink_finalize;

  /**
   * GstRtmfpAutoSink:location:
   *
   * Where to publish over RTMFP: `rtmfp://host[:port]/app/stream`.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "RTMFP location (rtmfp://host[:port]/app/stream)", DEFAULT_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:fallback-location:
   *
   * Where to publish over RTMP when RTMFP does not work.  Unset (or
   * empty), it is #GstRtmfpAutoSink:location with the scheme `rtmp://`
   * instead of `rtmfp://`: same host, port (if one is given), application
   * and stream.  Reading it gives the location in use.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_FALLBACK_LOCATION,
      g_param_spec_string ("fallback-location", "Fallback location",
          "RTMP location to fall back to (default: location with rtmp://)",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:rtmfp-timeout:
   *
   * Seconds the RTMFP sink has to start publishing before the bin falls
   * back to RTMP, and how long a publishing session may stay silent (also
   * the rtmfpsink's own #GstRtmfpSink:timeout, and the time a background
   * probe gets).
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_RTMFP_TIMEOUT,
      g_param_spec_uint ("rtmfp-timeout", "RTMFP timeout",
          "Seconds RTMFP has to start publishing before falling back to RTMP",
          1, 3600, DEFAULT_RTMFP_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:probe-interval:
   *
   * While on RTMP: seconds between attempts to publish over RTMFP again
   * in the background; 0 stays on RTMP.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_PROBE_INTERVAL,
      g_param_spec_uint ("probe-interval", "Probe interval",
          "Seconds between background RTMFP probes while on RTMP (0: never "
          "switch back)", 0, 86400, DEFAULT_PROBE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstRtmfpAutoSink:active-protocol:
   *
   * The protocol the stream is published with: `rtmfp` or `rtmp`.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_ACTIVE_PROTOCOL,
      g_param_spec_string ("active-protocol", "Active protocol",
          "The protocol in use: rtmfp or rtmp", "rtmfp",
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstRtmfpAutoSink:rtmfp-element:
   *
   * The factory name of the RTMFP sink (it gets `location` and `timeout`
   * when it has them).
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_RTMFP_ELEMENT,
      g_param_spec_string ("rtmfp-element", "RTMFP element",
          "Factory name of the RTMFP sink", DEFAULT_RTMFP_ELEMENT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstRtmfpAutoSink:fallback-element:
   *
   * The factory name of the RTMP sink (it gets `location` when it has
   * one).  Unset: rtmp2sink, or rtmpsink if only that is installed.
   *
   * Since: 1.0
   */
  g_object_class_install_property (gobject_class, PROP_FALLBACK_ELEMENT,
      g_param_spec_string ("fallback-element", "Fallback element",
          "Factory name of the RTMP sink (default: rtmp2sink, else rtmpsink)",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "RTMFP sink with RTMP fallback", "Sink/Network",
      "Publishes an FLV stream over RTMFP, or over RTMP when RTMFP does not "
      "work, switching back when it works again", "gst-rtmfp authors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_change_state);
  bin_class->handle_message =
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_handle_message);
}

static void
gst_rtmfp_auto_sink_init (GstRtmfpAutoSink * self)
{
  g_mutex_init (&self->lock);
  self->location = g_strdup (DEFAULT_LOCATION);
  self->rtmfp_timeout = DEFAULT_RTMFP_TIMEOUT;
  self->probe_interval = DEFAULT_PROBE_INTERVAL;
  self->rtmfp_element = g_strdup (DEFAULT_RTMFP_ELEMENT);
  self->active_protocol = PROTO_RTMFP;
  self->child_proto = PROTO_NONE;
  self->pending = PROTO_NONE;
  self->sysclock = gst_system_clock_obtain ();

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_event));
  gst_pad_set_query_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_rtmfp_auto_sink_query));
  gst_element_add_pad (GST_ELEMENT_CAST (self), self->sinkpad);

  /* the children come and go; the bin is a sink all along */
  gst_bin_set_suppressed_flags (GST_BIN_CAST (self),
      GST_ELEMENT_FLAG_SOURCE | GST_ELEMENT_FLAG_SINK);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}
