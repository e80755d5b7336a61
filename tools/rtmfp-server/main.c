/* rtmfp-server: command line, signals and the I/O driver.
 *
 *   rtmfp-server --rtmfp ADDR:PORT [--rtmp ADDR:PORT] [--app NAME]...
 *                [--stats-interval N] [--auth-key TEXT]... [--auth-key-hex HEX]...
 *                [--metrics ADDR:PORT] [--log-format text|json]
 *                [--dead-peer-timeout MS] [--identity FILE] ...
 *
 * Prints "listening rtmfp ADDR:PORT" (the actual port when 0 was asked),
 * then with --rtmp "listening rtmp ADDR:PORT", with --metrics
 * "listening metrics ADDR:PORT" and with --identity "fingerprint HEX",
 * once ready; a "stats ..." line on SIGUSR1 (after the fingerprint line
 * with --identity; and every N seconds with --stats-interval), and exits 0
 * on SIGINT / SIGTERM after closing the sessions and connections.  Exit
 * status 1 on bad options, an unusable identity file, or when a socket
 * cannot be bound.
 *
 * One thread (rtmfpnet's) runs everything the server object does: the
 * RTMFP endpoint, the relay and the RTMP sockets (rtmpserverio.c, whose
 * sources are attached to the net thread's context).  --metrics is served
 * from a thread of its own (rtmfpmetricshttp.c) from snapshots the net
 * thread takes; --log-format: rtmfplog.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <glib-unix.h>

#include "rtmfpnet.h"
#include "rtmfpserver.h"
#include "rtmfpidentityfile.h"
#include "rtmfpmetricshttp.h"
#include "rtmfplog.h"
#include "rtmpserverio.h"
#ifdef HAVE_HIREDIS
#include "rtmfpcluster.h"
#endif

#define POLL_INTERVAL_MS 250
/* After SIGTERM: wait this long at most for sessions to close */
#define SHUTDOWN_GRACE_US (1 * G_TIME_SPAN_SECOND)
/* Dead-peer detection for client sessions */
#define IDLE_TIMEOUT_US (45 * G_TIME_SPAN_SECOND)

static gchar *opt_rtmfp;
static gchar *opt_rtmp;
static gchar **opt_apps;
static gint opt_stats_interval;
static gboolean opt_strict_play;
static gint opt_audio_lifetime = 300;
static gint opt_video_lifetime = 1000;
static gint opt_idle_publisher = 500;
static gboolean opt_verbose;
static gchar **opt_auth_keys;
static gchar **opt_auth_keys_hex;
/* -1: the endpoint's default (rtmfp_endpoint_config_init) */
static gint opt_max_sessions = -1;
static gint opt_max_flows = -1;
static gint opt_max_reassembly = -1;
static gchar *opt_identity;
static gint opt_max_amplification = -1;
static gint opt_amplification_allowance = -1;

/* Static keys of an --identity, best first (RFC 7425 4.2: 2 is mandatory,
 * what Flash Player keys in) */
static const guint identity_groups[] = { 14, 5, 2 };
static gint opt_dead_peer_timeout = 10000;
static gchar *opt_congestion_control;

static gboolean opt_version;
static gchar *opt_cluster;
static gchar *opt_node_name;
static gchar *opt_advertise;
static gint opt_cluster_max_load;
static gint opt_drain_timeout;

