"""Faults on demand: the service misbehaves where a test says, deterministically.

Theory of operation
-------------------
A :class:`Fault` is a **selector** (which stanzas), an **action** (what happens to them)
and a **scope** (how long it lasts). Every server has one :class:`FaultSet`,
``server.faults``; :meth:`FaultSet.add` returns the fault as a handle (``hits``,
``clear()``, ``release()``)::

    from simulator.server.faults import Drop, Delay

    lost = server.faults.add(Drop(), direction="out", party=BOB, match="<message/>", times=1)
    server.faults.add(Delay(5), direction="in", match='<iq xmlns="urn:xmpp:whatsapp:sync"/>')

Selector
    ``direction``: ``"in"`` (a stanza a client sends, before the server handles it),
    ``"out"`` (a stanza the server queues for a client, before it is written) or
    ``"any"``; ``party``: the user on the session (a phone number, a JID, or an account's
    push name), or anyone; ``match``: a node pattern in the tx/rx notation of scenario
    expectations (:mod:`simulator.patterns`: subset match, ``/regex/`` values, captures
    match anything).

Scope
    ``times=N``: the first N matching stanzas, then the fault clears itself;
    ``for_=seconds`` of server time from now; neither: until cleared. A stanza is touched
    by the first fault (oldest first) that selects it; a fault that lets it pass (a
    :class:`Random` draw that picked nothing) is not hit and leaves it to the next one.

Where faults apply
    :meth:`Server.dispatch` asks :meth:`FaultSet.ingress` before routing a stanza, and
    :meth:`Session.push` asks :meth:`FaultSet.egress` before queueing one, so every
    transport and every flow gets them without knowing. With no fault set both are one
    attribute check (``faults.active``). Login refusals are asked at the login
    (:meth:`FaultSet.login_refusal`), network faults by the byte stream of each TCP or
    in-memory byte connection (:class:`FaultStream`).

Determinism
    Faults act on the server's clock (trio's: ``MockClock`` in tests) and on the order of
    stanzas; :class:`Random` draws from its own ``random.Random(seed)``. Same inputs, same
    transcript, same :attr:`FaultSet.log`, given the same order of the tasks trio wakes
    at one instant (a stanza falling due while a client sends, at the same second): the
    scenario runner seeds trio's scheduler for that (``simulator.trio_scheduler``).

Reporting
    Every application is a :class:`FaultHit` in ``server.faults.log`` (server time, the
    fault, the direction, the user, the stanza), and is given to every observer added
    with :meth:`FaultSet.observe`, so a transcript can mark it and a failure report can
    name it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import random
import socket
import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar, Final, Literal, TypeAlias, final

import trio

from simulator.errors import StanzaError
from simulator.jid import user_jid
from simulator.patterns import Pattern, compile_node, match
from simulator.records import record
from simulator.stanzas.errors import stream_error
from simulator.transport import sockets

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.server.session import Session
    from simulator.server.state import Account
    from simulator.transport.link import Link
    from simulator.wire.node import Node

__all__ = [
    "LOGIN_REASONS",
    "STREAM_ERRORS",
    "Action",
    "Delay",
    "Disconnect",
    "Drop",
    "Duplicate",
    "EndSession",
    "Fault",
    "FaultError",
    "FaultHit",
    "FaultSet",
    "FaultStream",
    "Hold",
    "IqError",
    "Latency",
    "Random",
    "RefuseLogin",
    "Reorder",
    "ResetMidFrame",
    "Selector",
    "SplitWrites",
    "Throttle",
]

log = logging.getLogger("simulator.server.faults")

Direction: TypeAlias = Literal["in", "out"]
DirectionOrAny: TypeAlias = Literal["in", "out", "any"]

STREAM_ERRORS: Final = ("conflict", "ack", "xml-not-well-formed", "system-shutdown")
"""The ``stream:error`` reasons the clients know (PROTOCOL.md §3.17)."""
LOGIN_REASONS: Final = ("not-authorized", "temporarily-unavailable")
"""Login ``failure`` reasons (§2.10; the second is what a throttled number gets)."""


class FaultError(ValueError):
    """A fault that cannot be set as asked (the message says why, in one sentence)."""


# -------------------------------------------------------------------- actions


@record
class Drop:
    """The stanza is lost: never handled (in) or never written (out). A dropped delivery
    stays in the recipient's mailbox, so it comes again at the next login (§4.4)."""

    name: ClassVar[str] = "drop"


