/* gst-check tests of rtmfpautosink (plugin "rtmfpfallback").
 *
 * "switch": the switching logic with stand-in sinks registered here
 * (testrtmfpsink behaves like rtmfpsink in a scripted way, testrtmpsink
 * records what an RTMP sink would get), pushed through a GstHarness.
 * "interop": real pipelines (x264enc, flvmux, the real rtmfpsink).
 * rtmfpsink publishes to a UDP port nobody listens on, the bin falls back
 * to nginx with Debian's libnginx-mod-rtmp (started here on loopback, on
 * the TCP port of the same number, with a config in the build directory)
 * and rtmp2src plays it back and decodes it; then rtmfp-server appears on
 * the UDP port, the bin switches back and rtmfpsrc plays it from there.
 * And mid-stream: rtmfp-server is killed while the bin publishes to it,
 * and the stream goes on through nginx.
 * "midstream": rtmfp-server with both listeners; the publisher reaches
 * its RTMFP side through a UDP relay in this program, which goes dark
 * mid-stream: the bin falls back to the same server's RTMP side, and
 * players (rtmp2src, rtmfpsrc) see at most one GOP of interruption.
 *
 * Without nginx or its RTMP module (or the system plugins the pipelines
 * need) the interop tests are left out and, if everything else passed,
 * the program exits with 77 (skipped) after printing why.
 *
 * Environment: RTMFP_SERVER = rtmfp-server binary (meson sets it);
 * NGINX, NGINX_RTMP_MODULE override where nginx and its module are.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/base/gstbasesink.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "fallbacktestutil.h"

/* ------------------------------------------------------------------ */
/* FLV by hand                                                         */

static const guint8 flv_header[13] =
    { 'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0 };

/* byte by byte (GST_WRITE_UINT32_BE may write unaligned) */
static void
put_be (guint8 * d, guint32 v, guint bytes)
{
  while (bytes--) {
    d[bytes] = v & 0xff;
    v >>= 8;
  }
}

static GstBuffer *
flv_tag (guint8 type, guint32 ts, const guint8 * payload, gsize len,
    gboolean header)
{
  gsize total = 11 + len + 4;
  guint8 *d = g_malloc0 (total);
  GstBuffer *buf;

  d[0] = type;
  put_be (d + 1, len, 3);
  put_be (d + 4, ts & 0xffffff, 3);
  d[7] = ts >> 24;
  memcpy (d + 11, payload, len);
  put_be (d + 11 + len, 11 + len, 4);
  buf = gst_buffer_new_wrapped (d, total);
  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = ts * GST_MSECOND;
  if (header)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  return buf;
}

static GstBuffer *
make_file_header (void)
{
  GstBuffer *b = gst_buffer_new_memdup (flv_header, sizeof (flv_header));

  GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_HEADER);
  return b;
}

static GstBuffer *
make_metadata (guint8 version)
{
  /* "onMetaData", ECMA array { "v": version } */
  const guint8 p[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D',
    'a', 't', 'a', 0x08, 0, 0, 0, 1, 0x00, 0x01, 'v', 0x00, 0x40, version,
    0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x09
  };
  return flv_tag (18, 0, p, sizeof (p), TRUE);
}

static GstBuffer *
make_avc_config (guint8 version)
{
  const guint8 p[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xc0, 0x1e, 0xff,
    0xe1, 0x00, 0x01, version
  };
  return flv_tag (9, 0, p, sizeof (p), TRUE);
}

static GstBuffer *
make_aac_config (void)
{
  const guint8 p[] = { 0xaf, 0x00, 0x12, 0x10 };
  return flv_tag (8, 0, p, sizeof (p), TRUE);
}

/* frame n of a stream with a keyframe every gop frames; the frame number
 * is in the payload */
static GstBuffer *
make_video (guint n, guint gop)
{
  guint8 p[9] = { n % gop == 0 ? 0x17 : 0x27, 0x01, 0, 0, 0 };

  put_be (p + 5, n, 4);
  return flv_tag (9, n * 40, p, sizeof (p), FALSE);
}

static GstBuffer *
make_audio (guint n)
{
  guint8 p[6] = { 0xaf, 0x01 };

  put_be (p + 2, n, 4);
  return flv_tag (8, n * 40 + 5, p, sizeof (p), FALSE);
}

static GstCaps *
make_caps (void)
{
  GstCaps *caps = gst_caps_new_empty_simple ("video/x-flv");
  GValue array = G_VALUE_INIT;
  GstBuffer *bufs[3];
  guint i;

  bufs[0] = make_file_header ();
  bufs[1] = make_metadata (1);
  bufs[2] = make_avc_config (1);
  g_value_init (&array, GST_TYPE_ARRAY);
  for (i = 0; i < 3; i++) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_BUFFER);
    gst_value_take_buffer (&v, bufs[i]);
    gst_value_array_append_and_take_value (&array, &v);
  }
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &array);
  return caps;
}

static guint8
buffer_byte (GstBuffer * b, gsize offset)
{
  guint8 v = 0;

  gst_buffer_extract (b, offset, &v, 1);
  return v;
}

/* the frame number of a video tag made by make_video, or -1 */
static gint
video_frame_number (GstBuffer * b)
{
  guint8 d[4];

  if (buffer_byte (b, 0) != 9 || gst_buffer_get_size (b) != 11 + 9 + 4 ||
      buffer_byte (b, 12) != 0x01)
    return -1;
  gst_buffer_extract (b, 11 + 5, d, 4);
  return (gint) ((guint32) d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]);
}

/* ------------------------------------------------------------------ */
/* stand-in sinks                                                      */

typedef enum
{
  MODE_PUBLISH,                 /* "publishes" at start, takes everything */
  MODE_SILENT,                  /* never publishes: render waits */
  MODE_NET_ERROR,               /* an error from another thread, 200 ms in */
  MODE_FAIL_AFTER,              /* publishes, fails at the Nth buffer */
  MODE_FAIL_START,              /* start() fails with an error */
  MODE_REACHABLE,               /* Connect.Success, then Publish.BadName */
  MODE_RECONNECT,               /* publishes; after the 5th buffer its
                                 * session is lost: rtmfp-reconnecting,
                                 * never rtmfp-reconnected */
  MODE_RECONNECT_OK,            /* the same, rtmfp-reconnected 300 ms
                                 * later */
} Mode;

#define TEST_TYPE_SINK (test_sink_get_type ())
typedef struct
{
  GstBaseSink parent;
  Mode mode;
  gboolean rtmfp;
  gchar *location;
  guint timeout;
  GMutex lock;
  GCond cond;
  gboolean unlocked, failed, started, stopped;
  GPtrArray *caps;              /* GstCaps in set_caps order */
  GPtrArray *buffers;           /* rendered */
  GThread *thread;
} TestSink;
typedef GstBaseSinkClass TestSinkClass;

GType test_sink_get_type (void);
G_DEFINE_TYPE (TestSink, test_sink, GST_TYPE_BASE_SINK);

static GType test_rtmp_sink_get_type (void);
static void test_sink_constructed (GObject * object);

/* the script: modes of successive testrtmfpsink instances */
static struct
{
  GMutex lock;
  Mode modes[8];
  guint n_modes;
  guint made;
  guint fail_after;
  gboolean rtmp_fails;          /* the RTMP stand-ins fail to start */
  GPtrArray *sinks;             /* every stand-in made (ref) */
} script;

static void
script_set (guint fail_after, guint n, ...)
{
  va_list ap;
  guint i;

  g_mutex_lock (&script.lock);
  va_start (ap, n);
  for (i = 0; i < n; i++)
    script.modes[i] = va_arg (ap, Mode);
  va_end (ap);
  script.n_modes = n;
  script.made = 0;
  script.fail_after = fail_after;
  script.rtmp_fails = FALSE;
  if (!script.sinks)
    script.sinks = g_ptr_array_new_with_free_func (gst_object_unref);
  g_ptr_array_set_size (script.sinks, 0);
  g_mutex_unlock (&script.lock);
}

/* stand-in number i of the rtmfp (or rtmp) kind, or NULL */
static TestSink *
script_sink (gboolean rtmfp, guint i)
{
  TestSink *ret = NULL;
  guint k, n = 0;

  g_mutex_lock (&script.lock);
  for (k = 0; script.sinks && k < script.sinks->len; k++) {
    TestSink *s = g_ptr_array_index (script.sinks, k);

    if (s->rtmfp == rtmfp && n++ == i) {
      ret = s;
      break;
    }
  }
  g_mutex_unlock (&script.lock);
  return ret;
}

