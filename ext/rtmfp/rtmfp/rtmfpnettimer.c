/* RTMFP core: what the net thread offers components above the endpoint
 * (see rtmfpnet.h): a timer for a sans-I/O component with a next_timeout /
 * handle_timeout pair (the session agent, a server), and the local
 * interface addresses a direct publisher reports with setPeerInfo.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <sys/types.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "rtmfpnet.h"

typedef struct
{
  GSource source;
  RtmfpNet *net;
  RtmfpNetNextFunc next;
  RtmfpNetFunc fire;
  gpointer data;
  gboolean queued;              /* fire is waiting in the invoke queue */
} TimerSource;

static void
timer_fire (RtmfpNet * net, gpointer data)
{
  TimerSource *ts = data;

  ts->queued = FALSE;
  ts->fire (net, ts->data);
}

static gboolean
timer_prepare (GSource * source, gint * timeout)
{
  TimerSource *ts = (TimerSource *) source;
  gint64 t, now;

  *timeout = -1;
  if (ts->queued)
    return FALSE;
  t = ts->next (ts->data);
  if (t < 0)
    return FALSE;
  now = rtmfp_net_now (ts->net);
  if (t <= now)
    return TRUE;
  *timeout = (gint) MIN ((t - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
timer_check (GSource * source)
{
  TimerSource *ts = (TimerSource *) source;
  gint64 t;

  if (ts->queued)
    return FALSE;
  t = ts->next (ts->data);
  return t >= 0 && t <= rtmfp_net_now (ts->net);
}

static gboolean
timer_dispatch (GSource * source, GSourceFunc cb, gpointer data)
{
  TimerSource *ts = (TimerSource *) source;

  /* through an invocation, so the endpoint's timer is re-armed after
   * whatever fire does to the sessions */
  ts->queued = TRUE;
  rtmfp_net_invoke (ts->net, timer_fire, ts, NULL);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
  timer_prepare, timer_check, timer_dispatch, NULL, NULL, NULL
};

GSource *
rtmfp_net_add_timer (RtmfpNet * net, RtmfpNetNextFunc next, RtmfpNetFunc fire,
    gpointer data)
{
  GSource *s;
  TimerSource *ts;

  g_return_val_if_fail (net && next && fire, NULL);

  s = g_source_new (&timer_funcs, sizeof (TimerSource));
  ts = (TimerSource *) s;
  ts->net = net;
  ts->next = next;
  ts->fire = fire;
  ts->data = data;
  g_source_set_name (s, "rtmfp-net-timer");
  g_source_attach (s, rtmfp_net_get_context (net));
  return s;
}

gchar **
rtmfp_net_list_local_addresses (RtmfpNet * net)
{
  GPtrArray *out = g_ptr_array_new ();
  struct ifaddrs *ifs = NULL, *i;
  guint16 port = rtmfp_net_get_local_port (net);

  if (getifaddrs (&ifs) == 0) {
    for (i = ifs; i && out->len < 8; i = i->ifa_next) {
      GSocketAddress *sa;
      GInetAddress *ia;
      gsize len;
      gchar *str;

      if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
              i->ifa_addr->sa_family != AF_INET6))
        continue;
      len = i->ifa_addr->sa_family == AF_INET ? sizeof (struct sockaddr_in)
          : sizeof (struct sockaddr_in6);
      sa = g_socket_address_new_from_native (i->ifa_addr, len);
      if (!sa)
        continue;
      ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
      if (!g_inet_address_get_is_loopback (ia) &&
          !g_inet_address_get_is_link_local (ia) &&
          !g_inet_address_get_is_any (ia)) {
        str = g_inet_address_to_string (ia);
        g_ptr_array_add (out, g_inet_address_get_family (ia) ==
            G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]:%u", str, port) :
            g_strdup_printf ("%s:%u", str, port));
        g_free (str);
      }
      g_object_unref (sa);
    }
    freeifaddrs (ifs);
  }
  g_ptr_array_add (out, NULL);
  return (gchar **) g_ptr_array_free (out, FALSE);
}
