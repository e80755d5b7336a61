/* GStreamer RTMFP: one input of rtmfpsink (internal element).
 *
 * rtmfpsink is a bin; each of its request pads (video, audio, or the FLV
 * sink pad) is the ghost of one of these: a GstBaseSink that brings the
 * usual sink behaviour (preroll, sync, flushing, EOS) per pad, so no pad
 * ever waits for the other, and hands caps, buffers and EOS to its owner.
 * Not registered as a factory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_RTMFP_SINK_INPUT (gst_rtmfp_sink_input_get_type ())
G_DECLARE_FINAL_TYPE (GstRtmfpSinkInput, gst_rtmfp_sink_input, GST,
    RTMFP_SINK_INPUT, GstBaseSink)

typedef enum {
  GST_RTMFP_SINK_INPUT_VIDEO,
  GST_RTMFP_SINK_INPUT_AUDIO,
  GST_RTMFP_SINK_INPUT_FLV,
} GstRtmfpSinkInputKind;

/* What the owner does for an input (streaming thread of that input) */
typedef struct {
  gboolean (*set_caps) (gpointer owner, GstRtmfpSinkInput * in,
      GstCaps * caps);
  GstFlowReturn (*render) (gpointer owner, GstRtmfpSinkInput * in,
      GstBuffer * buf);
  /* EOS arrived (before the input posts its EOS message) */
  void (*eos) (gpointer owner, GstRtmfpSinkInput * in);
  /* flush-stop */
  void (*flush) (gpointer owner, GstRtmfpSinkInput * in);
  /* unlock / unlock_stop: set the input's flushing flag */
  void (*set_flushing) (gpointer owner, GstRtmfpSinkInput * in,
      gboolean flushing);
} GstRtmfpSinkInputFuncs;

struct _GstRtmfpSinkInput {
  GstBaseSink parent;
  GstRtmfpSinkInputKind kind;
  const GstRtmfpSinkInputFuncs *funcs;
  gpointer owner;
  /* the owner's, under the owner's locks */
  gboolean flushing;
  gboolean eos;
  gpointer state;               /* the owner's per-input state */
  GDestroyNotify state_free;    /* frees state if still set at finalize */
};

GstRtmfpSinkInput *gst_rtmfp_sink_input_new (GstRtmfpSinkInputKind kind,
    const GstRtmfpSinkInputFuncs * funcs, gpointer owner);
/* The caps an input of that kind takes */
GstCaps  *gst_rtmfp_sink_input_kind_caps (GstRtmfpSinkInputKind kind);

G_END_DECLS
