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

The pieces. :class:`Runtime` runs the steps (``run_step``: one ``match`` on the kind of
plan step), the users' sessions and the service's actions; its
:class:`~simulator.scenario.matching.Matcher` keeps what parties received and matches
expectations; its :class:`~simulator.scenario.journal.Journal` keeps the transcript, the
captures and builds failures; its :class:`~simulator.scenario.bots.BotSupervisor` runs
the bot.

Observation. A server tap records every stanza in and out for the transcript, with the
virtual time. What each party received is kept in its
:class:`~simulator.scenario.matching.Inbox`: a user's from the events of its client (what
the client library delivered, in order), the bot's from the tap (what the server queued
for the bot's session), and the ``server`` party's from the tap too (what the bot sent).

Matching rules (the ones a scenario author needs to know; ``matching.py`` applies them):

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
external one exiting with a non-zero code, fails the step that was running; and so does
an in-process bot that holds the event loop (never awaits) for ``yield_limit`` wall
seconds (:mod:`~simulator.scenario.watchdog`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, assert_never

import trio

from simulator.client import Client, ClientState, events
from simulator.client.client import open_client
from simulator.client.events import MediaMessageSent, MediaUploadFailed
from simulator.errors import ClientError, ConnectionClosed, IqError, IqTimeout, StepFailed
from simulator.jid import group_jid, phone_of
from simulator.records import record
from simulator.scenario.actions import run_client_op, run_service_op
from simulator.scenario.bots import BotSupervisor
from simulator.scenario.durations import format_duration
from simulator.scenario.journal import Failed, Journal
from simulator.scenario.loader import load_scenario
from simulator.scenario.match import Pattern, match
from simulator.scenario.matching import Inbox, Matcher
from simulator.scenario.plan import (
    CommandBot,
    Expect,
    ExpectNone,
    InProcessBot,
    Login,
    Logout,
    Restart,
    SendIq,
    ServerAction,
    ServerDeliver,
    ServerPing,
    ServerPush,
    StartBot,
    StopBot,
    Transmit,
    Unordered,
    UserAction,
    Wait,
    Where,
)
from simulator.scenario.report import Failure, ScenarioResult, one_line, render_failure
from simulator.scenario.watchdog import DEFAULT_YIELD_LIMIT, watchdog
from simulator.server import ServerConfig, open_server
from simulator.server.server import ORDINARY_ENDS
from simulator.transport import MemoryConnector
from simulator.trio_clock import MockClock, wait_all_tasks_blocked
from simulator.trio_scheduler import seed_scheduler
from simulator.wire.node import Node
from simulator.world import build_state

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.scenario.plan import BotFunction, Party, Scenario, Step
    from simulator.server import Server
    from simulator.server.faults import Fault, FaultHit
    from simulator.server.server import BugReport
    from simulator.server.session import Session as ServerSession

__all__ = [
    "BotOverride",
    "Failed",
    "Inbox",
    "Runtime",
    "run_file",
    "run_scenario",
    "run_scenario_sync",
]

BotOverride = InProcessBot | CommandBot
STUCK_AFTER = 60.0
"""Seconds (of the scenario's time) events may wait for an in-process bot that is busy
elsewhere (not asking the library for the next one) before the run fails as stuck. A
step that fails earlier says so if events are waiting for the bot at all."""
_STUCK = "the bot stopped handling events"
STUCK_DETAILS = (
    "the client library still answered the server's pings, but the bot's code has not"
    " asked it for an event since then: it is blocked in its handler (an await that never"
    " returns, a lock, a queue nobody reads)",
)
SETTLE_REAL_SECONDS = 0.05
"""With an external bot: how long to let stanzas in flight arrive between steps."""
LOCAL_EVENTS = (MediaMessageSent, MediaUploadFailed)
"""Events a client raises about what it sent (a user's inbox holds what it received)."""
IN_PROCESS_HTTP = "http://media.simulator.invalid"
"""The base of media URLs when every party is in-process (their HTTP needs no socket)."""


@record(frozen=False)
class _Session:
    client: Client
    login: Login
    stop: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)


# -------------------------------------------------------------------- the runtime


