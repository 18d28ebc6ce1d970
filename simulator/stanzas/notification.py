"""Notifications (PROTOCOL.md §3.15): one envelope for every kind (``w:gp2``, ``picture``,
``status``, ``contacts``, ``encrypt``, ``account``, ``web``, ``features``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

from simulator.records import record
from simulator.wire.node import Node

__all__ = ["Notification", "build", "recognize"]


def build(
    sender: str, kind: str, stanza_id: str, t: str, children: Iterable[Node], **extra: str
) -> Node:
    """``<notification from type id t [extra...]>children</notification>``."""
    attrs = {"from": sender, "type": kind, "id": stanza_id, "t": t}
    attrs.update(extra)
    return Node("notification", attrs, list(children))


@final
@record
class Notification:
    kind: str
    id: str
    sender: str
    participant: str | None
    payload: tuple[Node, ...]


def recognize(node: Node) -> Notification | None:
    if node.tag != "notification":
        return None
    return Notification(
        kind=node.get("type", ""),
        id=node.get("id", ""),
        sender=node.get("from", ""),
        participant=node.get("participant"),
        payload=node.children,
    )
