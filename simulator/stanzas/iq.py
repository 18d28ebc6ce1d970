"""Iqs (PROTOCOL.md §3.0): requests (``get``/``set`` of a family, named by ``xmlns``),
results, and the pings both sides send. Errors are in :mod:`simulator.stanzas.errors`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, final

from simulator.jid import SERVER
from simulator.records import record
from simulator.wire.node import Node

__all__ = ["PING_XMLNS", "Iq", "pong", "recognize", "request", "result", "server_ping"]

PING_XMLNS: Final = "urn:xmpp:ping"


def request(
    type: str, children: Iterable[Node] = (), *, xmlns: str | None = None, to: str | None = None
) -> Node:
    """``<iq type [xmlns] [to]>children</iq>`` as a client sends it (the id is added when
    it goes out)."""
    attrs = {"type": type}
    if xmlns is not None:
        attrs["xmlns"] = xmlns
    if to is not None:
        attrs["to"] = to
    return Node("iq", attrs, list(children))


def result(request: Node, children: Iterable[Node] = (), *, sender: str | None = None) -> Node:
    """The server's answer ``<iq from id type="result">children</iq>``: ``from`` is the
    request's ``to``, or ``s.whatsapp.net`` when it had none (§3.0)."""
    return Node(
        "iq",
        {
            "from": sender or request.get("to") or SERVER,
            "id": request.get("id", ""),
            "type": "result",
        },
        tuple(children),
    )


def server_ping(iq_id: str) -> Node:
    """The server's keep-alive ping (§3.1)."""
    return Node("iq", {"from": SERVER, "id": iq_id, "type": "get", "xmlns": PING_XMLNS})


def pong(ping: Node) -> Node:
    """A client's answer to a server ping."""
    return Node("iq", {"to": SERVER, "id": ping.get("id", ""), "type": "result"})


@final
@record
class Iq:
    id: str
    type: str
    xmlns: str | None
    child: str | None
    """The tag of the first child, which names the request within its family."""


def recognize(node: Node) -> Iq | None:
    if node.tag != "iq":
        return None
    return Iq(
        id=node.get("id", ""),
        type=node.get("type", ""),
        xmlns=node.get("xmlns"),
        child=node.children[0].tag if node.children else None,
    )
