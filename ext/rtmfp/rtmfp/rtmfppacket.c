/* RTMFP core: plain packets and chunks (RFC 7016 sections 2.2.4, 2.3)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-codec"

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmfppacket.h"

#define CHUNK_MAX_PAYLOAD 0xffff

const gchar *
rtmfp_chunk_type_get_nick (guint8 type)
{
  switch (type) {
    case RTMFP_CHUNK_PADDING0:
      return "padding0";
    case RTMFP_CHUNK_PING:
      return "ping";
    case RTMFP_CHUNK_SESSION_CLOSE:
      return "session-close";
    case RTMFP_CHUNK_FIHELLO:
      return "fihello";
    case RTMFP_CHUNK_USER_DATA:
      return "user-data";
    case RTMFP_CHUNK_NEXT_USER_DATA:
      return "next-user-data";
    case RTMFP_CHUNK_BUFFER_PROBE:
      return "buffer-probe";
    case RTMFP_CHUNK_IHELLO:
      return "ihello";
    case RTMFP_CHUNK_IIKEYING:
      return "iikeying";
    case RTMFP_CHUNK_PING_REPLY:
      return "ping-reply";
    case RTMFP_CHUNK_SESSION_CLOSE_ACK:
      return "session-close-ack";
    case RTMFP_CHUNK_ACK_BITMAP:
      return "ack-bitmap";
    case RTMFP_CHUNK_ACK_RANGES:
      return "ack-ranges";
    case RTMFP_CHUNK_FLOW_EXCEPTION:
      return "flow-exception";
    case RTMFP_CHUNK_RHELLO:
      return "rhello";
    case RTMFP_CHUNK_REDIRECT:
      return "redirect";
    case RTMFP_CHUNK_RIKEYING:
      return "rikeying";
    case RTMFP_CHUNK_COOKIE_CHANGE:
      return "cookie-change";
    case RTMFP_CHUNK_FRAGMENT:
      return "fragment";
    case RTMFP_CHUNK_PADDING:
      return "padding";
    default:
      return "unknown";
  }
}

/* ---- plain packet (section 2.2.4) ---- */

gboolean
rtmfp_packet_parse (const guint8 * plain, gsize len, RtmfpPacket * p)
{
  RtmfpReader r;
  RtmfpPacket tmp = { 0, };

  g_return_val_if_fail (p != NULL, FALSE);

  rtmfp_reader_init (&r, plain, len);
  if (!rtmfp_reader_u8 (&r, &tmp.flags))
    return FALSE;
  /* mode 0 is forbidden: the packet MUST be discarded */
  if ((tmp.flags & RTMFP_PKT_MODE_MASK) == RTMFP_MODE_INVALID)
    return FALSE;
  if ((tmp.flags & RTMFP_PKT_FLAG_TS) && !rtmfp_reader_u16 (&r, &tmp.timestamp))
    return FALSE;
  if ((tmp.flags & RTMFP_PKT_FLAG_TSE) &&
      !rtmfp_reader_u16 (&r, &tmp.timestamp_echo))
    return FALSE;
  tmp.chunks = rtmfp_reader_peek (&r);
  tmp.chunks_len = rtmfp_reader_remaining (&r);
  *p = tmp;
  return TRUE;
}

void
rtmfp_chunk_iter_init (RtmfpChunkIter * it, const RtmfpPacket * p)
{
  g_return_if_fail (it != NULL && p != NULL);

  it->p = p->chunks;
  it->left = p->chunks ? p->chunks_len : 0;
}

gboolean
rtmfp_chunk_iter_next (RtmfpChunkIter * it, RtmfpChunk * chunk)
{
  gsize clen;

  /* Section 2.2.4: fewer than three bytes left, or a chunk that would not
   * fit, mean the rest of the packet is padding.  An 0xff (or 0x00) chunk
   * that fits is an ordinary Padding chunk and is returned for the caller
   * to ignore: PMTU probes are a Padding chunk followed by a Ping
   * (section 3.5.4.3).  Trailing 0xff padding never fits (ff ffff). */
  if (it->left < RTMFP_CHUNK_HEADER_SIZE)
    goto end;
  clen = ((gsize) it->p[1] << 8) | it->p[2];
  if (clen > it->left - RTMFP_CHUNK_HEADER_SIZE)
    goto end;

  if (chunk) {
    chunk->type = it->p[0];
    chunk->data = it->p + RTMFP_CHUNK_HEADER_SIZE;
    chunk->len = clen;
  }
  it->p += RTMFP_CHUNK_HEADER_SIZE + clen;
  it->left -= RTMFP_CHUNK_HEADER_SIZE + clen;
  return TRUE;

end:
  it->left = 0;
  return FALSE;
}

