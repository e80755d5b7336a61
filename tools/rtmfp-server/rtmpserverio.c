/* rtmfp-server: the RTMP listener's I/O (see rtmpserverio.h).
 *
 * Writing: output queued by the relay (another connection's media) marks
 * the connection dirty; a flush source of higher priority than the reads
 * writes every dirty connection before more input is read, so a player's
 * queue only holds what its socket does not take (which is what the
 * relay's backpressure measures).  A read takes at most READ_CHUNK bytes
 * per dispatch for the same reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include <gio/gnetworking.h>
#include <string.h>

#include "rtmpserverio.h"

#define READ_CHUNK (64 * 1024)
/* Connections accepted per listening socket wakeup */
#define ACCEPT_BATCH 16
/* Beyond this many clients, new ones are closed at once */
#define MAX_CONNECTIONS 4096
#define LISTEN_BACKLOG 128
/* After an accept error (out of file descriptors, say: the connection
 * stays in the backlog and the socket readable), accepting pauses this
 * long instead of spinning */
#define ACCEPT_PAUSE_MS 250

typedef struct _IoConn IoConn;

struct _RtmpServerIo {
  RtmfpServer *srv;
  GSocket *listener;
  guint16 port;
  GMainContext *context;
  GSource *listen_source;
  GSource *pause_source;        /* accepting paused after an error */
  GSource *flush_source;
  GQueue conns;                 /* IoConn */
  GQueue dirty;                 /* IoConn with output to write */
  RtmpServerIoTouchedFunc touched;
  gpointer touched_data;
  guint8 *buf;                  /* READ_CHUNK */
};

struct _IoConn {
  RtmpServerIo *io;
  GList link;                   /* in io->conns */
  GList dirty_link;             /* in io->dirty while dirty */
  gboolean dirty;
  GSocket *socket;
  GSource *in_source;           /* while input is wanted */
  GSource *out_source;          /* while the socket does not take output */
  RtmfpServerRtmpConn *rc;
  gboolean broken;              /* socket error or EOF: close */
};

static void
io_touched (RtmpServerIo * io)
{
  if (io->touched)
    io->touched (io->touched_data);
}

static void
source_clear (GSource ** s)
{
  if (*s) {
    g_source_destroy (*s);
    g_source_unref (*s);
    *s = NULL;
  }
}

static void
conn_close (IoConn * c)
{
  RtmpServerIo *io = c->io;

  source_clear (&c->in_source);
  source_clear (&c->out_source);
  if (c->dirty)
    g_queue_unlink (&io->dirty, &c->dirty_link);
  c->dirty = FALSE;
  g_queue_unlink (&io->conns, &c->link);
  g_socket_close (c->socket, NULL);
  g_object_unref (c->socket);
  /* ends its streams on the server: other connections may get dirty */
  rtmfp_server_rtmp_conn_free (c->rc);
  g_free (c);
}

static gboolean on_writable (GSocket * socket, GIOCondition cond,
    gpointer data);

/* Writes what the socket takes; watches G_IO_OUT while output is left.
 * Sets c->broken on a socket error. */
static void
conn_write (IoConn * c)
{
  for (;;) {
    gsize len;
    const guint8 *d = rtmfp_server_rtmp_conn_peek_output (c->rc, &len);
    GError *err = NULL;
    gssize n;

    if (!d || len == 0)
      break;
    n = g_socket_send (c->socket, (const gchar *) d, len, NULL, &err);
    if (n < 0) {
      if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_clear_error (&err);
        if (!c->out_source) {
          c->out_source = g_socket_create_source (c->socket, G_IO_OUT,
              NULL);
          g_source_set_callback (c->out_source, G_SOURCE_FUNC (on_writable),
              c, NULL);
          g_source_attach (c->out_source, c->io->context);
        }
        return;
      }
      g_debug ("rtmp: send failed: %s", err->message);
      g_clear_error (&err);
      c->broken = TRUE;
      return;
    }
    rtmfp_server_rtmp_conn_consume_output (c->rc, n);
  }
  source_clear (&c->out_source);
}

/* After any event: close the connection if it is over.  TRUE if closed. */
static gboolean
conn_maybe_close (IoConn * c)
{
  if (!c->broken && !rtmfp_server_rtmp_conn_should_close (c->rc))
    return FALSE;
  conn_close (c);
  return TRUE;
}

/* (The main context holds a reference on a source while dispatching it,
 * so a callback may destroy its own source.) */
