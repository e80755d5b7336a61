/* GStreamer RTMFP: the `stats` structure (see gstrtmfpstats.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpstats.h"
#include "rtmfptcpeer.h"
#include "rtmfpcongestion.h"

typedef enum {
  F_STR, F_DOUBLE, F_U64, F_UINT
} FieldType;

typedef union {
  const gchar *s;
  gdouble d;
  guint64 u;
} Value;

typedef Value (*Getter) (const GstRtmfpStats * st);

#define AG(st) (&(st)->agent)
#define CUR(st) (&(st)->agent.client.session)
#define TOT(st) (&(st)->agent.total_session)

static Value v_protocol (const GstRtmfpStats * st) { return (Value) { .s = "rtmfp" }; }
static Value v_state (const GstRtmfpStats * st) { return (Value) { .s = rtmfp_tc_agent_state_get_nick (st->state) }; }
static Value v_stream_id (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->client.stream_id }; }
static Value v_rtt (const GstRtmfpStats * st) { return (Value) { .d = CUR (st)->srtt_us > 0 ? CUR (st)->srtt_us / 1000.0 : 0 }; }
static Value v_rttvar (const GstRtmfpStats * st) { return (Value) { .d = CUR (st)->rttvar_us > 0 ? CUR (st)->rttvar_us / 1000.0 : 0 }; }
static Value v_cwnd (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->cwnd }; }
static Value v_inflight (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->bytes_in_flight }; }
static Value v_local_port (const GstRtmfpStats * st) { return (Value) { .u = st->local_port }; }
static Value v_pkt_sent (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->packets_sent }; }
static Value v_pkt_recv (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->packets_received }; }
static Value v_bytes_sent (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->bytes_sent }; }
static Value v_bytes_recv (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->bytes_received }; }
static Value v_frag_rtx (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->fragments_retransmitted }; }
static Value v_frag_lost (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->fragments_lost }; }
static Value v_abandoned (const GstRtmfpStats * st) { return (Value) { .u = TOT (st)->messages_abandoned }; }
static Value v_send_flows (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->client.n_send_flows }; }
static Value v_recv_flows (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->client.n_recv_flows }; }
static Value v_flows (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->client.n_send_flows + AG (st)->client.n_recv_flows }; }
static Value v_sessions (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->sessions }; }
static Value v_reconnections (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->reconnections }; }
static Value v_not_sent (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->messages_not_sent }; }
static Value v_kf_sent (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->keyframe_requests_sent }; }
static Value v_kf_recv (const GstRtmfpStats * st) { return (Value) { .u = AG (st)->keyframe_requests_received }; }
static Value v_rq_dropped (const GstRtmfpStats * st) { return (Value) { .u = st->receive_queue_dropped }; }
/* the current session's loss accounting and rate estimate (the benches) */
static Value v_frag_lost_timeout (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->fragments_lost_timeout }; }
static Value v_frag_lost_spurious (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->fragments_lost_spurious }; }
static Value v_loss_episodes (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->loss_episodes }; }
static Value v_loss_probes (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->loss_probes }; }
static Value v_cc (const GstRtmfpStats * st) { return (Value) { .s = rtmfp_congestion_control_get_nick (st->congestion_control) }; }
static Value v_rate_estimate (const GstRtmfpStats * st) { return (Value) { .u = CUR (st)->rate_estimate_bps / 1000 }; }

static const struct
{
  const gchar *name;
  FieldType type;
  Getter get;
} fields[] = {
  {"protocol", F_STR, v_protocol},
  {"state", F_STR, v_state},
  {"stream-id", F_UINT, v_stream_id},
  {"local-port", F_UINT, v_local_port},
  {"rtt-ms", F_DOUBLE, v_rtt},
  {"rtt-variance-ms", F_DOUBLE, v_rttvar},
  {"cwnd-bytes", F_U64, v_cwnd},
  {"bytes-in-flight", F_U64, v_inflight},
  {"rate-estimate-kbps", F_U64, v_rate_estimate},
  {"congestion-control", F_STR, v_cc},
  {"packets-sent", F_U64, v_pkt_sent},
  {"packets-received", F_U64, v_pkt_recv},
  {"bytes-sent", F_U64, v_bytes_sent},
  {"bytes-received", F_U64, v_bytes_recv},
  {"fragments-retransmitted", F_U64, v_frag_rtx},
  {"fragments-lost", F_U64, v_frag_lost},
  {"messages-abandoned", F_U64, v_abandoned},
  {"messages-not-sent", F_U64, v_not_sent},
  {"send-flows", F_UINT, v_send_flows},
  {"receive-flows", F_UINT, v_recv_flows},
  {"flows", F_UINT, v_flows},
  {"sessions", F_UINT, v_sessions},
  {"reconnections", F_UINT, v_reconnections},
  {"keyframe-requests-sent", F_U64, v_kf_sent},
  {"keyframe-requests-received", F_U64, v_kf_recv},
  {"receive-queue-dropped", F_U64, v_rq_dropped},
  {"fragments-lost-timeout", F_U64, v_frag_lost_timeout},
  {"fragments-lost-spurious", F_U64, v_frag_lost_spurious},
  {"loss-episodes", F_U64, v_loss_episodes},
  {"loss-probes", F_U64, v_loss_probes},
};