/* ---- builder ---- */

void
rtmfp_packet_builder_init (RtmfpPacketBuilder * b, guint8 flags,
    guint16 timestamp, guint16 timestamp_echo, gsize max_size)
{
  g_return_if_fail (b != NULL);

  b->buf = g_byte_array_sized_new (MIN (max_size, RTMFP_MAX_STARTUP_PLAIN_SIZE));
  rtmfp_packet_builder_init_with (b, b->buf, flags, timestamp,
      timestamp_echo, max_size);
  g_byte_array_unref (b->buf);  /* the reference init_with took */
}

void
rtmfp_packet_builder_init_with (RtmfpPacketBuilder * b, GByteArray * buf,
    guint8 flags, guint16 timestamp, guint16 timestamp_echo, gsize max_size)
{
  g_return_if_fail (b != NULL && buf != NULL);

  g_byte_array_set_size (buf, 0);
  b->buf = g_byte_array_ref (buf);
  b->max_size = max_size;
  b->n_chunks = 0;
  rtmfp_append_u8 (b->buf, flags);
  if (flags & RTMFP_PKT_FLAG_TS)
    rtmfp_append_u16 (b->buf, timestamp);
  if (flags & RTMFP_PKT_FLAG_TSE)
    rtmfp_append_u16 (b->buf, timestamp_echo);
}

void
rtmfp_packet_builder_clear (RtmfpPacketBuilder * b)
{
  g_return_if_fail (b != NULL);

  if (b->buf)
    g_byte_array_unref (b->buf);
  b->buf = NULL;
  b->n_chunks = 0;
}

gsize
rtmfp_packet_builder_space (const RtmfpPacketBuilder * b)
{
  gsize used;

  g_return_val_if_fail (b != NULL && b->buf != NULL, 0);

  used = b->buf->len + RTMFP_CHUNK_HEADER_SIZE;
  if (used > b->max_size)
    return 0;
  return MIN (b->max_size - used, CHUNK_MAX_PAYLOAD);
}

gboolean
rtmfp_packet_builder_add (RtmfpPacketBuilder * b, guint8 type,
    const guint8 * payload, gsize len)
{
  g_return_val_if_fail (b != NULL && b->buf != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);

  if (len > CHUNK_MAX_PAYLOAD ||
      b->buf->len + RTMFP_CHUNK_HEADER_SIZE > b->max_size ||
      len > b->max_size - b->buf->len - RTMFP_CHUNK_HEADER_SIZE)
    return FALSE;

  rtmfp_chunk_append (b->buf, type, payload, len);
  b->n_chunks++;
  return TRUE;
}

gboolean
rtmfp_packet_builder_add_array (RtmfpPacketBuilder * b, guint8 type,
    const GByteArray * payload)
{
  if (payload == NULL)
    return rtmfp_packet_builder_add (b, type, NULL, 0);
  return rtmfp_packet_builder_add (b, type, payload->data, payload->len);
}

void
rtmfp_packet_builder_set_flags (RtmfpPacketBuilder * b, guint8 set)
{
  g_return_if_fail (b != NULL && b->buf != NULL && b->buf->len > 0);
  /* TS/TSE change the header layout and MOD the packet's meaning: those
   * are fixed at init time. */
  g_return_if_fail ((set & (RTMFP_PKT_FLAG_TS | RTMFP_PKT_FLAG_TSE |
              RTMFP_PKT_MODE_MASK)) == 0);

  b->buf->data[0] |= set;
}

const guint8 *
rtmfp_packet_builder_data (const RtmfpPacketBuilder * b, gsize * len)
{
  g_return_val_if_fail (b != NULL && b->buf != NULL, NULL);

  if (len)
    *len = b->buf->len;
  return b->buf->data;
}

/* ---- chunk framing ---- */

void
rtmfp_chunk_append (GByteArray * out, guint8 type, const guint8 * payload,
    gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (payload != NULL || len == 0);
  g_return_if_fail (len <= CHUNK_MAX_PAYLOAD);

  rtmfp_append_u8 (out, type);
  rtmfp_append_u16 (out, (guint16) len);
  rtmfp_append_bytes (out, payload, len);
}

