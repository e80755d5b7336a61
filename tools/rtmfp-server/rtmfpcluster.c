/* rtmfp-server --cluster: see rtmfpcluster.h and docs/cluster.md.
 *
 * Redis keys (all under "rtmfp:"; every one with a TTL of
 * RTMFP_CLUSTER_TTL_S seconds, refreshed by its owner every
 * RTMFP_CLUSTER_REFRESH_MS):
 *   rtmfp:node:NAME            "v1 INSTANCE ADDR:PORT SESSIONS PLAYERS KBPS
 *                              CPU" (CPU: per mille of one core), and
 *                              " drain" while the node drains
 *   rtmfp:stream:LEN:APP/NAME  "NODE" (LEN: the length of APP, so that
 *                              slashes in APP or NAME cannot collide)
 * A stream key is taken with SET NX: one publisher per name across the
 * cluster.  Whatever is read back is checked like network input: a value
 * that does not parse is skipped (never trusted, never fatal).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <hiredis/hiredis.h>

#include "rtmfpcluster.h"
#include "rtmfptcclient.h"

#define KEY_PREFIX "rtmfp:"
#define NODE_PREFIX KEY_PREFIX "node:"
#define STREAM_PREFIX KEY_PREFIX "stream:"
#define MAX_NAME 64
/* in the tcUrl of upstream sessions: never redirected */
#define CLUSTER_MARK "rtmfp-cluster-node="
/* a Redirect lists this many nodes at most */
#define MAX_REDIRECT 3
#define MAX_VALUE 512
/* keys read per SCAN pattern at most: a flooded Redis cannot eat memory */
#define MAX_KEYS 10000
#define CONNECT_TIMEOUT_MS 1000
/* an upstream session with no local player left is closed after this */
#define PULL_IDLE_US (5 * G_TIME_SPAN_SECOND)
/* a failed upstream session is retried after this */
#define PULL_RETRY_US (1 * G_TIME_SPAN_SECOND)
/* an orderly close of an upstream session is given this long at most */
#define PULL_CLOSE_US (2 * G_TIME_SPAN_SECOND)

typedef struct {
  gchar *instance;
  gchar *addr;
  guint sessions, players, kbps;
  guint cpu;                    /* per mille of one core */
  gboolean draining;
} Node;

typedef struct _Pull Pull;

struct _RtmfpCluster {
  gchar *host;
  guint16 port;
  gint db;
  gchar *node;
  gchar *advertise;
  gchar *instance;
  GBytes *auth_key;

  /* the Redis thread's (before it starts: rtmfp_cluster_new's) */
  redisContext *rc;
  GHashTable *registered;       /* stream keys we hold */
  gboolean outage_logged;
  GHashTable *warned;           /* keys whose bad value was logged */

  GThread *thread;
  GMutex lock;
  GCond cond;
  /* under lock */
  gboolean quit;
  gboolean redis_up;
  GHashTable *nodes;            /* name -> Node (live, others and us) */
  GHashTable *streams;          /* stream key -> node name */
  GPtrArray *local_streams;     /* stream keys published here */
  guint load_sessions, load_players, load_kbps, load_cpu;

  /* the server's thread */
  RtmfpServer *srv;
  RtmfpNet *net;
  GHashTable *pulls;            /* stream key -> Pull */
  GPtrArray *closing;           /* Pulls closing */
  GHashTable *retry_at;         /* stream key -> gint64 * */
  guint64 prev_bytes;
  gint64 prev_time;
  gint64 prev_cpu_us;

  gint n_upstreams;             /* atomic: pulls streaming */
  gint n_nodes;                 /* atomic */
  gint n_streams;               /* atomic: names registered cluster-wide */
  guint max_load;               /* sessions; 0: no redirects */
  gint draining;                /* atomic */
  guint64 redirects;            /* atomic-free: the server's thread only */
};

/* ------------------------------------------------------------------ */
/* validation                                                          */

