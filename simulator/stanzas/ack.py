"""Acks (PROTOCOL.md §3.11): a client acks receipts and notifications; the server acks
messages (with its time) and receipts."""

from __future__ import annotations

from typing import final

from simulator.records import record
from simulator.wire.node import Node, element

__all__ = ["Ack", "for_stanza", "message_ack", "receipt_ack", "recognize"]


def for_stanza(node: Node, cls: str) -> Node:
    """A client's ack of a received receipt or notification (``cls`` names which)."""
    get = node.attrs.get  # hot: one bound method for every attribute read
    attrs = {"to": get("from", ""), "class": cls, "id": get("id", "")}
    if get("type"):
        attrs["type"] = get("type", "")
    if get("participant"):
        attrs["participant"] = get("participant", "")
    return element("ack", attrs)


def message_ack(msg_id: str, to: str, t: str) -> Node:
    """The server's ack of a message: ``from`` its ``to``, with the server time (§3.10)."""
    return element("ack", {"class": "message", "id": msg_id, "from": to, "t": t})


def receipt_ack(receipt: Node) -> Node:
    """The server's ack of a client's receipt: ``from`` the receipt's ``to``, with its
    ``type`` and ``participant``."""
    get = receipt.attrs.get  # hot: one bound method for every attribute read
    attrs = {"class": "receipt", "id": get("id", ""), "from": get("to", "")}
    if get("type"):
        attrs["type"] = get("type", "")
    if get("participant"):
        attrs["participant"] = get("participant", "")
    return element("ack", attrs)


@final
@record
class Ack:
    cls: str
    id: str
    type: str | None
    to: str | None
    sender: str | None
    participant: str | None


def recognize(node: Node) -> Ack | None:
    """The ack ``node`` is, or ``None``."""
    if node.tag != "ack":
        return None
    return Ack(
        cls=node.get("class", ""),
        id=node.get("id", ""),
        type=node.get("type"),
        to=node.get("to"),
        sender=node.get("from"),
        participant=node.get("participant"),
    )