/* Starts a chunk whose payload is then appended to out; returns the
 * offset of its header. */
static guint
chunk_begin (GByteArray * out, guint8 type)
{
  guint off = out->len;

  rtmfp_append_u8 (out, type);
  rtmfp_append_u16 (out, 0);
  return off;
}

/* Patches the length of a chunk begun with chunk_begin().  A payload
 * that does not fit the 16-bit length is a programming error: the chunk
 * is removed again. */
static gboolean
chunk_end (GByteArray * out, guint off)
{
  gsize plen = out->len - off - RTMFP_CHUNK_HEADER_SIZE;

  if (plen > CHUNK_MAX_PAYLOAD) {
    g_critical ("chunk 0x%02x payload of %" G_GSIZE_FORMAT
        " bytes exceeds 65535", out->data[off], plen);
    g_byte_array_set_size (out, off);
    return FALSE;
  }
  out->data[off + 1] = (guint8) (plen >> 8);
  out->data[off + 2] = (guint8) plen;
  return TRUE;
}

/* ---- 0x7f Packet Fragment (section 2.3.1) ---- */

gboolean
rtmfp_fragment_chunk_parse (const guint8 * d, gsize len,
    RtmfpFragmentChunk * c)
{
  RtmfpReader r;
  guint8 flags;
  RtmfpFragmentChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_u8 (&r, &flags) ||
      !rtmfp_reader_vlu (&r, &t.packet_id) ||
      !rtmfp_reader_vlu (&r, &t.fragment_num))
    return FALSE;
  /* "A packetFragment MUST NOT be empty" */
  if (rtmfp_reader_remaining (&r) == 0)
    return FALSE;
  t.more = (flags & RTMFP_FRAGMENT_FLAG_MORE) != 0;
  t.data = rtmfp_reader_peek (&r);
  t.len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_fragment_chunk_append (GByteArray * out, const RtmfpFragmentChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_FRAGMENT);
  rtmfp_append_u8 (out, c->more ? RTMFP_FRAGMENT_FLAG_MORE : 0);
  rtmfp_vlu_append (out, c->packet_id);
  rtmfp_vlu_append (out, c->fragment_num);
  rtmfp_append_bytes (out, c->data, c->len);
  chunk_end (out, off);
}

/* ---- 0x30 IHello (section 2.3.2) ---- */

gboolean
rtmfp_ihello_chunk_parse (const guint8 * d, gsize len, RtmfpIHelloChunk * c)
{
  RtmfpReader r;
  RtmfpIHelloChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu_bytes (&r, &t.epd, &t.epd_len))
    return FALSE;
  t.tag = rtmfp_reader_peek (&r);
  t.tag_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_ihello_chunk_append (GByteArray * out, const RtmfpIHelloChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_IHELLO);
  rtmfp_append_vlu_bytes (out, c->epd, c->epd_len);
  rtmfp_append_bytes (out, c->tag, c->tag_len);
  chunk_end (out, off);
}

/* ---- 0x0f Forwarded IHello (section 2.3.3) ---- */

gboolean
rtmfp_fihello_chunk_parse (const guint8 * d, gsize len,
    RtmfpFIHelloChunk * c)
{
  RtmfpReader r;
  RtmfpFIHelloChunk t;
  gsize n;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu_bytes (&r, &t.epd, &t.epd_len))
    return FALSE;
  if (!rtmfp_addr_parse (rtmfp_reader_peek (&r), rtmfp_reader_remaining (&r),
          &t.reply_address, &n))
    return FALSE;
  rtmfp_reader_skip (&r, n);
  t.tag = rtmfp_reader_peek (&r);
  t.tag_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_fihello_chunk_append (GByteArray * out, const RtmfpFIHelloChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);
  g_return_if_fail (c->reply_address.family == 4 ||
      c->reply_address.family == 6);

  off = chunk_begin (out, RTMFP_CHUNK_FIHELLO);
  rtmfp_append_vlu_bytes (out, c->epd, c->epd_len);
  rtmfp_addr_append (out, &c->reply_address);
  rtmfp_append_bytes (out, c->tag, c->tag_len);
  chunk_end (out, off);
}

/* ---- 0x70 RHello (section 2.3.4) ---- */

