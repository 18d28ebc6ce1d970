"""A route fuzzer: mutated and random stanzas for every route of a live server.

Three kinds of stanzas, mixed:

* one-point mutations of valid stanzas (``fuzz_seeds.jsonl``: stanzas the flow tests
  sent, recorded at ``Server.dispatch``, up to eight shapes per route, one text-form node
  per JSON line), so the mutated value gets past the checks before it;
* stanzas built from a route of ``router.routes()`` (its tag, ``type``, ``xmlns`` and
  first child, so every route is reached, new ones included) and filled from a
  vocabulary read out of the flow modules' own source: every attribute name they
  ``get``, every child tag they look for, every short string literal as a value;
* mutations of earlier stanzas of the run.

Values come from what breaks parsers: real JIDs and group JIDs of the world, non-ASCII
digits, negatives, huge numbers, empty and very long strings, surrogates.

The fuzzing users send batches without waiting; after each batch each of them pings
(so every stanza of the batch has been handled: a session is strictly sequential) and
a bystander who never fuzzes pings and must get its pong. A fuzzing session the server
closes (a ``remove``, a ``conflict``, a protocol error) is opened again, re-registering
the account if a stanza deleted or moved it. The server is strict: any handler or
session crash fails the run with the stanza and the traceback.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import trio

from simulator.client import Client, open_client
from simulator.errors import ClientError, LocalProtocolError, ServerBug
from simulator.server import Route, Server, open_server
from simulator.transport import MemoryConnector
from simulator.wire.codec import encode
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

PASSWORD: Final = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
FUZZERS: Final = ("491110000001", "491110000002", "491110000003")
"""The numbers the flow tests use, so the seed stanzas address real accounts."""
BYSTANDER: Final = "491110000199"
OTHER: Final = "491110000150"
"""An account that only receives (messages, adds to groups, blocks)."""

_FLOWS_DIR: Final = Path(__file__).resolve().parents[2] / "simulator" / "server" / "flows"
_SEEDS: Final = Path(__file__).with_name("fuzz_seeds.jsonl")


def _vocabulary() -> tuple[list[str], list[str], list[str]]:
    """Attribute names, child tags and short string literals of the flows' source."""
    attrs: set[str] = set()
    tags: set[str] = set()
    literals: set[str] = set()
    for path in sorted(_FLOWS_DIR.glob("*.py")):
        source = path.read_text("utf-8")
        attrs.update(re.findall(r"\.get\(\s*\"([A-Za-z_:-]+)\"", source))
        tags.update(re.findall(r"(?:child|children_named)\(\s*\"([A-Za-z_:-]+)\"", source))
        tags.update(re.findall(r"Node\(\s*\"([A-Za-z_:-]+)\"", source))
        literals.update(re.findall(r"\"([A-Za-z0-9_:.@-]{1,24})\"", source))
    attrs.update({"id", "to", "type", "xmlns", "participant", "t", "notify", "class"})
    return sorted(attrs), sorted(tags), sorted(literals)


ATTRS, TAGS, LITERALS = _vocabulary()
SEEDS: Final = [
    Node.parse(json.loads(line)) for line in _SEEDS.read_text("utf-8").splitlines() if line
]

NASTY_VALUES: Final = (
    "",
    "0",
    "1",
    "-1",
    "²",
    "٣",
    "１",
    "1.5",
    "18446744073709551616",
    "9" * 5000,
    "x" * 300,
    "true",
    "false",
    "none",
    "all",
    "contacts",
    "deny",
    "allow",
    "full",
    "delta",
    "query",
    "registration",
    "image",
    "audio",
    "video",
    "read",
    "delivery",
    "text",
    "media",
    "default",
    "available",
    "unavailable",
    "composing",
    "paused",
    "s.whatsapp.net",
    "g.us",
    "broadcast",
    "@s.whatsapp.net",
    "123@g.us",
    "-@g.us",
    "a\u0000b",
    "\ud800",
    "héllo",
)


NUMBER_BREAKERS: Final = ("²", "٣", "１", "-1", "1" * 30, "9" * 5000, "", "1.5", "0x10", " 7")


def _attribute_spots(
    node: Node, path: tuple[int, ...] = ()
) -> Iterator[tuple[tuple[int, ...], str]]:
    for key in node.attrs:
        yield path, key
    for index, child in enumerate(node.children):
        yield from _attribute_spots(child, (*path, index))


def _replace_at(node: Node, path: tuple[int, ...], key: str, value: str) -> Node:
    if not path:
        return Node(node.tag, {**node.attrs, key: value}, node.children, node.data)
    children = list(node.children)
    children[path[0]] = _replace_at(children[path[0]], path[1:], key, value)
    return Node(node.tag, node.attrs, children)


