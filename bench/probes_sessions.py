"""Idle sessions: memory per logged-in session and logins per second as sessions accumulate.

Each probe runs in a fresh child process (``run.py --child ...``) so resident memory is
measured from a clean start: RSS after one warm-up session, then after ``N`` more, divided
by ``N``. Sessions are opened one after the other and kept open, so the time of the first
and of the last tenth of the logins shows whether a login gets slower as sessions pile up.

* simulator, node link: an in-process client (with its reader task) and its server session;
* simulator, TCP: the same over loopback TCP, with both socket ends in this process;
* bare tasks: 2 tasks blocked on 2 trio memory channels per session;
* bare TCP: one loopback connection per session, a task blocked reading at each end;
* server end (simulator or bare TCP): the server alone in a child process of its own
  (the clients stay in the probe's process), and the memory is that child's RSS per
  session: one end of each connection, as a deployed server pays for it. The login
  rates are measured the same way, with the server and the clients each on their own
  interpreter (and CPU, if the machine has two).

A task started with ``nursery.start`` drops its ``task_status`` once started: kept, it
holds the temporary nursery ``start`` ran it in (a cancel scope, its status and three
sets, about 1.2 KiB), which is the probe's cost, not a session's.
"""

from __future__ import annotations

import gc
import os
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from simulator.client import open_client
from simulator.server import ServerConfig, open_server
from simulator.transport import Connector, MemoryConnector, TcpConnector

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="