gboolean
rtmfp_rhello_chunk_parse (const guint8 * d, gsize len, RtmfpRHelloChunk * c)
{
  RtmfpReader r;
  RtmfpRHelloChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu_bytes (&r, &t.tag_echo, &t.tag_echo_len) ||
      !rtmfp_reader_vlu_bytes (&r, &t.cookie, &t.cookie_len))
    return FALSE;
  t.cert = rtmfp_reader_peek (&r);
  t.cert_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_rhello_chunk_append (GByteArray * out, const RtmfpRHelloChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_RHELLO);
  rtmfp_append_vlu_bytes (out, c->tag_echo, c->tag_echo_len);
  rtmfp_append_vlu_bytes (out, c->cookie, c->cookie_len);
  rtmfp_append_bytes (out, c->cert, c->cert_len);
  chunk_end (out, off);
}

/* ---- 0x71 Redirect (section 2.3.5) ---- */

gboolean
rtmfp_redirect_chunk_parse (const guint8 * d, gsize len,
    RtmfpRedirectChunk * c)
{
  RtmfpReader r;
  const guint8 *tag;
  gsize tag_len;
  guint n_addrs = 0;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu_bytes (&r, &tag, &tag_len))
    return FALSE;

  /* Validate the whole address list before touching *c */
  while (rtmfp_reader_remaining (&r) > 0) {
    RtmfpAddr a;
    gsize n;

    if (!rtmfp_addr_parse (rtmfp_reader_peek (&r),
            rtmfp_reader_remaining (&r), &a, &n))
      return FALSE;
    rtmfp_reader_skip (&r, n);
    n_addrs++;
  }

  c->tag_echo = tag;
  c->tag_echo_len = tag_len;
  c->n_addrs = MIN (n_addrs, RTMFP_REDIRECT_MAX_ADDRS);
  rtmfp_reader_init (&r, d, len);
  rtmfp_reader_vlu_bytes (&r, NULL, NULL);
  for (n_addrs = 0; n_addrs < c->n_addrs; n_addrs++) {
    gsize n = 0;

    rtmfp_addr_parse (rtmfp_reader_peek (&r), rtmfp_reader_remaining (&r),
        &c->addrs[n_addrs], &n);
    rtmfp_reader_skip (&r, n);
  }
  return TRUE;
}

void
rtmfp_redirect_chunk_append (GByteArray * out, const RtmfpRedirectChunk * c)
{
  guint off, i;

  g_return_if_fail (out != NULL && c != NULL);
  g_return_if_fail (c->n_addrs <= RTMFP_REDIRECT_MAX_ADDRS);

  off = chunk_begin (out, RTMFP_CHUNK_REDIRECT);
  rtmfp_append_vlu_bytes (out, c->tag_echo, c->tag_echo_len);
  for (i = 0; i < c->n_addrs; i++) {
    /* unset addresses cannot be encoded; skip them */
    if (c->addrs[i].family == 4 || c->addrs[i].family == 6)
      rtmfp_addr_append (out, &c->addrs[i]);
  }
  chunk_end (out, off);
}

/* ---- 0x79 RHello Cookie Change (section 2.3.6) ---- */

gboolean
rtmfp_cookie_change_chunk_parse (const guint8 * d, gsize len,
    RtmfpCookieChangeChunk * c)
{
  RtmfpReader r;
  RtmfpCookieChangeChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu_bytes (&r, &t.old_cookie, &t.old_cookie_len))
    return FALSE;
  t.new_cookie = rtmfp_reader_peek (&r);
  t.new_cookie_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_cookie_change_chunk_append (GByteArray * out,
    const RtmfpCookieChangeChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_COOKIE_CHANGE);
  rtmfp_append_vlu_bytes (out, c->old_cookie, c->old_cookie_len);
  rtmfp_append_bytes (out, c->new_cookie, c->new_cookie_len);
  chunk_end (out, off);
}

/* ---- 0x38 IIKeying (section 2.3.7) ---- */

