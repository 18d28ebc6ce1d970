"""A server bug during a scenario run fails the run with the traceback, whatever the steps."""

from __future__ import annotations

import pytest

from simulator.scenario import run_file
from simulator.server import HandlerContext
from simulator.server.flows import messages
from simulator.wire.node import Node
from tests.scenario.conftest import WriteScenario


async def _crashing_message_handler(ctx: HandlerContext, node: Node) -> None:
    raise KeyError("a bug in the message flow")


def test_a_handler_bug_fails_the_run_with_its_traceback_and_stanza(
    write: WriteScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "handle_message", _crashing_message_handler)
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: hello}
        - wait: 1s
        """,
        bot="tests.scenario.bots.broken:shouting",
    )
    result = run_file(path)
    assert not result.passed
    assert result.failure is not None
    assert result.failure.summary.startswith("the simulator hit a server bug")
    details = "\n".join(result.failure.details)
    assert "KeyError: 'a bug in the message flow'" in details
    assert "in _crashing_message_handler" in details
    assert "<body>hello</body>" in details
    assert "server bug" in result.report