@dataclass
class Fuzzer:
    """Makes stanzas; ``known`` values (JIDs, ids) are learnt as the run goes."""

    rng: random.Random
    routes: list[Route]
    known: list[str] = field(default_factory=list)
    history: list[Node] = field(default_factory=list)

    def value(self) -> str:
        roll = self.rng.random()
        if roll < 0.35 and self.known:
            return self.rng.choice(self.known)
        if roll < 0.55:
            return self.rng.choice(LITERALS)
        if roll < 0.9:
            return self.rng.choice(NASTY_VALUES)
        return "".join(chr(self.rng.randrange(32, 0x3000)) for _ in range(self.rng.randrange(9)))

    def data(self) -> bytes | None:
        roll = self.rng.random()
        if roll < 0.5:
            return None
        if roll < 0.7:
            return self.value().encode("utf-8", "surrogatepass")
        return self.rng.randbytes(self.rng.randrange(0, 64))

    def attrs(self, count: int) -> dict[str, str]:
        return {self.rng.choice(ATTRS): self.value() for _ in range(count)}

    def node(self, tag: str, depth: int) -> Node:
        attrs = self.attrs(self.rng.randrange(4))
        if depth > 0 and self.rng.random() < 0.6:
            children = [
                self.node(self.rng.choice(TAGS), depth - 1) for _ in range(self.rng.randrange(4))
            ]
            return Node(tag, attrs, children)
        return Node(tag, attrs, data=self.data())

    def from_route(self, route: Route) -> Node:
        attrs = self.attrs(self.rng.randrange(5))
        for key, fixed in (("type", route.type), ("xmlns", route.xmlns)):
            if fixed is not None:
                attrs[key] = fixed
        # Mostly well addressed, so that most stanzas get past the first checks (a message
        # without id or to ends the session, §3.10) and into the flows' own logic.
        if route.tag == "iq" or self.rng.random() < 0.9:
            attrs["id"] = (
                f"f{self.rng.randrange(10**6)}" if self.rng.random() < 0.9 else self.value()
            )
        if self.known and self.rng.random() < 0.7:
            attrs["to"] = self.rng.choice(self.known)
        if route.tag == "message" and self.rng.random() < 0.9:
            attrs["type"] = self.rng.choice(("text", "media"))
        children = [self.node(self.rng.choice(TAGS), 2) for _ in range(self.rng.randrange(3))]
        if route.child is not None:
            children.insert(0, self.node(route.child, 2))
        if not children and self.rng.random() < 0.5:
            return Node(route.tag, attrs, data=self.data())
        return Node(route.tag, attrs, children)

    def mutate(self, node: Node) -> Node:
        roll = self.rng.random()
        attrs = dict(node.attrs)
        if roll < 0.4 and attrs:
            attrs[self.rng.choice(sorted(attrs))] = self.value()
            return Node(node.tag, attrs, node.children, node.data)
        if roll < 0.55 and attrs:
            del attrs[self.rng.choice(sorted(attrs))]
            return Node(node.tag, attrs, node.children, node.data)
        if roll < 0.8 and node.children:
            index = self.rng.randrange(len(node.children))
            children = list(node.children)
            children[index] = self.mutate(children[index])
            return Node(node.tag, attrs, children)
        attrs[self.rng.choice(ATTRS)] = self.value()
        return Node(node.tag, attrs, node.children, node.data)

    def one_point(self, node: Node) -> Node:
        """Change one attribute value, anywhere in the tree, chosen uniformly; numbers
        are favoured (``"²".isdigit()`` is true and ``int("²")`` raises)."""
        spots = list(_attribute_spots(node))
        if not spots:
            return self.mutate(node)
        path, key = self.rng.choice(spots)
        value = self.rng.choice(NUMBER_BREAKERS) if self.rng.random() < 0.5 else self.value()
        return _replace_at(node, path, key, value)

    def stanza(self) -> Node:
        roll = self.rng.random()
        if roll < 0.45:
            node = self.one_point(self.rng.choice(SEEDS))
        elif roll < 0.65 and self.history:
            node = self.mutate(self.rng.choice(self.history))
        else:
            node = self.from_route(self.rng.choice(self.routes))
        self.history.append(node)
        if len(self.history) > 200:
            del self.history[: len(self.history) - 200]
        return node


def _encodable(node: Node) -> bool:
    try:
        encode(node, Dialect.V16)
    except LocalProtocolError:
        return False
    return True


