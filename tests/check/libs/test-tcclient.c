/* NetConnection / NetStream client (rtmfptcclient, RFC 7425 5.3) on the
 * simulated network, against a small fake server written here with the
 * session API: what goes on the wire (commands, flow metadata and
 * associations), the state machine, errors naming status codes, deadlines
 * and abandonment under congestion, gaps on receive, flow sync barriers,
 * keepalive advice and hostile server input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpsimnet.h"
#include "rtmfptcclient.h"
#include "flvtag.h"

#define SEC G_USEC_PER_SEC
#define MS (G_USEC_PER_SEC / 1000)

#define SERVER_ADDR "10.0.0.1:1935"
#define CLIENT_ADDR "10.0.0.2:50000"
#define TC_URL "rtmfp://10.0.0.1/live"
#define STREAM_ID 5

/* ------------------------------------------------------------------ */
/* fake server                                                         */

typedef struct _Server Server;

typedef struct {
  Server *srv;
  RtmfpRecvFlow *flow;
  guint32 sid;
  gboolean rxi;
  gboolean assoc_to_control;    /* associated to our control send flow */
  guint64 gaps;
} SrvFlow;

typedef struct {
  guint8 type;
  guint32 ts;
  GBytes *payload;
  guint64 gap;
  gboolean rxi;
  guint64 flow_id;
} Rec;

struct _Server {
  RtmfpSimNet *net;
  RtmfpSimHost *host;
  RtmfpSession *session;
  gchar *app;                   /* the only app accepted */
  gboolean silent;              /* never answers connect */
  gboolean close_on_delete;     /* closes the session on deleteStream */
  gboolean play_not_found;

  RtmfpRecvFlow *client_control;
  RtmfpSendFlow *control;
  RtmfpSendFlow *stream_out;
  RtmfpSendFlow *stream_out2;
  GPtrArray *flows;             /* SrvFlow* */

  RtmfpAmfNode *connect_obj;
  GPtrArray *connect_extra;     /* RtmfpAmfNode*: connect args after obj */
  GPtrArray *peer_info;         /* gchar* */
  gboolean got_peer_info;
  GString *log;                 /* command names in order */
  gdouble deleted_sid;
  gchar *stream_name;
  gchar *publish_type;
  GPtrArray *media;             /* Rec* */
  gboolean session_closed;
  guint n_sessions;             /* NetConnections seen (one per session) */
};

static void
rec_free (Rec * r)
{
  g_bytes_unref (r->payload);
  g_free (r);
}

static gint64
sim_clock (gpointer data)
{
  return rtmfp_sim_net_now (data);
}

static void
srv_write (Server * s, RtmfpSendFlow * f, GByteArray * m, gint64 deadline)
{
  g_assert_nonnull (f);
  rtmfp_session_write (s->session, f, m->data, m->len, deadline, 0,
      rtmfp_sim_net_now (s->net));
}

static void
srv_command (Server * s, RtmfpSendFlow * f, const gchar * name, gdouble txn,
    RtmfpAmfNode * a1, RtmfpAmfNode * a2)
{
  GByteArray *m = g_byte_array_new ();
  const RtmfpAmfNode *args[2] = { a1, a2 };

  rtmfp_tc_command_append_with_args (m, 0, name, txn, a2 ? 2 : (a1 ? 1 : 0),
      args);
  srv_write (s, f, m, RTMFP_NO_DEADLINE);
  g_byte_array_unref (m);
  rtmfp_amf_node_free (a1);
  rtmfp_amf_node_free (a2);
}

static void
srv_status (Server * s, RtmfpSendFlow * f, const gchar * level,
    const gchar * code)
{
  GByteArray *m = g_byte_array_new ();
  RtmfpAmfNode *n = rtmfp_amf_node_new_null ();
  RtmfpAmfNode *info = rtmfp_tc_status_new (level, code, "fake server");

  rtmfp_tc_command_append (m, 0, "onStatus", 0.0, n, info, NULL);
  srv_write (s, f, m, RTMFP_NO_DEADLINE);
  g_byte_array_unref (m);
  rtmfp_amf_node_free (n);
  rtmfp_amf_node_free (info);
}

static void
srv_user_control (Server * s, RtmfpSendFlow * f, guint16 event,
    guint32 a0, guint32 a1, guint n)
{
  GByteArray *p = g_byte_array_new (), *m = g_byte_array_new ();
  guint32 args[2] = { a0, a1 };

  rtmfp_tc_user_control_append (p, event, args, n);
  rtmfp_tc_message_append (m, RTMFP_TC_MSG_USER_CONTROL, 0, p->data, p->len);
  srv_write (s, f, m, RTMFP_NO_DEADLINE);
  g_byte_array_unref (p);
  g_byte_array_unref (m);
}

static RtmfpSendFlow *
srv_open_flow (Server * s, guint32 sid, RtmfpRecvFlow * assoc)
{
  GByteArray *md = g_byte_array_new ();
  RtmfpSendFlow *f;

  rtmfp_tc_metadata_append (md, sid, FALSE);
  f = rtmfp_session_open_flow (s->session, md->data, md->len, assoc);
  g_byte_array_unref (md);
  g_assert_nonnull (f);
  return f;
}

static void
srv_handle_command (Server * s, SrvFlow * sf, const RtmfpTcMessage * msg)
{
  gchar *name = NULL;
  gdouble txn = -1;
  GPtrArray *args = rtmfp_tc_command_parse (msg, &name, &txn);
  guint i;

  g_assert_nonnull (args);
  g_string_append_printf (s->log, "%s ", name);

  if (g_str_equal (name, "connect")) {
    const gchar *app;
    g_assert_cmpuint (sf->sid, ==, 0);
    g_assert_cmpfloat (txn, ==, 1.0);
    g_assert_cmpuint (args->len, >=, 1);
    if (s->connect_obj)
      rtmfp_amf_node_free (s->connect_obj);     /* a client reconnected */
    s->connect_obj = rtmfp_amf_node_copy (g_ptr_array_index (args, 0));
    for (i = 1; i < args->len; i++)
      g_ptr_array_add (s->connect_extra,
          rtmfp_amf_node_copy (g_ptr_array_index (args, i)));
    if (s->silent)
      goto done;
    /* 5.3.2: return control flow associated to the client's */
    s->control = srv_open_flow (s, 0, sf->flow);
    /* 5.3.4 keepalive advice: 7 s to us, 9 s to peers */
    srv_user_control (s, s->control, RTMFP_TC_EVENT_SET_KEEPALIVE, 7000, 9000,
        2);
    app = rtmfp_amf_node_peek_field_string (s->connect_obj, "app", NULL);
    if (app && g_str_equal (app, s->app)) {
      RtmfpAmfNode *props = rtmfp_amf_node_new_object ();
      srv_command (s, s->control, "_result", txn, props,
          rtmfp_tc_status_new ("status", RTMFP_TC_CONNECT_SUCCESS, "ok"));
    } else {
      srv_command (s, s->control, "_error", txn, rtmfp_amf_node_new_null (),
          rtmfp_tc_status_new ("error", RTMFP_TC_CONNECT_REJECTED,
              "unknown application"));
    }
  } else if (g_str_equal (name, "setPeerInfo")) {
    s->got_peer_info = TRUE;
    for (i = 1; i < args->len; i++)
      g_ptr_array_add (s->peer_info,
          rtmfp_amf_node_copy_string (g_ptr_array_index (args, i), NULL));
  } else if (g_str_equal (name, "createStream")) {
    g_assert_cmpfloat (txn, ==, 2.0);
    srv_command (s, s->control, "_result", txn, rtmfp_amf_node_new_null (),
        rtmfp_amf_node_new_number (STREAM_ID));
  } else if (g_str_equal (name, "publish") || g_str_equal (name, "play")) {
    gboolean publish = g_str_equal (name, "publish");
    g_assert_cmpuint (sf->sid, ==, STREAM_ID);
    /* 5.3.5.1: the client's stream flow answers our control flow */
    g_assert_true (sf->assoc_to_control);
    g_assert_cmpuint (args->len, >=, 2);
    g_free (s->stream_name);
    s->stream_name = rtmfp_amf_node_copy_string (g_ptr_array_index (args, 1),
        NULL);
    if (publish && args->len >= 3) {
      g_free (s->publish_type);
      s->publish_type =
          rtmfp_amf_node_copy_string (g_ptr_array_index (args, 2), NULL);
    }
    /* 5.3.5.2: stream flows associated to the client's control flow */
    s->stream_out = srv_open_flow (s, STREAM_ID, s->client_control);
    srv_user_control (s, s->stream_out, RTMFP_TC_EVENT_STREAM_BEGIN,
        STREAM_ID, 0, 1);
    if (publish && g_str_equal (s->stream_name, "bad"))
      srv_status (s, s->stream_out, "error", RTMFP_TC_PUBLISH_BADNAME);
    else if (publish)
      srv_status (s, s->stream_out, "status", RTMFP_TC_PUBLISH_START);
    else if (s->play_not_found)
      srv_status (s, s->stream_out, "error", RTMFP_TC_PLAY_STREAMNOTFOUND);
    else {
      srv_status (s, s->stream_out, "status", RTMFP_TC_PLAY_RESET);
      srv_status (s, s->stream_out, "status", RTMFP_TC_PLAY_START);
    }
  } else if (g_str_equal (name, "deleteStream")) {
    g_assert_cmpuint (sf->sid, ==, 0);
    g_assert_cmpuint (args->len, ==, 2);
    s->deleted_sid = rtmfp_amf_node_get_number (g_ptr_array_index (args, 1));
    if (s->close_on_delete)
      rtmfp_session_close (s->session, rtmfp_sim_net_now (s->net));
  }
done:
  g_free (name);
  g_ptr_array_unref (args);
}

