#!/usr/bin/env python3
"""Every gst-launch-1.0 command of README.md and docs/*.md, run as users run
it (meson test docs_pipelines, suite docs).

1. Extraction (docs_extract.py): the fenced code blocks; backslash
   continuation lines joined; leading VAR=value assignments kept (run with
   them); "# ERROR: ..." comment lines right after a command are its
   documented output.  Each command is classified: publisher (rtmfpsink,
   rtmfpautosink, rtmp2sink; its codecs), player (rtmfpsrc, rtmfpautosrc,
   rtmp2src; the codecs it decodes, "*" for a video branch that does not
   decode), expected-error, or elided (a fragment: "..." stands for part
   of the pipeline; not run, but every element it names must exist with
   every property it sets, per gst-inspect-1.0).  Templates (PORT and
   [PROPS] placeholders, docs/interop.md) are publishers and players too.
   A command that fits none of them, a fenced line mentioning gst-launch
   that is not a command, or a publisher/player without a partner fails
   the test.  The commands are printed with what is substituted in each
   and the runs they take part in; a summary ends the output.

2. Substitutions, and only these (docs_substitute.py):
   - v4l2src, autovideosrc -> videotestsrc is-live=true; pulsesrc,
     autoaudiosrc -> audiotestsrc is-live=true (a 440 Hz sine); their
     device properties dropped;
   - autovideosink, and a property-less fakesink ending a video decoding
     chain -> fakesink silent=false name=docs_video_out (decoded frames
     counted from gst-launch -v's last-message lines); autoaudiosink ->
     wavenc name=docs_audio_out ! filesink (the decoded samples, their
     format from the WAV header);
   - example.com, example.org in rtmfp:// and rtmp:// locations ->
     127.0.0.1:<port> of an rtmfp-server started for each run, RTMFP on UDP
     and RTMP on TCP with the same port number (so rtmp:// locations
     derived from rtmfp:// ones work); ports ephemeral, a start that lost
     the port retried (bounded);
   - a peer-id placeholder (neither "auto" nor 64 hex digits) -> the
     publisher's peer ID, from its rtmfp-publishing message;
   - templates: PORT -> the server's port, [PROPS] -> no property; shell
     redirections (> play.log) dropped;
   - -m added to the gst-launch options, and -v where a sink was replaced.
   The plugins are the build tree's (GST_PLUGIN_PATH_1_0 and a private
   registry, set by meson); the server is the built one (RTMFP_SERVER).

3. Runs (each with a fresh server): publishers paired with players of the
   same stream whose decoders match what the publisher sends (a decoding
   branch that gets nothing never prerolls, so such pairs are not made),
   peer-to-peer players with mode=direct publishers, so that every
   publisher and player runs at least once.  The first server-mode pair of
   each document runs in both start orders: player first (the publisher
   starts once the player posted rtmfp-waiting or NetStream.Play.Start)
   and publisher first (the player starts once the publisher posted
   rtmfp-publishing).  Every pair with a fallback bin (rtmfpautosink,
   rtmfpautosrc) runs once more with RTMFP unreachable for the bin, as the
   docs describe ("With UDP blocked, after 3 s the bin publishes to
   rtmp://..."): the bin gets the server's RTMP port number, on which
   nothing listens on UDP; its partner uses the server's RTMFP port.  The
   publisher runs until the player decoded MEDIA_TARGET_S seconds of video
   (and audio), bounded, then gets SIGINT (with -e, as documented: EOS);
   a publisher with num-buffers ends by itself.

Asserted for every run:
  - both pipelines reached PLAYING; unreachable runs: the bin posted
    rtmfp-fallback with protocol rtmp;
  - the player decoded at least MIN_RATIO of the video frames sent while
    both ran (framerate x time from publish/play start to SIGINT) and,
    with an audio branch, at least MIN_RATIO of that time as the 440 Hz
    sine (zero crossings of the decoded samples, docs_media.py);
  - peer to peer: rtmfp-direct-session at the player, rtmfp-peer-connected
    at the publisher;
  - the publisher exits 0 after SIGINT (with -e: after its EOS went
    through); one with num-buffers ends by itself with EOS, exit 0, and
    the player got exactly that many frames (interop.md: "a complete run
    has every frame, the last one included");
  - the player then ends by itself with EOS and exit 0 within
    END_TIMEOUT_S, as the docs say of rtmfpsrc (and of rtmfpautosrc on
    RTMFP, which has its outputs); rtmfpautosrc playing over RTMP is not
    documented to end, so it is stopped with SIGINT and must exit 0;
  - what the documented environment and properties promise: GST_DEBUG
    logs a category of every pattern (and the core's rtmfpcore at level 5),
    G_MESSAGES_DEBUG shows each domain, stats-interval posts
    application/x-rtmfp-statistics messages whose counters move;
  - no ERROR or CRITICAL line from any process (warnings are printed);
    the server exits 0 on SIGTERM (sanitizer build: no leak or error).

A command documented as failing is run verbatim (with its environment,
e.g. LANGUAGE=ko LANG=ko_KR.UTF-8) and must exit non-zero printing the
documented ERROR line, or that line in English: a build tree has no
installed catalog, so the msgid of the documented translation (looked up
in po/<lang>.po) is accepted too.

Every wait is bounded (doubled with RTMFP_ASAN=1); no fixed sleep
synchronises anything (the waits are on printed lines: listening,
rtmfp-waiting, NetStream.Play.Start, rtmfp-publishing, last-message...);
every child runs in its own process group, killed (SIGTERM, then SIGKILL
after a grace period) on any exit.  A missing GStreamer element skips
(77), and fails under RTMFP_CI.

Environment (set by meson): RTMFP_SERVER, RTMFP_SOURCE_ROOT,
GST_PLUGIN_PATH_1_0, GST_REGISTRY_1_0, RTMFP_DOCS_RUN_DIR (every
process's log and the decoded audio, kept); RTMFP_ASAN=1 in a sanitizer
build (the uninstrumented gst-launch-1.0 then preloads the ASan runtime
to load the ASan-built plugins).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import fnmatch
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docs_extract  # noqa: E402
import docs_media  # noqa: E402
import docs_po  # noqa: E402
import docs_procs  # noqa: E402
import docs_substitute  # noqa: E402

CI = os.environ.get("RTMFP_CI", "") not in ("", "0")
ASAN = os.environ.get("RTMFP_ASAN") == "1"
SLOW = 2.0 if ASAN else 1.0

MEDIA_TARGET_S = 5.0        # decoded media before the publisher is stopped
MIN_RATIO = 0.5             # of what was sent while both ran
CONNECT_TIMEOUT_S = 30 * SLOW
MEDIA_TIMEOUT_S = 60 * SLOW
EOS_TIMEOUT_S = 30 * SLOW   # publisher: SIGINT to exit
END_TIMEOUT_S = 20 * SLOW   # player: publisher's exit to its own
ERROR_CMD_TIMEOUT_S = 60 * SLOW
SERVER_START_TRIES = 10

FAILURES = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# Environment and processes

def asan_preload():
    lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                         capture_output=True, text=True).stdout.strip()
    return lib + " libstdc++.so.6"


def base_env():
    """The test's environment for gst-launch-1.0: C locale (the test reads
    gst-launch's own lines), no debug logging, the ASan runtime preloaded
    in a sanitizer build"""
    env = dict(os.environ)
    for k in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "GST_DEBUG",
              "G_MESSAGES_DEBUG", "GST_DEBUG_FILE"):
        env.pop(k, None)
    env["LANG"] = "C.UTF-8"
    if ASAN:
        env["LD_PRELOAD"] = asan_preload()
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    return env


RUN_DIR = None


def log_path(name):
    return os.path.join(RUN_DIR, re.sub(r"[^\w.-]", "_", name) + ".log")


class Server:
    """rtmfp-server on 127.0.0.1: RTMFP (UDP) and RTMP (TCP) on the same
    port number; split: RTMFP on another (ephemeral) port, so that nothing
    listens on UDP at the RTMP port number"""

    LISTENING = re.compile(r"^listening (rtmfp|rtmp) 127\.0\.0\.1:(\d+)$")

    def __init__(self, tag, split=False):
        self.child = self.port = self.rtmp_port = None
        for attempt in range(SERVER_START_TRIES):
            port = docs_procs.free_port_pair()
            child = docs_procs.Child(
                "%s-server" % tag,
                [os.environ["RTMFP_SERVER"],
                 "--rtmfp", "127.0.0.1:%d" % (0 if split else port),
                 "--rtmp", "127.0.0.1:%d" % port, "-v"],
                dict(os.environ), log_path("%s-server-%d" % (tag, attempt)))
            _, line = child.lines.wait_for(
                lambda l: l.startswith("listening rtmp "), CONNECT_TIMEOUT_S)
            if line:
                ports = dict(m.groups() for m in map(self.LISTENING.match,
                                                     child.output()) if m)
                self.child, self.rtmp_port = child, port
                self.port = int(ports["rtmfp"])
                log("  rtmfp-server: RTMFP on UDP %d, RTMP on TCP %d"
                    % (self.port, self.rtmp_port))
                return
            # lost the race for the port (or worse): say why, retry
            child.kill_group()
            log("server on port %d did not start: %s" % (
                port, " | ".join(child.output()[-3:])))
        raise RuntimeError("rtmfp-server did not start in %d tries"
                           % SERVER_START_TRIES)

    def stop(self):
        self.child.signal(signal.SIGTERM)
        rc = self.child.wait(EOS_TIMEOUT_S)
        if rc is None:
            self.child.kill_group()
        self.child.lines.wait_closed(docs_procs.GRACE)
        return rc


# ---------------------------------------------------------------------------
# gst-launch-1.0 output

BAD_LINE = re.compile(r"^ERROR: |CRITICAL|ERROR: AddressSanitizer|"
                      r"ERROR: LeakSanitizer|runtime error: ")


def element_message(structure):
    """Matches a bus message of gst-launch -m with this structure name"""
    pat = re.compile(r'^Got message #\d+ from element "[^"]+" \(element\): %s, '
                     % re.escape(structure))
    return lambda line: bool(pat.match(line))


def status_message(code):
    pat = re.compile(r'^Got message #\d+ from element "[^"]+" \(element\): '
                     r'rtmfp-status, .*code=\(string\)%s\b' % re.escape(code))
    return lambda line: bool(pat.match(line))


def any_of(*preds):
    return lambda line: any(p(line) for p in preds)


PIPELINE_PLAYING = re.compile(r'^Got message #\d+ from element "pipeline0" '
                              r'\(state-changed\): .*new-state=\(GstState\)playing')
PIPELINE_EOS = re.compile(r'^Got EOS from element "pipeline0"')
PEER_ID_FIELD = re.compile(r"peer-id=\(string\)([0-9a-f]{64})")


WARNING_LINE = re.compile(r"^WARNING: from element|-WARNING \*\*")


def bad_lines(child):
    return [l for l in child.output() if BAD_LINE.search(l)]


def launch(run, tag):
    env = base_env()
    env.update(run.env)
    log("  start %s: %s%s" % (tag, "".join("%s=%s " % kv for kv in run.env.items()),
                              " ".join(run.argv)))
    return docs_procs.Child(tag, run.argv, env, log_path(tag))


def wait_line(child, pred, timeout, what):
    t, line = child.lines.wait_for(pred, timeout)
    if line is None:
        check(False, "%s (within %.0f s; %s %s)" % (
            what, timeout, child.name,
            "exited %s" % child.popen.returncode if not child.running()
            else "still running"))
    return t, line


# ---------------------------------------------------------------------------
# Publisher + player runs

class Scenario:
    """A publisher and a player run together: which starts first, and
    whether the fallback bin among them finds RTMFP unreachable"""

    def __init__(self, pub, player, order, unreachable=None):
        self.pub, self.player, self.order = pub, player, order
        self.unreachable = unreachable      # the fallback bin's command

    def describe(self):
        s = "%s (%s) and %s (%s), %s first" % (
            self.pub.where, self.pub.kind, self.player.where, self.player.kind,
            self.order)
        if self.unreachable:
            s += "; RTMFP unreachable for %s (nothing on its UDP port)" % (
                self.unreachable.where)
        return s

    def port_for(self, cmd, server):
        """The fallback bin of an unreachable scenario gets the server's
        RTMP port, where no UDP socket listens"""
        return server.rtmp_port if cmd is self.unreachable else server.port


def is_fallback_bin(cmd):
    return bool(cmd.factories() & {"rtmfpautosink", "rtmfpautosrc"})


def fell_back_to_rtmp():
    return lambda l: bool(element_message("rtmfp-fallback")(l) and
                          "protocol=(string)rtmp" in l)


def publish_started(child, scenario):
    """rtmfp-publishing (rtmfpsink, rtmfpautosink); the fallback bin of an
    unreachable scenario: its rtmfp-fallback to RTMP; an RTMP-only sink
    has no message: its pipeline reaching PLAYING"""
    if scenario.unreachable is child.cmd:
        return fell_back_to_rtmp()
    if "rtmp2sink" in child.cmd.factories():
        return lambda l: bool(PIPELINE_PLAYING.match(l))
    return element_message("rtmfp-publishing")


def play_started(child, scenario):
    if scenario.unreachable is child.cmd:
        return fell_back_to_rtmp()
    if child.cmd.direct:
        # waiting for the publisher (player first), or already playing
        return any_of(element_message("rtmfp-waiting"),
                      element_message("rtmfp-direct-session"))
    if "rtmp2src" in child.cmd.factories():
        return lambda l: bool(PIPELINE_PLAYING.match(l))
    return any_of(element_message("rtmfp-waiting"),
                  status_message("NetStream.Play.Start"))


def start_publisher(scenario, server, tag):
    cmd = scenario.pub
    run = docs_substitute.prepare(cmd, scenario.port_for(cmd, server), RUN_DIR, tag)
    child = launch(run, tag)
    child.cmd, child.run = cmd, run
    t, line = wait_line(child, publish_started(child, scenario),
                        CONNECT_TIMEOUT_S, "%s publishes" % tag)
    m = PEER_ID_FIELD.search(line or "")
    child.peer_id = m.group(1) if m else None
    child.t_publishing = t
    return child


def start_player(scenario, server, tag, peer_id):
    cmd = scenario.player
    run = docs_substitute.prepare(cmd, scenario.port_for(cmd, server), RUN_DIR,
                                  tag, peer_id)
    child = launch(run, tag)
    child.cmd, child.run = cmd, run
    child.t_play, _ = wait_line(child, play_started(child, scenario),
                                CONNECT_TIMEOUT_S,
                                "%s plays (or waits for the stream)" % tag)
    return child


def audio_seconds(child):
    """Seconds of decoded audio in the player's WAV file so far (0 before
    its header)"""
    info = docs_media.wav_info(child.run.audio_out)
    if not info:
        return 0.0
    width = {"S16LE": 2, "F32LE": 4}.get(info["format"], 0)
    bps = width * int(info["rate"]) * int(info["channels"])
    return info["size"] / bps if bps else 0.0


def decoded_enough(player, fps):
    """The player decoded MEDIA_TARGET_S of video and (if it has an audio
    branch) of audio"""
    if player.run.video_out:
        frames = player.lines.count(docs_media.chain_line(player.run.video_out))
        if frames < fps * MEDIA_TARGET_S:
            return False
    if player.run.audio_out and audio_seconds(player) < MEDIA_TARGET_S:
        return False
    return True


def wait_decoded(player, publisher):
    """Until decoded_enough, bounded; watching both processes, and the
    player's output for new lines (the audio file grows with them)"""
    end = time.monotonic() + MEDIA_TIMEOUT_S
    fps = None
    while time.monotonic() < end:
        if not player.running() or not publisher.running():
            break
        if fps is None and player.run.video_out:
            caps = docs_media.sink_caps(player.output(), player.run.video_out,
                                         "video/x-raw")
            fps = docs_media.framerate(caps) if caps else None
        if (fps or not player.run.video_out) and decoded_enough(player, fps or 0):
            return True
        n = len(player.lines.snapshot())
        player.lines.wait_for(lambda l: True, 0.5, start=n)
    return False


