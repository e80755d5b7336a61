/* rtmfp-server: the stream relay (see rtmfprelay.h).
 *
 * Relay policy, per player (DESIGN.md "Media mapping"):
 *  - metadata and sequence headers are reliable and cached; a player that
 *    joins a published stream gets them first, stamped with the stream's
 *    latest timestamp;
 *  - audio is relayed at once, abandoned after audio_lifetime_us, and
 *    dropped while the player's audio flow holds more than
 *    audio_queue_limit; a player that starts (joins, or the stream is
 *    published again) gets audio only from its first keyframe's time on
 *    when the stream has video (a coherent start: players that
 *    demultiplex do not wait on a video branch with audio piling up):
 *    audio is held until the keyframe, then what is not older than it
 *    goes out after it; with no keyframe within START_AUDIO_WAIT_MS of
 *    stream time, held audio is dropped and audio goes on;
 *  - video starts at a keyframe: a new player, or one whose video flow
 *    went past video_queue_limit, gets no inter frames until the next
 *    keyframe; inter frames are abandoned after video_lifetime_us; at a
 *    keyframe a flow still holding more than video_flush_bytes (older
 *    frames) is flushed and the sequence header sent again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-relay"

#include "rtmfprelay.h"
#include "rtmfptc.h"
#include "flvtag.h"

#include <string.h>

/* A starting player gets audio without video after this much stream time
 * without a keyframe */
#define START_AUDIO_WAIT_MS 3000
/* Keyframe requests are passed on to a publisher at most this often */
#define KEYFRAME_REQUEST_MIN_US (200 * G_TIME_SPAN_MILLISECOND)

struct _RtmfpRelayPlayer {
  RtmfpRelayStream *stream;
  const RtmfpRelayPlayerFuncs *funcs;
  gpointer ud;
  gboolean need_keyframe;       /* no inter frames until a keyframe */
  gboolean overflowed;          /* video dropped for backpressure */
  gboolean starting;            /* no audio before the first keyframe */
  GQueue held;                  /* HeldAudio*, while starting */
};

typedef struct {
  guint32 ts;
  GBytes *payload;
} HeldAudio;

static void
held_audio_free (HeldAudio * h)
{
  g_bytes_unref (h->payload);
  g_free (h);
}

static void
player_free (RtmfpRelayPlayer * p)
{
  g_queue_clear_full (&p->held, (GDestroyNotify) held_audio_free);
  g_free (p);
}

struct _RtmfpRelayStream {
  RtmfpRelay *relay;
  gchar *key;
  gchar *app;
  gchar *name;
  gboolean published;
  GPtrArray *players;           /* of RtmfpRelayPlayer (owned) */

  /* what a joining player needs first */
  GBytes *metadata;             /* type 18 payload: "onMetaData", ... */
  GBytes *video_header;         /* AVC decoder configuration record tag */
  GBytes *audio_header;         /* AAC AudioSpecificConfig tag */
  guint32 last_timestamp;

  gboolean has_video;           /* video came since it was published */

  /* the publisher (rtmfp_relay_publish_full) */
  RtmfpRelayEvictFunc evict;
  gpointer evict_ud;
  RtmfpRelayKeyframeFunc keyframe;
  gpointer keyframe_ud;
  gint64 last_keyframe_request; /* -1 */
  gint64 last_active;
  gboolean released;            /* takeable at once */

  /* The message being relayed, encoded once as a TC message for the
   * players with send_tc (see tc_message_for): valid for one payload
   * pointer, type and timestamp, and only during one push */
  GBytes *tc_cache;
  const guint8 *tc_cache_payload;
  gsize tc_cache_len;
  guint8 tc_cache_type;
  guint32 tc_cache_ts;
};

struct _RtmfpRelay {
  RtmfpRelayConfig cfg;
  GHashTable *streams;          /* key -> RtmfpRelayStream (owned) */
  RtmfpRelayStats stats;
};

void
rtmfp_relay_config_init (RtmfpRelayConfig * cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof (*cfg));
  cfg->audio_lifetime_us = 300 * G_TIME_SPAN_MILLISECOND;
  cfg->video_lifetime_us = 1 * G_TIME_SPAN_SECOND;
  cfg->keyframe_lifetime_us = 2 * G_TIME_SPAN_SECOND;
  cfg->data_lifetime_us = 2 * G_TIME_SPAN_SECOND;
  cfg->audio_queue_limit = 64 * 1024;
  cfg->video_queue_limit = 256 * 1024;
  cfg->video_flush_bytes = 64 * 1024;
}

