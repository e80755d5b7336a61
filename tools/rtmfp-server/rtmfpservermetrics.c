/* rtmfp-server: metrics snapshot and Prometheus text exposition (see
 * rtmfpservermetrics.h; the metric names are listed in
 * docs/rtmfp-server.md, "Monitoring").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfpservermetrics.h"
#include "rtmfpserverpriv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- snapshot (on the server's thread) ---- */

static void
stream_free (gpointer p)
{
  RtmfpServerMetricsStream *s = p;

  g_free (s->app);
  g_free (s->name);
  g_free (s);
}

static void
add_stream (const gchar * app, const gchar * name, gboolean published,
    guint n_players, gpointer ud)
{
  RtmfpServerMetricsStream *s = g_new0 (RtmfpServerMetricsStream, 1);

  s->app = g_strdup (app ? app : "");
  s->name = g_strdup (name ? name : "");
  s->published = published;
  s->players = n_players;
  g_ptr_array_add (ud, s);
}

static gint
stream_cmp (gconstpointer a, gconstpointer b)
{
  const RtmfpServerMetricsStream *x = *(RtmfpServerMetricsStream **) a;
  const RtmfpServerMetricsStream *y = *(RtmfpServerMetricsStream **) b;
  gint c = strcmp (x->app, y->app);

  return c ? c : strcmp (x->name, y->name);
}

void
rtmfp_server_get_metrics (RtmfpServer * srv, RtmfpServerMetrics * m)
{
  GHashTableIter it;
  gpointer v;

  g_return_if_fail (srv != NULL && m != NULL);

  memset (m, 0, sizeof (*m));
  rtmfp_server_get_stats (srv, &m->stats);
  if (srv->ep)
    rtmfp_endpoint_get_stats (srv->ep, &m->ep);
  m->rtt_seconds = g_array_new (FALSE, FALSE, sizeof (gdouble));
  m->loss_ratio = g_array_new (FALSE, FALSE, sizeof (gdouble));
  /* the same connections rtmfp_server_get_stats averages rtt_ms over */
  g_hash_table_iter_init (&it, srv->conns);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    RtmfpSessionStats ss;
    gdouble x;

    rtmfp_session_get_stats (rtmfp_server_conn_get_session (v), &ss);
    if (ss.srtt_us >= 0) {
      x = ss.srtt_us / 1e6;
      g_array_append_val (m->rtt_seconds, x);
    }
    if (ss.packets_sent > 0) {
      x = (gdouble) ss.fragments_lost / ss.packets_sent;
      g_array_append_val (m->loss_ratio, x);
    }
  }
  m->streams = g_ptr_array_new_with_free_func (stream_free);
  rtmfp_relay_foreach_stream (srv->relay, add_stream, m->streams);
  g_ptr_array_sort (m->streams, stream_cmp);
  if (m->streams->len > RTMFP_SERVER_METRICS_MAX_STREAMS) {
    m->streams_unlisted = m->streams->len - RTMFP_SERVER_METRICS_MAX_STREAMS;
    g_ptr_array_set_size (m->streams, RTMFP_SERVER_METRICS_MAX_STREAMS);
  }
}

void
rtmfp_server_metrics_clear (RtmfpServerMetrics * m)
{
  if (!m)
    return;
  g_clear_pointer (&m->rtt_seconds, g_array_unref);
  g_clear_pointer (&m->loss_ratio, g_array_unref);
  g_clear_pointer (&m->streams, g_ptr_array_unref);
}

/* ---- exposition ---- */

/* # HELP and # TYPE of a family */
static void
family (GString * out, const gchar * name, const gchar * type,
    const gchar * help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
      name, type);
}

static void
sample_u64 (GString * out, const gchar * name, const gchar * labels,
    guint64 value)
{
  g_string_append_printf (out, "%s%s%s%s %" G_GUINT64_FORMAT "\n", name,
      labels ? "{" : "", labels ? labels : "", labels ? "}" : "", value);
}

static void
sample_double (GString * out, const gchar * name, const gchar * labels,
    gdouble value)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (out, "%s%s%s%s %s\n", name, labels ? "{" : "",
      labels ? labels : "", labels ? "}" : "", isnan (value) ? "NaN" :
      g_ascii_formatd (buf, sizeof (buf), "%.9g", value));
}

/* One family, one unlabelled sample */
static void
single (GString * out, const gchar * name, const gchar * type,
    const gchar * help, guint64 value)
{
  family (out, name, type, help);
  sample_u64 (out, name, NULL, value);
}

/* A label value: UTF-8 (invalid bytes replaced), \ " and newline
 * escaped */
static void
append_label_value (GString * out, const gchar * value)
{
  gchar *valid = g_utf8_make_valid (value, -1);
  const gchar *p;

  for (p = valid; *p; p++) {
    if (*p == '\\')
      g_string_append (out, "\\\\");
    else if (*p == '"')
      g_string_append (out, "\\\"");
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  }
  g_free (valid);
}

