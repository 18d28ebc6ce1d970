"""Connectors: how a client reaches a server: ``connect(dialect) -> Link`` for the
chat connection, ``open_http(url) -> Stream`` for the HTTP side (registration, media).

* :class:`MemoryConnector` — an in-process :class:`~simulator.server.Server`, over node
  objects (``mode="nodes"``, the fast path) or over an in-memory byte stream
  (``mode="bytes"``, the full wire with framing and RC4); its HTTP side in-process too,
  without sockets (only the path of a URL matters then).
* :class:`TcpConnector` — any FunXMPP server over TCP (ours from ``simulator serve``);
  HTTP goes over TCP to the host and port of each URL (:func:`open_http_tcp`).

A connector also says what time it is, for the login blob's timestamp: the in-process
server's clock, or the wall clock for TCP.

The client library reaches the service only through a connector: it never holds the
server object (:func:`http_opener` turns a ``Server`` given to the public API into its
:class:`MemoryConnector`).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from typing import TYPE_CHECKING, Literal, Protocol, final, runtime_checkable
from urllib.parse import urlsplit

import trio

from simulator.records import record
from simulator.transport.link import Link, StreamLink, WriteBatch
from simulator.wire.connection import Connection
from simulator.wire.events import Role

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.wire.tokens import Dialect

__all__ = [
    "Connector",
    "HttpOpener",
    "MemoryConnector",
    "TcpConnector",
    "http_opener",
    "open_http_tcp",
    "open_tcp",
]


@runtime_checkable
class Connector(Protocol):
    async def connect(self, dialect: Dialect) -> Link:
        """Open a link to the server, ready for the login."""
        ...

    def now(self) -> int:
        """Unix time for the login blob."""
        ...


@runtime_checkable
class HttpOpener(Protocol):
    """What reaches the service's HTTP side: both connectors are one."""

    async def open_http(self, url: str) -> trio.abc.Stream:
        """A fresh connection to the HTTP endpoint that serves ``url``.

        Raises:
            ValueError: ``url`` cannot be reached this way (``https://`` over TCP).
            OSError: no connection.
        """
        ...


@functools.lru_cache(maxsize=64)
def _ip_family(host: str) -> socket.AddressFamily | None:
    """The socket family of an IP address, or None for a name (remembered: parsing the
    address is about 1 % of a TCP login's CPU, and a process reaches few hosts)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


async def open_tcp(host: str, port: int) -> trio.SocketStream:
    """``trio.open_tcp_stream(host, port)``; for an IP address (``127.0.0.1``: every
    test and scenario) one socket and one ``connect``, without the name lookup and the
    happy-eyeballs nursery that cost about as much as the rest of a login.

    Raises:
        OSError: no connection.
    """
    family = _ip_family(host)
    if family is None:  # a name: resolve it, try each address
        return await trio.open_tcp_stream(host, port)
    sock = trio.socket.socket(family, socket.SOCK_STREAM)
    try:
        await sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return trio.SocketStream(sock)  # which sets TCP_NODELAY, as open_tcp_stream does


async def open_http_tcp(url: str) -> trio.abc.Stream:
    """A TCP connection to the host and port of an ``http://`` URL (no TLS)."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("only http:// URLs are supported (no TLS)")
    return await trio.open_tcp_stream(parts.hostname or "127.0.0.1", parts.port or 80)


def http_opener(target: Server | HttpOpener | None) -> HttpOpener | None:
    """``target`` as an :class:`HttpOpener`: a ``Server`` becomes its in-process
    connector; ``None`` stays ``None`` (each URL over TCP)."""
    if target is None or isinstance(target, HttpOpener):
        return target
    return MemoryConnector(target)


@final
@record
class MemoryConnector:
    """Reach an in-process server without sockets."""

    server: Server
    mode: Literal["nodes", "bytes"] = "nodes"

    async def connect(self, dialect: Dialect) -> Link:
        if self.mode == "nodes":
            return await self.server.connect_nodes(dialect)
        return await self.server.connect_bytes(dialect)

    async def open_http(self, url: str) -> trio.abc.Stream:
        return await self.server.connect_http()

    def now(self) -> int:
        return self.server.clock.now()


@final
@record
class TcpConnector:
    """Reach a server over TCP."""

    host: str
    port: int

    async def connect(self, dialect: Dialect) -> Link:
        stream = await open_tcp(self.host, self.port)
        return StreamLink(
            stream,
            Connection(Role.CLIENT, dialect=dialect),
            peer=f"tcp {self.host}:{self.port}",
            batch=WriteBatch(),  # what the reader answers to one read: one write
        )

    async def open_http(self, url: str) -> trio.abc.Stream:
        return await open_http_tcp(url)

    def now(self) -> int:
        return int(time.time())