/* ------------------------------------------------------------------------ */

static gchar *
make_key (const gchar * app, const gchar * name)
{
  /* length-prefixed so that no app / name split is ambiguous */
  return g_strdup_printf ("%" G_GSIZE_FORMAT ":%s/%s", strlen (app), app,
      name);
}

gchar *
rtmfp_relay_normalize_name (const gchar * name)
{
  const gchar *q;

  g_return_val_if_fail (name != NULL, NULL);
  q = strchr (name, '?');
  return q ? g_strndup (name, q - name) : g_strdup (name);
}

static void
stream_clear_caches (RtmfpRelayStream * st)
{
  st->has_video = FALSE;
  g_clear_pointer (&st->metadata, g_bytes_unref);
  g_clear_pointer (&st->video_header, g_bytes_unref);
  g_clear_pointer (&st->audio_header, g_bytes_unref);
}

static void tc_cache_clear (RtmfpRelayStream * st);

static void
stream_free (gpointer data)
{
  RtmfpRelayStream *st = data;

  stream_clear_caches (st);
  tc_cache_clear (st);
  g_ptr_array_unref (st->players);
  g_free (st->key);
  g_free (st->app);
  g_free (st->name);
  g_free (st);
}

static RtmfpRelayStream *
stream_lookup (RtmfpRelay * relay, const gchar * app, const gchar * name,
    gboolean create)
{
  gchar *norm = rtmfp_relay_normalize_name (name);
  gchar *key = make_key (app, norm);
  RtmfpRelayStream *st = g_hash_table_lookup (relay->streams, key);

  if (!st && create) {
    st = g_new0 (RtmfpRelayStream, 1);
    st->relay = relay;
    st->key = key;
    st->app = g_strdup (app);
    st->name = norm;
    st->players = g_ptr_array_new_with_free_func ((GDestroyNotify)
        player_free);
    st->last_keyframe_request = -1;
    g_hash_table_insert (relay->streams, st->key, st);
    return st;
  }
  g_free (key);
  g_free (norm);
  return st;
}

/* Frees the stream once nobody publishes or plays it */
static void
stream_maybe_remove (RtmfpRelayStream * st)
{
  if (!st->published && st->players->len == 0)
    g_hash_table_remove (st->relay->streams, st->key);
}

RtmfpRelay *
rtmfp_relay_new (const RtmfpRelayConfig * cfg)
{
  RtmfpRelay *relay = g_new0 (RtmfpRelay, 1);

  if (cfg)
    relay->cfg = *cfg;
  else
    rtmfp_relay_config_init (&relay->cfg);
  relay->streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      stream_free);
  return relay;
}

void
rtmfp_relay_free (RtmfpRelay * relay)
{
  if (!relay)
    return;
  g_hash_table_unref (relay->streams);
  g_free (relay);
}

void
rtmfp_relay_get_stats (RtmfpRelay * relay, RtmfpRelayStats * st)
{
  GHashTableIter it;
  gpointer v;

  g_return_if_fail (relay != NULL && st != NULL);

  *st = relay->stats;
  st->n_streams = 0;
  st->n_players = 0;
  g_hash_table_iter_init (&it, relay->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    RtmfpRelayStream *s = v;
    if (s->published)
      st->n_streams++;
    st->n_players += s->players->len;
  }
}

void
rtmfp_relay_foreach_stream (RtmfpRelay * relay, RtmfpRelayStreamFunc func,
    gpointer ud)
{
  GHashTableIter it;
  gpointer v;

  g_return_if_fail (relay != NULL && func != NULL);
  g_hash_table_iter_init (&it, relay->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    RtmfpRelayStream *s = v;

    func (s->app, s->name, s->published, s->players->len, ud);
  }
}

/* ------------------------------------------------------------------------ */
/* Sending to players */

/* The TC message of (type, ts, payload) for send_tc, made once for all
 * the players a message goes to: the cache lives while one push (or one
 * player's headers) is being sent, so the payload pointer identifies the
 * message (see tc_cache_clear). */
