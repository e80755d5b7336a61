/* RTMFP core: NetConnection + NetStream client (RFC 7425 section 5.3).
 * See rtmfptcclient.h for the model.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-tcclient"

#include <string.h>

#include "rtmfptcclient.h"
#include "flvtag.h"

#define TXN_CONNECT 1.0
#define TXN_CREATE_STREAM 2.0
/* rtmfp_tc_client_call transactions count up from here */
#define TXN_FIRST_CALL 16.0

/* While closing, how often the sending flows are checked for completion */
#define CLOSE_POLL_US (20 * G_TIME_SPAN_MILLISECOND)
/* While the publisher holds messages, how often the flows are topped up
 * (the session's writable notification only comes once a flow drained
 * below its low mark; messages expiring in the flow free room earlier) */
#define PUMP_POLL_US (20 * G_TIME_SPAN_MILLISECOND)
/* How often an open connection checks that its session is still open:
 * a far end's Close Request only reaches the endpoint callbacks as
 * session_closed after the 19 s FARCLOSE_LINGER (RFC 7016 3.5.5.2). */
#define LIVENESS_POLL_US (250 * G_TIME_SPAN_MILLISECOND)
/* Flow synchronisation (5.2): messages held on one suspended flow before
 * the barrier is given up (so a lost or bogus sync never stalls a flow) */
#define MAX_HELD_MESSAGES 512
#define MAX_HELD_BYTES (4 * 1024 * 1024)
#define MAX_PENDING_SYNCS 64
/* Candidate addresses kept for a retry (the endpoint keeps its own) */
#define MAX_CANDIDATES 64
/* AUTO: how often an opening session is checked for keying silence */
#define KEYING_POLL_US (250 * G_TIME_SPAN_MILLISECOND)

enum {
  OUT_STREAM,                   /* stream commands + data messages */
  OUT_AUDIO,
  OUT_VIDEO,
  OUT_N
};

typedef struct {
  GBytes *msg;                  /* whole TC message */
  gint64 deadline;
  guint wflags;
} Pending;

typedef struct {
  RtmfpSendFlow *flow;
  GQueue pending;               /* Pending* */
  gsize pending_bytes;
} OutFlow;

typedef struct {
  GBytes *msg;
  guint64 gap;
} Held;

typedef struct {
  gdouble txn;
  RtmfpTcClientCallFunc func;
  gpointer ud;
} Call;

typedef struct {
  RtmfpTcClient *c;
  RtmfpRecvFlow *flow;
  guint32 stream_id;
  gboolean canonical;           /* the server's canonical control flow */
  gboolean complete;
  gboolean suspended;           /* waiting at a flow sync barrier */
  guint32 sync_id;
  GQueue held;                  /* Held* while suspended */
  gsize held_bytes;
} InFlow;

struct _RtmfpTcClient {
  RtmfpTcClientRole role;
  gchar *tc_url;
  gchar *app;
  gchar *stream;
  gchar *flash_ver;
  gchar *auth_token;            /* connect arguments after the object */
  gchar *auth_user;
  gchar *publish_type;
  gchar **peer_info;
  guint8 *peer_fp;              /* P2P player: the publisher's fingerprint */
  guint8 *server_fp;            /* pinned server fingerprint, or NULL */
  RtmfpHandshakeMode handshake;
  RtmfpTcAuthMode auth_mode;
  gint64 timeout_us;
  gint64 audio_lifetime_us;
  gint64 video_lifetime_us;
  gint64 close_timeout_us;

  RtmfpTcClientCallbacks cb;
  gpointer ud;
  RtmfpTcClientClockFunc clock;
  gpointer clock_data;

  RtmfpTcClientState state;
  GError *error;
  RtmfpEndpoint *ep;
  RtmfpSession *session;        /* ref'd */
  GArray *cands;                /* RtmfpAddr: every candidate, for a retry */
  RtmfpHandshakeMode shape;     /* FLASH or RFC: the session's certificate */
  gboolean flash_tried;         /* AUTO: no more fallback */
  gint64 keying_since;          /* AUTO: session seen in KEYING_SENT, -1 */
  gint64 deadline;              /* connect timeout, -1 none */
  gboolean draining;            /* closing: media flows finishing first */
  gint64 drain_deadline;
  gint64 close_deadline;        /* phase 1: flows; then session close */
  gboolean session_closing;
  gint64 poll_at;               /* next periodic check, -1 unarmed */

  RtmfpSendFlow *control;
  InFlow *server_control;       /* canonical (5.3.2) */
  OutFlow out[OUT_N];
  GPtrArray *in_flows;          /* InFlow* */
  guint32 stream_id;
  gint64 peer_keepalive_us;
  guint32 sync_id;              /* last flow sync barrier we sent */

  GHashTable *syncs;            /* sync ID -> flows at the barrier */
  GQueue calls;                 /* Call*, waiting for their answer */
  gdouble next_txn;

  gsize pending_bytes;
  gboolean above_high;

  RtmfpTcMediaStats media[RTMFP_TC_MEDIA_N];
};

static const gchar *const state_nicks[] = {
  "idle", "opening", "connecting", "creating-stream", "starting",
  "streaming", "closing", "closed", "failed"
};

const gchar *
rtmfp_tc_client_state_get_nick (RtmfpTcClientState state)
{
  if ((guint) state < G_N_ELEMENTS (state_nicks))
    return state_nicks[state];
  return "unknown";
}

const gchar *
rtmfp_tc_media_kind_get_nick (RtmfpTcMediaKind kind)
{
  switch (kind) {
    case RTMFP_TC_MEDIA_AUDIO:
      return "audio";
    case RTMFP_TC_MEDIA_VIDEO:
      return "video";
    case RTMFP_TC_MEDIA_DATA:
      return "data";
    default:
      return "unknown";
  }
}

RtmfpTcMediaKind
rtmfp_tc_media_kind_from_type (guint8 type)
{
  if (type == RTMFP_TC_MSG_AUDIO)
    return RTMFP_TC_MEDIA_AUDIO;
  if (type == RTMFP_TC_MSG_VIDEO)
    return RTMFP_TC_MEDIA_VIDEO;
  return RTMFP_TC_MEDIA_DATA;
}

G_DEFINE_QUARK (rtmfp-tc-client-error-quark, rtmfp_tc_client_error);

const gchar *
rtmfp_handshake_mode_get_nick (RtmfpHandshakeMode mode)
{
  switch (mode) {
    case RTMFP_HANDSHAKE_AUTO:
      return "auto";
    case RTMFP_HANDSHAKE_RFC:
      return "rfc";
    case RTMFP_HANDSHAKE_FLASH:
      return "flash";
    default:
      return "unknown";
  }
}

const gchar *
rtmfp_tc_auth_mode_get_nick (RtmfpTcAuthMode mode)
{
  switch (mode) {
    case RTMFP_TC_AUTH_PLAIN:
      return "plain";
    case RTMFP_TC_AUTH_HASHED:
      return "hashed";
    case RTMFP_TC_AUTH_MUTUAL:
      return "mutual";
    default:
      return "unknown";
  }
}

/* RFC 7425 4.2: 14, 5 and 2, best first (the order keying prefers) */
static const guint rfc_groups[] = { 14, 5, 2 };

RtmfpIdentity *
rtmfp_tc_client_new_identity (RtmfpHandshakeMode mode)
{
  if (mode == RTMFP_HANDSHAKE_FLASH)
    return rtmfp_identity_new_flash ();
  return rtmfp_identity_new_static (rfc_groups, G_N_ELEMENTS (rfc_groups));
}

void
rtmfp_tc_client_config_init (RtmfpTcClientConfig * cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof *cfg);
  cfg->role = RTMFP_TC_CLIENT_ROLE_PLAY;
  cfg->audio_lifetime_us = RTMFP_TC_CLIENT_DEFAULT_AUDIO_LIFETIME_US;
  cfg->video_lifetime_us = RTMFP_TC_CLIENT_DEFAULT_VIDEO_LIFETIME_US;
  cfg->close_timeout_us = RTMFP_TC_CLIENT_DEFAULT_CLOSE_TIMEOUT_US;
}

/* ------------------------------------------------------------------------ */
/* helpers */

static gint64
client_now (RtmfpTcClient * c)
{
  return c->clock (c->clock_data);
}

static void
pending_free (Pending * p)
{
  g_bytes_unref (p->msg);
  g_free (p);
}

static void
held_free (Held * h)
{
  g_bytes_unref (h->msg);
  g_free (h);
}

static void
in_flow_free (InFlow * in)
{
  g_queue_clear_full (&in->held, (GDestroyNotify) held_free);
  g_free (in);
}

static void fail_calls (RtmfpTcClient * c);

static void
set_state (RtmfpTcClient * c, RtmfpTcClientState state)
{
  if (c->state == state)
    return;
  g_debug ("client %p: %s -> %s", c, rtmfp_tc_client_state_get_nick
      (c->state), rtmfp_tc_client_state_get_nick (state));
  c->state = state;
  if (state == RTMFP_TC_CLIENT_STATE_CLOSED)
    fail_calls (c);
  if (c->cb.state_changed)
    c->cb.state_changed (c, state, c->ud);
}

static gboolean
is_finished (RtmfpTcClient * c)
{
  return c->state == RTMFP_TC_CLIENT_STATE_CLOSED ||
      c->state == RTMFP_TC_CLIENT_STATE_FAILED;
}

static void
drop_all_pending (RtmfpTcClient * c)
{
  guint i;

  for (i = 0; i < OUT_N; i++) {
    g_queue_clear_full (&c->out[i].pending, (GDestroyNotify) pending_free);
    c->out[i].pending_bytes = 0;
  }
  c->pending_bytes = 0;
}

