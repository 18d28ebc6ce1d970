"""Client methods of one flow family: contact sync, privacy, pictures, statuses (§3.2-§3.4, §3.7).

The documented Chat-API events that answer these requests (onGetSyncResult,
onGetProfilePicture, onGetPrivacyBlockedList, onGetStatus ``requested``) are the return
values here: :class:`SyncResult`, :class:`ProfilePicture`, a list of JIDs,
:class:`StatusInfo`. Notifications (contacts, picture and status changes) arrive as
events (``_events_contacts``).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from simulator import stanzas
from simulator.client.core import ClientCore
from simulator.errors import IqError
from simulator.jid import SERVER, group_jid, normalize_number, user_jid
from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ContactsApi", "ProfilePicture", "StatusInfo", "SyncResult"]

SYNC = "urn:xmpp:whatsapp:sync"
BLOCKLIST = "jabber:iq:privacy"
PICTURE = "w:profile:picture"


def _jid(number_or_jid: str) -> str:
    """A JID as Chat-API's ``getJID`` makes one: with a ``-`` it is a group."""
    if "@" in number_or_jid:
        return number_or_jid
    return group_jid(number_or_jid) if "-" in number_or_jid else user_jid(number_or_jid)


@record(kw_only=True)
class SyncResult:
    """onGetSyncResult: the answer to a contact sync.

    ``existing`` maps each number on WhatsApp, exactly as we sent it, to its JID;
    ``non_existing`` lists the well-formed numbers that are not on WhatsApp and
    ``invalid`` what was not a number at all, both as sent.
    """

    index: int
    sid: str
    last: bool
    version: str
    wait: int | None
    existing: dict[str, str]
    non_existing: list[str]
    invalid: list[str]
    node: Node = field(repr=False, compare=False)


@record(kw_only=True)
class ProfilePicture:
    """onGetProfilePicture: a picture of ``jid`` (``type`` ``preview`` or ``image``)."""

    jid: str
    type: str
    id: str
    data: bytes = field(repr=False)
    node: Node = field(repr=False, compare=False)


@record(kw_only=True)
class StatusInfo:
    """onGetStatus (``requested``): a user's status (raw bytes) and when it was set."""

    jid: str
    status: bytes
    t: int

    @property
    def text(self) -> str:
        return self.status.decode("utf-8", "replace")


def _texts(wrapper: Node | None) -> list[str]:
    return [user.text or "" for user in wrapper.children_named("user")] if wrapper else []


