/* RTMFP core: the endpoint (RFC 7016 sections 2.2.2, 3.3 - 3.5.1).
 *
 * One identity, one logical socket, any number of sessions demultiplexed
 * by session ID.  This file owns everything that happens before a session
 * is S_OPEN: the stateless responder (cookies), the initiator (IHello
 * candidates and backoff, IIKeying), redirects, forwarded IHellos, glare,
 * session override, startup packet fragmentation and reassembly.  Open
 * sessions get their decrypted, parsed packets through
 * _rtmfp_session_receive (rtmfpsession.c).
 *
 * Sans-I/O: time is a parameter, datagrams go out through RtmfpSendFunc.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-endpoint"

#include <string.h>

#include "rtmfpendpoint.h"
#include "rtmfpsessionpriv.h"
#include "rtmfppacket.h"
#include "rtmfpvlu.h"

/* ---- constants ---- */

#define DEFAULT_OPEN_TIMEOUT_US   (95 * G_USEC_PER_SEC)   /* 3.5.1.1.1 */
#define DEFAULT_KEEPALIVE_US      (15 * G_USEC_PER_SEC)
#define DEFAULT_IDLE_TIMEOUT_US   (120 * G_USEC_PER_SEC)
#define DEFAULT_MAX_SESSIONS      4096

/* Handshake retransmission (3.5.1.1.1): the first retry after 1 s, then
 * each interval at least 1.5 s longer than the previous one and never
 * less than multiplicative (x1.5). */
#define HELLO_FIRST_INTERVAL_US   G_USEC_PER_SEC
#define HELLO_ADD_US              (G_USEC_PER_SEC * 3 / 2)

#define REDIRECT_THRESHOLD        24      /* 3.5.1.1.1: SHOULD NOT be > 24 */
#define MAX_CANDIDATES            64      /* user-supplied candidates */
#define TAG_SIZE                  16

/* Cookies (3.5.1.1.2): bucket(4) || A(16) || B(16).  A authenticates the
 * cookie (endpoint secret, time bucket), B binds it to the address the
 * IHello came from.  A cookie is valid in its bucket and the next one, so
 * it lives between COOKIE_BUCKET_US and twice that: >= 95 s. */
#define COOKIE_MAC_SIZE           16
#define COOKIE_SIZE               (4 + 2 * COOKIE_MAC_SIZE)
#define COOKIE_BUCKET_US          (100 * G_USEC_PER_SEC)
#define MAX_FAR_COOKIE_SIZE       1024

/* Packet fragment reassembly (3.4) */
#define REASM_TIMEOUT_US          (60 * G_USEC_PER_SEC)
#define REASM_PROGRESS_US         G_USEC_PER_SEC
#define REASM_MAX_PACKET          65536
#define REASM_MAX_FRAGMENTS       256
#define REASM_MAX_ENTRIES         256
/* accounted per buffered fragment besides its payload (GBytes, slot) */
#define REASM_FRAG_OVERHEAD       64

/* Startup rate limit (3.4): at most 4380 bytes and 4 packets per distinct
 * endpoint every 200 ms.  Tracked in a small fixed table (no growth under
 * floods; a collision only forgets a window early). */
#define RATE_WINDOW_US            (200 * 1000)
#define RATE_MAX_PACKETS          4
#define RATE_MAX_BYTES            4380
#define RATE_SLOTS                256

/* Largest datagram we try to decode.  Startup packets of other
 * implementations may exceed our own 1200-byte class. */
#define MAX_RECV_DATAGRAM         8192
#define SEND_BUFFER_SIZE          (RTMFP_MAX_STARTUP_PLAIN_SIZE + 128)

/* ---- records ---- */

typedef enum {
  OPENING_NONE = 0,
  OPENING_IHELLO,
  OPENING_KEYING,
} OpeningState;

typedef struct {
  RtmfpAddr addr;
  gint64 next_send;
  gint64 interval;
} Candidate;

/* The endpoint's view of one session: its IDs and the handshake state. */
typedef struct {
  RtmfpSession *s;              /* one reference */
  gboolean initiator;
  gboolean dead;                /* removed from the tables, awaiting free */
  gboolean established;
  guint32 near_id;              /* 0 until chosen */
  guint32 far_id;
  RtmfpAddr far_addr;           /* handshake address of the far end */
  GBytes *far_cert;             /* once known */
  guint8 far_fp[RTMFP_FINGERPRINT_SIZE];

  /* initiator, while opening */
  OpeningState opening;
  RtmfpIdentity *identity;      /* ours, as of open_session (ref'd) */
  gboolean pinned;              /* RtmfpOpenOptions.pinned_fingerprint */
  guint8 pin[RTMFP_FINGERPRINT_SIZE];
  guint8 *epd;
  gsize epd_len;
  RtmfpEpdInfo epd_info;        /* points into epd */
  guint8 tag[TAG_SIZE];
  GArray *candidates;           /* Candidate */
  gint64 open_deadline;
  RtmfpAddr dest;               /* RHello source: where IIKeying goes */
  GBytes *cookie;
  gboolean cookie_changed;
  RtmfpKeying *keying;
  GBytes *iikeying;             /* whole IIKeying chunk, for resends */
  gint64 ik_first;              /* when it was first sent; -1 once resent
                                 * (no RTT sample then, Karn) */
  gint64 ik_next;
  gint64 ik_interval;

  /* responder: to recognise and answer retransmitted IIKeyings (3.5.1.1.2) */
  GBytes *skic;
  GBytes *rikeying;             /* whole RIKeying chunk */

  /* timers: the record's earliest deadline as last computed, its place in
   * ep->timer_heap (NOT_IN_HEAP if it has none), and whether it waits in
   * ep->timer_dirty for that to be computed again */
  gint64 due;
  guint heap_pos;
  guint dirty_pos;
} SessRec;

#define NOT_IN_HEAP G_MAXUINT

typedef struct {
  RtmfpAddr from;
  guint32 sid;
  guint64 packet_id;
} ReasmKey;

typedef struct {
  RtmfpAddr addr;
  gint64 start;
  guint packets;
  gsize bytes;
} RateSlot;

typedef struct {
  ReasmKey key;                 /* first: the entry is its own key */
  guint8 mode;
  gint64 started;
  gint64 last_progress;
  gint64 final_num;             /* -1 until the last fragment is seen */
  guint n_received;
  gsize bytes;                  /* payload bytes */
  gsize cost;                   /* payload + overhead, in ep->reasm_bytes */
  gsize wire_bytes;             /* datagram bytes of its fragments */
  GPtrArray *frags;             /* GBytes or NULL, indexed by fragmentNum */
} Reasm;

struct _RtmfpEndpoint {
  RtmfpEndpointConfig cfg;
  RtmfpEndpointCallbacks cb;
  gpointer user_data;
  RtmfpSendFunc send;
  gpointer send_data;

  RtmfpIdentity *identity;
  RtmfpCipher *default_cipher;
  guint8 cookie_secret[32];

  GPtrArray *all;               /* SessRec, creation order */
  GHashTable *by_id;            /* near session ID -> SessRec */
  GHashTable *by_session;       /* RtmfpSession* -> SessRec */

  /* Timers, O(log sessions) per change instead of a scan of every session
   * per event: a binary min-heap of the live records that have a deadline,
   * keyed by SessRec.due, and the records whose deadline may have moved
   * since (marked by rec_touch, from the endpoint's own handshake code and
   * from sessions through _rtmfp_endpoint_session_timer_changed).  The
   * dirty ones are re-keyed before the heap is read. */
  SessRec **timer_heap;
  guint heap_len;
  guint heap_cap;
  GPtrArray *timer_dirty;       /* SessRec, dirty_pos = its index */

  GHashTable *reasm;            /* ReasmKey -> Reasm */
  gsize reasm_bytes;            /* sum of their cost */
  guint64 next_packet_id;

  RateSlot rate[RATE_SLOTS];

  /* Anti-amplification (max_startup_amplification): while an
   * unauthenticated startup datagram is processed, what answers to it may
   * still cost on the wire.  reply_limited FALSE: no limit applies. */
  gboolean reply_limited;
  gsize reply_budget;
  /* ... and the endpoint-wide allowance for answers beyond that factor
   * (startup_excess_bytes_per_sec): a token bucket */
  gdouble excess_tokens;
  gint64 excess_time;

  RtmfpEndpointStats stats;
  gint64 now;                   /* latest time seen */
  gint64 last_tc_sent;

  guint depth;                  /* nesting of entry points */
  GPtrArray *graveyard;         /* SessRec to free when depth drops to 0 */
  gboolean flushing;
  gboolean freeing;
};

/* ---- small helpers ---- */

static guint16
ts_of (gint64 now)
{
  /* 250 Hz clock, low 16 bits (2.2.4) */
  return (guint16) ((now / 4000) & 0xffff);
}

static GBytes *
bytes_dup (const guint8 * data, gsize len)
{
  return g_bytes_new (data, len);
}

static gboolean
bytes_equal_mem (GBytes * b, const guint8 * data, gsize len)
{
  gsize blen;
  const guint8 *bd;

  if (b == NULL)
    return FALSE;
  bd = g_bytes_get_data (b, &blen);
  return blen == len && (len == 0 || memcmp (bd, data, len) == 0);
}

static void
ep_enter (RtmfpEndpoint * ep, gint64 now)
{
  ep->depth++;
  if (now > ep->now)
    ep->now = now;
}

static void rec_free (SessRec * rec);

static void
flush_graveyard (RtmfpEndpoint * ep)
{
  if (ep->flushing)
    return;
  ep->flushing = TRUE;
  ep->depth++;
  while (ep->graveyard->len > 0) {
    SessRec *rec = g_ptr_array_steal_index (ep->graveyard,
        ep->graveyard->len - 1);
    rec_free (rec);
  }
  ep->depth--;
  ep->flushing = FALSE;
}

static void
ep_leave (RtmfpEndpoint * ep)
{
  g_assert (ep->depth > 0);
  if (--ep->depth == 0)
    flush_graveyard (ep);
}

static SessRec *
rec_new (void)
{
  SessRec *rec = g_new0 (SessRec, 1);
  rec->due = -1;
  rec->heap_pos = NOT_IN_HEAP;
  rec->dirty_pos = NOT_IN_HEAP;
  return rec;
}

/* ---- the timer heap ---- */

static inline void
heap_set (RtmfpEndpoint * ep, guint i, SessRec * rec)
{
  ep->timer_heap[i] = rec;
  rec->heap_pos = i;
}

static void
heap_sift_up (RtmfpEndpoint * ep, guint i)
{
  SessRec *rec = ep->timer_heap[i];

  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (ep->timer_heap[parent]->due <= rec->due)
      break;
    heap_set (ep, i, ep->timer_heap[parent]);
    i = parent;
  }
  heap_set (ep, i, rec);
}

static void
heap_sift_down (RtmfpEndpoint * ep, guint i)
{
  SessRec *rec = ep->timer_heap[i];

  for (;;) {
    guint c = 2 * i + 1;
    if (c >= ep->heap_len)
      break;
    if (c + 1 < ep->heap_len
        && ep->timer_heap[c + 1]->due < ep->timer_heap[c]->due)
      c++;
    if (rec->due <= ep->timer_heap[c]->due)
      break;
    heap_set (ep, i, ep->timer_heap[c]);
    i = c;
  }
  heap_set (ep, i, rec);
}

static void
heap_remove (RtmfpEndpoint * ep, SessRec * rec)
{
  guint i = rec->heap_pos;
  SessRec *last;

  if (i == NOT_IN_HEAP)
    return;
  g_assert (i < ep->heap_len && ep->timer_heap[i] == rec);
  rec->heap_pos = NOT_IN_HEAP;
  last = ep->timer_heap[--ep->heap_len];
  if (last == rec)
    return;
  heap_set (ep, i, last);
  if (i > 0 && ep->timer_heap[(i - 1) / 2]->due > last->due)
    heap_sift_up (ep, i);
  else
    heap_sift_down (ep, i);
}