static gboolean
on_writable (GSocket * socket, GIOCondition cond, gpointer data)
{
  IoConn *c = data;
  RtmpServerIo *io = c->io;
  GSource *self = c->out_source;

  conn_write (c);               /* clears out_source once drained */
  if (conn_maybe_close (c)) {
    io_touched (io);
    return G_SOURCE_REMOVE;
  }
  return c->out_source == self ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_readable (GSocket * socket, GIOCondition cond, gpointer data)
{
  IoConn *c = data;
  RtmpServerIo *io = c->io;
  GError *err = NULL;
  gboolean more = TRUE;
  gssize n;

  n = g_socket_receive (c->socket, (gchar *) io->buf, READ_CHUNK, NULL, &err);
  if (n < 0) {
    if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error (&err);
      return G_SOURCE_CONTINUE;
    }
    g_debug ("rtmp: receive failed: %s", err->message);
    g_clear_error (&err);
    c->broken = TRUE;
  } else if (n == 0) {
    c->broken = TRUE;           /* the client closed */
  } else if (!rtmfp_server_rtmp_conn_feed (c->rc, io->buf, n)) {
    /* no more input wanted: drain the output, then close */
    source_clear (&c->in_source);
    more = FALSE;
  }
  if (!c->broken)
    conn_write (c);
  if (conn_maybe_close (c))
    more = FALSE;
  io_touched (io);
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* The server queued output for c outside of its own events */
static void
on_wake (RtmfpServerRtmpConn * rc, gpointer data)
{
  IoConn *c = data;
  RtmpServerIo *io = c->io;

  if (c->dirty)
    return;
  c->dirty = TRUE;
  g_queue_push_tail_link (&io->dirty, &c->dirty_link);
  if (io->flush_source)
    g_source_set_ready_time (io->flush_source, 0);
}

static gboolean
flush_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  RtmpServerIo *io = user_data;
  gboolean closed = FALSE;
  GList *l;

  g_source_set_ready_time (source, -1);
  /* closing a connection may make others dirty: they are handled in this
   * loop too (pushed at the tail) */
  while ((l = g_queue_pop_head_link (&io->dirty))) {
    IoConn *c = l->data;

    c->dirty = FALSE;
    if (!c->out_source && !c->broken)
      conn_write (c);
    if (conn_maybe_close (c))
      closed = TRUE;
  }
  if (closed)
    io_touched (io);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {
  NULL, NULL, flush_dispatch, NULL, NULL, NULL
};

static gchar *
peer_string (GSocket * s)
{
  GSocketAddress *sa = g_socket_get_remote_address (s, NULL);
  gchar *str = NULL;

  if (sa && G_IS_INET_SOCKET_ADDRESS (sa)) {
    GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS (sa);
    gchar *ip = g_inet_address_to_string (g_inet_socket_address_get_address
        (isa));

    if (g_inet_address_get_family (g_inet_socket_address_get_address (isa))
        == G_SOCKET_FAMILY_IPV6)
      str = g_strdup_printf ("[%s]:%u", ip,
          g_inet_socket_address_get_port (isa));
    else
      str = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (isa));
    g_free (ip);
  }
  g_clear_object (&sa);
  return str ? str : g_strdup ("?");
}

static void
accept_one (RtmpServerIo * io, GSocket * s)
{
  IoConn *c;
  gchar *peer;

  g_socket_set_blocking (s, FALSE);
  g_socket_set_keepalive (s, TRUE);
  /* media latency: no Nagle delay on small messages */
  g_socket_set_option (s, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  c = g_new0 (IoConn, 1);
  c->io = io;
  c->socket = s;
  c->link.data = c;
  c->dirty_link.data = c;
  peer = peer_string (s);
  c->rc = rtmfp_server_rtmp_conn_new (io->srv, peer, on_wake, c);
  g_free (peer);
  g_queue_push_tail_link (&io->conns, &c->link);
  c->in_source = g_socket_create_source (s, G_IO_IN | G_IO_HUP | G_IO_ERR,
      NULL);
  g_source_set_callback (c->in_source, G_SOURCE_FUNC (on_readable), c, NULL);
  g_source_attach (c->in_source, io->context);
}

static gboolean on_incoming (GSocket * listener, GIOCondition cond,
    gpointer data);

static void
listen_source_attach (RtmpServerIo * io)
{
  io->listen_source = g_socket_create_source (io->listener, G_IO_IN, NULL);
  g_source_set_callback (io->listen_source, G_SOURCE_FUNC (on_incoming), io,
      NULL);
  g_source_attach (io->listen_source, io->context);
}

static gboolean
on_pause_over (gpointer data)
{
  RtmpServerIo *io = data;

  g_source_unref (io->pause_source);
  io->pause_source = NULL;
  listen_source_attach (io);
  return G_SOURCE_REMOVE;
}

static gboolean
on_incoming (GSocket * listener, GIOCondition cond, gpointer data)
{
  RtmpServerIo *io = data;
  guint i;

  for (i = 0; i < ACCEPT_BATCH; i++) {
    GError *err = NULL;
    GSocket *s = g_socket_accept (listener, NULL, &err);

    if (!s) {
      if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_clear_error (&err);
        break;
      }
      g_warning ("rtmp: accept failed: %s; pausing for %u ms", err->message,
          ACCEPT_PAUSE_MS);
      g_clear_error (&err);
      source_clear (&io->listen_source);
      io->pause_source = g_timeout_source_new (ACCEPT_PAUSE_MS);
      g_source_set_callback (io->pause_source, on_pause_over, io, NULL);
      g_source_attach (io->pause_source, io->context);
      return G_SOURCE_REMOVE;
    }
    if (io->conns.length >= MAX_CONNECTIONS) {
      g_debug ("rtmp: %u connections open, refusing another",
          io->conns.length);
      g_socket_close (s, NULL);
      g_object_unref (s);
      continue;
    }
    accept_one (io, s);
  }
  return G_SOURCE_CONTINUE;
}

