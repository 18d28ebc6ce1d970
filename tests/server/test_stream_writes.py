"""How a session writes to a byte stream, and what an idle in-process session holds.

* Stanzas queued for a peer while its writer was busy go out in one write, in order,
  as complete frames: the peer reads them as if each had been written on its own.
* Without a writer task: what the server makes of one read goes out in one write per
  peer, from the reading task, and a client's automatic answers to one read go out in
  one write too (``StreamLink.send_soon``, ``WriteBatch``).
* A session's writer task runs only while the kernel leaves frames (or a closing
  session's goodbye waits behind them): it finishes them in order and ends, and a
  killed session's writer stops.
* The reset fault cuts a write halfway through its *first* frame, also when the write
  carries several frames (a cut between two frames would not be a reset mid-frame).
* A session on the in-process node link writes to the link directly: it runs no writer
  task and keeps no outbound queue (the memory of an idle session, issue 15).
* An idle TCP session waits for its socket in its task's outermost frame, and wakes to
  read (a message bigger than one read included); killed or closed while idle, it ends.
* TCP links read and write sockets through their descriptors (``transport.sockets``):
  big writes arrive whole, resets and closed sockets raise what trio's streams raise,
  and a cancelled call does nothing.
"""

from __future__ import annotations

import socket
import struct
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from simulator import stanzas
from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.server import Server, open_server
from simulator.server.faults import ResetMidFrame
from simulator.server.session import SessionState
from simulator.transport import sockets
from simulator.transport.connectors import open_tcp
from simulator.transport.link import Link, StreamLink, WriteBatch
from simulator.transport.memory import MemoryStream, memory_stream_pair
from simulator.wire.connection import Connection
from simulator.wire.events import Role
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, BOB, PASSWORD
from tests.server.stalling import WrappedStream

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


