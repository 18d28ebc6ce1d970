"""Where the yield watchdog may raise: only in the bot's own code, never in the
simulator's or trio's (their state would be left half-updated), however long a round
holds the event loop there.

Each test holds the main thread in a given place with a blocking call of the standard
library or of C (a write to a full pipe, a queue that is empty), which the watchdog's
signal interrupts there and nowhere else: no timing luck decides where it lands. The test
lets the call go once the watchdog has signalled twice (it counts the signals sent)."""

from __future__ import annotations

import functools
import gc
import logging
import os
import queue
import signal
import site
import sys
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from simulator.client import open_client
from simulator.scenario import run_file
from simulator.scenario.watchdog import NotYielding, owned_frame, watchdog
from simulator.server import open_server
from simulator.transport import MemoryConnector
from tests.scenario.conftest import WriteScenario

LIMIT = 0.2
ALICE = "491110000001"
PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
ECHO = """
- login: alice
- send: {from: alice, to: echo, text: hello there}
- expect: {to: alice, message: {from: echo, body: hello there}}
"""
SPUN = (
    f"the bot has run for {LIMIT:g} s of wall time without yielding to the event loop"
    " (a loop that never awaits?) at "
)
GIVE_UP = 30.0
"""Wall seconds a held call waits for the watchdog's signals before it is let go anyway
(the test then fails on the count): a test that goes wrong fails instead of hanging."""


