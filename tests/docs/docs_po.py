"""A documented translated message and its English original, from a .po
file (the build tree has no installed catalog, so gst-launch-1.0 prints
the msgid there).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import ast
import re

FORMAT = re.compile(r"%(?:\d+\$)?[-+ #0]*\d*(?:\.\d+)?(?:ll|l|h|hh|z|j|t|L)?[sduixXfgc%]")


def parse_po(path):
    """[(msgid, msgstr)] of the translated, non-fuzzy entries"""
    entries, fuzzy, field, cur = [], False, None, {}

    def flush():
        if cur.get("msgid") and cur.get("msgstr") and not fuzzy:
            entries.append((cur["msgid"], cur["msgstr"]))

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                flush()
                cur, fuzzy, field = {}, False, None
            elif line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#"):
                continue
            elif line.startswith("msgid ") or line.startswith("msgstr "):
                if line.startswith("msgid ") and "msgstr" in cur:
                    flush()
                    cur, fuzzy = {}, False
                field, rest = line.split(" ", 1)
                cur[field] = ast.literal_eval(rest)
            elif line.startswith('"') and field:
                cur[field] += ast.literal_eval(line)
    flush()
    return entries


def format_to_regex(fmt):
    """A printf format as a regex with a named group per conversion, and
    the argument number (1-based, %N$ or in order) of each group"""
    out, order, pos, n = [], [], 0, 0
    for m in FORMAT.finditer(fmt):
        out.append(re.escape(fmt[pos:m.start()]))
        pos = m.end()
        if m.group() == "%%":
            out.append("%")
            continue
        n += 1
        explicit = re.match(r"%(\d+)\$", m.group())
        order.append(int(explicit.group(1)) if explicit else n)
        out.append("(.+?)")
    out.append(re.escape(fmt[pos:]))
    return "".join(out), order


def fill(fmt, args):
    """fmt (conversions in order) with args[1], args[2]..."""
    counter = iter(range(1, 100))
    return FORMAT.sub(lambda m: "%" if m.group() == "%%" else args[next(counter)],
                      fmt)


def english_of(translated, po_path):
    """The msgid (arguments filled in) whose msgstr formats to translated,
    or None"""
    for msgid, msgstr in parse_po(po_path):
        regex, order = format_to_regex(msgstr)
        m = re.fullmatch(regex, translated)
        if m:
            return fill(msgid, dict(zip(order, m.groups())))
    return None
