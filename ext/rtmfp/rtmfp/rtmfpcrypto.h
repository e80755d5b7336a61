/* RTMFP core: the RFC 7425 (Flash profile) cryptography, section 4.
 *
 * All primitives come from GnuTLS / nettle / GMP.  Split over:
 *   rtmfpcrypto.c  hashing, random, checksum, packet protection (4.7)
 *   rtmfpdh.c      Diffie-Hellman groups 2, 5, 14, 16 (4.2, 4.6.2)
 *   rtmfpcert.c    certificates, EPDs, fingerprints, identities (4.3, 4.4)
 *   rtmfpkeying.c  session keying components and key derivation (4.5, 4.6)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTMFP_CRYPTO_ERROR (rtmfp_crypto_error_quark ())
GQuark    rtmfp_crypto_error_quark (void);
typedef enum {
  RTMFP_CRYPTO_ERROR_MALFORMED,         /* unparsable cert / component */
  RTMFP_CRYPTO_ERROR_UNSUPPORTED_GROUP, /* no common DH group */
  RTMFP_CRYPTO_ERROR_BAD_PUBLIC_KEY,    /* DH public key fails 4.6.2 checks */
  RTMFP_CRYPTO_ERROR_NEGOTIATION,       /* required HMAC/SSEQ refused */
  RTMFP_CRYPTO_ERROR_SIGNATURE,         /* required signature missing/bad */
} RtmfpCryptoError;

#define RTMFP_SHA256_SIZE 32
#define RTMFP_FINGERPRINT_SIZE 32
#define RTMFP_AES_BLOCK 16

/* ---- primitives (thin wrappers) ---- */
void      rtmfp_random_bytes (guint8 * out, gsize len);
guint32   rtmfp_random_u32 (void);
void      rtmfp_sha256 (const guint8 * data, gsize len,
    guint8 out[RTMFP_SHA256_SIZE]);
void      rtmfp_hmac_sha256 (const guint8 * key, gsize key_len,
    const guint8 * msg, gsize msg_len, guint8 out[RTMFP_SHA256_SIZE]);
/* Lower-case hex of HMAC-SHA256 (key, msg): 64 digits, newly allocated.
 * The authentication tokens of rtmfp-cpp's tcserver scheme: the token of
 * an app under a master key, and that token bound to a session by hashing
 * it again with a session nonce (rtmfp_session_get_nonces). */
gchar    *rtmfp_hmac_sha256_hex (const guint8 * key, gsize key_len,
    const gchar * msg);
/* Constant-time compare */
gboolean  rtmfp_crypto_equal (const guint8 * a, const guint8 * b, gsize len);

/* RFC 7425 4.7.3.1 simple checksum (odd trailing byte = low 8 bits) */
guint16   rtmfp_checksum (const guint8 * data, gsize len);

/* ---- packet protection (4.7) ---- */

/* The scrambled session ID of a datagram (RFC 7016 2.2.1) */
guint32   rtmfp_session_id_unscramble (const guint8 * dgram, gsize len);

/* Negotiated per-session keys (4.6.3 - 4.6.6) */
typedef struct {
  guint8 encrypt_key[RTMFP_SHA256_SIZE];    /* AES key = first 16 bytes */
  guint8 decrypt_key[RTMFP_SHA256_SIZE];
  guint8 hmac_send_key[RTMFP_SHA256_SIZE];
  guint8 hmac_recv_key[RTMFP_SHA256_SIZE];
  guint8 near_nonce[RTMFP_SHA256_SIZE];
  guint8 far_nonce[RTMFP_SHA256_SIZE];
  guint hmac_send_len;          /* 0: checksum instead of HMAC */
  guint hmac_recv_len;
  gboolean sseq_send;           /* session sequence numbers we send */
  gboolean sseq_recv;           /* ... and that the far end sends */
} RtmfpSessionKeys;

/* One direction-pair packet protector: encrypts what we send, decrypts and
 * verifies what we receive, and (with SSEQ) drops replays. */
typedef struct _RtmfpCipher RtmfpCipher;

