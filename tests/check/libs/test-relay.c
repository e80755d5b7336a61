/* Unit tests of the relay (tools/rtmfp-server/rtmfprelay.c) with fake
 * players: the fan-out path's shared message (send_tc).
 *
 * A message pushed to several RTMFP players is encoded as a TC message
 * once and the very same immutable GBytes goes to each of them (their
 * flows queue a reference: rtmfp_session_write_bytes), with exactly the
 * bytes rtmfp_tc_message_append makes; a player without send_tc (the RTMP
 * side) still gets send; a later message never reuses an earlier one's
 * encoding.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib.h>

#include "rtmfprelay.h"
#include "rtmfptc.h"

typedef struct {
  GPtrArray *tc;                /* GBytes (ref) per send_tc */
  guint n_send;                 /* plain send calls */
  GByteArray *last_send;        /* its payload */
  guint8 last_type;
} FakePlayer;

static void
fake_send (gpointer ud, RtmfpRelayKind kind, guint8 type, guint32 ts,
    const guint8 * payload, gsize len, gint64 lifetime_us)
{
  FakePlayer *p = ud;

  p->n_send++;
  p->last_type = type;
  g_byte_array_set_size (p->last_send, 0);
  g_byte_array_append (p->last_send, payload, (guint) len);
}

static void
fake_send_tc (gpointer ud, RtmfpRelayKind kind, GBytes * tc_message,
    gint64 lifetime_us)
{
  FakePlayer *p = ud;

  g_ptr_array_add (p->tc, g_bytes_ref (tc_message));
}

static gsize
fake_queued (gpointer ud, RtmfpRelayKind kind)
{
  return 0;
}

static void
fake_flush (gpointer ud, RtmfpRelayKind kind)
{
}

static void
fake_status (gpointer ud, const gchar * level, const gchar * code,
    const gchar * description)
{
}

static const RtmfpRelayPlayerFuncs rtmfp_funcs = {
  .send = fake_send,
  .queued_bytes = fake_queued,
  .flush = fake_flush,
  .status = fake_status,
  .send_tc = fake_send_tc,
};

static const RtmfpRelayPlayerFuncs rtmp_funcs = {
  .send = fake_send,
  .queued_bytes = fake_queued,
  .flush = fake_flush,
  .status = fake_status,
};

static GBytes *
expected_tc (guint8 type, guint32 ts, const guint8 * payload, gsize len)
{
  GByteArray *a = g_byte_array_new ();

  rtmfp_tc_message_append (a, type, ts, payload, len);
  return g_byte_array_free_to_bytes (a);
}

#define N_RTMFP 3

static void
test_shared_message (void)
{
  RtmfpRelayConfig cfg;
  RtmfpRelay *relay;
  RtmfpRelayStream *st;
  FakePlayer fp[N_RTMFP + 1];
  RtmfpRelayPlayer *pl[N_RTMFP + 1];
  guint8 key[600], inter[300];
  GBytes *want;
  guint i;

  rtmfp_relay_config_init (&cfg);
  relay = rtmfp_relay_new (&cfg);
  st = rtmfp_relay_publish (relay, "live", "cam");
  g_assert_nonnull (st);
  for (i = 0; i <= N_RTMFP; i++) {
    fp[i].tc = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
    fp[i].n_send = 0;
    fp[i].last_send = g_byte_array_new ();
    pl[i] = rtmfp_relay_play (relay, "live", "cam",
        i < N_RTMFP ? &rtmfp_funcs : &rtmp_funcs, &fp[i]);
    g_assert_nonnull (pl[i]);
  }

  /* an AVC keyframe (NALU), then an inter frame */
  memset (key, 0xab, sizeof key);
  key[0] = 0x17;
  key[1] = 0x01;
  memset (inter, 0xcd, sizeof inter);
  inter[0] = 0x27;
  inter[1] = 0x01;
  rtmfp_relay_stream_push (st, RTMFP_TC_MSG_VIDEO, 1000, key, sizeof key);

  want = expected_tc (RTMFP_TC_MSG_VIDEO, 1000, key, sizeof key);
  for (i = 0; i < N_RTMFP; i++) {
    g_assert_cmpuint (fp[i].tc->len, ==, 1);
    g_assert_cmpuint (fp[i].n_send, ==, 0);
    /* one object for every player: encoded once, no copy per player */
    g_assert_true (g_ptr_array_index (fp[i].tc, 0) ==
        g_ptr_array_index (fp[0].tc, 0));
    g_assert_true (g_bytes_equal (g_ptr_array_index (fp[i].tc, 0), want));
  }
  g_bytes_unref (want);
  /* the RTMP player got the payload the usual way */
  g_assert_cmpuint (fp[N_RTMFP].n_send, ==, 1);
  g_assert_cmpuint (fp[N_RTMFP].last_type, ==, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpmem (fp[N_RTMFP].last_send->data, fp[N_RTMFP].last_send->len,
      key, sizeof key);

  /* the next message, even from the same buffer at the same address and
   * size with another timestamp or content, is encoded anew */
  memcpy (key, inter, sizeof inter);
  rtmfp_relay_stream_push (st, RTMFP_TC_MSG_VIDEO, 1033, key, sizeof key);
  want = expected_tc (RTMFP_TC_MSG_VIDEO, 1033, key, sizeof key);
  for (i = 0; i < N_RTMFP; i++) {
    g_assert_cmpuint (fp[i].tc->len, ==, 2);
    g_assert_true (g_ptr_array_index (fp[i].tc, 1) ==
        g_ptr_array_index (fp[0].tc, 1));
    g_assert_true (g_ptr_array_index (fp[i].tc, 1) !=
        g_ptr_array_index (fp[i].tc, 0));
    g_assert_true (g_bytes_equal (g_ptr_array_index (fp[i].tc, 1), want));
  }
  g_bytes_unref (want);
  /* same timestamp and address, other content: a new push, new bytes */
  key[5] ^= 0xff;
  rtmfp_relay_stream_push (st, RTMFP_TC_MSG_VIDEO, 1033, key, sizeof key);
  want = expected_tc (RTMFP_TC_MSG_VIDEO, 1033, key, sizeof key);
  for (i = 0; i < N_RTMFP; i++) {
    g_assert_cmpuint (fp[i].tc->len, ==, 3);
    g_assert_true (g_bytes_equal (g_ptr_array_index (fp[i].tc, 2), want));
  }
  g_bytes_unref (want);

  for (i = 0; i <= N_RTMFP; i++) {
    rtmfp_relay_stop (relay, pl[i]);
    g_ptr_array_unref (fp[i].tc);
    g_byte_array_unref (fp[i].last_send);
  }
  rtmfp_relay_unpublish (relay, st);
  rtmfp_relay_free (relay);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/shared-message", test_shared_message);
  return g_test_run ();
}
