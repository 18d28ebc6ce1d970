"""Recording a live session as a scenario file: what ``simulator serve --record`` writes.

    simulator serve --record session.yaml --record-bot echo --world world.yaml
    # ... the bot and some users talk over TCP; Ctrl-C ...
    simulator run session.yaml --bot mybot:run

Theory of operation
-------------------
A :class:`LiveRecorder` taps a running server: every stanza a client sends (``in``) and
every stanza the server queues for a client (``out``) becomes a :class:`Tapped` event
with the server time. The tap does not see logins and logouts, so the recorder reads
them from the server's table of live sessions: a JID seen for the first time logs in; a
session that ended or was replaced logs out, noticed at the next event (and dated at the
event before it, the earliest it can have been) or by :meth:`LiveRecorder.watch`, which
looks every 0.2 s. :func:`recording` runs both for the duration of a block.

:func:`record_scenario` turns such a list of events into a scenario (pure: no trio, no
server, unit-testable), in two passes:

1. analysis: the sessions of each account, which answer belongs to which iq, what a
   user's client library sent by itself (the available presence after login, delivery
   receipts, acks: they become ``login`` options instead of steps), which messages of the
   bot some user received;
2. writing: one step per stanza that matters, in the order the server saw them.

The rules
---------
* The bot is the account named with ``--record-bot`` (without it: the first account
  that logs in, so start the bot first); every other account that logs in is a user.
  The world is written inline: every account the server knew, with names and passwords
  as they were when recording started (``simulator serve --world FILE`` refers to that
  file instead, unless accounts were added: see :func:`write_recording`).
* What a user sends becomes a step: ``send`` (text messages), ``receipt`` / ``read``,
  ``typing`` / ``paused``, ``presence``, ``iq`` (a request and its answer, checked as the
  step's ``result``), and ``raw`` for anything else (or anything a typed step would not
  send byte for byte). Logins and logouts become ``login`` / ``logout``.
* What a user receives becomes ``expect: {to: <user>, ...}``; what the bot receives,
  ``expect: {to: bot, ...}``. Messages, receipts and chat states use the typed fields;
  everything else a ``node`` pattern.
* What the bot sends is checked where it arrives (at the users). What arrives nowhere is
  checked as sent: the bot's iq requests (``expect: {to: server, ...}``) and its messages
  no user received (a one-item ``unordered`` to ``server``, as the bot's other messages
  are not expected there in order).
* Noise is left out: acks, pings (``w:p`` and ``urn:xmpp:ping``) and their answers, the
  presences the server sends, ``ib`` (the offline marker) and ``stream:error``; the bot's
  presences, chat states, receipts and answers to the server; a user's available
  presence right after login and, when they were exactly what the client library sends
  by itself, its delivery receipts and acks (the ``login`` step's ``announce``,
  ``auto_receipt`` and ``auto_ack`` say whether the replay's client does the same).
* Values the replay cannot repeat become captures: every ``id`` (``{{m1}}`` for messages,
  ``{{q1}}`` for iqs, ``{{n1}}`` for notifications...), every value holding a timestamp of
  the session (group JIDs ``{{g1}}``, ``<creator>-<creation>`` ids) and media URLs
  (``{{u1}}``). The first expectation or ``send`` that meets a value binds it; later
  steps use the capture. Patterns leave out ``t``, ``offline``, ``notify`` and
  attributes that are a timestamp of the session. An id a user makes up in a ``raw``
  step gets the suffix ``-rec``: the replay's client makes ids of the same
  ``<time>-<counter>`` form for its ``send`` steps, and they must not collide.
* Time: ``options.start`` is the time of the first event, so the replay's server clock
  shows the same dates. A pause of ``min_wait`` (1 s) or more before a user acts becomes
  a ``wait`` (virtual time for in-process bots: free); an expectation that came more
  than half the default ``within`` after the previous step gets ``within`` = that time
  plus the default.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import trio

from simulator.jid import user_jid
from simulator.scenario.loader import check_file
from simulator.scenario.record_writer import (
    Direction,
    Recording,
    RecordOptions,
    Tapped,
    dump_scenario,
    iso_time,
    record_scenario,
)
from simulator.wire.node import Node
from simulator.world import AccountSpec, load_world

if TYPE_CHECKING:
    from simulator.server import Server
    from simulator.server.state import Account, State

__all__ = [
    "Direction",
    "LiveRecorder",
    "RecordOptions",
    "Recording",
    "Tapped",
    "dump_scenario",
    "find_account",
    "record_scenario",
    "recording",
    "schema_reference",
    "write_recording",
]

WATCH_INTERVAL: Final = 0.2
"""Seconds between two looks at the server's sessions (to notice logouts in time)."""


