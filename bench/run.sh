#!/bin/sh
# Builds the benchmarks (release) and runs them all, regenerating
# bench/results/*.md, *.csv and *.png.  Not run in CI.
#
#   bench/run.sh [--quick]
#
# BUILD=dir overrides the build directory (default /tmp/build-bench).
# --quick: short runs (a smoke test of the scripts, not numbers to keep).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench}
OUT=$SRC/bench/results
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

if [ -f "$BUILD/build.ninja" ]; then
  meson configure "$BUILD" -Dbuildtype=release >/dev/null
else
  meson setup "$BUILD" "$SRC" -Dbuildtype=release >/dev/null
fi
TARGETS="bench/rtmfp-bench-crypto bench/rtmfp-bench-throughput bench/rtmfp-bench-scale"
if ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q '^bench/rtmfp-bench-srt:'; then
  TARGETS="$TARGETS bench/rtmfp-bench-srt"
fi
# shellcheck disable=SC2086
ninja -C "$BUILD" $TARGETS >/dev/null
B=$BUILD/bench
mkdir -p "$OUT"

if [ $QUICK = 1 ]; then
  CRYPTO_S=0.3; TP_S=2; SRT_S=2; RUNS=2; SCALE_N=300; SCALE_IDLE=2
else
  CRYPTO_S=1; TP_S=5; SRT_S=5; RUNS=3; SCALE_N=10000; SCALE_IDLE=30
fi

stamp() {
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any), \`bench/run.sh\`."
  echo
}

echo "== crypto" >&2
{ stamp; "$B/rtmfp-bench-crypto" --seconds $CRYPTO_S --csv "$OUT/crypto.csv"; } \
  > "$OUT/crypto.md"

echo "== throughput (RTMFP and SRT, $RUNS runs each, alternating)" >&2
# The machine may be shared: RTMFP and SRT take turns, several times, and
# every run is listed; the detailed tables are those of the last runs.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rm -f "$OUT"/srt.csv "$OUT"/throughput-run*.csv
i=1
while [ $i -le $RUNS ]; do
  "$B/rtmfp-bench-throughput" --seconds $TP_S \
    --csv-prefix "$OUT/throughput-run$i" > "$TMP/rtmfp.md" || echo "(RTMFP run $i failed)" >> "$TMP/rtmfp.md"
  if [ -x "$B/rtmfp-bench-srt" ]; then
    "$B/rtmfp-bench-srt" --seconds $SRT_S --csv "$OUT/srt.csv" \
      > "$TMP/srt.md" 2>/dev/null || echo "(SRT run $i failed)" >> "$TMP/srt.md"
  fi
  i=$((i + 1))
done
# the last run's samples feed the plot
cp "$OUT/throughput-run$RUNS-samples.csv" "$OUT/throughput-samples.csv"
cp "$OUT/throughput-run$RUNS-summary.csv" "$OUT/throughput-summary.csv"
{
  stamp
  echo "## One session on loopback, RTMFP vs SRT, side by side"
  echo
  echo "Each run: 1 RTMFP session (AES-128-CBC + HMAC-SHA256-128, SSEQ), then 1 SRT connection (file mode, AES-128-CTR, no HMAC), ${TP_S} s each."
  echo
  echo "| run | RTMFP Mbit/s | RTMFP cores | RTMFP ms CPU/Mbit | RTMFP / enc. limit | same, per sender core | SRT Mbit/s | SRT cores | SRT ms CPU/Mbit |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  i=1
  while [ $i -le $RUNS ]; do
    r=$(tail -n 1 "$OUT/throughput-run$i-summary.csv" 2>/dev/null || echo "")
    s=""
    [ -f "$OUT/srt.csv" ] && s=$(awk -F, -v n=$((i + 1)) 'NR == n' "$OUT/srt.csv")
    echo "$i,$r,$s" | awk -F, '{
      rt = ($2 > 0) ? sprintf("%.0f | %.2f | %.2f | %.1f%% | %.1f%%", $2, $5, 1000 * $5 / $2, 100 * $2 / $8, ($6 > 0 && $8 > 0) ? 100 * $2 / $6 / $8 : 0) : "failed | | | |";
      st = ($13 != "") ? sprintf("%.0f | %.2f | %.2f", $13, $14, ($13 > 0) ? 1000 * $14 / $13 : 0) : "n/a | | ";
      printf "| %d | %s | %s |\n", $1, rt, st }'
    i=$((i + 1))
  done
  echo
  echo "Crypto limit (encrypt side, one core) measured by each RTMFP run just before it: see the detailed table."
  echo
  cat "$TMP/rtmfp.md"
  echo
  if [ -x "$B/rtmfp-bench-srt" ]; then
    cat "$TMP/srt.md"
  else
    echo "(rtmfp-bench-srt not built: install libsrt-gnutls-dev or libsrt-openssl-dev)"
  fi
} > "$OUT/throughput.md"
rm -f "$OUT"/throughput-run*.csv

echo "== scale ($SCALE_N sessions)" >&2
{ stamp; "$B/rtmfp-bench-scale" --sessions $SCALE_N --idle $SCALE_IDLE \
    --csv-prefix "$OUT/scale"; } > "$OUT/scale.md"

# The project's server, if built, with --max-sessions above the load
# (its default, 4096, would refuse the rest)
SERVER=$BUILD/tools/rtmfp-server/rtmfp-server
ninja -C "$BUILD" tools/rtmfp-server/rtmfp-server >/dev/null 2>&1 || true
if [ -x "$SERVER" ]; then
  if [ $QUICK = 1 ]; then SRV_N=300; SRV_T=30; else SRV_N=5000; SRV_T=120; fi
  echo "== scale, rtmfp-server ($SRV_N sessions, at most $SRV_T s)" >&2
  { stamp; "$B/rtmfp-bench-scale" --sessions $SRV_N --idle $SCALE_IDLE \
      --timeout $SRV_T --server-cmd "$SERVER" \
      --server-arg=--max-sessions=$((SRV_N * 2)) || true; } > "$OUT/scale-rtmfp-server.md"
fi

# the first python3 with matplotlib (a pyenv one may shadow the system's)
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import matplotlib' 2>/dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
  "$PY" "$SRC/bench/plot.py" "$OUT"
else
  echo "matplotlib missing (apt-get install python3-matplotlib): no PNGs" >&2
fi
echo "results in $OUT" >&2
