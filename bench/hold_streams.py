#!/usr/bin/env python3
"""Opens N concurrent SSE streams through a plain-HTTP proxy, waits until every one has
received its first event, prints "ready <N>", and holds them open until stdin closes.

usage: hold_streams.py PORT COUNT [--header 'Name: value']...
"""
import asyncio
import sys


async def stream(port, head, first_event, stop):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    buffer = b""
    while b"data:" not in buffer:
        chunk = await reader.read(4096)
        if not chunk:
            raise RuntimeError("stream closed before its first event")
        buffer += chunk
    first_event()
    reader_task = asyncio.ensure_future(drain(reader))
    await stop.wait()
    reader_task.cancel()
    writer.close()


async def drain(reader):
    while await reader.read(4096):
        pass


async def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    headers = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--header"]
    head = (
        f"GET /sse?events=100000&interval_ms=1000 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        + "".join(h + "\r\n" for h in headers)
        + "\r\n"
    ).encode()
    stop = asyncio.Event()
    ready = {"n": 0}
    all_ready = asyncio.Event()

    def first_event():
        ready["n"] += 1
        if ready["n"] == count:
            all_ready.set()

    tasks = []
    for _ in range(count):
        tasks.append(asyncio.ensure_future(stream(port, head, first_event, stop)))
        await asyncio.sleep(0.001)
    await asyncio.wait_for(all_ready.wait(), timeout=120)
    print(f"ready {count}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


asyncio.run(main())
