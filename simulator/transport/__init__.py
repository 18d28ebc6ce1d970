"""How sessions and clients meet: links (node or byte) and connectors (memory, TCP)."""

from __future__ import annotations

from simulator.transport.connectors import Connector, MemoryConnector, TcpConnector
from simulator.transport.link import Link, LinkClosed, NodeLink, StreamLink, node_link_pair

__all__ = [
    "Connector",
    "Link",
    "LinkClosed",
    "MemoryConnector",
    "NodeLink",
    "StreamLink",
    "TcpConnector",
    "node_link_pair",
]