static void
srv_on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  SrvFlow *sf = ud;
  Server *s = sf->srv;
  RtmfpTcMessage msg;

  g_assert_true (rtmfp_tc_message_parse (data, len, &msg));
  sf->gaps += gap;
  if (msg.type == RTMFP_TC_MSG_COMMAND_AMF0) {
    srv_handle_command (s, sf, &msg);
  } else {
    Rec *r = g_new0 (Rec, 1);
    r->type = msg.type;
    r->ts = msg.timestamp;
    r->payload = g_bytes_new (msg.payload, msg.len);
    r->gap = gap;
    r->rxi = sf->rxi;
    r->flow_id = rtmfp_recv_flow_get_id (f);
    g_assert_cmpuint (sf->sid, ==, STREAM_ID);
    g_assert_true (sf->assoc_to_control);
    g_ptr_array_add (s->media, r);
  }
}

static gboolean
srv_flow_opened (RtmfpEndpoint * ep, RtmfpSession * sess, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Server *s = ud;
  const guint8 *md;
  gsize len;
  SrvFlow *sf = g_new0 (SrvFlow, 1);

  md = rtmfp_recv_flow_get_metadata (f, &len);
  g_assert_true (rtmfp_tc_metadata_parse (md, len, &sf->sid, &sf->rxi));
  sf->srv = s;
  sf->flow = f;
  sf->assoc_to_control = assoc != NULL && assoc == s->control;
  g_ptr_array_add (s->flows, sf);
  if (sf->sid == 0 && !assoc && sess != s->session) {
    /* a new NetConnection (a client that reconnected): serve that one */
    if (s->session)
      rtmfp_session_unref (s->session);
    s->session = rtmfp_session_ref (sess);
    s->control = s->stream_out = s->stream_out2 = NULL;
    s->n_sessions++;
  }
  if (!s->session)
    s->session = rtmfp_session_ref (sess);
  if (sf->sid == 0 && !assoc) {
    /* 5.3.1: the client's NetConnection control flow: TC 04 00 */
    g_assert_cmpuint (len, ==, 4);
    g_assert_cmpmem (md, 4, "TC\x04\x00", 4);
    s->client_control = f;
  }
  rtmfp_recv_flow_set_delivery (f, FALSE, srv_on_message, NULL, sf);
  return TRUE;
}

static void
srv_session_closed (RtmfpEndpoint * ep, RtmfpSession * sess, gpointer ud)
{
  Server *s = ud;
  if (sess == s->session)
    s->session_closed = TRUE;
}

static const RtmfpEndpointCallbacks server_callbacks = {
  .flow_opened = srv_flow_opened,
  .session_closed = srv_session_closed,
};

/* The next server_new's identity: ephemeral (FALSE, like rtmfp-server
 * without --identity) or static keys (rtmfp-server --identity) */
static gboolean server_static;

static Server *
server_new (RtmfpSimNet * net, const gchar * app)
{
  static const guint groups[] = { 14, 5, 2 };
  RtmfpEndpointConfig cfg;
  Server *s = g_new0 (Server, 1);

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = server_static ? rtmfp_identity_new_server_static (groups, 3)
      : rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
  cfg.accept_sessions = TRUE;
  cfg.keepalive_us = 0;
  cfg.idle_timeout_us = 0;
  s->net = net;
  s->app = g_strdup (app);
  s->flows = g_ptr_array_new_with_free_func (g_free);
  s->media = g_ptr_array_new_with_free_func ((GDestroyNotify) rec_free);
  s->peer_info = g_ptr_array_new_with_free_func (g_free);
  s->log = g_string_new (NULL);
  s->connect_extra = g_ptr_array_new_with_free_func ((GDestroyNotify)
      rtmfp_amf_node_free);
  s->host = rtmfp_sim_net_add_host (net, SERVER_ADDR, &cfg, &server_callbacks,
      s);
  rtmfp_identity_unref (cfg.identity);
  return s;
}

static void
server_free (Server * s)
{
  if (s->session)
    rtmfp_session_unref (s->session);
  g_ptr_array_unref (s->flows);
  g_ptr_array_unref (s->media);
  g_ptr_array_unref (s->peer_info);
  g_string_free (s->log, TRUE);
  if (s->connect_obj)
    rtmfp_amf_node_free (s->connect_obj);
  g_ptr_array_unref (s->connect_extra);
  g_free (s->stream_name);
  g_free (s->publish_type);
  g_free (s->app);
  g_free (s);
}

/* ------------------------------------------------------------------ */
/* client side                                                         */

typedef struct {
  guint8 type;
  guint32 ts;
  guint64 gap;
  GBytes *payload;
} Got;

typedef struct {
  RtmfpSimNet *net;
  Server *srv;
  RtmfpSimHost *host;
  RtmfpTcClient *c;
  GError *error;
  guint n_errors;
  GString *states;
  GString *statuses;
  GPtrArray *got;               /* Got* */
  guint n_writable;
  guint stream_begin;
  guint8 pin[RTMFP_FINGERPRINT_SIZE];   /* pinned server fingerprint */
} Fx;

static void
got_free (Got * g)
{
  g_bytes_unref (g->payload);
  g_free (g);
}

static void
cb_state (RtmfpTcClient * c, RtmfpTcClientState st, gpointer ud)
{
  Fx *fx = ud;
  g_string_append_printf (fx->states, "%s ",
      rtmfp_tc_client_state_get_nick (st));
}

static void
cb_error (RtmfpTcClient * c, const GError * err, gpointer ud)
{
  Fx *fx = ud;
  fx->n_errors++;
  g_clear_error (&fx->error);
  fx->error = g_error_copy (err);
}

static void
cb_status (RtmfpTcClient * c, const gchar * level, const gchar * code,
    const gchar * desc, gpointer ud)
{
  Fx *fx = ud;
  g_string_append_printf (fx->statuses, "%s ", code);
}

static void
cb_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Fx *fx = ud;
  Got *g = g_new0 (Got, 1);
  g->type = msg->type;
  g->ts = msg->timestamp;
  g->gap = gap;
  g->payload = g_bytes_new (msg->payload, msg->len);
  g_ptr_array_add (fx->got, g);
}

static void
cb_stream_event (RtmfpTcClient * c, guint16 event, gpointer ud)
{
  Fx *fx = ud;
  if (event == RTMFP_TC_EVENT_STREAM_BEGIN)
    fx->stream_begin++;
}

static void
cb_writable (RtmfpTcClient * c, gpointer ud)
{
  Fx *fx = ud;
  fx->n_writable++;
}

static const RtmfpTcClientCallbacks client_callbacks = {
  .state_changed = cb_state,
  .error = cb_error,
  .status = cb_status,
  .message = cb_message,
  .stream_event = cb_stream_event,
  .writable = cb_writable,
};