@record
class Delay:
    """The stanza goes on ``seconds`` of server time later; later stanzas overtake it."""

    seconds: float
    name: ClassVar[str] = "delay"


@record
class Duplicate:
    """The stanza is handled (in) or written (out) twice."""

    name: ClassVar[str] = "duplicate"


@record
class Hold:
    """The stanza is kept back until ``release_after`` seconds of server time have passed
    or :meth:`Fault.release` is called (``None``: only then). Holding ``<ack/>`` or
    ``<receipt/>`` out is withholding the server's ack or a receipt."""

    release_after: float | None = None
    name: ClassVar[str] = "hold"


@record
class Reorder:
    """Every ``count`` matching stanzas are held, then released in reverse order."""

    count: int = 2
    name: ClassVar[str] = "reorder"


@record
class IqError:
    """A matching ``iq`` get/set (in) is answered ``<error code text [backoff]/>`` instead
    of being handled; other stanzas pass."""

    code: int
    text: str
    backoff: int | None = None
    name: ClassVar[str] = "iq-error"


@record
class Throttle:
    """A matching stanza (in) is refused as too frequent. An ``iq`` (contact sync, key
    fetch, any) gets the protocol's throttling error, ``406 not-acceptable`` with
    ``backoff`` (§3.7, §4.2). A message, receipt or anything else has no rate error in the
    protocol: it is refused unacked, so its sender sends it again later."""

    backoff: int = 60
    name: ClassVar[str] = "throttle"


@record
class EndSession:
    """The session ends with ``<stream:error><REASON/>[<text/>]</stream:error>`` instead of
    the stanza (§3.17)."""

    reason: str = "system-shutdown"
    text: str | None = None
    name: ClassVar[str] = "stream-error"


@record
class Disconnect:
    """The connection is closed without a goodbye instead of the stanza."""

    name: ClassVar[str] = "disconnect"


@record
class RefuseLogin:
    """Logins of the selected party are answered ``<failure><REASON/></failure>`` (§2.10)
    after a correct password. Only ``party`` and the scope select; a hit is one refusal."""

    reason: str = "not-authorized"
    name: ClassVar[str] = "refuse-login"


@record
class Latency:
    """Network: every write to the party's byte stream waits ``seconds`` first."""

    seconds: float
    name: ClassVar[str] = "latency"


@record
class SplitWrites:
    """Network: every write to the party's byte stream goes out in pieces of ``size``
    bytes, each a separate write."""

    size: int = 1
    name: ClassVar[str] = "split-writes"


@record
class ResetMidFrame:
    """Network: the next write to the party's byte stream stops halfway through its
    first frame and the connection is reset (an RST on TCP)."""

    name: ClassVar[str] = "reset"


@record
class Random:
    """Soak mode: each matching stanza draws from ``random.Random(seed)``; with
    probability ``rate`` an action applies (the first whose cumulative rate covers the
    draw), else the stanza passes untouched (and the fault is not hit)."""

    choices: tuple[tuple[float, StanzaAction], ...]
    seed: int = 0
    name: ClassVar[str] = "random"


StanzaAction: TypeAlias = (
    Drop | Delay | Duplicate | Hold | Reorder | IqError | Throttle | EndSession | Disconnect
)
NetworkAction: TypeAlias = Latency | SplitWrites | ResetMidFrame
Action: TypeAlias = StanzaAction | NetworkAction | RefuseLogin | Random

_NETWORK: Final = (Latency, SplitWrites, ResetMidFrame)


@record
class _Restart:
    name: ClassVar[str] = "restart"


_RESTART: Final = _Restart()