static GBytes *
tc_message_for (RtmfpRelayStream * st, guint8 type, guint32 ts,
    const guint8 * payload, gsize len)
{
  GByteArray *a;

  if (st->tc_cache && st->tc_cache_payload == payload
      && st->tc_cache_len == len && st->tc_cache_type == type
      && st->tc_cache_ts == ts)
    return st->tc_cache;
  g_clear_pointer (&st->tc_cache, g_bytes_unref);
  a = g_byte_array_sized_new ((guint) len + 16);
  rtmfp_tc_message_append (a, type, ts, payload, len);
  st->tc_cache = g_byte_array_free_to_bytes (a);
  st->tc_cache_payload = payload;
  st->tc_cache_len = len;
  st->tc_cache_type = type;
  st->tc_cache_ts = ts;
  return st->tc_cache;
}

static void
tc_cache_clear (RtmfpRelayStream * st)
{
  g_clear_pointer (&st->tc_cache, g_bytes_unref);
  st->tc_cache_payload = NULL;
}

static void
player_send (RtmfpRelayPlayer * p, RtmfpRelayKind kind, guint8 type,
    guint32 ts, const guint8 * payload, gsize len, gint64 lifetime)
{
  RtmfpRelay *relay = p->stream->relay;

  if (p->funcs->send_tc)
    p->funcs->send_tc (p->ud, kind, tc_message_for (p->stream, type, ts,
            payload, len), lifetime);
  else
    p->funcs->send (p->ud, kind, type, ts, payload, len, lifetime);
  relay->stats.messages_relayed++;
  relay->stats.bytes_relayed += len;
}

static void
player_send_bytes (RtmfpRelayPlayer * p, RtmfpRelayKind kind, guint8 type,
    guint32 ts, GBytes * b)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  player_send (p, kind, type, ts, d, len, RTMFP_RELAY_RELIABLE);
}

static void
dropped (RtmfpRelay * relay)
{
  relay->stats.messages_dropped++;
}

/* What a player joining a published stream needs before any media */
static void
player_send_headers (RtmfpRelayPlayer * p)
{
  RtmfpRelayStream *st = p->stream;
  guint32 ts = st->last_timestamp;

  if (st->metadata)
    player_send_bytes (p, RTMFP_RELAY_DATA, RTMFP_TC_MSG_DATA_AMF0, ts,
        st->metadata);
  if (st->video_header)
    player_send_bytes (p, RTMFP_RELAY_VIDEO, RTMFP_TC_MSG_VIDEO, ts,
        st->video_header);
  if (st->audio_header)
    player_send_bytes (p, RTMFP_RELAY_AUDIO, RTMFP_TC_MSG_AUDIO, ts,
        st->audio_header);
}

/* ------------------------------------------------------------------------ */
/* Publishing */

const gchar *
rtmfp_relay_stream_get_name (const RtmfpRelayStream * stream)
{
  return stream->name;
}

gboolean
rtmfp_relay_is_published (RtmfpRelay * relay, const gchar * app,
    const gchar * name)
{
  RtmfpRelayStream *st = stream_lookup (relay, app, name, FALSE);

  return st && st->published;
}

RtmfpRelayStream *
rtmfp_relay_publish (RtmfpRelay * relay, const gchar * app,
    const gchar * name)
{
  RtmfpRelayStream *st;
  gchar *desc;
  guint i;

  g_return_val_if_fail (relay && app && name, NULL);

  st = stream_lookup (relay, app, name, TRUE);
  if (st->published) {
    g_debug ("%s/%s is already published", app, st->name);
    return NULL;
  }
  st->published = TRUE;
  st->last_timestamp = 0;
  st->evict = NULL;
  st->evict_ud = NULL;
  st->keyframe = NULL;
  st->keyframe_ud = NULL;
  st->last_keyframe_request = -1;
  st->last_active = 0;
  st->released = FALSE;
  desc = g_strdup_printf ("%s is now published.", st->name);
  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);
    p->need_keyframe = TRUE;
    p->overflowed = FALSE;
    p->starting = TRUE;
    g_queue_clear_full (&p->held, (GDestroyNotify) held_audio_free);
    p->funcs->status (p->ud, "status", RTMFP_TC_PLAY_PUBLISHNOTIFY, desc);
  }
  g_free (desc);
  return st;
}