/* endpoint callbacks forwarded to fx->c */
#define TC_EP (rtmfp_tc_client_get_endpoint_callbacks ())

static void
fx_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  TC_EP->session_opened (ep, s, ((Fx *) ud)->c);
}

static void
fx_session_open_failed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  TC_EP->session_open_failed (ep, s, ((Fx *) ud)->c);
}

static void
fx_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  TC_EP->session_closed (ep, s, ((Fx *) ud)->c);
}

static gboolean
fx_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  return TC_EP->flow_opened (ep, s, f, assoc, ((Fx *) ud)->c);
}

static void
fx_send_flow_exception (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, guint64 code, gpointer ud)
{
  TC_EP->send_flow_exception (ep, s, f, code, ((Fx *) ud)->c);
}

static void
fx_send_flow_writable (RtmfpEndpoint * ep, RtmfpSession * s,
    RtmfpSendFlow * f, gpointer ud)
{
  if (TC_EP->send_flow_writable)
    TC_EP->send_flow_writable (ep, s, f, ((Fx *) ud)->c);
}

static const RtmfpEndpointCallbacks fx_endpoint_callbacks = {
  .session_opened = fx_session_opened,
  .session_open_failed = fx_session_open_failed,
  .session_closed = fx_session_closed,
  .flow_opened = fx_flow_opened,
  .send_flow_exception = fx_send_flow_exception,
  .send_flow_writable = fx_send_flow_writable,
};

/* Fingerprint pinning for the next fx_new*: 0 none, 1 the server's own
 * fingerprint, 2 another one (one bit flipped) */
static gint pin_mode;

static Fx *
fx_new_auth (guint32 seed, const gchar * server_app, RtmfpTcClientRole role,
    const gchar * app, const gchar * stream, gint64 timeout,
    const gchar * auth_user, const gchar * auth_token)
{
  static const guint groups[] = { 14 };
  static const gchar *const peer_info[] = { "192.0.2.129:50001",
    "[2001:db8:1::2]:50002", NULL
  };
  Fx *fx = g_new0 (Fx, 1);
  RtmfpTcClientConfig cfg;
  RtmfpEndpointConfig ecfg;
  gchar *tc_url = g_strdup_printf ("rtmfp://10.0.0.1/%s", app);

  fx->net = rtmfp_sim_net_new (seed);
  fx->srv = server_new (fx->net, server_app);
  fx->states = g_string_new (NULL);
  fx->statuses = g_string_new (NULL);
  fx->got = g_ptr_array_new_with_free_func ((GDestroyNotify) got_free);

  rtmfp_tc_client_config_init (&cfg);
  cfg.role = role;
  cfg.tc_url = tc_url;
  cfg.app = app;
  cfg.stream = stream;
  cfg.peer_info = peer_info;
  cfg.timeout_us = timeout;
  cfg.auth_user = auth_user;
  cfg.auth_token = auth_token;
  if (pin_mode) {
    RtmfpEndpoint *sep = rtmfp_sim_host_get_endpoint (fx->srv->host);

    memcpy (fx->pin, rtmfp_identity_get_fingerprint
        (rtmfp_endpoint_get_identity (sep)), RTMFP_FINGERPRINT_SIZE);
    if (pin_mode == 2)
      fx->pin[RTMFP_FINGERPRINT_SIZE - 1] ^= 0x01;
    cfg.server_fingerprint = fx->pin;
  }
  fx->c = rtmfp_tc_client_new (&cfg, &client_callbacks, fx, sim_clock,
      fx->net);
  g_free (tc_url);

  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = rtmfp_identity_new_static (groups, 1);
  ecfg.keepalive_us = 0;
  ecfg.idle_timeout_us = 0;
  ecfg.open_timeout_us = 95 * SEC;
  /* through fx, to the client of the moment (as rtmfpsrc / rtmfpsink do,
   * so that a test can replace the client after a failure) */
  fx->host = rtmfp_sim_net_add_host (fx->net, CLIENT_ADDR, &ecfg,
      &fx_endpoint_callbacks, fx);
  rtmfp_identity_unref (ecfg.identity);
  return fx;
}

static Fx *
fx_new (guint32 seed, const gchar * server_app, RtmfpTcClientRole role,
    const gchar * app, const gchar * stream, gint64 timeout)
{
  return fx_new_auth (seed, server_app, role, app, stream, timeout, NULL,
      NULL);
}

static void
fx_free (Fx * fx)
{
  rtmfp_tc_client_free (fx->c);
  rtmfp_sim_net_free (fx->net);
  server_free (fx->srv);
  g_clear_error (&fx->error);
  g_string_free (fx->states, TRUE);
  g_string_free (fx->statuses, TRUE);
  g_ptr_array_unref (fx->got);
  g_free (fx);
}

/* The simulated network knows only endpoint timers: run it in slices and
 * serve the client's own timer between them. */
static gboolean
drive_until (Fx * fx, RtmfpSimCondition cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (fx->net) + max_us;

  for (;;) {
    gint64 now = rtmfp_sim_net_now (fx->net);
    gint64 t = rtmfp_tc_client_next_timeout (fx->c);
    gint64 slice = MIN (end - now, 10 * MS);

    if (cond && cond (ud))
      return TRUE;
    if (t >= 0 && t <= now) {
      rtmfp_tc_client_handle_timeout (fx->c, now);
      rtmfp_sim_net_kick (fx->net);
      continue;
    }
    if (slice <= 0)
      return cond ? cond (ud) : TRUE;
    if (t >= 0)
      slice = MIN (slice, t - now);
    if (rtmfp_sim_net_run_until (fx->net, cond, ud, MAX (slice, 1)))
      return TRUE;
  }
}

static gboolean
is_streaming (gpointer ud)
{
  Fx *fx = ud;
  return rtmfp_tc_client_get_state (fx->c) == RTMFP_TC_CLIENT_STATE_STREAMING;
}

static gboolean
is_finished (gpointer ud)
{
  Fx *fx = ud;
  RtmfpTcClientState st = rtmfp_tc_client_get_state (fx->c);
  return st == RTMFP_TC_CLIENT_STATE_FAILED ||
      st == RTMFP_TC_CLIENT_STATE_CLOSED;
}

