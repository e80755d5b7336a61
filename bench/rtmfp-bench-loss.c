/* rtmfp-bench-loss: one side of the loss bench (bench/rtmfp-bench-loss.sh).
 *
 *   rtmfp-bench-loss --role send --proto rtmfp|rtmp|srt --host H --port P
 *                    --seconds N --log FILE [--srt-latency MS]
 *   rtmfp-bench-loss --role recv --proto rtmfp|rtmp|srt --host H --port P
 *                    --log FILE [--seconds N] [--srt-latency MS] [--no-decode]
 *
 * The sender encodes the stream (H.264 1.5 Mbit/s, 2 s GOP, x264enc
 * tune=zerolatency, 30 fps, plus Speex 16 kHz mono in 20 ms frames), muxes it
 * with flvmux and sends it with rtmfpsink, rtmp2sink or srtsink (FLV bytes
 * over SRT, so that all three carry the same stream and the frames are
 * identified the same way).  The receiver plays it with rtmfpsrc, rtmp2src
 * or srtsrc into flvdemux and the decoders.
 *
 * Both sides log every FLV tag, one line each:
 *   KIND TS_MS KEY SIZE T_US [T_ENCODED_US T_CAPTURED_US]
 * KIND is V (video frame), A (audio frame), H (a codec header: AVC sequence
 * header, Speex header), M (script data); TS_MS is the FLV timestamp; T_US
 * is CLOCK_MONOTONIC (g_get_monotonic_time), which both processes share
 * although they live in different network namespaces.  The sender logs a
 * tag when it enters the sink element (pad probe on the sink's sink pad,
 * sinks run with sync=false so nothing waits there) and adds, for audio and
 * video frames, when that frame left its encoder (h264parse / speexenc src
 * pads; flvmux turns each into one tag, in order) and when it was captured
 * (pipeline base time + PTS on the monotonic system clock: the live test
 * sources push each buffer at its PTS): a sink that blocks (TCP backpressure) delays frames
 * before they reach it, and that delay is part of the latency too.  The receiver logs a tag
 * when its last byte leaves the source element, i.e. enters flvdemux (the
 * FLV byte stream is parsed in a probe on the source's src pad, with
 * resynchronisation after corrupt bytes).  bench/plot-loss.py matches the
 * two logs by (kind, timestamp).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

static gchar *opt_role, *opt_proto, *opt_host, *opt_log;
static gint opt_port, opt_seconds = 0, opt_srt_latency = 120;
static gint opt_width = 640, opt_height = 360, opt_kbps = 1500;
static gboolean opt_no_decode, opt_no_demux;
static gchar *opt_sink_props = NULL, *opt_src_props = NULL;
static gchar *opt_cc = NULL;
static gboolean opt_adapt, opt_flv;
static gint opt_stats_ms = 0;

static gboolean opt_version;

static GOptionEntry entries[] = {
  {"role", 0, 0, G_OPTION_ARG_STRING, &opt_role, "send or recv", "ROLE"},
  {"proto", 0, 0, G_OPTION_ARG_STRING, &opt_proto, "rtmfp, rtmp or srt",
      "P"},
  {"host", 0, 0, G_OPTION_ARG_STRING, &opt_host,
      "Server (rtmfp, rtmp) or SRT listener address (send)", "HOST"},
  {"port", 0, 0, G_OPTION_ARG_INT, &opt_port, "Port", "PORT"},
  {"seconds", 0, 0, G_OPTION_ARG_INT, &opt_seconds,
      "Send for N s (send); give up after N s (recv; default: until SIGTERM)",
      "N"},
  {"log", 0, 0, G_OPTION_ARG_FILENAME, &opt_log, "Per-frame log", "FILE"},
  {"srt-latency", 0, 0, G_OPTION_ARG_INT, &opt_srt_latency,
      "SRT latency property of srtsink and srtsrc (default 120)", "MS"},
  {"width", 0, 0, G_OPTION_ARG_INT, &opt_width, "Video width (640)", "W"},
  {"height", 0, 0, G_OPTION_ARG_INT, &opt_height, "Video height (360)", "H"},
  {"kbps", 0, 0, G_OPTION_ARG_INT, &opt_kbps, "Video bitrate (1500)", "K"},
  {"sink-props", 0, 0, G_OPTION_ARG_STRING, &opt_sink_props,
      "Extra properties for the sink element, e.g. \"audio-lifetime=400\"",
      "PROPS"},
  {"src-props", 0, 0, G_OPTION_ARG_STRING, &opt_src_props,
      "Extra properties for the source element", "PROPS"},
  {"cc", 0, 0, G_OPTION_ARG_STRING, &opt_cc,
      "rtmfpsink congestion-control (tcp or media; default: the element's)",
      "CC"},
  {"adapt", 0, 0, G_OPTION_ARG_NONE, &opt_adapt,
      "rtmfpsink adapt-bitrate=true (the encoder's bitrate follows the "
        "session's rate estimate)", NULL},
  {"flv", 0, 0, G_OPTION_ARG_NONE, &opt_flv,
      "RTMFP: go through flvmux / the FLV pad instead of the elementary "
        "video and audio pads", NULL},
  {"stats-interval", 0, 0, G_OPTION_ARG_INT, &opt_stats_ms,
      "Print the sink's / source's stats every MS (0: only at the end)",
      "MS"},
  {"no-decode", 0, 0, G_OPTION_ARG_NONE, &opt_no_decode,
      "Receiver: demux into fakesinks, no decoders", NULL},
  {"no-demux", 0, 0, G_OPTION_ARG_NONE, &opt_no_demux,
      "Receiver: the source into a fakesink (frames are still logged; "
        "flvdemux 1.22 stops the pipeline on an FLV stream with bytes "
        "missing, as SRT's too-late drops make)", NULL},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

typedef struct {
  GMutex lock;
  FILE *log;
  GByteArray *acc;              /* receiver: FLV bytes not yet parsed */
  GArray *acc_times;            /* Chunk: when each part of acc arrived */
  gboolean in_header;           /* receiver: expecting "FLV" file header */
  guint64 tags[4], resyncs, bytes;
  gboolean speex_comment_next;
  guint32 last_ts;              /* of the last good tag */
  gboolean have_ts;
  /* sender: when each encoded frame left its encoder (video: h264parse),
   * in order; flvmux makes exactly one tag of each, in the same order */
  GArray *produced[2];          /* 0 video, 1 audio: Produced */
  guint next[2];
  gboolean sender;
  /* RTMFP elementary pads: the receiver's buffers carry DTS = C + FLV
   * timestamp (rtmfpsrc anchors the sender's clock at its first
   * arrival); C is learnt from the FLV pad (DTS of a tag, minus its
   * timestamp) and logged once as "O C_NS" */
  GstClockTime cur_dts;
  gboolean have_offset;
  guint64 elem[2];
} Logger;

