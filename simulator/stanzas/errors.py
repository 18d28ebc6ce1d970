"""Errors: the iq error a refused request gets (§4.2), and the stream error that ends a
connection (§3.17)."""

from __future__ import annotations

from typing import final

from simulator.records import record
from simulator.wire.node import Node

__all__ = [
    "IqError",
    "StreamError",
    "iq_error",
    "recognize",
    "recognize_stream_error",
    "stream_error",
]


def iq_error(
    request: Node, code: int, text: str, *, sender: str, backoff: int | None = None
) -> Node:
    """``<iq from id type="error"><error code text [backoff]/></iq>`` answering ``request``."""
    attrs = {"code": str(code), "text": text}
    if backoff is not None:
        attrs["backoff"] = str(backoff)
    return Node(
        "iq",
        {"from": sender, "id": request.get("id", ""), "type": "error"},
        [Node("error", attrs)],
    )


def stream_error(reason: str, text: str | None = None) -> Node:
    """``<stream:error><REASON/>[<text>…</text>]</stream:error>``."""
    children = [Node(reason)]
    if text is not None:
        children.append(Node("text", data=text))
    return Node("stream:error", children=children)


@final
@record
class IqError:
    id: str
    code: int | None
    text: str


def recognize(node: Node) -> IqError | None:
    """The iq error ``node`` is, or ``None``."""
    if node.tag != "iq" or node.get("type") != "error":
        return None
    error = node.child("error")
    code = error.get("code", "") if error is not None else ""
    return IqError(
        id=node.get("id", ""),
        code=int(code) if code.isascii() and code.isdigit() and len(code) < 10 else None,
        text=error.get("text", "") if error is not None else "",
    )


@final
@record
class StreamError:
    reason: str
    """The tag of its first child (``conflict``, ``system-shutdown``...); empty if none."""
    text: str | None


def recognize_stream_error(node: Node) -> StreamError | None:
    """The stream error ``node`` is, or ``None``."""
    if node.tag != "stream:error":
        return None
    reason = next((child.tag for child in node.children if child.tag != "text"), "")
    text = node.child("text")
    return StreamError(reason=reason, text=text.text if text is not None else None)
