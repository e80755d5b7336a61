/* The player's media path in the core: the start gate (coherent starts)
 * and the bounded receive queue (what it drops when full, and how it
 * says so), with synthetic FLV tag bodies.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpstartgate.h"
#include "rtmfpmediaqueue.h"
#include "amf0.h"
#include "flvtag.h"

#define MS 1000
#define SEC 1000000

typedef struct {
  guint8 type;
  guint32 ts;
  guint flags;
  guint lost;
} Out;

static void
collect (const RtmfpMediaMessage * m, gpointer ud)
{
  Out o = { m->type, m->timestamp, m->flags, m->lost };

  g_array_append_val ((GArray *) ud, o);
}

static const guint8 key[] = { 0x17, 0x01, 0, 0, 0, 1, 2, 3 };
static const guint8 inter[] = { 0x27, 0x01, 0, 0, 0, 4, 5 };
static const guint8 avc_hdr[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42 };
static const guint8 speex[] = { 0xb2, 9, 9, 9 };
static const guint8 aac_hdr[] = { 0xaf, 0x00, 0x12, 0x10 };

static GByteArray *
metadata (gboolean video, gboolean audio)
{
  GByteArray *b = g_byte_array_new ();
  RtmfpAmfNode *n = rtmfp_amf_node_new_string ("onMetaData", -1);
  RtmfpAmfNode *o = rtmfp_amf_node_new_ecma_array ();

  if (video)
    rtmfp_amf_node_append_field_number (o, "videocodecid", 7);
  if (audio)
    rtmfp_amf_node_append_field_number (o, "audiocodecid", 11);
  rtmfp_amf_node_serialize (n, b);
  rtmfp_amf_node_serialize (o, b);
  rtmfp_amf_node_free (n);
  rtmfp_amf_node_free (o);
  return b;
}

#define PUSH(g, type, ts, data, now) \
  rtmfp_start_gate_push (g, type, ts, data, sizeof (data), 0, now)

/* Video is announced: audio waits for the keyframe, what is older than it
 * goes, the rest follows it in order; inter frames before it are dropped */
static void
test_gate_audio_from_keyframe (void)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Out));
  RtmfpStartGate *g = rtmfp_start_gate_new (0, collect, out);
  GByteArray *md = metadata (TRUE, TRUE);
  Out *o;

  rtmfp_start_gate_push (g, 18, 1000, md->data, md->len, 0, 0);
  PUSH (g, 9, 1000, avc_hdr, 0);
  PUSH (g, 8, 980, speex, 10 * MS);
  PUSH (g, 9, 990, inter, 11 * MS);
  PUSH (g, 8, 1000, speex, 20 * MS);
  PUSH (g, 8, 1020, speex, 30 * MS);
  g_assert_cmpuint (out->len, ==, 2);   /* the headers only */
  PUSH (g, 9, 1000, key, 40 * MS);      /* arrives after newer audio */
  PUSH (g, 8, 1040, speex, 50 * MS);
  PUSH (g, 9, 1033, inter, 60 * MS);

  g_assert_cmpuint (out->len, ==, 7);
  o = &g_array_index (out, Out, 0);
  g_assert_cmpuint (o->type, ==, 18);
  g_assert_true (o->flags & RTMFP_MEDIA_RESTART);
  g_assert_true (o->flags & RTMFP_MEDIA_HEADER);
  o = &g_array_index (out, Out, 2);
  g_assert_cmpuint (o->type, ==, 9);
  g_assert_cmpuint (o->ts, ==, 1000);
  g_assert_true (o->flags & RTMFP_MEDIA_KEYFRAME);
  g_assert_cmpuint (o->lost, ==, 1);    /* the inter frame dropped */
  o = &g_array_index (out, Out, 3);
  g_assert_cmpuint (o->type, ==, 8);
  g_assert_cmpuint (o->ts, ==, 1000);   /* 980 dropped */
  g_assert_cmpuint (o->lost, ==, 1);
  g_assert_true (o->flags & RTMFP_MEDIA_DISCONT);
  o = &g_array_index (out, Out, 4);
  g_assert_cmpuint (o->ts, ==, 1020);
  g_assert_cmpuint (o->lost, ==, 0);
  g_assert_cmpuint (g_array_index (out, Out, 5).ts, ==, 1040);
  g_assert_cmpuint (g_array_index (out, Out, 6).ts, ==, 1033);
  g_assert_cmpint (rtmfp_start_gate_next_timeout (g), ==, -1);

  rtmfp_start_gate_free (g);
  g_byte_array_unref (md);
  g_array_unref (out);
}

/* Audio only by the metadata: audio at once */
static void
test_gate_audio_only (void)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Out));
  RtmfpStartGate *g = rtmfp_start_gate_new (0, collect, out);
  GByteArray *md = metadata (FALSE, TRUE);

  rtmfp_start_gate_push (g, 18, 0, md->data, md->len, 0, 0);
  PUSH (g, 8, 0, speex, 0);
  PUSH (g, 8, 20, speex, 20 * MS);
  g_assert_cmpuint (out->len, ==, 3);
  rtmfp_start_gate_free (g);
  g_byte_array_unref (md);
  g_array_unref (out);
}