RtmfpRelayStream *
rtmfp_relay_publish_full (RtmfpRelay * relay, const gchar * app,
    const gchar * name, gint64 now, gint64 idle_us, RtmfpRelayEvictFunc evict,
    gpointer ud)
{
  RtmfpRelayStream *st;

  g_return_val_if_fail (relay && app && name, NULL);

  st = stream_lookup (relay, app, name, FALSE);
  if (st && st->published && (st->released || (idle_us > 0 &&
              now - st->last_active >= idle_us))) {
    RtmfpRelayEvictFunc old = st->evict;
    gpointer old_ud = st->evict_ud;

    g_debug ("%s/%s: publisher %s for %" G_GINT64_FORMAT " ms, taken "
        "over", app, st->name, st->released ? "leaving" : "silent",
        (now - st->last_active) / 1000);
    st->evict = NULL;
    if (old)
      old (st, old_ud);
    rtmfp_relay_unpublish (relay, st);  /* may free st */
  }
  st = rtmfp_relay_publish (relay, app, name);
  if (st) {
    st->evict = evict;
    st->evict_ud = ud;
    st->last_active = now;
  }
  return st;
}

void
rtmfp_relay_stream_set_active (RtmfpRelayStream * st, gint64 now)
{
  g_return_if_fail (st != NULL);
  st->last_active = now;
}

void
rtmfp_relay_stream_release (RtmfpRelayStream * st)
{
  g_return_if_fail (st != NULL);
  st->released = TRUE;
}

void
rtmfp_relay_unpublish (RtmfpRelay * relay, RtmfpRelayStream * st)
{
  gchar *desc;
  guint i;

  g_return_if_fail (relay && st && st->relay == relay);

  st->published = FALSE;
  st->keyframe = NULL;
  st->keyframe_ud = NULL;
  stream_clear_caches (st);
  desc = g_strdup_printf ("%s is now unpublished.", st->name);
  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);
    p->need_keyframe = TRUE;
    p->overflowed = FALSE;
    p->funcs->status (p->ud, "status", RTMFP_TC_PLAY_UNPUBLISHNOTIFY, desc);
  }
  g_free (desc);
  stream_maybe_remove (st);
}

static void
push_audio (RtmfpRelayStream * st, guint32 ts, const guint8 * d, gsize len)
{
  RtmfpRelay *relay = st->relay;
  guint i;

  if (len == 0) {
    dropped (relay);
    return;
  }
  if (rtmfp_flv_audio_is_sequence_header (d, len)) {
    g_clear_pointer (&st->audio_header, g_bytes_unref);
    st->audio_header = g_bytes_new (d, len);
    for (i = 0; i < st->players->len; i++)
      player_send (g_ptr_array_index (st->players, i), RTMFP_RELAY_AUDIO,
          RTMFP_TC_MSG_AUDIO, ts, d, len, RTMFP_RELAY_RELIABLE);
    return;
  }
  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);

    if (p->starting && st->has_video) {
      HeldAudio *first = g_queue_peek_head (&p->held);

      if (!first || (gint32) (ts - first->ts) < START_AUDIO_WAIT_MS) {
        HeldAudio *h = g_new0 (HeldAudio, 1);
        h->ts = ts;
        h->payload = g_bytes_new (d, len);
        g_queue_push_tail (&p->held, h);
        continue;
      }
      g_debug ("%s: no keyframe for a starting player, audio goes on",
          st->name);
      relay->stats.messages_dropped += p->held.length;
      g_queue_clear_full (&p->held, (GDestroyNotify) held_audio_free);
      p->starting = FALSE;
    }
    if (p->funcs->queued_bytes (p->ud, RTMFP_RELAY_AUDIO) >
        relay->cfg.audio_queue_limit) {
      dropped (relay);
      continue;
    }
    player_send (p, RTMFP_RELAY_AUDIO, RTMFP_TC_MSG_AUDIO, ts, d, len,
        relay->cfg.audio_lifetime_us);
  }
}

/* A starting player got its first keyframe (at ts): held audio from ts
 * on goes out, older is dropped */
static void
player_start_audio (RtmfpRelayPlayer * p, guint32 ts)
{
  RtmfpRelay *relay = p->stream->relay;
  HeldAudio *h;

  p->starting = FALSE;
  while ((h = g_queue_pop_head (&p->held))) {
    gsize len;
    const guint8 *d = g_bytes_get_data (h->payload, &len);

    if ((gint32) (h->ts - ts) < 0)
      dropped (relay);
    else
      player_send (p, RTMFP_RELAY_AUDIO, RTMFP_TC_MSG_AUDIO, h->ts, d, len,
          relay->cfg.audio_lifetime_us);
    held_audio_free (h);
  }
}