# ==================================================================== live sessions


class LiveRecorder:
    """Records what happens on a running server: the events :func:`record_scenario` reads.

    Use :func:`recording` (what ``simulator serve --record`` does), or ``start()`` /
    ``stop()`` by hand. The tap does not see logins and logouts: they are read from
    ``server.sessions``. A JID seen for the first time (or with another session than
    before) logs in; a session that ended or was replaced logs out. A logout is noticed at
    the next event (and dated at the event before it: the earliest it can have been) or by
    :meth:`watch`, which looks every ``interval`` seconds.
    """

    def __init__(self, server: Server, bot: str | None = None) -> None:
        self._bot: str | None = None
        if bot is not None:
            account = find_account(server.state, bot)
            if account is None:
                raise ValueError(
                    f"no account {bot!r} (a phone, JID or push name) to record as the bot"
                )
            self._bot = account.jid
        self.server = server
        self.events: list[Tapped] = []
        self._accounts = {jid: _spec(account) for jid, account in server.state.accounts.items()}
        self._sessions: dict[str, object] = {}
        self._untap: Callable[[], None] | None = None
        self.started = self._now()
        """Server time when the recorder was made."""

    @property
    def bot(self) -> str:
        """The bot's JID: as given, or else the first account that logged in (start the bot
        first, then the users). Raises ``ValueError`` while nobody has."""
        if self._bot is not None:
            return self._bot
        for event in self.events:
            if event.direction == "login":
                return event.jid
        raise ValueError("nobody logged in: there is no bot to record")

    @property
    def recording(self) -> bool:
        return self._untap is not None

    def start(self) -> None:
        if self._untap is None:
            self._untap = self.server.tap(self._on_tap)

    def stop(self) -> None:
        """Stop recording (sessions that ended since the last event log out)."""
        if self._untap is not None:
            self._untap()
            self._untap = None
            self._logouts(self._last_at())

    async def watch(self, interval: float = WATCH_INTERVAL) -> None:
        """Look for ended sessions every ``interval`` seconds, until cancelled."""
        while True:
            await trio.sleep(interval)
            if self.recording:
                self._logouts(self._now())

    def accounts(self) -> list[AccountSpec]:
        """The world: the accounts as recording started, then any registered since."""
        specs = dict(self._accounts)
        for jid, account in self.server.state.accounts.items():
            specs.setdefault(jid, _spec(account))
        return list(specs.values())

    def scenario(self, options: RecordOptions | None = None) -> Recording:
        """The scenario of what was recorded so far."""
        return record_scenario(self.events, self.accounts(), self.bot, options)

    def _now(self) -> float:
        return self.server.clock.epoch + trio.current_time()

    def _last_at(self) -> float:
        return self.events[-1].at if self.events else self._now()

    def _on_tap(self, direction: Literal["in", "out"], jid: str, node: Node) -> None:
        self._logouts(self._last_at())
        at = self._now()
        if jid not in self._sessions:
            self._sessions[jid] = self.server.sessions.get(jid)
            self.events.append(Tapped("login", jid, None, at))
        self.events.append(Tapped(direction, jid, node, at))

    def _logouts(self, at: float) -> None:
        live = self.server.sessions
        for jid, session in list(self._sessions.items()):
            if live.get(jid) is not session:
                del self._sessions[jid]
                self.events.append(Tapped("logout", jid, None, at))