/* No metadata: audio waits the probe time for video, then goes */
static void
test_gate_probe (void)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Out));
  RtmfpStartGate *g = rtmfp_start_gate_new (0, collect, out);
  gint64 t;

  PUSH (g, 8, 0, speex, 0);
  PUSH (g, 8, 20, speex, 20 * MS);
  g_assert_cmpuint (out->len, ==, 0);
  t = rtmfp_start_gate_next_timeout (g);
  g_assert_cmpint (t, ==, RTMFP_START_GATE_PROBE_US);
  rtmfp_start_gate_handle_timeout (g, t - 1);
  g_assert_cmpuint (out->len, ==, 0);
  rtmfp_start_gate_handle_timeout (g, t);
  g_assert_cmpuint (out->len, ==, 2);
  PUSH (g, 8, 40, speex, t + 20 * MS);
  g_assert_cmpuint (out->len, ==, 3);
  rtmfp_start_gate_free (g);
  g_array_unref (out);
}

/* No keyframe within the hold time: stale audio dropped, audio goes on,
 * video still waits for its keyframe */
static void
test_gate_hold_bound (void)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Out));
  RtmfpStartGate *g = rtmfp_start_gate_new (1 * SEC, collect, out);
  GByteArray *md = metadata (TRUE, TRUE);
  guint i;

  rtmfp_start_gate_push (g, 18, 0, md->data, md->len, 0, 0);
  for (i = 0; i < 10; i++)
    PUSH (g, 8, i * 20, speex, i * 20 * MS);
  g_assert_cmpuint (out->len, ==, 1);
  g_assert_cmpint (rtmfp_start_gate_next_timeout (g), ==, 1 * SEC);
  rtmfp_start_gate_handle_timeout (g, 1 * SEC);
  g_assert_cmpuint (out->len, ==, 1);
  PUSH (g, 8, 1000, speex, 1 * SEC);
  g_assert_cmpuint (out->len, ==, 2);
  g_assert_cmpuint (g_array_index (out, Out, 1).lost, ==, 10);
  PUSH (g, 9, 1010, inter, 1 * SEC);
  g_assert_cmpuint (out->len, ==, 2);
  PUSH (g, 9, 1043, key, 1 * SEC);
  g_assert_cmpuint (out->len, ==, 3);
  rtmfp_start_gate_free (g);
  g_byte_array_unref (md);
  g_array_unref (out);
}

/* A restart: RESTART on the next message, video from a keyframe again;
 * replayed headers with an old timestamp are restamped */
static void
test_gate_restart_restamp (void)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Out));
  RtmfpStartGate *g = rtmfp_start_gate_new (0, collect, out);
  GByteArray *md = metadata (TRUE, TRUE);
  Out *o;

  rtmfp_start_gate_push (g, 18, 0, md->data, md->len, 0, 0);
  PUSH (g, 9, 0, avc_hdr, 0);
  PUSH (g, 9, 0, key, 0);
  PUSH (g, 9, 5000, inter, 0);
  g_assert_cmpuint (out->len, ==, 4);
  rtmfp_start_gate_restart (g);
  PUSH (g, 9, 100, avc_hdr, 0);         /* cached long ago */
  PUSH (g, 9, 5033, inter, 0);
  PUSH (g, 8, 5040, aac_hdr, 0);
  PUSH (g, 9, 5066, key, 0);
  g_assert_cmpuint (out->len, ==, 7);
  o = &g_array_index (out, Out, 4);
  g_assert_true (o->flags & RTMFP_MEDIA_RESTART);
  g_assert_cmpuint (o->ts, ==, 5000);
  o = &g_array_index (out, Out, 5);
  g_assert_true (o->flags & RTMFP_MEDIA_HEADER);        /* AAC header */
  o = &g_array_index (out, Out, 6);
  g_assert_true (o->flags & RTMFP_MEDIA_KEYFRAME);
  g_assert_cmpuint (o->lost, ==, 1);
  rtmfp_start_gate_free (g);
  g_byte_array_unref (md);
  g_array_unref (out);
}

/* ------------------------------------------------------------------------ */
/* the receive queue */

static void
qpush (RtmfpMediaQueue * q, guint8 type, guint32 ts, const guint8 * p,
    gsize len)
{
  RtmfpMediaMessage m = { type, ts, p, len, 0, 0 };

  m.flags = rtmfp_media_classify (type, p, len);
  rtmfp_media_queue_push (q, &m);
}

#define QPUSH(q, type, ts, data) qpush (q, type, ts, data, sizeof (data))

static RtmfpMediaItem *
pop_type (RtmfpMediaQueue * q, guint8 type)
{
  RtmfpMediaItem *it;

  while ((it = rtmfp_media_queue_pop (q))) {
    if (it->type == type)
      return it;
    rtmfp_media_item_free (it);
  }
  return NULL;
}

/* Full: the GOP tail goes, up to the next keyframe, which says how many
 * video messages were lost; audio and headers stay */
