"""The substitutions that turn a documented gst-launch-1.0 command into one
the test can run, and nothing else:

  v4l2src, autovideosrc   -> videotestsrc is-live=true
  pulsesrc, autoaudiosrc  -> audiotestsrc is-live=true (a 440 Hz sine, which
                             the player's decoded audio is checked against)
  autovideosink           -> fakesink silent=false name=docs_video_out (its
                             last-message lines, printed by gst-launch -v,
                             count the decoded frames); a player's fakesink
                             ending a video chain (... ! avdec_h264 !
                             fakesink, d.video ! fakesink silent=false)
                             keeps its properties and gets silent=false
                             name=docs_video_out
  autoaudiosink           -> wavenc name=docs_audio_out ! filesink
                             location=<run dir>/<n>-audio.wav (the decoded
                             samples; the WAV header says their format, so
                             the test does not depend on gst-launch -v
                             printing the caps, which it now and then
                             does not)
  example.com, example.org in rtmfp:// and rtmp:// URIs
                          -> 127.0.0.1:<port of the test's rtmfp-server>
                             (RTMFP on UDP and RTMP on TCP, same number)
  templates (interop.md)  -> PORT in a location: the server's port;
                             [PROPS]: no optional properties
  shell redirections      -> dropped (> play.log: the test reads stdout)
  peer-id=<placeholder>   -> the publisher's peer ID (from its
                             rtmfp-publishing message); peer-id=auto and
                             real 64-hex-digit IDs are kept
  gst-launch-1.0 options  -> -m added (bus messages: state changes,
                             rtmfp-status...), and -v for commands with a
                             substituted sink (the counted last-message)

Properties of the replaced device elements (device=...) are dropped; the
replaced sinks have none in the docs (any property on them is an error, as
is a decoder whose output the test cannot count).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import os
import re
from urllib.parse import urlsplit, urlunsplit

from docs_extract import chain_kinds, parse_pipeline

DEVICE_SOURCES = {
    "v4l2src": ["videotestsrc", "is-live=true"],
    "autovideosrc": ["videotestsrc", "is-live=true"],
    "pulsesrc": ["audiotestsrc", "is-live=true"],
    "autoaudiosrc": ["audiotestsrc", "is-live=true"],
}
# properties of device sources that only name a device
DEVICE_PROPERTIES = {"device", "device-name", "client-name"}
VIDEO_OUT = "docs_video_out"
AUDIO_OUT = "docs_audio_out"
DOC_HOSTS = {"example.com", "example.org"}
URI_PROPERTIES = {"location", "fallback-location"}
PEER_ID = re.compile(r"^[0-9a-f]{64}$")
PROPERTY = re.compile(r"^[a-z][a-z0-9-]*=")


class SubstituteError(Exception):
    pass


class Runnable:
    """A command as it is run: argv, environment additions, and what was
    substituted (for the log)"""

    def __init__(self, cmd):
        self.cmd = cmd
        self.argv = []
        self.env = dict(cmd.env)
        self.changes = []
        self.video_out = None         # the fakesink's name
        self.audio_out = None         # the WAV file of the decoded audio

    def describe(self):
        return "; ".join(self.changes) if self.changes else "run verbatim"


def is_placeholder_peer(value):
    return value not in (None, "auto") and not PEER_ID.match(value)


def substitute_uri(uri, port):
    """A documentation host, or a template's PORT, -> the test's server"""
    parts = urlsplit(uri)
    if parts.scheme not in ("rtmfp", "rtmp"):
        return uri
    if parts.netloc.endswith(":PORT"):
        return urlunsplit(parts._replace(netloc="%s:%d" % (parts.netloc[:-5], port)))
    if parts.hostname not in DOC_HOSTS:
        return uri
    return urlunsplit(parts._replace(netloc="127.0.0.1:%d" % port))


def counted_sink(run, element, kind, tag, run_dir):
    """The tokens of the sink that replaces element at the end of a chain
    of kind ("video" or "audio")"""
    if kind == "video":
        if run.video_out:
            raise SubstituteError("two video outputs")
        run.video_out = VIDEO_OUT
        if element.factory == "fakesink":
            # the documented fakesink, its properties kept, made countable
            if "name" in element.props or element.props.get("silent") not in (
                    None, "false"):
                raise SubstituteError("fakesink %s: cannot count its buffers"
                                      % element.props)
            props = dict(element.props, silent="false", name=VIDEO_OUT)
            return ["fakesink"] + ["%s=%s" % kv for kv in props.items()]
        if element.props:
            raise SubstituteError("%s with properties %s" % (element.factory,
                                                             element.props))
        return ["fakesink", "silent=false", "name=" + VIDEO_OUT]
    if element.factory != "autoaudiosink" or element.props:
        raise SubstituteError("decoded audio into %s %s: the test only analyses "
                              "a plain autoaudiosink's audio" % (element.factory,
                                                                element.props))
    if run.audio_out:
        raise SubstituteError("two audio outputs")
    run.audio_out = os.path.join(run_dir, tag + "-audio.wav")
    return ["wavenc", "name=" + AUDIO_OUT, "!", "filesink",
            "location=" + run.audio_out]


def substitute_element(run, e, chains, last_of_chain, tag, run_dir):
    """The tokens replacing element e (its properties included), or None
    to keep it; chains: {chain: "video"/"audio"} of a player"""
    if e.factory in DEVICE_SOURCES:
        for key in e.props:
            if key not in DEVICE_PROPERTIES:
                raise SubstituteError("%s %s=: not a device property" % (e.factory, key))
        return DEVICE_SOURCES[e.factory]
    kind = chains.get(e.chain)
    if e.factory in ("autovideosink", "autoaudiosink"):
        expected = "video" if e.factory == "autovideosink" else "audio"
        if kind != expected:
            raise SubstituteError("%s ends no %s decoding chain" % (e.factory, expected))
        return counted_sink(run, e, kind, tag, run_dir)
    if e.factory == "fakesink" and kind and e is last_of_chain[e.chain]:
        if run.cmd.kind == "player":
            return counted_sink(run, e, kind, tag, run_dir)
    return None


def substitute_value(run, tok, port, peer_id):
    """A property token with a documentation host or peer-id placeholder
    replaced"""
    key, value = tok.split("=", 1)
    if key in URI_PROPERTIES:
        new = substitute_uri(value, port)
        if new != value:
            run.changes.append("%s -> %s" % (value, new))
        return key + "=" + new
    if key == "peer-id" and is_placeholder_peer(value):
        if not peer_id:
            raise SubstituteError("placeholder %s and no publisher peer ID" % tok)
        run.changes.append("%s -> the publisher's peer ID" % tok)
        return "peer-id=" + peer_id
    if key == "name" and value in (VIDEO_OUT, AUDIO_OUT):
        raise SubstituteError("the documented pipeline uses the test's name %s" % tok)
    return tok


def substitute_tokens(run, tokens, port, peer_id, run_dir, tag):
    if "[PROPS]" in tokens:
        tokens = [t for t in tokens if t != "[PROPS]"]
        run.changes.append("[PROPS] (optional properties) -> none")
    elements = parse_pipeline(tokens)
    chains = chain_kinds(tokens) if run.cmd.kind == "player" else {}
    last_of_chain = {e.chain: e for e in elements}
    by_index = {e.index: e for e in elements}
    out, skip_props = [], False
    for i, tok in enumerate(tokens):
        if i in by_index:
            e = by_index[i]
            new = substitute_element(run, e, chains, last_of_chain, tag, run_dir)
            skip_props = new is not None
            if new is not None:
                old = " ".join([e.factory] + ["%s=%s" % kv for kv in e.props.items()])
                run.changes.append("%s -> %s" % (old, " ".join(new)))
                out += new
                continue
        elif skip_props and PROPERTY.match(tok):
            continue                # a property of the replaced element
        else:
            skip_props = False
        out.append(substitute_value(run, tok, port, peer_id) if "=" in tok else tok)
    return out


def prepare(cmd, port, run_dir, tag, peer_id=None, add_messages=True):
    """The Runnable of a classified command against a server on port
    (add_messages: add -m, and -v where a sink was substituted)"""
    run = Runnable(cmd)
    pipeline = substitute_tokens(run, cmd.pipeline, port, peer_id, run_dir, tag)
    if cmd.kind == "player" and ((cmd.video and not run.video_out) or
                                 (cmd.audio and not run.audio_out)):
        raise SubstituteError("the player decodes %s and the test cannot count it "
                              "(an autovideosink, autoaudiosink or plain fakesink "
                              "at the end of the decoding chain)" % " and ".join(
                                  k for k in (cmd.video, cmd.audio) if k))
    options = list(cmd.options)
    if not add_messages:
        run.argv = ["gst-launch-1.0"] + options + pipeline
        return run
    if "-m" not in options and "--messages" not in options:
        options.append("-m")
        run.changes.append("added -m")
    if (run.video_out or run.audio_out) and not (
            "-v" in options or "--verbose" in options):
        options.append("-v")
        run.changes.append("added -v")
    if "-q" in options or "--quiet" in options:
        raise SubstituteError("-q hides what the test reads")
    if cmd.redirects:
        run.changes.append("dropped %s (the test reads the output)"
                           % ", ".join(cmd.redirects))
    run.argv = ["gst-launch-1.0"] + options + pipeline
    return run
