"""What parked, stalled and slow peers cost a served server: memory, fds, and service.

Starts ``simulator serve`` in a child process (so its memory is its own) and drives it
over loopback from here:

1. **Parked logins.** ``PEERS`` peers each send the preamble and a frame header
   announcing ``ANNOUNCED`` bytes, then most of that payload, and stay. Then ``PEERS``
   more announce a frame just under the login limit and send half of it. Meanwhile a
   real client logs in and gets its own message back. The server's RSS and open fds are
   printed before, during, and after the peers leave.
2. **Slow HTTP.** ``HALF_SENT`` connections send half a request head and stay; then one
   real request is made (its status, or how it failed). Then ``BODIES`` requests
   announce a 19 MiB body and send most of it without finishing; RSS before and during.

Run: ``.venv/bin/python bench/bench_resources.py`` (a minute at most). To measure another
checkout (e.g. the code before the limits), point ``--source`` at its directory: its
``simulator`` package is the one served. No assertions: the figures are the result.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import trio

from simulator.client import events as ev
from simulator.client import open_client

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
ALICE = "491110000001"
PEERS = 200
ANNOUNCED = 0xFFFFF
HALF_SENT = 300
BODIES = 10
BODY = 19 * 1024 * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def start_server(source: Path) -> tuple[subprocess.Popen[str], tuple[str, int], tuple[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--http-port", "0"]
    command += ["--account", f"{ALICE}:{PASSWORD}"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=source)
    assert proc.stdout is not None
    tcp = http = None
    while tcp is None or http is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server did not start")
        if line.startswith(("listening on ", "http on ")):
            host, _, port = line.split()[-1].rpartition(":")
            if line.startswith("http"):
                http = (host, int(port))
            else:
                tcp = (host, int(port))
    return proc, tcp, http


async def real_client(address: tuple[str, int]) -> str:
    """Log in and echo a message to oneself; how long it took, or why it failed."""
    start = time.perf_counter()
    try:
        with trio.fail_after(20):
            async with open_client(address, ALICE, PASSWORD, announce=False) as alice:
                await alice.send_text(f"{ALICE}@s.whatsapp.net", "echo")
                await alice.wait_for(ev.GetMessage)
    except Exception as exc:  # any failure is the figure
        return f"failed: {type(exc).__name__}: {exc}"
    return f"served in {time.perf_counter() - start:.2f} s"


async def send_quietly(stream: trio.SocketStream, data: bytes) -> None:
    """Send what the server accepts; a server that refuses and closes is fine here."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(data)


async def open_many(address: tuple[str, int], count: int) -> list[trio.SocketStream]:
    streams = []
    for _ in range(count):
        try:
            streams.append(await trio.open_tcp_stream(*address))
        except OSError:
            break
    return streams


async def close_all(streams: list[trio.SocketStream]) -> None:
    for stream in streams:
        with contextlib.suppress(trio.BrokenResourceError):
            await stream.aclose()


async def parked_logins(pid: int, address: tuple[str, int]) -> None:
    print(f"parked logins ({PEERS} peers announcing {ANNOUNCED} bytes, {PEERS} just under 16 KiB)")
    print(f"  real client before:  {await real_client(address)}")
    before, fds_before = rss_mib(pid), fds(pid)
    big = await open_many(address, PEERS)
    async with trio.open_nursery() as nursery:
        for stream in big:
            payload = b"WA\x01\x06" + bytes((0x0F, 0xFF, 0xFF)) + bytes(ANNOUNCED - 4096)
            nursery.start_soon(send_quietly, stream, payload)
    small = await open_many(address, PEERS)
    for stream in small:
        await send_quietly(stream, b"WA\x01\x06" + bytes((0x00, 0x3E, 0x80)) + bytes(8000))
    await trio.sleep(1)  # let the server read what it will
    during, fds_during = rss_mib(pid), fds(pid)
    served = await real_client(address)
    await close_all(big + small)
    await trio.sleep(2)  # let the server see them go
    after, fds_after = rss_mib(pid), fds(pid)
    print(f"  real client during:  {served}")
    print(f"  RSS MiB  before {before:7.1f}  during {during:7.1f}  after {after:7.1f}")
    print(f"  fds      before {fds_before:7d}  during {fds_during:7d}  after {fds_after:7d}")


async def http_request(address: tuple[str, int]) -> str:
    try:
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream(*address)
            await stream.send_all(b"GET /v2/exist?cc=1 HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some():
                data += chunk
            await stream.aclose()
    except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
        return f"failed: {type(exc).__name__}"
    return data.split(b"\r\n", 1)[0].decode() if data else "closed without an answer"


async def slow_http(pid: int, address: tuple[str, int]) -> None:
    print(f"slow HTTP ({HALF_SENT} half-sent heads, then {BODIES} unfinished 19 MiB bodies)")
    half = await open_many(address, HALF_SENT)
    for stream in half:
        await send_quietly(stream, b"POST /v2/code HTTP/1.1\r\nHost: x\r\nContent-Le")
    await trio.sleep(1)
    print(f"  real request during half-sent heads: {await http_request(address)}")
    await close_all(half)
    await trio.sleep(1)
    before = rss_mib(pid)
    bodies = await open_many(address, BODIES)
    head = f"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\n\r\n".encode()
    async with trio.open_nursery() as nursery:
        for stream in bodies:
            nursery.start_soon(send_quietly, stream, head + bytes(BODY - 1024 * 1024))
    await trio.sleep(1)
    during = rss_mib(pid)
    await close_all(bodies)
    await trio.sleep(1)
    print(
        f"  RSS MiB  before {before:7.1f}  during bodies {during:7.1f}  after {rss_mib(pid):7.1f}"
    )


async def main(source: Path) -> None:
    proc, tcp, http = start_server(source)
    try:
        print(f"server from {source} (pid {proc.pid})")
        await parked_logins(proc.pid, tcp)
        await slow_http(proc.pid, http)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose simulator is served (default: this one)",
    )
    trio.run(main, parser.parse_args().source.resolve())
