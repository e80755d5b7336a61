#!/bin/bash
# Loss bench (issues 6 and 14): the same H.264 + Speex stream over RTMFP
# (rtmfpsink -> rtmfp-server -> rtmfpsrc, the elementary video/audio pads),
# RTMP (rtmp2sink -> rtmfp-server's RTMP side -> rtmp2src, TCP with BBR or
# CUBIC) and SRT live (srtsink -> srtsrc, direct), each across the same
# user-space impaired IP link between two network namespaces: delay,
# random or burst (Gilbert) loss, and optionally a rate-limited bottleneck
# with a drop-tail queue, shared with a competing TCP bulk flow.  Not run in
# CI.  Needs root (ip netns, /dev/net/tun).
#
#   bench/rtmfp-bench-loss.sh [--duration S] [--loss "5 10"] [--rtt "30 100"]
#       [--burst "1 3"] [--runs N] [--protos "rtmfp rtmp-bbr rtmp-cubic srt"]
#       [--cc tcp|media] [--adapt] [--rate KBIT] [--queue BYTES] [--cross]
#       [--seed N] [--srt-latency MS] [--out DIR] [--logs DIR] [--tag NAME]
#       [--merge MANIFEST] [--tcp-cc NAME] [--stats-interval MS]
#
#   --duration S     seconds of stream per run (default 30)
#   --loss LIST      loss percentages, each direction (default "5 10")
#   --rtt LIST       round-trip delays of the link in ms (default 30)
#   --burst LIST     1: independent losses; N > 1: Gilbert burst loss with
#                    mean burst length N (default 1)
#   --runs N         runs per cell (default 1; "Must show" tables use 3).
#                    Every variant runs once before any runs twice, so all
#                    see the same machine load
#   --protos LIST    variants, among: rtmfp (--cc/--adapt apply),
#                    rtmfp-tcp, rtmfp-media, rtmfp-adapt (tcp + adapt),
#                    rtmfp-media-adapt, rtmfp-flv (flvmux into the FLV pad),
#                    rtmp (the kernel's or --tcp-cc's TCP), rtmp-bbr,
#                    rtmp-cubic, srt (default "rtmfp rtmp-bbr rtmp-cubic srt")
#   --cc tcp|media   congestion-control of plain "rtmfp" (rtmfpsink and
#                    rtmfp-server --congestion-control); default: theirs
#   --adapt          plain "rtmfp" with adapt-bitrate=true
#   --rate KBIT      a bottleneck of KBIT kbit/s each way (drop-tail queue
#                    of --queue bytes, default 100 ms at the rate, >= 15000)
#   --cross          a competing TCP bulk flow (sender -> receiver side)
#                    across the link during each run; its share of the
#                    bottleneck is reported
#   --cross-cc NAME  its congestion control (default cubic)
#   --srt-latency MS srtsink/srtsrc latency property (default 120)
#   --out DIR        where loss-<tag>.{csv,md,png} go (default bench/results)
#   --tag NAME       output name suffix (default "matrix")
#   --logs DIR       per-frame logs and process output (default
#                    /tmp/rtmfp-bench-loss-logs; kept for investigation)
#   --tcp-cc NAME    TCP congestion control of plain "rtmp" (default: the
#                    kernel's, see /proc/sys/net/ipv4/tcp_congestion_control)
#   --stats-interval MS  the RTMFP sender prints its stats this often (500)
#   --merge "FILE.." also report the runs of earlier manifests (LOGS/
#                    manifest-TAG.csv; several: a quoted, space-separated
#                    list); this run's cells replace the same cells there
#
# Environment: BUILD (default /tmp/build-bench), SERVER_ARGS (extra
# rtmfp-server options), SINK_PROPS / SRC_PROPS (extra sink / source
# element properties), SRT_DEMUX=1 (the SRT receiver runs flvdemux and the
# decoders too; by default it ends at a fakesink, because flvdemux 1.22
# stops the pipeline on an FLV stream with bytes missing, which SRT's
# too-late drops make; frames are logged before the demuxer either way).
#
# Fails loudly: a sender or receiver that exits with an error, a run whose
# logs are empty, or a missing element property (--cc / --adapt on a build
# without them) makes the script say so and exit 1 (the report is still
# written, the failed runs marked).  Every process is bounded in time, and
# a trap removes the namespaces and stops the processes on any exit.
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
COMMAND="bench/rtmfp-bench-loss.sh $*"
BUILD=${BUILD:-/tmp/build-bench}
DURATION=30
LOSSES="5 10"
RTTS=30
BURSTS=1
RUNS=1
PROTOS="rtmfp rtmp-bbr rtmp-cubic srt"
CC=
ADAPT=
RATE=0
QUEUE=0
CROSS=
CROSS_CC=cubic
SEED=1
SRT_LATENCY=120
OUT=$SRC/bench/results
LOGS=/tmp/rtmfp-bench-loss-logs
TAG=matrix
MERGE=
TCP_CC=
STATS_MS=500
SERVER_ARGS=${SERVER_ARGS:-}
SINK_PROPS=${SINK_PROPS:-}
SRC_PROPS=${SRC_PROPS:-}