/* acc[.. end) (after earlier chunks) arrived at time t */
typedef struct {
  guint end;
  gint64 t;
} Chunk;

typedef struct {
  gint64 t;                     /* left the encoder */
  gint64 capture;               /* captured: base time + PTS (+ duration) */
} Produced;

static Logger lg;

#define MAX_TAG (512 * 1024)
static GMainLoop *loop;
static GstElement *pipeline;
static gboolean failed;

/* ---- FLV tags ---- */

static guint32
rd24 (const guint8 * p)
{
  return ((guint32) p[0] << 16) | ((guint32) p[1] << 8) | p[2];
}

/* data: the tag's body (after the 11-byte header) */
static void
log_tag (guint type, guint32 ts, const guint8 * data, guint32 size,
    gint64 now)
{
  gchar kind = 'M';
  gint key = 0;

  if (type == 9 && size >= 2) {
    key = (data[0] >> 4) == 1;
    kind = ((data[0] & 0x0f) == 7 && data[1] == 0) ? 'H' : 'V';
  } else if (type == 8 && size >= 1) {
    kind = 'A';
    /* Speex in FLV (codec 11): the ID header, then the comment header */
    if ((data[0] >> 4) == 11 && size >= 9
        && memcmp (data + 1, "Speex   ", 8) == 0) {
      kind = 'H';
      lg.speex_comment_next = TRUE;
    } else if (lg.speex_comment_next) {
      kind = 'H';
      lg.speex_comment_next = FALSE;
    }
  }
  lg.tags[kind == 'V' ? 0 : kind == 'A' ? 1 : kind == 'H' ? 2 : 3]++;
  if (!lg.sender && !lg.have_offset && GST_CLOCK_TIME_IS_VALID (lg.cur_dts)
      && kind != 'M') {
    lg.have_offset = TRUE;
    if (lg.log)
      fprintf (lg.log, "O %" G_GINT64_FORMAT "\n",
          (gint64) lg.cur_dts - (gint64) ts * GST_MSECOND);
  }
  if (lg.sender && (kind == 'V' || kind == 'A')) {
    gint i = kind == 'V' ? 0 : 1;
    Produced pr = { now, now };

    if (lg.next[i] < lg.produced[i]->len)
      pr = g_array_index (lg.produced[i], Produced, lg.next[i]);
    lg.next[i]++;
    if (lg.log)
      fprintf (lg.log, "%c %u %d %u %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
          " %" G_GINT64_FORMAT "\n", kind, ts, key, size, now, pr.t,
          pr.capture);
  } else if (lg.log) {
    fprintf (lg.log, "%c %u %d %u %" G_GINT64_FORMAT "\n", kind, ts, key,
        size, now);
  }
}

