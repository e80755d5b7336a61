/* Tests of rtmfp-server (tools/rtmfp-server) over the simulated network,
 * with a minimal NetConnection client written here on the session / flow
 * API and the rtmfptc codecs (deliberately not rtmfptcclient: this is an
 * independent check of the wire protocol, RFC 7425 section 5.3), plus a
 * run of the real binary (listening line, SIGUSR1 stats, SIGTERM).
 *
 * The RTMP side (rtmfp_server_rtmp_conn_*) is driven through in-memory
 * byte pipes by a minimal RTMP client written here too: handshake, chunks
 * (the rtmpchunk codecs), AMF0 commands; what it receives is decoded and
 * asserted on, across protocols (RTMP publisher -> RTMFP player and back).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/prctl.h>

#include "rtmfpserver.h"
#include "rtmfpservermetrics.h"
#include "rtmfphttprequest.h"
#include "rtmfpsimnet.h"
#include "rtmfptc.h"
#include "flvtag.h"
#include "rtmpchunk.h"
#include "rtmfpcrypto.h"
#include "testproc.h"

#define MS 1000
#define SEC 1000000
#define SERVER_ADDR "10.0.0.1:1935"
/* within the server's lingering time for a publication (1 s) */
#define LINGER_TEST_MAX (900 * MS)

/* ------------------------------------------------------------------------ */
/* The server on the simulated network */

typedef struct {
  RtmfpSimNet *net;
  RtmfpSimHost *host;
  RtmfpServer *srv;
  GPtrArray *clients;
  GPtrArray *rtmp_clients;      /* RtmpClient */
  gint64 last_poll;
} Fixture;

static void rtmp_clients_pump (Fixture * fx);

static gint64
sim_clock (gpointer data)
{
  return rtmfp_sim_net_now (data);
}

static Fixture *
fixture_new_with (guint32 seed, const RtmfpServerConfig * cfg)
{
  Fixture *fx = g_new0 (Fixture, 1);
  RtmfpEndpointConfig ecfg;

  fx->net = rtmfp_sim_net_new (seed);
  fx->srv = rtmfp_server_new (cfg, sim_clock, fx->net);
  rtmfp_server_endpoint_config (fx->srv, &ecfg);
  fx->host = rtmfp_sim_net_add_host (fx->net, SERVER_ADDR, &ecfg,
      rtmfp_server_get_callbacks (), fx->srv);
  rtmfp_server_set_endpoint (fx->srv, rtmfp_sim_host_get_endpoint (fx->host));
  fx->clients = g_ptr_array_new ();
  fx->rtmp_clients = g_ptr_array_new ();
  return fx;
}

static Fixture *
fixture_new_full (guint32 seed, const gchar * const *apps,
    gboolean wait_for_publisher)
{
  RtmfpServerConfig cfg;

  rtmfp_server_config_init (&cfg);
  cfg.apps = apps;
  cfg.wait_for_publisher = wait_for_publisher;
  return fixture_new_with (seed, &cfg);
}

static Fixture *
fixture_new (guint32 seed)
{
  return fixture_new_full (seed, NULL, TRUE);
}

typedef gboolean (*CondFunc) (gpointer ud);

#define POLL_PERIOD (250 * MS)

static gboolean
never (gpointer ud)
{
  return FALSE;
}

/* The RTMP byte pipes are pumped before every look at the condition */
typedef struct {
  Fixture *fx;
  CondFunc cond;
  gpointer ud;
} PumpCond;

static gboolean
pump_cond (gpointer data)
{
  PumpCond *pc = data;

  rtmp_clients_pump (pc->fx);
  return pc->cond (pc->ud);
}

/* Runs the simulation until cond or max_us; the server's housekeeping
 * runs every 250 ms of simulated time, as main.c does with a timer */
static gboolean
run_until (Fixture * fx, CondFunc cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (fx->net) + max_us;
  PumpCond pc = { fx, cond ? cond : never, ud };

  for (;;) {
    gint64 now = rtmfp_sim_net_now (fx->net);
    gint64 slice;

    if (now - fx->last_poll >= POLL_PERIOD) {
      fx->last_poll = now;
      rtmfp_server_poll (fx->srv);
      rtmfp_sim_net_kick (fx->net);
    }
    if (pump_cond (&pc))
      return TRUE;
    if (now >= end)
      return FALSE;
    slice = MIN (end - now, fx->last_poll + POLL_PERIOD - now);
    if (rtmfp_sim_net_run_until (fx->net, pump_cond, &pc, slice))
      return TRUE;
  }
}

static void
run_for (Fixture * fx, gint64 us)
{
  run_until (fx, NULL, NULL, us);
}

/* ------------------------------------------------------------------------ */
/* A minimal client */

typedef struct {
  guint32 sid;
  gboolean rxi;
  gboolean assoc_ctrl;          /* associated to our control flow */
  guint64 flow_id;
  guint8 type;
  guint32 ts;
  GBytes *payload;
  guint64 gap;
  gint64 at;
} Msg;

typedef struct {
  Fixture *fx;
  RtmfpSimHost *host;
  RtmfpEndpoint *ep;
  RtmfpSession *session;
  gboolean opened;
  gboolean closed;
  RtmfpSendFlow *ctrl;
  RtmfpRecvFlow *server_ctrl;   /* the canonical server control flow */
  gboolean server_ctrl_complete;
  RtmfpSendFlow *sflow;         /* stream: commands and data */
  RtmfpSendFlow *aflow;
  RtmfpSendFlow *vflow;
  guint32 stream_id;
  GPtrArray *msgs;              /* Msg* in arrival order */
  guint n_flows_rejected;
  gboolean reject_media;        /* refuse the server's stream flows */
} Client;

static void
msg_free (gpointer data)
{
  Msg *m = data;

  g_bytes_unref (m->payload);
  g_free (m);
}

static void
cl_on_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Client *c = ud;
  gsize mdlen;
  const guint8 *md = rtmfp_recv_flow_get_metadata (f, &mdlen);
  RtmfpTcMessage tm;
  Msg *m;
  guint64 assoc;

  g_assert_true (rtmfp_tc_message_parse (data, len, &tm));
  m = g_new0 (Msg, 1);
  g_assert_true (rtmfp_tc_metadata_parse (md, mdlen, &m->sid, &m->rxi));
  m->assoc_ctrl = rtmfp_recv_flow_get_association (f, &assoc) && c->ctrl &&
      assoc == rtmfp_send_flow_get_id (c->ctrl);
  m->flow_id = rtmfp_recv_flow_get_id (f);
  m->type = tm.type;
  m->ts = tm.timestamp;
  m->payload = g_bytes_new (tm.payload, tm.len);
  m->gap = gap;
  m->at = rtmfp_sim_net_now (c->fx->net);
  g_ptr_array_add (c->msgs, m);
}

static void
cl_on_complete (RtmfpRecvFlow * f, gpointer ud)
{
  Client *c = ud;

  if (f == c->server_ctrl)
    c->server_ctrl_complete = TRUE;
}

static void
cl_session_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  ((Client *) ud)->opened = TRUE;
}

static void
cl_session_closed (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  ((Client *) ud)->closed = TRUE;
}

static gboolean
cl_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  Client *c = ud;
  gsize mdlen;
  const guint8 *md = rtmfp_recv_flow_get_metadata (f, &mdlen);
  guint32 sid;
  gboolean rxi;

  if (!rtmfp_tc_metadata_parse (md, mdlen, &sid, &rxi))
    return FALSE;
  if (c->reject_media && sid != 0) {
    c->n_flows_rejected++;
    return FALSE;
  }
  if (sid == 0 && !c->server_ctrl && assoc == c->ctrl)
    c->server_ctrl = f;
  /* take the sender's hint (5.1.1): audio in network arrival order */
  rtmfp_recv_flow_set_delivery (f, rxi, cl_on_message, cl_on_complete, c);
  return TRUE;
}

static const RtmfpEndpointCallbacks client_callbacks = {
  .session_opened = cl_session_opened,
  .session_closed = cl_session_closed,
  .flow_opened = cl_flow_opened,
};

static Client *
client_new_full (Fixture * fx, const gchar * addr, gboolean accept)
{
  static const guint groups[] = { 14 };
  Client *c = g_new0 (Client, 1);
  RtmfpIdentity *id = rtmfp_identity_new_static (groups, 1);
  RtmfpEndpointConfig cfg;

  rtmfp_endpoint_config_init (&cfg);
  cfg.identity = id;
  cfg.accept_sessions = accept;
  c->fx = fx;
  c->msgs = g_ptr_array_new_with_free_func (msg_free);
  c->host = rtmfp_sim_net_add_host (fx->net, addr, &cfg, &client_callbacks,
      c);
  c->ep = rtmfp_sim_host_get_endpoint (c->host);
  rtmfp_identity_unref (id);
  g_ptr_array_add (fx->clients, c);
  return c;
}

static Client *
client_new (Fixture * fx, const gchar * addr)
{
  return client_new_full (fx, addr, FALSE);
}

static void
client_free (Client * c)
{
  if (c->session)
    rtmfp_session_unref (c->session);
  g_ptr_array_unref (c->msgs);
  g_free (c);
}

static void rtmp_client_free (gpointer data);

static void
fixture_free (Fixture * fx)
{
  /* the RTMP connections left are freed after the server (detached) */
  rtmfp_server_free (fx->srv);
  rtmfp_sim_net_free (fx->net);
  for (guint i = 0; i < fx->clients->len; i++)
    client_free (g_ptr_array_index (fx->clients, i));
  g_ptr_array_unref (fx->clients);
  for (guint i = 0; i < fx->rtmp_clients->len; i++)
    rtmp_client_free (g_ptr_array_index (fx->rtmp_clients, i));
  g_ptr_array_unref (fx->rtmp_clients);
  g_free (fx);
}

static gint64
cl_now (Client * c)
{
  return rtmfp_sim_net_now (c->fx->net);
}

static RtmfpSendFlow *
client_open_flow (Client * c, guint32 sid, gboolean rxi, RtmfpRecvFlow * assoc)
{
  GByteArray *md = g_byte_array_new ();
  RtmfpSendFlow *f;

  rtmfp_tc_metadata_append (md, sid, rxi);
  f = rtmfp_session_open_flow (c->session, md->data, md->len, assoc);
  g_byte_array_unref (md);
  g_assert_nonnull (f);
  return f;
}

static void
client_write (Client * c, RtmfpSendFlow * f, guint8 type, guint32 ts,
    const guint8 * payload, gsize len)
{
  GByteArray *b = g_byte_array_new ();

  rtmfp_tc_message_append (b, type, ts, payload, len);
  g_assert_true (rtmfp_session_write (c->session, f, b->data, b->len,
          RTMFP_NO_DEADLINE, 0, cl_now (c)));
  g_byte_array_unref (b);
  rtmfp_sim_net_kick (c->fx->net);
}

/* Sends a type 20 command; takes the arguments */
static void
client_command (Client * c, RtmfpSendFlow * f, const gchar * name,
    gdouble txn, guint n, RtmfpAmfNode ** args)
{
  GByteArray *b = g_byte_array_new ();
  guint i;

  rtmfp_tc_command_append_with_args (b, 0, name, txn, n,
      (const RtmfpAmfNode * const *) args);
  for (i = 0; i < n; i++)
    rtmfp_amf_node_free (args[i]);
  g_assert_true (rtmfp_session_write (c->session, f, b->data, b->len,
          RTMFP_NO_DEADLINE, 0, cl_now (c)));
  g_byte_array_unref (b);
  rtmfp_sim_net_kick (c->fx->net);
}

/* Index of the first command message at or after *from on stream sid
 * named name (NULL: any), or -1; args (optional) gets its arguments */
static gint
find_command (Client * c, guint from, guint32 sid, const gchar * name,
    GPtrArray ** args, gdouble * txn)
{
  guint i;

  for (i = from; i < c->msgs->len; i++) {
    Msg *m = g_ptr_array_index (c->msgs, i);
    RtmfpTcMessage tm;
    GPtrArray *a;
    gchar *n = NULL;

    if (m->sid != sid || (m->type != RTMFP_TC_MSG_COMMAND_AMF0 &&
            m->type != RTMFP_TC_MSG_COMMAND_AMF3))
      continue;
    tm.type = m->type;
    tm.timestamp = m->ts;
    tm.payload = g_bytes_get_data (m->payload, &tm.len);
    a = rtmfp_tc_command_parse (&tm, &n, txn);
    g_assert_nonnull (a);
    if (!name || g_str_equal (n, name)) {
      g_free (n);
      if (args)
        *args = a;
      else
        g_ptr_array_unref (a);
      return i;
    }
    g_free (n);
    g_ptr_array_unref (a);
  }
  return -1;
}

/* The code of the first onStatus / _result / _error at or after from on
 * sid with that code, or -1 */
static gint
find_status (Client * c, guint from, guint32 sid, const gchar * code)
{
  guint i;

  for (i = from; i < c->msgs->len; i++) {
    GPtrArray *a = NULL;
    gint idx = find_command (c, i, sid, NULL, &a, NULL);
    guint j;
    gboolean hit = FALSE;

    if (idx < 0)
      return -1;
    for (j = 0; j < a->len; j++) {
      const gchar *cd = rtmfp_tc_status_peek_code (a->pdata[j]);
      if (cd && g_str_equal (cd, code))
        hit = TRUE;
    }
    g_ptr_array_unref (a);
    if (hit)
      return idx;
    i = idx;
  }
  return -1;
}

typedef struct {
  Client *c;
  guint from;
  guint32 sid;
  const gchar *name;
  const gchar *code;
} Want;

static gboolean
cond_command (gpointer ud)
{
  Want *w = ud;
  if (w->code)
    return find_status (w->c, w->from, w->sid, w->code) >= 0;
  return find_command (w->c, w->from, w->sid, w->name, NULL, NULL) >= 0;
}

static gboolean
wait_status (Client * c, guint32 sid, const gchar * code, gint64 max)
{
  Want w = { c, 0, sid, NULL, code };
  return run_until (c->fx, cond_command, &w, max);
}

static gboolean
cond_opened (gpointer ud)
{
  Client *c = ud;
  return c->opened;
}

static gboolean
cond_any_reply (gpointer ud)
{
  Client *c = ud;
  return find_command (c, 0, 0, "_result", NULL, NULL) >= 0 ||
      find_command (c, 0, 0, "_error", NULL, NULL) >= 0;
}

/* Session, control flow, connect with optional string arguments after
 * the command object (user, token: authentication); returns after _result
 * or _error */
static void
client_connect_with (Client * c, const gchar * app, const gchar * user,
    const gchar * token)
{
  GByteArray *epd = g_byte_array_new ();
  gchar *uri = g_strdup_printf ("rtmfp://" SERVER_ADDR "/%s", app);
  RtmfpAmfNode *args[3];
  guint n = 1;

  rtmfp_epd_append_ancillary (epd, uri);
  c->session = rtmfp_endpoint_open_session (c->ep, epd->data, epd->len,
      rtmfp_sim_host_get_address (c->fx->host), 1, cl_now (c));
  g_assert_nonnull (c->session);
  rtmfp_session_ref (c->session);
  g_byte_array_unref (epd);
  rtmfp_sim_net_kick (c->fx->net);
  g_assert_true (run_until (c->fx, cond_opened, c, 10 * SEC));

  /* 5.3.1: control flow, stream 0, original order */
  c->ctrl = client_open_flow (c, 0, FALSE, NULL);
  args[0] = rtmfp_tc_connect_object_new (app, uri, NULL);
  if (user)
    args[n++] = rtmfp_amf_node_new_string (user, -1);
  if (token)
    args[n++] = rtmfp_amf_node_new_string (token, -1);
  client_command (c, c->ctrl, "connect", 1.0, n, args);
  g_free (uri);
  g_assert_true (run_until (c->fx, cond_any_reply, c, 10 * SEC));
}

static void
client_connect (Client * c, const gchar * app)
{
  client_connect_with (c, app, NULL, NULL);
}

static void
client_connect_ok (Client * c, const gchar * app)
{
  client_connect (c, app);
  g_assert_cmpint (find_command (c, 0, 0, "_result", NULL, NULL), >=, 0);
  g_assert_nonnull (c->server_ctrl);
}

static gboolean
cond_created (gpointer ud)
{
  Want *w = ud;
  return find_command (w->c, w->from, 0, "_result", NULL, NULL) >= 0;
}

/* createStream -> the new stream ID */
static guint32
client_create_stream (Client * c)
{
  static gdouble txn = 2;
  RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_null () };
  Want w = { c, c->msgs->len, 0, NULL, NULL };
  GPtrArray *a = NULL;
  gdouble got_txn = 0, id;
  gint idx;

  txn += 1;
  client_command (c, c->ctrl, "createStream", txn, 1, args);
  g_assert_true (run_until (c->fx, cond_created, &w, 10 * SEC));
  idx = find_command (c, w.from, 0, "_result", &a, &got_txn);
  g_assert_cmpint (idx, >=, 0);
  g_assert_cmpfloat (got_txn, ==, txn);
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpint (rtmfp_amf_node_get_type (a->pdata[1]), ==,
      RTMFP_AMF_TYPE_NUMBER);
  id = rtmfp_amf_node_get_number (a->pdata[1]);
  g_ptr_array_unref (a);
  g_assert_cmpfloat (id, >=, 1);
  g_assert_cmpfloat (id, <=, 0xffffff);
  return (guint32) id;
}

/* createStream, then publish / play on a flow of that stream (5.3.5.1) */
static void
client_start (Client * c, const gchar * cmd, const gchar * name)
{
  RtmfpAmfNode *args[2];

  c->stream_id = client_create_stream (c);
  c->sflow = client_open_flow (c, c->stream_id, FALSE, c->server_ctrl);
  args[0] = rtmfp_amf_node_new_null ();
  args[1] = rtmfp_amf_node_new_string (name, -1);
  client_command (c, c->sflow, cmd, 0.0, 2, args);
}

static void
client_publish (Client * c, const gchar * name)
{
  client_start (c, "publish", name);
  g_assert_true (wait_status (c, c->stream_id, RTMFP_TC_PUBLISH_START,
          5 * SEC));
  c->aflow = client_open_flow (c, c->stream_id, TRUE, c->server_ctrl);
  c->vflow = client_open_flow (c, c->stream_id, FALSE, c->server_ctrl);
}

static void
client_play (Client * c, const gchar * name)
{
  client_start (c, "play", name);
  g_assert_true (wait_status (c, c->stream_id, RTMFP_TC_PLAY_START, 5 * SEC));
}

/* ------------------------------------------------------------------------ */
/* Media */

static const guint8 avc_header[] = { 0x17, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e,
  0x01, 0x00, 0x02, 0x68, 0xce
};
static const guint8 aac_header[] = { 0xaf, 0x00, 0x12, 0x10 };

static GBytes *
video_frame (gboolean key, guint idx, gsize size)
{
  guint8 *d = g_malloc (size);
  gsize i;

  g_assert_cmpuint (size, >=, 9);
  d[0] = key ? 0x17 : 0x27;
  d[1] = 0x01;
  d[2] = d[3] = d[4] = 0;
  d[5] = idx >> 24;
  d[6] = idx >> 16;
  d[7] = idx >> 8;
  d[8] = idx;
  for (i = 9; i < size; i++)
    d[i] = (guint8) (i * 7 + idx);
  return g_bytes_new_take (d, size);
}