static void client_fail (RtmfpTcClient * c, RtmfpTcClientError code,
    const gchar * fmt, ...) G_GNUC_PRINTF (3, 4);

/* Fails the client once: the session is closed (orderly if open), the
 * error reported, state FAILED. */
static void
client_fail (RtmfpTcClient * c, RtmfpTcClientError code, const gchar * fmt,
    ...)
{
  va_list ap;
  GError *err;

  if (is_finished (c))
    return;
  va_start (ap, fmt);
  err = g_error_new_valist (RTMFP_TC_CLIENT_ERROR, code, fmt, ap);
  va_end (ap);
  g_debug ("client %p failed: %s", c, err->message);
  c->error = err;
  c->state = RTMFP_TC_CLIENT_STATE_FAILED;
  drop_all_pending (c);
  fail_calls (c);
  if (c->session) {
    RtmfpSessionState ss = rtmfp_session_get_state (c->session);

    if (ss == RTMFP_SESSION_OPEN)
      rtmfp_session_close (c->session, client_now (c));
    else if (ss == RTMFP_SESSION_IHELLO_SENT ||
        ss == RTMFP_SESSION_KEYING_SENT)
      rtmfp_session_abort (c->session, client_now (c));
  }
  if (c->cb.error)
    c->cb.error (c, err, c->ud);
  if (c->cb.state_changed)
    c->cb.state_changed (c, RTMFP_TC_CLIENT_STATE_FAILED, c->ud);
}

/* Writes one whole TC message on a flow */
static gboolean
flow_write (RtmfpTcClient * c, RtmfpSendFlow * f, const guint8 * data,
    gsize len, gint64 deadline, guint wflags, gint64 now)
{
  if (!c->session || !f)
    return FALSE;
  return rtmfp_session_write (c->session, f, data, len, deadline, wflags,
      now);
}

static gboolean
send_command (RtmfpTcClient * c, RtmfpSendFlow * f, const gchar * name,
    gdouble txn, guint n_args, RtmfpAmfNode ** args, gint64 now)
{
  GByteArray *m = g_byte_array_new ();
  gboolean ok;
  guint i;

  rtmfp_tc_command_append_with_args (m, 0, name, txn, n_args,
      (const RtmfpAmfNode * const *) args);
  for (i = 0; i < n_args; i++)
    rtmfp_amf_node_free (args[i]);
  ok = flow_write (c, f, m->data, m->len, RTMFP_NO_DEADLINE, 0, now);
  g_debug ("client %p: sent %s (%u bytes)%s", c, name, m->len,
      ok ? "" : " FAILED");
  g_byte_array_unref (m);
  return ok;
}

static RtmfpSendFlow *
open_stream_flow (RtmfpTcClient * c, gboolean arrival_order)
{
  GByteArray *md;
  RtmfpSendFlow *f;

  if (!c->server_control || c->server_control->complete)
    return NULL;
  md = g_byte_array_new ();
  rtmfp_tc_metadata_append (md, c->stream_id, arrival_order);
  /* 5.3.5.1: associated to the server's canonical control flow */
  f = rtmfp_session_open_flow (c->session, md->data, md->len,
      c->server_control->flow);
  g_byte_array_unref (md);
  return f;
}

/* ------------------------------------------------------------------------ */
/* publisher queues */

static void
update_pending (RtmfpTcClient * c)
{
  gsize total = 0;
  guint i;

  for (i = 0; i < OUT_N; i++)
    total += c->out[i].pending_bytes;
  c->pending_bytes = total;
  if (total >= RTMFP_TC_CLIENT_PENDING_HIGH) {
    c->above_high = TRUE;
  } else if (c->above_high && total < RTMFP_TC_CLIENT_PENDING_LOW) {
    c->above_high = FALSE;
    if (c->cb.writable)
      c->cb.writable (c, c->ud);
  }
}

/* Hands held messages to the flow while its queue is below the session's
 * high-water mark (the session then calls send_flow_writable once it has
 * drained below the low mark).  force: everything (closing). */
static void
pump (RtmfpTcClient * c, OutFlow * o, RtmfpTcMediaKind kind, gboolean force,
    gint64 now)
{
  Pending *p;

  while ((p = g_queue_peek_head (&o->pending))) {
    gsize len = g_bytes_get_size (p->msg);

    if (!force && o->flow &&
        rtmfp_send_flow_get_queued_bytes (o->flow) >=
        RTMFP_SESSION_FLOW_HIGH_WATER)
      break;
    g_queue_pop_head (&o->pending);
    o->pending_bytes -= len;
    if (p->deadline != RTMFP_NO_DEADLINE && p->deadline <= now) {
      c->media[kind].messages_dropped++;
    } else if (flow_write (c, o->flow, g_bytes_get_data (p->msg, NULL), len,
            p->deadline, p->wflags, now)) {
      c->media[kind].messages_sent++;
      c->media[kind].bytes_sent += len;
    } else {
      c->media[kind].messages_dropped++;
    }
    pending_free (p);
  }
  update_pending (c);
}

static RtmfpTcMediaKind
out_kind (guint i)
{
  return i == OUT_AUDIO ? RTMFP_TC_MEDIA_AUDIO :
      i == OUT_VIDEO ? RTMFP_TC_MEDIA_VIDEO : RTMFP_TC_MEDIA_DATA;
}

/* ------------------------------------------------------------------------ */
/* NetConnection steps */

/* The token as it goes into connect: plain, or bound to this session
 * (hex HMAC-SHA-256 keyed with the server's nonce, the far one here) */
static gchar *
auth_token_to_send (RtmfpTcClient * c)
{
  guint8 far[RTMFP_SHA256_SIZE];

  if (c->auth_mode == RTMFP_TC_AUTH_PLAIN ||
      !rtmfp_session_get_nonces (c->session, NULL, far))
    return g_strdup (c->auth_token);
  return rtmfp_hmac_sha256_hex (far, sizeof far, c->auth_token);
}

/* RTMFP_TC_AUTH_MUTUAL: the connect answer's authToken must be the token
 * hashed with OUR nonce (the server's far one): only a server that knows
 * the token and is the far end of this very session can say it */
static gboolean
server_proved_token (RtmfpTcClient * c, GPtrArray * args)
{
  guint8 near[RTMFP_SHA256_SIZE];
  const gchar *got = NULL;
  gchar *want;
  gboolean ok;
  guint i;

  if (c->auth_mode != RTMFP_TC_AUTH_MUTUAL || !c->auth_token)
    return TRUE;
  /* in the info object (tcserver: the argument after a null; others put
   * a properties object first) */
  for (i = 0; args && i < args->len && !got; i++) {
    const RtmfpAmfNode *n = g_ptr_array_index (args, i);
    RtmfpAmfType t = rtmfp_amf_node_get_type (n);

    if (t == RTMFP_AMF_TYPE_OBJECT || t == RTMFP_AMF_TYPE_ECMA_ARRAY)
      got = rtmfp_amf_node_peek_field_string (n, "authToken", NULL);
  }
  if (!got || !rtmfp_session_get_nonces (c->session, near, NULL))
    return FALSE;
  want = rtmfp_hmac_sha256_hex (near, sizeof near, c->auth_token);
  ok = strlen (got) == strlen (want) &&
      rtmfp_crypto_equal ((const guint8 *) got, (const guint8 *) want,
      strlen (want));
  g_free (want);
  return ok;
}

static void
send_connect (RtmfpTcClient * c, gint64 now)
{
  GByteArray *md = g_byte_array_new ();
  RtmfpAmfNode *args[3];
  guint n = 0;

  /* 5.3.1: Stream ID 0, original queuing order */
  rtmfp_tc_metadata_append (md, 0, FALSE);
  c->control = rtmfp_session_open_flow (c->session, md->data, md->len, NULL);
  g_byte_array_unref (md);
  if (!c->control) {
    client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
        "Could not open the NetConnection control flow");
    return;
  }
  set_state (c, RTMFP_TC_CLIENT_STATE_CONNECTING);
  args[n++] = rtmfp_tc_connect_object_new (c->app, c->tc_url, c->flash_ver);
  /* authentication, tcserver style: [user,] token after the object */
  if (c->auth_token) {
    gchar *token = auth_token_to_send (c);

    if (c->auth_user)
      args[n++] = rtmfp_amf_node_new_string (c->auth_user, -1);
    args[n++] = rtmfp_amf_node_new_string (token, -1);
    g_free (token);
  }
  if (!send_command (c, c->control, "connect", TXN_CONNECT, n, args, now))
    client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
        "Could not send the connect command");
}

static void
on_connected (RtmfpTcClient * c, gint64 now)
{
  GPtrArray *args = g_ptr_array_new ();
  guint i;

  /* 5.3.3: setPeerInfo MUST follow a successful connect */
  g_ptr_array_add (args, rtmfp_amf_node_new_null ());
  for (i = 0; c->peer_info && c->peer_info[i]; i++)
    g_ptr_array_add (args, rtmfp_amf_node_new_string (c->peer_info[i], -1));
  send_command (c, c->control, "setPeerInfo", 0.0, args->len,
      (RtmfpAmfNode **) args->pdata, now);
  g_ptr_array_unref (args);

  if (c->role == RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH ||
      c->role == RTMFP_TC_CLIENT_ROLE_CONNECT) {
    /* 5.4: the server now introduces peers to us; no stream here */
    c->deadline = -1;
    set_state (c, RTMFP_TC_CLIENT_STATE_STREAMING);
    return;
  }
  set_state (c, RTMFP_TC_CLIENT_STATE_CREATING_STREAM);
  {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };
    if (!send_command (c, c->control, "createStream", TXN_CREATE_STREAM, 1, a,
            now))
      client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
          "Could not send createStream");
  }
}

