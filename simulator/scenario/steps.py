"""The core step types: 1:1 messaging, raw stanzas, waiting, expectations, server actions.

Adding a step type: write a :class:`~simulator.scenario.model.StepSpec` subclass here (or
in a flow's own module) with ``KEY``, its fields (each with a docstring: it becomes the
schema's description) and ``plan(b)``, which checks names and captures through the
builder ``b`` and returns a plan step (usually an existing one: a user sending a node is a
:class:`~simulator.scenario.plan.Transmit`); then add its row (key, wrapper name, spec's
module and name, short form) to the table of steps in ``document.py``. An expectation kind
(:class:`~simulator.scenario.model.MatcherSpec`, ``pattern(b)``) is a field of
:class:`~simulator.scenario.expectation.Expectation`, and a server action
(:class:`~simulator.scenario.model.ServerActionSpec`) a field of
:class:`~simulator.scenario.service_steps.ServerSpec`. The
steps, kinds and actions of the flows are in ``flow_steps``, ``flow_matchers`` and
``service_steps``. Regenerate ``scenarios/scenario.schema.json`` (``simulator schema``).

A step the recorder (``serve --record``) can write also has ``record``: the inverse of
``plan``, from a stanza to the typed spec (or None when the stanza is not exactly what
the step sends), asking the :class:`~simulator.scenario.recorded.Recorder` for names and
captures; list it in ``record_writer.RECORDED_STEPS`` and drive it in the recorder's
round-trip test. What a step needs done beyond sending a stanza (an upload, the
service's hooks) is a record of ``plan.ClientOp`` / ``plan.ServiceOp``, carried out in
``actions.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from simulator import stanzas
from simulator.client import payloads
from simulator.scenario import plan
from simulator.scenario.expectation import Expectation
from simulator.scenario.match import Template, compile_node
from simulator.scenario.model import (
    Duration,
    FileModel,
    Name,
    ServerActionSpec,
    StepSpec,
    short_form,
)
from simulator.scenario.recorded import printable
from simulator.vocabulary import Id, NodeText, PathText, Text
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder
    from simulator.scenario.recorded import Recorder

__all__ = [
    "DeliverAction",
    "ExpectNoneSpec",
    "ExpectSpec",
    "IqSpec",
    "LocationSpec",
    "LoginSpec",
    "LogoutSpec",
    "MediaSpec",
    "PausedSpec",
    "PingAction",
    "PresenceSpec",
    "PushAction",
    "RawSpec",
    "ReadSpec",
    "ReceiptSpec",
    "SendSpec",
    "TypingSpec",
    "UnorderedSpec",
    "VCardSpec",
    "WaitSpec",
]


# ==================================================================== users' actions


class LoginSpec(StepSpec):
    """A user logs in with the client library (``- login: alice``); ``bot`` starts the bot."""

    KEY: ClassVar[str] = "login"
    SHORT_FIELD: ClassVar[str | None] = "user"

    user: Name
    """The user (or ``bot``, when the bot does not start by itself)."""
    passive: bool = False
    """A passive login: no offline delivery, not shown online."""
    announce: bool = True
    """Send the available presence after login."""
    auto_receipt: bool = True
    """The client sends delivery receipts for messages by itself."""
    auto_ack: bool = True
    """The client acks receipts and notifications by itself."""

    def plan(self, b: Builder) -> plan.Step | None:
        if b.is_bot(self.user):
            return b.start_bot("user")
        party = b.user(self.user, "user", acting=False)
        if party is None:
            return None
        b.check_registered(party, "user")
        b.logged_in(party, True, "user")
        return plan.Login(
            where=b.where,
            party=party,
            passive=self.passive,
            announce=self.announce,
            auto_receipt=self.auto_receipt,
            auto_ack=self.auto_ack,
        )

    @classmethod
    def record(
        cls, user: str, *, announce: bool = True, auto_receipt: bool = True, auto_ack: bool = True
    ) -> LoginSpec:
        """The login of a session whose client did (or did not) announce itself, send
        delivery receipts and acks by itself: only what differs from the defaults is set."""
        options = {"announce": announce, "auto_receipt": auto_receipt, "auto_ack": auto_ack}
        return cls.model_validate({"user": user, **{k: v for k, v in options.items() if not v}})


class LogoutSpec(StepSpec):
    """A user ends its session cleanly (``- logout: alice``); ``bot`` stops the bot."""

    KEY: ClassVar[str] = "logout"
    SHORT_FIELD: ClassVar[str | None] = "user"

    user: Name

    def plan(self, b: Builder) -> plan.Step | None:
        if b.is_bot(self.user):
            return b.stop_bot("user")
        party = b.user(self.user, "user", acting=False)
        if party is None:
            return None
        b.logged_in(party, False, "user")
        return plan.Logout(where=b.where, party=party)


class MediaSpec(FileModel):
    """An image, audio or video: a ``path`` to upload (a plain string is one), or a message
    pointing at a ``url`` already uploaded."""

    SHORT_FIELD: ClassVar[str | None] = "path"

    path: PathText | None = None
    """A file (relative to the scenario) that the user uploads over the HTTP side, then
    sends (``send: {image: cat.jpg}``): the full flow, as ``Client.upload_media``."""
    url: Id | None = None
    size: int = 0
    mimetype: Id | None = None
    caption: Text | None = None
    file: PathText | None = None
    filehash: Id | None = None
    width: int | None = None
    height: int | None = None

    @model_validator(mode="after")
    def _path_or_url(self) -> MediaSpec:
        if (self.path is None) == (self.url is None):
            raise PydanticCustomError("media", "give either path (to upload) or url")
        written = self.model_fields_set & {"size", "file", "filehash", "width", "height"}
        if self.path is not None and written:
            raise PydanticCustomError(
                "media",
                "an upload takes these from the file: remove {keys}",
                {"keys": ", ".join(sorted(written))},
            )
        return self


class LocationSpec(FileModel):
    """A location message."""

    latitude: float
    longitude: float
    name: Text | None = None
    url: Id | None = None


class VCardSpec(FileModel):
    """A contact card."""

    name: Text
    card: Text
    """The vCard text."""


class SendSpec(StepSpec):
    """A user sends a message: text, image, audio, video, location or vcard."""

    KEY: ClassVar[str] = "send"
    PAYLOADS: ClassVar[tuple[str, ...]] = ("text", "image", "audio", "video", "location", "vcard")

    from_: Name = Field(alias="from")
    """The sender (a user)."""
    to: Name
    """A user, ``bot``, a phone, a JID or a ``{{capture}}``."""
    id: Id | None = None
    """The message id: ``"{{name}}"`` binds the id the client makes; a literal sets it."""
    text: Text | None = None
    image: Annotated[MediaSpec, short_form(MediaSpec)] | None = None
    audio: Annotated[MediaSpec, short_form(MediaSpec)] | None = None
    video: Annotated[MediaSpec, short_form(MediaSpec)] | None = None
    location: LocationSpec | None = None
    vcard: VCardSpec | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> SendSpec:
        given = [key for key in self.PAYLOADS if getattr(self, key) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "send_payload",
                "a send needs exactly one of: {listed}; got {got}",
                {"listed": ", ".join(self.PAYLOADS), "got": " and ".join(given) or "none"},
            )
        return self

    def plan(self, b: Builder) -> plan.Step | None:
        kind = self._kind()
        media = getattr(self, kind) if kind in ("image", "audio", "video") else None
        if isinstance(media, MediaSpec) and media.path is not None:
            return upload_step(
                b,
                self.from_,
                self.to,
                kind,
                media.path,
                caption=media.caption,
                mimetype=media.mimetype,
                id=self.id,
            )
        party = b.user(self.from_, "from")
        to = b.peer(self.to, "to")
        bind_id = None
        attrs = {"to": to, "type": "media" if self.text is None else "text"}
        if self.id is not None:
            template = b.value(self.id, "id", regex=False)
            bind_id = template.single_capture if isinstance(template, Template) else None
            if bind_id is None:
                attrs["id"] = b.text(self.id, "id")
            else:
                attrs["id"] = self.id
                b.bind({bind_id})
        node = Node("message", attrs, [self._payload(b)])
        if party is None:
            return None
        summary = f"{party.label} sends a {self._kind()} to {self.to}"
        return plan.Transmit(
            where=b.where, party=party, node=node, summary=summary, new_id=True, bind_id=bind_id
        )

    def _kind(self) -> str:
        return next(key for key in self.PAYLOADS if getattr(self, key) is not None)

    @classmethod
    def record(cls, r: Recorder, label: str, jid: str, node: Node) -> SendSpec | None:
        """A text message exactly as this step sends it (its id bound to a new capture)."""
        sent = stanzas.message.recognize(node)
        if sent is None or sent.to is None or node.get("id") is None:
            return None
        text = printable(sent.body)
        if text is None or node != stanzas.message.outgoing(
            sent.to, sent.id, [payloads.text(text)]
        ):
            return None
        body = r.sendable(text, f"{label}'s message {text!r}")
        return cls.model_validate(
            {"from": label, "to": r.peer(sent.to), "text": body, "id": r.message_id(sent.id, jid)}
        )

    def _payload(self, b: Builder) -> Node:
        """The payload child, built by the client library's builders (one shape)."""
        if self.text is not None:
            return payloads.text(b.text(self.text, "text"))
        if self.location is not None:
            loc = self.location
            return payloads.location(loc.latitude, loc.longitude, name=loc.name, url=loc.url)
        if self.vcard is not None:
            name = b.text(self.vcard.name, "vcard", "name")
            return payloads.vcard(name, b.text(self.vcard.card, "vcard", "card"))
        kind = self._kind()
        media: MediaSpec = getattr(self, kind)
        attrs = {
            key: b.text(value, kind, key)
            for key in ("mimetype", "filehash", "file", "caption")
            if (value := getattr(media, key)) is not None
        }
        if kind in ("image", "video"):
            attrs["width"] = str(media.width or 0)
            attrs["height"] = str(media.height or 0)
        url = b.text(media.url or "", kind, "url")
        return payloads.media(kind, url, size=media.size, thumbnail=None, **attrs)