static void
fx_start (Fx * fx)
{
  RtmfpAddr to;

  g_assert_true (rtmfp_addr_from_string (&to, SERVER_ADDR, 0));
  g_assert_true (rtmfp_tc_client_start (fx->c,
          rtmfp_sim_host_get_endpoint (fx->host), &to, 1,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
}

static void
fx_send (Fx * fx, guint8 type, guint32 ts, gsize len, guint8 first,
    guint flags)
{
  guint8 *p = g_malloc (len);
  gsize i;

  for (i = 0; i < len; i++)
    p[i] = (guint8) (ts * 7 + i);
  p[0] = first;
  g_assert_true (rtmfp_tc_client_send (fx->c, type, ts, p, len, flags,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  g_free (p);
}

/* ------------------------------------------------------------------ */
/* tests                                                               */

typedef struct {
  Fx *fx;
  guint n;
} CountCond;

static gboolean
srv_has_media (gpointer ud)
{
  CountCond *cc = ud;
  return cc->fx->srv->media->len >= cc->n;
}

static gboolean
srv_session_gone (gpointer ud)
{
  Fx *fx = ud;
  /* the far end lingers in FARCLOSE_LINGER once it got our close */
  return fx->srv->session && rtmfp_session_get_state (fx->srv->session) !=
      RTMFP_SESSION_OPEN && is_finished (fx);
}

static void
test_publish (void)
{
  Fx *fx = fx_new (1, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  const RtmfpAmfNode *o;
  gdouble num;
  const gchar *s;
  GByteArray *meta;
  RtmfpAmfNode *n;
  CountCond cc = { fx, 0 };
  RtmfpTcClientStats st;
  guint i, n_audio = 0, n_video = 0;
  Rec *r;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  g_assert_cmpstr (fx->states->str, ==,
      "opening connecting creating-stream starting streaming ");
  g_assert_cmpstr (fx->srv->log->str, ==,
      "connect setPeerInfo createStream publish ");
  g_assert_cmpuint (rtmfp_tc_client_get_stream_id (fx->c), ==, STREAM_ID);

  /* the usual connect command object */
  o = fx->srv->connect_obj;
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (o, "app", NULL), ==,
      "live");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (o, "tcUrl", NULL), ==,
      TC_URL);
  s = rtmfp_amf_node_peek_field_string (o, "flashVer", NULL);
  g_assert_nonnull (s);
  g_assert_true (rtmfp_amf_node_get_field_number (o, "objectEncoding", &num));
  g_assert_cmpfloat (num, ==, 0);
  /* setPeerInfo lists the configured addresses */
  g_assert_true (fx->srv->got_peer_info);
  g_assert_cmpuint (fx->srv->peer_info->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fx->srv->peer_info, 1), ==,
      "[2001:db8:1::2]:50002");
  g_assert_cmpstr (fx->srv->stream_name, ==, "cam1");
  g_assert_cmpstr (fx->srv->publish_type, ==, "live");
  g_assert_cmpstr (fx->statuses->str, ==,
      RTMFP_TC_CONNECT_SUCCESS " " RTMFP_TC_PUBLISH_START " ");
  /* keepalive advice: the peer period is kept for P2P sessions */
  g_assert_cmpint (rtmfp_tc_client_get_peer_keepalive (fx->c), ==, 9 * SEC);

  /* metadata goes out as @setDataFrame onMetaData */
  meta = g_byte_array_new ();
  n = rtmfp_amf_node_new_string ("onMetaData", -1);
  rtmfp_amf_node_serialize (n, meta);
  rtmfp_amf_node_free (n);
  n = rtmfp_amf_node_new_ecma_array ();
  rtmfp_amf_node_append_field_number (n, "width", 320);
  rtmfp_amf_node_serialize (n, meta);
  rtmfp_amf_node_free (n);
  g_assert_true (rtmfp_tc_client_send (fx->c, RTMFP_TC_MSG_DATA_AMF0, 0,
          meta->data, meta->len, 0, rtmfp_sim_net_now (fx->net)));
  /* AVC sequence header (reliable), Speex, then frames */
  fx_send (fx, RTMFP_TC_MSG_VIDEO, 0, 40, 0x17, RTMFP_TC_CLIENT_SEND_RELIABLE);
  for (i = 0; i < 60; i++) {
    fx_send (fx, RTMFP_TC_MSG_AUDIO, i * 20, 60, 0xb2, 0);
    if (i % 2 == 0)
      fx_send (fx, RTMFP_TC_MSG_VIDEO, i * 20, 3000 + i, i % 30 ? 0x27 : 0x17,
          i % 30 ? 0 : RTMFP_TC_CLIENT_SEND_KEYFRAME);
    rtmfp_sim_net_run_for (fx->net, 20 * MS);
  }
  cc.n = 2 + 60 + 30;
  g_assert_true (drive_until (fx, srv_has_media, &cc, 5 * SEC));
  g_assert_cmpuint (fx->srv->media->len, ==, cc.n);

  r = g_ptr_array_index (fx->srv->media, 0);
  g_assert_cmpuint (r->type, ==, RTMFP_TC_MSG_DATA_AMF0);
  g_assert_cmpuint (rtmfp_flv_script_classify (g_bytes_get_data (r->payload,
              NULL), g_bytes_get_size (r->payload)), ==,
      RTMFP_FLV_SCRIPT_SET_DATA_FRAME);
  g_assert_true (rtmfp_flv_script_is_metadata (g_bytes_get_data (r->payload,
              NULL), g_bytes_get_size (r->payload)));
  g_assert_false (r->rxi);
  /* each kind on its own flow; audio hints arrival order (RXI) */
  for (i = 0; i < fx->srv->media->len; i++) {
    guint32 expect_ts;
    r = g_ptr_array_index (fx->srv->media, i);
    g_assert_cmpuint (r->gap, ==, 0);
    if (r->type == RTMFP_TC_MSG_AUDIO) {
      g_assert_true (r->rxi);
      expect_ts = n_audio * 20;
      g_assert_cmpuint (r->ts, ==, expect_ts);
      g_assert_cmpuint (g_bytes_get_size (r->payload), ==, 60);
      n_audio++;
    } else if (r->type == RTMFP_TC_MSG_VIDEO) {
      g_assert_false (r->rxi);
      expect_ts = n_video == 0 ? 0 : (n_video - 1) * 40;
      g_assert_cmpuint (r->ts, ==, expect_ts);
      n_video++;
    }
  }
  g_assert_cmpuint (n_audio, ==, 60);
  g_assert_cmpuint (n_video, ==, 31);

  rtmfp_tc_client_get_stats (fx->c, &st);
  g_assert_true (st.have_session);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_AUDIO].messages_sent, ==, 60);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].messages_sent, ==, 31);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_DATA].messages_sent, ==, 1);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].messages_abandoned, ==, 0);
  g_assert_cmpuint (st.n_send_flows, ==, 4);
  g_assert_cmpint (st.session.srtt_us, >, 0);

  /* orderly close: closeStream, deleteStream, then the session */
  {
    gint64 t0 = rtmfp_sim_net_now (fx->net);
    rtmfp_tc_client_close (fx->c, rtmfp_sim_net_now (fx->net));
    rtmfp_sim_net_kick (fx->net);
    g_assert_true (drive_until (fx, srv_session_gone, fx, 10 * SEC));
    /* flows acknowledged, then Close / Close Ack: a few round trips */
    g_assert_cmpint (rtmfp_sim_net_now (fx->net) - t0, <, 1 * SEC);
  }
  g_assert_cmpint (rtmfp_tc_client_get_state (fx->c), ==,
      RTMFP_TC_CLIENT_STATE_CLOSED);
  g_assert_cmpstr (fx->srv->log->str, ==,
      "connect setPeerInfo createStream publish closeStream deleteStream ");
  g_assert_cmpfloat (fx->srv->deleted_sid, ==, STREAM_ID);
  g_assert_cmpuint (fx->n_errors, ==, 0);
  /* 5.2: a sync barrier on each of the 3 stream flows, after the media */
  {
    guint n_sync = 0;
    GHashTable *flows = g_hash_table_new (NULL, NULL);
    for (i = cc.n; i < fx->srv->media->len; i++) {
      guint16 ev;
      guint32 a[2];
      guint na;
      r = g_ptr_array_index (fx->srv->media, i);
      g_assert_cmpuint (r->type, ==, RTMFP_TC_MSG_USER_CONTROL);
      g_assert_true (rtmfp_tc_user_control_parse (g_bytes_get_data
              (r->payload, NULL), g_bytes_get_size (r->payload), &ev, a,
              &na));
      g_assert_cmpuint (ev, ==, RTMFP_TC_EVENT_FLOW_SYNC);
      g_assert_cmpuint (na, ==, 2);
      g_assert_cmpuint (a[1], ==, 3);
      g_hash_table_add (flows, GSIZE_TO_POINTER (r->flow_id));
      n_sync++;
    }
    g_assert_cmpuint (n_sync, ==, 3);
    g_assert_cmpuint (g_hash_table_size (flows), ==, 3);
    g_hash_table_unref (flows);
  }
  g_byte_array_unref (meta);
  fx_free (fx);
}

static void
test_connect_rejected (void)
{
  Fx *fx = fx_new (2, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "other", "cam1",
      10 * SEC);

  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 5 * SEC));
  g_assert_cmpint (rtmfp_tc_client_get_state (fx->c), ==,
      RTMFP_TC_CLIENT_STATE_FAILED);
  g_assert_cmpuint (fx->n_errors, ==, 1);
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_REJECTED);
  g_assert_true (g_str_has_prefix (fx->error->message,
          RTMFP_TC_CONNECT_REJECTED ": unknown application"));
  g_assert_cmpstr (fx->srv->log->str, ==, "connect ");
  /* the session is closed after a rejection */
  g_assert_true (drive_until (fx, srv_session_gone, fx, 10 * SEC));
  fx_free (fx);
}

/* Authentication, tcserver style: the token (or user name, then token) is
 * a string argument of connect after the command object; none by
 * default */