static void
on_stream_created (RtmfpTcClient * c, guint32 sid, gint64 now)
{
  RtmfpSendFlow *f;
  RtmfpAmfNode *args[3];
  guint n = 0;

  c->stream_id = sid;
  f = open_stream_flow (c, FALSE);
  if (!f) {
    client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
        "Could not open a flow for stream %u", sid);
    return;
  }
  c->out[OUT_STREAM].flow = f;
  set_state (c, RTMFP_TC_CLIENT_STATE_STARTING);
  args[n++] = rtmfp_amf_node_new_null ();
  args[n++] = rtmfp_amf_node_new_string (c->stream, -1);
  if (c->role == RTMFP_TC_CLIENT_ROLE_PUBLISH) {
    args[n++] = rtmfp_amf_node_new_string (c->publish_type, -1);
    send_command (c, f, "publish", 0.0, n, args, now);
  } else {
    send_command (c, f, "play", 0.0, n, args, now);
  }
}

/* RFC 7425 5.4: a direct player has no NetConnection; its NetStream
 * flow (not associated) carries "play" to the publisher, whose stream
 * flows come back associated to it. */
static void
start_peer_play (RtmfpTcClient * c, gint64 now)
{
  GByteArray *md = g_byte_array_new ();
  RtmfpSendFlow *f;
  RtmfpAmfNode *args[2];

  c->stream_id = RTMFP_TC_CLIENT_PEER_STREAM_ID;
  rtmfp_tc_metadata_append (md, c->stream_id, FALSE);
  f = rtmfp_session_open_flow (c->session, md->data, md->len, NULL);
  g_byte_array_unref (md);
  if (!f) {
    client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
        "Could not open the NetStream flow to the peer");
    return;
  }
  c->out[OUT_STREAM].flow = f;
  set_state (c, RTMFP_TC_CLIENT_STATE_STARTING);
  args[0] = rtmfp_amf_node_new_null ();
  args[1] = rtmfp_amf_node_new_string (c->stream, -1);
  if (!send_command (c, f, "play", 0.0, 2, args, now))
    client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
        "Could not send play to the peer");
}

/* The session is open: NetConnection, or straight to play from a peer */
static void
session_ready (RtmfpTcClient * c, gint64 now)
{
  if (c->peer_fp)
    start_peer_play (c, now);
  else
    send_connect (c, now);
}

/* The info object of a status-like command: the first object argument */
static const RtmfpAmfNode *
find_info (GPtrArray * args)
{
  guint i;

  for (i = 0; args && i < args->len; i++) {
    const RtmfpAmfNode *n = g_ptr_array_index (args, i);
    RtmfpAmfType t = rtmfp_amf_node_get_type (n);

    if (t == RTMFP_AMF_TYPE_OBJECT || t == RTMFP_AMF_TYPE_ECMA_ARRAY ||
        t == RTMFP_AMF_TYPE_TYPED_OBJECT)
      return n;
  }
  return NULL;
}

static const gchar *
info_string (const RtmfpAmfNode * info, const gchar * field,
    const gchar * fallback)
{
  const gchar *s = info ? rtmfp_amf_node_peek_field_string (info, field,
      NULL) : NULL;
  return s ? s : fallback;
}

static void
handle_result (RtmfpTcClient * c, gboolean ok, gdouble txn, GPtrArray * args,
    gint64 now)
{
  const RtmfpAmfNode *info = find_info (args);
  const gchar *code, *desc;

  if (txn == TXN_CONNECT && c->state == RTMFP_TC_CLIENT_STATE_CONNECTING) {
    code = info_string (info, "code", ok ? RTMFP_TC_CONNECT_SUCCESS :
        RTMFP_TC_CONNECT_REJECTED);
    desc = info_string (info, "description", ok ? "" : "no description");
    if (c->cb.status)
      c->cb.status (c, info_string (info, "level", ok ? "status" : "error"),
          code, desc, c->ud);
    if (!ok) {
      client_fail (c, RTMFP_TC_CLIENT_ERROR_REJECTED, "%s: %s", code, desc);
      return;
    }
    if (!server_proved_token (c, args)) {
      client_fail (c, RTMFP_TC_CLIENT_ERROR_AUTH, "The server accepted the "
          "connection without proving that it knows the authentication "
          "token (no matching authToken in its answer): not the server "
          "the token was made for, or a man in the middle");
      return;
    }
    /* 5.3.2: _result on stream 0 = connected */
    on_connected (c, now);
  } else if (txn == TXN_CREATE_STREAM &&
      c->state == RTMFP_TC_CLIENT_STATE_CREATING_STREAM) {
    guint i;
    gdouble sid = -1;

    if (!ok) {
      code = info_string (info, "code", RTMFP_TC_CALL_FAILED);
      desc = info_string (info, "description", "createStream refused");
      client_fail (c, RTMFP_TC_CLIENT_ERROR_STREAM, "%s: %s", code, desc);
      return;
    }
    for (i = 0; args && i < args->len; i++) {
      const RtmfpAmfNode *n = g_ptr_array_index (args, i);
      if (rtmfp_amf_node_get_type (n) == RTMFP_AMF_TYPE_NUMBER) {
        sid = rtmfp_amf_node_get_number (n);
        break;
      }
    }
    /* RTMP stream IDs are 24 bits; 0 is the NetConnection (5.1) */
    if (!(sid >= 1 && sid <= 0xffffff) || sid != (gdouble) (guint32) sid) {
      client_fail (c, RTMFP_TC_CLIENT_ERROR_PROTOCOL,
          "createStream answered without a usable stream ID");
      return;
    }
    on_stream_created (c, (guint32) sid, now);
  } else {
    GList *l;

    for (l = c->calls.head; l; l = l->next) {
      Call *call = l->data;
      if (call->txn == txn) {
        g_queue_delete_link (&c->calls, l);
        if (call->func)
          call->func (c, ok, args, call->ud);
        g_free (call);
        return;
      }
    }
    g_debug ("client %p: %s for transaction %g ignored", c,
        ok ? "_result" : "_error", txn);
  }
}

/* Every call still waiting is answered FALSE (the connection ended) */
static void
fail_calls (RtmfpTcClient * c)
{
  Call *call;

  while ((call = g_queue_pop_head (&c->calls))) {
    if (call->func)
      call->func (c, FALSE, NULL, call->ud);
    g_free (call);
  }
}

static void
handle_status (RtmfpTcClient * c, InFlow * in, GPtrArray * args)
{
  const RtmfpAmfNode *info = find_info (args);
  const gchar *level = info_string (info, "level", "status");
  const gchar *code = info_string (info, "code", "");
  const gchar *desc = info_string (info, "description", "");

  g_debug ("client %p: onStatus %s %s (%s)", c, level, code, desc);
  if (c->cb.status)
    c->cb.status (c, level, code, desc, c->ud);
  if (is_finished (c))
    return;

  if (g_str_equal (level, "error")) {
    if (in->stream_id == 0 && g_str_has_prefix (code, "NetConnection."))
      client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED, "%s: %s", code, desc);
    else
      client_fail (c, RTMFP_TC_CLIENT_ERROR_STREAM, "%s: %s", code, desc);
    return;
  }
  if (g_str_equal (code, RTMFP_TC_CONNECT_CLOSED)) {
    if (c->state != RTMFP_TC_CLIENT_STATE_CLOSING)
      client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED, "%s: %s", code, desc);
    return;
  }
  if (c->state == RTMFP_TC_CLIENT_STATE_STARTING && in->stream_id != 0 &&
      in->stream_id == c->stream_id) {
    if ((c->role == RTMFP_TC_CLIENT_ROLE_PUBLISH &&
            g_str_equal (code, RTMFP_TC_PUBLISH_START)) ||
        (c->role == RTMFP_TC_CLIENT_ROLE_PLAY &&
            g_str_equal (code, RTMFP_TC_PLAY_START)))
      set_state (c, RTMFP_TC_CLIENT_STATE_STREAMING);
  }
}

static void
handle_command (RtmfpTcClient * c, InFlow * in, const RtmfpTcMessage * msg,
    gint64 now)
{
  gchar *name = NULL;
  gdouble txn = 0;
  GPtrArray *args = rtmfp_tc_command_parse (msg, &name, &txn);

  if (!args) {
    g_debug ("client %p: undecodable command ignored", c);
    return;
  }
  if (g_str_equal (name, "_result") || g_str_equal (name, "_error")) {
    if (in->stream_id == 0)
      handle_result (c, g_str_equal (name, "_result"), txn, args, now);
  } else if (g_str_equal (name, "onStatus")) {
    handle_status (c, in, args);
  } else if (g_str_equal (name, "close") && in->stream_id == 0) {
    if (c->state != RTMFP_TC_CLIENT_STATE_CLOSING)
      client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED,
          "%s: the server closed the connection", RTMFP_TC_CONNECT_CLOSED);
  } else if (c->cb.command) {
    c->cb.command (c, in->stream_id, name, args, c->ud);
  } else {
    g_debug ("client %p: command '%s' ignored", c, name);
  }
  g_free (name);
  g_ptr_array_unref (args);
}

/* ------------------------------------------------------------------------ */
/* receiving */

static void process_message (InFlow * in, const guint8 * data, gsize len,
    guint64 gap);

