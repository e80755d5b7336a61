/* RTMFP core: the Flash "TC" profile on the wire (RFC 7425 section 5):
 * RTMP messages in RTMFP flows, flow metadata, user control events,
 * NetConnection / NetStream command helpers, rtmfp:// URIs.
 *
 * Pure codecs: no sessions, no state.  The client state machine
 * (rtmfptcclient) and rtmfp-server build on these.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "amf0.h"

G_BEGIN_DECLS

/* ---- flow metadata (5.1.1): 'T' 'C' flags [VLU streamID] ---- */
#define RTMFP_TC_META_SID 0x04  /* stream ID present (MUST) */
#define RTMFP_TC_META_RXI 0x01  /* receive in network arrival order */

void      rtmfp_tc_metadata_append (GByteArray * out, guint32 stream_id,
    gboolean arrival_order);
/* FALSE if not a TC flow, SID clear, or malformed (receivers reject such
 * flows, 5.1.1).  Stream IDs are 24-bit in RTMP: larger ones refused. */
gboolean  rtmfp_tc_metadata_parse (const guint8 * md, gsize len,
    guint32 * stream_id, gboolean * arrival_order);

/* ---- RTMP message types ---- */
typedef enum {
  RTMFP_TC_MSG_SET_CHUNK_SIZE = 1,      /* 1,2,3,5,6: never sent, ignored */
  RTMFP_TC_MSG_ABORT = 2,
  RTMFP_TC_MSG_ACK = 3,
  RTMFP_TC_MSG_USER_CONTROL = 4,
  RTMFP_TC_MSG_WINDOW_ACK_SIZE = 5,
  RTMFP_TC_MSG_SET_PEER_BANDWIDTH = 6,
  RTMFP_TC_MSG_AUDIO = 8,
  RTMFP_TC_MSG_VIDEO = 9,
  RTMFP_TC_MSG_DATA_AMF3 = 15,
  RTMFP_TC_MSG_SHARED_OBJECT_AMF3 = 16,
  RTMFP_TC_MSG_COMMAND_AMF3 = 17,
  RTMFP_TC_MSG_DATA_AMF0 = 18,
  RTMFP_TC_MSG_SHARED_OBJECT_AMF0 = 19,
  RTMFP_TC_MSG_COMMAND_AMF0 = 20,
  RTMFP_TC_MSG_AGGREGATE = 22,
} RtmfpTcMessageType;

const gchar *rtmfp_tc_message_type_get_nick (guint8 type);
/* types 1, 2, 3, 5, 6 (RTMP chunk stream control): MUST be ignored */
gboolean  rtmfp_tc_message_type_is_chunk_control (guint8 type);

/* ---- message in a flow (5.1.2): type(8) timestamp(32) payload ---- */
#define RTMFP_TC_MESSAGE_HEADER_SIZE 5
#define RTMFP_TC_MAX_PAYLOAD 0xffffff
typedef struct {
  guint8 type;
  guint32 timestamp;
  const guint8 *payload;        /* points into the parsed buffer */
  gsize len;
} RtmfpTcMessage;

gboolean  rtmfp_tc_message_parse (const guint8 * data, gsize len,
    RtmfpTcMessage * msg);
void      rtmfp_tc_message_append (GByteArray * out, guint8 type,
    guint32 timestamp, const guint8 * payload, gsize len);

/* ---- user control events (type 4): u16 event + u32 arguments ---- */
typedef enum {
  RTMFP_TC_EVENT_STREAM_BEGIN = 0,
  RTMFP_TC_EVENT_STREAM_EOF = 1,
  RTMFP_TC_EVENT_STREAM_DRY = 2,
  RTMFP_TC_EVENT_SET_BUFFER_LENGTH = 3,
  RTMFP_TC_EVENT_STREAM_IS_RECORDED = 4,
  RTMFP_TC_EVENT_PING_REQUEST = 6,
  RTMFP_TC_EVENT_PING_RESPONSE = 7,
  RTMFP_TC_EVENT_FLOW_SYNC = 34,        /* 5.2: syncID, count */
  RTMFP_TC_EVENT_SET_KEEPALIVE = 41,    /* 5.3.4: server ms, peer ms */
} RtmfpTcEvent;

/* Appends a user control PAYLOAD (event + n_args u32) */
void      rtmfp_tc_user_control_append (GByteArray * out, guint16 event,
    const guint32 * args, guint n_args);
/* Parses up to 2 u32 arguments (those present) */
gboolean  rtmfp_tc_user_control_parse (const guint8 * payload, gsize len,
    guint16 * event, guint32 args[2], guint * n_args);

/* ---- commands (types 20 and 17) ---- */

/* Parses a command message of type 20 (AMF0) or 17 (leading format byte
 * 0x00 then AMF0; values switching to AMF3 stay opaque avmplus nodes).
 * Returns the arguments after name and transaction ID, or NULL. */
GPtrArray *rtmfp_tc_command_parse (const RtmfpTcMessage * msg, gchar ** name,
    gdouble * transaction_id);