static gboolean
valid_node_name (const gchar * s, gsize len)
{
  gsize i;

  if (len == 0 || len > MAX_NAME)
    return FALSE;
  for (i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && !strchr ("._:-", s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_uint (const gchar * s, guint * out)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT32, &v, NULL))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

/* "v1 INSTANCE ADDR:PORT SESSIONS PLAYERS KBPS CPU[ drain]" */
static Node *
node_parse (const gchar * v, gsize len)
{
  gchar *copy, **f;
  Node *n = NULL;
  RtmfpAddr a;

  if (len > MAX_VALUE || memchr (v, 0, len))
    return NULL;
  copy = g_strndup (v, len);
  f = g_strsplit (copy, " ", -1);
  if ((g_strv_length (f) == 7 || (g_strv_length (f) == 8 &&
              g_str_equal (f[7], "drain"))) && g_str_equal (f[0], "v1") &&
      valid_node_name (f[1], strlen (f[1])) &&
      rtmfp_addr_from_string (&a, f[2], 0) && a.port != 0) {
    n = g_new0 (Node, 1);
    if (!parse_uint (f[3], &n->sessions) || !parse_uint (f[4], &n->players)
        || !parse_uint (f[5], &n->kbps) || !parse_uint (f[6], &n->cpu)) {
      g_free (n);
      n = NULL;
    } else {
      n->instance = g_strdup (f[1]);
      n->addr = g_strdup (f[2]);
      n->draining = f[7] != NULL;
    }
  }
  g_strfreev (f);
  g_free (copy);
  return n;
}

static void
node_free (Node * n)
{
  g_free (n->instance);
  g_free (n->addr);
  g_free (n);
}

static gchar *
stream_key (const gchar * app, const gchar * name)
{
  return g_strdup_printf (STREAM_PREFIX "%zu:%s/%s", strlen (app), app, name);
}

gboolean
rtmfp_cluster_parse_url (const gchar * url, gchar ** host, guint16 * port,
    gint * db, gchar ** error)
{
  const gchar *p, *hp, *slash, *colon;
  gchar *h = NULL;
  guint64 v;

  *host = NULL;
  if (!url || !g_str_has_prefix (url, "redis://"))
    goto bad;
  hp = url + strlen ("redis://");
  slash = strchr (hp, '/');
  if (hp[0] == '[') {
    const gchar *close = strchr (hp, ']');
    if (!close || close == hp + 1 || close[1] != ':')
      goto bad;
    h = g_strndup (hp + 1, close - hp - 1);
    colon = close + 1;
  } else {
    colon = strchr (hp, ':');
    if (!colon || colon == hp || (slash && slash < colon))
      goto bad;
    h = g_strndup (hp, colon - hp);
    if (strchr (h, '@'))
      goto bad;                 /* no credentials in the URL (not built) */
  }
  p = colon + 1;
  {
    gchar *ps = slash ? g_strndup (p, slash - p) : g_strdup (p);
    gboolean ok = g_ascii_string_to_unsigned (ps, 10, 1, 65535, &v, NULL);

    g_free (ps);
    if (!ok)
      goto bad;
  }
  *port = (guint16) v;
  *db = 0;
  if (slash && slash[1]) {
    guint64 d;

    if (!g_ascii_string_to_unsigned (slash + 1, 10, 0, 1000000, &d, NULL))
      goto bad;
    *db = (gint) d;
  }
  *host = h;
  return TRUE;

bad:
  g_free (h);
  *error = g_strdup_printf ("bad --cluster URL '%s' (expected "
      "redis://HOST:PORT[/DB], e.g. redis://127.0.0.1:6379/0)",
      url ? url : "");
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Redis (the Redis thread, and rtmfp_cluster_new before it starts)     */

static redisContext *
redis_connect (RtmfpCluster * cl, gchar ** error)
{
  struct timeval tv = { CONNECT_TIMEOUT_MS / 1000,
    (CONNECT_TIMEOUT_MS % 1000) * 1000
  };
  redisContext *rc = redisConnectWithTimeout (cl->host, cl->port, tv);
  redisReply *r;

  if (!rc || rc->err) {
    *error = g_strdup_printf ("cannot connect to Redis at %s:%u: %s",
        cl->host, cl->port, rc ? rc->errstr : "out of memory");
    if (rc)
      redisFree (rc);
    return NULL;
  }
  redisSetTimeout (rc, tv);
  r = cl->db ? redisCommand (rc, "SELECT %d", cl->db) : redisCommand (rc,
      "PING");
  if (!r || r->type == REDIS_REPLY_ERROR) {
    *error = g_strdup_printf ("Redis at %s:%u: %s", cl->host, cl->port,
        r ? r->str : rc->errstr);
    if (r)
      freeReplyObject (r);
    redisFree (rc);
    return NULL;
  }
  freeReplyObject (r);
  return rc;
}

static gchar *
node_value (RtmfpCluster * cl, guint sessions, guint players, guint kbps,
    guint cpu)
{
  return g_strdup_printf ("v1 %s %s %u %u %u %u%s", cl->instance,
      cl->advertise, sessions, players, kbps, cpu,
      g_atomic_int_get (&cl->draining) ? " drain" : "");
}

/* Every key matching pattern (SCAN), at most MAX_KEYS; NULL on an I/O
 * error */
static GPtrArray *
redis_scan (redisContext * rc, const gchar * pattern)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  gchar *cursor = g_strdup ("0");

  do {
    redisReply *r = redisCommand (rc, "SCAN %s MATCH %s COUNT 200", cursor,
        pattern);
    gsize i;

    if (!r) {
      g_ptr_array_unref (keys);
      g_free (cursor);
      return NULL;
    }
    g_free (cursor);
    cursor = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_ARRAY) {
      cursor = g_strndup (r->element[0]->str, r->element[0]->len);
      for (i = 0; i < r->element[1]->elements && keys->len < MAX_KEYS; i++) {
        redisReply *k = r->element[1]->element[i];

        if (k->type == REDIS_REPLY_STRING && k->len < 1024 &&
            !memchr (k->str, 0, k->len))
          g_ptr_array_add (keys, g_strndup (k->str, k->len));
      }
    }
    freeReplyObject (r);
  } while (cursor && !g_str_equal (cursor, "0") && keys->len < MAX_KEYS);
  g_free (cursor);
  return keys;
}

/* GET: the string (newly allocated, *len) or NULL (missing, not a
 * string); *io_error on a connection failure */
static gchar *
redis_get (redisContext * rc, const gchar * key, gsize * len,
    gboolean * io_error)
{
  redisReply *r = redisCommand (rc, "GET %s", key);
  gchar *v = NULL;

  if (!r) {
    *io_error = TRUE;
    return NULL;
  }
  if (r->type == REDIS_REPLY_STRING && r->len <= MAX_VALUE) {
    v = g_strndup (r->str, r->len);
    *len = r->len;
  }
  freeReplyObject (r);
  return v;
}

static void
warn_bad_value (RtmfpCluster * cl, const gchar * key)
{
  if (g_hash_table_contains (cl->warned, key))
    return;
  /* bounded: a flood of bad keys is logged again, never hoarded */
  if (g_hash_table_size (cl->warned) >= MAX_KEYS)
    g_hash_table_remove_all (cl->warned);
  g_hash_table_add (cl->warned, g_strdup (key));
  g_warning ("cluster: ignoring malformed Redis entry %s", key);
}

/* Compare-and-delete: only our own value */
#define DEL_IF_SCRIPT "if redis.call('get', KEYS[1]) == ARGV[1] then " \
  "return redis.call('del', KEYS[1]) end return 0"

/* One round: our registrations, then what the others registered.  FALSE
 * when the connection failed. */
