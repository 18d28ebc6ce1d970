"""``<ib>`` (PROTOCOL.md §3.16, §4.4): what the server says about the connection itself:
the end of the offline backlog, dirty flags, account changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

from simulator.jid import SERVER
from simulator.records import record
from simulator.wire.node import Node

__all__ = ["Ib", "dirty", "ib", "offline_done", "recognize"]


def ib(children: Iterable[Node]) -> Node:
    """``<ib from="s.whatsapp.net">children</ib>``."""
    return Node("ib", {"from": SERVER}, list(children))


def offline_done(count: int) -> Node:
    """The end of the replayed backlog: ``<ib><offline count/></ib>`` (§4.4)."""
    return ib([Node("offline", {"count": str(count)})])


def dirty(category: str, since: int) -> Node:
    """A dirty flag: ``<ib><dirty type timestamp/></ib>`` (§3.16)."""
    return ib([Node("dirty", {"type": category, "timestamp": str(since)})])


@final
@record
class Ib:
    kinds: tuple[str, ...]
    """The tags of what it says (``offline``, ``dirty``, ``account``...)."""


def recognize(node: Node) -> Ib | None:
    """The ``<ib>`` ``node`` is, or ``None``."""
    if node.tag != "ib":
        return None
    return Ib(kinds=tuple(child.tag for child in node.children))