class ReceiptSpec(StepSpec):
    """A user sends a receipt for one or more messages (delivery, read or played)."""

    KEY: ClassVar[str] = "receipt"

    from_: Name = Field(alias="from")
    to: Name
    """Who sent the message(s): a user, ``bot``, or a group JID."""
    id: Id | list[Id]
    """The message id(s), usually a ``{{capture}}`` bound by an expectation."""
    type: Literal["delivery", "read", "played"] = "delivery"
    participant: Name | None = None
    """In a group: the author of the message."""

    def plan(self, b: Builder) -> plan.Step | None:
        return _receipt(b, self.from_, self.to, self.id, self.type, self.participant)

    @classmethod
    def record(cls, r: Recorder, label: str, node: Node) -> ReceiptSpec | None:
        """A delivery or played receipt exactly as this step sends it."""
        for rtype in ("delivery", "played"):
            fields = _recorded_receipt(r, label, node, rtype)
            if fields is not None:
                return cls.model_validate(
                    {**fields, "type": rtype} if rtype != "delivery" else fields
                )
        return None


class ReadSpec(StepSpec):
    """A user marks messages read (a ``read`` receipt: blue ticks)."""

    KEY: ClassVar[str] = "read"

    from_: Name = Field(alias="from")
    to: Name
    id: Id | list[Id]
    participant: Name | None = None

    def plan(self, b: Builder) -> plan.Step | None:
        return _receipt(b, self.from_, self.to, self.id, "read", self.participant)

    @classmethod
    def record(cls, r: Recorder, label: str, node: Node) -> ReadSpec | None:
        """A read receipt exactly as this step sends it."""
        fields = _recorded_receipt(r, label, node, "read")
        return cls.model_validate(fields) if fields is not None else None