class RecordingStream(WrappedStream):
    """The server's end of an in-memory byte stream, keeping every write it is given."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.writes: list[bytes] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        await self.inner.send_all(data)


@dataclass
class RecordingConnector:
    """Byte-stream links to an in-process server whose ends record what the server writes."""

    server: Server
    nursery: trio.Nursery
    streams: list[RecordingStream] = field(default_factory=list)

    async def connect(self, dialect: Dialect) -> Link:
        client_end, server_end = trio.testing.memory_stream_pair()
        recording = RecordingStream(server_end)
        self.streams.append(recording)
        self.nursery.start_soon(self.server.handle_stream, recording, "recording")
        return StreamLink(client_end, Connection(Role.CLIENT, dialect=dialect), peer="server")

    def now(self) -> int:
        return self.server.clock.now()


class TappedStream(RecordingStream):
    """The server's end of our in-memory stream, keeping every write (waiting or not)
    and every chunk read."""

    def __init__(self, inner: MemoryStream) -> None:
        super().__init__(inner)
        self.memory = inner
        self.waited: list[bytes] = []
        """The writes made with ``send_all`` (what the writer task finished)."""
        self.reads: list[bytes] = []
        self.take_at_most: int | None = None
        """Like a full kernel buffer: ``write_nowait`` takes at most this many bytes."""
        self.write_gate: trio.Event | None = None
        """Like a peer that does not read: ``send_all`` waits until this is set."""

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        if self.take_at_most is not None:
            data = data[: self.take_at_most]
        taken = self.memory.write_nowait(data)
        self.writes.append(bytes(data[:taken]))
        return taken

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.waited.append(bytes(data))
        if self.write_gate is not None:
            await self.write_gate.wait()
        await super().send_all(data)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.reads.append(bytes(data))
        return data


@dataclass
class TappedConnector:
    """Byte-stream links to an in-process server through :class:`TappedStream` ends; the
    client ends are kept too (``links``)."""

    server: Server
    nursery: trio.Nursery
    streams: list[TappedStream] = field(default_factory=list)
    links: list[StreamLink] = field(default_factory=list)

    async def connect(self, dialect: Dialect) -> Link:
        client_end, server_end = memory_stream_pair()
        tapped = TappedStream(server_end)
        self.streams.append(tapped)
        self.nursery.start_soon(self.server.handle_stream, tapped, "tapped")
        link = StreamLink(
            client_end, Connection(Role.CLIENT, dialect=dialect), peer="server", batch=WriteBatch()
        )
        self.links.append(link)
        return link

    def now(self) -> int:
        return self.server.clock.now()


def message(msg_id: str, body: str) -> Node:
    attrs = {"from": ALICE_JID, "id": msg_id, "type": "text", "t": "1"}
    return Node("message", attrs, [Node("body", data=body)])


def frame_sizes(data: bytes) -> list[int]:
    """The sizes (header included) of the frames one after the other in ``data``."""
    sizes = []
    while data:
        size = 3 + ((data[0] & 0x0F) << 16 | data[1] << 8 | data[2])
        sizes.append(size)
        data = data[size:]
    return sizes


async def test_stanzas_queued_together_go_out_in_one_write_in_order() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = RecordingConnector(server, nursery)
        async with open_client(connector, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            stream = connector.streams[0]
            before = len(stream.writes)
            for index in range(3):  # queued without a checkpoint: the writer sees all three
                server.deliver(BOB_JID, message(f"m{index}", f"text {index}"))
            got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(3)]
            assert [(m.id, m.text) for m in got] == [
                ("m0", "text 0"),
                ("m1", "text 1"),
                ("m2", "text 2"),
            ]
            write = stream.writes[before]
            assert len(frame_sizes(write)) == 3  # three whole frames in the one write
            # Bob's client confirmed each one: nothing is left in his mailbox.
            await trio.testing.wait_all_tasks_blocked()
            assert list(server.state.mailbox(BOB_JID)) == []
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def _bob_and_alice_tapped() -> AsyncIterator[tuple[TappedConnector, Client, Client]]:
    """A server, and Bob then Alice logged in over tapped byte streams, all quiet."""
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = TappedConnector(server, nursery)
        async with (
            open_client(connector, BOB, PASSWORD, announce=False) as bob,
            open_client(connector, ALICE, PASSWORD, announce=False) as alice,
        ):
            await trio.testing.wait_all_tasks_blocked()
            yield connector, bob, alice
        nursery.cancel_scope.cancel()


async def test_what_one_read_causes_goes_out_in_one_write_per_peer() -> None:
    async with _bob_and_alice_tapped() as (connector, bob, alice):
        to_bob, to_alice = connector.streams
        bob_writes, alice_writes = len(to_bob.writes), len(to_alice.writes)
        bob_reads = len(to_bob.reads)
        texts = [stanzas.message.text(f"text {i}") for i in range(3)]
        sent = [stanzas.message.outgoing(BOB_JID, f"m{i}", [t]) for i, t in enumerate(texts)]
        await connector.links[1].send_many(sent)  # three frames in one write
        got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(3)]
        assert [(m.id, m.text) for m in got] == [
            ("m0", "text 0"),
            ("m1", "text 1"),
            ("m2", "text 2"),
        ]
        receipts = [await alice.wait_for(ev.MessageReceivedClient, timeout=5) for _ in range(3)]
        assert [r.id for r in receipts] == ["m0", "m1", "m2"]
        await trio.testing.wait_all_tasks_blocked()
        # The server read the three at once: Bob got them in one write, Alice the
        # three acks in one write.
        assert len(frame_sizes(to_bob.writes[bob_writes])) == 3
        assert len(frame_sizes(to_alice.writes[alice_writes])) == 3
        # Bob's client answered the three in one write: the server read three
        # receipts in one chunk.
        assert len(frame_sizes(to_bob.reads[bob_reads])) == 3


async def test_what_a_write_without_waiting_leaves_the_writer_finishes_in_order() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = TappedConnector(server, nursery)
        async with open_client(connector, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            [to_bob] = connector.streams
            to_bob.take_at_most = 10  # the first frame is cut after 10 bytes
            login_writes = len(to_bob.waited)  # the login's writes wait (async sends)
            for index in range(3):
                server.deliver(BOB_JID, message(f"m{index}", f"text {index}"))
            assert len(to_bob.waited) == login_writes  # nothing waited yet: the rest is queued
            got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(3)]
            assert [(m.id, m.text) for m in got] == [
                ("m0", "text 0"),
                ("m1", "text 1"),
                ("m2", "text 2"),
            ]
            # The writer wrote the rest of the first frame and the two others at once.
            assert len(to_bob.waited) == login_writes + 1
            rest = to_bob.waited[-1]
            first = to_bob.writes[to_bob.writes.index(rest) - 1]
            assert len(first) == 10
            assert len(frame_sizes(first + rest)) == 3
            to_bob.take_at_most = None
        nursery.cancel_scope.cancel()


def _writers() -> int:
    """The session writer tasks running now (``Session._flush``)."""
    return sum(1 for task in _all_tasks() if task.name.endswith("._flush"))


async def test_a_writer_task_runs_only_while_the_kernel_leaves_frames() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = TappedConnector(server, nursery)
        async with open_client(connector, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            [to_bob] = connector.streams
            assert _writers() == 0  # an idle session writes from the pusher's task
            server.deliver(BOB_JID, message("m0", "text 0"))
            assert _writers() == 0  # the kernel took it all
            assert (await bob.wait_for(ev.GetMessage, timeout=5)).id == "m0"
            to_bob.take_at_most = 7  # the next frame is cut after 7 bytes
            server.deliver(BOB_JID, message("m1", "text 1"))
            assert _writers() == 1  # started for what was left
            to_bob.take_at_most = None
            server.deliver(BOB_JID, message("m2", "text 2"))  # behind it, in order
            assert _writers() == 1
            got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(2)]
            assert [(m.id, m.text) for m in got] == [("m1", "text 1"), ("m2", "text 2")]
            await trio.testing.wait_all_tasks_blocked()
            assert _writers() == 0  # drained: it ended
            # A write taken whole goes out from the pusher's task again.
            server.deliver(BOB_JID, message("m3", "text 3"))
            assert _writers() == 0
            assert (await bob.wait_for(ev.GetMessage, timeout=5)).id == "m3"
        nursery.cancel_scope.cancel()


async def test_a_closed_session_sends_what_the_kernel_left_before_its_goodbye() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = TappedConnector(server, nursery)
        async with open_client(connector, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            [to_bob] = connector.streams
            to_bob.take_at_most = 5
            to_bob.write_gate = gate = trio.Event()  # Bob does not read for a while
            for index in range(2):
                server.deliver(BOB_JID, message(f"m{index}", f"text {index}"))
            await trio.testing.wait_all_tasks_blocked()
            assert _writers() == 1  # waiting to write the rest
            # Bob logs in again elsewhere: the first session is replaced (its goodbye
            # queued behind what waits), and then Bob's first client reads again.
            async with open_client(server, BOB, PASSWORD, announce=False) as again:
                await trio.testing.wait_all_tasks_blocked()
                session = next(s for s in server.all_sessions if s.link.peer == "tapped")
                assert session.state is SessionState.CLOSING
                gate.set()
                error = await bob.wait_for(ev.StreamError, timeout=5)
                assert error.reason == "conflict"
                await bob.wait_closed()
                got = [e for e in bob.events_nowait() if isinstance(e, ev.GetMessage)]
                assert [(m.id, m.text) for m in got] == [("m0", "text 0"), ("m1", "text 1")]
                await again.ping(timeout=5)
            await trio.testing.wait_all_tasks_blocked()
            assert _writers() == 0
        nursery.cancel_scope.cancel()


async def test_a_killed_session_stops_its_writer() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = TappedConnector(server, nursery)
        async with (
            open_client(connector, BOB, PASSWORD, announce=False) as bob,
            open_client(connector, ALICE, PASSWORD, announce=False) as alice,
        ):
            await trio.testing.wait_all_tasks_blocked()
            to_bob = connector.streams[0]
            to_bob.take_at_most = 0  # Bob's kernel buffer is full: nothing goes out
            to_bob.write_gate = trio.Event()  # and Bob never reads: the write waits for good
            server.deliver(BOB_JID, message("m0", "text 0"))
            await trio.testing.wait_all_tasks_blocked()
            assert _writers() == 1  # waiting to write
            session = server.live(BOB_JID)
            assert session is not None
            session.kill("test")
            await bob.wait_for(ev.Disconnected, timeout=5)
            await trio.testing.wait_all_tasks_blocked()
            assert _writers() == 0
            assert server.live(BOB_JID) is None
            # Nobody else noticed: Alice is served as before.
            await alice.ping(timeout=5)
        nursery.cancel_scope.cancel()


async def test_a_reset_cuts_the_first_of_several_queued_frames() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = RecordingConnector(server, nursery)
        async with open_client(connector, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            stream = connector.streams[0]
            before = len(stream.writes)
            server.faults.add(ResetMidFrame(), party=BOB, times=1)
            for index in range(2):
                server.deliver(BOB_JID, message(f"m{index}", f"text {index}"))
            await bob.wait_for(ev.Disconnected, timeout=5)
            assert not any(isinstance(e, ev.GetMessage) for e in bob.events_nowait())
            cut = stream.writes[before]
            first = 3 + ((cut[0] & 0x0F) << 16 | cut[1] << 8 | cut[2])  # from its header
            assert len(cut) == first // 2  # halfway through the first frame, not between two
        # Neither was confirmed: both come again at the next login.
        async with open_client(server, BOB, PASSWORD, announce=False) as bob:
            got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(2)]
            assert [m.text for m in got] == ["text 0", "text 1"]
        nursery.cancel_scope.cancel()


def _tasks_below(nursery: trio.Nursery) -> list[trio.lowlevel.Task]:
    found = []
    for task in nursery.child_tasks:
        found.append(task)
        for child in task.child_nurseries:
            found.extend(_tasks_below(child))
    return found


def _all_tasks() -> list[trio.lowlevel.Task]:
    root = trio.lowlevel.current_root_task()
    assert root is not None
    return [root, *(t for n in root.child_nurseries for t in _tasks_below(n))]


async def test_an_idle_in_process_session_runs_no_writer_task() -> None:
    async with (
        open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server,
        open_client(server, ALICE, PASSWORD, announce=False) as alice,
    ):
        await trio.testing.wait_all_tasks_blocked()
        before = Counter(t.name.rsplit(".", 1)[-1] for t in _all_tasks())
        async with open_client(server, BOB, PASSWORD, announce=False) as bob:
            await trio.testing.wait_all_tasks_blocked()
            added = Counter(t.name.rsplit(".", 1)[-1] for t in _all_tasks()) - before
            added.pop("_serve", None)  # the relay's own task, if it started meanwhile
            # One more session and no task for it: no writer, no server reader waiting
            # for the stream's end, no client reader (idle push mode on both ends: the
            # link starts a task only when one is needed, and it ends once nothing waits).
            assert added == Counter()
            assert bob.link.closed is False
            # And it still works both ways, goodbye included.
            await alice.send_text(BOB_JID, "hello")
            assert (await bob.wait_for(ev.GetMessage, timeout=5)).text == "hello"
        await trio.testing.wait_all_tasks_blocked()
        assert BOB_JID not in server.sessions
        assert all(session.jid != BOB_JID for session in server.all_sessions)


# -------------------------------------------------------------------- sockets by descriptor


async def _tcp_pair() -> tuple[trio.SocketStream, trio.SocketStream, trio.SocketListener]:
    [listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener.socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listener.accept()
    assert isinstance(server, trio.SocketStream)
    return client, server, listener


async def test_a_write_the_kernel_takes_in_parts_arrives_whole_and_in_order() -> None:
    client, server, listener = await _tcp_pair()
    data = bytes(range(256)) * (16 * 1024)  # 4 MiB: far more than a socket buffer
    received = bytearray()

    async def read_all() -> None:
        while len(received) < len(data):
            chunk = await sockets.receive_some(server, 65536)
            assert chunk
            received.extend(chunk)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_all)
        await sockets.send_all(client, data)
    assert bytes(received) == data
    await client.aclose()
    assert await sockets.receive_some(server, 100) == b""  # end of file
    await server.aclose()
    await listener.aclose()


async def test_a_reset_is_a_broken_resource_and_a_closed_socket_a_closed_one() -> None:
    client, server, listener = await _tcp_pair()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await client.aclose()  # an RST, not a FIN
    with pytest.raises(trio.BrokenResourceError):
        await sockets.receive_some(server, 100)
    await server.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await sockets.receive_some(server, 100)
    with pytest.raises(trio.ClosedResourceError):
        await sockets.send_all(server, b"x")
    await listener.aclose()


async def test_a_cancelled_read_or_write_does_nothing() -> None:
    client, server, listener = await _tcp_pair()
    with trio.CancelScope() as scope:
        scope.cancel()
        await sockets.send_all(client, b"never")
    with trio.CancelScope() as scope:
        scope.cancel()
        await sockets.receive_some(server, 100)
    await sockets.send_all(client, b"after")
    assert await sockets.receive_some(server, 100) == b"after"
    for stream in (client, server, listener):
        await stream.aclose()


async def test_open_tcp_by_address_or_by_name_and_a_refused_connection() -> None:
    [listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener.socket.getsockname()[1]
    for host in ("127.0.0.1", "localhost"):  # one connect; the resolver and happy eyeballs
        stream = await open_tcp(host, port)
        accepted = await listener.accept()
        await sockets.send_all(stream, b"ping")
        assert await accepted.receive_some(10) == b"ping"
        assert stream.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await stream.aclose()
        await accepted.aclose()
    await listener.aclose()
    with pytest.raises(OSError):  # nobody listens there any more
        await open_tcp("127.0.0.1", port)


def _session_waits_in_its_own_frame(server: Server, jid: str) -> bool:
    """Whether ``jid``'s server session task waits for its socket in ``Session.run``
    itself (trio's wait right below the task's only frame of ours)."""
    session = server.live(jid)
    assert session is not None
    [task] = [
        t
        for t in _all_tasks()
        if t.coro.cr_frame is not None and t.coro.cr_frame.f_locals.get("self") is session
    ]
    awaited = task.coro.cr_await
    return task.coro.__qualname__ == "Session.run" and (
        getattr(awaited, "__qualname__", "") == "wait_readable"
    )


async def test_an_idle_tcp_session_waits_in_its_outermost_frame_and_wakes_to_read() -> None:
    async with open_server(accounts=[(p, PASSWORD) for p in (ALICE, BOB)]) as server:
        address = await server.listen_tcp()
        async with (
            open_client(address, ALICE, PASSWORD, announce=False) as alice,
            open_client(address, BOB, PASSWORD, announce=False) as bob,
        ):
            big = "x" * 100_000  # more than one read of the server's
            for text in ("hello", big, "again"):
                await trio.testing.wait_all_tasks_blocked()
                assert _session_waits_in_its_own_frame(server, BOB_JID)
                await alice.send_text(BOB_JID, text)
                assert (await bob.wait_for(ev.GetMessage, timeout=10)).text == text
                assert (await alice.wait_for(ev.MessageReceivedClient, timeout=10)).id
            # Killed while idle: Bob hears the end, Alice is served on.
            await trio.testing.wait_all_tasks_blocked()
            assert _session_waits_in_its_own_frame(server, BOB_JID)
            session = server.live(BOB_JID)
            assert session is not None
            session.kill("test")
            await bob.wait_for(ev.Disconnected, timeout=10)
            await alice.ping(timeout=10)
        # Closed by its client while idle: the session ends, the connection is counted out.
        ended = trio.Event()
        server.watch_sessions(lambda event, _session: ended.set() if event == "ended" else None)
        async with open_client(address, BOB, PASSWORD, announce=False) as bob:
            await bob.ping(timeout=10)
            await trio.testing.wait_all_tasks_blocked()
            assert _session_waits_in_its_own_frame(server, BOB_JID)
        with trio.fail_after(10):
            await ended.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert not server.all_sessions and server.tcp_connections == 0


async def test_an_answer_right_after_a_message_goes_out_with_its_receipt() -> None:
    # Bob's application answers a message as soon as it sees it: his client's automatic
    # receipt waits for that answer, and the server reads both frames in one chunk.
    async with _bob_and_alice_tapped() as (connector, bob, alice):
        to_bob = connector.streams[0]
        bob_reads = len(to_bob.reads)
        msg_id = await alice.send_text(BOB_JID, "ping")
        got = await bob.wait_for(ev.GetMessage, timeout=5)
        await bob.send_text(ALICE_JID, "pong")
        answer = await alice.wait_for(ev.GetMessage, timeout=5)
        receipt = await alice.wait_for(ev.MessageReceivedClient, timeout=5)
        assert (got.text, answer.text, receipt.id) == ("ping", "pong", msg_id)
        await trio.testing.wait_all_tasks_blocked()
        # What Bob sent first (the receipt, then the answer) came in one read.
        assert len(frame_sizes(to_bob.reads[bob_reads])) == 2


async def test_answers_to_several_messages_of_one_read_go_out_with_their_receipts() -> None:
    # Three messages reach Bob in one read; his application answers each as it takes
    # it: the three receipts and the three answers reach the server in one chunk.
    async with _bob_and_alice_tapped() as (connector, bob, alice):
        to_bob = connector.streams[0]
        bob_reads = len(to_bob.reads)
        texts = [stanzas.message.text(f"text {i}") for i in range(3)]
        sent = [stanzas.message.outgoing(BOB_JID, f"m{i}", [t]) for i, t in enumerate(texts)]
        await connector.links[1].send_many(sent)
        for _ in range(3):
            got = await bob.wait_for(ev.GetMessage, timeout=5)
            await bob.send_text(ALICE_JID, f"re {got.text}")
        answers = [await alice.wait_for(ev.GetMessage, timeout=5) for _ in range(3)]
        assert [a.text for a in answers] == ["re text 0", "re text 1", "re text 2"]
        receipts = [await alice.wait_for(ev.MessageReceivedClient, timeout=5) for _ in range(3)]
        assert [r.id for r in receipts] == ["m0", "m1", "m2"]
        await trio.testing.wait_all_tasks_blocked()
        assert len(frame_sizes(to_bob.reads[bob_reads])) == 6