/* When the byte at offset off of lg.acc arrived: a tag counts as arrived
 * with its last byte, even when the parser only gets to it later (after
 * waiting for a bogus tag size in corrupt data) */
static gint64
arrival_of (guint off, gint64 now)
{
  guint i;

  for (i = 0; i < lg.acc_times->len; i++) {
    Chunk *c = &g_array_index (lg.acc_times, Chunk, i);
    if (off < c->end)
      return c->t;
  }
  return now;
}

static void
acc_consume (guint n)
{
  guint i = 0;

  g_byte_array_remove_range (lg.acc, 0, n);
  while (i < lg.acc_times->len) {
    Chunk *c = &g_array_index (lg.acc_times, Chunk, i);
    if (c->end <= n) {
      g_array_remove_index (lg.acc_times, i);
      continue;
    }
    c->end -= n;
    i++;
  }
}

/* Parses whole tags from the front of lg.acc; keeps a partial tail. */
static void
parse_acc (gint64 now)
{
  GByteArray *a = lg.acc;
  guint off = 0;

  for (;;) {
    const guint8 *p = a->data + off;
    guint avail = a->len - off;
    guint type;
    guint32 size, ts, prev;

    if (avail >= 4 && memcmp (p, "FLV\x01", 4) == 0) {
      guint32 hlen;
      if (avail < 9)
        break;
      hlen = GST_READ_UINT32_BE (p + 5);
      if (hlen < 9 || hlen > 64)
        hlen = 9;
      if (avail < hlen + 4)
        break;
      off += hlen + 4;          /* header, then PreviousTagSize0 */
      continue;
    }
    if (avail < 11)
      break;
    type = p[0] & 0x1f;
    if (p[0] & 0xe0)
      type = 0;                 /* reserved and filter bits: unused here */
    size = rd24 (p + 1);
    ts = rd24 (p + 4) | ((guint32) p[7] << 24);
    /* a plausible tag header: known type, stream id 0, a size this stream
     * can have, a timestamp near the last good one, and for video the
     * frame type / AVC codec byte.  Bytes lost inside the stream (SRT
     * drops what comes too late) must not make us wait for a huge bogus
     * tag. */
    if ((type != 8 && type != 9 && type != 18) || size > MAX_TAG
        || rd24 (p + 8) != 0
        || (type == 9 && size > 0 && avail > 11 && (p[11] & 0x0f) != 7)) {
      off++;                    /* corrupt: resynchronise */
      lg.resyncs++;
      continue;
    }
    /* an odd timestamp (a restarted stream?) is taken only once the whole
     * tag and its PreviousTagSize are there to confirm it */
    if (avail < 11 + size + 4) {
      if (type != 18 && lg.have_ts
          && (ts + 2000 < lg.last_ts || ts > lg.last_ts + 5000)) {
        off++;
        lg.resyncs++;
        continue;
      }
      break;
    }
    prev = GST_READ_UINT32_BE (p + 11 + size);
    if (prev != 11 + size) {
      off++;
      lg.resyncs++;
      continue;
    }
    log_tag (type, ts, p + 11, size, arrival_of (off + 11 + size + 3, now));
    if (type != 18) {
      lg.last_ts = ts;
      lg.have_ts = TRUE;
    }
    off += 11 + size + 4;
  }
  if (off)
    acc_consume (off);
}

