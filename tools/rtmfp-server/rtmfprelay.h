/* rtmfp-server: the stream relay.  Published streams by (app, name), one
 * publisher and any number of players each; caches what a player joining
 * mid-stream needs to decode at once (metadata, AVC/AAC sequence headers)
 * and applies the relay policy: message lifetimes, keyframe gating for new
 * or lagging players, per-player backpressure.
 *
 * Transport agnostic: a player is a set of functions (RtmfpRelayPlayerFuncs)
 * that queue TC messages on the player's flows, so an RTMP side can reuse
 * it.  Sans-I/O, no clock: lifetimes are handed to the player functions,
 * which turn them into deadlines.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The flows of a player, one per media kind (the data flow also carries
 * user control events and onStatus) */
typedef enum {
  RTMFP_RELAY_DATA = 0,
  RTMFP_RELAY_AUDIO = 1,
  RTMFP_RELAY_VIDEO = 2,
  RTMFP_RELAY_N_KINDS = 3,
} RtmfpRelayKind;

/* lifetime_us for rtmfp_relay_player_funcs.send: never abandon */
#define RTMFP_RELAY_RELIABLE 0

typedef struct _RtmfpRelay RtmfpRelay;
typedef struct _RtmfpRelayStream RtmfpRelayStream;
typedef struct _RtmfpRelayPlayer RtmfpRelayPlayer;

typedef struct {
  /* Queue one RTMP message (type, timestamp, payload) on the player's flow
   * for kind; lifetime_us > 0: abandon it that long after now if not yet
   * delivered; RTMFP_RELAY_RELIABLE: never. */
  void (*send) (gpointer ud, RtmfpRelayKind kind, guint8 type,
      guint32 timestamp, const guint8 * payload, gsize len,
      gint64 lifetime_us);
  /* Bytes queued and not yet acknowledged on that flow */
  gsize (*queued_bytes) (gpointer ud, RtmfpRelayKind kind);
  /* Abandon everything queued on that flow */
  void (*flush) (gpointer ud, RtmfpRelayKind kind);
  /* An onStatus for the player (PublishNotify, UnpublishNotify) */
  void (*status) (gpointer ud, const gchar * level, const gchar * code,
      const gchar * description);
  /* appended, optional (NULL: send is used).  As send, with the message
   * already encoded as a TC message (rtmfp_tc_message_append of type,
   * timestamp and payload) in tc_message, which is immutable and the same
   * object for every player the message goes to: an RTMFP player queues a
   * reference to it (rtmfp_session_write_bytes), not a copy per player. */
  void (*send_tc) (gpointer ud, RtmfpRelayKind kind, GBytes * tc_message,
      gint64 lifetime_us);
} RtmfpRelayPlayerFuncs;

typedef struct {
  gint64 audio_lifetime_us;     /* default 300 ms */
  gint64 video_lifetime_us;     /* inter frames, default 1 s */
  gint64 keyframe_lifetime_us;  /* default 2 s */
  gint64 data_lifetime_us;      /* script data other than metadata, 2 s */
  /* a player whose flow holds more than this gets no more frames of that
   * kind (video: until the next keyframe) */
  gsize audio_queue_limit;      /* default 64 KiB */
  gsize video_queue_limit;      /* default 256 KiB */
  /* at a keyframe, a video flow holding more than this is flushed first
   * (what is queued is older than the keyframe: not worth sending) */
  gsize video_flush_bytes;      /* default 64 KiB */
} RtmfpRelayConfig;

void      rtmfp_relay_config_init (RtmfpRelayConfig * cfg);

typedef struct {
  guint n_streams;              /* names with a publisher */
  guint n_players;
  guint64 messages_in;          /* from publishers */
  guint64 messages_relayed;     /* queued to players */
  guint64 messages_dropped;     /* not sent: gating or backpressure */
  guint64 bytes_in;
  guint64 bytes_relayed;
  guint64 keyframe_requests;    /* passed on to publishers */
} RtmfpRelayStats;

/* Every stream name with a publisher or players, in no order: app,
 * name, whether it is published now and its number of players (for
 * monitoring) */
typedef void (*RtmfpRelayStreamFunc) (const gchar * app, const gchar * name,
    gboolean published, guint n_players, gpointer ud);
void      rtmfp_relay_foreach_stream (RtmfpRelay * relay,
    RtmfpRelayStreamFunc func, gpointer ud);

