"""Running the bot under test: in-process (a callable) or external (a program over TCP).

:class:`BotSupervisor` starts the bot, notices when it is logged in (the server's first
stanza to the bot's session: the offline replay), stops it, and turns its death into a
failure of the step that was running: an exception from an in-process bot (with its
traceback, starting in the bot's code), or an external program exiting with a non-zero
code (with the tail of what it wrote). An external program gets the ``SIM_*`` environment
(``SIM_HTTP`` is the base URL of the HTTP side: registration and media),
runs in the scenario's directory, and is terminated (then killed after 5 s) at the end.

An in-process bot is ``async def bot(client)``: it gets one logged-in client, and its
session ends with that client. A bot that logs in again by itself (after a stream error
or a restart) is ``async def bot(connect)``, told apart by the name of its one parameter:
``connect()`` opens a new logged-in client (an async context manager) each time it is
called, like ``bots.resilient``.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import field
from typing import IO, TYPE_CHECKING, Final, TypeGuard

import trio

from simulator.client.client import Client, ClientState, open_client
from simulator.errors import ClientError
from simulator.records import record
from simulator.scenario.durations import format_duration
from simulator.scenario.journal import Failed
from simulator.scenario.plan import CommandBot, InProcessBot
from simulator.scenario.report import Failure
from simulator.scenario.watchdog import NotYielding
from simulator.transport import MemoryConnector

if TYPE_CHECKING:
    from simulator.scenario.journal import Journal
    from simulator.scenario.plan import BotFunction, BotPlan
    from simulator.server import Server

__all__ = ["BotSupervisor"]

OUTPUT_TAIL: Final = 40
"""Lines of an external bot's output shown in a report."""
NOT_YIELDING_DETAILS: Final = (
    "while the bot's code runs, nothing else does: no other task, no timeout, no step of"
    " the scenario; every await (of the client library, trio.sleep(0)) lets them run",
)
TERMINATE_GRACE: Final = 5.0
"""Seconds an external bot has to exit after SIGTERM before it is killed."""


@record(frozen=False)
class _Handle:
    scope: trio.CancelScope
    done: trio.Event = field(default_factory=trio.Event)
    process: trio.Process | None = None
    output: IO[bytes] | None = None
    stopping: bool = False
    client: Client | None = None
    """An in-process bot's client."""
    reconnects: bool = False
    """An in-process ``bot(connect)``: it logs in again by itself."""