/* Gives rec the deadline `due` (-1: none) and its place in the heap */
static void
heap_update (RtmfpEndpoint * ep, SessRec * rec, gint64 due)
{
  gint64 old = rec->due;

  if (due < 0) {
    heap_remove (ep, rec);
    rec->due = -1;
    return;
  }
  rec->due = due;
  if (rec->heap_pos == NOT_IN_HEAP) {
    if (ep->heap_len == ep->heap_cap) {
      ep->heap_cap = MAX (64, ep->heap_cap * 2);
      ep->timer_heap = g_renew (SessRec *, ep->timer_heap, ep->heap_cap);
    }
    heap_set (ep, ep->heap_len++, rec);
    heap_sift_up (ep, rec->heap_pos);
  } else if (due < old) {
    heap_sift_up (ep, rec->heap_pos);
  } else if (due > old) {
    heap_sift_down (ep, rec->heap_pos);
  }
}

/* rec's deadline may have moved: recompute it before the heap is read */
static void
rec_touch (RtmfpEndpoint * ep, SessRec * rec)
{
  if (rec->dead || rec->dirty_pos != NOT_IN_HEAP)
    return;
  rec->dirty_pos = ep->timer_dirty->len;
  g_ptr_array_add (ep->timer_dirty, rec);
}

static void
rec_untouch (RtmfpEndpoint * ep, SessRec * rec)
{
  guint i = rec->dirty_pos;
  guint last;

  if (i == NOT_IN_HEAP)
    return;
  rec->dirty_pos = NOT_IN_HEAP;
  last = ep->timer_dirty->len - 1;
  if (i != last) {
    SessRec *moved = g_ptr_array_index (ep->timer_dirty, last);
    ep->timer_dirty->pdata[i] = moved;
    moved->dirty_pos = i;
  }
  g_ptr_array_set_size (ep->timer_dirty, last);
}

static gint64 rec_compute_due (SessRec * rec);

/* Re-keys every record marked by rec_touch */
static void
timers_refresh (RtmfpEndpoint * ep)
{
  guint i;

  for (i = 0; i < ep->timer_dirty->len; i++) {
    SessRec *rec = g_ptr_array_index (ep->timer_dirty, i);
    rec->dirty_pos = NOT_IN_HEAP;
    if (!rec->dead)
      heap_update (ep, rec, rec_compute_due (rec));
  }
  g_ptr_array_set_size (ep->timer_dirty, 0);
}

static void
rec_clear_opening (SessRec * rec)
{
  rec->opening = OPENING_NONE;
  g_clear_pointer (&rec->keying, rtmfp_keying_free);
  g_clear_pointer (&rec->iikeying, g_bytes_unref);
  g_clear_pointer (&rec->cookie, g_bytes_unref);
  g_clear_pointer (&rec->candidates, g_array_unref);
  /* rec->epd stays: open_session reuses an open session for the very
   * EPD it was opened with (freed with the record) */
}

static void
rec_free (SessRec * rec)
{
  rec_clear_opening (rec);
  g_clear_pointer (&rec->identity, rtmfp_identity_unref);
  g_clear_pointer (&rec->epd, g_free);
  g_clear_pointer (&rec->far_cert, g_bytes_unref);
  g_clear_pointer (&rec->skic, g_bytes_unref);
  g_clear_pointer (&rec->rikeying, g_bytes_unref);
  if (rec->s)
    rtmfp_session_unref (rec->s);
  g_free (rec);
}

static void
rec_register (RtmfpEndpoint * ep, SessRec * rec)
{
  g_ptr_array_add (ep->all, rec);
  g_hash_table_insert (ep->by_session, rec->s, rec);
  if (rec->near_id)
    g_hash_table_insert (ep->by_id, GUINT_TO_POINTER (rec->near_id), rec);
  rec_touch (ep, rec);
}

/* Drops rec from every table; it is freed (and the session unref'd) once
 * the current event is over, so callers may still use rec->s. */
static void
rec_remove (RtmfpEndpoint * ep, SessRec * rec)
{
  if (rec->dead)
    return;
  rec->dead = TRUE;
  if (rec->near_id
      && g_hash_table_lookup (ep->by_id,
          GUINT_TO_POINTER (rec->near_id)) == rec)
    g_hash_table_remove (ep->by_id, GUINT_TO_POINTER (rec->near_id));
  g_hash_table_remove (ep->by_session, rec->s);
  g_ptr_array_remove (ep->all, rec);
  heap_remove (ep, rec);
  rec_untouch (ep, rec);
  g_ptr_array_add (ep->graveyard, rec);
}

/* A snapshot of the records, safe against callbacks changing the tables
 * (records are only freed at depth 0). */
static SessRec **
snapshot_records (RtmfpEndpoint * ep, guint * n)
{
  *n = ep->all->len;
  if (*n == 0)
    return NULL;
  return g_memdup2 (ep->all->pdata, sizeof (gpointer) * *n);
}

static guint32
new_session_id (RtmfpEndpoint * ep)
{
  guint32 id;

  do {
    id = rtmfp_random_u32 ();
  } while (id == 0
      || g_hash_table_contains (ep->by_id, GUINT_TO_POINTER (id)));
  return id;
}

static gboolean
rec_session_alive (SessRec * rec)
{
  RtmfpSessionState st;

  if (rec->dead)
    return FALSE;
  st = rtmfp_session_get_state (rec->s);
  return st != RTMFP_SESSION_CLOSED && st != RTMFP_SESSION_OPEN_FAILED;
}

static gboolean
rec_is_open (SessRec * rec)
{
  return !rec->dead && rec->established
      && rtmfp_session_get_state (rec->s) == RTMFP_SESSION_OPEN;
}

static gint64
next_interval (gint64 interval)
{
  return MAX (interval + HELLO_ADD_US, interval * 3 / 2);
}

/* ---- sending ---- */

void
_rtmfp_endpoint_transmit (RtmfpEndpoint * ep, RtmfpCipher * cipher,
    guint32 far_session_id, const guint8 * plain, gsize plain_len,
    const RtmfpAddr * to)
{
  guint8 out[SEND_BUFFER_SIZE];
  gsize n;

  g_return_if_fail (ep != NULL && cipher != NULL && to != NULL);

  n = rtmfp_cipher_encode (cipher, far_session_id, plain, plain_len, out,
      sizeof (out));
  if (n == 0) {
    g_warning ("cannot encode a %" G_GSIZE_FORMAT "-byte packet", plain_len);
    return;
  }
  ep->stats.datagrams_sent++;
  ep->stats.bytes_sent += n;
  if (ep->send)
    ep->send (out, n, to, ep->send_data);
}

/* Size on the wire of a plain packet under the default key (F4.7.2:
 * SSID, checksum, 0xff padding to the AES block) */
static gsize
default_dgram_size (gsize plain_len)
{
  return 4 + (2 + plain_len + RTMFP_AES_BLOCK - 1) / RTMFP_AES_BLOCK
      * RTMFP_AES_BLOCK;
}

/* 3.4 startup rate limit, per destination.  The whole packet (all its
 * fragments) is sent or none of it: handshake retransmissions recover. */
static gboolean
rate_allow (RtmfpEndpoint * ep, const RtmfpAddr * to, guint packets,
    gsize bytes)
{
  RateSlot *r = &ep->rate[rtmfp_addr_hash (to) % RATE_SLOTS];

  if (!rtmfp_addr_equal (&r->addr, to) || ep->now < r->start
      || ep->now >= r->start + RATE_WINDOW_US) {
    r->addr = *to;
    r->start = ep->now;
    r->packets = 0;
    r->bytes = 0;
  }
  if (r->packets + packets > RATE_MAX_PACKETS
      || r->bytes + bytes > RATE_MAX_BYTES)
    return FALSE;
  r->packets += packets;
  r->bytes += bytes;
  return TRUE;
}

static gsize
fragment_overhead (guint64 packet_id, guint64 num)
{
  /* outer flags + timestamp, chunk header, fragment flags, VLUs */
  return 3 + RTMFP_CHUNK_HEADER_SIZE + 1 + rtmfp_vlu_size (packet_id)
      + rtmfp_vlu_size (num);
}

/* Bytes on the wire (all datagrams) of a startup packet of `total` plain
 * bytes, fragmented as send_startup does. */
static gsize
startup_wire_size (RtmfpEndpoint * ep, gsize total, guint * n_datagrams)
{
  guint64 packet_id = ep->next_packet_id, num = 0;
  gsize off = 0, bytes = 0;

  if (total <= RTMFP_MAX_PLAIN_SIZE) {
    if (n_datagrams)
      *n_datagrams = 1;
    return default_dgram_size (total);
  }
  while (off < total) {
    gsize n = MIN (total - off,
        RTMFP_MAX_PLAIN_SIZE - fragment_overhead (packet_id, num));
    bytes += default_dgram_size (fragment_overhead (packet_id, num) + n);
    off += n;
    num++;
  }
  if (n_datagrams)
    *n_datagrams = (guint) num;
  return bytes;
}

/* An answer to an unauthenticated startup datagram (RHello, Redirect,
 * Cookie Change) costing `bytes` on the wire: may it go out?  Charges the
 * budget of the datagram being processed (max_startup_amplification). */
/* The endpoint-wide allowance for answers beyond the factor: tokens
 * (bytes) accrue at startup_excess_bytes_per_sec up to one second's
 * worth.  Takes `bytes` if there are that many. */
static gboolean
excess_take (RtmfpEndpoint * ep, gsize bytes)
{
  gdouble rate = ep->cfg.startup_excess_bytes_per_sec;

  if (rate <= 0)
    return FALSE;
  if (ep->excess_time == G_MININT64 || ep->now < ep->excess_time) {
    ep->excess_tokens = rate;   /* a full bucket to start with */
  } else {
    ep->excess_tokens = MIN (rate, ep->excess_tokens +
        rate * (ep->now - ep->excess_time) / G_USEC_PER_SEC);
  }
  ep->excess_time = ep->now;
  if ((gdouble) bytes > ep->excess_tokens)
    return FALSE;
  ep->excess_tokens -= bytes;
  return TRUE;
}

static gboolean
reply_budget_take (RtmfpEndpoint * ep, gsize bytes)
{
  if (!ep->reply_limited)
    return TRUE;
  if (bytes > ep->reply_budget) {
    /* what the factor allows is used up, the rest comes from the
     * endpoint-wide allowance */
    if (excess_take (ep, bytes - ep->reply_budget)) {
      ep->stats.replies_over_factor++;
      ep->reply_budget = 0;
      return TRUE;
    }
    ep->stats.replies_refused++;
    g_debug ("%" G_GSIZE_FORMAT "-byte answer refused: over %u x the "
        "request (%" G_GSIZE_FORMAT " bytes of budget left) and no "
        "allowance left", bytes, ep->cfg.max_startup_amplification,
        ep->reply_budget);
    return FALSE;
  }
  ep->reply_budget -= bytes;
  return TRUE;
}

/* Sets the answer budget for one unauthenticated startup request of
 * `wire_bytes` (datagrams) */
static void
reply_budget_begin (RtmfpEndpoint * ep, gsize wire_bytes)
{
  guint f = ep->cfg.max_startup_amplification;

  ep->reply_limited = f > 0;
  ep->reply_budget = f > 0 && wire_bytes <= G_MAXSIZE / f ? wire_bytes * f
      : G_MAXSIZE;
}

/* Sends a startup-mode packet (default key) made of the given chunks on
 * session ID sid.  Packets larger than RTMFP_MAX_PLAIN_SIZE are split
 * into Packet Fragment chunks (2.3.1, 3.4).  One packet is at most
 * RTMFP_MAX_STARTUP_PLAIN_SIZE, i.e. <= 4 fragments of <= 1200 bytes, so
 * a whole packet fits in one rate-limit window.  reply: an answer to the
 * unauthenticated datagram being processed (anti-amplification budget).
 * min_dgram: pad (0xff, 2.2.4) a single-datagram packet to at least this
 * size on the wire. */
