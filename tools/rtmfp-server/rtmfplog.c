/* rtmfp-server --log-format (see rtmfplog.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-server"

#include "rtmfplog.h"

#include <stdio.h>
#include <string.h>

static gchar *opt_log_format;
static gboolean log_json;
static GMutex log_lock;

const GOptionEntry rtmfp_log_option_entries[] = {
  {"log-format", 0, 0, G_OPTION_ARG_STRING, &opt_log_format,
      "text (default) or json: one JSON object per line on stderr for each "
        "connect, publish, play and close, and for every log message",
      "FORMAT"},
  {NULL}
};

/* A JSON string: UTF-8 (invalid bytes replaced), escaped */
static void
append_json_string (GString * out, const gchar * s)
{
  gchar *valid = g_utf8_make_valid (s, -1);
  const guchar *p;

  g_string_append_c (out, '"');
  for (p = (const guchar *) valid; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else if (*p == '\r')
      g_string_append (out, "\\r");
    else if (*p == '\t')
      g_string_append (out, "\\t");
    else if (*p < 0x20 || *p == 0x7f)
      g_string_append_printf (out, "\\u%04x", *p);
    else
      g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
  g_free (valid);
}

static void
append_field (GString * out, const gchar * name, const gchar * value)
{
  if (!value)
    return;
  if (out->len > 1)
    g_string_append_c (out, ',');
  append_json_string (out, name);
  g_string_append_c (out, ':');
  append_json_string (out, value);
}

static void
append_time (GString * out, GDateTime * time)
{
  GDateTime *utc = g_date_time_to_utc (time);
  gchar *s = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S.%fZ");

  append_field (out, "time", s);
  g_free (s);
  g_date_time_unref (utc);
}

/* One line to stderr, whole (the lock keeps lines from two threads
 * apart) */
static void
write_line (GString * line)
{
  g_string_append_c (line, '\n');
  g_mutex_lock (&log_lock);
  fwrite (line->str, 1, line->len, stderr);
  fflush (stderr);
  g_mutex_unlock (&log_lock);
}

gchar *
rtmfp_log_event_to_json (const RtmfpServerEvent * ev, GDateTime * time)
{
  GString *s = g_string_new ("{");

  if (time)
    append_time (s, time);
  append_field (s, "event", ev->event);
  append_field (s, "protocol", ev->protocol);
  g_string_append_printf (s, "%s\"conn\":%" G_GUINT64_FORMAT,
      s->len > 1 ? "," : "", ev->conn);
  append_field (s, "peer", ev->peer);
  append_field (s, "app", ev->app);
  append_field (s, "stream", ev->stream);
  append_field (s, "result", ev->result);
  append_field (s, "reason", ev->reason);
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

void
rtmfp_log_event (const RtmfpServerEvent * event, gpointer data)
{
  GDateTime *now = g_date_time_new_now_utc ();
  gchar *json = rtmfp_log_event_to_json (event, now);
  GString *line = g_string_new (json);

  write_line (line);
  g_string_free (line, TRUE);
  g_free (json);
  g_date_time_unref (now);
}

static const gchar *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "message";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

/* Every GLib log message as a JSON line (debug ones as G_MESSAGES_DEBUG
 * selects, like the default writer) */
static GLogWriterOutput
json_writer (GLogLevelFlags level, const GLogField * fields, gsize n_fields,
    gpointer data)
{
  const gchar *domain = NULL, *message = NULL;
  GDateTime *now;
  GString *line;
  gsize i;

  for (i = 0; i < n_fields; i++) {
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
    else if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  }
  if (g_log_writer_default_would_drop (level, domain))
    return G_LOG_WRITER_HANDLED;
  now = g_date_time_new_now_utc ();
  line = g_string_new ("{");
  append_time (line, now);
  append_field (line, "level", level_name (level));
  append_field (line, "domain", domain);
  append_field (line, "message", message ? message : "");
  g_string_append_c (line, '}');
  write_line (line);
  g_string_free (line, TRUE);
  g_date_time_unref (now);
  return G_LOG_WRITER_HANDLED;
}

gboolean
rtmfp_log_setup (void)
{
  if (!opt_log_format || g_str_equal (opt_log_format, "text")) {
    log_json = FALSE;
  } else if (g_str_equal (opt_log_format, "json")) {
    log_json = TRUE;
    g_log_set_writer_func (json_writer, NULL, NULL);
  } else {
    g_printerr ("rtmfp-server: bad --log-format '%s' (text or json)\n",
        opt_log_format);
    return FALSE;
  }
  g_clear_pointer (&opt_log_format, g_free);
  return TRUE;
}

gboolean
rtmfp_log_is_json (void)
{
  return log_json;
}