gboolean
rtmfp_iikeying_chunk_parse (const guint8 * d, gsize len,
    RtmfpIIKeyingChunk * c)
{
  RtmfpReader r;
  RtmfpIIKeyingChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_u32 (&r, &t.initiator_session_id) ||
      !rtmfp_reader_vlu_bytes (&r, &t.cookie, &t.cookie_len) ||
      !rtmfp_reader_vlu_bytes (&r, &t.cert, &t.cert_len) ||
      !rtmfp_reader_vlu_bytes (&r, &t.skic, &t.skic_len))
    return FALSE;
  /* initiatorSignedParameters: everything before the signature */
  t.signed_params = d;
  t.signed_len = r.pos;
  t.signature = rtmfp_reader_peek (&r);
  t.signature_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_iikeying_signed_params_append (GByteArray * out,
    const RtmfpIIKeyingChunk * c)
{
  g_return_if_fail (out != NULL && c != NULL);

  rtmfp_append_u32 (out, c->initiator_session_id);
  rtmfp_append_vlu_bytes (out, c->cookie, c->cookie_len);
  rtmfp_append_vlu_bytes (out, c->cert, c->cert_len);
  rtmfp_append_vlu_bytes (out, c->skic, c->skic_len);
}

void
rtmfp_iikeying_chunk_append (GByteArray * out, const RtmfpIIKeyingChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_IIKEYING);
  rtmfp_iikeying_signed_params_append (out, c);
  rtmfp_append_bytes (out, c->signature, c->signature_len);
  chunk_end (out, off);
}

/* ---- 0x78 RIKeying (section 2.3.8) ---- */

gboolean
rtmfp_rikeying_chunk_parse (const guint8 * d, gsize len,
    RtmfpRIKeyingChunk * c)
{
  RtmfpReader r;
  RtmfpRIKeyingChunk t;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_u32 (&r, &t.responder_session_id) ||
      !rtmfp_reader_vlu_bytes (&r, &t.skrc, &t.skrc_len))
    return FALSE;
  /* responderSignedParametersPortion */
  t.signed_params = d;
  t.signed_len = r.pos;
  t.signature = rtmfp_reader_peek (&r);
  t.signature_len = rtmfp_reader_remaining (&r);
  *c = t;
  return TRUE;
}

void
rtmfp_rikeying_signed_params_append (GByteArray * out,
    const RtmfpRIKeyingChunk * c)
{
  g_return_if_fail (out != NULL && c != NULL);

  rtmfp_append_u32 (out, c->responder_session_id);
  rtmfp_append_vlu_bytes (out, c->skrc, c->skrc_len);
}

void
rtmfp_rikeying_chunk_append (GByteArray * out, const RtmfpRIKeyingChunk * c)
{
  guint off;

  g_return_if_fail (out != NULL && c != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_RIKEYING);
  rtmfp_rikeying_signed_params_append (out, c);
  rtmfp_append_bytes (out, c->signature, c->signature_len);
  chunk_end (out, off);
}

/* ---- 0x10 User Data / 0x11 Next User Data (sections 2.3.11, 2.3.12) ---- */

/* Common tail of both chunks: [option list if OPT] userData */
static gboolean
user_data_tail_parse (RtmfpReader * r, guint8 flags, RtmfpUserDataChunk * t)
{
  if (flags & RTMFP_UD_FLAG_OPT) {
    gsize n;

    if (!rtmfp_option_list_parse (rtmfp_reader_peek (r),
            rtmfp_reader_remaining (r), NULL, NULL, &n))
      return FALSE;
    t->options = rtmfp_reader_peek (r);
    t->options_len = n;
    rtmfp_reader_skip (r, n);
  } else {
    t->options = NULL;
    t->options_len = 0;
  }
  t->flags = flags;
  t->data = rtmfp_reader_peek (r);
  t->len = rtmfp_reader_remaining (r);
  return TRUE;
}

gboolean
rtmfp_user_data_chunk_parse (const guint8 * d, gsize len,
    RtmfpUserDataChunk * c)
{
  RtmfpReader r;
  RtmfpUserDataChunk t;
  guint8 flags;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_u8 (&r, &flags) ||
      !rtmfp_reader_vlu (&r, &t.flow_id) ||
      !rtmfp_reader_vlu (&r, &t.seq) || !rtmfp_reader_vlu (&r, &t.fsn_offset))
    return FALSE;
  /* seq# MUST be > 0 and fsnOffset MUST NOT exceed seq# (the FSN would
   * be negative).  A zero fsnOffset without ABN is left to the flow layer. */
  if (t.seq == 0 || t.fsn_offset > t.seq)
    return FALSE;
  if (!user_data_tail_parse (&r, flags, &t))
    return FALSE;
  *c = t;
  return TRUE;
}

