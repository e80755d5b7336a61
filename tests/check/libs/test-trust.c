/* Trust and interop on the simulated network:
 *
 * - identities: Flash Player's certificate shape, a server's saved static
 *   identity and what a damaged one gives;
 * - pinning against a man in the middle: an attacker that replays the
 *   real server's certificate (learned from its own IHello) cannot finish
 *   a session with a pinned client, whatever keying answer it makes up; one
 *   that shows its own certificate is refused before any IIKeying, while an
 *   unpinned client accepts it (RFC 7425 section 7: the documented
 *   behaviour);
 * - nonce-bound (hashed) authentication tokens: captured by a rogue
 *   server, a hashed token is refused by the real server, a plain one is
 *   not; mutual: the server must prove it knows the token;
 * - Flash-era servers: a responder that behaves like MonaServer (advertises
 *   groups 2, 5 and 14, reads the initiator's certificate at Flash
 *   Player's fixed positions, answers in group 2) carries a stream and
 *   introduces peers with the clients' default settings (AUTO falls back
 *   to Flash Player's certificate); rtmfp-server answers Flash-shaped
 *   initiators;
 * - clean stream ends: through a server that acts on deleteStream at once,
 *   and peer to peer, the last tag of a stream reaches the player in every
 *   run on a lossy, reordering link.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "rtmfpsimnet.h"
#include "rtmfpserver.h"
#include "rtmfptcclient.h"
#include "rtmfptcpeer.h"
#include "rtmfptcagent.h"
#include "rtmfppacket.h"
#include "rtmfpvlu.h"
#include "amf0.h"
#include "flvtag.h"

#define MS G_TIME_SPAN_MILLISECOND
#define SEC G_TIME_SPAN_SECOND

#define SERVER_ADDR "10.0.0.1:1935"
#define ROGUE_ADDR "10.0.0.66:1935"
#define TC_URL "rtmfp://10.0.0.1/live"
#define AUTH_KEY "supersecret"
#define MAX_CLIENTS 6
#define MAX_SERVERS 2

static RtmfpCipher *default_cipher;

/* Flash Player's certificate from the capture in test-vectors.txt (the
 * IIKeying's): SHA-256 95c1b98c...e21e */
static const guint8 flash_capture_cert[] =
    "\x81\x02\x1d\x02\x89\xf7\xea\x81\x29\x23\xcc\x71\x86\x1b\x6e\x5a"
    "\xa4\x24\xa8\x52\xc3\x92\x2c\xc0\xd2\x74\x41\x2e\x82\x73\x76\xf2"
    "\x75\x9d\x21\xaa\x4a\x65\x14\x02\xec\xde\x2f\x00\x79\x98\x6b\x76"
    "\x28\x8b\x10\x1d\x8c\xd3\xa7\x36\x9a\x87\x4f\x7a\x88\x57\xb7\x2f"
    "\x25\xb0\x1d\x2e\x9c\x54\xd6\x59\x92\x94\x10\x07\x9f\x3d\x04\x64"
    "\xbf\xe2\x37\x5d\x15\x45\x71\x47\x19\x86\x32\x06\x85\x8f\x2a\x94"
    "\x88\xde\xe5\x87\xed\xe6\xfc\x4e\xbe\x53\xf4\xbf\xe2\xa5\x88\xe1"
    "\x82\x66\xc4\x76\x96\x2e\xc7\x0e\xae\x40\x77\xa1\x26\xb7\xc3\x93"
    "\x35\x5e\xa6\xe1";

/* ------------------------------------------------------------------ */
/* fixture: servers (rtmfp-server's library) and clients              */

typedef struct _Fx Fx;

typedef struct {
  Fx *fx;
  RtmfpSimHost *host;
  RtmfpTcClient *c;
  RtmfpTcPeerPublisher *pp;     /* direct publishers */
  guint video, audio;
  gboolean got_last;            /* the end-of-sequence tag arrived */
  guint identity_changes;
  GError *error;
} Cl;

typedef struct {
  RtmfpServer *srv;
  RtmfpSimHost *host;
} Srv;

typedef struct {
  RtmfpTcAgent *agent;
  RtmfpSimHost *host;
  guint identity_changes;
  guint video;
} Ag;

struct _Fx {
  RtmfpSimNet *net;
  Srv servers[MAX_SERVERS];
  guint n_servers;
  Cl *cls[MAX_CLIENTS];
  guint n_cls;
  Ag *ags[MAX_CLIENTS];
  guint n_ags;
};

static gint64
sim_clock (gpointer data)
{
  return rtmfp_sim_net_now (data);
}

static Fx *
fx_new (guint32 seed)
{
  Fx *fx = g_new0 (Fx, 1);

  fx->net = rtmfp_sim_net_new (seed);
  return fx;
}

/* A server at addr: identity NULL = ephemeral (rtmfp-server without
 * --identity); linger: RtmfpServerConfig.stream_end_linger_us, -1 the
 * default; with_auth: the AUTH_KEY master key */
static RtmfpServer *
fx_server (Fx * fx, const gchar * addr, RtmfpIdentity * identity,
    gint64 linger, gboolean with_auth)
{
  static GBytes *key;
  GBytes *keys[2] = { NULL, NULL };
  RtmfpServerConfig scfg;
  RtmfpEndpointConfig ecfg;
  Srv *s;

  g_assert_cmpuint (fx->n_servers, <, MAX_SERVERS);
  s = &fx->servers[fx->n_servers++];
  if (!key)
    key = g_bytes_new_static (AUTH_KEY, strlen (AUTH_KEY));
  rtmfp_server_config_init (&scfg);
  scfg.identity = identity;
  if (linger >= 0)
    scfg.stream_end_linger_us = linger;
  if (with_auth) {
    keys[0] = key;
    scfg.auth_keys = keys;
  }
  s->srv = rtmfp_server_new (&scfg, sim_clock, fx->net);
  rtmfp_server_endpoint_config (s->srv, &ecfg);
  s->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
      rtmfp_server_get_callbacks (), s->srv);
  rtmfp_server_set_endpoint (s->srv, rtmfp_sim_host_get_endpoint (s->host));
  return s->srv;
}

static const guint8 *
server_fp (RtmfpServer * srv)
{
  return rtmfp_identity_get_fingerprint (rtmfp_server_get_identity (srv));
}

static void
cl_free (Cl * cl)
{
  rtmfp_tc_client_free (cl->c);
  g_clear_error (&cl->error);
  g_free (cl);
}

static void
fx_free (Fx * fx)
{
  RtmfpTcPeerPublisher *pps[MAX_CLIENTS];
  guint i;

  /* as test-p2p: peer publishers outlive the endpoints they serve */
  for (i = 0; i < fx->n_cls; i++) {
    pps[i] = fx->cls[i]->pp;
    cl_free (fx->cls[i]);
  }
  for (i = 0; i < fx->n_ags; i++)
    rtmfp_tc_agent_free (fx->ags[i]->agent);
  for (i = 0; i < fx->n_servers; i++)
    rtmfp_server_free (fx->servers[i].srv);
  rtmfp_sim_net_free (fx->net);
  for (i = 0; i < fx->n_ags; i++)
    g_free (fx->ags[i]);
  for (i = 0; i < fx->n_cls; i++)
    if (pps[i])
      rtmfp_tc_peer_publisher_free (pps[i]);
  g_free (fx);
}

static void
serve_client (Fx * fx, RtmfpTcClient * c, gint64 now, gint64 * next)
{
  gint64 t = rtmfp_tc_client_next_timeout (c);

  if (t >= 0 && t <= now) {
    rtmfp_tc_client_handle_timeout (c, now);
    rtmfp_sim_net_kick (fx->net);
    t = rtmfp_tc_client_next_timeout (c);
  }
  if (t >= 0 && (*next < 0 || t < *next))
    *next = t;
}

/* The simulated network knows only endpoint timers: run it in slices and
 * serve the clients' timers and the servers' housekeeping between. */