static GOptionEntry entries[] = {
  {"rtmfp", 0, 0, G_OPTION_ARG_STRING, &opt_rtmfp,
      "UDP address to listen on for RTMFP (required; port 0: any free port)",
      "ADDR:PORT"},
  {"rtmp", 0, 0, G_OPTION_ARG_STRING, &opt_rtmp,
      "Also accept RTMP (TCP) on this address, sharing the applications and "
        "streams of the RTMFP side (port 0: any free port)", "ADDR:PORT"},
  {"app", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_apps,
      "Accept connections to this application only (repeatable; default: "
        "any)", "NAME"},
  {"stats-interval", 0, 0, G_OPTION_ARG_INT, &opt_stats_interval,
      "Print a stats line every N seconds (default 0: only on SIGUSR1)", "N"},
  {"strict-play", 0, 0, G_OPTION_ARG_NONE, &opt_strict_play,
      "Answer play of an unpublished stream with NetStream.Play."
        "StreamNotFound instead of waiting for a publisher", NULL},
  {"audio-lifetime", 0, 0, G_OPTION_ARG_INT, &opt_audio_lifetime,
      "Abandon relayed audio not delivered within this time (default 300)",
      "MS"},
  {"video-lifetime", 0, 0, G_OPTION_ARG_INT, &opt_video_lifetime,
      "Abandon relayed video inter frames not delivered within this time "
        "(default 1000)", "MS"},
  {"idle-publisher", 0, 0, G_OPTION_ARG_INT, &opt_idle_publisher,
      "A publisher that sent nothing for this long loses its stream name to "
        "a new publisher of it, over either protocol (default 500; 0: "
        "never)", "MS"},
  {"auth-key", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_auth_keys,
      "Require an authentication token on connect: HMAC-SHA-256 of the "
        "application name under this master key, in hex (repeatable; any "
        "key matching accepts)", "TEXT"},
  {"auth-key-hex", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_auth_keys_hex,
      "As --auth-key, the master key given in hexadecimal (repeatable)",
      "HEX"},
  {"max-sessions", 0, 0, G_OPTION_ARG_INT, &opt_max_sessions,
      "Hold at most N RTMFP sessions; handshakes past it are refused "
        "(default 4096; 0: no limit)", "N"},
  {"max-flows-per-session", 0, 0, G_OPTION_ARG_INT, &opt_max_flows,
      "Receiving flows a client may have open per session; more are "
        "refused with a flow exception (default 4096)", "N"},
  {"max-reassembly-bytes", 0, 0, G_OPTION_ARG_INT, &opt_max_reassembly,
      "Bytes held for reassembling fragmented handshake packets, server-"
        "wide (default 1048576)", "BYTES"},
  {"identity", 0, 0, G_OPTION_ARG_FILENAME, &opt_identity,
      "Keep the server's identity (static Diffie-Hellman keys) in FILE, "
        "created (mode 0600) if missing, so that its fingerprint stays the "
        "same and clients can pin it (default: a new ephemeral identity at "
        "every start)", "FILE"},
  {"max-amplification", 0, 0, G_OPTION_ARG_INT, &opt_max_amplification,
      "Answers to an unauthenticated handshake packet are at most N times "
        "its size (default 3; 0: no limit)", "N"},
  {"amplification-allowance", 0, 0, G_OPTION_ARG_INT,
        &opt_amplification_allowance,
      "Server-wide bytes per second that handshake answers may exceed "
        "--max-amplification by (default 16384; 0: none)", "BYTES"},
  {"dead-peer-timeout", 0, 0, G_OPTION_ARG_INT, &opt_dead_peer_timeout,
      "Close a player whose media waited this long for any acknowledgement "
        "(after two retransmission timeouts when its address answers with "
        "ICMP port unreachable); default 10000, 0: off (idle timeout only)",
      "MS"},
  {"cluster", 0, 0, G_OPTION_ARG_STRING, &opt_cluster,
      "Join the cluster of nodes sharing this Redis: streams published on "
        "one node play on every node (docs/cluster.md)",
      "redis://HOST:PORT[/DB]"},
  {"node-name", 0, 0, G_OPTION_ARG_STRING, &opt_node_name,
      "This node's name in the cluster (default: HOSTNAME-PORT; letters, "
        "digits and ._:-)", "NAME"},
  {"advertise", 0, 0, G_OPTION_ARG_STRING, &opt_advertise,
      "The address other nodes reach this node's RTMFP socket at (default: "
        "the --rtmfp address; required when that is a wildcard)",
      "ADDR:PORT"},
  {"cluster-max-load", 0, 0, G_OPTION_ARG_INT, &opt_cluster_max_load,
      "With --cluster: holding N RTMFP sessions or more, redirect new "
        "clients to less loaded nodes before any keying (RFC 7016 3.5.1.4; "
        "default 0: never)", "N"},
  {"drain-timeout", 0, 0, G_OPTION_ARG_INT, &opt_drain_timeout,
      "With --cluster: on SIGTERM, redirect new clients to other nodes and "
        "wait up to N seconds for the sessions to end before stopping (a "
        "second SIGTERM, or SIGINT, stops at once; default 0: stop at once)",
      "N"},
  {"congestion-control", 0, 0, G_OPTION_ARG_STRING, &opt_congestion_control,
      "Congestion controller of every session: tcp (default: RFC 7016's "
        "TCP-compatible window) or media (delay based, tolerates random "
        "loss: for links known to be lossy; a deviation from RFC 7016 "
        "3.5.2)", "tcp|media"},
  {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
      "Log connections and streams to stderr", NULL},
  {"version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
      "Print the version and exit", NULL},
  {NULL}
};