@asynccontextmanager
async def recording(
    server: Server, bot: str | None = None, *, interval: float = WATCH_INTERVAL
) -> AsyncIterator[LiveRecorder]:
    """Record ``server`` for the duration of the block.

    ``bot`` is the account under test: its phone, JID or push name (if unique); ``None``:
    the first account that logs in.
    """
    recorder = LiveRecorder(server, bot)
    recorder.start()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(recorder.watch, interval)
            yield recorder
            nursery.cancel_scope.cancel()
    finally:
        recorder.stop()


def _spec(account: Account) -> AccountSpec:
    return AccountSpec.model_validate(
        {
            "phone": account.phone,
            "name": account.push_name,
            "password": account.password_b64,
            "kind": account.kind,
            "status": account.status,
        }
    )


def find_account(state: State, ref: str) -> Account | None:
    """The account named ``ref``: its phone, its JID, or its push name in any case (if unique)."""
    account = state.accounts.get(user_jid(ref)) if ref.isdigit() or "@" in ref else None
    if account is not None:
        return account
    named = [
        a
        for a in state.accounts.values()
        if a.push_name and a.push_name.casefold() == ref.casefold()
    ]
    return named[0] if len(named) == 1 else None


def schema_reference(path: Path) -> str:
    """How a file at ``path`` refers to the schema: the nearest ``scenario.schema.json`` in
    its directory or above (also under ``scenarios/``), else just the file name."""
    folder = path.resolve().parent
    for directory in (folder, *folder.parents):
        for candidate in (
            directory / "scenario.schema.json",
            directory / "scenarios" / "scenario.schema.json",
        ):
            if candidate.is_file():
                return Path(os.path.relpath(candidate, folder)).as_posix()
    return "scenario.schema.json"


def write_recording(
    recorder: LiveRecorder, path: Path, *, seed: int = 0, world: Path | None = None
) -> list[str]:
    """Write what ``recorder`` saw to ``path``; returns lines to tell the user (summary,
    warnings, problems the file has).

    ``world``: the world file the server started from, referred to instead of writing
    the accounts inline, unless accounts were added since (``--account``, registration).
    """
    events = recorder.events
    start = iso_time(events[0].at if events else recorder.started)
    end = iso_time(events[-1].at if events else recorder.started)
    options = RecordOptions(
        name=f"session recorded {start}",
        description=(
            f"Recorded by simulator serve --record from {start} to {end}. Replay it with"
            f" simulator run {path.name} --bot MODULE:CALLABLE (or --bot-command CMD)."
        ),
        schema=schema_reference(path),
        seed=seed,
    )
    notes: list[str] = []
    if world is not None:
        known = {user_jid(a.phone) for a in load_world(world).accounts}
        added = sorted(a.phone for a in recorder.accounts() if user_jid(a.phone) not in known)
        if added:
            notes.append(
                f"accounts {', '.join(added)} are not in {world}: the accounts are written"
                " inline, without the rest of the world file"
            )
        else:
            reference = Path(os.path.relpath(world.resolve(), path.resolve().parent))
            options = replace(options, world=reference.as_posix())
    try:
        recording = recorder.scenario(options)
    except ValueError as exc:  # nobody logged in, so there is no bot
        return [f"nothing recorded: {exc}"]
    path.write_text(recording.text, "utf-8")
    stanzas = sum(1 for event in events if event.node is not None)
    lines = [f"recorded {stanzas} stanzas as {recording.steps} steps in {path}"]
    lines.extend(f"warning: {warning}" for warning in (*notes, *recording.warnings))
    lines.extend(f"problem: {problem}" for problem in check_file(path)[1])
    return lines