static void
push_keyframe (RtmfpRelayStream * st, guint32 ts, const guint8 * d, gsize len)
{
  RtmfpRelay *relay = st->relay;
  guint i;

  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);
    gsize q = p->funcs->queued_bytes (p->ud, RTMFP_RELAY_VIDEO);

    /* Frames still queued are older than this keyframe: after an overflow,
     * or with a long backlog, abandon them (the decoder restarts here) */
    if (p->overflowed || q > relay->cfg.video_flush_bytes) {
      g_debug ("%s: flushing %" G_GSIZE_FORMAT " queued video bytes at a "
          "keyframe", st->name, q);
      p->funcs->flush (p->ud, RTMFP_RELAY_VIDEO);
      if (st->video_header)
        player_send_bytes (p, RTMFP_RELAY_VIDEO, RTMFP_TC_MSG_VIDEO, ts,
            st->video_header);
    }
    p->need_keyframe = FALSE;
    p->overflowed = FALSE;
    player_send (p, RTMFP_RELAY_VIDEO, RTMFP_TC_MSG_VIDEO, ts, d, len,
        relay->cfg.keyframe_lifetime_us);
    if (p->starting)
      player_start_audio (p, ts);
  }
}

static void
push_video (RtmfpRelayStream * st, guint32 ts, const guint8 * d, gsize len)
{
  RtmfpRelay *relay = st->relay;
  RtmfpFlvVideoInfo info;
  guint i;

  if (!rtmfp_flv_video_parse (d, len, &info)) {
    dropped (relay);
    return;
  }
  st->has_video = TRUE;
  if (!info.ex_header && info.codec == RTMFP_FLV_VIDEO_AVC &&
      info.avc_packet_type == RTMFP_FLV_AVC_SEQUENCE_HEADER) {
    g_clear_pointer (&st->video_header, g_bytes_unref);
    st->video_header = g_bytes_new (d, len);
    for (i = 0; i < st->players->len; i++)
      player_send (g_ptr_array_index (st->players, i), RTMFP_RELAY_VIDEO,
          RTMFP_TC_MSG_VIDEO, ts, d, len, RTMFP_RELAY_RELIABLE);
    return;
  }
  if (info.is_keyframe) {
    push_keyframe (st, ts, d, len);
    return;
  }
  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);

    if (p->need_keyframe) {
      dropped (relay);
      continue;
    }
    if (p->funcs->queued_bytes (p->ud, RTMFP_RELAY_VIDEO) >
        relay->cfg.video_queue_limit) {
      g_debug ("%s: player backlog, video paused until a keyframe", st->name);
      p->need_keyframe = TRUE;
      p->overflowed = TRUE;
      dropped (relay);
      continue;
    }
    player_send (p, RTMFP_RELAY_VIDEO, RTMFP_TC_MSG_VIDEO, ts, d, len,
        relay->cfg.video_lifetime_us);
  }
}

/* TRUE if the AMF0 value at d is the string s */
static gboolean
amf_string_is (const guint8 * d, gsize len, const gchar * s)
{
  gsize n = strlen (s);

  return len >= 3 + n && d[0] == 0x02 && ((d[1] << 8) | d[2]) == n &&
      memcmp (d + 3, s, n) == 0;
}

static void
push_data (RtmfpRelayStream * st, guint32 ts, const guint8 * d, gsize len)
{
  RtmfpRelay *relay = st->relay;
  gsize off;
  guint i;

  if (amf_string_is (d, len, "@clearDataFrame")) {
    g_clear_pointer (&st->metadata, g_bytes_unref);
    return;
  }
  /* "@setDataFrame", "onMetaData", {...}: stored and played out without
   * the "@setDataFrame" (what an RTMP server does) */
  off = rtmfp_flv_script_skip_set_data_frame (d, len);
  d += off;
  len -= off;
  if (len == 0) {
    dropped (relay);
    return;
  }
  if (rtmfp_flv_script_classify (d, len) == RTMFP_FLV_SCRIPT_ON_METADATA) {
    g_clear_pointer (&st->metadata, g_bytes_unref);
    st->metadata = g_bytes_new (d, len);
    for (i = 0; i < st->players->len; i++)
      player_send (g_ptr_array_index (st->players, i), RTMFP_RELAY_DATA,
          RTMFP_TC_MSG_DATA_AMF0, ts, d, len, RTMFP_RELAY_RELIABLE);
    return;
  }
  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);

    if (p->funcs->queued_bytes (p->ud, RTMFP_RELAY_DATA) >
        relay->cfg.video_queue_limit) {
      dropped (relay);
      continue;
    }
    player_send (p, RTMFP_RELAY_DATA, RTMFP_TC_MSG_DATA_AMF0, ts, d, len,
        relay->cfg.data_lifetime_us);
  }
}