static GstPadProbeReturn
recv_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = g_get_monotonic_time ();
  GstMapInfo map;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&lg.lock);
  lg.cur_dts = GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf) :
      GST_BUFFER_PTS (buf);
  lg.bytes += map.size;
  g_byte_array_append (lg.acc, map.data, map.size);
  {
    Chunk c = { lg.acc->len, now };
    g_array_append_val (lg.acc_times, c);
  }
  parse_acc (now);
  g_mutex_unlock (&lg.lock);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
produced_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  Produced pr;

  /* speexenc's two header buffers; (h264parse flags keyframes carrying
   * SPS/PPS as HEADER too, but those are frames) */
  if (GPOINTER_TO_INT (data) == 1
      && GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER))
    return GST_PAD_PROBE_OK;
  pr.t = g_get_monotonic_time ();
  pr.capture = pr.t;
  /* the live sources stamp running time and push at that time (the test
   * sources make their data when it is due, also for audio); the pipeline
   * clock is the monotonic system clock, so base time + PTS is
   * CLOCK_MONOTONIC at capture */
  if (GST_BUFFER_PTS_IS_VALID (buf)) {
    GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
    const GstSegment *seg = NULL;
    GstClockTime pts = GST_BUFFER_PTS (buf), rt;

    if (ev)
      gst_event_parse_segment (ev, &seg);
    /* x264enc shifts its output by 1000 h; its segment says so */
    rt = seg ? gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts) : pts;
    if (GST_CLOCK_TIME_IS_VALID (rt))
      pr.capture = (gint64) ((gst_element_get_base_time (pipeline) + rt) /
          GST_USECOND);
    if (ev)
      gst_event_unref (ev);
  }
  g_mutex_lock (&lg.lock);
  g_array_append_val (lg.produced[GPOINTER_TO_INT (data)], pr);
  g_mutex_unlock (&lg.lock);
  return GST_PAD_PROBE_OK;
}

/* Sender, elementary pads of rtmfpsink: one frame per buffer, logged
 * with the FLV timestamp the sink gives it (running time of the DTS, in
 * ms, as gstrtmfpsink.c computes it).  Speex header buffers are 'H'. */
static GstPadProbeReturn
elem_send_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gboolean video = GPOINTER_TO_INT (data) == 0;
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  const GstSegment *seg = NULL;
  GstClockTime t = GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf) :
      GST_BUFFER_PTS (buf), rt = GST_CLOCK_TIME_NONE;
  gint64 now = g_get_monotonic_time ();
  guint8 hdr[2] = { 0, 0 };

  if (ev)
    gst_event_parse_segment (ev, &seg);
  if (seg && GST_CLOCK_TIME_IS_VALID (t))
    rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, t);
  if (ev)
    gst_event_unref (ev);
  if (!video && (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)
          || !GST_CLOCK_TIME_IS_VALID (rt))) {
    g_mutex_lock (&lg.lock);
    lg.tags[2]++;
    g_mutex_unlock (&lg.lock);
    return GST_PAD_PROBE_OK;
  }
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return GST_PAD_PROBE_OK;
  /* log_tag reads the FLV video header byte for the keyframe flag */
  if (video)
    hdr[0] = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT) ?
        0x27 : 0x17, hdr[1] = 1;
  else
    hdr[0] = 0xb2;
  g_mutex_lock (&lg.lock);
  log_tag (video ? 9 : 8, (guint32) (rt / GST_MSECOND), hdr,
      (guint32) gst_buffer_get_size (buf), now);
  g_mutex_unlock (&lg.lock);
  return GST_PAD_PROBE_OK;
}