static void
test_connect_auth_token (void)
{
  static const gchar token[] =
      "df41d9cbe74f325250d6e0346dcd9e95fb837892f4a927c27cecf2664d639786";
  static const struct {
    const gchar *user, *token;
    guint n;
  } cases[] = {
    {NULL, NULL, 0},
    {NULL, token, 1},
    {"mike", token, 2},
    {"mike", NULL, 0},          /* a user name alone is not sent */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    Fx *fx = fx_new_auth (40 + i, "live/12345", RTMFP_TC_CLIENT_ROLE_PUBLISH,
        "live/12345", "cam1", 10 * SEC, cases[i].user, cases[i].token);
    GPtrArray *x;

    fx_start (fx);
    g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
    g_assert_nonnull (fx->srv->connect_obj);
    g_assert_cmpint (rtmfp_amf_node_get_type (fx->srv->connect_obj), ==,
        RTMFP_AMF_TYPE_OBJECT);
    x = fx->srv->connect_extra;
    g_assert_cmpuint (x->len, ==, cases[i].n);
    if (cases[i].n == 2) {
      g_assert_cmpint (rtmfp_amf_node_get_type (x->pdata[0]), ==,
          RTMFP_AMF_TYPE_STRING);
      g_assert_cmpstr (rtmfp_amf_node_peek_string (x->pdata[0], NULL), ==,
          "mike");
    }
    if (cases[i].n > 0) {
      g_assert_cmpint (rtmfp_amf_node_get_type (x->pdata[x->len - 1]), ==,
          RTMFP_AMF_TYPE_STRING);
      g_assert_cmpstr (rtmfp_amf_node_peek_string (x->pdata[x->len - 1],
              NULL), ==, token);
    }
    fx_free (fx);
  }
}

/* A pinned client that failed at the RHello: FINGERPRINT naming `why`,
 * and no session at the server (nothing but the IHello reached it) */
static void
assert_pin_refused (Fx * fx, const gchar * why)
{
  RtmfpEndpointStats st;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 5 * SEC));
  g_assert_cmpint (rtmfp_tc_client_get_state (fx->c), ==,
      RTMFP_TC_CLIENT_STATE_FAILED);
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_FINGERPRINT);
  g_assert_nonnull (strstr (fx->error->message, why));
  g_assert_cmpstr (fx->srv->log->str, ==, "");
  g_assert_null (fx->srv->session);
  rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint (fx->srv->host),
      &st);
  g_assert_cmpuint (st.sessions_opened, ==, 0);
}

/* Fingerprint pinning needs a server with static keys: another
 * fingerprint, or the right one on an ephemeral certificate (which anyone
 * can replay), fail before the IIKeying; the right static server streams,
 * keyed with its static key */
static void
test_fingerprint_pinning (void)
{
  const guint8 *cert;
  gsize cert_len;
  RtmfpCertInfo ci;
  Fx *fx;

  pin_mode = 2;
  server_static = TRUE;
  fx = fx_new (60, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  assert_pin_refused (fx, "fingerprint");
  fx_free (fx);

  pin_mode = 1;
  server_static = FALSE;
  fx = fx_new (62, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  assert_pin_refused (fx, "no static Diffie-Hellman key");
  fx_free (fx);

  pin_mode = 1;
  server_static = TRUE;
  fx = fx_new (61, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  pin_mode = 0;
  server_static = FALSE;
  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  g_assert_null (fx->error);
  cert = rtmfp_session_get_far_certificate (rtmfp_tc_client_get_session
      (fx->c), &cert_len);
  g_assert_true (rtmfp_cert_parse (cert, cert_len, &ci));
  g_assert_cmpuint (ci.n_static_keys, ==, 3);
  fx_free (fx);
}

static void
test_publish_bad_name (void)
{
  Fx *fx = fx_new (3, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "bad",
      10 * SEC);

  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 5 * SEC));
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_STREAM);
  g_assert_true (g_str_has_prefix (fx->error->message,
          RTMFP_TC_PUBLISH_BADNAME ":"));
  g_assert_false (rtmfp_tc_client_send (fx->c, RTMFP_TC_MSG_AUDIO, 0,
          (const guint8 *) "\xb2", 1, 0, rtmfp_sim_net_now (fx->net)));
  fx_free (fx);
}

static void
test_play_not_found (void)
{
  Fx *fx = fx_new (4, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "nothing",
      10 * SEC);

  fx->srv->play_not_found = TRUE;
  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 5 * SEC));
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_STREAM);
  g_assert_true (g_str_has_prefix (fx->error->message,
          RTMFP_TC_PLAY_STREAMNOTFOUND ":"));
  fx_free (fx);
}

static void
test_unreachable (void)
{
  Fx *fx = fx_new (5, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "x",
      3 * SEC);
  gint64 t0;

  rtmfp_sim_host_set_blackhole (fx->srv->host, TRUE);
  t0 = rtmfp_sim_net_now (fx->net);
  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 20 * SEC));
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (fx->error->message, "handshake"));
  /* exactly at the timeout, not before */
  g_assert_cmpint (rtmfp_sim_net_now (fx->net) - t0, >=, 3 * SEC);
  g_assert_cmpint (rtmfp_sim_net_now (fx->net) - t0, <, 3 * SEC + 50 * MS);
  fx_free (fx);
}

static void
test_server_silent (void)
{
  Fx *fx = fx_new (6, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "x",
      2 * SEC);

  fx->srv->silent = TRUE;
  fx_start (fx);
  g_assert_true (drive_until (fx, is_finished, fx, 20 * SEC));
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (fx->error->message, "connect"));
  g_assert_cmpstr (fx->srv->log->str, ==, "connect ");
  fx_free (fx);
}

static gboolean
got_n (gpointer ud)
{
  CountCond *cc = ud;
  return cc->fx->got->len >= cc->n;
}

static void
srv_media (Server * s, RtmfpSendFlow * f, guint8 type, guint32 ts,
    gsize len, gint64 deadline)
{
  GByteArray *m = g_byte_array_new ();
  guint8 *p = g_malloc0 (len);

  p[0] = type == RTMFP_TC_MSG_AUDIO ? 0xb2 : 0x27;
  rtmfp_tc_message_append (m, type, ts, p, len);
  srv_write (s, f, m, deadline);
  g_byte_array_unref (m);
  g_free (p);
}

static gboolean
drop_some (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  guint *count = ud;
  /* large server datagrams: drop every third */
  if (len > 600 && (++(*count)) % 3 == 0)
    return FALSE;
  return TRUE;
}

