"""What only the service can cause, and registration (step types, the ``server`` step
:class:`ServerSpec` and its actions: the core ones, ``ping``, ``deliver`` and ``push``, are
in ``steps``).

``server`` actions call the test hooks of the flows (``simulator.server.flows.account``,
``contacts``) and end sessions the way the service did::

    - server: {contacts: {user: bob, change: remove}}   # tell who synced bob that he left
    - server: {call: {from: alice, to: bot}}            # an incoming call offer (live only)
    - server: {payment: bot}                            # the account is paid for a year
    - server: {dirty: {to: bot, categories: [groups]}}
    - server: {web: bot}                                # WhatsApp Web asks to pair
    - server: {disconnect: alice}                       # <stream:error><system-shutdown/>
    - server: {conflict: bot}                           # another login took the session
    - server: {kill: alice}                             # the connection drops, no goodbye

Registration goes to the HTTP side in-process (``/v2/code``, ``/v2/register``). The JSON
answer is checked as a node, ``<answer status="fail" reason="too_recent" retry_after="45"/>``,
against the typed fields; an account of the world with ``registered: false`` can log in
once a ``code_register`` step registered it::

    - code_request: {user: newbie}                      # status: sent
    - code_request: {user: newbie, status: fail, reason: too_recent, retry_after: 65}
    - code_register: {user: newbie}                     # the code the "SMS" carried
    - login: newbie
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from simulator.scenario import plan
from simulator.scenario.match import Pattern
from simulator.scenario.model import (
    Name,
    Names,
    OneOf,
    ServerActionSpec,
    StepSpec,
    short_form,
    summary,
)
from simulator.scenario.steps import DeliverAction, PingAction, PushAction
from simulator.vocabulary import Choices, Id, Text

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder

__all__ = [
    "CallAction",
    "CodeRegisterSpec",
    "CodeRequestSpec",
    "ConflictAction",
    "ContactsAction",
    "DirtyAction",
    "DisconnectAction",
    "FeaturesAction",
    "KillAction",
    "PaymentAction",
    "ServerSpec",
    "WebAction",
]

StreamErrorReason = Literal["system-shutdown", "ack", "xml-not-well-formed", "conflict"]
"""The stream errors a session can end with (§3.17)."""
REGISTRATION_STATUSES = Annotated[str, Choices("ok", "sent", "fail")]
"""The ``status`` of a registration answer."""
REGISTRATION_REASONS = Annotated[
    str,
    Choices(
        "bad_param",
        "bad_token",
        "blocked",
        "incorrect",
        "mismatch",
        "missing",
        "no_routes",
        "old_version",
        "stale",
        "too_many",
        "too_many_guesses",
        "too_recent",
    ),
]
"""The ``reason`` of a failed registration answer, as the service words it."""


def _action(
    b: Builder, summary: str, action: plan.ServiceOp, result: Pattern | None = None
) -> plan.Step:
    return plan.ServerAction(where=b.where, summary=summary, action=action, result=result)


# ==================================================================== notifications and stanzas


class ContactsAction(ServerActionSpec):
    """Tell everyone who synced a user's number that it registered, left or changed."""

    KEY: ClassVar[str] = "contacts"

    user: Name
    change: Literal["add", "remove", "update"]

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.user, "user")
        if party is None:
            return None
        action = plan.NotifyContacts(jid=party.jid, change=self.change)
        return _action(b, f"the server tells {self.user}'s contacts: {self.change}", action)


class CallAction(ServerActionSpec):
    """An incoming call offer (live only: the callee must be connected)."""

    KEY: ClassVar[str] = "call"

    from_: Name = Field(alias="from")
    to: Name

    def plan(self, b: Builder) -> plan.Step | None:
        caller, callee = b.account(self.from_, "from"), b.account(self.to, "to")
        if caller is None or callee is None:
            return None
        action = plan.Ring(caller=caller, callee=callee)
        return _action(b, f"{caller.label} calls {callee.label}", action)


class PaymentAction(ServerActionSpec):
    """A payment: the account is paid for ``delta`` more days (an ``account`` notification)."""

    KEY: ClassVar[str] = "payment"
    SHORT_FIELD: ClassVar[str | None] = "to"

    to: Name
    delta: int = 365
    """Days paid for."""
    sku: Id = "1"
    author: Name | None = None
    """Who paid, if someone else."""

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        author = b.account(self.author, "author") if self.author is not None else None
        if party is None:
            return None
        payer = author.jid if author is not None else None
        action = plan.Pay(party=party, author=payer, delta=self.delta, sku=self.sku)
        return _action(b, f"the server takes a payment for {party.label}", action)