# -------------------------------------------------------------------- selector


@record
class Selector:
    """Which stanzas: direction, the user on the session, a node pattern."""

    direction: DirectionOrAny = "any"
    party: str | None = None
    """A user JID, or None for anyone."""
    pattern: Pattern | None = None
    text: str = ""
    """The pattern as written (for reports)."""

    def matches(self, direction: Direction, jid: str, node: Node | None) -> bool:
        if self.direction != "any" and direction != self.direction:
            return False
        if self.party is not None and jid != self.party:
            return False
        if self.pattern is None:
            return True
        return node is not None and match(self.pattern, node, {}).ok

    def describe(self) -> str:
        parts = [{"in": "to the server", "out": "from the server", "any": ""}[self.direction]]
        if self.text:
            parts.insert(0, self.text)
        if self.party is not None:
            parts.append(f"{'of' if self.direction == 'any' else 'for'} {self.party}")
        return " ".join(p for p in parts if p) or "every stanza"


# -------------------------------------------------------------------- faults


@record(frozen=False)
class _Held:
    direction: Direction
    session: Session
    node: Node


@final
@record
class FaultHit:
    """One application of a fault: when, which, to what."""

    time: int
    """Server time (Unix seconds)."""
    fault: int
    action: str
    direction: Direction | Literal["login", "net", "server"]
    jid: str
    node: Node | None
    note: str = ""

    def __str__(self) -> str:
        if self.direction == "server":
            return f"fault #{self.fault} {self.action} of the server ({self.note})"
        arrow = {"in": "from", "out": "to", "login": "login of", "net": "network to"}
        stanza = f": {self.node.to_text(indent=None)}" if self.node is not None else ""
        note = f" ({self.note})" if self.note else ""
        return f"fault #{self.fault} {self.action}{note} {arrow[self.direction]} {self.jid}{stanza}"

    def as_json(self) -> dict[str, object]:
        return {
            "time": self.time,
            "fault": self.fault,
            "action": self.action,
            "direction": self.direction,
            "jid": self.jid,
            "stanza": self.node.to_text(indent=None) if self.node is not None else None,
            "note": self.note,
        }


@final
class Fault:
    """One fault set on a server; the handle :meth:`FaultSet.add` returns."""

    def __init__(
        self,
        owner: FaultSet,
        number: int,
        action: Action,
        selector: Selector,
        times: int | None,
        duration: float | None,
    ) -> None:
        self.id = number
        self.action = action
        self.selector = selector
        self.times = times
        self.duration = duration
        """``for_``: seconds of server time it lasts from when it was set, or None."""
        self.until = trio.current_time() + duration if duration is not None else None
        """trio time at which the fault ends, or None."""
        self.hits = 0
        self.cleared = False
        self.held: list[_Held] = []
        self._owner = owner
        self._rng = random.Random(action.seed) if isinstance(action, Random) else None

    def __repr__(self) -> str:
        return f"<Fault #{self.id} {self.describe()}>"

    def describe(self) -> str:
        scope = []
        if self.times is not None:
            scope.append(f"{self.times} times")
        if self.duration is not None:
            scope.append(f"for {self.duration:g}s")
        action = _action_text(self.action)
        tail = f" ({', '.join(scope)})" if scope else ""
        return f"{action} {self.selector.describe()}{tail}"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "action": self.action.name,
            "description": self.describe(),
            "direction": self.selector.direction,
            "party": self.selector.party,
            "match": self.selector.text or None,
            "times": self.times,
            "hits": self.hits,
            "held": len(self.held),
            "active": not self.cleared,
        }

    def clear(self) -> int:
        """End the fault; stanzas it holds are released. Returns how many were."""
        self.cleared = True
        released = self.release()
        self._owner._forget(self)
        return released

    def release(self) -> int:
        """Let every stanza this fault holds go on now, in the order they came."""
        held, self.held = self.held, []
        self._owner._go_on(held)
        return len(held)

    def _live(self, now: float) -> bool:
        if self.cleared:
            return False
        if self.until is not None and now >= self.until:
            self.clear()
            return False
        return True

    def _hit(self) -> None:
        self.hits += 1
        if self.times is not None and self.hits >= self.times:
            # The scope is used up; what it holds stays held until released or cleared.
            self.cleared = True
            self._owner._forget(self, keep_held=True)