def check_video(player, window_s, tag):
    name = player.run.video_out
    caps = docs_media.sink_caps(player.output(), name, "video/x-raw")
    if not check(caps is not None and caps["media"] == "video/x-raw",
                 "%s: decoded video reached the sink (caps %s)" % (tag, caps)):
        return
    fps = docs_media.framerate(caps)
    frames = player.lines.count(docs_media.chain_line(name))
    sent = fps * window_s
    check(fps > 0 and frames >= MIN_RATIO * sent,
          "%s: %d video frames decoded of about %.0f sent (%.1f s at %.0f fps), "
          "at least %d %%" % (tag, frames, sent, window_s, fps, MIN_RATIO * 100))


def check_audio(player, window_s, tag):
    caps = docs_media.wav_info(player.run.audio_out)
    if not check(caps is not None,
                 "%s: decoded audio reached the sink (WAV %s)" % (tag, caps)):
        return
    a = docs_media.analyse_audio(player.run.audio_out, caps)
    check(a["sine_seconds"] >= MIN_RATIO * window_s,
          "%s: %.1f s of audio decoded, %.1f s of it the 440 Hz sine (median "
          "%.0f Hz) of %.1f s sent, at least %d %%" % (
              tag, a["seconds"], a["sine_seconds"], a["median_hz"], window_s,
              MIN_RATIO * 100))


