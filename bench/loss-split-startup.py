#!/usr/bin/env python3
# Loss bench logs (bench/rtmfp-bench-loss.sh --logs DIR): audio and video on
# time (<= 400 ms from capture to the receiver) over the report's window
# (captured from 3 s after the first frame to 1 s before the last), and over
# the part of it from 1 s after the RTMFP publisher's session was streaming
# (its first stats line with state=streaming), to tell time spent connecting
# from loss recovery.
#   bench/loss-split-startup.py DIR/TAG-rtmfp-tcp-r30-l10-b3-n1 [...]
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import sys

for base in sys.argv[1:]:
    send = [l.split() for l in open(base + '.send') if l[:1] in ('A', 'V')]
    recv = {}
    for l in open(base + '.recv'):
        f = l.split()
        if f and f[0] in ('A', 'V') and (f[0], f[1]) not in recv:
            recv[(f[0], f[1])] = int(f[4])
    streaming = None
    for l in open(base + '.send.out'):
        if 'send stats' in l and 'state=(string)streaming' in l:
            streaming = int(l.split('t=')[1].split()[0])
            break
    cap = [int(f[6]) for f in send if len(f) >= 7]
    t0, t1 = min(cap) + 3000000, max(cap) - 1000000
    name = base.split('/')[-1]
    for kind in ('A', 'V'):
        for label, lo in (('window', t0),
                          ('after streaming + 1 s',
                           max(t0, (streaming or t0) + 1000000))):
            fr = [f for f in send
                  if f[0] == kind and len(f) >= 7 and lo <= int(f[6]) <= t1]
            ok = sum(1 for f in fr if (kind, f[1]) in recv and
                     recv[(kind, f[1])] - int(f[6]) <= 400000)
            print('%s %s %s: %d/%d on time (%.1f %%)' %
                  (name, 'audio' if kind == 'A' else 'video', label, ok,
                   len(fr), 100.0 * ok / max(1, len(fr))))
    if streaming is None:
        print('%s: never streaming' % name)
    else:
        print('%s: connecting for %.1f s after the first capture' %
              (name, (streaming - min(cap)) / 1e6))