def _action_text(action: Action) -> str:
    match action:
        case Delay(seconds=s) | Latency(seconds=s):
            return f"{action.name} {s:g}s"
        case Hold(release_after=after) if after is not None:
            return f"hold {after:g}s"
        case Reorder(count=count):
            return f"reorder by {count}"
        case IqError(code=code, text=text):
            return f"iq-error {code} {text}"
        case Throttle(backoff=backoff):
            return f"throttle backoff {backoff}"
        case EndSession(reason=reason):
            return f"stream:error {reason}"
        case RefuseLogin(reason=reason):
            return f"refuse-login {reason}"
        case SplitWrites(size=size):
            return f"split-writes {size}B"
        case Random(choices=choices, seed=seed):
            inner = ", ".join(f"{_action_text(a)} {rate:g}" for rate, a in choices)
            return f"random(seed {seed}: {inner})"
        case _:
            return action.name


@final
class FaultSet:
    """The faults of one server (``server.faults``); see the module docstring."""

    def __init__(self, server: Server, nursery: trio.Nursery) -> None:
        self.server = server
        self.active = False
        """Any stanza fault set: the one check on the hot path."""
        self.network_active = False
        self.login_active = False
        self.faults: list[Fault] = []
        self.log: list[FaultHit] = []
        """Every application so far, in order."""
        self.observers: list[Callable[[FaultHit], None]] = []
        self._nursery = nursery
        self._numbers = itertools.count(1)
        self._sequence = itertools.count()
        self._due: list[tuple[float, int, Fault, _Held, bool]] = []
        """Delayed and timed-hold stanzas: (due trio time, order, fault, stanza, held)."""
        self._timer: trio.CancelScope | None = None
        # Held stanzas of cleared (used-up) faults still waiting for release_after.
        self._retired: list[Fault] = []

    def __iter__(self) -> Iterator[Fault]:
        """The faults in force, oldest first (a ``for_`` that ran out is cleared here)."""
        now = trio.current_time()
        return iter([fault for fault in list(self.faults) if fault._live(now)])

    # ---------------------------------------------------------------- the API

    def add(
        self,
        action: Action,
        *,
        direction: DirectionOrAny = "any",
        party: str | None = None,
        match: str | Pattern | None = None,
        times: int | None = None,
        for_: float | None = None,
    ) -> Fault:
        """Set a fault; returns its handle. Raises :class:`FaultError` for one that makes
        no sense (the message says why)."""
        _check_action(action)
        if times is not None and times < 1:
            raise FaultError(f"times must be 1 or more, not {times}")
        if for_ is not None and not for_ > 0:
            raise FaultError(f"a fault's duration must be above 0 seconds, not {for_}")
        if direction not in ("in", "out", "any"):
            raise FaultError(f"direction must be in, out or any, not {direction!r}")
        text = ""
        pattern: Pattern | None
        if isinstance(match, str):
            text = match
            try:
                pattern = compile_node(match)
            except ValueError as exc:
                raise FaultError(f"the stanza pattern {match!r} is not valid: {exc}") from None
        else:
            pattern = match
        if isinstance(action, (*_NETWORK, RefuseLogin)) and pattern is not None:
            raise FaultError(f"a {action.name} fault selects by party only, not by stanza")
        selector = Selector(direction, self.resolve(party), pattern, text)
        fault = Fault(self, next(self._numbers), action, selector, times, for_)
        self.faults.append(fault)
        self._recount()
        log.info("fault #%d set: %s", fault.id, fault.describe())
        return fault

    def clear(self) -> int:
        """Clear every fault (releasing what they hold); returns how many there were."""
        faults = [*self.faults, *self._retired]
        for fault in faults:
            fault.clear()
        self._retired.clear()
        return len(faults)

    def get(self, number: int) -> Fault | None:
        return next((f for f in [*self.faults, *self._retired] if f.id == number), None)

    def restarted(self, dropped: int) -> None:
        """:meth:`Server.restart` reports itself here: a restart is in the log too."""
        for fault in [*self.faults, *self._retired]:
            fault.held.clear()  # lost in transit
        self._report(0, _RESTART, "server", "", None, f"{dropped} connections dropped")

    def observe(self, observer: Callable[[FaultHit], None]) -> Callable[[], None]:
        """Call ``observer`` with every fault hit; returns a function that removes it."""
        self.observers.append(observer)
        return lambda: self.observers.remove(observer)

    def resolve(self, party: str | None) -> str | None:
        """A party as a user JID: digits or a JID as given, else an account's push name."""
        if party is None or party in ("", "*", "any"):
            return None
        text = party.strip().lstrip("+")
        if "@" in text or text.isdigit():
            return user_jid(text)
        wanted = text.casefold()
        for account in self.server.state.accounts.values():
            if account.push_name.casefold() == wanted:
                return account.jid
        raise FaultError(f"no account is named {party!r}: give a phone number or a JID")

    # ---------------------------------------------------------------- sessions and accounts

    def end_session(
        self, party: str, reason: str = "system-shutdown", text: str | None = None
    ) -> bool:
        """End the party's live session now with ``stream:error`` ``reason``."""
        _check_action(EndSession(reason, text))
        session = self._live(party)
        if session is None:
            return False
        self._report(0, EndSession(reason, text), "out", session.jid, None)
        _end(session, EndSession(reason, text))
        return True

    def disconnect(self, party: str) -> bool:
        """Close the party's live connection now, without a goodbye."""
        session = self._live(party)
        if session is None:
            return False
        self._report(0, Disconnect(), "out", session.jid, None)
        session.kill("fault: disconnected")
        return True

    def expire(self, party: str) -> None:
        """The account's subscription has run out: its next ``success`` says
        ``status="expired"`` (§2.9; Chat-API raises onAccountExpired)."""
        account = self._account(party)
        self.server.state.set_account_status(account.jid, "expired")
        self.server.persist()
        self._report(0, RefuseLogin("expired"), "login", account.jid, None, "account expired")

    def renew(self, party: str) -> None:
        """Undo :meth:`expire`."""
        self.server.state.set_account_status(self._account(party).jid, "active")
        self.server.persist()

    def suspend(self, party: str, *, for_: float | None = None) -> Fault:
        """The account is banned: its live session ends with ``system-shutdown`` (§3.17)
        and its logins are refused ``not-authorized`` until the returned fault is cleared
        (or ``for_`` seconds pass)."""
        account = self._account(party)
        fault = self.add(RefuseLogin("not-authorized"), party=account.jid, for_=for_)
        session = self.server.live(account.jid)
        if session is not None:
            self._report(fault.id, EndSession("system-shutdown"), "out", account.jid, None)
            _end(session, EndSession("system-shutdown"))
        return fault

    def _account(self, party: str) -> Account:
        jid = self.resolve(party)
        account = self.server.state.accounts.get(jid or "")
        if account is None:
            raise FaultError(f"{party} has no account")
        return account

    def _live(self, party: str) -> Session | None:
        return self.server.live(self.resolve(party) or "")

    # ---------------------------------------------------------------- the hooks

    def egress(self, session: Session, node: Node) -> bool:
        """``Session.push`` asks: True when a fault took the stanza (it is not queued)."""
        found = self._select("out", session.jid, node)
        if found is None:
            return False
        return self._apply(*found, "out", session, node)

    async def ingress(self, session: Session, node: Node) -> bool:
        """``Server.dispatch`` asks: True when a fault took the stanza (it is not handled)."""
        found = self._select("in", session.jid, node)
        if found is None:
            return False
        fault, action = found
        if isinstance(action, Duplicate):  # handled twice, in order, before the next one
            fault._hit()
            self._report(fault.id, action, "in", session.jid, node)
            await self.server.handle(session, node)
            await self.server.handle(session, node)
            return True
        return self._apply(fault, action, "in", session, node)

    def login_refusal(self, jid: str) -> str | None:
        """The login asks after a correct password: a ``failure`` reason, or None."""
        if not self.login_active:
            return None
        now = trio.current_time()
        for fault in list(self.faults):
            action = fault.action
            if (
                isinstance(action, RefuseLogin)
                and fault._live(now)
                and fault.selector.party in (None, jid)
            ):
                fault._hit()
                self._report(fault.id, action, "login", jid, None)
                return action.reason
        return None

    def network(self, jid: str) -> tuple[Fault, NetworkAction] | None:
        """A :class:`FaultStream` asks before each write: the network fault to apply."""
        now = trio.current_time()
        for fault in list(self.faults):
            action = fault.action
            if (
                isinstance(action, _NETWORK)
                and fault._live(now)
                and fault.selector.party in (None, jid)
            ):
                fault._hit()
                self._report(fault.id, action, "net", jid, None)
                return fault, action
        return None

    # ---------------------------------------------------------------- internals

    def _select(
        self, direction: Direction, jid: str, node: Node
    ) -> tuple[Fault, StanzaAction] | None:
        """The first live fault that selects the stanza, with the action it takes."""
        now = trio.current_time()
        for fault in list(self.faults):
            action = fault.action
            if isinstance(action, (*_NETWORK, RefuseLogin)) or not fault._live(now):
                continue
            if not fault.selector.matches(direction, jid, node):
                continue
            if isinstance(action, Random):
                drawn = _draw(fault, action)
                if drawn is None:
                    continue
                action = drawn
            if _applies(action, direction, node):
                return fault, action
        return None

    def _apply(
        self,
        fault: Fault,
        action: StanzaAction,
        direction: Direction,
        session: Session,
        node: Node,
    ) -> bool:
        fault._hit()
        self._report(fault.id, action, direction, session.jid, node)
        match action:
            case Drop():
                return True
            case Delay(seconds=seconds):
                self._at(seconds, fault, _Held(direction, session, node), held=False)
                return True
            case Duplicate():  # out only: in is awaited by ingress
                session.emit(node)
                session.emit(node)
                return True
            case Hold(release_after=after):
                item = _Held(direction, session, node)
                fault.held.append(item)
                if after is not None:
                    self._at(after, fault, item, held=True)
                return True
            case Reorder(count=count):
                fault.held.append(_Held(direction, session, node))
                if len(fault.held) >= count:
                    held, fault.held = fault.held, []
                    self._go_on(held[::-1])
                return True
            case IqError(code=code, text=text, backoff=backoff):
                self.server.error_reply(session, node, StanzaError(code, text, backoff=backoff))
                return True
            case Throttle(backoff=backoff):
                if node.tag == "iq" and _is_request(node):
                    refusal = StanzaError(406, "not-acceptable", backoff=backoff)
                    self.server.error_reply(session, node, refusal)
                return True
            case EndSession() | Disconnect():
                _end(session, action)
                return True
        raise AssertionError(f"not a stanza action: {action}")  # pragma: no cover

    def _go_on(self, items: list[_Held]) -> None:
        """Held or delayed stanzas go on, past every fault, in the order given: those for
        a peer are queued now, those from a peer are handled one after the other by one
        task (so the order never depends on the scheduler)."""
        incoming: list[_Held] = []
        for item in items:
            if item.direction == "out":
                item.session.emit(item.node)
            else:
                incoming.append(item)
        if incoming:
            self._nursery.start_soon(self._handle_in_order, incoming)

    async def _handle_in_order(self, items: list[_Held]) -> None:
        for item in items:
            if item.session.is_active():
                await self.server.handle(item.session, item.node)

    def _at(self, seconds: float, fault: Fault, item: _Held, *, held: bool) -> None:
        """Let ``item`` go on ``seconds`` from now (if ``held``: if still held then).

        One timer task serves every fault of the server, releasing what is due in the
        order it was scheduled: equal deadlines never race."""
        due = trio.current_time() + seconds
        heapq.heappush(self._due, (due, next(self._sequence), fault, item, held))
        if self._timer is None:
            self._timer = trio.CancelScope(deadline=due)
            self._nursery.start_soon(self._run_timer, self._timer)
        else:
            self._timer.deadline = min(self._timer.deadline, due)

    async def _run_timer(self, scope: trio.CancelScope) -> None:
        while self._due:
            with scope:
                await trio.sleep_forever()
            now = trio.current_time()
            batch: list[_Held] = []
            while self._due and self._due[0][0] <= now:
                _due, _n, fault, item, held = heapq.heappop(self._due)
                if not held:
                    batch.append(item)
                elif item in fault.held:
                    fault.held.remove(item)
                    batch.append(item)
                    if not fault.held and fault in self._retired:
                        self._retired.remove(fault)
            self._go_on(batch)
            scope = trio.CancelScope(deadline=self._due[0][0] if self._due else math.inf)
            self._timer = scope
        self._timer = None

    def _report(
        self,
        number: int,
        action: Action | _Restart,
        direction: Direction | Literal["login", "net", "server"],
        jid: str,
        node: Node | None,
        note: str = "",
    ) -> None:
        hit = FaultHit(self.server.clock.now(), number, action.name, direction, jid, node, note)
        self.log.append(hit)
        log.info("%s", hit)
        for observer in list(self.observers):
            observer(hit)

    def _forget(self, fault: Fault, *, keep_held: bool = False) -> None:
        if fault in self.faults:
            self.faults.remove(fault)
        if keep_held and fault.held:
            self._retired.append(fault)
        elif fault in self._retired and not fault.held:
            self._retired.remove(fault)
        self._recount()

    def _recount(self) -> None:
        kinds = [f.action for f in self.faults]
        self.network_active = any(isinstance(a, _NETWORK) for a in kinds)
        self.login_active = any(isinstance(a, RefuseLogin) for a in kinds)
        self.active = any(not isinstance(a, (*_NETWORK, RefuseLogin)) for a in kinds)


