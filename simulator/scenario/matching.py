"""What each party received, and the expectations matched against it.

:class:`Matcher` owns the inboxes (one per party, plus ``server`` for what the bot sent)
and the matching rules of ``expect``, ``expect_none`` and ``unordered`` (see the runner's
module docstring); it fails through the run's :class:`~simulator.scenario.journal.Journal`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NoReturn

import trio

from simulator.records import record
from simulator.scenario.durations import format_clock, format_duration
from simulator.scenario.match import Pattern, match, similarity
from simulator.scenario.report import one_line
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.scenario.journal import Journal
    from simulator.scenario.plan import Expectation, Scenario

__all__ = ["Inbox", "Matcher", "Received"]


@record(frozen=False)
class Received:
    """A stanza a party received (``consumed`` once an expectation matched it)."""

    seq: int
    at: float
    node: Node
    consumed: bool = False


class _Arrival:
    """Wakes every waiter when any party receives anything."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait(self, deadline: float) -> None:
        with trio.move_on_at(deadline):
            await self._event.wait()


class Inbox:
    """Everything one party received, in order."""

    def __init__(self, label: str, arrival: _Arrival) -> None:
        self.label = label
        self.items: list[Received] = []
        self._arrival = arrival

    def add(self, at: float, node: Node) -> None:
        self.items.append(Received(len(self.items), at, node))
        self._arrival.notify()

    def unconsumed(self, tag: str | None = None) -> Iterator[Received]:
        return (r for r in self.items if not r.consumed and (tag is None or r.node.tag == tag))


