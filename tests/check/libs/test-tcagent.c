/* The session policy (rtmfptcagent) on the simulated network, against the
 * real server object of rtmfp-server: publishing and playing, coherent
 * starts, outages of 1, 5 and 60 s, a server killed and restarted, a
 * publisher taking its own name over after an outage, refusals that are
 * final, waiting for a publisher and the idle timeout, keyframe requests,
 * peer to peer (by peer ID and by name), statistics across reconnections,
 * and bit-for-bit repeatable runs.  No real time: everything runs on the
 * simulated clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpsimnet.h"
#include "rtmfpserver.h"
#include "rtmfptcagent.h"
#include "rtmfpcrypto.h"
#include "rtmfptc.h"
#include "flvtag.h"

#define MS 1000
#define SEC 1000000
#define SERVER_ADDR "10.0.0.1:1935"
#define TC_URL "rtmfp://10.0.0.1/live"
#define POLL_PERIOD (250 * MS)
#define FRAME_US 33333
#define AUDIO_US 20000
#define GOP 60

typedef struct _Fx Fx;

/* one message seen by a player */
typedef struct {
  guint8 type;
  guint32 ts;
  guint flags;
  guint lost;
  guint32 index;                /* frame index in the payload, or ~0 */
  gint64 at;
} Rec;

typedef struct {
  Fx *fx;
  gchar *name;
  RtmfpSimHost *host;
  RtmfpTcAgent *agent;
  GArray *recs;                 /* Rec */
  GString *trace;
  guint n_reconnecting;
  guint n_reconnected;
  guint n_waiting;
  guint n_keyframe_wanted;
  guint n_peer_playing;
  gboolean publishing;
  gboolean eos;
  gint64 eos_at;
  GError *error;
  gint64 error_at;
  /* publisher's synthetic source */
  gboolean feeding;
  gint64 feed_start;
  guint next_v;
  guint next_a;
  gboolean force_key;
  guint32 last_key_index;
} Ag;

struct _Fx {
  RtmfpSimNet *net;
  GRand *rand;
  RtmfpSimHost *srv_host;
  RtmfpServer *srv;
  GPtrArray *dead;              /* old servers: RtmfpServer* */
  gint64 last_poll;
  GPtrArray *agents;            /* Ag* */
  guint n_hosts;
};

static gint64
sim_clock (gpointer data)
{
  return rtmfp_sim_net_now (data);
}

static guint32
fx_random (gpointer data)
{
  return g_rand_int (((Fx *) data)->rand);
}

/* ------------------------------------------------------------------------ */
/* server */

static void
server_start (Fx * fx, const gchar * const *apps)
{
  RtmfpServerConfig cfg;
  RtmfpEndpointConfig ecfg;

  rtmfp_server_config_init (&cfg);
  cfg.apps = apps;
  fx->srv = rtmfp_server_new (&cfg, sim_clock, fx->net);
  rtmfp_server_endpoint_config (fx->srv, &ecfg);
  fx->srv_host = rtmfp_sim_net_add_host (fx->net, SERVER_ADDR, &ecfg,
      rtmfp_server_get_callbacks (), fx->srv);
  rtmfp_server_set_endpoint (fx->srv,
      rtmfp_sim_host_get_endpoint (fx->srv_host));
}

/* The server dies (SIGKILL): it says nothing more and its address is free
 * for a new one */
static void
server_kill (Fx * fx)
{
  gchar *away = g_strdup_printf ("10.9.9.%u:1", fx->dead->len + 1);

  rtmfp_sim_host_set_blackhole (fx->srv_host, TRUE);
  rtmfp_sim_host_set_address (fx->srv_host, away);
  g_free (away);
  g_ptr_array_add (fx->dead, fx->srv);
  fx->srv = NULL;
  fx->srv_host = NULL;
}

static Fx *
fx_new (guint32 seed, const gchar * const *apps)
{
  Fx *fx = g_new0 (Fx, 1);
  RtmfpSimLink link;

  fx->net = rtmfp_sim_net_new (seed);
  fx->rand = g_rand_new_with_seed (seed);
  rtmfp_sim_link_init (&link);
  link.delay_us = 15 * MS;      /* 30 ms RTT */
  rtmfp_sim_net_set_link (fx->net, &link);
  fx->dead = g_ptr_array_new ();
  fx->agents = g_ptr_array_new ();
  server_start (fx, apps);
  return fx;
}

static void
ag_free (Ag * ag)
{
  rtmfp_tc_agent_free (ag->agent);
  g_array_unref (ag->recs);
  g_string_free (ag->trace, TRUE);
  g_clear_error (&ag->error);
  g_free (ag->name);
  g_free (ag);
}