class BotSupervisor:
    """Starts, watches and stops the bot of one run.

    It notes and fails through ``journal``; a bot that dies calls ``cancel_step`` (the
    runner cancels the step running, then fails the run with :attr:`failure`).
    """

    def __init__(
        self,
        plan: BotPlan | None,
        runner: InProcessBot | CommandBot | None,
        *,
        server: Server,
        nursery: trio.Nursery,
        journal: Journal,
        cancel_step: Callable[[], None],
    ) -> None:
        self._plan = plan
        self._runner = runner
        self._server = server
        self._nursery = nursery
        self._journal = journal
        self._cancel_step = cancel_step
        self._handle: _Handle | None = None
        self._logged_in = trio.Event()
        self._tcp: tuple[str, int] | None = None
        self.failure: Failure | None = None
        """Set when the bot died; the runner fails the step with it."""

    @property
    def plan(self) -> BotPlan:
        assert self._plan is not None, "the loader allows bot steps only with a bot"
        return self._plan

    @property
    def running(self) -> bool:
        return self._handle is not None and not self._handle.done.is_set()

    def stuck(self) -> tuple[float, int] | None:
        """An in-process bot that stopped handling events: ``(since, count)``, the
        scenario time the first event came that waits for it and how many wait (see
        :meth:`~simulator.client.Client.waiting_events`); None if it keeps up (or runs
        elsewhere: a program's progress is seen only in what it sends)."""
        handle = self._handle
        if handle is None or handle.client is None or not self.running:
            return None
        waiting = handle.client.waiting_events()
        if waiting is None:
            return None
        since, count = waiting
        return self._journal.now() - (trio.current_time() - since), count

    def saw_stanza(self) -> None:
        """The server sent the bot's session a stanza: the bot is logged in."""
        self._logged_in.set()

    async def start(self, *, unless_running: bool = False) -> None:
        journal = self._journal
        handle = self._handle
        if handle is not None and self.running and _disconnected(handle):
            if unless_running and _reconnects(handle):
                journal.note("the bot runs (it logs in again by itself)")
                return
            await self._stop(handle)  # the service ended its session; it may run on
        if self.running:
            if unless_running:
                journal.note("the bot runs already")
                return
            journal.fail("the bot is already running")
        if self._runner is None:
            journal.fail(
                "the scenario names no bot program: give bot.python or bot.command in the file,"
                " or --bot / --bot-command"
            )
        self._logged_in = trio.Event()
        if isinstance(self._runner, InProcessBot):
            journal.note(f"the bot starts: {self._runner.target}")
            try:
                self._handle = await self._nursery.start(self._python_bot, self._runner.function)
            except ClientError as exc:
                journal.fail(f"the bot could not log in: {exc}")
        else:
            await self._start_command(self._runner)

    async def stop(self, *, if_running: bool = False) -> None:
        if self._handle is None or not self.running:
            if if_running:
                self._journal.note("the bot does not run (a fault or a restart ended it)")
                return
            self._journal.fail("the bot is not running")
        await self._stop(self._handle)
        self._journal.note("the bot stopped")

    async def shutdown(self) -> None:
        """Stop the bot if it runs (the scenario is over)."""
        if self._handle is not None and self.running:
            await self._stop(self._handle)

    def output(self) -> str:
        """Everything an external bot wrote to stdout and stderr."""
        if self._handle is None or self._handle.output is None or self._handle.output.closed:
            return ""
        stream = self._handle.output
        stream.seek(0)
        text = stream.read().decode("utf-8", "replace")
        stream.seek(0, os.SEEK_END)
        return text

    def close(self) -> None:
        if self._handle is not None and self._handle.output is not None:
            self._handle.output.close()

    # ---------------------------------------------------------------- in-process

    def _open(self, handle: _Handle) -> AbstractAsyncContextManager[Client]:
        """A logged-in client of the bot's account (its ``connect()``)."""
        bot = self.plan

        @asynccontextmanager
        async def opened() -> AsyncIterator[Client]:
            async with open_client(
                MemoryConnector(self._server),
                bot.party.phone,
                bot.party.password,
                push_name=bot.party.name,
                announce=bot.announce,
                auto_receipt=bot.auto_receipt,
                auto_ack=bot.auto_ack,
            ) as client:
                handle.client = client
                yield client

        return opened()

    async def _python_bot(
        self, function: BotFunction, task_status: trio.TaskStatus[_Handle]
    ) -> None:
        handle = _Handle(trio.CancelScope())
        try:
            with handle.scope:
                if _takes_connect(function):
                    handle.reconnects = True
                    task_status.started(handle)
                    await self._call(function(lambda: self._open(handle)))
                    return
                async with self._open(handle) as client:
                    task_status.started(handle)
                    await self._call(function(client))
        except* NotYielding as group:
            # Raised in the bot's own code (or a callback it gave the client library), or
            # as the watchdog's last resort in the simulator's code the bot called.
            found = group.exceptions[0]
            assert isinstance(found, NotYielding)
            self._died(found.summary, () if found.in_simulator else NOT_YIELDING_DETAILS)
        finally:
            handle.done.set()

    async def _call(self, running: Awaitable[None]) -> None:
        try:
            await running
        except Exception as exc:
            # Leave out this frame: the traceback starts in the bot's code.
            tb = exc.__traceback__.tb_next if exc.__traceback__ else None
            lines = "".join(traceback.format_exception(type(exc), exc, tb))
            self._died(
                f"the bot raised {type(exc).__name__}: {exc}",
                ("bot traceback:", *lines.rstrip().split("\n")),
            )
        else:
            self._journal.note("the bot function returned: the bot logs out")

    # ---------------------------------------------------------------- external

    async def _start_command(self, runner: CommandBot) -> None:
        journal, server = self._journal, self._server
        bot = self.plan
        if self._tcp is None:
            self._tcp = await server.listen_tcp("127.0.0.1", 0)
            await server.listen_http("127.0.0.1", 0)  # registration and media, for it too
        host, port = self._tcp
        argv = list(runner.argv)
        if argv[0] == "python":
            argv[0] = sys.executable
        env = {**os.environ, **runner.env}
        env.update(
            SIM_HOST=host,
            SIM_PORT=str(port),
            SIM_PHONE=bot.party.phone,
            SIM_PASSWORD=bot.party.password,
            SIM_JID=bot.party.jid,
            SIM_HTTP=server.http.base_url or "",
        )
        output = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by close()
        try:
            process = await trio.lowlevel.open_process(
                argv,
                cwd=runner.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            output.close()
            command = " ".join(runner.argv)
            journal.fail(f"cannot start the bot command {command}: {exc.strerror or exc}")
        handle = _Handle(trio.CancelScope(), process=process, output=output)
        self._handle = handle
        self._nursery.start_soon(self._watch, handle)
        command = " ".join(runner.argv)
        journal.note(f"the bot starts: {command} (pid {process.pid}, server {host}:{port})")
        with trio.move_on_after(bot.login_timeout):
            await _first_of(self._logged_in, handle.done)
        if self._logged_in.is_set():
            return
        if self.failure is not None:
            raise Failed(self.failure)
        journal.fail(
            f"the bot did not log in within {format_duration(bot.login_timeout)} (real time)",
            details=self._tail(handle),
        )

    async def _watch(self, handle: _Handle) -> None:
        assert handle.process is not None
        try:
            code = await handle.process.wait()
        finally:
            handle.done.set()
        if handle.stopping:
            return
        if code != 0:
            self._died(f"the bot process exited with code {code}", self._tail(handle))
        else:
            self._journal.note("the bot process exited with code 0")

    def _tail(self, handle: _Handle) -> tuple[str, ...]:
        if handle.output is None or handle.output.closed:
            return ()
        lines = self.output().rstrip().split("\n")
        if lines == [""]:
            return ("the bot wrote nothing",)
        shown = lines[-OUTPUT_TAIL:]
        more = (
            [f"... {len(lines) - len(shown)} earlier lines left out"]
            if len(lines) > len(shown)
            else []
        )
        return ("bot output:", *more, *("  " + line for line in shown))

    # ---------------------------------------------------------------- both

    def _died(self, summary: str, details: tuple[str, ...]) -> None:
        if self.failure is None:
            self.failure = self._journal.failure(summary, details)
        self._cancel_step()

    async def _stop(self, handle: _Handle) -> None:
        handle.stopping = True
        if handle.process is None:
            handle.scope.cancel()
            await handle.done.wait()
            return
        with trio.CancelScope(shield=True):
            if handle.process.returncode is None:
                handle.process.terminate()
                with trio.move_on_after(TERMINATE_GRACE):
                    await handle.done.wait()
                if handle.process.returncode is None:
                    handle.process.kill()
            await handle.done.wait()


Connect = Callable[[], AbstractAsyncContextManager[Client]]
"""What a bot that logs in again by itself is given: opens a new logged-in client."""


def _takes_connect(
    function: Callable[..., Awaitable[None]],
) -> TypeGuard[Callable[[Connect], Awaitable[None]]]:
    """Whether ``function`` is ``async def bot(connect)`` rather than ``bot(client)`` (its
    first parameter's name says which)."""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return names[:1] == ["connect"]


def _reconnects(handle: _Handle) -> bool:
    """An in-process bot that logs in again by itself (``bot(connect)``)."""
    return handle.reconnects


def _disconnected(handle: _Handle) -> bool:
    """An in-process bot whose connection the service closed."""
    return handle.client is not None and handle.client.state is ClientState.CLOSED


async def _first_of(*events: trio.Event) -> None:
    """Wait until one of ``events`` is set."""
    async with trio.open_nursery() as nursery:

        async def wait(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        for event in events:
            nursery.start_soon(wait, event)
