/* gst-rtmfp fuzz targets: plain packet and chunk round trips.
 *
 * For every chunk the matching parser of rtmfppacket.h runs; whatever
 * parses is appended again with the matching serialiser and must parse
 * back to the same values (and never grow: our encodings are the
 * canonical, shortest ones).  The header plus the chunks as iterated must
 * rebuild, through the packet builder, into exactly the input bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-fuzz"

#include <string.h>

#include "fuzz-common.h"
#include "packet-check.h"
#include "rtmfppacket.h"

static gboolean
bytes_eq (const guint8 * a, gsize alen, const guint8 * b, gsize blen)
{
  return alen == blen && (alen == 0 || memcmp (a, b, alen) == 0);
}

/* buf holds exactly one appended chunk of this type: return it */
static void
only_chunk (const GByteArray * buf, guint8 type, RtmfpChunk * ch)
{
  RtmfpPacket p = { 0, };
  RtmfpChunkIter it;

  p.chunks = buf->data;
  p.chunks_len = buf->len;
  rtmfp_chunk_iter_init (&it, &p);
  FUZZ_CHECK (rtmfp_chunk_iter_next (&it, ch));
  FUZZ_CHECK (ch->type == type);
  FUZZ_CHECK (ch->data + ch->len == buf->data + buf->len);
  FUZZ_CHECK (!rtmfp_chunk_iter_next (&it, NULL));
}

static void
check_addr (const RtmfpAddr * a)
{
  gchar str[RTMFP_ADDR_STRLEN];
  RtmfpAddr b;
  GByteArray *out;
  gsize n = 0;

  FUZZ_CHECK (a->family == 4 || a->family == 6);
  /* wire round trip, origin included */
  out = g_byte_array_new ();
  rtmfp_addr_append (out, a);
  FUZZ_CHECK (out->len == rtmfp_addr_encoded_size (a));
  FUZZ_CHECK (rtmfp_addr_parse (out->data, out->len, &b, &n));
  FUZZ_CHECK (n == out->len);
  FUZZ_CHECK (memcmp (a, &b, sizeof (b)) == 0);
  g_byte_array_unref (out);

  /* text round trip (origin is not part of the text form) */
  rtmfp_addr_to_string (a, str);
  FUZZ_CHECK (strlen (str) < RTMFP_ADDR_STRLEN);
  FUZZ_CHECK (rtmfp_addr_from_string (&b, str, 0));
  FUZZ_CHECK (rtmfp_addr_equal (a, &b));
  FUZZ_CHECK (rtmfp_addr_hash (a) == rtmfp_addr_hash (&b));
}

/* ---- option lists (User Data options) ---- */

typedef struct {
  guint64 type;
  const guint8 *value;
  gsize len;
} OptCopy;

static gboolean
collect_option (const RtmfpOption * opt, gpointer user_data)
{
  GArray *arr = user_data;
  OptCopy c = { opt->type, opt->value, opt->len };

  g_array_append_val (arr, c);
  return TRUE;
}

static void
check_option_list (const guint8 * d, gsize len)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (OptCopy));
  GArray *b = g_array_new (FALSE, FALSE, sizeof (OptCopy));
  GByteArray *out = g_byte_array_new ();
  gsize n = 0, m = 0;
  guint i;

  FUZZ_CHECK (rtmfp_option_list_parse (d, len, collect_option, a, &n));
  FUZZ_CHECK (n == len);        /* the chunk parser cut it at the Marker */
  for (i = 0; i < a->len; i++) {
    OptCopy *o = &g_array_index (a, OptCopy, i);
    gsize before = out->len;

    rtmfp_option_append (out, o->type, o->value, o->len);
    FUZZ_CHECK (out->len - before == rtmfp_option_size (o->type, o->len));
  }
  rtmfp_marker_append (out);
  FUZZ_CHECK (out->len <= len);
  FUZZ_CHECK (rtmfp_option_list_parse (out->data, out->len, collect_option, b,
          &m));
  FUZZ_CHECK (m == out->len);
  FUZZ_CHECK (a->len == b->len);
  for (i = 0; i < a->len; i++) {
    OptCopy *x = &g_array_index (a, OptCopy, i);
    OptCopy *y = &g_array_index (b, OptCopy, i);

    FUZZ_CHECK (x->type == y->type);
    FUZZ_CHECK (bytes_eq (x->value, x->len, y->value, y->len));
  }
  g_array_unref (a);
  g_array_unref (b);
  g_byte_array_unref (out);
}

