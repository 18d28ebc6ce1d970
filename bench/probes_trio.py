"""The simulator's throughput probes and the bare trio baselines they are compared with.

Every probe is a plain function that starts its own ``trio.run`` (a fresh server, fresh
clients) and returns its figure, so the runner can interleave them. Echo probes count
round trips per second: a user sends a 64-byte text to an echo bot and waits for the echo,
while acks and delivery receipts flow as real clients make them (14 stanza hops per echo).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
import trio.testing

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.server import Server, ServerConfig, open_server
from simulator.server.server import DEFAULT_PROPS
from simulator.transport import Connector, MemoryConnector, TcpConnector

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
USER, BOT = "491110000001", "491110000002"
BOT_JID = f"{BOT}@s.whatsapp.net"
PAYLOAD = b"x" * 64
WINDOW = 64
"""Messages in flight in the pipelined probes."""


# ------------------------------------------------------------------ simulator echo


async def _echo_bot(connector: Connector, ready: trio.Event) -> None:
    async with open_client(connector, BOT, PASSWORD, announce=False) as client:
        ready.set()
        async for event in client.events():
            if isinstance(event, ev.GetMessage):
                await client.send_text(event.from_, event.body)


async def _sequential(user: Client, rounds: int) -> None:
    for _ in range(rounds):
        await user.send_text(BOT_JID, PAYLOAD)
        await user.wait_for(ev.GetMessage)


async def _pipelined(user: Client, rounds: int) -> None:
    window = trio.Semaphore(WINDOW)

    async def sender() -> None:
        for _ in range(rounds):
            await window.acquire()
            await user.send_text(BOT_JID, PAYLOAD)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender)
        for _ in range(rounds):
            await user.wait_for(ev.GetMessage)
            window.release()


async def _connector(server: Server, transport: str) -> Connector:
    """``node`` (the node link), ``bytes`` (the full wire in memory) or ``tcp``."""
    if transport == "tcp":
        return TcpConnector(*await server.listen_tcp())
    return MemoryConnector(server, "bytes" if transport == "bytes" else "nodes")


@asynccontextmanager
async def _bot_and_user(connector: Connector) -> AsyncIterator[Client]:
    """The echo bot logged in through ``connector``, then the user's client."""
    async with trio.open_nursery() as nursery:
        ready = trio.Event()
        nursery.start_soon(_echo_bot, connector, ready)
        await ready.wait()
        async with open_client(connector, USER, PASSWORD, announce=False) as user:
            yield user
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def _user_and_echo_bot(transport: str) -> AsyncIterator[tuple[Server, Client]]:
    """A server, the echo bot logged in over ``transport``, and the user's client."""
    async with (
        open_server(accounts=[(USER, PASSWORD), (BOT, PASSWORD)]) as server,
        _bot_and_user(await _connector(server, transport)) as user,
    ):
        yield server, user


