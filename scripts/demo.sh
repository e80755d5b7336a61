#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the demo.
# Until the GStreamer elements land this is the protocol core's loopback
# demo: two RTMFP endpoints in one process handshake over UDP on
# 127.0.0.1 and exchange messages, then print what arrived and the stats.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
bash scripts/build.sh >/dev/null
exec "$BUILD_DIR/tools/rtmfp-loopback-demo/rtmfp-loopback-demo" "$@"
