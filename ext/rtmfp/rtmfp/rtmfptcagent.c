/* RTMFP core: a publisher or player that survives outages (see
 * rtmfptcagent.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-tcagent"

#include <string.h>

#include "rtmfptcagent.h"
#include "rtmfptcpeer.h"
#include "rtmfpstartgate.h"
#include "rtmfpcrypto.h"
#include "flvtag.h"

/* Dead-peer detection: a session the far end has not answered for this
 * long is lost (RFC 7016 3.5.4.1 lets an open session survive silence
 * until its idle timeout; past this one a new session is worth more),
 * but never less than DEAD_PEER_MIN_US and leaving 2 s of the timeout */
#define DEAD_PEER_US (6 * G_TIME_SPAN_SECOND)
#define DEAD_PEER_MIN_US (2 * G_TIME_SPAN_SECOND)
/* While nothing is received for SILENCE_PING_US, ping every WATCH_US: the
 * first packet through a path that came back draws an answer at once (the
 * keepalive alone is paced by the backed-off ERTO) */
#define SILENCE_PING_US (500 * G_TIME_SPAN_MILLISECOND)
#define WATCH_US (250 * G_TIME_SPAN_MILLISECOND)
/* Reconnection: the first attempt at once, then backing off to this */
#define RECONNECT_FIRST_DELAY_US (250 * G_TIME_SPAN_MILLISECOND)
#define RECONNECT_MAX_DELAY_US (1 * G_TIME_SPAN_SECOND)
/* An attempt gets 10 round trips of the lost session, at least this: then
 * a fresh IHello finds a server that came back sooner than the
 * handshake's own growing retransmission intervals would (3.5.1.1.1) */
#define RECONNECT_ATTEMPT_MIN_US (2 * G_TIME_SPAN_SECOND)
/* Player: after UnpublishNotify the end waits this long for a new
 * publisher of the name (one that switches protocols or reconnects); after
 * Play.Stop or StreamEOF, this long for media still on the other flows */
#define UNPUBLISH_GRACE_US (3 * G_TIME_SPAN_SECOND)
#define EOS_GRACE_US (500 * G_TIME_SPAN_MILLISECOND)
/* Player: Play.Start and nothing of the stream this long after: waiting */
#define WAITING_AFTER_US (1 * G_TIME_SPAN_SECOND)
/* resolve_peer: ask again this often while the name is not published */
#define LOOKUP_RETRY_US (1 * G_TIME_SPAN_SECOND)
/* Keyframe requests: at most one per round trip, and never more often */
#define KEYFRAME_REQUEST_MIN_US (100 * G_TIME_SPAN_MILLISECOND)

struct _RtmfpTcAgent {
  /* configuration (copied) */
  RtmfpTcAgentRole role;
  gchar *tc_url;
  gchar *app;
  gchar *stream;
  gchar *flash_ver;
  gchar *auth_token;
  RtmfpTcAuthMode auth_mode;
  RtmfpHandshakeMode handshake;
  guint8 *server_fp;
  guint8 peer_fp[RTMFP_FINGERPRINT_SIZE];
  gboolean have_peer_fp;
  gboolean resolve_peer;
  gchar **peer_info;
  gint64 timeout_us;
  gint64 idle_timeout_us;
  gint64 audio_lifetime_us;
  gint64 video_lifetime_us;
  gboolean reconnect;
  RtmfpTcAgentRandomFunc random;
  gpointer random_data;

  RtmfpTcAgentCallbacks cb;
  gpointer ud;
  RtmfpTcClientClockFunc clock;
  gpointer clock_data;

  RtmfpTcAgentState state;
  RtmfpEndpoint *ep;
  GArray *addrs;                /* RtmfpAddr: the server's */
  RtmfpTcClient *client;        /* of the moment */
  RtmfpTcClient *lookup;        /* resolve_peer: NetConnection */
  RtmfpTcPeerPublisher *peers;  /* PUBLISH_DIRECT */
  gboolean closing;

  /* reconnection */
  gboolean ever_streamed;
  gint64 lost_at;               /* last answer of the lost session, -1 */
  guint attempt;
  gchar *lost_reason;
  gint64 lost_srtt_us;
  gint64 reconnect_at;          /* -1 */

  /* dead-peer watch */
  gint64 watch_at;              /* -1 */
  guint64 watch_rx;
  gint64 watch_rx_time;

  /* publishers */
  GBytes *reliable[RTMFP_TC_MEDIA_N];
  guint8 reliable_type[RTMFP_TC_MEDIA_N];
  gboolean have_last_ts;
  guint32 last_ts;
  gboolean told_publishing;

  /* players */
  RtmfpStartGate *gate;
  gint64 eos_at;                /* -1 */
  gboolean unpublished;         /* eos_at from UnpublishNotify only */
  gboolean eos_told;
  gboolean play_started;        /* Play.Start on this session */
  gint64 play_started_at;
  gboolean got_media;           /* since the last start / unpublish */
  gboolean waiting;
  gint64 waiting_since;
  gint64 lookup_retry_at;       /* -1 */
  gint64 last_kf_request;       /* -1 */

  /* statistics: what finished sessions counted */
  RtmfpSessionStats done_session;
  RtmfpTcMediaStats done_media[RTMFP_TC_MEDIA_N];
  guint sessions;
  guint reconnections;
  guint64 not_sent;
  guint64 kf_sent;
  guint64 kf_received;
};

static const gchar *const state_nicks[] = {
  "idle", "connecting", "streaming", "reconnecting", "closing", "closed",
  "failed"
};

const gchar *
rtmfp_tc_agent_state_get_nick (RtmfpTcAgentState state)
{
  if ((guint) state < G_N_ELEMENTS (state_nicks))
    return state_nicks[state];
  return "unknown";
}

G_DEFINE_QUARK (rtmfp-tc-agent-error-quark, rtmfp_tc_agent_error);

