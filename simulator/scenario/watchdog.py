"""A wall-clock watchdog for runs with an in-process bot: a bot that never yields.

On virtual time (``MockClock``) a bot whose code loops without ever awaiting (``while
True: pass``, a computation that never ends, a blocking call) stops the whole trio run:
no step, no timeout and no hang check of the runner ever runs again. The watchdog
counts trio's scheduler rounds (a trio ``Instrument``: ``after_io_wait`` once a round,
so nearly free) from a daemon thread; when the run has been busy (not idle waiting for
I/O) for ``limit`` seconds of wall time with no new round, it signals the main thread.
Its signal handler raises :class:`NotYielding` in the code running there if that is not
trio's own (not KI-protected; otherwise it tries again a moment later): in the bot's
loop, which the bot supervisor turns into the failure of the step that was running.

It uses ``SIGUSR1`` (a real Ctrl-C stays a Ctrl-C) and, since only the main thread can
take a signal handler, it arms only for a run on the main thread (``simulator run``,
``simulator explore``, the pytest plugin); a run on another thread has no watchdog.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

import trio

__all__ = ["DEFAULT_YIELD_LIMIT", "NotYielding", "watchdog"]

DEFAULT_YIELD_LIMIT: Final = 10.0
"""Wall seconds an in-process bot may run without yielding to the event loop."""

_SIGNAL: Final = getattr(signal, "SIGUSR1", None)
_RETRY: Final = 0.05
"""Wall seconds between two signals while the main thread is in trio's own code."""


class NotYielding(BaseException):
    """Raised in the code of a run that held the event loop ``limit`` wall seconds.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a bot's ``except
    Exception`` does not swallow it."""

    def __init__(self, limit: float, where: str) -> None:
        self.limit = limit
        self.where = where
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        at = f" at {self.where}" if self.where else ""
        return (
            f"the bot has run for {limit_text(self.limit)} of wall time without yielding to"
            f" the event loop (a loop that never awaits?){at}"
        )


def limit_text(seconds: float) -> str:
    return f"{seconds:g} s"


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


@contextmanager
def watchdog(limit: float | None) -> Iterator[list[trio.abc.Instrument]]:
    """Arm the watchdog around one ``trio.run``; yields the instruments to pass it.

    No-op (no instruments) when ``limit`` is None, off the main thread, or on a
    platform without ``SIGUSR1``."""
    if (
        limit is None
        or _SIGNAL is None
        or threading.current_thread() is not threading.main_thread()
    ):
        yield []
        return
    rounds = _Rounds()
    fired = threading.Event()
    stop = threading.Event()

    fired_at = [-1]
    """The round the watchdog fired in: a signal that comes after the next is stale."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() or not fired.is_set() or rounds.rounds != fired_at[0]:
            return  # a stray signal, or the loop moved on by itself meanwhile
        if trio.lowlevel.currently_ki_protected():
            return  # trio's own code: the watchdog tries again in a moment
        fired.clear()
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
        raise NotYielding(limit, where)

    def watch(main: int) -> None:
        poll = min(limit / 4, 0.25)
        seen, since = rounds.rounds, time.monotonic()
        while not stop.wait(_RETRY if fired.is_set() else poll):
            now = time.monotonic()
            if rounds.rounds != seen or rounds.idle:
                seen, since = rounds.rounds, now
                fired.clear()
            elif now - since >= limit:
                fired_at[0] = seen
                fired.set()
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
