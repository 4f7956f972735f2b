#!/usr/bin/env python3
"""How long a proxy takes to pass on each SSE event once it has it (SPEC §10: "each event
forwarded ≤ 30 µs after it arrives"): from the end of the read that brought the event in
to the start of the write that sends it on, from the proxy's own system calls.

Reads `perf script` output of `perf record -e 'syscalls:sys_exit_read*' -e
'syscalls:sys_exit_recvfrom' -e 'syscalls:sys_enter_write*' -e 'syscalls:sys_enter_sendto'`
on the proxy while one stream with events far apart (20 ms) flows through it, and prints
JSON: {"delays_us": [...]}. An event is a successful read after at least GAP_US of
silence in that thread; its forwarding is the first write that follows in the same thread.

usage: perf script -i perf.data | forwarding_delay.py
"""
import json
import re
import sys

GAP_US = 5000
LINE = re.compile(
    r"^\s*\S+\s+(\d+)(?:/(\d+))?\s+(?:\[\d+\]\s+)?([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(.*)$"
)


def main():
    last_activity = {}
    arrived = {}
    delays = []
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        tid = m.group(2) or m.group(1)
        now_us = float(m.group(3)) * 1e6
        kind, call, rest = m.group(4), m.group(5), m.group(6)
        quiet = now_us - last_activity.get(tid, 0) >= GAP_US
        last_activity[tid] = now_us
        if kind == "exit" and call in ("read", "readv", "recvfrom"):
            ret = re.search(r"0x([0-9a-f]+)", rest)
            got = int(ret.group(1), 16) if ret else 0
            # A negative return (EAGAIN) prints as a huge number: not data.
            if 0 < got < 1 << 32 and quiet and tid not in arrived:
                arrived[tid] = now_us
        elif kind == "enter" and call in ("write", "writev", "sendto") and tid in arrived:
            delays.append(round(now_us - arrived.pop(tid)))
    print(json.dumps({"delays_us": delays}))


if __name__ == "__main__":
    main()