def check_clean(child, tag):
    for w in [l for l in child.output() if WARNING_LINE.search(l)][:5]:
        log("  %s warned (not a failure): %s" % (tag, w))
    bad = bad_lines(child)
    check(not bad, "%s: no ERROR or CRITICAL line%s" % (
        tag, (": " + " | ".join(bad[:5])) if bad else ""))


STATS = "application/x-rtmfp-statistics"
GST_DEBUG_LINE = re.compile(r"^\S+\s+\d+\s+0x[0-9a-f]+\s+(ERROR|WARN|FIXME|INFO|"
                            r"DEBUG|LOG|TRACE|MEMDUMP)\s+(\S+)\s")


def counter_values(lines, structure, field):
    pat = re.compile(r"\b%s=\(g?u?int(?:64)?\)(\d+)" % re.escape(field))
    is_msg = element_message(structure)
    return [int(m.group(1)) for m in (pat.search(l) for l in lines if is_msg(l))
            if m]


def check_stats_messages(child, tag):
    """stats-interval: the stats are posted as element messages that -m
    prints, and their counters move"""
    field = ("video-messages-received" if child.cmd.kind == "player"
             else "video-messages-sent")
    values = counter_values(child.output(), STATS, field)
    check(len(values) >= 2 and values[-1] > values[0],
          "%s: stats-interval: %d %s messages, %s %s" % (
              tag, len(values), STATS, field,
              " -> ".join(map(str, values[:1] + values[-1:]))))