static GBytes *
audio_frame (guint idx, gsize size)
{
  guint8 *d = g_malloc (size);
  gsize i;

  g_assert_cmpuint (size, >=, 6);
  d[0] = 0xaf;
  d[1] = 0x01;
  d[2] = idx >> 24;
  d[3] = idx >> 16;
  d[4] = idx >> 8;
  d[5] = idx;
  for (i = 6; i < size; i++)
    d[i] = (guint8) (i * 3 + idx);
  return g_bytes_new_take (d, size);
}

static guint
frame_index (GBytes * b, gsize off)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  g_assert_cmpuint (len, >=, off + 4);
  return ((guint) d[off] << 24) | (d[off + 1] << 16) | (d[off + 2] << 8) |
      d[off + 3];
}

/* "onMetaData", {width, height, framerate} */
static GByteArray *
metadata_payload (gboolean set_data_frame)
{
  RtmfpAmfNode *name = rtmfp_amf_node_new_string ("onMetaData", -1);
  RtmfpAmfNode *arr = rtmfp_amf_node_new_ecma_array ();
  GByteArray *b = g_byte_array_new ();

  if (set_data_frame) {
    RtmfpAmfNode *s = rtmfp_amf_node_new_string ("@setDataFrame", -1);
    rtmfp_amf_node_serialize (s, b);
    rtmfp_amf_node_free (s);
  }
  rtmfp_amf_node_append_field_number (arr, "width", 320);
  rtmfp_amf_node_append_field_number (arr, "height", 240);
  rtmfp_amf_node_append_field_number (arr, "framerate", 25);
  rtmfp_amf_node_serialize (name, b);
  rtmfp_amf_node_serialize (arr, b);
  rtmfp_amf_node_free (name);
  rtmfp_amf_node_free (arr);
  return b;
}

static void
send_bytes (Client * c, RtmfpSendFlow * f, guint8 type, guint32 ts,
    GBytes * b)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  client_write (c, f, type, ts, d, len);
}

static void
publish_headers (Client * p)
{
  GByteArray *md = metadata_payload (TRUE);

  client_write (p, p->sflow, RTMFP_TC_MSG_DATA_AMF0, 0, md->data, md->len);
  client_write (p, p->vflow, RTMFP_TC_MSG_VIDEO, 0, avc_header,
      sizeof (avc_header));
  client_write (p, p->aflow, RTMFP_TC_MSG_AUDIO, 0, aac_header,
      sizeof (aac_header));
  g_byte_array_unref (md);
}

/* Frame n of a 25 fps stream with a keyframe every gop frames, and two
 * 20 ms audio frames with it.  Returns the video timestamp. */
static guint32
publish_frame (Client * p, guint n, guint gop, gsize vsize)
{
  guint32 ts = n * 40;
  GBytes *v = video_frame (n % gop == 0, n, n % gop == 0 ? vsize * 4 : vsize);
  GBytes *a0 = audio_frame (2 * n, 64), *a1 = audio_frame (2 * n + 1, 64);

  send_bytes (p, p->aflow, RTMFP_TC_MSG_AUDIO, ts, a0);
  send_bytes (p, p->vflow, RTMFP_TC_MSG_VIDEO, ts, v);
  send_bytes (p, p->aflow, RTMFP_TC_MSG_AUDIO, ts + 20, a1);
  g_bytes_unref (v);
  g_bytes_unref (a0);
  g_bytes_unref (a1);
  return ts;
}

/* Messages of the client's stream of one RTMP type, in arrival order */
static GPtrArray *
media_of (Client * c, guint8 type)
{
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; i < c->msgs->len; i++) {
    Msg *m = g_ptr_array_index (c->msgs, i);
    if (m->sid == c->stream_id && m->type == type)
      g_ptr_array_add (out, m);
  }
  return out;
}

static gboolean
bytes_equal_mem (GBytes * b, const guint8 * d, gsize len)
{
  gsize bl;
  const guint8 *bd = g_bytes_get_data (b, &bl);
  return bl == len && memcmp (bd, d, len) == 0;
}

/* ------------------------------------------------------------------------ */
/* Tests */

static void
test_connect_success (void)
{
  Fixture *fx = fixture_new (1);
  Client *c = client_new (fx, "10.0.0.2:5000");
  GPtrArray *a = NULL;
  gdouble txn = -1, enc = -1;
  gsize mdlen;
  const guint8 *md;
  guint i;
  gboolean keepalive = FALSE;
  RtmfpServerStats st;

  client_connect (c, "live");
  g_assert_cmpint (find_command (c, 0, 0, "_error", NULL, NULL), <, 0);
  g_assert_cmpint (find_command (c, 0, 0, "_result", &a, &txn), >=, 0);
  g_assert_cmpfloat (txn, ==, 1.0);
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpstr (rtmfp_tc_status_peek_code (a->pdata[1]), ==,
      "NetConnection.Connect.Success");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (a->pdata[1], "level",
          NULL), ==, "status");
  g_assert_true (rtmfp_amf_node_get_field_number (a->pdata[1],
          "objectEncoding", &enc));
  g_assert_cmpfloat (enc, ==, 0);
  g_ptr_array_unref (a);

  /* 5.3.2: the reply came on a server flow for stream 0 associated to our
   * control flow: metadata 54 43 04 00 */
  g_assert_nonnull (c->server_ctrl);
  md = rtmfp_recv_flow_get_metadata (c->server_ctrl, &mdlen);
  g_assert_cmpmem (md, mdlen, "TC\x04\x00", 4);

  /* 5.3.4: Set Keepalive Timers on stream 0 */
  for (i = 0; i < c->msgs->len; i++) {
    Msg *m = g_ptr_array_index (c->msgs, i);
    guint16 ev;
    guint32 args[2];
    guint n;
    gsize len;
    const guint8 *d = g_bytes_get_data (m->payload, &len);

    if (m->type != RTMFP_TC_MSG_USER_CONTROL)
      continue;
    g_assert_cmpuint (m->sid, ==, 0);
    g_assert_true (rtmfp_tc_user_control_parse (d, len, &ev, args, &n));
    if (ev == RTMFP_TC_EVENT_SET_KEEPALIVE) {
      g_assert_cmpuint (n, ==, 2);
      g_assert_cmpuint (args[0], ==, 15000);
      g_assert_cmpuint (args[1], ==, 10000);
      keepalive = TRUE;
    }
  }
  g_assert_true (keepalive);

  /* setPeerInfo is accepted without an answer; the connection stays up */
  {
    RtmfpAmfNode *args[3] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("192.0.2.129:50001", -1),
      rtmfp_amf_node_new_string ("[2001:db8:1::2]:50002", -1)
    };
    guint before = c->msgs->len;
    client_command (c, c->ctrl, "setPeerInfo", 0.0, 3, args);
    run_for (fx, 1 * SEC);
    g_assert_cmpint (find_command (c, before, 0, NULL, NULL, NULL), <, 0);
  }
  /* an unknown call with a transaction ID gets Call.Failed */
  {
    RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_null () };
    guint before = c->msgs->len;
    client_command (c, c->ctrl, "noSuchMethod", 7.0, 1, args);
    run_for (fx, 1 * SEC);
    g_assert_cmpint (find_status (c, before, 0, RTMFP_TC_CALL_FAILED), >=, 0);
  }
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.connections, ==, 1);
  g_assert_cmpuint (st.sessions, ==, 1);
  g_assert_cmpuint (st.connects_accepted, ==, 1);
  g_assert_cmpuint (st.bytes_in, >, 0);
  g_assert_cmpuint (st.bytes_out, >, 0);
  /* the simulated path has a real RTT: the mean of the connections' SRTT */
  g_assert_cmpfloat (st.rtt_ms, >, 0.0);
  g_assert_cmpfloat (st.rtt_ms, <, 1000.0);
  {
    gchar *line = rtmfp_server_stats_to_string (&st);
    g_assert_true (g_str_has_prefix (line, "stats sessions=1 connections=1 "));
    g_assert_nonnull (strstr (line, " rtt_ms="));
    g_assert_nonnull (strstr (line, " lost=0 "));
    g_assert_null (strchr (line, '\n'));
    g_free (line);
  }
  fixture_free (fx);
}

static void
test_connect_rejected (void)
{
  static const gchar *const apps[] = { "live", NULL };
  Fixture *fx = fixture_new_full (2, apps, TRUE);
  Client *bad = client_new (fx, "10.0.0.2:5000");
  Client *good = client_new (fx, "10.0.0.3:5000");
  GPtrArray *a = NULL;
  gdouble txn = -1;
  RtmfpServerStats st;

  client_connect (bad, "other");
  g_assert_cmpint (find_command (bad, 0, 0, "_result", NULL, NULL), <, 0);
  g_assert_cmpint (find_command (bad, 0, 0, "_error", &a, &txn), >=, 0);
  g_assert_cmpfloat (txn, ==, 1.0);
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpstr (rtmfp_tc_status_peek_code (a->pdata[1]), ==,
      "NetConnection.Connect.Rejected");
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (a->pdata[1], "level",
          NULL), ==, "error");
  g_assert_nonnull (strstr (rtmfp_tc_status_peek_description (a->pdata[1]),
          "other"));
  g_ptr_array_unref (a);
  /* 5.3.6: the server then closes its control flow */
  run_for (fx, 2 * SEC);
  g_assert_true (bad->server_ctrl_complete);
  /* and ignores anything else on the connection */
  {
    RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_null () };
    guint before = bad->msgs->len;
    client_command (bad, bad->ctrl, "createStream", 2.0, 1, args);
    run_for (fx, 1 * SEC);
    g_assert_cmpuint (bad->msgs->len, ==, before);
  }

  /* an app with an instance is an app of the list */
  client_connect_ok (good, "live/room1");
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.connects_rejected, ==, 1);
  g_assert_cmpuint (st.connects_accepted, ==, 1);
  g_assert_cmpuint (st.connections, ==, 1);
  fixture_free (fx);
}

static void
test_create_stream (void)
{
  Fixture *fx = fixture_new (3);
  Client *c = client_new (fx, "10.0.0.2:5000");
  guint32 a, b;

  client_connect_ok (c, "live");
  a = client_create_stream (c);
  b = client_create_stream (c);
  g_assert_cmpuint (a, !=, b);
  g_assert_cmpuint (a, >=, 1);
  g_assert_cmpuint (b, >=, 1);

  /* the same as a type 17 command (format byte 0, 5.3.3) */
  {
    RtmfpAmfNode *null = rtmfp_amf_node_new_null ();
    GByteArray *amf = rtmfp_amf_serialize_command ("createStream", 9.0, null,
        NULL);
    GByteArray *pl = g_byte_array_new ();
    guint8 zero = 0;
    Want w = { c, c->msgs->len, 0, NULL, NULL };
    GPtrArray *args = NULL;
    gdouble txn = 0;

    g_byte_array_append (pl, &zero, 1);
    g_byte_array_append (pl, amf->data, amf->len);
    client_write (c, c->ctrl, RTMFP_TC_MSG_COMMAND_AMF3, 0, pl->data,
        pl->len);
    g_assert_true (run_until (fx, cond_created, &w, 5 * SEC));
    g_assert_cmpint (find_command (c, w.from, 0, "_result", &args, &txn), >=,
        0);
    g_assert_cmpfloat (txn, ==, 9.0);
    g_assert_cmpfloat (rtmfp_amf_node_get_number (args->pdata[1]), !=, a);
    g_assert_cmpfloat (rtmfp_amf_node_get_number (args->pdata[1]), !=, b);
    g_ptr_array_unref (args);
    g_byte_array_unref (amf);
    g_byte_array_unref (pl);
    rtmfp_amf_node_free (null);
  }
  fixture_free (fx);
}

/* Flows that are not TC flows, flows for streams never created, and
 * garbage on the control flow are refused or ignored; the connection
 * keeps working. */
static void
test_bad_flows (void)
{
  Fixture *fx = fixture_new (4);
  Client *c = client_new (fx, "10.0.0.2:5000");
  RtmfpSendFlow *f;
  guint64 code = 99;
  static const guint8 junk[] = { 0x02, 0x00, 0x30, 'x' };

  client_connect_ok (c, "live");
  f = rtmfp_session_open_flow (c->session, (const guint8 *) "XY\x04\x01", 4,
      c->server_ctrl);
  g_assert_true (rtmfp_session_write (c->session, f, junk, sizeof (junk),
          RTMFP_NO_DEADLINE, 0, cl_now (c)));
  rtmfp_sim_net_kick (fx->net);
  run_for (fx, 1 * SEC);
  g_assert_true (rtmfp_send_flow_get_exception (f, &code));
  g_assert_cmpuint (code, ==, 0);

  f = client_open_flow (c, 77, FALSE, c->server_ctrl);
  client_write (c, f, RTMFP_TC_MSG_COMMAND_AMF0, 0, junk, sizeof (junk));
  run_for (fx, 1 * SEC);
  g_assert_true (rtmfp_send_flow_get_exception (f, &code));

  client_write (c, c->ctrl, RTMFP_TC_MSG_COMMAND_AMF0, 0, junk, sizeof (junk));
  client_write (c, c->ctrl, RTMFP_TC_MSG_COMMAND_AMF3, 0, junk, sizeof (junk));
  client_write (c, c->ctrl, RTMFP_TC_MSG_SET_CHUNK_SIZE, 0, junk, 4);
  client_write (c, c->ctrl, RTMFP_TC_MSG_VIDEO, 0, NULL, 0);
  run_for (fx, 1 * SEC);
  g_assert_cmpuint (client_create_stream (c), >=, 1);
  fixture_free (fx);
}

/* Publish + play: audio, video and data relayed intact, in order, with
 * their timestamps, on the player's flows (5.3.5.2) */
static void
test_relay (void)
{
  Fixture *fx = fixture_new (5);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  GPtrArray *video, *audio, *data;
  GByteArray *md = metadata_payload (FALSE);
  GPtrArray *sent_v = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  GPtrArray *sent_a = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  GByteArray *cue = g_byte_array_new ();
  guint i, n;
  gint idx;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");

  /* Figure 5: StreamBegin(stream id) before the statuses */
  idx = find_status (q, 0, q->stream_id, RTMFP_TC_PLAY_RESET);
  g_assert_cmpint (idx, >=, 0);
  g_assert_cmpint (find_status (q, 0, q->stream_id, RTMFP_TC_PLAY_START), >,
      idx);
  for (i = 0; i < (guint) idx; i++) {
    Msg *m = g_ptr_array_index (q->msgs, i);
    if (m->sid == q->stream_id) {
      gsize len;
      const guint8 *d = g_bytes_get_data (m->payload, &len);
      static const guint8 begin[] = { 0, 0, 0, 0, 0, 0 };
      g_assert_cmpuint (m->type, ==, RTMFP_TC_MSG_USER_CONTROL);
      g_assert_cmpuint (len, ==, 6);
      g_assert_cmpmem (d, 2, begin, 2);
      g_assert_cmpuint (frame_index (m->payload, 2), ==, q->stream_id);
      break;
    }
  }
  g_assert_cmpuint (i, <, (guint) idx);

  publish_headers (p);
  g_ptr_array_add (sent_v, g_bytes_new (avc_header, sizeof (avc_header)));
  g_ptr_array_add (sent_a, g_bytes_new (aac_header, sizeof (aac_header)));
  for (n = 0; n < 50; n++) {
    publish_frame (p, n, 25, 700);
    g_ptr_array_add (sent_v, video_frame (n % 25 == 0, n,
            n % 25 == 0 ? 2800 : 700));
    g_ptr_array_add (sent_a, audio_frame (2 * n, 64));
    g_ptr_array_add (sent_a, audio_frame (2 * n + 1, 64));
    if (n == 30) {
      RtmfpAmfNode *s = rtmfp_amf_node_new_string ("onCuePoint", -1);
      RtmfpAmfNode *o = rtmfp_amf_node_new_object ();
      rtmfp_amf_node_append_field_string (o, "name", "mark", -1);
      rtmfp_amf_node_serialize (s, cue);
      rtmfp_amf_node_serialize (o, cue);
      rtmfp_amf_node_free (s);
      rtmfp_amf_node_free (o);
      client_write (p, p->sflow, RTMFP_TC_MSG_DATA_AMF0, 1200, cue->data,
          cue->len);
    }
    run_for (fx, 40 * MS);
  }
  run_for (fx, 2 * SEC);

  video = media_of (q, RTMFP_TC_MSG_VIDEO);
  audio = media_of (q, RTMFP_TC_MSG_AUDIO);
  data = media_of (q, RTMFP_TC_MSG_DATA_AMF0);
  g_assert_cmpuint (video->len, ==, sent_v->len);
  g_assert_cmpuint (audio->len, ==, sent_a->len);
  for (i = 0; i < video->len; i++) {
    Msg *m = g_ptr_array_index (video, i);
    g_assert_true (g_bytes_equal (m->payload, sent_v->pdata[i]));
    g_assert_cmpuint (m->ts, ==, i == 0 ? 0 : (i - 1) * 40);
    g_assert_cmpuint (m->gap, ==, 0);
    g_assert_true (m->assoc_ctrl);
    g_assert_false (m->rxi);
  }
  for (i = 0; i < audio->len; i++) {
    Msg *m = g_ptr_array_index (audio, i);
    g_assert_true (g_bytes_equal (m->payload, sent_a->pdata[i]));
    g_assert_cmpuint (m->ts, ==, i == 0 ? 0 : (i - 1) * 20);
    g_assert_true (m->assoc_ctrl);
    g_assert_true (m->rxi);     /* audio flow: network arrival order hint */
  }
  /* metadata without "@setDataFrame", then the cue point */
  g_assert_cmpuint (data->len, ==, 2);
  g_assert_true (bytes_equal_mem (((Msg *) data->pdata[0])->payload,
          md->data, md->len));
  g_assert_true (bytes_equal_mem (((Msg *) data->pdata[1])->payload,
          cue->data, cue->len));
  g_assert_cmpuint (((Msg *) data->pdata[1])->ts, ==, 1200);
  /* one flow per kind, all for the player's stream ID */
  g_assert_cmpuint (((Msg *) video->pdata[0])->flow_id, !=,
      ((Msg *) audio->pdata[0])->flow_id);
  g_assert_cmpuint (((Msg *) video->pdata[0])->flow_id, !=,
      ((Msg *) data->pdata[0])->flow_id);

  g_ptr_array_unref (video);
  g_ptr_array_unref (audio);
  g_ptr_array_unref (data);
  g_ptr_array_unref (sent_v);
  g_ptr_array_unref (sent_a);
  g_byte_array_unref (md);
  g_byte_array_unref (cue);
  fixture_free (fx);
}

