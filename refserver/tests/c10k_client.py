#!/usr/bin/env python3
"""Opens N keep-alive sessions to a refserver, each served once; reports READY and waits
for a line on stdin (the test measures the server's memory meanwhile), idles, then sends a
second request on every session and reports how many were served twice.

usage: c10k_client.py HOST PORT N IDLE_SECONDS
"""
import asyncio
import json
import signal
import sys

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: c10k\r\n\r\n"


async def one_request(reader, writer):
    writer.write(REQUEST)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200") and body == b"Hello, World!"


async def open_session(host, port, sem):
    async with sem:
        reader, writer = await asyncio.open_connection(host, port)
        ok = await one_request(reader, writer)
        return (reader, writer) if ok else None


async def main():
    host, port, n, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sem = asyncio.Semaphore(500)
    results = await asyncio.gather(
        *(open_session(host, port, sem) for _ in range(n)), return_exceptions=True
    )
    sessions = [r for r in results if r and not isinstance(r, BaseException)]
    errors = [repr(r) for r in results if isinstance(r, BaseException)][:3]
    print(json.dumps({"phase": "ready", "open": len(sessions), "errors": errors}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(idle)

    async def again(rw):
        try:
            return await asyncio.wait_for(one_request(*rw), 30)
        except Exception:
            return False

    served = 0
    for i in range(0, len(sessions), 1000):
        served += sum(await asyncio.gather(*(again(rw) for rw in sessions[i:i + 1000])))
    print(json.dumps({"phase": "done", "served_again": served}), flush=True)
    for _, w in sessions:
        w.close()


# Bound the whole run: SIGALRM's default action ends the process, and the test sees EOF.
signal.alarm(150)
asyncio.run(main())
