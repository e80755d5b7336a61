#!/usr/bin/env python3
"""Analyses the loss bench (bench/rtmfp-bench-loss.sh) and plots it.

    plot-loss.py MANIFEST.csv [MANIFEST.csv...] OUT_PREFIX

MANIFEST lists one run per line (proto, loss, the sender's and receiver's
per-frame logs of bench/rtmfp-bench-loss, the link's counters, ...); with
several, a later run of the same protocol and loss replaces an earlier one
(to redo part of a matrix).  Writes
OUT_PREFIX.csv (one row per run), prints a markdown table on stdout and, when
matplotlib is there, writes OUT_PREFIX.png.

Definitions (all times CLOCK_MONOTONIC, shared by both processes):
* a frame is an FLV audio or video tag (codec headers and script data are
  left out, and so are audio tags with timestamp 0, which the Speex headers
  share); sender and receiver frames are matched by (kind, FLV timestamp);
* only frames captured between WARMUP s after the first frame
  and COOLDOWN s before the last count (connection set-up and the sender's
  shutdown are not what is measured);
* latency: arrival at the receiver (the tag leaves the source element,
  enters flvdemux) minus capture (the live source's base time + PTS,
  for audio too, as audiotestsrc pushes each buffer then): it includes encoding, muxing and any wait
  before the sink (a blocked TCP sink makes frames wait there);
* on time: latency <= DEADLINE_MS (400 ms); delivered: arrived at all;
* longest stall: the largest gap between consecutive video frames arriving
  at the receiver (in arrival order, within the measured window; when the
  window's last frames never arrive, the gap runs to the last frame's send
  time + DEADLINE_MS), minus the nominal frame interval (1/30 s);
* decodable: a video frame whose every predecessor since its keyframe was
  delivered too (H.264 needs its references); it can be shown once the last
  of them has arrived.  "decodable stall" is the longest stall counted on
  those times.
"""
import csv
import math
import re
import sys

WARMUP = 3.0
COOLDOWN = 1.0
DEADLINE_MS = 400.0
FRAME_MS = 1000.0 / 30


def read_log(path):
    """(frames, elementary, offset): frames [(kind, ts, key, size, t_us,
    encoded_us, captured_us)] of FLV-level audio and video frames (the
    receiver's have t_us for all three); elementary {(kind, ts): t_us} of
    what a receiver's RTMFP elementary pads gave the decoders (their
    lines carry the DTS, the "O" line the offset to the FLV timestamp)"""
    out = []
    elem_raw = []
    offset = None
    try:
        f = open(path)
    except OSError:
        return out, {}
    with f:
        for line in f:
            p = line.split()
            if len(p) == 2 and p[0] == "O":
                offset = int(p[1])
                continue
            if len(p) == 5 and p[0] in ("v", "a"):
                elem_raw.append((p[0].upper(), int(p[1]), int(p[4])))
                continue
            if len(p) not in (5, 7) or p[0] not in ("A", "V"):
                continue
            kind, ts, key, size, t = p[0], int(p[1]), int(p[2]), int(p[3]), int(p[4])
            enc, cap = (int(p[5]), int(p[6])) if len(p) == 7 else (t, t)
            if kind == "A" and ts == 0:
                continue
            out.append((kind, ts, key, size, t, enc, cap))
    elem = {}
    if offset is not None:
        for kind, dts, t in elem_raw:
            elem.setdefault((kind, int(round((dts - offset) / 1e6))), t)
    return out, elem


def read_stats(path):
    """The RTMFP sender's stats lines: [(t_us, {field: number})]"""
    out = []
    try:
        f = open(path)
    except OSError:
        return out
    with f:
        for line in f:
            m = re.match(r"send stats: t=(\d+) (.*)", line)
            if not m:
                continue
            d = {}
            for k, v in re.findall(r"([a-z-]+)=\((?:guint64|guint|uint|gdouble|double)\)([0-9.e+-]+)",
                                   m.group(2)):
                d[k] = float(v)
            out.append((int(m.group(1)), d))
    return out


