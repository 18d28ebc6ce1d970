"""Echo round trips per second through the simulator, next to a bare trio ping-pong.

A user sends a text to an echo bot and waits for the echo; acks and receipts flow as
they would with real clients (the server acks each message, each client sends a
delivery receipt, the server acks each receipt and forwards it). Each transport is
printed next to a baseline of the same kind measured in the same run:

* node link     vs a ping-pong over two trio memory channels;
* memory bytes  (the full wire, in memory) vs the same memory-channel ping-pong;
* TCP           vs a ping-pong of the same payload size over a loopback trio socket.

One echo is many stanza hops (message, ack, receipt, ack, each way: counted with a
server tap), while a ping-pong round trip is two; the last column divides the ratio by
hops/2, the cost of one stanza hop against one bare hop. The probes are those of
``bench/run.py`` (``probes_trio``), which prints every benchmark in one table.

Run: ``.venv/bin/python bench/bench_echo.py [ROUND_TRIPS]``. No assertions: the ratio is
the result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import probes_trio as probes


def run(rounds: int = 2000) -> None:
    rows: list[tuple[str, str, Callable[[int], float]]] = [
        ("node link", "node", probes.memory_ping_pong),
        ("memory bytes", "bytes", probes.memory_ping_pong),
        ("tcp", "tcp", probes.tcp_ping_pong),
    ]
    print(f"{rounds} echo round trips (user -> bot -> user, with acks and receipts)")
    print(
        f"{'transport':<14}{'simulator/s':>14}{'baseline/s':>14}{'ratio':>10}"
        f"{'hops/echo':>11}{'per hop':>10}"
    )
    for name, transport, baseline in rows:
        sim = probes.echo(transport, rounds, pipelined=False)
        per_echo = probes.echo_hops(transport=transport)
        base = baseline(rounds)
        ratio = base / sim
        print(
            f"{name:<14}{sim:>14,.0f}{base:>14,.0f}{ratio:>9.1f}x"
            f"{per_echo:>11.1f}{ratio / (per_echo / 2):>9.1f}x"
        )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
