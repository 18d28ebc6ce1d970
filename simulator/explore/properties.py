"""Properties: what must hold in every explored run, built in and written by users.

A property is a function of a :class:`Run` (the steps and the transcript of one
generated scenario, the stanzas parsed back into nodes) that returns the
:class:`Violation` values it finds (an iterable, or None when all is well)::

    from simulator.explore import Run, Violation, invariant

    @invariant("the bot never messages a user who wrote STOP")
    def stop_means_stop(run: Run):
        stopped = set()
        for event in run.events:
            if event.received_by("bot", "message") and event.body == "STOP":
                stopped.add(event.peer)
            elif event.sent_by("bot", "message") and event.peer in stopped:
                yield Violation(f"the bot wrote to {event.peer} after STOP", event)

A violation names the stanza that breaks the property (``event``): the explorer writes
the shrunk run with an ``expect_none`` for it after the step that set it in motion, so
the scenario fails on it when replayed. A violation about something that never came
(``missing``, a node pattern the party should have received) becomes an ``expect`` at
the end of the scenario instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from simulator.records import record
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.explore.cast import Cast
    from simulator.scenario import Entry

__all__ = [
    "BUILT_IN",
    "Event",
    "FaultMark",
    "Property",
    "Run",
    "Violation",
    "check_all",
    "describe",
    "invariant",
]


@record
class Event:
    """One stanza of a transcript: ``party`` (a user's name or ``bot``) sent it (``tx``)
    or received it (``rx``) at ``at`` virtual seconds, during step ``step`` (the index
    in :attr:`Run.steps`; None before the first)."""

    at: float
    party: str
    arrow: Literal["tx", "rx"]
    node: Node
    step: int | None
    peer: str | None
    """The account on the other side (the ``to`` of what was sent, the ``from`` of what
    was received; a group message's author), by name; None for the server or a group."""
    index: int = 0
    """Position in :attr:`Run.events`."""

    @property
    def tag(self) -> str:
        return self.node.tag

    @property
    def body(self) -> str | None:
        """The text of a text message (None for anything else)."""
        child = self.node.child("body")
        return child.text if child is not None else None

    def sent_by(self, party: str, tag: str | None = None) -> bool:
        return self.arrow == "tx" and self.party == party and tag in (None, self.node.tag)

    def received_by(self, party: str, tag: str | None = None) -> bool:
        return self.arrow == "rx" and self.party == party and tag in (None, self.node.tag)

    def __str__(self) -> str:
        arrow = "sent" if self.arrow == "tx" else "received"
        return f"{self.party} {arrow} {self.node.to_text()}"


@record
class Violation:
    """A property that does not hold: why, and the stanza that shows it."""

    message: str
    event: Event | None = None
    """The stanza that breaks the property (the scenario's ``expect_none`` catches it)."""
    missing: tuple[str, str] | None = None
    """Or ``(party, pattern)``: what ``party`` (a user, ``bot`` or ``server``) should
    have received, a node pattern in the tx/rx notation (becomes an ``expect``)."""
    prop: str = ""
    """The property's description (filled in by the explorer)."""


@record
class FaultMark:
    """One hit of a fault of the service (a ``-- fault #N ...`` note of the transcript)."""

    at: float
    action: str
    """``drop``, ``delay``, ``duplicate``, ``stream-error``, ``restart``..."""
    party: str | None
    """Whose session it touched (``bot``, a user's name; None: the server, a restart)."""
    node: Node | None
    """The stanza it touched (None: a session, a login, the server)."""

    @property
    def key(self) -> tuple[str, str] | None:
        """(tag, id) of the stanza it touched."""
        if self.node is None or self.node.get("id") is None:
            return None
        return self.node.tag, self.node.get("id", "")


_FAULT_NOTE: Final = re.compile(
    r"(?:fault #\d+ \[[^\]]*\] )?(?P<action>drop|delay|duplicate|hold|reorder|iq-error|throttle"
    r"|stream-error|disconnect|refuse-login|latency|split-writes|reset|random|restart)"
    r"(?: \((?:[^()]|\([^()]*\))*\))?"
    r"(?: (?:from|to|at the login of|on the wire to) (?P<party>[^\s:]+))?(?:: (?P<stanza><.*))?",
    re.S,
)


def fault_marks(notes: Iterable[tuple[float, str]], cast: Cast) -> list[FaultMark]:
    """The fault hits among a transcript's notes, in order."""
    marks: list[FaultMark] = []
    bot_label = cast.bot.casefold()
    for at, text in notes:
        found = _FAULT_NOTE.fullmatch(text)
        if found is None:
            continue  # "fault #N set: ..." and other notes
        node: Node | None = None
        if found["stanza"]:
            try:
                node = Node.parse(found["stanza"])
            except ValueError:
                node = None
        party = found["party"]
        if party is not None:
            party = "bot" if party.casefold() == bot_label else party.casefold()
        marks.append(FaultMark(at, found["action"], party, node))
    return marks


@dataclass
class Run:
    """One explored run as properties see it."""

    steps: list[dict[str, Any]]
    events: list[Event]
    cast: Cast
    notes: list[tuple[float, str]] = field(default_factory=list)
    """The transcript's notes (``the bot starts``, ``steps[3]: ...``) with their time."""
    faults: list[FaultMark] = field(default_factory=list)
    """The hits of the faults of the run (``--faults``), in order."""

    def __post_init__(self) -> None:
        if not self.faults and self.notes:
            self.faults = fault_marks(self.notes, self.cast)

    def touched(self, tag: str, msg_id: str) -> bool:
        """Whether a fault touched the stanza ``<tag id=msg_id>`` (dropped, delayed,
        duplicated, held it, or ended a session instead of delivering it)."""
        return any(mark.key == (tag, msg_id) for mark in self.faults)

    @property
    def bot(self) -> str:
        """The bot's party name in events (``bot``)."""
        return "bot"

    def jid(self, name: str) -> str:
        """The JID of an account (``bot`` is the bot's)."""
        return self.cast.jid(self.cast.bot if name == "bot" else name)

    def sent(self, party: str, tag: str | None = None) -> Iterator[Event]:
        return (e for e in self.events if e.sent_by(party, tag))

    def received(self, party: str, tag: str | None = None) -> Iterator[Event]:
        return (e for e in self.events if e.received_by(party, tag))


Property = Callable[[Run], Iterable[Violation] | None]

P = TypeVar("P", bound=Callable[..., Any])

_DESCRIPTION: Final = "__explore_invariant__"


def invariant(description: str) -> Callable[[P], P]:
    """Mark a function as a property, with the sentence reports and scenario files use
    (``simulator explore --property module`` takes every marked function of a module)."""

    def mark(function: P) -> P:
        setattr(function, _DESCRIPTION, description)
        return function

    return mark


def describe(prop: Callable[..., Any]) -> str:
    """A property's sentence: its :func:`invariant` description, its docstring's first
    line, or its name."""
    described = getattr(prop, _DESCRIPTION, None)
    if isinstance(described, str):
        return described
    doc = (prop.__doc__ or "").strip().splitlines()
    return doc[0] if doc else getattr(prop, "__name__", repr(prop))


def is_invariant(value: object) -> bool:
    return callable(value) and isinstance(getattr(value, _DESCRIPTION, None), str)


def parse_events(
    entries: Iterable[Entry], cast: Cast
) -> tuple[list[Event], list[tuple[float, str]]]:
    """The transcript's stanzas as events (and its notes), each with its step index."""
    events: list[Event] = []
    notes: list[tuple[float, str]] = []
    step: int | None = None
    for entry in entries:
        if entry.arrow == "--":
            notes.append((entry.at, entry.text))
            if entry.text.startswith("steps["):
                step = int(entry.text[len("steps[") : entry.text.index("]")])
            continue
        try:
            node = Node.parse(entry.text)
        except ValueError:
            continue
        arrow: Literal["tx", "rx"] = "tx" if entry.arrow == "tx" else "rx"
        peer_jid = node.get("to") if arrow == "tx" else node.get("participant", node.get("from"))
        peer = cast.name_of(peer_jid)
        if peer == cast.bot:
            peer = "bot"
        events.append(Event(entry.at, entry.party, arrow, node, step, peer, len(events)))
    return events, notes


# -------------------------------------------------------------------- built in

_PROTOCOL_ERRORS: Final = {"400", "406", "500", "501"}


@invariant("every stanza the bot sends is accepted by the service (no protocol error)")
def accepted(run: Run) -> Iterator[Violation]:
    for event in run.received("bot"):
        node = event.node
        if node.tag == "stream:error":
            if not _session_fault(run, event):
                yield Violation("the service closed the bot's stream with an error", event)
        elif node.tag == "iq" and node.get("type") == "error":
            error = node.child("error")
            code = error.get("code") if error is not None else None
            if code in _PROTOCOL_ERRORS:
                yield Violation(f"the service answered a stanza of the bot with {code}", event)
        elif node.tag == "ack" and node.get("error") is not None:
            yield Violation(f"the service refused a stanza of the bot ({node.get('error')})", event)


@invariant("the bot acks what the protocol says it must: receipts, notifications, messages")
def acks(run: Run) -> Iterator[Violation]:
    answered: set[tuple[str, str]] = set()
    for event in run.sent("bot"):
        key = event.node.get("id", "")
        if event.tag == "ack":
            answered.add((event.node.get("class", ""), key))
        elif event.tag == "receipt":
            answered.add(("message", key))
    for event in run.received("bot"):
        kind = event.tag
        if kind not in ("receipt", "notification", "message") or event.node.get("id") is None:
            continue
        if (kind, event.node.get("id", "")) in answered or _session_fault(run, event):
            continue  # answered, or the session ended (a fault) as it arrived
        what = "a delivery receipt" if kind == "message" else "an ack"
        pattern = (
            f'<receipt id="{event.node.get("id")}"/>'
            if kind == "message"
            else f'<ack class="{kind}" id="{event.node.get("id")}"/>'
        )
        yield Violation(
            f"the bot never sent {what} for the <{kind}> it received ({event.node.to_text()})",
            missing=("server", pattern),
        )


@invariant("what the service acked reaches the bot once, and receipts match deliveries")
def delivery(run: Run) -> Iterator[Violation]:
    bot_jid = run.jid("bot")
    accepted_ids: dict[str, Event] = {}
    sent_to_bot: set[str] = set()
    sent_by_users: set[str] = set()
    for event in run.events:
        if event.arrow == "tx" and event.tag == "message" and event.party != "bot":
            sent_by_users.add(event.node.get("id", ""))
            if event.node.get("to") == bot_jid:
                sent_to_bot.add(event.node.get("id", ""))
        elif (
            event.arrow == "rx"
            and event.tag == "ack"
            and event.node.get("class") == "message"
            and event.node.get("from") == bot_jid
            and event.node.get("error") is None
            and event.party != "bot"
        ):
            accepted_ids[event.node.get("id", "")] = event
    received: Counter[str] = Counter()
    receipted: set[str] = set()
    for event in run.events:
        msg_id = event.node.get("id", "")
        if event.received_by("bot", "message") and event.node.get("from") != bot_jid:
            if msg_id in receipted and not (
                run.touched("message", msg_id) or run.touched("receipt", msg_id)
            ):
                yield Violation(
                    "the service delivered a message to the bot again after its receipt",
                    event,
                )
            received[msg_id] += 1
        elif event.sent_by("bot", "receipt") and event.node.get("type") is None:
            receipted.add(msg_id)
        elif (
            event.arrow == "rx"
            and event.party != "bot"
            and event.tag == "receipt"
            and event.node.get("from") == bot_jid
            and event.node.get("type") is None
            and msg_id not in sent_by_users
        ):
            yield Violation(
                f"{event.party} got a delivery receipt for {msg_id}, which it never sent the bot",
                event,
            )
    for msg_id, ack in accepted_ids.items():
        if msg_id in sent_to_bot and received[msg_id] == 0 and not run.touched("message", msg_id):
            yield Violation(
                f"the service acked {ack.party}'s message {msg_id} to the bot but never"
                " delivered it",
                missing=("bot", f'<message id="{msg_id}"/>'),
            )


_SESSION_FAULTS: Final = frozenset({"stream-error", "disconnect", "reset", "restart"})


def _session_fault(run: Run, event: Event) -> bool:
    """Whether a fault ended the bot's session (or restarted the server) as ``event``
    reached the bot: a stream error it sent, a stanza there was no time to answer."""
    return any(
        mark.action in _SESSION_FAULTS and mark.party in ("bot", None) and mark.at == event.at
        for mark in run.faults
    )


BUILT_IN: Final[tuple[Property, ...]] = (accepted, acks, delivery)
"""The properties every exploration checks (besides: the run itself passes, so the bot
neither crashes nor hangs, and the service hits no bug of its own)."""


def check_all(run: Run, properties: Iterable[Property]) -> list[Violation]:
    """Every violation of ``properties`` in ``run``, each tagged with its property."""
    found: list[Violation] = []
    for prop in properties:
        result = prop(run)
        if result is None:
            continue
        text = describe(prop)
        found.extend(Violation(v.message, v.event, v.missing, v.prop or text) for v in result)
    return found
