"""`WireLimits`: how much one peer may make the reader hold, per frame and per node.

Every number a peer announces (a frame length, a list size, a string length) is checked
against these before anything is kept for it, so a hostile or buggy peer costs at most
what the limits allow, whatever it announces. The defaults fit every recorded client
with room to spare; the server takes its limits from ``ServerConfig`` (README, "Limits
and security").

Sans-IO like the rest of ``simulator.wire``: plain numbers, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Final

from simulator.records import record

__all__ = ["DEFAULT_LIMITS", "MAX_FRAME", "WireLimits"]

MAX_FRAME: Final = 0xFFFFF
"""Largest payload a frame header can announce (20 bits, §1.5)."""


@record(kw_only=True)
class WireLimits:
    """Limits on what a peer's bytes may make the reader build.

    A frame or node over a limit is a ``RemoteProtocolError`` naming the offset, with
    ``<stream:error><xml-not-well-formed/></stream:error>`` as the reply hint.
    """

    max_frame: int = MAX_FRAME
    """Largest frame payload (MAC included) once logged in; at most ``MAX_FRAME``."""
    max_login_frame: int = 16 * 1024
    """Largest frame payload before the login is complete. Login nodes are a few hundred
    bytes; this also bounds what a peer that never logs in can make us buffer."""
    max_depth: int = 64
    """Deepest nesting of child lists (and of JID pairs inside JID pairs)."""
    max_children: int = 20_000
    """Most children of one node."""
    max_attrs: int = 128
    """Most attributes of one node."""
    max_nodes: int = 50_000
    """Most nodes in one frame: a small frame of tiny nodes must not become a huge tree."""
    max_string: int = MAX_FRAME
    """Longest tag, attribute, value or data item, in bytes."""

    def __post_init__(self) -> None:
        for item in fields(self):
            name, value = item.name, getattr(self, item.name)
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
        if self.max_frame > MAX_FRAME or self.max_login_frame > MAX_FRAME:
            raise ValueError(f"a frame cannot be larger than {MAX_FRAME} bytes (§1.5)")


DEFAULT_LIMITS: Final = WireLimits()
