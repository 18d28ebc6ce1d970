"""After the login a connection lets go of what only the login needed.

A session lives for hours; what its handshake kept from the login (the password, the
peer's auth and features nodes, the client's ``Login``) would be held by every idle
session (issue 15: memory per session). Both ends, over bytes and over nodes.
"""

from __future__ import annotations

import gc

import pytest

from simulator.wire.connection import Connection, NodeConnection
from simulator.wire.events import (
    Authenticate,
    Challenged,
    Login,
    LoginRequested,
    LoginSucceeded,
    LoginVerified,
    Response,
    Role,
    Success,
)
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

PASSWORD = bytes(range(1, 21))
NONCE = bytes(range(100, 120))


def _reachable(root: object) -> list[object]:
    """Every object reachable from ``root`` through instances, containers and nodes
    (classes, modules and functions are not followed: they are shared, not per session)."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type) or callable(item):
            continue
        seen[id(item)] = item
        todo.extend(gc.get_referents(item))
    return list(seen.values())


def _log_in(client: Connection | NodeConnection, server: Connection | NodeConnection) -> None:
    def carry(to: Connection | NodeConnection, out: object) -> None:
        if isinstance(to, Connection):
            assert isinstance(out, bytes)
            to.receive_data(out)
        else:
            assert isinstance(out, list) and isinstance(to, NodeConnection)
            for node in out:
                to.receive_node(node)

    login = Login(user="491234567890", password=PASSWORD, resource="S40-2.16.12", timestamp=0)
    carry(server, client.send(login))
    while (event := server.next_event()) is not None:
        if isinstance(event, LoginRequested):
            carry(client, server.send(Authenticate(password=PASSWORD, nonce=NONCE)))
    while (event := client.next_event()) is not None:
        if isinstance(event, Challenged):
            carry(server, client.send(Response()))
    assert isinstance(server.next_event(), LoginVerified)
    carry(client, server.send(Success(attrs={"t": "0"}, nonce=NONCE)))
    assert isinstance(client.next_event(), LoginSucceeded)


@pytest.mark.parametrize("transport", ["bytes", "nodes"])
def test_a_logged_in_connection_holds_no_password_and_no_login_nodes(transport: str) -> None:
    client: Connection | NodeConnection
    server: Connection | NodeConnection
    if transport == "bytes":
        client, server = Connection(Role.CLIENT, dialect=Dialect.V16), Connection(Role.SERVER)
    else:
        client = NodeConnection(Role.CLIENT, dialect=Dialect.V16)
        server = NodeConnection(Role.SERVER, dialect=Dialect.V16)
    _log_in(client, server)
    for conn in (client, server):
        held = _reachable(conn)
        assert not any(item is PASSWORD for item in held)
        assert not any(isinstance(item, Login) for item in held)
        auth = [i for i in held if isinstance(i, Node) and i.tag == "auth"]
        assert all(not node.attrs and node.data is None for node in auth)  # only the blank
        assert conn.user == "491234567890" and conn.next_nonce == NONCE  # what stays
