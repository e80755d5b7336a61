#!/bin/bash
# Loss bench (issue 6, bench 1): the same H.264 + Speex stream over RTMFP
# (rtmfpsink -> rtmfp-server -> rtmfpsrc), RTMP (rtmp2sink -> rtmfp-server's
# RTMP side -> rtmp2src) and SRT (srtsink -> srtsrc, direct), each across the
# same user-space impaired IP link between two network namespaces.  Not run in
# CI.  Needs root (ip netns, /dev/net/tun).
#
#   bench/rtmfp-bench-loss.sh [--duration S] [--loss "0 1 5 10"]
#       [--protos "rtmfp rtmp srt"] [--rtt MS] [--burst N] [--seed N]
#       [--srt-latency MS] [--out DIR] [--logs DIR] [--tag NAME]
#       [--merge MANIFEST] [--tcp-cc NAME]
#
#   --duration S     seconds of stream per run (default 60)
#   --loss LIST      random loss percentages, each direction (default 0 1 5 10)
#   --protos LIST    a subset of rtmfp rtmp srt (default all three)
#   --rtt MS         round-trip delay of the link (default 30: 15 ms each way)
#   --burst N        Gilbert burst loss with mean burst length N (default 1:
#                    independent losses)
#   --srt-latency MS srtsink/srtsrc latency property (default 120)
#   --out DIR        where loss-<tag>.{csv,md,png} go (default bench/results)
#   --tag NAME       output name suffix (default "matrix"; outputs are
#                    loss-matrix.csv etc.)
#   --logs DIR       per-frame logs and process output (default
#                    /tmp/rtmfp-bench-loss-logs; kept for investigation)
#   --tcp-cc NAME    TCP congestion control in both namespaces (default: the
#                    kernel's default, e.g. bbr or cubic; see
#                    /proc/sys/net/ipv4/tcp_available_congestion_control)
#   --merge "FILE.." also report the runs of earlier manifests (LOGS/
#                    manifest-TAG.csv; several: a quoted, space-separated
#                    list); this run's protocol x loss cells replace the
#                    same cells there (redo part of a matrix)
#
# Environment: BUILD (default /tmp/build-bench), SERVER_ARGS (extra
# rtmfp-server options, e.g. "--audio-lifetime 600"), SINK_PROPS /
# SRC_PROPS (extra sink / source element properties, e.g.
# "audio-lifetime=400"), SRT_DEMUX=1 (the SRT receiver runs flvdemux and
# the decoders too; by default it ends at a fakesink, because flvdemux 1.22
# stops the pipeline on an FLV stream with bytes missing, which SRT's
# too-late drops make; frames are logged before the demuxer either way).
#
# Topology (addresses only inside the two namespaces made here):
#   netns S (sender)  10.77.1.1 --impA-- rtmfp-impair --impB-- 10.77.2.1 netns R
#   R holds rtmfp-server (RTMFP and RTMP sides) and every receiver, so the
#   sender's link to the server (or to the SRT listener) is the impaired one,
#   and the server -> player hop is local.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
DURATION=60
LOSSES="0 1 5 10"
PROTOS="rtmfp rtmp srt"
RTT=30
BURST=1
SEED=1
SRT_LATENCY=120
OUT=$SRC/bench/results
LOGS=/tmp/rtmfp-bench-loss-logs
TAG=matrix
MERGE=
TCP_CC=
SERVER_ARGS=${SERVER_ARGS:-}
SINK_PROPS=${SINK_PROPS:-}
SRC_PROPS=${SRC_PROPS:-}

while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift ;;
    --loss) LOSSES=$2; shift ;;
    --protos) PROTOS=$2; shift ;;
    --rtt) RTT=$2; shift ;;
    --burst) BURST=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --srt-latency) SRT_LATENCY=$2; shift ;;
    --out) OUT=$2; shift ;;
    --logs) LOGS=$2; shift ;;
    --tag) TAG=$2; shift ;;
    --merge) MERGE=$2; shift ;;
    --tcp-cc) TCP_CC=$2; shift ;;
    -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" != 0 ]; then
  echo "rtmfp-bench-loss: needs root (ip netns, /dev/net/tun)" >&2
  exit 77
