/* RTMFP core: socket addresses as plain values (sans-I/O)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-codec"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <stdio.h>

#include "rtmfpaddr.h"

/* RFC 7016 section 2.1.5 flags byte */
#define ADDR_FLAG_IP6     0x80
#define ADDR_ORIGIN_MASK  0x03

static const guint8 v4mapped_prefix[12] =
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static gsize
addr_len (const RtmfpAddr * a)
{
  return a->family == 6 ? 16 : (a->family == 4 ? 4 : 0);
}

void
rtmfp_addr_set_ipv4 (RtmfpAddr * a, const guint8 ip[4], guint16 port)
{
  g_return_if_fail (a != NULL && ip != NULL);

  memset (a, 0, sizeof (*a));
  a->family = 4;
  a->port = port;
  memcpy (a->addr, ip, 4);
}

void
rtmfp_addr_set_ipv6 (RtmfpAddr * a, const guint8 ip[16], guint16 port)
{
  g_return_if_fail (a != NULL && ip != NULL);

  memset (a, 0, sizeof (*a));
  a->family = 6;
  a->port = port;
  memcpy (a->addr, ip, 16);
}

gboolean
rtmfp_addr_equal (const RtmfpAddr * a, const RtmfpAddr * b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;
  /* origin deliberately ignored */
  return a->family == b->family && a->port == b->port &&
      memcmp (a->addr, b->addr, addr_len (a)) == 0;
}

guint
rtmfp_addr_hash (const RtmfpAddr * a)
{
  /* FNV-1a over family, port and the significant address bytes */
  guint32 h = 2166136261u;
  gsize i, n;

  if (a == NULL)
    return 0;

  n = addr_len (a);
  h = (h ^ a->family) * 16777619u;
  h = (h ^ (a->port >> 8)) * 16777619u;
  h = (h ^ (a->port & 0xff)) * 16777619u;
  for (i = 0; i < n; i++)
    h = (h ^ a->addr[i]) * 16777619u;
  return h;
}

gboolean
rtmfp_addr_equal_func (gconstpointer a, gconstpointer b)
{
  return rtmfp_addr_equal (a, b);
}

guint
rtmfp_addr_hash_func (gconstpointer a)
{
  return rtmfp_addr_hash (a);
}

RtmfpAddr *
rtmfp_addr_copy (const RtmfpAddr * a)
{
  g_return_val_if_fail (a != NULL, NULL);

  return g_memdup2 (a, sizeof (*a));
}

/* ---- strings ---- */

const gchar *
rtmfp_addr_to_string (const RtmfpAddr * a, gchar * buf)
{
  g_return_val_if_fail (buf != NULL, NULL);

  if (a == NULL || (a->family != 4 && a->family != 6)) {
    g_strlcpy (buf, "(none)", RTMFP_ADDR_STRLEN);
  } else if (a->family == 4) {
    g_snprintf (buf, RTMFP_ADDR_STRLEN, "%u.%u.%u.%u:%u", a->addr[0],
        a->addr[1], a->addr[2], a->addr[3], a->port);
  } else {
    GInetAddress *ia = g_inet_address_new_from_bytes (a->addr,
        G_SOCKET_FAMILY_IPV6);
    gchar *s = g_inet_address_to_string (ia);

    g_snprintf (buf, RTMFP_ADDR_STRLEN, "[%s]:%u", s, a->port);
    g_free (s);
    g_object_unref (ia);
  }
  return buf;
}

/* Strict decimal port 0..65535 */
static gboolean
parse_port (const gchar * s, guint16 * port)
{
  guint v = 0;

  if (*s == '\0' || strlen (s) > 5)
    return FALSE;
  for (; *s; s++) {
    if (!g_ascii_isdigit (*s))
      return FALSE;
    v = v * 10 + (guint) (*s - '0');
  }
  if (v > 65535)
    return FALSE;
  *port = (guint16) v;
  return TRUE;
}

static gboolean
parse_host (RtmfpAddr * a, const gchar * host, gboolean want_v6,
    guint16 port)
{
  GInetAddress *ia;
  gboolean ok = TRUE;

  /* literal addresses only; no zone identifiers */
  if (*host == '\0' || strchr (host, '%') != NULL)
    return FALSE;
  ia = g_inet_address_new_from_string (host);
  if (ia == NULL)
    return FALSE;

  if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV4 && !want_v6)
    rtmfp_addr_set_ipv4 (a, g_inet_address_to_bytes (ia), port);
  else if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6 && want_v6)
    rtmfp_addr_set_ipv6 (a, g_inet_address_to_bytes (ia), port);
  else
    ok = FALSE;
  g_object_unref (ia);
  return ok;
}

gboolean
rtmfp_addr_from_string (RtmfpAddr * a, const gchar * str,
    guint16 default_port)
{
  RtmfpAddr tmp;
  gchar *host = NULL;
  guint16 port = default_port;
  gboolean v6, ok = FALSE;

  g_return_val_if_fail (a != NULL, FALSE);

  if (str == NULL || strlen (str) >= RTMFP_ADDR_STRLEN)
    return FALSE;

  if (str[0] == '[') {
    /* "[v6]:port" or (with a default port) "[v6]" */
    const gchar *end = strchr (str, ']');

    if (end == NULL)
      return FALSE;
    host = g_strndup (str + 1, end - str - 1);
    v6 = TRUE;
    if (end[1] == ':') {
      if (!parse_port (end + 2, &port))
        goto out;
    } else if (end[1] != '\0' || default_port == 0) {
      goto out;
    }
  } else {
    const gchar *colon = strchr (str, ':');

    if (colon != NULL && strchr (colon + 1, ':') != NULL) {
      /* bare IPv6 literal: only without a port */
      if (default_port == 0)
        return FALSE;
      host = g_strdup (str);
      v6 = TRUE;
    } else if (colon != NULL) {
      host = g_strndup (str, colon - str);
      v6 = FALSE;
      if (!parse_port (colon + 1, &port))
        goto out;
    } else {
      if (default_port == 0)
        return FALSE;
      host = g_strdup (str);
      v6 = FALSE;
    }
  }

  if (parse_host (&tmp, host, v6, port)) {
    *a = tmp;
    ok = TRUE;
  }

out:
  g_free (host);
  return ok;
}