static gboolean
send_startup_full (RtmfpEndpoint * ep, guint32 sid, const RtmfpAddr * to,
    const guint8 * chunks, gsize chunks_len, gboolean echo, guint16 echo_ts,
    gboolean reply, gsize min_dgram)
{
  guint8 plain[RTMFP_MAX_STARTUP_PLAIN_SIZE];
  gsize pos = 0, total;
  guint8 flags = RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS;
  guint16 ts = ts_of (ep->now);

  if (echo)
    flags |= RTMFP_PKT_FLAG_TSE;
  total = 3 + (echo ? 2 : 0) + chunks_len;
  if (total > sizeof (plain)) {
    /* e.g. an RHello echoing a huge tag: remote input, no warning */
    g_debug ("startup packet too large (%" G_GSIZE_FORMAT " bytes)", total);
    return FALSE;
  }
  if (reply && !reply_budget_take (ep, startup_wire_size (ep, total, NULL)))
    return FALSE;
  plain[pos++] = flags;
  plain[pos++] = ts >> 8;
  plain[pos++] = ts & 0xff;
  if (echo) {
    plain[pos++] = echo_ts >> 8;
    plain[pos++] = echo_ts & 0xff;
  }
  memcpy (plain + pos, chunks, chunks_len);

  /* padding: 0xff bytes after the chunks (RFC 7016 2.2.4), never enough
   * to need fragments */
  if (total <= RTMFP_MAX_PLAIN_SIZE && min_dgram > 0) {
    gsize want = MIN (min_dgram, default_dgram_size (RTMFP_MAX_PLAIN_SIZE));
    while (default_dgram_size (total) < want)
      plain[total++] = 0xff;
  }

  if (total <= RTMFP_MAX_PLAIN_SIZE) {
    if (!rate_allow (ep, to, 1, default_dgram_size (total))) {
      g_debug ("startup rate limit: packet dropped");
      return FALSE;
    }
    _rtmfp_endpoint_transmit (ep, ep->default_cipher, sid, plain, total, to);
  } else {
    guint64 packet_id = ep->next_packet_id;
    guint64 num = 0;
    gsize off = 0, bytes = 0;
    GByteArray *frag;

    /* first pass: what it costs on the wire */
    while (off < total) {
      gsize n = MIN (total - off,
          RTMFP_MAX_PLAIN_SIZE - fragment_overhead (packet_id, num));
      bytes += default_dgram_size (fragment_overhead (packet_id, num) + n);
      off += n;
      num++;
    }
    if (!rate_allow (ep, to, num, bytes)) {
      g_debug ("startup rate limit: fragmented packet dropped");
      return FALSE;
    }
    ep->next_packet_id++;
    off = 0;
    num = 0;
    frag = g_byte_array_sized_new (RTMFP_MAX_PLAIN_SIZE);
    while (off < total) {
      RtmfpFragmentChunk fc;
      gsize n = MIN (total - off,
          RTMFP_MAX_PLAIN_SIZE - fragment_overhead (packet_id, num));

      g_byte_array_set_size (frag, 0);
      rtmfp_append_u8 (frag, RTMFP_MODE_STARTUP | RTMFP_PKT_FLAG_TS);
      rtmfp_append_u16 (frag, ts);
      fc.more = off + n < total;
      fc.packet_id = packet_id;
      fc.fragment_num = num;
      fc.data = plain + off;
      fc.len = n;
      rtmfp_fragment_chunk_append (frag, &fc);
      g_assert (frag->len <= RTMFP_MAX_PLAIN_SIZE);
      _rtmfp_endpoint_transmit (ep, ep->default_cipher, sid, frag->data,
          frag->len, to);
      off += n;
      num++;
    }
    g_byte_array_unref (frag);
  }
  return TRUE;
}

static gboolean
send_startup (RtmfpEndpoint * ep, guint32 sid, const RtmfpAddr * to,
    const guint8 * chunks, gsize chunks_len, gboolean echo, guint16 echo_ts)
{
  return send_startup_full (ep, sid, to, chunks, chunks_len, echo, echo_ts,
      FALSE, 0);
}

/* An answer to the unauthenticated datagram being processed */
static gboolean
send_startup_reply (RtmfpEndpoint * ep, guint32 sid, const RtmfpAddr * to,
    GByteArray * chunks, gboolean echo, guint16 echo_ts)
{
  return send_startup_full (ep, sid, to, chunks->data, chunks->len, echo,
      echo_ts, TRUE, 0);
}

static void
send_startup_bytes (RtmfpEndpoint * ep, guint32 sid, const RtmfpAddr * to,
    GBytes * chunks, gboolean echo, guint16 echo_ts)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (chunks, &len);
  send_startup (ep, sid, to, d, len, echo, echo_ts);
}

/* ---- cookies (3.5.1.1.2) ---- */

typedef enum {
  COOKIE_BAD,
  COOKIE_OTHER_ADDRESS,
  COOKIE_OK,
} CookieCheck;

static guint32
cookie_bucket (gint64 now)
{
  gint64 b = now >= 0 ? now / COOKIE_BUCKET_US
      : -1 - ((-1 - now) / COOKIE_BUCKET_US);
  return (guint32) b;
}

static void
cookie_mac_a (RtmfpEndpoint * ep, guint32 bucket, guint8 out[32])
{
  guint8 msg[5];

  msg[0] = 'A';
  msg[1] = bucket >> 24;
  msg[2] = bucket >> 16;
  msg[3] = bucket >> 8;
  msg[4] = bucket;
  rtmfp_hmac_sha256 (ep->cookie_secret, sizeof (ep->cookie_secret), msg,
      sizeof (msg), out);
}

static void
cookie_mac_b (RtmfpEndpoint * ep, guint32 bucket, const guint8 * a,
    const RtmfpAddr * addr, guint8 out[32])
{
  guint8 msg[1 + 4 + COOKIE_MAC_SIZE + 1 + 2 + 16];
  gsize pos = 0;

  msg[pos++] = 'B';
  msg[pos++] = bucket >> 24;
  msg[pos++] = bucket >> 16;
  msg[pos++] = bucket >> 8;
  msg[pos++] = bucket;
  memcpy (msg + pos, a, COOKIE_MAC_SIZE);
  pos += COOKIE_MAC_SIZE;
  msg[pos++] = addr->family;
  msg[pos++] = addr->port >> 8;
  msg[pos++] = addr->port & 0xff;
  memcpy (msg + pos, addr->addr, addr->family == 6 ? 16 : 4);
  pos += addr->family == 6 ? 16 : 4;
  rtmfp_hmac_sha256 (ep->cookie_secret, sizeof (ep->cookie_secret), msg, pos,
      out);
}

static void
cookie_make (RtmfpEndpoint * ep, const RtmfpAddr * addr,
    guint8 out[COOKIE_SIZE])
{
  guint32 bucket = cookie_bucket (ep->now);
  guint8 mac[32];

  out[0] = bucket >> 24;
  out[1] = bucket >> 16;
  out[2] = bucket >> 8;
  out[3] = bucket;
  cookie_mac_a (ep, bucket, mac);
  memcpy (out + 4, mac, COOKIE_MAC_SIZE);
  cookie_mac_b (ep, bucket, out + 4, addr, mac);
  memcpy (out + 4 + COOKIE_MAC_SIZE, mac, COOKIE_MAC_SIZE);
}

static CookieCheck
cookie_check (RtmfpEndpoint * ep, const guint8 * cookie, gsize len,
    const RtmfpAddr * from)
{
  guint32 bucket, cur;
  guint8 mac[32];

  if (len != COOKIE_SIZE)
    return COOKIE_BAD;
  bucket = ((guint32) cookie[0] << 24) | ((guint32) cookie[1] << 16)
      | ((guint32) cookie[2] << 8) | cookie[3];
  cur = cookie_bucket (ep->now);
  if (bucket != cur && bucket != cur - 1)
    return COOKIE_BAD;          /* expired, or from the future */
  cookie_mac_a (ep, bucket, mac);
  if (!rtmfp_crypto_equal (mac, cookie + 4, COOKIE_MAC_SIZE))
    return COOKIE_BAD;
  cookie_mac_b (ep, bucket, cookie + 4, from, mac);
  if (!rtmfp_crypto_equal (mac, cookie + 4 + COOKIE_MAC_SIZE,
          COOKIE_MAC_SIZE))
    return COOKIE_OTHER_ADDRESS;
  return COOKIE_OK;
}

/* ---- responder: IHello / FIHello (3.5.1.1.2) ---- */

/* Stateless: a cookie bound to `to` and our certificate, nothing kept. */
static void
send_rhello (RtmfpEndpoint * ep, const RtmfpAddr * to, const guint8 * tag,
    gsize tag_len, gboolean echo, guint16 echo_ts)
{
  guint8 cookie[COOKIE_SIZE];
  RtmfpRHelloChunk c;
  GByteArray *out;
  gsize cert_len;

  cookie_make (ep, to, cookie);
  c.tag_echo = tag;
  c.tag_echo_len = tag_len;
  c.cookie = cookie;
  c.cookie_len = sizeof (cookie);
  c.cert = rtmfp_identity_get_certificate (ep->identity, &cert_len);
  c.cert_len = cert_len;
  out = g_byte_array_sized_new (64 + tag_len + cert_len);
  rtmfp_rhello_chunk_append (out, &c);
  /* answering an IHello (not an FIHello, which came over an open,
   * authenticated session): before the cookie round trip, so within the
   * anti-amplification budget */
  if (send_startup_reply (ep, 0, to, out, echo, echo_ts))
    ep->stats.rhellos_sent++;
  g_byte_array_unref (out);
}

static gboolean
epd_selects_us (RtmfpEndpoint * ep, const guint8 * epd, gsize epd_len,
    gboolean * malformed)
{
  RtmfpEpdInfo info;

  *malformed = FALSE;
  if (!rtmfp_epd_parse (epd, epd_len, &info)) {
    *malformed = TRUE;
    return FALSE;
  }
  return rtmfp_epd_selects (&info,
      rtmfp_identity_get_cert_info (ep->identity));
}

static void
handle_ihello (RtmfpEndpoint * ep, const guint8 * d, gsize len,
    const RtmfpAddr * from, gboolean echo, guint16 echo_ts)
{
  RtmfpIHelloChunk c;
  gboolean malformed;

  ep->stats.ihellos_received++;
  if (!rtmfp_ihello_chunk_parse (d, len, &c)) {
    ep->stats.dropped_malformed++;
    return;
  }
  if (epd_selects_us (ep, c.epd, c.epd_len, &malformed)) {
    if (!ep->cfg.accept_sessions)
      return;
    /* the user may answer it otherwise (a Redirect, 3.5.1.4) */
    if (ep->cb.ihello_ours && ep->cb.ihello_ours (ep, c.epd, c.epd_len,
            c.tag, c.tag_len, from, ep->user_data))
      return;
    send_rhello (ep, from, c.tag, c.tag_len, echo, echo_ts);
    return;
  }
  if (malformed) {
    ep->stats.dropped_malformed++;
    return;
  }
  /* Not for us: a redirector / forwarder may answer (3.5.1.4, 3.5.1.5) */
  if (ep->cb.ihello_other)
    ep->cb.ihello_other (ep, c.epd, c.epd_len, c.tag, c.tag_len, from,
        ep->user_data);
}

void
_rtmfp_endpoint_handle_fihello (RtmfpEndpoint * ep, RtmfpSession * s,
    const RtmfpFIHelloChunk * c, gint64 now)
{
  gboolean malformed;

  g_return_if_fail (ep != NULL && c != NULL);

  ep_enter (ep, now);
  ep->stats.ihellos_received++;
  if (c->reply_address.family != 4 && c->reply_address.family != 6)
    ep->stats.dropped_malformed++;
  else if (epd_selects_us (ep, c->epd, c->epd_len, &malformed)) {
    /* 3.5.1.1.2 option 1: an RHello as if the IHello came from the
     * reply address.  This is also what opens our NAT towards the
     * initiator (3.5.1.6). */
    if (ep->cfg.accept_sessions)
      send_rhello (ep, &c->reply_address, c->tag, c->tag_len, FALSE, 0);
  } else if (malformed) {
    ep->stats.dropped_malformed++;
  } else if (ep->cb.ihello_other) {
    ep->cb.ihello_other (ep, c->epd, c->epd_len, c->tag, c->tag_len,
        &c->reply_address, ep->user_data);
  }
  ep_leave (ep);
}