/* --auth-key / --auth-key-hex: NULL-terminated GBytes *; NULL on a bad hex
 * key (message printed) */
static GPtrArray *
parse_auth_keys (void)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  guint i;

  for (i = 0; opt_auth_keys && opt_auth_keys[i]; i++)
    g_ptr_array_add (keys, g_bytes_new (opt_auth_keys[i],
            strlen (opt_auth_keys[i])));
  for (i = 0; opt_auth_keys_hex && opt_auth_keys_hex[i]; i++) {
    const gchar *h = opt_auth_keys_hex[i];
    gsize n = strlen (h), j;
    guint8 *k;

    if (n == 0 || n % 2) {
      g_printerr ("rtmfp-server: bad --auth-key-hex '%s'\n", h);
      g_ptr_array_unref (keys);
      return NULL;
    }
    k = g_malloc (n / 2);
    for (j = 0; j < n / 2; j++) {
      gint hi = g_ascii_xdigit_value (h[2 * j]);
      gint lo = g_ascii_xdigit_value (h[2 * j + 1]);

      if (hi < 0 || lo < 0) {
        g_printerr ("rtmfp-server: bad --auth-key-hex '%s'\n", h);
        g_free (k);
        g_ptr_array_unref (keys);
        return NULL;
      }
      k[j] = (hi << 4) | lo;
    }
    g_ptr_array_add (keys, g_bytes_new_take (k, n / 2));
  }
  g_ptr_array_add (keys, NULL);
  return keys;
}

typedef struct {
  RtmfpNet *net;
  RtmfpServer *srv;
  RtmpServerIo *rtmp;
  GMainLoop *loop;
  gchar *fingerprint;           /* hex, with --identity */
  RtmfpMetricsHttp *metrics;
  gint64 start_time;            /* Unix µs */
#ifdef HAVE_HIREDIS
  RtmfpCluster *cluster;        /* --cluster */
#endif
  gint64 drain_end;             /* draining (SIGTERM, --drain-timeout) */
  guint drain_id;
} App;

/* "1.2.3.4:5", "[::1]:5", "host:5" */
static void
print_listening (const gchar * proto, const gchar * host, guint port)
{
  if (strchr (host, ':'))
    g_print ("listening %s [%s]:%u\n", proto, host, port);
  else
    g_print ("listening %s %s:%u\n", proto, host, port);
}

static gboolean parse_host_port (const gchar * str, gchar ** host,
    guint16 * port);

static void
print_metrics_listening (RtmfpMetricsHttp * m)
{
  const gchar *addr = rtmfp_metrics_option_address ();
  gchar *host = NULL;
  guint16 port;

  if (parse_host_port (addr, &host, &port))
    print_listening ("metrics", host, rtmfp_metrics_http_get_port (m));
  g_free (host);
}

static gboolean
parse_host_port (const gchar * str, gchar ** host, guint16 * port)
{
  const gchar *colon, *p;
  guint v = 0;

  if (!str || !*str)
    return FALSE;
  if (str[0] == '[') {
    const gchar *close = strchr (str, ']');
    if (!close || close[1] != ':' || close == str + 1)
      return FALSE;
    *host = g_strndup (str + 1, close - str - 1);
    colon = close + 1;
  } else {
    colon = strrchr (str, ':');
    if (!colon || colon == str || memchr (str, ':', colon - str))
      return FALSE;
    *host = g_strndup (str, colon - str);
  }
  if (!colon[1])
    goto bad;
  for (p = colon + 1; *p; p++) {
    if (!g_ascii_isdigit (*p) || v > 65535)
      goto bad;
    v = v * 10 + (*p - '0');
  }
  if (v > 65535)
    goto bad;
  *port = v;
  return TRUE;

bad:
  g_clear_pointer (host, g_free);
  return FALSE;
}

static gint64
net_clock (gpointer data)
{
  App *app = data;

  return rtmfp_net_now (app->net);
}

/* ---- on the net thread ---- */

static void
do_stats (RtmfpNet * net, gpointer data)
{
  gpointer *args = data;

  rtmfp_server_get_stats (args[0], args[1]);
}

static void
do_poll (RtmfpNet * net, gpointer data)
{
  App *app = data;

  rtmfp_server_poll (app->srv);
#ifdef HAVE_HIREDIS
  if (app->cluster)
    rtmfp_cluster_poll (app->cluster);
#endif
}