static guint
script_count (gboolean rtmfp)
{
  guint k, n = 0;

  g_mutex_lock (&script.lock);
  for (k = 0; script.sinks && k < script.sinks->len; k++)
    n += ((TestSink *) g_ptr_array_index (script.sinks, k))->rtmfp == rtmfp;
  g_mutex_unlock (&script.lock);
  return n;
}

enum
{ PROP_LOCATION = 1, PROP_TIMEOUT, PROP_STATS };

static void
post_status (TestSink * self, const gchar * level, const gchar * code)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("rtmfp-status", "level", G_TYPE_STRING, level,
              "code", G_TYPE_STRING, code, "description", G_TYPE_STRING, "",
              NULL)));
}

static gpointer
net_error_thread (gpointer data)
{
  TestSink *self = data;

  g_usleep (200 * 1000);
  g_mutex_lock (&self->lock);
  self->failed = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("stand-in: no answer"),
      (NULL));
  return NULL;
}

static gpointer
reconnected_thread (gpointer data)
{
  TestSink *self = data;

  g_usleep (300 * 1000);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("rtmfp-reconnected", "attempt", G_TYPE_UINT, 1,
              "downtime-ms", G_TYPE_UINT64, (guint64) 300, NULL)));
  return NULL;
}

/* like rtmfpsink when its session is lost (auto-reconnect) */
static void
lose_session (TestSink * self)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("rtmfp-reconnecting", "attempt", G_TYPE_UINT, 1,
              "reason", G_TYPE_STRING, "stand-in lost", NULL)));
  if (self->mode == MODE_RECONNECT_OK)
    self->thread = g_thread_new ("stand-in", reconnected_thread, self);
}

static gboolean
test_sink_start (GstBaseSink * sink)
{
  TestSink *self = (TestSink *) sink;

  self->started = TRUE;
  self->unlocked = self->failed = FALSE;
  if (!self->rtmfp && script.rtmp_fails) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("stand-in: rtmp down"),
        (NULL));
    return FALSE;
  }
  if (!self->rtmfp)
    return TRUE;
  switch (self->mode) {
    case MODE_PUBLISH:
    case MODE_FAIL_AFTER:
    case MODE_RECONNECT:
    case MODE_RECONNECT_OK:
      post_status (self, "status", "NetConnection.Connect.Success");
      post_status (self, "status", "NetStream.Publish.Start");
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (GST_OBJECT (self),
              gst_structure_new ("rtmfp-publishing", "location",
                  G_TYPE_STRING, self->location, NULL)));
      break;
    case MODE_NET_ERROR:
      self->thread = g_thread_new ("stand-in", net_error_thread, self);
      break;
    case MODE_FAIL_START:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("stand-in: bad"), (NULL));
      return FALSE;
    case MODE_REACHABLE:
      post_status (self, "status", "NetConnection.Connect.Success");
      post_status (self, "error", "NetStream.Publish.BadName");
      self->failed = TRUE;
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED, ("stand-in: busy"),
          ("NetStream.Publish.BadName"));
      break;
    case MODE_SILENT:
      break;
  }
  return TRUE;
}

static gboolean
test_sink_stop (GstBaseSink * sink)
{
  TestSink *self = (TestSink *) sink;

  if (self->thread) {
    g_thread_join (self->thread);
    self->thread = NULL;
  }
  self->stopped = TRUE;
  return TRUE;
}

static gboolean
test_sink_unlock (GstBaseSink * sink)
{
  TestSink *self = (TestSink *) sink;

  g_mutex_lock (&self->lock);
  self->unlocked = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
test_sink_unlock_stop (GstBaseSink * sink)
{
  TestSink *self = (TestSink *) sink;

  g_mutex_lock (&self->lock);
  self->unlocked = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
test_sink_set_caps (GstBaseSink * sink, GstCaps * caps)
{
  TestSink *self = (TestSink *) sink;

  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->caps, gst_caps_ref (caps));
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static GstFlowReturn
test_sink_render (GstBaseSink * sink, GstBuffer * buf)
{
  TestSink *self = (TestSink *) sink;
  GstFlowReturn ret = GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  if (self->rtmfp && (self->mode == MODE_SILENT ||
          self->mode == MODE_NET_ERROR || self->mode == MODE_REACHABLE)) {
    /* like rtmfpsink waiting for the session */
    while (!self->unlocked && !self->failed)
      g_cond_wait (&self->cond, &self->lock);
    ret = self->failed ? GST_FLOW_ERROR : GST_FLOW_FLUSHING;
  } else if (self->rtmfp && self->mode == MODE_FAIL_AFTER &&
      self->buffers->len >= script.fail_after) {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("stand-in: session died"),
        (NULL));
    return GST_FLOW_ERROR;
  } else {
    g_ptr_array_add (self->buffers, gst_buffer_ref (buf));
    if (self->rtmfp && (self->mode == MODE_RECONNECT ||
            self->mode == MODE_RECONNECT_OK) && self->buffers->len == 5) {
      g_mutex_unlock (&self->lock);
      lose_session (self);
      return GST_FLOW_OK;
    }
  }
  g_mutex_unlock (&self->lock);
  return ret;
}

static void
test_sink_set_property (GObject * object, guint id, const GValue * value,
    GParamSpec * pspec)
{
  TestSink *self = (TestSink *) object;

  if (id == PROP_LOCATION) {
    g_free (self->location);
    self->location = g_value_dup_string (value);
  } else {
    self->timeout = g_value_get_uint (value);
  }
}

static void
test_sink_get_property (GObject * object, guint id, GValue * value,
    GParamSpec * pspec)
{
  TestSink *self = (TestSink *) object;

  if (id == PROP_LOCATION) {
    g_value_set_string (value, self->location);
  } else if (id == PROP_STATS) {
    /* counters that never move: the bin must not decide from them (each
     * new session of rtmfpsink counts its own) */
    g_value_take_boxed (value, gst_structure_new ("application/x-rtmfp-"
            "statistics", "protocol", G_TYPE_STRING, "rtmfp", "packets-sent",
            G_TYPE_UINT64, (guint64) 0, "packets-received", G_TYPE_UINT64,
            (guint64) 0, NULL));
  } else {
    g_value_set_uint (value, self->timeout);
  }
}

static void
test_sink_finalize (GObject * object)
{
  TestSink *self = (TestSink *) object;

  g_free (self->location);
  g_ptr_array_unref (self->caps);
  g_ptr_array_unref (self->buffers);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (test_sink_parent_class)->finalize (object);
}

static void
test_sink_class_init (TestSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *bs = GST_BASE_SINK_CLASS (klass);
  static GstStaticPadTemplate tmpl = GST_STATIC_PAD_TEMPLATE ("sink",
      GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

  gobject_class->set_property = test_sink_set_property;
  gobject_class->get_property = test_sink_get_property;
  gobject_class->finalize = test_sink_finalize;
  gobject_class->constructed = test_sink_constructed;
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "l", "l", NULL, G_PARAM_READWRITE));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "t", "t", 0, 3600, 10,
          G_PARAM_READWRITE));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "s", "s", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE));
  gst_element_class_add_static_pad_template (element_class, &tmpl);
  gst_element_class_set_static_metadata (element_class, "stand-in",
      "Sink/Network", "stand-in sink for tests", "tests");
  bs->start = test_sink_start;
  bs->stop = test_sink_stop;
  bs->unlock = test_sink_unlock;
  bs->unlock_stop = test_sink_unlock_stop;
  bs->set_caps = test_sink_set_caps;
  bs->render = test_sink_render;
}

static void
test_sink_init (TestSink * self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->caps = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_caps_unref);
  self->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

/* (in instance_init the type is still the parent's) */
static void
test_sink_constructed (GObject * object)
{
  TestSink *self = (TestSink *) object;

  G_OBJECT_CLASS (test_sink_parent_class)->constructed (object);
  self->rtmfp = G_OBJECT_TYPE (self) == TEST_TYPE_SINK;
  g_mutex_lock (&script.lock);
  if (self->rtmfp) {
    self->mode = script.n_modes ?
        script.modes[MIN (script.made, script.n_modes - 1)] : MODE_PUBLISH;
    script.made++;
  }
  if (script.sinks)
    g_ptr_array_add (script.sinks, gst_object_ref (self));
  g_mutex_unlock (&script.lock);
}