static void
test_publish_bad_name (void)
{
  Fixture *fx = fixture_new (6);
  Client *p1 = client_new (fx, "10.0.0.2:5000");
  Client *p2 = client_new (fx, "10.0.0.3:5000");
  Client *p3 = client_new (fx, "10.0.0.4:5000");
  RtmfpAmfNode *args[1];

  client_connect_ok (p1, "live");
  client_publish (p1, "cam");
  client_connect_ok (p2, "live");
  client_start (p2, "publish", "cam?token=1");  /* same name, with a query */
  g_assert_true (wait_status (p2, p2->stream_id, RTMFP_TC_PUBLISH_BADNAME,
          5 * SEC));
  g_assert_cmpint (find_status (p2, 0, p2->stream_id,
          RTMFP_TC_PUBLISH_START), <, 0);
  /* the same name in another app is another stream */
  client_connect_ok (p3, "other");
  client_publish (p3, "cam");

  /* once p1 stops (closeStream), the name is free again */
  args[0] = rtmfp_amf_node_new_null ();
  client_command (p1, p1->sflow, "closeStream", 0.0, 1, args);
  run_for (fx, 1 * SEC);
  args[0] = rtmfp_amf_node_new_null ();
  {
    RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("cam", -1)
    };
    client_command (p2, p2->sflow, "publish", 0.0, 2, a);
  }
  rtmfp_amf_node_free (args[0]);
  g_assert_true (wait_status (p2, p2->stream_id, RTMFP_TC_PUBLISH_START,
          5 * SEC));
  fixture_free (fx);
}

typedef struct {
  Client *c;
  guint8 type;
  guint count;
} WantMedia;

static gboolean
cond_media (gpointer ud)
{
  WantMedia *w = ud;
  GPtrArray *a = media_of (w->c, w->type);
  gboolean ok = a->len >= w->count;
  g_ptr_array_unref (a);
  return ok;
}

/* A player joining 2 s late gets metadata and the sequence headers first,
 * then video from the next keyframe and audio from that keyframe's time
 * (a coherent start); the first player gets everything. */
static void
test_late_player (void)
{
  Fixture *fx = fixture_new (7);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q1 = client_new (fx, "10.0.0.3:5000");
  Client *q2 = client_new (fx, "10.0.0.4:5000");
  GByteArray *md = metadata_payload (FALSE);
  GPtrArray *v1, *v2, *a2, *d2;
  guint n, i, join_frame;
  gint64 t_meta = -1;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q1, "live");
  client_play (q1, "cam");
  client_connect_ok (q2, "live");

  publish_headers (p);
  /* 2 s of a stream with a keyframe every 30 frames (1.2 s) */
  for (n = 0; n < 50; n++) {
    publish_frame (p, n, 30, 500);
    run_for (fx, 40 * MS);
  }
  /* q2 joins at frame 50 (keyframes at 0, 30, 60) */
  client_play (q2, "cam");
  join_frame = n;
  for (; n < 90; n++) {
    publish_frame (p, n, 30, 500);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 2 * SEC);

  v1 = media_of (q1, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (v1->len, ==, 1 + 90);
  v2 = media_of (q2, RTMFP_TC_MSG_VIDEO);
  a2 = media_of (q2, RTMFP_TC_MSG_AUDIO);
  d2 = media_of (q2, RTMFP_TC_MSG_DATA_AMF0);

  /* metadata first */
  g_assert_cmpuint (d2->len, >=, 1);
  g_assert_true (bytes_equal_mem (((Msg *) d2->pdata[0])->payload, md->data,
          md->len));
  t_meta = ((Msg *) d2->pdata[0])->at;
  /* video: the sequence header, then the keyframe of frame 60 and what
   * follows it, nothing in between */
  g_assert_cmpuint (v2->len, ==, 1 + (90 - 60));
  g_assert_true (bytes_equal_mem (((Msg *) v2->pdata[0])->payload,
          avc_header, sizeof (avc_header)));
  g_assert_cmpuint (((Msg *) v2->pdata[0])->ts, >=, (join_frame - 1) * 40);
  g_assert_true (rtmfp_flv_video_is_keyframe (g_bytes_get_data (((Msg *)
                  v2->pdata[1])->payload, NULL), 5));
  for (i = 1; i < v2->len; i++) {
    Msg *m = g_ptr_array_index (v2, i);
    g_assert_cmpuint (frame_index (m->payload, 5), ==, 60 + i - 1);
    g_assert_cmpuint (m->ts, ==, (60 + i - 1) * 40);
  }
  g_assert_cmpint (t_meta, <=, ((Msg *) v2->pdata[1])->at);
  /* audio: the AAC header, then every frame from the keyframe's time on
   * (frame 60), none before it, and none before the keyframe itself */
  g_assert_cmpuint (a2->len, ==, 1 + 2 * (90 - 60));
  g_assert_true (bytes_equal_mem (((Msg *) a2->pdata[0])->payload,
          aac_header, sizeof (aac_header)));
  for (i = 1; i < a2->len; i++) {
    Msg *m = g_ptr_array_index (a2, i);
    g_assert_cmpuint (frame_index (m->payload, 2), ==, 2 * 60 + i - 1);
    g_assert_cmpuint (m->ts, >=, 60 * 40);
  }
  g_assert_cmpint (((Msg *) a2->pdata[1])->at, >=,
      ((Msg *) v2->pdata[1])->at);
  g_assert_cmpuint (join_frame, <, 60);

  g_ptr_array_unref (v1);
  g_ptr_array_unref (v2);
  g_ptr_array_unref (a2);
  g_ptr_array_unref (d2);
  g_byte_array_unref (md);
  fixture_free (fx);
}

/* One player leaving (deleteStream, or its flows rejected) does not
 * disturb the other */
static void
test_player_leaves (void)
{
  Fixture *fx = fixture_new (8);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q1 = client_new (fx, "10.0.0.3:5000");
  Client *q2 = client_new (fx, "10.0.0.4:5000");
  Client *q3 = client_new (fx, "10.0.0.5:5000");
  GPtrArray *v;
  guint n;
  RtmfpServerStats st;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q1, "live");
  client_play (q1, "cam");
  client_connect_ok (q2, "live");
  client_play (q2, "cam");
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.players, ==, 2);
  /* q3 refuses the server's flows for its stream (5.3.5.3): the server
   * stops playing to it */
  client_connect_ok (q3, "live");
  q3->reject_media = TRUE;
  client_start (q3, "play", "cam");
  run_for (fx, 1 * SEC);
  g_assert_cmpuint (q3->n_flows_rejected, >=, 1);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.players, ==, 2);

  publish_headers (p);
  for (n = 0; n < 20; n++) {
    publish_frame (p, n, 10, 300);
    run_for (fx, 40 * MS);
    if (n == 5) {
      RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
        rtmfp_amf_node_new_number (q2->stream_id)
      };
      client_command (q2, q2->ctrl, "deleteStream", 0.0, 2, a);
    }
  }
  run_for (fx, 2 * SEC);
  v = media_of (q1, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (v->len, ==, 21);
  g_ptr_array_unref (v);
  v = media_of (q2, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (v->len, <, 10);
  g_ptr_array_unref (v);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.players, ==, 1);
  g_assert_cmpuint (st.streams, ==, 1);

  /* q2 closes its session abruptly: p and q1's stream unaffected */
  rtmfp_session_abort (q2->session, cl_now (q2));
  rtmfp_sim_net_kick (fx->net);
  run_for (fx, 1 * SEC);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.players, ==, 1);
  g_assert_cmpuint (st.connections, ==, 3);
  fixture_free (fx);
}

/* Publisher leaving: players get UnpublishNotify (closeStream at once, a
 * closed session within the housekeeping period); a new publisher of the
 * name reaches the waiting players with PublishNotify */
static void
test_publisher_leaves (void)
{
  Fixture *fx = fixture_new (9);
  Client *p1 = client_new (fx, "10.0.0.2:5000");
  Client *p2 = client_new (fx, "10.0.0.3:5000");
  Client *q = client_new (fx, "10.0.0.4:5000");
  RtmfpServerStats st;
  WantMedia wm;
  GPtrArray *v;
  guint n;
  gint u1, u2;
  gint64 t0;

  client_connect_ok (p1, "live");
  client_publish (p1, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  publish_headers (p1);
  for (n = 0; n < 5; n++) {
    publish_frame (p1, n, 10, 300);
    run_for (fx, 40 * MS);
  }
  /* p1 closes its session (orderly): no closeStream at all */
  t0 = cl_now (q);
  rtmfp_session_close (p1->session, cl_now (p1));
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (wait_status (q, q->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 3 * SEC));
  g_assert_cmpint (cl_now (q) - t0, <, 1 * SEC);
  u1 = find_status (q, 0, q->stream_id, RTMFP_TC_PLAY_UNPUBLISHNOTIFY);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 0);
  g_assert_cmpuint (st.players, ==, 1);

  /* p2 publishes the name: q hears of it and gets its media from a
   * keyframe */
  client_connect_ok (p2, "live");
  client_publish (p2, "cam");
  g_assert_true (wait_status (q, q->stream_id, RTMFP_TC_PLAY_PUBLISHNOTIFY,
          3 * SEC));
  g_assert_cmpint (find_status (q, 0, q->stream_id,
          RTMFP_TC_PLAY_PUBLISHNOTIFY), >, u1);
  publish_headers (p2);
  for (n = 0; n < 10; n++) {
    publish_frame (p2, n + 3, 10, 300);   /* first keyframe: frame 10 */
    run_for (fx, 40 * MS);
  }
  wm.c = q;
  wm.type = RTMFP_TC_MSG_VIDEO;
  wm.count = 1 + 5 + 1 + 3;     /* p1: header + 5, p2: header + 10..12 */
  g_assert_true (run_until (fx, cond_media, &wm, 3 * SEC));
  v = media_of (q, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (v->len, ==, 1 + 5 + 1 + 3);
  g_assert_true (bytes_equal_mem (((Msg *) v->pdata[6])->payload,
          avc_header, sizeof (avc_header)));
  g_assert_cmpuint (frame_index (((Msg *) v->pdata[7])->payload, 5), ==, 10);
  g_ptr_array_unref (v);

  /* closeStream: UnpublishNotify again */
  {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };
    client_command (p2, p2->sflow, "closeStream", 0.0, 1, a);
  }
  g_assert_true (run_until (fx, cond_command, &(Want) {
          q, u1 + 1, q->stream_id, NULL, RTMFP_TC_PLAY_UNPUBLISHNOTIFY},
          2 * SEC));
  u2 = find_status (q, u1 + 1, q->stream_id, RTMFP_TC_PLAY_UNPUBLISHNOTIFY);
  g_assert_cmpint (u2, >, u1);
  fixture_free (fx);
}

/* Flows are not ordered with each other: a publisher's deleteStream (on
 * its control flow) and the close of its control flow may overtake its
 * last video frame (delayed here by a lost packet).  The publication
 * lingers until the publisher's stream flows are complete: the player
 * gets the last frame and UnpublishNotify (on another flow: in either
 * order); the session closes after. */
typedef struct {
  RtmfpAddr from;
  gboolean drop_large;
  guint dropped;
} HoldFilter;

static gboolean
hold_filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  HoldFilter *hf = ud;

  if (hf->drop_large && len > 600 && rtmfp_addr_equal (from, &hf->from)) {
    hf->dropped++;
    return FALSE;
  }
  return TRUE;
}

static void
test_publisher_close_linger (void)
{
  Fixture *fx = fixture_new (15);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  HoldFilter hf = { 0 };
  RtmfpServerStats st;
  GPtrArray *v;
  WantMedia wm;
  GBytes *last = video_frame (TRUE, 10, 4 * 1500);
  guint n;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  publish_headers (p);
  for (n = 0; n < 10; n++) {
    publish_frame (p, n, 10, 300);
    run_for (fx, 40 * MS);
  }
  hf.from = *rtmfp_sim_host_get_address (p->host);
  rtmfp_sim_net_set_filter (fx->net, hold_filter, &hf);
  /* the last frame (a keyframe of 4 x 1500 bytes) is lost once */
  hf.drop_large = TRUE;
  publish_frame (p, 10, 10, 1500);
  run_for (fx, 5 * MS);
  g_assert_cmpuint (hf.dropped, >, 0);
  /* then, as rtmfptcclient closes: closeStream, deleteStream, flows */
  {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };
    client_command (p, p->sflow, "closeStream", 0.0, 1, a);
  }
  {
    RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_number (p->stream_id)
    };
    client_command (p, p->ctrl, "deleteStream", 0.0, 2, a);
  }
  rtmfp_session_close_flow (p->session, p->sflow, cl_now (p));
  rtmfp_session_close_flow (p->session, p->aflow, cl_now (p));
  rtmfp_session_close_flow (p->session, p->vflow, cl_now (p));
  rtmfp_session_close_flow (p->session, p->ctrl, cl_now (p));
  rtmfp_sim_net_kick (fx->net);
  run_for (fx, 60 * MS);
  /* the commands are through, the frame is not: still published */
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 1);
  g_assert_cmpint (find_status (q, 0, q->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY), <, 0);
  hf.drop_large = FALSE;
  wm.c = q;
  wm.type = RTMFP_TC_MSG_VIDEO;
  wm.count = 1 + 11;
  g_assert_true (run_until (fx, cond_media, &wm, LINGER_TEST_MAX));
  g_assert_true (wait_status (q, q->stream_id, RTMFP_TC_PLAY_UNPUBLISHNOTIFY,
          2 * SEC));
  v = media_of (q, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (v->len, ==, 1 + 11);
  g_assert_cmpuint (frame_index (((Msg *) v->pdata[11])->payload, 5), ==, 10);
  g_assert_true (bytes_equal_mem (((Msg *) v->pdata[11])->payload,
          g_bytes_get_data (last, NULL), g_bytes_get_size (last)));
  g_ptr_array_unref (v);
  g_bytes_unref (last);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 0);
  /* and the connection is over */
  run_for (fx, 1 * SEC);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.connections, ==, 1);
  rtmfp_sim_net_set_filter (fx->net, NULL, NULL);
  fixture_free (fx);
}

/* play of a name nobody publishes: StreamNotFound when the server does not
 * wait for publishers, and for a play of recorded content (start >= 0) */
static void
test_play_not_found (void)
{
  Fixture *fx = fixture_new_full (10, NULL, FALSE);
  Client *q = client_new (fx, "10.0.0.3:5000");
  Client *r;

  client_connect_ok (q, "live");
  client_start (q, "play", "nothing");
  g_assert_true (wait_status (q, q->stream_id,
          RTMFP_TC_PLAY_STREAMNOTFOUND, 3 * SEC));
  g_assert_cmpint (find_status (q, 0, q->stream_id, RTMFP_TC_PLAY_START), <,
      0);
  fixture_free (fx);

  fx = fixture_new (11);
  r = client_new (fx, "10.0.0.4:5000");
  client_connect_ok (r, "live");
  r->stream_id = client_create_stream (r);
  r->sflow = client_open_flow (r, r->stream_id, FALSE, r->server_ctrl);
  {
    RtmfpAmfNode *a[3] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("vod", -1), rtmfp_amf_node_new_number (0)
    };
    client_command (r, r->sflow, "play", 0.0, 3, a);
  }
  g_assert_true (wait_status (r, r->stream_id,
          RTMFP_TC_PLAY_STREAMNOTFOUND, 3 * SEC));
  fixture_free (fx);
}

/* Loss on the server -> player path, then an outage: the server abandons
 * expired media instead of piling it up, and the player is current again
 * soon after the outage. */
typedef struct {
  GRand *rand;
  RtmfpAddr player;
  gdouble loss;
} LossFilter;

static gboolean
loss_filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  LossFilter *lf = ud;

  if (rtmfp_addr_equal (to, &lf->player) &&
      g_rand_double (lf->rand) < lf->loss)
    return FALSE;
  return TRUE;
}

static void
test_expired_media (void)
{
  Fixture *fx = fixture_new (12);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  LossFilter lf;
  RtmfpServerStats st;
  GPtrArray *a;
  guint n, i, before = 0, late = 0, fresh = 0;
  guint32 outage_end_ts = 0;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  publish_headers (p);

  lf.rand = g_rand_new_with_seed (1234);
  lf.player = *rtmfp_sim_host_get_address (q->host);
  lf.loss = 0.25;
  rtmfp_sim_net_set_filter (fx->net, loss_filter, &lf);

  /* 8 s under 25 % loss, 4 s outage, 6 s to recover; ~1 Mbit/s video */
  for (n = 0; n < 450; n++) {
    if (n == 200)
      rtmfp_sim_host_set_blackhole (q->host, TRUE);
    if (n == 300) {
      rtmfp_sim_host_set_blackhole (q->host, FALSE);
      outage_end_ts = n * 40;
      before = q->msgs->len;
    }
    publish_frame (p, n, 50, 4000);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 2 * SEC);

  rtmfp_server_get_stats (fx->srv, &st);
  g_test_message ("relayed %" G_GUINT64_FORMAT " abandoned %" G_GUINT64_FORMAT
      " dropped %" G_GUINT64_FORMAT, st.messages_relayed,
      st.messages_abandoned, st.messages_dropped);
  g_assert_cmpuint (st.messages_abandoned, >, 0);

  /* after the outage, stale audio is not delivered: everything that came
   * was at most ~a lifetime old at the end of the outage */
  for (i = before; i < q->msgs->len; i++) {
    Msg *m = g_ptr_array_index (q->msgs, i);
    if (m->sid != q->stream_id || m->type != RTMFP_TC_MSG_AUDIO)
      continue;
    if (m->ts + 1000 < outage_end_ts) {
      g_test_message ("stale audio ts %u (%" G_GSIZE_FORMAT " bytes) at %"
          G_GINT64_FORMAT " ms", m->ts, g_bytes_get_size (m->payload),
          m->at / 1000);
      late++;
    }
    else
      fresh++;
  }
  a = media_of (q, RTMFP_TC_MSG_AUDIO);
  g_test_message ("after the outage: %u stale, %u fresh audio", late, fresh);
  g_assert_cmpuint (late, ==, 0);
  /* and the player is current again: audio of the last second arrived */
  g_assert_cmpuint (fresh, >, 50);
  {
    Msg *last = g_ptr_array_index (a, a->len - 1);
    g_assert_cmpuint (last->ts + 1000, >=, 449 * 40);
  }
  g_ptr_array_unref (a);
  rtmfp_sim_net_set_filter (fx->net, NULL, NULL);
  g_rand_free (lf.rand);
  fixture_free (fx);
}

/* A player that cannot keep up (an outage with 4 Mbit/s of video): the
 * server drops video for it instead of queueing without bound, and the
 * player restarts at a keyframe afterwards. */