static void
fx_free (Fx * fx)
{
  guint i;

  /* agents first (they hold sessions of the endpoints), then the net */
  for (i = 0; i < fx->agents->len; i++)
    ag_free (g_ptr_array_index (fx->agents, i));
  g_ptr_array_unref (fx->agents);
  rtmfp_sim_net_free (fx->net);
  if (fx->srv)
    rtmfp_server_free (fx->srv);
  for (i = 0; i < fx->dead->len; i++)
    rtmfp_server_free (g_ptr_array_index (fx->dead, i));
  g_ptr_array_unref (fx->dead);
  g_rand_free (fx->rand);
  g_free (fx);
}

/* ------------------------------------------------------------------------ */
/* the synthetic stream */

static void
append_index (GByteArray * b, guint32 index)
{
  guint8 ix[4] = { index >> 24, index >> 16, index >> 8, index };

  g_byte_array_append (b, ix, 4);
}

static guint32
read_index (const guint8 * p, gsize len, gsize off)
{
  if (len < off + 4)
    return G_MAXUINT32;
  return ((guint32) p[off] << 24) | ((guint32) p[off + 1] << 16) |
      ((guint32) p[off + 2] << 8) | p[off + 3];
}

static const guint8 avc_header[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0,
  0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02,
  0x68, 0xce
};

static GByteArray *
metadata (void)
{
  GByteArray *b = g_byte_array_new ();
  RtmfpAmfNode *n = rtmfp_amf_node_new_string ("onMetaData", -1);
  RtmfpAmfNode *o = rtmfp_amf_node_new_ecma_array ();

  rtmfp_amf_node_append_field_number (o, "videocodecid", 7);
  rtmfp_amf_node_append_field_number (o, "audiocodecid", 11);
  rtmfp_amf_node_serialize (n, b);
  rtmfp_amf_node_serialize (o, b);
  rtmfp_amf_node_free (n);
  rtmfp_amf_node_free (o);
  return b;
}

static void
send_headers (Ag * ag, gint64 now)
{
  GByteArray *md = metadata ();

  rtmfp_tc_agent_send (ag->agent, RTMFP_TC_MSG_DATA_AMF0, 0, md->data,
      md->len, RTMFP_TC_CLIENT_SEND_RELIABLE, now);
  rtmfp_tc_agent_send (ag->agent, RTMFP_TC_MSG_VIDEO, 0, avc_header,
      sizeof avc_header, RTMFP_TC_CLIENT_SEND_RELIABLE, now);
  g_byte_array_unref (md);
}

static void
send_video (Ag * ag, guint n, gint64 now)
{
  gboolean key = n % GOP == 0 || ag->force_key;
  GByteArray *b = g_byte_array_new ();
  guint8 hdr[5] = { key ? 0x17 : 0x27, 0x01, 0, 0, 0 };
  gsize size = key ? 12000 : 3000;

  g_byte_array_append (b, hdr, 5);
  append_index (b, n);
  g_byte_array_set_size (b, size);
  rtmfp_tc_agent_send (ag->agent, RTMFP_TC_MSG_VIDEO, n * FRAME_US / 1000,
      b->data, b->len, key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, now);
  if (key)
    ag->last_key_index = n;
  ag->force_key = FALSE;
  g_byte_array_unref (b);
}

static void
send_audio (Ag * ag, guint n, gint64 now)
{
  GByteArray *b = g_byte_array_new ();
  guint8 hdr = RTMFP_FLV_SPEEX_TAG_BYTE;

  g_byte_array_append (b, &hdr, 1);
  append_index (b, n);
  g_byte_array_set_size (b, 60);
  rtmfp_tc_agent_send (ag->agent, RTMFP_TC_MSG_AUDIO, n * AUDIO_US / 1000,
      b->data, b->len, 0, now);
  g_byte_array_unref (b);
}

/* Feeds what is due by now; returns when the next frame is due */
static gint64
feed (Ag * ag, gint64 now)
{
  gint64 vt, at;

  if (!ag->feeding)
    return -1;
  for (;;) {
    vt = ag->feed_start + (gint64) ag->next_v * FRAME_US;
    at = ag->feed_start + (gint64) ag->next_a * AUDIO_US;
    if (vt <= now && vt <= at)
      send_video (ag, ag->next_v++, now);
    else if (at <= now)
      send_audio (ag, ag->next_a++, now);
    else
      return MIN (vt, at);
  }
}

static void
start_feeding (Ag * ag)
{
  gint64 now = rtmfp_sim_net_now (ag->fx->net);

  ag->feeding = TRUE;
  ag->feed_start = now;
  send_headers (ag, now);
}

/* ------------------------------------------------------------------------ */
/* agents */