static void
do_shutdown (RtmfpNet * net, gpointer data)
{
  App *app = data;

#ifdef HAVE_HIREDIS
  if (app->cluster)
    rtmfp_cluster_shutdown (app->cluster);
#endif
  rtmfp_server_shutdown (app->srv);
}

/* RtmfpServerConfig.redirect: the cluster's, once there is one */
static guint
redirect (guint n_sessions, const gchar * tc_url, RtmfpAddr * addrs,
    guint max, gpointer data)
{
#ifdef HAVE_HIREDIS
  App *app = data;

  if (app->cluster)
    return rtmfp_cluster_redirect (n_sessions, tc_url, addrs, max,
        app->cluster);
#endif
  return 0;
}

/* RtmfpServerConfig.peer_elsewhere: the cluster's, once there is one */
static guint
peer_elsewhere (const guint8 * fingerprint, RtmfpAddr * addrs, guint max,
    gpointer data)
{
#ifdef HAVE_HIREDIS
  App *app = data;

  if (app->cluster)
    return rtmfp_cluster_peer_elsewhere (fingerprint, addrs, max,
        app->cluster);
#endif
  return 0;
}

/* RtmfpServerConfig.publish_check: the cluster's, once there is one */
static gboolean
publish_check (const gchar * name_app, const gchar * name, gpointer data)
{
#ifdef HAVE_HIREDIS
  App *app = data;

  if (app->cluster)
    return rtmfp_cluster_publish_check (name_app, name, app->cluster);
#endif
  return TRUE;
}

/* Sessions and RTMP connections still open */
static void
do_count_open (RtmfpNet * net, gpointer data)
{
  App *app = ((gpointer *) data)[0];
  RtmfpServerStats st;

  rtmfp_server_get_stats (app->srv, &st);
  *(guint *) ((gpointer *) data)[1] = st.sessions +
      (app->rtmp ? rtmp_server_io_get_n_connections (app->rtmp) : 0);
}

static void
do_nothing (RtmfpNet * net, gpointer data)
{
}

/* RTMP input or a closed RTMP connection touched the server: media may
 * wait on RTMFP flows, so the endpoint's timer is re-armed (which
 * rtmfp_net_invoke does after the function) */
static void
rtmp_touched (gpointer data)
{
  App *app = data;

  rtmfp_net_invoke (app->net, do_nothing, NULL, NULL);
}

/* --metrics: a snapshot for the HTTP thread */
static void
do_metrics_snapshot (RtmfpNet * net, gpointer data)
{
  App *app = data;
  RtmfpServerMetrics snap;

  rtmfp_server_get_metrics (app->srv, &snap);
  snap.start_time = app->start_time;
#ifdef HAVE_HIREDIS
  if (app->cluster) {
    snap.cluster = TRUE;
    rtmfp_cluster_get_counts (app->cluster, &snap.cluster_redis_up,
        &snap.cluster_nodes, &snap.cluster_streams, &snap.cluster_upstreams,
        &snap.cluster_redirects);
  }
#endif
  rtmfp_metrics_http_publish (app->metrics, &snap);
}

/* ---- on the metrics thread ---- */

static void
metrics_refresh (RtmfpMetricsHttp * m, gpointer data)
{
  App *app = data;

  rtmfp_net_invoke (app->net, do_metrics_snapshot, app, NULL);
}

/* ---- on the main thread ---- */

/* --metrics ADDR:PORT: bound now (errors before we are ready) */
static gboolean
metrics_open (App * app)
{
  const gchar *addr = rtmfp_metrics_option_address ();
  gchar *host = NULL;
  guint16 port = 0;
  GError *err = NULL;

  if (!addr)
    return TRUE;
  if (!parse_host_port (addr, &host, &port)) {
    g_printerr ("rtmfp-server: bad address '%s' (expected ADDR:PORT, e.g. "
        "127.0.0.1:9935 or [::1]:9935)\n", addr);
    return FALSE;
  }
  app->metrics = rtmfp_metrics_http_new (host, port, VERSION,
      metrics_refresh, app, &err);
  if (!app->metrics) {
    g_printerr ("rtmfp-server: cannot listen on %s (metrics): %s\n", addr,
        err->message);
    g_clear_error (&err);
  }
  g_free (host);
  return app->metrics != NULL;
}

