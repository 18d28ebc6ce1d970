"""The expectation mapping: ``to``, how long to wait, and exactly one kind of stanza.

Used by ``expect``, ``expect_none`` and each item of ``unordered``. The kinds are the
:class:`~simulator.scenario.model.MatcherSpec` classes of ``matchers`` (the core ones) and
``flow_matchers`` (the flows' notifications); adding a kind is a class there and a field
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Self

from pydantic import Field

from simulator.scenario.flow_matchers import ContactsMatch, GroupMatch, PictureMatch, StatusMatch
from simulator.scenario.matchers import (
    AckMatch,
    ChatstateMatch,
    IqMatch,
    MessageMatch,
    NodeMatch,
    NotificationMatch,
    PresenceMatch,
    ReceiptMatch,
)
from simulator.scenario.model import (
    Duration,
    MatcherSpec,
    Name,
    OneOf,
    short_form,
    summary,
)

if TYPE_CHECKING:
    from simulator.scenario.recorded import Direction, Recorder
    from simulator.wire.node import Node

__all__ = ["Expectation"]


class Expectation(OneOf):
    """What one party receives: ``to`` and exactly one kind (``message``, ``node``...)."""

    WHAT: ClassVar[str] = "an expectation"
    ONE_OF: ClassVar[tuple[str, ...]] = (
        "message",
        "receipt",
        "ack",
        "presence",
        "chatstate",
        "notification",
        "iq",
        "node",
        "group",
        "contacts",
        "picture",
        "status",
    )

    to: Name
    """Who receives it: a user, ``bot`` (what the server sends to the bot), or ``server``
    (what the bot sends to the server)."""
    within: Duration | None = None
    """How long to wait for it (virtual time; default: ``options.within``, 5s)."""
    optional: bool = False
    """Pass even if it does not come (it is matched and consumed if it does)."""
    exact: bool = False
    """For ``node``: the stanza must have exactly the attributes and children written."""

    message: MessageMatch | None = Field(default=None, description=summary(MessageMatch))
    receipt: ReceiptMatch | None = Field(default=None, description=summary(ReceiptMatch))
    ack: AckMatch | None = Field(default=None, description=summary(AckMatch))
    presence: PresenceMatch | None = Field(default=None, description=summary(PresenceMatch))
    chatstate: ChatstateMatch | None = Field(default=None, description=summary(ChatstateMatch))
    notification: NotificationMatch | None = Field(
        default=None, description=summary(NotificationMatch)
    )
    iq: IqMatch | None = Field(default=None, description=summary(IqMatch))
    node: Annotated[NodeMatch, short_form(NodeMatch)] | None = Field(
        default=None, description=summary(NodeMatch)
    )
    group: GroupMatch | None = Field(default=None, description=summary(GroupMatch))
    contacts: ContactsMatch | None = Field(default=None, description=summary(ContactsMatch))
    picture: PictureMatch | None = Field(default=None, description=summary(PictureMatch))
    status: StatusMatch | None = Field(default=None, description=summary(StatusMatch))

    @classmethod
    def record(
        cls,
        r: Recorder,
        to: str,
        node: Node,
        direction: Direction,
        jid: str,
        *,
        within: float | None = None,
    ) -> Self:
        """``to`` gets ``node`` (which ``jid`` received, or sent: ``direction``): by the
        typed fields of a message, receipt or chat state it received, else as a pattern."""
        kind: MatcherSpec | None = None
        if direction == "out":
            for typed in (MessageMatch, ReceiptMatch, ChatstateMatch):
                kind = typed.record(r, node, jid)
                if kind is not None:
                    break
        if kind is None:
            kind = NodeMatch.record(r, node, direction, jid)
        fields: dict[str, str | float | MatcherSpec] = {"to": to, kind.KEY: kind}
        if within is not None:
            fields["within"] = within
        return cls.model_validate(fields)

    def kind(self) -> tuple[str, MatcherSpec]:
        """The kind given (its key) and its fields."""
        key, spec = self.chosen()
        assert isinstance(spec, MatcherSpec), f"{key} is an expectation kind"
        return key, spec
