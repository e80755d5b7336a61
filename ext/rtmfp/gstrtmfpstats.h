/* GStreamer RTMFP: the `stats` structure (application/x-rtmfp-statistics).
 *
 * One table is the schema: every field is always present, zero before a
 * connection, and counters are totals over the whole run (every session
 * of it, reconnections included); rtt, cwnd and flows describe the session
 * of the moment.  docs/user-guide.md lists the fields; tests check the
 * schema against this table.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "rtmfptcagent.h"

G_BEGIN_DECLS

#define GST_RTMFP_STATS_NAME "application/x-rtmfp-statistics"

/* What the element adds to the agent's figures */
typedef struct {
  RtmfpTcAgentState state;
  RtmfpTcAgentStats agent;
  guint64 receive_queue_dropped;        /* player: dropped when full */
  guint local_port;             /* the element's UDP port (0: none) */
  gint congestion_control;      /* RtmfpCongestionControl of the run */
} GstRtmfpStats;

/* peers: GST_TYPE_ARRAY of "peer" structures (direct publisher), or NULL
 * for an empty one */
GstStructure *gst_rtmfp_stats_to_structure (const GstRtmfpStats * st,
    const GValue * peers);

/* The agent's figures now (net thread): st->agent and st->state, and the
 * subscribers of a direct publisher as a GST_TYPE_ARRAY of "peer"
 * structures in peers (initialised here) */
void      gst_rtmfp_stats_snapshot (RtmfpTcAgent * agent, GstRtmfpStats * st,
    GValue * peers);

/* The names of every field, NULL-terminated (for tests and docs) */
const gchar *const *gst_rtmfp_stats_field_names (void);

G_END_DECLS
