/* RTMFP core: plain packets and chunks (RFC 7016 sections 2.2.4, 2.3)
 *
 * Everything here works on decrypted ("plain") RTMFP packets.  Parsers
 * never allocate: parsed structures point into the caller's buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "rtmfpaddr.h"
#include "rtmfpvlu.h"

G_BEGIN_DECLS

/* Packet flags (section 2.2.4) */
#define RTMFP_PKT_FLAG_TC   0x80        /* time critical forward */
#define RTMFP_PKT_FLAG_TCR  0x40        /* time critical reverse */
#define RTMFP_PKT_FLAG_TS   0x08        /* timestamp present */
#define RTMFP_PKT_FLAG_TSE  0x04        /* timestamp echo present */
#define RTMFP_PKT_MODE_MASK 0x03

typedef enum {
  RTMFP_MODE_INVALID = 0,
  RTMFP_MODE_INITIATOR = 1,
  RTMFP_MODE_RESPONDER = 2,
  RTMFP_MODE_STARTUP = 3,
} RtmfpPacketMode;

/* Size rules.  A plain packet is at most RTMFP_MAX_PLAIN_SIZE bytes for an
 * open session, so that with the crypto overhead the UDP payload stays in
 * the 1200-byte class that every path (and Flash-era servers) carries.
 * Startup packets may be larger (big certificates) up to
 * RTMFP_MAX_STARTUP_PLAIN_SIZE; the crypto layer then fragments (0x7f). */
#define RTMFP_MAX_DATAGRAM_SIZE      1200
#define RTMFP_MAX_PLAIN_SIZE         1160
#define RTMFP_MAX_STARTUP_PLAIN_SIZE 4096
#define RTMFP_PKT_MAX_HEADER_SIZE    5  /* flags + timestamp + echo */
#define RTMFP_CHUNK_HEADER_SIZE      3  /* type + 16-bit length */

/* Chunk types (section 2.3) */
typedef enum {
  RTMFP_CHUNK_PADDING0 = 0x00,
  RTMFP_CHUNK_PING = 0x01,
  RTMFP_CHUNK_SESSION_CLOSE = 0x0c,
  RTMFP_CHUNK_FIHELLO = 0x0f,
  RTMFP_CHUNK_USER_DATA = 0x10,
  RTMFP_CHUNK_NEXT_USER_DATA = 0x11,
  RTMFP_CHUNK_BUFFER_PROBE = 0x18,
  RTMFP_CHUNK_IHELLO = 0x30,
  RTMFP_CHUNK_IIKEYING = 0x38,
  RTMFP_CHUNK_PING_REPLY = 0x41,
  RTMFP_CHUNK_SESSION_CLOSE_ACK = 0x4c,
  RTMFP_CHUNK_ACK_BITMAP = 0x50,
  RTMFP_CHUNK_ACK_RANGES = 0x51,
  RTMFP_CHUNK_FLOW_EXCEPTION = 0x5e,
  RTMFP_CHUNK_RHELLO = 0x70,
  RTMFP_CHUNK_REDIRECT = 0x71,
  RTMFP_CHUNK_RIKEYING = 0x78,
  RTMFP_CHUNK_COOKIE_CHANGE = 0x79,
  RTMFP_CHUNK_FRAGMENT = 0x7f,
  RTMFP_CHUNK_PADDING = 0xff,
} RtmfpChunkType;

const gchar *rtmfp_chunk_type_get_nick (guint8 type);

/* ---- plain packet ---- */

typedef struct {
  guint8 flags;
  guint16 timestamp;            /* valid if flags & RTMFP_PKT_FLAG_TS */
  guint16 timestamp_echo;       /* valid if flags & RTMFP_PKT_FLAG_TSE */
  const guint8 *chunks;         /* chunk area (may include padding) */
  gsize chunks_len;
} RtmfpPacket;

#define rtmfp_packet_mode(p) ((RtmfpPacketMode) ((p)->flags & RTMFP_PKT_MODE_MASK))

/* FALSE if shorter than the header its flags announce, or mode 0. */
gboolean  rtmfp_packet_parse (const guint8 * plain, gsize len, RtmfpPacket * p);