/* ---- initiator (3.5.1.1.1) ---- */

/* Size our IHellos are padded to: RTMFP_IHELLO_MIN_DATAGRAM_SIZE, or a
 * third of the RHello (with a 64-byte cookie) that a responder with a
 * certificate like ours would send, if larger: peers of one application
 * tend to have alike identities (e.g. static keys for the same groups). */
static gsize
ihello_min_size (RtmfpEndpoint * ep)
{
  gsize cert_len, rhello;

  rtmfp_identity_get_certificate (ep->identity, &cert_len);
  /* flags, timestamp, echo; chunk header, tag, cookie, certificate */
  rhello = 5 + RTMFP_CHUNK_HEADER_SIZE + 1 + TAG_SIZE + 1 + 64 + cert_len;
  rhello = startup_wire_size (ep, rhello, NULL);
  return MAX ((gsize) RTMFP_IHELLO_MIN_DATAGRAM_SIZE,
      (rhello + RTMFP_DEFAULT_MAX_STARTUP_AMPLIFICATION - 1)
      / RTMFP_DEFAULT_MAX_STARTUP_AMPLIFICATION);
}

static void
send_ihello (RtmfpEndpoint * ep, SessRec * rec, const RtmfpAddr * to)
{
  RtmfpIHelloChunk c;
  GByteArray *out = g_byte_array_sized_new (32 + rec->epd_len);

  c.epd = rec->epd;
  c.epd_len = rec->epd_len;
  c.tag = rec->tag;
  c.tag_len = TAG_SIZE;
  rtmfp_ihello_chunk_append (out, &c);
  /* padded, so that responders limiting amplification still answer */
  send_startup_full (ep, 0, to, out->data, out->len, FALSE, 0, FALSE,
      ihello_min_size (ep));
  g_byte_array_unref (out);
}

static gboolean
rec_add_candidate (RtmfpEndpoint * ep, SessRec * rec, const RtmfpAddr * addr,
    guint limit)
{
  Candidate cand;
  guint i;

  if (addr->family != 4 && addr->family != 6)
    return FALSE;
  for (i = 0; i < rec->candidates->len; i++) {
    if (rtmfp_addr_equal (&g_array_index (rec->candidates, Candidate,
                i).addr, addr))
      return FALSE;
  }
  if (rec->candidates->len >= limit)
    return FALSE;
  cand.addr = *addr;
  cand.next_send = ep->now + HELLO_FIRST_INTERVAL_US;
  cand.interval = HELLO_FIRST_INTERVAL_US;
  g_array_append_val (rec->candidates, cand);
  rec_touch (ep, rec);
  send_ihello (ep, rec, addr);
  return TRUE;
}

static SessRec *
find_opening_by_tag (RtmfpEndpoint * ep, const guint8 * tag, gsize tag_len)
{
  guint i;

  if (tag_len != TAG_SIZE)
    return NULL;
  for (i = 0; i < ep->all->len; i++) {
    SessRec *rec = g_ptr_array_index (ep->all, i);
    if (!rec->dead && rec->opening == OPENING_IHELLO
        && memcmp (rec->tag, tag, TAG_SIZE) == 0)
      return rec;
  }
  return NULL;
}

/* The opening session failed: out of the tables first (so callbacks see a
 * consistent endpoint), then S_OPEN_FAILED + callbacks.session_open_failed. */
static void
fail_opening (RtmfpEndpoint * ep, SessRec * rec, RtmfpSessionError code,
    const gchar * message)
{
  GError *err;
  RtmfpSession *s = rec->s;

  if (rec->dead)
    return;
  g_debug ("session %p open failed: %s", s, message);
  rec_clear_opening (rec);
  rec_remove (ep, rec);
  err = g_error_new_literal (RTMFP_SESSION_ERROR, code, message);
  _rtmfp_session_fail (s, err);
  g_error_free (err);
}

static void
build_iikeying (RtmfpEndpoint * ep, SessRec * rec)
{
  RtmfpIIKeyingChunk c;
  GByteArray *out, *sig;
  gsize cert_len, skic_len, cookie_len;

  memset (&c, 0, sizeof (c));
  c.initiator_session_id = rec->near_id;
  c.cookie = g_bytes_get_data (rec->cookie, &cookie_len);
  c.cookie_len = cookie_len;
  c.cert = rtmfp_identity_get_certificate (rec->identity, &cert_len);
  c.cert_len = cert_len;
  c.skic = rtmfp_keying_get_near_component (rec->keying, &skic_len);
  c.skic_len = skic_len;
  /* F4.3.5: we do not sign ('X') */
  sig = g_byte_array_new ();
  rtmfp_signature_append_none (sig);
  c.signature = sig->data;
  c.signature_len = sig->len;
  out = g_byte_array_sized_new (64 + cookie_len + cert_len + skic_len);
  rtmfp_iikeying_chunk_append (out, &c);
  g_clear_pointer (&rec->iikeying, g_bytes_unref);
  rec->iikeying = g_byte_array_free_to_bytes (out);
  g_byte_array_unref (sig);
}

/* A pinned session's RHello: TRUE if its certificate is the pinned one
 * and has static keys (4.3.3.5), so that keying uses one of them (4.6.1.2
 * or 4.6.1.4) and a responder without the private key cannot derive the
 * session keys; otherwise the opening session fails (nothing is sent to
 * that responder). */
static gboolean
pin_check (RtmfpEndpoint * ep, SessRec * rec, const RtmfpCertInfo * ci)
{
  gchar *got, *want, *msg = NULL;

  if (!rtmfp_crypto_equal (ci->fingerprint, rec->pin,
          RTMFP_FINGERPRINT_SIZE)) {
    got = rtmfp_fingerprint_to_hex (ci->fingerprint);
    want = rtmfp_fingerprint_to_hex (rec->pin);
    msg = g_strdup_printf ("the responder's fingerprint %s is not the "
        "pinned %s", got, want);
    g_free (got);
    g_free (want);
  } else if (ci->n_static_keys == 0) {
    msg = g_strdup ("the pinned responder has no static Diffie-Hellman key "
        "(RFC 7425 4.3.3.5): an ephemeral certificate can be replayed by "
        "anyone, so it proves nothing");
  }
  if (msg == NULL)
    return TRUE;
  fail_opening (ep, rec, RTMFP_SESSION_ERROR_IDENTITY, msg);
  g_free (msg);
  return FALSE;
}

static void
handle_rhello (RtmfpEndpoint * ep, const guint8 * d, gsize len,
    const RtmfpAddr * from)
{
  RtmfpRHelloChunk c;
  RtmfpCertInfo ci;
  SessRec *rec;
  GError *err = NULL;
  guint i;

  if (!rtmfp_rhello_chunk_parse (d, len, &c)) {
    ep->stats.dropped_malformed++;
    return;
  }
  rec = find_opening_by_tag (ep, c.tag_echo, c.tag_echo_len);
  if (rec == NULL) {
    /* late (first RHello won already) or not ours */
    g_debug ("RHello with unknown tag ignored");
    return;
  }
  if (!rec_session_alive (rec)) {
    rec_remove (ep, rec);
    return;
  }
  if (c.cookie_len > MAX_FAR_COOKIE_SIZE
      || !rtmfp_cert_parse (c.cert, c.cert_len, &ci)) {
    ep->stats.dropped_malformed++;
    return;
  }
  if (!rtmfp_epd_selects (&rec->epd_info, &ci)) {
    g_debug ("RHello certificate not selected by our EPD, ignored");
    return;
  }

  /* Step 1: a duplicate of a session in S_KEYING_SENT or S_OPEN with the
   * same canonical EPD (fingerprint) is aborted. */
  for (i = 0; i < ep->all->len; i++) {
    SessRec *o = g_ptr_array_index (ep->all, i);
    if (o == rec || o->dead || o->far_cert == NULL)
      continue;
    if (o->opening != OPENING_KEYING && !rec_is_open (o))
      continue;
    if (memcmp (o->far_fp, ci.fingerprint, RTMFP_FINGERPRINT_SIZE) == 0) {
      fail_opening (ep, rec, RTMFP_SESSION_ERROR_DUPLICATE,
          "duplicate of an existing session to the same endpoint");
      return;
    }
  }

  /* Pinning (RtmfpOpenOptions): the very identity, and one that can only
   * finish keying with its private key */
  if (rec->pinned && !pin_check (ep, rec, &ci))
    return;

  /* Step 2 */
  rec->keying = rtmfp_keying_new_initiator (rec->identity, c.cert,
      c.cert_len, &ep->cfg.crypto, &err);
  if (rec->keying == NULL) {
    gchar *msg = g_strdup_printf ("keying: %s", err ? err->message : "?");
    g_clear_error (&err);
    fail_opening (ep, rec, RTMFP_SESSION_ERROR_KEYING, msg);
    g_free (msg);
    return;
  }
  rec->far_cert = bytes_dup (c.cert, c.cert_len);
  memcpy (rec->far_fp, ci.fingerprint, RTMFP_FINGERPRINT_SIZE);
  rec->cookie = bytes_dup (c.cookie, c.cookie_len);
  rec->dest = *from;
  rec->near_id = new_session_id (ep);
  g_hash_table_insert (ep->by_id, GUINT_TO_POINTER (rec->near_id), rec);
  rec->opening = OPENING_KEYING;
  g_clear_pointer (&rec->candidates, g_array_unref);
  build_iikeying (ep, rec);
  send_startup_bytes (ep, 0, &rec->dest, rec->iikeying, FALSE, 0);
  rec->ik_first = ep->now;
  rec->ik_interval = HELLO_FIRST_INTERVAL_US;
  rec->ik_next = ep->now + rec->ik_interval;
  rec_touch (ep, rec);
  _rtmfp_session_set_opening_state (rec->s, RTMFP_SESSION_KEYING_SENT);
}

static void
handle_redirect (RtmfpEndpoint * ep, const guint8 * d, gsize len,
    const RtmfpAddr * from)
{
  RtmfpRedirectChunk c;
  SessRec *rec;
  guint i;

  if (!rtmfp_redirect_chunk_parse (d, len, &c)) {
    ep->stats.dropped_malformed++;
    return;
  }
  rec = find_opening_by_tag (ep, c.tag_echo, c.tag_echo_len);
  if (rec == NULL)
    return;
  if (c.n_addrs == 0) {
    /* Implied Redirect: the packet source (2.3.5) */
    rec_add_candidate (ep, rec, from, REDIRECT_THRESHOLD);
    return;
  }
  for (i = 0; i < c.n_addrs && !rec->dead && rec->candidates; i++)
    rec_add_candidate (ep, rec, &c.addrs[i], REDIRECT_THRESHOLD);
}

static void
handle_cookie_change (RtmfpEndpoint * ep, SessRec * rec, const guint8 * d,
    gsize len)
{
  RtmfpCookieChangeChunk c;

  if (!rtmfp_cookie_change_chunk_parse (d, len, &c)) {
    ep->stats.dropped_malformed++;
    return;
  }
  /* 3.5.1.2: only in S_KEYING_SENT, old cookie must match, at most once */
  if (rec->opening != OPENING_KEYING || rec->cookie_changed)
    return;
  if (!bytes_equal_mem (rec->cookie, c.old_cookie, c.old_cookie_len)
      || c.new_cookie_len == 0 || c.new_cookie_len > MAX_FAR_COOKIE_SIZE)
    return;
  g_debug ("cookie change: resending IIKeying");
  rec->cookie_changed = TRUE;
  g_bytes_unref (rec->cookie);
  rec->cookie = bytes_dup (c.new_cookie, c.new_cookie_len);
  build_iikeying (ep, rec);
  send_startup_bytes (ep, 0, &rec->dest, rec->iikeying, FALSE, 0);
  rec->ik_first = ep->now;
  rec->ik_interval = HELLO_FIRST_INTERVAL_US;
  rec->ik_next = ep->now + rec->ik_interval;
  rec_touch (ep, rec);
}

