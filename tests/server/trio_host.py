"""A trio loop in a thread, running coroutines on behalf of sync code (Hypothesis rules
cannot await)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
import trio.testing

T = TypeVar("T")


class TrioHost:
    """Starts the loop at once (on the real clock, or on ``clock``) and keeps a nursery
    open in it; :meth:`close` stops it and raises what the loop raised, if anything."""

    def __init__(self, clock: trio.testing.MockClock | None = None) -> None:
        self.clock = clock
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        try:
            trio.run(self._main, clock=self.clock)
        except BaseException as exc:  # reported by close()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self._ready.set()
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(fn, *args, trio_token=self.token)

    def close(self) -> None:
        if self._error is None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
        self._thread.join(timeout=60)
        if self._error is not None:
            raise self._error