static void
test_backpressure (void)
{
  Fixture *fx = fixture_new (13);
  Client *p = client_new (fx, "10.0.0.2:5000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  RtmfpServerStats st;
  GPtrArray *v;
  guint n, i, before = 0;
  gboolean seen_first = FALSE;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  publish_headers (p);
  for (n = 0; n < 300; n++) {
    if (n == 50)
      rtmfp_sim_host_set_blackhole (q->host, TRUE);
    if (n == 150) {
      rtmfp_sim_host_set_blackhole (q->host, FALSE);
      before = q->msgs->len;
    }
    publish_frame (p, n, 40, 20000);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 2 * SEC);

  rtmfp_server_get_stats (fx->srv, &st);
  g_test_message ("relayed %" G_GUINT64_FORMAT " abandoned %" G_GUINT64_FORMAT
      " dropped %" G_GUINT64_FORMAT, st.messages_relayed,
      st.messages_abandoned, st.messages_dropped);
  g_assert_cmpuint (st.messages_dropped, >, 0);
  g_assert_cmpuint (st.messages_abandoned, >, 0);

  /* after the outage: headers, then a keyframe before any inter frame */
  for (i = before; i < q->msgs->len; i++) {
    Msg *m = g_ptr_array_index (q->msgs, i);
    gsize len;
    const guint8 *d;

    if (m->sid != q->stream_id || m->type != RTMFP_TC_MSG_VIDEO)
      continue;
    d = g_bytes_get_data (m->payload, &len);
    if (rtmfp_flv_video_is_sequence_header (d, len))
      continue;
    if (!seen_first) {
      g_assert_true (rtmfp_flv_video_is_keyframe (d, len));
      seen_first = TRUE;
    }
  }
  g_assert_true (seen_first);
  /* and it is current again */
  v = media_of (q, RTMFP_TC_MSG_VIDEO);
  g_assert_cmpuint (((Msg *) v->pdata[v->len - 1])->ts + 2000, >=, 299 * 40);
  g_ptr_array_unref (v);
  fixture_free (fx);
}

static gboolean
cond_session_open (gpointer ud)
{
  RtmfpSession **s = ud;
  return rtmfp_session_get_state (*s) == RTMFP_SESSION_OPEN;
}

/* Introduction (RFC 7016 3.5.1.6, RFC 7425 5.4.1): an IHello for the peer
 * ID of a connected client, sent to the server, ends in a direct session
 * with that client. */
static void
test_introduction (void)
{
  Fixture *fx = fixture_new (14);
  Client *a = client_new_full (fx, "10.0.0.2:5000", TRUE);
  Client *b = client_new (fx, "10.0.0.3:5000");
  GByteArray *epd = g_byte_array_new ();
  RtmfpSession *s;
  gchar buf[RTMFP_ADDR_STRLEN];

  client_connect_ok (a, "live");
  {
    RtmfpAmfNode *args[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("10.0.0.2:5000", -1)
    };
    client_command (a, a->ctrl, "setPeerInfo", 0.0, 2, args);
  }
  run_for (fx, 500 * MS);

  rtmfp_epd_append_fingerprint (epd, rtmfp_identity_get_fingerprint
      (rtmfp_endpoint_get_identity (a->ep)));
  s = rtmfp_endpoint_open_session (b->ep, epd->data, epd->len,
      rtmfp_sim_host_get_address (fx->host), 1, cl_now (b));
  g_assert_nonnull (s);
  rtmfp_session_ref (s);
  rtmfp_sim_net_kick (fx->net);
  g_byte_array_unref (epd);
  /* the server redirects b to a and forwards the IHello to a, which
   * answers b directly */
  g_assert_true (run_until (fx, cond_session_open, &s, 10 * SEC));
  g_assert_cmpstr (rtmfp_addr_to_string (rtmfp_session_get_far_address (s),
          buf), ==, "10.0.0.2:5000");
  rtmfp_session_unref (s);
  fixture_free (fx);
}

/* ------------------------------------------------------------------------ */
/* A minimal RTMP client on an in-memory byte pipe: this test is its
 * driver, as rtmpserverio.c is in rtmfp-server (feed what the client
 * sends, take what the server has to send, close when told). */

#define RTMP_HANDSHAKE_SIZE 1536

typedef struct {
  guint32 csid;
  guint32 sid;                  /* message stream ID */
  guint8 type;
  guint32 ts;
  GBytes *payload;
  gint64 at;
} RMsg;

typedef struct {
  Fixture *fx;
  RtmfpServerRtmpConn *rc;
  RtmpChunkReader *reader;
  RtmpChunkWriter *writer;
  GByteArray *in;               /* from the server, not parsed yet */
  gboolean handshaken;
  guint8 c1[RTMP_HANDSHAKE_SIZE];
  GPtrArray *msgs;              /* RMsg, in arrival order */
  guint32 stream_id;
  gboolean paused;              /* a player that does not read */
  gboolean closed;              /* the server side was closed */
  gboolean feed_refused;        /* feed said no more input is wanted */
  guint wakes;
  gdouble txn;
} RtmpClient;

static void
rmsg_free (gpointer data)
{
  RMsg *m = data;

  g_bytes_unref (m->payload);
  g_free (m);
}

static void
rtmp_on_wake (RtmfpServerRtmpConn * rc, gpointer data)
{
  RtmpClient *c = data;

  g_assert_true (c->rc == rc);
  c->wakes++;
}

/* Closes the "socket": the server side goes */
static void
rtmp_client_disconnect (RtmpClient * c)
{
  if (c->closed)
    return;
  c->closed = TRUE;
  rtmfp_server_rtmp_conn_free (c->rc);
  c->rc = NULL;
  rtmfp_sim_net_kick (c->fx->net);
}

static void
rtmp_client_free (gpointer data)
{
  RtmpClient *c = data;

  if (!c->closed)
    rtmfp_server_rtmp_conn_free (c->rc);
  rtmp_chunk_reader_free (c->reader);
  rtmp_chunk_writer_free (c->writer);
  g_byte_array_unref (c->in);
  g_ptr_array_unref (c->msgs);
  g_free (c);
}

static void
rtmp_client_feed (RtmpClient * c, const guint8 * d, gsize len)
{
  g_assert_false (c->closed);
  if (!rtmfp_server_rtmp_conn_feed (c->rc, d, len))
    c->feed_refused = TRUE;
  /* RTMFP flows may have been written to */
  rtmfp_sim_net_kick (c->fx->net);
}

/* Takes the server's output and parses it; TRUE if anything moved */
static gboolean
rtmp_client_pump (RtmpClient * c)
{
  gboolean moved = FALSE;
  gsize len, pos = 0;
  const guint8 *d;

  if (c->closed)
    return FALSE;
  while (!c->paused && (d = rtmfp_server_rtmp_conn_peek_output (c->rc,
              &len))) {
    g_byte_array_append (c->in, d, len);
    rtmfp_server_rtmp_conn_consume_output (c->rc, len);
    moved = TRUE;
  }
  if (!c->handshaken && c->in->len >= 1 + 2 * RTMP_HANDSHAKE_SIZE) {
    /* S0 version 3, S1, S2 = our C1 echoed (RTMP 1.0 5.2.3, 5.2.4) */
    g_assert_cmpuint (c->in->data[0], ==, 3);
    g_assert_cmpmem (c->in->data + 1 + RTMP_HANDSHAKE_SIZE,
        RTMP_HANDSHAKE_SIZE, c->c1, RTMP_HANDSHAKE_SIZE);
    c->handshaken = TRUE;
    pos = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    /* C2 = S1 echoed */
    rtmp_client_feed (c, c->in->data + 1, RTMP_HANDSHAKE_SIZE);
    if (c->closed)
      return TRUE;
  }
  while (c->handshaken && pos < c->in->len) {
    RtmpMessage msg;
    gsize used = 0;
    const gchar *err = NULL;
    RtmpChunkResult r;
    RMsg *m;

    r = rtmp_chunk_reader_next (c->reader, c->in->data + pos,
        c->in->len - pos, &used, &msg, &err);
    pos += used;
    g_assert_cmpint (r, !=, RTMP_CHUNK_ERROR);
    if (r == RTMP_CHUNK_NEED_MORE)
      break;
    if (msg.type == RTMP_MSG_SET_CHUNK_SIZE) {
      g_assert_cmpuint (msg.len, ==, 4);
      g_assert_true (rtmp_chunk_reader_set_chunk_size (c->reader,
              GUINT32_FROM_BE (*(guint32 *) msg.payload)));
    }
    m = g_new0 (RMsg, 1);
    m->csid = msg.csid;
    m->sid = msg.stream_id;
    m->type = msg.type;
    m->ts = msg.timestamp;
    m->payload = g_bytes_new (msg.payload, msg.len);
    m->at = rtmfp_sim_net_now (c->fx->net);
    g_ptr_array_add (c->msgs, m);
  }
  g_byte_array_remove_range (c->in, 0, pos);
  if (rtmfp_server_rtmp_conn_should_close (c->rc)) {
    rtmp_client_disconnect (c);
    moved = TRUE;
  }
  return moved;
}

static void
rtmp_clients_pump (Fixture * fx)
{
  gboolean moved;

  do {
    moved = FALSE;
    for (guint i = 0; i < fx->rtmp_clients->len; i++)
      moved |= rtmp_client_pump (g_ptr_array_index (fx->rtmp_clients, i));
  } while (moved);
}

/* TCP connection and C0 + C1 */
static RtmpClient *
rtmp_client_new (Fixture * fx, const gchar * peer)
{
  RtmpClient *c = g_new0 (RtmpClient, 1);
  guint8 c0 = 3;
  guint i;

  c->fx = fx;
  c->rc = rtmfp_server_rtmp_conn_new (fx->srv, peer, rtmp_on_wake, c);
  c->reader = rtmp_chunk_reader_new (NULL);
  c->writer = rtmp_chunk_writer_new ();
  c->in = g_byte_array_new ();
  c->msgs = g_ptr_array_new_with_free_func (rmsg_free);
  c->txn = 1;
  for (i = 0; i < RTMP_HANDSHAKE_SIZE; i++)
    c->c1[i] = (guint8) (i * 13 + 5);
  g_ptr_array_add (fx->rtmp_clients, c);
  rtmp_client_feed (c, &c0, 1);
  rtmp_client_feed (c, c->c1, RTMP_HANDSHAKE_SIZE);
  return c;
}

/* One message, cut into chunks by the codec */
static void
rtmp_client_send (RtmpClient * c, guint32 csid, guint32 sid, guint8 type,
    guint32 ts, const guint8 * payload, gsize len)
{
  GByteArray *b = g_byte_array_new ();

  g_assert_true (rtmp_chunk_writer_write (c->writer, b, csid, sid, type, ts,
          payload, len));
  rtmp_client_feed (c, b->data, b->len);
  g_byte_array_unref (b);
}

static void
rtmp_client_send_bytes (RtmpClient * c, guint32 csid, guint8 type,
    guint32 ts, GBytes * b)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  rtmp_client_send (c, csid, c->stream_id, type, ts, d, len);
}

/* A type 20 command on chunk stream 3; takes the arguments */
static void
rtmp_client_command (RtmpClient * c, guint32 sid, const gchar * name,
    gdouble txn, guint n, RtmfpAmfNode ** args)
{
  GByteArray *b = rtmfp_amf_serialize_command_with_args (name, txn, n,
      (const RtmfpAmfNode * const *) args);
  guint i;

  for (i = 0; i < n; i++)
    rtmfp_amf_node_free (args[i]);
  rtmp_client_send (c, 3, sid, RTMP_MSG_COMMAND_AMF0, 0, b->data, b->len);
  g_byte_array_unref (b);
}

/* Index of the first command at or after from on message stream sid
 * named name (NULL: any), or -1 */
static gint
rtmp_find_command (RtmpClient * c, guint from, guint32 sid,
    const gchar * name, GPtrArray ** args, gdouble * txn)
{
  guint i;

  for (i = from; i < c->msgs->len; i++) {
    RMsg *m = g_ptr_array_index (c->msgs, i);
    gsize len;
    const guint8 *d;
    GPtrArray *a;
    gchar *n = NULL;

    if (m->sid != sid || m->type != RTMP_MSG_COMMAND_AMF0)
      continue;
    d = g_bytes_get_data (m->payload, &len);
    a = rtmfp_amf_parse_command (d, len, &n, txn);
    g_assert_nonnull (a);
    if (!name || g_str_equal (n, name)) {
      g_free (n);
      if (args)
        *args = a;
      else
        g_ptr_array_unref (a);
      return i;
    }
    g_free (n);
    g_ptr_array_unref (a);
  }
  return -1;
}

/* Index of the first command at or after from on sid carrying a status
 * object with that code, or -1 */
static gint
rtmp_find_status (RtmpClient * c, guint from, guint32 sid, const gchar * code)
{
  guint i;

  for (i = from; i < c->msgs->len; i++) {
    GPtrArray *a = NULL;
    gint idx = rtmp_find_command (c, i, sid, NULL, &a, NULL);
    gboolean hit = FALSE;

    if (idx < 0)
      return -1;
    for (guint j = 0; j < a->len; j++) {
      const gchar *cd = rtmfp_tc_status_peek_code (a->pdata[j]);
      if (cd && g_str_equal (cd, code))
        hit = TRUE;
    }
    g_ptr_array_unref (a);
    if (hit)
      return idx;
    i = idx;
  }
  return -1;
}

/* User control events of that type (StreamBegin 0, StreamEOF 1, ...) for
 * stream sid */
static guint
rtmp_count_user_control (RtmpClient * c, guint16 event, guint32 sid)
{
  guint i, n = 0;

  for (i = 0; i < c->msgs->len; i++) {
    RMsg *m = g_ptr_array_index (c->msgs, i);
    gsize len;
    const guint8 *d = g_bytes_get_data (m->payload, &len);

    if (m->type != RTMP_MSG_USER_CONTROL)
      continue;
    g_assert_cmpuint (m->sid, ==, 0);
    g_assert_cmpuint (len, >=, 6);
    if (((d[0] << 8) | d[1]) == event && frame_index (m->payload, 2) == sid)
      n++;
  }
  return n;
}

typedef struct {
  RtmpClient *c;
  guint from;
  guint32 sid;
  const gchar *name;
  const gchar *code;
} RWant;

static gboolean
rtmp_cond_command (gpointer ud)
{
  RWant *w = ud;

  if (w->code)
    return rtmp_find_status (w->c, w->from, w->sid, w->code) >= 0;
  return rtmp_find_command (w->c, w->from, w->sid, w->name, NULL, NULL) >= 0;
}

static gboolean
rtmp_wait_status (RtmpClient * c, guint32 sid, const gchar * code,
    gint64 max)
{
  RWant w = { c, 0, sid, NULL, code };

  return run_until (c->fx, rtmp_cond_command, &w, max);
}

static gboolean
rtmp_cond_reply (gpointer ud)
{
  RWant *w = ud;

  return rtmp_find_command (w->c, w->from, 0, "_result", NULL, NULL) >= 0 ||
      rtmp_find_command (w->c, w->from, 0, "_error", NULL, NULL) >= 0 ||
      w->c->closed;
}

/* Handshake and connect (RTMP 1.0 7.2.1.1), with an optional token
 * argument after the command object; returns after the answer */
static void
rtmp_client_connect_with (RtmpClient * c, const gchar * app,
    const gchar * token)
{
  RtmfpAmfNode *args[2];
  gchar *url = g_strdup_printf ("rtmp://" SERVER_ADDR "/%s", app);
  RWant w = { c, 0, 0, NULL, NULL };

  run_until (c->fx, NULL, NULL, 0);       /* handshake */
  g_assert_true (c->handshaken);
  args[0] = rtmfp_amf_node_new_object ();
  rtmfp_amf_node_append_field_string (args[0], "app", app, -1);
  rtmfp_amf_node_append_field_string (args[0], "type", "nonprivate", -1);
  rtmfp_amf_node_append_field_string (args[0], "flashVer",
      "FMLE/3.0 (compatible; test)", -1);
  rtmfp_amf_node_append_field_string (args[0], "tcUrl", url, -1);
  g_free (url);
  if (token)
    args[1] = rtmfp_amf_node_new_string (token, -1);
  rtmp_client_command (c, 0, "connect", 1, token ? 2 : 1, args);
  g_assert_true (run_until (c->fx, rtmp_cond_reply, &w, 5 * SEC));
}

static void
rtmp_client_connect (RtmpClient * c, const gchar * app)
{
  rtmp_client_connect_with (c, app, NULL);
}

static void
rtmp_client_connect_ok (RtmpClient * c, const gchar * app)
{
  rtmp_client_connect (c, app);
  g_assert_cmpint (rtmp_find_status (c, 0, 0, RTMFP_TC_CONNECT_SUCCESS), >=,
      0);
  /* what rtmp2sink does next: a larger chunk size for what it sends */
  {
    GByteArray *b = g_byte_array_new ();

    rtmp_write_u32_payload (b, 4096);
    rtmp_client_send (c, 2, 0, RTMP_MSG_SET_CHUNK_SIZE, 0, b->data, b->len);
    g_assert_true (rtmp_chunk_writer_set_chunk_size (c->writer, 4096));
    g_byte_array_unref (b);
  }
}

/* createStream -> the message stream ID */
static guint32
rtmp_client_create_stream (RtmpClient * c)
{
  RtmfpAmfNode *args[1] = { rtmfp_amf_node_new_null () };
  RWant w = { c, c->msgs->len, 0, "_result", NULL };
  GPtrArray *a = NULL;
  gdouble txn = 0, id;
  gdouble want = ++c->txn;

  rtmp_client_command (c, 0, "createStream", want, 1, args);
  g_assert_true (run_until (c->fx, rtmp_cond_command, &w, 5 * SEC));
  g_assert_cmpint (rtmp_find_command (c, w.from, 0, "_result", &a, &txn), >=,
      0);
  g_assert_cmpfloat (txn, ==, want);
  g_assert_cmpuint (a->len, ==, 2);
  id = rtmfp_amf_node_get_number (a->pdata[1]);
  g_ptr_array_unref (a);
  g_assert_cmpfloat (id, >=, 1);
  return (guint32) id;
}

/* As rtmp2sink: releaseStream, FCPublish, createStream, publish */
static void
rtmp_client_start_publish (RtmpClient * c, const gchar * name)
{
  RtmfpAmfNode *a[3];

  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  rtmp_client_command (c, 0, "releaseStream", 0, 2, a);
  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  rtmp_client_command (c, 0, "FCPublish", 0, 2, a);
  c->stream_id = rtmp_client_create_stream (c);
  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  a[2] = rtmfp_amf_node_new_string ("live", -1);
  rtmp_client_command (c, c->stream_id, "publish", 0, 3, a);
}

static void
rtmp_client_publish (RtmpClient * c, const gchar * name)
{
  rtmp_client_start_publish (c, name);
  g_assert_true (rtmp_wait_status (c, c->stream_id, RTMFP_TC_PUBLISH_START,
          5 * SEC));
}

/* As rtmp2src: createStream, play (name, -2) */
static void
rtmp_client_play (RtmpClient * c, const gchar * name)
{
  RtmfpAmfNode *a[3];

  c->stream_id = rtmp_client_create_stream (c);
  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  a[2] = rtmfp_amf_node_new_number (-2);
  rtmp_client_command (c, c->stream_id, "play", 0, 3, a);
  g_assert_true (rtmp_wait_status (c, c->stream_id, RTMFP_TC_PLAY_START,
          5 * SEC));
}

