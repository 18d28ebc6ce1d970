"""The base of every client event, in a module of its own: :mod:`simulator.client.events`
and the families' private modules (``_events_account``, ``_events_contacts``,
``_events_groups``) build on it, so that any of them can be imported first.
Public from :mod:`simulator.client.events`."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import TYPE_CHECKING, Any, TypeVar

from simulator.records import record

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.wire.node import Node

__all__ = ["Event", "Unhandled", "constructor", "int_attr"]

E = TypeVar("E", bound="Event")


def int_attr(value: str | None) -> int:
    """An integer attribute as the clients read it: missing or malformed counts as 0."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


@record(kw_only=True)
class Event:
    """Base of every client event. ``node`` is the stanza that raised it."""

    node: Node = field(repr=False, compare=False)


@record(kw_only=True)
class Unhandled(Event):
    """A stanza the library has no typed event for (yet); ``node`` has all of it."""


def constructor(cls: type[E]) -> Callable[..., E]:
    """A quicker ``cls(**fields)`` for an event class every stanza raises (the client's
    parser makes one or two per stanza).

    The event is the same frozen dataclass instance ``cls(...)`` makes, from the same
    keyword arguments (every field, no defaults); only the making is cheaper: the
    generated ``__init__`` of a frozen class sets each field with ``object.__setattr__``
    by name, this sets each slot through its descriptor, about half the cost.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make(*, {', '.join(names)}):", "    event = _new(_cls)"]
    for name in names:
        scope[f"_set_{name}"] = getattr(cls, name).__set__
        lines.append(f"    _set_{name}(event, {name})")
    lines.append("    return event")
    exec("\n".join(lines), scope)  # the field names of our own classes, nothing else
    make: Callable[..., E] = scope["make"]
    return make