def check_gst_debug(child, spec, tag):
    """GST_DEBUG=pattern:level,...: debug lines of a matching category for
    every pattern; the core's log (category rtmfpcore) where a pattern at
    DEBUG or more covers it (docs: "that output goes to the GStreamer debug
    log too")"""
    cats = set(m.group(2) for m in map(GST_DEBUG_LINE.match, child.output()) if m)
    for item in spec.split(","):
        pattern, _, level = item.partition(":")
        matching = sorted(c for c in cats if fnmatch.fnmatchcase(c, pattern))
        check(bool(matching), "%s: GST_DEBUG=%s logs category %s (%s)" % (
            tag, spec, pattern, ", ".join(matching[:6])))
        if fnmatch.fnmatchcase("rtmfpcore", pattern) and level.isdigit() and \
                int(level) >= 5:
            check("rtmfpcore" in cats, "%s: the core's log in category rtmfpcore"
                  % tag)


def check_g_messages_debug(child, domains, tag):
    out = child.output()
    for domain in domains.split():
        pat = re.compile(r"(^|\): )%s-DEBUG: " % re.escape(domain))
        check(any(pat.search(l) for l in out),
              "%s: G_MESSAGES_DEBUG shows the domain %s" % (tag, domain))


def check_documented_extras(child, tag):
    """What the documented environment and properties promise to print"""
    if any("stats-interval" in e.props for e in child.cmd.elements):
        check_stats_messages(child, tag)
    if "GST_DEBUG" in child.run.env:
        check_gst_debug(child, child.run.env["GST_DEBUG"], tag)
    if "G_MESSAGES_DEBUG" in child.run.env:
        check_g_messages_debug(child, child.run.env["G_MESSAGES_DEBUG"], tag)


