"""Users' actions in the flows beyond 1:1 messages: groups, contact sync, privacy, status,
pictures and broadcasts (their wrappers are in ``document.py``).

Each step sends what the client library's method of the same name sends, and checks the
service's answer: by default that it accepted (``<iq type="result"/>``), with ``error: 403``
that it refused with that code, or with ``result: '<iq ...>'`` any pattern (captures bind).
A failing check shows the answer next to what was expected::

    - create_group: {from: alice, subject: Lunch, participants: [bob, bot], as: lunch}
    - send: {from: bob, to: lunch, text: "pizza?"}          # later steps name the group
    - remove_participants: {from: bob, group: lunch, participants: alice, error: 403}

Groups of the world and groups made with ``as`` are named like users (``to: team``,
``{{team}}`` is the JID).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from simulator.jid import GROUP_SERVER, SERVER, normalize_number, user_jid
from simulator.scenario import plan
from simulator.scenario.match import Literal as Exactly
from simulator.scenario.match import Pattern, Template, compile_node
from simulator.scenario.model import Duration, Name, Names, StepSpec
from simulator.vocabulary import Id, NodeText, PathText, Text
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder

__all__ = [
    "AddParticipantsSpec",
    "BlockSpec",
    "BroadcastSpec",
    "CreateGroupSpec",
    "DemoteSpec",
    "LeaveGroupSpec",
    "PromoteSpec",
    "RemoveParticipantsSpec",
    "SetPictureSpec",
    "SetPrivacySpec",
    "SetStatusSpec",
    "SetSubjectSpec",
    "SyncContactsSpec",
    "UnblockSpec",
    "error_pattern",
]

ACCEPTED = '<iq type="result"/>'
SYNC = "urn:xmpp:whatsapp:sync"


def error_pattern(code: int) -> Pattern:
    """``<iq type="error"><error code="..."/></iq>``: the service refused with ``code``."""
    error = Pattern("error", (("code", Exactly(str(code))),))
    return Pattern("iq", (("type", Exactly("error")),), (error,))


class _Request(StepSpec):
    """A user's request to the service, and what the answer must be."""

    from_: Name = Field(alias="from")
    """The user."""
    error: int | None = None
    """The service must refuse with this code (``403``, ``404``...); by default it must accept."""
    result: NodeText | None = None
    """Instead of ``error``: a pattern the answer must match (captures bind)."""
    within: Duration | None = None
    """How long to wait for the answer (default ``options.within``)."""

    def expected(self, b: Builder, accepted: str = ACCEPTED) -> Pattern | None:
        if self.error is not None and self.result is not None:
            b.problem("give either error or result, not both", "result")
        if self.result is not None:
            return b.pattern(self.result, "result")
        if self.error is not None:
            return error_pattern(self.error)
        return compile_node(accepted)

    def iq(
        self,
        b: Builder,
        node: Node,
        summary: str,
        *,
        accepted: str = ACCEPTED,
        bind_group: str | None = None,
    ) -> plan.Step | None:
        party = b.user(self.from_, "from")
        pattern = self.expected(b, accepted)
        if party is None or pattern is None:
            return None
        b.bind(pattern.names())
        return plan.SendIq(
            where=b.where,
            party=party,
            node=node,
            result=pattern,
            within=self.within,
            summary=f"{party.label} {summary}",
            bind_group=bind_group,
        )


def _users(b: Builder, refs: list[str], field: str) -> list[str]:
    if not refs:
        b.problem("name at least one user", field)
    return [b.peer(ref, field, index) for index, ref in enumerate(refs)]


def _participants(tag: str, jids: list[str], **attrs: str) -> Node:
    return Node(tag, attrs, [Node("participant", {"jid": jid}) for jid in jids])


def _g2(to: str, payload: Node) -> Node:
    return Node("iq", {"type": "set", "xmlns": "w:g2", "to": to}, [payload])


# ==================================================================== groups (§3.5)


class CreateGroupSpec(_Request):
    """A user creates a group (it is the admin); ``as`` names it for later steps."""

    KEY: ClassVar[str] = "create_group"

    subject: Text
    participants: Names = Field(default_factory=list)
    """Who else is in it (users, ``bot``)."""
    as_: Text | None = Field(default=None, alias="as")
    """A name for the new group: ``to: <name>`` and ``{{<name>}}`` (its JID) in later steps."""

    def plan(self, b: Builder) -> plan.Step | None:
        invited = [b.peer(ref, "participants", i) for i, ref in enumerate(self.participants)]
        subject = b.text(self.subject, "subject")
        node = _g2(GROUP_SERVER, _participants("create", invited, subject=subject))
        name = None
        if self.as_ is not None:
            if self.error is not None:
                b.problem("a refused create makes no group to name: remove `as`", "as")
            else:
                name = b.define_chat(self.as_, "as")
        return self.iq(
            b,
            node,
            f"creates the group {self.subject!r}",
            accepted='<iq type="result"><group/></iq>',
            bind_group=name,
        )


