"""Client methods of one flow family: Groups (w:g2) and broadcast lists (w:b).

Each method sends the request the documented Chat-API function sends (§3.5, §3.6,
Appendix A) and returns what the answer says; a refusal raises
:class:`~simulator.errors.IqError` with the service's code (``403`` not an admin, ``404``
no such group...). The documented events that answer these requests (onGetGroups,
onGroupsChatCreate...) are the return values (see ``_events_groups``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import stanzas
from simulator.client import payloads
from simulator.client._events_groups import GroupInfo
from simulator.client.core import ClientCore
from simulator.errors import ClientError
from simulator.jid import GROUP_SERVER, SERVER, group_jid, user_jid
from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["BroadcastListInfo", "GroupInfo", "GroupsApi"]


@record(kw_only=True)
class BroadcastListInfo:
    """One of our broadcast lists as the service remembers it (§3.6)."""

    id: str
    """The list JID, ``<digits>@broadcast``."""
    name: str
    recipients: tuple[str, ...]


def _jids(jids: str | Iterable[str]) -> list[str]:
    return [user_jid(jids)] if isinstance(jids, str) else [user_jid(j) for j in jids]


def _participants(tag: str, jids: str | Iterable[str], **attrs: str) -> Node:
    return Node(tag, attrs, [Node("participant", {"jid": jid}) for jid in _jids(jids)])


class GroupsApi(ClientCore):
    """Groups (w:g2) and broadcast lists (w:b)."""

    async def _groups_iq(self, type: str, to: str, payload: Node) -> Node:
        return await self.iq(stanzas.iq.request(type, [payload], xmlns="w:g2", to=to))

    # ---------------------------------------------------------------- groups

    async def create_group(self, subject: str, participants: str | Iterable[str] = ()) -> str:
        """sendGroupsChatCreate: create a group with us as admin; returns its JID.

        Users that are not on the service are left out by the server.
        """
        answer = await self._groups_iq(
            "set", GROUP_SERVER, _participants("create", participants, subject=subject)
        )
        group = answer.child("group")
        if group is None or not group.get("id"):
            raise ClientError(f"the create result has no <group id>: {answer}")
        return group_jid(group.get("id", ""))

    async def group_info(self, gjid: str) -> GroupInfo:
        """sendGetGroupV2Info / sendGetGroupsInfo / sendGetGroupsParticipants: a group's details."""
        answer = await self._groups_iq(
            "get", group_jid(gjid), Node("query", {"request": "interactive"})
        )
        group = answer.child("group")
        if group is None:
            raise ClientError(f"the info result has no <group>: {answer}")
        return GroupInfo.from_node(group)

    async def get_groups(self, *, owning: bool = False) -> list[GroupInfo]:
        """sendGetGroups / sendGetGroupsOwning: the groups we are in (or administer)."""
        answer = await self._groups_iq(
            "get", GROUP_SERVER, Node("owning" if owning else "participating")
        )
        groups = answer.child("groups")
        return [GroupInfo.from_node(g) for g in groups.children_named("group")] if groups else []

    async def set_group_subject(self, gjid: str, subject: str) -> None:
        """sendSetGroupSubject: change a group's subject (the others are told)."""
        await self._groups_iq("set", group_jid(gjid), Node("subject", data=subject))

    async def add_participants(self, gjid: str, jids: str | Iterable[str]) -> list[str]:
        """sendGroupsParticipantsAdd: add users (admins only); returns those added."""
        answer = await self._groups_iq("set", group_jid(gjid), _participants("add", jids))
        return [
            a.get("participant", "")
            for a in answer.children_named("add")
            if a.get("type") == "success"
        ]

    async def remove_participants(self, gjid: str, jids: str | Iterable[str]) -> list[str]:
        """sendGroupsParticipantsRemove: remove members (admins only); returns those removed."""
        answer = await self._groups_iq("set", group_jid(gjid), _participants("remove", jids))
        return [
            r.get("participant", "")
            for r in answer.children_named("remove")
            if r.get("type") == "success"
        ]

    async def promote(self, gjid: str, jids: str | Iterable[str]) -> None:
        """sendPromoteParticipants: make members admins (admins only)."""
        await self._groups_iq("set", group_jid(gjid), _participants("promote", jids))

    async def demote(self, gjid: str, jids: str | Iterable[str]) -> None:
        """sendDemoteParticipants: make admins plain members again (admins only)."""
        await self._groups_iq("set", group_jid(gjid), _participants("demote", jids))

    async def leave_groups(self, gjids: str | Iterable[str]) -> list[str]:
        """sendGroupsLeave: leave one or several groups; returns the JIDs of those left."""
        names = [gjids] if isinstance(gjids, str) else list(gjids)
        groups = [Node("group", {"id": group_jid(g)}) for g in names]
        answer = await self._groups_iq(
            "set", GROUP_SERVER, Node("leave", {"action": "delete"}, groups)
        )
        left = answer.child("leave")
        return [group_jid(g.get("id", "")) for g in left.children_named("group")] if left else []

    # ---------------------------------------------------------------- broadcast lists

    async def get_broadcast_lists(self) -> list[BroadcastListInfo]:
        """sendGetBroadcastLists: our broadcast lists with their recipients."""
        answer = await self.iq(stanzas.iq.request("get", [Node("lists")], xmlns="w:b", to=SERVER))
        lists = answer.child("lists")
        return [
            BroadcastListInfo(
                id=item.get("id", ""),
                name=item.get("name", ""),
                recipients=tuple(r.get("jid", "") for r in item.children_named("recipient")),
            )
            for item in (lists.children_named("list") if lists else ())
        ]

    async def delete_broadcast_lists(self, ids: str | Iterable[str]) -> None:
        """Delete broadcast lists by id (``w:b`` delete; no documented Chat-API function)."""
        names = [ids] if isinstance(ids, str) else list(ids)
        payload = Node("delete", children=[Node("list", {"id": i}) for i in names])
        await self.iq(stanzas.iq.request("set", [payload], xmlns="w:b", to=SERVER))

    async def send_broadcast_payload(
        self,
        recipients: str | Iterable[str],
        payload: Iterable[Node],
        *,
        type: str = "text",
        list_id: str | None = None,
    ) -> str:
        """A message to several users at once, as one broadcast; returns its id.

        ``list_id`` names the list (``<digits>@broadcast``); by default a new one is made
        from the message id, as Chat-API makes one from the time.
        """
        msg_id = self.new_id()
        to = list_id or f"{msg_id.replace('-', '')}@broadcast"
        listing = Node("broadcast", children=[Node("to", {"jid": j}) for j in _jids(recipients)])
        await self.send(stanzas.message.outgoing(to, msg_id, [*payload, listing], type=type))
        return msg_id

    async def send_broadcast(
        self, recipients: str | Iterable[str], text: str | bytes, *, list_id: str | None = None
    ) -> str:
        """sendBroadcastMessage: one text to several users; returns the message id."""
        return await self.send_broadcast_payload(recipients, [payloads.text(text)], list_id=list_id)

    async def send_broadcast_media(
        self,
        recipients: str | Iterable[str],
        media_type: str,
        url: str,
        *,
        size: int,
        thumbnail: bytes | None = None,
        list_id: str | None = None,
        **attrs: str,
    ) -> str:
        """sendBroadcastImage / sendBroadcastAudio / sendBroadcastVideo: an uploaded file.

        ``attrs`` are the other ``<media>`` attributes (``mimetype``, ``filehash``,
        ``width``, ``height``, ``caption``...), as in a 1:1 media message (§3.10).
        """
        media = payloads.media(media_type, url, size=size, thumbnail=thumbnail, **attrs)
        return await self.send_broadcast_payload(recipients, [media], type="media", list_id=list_id)

    async def send_broadcast_location(
        self,
        recipients: str | Iterable[str],
        latitude: float,
        longitude: float,
        *,
        name: str | None = None,
        url: str | None = None,
        list_id: str | None = None,
    ) -> str:
        """sendBroadcastLocation: a location to several users; returns the message id."""
        media = payloads.location(latitude, longitude, name=name, url=url)
        return await self.send_broadcast_payload(recipients, [media], type="media", list_id=list_id)

    async def send_broadcast_vcard(
        self,
        recipients: str | Iterable[str],
        name: str,
        vcard: str | bytes,
        *,
        list_id: str | None = None,
    ) -> str:
        """sendBroadcastVcard: a contact card to several users; returns the message id."""
        card = payloads.vcard(name, vcard)
        return await self.send_broadcast_payload(recipients, [card], type="media", list_id=list_id)