/* Receiver, elementary pads of rtmfpsrc: what the decoders get (video
 * only from a keyframe after a loss).  "v|a DTS_NS KEY SIZE T_US"; the
 * FLV timestamp is DTS - C (the "O" line). */
static GstPadProbeReturn
elem_recv_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gboolean video = GPOINTER_TO_INT (data) == 0;
  gint64 now = g_get_monotonic_time ();
  GstClockTime t = GST_BUFFER_DTS_IS_VALID (buf) ? GST_BUFFER_DTS (buf) :
      GST_BUFFER_PTS (buf);

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)
      || !GST_CLOCK_TIME_IS_VALID (t))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&lg.lock);
  lg.elem[video ? 0 : 1]++;
  if (lg.log)
    fprintf (lg.log, "%c %" G_GUINT64_FORMAT " %d %" G_GSIZE_FORMAT " %"
        G_GINT64_FORMAT "\n", video ? 'v' : 'a', (guint64) t,
        !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT),
        gst_buffer_get_size (buf), now);
  g_mutex_unlock (&lg.lock);
  return GST_PAD_PROBE_OK;
}

static void
on_src_pad_added (GstElement * e, GstPad * pad, gpointer data)
{
  const gchar *n = GST_PAD_NAME (pad);

  if (g_str_equal (n, "video") || g_str_equal (n, "audio"))
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, elem_recv_probe,
        GINT_TO_POINTER (g_str_equal (n, "video") ? 0 : 1), NULL);
}

/* flvmux pushes the file header, then one tag (with its trailing
 * PreviousTagSize) per buffer; the same parser copes with anything. */
static GstPadProbeReturn
send_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  return recv_probe (pad, info, data);
}

/* flvmux (1.22) never picks speexenc's untimestamped header buffers while
 * video keeps coming: give the headers the timestamp of the start (as
 * tools/rtmfp-demo and the element tests do). */
static GstPadProbeReturn
speex_header_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (!GST_BUFFER_PTS_IS_VALID (buf) &&
      GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)) {
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = 0;
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

/* ---- pipelines ---- */

static gchar *
sink_desc (void)
{
  const gchar *extra = opt_sink_props ? opt_sink_props : "";

  if (g_str_equal (opt_proto, "rtmfp"))
    return g_strdup_printf ("rtmfpsink name=sink sync=false mode=server "
        "location=rtmfp://%s:%d/live/bench %s%s%s %s", opt_host, opt_port,
        opt_cc ? "congestion-control=" : "", opt_cc ? opt_cc : "",
        opt_adapt ? " adapt-bitrate=true" : "", extra);
  if (g_str_equal (opt_proto, "rtmp"))
    return g_strdup_printf ("rtmp2sink name=sink sync=false async-connect="
        "false location=rtmp://%s:%d/live/bench %s", opt_host, opt_port,
        extra);
  if (g_str_equal (opt_proto, "srt"))
    return g_strdup_printf ("srtsink name=sink sync=false "
        "uri=srt://%s:%d?mode=caller latency=%d %s", opt_host, opt_port,
        opt_srt_latency, extra);
  return NULL;
}

static gchar *
src_desc (void)
{
  const gchar *extra = opt_src_props ? opt_src_props : "";

  if (g_str_equal (opt_proto, "rtmfp"))
    return g_strdup_printf ("rtmfpsrc name=src "
        "location=rtmfp://%s:%d/live/bench %s", opt_host, opt_port, extra);
  if (g_str_equal (opt_proto, "rtmp"))
    return g_strdup_printf ("rtmp2src name=src "
        "location=rtmp://%s:%d/live/bench %s", opt_host, opt_port, extra);
  if (g_str_equal (opt_proto, "srt"))
    return g_strdup_printf ("srtsrc name=src "
        "uri=srt://%s:%d?mode=listener latency=%d %s", opt_host, opt_port,
        opt_srt_latency, extra);
  return NULL;
}

static void
probe (GstElement * p, const gchar * name, const gchar * padname,
    GstPadProbeCallback cb, gpointer data)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (p), name);
  GstPad *pad = gst_element_get_static_pad (e, padname);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, data, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