/* Delivers what a flow held while suspended, until it is suspended again */
static void
drain_held (InFlow * in)
{
  Held *h;

  while (!in->suspended && (h = g_queue_pop_head (&in->held))) {
    in->held_bytes -= g_bytes_get_size (h->msg);
    process_message (in, g_bytes_get_data (h->msg, NULL),
        g_bytes_get_size (h->msg), h->gap);
    held_free (h);
    if (is_finished (in->c))
      break;
  }
}

static void
release_barrier (RtmfpTcClient * c, guint32 sync_id)
{
  guint i;

  g_hash_table_remove (c->syncs, GUINT_TO_POINTER (sync_id));
  /* Resume every flow waiting at this barrier.  Draining may suspend a
   * flow again at a later barrier; the flow array is not changed by
   * delivery (new flows only come from the session's receive path). */
  for (i = 0; i < c->in_flows->len; i++) {
    InFlow *o = g_ptr_array_index (c->in_flows, i);
    if (o->suspended && o->sync_id == sync_id)
      o->suspended = FALSE;
  }
  for (i = 0; i < c->in_flows->len && !is_finished (c); i++)
    drain_held (g_ptr_array_index (c->in_flows, i));
}

/* 5.2: suspend this flow until `count` sync messages with the same ID
 * have been received on flows of the association tree (all ours). */
static void
handle_flow_sync (InFlow * in, guint32 sync_id, guint32 count)
{
  RtmfpTcClient *c = in->c;
  guint seen;

  if (count == 0) {
    g_debug ("client %p: flow sync with count 0 ignored", c);
    return;
  }
  seen = GPOINTER_TO_UINT (g_hash_table_lookup (c->syncs,
          GUINT_TO_POINTER (sync_id))) + 1;
  if (seen >= count) {
    release_barrier (c, sync_id);
    return;
  }
  if (g_hash_table_size (c->syncs) >= MAX_PENDING_SYNCS &&
      !g_hash_table_contains (c->syncs, GUINT_TO_POINTER (sync_id))) {
    g_debug ("client %p: too many open sync barriers, sync ignored", c);
    return;
  }
  g_hash_table_insert (c->syncs, GUINT_TO_POINTER (sync_id),
      GUINT_TO_POINTER (seen));
  in->suspended = TRUE;
  in->sync_id = sync_id;
}

static void
handle_user_control (RtmfpTcClient * c, InFlow * in,
    const RtmfpTcMessage * msg, gint64 now)
{
  guint16 event;
  guint32 a[2];
  guint n;

  if (!rtmfp_tc_user_control_parse (msg->payload, msg->len, &event, a, &n))
    return;
  switch (event) {
    case RTMFP_TC_EVENT_FLOW_SYNC:
      if (n == 2)
        handle_flow_sync (in, a[0], a[1]);
      break;
    case RTMFP_TC_EVENT_SET_KEEPALIVE:
      /* 5.3.4: apply within our own minimum and maximum */
      if (n >= 1 && in->stream_id == 0 && c->session) {
        gint64 server = CLAMP ((gint64) a[0] * G_TIME_SPAN_MILLISECOND,
            RTMFP_TC_CLIENT_MIN_KEEPALIVE_US,
            RTMFP_TC_CLIENT_MAX_KEEPALIVE_US);
        rtmfp_session_set_keepalive (c->session, server);
        if (n == 2)
          c->peer_keepalive_us = CLAMP ((gint64) a[1] *
              G_TIME_SPAN_MILLISECOND, RTMFP_TC_CLIENT_MIN_KEEPALIVE_US,
              RTMFP_TC_CLIENT_MAX_KEEPALIVE_US);
        g_debug ("client %p: keepalive %" G_GINT64_FORMAT " us (advised %u "
            "ms)", c, server, a[0]);
      }
      break;
    case RTMFP_TC_EVENT_PING_REQUEST:
      if (n >= 1 && c->control) {
        GByteArray *p = g_byte_array_new (), *m = g_byte_array_new ();
        rtmfp_tc_user_control_append (p, RTMFP_TC_EVENT_PING_RESPONSE, a, 1);
        rtmfp_tc_message_append (m, RTMFP_TC_MSG_USER_CONTROL, 0, p->data,
            p->len);
        flow_write (c, c->control, m->data, m->len, RTMFP_NO_DEADLINE, 0, now);
        g_byte_array_unref (p);
        g_byte_array_unref (m);
      }
      break;
    default:
      if (n >= 1 && c->stream_id != 0 && a[0] == c->stream_id &&
          c->cb.stream_event)
        c->cb.stream_event (c, event, c->ud);
      break;
  }
}

static void
deliver_media (RtmfpTcClient * c, InFlow * in, const RtmfpTcMessage * msg,
    guint64 gap)
{
  RtmfpTcMessage m = *msg;
  RtmfpTcMediaKind kind;

  if (c->role != RTMFP_TC_CLIENT_ROLE_PLAY || in->stream_id == 0 ||
      in->stream_id != c->stream_id)
    return;
  if (m.type == RTMFP_TC_MSG_DATA_AMF3) {
    /* format byte 0, then AMF0 values (as type 17, 5.3.3) */
    if (m.len < 1 || m.payload[0] != 0)
      return;
    m.payload++;
    m.len--;
    m.type = RTMFP_TC_MSG_DATA_AMF0;
  }
  if (m.type == RTMFP_TC_MSG_DATA_AMF0) {
    gsize off = rtmfp_flv_script_skip_set_data_frame (m.payload, m.len);
    m.payload += off;
    m.len -= off;
  }
  kind = rtmfp_tc_media_kind_from_type (m.type);
  c->media[kind].messages_received++;
  c->media[kind].bytes_received += m.len;
  c->media[kind].sequence_gaps += gap;
  if (gap)
    c->media[kind].gaps++;
  if (c->cb.message)
    c->cb.message (c, &m, gap, c->ud);
}

static void
process_message (InFlow * in, const guint8 * data, gsize len, guint64 gap)
{
  RtmfpTcClient *c = in->c;
  RtmfpTcMessage msg;

  if (is_finished (c))
    return;
  if (in->suspended) {
    if (g_queue_get_length (&in->held) >= MAX_HELD_MESSAGES ||
        in->held_bytes + len > MAX_HELD_BYTES) {
      g_debug ("client %p: flow sync barrier %u held too much, released",
          c, in->sync_id);
      release_barrier (c, in->sync_id);
      if (is_finished (c))
        return;
    }
    if (in->suspended || in->held.length) {
      Held *h = g_new0 (Held, 1);
      h->msg = g_bytes_new (data, len);
      h->gap = gap;
      in->held_bytes += len;
      g_queue_push_tail (&in->held, h);
      drain_held (in);
      return;
    }
  }
  if (!rtmfp_tc_message_parse (data, len, &msg)) {
    g_debug ("client %p: malformed TC message ignored", c);
    return;
  }
  if (rtmfp_tc_message_type_is_chunk_control (msg.type))
    return;                     /* 5.1: MUST be ignored */
  switch (msg.type) {
    case RTMFP_TC_MSG_USER_CONTROL:
      handle_user_control (c, in, &msg, client_now (c));
      break;
    case RTMFP_TC_MSG_COMMAND_AMF0:
    case RTMFP_TC_MSG_COMMAND_AMF3:
      handle_command (c, in, &msg, client_now (c));
      break;
    case RTMFP_TC_MSG_AUDIO:
    case RTMFP_TC_MSG_VIDEO:
    case RTMFP_TC_MSG_DATA_AMF0:
    case RTMFP_TC_MSG_DATA_AMF3:
      deliver_media (c, in, &msg, gap);
      break;
    default:
      g_debug ("client %p: message type %u ignored", c, msg.type);
      break;
  }
}

static void
on_flow_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer user_data)
{
  process_message (user_data, data, len, gap);
}

static void
on_flow_complete (RtmfpRecvFlow * f, gpointer user_data)
{
  InFlow *in = user_data;
  RtmfpTcClient *c = in->c;

  in->complete = TRUE;
  if (in->suspended)
    release_barrier (c, in->sync_id);
  if (in->canonical && !is_finished (c) &&
      c->state != RTMFP_TC_CLIENT_STATE_CLOSING) {
    /* 5.3.6: the server closed its NetConnection control flow */
    client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED,
        "%s: the server closed the connection", RTMFP_TC_CONNECT_CLOSED);
  }
}

/* ------------------------------------------------------------------------ */
/* endpoint callbacks */

/* ------------------------------------------------------------------------ */
/* opening: pinning, and AUTO's fallback to Flash Player's certificate */

static gboolean
identity_is_flash (RtmfpEndpoint * ep)
{
  return rtmfp_identity_get_kind (rtmfp_endpoint_get_identity (ep)) ==
      RTMFP_IDENTITY_FLASH;
}

/* Opens c->session to the candidates, pinned if we pin */
static gboolean
open_session (RtmfpTcClient * c, gint64 now)
{
  RtmfpOpenOptions opts;
  GByteArray *epd = g_byte_array_new ();
  RtmfpSession *s;

  memset (&opts, 0, sizeof opts);
  if (c->server_fp && !c->peer_fp)
    opts.pinned_fingerprint = c->server_fp;
  if (c->peer_fp)               /* 5.4: the peer, by fingerprint (4.4.2.3) */
    rtmfp_epd_append_fingerprint (epd, c->peer_fp);
  else                          /* 5.3.1: Ancillary Data, the URI (4.4.2.2) */
    rtmfp_epd_append_ancillary (epd, c->tc_url);
  c->shape = identity_is_flash (c->ep) ? RTMFP_HANDSHAKE_FLASH :
      RTMFP_HANDSHAKE_RFC;
  c->keying_since = -1;
  s = rtmfp_endpoint_open_session_full (c->ep, epd->data, epd->len, &opts,
      (const RtmfpAddr *) c->cands->data, c->cands->len, now);
  g_byte_array_unref (epd);
  if (c->session)
    rtmfp_session_unref (c->session);
  c->session = s ? rtmfp_session_ref (s) : NULL;
  return s != NULL;
}