static gboolean
drive_until (Fx * fx, RtmfpSimCondition cond, gpointer ud, gint64 max_us)
{
  gint64 end = rtmfp_sim_net_now (fx->net) + max_us;

  for (;;) {
    gint64 now = rtmfp_sim_net_now (fx->net), next = -1, slice;
    guint i;

    if (cond && cond (ud))
      return TRUE;
    for (i = 0; i < fx->n_cls; i++)
      serve_client (fx, fx->cls[i]->c, now, &next);
    for (i = 0; i < fx->n_ags; i++) {
      RtmfpTcAgent *a = fx->ags[i]->agent;
      gint64 t = rtmfp_tc_agent_next_timeout (a);

      if (t >= 0 && t <= now) {
        rtmfp_tc_agent_handle_timeout (a, now);
        rtmfp_sim_net_kick (fx->net);
        t = rtmfp_tc_agent_next_timeout (a);
      }
      if (t >= 0 && (next < 0 || t < next))
        next = t;
    }
    for (i = 0; i < fx->n_servers; i++)
      rtmfp_server_poll (fx->servers[i].srv);
    slice = MIN (end - now, 10 * MS);
    if (slice <= 0)
      return cond ? cond (ud) : TRUE;
    if (next > now)
      slice = MIN (slice, next - now);
    if (rtmfp_sim_net_run_until (fx->net, cond, ud, MAX (slice, 1)))
      return TRUE;
  }
}

static void
cl_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Cl *cl = ud;

  if (msg->type == RTMFP_TC_MSG_VIDEO && msg->len >= 2) {
    if (msg->payload[1] == 0x02)        /* AVC end of sequence */
      cl->got_last = TRUE;
    else if (msg->payload[1] == 0x01)
      cl->video++;
  } else if (msg->type == RTMFP_TC_MSG_AUDIO && msg->len >= 2 &&
      msg->payload[1] == 0x01) {
    cl->audio++;
  }
}

static void
cl_error (RtmfpTcClient * c, const GError * error, gpointer ud)
{
  Cl *cl = ud;

  g_test_message ("client error: %s", error->message);
  g_clear_error (&cl->error);
  cl->error = g_error_copy (error);
}

static void
cl_identity_changed (RtmfpTcClient * c, RtmfpIdentity * id, gpointer ud)
{
  ((Cl *) ud)->identity_changes++;
}

typedef struct {
  RtmfpTcClientRole role;
  const gchar *stream;
  const gchar *to;              /* first candidate (default SERVER_ADDR) */
  const guint8 *pin;            /* server_fingerprint */
  const guint8 *peer_fp;
  RtmfpHandshakeMode handshake;
  RtmfpTcAuthMode auth_mode;
  const gchar *auth_token;
  gint64 timeout;
} ClOpts;

static Cl *
cl_new (Fx * fx, const gchar * addr, const ClOpts * o)
{
  static const RtmfpTcClientCallbacks cb = {
    .message = cl_message,
    .error = cl_error,
    .identity_changed = cl_identity_changed,
  };
  Cl *cl = g_new0 (Cl, 1);
  RtmfpEndpointConfig ecfg;
  RtmfpTcClientConfig ccfg;
  RtmfpAddr to;

  g_assert_cmpuint (fx->n_cls, <, MAX_CLIENTS);
  cl->fx = fx;
  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = o->role;
  ccfg.tc_url = TC_URL;
  ccfg.app = "live";
  ccfg.stream = o->stream ? o->stream : "cam";
  ccfg.timeout_us = o->timeout ? o->timeout : 10 * SEC;
  ccfg.server_fingerprint = o->pin;
  ccfg.peer_fingerprint = o->peer_fp;
  ccfg.handshake = o->handshake;
  ccfg.auth_mode = o->auth_mode;
  ccfg.auth_token = o->auth_token;
  cl->c = rtmfp_tc_client_new (&ccfg, &cb, cl, sim_clock, fx->net);

  /* as the elements do: the identity the handshake mode starts with */
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = rtmfp_tc_client_new_identity (o->handshake);
  if (o->role == RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH) {
    cl->pp = rtmfp_tc_peer_publisher_new (ccfg.stream, 0, 0, 0, NULL, NULL,
        sim_clock, fx->net);
    rtmfp_tc_peer_publisher_set_client (cl->pp, cl->c);
    ecfg.accept_sessions = TRUE;
    cl->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
        rtmfp_tc_peer_publisher_get_endpoint_callbacks (), cl->pp);
  } else {
    ecfg.accept_sessions = FALSE;
    cl->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
        rtmfp_tc_client_get_endpoint_callbacks (), cl->c);
  }
  rtmfp_identity_unref (ecfg.identity);
  fx->cls[fx->n_cls++] = cl;
  g_assert_true (rtmfp_addr_from_string (&to, o->to ? o->to : SERVER_ADDR,
          0));
  rtmfp_tc_client_start (cl->c, rtmfp_sim_host_get_endpoint (cl->host), &to,
      1, rtmfp_sim_net_now (fx->net));
  rtmfp_sim_net_kick (fx->net);
  return cl;
}

static gboolean
cl_streaming (gpointer ud)
{
  return rtmfp_tc_client_get_state (((Cl *) ud)->c) ==
      RTMFP_TC_CLIENT_STATE_STREAMING;
}

static gboolean
cl_finished (gpointer ud)
{
  RtmfpTcClientState st = rtmfp_tc_client_get_state (((Cl *) ud)->c);

  return st == RTMFP_TC_CLIENT_STATE_FAILED ||
      st == RTMFP_TC_CLIENT_STATE_CLOSED;
}

static const guint8 *
cl_fp (Cl * cl)
{
  return rtmfp_identity_get_fingerprint (rtmfp_endpoint_get_identity
      (rtmfp_sim_host_get_endpoint (cl->host)));
}

/* ---- publishing ---- */

static void
cl_publish (Cl * cl, guint8 type, const guint8 * payload, gsize len,
    guint flags, guint32 ts)
{
  gint64 now = rtmfp_sim_net_now (cl->fx->net);

  if (cl->pp)
    g_assert_true (rtmfp_tc_peer_publisher_send (cl->pp, type, ts, payload,
            len, flags, now));
  else
    g_assert_true (rtmfp_tc_client_send (cl->c, type, ts, payload, len,
            flags, now));
  rtmfp_sim_net_kick (cl->fx->net);
}

static void
publish_headers (Cl * cl)
{
  static const guint8 avc_hdr[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0, 0x1e,
    0xff
  };
  static const guint8 aac_hdr[] = { 0xaf, 0x00, 0x14, 0x08 };

  cl_publish (cl, RTMFP_TC_MSG_VIDEO, avc_hdr, sizeof avc_hdr,
      RTMFP_TC_CLIENT_SEND_RELIABLE, 0);
  cl_publish (cl, RTMFP_TC_MSG_AUDIO, aac_hdr, sizeof aac_hdr,
      RTMFP_TC_CLIENT_SEND_RELIABLE, 0);
}

/* One 40 ms tick: a video frame (keyframe every 25), two audio frames */
static void
publish_tick (Cl * cl, guint n)
{
  guint8 v[1400], a[60];
  gboolean key = n % 25 == 0;

  memset (v, n & 0xff, sizeof v);
  v[0] = key ? 0x17 : 0x27;
  v[1] = 0x01;
  memset (a, 0x55, sizeof a);
  a[0] = 0xaf;
  a[1] = 0x01;
  cl_publish (cl, RTMFP_TC_MSG_VIDEO, v, sizeof v,
      key ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0, n * 40);
  cl_publish (cl, RTMFP_TC_MSG_AUDIO, a, sizeof a, 0, n * 40);
  cl_publish (cl, RTMFP_TC_MSG_AUDIO, a, sizeof a, 0, n * 40 + 20);
}

/* The last tag of a stream: AVC end of sequence (what flvmux and the
 * encoders send at EOS) */
static void
publish_last (Cl * cl, guint32 ts)
{
  static const guint8 eos[] = { 0x17, 0x02, 0, 0, 0 };

  cl_publish (cl, RTMFP_TC_MSG_VIDEO, eos, sizeof eos, 0, ts);
}

static void
publish_ticks (Fx * fx, Cl * pub, guint first, guint n)
{
  guint i;

  for (i = first; i < first + n; i++) {
    publish_tick (pub, i);
    drive_until (fx, NULL, NULL, 40 * MS);
  }
}

/* ------------------------------------------------------------------ */
/* identities                                                          */

