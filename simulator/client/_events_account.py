"""Client events of one flow family: Account, media upload and registration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from simulator.client.events import Event
from simulator.wire.node import Node

__all__ = ["DOCUMENTED", "NOTIFICATION_PARSERS"]

DOCUMENTED: Final[dict[str, type[Event]]] = {}
"""Documented event name -> class, for the events of this family."""

NOTIFICATION_PARSERS: Final[dict[str, Callable[[Node], list[Event]]]] = {}
"""``<notification type=...>`` -> the parser raising this family's events."""