def rss_bytes() -> int:
    """Resident memory of this process now (Linux), or its peak elsewhere."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raise_fd_limit(needed: int) -> int:
    """Raise the open-files limit towards ``needed``; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (max(needed, soft), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
            return target
        except (ValueError, OSError):
            continue
    return soft


def _phone(index: int) -> str:
    return f"49333{index:07d}"


async def _accumulate(
    count: int, open_one: Callable[[int, trio.Nursery], Awaitable[None]]
) -> dict[str, float]:
    """Open ``1 + count`` sessions one by one; memory and login rates of the ``count``."""
    async with trio.open_nursery() as nursery:
        await open_one(0, nursery)  # warm-up: lazy imports, first allocations
        gc.collect()
        before = rss_bytes()
        stamps = [time.perf_counter()]
        for index in range(1, count + 1):
            await open_one(index, nursery)
            stamps.append(time.perf_counter())
        gc.collect()
        after = rss_bytes()
        nursery.cancel_scope.cancel()
    return _figures(after - before, stamps)


def _figures(grown: int, stamps: list[float]) -> dict[str, float]:
    """KiB per session and the login rates of the first and the last tenth, from the
    memory grown over the sessions and the time stamp before each (and after the last)."""
    count = len(stamps) - 1
    tenth = max(count // 10, 1)
    return {
        "kib": grown / count / 1024,
        "first": tenth / (stamps[tenth] - stamps[0]),
        "last": tenth / (stamps[-1] - stamps[-1 - tenth]),
        "count": count,
    }


def simulator_sessions(transport: str, count: int) -> dict[str, float]:
    if transport == "tcp":
        count = min(count, (raise_fd_limit(2 * count + 200) - 200) // 2)

    async def hold(connector: Connector, phone: str, *, task_status: trio.TaskStatus[None]) -> None:
        async with open_client(connector, phone, PASSWORD, announce=False):
            task_status.started()
            del task_status  # else it keeps trio's start() nursery alive
            await trio.sleep_forever()

    async def main() -> dict[str, float]:
        accounts = [(_phone(index), PASSWORD) for index in range(count + 1)]
        # The session count is the point here: lift the connection cap above it.
        config = ServerConfig(max_connections=count + 16)
        async with open_server(accounts=accounts, config=config) as server:
            connector: Connector
            if transport == "tcp":
                connector = TcpConnector(*await server.listen_tcp())
            else:
                connector = MemoryConnector(server)

            async def open_one(index: int, nursery: trio.Nursery) -> None:
                await nursery.start(hold, connector, _phone(index))

            return await _accumulate(count, open_one)

    return trio.run(main)


def bare_sessions(transport: str, count: int) -> dict[str, float]:
    if transport == "tcp":
        count = min(count, (raise_fd_limit(2 * count + 200) - 200) // 2)

    async def drain_stream(stream: trio.SocketStream) -> None:
        async for _ in stream:
            pass

    senders: list[trio.MemorySendChannel[bytes]] = []

    async def main() -> dict[str, float]:
        async with trio.open_nursery() as outer:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            outer.start_soon(trio.serve_listeners, drain_stream, listeners)
            port = listeners[0].socket.getsockname()[1]

            async def connect(*, task_status: trio.TaskStatus[None]) -> None:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                task_status.started()
                del task_status  # else it keeps trio's start() nursery alive
                await drain_stream(stream)

            async def open_one(_index: int, nursery: trio.Nursery) -> None:
                if transport == "tcp":
                    await nursery.start(connect)
                else:
                    for _ in range(2):
                        send, receive = trio.open_memory_channel[bytes](0)
                        senders.append(send)
                        nursery.start_soon(receive.receive)
                    await trio.lowlevel.checkpoint()

            result = await _accumulate(count, open_one)
            outer.cancel_scope.cancel()
        return result

    return trio.run(main)


# ---------------------------------------------------------------- the server end alone


def serve_child(who: str, count: int) -> None:
    """The server side of :func:`server_end_sessions`, in its own process: a simulator
    server with ``count + 1`` accounts (or a bare trio server with a task reading each
    connection) on a loopback port, which it prints; then, for each line on stdin, a
    full collection and this process's RSS in bytes on stdout (for a line ``cpu``: this
    process's CPU seconds so far, and no collection); it ends at stdin's end."""
    raise_fd_limit(count + 200)

    async def drain_stream(stream: trio.SocketStream) -> None:
        async for _ in stream:
            pass

    async def control(port: int) -> None:
        print(port, flush=True)
        stdin = trio.lowlevel.FdStream(os.dup(0))
        pending = b""
        async for chunk in stdin:
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line == b"cpu":
                    print(time.process_time(), flush=True)
                    continue
                gc.collect()
                print(rss_bytes(), flush=True)

    async def main() -> None:
        if who == "simulator":
            accounts = [(_phone(index), PASSWORD) for index in range(count + 1)]
            config = ServerConfig(max_connections=count + 16)
            async with open_server(accounts=accounts, config=config) as server:
                _host, port = await server.listen_tcp()
                await control(port)
            return
        async with trio.open_nursery() as nursery:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            nursery.start_soon(trio.serve_listeners, drain_stream, listeners)
            await control(listeners[0].socket.getsockname()[1])
            nursery.cancel_scope.cancel()

    trio.run(main)


def server_end_sessions(who: str, count: int) -> dict[str, float]:
    """Memory per session of the server end alone (its own process) and the login (or
    connect) rates, the clients in this process: ``who`` is ``simulator`` or ``bare``.
    Also the CPU milliseconds per login of each process over the logins (``client_ms``:
    this one, ``server_ms``: the server's): which one a login waits for."""
    count = min(count, (raise_fd_limit(count + 200) - 200))
    here = Path(__file__).resolve().parent
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(here)!r}); import probes_sessions as p; "
            f"p.serve_child({who!r}, {count})",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    ask, answer = server.stdin, server.stdout

    def server_rss() -> int:
        ask.write("rss\n")
        ask.flush()
        return int(answer.readline())

    def server_cpu() -> float:
        ask.write("cpu\n")
        ask.flush()
        return float(answer.readline())

    try:
        port = int(answer.readline())
        connector = TcpConnector("127.0.0.1", port)

        async def hold(phone: str, *, task_status: trio.TaskStatus[None]) -> None:
            async with open_client(connector, phone, PASSWORD, announce=False):
                task_status.started()
                del task_status  # else it keeps trio's start() nursery alive
                await trio.sleep_forever()

        async def connect(*, task_status: trio.TaskStatus[None]) -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            task_status.started()
            del task_status  # else it keeps trio's start() nursery alive
            async for _ in stream:
                pass

        async def main() -> dict[str, float]:
            async with trio.open_nursery() as nursery:
                if who == "simulator":
                    await nursery.start(hold, _phone(0))
                else:
                    await nursery.start(connect)
                await trio.sleep(0.2)  # the server is done with the warm-up
                before = server_rss()
                cpu_before = (time.process_time(), server_cpu())
                stamps = [time.perf_counter()]
                for index in range(1, count + 1):
                    if who == "simulator":
                        await nursery.start(hold, _phone(index))
                    else:
                        await nursery.start(connect)
                    stamps.append(time.perf_counter())
                cpu_after = (time.process_time(), server_cpu())
                await trio.sleep(0.2)
                after = server_rss()
                nursery.cancel_scope.cancel()
            figures = _figures(after - before, stamps)
            names = ("client_ms", "server_ms")
            for key, start, end in zip(names, cpu_before, cpu_after, strict=True):
                figures[key] = (end - start) / count * 1000
            return figures

        return trio.run(main)
    finally:
        ask.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