typedef struct {
  guint8 type;
  const guint8 *data;
  gsize len;
} RtmfpChunk;

typedef struct {
  const guint8 *p;
  gsize left;
} RtmfpChunkIter;

void      rtmfp_chunk_iter_init (RtmfpChunkIter * it, const RtmfpPacket * p);
/* Returns the next chunk; FALSE at the end of the chunk area, i.e. when
 * fewer than 3 bytes remain or a chunk's declared length runs past the end
 * (section 2.2.4: the rest is padding).  Padding chunks (0x00, 0xff) that
 * fit are returned like any other chunk; callers ignore them. */
gboolean  rtmfp_chunk_iter_next (RtmfpChunkIter * it, RtmfpChunk * chunk);

/* Packet builder.  Starts a packet with the header, then chunks are
 * appended while they fit in max_size.  The builder never pads: padding
 * is the crypto profile's business. */
typedef struct {
  GByteArray *buf;              /* owned */
  gsize max_size;
  guint n_chunks;
} RtmfpPacketBuilder;

void      rtmfp_packet_builder_init (RtmfpPacketBuilder * b, guint8 flags,
    guint16 timestamp, guint16 timestamp_echo, gsize max_size);
/* Same, building into `buf` (emptied first, one reference taken) rather
 * than a new array: a sender reuses one buffer for every packet. */
void      rtmfp_packet_builder_init_with (RtmfpPacketBuilder * b,
    GByteArray * buf, guint8 flags, guint16 timestamp,
    guint16 timestamp_echo, gsize max_size);
void      rtmfp_packet_builder_clear (RtmfpPacketBuilder * b);
/* Payload bytes left for one more chunk (0 if not even a header fits) */
gsize     rtmfp_packet_builder_space (const RtmfpPacketBuilder * b);
/* Appends a whole chunk; FALSE (nothing written) if it does not fit. */
gboolean  rtmfp_packet_builder_add (RtmfpPacketBuilder * b, guint8 type,
    const guint8 * payload, gsize len);
/* Appends a chunk whose payload was built in `payload` */
gboolean  rtmfp_packet_builder_add_array (RtmfpPacketBuilder * b, guint8 type,
    const GByteArray * payload);
/* Sets/clears header flags after the fact (e.g. TC once data is added) */
void      rtmfp_packet_builder_set_flags (RtmfpPacketBuilder * b, guint8 set);
const guint8 *rtmfp_packet_builder_data (const RtmfpPacketBuilder * b,
    gsize * len);

/* Serialises a chunk header + payload into out (no size limit). */
void      rtmfp_chunk_append (GByteArray * out, guint8 type,
    const guint8 * payload, gsize len);

/* ---- chunk payloads.  parse: payload only (no type/length header);
 * FALSE when malformed.  append: the whole chunk, header included. ---- */

/* 0x7f Packet Fragment (section 2.3.1) */
#define RTMFP_FRAGMENT_FLAG_MORE 0x80
typedef struct {
  gboolean more;
  guint64 packet_id;
  guint64 fragment_num;
  const guint8 *data;
  gsize len;
} RtmfpFragmentChunk;
gboolean  rtmfp_fragment_chunk_parse (const guint8 * d, gsize len,
    RtmfpFragmentChunk * c);
void      rtmfp_fragment_chunk_append (GByteArray * out,
    const RtmfpFragmentChunk * c);

/* 0x30 IHello */
typedef struct {
  const guint8 *epd;
  gsize epd_len;
  const guint8 *tag;
  gsize tag_len;
} RtmfpIHelloChunk;
gboolean  rtmfp_ihello_chunk_parse (const guint8 * d, gsize len,
    RtmfpIHelloChunk * c);
void      rtmfp_ihello_chunk_append (GByteArray * out, const RtmfpIHelloChunk * c);

/* 0x0f Forwarded IHello */
typedef struct {
  const guint8 *epd;
  gsize epd_len;
  RtmfpAddr reply_address;
  const guint8 *tag;
  gsize tag_len;
} RtmfpFIHelloChunk;
gboolean  rtmfp_fihello_chunk_parse (const guint8 * d, gsize len,
    RtmfpFIHelloChunk * c);