static void
test_identity_shapes (void)
{
  RtmfpIdentity *flash = rtmfp_identity_new_flash ();
  RtmfpIdentity *flash2 = rtmfp_identity_new_flash ();
  RtmfpIdentity *rfc = rtmfp_tc_client_new_identity (RTMFP_HANDSHAKE_AUTO);
  static const guint groups[] = { 14, 5, 2 };
  RtmfpIdentity *eph = rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
  const guint8 *cert;
  gsize len;
  RtmfpCertInfo ci;
  gchar *hex;

  /* Flash Player's shape: 81 02 1d 02 + a 128-byte key, nothing else */
  cert = rtmfp_identity_get_certificate (flash, &len);
  g_assert_cmpuint (len, ==, sizeof flash_capture_cert - 1);
  g_assert_cmpmem (cert, 4, flash_capture_cert, 4);
  g_assert_true (rtmfp_cert_is_flash_shaped (cert, len));
  g_assert_true (rtmfp_cert_parse (cert, len, &ci));
  g_assert_cmpuint (ci.n_static_keys, ==, 1);
  g_assert_cmpuint (ci.static_keys[0].group, ==, 2);
  g_assert_cmpint (rtmfp_identity_get_kind (flash), ==, RTMFP_IDENTITY_FLASH);
  /* a new peer ID every time (RFC 7425 5.3) */
  g_assert_false (rtmfp_crypto_equal (rtmfp_identity_get_fingerprint (flash),
          rtmfp_identity_get_fingerprint (flash2), RTMFP_FINGERPRINT_SIZE));
  /* the capture is that shape, and our fingerprint is its peer ID */
  g_assert_true (rtmfp_cert_is_flash_shaped (flash_capture_cert,
          sizeof flash_capture_cert - 1));
  g_assert_true (rtmfp_cert_parse (flash_capture_cert,
          sizeof flash_capture_cert - 1, &ci));
  hex = rtmfp_fingerprint_to_hex (ci.fingerprint);
  g_assert_cmpstr (hex, ==,
      "95c1b98c8fde775e678921cde3a303cde119284ae56ca4a3e4515c3b81bae21e");
  g_free (hex);
  /* other shapes are not */
  cert = rtmfp_identity_get_certificate (rfc, &len);
  g_assert_false (rtmfp_cert_is_flash_shaped (cert, len));
  g_assert_cmpint (rtmfp_identity_get_kind (rfc), ==, RTMFP_IDENTITY_CLIENT);
  cert = rtmfp_identity_get_certificate (eph, &len);
  g_assert_false (rtmfp_cert_is_flash_shaped (cert, len));
  {
    /* the capture with anything after the key is not (Mona would read
     * it as the SKIC length) */
    guint8 longer[sizeof flash_capture_cert + 2];
    memcpy (longer, flash_capture_cert, sizeof flash_capture_cert - 1);
    longer[sizeof flash_capture_cert - 1] = 0x01;
    longer[sizeof flash_capture_cert] = 0x0a;
    g_assert_false (rtmfp_cert_is_flash_shaped (longer, sizeof longer - 1));
  }
  rtmfp_identity_unref (flash);
  rtmfp_identity_unref (flash2);
  rtmfp_identity_unref (rfc);
  rtmfp_identity_unref (eph);
}

static void
expect_text_error (const gchar * text, const gchar * what)
{
  GError *err = NULL;
  RtmfpIdentity *id = rtmfp_identity_new_from_text (text, strlen (text),
      &err);

  g_assert_null (id);
  g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
  g_test_message ("%s -> %s", what, err->message);
  g_assert_nonnull (strstr (err->message, what));
  g_error_free (err);
}

/* A server's static identity: saved and read back it is the same
 * certificate (the same peer ID); a damaged text is an error, never
 * another identity */
static void
test_identity_saved (void)
{
  RtmfpIdentity *id = rtmfp_identity_new_server_static (NULL, 0);
  RtmfpIdentity *back, *eph;
  static const guint groups[] = { 14, 5, 2 };
  const guint8 *c1, *c2;
  gsize l1, l2;
  GError *err = NULL;
  gchar *text, *bad, *p;
  RtmfpCertInfo ci;

  g_assert_cmpint (rtmfp_identity_get_kind (id), ==,
      RTMFP_IDENTITY_SERVER_STATIC);
  c1 = rtmfp_identity_get_certificate (id, &l1);
  g_assert_true (rtmfp_cert_parse (c1, l1, &ci));
  g_assert_true (ci.accepts_ancillary);
  g_assert_cmpuint (ci.n_static_keys, ==, 3);
  g_assert_cmpuint (ci.static_keys[0].group, ==, 14);
  g_assert_cmpuint (ci.n_ephemeral_groups, ==, 0);

  text = rtmfp_identity_to_text (id);
  g_assert_nonnull (strstr (text, "rtmfp-identity 1\n"));
  back = rtmfp_identity_new_from_text (text, strlen (text), &err);
  g_assert_no_error (err);
  c2 = rtmfp_identity_get_certificate (back, &l2);
  g_assert_cmpmem (c1, l1, c2, l2);
  g_assert_cmpint (rtmfp_identity_get_kind (back), ==,
      RTMFP_IDENTITY_SERVER_STATIC);

  /* one hex digit of a key changed: the fingerprint check catches it */
  bad = g_strdup (text);
  p = strstr (bad, "dh 5 ") + 5;
  *p = *p == '1' ? '2' : '1';
  expect_text_error (bad, "fingerprint");
  g_free (bad);
  /* the fingerprint line gone */
  bad = g_strdup (text);
  *strstr (bad, "fingerprint ") = '#';
  expect_text_error (bad, "no 'fingerprint'");
  g_free (bad);
  /* cut in the middle of a key */
  bad = g_strndup (text, strstr (text, "dh 2 ") - text + 20);
  expect_text_error (bad, "");
  g_free (bad);
  expect_text_error ("", "incomplete");
  expect_text_error ("hello\n", "not an RTMFP identity");
  expect_text_error ("rtmfp-identity 2\n", "version");
  expect_text_error ("rtmfp-identity 1\ndh 3 0102\n", "group");
  expect_text_error ("rtmfp-identity 1\ndh 2 zz\n", "unusable");
  expect_text_error ("rtmfp-identity 1\ndh 2 01\n", "unusable");
  {
    const gchar bin[] = "rtmfp-identity 1\n\0dh";
    g_assert_null (rtmfp_identity_new_from_text (bin, sizeof bin, &err));
    g_assert_error (err, RTMFP_CRYPTO_ERROR, RTMFP_CRYPTO_ERROR_MALFORMED);
    g_clear_error (&err);
  }
  /* nothing to save for an identity that is not a static server's */
  eph = rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
  g_assert_null (rtmfp_identity_to_text (eph));

  rtmfp_identity_unref (eph);
  g_free (text);
  rtmfp_identity_unref (back);
  rtmfp_identity_unref (id);
}

/* ------------------------------------------------------------------ */
/* a man in the middle that replays the real server's certificate     */

typedef enum {
  MITM_STATIC_SKRC,             /* answers as a static responder would */
  MITM_EPHEMERAL_SKRC,          /* answers with an ephemeral key of its own */
  MITM_RELAY,                   /* forwards everything (a router) */
} MitmMode;

typedef struct {
  RtmfpSimNet *net;
  RtmfpSimHost *host;           /* a raw host at ROGUE_ADDR */
  MitmMode mode;
  RtmfpAddr self, server, victim;
  gboolean have_victim;
  guint8 tag[16];
  GBytes *server_cert;          /* learned from the server's RHello */
  guint rhellos_sent, rikeyings_sent, relayed, after_keying;
} Mitm;

/* chunk: a whole chunk (the rtmfp_*_chunk_append functions make those) */
static void
mitm_send_startup (Mitm * m, guint32 sid, const RtmfpAddr * to,
    GByteArray * chunk)
{
  GByteArray *p = g_byte_array_new ();
  guint8 out[2048];
  gsize n;

  rtmfp_append_u8 (p, RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS);
  rtmfp_append_u16 (p, (guint16) (rtmfp_sim_net_now (m->net) / 4000));
  g_byte_array_append (p, chunk->data, chunk->len);
  n = rtmfp_cipher_encode (default_cipher, sid, p->data, p->len, out,
      sizeof out);
  g_assert_cmpuint (n, >, 0);
  rtmfp_sim_host_send (m->host, out, n, to);
  g_byte_array_unref (p);
}