def stop_publisher(pub, tag):
    pub.t_stop = time.monotonic()
    pub.signal(signal.SIGINT)
    rc = pub.wait(EOS_TIMEOUT_S)
    check(rc == 0, "%s: exit 0 after SIGINT (got %s)" % (tag, rc))
    if "-e" in pub.cmd.options or "--eos-on-shutdown" in pub.cmd.options:
        check(pub.lines.count(lambda l: bool(PIPELINE_EOS.match(l))) > 0,
              "%s: -e: the EOS went through the pipeline before the exit" % tag)


def documented_to_end(scenario):
    """The docs promise EOS at the player when the publisher stops for
    rtmfpsrc ("When the publisher stops, rtmfpsrc ends with EOS") and
    rtmfpautosrc while it plays over RTMFP (it has rtmfpsrc's outputs);
    nothing for rtmfpautosrc playing over RTMP"""
    return scenario.unreachable is not scenario.player


def check_player_end(player, scenario, tag):
    if not documented_to_end(scenario):
        log("  %s: not documented to end by itself over RTMP: stopped with "
            "SIGINT" % tag)
        player.signal(signal.SIGINT)
        rc = player.wait(EOS_TIMEOUT_S)
        check(rc == 0, "%s: exit 0 after SIGINT (got %s)" % (tag, rc))
        return
    rc = player.wait(END_TIMEOUT_S)
    check(rc == 0 and player.lines.count(
        lambda l: bool(PIPELINE_EOS.match(l))) > 0,
        "%s: ends by itself with EOS and exit 0 after the publisher's EOS "
        "(exit %s)" % (tag, rc if rc is not None else "none: still running"))


def start_both(scenario, server, tag):
    """(publisher, player) started in the scenario's order, each once the
    other is ready; None where it could not start"""
    pub = player = None
    if scenario.order == "player":
        player = start_player(scenario, server, tag + "-player", None)
        if player.t_play is not None:
            pub = start_publisher(scenario, server, tag + "-publisher")
    else:
        pub = start_publisher(scenario, server, tag + "-publisher")
        if pub.t_publishing is not None:
            player = start_player(scenario, server, tag + "-player", pub.peer_id)
    return pub, player


def check_direct(pub, player, tag):
    check(player.lines.count(element_message("rtmfp-direct-session")) > 0,
          "%s: the player plays directly from the publisher "
          "(rtmfp-direct-session)" % tag)
    check(pub.lines.count(element_message("rtmfp-peer-connected")) > 0,
          "%s: the publisher saw its peer-to-peer player "
          "(rtmfp-peer-connected)" % tag)


DIAGNOSIS = re.compile(r"\((element|error|warning)\): rtmfp|caps = video/x-h264|"
                       r"caps = audio/x-speex|^WARNING|^ERROR")