void
rtmfp_tc_agent_config_init (RtmfpTcAgentConfig * cfg)
{
  g_return_if_fail (cfg != NULL);
  memset (cfg, 0, sizeof *cfg);
  cfg->role = RTMFP_TC_AGENT_PLAY;
  cfg->timeout_us = 10 * G_TIME_SPAN_SECOND;
  cfg->reconnect = TRUE;
}

/* ------------------------------------------------------------------------ */
/* helpers */

static gint64
agent_now (RtmfpTcAgent * a)
{
  return a->clock (a->clock_data);
}

static gint64
min_time (gint64 a, gint64 b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

static void
set_state (RtmfpTcAgent * a, RtmfpTcAgentState state)
{
  if (a->state == state)
    return;
  g_debug ("agent %p: %s -> %s", a, rtmfp_tc_agent_state_get_nick (a->state),
      rtmfp_tc_agent_state_get_nick (state));
  a->state = state;
  if (a->cb.state_changed)
    a->cb.state_changed (a, state, a->ud);
}

static gboolean
finished (RtmfpTcAgent * a)
{
  return a->state == RTMFP_TC_AGENT_STATE_CLOSED ||
      a->state == RTMFP_TC_AGENT_STATE_FAILED;
}

static void
fail (RtmfpTcAgent * a, const GError * err)
{
  if (finished (a))
    return;
  g_debug ("agent %p failed: %s", a, err->message);
  a->state = RTMFP_TC_AGENT_STATE_FAILED;
  a->reconnect_at = a->watch_at = a->eos_at = a->lookup_retry_at = -1;
  if (a->cb.error)
    a->cb.error (a, err, a->ud);
  if (a->cb.state_changed)
    a->cb.state_changed (a, RTMFP_TC_AGENT_STATE_FAILED, a->ud);
}

static void
fail_code (RtmfpTcAgent * a, RtmfpTcAgentError code, const gchar * fmt, ...)
    G_GNUC_PRINTF (3, 4);

static void
fail_code (RtmfpTcAgent * a, RtmfpTcAgentError code, const gchar * fmt, ...)
{
  va_list ap;
  GError *err;

  va_start (ap, fmt);
  err = g_error_new_valist (RTMFP_TC_AGENT_ERROR, code, fmt, ap);
  va_end (ap);
  fail (a, err);
  g_error_free (err);
}

static gint64
dead_peer_us (RtmfpTcAgent * a)
{
  return CLAMP (a->timeout_us - 2 * G_TIME_SPAN_SECOND, DEAD_PEER_MIN_US,
      DEAD_PEER_US);
}

static void
add_session_stats (RtmfpSessionStats * to, const RtmfpSessionStats * s)
{
  to->packets_sent += s->packets_sent;
  to->packets_received += s->packets_received;
  to->bytes_sent += s->bytes_sent;
  to->bytes_received += s->bytes_received;
  to->fragments_retransmitted += s->fragments_retransmitted;
  to->fragments_lost += s->fragments_lost;
  to->messages_abandoned += s->messages_abandoned;
  to->timeouts += s->timeouts;
  to->address_changes += s->address_changes;
}

static void
add_media_stats (RtmfpTcMediaStats * to, const RtmfpTcMediaStats * m)
{
  to->messages_sent += m->messages_sent;
  to->bytes_sent += m->bytes_sent;
  to->messages_abandoned += m->messages_abandoned;
  to->messages_dropped += m->messages_dropped;
  to->messages_received += m->messages_received;
  to->bytes_received += m->bytes_received;
  to->gaps += m->gaps;
  to->sequence_gaps += m->sequence_gaps;
}

/* A client's counters go to the totals as it is replaced */
static void
retire_client (RtmfpTcAgent * a, RtmfpTcClient * c, gint64 now)
{
  RtmfpTcClientStats st;
  guint k;

  if (!c)
    return;
  rtmfp_tc_client_get_stats (c, &st);
  if (st.have_session)
    add_session_stats (&a->done_session, &st.session);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    add_media_stats (&a->done_media[k], &st.media[k]);
  rtmfp_tc_client_abort (c, now);
  rtmfp_tc_client_free (c);
}

/* ------------------------------------------------------------------------ */
/* player: end of stream, waiting */

static void
set_eos (RtmfpTcAgent * a, const gchar * why, gint64 grace, gboolean unpub)
{
  gint64 at = agent_now (a) + grace;

  if (a->eos_at < 0) {
    g_debug ("agent %p: end of stream in %" G_GINT64_FORMAT " ms (%s)", a,
        grace / 1000, why);
    a->eos_at = at;
    a->unpublished = unpub;
  } else if (!unpub && a->unpublished) {
    a->eos_at = MIN (a->eos_at, at);
    a->unpublished = FALSE;
  }
}

static void
cancel_unpublish (RtmfpTcAgent * a)
{
  if (a->eos_at >= 0 && a->unpublished) {
    g_debug ("agent %p: published again, the stream goes on", a);
    a->eos_at = -1;
    a->unpublished = FALSE;
  }
}

static void
begin_waiting (RtmfpTcAgent * a, gint64 now)
{
  if (a->waiting || a->role != RTMFP_TC_AGENT_PLAY)
    return;
  a->waiting = TRUE;
  a->waiting_since = now;
  g_debug ("agent %p: stream %s not published", a, a->stream);
  if (a->cb.waiting)
    a->cb.waiting (a, a->ud);
}

static void
end_waiting (RtmfpTcAgent * a)
{
  a->waiting = FALSE;
  a->waiting_since = -1;
}

/* The gate's output */
static void
gate_out (const RtmfpMediaMessage * m, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (a->cb.message)
    a->cb.message (a, m, a->ud);
}

/* ------------------------------------------------------------------------ */
/* client callbacks */

static void on_streaming (RtmfpTcAgent * a, RtmfpTcClient * c, gint64 now);
static gboolean try_reconnect (RtmfpTcAgent * a, RtmfpTcClient * c,
    const GError * err, gint64 now);

static void
on_client_state (RtmfpTcClient * c, RtmfpTcClientState state, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (c != a->client)
    return;
  if (state == RTMFP_TC_CLIENT_STATE_STREAMING)
    on_streaming (a, c, agent_now (a));
  else if ((state == RTMFP_TC_CLIENT_STATE_CLOSED ||
          state == RTMFP_TC_CLIENT_STATE_FAILED) &&
      a->state == RTMFP_TC_AGENT_STATE_CLOSING)
    set_state (a, RTMFP_TC_AGENT_STATE_CLOSED);
  else if (state == RTMFP_TC_CLIENT_STATE_CLOSED &&
      a->role == RTMFP_TC_AGENT_PLAY && a->have_peer_fp && !a->closing) {
    /* the peer we played from closed the session: the end */
    set_eos (a, "the peer closed the session", 0, FALSE);
  }
}

static void
on_client_error (RtmfpTcClient * c, const GError * err, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  gint64 now = agent_now (a);

  if (c != a->client || a->closing)
    return;
  if (try_reconnect (a, c, err, now))
    return;
  if (a->lost_at >= 0 && !(err->domain == RTMFP_TC_CLIENT_ERROR &&
          (err->code == RTMFP_TC_CLIENT_ERROR_REJECTED ||
              err->code == RTMFP_TC_CLIENT_ERROR_FINGERPRINT))) {
    /* out of time (a refusal is told as such) */
    fail_code (a, RTMFP_TC_AGENT_ERROR_LOST, "Connection lost (%s); %u "
        "reconnection attempts in %u s failed, the last one: %s",
        a->lost_reason, a->attempt,
        (guint) (a->timeout_us / G_TIME_SPAN_SECOND), err->message);
    return;
  }
  fail (a, err);
}

static void
on_client_status (RtmfpTcClient * c, const gchar * level, const gchar * code,
    const gchar * desc, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  gint64 now = agent_now (a);

  if (c != a->client)
    return;
  if (a->cb.status)
    a->cb.status (a, level, code, desc, a->ud);
  if (a->role != RTMFP_TC_AGENT_PLAY)
    return;
  if (g_str_equal (code, RTMFP_TC_PLAY_START)) {
    a->play_started = TRUE;
    a->play_started_at = now;
  } else if (g_str_equal (code, RTMFP_TC_PLAY_UNPUBLISHNOTIFY)) {
    a->got_media = FALSE;
    set_eos (a, code, UNPUBLISH_GRACE_US, TRUE);
    begin_waiting (a, now);
  } else if (g_str_equal (code, RTMFP_TC_PLAY_STOP)) {
    set_eos (a, code, EOS_GRACE_US, FALSE);
  } else if (g_str_equal (code, RTMFP_TC_PLAY_PUBLISHNOTIFY)) {
    /* a publisher (maybe a new one) took the name: a new start; media
     * should follow within WAITING_AFTER_US */
    end_waiting (a);
    a->play_started_at = now;
    if (a->eos_at >= 0 && a->unpublished) {
      cancel_unpublish (a);
      rtmfp_start_gate_restart (a->gate);
    }
  }
}

static void
on_client_message (RtmfpTcClient * c, const RtmfpTcMessage * msg,
    guint64 gap, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  gint64 now = agent_now (a);

  if (c != a->client || a->role != RTMFP_TC_AGENT_PLAY)
    return;
  if (msg->type == RTMFP_TC_MSG_AUDIO || msg->type == RTMFP_TC_MSG_VIDEO) {
    a->got_media = TRUE;
    end_waiting (a);
  }
  rtmfp_start_gate_push (a->gate, msg->type, msg->timestamp, msg->payload,
      msg->len, (guint) MIN (gap, G_MAXUINT), now);
}

static void
on_client_stream_event (RtmfpTcClient * c, guint16 event, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (c != a->client || a->role != RTMFP_TC_AGENT_PLAY)
    return;
  if (event == RTMFP_TC_EVENT_STREAM_EOF)
    set_eos (a, "StreamEOF", EOS_GRACE_US, FALSE);
  else if (event == RTMFP_TC_EVENT_STREAM_DRY && !a->got_media)
    begin_waiting (a, agent_now (a));
}

static void
on_client_writable (RtmfpTcClient * c, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (c == a->client && a->cb.writable)
    a->cb.writable (a, a->ud);
}

static void
on_client_command (RtmfpTcClient * c, guint32 sid, const gchar * name,
    GPtrArray * args, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (c != a->client)
    return;
  if (g_str_equal (name, RTMFP_TC_REQUEST_KEYFRAME) &&
      a->role == RTMFP_TC_AGENT_PUBLISH) {
    a->kf_received++;
    if (a->cb.keyframe_wanted)
      a->cb.keyframe_wanted (a, a->ud);
  } else {
    g_debug ("agent %p: command %s on stream %u ignored", a, name, sid);
  }
}

/* AUTO fell back to Flash Player's certificate: a new peer ID */
static void
on_client_identity_changed (RtmfpTcClient * c, RtmfpIdentity * id,
    gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (a->cb.identity_changed)
    a->cb.identity_changed (a, id, a->ud);
}

static const RtmfpTcClientCallbacks client_callbacks = {
  .state_changed = on_client_state,
  .error = on_client_error,
  .status = on_client_status,
  .message = on_client_message,
  .stream_event = on_client_stream_event,
  .writable = on_client_writable,
  .command = on_client_command,
  .identity_changed = on_client_identity_changed,
};

/* ------------------------------------------------------------------------ */
/* direct publisher: the peer-to-peer side */

static void
on_peer_playing (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (a->cb.peer_playing)
    a->cb.peer_playing (a, s, a->ud);
  /* a new subscriber starts at once with a fresh keyframe */
  if (a->cb.keyframe_wanted)
    a->cb.keyframe_wanted (a, a->ud);
}

static void
on_peer_left (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  if (a->cb.peer_left)
    a->cb.peer_left (a, s, a->ud);
}

static void
on_peer_keyframe (RtmfpTcPeerPublisher * p, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;

  a->kf_received++;
  if (a->cb.keyframe_wanted)
    a->cb.keyframe_wanted (a, a->ud);
}

static const RtmfpTcPeerPublisherCallbacks peer_callbacks = {
  .peer_playing = on_peer_playing,
  .peer_left = on_peer_left,
  .keyframe_requested = on_peer_keyframe,
};

/* ------------------------------------------------------------------------ */
/* the endpoint's callbacks go to the client of the moment */

#define TC_EP (rtmfp_tc_client_get_endpoint_callbacks ())
#define PP_EP (rtmfp_tc_peer_publisher_get_endpoint_callbacks ())

/* The client that owns s: the lookup connection or the current one */
static RtmfpTcClient *
client_for (RtmfpTcAgent * a, RtmfpSession * s)
{
  if (a->lookup && rtmfp_tc_client_get_session (a->lookup) == s)
    return a->lookup;
  return a->client;
}

static void
ep_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers)
    PP_EP->session_opened (ep, s, a->peers);
  else if (c)
    TC_EP->session_opened (ep, s, c);
}

