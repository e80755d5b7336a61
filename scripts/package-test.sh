#!/usr/bin/env bash
# The packaging stage of scripts/test.sh (runs once, after the test suite):
#
#  1. a clean export of the checkout (HEAD plus uncommitted changes to
#     tracked files: what a clean clone would hold) builds the Debian
#     packages with `dpkg-buildpackage -us -uc -b`, with
#     DEB_BUILD_OPTIONS=nocheck (the suite has just run; debian/rules
#     then does not even configure the tests);
#  2. lintian on the result: no error and no warning (-I --pedantic shown);
#  3. in a private mount and network namespace whose /usr, /etc and /var
#     are overlays (the host and other work on it never see the install):
#     the build of the suite ($BUILD_DIR, default prefix /usr/local)
#     installed with `meson install`: gst-inspect-1.0 rtmfpsink works
#     with no environment variable (the plugins went to GStreamer's own
#     plugin directory) and the Korean catalog is found;
#  4. in a new such namespace:
#     `apt-get install ./*.deb`, then with no GST_PLUGIN_PATH and a fresh
#     registry: gst-inspect-1.0 finds rtmfpsink, rtmfpsrc, rtmfpautosink in
#     the system plugin directory; the server started exactly as the
#     packaged unit starts it (/etc/default/rtmfp-server) relays a short
#     publish/play between gst-launch-1.0 processes; rtmfp-demo --relay
#     runs; a Korean error comes from the installed catalog; the man pages
#     are installed and clean; `systemd-analyze verify` accepts the
#     installed unit; then `apt-get purge` and nothing is left: the
#     package list is as before and the overlays hold no file but dpkg's
#     and apt's own records.
#
# Needs root (apt-get, namespaces); scripts/deps.sh installs the tools.
# Without root: exit 77 (skipped), or 1 in CI (RTMFP_CI set).
# The work directory (RTMFP_PACKAGE_DIR, default a new /tmp directory) is
# removed at the end unless RTMFP_PACKAGE_KEEP=1.
set -euo pipefail

inside=${1:-}
if [ "$inside" = --inside-deb ] || [ "$inside" = --inside-source ]; then
  work=$2
  src=$work/src
else
  inside=""
  cd "$(dirname "$0")/.."
  src=$PWD
fi