def diagnose(server, pub, player):
    """What the three processes said that explains missing media (their
    full logs stay in the run directory): the elements' rtmfp-* messages,
    the compressed caps the player got, the server's last lines"""
    log("  diagnosis (full logs in %s):" % RUN_DIR)
    for child, n in ((pub, 6), (player, 10)):
        lines = [l for l in child.output() if DIAGNOSIS.search(l)]
        for l in lines[-n:]:
            log("    %s: %s" % (child.name, l[:300]))
    log("    %s: %d video frames counted, %.1f s of audio" % (
        player.name, player.lines.count(docs_media.chain_line(
            player.run.video_out)) if player.run.video_out else 0,
        audio_seconds(player) if player.run.audio_out else 0.0))
    for l in server.child.output()[-8:]:
        log("    %s: %s" % (server.child.name, l[:300]))


def run_live(scenario, server, pub, player, tag):
    """A live publisher stopped with SIGINT once the player decoded enough;
    the player's share of what was sent meanwhile"""
    # a live player that never reached PLAYING has no media (its sinks
    # did not preroll): no point waiting for it
    if not check(player.playing and wait_decoded(player, pub),
                 "%s: the player decoded %.0f s of media (within %.0f s)" % (
                     tag, MEDIA_TARGET_S, MEDIA_TIMEOUT_S)):
        diagnose(server, pub, player)
    if scenario.player.direct:
        check_direct(pub, player, tag)
    stop_publisher(pub, tag + " publisher")
    window = pub.t_stop - max(pub.t_publishing, player.t_play)
    check_player_end(player, scenario, tag + " player")
    if scenario.player.video:
        check_video(player, window, tag + " player")
    if scenario.player.audio:
        check_audio(player, window, tag + " player")


def run_counted_frames(scenario, pub, player, tag):
    """A publisher that sends num-buffers frames and ends by itself: the
    player gets every frame, the last one included (docs/interop.md: "a
    complete run has every frame")"""
    frames = scenario.pub.frames
    rc = pub.wait(MEDIA_TIMEOUT_S)
    check(rc == 0 and pub.lines.count(lambda l: bool(PIPELINE_EOS.match(l))) > 0,
          "%s publisher: ends by itself after its %d frames with EOS and exit 0 "
          "(exit %s)" % (tag, frames, rc if rc is not None else "none: still running"))
    check_player_end(player, scenario, tag + " player")
    got = player.lines.count(docs_media.chain_line(player.run.video_out))
    check(got == frames, "%s player: %d of the %d frames sent" % (tag, got, frames))


def run_pair(scenario, tag):
    log("\n== %s: %s ==" % (tag, scenario.describe()))
    server = Server(tag, split=scenario.unreachable is not None)
    pub = player = None
    try:
        pub, player = start_both(scenario, server, tag)
        if not (pub and player and pub.t_publishing and player.t_play):
            return
        playing = [wait_line(child, lambda l: bool(PIPELINE_PLAYING.match(l)),
                             CONNECT_TIMEOUT_S, "%s reached PLAYING" % child.name)[1]
                   for child in (pub, player)]
        player.playing = playing[1] is not None
        if scenario.pub.frames:
            run_counted_frames(scenario, pub, player, tag)
        else:
            run_live(scenario, server, pub, player, tag)
        for child in (pub, player):
            check_documented_extras(child, child.name)
            check_clean(child, child.name)
    finally:
        for child in (player, pub):
            if child is not None:
                child.kill_group()
        rc = server.stop()
        check(rc == 0, "%s: rtmfp-server exits 0 on SIGTERM (got %s)" % (tag, rc))
        check_clean(server.child, tag + " rtmfp-server")


# ---------------------------------------------------------------------------
# Fragments ("gst-launch-1.0 ... ! rtmfpsink prop=X")

INSPECT_PROPERTY = re.compile(r"^  ([a-z][a-z0-9-]*)\s*: ")


def element_properties(factory):
    """The property names gst-inspect-1.0 lists for factory, or None when
    it does not know the element"""
    r = subprocess.run(["gst-inspect-1.0", factory], env=base_env(),
                       capture_output=True, text=True, timeout=120 * SLOW)
    if r.returncode != 0:
        return None
    props, inside = set(), False
    for line in r.stdout.splitlines():
        if line.startswith("Element Properties:"):
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        elif inside:
            m = INSPECT_PROPERTY.match(line)
            if m:
                props.add(m.group(1))
    return props


def check_fragment(cmd, tag):
    """Nothing to run: the elements it names exist with the properties it
    sets"""
    log("\n== %s: %s (fragment: elements and properties checked) ==" % (tag, cmd.where))
    for e in cmd.elements:
        props = element_properties(e.factory)
        if not check(props is not None, "%s: element %s exists" % (tag, e.factory)):
            continue
        for key in e.props:
            check(key in props, "%s: %s has a property %s" % (tag, e.factory, key))


# ---------------------------------------------------------------------------
# Commands documented as failing

ERROR_LINE = re.compile(r"^ERROR: from element (\S+): (.*)$")