static void
ep_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers)
    PP_EP->session_open_failed (ep, s, a->peers);
  else if (c)
    TC_EP->session_open_failed (ep, s, c);
}

static void
ep_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers)
    PP_EP->session_closed (ep, s, a->peers);
  else if (c)
    TC_EP->session_closed (ep, s, c);
}

static void
ep_session_address_changed (RtmfpEndpoint * ep, RtmfpSession * s,
    gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers && PP_EP->session_address_changed)
    PP_EP->session_address_changed (ep, s, a->peers);
  else if (c && TC_EP->session_address_changed)
    TC_EP->session_address_changed (ep, s, c);
}

static gboolean
ep_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers)
    return PP_EP->flow_opened (ep, s, f, assoc, a->peers);
  return c ? TC_EP->flow_opened (ep, s, f, assoc, c) : FALSE;
}

static void
ep_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers && PP_EP->send_flow_exception)
    PP_EP->send_flow_exception (ep, s, f, code, a->peers);
  else if (c)
    TC_EP->send_flow_exception (ep, s, f, code, c);
}

static void
ep_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  RtmfpTcClient *c = client_for (a, s);

  if (a->peers && PP_EP->send_flow_writable)
    PP_EP->send_flow_writable (ep, s, f, a->peers);
  else if (c)
    TC_EP->send_flow_writable (ep, s, f, c);
}