static GInetAddress *
resolve (const gchar * host, GError ** error)
{
  GInetAddress *ia = g_inet_address_new_from_string (host);
  GList *list;

  if (ia)
    return ia;
  list = g_resolver_lookup_by_name (g_resolver_get_default (), host, NULL,
      error);
  if (!list)
    return NULL;
  ia = g_object_ref (list->data);
  g_resolver_free_addresses (list);
  return ia;
}

RtmpServerIo *
rtmp_server_io_new (RtmfpServer * srv, const gchar * host, guint16 port,
    GError ** error)
{
  RtmpServerIo *io;
  GInetAddress *ia;
  GSocketAddress *sa, *local;
  GSocket *s;

  g_return_val_if_fail (srv != NULL && host != NULL, NULL);

  ia = resolve (host, error);
  if (!ia)
    return NULL;
  s = g_socket_new (g_inet_address_get_family (ia), G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, error);
  if (!s) {
    g_object_unref (ia);
    return NULL;
  }
  sa = g_inet_socket_address_new (ia, port);
  g_object_unref (ia);
  g_socket_set_blocking (s, FALSE);
  g_socket_set_listen_backlog (s, LISTEN_BACKLOG);
  if (!g_socket_bind (s, sa, TRUE, error) || !g_socket_listen (s, error)) {
    g_object_unref (sa);
    g_object_unref (s);
    return NULL;
  }
  g_object_unref (sa);
  local = g_socket_get_local_address (s, error);
  if (!local) {
    g_object_unref (s);
    return NULL;
  }

  io = g_new0 (RtmpServerIo, 1);
  io->srv = srv;
  io->listener = s;
  io->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_object_unref (local);
  g_queue_init (&io->conns);
  g_queue_init (&io->dirty);
  io->buf = g_malloc (READ_CHUNK);
  return io;
}

void
rtmp_server_io_start (RtmpServerIo * io, GMainContext * context,
    RtmpServerIoTouchedFunc touched, gpointer touched_data)
{
  g_return_if_fail (io != NULL && io->context == NULL);

  io->context = context ? g_main_context_ref (context) :
      g_main_context_ref_thread_default ();
  io->touched = touched;
  io->touched_data = touched_data;

  io->flush_source = g_source_new (&flush_funcs, sizeof (GSource));
  g_source_set_callback (io->flush_source, NULL, io, NULL);
  /* before reads: a player's queue is written out before more media comes */
  g_source_set_priority (io->flush_source, G_PRIORITY_DEFAULT - 1);
  g_source_set_ready_time (io->flush_source, -1);
  g_source_attach (io->flush_source, io->context);
  listen_source_attach (io);
}

guint16
rtmp_server_io_get_port (RtmpServerIo * io)
{
  g_return_val_if_fail (io != NULL, 0);
  return io->port;
}

guint
rtmp_server_io_get_n_connections (RtmpServerIo * io)
{
  g_return_val_if_fail (io != NULL, 0);
  return io->conns.length;
}

void
rtmp_server_io_free (RtmpServerIo * io)
{
  GList *l;

  if (!io)
    return;
  source_clear (&io->listen_source);
  source_clear (&io->pause_source);
  while ((l = g_queue_peek_head_link (&io->conns)))
    conn_close (l->data);
  source_clear (&io->flush_source);
  g_socket_close (io->listener, NULL);
  g_object_unref (io->listener);
  if (io->context)
    g_main_context_unref (io->context);
  g_free (io->buf);
  g_free (io);
}
