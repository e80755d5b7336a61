/* gst-check test of a direct (peer-to-peer) stream across the nodes of
 * an rtmfp-server cluster (issue 18): rtmfpsink mode=direct publishes
 * through node 1, rtmfpsrc peer-id=... asks node 2, which does not know
 * the peer and redirects the player to the other nodes; node 1 introduces
 * it to the publisher.  Neither node relays media.  Redis (redis-server)
 * and the nodes run on loopback, started here.
 *
 * In CI (RTMFP_CI=1) a server built without hiredis, or no redis-server,
 * is a failure, elsewhere a skip.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <signal.h>
#include <gio/gio.h>
#include <gst/check/gstcheck.h>
#include "testwatchdog.h"

#include "../libs/testci.h"

#include "rtmfptestutil.h"

static guint16
free_tcp_port (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *sa = g_inet_socket_address_new (lo, 0), *bound;
  guint16 port;

  fail_unless (g_socket_bind (s, sa, FALSE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (sa);
  g_object_unref (lo);
  g_object_unref (s);
  return port;
}

/* redis-server on a free loopback port, ready (bounded wait) */
static GSubprocess *
redis_start (guint16 * port)
{
  gchar *exe = g_find_program_in_path ("redis-server");
  gchar *ps;
  GSubprocess *p;
  GDataInputStream *in;
  gchar *line;
  gboolean ready = FALSE;
  guint i;

  if (!exe)
    return NULL;
  *port = free_tcp_port ();
  ps = g_strdup_printf ("%u", *port);
  {
    const gchar *argv[] = { exe, "--port", ps, "--bind", "127.0.0.1",
      "--save", "", "--appendonly", "no", NULL
    };
    p = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  }
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  for (i = 0; i < 100 && !ready; i++) {
    line = read_line_bounded (in);
    fail_unless (line != NULL, "redis-server did not start");
    ready = strstr (line, "Ready to accept connections") != NULL;
    g_free (line);
  }
  fail_unless (ready, "redis-server is not ready");
  g_object_unref (in);
  g_free (ps);
  g_free (exe);
  return p;
}

/* A node: rtmfp-server --cluster on 127.0.0.1 (its stdout kept for the
 * stats line) */
static Server *
node_start (guint16 redis_port, const gchar * name)
{
  Server *s = g_new0 (Server, 1);
  gchar *url = g_strdup_printf ("redis://127.0.0.1:%u", redis_port);
  const gchar *argv[] = { g_getenv ("RTMFP_SERVER"), "--rtmfp",
    "127.0.0.1:0", "--cluster", url, "--node-name", name, NULL
  };
  gchar *line, *expect;

  fail_unless (argv[0] != NULL, "RTMFP_SERVER is not set");
  s->proc = spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  s->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (s->proc));
  line = read_line_bounded (s->out);
  fail_unless (line && g_str_has_prefix (line, "listening rtmfp 127.0.0.1:"),
      "unexpected node output: %s", line);
  s->port = (guint16) g_ascii_strtoull (strrchr (line, ':') + 1, NULL, 10);
  g_free (line);
  line = read_line_bounded (s->out);
  expect = g_strdup_printf ("cluster node %s", name);
  fail_unless_equals_string (line, expect);
  g_free (expect);
  g_free (line);
  g_free (url);
  return s;
}

/* Polls the node's stats line until name=value (bounded) */
static gboolean
wait_stat (Server * s, const gchar * name, guint64 value)
{
  gint64 end = g_get_monotonic_time () + 10 * SEC;

  while (g_get_monotonic_time () < end) {
    gchar *line = server_stats_line (s);
    guint64 v = server_stat (line, name);

    g_free (line);
    if (v == value)
      return TRUE;
    g_usleep (100 * 1000);
  }
  return FALSE;
}

