"""Receipts (PROTOCOL.md §3.11): delivery (no ``type``), ``read`` and ``played``, for one
message or several (``<list><item id/></list>``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from simulator.records import record
from simulator.wire.node import Node, element

__all__ = [
    "Receipt",
    "build",
    "call_receipt",
    "confirmed_ids",
    "delivery_for",
    "incoming",
    "recognize",
]


def build(
    to: str, ids: str | Sequence[str], *, type: str | None = None, participant: str | None = None
) -> Node:
    """A receipt a client sends for one or several messages (the first id is ``id``)."""
    id_list = [ids] if isinstance(ids, str) else list(ids)
    attrs = {"to": to, "id": id_list[0]}
    if type is not None:
        attrs["type"] = type
    if participant is not None:
        attrs["participant"] = participant
    children = []
    if len(id_list) > 1:
        children = [Node("list", children=[Node("item", {"id": i}) for i in id_list[1:]])]
    return Node("receipt", attrs, children)


def delivery_for(message: Node) -> Node:
    """The automatic delivery receipt for a received message: back to its ``from``, with
    its ``participant`` in a group."""
    get = message.attrs.get  # build() for one id, spelled out: one per message received
    attrs = {"to": get("from", ""), "id": get("id", "")}
    participant = get("participant")
    if participant is not None:
        attrs["participant"] = participant
    return element("receipt", attrs)


def call_receipt(to: str, stanza_id: str, offer: Node) -> Node:
    """The receipt confirming a call offer (§3.18): the ``<offer call-id/>`` inside."""
    return Node("receipt", {"to": to, "id": stanza_id}, [offer])


def incoming(sent: Node, *, sender: str, t: str, participant: str | None = None) -> Node:
    """A receipt as the server forwards it to the author: ``from`` the confirming user (or
    the group, with the confirming user as ``participant``), the server's ``t``, the
    receipt's ``type`` and ``list``."""
    get = sent.attrs.get
    if participant is not None:
        attrs = {"from": sender, "participant": participant, "id": get("id", ""), "t": t}
    else:
        attrs = {"from": sender, "id": get("id", ""), "t": t}
    rtype = get("type")
    if rtype:
        attrs["type"] = rtype
    attrs["offline"] = "0"
    return element("receipt", attrs, sent.children)


@final
@record
class Receipt:
    """A receipt, either way."""

    ids: tuple[str, ...]
    """Every message id it confirms: ``id``, then each ``list/item@id``."""
    type: str | None
    to: str | None
    sender: str | None
    participant: str | None


def confirmed_ids(node: Node) -> list[str]:
    """Every message id the receipt ``node`` confirms: ``id``, then each ``list/item@id``;
    empty ids left out."""
    first = node.attrs.get("id", "")
    found = [first] if first else []
    if node.children:  # most receipts confirm one message and have none
        listing = node.child("list")
        if listing is not None:
            for item in listing.children:
                if item.tag == "item":
                    item_id = item.attrs.get("id", "")
                    if item_id:
                        found.append(item_id)
    return found


def recognize(node: Node) -> Receipt | None:
    """The receipt ``node`` is, or ``None``."""
    if node.tag != "receipt":
        return None
    get = node.attrs.get  # hot: one bound method for every attribute read
    return Receipt(
        ids=tuple(confirmed_ids(node)),
        type=get("type"),
        to=get("to"),
        sender=get("from"),
        participant=get("participant"),
    )
