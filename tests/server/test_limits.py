"""Every resource a peer can grow is bounded (README: Limits and security).

Peers that park before login, stall in the middle of a frame, never read, or flood a
user's offline queue each hit their limit; a real client is served meanwhile; and once
they leave, the server's structures and file descriptors are back where they started.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import trio
import trio.testing

from simulator.client import events as ev
from simulator.client import open_client
from simulator.server import Server, ServerConfig, open_server
from simulator.transport import MemoryConnector
from simulator.transport.link import Link, StreamLink
from simulator.wire.connection import Connection
from simulator.wire.events import (
    Challenged,
    Login,
    LoginSucceeded,
    NodeReceived,
    Response,
    Role,
)
from simulator.wire.framing import frame_header
from simulator.wire.limits import WireLimits
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD

DAVE = "491110000004"
ACCOUNTS = [(p, PASSWORD) for p in (ALICE, BOB, CAROL, DAVE)]


def jid(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(done: Callable[[], bool]) -> None:
    """Let the server catch up with what the kernel delivers, until ``done()``.

    The server's tasks wake as the kernel hands them EOFs; no event says when all have,
    so this polls the condition (an assertion on state, never on time).
    """
    with trio.fail_after(10):
        while not done():  # noqa: ASYNC110 - nothing to wait on but the kernel
            await trio.sleep(0.005)


async def closed_by_server(
    streams: Sequence[trio.abc.Stream], count: int, *, within: float = 10
) -> None:
    """Return once the server has closed ``count`` of ``streams`` (read until EOF)."""
    closed = 0
    with trio.fail_after(within):
        async with trio.open_nursery() as nursery:

            async def watch(stream: trio.abc.Stream) -> None:
                nonlocal closed
                try:
                    while await stream.receive_some():
                        pass
                except trio.BrokenResourceError:
                    pass
                closed += 1
                if closed == count:
                    nursery.cancel_scope.cancel()

            for stream in streams:
                nursery.start_soon(watch, stream)
    assert closed == count


async def talk(target: Server | tuple[str, int] | MemoryConnector) -> None:
    """Alice logs in and Bob gets what she sends: the service works."""
    async with (
        open_client(target, ALICE, PASSWORD) as alice,
        open_client(target, BOB, PASSWORD) as bob,
    ):
        await alice.send_text(jid(BOB), "still there?")
        got = await bob.wait_for(ev.GetMessage, timeout=10)
        assert got.text == "still there?"


# -------------------------------------------------------------------- before login


async def test_parked_peers_before_login_are_capped_and_a_real_client_is_served() -> None:
    config = ServerConfig(max_pending_logins=8, wire=WireLimits(max_login_frame=4096))
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        address = await server.listen_tcp()
        baseline = open_fds()
        parked: list[trio.SocketStream] = []
        for _ in range(30):
            stream = await trio.open_tcp_stream(*address)
            # A frame just under the login limit, half sent: the most a parked peer may hold.
            await stream.send_all(b"WA\x01\x06" + frame_header(4000, encrypted=False) + bytes(2000))
            parked.append(stream)
        await closed_by_server(parked, 30 - 8)  # the oldest ones made room for the newer
        assert len(server.logging_in) == 8
        for session in server.logging_in:
            assert isinstance(session.link, StreamLink)
            # Never more than one login frame and one read: nothing for announced sizes.
            assert session.link.connection.buffer_capacity <= 2 * (4096 + 3) + 8

        await talk(address)
        assert len(server.logging_in) <= 8

        for stream in parked:
            await stream.aclose()
        await settle(lambda: server.tcp_connections == 0)
        assert not server.all_sessions and not server.logging_in and not server.sessions
        assert open_fds() == baseline


async def test_a_login_frame_over_the_limit_is_refused_at_its_header() -> None:
    async with open_server(accounts=ACCOUNTS) as server:
        address = await server.listen_tcp()
        stream = await trio.open_tcp_stream(*address)
        # A 1 MiB frame announced before login: refused without waiting for its payload.
        await stream.send_all(b"WA\x01\x06" + frame_header(0xFFFFF, encrypted=False) + bytes(100))
        await closed_by_server([stream], 1)
        await talk(address)
        await stream.aclose()


async def test_connections_beyond_the_total_cap_are_closed_on_arrival() -> None:
    config = ServerConfig(max_connections=3)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        address = await server.listen_tcp()
        async with open_client(address, CAROL, PASSWORD), open_client(address, DAVE, PASSWORD):
            extra = await trio.open_tcp_stream(*address)
            spare = await trio.open_tcp_stream(*address)
            await closed_by_server([extra, spare], 1)  # one of the two fits, not both
            await extra.aclose()
            await spare.aclose()
        await settle(lambda: server.tcp_connections == 0)
        await talk(address)  # the slots came back


# -------------------------------------------------------------------- after login


async def _raw_login(
    server: Server, nursery: trio.Nursery, phone: str
) -> tuple[trio.abc.Stream, Connection]:
    """Log ``phone`` in over an in-memory byte stream we write by hand."""
    client, server_end = trio.testing.memory_stream_pair()
    nursery.start_soon(server.handle_stream, server_end, "memory-raw")
    conn = Connection(Role.CLIENT, dialect=Dialect.V15)
    password = base64.b64decode(PASSWORD)
    await client.send_all(
        conn.send(Login(user=phone, password=password, resource="S40-2.12.53", timestamp=0))
    )
    while True:
        event = conn.next_event()
        if event is None:
            conn.receive_data(await client.receive_some(65536))
        elif isinstance(event, Challenged):
            await client.send_all(conn.send(Response()))
        elif isinstance(event, LoginSucceeded):
            return client, conn


async def test_a_peer_stalled_mid_frame_after_login_is_dropped_after_the_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(frame_timeout=45)
    async with (
        open_server(accounts=ACCOUNTS, config=config) as server,
        trio.open_nursery() as nursery,
    ):
        stalled, _ = await _raw_login(server, nursery, CAROL)
        idle, _ = await _raw_login(server, nursery, DAVE)
        await stalled.send_all(frame_header(100, encrypted=True) + bytes(10))
        start = trio.current_time()
        await talk(MemoryConnector(server, mode="bytes"))  # others are not held up
        await closed_by_server([stalled], 1, within=100)
        assert trio.current_time() - start == pytest.approx(45)
        assert server.live(jid(CAROL)) is None
        # A peer idle between frames is not timed out.
        await trio.sleep(10 * 45)
        assert server.live(jid(DAVE)) is not None
        await talk(MemoryConnector(server, mode="bytes"))
        await idle.aclose()
        await stalled.aclose()


async def test_a_silent_peer_is_pinged_then_dropped_and_one_that_answers_stays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = ServerConfig(idle_timeout=100)
    async with (
        open_server(accounts=ACCOUNTS, config=config) as server,
        trio.open_nursery() as nursery,
    ):
        silent, conn = await _raw_login(server, nursery, CAROL)
        start = trio.current_time()
        async with open_client(MemoryConnector(server, mode="bytes"), ALICE, PASSWORD) as alice:
            pings: list[float] = []
            with trio.fail_after(1000):
                while chunk := await silent.receive_some():
                    conn.receive_data(chunk)
                    while (event := conn.next_event()) is not None:
                        if isinstance(event, NodeReceived) and event.node.get("xmlns") == (
                            "urn:xmpp:ping"
                        ):
                            pings.append(trio.current_time() - start)
            assert pings == [pytest.approx(100)]  # pinged once, after 100 s of silence
            assert trio.current_time() - start == pytest.approx(200)  # then dropped
            assert server.live(jid(CAROL)) is None
            await trio.sleep(1000)  # Alice's client answers the pings: she stays
            assert server.live(jid(ALICE)) is not None
            await alice.ping()
        await silent.aclose()


async def _node_login(server: Server, phone: str) -> Link:
    """Log ``phone`` in over the in-process node link, then never read from it."""
    link = await server.connect_nodes(Dialect.V16)
    await link.send(
        Login(user=phone, password=base64.b64decode(PASSWORD), resource="S40-2.12.53", timestamp=0)
    )
    while True:
        event = await link.receive()
        if isinstance(event, Challenged):
            await link.send(Response())
        elif isinstance(event, LoginSucceeded):
            return link


async def test_the_outbound_limit_holds_on_the_in_process_node_link_too() -> None:
    config = ServerConfig(outbox_limit=20)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        link = await _node_login(server, CAROL)  # logged in, never reads
        sent: list[str] = []
        async with open_client(server, ALICE, PASSWORD) as alice:
            with trio.fail_after(10):
                while server.live(jid(CAROL)) is not None:
                    sent.append(await alice.send_text(jid(CAROL), f"n{len(sent)}"))
                    await alice.wait_for(ev.MessageReceivedServer, timeout=10)
        assert len(sent) <= 25  # cut off at the limit, not left to grow
        await link.aclose()
        async with open_client(server, CAROL, PASSWORD) as carol:  # nothing was lost
            got = [await carol.wait_for(ev.GetMessage, timeout=10) for _ in sent]
        assert [g.id for g in got] == sent


async def test_a_full_offline_queue_forgets_its_oldest_stanzas() -> None:
    config = ServerConfig(offline_limit=5)
    async with open_server(accounts=ACCOUNTS, config=config) as server:
        async with open_client(server, ALICE, PASSWORD) as alice:
            sent = [await alice.send_text(jid(BOB), f"m{i}") for i in range(8)]
            await alice.ping()
        assert len(server.state.mailbox(jid(BOB))) == 5
        async with open_client(server, BOB, PASSWORD) as bob:
            got = [await bob.wait_for(ev.GetMessage, timeout=10) for _ in range(5)]
            done = await bob.wait_for(ev.OfflineDone, timeout=10)
        assert [g.id for g in got] == sent[3:]
        assert done.count == 5


@pytest.mark.parametrize(
    "field", ["max_pending_logins", "max_connections", "offline_limit", "frame_timeout"]
)
def test_a_limit_of_zero_is_refused_when_the_config_is_made(field: str) -> None:
    changes: dict[str, Any] = {field: 0}
    with pytest.raises(ValueError, match=f"ServerConfig.{field} must be above 0"):
        ServerConfig(**changes)
