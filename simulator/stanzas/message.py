"""Messages (PROTOCOL.md §3.10): the envelope, its payloads, and the copy a recipient gets.

1:1, group and broadcast messages carry the same payloads; only the envelope differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, final

from simulator.records import record
from simulator.wire.node import Node

__all__ = [
    "MEDIA_TYPES",
    "Message",
    "incoming",
    "location",
    "media",
    "outgoing",
    "recognize",
    "text",
    "vcard",
]

MEDIA_TYPES: Final = frozenset({"image", "audio", "video", "location", "vcard"})
_MEDIA_ORDER: Final = (
    "mimetype",
    "filehash",
    "size",
    "file",
    "encoding",
    "width",
    "height",
    "caption",
    "origin",
)
"""Where each known ``<media>`` attribute goes, after ``type`` and ``url``: the order of an
upload's message (§3.9); any other attribute follows, in the order given."""


# ---------------------------------------------------------------- payloads


def text(body: str | bytes) -> Node:
    """``<body>`` of a text message; bytes are sent as they are."""
    return Node("body", data=body)


def media(
    media_type: str,
    url: str,
    *,
    size: int,
    thumbnail: bytes | None = None,
    **attrs: str,
) -> Node:
    """``<media>`` for an uploaded image, audio or video.

    Images and videos always carry ``width`` and ``height`` (``"0"`` when unknown): both
    yowsup versions ``int()`` them and crash on a missing one (§6.2). The attributes come
    in one order whoever builds the node (:data:`_MEDIA_ORDER`).
    """
    given = {"size": str(size), "encoding": "raw", **attrs}
    if media_type in ("image", "video"):
        given.setdefault("width", "0")
        given.setdefault("height", "0")
    node_attrs = {"type": media_type, "url": url}
    for key in _MEDIA_ORDER:
        if key in given:
            node_attrs[key] = given.pop(key)
    node_attrs.update(given)
    return Node("media", node_attrs, data=thumbnail)


def location(
    latitude: float, longitude: float, *, name: str | None = None, url: str | None = None
) -> Node:
    """``<media type="location">`` with optional place name and url."""
    attrs = {
        "type": "location",
        "latitude": str(latitude),
        "longitude": str(longitude),
        "encoding": "raw",
    }
    if name is not None:
        attrs["name"] = name
    if url is not None:
        attrs["url"] = url
    return Node("media", attrs)


def vcard(name: str, card: str | bytes) -> Node:
    """``<media type="vcard"><vcard name>…</vcard></media>``."""
    return Node("media", {"type": "vcard"}, [Node("vcard", {"name": name}, data=card)])


# ---------------------------------------------------------------- envelopes


def outgoing(to: str, msg_id: str, payload: Iterable[Node], *, type: str = "text") -> Node:
    """A message as a client sends it: ``<message to type id>payload</message>``."""
    return Node("message", {"to": to, "type": type, "id": msg_id}, list(payload))


def incoming(
    sent: Node,
    *,
    sender: str,
    t: str,
    notify: str,
    participant: str | None = None,
    children: tuple[Node, ...] | None = None,
) -> Node:
    """The message ``sent`` as a recipient gets it: ``from`` the sender (or the group,
    with the author as ``participant``), the server's ``t``, the author's push name as
    ``notify``; the payload byte for byte (or ``children``, e.g. without ``<broadcast>``)."""
    get = sent.attrs.get
    attrs = {"from": sender}
    if participant is not None:
        attrs["participant"] = participant
    attrs["type"] = get("type", "text")
    attrs["id"] = get("id", "")
    attrs["t"] = t
    attrs["notify"] = notify
    attrs["offline"] = "0"
    return Node("message", attrs, sent.children if children is None else children, sent.data)


# ---------------------------------------------------------------- recognizing


@final
@record
class Message:
    """A message stanza, either way: what its envelope says and what it carries."""

    id: str
    type: str
    to: str | None
    sender: str | None
    participant: str | None
    body: bytes | None
    """The ``<body>`` of a text message."""
    media: Node | None
    """The ``<media>`` payload of a media message."""


def recognize(node: Node) -> Message | None:
    """The message ``node`` is, or ``None`` if it is no message."""
    if node.tag != "message":
        return None
    body = node.child("body")
    return Message(
        id=node.get("id", ""),
        type=node.get("type", "text"),
        to=node.get("to"),
        sender=node.get("from"),
        participant=node.get("participant"),
        body=body.data if body is not None else None,
        media=node.child("media"),
    )
