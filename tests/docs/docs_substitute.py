"""The substitutions that turn a documented gst-launch-1.0 command into one
the test can run, and nothing else:

  v4l2src, autovideosrc   -> videotestsrc is-live=true
  pulsesrc, autoaudiosrc  -> audiotestsrc is-live=true (a 440 Hz sine, which
                             the player's decoded audio is checked against)
  autovideosink           -> fakesink silent=false name=docs_video_out (its
                             last-message lines, printed by gst-launch -v,
                             count the decoded frames)
  autoaudiosink           -> filesink location=<run dir>/<n>-audio.raw
                             name=docs_audio_out (the decoded samples)
  example.com, example.org in rtmfp:// and rtmp:// URIs
                          -> 127.0.0.1:<port of the test's rtmfp-server>
                             (RTMFP on UDP and RTMP on TCP, same number)
  peer-id=<placeholder>   -> the publisher's peer ID (from its
                             rtmfp-publishing message); peer-id=auto and
                             real 64-hex-digit IDs are kept
  gst-launch-1.0 options  -> -m added (bus messages: state changes,
                             rtmfp-status...), and -v for commands with a
                             substituted sink (the counted last-message)

Properties of the replaced device elements (device=...) are dropped; the
replaced sinks had none in the docs (any property on them is an error).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import os
import re
from urllib.parse import urlsplit, urlunsplit

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
        self.audio_out = None         # the raw audio file

    def describe(self):
        return "; ".join(self.changes) if self.changes else "run verbatim"


def is_placeholder_peer(value):
    return value not in (None, "auto") and not PEER_ID.match(value)


def substitute_uri(uri, port):
    parts = urlsplit(uri)
    if parts.scheme not in ("rtmfp", "rtmp") or parts.hostname not in DOC_HOSTS:
        return uri
    return urlunsplit(parts._replace(netloc="127.0.0.1:%d" % port))


def next_is_property(tokens, i):
    return i < len(tokens) and re.match(r"^[a-z][a-z0-9-]*=", tokens[i])


def substitute_tokens(run, tokens, port, peer_id, run_dir, tag):
    out, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok in DEVICE_SOURCES:
            out += DEVICE_SOURCES[tok]
            run.changes.append("%s -> %s" % (tok, " ".join(DEVICE_SOURCES[tok])))
            while next_is_property(tokens, i):
                if tokens[i].split("=", 1)[0] not in DEVICE_PROPERTIES:
                    raise SubstituteError("%s %s: not a device property"
                                          % (tok, tokens[i]))
                run.changes.append("dropped %s" % tokens[i])
                i += 1
        elif tok in ("autovideosink", "autoaudiosink"):
            if next_is_property(tokens, i):
                raise SubstituteError("%s with properties" % tok)
            if tok == "autovideosink":
                if run.video_out:
                    raise SubstituteError("two autovideosinks")
                run.video_out = VIDEO_OUT
                new = ["fakesink", "silent=false", "name=" + VIDEO_OUT]
            else:
                if run.audio_out:
                    raise SubstituteError("two autoaudiosinks")
                run.audio_out = os.path.join(run_dir, tag + "-audio.raw")
                new = ["filesink", "location=" + run.audio_out,
                       "name=" + AUDIO_OUT]
            out += new
            run.changes.append("%s -> %s" % (tok, " ".join(new)))
        elif "=" in tok and tok.split("=", 1)[0] in URI_PROPERTIES:
            key, value = tok.split("=", 1)
            new = substitute_uri(value, port)
            if new != value:
                run.changes.append("%s -> %s" % (value, new))
            out.append(key + "=" + new)
        elif tok.startswith("peer-id=") and is_placeholder_peer(tok[8:]):
            if not peer_id:
                raise SubstituteError("placeholder %s and no publisher peer ID" % tok)
            out.append("peer-id=" + peer_id)
            run.changes.append("%s -> the publisher's peer ID" % tok)
        elif tok.startswith("name=") and tok[5:] in (VIDEO_OUT, AUDIO_OUT):
            raise SubstituteError("the documented pipeline uses the test's name %s" % tok)
        else:
            out.append(tok)
    return out


def prepare(cmd, port, run_dir, tag, peer_id=None, add_messages=True):
    """The Runnable of a classified command against a server on port
    (add_messages: add -m, and -v where a sink was substituted)"""
    run = Runnable(cmd)
    pipeline = substitute_tokens(run, cmd.pipeline, port, peer_id, run_dir, tag)
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
    run.argv = ["gst-launch-1.0"] + options + pipeline
    return run