class Runtime:
    """One run: the users' sessions, the bot, and the one place plan steps are run
    (:meth:`run_step`). What parties received and the matching belong to its
    :class:`~simulator.scenario.matching.Matcher`; the transcript, the captures and
    failures to its :class:`~simulator.scenario.journal.Journal`. It is the
    :class:`~simulator.scenario.plan.Context` of the steps' own actions."""

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
        self._server = server
        self.external = isinstance(bot, CommandBot)
        self.journal = Journal(
            scenario.options, scenario.builtins, time_scale=time_scale if self.external else 1.0
        )
        self.steps_run = 0
        self.nursery = nursery
        self._sessions: dict[str, _Session] = {}
        self._step_scope: trio.CancelScope | None = None
        self.matcher = Matcher(scenario, self.journal, self._offline_hint)
        self.bot = BotSupervisor(
            scenario.bot,
            bot,
            server=server,
            nursery=nursery,
            journal=self.journal,
            cancel_step=self.cancel_step,
        )
        self._bot_jid = scenario.bot.party.jid if scenario.bot is not None else None
        self._labels = {party.jid: party.label for party in scenario.parties}
        self._passwords: dict[str, str] = {}
        self._named_faults: dict[str, Fault] = {}
        self._described: dict[int, str] = {}
        """Fault number -> what it does to which stanzas (kept after it is used up)."""
        self.unobserve_faults = server.faults.observe(self._on_fault)
        server.tap(self._on_tap)
        self._ended: set[str] = set()
        """JIDs whose session ended once: their next login is a reconnect."""
        self.unwatch_sessions = server.watch_sessions(self._on_session)
        """Called when the steps are over: the shutdown's session ends are not noted."""

    # ---------------------------------------------------------------- the steps' context

    @property
    def server(self) -> Server:
        return self._server

    @property
    def passwords(self) -> dict[str, str]:
        """Label -> the password registration issued (``code_register``) for the run."""
        return self._passwords

    @property
    def named_faults(self) -> dict[str, Fault]:
        """Name -> the fault a ``fault`` step set ``as`` it."""
        return self._named_faults

    def fault_set(self, fault: Fault, name: str | None) -> None:
        self._described[fault.id] = fault.describe()
        if name is not None:
            self._named_faults[name] = fault
        self.note(f"fault #{fault.id} set: {self._described[fault.id]}")

    def render_text(self, text: str) -> str:
        return self.journal.render_text(text)

    def bind(self, bound: Mapping[str, str]) -> None:
        self.journal.bind(bound)

    def fail(self, summary: str) -> NoReturn:
        self.journal.fail(summary)

    def note(self, text: str) -> None:
        """A line of the transcript (``--``)."""
        self.journal.note(text)

    # ---------------------------------------------------------------- running a step

    async def run_step(self, step: Step) -> None:
        """Do what ``step`` says (every kind of plan step is run here)."""
        match step:
            case Login():
                await self.login(step)
            case Logout():
                await self.logout(step.party)
            case StartBot():
                await self.bot.start(unless_running=step.unless_running)
            case StopBot():
                await self.bot.stop(if_running=step.if_running)
            case Transmit():
                await self._transmit(step)
            case SendIq():
                await self._send_iq(step)
            case UserAction():
                await self._user_action(step)
            case ServerAction():
                await self._server_action(step)
            case ServerPing():
                await self._server_ping(step)
            case ServerDeliver():
                node = self.journal.render_node(step.node)
                if node.get("id") is None:
                    node = node.with_attrs(id=self._server.ids.stanza_id())
                self._server.deliver(step.party.jid, node)
            case ServerPush():
                if not self._server.send_live(step.party.jid, self.journal.render_node(step.node)):
                    self.fail(f"the server cannot push to {step.party.label}: not connected")
            case Restart():
                await self._restart(step)
            case Wait():
                await trio.sleep(step.seconds * self.journal.time_scale)
            case Expect():
                await self.matcher.expect(step.expectation)
            case ExpectNone():
                await self.matcher.expect_none(step.expectation)
            case Unordered():
                await self.matcher.unordered(step.expectations)
            case _:  # pragma: no cover - every kind is listed above
                assert_never(step)

    def _on_session(self, event: str, session: ServerSession) -> None:
        """Transcript notes for logins, reconnects and ends (a drop says why)."""
        if not session.jid or event == "connected":
            return
        label = self._labels.get(session.jid) or phone_of(session.jid)
        if event == "login":
            again = " again (reconnect)" if session.jid in self._ended else ""
            self.note(f"{label} logged in{again} (session #{session.number})")
            return
        self._ended.add(session.jid)
        reason = session.close_reason or "server stopped"
        kind = "ended" if reason in ORDINARY_ENDS else "dropped"
        self.note(f"{label}'s session #{session.number} {kind}: {reason}")

    def _on_fault(self, hit: FaultHit) -> None:
        """A transcript note where the fault hit, and a line for a failure's report."""
        label = self._labels.get(hit.jid) or (phone_of(hit.jid) if hit.jid else "")
        fault = self._server.faults.get(hit.fault)
        if fault is not None:
            self._described.setdefault(fault.id, fault.describe())
        self.journal.fault(hit, label, self._described.get(hit.fault, ""))

    async def _restart(self, step: Restart) -> None:
        """The server restarts; the users logged in by steps log in again, as they were
        (not those whose session the service had ended: they count as logged out)."""
        ended = {
            label
            for label, session in self._sessions.items()
            if session.client.state is ClientState.CLOSED
        }
        self._server.restart(goodbye=step.goodbye)
        for label, session in list(self._sessions.items()):
            self._sessions.pop(label)
            session.stop.set()
            await session.done.wait()
            if label not in ended:
                await self.login(session.login)

    def _on_tap(self, direction: str, jid: str, node: Node) -> None:
        label = self._labels.get(jid) or phone_of(jid)
        at = self.journal.now()
        self.journal.stanza(at, label, "tx" if direction == "in" else "rx", node)
        if jid == self._bot_jid:
            if direction == "out":
                self.matcher.inboxes["bot"].add(at, node)
                self.bot.saw_stanza()
            else:
                self.matcher.inboxes["server"].add(at, node)

    async def settle(self) -> None:
        """Let every stanza in flight arrive (no virtual time passes)."""
        if self.external:
            await trio.sleep(SETTLE_REAL_SECONDS)
        await wait_all_tasks_blocked()

    def _offline_hint(self, party: str) -> tuple[str, ...]:
        if party in ("bot", "server"):
            if not self.bot.running:
                return ("hint: the bot is not running",)
            return ()
        if party not in self._sessions:
            return (f"hint: {party} is not logged in",)
        return ()

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
            MemoryConnector(self._server),
            party.phone,
            self._passwords.get(party.label, party.password),
            push_name=party.name,
            passive=step.passive,
            announce=step.announce,
            auto_receipt=step.auto_receipt,
            auto_ack=step.auto_ack,
        ) as client:
            session = _Session(client, step)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._consume, party.label, client, session)
                    task_status.started(session)
                    await session.stop.wait()
                    nursery.cancel_scope.cancel()
            finally:
                session.done.set()

    async def _consume(self, label: str, client: Client, session: _Session) -> None:
        inbox = self.matcher.inboxes[label]
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
                inbox.add(self.journal.now(), event.node)

    async def logout(self, party: Party) -> None:
        session = self._sessions.pop(party.label, None)
        if session is None:
            self.fail(f"{party.label} is not logged in")
        session.stop.set()
        await session.done.wait()

    async def _transmit(self, step: Transmit) -> None:
        client = self.client_of(step.party)
        if step.bind_id is not None and step.bind_id not in self.journal.env:
            self.bind({step.bind_id: client.new_id()})
        node = self.journal.render_node(step.node)
        if step.new_id and node.get("id") is None:
            node = node.with_attrs(id=client.new_id())
        try:
            await client.send(node)
        except ConnectionClosed as exc:
            self.fail(f"cannot send: {exc}")

    # ---------------------------------------------------------------- the bot

    def step_scope(self, scope: trio.CancelScope | None) -> None:
        """The scope of the running step: a crashing bot cancels it."""
        self._step_scope = scope

    def cancel_step(self) -> None:
        if self._step_scope is not None:
            self._step_scope.cancel()

    def check_bot(self) -> None:
        """Fail the run if the bot died, or stopped handling events (events have waited
        for it :data:`STUCK_AFTER` seconds)."""
        if self.bot.failure is not None:
            raise Failed(self.bot.failure)
        stuck = self.stuck(STUCK_AFTER)
        if stuck is not None:
            raise Failed(self.journal.failure(stuck, STUCK_DETAILS))

    def stuck(self, longer_than: float) -> str | None:
        """Why the bot counts as stuck, if events have waited for it over ``longer_than``
        seconds (of the scenario's time)."""
        stuck = self.bot.stuck()
        if stuck is None:
            return None
        since, count = stuck
        if self.journal.now() - since <= longer_than:
            return None
        events = "1 event" if count == 1 else f"{count} events"
        return (
            f"{_STUCK}: stuck since {format_duration(since)} into the run, {events} waiting for it"
        )

    async def shutdown(self) -> None:
        """End every session and the bot (the scenario is over)."""
        await self.bot.shutdown()
        for label in list(self._sessions):
            session = self._sessions.pop(label)
            session.stop.set()
            await session.done.wait()

    # ---------------------------------------------------------------- requests and answers

    async def _send_iq(self, step: SendIq) -> None:
        client = self.client_of(step.party)
        node = self.journal.render_node(step.node)
        within = self.journal.seconds(step.within)
        try:
            answer = await client.iq(node, timeout=within)
        except IqError as exc:
            answer = exc.node
        except IqTimeout:
            self.journal.fail(
                f"{step.party.label} got no answer to its iq within {format_duration(within)}",
                party=step.party.label,
                pattern=step.result,
            )
        except ConnectionClosed as exc:
            self.fail(f"{step.party.label} lost its connection waiting for the iq's answer: {exc}")
        self._check_answer(f"{step.party.label}'s iq", step.party.label, step.result, answer)
        if step.bind_group is not None:
            group = answer.child("group")
            if group is None or not group.get("id"):
                self.fail(f"the answer to {step.party.label}'s iq names no group: {answer}")
            self.bind({step.bind_group: group_jid(group.get("id", ""))})

    def _check_answer(self, what: str, party: str | None, pattern: Pattern, answer: Node) -> None:
        """Fail unless ``answer`` (to ``what``) matches ``pattern``; bind its captures."""
        result = match(pattern, answer, self.journal.env)
        if not result.ok:
            self.journal.fail(
                f"the answer to {what} does not match",
                party=party,
                pattern=pattern,
                candidate=answer,
                candidate_at=self.journal.now(),
                candidate_note="the answer",
                difference=result.difference,
            )
        self.bind(result.bound)

    async def _user_action(self, step: UserAction) -> None:
        label = step.party.label
        client = self.client_of(step.party)
        within = self.journal.seconds(step.within)
        answer: Node | None = None
        timed_out = False
        with trio.move_on_after(within) as scope:
            try:
                answer = await run_client_op(step.action, client, self)
            except IqError as exc:
                answer = exc.node
            except IqTimeout:
                timed_out = True
            except ConnectionClosed as exc:
                self.fail(f"{label} lost its connection: {exc}")
            except ClientError as exc:
                self.journal.fail(f"{step.summary}: {exc}", party=label, pattern=step.result)
        if timed_out or scope.cancelled_caught:
            self.journal.fail(
                f"{label} got no answer within {format_duration(within)}",
                party=label,
                pattern=step.result,
            )
        if step.result is not None:
            answer = answer if answer is not None else Node("iq", {"type": "result"})
            self._check_answer(f"{label}'s request", label, step.result, answer)

    async def _server_action(self, step: ServerAction) -> None:
        answer = await run_service_op(step.action, self)
        if answer is not None:
            self.note(f"{step.answer_note}: {one_line(answer)}")
        if step.result is not None and answer is not None:
            self._check_answer(step.answer_note, step.party, step.result, answer)

    async def _server_ping(self, step: ServerPing) -> None:
        label = step.party.label
        iq_id = self._server.ping(step.party.jid)
        if iq_id is None:
            self.fail(f"the server cannot ping {label}: not connected")
        within = self.journal.seconds(step.within)
        with trio.move_on_after(within):
            await self._server.wait_answer(step.party.jid, iq_id)
            return
        self.fail(f"{label} did not answer the server's ping within {format_duration(within)}")


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
            server.http.advertise(IN_PROCESS_HTTP)
        async with trio.open_nursery() as nursery:
            rt = Runtime(scenario, server, nursery, bot=bot, time_scale=time_scale)
            try:
                failure = await _run_steps(rt)
            finally:
                rt.unwatch_sessions()
                rt.unobserve_faults()
                with trio.CancelScope(shield=True):
                    await rt.shutdown()
                nursery.cancel_scope.cancel()
        bugs = server.take_bugs()
        if bugs:  # a server bug fails the run whatever the steps said: it must never hide
            failure = _server_bug_failure(rt, bugs, failure)
        output = rt.bot.output()
        rt.bot.close()
    transcript = rt.journal.transcript
    report = render_failure(failure, transcript) if failure is not None else ""
    return ScenarioResult(
        name=scenario.name,
        path=scenario.path,
        line=scenario.line,
        passed=failure is None,
        failure=failure,
        transcript=tuple(transcript),
        virtual_seconds=trio.current_time() - start,
        wall_seconds=time.perf_counter() - wall,
        steps_run=rt.steps_run,
        steps_total=len(scenario.steps),
        report=report,
        bot_output=output,
    )