/* AUTO: the server answered our RFC handshake in a way that shows it only
 * understands Flash Player's certificate (reason): once more with a
 * Flash-shaped identity.  FALSE if that does not apply. */
static gboolean
flash_fallback (RtmfpTcClient * c, const gchar * reason, gint64 now)
{
  RtmfpIdentity *id;
  RtmfpSession *old = c->session;

  if (c->handshake != RTMFP_HANDSHAKE_AUTO || c->flash_tried || c->peer_fp ||
      c->server_fp || c->state != RTMFP_TC_CLIENT_STATE_OPENING ||
      identity_is_flash (c->ep))
    return FALSE;
  c->flash_tried = TRUE;
  g_debug ("client %p: RFC handshake failed (%s): trying Flash Player's "
      "certificate (DH group 2)", c, reason);
  id = rtmfp_identity_new_flash ();
  rtmfp_endpoint_set_identity (c->ep, id);
  if (c->cb.identity_changed)
    c->cb.identity_changed (c, id, c->ud);
  rtmfp_identity_unref (id);
  if (is_finished (c))
    return TRUE;
  /* an old session still opening is aborted first (the endpoint would
   * hand it back for the same EPD); it is not c->session any more, so its
   * callbacks do not reach us */
  c->session = NULL;
  if (old) {
    RtmfpSessionState ss = rtmfp_session_get_state (old);
    if (ss == RTMFP_SESSION_IHELLO_SENT || ss == RTMFP_SESSION_KEYING_SENT)
      rtmfp_session_abort (old, now);
    rtmfp_session_unref (old);
  }
  if (!open_session (c, now))
    client_fail (c, RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED,
        "Could not start an RTMFP session to %s", c->tc_url);
  return TRUE;
}

/* AUTO: the RHello came but the IIKeying goes unanswered (a server that
 * cannot parse our certificate may drop it): TRUE once that has lasted
 * RTMFP_TC_CLIENT_FLASH_FALLBACK_US (the fallback is then under way) */
static gboolean
keying_silence (RtmfpTcClient * c, gint64 now)
{
  if (c->handshake != RTMFP_HANDSHAKE_AUTO || c->flash_tried ||
      !c->session || rtmfp_session_get_state (c->session) !=
      RTMFP_SESSION_KEYING_SENT) {
    c->keying_since = -1;
    return FALSE;
  }
  if (c->keying_since < 0)
    c->keying_since = now;
  if (now - c->keying_since < RTMFP_TC_CLIENT_FLASH_FALLBACK_US)
    return FALSE;
  return flash_fallback (c, "no answer to the IIKeying", now);
}

/* Pinning, checked again on the open session (open_session_full checked
 * the RHello; an already open session may have been reused) */
static gboolean
pin_ok (RtmfpTcClient * c, RtmfpSession * s)
{
  const guint8 *far = rtmfp_session_get_far_fingerprint (s);
  const guint8 *cert;
  gsize cert_len = 0;
  RtmfpCertInfo ci;
  gchar *want, *got;

  if (!c->server_fp || c->peer_fp)
    return TRUE;
  cert = rtmfp_session_get_far_certificate (s, &cert_len);
  if (far && rtmfp_crypto_equal (far, c->server_fp, RTMFP_FINGERPRINT_SIZE)
      && cert && rtmfp_cert_parse (cert, cert_len, &ci) &&
      ci.n_static_keys > 0)
    return TRUE;
  want = rtmfp_fingerprint_to_hex (c->server_fp);
  got = far ? rtmfp_fingerprint_to_hex (far) : g_strdup ("?");
  client_fail (c, RTMFP_TC_CLIENT_ERROR_FINGERPRINT,
      "The server's fingerprint %s is not the required %s, or it has no "
      "static key", got, want);
  g_free (want);
  g_free (got);
  return FALSE;
}

/* A pinned server must show it derived the session keys: an attacker
 * replaying its certificate cannot (its RIKeying is unauthenticated, so
 * the session "opens", but nothing it sends decrypts).  TRUE if the
 * session ran past the deadline without one packet under the keys (the
 * client has failed). */
static gboolean
pin_unproven (RtmfpTcClient * c)
{
  RtmfpSessionStats st;

  if (!c->server_fp || c->peer_fp || !c->session)
    return FALSE;
  rtmfp_session_get_stats (c->session, &st);
  if (st.packets_received > 0)
    return FALSE;
  client_fail (c, RTMFP_TC_CLIENT_ERROR_FINGERPRINT, "The pinned server "
      "never answered under the session keys (nothing decrypted within %"
      G_GINT64_FORMAT " ms): whoever answered the handshake does not hold "
      "the pinned key, a man in the middle?",
      c->timeout_us / G_TIME_SPAN_MILLISECOND);
  return TRUE;
}

static void
ep_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcClient *c = ud;

  if (s != c->session || c->state != RTMFP_TC_CLIENT_STATE_OPENING)
    return;
  if (!pin_ok (c, s))
    return;
  session_ready (c, client_now (c));
}

static void
ep_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcClient *c = ud;
  const GError *err;

  if (s != c->session)
    return;
  err = rtmfp_session_get_error (s);
  if (err && g_error_matches (err, RTMFP_SESSION_ERROR,
          RTMFP_SESSION_ERROR_KEYING) && flash_fallback (c, err->message,
          client_now (c)))
    return;
  if (err && g_error_matches (err, RTMFP_SESSION_ERROR,
          RTMFP_SESSION_ERROR_IDENTITY))
    client_fail (c, RTMFP_TC_CLIENT_ERROR_FINGERPRINT,
        "RTMFP handshake refused: %s", err->message);
  else if (err && c->server_fp && !c->peer_fp &&
      g_error_matches (err, RTMFP_SESSION_ERROR, RTMFP_SESSION_ERROR_KEYING))
    /* the pinned certificate, but a keying answer its holder would not
     * give (e.g. an ephemeral key from a static responder) */
    client_fail (c, RTMFP_TC_CLIENT_ERROR_FINGERPRINT,
        "The pinned server's keying answer is unusable (%s): not the "
        "holder of the pinned key", err->message);
  else if (err && g_error_matches (err, RTMFP_SESSION_ERROR,
          RTMFP_SESSION_ERROR_TIMEOUT))
    client_fail (c, RTMFP_TC_CLIENT_ERROR_TIMEOUT, c->peer_fp ?
        "No answer from the peer (RTMFP handshake timed out)" :
        "No answer from the server (RTMFP handshake timed out)");
  else
    client_fail (c, RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED,
        "RTMFP handshake failed: %s", err ? err->message : "unknown error");
}

/* 5.4: a direct player has no NetConnection; the publisher closing the
 * session of a stream that was playing is the end of that stream. */
static gboolean
peer_ended (RtmfpTcClient * c)
{
  RtmfpSessionState ss;
  const GError *err;

  if (!c->peer_fp || c->state != RTMFP_TC_CLIENT_STATE_STREAMING)
    return FALSE;
  ss = rtmfp_session_get_state (c->session);
  if (ss != RTMFP_SESSION_FARCLOSE_LINGER && ss != RTMFP_SESSION_CLOSED)
    return FALSE;
  /* a publisher that went silent is a failure, not an end */
  err = rtmfp_session_get_error (c->session);
  return !(err && g_error_matches (err, RTMFP_SESSION_ERROR,
          RTMFP_SESSION_ERROR_IDLE));
}

static void
ep_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  RtmfpTcClient *c = ud;
  const GError *err;

  if (s != c->session)
    return;
  if (c->state == RTMFP_TC_CLIENT_STATE_CLOSING || peer_ended (c)) {
    set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
    return;
  }
  err = rtmfp_session_get_error (s);
  client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED, "%s: %s",
      RTMFP_TC_CONNECT_CLOSED, err ? err->message : "session closed");
}

static gboolean
ep_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  RtmfpTcClient *c = ud;
  const guint8 *md;
  gsize md_len;
  guint32 sid;
  gboolean rxi;
  InFlow *in;

  if (s != c->session || is_finished (c))
    return FALSE;
  md = rtmfp_recv_flow_get_metadata (f, &md_len);
  /* 5.1.1: reject flows that are not TC flows with a stream ID */
  if (!rtmfp_tc_metadata_parse (md, md_len, &sid, &rxi))
    return FALSE;
  if (sid == 0) {
    /* 5.3.2: the server's control flows answer our control flow */
    if (!c->control || assoc != c->control)
      return FALSE;
  } else if (sid != c->stream_id) {
    g_debug ("client %p: flow for unknown stream %u rejected", c, sid);
    return FALSE;
  }
  in = g_new0 (InFlow, 1);
  in->c = c;
  in->flow = f;
  in->stream_id = sid;
  g_queue_init (&in->held);
  if (sid == 0 && !c->server_control) {
    in->canonical = TRUE;
    c->server_control = in;
  }
  g_ptr_array_add (c->in_flows, in);
  /* Original queuing order whatever the RXI hint: the player hands one
   * ordered FLV stream downstream, and gaps are reported, not waited on
   * beyond the sender's abandonment. */
  rtmfp_recv_flow_set_delivery (f, FALSE, on_flow_message, on_flow_complete,
      in);
  g_debug ("client %p: accepted flow for stream %u%s", c, sid,
      in->canonical ? " (canonical control)" : "");
  return TRUE;
}

