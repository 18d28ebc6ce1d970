"""Client events of one flow family: Groups (w:g2) and broadcast lists (w:b).

The ``w:gp2`` notifications (§3.15) raise one event each, by payload tag:

* ``<create type="new">`` -> :class:`GroupisCreated` (onGroupisCreated), ``new`` true
* ``<create>`` without ``type`` -> :class:`GroupisCreated` with ``new`` false: we were
  added to an existing group (the real service tells the added user this way, with the
  whole group; the members already in get ``<add>``). ``added_to_existing`` says so.
* ``<add>`` -> :class:`GroupsParticipantsAdd` (onGroupsParticipantsAdd)
* ``<remove>`` -> :class:`GroupsParticipantsRemove` (onGroupsParticipantsRemove)
* ``<subject>`` -> :class:`GetGroupsSubject` (onGetGroupsSubject)
* ``<promote>`` -> :class:`GroupsParticipantsPromote` (onGroupsParticipantsPromote)
* ``<demote>`` -> :class:`GroupsParticipantsDemote` (not a documented event)
* ``<modify>`` -> :class:`GroupsParticipantChangedNumber` (onGroupsParticipantChangedNumber)

The documented events that answer our own iqs are client-only: the library returns the
answer from the method instead of raising an event (:data:`RETURNED_BY`):

* onGroupsChatCreate, onGroupCreate — returned by ``create_group`` (the group JID)
* onGetGroupV2Info — returned by ``group_info`` (and, per group, by ``get_groups``)
* onGetGroups — returned by ``get_groups``
* onGroupsChatEnd — returned by ``leave_groups`` (the JIDs of the groups left)
* onGetBroadcastLists — returned by ``get_broadcast_lists``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypedDict

from simulator.client._events_base import Event, Unhandled
from simulator.client._events_base import int_attr as _int
from simulator.jid import group_jid
from simulator.records import record

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.wire.node import Node

__all__ = [
    "DOCUMENTED",
    "NOTIFICATION_PARSERS",
    "RETURNED_BY",
    "GetGroupsSubject",
    "GroupInfo",
    "GroupNotification",
    "GroupisCreated",
    "GroupsParticipantChangedNumber",
    "GroupsParticipantsAdd",
    "GroupsParticipantsDemote",
    "GroupsParticipantsPromote",
    "GroupsParticipantsRemove",
]


@record(kw_only=True)
class GroupInfo:
    """A group as the service describes it (the GROUP element of §3.5)."""

    jid: str
    """The group JID, ``<creator>-<creation>@g.us``."""
    subject: str
    creator: str
    creation: int
    subject_owner: str
    subject_time: int
    participants: tuple[str, ...]
    """Every member, admins included, in the order the service lists them."""
    admins: tuple[str, ...]

    @classmethod
    def from_node(cls, node: Node) -> GroupInfo:
        """Read a ``<group id creator creation subject s_t s_o>`` element."""
        members = node.children_named("participant")
        return cls(
            jid=group_jid(node.get("id", "")),
            subject=node.get("subject", ""),
            creator=node.get("creator", ""),
            creation=_int(node.get("creation")),
            subject_owner=node.get("s_o", ""),
            subject_time=_int(node.get("s_t")),
            participants=tuple(p.get("jid", "") for p in members),
            admins=tuple(p.get("jid", "") for p in members if p.get("type") == "admin"),
        )


@record(kw_only=True)
class GroupNotification(Event):
    """Fields every ``w:gp2`` notification has: ``from_`` is the group JID, ``participant``
    the user who acted and ``notify`` that user's push name."""

    from_: str
    id: str
    t: int
    participant: str
    notify: str
    offline: bool


@record(kw_only=True)
class GroupisCreated(GroupNotification):
    """onGroupisCreated: we are in a group we were not in; ``group`` is all of it.

    Either someone created it with us in it (``new``), or an admin added us to an
    existing group (``added_to_existing``: the group's ``creation`` is older than ``t``,
    ``participant`` is the admin who added us). A bot decides here whether to stay.
    """

    group: GroupInfo
    new: bool = True
    """``type="new"``: the group was just created."""

    @property
    def added_to_existing(self) -> bool:
        return not self.new

    @property
    def creator(self) -> str:
        return self.group.creator

    @property
    def subject(self) -> str:
        return self.group.subject

    @property
    def admin(self) -> str:
        """The docs' ``$admin``: the creator, as the notification's ``participant``."""
        return self.participant

    @property
    def creation(self) -> int:
        return self.group.creation

    @property
    def members(self) -> tuple[str, ...]:
        return self.group.participants


@record(kw_only=True)
class GroupsParticipantsAdd(GroupNotification):
    """onGroupsParticipantsAdd: ``participants`` were added (we may be one of them)."""

    participants: tuple[str, ...]
    subject: str | None