static gboolean
redis_cycle (RtmfpCluster * cl)
{
  redisContext *rc = cl->rc;
  GPtrArray *local, *keys;
  GHashTable *nodes, *streams, *local_set;
  GHashTableIter it;
  gpointer k;
  redisReply *r;
  gchar *v, *nk;
  guint i, sessions, players, kbps, cpu;
  gboolean io_error = FALSE;

  g_mutex_lock (&cl->lock);
  local = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < cl->local_streams->len; i++)
    g_ptr_array_add (local, g_strdup (g_ptr_array_index (cl->local_streams,
                i)));
  sessions = cl->load_sessions;
  players = cl->load_players;
  kbps = cl->load_kbps;
  cpu = cl->load_cpu;
  g_mutex_unlock (&cl->lock);

  /* our node */
  nk = g_strconcat (NODE_PREFIX, cl->node, NULL);
  v = node_value (cl, sessions, players, kbps, cpu);
  r = redisCommand (rc, "SET %s %s EX %d", nk, v, RTMFP_CLUSTER_TTL_S);
  g_free (v);
  g_free (nk);
  if (!r)
    goto io_failed;
  freeReplyObject (r);

  /* our streams: taken (NX) or refreshed if ours */
  local_set = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < local->len; i++) {
    const gchar *key = g_ptr_array_index (local, i);

    g_hash_table_add (local_set, (gpointer) key);
    r = redisCommand (rc, "SET %s %s NX EX %d", key, cl->node,
        RTMFP_CLUSTER_TTL_S);
    if (!r) {
      g_hash_table_unref (local_set);
      goto io_failed;
    }
    if (r->type == REDIS_REPLY_STATUS) {
      g_hash_table_add (cl->registered, g_strdup (key));
    } else {
      gsize len = 0;
      gchar *owner = redis_get (rc, key, &len, &io_error);

      gboolean take = FALSE;

      if (owner && !g_str_equal (owner, cl->node)) {
        /* a corrupted entry, or one naming no live node (written without
         * a TTL by someone else): not a publisher, the name is ours */
        g_mutex_lock (&cl->lock);
        take = !valid_node_name (owner, len) ||
            (cl->redis_up && !g_hash_table_contains (cl->nodes, owner));
        g_mutex_unlock (&cl->lock);
        if (take)
          warn_bad_value (cl, key);
      }
      if (owner && (take || g_str_equal (owner, cl->node))) {
        freeReplyObject (r);
        r = take ? redisCommand (rc, "SET %s %s EX %d", key, cl->node,
            RTMFP_CLUSTER_TTL_S) : redisCommand (rc, "EXPIRE %s %d", key,
            RTMFP_CLUSTER_TTL_S);
        g_hash_table_add (cl->registered, g_strdup (key));
      }
      g_free (owner);
      if (!r || io_error) {
        if (r)
          freeReplyObject (r);
        g_hash_table_unref (local_set);
        goto io_failed;
      }
    }
    freeReplyObject (r);
  }
  /* names we no longer publish */
  g_hash_table_iter_init (&it, cl->registered);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    if (g_hash_table_contains (local_set, k))
      continue;
    r = redisCommand (rc, "EVAL %s 1 %s %s", DEL_IF_SCRIPT, (gchar *) k,
        cl->node);
    if (!r) {
      g_hash_table_unref (local_set);
      goto io_failed;
    }
    freeReplyObject (r);
    g_hash_table_iter_remove (&it);
  }
  g_hash_table_unref (local_set);

  /* the cluster as it is now */
  nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) node_free);
  streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!(keys = redis_scan (rc, NODE_PREFIX "*")))
    goto scan_failed;
  for (i = 0; i < keys->len && !io_error; i++) {
    const gchar *key = g_ptr_array_index (keys, i);
    const gchar *name = key + strlen (NODE_PREFIX);
    gsize len = 0;
    Node *n;

    if (!valid_node_name (name, strlen (name))) {
      warn_bad_value (cl, key);
      continue;
    }
    if (!(v = redis_get (rc, key, &len, &io_error)))
      continue;                 /* expired meanwhile, or not a string */
    if ((n = node_parse (v, len)))
      g_hash_table_replace (nodes, g_strdup (name), n);
    else
      warn_bad_value (cl, key);
    g_free (v);
  }
  g_ptr_array_unref (keys);
  if (io_error || !(keys = redis_scan (rc, STREAM_PREFIX "*")))
    goto scan_failed;
  for (i = 0; i < keys->len && !io_error; i++) {
    const gchar *key = g_ptr_array_index (keys, i);
    gsize len = 0;

    if (!(v = redis_get (rc, key, &len, &io_error)))
      continue;
    if (valid_node_name (v, len))
      g_hash_table_replace (streams, g_strdup (key), v);
    else {
      warn_bad_value (cl, key);
      g_free (v);
    }
  }
  g_ptr_array_unref (keys);
  if (io_error)
    goto scan_failed;

  g_mutex_lock (&cl->lock);
  g_hash_table_unref (cl->nodes);
  g_hash_table_unref (cl->streams);
  cl->nodes = nodes;
  cl->streams = streams;
  cl->redis_up = TRUE;
  g_mutex_unlock (&cl->lock);
  g_atomic_int_set (&cl->n_nodes, g_hash_table_size (nodes));
  g_atomic_int_set (&cl->n_streams, g_hash_table_size (streams));
  g_ptr_array_unref (local);
  return TRUE;

scan_failed:
  g_hash_table_unref (nodes);
  g_hash_table_unref (streams);
io_failed:
  g_ptr_array_unref (local);
  return FALSE;
}

static void
redis_down (RtmfpCluster * cl, const gchar * why)
{
  g_mutex_lock (&cl->lock);
  cl->redis_up = FALSE;
  /* what we knew is stale: publish and play work locally meanwhile */
  g_hash_table_remove_all (cl->nodes);
  g_hash_table_remove_all (cl->streams);
  g_mutex_unlock (&cl->lock);
  g_atomic_int_set (&cl->n_nodes, 0);
  g_atomic_int_set (&cl->n_streams, 0);
  /* whatever we held will be taken again (NX) when Redis is back */
  g_hash_table_remove_all (cl->registered);
  if (!cl->outage_logged) {
    cl->outage_logged = TRUE;
    g_warning ("cluster: Redis at %s:%u is unreachable (%s): serving local "
        "sessions and streams only until it is back", cl->host, cl->port,
        why);
  }
}