def read_cross(path, t0, t1):
    """kbit/s the competing TCP flow got between t0 and t1 (µs)"""
    pts = []
    try:
        for line in open(path):
            p = line.split()
            if len(p) == 2:
                pts.append((int(p[0]), int(p[1])))
    except (OSError, ValueError):
        return None
    inside = [x for x in pts if t0 <= x[0] <= t1]
    if len(inside) < 2:
        return None
    (ta, ba), (tb, bb) = inside[0], inside[-1]
    return (bb - ba) * 8 / ((tb - ta) / 1e6) / 1000 if tb > ta else None


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    if math.isinf(v[hi]):
        return v[hi]
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def impair_stats(path):
    """[{fwd, drop, qdrop, overflow} a->b, {...} b->a] or None"""
    try:
        text = open(path).read()
    except OSError:
        return None
    dirs = []
    for tok in text.split():
        if tok in ("a->b", "b->a"):
            dirs.append({})
        elif "=" in tok and dirs:
            k, v = tok.split("=", 1)
            dirs[-1][k] = int(v)
    return dirs if len(dirs) == 2 and "fwd" in dirs[0] else None


def longest_gap(times, end_sentinel):
    times = sorted(times)
    if end_sentinel is not None:
        times.append(end_sentinel)
    if len(times) < 2:
        return float("nan")
    return max(b - a for a, b in zip(times, times[1:])) / 1000.0 - FRAME_MS


KEYS = ("proto", "loss", "duration", "srt_latency", "rtt", "burst", "load_start",
        "load_end", "tcp_cc", "rate", "cross", "run")