@record(kw_only=True)
class GroupsParticipantsRemove(GroupNotification):
    """onGroupsParticipantsRemove: ``participants`` left or were removed (maybe us)."""

    participants: tuple[str, ...]
    subject: str | None


@record(kw_only=True)
class GetGroupsSubject(GroupNotification):
    """onGetGroupsSubject: ``participant`` (named ``notify``) set the subject."""

    subject: str
    subject_owner: str
    subject_time: int


@record(kw_only=True)
class GroupsParticipantsPromote(GroupNotification):
    """onGroupsParticipantsPromote: ``participants`` became admins, issued by ``participant``."""

    participants: tuple[str, ...]


@record(kw_only=True)
class GroupsParticipantsDemote(GroupNotification):
    """An admin made ``participants`` plain members again (``<demote>``).

    Not a documented event: Chat-API drops demote notifications; the name mirrors
    onGroupsParticipantsPromote.
    """

    participants: tuple[str, ...]


@record(kw_only=True)
class GroupsParticipantChangedNumber(GroupNotification):
    """onGroupsParticipantChangedNumber: member ``participant`` is now ``new_jid``."""

    new_jid: str

    @property
    def old_jid(self) -> str:
        return self.participant


class _Envelope(TypedDict):
    node: Node
    from_: str
    id: str
    t: int
    participant: str
    notify: str
    offline: bool


def _jids(payload: Node) -> tuple[str, ...]:
    return tuple(p.get("jid", "") for p in payload.children_named("participant"))


def _create(env: _Envelope, payload: Node) -> Event:
    group = payload.child("group")
    if group is None:
        return Unhandled(node=env["node"])
    return GroupisCreated(group=GroupInfo.from_node(group), new=payload.get("type") == "new", **env)


def _add(env: _Envelope, payload: Node) -> Event:
    return GroupsParticipantsAdd(participants=_jids(payload), subject=payload.get("subject"), **env)


def _remove(env: _Envelope, payload: Node) -> Event:
    return GroupsParticipantsRemove(
        participants=_jids(payload), subject=payload.get("subject"), **env
    )


def _subject(env: _Envelope, payload: Node) -> Event:
    return GetGroupsSubject(
        subject=payload.get("subject", ""),
        subject_owner=payload.get("s_o", ""),
        subject_time=_int(payload.get("s_t")),
        **env,
    )


def _promote(env: _Envelope, payload: Node) -> Event:
    return GroupsParticipantsPromote(participants=_jids(payload), **env)


def _demote(env: _Envelope, payload: Node) -> Event:
    return GroupsParticipantsDemote(participants=_jids(payload), **env)


def _modify(env: _Envelope, payload: Node) -> Event:
    new = _jids(payload)
    return GroupsParticipantChangedNumber(new_jid=new[0] if new else "", **env)


_PAYLOADS: Final[dict[str, Callable[[_Envelope, Node], Event]]] = {
    "create": _create,
    "add": _add,
    "remove": _remove,
    "subject": _subject,
    "promote": _promote,
    "demote": _demote,
    "modify": _modify,
}


def parse_gp2(node: Node) -> list[Event]:
    """A ``w:gp2`` notification -> its event (``Unhandled`` for an unknown payload)."""
    build = _PAYLOADS.get(node.children[0].tag) if node.children else None
    if build is None:
        return [Unhandled(node=node)]
    envelope = _Envelope(
        node=node,
        from_=node.get("from", ""),
        id=node.get("id", ""),
        t=_int(node.get("t")),
        participant=node.get("participant", ""),
        notify=node.get("notify", ""),
        offline=node.get("offline", "0") not in ("0", ""),
    )
    return [build(envelope, node.children[0])]


DOCUMENTED: Final[dict[str, type[Event]]] = {
    "onGroupisCreated": GroupisCreated,
    "onGroupsParticipantsAdd": GroupsParticipantsAdd,
    "onGroupsParticipantsRemove": GroupsParticipantsRemove,
    "onGetGroupsSubject": GetGroupsSubject,
    "onGroupsParticipantsPromote": GroupsParticipantsPromote,
    "onGroupsParticipantChangedNumber": GroupsParticipantChangedNumber,
}
"""Documented event name -> class, for the events of this family."""

RETURNED_BY: Final[dict[str, str]] = {
    "onGroupsChatCreate": "create_group",
    "onGroupCreate": "create_group",
    "onGetGroupV2Info": "group_info",
    "onGetGroups": "get_groups",
    "onGroupsChatEnd": "leave_groups",
    "onGetBroadcastLists": "get_broadcast_lists",
}
"""Documented events that answer our own iqs -> the client method that returns the answer."""

NOTIFICATION_PARSERS: Final[dict[str, Callable[[Node], list[Event]]]] = {"w:gp2": parse_gp2}
"""``<notification type=...>`` -> the parser raising this family's events."""
