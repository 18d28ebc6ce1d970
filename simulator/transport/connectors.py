"""Connectors: how a client reaches a server. One method, ``connect(dialect) -> Link``.

* :class:`MemoryConnector` — an in-process :class:`~simulator.server.Server`, over node
  objects (``mode="nodes"``, the fast path) or over an in-memory byte stream
  (``mode="bytes"``, the full wire with framing and RC4).
* :class:`TcpConnector` — any FunXMPP server over TCP (ours from ``simulator serve``).

A connector also says what time it is, for the login blob's timestamp: the in-process
server's clock, or the wall clock for TCP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, final

import trio

from simulator.transport.link import Link, StreamLink
from simulator.wire.connection import Connection
from simulator.wire.events import Role

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.wire.tokens import Dialect

__all__ = ["Connector", "MemoryConnector", "TcpConnector"]


class Connector(Protocol):
    async def connect(self, dialect: Dialect) -> Link:
        """Open a link to the server, ready for the login."""
        ...

    def now(self) -> int:
        """Unix time for the login blob."""
        ...


@final
@dataclass(frozen=True, slots=True)
class MemoryConnector:
    """Reach an in-process server without sockets."""

    server: Server
    mode: Literal["nodes", "bytes"] = "nodes"

    async def connect(self, dialect: Dialect) -> Link:
        if self.mode == "nodes":
            return await self.server.connect_nodes(dialect)
        return await self.server.connect_bytes(dialect)

    def now(self) -> int:
        return self.server.clock.now()


@final
@dataclass(frozen=True, slots=True)
class TcpConnector:
    """Reach a server over TCP."""

    host: str
    port: int

    async def connect(self, dialect: Dialect) -> Link:
        stream = await trio.open_tcp_stream(self.host, self.port)
        return StreamLink(
            stream, Connection(Role.CLIENT, dialect=dialect), peer=f"tcp {self.host}:{self.port}"
        )

    def now(self) -> int:
        return int(time.time())
