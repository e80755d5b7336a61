#!/usr/bin/env python3
"""rtmfp-server --metrics and --log-format json, the real binary with real
GStreamer clients (meson test server_metrics).

  - /metrics is read during a publish (rtmfpsink) and two plays (rtmfpsrc,
    rtmp2src) with prometheus_client's text-format parser plus strict
    checks of our own (HELP and TYPE before every family's samples, no
    duplicate series, valid names, escaped labels, final newline, the
    exposition content type); its counters match the stats line (SIGUSR1):
    during the stream every counter of the stats line lies between a
    scrape before it and a scrape after it, and once the stream is over
    they are equal;
  - bad HTTP: wrong path 404, wrong method 405, garbage and HTTP/2 400, an
    oversized head 431, a request that never completes 408 or closed
    within the 5 s limit, connections past the 64th refused at once;
  - the RTMFP stream is timed frame by frame at the player, first quiet,
    then while the metrics port is hammered (slow and partial requests,
    a flood of bad and good requests): frames keep coming, no gap is
    longer than 0.5 s;
  - --log-format json: every stderr line is a JSON object; connect,
    publish, play and close events with their fields;
  - SIGTERM: exit 0 (in the sanitizer build: no leak, no error).

Environment (set by meson): RTMFP_SERVER, GST_PLUGIN_PATH_1_0,
GST_REGISTRY_1_0; RTMFP_ASAN=1 in a sanitizer build (the uninstrumented
gst-launch-1.0 then preloads the ASan runtime to load our plugins).
Missing prometheus_client (Debian: python3-prometheus-client) or a
GStreamer element: skipped (77), or a failure under RTMFP_CI.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import json
import os
import select
import re
import signal
import socket
import subprocess
import sys
import threading
import time

CI = os.environ.get("RTMFP_CI", "") not in ("", "0")


def die_with_test():
    """preexec_fn: the child gets SIGKILL when this test dies (prctl
    PR_SET_PDEATHSIG), so a failed run never leaves a server or a
    pipeline behind holding meson's output pipe"""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(1 if CI else 77)


try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package with another Python 3 first on PATH (pure Python)
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        skip("prometheus_client is not installed (Debian: python3-prometheus-client)")

SERVER = os.environ.get("RTMFP_SERVER")
if not SERVER or not os.access(SERVER, os.X_OK):
    print("FAIL: RTMFP_SERVER is not the built rtmfp-server: %r" % SERVER)
    sys.exit(1)

FAILURES = []


def check(cond, what):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s" % what)
        FAILURES.append(what)
    return cond


def deadline(seconds):
    end = time.monotonic() + seconds
    return lambda: time.monotonic() < end


# ---------------------------------------------------------------------------
# Processes

def client_env():
    env = dict(os.environ)
    if os.environ.get("RTMFP_ASAN") == "1":
        asan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                              capture_output=True, text=True).stdout.strip()
        env["LD_PRELOAD"] = asan + " libstdc++.so.6"
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    return env


class Lines:
    """A pipe read line by line on a thread, each line with its arrival
    time"""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append((time.monotonic(), line))
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_for(self, pred, start=0, timeout=10.0):
        """The first line from index start matching pred, or None"""
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return i, self.lines[i][1]
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None, None
                self.cond.wait(left)

    def snapshot(self):
        with self.cond:
            return list(self.lines)


def launch(desc, verbose=False):
    cmd = ["stdbuf", "-oL", "gst-launch-1.0", "-v" if verbose else "-q"] + desc.split()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=client_env(), preexec_fn=die_with_test)
    p.lines = Lines(p.stdout)
    return p


def stop(p, sig=signal.SIGINT):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def have_elements(names):
    for n in names:
        r = subprocess.run(["gst-inspect-1.0", "--exists", "--atleast-version=0.0", n],
                           env=client_env(), capture_output=True)
        if r.returncode != 0:
            return n
    return None


# ---------------------------------------------------------------------------
# HTTP, by hand (so that bad requests can be made)

def http_raw(port, data, timeout=10.0, read=True):
    """Sends data, returns (status or None, headers, body) of the answer;
    None when the server closed without an answer"""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not read:
            return s
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
    finally:
        if read:
            s.close()
    return parse_response(buf)


def parse_response(buf):
    if not buf:
        return None, {}, b""
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
    if not m:
        return -1, {}, buf
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, body


NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def strict_parse(text):
    """Our own strict reading of the text format (version 0.0.4); returns
    {series: value} where series is 'name{k="v",...}' as written"""
    assert text.endswith("\n"), "the exposition does not end with a newline"
    helped, typed, seen_families, series = set(), {}, [], {}
    for line in text[:-1].split("\n"):
        assert line, "an empty line"
        if line.startswith("# HELP "):
            name = line[7:].split(" ", 1)[0]
            assert NAME_RE.match(name), line
            assert name not in helped, "HELP twice: " + name
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            name, t = line[7:].split(" ")
            assert t in ("counter", "gauge", "summary", "histogram", "untyped"), line
            assert name not in typed, "TYPE twice: " + name
            assert name in helped, "TYPE before HELP: " + name
            typed[name] = t
            seen_families.append(name)
            continue
        assert not line.startswith("#"), "a stray comment: " + line
        m = SAMPLE_RE.match(line)
        assert m, "not a sample: " + line
        name, labels, value = m.group(1), m.group(3), m.group(4)
        family = seen_families[-1] if seen_families else None
        base = re.sub(r"_(sum|count)$", "", name) if typed.get(family) == "summary" else name
        assert base == family, "sample %s outside its family (%s)" % (name, family)
        if typed[family] == "counter":
            assert name.endswith("_total"), "counter without _total: " + name
        if labels:
            pos = 0
            while pos < len(labels):
                lm = LABEL_RE.match(labels, pos)
                assert lm, "bad labels: " + line
                pos = lm.end()
        v = float(value)        # NaN is allowed
        key = name + ("{%s}" % labels if labels else "")
        assert key not in series, "a series twice: " + key
        series[key] = v
    return series


def scrape(port):
    status, headers, body = http_raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200, "GET /metrics: %r" % status
    assert headers.get("content-type") == "text/plain; version=0.0.4; charset=utf-8", headers
    assert int(headers["content-length"]) == len(body)
    text = body.decode("utf-8")
    series = strict_parse(text)
    # and prometheus_client's parser reads it all
    n = sum(len(f.samples) for f in text_string_to_metric_families(text))
    assert n == len(series), "prometheus_client read %d samples, we %d" % (n, len(series))
    return series


# stats line field -> metric series
STATS_MAP = {
    "sessions": "rtmfp_server_sessions",
    "connections": 'rtmfp_server_connections{protocol="rtmfp"}',
    "streams": "rtmfp_server_streams",
    "players": "rtmfp_server_players",
    "bytes_in": 'rtmfp_server_bytes_received_total{protocol="rtmfp"}',
    "bytes_out": 'rtmfp_server_bytes_sent_total{protocol="rtmfp"}',
    "messages_in": "rtmfp_server_messages_received_total",
    "relayed": "rtmfp_server_messages_relayed_total",
    "abandoned": "rtmfp_server_messages_abandoned_total",
    "dropped": "rtmfp_server_messages_dropped_total",
    "connects": 'rtmfp_server_connects_total{protocol="rtmfp",result="accepted"}',
    "rejected": 'rtmfp_server_connects_total{protocol="rtmfp",result="rejected"}',
    "rtmp_connections": 'rtmfp_server_connections{protocol="rtmp"}',
    "rtmp_bytes_in": 'rtmfp_server_bytes_received_total{protocol="rtmp"}',
    "rtmp_bytes_out": 'rtmfp_server_bytes_sent_total{protocol="rtmp"}',
    "rtmp_connects": 'rtmfp_server_connects_total{protocol="rtmp",result="accepted"}',
    "rtmp_rejected": 'rtmfp_server_connects_total{protocol="rtmp",result="rejected"}',
    "rtmp_dropped": "rtmfp_server_rtmp_clients_dropped_total",
    "lost": "rtmfp_server_fragments_lost_total",
    "retransmitted": "rtmfp_server_fragments_retransmitted_total",
}
GAUGES = {"sessions", "connections", "streams", "players", "rtmp_connections"}


def stats_line(server, start):
    server.send_signal(signal.SIGUSR1)
    i, line = server.out.wait_for(lambda l: l.startswith("stats "), start, 10)
    assert line, "no stats line after SIGUSR1"
    return i + 1, dict(kv.split("=", 1) for kv in line.split()[1:])