/* The Default Session Key "Adobe Systems 02": checksum, no HMAC, no SSEQ */
RtmfpCipher *rtmfp_cipher_new_default (void);
RtmfpCipher *rtmfp_cipher_new (const RtmfpSessionKeys * keys);
void      rtmfp_cipher_free (RtmfpCipher * c);
gboolean  rtmfp_cipher_is_default (const RtmfpCipher * c);
/* Largest number of bytes encode adds to a plain packet (SSID, SSEQ or
 * checksum, 0xff padding to the block, HMAC) */
gsize     rtmfp_cipher_overhead (const RtmfpCipher * c);
/* Writes SSID || ciphertext [|| HMAC] into out.  Pads the plain packet
 * with 0xff.  Returns the datagram length, 0 if out is too small. */
gsize     rtmfp_cipher_encode (RtmfpCipher * c, guint32 session_id,
    const guint8 * plain, gsize plain_len, guint8 * out, gsize out_size);
/* Decrypts and verifies a whole datagram (SSID included).  On success
 * writes the plain RTMFP packet (checksum/SSEQ removed, padding kept) to
 * out (>= len bytes) and returns TRUE.  FALSE for wrong length, bad
 * checksum or HMAC, or a replayed/too old session sequence number. */
gboolean  rtmfp_cipher_decode (RtmfpCipher * c, const guint8 * dgram,
    gsize len, guint8 * out, gsize * out_len);

/* Why a datagram was (not) accepted, for counting (hostile peers) */
typedef enum {
  RTMFP_DECODE_OK = 0,
  RTMFP_DECODE_BAD_LENGTH,      /* not SSID + whole blocks + HMAC */
  RTMFP_DECODE_BAD_HMAC,        /* 4.7.3.2 */
  RTMFP_DECODE_BAD_CHECKSUM,    /* 4.7.3.1 */
  RTMFP_DECODE_BAD_SSEQ,        /* no decodable session sequence number */
  RTMFP_DECODE_REPLAY,          /* 4.7.3.3: verified, but its SSEQ was seen
                                 * already or is older than the window */
} RtmfpDecodeStatus;

/* rtmfp_cipher_decode with the reason: RTMFP_DECODE_OK exactly when
 * rtmfp_cipher_decode would return TRUE.  REPLAY is only reported for a
 * datagram that passed the HMAC (or checksum) check: with HMAC it is a
 * genuine replay, never a forgery. */
RtmfpDecodeStatus rtmfp_cipher_decode_full (RtmfpCipher * c,
    const guint8 * dgram, gsize len, guint8 * out, gsize * out_len);

/* The negotiated protection of a cipher (any pointer may be NULL):
 * HMAC lengths (0 = checksum) and session sequence numbers, each way. */
void      rtmfp_cipher_get_protection (const RtmfpCipher * c,
    guint * hmac_send_len, guint * hmac_recv_len, gboolean * sseq_send,
    gboolean * sseq_recv);

/* ---- Diffie-Hellman (4.2, 4.6.2) ---- */
typedef struct _RtmfpDH RtmfpDH;

gboolean  rtmfp_dh_group_supported (guint group);       /* 2, 5, 14, 16 */
gsize     rtmfp_dh_group_size (guint group);    /* bytes of p */
RtmfpDH  *rtmfp_dh_new (guint group);   /* fresh random private key */
/* For known-answer tests: a fixed private exponent (big endian) */
RtmfpDH  *rtmfp_dh_new_with_private (guint group, const guint8 * priv,
    gsize priv_len);
void      rtmfp_dh_free (RtmfpDH * dh);
/* The private exponent, big endian without leading zeros (to save a
 * long-lived identity; rtmfp_dh_new_with_private reads it back).  Wiped
 * from memory when the GBytes is freed. */
GBytes   *rtmfp_dh_get_private_key (const RtmfpDH * dh);
guint     rtmfp_dh_get_group (const RtmfpDH * dh);
/* Big-endian public key, no leading zeros stripped: exactly group size */
const guint8 *rtmfp_dh_get_public_key (const RtmfpDH * dh, gsize * len);
/* 4.6.2: >= 2^24, <= p - 2^24, >= 16 one bits and >= 16 zero bits */
gboolean  rtmfp_dh_public_key_is_valid (guint group, const guint8 * key,
    gsize len);