while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift ;;
    --loss) LOSSES=$2; shift ;;
    --protos) PROTOS=$2; shift ;;
    --rtt) RTTS=$2; shift ;;
    --burst) BURSTS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --cc) CC=$2; shift ;;
    --adapt) ADAPT=1 ;;
    --rate) RATE=$2; shift ;;
    --queue) QUEUE=$2; shift ;;
    --cross) CROSS=1 ;;
    --cross-cc) CROSS_CC=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --srt-latency) SRT_LATENCY=$2; shift ;;
    --out) OUT=$2; shift ;;
    --logs) LOGS=$2; shift ;;
    --tag) TAG=$2; shift ;;
    --merge) MERGE=$2; shift ;;
    --tcp-cc) TCP_CC=$2; shift ;;
    --stats-interval) STATS_MS=$2; shift ;;
    -h|--help) sed -n '2,70p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $CC in ""|tcp|media) ;; *) echo "--cc: tcp or media" >&2; exit 2 ;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 20 ] || { echo "--runs: 1..20" >&2; exit 2; }

if [ "$(id -u)" != 0 ]; then
  echo "rtmfp-bench-loss: needs root (ip netns, /dev/net/tun)" >&2
  exit 77
fi
for tool in ip python3 ss; do
  command -v $tool >/dev/null || { echo "rtmfp-bench-loss: $tool missing" >&2; exit 77; }
done
[ -c /dev/net/tun ] || { echo "rtmfp-bench-loss: no /dev/net/tun" >&2; exit 77; }

ninja -C "$BUILD" bench/rtmfp-impair bench/rtmfp-bench-loss \
  tools/rtmfp-server/rtmfp-server ext/rtmfp/libgstrtmfp.so >/dev/null
IMPAIR=$BUILD/bench/rtmfp-impair
BENCH=$BUILD/bench/rtmfp-bench-loss
SERVER=$BUILD/tools/rtmfp-server/rtmfp-server
export GST_PLUGIN_PATH=$BUILD/ext/rtmfp:$BUILD/gst/rtmfpfallback
mkdir -p "$OUT" "$LOGS"
export GST_REGISTRY=$LOGS/registry.bin

# Elements the senders need: a missing one made every cell empty before
for el in timeoverlay x264enc h264parse speexenc avdec_h264 speexdec rtmfpsink rtmfpsrc; do
  gst-inspect-1.0 "$el" >/dev/null 2>&1 || {
    echo "rtmfp-bench-loss: GStreamer element $el missing (bash scripts/deps.sh)" >&2; exit 1; }