static void
trace (Ag * ag, const gchar * fmt, ...)
{
  va_list ap;

  g_string_append_printf (ag->trace, "%" G_GINT64_FORMAT " ",
      rtmfp_sim_net_now (ag->fx->net));
  va_start (ap, fmt);
  g_string_append_vprintf (ag->trace, fmt, ap);
  va_end (ap);
  g_string_append_c (ag->trace, '\n');
}

static void
on_state (RtmfpTcAgent * a, RtmfpTcAgentState state, gpointer ud)
{
  trace (ud, "state %s", rtmfp_tc_agent_state_get_nick (state));
}

static void
on_error (RtmfpTcAgent * a, const GError * err, gpointer ud)
{
  Ag *ag = ud;

  g_assert_null (ag->error);
  ag->error = g_error_copy (err);
  ag->error_at = rtmfp_sim_net_now (ag->fx->net);
  trace (ag, "error %s", err->message);
}

static void
on_message (RtmfpTcAgent * a, const RtmfpMediaMessage * m, gpointer ud)
{
  Ag *ag = ud;
  Rec r = { 0 };

  r.type = m->type;
  r.ts = m->timestamp;
  r.flags = m->flags;
  r.lost = m->lost;
  r.at = rtmfp_sim_net_now (ag->fx->net);
  r.index = G_MAXUINT32;
  if (m->type == RTMFP_TC_MSG_VIDEO && !(m->flags & RTMFP_MEDIA_HEADER))
    r.index = read_index (m->payload, m->len, 5);
  else if (m->type == RTMFP_TC_MSG_AUDIO)
    r.index = read_index (m->payload, m->len, 1);
  g_array_append_val (ag->recs, r);
  trace (ag, "msg %u %u %x %u", r.type, r.ts, r.flags, r.index);
}

static void
on_eos (RtmfpTcAgent * a, gpointer ud)
{
  Ag *ag = ud;

  ag->eos = TRUE;
  ag->eos_at = rtmfp_sim_net_now (ag->fx->net);
  trace (ag, "eos");
}

static void
on_publishing (RtmfpTcAgent * a, gpointer ud)
{
  ((Ag *) ud)->publishing = TRUE;
  trace (ud, "publishing");
}

static void
on_waiting (RtmfpTcAgent * a, gpointer ud)
{
  ((Ag *) ud)->n_waiting++;
  trace (ud, "waiting");
}

static void
on_reconnecting (RtmfpTcAgent * a, guint attempt, const gchar * reason,
    gpointer ud)
{
  ((Ag *) ud)->n_reconnecting++;
  trace (ud, "reconnecting %u", attempt);
}

static void
on_reconnected (RtmfpTcAgent * a, guint attempt, gint64 downtime,
    gpointer ud)
{
  ((Ag *) ud)->n_reconnected++;
  trace (ud, "reconnected %u %" G_GINT64_FORMAT, attempt, downtime);
}

static void
on_keyframe_wanted (RtmfpTcAgent * a, gpointer ud)
{
  Ag *ag = ud;

  ag->n_keyframe_wanted++;
  ag->force_key = TRUE;
  trace (ag, "keyframe wanted");
}

static void
on_peer_playing (RtmfpTcAgent * a, RtmfpSession * s, gpointer ud)
{
  ((Ag *) ud)->n_peer_playing++;
  trace (ud, "peer playing");
}

static const RtmfpTcAgentCallbacks callbacks = {
  .state_changed = on_state,
  .error = on_error,
  .message = on_message,
  .end_of_stream = on_eos,
  .publishing = on_publishing,
  .waiting = on_waiting,
  .reconnecting = on_reconnecting,
  .reconnected = on_reconnected,
  .keyframe_wanted = on_keyframe_wanted,
  .peer_playing = on_peer_playing,
};