class ContactsApi(ClientCore):
    """Contact sync, privacy (blocked list and settings), pictures and statuses."""

    # ---------------------------------------------------------------- contact sync

    async def sync_contacts(
        self,
        numbers: Iterable[str],
        *,
        mode: str = "full",
        context: str = "interactive",
        deleted: Iterable[str] = (),
        index: int = 0,
        last: bool = True,
        sid: str | None = None,
    ) -> SyncResult:
        """sendSync: look numbers up on WhatsApp (and keep them as our address book).

        Numbers go out exactly as given (Chat-API puts a ``+`` in front, yowsup sends
        them raw); ``deleted`` numbers or JIDs leave the address book. ``mode`` is
        ``full`` (replace the book), ``delta`` (add/remove), ``query`` (only ask) or
        ``chunked``; ``context`` is ``registration``, ``interactive`` or ``background``.
        """
        users = [Node("user", data=number) for number in numbers]
        users += [
            Node("user", {"jid": user_jid(normalize_number(d) or d), "type": "delete"})
            for d in deleted
        ]
        attrs = {
            "mode": mode,
            "context": context,
            "sid": sid or f"sync_sid_{mode}_{self.new_id()}",
            "index": str(index),
            "last": "true" if last else "false",
        }
        answer = await self.iq(stanzas.iq.request("get", [Node("sync", attrs, users)], xmlns=SYNC))
        sync = answer.child("sync") or Node("sync")
        found = sync.child("in")
        wait = sync.get("wait")
        return SyncResult(
            index=int(sync.get("index") or 0),
            sid=sync.get("sid", ""),
            last=sync.get("last") != "false",
            version=sync.get("version", ""),
            wait=int(wait) if wait is not None else None,
            existing={u.text or "": u.get("jid", "") for u in found.children_named("user")}
            if found
            else {},
            non_existing=_texts(sync.child("out")),
            invalid=_texts(sync.child("invalid")),
            node=answer,
        )

    # ---------------------------------------------------------------- blocked list

    async def get_blocked(self) -> list[str]:
        """sendGetPrivacyBlockedList: the JIDs we blocked (onGetPrivacyBlockedList's data)."""
        request = Node("query", children=[Node("list", {"name": "default"})])
        answer = await self.iq(stanzas.iq.request("get", [request], xmlns=BLOCKLIST))
        query = answer.child("query")
        listing = query.child("list") if query is not None else None
        if listing is None:
            return []
        return [item.get("value", "") for item in listing.children_named("item")]

    async def set_blocked(self, jids: Iterable[str]) -> None:
        """sendSetPrivacyBlockedList: replace the blocked list with these users."""
        items = [
            # order starts at 1: the real server broke on order="0" (Chat-API's note)
            Node("item", {"type": "jid", "value": _jid(jid), "action": "deny", "order": str(n)})
            for n, jid in enumerate(jids, start=1)
        ]
        request = Node("query", children=[Node("list", {"name": "default"}, items)])
        await self.iq(stanzas.iq.request("set", [request], xmlns=BLOCKLIST))

    async def block(self, jid: str) -> None:
        """Block one user: read the blocked list and set it again with ``jid`` added."""
        blocked = await self.get_blocked()
        if _jid(jid) not in blocked:
            await self.set_blocked([*blocked, _jid(jid)])

    async def unblock(self, jid: str) -> None:
        """Unblock one user: read the blocked list and set it again without ``jid``."""
        blocked = await self.get_blocked()
        if _jid(jid) in blocked:
            await self.set_blocked([b for b in blocked if b != _jid(jid)])

    # ---------------------------------------------------------------- privacy settings

    async def get_privacy_settings(self) -> dict[str, str]:
        """sendGetPrivacySettings: who sees our ``last`` seen, ``status``, ``profile`` picture."""
        request = stanzas.iq.request("get", [Node("privacy")], xmlns="privacy", to=SERVER)
        return _categories(await self.iq(request))

    async def set_privacy_settings(self, **values: str) -> dict[str, str]:
        """sendSetPrivacySettings: e.g. ``last="none"``, ``status="contacts"``, ``profile="all"``.

        Returns the settings the server confirmed. Unknown names or values: ``IqError`` 400.
        """
        categories = [Node("category", {"name": k, "value": v}) for k, v in values.items()]
        request = stanzas.iq.request(
            "set", [Node("privacy", children=categories)], xmlns="privacy", to=SERVER
        )
        return _categories(await self.iq(request))

    # ---------------------------------------------------------------- pictures

    async def get_profile_picture(self, jid: str, *, large: bool = False) -> ProfilePicture | None:
        """sendGetProfilePicture: a user's or group's picture; ``None`` when there is none.

        ``large`` asks for the full ``image`` instead of the ``preview``. A picture hidden
        from us (privacy setting, block) raises ``IqError`` 401.
        """
        kind = "image" if large else "preview"
        request = stanzas.iq.request(
            "get", [Node("picture", {"type": kind})], xmlns=PICTURE, to=_jid(jid)
        )
        try:
            answer = await self.iq(request)
        except IqError as exc:
            if exc.code == 404:
                return None
            raise
        picture = answer.child("picture") or Node("picture")
        return ProfilePicture(
            jid=answer.get("from", ""),
            type=picture.get("type", kind),
            id=picture.get("id", ""),
            data=picture.data or b"",
            node=answer,
        )

    async def _set_picture(self, target: str, image: bytes, preview: bytes) -> str:
        pictures = [
            Node("picture", {"type": "image"}, data=image),
            Node("picture", {"type": "preview"}, data=preview),
        ]
        answer = await self.iq(stanzas.iq.request("set", pictures, xmlns=PICTURE, to=target))
        picture = answer.child("picture")
        return picture.get("id", "") if picture is not None else ""

    async def set_profile_picture(self, image: bytes, preview: bytes) -> str:
        """sendSetProfilePicture: our picture (JPEG and its thumbnail); returns its id."""
        return await self._set_picture(self.jid, image, preview)

    async def set_group_picture(self, gjid: str, image: bytes, preview: bytes) -> str:
        """sendSetGroupPicture: a group's picture (admins only); returns its id."""
        return await self._set_picture(_jid(gjid), image, preview)

    async def remove_profile_picture(self) -> None:
        """sendRemoveProfilePicture: delete our picture."""
        pictures = [Node("picture"), Node("picture", {"type": "preview"})]
        await self.iq(stanzas.iq.request("set", pictures, xmlns=PICTURE, to=self.jid))

    async def get_profile_picture_ids(self, jids: Iterable[str]) -> dict[str, str | None]:
        """sendGetProfilePhotoIds: the current picture id of each user (``None``: none/hidden)."""
        users = [Node("user", {"jid": _jid(jid)}) for jid in jids]
        answer = await self.iq(
            stanzas.iq.request("get", [Node("list", children=users)], xmlns=PICTURE)
        )
        listing = answer.child("list")
        return (
            {u.get("jid", ""): u.get("id") for u in listing.children_named("user")}
            if listing
            else {}
        )

    # ---------------------------------------------------------------- statuses

    async def set_status(self, text: str | bytes) -> None:
        """sendStatusUpdate: our status message; the contacts allowed to see it are told."""
        status = Node("status", data=text)
        await self.iq(stanzas.iq.request("set", [status], xmlns="status", to=SERVER))

    async def get_statuses(self, jids: Iterable[str]) -> dict[str, StatusInfo]:
        """sendGetStatuses: the status of each user we may see (others are left out)."""
        users = [Node("user", {"jid": _jid(jid)}) for jid in jids]
        request = stanzas.iq.request(
            "get", [Node("status", children=users)], xmlns="status", to=SERVER
        )
        statuses = (await self.iq(request)).child("status")
        found = statuses.children_named("user") if statuses is not None else ()
        return {
            u.get("jid", ""): StatusInfo(
                jid=u.get("jid", ""), status=u.data or b"", t=int(u.get("t") or 0)
            )
            for u in found
        }


def _categories(answer: Node) -> dict[str, str]:
    privacy = answer.child("privacy")
    categories = privacy.children_named("category") if privacy is not None else ()
    return {c.get("name", ""): c.get("value", "") for c in categories}
