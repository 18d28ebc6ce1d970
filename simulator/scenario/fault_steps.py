"""Fault steps: the service misbehaves on demand (thin wrappers over
:class:`~simulator.server.fault_spec.FaultSpec`, the model the control API takes).

One action key, whose value is the selector ``WHAT [from|to|of PARTY]`` (``WHAT`` a tag,
a ``<pattern/>`` in the expectation notation, or ``anything``), and the scope::

    - fault: {drop: message from alice, times: 2}      # alice's next 2 messages are lost
    - fault: {delay: receipt to bot, seconds: 5}        # receipts reach the bot 5s late
    - fault: {hold: message to bot, as: held}           # kept until released
    - release: held                                     # ... now, in the order they came
    - fault: {stream_error: anything to bot, reason: conflict, times: 1}
    - fault: {suspend: bot, for: 1h}                    # banned for an hour
    - clear_faults: all
    - restart: {}                                       # every session drops; users log in again

Every fault hit is a ``-- fault #N ...`` line of the transcript where it happened, and a
failure lists the run's fault hits, most recent first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError

from simulator.patterns import compile_node
from simulator.scenario import plan
from simulator.scenario.model import Duration, Name, OneOf, StepSpec
from simulator.server.fault_spec import FaultSpec, parse_selector
from simulator.server.faults import LOGIN_REASONS, STREAM_ERRORS, FaultError
from simulator.vocabulary import FreeText, Text

if TYPE_CHECKING:
    from simulator.scenario.builder import Builder

__all__ = ["ClearFaultsSpec", "FaultStepSpec", "ReleaseSpec", "RestartSpec"]

Selector = Annotated[
    str,
    FreeText("a fault selector: WHAT [from|to|of PARTY], checked by the loader"),
]
"""``message from alice``, ``<iq xmlns="w:g2"/> of bot``, ``anything to bot``."""
FaultName = Annotated[str, FreeText("the name a fault step gave its fault (as: NAME)")]

_ACTIONS: dict[str, str] = {
    "drop": "drop",
    "delay": "delay",
    "duplicate": "duplicate",
    "hold": "hold",
    "reorder": "reorder",
    "iq_error": "iq-error",
    "throttle": "throttle",
    "stream_error": "stream-error",
    "disconnect": "disconnect",
    "refuse_login": "refuse-login",
    "latency": "latency",
    "split_writes": "split-writes",
    "reset": "reset",
    "random": "random",
}
"""Step key -> the FaultSpec action."""
_ACCOUNT_ACTIONS = ("expire", "suspend")
_ENDS_SESSIONS = frozenset({"stream_error", "disconnect", "reset", "suspend"})
"""Fault steps after which the bot may not run (``login: bot`` then starts it unless it
runs)."""


def _may_end_bot(b: Builder, key: str, value: str) -> bool:
    """Whether a fault step of action ``key`` and selector ``value`` may end the bot's
    session (a selector that names no party selects the bot's stanzas too)."""
    if key not in _ENDS_SESSIONS:
        return False
    text = value.strip()
    if key in ("suspend", "reset"):
        return text in ("", "anyone", "any", "*") or b.is_bot(text)
    words = text.split()
    if len(words) >= 2 and words[-2] in ("from", "to", "of"):
        return b.is_bot(words[-1])
    return True


RandomAction = Literal["drop", "delay", "duplicate", "hold", "reorder", "iq-error", "throttle"]


class FaultStepSpec(OneOf, StepSpec):
    """The service misbehaves: ``- fault: {drop: message from alice, times: 2}``."""

    KEY: ClassVar[str] = "fault"
    WHAT: ClassVar[str] = "a fault step"
    ONE_OF: ClassVar[tuple[str, ...]] = (*_ACTIONS, *_ACCOUNT_ACTIONS)

    drop: Selector | None = None
    """Lose the selected stanzas silently."""
    delay: Selector | None = None
    """Deliver them ``seconds`` late."""
    duplicate: Selector | None = None
    """Deliver them twice."""
    hold: Selector | None = None
    """Keep them until ``- release: NAME`` (or ``seconds`` pass)."""
    reorder: Selector | None = None
    """Deliver each batch of ``count`` (default 2) in reverse order."""
    iq_error: Selector | None = None
    """Answer a selected iq with error ``code`` (and ``text``) instead of its result."""
    throttle: Selector | None = None
    """Refuse with the protocol's rate error and ``backoff`` seconds."""
    stream_error: Selector | None = None
    """End the session with ``<stream:error>`` ``reason`` (default system-shutdown)."""
    disconnect: Selector | None = None
    """Close the session's socket without a goodbye."""
    refuse_login: Selector | None = None
    """Refuse the party's logins (``reason``: not-authorized or temporarily-unavailable)."""
    latency: Selector | None = None
    """Network: every write to the party ``seconds`` late."""
    split_writes: Selector | None = None
    """Network: frames split into writes of ``size`` bytes."""
    reset: Selector | None = None
    """Network: the connection is reset in the middle of a frame."""
    random: Selector | None = None
    """Draw an action from ``rates`` for each selected stanza (reproducible from ``seed``)."""
    expire: Name | None = None
    """The account's subscription ran out: its next login says ``expired``."""
    suspend: Name | None = None
    """The account is banned: its session ends and its logins are refused (``for``)."""

    times: PositiveInt | None = None
    """Only the first N selected stanzas."""
    for_: Duration | None = Field(None, alias="for")
    """Only for this long from now."""
    seconds: Duration | None = None
    """delay, latency: how long; hold: release after this long."""
    count: Annotated[int, Field(ge=2)] | None = None
    """reorder: stanzas per reversed batch."""
    code: Annotated[int, Field(ge=100, le=999)] | None = None
    """iq_error: the error code (400, 404, 503...)."""
    text: Text | None = None
    """iq_error: the error text; stream_error: a ``<text>`` in the stream error."""
    backoff: NonNegativeInt | None = None
    """throttle, iq_error: the ``backoff`` seconds the answer asks for."""
    reason: (
        Literal[
            "system-shutdown",
            "ack",
            "xml-not-well-formed",
            "conflict",
            "not-authorized",
            "temporarily-unavailable",
        ]
        | None
    ) = None
    """stream_error: the stream error; refuse_login: the login failure."""
    size: PositiveInt | None = None
    """split_writes: bytes per write."""
    seed: int = 0
    """random: the seed of its draws."""
    rates: dict[RandomAction, float] | None = None
    """random: action -> probability per selected stanza."""
    as_: FaultName | None = Field(None, alias="as")
    """A name for ``release`` and ``clear_faults``."""

    def plan(self, b: Builder) -> plan.Step | None:
        key, value = self._action()
        if self.as_ is not None:
            b.fault_names().add(self.as_)
        if _may_end_bot(b, key, value):
            b.bot_may_have_stopped()
        if key in _ACCOUNT_ACTIONS:
            return _account_step(b, key, value, self.for_, self.as_)
        action = _ACTIONS[key]
        reasons = {"stream_error": STREAM_ERRORS, "refuse_login": LOGIN_REASONS}.get(key, ())
        if self.reason is not None and self.reason not in reasons:
            known = ", ".join(reasons) if reasons else f"no reason for {key}"
            b.problem(f"{self.reason!r} is not a reason of {key} ({known})", "reason")
            return None
        try:
            selector = parse_selector(action, value)
        except FaultError as exc:
            b.problem(str(exc), key)
            return None
        party: plan.Party | None = None
        if "party" in selector:
            party = b.account(selector["party"], key)
            if party is None:
                return None
        if "match" in selector:
            try:
                compile_node(selector["match"])
            except ValueError as exc:
                b.problem(f"the stanza pattern {selector['match']!r} is not valid: {exc}", key)
                return None
        fields = self.model_dump(
            exclude={*_ACTIONS, *_ACCOUNT_ACTIONS, "as_"}, exclude_none=True, by_alias=True
        )
        try:
            spec = FaultSpec.model_validate(
                {
                    **fields,
                    **selector,
                    "action": action,
                    **({"party": party.jid} if party is not None else {}),
                }
            )
            spec.to_action()
        except (FaultError, ValidationError) as exc:
            b.problem(_one_sentence(exc), key)
            return None
        name = self.as_
        label = f" as {name}" if name is not None else ""
        return plan.ServerAction(
            where=b.where,
            summary=f"fault{label}: {key.replace('_', ' ')} {value}",
            action=plan.SetFault(spec=spec, name=name),
        )

    def _action(self) -> tuple[str, str]:
        for key in self.ONE_OF:
            value = getattr(self, key)
            if isinstance(value, str):
                return key, value
        raise AssertionError("validated models hold one member")  # pragma: no cover


def _account_step(
    b: Builder, key: str, who: str, for_: float | None, name: str | None
) -> plan.Step | None:
    party = b.account(who, key)
    if party is None:
        return None
    action: plan.ServiceOp = (
        plan.ExpireAccount(party=party)
        if key == "expire"
        else plan.SuspendAccount(party=party, for_=for_, name=name)
    )
    return plan.ServerAction(where=b.where, summary=f"fault: {key} {party.label}", action=action)


def _one_sentence(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else error["msg"]
    return str(exc)


class ReleaseSpec(StepSpec):
    """Stanzas a named ``hold`` fault keeps go on now: ``- release: held``."""

    KEY: ClassVar[str] = "release"
    SHORT_FIELD: ClassVar[str | None] = "fault"

    fault: FaultName
    """The name the fault step gave (``as: held``)."""

    def plan(self, b: Builder) -> plan.Step | None:
        if self.fault not in b.fault_names():
            b.problem(f"no fault step before this one is named {self.fault!r}", "fault")
            return None
        name = self.fault
        return plan.ServerAction(
            where=b.where, summary=f"release the fault {name}", action=plan.ReleaseFault(name=name)
        )


class ClearFaultsSpec(StepSpec):
    """Faults end (what they hold goes on): ``- clear_faults: held`` or ``- clear_faults: all``."""

    KEY: ClassVar[str] = "clear_faults"
    SHORT_FIELD: ClassVar[str | None] = "fault"

    fault: FaultName
    """The name a fault step gave (``as: NAME``), or ``all``."""

    def plan(self, b: Builder) -> plan.Step | None:
        name = self.fault
        if name != "all" and name not in b.fault_names():
            b.problem(f"no fault step before this one is named {name!r} (or say all)", "fault")
            return None
        return plan.ServerAction(
            where=b.where, summary=f"clear the faults: {name}", action=plan.ClearFaults(name=name)
        )


class RestartSpec(StepSpec):
    """The server restarts: every session drops, the state survives, the users the steps
    logged in log in again (the bot reconnects by itself, or not): ``- restart: {}``."""

    KEY: ClassVar[str] = "restart"

    goodbye: bool = False
    """Send ``<stream:error><system-shutdown/>`` first (else the connections just drop)."""

    def plan(self, b: Builder) -> plan.Step | None:
        b.bot_may_have_stopped()
        return plan.Restart(where=b.where, goodbye=self.goodbye)