static gpointer
redis_thread (gpointer data)
{
  RtmfpCluster *cl = data;
  gchar *nk;
  GHashTableIter it;
  gpointer k;

  g_mutex_lock (&cl->lock);
  while (!cl->quit) {
    gint64 until;

    g_mutex_unlock (&cl->lock);
    if (!cl->rc) {
      gchar *err = NULL;

      if (!(cl->rc = redis_connect (cl, &err)))
        redis_down (cl, err);
      g_free (err);
    }
    if (cl->rc) {
      if (redis_cycle (cl)) {
        if (cl->outage_logged) {
          cl->outage_logged = FALSE;
          g_message ("cluster: Redis at %s:%u is back; node %s rejoined",
              cl->host, cl->port, cl->node);
        }
      } else {
        redis_down (cl, cl->rc->errstr[0] ? cl->rc->errstr : "I/O error");
        redisFree (cl->rc);
        cl->rc = NULL;
      }
    }
    until = g_get_monotonic_time () + RTMFP_CLUSTER_REFRESH_MS * 1000;
    g_mutex_lock (&cl->lock);
    /* until the next round, or woken (quit, drain) */
    if (!cl->quit)
      g_cond_wait_until (&cl->cond, &cl->lock, until);
  }
  g_mutex_unlock (&cl->lock);

  /* leaving: our registrations go at once (else they expire) */
  if (cl->rc) {
    redisReply *r;

    g_hash_table_iter_init (&it, cl->registered);
    while (g_hash_table_iter_next (&it, &k, NULL)) {
      r = redisCommand (cl->rc, "EVAL %s 1 %s %s", DEL_IF_SCRIPT, (gchar *) k,
          cl->node);
      if (r)
        freeReplyObject (r);
    }
    nk = g_strconcat (NODE_PREFIX, cl->node, NULL);
    r = redisCommand (cl->rc, "DEL %s", nk);
    if (r)
      freeReplyObject (r);
    g_free (nk);
  }
  return NULL;
}

RtmfpCluster *
rtmfp_cluster_new (const gchar * url, const gchar * node_name,
    const gchar * advertise, GBytes * auth_key, gchar ** error)
{
  RtmfpCluster *cl = g_new0 (RtmfpCluster, 1);
  RtmfpAddr a;
  redisReply *r;
  gchar *nk, *v;

  if (!rtmfp_cluster_parse_url (url, &cl->host, &cl->port, &cl->db, error))
    goto fail;
  if (!valid_node_name (node_name, strlen (node_name))) {
    *error = g_strdup_printf ("bad --node-name '%s' (1 to %d letters, "
        "digits or ._:-)", node_name, MAX_NAME);
    goto fail;
  }
  if (!rtmfp_addr_from_string (&a, advertise, 0) || a.port == 0) {
    *error = g_strdup_printf ("bad --advertise address '%s' (expected "
        "ADDR:PORT, a numeric address)", advertise);
    goto fail;
  }
  cl->node = g_strdup (node_name);
  cl->advertise = g_strdup (advertise);
  cl->instance = g_strdup_printf ("%08x%08x", g_random_int (),
      g_random_int ());
  cl->auth_key = auth_key ? g_bytes_ref (auth_key) : NULL;
  g_mutex_init (&cl->lock);
  g_cond_init (&cl->cond);
  cl->registered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  cl->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  cl->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) node_free);
  cl->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  cl->local_streams = g_ptr_array_new_with_free_func (g_free);
  cl->pulls = g_hash_table_new (g_str_hash, g_str_equal);
  cl->closing = g_ptr_array_new ();
  cl->retry_at = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);

  if (!(cl->rc = redis_connect (cl, error)))
    goto fail;
  /* our name: a live node with another instance has it */
  nk = g_strconcat (NODE_PREFIX, cl->node, NULL);
  v = node_value (cl, 0, 0, 0, 0);
  r = redisCommand (cl->rc, "SET %s %s NX EX %d", nk, v, RTMFP_CLUSTER_TTL_S);
  g_free (v);
  if (!r || r->type == REDIS_REPLY_ERROR) {
    *error = g_strdup_printf ("Redis at %s:%u: %s", cl->host, cl->port,
        r ? r->str : cl->rc->errstr);
    if (r)
      freeReplyObject (r);
    g_free (nk);
    goto fail;
  }
  if (r->type != REDIS_REPLY_STATUS) {
    *error = g_strdup_printf ("node name '%s' is registered by a live node "
        "(its registration expires %d s after it stops)", cl->node,
        RTMFP_CLUSTER_TTL_S);
    freeReplyObject (r);
    g_free (nk);
    goto fail;
  }
  freeReplyObject (r);
  g_free (nk);
  return cl;

fail:
  rtmfp_cluster_free (cl);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* upstream sessions (pulls)                                            */

typedef enum {
  PULL_OPENING,
  PULL_STREAMING,
  PULL_ENDED,                   /* failed or closed by the origin */
} PullState;

struct _Pull {
  gint ref;
  RtmfpCluster *cl;
  gchar *key, *app, *name, *origin, *url;
  RtmfpNet *net;                /* the pull's own */
  RtmfpTcClient *c;             /* on the pull's net thread */
  GSource *timer;
  /* the server's thread */
  PullState state;
  RtmfpRelayStream *stream;
  gboolean dead;                /* torn down: deliveries are dropped */
  gint64 idle_since;            /* no local player since; 0: has some */
  gint64 close_by;              /* closing: stopped at the latest then */
  gboolean closed;              /* atomic: the client is CLOSED/FAILED */
};

static Pull *
pull_ref (Pull * p)
{
  g_atomic_int_inc (&p->ref);
  return p;
}

static void
pull_unref (Pull * p)
{
  if (!g_atomic_int_dec_and_test (&p->ref))
    return;
  /* the net is stopped: no timer invocation is left to run */
  if (p->net)
    rtmfp_net_free (p->net);
  if (p->timer)
    g_source_unref (p->timer);
  if (p->c)
    rtmfp_tc_client_free (p->c);
  g_free (p->key);
  g_free (p->app);
  g_free (p->name);
  g_free (p->origin);
  g_free (p->url);
  g_free (p);
}