static GstElement *
build (void)
{
  gchar *net = g_str_equal (opt_role, "send") ? sink_desc () : src_desc ();
  gchar *desc;
  GError *err = NULL;
  GstElement *p;
  gboolean elem;

  if (!net)
    return NULL;
  elem = g_str_equal (opt_proto, "rtmfp") && !opt_flv;
  if (elem && g_str_equal (opt_role, "send")) {
    /* the elementary pads: no flvmux */
    desc = g_strdup_printf ("%s videotestsrc is-live=true pattern=ball "
        "background-color=0xff336699 animation-mode=running-time "
        "! video/x-raw,width=%d,height=%d,framerate=30/1 "
        "! timeoverlay font-desc=\"Sans 48\" "
        "! x264enc name=venc tune=zerolatency bitrate=%d key-int-max=60 "
        "speed-preset=ultrafast vbv-buf-capacity=1000 "
        "! h264parse name=vparse ! queue ! sink.video "
        "audiotestsrc is-live=true samplesperbuffer=320 wave=ticks "
        "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc "
        "! queue ! sink.audio", net, opt_width, opt_height, opt_kbps);
  } else if (elem) {
    /* the decoders on the elementary pads; the FLV pad, linked too, gives
     * the transport's view (every message, true timestamps) */
    desc = opt_no_decode ? g_strdup_printf ("%s "
        "src.video ! queue ! fakesink sync=false async=false "
        "src.audio ! queue ! fakesink sync=false async=false "
        "src.src ! fakesink sync=false async=false", net) :
        g_strdup_printf ("%s "
        "src.video ! queue ! h264parse ! avdec_h264 ! fakesink sync=false "
        "async=false src.audio ! queue ! speexdec ! fakesink sync=false "
        "async=false src.src ! fakesink sync=false async=false", net);
  } else if (g_str_equal (opt_role, "send")) {
    /* 2 s GOP at 30 fps; a moving pattern so the encoder spends its
     * bitrate; ultrafast so a shared 2-core machine keeps up */
    desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball "
        "background-color=0xff336699 animation-mode=running-time "
        "! video/x-raw,width=%d,height=%d,framerate=30/1 "
        "! timeoverlay font-desc=\"Sans 48\" "
        "! x264enc name=venc tune=zerolatency bitrate=%d key-int-max=60 "
        "speed-preset=ultrafast vbv-buf-capacity=1000 "
        "! h264parse name=vparse ! queue ! flvmux name=m streamable=true ! %s "
        "audiotestsrc is-live=true samplesperbuffer=320 wave=ticks "
        "! audio/x-raw,rate=16000,channels=1 ! speexenc name=aenc "
        "! queue ! m.", opt_width, opt_height, opt_kbps, net);
  } else if (opt_no_demux) {
    desc = g_strdup_printf ("%s ! fakesink sync=false async=false", net);
  } else if (opt_no_decode) {
    desc = g_strdup_printf ("%s ! flvdemux name=d "
        "d.video ! queue ! fakesink sync=false async=false "
        "d.audio ! queue ! fakesink sync=false async=false", net);
  } else {
    desc = g_strdup_printf ("%s ! flvdemux name=d "
        "d.video ! queue ! h264parse ! avdec_h264 ! fakesink sync=false "
        "async=false d.audio ! queue ! speexdec ! fakesink sync=false "
        "async=false", net);
  }
  g_free (net);
  p = gst_parse_launch (desc, &err);
  if (!p || err) {
    /* also a recoverable error, e.g. a property the element lacks: the
     * bench would measure something else than it says */
    g_printerr ("%s: pipeline: %s\n  (%s)\n", opt_role,
        err ? err->message : "?", desc);
    g_clear_error (&err);
    g_free (desc);
    if (p)
      gst_object_unref (p);
    return NULL;
  }
  g_free (desc);
  if (g_str_equal (opt_role, "send")) {
    probe (p, "aenc", "src", speex_header_probe, NULL);
    probe (p, "aenc", "src", produced_probe, GINT_TO_POINTER (1));
    probe (p, "vparse", "src", produced_probe, GINT_TO_POINTER (0));
    if (elem) {
      probe (p, "sink", "video", elem_send_probe, GINT_TO_POINTER (0));
      probe (p, "sink", "audio", elem_send_probe, GINT_TO_POINTER (1));
    } else {
      probe (p, "sink", "sink", send_probe, NULL);
    }
  } else {
    probe (p, "src", "src", recv_probe, NULL);
    if (elem) {
      GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
      g_signal_connect (src, "pad-added", G_CALLBACK (on_src_pad_added),
          NULL);
      gst_object_unref (src);
    }
  }
  return p;
}

