"""An in-process bot that never yields to the event loop (a loop that never awaits) fails
the run, saying so and where, through a wall-clock watchdog: in ``simulator run``, and so
in ``simulator explore``, which finds it and shrinks it to a file that replays red. A
correct bot never trips it (every other scenario test runs with it armed)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from simulator.cli import main
from simulator.scenario import run_file
from simulator.scenario.watchdog import NotYielding, watchdog
from tests.scenario.conftest import WriteScenario

SPINNER = "scenarios.bots.spinner:run"
LIMIT = 0.5
STEPS = """
- login: alice
- send: {from: alice, to: echo, text: hello there}
- expect: {to: alice, message: {from: echo, body: hello there}}
- send: {from: alice, to: echo, text: supercalifragilistic}
- expect: {to: alice, message: {from: echo}}
"""
SUMMARY = (
    f"the bot has run for {LIMIT:g} s of wall time without yielding to the event loop"
    " (a loop that never awaits?) at "
)


def test_a_bot_that_never_yields_fails_the_step_saying_where(write: WriteScenario) -> None:
    result = run_file(write(STEPS, bot=SPINNER), yield_limit=LIMIT)
    assert not result.passed
    assert result.failure is not None and result.failure.where is not None
    assert result.failure.where.step == "steps[3]"  # the send the bot spins on
    assert result.failure.summary.startswith(SUMMARY)
    assert "spinner.py:" in result.failure.summary  # the line of the bot's loop
    assert "every await" in result.report
    # What came before the spin is in the transcript as usual.
    assert "<body>hello there</body>" in result.report


def test_simulator_run_fails_with_the_message(
    capsys: pytest.CaptureFixture[str], write: WriteScenario
) -> None:
    path = write(STEPS, bot=SPINNER)
    assert main(["run", str(path), "--yield-limit", str(LIMIT)]) == 1
    out = capsys.readouterr().out
    assert SUMMARY in out and "spinner.py:" in out
    assert main(["run", str(path), "--yield-limit", "0"]) == 1
    assert "--yield-limit must be more than 0" in capsys.readouterr().err


def test_the_watchdog_arms_only_on_the_main_thread(write: WriteScenario) -> None:
    # Off the main thread no signal handler can be set: the run has no watchdog (a
    # correct bot runs as usual there).
    path = write(STEPS.split("- send: {from: alice, to: echo, text: super")[0], bot=SPINNER)
    results = []
    worker = threading.Thread(target=lambda: results.append(run_file(path, yield_limit=LIMIT)))
    worker.start()
    worker.join()
    assert results[0].passed, results[0].report


def test_explore_finds_the_spinning_bot_and_shrinks_it(tmp_path: Path) -> None:
    pytest.importorskip("hypothesis")
    from simulator.explore import explore_bot

    examples = Path(__file__).resolve().parents[2] / "scenarios"
    found = explore_bot(
        "bots.spinner:run", search=[examples], seed=0, out=tmp_path, yield_limit=0.2
    )
    assert found.finding is not None and found.steps is not None
    assert found.finding.summary.startswith("the bot has run for 0.2 s of wall time")
    assert len(found.steps) <= 5
    assert found.path is not None
    replay = run_file(found.path, yield_limit=LIMIT)  # replays red with `simulator run`
    assert not replay.passed
    assert replay.failure is not None
    assert replay.failure.summary.startswith(SUMMARY)


def test_the_watchdog_raises_in_the_loop_that_holds_the_event_loop() -> None:
    async def spin() -> None:
        await trio.sleep(1)  # virtual time: some rounds first
        while True:
            pass

    before = signal.getsignal(signal.SIGUSR1)
    with watchdog(0.2) as instruments, pytest.raises(NotYielding) as raised:
        trio.run(spin, clock=MockClock(autojump_threshold=0), instruments=instruments)
    assert raised.value.limit == 0.2
    assert raised.value.where.startswith(f"{__file__}:")
    assert signal.getsignal(signal.SIGUSR1) is before  # put back


def test_a_stray_signal_does_not_stop_a_run() -> None:
    async def run() -> int:
        os.kill(os.getpid(), signal.SIGUSR1)
        await trio.sleep(1)
        return 7

    with watchdog(10.0) as instruments:
        assert trio.run(run, clock=MockClock(autojump_threshold=0), instruments=instruments) == 7