static GType
test_rtmp_sink_get_type (void)
{
  static GType type = 0;

  if (!type)
    type = g_type_register_static_simple (TEST_TYPE_SINK, "TestRtmpSink",
        sizeof (TestSinkClass), NULL, sizeof (TestSink), NULL, 0);
  return type;
}

/* ------------------------------------------------------------------ */
/* messages                                                            */

typedef struct
{
  GMutex lock;
  GCond cond;
  GPtrArray *switches;          /* "protocol" of rtmfp-fallback, in order */
  GPtrArray *reasons;
  GPtrArray *errors;            /* error texts */
  gint64 first_switch_at;
  guint stream_starts;
  gboolean publishing;          /* rtmfpsink said Publish.Start */
} Watch;

static GstBusSyncReply
watch_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  Watch *w = data;

  g_mutex_lock (&w->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    g_ptr_array_add (w->errors, g_strdup_printf ("%s: %s (%s)",
            GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
            GST_STR_NULL (dbg)));
    g_error_free (err);
    g_free (dbg);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_STREAM_START) {
    w->stream_starts++;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "rtmfp-publishing")) {
    w->publishing = TRUE;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "rtmfp-status")) {
    if (!g_strcmp0 (gst_structure_get_string (gst_message_get_structure
                (msg), "code"), "NetStream.Publish.Start"))
      w->publishing = TRUE;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "rtmfp-fallback")) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (!w->switches->len)
      w->first_switch_at = g_get_monotonic_time ();
    g_ptr_array_add (w->switches,
        g_strdup (gst_structure_get_string (s, "protocol")));
    g_ptr_array_add (w->reasons,
        g_strdup (gst_structure_get_string (s, "reason")));
  }
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static Watch *
watch_new (GstBus * bus)
{
  Watch *w = g_new0 (Watch, 1);

  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->switches = g_ptr_array_new_with_free_func (g_free);
  w->reasons = g_ptr_array_new_with_free_func (g_free);
  w->errors = g_ptr_array_new_with_free_func (g_free);
  gst_bus_set_sync_handler (bus, watch_handler, w, NULL);
  return w;
}

static void
watch_free (Watch * w, GstBus * bus)
{
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  g_ptr_array_unref (w->switches);
  g_ptr_array_unref (w->reasons);
  g_ptr_array_unref (w->errors);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
  g_free (w);
}

/* Waits (bounded) for n switches; TRUE if they came */
static gboolean
watch_wait_switches (Watch * w, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean ok = TRUE;

  g_mutex_lock (&w->lock);
  while (w->switches->len < n && ok)
    ok = g_cond_wait_until (&w->cond, &w->lock, end);
  ok = w->switches->len >= n;
  g_mutex_unlock (&w->lock);
  return ok;
}

static const gchar *
watch_switch (Watch * w, guint i)
{
  return i < w->switches->len ? g_ptr_array_index (w->switches, i) : NULL;
}

static void
assert_no_errors (Watch * w)
{
  g_mutex_lock (&w->lock);
  fail_unless (w->errors->len == 0, "an error reached the bus: %s",
      w->errors->len ? (gchar *) g_ptr_array_index (w->errors, 0) : "");
  g_mutex_unlock (&w->lock);
}

static gchar *
get_active (GstElement * bin)
{
  gchar *p = NULL;

  g_object_get (bin, "active-protocol", &p, NULL);
  return p;
}

/* ------------------------------------------------------------------ */
/* the switching logic with stand-ins                                  */

typedef struct
{
  GstElement *bin;
  GstBus *bus;
  Watch *watch;
  GstHarness *h;
  guint next_frame;
  gint64 started_at;
} Rig;