def _applies(action: StanzaAction, direction: Direction, node: Node) -> bool:
    """Refusals answer what a client sends; an iq error only a request; the goodbye of
    a session a fault is ending is not taken again."""
    if isinstance(action, (EndSession, Disconnect)) and node.tag == "stream:error":
        return False
    if isinstance(action, IqError):
        return direction == "in" and _is_request(node)
    if isinstance(action, Throttle):
        return direction == "in"
    return True


def _is_request(node: Node) -> bool:
    return node.tag == "iq" and node.get("type") in ("get", "set")


def _draw(fault: Fault, action: Random) -> StanzaAction | None:
    assert fault._rng is not None
    roll = fault._rng.random()
    edge = 0.0
    for rate, choice in action.choices:
        edge += rate
        if roll < edge:
            return choice
    return None


def _end(session: Session, action: EndSession | Disconnect) -> None:
    if isinstance(action, EndSession):
        session.close(
            stream_error(action.reason, action.text), f"fault: stream:error {action.reason}"
        )
    else:
        session.kill("fault: disconnected without a goodbye")


def _check_action(action: Action) -> None:
    match action:
        case Delay(seconds=s) | Latency(seconds=s) if not s > 0:
            raise FaultError(f"a {action.name} must be above 0 seconds, not {s}")
        case Hold(release_after=after) if after is not None and not after > 0:
            raise FaultError(f"a hold must last above 0 seconds, not {after}")
        case Reorder(count=count) if count < 2:
            raise FaultError(f"reordering needs 2 or more stanzas, not {count}")
        case SplitWrites(size=size) if size < 1:
            raise FaultError(f"writes cannot be split into pieces of {size} bytes")
        case IqError(code=code) if not 100 <= code <= 999:
            raise FaultError(f"an iq error code has three digits, not {code}")
        case IqError(backoff=b) | Throttle(backoff=b) if b is not None and b < 0:
            raise FaultError(f"backoff cannot be negative ({b})")
        case EndSession(reason=reason) if reason not in STREAM_ERRORS:
            known = ", ".join(STREAM_ERRORS)
            raise FaultError(f"the clients know the stream errors {known}, not {reason!r}")
        case RefuseLogin(reason=reason) if reason not in LOGIN_REASONS:
            known = " or ".join(LOGIN_REASONS)
            raise FaultError(f"a login is refused {known}, not {reason!r}")
        case Random(choices=choices):
            if not choices:
                raise FaultError("a random fault needs at least one action with a rate")
            total = sum(rate for rate, _ in choices)
            if any(rate < 0 for rate, _ in choices) or total > 1:
                raise FaultError(
                    f"random rates must be 0 or more and add up to 1 at most, not {total:g}"
                )
            for _rate, inner in choices:
                if isinstance(inner, (Random, RefuseLogin, *_NETWORK)):
                    raise FaultError(f"a random fault draws stanza actions, not {inner.name}")
                _check_action(inner)
        case _:
            pass


