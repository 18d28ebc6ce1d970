"""A dead or half-written link reports ``LinkClosed`` and never garbles the stream.

* A ``send_all`` cancelled mid-frame leaves part of a frame on the wire while the keystream
  has moved on: the link counts as broken, nothing more is written, and the peer never
  reads a frame with a bad MAC (it sees the stream end mid-frame instead).
* A peer error while a reply is queued (a valid ping and a malformed sealed frame in one
  write): the queued pong meets a connection in ERROR; that is ``LinkClosed`` for the
  writer, never an exception that ends the server.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.client import ClientState, open_client
from simulator.errors import ConnectionClosed
from simulator.server import open_server
from simulator.transport.link import LinkClosed, StreamLink
from simulator.wire.connection import Connection
from simulator.wire.events import Challenged, Login, LoginSucceeded, Response, Role
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, BOB, PASSWORD
from tests.server.stalling import StallingConnector, StallingStream

BOB_JID = f"{BOB}@s.whatsapp.net"


async def test_a_send_cancelled_mid_frame_breaks_the_link_and_nothing_more_is_written() -> None:
    async with open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server:
        connector = StallingConnector(server)
        async with open_client(server, BOB, PASSWORD) as bob:
            async with open_client(connector, ALICE, PASSWORD) as alice:
                await alice.send_text(BOB_JID, "before")
                assert (await bob.wait_for_message(timeout=5)).text == "before"
                session = server.sessions[alice.jid]
                stream = connector.streams[0]
                stream.armed = True
                with trio.move_on_after(1) as timeout:
                    await alice.send_text(BOB_JID, "cut in half")
                assert timeout.cancelled_caught
                # The application learns at once that this connection is gone.
                assert alice.state is ClientState.CLOSED
                assert alice.close_reason == "a send was cancelled in the middle of a frame"
                # The link is broken: later sends are refused, nothing reaches the wire.
                with pytest.raises(ConnectionClosed):
                    await alice.send_text(BOB_JID, "after")
                with pytest.raises(LinkClosed):
                    await alice.link.send(Node("presence", {"type": "available"}))
            # The goodbye (StreamEnd) was not written either; the server saw the stream
            # end in the middle of a frame, never a frame with a bad MAC.
            assert stream.written_after_stall == 0
            await trio.testing.wait_all_tasks_blocked()
            assert session.close_reason is not None
            assert "MAC" not in session.close_reason
            assert "unfinished frame" in session.close_reason
            await bob.ping(timeout=5)


async def test_a_cancelled_send_on_a_bare_link_counts_as_broken() -> None:
    client_end, server_end = trio.testing.memory_stream_pair()
    stream = StallingStream(client_end)
    link = StreamLink(stream, Connection(Role.CLIENT, dialect=Dialect.V16))
    stream.armed = True
    with trio.move_on_after(1):
        await link.send(Login(user=ALICE, password=b"x" * 20, resource="S40-2.12.53", timestamp=0))
    with pytest.raises(LinkClosed):
        await link.send(Response())
    with pytest.raises(LinkClosed):
        await link.receive()
    assert stream.written_after_stall == 0
    await server_end.aclose()


async def _logged_in(address: tuple[str, int]) -> tuple[trio.SocketStream, Connection]:
    import base64

    stream = await trio.open_tcp_stream(*address)
    conn = Connection(Role.CLIENT, dialect=Dialect.V16)
    login = Login(
        user=ALICE, password=base64.b64decode(PASSWORD), resource="S40-2.12.53", timestamp=0
    )
    await stream.send_all(conn.send(login))
    while True:
        event = conn.next_event()
        if event is None:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, Challenged):
            await stream.send_all(conn.send(Response()))
        elif isinstance(event, LoginSucceeded):
            return stream, conn


@pytest.mark.parametrize("rounds", [1, 20])
async def test_a_ping_and_a_malformed_sealed_frame_in_one_write_end_only_that_session(
    rounds: int,
) -> None:
    async with open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server:
        address = await server.listen_tcp()
        async with open_client(address, BOB, PASSWORD) as bob:
            for _ in range(rounds):
                stream, conn = await _logged_in(address)
                ping = conn.send(Node("iq", {"id": "p", "type": "get", "xmlns": "w:p"}))
                bad = bytearray(conn.send(Node("presence", {"type": "available"})))
                bad[-1] ^= 0xFF  # a sealed frame whose MAC does not match
                await stream.send_all(ping + bytes(bad))
                with trio.fail_after(5):
                    while await stream.receive_some(65536):
                        pass
                await stream.aclose()
                await bob.ping(timeout=5)
        assert server.bugs == []