/* As rtmp2sink at EOS: FCUnpublish and deleteStream by name, stream 0 */
static void
rtmp_client_unpublish (RtmpClient * c, const gchar * name)
{
  RtmfpAmfNode *a[2];

  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  rtmp_client_command (c, 0, "FCUnpublish", 0, 2, a);
  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string (name, -1);
  rtmp_client_command (c, 0, "deleteStream", 0, 2, a);
}

/* Media of the client's stream of one type, in arrival order */
static GPtrArray *
rtmp_media_of (RtmpClient * c, guint8 type)
{
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; i < c->msgs->len; i++) {
    RMsg *m = g_ptr_array_index (c->msgs, i);

    if (m->sid == c->stream_id && m->type == type)
      g_ptr_array_add (out, m);
  }
  return out;
}

typedef struct {
  RtmpClient *c;
  guint8 type;
  guint count;
} RWantMedia;

static gboolean
rtmp_cond_media (gpointer ud)
{
  RWantMedia *w = ud;
  GPtrArray *a = rtmp_media_of (w->c, w->type);
  gboolean ok = a->len >= w->count;

  g_ptr_array_unref (a);
  return ok;
}

/* Publishing with an RTMP client: csid 4 audio, 6 video, 5 data */
static void
rtmp_publish_headers (RtmpClient * c)
{
  GByteArray *md = metadata_payload (TRUE);

  rtmp_client_send (c, 5, c->stream_id, RTMP_MSG_DATA_AMF0, 0, md->data,
      md->len);
  rtmp_client_send (c, 6, c->stream_id, RTMP_MSG_VIDEO, 0, avc_header,
      sizeof (avc_header));
  rtmp_client_send (c, 4, c->stream_id, RTMP_MSG_AUDIO, 0, aac_header,
      sizeof (aac_header));
  g_byte_array_unref (md);
}

/* as publish_frame */
static guint32
rtmp_publish_frame (RtmpClient * c, guint n, guint gop, gsize vsize)
{
  guint32 ts = n * 40;
  GBytes *v = video_frame (n % gop == 0, n, n % gop == 0 ? vsize * 4 : vsize);
  GBytes *a0 = audio_frame (2 * n, 64), *a1 = audio_frame (2 * n + 1, 64);

  rtmp_client_send_bytes (c, 4, RTMP_MSG_AUDIO, ts, a0);
  rtmp_client_send_bytes (c, 6, RTMP_MSG_VIDEO, ts, v);
  rtmp_client_send_bytes (c, 4, RTMP_MSG_AUDIO, ts + 20, a1);
  g_bytes_unref (v);
  g_bytes_unref (a0);
  g_bytes_unref (a1);
  return ts;
}

/* ------------------------------------------------------------------------ */
/* RTMP tests */

static void
test_rtmp_connect (void)
{
  static const gchar *const apps[] = { "live", NULL };
  Fixture *fx = fixture_new_full (20, apps, TRUE);
  RtmpClient *good = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *bad = rtmp_client_new (fx, "10.0.1.2:40000");
  RtmpClient *idle;
  GPtrArray *a = NULL;
  gdouble txn = 0;
  RtmfpServerStats st;
  gchar *line;

  rtmp_client_connect_ok (good, "live/room?token=1");
  g_assert_cmpint (rtmp_find_command (good, 0, 0, "_result", &a, &txn), >=,
      0);
  g_assert_cmpfloat (txn, ==, 1);
  g_assert_cmpstr (rtmfp_amf_node_peek_field_string (a->pdata[1], "level",
          NULL), ==, "status");
  g_ptr_array_unref (a);
  g_assert_false (good->closed);
  g_assert_false (good->feed_refused);

  /* the same app list as RTMFP connect */
  rtmp_client_connect (bad, "other");
  g_assert_cmpint (rtmp_find_status (bad, 0, 0, RTMFP_TC_CONNECT_SUCCESS), <,
      0);
  g_assert_cmpint (rtmp_find_command (bad, 0, 0, "_error", &a, &txn), >=, 0);
  g_assert_cmpfloat (txn, ==, 1);
  g_assert_cmpstr (rtmfp_tc_status_peek_code (a->pdata[1]), ==,
      RTMFP_TC_CONNECT_REJECTED);
  g_assert_nonnull (strstr (rtmfp_amf_node_peek_field_string (a->pdata[1],
              "description", NULL), "'other'"));
  g_ptr_array_unref (a);
  /* no more input wanted; once the _error is written the socket closes */
  g_assert_true (bad->feed_refused);
  g_assert_true (bad->closed);

  /* a client that never sends connect is dropped after the timeout */
  idle = rtmp_client_new (fx, "10.0.1.3:40000");
  run_for (fx, 5 * SEC);
  g_assert_true (idle->handshaken);
  g_assert_false (idle->closed);
  run_for (fx, 6 * SEC);
  g_assert_true (idle->closed);
  g_assert_false (good->closed);

  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.rtmp_connections, ==, 1);
  g_assert_cmpuint (st.rtmp_connects_accepted, ==, 1);
  g_assert_cmpuint (st.rtmp_connects_rejected, ==, 1);
  g_assert_cmpuint (st.rtmp_dropped, ==, 1);
  g_assert_cmpuint (st.connects_accepted, ==, 0);
  /* handshakes (3 x 1537 + 2 x 1536 in, 3 x 3073 out) and more */
  g_assert_cmpuint (st.rtmp_bytes_in, >, 3 * 1537 + 2 * 1536);
  g_assert_cmpuint (st.rtmp_bytes_out, >, 3 * 3073);
  line = rtmfp_server_stats_to_string (&st);
  g_assert_nonnull (strstr (line, " rtmp_connections=1 "));
  g_assert_nonnull (strstr (line, " rtmp_connects=1 rtmp_rejected=1 "
          "rtmp_dropped=1"));
  g_free (line);
  fixture_free (fx);
}

/* An RTMP publisher (rtmp2sink's command sequence) reaches an RTMFP
 * player: everything intact, in order, with its timestamps; its
 * FCUnpublish + deleteStream gives the player UnpublishNotify */
static void
test_rtmp_to_rtmfp (void)
{
  Fixture *fx = fixture_new (21);
  RtmpClient *p = rtmp_client_new (fx, "10.0.1.1:40000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  GByteArray *md = metadata_payload (FALSE);
  GPtrArray *sent_v = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  GPtrArray *sent_a = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  GPtrArray *video, *audio, *data;
  RtmfpServerStats st;
  WantMedia wm;
  guint i, n;

  rtmp_client_connect_ok (p, "live");
  rtmp_client_publish (p, "cam?key=secret");
  /* 7.2.2.6: StreamBegin for the stream before Publish.Start */
  g_assert_cmpuint (rtmp_count_user_control (p, 0, p->stream_id), ==, 1);
  client_connect_ok (q, "live");
  client_play (q, "cam");

  rtmp_publish_headers (p);
  g_ptr_array_add (sent_v, g_bytes_new (avc_header, sizeof (avc_header)));
  g_ptr_array_add (sent_a, g_bytes_new (aac_header, sizeof (aac_header)));
  for (n = 0; n < 60; n++) {
    rtmp_publish_frame (p, n, 25, 700 + 97 * (n % 7));
    g_ptr_array_add (sent_v, video_frame (n % 25 == 0, n,
            n % 25 == 0 ? 4 * (700 + 97 * (n % 7)) : 700 + 97 * (n % 7)));
    g_ptr_array_add (sent_a, audio_frame (2 * n, 64));
    g_ptr_array_add (sent_a, audio_frame (2 * n + 1, 64));
    run_for (fx, 40 * MS);
  }
  wm.c = q;
  wm.type = RTMFP_TC_MSG_VIDEO;
  wm.count = sent_v->len;
  g_assert_true (run_until (fx, cond_media, &wm, 3 * SEC));
  run_for (fx, 500 * MS);

  video = media_of (q, RTMFP_TC_MSG_VIDEO);
  audio = media_of (q, RTMFP_TC_MSG_AUDIO);
  data = media_of (q, RTMFP_TC_MSG_DATA_AMF0);
  g_assert_cmpuint (video->len, ==, sent_v->len);
  g_assert_cmpuint (audio->len, ==, sent_a->len);
  for (i = 0; i < video->len; i++) {
    Msg *m = g_ptr_array_index (video, i);
    g_assert_true (g_bytes_equal (m->payload, sent_v->pdata[i]));
    g_assert_cmpuint (m->ts, ==, i == 0 ? 0 : (i - 1) * 40);
    g_assert_cmpuint (m->gap, ==, 0);
  }
  for (i = 0; i < audio->len; i++) {
    Msg *m = g_ptr_array_index (audio, i);
    g_assert_true (g_bytes_equal (m->payload, sent_a->pdata[i]));
    g_assert_cmpuint (m->ts, ==, i == 0 ? 0 : (i - 1) * 20);
  }
  /* the metadata, without "@setDataFrame" */
  g_assert_cmpuint (data->len, ==, 1);
  g_assert_true (bytes_equal_mem (((Msg *) data->pdata[0])->payload,
          md->data, md->len));
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 1);
  g_assert_cmpuint (st.players, ==, 1);
  g_assert_cmpuint (st.messages_in, ==, 3 + 3 * 60);

  /* FCUnpublish (the first of rtmp2sink's commands at EOS) ends the
   * publication by itself */
  {
    RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("cam?key=secret", -1)
    };
    rtmp_client_command (p, 0, "FCUnpublish", 0, 2, a);
  }
  g_assert_true (wait_status (q, q->stream_id, RTMFP_TC_PLAY_UNPUBLISHNOTIFY,
          2 * SEC));
  /* then deleteStream by name, media after it goes nowhere */
  rtmp_client_unpublish (p, "cam?key=secret");
  rtmp_publish_frame (p, 60, 25, 700);
  run_for (fx, 200 * MS);
  {
    GPtrArray *v2 = media_of (q, RTMFP_TC_MSG_VIDEO);
    g_assert_cmpuint (v2->len, ==, sent_v->len);
    g_ptr_array_unref (v2);
  }
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 0);
  g_assert_cmpuint (st.players, ==, 1);
  /* the RTMP connection stays usable */
  g_assert_false (p->closed);
  g_assert_cmpuint (rtmp_client_create_stream (p), >, 0);

  g_ptr_array_unref (video);
  g_ptr_array_unref (audio);
  g_ptr_array_unref (data);
  g_ptr_array_unref (sent_v);
  g_ptr_array_unref (sent_a);
  g_byte_array_unref (md);
  fixture_free (fx);
}

/* An RTMFP publisher reaches RTMP players (as rtmp2src plays): a player
 * from the start gets everything; one joining late gets metadata and
 * sequence headers first, then video from a keyframe */
static void
test_rtmfp_to_rtmp (void)
{
  Fixture *fx = fixture_new (22);
  Client *p = client_new (fx, "10.0.0.2:5000");
  RtmpClient *r1 = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *r2 = rtmp_client_new (fx, "10.0.1.2:40000");
  GByteArray *md = metadata_payload (FALSE);
  GPtrArray *v, *a, *d;
  RWantMedia wm;
  guint i, n, join_frame;
  gint reset, start;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  rtmp_client_connect_ok (r1, "live");
  rtmp_client_play (r1, "cam");
  rtmp_client_connect_ok (r2, "live");

  /* 7.2.2.1: StreamBegin, Play.Reset, Play.Start */
  g_assert_cmpuint (rtmp_count_user_control (r1, 0, r1->stream_id), ==, 1);
  reset = rtmp_find_status (r1, 0, r1->stream_id, RTMFP_TC_PLAY_RESET);
  start = rtmp_find_status (r1, 0, r1->stream_id, RTMFP_TC_PLAY_START);
  g_assert_cmpint (reset, >=, 0);
  g_assert_cmpint (start, >, reset);

  publish_headers (p);
  for (n = 0; n < 50; n++) {
    publish_frame (p, n, 30, 500 + n);
    run_for (fx, 40 * MS);
  }
  rtmp_client_play (r2, "cam");
  join_frame = n;
  for (; n < 90; n++) {
    publish_frame (p, n, 30, 500 + n);
    run_for (fx, 40 * MS);
  }
  wm.c = r1;
  wm.type = RTMP_MSG_VIDEO;
  wm.count = 91;
  g_assert_true (run_until (fx, rtmp_cond_media, &wm, 3 * SEC));
  run_for (fx, 500 * MS);

  /* r1: the headers and every frame, in order, with their timestamps, on
   * the chunk streams of their kind */
  v = rtmp_media_of (r1, RTMP_MSG_VIDEO);
  a = rtmp_media_of (r1, RTMP_MSG_AUDIO);
  d = rtmp_media_of (r1, RTMP_MSG_DATA_AMF0);
  g_assert_cmpuint (v->len, ==, 1 + 90);
  g_assert_cmpuint (a->len, ==, 1 + 180);
  g_assert_true (bytes_equal_mem (((RMsg *) v->pdata[0])->payload,
          avc_header, sizeof (avc_header)));
  g_assert_true (bytes_equal_mem (((RMsg *) a->pdata[0])->payload,
          aac_header, sizeof (aac_header)));
  for (i = 1; i < v->len; i++) {
    RMsg *m = g_ptr_array_index (v, i);
    GBytes *want = video_frame ((i - 1) % 30 == 0, i - 1,
        (i - 1) % 30 == 0 ? 4 * (500 + i - 1) : 500 + i - 1);
    g_assert_true (g_bytes_equal (m->payload, want));
    g_assert_cmpuint (m->ts, ==, (i - 1) * 40);
    g_assert_cmpuint (m->csid, ==, 6);
    g_bytes_unref (want);
  }
  for (i = 1; i < a->len; i++) {
    RMsg *m = g_ptr_array_index (a, i);
    GBytes *want = audio_frame (i - 1, 64);
    g_assert_true (g_bytes_equal (m->payload, want));
    g_assert_cmpuint (m->ts, ==, (i - 1) * 20);
    g_assert_cmpuint (m->csid, ==, 4);
    g_bytes_unref (want);
  }
  /* data: |RtmpSampleAccess (from play), then the metadata without
   * "@setDataFrame" */
  g_assert_cmpuint (d->len, ==, 2);
  g_assert_true (bytes_equal_mem (((RMsg *) d->pdata[1])->payload, md->data,
          md->len));
  g_ptr_array_unref (v);
  g_ptr_array_unref (a);
  g_ptr_array_unref (d);

  /* r2 (joined at frame 50; keyframes at 0, 30, 60): metadata, headers,
   * then video from frame 60 and audio from its time (a coherent start) */
  v = rtmp_media_of (r2, RTMP_MSG_VIDEO);
  a = rtmp_media_of (r2, RTMP_MSG_AUDIO);
  d = rtmp_media_of (r2, RTMP_MSG_DATA_AMF0);
  g_assert_cmpuint (d->len, ==, 2);
  g_assert_true (bytes_equal_mem (((RMsg *) d->pdata[1])->payload, md->data,
          md->len));
  g_assert_cmpuint (v->len, ==, 1 + (90 - 60));
  g_assert_true (bytes_equal_mem (((RMsg *) v->pdata[0])->payload,
          avc_header, sizeof (avc_header)));
  g_assert_cmpuint (((RMsg *) v->pdata[0])->ts, >=, (join_frame - 1) * 40);
  for (i = 1; i < v->len; i++) {
    RMsg *m = g_ptr_array_index (v, i);
    g_assert_cmpuint (frame_index (m->payload, 5), ==, 60 + i - 1);
    g_assert_cmpuint (m->ts, ==, (60 + i - 1) * 40);
  }
  g_assert_cmpuint (join_frame, <, 60);
  g_assert_cmpuint (a->len, ==, 1 + 2 * (90 - 60));
  for (i = 1; i < a->len; i++) {
    RMsg *m = g_ptr_array_index (a, i);
    g_assert_cmpuint (frame_index (m->payload, 2), ==, 2 * 60 + i - 1);
  }
  g_ptr_array_unref (v);
  g_ptr_array_unref (a);
  g_ptr_array_unref (d);
  /* the relay woke the driver for output queued outside of a feed */
  g_assert_cmpuint (r1->wakes, >, 90);

  /* the RTMFP publisher goes: RTMP players get UnpublishNotify, not
   * StreamEOF */
  rtmfp_session_close (p->session, cl_now (p));
  rtmfp_sim_net_kick (fx->net);
  g_assert_true (rtmp_wait_status (r1, r1->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 2 * SEC));
  g_assert_true (rtmp_wait_status (r2, r2->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 2 * SEC));
  g_assert_cmpuint (rtmp_count_user_control (r1, 1, r1->stream_id), ==, 0);
  g_assert_false (r1->closed);

  g_byte_array_unref (md);
  fixture_free (fx);
}

/* One name space for both protocols */
static void
test_rtmp_bad_name (void)
{
  Fixture *fx = fixture_new (23);
  RtmpClient *r1 = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *r2 = rtmp_client_new (fx, "10.0.1.2:40000");
  Client *p1 = client_new (fx, "10.0.0.2:5000");
  Client *p2 = client_new (fx, "10.0.0.3:5000");
  RtmfpServerStats st;

  /* taken over RTMP (by a publisher that is sending): refused over RTMFP */
  rtmp_client_connect_ok (r1, "live");
  rtmp_client_publish (r1, "cam");
  rtmp_publish_headers (r1);
  client_connect_ok (p1, "live");
  rtmp_publish_frame (r1, 0, 10, 300);
  client_start (p1, "publish", "cam");
  g_assert_true (wait_status (p1, p1->stream_id, RTMFP_TC_PUBLISH_BADNAME,
          3 * SEC));
  g_assert_cmpint (find_status (p1, 0, p1->stream_id,
          RTMFP_TC_PUBLISH_START), <, 0);

  /* taken over RTMFP: refused over RTMP (the query string is not part of
   * the name) */
  client_connect_ok (p2, "live");
  client_publish (p2, "desk");
  publish_headers (p2);
  rtmp_client_connect_ok (r2, "live");
  publish_frame (p2, 0, 10, 300);
  run_for (fx, 20 * MS);
  rtmp_client_start_publish (r2, "desk?token=1");
  g_assert_true (rtmp_wait_status (r2, r2->stream_id,
          RTMFP_TC_PUBLISH_BADNAME, 3 * SEC));
  g_assert_cmpint (rtmp_find_status (r2, 0, r2->stream_id,
          RTMFP_TC_PUBLISH_START), <, 0);
  /* and in another application the name is free */
  {
    RtmpClient *r3 = rtmp_client_new (fx, "10.0.1.3:40000");
    rtmp_client_connect_ok (r3, "other");
    rtmp_client_publish (r3, "desk");
  }
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.streams, ==, 3);

  /* once the RTMP publisher's socket closes, RTMFP may have the name */
  rtmp_client_disconnect (r1);
  {
    RtmfpAmfNode *a[2] = { rtmfp_amf_node_new_null (),
      rtmfp_amf_node_new_string ("cam", -1)
    };
    client_command (p1, p1->sflow, "publish", 0.0, 2, a);
  }
  g_assert_true (wait_status (p1, p1->stream_id, RTMFP_TC_PUBLISH_START,
          3 * SEC));
  fixture_free (fx);
}

