#!/usr/bin/env python3
"""Sends COUNT sequential GET requests on one keep-alive connection (after WARMUP more)
and prints the round-trip times as JSON (µs): p50, p90, p99, mean, and all samples.

wrk's latency percentiles are not trustworthy on a busy machine with TLS (its mean often
exceeds the time per request implied by its own request rate), so the single-connection
latency is measured with this small client; its own overhead is the same for every
variant, and only differences between variants are reported.

usage: latency_probe.py URL COUNT [--warmup N] [--cafile PEM] [--header 'Name: value']...
"""
import json
import socket
import ssl
import statistics
import sys
import time
from urllib.parse import urlsplit


def main():
    args = sys.argv[1:]
    url, count = args.pop(0), int(args.pop(0))
    warmup, cafile, headers = 1000, None, []
    while args:
        flag = args.pop(0)
        if flag == "--warmup":
            warmup = int(args.pop(0))
        elif flag == "--cafile":
            cafile = args.pop(0)
        elif flag == "--header":
            headers.append(args.pop(0))
        else:
            raise SystemExit(f"unknown argument {flag}")
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    target = parts.path + ("?" + parts.query if parts.query else "")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        + "".join(h + "\r\n" for h in headers)
        + "\r\n"
    ).encode()
    samples = []
    for i in range(warmup + count):
        started = time.perf_counter_ns()
        sock.sendall(request)
        read_response(sock)
        if i >= warmup:
            samples.append((time.perf_counter_ns() - started) / 1000)
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(len(ordered) * q))]
    print(json.dumps({"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99),
                      "mean": statistics.mean(samples), "samples": samples}))


def read_response(sock):
    buffer = b""
    while True:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            break
        buffer += receive(sock)
    head = buffer[:head_end].decode("latin-1").lower()
    if not head.startswith("http/1.1 200"):
        raise SystemExit(f"unexpected response: {head.splitlines()[0]}")
    body = buffer[head_end + 4:]
    length = None
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name == "content-length":
            length = int(value)
    if length is not None:
        while len(body) < length:
            body += receive(sock)
    else:  # chunked
        while not body.endswith(b"0\r\n\r\n"):
            body += receive(sock)


def receive(sock):
    data = sock.recv(1 << 16)
    if not data:
        raise SystemExit("connection closed")
    return data


if __name__ == "__main__":
    main()