static gboolean
on_bus (GstBus * bus, GstMessage * m, gpointer data)
{
  switch (GST_MESSAGE_TYPE (m)) {
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error (m, &err, &dbg);
      g_printerr ("%s: error from %s: %s (%s)\n", opt_role,
          GST_MESSAGE_SRC_NAME (m), err->message, dbg ? dbg : "");
      g_error_free (err);
      g_free (dbg);
      failed = TRUE;
      g_main_loop_quit (loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (loop);
      break;
    default:
      break;
  }
  return TRUE;
}

static gboolean
on_quit (gpointer data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* The properties --cc / --adapt need: a clear refusal when this build's
 * rtmfpsink does not have them (yet) */
static gboolean
check_sink_properties (void)
{
  GstElement *e;
  const gchar *need[2] = { opt_cc ? "congestion-control" : NULL,
    opt_adapt ? "adapt-bitrate" : NULL
  };
  gboolean ok = TRUE;
  guint i;

  if (!g_str_equal (opt_proto, "rtmfp") || (!opt_cc && !opt_adapt))
    return TRUE;
  e = gst_element_factory_make ("rtmfpsink", NULL);
  if (!e) {
    g_printerr ("send: no rtmfpsink element (GST_PLUGIN_PATH?)\n");
    return FALSE;
  }
  for (i = 0; i < G_N_ELEMENTS (need); i++) {
    if (need[i] && !g_object_class_find_property (G_OBJECT_GET_CLASS (e),
            need[i])) {
      g_printerr ("send: rtmfpsink has no property \"%s\": this build "
          "predates it (--cc / --adapt need the adaptive-bitrate work "
          "merged)\n", need[i]);
      ok = FALSE;
    }
  }
  gst_object_unref (e);
  return ok;
}

static void
print_stats (GstElement * p, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (p), name);
  GstStructure *st = NULL;
  gchar *s;

  if (!e)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (e), "stats"))
    g_object_get (e, "stats", &st, NULL);
  if (st) {
    s = gst_structure_to_string (st);
    g_printerr ("%s stats: t=%" G_GINT64_FORMAT " %s\n", opt_role,
        g_get_monotonic_time (), s);
    g_free (s);
    gst_structure_free (st);
  }
  gst_object_unref (e);
}