def accepted_error_lines(documented, po_dir, env):
    """The documented ERROR line and, where it is a translation, the same
    line with the English msgid"""
    lines = [documented]
    m = ERROR_LINE.match(documented)
    lang = env.get("LANGUAGE", env.get("LANG", "")).split(":")[0].split("_")[0]
    po = os.path.join(po_dir, lang + ".po")
    if m and lang and os.path.exists(po):
        english = docs_po.english_of(m.group(2), po)
        if english:
            lines.append("ERROR: from element %s: %s" % (m.group(1), english))
    return lines


def run_expected_error(cmd, tag, po_dir):
    log("\n== %s: %s (expected error) ==" % (tag, cmd.where))
    run = docs_substitute.prepare(cmd, 0, RUN_DIR, tag, add_messages=False)
    child = launch(run, tag)
    try:
        rc = child.wait(ERROR_CMD_TIMEOUT_S)
        check(rc is not None and rc != 0, "%s: exits with an error (exit %s)" % (tag, rc))
        child.lines.wait_closed(docs_procs.GRACE)
        out = child.output()
        for documented in cmd.expected:
            accepted = accepted_error_lines(documented, po_dir, run.env)
            seen = [l for l in out if l in accepted]
            check(bool(seen), "%s: prints %r%s" % (
                tag, documented,
                (" (as %r: no installed catalog)" % seen[0]
                 if seen and seen[0] != documented else "")))
            if not seen:
                log("    its output: %s" % " | ".join(out[-6:]))
    finally:
        child.kill_group()


# ---------------------------------------------------------------------------
# The plan: which commands run together

def compatible(pub, player):
    """player plays what pub publishes: the same stream, the same path
    (through the server or peer to peer), and every decoding branch of the
    player gets its codec (a branch that gets nothing never prerolls: the
    whole player would stall in PAUSED)"""
    if pub.stream_path() != player.stream_path() or pub.direct != player.direct:
        return False
    if player.video == "*":             # a video branch that takes any codec
        if not pub.video:
            return False
    elif player.video and player.video != pub.video:
        return False
    if player.audio and player.audio != pub.audio:
        return False
    return True


def best_partner(cmd, others):
    """The first compatible partner of cmd among others, from the same
    document first"""
    for same_doc in (True, False):
        for o in others:
            if (o.source == cmd.source) != same_doc:
                continue
            pub, player = (cmd, o) if cmd.kind == "publisher" else (o, cmd)
            if compatible(pub, player):
                return o
    return None


def needs_publisher_first(player):
    return docs_substitute.is_placeholder_peer(player.peer_id)


def plan_pairs(commands):
    """([Scenario], problems): every publisher and every player at least
    once; each document's first server-mode publisher with its player in
    both orders; every fallback bin once more with RTMFP unreachable"""
    pubs = [c for c in commands if c.kind == "publisher"]
    players = [c for c in commands if c.kind == "player"]
    scenarios, problems = [], []

    def add(pub, player, order, unreachable=None):
        if not any((x.pub, x.player, x.order, x.unreachable) ==
                   (pub, player, order, unreachable) for x in scenarios):
            scenarios.append(Scenario(pub, player, order, unreachable))

    def one_order(player):
        return "publisher" if needs_publisher_first(player) else "player"


    for doc in dict.fromkeys(c.source for c in commands):
        main_pub = next((p for p in pubs if p.source == doc and not p.direct), None)
        main_player = main_pub and best_partner(main_pub, players)
        if main_player and main_player.source == doc:
            add(main_pub, main_player, "player")
            if not main_pub.frames:
                # a publisher that ends after its frames only runs after
                # its player is ready (interop.md: "publisher (started
                # 1.5 s later)"); a late player would miss them
                add(main_pub, main_player, "publisher")
    for pub in pubs:
        if not any(x.pub is pub for x in scenarios):
            player = best_partner(pub, players)
            if player:
                add(pub, player, one_order(player))
            else:
                problems.append("%s: no documented player plays what this "
                                "publisher sends" % pub.where)
    for player in players:
        if not any(x.player is player for x in scenarios):
            pub = best_partner(player, pubs)
            if pub:
                add(pub, player, one_order(player))
            else:
                problems.append("%s: no documented publisher sends what this "
                                "player plays" % player.where)
    for x in list(scenarios):
        for cmd in (x.pub, x.player):
            if is_fallback_bin(cmd) and not any(y.unreachable is cmd
                                                for y in scenarios):
                add(x.pub, x.player, "publisher", cmd)
    return scenarios, problems


# ---------------------------------------------------------------------------
# Main

def documents(root):
    return ["README.md"] + sorted(os.path.relpath(p, root) for p in
                                  glob.glob(os.path.join(root, "docs", "*.md")))