@dataclass
class FuzzReport:
    stanzas: int = 0
    """Stanzas sent by the fuzzing users."""
    handled: int = 0
    """Stanzas of the fuzzing users the server read and dispatched, their pings and
    login presences included (stanzas in flight when another one made the server close
    that session are never read)."""
    batches: int = 0
    reconnects: int = 0
    routes: set[str] = field(default_factory=set)
    closed: dict[str, int] = field(default_factory=dict)
    """Why fuzzing sessions ended, with counts."""


Opener = Callable[[str], AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def _fuzz_world() -> AsyncIterator[Server]:
    accounts = [(p, PASSWORD) for p in (*FUZZERS, BYSTANDER, OTHER)]
    async with open_server(accounts=accounts) as server:
        server.http.advertised_url = "http://127.0.0.1:9"  # upload slots are handed out
        yield server


def _opener(server: Server, transport: str, address: tuple[str, int] | None) -> Opener:
    def open_user(phone: str) -> AbstractAsyncContextManager[Client]:
        if transport == "tcp":
            assert address is not None
            return open_client(address, phone, PASSWORD, login_timeout=10)
        connector = MemoryConnector(server, mode=transport)  # type: ignore[arg-type]
        return open_client(connector, phone, PASSWORD, login_timeout=10)

    return open_user


async def run_fuzz(
    *, transport: str, stanzas: int, seed: int, batch: int = 50, timeout: float = 10
) -> FuzzReport:
    """Send ``stanzas`` fuzzed stanzas over ``transport`` (nodes, bytes, tcp); raises on a
    server bug (``ServerBug``), a bystander without its pong, or a dead server."""
    report = FuzzReport()
    rng = random.Random(seed)
    async with _fuzz_world() as server:
        routes = server.router.routes()
        address = await server.listen_tcp() if transport == "tcp" else None
        open_user = _opener(server, transport, address)
        fuzzer = Fuzzer(rng, routes)
        fuzzing = {f"{p}@s.whatsapp.net" for p in FUZZERS}

        def count(direction: str, jid: str, _node: Node) -> None:
            if direction == "in" and jid in fuzzing:
                report.handled += 1

        server.tap(count)
        fuzzer.known += [f"{p}@s.whatsapp.net" for p in (*FUZZERS, BYSTANDER, OTHER)]
        async with trio.open_nursery() as nursery:
            clients: dict[str, tuple[Client, trio.Event, trio.Event]] = {}

            async def hold(phone: str, *, task_status: trio.TaskStatus[None]) -> None:
                stop, stopped = trio.Event(), trio.Event()
                try:
                    async with open_user(phone) as client:
                        clients[phone] = (client, stop, stopped)
                        task_status.started()
                        await stop.wait()
                finally:
                    stopped.set()

            async def connect(phone: str) -> Client:
                if f"{phone}@s.whatsapp.net" not in server.state.accounts:
                    server.add_account(phone, PASSWORD)  # a stanza removed or moved it
                await nursery.start(hold, phone)
                return clients[phone][0]

            async def drop(phone: str) -> None:
                _client, stop, stopped = clients.pop(phone)
                stop.set()
                await stopped.wait()

            bystander = await connect(BYSTANDER)
            gjid = await bystander.create_group("fuzz", [f"{OTHER}@s.whatsapp.net"])
            fuzzer.known.append(gjid)
            for phone in FUZZERS:
                await connect(phone)
            while report.stanzas < stanzas:
                for phone in FUZZERS:
                    client = clients[phone][0]
                    for _ in range(min(batch, stanzas - report.stanzas)):
                        node = fuzzer.stanza()
                        if transport != "nodes" and not _encodable(node):
                            continue  # no client can put it on the wire
                        route = server.router.lookup(node)
                        if route is not None:
                            report.routes.add(route.pattern)
                        try:
                            await client.send(node)
                        except ClientError:
                            break
                        report.stanzas += 1
                report.batches += 1
                for phone in FUZZERS:
                    client = clients[phone][0]
                    try:
                        await client.ping(timeout=timeout)
                        client.events_nowait()  # keep the inbox small
                    except (ClientError, trio.TooSlowError):
                        report.reconnects += 1
                        reason = client.close_reason or "no pong"
                        report.closed[reason] = report.closed.get(reason, 0) + 1
                        await drop(phone)
                        await connect(phone)
                await bystander.ping(timeout=timeout)  # the server still serves others
                bystander.events_nowait()
                if server.bugs:
                    raise ServerBug(server.take_bugs())
            for phone in list(clients):
                await drop(phone)
    return report
