"""Runs a scenario plan against a fresh in-process server.

Theory of operation
-------------------
Each run gets its own :func:`~simulator.server.open_server` with the scenario's epoch
and seed, so server times, ids and nonces (and with them the clients' message ids)
are the same from run to run. With an in-process bot the run belongs under
``trio.testing.MockClock(autojump_threshold=0)`` (:func:`run_scenario_sync` installs
it): a ``wait: 24h`` or an expectation that times out costs no wall time, and the
transcript is identical byte for byte between runs. An external bot (a command) runs on
the real clock and connects over TCP to ``127.0.0.1`` on a free port; ``time_scale``
scales every ``wait`` and ``within`` for it.

Observation. A server tap records every stanza in and out for the transcript, with the
virtual time. What each party received is kept in its :class:`Inbox`: a user's from the
events of its client (what the client library delivered, in order), the bot's from the
tap (what the server queued for the bot's session), and the ``server`` party's from the
tap too (what the bot sent).

Matching rules (the ones a scenario author needs to know):

* For a user, tags listed in ``options.strict`` (default: ``message``) are taken in
  order: ``expect`` looks at the OLDEST stanza of that tag the party received and no step
  has matched yet. If it matches, it is consumed; if not, the step fails at once (a later
  stanza cannot change the order); if there is none, the step waits for one until
  ``within`` has passed. At the end, a user with an unmatched stanza of a strict tag
  fails the run.
* Everything else (a user's other tags, and every tag for ``bot`` and ``server``) is
  noise unless asked for: ``expect`` consumes the oldest unconsumed one that matches, in
  any order, and leftovers are fine.
* ``unordered`` matches each of its expectations against ANY unconsumed stanza of its
  tag, in whatever order they come. ``expect_none`` fails if an unconsumed stanza that
  arrived in its window matches: from the start of the previous step (what that step did
  or set in motion is seen) until its ``within`` has passed; it consumes nothing. ``optional``
  expectations pass when nothing (or something else) comes.
* Before each step the runner lets everything in flight arrive (all tasks blocked, no
  time passing).

A failing step stops the run. So does the bot: an exception in an in-process bot, or an
external one exiting with a non-zero code, fails the step that was running.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import trio
import trio.testing

from simulator.client import Client, ClientState, events
from simulator.client.client import open_client
from simulator.client.events import MediaMessageSent, MediaUploadFailed
from simulator.errors import ClientError, ConnectionClosed, IqError, IqTimeout, StepFailed
from simulator.jid import group_jid, phone_of
from simulator.scenario._determinism import seed_scheduler
from simulator.scenario.bots import BotSupervisor
from simulator.scenario.durations import format_clock, format_duration
from simulator.scenario.match import (
    Pattern,
    Unbound,
    compare_rows,
    match,
    render_node,
    render_pattern,
    similarity,
)
from simulator.scenario.plan import CommandBot, InProcessBot, Where
from simulator.scenario.report import (
    Arrow,
    Entry,
    Failure,
    ScenarioResult,
    one_line,
    render_failure,
)
from simulator.server import ServerConfig, open_server
from simulator.transport import MemoryConnector
from simulator.wire.node import Node
from simulator.world import build_state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.scenario.plan import (
        BotFunction,
        Expectation,
        Login,
        Party,
        Scenario,
        SendIq,
        ServerAction,
        ServerPing,
        UserAction,
    )
    from simulator.server import Server

__all__ = ["BotOverride", "Failed", "Inbox", "Runtime", "run_scenario", "run_scenario_sync"]

BotOverride = InProcessBot | CommandBot
SETTLE_REAL_SECONDS = 0.05
"""With an external bot: how long to let stanzas in flight arrive between steps."""
LOCAL_EVENTS = (MediaMessageSent, MediaUploadFailed)
"""Events a client raises about what it sent (a user's inbox holds what it received)."""
IN_PROCESS_HTTP = "http://media.simulator.invalid"
"""The base of media URLs when every party is in-process (their HTTP needs no socket)."""


class Failed(StepFailed):
    """A step did not do what the file said; ``failure`` has the details for the report."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary)
        self.failure = failure


# -------------------------------------------------------------------- what parties received


@dataclass(slots=True)
class Received:
    """A stanza a party received (``consumed`` once an expectation matched it)."""

    seq: int
    at: float
    node: Node
    consumed: bool = False


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


@dataclass(slots=True)
class _Session:
    client: Client
    stop: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)


# -------------------------------------------------------------------- the runtime


class Runtime:
    """The state of one run; plan steps act through it (see ``plan.py``)."""

    def __init__(
        self,
        scenario: Scenario,
        server: Server,
        nursery: trio.Nursery,
        *,
        bot: BotOverride | None,
        time_scale: float,
    ) -> None:
        self.scenario = scenario
        self.server = server
        self.env: dict[str, str] = dict(scenario.builtins)
        self.external = isinstance(bot, CommandBot)
        self.time_scale = time_scale if self.external else 1.0
        self.transcript: list[Entry] = []
        self.current: Where | None = None
        self.steps_run = 0
        self.nursery = nursery
        self._start = trio.current_time()
        self._arrival = _Arrival()
        self.inboxes = {p.label: Inbox(p.label, self._arrival) for p in scenario.parties}
        self.inboxes["server"] = Inbox("server", self._arrival)
        self._sessions: dict[str, _Session] = {}
        self._window: dict[str, int] = {}
        """Per inbox: how many stanzas it held when the previous step began."""
        self._before: dict[str, int] = {}
        """Per inbox: how many stanzas it held when the running step began."""
        self._step_scope: trio.CancelScope | None = None
        self.bot = BotSupervisor(self, bot)
        self._bot_jid = scenario.bot.party.jid if scenario.bot is not None else None
        self._labels = {party.jid: party.label for party in scenario.parties}
        self.passwords: dict[str, str] = {}
        """Label -> the password registration issued (``code_register``) for the run."""
        server.tap(self._on_tap)

    # ---------------------------------------------------------------- time, notes, failures

    def now(self) -> float:
        """Seconds since the scenario started (virtual with an in-process bot)."""
        return trio.current_time() - self._start

    def seconds(self, value: float | None) -> float:
        """A duration from the file, defaulted and scaled for the clock in use."""
        return (self.scenario.options.within if value is None else value) * self.time_scale

    def note(self, text: str) -> None:
        self.transcript.append(Entry(self.now(), "", "--", text))

    def fail(
        self,
        summary: str,
        *,
        party: str | None = None,
        pattern: Pattern | None = None,
        expected_note: str = "",
        candidate: Node | None = None,
        candidate_at: float | None = None,
        candidate_note: str = "nearest candidate",
        difference: str | None = None,
        details: tuple[str, ...] = (),
    ) -> NoReturn:
        """Stop the run: this step failed (``pattern`` is shown next to ``candidate``)."""
        raise Failed(
            Failure(
                summary=summary,
                where=self.current,
                at=self.now(),
                party=party,
                expected=render_pattern(pattern, self.env) if pattern is not None else None,
                expected_note=expected_note,
                rows=tuple(compare_rows(pattern, candidate, self.env))
                if pattern is not None
                else (),
                candidate=candidate,
                candidate_at=candidate_at,
                candidate_note=candidate_note,
                difference=difference,
                details=details,
            )
        )

    def begin_step(self) -> None:
        """A step begins (after everything in flight arrived): the window of
        ``expect_none`` opens where the previous step began."""
        self._window = self._before
        self._before = {label: len(inbox.items) for label, inbox in self.inboxes.items()}

    def _arrived(self, party: str, item: Received, note: str) -> str:
        """``note``, saying so if ``item`` was left over from an earlier step (it arrived
        before the previous step began)."""
        if item.seq < self._window.get(party, 0):
            return f"{note}, received before the previous step began"
        return note

    def bind(self, bound: Mapping[str, str]) -> None:
        self.env.update(bound)

    def render_text(self, text: str) -> str:
        """``text`` with its captures filled in."""
        return self.render_node(Node("text", {"value": text})).attrs["value"]

    def render_node(self, node: Node) -> Node:
        try:
            return render_node(node, self.env)
        except Unbound as exc:
            self.fail(f"{exc}: the expectation that would bind it did not match (was it optional?)")

    def _on_tap(self, direction: str, jid: str, node: Node) -> None:
        label = self._labels.get(jid) or phone_of(jid)
        at = self.now()
        arrow: Arrow = "tx" if direction == "in" else "rx"
        self.transcript.append(Entry(at, label, arrow, one_line(node)))
        if jid == self._bot_jid:
            if direction == "out":
                self.inboxes["bot"].add(at, node)
                self.bot.saw_stanza()
            else:
                self.inboxes["server"].add(at, node)

    async def settle(self) -> None:
        """Let every stanza in flight arrive (no virtual time passes)."""
        if self.external:
            await trio.sleep(SETTLE_REAL_SECONDS)
        await trio.testing.wait_all_tasks_blocked()

    # ---------------------------------------------------------------- users

    def client_of(self, party: Party) -> Client:
        session = self._sessions.get(party.label)
        if session is None or session.client.state is ClientState.CLOSED:
            self.fail(f"{party.label} is not logged in (or was disconnected) at this step")
        return session.client

    async def login(self, step: Login) -> None:
        label = step.party.label
        if label in self._sessions:
            if self._sessions[label].client.state is not ClientState.CLOSED:
                self.fail(f"{label} is already logged in")
            await self.logout(step.party)  # the service ended that session
        try:
            session: _Session = await self.nursery.start(self._user_task, step)
        except ClientError as exc:
            self.fail(f"{label} could not log in: {exc}")
        self._sessions[label] = session

    async def _user_task(self, step: Login, task_status: trio.TaskStatus[_Session]) -> None:
        party = step.party
        async with open_client(
            MemoryConnector(self.server),
            party.phone,
            self.passwords.get(party.label, party.password),
            push_name=party.name,
            passive=step.passive,
            announce=step.announce,
            auto_receipt=step.auto_receipt,
            auto_ack=step.auto_ack,
        ) as client:
            session = _Session(client)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._consume, party.label, client, session)
                    task_status.started(session)
                    await session.stop.wait()
                    nursery.cancel_scope.cancel()
            finally:
                session.done.set()

    async def _consume(self, label: str, client: Client, session: _Session) -> None:
        inbox = self.inboxes[label]
        last: Node | None = None
        async for event in client.events():
            if isinstance(event, events.Disconnected):
                if not session.stop.is_set():
                    self.note(f"{label} was disconnected: {event.reason}")
                continue
            if isinstance(event, LOCAL_EVENTS):
                continue  # raised by the client about what it sent, not received
            if event.node is not last:  # one stanza can raise several events
                last = event.node
                inbox.add(self.now(), event.node)

    async def logout(self, party: Party) -> None:
        session = self._sessions.pop(party.label, None)
        if session is None:
            self.fail(f"{party.label} is not logged in")
        session.stop.set()
        await session.done.wait()

    async def transmit(self, client: Client, node: Node) -> None:
        try:
            await client.send(node)
        except ConnectionClosed as exc:
            self.fail(f"cannot send: {exc}")

    # ---------------------------------------------------------------- the bot

    async def start_bot(self) -> None:
        await self.bot.start()

    async def stop_bot(self) -> None:
        await self.bot.stop()

    def step_scope(self, scope: trio.CancelScope | None) -> None:
        """The scope of the running step: a crashing bot cancels it."""
        self._step_scope = scope

    def cancel_step(self) -> None:
        if self._step_scope is not None:
            self._step_scope.cancel()

    def check_bot(self) -> None:
        """Fail the run if the bot died."""
        if self.bot.failure is not None:
            raise Failed(self.bot.failure)

    async def shutdown(self) -> None:
        """End every session and the bot (the scenario is over)."""
        await self.bot.shutdown()
        for label in list(self._sessions):
            session = self._sessions.pop(label)
            session.stop.set()
            await session.done.wait()

    # ---------------------------------------------------------------- the service's actions

    async def send_iq(self, step: SendIq) -> None:
        client = self.client_of(step.party)
        node = self.render_node(step.node)
        within = self.seconds(step.within)
        try:
            answer = await client.iq(node, timeout=within)
        except IqError as exc:
            answer = exc.node
        except IqTimeout:
            self.fail(
                f"{step.party.label} got no answer to its iq within {format_duration(within)}",
                party=step.party.label,
                pattern=step.result,
            )
        except ConnectionClosed as exc:
            self.fail(f"{step.party.label} lost its connection waiting for the iq's answer: {exc}")
        self.check_answer(f"{step.party.label}'s iq", step.party.label, step.result, answer)
        if step.bind_group is not None:
            group = answer.child("group")
            if group is None or not group.get("id"):
                self.fail(f"the answer to {step.party.label}'s iq names no group: {answer}")
            self.bind({step.bind_group: group_jid(group.get("id", ""))})

    def check_answer(self, what: str, party: str | None, pattern: Pattern, answer: Node) -> None:
        """Fail unless ``answer`` (to ``what``) matches ``pattern``; bind its captures."""
        result = match(pattern, answer, self.env)
        if not result.ok:
            self.fail(
                f"the answer to {what} does not match",
                party=party,
                pattern=pattern,
                candidate=answer,
                candidate_at=self.now(),
                candidate_note="the answer",
                difference=result.difference,
            )
        self.bind(result.bound)

    async def user_action(self, step: UserAction) -> None:
        label = step.party.label
        client = self.client_of(step.party)
        within = self.seconds(step.within)
        answer: Node | None = None
        timed_out = False
        with trio.move_on_after(within) as scope:
            try:
                answer = await step.action(client, self)
            except IqError as exc:
                answer = exc.node
            except IqTimeout:
                timed_out = True
            except ConnectionClosed as exc:
                self.fail(f"{label} lost its connection: {exc}")
            except ClientError as exc:
                self.fail(f"{step.summary}: {exc}", party=label, pattern=step.result)
        if timed_out or scope.cancelled_caught:
            self.fail(
                f"{label} got no answer within {format_duration(within)}",
                party=label,
                pattern=step.result,
            )
        if step.result is not None:
            answer = answer if answer is not None else Node("iq", {"type": "result"})
            self.check_answer(f"{label}'s request", label, step.result, answer)

    async def server_action(self, step: ServerAction) -> None:
        answer = await step.action(self)
        if answer is not None:
            self.note(f"{step.answer_note}: {one_line(answer)}")
        if step.result is not None and answer is not None:
            self.check_answer(step.answer_note, step.party, step.result, answer)

    async def server_ping(self, step: ServerPing) -> None:
        label = step.party.label
        iq_id = self.server.ping(step.party.jid)
        if iq_id is None:
            self.fail(f"the server cannot ping {label}: not connected")
        within = self.seconds(step.within)
        with trio.move_on_after(within):
            await self.server.wait_answer(step.party.jid, iq_id)
            return
        self.fail(f"{label} did not answer the server's ping within {format_duration(within)}")

    async def wait(self, seconds: float) -> None:
        await trio.sleep(seconds * self.time_scale)

    # ---------------------------------------------------------------- expectations

    async def expect(self, exp: Expectation) -> None:
        inbox = self.inboxes[exp.party]
        within = self.seconds(exp.within)
        deadline = trio.current_time() + within
        strict = self._ordered(exp)
        while True:
            if strict:
                nxt = next(inbox.unconsumed(exp.pattern.tag), None)
                if nxt is not None:
                    result = match(exp.pattern, nxt.node, self.env)
                    if result.ok:
                        self._consume_item(nxt, result.bound)
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
            exp.party not in ("bot", "server") and exp.pattern.tag in self.scenario.options.strict
        )

    def _consume_item(self, item: Received, bound: Mapping[str, str]) -> None:
        item.consumed = True
        self.bind(bound)

    def _take_any(self, exp: Expectation) -> bool:
        """Consume the first unconsumed stanza of the pattern's tag that matches, if any."""
        for item in self.inboxes[exp.party].unconsumed(exp.pattern.tag):
            result = match(exp.pattern, item.node, self.env)
            if result.ok:
                self._consume_item(item, result.bound)
                return True
        return False

    def _mismatch(self, exp: Expectation, inbox: Inbox, nxt: Received, difference: str) -> NoReturn:
        tag = exp.pattern.tag
        details: list[str] = []
        for later in inbox.unconsumed(tag):
            if later.seq > nxt.seq and match(exp.pattern, later.node, self.env).ok:
                details.append(
                    f"hint: a matching <{tag}> arrived later (at {format_clock(later.at)}):"
                    f" <{tag}> stanzas are matched in the order they came (options.strict);"
                    " use `unordered` if the order does not matter"
                )
                break
        self.fail(
            f"the next <{tag}> {self._receiver(exp.party)} received does not match",
            party=exp.party,
            pattern=exp.pattern,
            candidate=nxt.node,
            candidate_at=nxt.at,
            candidate_note=self._arrived(exp.party, nxt, f"the next <{tag}> no step had matched"),
            difference=difference,
            details=tuple(details),
        )

    def _receiver(self, party: str) -> str:
        return "the server (from the bot)" if party == "server" else party

    def _nearest(self, pattern: Pattern, inbox: Inbox) -> Received | None:
        """The unconsumed stanza most like ``pattern`` (of its tag: others are not near)."""
        best: tuple[float, Received] | None = None
        for item in inbox.unconsumed(pattern.tag):
            score = similarity(pattern, item.node, self.env)
            if best is None or score > best[0]:
                best = (score, item)
        return best[1] if best is not None else None

    def _timeout(self, exp: Expectation, inbox: Inbox, within: float) -> NoReturn:
        tag = exp.pattern.tag
        nearest = self._nearest(exp.pattern, inbox)
        difference = None
        if nearest is not None:
            difference = match(exp.pattern, nearest.node, self.env).difference
        waiting = sum(1 for _ in inbox.unconsumed(tag))
        others = sorted({f"<{i.node.tag}>" for i in inbox.unconsumed() if i.node.tag != tag})
        details = self._offline_hint(exp.party)
        if others:
            details += (f"other stanzas no step matched: {', '.join(others)}",)
        receiver = self._receiver(exp.party)
        self.fail(
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

    def _offline_hint(self, party: str) -> tuple[str, ...]:
        if party in ("bot", "server"):
            if not self.bot.running:
                return ("hint: the bot is not running",)
            return ()
        if party not in self._sessions:
            return (f"hint: {party} is not logged in",)
        return ()

    async def expect_none(self, exp: Expectation) -> None:
        inbox = self.inboxes[exp.party]
        within = self.seconds(exp.within)
        deadline = trio.current_time() + within
        # Only what arrives in the window counts: from the start of the previous step (so
        # what that step did or set in motion is seen) until ``within`` has passed.
        checked = self._window.get(exp.party, 0)
        while True:
            for item in inbox.items[checked:]:
                if not item.consumed and match(exp.pattern, item.node, self.env).ok:
                    self.fail(
                        f"{self._receiver(exp.party)} received a <{exp.pattern.tag}>"
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

    async def unordered(self, expectations: tuple[Expectation, ...]) -> None:
        start = trio.current_time()
        pending = dict(enumerate(expectations))
        deadlines = {index: start + self.seconds(exp.within) for index, exp in pending.items()}
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
                    self.current = exp.where
                    self._timeout(exp, self.inboxes[exp.party], deadlines[index] - start)
            if pending:
                await self._arrival.wait(min(deadlines[i] for i in pending))

    def check_unread(self) -> None:
        """At the end: no user may have left a stanza of a ``strict`` tag unmatched."""
        tags = self.scenario.options.strict
        for party in self.scenario.parties:
            if party.label == "bot":
                continue
            left = [
                item for item in self.inboxes[party.label].unconsumed() if item.node.tag in tags
            ]
            if left:
                kinds = " or ".join(f"<{t}>" for t in sorted({i.node.tag for i in left}))
                listing = tuple(f"  {format_clock(i.at)}  {one_line(i.node)}" for i in left)
                self.fail(
                    f"{party.label} received {len(left)} {kinds} no step expected",
                    details=(
                        "unexpected (checked at the end for the tags in options.strict:"
                        f" {', '.join(sorted(tags))}):",
                        *listing,
                        "add an expectation for each, or change options.strict",
                    ),
                )


# -------------------------------------------------------------------- running


async def run_scenario(
    scenario: Scenario,
    *,
    bot_override: BotOverride | BotFunction | None = None,
    time_scale: float = 1.0,
) -> ScenarioResult:
    """Run a loaded scenario inside the current trio run; never raises for a failing step.

    For virtual time, run it under ``trio.testing.MockClock(autojump_threshold=0)`` (the
    pytest ``autojump_clock`` fixture, or :func:`run_scenario_sync`). An external bot
    needs the real clock.

    Args:
        scenario: from :func:`~simulator.scenario.load_scenario`.
        bot_override: run this bot instead of the one the file names: an
            :class:`InProcessBot`, a :class:`CommandBot`, or an ``async def bot(client)``.
        time_scale: multiplies every ``wait`` and ``within`` for an external bot.

    Returns:
        The result: ``passed``, the failure report, the transcript, timings.
    """
    bot = _bot_runner(scenario, bot_override)
    if isinstance(bot, CommandBot) and _autojumping():
        raise StepFailed(
            "an external bot needs the real clock, not an autojumping MockClock;"
            " use run_scenario_sync"
        )
    seed_scheduler(scenario.options.seed)
    wall = time.perf_counter()
    start = trio.current_time()
    failure: Failure | None = None
    options = scenario.options
    config = ServerConfig(epoch=options.epoch - start, seed=options.seed)
    async with open_server(state=build_state(scenario.world), config=config) as server:
        if not isinstance(bot, CommandBot):
            server.http.advertised_url = IN_PROCESS_HTTP
        async with trio.open_nursery() as nursery:
            rt = Runtime(scenario, server, nursery, bot=bot, time_scale=time_scale)
            try:
                failure = await _run_steps(rt)
            finally:
                with trio.CancelScope(shield=True):
                    await rt.shutdown()
                nursery.cancel_scope.cancel()
        output = rt.bot.output()
        rt.bot.close()
    report = render_failure(failure, rt.transcript) if failure is not None else ""
    return ScenarioResult(
        name=scenario.name,
        path=scenario.path,
        line=scenario.line,
        passed=failure is None,
        failure=failure,
        transcript=tuple(rt.transcript),
        virtual_seconds=trio.current_time() - start,
        wall_seconds=time.perf_counter() - wall,
        steps_run=rt.steps_run,
        steps_total=len(scenario.steps),
        report=report,
        bot_output=output,
    )


async def _run_steps(rt: Runtime) -> Failure | None:
    scenario = rt.scenario
    try:
        if scenario.bot is not None and scenario.bot.autostart:
            rt.current = scenario.bot.where
            await rt.start_bot()
        for step in scenario.steps:
            await rt.settle()
            rt.check_bot()
            rt.current = step.where
            rt.note(f"{step.where.step}: {step.describe()}")
            rt.begin_step()
            with trio.CancelScope() as scope:
                rt.step_scope(scope)
                await step.run(rt)
            rt.step_scope(None)
            rt.check_bot()
            rt.steps_run += 1
        rt.current = Where(
            path=str(scenario.path or scenario.name), line=scenario.line, step="the end"
        )
        await rt.settle()
        rt.check_bot()
        rt.check_unread()
    except Failed as failed:
        rt.note(f"FAILED: {failed.failure.summary}")
        return failed.failure
    return None


def _bot_runner(
    scenario: Scenario, override: BotOverride | BotFunction | None
) -> BotOverride | None:
    if override is None:
        return scenario.bot.runner if scenario.bot is not None else None
    if isinstance(override, InProcessBot | CommandBot):
        return override
    name = getattr(override, "__qualname__", repr(override))
    return InProcessBot(target=f"{getattr(override, '__module__', '?')}:{name}", function=override)


def _autojumping() -> bool:
    clock = trio.lowlevel.current_clock()
    return isinstance(clock, trio.testing.MockClock) and clock.autojump_threshold != math.inf


def run_scenario_sync(
    scenario: Scenario,
    *,
    bot_override: BotOverride | BotFunction | None = None,
    time_scale: float = 1.0,
) -> ScenarioResult:
    """Run a scenario in a new trio run: virtual time for an in-process bot, the real clock
    for an external one."""
    bot = _bot_runner(scenario, bot_override)
    clock = None if isinstance(bot, CommandBot) else trio.testing.MockClock(autojump_threshold=0)
    return trio.run(_run, scenario, bot, time_scale, clock=clock)


async def _run(scenario: Scenario, bot: BotOverride | None, time_scale: float) -> ScenarioResult:
    return await run_scenario(scenario, bot_override=bot, time_scale=time_scale)