static void
test_queue_gop_tail (void)
{
  RtmfpMediaQueue *q = rtmfp_media_queue_new (8, 1 << 20);
  RtmfpMediaItem *it;

  QPUSH (q, 9, 0, avc_hdr);
  QPUSH (q, 9, 0, key);
  QPUSH (q, 9, 33, inter);
  QPUSH (q, 8, 40, speex);
  QPUSH (q, 9, 66, inter);
  QPUSH (q, 9, 100, key);
  QPUSH (q, 9, 133, inter);
  QPUSH (q, 8, 140, speex);
  g_assert_cmpuint (rtmfp_media_queue_get_length (q), ==, 8);
  QPUSH (q, 8, 160, speex);             /* drops the inter frames 33, 66 */
  g_assert_cmpuint (rtmfp_media_queue_get_length (q), ==, 7);
  g_assert_cmpuint (rtmfp_media_queue_get_dropped (q), ==, 2);

  it = rtmfp_media_queue_pop (q);
  g_assert_true (it->flags & RTMFP_MEDIA_HEADER);
  rtmfp_media_item_free (it);
  it = rtmfp_media_queue_pop (q);
  g_assert_cmpuint (it->timestamp, ==, 0);
  g_assert_cmpuint (it->lost, ==, 0);
  rtmfp_media_item_free (it);
  it = rtmfp_media_queue_pop (q);
  g_assert_cmpuint (it->type, ==, 8);
  g_assert_cmpuint (it->lost, ==, 0);
  rtmfp_media_item_free (it);
  it = rtmfp_media_queue_pop (q);
  g_assert_cmpuint (it->timestamp, ==, 100);
  g_assert_cmpuint (it->lost, ==, 2);
  g_assert_true (it->flags & RTMFP_MEDIA_DISCONT);
  rtmfp_media_item_free (it);
  rtmfp_media_queue_free (q);
}

/* With no keyframe after the dropped frames, video stays cut until one
 * comes; the keyframe counts everything lost */
static void
test_queue_cut_until_keyframe (void)
{
  RtmfpMediaQueue *q = rtmfp_media_queue_new (4, 1 << 20);
  RtmfpMediaItem *it;

  QPUSH (q, 9, 0, key);
  QPUSH (q, 9, 33, inter);
  QPUSH (q, 9, 66, inter);
  QPUSH (q, 9, 99, inter);
  QPUSH (q, 8, 100, speex);             /* drops 33, 66, 99: video cut */
  QPUSH (q, 9, 133, inter);             /* dropped: no keyframe yet */
  QPUSH (q, 9, 166, key);
  g_assert_cmpuint (rtmfp_media_queue_get_length (q), ==, 3);
  it = pop_type (q, 9);
  g_assert_cmpuint (it->timestamp, ==, 0);
  rtmfp_media_item_free (it);
  it = pop_type (q, 9);
  g_assert_cmpuint (it->timestamp, ==, 166);
  g_assert_cmpuint (it->lost, ==, 4);
  g_assert_true (it->flags & RTMFP_MEDIA_DISCONT);
  rtmfp_media_item_free (it);
  rtmfp_media_queue_free (q);
}

/* Audio only: the oldest audio goes, the next one says so; the byte limit
 * is hard; a message larger than the queue is dropped and counted */
static void
test_queue_audio_and_bytes (void)
{
  RtmfpMediaQueue *q = rtmfp_media_queue_new (100, 10);
  guint8 big[64] = { 0xb2 };
  RtmfpMediaItem *it;

  QPUSH (q, 8, 0, speex);
  QPUSH (q, 8, 20, speex);
  QPUSH (q, 8, 40, speex);              /* 12 bytes > 10: drops ts 0 */
  g_assert_cmpuint (rtmfp_media_queue_get_bytes (q), <=, 10);
  QPUSH (q, 8, 60, big);                /* larger than the queue */
  QPUSH (q, 8, 80, speex);              /* drops 20 (which stood for 0) */
  it = rtmfp_media_queue_pop (q);
  g_assert_cmpuint (it->timestamp, ==, 40);
  g_assert_cmpuint (it->lost, ==, 2);   /* 0 and 20 */
  rtmfp_media_item_free (it);
  it = rtmfp_media_queue_pop (q);
  g_assert_cmpuint (it->timestamp, ==, 80);
  g_assert_cmpuint (it->lost, ==, 1);   /* 60, too large */
  rtmfp_media_item_free (it);
  g_assert_null (rtmfp_media_queue_pop (q));
  rtmfp_media_queue_free (q);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media/gate/audio-from-keyframe",
      test_gate_audio_from_keyframe);
  g_test_add_func ("/media/gate/audio-only", test_gate_audio_only);
  g_test_add_func ("/media/gate/probe", test_gate_probe);
  g_test_add_func ("/media/gate/hold-bound", test_gate_hold_bound);
  g_test_add_func ("/media/gate/restart-restamp", test_gate_restart_restamp);
  g_test_add_func ("/media/queue/gop-tail", test_queue_gop_tail);
  g_test_add_func ("/media/queue/cut-until-keyframe",
      test_queue_cut_until_keyframe);
  g_test_add_func ("/media/queue/audio-and-bytes", test_queue_audio_and_bytes);
  return g_test_run ();
}