/* A publisher that lost its network (an RTMFP session gone silent) keeps
 * its name while it was heard from lately; after publisher_idle_us (500 ms
 * by default) the
 * name goes to whoever publishes it (here over RTMP: the fallback case),
 * players stay, and the old publisher is told once it is back */
static void
test_rtmp_takeover (void)
{
  Fixture *fx = fixture_new (28);
  Client *p = client_new (fx, "10.0.0.2:5000");
  RtmpClient *r = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *b = rtmp_client_new (fx, "10.0.1.2:40000");
  RtmfpAmfNode *a[3];
  GPtrArray *v;
  RWantMedia rwm;
  guint n, before;
  gint start;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  rtmp_client_connect_ok (b, "live");
  publish_headers (p);
  for (n = 0; n < 20; n++) {
    publish_frame (p, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  rwm.c = r;
  rwm.type = RTMP_MSG_VIDEO;
  rwm.count = 1 + 20;
  g_assert_true (run_until (fx, rtmp_cond_media, &rwm, 2 * SEC));
  /* p's network goes; it keeps sending into the void */
  rtmfp_sim_host_set_blackhole (p->host, TRUE);
  for (; n < 28; n++) {
    publish_frame (p, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  /* 320 ms of silence: the name is still p's */
  rtmp_client_start_publish (b, "cam");
  g_assert_true (rtmp_wait_status (b, b->stream_id, RTMFP_TC_PUBLISH_BADNAME,
          100 * MS));
  for (; n < 45; n++) {
    publish_frame (p, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  /* over 500 ms: b takes it (publish again on the same stream) */
  before = b->msgs->len;
  a[0] = rtmfp_amf_node_new_null ();
  a[1] = rtmfp_amf_node_new_string ("cam", -1);
  a[2] = rtmfp_amf_node_new_string ("live", -1);
  rtmp_client_command (b, b->stream_id, "publish", 0, 3, a);
  g_assert_true (run_until (fx, rtmp_cond_command, &(RWant) {
          b, before, b->stream_id, NULL, RTMFP_TC_PUBLISH_START}, 1 * SEC));
  g_assert_true (rtmp_wait_status (r, r->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 1 * SEC));
  start = rtmp_find_status (r, 0, r->stream_id, RTMFP_TC_PLAY_PUBLISHNOTIFY);
  g_assert_cmpint (start, >, rtmp_find_status (r, 0, r->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY));
  rtmp_publish_headers (b);
  for (n = 100; n < 120; n++) {
    rtmp_publish_frame (b, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  /* p is back: what it sends now is not relayed; it hears that it lost
   * the stream */
  rtmfp_sim_host_set_blackhole (p->host, FALSE);
  for (n = 45; n < 60; n++) {
    publish_frame (p, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  g_assert_true (wait_status (p, p->stream_id, "NetStream.Publish.Idle",
          3 * SEC));
  run_for (fx, 500 * MS);
  v = rtmp_media_of (r, RTMP_MSG_VIDEO);
  /* p's header + 0..19 (and maybe a few more before the silence), then
   * b's header and 100..119, and nothing of p's after that */
  {
    guint i, seen_b = 0;
    gboolean in_b = FALSE;

    for (i = 0; i < v->len; i++) {
      RMsg *m = g_ptr_array_index (v, i);
      gsize len;
      const guint8 *d = g_bytes_get_data (m->payload, &len);

      if (rtmfp_flv_video_is_sequence_header (d, len))
        continue;
      if (frame_index (m->payload, 5) >= 100) {
        in_b = TRUE;
        seen_b++;
      } else {
        g_assert_false (in_b);
        g_assert_cmpuint (frame_index (m->payload, 5), <, 45);
      }
    }
    g_assert_cmpuint (seen_b, ==, 20);
  }
  g_ptr_array_unref (v);
  fixture_free (fx);
}

/* Players see a video stream they can decode: after a gap, the next
 * frame is a keyframe (frame indices at offset 5) */
static void
assert_decodable (GPtrArray * video)
{
  gint prev = -1;
  guint i;

  for (i = 0; i < video->len; i++) {
    GBytes *b = ((RMsg *) video->pdata[i])->payload;
    gsize len;
    const guint8 *d = g_bytes_get_data (b, &len);
    gint idx;

    if (rtmfp_flv_video_is_sequence_header (d, len))
      continue;
    idx = frame_index (b, 5);
    if (idx != prev + 1)
      g_assert_true (rtmfp_flv_video_is_keyframe (d, len));
    prev = idx;
  }
}

/* The fallback case: a publisher switches protocols under the same name
 * mid-stream (RTMFP -> RTMP -> RTMFP); RTMP and RTMFP players stay,
 * hear UnpublishNotify then PublishNotify, and go on from the new
 * publisher's headers and first keyframe */
static void
test_rtmp_republish (void)
{
  Fixture *fx = fixture_new (24);
  Client *p1 = client_new (fx, "10.0.0.2:5000");
  Client *p2 = client_new (fx, "10.0.0.5:5000");
  Client *q = client_new (fx, "10.0.0.3:5000");
  RtmpClient *r = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *b = rtmp_client_new (fx, "10.0.1.2:40000");
  GPtrArray *v;
  RWantMedia rwm;
  WantMedia wm;
  guint n;
  gint u1, p_1, u2, p_2, i;

  client_connect_ok (p1, "live");
  client_publish (p1, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  publish_headers (p1);
  for (n = 0; n < 20; n++) {
    publish_frame (p1, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  /* RTMFP publisher gone (closeStream, as on a fallback) */
  {
    RtmfpAmfNode *a[1] = { rtmfp_amf_node_new_null () };
    client_command (p1, p1->sflow, "closeStream", 0.0, 1, a);
  }
  g_assert_true (rtmp_wait_status (r, r->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 2 * SEC));
  u1 = rtmp_find_status (r, 0, r->stream_id, RTMFP_TC_PLAY_UNPUBLISHNOTIFY);

  /* the same publisher comes back over RTMP; frames go on (first
   * keyframe: 30) */
  rtmp_client_connect_ok (b, "live");
  rtmp_client_publish (b, "cam");
  p_1 = rtmp_find_status (r, 0, r->stream_id, RTMFP_TC_PLAY_PUBLISHNOTIFY);
  g_assert_cmpint (p_1, >, u1);
  g_assert_true (wait_status (q, q->stream_id, RTMFP_TC_PLAY_PUBLISHNOTIFY,
          2 * SEC));
  rtmp_publish_headers (b);
  for (n = 25; n < 50; n++) {
    rtmp_publish_frame (b, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  /* r: p1's header + 20 frames, b's header + 30..49 */
  rwm.c = r;
  rwm.type = RTMP_MSG_VIDEO;
  rwm.count = 1 + 20 + 1 + 20;
  g_assert_true (run_until (fx, rtmp_cond_media, &rwm, 2 * SEC));
  wm.c = q;
  wm.type = RTMFP_TC_MSG_VIDEO;
  wm.count = 1 + 20 + 1 + 20;
  g_assert_true (run_until (fx, cond_media, &wm, 2 * SEC));
  v = rtmp_media_of (r, RTMP_MSG_VIDEO);
  g_assert_cmpuint (v->len, ==, 1 + 20 + 1 + 20);
  g_assert_true (bytes_equal_mem (((RMsg *) v->pdata[21])->payload,
          avc_header, sizeof (avc_header)));
  g_assert_cmpuint (frame_index (((RMsg *) v->pdata[22])->payload, 5), ==,
      30);
  assert_decodable (v);
  g_ptr_array_unref (v);

  /* and back to RTMFP: the RTMP publisher's socket just closes */
  rtmp_client_disconnect (b);
  g_assert_true (rtmp_wait_status (r, r->stream_id,
          RTMFP_TC_PLAY_UNPUBLISHNOTIFY, 2 * SEC));
  u2 = -1;
  for (i = p_1; (i = rtmp_find_status (r, i + 1, r->stream_id,
              RTMFP_TC_PLAY_UNPUBLISHNOTIFY)) >= 0;)
    u2 = i;
  g_assert_cmpint (u2, >, p_1);
  client_connect_ok (p2, "live");
  client_publish (p2, "cam");
  g_assert_true (rtmp_wait_status (r, r->stream_id,
          RTMFP_TC_PLAY_PUBLISHNOTIFY, 2 * SEC));
  p_2 = rtmp_find_status (r, u2, r->stream_id, RTMFP_TC_PLAY_PUBLISHNOTIFY);
  g_assert_cmpint (p_2, >, u2);
  publish_headers (p2);
  for (n = 55; n < 80; n++) {
    publish_frame (p2, n, 10, 400);
    run_for (fx, 40 * MS);
  }
  rwm.count = 1 + 20 + 1 + 20 + 1 + 20;
  g_assert_true (run_until (fx, rtmp_cond_media, &rwm, 2 * SEC));
  v = rtmp_media_of (r, RTMP_MSG_VIDEO);
  g_assert_cmpuint (v->len, ==, 1 + 20 + 1 + 20 + 1 + 20);
  g_assert_cmpuint (frame_index (((RMsg *) v->pdata[43])->payload, 5), ==,
      60);
  assert_decodable (v);
  g_ptr_array_unref (v);
  wm.count = 1 + 20 + 1 + 20 + 1 + 20;
  g_assert_true (run_until (fx, cond_media, &wm, 2 * SEC));

  /* the RTMP player never got StreamEOF, one StreamBegin (from play) */
  g_assert_cmpuint (rtmp_count_user_control (r, 1, r->stream_id), ==, 0);
  g_assert_cmpuint (rtmp_count_user_control (r, 0, r->stream_id), ==, 1);
  g_assert_false (r->closed);
  fixture_free (fx);
}

/* An RTMP player that stops reading: its queue stays bounded (the relay
 * drops media for it), and when it reads again it gets a stream it can
 * decode and is current.  A player whose output passes the hard limit is
 * dropped. */
static void
test_rtmp_slow_player (void)
{
  RtmfpServerConfig cfg;
  Fixture *fx = fixture_new (25);
  Client *p = client_new (fx, "10.0.0.2:5000");
  RtmpClient *r = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmfpServerStats st;
  GPtrArray *v;
  gsize max_out = 0;
  guint n;

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  publish_headers (p);
  for (n = 0; n < 250; n++) {
    gsize len;

    if (n == 50)
      r->paused = TRUE;
    if (n == 150)
      r->paused = FALSE;
    /* ~2 Mbit/s */
    publish_frame (p, n, 40, 10000);
    run_for (fx, 40 * MS);
    if (r->paused) {
      g_assert_true (rtmfp_server_rtmp_conn_has_output (r->rc));
      len = rtmfp_server_rtmp_conn_get_output_size (r->rc);
      max_out = MAX (max_out, len);
    }
  }
  run_for (fx, 1 * SEC);
  rtmfp_server_get_stats (fx->srv, &st);
  g_test_message ("dropped %" G_GUINT64_FORMAT ", largest output %"
      G_GSIZE_FORMAT, st.messages_dropped, max_out);
  /* 100 frames of 10 kB (40 kB keyframes) during the pause; the queue
   * holds at most the relay's video limit (256 KiB) and a frame, plus
   * audio and what was chunked already */
  g_assert_cmpuint (max_out, >, 200 * 1024);
  g_assert_cmpuint (max_out, <, 256 * 1024 + 40000 + 64 * 1024 + 8192);
  g_assert_cmpuint (st.messages_dropped, >, 10);
  g_assert_cmpuint (st.rtmp_dropped, ==, 0);
  g_assert_false (r->closed);
  v = rtmp_media_of (r, RTMP_MSG_VIDEO);
  assert_decodable (v);
  /* current again */
  g_assert_cmpuint (((RMsg *) v->pdata[v->len - 1])->ts, ==, 249 * 40);
  /* not everything came: 100 frames of the pause were 2.5 MB */
  g_assert_cmpuint (v->len, <, 1 + 250 - 40);
  g_ptr_array_unref (v);
  fixture_free (fx);

  /* a hard limit below the relay's video queue limit: dropped */
  rtmfp_server_config_init (&cfg);
  cfg.rtmp_max_output = 128 * 1024;
  fx = fixture_new_with (26, &cfg);
  p = client_new (fx, "10.0.0.2:5000");
  r = rtmp_client_new (fx, "10.0.1.1:40000");
  client_connect_ok (p, "live");
  client_publish (p, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  publish_headers (p);
  r->paused = TRUE;
  for (n = 0; n < 50 && !r->closed; n++) {
    publish_frame (p, n, 40, 10000);
    run_for (fx, 40 * MS);      /* the pump closes it when told to */
  }
  g_assert_true (r->closed);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.rtmp_dropped, ==, 1);
  g_assert_cmpuint (st.rtmp_connections, ==, 0);
  g_assert_cmpuint (st.players, ==, 0);
  g_assert_cmpuint (st.streams, ==, 1);
  fixture_free (fx);
}

/* Server shutdown: RTMP clients are told nothing more but their output is
 * written and the connection closes; a server freed with RTMP connections
 * still open leaves them harmless */
static void
test_rtmp_shutdown (void)
{
  Fixture *fx = fixture_new (27);
  RtmpClient *pub = rtmp_client_new (fx, "10.0.1.1:40000");
  RtmpClient *r = rtmp_client_new (fx, "10.0.1.2:40000");
  RtmpClient *late;
  RtmfpServerStats st;

  rtmp_client_connect_ok (pub, "live");
  rtmp_client_publish (pub, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  rtmp_publish_headers (pub);
  rtmfp_server_shutdown (fx->srv);
  run_for (fx, 100 * MS);
  g_assert_true (pub->closed);
  g_assert_true (r->closed);
  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.rtmp_connections, ==, 0);
  g_assert_cmpuint (st.streams, ==, 0);
  g_assert_cmpuint (st.players, ==, 0);

  /* open at free time: fed and freed afterwards without harm */
  late = rtmp_client_new (fx, "10.0.1.3:40000");
  run_for (fx, 10 * MS);
  g_assert_true (late->handshaken);
  fixture_free (fx);
}

/* Server shutdown: open RTMFP sessions are closed, and no new session is
 * opened meanwhile (a client reconnecting now would lose it again at once);
 * the endpoint counts the IHellos it no longer answers */
static void
test_rtmfp_shutdown_refuses (void)
{
  Fixture *fx = fixture_new (28);
  Client *a = client_new (fx, "10.0.0.2:5000");
  Client *late = client_new (fx, "10.0.0.3:5000");
  GByteArray *epd = g_byte_array_new ();
  RtmfpEndpointStats es;
  guint64 ihellos;

  client_connect_ok (a, "live");
  rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint (fx->host), &es);
  ihellos = es.ihellos_received;
  rtmfp_server_shutdown (fx->srv);

  rtmfp_epd_append_ancillary (epd, "rtmfp://" SERVER_ADDR "/live");
  late->session = rtmfp_endpoint_open_session (late->ep, epd->data, epd->len,
      rtmfp_sim_host_get_address (fx->host), 1, cl_now (late));
  g_assert_nonnull (late->session);
  rtmfp_session_ref (late->session);
  g_byte_array_unref (epd);
  rtmfp_sim_net_kick (fx->net);
  run_for (fx, 10 * SEC);
  /* the old session is closed by the server ... */
  g_assert_cmpint (rtmfp_session_get_state (a->session), !=,
      RTMFP_SESSION_OPEN);
  /* ... and the new one never opened although its IHellos arrived */
  g_assert_false (late->opened);
  g_assert_cmpint (rtmfp_session_get_state (late->session), !=,
      RTMFP_SESSION_OPEN);
  rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint (fx->host), &es);
  g_assert_cmpuint (es.ihellos_received, >, ihellos);
  g_assert_cmpuint (rtmfp_endpoint_get_n_sessions
      (rtmfp_sim_host_get_endpoint (fx->host)), <=, 1);
  fixture_free (fx);
}

/* ------------------------------------------------------------------------ */
/* Client events (RtmfpServerConfig.on_event) and the metrics exposition */

static void
record_event (const RtmfpServerEvent * ev, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("%s %s %" G_GUINT64_FORMAT
          " %s %s %s %s %s", ev->event, ev->protocol, ev->conn,
          ev->peer ? ev->peer : "-", ev->app ? ev->app : "-",
          ev->stream ? ev->stream : "-", ev->result ? ev->result : "-",
          ev->reason ? ev->reason : "-"));
}

static gint
find_event (GPtrArray * events, const gchar * prefix)
{
  guint i;

  for (i = 0; i < events->len; i++)
    if (g_str_has_prefix (events->pdata[i], prefix))
      return i;
  return -1;
}

/* The value of an unlabelled or exactly labelled sample of the text */
static gchar *
sample_value (const gchar * text, const gchar * series)
{
  gchar **lines = g_strsplit (text, "\n", -1), *v = NULL;
  gsize n = strlen (series);
  guint i;

  for (i = 0; lines[i] && !v; i++)
    if (strncmp (lines[i], series, n) == 0 && lines[i][n] == ' ')
      v = g_strdup (lines[i] + n + 1);
  g_strfreev (lines);
  return v;
}

static void
assert_sample (const gchar * text, const gchar * series, guint64 want)
{
  gchar *v = sample_value (text, series), *w;

  w = g_strdup_printf ("%" G_GUINT64_FORMAT, want);
  if (!v)
    g_error ("no sample %s in:\n%s", series, text);
  g_assert_cmpstr (v, ==, w);
  g_free (v);
  g_free (w);
}

/* rtmfp-server --metrics' HTTP request heads, by known answers */
static void
test_http_request (void)
{
  static const struct {
    const gchar *req;
    guint code;
    gboolean head_only;
  } cases[] = {
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, FALSE},
    {"GET /metrics?name[]=x HTTP/1.0\n\n", 200, FALSE},
    {"HEAD /metrics HTTP/1.1\r\n\r\n", 200, TRUE},
    {"GET /metrics/ HTTP/1.1\r\n\r\n", 404, FALSE},
    {"GET /metricsx HTTP/1.1\r\n\r\n", 404, FALSE},
    {"GET / HTTP/1.1\r\n\r\n", 404, FALSE},
    {"HEAD /x HTTP/1.1\r\n\r\n", 404, TRUE},
    {"POST /metrics HTTP/1.1\r\n\r\n", 405, FALSE},
    {"DELETE /x HTTP/1.1\r\n\r\n", 405, FALSE},
    {"get /metrics HTTP/1.1\r\n\r\n", 400, FALSE},
    {"GET  /metrics HTTP/1.1\r\n\r\n", 400, FALSE},
    {"GET /metrics HTTP/1.1 \r\n\r\n", 400, FALSE},
    {"GET /metrics HTTP/2.0\r\n\r\n", 400, FALSE},
    {"PRI * HTTP/2.0\r\n\r\n", 400, FALSE},
    {"GET metrics HTTP/1.1\r\n\r\n", 400, FALSE},
    {"GET /metrics\r\n\r\n", 400, FALSE},
    {"\r\n\r\n", 400, FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    const guint8 *d = (const guint8 *) cases[i].req;
    gsize len = strlen (cases[i].req), end;
    gboolean head_only = !cases[i].head_only;

    end = rtmfp_http_request_head_end (d, len);
    g_assert_cmpuint (end, ==, len);
    g_assert_cmpuint (rtmfp_http_request_head_end (d, len - 1), ==, 0);
    g_assert_cmpuint (rtmfp_http_request_status (d, end, "/metrics",
            &head_only), ==, cases[i].code);
    g_assert_cmpint (head_only, ==, cases[i].head_only);
  }
  /* bytes after the head are not part of it */
  g_assert_cmpuint (rtmfp_http_request_head_end ((const guint8 *)
          "GET / HTTP/1.1\n\nbody", 20), ==, 16);
}

static void
test_events_and_metrics (void)
{
  static const gchar *const apps[] = { "live", NULL };
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  RtmfpServerConfig cfg;
  Fixture *fx;
  Client *p, *q, *bad, *p2, *p3;
  RtmpClient *r;
  RtmfpServerStats st;
  RtmfpServerMetrics m;
  GString *text = g_string_new (NULL);
  guint n, i;
  gint e;

  rtmfp_server_config_init (&cfg);
  cfg.apps = apps;
  cfg.on_event = record_event;
  cfg.event_data = events;
  fx = fixture_new_with (31, &cfg);
  p = client_new (fx, "10.0.0.2:5000");
  q = client_new (fx, "10.0.0.3:5000");
  bad = client_new (fx, "10.0.0.4:5000");
  p2 = client_new (fx, "10.0.0.5:5000");
  p3 = client_new (fx, "10.0.0.6:5000");
  r = rtmp_client_new (fx, "10.0.1.1:40000");

  client_connect_ok (p, "live");
  client_publish (p, "cam");
  client_connect_ok (q, "live");
  client_play (q, "cam");
  rtmp_client_connect_ok (r, "live");
  rtmp_client_play (r, "cam");
  client_connect (bad, "other");
  client_connect_ok (p2, "live");
  /* a second publisher of the name is refused; a name with a quote, a
   * backslash and a newline is published (a label value to escape) */
  client_start (p2, "publish", "cam");
  g_assert_true (wait_status (p2, p2->stream_id, RTMFP_TC_PUBLISH_BADNAME,
          5 * SEC));
  client_connect_ok (p3, "live");
  client_publish (p3, "a\"b\\c\nd");
  publish_headers (p);
  for (n = 0; n < 20; n++) {
    publish_frame (p, n, 10, 500);
    run_for (fx, 40 * MS);
  }
  run_for (fx, 1 * SEC);

  /* events so far, in order, with addresses and reasons */
  g_assert_cmpint (find_event (events, "connect rtmfp 1 10.0.0.2:5000 live - "
          "accepted -"), ==, 0);
  g_assert_cmpint (find_event (events, "publish rtmfp 1 10.0.0.2:5000 live "
          "cam started -"), ==, 1);
  g_assert_cmpint (find_event (events, "connect rtmfp 2 10.0.0.3:5000 live - "
          "accepted"), ==, 2);
  g_assert_cmpint (find_event (events, "play rtmfp 2 10.0.0.3:5000 live cam "
          "started"), ==, 3);
  g_assert_cmpint (find_event (events, "connect rtmp 1 10.0.1.1:40000 live - "
          "accepted"), ==, 4);
  g_assert_cmpint (find_event (events, "play rtmp 1 10.0.1.1:40000 live cam "
          "started"), ==, 5);
  e = find_event (events, "connect rtmfp 3 10.0.0.4:5000 other - rejected "
      "Application 'other' is not available.");
  g_assert_cmpint (e, ==, 6);
  g_assert_cmpint (find_event (events, "publish rtmfp 4 10.0.0.5:5000 live "
          "cam refused already published"), >, e);
  g_assert_cmpint (find_event (events, "publish rtmfp 5 10.0.0.6:5000 live "
          "a\"b\\c\nd started"), >, e);

  /* the exposition: the stats line's figures, per-stream players */
  rtmfp_server_get_metrics (fx->srv, &m);
  rtmfp_server_get_stats (fx->srv, &st);
  rtmfp_server_metrics_format (&m, "9.9.9", text);
  g_test_message ("%s", text->str);
  g_assert_true (g_str_has_prefix (text->str, "# HELP rtmfp_server_info "));
  g_assert_nonnull (strstr (text->str, "\nrtmfp_server_info{version=\"9.9.9\"}"
          " 1\n"));
  assert_sample (text->str, "rtmfp_server_sessions", st.sessions);
  assert_sample (text->str, "rtmfp_server_connections{protocol=\"rtmfp\"}",
      st.connections);
  g_assert_cmpuint (st.connections, ==, 4);
  assert_sample (text->str, "rtmfp_server_connections{protocol=\"rtmp\"}",
      1);
  assert_sample (text->str, "rtmfp_server_streams", 2);
  assert_sample (text->str, "rtmfp_server_players", 2);
  assert_sample (text->str, "rtmfp_server_stream_players{app=\"live\","
      "stream=\"cam\",published=\"true\"}", 2);
  assert_sample (text->str, "rtmfp_server_stream_players{app=\"live\","
      "stream=\"a\\\"b\\\\c\\nd\",published=\"true\"}", 0);
  assert_sample (text->str, "rtmfp_server_bytes_received_total"
      "{protocol=\"rtmfp\"}", st.bytes_in);
  assert_sample (text->str, "rtmfp_server_bytes_sent_total"
      "{protocol=\"rtmp\"}", st.rtmp_bytes_out);
  assert_sample (text->str, "rtmfp_server_messages_received_total",
      st.messages_in);
  g_assert_cmpuint (st.messages_in, >=, 60);
  assert_sample (text->str, "rtmfp_server_messages_relayed_total",
      st.messages_relayed);
  assert_sample (text->str, "rtmfp_server_connects_total{protocol=\"rtmfp\","
      "result=\"accepted\"}", 4);
  assert_sample (text->str, "rtmfp_server_connects_total{protocol=\"rtmfp\","
      "result=\"rejected\"}", 1);
  assert_sample (text->str, "rtmfp_server_connects_total{protocol=\"rtmp\","
      "result=\"accepted\"}", 1);
  assert_sample (text->str, "rtmfp_server_sessions_opened_total",
      m.ep.sessions_opened);
  g_assert_cmpuint (m.ep.sessions_opened, ==, 5);
  assert_sample (text->str, "rtmfp_server_rtt_seconds_count",
      m.rtt_seconds->len);
  g_assert_cmpuint (m.rtt_seconds->len, >=, 3);
  /* the sum / count is the stats line's mean RTT */
  {
    gchar *sum = sample_value (text->str, "rtmfp_server_rtt_seconds_sum");

    g_assert_nonnull (sum);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (sum, NULL) * 1000 /
        m.rtt_seconds->len, st.rtt_ms, 0.001);
    g_free (sum);
  }
  /* every sample belongs to a family announced before it */
  {
    gchar **lines = g_strsplit (text->str, "\n", -1);
    GHashTable *typed = g_hash_table_new_full (g_str_hash, g_str_equal,
        g_free, NULL);

    for (i = 0; lines[i] && *lines[i]; i++) {
      gchar *name;

      if (g_str_has_prefix (lines[i], "# TYPE ")) {
        gchar **t = g_strsplit (lines[i] + 7, " ", 2);
        g_hash_table_add (typed, g_strdup (t[0]));
        g_strfreev (t);
        continue;
      }
      if (lines[i][0] == '#')
        continue;
      name = g_strndup (lines[i], strcspn (lines[i], "{ "));
      if (!g_hash_table_contains (typed, name)) {
        gchar *base = g_strndup (name, strlen (name) -
            (g_str_has_suffix (name, "_sum") ? 4 :
                g_str_has_suffix (name, "_count") ? 6 : 0));
        g_assert_true (g_hash_table_contains (typed, base));
        g_free (base);
      }
      g_free (name);
    }
    g_assert_null (lines[i + 1]);       /* ends with one newline */
    g_hash_table_unref (typed);
    g_strfreev (lines);
  }
  rtmfp_server_metrics_clear (&m);

  /* the publisher closes its session; the RTMP player goes */
  rtmfp_session_close (p->session, cl_now (p));
  rtmfp_sim_net_kick (fx->net);
  rtmp_client_disconnect (r);
  run_for (fx, 3 * SEC);
  for (i = 0; i < events->len; i++)
    g_test_message ("event: %s", (gchar *) events->pdata[i]);
  g_assert_cmpint (find_event (events, "unpublish rtmfp 1 10.0.0.2:5000 live "
          "cam - the stream ended"), >, 0);
  g_assert_cmpint (find_event (events, "close rtmfp 1 10.0.0.2:5000 live - - "
          "the client closed the session"), >, 0);
  g_assert_cmpint (find_event (events, "stop rtmp 1 10.0.1.1:40000 live cam - "
          "the stream ended"), >, 0);
  g_assert_cmpint (find_event (events, "close rtmp 1 10.0.1.1:40000 live - - "
          "connection closed"), >, 0);

  /* totals stay totals once the connection is gone */
  {
    RtmfpServerStats after;

    rtmfp_server_get_stats (fx->srv, &after);
    g_assert_cmpuint (after.fragments_retransmitted, >=,
        st.fragments_retransmitted);
    g_assert_cmpuint (after.fragments_lost, >=, st.fragments_lost);
    g_assert_cmpuint (after.messages_abandoned, >=, st.messages_abandoned);
  }
  g_string_free (text, TRUE);
  g_ptr_array_unref (events);
  fixture_free (fx);
}

/* ------------------------------------------------------------------------ */
/* The real binary */

/* The server dies with the test: an aborted test never leaves it behind
 * holding meson's output pipe */
static void
server_dies_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
test_binary (void)
{
  const gchar *path = RTMFP_SERVER_PATH;
  gchar *argv[] = { (gchar *) path, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", NULL
  };
  GError *err = NULL;
  GPid pid;
  gint out_fd, status;
  GString *buf = g_string_new (NULL);
  gchar *line;
  guint port = 0;

  /* meson builds it before this test runs (a test dependency): missing,
   * it is a broken build, never a skip */
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_fail_printf ("rtmfp-server is not built: %s", path);
    g_string_free (buf, TRUE);
    return;
  }
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, server_dies_with_test, NULL, &pid, NULL,
          &out_fd, NULL, &err));
  g_assert_no_error (err);

  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_test_message ("%s", line);
  g_assert_true (g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"));
  port = atoi (line + strlen ("listening rtmfp 127.0.0.1:"));
  g_assert_cmpuint (port, >, 0);
  g_assert_cmpuint (port, <, 65536);
  g_free (line);

  kill (pid, SIGUSR1);
  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_test_message ("%s", line);
  g_assert_true (g_str_has_prefix (line, "stats sessions=0 connections=0 "));
  g_assert_nonnull (strstr (line, " bytes_in="));
  g_assert_nonnull (strstr (line, " abandoned="));
  g_assert_nonnull (strstr (line, " rtt_ms="));
  g_assert_nonnull (strstr (line, " kbps_in="));
  g_assert_nonnull (strstr (line, " kbps_out="));
  g_free (line);

  kill (pid, SIGTERM);
  status = wait_exit (pid, 10000);
  if (status == -1) {
    kill (pid, SIGKILL);
    wait_exit (pid, 5000);
  }
  g_assert_cmpint (status, !=, -1);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_spawn_close_pid (pid);
  close (out_fd);

  /* --stats-interval prints by itself; SIGINT exits 0 too */
  {
    gchar *argv3[] = { (gchar *) path, (gchar *) "--rtmfp",
      (gchar *) "127.0.0.1:0", (gchar *) "--stats-interval", (gchar *) "1",
      (gchar *) "--app", (gchar *) "live", (gchar *) "--auth-key",
      (gchar *) "supersecret", (gchar *) "--auth-key-hex", (gchar *) "00fF7f",
      NULL
    };

    g_string_truncate (buf, 0);
    g_assert_true (g_spawn_async_with_pipes (NULL, argv3, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL, &out_fd, NULL,
            &err));
    g_assert_no_error (err);
    line = read_line (out_fd, buf, 10000);
    g_assert_nonnull (line);
    g_assert_true (g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"));
    g_free (line);
    line = read_line (out_fd, buf, 10000);
    g_assert_nonnull (line);
    g_assert_true (g_str_has_prefix (line, "stats sessions=0 "));
    g_free (line);
    kill (pid, SIGINT);
    status = wait_exit (pid, 10000);
    if (status == -1) {
      kill (pid, SIGKILL);
      wait_exit (pid, 5000);
    }
    g_assert_cmpint (status, !=, -1);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    g_spawn_close_pid (pid);
    close (out_fd);
  }
  g_string_free (buf, TRUE);

  /* a bad --auth-key-hex (odd length, not hex): error and exit status 1 */
  for (guint i = 0; i < 2; i++) {
    gchar *argv4[] = { (gchar *) path, (gchar *) "--rtmfp",
      (gchar *) "127.0.0.1:0", (gchar *) "--auth-key-hex",
      (gchar *) (i ? "0g" : "abc"), NULL
    };
    gchar *serr = NULL;
    gint st4;

    g_assert_true (g_spawn_sync (NULL, argv4, NULL, G_SPAWN_DEFAULT, NULL,
            NULL, NULL, &serr, &st4, &err));
    g_assert_no_error (err);
    g_assert_true (WIFEXITED (st4));
    g_assert_cmpint (WEXITSTATUS (st4), ==, 1);
    g_assert_nonnull (strstr (serr, "--auth-key-hex"));
    g_free (serr);
  }

  /* a port that is taken: error and exit status 1 */
  {
    gchar *taken = g_strdup_printf ("127.0.0.1:%u", port);
    gchar *argv2[] = { (gchar *) path, (gchar *) "--rtmfp", taken, NULL };
    GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
        G_SOCKET_PROTOCOL_UDP, NULL);
    GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new (lo, 0);
    gchar *serr = NULL;
    gint st2;

    /* bind a port of our own so that it is surely taken */
    g_assert_true (g_socket_bind (s, sa, FALSE, NULL));
    g_object_unref (sa);
    sa = g_socket_get_local_address (s, NULL);
    g_free (taken);
    taken = g_strdup_printf ("127.0.0.1:%u", g_inet_socket_address_get_port
        (G_INET_SOCKET_ADDRESS (sa)));
    argv2[2] = taken;
    g_assert_true (g_spawn_sync (NULL, argv2, NULL, G_SPAWN_DEFAULT, NULL,
            NULL, NULL, &serr, &st2, &err));
    g_assert_no_error (err);
    g_assert_true (WIFEXITED (st2));
    g_assert_cmpint (WEXITSTATUS (st2), ==, 1);
    g_assert_nonnull (strstr (serr, "cannot listen"));
    g_free (serr);
    g_free (taken);
    g_object_unref (sa);
    g_object_unref (lo);
    g_object_unref (s);
  }
}

/* --identity: the first start makes the file (0600) and prints
 * "fingerprint HEX" after the listening line, SIGUSR1 prints it before the
 * stats, a restart keeps it; a damaged or unreadable file is an error
 * naming the file (exit 1, no new identity); group/other access is
 * warned about */
static gchar *
binary_identity_start (const gchar * path, const gchar * file, GPid * pid,
    gint * out_fd, gint * err_fd, GString * buf)
{
  gchar *argv[] = { (gchar *) path, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--identity", (gchar *) file, NULL
  };
  GError *err = NULL;
  gchar *line, *fp;

  g_string_truncate (buf, 0);
  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, pid, NULL, out_fd, err_fd,
          &err));
  g_assert_no_error (err);
  line = read_line (*out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"));
  g_free (line);
  line = read_line (*out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_test_message ("%s", line);
  g_assert_true (g_str_has_prefix (line, "fingerprint "));
  fp = g_strdup (line + strlen ("fingerprint "));
  g_assert_cmpuint (strlen (fp), ==, 64);
  g_free (line);
  return fp;
}

static void
binary_stop (GPid pid, gint out_fd, gint err_fd)
{
  gint status;

  kill (pid, SIGTERM);
  status = wait_exit (pid, 10000);
  if (status == -1) {
    kill (pid, SIGKILL);
    wait_exit (pid, 5000);
  }
  g_assert_cmpint (status, !=, -1);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_spawn_close_pid (pid);
  close (out_fd);
  close (err_fd);
}

/* The binary with --identity file: exit status 1 and stderr */
static gchar *
binary_identity_fails (const gchar * path, const gchar * file)
{
  gchar *argv[] = { (gchar *) path, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--identity", (gchar *) file, NULL
  };
  GError *err = NULL;
  gchar *out = NULL, *serr = NULL;
  gint st;

  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, &serr, &st, &err));
  g_assert_no_error (err);
  g_test_message ("%s", serr);
  g_assert_true (WIFEXITED (st));
  g_assert_cmpint (WEXITSTATUS (st), ==, 1);
  /* nothing was served */
  g_assert_null (strstr (out, "listening"));
  g_assert_nonnull (strstr (serr, file));
  g_free (out);
  return serr;
}

static void
test_binary_identity (void)
{
  const gchar *path = RTMFP_SERVER_PATH;
  gchar *dir = g_dir_make_tmp ("rtmfp-identity-XXXXXX", NULL);
  gchar *file = g_build_filename (dir, "server.identity", NULL);
  GString *buf = g_string_new (NULL);
  GPid pid;
  gint out_fd, err_fd;
  gchar *fp1, *fp2, *line, *serr, *text = NULL;
  GStatBuf st;
  gsize len;

  g_assert_nonnull (dir);
  fp1 = binary_identity_start (path, file, &pid, &out_fd, &err_fd, buf);
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  kill (pid, SIGUSR1);
  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "fingerprint "));
  g_assert_cmpstr (line + strlen ("fingerprint "), ==, fp1);
  g_free (line);
  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "stats "));
  g_free (line);
  binary_stop (pid, out_fd, err_fd);

  /* restarted: the same identity */
  fp2 = binary_identity_start (path, file, &pid, &out_fd, &err_fd, buf);
  g_assert_cmpstr (fp1, ==, fp2);
  g_free (fp2);
  binary_stop (pid, out_fd, err_fd);

  /* readable by others: it still starts, with a warning */
  g_assert_cmpint (g_chmod (file, 0644), ==, 0);
  fp2 = binary_identity_start (path, file, &pid, &out_fd, &err_fd, buf);
  g_assert_cmpstr (fp1, ==, fp2);
  g_free (fp2);
  g_string_truncate (buf, 0);
  line = read_line (err_fd, buf, 10000);
  g_assert_nonnull (line);
  g_test_message ("%s", line);
  g_assert_nonnull (strstr (line, "warning"));
  g_assert_nonnull (strstr (line, file));
  g_free (line);
  binary_stop (pid, out_fd, err_fd);
  g_assert_cmpint (g_chmod (file, 0600), ==, 0);

  /* damaged: one digit of a key changed */
  g_assert_true (g_file_get_contents (file, &text, &len, NULL));
  {
    gchar *p = strstr (text, "dh 2 ") + 5;
    gchar *bad;

    *p = *p == '1' ? '2' : '1';
    g_assert_true (g_file_set_contents (file, text, len, NULL));
    serr = binary_identity_fails (path, file);
    g_assert_nonnull (strstr (serr, "fingerprint"));
    g_free (serr);
    /* still the damaged file: no new identity was written over it */
    g_assert_true (g_file_get_contents (file, &bad, NULL, NULL));
    g_assert_cmpstr (bad, ==, text);
    g_free (bad);
  }
  g_free (text);
  /* empty, and not a file */
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  serr = binary_identity_fails (path, file);
  g_free (serr);
  serr = binary_identity_fails (path, dir);
  g_assert_nonnull (strstr (serr, "not a regular file"));
  g_free (serr);

  g_unlink (file);
  g_rmdir (dir);
  g_free (fp1);
  g_free (file);
  g_free (dir);
  g_string_free (buf, TRUE);
}

/* --max-sessions against the real binary: real UDP sockets on loopback,
 * client endpoints driven sans-I/O from this thread */

#define MS_CLIENTS 3

typedef struct {
  GSocket *sock;
  RtmfpEndpoint *ep;
  RtmfpSession *session;        /* borrowed, owned by ep */
  gboolean opened;
} MsClient;

static void
ms_send (const guint8 * data, gsize len, const RtmfpAddr * to, gpointer ud)
{
  MsClient *c = ud;
  GSocketAddress *sa = rtmfp_addr_to_gsocket (to);

  g_socket_send_to (c->sock, sa, (const gchar *) data, len, NULL, NULL);
  g_object_unref (sa);
}

static void
ms_opened (RtmfpEndpoint * ep, RtmfpSession * s, gpointer ud)
{
  ((MsClient *) ud)->opened = TRUE;
}

static const RtmfpEndpointCallbacks ms_callbacks = {
  .session_opened = ms_opened,
};

/* Drives the clients on the real clock for up to ms milliseconds, or
 * until want_opened of them are open (0: the whole time) */
static void
ms_run (MsClient * cl, guint n, gint ms, guint want_opened)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint8 buf[8192];

  for (;;) {
    struct pollfd pfd[MS_CLIENTS];
    gint64 now = g_get_monotonic_time (), wake = end;
    guint i, opened = 0;

    for (i = 0; i < n; i++) {
      gint64 t = rtmfp_endpoint_next_timeout (cl[i].ep);
      if (t >= 0 && t <= now)
        rtmfp_endpoint_handle_timeout (cl[i].ep, now);
      t = rtmfp_endpoint_next_timeout (cl[i].ep);
      if (t >= 0 && t < wake)
        wake = t;
      opened += cl[i].opened;
      pfd[i].fd = g_socket_get_fd (cl[i].sock);
      pfd[i].events = POLLIN;
    }
    if ((want_opened && opened >= want_opened) || now >= end)
      return;
    poll (pfd, n, (gint) MAX (1, (wake - now + 999) / 1000));
    now = g_get_monotonic_time ();
    for (i = 0; i < n; i++) {
      GSocketAddress *from = NULL;
      gssize len;
      RtmfpAddr a;

      while ((len = g_socket_receive_from (cl[i].sock, &from, (gchar *) buf,
                  sizeof (buf), NULL, NULL)) >= 0) {
        if (rtmfp_addr_from_gsocket (&a, from))
          rtmfp_endpoint_receive (cl[i].ep, buf, len, &a, now);
        g_clear_object (&from);
      }
    }
  }
}

static void
test_binary_max_sessions (void)
{
  const gchar *path = RTMFP_SERVER_PATH;
  gchar *argv[] = { (gchar *) path, (gchar *) "--rtmfp",
    (gchar *) "127.0.0.1:0", (gchar *) "--max-sessions", (gchar *) "2",
    NULL
  };
  MsClient cl[MS_CLIENTS] = { {0} };
  GError *err = NULL;
  GPid pid;
  gint out_fd, status;
  GString *buf = g_string_new (NULL);
  gchar *line;
  RtmfpAddr server;
  guint i;

  /* meson builds it before this test runs (a test dependency): missing,
   * it is a broken build, never a skip */
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_fail_printf ("rtmfp-server is not built: %s", path);
    g_string_free (buf, TRUE);
    return;
  }

  /* a negative limit is a bad option */
  {
    gchar *bad[] = { (gchar *) path, (gchar *) "--rtmfp",
      (gchar *) "127.0.0.1:0", (gchar *) "--max-sessions", (gchar *) "-3",
      NULL
    };
    gchar *serr = NULL;
    gint st;

    g_assert_true (g_spawn_sync (NULL, bad, NULL, G_SPAWN_DEFAULT, NULL,
            NULL, NULL, &serr, &st, &err));
    g_assert_no_error (err);
    g_assert_true (WIFEXITED (st));
    g_assert_cmpint (WEXITSTATUS (st), ==, 1);
    g_assert_nonnull (strstr (serr, "--max-sessions"));
    g_free (serr);
  }

  g_assert_true (g_spawn_async_with_pipes (NULL, argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, server_dies_with_test, NULL, &pid, NULL,
          &out_fd, NULL, &err));
  g_assert_no_error (err);
  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening rtmfp "));
  g_assert_true (rtmfp_addr_from_string (&server, line +
          strlen ("listening rtmfp "), 0));
  g_free (line);

  for (i = 0; i < MS_CLIENTS; i++) {
    GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new (lo, 0);
    RtmfpEndpointConfig cfg;

    cl[i].sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
        G_SOCKET_PROTOCOL_UDP, &err);
    g_assert_no_error (err);
    g_assert_true (g_socket_bind (cl[i].sock, sa, FALSE, &err));
    g_assert_no_error (err);
    g_socket_set_blocking (cl[i].sock, FALSE);
    g_object_unref (sa);
    g_object_unref (lo);
    rtmfp_endpoint_config_init (&cfg);
    cfg.accept_sessions = FALSE;
    cfg.open_timeout_us = 60 * SEC;
    cl[i].ep = rtmfp_endpoint_new (&cfg, &ms_callbacks, &cl[i], ms_send,
        &cl[i]);
    g_assert_nonnull (cl[i].ep);
  }

  /* two sessions open */
  for (i = 0; i < 2; i++) {
    GByteArray *epd = g_byte_array_new ();
    rtmfp_epd_append_ancillary (epd, "rtmfp://127.0.0.1/live");
    cl[i].session = rtmfp_endpoint_open_session (cl[i].ep, epd->data,
        epd->len, &server, 1, g_get_monotonic_time ());
    g_assert_nonnull (cl[i].session);
    g_byte_array_unref (epd);
  }
  ms_run (cl, MS_CLIENTS, 20000, 2);
  g_assert_true (cl[0].opened);
  g_assert_true (cl[1].opened);

  /* the third is not answered: still opening after several IIKeying
   * resends (the server allocates nothing for it) */
  {
    GByteArray *epd = g_byte_array_new ();
    rtmfp_epd_append_ancillary (epd, "rtmfp://127.0.0.1/live");
    cl[2].session = rtmfp_endpoint_open_session (cl[2].ep, epd->data,
        epd->len, &server, 1, g_get_monotonic_time ());
    g_assert_nonnull (cl[2].session);
    g_byte_array_unref (epd);
  }
  ms_run (cl, MS_CLIENTS, 2500, 0);
  g_assert_false (cl[2].opened);
  g_assert_cmpint (rtmfp_session_get_state (cl[2].session), ==,
      RTMFP_SESSION_KEYING_SENT);
  g_assert_cmpint (rtmfp_session_get_state (cl[0].session), ==,
      RTMFP_SESSION_OPEN);

  kill (pid, SIGUSR1);
  line = read_line (out_fd, buf, 10000);
  g_assert_nonnull (line);
  g_test_message ("%s", line);
  g_assert_true (g_str_has_prefix (line, "stats sessions=2 "));
  g_free (line);

  /* one aborts (a Close Acknowledgement: the server closes it at once,
   * 3.5.5.2, where an orderly close would linger): room for the third,
   * which opens with its next IIKeying */
  rtmfp_session_abort (cl[0].session, g_get_monotonic_time ());
  ms_run (cl, MS_CLIENTS, 20000, 3);
  g_assert_true (cl[2].opened);

  kill (pid, SIGTERM);
  status = wait_exit (pid, 10000);
  if (status == -1) {
    kill (pid, SIGKILL);
    wait_exit (pid, 5000);
  }
  g_assert_cmpint (status, !=, -1);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_spawn_close_pid (pid);
  close (out_fd);
  for (i = 0; i < MS_CLIENTS; i++) {
    rtmfp_endpoint_free (cl[i].ep);
    g_object_unref (cl[i].sock);
  }
  g_string_free (buf, TRUE);
}