void      rtmfp_fihello_chunk_append (GByteArray * out,
    const RtmfpFIHelloChunk * c);

/* 0x70 RHello */
typedef struct {
  const guint8 *tag_echo;
  gsize tag_echo_len;
  const guint8 *cookie;
  gsize cookie_len;
  const guint8 *cert;
  gsize cert_len;
} RtmfpRHelloChunk;
gboolean  rtmfp_rhello_chunk_parse (const guint8 * d, gsize len,
    RtmfpRHelloChunk * c);
void      rtmfp_rhello_chunk_append (GByteArray * out, const RtmfpRHelloChunk * c);

/* 0x71 Redirect (n_addrs == 0: Implied Redirect) */
#define RTMFP_REDIRECT_MAX_ADDRS 24
typedef struct {
  const guint8 *tag_echo;
  gsize tag_echo_len;
  guint n_addrs;
  RtmfpAddr addrs[RTMFP_REDIRECT_MAX_ADDRS];
} RtmfpRedirectChunk;
/* Addresses past RTMFP_REDIRECT_MAX_ADDRS are ignored; a truncated
 * trailing address makes the chunk malformed. */
gboolean  rtmfp_redirect_chunk_parse (const guint8 * d, gsize len,
    RtmfpRedirectChunk * c);
void      rtmfp_redirect_chunk_append (GByteArray * out,
    const RtmfpRedirectChunk * c);

/* 0x79 RHello Cookie Change */
typedef struct {
  const guint8 *old_cookie;
  gsize old_cookie_len;
  const guint8 *new_cookie;
  gsize new_cookie_len;
} RtmfpCookieChangeChunk;
gboolean  rtmfp_cookie_change_chunk_parse (const guint8 * d, gsize len,
    RtmfpCookieChangeChunk * c);
void      rtmfp_cookie_change_chunk_append (GByteArray * out,
    const RtmfpCookieChangeChunk * c);

/* 0x38 IIKeying.  signed_params/signed_len span initiatorSessionID through
 * the end of the SKIC: what the signature covers. */
typedef struct {
  guint32 initiator_session_id;
  const guint8 *cookie;
  gsize cookie_len;
  const guint8 *cert;
  gsize cert_len;
  const guint8 *skic;
  gsize skic_len;
  const guint8 *signature;
  gsize signature_len;
  const guint8 *signed_params;
  gsize signed_len;
} RtmfpIIKeyingChunk;
gboolean  rtmfp_iikeying_chunk_parse (const guint8 * d, gsize len,
    RtmfpIIKeyingChunk * c);
/* Appends initiatorSessionID..SKIC (the signed parameters) to out */
void      rtmfp_iikeying_signed_params_append (GByteArray * out,
    const RtmfpIIKeyingChunk * c);
void      rtmfp_iikeying_chunk_append (GByteArray * out,
    const RtmfpIIKeyingChunk * c);

/* 0x78 RIKeying.  signed_params: responderSessionID through SKRC (the
 * signature covers these followed by the IIKeying's SKIC). */
typedef struct {
  guint32 responder_session_id;
  const guint8 *skrc;
  gsize skrc_len;
  const guint8 *signature;
  gsize signature_len;
  const guint8 *signed_params;
  gsize signed_len;
} RtmfpRIKeyingChunk;
gboolean  rtmfp_rikeying_chunk_parse (const guint8 * d, gsize len,
    RtmfpRIKeyingChunk * c);
void      rtmfp_rikeying_signed_params_append (GByteArray * out,
    const RtmfpRIKeyingChunk * c);
void      rtmfp_rikeying_chunk_append (GByteArray * out,
    const RtmfpRIKeyingChunk * c);

/* 0x10 User Data / 0x11 Next User Data (sections 2.3.11, 2.3.12) */
#define RTMFP_UD_FLAG_OPT       0x80
#define RTMFP_UD_FRA_MASK       0x30
#define RTMFP_UD_FRA_WHOLE      0x00
#define RTMFP_UD_FRA_BEGIN      0x10
#define RTMFP_UD_FRA_END        0x20
#define RTMFP_UD_FRA_MIDDLE     0x30
#define RTMFP_UD_FLAG_ABN       0x02
#define RTMFP_UD_FLAG_FIN       0x01