/* ---- GIO ---- */

gboolean
rtmfp_addr_from_gsocket (RtmfpAddr * a, GSocketAddress * sa)
{
  GInetAddress *ia;
  guint16 port;

  g_return_val_if_fail (a != NULL, FALSE);

  if (sa == NULL || !G_IS_INET_SOCKET_ADDRESS (sa))
    return FALSE;

  ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa));

  switch (g_inet_address_get_family (ia)) {
    case G_SOCKET_FAMILY_IPV4:
      rtmfp_addr_set_ipv4 (a, g_inet_address_to_bytes (ia), port);
      return TRUE;
    case G_SOCKET_FAMILY_IPV6:
      rtmfp_addr_set_ipv6 (a, g_inet_address_to_bytes (ia), port);
      return TRUE;
    default:
      return FALSE;
  }
}

GSocketAddress *
rtmfp_addr_to_gsocket (const RtmfpAddr * a)
{
  GInetAddress *ia;
  GSocketAddress *sa;

  g_return_val_if_fail (a != NULL, NULL);

  if (a->family == 4)
    ia = g_inet_address_new_from_bytes (a->addr, G_SOCKET_FAMILY_IPV4);
  else if (a->family == 6)
    ia = g_inet_address_new_from_bytes (a->addr, G_SOCKET_FAMILY_IPV6);
  else
    return NULL;

  sa = g_inet_socket_address_new (ia, a->port);
  g_object_unref (ia);
  return sa;
}

/* ---- classification ---- */

/* For IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), the IPv4 part */
static const guint8 *
mapped_v4 (const RtmfpAddr * a)
{
  if (a->family == 4)
    return a->addr;
  if (a->family == 6 && memcmp (a->addr, v4mapped_prefix, 12) == 0)
    return a->addr + 12;
  return NULL;
}

gboolean
rtmfp_addr_is_loopback (const RtmfpAddr * a)
{
  static const guint8 zero[16] = { 0 };
  const guint8 *v4;

  g_return_val_if_fail (a != NULL, FALSE);

  if ((v4 = mapped_v4 (a)) != NULL) {
    /* 127.0.0.0/8, and 0.0.0.0 (unspecified) */
    return v4[0] == 127 || memcmp (v4, zero, 4) == 0;
  }
  if (a->family == 6) {
    /* ::1 and :: */
    return memcmp (a->addr, zero, 15) == 0 && a->addr[15] <= 1;
  }
  return FALSE;
}

gboolean
rtmfp_addr_is_link_local (const RtmfpAddr * a)
{
  const guint8 *v4;

  g_return_val_if_fail (a != NULL, FALSE);

  if ((v4 = mapped_v4 (a)) != NULL)
    return v4[0] == 169 && v4[1] == 254;       /* 169.254.0.0/16 */
  if (a->family == 6)
    return a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;  /* fe80::/10 */
  return FALSE;
}

/* ---- wire encoding (RFC 7016 section 2.1.5) ---- */

gsize
rtmfp_addr_encoded_size (const RtmfpAddr * a)
{
  g_return_val_if_fail (a != NULL, 0);

  if (a->family != 4 && a->family != 6)
    return 0;
  return 1 + addr_len (a) + 2;
}

void
rtmfp_addr_append (GByteArray * out, const RtmfpAddr * a)
{
  guint8 flags;

  g_return_if_fail (out != NULL && a != NULL);
  g_return_if_fail (a->family == 4 || a->family == 6);

  flags = (a->family == 6 ? ADDR_FLAG_IP6 : 0) | (a->origin & ADDR_ORIGIN_MASK);
  g_byte_array_append (out, &flags, 1);
  g_byte_array_append (out, a->addr, (guint) addr_len (a));
  g_byte_array_append (out, (const guint8[]) {
      (guint8) (a->port >> 8), (guint8) a->port}, 2);
}

gboolean
rtmfp_addr_parse (const guint8 * data, gsize len, RtmfpAddr * a,
    gsize * consumed)
{
  gsize alen, total;
  guint8 flags;

  g_return_val_if_fail (a != NULL, FALSE);

  if (data == NULL || len < 1)
    return FALSE;

  /* The five reserved bits are ignored (sent as 0). */
  flags = data[0];
  alen = (flags & ADDR_FLAG_IP6) ? 16 : 4;
  total = 1 + alen + 2;
  if (len < total)
    return FALSE;

  memset (a, 0, sizeof (*a));
  a->family = alen == 16 ? 6 : 4;
  a->origin = flags & ADDR_ORIGIN_MASK;
  memcpy (a->addr, data + 1, alen);
  a->port = (guint16) ((data[1 + alen] << 8) | data[2 + alen]);
  if (consumed)
    *consumed = total;
  return TRUE;
}
