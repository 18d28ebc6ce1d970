"""Test helpers for wire connections: draining events and h11's ``ConnectionPair``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.wire.connection import Connection, NodeConnection
from simulator.wire.events import (
    Authenticate,
    Challenged,
    Event,
    Login,
    LoginSucceeded,
    LoginVerified,
    Response,
    Role,
    Success,
)
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from simulator.wire.events import SendEvent
    from simulator.wire.handshake import State
    from simulator.wire.node import Node

__all__ = [
    "NONCE",
    "PASSWORD",
    "SUCCESS_ATTRS",
    "USER",
    "ConnectionPair",
    "drain",
    "login_event",
    "next_nonce",
]

USER = "491234567890"
PASSWORD = bytes(range(1, 21))
NONCE = bytes(range(0xA0, 0xB4))
SUCCESS_ATTRS = {"t": "1450000000", "props": "4", "kind": "free", "status": "active"}


def next_nonce(round_: int) -> bytes:
    return bytes([0xC0 + round_]) * 20


def drain(conn: Connection | NodeConnection) -> list[Event]:
    """Every event the connection can report now."""
    events: list[Event] = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


def login_event(
    *,
    password: bytes = PASSWORD,
    stored_nonce: bytes | None = None,
    passive: bool = False,
    trailer: bytes = b"",
) -> Login:
    return Login(
        user=USER,
        password=password,
        resource="S40-2.16.12",
        passive=passive,
        timestamp=1450000000,
        trailer=trailer,
        stored_nonce=stored_nonce,
    )


class ConnectionPair:
    """A client and a server connection joined by an in-memory link.

    ``send(role, item)`` sends from one end, hands what it wrote to the other end and
    returns the events that end reports. ``nodes=True`` pairs two ``NodeConnection``.
    """

    def __init__(self, *, nodes: bool, dialect: Dialect = Dialect.V16) -> None:
        self.nodes = nodes
        self.client: Connection | NodeConnection
        self.server: Connection | NodeConnection
        if nodes:
            self.client = NodeConnection(Role.CLIENT, dialect=dialect)
            self.server = NodeConnection(Role.SERVER, dialect=dialect)
        else:
            self.client = Connection(Role.CLIENT, dialect=dialect)
            self.server = Connection(Role.SERVER)
        self.wire: list[tuple[Role, bytes | list[Node]]] = []

    def states(self) -> tuple[State, State]:
        """(client state, server state)."""
        return self.client.state, self.server.state

    def conn(self, role: Role) -> Connection | NodeConnection:
        return self.client if role is Role.CLIENT else self.server

    def send(self, sender: Role, item: Node | SendEvent) -> list[Event]:
        src, dst = self.conn(sender), self.conn(sender.peer)
        written = src.send(item)
        self.wire.append((sender, written))
        if isinstance(written, bytes):
            assert isinstance(dst, Connection)
            dst.receive_data(written)
        else:
            assert isinstance(dst, NodeConnection)
            for node in written:
                dst.receive_node(node)
        return drain(dst)

    def close(self, closer: Role) -> list[Event]:
        """``closer`` shuts its transport: the other end sees end of file."""
        dst = self.conn(closer.peer)
        if isinstance(dst, Connection):
            dst.receive_data(b"")
        else:
            dst.receive_eof()
        return drain(dst)

    def login(self, *, round_: int = 0, stored: bytes | None = None) -> None:
        """A whole successful login (full, or fast when ``stored`` is the last nonce)."""
        self.send(Role.CLIENT, login_event(stored_nonce=stored))
        auth = Authenticate(password=PASSWORD, nonce=NONCE, stored_nonce=stored)
        events = self.send(Role.SERVER, auth)
        if not any(isinstance(e, LoginVerified) for e in drain(self.server)):
            assert isinstance(events[-1], Challenged), events
            verified = self.send(Role.CLIENT, Response())
            assert isinstance(verified[-1], LoginVerified), verified
        done = self.send(Role.SERVER, Success(attrs=SUCCESS_ATTRS, nonce=next_nonce(round_)))
        assert isinstance(done[-1], LoginSucceeded), done