gboolean
rtmfp_next_user_data_chunk_parse (const guint8 * d, gsize len,
    const RtmfpUserDataChunk * prev, RtmfpUserDataChunk * c)
{
  RtmfpReader r;
  RtmfpUserDataChunk t;
  guint8 flags;

  g_return_val_if_fail (c != NULL, FALSE);

  /* Next User Data must follow a (Next) User Data chunk in this packet */
  if (prev == NULL)
    return FALSE;
  /* same flow, next sequence number, same FSN; unbounded numbers must
   * not wrap */
  if (prev->seq == G_MAXUINT64 || prev->fsn_offset == G_MAXUINT64)
    return FALSE;
  t.flow_id = prev->flow_id;
  t.seq = prev->seq + 1;
  t.fsn_offset = prev->fsn_offset + 1;

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_u8 (&r, &flags) || !user_data_tail_parse (&r, flags, &t))
    return FALSE;
  *c = t;
  return TRUE;
}

gsize
rtmfp_user_data_chunk_size (gboolean next, guint64 flow_id, guint64 seq,
    guint64 fsn_offset, gsize options_len, gsize data_len)
{
  gsize n = RTMFP_CHUNK_HEADER_SIZE + 1 + options_len + data_len;

  if (!next)
    n += rtmfp_vlu_size (flow_id) + rtmfp_vlu_size (seq) +
        rtmfp_vlu_size (fsn_offset);
  return n;
}

void
rtmfp_user_data_chunk_append (GByteArray * out, gboolean next,
    const RtmfpUserDataChunk * c)
{
  guint off;
  guint8 flags;

  g_return_if_fail (out != NULL && c != NULL);
  g_return_if_fail (c->options != NULL || c->options_len == 0);

  flags = c->flags & ~RTMFP_UD_FLAG_OPT;
  if (c->options_len > 0)
    flags |= RTMFP_UD_FLAG_OPT;

  off = chunk_begin (out, next ? RTMFP_CHUNK_NEXT_USER_DATA :
      RTMFP_CHUNK_USER_DATA);
  rtmfp_append_u8 (out, flags);
  if (!next) {
    rtmfp_vlu_append (out, c->flow_id);
    rtmfp_vlu_append (out, c->seq);
    rtmfp_vlu_append (out, c->fsn_offset);
  }
  rtmfp_append_bytes (out, c->options, c->options_len);
  rtmfp_append_bytes (out, c->data, c->len);
  chunk_end (out, off);
}

/* ---- 0x50 / 0x51 acknowledgements (sections 2.3.13, 2.3.14) ---- */

static gboolean
ack_header_parse (RtmfpReader * r, RtmfpAckChunk * c)
{
  return rtmfp_reader_vlu (r, &c->flow_id) &&
      rtmfp_reader_vlu (r, &c->buffer_blocks) &&
      rtmfp_reader_vlu (r, &c->cumulative_ack);
}

/* Adds seq to the (ascending) range list, merging with the last range
 * when contiguous.  FALSE when the list is full (seq ignored). */
static gboolean
ack_add_seq (RtmfpAckChunk * c, guint64 seq)
{
  if (c->n_ranges > 0 && c->ranges[c->n_ranges - 1].last + 1 == seq) {
    c->ranges[c->n_ranges - 1].last = seq;
    return TRUE;
  }
  if (c->n_ranges >= RTMFP_ACK_MAX_RANGES)
    return FALSE;
  c->ranges[c->n_ranges].first = seq;
  c->ranges[c->n_ranges].last = seq;
  c->n_ranges++;
  return TRUE;
}

gboolean
rtmfp_ack_bitmap_chunk_parse (const guint8 * d, gsize len, RtmfpAckChunk * c)
{
  RtmfpReader r;
  const guint8 *bits;
  gsize nbytes, j;
  guint64 base;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  c->n_ranges = 0;
  if (!ack_header_parse (&r, c))
    return FALSE;

  nbytes = rtmfp_reader_remaining (&r);
  bits = rtmfp_reader_peek (&r);

  /* Byte j, bit k (LSB first) acknowledges cumAck + 2 + 8j + k: the
   * RFC's ackCursor starts at cumAck + 1 and each byte covers
   * ackCursor + 1 .. ackCursor + 8. */
  if (nbytes > 0 && c->cumulative_ack > G_MAXUINT64 - 2)
    goto overflow;
  base = c->cumulative_ack + 2;
  for (j = 0; j < nbytes; j++) {
    guint k;

    if (bits[j] == 0)
      continue;
    for (k = 0; k < 8; k++) {
      guint64 off;

      if (!(bits[j] & (1u << k)))
        continue;
      off = (guint64) j * 8 + k;
      if (off > G_MAXUINT64 - base)
        goto overflow;
      if (!ack_add_seq (c, base + off))
        return TRUE;            /* excess ranges ignored: acking less is safe */
    }
  }
  return TRUE;

overflow:
  c->n_ranges = 0;
  return FALSE;
}