say () { printf 'package: %s\n' "$*"; }
fail () { printf 'package: FAIL: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Inside a namespace
# ---------------------------------------------------------------------------

# /usr, /etc, /var become overlays (writes go to $work/<ovl>/*.upper),
# the network namespace gets its loopback up, the environment nothing of
# ours
ns_setup () {
  ovl=$work/$1
  mkdir -p "$ovl" "$work/lower"
  mount -t tmpfs tmpfs "$ovl"
  # the root file system as it is, to tell new files from changed ones
  mount --bind / "$work/lower"
  for d in usr etc var; do
    mkdir -p "$ovl/$d.upper" "$ovl/$d.work"
    mount -t overlay overlay \
      -o "lowerdir=/$d,upperdir=$ovl/$d.upper,workdir=$ovl/$d.work" "/$d"
  done
  ip link set lo up
  export HOME=$work/home-$1 XDG_CACHE_HOME=$work/home-$1/.cache
  mkdir -p "$HOME"
  unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH \
    GST_PLUGIN_SYSTEM_PATH_1_0 GST_REGISTRY GST_REGISTRY_1_0 \
    GST_PLUGIN_SCANNER GST_PLUGIN_SCANNER_1_0 LD_LIBRARY_PATH \
    RTMFP_SERVER RTMFP_LOCALEDIR
  export LC_ALL=C.UTF-8 LANGUAGE= LANG=C.UTF-8
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  plugindir=/usr/lib/$multiarch/gstreamer-1.0
}

# gst-inspect-1.0 finds the elements in GStreamer's plugin directory
check_inspect () {
  local e out
  for e in rtmfpsink rtmfpsrc rtmfpautosink; do
    out=$(timeout 60 gst-inspect-1.0 "$e" 2>&1) || { echo "$out"; fail "gst-inspect-1.0 $e"; }
    # (merged /usr: GStreamer may name it through /lib)
    grep -q -E "Filename *(/usr)?/lib/$multiarch/gstreamer-1.0/libgstrtmfp" <<<"$out" ||
      { echo "$out"; fail "$e is not loaded from $plugindir"; }
  done
  say "gst-inspect-1.0 finds rtmfpsink, rtmfpsrc, rtmfpautosink in $plugindir (no GST_PLUGIN_PATH)"
}

# rtmfpsrc without a server: its error in Korean, one of po/ko.po's
check_korean () {
  local out err
  out=$(LANGUAGE=ko LC_ALL=ko_KR.UTF-8 timeout 60 gst-launch-1.0 rtmfpsrc \
    timeout=1 location=rtmfp://127.0.0.1:9/live/x ! fakesink 2>&1) &&
    fail "rtmfpsrc did not fail without a server"
  err=$(grep -m1 '^ERROR' <<<"$out" || true)
  python3 - "$src/po/ko.po" "$err" <<'PY' || fail "no Korean error from the installed catalog: $err"
import ast, re, sys
po, line = open(sys.argv[1], encoding="utf-8").read() + "\n", sys.argv[2]
hits = []
for e in re.findall(r'^msgstr ((?:"(?:[^"\\]|\\.)*"[ \t]*\n)+)', po, re.M):
    text = "".join(ast.literal_eval(x) for x in re.findall(r'"(?:[^"\\]|\\.)*"', e))
    if not text or "Project-Id-Version" in text:
        continue
    pat = re.escape(text).replace(re.escape("%s"), ".*").replace(re.escape("%u"), "[0-9]+")
    if re.search(pat, line):
        hits.append(text)
print("package: Korean error from the installed catalog: %s" % line)
sys.exit(0 if hits else 1)
PY
}

if [ "$inside" = --inside-source ]; then
  build=$3
  ns_setup source
  say "meson install -C $build (prefix /usr/local)"
  meson install -C "$build" --no-rebuild --quiet > "$work/meson-install.log" 2>&1 ||
    { cat "$work/meson-install.log"; fail "meson install"; }
  check_inspect
  check_korean
  v=$(rtmfp-server --version) || fail "rtmfp-server is not on PATH after meson install"
  say "installed from source: $(command -v rtmfp-server): $v"
  exit 0
fi

if [ "$inside" = --inside-deb ]; then
  ns_setup deb
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' | sort > "$work/pkgs.before"
  say "apt-get install ./*.deb"
  (cd "$work" && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends ./*.deb) > "$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "apt-get install ./*.deb"; }
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' | sort > "$work/pkgs.after"
  added=$(comm -13 "$work/pkgs.before" "$work/pkgs.after" | cut -d: -f1 | sort)
  want=$(cd "$work" && for d in *.deb; do dpkg-deb -f "$d" Package; done | sort)
  [ "$added" = "$want" ] ||
    fail "apt-get installed '$(echo $added)', expected only '$(echo $want)'"

  check_inspect

  # the programs, their man pages
  version=$(dpkg-query -W -f '${Version}' rtmfp-server | sed 's/-[^-]*$//')
  for p in rtmfp-server rtmfp-demo; do
    [ "$("/usr/bin/$p" --version)" = "$p $version" ] || fail "$p --version"
    page=$(man -w "$p") || fail "no man page for $p"
    warn=$(MANWIDTH=80 man --warnings -l -Tutf8 "$page" 2>&1 >/dev/null)
    [ -z "$warn" ] || fail "man --warnings $page: $warn"
  done
  say "rtmfp-server and rtmfp-demo $version, man pages clean"

  # the unit, as installed
  unit=$(dpkg -L rtmfp-server | grep '/rtmfp-server\.service$')
  out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out"; fail "systemd-analyze verify $unit"; }
  [ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify $unit: warnings"; }
  exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  say "systemd-analyze verify $unit: ok; exposure $exposure (systemd-analyze security)"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' ||
    fail "the unit's exposure level $exposure is above 2.0"
  grep -q '^EnvironmentFile=-/etc/default/rtmfp-server$' "$unit" &&
    grep -q '^ExecStart=/usr/bin/rtmfp-server \$RTMFP_SERVER_OPTS$' "$unit" ||
    fail "the unit does not start the server with /etc/default/rtmfp-server"

  # the server as the unit starts it: /etc/default/rtmfp-server's options,
  # in its state directory as systemd makes it for DynamicUser= and
  # StateDirectory= (/var/lib/private/rtmfp-server and a link to it; purge
  # must remove both); the namespace has its own loopback: port 1935 is
  # ours
  install -d -m 0700 /var/lib/private /var/lib/private/rtmfp-server
  ln -s private/rtmfp-server /var/lib/rtmfp-server
  ( set -a; . /etc/default/rtmfp-server; set +a
    cd /var/lib/rtmfp-server
    exec /usr/bin/rtmfp-server $RTMFP_SERVER_OPTS ) > "$work/server.out" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    grep -q '^listening rtmp ' "$work/server.out" && break
    kill -0 $server 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^listening rtmfp 0.0.0.0:1935$' "$work/server.out" &&
    grep -q '^listening rtmp 0.0.0.0:1935$' "$work/server.out" ||
    { cat "$work/server.out"; fail "the packaged defaults do not start the server"; }
  play_log=$work/play.log
  timeout 60 gst-launch-1.0 -v rtmfpsrc location=rtmfp://127.0.0.1/live/pkgtest \
    timeout=20 ! flvdemux ! h264parse ! avdec_h264 max-threads=1 ! \
    fakesink silent=false sync=false > "$play_log" 2>&1 &
  player=$!
  sleep 1   # the player waits for the stream either way; no frame is lost
  timeout 60 gst-launch-1.0 -q videotestsrc num-buffers=60 is-live=true ! \
    video/x-raw,width=320,height=240,framerate=30/1 ! \
    x264enc tune=zerolatency key-int-max=15 speed-preset=ultrafast ! \
    h264parse ! flvmux streamable=true ! \
    rtmfpsink location=rtmfp://127.0.0.1/live/pkgtest > "$work/pub.log" 2>&1 ||
    { cat "$work/pub.log"; fail "publishing through the installed server"; }
  # the publisher is gone: the player ends at UnpublishNotify (bounded)
  for _ in $(seq 150); do kill -0 $player 2>/dev/null || break; sleep 0.1; done
  kill $player 2>/dev/null || true
  wait $player || true
  frames=$(grep -c 'last-message = chain' "$play_log" || true)
  kill -USR1 $server
  sleep 0.5
  kill -TERM $server
  wait $server || fail "rtmfp-server did not exit 0 on SIGTERM"
  grep '^stats ' "$work/server.out" | tail -1
  [ "$frames" -ge 50 ] ||
    { tail -20 "$play_log"; fail "the player decoded $frames of 60 frames"; }
  say "publish/play through the installed rtmfp-server (packaged options): $frames of 60 frames decoded"

  out=$(timeout 120 rtmfp-demo --relay --seconds 2 2>&1) ||
    { echo "$out"; fail "rtmfp-demo --relay"; }
  say "rtmfp-demo --relay: $(echo "$out" | grep -i -m1 'decoded' || echo ok)"

  check_korean

  # ---- purge: nothing may be left
  say "apt-get purge"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $want > "$work/purge.log" 2>&1 ||
    { cat "$work/purge.log"; fail "apt-get purge"; }
  dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' | sort > "$work/pkgs.purged"
  cmp -s "$work/pkgs.before" "$work/pkgs.purged" ||
    { diff "$work/pkgs.before" "$work/pkgs.purged"; fail "the package list changed"; }
  # every path in the overlays' upper layers: new (not in the lower
  # file system), changed (copied up) or deleted (a whiteout); only dpkg's,
  # apt's and the triggers' own records (ldconfig, man-db) may be there
  # (/var/lib/private: systemd's, shared by every DynamicUser= service)
  allowed='^/var/(lib/dpkg|lib/apt|cache|log)(/|$)|^/etc/ld\.so\.cache$|^/var/lib/private$'
  new=""
  for d in usr etc var; do
    up=$ovl/$d.upper
    while IFS= read -r -d '' p; do
      f=/$d/${p#./}
      echo "$f" | grep -q -E "$allowed" && continue
      if [ -c "$up/$p" ] && [ "$(stat -c %t:%T "$up/$p")" = 0:0 ]; then
        new="$new deleted:$f"
      elif [ -e "$work/lower$f" ] || [ -L "$work/lower$f" ]; then
        [ -d "$up/$p" ] || new="$new changed:$f"
      else
        new="$new new:$f"
      fi
    done < <(cd "$up" && find . -mindepth 1 \( -type d -empty -o ! -type d \) -print0)
  done
  [ -z "$new" ] || fail "left after purge:$new"
  for f in /etc/default/rtmfp-server /var/lib/rtmfp-server \
      /var/lib/private/rtmfp-server "$plugindir/libgstrtmfp.so" \
      /usr/bin/rtmfp-server /usr/bin/rtmfp-demo; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after purge"
  done
  say "purged: nothing left"
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build, lintian, then the namespace
# ---------------------------------------------------------------------------
skip () {
  echo "SKIP: package stage: $*"
  if [ "${RTMFP_CI:-0}" != 0 ]; then exit 1; fi
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (apt-get install into a namespace)"
for t in dpkg-buildpackage lintian unshare systemd-analyze apt-get man git; do
  command -v $t >/dev/null || skip "$t is not installed (run scripts/deps.sh)"
done
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"

start=$(date +%s)
work=${RTMFP_PACKAGE_DIR:-$(mktemp -d /tmp/gst-rtmfp-package.XXXXXX)}
cleanup () {
  [ "${RTMFP_PACKAGE_KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/src"

# 1. a clean export, built
rev=$(git -C "$src" stash create)
say "building from $(git -C "$src" rev-parse --short HEAD)${rev:+ with uncommitted changes} in $work"
git -C "$src" archive "${rev:-HEAD}" | tar -x -C "$work/src"
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$work/src/meson.build" | head -1)
deb_version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
[ "${deb_version%-*}" = "$meson_version" ] ||
  fail "debian/changelog is at $deb_version, meson.build at $meson_version"
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
  nice -n 10 dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log"; fail "dpkg-buildpackage -us -uc -b"; }
say "dpkg-buildpackage -us -uc -b: $(cd "$work" && echo *.deb)"

# 2. lintian: no error, no warning (info and pedantic tags are shown)
changes=$(echo "$work"/*.changes)
lintian_as=()
if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
  # (lintian warns about running as root)
  chmod 755 "$work"
  mkdir -p "$work/lintian-home" && chown nobody "$work/lintian-home"
  lintian_as=(runuser -u nobody -- env HOME="$work/lintian-home" TMPDIR="$work/lintian-home")
fi
if ! "${lintian_as[@]}" lintian --fail-on error,warning -I --pedantic "$changes" > "$work/lintian.log" 2>&1; then
  cat "$work/lintian.log"
  fail "lintian: errors or warnings"
fi
sed 's/^/package: lintian: /' "$work/lintian.log"
say "lintian: no errors, no warnings"

# 3. `meson install` of the suite's build, in a namespace with overlays
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
[ -f "$build/build.ninja" ] ||
  fail "no build in $build for the meson install check (run scripts/build.sh)"
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
if [ "$prefix" = /usr/local ]; then
  unshare --mount --net --propagation private \
    bash "$src/scripts/package-test.sh" --inside-source "$work" "$build" || exit 1
else
  say "note: $build has prefix $prefix, not the default: meson install not checked"
fi

# 4. the packages: install, use, purge, in a new namespace with overlays
unshare --mount --net --propagation private \
  bash "$src/scripts/package-test.sh" --inside-deb "$work" || exit 1
say "passed in $(( $(date +%s) - start )) s"