static void
test_play_with_gaps (void)
{
  Fx *fx = fx_new (7, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "cam1",
      10 * SEC);
  CountCond cc = { fx, 0 };
  guint i, dropped = 0;
  guint64 gaps = 0;
  guint32 last_ts = 0;
  RtmfpTcClientStats st;
  GByteArray *meta;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  g_assert_cmpstr (fx->srv->log->str, ==,
      "connect setPeerInfo createStream play ");
  g_assert_cmpuint (fx->stream_begin, ==, 1);
  g_assert_cmpstr (fx->statuses->str, ==, RTMFP_TC_CONNECT_SUCCESS " "
      RTMFP_TC_PLAY_RESET " " RTMFP_TC_PLAY_START " ");

  /* a data message in the publish form loses its @setDataFrame */
  meta = rtmfp_flv_script_prepend_set_data_frame ((const guint8 *)
      "\x02\x00\x0aonMetaData\x05", 14);
  {
    GByteArray *m = g_byte_array_new ();
    rtmfp_tc_message_append (m, RTMFP_TC_MSG_DATA_AMF0, 0, meta->data,
        meta->len);
    srv_write (fx->srv, fx->srv->stream_out, m, RTMFP_NO_DEADLINE);
    g_byte_array_unref (m);
  }
  g_byte_array_unref (meta);

  /* 100 video messages with a 20 ms lifetime (one round trip: shorter
   * than any repair) while every third large datagram is lost: some are
   * abandoned, the rest arrive in order */
  rtmfp_sim_net_set_filter (fx->net, drop_some, &dropped);
  for (i = 0; i < 100; i++) {
    srv_media (fx->srv, fx->srv->stream_out, RTMFP_TC_MSG_VIDEO, 100 + i * 33,
        900, rtmfp_sim_net_now (fx->net) + 20 * MS);
    rtmfp_sim_net_kick (fx->net);
    drive_until (fx, NULL, NULL, 33 * MS);
  }
  rtmfp_sim_net_set_filter (fx->net, NULL, NULL);
  /* a last one, reliable: it must arrive whatever came before */
  srv_media (fx->srv, fx->srv->stream_out, RTMFP_TC_MSG_VIDEO, 100 + 100 * 33,
      900, RTMFP_NO_DEADLINE);
  rtmfp_sim_net_kick (fx->net);
  {
    gboolean done = FALSE;
    gint64 end = rtmfp_sim_net_now (fx->net) + 20 * SEC;
    while (!done && rtmfp_sim_net_now (fx->net) < end) {
      drive_until (fx, NULL, NULL, 100 * MS);
      done = fx->got->len > 0 && ((Got *) g_ptr_array_index (fx->got,
              fx->got->len - 1))->ts == 100 + 100 * 33;
    }
    g_assert_true (done);
  }
  (void) cc;
  (void) got_n;

  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got, 0))->type, ==,
      RTMFP_TC_MSG_DATA_AMF0);
  g_assert_cmpuint (rtmfp_flv_script_classify (g_bytes_get_data (((Got *)
                  g_ptr_array_index (fx->got, 0))->payload, NULL), 14), ==,
      RTMFP_FLV_SCRIPT_ON_METADATA);
  for (i = 1; i < fx->got->len; i++) {
    Got *g = g_ptr_array_index (fx->got, i);
    g_assert_cmpuint (g->type, ==, RTMFP_TC_MSG_VIDEO);
    g_assert_cmpuint (g->ts, >, last_ts);
    /* gap = exactly the messages missing between two deliveries */
    if (i > 1)
      g_assert_cmpuint ((g->ts - last_ts) / 33 - 1, ==, g->gap);
    gaps += g->gap;
    last_ts = g->ts;
  }
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (gaps, >, 0);
  g_assert_cmpuint (fx->got->len - 1 + gaps, ==, 101);
  rtmfp_tc_client_get_stats (fx->c, &st);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].sequence_gaps, ==, gaps);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].gaps, >, 0);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].gaps, <=, gaps);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].messages_received, ==,
      fx->got->len - 1);
  g_assert_cmpuint (fx->n_errors, ==, 0);
  fx_free (fx);
}

static void
test_flow_sync (void)
{
  Fx *fx = fx_new (8, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "cam1",
      10 * SEC);
  CountCond cc = { fx, 0 };
  Server *s = fx->srv;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  s->stream_out2 = srv_open_flow (s, STREAM_ID, s->client_control);

  /* RFC 7425 figure 2: F1: M1 Sync(8,2) M3 ; F2 (later): M2 Sync(8,2) */
  srv_media (s, s->stream_out, RTMFP_TC_MSG_AUDIO, 1, 10, RTMFP_NO_DEADLINE);
  srv_user_control (s, s->stream_out, RTMFP_TC_EVENT_FLOW_SYNC, 8, 2, 2);
  srv_media (s, s->stream_out, RTMFP_TC_MSG_AUDIO, 3, 10, RTMFP_NO_DEADLINE);
  rtmfp_sim_net_kick (fx->net);
  drive_until (fx, NULL, NULL, 500 * MS);
  /* M3 waits at the barrier */
  g_assert_cmpuint (fx->got->len, ==, 1);
  srv_media (s, s->stream_out2, RTMFP_TC_MSG_AUDIO, 2, 10, RTMFP_NO_DEADLINE);
  srv_user_control (s, s->stream_out2, RTMFP_TC_EVENT_FLOW_SYNC, 8, 2, 2);
  srv_media (s, s->stream_out2, RTMFP_TC_MSG_AUDIO, 4, 10, RTMFP_NO_DEADLINE);
  rtmfp_sim_net_kick (fx->net);
  cc.n = 4;
  g_assert_true (drive_until (fx, got_n, &cc, 2 * SEC));
  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got, 0))->ts, ==, 1);
  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got, 1))->ts, ==, 2);
  /* M3 and M4 both come after the barrier */
  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got, 2))->ts, >, 2);
  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got, 3))->ts, >, 2);

  /* a barrier that is never completed does not stall the flow forever:
   * it is released once the flow holds too much */
  srv_user_control (s, s->stream_out, RTMFP_TC_EVENT_FLOW_SYNC, 99, 2, 2);
  {
    guint i;
    for (i = 0; i < 600; i++)
      srv_media (s, s->stream_out, RTMFP_TC_MSG_AUDIO, 10 + i, 10,
          RTMFP_NO_DEADLINE);
  }
  rtmfp_sim_net_kick (fx->net);
  cc.n = 4 + 600;
  g_assert_true (drive_until (fx, got_n, &cc, 10 * SEC));
  fx_free (fx);
}

/* Congested link: the publisher sends faster than the path; audio and
 * video frames are abandoned or dropped past their deadlines, reliable
 * messages all arrive, and the stream never stalls. */
static void
test_publish_congested (void)
{
  Fx *fx = fx_new (9, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  RtmfpSimLink link;
  RtmfpTcClientStats st;
  guint i, n_rel = 0, n_video = 0;
  guint32 last_video = 0;
  guint n_gaps = 0;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  rtmfp_sim_link_init (&link);
  link.bandwidth_bps = 2 * 1000 * 1000;
  link.queue_limit_bytes = 64 * 1024;
  rtmfp_sim_net_set_link (fx->net, &link);

  /* 4 s of ~4.8 Mbit/s video at 30 fps + 16 kbit/s audio */
  for (i = 0; i < 120; i++) {
    guint32 ts = i * 33;
    gboolean key = i % 30 == 0;
    if (key)                    /* a reliable "sequence header" per GOP */
      fx_send (fx, RTMFP_TC_MSG_VIDEO, ts, 30, 0x17,
          RTMFP_TC_CLIENT_SEND_RELIABLE);
    fx_send (fx, RTMFP_TC_MSG_VIDEO, ts, 20000, key ? 0x17 : 0x27,
        key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0);
    fx_send (fx, RTMFP_TC_MSG_AUDIO, ts, 40, 0xb2, 0);
    drive_until (fx, NULL, NULL, 33 * MS);
  }
  /* every deadline is 1 s: after 3 s all is either there or abandoned */
  drive_until (fx, NULL, NULL, 3 * SEC);
  for (i = 0; i < fx->srv->media->len; i++) {
    Rec *r = g_ptr_array_index (fx->srv->media, i);
    if (r->type != RTMFP_TC_MSG_VIDEO)
      continue;
    if (r->gap)
      n_gaps++;
    if (g_bytes_get_size (r->payload) == 30)
      n_rel++;
    else
      n_video++;
    /* in order on the video flow */
    g_assert_cmpuint (r->ts, >=, last_video);
    last_video = r->ts;
  }
  rtmfp_tc_client_get_stats (fx->c, &st);
  /* reliable messages all arrived */
  g_assert_cmpuint (n_rel, ==, 4);
  /* not everything fit: the client dropped or the flow abandoned frames */
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].messages_abandoned +
      st.media[RTMFP_TC_MEDIA_VIDEO].messages_dropped, >, 0);
  g_assert_cmpuint (n_video, <, 120);
  g_assert_cmpuint (n_video, >, 10);
  /* the receiver saw the abandoned ones as gaps, never waited on them;
   * every frame was received, abandoned or dropped (a frame received just
   * before its deadline can also count as abandoned: acks were late) */
  g_assert_cmpuint (n_gaps, >, 0);
  g_assert_cmpuint (n_gaps, <=,
      st.media[RTMFP_TC_MEDIA_VIDEO].messages_abandoned);
  g_assert_cmpuint (n_video + st.media[RTMFP_TC_MEDIA_VIDEO].messages_dropped,
      <=, 120);
  g_assert_cmpuint (n_video + st.media[RTMFP_TC_MEDIA_VIDEO].messages_dropped
      + st.media[RTMFP_TC_MEDIA_VIDEO].messages_abandoned, >=, 120);
  g_assert_cmpuint (st.media[RTMFP_TC_MEDIA_VIDEO].messages_sent, ==,
      124 - st.media[RTMFP_TC_MEDIA_VIDEO].messages_dropped);
  /* and the stream kept up: recent frames did arrive */
  g_assert_cmpuint (last_video, >=, 80 * 33);
  /* memory stayed bounded */
  g_assert_cmpuint (rtmfp_tc_client_get_pending_bytes (fx->c), <,
      RTMFP_TC_CLIENT_PENDING_HIGH);
  g_assert_cmpuint (fx->n_errors, ==, 0);
  fx_free (fx);
}

