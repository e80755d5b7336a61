"""Child processes for the docs test: each in its own process group, its
output read line by line (with arrival times) on a thread and kept in a log
file, every wait bounded, and all of them killed on any exit (SIGTERM to
the group, SIGKILL after a grace period).

SPDX-License-Identifier: LGPL-2.1-or-later
"""
import atexit
import os
import re
import signal
import socket
import subprocess
import threading
import time

GRACE = 5.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")     # GST_DEBUG's colours
_children = []


class Lines:
    """A pipe read line by line on a thread, each line with its arrival
    time (time.monotonic()) and without colour codes; also written to a
    log file"""

    def __init__(self, stream, log_path):
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.log = open(log_path, "w", encoding="utf-8")
        self.thread = threading.Thread(target=self._run, args=(stream,),
                                       daemon=True)
        self.thread.start()

    def _run(self, stream):
        for raw in stream:
            line = ANSI.sub("", raw.decode("utf-8", "replace").rstrip("\n"))
            now = time.monotonic()
            self.log.write(line + "\n")
            with self.cond:
                self.lines.append((now, line))
                self.cond.notify_all()
        self.log.close()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_for(self, pred, timeout, start=0):
        """(arrival time, line) of the first line from index start that
        matches pred, or (None, None) after timeout or at the end"""
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return self.lines[i]
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None, None
                self.cond.wait(min(left, 1.0))

    def count(self, pred):
        with self.cond:
            return sum(1 for _, line in self.lines if pred(line))

    def snapshot(self):
        with self.cond:
            return list(self.lines)

    def wait_closed(self, timeout):
        self.thread.join(timeout)
        return not self.thread.is_alive()


class Child:
    """A started program: Popen, its Lines (stdout and stderr together),
    its name for messages"""

    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.started = time.monotonic()
        self.popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.lines = Lines(self.popen.stdout, log_path)
        self.log_path = log_path
        _children.append(self)

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def signal(self, sig):
        """To the program itself (gst-launch handles SIGINT)"""
        if self.running():
            self.popen.send_signal(sig)

    def wait(self, timeout):
        """The exit status, or None if still running after timeout"""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill_group(self):
        """SIGTERM to the process group, SIGKILL after the grace period"""
        if self.running():
            _signal_group(self.pid, signal.SIGTERM)
            if self.wait(GRACE) is None:
                _signal_group(self.pid, signal.SIGKILL)
                self.wait(GRACE)
        else:
            _signal_group(self.pid, signal.SIGKILL)   # leftovers of the group
        self.lines.wait_closed(GRACE)

    def output(self):
        return [line for _, line in self.lines.snapshot()]


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def cleanup_all():
    """Every child still running: its group terminated, then killed"""
    while _children:
        _children.pop().kill_group()


def _on_signal(signum, frame):
    cleanup_all()
    os._exit(128 + signum)


def install_cleanup():
    atexit.register(cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def free_port_pair(tries=20):
    """A port number free on 127.0.0.1 for both TCP and UDP (bound and
    released: the caller must cope with losing a race for it)"""
    for _ in range(tries):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            tcp.close()
            udp.close()
    raise RuntimeError("no port free for both TCP and UDP in %d tries" % tries)
