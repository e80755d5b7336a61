#!/usr/bin/env python3
# Plots the CSV files the benchmarks wrote into bench/results/ as PNGs.
#
#   bench/plot.py [RESULTS_DIR]
#
# Needs matplotlib (Debian: python3-matplotlib).  Missing CSVs are skipped.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_crypto(d):
    path = os.path.join(d, "crypto.csv")
    if not os.path.exists(path):
        return
    rows = read(path)
    names = [r["operation"] for r in rows]
    mbit = [float(r["Mbitps"]) for r in rows]
    colors = ["tab:red" if n.startswith("LIMIT") else
              "tab:green" if n.startswith("rtmfp_") else "tab:gray"
              for n in names]
    fig, ax = plt.subplots(figsize=(9, 6))
    ax.barh(range(len(names)), mbit, color=colors)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Mbit/s of 1160-byte plain packets, one core")
    ax.set_title("RTMFP packet protection: primitives, limit (red), ours (green)")
    for i, v in enumerate(mbit):
        ax.text(v, i, " %.0f" % v, va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "crypto.png"), dpi=100)
    plt.close(fig)


def plot_throughput(d):
    path = os.path.join(d, "throughput-samples.csv")
    if not os.path.exists(path):
        return
    rows = read(path)
    t = [float(r["t_s"]) for r in rows]
    g = [float(r["goodput_mbitps"]) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t, g, label="RTMFP, one session (goodput)")
    summ = os.path.join(d, "throughput-summary.csv")
    if os.path.exists(summ):
        s = read(summ)[0]
        for key, label, style in (
                ("limit_enc_mbitps", "crypto limit, encrypt side (1 core)", "--"),
                ("limit_both_mbitps", "crypto limit, enc + dec on 1 core", ":")):
            v = float(s[key])
            if v > 0:
                ax.axhline(v, linestyle=style, color="tab:red", label=label)
    srt = os.path.join(d, "srt.csv")
    if os.path.exists(srt):
        by = {}
        for r in read(srt):
            if r["mode"] == "file":
                by.setdefault(r["crypto"], []).append(
                    float(r["goodput_mbitps"]))
        for crypto, v in sorted(by.items()):
            ax.axhline(sum(v) / len(v), linestyle="-.",
                       color="tab:purple" if crypto != "none" else "tab:pink",
                       label="SRT file mode, %s (mean of %d runs)"
                       % (crypto, len(v)))
    ax.set_xlabel("seconds")
    ax.set_ylabel("Mbit/s")
    ax.set_ylim(bottom=0)
    ax.set_title("Loopback goodput over time")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "throughput.png"), dpi=100)
    plt.close(fig)


def plot_scale(d):
    path = os.path.join(d, "scale-checkpoints.csv")
    if not os.path.exists(path):
        return
    rows = read(path)
    n = [int(r["sessions"]) for r in rows]
    rss = [int(r["server_rss_kib"]) / 1024 for r in rows]
    heap = [float(r["server_heap_kib"]) / 1024 for r in rows]
    cpu = [float(r["server_cpu_ms_per_hs"]) for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    a1.plot(n, rss, marker="o", label="server RSS")
    a1.plot(n, heap, marker=".", label="server heap in use (mallinfo2)")
    a1.plot(n, [rss[0] + x * 50 / 1024 for x in n], linestyle="--",
            color="tab:red", label="budget: 50 KiB per session")
    a1.set_xlabel("sessions held")
    a1.set_ylabel("MiB")
    a1.set_title("Server memory vs sessions")
    a1.legend(fontsize=8)
    a2.plot(n[1:], cpu[1:], marker="o", color="tab:green")
    a2.set_xlabel("sessions held")
    a2.set_ylabel("server CPU ms per handshake")
    a2.set_ylim(bottom=0)
    a2.set_title("Handshake cost vs sessions already held")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "scale.png"), dpi=100)
    plt.close(fig)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results")
    plot_crypto(d)
    plot_throughput(d)
    plot_scale(d)


if __name__ == "__main__":
    main()