typedef struct {
  Pull *p;
  gint what;                    /* 0 message, 1 streaming, 2 ended */
  guint8 type;
  guint32 ts;
  guint64 gap;
  GBytes *payload;
} Delivery;

static void
delivery_free (gpointer data)
{
  Delivery *d = data;

  pull_unref (d->p);
  if (d->payload)
    g_bytes_unref (d->payload);
  g_free (d);
}

static void
pull_end_stream (Pull * p)
{
  if (p->stream) {
    rtmfp_relay_unpublish (rtmfp_server_get_relay (p->cl->srv), p->stream);
    p->stream = NULL;
  }
}

/* A local publisher took the name over from a silent upstream (the
 * relay's idle takeover, e.g. with Redis down): the stream is no longer
 * ours; the pull ends at the next poll */
static void
pull_evicted (RtmfpRelayStream * st, gpointer ud)
{
  Pull *p = ud;

  p->stream = NULL;
  if (p->state == PULL_STREAMING)
    g_atomic_int_add (&p->cl->n_upstreams, -1);
  p->state = PULL_ENDED;
}

/* on the pull's net thread */
static void
pull_do_keyframe (RtmfpNet * net, gpointer data)
{
  Pull *p = data;

  if (rtmfp_tc_client_get_state (p->c) == RTMFP_TC_CLIENT_STATE_STREAMING)
    rtmfp_tc_client_stream_command (p->c, RTMFP_TC_REQUEST_KEYFRAME, 0, NULL,
        rtmfp_net_now (net));
}

/* A local player wants a keyframe (it joined, or lost video): asked of the
 * origin, which asks its publisher (the relays rate-limit both) */
static void
pull_keyframe_wanted (RtmfpRelayStream * st, gpointer ud)
{
  Pull *p = ud;

  /* no reference: the pull's net is stopped before the pull goes, and
   * what is still queued then never runs */
  rtmfp_net_invoke (p->net, pull_do_keyframe, p, NULL);
}

/* on the server's thread */
static void
pull_deliver (RtmfpNet * net, gpointer data)
{
  Delivery *d = data;
  Pull *p = d->p;
  RtmfpCluster *cl = p->cl;

  if (p->dead)
    return;
  switch (d->what) {
    case 1:
      p->stream = rtmfp_relay_publish_full (rtmfp_server_get_relay
          (cl->srv), p->app, p->name, rtmfp_net_now (net), 0, pull_evicted,
          p);
      if (!p->stream) {
        /* ended at the next poll */
        p->state = PULL_ENDED;
        g_message ("cluster: %s/%s is published here meanwhile: upstream "
            "from %s not used", p->app, p->name, p->origin);
      } else {
        p->state = PULL_STREAMING;
        rtmfp_relay_stream_set_keyframe_func (p->stream, pull_keyframe_wanted,
            p);
        g_atomic_int_inc (&cl->n_upstreams);
        g_message ("cluster: playing %s/%s from node %s (%s)", p->app,
            p->name, p->origin, p->url);
      }
      break;
    case 2:
      if (p->state == PULL_STREAMING)
        g_atomic_int_add (&cl->n_upstreams, -1);
      p->state = PULL_ENDED;
      pull_end_stream (p);
      break;
    default:
      if (!p->stream)
        break;
      if (d->gap && d->type == RTMFP_TC_MSG_VIDEO)
        rtmfp_relay_stream_discont (p->stream);
      rtmfp_relay_stream_set_active (p->stream, rtmfp_net_now (net));
      rtmfp_relay_stream_push (p->stream, d->type, d->ts,
          g_bytes_get_data (d->payload, NULL),
          g_bytes_get_size (d->payload));
      break;
  }
}

static void
pull_post (Pull * p, Delivery * d)
{
  d->p = pull_ref (p);
  rtmfp_net_invoke (p->cl->net, pull_deliver, d, delivery_free);
}

/* ---- on the pull's net thread ---- */

static void
pull_on_state (RtmfpTcClient * c, RtmfpTcClientState state, gpointer ud)
{
  Pull *p = ud;
  Delivery *d;

  if (state == RTMFP_TC_CLIENT_STATE_STREAMING) {
    d = g_new0 (Delivery, 1);
    d->what = 1;
    pull_post (p, d);
  } else if (state == RTMFP_TC_CLIENT_STATE_FAILED ||
      state == RTMFP_TC_CLIENT_STATE_CLOSED) {
    if (!g_atomic_int_get (&p->closed)) {
      g_atomic_int_set (&p->closed, TRUE);
      d = g_new0 (Delivery, 1);
      d->what = 2;
      pull_post (p, d);
    }
  }
}

static void
pull_on_error (RtmfpTcClient * c, const GError * error, gpointer ud)
{
  Pull *p = ud;

  g_message ("cluster: upstream %s/%s from node %s (%s): %s", p->app,
      p->name, p->origin, p->url, error->message);
}

static void
pull_on_message (RtmfpTcClient * c, const RtmfpTcMessage * msg, guint64 gap,
    gpointer ud)
{
  Delivery *d = g_new0 (Delivery, 1);

  d->type = msg->type;
  d->ts = msg->timestamp;
  d->gap = gap;
  d->payload = g_bytes_new (msg->payload, msg->len);
  pull_post (ud, d);
}

static gint64
pull_clock (gpointer data)
{
  return g_get_monotonic_time ();       /* rtmfp_net_now's clock */
}

static gint64
pull_next (gpointer data)
{
  Pull *p = data;

  return rtmfp_tc_client_next_timeout (p->c);
}

static void
pull_fire (RtmfpNet * net, gpointer data)
{
  Pull *p = data;

  rtmfp_tc_client_handle_timeout (p->c, rtmfp_net_now (net));
}