gboolean
rtmfp_ack_ranges_chunk_parse (const guint8 * d, gsize len, RtmfpAckChunk * c)
{
  RtmfpReader r;
  guint64 cursor;

  g_return_val_if_fail (c != NULL, FALSE);

  rtmfp_reader_init (&r, d, len);
  c->n_ranges = 0;
  if (!ack_header_parse (&r, c))
    return FALSE;

  cursor = c->cumulative_ack;
  while (rtmfp_reader_remaining (&r) > 0 && c->n_ranges < RTMFP_ACK_MAX_RANGES) {
    guint64 holes_m1, recv_m1, from, to;

    /* Fig. 6: a range that is not completely encoded ends the list, the
     * ranges before it still count. */
    if (!rtmfp_reader_vlu (&r, &holes_m1) || !rtmfp_reader_vlu (&r, &recv_m1))
      break;

    /* ackCursor++; from = ackCursor + holes-1 + 1; to = from + recv-1 */
    if (cursor > G_MAXUINT64 - 2 || holes_m1 > G_MAXUINT64 - 2 - cursor)
      goto overflow;
    from = cursor + 2 + holes_m1;
    if (recv_m1 > G_MAXUINT64 - from)
      goto overflow;
    to = from + recv_m1;

    c->ranges[c->n_ranges].first = from;
    c->ranges[c->n_ranges].last = to;
    c->n_ranges++;
    cursor = to;
  }
  /* past RTMFP_ACK_MAX_RANGES the rest is ignored */
  return TRUE;

overflow:
  c->n_ranges = 0;
  return FALSE;
}

/* A normalised view of an RtmfpAckChunk: ranges strictly above
 * cumAck + 1, ascending, separated by at least one missing number. */
typedef struct {
  guint64 cum;
  guint n;
  RtmfpSeqRange r[RTMFP_ACK_MAX_RANGES];
} AckNorm;

static void
ack_normalise (const RtmfpAckChunk * c, AckNorm * a)
{
  guint i, n = MIN (c->n_ranges, RTMFP_ACK_MAX_RANGES);

  a->cum = c->cumulative_ack;
  a->n = 0;
  for (i = 0; i < n; i++) {
    RtmfpSeqRange s = c->ranges[i];
    guint64 *end = a->n > 0 ? &a->r[a->n - 1].last : &a->cum;

    if (s.first > s.last || s.last <= *end)
      continue;
    if (s.first <= *end + 1) {
      /* touching or overlapping what is already covered: extend it (the
       * cumulative ack itself when nothing was listed yet) */
      *end = s.last;
      continue;
    }
    a->r[a->n++] = s;
  }
}

/* Payload bytes of the bitmap encoding of the first k ranges, or
 * G_MAXSIZE if it would not fit a chunk anyway. */
static gsize
ack_bitmap_bytes (const AckNorm * a, guint k)
{
  guint64 span;

  if (k == 0)
    return 0;
  /* last acked number is cum + 2 + 8j + b, so j = (last - cum - 2) / 8 */
  span = a->r[k - 1].last - a->cum - 2;
  if (span / 8 >= CHUNK_MAX_PAYLOAD)
    return G_MAXSIZE;
  return (gsize) (span / 8) + 1;
}

static gsize
ack_range_pair_size (const AckNorm * a, guint i)
{
  guint64 prev = i == 0 ? a->cum : a->r[i - 1].last;

  return rtmfp_vlu_size (a->r[i].first - prev - 2) +
      rtmfp_vlu_size (a->r[i].last - a->r[i].first);
}