static void
ep_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  RtmfpTcClient *c = ud;
  guint i;

  if (s != c->session || is_finished (c) ||
      c->state == RTMFP_TC_CLIENT_STATE_CLOSING)
    return;
  if (f == c->control) {
    /* 5.3: an exception on the control flow = connection closed */
    client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED,
        "%s: the server rejected the NetConnection control flow",
        RTMFP_TC_CONNECT_CLOSED);
    return;
  }
  for (i = 0; i < OUT_N; i++) {
    if (f == c->out[i].flow) {
      /* 5.3.5.3: a rejected stream flow ends the stream */
      client_fail (c, RTMFP_TC_CLIENT_ERROR_STREAM,
          "The server rejected the %s flow of stream %u (exception %"
          G_GUINT64_FORMAT ")", rtmfp_tc_media_kind_get_nick (out_kind (i)),
          c->stream_id, code);
      return;
    }
  }
}

static void
ep_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  RtmfpTcClient *c = ud;
  guint i;

  if (s != c->session || is_finished (c))
    return;
  for (i = 0; i < OUT_N; i++) {
    if (f == c->out[i].flow && c->out[i].pending.length)
      pump (c, &c->out[i], out_kind (i), FALSE, client_now (c));
  }
}

static const RtmfpEndpointCallbacks endpoint_callbacks = {
  .session_opened = ep_session_opened,
  .session_open_failed = ep_session_open_failed,
  .session_closed = ep_session_closed,
  .flow_opened = ep_flow_opened,
  .send_flow_exception = ep_send_flow_exception,
  .send_flow_writable = ep_send_flow_writable,
};

const RtmfpEndpointCallbacks *
rtmfp_tc_client_get_endpoint_callbacks (void)
{
  return &endpoint_callbacks;
}

/* ------------------------------------------------------------------------ */
/* public API */

RtmfpTcClient *
rtmfp_tc_client_new (const RtmfpTcClientConfig * cfg,
    const RtmfpTcClientCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data)
{
  RtmfpTcClient *c;
  guint i;

  g_return_val_if_fail (cfg != NULL, NULL);
  g_return_val_if_fail (cfg->tc_url != NULL, NULL);
  g_return_val_if_fail (cfg->stream != NULL, NULL);
  g_return_val_if_fail (clock != NULL, NULL);

  c = g_new0 (RtmfpTcClient, 1);
  c->role = cfg->role;
  c->tc_url = g_strdup (cfg->tc_url);
  c->app = g_strdup (cfg->app ? cfg->app : "");
  c->stream = g_strdup (cfg->stream);
  c->flash_ver = g_strdup (cfg->flash_ver);
  c->auth_token = g_strdup (cfg->auth_token);
  if (cfg->auth_token)
    c->auth_user = g_strdup (cfg->auth_user);
  c->publish_type = g_strdup (cfg->publish_type ? cfg->publish_type : "live");
  c->peer_info = g_strdupv ((gchar **) cfg->peer_info);
  if (cfg->peer_fingerprint && cfg->role == RTMFP_TC_CLIENT_ROLE_PLAY)
    c->peer_fp = g_memdup2 (cfg->peer_fingerprint, RTMFP_FINGERPRINT_SIZE);
  if (cfg->server_fingerprint)
    c->server_fp = g_memdup2 (cfg->server_fingerprint,
        RTMFP_FINGERPRINT_SIZE);
  c->handshake = cfg->handshake;
  c->auth_mode = cfg->auth_mode;
  c->cands = g_array_new (FALSE, FALSE, sizeof (RtmfpAddr));
  c->keying_since = -1;
  c->timeout_us = MAX (cfg->timeout_us, 0);
  c->audio_lifetime_us = cfg->audio_lifetime_us > 0 ? cfg->audio_lifetime_us
      : RTMFP_TC_CLIENT_DEFAULT_AUDIO_LIFETIME_US;
  c->video_lifetime_us = cfg->video_lifetime_us > 0 ? cfg->video_lifetime_us
      : RTMFP_TC_CLIENT_DEFAULT_VIDEO_LIFETIME_US;
  c->close_timeout_us = cfg->close_timeout_us > 0 ? cfg->close_timeout_us
      : RTMFP_TC_CLIENT_DEFAULT_CLOSE_TIMEOUT_US;
  if (callbacks)
    c->cb = *callbacks;
  c->ud = user_data;
  c->clock = clock;
  c->clock_data = clock_data;
  c->state = RTMFP_TC_CLIENT_STATE_IDLE;
  c->deadline = -1;
  c->drain_deadline = -1;
  c->close_deadline = -1;
  c->poll_at = -1;
  c->in_flows = g_ptr_array_new_with_free_func ((GDestroyNotify) in_flow_free);
  c->syncs = g_hash_table_new (NULL, NULL);
  g_queue_init (&c->calls);
  c->next_txn = TXN_FIRST_CALL;
  for (i = 0; i < OUT_N; i++)
    g_queue_init (&c->out[i].pending);
  return c;
}

void
rtmfp_tc_client_free (RtmfpTcClient * c)
{
  if (!c)
    return;
  drop_all_pending (c);
  /* callers free their clients without waiting for answers */
  g_queue_clear_full (&c->calls, g_free);
  if (c->session) {
    /* the delivery callbacks point at our InFlows: detach them */
    guint i;
    for (i = 0; i < c->in_flows->len; i++) {
      InFlow *in = g_ptr_array_index (c->in_flows, i);
      if (!in->complete)
        rtmfp_recv_flow_set_delivery (in->flow, FALSE, NULL, NULL, NULL);
    }
    rtmfp_session_unref (c->session);
  }
  g_ptr_array_unref (c->in_flows);
  g_hash_table_unref (c->syncs);
  g_clear_error (&c->error);
  g_free (c->tc_url);
  g_free (c->app);
  g_free (c->stream);
  g_free (c->flash_ver);
  g_free (c->auth_token);
  g_free (c->auth_user);
  g_free (c->publish_type);
  g_strfreev (c->peer_info);
  g_free (c->peer_fp);
  g_free (c->server_fp);
  g_array_unref (c->cands);
  g_free (c);
}

gboolean
rtmfp_tc_client_start (RtmfpTcClient * c, RtmfpEndpoint * ep,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now)
{
  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (ep != NULL, FALSE);
  g_return_val_if_fail (c->state == RTMFP_TC_CLIENT_STATE_IDLE, FALSE);

  c->ep = ep;
  if (c->timeout_us > 0)
    c->deadline = now + c->timeout_us;
  set_state (c, RTMFP_TC_CLIENT_STATE_OPENING);
  if (n_candidates > 0)
    g_array_append_vals (c->cands, candidates, n_candidates);
  /* a Flash-shaped endpoint has nothing to fall back to */
  c->flash_tried = c->handshake != RTMFP_HANDSHAKE_AUTO;
  if (!open_session (c, now)) {
    client_fail (c, RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED,
        "Could not start an RTMFP session to %s", c->tc_url);
    return FALSE;
  }
  /* open_session may return an already open session to that server */
  if (rtmfp_session_get_state (c->session) == RTMFP_SESSION_OPEN &&
      c->state == RTMFP_TC_CLIENT_STATE_OPENING && pin_ok (c, c->session))
    session_ready (c, now);
  return !is_finished (c) || c->state == RTMFP_TC_CLIENT_STATE_CLOSED;
}

void
rtmfp_tc_client_add_candidate (RtmfpTcClient * c, const RtmfpAddr * addr,
    gint64 now)
{
  g_return_if_fail (c != NULL);
  g_return_if_fail (addr != NULL);

  if (c->state == RTMFP_TC_CLIENT_STATE_OPENING &&
      c->cands->len < MAX_CANDIDATES)
    g_array_append_val (c->cands, *addr);
  if (c->session && c->state == RTMFP_TC_CLIENT_STATE_OPENING)
    rtmfp_endpoint_add_candidate (c->ep, c->session, addr, now);
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

/* Arms the periodic check (once: the time is kept until it is served, so
 * a driver asking again and again still sees it come due) */
static gint64
poll_time (RtmfpTcClient * c, gint64 interval)
{
  gint64 now = client_now (c);

  if (c->poll_at < 0 || c->poll_at > now + interval)
    c->poll_at = now + interval;
  return c->poll_at;
}

gint64
rtmfp_tc_client_next_timeout (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, -1);

  switch (c->state) {
    case RTMFP_TC_CLIENT_STATE_OPENING:
      if (c->handshake == RTMFP_HANDSHAKE_AUTO && !c->flash_tried)
        return min_time (c->deadline, poll_time (c, KEYING_POLL_US));
      return c->deadline;
    case RTMFP_TC_CLIENT_STATE_CONNECTING:
    case RTMFP_TC_CLIENT_STATE_CREATING_STREAM:
    case RTMFP_TC_CLIENT_STATE_STARTING:
      return min_time (c->deadline, poll_time (c, LIVENESS_POLL_US));
    case RTMFP_TC_CLIENT_STATE_STREAMING:
      return poll_time (c, c->pending_bytes ? PUMP_POLL_US :
          LIVENESS_POLL_US);
    case RTMFP_TC_CLIENT_STATE_CLOSING:
      return min_time (c->close_deadline, poll_time (c, CLOSE_POLL_US));
    default:
      return -1;
  }
}