static void
handle_rikeying (RtmfpEndpoint * ep, SessRec * rec, const guint8 * d,
    gsize len, const RtmfpAddr * from)
{
  RtmfpRIKeyingChunk c;
  RtmfpSessionKeys keys;
  RtmfpCipher *cipher;
  GError *err = NULL;
  GBytes *far_cert;
  const guint8 *cert;
  gsize cert_len;

  if (rec->opening != OPENING_KEYING)
    return;
  if (!rtmfp_rikeying_chunk_parse (d, len, &c)
      || c.responder_session_id == 0) {
    ep->stats.dropped_malformed++;
    return;
  }
  if (!rtmfp_keying_set_far_component (rec->keying, c.skrc, c.skrc_len,
          &err)) {
    gchar *msg = g_strdup_printf ("keying: %s", err ? err->message : "?");
    g_clear_error (&err);
    fail_opening (ep, rec, RTMFP_SESSION_ERROR_KEYING, msg);
    g_free (msg);
    return;
  }
  if (!rtmfp_keying_get_keys (rec->keying, &keys)) {
    fail_opening (ep, rec, RTMFP_SESSION_ERROR_KEYING,
        "keying: no session keys");
    return;
  }
  cipher = rtmfp_cipher_new (&keys);
  _rtmfp_session_set_nonces (rec->s, keys.near_nonce, keys.far_nonce);
  memset (&keys, 0, sizeof (keys));

  rec_clear_opening (rec);
  rec->established = TRUE;
  rec_touch (ep, rec);
  rec->far_id = c.responder_session_id;
  rec->far_addr = *from;
  ep->stats.sessions_opened++;
  far_cert = g_bytes_ref (rec->far_cert);
  cert = g_bytes_get_data (far_cert, &cert_len);
  g_debug ("session %p open (initiator), near %08x far %08x", rec->s,
      rec->near_id, rec->far_id);
  if (rec->ik_first >= 0)
    _rtmfp_session_set_handshake_rtt (rec->s, ep->now - rec->ik_first,
        ep->now);
  _rtmfp_session_established (rec->s, rec->near_id, rec->far_id, from,
      cipher, cert, cert_len, ep->now);
  g_bytes_unref (far_cert);
}

/* ---- responder: IIKeying (3.5.1.1.2, 3.5.1.2, 3.5.1.3) ---- */

static void
send_cookie_change (RtmfpEndpoint * ep, guint32 isid, const RtmfpAddr * to,
    const guint8 * old_cookie, gsize old_len, gboolean echo, guint16 echo_ts)
{
  guint8 cookie[COOKIE_SIZE];
  RtmfpCookieChangeChunk c;
  GByteArray *out = g_byte_array_sized_new (128);

  cookie_make (ep, to, cookie);
  c.old_cookie = old_cookie;
  c.old_cookie_len = old_len;
  c.new_cookie = cookie;
  c.new_cookie_len = sizeof (cookie);
  rtmfp_cookie_change_chunk_append (out, &c);
  send_startup_reply (ep, isid, to, out, echo, echo_ts);
  g_byte_array_unref (out);
}

static gboolean
rec_has_cert (SessRec * rec, const guint8 * cert, gsize cert_len)
{
  gsize len;
  const guint8 *d;

  if (rec->far_cert == NULL)
    return FALSE;
  d = g_bytes_get_data (rec->far_cert, &len);
  return rtmfp_cert_overrides (d, len, cert, cert_len);
}

static void
handle_iikeying (RtmfpEndpoint * ep, const guint8 * d, gsize len,
    const RtmfpAddr * from, gboolean echo, guint16 echo_ts)
{
  RtmfpIIKeyingChunk c;
  RtmfpCertInfo ci;
  RtmfpKeying *k;
  RtmfpSessionKeys keys;
  RtmfpRIKeyingChunk rc;
  GByteArray *out, *sig;
  GError *err = NULL;
  const guint8 *near_cert, *skrc;
  gsize near_cert_len, skrc_len;
  GPtrArray *losers = NULL;
  SessRec *stale = NULL, *rec;
  GBytes *cert_copy;
  guint32 rsid;
  guint i;

  if (!ep->cfg.accept_sessions)
    return;
  if (!rtmfp_iikeying_chunk_parse (d, len, &c)
      || c.initiator_session_id == 0) {
    ep->stats.dropped_malformed++;
    return;
  }
  switch (cookie_check (ep, c.cookie, c.cookie_len, from)) {
    case COOKIE_BAD:
      g_debug ("IIKeying with a bad or expired cookie ignored");
      ep->stats.cookies_rejected++;
      return;
    case COOKIE_OTHER_ADDRESS:
      /* 3.5.1.2 */
      g_debug ("IIKeying cookie for another address: Cookie Change");
      ep->stats.cookies_rejected++;
      send_cookie_change (ep, c.initiator_session_id, from, c.cookie,
          c.cookie_len, echo, echo_ts);
      return;
    case COOKIE_OK:
      break;
  }
  if (!rtmfp_cert_parse (c.cert, c.cert_len, &ci)) {
    ep->stats.dropped_malformed++;
    return;
  }
  near_cert = rtmfp_identity_get_certificate (ep->identity, &near_cert_len);

  /* 2.1: a retransmission of the IIKeying of one of our S_OPEN responder
   * sessions: resend its RIKeying (pitfall 3). */
  for (i = 0; i < ep->all->len; i++) {
    rec = g_ptr_array_index (ep->all, i);
    if (rec->dead || !rec->established || rec->initiator
        || rec->rikeying == NULL)
      continue;
    if (rec->far_id == c.initiator_session_id
        && rtmfp_addr_equal (&rec->far_addr, from)
        && rec_has_cert (rec, c.cert, c.cert_len)
        && bytes_equal_mem (rec->skic, c.skic, c.skic_len)) {
      g_debug ("retransmitted IIKeying: resending RIKeying");
      send_startup_bytes (ep, rec->far_id, from, rec->rikeying, echo,
          echo_ts);
      return;
    }
  }

  /* 1. Glare (3.5.1.3) with one of our opening sessions to this peer */
  for (i = 0; i < ep->all->len; i++) {
    rec = g_ptr_array_index (ep->all, i);
    if (rec->dead || rec->opening == OPENING_NONE)
      continue;
    if (!rtmfp_epd_selects (&rec->epd_info, &ci)
        && !(rec->opening == OPENING_KEYING
            && rtmfp_addr_equal (&rec->dest, from)))
      continue;
    if (rtmfp_cert_compare (near_cert, near_cert_len, c.cert,
            c.cert_len) <= 0) {
      /* F4.3.6: we prevail; the far end aborts on our IIKeying */
      g_debug ("glare: near end prevails, IIKeying ignored");
      if (losers)
        g_ptr_array_unref (losers);
      return;
    }
    if (rec_has_cert (rec, c.cert, c.cert_len)) {
      if (!losers)
        losers = g_ptr_array_new ();
      g_ptr_array_add (losers, rec);
    }
  }

  /* 2. An S_OPEN session with this far end (same address, or the
   * byte-identical certificate, F4.3.7) */
  for (i = 0; i < ep->all->len; i++) {
    const RtmfpAddr *fa;
    rec = g_ptr_array_index (ep->all, i);
    if (!rec_is_open (rec))
      continue;
    /* DESTADDR now (it follows the far end's mobility) */
    fa = rtmfp_session_get_far_address (rec->s);
    if (fa == NULL)
      fa = &rec->far_addr;
    if (!rtmfp_addr_equal (fa, from)
        && !rec_has_cert (rec, c.cert, c.cert_len))
      continue;
    if (!rec_has_cert (rec, c.cert, c.cert_len)) {
      g_debug ("IIKeying from the address of an open session ignored");
      if (losers)
        g_ptr_array_unref (losers);
      return;
    }
    stale = rec;                /* 2.3: overridden, closed below */
    break;
  }

  /* Local policy */
  cert_copy = bytes_dup (c.cert, c.cert_len);
  if (ep->cfg.max_sessions > 0
      && g_hash_table_size (ep->by_session) - (stale ? 1 : 0)
      >= ep->cfg.max_sessions) {
    g_debug ("session refused: max-sessions reached");
    ep->stats.sessions_refused++;
    goto out;
  }
  if (ep->cb.accept_session) {
    gsize l;
    const guint8 *cd = g_bytes_get_data (cert_copy, &l);
    if (!ep->cb.accept_session (ep, cd, l, from, ep->user_data)) {
      ep->stats.sessions_refused++;
      goto out;
    }
  }

  /* 3. Keying */
  k = rtmfp_keying_new_responder (ep->identity, c.cert, c.cert_len, c.skic,
      c.skic_len, &ep->cfg.crypto, &err);
  if (k == NULL || !rtmfp_keying_get_keys (k, &keys)) {
    g_debug ("IIKeying refused: %s", err ? err->message : "no keys");
    g_clear_error (&err);
    g_clear_pointer (&k, rtmfp_keying_free);
    ep->stats.sessions_refused++;
    goto out;
  }

  /* Now that the new session is going ahead, drop what it replaces */
  if (losers) {
    for (i = 0; i < losers->len; i++)
      fail_opening (ep, g_ptr_array_index (losers, i),
          RTMFP_SESSION_ERROR_DUPLICATE, "glare: the far end prevailed");
  }
  if (stale && !stale->dead) {
    RtmfpSession *ss = rtmfp_session_ref (stale->s);
    g_debug ("session %p overridden by a new session from the same "
        "certificate", ss);
    rtmfp_session_abort (ss, ep->now);
    if (!stale->dead)
      _rtmfp_endpoint_session_closed (ep, ss);
    rtmfp_session_unref (ss);
  }

  rsid = new_session_id (ep);
  skrc = rtmfp_keying_get_near_component (k, &skrc_len);
  memset (&rc, 0, sizeof (rc));
  rc.responder_session_id = rsid;
  rc.skrc = skrc;
  rc.skrc_len = skrc_len;
  sig = g_byte_array_new ();
  rtmfp_signature_append_none (sig);
  rc.signature = sig->data;
  rc.signature_len = sig->len;
  out = g_byte_array_sized_new (32 + skrc_len);
  rtmfp_rikeying_chunk_append (out, &rc);
  g_byte_array_unref (sig);

  rec = rec_new ();
  rec->initiator = FALSE;
  rec->near_id = rsid;
  rec->far_id = c.initiator_session_id;
  rec->far_addr = *from;
  rec->far_cert = g_bytes_ref (cert_copy);
  memcpy (rec->far_fp, ci.fingerprint, RTMFP_FINGERPRINT_SIZE);
  rec->skic = bytes_dup (c.skic, c.skic_len);
  rec->rikeying = g_byte_array_free_to_bytes (out);
  rec->s = _rtmfp_session_new (ep, FALSE, ep->now);
  rec_register (ep, rec);

  /* The RIKeying goes to the initiator's ISID under the default key */
  send_startup_bytes (ep, rec->far_id, from, rec->rikeying, echo, echo_ts);

  rec->established = TRUE;
  rec_touch (ep, rec);
  ep->stats.sessions_opened++;
  g_debug ("session %p open (responder), near %08x far %08x", rec->s,
      rec->near_id, rec->far_id);
  {
    gsize l;
    const guint8 *cd = g_bytes_get_data (cert_copy, &l);
    _rtmfp_session_set_nonces (rec->s, keys.near_nonce, keys.far_nonce);
    _rtmfp_session_established (rec->s, rsid, rec->far_id, from,
        rtmfp_cipher_new (&keys), cd, l, ep->now);
  }
  memset (&keys, 0, sizeof (keys));
  rtmfp_keying_free (k);

out:
  g_bytes_unref (cert_copy);
  if (losers)
    g_ptr_array_unref (losers);
}

/* ---- fragments (3.4) ---- */

