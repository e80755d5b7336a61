#!/bin/bash
# Fan-out bench (issue 14, "Relay that scales"): one publisher of about
# 1.07 Mbit/s and N players (25, 50, 100 by default), the relay server's CPU
# per player-Mbit over 20 s, for tools/rtmfp-server always and, side by side,
# for rtmfp-cpp's tcserver when a binary of it is found (TCSERVER, or
# /tmp/rtmfp-cpp/test/tcserver; this project never builds or ships it).
# Each (server, N) pair runs --runs times (default 3), alternating servers,
# so that both see the same load of the shared machine.
#
#   bench/rtmfp-bench-fanout.sh [--players "25 50 100"] [--seconds 20]
#       [--runs 3] [--kbps 1070] [--tag NAME] [--out DIR]
#       [--server-arg ARG]...
#
# Writes bench/results/fanout-TAG.{md,csv} (default tag "latest"), with
# the date, the machine (lscpu), the exact command and the load average.
# The load generator (bench/rtmfp-bench-fanout.c) is one thread: a core of
# its own; the server gets the other.  Needs no root.  Every server it
# starts is stopped on exit.
#
# Environment: BUILD (default /tmp/build-bench), TCSERVER (path of a
# tcserver binary; "none" to skip it).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
COMMAND="bench/rtmfp-bench-fanout.sh $*"
BUILD=${BUILD:-/tmp/build-bench}
PLAYERS="25 50 100"
SECONDS_=20
RUNS=3
KBPS=1070
TAG=latest
OUT=$SRC/bench/results
SARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --players) PLAYERS=$2; shift ;;
    --seconds) SECONDS_=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --kbps) KBPS=$2; shift ;;
    --tag) TAG=$2; shift ;;
    --out) OUT=$2; shift ;;
    --server-arg) SARGS+=(--server-arg "$2"); shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 10 ] || { echo "--runs: 1..10" >&2; exit 2; }

ninja -C "$BUILD" bench/rtmfp-bench-fanout tools/rtmfp-server/rtmfp-server >/dev/null
FANOUT=$BUILD/bench/rtmfp-bench-fanout
SERVER=$BUILD/tools/rtmfp-server/rtmfp-server
TCSERVER=${TCSERVER:-/tmp/rtmfp-cpp/test/tcserver}
[ "$TCSERVER" != none ] && [ -x "$TCSERVER" ] || TCSERVER=
mkdir -p "$OUT"
CSV=$OUT/fanout-$TAG.csv
MD=$OUT/fanout-$TAG.md
LOG=$(mktemp -d /tmp/rtmfp-bench-fanout.XXXXXX)
rm -f "$CSV"

TC_PID=
stop_tc() {
  # SIGTERM (a background job ignores SIGINT), then SIGKILL after 5 s
  local i=0
  [ -n "$TC_PID" ] || return 0
  kill -TERM "$TC_PID" 2>/dev/null || true
  while kill -0 "$TC_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$TC_PID" 2>/dev/null || true
  wait "$TC_PID" 2>/dev/null || true
  TC_PID=
}
cleanup() { stop_tc; }
trap cleanup EXIT
trap 'exit 130' INT TERM

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
FAILED=0
for n in $PLAYERS; do
  for run in $(seq 1 "$RUNS"); do
    echo "== rtmfp-server, $n players, run $run" >&2
    "$FANOUT" --players "$n" --seconds "$SECONDS_" --kbps "$KBPS" \
      --server-cmd "$SERVER" "${SARGS[@]}" --csv "$CSV" \
      > "$LOG/ours-$n-$run.md" 2> "$LOG/ours-$n-$run.err" || {
        echo "FAILED: rtmfp-server, $n players:" >&2; cat "$LOG/ours-$n-$run.err" >&2; FAILED=1; }
    if [ -n "$TCSERVER" ]; then
      echo "== tcserver, $n players, run $run" >&2
      port=$((20000 + RANDOM % 20000))
      "$TCSERVER" -B "127.0.0.1:$port" -t 1 > "$LOG/tc-$n-$run.server" 2>&1 &
      TC_PID=$!
      sleep 0.5
      "$FANOUT" --players "$n" --seconds "$SECONDS_" --kbps "$KBPS" \
        --server "127.0.0.1:$port" --server-pid "$TC_PID" --csv "$CSV" \
        > "$LOG/tc-$n-$run.md" 2> "$LOG/tc-$n-$run.err" || {
          echo "FAILED: tcserver, $n players:" >&2; cat "$LOG/tc-$n-$run.err" >&2; FAILED=1; }
      stop_tc
    fi
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# Fan-out: server CPU per player-Mbit"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any)."
  echo
  echo "Command: \`$COMMAND\` (BUILD=$BUILD${TCSERVER:+, tcserver: $TCSERVER})"
  echo
  echo "Machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(uname -r). Load average (1/5/15 min) at the start $LOAD0, at the end $LOAD1 (a shared machine: other engineers' builds and tests ran too)."
  echo
  echo "One publisher of ${KBPS} kbit/s (30 fps video, keyframe every 2 s, 50 audio frames/s), N players, each an RTMFP NetConnection client of this project's core on its own UDP socket on 127.0.0.1, all in one load-generator thread. Server CPU: user + system of the server process (/proc) over ${SECONDS_} s after every player streams and 2 s of warm-up. ms per player-Mbit = server CPU ms / (sum of the Mbit the players received, message bytes). Players per core = 1000 / (ms per player-Mbit x Mbit/s per player)."
  echo
  python3 - "$CSV" <<'EOF'
import csv, sys, statistics
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    srv = "tcserver (rtmfp-cpp)" if "tcserver" in r["server"] or ":" in r["server"] else "rtmfp-server"
    by.setdefault((srv, int(r["players"])), []).append(r)
print("| server | players | server CPU ms per player-Mbit (runs) | median | server CPU (cores, median) | player Mbit/s | players per core at 1.07 Mbit/s | load generator (cores) | gaps |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for (srv, n) in sorted(by, key=lambda k: (k[1], k[0] != "rtmfp-server")):
    rs = by[(srv, n)]
    per = [float(r["server_ms_per_player_mbit"]) for r in rs]
    med = statistics.median(per)
    mbit = statistics.median(float(r["player_mbit_min"]) for r in rs)
    print("| %s | %d | %s | **%.2f** | %.3f | %.3f | %.0f | %.2f | %s |" % (
        srv, n, " / ".join("%.2f" % p for p in per), med,
        statistics.median(float(r["server_cores"]) for r in rs), mbit,
        1000.0 / (med * 1.07), statistics.median(float(r["generator_cores"]) for r in rs),
        "/".join(r["gaps"] for r in rs)))
EOF
} > "$MD"
cat "$MD"
echo "results: $MD, $CSV; logs: $LOG" >&2
[ "$FAILED" = 0 ] || { echo "FAILED: some runs failed (above)" >&2; exit 1; }