static const RtmfpEndpointCallbacks endpoint_callbacks = {
  .session_opened = ep_session_opened,
  .session_open_failed = ep_session_open_failed,
  .session_closed = ep_session_closed,
  .session_address_changed = ep_session_address_changed,
  .flow_opened = ep_flow_opened,
  .send_flow_exception = ep_send_flow_exception,
  .send_flow_writable = ep_send_flow_writable,
};

const RtmfpEndpointCallbacks *
rtmfp_tc_agent_get_endpoint_callbacks (void)
{
  return &endpoint_callbacks;
}

/* ------------------------------------------------------------------------ */
/* connecting */

static RtmfpTcClient *
make_client (RtmfpTcAgent * a, RtmfpTcClientRole role, gboolean to_peer,
    gint64 timeout_us)
{
  RtmfpTcClientConfig cfg;
  RtmfpTcClient *c;

  rtmfp_tc_client_config_init (&cfg);
  cfg.role = role;
  cfg.tc_url = a->tc_url;
  cfg.app = a->app;
  cfg.stream = a->stream;
  cfg.flash_ver = a->flash_ver;
  cfg.auth_token = a->auth_token;
  cfg.auth_mode = a->auth_mode;
  cfg.handshake = a->handshake;
  cfg.server_fingerprint = a->server_fp;
  cfg.peer_info = (const gchar * const *) a->peer_info;
  cfg.timeout_us = timeout_us;
  cfg.audio_lifetime_us = a->audio_lifetime_us;
  cfg.video_lifetime_us = a->video_lifetime_us;
  if (to_peer)
    cfg.peer_fingerprint = a->peer_fp;
  c = rtmfp_tc_client_new (&cfg, &client_callbacks, a, a->clock,
      a->clock_data);
  return c;
}

static void start_play_from_peer (RtmfpTcAgent * a, gint64 timeout_us,
    gint64 now);
static void start_lookup (RtmfpTcAgent * a, gint64 timeout_us, gint64 now);

/* A new session of the role (first connection or an attempt) */
static void
start_session (RtmfpTcAgent * a, gint64 timeout_us, gint64 now)
{
  RtmfpTcClientRole role;

  a->play_started = FALSE;
  if (a->role == RTMFP_TC_AGENT_PLAY && a->resolve_peer) {
    start_lookup (a, timeout_us, now);
    return;
  }
  if (a->role == RTMFP_TC_AGENT_PLAY && a->have_peer_fp) {
    start_play_from_peer (a, timeout_us, now);
    return;
  }
  role = a->role == RTMFP_TC_AGENT_PUBLISH ? RTMFP_TC_CLIENT_ROLE_PUBLISH :
      a->role == RTMFP_TC_AGENT_PUBLISH_DIRECT ?
      RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH : RTMFP_TC_CLIENT_ROLE_PLAY;
  a->client = make_client (a, role, FALSE, timeout_us);
  if (a->peers)
    rtmfp_tc_peer_publisher_set_client (a->peers, a->client);
  a->sessions++;
  rtmfp_tc_client_start (a->client, a->ep,
      (const RtmfpAddr *) a->addrs->data, a->addrs->len, now);
}

static void
start_play_from_peer (RtmfpTcAgent * a, gint64 timeout_us, gint64 now)
{
  a->client = make_client (a, RTMFP_TC_CLIENT_ROLE_PLAY, TRUE, timeout_us);
  a->sessions++;
  rtmfp_tc_client_start (a->client, a->ep,
      (const RtmfpAddr *) a->addrs->data, a->addrs->len, now);
}

/* ---- resolve_peer: lookupPeer on a NetConnection to the server ---- */

static void lookup_call (RtmfpTcAgent * a, gint64 now);