async def _run_steps(rt: Runtime) -> Failure | None:
    scenario, journal = rt.scenario, rt.journal
    try:
        if scenario.bot is not None and scenario.bot.autostart:
            journal.current = scenario.bot.where
            await rt.bot.start()
        for step in scenario.steps:
            await rt.settle()
            rt.check_bot()
            journal.current = step.where
            journal.note(f"{step.where.step}: {step.describe()}")
            rt.matcher.begin_step()
            with trio.CancelScope() as scope:
                rt.step_scope(scope)
                await rt.run_step(step)
            rt.step_scope(None)
            rt.check_bot()
            rt.steps_run += 1
        journal.current = Where(
            path=str(scenario.path or scenario.name), line=scenario.line, step="the end"
        )
        await rt.settle()
        rt.check_bot()
        rt.matcher.check_unread()
    except Failed as failed:
        failure = failed.failure
        stuck = rt.stuck(0.0)
        if stuck is not None and not failure.summary.startswith(_STUCK):
            # A step timed out waiting for a bot that is blocked: say that first.
            failure = dataclasses.replace(
                failure,
                summary=f"{stuck} (so: {failure.summary})",
                details=(*STUCK_DETAILS, *failure.details),
            )
        journal.note(f"FAILED: {failure.summary}")
        return journal.with_faults(failure)
    return None