@pytest.fixture
def signals(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The signals the watchdog sends, counted as it sends them."""
    sent: list[int] = []
    send = signal.pthread_kill

    def counting(thread: int, signum: int) -> None:
        sent.append(signum)
        send(thread, signum)

    monkeypatch.setattr(signal, "pthread_kill", counting)
    return sent


def once_signalled(sent: list[int], times: int = 2) -> Callable[[], None]:
    """Waits (in a thread of the test's) until the watchdog has signalled ``times`` times."""

    def wait() -> None:
        waited = threading.Event()
        for _ in range(int(GIVE_UP / 0.01)):
            if len(sent) >= times:
                return
            waited.wait(0.01)

    return wait


@contextmanager
def log_held(logger: str, containing: str, until: Callable[[], object]) -> Iterator[None]:
    """The first record of ``logger`` whose message has ``containing`` in it goes to a
    full pipe through the standard library's ``StreamHandler``: the write blocks the main
    thread, under the simulator's call to ``log``, until ``until()`` returns in another
    thread and the pipe is drained. Other records are left out."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for size in (65536, 1):  # fill it to the last byte
        try:
            while True:
                os.write(write_end, b"x" * size)
        except BlockingIOError:
            pass
    os.set_blocking(write_end, True)
    stream = open(write_end, "w", buffering=1, encoding="utf-8")  # noqa: SIM115
    handler = logging.StreamHandler(stream)
    held: list[logging.LogRecord] = []

    def first(record: logging.LogRecord) -> bool:
        if held or containing not in record.getMessage():
            return False
        held.append(record)
        return True

    handler.addFilter(first)
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.INFO)
    log.addHandler(handler)

    def drain() -> None:
        until()
        while os.read(read_end, 65536):
            pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        stream.close()  # the drainer reads to the end
        drainer.join()
        os.close(read_end)


def not_yielding(raised: BaseException) -> list[NotYielding]:
    """The NotYielding in ``raised`` (itself, or inside exception groups)."""
    if isinstance(raised, NotYielding):
        return [raised]
    if isinstance(raised, BaseExceptionGroup):
        return [found for inner in raised.exceptions for found in not_yielding(inner)]
    return []


def test_a_signal_while_trio_spawns_a_server_task_leaves_no_coroutine_behind(
    signals: list[int],
) -> None:
    # The flake this guards against: a round that outlasts the limit on a loaded machine,
    # the signal landing in trio's start_soon (Server.start_task, a parked session woken)
    # after the coroutine was made and before it became a task: "coroutine
    # 'Session._resume' was never awaited", and the run broken. Here trio's spawn looks
    # up the name of the function it starts, which blocks (in C, in spawn_impl's frame)
    # until the watchdog has signalled twice.
    names: queue.SimpleQueue[str] = queue.SimpleQueue()
    ran: list[str] = []

    class Held(float):
        """An async function whose ``__module__`` is an empty queue's ``get``."""

        __module__ = property(functools.partial(names.get, True))

        def __call__(self) -> Coroutine[Any, Any, None]:
            return self.body()

        async def body(self) -> None:
            ran.append("the task ran")

    def let_go() -> None:
        once_signalled(signals)()
        names.put("held")

    threading.Thread(target=let_go, daemon=True).start()

    async def main() -> None:
        async with open_server() as server:
            await trio.sleep(1)  # some rounds first
            server.start_task(Held(GIVE_UP * 2))  # the get's timeout
            await trio.sleep(1)

    with warnings.catch_warnings(record=True) as caught, watchdog(LIMIT) as instruments:
        warnings.simplefilter("always")
        trio.run(main, clock=MockClock(autojump_threshold=0), instruments=instruments)
        gc.collect()
    assert len(signals) >= 2  # the watchdog signalled while the loop was held there
    assert ran == ["the task ran"]
    assert [str(w.message) for w in caught] == []


def test_a_round_held_in_the_servers_logging_does_not_fail_the_run(
    signals: list[int], write: WriteScenario
) -> None:
    # The server logs a session's connection in the session's task; the write blocks.
    path = write(ECHO, bot="scenarios.bots.echo:run")
    with log_held("simulator.server", ": connected", once_signalled(signals)):
        result = run_file(path, yield_limit=LIMIT)
    assert len(signals) >= 2
    assert result.passed, result.report
    assert "<body>hello there</body>" in result.transcript_text


def test_a_correct_bot_is_not_blamed_for_a_round_held_under_its_own_send(
    signals: list[int], write: WriteScenario
) -> None:
    # The bot's send runs the server's handling in the bot's task (the in-process push
    # path); the fault's log write there blocks. The bot's frame is further out: once the
    # send returns, the bot goes round its loop once and awaits the next event (it does
    # not spin), and the round ends.
    steps = """
    - login: alice
    - fault: {delay: message from echo, seconds: 1s, times: 1}
    - send: {from: alice, to: echo, text: hello there}
    - expect: {to: alice, message: {from: echo, body: hello there}}
    """
    path = write(steps, bot="scenarios.bots.echo:run")
    with log_held("simulator.server.faults", " delay from ", once_signalled(signals)):
        result = run_file(path, yield_limit=LIMIT)
    assert len(signals) >= 2
    assert result.passed, result.report


def test_a_spinning_bot_whose_loop_runs_through_the_client_library_is_caught(
    write: WriteScenario,
) -> None:
    # Its loop spends nearly all its time in the simulator's code, where no signal may
    # raise: the frame of the bot's that called it fails at the next turn of its loop.
    result = run_file(
        write(ECHO, bot="tests.scenario.bots.spinning:through_the_library"), yield_limit=LIMIT
    )
    assert not result.passed
    assert result.failure is not None
    assert result.failure.summary.startswith(SPUN)
    assert "spinning.py:" in result.failure.summary  # the bot's own line
    assert "every await" in result.report


def test_a_bot_spinning_in_a_callback_run_by_another_task_fails_its_step(
    write: WriteScenario,
) -> None:
    # The callback runs in the sender's task (the scenario's user, through the relay):
    # the exception reaches the bot's own task like any error of its callbacks, and the
    # run fails with the watchdog's sentence instead of ending in an exception group.
    result = run_file(
        write(ECHO, bot="tests.scenario.bots.spinning:in_a_callback"), yield_limit=LIMIT
    )
    assert not result.passed
    assert result.failure is not None
    assert result.failure.summary.startswith(SPUN), result.report
    assert "spinning.py:" in result.failure.summary


def test_a_bot_blocked_in_a_wait_of_the_standard_library_is_caught_at_its_line(
    write: WriteScenario,
) -> None:
    result = run_file(write(ECHO, bot="tests.scenario.bots.spinning:blocked"), yield_limit=LIMIT)
    assert not result.passed
    assert result.failure is not None
    assert result.failure.summary.startswith(SPUN)
    assert "spinning.py:" in result.failure.summary  # not threading.py


def test_the_last_resort_raises_in_the_simulator_saying_so(signals: list[int]) -> None:
    # Held for ever in the simulator's code (its log write never returns): rather than
    # hang, the watchdog raises there after last_resort seconds, and says whose code it is.
    async def main() -> None:
        async with (
            open_server(accounts=[(ALICE, PASSWORD)]) as server,
            open_client(MemoryConnector(server), ALICE, PASSWORD),
        ):
            pass

    let_go = threading.Event()
    with (
        log_held("simulator.server", ": connected", lambda: let_go.wait(GIVE_UP)),
        watchdog(LIMIT, last_resort=3 * LIMIT) as instruments,
    ):
        try:
            with pytest.raises(BaseException) as raised:
                trio.run(main, clock=MockClock(autojump_threshold=0), instruments=instruments)
        finally:
            let_go.set()
    [found] = not_yielding(raised.value)
    assert found.in_simulator
    assert found.summary.startswith("the event loop has been held for ")
    assert "in the simulator's own code, not the bot's" in found.summary
    assert f"{Path('simulator', 'server', 'server.py')}:" in found.where
    assert len(signals) >= 2  # tried again while it was the simulator's code


def _installed_package_function() -> Callable[[int], bytes]:
    """``held(fd)``: one blocking read, as code of an installed package (its file is in
    site-packages, its module is not the standard library's)."""
    path = os.path.join(site.getsitepackages()[0], "somepackage", "held.py")
    space: dict[str, Any] = {"__name__": "somepackage.held", "os": os}
    exec(compile("def held(fd):\n    return os.read(fd, 1)\n", path, "exec"), space)
    held: Callable[[int], bytes] = space["held"]
    return held


def test_a_round_held_in_an_installed_package_the_bot_called_is_not_cut_there(
    signals: list[int],
) -> None:
    # A bot calls a package that holds the loop once (say hypothesis' collector callback
    # in a slow collection, a driver's blocking call): the signal lands in the package's
    # frame. A raise there would leave that package's state half-updated; the bot's own
    # frame then goes on to an await (it does not spin), so nothing fails.
    held = _installed_package_function()
    read_end, write_end = os.pipe()
    wait = once_signalled(signals)

    def release() -> None:
        wait()
        os.write(write_end, b"x")

    async def bot() -> bytes:
        await trio.sleep(1)  # virtual time: some rounds first
        threading.Thread(target=release, daemon=True).start()
        got = held(read_end)
        await trio.sleep(1)
        return got

    try:
        with watchdog(LIMIT) as instruments:
            got = trio.run(bot, clock=MockClock(autojump_threshold=0), instruments=instruments)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert got == b"x"
    assert len(signals) >= 2


def test_whose_code_a_frame_runs() -> None:
    here = sys._getframe()
    assert owned_frame(here) == ("bot", here)  # a test, like a bot, is neither
    # pytest's frame that called this test: an installed package, whose callers decide,
    # unless it is the bot's own.
    caller = sys._getframe(1)
    assert str(caller.f_globals["__name__"]).startswith(("_pytest", "pluggy"))
    found = owned_frame(caller)
    assert found is None or found[1] is not caller
    assert owned_frame(caller, bot_modules=["_pytest", "pluggy"]) == ("bot", caller)
    # Code of the simulator's modules (or trio's) is the simulator's, wherever it runs.
    for module in ("simulator.server.session", "trio._core._run"):
        space: dict[str, Any] = {"__name__": module, "sys": sys}
        exec("frame = sys._getframe()", space)
        assert owned_frame(space["frame"]) == ("simulator", space["frame"])
