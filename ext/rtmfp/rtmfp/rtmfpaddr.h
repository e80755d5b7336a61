/* RTMFP core: socket addresses as plain values (sans-I/O)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* RFC 7016 section 2.1.5 address origin (low two bits of the flags byte) */
typedef enum {
  RTMFP_ADDR_ORIGIN_UNKNOWN = 0,
  RTMFP_ADDR_ORIGIN_LOCAL = 1,      /* a local interface address */
  RTMFP_ADDR_ORIGIN_REFLEXIVE = 2,  /* observed by the far end (public) */
  RTMFP_ADDR_ORIGIN_RELAY = 3,      /* relay / introducer / proxy */
} RtmfpAddrOrigin;

/* An IPv4 or IPv6 transport address.  Compared and hashed by value, so it
 * can key hash tables.  `origin` is carried for the wire encoding but is
 * NOT part of equality. */
typedef struct {
  guint8 family;                /* 4 or 6; 0 = unset */
  guint8 origin;                /* RtmfpAddrOrigin */
  guint16 port;                 /* host byte order */
  guint8 addr[16];              /* network order; first 4 bytes for IPv4 */
} RtmfpAddr;

#define RTMFP_ADDR_STRLEN 64

void      rtmfp_addr_set_ipv4 (RtmfpAddr * a, const guint8 ip[4], guint16 port);
void      rtmfp_addr_set_ipv6 (RtmfpAddr * a, const guint8 ip[16], guint16 port);
gboolean  rtmfp_addr_equal (const RtmfpAddr * a, const RtmfpAddr * b);
guint     rtmfp_addr_hash (const RtmfpAddr * a);
/* GHashTable-compatible wrappers */
gboolean  rtmfp_addr_equal_func (gconstpointer a, gconstpointer b);
guint     rtmfp_addr_hash_func (gconstpointer a);
RtmfpAddr *rtmfp_addr_copy (const RtmfpAddr * a);

/* "1.2.3.4:5" / "[::1]:5"; buf must hold RTMFP_ADDR_STRLEN bytes; returns buf */
const gchar *rtmfp_addr_to_string (const RtmfpAddr * a, gchar * buf);
/* Parses "1.2.3.4:5", "[2001:db8::1]:5" (port required unless default_port > 0,
 * in which case "1.2.3.4" alone is accepted).  Literal addresses only. */
gboolean  rtmfp_addr_from_string (RtmfpAddr * a, const gchar * str, guint16 default_port);

gboolean  rtmfp_addr_from_gsocket (RtmfpAddr * a, GSocketAddress * sa);
GSocketAddress *rtmfp_addr_to_gsocket (const RtmfpAddr * a);

/* TRUE for loopback, link-local, unspecified addresses (not to be
 * advertised in setPeerInfo) */
gboolean  rtmfp_addr_is_loopback (const RtmfpAddr * a);
gboolean  rtmfp_addr_is_link_local (const RtmfpAddr * a);

/* RFC 7016 section 2.1.5 wire encoding: flags, 4 or 16 address bytes, port */
void      rtmfp_addr_append (GByteArray * out, const RtmfpAddr * a);
gsize     rtmfp_addr_encoded_size (const RtmfpAddr * a);
/* Returns FALSE on truncated or malformed input. */
gboolean  rtmfp_addr_parse (const guint8 * data, gsize len, RtmfpAddr * a,
    gsize * consumed);

G_END_DECLS