static guint
reasm_key_hash (gconstpointer p)
{
  const ReasmKey *k = p;
  return rtmfp_addr_hash (&k->from) ^ (k->sid * 2654435761u)
      ^ (guint) (k->packet_id * 40503u) ^ (guint) (k->packet_id >> 32);
}

static gboolean
reasm_key_equal (gconstpointer a, gconstpointer b)
{
  const ReasmKey *x = a, *y = b;
  return x->sid == y->sid && x->packet_id == y->packet_id
      && rtmfp_addr_equal (&x->from, &y->from);
}

static void
reasm_free (gpointer p)
{
  Reasm *r = p;
  g_ptr_array_unref (r->frags);
  g_free (r);
}

static void
reasm_remove (RtmfpEndpoint * ep, Reasm * r)
{
  ep->reasm_bytes -= r->cost;
  g_hash_table_remove (ep->reasm, &r->key);
}

static gint64
reasm_expiry (const Reasm * r)
{
  return MIN (r->started + REASM_TIMEOUT_US,
      r->last_progress + REASM_PROGRESS_US);
}

/* Evicts the reassembly that made progress the longest ago */
static gboolean
reasm_evict_one (RtmfpEndpoint * ep, Reasm * keep)
{
  GHashTableIter it;
  gpointer v;
  Reasm *oldest = NULL;

  g_hash_table_iter_init (&it, ep->reasm);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Reasm *r = v;
    if (r == keep)
      continue;
    if (!oldest || r->last_progress < oldest->last_progress)
      oldest = r;
  }
  if (!oldest)
    return FALSE;
  ep->stats.reassembly_evictions++;
  reasm_remove (ep, oldest);
  return TRUE;
}

/* Largest reassembled packet */
static gsize
reasm_max_packet (RtmfpEndpoint * ep)
{
  return MIN (REASM_MAX_PACKET, ep->cfg.max_reassembly_bytes);
}

static void process_startup (RtmfpEndpoint * ep, const RtmfpPacket * p,
    guint32 sid, const RtmfpAddr * from, gboolean allow_fragments,
    gsize wire_len);

/* wire_len: bytes of the datagram that carried this fragment (0 if it was
 * accounted for already by another fragment of the same datagram) */
static void
handle_fragment (RtmfpEndpoint * ep, const guint8 * d, gsize len,
    guint32 sid, guint8 mode, const RtmfpAddr * from, gsize wire_len)
{
  RtmfpFragmentChunk fc;
  ReasmKey key;
  Reasm *r;
  GByteArray *whole;
  RtmfpPacket p;
  gsize cost, max_total = ep->cfg.max_reassembly_bytes;
  guint i;

  if (!rtmfp_fragment_chunk_parse (d, len, &fc) || fc.len == 0
      || fc.fragment_num >= REASM_MAX_FRAGMENTS
      || fc.len > reasm_max_packet (ep)) {
    ep->stats.dropped_malformed++;
    return;
  }
  memset (&key, 0, sizeof (key));
  key.from = *from;
  key.from.origin = 0;
  key.sid = sid;
  key.packet_id = fc.packet_id;
  r = g_hash_table_lookup (ep->reasm, &key);
  if (r == NULL) {
    while (g_hash_table_size (ep->reasm) >= REASM_MAX_ENTRIES
        && reasm_evict_one (ep, NULL));
    r = g_new0 (Reasm, 1);
    r->key = key;
    r->mode = mode;
    r->started = ep->now;
    r->last_progress = ep->now;
    r->final_num = -1;
    r->frags = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    g_hash_table_insert (ep->reasm, &r->key, r);
  } else if (r->mode != mode) {
    /* 3.4: the mode of every fragment must match the first one's */
    ep->stats.dropped_malformed++;
    return;
  }

  if (fc.fragment_num < r->frags->len
      && g_ptr_array_index (r->frags, fc.fragment_num) != NULL)
    return;                     /* duplicate */
  if (!fc.more) {
    if ((r->final_num >= 0 && (guint64) r->final_num != fc.fragment_num)
        || fc.fragment_num + 1 < r->frags->len) {
      /* inconsistent: give up on this packet */
      ep->stats.dropped_malformed++;
      reasm_remove (ep, r);
      return;
    }
    r->final_num = fc.fragment_num;
  } else if (r->final_num >= 0 && fc.fragment_num >= (guint64) r->final_num) {
    ep->stats.dropped_malformed++;
    reasm_remove (ep, r);
    return;
  }
  if (r->bytes + fc.len > reasm_max_packet (ep)) {
    ep->stats.dropped_malformed++;
    reasm_remove (ep, r);
    return;
  }
  /* max_reassembly_bytes bounds payload and bookkeeping alike */
  cost = fc.len + REASM_FRAG_OVERHEAD;
  while (ep->reasm_bytes + cost > max_total && reasm_evict_one (ep, r));
  if (ep->reasm_bytes + cost > max_total) {
    ep->stats.reassembly_evictions++;
    reasm_remove (ep, r);
    return;
  }

  if (fc.fragment_num >= r->frags->len)
    g_ptr_array_set_size (r->frags, fc.fragment_num + 1);
  g_ptr_array_index (r->frags, fc.fragment_num) = bytes_dup (fc.data, fc.len);
  r->n_received++;
  r->bytes += fc.len;
  r->cost += cost;
  r->wire_bytes += wire_len;
  ep->reasm_bytes += cost;
  r->last_progress = ep->now;

  if (r->final_num < 0 || r->n_received != (guint) r->final_num + 1)
    return;

  /* complete */
  whole = g_byte_array_sized_new (r->bytes);
  for (i = 0; i < r->frags->len; i++) {
    gsize l;
    const guint8 *fd = g_bytes_get_data (g_ptr_array_index (r->frags, i), &l);
    g_byte_array_append (whole, fd, l);
  }
  wire_len = r->wire_bytes;
  reasm_remove (ep, r);
  if (!rtmfp_packet_parse (whole->data, whole->len, &p)
      || rtmfp_packet_mode (&p) != mode) {
    ep->stats.dropped_malformed++;
  } else if (ep->reply_limited) {
    /* answers to the whole packet may cost what its datagrams allow; the
     * datagram that completed it is one of them, so its own remaining
     * budget cannot exceed what is left of the packet's */
    gsize outer = ep->reply_budget;
    reply_budget_begin (ep, wire_len);
    process_startup (ep, &p, sid, from, FALSE, 0);
    ep->reply_budget = MIN (outer, ep->reply_budget);
    ep->reply_limited = TRUE;
  } else {
    process_startup (ep, &p, sid, from, FALSE, 0);
  }
  g_byte_array_unref (whole);
}

/* ---- receive path ---- */

/* A startup-mode packet (default key): on session ID 0, or on the ISID of
 * one of our sessions in S_KEYING_SENT.  Chunks that do not belong there
 * are ignored (2.2.4). */
static void
process_startup (RtmfpEndpoint * ep, const RtmfpPacket * p, guint32 sid,
    const RtmfpAddr * from, gboolean allow_fragments, gsize wire_len)
{
  RtmfpChunkIter it;
  RtmfpChunk ch;
  gboolean echo = (p->flags & RTMFP_PKT_FLAG_TS) != 0;
  guint16 echo_ts = p->timestamp;

  rtmfp_chunk_iter_init (&it, p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    if (sid == 0) {
      switch (ch.type) {
        case RTMFP_CHUNK_IHELLO:
          handle_ihello (ep, ch.data, ch.len, from, echo, echo_ts);
          break;
        case RTMFP_CHUNK_RHELLO:
          handle_rhello (ep, ch.data, ch.len, from);
          break;
        case RTMFP_CHUNK_REDIRECT:
          handle_redirect (ep, ch.data, ch.len, from);
          break;
        case RTMFP_CHUNK_IIKEYING:
          handle_iikeying (ep, ch.data, ch.len, from, echo, echo_ts);
          break;
        case RTMFP_CHUNK_FRAGMENT:
          if (allow_fragments) {
            handle_fragment (ep, ch.data, ch.len, sid,
                rtmfp_packet_mode (p), from, wire_len);
            wire_len = 0;
          }
          break;
        default:
          g_debug ("chunk 0x%02x ignored in a startup packet", ch.type);
          break;
      }
    } else {
      SessRec *rec = g_hash_table_lookup (ep->by_id, GUINT_TO_POINTER (sid));
      if (rec == NULL || rec->dead || rec->opening != OPENING_KEYING)
        return;
      switch (ch.type) {
        case RTMFP_CHUNK_RIKEYING:
          handle_rikeying (ep, rec, ch.data, ch.len, from);
          break;
        case RTMFP_CHUNK_COOKIE_CHANGE:
          handle_cookie_change (ep, rec, ch.data, ch.len);
          break;
        case RTMFP_CHUNK_FRAGMENT:
          if (allow_fragments) {
            handle_fragment (ep, ch.data, ch.len, sid,
                rtmfp_packet_mode (p), from, wire_len);
            wire_len = 0;
          }
          break;
        default:
          g_debug ("chunk 0x%02x ignored on an opening session", ch.type);
          break;
      }
    }
  }
}

void
rtmfp_endpoint_receive (RtmfpEndpoint * ep, const guint8 * data, gsize len,
    const RtmfpAddr * from, gint64 now)
{
  guint8 plain[MAX_RECV_DATAGRAM];
  gsize plain_len = 0;
  RtmfpPacket p;
  guint32 sid;
  SessRec *rec;
  gboolean saved_limited;
  gsize saved_budget;

  g_return_if_fail (ep != NULL && (data != NULL || len == 0)
      && from != NULL);

  ep_enter (ep, now);
  /* (re-entrancy: a nested datagram has its own answer budget) */
  saved_limited = ep->reply_limited;
  saved_budget = ep->reply_budget;
  ep->reply_limited = FALSE;
  ep->stats.datagrams_received++;
  ep->stats.bytes_received += len;

  if (len < 4 + RTMFP_AES_BLOCK || len > sizeof (plain)) {
    ep->stats.dropped_undecodable++;
    goto done;
  }
  sid = rtmfp_session_id_unscramble (data, len);

  if (sid == 0) {
    if (!rtmfp_cipher_decode (ep->default_cipher, data, len, plain,
            &plain_len)) {
      ep->stats.dropped_undecodable++;
      goto done;
    }
    if (!rtmfp_packet_parse (plain, plain_len, &p)
        || rtmfp_packet_mode (&p) != RTMFP_MODE_STARTUP) {
      ep->stats.dropped_malformed++;
      goto done;
    }
    /* unauthenticated: whatever answers it costs at most
     * max_startup_amplification times this datagram */
    reply_budget_begin (ep, len);
    process_startup (ep, &p, 0, from, TRUE, len);
    goto done;
  }

  rec = g_hash_table_lookup (ep->by_id, GUINT_TO_POINTER (sid));
  if (rec == NULL || rec->dead) {
    ep->stats.dropped_unknown_session++;
    goto done;
  }

  if (rec->opening == OPENING_KEYING) {
    /* RIKeying and Cookie Change come on our ISID under the default key
     * (pitfall 2) */
    if (!rtmfp_cipher_decode (ep->default_cipher, data, len, plain,
            &plain_len)) {
      ep->stats.dropped_undecodable++;
      goto done;
    }
    if (!rtmfp_packet_parse (plain, plain_len, &p)
        || rtmfp_packet_mode (&p) != RTMFP_MODE_STARTUP) {
      ep->stats.dropped_malformed++;
      goto done;
    }
    process_startup (ep, &p, sid, from, TRUE, len);
    goto done;
  }

  if (!rec->established) {
    ep->stats.dropped_unknown_session++;
    goto done;
  }

  {
    RtmfpCipher *cipher = _rtmfp_session_get_cipher (rec->s);
    RtmfpPacketMode far_mark = rec->initiator ? RTMFP_MODE_RESPONDER
        : RTMFP_MODE_INITIATOR;
    RtmfpDecodeStatus status = RTMFP_DECODE_BAD_LENGTH;

    if (cipher)
      status = rtmfp_cipher_decode_full (cipher, data, len, plain,
          &plain_len);
    if (status == RTMFP_DECODE_REPLAY) {
      /* 4.7.3.3: authentic, but seen already (or too old) */
      g_debug ("replayed datagram on session %08x dropped", sid);
      ep->stats.dropped_replay++;
      goto done;
    }
    if (status != RTMFP_DECODE_OK) {
      /* A late RIKeying / Cookie Change (default key) for a session we
       * opened already is harmless: ignore it without counting. */
      if (rec->initiator
          && rtmfp_cipher_decode (ep->default_cipher, data, len, plain,
              &plain_len)
          && rtmfp_packet_parse (plain, plain_len, &p)
          && rtmfp_packet_mode (&p) == RTMFP_MODE_STARTUP) {
        g_debug ("late startup packet on open session %08x ignored", sid);
        goto done;
      }
      ep->stats.dropped_undecodable++;
      goto done;
    }
    if (!rtmfp_packet_parse (plain, plain_len, &p)
        || rtmfp_packet_mode (&p) != far_mark) {
      /* includes our own mark (2.2.4: ignore) */
      ep->stats.dropped_malformed++;
      goto done;
    }
    _rtmfp_session_receive (rec->s, &p, from, len, now);
  }

done:
  ep->reply_limited = saved_limited;
  ep->reply_budget = saved_budget;
  ep_leave (ep);
}

