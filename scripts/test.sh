#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: the whole
# suite in ./build, then the whole suite again under AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer in ./build-asan (skip that
# pass with RTMFP_SANITIZE=0); then, once, the packaging stage
# (scripts/package-test.sh: Debian packages built from a clean export,
# lintian, installed into a namespace, used and purged; RTMFP_PACKAGE=0
# leaves it out, which counts as a skip).  Arguments go to both `meson
# test` runs (e.g. a test name or --suite core); with arguments the
# packaging stage runs only with RTMFP_PACKAGE=1.  Ends with the line
# "N passed, N failed, N skipped; N skipped subtests" counting test
# programs of both passes and the packaging stage.
#
# The sanitizer pass covers the protocol core, the fuzz-target replays,
# the rtmfp-server tests (whose rtmfp-server child is the ASan build
# too), the GStreamer element tests and the docs example.  What it needs
# beyond -Db_sanitize (see the 'sanitize' test setup in meson.build, which
# `meson test -C build-asan` uses by default): GST_REGISTRY_FORK=no (the
# uninstrumented gst-plugin-scanner cannot load our ASan-built plugins),
# G_SLICE=always-malloc (so ASan sees GstBuffers, GstMessages...) and
# tests/lsan.supp for what GLib and system plugins allocate once and never
# free.  Any leak, memory error or undefined behaviour, in a test program
# or in an rtmfp-server it started, fails the test.
#
# In CI a skip is a failure: this script installs everything the tests
# need, so it exports RTMFP_CI=1 (unless already set; RTMFP_CI=0 allows
# skips, e.g. on a machine without root for network namespaces).  Tests
# read it and fail where they would skip; and here any test program that
# skipped (exit 77) or any subtest that reported a skip (TAP "# SKIP",
# a "SKIP:" line) fails the run when RTMFP_CI is set.  Skipped subtests are
# listed by name either way.
set -euo pipefail
cd "$(dirname "$0")/.."
export RTMFP_CI=${RTMFP_CI:-1}
export BUILD_DIR=${BUILD_DIR:-build}
ASAN_DIR=${ASAN_DIR:-build-asan}
bash scripts/build.sh

status=0
logs=("$BUILD_DIR/meson-logs/testlog.json")
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2 "$@" || status=$?

if [ "${RTMFP_SANITIZE:-1}" != 0 ]; then
  echo "== whole suite under ASan + UBSan + LSan ($ASAN_DIR) =="
  if [ ! -f "$ASAN_DIR/build.ninja" ]; then
    meson setup "$ASAN_DIR" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dbuildtype=debug >/dev/null
  else
    # picks up new meson options / test setups of this checkout
    meson setup --reconfigure "$ASAN_DIR" >/dev/null
  fi
  ninja -C "$ASAN_DIR" >/dev/null
  # halt on the first report; the 'sanitize' test setup adds the LSan
  # suppressions (with full stacks for them), G_SLICE=always-malloc,
  # GST_REGISTRY_FORK=no and doubled timeouts
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    meson test -C "$ASAN_DIR" --print-errorlogs --num-processes 2 "$@" \
    || status=$?
  logs+=("$ASAN_DIR/meson-logs/testlog.json")
fi

# The packaging stage (scripts/package-test.sh: the Debian packages built
# from a clean export, lintian, installed into a namespace, used, purged),
# once, when the whole suite runs (no arguments) or RTMFP_PACKAGE=1; its
# result counts as one more test program ("packaging")
if [ "${RTMFP_PACKAGE:-}" = 1 ] || { [ $# = 0 ] && [ "${RTMFP_PACKAGE:-1}" != 0 ]; }; then
  echo "== packaging stage (scripts/package-test.sh) =="
  pkg_log=$BUILD_DIR/meson-logs/package-test.log
  set +e
  bash scripts/package-test.sh 2>&1 | tee "$pkg_log"
  pkg_status=${PIPESTATUS[0]}
  set -e
  python3 - "$pkg_log" "$pkg_status" > "$BUILD_DIR/meson-logs/package-test.json" <<'PY'
import json, sys
out = open(sys.argv[1], errors="replace").read()
rc = int(sys.argv[2])
print(json.dumps({"name": "packaging / scripts/package-test.sh",
    "result": "OK" if rc == 0 else "SKIP" if rc == 77 else "FAIL",
    "stdout": out}))
PY
  [ $pkg_status = 0 ] || [ $pkg_status = 77 ] || status=1
  logs+=("$BUILD_DIR/meson-logs/package-test.json")
elif [ $# = 0 ]; then
  echo "SKIP: packaging stage (RTMFP_PACKAGE=0)"
  printf '{"name": "packaging / scripts/package-test.sh", "result": "SKIP", "stdout": "SKIP: RTMFP_PACKAGE=0"}\n' \
    > "$BUILD_DIR/meson-logs/package-test.json"
  logs+=("$BUILD_DIR/meson-logs/package-test.json")
fi

python3 - "${logs[@]}" <<'PY' || status=1
import json, os, re, sys
ci = os.environ.get("RTMFP_CI", "") not in ("", "0")
counts = {"passed": 0, "failed": 0, "skipped": 0}
skipped = []          # (test, what)
# subtest skips: GLib TAP "ok N /path # SKIP why"; the gst-check and
# shell-driven tests print "SKIP: why" or "# skipped: why"
tap_skip = re.compile(r"^ok\s+\d+\s+(.*?)\s*#\s*SKIP\b\s*(.*)$", re.I)
line_skip = re.compile(r"^(?:SKIP:|# skipped:)\s*(.*)$")
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            r = t.get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif r == "SKIP":
                counts["skipped"] += 1
                skipped.append((t["name"], "the whole program (exit 77)"))
            else:
                counts["failed"] += 1
            for out in (t.get("stdout") or "", t.get("stderr") or ""):
                for l in out.splitlines():
                    m = tap_skip.match(l)
                    if m:
                        skipped.append((t["name"], "%s: %s" % (m.group(1), m.group(2))))
                        continue
                    m = line_skip.match(l)
                    if m:
                        skipped.append((t["name"], m.group(1)))
seen = set()
skipped = [s for s in skipped if not (s in seen or seen.add(s))]
for name, what in skipped:
    print("skipped: %s: %s" % (name, what))
print("%d passed, %d failed, %d skipped; %d skipped subtests" % (
    counts["passed"], counts["failed"], counts["skipped"], len(skipped)))
if ci and skipped:
    print("RTMFP_CI is set: in CI a skip is a failure (RTMFP_CI=0 allows skips)")
    sys.exit(1)
PY
exit $status
