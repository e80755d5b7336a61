#!/usr/bin/env bash
# Checks the translations against the sources (meson test po_catalogs):
#  - every C file under ext/ and gst/ that calls _() is in po/POTFILES;
#  - every catalog of po/LINGUAS translates every message of a template
#    extracted now from the sources (as the gst-rtmfp-1.0-pot target does),
#    so a new or changed message fails here until the .po files follow
#    (meson compile -C build gst-rtmfp-1.0-pot gst-rtmfp-1.0-update-po).
# Usage: check-catalogs.sh SOURCE_ROOT
set -euo pipefail
root=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
fail=0

grep -rlE '(^|[^A-Za-z0-9_])_ ?\("' --include='*.c' ext gst | sort > "$tmp/uses"
grep -vE '^\s*(#|$)' po/POTFILES | sort > "$tmp/listed"
missing=$(comm -23 "$tmp/uses" "$tmp/listed")
if [ -n "$missing" ]; then
  echo "not in po/POTFILES (they contain _()): $missing"
  fail=1
fi

xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
  --keyword=g_dpgettext2:2c,3 --flag=N_:1:pass-c-format \
  --package-name=gst-rtmfp-1.0 -f po/POTFILES -o "$tmp/now.pot"
for lang in $(grep -vE '^\s*#' po/LINGUAS); do
  if ! msgcmp "po/$lang.po" "$tmp/now.pot" 2>"$tmp/err"; then
    echo "po/$lang.po lacks translations of the current sources:"
    cat "$tmp/err"
    fail=1
  else
    echo "po/$lang.po: complete ($(msgfmt --statistics -o /dev/null "po/$lang.po" 2>&1))"
  fi
done
exit $fail