def analyse(run):
    sent, _ = read_log(run["send_log"])
    recv, elem = read_log(run["recv_log"])
    r = {k: run.get(k, "") for k in KEYS}
    r["label"] = label(run)
    r["cell"] = cell_of(run)
    # a process that failed is reported (loudly, bench/rtmfp-bench-loss.sh
    # exits 1), and what it delivered until then is still measured: e.g.
    # rtmp2sink gives up after 5 s of a stalled TCP connection
    notes = []
    if run.get("send_rc", "0") not in ("", "0"):
        notes.append("sender failed (exit %s)%s" % (run["send_rc"], first_error(run.get("send_out"))))
    if run.get("recv_rc", "0") not in ("", "0"):
        notes.append("receiver failed%s" % first_error(run.get("recv_out")))
    if notes:
        r["note"] = "; ".join(notes)
    if r.get("note") and (not sent or not recv or all(f[0] != "V" for f in sent)):
        # the sender failed before its stream got anywhere: everything
        # it was meant to send is lost (not an empty measurement)
        return all_lost(r, run)
    if not sent:
        r["error"] = r.get("error") or "EMPTY: no sender log"
        return r
    if not recv:
        r["error"] = r.get("error") or "EMPTY: nothing received"
        return r
    # transport: every tag that came out of the source element (FLV);
    # player: what the decoders got (RTMFP's elementary pads drop video
    # after a loss until the next keyframe); the same for RTMP and SRT
    transport = {}
    for f in recv:
        transport.setdefault((f[0], f[1]), f[4])
    arrival = elem if elem else transport
    r["player_view"] = "elementary pads" if elem else "FLV"
    t0 = sent[0][6] + WARMUP * 1e6
    t1 = sent[-1][6] - COOLDOWN * 1e6
    if r.get("note") and run.get("duration"):
        # the sender died: the window is the run it was meant to make,
        # and the frames it never sent count as not delivered
        t1 = max(t1, sent[0][6] + (float(run["duration"]) - COOLDOWN) * 1e6)
    # first entry per (kind, ts) on the sender side
    seen = set()
    frames = []
    for f in sent:
        if (f[0], f[1]) in seen:
            continue
        seen.add((f[0], f[1]))
        frames.append(f)

    lat = {"A": [], "V": []}
    lat_sent = {"A": [], "V": []}       # undelivered frames count as infinite
    n = {"A": 0, "V": 0}
    ontime = {"A": 0, "V": 0}
    delivered = {"A": 0, "V": 0}
    tdelivered = {"A": 0, "V": 0}
    keys_sent = keys_arrived = 0
    # decodability over the whole video sequence (a frame's chain may start
    # before the window)
    chain_ok = False
    chain_ready = 0
    dec_times = []
    dec_ontime = 0
    video_times = []
    last_window_video = None
    video_bytes = 0
    enc_times = []
    sink_times = []
    queued = []
    for kind, ts, key, size, t_sink, t_enc, t in frames:
        a = arrival.get((kind, ts))
        if kind == "V":
            if key:
                chain_ok = True
                chain_ready = 0
            chain_ok = chain_ok and a is not None
            if chain_ok:
                chain_ready = max(chain_ready, a)
        if not (t0 <= t <= t1):
            continue
        n[kind] += 1
        if (kind, ts) in transport:
            tdelivered[kind] += 1
        queued.append((t_sink - t_enc) / 1000.0)
        if kind == "V":
            video_bytes += size
            enc_times.append(t_enc)
            sink_times.append(t_sink)
            last_window_video = (t, a)
            if key:
                keys_sent += 1
                keys_arrived += (kind, ts) in transport
        if a is None:
            lat_sent[kind].append(float("inf"))
            continue
        ms = (a - t) / 1000.0
        lat[kind].append(ms)
        lat_sent[kind].append(ms)
        delivered[kind] += 1
        if ms <= DEADLINE_MS:
            ontime[kind] += 1
        if kind == "V":
            video_times.append(a)
            if chain_ok:
                dec_times.append(chain_ready)
                if (chain_ready - t) / 1000.0 <= DEADLINE_MS:
                    dec_ontime += 1
    sentinel = None
    if last_window_video and last_window_video[1] is None:
        sentinel = last_window_video[0] + DEADLINE_MS * 1000
    window_s = (t1 - t0) / 1e6
    if r.get("note"):
        for kind, rate in (("V", 30.0), ("A", 50.0)):
            missing = int(window_s * rate) - n[kind]
            if missing > 0:
                n[kind] += missing
                lat_sent[kind].extend([float("inf")] * missing)
        if last_window_video:
            sentinel = max(sentinel or 0, t1 + DEADLINE_MS * 1000)
    both = lat["A"] + lat["V"]
    if n["V"] == 0:
        r["error"] = r.get("error") or "EMPTY: no video frame in the window"
    r.update({
        "audio_frames": n["A"], "video_frames": n["V"],
        "video_kbps": video_bytes * 8 / window_s / 1000 if window_s > 0 else 0,
        "p50_ms": pct(both, 50), "p99_ms": pct(both, 99),
        "audio_p50_ms": pct(lat["A"], 50), "audio_p99_ms": pct(lat["A"], 99),
        "video_p50_ms": pct(lat["V"], 50), "video_p99_ms": pct(lat["V"], 99),
        "video_p99_sent_ms": pct(lat_sent["V"], 99),
        "audio_p99_sent_ms": pct(lat_sent["A"], 99),
        "max_ms": max(both) if both else float("nan"),
        "encoder_gap_ms": longest_gap(enc_times, None),
        "sink_gap_ms": longest_gap(sink_times, None),
        "sender_queue_p99_ms": pct(queued, 99),
        "stall_ms": longest_gap(video_times, sentinel) if video_times else window_s * 1000,
        "decodable_stall_ms": longest_gap(dec_times, sentinel if len(dec_times) else None),
        "audio_ontime_pct": 100.0 * ontime["A"] / n["A"] if n["A"] else float("nan"),
        "audio_delivered_pct": 100.0 * delivered["A"] / n["A"] if n["A"] else float("nan"),
        "video_ontime_pct": 100.0 * ontime["V"] / n["V"] if n["V"] else float("nan"),
        "video_delivered_pct": 100.0 * delivered["V"] / n["V"] if n["V"] else float("nan"),
        "video_transport_pct": 100.0 * tdelivered["V"] / n["V"] if n["V"] else float("nan"),
        "video_decodable_ontime_pct": 100.0 * dec_ontime / n["V"] if n["V"] else float("nan"),
        "keyframes_sent": keys_sent, "keyframes_arrived": keys_arrived,
    })
    st = impair_stats(run["impair"])
    if st:
        up, down = st
        tot_up = up["fwd"] + up["drop"] + up.get("qdrop", 0)
        tot_dn = down["fwd"] + down["drop"] + down.get("qdrop", 0)
        r["link_drop_up_pct"] = 100.0 * up["drop"] / tot_up if tot_up else 0
        r["link_drop_down_pct"] = 100.0 * down["drop"] / tot_dn if tot_dn else 0
        r["link_packets_up"] = tot_up
        r["link_drops_up"] = up["drop"]
        r["link_qdrops_up"] = up.get("qdrop", 0)
        r["link_drops_down"] = down["drop"] + down.get("qdrop", 0)
    stats = read_stats(run.get("send_out", ""))
    if stats:
        last = stats[-1][1]
        for k in ("fragments-lost", "fragments-lost-timeout", "loss-probes",
                  "fragments-retransmitted", "loss-episodes", "fragments-lost-spurious"):
            if k in last:
                r[k.replace("-", "_")] = int(last[k])
        rates = [d["rate-estimate-kbps"] for t, d in stats
                 if t0 <= t <= t1 and d.get("rate-estimate-kbps", 0) > 0]
        if rates:
            r["rate_estimate_kbps"] = sum(rates) / len(rates)
            r["rate_estimate_min_kbps"] = min(rates)
    if run.get("cross_log"):
        kbps = read_cross(run["cross_log"], t0, t1)
        if kbps is not None:
            r["cross_kbps"] = kbps
            if float(run.get("rate") or 0) > 0:
                r["cross_share_pct"] = 100.0 * kbps / float(run["rate"])
    return r