static void
lookup_answer (RtmfpTcClient * c, gboolean ok, GPtrArray * args, gpointer ud)
{
  RtmfpTcAgent *a = ud;
  gint64 now = agent_now (a);
  const gchar *hex = NULL, *code = NULL;
  guint i;

  if (c != a->lookup || finished (a) || a->closing)
    return;
  for (i = 0; args && i < args->len; i++) {
    const RtmfpAmfNode *n = g_ptr_array_index (args, i);
    RtmfpAmfType t = rtmfp_amf_node_get_type (n);
    if (t == RTMFP_AMF_TYPE_STRING && !hex)
      hex = rtmfp_amf_node_peek_string (n, NULL);
    else if (t == RTMFP_AMF_TYPE_OBJECT && !code)
      code = rtmfp_amf_node_peek_field_string (n, "code", NULL);
  }
  if (ok && hex && rtmfp_fingerprint_from_hex (hex, a->peer_fp)) {
    g_debug ("agent %p: %s is published by peer %s", a, a->stream, hex);
    a->have_peer_fp = TRUE;
    end_waiting (a);
    /* the NetConnection is done with (its callbacks are ignored from
     * here); the session to the peer now */
    a->lookup = NULL;
    a->client = NULL;
    retire_client (a, c, now);
    start_play_from_peer (a, a->timeout_us, now);
    return;
  }
  if (!args || (code && g_str_equal (code, RTMFP_TC_PLAY_STREAMNOTFOUND))) {
    /* not published (yet): ask again */
    if (args)
      begin_waiting (a, now);
    a->lookup_retry_at = now + LOOKUP_RETRY_US;
    return;
  }
  fail_code (a, RTMFP_TC_AGENT_ERROR_NO_LOOKUP, "The server cannot tell "
      "the peer ID of stream %s (%s)", a->stream, code ? code :
      "no peer ID in its answer");
}

static void
lookup_call (RtmfpTcAgent * a, gint64 now)
{
  RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_string (a->stream, -1) };

  a->lookup_retry_at = -1;
  if (!rtmfp_tc_client_call (a->lookup, RTMFP_TC_LOOKUP_PEER, 1, args,
          lookup_answer, a, now))
    a->lookup_retry_at = now + LOOKUP_RETRY_US;
}

static void
start_lookup (RtmfpTcAgent * a, gint64 timeout_us, gint64 now)
{
  a->have_peer_fp = FALSE;
  a->lookup = make_client (a, RTMFP_TC_CLIENT_ROLE_CONNECT, FALSE,
      timeout_us);
  /* the lookup connection is the client of the moment until it answers */
  a->client = a->lookup;
  a->sessions++;
  rtmfp_tc_client_start (a->lookup, a->ep,
      (const RtmfpAddr *) a->addrs->data, a->addrs->len, now);
}

/* ------------------------------------------------------------------------ */
/* streaming, reconnecting */

/* Publisher: the stream state first on a new session */
static void
replay_headers (RtmfpTcAgent * a, gint64 now)
{
  static const RtmfpTcMediaKind order[] = { RTMFP_TC_MEDIA_DATA,
    RTMFP_TC_MEDIA_VIDEO, RTMFP_TC_MEDIA_AUDIO
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (order); i++) {
    GBytes *b = a->reliable[order[i]];
    gsize len;
    const guint8 *p;

    if (!b)
      continue;
    p = g_bytes_get_data (b, &len);
    /* at the current time: a timestamp going back looks like a jump */
    rtmfp_tc_client_send (a->client, a->reliable_type[order[i]],
        a->last_ts, p, len, RTMFP_TC_CLIENT_SEND_RELIABLE, now);
  }
}

static void
announce_direct (RtmfpTcAgent * a, gint64 now)
{
  RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_string (a->stream, -1) };

  /* rtmfp-server maps the name to our peer ID (players with
   * peer-id=auto); other servers refuse the call, which changes nothing */
  rtmfp_tc_client_call (a->client, RTMFP_TC_PUBLISH_DIRECT, 1, args, NULL,
      NULL, now);
}

static void
on_streaming (RtmfpTcAgent * a, RtmfpTcClient * c, gint64 now)
{
  RtmfpSession *s = rtmfp_tc_client_get_session (c);
  gboolean was_lost = a->lost_at >= 0;

  if (c == a->lookup) {
    lookup_call (a, now);
    return;
  }
  a->ever_streamed = TRUE;
  if (a->reconnect && s) {
    rtmfp_session_set_idle_timeout (s, dead_peer_us (a));
    a->watch_rx = 0;
    a->watch_rx_time = now;
    a->watch_at = now + WATCH_US;
  }
  if (a->role == RTMFP_TC_AGENT_PUBLISH)
    replay_headers (a, now);
  else if (a->role == RTMFP_TC_AGENT_PUBLISH_DIRECT)
    announce_direct (a, now);
  set_state (a, RTMFP_TC_AGENT_STATE_STREAMING);
  if (a->role == RTMFP_TC_AGENT_PLAY && a->have_peer_fp && a->cb.peer_playing)
    a->cb.peer_playing (a, s, a->ud);
  if (a->role != RTMFP_TC_AGENT_PLAY && !a->told_publishing) {
    a->told_publishing = TRUE;
    if (a->cb.publishing)
      a->cb.publishing (a, a->ud);
    /* what the encoder made while we connected was not sent: the stream
     * starts with a keyframe of its own */
    if (a->role == RTMFP_TC_AGENT_PUBLISH && a->cb.keyframe_wanted)
      a->cb.keyframe_wanted (a, a->ud);
  }
  if (!was_lost)
    return;

  g_debug ("agent %p: reconnected after %" G_GINT64_FORMAT " ms (%u "
      "attempts)", a, (now - a->lost_at) / 1000, a->attempt);
  a->reconnections++;
  if (a->cb.reconnected)
    a->cb.reconnected (a, a->attempt, now - a->lost_at, a->ud);
  a->lost_at = -1;
  a->attempt = 0;
  if (a->role == RTMFP_TC_AGENT_PLAY) {
    /* an UnpublishNotify that came with the loss (a server shutting down
     * tells its players the publisher left) is void: this session plays
     * the stream as the server has it now */
    cancel_unpublish (a);
  } else if (a->cb.keyframe_wanted) {
    a->cb.keyframe_wanted (a, a->ud);
  }
}