static void
pull_do_start (RtmfpNet * net, gpointer data)
{
  Pull *p = data;
  RtmfpAddr a;

  p->timer = rtmfp_net_add_timer (net, pull_next, pull_fire, p);
  if (!rtmfp_addr_from_string (&a, p->url + strlen ("rtmfp://"), 0))
    return;                     /* checked before */
  rtmfp_tc_client_start (p->c, rtmfp_net_get_endpoint (net), &a, 1,
      rtmfp_net_now (net));
}

static void
pull_do_close (RtmfpNet * net, gpointer data)
{
  Pull *p = data;

  rtmfp_tc_client_close (p->c, rtmfp_net_now (net));
}

static void
pull_do_stop (RtmfpNet * net, gpointer data)
{
  Pull *p = data;

  if (rtmfp_tc_client_get_state (p->c) != RTMFP_TC_CLIENT_STATE_CLOSED)
    rtmfp_tc_client_abort (p->c, rtmfp_net_now (net));
  if (p->timer)
    g_source_destroy (p->timer);  /* unreferenced in pull_unref */
}

/* ---- on the server's thread ---- */

static Pull *
pull_new (RtmfpCluster * cl, const gchar * key, const gchar * app,
    const gchar * name, const gchar * origin, const Node * n)
{
  RtmfpTcClientConfig ccfg;
  RtmfpTcClientCallbacks cb = { 0 };
  RtmfpEndpointConfig ecfg;
  RtmfpIdentity *id;
  GError *err = NULL;
  gchar *token = NULL;
  Pull *p = g_new0 (Pull, 1);

  p->ref = 1;
  p->cl = cl;
  p->key = g_strdup (key);
  p->app = g_strdup (app);
  p->name = g_strdup (name);
  p->origin = g_strdup (origin);
  p->url = g_strdup_printf ("rtmfp://%s", n->addr);

  rtmfp_tc_client_config_init (&ccfg);
  ccfg.role = RTMFP_TC_CLIENT_ROLE_PLAY;
  {
    /* marked, so that an origin above its load does not redirect us */
    gchar *tc_url = g_strdup_printf ("%s/%s?" CLUSTER_MARK "%s", p->url, app,
        cl->node);

    ccfg.tc_url = tc_url;
    ccfg.app = app;
    ccfg.stream = name;
    ccfg.timeout_us = 10 * G_TIME_SPAN_SECOND;
    ccfg.handshake = RTMFP_HANDSHAKE_RFC;
    if (cl->auth_key) {
      gsize klen;
      const guint8 *k = g_bytes_get_data (cl->auth_key, &klen);

      token = rtmfp_server_auth_token (k, klen, NULL, app);
      ccfg.auth_token = token;
      ccfg.auth_mode = RTMFP_TC_AUTH_HASHED;
    }
    cb.state_changed = pull_on_state;
    cb.error = pull_on_error;
    cb.message = pull_on_message;
    p->c = rtmfp_tc_client_new (&ccfg, &cb, p, pull_clock, NULL);
    g_free (tc_url);
    g_free (token);
  }
  rtmfp_endpoint_config_init (&ecfg);
  ecfg.accept_sessions = FALSE;
  id = rtmfp_tc_client_new_identity (RTMFP_HANDSHAKE_RFC);
  ecfg.identity = id;
  p->net = rtmfp_net_new (&ecfg, rtmfp_tc_client_get_endpoint_callbacks (),
      p->c, NULL, 0, &err);
  rtmfp_identity_unref (id);
  if (!p->net) {
    g_warning ("cluster: no socket for an upstream session: %s",
        err->message);
    g_clear_error (&err);
    pull_unref (p);
    return NULL;
  }
  rtmfp_net_start (p->net);
  rtmfp_net_invoke (p->net, pull_do_start, p, NULL);
  return p;
}

/* Ends the pull's stream and closes its session (orderly; finished in
 * pulls_reap) */
static void
pull_begin_close (RtmfpCluster * cl, Pull * p)
{
  if (p->state == PULL_STREAMING)
    g_atomic_int_add (&cl->n_upstreams, -1);
  p->state = PULL_ENDED;
  pull_end_stream (p);
  p->dead = TRUE;
  p->close_by = rtmfp_net_now (cl->net) + PULL_CLOSE_US;
  rtmfp_net_invoke (p->net, pull_do_close, p, NULL);
  g_hash_table_remove (cl->pulls, p->key);
  g_ptr_array_add (cl->closing, p);
}

static void
pull_finish (Pull * p)
{
  rtmfp_net_invoke_sync (p->net, pull_do_stop, p);
  rtmfp_net_stop (p->net);
  pull_unref (p);
}

static void
pulls_reap (RtmfpCluster * cl, gint64 now, gboolean all)
{
  guint i = 0;

  while (i < cl->closing->len) {
    Pull *p = g_ptr_array_index (cl->closing, i);

    if (all || g_atomic_int_get (&p->closed) || now >= p->close_by) {
      g_ptr_array_remove_index_fast (cl->closing, i);
      pull_finish (p);
    } else
      i++;
  }
}

/* ------------------------------------------------------------------ */

gboolean
rtmfp_cluster_publish_check (const gchar * app, const gchar * name,
    gpointer data)
{
  RtmfpCluster *cl = data;
  gchar *key = stream_key (app, name);
  const gchar *owner;
  gchar *other = NULL;

  g_mutex_lock (&cl->lock);
  owner = g_hash_table_lookup (cl->streams, key);
  /* a name registered by another live node */
  if (owner && !g_str_equal (owner, cl->node) &&
      g_hash_table_contains (cl->nodes, owner))
    other = g_strdup (owner);
  g_mutex_unlock (&cl->lock);
  /* the server logs the refusal (-v, --log-format json) */
  if (other)
    g_debug ("cluster: publish %s/%s refused: published on node %s", app,
        name, other);
  g_free (key);
  g_free (other);
  return other == NULL;
}

void
rtmfp_cluster_set_max_load (RtmfpCluster * cl, guint max_sessions)
{
  cl->max_load = max_sessions;
}