def first_error(path):
    """': <the first error line>' of a process's output, or ''"""
    try:
        for line in open(path or ""):
            if "error from" in line or "FAILED" in line:
                m = re.search(r"error from \S+: ([^(]*)", line)
                return ": " + (m.group(1).strip() if m else line.strip())[:80]
    except OSError:
        pass
    return ""


def all_lost(r, run):
    """The measures of a run whose sender failed before its stream got
    through: nothing on time, a stall of the whole window"""
    window = max(float(run.get("duration") or 0) - WARMUP - COOLDOWN, 0)
    r.update({"audio_frames": int(window * 50), "video_frames": int(window * 30),
              "audio_ontime_pct": 0.0, "video_ontime_pct": 0.0,
              "audio_delivered_pct": 0.0, "video_delivered_pct": 0.0,
              "video_transport_pct": 0.0, "video_decodable_ontime_pct": 0.0,
              "video_p99_sent_ms": float("inf"), "audio_p99_sent_ms": float("inf"),
              "stall_ms": window * 1000, "keyframes_sent": int(window / 2),
              "keyframes_arrived": 0})
    return r


def label(run):
    """the variant, with the TCP congestion control for RTMP when known"""
    p = run["proto"]
    if p == "rtmp" and run.get("tcp_cc"):
        return "rtmp-" + run["tcp_cc"]
    if p.startswith("rtmp-") and run.get("tcp_cc") and run["tcp_cc"] != p[5:]:
        return "rtmp-%s(really %s)" % (p[5:], run["tcp_cc"])
    return p


def cell_of(run):
    """the link: (rtt, loss, burst, rate, cross)"""
    return (float(run.get("rtt") or 30), float(run["loss"]), float(run.get("burst") or 1),
            float(run.get("rate") or 0), run.get("cross") or "")


def cell_name(c):
    rtt, loss, burst, rate, cross = c
    s = "%g ms, %g %% %s" % (rtt, loss, "random" if burst <= 1 else "burst (mean %g)" % burst)
    if rate:
        s += ", %g kbit/s bottleneck" % rate
    if cross:
        s += " + TCP bulk (%s)" % cross
    return s


def name(lab):
    if lab.startswith("rtmp-"):
        return "RTMP/TCP %s" % lab[5:]
    return NAMES.get(lab, lab)


def f0(v):
    return "n/a" if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else "%.0f" % v


def f1(v):
    return "n/a" if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else "%.1f" % v


COLS = ["proto", "tcp_cc", "rtt", "loss", "burst", "rate", "cross", "run", "duration",
        "srt_latency", "load_start", "load_end", "player_view",
        "link_drop_up_pct", "link_drop_down_pct", "link_packets_up", "link_drops_up",
        "link_qdrops_up", "link_drops_down", "video_kbps",
        "audio_frames", "video_frames", "p50_ms", "p99_ms", "max_ms", "audio_p50_ms",
        "audio_p99_ms", "video_p50_ms", "video_p99_ms", "video_p99_sent_ms",
        "audio_p99_sent_ms", "stall_ms", "decodable_stall_ms",
        "encoder_gap_ms", "sink_gap_ms", "sender_queue_p99_ms",
        "audio_ontime_pct", "audio_delivered_pct", "video_ontime_pct",
        "video_delivered_pct", "video_transport_pct", "video_decodable_ontime_pct",
        "keyframes_sent", "keyframes_arrived",
        "rate_estimate_kbps", "rate_estimate_min_kbps", "fragments_lost",
        "fragments_lost_timeout", "fragments_lost_spurious", "loss_episodes", "loss_probes",
        "fragments_retransmitted", "cross_kbps", "cross_share_pct", "note", "error"]