/* The server closes the session: the client fails with Connect.Closed */
static void
test_server_closes (void)
{
  Fx *fx = fx_new (10, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "cam1",
      10 * SEC);

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  rtmfp_session_close (fx->srv->session,
      rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (drive_until (fx, is_finished, fx, 5 * SEC));
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_CLOSED);
  g_assert_true (g_str_has_prefix (fx->error->message,
          RTMFP_TC_CONNECT_CLOSED));
  fx_free (fx);
}

/* A server that closes the session as soon as the client deletes its
 * stream (as rtmfp-server does): the orderly close ends at once, cleanly */
static void
test_close_server_hangs_up (void)
{
  Fx *fx = fx_new (12, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  gint64 t0;

  fx->srv->close_on_delete = TRUE;
  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  fx_send (fx, RTMFP_TC_MSG_AUDIO, 0, 50, 0xb2, 0);
  t0 = rtmfp_sim_net_now (fx->net);
  rtmfp_tc_client_close (fx->c, t0);
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (drive_until (fx, is_finished, fx, 10 * SEC));
  g_assert_cmpint (rtmfp_tc_client_get_state (fx->c), ==,
      RTMFP_TC_CLIENT_STATE_CLOSED);
  g_assert_cmpuint (fx->n_errors, ==, 0);
  g_assert_cmpint (rtmfp_sim_net_now (fx->net) - t0, <, 500 * MS);
  g_assert_cmpfloat (fx->srv->deleted_sid, ==, STREAM_ID);
  fx_free (fx);
}

/* ------------------------------------------------------------------ */
/* outages, as rtmfpsrc / rtmfpsink with auto-reconnect live them       */

/* gstrtmfpobject.c: dead peer detection after 6 s of silence; a Ping
 * every 250 ms once nothing was received for 0.5 s */
#define DEAD_PEER (6 * SEC)
#define WATCH_PERIOD (250 * MS)
#define SILENCE_PING (500 * MS)

typedef struct {
  Fx *fx;
  gboolean ping;                /* the element's silence pings */
  gboolean media;               /* an audio message every period */
  guint64 rx;
  gint64 rx_time;
  guint32 ts;                   /* next media timestamp (ms) */
} Watch;

/* One period: a publisher's audio message, then the element's watch */
static void
watch_tick (Watch * w)
{
  Fx *fx = w->fx;
  RtmfpSession *s = rtmfp_tc_client_get_session (fx->c);
  gint64 now = rtmfp_sim_net_now (fx->net);
  RtmfpSessionStats st;

  if (!is_streaming (fx) || !s)
    return;
  if (w->media)
    fx_send (fx, RTMFP_TC_MSG_AUDIO, w->ts, 40, 0xb2, 0);
  w->ts += WATCH_PERIOD / MS;
  rtmfp_session_get_stats (s, &st);
  if (st.packets_received != w->rx) {
    w->rx = st.packets_received;
    w->rx_time = now;
  } else if (w->ping && now - w->rx_time >= SILENCE_PING) {
    rtmfp_session_ping (s, now);
    rtmfp_sim_net_kick (fx->net);
  }
}

/* Runs in watch periods until cond (or max_us) */
static gboolean
drive_watch (Watch * w, RtmfpSimCondition cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (w->fx->net) + max_us;

  while (rtmfp_sim_net_now (w->fx->net) < end) {
    if (cond && cond (ud))
      return TRUE;
    if (drive_until (w->fx, cond, ud, WATCH_PERIOD) && cond)
      return TRUE;
    watch_tick (w);
  }
  return cond ? cond (ud) : TRUE;
}

static void
watch_start (Watch * w, Fx * fx, gboolean ping)
{
  memset (w, 0, sizeof *w);
  w->fx = fx;
  w->ping = ping;
  w->media = TRUE;
  w->rx_time = rtmfp_sim_net_now (fx->net);
  /* the element arms dead peer detection only with its pings (which keep
   * a quiet but live session from looking dead) */
  if (ping)
    rtmfp_session_set_idle_timeout (rtmfp_tc_client_get_session (fx->c),
        DEAD_PEER);
}

/* 5 s of total loss: the session survives (no error, no new session) and
 * media reaches the server again soon after the path returns; returns
 * that delay */
static gint64
outage_recovery (guint32 seed, gboolean ping)
{
  Fx *fx = fx_new (seed, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live",
      "cam1", 10 * SEC);
  CountCond cc = { fx, 0 };
  Watch w;
  gint64 back, delay;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  watch_start (&w, fx, ping);
  drive_watch (&w, NULL, NULL, 1 * SEC);
  g_assert_cmpuint (fx->srv->media->len, >, 0);

  rtmfp_sim_host_set_blackhole (fx->srv->host, TRUE);
  drive_watch (&w, NULL, NULL, 5 * SEC);
  g_assert_true (is_streaming (fx));
  rtmfp_sim_host_set_blackhole (fx->srv->host, FALSE);
  back = rtmfp_sim_net_now (fx->net);
  /* messages sent after the outage arrive */
  cc.n = fx->srv->media->len + 1;
  g_assert_true (drive_watch (&w, srv_has_media, &cc, 15 * SEC));
  delay = rtmfp_sim_net_now (fx->net) - back;
  g_assert_cmpuint (fx->n_errors, ==, 0);
  g_assert_true (is_streaming (fx));
  g_assert_cmpuint (fx->srv->n_sessions, ==, 1);
  fx_free (fx);
  return delay;
}

static void
test_outage_session_survives (void)
{
  gint64 plain = outage_recovery (20, FALSE);
  gint64 pinged = outage_recovery (20, TRUE);

  g_test_message ("5 s outage: media again %" G_GINT64_FORMAT " ms after "
      "the path returned with silence pings, %" G_GINT64_FORMAT " ms "
      "without", pinged / MS, plain / MS);
  /* the element's pings make it prompt (issue 6: within 1-2 s) */
  g_assert_cmpint (pinged, <, 2 * SEC);
  g_assert_cmpint (pinged, <=, plain);
}

/* A quiet publisher (no media) sends one reliable message 2 s into a 5 s
 * outage: it is lost, and retransmitted on the TIMEOUT_ALARM, which backs
 * off meanwhile.  Returns how long after the path returned it arrives. */
static gint64
outage_retransmission (guint32 seed, gboolean ping)
{
  Fx *fx = fx_new (seed, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live",
      "cam1", 10 * SEC);
  CountCond cc = { fx, 0 };
  Watch w;
  gint64 back, delay;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  watch_start (&w, fx, ping);
  w.media = FALSE;
  drive_watch (&w, NULL, NULL, 1 * SEC);

  rtmfp_sim_host_set_blackhole (fx->srv->host, TRUE);
  drive_watch (&w, NULL, NULL, 2 * SEC);
  cc.n = fx->srv->media->len + 1;
  fx_send (fx, RTMFP_TC_MSG_VIDEO, 3000, 300, 0x17,
      RTMFP_TC_CLIENT_SEND_RELIABLE | RTMFP_TC_CLIENT_SEND_KEYFRAME);
  drive_watch (&w, NULL, NULL, 3 * SEC);
  g_assert_cmpuint (fx->srv->media->len, <, cc.n);
  rtmfp_sim_host_set_blackhole (fx->srv->host, FALSE);
  back = rtmfp_sim_net_now (fx->net);
  g_assert_true (drive_watch (&w, srv_has_media, &cc, 20 * SEC));
  delay = rtmfp_sim_net_now (fx->net) - back;
  g_assert_cmpuint (fx->n_errors, ==, 0);
  g_assert_cmpuint (fx->srv->n_sessions, ==, 1);
  fx_free (fx);
  return delay;
}

static void
test_outage_retransmits_promptly (void)
{
  gint64 plain = outage_retransmission (22, FALSE);
  gint64 pinged = outage_retransmission (22, TRUE);

  g_test_message ("5 s outage, a reliable message lost in it: delivered "
      "%" G_GINT64_FORMAT " ms after the path returned with silence pings, %"
      G_GINT64_FORMAT " ms without", pinged / MS, plain / MS);
  /* the first answer to a ping resets the backed-off retransmission
   * timer (RFC 7016 3.5.2.2): no waiting for it.  Without pings the loss
   * probes (rtmfpsession.c) are about as prompt, within a probe timeout
   * of the pinged case. */
  g_assert_cmpint (pinged, <, 1 * SEC);
  g_assert_cmpint (plain, <, 1 * SEC);
}

static gboolean
has_failed (gpointer ud)
{
  return rtmfp_tc_client_get_state (((Fx *) ud)->c) ==
      RTMFP_TC_CLIENT_STATE_FAILED;
}

/* The server stays silent: the session is declared dead after DEAD_PEER
 * (error CLOSED, the session's error IDLE); a new client on the same
 * endpoint (what auto-reconnect does) opens a new session and publishes
 * again once the server answers. */
static void
test_dead_peer_then_new_session (void)
{
  Fx *fx = fx_new (21, "live", RTMFP_TC_CLIENT_ROLE_PUBLISH, "live", "cam1",
      10 * SEC);
  RtmfpTcClientConfig cfg;
  CountCond cc = { fx, 0 };
  const GError *se;
  Watch w;
  gint64 t0, dead;

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  watch_start (&w, fx, TRUE);
  drive_watch (&w, NULL, NULL, 1 * SEC);

  rtmfp_sim_host_set_blackhole (fx->srv->host, TRUE);
  t0 = rtmfp_sim_net_now (fx->net);
  g_assert_true (drive_watch (&w, has_failed, fx, 30 * SEC));
  dead = rtmfp_sim_net_now (fx->net) - t0;
  g_assert_error (fx->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_CLOSED);
  se = rtmfp_session_get_error (rtmfp_tc_client_get_session (fx->c));
  g_assert_error (se, RTMFP_SESSION_ERROR, RTMFP_SESSION_ERROR_IDLE);
  /* the pings went unanswered, the last packet came just before t0 */
  g_assert_cmpint (dead, >=, DEAD_PEER - WATCH_PERIOD);
  g_assert_cmpint (dead, <=, DEAD_PEER + WATCH_PERIOD);

  /* the server is back; the failed client is replaced */
  rtmfp_sim_host_set_blackhole (fx->srv->host, FALSE);
  rtmfp_tc_client_abort (fx->c, rtmfp_sim_net_now (fx->net));
  rtmfp_tc_client_free (fx->c);
  g_clear_error (&fx->error);
  fx->n_errors = 0;
  rtmfp_tc_client_config_init (&cfg);
  cfg.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  cfg.tc_url = TC_URL;
  cfg.app = "live";
  cfg.stream = "cam1";
  cfg.timeout_us = 10 * SEC;
  fx->c = rtmfp_tc_client_new (&cfg, &client_callbacks, fx, sim_clock,
      fx->net);
  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));
  g_assert_cmpuint (fx->srv->n_sessions, ==, 2);
  g_assert_cmpstr (fx->srv->stream_name, ==, "cam1");
  cc.n = fx->srv->media->len + 3;
  watch_start (&w, fx, TRUE);
  g_assert_true (drive_watch (&w, srv_has_media, &cc, 5 * SEC));
  g_assert_cmpuint (fx->n_errors, ==, 0);
  fx_free (fx);
}

