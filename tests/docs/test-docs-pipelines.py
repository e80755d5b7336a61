#!/usr/bin/env python3
"""Every gst-launch-1.0 command of README.md and docs/*.md, run as users run
it (meson test docs_pipelines, suite docs).

What it does:
  1. Extracts the gst-launch-1.0 commands of the fenced code blocks
     (docs_extract.py): continuation lines joined, leading VAR=value
     assignments kept, "# ERROR: ..." comment lines right after a command
     taken as its documented output.  Every command is classified as
     publisher, player, expected-error or elided (a usage pattern whose
     pipeline is just "...", which is listed and not run); a command that
     fits none of them, or a fenced line mentioning gst-launch that is not a
     command, fails the test.  The list of commands and what was done to
     each is printed.
  2. Runs them with only these substitutions (docs_substitute.py): devices
     to test sources (v4l2src/autovideosrc -> videotestsrc is-live=true,
     pulsesrc/autoaudiosrc -> audiotestsrc is-live=true, a 440 Hz sine),
     autovideosink -> a named fakesink silent=false (frames counted from
     gst-launch -v's last-message lines), autoaudiosink -> filesink of the
     raw decoded audio, example.com/example.org -> 127.0.0.1:<port> of an
     rtmfp-server started for each run (RTMFP on UDP and RTMP on TCP with
     the same port number, so rtmp:// fallback locations derived from the
     rtmfp:// one work), a peer-id placeholder -> the publisher's peer ID
     (from its rtmfp-publishing message), and -m (and -v where a sink was
     substituted) added to the gst-launch options.  The plugins are the
     build tree's (GST_PLUGIN_PATH_1_0 and a private registry, set by
     meson), the server is the built rtmfp-server (RTMFP_SERVER).
  3. Pairs publishers and players of the same stream whose codecs match
     (the player decodes what the publisher sends; peer-to-peer players
     with mode=direct publishers) so that every documented publisher and
     player runs at least once; the first server publisher and player of
     each document run in both start orders (player first: the publisher
     starts once the player posted rtmfp-waiting or NetStream.Play.Start;
     publisher first: the player starts once the publisher posted
     rtmfp-publishing).  The publisher runs until the player decoded
     MEDIA_TARGET_S seconds of video (and of audio), bounded, then gets
     SIGINT (with -e as documented: EOS).

Asserted for every pair:
  - both pipelines reached PLAYING;
  - the player decoded at least MIN_RATIO of the video frames the publisher
    sent while both ran (its framerate times that time), and where it has
    an audio branch at least MIN_RATIO of that time as a 440 Hz sine
    (zero crossings of the decoded samples, docs_media.py);
  - peer to peer: the player opened a direct session (rtmfp-direct-session)
    and the publisher saw it (rtmfp-peer-connected);
  - the publisher exits 0 after SIGINT, with -e after its EOS;
  - the player then ends by itself with EOS and exit 0, within
    END_TIMEOUT_S (pairs are only made where it decodes everything the
    publisher sends for its branches, so it can);
  - no ERROR or CRITICAL line from any process, and the server exits 0 on
    SIGTERM (in the sanitizer build: no leak or memory error in it).

A command documented as failing is run verbatim (its own environment, e.g.
LANGUAGE=ko LANG=ko_KR.UTF-8) and must exit non-zero printing the
documented ERROR line, or the same line in English: a build tree has no
installed catalog, so the msgid of the documented translation (looked up in
po/<lang>.po) is accepted.

Every wait is bounded (doubled with RTMFP_ASAN=1), ports are ephemeral,
every child runs in its own process group and is killed on any exit.
Under RTMFP_CI a missing GStreamer element fails the test instead of
skipping it (77).

Environment (set by meson): RTMFP_SERVER, RTMFP_SOURCE_ROOT,
GST_PLUGIN_PATH_1_0, GST_REGISTRY_1_0, RTMFP_DOCS_RUN_DIR (logs and raw
audio); RTMFP_ASAN=1 in a sanitizer build (the uninstrumented
gst-launch-1.0 then preloads the ASan runtime to load our plugins).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
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
    port number"""

    def __init__(self, tag):
        self.child, self.port = None, None
        for attempt in range(SERVER_START_TRIES):
            port = docs_procs.free_port_pair()
            child = docs_procs.Child(
                "%s-server" % tag,
                [os.environ["RTMFP_SERVER"], "--rtmfp", "127.0.0.1:%d" % port,
                 "--rtmp", "127.0.0.1:%d" % port, "-v"],
                dict(os.environ), log_path("%s-server-%d" % (tag, attempt)))
            _, line = child.lines.wait_for(
                lambda l: l.startswith("listening rtmp "), CONNECT_TIMEOUT_S)
            if line:
                self.child, self.port = child, port
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