/* DH_SECRET as big-endian bytes without leading zero bytes; NULL if the
 * far key is invalid. */
GBytes   *rtmfp_dh_compute_secret (const RtmfpDH * dh, const guint8 * far_key,
    gsize far_len);

/* ---- certificates (4.3) ---- */
#define RTMFP_CERT_OPT_HOSTNAME            0x00
#define RTMFP_CERT_OPT_ACCEPTS_ANCILLARY   0x0a
#define RTMFP_CERT_OPT_EXTRA_RANDOMNESS    0x0e
#define RTMFP_CERT_OPT_EPHEMERAL_GROUP     0x15
#define RTMFP_CERT_OPT_STATIC_DH_KEY       0x1d

#define RTMFP_CERT_MAX_GROUPS 8
typedef struct {
  const guint8 *hostname;       /* NULL if absent */
  gsize hostname_len;
  gboolean accepts_ancillary;
  guint n_ephemeral_groups;
  guint ephemeral_groups[RTMFP_CERT_MAX_GROUPS];
  guint n_static_keys;
  struct {
    guint group;
    const guint8 *key;
    gsize len;
  } static_keys[RTMFP_CERT_MAX_GROUPS];
  guint8 fingerprint[RTMFP_FINGERPRINT_SIZE];   /* SHA-256 of canonical part */
} RtmfpCertInfo;

/* FALSE if malformed (bad option encoding, mixing static and ephemeral,
 * duplicate static group, ...).  Pointers refer into cert. */
gboolean  rtmfp_cert_parse (const guint8 * cert, gsize len, RtmfpCertInfo * info);
/* Glare (4.3.6): bytewise unsigned compare, a proper prefix sorts first */
gint      rtmfp_cert_compare (const guint8 * a, gsize a_len, const guint8 * b,
    gsize b_len);
/* Override (4.3.7): byte identical */
gboolean  rtmfp_cert_overrides (const guint8 * a, gsize a_len, const guint8 * b,
    gsize b_len);

/* ---- endpoint discriminators (4.4) ---- */
#define RTMFP_EPD_OPT_REQUIRED_HOSTNAME 0x00
#define RTMFP_EPD_OPT_ANCILLARY_DATA    0x0a
#define RTMFP_EPD_OPT_FINGERPRINT       0x0f
#define RTMFP_CANONICAL_EPD_SIZE 34

void      rtmfp_epd_append_ancillary (GByteArray * out, const gchar * uri);
void      rtmfp_epd_append_fingerprint (GByteArray * out,
    const guint8 fp[RTMFP_FINGERPRINT_SIZE]);
void      rtmfp_epd_append_hostname (GByteArray * out, const gchar * hostname);
/* "21 0f" + fingerprint */
void      rtmfp_epd_canonical (const guint8 fp[RTMFP_FINGERPRINT_SIZE],
    guint8 out[RTMFP_CANONICAL_EPD_SIZE]);
typedef struct {
  gboolean has_fingerprint;
  guint8 fingerprint[RTMFP_FINGERPRINT_SIZE];
  const guint8 *hostname;
  gsize hostname_len;
  const guint8 *ancillary;
  gsize ancillary_len;
} RtmfpEpdInfo;
/* FALSE if malformed, duplicated options, or none of the three present */
gboolean  rtmfp_epd_parse (const guint8 * epd, gsize len, RtmfpEpdInfo * info);
/* Selection (4.4, Fig. 1) */
gboolean  rtmfp_epd_selects (const RtmfpEpdInfo * epd, const RtmfpCertInfo * cert);

/* ---- local identity: our certificate and its long-term DH keys ---- */
typedef struct _RtmfpIdentity RtmfpIdentity;

