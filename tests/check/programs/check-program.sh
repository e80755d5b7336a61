#!/usr/bin/env bash
# One installed program's user interface (meson test suite 'programs'):
#   --version and -V print "<name> <project version>" and exit 0;
#   with a man page: `man --warnings` reports nothing, and every long
#   option of `--help` is documented in it (as \-\-option).
# Usage: check-program.sh PROGRAM VERSION [MANPAGE]
# In CI (RTMFP_CI set, not 0) a missing man-db is a failure, else a skip
# (exit 77).
set -euo pipefail
prog=$1 version=$2 man=${3:-}
name=$(basename "$prog")
fail=0

for opt in --version -V; do
  out=$("$prog" "$opt") || { echo "FAIL: $name $opt exited $?"; fail=1; continue; }
  if [ "$out" != "$name $version" ]; then
    echo "FAIL: $name $opt printed '$out', expected '$name $version'"
    fail=1
  fi
done

if [ -n "$man" ]; then
  if ! command -v man >/dev/null; then
    echo "SKIP: man is not installed (Debian: man-db)"
    [ "${RTMFP_CI:-0}" != 0 ] && exit 1
    exit 77
  fi
  warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$man" 2>&1 >/dev/null) || {
    echo "FAIL: man cannot format $man"; fail=1; }
  if [ -n "$warn" ]; then
    echo "FAIL: man --warnings on $man:"
    echo "$warn"
    fail=1
  fi
  # the long options of --help (the application's, not GStreamer's)
  opts=$("$prog" --help | sed -n 's/^ *\(-[A-Za-z], \)\?--\([a-z0-9-]*\).*/\2/p' |
    grep -v -x -e help-all -e help-gst | sort -u)
  for o in $opts; do
    pat='\\-\\-'$(printf %s "$o" | sed 's/-/\\\\-/g')
    if ! grep -q -- "$pat" "$man"; then
      echo "FAIL: $name --$o is not documented in $(basename "$man")"
      fail=1
    fi
  done
  echo "$name: $(echo $opts | wc -w) options documented in $(basename "$man")"
fi
[ $fail = 0 ] && echo "$name: ok"
exit $fail