static const gchar *
phase_name (RtmfpTcClientState state)
{
  switch (state) {
    case RTMFP_TC_CLIENT_STATE_OPENING:
      return "RTMFP handshake";
    case RTMFP_TC_CLIENT_STATE_CONNECTING:
      return "connect";
    case RTMFP_TC_CLIENT_STATE_CREATING_STREAM:
      return "createStream";
    case RTMFP_TC_CLIENT_STATE_STARTING:
      return "publish/play";
    default:
      return rtmfp_tc_client_state_get_nick (state);
  }
}

/* Closing: the stream flows complete, and everything on the control flow
 * (deleteStream) acknowledged */
static gboolean
send_flows_complete (RtmfpTcClient * c)
{
  guint i;

  if (c->control && !rtmfp_send_flow_is_complete (c->control) &&
      rtmfp_send_flow_get_state (c->control) != RTMFP_SEND_FLOW_CLOSED &&
      rtmfp_send_flow_get_queued_bytes (c->control) > 0)
    return FALSE;
  for (i = 0; i < OUT_N; i++) {
    RtmfpSendFlow *f = c->out[i].flow;
    if (f && !rtmfp_send_flow_is_complete (f) &&
        rtmfp_send_flow_get_state (f) != RTMFP_SEND_FLOW_CLOSED)
      return FALSE;
  }
  return TRUE;
}

/* The session is gone or going away at the far end's request */
static gboolean
far_closed (RtmfpSession * s)
{
  RtmfpSessionState ss = rtmfp_session_get_state (s);

  return ss == RTMFP_SESSION_FARCLOSE_LINGER || ss == RTMFP_SESSION_CLOSED ||
      ss == RTMFP_SESSION_OPEN_FAILED;
}

static void
close_session (RtmfpTcClient * c, gint64 now)
{
  c->session_closing = TRUE;
  c->close_deadline = now + c->close_timeout_us;
  if (c->session && rtmfp_session_get_state (c->session) ==
      RTMFP_SESSION_OPEN)
    rtmfp_session_close (c->session, now);
  if (c->state == RTMFP_TC_CLIENT_STATE_CLOSING && (!c->session ||
          rtmfp_session_get_state (c->session) == RTMFP_SESSION_CLOSED))
    set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
}

/* FALSE (and the client failed) if the session left S_OPEN under us */
static gboolean
check_session_open (RtmfpTcClient * c)
{
  RtmfpSessionState ss;
  const GError *err;

  if (!c->session)
    return TRUE;
  ss = rtmfp_session_get_state (c->session);
  if (ss == RTMFP_SESSION_OPEN || ss == RTMFP_SESSION_IHELLO_SENT ||
      ss == RTMFP_SESSION_KEYING_SENT)
    return TRUE;
  if (peer_ended (c)) {
    set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
    return FALSE;
  }
  err = rtmfp_session_get_error (c->session);
  client_fail (c, RTMFP_TC_CLIENT_ERROR_CLOSED, "%s: %s",
      RTMFP_TC_CONNECT_CLOSED, err ? err->message : "session closed");
  return FALSE;
}

static gboolean drain_done (RtmfpTcClient * c);
static void close_stream (RtmfpTcClient * c, gint64 now);

void
rtmfp_tc_client_handle_timeout (RtmfpTcClient * c, gint64 now)
{
  g_return_if_fail (c != NULL);

  if (c->poll_at >= 0 && now >= c->poll_at)
    c->poll_at = -1;
  if (c->state > RTMFP_TC_CLIENT_STATE_OPENING &&
      c->state <= RTMFP_TC_CLIENT_STATE_STREAMING && !check_session_open (c))
    return;

  switch (c->state) {
    case RTMFP_TC_CLIENT_STATE_OPENING:
    case RTMFP_TC_CLIENT_STATE_CONNECTING:
    case RTMFP_TC_CLIENT_STATE_CREATING_STREAM:
    case RTMFP_TC_CLIENT_STATE_STARTING:
      if (c->state == RTMFP_TC_CLIENT_STATE_OPENING &&
          keying_silence (c, now))
        break;
      if (c->deadline >= 0 && now >= c->deadline &&
          c->state == RTMFP_TC_CLIENT_STATE_CONNECTING && pin_unproven (c))
        break;
      if (c->deadline >= 0 && now >= c->deadline)
        client_fail (c, RTMFP_TC_CLIENT_ERROR_TIMEOUT,
            "No answer from the server within %" G_GINT64_FORMAT
            " ms (during %s)", c->timeout_us / G_TIME_SPAN_MILLISECOND,
            phase_name (c->state));
      break;
    case RTMFP_TC_CLIENT_STATE_STREAMING:{
      guint i;
      for (i = 0; i < OUT_N && c->state == RTMFP_TC_CLIENT_STATE_STREAMING;
          i++)
        if (c->out[i].pending.length)
          pump (c, &c->out[i], out_kind (i), FALSE, now);
      break;
    }
    case RTMFP_TC_CLIENT_STATE_CLOSING:
      if (c->session && far_closed (c->session)) {
        /* the server closed the session once it saw us leave: done */
        g_debug ("client %p: session closed by the server", c);
        set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
      } else if (c->draining) {
        if (drain_done (c) || now >= c->drain_deadline) {
          g_debug ("client %p: media flows %s: closeStream", c,
              now < c->drain_deadline ? "complete" : "not complete in time");
          close_stream (c, now);
        }
      } else if (!c->session_closing) {
        if (send_flows_complete (c) || now >= c->close_deadline)
          close_session (c, now);
      } else if (now >= c->close_deadline) {
        g_debug ("client %p: no close acknowledgement, aborting", c);
        if (c->session)
          rtmfp_session_abort (c->session, now);
        set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
      }
      break;
    default:
      break;
  }
}

RtmfpTcClientState
rtmfp_tc_client_get_state (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, RTMFP_TC_CLIENT_STATE_FAILED);
  return c->state;
}

const GError *
rtmfp_tc_client_get_error (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->error;
}

RtmfpSession *
rtmfp_tc_client_get_session (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->session;
}

guint32
rtmfp_tc_client_get_stream_id (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->stream_id;
}

gint64
rtmfp_tc_client_get_peer_keepalive (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->peer_keepalive_us;
}

RtmfpHandshakeMode
rtmfp_tc_client_get_handshake (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, RTMFP_HANDSHAKE_RFC);
  return c->shape == RTMFP_HANDSHAKE_FLASH ? RTMFP_HANDSHAKE_FLASH :
      RTMFP_HANDSHAKE_RFC;
}

gboolean
rtmfp_tc_client_send (RtmfpTcClient * c, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize len, guint flags, gint64 now)
{
  GByteArray *m, *body = NULL;
  RtmfpTcMediaKind kind;
  OutFlow *o;
  Pending *p;
  guint idx;

  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);

  if (c->role != RTMFP_TC_CLIENT_ROLE_PUBLISH ||
      c->state != RTMFP_TC_CLIENT_STATE_STREAMING)
    return FALSE;
  switch (type) {
    case RTMFP_TC_MSG_AUDIO:
      idx = OUT_AUDIO;
      break;
    case RTMFP_TC_MSG_VIDEO:
      idx = OUT_VIDEO;
      break;
    case RTMFP_TC_MSG_DATA_AMF0:
      idx = OUT_STREAM;
      /* metadata is part of the stream state: reliable, and in the RTMP
       * publish form (@setDataFrame) so the server keeps it */
      if (rtmfp_flv_script_classify (payload, len) ==
          RTMFP_FLV_SCRIPT_ON_METADATA) {
        body = rtmfp_flv_script_prepend_set_data_frame (payload, len);
        payload = body->data;
        len = body->len;
      }
      flags |= RTMFP_TC_CLIENT_SEND_RELIABLE;
      break;
    default:
      return FALSE;
  }
  if (len > RTMFP_TC_MAX_PAYLOAD) {
    if (body)
      g_byte_array_unref (body);
    return FALSE;
  }
  kind = out_kind (idx);
  o = &c->out[idx];
  if (!o->flow) {
    /* 5.1.1: audio hints network arrival order */
    o->flow = open_stream_flow (c, idx == OUT_AUDIO);
    if (!o->flow) {
      if (body)
        g_byte_array_unref (body);
      return FALSE;
    }
  }

  m = g_byte_array_sized_new (RTMFP_TC_MESSAGE_HEADER_SIZE + len);
  rtmfp_tc_message_append (m, type, timestamp, payload, len);
  if (body)
    g_byte_array_unref (body);

  p = g_new0 (Pending, 1);
  p->msg = g_byte_array_free_to_bytes (m);
  if (flags & RTMFP_TC_CLIENT_SEND_RELIABLE) {
    p->deadline = RTMFP_NO_DEADLINE;
  } else if (idx == OUT_AUDIO) {
    p->deadline = now + c->audio_lifetime_us;
    p->wflags = RTMFP_WRITE_TIME_CRITICAL;
  } else {
    p->deadline = now + c->video_lifetime_us;
    p->wflags = RTMFP_WRITE_TIME_CRITICAL;
  }

  if (idx == OUT_VIDEO && (flags & RTMFP_TC_CLIENT_SEND_KEYFRAME) &&
      !(flags & RTMFP_TC_CLIENT_SEND_RELIABLE)) {
    /* Frames still held here depend on an older keyframe: drop them */
    GList *l = o->pending.head;
    while (l) {
      GList *next = l->next;
      Pending *q = l->data;
      if (q->deadline != RTMFP_NO_DEADLINE) {
        o->pending_bytes -= g_bytes_get_size (q->msg);
        g_queue_delete_link (&o->pending, l);
        pending_free (q);
        c->media[kind].messages_dropped++;
      }
      l = next;
    }
  }

  o->pending_bytes += g_bytes_get_size (p->msg);
  g_queue_push_tail (&o->pending, p);
  pump (c, o, kind, FALSE, now);
  return TRUE;
}

