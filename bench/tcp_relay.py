#!/usr/bin/env python3
"""A do-nothing TCP relay: bytes in, the same bytes out, no parsing, no TLS. The SSE
benchmark sends one stream through it to measure what one extra process on the path costs
on this machine (its wake-up per event), the floor under any proxy's added delay.

usage: tcp_relay.py TARGET_HOST TARGET_PORT   (prints the port it listens on)
"""
import selectors
import socket
import sys


def main():
    host, target_port = sys.argv[1], int(sys.argv[2])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, target_port))
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        relay(client, upstream)


def relay(a, b):
    """Copies both ways until either side closes."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select():
                data = key.fileobj.recv(1 << 16)
                if not data:
                    return
                key.data.sendall(data)
    finally:
        sel.close()
        a.close()
        b.close()


if __name__ == "__main__":
    main()