def publish_started(child):
    """rtmfp-publishing (rtmfpsink, rtmfpautosink); an RTMP-only sink has
    no such message: its pipeline reaching PLAYING"""
    if "rtmp2sink" in child.cmd.factories():
        return lambda l: bool(PIPELINE_PLAYING.match(l))
    return element_message("rtmfp-publishing")


def play_started(child):
    if child.cmd.direct:
        return element_message("rtmfp-direct-session")
    if "rtmp2src" in child.cmd.factories():
        return lambda l: bool(PIPELINE_PLAYING.match(l))
    return any_of(element_message("rtmfp-waiting"),
                  status_message("NetStream.Play.Start"))


def start_publisher(pub_cmd, server, tag):
    run = docs_substitute.prepare(pub_cmd, server.port, RUN_DIR, tag)
    child = launch(run, tag)
    child.cmd, child.run = pub_cmd, run
    t, line = wait_line(child, publish_started(child), CONNECT_TIMEOUT_S,
                        "%s publishes" % tag)
    m = PEER_ID_FIELD.search(line or "")
    child.peer_id = m.group(1) if m else None
    child.t_publishing = t
    return child


def start_player(play_cmd, server, tag, peer_id):
    run = docs_substitute.prepare(play_cmd, server.port, RUN_DIR, tag, peer_id)
    child = launch(run, tag)
    child.cmd, child.run = play_cmd, run
    child.t_play, _ = wait_line(child, play_started(child), CONNECT_TIMEOUT_S,
                                "%s plays (or waits for the stream)" % tag)
    return child


def audio_bytes_per_second(child):
    caps = docs_media.sink_caps(child.output(), docs_substitute.AUDIO_OUT)
    if not caps or "rate" not in caps:
        return None
    width = {"S16LE": 2, "F32LE": 4}.get(caps.get("format"), 0)
    return width * int(caps["rate"]) * int(caps.get("channels", "1")) or None


def decoded_enough(player, fps):
    """The player decoded MEDIA_TARGET_S of video and (if it has an audio
    branch) of audio"""
    if player.run.video_out:
        frames = player.lines.count(docs_media.chain_line(player.run.video_out))
        if frames < fps * MEDIA_TARGET_S:
            return False
    if player.run.audio_out:
        bps = audio_bytes_per_second(player)
        if not bps or not os.path.exists(player.run.audio_out):
            return False
        if os.path.getsize(player.run.audio_out) < bps * MEDIA_TARGET_S:
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
            caps = docs_media.sink_caps(player.output(), player.run.video_out)
            fps = docs_media.framerate(caps) if caps else None
        if (fps or not player.run.video_out) and decoded_enough(player, fps or 0):
            return True
        n = len(player.lines.snapshot())
        player.lines.wait_for(lambda l: True, 0.5, start=n)
    return False


def check_video(player, window_s, tag):
    name = player.run.video_out
    caps = docs_media.sink_caps(player.output(), name)
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
    caps = docs_media.sink_caps(player.output(), docs_substitute.AUDIO_OUT)
    if not check(caps is not None and os.path.exists(player.run.audio_out),
                 "%s: decoded audio reached the sink (caps %s)" % (tag, caps)):
        return
    a = docs_media.analyse_audio(player.run.audio_out, caps)
    check(a["sine_seconds"] >= MIN_RATIO * window_s,
          "%s: %.1f s of audio decoded, %.1f s of it the 440 Hz sine (median "
          "%.0f Hz) of %.1f s sent, at least %d %%" % (
              tag, a["seconds"], a["sine_seconds"], a["median_hz"], window_s,
              MIN_RATIO * 100))


def check_clean(child, tag):
    bad = bad_lines(child)
    check(not bad, "%s: no ERROR or CRITICAL line%s" % (
        tag, (": " + " | ".join(bad[:5])) if bad else ""))


def stop_publisher(pub, tag):
    pub.t_stop = time.monotonic()
    pub.signal(signal.SIGINT)
    rc = pub.wait(EOS_TIMEOUT_S)
    check(rc == 0, "%s: exit 0 after SIGINT (got %s)" % (tag, rc))
    if "-e" in pub.cmd.options or "--eos-on-shutdown" in pub.cmd.options:
        check(pub.lines.count(lambda l: bool(PIPELINE_EOS.match(l))) > 0,
              "%s: -e: the EOS went through the pipeline before the exit" % tag)


def check_player_end(player, tag):
    rc = player.wait(END_TIMEOUT_S)
    check(rc == 0 and player.lines.count(
        lambda l: bool(PIPELINE_EOS.match(l))) > 0,
        "%s: ends by itself with EOS and exit 0 after the publisher's EOS "
        "(exit %s)" % (tag, rc if rc is not None else "none: still running"))


