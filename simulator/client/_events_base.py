"""The base of every client event, in a module of its own: :mod:`simulator.client.events`
and the families' private modules (``_events_account``, ``_events_contacts``,
``_events_groups``) build on it, so that any of them can be imported first.
Public from :mod:`simulator.client.events`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.wire.node import Node

__all__ = ["Event", "Unhandled", "int_attr"]


def int_attr(value: str | None) -> int:
    """An integer attribute as the clients read it: missing or malformed counts as 0."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every client event. ``node`` is the stanza that raised it."""

    node: Node = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unhandled(Event):
    """A stanza the library has no typed event for (yet); ``node`` has all of it."""
