/* rtmfp-server --metrics: HTTP on its own thread (see rtmfpmetricshttp.h).
 *
 * Everything below runs on the metrics thread, but the option handling,
 * rtmfp_metrics_http_new/start/stop/free (the main thread) and
 * rtmfp_metrics_http_publish (any thread, under the lock).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-metrics"

#include "rtmfpmetricshttp.h"
#include "rtmfphttprequest.h"

#include <string.h>
#include <gio/gio.h>

static gchar *opt_metrics;

const GOptionEntry rtmfp_metrics_option_entries[] = {
  {"metrics", 0, 0, G_OPTION_ARG_STRING, &opt_metrics,
      "Serve Prometheus metrics over HTTP on this TCP address: GET /metrics "
        "(port 0: any free port)", "ADDR:PORT"},
  {NULL}
};

const gchar *
rtmfp_metrics_option_address (void)
{
  return opt_metrics;
}

typedef enum {
  CLIENT_READING,               /* the request head is coming */
  CLIENT_WAITING,               /* for a fresh snapshot */
  CLIENT_WRITING,               /* the answer is going out */
  CLIENT_DRAINING,              /* answered: reading what is left, to EOF */
} ClientState;

typedef struct {
  RtmfpMetricsHttp *m;
  GSocketConnection *conn;
  GSocket *sock;
  GSource *io;
  GSource *deadline;
  ClientState state;
  GByteArray *in;
  GBytes *out;
  gsize out_off;
  gboolean head_only;
} Client;

struct _RtmfpMetricsHttp {
  GSocketService *service;
  guint16 port;
  gchar *version;
  RtmfpMetricsRefreshFunc refresh;
  gpointer refresh_data;
  GMainContext *ctx;
  GMainLoop *loop;
  GThread *thread;

  GMutex lock;                  /* publish (any thread) -> pending */
  RtmfpServerMetrics pending;
  gboolean have_pending;

  /* metrics thread only */
  GBytes *body;                 /* the last snapshot, formatted */
  gint64 body_time;
  gboolean refreshing;
  gint64 refresh_started;
  GSource *refresh_timer;
  GList *clients;               /* Client * */
  guint n_clients;
};

static void client_close (Client * c);
static void client_watch (Client * c, GIOCondition cond);

/* ---- answers ---- */