GST_START_TEST (test_direct_across_nodes)
{
  GSubprocess *redis;
  guint16 rport = 0;
  Server *n1, *n2;
  Sent sent;
  Got got;
  GstElement *pub, *play, *sink;
  GstStructure *st;
  GstMessage *msg;
  gchar *peer_id = NULL, *line;
  Server *nodes[2];
  guint i;

#ifndef HAVE_HIREDIS
  test_skip_or_fail ("rtmfp-server built without hiredis: no --cluster");
  return;
#endif
  if (!(redis = redis_start (&rport))) {
    test_skip_or_fail ("no redis-server (Debian package redis-server)");
    return;
  }
  n1 = node_start (rport, "p2p1");
  n2 = node_start (rport, "p2p2");
  nodes[0] = n1;
  nodes[1] = n2;
  fail_unless (wait_stat (n1, "cluster_nodes", 2));
  fail_unless (wait_stat (n2, "cluster_nodes", 2));

  sent_init (&sent);
  got_init (&got);
  /* the direct publisher's server connection is on node 1 */
  pub = publisher_new (n1->port, "live/p2p", &sent, "mode=direct ");
  sink = gst_bin_get_by_name (GST_BIN (pub), "sink");
  set_state_checked (pub, GST_STATE_PLAYING);
  fail_unless (wait_status (pub, "NetConnection.Connect.Success",
          10 * GST_SECOND), "the publisher did not connect to node 1");
  g_object_get (sink, "peer-id", &peer_id, NULL);
  fail_unless (peer_id && strlen (peer_id) == 64, "bad peer-id %s", peer_id);
  gst_object_unref (sink);

  /* the player asks node 2 */
  play = player_new (n2->port, "live/p2p", &got, peer_id);
  set_state_checked (play, GST_STATE_PLAYING);
  st = wait_element_message (play, "rtmfp-direct-session", 10 * GST_SECOND);
  fail_unless (st != NULL, "no direct session through node 2");
  fail_unless_equals_string (gst_structure_get_string (st, "peer-id"),
      peer_id);
  /* to the publisher on loopback: not to either node */
  {
    const gchar *addr = gst_structure_get_string (st, "address");
    gchar *a1 = g_strdup_printf ("127.0.0.1:%u", n1->port);
    gchar *a2 = g_strdup_printf ("127.0.0.1:%u", n2->port);

    fail_unless (addr && g_str_has_prefix (addr, "127.0.0.1:"), "%s", addr);
    fail_if (g_str_equal (addr, a1) || g_str_equal (addr, a2),
        "the direct session is with a node: %s", addr);
    g_free (a1);
    g_free (a2);
  }
  gst_structure_free (st);

  msg = wait_bus (pub, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 60 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "publisher did not finish");
  gst_message_unref (msg);
  msg = wait_bus (play, GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 20 * GST_SECOND);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "player did not get EOS");
  gst_message_unref (msg);
  assert_no_error (play);
  assert_no_error (pub);
  check_received (&sent, &got, "direct player through node 2");

  /* neither node relayed media */
  for (i = 0; i < 2; i++) {
    line = server_stats_line (nodes[i]);
    g_print ("node %u: %s\n", i + 1, line);
    fail_unless_equals_uint64 (server_stat (line, "relayed"), 0);
    fail_unless_equals_uint64 (server_stat (line, "messages_in"), 0);
    fail_unless_equals_uint64 (server_stat (line, "cluster_upstreams"), 0);
    /* node 2 was asked (and only answered with a Redirect) */
    if (i == 1) {
      fail_unless (server_stat (line, "bytes_in") > 0, "node 2 not asked");
      fail_unless_equals_uint64 (server_stat (line, "sessions"), 0);
    }
    g_free (line);
  }

  set_state_checked (pub, GST_STATE_NULL);
  gst_object_unref (pub);
  set_state_checked (play, GST_STATE_NULL);
  gst_object_unref (play);
  got_clear (&got);
  sent_clear (&sent);
  g_free (peer_id);
  server_stop (n1);
  server_stop (n2);
  g_subprocess_send_signal (redis, SIGTERM);
  g_subprocess_wait (redis, NULL, NULL);
  g_object_unref (redis);
}

GST_END_TEST;

static Suite *
rtmfpcluster_suite (void)
{
  Suite *s = suite_create ("rtmfpcluster");
  TCase *tc = tcase_create ("cluster");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  test_watchdog_add (tc, 120);
  tcase_add_test (tc, test_direct_across_nodes);
  return s;
}

GST_CHECK_MAIN (rtmfpcluster);