gsize
rtmfp_ack_chunk_append (GByteArray * out, const RtmfpAckChunk * c,
    gsize max_len)
{
  AckNorm *a;
  gsize head, ranges_size = 0, best_size = 0, appended = 0;
  gsize prefix[RTMFP_ACK_MAX_RANGES + 1];
  gboolean found = FALSE, best_bitmap = FALSE;
  guint k, i, best_k = 0;
  guint off;

  g_return_val_if_fail (out != NULL && c != NULL, 0);

  a = g_new (AckNorm, 1);
  ack_normalise (c, a);

  head = RTMFP_CHUNK_HEADER_SIZE + rtmfp_vlu_size (c->flow_id) +
      rtmfp_vlu_size (c->buffer_blocks) + rtmfp_vlu_size (a->cum);

  prefix[0] = 0;
  for (i = 0; i < a->n; i++) {
    ranges_size += ack_range_pair_size (a, i);
    prefix[i + 1] = ranges_size;
  }

  /* Section 3.6.3.4.2: keep as many ranges (from the bottom) as fit;
   * for that many, pick the more compact encoding (3.6.3.4.3). */
  for (k = a->n + 1; k-- > 0;) {
    gsize bm = ack_bitmap_bytes (a, k);
    gsize rg = prefix[k];
    gboolean use_bitmap = bm < rg;
    gsize sz = head + (use_bitmap ? bm : rg);

    if (sz <= max_len && sz - RTMFP_CHUNK_HEADER_SIZE <= CHUNK_MAX_PAYLOAD) {
      found = TRUE;
      best_k = k;
      best_bitmap = use_bitmap;
      best_size = sz;
      break;
    }
  }
  if (!found)
    goto done;

  off = chunk_begin (out, best_bitmap ? RTMFP_CHUNK_ACK_BITMAP :
      RTMFP_CHUNK_ACK_RANGES);
  rtmfp_vlu_append (out, c->flow_id);
  rtmfp_vlu_append (out, c->buffer_blocks);
  rtmfp_vlu_append (out, a->cum);
  if (best_bitmap) {
    gsize nbytes = ack_bitmap_bytes (a, best_k);
    guint start = out->len;
    guint64 base = a->cum + 2;

    g_byte_array_set_size (out, start + nbytes);
    memset (out->data + start, 0, nbytes);
    for (i = 0; i < best_k; i++) {
      guint64 s;

      for (s = a->r[i].first; s <= a->r[i].last; s++) {
        guint64 bit = s - base;

        out->data[start + bit / 8] |= (guint8) (1u << (bit % 8));
        if (s == G_MAXUINT64)
          break;
      }
    }
  } else {
    for (i = 0; i < best_k; i++) {
      guint64 prev = i == 0 ? a->cum : a->r[i - 1].last;

      rtmfp_vlu_append (out, a->r[i].first - prev - 2);
      rtmfp_vlu_append (out, a->r[i].last - a->r[i].first);
    }
  }
  if (chunk_end (out, off))
    appended = out->len - off;
  g_assert (appended == best_size);

done:
  g_free (a);
  return appended;
}

/* ---- 0x18 Buffer Probe (section 2.3.15) ---- */

gboolean
rtmfp_buffer_probe_chunk_parse (const guint8 * d, gsize len,
    guint64 * flow_id)
{
  RtmfpReader r;

  rtmfp_reader_init (&r, d, len);
  /* trailing bytes past the flow ID are ignored */
  return rtmfp_reader_vlu (&r, flow_id);
}

void
rtmfp_buffer_probe_chunk_append (GByteArray * out, guint64 flow_id)
{
  guint off;

  g_return_if_fail (out != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_BUFFER_PROBE);
  rtmfp_vlu_append (out, flow_id);
  chunk_end (out, off);
}

/* ---- 0x5e Flow Exception Report (section 2.3.16) ---- */

gboolean
rtmfp_flow_exception_chunk_parse (const guint8 * d, gsize len,
    guint64 * flow_id, guint64 * code)
{
  RtmfpReader r;
  guint64 f, e;

  rtmfp_reader_init (&r, d, len);
  if (!rtmfp_reader_vlu (&r, &f) || !rtmfp_reader_vlu (&r, &e))
    return FALSE;
  if (flow_id)
    *flow_id = f;
  if (code)
    *code = e;
  return TRUE;
}

void
rtmfp_flow_exception_chunk_append (GByteArray * out, guint64 flow_id,
    guint64 code)
{
  guint off;

  g_return_if_fail (out != NULL);

  off = chunk_begin (out, RTMFP_CHUNK_FLOW_EXCEPTION);
  rtmfp_vlu_append (out, flow_id);
  rtmfp_vlu_append (out, code);
  chunk_end (out, off);
}