/* ---- timers ---- */

static void
time_min (gint64 * t, gint64 v)
{
  if (v >= 0 && (*t < 0 || v < *t))
    *t = v;
}

/* The earliest deadline of one record: its handshake's while opening
 * (open timeout, IHello or IIKeying resends), its session's once open.
 * -1: none. */
static gint64
rec_compute_due (SessRec * rec)
{
  gint64 t = -1;
  guint j;

  if (rec->dead)
    return -1;
  if (rec->opening != OPENING_NONE) {
    time_min (&t, rec->open_deadline);
    if (rec->opening == OPENING_IHELLO && rec->candidates) {
      for (j = 0; j < rec->candidates->len; j++)
        time_min (&t, g_array_index (rec->candidates, Candidate,
                j).next_send);
    } else if (rec->opening == OPENING_KEYING) {
      time_min (&t, rec->ik_next);
    }
  } else if (rec->established) {
    time_min (&t, _rtmfp_session_next_timeout (rec->s));
  }
  return t;
}

void
_rtmfp_endpoint_session_timer_changed (RtmfpEndpoint * ep, RtmfpSession * s)
{
  SessRec *rec;

  if (ep == NULL || ep->freeing)
    return;
  rec = g_hash_table_lookup (ep->by_session, s);
  if (rec)
    rec_touch (ep, rec);
}

gint64
rtmfp_endpoint_next_timeout (RtmfpEndpoint * ep)
{
  gint64 t = -1;
  GHashTableIter it;
  gpointer v;

  g_return_val_if_fail (ep != NULL, -1);

  if (ep->depth == 0)
    flush_graveyard (ep);

  timers_refresh (ep);
  if (ep->heap_len > 0)
    t = ep->timer_heap[0]->due;
  /* reassemblies are few: bounded by max_reassembly_bytes */
  g_hash_table_iter_init (&it, ep->reasm);
  while (g_hash_table_iter_next (&it, NULL, &v))
    time_min (&t, reasm_expiry (v));
  return t;
}

static void
opening_timeout (RtmfpEndpoint * ep, SessRec * rec, gint64 now)
{
  RtmfpSessionState st = rtmfp_session_get_state (rec->s);
  guint j;

  if (st != RTMFP_SESSION_IHELLO_SENT && st != RTMFP_SESSION_KEYING_SENT) {
    /* closed/aborted by the user meanwhile */
    rec_clear_opening (rec);
    rec_remove (ep, rec);
    return;
  }
  if (now >= rec->open_deadline) {
    fail_opening (ep, rec, RTMFP_SESSION_ERROR_TIMEOUT,
        "session not open within the open timeout");
    return;
  }
  if (rec->opening == OPENING_IHELLO) {
    for (j = 0; rec->candidates && j < rec->candidates->len; j++) {
      Candidate *cand = &g_array_index (rec->candidates, Candidate, j);
      if (cand->next_send <= now) {
        RtmfpAddr to = cand->addr;
        cand->interval = next_interval (cand->interval);
        cand->next_send = now + cand->interval;
        send_ihello (ep, rec, &to);
      }
    }
  } else if (rec->opening == OPENING_KEYING && rec->ik_next <= now) {
    rec->ik_interval = next_interval (rec->ik_interval);
    rec->ik_next = now + rec->ik_interval;
    rec->ik_first = -1;
    send_startup_bytes (ep, 0, &rec->dest, rec->iikeying, FALSE, 0);
  }
}

void
rtmfp_endpoint_handle_timeout (RtmfpEndpoint * ep, gint64 now)
{
  SessRec **recs;
  guint n = 0, cap = 0, i;
  GHashTableIter it;
  gpointer v;

  g_return_if_fail (ep != NULL);

  ep_enter (ep, now);
  /* The records due now, each handled once (records are only freed at
   * depth 0, so the pointers stay valid); each is marked to have its
   * deadline computed again afterwards. */
  timers_refresh (ep);
  recs = NULL;
  while (ep->heap_len > 0 && ep->timer_heap[0]->due <= now) {
    SessRec *rec = ep->timer_heap[0];
    heap_remove (ep, rec);
    rec->due = -1;
    rec_touch (ep, rec);
    if (n == cap) {
      cap = MAX (16, cap * 2);
      recs = g_renew (SessRec *, recs, cap);
    }
    recs[n++] = rec;
  }
  for (i = 0; i < n; i++) {
    SessRec *rec = recs[i];
    if (rec->dead)
      continue;
    if (rec->opening != OPENING_NONE) {
      opening_timeout (ep, rec, now);
    } else if (rec->established) {
      gint64 t = _rtmfp_session_next_timeout (rec->s);
      if (t >= 0 && t <= now)
        _rtmfp_session_handle_timeout (rec->s, now);
    }
  }
  g_free (recs);

  g_hash_table_iter_init (&it, ep->reasm);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    Reasm *r = v;
    if (reasm_expiry (r) <= now) {
      ep->reasm_bytes -= r->cost;
      g_hash_table_iter_remove (&it);
    }
  }
  ep_leave (ep);
}

/* ---- public API ---- */

void
rtmfp_endpoint_config_init (RtmfpEndpointConfig * cfg)
{
  g_return_if_fail (cfg != NULL);

  memset (cfg, 0, sizeof (*cfg));
  cfg->identity = NULL;
  rtmfp_crypto_config_init (&cfg->crypto);
  cfg->accept_sessions = TRUE;
  cfg->open_timeout_us = DEFAULT_OPEN_TIMEOUT_US;
  cfg->keepalive_us = DEFAULT_KEEPALIVE_US;
  cfg->idle_timeout_us = DEFAULT_IDLE_TIMEOUT_US;
  cfg->max_sessions = DEFAULT_MAX_SESSIONS;
  cfg->max_recv_flows_per_session = RTMFP_DEFAULT_MAX_RECV_FLOWS_PER_SESSION;
  cfg->max_reassembly_bytes = RTMFP_DEFAULT_MAX_REASSEMBLY_BYTES;
  cfg->recv_flow_buffer_bytes = RTMFP_DEFAULT_RECV_BUFFER_CAPACITY;
  cfg->max_send_queue_bytes = RTMFP_DEFAULT_MAX_SEND_QUEUE_BYTES;
  cfg->max_startup_amplification = RTMFP_DEFAULT_MAX_STARTUP_AMPLIFICATION;
  cfg->startup_excess_bytes_per_sec = RTMFP_DEFAULT_STARTUP_EXCESS_BYTES_PER_SEC;
}

RtmfpEndpoint *
rtmfp_endpoint_new (const RtmfpEndpointConfig * cfg,
    const RtmfpEndpointCallbacks * callbacks, gpointer user_data,
    RtmfpSendFunc send, gpointer send_data)
{
  RtmfpEndpoint *ep;

  ep = g_new0 (RtmfpEndpoint, 1);
  if (cfg)
    ep->cfg = *cfg;
  else
    rtmfp_endpoint_config_init (&ep->cfg);
  if (ep->cfg.open_timeout_us <= 0)
    ep->cfg.open_timeout_us = DEFAULT_OPEN_TIMEOUT_US;
  /* hostile-peer limits: 0 means the default */
  if (ep->cfg.max_recv_flows_per_session == 0)
    ep->cfg.max_recv_flows_per_session =
        RTMFP_DEFAULT_MAX_RECV_FLOWS_PER_SESSION;
  if (ep->cfg.max_reassembly_bytes == 0)
    ep->cfg.max_reassembly_bytes = RTMFP_DEFAULT_MAX_REASSEMBLY_BYTES;
  if (ep->cfg.recv_flow_buffer_bytes == 0)
    ep->cfg.recv_flow_buffer_bytes = RTMFP_DEFAULT_RECV_BUFFER_CAPACITY;
  if (ep->cfg.max_send_queue_bytes == 0)
    ep->cfg.max_send_queue_bytes = RTMFP_DEFAULT_MAX_SEND_QUEUE_BYTES;
  if (ep->cfg.identity) {
    ep->identity = rtmfp_identity_ref (ep->cfg.identity);
  } else {
    /* F5.3: client style, static keys, a fresh peer ID */
    guint groups[RTMFP_CERT_MAX_GROUPS];
    guint n = MIN (ep->cfg.crypto.n_groups, RTMFP_CERT_MAX_GROUPS);
    if (n == 0) {
      groups[0] = 14;
      n = 1;
    } else {
      memcpy (groups, ep->cfg.crypto.groups, n * sizeof (guint));
    }
    ep->identity = rtmfp_identity_new_static (groups, n);
    if (ep->identity == NULL) {
      g_warning ("rtmfp_endpoint_new: no usable DH group for an identity");
      g_free (ep);
      return NULL;
    }
  }
  ep->cfg.identity = ep->identity;
  if (callbacks)
    ep->cb = *callbacks;
  ep->user_data = user_data;
  ep->send = send;
  ep->send_data = send_data;
  ep->default_cipher = rtmfp_cipher_new_default ();
  rtmfp_random_bytes (ep->cookie_secret, sizeof (ep->cookie_secret));
  ep->all = g_ptr_array_new ();
  ep->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
  ep->by_session = g_hash_table_new (g_direct_hash, g_direct_equal);
  ep->reasm = g_hash_table_new_full (reasm_key_hash, reasm_key_equal, NULL,
      reasm_free);
  ep->graveyard = g_ptr_array_new ();
  ep->timer_dirty = g_ptr_array_new ();
  ep->now = G_MININT64;
  ep->last_tc_sent = G_MININT64;
  ep->excess_time = G_MININT64;
  rtmfp_random_bytes ((guint8 *) & ep->next_packet_id,
      sizeof (ep->next_packet_id));
  ep->next_packet_id &= 0xffff;
  return ep;
}

void
rtmfp_endpoint_free (RtmfpEndpoint * ep)
{
  if (ep == NULL)
    return;

  ep->freeing = TRUE;
  ep->depth++;
  while (ep->all->len > 0) {
    SessRec *rec = g_ptr_array_index (ep->all, ep->all->len - 1);
    RtmfpSession *s = rtmfp_session_ref (rec->s);
    rec_remove (ep, rec);
    _rtmfp_session_destroy (s);
    rtmfp_session_unref (s);
  }
  ep->depth--;
  ep->flushing = FALSE;
  flush_graveyard (ep);
  g_ptr_array_unref (ep->graveyard);
  g_ptr_array_unref (ep->timer_dirty);
  g_free (ep->timer_heap);
  g_ptr_array_unref (ep->all);
  g_hash_table_unref (ep->by_id);
  g_hash_table_unref (ep->by_session);
  g_hash_table_unref (ep->reasm);
  rtmfp_cipher_free (ep->default_cipher);
  rtmfp_identity_unref (ep->identity);
  memset (ep->cookie_secret, 0, sizeof (ep->cookie_secret));
  g_free (ep);
}