class _MembersSpec(_Request):
    TAG: ClassVar[str]
    VERB: ClassVar[str]

    group: Name
    """The group: its name, ``{{capture}}`` or JID."""
    participants: Names
    """The users (one or a list)."""

    def plan(self, b: Builder) -> plan.Step | None:
        to = b.group(self.group, "group")
        node = _g2(to, _participants(self.TAG, _users(b, self.participants, "participants")))
        listed = ", ".join(self.participants)
        return self.iq(b, node, self.VERB.format(who=listed, group=self.group))


class AddParticipantsSpec(_MembersSpec):
    """An admin adds users to a group (the others are told)."""

    KEY: ClassVar[str] = "add_participants"
    TAG: ClassVar[str] = "add"
    VERB: ClassVar[str] = "adds {who} to {group}"


class RemoveParticipantsSpec(_MembersSpec):
    """An admin removes members from a group (non-admins get ``error: 403``)."""

    KEY: ClassVar[str] = "remove_participants"
    TAG: ClassVar[str] = "remove"
    VERB: ClassVar[str] = "removes {who} from {group}"


class PromoteSpec(_MembersSpec):
    """An admin makes members admins."""

    KEY: ClassVar[str] = "promote"
    TAG: ClassVar[str] = "promote"
    VERB: ClassVar[str] = "promotes {who} in {group}"


class DemoteSpec(_MembersSpec):
    """An admin makes admins plain members."""

    KEY: ClassVar[str] = "demote"
    TAG: ClassVar[str] = "demote"
    VERB: ClassVar[str] = "demotes {who} in {group}"


class SetSubjectSpec(_Request):
    """A member changes a group's subject."""

    KEY: ClassVar[str] = "set_subject"

    group: Name
    subject: Text

    def plan(self, b: Builder) -> plan.Step | None:
        to = b.group(self.group, "group")
        node = _g2(to, Node("subject", data=b.text(self.subject, "subject")))
        return self.iq(b, node, f"sets the subject of {self.group} to {self.subject!r}")


class LeaveGroupSpec(_Request):
    """A member leaves one or more groups."""

    KEY: ClassVar[str] = "leave_group"

    group: Names

    def plan(self, b: Builder) -> plan.Step | None:
        groups = [Node("group", {"id": b.group(g, "group", i)}) for i, g in enumerate(self.group)]
        node = _g2(GROUP_SERVER, Node("leave", {"action": "delete"}, groups))
        return self.iq(b, node, f"leaves {', '.join(self.group)}")


# ==================================================================== contacts (§3.7)


class SyncContactsSpec(_Request):
    """A user syncs its address book: the numbers become its contacts (``mode: full``)."""

    KEY: ClassVar[str] = "sync_contacts"

    numbers: Names
    """Accounts of the world (sent as their phones) or numbers as typed (``+49 111 ...``)."""
    mode: Literal["full", "delta", "query", "chunked"] = "full"
    context: Literal["registration", "interactive", "background"] = "interactive"
    deleted: Names = Field(default_factory=list)
    """Numbers that leave the address book."""
    found: Names | None = None
    """These must come back as on the service (``<in>``), in this order."""
    not_found: Names | None = None
    """These must come back as not on the service (``<out>``), as sent."""

    def plan(self, b: Builder) -> plan.Step | None:
        users = [Node("user", data=self._number(b, ref)) for ref in self.numbers]
        for ref in self.deleted:
            jid = user_jid(self._number(b, ref))
            users.append(Node("user", {"jid": jid, "type": "delete"}))
        attrs = {"mode": self.mode, "context": self.context, "index": "0", "last": "true"}
        attrs["sid"] = f"sync_sid_{self.mode}_{b.where.line or 0}"
        node = Node("iq", {"type": "get", "xmlns": SYNC}, [Node("sync", attrs, users)])
        return self.iq(b, node, f"syncs {len(self.numbers)} numbers", accepted=self._accepted(b))

    def _number(self, b: Builder, ref: str) -> str:
        party = b.lookup(ref)
        return party.phone if party is not None else ref

    def _accepted(self, b: Builder) -> str:
        children = ""
        if self.found is not None:
            jids = [user_jid(normalize_number(self._number(b, r)) or r) for r in self.found]
            children += "<in>" + "".join(f'<user jid="{j}"/>' for j in jids) + "</in>"
        if self.not_found is not None:
            texts = [_escape(self._number(b, r)) for r in self.not_found]
            children += "<out>" + "".join(f"<user>{t}</user>" for t in texts) + "</out>"
        return f'<iq type="result"><sync>{children}</sync></iq>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ==================================================================== privacy (§3.4)


class BlockSpec(_Request):
    """A user blocks users (its blocked list is read, then set with them added)."""

    KEY: ClassVar[str] = "block"
    BLOCK: ClassVar[bool] = True

    user: Names
    """Who is blocked (one or a list)."""

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        jids = _users(b, self.user, "user")
        pattern = self.expected(b)
        if party is None or pattern is None:
            return None
        b.bind(pattern.names())
        verb = "blocks" if self.BLOCK else "unblocks"
        return plan.UserAction(
            where=b.where,
            party=party,
            summary=f"{party.label} {verb} {', '.join(self.user)}",
            action=plan.SetBlocked(targets=tuple(jids), block=self.BLOCK),
            result=pattern,
            within=self.within,
        )