/* ---- authentication (tcserver-style tokens) ---- */

#define AUTH_KEY "supersecret"
/* HMAC-SHA-256 (k="supersecret", m="live/12345"), lower-case hex: the
 * project's test vector, also given by tcserver's documentation */
#define AUTH_TOKEN_LIVE \
  "df41d9cbe74f325250d6e0346dcd9e95fb837892f4a927c27cecf2664d639786"
/* HMAC-SHA-256 (k="supersecret", m="mike@live/12345") */
#define AUTH_TOKEN_MIKE \
  "8bddf00ca7e31862fe17872c463df61eafde6518f565cb3def0e82a3b2d639d7"

static void
test_auth_token (void)
{
  gchar *t;

  t = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY, strlen (AUTH_KEY),
      NULL, "live/12345");
  g_assert_cmpstr (t, ==, AUTH_TOKEN_LIVE);
  g_free (t);
  t = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY, strlen (AUTH_KEY),
      "mike", "live/12345");
  g_assert_cmpstr (t, ==, AUTH_TOKEN_MIKE);
  g_free (t);
  /* RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?" */
  t = rtmfp_server_auth_token ((const guint8 *) "Jefe", 4, NULL,
      "what do ya want for nothing?");
  g_assert_cmpstr (t, ==, "5bdcc146bf60754e6a042426089575c7"
      "5a003f089d2739839dec58b964ec3843");
  g_free (t);
}