fi
for tool in ip python3; do
  command -v $tool >/dev/null || { echo "rtmfp-bench-loss: $tool missing" >&2; exit 77; }
done
[ -c /dev/net/tun ] || { echo "rtmfp-bench-loss: no /dev/net/tun" >&2; exit 77; }

ninja -C "$BUILD" bench/rtmfp-impair bench/rtmfp-bench-loss \
  tools/rtmfp-server/rtmfp-server ext/rtmfp/libgstrtmfp.so >/dev/null
IMPAIR=$BUILD/bench/rtmfp-impair
BENCH=$BUILD/bench/rtmfp-bench-loss
SERVER=$BUILD/tools/rtmfp-server/rtmfp-server
export GST_PLUGIN_PATH=$BUILD/ext/rtmfp:$BUILD/gst/rtmfpfallback
export GST_REGISTRY=$LOGS/registry.bin

NS_S=rtbl-s-$$
NS_R=rtbl-r-$$
IMP_PID=
SRV_PID=
RCV_PID=
SND_PID=

stop_pid() {
  # stop_pid PID: SIGTERM, then SIGKILL after 5 s (only our own children)
  local pid=$1 i=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$SND_PID"; stop_pid "$RCV_PID"; stop_pid "$SRV_PID"; stop_pid "$IMP_PID"
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_R" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$LOGS"
ip netns add "$NS_S"
ip netns add "$NS_R"
ip -n "$NS_S" link set lo up
ip -n "$NS_R" link set lo up
# (a namespace may only pick from tcp_allowed_congestion_control by
# sysctl, so --tcp-cc goes on the routes between the two, "congctl")

HALF=$(awk -v r="$RTT" 'BEGIN { printf "%g", r / 2 }')
PORT_RTMFP=19350
PORT_RTMP=1935
PORT_SRT=7001
MANIFEST=$LOGS/manifest-$TAG.csv
if [ -n "$MERGE" ] && [ "$(cd "$(dirname "$MERGE")" && pwd)/$(basename "$MERGE")" = "$MANIFEST" ]; then
  cp "$MERGE" "$LOGS/merged-before-$TAG.csv"; MERGE=$LOGS/merged-before-$TAG.csv
fi
echo "proto,loss,duration,send_log,recv_log,impair,load_start,load_end,srt_latency,rtt,burst,tcp_cc" > "$MANIFEST"

start_link() {
  # start_link LOSS: the impaired link, fresh per run (its counters are per run)
  local fifo=$LOGS/impair.fifo line
  rm -f "$fifo"; mkfifo "$fifo"
  "$IMPAIR" --ns-a "$NS_S" --ns-b "$NS_R" --delay "$HALF" --loss "$1" \
    --burst "$BURST" --seed "$SEED" > "$fifo" &
  IMP_PID=$!
  exec 3< "$fifo"
  read -r -t 5 line <&3 || true
  [ "$line" = ready ] || { echo "rtmfp-impair did not start" >&2; exit 1; }
  # the rest of its output (the final stats line) goes to a file
  cat <&3 > "$LOGS/impair.out" &
  exec 3<&-
  ip -n "$NS_S" addr add 10.77.1.1 peer 10.77.2.1 dev impA
  ip -n "$NS_R" addr add 10.77.2.1 peer 10.77.1.1 dev impB
  ip -n "$NS_S" link set impA up
  ip -n "$NS_R" link set impB up
  if [ -n "$TCP_CC" ]; then
    ip -n "$NS_S" route replace 10.77.2.1 dev impA src 10.77.1.1 congctl "$TCP_CC"
    ip -n "$NS_R" route replace 10.77.1.1 dev impB src 10.77.2.1 congctl "$TCP_CC"
  fi
}

load() { cut -d' ' -f1 /proc/loadavg; }

run_one() {
  local proto=$1 loss=$2 name=$TAG-$1-$2 port lstart
  echo "== $proto, ${loss}% loss, ${RTT} ms RTT, ${DURATION} s" >&2
  lstart=$(load)
  start_link "$loss"
  case $proto in
    rtmfp) port=$PORT_RTMFP ;;
    rtmp) port=$PORT_RTMP ;;
    srt) port=$PORT_SRT ;;
  esac
  if [ "$proto" != srt ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS_R" "$SERVER" --rtmfp 10.77.2.1:$PORT_RTMFP \
      --rtmp 10.77.2.1:$PORT_RTMP $SERVER_ARGS > "$LOGS/$name.server" 2>&1 &
    SRV_PID=$!
    sleep 0.5
  fi
  local nodemux=
  [ "$proto" = srt ] && [ -z "${SRT_DEMUX:-}" ] && nodemux=--no-demux
  # shellcheck disable=SC2086
  ip netns exec "$NS_R" "$BENCH" --role recv --proto "$proto" $nodemux \
    --host 10.77.2.1 --port $port --log "$LOGS/$name.recv" \
    --srt-latency "$SRT_LATENCY" ${SRC_PROPS:+--src-props "$SRC_PROPS"} \
    --seconds $((DURATION + 30)) > "$LOGS/$name.recv.out" 2>&1 &
  RCV_PID=$!
  sleep 1
  ip netns exec "$NS_S" "$BENCH" --role send --proto "$proto" \
    --host 10.77.2.1 --port $port --log "$LOGS/$name.send" \
    --srt-latency "$SRT_LATENCY" ${SINK_PROPS:+--sink-props "$SINK_PROPS"} \
    --seconds "$DURATION" > "$LOGS/$name.send.out" 2>&1 &
  SND_PID=$!
  TCP_CC_USED=
  if [ "$proto" = rtmp ]; then
    # the congestion control the publisher's TCP connection really uses
    sleep 3
    TCP_CC_USED=$(ip netns exec "$NS_S" ss -tin 2>/dev/null | grep -o -w -m1 'cubic\|bbr\|reno' || true)
  fi
  wait "$SND_PID" || echo "(sender exited with $?)" >&2
  SND_PID=
  sleep 3                       # what is still in flight
  stop_pid "$RCV_PID"; RCV_PID=
  stop_pid "$SRV_PID"; SRV_PID=
  stop_pid "$IMP_PID"; IMP_PID=
  sleep 0.2
  cp "$LOGS/impair.out" "$LOGS/$name.impair" 2>/dev/null || true
  grep -h 'error\|stats' "$LOGS/$name.send.out" "$LOGS/$name.recv.out" 2>/dev/null \
    | grep -v 'x-rtmfp-statistics' | head -5 >&2 || true
  echo "$proto,$loss,$DURATION,$LOGS/$name.send,$LOGS/$name.recv,$LOGS/$name.impair,$lstart,$(load),$SRT_LATENCY,$RTT,$BURST,$TCP_CC_USED" >> "$MANIFEST"
}

for loss in $LOSSES; do
  for proto in $PROTOS; do
    run_one "$proto" "$loss"
  done
done

PY=python3
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null && PY=/usr/bin/python3
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any), \`bench/rtmfp-bench-loss.sh --duration $DURATION --rtt $RTT --burst $BURST --srt-latency $SRT_LATENCY\`${TCP_CC:+ --tcp-cc $TCP_CC}${SERVER_ARGS:+, SERVER_ARGS=\"$SERVER_ARGS\"}${SINK_PROPS:+, SINK_PROPS=\"$SINK_PROPS\"}${SRC_PROPS:+, SRC_PROPS=\"$SRC_PROPS\"}; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
  echo
  # shellcheck disable=SC2086
  "$PY" "$SRC/bench/plot-loss.py" $MERGE "$MANIFEST" "$OUT/loss-$TAG"
} | tee "$OUT/loss-$TAG.md"
echo "results: $OUT/loss-$TAG.{md,csv,png}; logs: $LOGS" >&2
