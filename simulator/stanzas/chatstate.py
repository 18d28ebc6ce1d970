"""Chat states (PROTOCOL.md §3.13): ``composing`` and ``paused``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from simulator.wire.node import Node

__all__ = ["ChatState", "build", "recognize"]


def build(to: str, state: str) -> Node:
    """``<chatstate to><composing/></chatstate>`` (or ``<paused/>``)."""
    return Node("chatstate", {"to": to}, [Node(state)])


@final
@dataclass(frozen=True, slots=True)
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
