"""Chat states (PROTOCOL.md §3.13): ``composing`` and ``paused``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from simulator.records import record
from simulator.wire.node import Node

__all__ = ["ChatState", "build", "incoming", "recognize"]


def build(to: str, state: str) -> Node:
    """``<chatstate to><composing/></chatstate>`` (or ``<paused/>``)."""
    return Node("chatstate", {"to": to}, [Node(state)])


def incoming(sender: str, states: Sequence[Node], *, participant: str | None = None) -> Node:
    """A chat state as the server relays it: ``from`` the sender (or the group, with the
    typist as ``participant``)."""
    attrs = {"from": sender}
    if participant is not None:
        attrs["participant"] = participant
    return Node("chatstate", attrs, states)


@final
@record
class ChatState:
    state: str
    to: str | None
    sender: str | None
    participant: str | None


def recognize(node: Node) -> ChatState | None:
    if node.tag != "chatstate" or not node.children:
        return None
    return ChatState(
        state=node.children[0].tag,
        to=node.get("to"),
        sender=node.get("from"),
        participant=node.get("participant"),
    )