static const gchar *
reason_phrase (guint code)
{
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

/* The whole answer; body NULL: a one-line text body saying the status */
static GBytes *
make_response (guint code, GBytes * body, gboolean head_only)
{
  GString *s = g_string_new (NULL);
  gchar *text = NULL;
  gconstpointer data;
  gsize len;

  if (!body) {
    text = g_strdup_printf ("%u %s\n", code, reason_phrase (code));
    data = text;
    len = strlen (text);
  } else {
    data = g_bytes_get_data (body, &len);
  }
  g_string_append_printf (s, "HTTP/1.1 %u %s\r\n", code,
      reason_phrase (code));
  g_string_append_printf (s, "Content-Type: %s\r\n", code == 200 ?
      "text/plain; version=0.0.4; charset=utf-8" :
      "text/plain; charset=utf-8");
  g_string_append_printf (s, "Content-Length: %" G_GSIZE_FORMAT "\r\n", len);
  if (code == 405)
    g_string_append (s, "Allow: GET, HEAD\r\n");
  g_string_append (s, "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
  if (!head_only)
    g_string_append_len (s, data, len);
  g_free (text);
  return g_string_free_to_bytes (s);
}

static void
client_respond (Client * c, guint code, GBytes * body)
{
  g_clear_pointer (&c->out, g_bytes_unref);
  c->out = make_response (code, body, c->head_only);
  c->out_off = 0;
  c->state = CLIENT_WRITING;
  client_watch (c, G_IO_OUT);
}

/* ---- snapshots ---- */

static void
format_body (RtmfpMetricsHttp * m, RtmfpServerMetrics * snap)
{
  GString *s = g_string_sized_new (4096);

  rtmfp_server_metrics_format (snap, m->version, s);
  g_clear_pointer (&m->body, g_bytes_unref);
  m->body = g_string_free_to_bytes (s);
  m->body_time = g_get_monotonic_time ();
}

/* Answers every client waiting for a snapshot with the last one */
static void
answer_waiting (RtmfpMetricsHttp * m)
{
  GList *l, *waiting = NULL;

  for (l = m->clients; l; l = l->next)
    if (((Client *) l->data)->state == CLIENT_WAITING)
      waiting = g_list_prepend (waiting, l->data);
  for (l = waiting; l; l = l->next)
    client_respond (l->data, m->body ? 200 : 503, m->body);
  g_list_free (waiting);
  if (m->refresh_timer) {
    g_source_destroy (m->refresh_timer);
    g_clear_pointer (&m->refresh_timer, g_source_unref);
  }
}

/* rtmfp_metrics_http_publish's wakeup */
static gboolean
on_published (gpointer data)
{
  RtmfpMetricsHttp *m = data;
  RtmfpServerMetrics snap;
  gboolean have;

  g_mutex_lock (&m->lock);
  have = m->have_pending;
  snap = m->pending;
  memset (&m->pending, 0, sizeof (m->pending));
  m->have_pending = FALSE;
  g_mutex_unlock (&m->lock);
  if (have) {
    format_body (m, &snap);
    rtmfp_server_metrics_clear (&snap);
    m->refreshing = FALSE;
    answer_waiting (m);
  }
  return G_SOURCE_REMOVE;
}

/* The refresh did not come back in time: the last snapshot will do */
static gboolean
on_refresh_timeout (gpointer data)
{
  RtmfpMetricsHttp *m = data;

  g_debug ("no snapshot within %d ms: serving the last one",
      (gint) (RTMFP_METRICS_REFRESH_TIMEOUT_US / 1000));
  g_clear_pointer (&m->refresh_timer, g_source_unref);
  m->refreshing = FALSE;
  answer_waiting (m);
  return G_SOURCE_REMOVE;
}

static void
serve_metrics (Client * c)
{
  RtmfpMetricsHttp *m = c->m;
  gint64 now = g_get_monotonic_time ();

  if (m->body && now - m->body_time <= RTMFP_METRICS_FRESH_US) {
    client_respond (c, 200, m->body);
    return;
  }
  c->state = CLIENT_WAITING;
  client_watch (c, 0);
  if (!m->refreshing) {
    m->refreshing = TRUE;
    m->refresh_started = now;
    m->refresh (m, m->refresh_data);
  }
  if (!m->refresh_timer) {
    m->refresh_timer = g_timeout_source_new (RTMFP_METRICS_REFRESH_TIMEOUT_US
        / 1000);
    g_source_set_callback (m->refresh_timer, on_refresh_timeout, m, NULL);
    g_source_attach (m->refresh_timer, m->ctx);
  }
}

/* ---- requests ---- */

static void
handle_request (Client * c, gsize head_len)
{
  guint code = rtmfp_http_request_status (c->in->data, head_len, "/metrics",
      &c->head_only);

  g_debug ("request -> %u", code);
  if (code != 200)
    client_respond (c, code, NULL);
  else
    serve_metrics (c);
}

static void
client_read (Client * c)
{
  guint8 buf[2048];
  gsize head;

  for (;;) {
    GError *err = NULL;
    gssize n = g_socket_receive (c->sock, (gchar *) buf, sizeof (buf), NULL,
        &err);

    if (n < 0 && g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free (err);
      return;
    }
    g_clear_error (&err);
    if (n <= 0) {
      client_close (c);         /* EOF or an error: nothing to answer */
      return;
    }
    if (c->state == CLIENT_DRAINING)
      continue;                 /* discarded */
    g_byte_array_append (c->in, buf, n);
    head = rtmfp_http_request_head_end (c->in->data, c->in->len);
    if (head) {
      handle_request (c, head);
      return;
    }
    if (c->in->len > RTMFP_METRICS_MAX_REQUEST) {
      client_respond (c, 431, NULL);
      return;
    }
  }
}

static void
client_write (Client * c)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (c->out, &len);

  while (c->out_off < len) {
    GError *err = NULL;
    gssize n = g_socket_send (c->sock, (const gchar *) data + c->out_off,
        len - c->out_off, NULL, &err);

    if (n < 0 && g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free (err);
      return;
    }
    if (n < 0) {
      g_error_free (err);
      client_close (c);
      return;
    }
    c->out_off += n;
  }
  /* answered: no more from us; read what the client still sends (so that
   * closing does not reset the connection under our answer) until it
   * closes or the deadline */
  g_socket_shutdown (c->sock, FALSE, TRUE, NULL);
  c->state = CLIENT_DRAINING;
  client_watch (c, G_IO_IN);
}

static gboolean
on_client_io (GSocket * sock, GIOCondition cond, gpointer data)
{
  Client *c = data;

  if (c->state == CLIENT_WRITING)
    client_write (c);
  else
    client_read (c);
  return G_SOURCE_CONTINUE;
}

/* Waits for cond on the socket (0: for nothing) */
static void
client_watch (Client * c, GIOCondition cond)
{
  if (c->io) {
    g_source_destroy (c->io);
    g_clear_pointer (&c->io, g_source_unref);
  }
  if (!cond)
    return;
  c->io = g_socket_create_source (c->sock, cond | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (c->io, (GSourceFunc) (GCallback) on_client_io, c,
      NULL);
  g_source_attach (c->io, c->m->ctx);
}

/* Slow request: 408; slow reader or drain: cut */
static gboolean
on_client_deadline (gpointer data)
{
  Client *c = data;

  g_clear_pointer (&c->deadline, g_source_unref);
  if (c->state == CLIENT_READING) {
    c->deadline = g_timeout_source_new (RTMFP_METRICS_REQUEST_TIMEOUT_US /
        1000);
    g_source_set_callback (c->deadline, on_client_deadline, c, NULL);
    g_source_attach (c->deadline, c->m->ctx);
    client_respond (c, 408, NULL);
  } else if (c->state != CLIENT_WAITING) {
    client_close (c);
  } else {
    /* waiting for a snapshot is bounded by the refresh timer */
    c->deadline = g_timeout_source_new (RTMFP_METRICS_REQUEST_TIMEOUT_US /
        1000);
    g_source_set_callback (c->deadline, on_client_deadline, c, NULL);
    g_source_attach (c->deadline, c->m->ctx);
  }
  return G_SOURCE_REMOVE;
}

static void
client_close (Client * c)
{
  RtmfpMetricsHttp *m = c->m;

  client_watch (c, 0);
  if (c->deadline) {
    g_source_destroy (c->deadline);
    g_source_unref (c->deadline);
  }
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_object_unref (c->conn);
  g_byte_array_unref (c->in);
  if (c->out)
    g_bytes_unref (c->out);
  m->clients = g_list_remove (m->clients, c);
  m->n_clients--;
  g_free (c);
}

static gboolean
on_incoming (GSocketService * service, GSocketConnection * conn,
    GObject * source, gpointer data)
{
  RtmfpMetricsHttp *m = data;
  GSocket *sock = g_socket_connection_get_socket (conn);
  Client *c;

  g_socket_set_blocking (sock, FALSE);
  if (m->n_clients >= RTMFP_METRICS_MAX_CLIENTS) {
    /* best effort, never waiting */
    GBytes *r = make_response (503, NULL, FALSE);
    gsize len;
    gconstpointer d = g_bytes_get_data (r, &len);

    g_debug ("%u clients: refusing one more", m->n_clients);
    (void) g_socket_send (sock, d, len, NULL, NULL);
    g_bytes_unref (r);
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    return TRUE;
  }
  c = g_new0 (Client, 1);
  c->m = m;
  c->conn = g_object_ref (conn);
  c->sock = sock;
  c->in = g_byte_array_new ();
  c->state = CLIENT_READING;
  m->clients = g_list_prepend (m->clients, c);
  m->n_clients++;
  c->deadline = g_timeout_source_new (RTMFP_METRICS_REQUEST_TIMEOUT_US /
      1000);
  g_source_set_callback (c->deadline, on_client_deadline, c, NULL);
  g_source_attach (c->deadline, m->ctx);
  client_watch (c, G_IO_IN);
  return TRUE;
}

/* ---- the thread ---- */

static gpointer
metrics_thread (gpointer data)
{
  RtmfpMetricsHttp *m = data;
  guint i;

  g_main_context_push_thread_default (m->ctx);
  g_socket_service_start (m->service);
  g_main_loop_run (m->loop);
  g_socket_service_stop (m->service);
  g_socket_listener_close (G_SOCKET_LISTENER (m->service));
  while (m->clients)
    client_close (m->clients->data);
  if (m->refresh_timer) {
    g_source_destroy (m->refresh_timer);
    g_clear_pointer (&m->refresh_timer, g_source_unref);
  }
  /* the cancelled accept completes from an idle: let it (bounded) */
  for (i = 0; i < 100 && g_main_context_pending (m->ctx); i++)
    g_main_context_iteration (m->ctx, FALSE);
  g_main_context_pop_thread_default (m->ctx);
  return NULL;
}

RtmfpMetricsHttp *
rtmfp_metrics_http_new (const gchar * host, guint16 port,
    const gchar * version, RtmfpMetricsRefreshFunc refresh, gpointer data,
    GError ** error)
{
  RtmfpMetricsHttp *m;
  GInetAddress *ia;
  GSocketAddress *sa, *bound = NULL;

  g_return_val_if_fail (host != NULL && refresh != NULL, NULL);

  ia = g_inet_address_new_from_string (host);
  if (!ia) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not an IP address", host);
    return NULL;
  }
  m = g_new0 (RtmfpMetricsHttp, 1);
  /* not active yet: accepting starts on the metrics thread, so that the
   * service's sources are attached to its context */
  m->service = g_object_new (G_TYPE_SOCKET_SERVICE, "active", FALSE, NULL);
  sa = g_inet_socket_address_new (ia, port);
  g_object_unref (ia);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (m->service), sa,
          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound,
          error)) {
    g_object_unref (sa);
    g_object_unref (m->service);
    g_free (m);
    return NULL;
  }
  g_object_unref (sa);
  m->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_signal_connect (m->service, "incoming", G_CALLBACK (on_incoming), m);
  m->version = g_strdup (version ? version : "");
  m->refresh = refresh;
  m->refresh_data = data;
  m->ctx = g_main_context_new ();
  m->loop = g_main_loop_new (m->ctx, FALSE);
  g_mutex_init (&m->lock);
  return m;
}