/* ---- per chunk ---- */

static void
check_user_data (const RtmfpUserDataChunk * a, const RtmfpUserDataChunk * b)
{
  FUZZ_CHECK (a->flags == b->flags);
  FUZZ_CHECK (a->flow_id == b->flow_id);
  FUZZ_CHECK (a->seq == b->seq);
  FUZZ_CHECK (a->fsn_offset == b->fsn_offset);
  FUZZ_CHECK (a->seq > 0 && a->fsn_offset <= a->seq);
  FUZZ_CHECK (bytes_eq (a->options, a->options_len, b->options,
          b->options_len));
  FUZZ_CHECK (bytes_eq (a->data, a->len, b->data, b->len));
  FUZZ_CHECK (((a->flags & RTMFP_UD_FLAG_OPT) != 0) == (a->options_len > 0));
}

static void
check_ack (const RtmfpAckChunk * a, const RtmfpAckChunk * b)
{
  guint i;

  FUZZ_CHECK (a->flow_id == b->flow_id);
  FUZZ_CHECK (a->buffer_blocks == b->buffer_blocks);
  FUZZ_CHECK (a->cumulative_ack == b->cumulative_ack);
  FUZZ_CHECK (a->n_ranges == b->n_ranges);
  for (i = 0; i < a->n_ranges; i++) {
    FUZZ_CHECK (a->ranges[i].first == b->ranges[i].first);
    FUZZ_CHECK (a->ranges[i].last == b->ranges[i].last);
  }
}

static void
check_ack_shape (const RtmfpAckChunk * a)
{
  guint i;
  guint64 prev;

  /* ascending, disjoint, not touching, all above cumAck + 1 */
  FUZZ_CHECK (a->n_ranges <= RTMFP_ACK_MAX_RANGES);
  prev = a->cumulative_ack;
  for (i = 0; i < a->n_ranges; i++) {
    FUZZ_CHECK (a->ranges[i].first <= a->ranges[i].last);
    FUZZ_CHECK (a->ranges[i].first > prev && a->ranges[i].first - prev >= 2);
    prev = a->ranges[i].last;
  }
}

typedef struct {
  gboolean have_prev;
  RtmfpUserDataChunk prev;
} PacketState;

