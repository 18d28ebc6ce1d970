"""The fault examples (``scenarios/fault_*.yaml``): the resilient bot passes each (the
example tests run every example with its own bot), the naive bot fails each, and the
failure report names the fault that broke it."""

from __future__ import annotations

from typing import cast

import pytest

from scenarios.bots import naive
from simulator.scenario import BotFunction, run_file
from tests.scenario.conftest import EXAMPLES
from tests.scenario.test_examples import run_broken

FAULT_LINES = "faults of this run, most recent first:"


def faults_named(head: list[str]) -> list[str]:
    """The lines of the report's fault list."""
    listed = head[head.index(FAULT_LINES) + 1 :] if FAULT_LINES in head else []
    return [line for line in listed if line]


@pytest.mark.parametrize(
    ("name", "summary", "fault"),
    [
        (
            "fault_stream_error.yaml",
            "at steps[3]: alice did not receive the expected <message> within 1m",
            "fault #1 [stream:error ack <message/> from the server for 491119999999@s.whatsapp.net"
            " (1 times)] stream-error to bot: <message",
        ),
        (
            "fault_throttle.yaml",
            "at steps[1]: the bot raised ExceptionGroup",
            'fault #1 [throttle backoff 30 <iq xmlns="urn:xmpp:whatsapp:sync"/> to the server for'
            " 491119999999@s.whatsapp.net (1 times)] throttle from bot: <iq",
        ),
        (
            "fault_duplicate.yaml",
            "at the end: alice received 1 <message> no step expected",
            "fault #1 [duplicate <message/> from the server for 491119999999@s.whatsapp.net"
            " (1 times)] duplicate to bot: <message",
        ),
        (
            "fault_restart.yaml",
            "at steps[4]: alice did not receive the expected <message> within 5s",
            "restart (2 connections dropped)",
        ),
    ],
)
def test_the_naive_bot_fails_each_fault_and_the_report_names_it(
    name: str, summary: str, fault: str
) -> None:
    _result, head, transcript = run_broken(name, cast("BotFunction", naive.run))  # a bot(connect)
    assert summary in head[0]
    (named,) = faults_named(head)
    assert named.startswith("at 0.000s ")
    assert named.removeprefix("at 0.000s ").startswith(fault)
    assert f"-- {named.removeprefix('at 0.000s ')}" in transcript  # marked where it hit


def test_the_resilient_bot_logs_in_again_by_itself() -> None:
    result = run_file(EXAMPLES / "fault_restart.yaml")
    assert result.passed, result.report
    assert "bot logged in again (reconnect)" in result.transcript_text