/* The client c failed with err: schedules a new session if reconnection
 * applies and time is left.  FALSE: the error is final. */
static gboolean
try_reconnect (RtmfpTcAgent * a, RtmfpTcClient * c, const GError * err,
    gint64 now)
{
  gint64 delay;

  if (!a->reconnect || !a->ever_streamed || a->closing ||
      err->domain != RTMFP_TC_CLIENT_ERROR)
    return FALSE;
  switch (err->code) {
    case RTMFP_TC_CLIENT_ERROR_REJECTED:
    case RTMFP_TC_CLIENT_ERROR_FINGERPRINT:
      return FALSE;             /* asking again changes nothing */
    case RTMFP_TC_CLIENT_ERROR_STREAM:
      /* refused while streaming (the name taken over) is final; while
       * reconnecting, the server may still hold our old session */
      if (a->lost_at < 0)
        return FALSE;
      break;
    default:
      break;
  }
  if (a->lost_at < 0) {
    RtmfpSession *s = rtmfp_tc_client_get_session (c);
    const GError *se = s ? rtmfp_session_get_error (s) : NULL;

    /* lost since the last packet from the far end: the idle timeout
     * fired dead_peer_us after it */
    a->lost_at = se && g_error_matches (se, RTMFP_SESSION_ERROR,
        RTMFP_SESSION_ERROR_IDLE) ? now - dead_peer_us (a) : now;
    a->attempt = 0;
    g_free (a->lost_reason);
    a->lost_reason = g_strdup (err->message);
    a->lost_srtt_us = -1;
    if (s) {
      RtmfpSessionStats st;
      rtmfp_session_get_stats (s, &st);
      a->lost_srtt_us = st.srtt_us;
    }
    g_debug ("agent %p: connection lost (%s)", a, err->message);
    a->watch_at = -1;
    if (a->role == RTMFP_TC_AGENT_PLAY)
      rtmfp_start_gate_restart (a->gate);
    set_state (a, RTMFP_TC_AGENT_STATE_RECONNECTING);
  }
  if (now >= a->lost_at + a->timeout_us)
    return FALSE;

  delay = a->attempt == 0 ? 0 :
      MIN (RECONNECT_FIRST_DELAY_US << MIN (a->attempt - 1, 8),
      RECONNECT_MAX_DELAY_US);
  if (delay > 0) {
    /* up to a fifth less, so that the clients of a restarted server do
     * not all come back in the same instant */
    guint32 r = a->random ? a->random (a->random_data) : g_random_int ();
    delay -= (gint64) (r % 1000) * (delay / 5) / 1000;
  }
  a->attempt++;
  if (a->cb.reconnecting)
    a->cb.reconnecting (a, a->attempt, a->attempt == 1 ? a->lost_reason :
        err->message, a->ud);
  a->reconnect_at = now + delay;
  return TRUE;
}

static void
do_reconnect (RtmfpTcAgent * a, gint64 now)
{
  gint64 left = a->lost_at + a->timeout_us - now;
  gint64 timeout;

  a->reconnect_at = -1;
  if (a->closing || a->lost_at < 0 || !a->addrs)
    return;
  g_debug ("agent %p: reconnection attempt %u (%" G_GINT64_FORMAT " ms "
      "left)", a, a->attempt, left / 1000);
  if (a->lookup == a->client)
    a->lookup = NULL;
  retire_client (a, a->client, now);
  a->client = NULL;
  if (a->lookup) {
    retire_client (a, a->lookup, now);
    a->lookup = NULL;
  }
  timeout = CLAMP (MAX (10 * a->lost_srtt_us, RECONNECT_ATTEMPT_MIN_US),
      100 * G_TIME_SPAN_MILLISECOND, MAX (left, 100 *
          G_TIME_SPAN_MILLISECOND));
  start_session (a, timeout, now);
}

/* Every WATCH_US while streaming: pings through silences */
static void
do_watch (RtmfpTcAgent * a, gint64 now)
{
  RtmfpSessionStats st;
  RtmfpSession *s;

  a->watch_at = now + WATCH_US;
  if (!a->client || a->lost_at >= 0 || a->closing ||
      rtmfp_tc_client_get_state (a->client) !=
      RTMFP_TC_CLIENT_STATE_STREAMING)
    return;
  s = rtmfp_tc_client_get_session (a->client);
  if (!s || rtmfp_session_get_state (s) != RTMFP_SESSION_OPEN)
    return;
  rtmfp_session_get_stats (s, &st);
  if (st.packets_received != a->watch_rx) {
    a->watch_rx = st.packets_received;
    a->watch_rx_time = now;
    return;
  }
  if (now - a->watch_rx_time >= SILENCE_PING_US)
    rtmfp_session_ping (s, now);
}

/* ------------------------------------------------------------------------ */
/* public API */