def _receipt_node(to: str, ids: list[str], rtype: str, participant: str | None) -> Node:
    """The receipt the ``receipt`` and ``read`` steps send (no ``type`` for delivery)."""
    kind = None if rtype == "delivery" else rtype
    return stanzas.receipt.build(to, ids or [""], type=kind, participant=participant)


def _recorded_receipt(
    r: Recorder, label: str, node: Node, rtype: str
) -> dict[str, str | list[str]] | None:
    """The fields of a receipt step sending ``node``, if it is a ``rtype`` receipt exactly
    as the step sends it."""
    seen = stanzas.receipt.recognize(node)
    if seen is None or seen.to is None or not seen.ids or (seen.type or "delivery") != rtype:
        return None
    if node != _receipt_node(seen.to, list(seen.ids), rtype, seen.participant):
        return None
    owner = seen.participant or seen.to
    refs = [r.sent_id(i, owner) for i in seen.ids]
    fields: dict[str, str | list[str]] = {"from": label, "to": r.peer(seen.to)}
    fields["id"] = refs if len(refs) > 1 else refs[0]
    if seen.participant is not None:
        fields["participant"] = r.peer(seen.participant)
    return fields


def _receipt(
    b: Builder, sender: str, to: str, ids: str | list[str], rtype: str, participant: str | None
) -> plan.Step | None:
    party = b.user(sender, "from")
    id_list = [ids] if isinstance(ids, str) else ids
    if not id_list:
        b.problem("a receipt needs at least one id", "id")
    texts = [b.text(i, "id") for i in id_list]
    target = b.peer(to, "to")
    author = b.peer(participant, "participant") if participant is not None else None
    if party is None:
        return None
    summary = f"{party.label} sends a {rtype} receipt to {to}"
    node = _receipt_node(target, texts, rtype, author)
    return plan.Transmit(where=b.where, party=party, node=node, summary=summary)