done
for p in $PROTOS; do
  case $p in
    rtmp*) for el in rtmp2sink rtmp2src flvmux flvdemux; do
             gst-inspect-1.0 "$el" >/dev/null 2>&1 || {
               echo "rtmfp-bench-loss: element $el missing" >&2; exit 1; }; done ;;
    srt) for el in srtsink srtsrc flvmux; do
           gst-inspect-1.0 "$el" >/dev/null 2>&1 || {
             echo "rtmfp-bench-loss: element $el missing" >&2; exit 1; }; done ;;
    rtmfp|rtmfp-tcp|rtmfp-media|rtmfp-adapt|rtmfp-media-adapt|rtmfp-flv) ;;
    *) echo "rtmfp-bench-loss: unknown variant $p" >&2; exit 2 ;;
  esac
  case $p in
    rtmp-bbr|rtmp-cubic)
      grep -qw "${p#rtmp-}" /proc/sys/net/ipv4/tcp_available_congestion_control || {
        echo "rtmfp-bench-loss: TCP ${p#rtmp-} not available" >&2; exit 1; } ;;
  esac
done

SERVER_HAS_CC=
"$SERVER" --help 2>&1 | grep -q -- --congestion-control && SERVER_HAS_CC=1

NS_S=rtbl-s-$$
NS_R=rtbl-r-$$
IMP_PID=
SRV_PID=
RCV_PID=
SND_PID=
XR_PID=
XS_PID=
FAILED=()

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
  stop_pid "$SND_PID"; stop_pid "$XS_PID"; stop_pid "$XR_PID"
  stop_pid "$RCV_PID"; stop_pid "$SRV_PID"; stop_pid "$IMP_PID"
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_R" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_S"
ip netns add "$NS_R"
ip -n "$NS_S" link set lo up
ip -n "$NS_R" link set lo up
# (a namespace may only pick from tcp_allowed_congestion_control by
# sysctl, so the TCP congestion control goes on the routes, "congctl")

PORT_RTMFP=19350
PORT_RTMP=1935
PORT_SRT=7001
PORT_CROSS=5001
MANIFEST=$LOGS/manifest-$TAG.csv
if [ -n "$MERGE" ] && [ "$(cd "$(dirname "$MERGE")" && pwd)/$(basename "$MERGE")" = "$MANIFEST" ]; then
  cp "$MERGE" "$LOGS/merged-before-$TAG.csv"; MERGE=$LOGS/merged-before-$TAG.csv
fi
echo "proto,loss,duration,send_log,recv_log,impair,load_start,load_end,srt_latency,rtt,burst,tcp_cc,rate,cross,run,send_out,recv_out,cross_log,send_rc,recv_rc" > "$MANIFEST"

start_link() {
  # start_link RTT LOSS BURST RUN: the impaired link, fresh per run (its
  # counters are per run).  Its seed is --seed + RUN - 1: every variant of
  # a run meets the same drops, and the runs of a cell differ (with one
  # seed for all, the same first packets were lost in every run, and at
  # 10 % burst loss they were the handshake's: see
  # results/loss-burst10-startup.md)
  local fifo=$LOGS/impair.fifo line half
  half=$(awk -v r="$1" 'BEGIN { printf "%g", r / 2 }')
  rm -f "$fifo"; mkfifo "$fifo"
  "$IMPAIR" --ns-a "$NS_S" --ns-b "$NS_R" --delay "$half" --loss "$2" \
    --burst "$3" --seed "$((SEED + $4 - 1))" --rate "$RATE" --queue "$QUEUE" > "$fifo" &
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
}

set_tcp_cc() {
  # set_tcp_cc NAME: the TCP congestion control between the namespaces
  # (empty: the kernel's default)
  if [ -n "$1" ]; then
    ip -n "$NS_S" route replace 10.77.2.1 dev impA src 10.77.1.1 congctl "$1"
    ip -n "$NS_R" route replace 10.77.1.1 dev impB src 10.77.2.1 congctl "$1"
  fi
}

load() { cut -d' ' -f1 /proc/loadavg; }

