"""Client events of one flow family: contact sync, privacy, pictures and statuses.

Raised by ``<notification>`` stanzas of type ``contacts``, ``picture`` and ``status``
(PROTOCOL.md §3.15). The answers to our own requests (a sync, a picture, statuses, the
blocked list) are the return values of the ``ContactsApi`` methods, not events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator.client._events_base import Event, Unhandled
from simulator.client._events_base import int_attr as _int
from simulator.records import record

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.wire.node import Node

__all__ = [
    "DOCUMENTED",
    "NOTIFICATION_PARSERS",
    "ContactNotification",
    "GetStatus",
    "NumberWasAdded",
    "NumberWasRemoved",
    "NumberWasUpdated",
    "PictureNotification",
    "ProfilePictureChanged",
    "ProfilePictureDeleted",
]


# -------------------------------------------------------------------- contacts


@record(kw_only=True)
class ContactNotification(Event):
    """A change to a number in our synced address book. ``jid`` is the number's user JID."""

    jid: str
    id: str
    t: int


@record(kw_only=True)
class NumberWasAdded(ContactNotification):
    """onNumberWasAdded: a number we synced is now on WhatsApp (``<add jid/>``)."""


@record(kw_only=True)
class NumberWasRemoved(ContactNotification):
    """onNumberWasRemoved: a number we synced left WhatsApp (``<remove jid/>``)."""


@record(kw_only=True)
class NumberWasUpdated(ContactNotification):
    """onNumberWasUpdated: a number we synced changed (re-subscribe, re-read status/picture)."""


_CONTACT_CHANGES: Final[dict[str, type[ContactNotification]]] = {
    "add": NumberWasAdded,
    "remove": NumberWasRemoved,
    "update": NumberWasUpdated,
}


def _contacts(node: Node) -> list[Event]:
    change = node.children[0] if node.children else None
    cls = _CONTACT_CHANGES.get(change.tag) if change is not None else None
    if change is None or cls is None:
        return [Unhandled(node=node)]  # e.g. <sync after/>: no documented event
    return [cls(node=node, jid=change.get("jid", ""), id=node.get("id", ""), t=_int(node.get("t")))]


# -------------------------------------------------------------------- pictures


@record(kw_only=True)
class PictureNotification(Event):
    """A user's or group's picture changed. ``from_`` is the user or group JID; in a group,
    ``participant`` is the member who changed it. ``id`` is the notification's id."""

    from_: str
    jid: str
    id: str
    t: int
    participant: str | None = None


@record(kw_only=True)
class ProfilePictureChanged(PictureNotification):
    """onProfilePictureChanged: a new picture; ``picture_id`` identifies it (fetch it then)."""

    picture_id: str


@record(kw_only=True)
class ProfilePictureDeleted(PictureNotification):
    """onProfilePictureDeleted: the picture was removed."""


def _picture(node: Node) -> list[Event]:
    sender, participant = node.get("from", ""), node.get("participant")
    notification_id, t = node.get("id", ""), _int(node.get("t"))
    changed = node.child("set")
    if changed is not None:
        return [
            ProfilePictureChanged(
                node=node,
                from_=sender,
                jid=changed.get("jid", ""),
                picture_id=changed.get("id", ""),
                id=notification_id,
                t=t,
                participant=participant,
            )
        ]
    deleted = node.child("delete")
    if deleted is not None:
        return [
            ProfilePictureDeleted(
                node=node,
                from_=sender,
                jid=deleted.get("jid", ""),
                id=notification_id,
                t=t,
                participant=participant,
            )
        ]
    return [Unhandled(node=node)]


# -------------------------------------------------------------------- statuses


@record(kw_only=True)
class GetStatus(Event):
    """onGetStatus: a contact set a new status (``type`` ``set``). ``status`` is the raw
    bytes, ``text`` the UTF-8 reading. (Statuses we ask for are returned by
    ``get_statuses``.)"""

    from_: str
    type: str
    id: str
    t: int
    status: bytes

    @property
    def text(self) -> str:
        return self.status.decode("utf-8", "replace")


def _status(node: Node) -> list[Event]:
    changed = node.child("set")
    if changed is None:
        return [Unhandled(node=node)]
    return [
        GetStatus(
            node=node,
            from_=node.get("from", ""),
            type="set",
            id=node.get("id", ""),
            t=_int(node.get("t")),
            status=changed.data or b"",
        )
    ]


DOCUMENTED: Final[dict[str, type[Event]]] = {
    "onNumberWasAdded": NumberWasAdded,
    "onNumberWasRemoved": NumberWasRemoved,
    "onNumberWasUpdated": NumberWasUpdated,
    "onProfilePictureChanged": ProfilePictureChanged,
    "onProfilePictureDeleted": ProfilePictureDeleted,
    "onGetStatus": GetStatus,
}
"""Documented event name -> class, for the events of this family."""

NOTIFICATION_PARSERS: Final[dict[str, Callable[[Node], list[Event]]]] = {
    "contacts": _contacts,
    "picture": _picture,
    "status": _status,
}
"""``<notification type=...>`` -> the parser raising this family's events."""