RtmfpIdentity *
rtmfp_endpoint_get_identity (RtmfpEndpoint * ep)
{
  g_return_val_if_fail (ep != NULL, NULL);
  return ep->identity;
}

void
rtmfp_endpoint_set_identity (RtmfpEndpoint * ep, RtmfpIdentity * identity)
{
  g_return_if_fail (ep != NULL && identity != NULL);

  if (identity == ep->identity)
    return;
  rtmfp_identity_ref (identity);
  rtmfp_identity_unref (ep->identity);
  ep->identity = identity;
  ep->cfg.identity = identity;
}

RtmfpSession *
rtmfp_endpoint_open_session (RtmfpEndpoint * ep, const guint8 * epd,
    gsize epd_len, const RtmfpAddr * candidates, guint n_candidates,
    gint64 now)
{
  return rtmfp_endpoint_open_session_full (ep, epd, epd_len, NULL,
      candidates, n_candidates, now);
}

/* An open session that a pinned opening may reuse: the pinned
 * fingerprint, and static keys */
static gboolean
rec_satisfies_pin (SessRec * o, const RtmfpOpenOptions * opts)
{
  RtmfpCertInfo ci;
  gsize l;
  const guint8 *cd;

  if (!opts || !opts->pinned_fingerprint)
    return TRUE;
  if (!o->far_cert)
    return FALSE;
  cd = g_bytes_get_data (o->far_cert, &l);
  return rtmfp_cert_parse (cd, l, &ci) && ci.n_static_keys > 0 &&
      rtmfp_crypto_equal (ci.fingerprint, opts->pinned_fingerprint,
      RTMFP_FINGERPRINT_SIZE);
}

RtmfpSession *
rtmfp_endpoint_open_session_full (RtmfpEndpoint * ep, const guint8 * epd,
    gsize epd_len, const RtmfpOpenOptions * opts,
    const RtmfpAddr * candidates, guint n_candidates, gint64 now)
{
  RtmfpEpdInfo info;
  SessRec *rec;
  RtmfpSession *ret;
  guint i;

  g_return_val_if_fail (ep != NULL, NULL);
  g_return_val_if_fail (epd != NULL && epd_len > 0, NULL);
  g_return_val_if_fail (candidates != NULL || n_candidates == 0, NULL);

  if (!rtmfp_epd_parse (epd, epd_len, &info)) {
    g_warning ("rtmfp_endpoint_open_session: malformed EPD");
    return NULL;
  }

  ep_enter (ep, now);

  /* An open session to that identity (or an opening one for the very
   * same EPD) is returned instead of a duplicate (3.5.1.1.1 step 1).  Only
   * an EPD that names one endpoint can pick an open session by its
   * certificate: a fingerprint.  An Ancillary Data EPD (a server URI) is
   * selected by every server's certificate, so it only matches the
   * session opened with those very bytes. */
  for (i = 0; i < ep->all->len; i++) {
    SessRec *o = g_ptr_array_index (ep->all, i);
    if (o->dead || !rec_satisfies_pin (o, opts))
      continue;
    if (rec_is_open (o) && o->epd && o->epd_len == epd_len
        && memcmp (o->epd, epd, epd_len) == 0) {
      ret = o->s;
      goto out;
    } else if (rec_is_open (o) && o->far_cert && info.has_fingerprint) {
      RtmfpCertInfo ci;
      gsize l;
      const guint8 *cd = g_bytes_get_data (o->far_cert, &l);
      if (rtmfp_cert_parse (cd, l, &ci) && rtmfp_epd_selects (&info, &ci)) {
        ret = o->s;
        goto out;
      }
    } else if (o->opening != OPENING_NONE && o->epd_len == epd_len
        && memcmp (o->epd, epd, epd_len) == 0) {
      ret = o->s;
      goto out;
    }
  }

  rec = rec_new ();
  rec->initiator = TRUE;
  rec->opening = OPENING_IHELLO;
  rec->identity = rtmfp_identity_ref (ep->identity);
  if (opts && opts->pinned_fingerprint) {
    rec->pinned = TRUE;
    memcpy (rec->pin, opts->pinned_fingerprint, RTMFP_FINGERPRINT_SIZE);
  }
  rec->epd = g_memdup2 (epd, epd_len);
  rec->epd_len = epd_len;
  rtmfp_epd_parse (rec->epd, rec->epd_len, &rec->epd_info);
  /* a fresh random tag, unique among opening sessions */
  do {
    rtmfp_random_bytes (rec->tag, TAG_SIZE);
  } while (find_opening_by_tag (ep, rec->tag, TAG_SIZE) != NULL);
  rec->candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  rec->open_deadline = now + ep->cfg.open_timeout_us;
  rec->s = _rtmfp_session_new (ep, TRUE, now);
  rec_register (ep, rec);
  ret = rec->s;
  for (i = 0; i < n_candidates && !rec->dead; i++)
    rec_add_candidate (ep, rec, &candidates[i], MAX_CANDIDATES);

out:
  ep_leave (ep);
  return ret;
}

void
rtmfp_endpoint_add_candidate (RtmfpEndpoint * ep, RtmfpSession * s,
    const RtmfpAddr * addr, gint64 now)
{
  SessRec *rec;

  g_return_if_fail (ep != NULL && s != NULL && addr != NULL);

  ep_enter (ep, now);
  rec = g_hash_table_lookup (ep->by_session, s);
  if (rec && !rec->dead && rec->opening == OPENING_IHELLO)
    rec_add_candidate (ep, rec, addr, MAX_CANDIDATES);
  ep_leave (ep);
}

void
rtmfp_endpoint_send_redirect (RtmfpEndpoint * ep, const RtmfpAddr * to,
    const guint8 * tag, gsize tag_len, const RtmfpAddr * addrs, guint n_addrs)
{
  RtmfpRedirectChunk c;
  GByteArray *out;
  guint i;

  g_return_if_fail (ep != NULL && to != NULL);
  g_return_if_fail (tag != NULL || tag_len == 0);
  g_return_if_fail (addrs != NULL || n_addrs == 0);

  memset (&c, 0, sizeof (c));
  c.tag_echo = tag;
  c.tag_echo_len = tag_len;
  for (i = 0; i < n_addrs && c.n_addrs < RTMFP_REDIRECT_MAX_ADDRS; i++) {
    if (addrs[i].family == 4 || addrs[i].family == 6)
      c.addrs[c.n_addrs++] = addrs[i];
  }
  out = g_byte_array_sized_new (32 + tag_len + 19 * c.n_addrs);
  rtmfp_redirect_chunk_append (out, &c);
  ep->depth++;
  if (ep->reply_limited) {
    /* Answering the IHello being processed: drop trailing addresses until
     * the Redirect fits the anti-amplification budget (never down to
     * none, which would mean an Implied Redirect, 2.3.5). */
    guint n0 = c.n_addrs;
    while (startup_wire_size (ep, 3 + out->len, NULL) > ep->reply_budget
        && c.n_addrs > 1) {
      c.n_addrs--;
      g_byte_array_set_size (out, 0);
      rtmfp_redirect_chunk_append (out, &c);
    }
    if (c.n_addrs < n0) {
      g_debug ("Redirect trimmed from %u to %u addresses", n0, c.n_addrs);
      ep->stats.replies_refused++;
    }
  }
  if (send_startup_reply (ep, 0, to, out, FALSE, 0))
    ep->stats.redirects_sent++;
  ep_leave (ep);
  g_byte_array_unref (out);
}

RtmfpSession *
rtmfp_endpoint_find_session_by_fingerprint (RtmfpEndpoint * ep,
    const guint8 fp[RTMFP_FINGERPRINT_SIZE])
{
  guint i;

  g_return_val_if_fail (ep != NULL && fp != NULL, NULL);

  for (i = 0; i < ep->all->len; i++) {
    SessRec *rec = g_ptr_array_index (ep->all, i);
    if (rec_is_open (rec) && rec->far_cert
        && memcmp (rec->far_fp, fp, RTMFP_FINGERPRINT_SIZE) == 0)
      return rec->s;
  }
  return NULL;
}

void
rtmfp_endpoint_note_unreachable (RtmfpEndpoint * ep, const RtmfpAddr * to,
    gint64 now)
{
  guint i;

  g_return_if_fail (ep != NULL && to != NULL);

  ep->stats.icmp_unreachable++;
  for (i = 0; i < ep->all->len; i++) {
    SessRec *rec = g_ptr_array_index (ep->all, i);

    if (rec_is_open (rec) && !rec->dead &&
        rtmfp_addr_equal (rtmfp_session_get_far_address (rec->s), to))
      _rtmfp_session_note_unreachable (rec->s, now);
  }
}

void
rtmfp_endpoint_foreach_session (RtmfpEndpoint * ep, GFunc func,
    gpointer user_data)
{
  SessRec **recs;
  guint n, i;

  g_return_if_fail (ep != NULL && func != NULL);

  ep->depth++;
  recs = snapshot_records (ep, &n);
  for (i = 0; i < n; i++) {
    if (!recs[i]->dead)
      func (recs[i]->s, user_data);
  }
  g_free (recs);
  ep_leave (ep);
}

void
rtmfp_endpoint_set_accept_sessions (RtmfpEndpoint * ep, gboolean accept)
{
  g_return_if_fail (ep != NULL);
  ep->cfg.accept_sessions = accept;
}

guint
rtmfp_endpoint_get_n_sessions (RtmfpEndpoint * ep)
{
  g_return_val_if_fail (ep != NULL, 0);
  return g_hash_table_size (ep->by_session);
}

guint
rtmfp_endpoint_get_n_reassemblies (RtmfpEndpoint * ep)
{
  g_return_val_if_fail (ep != NULL, 0);
  return g_hash_table_size (ep->reasm);
}

gsize
rtmfp_endpoint_get_reassembly_bytes (RtmfpEndpoint * ep)
{
  g_return_val_if_fail (ep != NULL, 0);
  return ep->reasm_bytes;
}

void
rtmfp_endpoint_get_stats (RtmfpEndpoint * ep, RtmfpEndpointStats * st)
{
  g_return_if_fail (ep != NULL && st != NULL);
  *st = ep->stats;
}

/* ---- the session's side of the contract ---- */

const RtmfpEndpointCallbacks *
_rtmfp_endpoint_get_callbacks (RtmfpEndpoint * ep, gpointer * user_data)
{
  g_return_val_if_fail (ep != NULL, NULL);
  if (user_data)
    *user_data = ep->user_data;
  return &ep->cb;
}

const RtmfpEndpointConfig *
_rtmfp_endpoint_get_config (RtmfpEndpoint * ep)
{
  g_return_val_if_fail (ep != NULL, NULL);
  return &ep->cfg;
}

void
_rtmfp_endpoint_note_flow_refused (RtmfpEndpoint * ep)
{
  g_return_if_fail (ep != NULL);
  ep->stats.recv_flows_refused++;
}

gboolean
_rtmfp_endpoint_tc_sent_since (RtmfpEndpoint * ep, gint64 since)
{
  g_return_val_if_fail (ep != NULL, FALSE);
  return ep->last_tc_sent != G_MININT64 && ep->last_tc_sent >= since;
}

void
_rtmfp_endpoint_note_tc_sent (RtmfpEndpoint * ep, gint64 now)
{
  g_return_if_fail (ep != NULL);
  if (now > ep->last_tc_sent)
    ep->last_tc_sent = now;
}

void
_rtmfp_endpoint_session_closed (RtmfpEndpoint * ep, RtmfpSession * s)
{
  SessRec *rec;

  g_return_if_fail (ep != NULL && s != NULL);

  rec = g_hash_table_lookup (ep->by_session, s);
  if (rec == NULL || rec->dead)
    return;
  ep->depth++;
  if (rec->established && !ep->freeing && ep->cb.session_closed)
    ep->cb.session_closed (ep, s, ep->user_data);
  rec_clear_opening (rec);
  rec_remove (ep, rec);
  /* freed at the next entry point's end (the session may still be on the
   * caller's stack) */
  ep->depth--;
}
