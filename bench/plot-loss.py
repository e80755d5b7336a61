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
import sys

WARMUP = 3.0
COOLDOWN = 1.0
DEADLINE_MS = 400.0
FRAME_MS = 1000.0 / 30


def read_log(path):
    """[(kind, ts, key, size, t_us, encoded_us, captured_us)] of audio and
    video frames (the receiver's have t_us for all three)"""
    out = []
    try:
        f = open(path)
    except OSError:
        return out
    with f:
        for line in f:
            p = line.split()
            if len(p) not in (5, 7) or p[0] not in ("A", "V"):
                continue
            kind, ts, key, size, t = p[0], int(p[1]), int(p[2]), int(p[3]), int(p[4])
            enc, cap = (int(p[5]), int(p[6])) if len(p) == 7 else (t, t)
            if kind == "A" and ts == 0:
                continue
            out.append((kind, ts, key, size, t, enc, cap))
    return out


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def impair_stats(path):
    """(fwd a->b, drop a->b, fwd b->a, drop b->a) or None"""
    try:
        text = open(path).read()
    except OSError:
        return None
    d = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            d.setdefault(k, []).append(int(v))
    try:
        return d["fwd"][0], d["drop"][0], d["fwd"][1], d["drop"][1]
    except (KeyError, IndexError):
        return None


def longest_gap(times, end_sentinel):
    times = sorted(times)
    if end_sentinel is not None:
        times.append(end_sentinel)
    if len(times) < 2:
        return float("nan")
    return max(b - a for a, b in zip(times, times[1:])) / 1000.0 - FRAME_MS


def analyse(run):
    sent = read_log(run["send_log"])
    recv = read_log(run["recv_log"])
    r = {k: run.get(k, "") for k in ("proto", "loss", "duration", "srt_latency", "rtt",
                                      "burst", "load_start", "load_end", "tcp_cc")}
    r["label"] = label(run)
    if not sent:
        r["error"] = "no sender log"
        return r
    arrival = {}
    for f in recv:
        arrival.setdefault((f[0], f[1]), f[4])
    t0 = sent[0][6] + WARMUP * 1e6
    t1 = sent[-1][6] - COOLDOWN * 1e6
    # first entry per (kind, ts) on the sender side
    seen = set()
    frames = []
    for f in sent:
        if (f[0], f[1]) in seen:
            continue
        seen.add((f[0], f[1]))
        frames.append(f)

    lat = {"A": [], "V": []}
    n = {"A": 0, "V": 0}
    ontime = {"A": 0, "V": 0}
    delivered = {"A": 0, "V": 0}
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
        queued.append((t_sink - t_enc) / 1000.0)
        if kind == "V":
            video_bytes += size
            enc_times.append(t_enc)
            sink_times.append(t_sink)
            last_window_video = (t, a)
        if a is None:
            continue
        ms = (a - t) / 1000.0
        lat[kind].append(ms)
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
    both = lat["A"] + lat["V"]
    r.update({
        "audio_frames": n["A"], "video_frames": n["V"],
        "video_kbps": video_bytes * 8 / window_s / 1000 if window_s > 0 else 0,
        "p50_ms": pct(both, 50), "p99_ms": pct(both, 99),
        "audio_p50_ms": pct(lat["A"], 50), "audio_p99_ms": pct(lat["A"], 99),
        "video_p50_ms": pct(lat["V"], 50), "video_p99_ms": pct(lat["V"], 99),
        "max_ms": max(both) if both else float("nan"),
        "encoder_gap_ms": longest_gap(enc_times, None),
        "sink_gap_ms": longest_gap(sink_times, None),
        "sender_queue_p99_ms": pct(queued, 99),
        "stall_ms": longest_gap(video_times, sentinel),
        "decodable_stall_ms": longest_gap(dec_times, sentinel if len(dec_times) else None),
        "audio_ontime_pct": 100.0 * ontime["A"] / n["A"] if n["A"] else float("nan"),
        "audio_delivered_pct": 100.0 * delivered["A"] / n["A"] if n["A"] else float("nan"),
        "video_ontime_pct": 100.0 * ontime["V"] / n["V"] if n["V"] else float("nan"),
        "video_delivered_pct": 100.0 * delivered["V"] / n["V"] if n["V"] else float("nan"),
        "video_decodable_ontime_pct": 100.0 * dec_ontime / n["V"] if n["V"] else float("nan"),
    })
    st = impair_stats(run["impair"])
    if st:
        fa, da, fb, db = st
        r["link_drop_up_pct"] = 100.0 * da / (fa + da) if fa + da else 0
        r["link_drop_down_pct"] = 100.0 * db / (fb + db) if fb + db else 0
        r["link_packets_up"] = fa + da
    return r


def label(run):
    """protocol, with the TCP congestion control for RTMP when known"""
    if run["proto"] == "rtmp" and run.get("tcp_cc"):
        return "rtmp-" + run["tcp_cc"]
    return run["proto"]


def name(lab):
    if lab.startswith("rtmp-"):
        return "RTMP/TCP %s (via rtmfp-server)" % lab[5:]
    return NAMES.get(lab, lab)