class TypingSpec(StepSpec):
    """A user starts typing to someone (chat state ``composing``)."""

    KEY: ClassVar[str] = "typing"
    STATE: ClassVar[str] = "composing"

    from_: Name = Field(alias="from")
    to: Name

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        node = stanzas.chatstate.build(b.peer(self.to, "to"), self.STATE)
        if party is None:
            return None
        summary = f"{party.label} is {self.STATE} to {self.to}"
        return plan.Transmit(where=b.where, party=party, node=node, summary=summary)

    @classmethod
    def record(cls, r: Recorder, label: str, node: Node) -> Self | None:
        """This chat state exactly as the step sends it."""
        seen = stanzas.chatstate.recognize(node)
        if seen is None or seen.to is None or seen.state != cls.STATE:
            return None
        if node != stanzas.chatstate.build(seen.to, cls.STATE):
            return None
        return cls.model_validate({"from": label, "to": r.peer(seen.to)})


class PausedSpec(TypingSpec):
    """A user stops typing (chat state ``paused``)."""

    KEY: ClassVar[str] = "paused"
    STATE: ClassVar[str] = "paused"


class PresenceSpec(StepSpec):
    """A user sends a presence: available, unavailable, or (un)subscribe to someone's."""

    KEY: ClassVar[str] = "presence"

    from_: Name = Field(alias="from")
    type: Literal["available", "unavailable", "subscribe", "unsubscribe"] = "available"
    to: Name | None = None
    """Whose presence to (un)subscribe to."""
    name: Text | None = None
    """The push name to announce (default: the account's name, for ``available``)."""

    SUBSCRIPTIONS: ClassVar[tuple[str, ...]] = ("subscribe", "unsubscribe")

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        to: str | None = None
        if self.type in self.SUBSCRIPTIONS:
            if self.to is None:
                b.problem(f"a {self.type} presence needs `to`", "to")
            else:
                to = b.peer(self.to, "to")
        elif self.to is not None:
            b.problem(f"an {self.type} presence goes to no one: remove `to`", "to")
        if party is None:
            return None
        name = self.name if self.name is not None else self._default_name(self.type, party.name)
        text = b.text(name, "name") if name else None
        summary = f"{party.label} sends presence {self.type}"
        node = self._node(self.type, to, text)
        return plan.Transmit(where=b.where, party=party, node=node, summary=summary)

    @staticmethod
    def _default_name(ptype: str, account_name: str) -> str:
        """The push name sent when the step names none: the account's, for ``available``."""
        return account_name if ptype == "available" else ""

    @staticmethod
    def _node(ptype: str, to: str | None, name: str | None) -> Node:
        attrs = {"type": ptype}
        if to is not None:
            attrs["to"] = to
        if name:
            attrs["name"] = name
        return Node("presence", attrs)

    @classmethod
    def record(cls, r: Recorder, label: str, jid: str, node: Node) -> PresenceSpec | None:
        """A presence exactly as this step sends it (``name`` only where it differs from
        the account's)."""
        seen = stanzas.presence.recognize(node)
        if seen is None or seen.type not in ("available", "unavailable", *cls.SUBSCRIPTIONS):
            return None
        to = seen.to if seen.type in cls.SUBSCRIPTIONS else None
        if seen.type in cls.SUBSCRIPTIONS and to is None:
            return None
        fields = {"from": label, "type": seen.type}
        if to is not None:
            fields["to"] = r.peer(to)
        default = cls._default_name(seen.type, r.push_name(jid))
        if (seen.name or None) != (default or None):
            fields["name"] = seen.name or ""
        if node != cls._node(seen.type, to, fields.get("name", default)):
            return None
        return cls.model_validate(fields)


