"""The core expectation kinds: what one stanza a party receives looks like, in typed fields.

Each :class:`~simulator.scenario.model.MatcherSpec` turns its fields into a
:class:`~simulator.scenario.match.Pattern` (only the fields given are checked; names
resolve to JIDs through the builder). The kinds of the flows' notifications are in
``flow_matchers``; each is a field of :class:`~simulator.scenario.expectation.Expectation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from simulator import stanzas
from simulator.scenario.match import Absent, AbsentOr, Pattern
from simulator.scenario.match import Literal as Exactly
from simulator.scenario.model import MatcherSpec, Name
from simulator.scenario.recorded import literal, printable
from simulator.vocabulary import Choices, FreeText, Matched, NodeText, Text

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder
    from simulator.scenario.match import Value
    from simulator.scenario.recorded import Direction, Recorder
    from simulator.wire.node import Node

__all__ = [
    "AckMatch",
    "ChatstateMatch",
    "IqMatch",
    "MessageMatch",
    "NodeMatch",
    "NotificationMatch",
    "PresenceMatch",
    "ReceiptMatch",
]

MESSAGE_TYPES = Annotated[str, Choices("text", "media")]
RECEIPT_TYPES = Annotated[str, Choices("delivery", "read", "played", "retry")]
ACK_CLASSES = Annotated[str, Choices("message", "receipt", "notification", "call", "iq")]
PRESENCE_TYPES = Annotated[str, Choices("available", "unavailable", "subscribe", "unsubscribe")]
NOTIFICATION_TYPES = Annotated[
    str,
    Choices(
        "account",
        "contacts",
        "encrypt",
        "features",
        "picture",
        "status",
        "subject",
        "w:gp2",
        "web",
    ),
]
IQ_TYPES = Annotated[str, Choices("get", "set", "result", "error")]


def _attrs(b: Builder, fields: list[tuple[str, str | None, str]]) -> tuple[tuple[str, Value], ...]:
    """(attribute, value as written, kind) -> pattern attributes; kind ``jid`` resolves names."""
    return b.attrs(fields)


class MessageMatch(MatcherSpec):
    """A message; only the fields given are checked."""

    KEY: ClassVar[str] = "message"

    from_: Name | None = Field(default=None, alias="from")
    """The sender (a user, ``bot``, a JID, a group) or a ``{{capture}}`` / ``/regex/``."""
    id: Matched | None = None
    type: MESSAGE_TYPES | None = None
    """``text`` or ``media``."""
    participant: Name | None = None
    """In a group: the author."""
    notify: Text | None = None
    """The sender's push name."""
    body: Text | None = None
    """The text: literal, ``{{capture}}`` template or ``/regex/``."""
    media: dict[Annotated[str, FreeText("an attribute name")], Matched] | None = None
    """Attributes the ``<media>`` child must have (``type``, ``url``, ``caption``...)."""
    t: Name | None = None
    """The server's timestamp (Unix time) when it took the message."""
    offline: bool | None = None
    """True: it was kept while the recipient was offline and came at its login."""

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        attrs = _attrs(
            b,
            [
                ("from", self.from_, "jid"),
                ("id", self.id, "value"),
                ("type", self.type, "value"),
                ("participant", self.participant, "jid"),
                ("notify", self.notify, "value"),
                ("t", self.t, "value"),
            ],
        )
        if self.offline is not None:
            attrs += (("offline", Exactly("1" if self.offline else "0")),)
        children: list[Pattern] = []
        if self.body is not None:
            children.append(Pattern("body", data=b.value(self.body, "body")))
        if self.media is not None:
            media = tuple((k, b.value(v, "media", k)) for k, v in self.media.items())
            children.append(Pattern("media", media))
        return Pattern("message", attrs, tuple(children))

    @classmethod
    def record(cls, r: Recorder, node: Node, jid: str) -> MessageMatch | None:
        """A text message ``jid`` received: sender, id, author and body."""
        seen = stanzas.message.recognize(node)
        if seen is None or seen.sender is None or seen.media is not None:
            return None
        text = printable(seen.body)
        if text is None:
            return None
        fields = {"from": r.jid_pattern(seen.sender)}
        if (msg_id := r.received_id(node, jid)) is not None:
            fields["id"] = msg_id
        if seen.participant is not None:
            fields["participant"] = r.jid_pattern(seen.participant)
        fields["body"] = literal(text)
        return cls.model_validate(fields)


class ReceiptMatch(MatcherSpec):
    """A receipt; ``type: delivery`` means a receipt without a type."""

    KEY: ClassVar[str] = "receipt"

    from_: Name | None = Field(default=None, alias="from")
    id: Matched | None = None
    type: RECEIPT_TYPES | None = None
    """``delivery``, ``read``, ``played`` or ``retry``."""
    participant: Name | None = None

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        attrs = list(
            _attrs(
                b,
                [
                    ("from", self.from_, "jid"),
                    ("id", self.id, "value"),
                    ("participant", self.participant, "jid"),
                ],
            )
        )
        if self.type == "delivery":
            attrs.append(("type", Absent()))
        elif self.type is not None:
            attrs.append(("type", b.value(self.type, "type")))
        return Pattern("receipt", tuple(attrs))

    @classmethod
    def record(cls, r: Recorder, node: Node, jid: str) -> ReceiptMatch | None:
        """A receipt ``jid`` received (of one message, or several in a list: ``node``)."""
        seen = stanzas.receipt.recognize(node)
        if seen is None or seen.sender is None or node.children:
            return None
        fields = {"from": r.jid_pattern(seen.sender)}
        if (msg_id := r.received_id(node, jid)) is not None:
            fields["id"] = msg_id
        fields["type"] = literal(seen.type or "delivery")
        if seen.participant is not None:
            fields["participant"] = r.jid_pattern(seen.participant)
        return cls.model_validate(fields)