/* Appends a whole type-20 message (header + AMF0 command) to out.
 * Arguments as rtmfp_amf_serialize_command (NULL-terminated). */
void      rtmfp_tc_command_append (GByteArray * out, guint32 timestamp,
    const gchar * name, gdouble transaction_id, const RtmfpAmfNode * arg, ...)
    G_GNUC_NULL_TERMINATED;
void      rtmfp_tc_command_append_with_args (GByteArray * out,
    guint32 timestamp, const gchar * name, gdouble transaction_id,
    guint n_args, const RtmfpAmfNode * const *args);

/* The usual connect command object: app, flashVer, tcUrl, fpad false,
 * capabilities 239, audioCodecs 3575, videoCodecs 252, videoFunction 1,
 * objectEncoding 0 (AMF0).  flash_ver NULL: "FMLE/3.0 (compatible;
 * gst-rtmfp)". */
RtmfpAmfNode *rtmfp_tc_connect_object_new (const gchar * app,
    const gchar * tc_url, const gchar * flash_ver);
/* {level, code, description} info object (onStatus, _result, _error) */
RtmfpAmfNode *rtmfp_tc_status_new (const gchar * level, const gchar * code,
    const gchar * description);
/* The "code" / "description" field of an info object, or NULL */
const gchar *rtmfp_tc_status_peek_code (const RtmfpAmfNode * info);
const gchar *rtmfp_tc_status_peek_description (const RtmfpAmfNode * info);

/* Status codes used by clients and rtmfp-server */
#define RTMFP_TC_CONNECT_SUCCESS   "NetConnection.Connect.Success"
#define RTMFP_TC_CONNECT_REJECTED  "NetConnection.Connect.Rejected"
#define RTMFP_TC_CONNECT_FAILED    "NetConnection.Connect.Failed"
#define RTMFP_TC_CONNECT_CLOSED    "NetConnection.Connect.Closed"
#define RTMFP_TC_CALL_FAILED       "NetConnection.Call.Failed"
#define RTMFP_TC_PUBLISH_START     "NetStream.Publish.Start"
#define RTMFP_TC_PUBLISH_BADNAME   "NetStream.Publish.BadName"
#define RTMFP_TC_UNPUBLISH_SUCCESS "NetStream.Unpublish.Success"
#define RTMFP_TC_PLAY_RESET        "NetStream.Play.Reset"
#define RTMFP_TC_PLAY_START        "NetStream.Play.Start"
#define RTMFP_TC_PLAY_STOP         "NetStream.Play.Stop"
#define RTMFP_TC_PLAY_STREAMNOTFOUND "NetStream.Play.StreamNotFound"
#define RTMFP_TC_PLAY_PUBLISHNOTIFY "NetStream.Play.PublishNotify"
#define RTMFP_TC_PLAY_UNPUBLISHNOTIFY "NetStream.Play.UnpublishNotify"

/* Commands of this project's profile (not in RFC 7425; other servers
 * answer NetConnection.Call.Failed or ignore them):
 *   requestKeyframe   player -> its NetStream (server or direct
 *                     publisher), no arguments after null: the player
 *                     lost video and asks for a keyframe; the server
 *                     passes it on to the stream's publisher
 *   publishDirect     direct publisher -> server call (null, name): the
 *                     server maps the stream name to our peer ID
 *   lookupPeer        player -> server call (null, name): _result (null,
 *                     peer ID as 64 hex digits) or _error with
 *                     NetStream.Play.StreamNotFound */
#define RTMFP_TC_REQUEST_KEYFRAME "requestKeyframe"
#define RTMFP_TC_PUBLISH_DIRECT "publishDirect"
#define RTMFP_TC_LOOKUP_PEER "lookupPeer"

/* ---- rtmfp:// URIs (RFC 7425 section 6) ----
 * rtmfp://host[:port]/app[/instance]/stream ; default UDP port 1935; the
 * last path segment is the stream name, the rest the app (as rtmp2 does).
 * IPv6 literals in brackets.  Query strings are kept with the stream. */
#define RTMFP_DEFAULT_PORT 1935
typedef struct {
  gchar *host;                  /* NULL for "rtmfp:" (no server) */
  guint16 port;
  gchar *app;                   /* "live" or "app/instance" */
  gchar *stream;                /* may be NULL if the URI has no stream */
  gchar *tc_url;                /* rtmfp://host[:port]/app (no stream) */
} RtmfpUri;

#define RTMFP_URI_ERROR (rtmfp_uri_error_quark ())
GQuark    rtmfp_uri_error_quark (void);
/* Fills uri (clear with rtmfp_uri_clear).  require_stream: the URI must
 * name a stream.  Errors in the G_URI_ERROR style: RTMFP_URI_ERROR, code 0. */
gboolean  rtmfp_uri_parse (const gchar * str, gboolean require_stream,
    RtmfpUri * uri, GError ** error);
void      rtmfp_uri_clear (RtmfpUri * uri);
gchar    *rtmfp_uri_to_string (const RtmfpUri * uri);

G_END_DECLS
