"""The payload children of outgoing messages (PROTOCOL.md §3.10), built in one place.

1:1, group and broadcast messages carry the same payloads; only the envelope differs.
"""

from __future__ import annotations

from simulator.wire.node import Node

__all__ = ["location", "media", "text", "vcard"]


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
    yowsup versions ``int()`` them and crash on a missing one (§6.2).
    """
    node_attrs = {"type": media_type, "url": url, "size": str(size), "encoding": "raw", **attrs}
    if media_type in ("image", "video"):
        node_attrs.setdefault("width", "0")
        node_attrs.setdefault("height", "0")
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