static gboolean
on_stats_tick (gpointer data)
{
  print_stats (pipeline, data);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- one side of the loss bench");
  GError *err = NULL;
  GstElement *p;
  GstBus *bus;
  gboolean send;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (!opt_role || !opt_proto || !opt_host || opt_port <= 0
      || (!g_str_equal (opt_role, "send") && !g_str_equal (opt_role, "recv"))) {
    g_printerr ("need --role send|recv, --proto, --host and --port\n");
    return 2;
  }
  send = g_str_equal (opt_role, "send");
  g_mutex_init (&lg.lock);
  lg.sender = send;
  lg.produced[0] = g_array_new (FALSE, FALSE, sizeof (Produced));
  lg.produced[1] = g_array_new (FALSE, FALSE, sizeof (Produced));
  lg.acc = g_byte_array_new ();
  lg.acc_times = g_array_new (FALSE, FALSE, sizeof (Chunk));
  if (opt_log) {
    lg.log = fopen (opt_log, "w");
    if (!lg.log) {
      g_printerr ("cannot write %s\n", opt_log);
      return 2;
    }
    setvbuf (lg.log, NULL, _IOFBF, 1 << 20);
  }
  if (send && !check_sink_properties ())
    return 2;
  p = build ();
  if (!p)
    return 2;
  pipeline = p;
  /* capture times assume the monotonic system clock */
  {
    GstClock *clock = gst_system_clock_obtain ();
    g_object_set (clock, "clock-type", GST_CLOCK_TYPE_MONOTONIC, NULL);
    gst_pipeline_use_clock (GST_PIPELINE (p), clock);
    gst_object_unref (clock);
  }
  loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (p);
  gst_bus_add_watch (bus, on_bus, NULL);
  g_unix_signal_add (SIGINT, on_quit, NULL);
  g_unix_signal_add (SIGTERM, on_quit, NULL);
  if (opt_seconds > 0)
    g_timeout_add_seconds (opt_seconds, on_quit, NULL);
  if (opt_stats_ms > 0)
    g_timeout_add (opt_stats_ms, on_stats_tick, send ? "sink" : "src");
  g_printerr ("%s: %s %s:%d start %" G_GINT64_FORMAT "\n", opt_role,
      opt_proto, opt_host, opt_port, g_get_monotonic_time ());
  gst_element_set_state (p, GST_STATE_PLAYING);
  g_main_loop_run (loop);
  print_stats (p, send ? "sink" : "src");
  gst_element_set_state (p, GST_STATE_NULL);
  g_mutex_lock (&lg.lock);
  g_printerr ("%s: video %" G_GUINT64_FORMAT " audio %" G_GUINT64_FORMAT
      " headers %" G_GUINT64_FORMAT " meta %" G_GUINT64_FORMAT " bytes %"
      G_GUINT64_FORMAT " resyncs %" G_GUINT64_FORMAT "\n", opt_role,
      lg.tags[0], lg.tags[1], lg.tags[2], lg.tags[3], lg.bytes, lg.resyncs);
  if (send)
    g_printerr ("send: produced video %u audio %u\n", lg.produced[0]->len,
        lg.produced[1]->len);
  else
    g_printerr ("recv: elementary video %" G_GUINT64_FORMAT " audio %"
        G_GUINT64_FORMAT "\n", lg.elem[0], lg.elem[1]);
  /* fail loudly: an error, or nothing at all went through */
  if (!failed && (send ? lg.tags[0] == 0 : lg.tags[0] + lg.tags[1] == 0)) {
    g_printerr ("%s: FAILED: %s\n", opt_role, send ?
        "no video frame reached the sink" : "no frame arrived");
    failed = TRUE;
  }
  if (lg.log)
    fclose (lg.log);
  lg.log = NULL;
  g_mutex_unlock (&lg.lock);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_main_loop_unref (loop);
  g_byte_array_unref (lg.acc);
  g_array_unref (lg.acc_times);
  g_array_unref (lg.produced[0]);
  g_array_unref (lg.produced[1]);
  return failed ? 1 : 0;
}
