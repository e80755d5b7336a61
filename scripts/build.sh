#!/usr/bin/env bash
# Configures (once) and builds gst-rtmfp in ./build (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" "$@"
else
  meson setup --reconfigure "$BUILD_DIR" "$@" >/dev/null
fi
ninja -C "$BUILD_DIR"
