/* RTMFP core: the Flash "TC" profile on the wire (RFC 7425 section 5):
 * flow metadata, RTMP messages in flows, user control events, command
 * helpers and rtmfp:// URIs (RFC 7425 section 6.1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-tc"

#include "rtmfptc.h"
#include "rtmfpvlu.h"

#include <string.h>

#define RTMFP_TC_MAX_STREAM_ID 0xffffff /* 24-bit RTMP stream ID (5.1) */

/* ------------------------------------------------------------------------ */
/* Flow metadata (RFC 7425 5.1.1) */

void
rtmfp_tc_metadata_append (GByteArray * out, guint32 stream_id,
    gboolean arrival_order)
{
  guint8 flags = RTMFP_TC_META_SID;

  g_return_if_fail (out != NULL);
  g_return_if_fail (stream_id <= RTMFP_TC_MAX_STREAM_ID);

  if (arrival_order)
    flags |= RTMFP_TC_META_RXI;
  rtmfp_append_u8 (out, 'T');
  rtmfp_append_u8 (out, 'C');
  rtmfp_append_u8 (out, flags);
  rtmfp_vlu_append (out, stream_id);
}

gboolean
rtmfp_tc_metadata_parse (const guint8 * md, gsize len, guint32 * stream_id,
    gboolean * arrival_order)
{
  guint64 sid;
  gsize used;
  guint8 flags;

  if (!md || len < 3 || md[0] != 'T' || md[1] != 'C') {
    g_debug ("flow metadata is not a TC signature");
    return FALSE;
  }
  flags = md[2];
  /* 5.1.1: a receiver SHOULD reject a flow whose SID flag is clear */
  if (!(flags & RTMFP_TC_META_SID)) {
    g_debug ("TC flow metadata without stream ID");
    return FALSE;
  }
  if (!rtmfp_vlu_decode (md + 3, len - 3, &sid, &used)) {
    g_debug ("TC flow metadata: bad stream ID VLU");
    return FALSE;
  }
  if (sid > RTMFP_TC_MAX_STREAM_ID) {
    g_debug ("TC flow metadata: stream ID %" G_GUINT64_FORMAT " > 24 bits",
        sid);
    return FALSE;
  }
  /* Reserved bits and any bytes after the stream ID (room for derived
   * profiles) are ignored. */
  if (3 + used < len)
    g_debug ("TC flow metadata: %" G_GSIZE_FORMAT " trailing bytes ignored",
        len - 3 - used);

  if (stream_id)
    *stream_id = (guint32) sid;
  if (arrival_order)
    *arrival_order = (flags & RTMFP_TC_META_RXI) != 0;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Message types */

const gchar *
rtmfp_tc_message_type_get_nick (guint8 type)
{
  switch (type) {
    case RTMFP_TC_MSG_SET_CHUNK_SIZE:
      return "set-chunk-size";
    case RTMFP_TC_MSG_ABORT:
      return "abort";
    case RTMFP_TC_MSG_ACK:
      return "acknowledgement";
    case RTMFP_TC_MSG_USER_CONTROL:
      return "user-control";
    case RTMFP_TC_MSG_WINDOW_ACK_SIZE:
      return "window-ack-size";
    case RTMFP_TC_MSG_SET_PEER_BANDWIDTH:
      return "set-peer-bandwidth";
    case RTMFP_TC_MSG_AUDIO:
      return "audio";
    case RTMFP_TC_MSG_VIDEO:
      return "video";
    case RTMFP_TC_MSG_DATA_AMF3:
      return "data-amf3";
    case RTMFP_TC_MSG_SHARED_OBJECT_AMF3:
      return "shared-object-amf3";
    case RTMFP_TC_MSG_COMMAND_AMF3:
      return "command-amf3";
    case RTMFP_TC_MSG_DATA_AMF0:
      return "data-amf0";
    case RTMFP_TC_MSG_SHARED_OBJECT_AMF0:
      return "shared-object-amf0";
    case RTMFP_TC_MSG_COMMAND_AMF0:
      return "command-amf0";
    case RTMFP_TC_MSG_AGGREGATE:
      return "aggregate";
    default:
      return "unknown";
  }
}

gboolean
rtmfp_tc_message_type_is_chunk_control (guint8 type)
{
  /* 5.1: types 1, 2, 3, 5 and 6 SHOULD NOT be sent and MUST be ignored */
  return type == 1 || type == 2 || type == 3 || type == 5 || type == 6;
}

/* ------------------------------------------------------------------------ */
/* Messages in a flow (5.1.2) */

gboolean
rtmfp_tc_message_parse (const guint8 * data, gsize len, RtmfpTcMessage * msg)
{
  g_return_val_if_fail (msg != NULL, FALSE);

  if (!data || len < RTMFP_TC_MESSAGE_HEADER_SIZE) {
    g_debug ("TC message too short (%" G_GSIZE_FORMAT " bytes)", len);
    return FALSE;
  }
  if (len - RTMFP_TC_MESSAGE_HEADER_SIZE > RTMFP_TC_MAX_PAYLOAD) {
    g_debug ("TC message payload longer than 24 bits");
    return FALSE;
  }
  msg->type = data[0];
  msg->timestamp = ((guint32) data[1] << 24) | ((guint32) data[2] << 16) |
      ((guint32) data[3] << 8) | (guint32) data[4];
  msg->payload = data + RTMFP_TC_MESSAGE_HEADER_SIZE;
  msg->len = len - RTMFP_TC_MESSAGE_HEADER_SIZE;
  return TRUE;
}

void
rtmfp_tc_message_append (GByteArray * out, guint8 type, guint32 timestamp,
    const guint8 * payload, gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (len <= RTMFP_TC_MAX_PAYLOAD);
  g_return_if_fail (payload != NULL || len == 0);

  rtmfp_append_u8 (out, type);
  rtmfp_append_u32 (out, timestamp);
  if (len)
    rtmfp_append_bytes (out, payload, len);
}

/* ------------------------------------------------------------------------ */
/* User control events (type 4) */

void
rtmfp_tc_user_control_append (GByteArray * out, guint16 event,
    const guint32 * args, guint n_args)
{
  guint i;

  g_return_if_fail (out != NULL);
  g_return_if_fail (args != NULL || n_args == 0);

  rtmfp_append_u16 (out, event);
  for (i = 0; i < n_args; i++)
    rtmfp_append_u32 (out, args[i]);
}

gboolean
rtmfp_tc_user_control_parse (const guint8 * payload, gsize len,
    guint16 * event, guint32 args[2], guint * n_args)
{
  RtmfpReader r;
  guint16 ev;
  guint32 a[2] = { 0, 0 };
  guint n = 0;

  if (!payload)
    return FALSE;
  rtmfp_reader_init (&r, payload, len);
  if (!rtmfp_reader_u16 (&r, &ev)) {
    g_debug ("user control event shorter than its type");
    return FALSE;
  }
  /* Events have 0, 1 or 2 u32 arguments; take the whole ones present and
   * ignore any excess (peers pad differently). */
  while (n < 2 && rtmfp_reader_u32 (&r, &a[n]))
    n++;

  if (event)
    *event = ev;
  if (args) {
    args[0] = a[0];
    args[1] = a[1];
  }
  if (n_args)
    *n_args = n;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Commands (types 20 and 17) */

GPtrArray *
rtmfp_tc_command_parse (const RtmfpTcMessage * msg, gchar ** name,
    gdouble * transaction_id)
{
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (msg != NULL, NULL);

  data = msg->payload;
  len = msg->len;
  if (!data && len)
    return NULL;

  switch (msg->type) {
    case RTMFP_TC_MSG_COMMAND_AMF0:
      break;
    case RTMFP_TC_MSG_COMMAND_AMF3:
      /* 5.3.3: format selector byte, only format 0 is defined */
      if (len < 1 || data[0] != 0x00) {
        g_debug ("type 17 command with format %d",
            len < 1 ? -1 : (gint) data[0]);
        return NULL;
      }
      data++;
      len--;
      break;
    default:
      g_debug ("message type %u is not a command", msg->type);
      return NULL;
  }
  return rtmfp_amf_parse_command (data, len, name, transaction_id);
}

void
rtmfp_tc_command_append_with_args (GByteArray * out, guint32 timestamp,
    const gchar * name, gdouble transaction_id, guint n_args,
    const RtmfpAmfNode * const *args)
{
  GByteArray *cmd;

  g_return_if_fail (out != NULL);
  g_return_if_fail (name != NULL);

  cmd = rtmfp_amf_serialize_command_with_args (name, transaction_id, n_args,
      args);
  rtmfp_tc_message_append (out, RTMFP_TC_MSG_COMMAND_AMF0, timestamp,
      cmd->data, cmd->len);
  g_byte_array_unref (cmd);
}

void
rtmfp_tc_command_append (GByteArray * out, guint32 timestamp,
    const gchar * name, gdouble transaction_id, const RtmfpAmfNode * arg, ...)
{
  GByteArray *cmd;
  va_list ap;

  g_return_if_fail (out != NULL);
  g_return_if_fail (name != NULL);

  va_start (ap, arg);
  cmd = rtmfp_amf_serialize_command_valist (name, transaction_id, arg, ap);
  va_end (ap);
  rtmfp_tc_message_append (out, RTMFP_TC_MSG_COMMAND_AMF0, timestamp,
      cmd->data, cmd->len);
  g_byte_array_unref (cmd);
}

RtmfpAmfNode *
rtmfp_tc_connect_object_new (const gchar * app, const gchar * tc_url,
    const gchar * flash_ver)
{
  RtmfpAmfNode *obj = rtmfp_amf_node_new_object ();

  rtmfp_amf_node_append_field_string (obj, "app", app ? app : "", -1);
  rtmfp_amf_node_append_field_string (obj, "flashVer",
      flash_ver ? flash_ver : "FMLE/3.0 (compatible; gst-rtmfp)", -1);
  if (tc_url)
    rtmfp_amf_node_append_field_string (obj, "tcUrl", tc_url, -1);
  rtmfp_amf_node_append_field_boolean (obj, "fpad", FALSE);
  rtmfp_amf_node_append_field_number (obj, "capabilities", 239);
  rtmfp_amf_node_append_field_number (obj, "audioCodecs", 3575);
  rtmfp_amf_node_append_field_number (obj, "videoCodecs", 252);
  rtmfp_amf_node_append_field_number (obj, "videoFunction", 1);
  rtmfp_amf_node_append_field_number (obj, "objectEncoding", 0);
  return obj;
}

RtmfpAmfNode *
rtmfp_tc_status_new (const gchar * level, const gchar * code,
    const gchar * description)
{
  RtmfpAmfNode *obj = rtmfp_amf_node_new_object ();

  rtmfp_amf_node_append_field_string (obj, "level", level ? level : "status",
      -1);
  if (code)
    rtmfp_amf_node_append_field_string (obj, "code", code, -1);
  if (description)
    rtmfp_amf_node_append_field_string (obj, "description", description, -1);
  return obj;
}

const gchar *
rtmfp_tc_status_peek_code (const RtmfpAmfNode * info)
{
  if (!info)
    return NULL;
  return rtmfp_amf_node_peek_field_string (info, "code", NULL);
}

const gchar *
rtmfp_tc_status_peek_description (const RtmfpAmfNode * info)
{
  if (!info)
    return NULL;
  return rtmfp_amf_node_peek_field_string (info, "description", NULL);
}

/* ------------------------------------------------------------------------ */
/* rtmfp:// URIs (RFC 7425 6.1):
 *   rtmfp-uri-scheme = "rtmfp:" / "rtmfp://" host [ ":" port ] path-abempty
 * The path is server specific; like rtmp2 we take its last segment as the
 * stream name and the rest as the application. */

G_DEFINE_QUARK (rtmfp-uri-error-quark, rtmfp_uri_error);

#define URI_SCHEME "rtmfp:"
/* characters left unescaped in app / stream names when printing a URI */
#define URI_PATH_ALLOWED "!$&'()*+,;=:@"

static gboolean
uri_fail (GError ** error, const gchar * str, const gchar * why)
{
  g_set_error (error, RTMFP_URI_ERROR, 0, "Invalid RTMFP URI '%s': %s", str,
      why);
  return FALSE;
}

/* RFC 3986 reg-name / IPv4 characters (no percent-encoded hosts) */
static gboolean
host_char_ok (gchar c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Parses host and port from [a, b); fills host (g_free) and port */
static gboolean
uri_parse_authority (const gchar * a, const gchar * b, const gchar * str,
    gchar ** host, guint16 * port, GError ** error)
{
  const gchar *h_end, *p;
  gchar *h;

  if (memchr (a, '@', b - a))
    return uri_fail (error, str, "user information is not allowed");

  if (a < b && *a == '[') {
    /* IP-literal: "[" IPv6address "]" */
    const gchar *close = memchr (a, ']', b - a);
    if (!close)
      return uri_fail (error, str, "unterminated IPv6 address");
    h = g_strndup (a + 1, close - a - 1);
    if (!*h || !strchr (h, ':') || !g_hostname_is_ip_address (h)) {
      g_free (h);
      return uri_fail (error, str, "bad IPv6 address");
    }
    h_end = close + 1;
    if (h_end < b && *h_end != ':') {
      g_free (h);
      return uri_fail (error, str, "junk after IPv6 address");
    }
  } else {
    h_end = memchr (a, ':', b - a);
    if (!h_end)
      h_end = b;
    if (h_end == a)
      return uri_fail (error, str, "no host");
    for (p = a; p < h_end; p++) {
      if (!host_char_ok (*p))
        return uri_fail (error, str, "bad character in host");
    }
    h = g_strndup (a, h_end - a);
  }

  *port = RTMFP_DEFAULT_PORT;
  if (h_end < b) {
    guint v = 0;

    /* h_end points at ':' */
    p = h_end + 1;
    if (p == b) {
      g_free (h);
      return uri_fail (error, str, "bad port (empty)");
    }
    for (; p < b; p++) {
      if (!g_ascii_isdigit (*p) || v > 65535) {
        g_free (h);
        return uri_fail (error, str, "bad port");
      }
      v = v * 10 + (*p - '0');
    }
    if (v == 0 || v > 65535) {
      g_free (h);
      return uri_fail (error, str, "bad port (out of range)");
    }
    *port = (guint16) v;
  }
  *host = h;
  return TRUE;
}

/* Percent-decodes [a, b); NULL if an escape is malformed or decodes to a
 * NUL or '/' (which would change the segment structure). */
static gchar *
uri_unescape (const gchar * a, const gchar * b)
{
  return g_uri_unescape_segment (a, b, "/");
}

static gboolean
uri_text_ok (const gchar * str)
{
  const guchar *p;

  for (p = (const guchar *) str; *p; p++) {
    if (*p <= 0x20 || *p == 0x7f)
      return FALSE;
  }
  return TRUE;
}

gboolean
rtmfp_uri_parse (const gchar * str, gboolean require_stream, RtmfpUri * uri,
    GError ** error)
{
  const gchar *auth, *auth_end, *path, *path_end, *query, *last_slash;
  gchar *host = NULL, *app = NULL, *stream = NULL, *stream_name;
  guint16 port = RTMFP_DEFAULT_PORT;
  GString *tc;

  g_return_val_if_fail (uri != NULL, FALSE);
  memset (uri, 0, sizeof (*uri));

  if (!str || !*str)
    return uri_fail (error, "", "empty");
  if (g_ascii_strncasecmp (str, URI_SCHEME, strlen (URI_SCHEME)) != 0)
    return uri_fail (error, str, "scheme is not rtmfp");
  if (!uri_text_ok (str))
    return uri_fail (error, str, "contains spaces or control characters");

  auth = str + strlen (URI_SCHEME);
  if (*auth == '\0') {
    /* "rtmfp:": no server, peer-to-peer only */
    if (require_stream)
      return uri_fail (error, str, "no stream name");
    uri->port = RTMFP_DEFAULT_PORT;
    return TRUE;
  }
  if (strncmp (auth, "//", 2) != 0)
    return uri_fail (error, str, "expected rtmfp:// or rtmfp:");
  auth += 2;

  auth_end = auth + strcspn (auth, "/?#");
  if (!uri_parse_authority (auth, auth_end, str, &host, &port, error))
    return FALSE;

  /* path-abempty up to the query; the fragment is dropped */
  path = auth_end;
  path_end = path + strcspn (path, "?#");
  query = path_end;
  if (*query == '?') {
    const gchar *frag = strchr (query, '#');
    stream_name = frag ? g_strndup (query, frag - query) : g_strdup (query);
  } else {
    stream_name = g_strdup ("");
  }

  if (path == path_end || path_end - path == 1) {
    g_free (host);
    g_free (stream_name);
    return uri_fail (error, str, "no application");
  }
  /* path starts with '/' here */
  {
    const gchar *p;
    for (p = path + 1; p < path_end; p++) {
      if (*p == '/' && (p[-1] == '/')) {
        g_free (host);
        g_free (stream_name);
        return uri_fail (error, str, "empty path segment");
      }
    }
  }

  last_slash = g_strrstr_len (path, path_end - path, "/");
  if (last_slash == path) {
    /* a single segment: the application, no stream */
    app = uri_unescape (path + 1, path_end);
  } else {
    app = uri_unescape (path + 1, last_slash);
    if (last_slash + 1 < path_end) {
      gchar *s = uri_unescape (last_slash + 1, path_end);
      if (s) {
        stream = g_strconcat (s, stream_name, NULL);
        g_free (s);
      } else {
        g_free (app);
        app = NULL;
      }
    }
  }
  g_free (stream_name);
  if (!app) {
    g_free (host);
    g_free (stream);
    return uri_fail (error, str, "bad percent-encoding in path");
  }
  if (require_stream && !stream) {
    g_free (host);
    g_free (app);
    return uri_fail (error, str, "no stream name");
  }

  /* tcUrl: scheme, authority and the application part of the path as given */
  tc = g_string_new ("rtmfp://");
  if (strchr (host, ':'))
    g_string_append_printf (tc, "[%s]", host);
  else
    g_string_append (tc, host);
  if (port != RTMFP_DEFAULT_PORT)
    g_string_append_printf (tc, ":%u", port);
  g_string_append_len (tc, path,
      (last_slash == path ? path_end : last_slash) - path);

  uri->host = host;
  uri->port = port;
  uri->app = app;
  uri->stream = stream;
  uri->tc_url = g_string_free (tc, FALSE);
  return TRUE;
}

void
rtmfp_uri_clear (RtmfpUri * uri)
{
  if (!uri)
    return;
  g_free (uri->host);
  g_free (uri->app);
  g_free (uri->stream);
  g_free (uri->tc_url);
  memset (uri, 0, sizeof (*uri));
}

gchar *
rtmfp_uri_to_string (const RtmfpUri * uri)
{
  GString *s;
  gchar *esc;

  g_return_val_if_fail (uri != NULL, NULL);

  if (!uri->host)
    return g_strdup (URI_SCHEME);

  s = g_string_new ("rtmfp://");
  if (strchr (uri->host, ':'))
    g_string_append_printf (s, "[%s]", uri->host);
  else
    g_string_append (s, uri->host);
  if (uri->port != RTMFP_DEFAULT_PORT && uri->port != 0)
    g_string_append_printf (s, ":%u", uri->port);
  if (uri->app) {
    g_string_append_c (s, '/');
    esc = g_uri_escape_string (uri->app, URI_PATH_ALLOWED "/", FALSE);
    g_string_append (s, esc);
    g_free (esc);
  }
  if (uri->stream) {
    const gchar *q = strchr (uri->stream, '?');
    gchar *name = q ? g_strndup (uri->stream, q - uri->stream) :
        g_strdup (uri->stream);

    g_string_append_c (s, '/');
    esc = g_uri_escape_string (name, URI_PATH_ALLOWED, FALSE);
    g_string_append (s, esc);
    g_free (esc);
    g_free (name);
    if (q)
      g_string_append (s, q);   /* the query is kept as given */
  } else if (uri->app && strchr (uri->app, '/')) {
    /* "app/instance" with no stream: without the trailing slash the
     * instance would read back as the stream name */
    g_string_append_c (s, '/');
  }
  return g_string_free (s, FALSE);
}