def run_pair(pub_cmd, play_cmd, order, tag):
    log("\n== %s: %s (%s) and %s (%s), %s first ==" % (
        tag, pub_cmd.where, pub_cmd.kind, play_cmd.where, play_cmd.kind, order))
    server = Server(tag)
    pub = player = None
    try:
        if order == "player":
            player = start_player(play_cmd, server, tag + "-player", None)
            if player.t_play is None:
                return
            pub = start_publisher(pub_cmd, server, tag + "-publisher")
        else:
            pub = start_publisher(pub_cmd, server, tag + "-publisher")
            if pub.t_publishing is None:
                return
            player = start_player(play_cmd, server, tag + "-player", pub.peer_id)
        if pub.t_publishing is None or player.t_play is None:
            return
        for child in (pub, player):
            wait_line(child, lambda l: bool(PIPELINE_PLAYING.match(l)),
                      CONNECT_TIMEOUT_S, "%s reached PLAYING" % child.name)
        check(wait_decoded(player, pub),
              "%s: the player decoded %.0f s of media (within %.0f s)" % (
                  tag, MEDIA_TARGET_S, MEDIA_TIMEOUT_S))
        if play_cmd.direct:
            check(player.lines.count(element_message("rtmfp-direct-session")) > 0,
                  "%s: the player plays directly from the publisher" % tag)
            check(pub.lines.count(element_message("rtmfp-peer-connected")) > 0,
                  "%s: the publisher saw its peer-to-peer player" % tag)
        stop_publisher(pub, tag + " publisher")
        window = pub.t_stop - max(pub.t_publishing, player.t_play)
        check_player_end(player, tag + " player")
        if play_cmd.video:
            check_video(player, window, tag + " player")
        if play_cmd.audio:
            check_audio(player, window, tag + " player")
        for child in (pub, player):
            check_clean(child, child.name)
    finally:
        for child in (player, pub):
            if child is not None:
                child.kill_group()
        rc = server.stop()
        check(rc == 0, "%s: rtmfp-server exits 0 on SIGTERM (got %s)" % (tag, rc))
        check_clean(server.child, tag + " rtmfp-server")


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
    if player.video and player.video != pub.video:
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
    """[(publisher, player, order)]: every publisher and every player at
    least once, each document's first server-mode pair in both orders"""
    pubs = [c for c in commands if c.kind == "publisher"]
    players = [c for c in commands if c.kind == "player"]
    pairs, problems = [], []

    def add(pub, player, order):
        if (pub, player, order) not in pairs:
            pairs.append((pub, player, order))

    def one_order(player):
        return "publisher" if needs_publisher_first(player) else "player"

    for doc in dict.fromkeys(c.source for c in commands):
        main_pub = next((p for p in pubs if p.source == doc and not p.direct), None)
        if main_pub:
            main_player = best_partner(main_pub, players)
            if main_player and main_player.source == doc:
                add(main_pub, main_player, "player")
                add(main_pub, main_player, "publisher")
    for pub in pubs:
        if not any(p[0] is pub for p in pairs):
            player = best_partner(pub, players)
            if player:
                add(pub, player, one_order(player))
            else:
                problems.append("%s: no documented player plays what this "
                                "publisher sends" % pub.where)
    for player in players:
        if not any(p[1] is player for p in pairs):
            pub = best_partner(player, pubs)
            if pub:
                add(pub, player, one_order(player))
            else:
                problems.append("%s: no documented publisher sends what this "
                                "player plays" % player.where)
    return pairs, problems


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
        r = subprocess.run(["gst-inspect-1.0", "--exists", "--atleast-version=0.0", name], env=base_env(),
                           capture_output=True, timeout=120 * SLOW)
        if r.returncode != 0:
            missing.append(name)
    return missing


def print_inventory(commands, pairs):
    log("\n== the documented gst-launch-1.0 commands ==")
    for cmd in commands:
        if cmd.kind == "elided":
            what = "a usage pattern (pipeline \"...\"): nothing to run"
        elif cmd.kind == "expected-error":
            what = "run, its documented error checked"
        else:
            runs = ["with %s (%s first)" % ((p[1] if cmd is p[0] else p[0]).where,
                                             p[2]) for p in pairs if cmd in p[:2]]
            what = "%s [%s%s%s]: run %s" % (
                cmd.kind, "video %s" % cmd.video if cmd.video else "",
                ", " if cmd.video and cmd.audio else "",
                "audio %s" % cmd.audio if cmd.audio else "", "; ".join(runs))
        log("%s: %s\n    %s" % (cmd.where, what, cmd.text))


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
    pairs, pair_problems = plan_pairs(commands)
    print_inventory([c for c in commands if c.kind], pairs)
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

    for i, (pub, player, order) in enumerate(pairs, 1):
        run_pair(pub, player, order, "run%d" % i)
    for i, cmd in enumerate([c for c in commands if c.kind == "expected-error"], 1):
        run_expected_error(cmd, "error%d" % i, os.path.join(root, "po"))

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
