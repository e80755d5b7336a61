/* RTMFP core: the publisher side of direct peer-to-peer NetStreams
 * (RFC 7425 section 5.4).
 *
 * A direct publisher keeps its server NetConnection (an RtmfpTcClient in
 * role RTMFP_TC_CLIENT_ROLE_DIRECT_PUBLISH: connect + setPeerInfo) so that
 * the server introduces subscribers to it (RFC 7016 3.5.1.5 / 3.5.1.6:
 * Redirect to the initiator, Forwarded IHello to us).  Every subscriber
 * then has its own session with our endpoint.  On that session the
 * subscriber opens a NetStream flow (TC metadata, stream ID != 0, not
 * associated) and sends "play" (null, name) on it; we answer on flows
 * associated to it with the same stream ID:
 *   data    StreamBegin, onStatus NetStream.Play.Reset / Play.Start, then
 *           onMetaData and the data messages of the stream
 *   audio   RXI set
 *   video
 * starting with the cached metadata and sequence headers, video at a
 * keyframe.  Closing that flow (or the session) ends the subscription.
 *
 * Sans-I/O like the client: install the endpoint callbacks of
 * rtmfp_tc_peer_publisher_get_endpoint_callbacks() with the publisher as
 * user data; the sessions of the attached client (set_client) are passed
 * on to the client's own callbacks.  All calls on the thread that drives
 * the endpoint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpendpoint.h"
#include "rtmfptcclient.h"

G_BEGIN_DECLS

typedef struct _RtmfpTcPeerPublisher RtmfpTcPeerPublisher;

typedef struct {
  /* A subscriber played our stream (its session is open) */
  void (*peer_playing) (RtmfpTcPeerPublisher * p, RtmfpSession * s,
      gpointer ud);
  /* A subscriber that was playing left (flow or session closed) */
  void (*peer_left) (RtmfpTcPeerPublisher * p, RtmfpSession * s,
      gpointer ud);
  /* appended.  A playing subscriber asked for a keyframe
   * ("requestKeyframe" on its NetStream flow, after a video loss) */
  void (*keyframe_requested) (RtmfpTcPeerPublisher * p, RtmfpSession * s,
      gpointer ud);
} RtmfpTcPeerPublisherCallbacks;

/* stream: the name subscribers play (others get Play.StreamNotFound);
 * lifetimes 0: the client's defaults.  max_peers 0: unlimited. */
RtmfpTcPeerPublisher *rtmfp_tc_peer_publisher_new (const gchar * stream,
    gint64 audio_lifetime_us, gint64 video_lifetime_us, guint max_peers,
    const RtmfpTcPeerPublisherCallbacks * callbacks, gpointer user_data,
    RtmfpTcClientClockFunc clock, gpointer clock_data);
void      rtmfp_tc_peer_publisher_free (RtmfpTcPeerPublisher * p);

/* The server NetConnection whose session callbacks are passed on */
void      rtmfp_tc_peer_publisher_set_client (RtmfpTcPeerPublisher * p,
    RtmfpTcClient * client);
const RtmfpEndpointCallbacks *rtmfp_tc_peer_publisher_get_endpoint_callbacks
    (void);

/* One FLV-tag message (types 8, 9, 18) for every subscriber; flags
 * RTMFP_TC_CLIENT_SEND_*.  Sequence headers (RELIABLE) and onMetaData are
 * kept for new subscribers.  FALSE for other types. */
gboolean  rtmfp_tc_peer_publisher_send (RtmfpTcPeerPublisher * p,
    guint8 type, guint32 timestamp, const guint8 * payload, gsize len,
    guint flags, gint64 now);

/* Ends every subscription (closeStream-like: Play.Stop / UnpublishNotify,
 * then closes the flows and sessions) */
void      rtmfp_tc_peer_publisher_close (RtmfpTcPeerPublisher * p,
    gint64 now);

typedef struct {
  RtmfpSession *session;        /* borrowed */
  gboolean playing;
  guint64 messages_sent;
  guint64 bytes_sent;
  guint64 messages_dropped;     /* not sent: congestion, waiting keyframe */
} RtmfpTcPeerInfo;

/* Subscribers (sessions that opened a NetStream flow), playing or not */
guint     rtmfp_tc_peer_publisher_get_n_peers (RtmfpTcPeerPublisher * p);
gboolean  rtmfp_tc_peer_publisher_get_peer (RtmfpTcPeerPublisher * p,
    guint index, RtmfpTcPeerInfo * info);

G_END_DECLS
