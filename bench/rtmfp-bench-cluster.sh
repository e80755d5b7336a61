#!/bin/bash
# Cluster bench (issue 18): players served per node and per cluster of 3
# rtmfp-server nodes on this machine, and the cost of the upstream relay.
# One publisher of about 1.07 Mbit/s and N players (25, 50, 100 by default),
# CPU over 20 s, in two set-ups, alternated run by run:
#   single   one rtmfp-server (no --cluster): publisher and players on it
#            (the baseline of bench/results/fanout-after.md);
#   cluster  redis-server on loopback and three nodes (--cluster): the
#            publisher on node1, the players round robin on node2 and node3,
#            which each pull the stream from node1 over one upstream session.
# Plus, unless --no-relay, N = 1 in both (the cluster's one player on node2,
# node3 idle) for the cost of the upstream hop itself.
# Each node's, Redis' and the load generator's CPU (user + system, /proc)
# are taken over the same window.  Each cell runs --runs times (default 2).
#
#   bench/rtmfp-bench-cluster.sh [--players "25 50 100"] [--seconds 20]
#       [--runs 2] [--kbps 1070] [--tag NAME] [--out DIR] [--no-relay]
#
# Writes bench/results/cluster-TAG.{md,csv} (default tag "latest"), with
# the date, the machine (lscpu), the exact command and the load average.
# All nodes, Redis and the load generator share this machine's cores: the
# cluster total is a cost, not a capacity gain.  Needs no root; needs
# redis-server and an rtmfp-server built with hiredis.  Every process it
# starts is stopped on exit; each load-generator run is bounded (timeout).
#
# Environment: BUILD (default /tmp/build-bench), REDIS_SERVER (default
# redis-server from PATH).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
COMMAND="bench/rtmfp-bench-cluster.sh $*"
BUILD=${BUILD:-/tmp/build-bench}
PLAYERS="25 50 100"
SECONDS_=20
RUNS=2
KBPS=1070
TAG=latest
OUT=$SRC/bench/results
RELAY=1
while [ $# -gt 0 ]; do
  case $1 in
    --players) PLAYERS=$2; shift ;;
    --seconds) SECONDS_=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --kbps) KBPS=$2; shift ;;
    --tag) TAG=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-relay) RELAY=0 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 10 ] || { echo "--runs: 1..10" >&2; exit 2; }
[ "$SECONDS_" -ge 1 ] && [ "$SECONDS_" -le 600 ] || { echo "--seconds: 1..600" >&2; exit 2; }
for n in $PLAYERS; do
  [ "$n" -ge 2 ] && [ "$n" -le 1000 ] || { echo "--players: 2..1000 each" >&2; exit 2; }
done
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || true)}
[ -n "$REDIS_SERVER" ] && [ -x "$REDIS_SERVER" ] || {
  echo "no redis-server (Debian package redis-server; or set REDIS_SERVER)" >&2; exit 1; }

ninja -C "$BUILD" bench/rtmfp-bench-fanout tools/rtmfp-server/rtmfp-server >/dev/null
FANOUT=$BUILD/bench/rtmfp-bench-fanout
SERVER=$BUILD/tools/rtmfp-server/rtmfp-server
mkdir -p "$OUT"
CSV=$OUT/cluster-$TAG.csv
MD=$OUT/cluster-$TAG.md
LOG=$(mktemp -d /tmp/rtmfp-bench-cluster.XXXXXX)
RAW=$LOG/raw.csv
rm -f "$CSV"