/* User Data options (section 2.3.11.1) */
#define RTMFP_UD_OPT_METADATA          0x00
#define RTMFP_UD_OPT_RETURN_ASSOCIATION 0x0a
#define RTMFP_UD_OPT_MUST_UNDERSTAND_LIMIT 0x2000

typedef struct {
  guint8 flags;
  /* For Next User Data these three are filled by the caller from the
   * previous chunk (flow_id same, seq + 1, same fsn). */
  guint64 flow_id;
  guint64 seq;
  guint64 fsn_offset;
  /* options area including the terminating Marker, when OPT is set */
  const guint8 *options;
  gsize options_len;
  const guint8 *data;
  gsize len;
} RtmfpUserDataChunk;
gboolean  rtmfp_user_data_chunk_parse (const guint8 * d, gsize len,
    RtmfpUserDataChunk * c);
/* Parses a Next User Data chunk: flags, options, data.  flow_id, seq and
 * fsn_offset are derived from prev (seq+1, fsn_offset+1 so FSN stays). */
gboolean  rtmfp_next_user_data_chunk_parse (const guint8 * d, gsize len,
    const RtmfpUserDataChunk * prev, RtmfpUserDataChunk * c);
/* Size of the encoded chunk (header included) with the given options and
 * data length; next = Next User Data. */
gsize     rtmfp_user_data_chunk_size (gboolean next, guint64 flow_id,
    guint64 seq, guint64 fsn_offset, gsize options_len, gsize data_len);
/* Appends a User Data (next == FALSE) or Next User Data chunk.  options
 * must already be a Marker-terminated option list (or NULL/0); the OPT
 * flag is set from options_len. */
void      rtmfp_user_data_chunk_append (GByteArray * out, gboolean next,
    const RtmfpUserDataChunk * c);

/* 0x50 / 0x51 acknowledgements.  The parsed form is a cumulative ack plus
 * a list of received ranges above it (inclusive), whichever encoding was
 * used on the wire. */
#define RTMFP_ACK_MAX_RANGES 256
typedef struct {
  guint64 first;
  guint64 last;
} RtmfpSeqRange;

typedef struct {
  guint64 flow_id;
  guint64 buffer_blocks;        /* bufferBytesAvailable / 1024 */
  guint64 cumulative_ack;
  guint n_ranges;
  RtmfpSeqRange ranges[RTMFP_ACK_MAX_RANGES];   /* ascending, disjoint */
} RtmfpAckChunk;
/* Both forms.  A truncated trailing range pair (ranges form) is ignored
 * while earlier pairs count (RFC 7016 Fig. 6). */
gboolean  rtmfp_ack_bitmap_chunk_parse (const guint8 * d, gsize len,
    RtmfpAckChunk * c);
gboolean  rtmfp_ack_ranges_chunk_parse (const guint8 * d, gsize len,
    RtmfpAckChunk * c);
/* Encodes whichever of the two encodings is smaller and appends the whole
 * chunk, unless the result would exceed max_len bytes (header included);
 * then the ranges list is truncated from the top (acking less is always
 * safe) to fit.  Returns bytes appended, 0 if not even the cumulative
 * part fits. */
gsize     rtmfp_ack_chunk_append (GByteArray * out, const RtmfpAckChunk * c,
    gsize max_len);

/* 0x18 Buffer Probe */
gboolean  rtmfp_buffer_probe_chunk_parse (const guint8 * d, gsize len,
    guint64 * flow_id);
void      rtmfp_buffer_probe_chunk_append (GByteArray * out, guint64 flow_id);

/* 0x5e Flow Exception Report */
gboolean  rtmfp_flow_exception_chunk_parse (const guint8 * d, gsize len,
    guint64 * flow_id, guint64 * code);
void      rtmfp_flow_exception_chunk_append (GByteArray * out, guint64 flow_id,
    guint64 code);

/* 0x01 Ping, 0x41 Ping Reply, 0x0c Close, 0x4c Close Ack carry opaque or
 * empty payloads: use rtmfp_chunk_append. */

G_END_DECLS