/* Hostile server input: junk messages, bad commands, flows with foreign
 * metadata or unknown stream IDs, bogus _result values. */
static void
test_hostile_server (void)
{
  Fx *fx = fx_new (11, "live", RTMFP_TC_CLIENT_ROLE_PLAY, "live", "cam1",
      10 * SEC);
  Server *s = fx->srv;
  GRand *rand = g_rand_new_with_seed (42);
  RtmfpSendFlow *foreign, *other_sid;
  GByteArray *m;
  guint i;
  CountCond cc = { fx, 1 };

  fx_start (fx);
  g_assert_true (drive_until (fx, is_streaming, fx, 5 * SEC));

  foreign = rtmfp_session_open_flow (s->session, (const guint8 *) "XY\x04\x05",
      4, s->client_control);
  other_sid = srv_open_flow (s, 77, s->client_control);
  for (i = 0; i < 300; i++) {
    guint8 buf[64];
    guint len = g_rand_int_range (rand, 0, sizeof buf);
    guint j;
    for (j = 0; j < len; j++)
      buf[j] = g_rand_int_range (rand, 0, 256);
    /* message types the client parses: commands, user control, data */
    if (len > 0) {
      static const guint8 types[] = { 4, 17, 18, 20, 15, 22, 1 };
      buf[0] = types[i % G_N_ELEMENTS (types)];
    }
    m = g_byte_array_new ();
    g_byte_array_append (m, buf, len);
    srv_write (s, i % 2 ? s->control : s->stream_out, m, RTMFP_NO_DEADLINE);
    g_byte_array_unref (m);
  }
  /* stray _result values and user controls with short payloads */
  srv_command (s, s->control, "_result", 2.0, rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("5", -1));
  srv_command (s, s->control, "_result", 99.0, NULL, NULL);
  srv_command (s, s->stream_out, "onStatus", 0.0, NULL, NULL);
  srv_user_control (s, s->stream_out, RTMFP_TC_EVENT_FLOW_SYNC, 1, 0, 2);
  srv_user_control (s, s->control, RTMFP_TC_EVENT_SET_KEEPALIVE, 1, 0, 1);
  m = g_byte_array_new ();
  g_byte_array_append (m, (const guint8 *) "junk", 4);
  srv_write (s, foreign, m, RTMFP_NO_DEADLINE);
  srv_write (s, other_sid, m, RTMFP_NO_DEADLINE);
  g_byte_array_unref (m);
  /* a good message after all that still arrives */
  srv_media (s, s->stream_out, RTMFP_TC_MSG_VIDEO, 5000, 20,
      RTMFP_NO_DEADLINE);
  rtmfp_sim_net_kick (fx->net);
  drive_until (fx, NULL, NULL, 2 * SEC);
  cc.n = 1;
  g_assert_true (got_n (&cc));
  g_assert_cmpuint (((Got *) g_ptr_array_index (fx->got,
              fx->got->len - 1))->ts, ==, 5000);
  g_assert_cmpint (rtmfp_tc_client_get_state (fx->c), ==,
      RTMFP_TC_CLIENT_STATE_STREAMING);
  /* foreign and unknown-stream flows were rejected */
  {
    guint64 code;
    g_assert_true (rtmfp_send_flow_get_exception (foreign, &code));
    g_assert_true (rtmfp_send_flow_get_exception (other_sid, &code));
  }
  g_rand_free (rand);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tcclient/publish", test_publish);
  g_test_add_func ("/tcclient/connect-rejected", test_connect_rejected);
  g_test_add_func ("/tcclient/connect-auth-token", test_connect_auth_token);
  g_test_add_func ("/tcclient/fingerprint-pinning", test_fingerprint_pinning);
  g_test_add_func ("/tcclient/publish-bad-name", test_publish_bad_name);
  g_test_add_func ("/tcclient/play-not-found", test_play_not_found);
  g_test_add_func ("/tcclient/unreachable", test_unreachable);
  g_test_add_func ("/tcclient/server-silent", test_server_silent);
  g_test_add_func ("/tcclient/play-with-gaps", test_play_with_gaps);
  g_test_add_func ("/tcclient/flow-sync", test_flow_sync);
  g_test_add_func ("/tcclient/publish-congested", test_publish_congested);
  g_test_add_func ("/tcclient/server-closes", test_server_closes);
  g_test_add_func ("/tcclient/close-server-hangs-up",
      test_close_server_hangs_up);
  g_test_add_func ("/tcclient/hostile-server", test_hostile_server);
  g_test_add_func ("/tcclient/outage-session-survives",
      test_outage_session_survives);
  g_test_add_func ("/tcclient/outage-retransmits-promptly",
      test_outage_retransmits_promptly);
  g_test_add_func ("/tcclient/dead-peer-then-new-session",
      test_dead_peer_then_new_session);
  return g_test_run ();
}