PIDS=()        # every process started here, stopped by stop_all
stop_pid() {
  # SIGTERM, then SIGKILL after 5 s
  local pid=$1 i=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  # nodes first (they deregister from Redis), Redis last
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  PIDS=()
}
cleanup() { stop_all; [ -n "${REDIS_PID:-}" ] && stop_pid "$REDIS_PID"; true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE PATTERN: up to 10 s for a line matching PATTERN
wait_line() {
  local i=0
  while [ $i -lt 100 ]; do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "no '$2' in $1 within 10 s:" >&2; cat "$1" >&2; return 1
}

# Redis on a free loopback port (a few tries), no persistence
REDIS_PID=
for try in 1 2 3 4 5; do
  RPORT=$((20000 + RANDOM % 20000))
  "$REDIS_SERVER" --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
    > "$LOG/redis.log" 2>&1 &
  REDIS_PID=$!
  if wait_line "$LOG/redis.log" "Ready to accept connections" 2>/dev/null; then break; fi
  stop_pid "$REDIS_PID"; REDIS_PID=
done
[ -n "$REDIS_PID" ] || { echo "redis-server did not start:" >&2; cat "$LOG/redis.log" >&2; exit 1; }

# start_node NAME LOGFILE [ARGS]...: sets NODE_PID, NODE_ADDR
start_node() {
  local name=$1 log=$2
  shift 2
  "$SERVER" --rtmfp 127.0.0.1:0 "$@" > "$log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  wait_line "$log" "^listening rtmfp "
  NODE_ADDR=$(sed -n 's/^listening rtmfp //p' "$log" | head -n1)
  [ "$name" = single ] || wait_line "$log" "^cluster node $name\$"
}

FAILED=0
# run_cell SETUP N RUN
run_cell() {
  local setup=$1 n=$2 run=$3 base=$LOG/$1-$2-$3 pub pubpid
  local extra=() measure=()
  echo "== $setup, $n players, run $run" >&2
  if [ "$setup" = single ]; then
    start_node single "$base.node"
    pub=$NODE_ADDR; pubpid=$NODE_PID
  else
    local url=redis://127.0.0.1:$RPORT/0 k
    for k in 1 2 3; do
      start_node "node$k" "$base.node$k" --cluster "$url" --node-name "node$k"
      measure+=(--measure-pid "$NODE_PID")
      [ $k = 1 ] && { pub=$NODE_ADDR; pubpid=$NODE_PID; }
      # players on node2 and node3; the relay cell's one player on node2
      if [ $k = 2 ] || { [ $k = 3 ] && [ "$n" -gt 1 ]; }; then
        extra+=(--player-server "$NODE_ADDR")
      fi
    done
  fi
  measure+=(--measure-pid "$REDIS_PID")
  if timeout -s TERM $((SECONDS_ + 150)) "$FANOUT" --players "$n" \
      --seconds "$SECONDS_" --kbps "$KBPS" --stream "bench$n-$run" \
      --server "$pub" --server-pid "$pubpid" "${extra[@]}" "${measure[@]}" \
      --csv "$base.csv" > "$base.md" 2> "$base.err"; then
    sed "1d; s/^/$setup,$run,/" "$base.csv" >> "$RAW"
  else
    echo "FAILED: $setup, $n players, run $run:" >&2; cat "$base.err" >&2; FAILED=1
  fi
  stop_all
}

CELLS=$PLAYERS
[ "$RELAY" = 1 ] && CELLS="1 $PLAYERS"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq 1 "$RUNS"); do
  for n in $CELLS; do
    run_cell single "$n" "$run"
    run_cell cluster "$n" "$run"
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
[ -s "$RAW" ] || { echo "FAILED: no run succeeded" >&2; exit 1; }

