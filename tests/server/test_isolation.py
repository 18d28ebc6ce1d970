"""One broken connection never disturbs another session or the server (§4.3, issue: isolation)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from simulator.client import events as ev
from simulator.client import open_client
from simulator.server import Server, ServerConfig, open_server
from simulator.wire.connection import Connection
from simulator.wire.events import Challenged, Login, LoginSucceeded, Response, Role
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD

BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"


@pytest.fixture
async def tcp_server() -> AsyncIterator[tuple[Server, tuple[str, int]]]:
    config = ServerConfig(outbox_limit=20)
    async with open_server(
        accounts=[(p, PASSWORD) for p in (ALICE, BOB, CAROL)], config=config
    ) as srv:
        address = await srv.listen_tcp("127.0.0.1", 0)
        yield srv, address


async def _still_fine(address: tuple[str, int]) -> None:
    """Alice and Bob can still log in and talk."""
    async with (
        open_client(address, ALICE, PASSWORD) as alice,
        open_client(address, BOB, PASSWORD) as bob,
    ):
        await alice.send_text(BOB_JID, "still there?")
        got = await bob.wait_for(ev.GetMessage, timeout=10)
        assert got.text == "still there?"


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # not a preamble at all
        b"WA\x01\x05\x00\x00\x05\xf8\x03\x01\xf5\xf5",  # a stream start with unknown tokens
        b"WA\x01\x05\x0f\xff\xff",  # a 1 MiB frame header, then nothing
        b"WA\x01\x05\x00\x00",  # half a frame header, then the connection drops
    ],
)
async def test_garbage_ends_only_its_own_connection(
    tcp_server: tuple[Server, tuple[str, int]], garbage: bytes
) -> None:
    _server, address = tcp_server
    async with open_client(address, CAROL, PASSWORD) as carol:
        stream = await trio.open_tcp_stream(*address)
        await stream.send_all(garbage)
        await _still_fine(address)
        await stream.aclose()
        await carol.ping(timeout=10)


async def test_a_peer_stalled_mid_frame_holds_up_nobody(
    tcp_server: tuple[Server, tuple[str, int]],
) -> None:
    _server, address = tcp_server
    stream = await trio.open_tcp_stream(*address)
    await stream.send_all(b"WA\x01\x05\x00\x00\x13\xf8\x05")  # 2 of 19 promised bytes
    await _still_fine(address)
    await stream.aclose()


async def _raw_login(address: tuple[str, int], phone: str) -> tuple[trio.SocketStream, Connection]:
    stream = await trio.open_tcp_stream(*address)
    conn = Connection(Role.CLIENT, dialect=Dialect.V15)
    await stream.send_all(
        conn.send(Login(user=phone, password=_raw(PASSWORD), resource="S40-2.12.53", timestamp=0))
    )
    while True:
        event = conn.next_event()
        if event is None:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, Challenged):
            await stream.send_all(conn.send(Response()))
        elif isinstance(event, LoginSucceeded):
            return stream, conn


def _raw(b64: str) -> bytes:
    import base64

    return base64.b64decode(b64)


@pytest.mark.slow
async def test_a_reader_that_falls_behind_is_cut_off_and_loses_nothing(
    tcp_server: tuple[Server, tuple[str, int]],
) -> None:
    server, address = tcp_server
    stream, _conn = await _raw_login(address, CAROL)  # logs in, then never reads again
    big = "x" * 60_000
    sent = []
    async with open_client(address, ALICE, PASSWORD) as alice:
        with trio.fail_after(30):
            while server.live(CAROL_JID) is not None:
                sent.append(await alice.send_text(CAROL_JID, big))
                await alice.wait_for(ev.MessageReceivedServer, timeout=10)
        await _still_fine(address)
    await stream.aclose()
    async with open_client(address, CAROL, PASSWORD) as carol:
        got = [await carol.wait_for(ev.GetMessage, timeout=10) for _ in sent]
    assert [g.id for g in got] == sent


async def test_the_server_logs_why_it_ended_a_session(
    tcp_server: tuple[Server, tuple[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    """A frame with a bad MAC (what a client's unlocked sender threads produce) ends the
    session; the log says which session, whose, and why, at WARNING."""
    server, address = tcp_server
    ended = trio.Event()
    server.watch_sessions(lambda event, session: ended.set() if event == "ended" else None)
    caplog.set_level("INFO", logger="simulator.server")
    stream, _conn = await _raw_login(address, ALICE)
    async with stream:
        await stream.send_all(b"\x80\x00\x08" + bytes(8))  # "encrypted", MAC all zeros
        with trio.fail_after(10):
            await ended.wait()
    messages = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "simulator.server"
    ]
    assert ("INFO", f"session #1: {ALICE}@s.whatsapp.net logged in (S40-2.12.53)") in messages
    [(level, ending)] = [m for m in messages if "ended:" in m[1]]
    assert level == "WARNING"
    assert ending.startswith(f"session #1 {ALICE}@s.whatsapp.net: ended: protocol error: ")
    assert "MAC" in ending or "mac" in ending
    await _still_fine(address)