static void
print_stats (App * app)
{
  RtmfpServerStats st;
  gpointer args[2] = { app->srv, &st };
  gchar *line;

  static gint64 prev_time;
  static guint64 prev_in, prev_out;
  gint64 now;

  rtmfp_net_invoke_sync (app->net, do_stats, args);
  /* rates since the previous line (main thread only) */
  now = g_get_monotonic_time ();
  if (prev_time && now > prev_time) {
    gdouble secs = (now - prev_time) / (gdouble) G_TIME_SPAN_SECOND;
    st.kbps_in = (st.bytes_in + st.rtmp_bytes_in - prev_in) * 8 / 1000.0 /
        secs;
    st.kbps_out = (st.bytes_out + st.rtmp_bytes_out - prev_out) * 8 /
        1000.0 / secs;
  }
  prev_time = now;
  prev_in = st.bytes_in + st.rtmp_bytes_in;
  prev_out = st.bytes_out + st.rtmp_bytes_out;
  line = rtmfp_server_stats_to_string (&st);
#ifdef HAVE_HIREDIS
  if (app->cluster) {
    gchar *c = rtmfp_cluster_stats_string (app->cluster);
    gchar *l = g_strconcat (line, c, NULL);

    g_free (c);
    g_free (line);
    line = l;
  }
#endif
  if (app->fingerprint)
    g_print ("fingerprint %s\n", app->fingerprint);
  g_print ("%s\n", line);
  fflush (stdout);
  g_free (line);
}

static gboolean
on_usr1 (gpointer data)
{
  print_stats (data);
  return G_SOURCE_CONTINUE;
}

/* --identity: load or make the identity; NULL (message printed) if the
 * file cannot be used */
static RtmfpIdentity *
load_identity (const gchar * path)
{
  GError *err = NULL;
  gchar *warning = NULL;
  gboolean created = FALSE;
  RtmfpIdentity *id;

  id = rtmfp_identity_file_load (path, identity_groups,
      G_N_ELEMENTS (identity_groups), &created, &warning, &err);
  if (!id) {
    g_printerr ("rtmfp-server: %s\n", err->message);
    g_error_free (err);
    return NULL;
  }
  if (warning) {
    g_printerr ("rtmfp-server: warning: %s\n", warning);
    g_free (warning);
  }
  if (created)
    g_printerr ("rtmfp-server: made a new identity in %s\n", path);
  return id;
}