def f0(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.0f" % v


def f1(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.1f" % v


COLS = ["proto", "tcp_cc", "loss", "duration", "rtt", "burst", "srt_latency", "load_start", "load_end",
        "link_drop_up_pct", "link_drop_down_pct", "link_packets_up", "video_kbps",
        "audio_frames", "video_frames", "p50_ms", "p99_ms", "max_ms", "audio_p50_ms",
        "audio_p99_ms", "video_p50_ms", "video_p99_ms", "stall_ms", "decodable_stall_ms",
        "encoder_gap_ms", "sink_gap_ms", "sender_queue_p99_ms",
        "audio_ontime_pct", "audio_delivered_pct", "video_ontime_pct",
        "video_delivered_pct", "video_decodable_ontime_pct", "error"]

NAMES = {"rtmfp": "RTMFP (via rtmfp-server)", "rtmp": "RTMP/TCP (via rtmfp-server)",
         "srt": "SRT (direct)"}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = {}
    for m in sys.argv[1:-1]:
        for r in csv.DictReader(open(m)):
            runs[(label(r), r["loss"])] = r
    order = {"rtmfp": 0, "rtmp": 1, "srt": 2}
    keys = sorted(runs, key=lambda k: (float(k[1]), order.get(k[0].split("-")[0], 9), k[0]))
    res = [analyse(runs[k]) for k in keys]
    prefix = sys.argv[-1]
    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLS, extrasaction="ignore")
        w.writeheader()
        for r in res:
            w.writerow({k: (("%.2f" % v) if isinstance(v, float) else v)
                        for k, v in r.items()})

    print("On time: latency <= %d ms. Latency: frame captured (live source timestamp) -> "
          "leaves the receiving source element (into flvdemux). Window: %g s after the "
          "first frame to %g s before the last. p50/p99 over delivered audio and video "
          "frames. Stall: longest gap between video frames at the receiver minus 33 ms; "
          "decodable: counting only frames whose references all arrived. Encoder hiccup: "
          "the longest gap between video frames leaving the encoder minus 33 ms (CPU "
          "starvation on the shared machine; the receiver cannot do better than that)." %
          (DEADLINE_MS, WARMUP, COOLDOWN))
    print()
    print("| protocol | loss | link drops measured | p50 ms | p99 ms | audio p99 ms | "
          "longest stall ms | decodable stall ms | audio on time | audio delivered | "
          "video on time | video delivered | video decodable on time | encoder hiccup ms | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res:
        if r.get("error"):
            print("| %s | %s%% | | %s | | | | | | | | | | | |" %
                  (name(r["label"]), r["loss"], r["error"]))
            continue
        print("| %s | %s%% | %s%% | %s | %s | %s | %s | %s | %s%% | %s%% | %s%% | %s%% | "
              "%s%% | %s | %s-%s |" % (
                  name(r["label"]), r["loss"],
                  f1(r.get("link_drop_up_pct")), f0(r["p50_ms"]), f0(r["p99_ms"]),
                  f0(r["audio_p99_ms"]), f0(r["stall_ms"]), f0(r["decodable_stall_ms"]),
                  f1(r["audio_ontime_pct"]), f1(r["audio_delivered_pct"]),
                  f1(r["video_ontime_pct"]), f1(r["video_delivered_pct"]),
                  f1(r["video_decodable_ontime_pct"]), f0(r["encoder_gap_ms"]),
                  r["load_start"], r["load_end"]))
    print()
    for r in res:
        if r.get("proto") == "rtmfp" and str(r.get("loss")) == "5" and not r.get("error"):
            ok_p99 = r["p99_ms"] < 400
            ok_stall = r["stall_ms"] <= 200
            ok_audio = r["audio_ontime_pct"] >= 95
            print("Targets at 5%% loss (RTMFP): p99 < 400 ms: %s (%s ms); no stall > 200 ms: "
                  "%s (%s ms; decodable %s ms); >= 95%% audio on time: %s (%s%%)." % (
                      "met" if ok_p99 else "MISSED", f0(r["p99_ms"]),
                      "met" if ok_stall else "MISSED", f0(r["stall_ms"]),
                      f0(r["decodable_stall_ms"]), "met" if ok_audio else "MISSED",
                      f1(r["audio_ontime_pct"])))
    plot(res, prefix + ".png")


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: apt-get install python3-matplotlib; no plot)",
              file=sys.stderr)
        return
    panels = [("p99_ms", "p99 latency (ms)", True), ("stall_ms", "longest stall (ms)", True),
              ("audio_ontime_pct", "audio on time (%, <= 400 ms)", False),
              ("video_ontime_pct", "video on time (%, <= 400 ms)", False)]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    protos = []
    for r in res:
        if r["label"] not in protos:
            protos.append(r["label"])
    for ax, (key, title, logy) in zip(axes, panels):
        for p in protos:
            pts = sorted((float(r["loss"]), r.get(key, float("nan"))) for r in res
                         if r["label"] == p and not r.get("error"))
            if pts:
                ax.plot([x for x, _ in pts], [max(y, 1) if logy else y for _, y in pts],
                        marker="o", label=name(p))
        if key == "p99_ms":
            ax.axhline(400, color="grey", ls="--", lw=0.8)
        if key == "stall_ms":
            ax.axhline(200, color="grey", ls="--", lw=0.8)
        if key == "audio_ontime_pct":
            ax.axhline(95, color="grey", ls="--", lw=0.8)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("random loss each way (%), 30 ms RTT")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("H.264 1.5 Mbit/s + Speex over an impaired link: RTMFP vs RTMP/TCP vs SRT")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