class AckMatch(MatcherSpec):
    """An ack (the server's single tick for a message is ``class: message``)."""

    KEY: ClassVar[str] = "ack"

    class_: ACK_CLASSES | None = Field(default=None, alias="class")
    id: Matched | None = None
    from_: Name | None = Field(default=None, alias="from")
    type: RECEIPT_TYPES | None = None

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [
            ("class", self.class_, "value"),
            ("id", self.id, "value"),
            ("from", self.from_, "jid"),
            ("type", self.type, "value"),
        ]
        return Pattern("ack", _attrs(b, fields))


class PresenceMatch(MatcherSpec):
    """A presence; ``type: available`` also matches a presence without a type."""

    KEY: ClassVar[str] = "presence"

    from_: Name | None = Field(default=None, alias="from")
    type: PRESENCE_TYPES | None = None
    last: Name | None = None
    """For ``unavailable``: last seen (Unix time) or ``deny``."""
    to: Name | None = None
    """Whom a (un)subscribe is for (what the bot sends: ``to: server``)."""

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [("from", self.from_, "jid"), ("last", self.last, "value"), ("to", self.to, "jid")]
        attrs = list(_attrs(b, fields))
        if self.type == "available":
            attrs.append(("type", AbsentOr(Exactly("available"))))
        elif self.type is not None:
            attrs.append(("type", b.value(self.type, "type")))
        return Pattern("presence", tuple(attrs))


class ChatstateMatch(MatcherSpec):
    """A chat state: someone is typing (``composing``) or stopped (``paused``)."""

    KEY: ClassVar[str] = "chatstate"

    from_: Name | None = Field(default=None, alias="from")
    state: Literal["composing", "paused"] | None = None
    participant: Name | None = None

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        attrs = _attrs(b, [("from", self.from_, "jid"), ("participant", self.participant, "jid")])
        children = (Pattern(self.state),) if self.state is not None else ()
        return Pattern("chatstate", attrs, children)

    @classmethod
    def record(cls, r: Recorder, node: Node, jid: str) -> ChatstateMatch | None:
        """Someone typing (or stopping) to ``jid``."""
        seen = stanzas.chatstate.recognize(node)
        if seen is None or seen.sender is None or len(node.children) != 1:
            return None
        if seen.state not in ("composing", "paused"):
            return None
        fields = {"from": r.jid_pattern(seen.sender), "state": seen.state}
        if seen.participant is not None:
            fields["participant"] = r.jid_pattern(seen.participant)
        return cls.model_validate(fields)


class NotificationMatch(MatcherSpec):
    """A notification (groups, pictures, status, contacts...); use ``node`` for its content."""

    KEY: ClassVar[str] = "notification"

    from_: Name | None = Field(default=None, alias="from")
    type: NOTIFICATION_TYPES | None = None
    id: Matched | None = None
    participant: Name | None = None

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [
            ("from", self.from_, "jid"),
            ("type", self.type, "value"),
            ("id", self.id, "value"),
            ("participant", self.participant, "jid"),
        ]
        return Pattern("notification", _attrs(b, fields))


class IqMatch(MatcherSpec):
    """An iq (for example the server's ping, or an answer the bot got)."""

    KEY: ClassVar[str] = "iq"

    from_: Name | None = Field(default=None, alias="from")
    id: Matched | None = None
    type: IQ_TYPES | None = None
    xmlns: Matched | None = None
    to: Name | None = None
    """Where it goes (for iqs the bot sends: ``to: team``)."""
    child: Matched | None = None
    """A child it must have, by tag (``remove``, ``group``...)."""
    error: int | None = None
    """An error answer with this code (``type: error`` is implied)."""

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        fields = [
            ("from", self.from_, "jid"),
            ("id", self.id, "value"),
            ("type", self.type if self.error is None else "error", "value"),
            ("xmlns", self.xmlns, "value"),
            ("to", self.to, "jid"),
        ]
        children: list[Pattern] = []
        if self.child is not None:
            children.append(Pattern(self.child))
        if self.error is not None:
            children.append(Pattern("error", (("code", Exactly(str(self.error))),)))
        return Pattern("iq", _attrs(b, fields), tuple(children))


class NodeMatch(MatcherSpec):
    """Any stanza, as a pattern in the tx/rx notation: ``'<message><body>hi</body></message>'``.

    Subset match unless ``exact``; values may be ``{{captures}}`` or ``/regexes/``.
    """

    KEY: ClassVar[str] = "node"
    SHORT_FIELD: ClassVar[str | None] = "pattern"

    pattern_: NodeText = Field(alias="pattern")

    def pattern(self, b: Builder, *, exact: bool) -> Pattern | None:
        return b.pattern(self.pattern_, exact=exact)

    @classmethod
    def record(cls, r: Recorder, node: Node, direction: Direction, jid: str) -> NodeMatch:
        """Any stanza, as a pattern (what the replay cannot repeat captured or left out)."""
        return cls.model_validate({"pattern": r.pattern(node, direction, jid)})
