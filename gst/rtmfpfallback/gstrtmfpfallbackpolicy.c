/* GStreamer rtmfpfallback: when to switch between RTMFP and RTMP (see
 * gstrtmfpfallbackpolicy.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstrtmfpfallbackpolicy.h"

const gchar *
gst_rtmfp_fallback_protocol_name (GstRtmfpFallbackProtocol p)
{
  switch (p) {
    case GST_RTMFP_FALLBACK_RTMFP:
      return "rtmfp";
    case GST_RTMFP_FALLBACK_RTMP:
      return "rtmp";
    default:
      return "none";
  }
}

void
gst_rtmfp_fallback_policy_init (GstRtmfpFallbackPolicy * p)
{
  /* the configuration (timeouts, what exists, the verb) stays */
  gst_rtmfp_fallback_policy_clear (p);
}

void
gst_rtmfp_fallback_policy_clear (GstRtmfpFallbackPolicy * p)
{
  g_free (p->reason);
  g_free (p->rtmfp_failure);
  g_free (p->rtmp_failure);
  p->reason = p->rtmfp_failure = p->rtmp_failure = NULL;
  p->active = GST_RTMFP_FALLBACK_NONE;
  p->rtmfp_streaming = p->reconnecting = p->probing = FALSE;
  p->failed_over = FALSE;
  p->deadline = p->probe_at = -1;
}

static void
set_str (gchar ** field, const gchar * value)
{
  g_free (*field);
  *field = g_strdup (value);
}

GstRtmfpFallbackProtocol
gst_rtmfp_fallback_policy_start (GstRtmfpFallbackPolicy * p, gint64 now)
{
  gst_rtmfp_fallback_policy_init (p);
  gst_rtmfp_fallback_policy_switched (p, p->have_rtmfp ?
      GST_RTMFP_FALLBACK_RTMFP : GST_RTMFP_FALLBACK_RTMP, now);
  return p->active;
}

void
gst_rtmfp_fallback_policy_switched (GstRtmfpFallbackPolicy * p,
    GstRtmfpFallbackProtocol proto, gint64 now)
{
  p->active = proto;
  p->rtmfp_streaming = p->reconnecting = p->probing = FALSE;
  p->failed_over = FALSE;
  p->deadline = p->probe_at = -1;
  if (proto == GST_RTMFP_FALLBACK_RTMFP) {
    /* a probe that took over is streaming already: it says so again */
    p->deadline = now + p->rtmfp_timeout_us;
  } else if (proto == GST_RTMFP_FALLBACK_RTMP && p->have_rtmfp &&
      p->probe_interval_us > 0) {
    p->probe_at = now + p->probe_interval_us;
  }
}

void
gst_rtmfp_fallback_policy_rtmfp_streaming (GstRtmfpFallbackPolicy * p,
    gint64 now)
{
  if (p->active != GST_RTMFP_FALLBACK_RTMFP)
    return;
  p->rtmfp_streaming = TRUE;
  p->reconnecting = FALSE;
  p->deadline = -1;
  g_clear_pointer (&p->rtmfp_failure, g_free);
}

void
gst_rtmfp_fallback_policy_rtmfp_reconnecting (GstRtmfpFallbackPolicy * p,
    const gchar * reason, gint64 now)
{
  if (p->active != GST_RTMFP_FALLBACK_RTMFP || p->reconnecting)
    return;
  /* the first attempt starts the deadline; later attempts do not move it */
  p->reconnecting = TRUE;
  p->deadline = now + p->rtmfp_timeout_us;
  set_str (&p->rtmfp_failure, reason);
}

void
gst_rtmfp_fallback_policy_rtmfp_reconnected (GstRtmfpFallbackPolicy * p,
    gint64 now)
{
  if (p->active != GST_RTMFP_FALLBACK_RTMFP)
    return;
  p->reconnecting = FALSE;
  p->rtmfp_streaming = TRUE;
  p->deadline = -1;
}

static GstRtmfpFallbackAction
to_rtmp (GstRtmfpFallbackPolicy * p, gchar * reason)
{
  g_free (p->reason);
  p->reason = reason;
  p->deadline = -1;
  p->failed_over = TRUE;
  if (!p->have_rtmp || p->rtmp_failure)
    return GST_RTMFP_FALLBACK_ACT_FAIL;
  return GST_RTMFP_FALLBACK_ACT_TO_RTMP;
}

GstRtmfpFallbackAction
gst_rtmfp_fallback_policy_rtmfp_failed (GstRtmfpFallbackPolicy * p,
    const gchar * reason, gboolean probe, gint64 now)
{
  /* the first failure says why (later ones follow from it) */
  if (!probe && p->active == GST_RTMFP_FALLBACK_RTMFP && p->failed_over)
    return GST_RTMFP_FALLBACK_ACT_TO_RTMP;
  set_str (&p->rtmfp_failure, reason);
  if (probe || p->active != GST_RTMFP_FALLBACK_RTMFP)
    return GST_RTMFP_FALLBACK_ACT_NOTHING;
  return to_rtmp (p, g_strdup_printf ("RTMFP: %s", reason));
}

GstRtmfpFallbackAction
gst_rtmfp_fallback_policy_rtmp_failed (GstRtmfpFallbackPolicy * p,
    const gchar * reason, gint64 now)
{
  set_str (&p->rtmp_failure, reason);
  if (p->active != GST_RTMFP_FALLBACK_RTMP)
    return GST_RTMFP_FALLBACK_ACT_NOTHING;
  /* no waiting for a probe: a stream with no way out ends with an error */
  return GST_RTMFP_FALLBACK_ACT_FAIL;
}

void
gst_rtmfp_fallback_policy_probe_done (GstRtmfpFallbackPolicy * p, gint64 now)
{
  p->probing = FALSE;
  if (p->active == GST_RTMFP_FALLBACK_RTMP && p->probe_interval_us > 0)
    p->probe_at = now + p->probe_interval_us;
}

gint64
gst_rtmfp_fallback_policy_next_timeout (GstRtmfpFallbackPolicy * p)
{
  if (p->deadline >= 0 && p->probe_at >= 0)
    return MIN (p->deadline, p->probe_at);
  return p->deadline >= 0 ? p->deadline : p->probe_at;
}

GstRtmfpFallbackAction
gst_rtmfp_fallback_policy_handle_timeout (GstRtmfpFallbackPolicy * p,
    gint64 now)
{
  guint secs = (guint) (p->rtmfp_timeout_us / G_USEC_PER_SEC);

  if (p->deadline >= 0 && now >= p->deadline &&
      p->active == GST_RTMFP_FALLBACK_RTMFP) {
    gchar *why;

    if (p->reconnecting) {
      why = g_strdup_printf (_("the connection was lost (%s) and not "
              "restored within %u s"), p->rtmfp_failure, secs);
    } else {
      why = p->player ? g_strdup_printf (_("not playing within %u s"), secs)
          : g_strdup_printf (_("not publishing within %u s"), secs);
    }
    g_free (p->rtmfp_failure);
    p->rtmfp_failure = why;
    return to_rtmp (p, g_strdup_printf ("RTMFP: %s", why));
  }
  if (p->probe_at >= 0 && now >= p->probe_at && !p->probing &&
      p->active == GST_RTMFP_FALLBACK_RTMP) {
    p->probe_at = -1;
    p->probing = TRUE;
    return GST_RTMFP_FALLBACK_ACT_PROBE;
  }
  return GST_RTMFP_FALLBACK_ACT_NOTHING;
}

const gchar *
gst_rtmfp_fallback_policy_get_reason (GstRtmfpFallbackPolicy * p)
{
  return p->reason;
}
