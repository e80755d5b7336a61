#!/usr/bin/env python3
"""The plugin documentation cache, docs/plugins/gst_plugins_cache.json.

    plugins-cache.py --scanner SCANNER --cache FILE --check  PLUGIN.so...
    plugins-cache.py --scanner SCANNER --cache FILE --update PLUGIN.so...

Runs rtmfp-plugins-scanner on the built plugins (a registry of its own),
formats the result as GStreamer's modules keep their cache (sorted keys,
4-space indent, UTF-8) and either compares it with the committed cache
(--check: the meson test plugins_cache; a difference fails it, listing the
elements, properties, signals and pad templates that changed, and says how
to regenerate) or writes it (--update: the meson target
update-plugins-cache).

The plugins' "package" and "url" come from the build options
-Dpackage-name / -Dpackage-origin, not from the code: the check ignores
them, so a distribution build compares clean.

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile

REGENERATE = "meson compile -C build update-plugins-cache"
BUILD_FIELDS = ("package", "url")


def scan(scanner, plugins):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["GST_REGISTRY_1_0"] = os.path.join(tmp, "registry.bin")
        env["GST_REGISTRY"] = env["GST_REGISTRY_1_0"]
        # our plugins are loaded by file name; the system ones stay
        # available (rtmfpautosink looks sinks up by factory name)
        env["GST_PLUGIN_PATH_1_0"] = os.pathsep.join(
            sorted({os.path.dirname(os.path.abspath(p)) for p in plugins}))
        env.pop("GST_PLUGIN_PATH", None)
        env["LANGUAGE"] = "C"
        env["LC_ALL"] = "C"
        out = os.path.join(tmp, "cache.json")
        subprocess.run([scanner, out] + list(plugins), env=env, check=True)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def dump(cache):
    return json.dumps(cache, indent=4, sort_keys=True,
                      ensure_ascii=False) + "\n"


def without_build_fields(cache):
    c = json.loads(json.dumps(cache))
    for plugin in c.values():
        for k in BUILD_FIELDS:
            plugin.pop(k, None)
    return c


def changes(old, new, path=""):
    """What differs, as readable paths (element/property/pad template)"""
    out = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            p = "%s/%s" % (path, k) if path else k
            if k not in old:
                out.append("added:   " + p)
            elif k not in new:
                out.append("removed: " + p)
            else:
                out += changes(old[k], new[k], p)
    elif old != new:
        out.append("changed: %s: %s -> %s" % (path, json.dumps(old, ensure_ascii=False),
                                              json.dumps(new, ensure_ascii=False)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scanner", required=True)
    ap.add_argument("--cache", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--update", action="store_true")
    ap.add_argument("plugins", nargs="+")
    args = ap.parse_args()

    new = scan(args.scanner, args.plugins)
    if args.update:
        with open(args.cache, "w", encoding="utf-8") as f:
            f.write(dump(new))
        print("wrote %s (%d plugins, %d elements)" % (
            args.cache, len(new), sum(len(p["elements"]) for p in new.values())))
        return 0

    try:
        with open(args.cache, encoding="utf-8") as f:
            text = f.read()
        old = json.loads(text)
    except (OSError, ValueError) as e:
        print("FAIL: cannot read %s: %s" % (args.cache, e))
        print("Regenerate it: %s" % REGENERATE)
        return 1
    a, b = without_build_fields(old), without_build_fields(new)
    if a == b:
        if text != dump(old):
            print("FAIL: %s is not formatted as the generator writes it" % args.cache)
            print("Regenerate it: %s" % REGENERATE)
            return 1
        elements = sum(len(p["elements"]) for p in new.values())
        print("%s is current: %d plugins, %d elements" % (args.cache, len(new), elements))
        return 0
    print("FAIL: the plugin documentation cache %s is out of date." % args.cache)
    print("An element, property, signal or pad template changed:")
    for line in changes(a, b):
        print("  " + line)
    print("Regenerate it (and commit the result):\n  %s" % REGENERATE)
    sys.stdout.writelines(difflib.unified_diff(
        dump(a).splitlines(True), dump(b).splitlines(True),
        "committed", "built", n=2))
    return 1


if __name__ == "__main__":
    sys.exit(main())
