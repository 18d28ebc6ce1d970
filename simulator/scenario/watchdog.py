"""A wall-clock watchdog for runs with an in-process bot: a bot that never yields.

On virtual time (``MockClock``) a bot whose code loops without ever awaiting (``while
True: pass``, a computation that never ends, a blocking call) stops the whole trio run:
no step, no timeout and no hang check of the runner ever runs again. The watchdog
counts trio's scheduler rounds (a trio ``Instrument``: ``after_io_wait`` once a round,
so nearly free) from a daemon thread; when the run has been busy (not idle waiting for
I/O) for ``limit`` seconds of wall time with no new round, it signals the main thread.

Where the signal may raise. Its handler raises :class:`NotYielding` in the code running
there only if that is the bot's own code; the bot supervisor turns it into the failure
of the step that was running. The code running when the signal comes is not always the
bot's: a correct run's round can outlast ``limit`` too (a busy machine deschedules the
process, a collection runs), and then the main thread is anywhere in the simulator or in
trio. An exception there would leave their state half-updated: a coroutine made by
trio's ``start_soon`` but never registered as a task ("coroutine ... was never
awaited"), a session marked awake with no task, a server task dead. So the handler looks
at the interrupted frame and outward past the frames of the standard library and of
installed packages (what called them decides: ``threading.Event().wait()`` in a bot is
the bot's, ``cryptography`` under the wire codec is the simulator's) to the first other
frame: if it belongs to the simulator (the ``simulator`` package: server, client,
transport, wire, scenario runner) or to trio (``trio``, ``outcome``, ``sniffio``), or
trio protects the code from ``KeyboardInterrupt``, the handler does nothing and the
watchdog signals again :data:`_RETRY` seconds later. A bot's frame found past an
installed package's frames is the bot's, but the handler does not raise inside that
package either (its state, say hypothesis' collector callback, would be cut in half
too): it treats the bot's frame as it treats one that called the simulator (below). The
bot's code is everything else: its own modules (even installed ones: the runner names
the bot's module), ``scenarios/``, tests. A round that ends meanwhile was not stuck. A
bot that spins in its own code gets the next signal there. One whose loop calls the
simulator on every turn (the client library, the stanza builders, the codec) would
seldom get it: Python runs a signal handler at its next call or jump back, which is
nearly always in the simulator's frames. So when a frame of the bot's called the
simulator's code the signal landed in (further out in the running task), the handler
sets a trace function on that frame. It raises there, at a line the frame jumps back to
(another turn of its loop: the simulator's call returned whole), once the frame has been
going round for ``limit`` more without the round ending. A bot that goes on to an await
instead (a correct one, in a round made slow by the simulator or the machine) was slow,
not spinning: the round ends and the trace goes at the next call. With another trace
function set (a debugger, coverage) it sets none and relies on the retries.

After a raise the watchdog counts ``limit`` again from then: the rest of that round
(the bot's task ending, its session woken) is not the bot's doing.

Last resort. A run held in the simulator's own code for ``last_resort`` wall seconds (a
loop in the simulator that never ends, a write that blocks for ever: a simulator bug, or
a log handler that never returns) would otherwise hang for ever; the watchdog then raises
in whatever code that is not trio's own runs, saying that it is the simulator's code that
holds the loop (the run ends; what was half-done is lost with it). The default is ten
times ``limit`` and at least :data:`LAST_RESORT_FLOOR` seconds: far beyond any round of a
correct run on a loaded machine.

It uses ``SIGUSR1`` (a real Ctrl-C stays a Ctrl-C) and, since only the main thread can
take a signal handler, it arms only for a run on the main thread (``simulator run``,
``simulator explore``, the pytest plugin); a run on another thread has no watchdog.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import site
import sys
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

import trio

__all__ = ["DEFAULT_YIELD_LIMIT", "LAST_RESORT_FLOOR", "NotYielding", "watchdog"]

DEFAULT_YIELD_LIMIT: Final = 10.0
"""Wall seconds an in-process bot may run without yielding to the event loop."""

LAST_RESORT_FLOOR: Final = 10.0
"""The shortest default ``last_resort``: wall seconds a round may hold the event loop in
the simulator's own code before the watchdog raises there all the same."""

_SIGNAL: Final = getattr(signal, "SIGUSR1", None)
_RETRY: Final = 0.05
"""Wall seconds between two signals while the main thread is not in the bot's code."""

_LIBRARY: Final = frozenset({"simulator", "trio", "outcome", "sniffio"})
"""Top-level packages whose state a raise must never cut in half."""

_STDLIB: Final = frozenset(sys.stdlib_module_names)