def classify_all(commands):
    problems = []
    for cmd in commands:
        try:
            docs_extract.classify(cmd)
        except docs_extract.ClassifyError as e:
            problems.append("%s: cannot classify (%s): %s" % (cmd.where, e, cmd.text))
    return problems


def missing_elements(commands):
    """Factories the runnable commands need that GStreamer does not have"""
    names = set()
    for cmd in commands:
        if cmd.kind in ("publisher", "player", "expected-error"):
            run = docs_substitute.prepare(cmd, 1, RUN_DIR, "inspect", "0" * 64)
            names |= set(docs_extract.argv_factories(run.argv))
    missing = []
    for name in sorted(names):
        r = subprocess.run(["gst-inspect-1.0", "--exists", "--atleast-version=0.0",
                            name], env=base_env(),
                           capture_output=True, timeout=120 * SLOW)
        if r.returncode != 0:
            missing.append(name)
    return missing


def print_inventory(commands, scenarios):
    log("\n== the documented gst-launch-1.0 commands ==")
    for cmd in commands:
        if cmd.kind == "elided":
            what = ("a fragment (\"...\" for part of the pipeline): not run, its "
                    "elements and properties checked")
        elif cmd.kind == "expected-error":
            what = "run, its documented error checked"
        else:
            runs = ["run%d with %s (%s first%s)" % (
                i, (x.player if cmd is x.pub else x.pub).where, x.order,
                ", RTMFP unreachable" if x.unreachable is cmd else "")
                for i, x in enumerate(scenarios, 1) if cmd in (x.pub, x.player)]
            what = "%s [%s%s%s]: %s" % (
                cmd.kind, "video %s" % cmd.video if cmd.video else "",
                ", " if cmd.video and cmd.audio else "",
                "audio %s" % cmd.audio if cmd.audio else "", "; ".join(runs))
        log("%s: %s\n    %s" % (cmd.where, what, cmd.text))
        if cmd.kind in ("publisher", "player", "expected-error"):
            try:
                run = docs_substitute.prepare(cmd, 1935, RUN_DIR, "x", "<peer ID>",
                                              cmd.kind != "expected-error")
                log("    substituted: %s" % run.describe())
            except docs_substitute.SubstituteError as e:
                check(False, "%s: cannot substitute: %s" % (cmd.where, e))


def main():
    global RUN_DIR
    docs_procs.install_cleanup()
    root = os.environ.get("RTMFP_SOURCE_ROOT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    server = os.environ.get("RTMFP_SERVER")
    if not server or not os.access(server, os.X_OK):
        print("FAIL: RTMFP_SERVER is not the built rtmfp-server: %r" % server)
        return 1
    RUN_DIR = os.environ.get("RTMFP_DOCS_RUN_DIR") or "docs_pipelines.d"
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    os.makedirs(RUN_DIR)

    try:
        commands = docs_extract.extract_commands(root, documents(root))
    except docs_extract.ExtractError as e:
        print("FAIL: %s" % e)
        return 1
    problems = classify_all(commands)
    scenarios, pair_problems = plan_pairs(commands)
    print_inventory([c for c in commands if c.kind], scenarios)
    for p in problems + pair_problems:
        check(False, p)
    if FAILURES:
        return 1
    check(len(commands) > 0, "the docs have gst-launch-1.0 commands (%d)" % len(commands))

    missing = missing_elements(commands)
    if missing:
        print("%s: GStreamer elements missing: %s (scripts/deps.sh installs them)"
              % ("FAIL" if CI else "SKIP", " ".join(missing)))
        return 1 if CI else 77

    results = []
    for i, scenario in enumerate(scenarios, 1):
        before = len(FAILURES)
        run_pair(scenario, "run%d" % i)
        results.append(("run%d" % i, scenario.describe(), len(FAILURES) - before))
    for i, cmd in enumerate([c for c in commands if c.kind == "expected-error"], 1):
        before = len(FAILURES)
        run_expected_error(cmd, "error%d" % i, os.path.join(root, "po"))
        results.append(("error%d" % i, "%s (expected error)" % cmd.where,
                        len(FAILURES) - before))

    for i, cmd in enumerate([c for c in commands if c.kind == "elided"], 1):
        before = len(FAILURES)
        check_fragment(cmd, "fragment%d" % i)
        results.append(("fragment%d" % i, "%s (fragment)" % cmd.where,
                        len(FAILURES) - before))

    log("\n== summary ==")
    for tag, what, failed in results:
        log("%-8s %s  %s" % (tag, "FAIL (%d)" % failed if failed else "ok  ", what))

    log("\n%d failure(s)" % len(FAILURES))
    for f in FAILURES:
        log("  FAIL: %s" % f)
    log("logs: %s" % os.path.abspath(RUN_DIR))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        docs_procs.cleanup_all()
    sys.exit(rc)