guint16
rtmfp_metrics_http_get_port (RtmfpMetricsHttp * m)
{
  return m->port;
}

void
rtmfp_metrics_http_start (RtmfpMetricsHttp * m)
{
  g_return_if_fail (m != NULL && m->thread == NULL);
  m->thread = g_thread_new ("rtmfp-metrics", metrics_thread, m);
}

void
rtmfp_metrics_http_publish (RtmfpMetricsHttp * m, RtmfpServerMetrics * snap)
{
  GSource *idle;

  g_mutex_lock (&m->lock);
  if (m->have_pending)
    rtmfp_server_metrics_clear (&m->pending);
  m->pending = *snap;
  m->have_pending = TRUE;
  g_mutex_unlock (&m->lock);
  memset (snap, 0, sizeof (*snap));
  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_published, m, NULL);
  g_source_attach (idle, m->ctx);
  g_source_unref (idle);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
rtmfp_metrics_http_stop (RtmfpMetricsHttp * m)
{
  GSource *idle;

  if (!m || !m->thread)
    return;
  /* from the loop itself: a quit before the thread reached
   * g_main_loop_run would be lost */
  idle = g_idle_source_new ();
  g_source_set_callback (idle, quit_loop, m->loop, NULL);
  g_source_attach (idle, m->ctx);
  g_source_unref (idle);
  g_thread_join (m->thread);
  m->thread = NULL;
}

void
rtmfp_metrics_http_free (RtmfpMetricsHttp * m)
{
  if (!m)
    return;
  rtmfp_metrics_http_stop (m);
  g_object_unref (m->service);
  g_main_loop_unref (m->loop);
  g_main_context_unref (m->ctx);
  if (m->have_pending)
    rtmfp_server_metrics_clear (&m->pending);
  g_clear_pointer (&m->body, g_bytes_unref);
  g_mutex_clear (&m->lock);
  g_free (m->version);
  g_free (m);
}
