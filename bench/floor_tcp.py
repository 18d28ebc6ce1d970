"""How fast can the TCP echo be in CPython with this protocol? The floor under the TCP rows.

    .venv/bin/python bench/floor_tcp.py [--rounds 3000] [--repeat 5] [--modes nodes,bytes]

One echo of the TCP rows is 14 sealed frames (counted with the server's tap; the shapes
below are the tap's, byte for byte the same attributes):

    user -> server   <message to=bot type=text id=A><body>64 bytes</body></message>
    server -> user   <ack class=message id=A from=bot t/>
    server -> bot    <message from=user type=text id=A t notify offline><body/></message>
    bot -> server    <receipt to=user id=A/>              (one write with the next)
    bot -> server    <message to=user type=text id=B><body/></message>
    server -> bot    <ack class=receipt id=A from=user/>  (one write with the next)
    server -> bot    <ack class=message id=B from=user t/>
    server -> user   <receipt from=bot id=A t offline/>   (one write with the next)
    server -> user   <message from=bot type=text id=B t notify offline><body/></message>
    user -> server   <ack to=bot class=receipt id=A/>     (one write with the next)
    user -> server   <receipt to=bot id=B/>
    server -> user   <ack class=receipt id=B from=bot/>
    server -> bot    <receipt from=user id=B t offline/>
    bot -> server    <ack to=user class=receipt id=B/>

This script moves exactly those frames over real loopback TCP sockets under trio, with
nothing else: no login (the four RC4/HMAC key streams start from fixed keys), no routing
(the server's end of the user's connection writes straight to the bot's socket and back),
no state, no client or server logic, no cancel scopes, no locks. Each party is one trio
task per socket that waits until its socket is readable, reads everything there is,
handles every frame in it and writes what it has to say to each peer in one ``os.write``
(the fewest scheduler rounds and system calls the exchange allows). The user sends its
receipt of an echo and the next message in one write.

Modes (what a frame costs on top of the sockets):

* ``nodes``: every frame is a ``Node`` made from a dict literal, encoded with the
  project's codec (the user and bot pack like 1.6 clients, the server writes plainly),
  sealed with its ``KeyStream`` (RC4 + HMAC-SHA1/4) and framed; the reader cuts frames
  with its ``FrameBuffer``, opens and decodes them, and recognises each by its tag and
  the attributes it needs. This is the floor the TCP rows compare with.
* ``bytes``: the same frames, sizes and writes, made once (the payloads of a template
  echo, neither re-encoded nor sealed) and recognised by a look-up of the payload: the
  cost of the sockets and the scheduler alone for this exchange.

Topologies: ``one`` (the three parties in one process, one ``trio.run``, like the
``echo-tcp`` probes) and ``proc`` (the server's two ends in a process of their own, the
user and the bot in this one, like Prosody's topology and the ``echo-tcp-proc`` probes).
Each is run sequentially (one echo at a time) and pipelined (64 messages in flight).

Figures: echoes per second of wall time and per CPU second (``proc``: the CPU of both
processes, from ``/proc``), medians of ``--repeat`` interleaved runs. Nothing here is a
test; it prints a ceiling to compare the TCP rows with.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from simulator.wire.codec import decode, encode  # noqa: E402
from simulator.wire.crypto import KeyStream  # noqa: E402
from simulator.wire.framing import FrameBuffer, frame_header  # noqa: E402
from simulator.wire.node import Node  # noqa: E402
from simulator.wire.tokens import Dialect  # noqa: E402

USER = "491110000001@s.whatsapp.net"
BOT = "491110000002@s.whatsapp.net"
PAYLOAD = b"x" * 64
T = "1420070400"
WINDOW = 64
DIALECT = Dialect.V16
KEYS = (b"\x01" * 20, b"\x02" * 20, b"\x03" * 20, b"\x04" * 20)
"""K1..K4 of every connection: client -> server RC4 and HMAC, server -> client."""

Send = Callable[[Node], None]
"""Queue one frame for a peer (written at the end of the read that made it)."""


# ------------------------------------------------------------------ one end of a wire


class Wire:
    """One end of one connection: frames out (``frame``), frames in (``feed``)."""

    def __init__(self, sock: socket.socket, *, client: bool, mode: str) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.fd = sock.fileno()
        self.pack = client
        self.out = KeyStream(KEYS[0], KEYS[1]) if client else KeyStream(KEYS[2], KEYS[3])
        self.into = KeyStream(KEYS[2], KEYS[3]) if client else KeyStream(KEYS[0], KEYS[1])
        self.buffer = FrameBuffer()
        self.pending = bytearray()
        self.bare = mode == "bytes"

    def send(self, node: Node) -> None:
        if self.bare:
            self.pending += _BARE_FRAMES[_bare_key(node)]
            return
        payload = encode(node, DIALECT, pack=self.pack)
        sealed = self.out.seal(payload)
        self.pending += frame_header(len(sealed), encrypted=True)
        self.pending += sealed

    def flush(self) -> None:
        if self.pending:
            data, self.pending = bytes(self.pending), bytearray()
            try:
                sent = os.write(self.fd, data)
            except (BrokenPipeError, ConnectionResetError):  # the peer is gone: the end
                return
            if sent != len(data):  # not on loopback with these sizes; say so if it happens
                raise RuntimeError(f"short write: {sent} of {len(data)} bytes")

    async def read(self) -> list[Node] | None:
        """Every frame that has arrived (waiting for one); ``None`` at end of file."""
        await trio.lowlevel.wait_readable(self.fd)
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:  # a spurious wake-up
            return []
        except ConnectionResetError:
            return None
        if not data:
            return None
        self.buffer.feed(data)
        nodes = []
        while (sealed := self.buffer.next_sealed()) is not None:
            payload, offset = sealed
            if self.bare:
                nodes.append(_BARE_NODES[payload])
            else:
                nodes.append(decode(self.into.open(payload, offset=offset), DIALECT))
        return nodes


# The bytes mode: one template frame per shape, keyed by what a party would recognise.
_BARE_FRAMES: dict[tuple[str, str, str, str], bytes] = {}
_BARE_NODES: dict[bytes, Node] = {}


def _bare_key(node: Node) -> tuple[str, str, str, str]:
    get = node.attrs.get
    return node.tag, get("class", ""), get("to", ""), get("from", "")


def _template_echo() -> list[tuple[bool, Node]]:
    """(written by a client, node) for the 14 frames of one echo (ids A and B)."""
    a, b = "1420070400-1", "1420070400-2"
    body = (Node("body", data=PAYLOAD),)
    return [
        (True, Node("message", {"to": BOT, "type": "text", "id": a}, body)),
        (False, Node("ack", {"class": "message", "id": a, "from": BOT, "t": T})),
        (False, _copy(USER, a, body)),
        (True, Node("receipt", {"to": USER, "id": a})),
        (True, Node("message", {"to": USER, "type": "text", "id": b}, body)),
        (False, Node("ack", {"class": "receipt", "id": a, "from": USER})),
        (False, Node("ack", {"class": "message", "id": b, "from": USER, "t": T})),
        (False, Node("receipt", {"from": BOT, "id": a, "t": T, "offline": "0"})),
        (False, _copy(BOT, b, body)),
        (True, Node("ack", {"to": BOT, "class": "receipt", "id": a})),
        (True, Node("receipt", {"to": BOT, "id": b})),
        (False, Node("ack", {"class": "receipt", "id": b, "from": BOT})),
        (False, Node("receipt", {"from": USER, "id": b, "t": T, "offline": "0"})),
        (True, Node("ack", {"to": USER, "class": "receipt", "id": b})),
    ]


def _prepare_bare() -> None:
    for client, node in _template_echo():
        payload = encode(node, DIALECT, pack=client) + b"\0\0\0\0"  # the MAC's room
        frame = frame_header(len(payload), encrypted=True) + payload
        _BARE_FRAMES[_bare_key(node)] = frame
        _BARE_NODES[payload] = node


def _copy(sender: str, msg_id: str, body: tuple[Node, ...]) -> Node:
    attrs = {"from": sender, "type": "text", "id": msg_id, "t": T, "notify": "", "offline": "0"}
    return Node("message", attrs, body)


# ------------------------------------------------------------------ the three parties


async def server_end(own: Wire, other: Wire, peer: str, own_jid: str) -> None:
    """The server's end of ``own``'s connection: ack and forward to ``other``."""
    while True:
        nodes = await own.read()
        if nodes is None:
            return
        for node in nodes:
            tag = node.tag
            get = node.attrs.get
            if tag == "message":
                msg_id = get("id", "")
                own.send(Node("ack", {"class": "message", "id": msg_id, "from": peer, "t": T}))
                other.send(_copy(own_jid, msg_id, node.children))
            elif tag == "receipt":
                rid = get("id", "")
                own.send(Node("ack", {"class": "receipt", "id": rid, "from": peer}))
                other.send(Node("receipt", {"from": own_jid, "id": rid, "t": T, "offline": "0"}))
            elif tag == "ack":
                _ = get("class"), get("id"), get("to")
        own.flush()
        other.flush()


async def bot(wire: Wire) -> None:
    """The echo bot: a receipt and the echo for a message, an ack for a receipt."""
    number = 0
    while True:
        nodes = await wire.read()
        if nodes is None:
            return
        for node in nodes:
            tag = node.tag
            get = node.attrs.get
            if tag == "message":
                sender = get("from", "")
                wire.send(Node("receipt", {"to": sender, "id": get("id", "")}))
                number += 1
                body = node.children[0].data
                echo = Node("body", data=body)
                attrs = {"to": sender, "type": "text", "id": f"1420070500-{number}"}
                wire.send(Node("message", attrs, (echo,)))
            elif tag == "receipt":
                wire.send(
                    Node("ack", {"to": get("from", ""), "class": "receipt", "id": get("id", "")})
                )
            elif tag == "ack":
                _ = get("class"), get("id")
        wire.flush()


async def user(wire: Wire, rounds: int, window: int) -> None:
    """``rounds`` messages to the bot, at most ``window`` unanswered; every echo counted."""
    sent = echoed = 0

    def send_message() -> None:
        nonlocal sent
        sent += 1
        body = (Node("body", data=PAYLOAD),)
        attrs = {"to": BOT, "type": "text", "id": f"1420070400-{sent}"}
        wire.send(Node("message", attrs, body))

    while sent < min(window, rounds):
        send_message()
    wire.flush()
    while echoed < rounds:
        nodes = await wire.read()
        if nodes is None:
            raise ConnectionError("the server closed the connection")
        for node in nodes:
            tag = node.tag
            get = node.attrs.get
            if tag == "message":
                _ = get("from"), get("id"), node.children[0].data
                wire.send(Node("receipt", {"to": get("from", ""), "id": get("id", "")}))
                echoed += 1
                if sent < rounds:
                    send_message()
            elif tag == "receipt":
                wire.send(
                    Node("ack", {"to": get("from", ""), "class": "receipt", "id": get("id", "")})
                )
            elif tag == "ack":
                _ = get("class"), get("id")
        wire.flush()


# ------------------------------------------------------------------ topologies


def _pairs() -> tuple[tuple[socket.socket, socket.socket], tuple[socket.socket, socket.socket]]:
    """Two loopback TCP connections (client end, server end): the user's and the bot's."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    out = []
    for _ in range(2):
        client = socket.create_connection(("127.0.0.1", port))
        server, _addr = listener.accept()
        out.append((client, server))
    listener.close()
    return out[0], out[1]