/* Learns the server's certificate as anyone can: its own IHello */
static void
mitm_probe_server (Mitm * m)
{
  RtmfpIHelloChunk c;
  GByteArray *epd = g_byte_array_new (), *out = g_byte_array_new ();

  rtmfp_epd_append_ancillary (epd, TC_URL);
  memset (m->tag, 0x42, sizeof m->tag);
  c.epd = epd->data;
  c.epd_len = epd->len;
  c.tag = m->tag;
  c.tag_len = sizeof m->tag;
  rtmfp_ihello_chunk_append (out, &c);
  mitm_send_startup (m, 0, &m->server, out);
  g_byte_array_unref (epd);
  g_byte_array_unref (out);
}

static void
mitm_answer_iikeying (Mitm * m, const RtmfpIIKeyingChunk * ik,
    const RtmfpAddr * from)
{
  GByteArray *skrc = g_byte_array_new (), *out = g_byte_array_new ();
  static const guint8 neg[] = { 0x03, 0x1a, 0x00, 0x00, 0x02, 0x1e, 0x00 };
  RtmfpRIKeyingChunk rk;
  guint8 rnd[16], sig = 'X';

  g_byte_array_append (skrc, neg, sizeof neg);
  if (m->mode == MITM_EPHEMERAL_SKRC) {
    RtmfpDH *dh = rtmfp_dh_new (14);
    GByteArray *v = g_byte_array_new ();
    gsize kl;
    const guint8 *k = rtmfp_dh_get_public_key (dh, &kl);

    rtmfp_vlu_append (v, 14);
    g_byte_array_append (v, k, kl);
    rtmfp_option_append (skrc, 0x0d, v->data, v->len);
    g_byte_array_unref (v);
    rtmfp_dh_free (dh);
  } else {
    memset (rnd, 0x77, sizeof rnd);
    rtmfp_option_append (skrc, 0x0e, rnd, sizeof rnd);
  }
  memset (&rk, 0, sizeof rk);
  rk.responder_session_id = 0x0a0b0c0d;
  rk.skrc = skrc->data;
  rk.skrc_len = skrc->len;
  rk.signature = &sig;
  rk.signature_len = 1;
  rtmfp_rikeying_chunk_append (out, &rk);
  mitm_send_startup (m, ik->initiator_session_id, from, out);
  m->rikeyings_sent++;
  g_byte_array_unref (skrc);
  g_byte_array_unref (out);
}

static void
mitm_receive (RtmfpSimHost * h, const guint8 * data, gsize len,
    const RtmfpAddr * from, gint64 now, gpointer ud)
{
  Mitm *m = ud;
  guint8 plain[4096];
  gsize plen;
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  gboolean from_server = rtmfp_addr_equal (from, &m->server);

  if (!from_server && !m->have_victim) {
    m->victim = *from;
    m->have_victim = TRUE;
  }
  if (m->mode == MITM_RELAY && m->server_cert) {
    rtmfp_sim_host_send (h, data, len, from_server ? &m->victim :
        &m->server);
    m->relayed++;
    return;
  }
  if (len > sizeof plain || rtmfp_session_id_unscramble (data, len) != 0 ||
      !rtmfp_cipher_decode (default_cipher, data, len, plain, &plen) ||
      !rtmfp_packet_parse (plain, plen, &p)) {
    /* session traffic under keys we do not have */
    if (!from_server)
      m->after_keying++;
    return;
  }
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    if (from_server && ch.type == RTMFP_CHUNK_RHELLO && !m->server_cert) {
      RtmfpRHelloChunk rh;
      if (rtmfp_rhello_chunk_parse (ch.data, ch.len, &rh))
        m->server_cert = g_bytes_new (rh.cert, rh.cert_len);
    } else if (!from_server && ch.type == RTMFP_CHUNK_IHELLO &&
        m->server_cert) {
      RtmfpIHelloChunk ih;
      RtmfpRHelloChunk rh;
      GByteArray *out = g_byte_array_new ();
      static const guint8 cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
      gsize cl;

      g_assert_true (rtmfp_ihello_chunk_parse (ch.data, ch.len, &ih));
      rh.tag_echo = ih.tag;
      rh.tag_echo_len = ih.tag_len;
      rh.cookie = cookie;
      rh.cookie_len = sizeof cookie;
      rh.cert = g_bytes_get_data (m->server_cert, &cl);
      rh.cert_len = cl;
      rtmfp_rhello_chunk_append (out, &rh);
      mitm_send_startup (m, 0, from, out);
      m->rhellos_sent++;
      g_byte_array_unref (out);
    } else if (!from_server && ch.type == RTMFP_CHUNK_IIKEYING) {
      RtmfpIIKeyingChunk ik;
      if (rtmfp_iikeying_chunk_parse (ch.data, ch.len, &ik))
        mitm_answer_iikeying (m, &ik, from);
    }
  }
}

static gboolean
mitm_knows_cert (gpointer ud)
{
  return ((Mitm *) ud)->server_cert != NULL;
}

static Mitm *
mitm_new (Fx * fx, MitmMode mode)
{
  static const RtmfpSimRawFuncs funcs = { mitm_receive, NULL, NULL };
  Mitm *m = g_new0 (Mitm, 1);

  m->net = fx->net;
  m->mode = mode;
  g_assert_true (rtmfp_addr_from_string (&m->self, ROGUE_ADDR, 0));
  g_assert_true (rtmfp_addr_from_string (&m->server, SERVER_ADDR, 0));
  m->host = rtmfp_sim_net_add_raw_host (fx->net, ROGUE_ADDR, &funcs, m);
  mitm_probe_server (m);
  g_assert_true (drive_until (fx, mitm_knows_cert, m, 5 * SEC));
  return m;
}

static void
mitm_free (Mitm * m)
{
  g_clear_pointer (&m->server_cert, g_bytes_unref);
  g_free (m);
}

/* The client (pinned to the real server's static identity) dials the
 * attacker, who answers with the real server's certificate: however the
 * attacker answers the IIKeying, the client never gets to connect with
 * it: an ephemeral key from a "static" responder is refused at once; a
 * static-style answer opens nothing the attacker can use (it cannot derive
 * the keys: nothing it sends decrypts) and the client fails at its timeout
 * naming the reason.  The real server never hears from the client. */
static void
test_mitm_replayed_certificate (void)
{
  static const MitmMode modes[] = { MITM_STATIC_SKRC, MITM_EPHEMERAL_SKRC };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    Fx *fx = fx_new (100 + i);
    RtmfpIdentity *id = rtmfp_identity_new_server_static (NULL, 0);
    RtmfpServer *srv = fx_server (fx, SERVER_ADDR, id, -1, TRUE);
    Mitm *m;
    Cl *cl;
    ClOpts o = { 0 };
    RtmfpEndpointStats st;
    gchar *token = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY,
        strlen (AUTH_KEY), NULL, "live");

    rtmfp_identity_unref (id);
    m = mitm_new (fx, modes[i]);
    o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
    o.to = ROGUE_ADDR;
    o.pin = server_fp (srv);
    o.auth_token = token;
    o.timeout = 4 * SEC;
    cl = cl_new (fx, "10.0.0.2:5000", &o);
    g_assert_true (drive_until (fx, cl_finished, cl, 10 * SEC));
    g_assert_cmpuint (m->rhellos_sent, >=, 1);
    g_assert_cmpuint (m->rikeyings_sent, >=, 1);
    g_assert_cmpint (rtmfp_tc_client_get_state (cl->c), ==,
        RTMFP_TC_CLIENT_STATE_FAILED);
    g_assert_error (cl->error, RTMFP_TC_CLIENT_ERROR,
        RTMFP_TC_CLIENT_ERROR_FINGERPRINT);
    if (modes[i] == MITM_STATIC_SKRC) {
      g_assert_nonnull (strstr (cl->error->message,
              "never answered under the session keys"));
      /* the client did send (connect, under keys the attacker lacks) */
      g_assert_cmpuint (m->after_keying, >, 0);
    } else {
      g_assert_nonnull (strstr (cl->error->message, "ephemeral"));
      g_assert_cmpuint (m->after_keying, ==, 0);
    }
    rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint
        (fx->servers[0].host), &st);
    g_assert_cmpuint (st.sessions_opened, ==, 0);
    g_free (token);
    mitm_free (m);
    fx_free (fx);
  }
}

/* An attacker that only relays (a router on the path): the pinned session
 * is the real server's, it streams, and what the attacker relays is
 * ciphertext under keys it does not have. */
