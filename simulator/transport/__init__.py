"""How sessions and clients meet: links (node or byte) and connectors (memory, TCP)."""

from __future__ import annotations

from simulator.transport.connectors import (
    Connector,
    HttpOpener,
    MemoryConnector,
    TcpConnector,
    http_opener,
    open_http_tcp,
)
from simulator.transport.link import Link, LinkClosed, NodeLink, StreamLink, node_link_pair

__all__ = [
    "Connector",
    "HttpOpener",
    "Link",
    "LinkClosed",
    "MemoryConnector",
    "NodeLink",
    "StreamLink",
    "TcpConnector",
    "http_opener",
    "node_link_pair",
    "open_http_tcp",
]