def compare_stats(before, stats, after, exact):
    for field, series in STATS_MAP.items():
        v = int(stats[field])
        a, b = before[series], after[series]
        if exact:
            ok = a == v == b
        elif field in GAUGES:
            ok = min(a, b) <= v <= max(a, b)
        else:
            ok = a <= v <= b
        check(ok, "stats %s=%d vs %s: %s%s" % (
            field, v, series, a, "" if a == b else " .. %s" % b))
    rtt = float(stats["rtt_ms"])
    n = after["rtmfp_server_rtt_seconds_count"]
    mean = after["rtmfp_server_rtt_seconds_sum"] / n * 1000 if n else 0.0
    if exact:
        check(abs(mean - rtt) < 0.051, "stats rtt_ms=%.1f vs rtt_seconds sum/count %.3f ms" % (rtt, mean))


# ---------------------------------------------------------------------------
# Hammering the metrics port

class Hammer:
    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.results = {}       # kind -> list of statuses
        self.lock = threading.Lock()
        self.threads = []
        self.slow = []

    def note(self, kind, status):
        with self.lock:
            self.results.setdefault(kind, []).append(status)

    def flood(self):
        bad = [
            ("path", b"GET /nothing HTTP/1.1\r\n\r\n", {404}),
            ("method", b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", {405}),
            ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", {400}),
            ("http2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400}),
            ("huge", b"GET /metrics HTTP/1.1\r\nX-A: " + b"a" * 100000 + b"\r\n\r\n", {431, None}),
        ]
        i = 0
        while not self.stop.is_set():
            kind, data, want = bad[i % len(bad)]
            i += 1
            try:
                status, _, _ = http_raw(self.port, data, timeout=10)
            except OSError as e:
                status = "error %s" % e
            self.note(kind, status if status in want else "unexpected %r" % (status,))

    def good(self):
        while not self.stop.is_set():
            try:
                scrape(self.port)
                self.note("good", 200)
            except (AssertionError, OSError, ValueError) as e:
                self.note("good", "failed: %s" % e)
            time.sleep(0.01)

    def slowloris(self, n):
        """n connections that send a request head a byte at a time, never
        finishing; what each got and when"""
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
            s.sendall(b"GET /metr")
            t = time.monotonic()
            self.slow.append([s, t, t, None])     # socket, opened, last drip, answered

        def drip():
            # a byte every 0.5 s, until the server answers (its arrival
            # time noted, to 0.1 s) or the end of the slow phase
            end = time.monotonic() + 15
            while time.monotonic() < end and any(c[3] is None for c in self.slow):
                live = [c for c in self.slow if c[3] is None]
                r, _, _ = select.select([c[0] for c in live], [], [], 0.1)
                now = time.monotonic()
                for c in live:
                    if c[0] in r:
                        c[3] = now
                    elif now - c[2] >= 0.5:
                        c[2] = now
                        try:
                            c[0].sendall(b"i")
                        except OSError:
                            c[3] = now
        self.threads.insert(0, threading.Thread(target=drip, daemon=True))

    def start(self):
        self.slowloris(40)
        for _ in range(2):
            self.threads.append(threading.Thread(target=self.flood, daemon=True))
        self.threads.append(threading.Thread(target=self.good, daemon=True))
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads[1:]:
            t.join(15)

    def finish_slow(self):
        self.threads[0].join(20)

    def slow_outcomes(self):
        """What each slow connection got, and after how long"""
        out = []
        for c in self.slow:
            s = c[0]
            buf = b""
            s.settimeout(2)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            s.close()
            out.append((parse_response(buf)[0] if buf else None,
                        (c[3] - c[1]) if c[3] is not None else None))
        return out


# ---------------------------------------------------------------------------

def frame_times(player):
    return [t for t, l in player.lines.snapshot() if "last-message = chain" in l]


def gaps(times, t0, t1):
    ts = [t for t in times if t0 <= t <= t1]
    if len(ts) < 2:
        return ts, float("inf")
    return ts, max(b - a for a, b in zip(ts, ts[1:]))


def main():
    missing = have_elements(["videotestsrc", "x264enc", "h264parse", "flvmux",
                             "flvdemux", "fakesink", "rtmp2src", "rtmfpsink",
                             "rtmfpsrc"])
    if missing in ("rtmfpsink", "rtmfpsrc"):
        print("FAIL: our plugin was built but %s is not found" % missing)
        return 1
    if missing:
        skip("GStreamer element %s is not available" % missing)
    if subprocess.run(["which", "stdbuf"], capture_output=True).returncode != 0:
        skip("stdbuf (coreutils) is not installed")

    server = subprocess.Popen([SERVER, "--rtmfp", "127.0.0.1:0", "--rtmp", "127.0.0.1:0",
                               "--metrics", "127.0.0.1:0", "--log-format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=die_with_test)
    server.out = Lines(server.stdout)
    server.err = Lines(server.stderr)
    ports = {}
    for proto in ("rtmfp", "rtmp", "metrics"):
        _, line = server.out.wait_for(lambda l, p=proto: l.startswith("listening %s " % p), 0, 10)
        assert line, "the server did not say it listens for %s" % proto
        ports[proto] = int(line.rsplit(":", 1)[1])
    mport = ports["metrics"]
    print("server: %s" % ports)
    out_pos = 3
    players, pub = [], None
    try:
        # before any client: a valid exposition, nothing connected
        m0 = scrape(mport)
        check(m0["rtmfp_server_sessions"] == 0 and m0["rtmfp_server_players"] == 0,
              "an idle server: no session, no player")
        check('rtmfp_server_info{version="%s"}' % subprocess.run(
            [SERVER, "--version"], capture_output=True, text=True).stdout.split()[1] in m0,
            "rtmfp_server_info carries the version")

        loc = "rtmfp://127.0.0.1:%d/live/test" % ports["rtmfp"]
        rtmfp_player = launch("rtmfpsrc location=%s timeout=30 ! flvdemux name=d "
                              "d.video ! fakesink silent=false sync=false" % loc, True)
        rtmp_player = launch("rtmp2src location=rtmp://127.0.0.1:%d/live/test ! "
                             "flvdemux name=d d.video ! fakesink sync=false" % ports["rtmp"])
        players = [rtmfp_player, rtmp_player]
        ok = deadline(20)
        while ok() and scrape(mport)["rtmfp_server_players"] < 2:
            time.sleep(0.1)
        pub = launch("videotestsrc is-live=true num-buffers=450 ! "
                     "video/x-raw,width=320,height=240,framerate=30/1 ! "
                     "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
                     "h264parse ! flvmux streamable=true ! rtmfpsink location=%s" % loc)
        i, _ = rtmfp_player.lines.wait_for(lambda l: "last-message = chain" in l, 0, 20)
        assert i is not None, "the RTMFP player got no frame"
        key = 'rtmfp_server_stream_players{app="live",stream="test",published="true"}'
        ok = deadline(10)
        m = scrape(mport)
        while ok() and key not in m:
            time.sleep(0.05)
            m = scrape(mport)
        check(m.get(key) == 2, "rtmfp_server_stream_players: 2 players of live/test")
        check(m["rtmfp_server_streams"] == 1, "one stream published")

        # during the stream: scrape, stats line, scrape
        time.sleep(1.0)
        before = scrape(mport)
        out_pos, stats = stats_line(server, out_pos)
        time.sleep(0.25)        # past the 100 ms a snapshot is reused
        after = scrape(mport)
        compare_stats(before, stats, after, exact=False)
        check(int(stats["messages_in"]) > 0 and int(stats["relayed"]) > 0,
              "media is being relayed (%s in, %s relayed)" % (stats["messages_in"], stats["relayed"]))

        # frame timing: quiet, then with the metrics port hammered
        t0 = time.monotonic()
        time.sleep(2.0)
        t1 = time.monotonic()
        hammer = Hammer(mport)
        hammer.start()
        time.sleep(6.0)
        t2 = time.monotonic()
        hammer.finish()
        times = frame_times(rtmfp_player)
        quiet, quiet_gap = gaps(times, t0, t1)
        busy, busy_gap = gaps(times, t1, t2)
        print("frames: quiet %d in %.1f s (longest gap %.0f ms), hammered %d in %.1f s "
              "(longest gap %.0f ms)" % (len(quiet), t1 - t0, quiet_gap * 1000,
                                         len(busy), t2 - t1, busy_gap * 1000))
        with hammer.lock:
            res = {k: list(v) for k, v in hammer.results.items()}
        for k, v in sorted(res.items()):
            bad = [x for x in v if not isinstance(x, int) and x is not None]
            print("  %s: %d requests, statuses %s" % (k, len(v), sorted({str(x) for x in v})))
            check(not bad, "hammer %s: every answer as expected (%d)" % (k, len(v)))
        check(res.get("good") and all(x == 200 for x in res["good"]),
              "good scrapes during the hammering all answered 200 (%d)" % len(res.get("good", [])))
        check(len(busy) >= 0.8 * 30 * (t2 - t1),
              "frames keep coming while the metrics port is hammered: %d in %.1f s" % (len(busy), t2 - t1))
        check(busy_gap <= 0.5, "no gap over 500 ms while hammered (longest %.0f ms)" % (busy_gap * 1000))

        # the slow requests: 408 (or closed) at the 5 s limit
        hammer.finish_slow()
        outcomes = hammer.slow_outcomes()
        check(all(o[0] in (408, None) for o in outcomes),
              "slow partial requests get 408 or are closed: %s" % sorted({str(o[0]) for o in outcomes}))
        times = [o[1] for o in outcomes]
        check(all(t is not None and 4.5 <= t <= 7.0 for t in times),
              "... after the 5 s limit: %.1f to %.1f s" % (
                  min(t or 99 for t in times), max(t or 99 for t in times)))

        # more connections than allowed: the extra ones refused at once
        socks = [http_raw(mport, b"", read=False) for _ in range(70)]
        t_open = time.monotonic()
        refused = set()
        while time.monotonic() - t_open < 2.0 and len(refused) < 6:
            r, _, _ = select.select([s for s in socks if s not in refused], [], [], 0.1)
            for s in r:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                if data.startswith(b"HTTP/1.1 503 ") or data == b"":
                    refused.add(s)
        check(len(refused) >= 6, "connections past the 64th refused at once (%d of 70 "
              "within %.1f s)" % (len(refused), time.monotonic() - t_open))
        for s in socks:
            s.close()

        # the stream ends: the RTMFP player ends (UnpublishNotify), the
        # RTMP player is stopped (RTMP players wait for a republish), the
        # counters settle
        assert pub.wait(40) == 0, "the publisher failed"
        try:
            rtmfp_player.wait(20)
        except subprocess.TimeoutExpired:
            check(False, "the RTMFP player did not end with the stream")
        stop(rtmp_player)
        ok = deadline(20)
        while ok() and scrape(mport)["rtmfp_server_players"] != 0:
            time.sleep(0.2)
        time.sleep(0.5)
        before = scrape(mport)
        out_pos, stats = stats_line(server, out_pos)
        time.sleep(0.25)
        after = scrape(mport)
        if before != after:
            # something still moved (a keepalive): once more
            time.sleep(1.0)
            before = scrape(mport)
            out_pos, stats = stats_line(server, out_pos)
            time.sleep(0.25)
            after = scrape(mport)
        compare_stats(before, stats, after, exact=True)
        n_frames = len(frame_times(rtmfp_player))
        check(n_frames >= 400, "the RTMFP player got %d of 450 frames" % n_frames)
    finally:
        for p in players + ([pub] if pub else []):
            stop(p)
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            rc = "killed (hung)"
    check(rc == 0, "SIGTERM: exit status %r" % rc)

    # --log-format json: one object per line, the events
    server.err.t.join(5)
    lines = [l for _, l in server.err.snapshot()]
    objs = []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            check(False, "a stderr line that is not JSON: %r" % l)
    events = [o for o in objs if "event" in o]
    for o in events:
        print("event: %s" % json.dumps(o, ensure_ascii=False))
    for o in objs:
        if "event" not in o:
            print("log: %s" % json.dumps(o, ensure_ascii=False))

    def has(**kw):
        return any(all(o.get(k) == v for k, v in kw.items()) for o in events)
    check(has(event="connect", protocol="rtmfp", app="live", result="accepted"),
          "event: RTMFP connect accepted")
    check(has(event="connect", protocol="rtmp", app="live", result="accepted"),
          "event: RTMP connect accepted")
    check(has(event="publish", protocol="rtmfp", stream="test", result="started"),
          "event: publish started")
    check(has(event="play", protocol="rtmfp", stream="test", result="started"),
          "event: RTMFP play started")
    check(has(event="play", protocol="rtmp", stream="test", result="started"),
          "event: RTMP play started")
    check(has(event="close", protocol="rtmp"), "event: RTMP close")
    check(sum(1 for o in events if o["event"] == "close" and o["protocol"] == "rtmfp") >= 2,
          "events: RTMFP closes")
    check(all(isinstance(o.get("time"), str) and o["time"].endswith("Z") and
              isinstance(o.get("conn"), int) and re.match(r"^127\.0\.0\.1:\d+$", o.get("peer", ""))
              for o in events), "every event has time, conn and peer")
    check(all("reason" in o for o in events if o["event"] == "close"),
          "every close says why")

    if FAILURES:
        print("%d check(s) failed:" % len(FAILURES))
        for f in FAILURES:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