/* The shapes of certificate we make */
typedef enum {
  RTMFP_IDENTITY_CLIENT,        /* rtmfp_identity_new_static */
  RTMFP_IDENTITY_FLASH,         /* rtmfp_identity_new_flash */
  RTMFP_IDENTITY_EPHEMERAL,     /* rtmfp_identity_new_ephemeral */
  RTMFP_IDENTITY_SERVER_STATIC, /* rtmfp_identity_new_server_static* */
} RtmfpIdentityKind;

/* Client style (5.3 SHOULD): static DH public keys for `groups` in the
 * certificate plus extra randomness, so every identity is a new peer ID. */
RtmfpIdentity *rtmfp_identity_new_static (const guint * groups, guint n_groups);
/* Client style, shaped like Flash Player's certificate (the capture in
 * the test vectors): exactly one Static DH Public Key option, group 2
 * (1024 bits), and nothing else.  Servers built for Flash Player
 * (MonaServer, Cumulus) read the initiator's certificate at these fixed
 * positions and key in group 2 only.  A fresh key each time: a new peer
 * ID per identity (5.3). */
RtmfpIdentity *rtmfp_identity_new_flash (void);
/* Is this certificate exactly Flash Player's shape (above)? */
gboolean  rtmfp_cert_is_flash_shaped (const guint8 * cert, gsize len);
/* Server style: ephemeral keys (forward secrecy), certificate lists the
 * supported groups; accepts_ancillary set (servers accept URI EPDs).
 * hostname may be NULL.  16 bytes of Extra Randomness. */
RtmfpIdentity *rtmfp_identity_new_ephemeral (const guint * groups,
    guint n_groups, const gchar * hostname, gboolean accepts_ancillary);
/* Server style with static keys (4.3.3.5), for a long-lived server whose
 * peer ID clients pin: Accepts Ancillary Data, then one Static DH Public
 * Key per group, in order; no Extra Randomness, so the same keys always
 * make the same certificate and fingerprint.  A responder with static
 * keys cannot be impersonated without the private keys (section 7; keying
 * 4.6.1.2 / 4.6.1.4), at the cost of forward secrecy against a later
 * theft of those keys.  NULL if no group is usable. */
RtmfpIdentity *rtmfp_identity_new_server_static (const guint * groups,
    guint n_groups);
/* The same from existing keys (taken, freed on failure): NULL if none,
 * more than RTMFP_CERT_MAX_GROUPS, or two in one group. */
RtmfpIdentity *rtmfp_identity_new_server_static_take_keys (RtmfpDH ** keys,
    guint n_keys);
RtmfpIdentityKind rtmfp_identity_get_kind (const RtmfpIdentity * id);
/* Static keys in certificate order (0 for an ephemeral identity) */
guint     rtmfp_identity_get_n_static_keys (const RtmfpIdentity * id);
const RtmfpDH *rtmfp_identity_get_static_key (const RtmfpIdentity * id,
    guint index);
RtmfpIdentity *rtmfp_identity_ref (RtmfpIdentity * id);
void      rtmfp_identity_unref (RtmfpIdentity * id);
const guint8 *rtmfp_identity_get_certificate (const RtmfpIdentity * id,
    gsize * len);
const RtmfpCertInfo *rtmfp_identity_get_cert_info (const RtmfpIdentity * id);
const guint8 *rtmfp_identity_get_fingerprint (const RtmfpIdentity * id);
/* lower-case hex of the fingerprint (the peer ID), newly allocated */
gchar    *rtmfp_identity_get_peer_id (const RtmfpIdentity * id);
/* The static DH key for group, or NULL (ephemeral identity) */
const RtmfpDH *rtmfp_identity_get_static_dh (const RtmfpIdentity * id,
    guint group);

/* ---- saved identities (rtmfpidentity.c) ----
 * A long-lived server identity (RTMFP_IDENTITY_SERVER_STATIC) as text, so
 * that a server keeps its peer ID across restarts:
 *   rtmfp-identity 1
 *   dh GROUP PRIVATE-KEY-HEX      one per static key, certificate order
 *   fingerprint HEX               the peer ID, checked when read
 * plus '#' comment lines.  The text holds private keys: whoever reads it
 * can impersonate the server.  Storage (a file, its permissions) is the
 * caller's business: the core does no I/O. */