class UnblockSpec(BlockSpec):
    """A user unblocks users."""

    KEY: ClassVar[str] = "unblock"
    BLOCK: ClassVar[bool] = False


Setting = Literal["all", "contacts", "none"]


class SetPrivacySpec(_Request):
    """A user changes who sees its last seen, status and profile picture."""

    KEY: ClassVar[str] = "set_privacy"

    last: Setting | None = None
    status: Setting | None = None
    profile: Setting | None = None

    def plan(self, b: Builder) -> plan.Step | None:
        changes = {k: v for k in ("last", "status", "profile") if (v := getattr(self, k))}
        if not changes:
            b.problem("set at least one of last, status, profile")
        categories = [Node("category", {"name": k, "value": v}) for k, v in changes.items()]
        node = Node(
            "iq",
            {"type": "set", "xmlns": "privacy", "to": SERVER},
            [Node("privacy", children=categories)],
        )
        listed = ", ".join(f"{k}: {v}" for k, v in changes.items())
        return self.iq(b, node, f"sets privacy {listed}")


# ==================================================================== profile (§3.2, §3.3)


class SetStatusSpec(_Request):
    """A user sets its status message (the contacts who may see it are told)."""

    KEY: ClassVar[str] = "set_status"

    text: Text = Field(min_length=1)

    def plan(self, b: Builder) -> plan.Step | None:
        status = Node("status", data=b.text(self.text, "text"))
        node = Node("iq", {"type": "set", "xmlns": "status", "to": SERVER}, [status])
        return self.iq(b, node, f"sets the status {self.text!r}")


class SetPictureSpec(_Request):
    """A user sets (or deletes) its profile picture, or an admin a group's."""

    KEY: ClassVar[str] = "set_picture"

    group: Name | None = None
    """A group instead of the user's own picture."""
    file: PathText | None = None
    """A JPEG file, relative to the scenario."""
    base64: Id | None = None
    """The image bytes in base64."""
    delete: bool = False
    """Delete the picture instead."""

    @model_validator(mode="after")
    def _one_source(self) -> SetPictureSpec:
        given = [k for k in ("file", "base64") if getattr(self, k) is not None]
        if self.delete:
            given.append("delete")
        if len(given) != 1:
            raise PydanticCustomError(
                "picture", "set_picture needs exactly one of: file, base64, delete"
            )
        return self

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        target = b.group(self.group, "group") if self.group is not None else None
        image = self._image(b)
        pattern = self.expected(b)
        if party is None or pattern is None or (image is None and not self.delete):
            return None
        b.bind(pattern.names())
        whose = self.group or "its"
        verb = "deletes" if self.delete else "sets"
        return plan.UserAction(
            where=b.where,
            party=party,
            summary=f"{party.label} {verb} {whose} picture",
            action=plan.SetPicture(to=target if target is not None else party.jid, image=image),
            result=pattern,
            within=self.within,
        )

    def _image(self, b: Builder) -> bytes | None:
        if self.base64 is not None:
            try:
                return base64.b64decode(self.base64, validate=True)
            except (binascii.Error, ValueError):
                b.problem("not valid base64", "base64")
                return None
        if self.file is not None:
            path = b.file(self.file, "file")
            return path.read_bytes() if path is not None else None
        return None


# ==================================================================== broadcasts (§3.6)


class BroadcastSpec(StepSpec):
    """A user sends one text to several users at once (one 1:1 copy each)."""

    KEY: ClassVar[str] = "broadcast"

    from_: Name = Field(alias="from")
    to: Names | None = None
    """The recipients; without them, ``list`` must be a list the user has."""
    list_: Name | None = Field(default=None, alias="list")
    """The list: a name of the world's lists or an id (``1420070400@broadcast``); default
    the bare ``broadcast`` (the service makes a list)."""
    text: Text
    id: Id | None = None
    """``"{{name}}"`` binds the id the client makes."""

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        if self.to is None and self.list_ is None:
            b.problem("name the recipients (to) or a list the user has (list)", "to")
        to = b.peer(self.list_, "list") if self.list_ is not None else "broadcast"
        children = [Node("body", data=b.text(self.text, "text"))]
        if self.to is not None:
            jids = _users(b, self.to, "to")
            children.append(Node("broadcast", children=[Node("to", {"jid": j}) for j in jids]))
        bind_id = None
        attrs = {"to": to, "type": "text"}
        if self.id is not None:
            template = b.value(self.id, "id", regex=False)
            bind_id = template.single_capture if isinstance(template, Template) else None
            if bind_id is None:
                attrs["id"] = b.text(self.id, "id")
            else:
                attrs["id"] = self.id
                b.bind({bind_id})
        if party is None:
            return None
        whom = ", ".join(self.to) if self.to is not None else self.list_
        return plan.Transmit(
            where=b.where,
            party=party,
            node=Node("message", attrs, children),
            summary=f"{party.label} broadcasts a text to {whom}",
            new_id=True,
            bind_id=bind_id,
        )


# ==================================================================== media upload (§3.9, §4.7)