class NotYielding(BaseException):
    """Raised in the code of a run that held the event loop ``limit`` wall seconds.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a bot's ``except
    Exception`` does not swallow it. ``in_simulator``: raised as the last resort, the
    loop held in the simulator's own code (see the module's documentation)."""

    def __init__(
        self, limit: float, where: str, *, in_simulator: bool = False, held: float = 0.0
    ) -> None:
        self.limit = limit
        self.where = where
        self.in_simulator = in_simulator
        self.held = held
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        at = f" at {self.where}" if self.where else ""
        if self.in_simulator:
            return (
                f"the event loop has been held for {limit_text(round(self.held, 1))} of wall"
                f" time in the simulator's own code, not the bot's (a bug in the"
                f" simulator?){at}"
            )
        return (
            f"the bot has run for {limit_text(self.limit)} of wall time without yielding to"
            f" the event loop (a loop that never awaits?){at}"
        )


def limit_text(seconds: float) -> str:
    return f"{seconds:g} s"


@functools.cache
def _installed() -> tuple[str, ...]:
    """The folders of installed packages (site-packages), as path prefixes."""
    folders = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
    return tuple(os.path.join(folder, "") for folder in folders if folder)


_BOT: Final = "bot"
_SIMULATOR: Final = "simulator"
_PACKAGE: Final = "package"


def _owner(frame: FrameType, bot_modules: Collection[str], installed: tuple[str, ...]) -> str:
    """Whose code ``frame`` runs: the bot's, the simulator's (or trio's), an installed
    package's, or "" for the standard library (for these two, whoever called them
    decides whose the round is)."""
    name = frame.f_globals.get("__name__")
    if not isinstance(name, str):
        name = ""
    if bot_modules and any(name == m or name.startswith(f"{m}.") for m in bot_modules):
        return _BOT
    top = name.partition(".")[0]
    if top in _LIBRARY:
        return _SIMULATOR
    if top in _STDLIB:
        return ""
    if frame.f_code.co_filename.startswith(installed):
        return _PACKAGE
    return _BOT


def owned_frame(
    frame: FrameType | None, bot_modules: Collection[str] = ()
) -> tuple[str, FrameType] | None:
    """Whose code runs at ``frame`` and in which frame: ``frame`` itself, or the caller of
    the standard library or installed package code it is in (see the module's
    documentation); ``("bot", frame)`` or ``("simulator", frame)``. ``bot_modules``:
    modules that are the bot's wherever they are installed."""
    installed = _installed()
    while frame is not None:
        owner = _owner(frame, bot_modules, installed)
        if owner and owner != _PACKAGE:
            return owner, frame
        frame = frame.f_back
    return None


def _in_package(
    frame: FrameType | None, at: FrameType | None, bot_modules: Collection[str]
) -> bool:
    """Whether the code running at ``frame``, up to the bot's frame ``at``, passes
    through an installed package's (not the standard library's): the bot's code decides
    whose fault the round is, but a raise must not cut that package's state in half
    either (hypothesis' collector callback, a driver's buffers)."""
    installed = _installed()
    while frame is not None and frame is not at:
        if _owner(frame, bot_modules, installed) == _PACKAGE:
            return True
        frame = frame.f_back
    return False


def _calling_bot(
    frame: FrameType | None, root: FrameType, bot_modules: Collection[str]
) -> FrameType | None:
    """The bot's frame that called, further out in the running task (whose coroutine
    runs ``root``), the simulator's code running at ``frame``; None if there is none."""
    installed = _installed()
    while frame is not None:
        if _owner(frame, bot_modules, installed) == _BOT:
            return frame
        if frame is root:
            return None
        frame = frame.f_back
    return None


def _place(frame: FrameType | None) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""


class _Rounds(trio.abc.Instrument):
    """Counts the scheduler's rounds; knows whether the run is idle waiting for I/O."""

    def __init__(self) -> None:
        self.rounds = 0
        self.idle = False

    def before_io_wait(self, timeout: float) -> None:
        self.idle = timeout > 0

    def after_io_wait(self, timeout: float) -> None:
        self.idle = False
        self.rounds += 1


@dataclasses.dataclass(frozen=True, slots=True)
class _Aim:
    """What one signal is for: a raise in round ``round`` after ``raised`` raises."""

    round: int
    raised: int
    held: float
    last_resort: bool


@dataclasses.dataclass(slots=True)
class _Shared:
    """What the watching thread and the signal handler share (single assignments)."""

    aim: _Aim | None = None
    """Set by the thread when it signals; cleared by it when the loop moves on."""
    raised: int = 0
    """Raises so far (the handler counts them): the thread counts ``limit`` anew."""
    tracing: object = None
    """The trace function set to catch a bot's loop that runs through the simulator."""