class DirtyAction(ServerActionSpec):
    """Mark categories dirty (``<ib><dirty/></ib>``, live only; the flags stay until cleaned)."""

    KEY: ClassVar[str] = "dirty"
    SHORT_FIELD: ClassVar[str | None] = "to"

    to: Name
    categories: Names = Field(default_factory=lambda: ["groups"])

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        if party is None:
            return None
        action = plan.MarkDirty(party=party, categories=tuple(self.categories))
        listed = ", ".join(self.categories)
        return _action(b, f"the server marks {listed} dirty for {party.label}", action)


class WebAction(ServerActionSpec):
    """WhatsApp Web asks to pair (a ``web`` notification, kept until acked)."""

    KEY: ClassVar[str] = "web"
    SHORT_FIELD: ClassVar[str | None] = "to"

    to: Name
    sync: Id = "1"
    code: Id = "simulator"
    name: Text = "Browser"

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.account(self.to, "to")
        if party is None:
            return None
        action = plan.AskWebPairing(
            jid=party.jid,
            sync=self.sync.encode(),
            code=self.code.encode(),
            name=self.name.encode(),
        )
        return _action(b, f"WhatsApp Web asks {party.label} to pair", action)


class FeaturesAction(ServerActionSpec):
    """A contact's capabilities changed (a ``features`` notification)."""

    KEY: ClassVar[str] = "features"

    to: Name
    from_: Name = Field(alias="from")
    encrypt: Id = "1"

    def plan(self, b: Builder) -> plan.Step | None:
        party, sender = b.account(self.to, "to"), b.account(self.from_, "from")
        if party is None or sender is None:
            return None
        action = plan.NotifyFeatures(jid=party.jid, sender=sender.jid, encrypt=self.encrypt)
        summary = f"the server tells {party.label} about {sender.label}'s features"
        return _action(b, summary, action)


# ==================================================================== sessions


class _EndSession(ServerActionSpec):
    """The service ends a connected user's (or the bot's) session."""

    SHORT_FIELD: ClassVar[str | None] = "user"
    HOW: ClassVar[str]
    END: ClassVar[Literal["disconnect", "conflict", "kill"]]

    user: Name
    """A user or ``bot``; it counts as logged out (``- login:`` brings it back)."""

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.session_ended(self.user, "user")
        if party is None:
            return None
        action = plan.EndSession(party=party, how=self.END, reason=self.stream_reason())
        return _action(b, f"the server {self.HOW} {party.label}", action)

    def stream_reason(self) -> str:
        """The stream error it sends (a disconnect's)."""
        return "system-shutdown"


class DisconnectAction(_EndSession):
    """The server shuts a session down with a stream error (``system-shutdown`` by default)."""

    KEY: ClassVar[str] = "disconnect"
    HOW: ClassVar[str] = "disconnects"
    END: ClassVar[Literal["disconnect", "conflict", "kill"]] = "disconnect"

    reason: StreamErrorReason = "system-shutdown"
    """The stream error (``system-shutdown``, ``ack``, ``xml-not-well-formed``...)."""

    def stream_reason(self) -> str:
        return self.reason


class ConflictAction(_EndSession):
    """Another login took the account: ``<stream:error><conflict/>``, then the close."""

    KEY: ClassVar[str] = "conflict"
    HOW: ClassVar[str] = "replaces the session of"
    END: ClassVar[Literal["disconnect", "conflict", "kill"]] = "conflict"


class KillAction(_EndSession):
    """The connection drops without a goodbye (no stream error)."""

    KEY: ClassVar[str] = "kill"
    HOW: ClassVar[str] = "drops the connection of"
    END: ClassVar[Literal["disconnect", "conflict", "kill"]] = "kill"


# ==================================================================== registration (§4.8)


def default_identity(phone: str) -> str:
    """The device identity a registration step sends unless told (deterministic)."""
    return hashlib.sha1(f"simulator-identity:{phone}".encode()).hexdigest()[:20]


class _Registration(StepSpec):
    STATUS: ClassVar[str]

    user: Name
    """An account of the world (``registered: false`` for a new number)."""
    identity: Id | None = None
    """The device identity (default: one derived from the phone)."""
    cc: Id | None = Field(default=None, pattern=r"^[0-9]{1,3}$")
    """Where the country code ends (default: the first two digits)."""
    status: REGISTRATION_STATUSES | None = None
    """The answer's ``status``."""
    reason: REGISTRATION_REASONS | None = None
    """The answer's ``reason`` (``too_recent``, ``mismatch``...)."""
    retry_after: int | Id | None = None
    """Seconds before the next try (``too_recent``, ``too_many_guesses``)."""
    param: Id | None = None

    def expected(self, b: Builder, extra: list[tuple[str, str | None, str]]) -> Pattern:
        status = self.status or (self.STATUS if self.reason is None else "fail")
        retry = str(self.retry_after) if self.retry_after is not None else None
        fields = [
            ("reason", self.reason, ""),
            ("retry_after", retry, ""),
            ("param", self.param, ""),
            *extra,
        ]
        return Pattern("answer", (("status", b.value(status, "status")), *b.attrs(fields)))

    def numbers(self, b: Builder, party: plan.Party) -> tuple[str, str, str]:
        """(country code, national number, identity) as the request sends them."""
        cc = self.cc or party.phone[:2]
        if not party.phone.startswith(cc):
            b.problem(f"{party.label}'s phone {party.phone} does not start with {cc}", "cc")
        return cc, party.phone[len(cc) :], self.identity or default_identity(party.phone)