static void
test_mitm_relay (void)
{
  Fx *fx = fx_new (110);
  RtmfpIdentity *id = rtmfp_identity_new_server_static (NULL, 0);
  RtmfpServer *srv = fx_server (fx, SERVER_ADDR, id, -1, FALSE);
  Mitm *m;
  Cl *cl;
  ClOpts o = { 0 };

  rtmfp_identity_unref (id);
  m = mitm_new (fx, MITM_RELAY);
  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  o.to = ROGUE_ADDR;
  o.pin = server_fp (srv);
  cl = cl_new (fx, "10.0.0.2:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, cl, 5 * SEC));
  g_assert_cmpuint (m->relayed, >, 0);
  g_assert_null (cl->error);
  mitm_free (m);
  fx_free (fx);
}

/* A rogue server with its own certificate where the client dials (DNS
 * spoofing, RFC 7425 section 7): a pinned client refuses it at the RHello
 * (no IIKeying, no session at the rogue); an unpinned one connects to it,
 * as documented: without pinning, any server is accepted. */
static void
test_mitm_own_certificate (void)
{
  Fx *fx = fx_new (120);
  RtmfpIdentity *id = rtmfp_identity_new_server_static (NULL, 0);
  RtmfpServer *srv = fx_server (fx, SERVER_ADDR, id, -1, FALSE);
  RtmfpEndpointStats st;
  ClOpts o = { 0 };
  Cl *pinned, *open;

  rtmfp_identity_unref (id);
  fx_server (fx, ROGUE_ADDR, NULL, -1, FALSE);
  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  o.to = ROGUE_ADDR;
  o.pin = server_fp (srv);
  pinned = cl_new (fx, "10.0.0.2:5000", &o);
  g_assert_true (drive_until (fx, cl_finished, pinned, 5 * SEC));
  g_assert_error (pinned->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_FINGERPRINT);
  g_assert_nonnull (strstr (pinned->error->message, "is not the pinned"));
  rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint
      (fx->servers[1].host), &st);
  g_assert_cmpuint (st.sessions_opened, ==, 0);
  g_assert_cmpuint (st.rhellos_sent, >=, 1);

  o.pin = NULL;
  open = cl_new (fx, "10.0.0.3:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, open, 5 * SEC));
  rtmfp_endpoint_get_stats (rtmfp_sim_host_get_endpoint
      (fx->servers[1].host), &st);
  g_assert_cmpuint (st.sessions_opened, ==, 1);
  fx_free (fx);
}

/* ------------------------------------------------------------------ */
/* nonce-bound tokens                                                  */

/* A rogue endpoint that accepts any session and records the token of the
 * first connect it gets (and never answers it) */
typedef struct {
  gchar *token;
} Rogue;

static void
rogue_message (RtmfpRecvFlow * f, const guint8 * data, gsize len,
    guint64 gap, gpointer ud)
{
  Rogue *r = ud;
  RtmfpTcMessage msg;
  gchar *name = NULL;
  gdouble txn;
  GPtrArray *args;

  if (r->token || !rtmfp_tc_message_parse (data, len, &msg))
    return;
  args = rtmfp_tc_command_parse (&msg, &name, &txn);
  if (args && g_str_equal (name, "connect") && args->len >= 2 &&
      rtmfp_amf_node_get_type (args->pdata[args->len - 1]) ==
      RTMFP_AMF_TYPE_STRING)
    r->token = g_strdup (rtmfp_amf_node_peek_string (args->pdata[args->len -
                1], NULL));
  g_free (name);
  if (args)
    g_ptr_array_unref (args);
}

static gboolean
rogue_flow_opened (RtmfpEndpoint * ep, RtmfpSession * s, RtmfpRecvFlow * f,
    RtmfpSendFlow * assoc, gpointer ud)
{
  rtmfp_recv_flow_set_delivery (f, FALSE, rogue_message, NULL, ud);
  return TRUE;
}

static gboolean
rogue_has_token (gpointer ud)
{
  return ((Rogue *) ud)->token != NULL;
}

/* What the rogue captured from a client using auth_mode, replayed as a
 * plain token by a client of its own to the real server: the connect
 * result (TRUE: accepted) */
static gboolean
captured_token_replays (guint32 seed, RtmfpTcAuthMode auth_mode)
{
  static const RtmfpEndpointCallbacks rogue_cb = {
    .flow_opened = rogue_flow_opened,
  };
  static const guint groups[] = { 14, 5, 2 };
  Fx *fx = fx_new (seed);
  Rogue r = { 0 };
  RtmfpEndpointConfig ecfg;
  gchar *token = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY,
      strlen (AUTH_KEY), NULL, "live");
  ClOpts o = { 0 };
  Cl *victim, *thief;
  gboolean accepted;

  fx_server (fx, SERVER_ADDR, NULL, -1, TRUE);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = rtmfp_identity_new_ephemeral (groups, 3, NULL, TRUE);
  rtmfp_sim_net_add_host (fx->net, ROGUE_ADDR, &ecfg, &rogue_cb, &r);
  rtmfp_identity_unref (ecfg.identity);

  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  o.to = ROGUE_ADDR;
  o.auth_token = token;
  o.auth_mode = auth_mode;
  victim = cl_new (fx, "10.0.0.2:5000", &o);
  g_assert_true (drive_until (fx, rogue_has_token, &r, 5 * SEC));
  g_test_message ("%s token captured: %s", rtmfp_tc_auth_mode_get_nick
      (auth_mode), r.token);
  if (auth_mode == RTMFP_TC_AUTH_PLAIN)
    g_assert_cmpstr (r.token, ==, token);
  else
    g_assert_cmpstr (r.token, !=, token);

  o.to = SERVER_ADDR;
  o.auth_token = r.token;
  o.auth_mode = RTMFP_TC_AUTH_PLAIN;
  thief = cl_new (fx, "10.0.0.66:6000", &o);
  g_assert_true (drive_until (fx, cl_finished, thief, 5 * SEC) ||
      cl_streaming (thief));
  accepted = cl_streaming (thief);
  if (!accepted)
    g_assert_error (thief->error, RTMFP_TC_CLIENT_ERROR,
        RTMFP_TC_CLIENT_ERROR_REJECTED);
  (void) victim;
  g_free (r.token);
  g_free (token);
  fx_free (fx);
  return accepted;
}

/* Known answers from rtmfp-cpp's test/tcserver.md: the token hashed with
 * the server's nonce (what tcconn -m sends) and with the client's nonce
 * (the authToken tcserver answers) */
static void
test_token_known_answers (void)
{
  static const gchar token[] =
      "df41d9cbe74f325250d6e0346dcd9e95fb837892f4a927c27cecf2664d639786";
  static const guint8 server_nonce[32] = {
    0x55, 0xe1, 0x54, 0xb9, 0xa2, 0x1e, 0xaf, 0xf9, 0x24, 0x99, 0x89, 0x7b,
    0x38, 0x4e, 0x2e, 0x93, 0x14, 0xb8, 0xc1, 0x30, 0x5a, 0x38, 0x3b, 0x66,
    0xc3, 0x65, 0xea, 0xad, 0x3d, 0x83, 0xf4, 0xa0
  };
  static const guint8 client_nonce[32] = {
    0xcb, 0xc2, 0x90, 0x21, 0x2a, 0x52, 0xda, 0xd9, 0x78, 0xda, 0x93, 0x87,
    0x0e, 0x69, 0x29, 0xa5, 0x05, 0x0d, 0x83, 0x8a, 0x18, 0x72, 0x36, 0x20,
    0xb9, 0x2d, 0xf9, 0xa5, 0x30, 0x53, 0x54, 0x42
  };
  gchar *h, *app;

  app = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY,
      strlen (AUTH_KEY), NULL, "live/12345");
  g_assert_cmpstr (app, ==, token);
  h = rtmfp_hmac_sha256_hex (server_nonce, sizeof server_nonce, token);
  g_assert_cmpstr (h, ==,
      "a762c38f376a273a583714b342ee700348882476a2350fc4e74b700411246841");
  g_free (h);
  h = rtmfp_hmac_sha256_hex (client_nonce, sizeof client_nonce, token);
  g_assert_cmpstr (h, ==,
      "bc4e260a541aa5c6cd498f414afd7f05c76bd6d731f726df268d0b1e8bf5a58c");
  g_free (h);
  g_free (app);
}