/* A second master key, given as bytes (--auth-key-hex) */
static const guint8 auth_key2[] = { 0x00, 0x01, 0xfe, 0xff, 0x80, 0x7f };

static Fixture *
auth_fixture_new (guint32 seed)
{
  RtmfpServerConfig cfg;
  GBytes *keys[3];
  Fixture *fx;

  keys[0] = g_bytes_new_static (AUTH_KEY, strlen (AUTH_KEY));
  keys[1] = g_bytes_new_static (auth_key2, sizeof auth_key2);
  keys[2] = NULL;
  rtmfp_server_config_init (&cfg);
  cfg.auth_keys = keys;
  fx = fixture_new_with (seed, &cfg);
  /* the server keeps its own references */
  g_bytes_unref (keys[0]);
  g_bytes_unref (keys[1]);
  return fx;
}

/* _error NetConnection.Connect.Rejected "Authentication failed.", then the
 * server closes its control flow (5.3.6) */
static void
assert_auth_rejected (Client * c)
{
  GPtrArray *a = NULL;
  gdouble txn = -1;

  g_assert_cmpint (find_command (c, 0, 0, "_result", NULL, NULL), <, 0);
  g_assert_cmpint (find_command (c, 0, 0, "_error", &a, &txn), >=, 0);
  g_assert_cmpfloat (txn, ==, 1.0);
  g_assert_cmpuint (a->len, ==, 2);
  g_assert_cmpstr (rtmfp_tc_status_peek_code (a->pdata[1]), ==,
      RTMFP_TC_CONNECT_REJECTED);
  g_assert_nonnull (strstr (rtmfp_tc_status_peek_description (a->pdata[1]),
          "uthentication"));
  g_ptr_array_unref (a);
  run_for (c->fx, 2 * SEC);
  g_assert_true (c->server_ctrl_complete);
}

static void
test_auth_rtmfp (void)
{
  Fixture *fx = auth_fixture_new (31);
  Client *none = client_new (fx, "10.0.0.2:5000");
  Client *wrong = client_new (fx, "10.0.0.3:5000");
  Client *other_app = client_new (fx, "10.0.0.4:5000");
  Client *garbage = client_new (fx, "10.0.0.5:5000");
  Client *good = client_new (fx, "10.0.0.6:5000");
  Client *user = client_new (fx, "10.0.0.7:5000");
  Client *key2 = client_new (fx, "10.0.0.8:5000");
  Client *upper = client_new (fx, "10.0.0.9:5000");
  RtmfpServerStats st;
  gchar wrong_token[] = AUTH_TOKEN_LIVE;
  gchar *t, *up;
  guint8 mac[RTMFP_SHA256_SIZE];
  GString *hex = g_string_new (NULL);

  /* no token */
  client_connect (none, "live/12345");
  assert_auth_rejected (none);
  /* one hex digit off */
  wrong_token[63] = wrong_token[63] == '0' ? '1' : '0';
  client_connect_with (wrong, "live/12345", NULL, wrong_token);
  assert_auth_rejected (wrong);
  /* a right token for another app */
  client_connect_with (other_app, "live/99999", NULL, AUTH_TOKEN_LIVE);
  assert_auth_rejected (other_app);
  /* not hex, wrong length */
  client_connect_with (garbage, "live/12345", NULL, "df41d9cb");
  assert_auth_rejected (garbage);

  /* the App-wide token */
  client_connect_with (good, "live/12345", NULL, AUTH_TOKEN_LIVE);
  g_assert_cmpint (find_status (good, 0, 0, RTMFP_TC_CONNECT_SUCCESS), >=, 0);
  /* user name and user token */
  client_connect_with (user, "live/12345", "mike", AUTH_TOKEN_MIKE);
  g_assert_cmpint (find_status (user, 0, 0, RTMFP_TC_CONNECT_SUCCESS), >=, 0);
  /* any configured key accepts: the token under the second (binary) key,
   * computed here with the crypto layer's HMAC */
  rtmfp_hmac_sha256 (auth_key2, sizeof auth_key2, (const guint8 *) "live",
      4, mac);
  for (guint i = 0; i < sizeof mac; i++)
    g_string_append_printf (hex, "%02x", mac[i]);
  client_connect_with (key2, "live", NULL, hex->str);
  g_assert_cmpint (find_status (key2, 0, 0, RTMFP_TC_CONNECT_SUCCESS), >=, 0);
  g_string_free (hex, TRUE);
  /* hex digits in upper case are the same token */
  t = g_strdup (AUTH_TOKEN_LIVE);
  up = g_ascii_strup (t, -1);
  client_connect_with (upper, "live/12345", NULL, up);
  g_assert_cmpint (find_status (upper, 0, 0, RTMFP_TC_CONNECT_SUCCESS), >=,
      0);
  g_free (t);
  g_free (up);

  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.connects_rejected, ==, 4);
  g_assert_cmpuint (st.connects_accepted, ==, 4);
  g_assert_cmpuint (st.connections, ==, 4);
  fixture_free (fx);
}

static void
test_auth_rtmp (void)
{
  Fixture *fx = auth_fixture_new (32);
  RtmpClient *none = rtmp_client_new (fx, "10.0.1.2:40000");
  RtmpClient *wrong = rtmp_client_new (fx, "10.0.1.3:40000");
  RtmpClient *good = rtmp_client_new (fx, "10.0.1.4:40000");
  RtmpClient *bad[2] = { none, wrong };
  RtmfpServerStats st;

  rtmp_client_connect (none, "live/12345");
  rtmp_client_connect_with (wrong, "live/12345",
      "0000000000000000000000000000000000000000000000000000000000000000");
  for (guint i = 0; i < 2; i++) {
    GPtrArray *a = NULL;

    g_assert_cmpint (rtmp_find_status (bad[i], 0, 0,
            RTMFP_TC_CONNECT_SUCCESS), <, 0);
    g_assert_cmpint (rtmp_find_command (bad[i], 0, 0, "_error", &a, NULL),
        >=, 0);
    g_assert_cmpstr (rtmfp_tc_status_peek_code (a->pdata[1]), ==,
        RTMFP_TC_CONNECT_REJECTED);
    g_assert_nonnull (strstr (rtmfp_amf_node_peek_field_string (a->pdata[1],
                "description", NULL), "uthentication"));
    g_ptr_array_unref (a);
    /* and the connection is closed */
    g_assert_true (bad[i]->feed_refused);
    g_assert_true (bad[i]->closed);
  }
  rtmp_client_connect_with (good, "live/12345", AUTH_TOKEN_LIVE);
  g_assert_cmpint (rtmp_find_status (good, 0, 0, RTMFP_TC_CONNECT_SUCCESS),
      >=, 0);
  g_assert_false (good->closed);

  rtmfp_server_get_stats (fx->srv, &st);
  g_assert_cmpuint (st.rtmp_connects_rejected, ==, 2);
  g_assert_cmpuint (st.rtmp_connects_accepted, ==, 1);
  fixture_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/connect/success", test_connect_success);
  g_test_add_func ("/server/connect/rejected", test_connect_rejected);
  g_test_add_func ("/server/auth/token", test_auth_token);
  g_test_add_func ("/server/auth/rtmfp", test_auth_rtmfp);
  g_test_add_func ("/server/auth/rtmp", test_auth_rtmp);
  g_test_add_func ("/server/create-stream", test_create_stream);
  g_test_add_func ("/server/bad-flows", test_bad_flows);
  g_test_add_func ("/server/relay", test_relay);
  g_test_add_func ("/server/events-and-metrics", test_events_and_metrics);
  g_test_add_func ("/server/metrics/http-request", test_http_request);
  g_test_add_func ("/server/publish-bad-name", test_publish_bad_name);
  g_test_add_func ("/server/late-player", test_late_player);
  g_test_add_func ("/server/player-leaves", test_player_leaves);
  g_test_add_func ("/server/publisher-leaves", test_publisher_leaves);
  g_test_add_func ("/server/publisher-close-linger",
      test_publisher_close_linger);
  g_test_add_func ("/server/play-not-found", test_play_not_found);
  g_test_add_func ("/server/expired-media", test_expired_media);
  g_test_add_func ("/server/backpressure", test_backpressure);
  g_test_add_func ("/server/introduction", test_introduction);
  g_test_add_func ("/server/rtmp/connect", test_rtmp_connect);
  g_test_add_func ("/server/rtmp/rtmp-to-rtmfp", test_rtmp_to_rtmfp);
  g_test_add_func ("/server/rtmp/rtmfp-to-rtmp", test_rtmfp_to_rtmp);
  g_test_add_func ("/server/rtmp/bad-name", test_rtmp_bad_name);
  g_test_add_func ("/server/rtmp/republish", test_rtmp_republish);
  g_test_add_func ("/server/rtmp/takeover", test_rtmp_takeover);
  g_test_add_func ("/server/rtmp/slow-player", test_rtmp_slow_player);
  g_test_add_func ("/server/rtmp/shutdown", test_rtmp_shutdown);
  g_test_add_func ("/server/shutdown-refuses-sessions",
      test_rtmfp_shutdown_refuses);
  g_test_add_func ("/server/binary", test_binary);
  g_test_add_func ("/server/binary/max-sessions", test_binary_max_sessions);
  g_test_add_func ("/server/binary/identity", test_binary_identity);

  return g_test_run ();
}