run_one() {
  # run_one VARIANT RTT LOSS BURST RUN
  local variant=$1 rtt=$2 loss=$3 burst=$4 run=$5
  local name proto port lstart cc= adapt= flv= tcpcc= cross_log= src=0 rrc=0 xcc= scc=
  name=$TAG-$variant-r${rtt}-l${loss}-b${burst}-n${run}
  case $variant in
    rtmfp) proto=rtmfp; cc=$CC; adapt=$ADAPT ;;
    rtmfp-tcp) proto=rtmfp; cc=tcp ;;
    rtmfp-media) proto=rtmfp; cc=media ;;
    rtmfp-adapt) proto=rtmfp; cc=tcp; adapt=1 ;;
    rtmfp-media-adapt) proto=rtmfp; cc=media; adapt=1 ;;
    rtmfp-flv) proto=rtmfp; flv=1; cc=$CC; adapt=$ADAPT ;;
    rtmp) proto=rtmp; tcpcc=$TCP_CC ;;
    rtmp-bbr) proto=rtmp; tcpcc=bbr ;;
    rtmp-cubic) proto=rtmp; tcpcc=cubic ;;
    srt) proto=srt ;;
  esac
  echo "== $variant, ${loss}% loss (burst $burst), ${rtt} ms RTT$([ "$RATE" != 0 ] && echo ", rate $RATE kbit/s")${CROSS:+ + TCP bulk}, ${DURATION} s, run $run" >&2
  lstart=$(load)
  start_link "$rtt" "$loss" "$burst" "$run"
  set_tcp_cc "$tcpcc"
  case $proto in
    rtmfp) port=$PORT_RTMFP ;;
    rtmp) port=$PORT_RTMP ;;
    srt) port=$PORT_SRT ;;
  esac
  # the server's controller matters little (its hop to the players is
  # not impaired); given when the server has the option
  [ -n "$cc" ] && [ -n "$SERVER_HAS_CC" ] && scc=$cc
  if [ "$proto" != srt ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS_R" timeout $((DURATION + 60)) "$SERVER" \
      --rtmfp 10.77.2.1:$PORT_RTMFP --rtmp 10.77.2.1:$PORT_RTMP \
      ${scc:+--congestion-control $scc} $SERVER_ARGS > "$LOGS/$name.server" 2>&1 &
    SRV_PID=$!
    sleep 0.5
    kill -0 "$SRV_PID" 2>/dev/null || {
      echo "FAILED: rtmfp-server did not start (${cc:+--congestion-control $cc?}):" >&2
      cat "$LOGS/$name.server" >&2; exit 1; }
  fi
  if [ -n "$CROSS" ]; then
    cross_log=$LOGS/$name.cross
    ip netns exec "$NS_R" python3 "$SRC/bench/tcp-bulk.py" recv 10.77.2.1 $PORT_CROSS \
      $((DURATION + 15)) "$cross_log" > "$LOGS/$name.cross.recv.out" 2>&1 &
    XR_PID=$!
  fi
  local nodemux=
  [ "$proto" = srt ] && [ -z "${SRT_DEMUX:-}" ] && nodemux=--no-demux
  # shellcheck disable=SC2086
  ip netns exec "$NS_R" timeout $((DURATION + 60)) "$BENCH" --role recv --proto "$proto" $nodemux \
    ${flv:+--flv} --host 10.77.2.1 --port $port --log "$LOGS/$name.recv" \
    --srt-latency "$SRT_LATENCY" ${SRC_PROPS:+--src-props "$SRC_PROPS"} \
    --seconds $((DURATION + 30)) > "$LOGS/$name.recv.out" 2>&1 &
  RCV_PID=$!
  sleep 1
  if [ -n "$CROSS" ]; then
    # the bulk flow starts first and is running at full speed when the
    # stream starts; it outlives the stream
    ip netns exec "$NS_S" python3 "$SRC/bench/tcp-bulk.py" send 10.77.2.1 $PORT_CROSS \
      $((DURATION + 8)) "$CROSS_CC" > "$LOGS/$name.cross.send.out" 2>&1 &
    XS_PID=$!
    sleep 2
  fi
  # shellcheck disable=SC2086
  ip netns exec "$NS_S" timeout $((DURATION + 60)) "$BENCH" --role send --proto "$proto" \
    ${flv:+--flv} ${cc:+--cc $cc} ${adapt:+--adapt} --stats-interval "$STATS_MS" \
    --host 10.77.2.1 --port $port --log "$LOGS/$name.send" \
    --srt-latency "$SRT_LATENCY" ${SINK_PROPS:+--sink-props "$SINK_PROPS"} \
    --seconds "$DURATION" > "$LOGS/$name.send.out" 2>&1 &
  SND_PID=$!
  TCP_CC_USED=
  if [ "$proto" = rtmp ]; then
    # the congestion control the publisher's TCP connection really uses
    # (one word: "bbr" appears twice in ss's line for a BBR connection)
    sleep 3
    TCP_CC_USED=$(ip netns exec "$NS_S" ss -tin state established "( dport = :$PORT_RTMP )" 2>/dev/null \
      | grep -o -w 'cubic\|bbr\|reno' | head -n1 || true)
  fi
  wait "$SND_PID" || src=$?
  SND_PID=
  sleep 3                       # what is still in flight
  stop_pid "$RCV_PID"; wait "$RCV_PID" 2>/dev/null || true
  # the receiver's own verdict (it exits 1 on an error or on no frames)
  grep -q "FAILED\|error from" "$LOGS/$name.recv.out" && rrc=1
  RCV_PID=
  stop_pid "$XS_PID"; XS_PID=
  stop_pid "$XR_PID"; XR_PID=
  stop_pid "$SRV_PID"; SRV_PID=
  stop_pid "$IMP_PID"; IMP_PID=
  sleep 0.2
  cp "$LOGS/impair.out" "$LOGS/$name.impair" 2>/dev/null || true
  if [ -n "$CROSS" ]; then
    xcc=$(sed -n 's/^cc //p' "$LOGS/$name.cross.send.out" 2>/dev/null | head -n1)
    echo "   competing TCP flow: ${xcc:-?}" >&2
  fi
  if [ "$src" != 0 ] || [ "$rrc" != 0 ]; then
    echo "FAILED: $name: sender exit $src, receiver ${rrc/1/failed}; see $LOGS/$name.{send,recv}.out:" >&2
    grep -h 'error\|FAILED\|property\|pipeline' "$LOGS/$name.send.out" "$LOGS/$name.recv.out" 2>/dev/null \
      | head -5 >&2 || true
    FAILED+=("$name")
  fi
  echo "$variant,$loss,$DURATION,$LOGS/$name.send,$LOGS/$name.recv,$LOGS/$name.impair,$lstart,$(load),$SRT_LATENCY,$rtt,$burst,$TCP_CC_USED,$RATE,${CROSS:+$CROSS_CC},$run,$LOGS/$name.send.out,$LOGS/$name.recv.out,$cross_log,$src,$rrc" >> "$MANIFEST"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for rtt in $RTTS; do
  for burst in $BURSTS; do
    for loss in $LOSSES; do
      for run in $(seq 1 "$RUNS"); do
        for variant in $PROTOS; do
          run_one "$variant" "$rtt" "$loss" "$burst" "$run"
        done
      done
    done
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

PY=python3
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null && PY=/usr/bin/python3
PLOT_RC=0
REPORT=$OUT/loss-$TAG.md
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any)."
  echo
  echo "Command: \`$COMMAND\`${SERVER_ARGS:+, SERVER_ARGS=\"$SERVER_ARGS\"}${SINK_PROPS:+, SINK_PROPS=\"$SINK_PROPS\"}${SRC_PROPS:+, SRC_PROPS=\"$SRC_PROPS\"}"
  echo
  echo "Machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(uname -r). Load average (1/5/15 min) at the start $LOAD0, at the end $LOAD1 (shared machine: other engineers' builds and tests ran too; each run's 1-min load is in the CSV)."
  echo
  [ -n "$SERVER_HAS_CC" ] || echo "(rtmfp-server had no --congestion-control: its sessions to the players used its default; that hop is not impaired.)"
  echo
} > "$REPORT"
# shellcheck disable=SC2086
"$PY" "$SRC/bench/plot-loss.py" $MERGE "$MANIFEST" "$OUT/loss-$TAG" >> "$REPORT" || PLOT_RC=$?
cat "$REPORT"
echo "results: $OUT/loss-$TAG.{md,csv,png}; logs: $LOGS" >&2
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "FAILED runs (${#FAILED[@]}): ${FAILED[*]}" >&2
  exit 1
fi
[ "$PLOT_RC" = 0 ] || { echo "FAILED: the analysis found empty runs (see the table)" >&2; exit 1; }
exit 0