NAMES = {"rtmfp": "RTMFP", "rtmfp-tcp": "RTMFP tcp", "rtmfp-media": "RTMFP media",
         "rtmfp-adapt": "RTMFP tcp + adapt", "rtmfp-media-adapt": "RTMFP media + adapt",
         "rtmfp-flv": "RTMFP (FLV pad)", "rtmp": "RTMP/TCP", "srt": "SRT live (direct)"}
ORDER = ["rtmfp", "rtmfp-tcp", "rtmfp-adapt", "rtmfp-media", "rtmfp-media-adapt",
         "rtmfp-flv", "rtmp", "srt"]


def order(lab):
    if lab in ORDER:
        return ORDER.index(lab)
    head = lab.split("-")[0]
    return ORDER.index(head) + 0.5 if head in ORDER else 99


def joined(runs, key, fmt, suffix=""):
    vals = [fmt(r.get(key)) for r in runs]
    return " / ".join(vals) + (suffix if any(v != "n/a" for v in vals) else "")


def checks(cellkey, lab, runs):
    """the issue's "Must show" criteria that apply to this cell and
    variant: [(text, [bool per run])]"""
    rtt, loss, burst, rate, cross = cellkey
    out = []
    ok = [r for r in runs if not r.get("error")]
    if not ok or not lab.startswith("rtmfp"):
        return out

    def each(f):
        return [bool(f(r)) for r in ok]
    adapt = lab.endswith("adapt")
    media = "media" in lab
    if rate and cross:
        if adapt:
            out.append(("video >= 95 % on time, TCP flow >= 40 % of the link",
                        each(lambda r: r["video_ontime_pct"] >= 95 and
                             r.get("cross_share_pct", 0) >= 40)))
        return out
    if adapt:
        out.append(("audio >= 99.5 %, video >= 99 % on time, no stall > 300 ms",
                    each(lambda r: r["audio_ontime_pct"] >= 99.5 and
                         r["video_ontime_pct"] >= 99 and r["stall_ms"] <= 300)))
    elif media and loss >= 10:
        out.append(("video >= 99 % on time (media controller, full rate)",
                    each(lambda r: r["video_ontime_pct"] >= 99)))
    elif not media and rtt <= 30 and loss <= 5:
        out.append(("video >= 99 % on time, video p99 <= 250 ms (of frames sent)",
                    each(lambda r: r["video_ontime_pct"] >= 99 and r["video_p99_sent_ms"] <= 250)))
    elif not media:
        out.append(("graceful: every keyframe arrives, video delivered >= 50 %, no stall > 2 s",
                    each(lambda r: r["keyframes_arrived"] == r["keyframes_sent"] and
                         r["video_delivered_pct"] >= 50 and r["stall_ms"] <= 2000)))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = {}
    for m in sys.argv[1:-1]:
        for r in csv.DictReader(open(m)):
            runs[(label(r), cell_of(r), r.get("run") or "1")] = r
    res = [analyse(runs[k]) for k in runs]
    res.sort(key=lambda r: (r["cell"], order(r["label"]), r["label"], str(r.get("run"))))
    prefix = sys.argv[-1]
    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLS, extrasaction="ignore")
        w.writeheader()
        for r in res:
            w.writerow({k: (("%.2f" % v) if isinstance(v, float) else v)
                        for k, v in r.items() if k != "cell"})

    print("On time: latency <= %d ms, counted over the frames **sent** in the window "
          "(captured %g s after the first frame to %g s before the last). Latency: "
          "frame captured (live source timestamp) -> handed to the receiver's decoders "
          "(RTMFP: out of rtmfpsrc's elementary video/audio pads, which after a loss "
          "give video again from the next keyframe; RTMP, SRT: the FLV byte stream into "
          "flvdemux). Video p99 is over the frames sent (a frame never delivered counts as "
          "infinitely late). Stall: longest gap between video frames at the receiver minus "
          "33 ms. Delivered (transport): reached the receiving element at all. "
          "Runs of a cell are side by side: run 1 / run 2 / run 3." %
          (DEADLINE_MS, WARMUP, COOLDOWN))
    print()
    print("| link | variant | video on time % | audio on time % | video delivered % (transport) "
          "| video p99 ms (of sent) | longest stall ms | keyframes arrived | "
          "rate estimate kbit/s | fragments lost (timeout) / loss probes | "
          "link drops up (random+queue) / down | TCP bulk share % | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    cells = []
    by = {}
    for r in res:
        k = (r["cell"], r["label"])
        if k not in by:
            by[k] = []
            cells.append(k)
        by[k].append(r)
    for k in cells:
        rs = by[k]
        good = [r for r in rs if not r.get("error")]
        errs = ["run %s: %s" % (r.get("run"), r.get("error") or r["note"]) for r in rs
                if r.get("error") or r.get("note")]
        if not good:
            print("| %s | %s | **%s** | | | | | | | | | | |" %
                  (cell_name(k[0]), name(k[1]), "; ".join(errs)))
            continue
        frag = " / ".join("%s (%s) / %s" % (r.get("fragments_lost", "n/a"),
                                            r.get("fragments_lost_timeout", "n/a"),
                                            r.get("loss_probes", "n/a"))
                          if "fragments_lost" in r else "n/a" for r in good)
        drops = " / ".join("%s+%s / %s" % (r.get("link_drops_up", "?"), r.get("link_qdrops_up", "?"),
                                           r.get("link_drops_down", "?")) for r in good)
        print("| %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s |%s" % (
            cell_name(k[0]), name(k[1]),
            joined(good, "video_ontime_pct", f1), joined(good, "audio_ontime_pct", f1),
            joined(good, "video_delivered_pct", f1), joined(good, "video_transport_pct", f1),
            joined(good, "video_p99_sent_ms", lambda v: "inf" if v == float("inf") else f0(v)),
            joined(good, "stall_ms", f0),
            " / ".join("%s of %s" % (r.get("keyframes_arrived"), r.get("keyframes_sent"))
                       for r in good),
            joined(good, "rate_estimate_kbps", f0), frag, drops,
            joined(good, "cross_share_pct", f0),
            " / ".join("%s-%s" % (r["load_start"], r["load_end"]) for r in good),
            (" **%s**" % "; ".join(errs)) if errs else ""))
    print()
    lines = []
    for k in cells:
        for text, oks in checks(k[0], k[1], by[k]):
            lines.append("* %s, %s: %s: **%s** (%d of %d runs)" % (
                cell_name(k[0]), name(k[1]), text,
                "met" if oks and all(oks) else "MISSED", sum(oks), len(oks)))
    if lines:
        print("Targets (issue 14, \"Must show\"), judged per run over the frames sent:")
        print()
        print("\n".join(lines))
        print()
    plot(res, cells, by, prefix + ".png")
    bad = [r for r in res if r.get("error") or r.get("note")]
    if bad:
        print("FAILED or EMPTY runs: %s" % "; ".join(
            "%s, %s, run %s: %s" % (cell_name(r["cell"]), name(r["label"]), r.get("run"),
                                   r.get("error") or r["note"])
            for r in bad))
    if any(r.get("error") for r in res):
        sys.exit(1)


def median(v):
    v = sorted(x for x in v if x is not None and not (isinstance(x, float) and math.isnan(x)))
    return v[len(v) // 2] if v else float("nan")


def plot(res, cells, by, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: apt-get install python3-matplotlib; no plot)",
              file=sys.stderr)
        return
    links = []
    for c, _ in cells:
        if c not in links:
            links.append(c)
    labels = []
    for _, lab in cells:
        if lab not in labels:
            labels.append(lab)
    panels = [("video_ontime_pct", "video on time (%, <= 400 ms, of sent)", False, 99),
              ("audio_ontime_pct", "audio on time (%)", False, 99.5),
              ("stall_ms", "longest video stall (ms)", True, 300),
              ("video_p99_sent_ms", "video p99 latency of sent (ms)", True, 400)]
    fig, axes = plt.subplots(1, 4, figsize=(20, 5.2))
    xs = list(range(len(links)))
    for ax, (key, title, logy, line) in zip(axes, panels):
        for i, lab in enumerate(labels):
            ys = []
            for c in links:
                rs = [r for r in by.get((c, lab), []) if not r.get("error")]
                v = median([min(r.get(key, float("nan")), 1e5) for r in rs])
                ys.append(max(v, 1) if logy and not math.isnan(v) else v)
            off = (i - (len(labels) - 1) / 2) * 0.08
            ax.plot([x + off for x in xs], ys, marker="o", ls="", label=name(lab))
        ax.axhline(line, color="grey", ls="--", lw=0.8)
        if logy:
            ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([cell_name(c).replace(", ", "\n", 1) for c in links],
                           rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("link (RTT, loss each way%s)" % (
            ", bottleneck" if any(c[3] for c in links) else ""))
        ax.set_title(title + " (median of runs)", fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("H.264 1.5 Mbit/s + Speex over an impaired link: RTMFP vs RTMP/TCP vs SRT live")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
