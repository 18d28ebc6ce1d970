"""After the login a node link hands stanzas over without running the connection: the
same events, the same states and the same refusals as when every node went through it."""

from __future__ import annotations

import pytest
import trio

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.transport.link import LinkClosed, NodeLink, node_link_pair
from simulator.wire.codec import STREAM_END, STREAM_START
from simulator.wire.connection import NodeConnection
from simulator.wire.events import (
    ConnectionClosed,
    NodeReceived,
    Role,
    StreamEnd,
    StreamEnded,
)
from simulator.wire.handshake import Kind, State, is_stanza, kind_of
from simulator.wire.node import Node
from tests.wire.helpers import ConnectionPair

MESSAGE = Node("message", {"to": "1@s.whatsapp.net", "id": "1", "type": "text"}, data=b"hi")
LOGIN_NODES = [
    Node(STREAM_START, {"to": "s.whatsapp.net"}),
    Node("stream:features"),
    Node("auth", {"user": "1", "mechanism": "WAUTH-2"}),
    Node("challenge", data=b"n" * 20),
    Node("response", data=b"r"),
    Node("success"),
    Node("failure", children=[Node("not-authorized")]),
]
NODES = [MESSAGE, Node("receipt", {"id": "1"}), Node("iq"), *LOGIN_NODES, Node(STREAM_END)]


def logged_in() -> tuple[NodeConnection, NodeConnection]:
    pair = ConnectionPair(nodes=True)
    pair.login()
    assert isinstance(pair.client, NodeConnection)
    assert isinstance(pair.server, NodeConnection)
    return pair.client, pair.server


@pytest.mark.parametrize("node", NODES, ids=lambda n: n.tag)
def test_is_stanza_is_the_tables_stanza_kind(node: Node) -> None:
    assert is_stanza(node) == (kind_of(node) is Kind.STANZA)


@pytest.mark.parametrize("node", NODES, ids=lambda n: n.tag)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_what_passes_through_is_what_the_connection_would_do(role: Role, node: Node) -> None:
    """Whenever ``passes_through`` says yes, the connection itself would have sent the node
    as it is and reported it as ``NodeReceived``, staying in its state."""
    for stage in ("logging in", "logged in", "ended"):
        pair = ConnectionPair(nodes=True)
        if stage != "logging in":
            pair.login()
        if stage == "ended":
            pair.send(role, StreamEnd())
        conn = pair.conn(role)
        assert isinstance(conn, NodeConnection)
        fast = conn.passes_through(node)
        assert fast == (stage == "logged in" and is_stanza(node)), stage
        if not fast:
            continue
        before = conn.state
        assert conn.send(node) == [node]
        assert conn.state is before
        conn.receive_node(node)
        assert conn.next_event() == NodeReceived(node=node)
        assert conn.state is before


def links() -> tuple[NodeLink, NodeLink]:
    return node_link_pair(*logged_in())


async def test_stanzas_pass_both_ways() -> None:
    client, server = links()
    await client.send(MESSAGE)
    assert await server.receive() == NodeReceived(node=MESSAGE)
    server.send_nowait(MESSAGE)
    assert await client.receive() == NodeReceived(node=MESSAGE)
    assert client.connection.state is State.ESTABLISHED
    assert server.connection.state is State.ESTABLISHED


async def test_a_login_node_after_the_login_is_still_refused_on_the_way_out() -> None:
    client, server = links()
    with pytest.raises(LocalProtocolError, match="login node"):
        server.send_nowait(Node("success"))
    assert server.connection.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        await client.send(Node(STREAM_START))


async def test_a_login_node_after_the_login_is_a_protocol_error_on_the_way_in() -> None:
    client, server = links()
    client._tx.send_nowait(Node("challenge", data=b"n" * 20))  # a peer breaking the rules
    with pytest.raises(RemoteProtocolError, match="can't receive challenge"):
        await server.receive()
    assert server.connection.state is State.ERROR


async def test_the_stream_end_still_goes_through_the_table() -> None:
    client, server = links()
    await client.send(StreamEnd())
    assert client.connection.state is State.CLIENT_ENDED
    assert isinstance(await server.receive(), StreamEnded)
    assert server.connection.state is State.CLIENT_ENDED
    # after the client's goodbye the server may still send (and the client receive)
    server.send_nowait(MESSAGE)
    assert await client.receive() == NodeReceived(node=MESSAGE)
    with pytest.raises(LinkClosed):  # but the client may not: its half is over
        await client.send(MESSAGE)


async def test_end_of_file_is_reported_once_then_the_link_is_closed() -> None:
    client, server = links()
    await client.aclose()
    assert isinstance(await server.receive(), ConnectionClosed)
    assert server.connection.state is State.CLOSED
    with pytest.raises(LinkClosed):
        await server.receive()


async def test_a_cancelled_receive_loses_nothing() -> None:
    client, server = links()
    with trio.move_on_after(1):
        await server.receive()
    await client.send(MESSAGE)
    assert await server.receive() == NodeReceived(node=MESSAGE)
