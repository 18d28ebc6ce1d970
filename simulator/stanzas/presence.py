"""Presence (PROTOCOL.md §3.14): going on- and offline, the push name, subscriptions."""

from __future__ import annotations

from typing import final

from simulator.records import record
from simulator.wire.node import Node

__all__ = [
    "Presence",
    "available",
    "name",
    "offline",
    "online",
    "recognize",
    "subscribe",
    "unsubscribe",
]


def available(type: str = "available", *, name: str | None = None) -> Node:
    """``available``/``active`` (online, with the push name) or ``unavailable``/``inactive``.

    The announce presence a client sends after its login is ``available(name=push_name)``.
    """
    attrs = {"type": type}
    if name:
        attrs["name"] = name
    return Node("presence", attrs)


def name(push_name: str) -> Node:
    """The nickname presence: change the push name others see."""
    return Node("presence", {"name": push_name})


def online(jid: str) -> Node:
    """What the server tells a watcher (or the user itself) about a user who is online."""
    return Node("presence", {"from": jid})


def offline(jid: str, last: str) -> Node:
    """... about a user who is not: ``last`` seen (unix time), or ``deny``."""
    return Node("presence", {"from": jid, "type": "unavailable", "last": last})


def subscribe(jid: str) -> Node:
    return Node("presence", {"type": "subscribe", "to": jid})


def unsubscribe(jid: str) -> Node:
    return Node("presence", {"type": "unsubscribe", "to": jid})


@final
@record
class Presence:
    type: str | None
    name: str | None
    to: str | None
    sender: str | None
    last: str | None
    """``last`` of an ``unavailable`` presence the server sends (seconds or ``deny``)."""


def recognize(node: Node) -> Presence | None:
    if node.tag != "presence":
        return None
    return Presence(
        type=node.get("type"),
        name=node.get("name"),
        to=node.get("to"),
        sender=node.get("from"),
        last=node.get("last"),
    )
