"""A fault written as data: what the control API takes as JSON (and what a scenario step
will wrap), checked by pydantic and turned into a :mod:`simulator.server.faults` fault.

One flat object; ``action`` says which of the other fields count::

    {"action": "drop", "direction": "in", "party": "alice", "match": "<message/>", "times": 2}
    {"action": "delay", "seconds": 5, "match": "<receipt/>", "for": 300}
    {"action": "iq-error", "code": 503, "match": "<iq xmlns=\\"w:g2\\"/>"}
    {"action": "random", "seed": 7, "rates": {"drop": 0.1, "duplicate": 0.05}}

Durations are seconds of server time (numbers, or text like ``"90s"``, ``"5m"``, ``"1h"``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Final, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt

from simulator.server.faults import (
    Action,
    Delay,
    Disconnect,
    Drop,
    Duplicate,
    EndSession,
    FaultError,
    Hold,
    IqError,
    Latency,
    Random,
    RefuseLogin,
    Reorder,
    ResetMidFrame,
    SplitWrites,
    StanzaAction,
    Throttle,
)

if TYPE_CHECKING:
    from simulator.server.faults import Fault, FaultSet

__all__ = ["ACTIONS", "FaultSpec", "parse_duration", "parse_selector"]

T = TypeVar("T")

ActionName = Literal[
    "drop",
    "delay",
    "duplicate",
    "hold",
    "reorder",
    "iq-error",
    "throttle",
    "stream-error",
    "disconnect",
    "refuse-login",
    "latency",
    "split-writes",
    "reset",
    "random",
]
ACTIONS: Final[tuple[str, ...]] = get_args(ActionName)

_PARTY_ONLY: Final = frozenset({"refuse-login", "latency", "split-writes", "reset"})
_SELECTOR: Final = re.compile(
    r"^(?P<what>.*?)(?:\s+(?P<dir>from|to|of)\s+(?P<party>\S+))?\s*$", re.S
)
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> object:
    """``90``, ``"90s"``, ``"5m"``, ``"1h"`` -> seconds; anything else is left for pydantic."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise ValueError(f"{value!r} is not a duration (like 30s, 5m, 1h)")
        return float(found.group(1)) * _UNITS[found.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


class FaultSpec(BaseModel):
    """One fault as data; see the module docstring and ``README.md`` "Faults"."""

    # Built when first used (the control API, a fault step), not at import.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, defer_build=True)

    action: ActionName
    direction: Literal["in", "out", "any"] = "any"
    party: str | None = None
    match: str | None = None
    times: PositiveInt | None = None
    for_: Duration | None = Field(None, alias="for")
    seconds: Duration | None = None
    """delay, latency: how long; hold: release after (none: until released)."""
    count: int | None = None
    """reorder: stanzas per reversed batch (default 2)."""
    code: int | None = None
    text: str | None = None
    backoff: int | None = None
    reason: str | None = None
    """stream-error: the stream:error reason; refuse-login: the failure reason."""
    size: int | None = None
    """split-writes: bytes per write (default 1)."""
    seed: int = 0
    rates: dict[str, float] | None = None
    """random: action name -> probability per matching stanza."""

    def to_action(self) -> Action:
        """The fault action; raises :class:`FaultError` when a field it needs is missing."""
        if self.action == "random":
            if not self.rates:
                raise FaultError('a random fault needs rates, like {"drop": 0.1}')
            choices: list[tuple[float, StanzaAction]] = []
            for name, rate in self.rates.items():
                inner = self.model_copy(update={"action": name}) if name in ACTIONS else None
                if inner is None:
                    raise FaultError(f"{name!r} is not a fault action")
                action = inner.to_action()
                if isinstance(action, (Random, RefuseLogin, Latency, SplitWrites, ResetMidFrame)):
                    raise FaultError(f"a random fault draws stanza actions, not {name}")
                choices.append((rate, action))
            return Random(tuple(choices), self.seed)
        return self._single()

    def _single(self) -> Action:
        match self.action:
            case "drop":
                return Drop()
            case "delay":
                return Delay(self._needs("seconds", self.seconds))
            case "duplicate":
                return Duplicate()
            case "hold":
                return Hold(self.seconds)
            case "reorder":
                return Reorder(self.count or 2)
            case "iq-error":
                code = self._needs("code", self.code)
                return IqError(code, self.text or _DEFAULT_TEXT.get(code, "error"), self.backoff)
            case "throttle":
                return Throttle(60 if self.backoff is None else self.backoff)
            case "stream-error":
                return EndSession(self.reason or "system-shutdown", self.text)
            case "disconnect":
                return Disconnect()
            case "refuse-login":
                return RefuseLogin(self.reason or "not-authorized")
            case "latency":
                return Latency(self._needs("seconds", self.seconds))
            case "split-writes":
                return SplitWrites(self.size or 1)
            case "reset":
                return ResetMidFrame()
        raise FaultError(f"{self.action!r} is not a fault action")  # pragma: no cover

    def _needs(self, name: str, value: T | None) -> T:
        if value is None:
            raise FaultError(f"the {self.action} fault needs {name}")
        return value

    def add_to(self, faults: FaultSet) -> Fault:
        """Set this fault on a server; raises :class:`FaultError` (one sentence)."""
        return faults.add(
            self.to_action(),
            direction=self.direction,
            party=self.party,
            match=self.match,
            times=self.times,
            for_=self.for_,
        )


_DEFAULT_TEXT: Final = {
    400: "bad-request",
    401: "not-authorized",
    403: "forbidden",
    404: "item-not-found",
    405: "not-allowed",
    406: "not-acceptable",
    409: "conflict",
    500: "internal-server-error",
    501: "feature-not-implemented",
    503: "service-unavailable",
}
"""The texts of the codes of PROTOCOL.md §4.2, for an iq-error given only its code."""


def parse_selector(action: str, text: str) -> dict[str, str]:
    """``"message from alice"`` -> ``{"match": "<message/>", "direction": "in", "party":
    "alice"}`` (the selector notation of ``simulator control``)."""
    if action in _PARTY_ONLY:
        party = text.strip()
        return {} if party in ("", "anyone", "any", "*") else {"party": party}
    found = _SELECTOR.match(text)
    assert found is not None  # the expression matches any text
    what = found["what"].strip()
    spec: dict[str, str] = {}
    if what.startswith("<"):
        spec["match"] = what
    elif re.fullmatch(r"[A-Za-z][\w:.-]*", what) and what not in ("anything", "any"):
        spec["match"] = f"<{what}/>"
    elif what not in ("", "anything", "any", "*"):
        raise FaultError(
            f"cannot read the selector {text!r}: write WHAT [from|to|of PARTY], "
            "WHAT a tag, a <pattern/> or anything"
        )
    if found["party"]:
        spec["party"] = found["party"]
        spec["direction"] = {"from": "in", "to": "out", "of": "any"}[found["dir"]]
    return spec
