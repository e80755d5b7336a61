#!/usr/bin/env python3
"""A competing TCP bulk flow for the loss bench (bench/rtmfp-bench-loss.sh).

    tcp-bulk.py recv HOST PORT SECONDS LOG   # accept one connection, count
    tcp-bulk.py send HOST PORT SECONDS [CC]  # send as fast as TCP allows

The receiver writes "T_US BYTES" lines (CLOCK_MONOTONIC in microseconds,
the clock of the bench's frame logs, and the bytes received so far) every
100 ms to LOG, so that the flow's share of a bottleneck can be taken over
any window.  The sender uses the congestion control CC when given
(TCP_CONGESTION), else the route's or the kernel's default, and prints
the one it has.  Both stop after SECONDS (bounded) or on SIGTERM.
"""
import signal
import socket
import sys
import time


def now_us():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("send", "recv"):
        sys.exit(__doc__)
    role, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    end = time.monotonic() + seconds
    if role == "recv":
        log = open(sys.argv[5], "w", buffering=1)
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(1)
        print("ready", flush=True)
        srv.settimeout(max(0.1, end - time.monotonic()))
        conn, _ = srv.accept()
        conn.settimeout(0.1)
        total, last = 0, 0.0
        while time.monotonic() < end:
            try:
                b = conn.recv(1 << 16)
                if not b:
                    break
                total += len(b)
            except socket.timeout:
                pass
            t = time.monotonic()
            if t - last >= 0.1:
                log.write("%d %d\n" % (now_us(), total))
                last = t
        log.write("%d %d\n" % (now_us(), total))
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if len(sys.argv) > 5 and sys.argv[5]:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[5].encode())
    s.connect((host, port))
    cc = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b"\0")[0]
    print("cc %s" % cc.decode(), flush=True)
    s.settimeout(0.2)
    chunk = b"\0" * (1 << 16)
    while time.monotonic() < end:
        try:
            s.send(chunk)
        except socket.timeout:
            pass
        except OSError:
            break


if __name__ == "__main__":
    main()