class IqSpec(StepSpec):
    """A user sends an iq (tx/rx notation) and checks the answer."""

    KEY: ClassVar[str] = "iq"

    from_: Name = Field(alias="from")
    node: NodeText
    """The request, e.g. ``<iq type="get" xmlns="w:p" to="s.whatsapp.net"><ping/></iq>``; an
    ``id`` is added if it has none."""
    result: NodeText = '<iq type="result"/>'
    """A pattern the answer must match (subset match; captures bind)."""
    exact: bool = False
    within: Duration | None = None

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        node = b.node(self.node, "node")
        if node is not None and node.tag != "iq":
            b.problem(f"an iq step sends an <iq>, not <{node.tag}>", "node")
        result = b.pattern(self.result, "result", exact=self.exact)
        if party is None or node is None or result is None:
            return None
        b.bind(result.names())
        return plan.SendIq(where=b.where, party=party, node=node, result=result, within=self.within)

    @classmethod
    def record(
        cls, r: Recorder, label: str, jid: str, request: Node, answer: Node, within: float | None
    ) -> IqSpec | None:
        """A request of ``jid`` and the answer it got (ids left to the client)."""
        seen = stanzas.iq.recognize(request)
        if seen is None or seen.type not in ("get", "set"):
            return None
        fields: dict[str, str | float] = {
            "from": label,
            "node": r.template(request, jid, drop_id=True),
            "result": r.pattern(answer, "out", jid, drop_id=True),
        }
        if within is not None:
            fields["within"] = within
        return cls.model_validate(fields)


class RawSpec(StepSpec):
    """A user sends any stanza exactly as written (tx/rx notation, captures filled in)."""

    KEY: ClassVar[str] = "raw"

    from_: Name = Field(alias="from")
    node: NodeText

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.from_, "from")
        node = b.node(self.node, "node")
        if party is None or node is None:
            return None
        summary = f"{party.label} sends <{node.tag}>"
        return plan.Transmit(where=b.where, party=party, node=node, summary=summary)

    @classmethod
    def record(cls, r: Recorder, label: str, jid: str, node: Node) -> RawSpec:
        """Any stanza ``jid`` sent, as it sent it."""
        return cls.model_validate({"from": label, "node": r.template(node, jid)})


class WaitSpec(StepSpec):
    """Let time pass (virtual time with an in-process bot): ``- wait: 24h``."""

    KEY: ClassVar[str] = "wait"
    SHORT_FIELD: ClassVar[str | None] = "duration"

    duration: Duration

    def plan(self, b: Builder) -> plan.Step | None:
        return plan.Wait(where=b.where, seconds=self.duration)


