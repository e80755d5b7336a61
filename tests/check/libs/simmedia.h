/* Test helper: RTMFP sessions carrying media-like traffic on the simulated
 * network (rtmfpsimnet), with what the link dropped decoded and counted.
 *
 * A SimWorld is one simulated network; a SimPair is a sender host and a
 * receiver host with one open session between them (sequence numbers in
 * packets off, so that the helper can decode any datagram of the session
 * with the receiving side's cipher without disturbing it).  A pair sends
 * either a live stream (audio and video flows, time-critical messages with
 * lifetimes, paced by the simulated clock) or bulk data (one reliable
 * flow kept full).  Every delivered message carries its index and send
 * time, so latencies and gaps are measured at the receiver.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpsimnet.h"
#include "rtmfpsession.h"

G_BEGIN_DECLS

#define SIM_MS (G_TIME_SPAN_MILLISECOND)
#define SIM_SEC (G_TIME_SPAN_SECOND)

/* A live stream: video at `fps` with a keyframe every `gop` frames, the
 * other frames sharing what the keyframe leaves of `video_bps`; audio
 * frames of audio_bytes every audio_interval_us (0: no audio flow). */
typedef struct {
  guint fps;
  guint gop;
  gsize key_bytes;
  guint64 video_bps;
  gint64 video_lifetime_us;
  gsize audio_bytes;
  gint64 audio_interval_us;
  gint64 audio_lifetime_us;
  /* adaptive bitrate, as an encoder driven by the session's rate
   * estimate would do (a model for tests, not the elements' policy):
   * once a second the video rate becomes 0.8 x rate_estimate_bps within
   * [min_bps, video_bps], rising by at most 10 % a second while the
   * estimate is application limited; the keyframe scales with it */
  gboolean adapt;
  guint64 min_bps;
} SimLiveProfile;

/* 1.5 Mbit/s, 30 fps, 30 KB keyframes every 2 s, 1 s video lifetime;
 * 60-byte audio every 20 ms, 200 ms lifetime (the loss bench's stream) */
void      sim_live_profile_init (SimLiveProfile * p);

typedef struct {
  guint64 sent;                 /* messages written */
  guint64 refused;              /* writes refused (queue limit) */
  guint64 delivered;
  guint64 gaps;                 /* gap events at the receiver */
  GArray *latency;              /* gint64 per delivered message */
  GArray *arrival;              /* gint64: delivery time of each */
  GArray *index;                /* gint64: message index of each */
  gint64 max_latency;
  gboolean bad;                 /* out of order, or unreadable */
  gint64 last_index;
} SimFlowRecord;

typedef struct _SimWorld SimWorld;

typedef struct {
  SimWorld *world;
  RtmfpSimHost *tx_host;
  RtmfpSimHost *rx_host;
  RtmfpSession *tx;             /* ref */
  RtmfpSession *rx;             /* ref */
  guint tx_opened, rx_opened, rx_closed, tx_closed;

  /* live */
  gboolean live;
  SimLiveProfile profile;
  RtmfpSendFlow *video;
  RtmfpSendFlow *audio;
  guint64 frame;                /* next video frame index */
  guint64 cur_bps;              /* current video rate (adapt) */
  gint64 next_adapt;
  guint64 min_seen_bps, sum_bps, n_bps;       /* of cur_bps after 10 s */
  guint64 aframe;
  gint64 t0;
  SimFlowRecord vrec;
  SimFlowRecord arec;

  /* bulk */
  gboolean bulk;
  RtmfpSendFlow *bulk_flow;
  guint64 bulk_index;
  guint64 bulk_bytes_written;
  guint64 rx_bytes;             /* every flow, delivered to the receiver */

  /* what the link dropped, decoded: session datagrams sender -> receiver
   * and the user data chunks (fragments) they carried */
  guint64 dropped_datagrams;
  guint64 dropped_fragments;
  guint64 dropped_fragments_queue;      /* of those, drop-tail */
  guint64 undecodable;
  guint drop_next;              /* session datagrams tx -> rx to drop */

  /* repair: for every data fragment the link dropped, the time until the
   * sender transmitted it again (any chunk for that flow and sequence
   * number, an abandoned one too) */
  GHashTable *unrepaired;       /* (flow << 40 | seq) -> drop time */
  guint64 repairs;
  gint64 max_repair_us;
  gint64 sum_repair_us;

  /* timed messages (sim_pair_write_timed): data transmitted after its
   * message's deadline */
  RtmfpSendFlow *timed;
  gint64 timed_lifetime;
  guint64 timed_sent;
  guint64 late_transmissions;
  guint64 timed_transmissions;
} SimPair;

/* link: the impairments (set at once, also during the handshake unless
 * link_after_open) */
SimWorld *sim_world_new (guint32 seed, const RtmfpSimLink * link);
void      sim_world_free (SimWorld * w);
RtmfpSimNet *sim_world_get_net (SimWorld * w);
/* The impairments from now on */
void      sim_world_set_link (SimWorld * w, const RtmfpSimLink * link);

/* A sender at tx_addr and a receiver at rx_addr with an open session.
 * tx_cfg: the sender endpoint's configuration template (NULL: defaults);
 * its identity is always replaced. */
SimPair  *sim_world_add_pair (SimWorld * w, const gchar * tx_addr,
    const gchar * rx_addr, const RtmfpEndpointConfig * tx_cfg);

/* Start a live stream / bulk transfer on a pair (at the current time) */
void      sim_pair_start_live (SimPair * p, const SimLiveProfile * profile);
void      sim_pair_start_bulk (SimPair * p);

/* Writes n messages of `size` bytes (16 <= size <= one fragment) at once
 * on a flow of their own, each abandoned `lifetime` after now; the
 * transmissions of their data are checked against that deadline
 * (late_transmissions) */
void      sim_pair_write_timed (SimPair * p, guint n, gsize size,
    gint64 lifetime);

/* Drops the next n datagrams of the session from the sender to the
 * receiver (a burst), whatever the link model says */
void      sim_pair_drop_next (SimPair * p, guint n);

/* Runs the network for `us` of simulated time, writing the live streams'
 * frames when they are due. */
void      sim_world_run (SimWorld * w, gint64 us);

/* Longest time between two consecutive deliveries of the flow, from
 * `from` on (and from `from` to its first delivery) */
gint64    sim_flow_record_longest_gap (const SimFlowRecord * r, gint64 from);
/* Messages delivered within `bound` of being sent */
guint64   sim_flow_record_on_time (const SimFlowRecord * r, gint64 bound);
/* Video frames delivered within `bound` of being sent whose GOP (`gop`
 * frames from a keyframe) was complete up to them: what a relay that
 * waits for the next keyframe after a missing frame would pass on */
guint64   sim_flow_record_decodable_on_time (const SimFlowRecord * r,
    guint gop, gint64 bound);

G_END_DECLS