static gint
double_cmp (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

/* A summary of values (one per current RTMFP connection): quantiles by
 * nearest rank, NaN without values; _sum and _count of the values */
static void
summary (GString * out, const gchar * name, const gchar * help,
    const GArray * values)
{
  static const gdouble qs[] = { 0.5, 0.9, 0.99 };
  GArray *sorted = g_array_copy ((GArray *) values);
  gdouble sum = 0;
  gchar *n_sum = g_strconcat (name, "_sum", NULL);
  gchar *n_count = g_strconcat (name, "_count", NULL);
  guint i;

  g_array_sort (sorted, double_cmp);
  for (i = 0; i < sorted->len; i++)
    sum += g_array_index (sorted, gdouble, i);
  family (out, name, "summary", help);
  for (i = 0; i < G_N_ELEMENTS (qs); i++) {
    gchar label[32];
    gdouble v = NAN;

    if (sorted->len) {
      guint rank = (guint) ceil (qs[i] * sorted->len);

      v = g_array_index (sorted, gdouble, MAX (rank, 1) - 1);
    }
    g_snprintf (label, sizeof (label), "quantile=\"%g\"", qs[i]);
    sample_double (out, name, label, v);
  }
  sample_double (out, n_sum, NULL, sum);
  sample_u64 (out, n_count, NULL, sorted->len);
  g_array_unref (sorted);
  g_free (n_sum);
  g_free (n_count);
}

static void
per_protocol (GString * out, const gchar * name, const gchar * type,
    const gchar * help, guint64 rtmfp, guint64 rtmp)
{
  family (out, name, type, help);
  sample_u64 (out, name, "protocol=\"rtmfp\"", rtmfp);
  sample_u64 (out, name, "protocol=\"rtmp\"", rtmp);
}

static void
format_streams (const RtmfpServerMetrics * m, GString * out)
{
  const gchar *name = "rtmfp_server_stream_players";
  guint i;

  family (out, name, "gauge", "Players of a stream name (published or "
      "waited for), by application and stream.");
  for (i = 0; m->streams && i < m->streams->len; i++) {
    RtmfpServerMetricsStream *s = g_ptr_array_index (m->streams, i);

    g_string_append_printf (out, "%s{app=\"", name);
    append_label_value (out, s->app);
    g_string_append (out, "\",stream=\"");
    append_label_value (out, s->name);
    g_string_append_printf (out, "\",published=\"%s\"} %u\n",
        s->published ? "true" : "false", s->players);
  }
  single (out, "rtmfp_server_streams_unlisted", "gauge", "Stream names not "
      "listed in rtmfp_server_stream_players (past the first 1000).",
      m->streams_unlisted);
}

void
rtmfp_server_metrics_format (const RtmfpServerMetrics * m,
    const gchar * version, GString * out)
{
  const RtmfpServerStats *st = &m->stats;
  const RtmfpEndpointStats *ep = &m->ep;
  GArray *empty = g_array_new (FALSE, FALSE, sizeof (gdouble));

  g_return_if_fail (m != NULL && out != NULL);

  family (out, "rtmfp_server_info", "gauge", "The server's version.");
  g_string_append (out, "rtmfp_server_info{version=\"");
  append_label_value (out, version ? version : "");
  g_string_append (out, "\"} 1\n");
  if (m->start_time) {
    family (out, "rtmfp_server_start_time_seconds", "gauge", "When the "
        "server started, seconds since the Unix epoch.");
    sample_double (out, "rtmfp_server_start_time_seconds", NULL,
        m->start_time / 1e6);
  }

  /* what is there now */
  single (out, "rtmfp_server_sessions", "gauge", "RTMFP sessions, any "
      "state.", st->sessions);
  per_protocol (out, "rtmfp_server_connections", "gauge", "Clients: "
      "connected RTMFP NetConnections, open RTMP TCP connections.",
      st->connections, st->rtmp_connections);
  single (out, "rtmfp_server_streams", "gauge", "Published stream names "
      "(both protocols).", st->streams);
  single (out, "rtmfp_server_players", "gauge", "Players (both "
      "protocols).", st->players);
  format_streams (m, out);

  /* traffic */
  per_protocol (out, "rtmfp_server_bytes_received_total", "counter",
      "Payload bytes received: UDP (RTMFP), TCP (RTMP, handshake "
      "included).", st->bytes_in, st->rtmp_bytes_in);
  per_protocol (out, "rtmfp_server_bytes_sent_total", "counter",
      "Payload bytes sent: UDP (RTMFP), TCP (RTMP, handshake included).",
      st->bytes_out, st->rtmp_bytes_out);
  single (out, "rtmfp_server_datagrams_received_total", "counter",
      "RTMFP datagrams received.", ep->datagrams_received);
  single (out, "rtmfp_server_datagrams_sent_total", "counter",
      "RTMFP datagrams sent.", ep->datagrams_sent);
  single (out, "rtmfp_server_messages_received_total", "counter",
      "Media and data messages from publishers.", st->messages_in);
  single (out, "rtmfp_server_messages_relayed_total", "counter",
      "Messages queued to players.", st->messages_relayed);
  single (out, "rtmfp_server_messages_abandoned_total", "counter",
      "Messages abandoned by RTMFP flows past their lifetime.",
      st->messages_abandoned);
  single (out, "rtmfp_server_messages_dropped_total", "counter",
      "Messages not queued to a player (keyframe gating, backpressure).",
      st->messages_dropped);
  single (out, "rtmfp_server_fragments_lost_total", "counter",
      "RTMFP fragments declared lost.", st->fragments_lost);
  single (out, "rtmfp_server_fragments_retransmitted_total", "counter",
      "RTMFP fragments sent again.", st->fragments_retransmitted);

  /* connections, handshakes, rejects */
  family (out, "rtmfp_server_connects_total", "counter",
      "NetConnection connect commands, by protocol and result.");
  sample_u64 (out, "rtmfp_server_connects_total",
      "protocol=\"rtmfp\",result=\"accepted\"", st->connects_accepted);
  sample_u64 (out, "rtmfp_server_connects_total",
      "protocol=\"rtmfp\",result=\"rejected\"", st->connects_rejected);
  sample_u64 (out, "rtmfp_server_connects_total",
      "protocol=\"rtmp\",result=\"accepted\"", st->rtmp_connects_accepted);
  sample_u64 (out, "rtmfp_server_connects_total",
      "protocol=\"rtmp\",result=\"rejected\"", st->rtmp_connects_rejected);
  single (out, "rtmfp_server_rtmp_clients_dropped_total", "counter",
      "RTMP clients dropped: no connect in time, or not reading.",
      st->rtmp_dropped);
  single (out, "rtmfp_server_ihellos_received_total", "counter",
      "RTMFP IHello handshake packets received.", ep->ihellos_received);
  single (out, "rtmfp_server_rhellos_sent_total", "counter",
      "RTMFP RHello handshake answers sent.", ep->rhellos_sent);
  single (out, "rtmfp_server_redirects_sent_total", "counter",
      "RTMFP Redirects sent (peer introductions).", ep->redirects_sent);
  single (out, "rtmfp_server_cookies_rejected_total", "counter",
      "RTMFP handshakes with a bad or stale cookie.", ep->cookies_rejected);
  single (out, "rtmfp_server_sessions_opened_total", "counter",
      "RTMFP sessions opened.", ep->sessions_opened);
  single (out, "rtmfp_server_sessions_refused_total", "counter",
      "RTMFP sessions refused (--max-sessions, shutting down).",
      ep->sessions_refused);
  single (out, "rtmfp_server_startup_replies_refused_total", "counter",
      "RTMFP handshake answers not sent (amplification limit).",
      ep->replies_refused);
  single (out, "rtmfp_server_reassembly_evictions_total", "counter",
      "Fragmented handshake reassemblies dropped "
      "(--max-reassembly-bytes).", ep->reassembly_evictions);
  single (out, "rtmfp_server_flows_refused_total", "counter",
      "RTMFP receiving flows refused (--max-flows-per-session).",
      ep->recv_flows_refused);
  family (out, "rtmfp_server_packets_dropped_total", "counter",
      "RTMFP datagrams dropped, by reason.");
  sample_u64 (out, "rtmfp_server_packets_dropped_total",
      "reason=\"undecodable\"", ep->dropped_undecodable);
  sample_u64 (out, "rtmfp_server_packets_dropped_total",
      "reason=\"unknown-session\"", ep->dropped_unknown_session);
  sample_u64 (out, "rtmfp_server_packets_dropped_total",
      "reason=\"malformed\"", ep->dropped_malformed);
  sample_u64 (out, "rtmfp_server_packets_dropped_total",
      "reason=\"replay\"", ep->dropped_replay);

  /* quality, over the current RTMFP connections */
  summary (out, "rtmfp_server_rtt_seconds", "Smoothed round-trip time of "
      "the current RTMFP connections (sum and count over them, not "
      "cumulative).", m->rtt_seconds ? m->rtt_seconds : empty);
  summary (out, "rtmfp_server_loss_ratio", "Fragments declared lost per "
      "packet sent, of the current RTMFP connections (sum and count over "
      "them, not cumulative).", m->loss_ratio ? m->loss_ratio : empty);
  g_array_unref (empty);
  if (m->cluster) {
    single (out, "rtmfp_server_cluster_redis_up", "gauge",
        "1 if Redis answers (--cluster), else 0.", m->cluster_redis_up);
    single (out, "rtmfp_server_cluster_nodes", "gauge",
        "Live nodes of the cluster, this one included.", m->cluster_nodes);
    single (out, "rtmfp_server_cluster_streams", "gauge",
        "Stream names published in the cluster.", m->cluster_streams);
    single (out, "rtmfp_server_cluster_upstreams", "gauge",
        "Sessions playing a stream from another node now.",
        m->cluster_upstreams);
    single (out, "rtmfp_server_cluster_redirects_total", "counter",
        "New clients redirected to other nodes (--cluster-max-load).",
        m->cluster_redirects);
  }
}
