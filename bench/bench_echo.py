"""Echo round trips per second through the simulator, next to a bare trio ping-pong.

A user sends a text to an echo bot and waits for the echo; acks and receipts flow as
they would with real clients (the server acks each message, each client sends a
delivery receipt, the server acks each receipt and forwards it). Each transport is
printed next to a baseline of the same kind measured in the same run:

* node link  vs a ping-pong over two trio memory channels;
* TCP        vs a ping-pong of the same payload size over a loopback trio socket.

One echo is many stanza hops (message, ack, receipt, ack, each way: counted with a
server tap), while a ping-pong round trip is two; the last column divides the ratio by
hops/2, the cost of one stanza hop against one bare hop.

Run: ``.venv/bin/python bench/bench_echo.py [ROUND_TRIPS]``. No assertions: the ratio is
the result.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Awaitable, Callable

import trio

from simulator.client import events as ev
from simulator.client import open_client
from simulator.server import open_server
from simulator.transport import Connector, MemoryConnector, TcpConnector

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
USER, BOT = "491110000001", "491110000002"
PAYLOAD = b"x" * 64


async def echo_through_simulator(connector: Connector, rounds: int) -> float:
    async with trio.open_nursery() as nursery:
        bot_ready = trio.Event()

        async def bot() -> None:
            async with open_client(connector, BOT, PASSWORD, announce=False) as client:
                bot_ready.set()
                async for event in client.events():
                    if isinstance(event, ev.GetMessage):
                        await client.send_text(event.from_, event.body)

        nursery.start_soon(bot)
        await bot_ready.wait()
        async with open_client(connector, USER, PASSWORD, announce=False) as user:
            start = time.perf_counter()
            for _ in range(rounds):
                await user.send_text(f"{BOT}@s.whatsapp.net", PAYLOAD)
                await user.wait_for(ev.GetMessage)
            elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return rounds / elapsed


async def memory_ping_pong(rounds: int) -> float:
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


async def tcp_ping_pong(rounds: int) -> float:
    async def echo(stream: trio.SocketStream) -> None:
        async for data in stream:
            await stream.send_all(data)

    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        nursery.start_soon(trio.serve_listeners, echo, listeners)
        port = listeners[0].socket.getsockname()[1]
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        start = time.perf_counter()
        for _ in range(rounds):
            await stream.send_all(PAYLOAD)
            received = 0
            while received < len(PAYLOAD):
                received += len(await stream.receive_some(65536))
        elapsed = time.perf_counter() - start
        await stream.aclose()
        nursery.cancel_scope.cancel()
    return rounds / elapsed


async def main(rounds: int) -> None:
    async with open_server(accounts=[(USER, PASSWORD), (BOT, PASSWORD)]) as server:
        address = await server.listen_tcp()
        rows: list[tuple[str, Callable[[], Awaitable[float]], Callable[[], Awaitable[float]]]] = [
            (
                "node link",
                lambda: echo_through_simulator(MemoryConnector(server), rounds),
                lambda: memory_ping_pong(rounds),
            ),
            (
                "memory bytes",
                lambda: echo_through_simulator(MemoryConnector(server, "bytes"), rounds),
                lambda: memory_ping_pong(rounds),
            ),
            (
                "tcp",
                lambda: echo_through_simulator(TcpConnector(*address), rounds),
                lambda: tcp_ping_pong(rounds),
            ),
        ]
        hops = [0]
        server.tap(lambda _direction, _jid, _node: hops.__setitem__(0, hops[0] + 1))
        print(f"{rounds} echo round trips (user -> bot -> user, with acks and receipts)")
        print(
            f"{'transport':<14}{'simulator/s':>14}{'baseline/s':>14}{'ratio':>10}"
            f"{'hops/echo':>11}{'per hop':>10}"
        )
        for name, measure, baseline in rows:
            hops[0] = 0
            sim = await measure()
            per_echo = hops[0] / rounds
            base = await baseline()
            ratio = base / sim
            print(
                f"{name:<14}{sim:>14,.0f}{base:>14,.0f}{ratio:>9.1f}x"
                f"{per_echo:>11.1f}{ratio / (per_echo / 2):>9.1f}x"
            )
        _ = server  # keep the server open for every row


def run(rounds: int = 2000) -> None:
    trio.run(main, rounds)


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
