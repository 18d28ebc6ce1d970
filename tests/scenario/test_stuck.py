"""A bot that stops handling events fails the run with that said, in ``simulator run``
(and so in ``simulator explore``), while the client library still answers the pings;
bots that wait in the library (for some events only, or for the end) are not stuck."""

from __future__ import annotations

import pytest

from simulator.scenario import run_file
from simulator.scenario.runner import STUCK_AFTER
from tests.scenario.conftest import WriteScenario

STUCK = "tests.scenario.bots.stuck"


def test_a_blocked_bot_fails_the_expectation_that_waits_for_it_saying_why(
    write: WriteScenario,
) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: echo, text: help}
        - send: {from: alice, to: echo, text: hello}
        - expect: {to: alice, message: {from: echo, body: hello}, within: 10s}
        """,
        bot=f"{STUCK}:blocked_on_help",
    )
    result = run_file(path)
    assert not result.passed
    assert result.failure is not None
    summary = result.failure.summary
    assert summary.startswith("the bot stopped handling events: stuck since 0s into the run")
    assert "events waiting for it" in summary
    assert "alice did not receive" in summary or "within 10s" in summary  # the step's own
    assert "pings" in result.report  # why the pings did not tell


def test_a_blocked_bot_fails_the_run_once_events_waited_long_enough(write: WriteScenario) -> None:
    path = write(
        f"""
        - login: alice
        - send: {{from: alice, to: echo, text: help}}
        - send: {{from: alice, to: echo, text: hello}}
        - server: {{ping: echo}}
        - wait: {int(STUCK_AFTER) + 1}s
        - send: {{from: alice, to: echo, text: never read}}
        """,
        bot=f"{STUCK}:blocked_on_help",
    )
    result = run_file(path)
    assert not result.passed  # the ping passed: the library answers it by itself
    assert result.failure is not None and result.failure.where is not None
    assert result.failure.where.step == "steps[4]"
    assert "stopped handling events: stuck since 0s into the run" in result.failure.summary


@pytest.mark.parametrize("bot", ["only_waits_for_texts", "callbacks_only"])
def test_a_bot_waiting_in_the_library_is_not_stuck(write: WriteScenario, bot: str) -> None:
    path = write(
        """
        - login: alice
        - typing: {from: alice, to: echo}
        - send: {from: alice, to: echo, text: hello}
        - wait: 1d
        - server: {ping: echo}
        """,
        bot=f"{STUCK}:{bot}",
        head="options: {strict: []}\n",
    )
    result = run_file(path)
    assert result.passed, result.report


def test_a_bot_that_only_waits_is_not_stuck_either(write: WriteScenario) -> None:
    # The echo bot with nothing to do for a day, then something.
    path = write(
        """
        - login: alice
        - wait: 1d
        - send: {from: alice, to: echo, text: hello}
        - expect: {to: alice, message: {from: echo, body: hello}}
        """,
        bot="tests.scenario.bots.broken:echo",
    )
    assert run_file(path).passed