class CodeRequestSpec(_Registration):
    """Ask for a verification code (``/v2/code``); the answer must say ``sent`` unless told."""

    KEY: ClassVar[str] = "code_request"
    STATUS: ClassVar[str] = "sent"

    method: Literal["sms", "voice"] = "sms"

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.user, "user", acting=False)
        pattern = self.expected(b, [])
        if party is None:
            return None
        cc, number, identity = self.numbers(b, party)
        action = plan.RequestCode(cc=cc, number=number, identity=identity, method=self.method)
        return plan.ServerAction(
            where=b.where,
            summary=f"{party.label} asks for a registration code by {self.method}",
            action=action,
            result=pattern,
            answer_note=f"{party.label}'s code request",
            party=party.label,
        )


class CodeRegisterSpec(_Registration):
    """Submit the code (``/v2/register``); with status ``ok`` the user may log in after it."""

    KEY: ClassVar[str] = "code_register"
    STATUS: ClassVar[str] = "ok"

    code: Id | None = None
    """The code (default: the one the service last sent to the number)."""
    type: Literal["new", "existing"] | None = None
    """``new`` for a number that was not on the service."""

    def plan(self, b: Builder) -> plan.Step | None:
        party = b.user(self.user, "user", acting=False)
        pattern = self.expected(b, [("type", self.type, "")])
        code = b.text(self.code, "code") if self.code is not None else None
        if party is None:
            return None
        if self.status in (None, "ok") and self.reason is None:
            b.registered(party)
        cc, number, identity = self.numbers(b, party)
        action = plan.RegisterCode(party=party, cc=cc, number=number, identity=identity, code=code)
        return plan.ServerAction(
            where=b.where,
            summary=f"{party.label} registers with the code",
            action=action,
            result=pattern,
            answer_note=f"{party.label}'s registration",
            party=party.label,
        )


# ==================================================================== the server step


class ServerSpec(OneOf, StepSpec):
    """The fake service does something by itself: ``- server: {ping: bot}``."""

    KEY: ClassVar[str] = "server"
    WHAT: ClassVar[str] = "a server step"
    ONE_OF: ClassVar[tuple[str, ...]] = (
        "ping",
        "deliver",
        "push",
        "contacts",
        "call",
        "payment",
        "dirty",
        "web",
        "features",
        "disconnect",
        "conflict",
        "kill",
    )

    ping: Annotated[PingAction, short_form(PingAction)] | None = Field(
        default=None, description=summary(PingAction)
    )
    deliver: DeliverAction | None = Field(default=None, description=summary(DeliverAction))
    push: PushAction | None = Field(default=None, description=summary(PushAction))
    contacts: ContactsAction | None = Field(default=None, description=summary(ContactsAction))
    call: CallAction | None = Field(default=None, description=summary(CallAction))
    payment: Annotated[PaymentAction, short_form(PaymentAction)] | None = Field(
        default=None, description=summary(PaymentAction)
    )
    dirty: Annotated[DirtyAction, short_form(DirtyAction)] | None = Field(
        default=None, description=summary(DirtyAction)
    )
    web: Annotated[WebAction, short_form(WebAction)] | None = Field(
        default=None, description=summary(WebAction)
    )
    features: FeaturesAction | None = Field(default=None, description=summary(FeaturesAction))
    disconnect: Annotated[DisconnectAction, short_form(DisconnectAction)] | None = Field(
        default=None, description=summary(DisconnectAction)
    )
    conflict: Annotated[ConflictAction, short_form(ConflictAction)] | None = Field(
        default=None, description=summary(ConflictAction)
    )
    kill: Annotated[KillAction, short_form(KillAction)] | None = Field(
        default=None, description=summary(KillAction)
    )

    def plan(self, b: Builder) -> plan.Step | None:
        key, action = self.chosen()
        assert isinstance(action, ServerActionSpec), f"{key} is a server action"
        return action.plan(b.at(key))