@contextmanager
def watchdog(
    limit: float | None, *, last_resort: float | None = None, bot_modules: Collection[str] = ()
) -> Iterator[list[trio.abc.Instrument]]:
    """Arm the watchdog around one ``trio.run``; yields the instruments to pass it.

    ``last_resort``: wall seconds after which it raises in the simulator's own code too
    (default: ``10 * limit``, at least :data:`LAST_RESORT_FLOOR`). ``bot_modules``: the
    modules of the bot (its code even if installed as a package).

    No-op (no instruments) when ``limit`` is None, off the main thread, or on a
    platform without ``SIGUSR1``."""
    if (
        limit is None
        or _SIGNAL is None
        or threading.current_thread() is not threading.main_thread()
    ):
        yield []
        return
    if last_resort is None:
        last_resort = max(10 * limit, LAST_RESORT_FLOOR)
    rounds = _Rounds()
    shared = _Shared()
    stop = threading.Event()
    modules = tuple(bot_modules)

    def current(aim: _Aim) -> bool:
        """The loop is still held in the round ``aim`` is for, and nothing raised since."""
        return not stop.is_set() and aim.round == rounds.rounds and aim.raised == shared.raised

    def hit(aim: _Aim, exc: NotYielding) -> NotYielding:
        shared.aim = None
        shared.raised = aim.raised + 1
        return exc

    def on_signal(signum: int, frame: FrameType | None) -> None:
        aim = shared.aim
        if aim is None or not current(aim):
            return  # a stray signal, or the loop moved on by itself meanwhile
        if trio.lowlevel.currently_ki_protected():
            return  # trio's own code: the watchdog tries again in a moment
        owner, at = owned_frame(frame, modules) or ("", frame)
        if owner == _BOT and not _in_package(frame, at, modules):
            raise hit(aim, NotYielding(limit, _place(at)))
        if aim.last_resort:
            raise hit(aim, NotYielding(limit, _place(at), in_simulator=True, held=aim.held))
        # The simulator's or trio's code: the watchdog tries again in a moment. If a frame
        # of the bot called it, that frame fails once it goes round its loop again.
        try:
            root = trio.lowlevel.current_task().coro.cr_frame
        except RuntimeError:
            return
        if root is None:
            return
        caller = _calling_bot(frame, root, modules)
        if caller is not None and sys.gettrace() is None:
            trace_turns(caller, aim)

    def trace_turns(caller: FrameType, aim: _Aim) -> None:
        """Raise in ``caller`` (a frame of the bot's) at a line it starts at or before the
        instruction it is at now (a jump back: another turn of its loop) once it has been
        going round for ``limit`` since the first such jump, while the loop is still held
        in ``aim``'s round. If it returns first, its caller is watched the same way if
        that is the bot's too. A trace function (off again at once when the round ends)
        sees it: one line event per line of that frame."""
        installed = _installed()
        turn = caller.f_lasti
        turning: float | None = None

        def on_call(frame: FrameType, event: str, arg: object) -> None:
            if not current(aim):
                sys.settrace(None)

        def on_line(frame: FrameType, event: str, arg: object) -> object:
            nonlocal turn, turning
            if not current(aim):
                frame.f_trace = None
                sys.settrace(None)
                return None
            if event == "line" and frame.f_lasti <= turn:
                now = time.monotonic()
                if turning is None:
                    turning = now
                elif now - turning >= limit:
                    frame.f_trace = None
                    sys.settrace(None)
                    raise hit(aim, NotYielding(limit, _place(frame)))
            if event == "return":
                outer = frame.f_back
                if outer is not None and _owner(outer, modules, installed) == _BOT:
                    turn = outer.f_lasti
                    outer.f_trace = on_line
                else:
                    sys.settrace(None)
            return on_line

        caller.f_trace = on_line
        sys.settrace(on_call)
        shared.tracing = on_call

    def watch(main: int) -> None:
        poll = min(limit / 4, 0.25)
        seen, raised, since = rounds.rounds, 0, time.monotonic()
        while not stop.wait(_RETRY if shared.aim is not None else poll):
            now = time.monotonic()
            if rounds.rounds != seen or rounds.idle or shared.raised != raised:
                seen, raised, since = rounds.rounds, shared.raised, now
                shared.aim = None
            elif now - since >= limit:
                held = now - since
                shared.aim = _Aim(seen, raised, held, held >= last_resort)
                signal.pthread_kill(main, _SIGNAL)

    previous = signal.signal(_SIGNAL, on_signal)
    thread = threading.Thread(
        target=watch, args=(threading.main_thread().ident,), name="bot-watchdog", daemon=True
    )
    thread.start()
    try:
        yield [rounds]
    finally:
        stop.set()
        thread.join()
        signal.signal(_SIGNAL, previous)
        if shared.tracing is not None and sys.gettrace() is shared.tracing:
            sys.settrace(None)