void
rtmfp_relay_stream_push (RtmfpRelayStream * st, guint8 type, guint32 ts,
    const guint8 * payload, gsize len)
{
  RtmfpRelay *relay;

  g_return_if_fail (st != NULL && st->published);
  g_return_if_fail (payload != NULL || len == 0);

  relay = st->relay;
  relay->stats.messages_in++;
  relay->stats.bytes_in += len;
  tc_cache_clear (st);

  switch (type) {
    case RTMFP_TC_MSG_AUDIO:
      st->last_timestamp = ts;
      push_audio (st, ts, payload, len);
      break;
    case RTMFP_TC_MSG_VIDEO:
      st->last_timestamp = ts;
      push_video (st, ts, payload, len);
      break;
    case RTMFP_TC_MSG_DATA_AMF3:
      /* format selector byte, then AMF0 values (RFC 7425 5.3.3) */
      if (len < 1 || payload[0] != 0) {
        dropped (relay);
        break;
      }
      push_data (st, ts, payload + 1, len - 1);
      break;
    case RTMFP_TC_MSG_DATA_AMF0:
      push_data (st, ts, payload, len);
      break;
    default:
      g_debug ("%s: %s message not relayed", st->name,
          rtmfp_tc_message_type_get_nick (type));
      dropped (relay);
      break;
  }
  /* the payload is the caller's: the message encoded from it goes (the
   * flows keep their references) */
  tc_cache_clear (st);
}

void
rtmfp_relay_stream_discont (RtmfpRelayStream * st)
{
  guint i;

  g_return_if_fail (st != NULL);

  for (i = 0; i < st->players->len; i++) {
    RtmfpRelayPlayer *p = g_ptr_array_index (st->players, i);
    p->need_keyframe = TRUE;
  }
}

/* ------------------------------------------------------------------------ */
/* Playing */

RtmfpRelayPlayer *
rtmfp_relay_play (RtmfpRelay * relay, const gchar * app, const gchar * name,
    const RtmfpRelayPlayerFuncs * funcs, gpointer ud)
{
  RtmfpRelayStream *st;
  RtmfpRelayPlayer *p;

  g_return_val_if_fail (relay && app && name && funcs, NULL);

  st = stream_lookup (relay, app, name, TRUE);
  p = g_new0 (RtmfpRelayPlayer, 1);
  p->stream = st;
  p->funcs = funcs;
  p->ud = ud;
  p->need_keyframe = TRUE;
  p->starting = TRUE;
  g_queue_init (&p->held);
  g_ptr_array_add (st->players, p);
  if (st->published) {
    player_send_headers (p);
    tc_cache_clear (st);
  }
  return p;
}

void
rtmfp_relay_stream_set_keyframe_func (RtmfpRelayStream * st,
    RtmfpRelayKeyframeFunc func, gpointer ud)
{
  g_return_if_fail (st != NULL);
  st->keyframe = func;
  st->keyframe_ud = ud;
}

gboolean
rtmfp_relay_request_keyframe (RtmfpRelay * relay, RtmfpRelayPlayer * p,
    gint64 now)
{
  RtmfpRelayStream *st;

  g_return_val_if_fail (relay && p, FALSE);

  st = p->stream;
  if (!st->published || !st->keyframe || (st->last_keyframe_request >= 0 &&
          now - st->last_keyframe_request < KEYFRAME_REQUEST_MIN_US))
    return FALSE;
  st->last_keyframe_request = now;
  relay->stats.keyframe_requests++;
  st->keyframe (st, st->keyframe_ud);
  return TRUE;
}

void
rtmfp_relay_stop (RtmfpRelay * relay, RtmfpRelayPlayer * p)
{
  RtmfpRelayStream *st;

  g_return_if_fail (relay && p);

  st = p->stream;
  g_ptr_array_remove (st->players, p);  /* frees p */
  stream_maybe_remove (st);
}