static const gchar *const media_names[RTMFP_TC_MEDIA_N] =
    { "audio", "video", "data" };

/* per media kind: "<kind>-<suffix>", guint64, totals */
static const gchar *const media_fields[] = {
  "messages-sent", "bytes-sent", "messages-abandoned", "messages-dropped",
  "messages-received", "bytes-received", "messages-lost", "sequence-gaps",
};

static guint64
media_value (const RtmfpTcMediaStats * m, guint i)
{
  const guint64 v[] = { m->messages_sent, m->bytes_sent,
    m->messages_abandoned, m->messages_dropped, m->messages_received,
    m->bytes_received, m->gaps, m->sequence_gaps
  };

  return v[i];
}

GstStructure *
gst_rtmfp_stats_to_structure (const GstRtmfpStats * st, const GValue * peers)
{
  GstStructure *s = gst_structure_new_empty (GST_RTMFP_STATS_NAME);
  GValue a = G_VALUE_INIT;
  guint i, k;

  for (i = 0; i < G_N_ELEMENTS (fields); i++) {
    Value v = fields[i].get (st);

    switch (fields[i].type) {
      case F_STR:
        gst_structure_set (s, fields[i].name, G_TYPE_STRING, v.s, NULL);
        break;
      case F_DOUBLE:
        gst_structure_set (s, fields[i].name, G_TYPE_DOUBLE, v.d, NULL);
        break;
      case F_UINT:
        gst_structure_set (s, fields[i].name, G_TYPE_UINT, (guint) v.u, NULL);
        break;
      case F_U64:
        gst_structure_set (s, fields[i].name, G_TYPE_UINT64, v.u, NULL);
        break;
    }
  }
  for (k = 0; k < RTMFP_TC_MEDIA_N; k++) {
    for (i = 0; i < G_N_ELEMENTS (media_fields); i++) {
      gchar *n = g_strdup_printf ("%s-%s", media_names[k], media_fields[i]);
      gst_structure_set (s, n, G_TYPE_UINT64,
          media_value (&st->agent.total_media[k], i), NULL);
      g_free (n);
    }
  }
  g_value_init (&a, GST_TYPE_ARRAY);
  if (peers)
    g_value_copy (peers, &a);
  gst_structure_take_value (s, "peers", &a);
  return s;
}

const gchar *const *
gst_rtmfp_stats_field_names (void)
{
  static gsize once = 0;
  static const gchar **names;

  if (g_once_init_enter (&once)) {
    GPtrArray *a = g_ptr_array_new ();
    guint i, k;

    for (i = 0; i < G_N_ELEMENTS (fields); i++)
      g_ptr_array_add (a, (gpointer) fields[i].name);
    for (k = 0; k < RTMFP_TC_MEDIA_N; k++)
      for (i = 0; i < G_N_ELEMENTS (media_fields); i++) {
        gchar *n = g_strdup_printf ("%s-%s", media_names[k], media_fields[i]);
        g_ptr_array_add (a, (gpointer) g_intern_string (n));
        g_free (n);
      }
    g_ptr_array_add (a, (gpointer) "peers");
    g_ptr_array_add (a, NULL);
    names = (const gchar **) g_ptr_array_free (a, FALSE);
    g_once_init_leave (&once, 1);
  }
  return names;
}

static void
peers_to_array (RtmfpTcPeerPublisher * pp, GValue * array)
{
  RtmfpTcPeerInfo info;
  guint i;

  for (i = 0; rtmfp_tc_peer_publisher_get_peer (pp, i, &info); i++) {
    GValue v = G_VALUE_INIT;
    RtmfpSessionStats ss;
    gchar buf[RTMFP_ADDR_STRLEN], *id;
    const guint8 *fp = rtmfp_session_get_far_fingerprint (info.session);

    rtmfp_session_get_stats (info.session, &ss);
    id = fp ? rtmfp_fingerprint_to_hex (fp) : g_strdup ("");
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("peer",
            "peer-id", G_TYPE_STRING, id,
            "peer-address", G_TYPE_STRING,
            rtmfp_addr_to_string (rtmfp_session_get_far_address
                (info.session), buf),
            "playing", G_TYPE_BOOLEAN, info.playing,
            "rtt-ms", G_TYPE_DOUBLE, ss.srtt_us > 0 ? ss.srtt_us / 1000.0 : 0.0,
            "messages-sent", G_TYPE_UINT64, info.messages_sent,
            "bytes-sent", G_TYPE_UINT64, info.bytes_sent,
            "messages-dropped", G_TYPE_UINT64, info.messages_dropped,
            "fragments-lost", G_TYPE_UINT64, ss.fragments_lost,
            "fragments-retransmitted", G_TYPE_UINT64,
            ss.fragments_retransmitted, NULL));
    gst_value_array_append_and_take_value (array, &v);
    g_free (id);
  }
}

void
gst_rtmfp_stats_snapshot (RtmfpTcAgent * agent, GstRtmfpStats * st,
    GValue * peers)
{
  RtmfpTcPeerPublisher *pp = rtmfp_tc_agent_get_peer_publisher (agent);

  st->state = rtmfp_tc_agent_get_state (agent);
  rtmfp_tc_agent_get_stats (agent, &st->agent);
  g_value_init (peers, GST_TYPE_ARRAY);
  if (pp)
    peers_to_array (pp, peers);
}