async def _serve(user_end: Wire, bot_end: Wire) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server_end, user_end, bot_end, BOT, USER)
        nursery.start_soon(server_end, bot_end, user_end, USER, BOT)


def one_process(mode: str, rounds: int, window: int) -> tuple[float, float]:
    """Echoes per wall second and per CPU second, all three parties in this process."""
    (u_client, u_server), (b_client, b_server) = _pairs()

    async def main() -> tuple[float, float]:
        u = Wire(u_client, client=True, mode=mode)
        b = Wire(b_client, client=True, mode=mode)
        su = Wire(u_server, client=False, mode=mode)
        sb = Wire(b_server, client=False, mode=mode)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve, su, sb)
            nursery.start_soon(bot, b)
            await user(u, 20, 1)  # warm-up
            wall, cpu = time.perf_counter(), time.process_time()
            await user(u, rounds, window)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            nursery.cancel_scope.cancel()
        return rounds / wall, rounds / cpu

    try:
        return trio.run(main)
    finally:
        for sock in (u_client, u_server, b_client, b_server):
            sock.close()


def serve_child(mode: str) -> None:
    """The server's two ends in this process: listen, print the port, accept the user's
    then the bot's connection, serve until both close."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    u_server, _ = listener.accept()
    b_server, _ = listener.accept()
    listener.close()

    async def main() -> None:
        await _serve(
            Wire(u_server, client=False, mode=mode), Wire(b_server, client=False, mode=mode)
        )

    trio.run(main)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_process(mode: str, rounds: int, window: int) -> tuple[float, float]:
    """Echoes per wall second and per CPU second of both processes, the server's two ends
    in a child process."""
    command = [sys.executable, __file__, "--serve-child", mode]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        u_client = socket.create_connection(("127.0.0.1", port))
        b_client = socket.create_connection(("127.0.0.1", port))

        def cpu() -> float:
            return time.process_time() + _cpu_seconds(child.pid)

        async def main() -> tuple[float, float]:
            u = Wire(u_client, client=True, mode=mode)
            b = Wire(b_client, client=True, mode=mode)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(bot, b)
                await user(u, 20, 1)  # warm-up
                wall, used = time.perf_counter(), cpu()
                await user(u, rounds, window)
                wall, used = time.perf_counter() - wall, cpu() - used
                nursery.cancel_scope.cancel()
            return rounds / wall, rounds / used

        try:
            return trio.run(main)
        finally:
            u_client.close()
            b_client.close()
            child.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", default="nodes,bytes")
    parser.add_argument("--topologies", default="one,proc")
    parser.add_argument("--serve-child", metavar="MODE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _prepare_bare()
    if args.serve_child:
        serve_child(args.serve_child)
        return 0
    runs = {"one": one_process, "proc": server_process}
    cases = [
        (mode, topology, window)
        for mode in args.modes.split(",")
        for topology in args.topologies.split(",")
        for window in (1, WINDOW)
    ]
    results: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        for mode, topology, window in cases:
            rate = runs[topology](mode, args.rounds, window)
            results.setdefault((mode, topology, window), []).append(rate)
    for (mode, topology, window), rates in results.items():
        wall = statistics.median(r[0] for r in rates)
        cpu = statistics.median(r[1] for r in rates)
        where = "one process" if topology == "one" else "server in its own process"
        how = "sequential" if window == 1 else f"pipelined ({window} in flight)"
        print(
            f"TCP echo floor, {mode}, {where}, {how}: {wall:,.0f} /s wall, "
            f"{cpu:,.0f} /s CPU ({1e6 / cpu:.0f} us CPU per echo)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