static Rig *
rig_new (guint rtmfp_timeout, guint probe_interval)
{
  Rig *r = g_new0 (Rig, 1);

  r->bin = gst_element_factory_make ("rtmfpautosink", NULL);
  fail_unless (r->bin != NULL);
  /* our own reference: the harness takes one of its own (transfer none) */
  gst_object_ref_sink (r->bin);
  g_object_set (r->bin, "location", "rtmfp://192.0.2.1:1937/live/test",
      "rtmfp-element", "testrtmfpsink", "fallback-element", "testrtmpsink",
      "rtmfp-timeout", rtmfp_timeout, "probe-interval", probe_interval, NULL);
  r->bus = gst_bus_new ();
  gst_element_set_bus (r->bin, r->bus);
  r->watch = watch_new (r->bus);
  r->started_at = g_get_monotonic_time ();
  r->h = gst_harness_new_with_element (r->bin, "sink", NULL);
  gst_harness_set_src_caps (r->h, make_caps ());
  /* flvmux pushes its headers inline too */
  fail_unless_equals_int (gst_harness_push (r->h, make_file_header ()),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (r->h, make_metadata (1)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (r->h, make_avc_config (1)),
      GST_FLOW_OK);
  return r;
}

/* pushes n video frames (keyframe every 5) with audio between */
static void
rig_push (Rig * r, guint n)
{
  guint i;

  for (i = 0; i < n; i++, r->next_frame++) {
    fail_unless_equals_int (gst_harness_push (r->h,
            make_video (r->next_frame, 5)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (r->h,
            make_audio (r->next_frame)), GST_FLOW_OK);
  }
}

/* pushes frames until n switches have been posted (bounded) */
static void
rig_push_until_switches (Rig * r, guint n, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;

  while (!watch_wait_switches (r->watch, n, 20 * 1000))
    fail_unless (g_get_monotonic_time () < end,
        "no switch %u within %" G_GINT64_FORMAT " ms", n, timeout_us / 1000);
}

static void
rig_free (Rig * r)
{
  gst_harness_teardown (r->h);
  watch_free (r->watch, r->bus);
  gst_object_unref (r->bus);
  gst_object_unref (r->bin);
  g_free (r);
}

/* The new sink's first caps carry the stream's headers; its first buffer
 * is a keyframe, and nothing it got is a header again */
static void
assert_clean_start (TestSink * s, guint8 metadata_version,
    guint8 config_version)
{
  GstCaps *caps;
  const GValue *sh;
  GstBuffer *b;
  guint8 d[64];
  gsize n;

  g_mutex_lock (&s->lock);
  fail_unless (s->caps->len >= 1, "no caps");
  caps = g_ptr_array_index (s->caps, s->caps->len - 1);
  sh = gst_structure_get_value (gst_caps_get_structure (caps, 0),
      "streamheader");
  fail_unless (sh && GST_VALUE_HOLDS_ARRAY (sh), "no streamheader in %"
      GST_PTR_FORMAT, caps);
  fail_unless_equals_int (gst_value_array_get_size (sh), 3);
  b = gst_value_get_buffer (gst_value_array_get_value (sh, 0));
  fail_unless_equals_int (gst_buffer_memcmp (b, 0, flv_header, 13), 0);
  b = gst_value_get_buffer (gst_value_array_get_value (sh, 1));
  fail_unless_equals_int (buffer_byte (b, 0), 18);
  n = gst_buffer_extract (b, 0, d, sizeof (d));
  fail_unless (n > 11 + 23 && d[11 + 23] == metadata_version);
  b = gst_value_get_buffer (gst_value_array_get_value (sh, 2));
  fail_unless_equals_int (buffer_byte (b, 0), 9);
  fail_unless_equals_int (buffer_byte (b, 11), 0x17);
  fail_unless_equals_int (buffer_byte (b, 12), 0x00);
  fail_unless_equals_int (buffer_byte (b, 11 + 13), config_version);

  fail_unless (s->buffers->len >= 1, "nothing rendered");
  b = g_ptr_array_index (s->buffers, 0);
  fail_unless_equals_int (buffer_byte (b, 0), 9);
  fail_unless_equals_int (buffer_byte (b, 11), 0x17);
  fail_unless_equals_int (buffer_byte (b, 12), 0x01);
  fail_unless (video_frame_number (b) % 5 == 0);
  g_mutex_unlock (&s->lock);
}

/* frames rendered by s: consecutive from the first one, none missing */
static void
assert_continuous (TestSink * s)
{
  gint last = -1;
  guint i;

  g_mutex_lock (&s->lock);
  for (i = 0; i < s->buffers->len; i++) {
    gint n = video_frame_number (g_ptr_array_index (s->buffers, i));

    if (n < 0)
      continue;
    fail_unless (last < 0 || n == last + 1, "frame %d after %d", n, last);
    last = n;
  }
  g_mutex_unlock (&s->lock);
}

static guint
rendered (TestSink * s)
{
  guint n;

  g_mutex_lock (&s->lock);
  n = s->buffers->len;
  g_mutex_unlock (&s->lock);
  return n;
}

GST_START_TEST (test_properties)
{
  GstElement *bin = gst_element_factory_make ("rtmfpautosink", NULL);
  gchar *s = NULL, *p;
  guint t, pi;

  fail_unless (bin != NULL);
  g_object_get (bin, "location", &s, "fallback-location", &p,
      "rtmfp-timeout", &t, "probe-interval", &pi, NULL);
  fail_unless_equals_string (s, "rtmfp://localhost/live/myStream");
  fail_unless_equals_string (p, "rtmp://localhost/live/myStream");
  fail_unless_equals_int (t, 5);
  fail_unless_equals_int (pi, 10);
  g_free (s);
  g_free (p);
  /* no protocol before the start */
  p = get_active (bin);
  fail_unless (p == NULL);

  /* derived: host, port and the whole path kept */
  g_object_set (bin, "location", "rtmfp://example.com:1936/app/inst/stream",
      NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless_equals_string (p, "rtmp://example.com:1936/app/inst/stream");
  g_free (p);
  g_object_set (bin, "location", "RTMFP://[::1]/live/s", NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless_equals_string (p, "rtmp://[::1]/live/s");
  g_free (p);

  /* an explicit one wins; empty means derived again */
  g_object_set (bin, "fallback-location", "rtmp://other/live/x", NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless_equals_string (p, "rtmp://other/live/x");
  g_free (p);
  g_object_set (bin, "fallback-location", "", NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless_equals_string (p, "rtmp://[::1]/live/s");
  g_free (p);

  /* nothing to derive from */
  g_object_set (bin, "location", "rtmfp:", NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless (p == NULL);
  g_object_set (bin, "location", "http://example.com/live/s", NULL);
  g_object_get (bin, "fallback-location", &p, NULL);
  fail_unless (p == NULL);

  gst_object_unref (bin);
}

GST_END_TEST;

/* RTMFP never publishes: RTMP after rtmfp-timeout, headers first, then
 * from a keyframe on, every frame; no error; the RTMP sink got the
 * derived location */
GST_START_TEST (test_switch_on_timeout)
{
  Rig *r;
  TestSink *rtmfp, *rtmp;
  gint64 took;
  gchar *p;

  script_set (0, 1, MODE_SILENT);
  r = rig_new (1, 0);
  /* the first frame waits in the silent sink until the bin gives up */
  rig_push (r, 1);
  rig_push_until_switches (r, 1, 3 * SEC);
  took = r->watch->first_switch_at - r->started_at;
  fail_unless (took >= 900 * 1000 && took < 3 * SEC,
      "switched after %" G_GINT64_FORMAT " ms", took / 1000);
  fail_unless_equals_string (watch_switch (r->watch, 0), "rtmp");
  fail_unless (strstr (g_ptr_array_index (r->watch->reasons, 0), "1 s"));
  p = get_active (r->bin);
  fail_unless_equals_string (p, "rtmp");
  g_free (p);

  /* frame 0 was a keyframe: the RTMP sink starts with it */
  rig_push (r, 12);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  fail_unless_equals_string (rtmp->location,
      "rtmp://192.0.2.1:1937/live/test");
  assert_clean_start (rtmp, 1, 1);
  assert_continuous (rtmp);
  fail_unless_equals_int (video_frame_number (g_ptr_array_index
          (rtmp->buffers, 0)), 0);
  /* 13 frames with their audio, the headers dropped (in the caps) */
  fail_unless_equals_int (rendered (rtmp), 26);

  rtmfp = script_sink (TRUE, 0);
  fail_unless (rtmfp->stopped, "the RTMFP sink still runs");
  fail_unless_equals_int (rtmfp->timeout, 1);
  fail_unless_equals_string (rtmfp->location,
      "rtmfp://192.0.2.1:1937/live/test");
  assert_no_errors (r->watch);
  fail_unless_equals_int (r->watch->switches->len, 1);
  /* the application saw the stream start once */
  fail_unless_equals_int (r->watch->stream_starts, 1);
  rig_free (r);
}

GST_END_TEST;

/* The session dies mid-stream (error + GST_FLOW_ERROR from render): the
 * error is swallowed, RTMP takes over at the next keyframe, and newer
 * metadata and sequence headers seen inline are what it gets */
GST_START_TEST (test_switch_on_error)
{
  Rig *r;
  TestSink *rtmfp, *rtmp;

  /* the 3 headers, 2 frames with audio, the new metadata and SPS/PPS
   * render (the caps still have the old ones); the session dies at
   * frame 2 */
  script_set (9, 1, MODE_FAIL_AFTER);
  r = rig_new (5, 0);
  rig_push (r, 2);
  fail_unless_equals_int (gst_harness_push (r->h, make_metadata (2)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (r->h, make_avc_config (2)),
      GST_FLOW_OK);
  /* frames 2 to 4 are not keyframes: dropped */
  rig_push (r, 3);
  fail_unless (watch_wait_switches (r->watch, 1, 5 * SEC));
  fail_unless_equals_string (watch_switch (r->watch, 0), "rtmp");
  fail_unless (g_str_has_prefix (g_ptr_array_index (r->watch->reasons, 0),
          "RTMFP"));
  rig_push (r, 10);

  rtmfp = script_sink (TRUE, 0);
  fail_unless_equals_int (rendered (rtmfp), 9);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  assert_clean_start (rtmp, 2, 2);
  assert_continuous (rtmp);
  /* the first keyframe after the failure: frame 5 */
  fail_unless_equals_int (video_frame_number (g_ptr_array_index
          (rtmp->buffers, 0)), 5);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* The error comes from the sink's own thread while the streaming thread
 * waits inside it (as rtmfpsink does): the bin wakes it and switches */
GST_START_TEST (test_switch_on_async_error)
{
  Rig *r;
  TestSink *rtmp;
  gint64 took;

  script_set (0, 1, MODE_NET_ERROR);
  r = rig_new (10, 0);
  rig_push (r, 1);
  rig_push_until_switches (r, 1, 5 * SEC);
  took = r->watch->first_switch_at - r->started_at;
  fail_unless (took < 5 * SEC, "switched after %" G_GINT64_FORMAT " ms",
      took / 1000);
  rig_push (r, 6);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  assert_clean_start (rtmp, 1, 1);
  assert_continuous (rtmp);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* The session is lost mid-stream and rtmfpsink does not restore it
 * (rtmfp-reconnecting, then nothing): RTMP rtmfp-timeout after the
 * message; its stats counters never move, and that decides nothing */
GST_START_TEST (test_switch_on_reconnecting)
{
  Rig *r;
  TestSink *rtmp;
  gint64 end, lost_at;

  script_set (0, 1, MODE_RECONNECT);
  r = rig_new (1, 0);
  /* 3 headers + frame 0 and its audio: the 5th buffer loses the session */
  rig_push (r, 1);
  lost_at = g_get_monotonic_time ();
  end = lost_at + 4 * SEC;
  while (!watch_wait_switches (r->watch, 1, 0)) {
    fail_unless (g_get_monotonic_time () < end, "no switch");
    rig_push (r, 1);
    g_usleep (20 * 1000);
  }
  /* rtmfp-timeout (1 s) after rtmfp-reconnecting, bounded */
  fail_unless (r->watch->first_switch_at - lost_at >= 900 * 1000);
  fail_unless (r->watch->first_switch_at - lost_at < 2500 * 1000);
  fail_unless_equals_string (watch_switch (r->watch, 0), "rtmp");
  fail_unless (strstr (g_ptr_array_index (r->watch->reasons, 0),
          "stand-in lost"));
  rig_push (r, 6);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  assert_clean_start (rtmp, 1, 1);
  assert_continuous (rtmp);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* rtmfpsink restores its session in time (rtmfp-reconnected 300 ms after
 * rtmfp-reconnecting): no switch */
GST_START_TEST (test_no_switch_when_reconnected)
{
  Rig *r;
  gint64 end;
  gchar *p;

  script_set (0, 1, MODE_RECONNECT_OK);
  r = rig_new (1, 0);
  end = g_get_monotonic_time () + 2 * SEC;
  while (g_get_monotonic_time () < end) {
    rig_push (r, 1);
    g_usleep (20 * 1000);
  }
  fail_unless_equals_int (r->watch->switches->len, 0);
  p = get_active (r->bin);
  fail_unless_equals_string (p, "rtmfp");
  g_free (p);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* rtmfpsink fails to start: RTMP from the beginning, no error */
GST_START_TEST (test_switch_on_start_failure)
{
  Rig *r;
  TestSink *rtmp;
  gchar *p;

  script_set (0, 1, MODE_FAIL_START);
  r = rig_new (5, 0);
  fail_unless (watch_wait_switches (r->watch, 1, 1 * SEC));
  fail_unless_equals_string (watch_switch (r->watch, 0), "rtmp");
  p = get_active (r->bin);
  fail_unless_equals_string (p, "rtmp");
  g_free (p);
  rig_push (r, 6);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  assert_clean_start (rtmp, 1, 1);
  assert_continuous (rtmp);
  fail_unless_equals_int (rendered (rtmp), 12);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* RTMFP works: no switch, everything goes to rtmfpsink */
GST_START_TEST (test_no_switch)
{
  Rig *r;
  TestSink *rtmfp;
  gchar *p;

  script_set (0, 1, MODE_PUBLISH);
  r = rig_new (1, 0);
  rig_push (r, 10);
  /* past the timeout: still no switch */
  fail_if (watch_wait_switches (r->watch, 1, 1500 * 1000));
  rig_push (r, 10);
  p = get_active (r->bin);
  fail_unless_equals_string (p, "rtmfp");
  g_free (p);
  rtmfp = script_sink (TRUE, 0);
  /* (the stand-in keeps the inline headers too) */
  fail_unless_equals_int (rendered (rtmfp), 3 + 40);
  assert_continuous (rtmfp);
  fail_unless_equals_int (script_count (FALSE), 0);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* Back to RTMFP: the probe publishes, and that very sink takes over at
 * the next keyframe with the headers first */
GST_START_TEST (test_switch_back_adopt)
{
  Rig *r;
  TestSink *probe, *rtmp;
  gint64 end;
  gchar *p;

  script_set (0, 2, MODE_SILENT, MODE_PUBLISH);
  r = rig_new (1, 1);
  rig_push (r, 1);
  rig_push_until_switches (r, 1, 3 * SEC);
  fail_unless_equals_string (watch_switch (r->watch, 0), "rtmp");
  /* the probe starts 1 s later; the switch waits for a keyframe */
  end = g_get_monotonic_time () + 5 * SEC;
  while (!watch_wait_switches (r->watch, 2, 0)) {
    fail_unless (g_get_monotonic_time () < end, "no switch back");
    rig_push (r, 1);
    g_usleep (10 * 1000);
  }
  fail_unless_equals_string (watch_switch (r->watch, 1), "rtmfp");
  fail_unless_equals_string (g_ptr_array_index (r->watch->reasons, 1),
      "RTMFP publishes again");
  p = get_active (r->bin);
  fail_unless_equals_string (p, "rtmfp");
  g_free (p);
  rig_push (r, 5);

  /* exactly one probe, adopted */
  fail_unless_equals_int (script_count (TRUE), 2);
  probe = script_sink (TRUE, 1);
  assert_clean_start (probe, 1, 1);
  assert_continuous (probe);
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp->stopped);
  assert_continuous (rtmp);
  /* nothing lost at the switch: RTMP's last frame + 1 = RTMFP's first */
  fail_unless_equals_int (video_frame_number (g_ptr_array_index
          (rtmp->buffers, rtmp->buffers->len - 2)) + 1,
      video_frame_number (g_ptr_array_index (probe->buffers, 0)));
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* Back to RTMFP when the probe only proves the server answers (the name
 * is still published over RTMP there): a new rtmfpsink takes over */
GST_START_TEST (test_switch_back_reachable)
{
  Rig *r;
  TestSink *fresh;
  gint64 end;

  script_set (0, 3, MODE_SILENT, MODE_REACHABLE, MODE_PUBLISH);
  r = rig_new (1, 1);
  rig_push (r, 1);
  rig_push_until_switches (r, 1, 3 * SEC);
  end = g_get_monotonic_time () + 5 * SEC;
  while (!watch_wait_switches (r->watch, 2, 0)) {
    fail_unless (g_get_monotonic_time () < end, "no switch back");
    rig_push (r, 1);
    g_usleep (10 * 1000);
  }
  fail_unless_equals_string (watch_switch (r->watch, 1), "rtmfp");
  fail_unless_equals_string (g_ptr_array_index (r->watch->reasons, 1),
      "RTMFP server reachable again");
  rig_push (r, 5);
  fail_unless_equals_int (script_count (TRUE), 3);
  fail_unless (script_sink (TRUE, 1)->stopped, "the probe still runs");
  fresh = script_sink (TRUE, 2);
  assert_clean_start (fresh, 1, 1);
  assert_continuous (fresh);
  assert_no_errors (r->watch);
  rig_free (r);
}

GST_END_TEST;

/* probe-interval=0: stays on RTMP */
GST_START_TEST (test_no_probe)
{
  Rig *r;

  script_set (0, 2, MODE_SILENT, MODE_PUBLISH);
  r = rig_new (1, 0);
  rig_push (r, 1);
  rig_push_until_switches (r, 1, 3 * SEC);
  rig_push (r, 5);
  fail_if (watch_wait_switches (r->watch, 2, 1500 * 1000));
  fail_unless_equals_int (script_count (TRUE), 1);
  rig_free (r);
}

GST_END_TEST;

/* Audio only: RTMP starts with the AAC config in a made-up FLV header's
 * streamheader and goes on at once (no keyframe to wait for) */
GST_START_TEST (test_audio_only)
{
  GstHarness *h;
  GstElement *bin;
  GstBus *bus;
  Watch *w;
  TestSink *rtmp;
  GstCaps *caps;
  guint i;

  script_set (0, 1, MODE_SILENT);
  bin = gst_object_ref_sink (gst_element_factory_make ("rtmfpautosink",
          NULL));
  g_object_set (bin, "rtmfp-element", "testrtmfpsink", "fallback-element",
      "testrtmpsink", "rtmfp-timeout", 1, "probe-interval", 0, NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (bin, bus);
  w = watch_new (bus);
  h = gst_harness_new_with_element (bin, "sink", NULL);
  caps = gst_caps_new_empty_simple ("video/x-flv");
  gst_harness_set_src_caps (h, caps);
  fail_unless_equals_int (gst_harness_push (h, make_aac_config ()),
      GST_FLOW_OK);
  for (i = 0; i < 4; i++)
    fail_unless_equals_int (gst_harness_push (h, make_audio (i)),
        GST_FLOW_OK);
  fail_unless (watch_wait_switches (w, 1, 3 * SEC));
  /* the config waited in the silent sink; all 4 frames went to RTMP */
  rtmp = script_sink (FALSE, 0);
  fail_unless (rtmp != NULL);
  fail_unless_equals_int (rendered (rtmp), 4);
  g_mutex_lock (&rtmp->lock);
  {
    GstCaps *c = g_ptr_array_index (rtmp->caps, rtmp->caps->len - 1);
    const GValue *sh = gst_structure_get_value (gst_caps_get_structure (c,
            0), "streamheader");

    /* a made-up FLV header (audio only) and the AAC config */
    fail_unless (sh && gst_value_array_get_size (sh) == 2);
    fail_unless_equals_int (buffer_byte (gst_value_get_buffer
            (gst_value_array_get_value (sh, 0)), 4), 0x04);
    fail_unless_equals_int (buffer_byte (gst_value_get_buffer
            (gst_value_array_get_value (sh, 1)), 11), 0xaf);
  }
  g_mutex_unlock (&rtmp->lock);
  assert_no_errors (w);
  gst_harness_teardown (h);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (bin);
}

GST_END_TEST;

/* Both protocols fail: one error, from the bin, saying why each failed */
GST_START_TEST (test_both_fail)
{
  GstElement *bin;
  GstBus *bus;
  Watch *w;
  const gchar *e;

  script_set (0, 1, MODE_FAIL_START);
  script.rtmp_fails = TRUE;
  bin = gst_element_factory_make ("rtmfpautosink", NULL);
  g_object_set (bin, "rtmfp-element", "testrtmfpsink", "fallback-element",
      "testrtmpsink", "location", "rtmfp://192.0.2.1/live/x", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (bin, bus);
  w = watch_new (bus);
  fail_unless_equals_int (gst_element_set_state (bin, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  g_mutex_lock (&w->lock);
  fail_unless_equals_int (w->errors->len, 1);
  e = g_ptr_array_index (w->errors, 0);
  fail_unless (g_str_has_prefix (e, "rtmfpautosink"), "from %s", e);
  fail_unless (strstr (e, "rtmfp://192.0.2.1/live/x"), "%s", e);
  fail_unless (strstr (e, "RTMFP (stand-in: bad)"), "%s", e);
  fail_unless (strstr (e, "RTMP (stand-in: rtmp down)"), "%s", e);
  g_mutex_unlock (&w->lock);
  gst_element_set_state (bin, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (bin);
  script.rtmp_fails = FALSE;
}

GST_END_TEST;

/* rtmfpsink's pad rules: one pad per kind, FLV not mixed with elementary,
 * caps RTMFP cannot carry refused with an error naming the codec */
GST_START_TEST (test_pad_rules)
{
  GstElement *bin = gst_element_factory_make ("rtmfpautosink", NULL);
  GstBus *bus = gst_bus_new ();
  GstPad *video, *audio;
  GstMessage *msg;
  GError *err = NULL;
  GstCaps *caps;

  gst_element_set_bus (bin, bus);
  video = gst_element_request_pad_simple (bin, "video");
  fail_unless (video != NULL);
  /* (GStreamer itself warns about a second pad of that name first) */
  ASSERT_CRITICAL (fail_unless (gst_element_request_pad_simple (bin,
              "video") == NULL));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning for a second video pad");
  gst_message_unref (msg);
  fail_unless (gst_element_request_pad_simple (bin, "sink") == NULL);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error for FLV mixed with elementary");
  gst_message_unref (msg);
  audio = gst_element_request_pad_simple (bin, "audio");
  fail_unless (audio != NULL);

  /* stereo Speex at 8 kHz: refused, naming the codec and what to use */
  gst_pad_send_event (audio, gst_event_new_stream_start ("a"));
  caps = gst_caps_from_string ("audio/x-speex, rate=8000, channels=2");
  fail_if (gst_pad_send_event (audio, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, "Speex") && strstr (err->message,
          "16 kHz"), "%s", err->message);
  g_clear_error (&err);
  gst_message_unref (msg);
  /* Speex 16 kHz mono and H.264 avc with codec_data: taken */
  caps = gst_caps_from_string ("audio/x-speex, rate=16000, channels=1");
  fail_unless (gst_pad_send_event (audio, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  gst_pad_send_event (video, gst_event_new_stream_start ("v"));
  caps = gst_caps_from_string ("video/x-h264, stream-format=byte-stream, "
      "alignment=au");
  fail_if (gst_pad_send_event (video, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, "h264parse"), "%s", err->message);
  g_clear_error (&err);
  gst_message_unref (msg);

  gst_element_release_request_pad (bin, video);
  gst_element_release_request_pad (bin, audio);
  gst_object_unref (video);
  gst_object_unref (audio);
  gst_element_set_bus (bin, NULL);
  gst_object_unref (bus);
  gst_object_unref (bin);
}

GST_END_TEST;

/* Without an RTMP sink to fall back to, rtmfpsink's errors are the
 * application's */
GST_START_TEST (test_no_fallback_element)
{
  GstElement *bin;
  GstBus *bus;
  Watch *w;

  script_set (0, 1, MODE_FAIL_START);
  bin = gst_element_factory_make ("rtmfpautosink", NULL);
  g_object_set (bin, "rtmfp-element", "testrtmfpsink", "fallback-element",
      "nosuchelement", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (bin, bus);
  w = watch_new (bus);
  fail_unless_equals_int (gst_element_set_state (bin, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  g_mutex_lock (&w->lock);
  fail_unless (w->errors->len >= 1);
  fail_unless (strstr (g_ptr_array_index (w->errors, 0), "stand-in: bad"));
  fail_unless_equals_int (w->switches->len, 0);
  g_mutex_unlock (&w->lock);
  gst_element_set_state (bin, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (bin);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* interop: rtmfpsink, nginx-rtmp, rtmp2src, rtmfp-server, rtmfpsrc    */
/* (the servers, relay and players: fallbacktestutil.c)                */


static GstElement *
make_publisher (guint16 port, guint rtmfp_timeout, guint probe_interval,
    GstBus ** bus, Watch ** watch)
{
  gchar *desc = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
      "bitrate=400 ! h264parse ! flvmux streamable=true ! "
      "rtmfpautosink name=out location=rtmfp://127.0.0.1:%u/live/test "
      "rtmfp-timeout=%u probe-interval=%u", port, rtmfp_timeout,
      probe_interval);
  GstElement *pipe = gst_parse_launch (desc, NULL);

  fail_unless (pipe != NULL, "cannot make %s", desc);
  g_free (desc);
  *bus = gst_element_get_bus (pipe);
  *watch = watch_new (*bus);
  return pipe;
}

static void
publisher_active (GstElement * pipe, const gchar * expect)
{
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  gchar *p = get_active (out);

  fail_unless_equals_string (p, expect);
  g_free (p);
  gst_object_unref (out);
}

/* UDP to the server leads nowhere: RTMP within rtmfp-timeout + 2 s, and
 * nginx-rtmp serves decodable video to rtmp2src */
GST_START_TEST (test_interop_nginx)
{
  guint16 port = free_port ();
  Nginx *ng = nginx_start (port);
  GstElement *pub;
  GstBus *bus;
  Watch *w;
  gint64 t0, took;
  gchar *loc;
  guint got;

  pub = make_publisher (port, 2, 0, &bus, &w);
  t0 = g_get_monotonic_time ();
  fail_if (gst_element_set_state (pub, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (watch_wait_switches (w, 1, 4 * SEC),
      "no fallback within rtmfp-timeout + 2 s");
  took = w->first_switch_at - t0;
  GST_INFO ("fell back after %" G_GINT64_FORMAT " ms", took / 1000);
  fail_unless_equals_string (watch_switch (w, 0), "rtmp");
  publisher_active (pub, "rtmp");

  loc = g_strdup_printf ("rtmp://127.0.0.1:%u/live/test", port);
  fail_unless (play_and_count ("rtmp2src", loc, 30, 15 * SEC, &got),
      "only %u frames decoded from nginx", got);
  g_free (loc);
  assert_no_errors (w);
  fail_unless_equals_int (w->switches->len, 1);

  gst_element_set_state (pub, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (pub);
  nginx_stop (ng);
}

GST_END_TEST;

/* RTMP first (nothing on the UDP port); then rtmfp-server appears there:
 * the probe publishes, the bin switches back, and rtmfpsrc plays from
 * the server */
GST_START_TEST (test_interop_switch_back)
{
  guint16 port = free_port ();
  Nginx *ng = nginx_start (port);
  GSubprocess *srv;
  GstElement *pub;
  GstBus *bus;
  Watch *w;
  gchar *loc;
  guint got;

  pub = make_publisher (port, 2, 1, &bus, &w);
  fail_if (gst_element_set_state (pub, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (watch_wait_switches (w, 1, 4 * SEC));
  fail_unless_equals_string (watch_switch (w, 0), "rtmp");

  srv = rtmfp_server_start (port);
  /* probe every 1 s, 2 s to publish, then the next keyframe (0.5 s) */
  fail_unless (watch_wait_switches (w, 2, 8 * SEC), "no switch back");
  fail_unless_equals_string (watch_switch (w, 1), "rtmfp");
  publisher_active (pub, "rtmfp");

  loc = g_strdup_printf ("rtmfp://127.0.0.1:%u/live/test", port);
  fail_unless (play_and_count ("rtmfpsrc", loc, 30, 15 * SEC, &got),
      "only %u frames decoded from rtmfp-server", got);
  g_free (loc);
  assert_no_errors (w);
  fail_unless_equals_int (w->switches->len, 2);

  gst_element_set_state (pub, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (pub);
  kill_and_reap (srv);
  nginx_stop (ng);
}

GST_END_TEST;

/* ------------------------------------------------------------------ */

/* Publishing over RTMFP, the server dies (SIGKILL: no goodbye): RTMP
 * within rtmfp-timeout + 2 s, and nginx-rtmp serves decodable video */
GST_START_TEST (test_interop_server_dies)
{
  guint16 port = free_port ();
  Nginx *ng = nginx_start (port);
  GSubprocess *srv = rtmfp_server_start (port);
  GstElement *pub;
  GstBus *bus;
  Watch *w;
  gint64 end, killed_at;
  gchar *loc;
  guint got;

  pub = make_publisher (port, 2, 0, &bus, &w);
  fail_if (gst_element_set_state (pub, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  /* publishing over RTMFP, and a player gets it from the server */
  end = g_get_monotonic_time () + 10 * SEC;
  g_mutex_lock (&w->lock);
  while (!w->publishing && g_cond_wait_until (&w->cond, &w->lock, end));
  fail_unless (w->publishing, "not publishing over RTMFP");
  g_mutex_unlock (&w->lock);
  loc = g_strdup_printf ("rtmfp://127.0.0.1:%u/live/test", port);
  fail_unless (play_and_count ("rtmfpsrc", loc, 10, 10 * SEC, &got),
      "only %u frames decoded from rtmfp-server", got);
  g_free (loc);
  publisher_active (pub, "rtmfp");
  fail_unless_equals_int (w->switches->len, 0);

  g_subprocess_force_exit (srv);
  killed_at = g_get_monotonic_time ();
  g_subprocess_wait (srv, NULL, NULL);
  g_object_unref (srv);
  fail_unless (watch_wait_switches (w, 1, 6 * SEC), "no fallback");
  GST_INFO ("fell back %" G_GINT64_FORMAT " ms after the kill",
      (w->first_switch_at - killed_at) / 1000);
  fail_unless (w->first_switch_at - killed_at < 4 * SEC + 500 * 1000);
  fail_unless_equals_string (watch_switch (w, 0), "rtmp");
  publisher_active (pub, "rtmp");

  loc = g_strdup_printf ("rtmp://127.0.0.1:%u/live/test", port);
  fail_unless (play_and_count ("rtmp2src", loc, 30, 15 * SEC, &got),
      "only %u frames decoded from nginx", got);
  g_free (loc);
  assert_no_errors (w);

  gst_element_set_state (pub, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (pub);
  nginx_stop (ng);
}

GST_END_TEST;

/* GOP of the mid-stream test: 2 s (60 frames at 30 fps) */
#define MID_GOP_FRAMES 60
#define MID_GOP_US (2 * SEC)
/* rtmfpsink's dead-peer time with timeout=1 (rtmfp-timeout): its minimum,
 * 2 s (rtmfptcagent.c); then it gives up (its reconnection budget is
 * spent), and the bin switches at once */
#define MID_DEAD_PEER_US (2 * SEC)
/* the switch: RTMP connect and publish, a keyframe on request, decoding */
#define MID_SWITCH_US (700 * 1000)

/* Publishing over RTMFP through a relay to rtmfp-server, a player on the
 * server's RTMP side; the relay goes dark (the RTMFP side stops
 * answering, RTMP stays).  rtmfpsink declares its session dead after its
 * dead-peer time and gives up (the bin never reads packet counters),
 * the bin republishes over RTMP to the same server (which hands the name
 * over: the RTMFP publisher has been idle longer than --idle-publisher,
 * 0.5 s) and asks the encoder for a keyframe.  Asserted: an
 * rtmfp-fallback message for rtmp, no error on either bus, no EOS at the
 * player, the player keeps decoding, and the largest gap between
 * consecutive decoded frames, measured both as wall-clock arrival at the
 * player's sink and as PTS difference, from the last frame before the
 * outage to 60 frames after the switch, is at most the dead-peer time
 * plus the switch (2.7 s): the encoder's keyframe on request, not the
 * GOP, ends the wait */
static void
midstream_failure (const gchar * player_src)
{
  guint16 rtmfp_port, rtmp_port, proxy_port;
  GSubprocess *srv = dual_server_start (&rtmfp_port, &rtmp_port);
  UdpProxy *px = udp_proxy_start (rtmfp_port, &proxy_port);
  GstElement *pub, *player;
  GstBus *bus;
  Watch *w;
  Frames f = { 0 };
  gchar *desc, *loc;
  gint64 end, dark_at, arrival_gap;
  GstClockTime pts_gap;
  guint before;

  desc = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%u "
      "bitrate=400 ! h264parse ! flvmux streamable=true ! "
      "rtmfpautosink name=out location=rtmfp://127.0.0.1:%u/live/s "
      "fallback-location=rtmp://127.0.0.1:%u/live/s rtmfp-timeout=1 "
      "probe-interval=0", MID_GOP_FRAMES, proxy_port, rtmp_port);
  pub = gst_parse_launch (desc, NULL);
  fail_unless (pub != NULL, "cannot make %s", desc);
  g_free (desc);
  bus = gst_element_get_bus (pub);
  w = watch_new (bus);
  fail_if (gst_element_set_state (pub, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  end = g_get_monotonic_time () + 10 * SEC;
  g_mutex_lock (&w->lock);
  while (!w->publishing && g_cond_wait_until (&w->cond, &w->lock, end));
  fail_unless (w->publishing, "not publishing over RTMFP");
  g_mutex_unlock (&w->lock);

  if (g_str_equal (player_src, "rtmfpsrc"))
    loc = g_strdup_printf ("rtmfp://127.0.0.1:%u/live/s", rtmfp_port);
  else
    loc = g_strdup_printf ("rtmp://127.0.0.1:%u/live/s", rtmp_port);
  player = frames_player (player_src, loc, &f);
  g_free (loc);
  fail_if (gst_element_set_state (player, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (frames_wait (&f, 60, 15 * SEC), "only %u frames decoded "
      "before the outage", f.arrival->len);
  publisher_active (pub, "rtmfp");
  fail_unless_equals_int (w->switches->len, 0);

  udp_proxy_go_dark (px);
  dark_at = g_get_monotonic_time ();
  g_mutex_lock (&f.lock);
  before = f.arrival->len;
  g_mutex_unlock (&f.lock);

  fail_unless (watch_wait_switches (w, 1, 6 * SEC), "no fallback");
  fail_unless_equals_string (watch_switch (w, 0), "rtmp");
  publisher_active (pub, "rtmp");
  fail_unless (frames_wait (&f, before + MID_GOP_FRAMES + 60, 15 * SEC),
      "the player stopped: %u frames after the outage",
      f.arrival->len - before);
  frames_max_gap (&f, before - 1, &arrival_gap, &pts_gap);
  GST_INFO ("%s: fallback %" G_GINT64_FORMAT " ms after the outage, largest "
      "gap %" G_GINT64_FORMAT " ms (arrival), %" G_GUINT64_FORMAT
      " ms (PTS)", player_src, (w->first_switch_at - dark_at) / 1000,
      arrival_gap / 1000, pts_gap / GST_MSECOND);
  g_print ("%s: fallback %" G_GINT64_FORMAT " ms after the outage, largest "
      "gap %" G_GINT64_FORMAT " ms (arrival), %" G_GUINT64_FORMAT
      " ms (PTS)\n", player_src, (w->first_switch_at - dark_at) / 1000,
      arrival_gap / 1000, pts_gap / GST_MSECOND);
  fail_unless (arrival_gap <= MID_DEAD_PEER_US + MID_SWITCH_US, "the "
      "player waited %" G_GINT64_FORMAT " ms for a frame", arrival_gap /
      1000);
  fail_unless (pts_gap <= (MID_DEAD_PEER_US + MID_SWITCH_US) * GST_USECOND,
      "%" G_GUINT64_FORMAT " ms of PTS missing", pts_gap / GST_MSECOND);
  assert_no_errors (w);
  g_mutex_lock (&f.lock);
  fail_unless (f.errors->len == 0, "player error: %s", f.errors->len ?
      (gchar *) g_ptr_array_index (f.errors, 0) : "");
  fail_if (f.eos, "the player ended");
  g_mutex_unlock (&f.lock);
  fail_unless_equals_int (w->switches->len, 1);

  frames_player_free (player, &f);
  gst_element_set_state (pub, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (pub);
  udp_proxy_stop (px);
  kill_and_reap (srv);
}

GST_START_TEST (test_midstream_failure_rtmp_player)
{
  midstream_failure ("rtmp2src");
}

GST_END_TEST;

/* the same with rtmfpsrc playing from the server's RTMFP side (not
 * through the relay): it rides out the UnpublishNotify / PublishNotify
 * of the handover instead of ending */
GST_START_TEST (test_midstream_failure_rtmfp_player)
{
  midstream_failure ("rtmfpsrc");
}

GST_END_TEST;

/* ------------------------------------------------------------------ */
/* elementary pads end to end                                          */

static void
count_handoff (GstElement * fakesink, GstBuffer * buf, GstPad * pad,
    gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

/* H.264 + Speex on the bin's elementary pads, published to rtmfp-server
 * (as the README writes it: x264enc ! h264parse, whose keyframes carry
 * SPS/PPS and the HEADER flag, and must still count as keyframes for the
 * new sink)
 * through a relay that goes dark and comes back; a player on the server's
 * RTMFP side (rtmfpsrc's elementary pads, speexdec) decodes video and
 * audio throughout: RTMP (the bin writes the FLV itself, Speex included)
 * and RTMFP again, no error, no EOS */
GST_START_TEST (test_elementary_fallback_and_back)
{
  guint16 rtmfp_port, rtmp_port, proxy_port;
  GSubprocess *srv = dual_server_start (&rtmfp_port, &rtmp_port);
  UdpProxy *px = udp_proxy_start (rtmfp_port, &proxy_port);
  GstElement *pub, *player, *aout;
  GstBus *bus;
  Watch *w;
  Frames f = { 0 };
  gint audio = 0, a0;
  gint64 end;
  gchar *desc;
  guint n;

  desc = g_strdup_printf ("rtmfpautosink name=out "
      "location=rtmfp://127.0.0.1:%u/live/e "
      "fallback-location=rtmp://127.0.0.1:%u/live/e rtmfp-timeout=1 "
      "probe-interval=1 videotestsrc is-live=true ! video/x-raw,width=320,"
      "height=240,framerate=30/1 ! x264enc tune=zerolatency "
      "speed-preset=ultrafast key-int-max=30 bitrate=400 ! h264parse ! "
      "out.video audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 ! "
      "speexenc ! out.audio", proxy_port, rtmp_port);
  pub = gst_parse_launch (desc, NULL);
  fail_unless (pub != NULL, "cannot make %s", desc);
  g_free (desc);
  bus = gst_element_get_bus (pub);
  w = watch_new (bus);
  fail_if (gst_element_set_state (pub, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  end = g_get_monotonic_time () + 10 * SEC;
  g_mutex_lock (&w->lock);
  while (!w->publishing && g_cond_wait_until (&w->cond, &w->lock, end));
  fail_unless (w->publishing, "not publishing over RTMFP");
  g_mutex_unlock (&w->lock);

  desc = g_strdup_printf ("rtmfpsrc name=s "
      "location=rtmfp://127.0.0.1:%u/live/e s.video ! queue ! h264parse ! "
      "avdec_h264 ! fakesink name=out signal-handoffs=true sync=false "
      "s.audio ! queue ! speexdec ! fakesink name=aout signal-handoffs=true "
      "sync=false", rtmfp_port);
  player = frames_player_launch (desc, &f);
  g_free (desc);
  aout = gst_bin_get_by_name (GST_BIN (player), "aout");
  g_signal_connect (aout, "handoff", G_CALLBACK (count_handoff), &audio);
  fail_if (gst_element_set_state (player, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (frames_wait (&f, 60, 15 * SEC), "only %u frames over RTMFP",
      f.arrival->len);

  /* RTMFP dark: RTMP, and the player goes on (video and Speex) */
  udp_proxy_go_dark (px);
  fail_unless (watch_wait_switches (w, 1, 8 * SEC), "no fallback");
  fail_unless_equals_string (watch_switch (w, 0), "rtmp");
  publisher_active (pub, "rtmp");
  g_mutex_lock (&f.lock);
  n = f.arrival->len;
  g_mutex_unlock (&f.lock);
  a0 = g_atomic_int_get (&audio);
  fail_unless (frames_wait (&f, n + 60, 15 * SEC), "no video over RTMP");
  fail_unless (g_atomic_int_get (&audio) > a0 + 50, "no Speex over RTMP "
      "(%d frames)", g_atomic_int_get (&audio) - a0);

  /* RTMFP back: it takes over again, and the player goes on */
  udp_proxy_go_light (px);
  fail_unless (watch_wait_switches (w, 2, 15 * SEC), "no switch back");
  fail_unless_equals_string (watch_switch (w, 1), "rtmfp");
  publisher_active (pub, "rtmfp");
  g_mutex_lock (&f.lock);
  n = f.arrival->len;
  g_mutex_unlock (&f.lock);
  a0 = g_atomic_int_get (&audio);
  fail_unless (frames_wait (&f, n + 60, 15 * SEC), "no video after the "
      "switch back");
  fail_unless (g_atomic_int_get (&audio) > a0 + 50, "no Speex after the "
      "switch back");
  assert_no_errors (w);
  g_mutex_lock (&f.lock);
  fail_unless (f.errors->len == 0, "player error: %s", f.errors->len ?
      (gchar *) g_ptr_array_index (f.errors, 0) : "");
  fail_if (f.eos, "the player ended");
  g_mutex_unlock (&f.lock);

  g_signal_handlers_disconnect_by_data (aout, &audio);
  gst_object_unref (aout);
  frames_player_free (player, &f);
  gst_element_set_state (pub, GST_STATE_NULL);
  watch_free (w, bus);
  gst_object_unref (bus);
  gst_object_unref (pub);
  udp_proxy_stop (px);
  kill_and_reap (srv);
}

GST_END_TEST;

static Suite *
rtmfpautosink_suite (void)
{
  Suite *s = suite_create ("rtmfpautosink");
  TCase *tc = tcase_create ("switch");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_switch_on_timeout);
  tcase_add_test (tc, test_switch_on_error);
  tcase_add_test (tc, test_switch_on_async_error);
  tcase_add_test (tc, test_switch_on_reconnecting);
  tcase_add_test (tc, test_no_switch_when_reconnected);
  tcase_add_test (tc, test_switch_on_start_failure);
  tcase_add_test (tc, test_no_switch);
  tcase_add_test (tc, test_switch_back_adopt);
  tcase_add_test (tc, test_switch_back_reachable);
  tcase_add_test (tc, test_no_probe);
  tcase_add_test (tc, test_audio_only);
  tcase_add_test (tc, test_no_fallback_element);
  tcase_add_test (tc, test_both_fail);
  tcase_add_test (tc, test_pad_rules);

  if (!interop_skip) {
    TCase *net = tcase_create ("interop");

    suite_add_tcase (s, net);
    tcase_set_timeout (net, 120);
    tcase_add_test (net, test_interop_nginx);
    tcase_add_test (net, test_interop_switch_back);
    tcase_add_test (net, test_interop_server_dies);
  }
  if (!midstream_skip) {
    TCase *mid = tcase_create ("midstream");

    suite_add_tcase (s, mid);
    tcase_set_timeout (mid, 120);
    tcase_add_test (mid, test_midstream_failure_rtmp_player);
    tcase_add_test (mid, test_midstream_failure_rtmfp_player);
    tcase_add_test (mid, test_elementary_fallback_and_back);
  }
  return s;
}

int
main (int argc, char **argv)
{
  gchar *exe, *plugin_dir;
  const gchar *env;
  Suite *s;
  SRunner *sr;
  int failed;

  /* scan plugins in this process: the external scanner cannot load
   * plugins built with sanitizers */
  g_setenv ("GST_REGISTRY_FORK", "no", FALSE);
  gst_check_init (&argc, &argv);

  /* our plugin, found from where meson put this program
   * (<build>/tests/check) unless RTMFPFALLBACK_PLUGIN_DIR says */
  exe = g_file_read_link ("/proc/self/exe", NULL);
  build_dir = exe ? g_path_get_dirname (exe) : g_get_current_dir ();
  env = g_getenv ("RTMFPFALLBACK_PLUGIN_DIR");
  plugin_dir = env ? g_strdup (env) : g_build_filename (build_dir, "..", "..",
      "gst", "rtmfpfallback", NULL);
  gst_registry_scan_path (gst_registry_get (), plugin_dir);
  g_free (plugin_dir);
  g_free (exe);

  gst_element_register (NULL, "testrtmfpsink", GST_RANK_NONE, TEST_TYPE_SINK);
  gst_element_register (NULL, "testrtmpsink", GST_RANK_NONE,
      test_rtmp_sink_get_type ());
  g_mutex_init (&script.lock);

  check_interop ();
  s = rtmfpautosink_suite ();
  sr = srunner_create (s);
  srunner_run_all (sr, CK_ENV);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  if (interop_skip)
    g_print ("SKIP: interop tests (nginx-rtmp, rtmfp-server): %s\n",
        interop_skip);
  if (midstream_skip)
    g_print ("SKIP: mid-stream tests (rtmfp-server): %s\n", midstream_skip);
  if (interop_skip && midstream_skip && failed == 0)
    return 77;
  return failed == 0 ? 0 : 1;
}