static gint
cmp_load (gconstpointer a, gconstpointer b)
{
  const Node *x = *(const Node * const *) a, *y = *(const Node * const *) b;

  return x->sessions < y->sessions ? -1 : x->sessions > y->sessions;
}

guint
rtmfp_cluster_redirect (guint n_sessions, const gchar * tc_url,
    RtmfpAddr * addrs, guint max, gpointer data)
{
  RtmfpCluster *cl = data;
  GPtrArray *nodes;
  GHashTableIter it;
  gpointer k, v;
  guint i, n = 0;

  gboolean draining = g_atomic_int_get (&cl->draining);

  if (!draining && (cl->max_load == 0 || n_sessions < cl->max_load))
    return 0;
  /* another node's upstream session: its stream is here */
  if (tc_url && strstr (tc_url, CLUSTER_MARK))
    return 0;
  nodes = g_ptr_array_new ();
  g_mutex_lock (&cl->lock);
  g_hash_table_iter_init (&it, cl->nodes);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    Node *node = v;

    if (!g_str_equal (k, cl->node) && !node->draining &&
        (cl->max_load == 0 || node->sessions < cl->max_load))
      g_ptr_array_add (nodes, node);
  }
  g_ptr_array_sort (nodes, cmp_load);
  for (i = 0; i < nodes->len && n < MIN (max, MAX_REDIRECT); i++) {
    Node *node = g_ptr_array_index (nodes, i);

    if (rtmfp_addr_from_string (&addrs[n], node->addr, 0))
      n++;
  }
  g_mutex_unlock (&cl->lock);
  g_ptr_array_unref (nodes);
  if (n)
    cl->redirects++;
  return n;
}

guint
rtmfp_cluster_peer_elsewhere (const guint8 * fingerprint, RtmfpAddr * addrs,
    guint max, gpointer data)
{
  RtmfpCluster *cl = data;
  GHashTableIter it;
  gpointer k, v;
  guint n = 0;

  /* every other live node: the one the peer is connected to introduces
   * it, the others send the initiator on (it asks each address once) */
  g_mutex_lock (&cl->lock);
  g_hash_table_iter_init (&it, cl->nodes);
  while (n < max && g_hash_table_iter_next (&it, &k, &v)) {
    Node *node = v;

    if (!g_str_equal (k, cl->node) &&
        rtmfp_addr_from_string (&addrs[n], node->addr, 0))
      n++;
  }
  g_mutex_unlock (&cl->lock);
  return n;
}

void
rtmfp_cluster_drain (RtmfpCluster * cl)
{
  g_atomic_int_set (&cl->draining, TRUE);
  /* registered as draining at once */
  g_mutex_lock (&cl->lock);
  g_cond_signal (&cl->cond);
  g_mutex_unlock (&cl->lock);
}

void
rtmfp_cluster_start (RtmfpCluster * cl, RtmfpServer * srv, RtmfpNet * net)
{
  cl->srv = srv;
  cl->net = net;
  cl->thread = g_thread_new ("rtmfp-cluster", redis_thread, cl);
}

typedef struct {
  RtmfpCluster *cl;
  GPtrArray *local;             /* keys */
  GPtrArray *wanted;            /* app, name, key triples */
  GHashTable *players;          /* key -> n players (of pulled streams) */
} PollCtx;

static void
poll_stream (const gchar * app, const gchar * name, gboolean published,
    guint n_players, gpointer ud)
{
  PollCtx *ctx = ud;
  gchar *key = stream_key (app, name);
  Pull *p = g_hash_table_lookup (ctx->cl->pulls, key);

  if (p) {
    g_hash_table_insert (ctx->players, g_strdup (key),
        GUINT_TO_POINTER (n_players));
  } else if (published) {
    g_ptr_array_add (ctx->local, g_strdup (key));
  } else if (n_players > 0) {
    g_ptr_array_add (ctx->wanted, g_strdup (app));
    g_ptr_array_add (ctx->wanted, g_strdup (name));
    g_ptr_array_add (ctx->wanted, g_strdup (key));
  }
  g_free (key);
}