static gboolean
on_stats_timer (gpointer data)
{
  print_stats (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_poll_timer (gpointer data)
{
  App *app = data;

  rtmfp_net_invoke (app->net, do_poll, app, NULL);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer data)
{
  App *app = data;

  g_main_loop_quit (app->loop);
  return G_SOURCE_CONTINUE;
}

/* NetConnections (RTMFP and RTMP) still connected: sessions closed by
 * the far end linger (S_FARCLOSE_LINGER) without one */
static void
do_count_connected (RtmfpNet * net, gpointer data)
{
  App *app = ((gpointer *) data)[0];
  RtmfpServerStats st;

  rtmfp_server_get_stats (app->srv, &st);
  *(guint *) ((gpointer *) data)[1] = st.connections +
      (app->rtmp ? rtmp_server_io_get_n_connections (app->rtmp) : 0);
}

/* Draining: the connections left, every 250 ms */
static gboolean
on_drain_timer (gpointer data)
{
  App *app = data;
  guint n = 1;
  gpointer args[2] = { app, &n };

  rtmfp_net_invoke_sync (app->net, do_count_connected, args);
  if (n == 0 || g_get_monotonic_time () >= app->drain_end) {
    g_print ("drained %u\n", n);
    fflush (stdout);
    app->drain_id = 0;
    g_main_loop_quit (app->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* SIGTERM: with --cluster and --drain-timeout, drain first (a second
 * SIGTERM stops at once) */
static gboolean
on_term (gpointer data)
{
  App *app = data;

#ifdef HAVE_HIREDIS
  if (app->cluster && opt_drain_timeout > 0 && !app->drain_end) {
    app->drain_end = g_get_monotonic_time () +
        (gint64) opt_drain_timeout * G_TIME_SPAN_SECOND;
    rtmfp_cluster_drain (app->cluster);
    g_print ("draining\n");
    fflush (stdout);
    app->drain_id = g_timeout_add (POLL_INTERVAL_MS, on_drain_timer, app);
    return G_SOURCE_CONTINUE;
  }
#endif
  g_main_loop_quit (app->loop);
  return G_SOURCE_CONTINUE;
}

/* Closes every session and RTMP connection and gives the Close Requests
 * (and the last RTMP output) a moment */
static void
shutdown_sessions (App * app)
{
  gint64 end = g_get_monotonic_time () + SHUTDOWN_GRACE_US;
  guint n = 1;
  gpointer args[2] = { app, &n };

  rtmfp_net_invoke_sync (app->net, do_shutdown, app);
  while (g_get_monotonic_time () < end) {
    rtmfp_net_invoke_sync (app->net, do_count_open, args);
    if (n == 0)
      break;
    g_usleep (20 * 1000);
  }
}

#ifdef HAVE_HIREDIS
/* --cluster: connects to Redis and registers the node (a clear error and
 * FALSE when it cannot); host: the --rtmfp address */
static gboolean
cluster_open (App * app, const gchar * host, GBytes * key)
{
  guint16 port = rtmfp_net_get_local_port (app->net);
  gchar *advertise, *name, *error = NULL;

  if (opt_advertise)
    advertise = g_strdup (opt_advertise);
  else if (!*host || g_str_equal (host, "0.0.0.0") || g_str_equal (host,
          "::")) {
    g_printerr ("rtmfp-server: --cluster needs --advertise ADDR:PORT when "
        "listening on a wildcard address (%s)\n", opt_rtmfp);
    return FALSE;
  } else if (strchr (host, ':'))
    advertise = g_strdup_printf ("[%s]:%u", host, port);
  else
    advertise = g_strdup_printf ("%s:%u", host, port);
  name = opt_node_name ? g_strdup (opt_node_name) :
      g_strdup_printf ("%s-%u", g_get_host_name (), port);
  app->cluster = rtmfp_cluster_new (opt_cluster, name, advertise, key,
      &error);
  if (!app->cluster) {
    g_printerr ("rtmfp-server: --cluster: %s\n", error);
    g_free (error);
  } else
    rtmfp_cluster_set_max_load (app->cluster, opt_cluster_max_load);
  g_free (advertise);
  g_free (name);
  return app->cluster != NULL;
}
#endif

int
main (int argc, char **argv)
{
  GOptionContext *octx;
  GError *err = NULL;
  RtmfpServerConfig cfg;
  RtmfpEndpointConfig ecfg;
  RtmfpCongestionControl cc = RTMFP_CONGESTION_TCP;
  App app = { 0 };
  gchar *host = NULL, *rtmp_host = NULL;
  guint16 port = 0, rtmp_port = 0;
  guint sig[3], poll_id, stats_id = 0, i;
  GPtrArray *auth_keys;
  RtmfpIdentity *identity = NULL;

  octx = g_option_context_new ("- RTMFP rendezvous and relay server");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_add_main_entries (octx, rtmfp_metrics_option_entries, NULL);
  g_option_context_add_main_entries (octx, rtmfp_log_option_entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &err)) {
    g_printerr ("rtmfp-server: %s\n", err->message);
    g_clear_error (&err);
    g_option_context_free (octx);
    return 1;
  }
  g_option_context_free (octx);
  if (opt_version) {
    g_print ("%s %s\n", g_get_prgname (), VERSION);
    return 0;
  }
  if (argc > 1) {
    g_printerr ("rtmfp-server: unexpected argument '%s'\n", argv[1]);
    return 1;
  }
#ifndef HAVE_HIREDIS
  if (opt_cluster) {
    g_printerr ("rtmfp-server: --cluster: this rtmfp-server was built "
        "without hiredis (libhiredis-dev)\n");
    return 1;
  }
#endif
  if (!opt_rtmfp) {
    g_printerr ("rtmfp-server: --rtmfp ADDR:PORT is required\n");
    return 1;
  }
  if (!parse_host_port (opt_rtmfp, &host, &port)) {
    g_printerr ("rtmfp-server: bad address '%s' (expected ADDR:PORT, e.g. "
        "0.0.0.0:1935 or [::1]:1935)\n", opt_rtmfp);
    return 1;
  }
  if (opt_rtmp && !parse_host_port (opt_rtmp, &rtmp_host, &rtmp_port)) {
    g_printerr ("rtmfp-server: bad address '%s' (expected ADDR:PORT, e.g. "
        "0.0.0.0:1935 or [::1]:1935)\n", opt_rtmp);
    g_free (host);
    return 1;
  }
  if (opt_stats_interval < 0 || opt_audio_lifetime < 1 ||
      opt_video_lifetime < 1 || opt_idle_publisher < 0 ||
      opt_dead_peer_timeout < 0 || opt_cluster_max_load < 0 ||
      opt_drain_timeout < 0) {
    g_printerr ("rtmfp-server: --stats-interval, --idle-publisher, "
        "--dead-peer-timeout, --cluster-max-load and --drain-timeout must "
        "be >= 0, lifetimes >= 1 ms\n");
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (opt_max_sessions < -1 || opt_max_flows == 0 || opt_max_flows < -1 ||
      opt_max_reassembly == 0 || opt_max_reassembly < -1) {
    g_printerr ("rtmfp-server: --max-sessions must be >= 0, "
        "--max-flows-per-session and --max-reassembly-bytes >= 1\n");
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (opt_max_amplification < -1 || opt_amplification_allowance < -1) {
    g_printerr ("rtmfp-server: --max-amplification and "
        "--amplification-allowance must be >= 0\n");
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (opt_congestion_control && !rtmfp_congestion_control_from_nick
      (opt_congestion_control, &cc)) {
    g_printerr ("rtmfp-server: bad --congestion-control '%s' (expected "
        "tcp or media)\n", opt_congestion_control);
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (!(auth_keys = parse_auth_keys ())) {
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (!rtmfp_log_setup () || !metrics_open (&app)) {
    g_ptr_array_unref (auth_keys);
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  if (opt_identity && !(identity = load_identity (opt_identity))) {
    rtmfp_metrics_http_free (app.metrics);
    g_ptr_array_unref (auth_keys);
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  app.start_time = g_get_real_time ();
  /* a reader of our stdout that went away must not kill the server */
  signal (SIGPIPE, SIG_IGN);

  rtmfp_server_config_init (&cfg);
  cfg.apps = (const gchar * const *) opt_apps;
  cfg.verbose = opt_verbose;
  cfg.auth_keys = (GBytes * const *) auth_keys->pdata;
  cfg.wait_for_publisher = !opt_strict_play;
  cfg.relay.audio_lifetime_us = (gint64) opt_audio_lifetime * 1000;
  cfg.relay.video_lifetime_us = (gint64) opt_video_lifetime * 1000;
  cfg.relay.keyframe_lifetime_us = 2 * cfg.relay.video_lifetime_us;
  cfg.publisher_idle_us = (gint64) opt_idle_publisher * 1000;
  cfg.identity = identity;
  if (rtmfp_log_is_json ())
    cfg.on_event = rtmfp_log_event;
  cfg.player_dead_peer_timeout_us = (gint64) opt_dead_peer_timeout * 1000;
  cfg.publish_check = publish_check;
  cfg.publish_check_data = &app;
  cfg.redirect = redirect;
  cfg.redirect_data = &app;
  cfg.peer_elsewhere = peer_elsewhere;
  cfg.peer_elsewhere_data = &app;
  app.srv = rtmfp_server_new (&cfg, net_clock, &app);
  if (identity)
    app.fingerprint = rtmfp_identity_get_peer_id (identity);
  g_clear_pointer (&identity, rtmfp_identity_unref);

  rtmfp_server_endpoint_config (app.srv, &ecfg);
  ecfg.idle_timeout_us = IDLE_TIMEOUT_US;
  ecfg.congestion_control = cc;
  if (opt_max_sessions >= 0)
    ecfg.max_sessions = opt_max_sessions;
  if (opt_max_flows > 0)
    ecfg.max_recv_flows_per_session = opt_max_flows;
  if (opt_max_reassembly > 0)
    ecfg.max_reassembly_bytes = opt_max_reassembly;
  if (opt_max_amplification >= 0)
    ecfg.max_startup_amplification = opt_max_amplification;
  if (opt_amplification_allowance >= 0)
    ecfg.startup_excess_bytes_per_sec = opt_amplification_allowance;
  app.net = rtmfp_net_new (&ecfg, rtmfp_server_get_callbacks (), app.srv,
      host, port, &err);
  if (!app.net) {
    g_printerr ("rtmfp-server: cannot listen on %s: %s\n", opt_rtmfp,
        err->message);
    g_clear_error (&err);
    rtmfp_metrics_http_free (app.metrics);
    rtmfp_server_free (app.srv);
    g_free (app.fingerprint);
    g_ptr_array_unref (auth_keys);
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
  rtmfp_server_set_endpoint (app.srv, rtmfp_net_get_endpoint (app.net));
  if (rtmp_host) {
    app.rtmp = rtmp_server_io_new (app.srv, rtmp_host, rtmp_port, &err);
    if (!app.rtmp) {
      g_printerr ("rtmfp-server: cannot listen on %s (TCP): %s\n", opt_rtmp,
          err->message);
      g_clear_error (&err);
      rtmfp_metrics_http_free (app.metrics);
      rtmfp_net_free (app.net);
      rtmfp_server_free (app.srv);
      g_free (app.fingerprint);
      g_ptr_array_unref (auth_keys);
      g_free (host);
      g_free (rtmp_host);
      return 1;
    }
    /* on the net thread, with the endpoint and the relay */
    rtmp_server_io_start (app.rtmp, rtmfp_net_get_context (app.net),
        rtmp_touched, &app);
  }
#ifdef HAVE_HIREDIS
  if (opt_cluster && !cluster_open (&app, host,
          auth_keys->len > 1 ? g_ptr_array_index (auth_keys, 0) : NULL)) {
    rtmfp_metrics_http_free (app.metrics);
    rtmp_server_io_free (app.rtmp);
    rtmfp_net_free (app.net);
    rtmfp_server_free (app.srv);
    g_free (app.fingerprint);
    g_ptr_array_unref (auth_keys);
    g_free (host);
    g_free (rtmp_host);
    return 1;
  }
#endif
  rtmfp_net_start (app.net);
#ifdef HAVE_HIREDIS
  if (app.cluster)
    rtmfp_cluster_start (app.cluster, app.srv, app.net);
#endif
  if (app.metrics)
    rtmfp_metrics_http_start (app.metrics);

  app.loop = g_main_loop_new (NULL, FALSE);
  sig[0] = g_unix_signal_add (SIGINT, on_quit, &app);
  sig[1] = g_unix_signal_add (SIGTERM, on_term, &app);
  sig[2] = g_unix_signal_add (SIGUSR1, on_usr1, &app);
  poll_id = g_timeout_add (POLL_INTERVAL_MS, on_poll_timer, &app);
  if (opt_stats_interval > 0)
    stats_id = g_timeout_add_seconds (opt_stats_interval, on_stats_timer,
        &app);

  /* ready (signal handlers in place): tell whoever waits for us */
  print_listening ("rtmfp", host, rtmfp_net_get_local_port (app.net));
  if (app.rtmp)
    print_listening ("rtmp", rtmp_host, rtmp_server_io_get_port (app.rtmp));
  if (app.metrics)
    print_metrics_listening (app.metrics);
  if (app.fingerprint)
    g_print ("fingerprint %s\n", app.fingerprint);
#ifdef HAVE_HIREDIS
  if (app.cluster)
    g_print ("cluster node %s\n",
        rtmfp_cluster_get_node_name (app.cluster));
#endif
  fflush (stdout);

  g_main_loop_run (app.loop);

  for (i = 0; i < G_N_ELEMENTS (sig); i++)
    g_source_remove (sig[i]);
  g_source_remove (poll_id);
  if (app.drain_id)
    g_source_remove (app.drain_id);
  if (stats_id)
    g_source_remove (stats_id);
  g_main_loop_unref (app.loop);

  /* no scrape asks the net thread for anything from now on */
  rtmfp_metrics_http_stop (app.metrics);
  shutdown_sessions (&app);
  rtmfp_net_stop (app.net);
#ifdef HAVE_HIREDIS
  /* our registrations leave Redis now (else they expire) */
  rtmfp_cluster_free (app.cluster);
#endif
  /* the net thread is gone: nothing runs its context any more */
  rtmfp_metrics_http_free (app.metrics);
  rtmp_server_io_free (app.rtmp);
  rtmfp_server_free (app.srv);
  rtmfp_net_free (app.net);
  g_free (host);
  g_free (rtmp_host);
  g_strfreev (opt_apps);
  g_ptr_array_unref (auth_keys);
  g_strfreev (opt_auth_keys);
  g_strfreev (opt_auth_keys_hex);
  g_free (opt_rtmfp);
  g_free (opt_rtmp);
  g_free (opt_identity);
  g_free (opt_cluster);
  g_free (opt_node_name);
  g_free (opt_advertise);
  g_free (app.fingerprint);
  return 0;
}