static void
test_token_replay (void)
{
  /* plain: whoever saw it can use it; hashed: bound to the session */
  g_assert_true (captured_token_replays (200, RTMFP_TC_AUTH_PLAIN));
  g_assert_false (captured_token_replays (201, RTMFP_TC_AUTH_HASHED));
}

/* Hashed and mutual against the real server; mutual against a server
 * that does not prove the token (it has no keys: it accepts anyone and
 * sends no authToken) fails with RTMFP_TC_CLIENT_ERROR_AUTH */
static void
test_token_hashed_mutual (void)
{
  gchar *token = rtmfp_server_auth_token ((const guint8 *) AUTH_KEY,
      strlen (AUTH_KEY), NULL, "live");
  Fx *fx = fx_new (210);
  ClOpts o = { 0 };
  Cl *a, *b, *c, *d;

  fx_server (fx, SERVER_ADDR, NULL, -1, TRUE);
  fx_server (fx, ROGUE_ADDR, NULL, -1, FALSE);
  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  o.auth_token = token;
  o.auth_mode = RTMFP_TC_AUTH_HASHED;
  a = cl_new (fx, "10.0.0.2:5000", &o);
  o.stream = "cam2";
  o.auth_mode = RTMFP_TC_AUTH_MUTUAL;
  b = cl_new (fx, "10.0.0.3:5000", &o);
  o.stream = "cam3";
  o.auth_token = "0000000000000000000000000000000000000000000000000000000000000000";
  o.auth_mode = RTMFP_TC_AUTH_HASHED;
  c = cl_new (fx, "10.0.0.4:5000", &o);
  o.stream = "cam4";
  o.auth_token = token;
  o.auth_mode = RTMFP_TC_AUTH_MUTUAL;
  o.to = ROGUE_ADDR;
  d = cl_new (fx, "10.0.0.5:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, a, 5 * SEC));
  g_assert_true (drive_until (fx, cl_streaming, b, 5 * SEC));
  g_assert_true (drive_until (fx, cl_finished, c, 5 * SEC));
  g_assert_error (c->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_REJECTED);
  g_assert_true (drive_until (fx, cl_finished, d, 5 * SEC));
  g_assert_error (d->error, RTMFP_TC_CLIENT_ERROR, RTMFP_TC_CLIENT_ERROR_AUTH);
  g_free (token);
  fx_free (fx);
}

/* ------------------------------------------------------------------ */
/* Flash-era servers                                                   */

/* A responder that behaves like MonaServer: rtmfp-server's library with an
 * ephemeral certificate advertising groups 2, 5 and 14 (Mona's order),
 * behind a filter that reads every IIKeying as MonaServer does, at Flash
 * Player's fixed positions: the certificate's first option is taken for a
 * group 2 key (its length minus 2 bytes after skipping 2), and the bytes
 * after it for the SKIC length and SKIC, whatever the certificate says.
 * When that reading agrees with the real one (a Flash-shaped certificate)
 * the IIKeying goes through, and the server answers in group 2 as Mona
 * does; otherwise Mona computes keys from garbage and answers in group 2
 * anyway: the filter drops the IIKeying and sends such an RIKeying (or,
 * `silent`, nothing: a DH library that refuses the misread key). */
typedef struct {
  RtmfpSimNet *net;
  RtmfpSimHost *host;           /* the responder's (it answers for it) */
  RtmfpAddr addr;
  gboolean silent;
  guint passed, misread;
} MonaEmu;

static gboolean
read_vlu (const guint8 * d, gsize len, gsize * pos, guint64 * v)
{
  gsize n;

  if (*pos > len || !rtmfp_vlu_decode (d + *pos, len - *pos, v, &n))
    return FALSE;
  *pos += n;
  return TRUE;
}

/* Mona's reading of an IIKeying chunk (RTMFPDecoder.cpp, handshake 0x38):
 * FALSE if it would read past the end */
static gboolean
mona_read_iikeying (const guint8 * d, gsize len, gsize * key_len,
    const guint8 ** skic, gsize * skic_len)
{
  gsize pos = 4;                /* initiator session ID */
  guint64 v, opt_len;

  if (!read_vlu (d, len, &pos, &v) || pos + v > len)
    return FALSE;
  pos += v;                     /* cookie */
  if (!read_vlu (d, len, &pos, &v))     /* certificate length: unused */
    return FALSE;
  if (!read_vlu (d, len, &pos, &opt_len) || opt_len < 2)
    return FALSE;
  pos += 2;                     /* "unknown": option type and group */
  *key_len = opt_len - 2;
  if (pos + *key_len > len)
    return FALSE;
  pos += *key_len;
  if (!read_vlu (d, len, &pos, &v) || pos + v > len)
    return FALSE;
  *skic = d + pos;
  *skic_len = v;
  return TRUE;
}

static void
mona_garbage_rikeying (MonaEmu * e, guint32 isid, const RtmfpAddr * to)
{
  static const guint8 neg[] = { 0x03, 0x1a, 0x00, 0x00, 0x02, 0x1e, 0x00 };
  GByteArray *skrc = g_byte_array_new (), *ch = g_byte_array_new (),
      *p = g_byte_array_new (), *v = g_byte_array_new ();
  RtmfpDH *dh = rtmfp_dh_new (2);
  RtmfpRIKeyingChunk rk;
  guint8 out[2048], sig = 'X';
  gsize kl, n;
  const guint8 *k = rtmfp_dh_get_public_key (dh, &kl);

  g_byte_array_append (skrc, neg, sizeof neg);
  rtmfp_vlu_append (v, 2);
  g_byte_array_append (v, k, kl);
  rtmfp_option_append (skrc, 0x0d, v->data, v->len);
  memset (&rk, 0, sizeof rk);
  rk.responder_session_id = 2;
  rk.skrc = skrc->data;
  rk.skrc_len = skrc->len;
  rk.signature = &sig;
  rk.signature_len = 1;
  rtmfp_rikeying_chunk_append (ch, &rk);
  rtmfp_append_u8 (p, RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS);
  rtmfp_append_u16 (p, 1);
  g_byte_array_append (p, ch->data, ch->len);
  n = rtmfp_cipher_encode (default_cipher, isid, p->data, p->len, out,
      sizeof out);
  rtmfp_sim_host_send (e->host, out, n, to);
  rtmfp_dh_free (dh);
  g_byte_array_unref (skrc);
  g_byte_array_unref (ch);
  g_byte_array_unref (p);
  g_byte_array_unref (v);
}

static gboolean
mona_filter (RtmfpSimNet * net, const guint8 * data, gsize len,
    const RtmfpAddr * from, const RtmfpAddr * to, gpointer ud)
{
  MonaEmu *e = ud;
  guint8 plain[4096];
  gsize plen, key_len = 0, skic_len = 0;
  const guint8 *skic = NULL;
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  RtmfpIIKeyingChunk ik;

  if (!rtmfp_addr_equal (to, &e->addr) || len > sizeof plain ||
      rtmfp_session_id_unscramble (data, len) != 0 ||
      !rtmfp_cipher_decode (default_cipher, data, len, plain, &plen) ||
      !rtmfp_packet_parse (plain, plen, &p))
    return TRUE;
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    if (ch.type != RTMFP_CHUNK_IIKEYING ||
        !rtmfp_iikeying_chunk_parse (ch.data, ch.len, &ik))
      continue;
    if (mona_read_iikeying (ch.data, ch.len, &key_len, &skic, &skic_len) &&
        key_len == rtmfp_dh_group_size (2) && skic_len == ik.skic_len &&
        memcmp (skic, ik.skic, skic_len) == 0) {
      e->passed++;
      return TRUE;
    }
    e->misread++;
    if (!e->silent)
      mona_garbage_rikeying (e, ik.initiator_session_id, from);
    return FALSE;
  }
  return TRUE;
}

static void
fx_mona (Fx * fx, MonaEmu * e, gboolean silent)
{
  static const guint mona_groups[] = { 2, 5, 14 };
  RtmfpIdentity *id = rtmfp_identity_new_ephemeral (mona_groups, 3, NULL,
      TRUE);

  e->net = fx->net;
  e->silent = silent;
  g_assert_true (rtmfp_addr_from_string (&e->addr, SERVER_ADDR, 0));
  rtmfp_sim_net_set_filter (fx->net, mona_filter, e);
  fx_server (fx, SERVER_ADDR, id, -1, FALSE);
  e->host = fx->servers[fx->n_servers - 1].host;
  rtmfp_identity_unref (id);
}