static Ag *
ag_new_full (Fx * fx, RtmfpTcAgentConfig * cfg, const gchar * name)
{
  Ag *ag = g_new0 (Ag, 1);
  RtmfpEndpointConfig ecfg;
  static const guint groups[] = { 14, 2 };
  gchar *addr = g_strdup_printf ("10.0.1.%u:5000", ++fx->n_hosts);
  RtmfpAddr srv;

  ag->fx = fx;
  ag->name = g_strdup (name);
  ag->recs = g_array_new (FALSE, TRUE, sizeof (Rec));
  ag->trace = g_string_new (NULL);
  cfg->random = fx_random;
  cfg->random_data = fx;
  ag->agent = rtmfp_tc_agent_new (cfg, &callbacks, ag, sim_clock, fx->net);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = rtmfp_identity_new_static (groups, G_N_ELEMENTS (groups));
  ecfg.accept_sessions = cfg->role == RTMFP_TC_AGENT_PUBLISH_DIRECT;
  ag->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
      rtmfp_tc_agent_get_endpoint_callbacks (), ag->agent);
  rtmfp_identity_unref (ecfg.identity);
  g_free (addr);
  g_ptr_array_add (fx->agents, ag);
  g_assert_true (rtmfp_addr_from_string (&srv, SERVER_ADDR, 0));
  g_assert_true (rtmfp_tc_agent_start (ag->agent,
          rtmfp_sim_host_get_endpoint (ag->host), &srv, 1,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  return ag;
}

static void
agent_config (RtmfpTcAgentConfig * cfg, RtmfpTcAgentRole role,
    const gchar * stream)
{
  rtmfp_tc_agent_config_init (cfg);
  cfg->role = role;
  cfg->tc_url = TC_URL;
  cfg->app = "live";
  cfg->stream = stream;
  cfg->timeout_us = 10 * SEC;
}

static Ag *
publisher_new (Fx * fx, const gchar * stream)
{
  RtmfpTcAgentConfig cfg;

  agent_config (&cfg, RTMFP_TC_AGENT_PUBLISH, stream);
  return ag_new_full (fx, &cfg, "publisher");
}

static Ag *
player_new (Fx * fx, const gchar * stream)
{
  RtmfpTcAgentConfig cfg;

  agent_config (&cfg, RTMFP_TC_AGENT_PLAY, stream);
  return ag_new_full (fx, &cfg, "player");
}

/* ------------------------------------------------------------------------ */
/* driving the simulation */

typedef gboolean (*Cond) (gpointer ud);

static gboolean
never (gpointer ud)
{
  return FALSE;
}

/* Serves the agents' timers, the publishers' sources and the server's
 * housekeeping between slices of the simulated network */
static gboolean
drive_until (Fx * fx, Cond cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (fx->net) + max_us;

  cond = cond ? cond : never;
  for (;;) {
    gint64 now = rtmfp_sim_net_now (fx->net);
    gint64 next = MIN (end, fx->last_poll + POLL_PERIOD);
    gboolean acted = FALSE;
    guint i;

    if (now - fx->last_poll >= POLL_PERIOD) {
      fx->last_poll = now;
      if (fx->srv)
        rtmfp_server_poll (fx->srv);
      acted = TRUE;
    }
    for (i = 0; i < fx->agents->len; i++) {
      Ag *ag = g_ptr_array_index (fx->agents, i);
      gint64 t = rtmfp_tc_agent_next_timeout (ag->agent);

      if (t >= 0 && t <= now) {
        rtmfp_tc_agent_handle_timeout (ag->agent, now);
        acted = TRUE;
        t = rtmfp_tc_agent_next_timeout (ag->agent);
      }
      if (t >= 0)
        next = MIN (next, t);
      t = feed (ag, now);
      if (t >= 0)
        next = MIN (next, t);
    }
    if (acted)
      rtmfp_sim_net_kick (fx->net);
    if (cond (ud))
      return TRUE;
    if (now >= end)
      return FALSE;
    if (rtmfp_sim_net_run_until (fx->net, cond, ud, MAX (next - now, 1)))
      return TRUE;
  }
}

static void
drive_for (Fx * fx, gint64 us)
{
  drive_until (fx, NULL, NULL, us);
}

static gboolean
is_streaming (gpointer ud)
{
  return rtmfp_tc_agent_get_state (((Ag *) ud)->agent) ==
      RTMFP_TC_AGENT_STATE_STREAMING;
}

static gboolean
has_error (gpointer ud)
{
  return ((Ag *) ud)->error != NULL;
}

static gboolean
has_waited (gpointer ud)
{
  return ((Ag *) ud)->n_waiting > 0;
}

/* ------------------------------------------------------------------------ */
/* checks on what a player saw */

static guint
count_type (Ag * ag, guint8 type, gint64 from)
{
  guint i, n = 0;

  for (i = 0; i < ag->recs->len; i++) {
    Rec *r = &g_array_index (ag->recs, Rec, i);
    if (r->type == type && r->at >= from && !(r->flags & RTMFP_MEDIA_HEADER))
      n++;
  }
  return n;
}

/* Every start in recs (the first message, and each RESTART) is coherent:
 * the AVC header before the first picture, video from a keyframe, audio
 * not older than that keyframe; afterwards, video frames and audio frames
 * consecutive (a perfect link loses nothing) */
static void
check_coherent (Ag * ag, guint expect_starts)
{
  guint i, starts = 0;
  gboolean have_header = FALSE, have_key = FALSE;
  guint32 key_ts = 0, last_v = G_MAXUINT32, last_a = G_MAXUINT32;

  for (i = 0; i < ag->recs->len; i++) {
    Rec *r = &g_array_index (ag->recs, Rec, i);

    if (i == 0 || (r->flags & RTMFP_MEDIA_RESTART)) {
      g_assert_true (r->flags & RTMFP_MEDIA_RESTART);
      starts++;
      have_header = have_key = FALSE;
      last_v = last_a = G_MAXUINT32;
    }
    if (r->type == RTMFP_TC_MSG_VIDEO && (r->flags & RTMFP_MEDIA_HEADER)) {
      have_header = TRUE;
    } else if (r->type == RTMFP_TC_MSG_VIDEO) {
      g_assert_true (have_header);
      if (!have_key) {
        g_assert_true (r->flags & RTMFP_MEDIA_KEYFRAME);
        have_key = TRUE;
        key_ts = r->ts;
      } else {
        g_assert_cmpuint (r->index, ==, last_v + 1);
      }
      last_v = r->index;
    } else if (r->type == RTMFP_TC_MSG_AUDIO) {
      g_assert_true (have_key);
      g_assert_cmpint ((gint32) (r->ts - key_ts), >=, 0);
      if (last_a != G_MAXUINT32)
        g_assert_cmpuint (r->index, ==, last_a + 1);
      last_a = r->index;
    }
  }
  g_assert_cmpuint (starts, ==, expect_starts);
}

/* The first video picture at or after `from` */
static gint64
first_picture_at (Ag * ag, gint64 from)
{
  guint i;

  for (i = 0; i < ag->recs->len; i++) {
    Rec *r = &g_array_index (ag->recs, Rec, i);
    if (r->type == RTMFP_TC_MSG_VIDEO && !(r->flags & RTMFP_MEDIA_HEADER) &&
        r->at >= from)
      return r->at;
  }
  return -1;
}

/* ------------------------------------------------------------------------ */
/* tests */

/* A player joining a live stream: headers, then video from a keyframe
 * that the server asked the publisher for (so the start is quick, not up
 * to a GOP), audio from its time; all of it afterwards */
static void
test_publish_play (void)
{
  Fx *fx = fx_new (1, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply;
  gint64 joined;
  RtmfpTcAgentStats st;

  start_feeding (pub);
  g_assert_true (drive_until (fx, is_streaming, pub, 5 * SEC));
  g_assert_true (pub->publishing);
  drive_for (fx, 3 * SEC);
  ply = player_new (fx, "cam");
  joined = rtmfp_sim_net_now (fx->net);
  drive_for (fx, 5 * SEC);

  g_assert_null (pub->error);
  g_assert_null (ply->error);
  check_coherent (ply, 1);
  /* the keyframe came on request: within a few round trips, far less
   * than the 2 s GOP */
  g_assert_cmpuint (pub->n_keyframe_wanted, >=, 1);
  g_assert_cmpint (first_picture_at (ply, joined) - joined, <, 400 * MS);
  /* and then everything: ~5 s of 30 fps video and 50 fps audio */
  g_assert_cmpuint (count_type (ply, RTMFP_TC_MSG_VIDEO, 0), >=, 140);
  g_assert_cmpuint (count_type (ply, RTMFP_TC_MSG_AUDIO, 0), >=, 230);
  g_assert_cmpuint (ply->n_waiting, ==, 0);
  rtmfp_tc_agent_get_stats (ply->agent, &st);
  g_assert_cmpuint (st.sessions, ==, 1);
  g_assert_cmpuint (st.total_media[RTMFP_TC_MEDIA_VIDEO].messages_received,
      >=, 140);
  fx_free (fx);
}

/* Outages of the publisher's path shorter than the dead-peer time: the
 * same sessions carry on, media flows again soon after the path returns,
 * nothing is reported as an error */
static void
outage (guint seconds)
{
  Fx *fx = fx_new (10 + seconds, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply = player_new (fx, "cam");
  RtmfpTcAgentStats st;
  gint64 back;

  start_feeding (pub);
  drive_for (fx, 3 * SEC);
  g_assert_cmpuint (count_type (ply, RTMFP_TC_MSG_VIDEO, 0), >, 50);
  rtmfp_sim_host_set_blackhole (pub->host, TRUE);
  drive_for (fx, seconds * SEC);
  rtmfp_sim_host_set_blackhole (pub->host, FALSE);
  back = rtmfp_sim_net_now (fx->net);
  drive_for (fx, 3 * SEC);

  g_assert_null (pub->error);
  g_assert_null (ply->error);
  g_assert_cmpuint (pub->n_reconnecting, ==, 0);
  rtmfp_tc_agent_get_stats (pub->agent, &st);
  g_assert_cmpuint (st.sessions, ==, 1);
  /* media again within a second of the path's return (the pings during
   * the silence, and the timeout alarm pulled in, not a backed-off
   * ERTO of several seconds) */
  g_assert_cmpint (first_picture_at (ply, back), >, 0);
  g_assert_cmpint (first_picture_at (ply, back) - back, <, 1 * SEC);
  g_assert_false (ply->eos);
  fx_free (fx);
}

static void
test_outage_1s (void)
{
  outage (1);
}

static void
test_outage_5s (void)
{
  outage (5);
}

/* A 60 s outage with timeout 8 s: the publisher fails with LOST 8 s after
 * its last packet from the server (not earlier, not much later) */
static void
test_outage_60s (void)
{
  Fx *fx = fx_new (60, NULL);
  RtmfpTcAgentConfig cfg;
  Ag *pub;
  gint64 dark;

  agent_config (&cfg, RTMFP_TC_AGENT_PUBLISH, "cam");
  cfg.timeout_us = 8 * SEC;
  pub = ag_new_full (fx, &cfg, "publisher");
  start_feeding (pub);
  g_assert_true (drive_until (fx, is_streaming, pub, 5 * SEC));
  drive_for (fx, 1 * SEC);
  rtmfp_sim_host_set_blackhole (pub->host, TRUE);
  dark = rtmfp_sim_net_now (fx->net);
  g_assert_true (drive_until (fx, has_error, pub, 60 * SEC));
  g_assert_error (pub->error, RTMFP_TC_AGENT_ERROR,
      RTMFP_TC_AGENT_ERROR_LOST);
  g_assert_cmpint (pub->error_at - dark, >=, 7 * SEC);
  g_assert_cmpint (pub->error_at - dark, <=, 9 * SEC);
  /* dead after 6 s of silence, then one attempt of the 2 s left */
  g_assert_cmpuint (pub->n_reconnecting, ==, 1);
  g_assert_cmpint (rtmfp_tc_agent_get_state (pub->agent), ==,
      RTMFP_TC_AGENT_STATE_FAILED);
  fx_free (fx);
}

/* The server is killed and a new one starts on its address: both sides
 * find it (dead-peer detection), the publisher sends its sequence header
 * and metadata first (the new server knows nothing), the player restarts
 * coherently from a keyframe */
static Fx *
run_server_restart (guint32 seed)
{
  Fx *fx = fx_new (seed, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply = player_new (fx, "cam");
  gint64 killed;
  RtmfpTcAgentStats st;

  start_feeding (pub);
  drive_for (fx, 3 * SEC);
  server_kill (fx);
  killed = rtmfp_sim_net_now (fx->net);
  drive_for (fx, 1 * SEC);
  server_start (fx, NULL);
  drive_for (fx, 10 * SEC);

  g_assert_null (pub->error);
  g_assert_null (ply->error);
  g_assert_cmpuint (pub->n_reconnected, ==, 1);
  g_assert_cmpuint (ply->n_reconnected, ==, 1);
  check_coherent (ply, 2);
  /* back within dead-peer time (6 s) + a couple of attempts */
  g_assert_cmpint (first_picture_at (ply, killed + 1 * SEC), >, 0);
  g_assert_cmpint (first_picture_at (ply, killed + 1 * SEC) - killed, <,
      8 * SEC);
  g_assert_false (ply->eos);
  rtmfp_tc_agent_get_stats (pub->agent, &st);
  g_assert_cmpuint (st.sessions, >=, 2);
  g_assert_cmpuint (st.reconnections, ==, 1);
  /* totals span both sessions: more than the current session alone */
  g_assert_cmpuint (st.total_media[RTMFP_TC_MEDIA_VIDEO].messages_sent, >,
      st.client.media[RTMFP_TC_MEDIA_VIDEO].messages_sent);
  g_assert_cmpuint (st.total_session.packets_sent, >,
      st.client.session.packets_sent);
  return fx;
}

static void
test_server_restart (void)
{
  fx_free (run_server_restart (3));
}

/* The same seed gives the same run, event for event (the reconnection
 * jitter comes from the random callback) */
static void
test_deterministic (void)
{
  Fx *a = run_server_restart (4), *b = run_server_restart (4);
  guint i;

  for (i = 0; i < a->agents->len; i++) {
    Ag *x = g_ptr_array_index (a->agents, i);
    Ag *y = g_ptr_array_index (b->agents, i);
    g_assert_cmpstr (x->trace->str, ==, y->trace->str);
  }
  fx_free (a);
  fx_free (b);
}

/* The publisher is dark for 7 s (past the 6 s dead-peer time): it opens a
 * new session and publishes its name again; the server hands the name
 * over from the silent old session at once, the player goes on from the
 * new session's keyframe without an end of stream */
static void
test_takeover (void)
{
  Fx *fx = fx_new (7, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply = player_new (fx, "cam");
  gint64 back;

  start_feeding (pub);
  drive_for (fx, 3 * SEC);
  rtmfp_sim_host_set_blackhole (pub->host, TRUE);
  drive_for (fx, 7 * SEC);
  rtmfp_sim_host_set_blackhole (pub->host, FALSE);
  back = rtmfp_sim_net_now (fx->net);
  drive_for (fx, 5 * SEC);

  g_assert_null (pub->error);
  g_assert_null (ply->error);
  g_assert_cmpuint (pub->n_reconnected, ==, 1);
  g_assert_cmpuint (ply->n_reconnecting, ==, 0);
  g_assert_false (ply->eos);
  g_assert_cmpint (first_picture_at (ply, back), >, 0);
  g_assert_cmpint (first_picture_at (ply, back) - back, <, 2500 * MS);
  check_coherent (ply, 2);
  fx_free (fx);
}

/* A refused connection is final: no reconnection attempt */
static void
test_refused_is_final (void)
{
  static const gchar *const apps[] = { "other", NULL };
  Fx *fx = fx_new (8, apps);
  Ag *pub = publisher_new (fx, "cam");

  g_assert_true (drive_until (fx, has_error, pub, 5 * SEC));
  g_assert_error (pub->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_REJECTED);
  drive_for (fx, 3 * SEC);
  g_assert_cmpuint (pub->n_reconnecting, ==, 0);
  fx_free (fx);
}

/* A stream nobody publishes: `waiting` once, and with an idle timeout the
 * player fails naming the stream; then one that gets published later
 * starts coherently */
static void
test_waiting_idle_timeout (void)
{
  Fx *fx = fx_new (9, NULL);
  RtmfpTcAgentConfig cfg;
  Ag *ply;
  gint64 t0 = rtmfp_sim_net_now (fx->net);

  agent_config (&cfg, RTMFP_TC_AGENT_PLAY, "nobody");
  cfg.idle_timeout_us = 3 * SEC;
  ply = ag_new_full (fx, &cfg, "player");
  g_assert_true (drive_until (fx, has_waited, ply, 3 * SEC));
  g_assert_true (drive_until (fx, has_error, ply, 10 * SEC));
  g_assert_error (ply->error, RTMFP_TC_AGENT_ERROR,
      RTMFP_TC_AGENT_ERROR_NOT_PUBLISHED);
  g_assert_nonnull (strstr (ply->error->message, "nobody"));
  g_assert_cmpuint (ply->n_waiting, ==, 1);
  g_assert_cmpint (ply->error_at - t0, >=, 3 * SEC);
  g_assert_cmpint (ply->error_at - t0, <, 5 * SEC);
  fx_free (fx);
}

static void
test_waiting_then_published (void)
{
  Fx *fx = fx_new (19, NULL);
  Ag *ply = player_new (fx, "later");
  Ag *pub;

  g_assert_true (drive_until (fx, has_waited, ply, 3 * SEC));
  drive_for (fx, 2 * SEC);
  pub = publisher_new (fx, "later");
  start_feeding (pub);
  drive_for (fx, 4 * SEC);
  g_assert_null (ply->error);
  g_assert_cmpuint (ply->n_waiting, ==, 1);
  check_coherent (ply, 1);
  g_assert_cmpuint (count_type (ply, RTMFP_TC_MSG_VIDEO, 0), >=, 90);
  fx_free (fx);
}

/* A player asks for a keyframe: the server passes it on, the publisher is
 * told at once; a second request within a round trip is not sent */
static void
test_keyframe_request (void)
{
  Fx *fx = fx_new (11, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply = player_new (fx, "cam");
  guint before;
  RtmfpTcAgentStats st;

  start_feeding (pub);
  drive_for (fx, 3 * SEC);
  before = pub->n_keyframe_wanted;
  g_assert_true (rtmfp_tc_agent_request_keyframe (ply->agent,
          rtmfp_sim_net_now (fx->net)));
  g_assert_false (rtmfp_tc_agent_request_keyframe (ply->agent,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  drive_for (fx, 200 * MS);
  g_assert_cmpuint (pub->n_keyframe_wanted, ==, before + 1);
  rtmfp_tc_agent_get_stats (ply->agent, &st);
  g_assert_cmpuint (st.keyframe_requests_sent, ==, 1);
  fx_free (fx);
}

/* Peer to peer: a direct publisher, a player by peer ID and one that asks
 * the server for the peer ID by the stream name; the server relays
 * nothing */
static void
test_direct (void)
{
  Fx *fx = fx_new (12, NULL);
  RtmfpTcAgentConfig cfg;
  Ag *pub, *by_id, *by_name;
  RtmfpServerStats sst;
  const guint8 *fp;

  agent_config (&cfg, RTMFP_TC_AGENT_PUBLISH_DIRECT, "me");
  pub = ag_new_full (fx, &cfg, "direct publisher");
  start_feeding (pub);
  g_assert_true (drive_until (fx, is_streaming, pub, 5 * SEC));
  g_assert_true (pub->publishing);
  drive_for (fx, 500 * MS);

  fp = rtmfp_identity_get_fingerprint (rtmfp_endpoint_get_identity
      (rtmfp_sim_host_get_endpoint (pub->host)));
  agent_config (&cfg, RTMFP_TC_AGENT_PLAY, "me");
  cfg.peer_fingerprint = fp;
  by_id = ag_new_full (fx, &cfg, "player by id");
  agent_config (&cfg, RTMFP_TC_AGENT_PLAY, "me");
  cfg.resolve_peer = TRUE;
  by_name = ag_new_full (fx, &cfg, "player by name");
  drive_for (fx, 5 * SEC);

  g_assert_null (pub->error);
  g_assert_null (by_id->error);
  g_assert_null (by_name->error);
  g_assert_cmpuint (by_id->n_peer_playing, ==, 1);
  g_assert_cmpuint (by_name->n_peer_playing, ==, 1);
  g_assert_false (by_id->eos);
  g_assert_false (by_name->eos);
  check_coherent (by_id, 1);
  check_coherent (by_name, 1);
  g_assert_cmpuint (count_type (by_id, RTMFP_TC_MSG_VIDEO, 0), >=, 120);
  g_assert_cmpuint (count_type (by_name, RTMFP_TC_MSG_VIDEO, 0), >=, 120);
  rtmfp_server_get_stats (fx->srv, &sst);
  g_assert_cmpuint (sst.messages_relayed, ==, 0);
  fx_free (fx);
}

/* By name, for a name nobody publishes peer to peer: waiting, then it
 * plays once the publisher is there */
static void
test_direct_by_name_waits (void)
{
  Fx *fx = fx_new (13, NULL);
  RtmfpTcAgentConfig cfg;
  Ag *pub, *ply;

  agent_config (&cfg, RTMFP_TC_AGENT_PLAY, "me");
  cfg.resolve_peer = TRUE;
  ply = ag_new_full (fx, &cfg, "player by name");
  g_assert_true (drive_until (fx, has_waited, ply, 3 * SEC));
  agent_config (&cfg, RTMFP_TC_AGENT_PUBLISH_DIRECT, "me");
  pub = ag_new_full (fx, &cfg, "direct publisher");
  start_feeding (pub);
  drive_for (fx, 5 * SEC);
  g_assert_null (ply->error);
  g_assert_cmpuint (ply->n_peer_playing, ==, 1);
  g_assert_cmpuint (count_type (ply, RTMFP_TC_MSG_VIDEO, 0), >=, 60);
  fx_free (fx);
}

/* The end: the publisher closes; the player gets its end of stream after
 * the unpublish grace, having seen the last frame */
static void
test_end_of_stream (void)
{
  Fx *fx = fx_new (14, NULL);
  Ag *pub = publisher_new (fx, "cam");
  Ag *ply = player_new (fx, "cam");
  guint last;

  start_feeding (pub);
  drive_for (fx, 3 * SEC);
  pub->feeding = FALSE;
  last = pub->next_v - 1;
  rtmfp_tc_agent_close (pub->agent, rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  drive_for (fx, 6 * SEC);
  g_assert_cmpint (rtmfp_tc_agent_get_state (pub->agent), ==,
      RTMFP_TC_AGENT_STATE_CLOSED);
  g_assert_true (ply->eos);
  g_assert_null (ply->error);
  {
    Rec *r = NULL;
    guint i;
    for (i = ply->recs->len; i > 0; i--) {
      r = &g_array_index (ply->recs, Rec, i - 1);
      if (r->type == RTMFP_TC_MSG_VIDEO)
        break;
    }
    g_assert_nonnull (r);
    g_assert_cmpuint (r->index, ==, last);
  }
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tcagent/publish-play", test_publish_play);
  g_test_add_func ("/tcagent/outage-1s", test_outage_1s);
  g_test_add_func ("/tcagent/outage-5s", test_outage_5s);
  g_test_add_func ("/tcagent/outage-60s", test_outage_60s);
  g_test_add_func ("/tcagent/server-restart", test_server_restart);
  g_test_add_func ("/tcagent/deterministic", test_deterministic);
  g_test_add_func ("/tcagent/takeover", test_takeover);
  g_test_add_func ("/tcagent/refused-is-final", test_refused_is_final);
  g_test_add_func ("/tcagent/waiting-idle-timeout", test_waiting_idle_timeout);
  g_test_add_func ("/tcagent/waiting-then-published",
      test_waiting_then_published);
  g_test_add_func ("/tcagent/keyframe-request", test_keyframe_request);
  g_test_add_func ("/tcagent/direct", test_direct);
  g_test_add_func ("/tcagent/direct-by-name-waits",
      test_direct_by_name_waits);
  g_test_add_func ("/tcagent/end-of-stream", test_end_of_stream);
  return g_test_run ();
}