gboolean
rtmfp_tc_client_call (RtmfpTcClient * c, const gchar * name, guint n_args,
    RtmfpAmfNode ** args, RtmfpTcClientCallFunc func, gpointer user_data,
    gint64 now)
{
  RtmfpAmfNode **all;
  gdouble txn;
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (c != NULL && name != NULL, FALSE);

  if (c->control && c->state > RTMFP_TC_CLIENT_STATE_CONNECTING &&
      c->state <= RTMFP_TC_CLIENT_STATE_STREAMING) {
    all = g_new (RtmfpAmfNode *, n_args + 1);
    all[0] = rtmfp_amf_node_new_null ();
    for (i = 0; i < n_args; i++)
      all[i + 1] = args[i];
    txn = c->next_txn++;
    ok = send_command (c, c->control, name, txn, n_args + 1, all, now);
    g_free (all);
    if (ok) {
      Call *call = g_new0 (Call, 1);
      call->txn = txn;
      call->func = func;
      call->ud = user_data;
      g_queue_push_tail (&c->calls, call);
    }
    return ok;
  }
  for (i = 0; i < n_args; i++)
    rtmfp_amf_node_free (args[i]);
  return FALSE;
}

gboolean
rtmfp_tc_client_stream_command (RtmfpTcClient * c, const gchar * name,
    guint n_args, RtmfpAmfNode ** args, gint64 now)
{
  RtmfpAmfNode **all;
  gboolean ok;
  guint i;

  g_return_val_if_fail (c != NULL && name != NULL, FALSE);

  if (c->state != RTMFP_TC_CLIENT_STATE_STREAMING ||
      !c->out[OUT_STREAM].flow) {
    for (i = 0; i < n_args; i++)
      rtmfp_amf_node_free (args[i]);
    return FALSE;
  }
  all = g_new (RtmfpAmfNode *, n_args + 1);
  all[0] = rtmfp_amf_node_new_null ();
  for (i = 0; i < n_args; i++)
    all[i + 1] = args[i];
  ok = send_command (c, c->out[OUT_STREAM].flow, name, 0.0, n_args + 1, all,
      now);
  g_free (all);
  return ok;
}

gsize
rtmfp_tc_client_get_pending_bytes (RtmfpTcClient * c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->pending_bytes;
}

/* 5.2: the stream's flows are not ordered with one another; a Flow
 * Synchronization barrier on each of them makes closeStream (sent after it
 * on the stream flow) come after the last media message of every flow at
 * a server that honours it.  (Not all do, and deleteStream goes on the
 * control flow: the close waits for the media flows too.) */
static void
send_close_barrier (RtmfpTcClient * c, gint64 now)
{
  guint32 args[2];
  GByteArray *p, *m;
  guint i, n = 0;

  for (i = 0; i < OUT_N; i++)
    if (c->out[i].flow)
      n++;
  if (n < 2)
    return;
  args[0] = ++c->sync_id;
  args[1] = n;
  p = g_byte_array_new ();
  m = g_byte_array_new ();
  rtmfp_tc_user_control_append (p, RTMFP_TC_EVENT_FLOW_SYNC, args, 2);
  rtmfp_tc_message_append (m, RTMFP_TC_MSG_USER_CONTROL, 0, p->data, p->len);
  for (i = 0; i < OUT_N; i++)
    if (c->out[i].flow)
      flow_write (c, c->out[i].flow, m->data, m->len, RTMFP_NO_DEADLINE, 0,
          now);
  g_byte_array_unref (p);
  g_byte_array_unref (m);
}

static void
find_draining (gpointer data, gpointer user_data)
{
  gpointer *a = user_data;

  if (data != a[0] && rtmfp_session_is_draining (data))
    a[1] = data;
}

/* Is what the close waits for done: the publisher's media flows (audio,
 * video) complete (everything acknowledged or abandoned), and no other
 * session of the endpoint draining (a direct publisher's subscribers,
 * rtmfp_tc_peer_publisher_close)? */
static gboolean
drain_done (RtmfpTcClient * c)
{
  gpointer a[2] = { c->session, NULL };
  guint i;

  for (i = OUT_AUDIO; i <= OUT_VIDEO; i++) {
    RtmfpSendFlow *f = c->out[i].flow;
    if (f && !rtmfp_send_flow_is_complete (f) &&
        rtmfp_send_flow_get_state (f) != RTMFP_SEND_FLOW_CLOSED)
      return FALSE;
  }
  if (c->ep)
    rtmfp_endpoint_foreach_session (c->ep, find_draining, a);
  return a[1] == NULL;
}

/* closeStream and deleteStream, then the stream's sending flows are
 * closed; the session once they are complete and deleteStream is
 * acknowledged.  The NetConnection control flow is not closed but ends
 * with the session (5.3.6 allows either): MonaServer (2.770) kills its
 * session from inside the code that ends the control flow's receiver and
 * corrupts its heap (a use after free seen under valgrind), so ending it
 * crashes such servers, while a session close ends the NetConnection for
 * every server just the same. */
static void
close_stream (RtmfpTcClient * c, gint64 now)
{
  guint i;

  c->draining = FALSE;
  if (c->out[OUT_STREAM].flow) {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };
    send_command (c, c->out[OUT_STREAM].flow, "closeStream", 0.0, 1, a, now);
  }
  if (c->stream_id && c->control) {
    RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_number (c->stream_id)
    };
    send_command (c, c->control, "deleteStream", 0.0, 2, a, now);
  }
  c->close_deadline = now + c->close_timeout_us;
  for (i = 0; i < OUT_N; i++)
    if (c->out[i].flow)
      rtmfp_session_close_flow (c->session, c->out[i].flow, now);
  if (c->session && rtmfp_session_get_state (c->session) !=
      RTMFP_SESSION_OPEN)
    close_session (c, now);
}

void
rtmfp_tc_client_close (RtmfpTcClient * c, gint64 now)
{
  guint i;

  g_return_if_fail (c != NULL);

  switch (c->state) {
    case RTMFP_TC_CLIENT_STATE_IDLE:
      set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
      return;
    case RTMFP_TC_CLIENT_STATE_OPENING:
      if (c->session)
        rtmfp_session_abort (c->session, now);
      set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
      return;
    case RTMFP_TC_CLIENT_STATE_CLOSING:
    case RTMFP_TC_CLIENT_STATE_CLOSED:
    case RTMFP_TC_CLIENT_STATE_FAILED:
      return;
    default:
      break;
  }

  /* What was accepted goes out first (its deadlines still apply) */
  for (i = 0; i < OUT_N; i++)
    if (c->out[i].flow)
      pump (c, &c->out[i], out_kind (i), TRUE, now);
  drop_all_pending (c);
  set_state (c, RTMFP_TC_CLIENT_STATE_CLOSING);
  send_close_barrier (c, now);

  /* The media flows finish first (their last message carries FIN): flows
   * are not ordered with one another (5.2), so a closeStream or
   * deleteStream sent now could overtake the last frames, and a server
   * acting on it at once would drop them.  Bounded: past its lifetime
   * every frame is abandoned anyway. */
  for (i = OUT_AUDIO; i <= OUT_VIDEO; i++)
    if (c->out[i].flow)
      rtmfp_session_close_flow (c->session, c->out[i].flow, now);
  c->draining = !drain_done (c);
  if (c->draining && c->session &&
      rtmfp_session_get_state (c->session) == RTMFP_SESSION_OPEN) {
    c->drain_deadline = now + MIN (c->close_timeout_us,
        MAX (c->audio_lifetime_us, c->video_lifetime_us) +
        RTMFP_TC_CLIENT_DRAIN_MARGIN_US);
    c->close_deadline = c->drain_deadline;
    g_debug ("client %p: waiting for the media flows before closeStream",
        c);
    return;
  }
  close_stream (c, now);
}

void
rtmfp_tc_client_abort (RtmfpTcClient * c, gint64 now)
{
  gboolean finished;

  g_return_if_fail (c != NULL);

  drop_all_pending (c);
  finished = is_finished (c);
  if (c->session) {
    RtmfpSessionState ss = rtmfp_session_get_state (c->session);
    if (ss != RTMFP_SESSION_CLOSED && ss != RTMFP_SESSION_OPEN_FAILED) {
      /* the session's closed callback must not turn this into an error */
      if (!finished)
        c->state = RTMFP_TC_CLIENT_STATE_CLOSING;
      rtmfp_session_abort (c->session, now);
    }
  }
  if (!finished)
    set_state (c, RTMFP_TC_CLIENT_STATE_CLOSED);
}

void
rtmfp_tc_client_get_stats (RtmfpTcClient * c, RtmfpTcClientStats * st)
{
  guint i;

  g_return_if_fail (c != NULL);
  g_return_if_fail (st != NULL);

  memset (st, 0, sizeof *st);
  st->state = c->state;
  st->stream_id = c->stream_id;
  memcpy (st->media, c->media, sizeof st->media);
  if (c->session) {
    st->have_session = TRUE;
    rtmfp_session_get_stats (c->session, &st->session);
  }
  for (i = 0; i < OUT_N; i++) {
    RtmfpSendFlowStats fs;
    if (!c->out[i].flow)
      continue;
    rtmfp_send_flow_get_stats (c->out[i].flow, &fs);
    st->media[out_kind (i)].messages_abandoned += fs.messages_abandoned;
    st->n_send_flows++;
  }
  if (c->control)
    st->n_send_flows++;
  st->n_recv_flows = c->in_flows->len;
}