RtmfpTcAgent *
rtmfp_tc_agent_new (const RtmfpTcAgentConfig * cfg,
    const RtmfpTcAgentCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data)
{
  RtmfpTcAgent *a;

  g_return_val_if_fail (cfg != NULL && cfg->tc_url && cfg->stream, NULL);
  g_return_val_if_fail (clock != NULL, NULL);

  a = g_new0 (RtmfpTcAgent, 1);
  a->role = cfg->role;
  a->tc_url = g_strdup (cfg->tc_url);
  a->app = g_strdup (cfg->app ? cfg->app : "");
  a->stream = g_strdup (cfg->stream);
  a->flash_ver = g_strdup (cfg->flash_ver);
  a->auth_token = g_strdup (cfg->auth_token);
  a->auth_mode = cfg->auth_mode;
  a->handshake = cfg->handshake;
  if (cfg->server_fingerprint)
    a->server_fp = g_memdup2 (cfg->server_fingerprint,
        RTMFP_FINGERPRINT_SIZE);
  if (cfg->role == RTMFP_TC_AGENT_PLAY && cfg->peer_fingerprint) {
    memcpy (a->peer_fp, cfg->peer_fingerprint, RTMFP_FINGERPRINT_SIZE);
    a->have_peer_fp = TRUE;
  }
  a->resolve_peer = cfg->role == RTMFP_TC_AGENT_PLAY && cfg->resolve_peer &&
      !cfg->peer_fingerprint;
  a->peer_info = g_strdupv ((gchar **) cfg->peer_info);
  a->timeout_us = cfg->timeout_us > 0 ? cfg->timeout_us :
      10 * G_TIME_SPAN_SECOND;
  a->idle_timeout_us = MAX (cfg->idle_timeout_us, 0);
  a->audio_lifetime_us = cfg->audio_lifetime_us;
  a->video_lifetime_us = cfg->video_lifetime_us;
  a->reconnect = cfg->reconnect;
  a->random = cfg->random;
  a->random_data = cfg->random_data;
  if (callbacks)
    a->cb = *callbacks;
  a->ud = user_data;
  a->clock = clock;
  a->clock_data = clock_data;

  a->state = RTMFP_TC_AGENT_STATE_IDLE;
  a->lost_at = a->reconnect_at = a->watch_at = a->eos_at = -1;
  a->waiting_since = a->lookup_retry_at = a->last_kf_request = -1;
  if (a->role == RTMFP_TC_AGENT_PLAY)
    a->gate = rtmfp_start_gate_new (0, gate_out, a);
  if (a->role == RTMFP_TC_AGENT_PUBLISH_DIRECT)
    a->peers = rtmfp_tc_peer_publisher_new (a->stream, a->audio_lifetime_us,
        a->video_lifetime_us, 0, &peer_callbacks, a, clock, clock_data);
  return a;
}

void
rtmfp_tc_agent_free (RtmfpTcAgent * a)
{
  guint k;

  if (!a)
    return;
  if (a->lookup && a->lookup != a->client)
    rtmfp_tc_client_free (a->lookup);
  rtmfp_tc_client_free (a->client);
  rtmfp_tc_peer_publisher_free (a->peers);
  rtmfp_start_gate_free (a->gate);
  if (a->addrs)
    g_array_unref (a->addrs);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
    if (a->reliable[k])
      g_bytes_unref (a->reliable[k]);
  g_free (a->tc_url);
  g_free (a->app);
  g_free (a->stream);
  g_free (a->flash_ver);
  g_free (a->auth_token);
  g_free (a->server_fp);
  g_strfreev (a->peer_info);
  g_free (a->lost_reason);
  g_free (a);
}

void
rtmfp_tc_agent_set_peer_info (RtmfpTcAgent * a,
    const gchar * const *peer_info)
{
  g_return_if_fail (a != NULL);
  g_return_if_fail (a->state == RTMFP_TC_AGENT_STATE_IDLE);

  g_strfreev (a->peer_info);
  a->peer_info = g_strdupv ((gchar **) peer_info);
}

gboolean
rtmfp_tc_agent_start (RtmfpTcAgent * a, RtmfpEndpoint * ep,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now)
{
  g_return_val_if_fail (a != NULL && ep != NULL, FALSE);
  g_return_val_if_fail (a->state == RTMFP_TC_AGENT_STATE_IDLE, FALSE);

  a->ep = ep;
  a->addrs = g_array_new (FALSE, FALSE, sizeof (RtmfpAddr));
  g_array_append_vals (a->addrs, candidates, n_candidates);
  set_state (a, RTMFP_TC_AGENT_STATE_CONNECTING);
  start_session (a, a->timeout_us, now);
  return !finished (a);
}

gint64
rtmfp_tc_agent_next_timeout (RtmfpTcAgent * a)
{
  gint64 t = -1;

  g_return_val_if_fail (a != NULL, -1);

  if (finished (a))
    return -1;
  if (a->client)
    t = min_time (t, rtmfp_tc_client_next_timeout (a->client));
  if (a->lookup && a->lookup != a->client)
    t = min_time (t, rtmfp_tc_client_next_timeout (a->lookup));
  t = min_time (t, a->reconnect_at);
  t = min_time (t, a->watch_at);
  t = min_time (t, a->lookup_retry_at);
  if (a->role != RTMFP_TC_AGENT_PLAY)
    return t;
  if (!a->eos_told)
    t = min_time (t, a->eos_at);
  t = min_time (t, rtmfp_start_gate_next_timeout (a->gate));
  if (a->waiting && a->idle_timeout_us > 0)
    t = min_time (t, a->waiting_since + a->idle_timeout_us);
  if (a->play_started && !a->got_media && !a->waiting)
    t = min_time (t, a->play_started_at + WAITING_AFTER_US);
  return t;
}

static void
player_timers (RtmfpTcAgent * a, gint64 now)
{
  rtmfp_start_gate_handle_timeout (a->gate, now);
  if (a->play_started && !a->got_media && !a->waiting &&
      now >= a->play_started_at + WAITING_AFTER_US)
    begin_waiting (a, now);
  if (a->waiting && a->idle_timeout_us > 0 &&
      now >= a->waiting_since + a->idle_timeout_us) {
    fail_code (a, RTMFP_TC_AGENT_ERROR_NOT_PUBLISHED, "Stream %s was not "
        "published within %" G_GINT64_FORMAT " s", a->stream,
        a->idle_timeout_us / G_TIME_SPAN_SECOND);
    return;
  }
  if (a->eos_at >= 0 && now >= a->eos_at && !a->eos_told) {
    a->eos_told = TRUE;
    if (a->cb.end_of_stream)
      a->cb.end_of_stream (a, a->ud);
  }
}

void
rtmfp_tc_agent_handle_timeout (RtmfpTcAgent * a, gint64 now)
{
  g_return_if_fail (a != NULL);

  if (finished (a))
    return;
  if (a->lookup && a->lookup != a->client)
    rtmfp_tc_client_handle_timeout (a->lookup, now);
  if (a->client)
    rtmfp_tc_client_handle_timeout (a->client, now);
  if (finished (a))
    return;
  if (a->reconnect_at >= 0 && now >= a->reconnect_at)
    do_reconnect (a, now);
  if (a->watch_at >= 0 && now >= a->watch_at)
    do_watch (a, now);
  if (a->lookup_retry_at >= 0 && now >= a->lookup_retry_at && a->lookup)
    lookup_call (a, now);
  if (a->role == RTMFP_TC_AGENT_PLAY && !finished (a))
    player_timers (a, now);
}