static void
check_chunk (const RtmfpChunk * ch, PacketState * st)
{
  GByteArray *out = g_byte_array_new ();
  RtmfpChunk rc;
  gboolean ud_ok = FALSE;

  switch (ch->type) {
    case RTMFP_CHUNK_FRAGMENT:{
      RtmfpFragmentChunk a, b;

      if (!rtmfp_fragment_chunk_parse (ch->data, ch->len, &a))
        break;
      FUZZ_CHECK (a.len > 0);
      rtmfp_fragment_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_fragment_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (a.more == b.more && a.packet_id == b.packet_id &&
          a.fragment_num == b.fragment_num);
      FUZZ_CHECK (bytes_eq (a.data, a.len, b.data, b.len));
      break;
    }
    case RTMFP_CHUNK_IHELLO:{
      RtmfpIHelloChunk a, b;

      if (!rtmfp_ihello_chunk_parse (ch->data, ch->len, &a))
        break;
      rtmfp_ihello_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_ihello_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (bytes_eq (a.epd, a.epd_len, b.epd, b.epd_len));
      FUZZ_CHECK (bytes_eq (a.tag, a.tag_len, b.tag, b.tag_len));
      break;
    }
    case RTMFP_CHUNK_FIHELLO:{
      RtmfpFIHelloChunk a, b;

      if (!rtmfp_fihello_chunk_parse (ch->data, ch->len, &a))
        break;
      check_addr (&a.reply_address);
      rtmfp_fihello_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_fihello_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (bytes_eq (a.epd, a.epd_len, b.epd, b.epd_len));
      FUZZ_CHECK (memcmp (&a.reply_address, &b.reply_address,
              sizeof (RtmfpAddr)) == 0);
      FUZZ_CHECK (bytes_eq (a.tag, a.tag_len, b.tag, b.tag_len));
      break;
    }
    case RTMFP_CHUNK_RHELLO:{
      RtmfpRHelloChunk a, b;

      if (!rtmfp_rhello_chunk_parse (ch->data, ch->len, &a))
        break;
      rtmfp_rhello_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_rhello_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (bytes_eq (a.tag_echo, a.tag_echo_len, b.tag_echo,
              b.tag_echo_len));
      FUZZ_CHECK (bytes_eq (a.cookie, a.cookie_len, b.cookie, b.cookie_len));
      FUZZ_CHECK (bytes_eq (a.cert, a.cert_len, b.cert, b.cert_len));
      break;
    }
    case RTMFP_CHUNK_REDIRECT:{
      RtmfpRedirectChunk *a = g_new0 (RtmfpRedirectChunk, 1);
      RtmfpRedirectChunk *b = g_new0 (RtmfpRedirectChunk, 1);
      guint i;

      if (rtmfp_redirect_chunk_parse (ch->data, ch->len, a)) {
        FUZZ_CHECK (a->n_addrs <= RTMFP_REDIRECT_MAX_ADDRS);
        for (i = 0; i < a->n_addrs; i++)
          check_addr (&a->addrs[i]);
        rtmfp_redirect_chunk_append (out, a);
        only_chunk (out, ch->type, &rc);
        FUZZ_CHECK (rc.len <= ch->len);
        FUZZ_CHECK (rtmfp_redirect_chunk_parse (rc.data, rc.len, b));
        FUZZ_CHECK (bytes_eq (a->tag_echo, a->tag_echo_len, b->tag_echo,
                b->tag_echo_len));
        FUZZ_CHECK (a->n_addrs == b->n_addrs);
        for (i = 0; i < a->n_addrs; i++)
          FUZZ_CHECK (memcmp (&a->addrs[i], &b->addrs[i],
                  sizeof (RtmfpAddr)) == 0);
      }
      g_free (a);
      g_free (b);
      break;
    }
    case RTMFP_CHUNK_COOKIE_CHANGE:{
      RtmfpCookieChangeChunk a, b;

      if (!rtmfp_cookie_change_chunk_parse (ch->data, ch->len, &a))
        break;
      rtmfp_cookie_change_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_cookie_change_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (bytes_eq (a.old_cookie, a.old_cookie_len, b.old_cookie,
              b.old_cookie_len));
      FUZZ_CHECK (bytes_eq (a.new_cookie, a.new_cookie_len, b.new_cookie,
              b.new_cookie_len));
      break;
    }
    case RTMFP_CHUNK_IIKEYING:{
      RtmfpIIKeyingChunk a, b;
      GByteArray *sp;

      if (!rtmfp_iikeying_chunk_parse (ch->data, ch->len, &a))
        break;
      FUZZ_CHECK (a.signed_params == ch->data);
      FUZZ_CHECK (a.signed_params + a.signed_len == a.signature);
      FUZZ_CHECK (a.signature + a.signature_len == ch->data + ch->len);
      rtmfp_iikeying_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_iikeying_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (a.initiator_session_id == b.initiator_session_id);
      FUZZ_CHECK (bytes_eq (a.cookie, a.cookie_len, b.cookie, b.cookie_len));
      FUZZ_CHECK (bytes_eq (a.cert, a.cert_len, b.cert, b.cert_len));
      FUZZ_CHECK (bytes_eq (a.skic, a.skic_len, b.skic, b.skic_len));
      FUZZ_CHECK (bytes_eq (a.signature, a.signature_len, b.signature,
              b.signature_len));
      /* the canonical form's signed parameters are what we would sign */
      sp = g_byte_array_new ();
      rtmfp_iikeying_signed_params_append (sp, &b);
      FUZZ_CHECK (bytes_eq (sp->data, sp->len, b.signed_params,
              b.signed_len));
      g_byte_array_unref (sp);
      break;
    }
    case RTMFP_CHUNK_RIKEYING:{
      RtmfpRIKeyingChunk a, b;
      GByteArray *sp;

      if (!rtmfp_rikeying_chunk_parse (ch->data, ch->len, &a))
        break;
      FUZZ_CHECK (a.signed_params == ch->data);
      FUZZ_CHECK (a.signed_params + a.signed_len == a.signature);
      FUZZ_CHECK (a.signature + a.signature_len == ch->data + ch->len);
      rtmfp_rikeying_chunk_append (out, &a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_rikeying_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (a.responder_session_id == b.responder_session_id);
      FUZZ_CHECK (bytes_eq (a.skrc, a.skrc_len, b.skrc, b.skrc_len));
      FUZZ_CHECK (bytes_eq (a.signature, a.signature_len, b.signature,
              b.signature_len));
      sp = g_byte_array_new ();
      rtmfp_rikeying_signed_params_append (sp, &b);
      FUZZ_CHECK (bytes_eq (sp->data, sp->len, b.signed_params,
              b.signed_len));
      g_byte_array_unref (sp);
      break;
    }
    case RTMFP_CHUNK_USER_DATA:
    case RTMFP_CHUNK_NEXT_USER_DATA:{
      gboolean next = ch->type == RTMFP_CHUNK_NEXT_USER_DATA;
      RtmfpUserDataChunk a, b;

      if (next) {
        if (!rtmfp_next_user_data_chunk_parse (ch->data, ch->len,
                st->have_prev ? &st->prev : NULL, &a))
          break;
        FUZZ_CHECK (st->have_prev);
        FUZZ_CHECK (a.flow_id == st->prev.flow_id);
        FUZZ_CHECK (a.seq == st->prev.seq + 1);
        FUZZ_CHECK (a.seq - a.fsn_offset ==
            st->prev.seq - st->prev.fsn_offset);
      } else if (!rtmfp_user_data_chunk_parse (ch->data, ch->len, &a)) {
        break;
      }
      if (a.options_len > 0)
        check_option_list (a.options, a.options_len);
      FUZZ_CHECK (rtmfp_user_data_chunk_size (next, a.flow_id, a.seq,
              a.fsn_offset, a.options_len, a.len) <=
          RTMFP_CHUNK_HEADER_SIZE + ch->len);
      rtmfp_user_data_chunk_append (out, next, &a);
      FUZZ_CHECK (out->len == rtmfp_user_data_chunk_size (next, a.flow_id,
              a.seq, a.fsn_offset, a.options_len, a.len));
      only_chunk (out, ch->type, &rc);
      if (next)
        FUZZ_CHECK (rtmfp_next_user_data_chunk_parse (rc.data, rc.len,
                &st->prev, &b));
      else
        FUZZ_CHECK (rtmfp_user_data_chunk_parse (rc.data, rc.len, &b));
      check_user_data (&a, &b);
      /* b points into out: keep a (it points into the packet) */
      st->prev = a;
      ud_ok = TRUE;
      break;
    }
    case RTMFP_CHUNK_ACK_BITMAP:
    case RTMFP_CHUNK_ACK_RANGES:{
      RtmfpAckChunk *a = g_new0 (RtmfpAckChunk, 1);
      RtmfpAckChunk *b = g_new0 (RtmfpAckChunk, 1);
      gboolean ok;

      if (ch->type == RTMFP_CHUNK_ACK_BITMAP)
        ok = rtmfp_ack_bitmap_chunk_parse (ch->data, ch->len, a);
      else
        ok = rtmfp_ack_ranges_chunk_parse (ch->data, ch->len, a);
      if (ok) {
        gsize n;

        check_ack_shape (a);
        n = rtmfp_ack_chunk_append (out, a, G_MAXSIZE);
        FUZZ_CHECK (n > 0 && n == out->len);
        FUZZ_CHECK (out->data[0] == RTMFP_CHUNK_ACK_BITMAP ||
            out->data[0] == RTMFP_CHUNK_ACK_RANGES);
        only_chunk (out, out->data[0], &rc);
        if (rc.type == RTMFP_CHUNK_ACK_BITMAP)
          FUZZ_CHECK (rtmfp_ack_bitmap_chunk_parse (rc.data, rc.len, b));
        else
          FUZZ_CHECK (rtmfp_ack_ranges_chunk_parse (rc.data, rc.len, b));
        check_ack (a, b);

        /* a size-limited append keeps a prefix of the ranges (3.6.3.4.2) */
        if (n > 8) {
          GByteArray *small = g_byte_array_new ();
          gsize m = rtmfp_ack_chunk_append (small, a, n - 1);
          guint i;

          FUZZ_CHECK (m <= n - 1 && m == small->len);
          if (m > 0) {
            only_chunk (small, small->data[0], &rc);
            if (rc.type == RTMFP_CHUNK_ACK_BITMAP)
              FUZZ_CHECK (rtmfp_ack_bitmap_chunk_parse (rc.data, rc.len, b));
            else
              FUZZ_CHECK (rtmfp_ack_ranges_chunk_parse (rc.data, rc.len, b));
            FUZZ_CHECK (b->flow_id == a->flow_id &&
                b->cumulative_ack == a->cumulative_ack &&
                b->n_ranges < a->n_ranges);
            for (i = 0; i < b->n_ranges; i++)
              FUZZ_CHECK (b->ranges[i].first == a->ranges[i].first &&
                  b->ranges[i].last == a->ranges[i].last);
          }
          g_byte_array_unref (small);
        }
      }
      g_free (a);
      g_free (b);
      break;
    }
    case RTMFP_CHUNK_BUFFER_PROBE:{
      guint64 a, b;

      if (!rtmfp_buffer_probe_chunk_parse (ch->data, ch->len, &a))
        break;
      rtmfp_buffer_probe_chunk_append (out, a);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_buffer_probe_chunk_parse (rc.data, rc.len, &b));
      FUZZ_CHECK (a == b);
      break;
    }
    case RTMFP_CHUNK_FLOW_EXCEPTION:{
      guint64 fa, ca, fb, cb;

      if (!rtmfp_flow_exception_chunk_parse (ch->data, ch->len, &fa, &ca))
        break;
      rtmfp_flow_exception_chunk_append (out, fa, ca);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (rc.len <= ch->len);
      FUZZ_CHECK (rtmfp_flow_exception_chunk_parse (rc.data, rc.len, &fb,
              &cb));
      FUZZ_CHECK (fa == fb && ca == cb);
      break;
    }
    default:
      /* Ping, Ping Reply, Close, Close Ack, padding 0, unknown types:
       * opaque payloads */
      rtmfp_chunk_append (out, ch->type, ch->data, ch->len);
      only_chunk (out, ch->type, &rc);
      FUZZ_CHECK (bytes_eq (rc.data, rc.len, ch->data, ch->len));
      break;
  }

  st->have_prev = ud_ok;
  g_byte_array_unref (out);
}