def _server_bug_failure(rt: Runtime, bugs: Sequence[BugReport], failure: Failure | None) -> Failure:
    count = "a server bug" if len(bugs) == 1 else f"{len(bugs)} server bugs"
    also = () if failure is None else (f"(the run also failed: {failure.summary})",)
    return Failure(
        summary=f"the simulator hit {count} (a bug in the simulator, not in the bot;"
        " each failed only its stanza, the other sessions ran on)",
        where=failure.where if failure is not None else rt.journal.current,
        at=rt.journal.now(),
        details=(*also, *(str(bug) for bug in bugs)),
    )


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
    return isinstance(clock, MockClock) and clock.autojump_threshold != math.inf


def run_scenario_sync(
    scenario: Scenario,
    *,
    bot_override: BotOverride | BotFunction | None = None,
    time_scale: float = 1.0,
    yield_limit: float | None = DEFAULT_YIELD_LIMIT,
) -> ScenarioResult:
    """Run a scenario in a new trio run: virtual time for an in-process bot, the real clock
    for an external one.

    ``yield_limit``: wall seconds an in-process bot may run without yielding to the event
    loop before the run fails saying so (None: no limit; see
    :mod:`~simulator.scenario.watchdog`, which arms only on the main thread)."""
    bot = _bot_runner(scenario, bot_override)
    if isinstance(bot, CommandBot):
        return trio.run(_run, scenario, bot, time_scale)
    module = getattr(bot.function, "__module__", None) if bot is not None else None
    bot_modules = (module,) if isinstance(module, str) else ()
    with watchdog(yield_limit, bot_modules=bot_modules) as instruments:
        return trio.run(
            _run,
            scenario,
            bot,
            time_scale,
            clock=MockClock(autojump_threshold=0),
            instruments=instruments,
        )


async def _run(scenario: Scenario, bot: BotOverride | None, time_scale: float) -> ScenarioResult:
    return await run_scenario(scenario, bot_override=bot, time_scale=time_scale)


def run_file(
    path: Path | str,
    *,
    bot_override: BotOverride | BotFunction | None = None,
    time_scale: float = 1.0,
    yield_limit: float | None = DEFAULT_YIELD_LIMIT,
) -> ScenarioResult:
    """Load and run one scenario file (sync; ``yield_limit`` as in :func:`run_scenario_sync`).

    Raises:
        ScenarioSyntaxError: the file has problems (nothing ran).
    """
    return run_scenario_sync(
        load_scenario(Path(path)),
        bot_override=bot_override,
        time_scale=time_scale,
        yield_limit=yield_limit,
    )