# -------------------------------------------------------------------- network faults


@final
class FaultStream(trio.abc.HalfCloseableStream):
    """A byte stream with the server's network faults on its writes (see
    :class:`Latency`, :class:`SplitWrites`, :class:`ResetMidFrame`). With no network fault
    set a write is one attribute check and the inner write."""

    def __init__(self, inner: trio.abc.Stream, faults: FaultSet) -> None:
        self.inner = inner
        self.faults = faults
        self.link: Link | None = None
        """The link this stream serves (set by the server): whose session it is."""

    def _jid(self) -> str:
        for session in self.faults.server.all_sessions:
            if session.link is self.link:
                return session.jid
        return ""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self.faults.network_active:
            if type(self.inner) is trio.SocketStream:
                await sockets.send_all(self.inner, data)  # the fast path of a TCP write
            else:
                await self.inner.send_all(data)
            return
        found = self.faults.network(self._jid())
        if found is None:
            await self.inner.send_all(data)
            return
        _fault, action = found
        match action:
            case Latency(seconds=seconds):
                await trio.sleep(seconds)
                await self.inner.send_all(data)
            case SplitWrites(size=size):
                view = memoryview(data)
                for start in range(0, len(view), size):
                    await self.inner.send_all(view[start : start + size])
                    await trio.lowlevel.checkpoint()
            case ResetMidFrame():
                await self.inner.send_all(memoryview(data)[: _half_first_frame(data)])
                _arm_reset(self.inner)
                await self.inner.aclose()
                raise trio.BrokenResourceError("fault: connection reset in the middle of a frame")

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        """The write without waiting (``StreamLink.send_soon``): the bytes the inner
        stream takes now; none while a network fault is set (the faults apply in
        :meth:`send_all`, which the link's writer then uses)."""
        if self.faults.network_active:
            return 0
        inner = self.inner
        if type(inner) is trio.SocketStream:
            return sockets.write_nowait(inner, data)
        write: Callable[[bytes | bytearray | memoryview], int] | None = getattr(
            inner, "write_nowait", None
        )
        return 0 if write is None else write(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def send_eof(self) -> None:
        if isinstance(self.inner, trio.abc.HalfCloseableStream):
            await self.inner.send_eof()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _half_first_frame(data: bytes | bytearray | memoryview) -> int:
    """Where a reset cuts a write: halfway through its first frame (a write may carry
    several frames, and a cut between two of them would not be mid-frame)."""
    size = len(data)
    if size >= 3:  # a frame header: flags nibble and a 20-bit length (PROTOCOL.md §1.3)
        size = min(size, 3 + ((data[0] & 0x0F) << 16 | data[1] << 8 | data[2]))
    return max(1, size // 2)


def _arm_reset(stream: trio.abc.Stream) -> None:
    """Make closing ``stream`` send an RST (SO_LINGER 0) when it is a socket."""
    if isinstance(stream, trio.SocketStream):
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