/* Relay through the MonaServer-like responder with the clients' default
 * settings: each client's RFC handshake is misread, answered in group 2,
 * and AUTO falls back to Flash Player's certificate once; then the stream
 * flows from the publisher to the player. */
static void
mona_relay (guint32 seed, gboolean silent)
{
  Fx *fx = fx_new (seed);
  MonaEmu e = { 0 };
  ClOpts o = { 0 };
  Cl *pub, *play;

  fx_mona (fx, &e, silent);
  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  pub = cl_new (fx, "10.0.0.2:5000", &o);
  o.role = RTMFP_TC_CLIENT_ROLE_PLAY;
  play = cl_new (fx, "10.0.0.3:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, pub, 10 * SEC));
  g_assert_true (drive_until (fx, cl_streaming, play, 10 * SEC));
  /* each client's RFC IIKeying misread (once; resent until the fallback
   * when nothing answers it), each Flash-shaped one read right */
  if (silent)
    g_assert_cmpuint (e.misread, >=, 4);
  else
    g_assert_cmpuint (e.misread, ==, 2);
  g_assert_cmpuint (e.passed, ==, 2);
  g_assert_cmpuint (pub->identity_changes, ==, 1);
  g_assert_cmpuint (play->identity_changes, ==, 1);
  g_assert_cmpint (rtmfp_tc_client_get_handshake (pub->c), ==,
      RTMFP_HANDSHAKE_FLASH);
  g_assert_true (rtmfp_cert_is_flash_shaped (rtmfp_identity_get_certificate
          (rtmfp_endpoint_get_identity (rtmfp_sim_host_get_endpoint
                  (pub->host)), NULL), 132));
  publish_headers (pub);
  publish_ticks (fx, pub, 0, 50);
  drive_until (fx, NULL, NULL, 1 * SEC);
  g_test_message ("player got %u video, %u audio", play->video, play->audio);
  g_assert_cmpuint (play->video, >=, 45);
  g_assert_cmpuint (play->audio, >=, 90);
  g_assert_null (pub->error);
  g_assert_null (play->error);
  fx_free (fx);
}

static void
test_mona_relay (void)
{
  mona_relay (300, FALSE);
}

/* The same when the responder drops what it cannot parse: AUTO falls
 * back after RTMFP_TC_CLIENT_FLASH_FALLBACK_US */
static void
test_mona_relay_silent (void)
{
  mona_relay (301, TRUE);
}

/* handshake=rfc does not fall back: the keying error names the group */
static void
test_mona_rfc_fails (void)
{
  Fx *fx = fx_new (302);
  MonaEmu e = { 0 };
  ClOpts o = { 0 };
  Cl *pub;

  fx_mona (fx, &e, FALSE);
  o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
  o.handshake = RTMFP_HANDSHAKE_RFC;
  pub = cl_new (fx, "10.0.0.2:5000", &o);
  g_assert_true (drive_until (fx, cl_finished, pub, 10 * SEC));
  g_assert_error (pub->error, RTMFP_TC_CLIENT_ERROR,
      RTMFP_TC_CLIENT_ERROR_CONNECT_FAILED);
  g_assert_nonnull (strstr (pub->error->message,
          "responder answered in group 2, not 14"));
  g_assert_cmpuint (pub->identity_changes, ==, 0);
  fx_free (fx);
}

/* Peer to peer with the MonaServer-like responder as introducer: the
 * direct publisher falls back to Flash Player's certificate (a new peer
 * ID: that is the one the player asks for), the introduction brings the
 * player to it, and the stream flows directly. */
static void
test_mona_p2p (void)
{
  Fx *fx = fx_new (310);
  MonaEmu e = { 0 };
  ClOpts o = { 0 };
  Cl *pub, *play;
  guint8 fp[RTMFP_FINGERPRINT_SIZE];

  fx_mona (fx, &e, FALSE);
  o.role = RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH;
  pub = cl_new (fx, "10.0.0.2:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, pub, 10 * SEC));
  g_assert_cmpuint (pub->identity_changes, ==, 1);
  memcpy (fp, cl_fp (pub), sizeof fp);
  g_assert_true (rtmfp_cert_is_flash_shaped (rtmfp_identity_get_certificate
          (rtmfp_endpoint_get_identity (rtmfp_sim_host_get_endpoint
                  (pub->host)), NULL), 132));

  o.role = RTMFP_TC_CLIENT_ROLE_PLAY;
  o.peer_fp = fp;
  play = cl_new (fx, "10.0.0.3:5000", &o);
  g_assert_true (drive_until (fx, cl_streaming, play, 10 * SEC));
  /* the player's session is with the publisher, not the introducer */
  g_assert_cmpmem (rtmfp_session_get_far_fingerprint
      (rtmfp_tc_client_get_session (play->c)), RTMFP_FINGERPRINT_SIZE, fp,
      RTMFP_FINGERPRINT_SIZE);
  g_assert_cmpuint (play->identity_changes, ==, 0);
  publish_headers (pub);
  publish_ticks (fx, pub, 0, 50);
  drive_until (fx, NULL, NULL, 1 * SEC);
  g_test_message ("player got %u video, %u audio", play->video, play->audio);
  g_assert_cmpuint (play->video, >=, 45);
  g_assert_cmpuint (play->audio, >=, 90);
  fx_free (fx);
}

/* rtmfp-server answers Flash-shaped initiators (the capture's IIKeying is
 * one), ephemeral or with static keys (--identity) */
static void
test_flash_initiator (void)
{
  for (guint i = 0; i < 2; i++) {
    Fx *fx = fx_new (320 + i);
    RtmfpIdentity *id = i ? rtmfp_identity_new_server_static (NULL, 0) :
        NULL;
    ClOpts o = { 0 };
    Cl *pub, *play;

    fx_server (fx, SERVER_ADDR, id, -1, FALSE);
    if (id)
      rtmfp_identity_unref (id);
    o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
    o.handshake = RTMFP_HANDSHAKE_FLASH;
    pub = cl_new (fx, "10.0.0.2:5000", &o);
    o.role = RTMFP_TC_CLIENT_ROLE_PLAY;
    play = cl_new (fx, "10.0.0.3:5000", &o);
    g_assert_true (drive_until (fx, cl_streaming, pub, 5 * SEC));
    g_assert_true (drive_until (fx, cl_streaming, play, 5 * SEC));
    g_assert_cmpint (rtmfp_tc_client_get_handshake (pub->c), ==,
        RTMFP_HANDSHAKE_FLASH);
    publish_headers (pub);
    publish_ticks (fx, pub, 0, 25);
    drive_until (fx, NULL, NULL, 1 * SEC);
    g_assert_cmpuint (play->video, >=, 23);
    fx_free (fx);
  }
}

/* The session agent (what the elements run) passes the handshake mode
 * on and reports the new identity: publisher and player agents with their
 * defaults stream through the MonaServer-like responder */
static void
ag_identity_changed (RtmfpTcAgent * a, RtmfpIdentity * id, gpointer ud)
{
  ((Ag *) ud)->identity_changes++;
}

static void
ag_message (RtmfpTcAgent * a, const RtmfpMediaMessage * msg, gpointer ud)
{
  if (msg->type == RTMFP_TC_MSG_VIDEO)
    ((Ag *) ud)->video++;
}

static Ag *
ag_new (Fx * fx, const gchar * addr, RtmfpTcAgentRole role)
{
  static const RtmfpTcAgentCallbacks cb = {
    .message = ag_message,
    .identity_changed = ag_identity_changed,
  };
  Ag *ag = g_new0 (Ag, 1);
  RtmfpTcAgentConfig cfg;
  RtmfpEndpointConfig ecfg;
  RtmfpAddr to;

  rtmfp_tc_agent_config_init (&cfg);
  cfg.role = role;
  cfg.tc_url = TC_URL;
  cfg.app = "live";
  cfg.stream = "cam";
  cfg.timeout_us = 10 * SEC;
  ag->agent = rtmfp_tc_agent_new (&cfg, &cb, ag, sim_clock, fx->net);
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.identity = rtmfp_tc_client_new_identity (cfg.handshake);
  ecfg.accept_sessions = FALSE;
  ag->host = rtmfp_sim_net_add_host (fx->net, addr, &ecfg,
      rtmfp_tc_agent_get_endpoint_callbacks (), ag->agent);
  rtmfp_identity_unref (ecfg.identity);
  fx->ags[fx->n_ags++] = ag;
  g_assert_true (rtmfp_addr_from_string (&to, SERVER_ADDR, 0));
  g_assert_true (rtmfp_tc_agent_start (ag->agent,
          rtmfp_sim_host_get_endpoint (ag->host), &to, 1,
          rtmfp_sim_net_now (fx->net)));
  rtmfp_sim_net_kick (fx->net);
  return ag;
}

static gboolean
ag_streaming (gpointer ud)
{
  return rtmfp_tc_agent_get_state (((Ag *) ud)->agent) ==
      RTMFP_TC_AGENT_STATE_STREAMING;
}

static void
test_mona_agent (void)
{
  Fx *fx = fx_new (330);
  MonaEmu e = { 0 };
  Ag *pub, *play;
  guint i;

  fx_mona (fx, &e, FALSE);
  pub = ag_new (fx, "10.0.0.2:5000", RTMFP_TC_AGENT_PUBLISH);
  play = ag_new (fx, "10.0.0.3:5000", RTMFP_TC_AGENT_PLAY);
  g_assert_true (drive_until (fx, ag_streaming, pub, 10 * SEC));
  g_assert_true (drive_until (fx, ag_streaming, play, 10 * SEC));
  g_assert_cmpuint (pub->identity_changes, ==, 1);
  g_assert_cmpuint (play->identity_changes, ==, 1);
  g_assert_true (rtmfp_cert_is_flash_shaped (rtmfp_identity_get_certificate
          (rtmfp_endpoint_get_identity (rtmfp_sim_host_get_endpoint
                  (pub->host)), NULL), 132));
  {
    static const guint8 avc_hdr[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0,
      0x1e, 0xff
    };
    g_assert_true (rtmfp_tc_agent_send (pub->agent, RTMFP_TC_MSG_VIDEO, 0,
            avc_hdr, sizeof avc_hdr, RTMFP_TC_CLIENT_SEND_RELIABLE,
            rtmfp_sim_net_now (fx->net)));
  }
  for (i = 0; i < 50; i++) {
    guint8 v[800];

    memset (v, i, sizeof v);
    v[0] = i % 25 == 0 ? 0x17 : 0x27;
    v[1] = 0x01;
    rtmfp_tc_agent_send (pub->agent, RTMFP_TC_MSG_VIDEO, i * 40, v, sizeof v,
        i % 25 == 0 ? RTMFP_TC_CLIENT_SEND_KEYFRAME : 0,
        rtmfp_sim_net_now (fx->net));
    rtmfp_sim_net_kick (fx->net);
    drive_until (fx, NULL, NULL, 40 * MS);
  }
  drive_until (fx, NULL, NULL, 1 * SEC);
  g_test_message ("agent player got %u video messages", play->video);
  g_assert_cmpuint (play->video, >=, 45);
  fx_free (fx);
}

/* ------------------------------------------------------------------ */
/* clean stream ends                                                   */

static void
lossy_link (Fx * fx)
{
  RtmfpSimLink link;

  rtmfp_sim_link_init (&link);
  link.loss = 0.05;
  link.delay_us = 20 * MS;
  link.jitter_us = 30 * MS;
  rtmfp_sim_net_set_link (fx->net, &link);
}

/* Through a server that ends a publication at once on closeStream /
 * deleteStream (as rtmfp-cpp's tcserver does): the publisher sends its
 * last tag and closes at once; on a lossy, reordering link the last tag
 * reaches the player in every run. */
static void
test_last_tag_server (void)
{
  guint seed, n_runs = 20;

  for (seed = 0; seed < n_runs; seed++) {
    Fx *fx = fx_new (400 + seed);
    ClOpts o = { 0 };
    Cl *pub, *play;

    fx_server (fx, SERVER_ADDR, NULL, 0, FALSE);
    o.role = RTMFP_TC_CLIENT_ROLE_PUBLISH;
    pub = cl_new (fx, "10.0.0.2:5000", &o);
    o.role = RTMFP_TC_CLIENT_ROLE_PLAY;
    play = cl_new (fx, "10.0.0.3:5000", &o);
    g_assert_true (drive_until (fx, cl_streaming, pub, 5 * SEC));
    g_assert_true (drive_until (fx, cl_streaming, play, 5 * SEC));
    lossy_link (fx);
    publish_headers (pub);
    publish_ticks (fx, pub, 0, 25);
    publish_last (pub, 25 * 40);
    rtmfp_tc_client_close (pub->c, rtmfp_sim_net_now (fx->net));
    rtmfp_sim_net_kick (fx->net);
    g_assert_true (drive_until (fx, cl_finished, pub, 10 * SEC));
    drive_until (fx, NULL, NULL, 2 * SEC);
    g_test_message ("run %u: player got %u video, last tag %s", seed,
        play->video, play->got_last ? "yes" : "NO");
    g_assert_cmpint (rtmfp_tc_client_get_state (pub->c), ==,
        RTMFP_TC_CLIENT_STATE_CLOSED);
    g_assert_true (play->got_last);
    fx_free (fx);
  }
}

/* The same peer to peer: the direct publisher's subscribers get the last
 * tag before their sessions close */
static void
test_last_tag_p2p (void)
{
  guint seed, n_runs = 20;

  for (seed = 0; seed < n_runs; seed++) {
    Fx *fx = fx_new (500 + seed);
    ClOpts o = { 0 };
    Cl *pub, *play;
    guint8 fp[RTMFP_FINGERPRINT_SIZE];

    fx_server (fx, SERVER_ADDR, NULL, -1, FALSE);
    o.role = RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH;
    pub = cl_new (fx, "10.0.0.2:5000", &o);
    g_assert_true (drive_until (fx, cl_streaming, pub, 5 * SEC));
    memcpy (fp, cl_fp (pub), sizeof fp);
    o.role = RTMFP_TC_CLIENT_ROLE_PLAY;
    o.peer_fp = fp;
    play = cl_new (fx, "10.0.0.3:5000", &o);
    g_assert_true (drive_until (fx, cl_streaming, play, 5 * SEC));
    lossy_link (fx);
    publish_headers (pub);
    publish_ticks (fx, pub, 0, 25);
    publish_last (pub, 25 * 40);
    /* what the sink does at EOS (direct mode) */
    rtmfp_tc_peer_publisher_close (pub->pp, rtmfp_sim_net_now (fx->net));
    rtmfp_tc_client_close (pub->c, rtmfp_sim_net_now (fx->net));
    rtmfp_sim_net_kick (fx->net);
    g_assert_true (drive_until (fx, cl_finished, pub, 10 * SEC));
    drive_until (fx, NULL, NULL, 2 * SEC);
    g_test_message ("run %u: player got %u video, last tag %s", seed,
        play->video, play->got_last ? "yes" : "NO");
    g_assert_true (play->got_last);
    fx_free (fx);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  default_cipher = rtmfp_cipher_new_default ();

  g_test_add_func ("/trust/identity/shapes", test_identity_shapes);
  g_test_add_func ("/trust/identity/saved", test_identity_saved);
  g_test_add_func ("/trust/mitm/replayed-certificate",
      test_mitm_replayed_certificate);
  g_test_add_func ("/trust/mitm/relay", test_mitm_relay);
  g_test_add_func ("/trust/mitm/own-certificate", test_mitm_own_certificate);
  g_test_add_func ("/trust/token/known-answers", test_token_known_answers);
  g_test_add_func ("/trust/token/replay", test_token_replay);
  g_test_add_func ("/trust/token/hashed-mutual", test_token_hashed_mutual);
  g_test_add_func ("/trust/flash/mona-relay", test_mona_relay);
  g_test_add_func ("/trust/flash/mona-relay-silent", test_mona_relay_silent);
  g_test_add_func ("/trust/flash/mona-rfc-fails", test_mona_rfc_fails);
  g_test_add_func ("/trust/flash/mona-p2p", test_mona_p2p);
  g_test_add_func ("/trust/flash/initiator", test_flash_initiator);
  g_test_add_func ("/trust/flash/mona-agent", test_mona_agent);
  g_test_add_func ("/trust/stream-end/last-tag-server", test_last_tag_server);
  g_test_add_func ("/trust/stream-end/last-tag-p2p", test_last_tag_p2p);

  ret = g_test_run ();
  rtmfp_cipher_free (default_cipher);
  return ret;
}