void
rtmfp_cluster_poll (RtmfpCluster * cl)
{
  RtmfpServerStats st;
  PollCtx ctx;
  gint64 now = rtmfp_net_now (cl->net);
  GHashTableIter it;
  gpointer k, v;
  GPtrArray *to_close = g_ptr_array_new ();
  guint i, kbps = 0, cpu = 0;
  guint64 bytes;
  gint64 cpu_us;
  struct rusage ru;

  /* the process' CPU time (every thread) since the previous poll */
  getrusage (RUSAGE_SELF, &ru);
  cpu_us = (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec
      + (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
  if (cl->prev_time && now > cl->prev_time && cpu_us >= cl->prev_cpu_us)
    cpu = (guint) ((cpu_us - cl->prev_cpu_us) * 1000 / (now - cl->prev_time));
  cl->prev_cpu_us = cpu_us;
  rtmfp_server_get_stats (cl->srv, &st);
  bytes = st.bytes_in + st.bytes_out + st.rtmp_bytes_in + st.rtmp_bytes_out;
  if (cl->prev_time && now > cl->prev_time)
    kbps = (guint) ((bytes - cl->prev_bytes) * 8 * 1000 /
        (guint64) (now - cl->prev_time));
  cl->prev_time = now;
  cl->prev_bytes = bytes;

  ctx.cl = cl;
  ctx.local = g_ptr_array_new_with_free_func (g_free);
  ctx.wanted = g_ptr_array_new_with_free_func (g_free);
  ctx.players = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  rtmfp_relay_foreach_stream (rtmfp_server_get_relay (cl->srv), poll_stream,
      &ctx);

  g_mutex_lock (&cl->lock);
  g_ptr_array_unref (cl->local_streams);
  cl->local_streams = g_ptr_array_ref (ctx.local);
  cl->load_sessions = st.sessions + st.rtmp_connections;
  cl->load_players = st.players;
  cl->load_kbps = kbps;
  cl->load_cpu = cpu;

  /* pulls to end: ended by the origin, no player for a while, or the
   * name now registered by another node (only known with Redis up) */
  g_hash_table_iter_init (&it, cl->pulls);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    Pull *p = v;
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (ctx.players, k));
    const gchar *owner = g_hash_table_lookup (cl->streams, k);

    if (n > 0)
      p->idle_since = 0;
    else if (!p->idle_since)
      p->idle_since = now;
    /* with Redis up, a name nobody registers any more (unpublished, or
     * its origin died and the key expired) or another node registers */
    if (p->state == PULL_ENDED ||
        (p->idle_since && now - p->idle_since >= PULL_IDLE_US) ||
        (cl->redis_up && (!owner || !g_str_equal (owner, p->origin))))
      g_ptr_array_add (to_close, p);
  }
  /* pulls to start: a local player waits for a name another live node
   * publishes */
  for (i = 0; i + 2 < ctx.wanted->len; i += 3) {
    const gchar *app = g_ptr_array_index (ctx.wanted, i);
    const gchar *name = g_ptr_array_index (ctx.wanted, i + 1);
    const gchar *key = g_ptr_array_index (ctx.wanted, i + 2);
    const gchar *owner = g_hash_table_lookup (cl->streams, key);
    const gchar *origin;
    const Node *n;
    gint64 *retry = g_hash_table_lookup (cl->retry_at, key);
    Pull *p;

    if (!owner || g_str_equal (owner, cl->node) ||
        !(n = g_hash_table_lookup (cl->nodes, owner)) ||
        g_hash_table_contains (cl->pulls, key) || (retry && now < *retry))
      continue;
    origin = owner;
    p = pull_new (cl, key, app, name, origin, n);
    if (p) {
      g_hash_table_insert (cl->pulls, p->key, p);
      retry = g_new (gint64, 1);
      *retry = now + PULL_RETRY_US;
      g_hash_table_replace (cl->retry_at, g_strdup (key), retry);
    }
  }
  g_mutex_unlock (&cl->lock);
  /* retry times long past are forgotten (names come and go) */
  g_hash_table_iter_init (&it, cl->retry_at);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (*(gint64 *) v + PULL_IDLE_US < now)
      g_hash_table_iter_remove (&it);

  for (i = 0; i < to_close->len; i++)
    pull_begin_close (cl, g_ptr_array_index (to_close, i));
  pulls_reap (cl, now, FALSE);

  g_ptr_array_unref (to_close);
  g_ptr_array_unref (ctx.local);
  g_ptr_array_unref (ctx.wanted);
  g_hash_table_unref (ctx.players);
}

void
rtmfp_cluster_shutdown (RtmfpCluster * cl)
{
  GList *pulls, *l;

  pulls = g_hash_table_get_values (cl->pulls);
  for (l = pulls; l; l = l->next)
    pull_begin_close (cl, l->data);
  g_list_free (pulls);
  pulls_reap (cl, 0, TRUE);
}

void
rtmfp_cluster_free (RtmfpCluster * cl)
{
  if (!cl)
    return;
  if (cl->thread) {
    g_mutex_lock (&cl->lock);
    cl->quit = TRUE;
    g_cond_signal (&cl->cond);
    g_mutex_unlock (&cl->lock);
    g_thread_join (cl->thread);
  } else if (cl->rc && cl->node) {
    gchar *nk = g_strconcat (NODE_PREFIX, cl->node, NULL);
    redisReply *r = NULL;

    /* never started: only our node key, if it is ours (a refused
     * duplicate name must not delete the live node's) */
    if (cl->instance) {
      gchar *v = node_value (cl, 0, 0, 0, 0);

      r = redisCommand (cl->rc, "EVAL %s 1 %s %s", DEL_IF_SCRIPT, nk, v);
      g_free (v);
    }
    if (r)
      freeReplyObject (r);
    g_free (nk);
  }
  if (cl->rc)
    redisFree (cl->rc);
  if (cl->pulls) {
    g_assert (g_hash_table_size (cl->pulls) == 0 && cl->closing->len == 0);
    g_hash_table_unref (cl->pulls);
    g_ptr_array_unref (cl->closing);
    g_hash_table_unref (cl->retry_at);
    g_hash_table_unref (cl->registered);
    g_hash_table_unref (cl->warned);
    g_hash_table_unref (cl->nodes);
    g_hash_table_unref (cl->streams);
    g_ptr_array_unref (cl->local_streams);
    g_mutex_clear (&cl->lock);
    g_cond_clear (&cl->cond);
  }
  if (cl->auth_key)
    g_bytes_unref (cl->auth_key);
  g_free (cl->host);
  g_free (cl->node);
  g_free (cl->advertise);
  g_free (cl->instance);
  g_free (cl);
}

gchar *
rtmfp_cluster_stats_string (RtmfpCluster * cl)
{
  gboolean up;

  g_mutex_lock (&cl->lock);
  up = cl->redis_up;
  g_mutex_unlock (&cl->lock);
  return g_strdup_printf (" cluster_nodes=%d cluster_streams=%d "
      "cluster_upstreams=%d cluster_redirects=%" G_GUINT64_FORMAT
      " cluster_redis=%s", g_atomic_int_get (&cl->n_nodes),
      g_atomic_int_get (&cl->n_streams), g_atomic_int_get (&cl->n_upstreams),
      cl->redirects, up ? "up" : "down");
}

const gchar *
rtmfp_cluster_get_node_name (RtmfpCluster * cl)
{
  return cl->node;
}

void
rtmfp_cluster_get_counts (RtmfpCluster * cl, gboolean * redis_up,
    guint * nodes, guint * streams, guint * upstreams, guint64 * redirects)
{
  g_mutex_lock (&cl->lock);
  *redis_up = cl->redis_up;
  g_mutex_unlock (&cl->lock);
  *nodes = g_atomic_int_get (&cl->n_nodes);
  *streams = g_atomic_int_get (&cl->n_streams);
  *upstreams = g_atomic_int_get (&cl->n_upstreams);
  *redirects = cl->redirects;
}