RtmfpTcAgentState
rtmfp_tc_agent_get_state (RtmfpTcAgent * a)
{
  g_return_val_if_fail (a != NULL, RTMFP_TC_AGENT_STATE_FAILED);
  return a->state;
}

RtmfpSession *
rtmfp_tc_agent_get_session (RtmfpTcAgent * a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->client ? rtmfp_tc_client_get_session (a->client) : NULL;
}

struct _RtmfpTcPeerPublisher *
rtmfp_tc_agent_get_peer_publisher (RtmfpTcAgent * a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->peers;
}

gboolean
rtmfp_tc_agent_send (RtmfpTcAgent * a, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize len, guint flags, gint64 now)
{
  gboolean sent;

  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);

  if (a->role == RTMFP_TC_AGENT_PLAY)
    return FALSE;
  if (!a->have_last_ts || (gint32) (timestamp - a->last_ts) > 0)
    a->last_ts = timestamp;
  a->have_last_ts = TRUE;
  if (flags & RTMFP_TC_CLIENT_SEND_RELIABLE) {
    /* stream state: sent again first on a new session */
    RtmfpTcMediaKind k = rtmfp_tc_media_kind_from_type (type);

    if (a->reliable[k])
      g_bytes_unref (a->reliable[k]);
    a->reliable[k] = g_bytes_new (payload, len);
    a->reliable_type[k] = type;
  }
  if (a->peers)
    sent = rtmfp_tc_peer_publisher_send (a->peers, type, timestamp, payload,
        len, flags, now);
  else
    sent = a->client && rtmfp_tc_client_send (a->client, type, timestamp,
        payload, len, flags, now);
  if (!sent)
    a->not_sent++;
  return sent;
}

gsize
rtmfp_tc_agent_get_pending_bytes (RtmfpTcAgent * a)
{
  g_return_val_if_fail (a != NULL, 0);
  return a->client && !a->peers ?
      rtmfp_tc_client_get_pending_bytes (a->client) : 0;
}

gboolean
rtmfp_tc_agent_request_keyframe (RtmfpTcAgent * a, gint64 now)
{
  RtmfpSessionStats st;
  RtmfpSession *s;
  gint64 gap = KEYFRAME_REQUEST_MIN_US;

  g_return_val_if_fail (a != NULL, FALSE);

  if (a->role != RTMFP_TC_AGENT_PLAY || !a->client ||
      a->state != RTMFP_TC_AGENT_STATE_STREAMING)
    return FALSE;
  s = rtmfp_tc_client_get_session (a->client);
  if (s) {
    rtmfp_session_get_stats (s, &st);
    gap = MAX (gap, st.srtt_us);
  }
  if (a->last_kf_request >= 0 && now - a->last_kf_request < gap)
    return FALSE;
  if (!rtmfp_tc_client_stream_command (a->client, RTMFP_TC_REQUEST_KEYFRAME,
          0, NULL, now))
    return FALSE;
  a->last_kf_request = now;
  a->kf_sent++;
  return TRUE;
}

void
rtmfp_tc_agent_close (RtmfpTcAgent * a, gint64 now)
{
  g_return_if_fail (a != NULL);

  if (finished (a) || a->closing)
    return;
  a->closing = TRUE;
  a->reconnect_at = a->watch_at = a->lookup_retry_at = -1;
  if (a->peers)
    rtmfp_tc_peer_publisher_close (a->peers, now);
  if (!a->client || a->lost_at >= 0 ||
      rtmfp_tc_client_get_state (a->client) >=
      RTMFP_TC_CLIENT_STATE_CLOSED) {
    /* nothing is connected: nothing to close */
    set_state (a, RTMFP_TC_AGENT_STATE_CLOSED);
    return;
  }
  set_state (a, RTMFP_TC_AGENT_STATE_CLOSING);
  rtmfp_tc_client_close (a->client, now);
  if (rtmfp_tc_client_get_state (a->client) >= RTMFP_TC_CLIENT_STATE_CLOSED)
    set_state (a, RTMFP_TC_AGENT_STATE_CLOSED);
}

void
rtmfp_tc_agent_abort (RtmfpTcAgent * a, gint64 now)
{
  g_return_if_fail (a != NULL);

  a->closing = TRUE;
  a->reconnect_at = a->watch_at = a->lookup_retry_at = -1;
  if (a->peers)
    rtmfp_tc_peer_publisher_close (a->peers, now);
  if (a->lookup && a->lookup != a->client)
    rtmfp_tc_client_abort (a->lookup, now);
  if (a->client)
    rtmfp_tc_client_abort (a->client, now);
  if (!finished (a))
    set_state (a, RTMFP_TC_AGENT_STATE_CLOSED);
}

void
rtmfp_tc_agent_get_stats (RtmfpTcAgent * a, RtmfpTcAgentStats * st)
{
  guint k;

  g_return_if_fail (a != NULL && st != NULL);

  memset (st, 0, sizeof *st);
  if (a->client)
    rtmfp_tc_client_get_stats (a->client, &st->client);
  else
    st->client.state = RTMFP_TC_CLIENT_STATE_IDLE;
  st->total_session = a->done_session;
  if (st->client.have_session)
    add_session_stats (&st->total_session, &st->client.session);
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++) {
    st->total_media[k] = a->done_media[k];
    add_media_stats (&st->total_media[k], &st->client.media[k]);
  }
  st->sessions = a->sessions;
  st->reconnections = a->reconnections;
  st->messages_not_sent = a->not_sent;
  st->keyframe_requests_sent = a->kf_sent;
  st->keyframe_requests_received = a->kf_received;
  if (a->peers)
    st->n_peers = rtmfp_tc_peer_publisher_get_n_peers (a->peers);
}