class Matcher:
    """The inboxes of one run and the expectations matched against them.

    ``offline_hint(party)`` says why a party may have received nothing (not logged in,
    the bot not running): a line for timeout reports.
    """

    def __init__(
        self,
        scenario: Scenario,
        journal: Journal,
        offline_hint: Callable[[str], tuple[str, ...]],
    ) -> None:
        self._scenario = scenario
        self._journal = journal
        self._offline_hint = offline_hint
        self._arrival = _Arrival()
        self.inboxes = {p.label: Inbox(p.label, self._arrival) for p in scenario.parties}
        self.inboxes["server"] = Inbox("server", self._arrival)
        self._window: dict[str, int] = {}
        """Per inbox: how many stanzas it held when the previous step began."""
        self._before: dict[str, int] = {}
        """Per inbox: how many stanzas it held when the running step began."""

    def begin_step(self) -> None:
        """A step begins (after everything in flight arrived): the window of
        ``expect_none`` opens where the previous step began."""
        self._window = self._before
        self._before = {label: len(inbox.items) for label, inbox in self.inboxes.items()}

    # ---------------------------------------------------------------- expect

    async def expect(self, exp: Expectation) -> None:
        inbox = self.inboxes[exp.party]
        within = self._journal.seconds(exp.within)
        deadline = trio.current_time() + within
        strict = self._ordered(exp)
        while True:
            if strict:
                nxt = next(inbox.unconsumed(exp.pattern.tag), None)
                if nxt is not None:
                    result = match(exp.pattern, nxt.node, self._journal.env)
                    if result.ok:
                        self._consume(nxt, result.bound)
                        return
                    if exp.optional:
                        return
                    self._mismatch(exp, inbox, nxt, result.difference)
            elif self._take_any(exp):
                return
            if trio.current_time() >= deadline:
                if exp.optional:
                    return
                self._timeout(exp, inbox, within)
            await self._arrival.wait(deadline)

    def _ordered(self, exp: Expectation) -> bool:
        """Whether ``exp`` must take the oldest unmatched stanza of its tag: for a user and
        a tag of ``options.strict``. What the bot receives or sends (``to: bot``,
        ``to: server``) is matched in any order, like ``unordered``."""
        return (
            exp.party not in ("bot", "server") and exp.pattern.tag in self._scenario.options.strict
        )

    def _consume(self, item: Received, bound: Mapping[str, str]) -> None:
        item.consumed = True
        self._journal.bind(bound)

    def _take_any(self, exp: Expectation) -> bool:
        """Consume the first unconsumed stanza of the pattern's tag that matches, if any."""
        for item in self.inboxes[exp.party].unconsumed(exp.pattern.tag):
            result = match(exp.pattern, item.node, self._journal.env)
            if result.ok:
                self._consume(item, result.bound)
                return True
        return False

    # ---------------------------------------------------------------- expect_none

    async def expect_none(self, exp: Expectation) -> None:
        inbox = self.inboxes[exp.party]
        within = self._journal.seconds(exp.within)
        deadline = trio.current_time() + within
        # Only what arrives in the window counts: from the start of the previous step (so
        # what that step did or set in motion is seen) until ``within`` has passed.
        checked = self._window.get(exp.party, 0)
        while True:
            for item in inbox.items[checked:]:
                if not item.consumed and match(exp.pattern, item.node, self._journal.env).ok:
                    self._journal.fail(
                        f"{_receiver(exp.party)} received a <{exp.pattern.tag}>"
                        " the scenario says must not come",
                        party=exp.party,
                        pattern=exp.pattern,
                        expected_note="must not come",
                        candidate=item.node,
                        candidate_at=item.at,
                        candidate_note="received (after the previous step began)",
                    )
            checked = len(inbox.items)
            if trio.current_time() >= deadline:
                return
            await self._arrival.wait(deadline)

    # ---------------------------------------------------------------- unordered

    async def unordered(self, expectations: tuple[Expectation, ...]) -> None:
        start = trio.current_time()
        pending = dict(enumerate(expectations))
        deadlines = {
            index: start + self._journal.seconds(exp.within) for index, exp in pending.items()
        }
        while pending:
            for index, exp in list(pending.items()):
                if self._take_any(exp):
                    del pending[index]
            now = trio.current_time()
            for index, exp in list(pending.items()):
                if now >= deadlines[index]:
                    if exp.optional:
                        del pending[index]
                        continue
                    self._journal.current = exp.where
                    self._timeout(exp, self.inboxes[exp.party], deadlines[index] - start)
            if pending:
                await self._arrival.wait(min(deadlines[i] for i in pending))

    # ---------------------------------------------------------------- the end

    def check_unread(self) -> None:
        """At the end: no user may have left a stanza of a ``strict`` tag unmatched."""
        tags = self._scenario.options.strict
        for party in self._scenario.parties:
            if party.label == "bot":
                continue
            left = [
                item for item in self.inboxes[party.label].unconsumed() if item.node.tag in tags
            ]
            if left:
                kinds = " or ".join(f"<{t}>" for t in sorted({i.node.tag for i in left}))
                listing = tuple(f"  {format_clock(i.at)}  {one_line(i.node)}" for i in left)
                self._journal.fail(
                    f"{party.label} received {len(left)} {kinds} no step expected",
                    details=(
                        "unexpected (checked at the end for the tags in options.strict:"
                        f" {', '.join(sorted(tags))}):",
                        *listing,
                        "add an expectation for each, or change options.strict",
                    ),
                )

    # ---------------------------------------------------------------- failure reports

    def _mismatch(self, exp: Expectation, inbox: Inbox, nxt: Received, difference: str) -> NoReturn:
        tag = exp.pattern.tag
        details: list[str] = []
        for later in inbox.unconsumed(tag):
            if later.seq > nxt.seq and match(exp.pattern, later.node, self._journal.env).ok:
                details.append(
                    f"hint: a matching <{tag}> arrived later (at {format_clock(later.at)}):"
                    f" <{tag}> stanzas are matched in the order they came (options.strict);"
                    " use `unordered` if the order does not matter"
                )
                break
        self._journal.fail(
            f"the next <{tag}> {_receiver(exp.party)} received does not match",
            party=exp.party,
            pattern=exp.pattern,
            candidate=nxt.node,
            candidate_at=nxt.at,
            candidate_note=self._arrived(exp.party, nxt, f"the next <{tag}> no step had matched"),
            difference=difference,
            details=tuple(details),
        )

    def _timeout(self, exp: Expectation, inbox: Inbox, within: float) -> NoReturn:
        tag = exp.pattern.tag
        nearest = self._nearest(exp.pattern, inbox)
        difference = None
        if nearest is not None:
            difference = match(exp.pattern, nearest.node, self._journal.env).difference
        waiting = sum(1 for _ in inbox.unconsumed(tag))
        others = sorted({f"<{i.node.tag}>" for i in inbox.unconsumed() if i.node.tag != tag})
        details = self._offline_hint(exp.party)
        if others:
            details += (f"other stanzas no step matched: {', '.join(others)}",)
        receiver = _receiver(exp.party)
        self._journal.fail(
            f"{receiver} did not receive the expected <{tag}> within {format_duration(within)}",
            party=exp.party,
            pattern=exp.pattern,
            candidate=nearest.node if nearest is not None else None,
            candidate_at=nearest.at if nearest is not None else None,
            candidate_note=(
                self._arrived(exp.party, nearest, f"nearest of the {waiting} unmatched <{tag}>")
                if nearest is not None
                else f"{receiver} received no <{tag}> that no step had matched"
            ),
            difference=difference,
            details=details,
        )

    def _nearest(self, pattern: Pattern, inbox: Inbox) -> Received | None:
        """The unconsumed stanza most like ``pattern`` (of its tag: others are not near)."""
        best: tuple[float, Received] | None = None
        for item in inbox.unconsumed(pattern.tag):
            score = similarity(pattern, item.node, self._journal.env)
            if best is None or score > best[0]:
                best = (score, item)
        return best[1] if best is not None else None

    def _arrived(self, party: str, item: Received, note: str) -> str:
        """``note``, saying so if ``item`` was left over from an earlier step (it arrived
        before the previous step began)."""
        if item.seq < self._window.get(party, 0):
            return f"{note}, received before the previous step began"
        return note


def _receiver(party: str) -> str:
    return "the server (from the bot)" if party == "server" else party