def echo(transport: str, rounds: int, *, pipelined: bool) -> float:
    """Echo round trips per second through the simulator over ``transport``."""

    async def main() -> float:
        async with _user_and_echo_bot(transport) as (_server, user):
            await _sequential(user, 10)  # warm-up
            start = time.perf_counter()
            await (_pipelined if pipelined else _sequential)(user, rounds)
            elapsed = time.perf_counter() - start
        return rounds / elapsed

    return trio.run(main)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far, from ``/proc`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def echo_server_process(rounds: int, *, pipelined: bool, cpu: bool = False) -> float:
    """Echo round trips per second with the simulator in a process of its own.

    A fresh ``simulator serve`` (the command real clients use: TCP on a loopback port
    the OS picks, the two accounts) runs in a child process; the echo bot and the user
    are clients in this process, as with Prosody. ``cpu``: count the CPU seconds of both
    processes (this one's and the server's, from ``/proc``) instead of wall time.
    """
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--seed", "1"]
    command += ["--log-level", "warning"]
    for phone in (USER, BOT):
        command += ["--account", f"{phone}:{PASSWORD}"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
            if not first.startswith("listening on "):
                raise RuntimeError(f"simulator serve did not start: {first!r}")
            host, port = first.split()[-1].rsplit(":", 1)

            def clock() -> float:
                if cpu:
                    return time.process_time() + _cpu_seconds(server.pid)
                return time.perf_counter()

            async def main() -> float:
                async with _bot_and_user(TcpConnector(host, int(port))) as user:
                    await _sequential(user, 10)  # warm-up
                    start = clock()
                    await (_pipelined if pipelined else _sequential)(user, rounds)
                    elapsed = clock() - start
                return rounds / elapsed

            return trio.run(main)
        finally:
            server.terminate()
            server.wait(10)


def echo_hops(rounds: int = 50, transport: str = "node") -> float:
    """Stanza hops per echo over ``transport``, counted with the server's tap."""

    async def main() -> float:
        async with _user_and_echo_bot(transport) as (server, user):
            await _sequential(user, 5)
            hops = [0]

            def count(*_: object) -> None:
                hops[0] += 1

            untap = server.tap(count)
            await _sequential(user, rounds)
            await trio.testing.wait_all_tasks_blocked()
            untap()
        return hops[0] / rounds

    return trio.run(main)


# ------------------------------------------------------------------ bare trio baselines


def memory_ping_pong(rounds: int) -> float:
    """Round trips per second between two tasks over two trio memory channels."""

    async def main() -> float:
        to_tx, to_rx = trio.open_memory_channel[bytes](math.inf)
        back_tx, back_rx = trio.open_memory_channel[bytes](math.inf)

        async def echo() -> None:
            async for item in to_rx:
                back_tx.send_nowait(item)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo)
            start = time.perf_counter()
            for _ in range(rounds):
                to_tx.send_nowait(PAYLOAD)
                await back_rx.receive()
            elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
        return rounds / elapsed

    return trio.run(main)


def memory_relay(rounds: int) -> float:
    """Items per second through a relay task (two channels), ``WINDOW`` in flight."""

    async def main() -> float:
        to_tx, to_rx = trio.open_memory_channel[bytes](math.inf)
        back_tx, back_rx = trio.open_memory_channel[bytes](math.inf)
        window = trio.Semaphore(WINDOW)

        async def relay() -> None:
            async for item in to_rx:
                back_tx.send_nowait(item)

        async def producer() -> None:
            for _ in range(rounds):
                await window.acquire()
                to_tx.send_nowait(PAYLOAD)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(relay)
            start = time.perf_counter()
            nursery.start_soon(producer)
            for _ in range(rounds):
                await back_rx.receive()
                window.release()
            elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
        return rounds / elapsed

    return trio.run(main)


async def _tcp_echo_server(nursery: trio.Nursery) -> int:
    async def echo(stream: trio.SocketStream) -> None:
        async for data in stream:
            await stream.send_all(data)

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    nursery.start_soon(trio.serve_listeners, echo, listeners)
    port: int = listeners[0].socket.getsockname()[1]
    return port


async def _receive_exactly(stream: trio.SocketStream, size: int) -> None:
    received = 0
    while received < size:
        data = await stream.receive_some(max(size - received, 65536))
        if not data:
            raise ConnectionError("the echo server closed the connection")
        received += len(data)


def tcp_ping_pong(rounds: int) -> float:
    """Round trips per second of a 64-byte payload over a loopback trio socket."""

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            port = await _tcp_echo_server(nursery)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            start = time.perf_counter()
            for _ in range(rounds):
                await stream.send_all(PAYLOAD)
                await _receive_exactly(stream, len(PAYLOAD))
            elapsed = time.perf_counter() - start
            await stream.aclose()
            nursery.cancel_scope.cancel()
        return rounds / elapsed

    return trio.run(main)


def tcp_pipelined(rounds: int) -> float:
    """64-byte payloads per second echoed over loopback, ``WINDOW`` in flight."""

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            port = await _tcp_echo_server(nursery)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            window = trio.Semaphore(WINDOW)

            async def producer() -> None:
                for _ in range(rounds):
                    await window.acquire()
                    await stream.send_all(PAYLOAD)

            start = time.perf_counter()
            nursery.start_soon(producer)
            pending = 0
            done = 0
            while done < rounds:
                data = await stream.receive_some(65536)
                pending += len(data)
                while pending >= len(PAYLOAD):
                    pending -= len(PAYLOAD)
                    done += 1
                    window.release()
            elapsed = time.perf_counter() - start
            await stream.aclose()
            nursery.cancel_scope.cancel()
        return rounds / elapsed

    return trio.run(main)


# ------------------------------------------------------------------ group fan-out


def group_fan_out(members: int, messages: int) -> float:
    """Deliveries per second of group messages to ``members`` members, receipts on."""
    owner = "492220000000"
    phones = [f"49222{index:07d}" for index in range(1, members + 1)]
    props = {**DEFAULT_PROPS, "max_participants": str(members + 1)}

    finished = trio.Event()
    done = [0]

    async def member(server: Server, phone: str, ready: trio.Semaphore) -> None:
        async with open_client(MemoryConnector(server), phone, PASSWORD, announce=False) as c:
            ready.release()
            for _ in range(messages):
                await c.wait_for(ev.GetMessage)
            done[0] += 1
            if done[0] == members:
                finished.set()

    async def main() -> float:
        accounts = [(phone, PASSWORD) for phone in [owner, *phones]]
        config = ServerConfig(props=props)
        async with open_server(accounts=accounts, config=config) as server:
            ready = trio.Semaphore(0)
            async with trio.open_nursery() as nursery:
                for phone in phones:
                    nursery.start_soon(member, server, phone, ready)
                for _ in range(members):
                    await ready.acquire()
                connector = MemoryConnector(server)
                async with open_client(connector, owner, PASSWORD, announce=False) as sender:
                    group = await sender.create_group(
                        "bench", [f"{p}@s.whatsapp.net" for p in phones]
                    )
                    await trio.testing.wait_all_tasks_blocked()
                    start = time.perf_counter()
                    for _ in range(messages):
                        await sender.send_text(group, PAYLOAD)
                    await finished.wait()
                    elapsed = time.perf_counter() - start
        return members * messages / elapsed

    return trio.run(main)


def bare_fan_out(members: int, messages: int) -> float:
    """Deliveries per second from one task to ``members`` tasks over memory channels."""

    async def main() -> float:
        channels = [trio.open_memory_channel[bytes](math.inf) for _ in range(members)]
        finished = trio.Event()
        done = [0]

        async def consumer(receive: trio.MemoryReceiveChannel[bytes]) -> None:
            for _ in range(messages):
                await receive.receive()
            done[0] += 1
            if done[0] == members:
                finished.set()

        async with trio.open_nursery() as nursery:
            for _, receive in channels:
                nursery.start_soon(consumer, receive)
            await trio.testing.wait_all_tasks_blocked()
            start = time.perf_counter()
            for _ in range(messages):
                for send, _ in channels:
                    send.send_nowait(PAYLOAD)
                await trio.lowlevel.checkpoint()
            await finished.wait()
            elapsed = time.perf_counter() - start
        return members * messages / elapsed

    return trio.run(main)