def upload_step(
    b: Builder,
    sender: str,
    to: str,
    kind: str,
    file: str,
    *,
    caption: str | None,
    mimetype: str | None,
    id: str | None,
) -> plan.Step | None:
    """A user uploads a file over the HTTP side and sends it (``send: {image: cat.jpg}``)."""
    party = b.user(sender, "from")
    target = b.peer(to, "to")
    path = b.file(file, kind)
    bind_id = None
    if id is not None:
        template = b.value(id, "id", regex=False)
        bind_id = template.single_capture if isinstance(template, Template) else None
        if bind_id is None or bind_id in b.bound:
            b.problem("an upload makes its own id: write a new capture, id: '{{name}}'", "id")
        else:
            b.bind({bind_id})
    if party is None or path is None:
        return None
    text = b.text(caption, kind, "caption") if caption is not None else None
    # Read now, not in the run: a file read in a worker thread would let the virtual
    # clock jump while it runs.
    action = plan.Upload(
        to=target,
        data=path.read_bytes(),
        kind=kind,
        filename=path.name,
        caption=text,
        mimetype=mimetype,
        bind_id=bind_id,
    )
    return plan.UserAction(
        where=b.where,
        party=party,
        summary=f"{party.label} uploads {file} and sends it to {to}",
        action=action,
        result=compile_node('<iq type="result"/>'),
    )


# ==================================================================== the service's actions


class PingAction(ServerActionSpec):
    """The server pings a connected party (``urn:xmpp:ping``) and waits for the answer."""

    KEY: ClassVar[str] = "ping"
    SHORT_FIELD: ClassVar[str | None] = "to"

    to: Name
    within: Duration | None = None

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        if party is None:
            return None
        return plan.ServerPing(where=b.where, party=party, within=self.within)


class DeliverAction(ServerActionSpec):
    """The server delivers a message, receipt or notification, kept until acked."""

    KEY: ClassVar[str] = "deliver"

    to: Name
    node: NodeText

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        node = b.node(self.node, "node")
        if node is not None and node.tag not in ("message", "receipt", "notification"):
            b.problem(
                "the server keeps only messages, receipts and notifications,"
                f" not <{node.tag}>; use push",
                "node",
            )
            return None
        if party is None or node is None:
            return None
        return plan.ServerDeliver(where=b.where, party=party, node=node)


class PushAction(ServerActionSpec):
    """The server sends any stanza to a connected party, once (not kept if offline)."""

    KEY: ClassVar[str] = "push"

    to: Name
    node: NodeText

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        node = b.node(self.node, "node")
        if party is None or node is None:
            return None
        return plan.ServerPush(where=b.where, party=party, node=node)


# ==================================================================== expectations


class ExpectSpec(Expectation, StepSpec):
    """A party receives something: ``- expect: {to: alice, message: {from: bot, body: hi}}``."""

    KEY: ClassVar[str] = "expect"

    def plan(self, b: Builder) -> plan.Step | None:
        expectation = b.expectation(self)
        if expectation is None:
            return None
        b.bind(expectation.pattern.names())
        return plan.Expect(where=b.where, expectation=expectation)


class ExpectNoneSpec(Expectation, StepSpec):
    """Nothing matching reaches the party in time: ``- expect_none: {to: alice, message: {}}``."""

    KEY: ClassVar[str] = "expect_none"

    def plan(self, b: Builder) -> plan.Step | None:
        if self.optional:
            b.problem("expect_none cannot be optional", "optional")
        expectation = b.expectation(self)
        if expectation is None:
            return None
        return plan.ExpectNone(where=b.where, expectation=expectation)


class UnorderedSpec(StepSpec):
    """Expectations met in any order: ``- unordered: [{to: alice, ...}, {to: bob, ...}]``."""

    KEY: ClassVar[str] = "unordered"
    SHORT_FIELD: ClassVar[str | None] = "expect"

    expect: list[Expectation] = Field(min_length=1)
    """The expectations; each waits its own ``within`` from the start of the group."""

    def plan(self, b: Builder) -> plan.Step | None:
        items = [b.at("expect", i).expectation(spec) for i, spec in enumerate(self.expect)]
        if any(i is None for i in items):
            return None
        expectations = tuple(i for i in items if i is not None)
        for expectation in expectations:
            b.bind(expectation.pattern.names())
        return plan.Unordered(where=b.where, expectations=expectations)
