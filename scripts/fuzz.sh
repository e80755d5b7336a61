#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang + ASan + UBSan and
# runs each (or only those named) for SECONDS seconds (default 60).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. fuzz.sh 300 fuzz-amf0
#
# Build dir: ./build-fuzz (FUZZ_BUILD_DIR overrides).  Each target runs on a
# writable copy of its seed corpus, build-fuzz/fuzz-work/<target>/corpus,
# which keeps what earlier runs found; crash/leak/timeout reproducers land
# in build-fuzz/fuzz-work/<target>/ (artifact_prefix).  Prints execs/s and
# coverage per target from libFuzzer's final statistics; exits non-zero if
# any target crashed.  Extra libFuzzer flags: FUZZ_FLAGS="-use_value_profile=1 ...".
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  SECS=$1
  shift
fi
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}

# ---- toolchain: clang and its libFuzzer runtime ----
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
apt_install() {
  echo "Installing: $*"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
bash scripts/deps.sh
if ! command -v clang >/dev/null 2>&1; then
  apt_install clang
fi
CLANG_MAJOR=$(clang -dumpversion | cut -d. -f1)
if [ ! -e "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a" ] &&
   [ -z "$(find "$(clang -print-resource-dir)" -name 'libclang_rt.fuzzer*.a' 2>/dev/null | head -1)" ]; then
  apt_install "libclang-rt-${CLANG_MAJOR}-dev"
fi

# ---- configure + build ----
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang meson setup "$BUILD_DIR" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized
else
  # picks up fuzz targets whose sources appeared since
  meson setup --reconfigure "$BUILD_DIR" >"$BUILD_DIR/fuzz-reconfigure.log" 2>&1 ||
    { cat "$BUILD_DIR/fuzz-reconfigure.log"; exit 1; }
fi

mapfile -t ALL < <(ninja -C "$BUILD_DIR" -t targets all |
  sed -n 's#^tests/fuzz/\(fuzz-[a-z0-9-]*\): .*#\1#p' | grep -v -- '-replay$' | sort -u)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
for t in "${TARGETS[@]}"; do
  if ! printf '%s\n' "${ALL[@]}" | grep -qx -- "$t"; then
    echo "error: no fuzz target '$t' (have: ${ALL[*]})" >&2
    exit 2
  fi
done
ninja -C "$BUILD_DIR" "${TARGETS[@]/#/tests/fuzz/}"

# ---- run ----
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export G_SLICE=always-malloc

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  work="$BUILD_DIR/fuzz-work/$t"
  mkdir -p "$work/corpus"
  if [ -d "tests/fuzz/corpus/$t" ]; then
    cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  fi
  flags=(-max_total_time="$SECS" -print_final_stats=1 -timeout=10
    -rss_limit_mb=2048 -max_len=8192 -artifact_prefix="$work/")
  if [ -f "tests/fuzz/dict/$t.dict" ]; then
    flags+=(-dict="tests/fuzz/dict/$t.dict")
  fi
  echo "=== $t: ${SECS}s"
  log="$work/last-run.log"
  status=0
  # shellcheck disable=SC2086
  "$BUILD_DIR/tests/fuzz/$t" "${flags[@]}" ${FUZZ_FLAGS:-} "$work/corpus" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(ls "$work/corpus" | wc -l)
  if [ $status -ne 0 ]; then
    failed+=("$t")
    echo "--- $t FAILED (exit $status); reproducer(s):"
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
    grep -m1 -B2 -A25 -E 'ERROR: |runtime error|fuzz invariant|deadly signal|CRITICAL|WARNING' "$log" || tail -40 "$log"
  fi
  res=ok
  if [ $status -ne 0 ]; then res=CRASH; fi
  line=$(printf '%-24s %-6s %8s execs/s %10s execs  cov %-6s ft %-6s corpus %s' \
    "$t" "$res" "${execs:-?}" "${units:-?}" "${cov:-?}" "${ft:-?}" "$corp")
  summary+=("$line")
done

echo
echo "=== fuzz summary (${SECS}s per target; logs in $BUILD_DIR/fuzz-work/<target>/last-run.log)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}"
  exit 1
fi