/* NULL for identities of another kind (nothing to save) */
gchar    *rtmfp_identity_to_text (const RtmfpIdentity * id);
/* RTMFP_CRYPTO_ERROR_MALFORMED, the message naming what is wrong, for
 * anything but a complete, consistent identity text (a fingerprint that
 * does not match the keys included) */
RtmfpIdentity *rtmfp_identity_new_from_text (const gchar * text, gsize len,
    GError ** error);

/* hex <-> fingerprint helpers */
gchar    *rtmfp_fingerprint_to_hex (const guint8 fp[RTMFP_FINGERPRINT_SIZE]);
gboolean  rtmfp_fingerprint_from_hex (const gchar * hex,
    guint8 fp[RTMFP_FINGERPRINT_SIZE]);

/* ---- keying (4.5, 4.6) ---- */
#define RTMFP_SKC_OPT_EPHEMERAL_DH_KEY  0x0d
#define RTMFP_SKC_OPT_EXTRA_RANDOMNESS  0x0e
#define RTMFP_SKC_OPT_DH_GROUP_SELECT   0x1d
#define RTMFP_SKC_OPT_HMAC_NEGOTIATION  0x1a
#define RTMFP_SKC_OPT_SSEQ_NEGOTIATION  0x1e

/* Negotiation flags (4.6.4, 4.6.6) */
#define RTMFP_NEG_SND 0x04      /* I always send it */
#define RTMFP_NEG_SOR 0x02      /* I send it if you request it */
#define RTMFP_NEG_REQ 0x01      /* please send it */

typedef struct {
  guint8 hmac_flags;            /* default SOR|REQ */
  guint hmac_len;               /* 4..32, default 16 */
  guint8 sseq_flags;            /* default SOR|REQ */
  gboolean require_hmac;        /* refuse a far end that will not send HMAC */
  gboolean require_sseq;
  /* initiator: DH groups to pick from, best first (default 14, 5, 2) */
  guint n_groups;
  guint groups[RTMFP_CERT_MAX_GROUPS];
} RtmfpCryptoConfig;

void      rtmfp_crypto_config_init (RtmfpCryptoConfig * cfg);

typedef struct _RtmfpKeying RtmfpKeying;

/* Initiator, on an acceptable RHello: builds the SKIC for the responder
 * certificate far_cert. */
RtmfpKeying *rtmfp_keying_new_initiator (RtmfpIdentity * near,
    const guint8 * far_cert, gsize far_cert_len, const RtmfpCryptoConfig * cfg,
    GError ** error);
/* Responder, on an IIKeying: validates the SKIC against the initiator
 * certificate, builds the SKRC and derives the keys at once. */
RtmfpKeying *rtmfp_keying_new_responder (RtmfpIdentity * near,
    const guint8 * far_cert, gsize far_cert_len, const guint8 * skic,
    gsize skic_len, const RtmfpCryptoConfig * cfg, GError ** error);
void      rtmfp_keying_free (RtmfpKeying * k);
/* SKIC (initiator) or SKRC (responder), as sent */
const guint8 *rtmfp_keying_get_near_component (const RtmfpKeying * k,
    gsize * len);
/* Initiator, on RIKeying: validates the SKRC and derives the keys. */
gboolean  rtmfp_keying_set_far_component (RtmfpKeying * k, const guint8 * skrc,
    gsize skrc_len, GError ** error);
/* After derivation; FALSE before */
gboolean  rtmfp_keying_get_keys (const RtmfpKeying * k, RtmfpSessionKeys * out);

/* Signatures (4.3.5): we send none ('X'); verification accepts any
 * signature unless a password is required (not yet). */
void      rtmfp_signature_append_none (GByteArray * out);

/* Key derivation core (4.6.5), exposed for known-answer tests */
void      rtmfp_derive_keys (const guint8 * dh_secret, gsize secret_len,
    const guint8 * sknc, gsize sknc_len, const guint8 * skfc, gsize skfc_len,
    RtmfpSessionKeys * out);

G_END_DECLS
