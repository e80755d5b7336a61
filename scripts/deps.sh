#!/usr/bin/env bash
# Installs the Debian packages gst-rtmfp needs to build and test, only
# those that are missing (apt-get, non-interactive).  Sourced or run.
set -euo pipefail

RTMFP_DEB_PACKAGES=(
  build-essential meson ninja-build pkg-config python3
  libglib2.0-dev libgnutls28-dev nettle-dev libgmp-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gettext locales
  # the peer-to-peer test through two NATs (network namespaces)
  iproute2 iptables
  # rtmfpautosink's interop test: a real RTMP server (nginx-rtmp) that the
  # test starts itself on loopback
  nginx libnginx-mod-rtmp
  # the packaging stage (scripts/package-test.sh): dpkg-buildpackage,
  # lintian, systemd-analyze on the unit, man --warnings on the man pages
  debhelper dpkg-dev lintian systemd man-db git
  # rtmfp-server --metrics: the tests read /metrics with prometheus_client's
  # strict text-format parser
  python3-prometheus-client
  # a test case that outlives its time prints every thread's stack
  # before it aborts (tests/check/elements/testwatchdog.h)
  gdb
  # the benches (bench/): the loss bench's senders use timeoverlay
  # (gstreamer1.0-x; without it every cell came out empty), its plots
  # matplotlib, the SRT comparisons libsrt; tc (iproute2) for tbf
  gstreamer1.0-x python3-matplotlib libsrt-gnutls-dev
  # rtmfp-server --cluster: hiredis; its test starts Debian's redis-server
  # on loopback
  libhiredis-dev redis-server
)

missing=()
for p in "${RTMFP_DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Korean locale, for the translation test (tests/check/elements/i18n.c
# skips without it): generated once, only when missing and when we can
if ! locale -a 2>/dev/null | grep -i '^ko_KR\.utf-\?8$' >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && [ -f /etc/locale.gen ] && command -v locale-gen >/dev/null 2>&1; then
    sed -i 's/^# *\(ko_KR\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^ko_KR\.UTF-8 UTF-8' /etc/locale.gen || echo 'ko_KR.UTF-8 UTF-8' >> /etc/locale.gen
    locale-gen >/dev/null || echo "note: locale-gen failed: the i18n test will be skipped" >&2
  else
    echo "note: no ko_KR.UTF-8 locale (needs root): the i18n test will be skipped" >&2
  fi
fi