gint
fuzz_check_plain_packet (const guint8 * plain, gsize len)
{
  RtmfpPacket p;
  RtmfpChunkIter it;
  RtmfpChunk ch;
  RtmfpPacketBuilder b;
  PacketState st = { FALSE, };
  const guint8 *built;
  gsize built_len, header_len, consumed;
  gint n = 0;

  /* chunk names for any type byte (logging) */
  FUZZ_CHECK (rtmfp_chunk_type_get_nick (len > 0 ? plain[0] : 0) != NULL);

  if (!rtmfp_packet_parse (plain, len, &p))
    return -1;
  FUZZ_CHECK (rtmfp_packet_mode (&p) != RTMFP_MODE_INVALID);
  header_len = 1 + ((p.flags & RTMFP_PKT_FLAG_TS) ? 2 : 0) +
      ((p.flags & RTMFP_PKT_FLAG_TSE) ? 2 : 0);
  FUZZ_CHECK (p.chunks == plain + header_len);
  FUZZ_CHECK (p.chunks_len == len - header_len);

  /* header + chunks as iterated rebuild into the same bytes */
  rtmfp_packet_builder_init (&b, p.flags, p.timestamp, p.timestamp_echo, len);
  consumed = header_len;
  rtmfp_chunk_iter_init (&it, &p);
  while (rtmfp_chunk_iter_next (&it, &ch)) {
    FUZZ_CHECK (ch.data == plain + consumed + RTMFP_CHUNK_HEADER_SIZE);
    consumed += RTMFP_CHUNK_HEADER_SIZE + ch.len;
    FUZZ_CHECK (consumed <= len);
    FUZZ_CHECK (rtmfp_packet_builder_space (&b) >= ch.len);
    FUZZ_CHECK (rtmfp_packet_builder_add (&b, ch.type, ch.data, ch.len));
    check_chunk (&ch, &st);
    n++;
  }
  /* once finished, the iterator stays finished */
  FUZZ_CHECK (!rtmfp_chunk_iter_next (&it, &ch));

  built = rtmfp_packet_builder_data (&b, &built_len);
  FUZZ_CHECK (built_len == consumed);
  FUZZ_CHECK (memcmp (built, plain, built_len) == 0);
  FUZZ_CHECK (b.n_chunks == (guint) n);
  /* a full builder refuses more rather than overflowing max_size */
  if (len - consumed < RTMFP_CHUNK_HEADER_SIZE)
    FUZZ_CHECK (!rtmfp_packet_builder_add (&b, RTMFP_CHUNK_PING, NULL, 0));
  rtmfp_packet_builder_clear (&b);
  return n;
}