{
  echo "# Cluster: CPU per node and per cluster of 3, per player-Mbit"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any)."
  echo
  echo "Command: \`$COMMAND\` (BUILD=$BUILD, $("$REDIS_SERVER" --version | cut -d' ' -f1-3))"
  echo
  echo "Machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(uname -r). Load average (1/5/15 min) at the start $LOAD0, at the end $LOAD1 (a shared machine: other engineers' builds and tests ran too)."
  echo
  echo "One publisher of ${KBPS} kbit/s (30 fps video, keyframe every 2 s, 50 audio frames/s) and N players, RTMFP NetConnection clients of this project's core, all in one load-generator thread (bench/rtmfp-bench-fanout). **single**: one rtmfp-server without --cluster, publisher and players on it. **cluster**: redis-server and three rtmfp-server nodes on 127.0.0.1, the publisher on node1, the players round robin on node2 and node3 (N = 1: on node2 only, node3 idle); node2 and node3 each pull the stream from node1 over one upstream RTMFP session (a player of node1). CPU: user + system of each process (/proc, all threads) over ${SECONDS_} s once every player streams, after 2 s of warm-up; ${RUNS} run(s) per cell, single and cluster alternated, medians shown (every run in the CSV). ms per player-Mbit = CPU ms / (sum of the Mbit the players received, message bytes). Players per core = 1000 / (ms per player-Mbit x Mbit/s per player)."
  echo
  echo "**All the processes share the same $(nproc) cores** (this machine has no other): the cluster total is what the cluster *costs* for the same players, not a capacity gain. On real machines, a cluster of 3 has 3x the cores; the origin's share is per upstream session, not per player."
  echo
  python3 - "$RAW" "$CSV" "$KBPS" <<'EOF'
import csv, sys, statistics as st
raw, out, kbps = sys.argv[1], sys.argv[2], float(sys.argv[3])
cols = ["setup", "run", "server", "players", "seconds", "player_mbit_min",
        "player_mbit_max", "server_cores", "server_ms_per_player_mbit",
        "generator_cores", "gaps", "measured_cores"]
rows = [dict(zip(cols, r)) for r in csv.reader(open(raw))]
res = []
for r in rows:
    m = [float(x) for x in r["measured_cores"].split(";")]
    n, secs = int(r["players"]), float(r["seconds"])
    mbit = float(r["server_cores"]) * secs * 1000 / float(r["server_ms_per_player_mbit"])
    d = dict(setup=r["setup"], run=int(r["run"]), players=n, seconds=secs,
             player_mbit_s=float(r["player_mbit_min"]), player_mbit_total=mbit,
             generator_cores=float(r["generator_cores"]), gaps=int(r["gaps"]))
    if r["setup"] == "single":
        d.update(node1_cores=float(r["server_cores"]), node2_cores=0.0,
                 node3_cores=0.0, redis_cores=m[0])
        d["nodes_cores"] = d["node1_cores"]
        d["pull_ms_per_player_mbit"] = ""
    else:
        d.update(node1_cores=m[0], node2_cores=m[1], node3_cores=m[2],
                 redis_cores=m[3])
        d["nodes_cores"] = m[0] + m[1] + m[2]
        pull = m[1] + (m[2] if n > 1 else 0)
        d["pull_ms_per_player_mbit"] = round(pull * secs * 1000 / mbit, 3)
    d["total_cores"] = d["nodes_cores"] + (d["redis_cores"] if r["setup"] == "cluster" else 0)
    d["total_ms_per_player_mbit"] = round(d["total_cores"] * secs * 1000 / mbit, 3)
    res.append(d)
keys = ["setup", "players", "run", "seconds", "player_mbit_s", "player_mbit_total",
        "node1_cores", "node2_cores", "node3_cores", "redis_cores", "total_cores",
        "total_ms_per_player_mbit", "pull_ms_per_player_mbit", "generator_cores", "gaps"]
with open(out, "w") as f:
    w = csv.writer(f)
    w.writerow(keys)
    for d in sorted(res, key=lambda d: (d["players"], d["setup"] != "single", d["run"])):
        w.writerow([round(d[k], 4) if isinstance(d[k], float) else d[k] for k in keys])

by = {}
for d in res:
    by.setdefault((d["setup"], d["players"]), []).append(d)