RtmfpRelay *rtmfp_relay_new (const RtmfpRelayConfig * cfg);
/* All publishers and players must have left first (or the owners just
 * forget them: nothing is called back). */
void      rtmfp_relay_free (RtmfpRelay * relay);
void      rtmfp_relay_get_stats (RtmfpRelay * relay, RtmfpRelayStats * st);

/* Stream names are compared without their query string ("cam?token=x"
 * names "cam"). */
gchar    *rtmfp_relay_normalize_name (const gchar * name);

/* ---- publishing ---- */

/* Claims (app, name) for a publisher.  NULL if it is already published.
 * The stream stays until rtmfp_relay_unpublish. */
RtmfpRelayStream *rtmfp_relay_publish (RtmfpRelay * relay, const gchar * app,
    const gchar * name);

/* The publisher of a stream taken over (rtmfp_relay_publish_full): it
 * must forget stream, which is unpublished right after this returns. */
typedef void (*RtmfpRelayEvictFunc) (RtmfpRelayStream * stream, gpointer ud);

/* rtmfp_relay_publish, with an owner to tell when the name is taken over,
 * and takeover: a name whose publisher has been silent (no
 * rtmfp_relay_stream_set_active) for idle_us or more at now is taken
 * from it (evict is called, its players get UnpublishNotify) and given to
 * the caller (PublishNotify).  That is how a publisher that lost its
 * network and comes back, over the other protocol say, gets its name back
 * before the old session times out; a live publisher keeps its name
 * (NULL).  idle_us 0: no takeover.  now is the caller's clock. */
RtmfpRelayStream *rtmfp_relay_publish_full (RtmfpRelay * relay,
    const gchar * app, const gchar * name, gint64 now, gint64 idle_us,
    RtmfpRelayEvictFunc evict, gpointer ud);
/* The publisher sent something at now (the same clock) */
void      rtmfp_relay_stream_set_active (RtmfpRelayStream * stream,
    gint64 now);
/* The publisher asked to stop but the stream stays published a moment
 * (for what is still on its way): rtmfp_relay_publish_full may take it
 * over at once, idle or not. */
void      rtmfp_relay_stream_release (RtmfpRelayStream * stream);
/* Players get UnpublishNotify; the caches are dropped.  stream is invalid
 * afterwards. */
void      rtmfp_relay_unpublish (RtmfpRelay * relay, RtmfpRelayStream * stream);
/* One message from the publisher: audio (8), video (9), data (18, or 15
 * with its format byte).  Other types are ignored. */
void      rtmfp_relay_stream_push (RtmfpRelayStream * stream, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len);
/* Video from the publisher was lost (a sequence gap): players get no
 * inter frames until the next keyframe. */
void      rtmfp_relay_stream_discont (RtmfpRelayStream * stream);
const gchar *rtmfp_relay_stream_get_name (const RtmfpRelayStream * stream);

/* ---- playing ---- */

gboolean  rtmfp_relay_is_published (RtmfpRelay * relay, const gchar * app,
    const gchar * name);
/* Adds a player of (app, name), published or not (a player waiting for a
 * publisher gets PublishNotify when one comes).  If the stream is being
 * published, the cached metadata and sequence headers are sent at once,
 * audio follows at once and video from the next keyframe. */
RtmfpRelayPlayer *rtmfp_relay_play (RtmfpRelay * relay, const gchar * app,
    const gchar * name, const RtmfpRelayPlayerFuncs * funcs, gpointer ud);
/* Removes a player; nothing is called on it any more. */
void      rtmfp_relay_stop (RtmfpRelay * relay, RtmfpRelayPlayer * player);

/* ---- keyframe requests ---- */

/* How to ask the publisher of a stream for a keyframe (an RTMFP publisher
 * gets "requestKeyframe"; RTMP has no such thing: none) */
typedef void (*RtmfpRelayKeyframeFunc) (RtmfpRelayStream * stream,
    gpointer ud);
void      rtmfp_relay_stream_set_keyframe_func (RtmfpRelayStream * stream,
    RtmfpRelayKeyframeFunc func, gpointer ud);
/* A player wants a keyframe (it joined, or lost video): passed on to the
 * publisher, at most one per 200 ms per stream.  TRUE if passed on. */
gboolean  rtmfp_relay_request_keyframe (RtmfpRelay * relay,
    RtmfpRelayPlayer * player, gint64 now);

G_END_DECLS
