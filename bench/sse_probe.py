#!/usr/bin/env python3
"""Reads one timestamped SSE stream (the test gateway's /sse) and prints, as JSON, how long
each event took from the gateway's write to this reader (µs), and how many events each
read returned (more than one means events were coalesced somewhere on the way).

usage: sse_probe.py URL [--cafile PEM] [--header 'Name: value']...
"""
import json
import re
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit


def main():
    args = sys.argv[1:]
    url = args.pop(0)
    cafile = None
    headers = []
    while args:
        flag = args.pop(0)
        if flag == "--cafile":
            cafile = args.pop(0)
        elif flag == "--header":
            headers.append(args.pop(0))
        else:
            raise SystemExit(f"unknown argument {flag}")
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        sock = context.wrap_socket(sock, server_hostname=host)
    target = parts.path + ("?" + parts.query if parts.query else "")
    head = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "".join(h + "\r\n" for h in headers)
    head += "Connection: close\r\n\r\n"
    sock.sendall(head.encode())
    delays, per_read, pending = [], [], b""
    pattern = re.compile(rb'"sent_us":(\d+)')
    while True:
        data = sock.recv(1 << 16)
        now_us = time.time_ns() // 1000
        if not data:
            break
        pending += data
        # Only complete lines count; the rest waits for the next read.
        cut = pending.rfind(b"\n")
        if cut < 0:
            continue
        complete, pending = pending[: cut + 1], pending[cut + 1 :]
        found = [int(m.group(1)) for m in pattern.finditer(complete)]
        if found:
            per_read.append(len(found))
            delays.extend(now_us - sent for sent in found)
    print(json.dumps({"delays_us": delays, "max_events_per_read": max(per_read or [0])}))


if __name__ == "__main__":
    main()
