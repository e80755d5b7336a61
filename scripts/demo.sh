#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the demo:
# rtmfp-server on loopback, test video + audio published with rtmfpsink
# and played with rtmfpsrc (directly peer to peer when available, else
# through the server), then what arrived and the statistics.
# Options go to rtmfp-demo: --seconds N, --relay.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
bash scripts/build.sh >/dev/null
case "$BUILD_DIR" in /*) build=$BUILD_DIR ;; *) build=$PWD/$BUILD_DIR ;; esac
export GST_PLUGIN_PATH="$build/ext/rtmfp${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec "$build/tools/rtmfp-demo/rtmfp-demo" "$@"