med = lambda rs, k: st.median(x[k] for x in rs)
mbps = kbps / 1000
print("## Per player-Mbit, per node and per cluster")
print()
print("| set-up | players | total CPU ms per player-Mbit (runs) | median | players per core (total) | node1 (origin) cores | node2 cores | node3 cores | Redis cores | pulling nodes' ms per player-Mbit | players per core (a pulling node) | player Mbit/s | load generator (cores) | gaps |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (s, n) in sorted(by, key=lambda k: (k[1], k[0] != "single")):
    if n == 1:
        continue
    rs = by[(s, n)]
    tm = med(rs, "total_ms_per_player_mbit")
    if s == "single":
        pull, ppc = "-", "-"
        n2 = n3 = rd = "-"
    else:
        p = st.median(x["pull_ms_per_player_mbit"] for x in rs)
        pull, ppc = "%.2f" % p, "%.0f" % (1000 / (p * mbps))
        n2, n3, rd = ("%.3f" % med(rs, k) for k in ("node2_cores", "node3_cores", "redis_cores"))
    print("| %s | %d | %s | **%.2f** | %.0f | %.3f | %s | %s | %s | %s | %s | %.3f | %.2f | %s |" % (
        s, n, " / ".join("%.2f" % x["total_ms_per_player_mbit"] for x in rs), tm,
        1000 / (tm * mbps), med(rs, "node1_cores"), n2, n3, rd, pull, ppc,
        med(rs, "player_mbit_s"), med(rs, "generator_cores"),
        "/".join(str(x["gaps"]) for x in rs)))
print()
print("\"total\" is node1 (+ node2 + node3 + Redis in the cluster). A pulling node's ms per player-Mbit is node2 + node3 over their players' Mbit: it includes receiving and decrypting the upstream, so it is what an edge node spends per player; the origin's cost does not grow with the players (it has 2 upstream sessions whatever N).")
print()
if ("single", 1) in by and ("cluster", 1) in by:
    s1, c1 = by[("single", 1)], by[("cluster", 1)]
    ms = lambda rs, k: 1000 * med(rs, k)
    print("## The upstream relay (N = 1)")
    print()
    print("CPU ms per second of stream (%.2f Mbit/s), medians of %d/%d runs (runs: single %s; cluster node1 %s, node2 %s):" % (
        mbps, len(s1), len(c1),
        " / ".join("%.1f" % (1000 * x["node1_cores"]) for x in s1),
        " / ".join("%.1f" % (1000 * x["node1_cores"]) for x in c1),
        " / ".join("%.1f" % (1000 * x["node2_cores"]) for x in c1)))
    print()
    print("| what | CPU ms/s |")
    print("|---|---:|")
    print("| single node: publisher in, 1 player out | %.1f |" % ms(s1, "node1_cores"))
    print("| cluster node1 (origin): publisher in, 1 upstream session out (node2, a player of node1) | %.1f |" % ms(c1, "node1_cores"))
    print("| cluster node2 (pulling): upstream in (receive, decrypt, relay), 1 player out | %.1f |" % ms(c1, "node2_cores"))
    print("| cluster node3 (idle node: Redis registration every 0.5 s) | %.1f |" % ms(c1, "node3_cores"))
    print("| Redis | %.1f |" % ms(c1, "redis_cores"))
    print("| **extra for the hop**: node1 + node2 - single | **%.1f** |" % (
        ms(c1, "node1_cores") + ms(c1, "node2_cores") - ms(s1, "node1_cores")))
    print()
    if ("cluster", max(n for (_, n) in by)) in by:
        nmax = max(n for (_, n) in by)
        cm = by[("cluster", nmax)]
        print("With 2 upstream sessions (node2 and node3 pulling, N = %d), node1 spends %.1f ms/s: publisher in and 2 upstreams out, each upstream counting as one player at the origin." % (
            nmax, 1000 * med(cm, "node1_cores")))
        print()
EOF
} > "$MD"
cat "$MD"
echo "results: $MD, $CSV; logs: $LOG" >&2
[ "$FAILED" = 0 ] || { echo "FAILED: some runs failed (above)" >&2; exit 1; }
