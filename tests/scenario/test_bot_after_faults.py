"""After a fault step that may end the bot's session (or a restart), ``login: bot`` starts
the bot unless it runs and ``logout: bot`` stops it if it runs: the file cannot know
whether the fault hit, nor whether the bot logged in again by itself."""

from __future__ import annotations

from pathlib import Path

from simulator.scenario import run_file, validate_files
from tests.scenario.conftest import EXAMPLES, WriteScenario

AFTER_A_FAULT = """
- login: alice
- fault: {stream_error: message to echo, times: 1}
- send: {from: alice, to: echo, text: hello}
- wait: 1m
- login: echo
- send: {from: alice, to: echo, text: again}
- expect: {to: alice, message: {from: echo, body: "/hello/"}, within: 1m}
- expect: {to: alice, message: {from: echo, body: "/again/"}, within: 1m}
"""


def problems(path: Path) -> list[str]:
    return [str(p).replace(f"{path}:", "") for p in validate_files([path])]


def test_a_bot_that_does_not_log_in_again_is_started(write: WriteScenario) -> None:
    path = write(AFTER_A_FAULT, bot="tests.scenario.bots.broken:echo")
    assert problems(path) == []
    result = run_file(path)
    assert result.passed, result.report
    assert (
        "the bot starts: tests.scenario.bots.broken:echo"
        in result.transcript_text.split("login bot (start it unless it runs)")[1]
    )


def test_a_bot_that_logs_in_again_by_itself_is_left_running(write: WriteScenario) -> None:
    path = write(AFTER_A_FAULT, bot="bots.resilient:run", name="resilient.yaml")
    (path.parent / "bots").symlink_to(EXAMPLES / "bots")
    result = run_file(path)
    assert result.passed, result.report
    text = result.transcript_text
    assert "the bot runs already" in text
    assert text.count("the bot starts") == 1


def test_a_fault_that_cannot_end_the_bot_s_session_leaves_login_a_problem(
    write: WriteScenario,
) -> None:
    path = write(
        """
        - fault: {drop: message to echo, times: 1}
        - login: echo
        - fault: {stream_error: message to alice, times: 1}
        - login: echo
        """
    )
    found = problems(path)
    assert len(found) == 2
    assert all("the bot is already running here" in p for p in found)


def test_logout_after_a_restart_stops_the_bot_only_if_it_runs(write: WriteScenario) -> None:
    path = write(
        """
        - restart: {}
        - logout: echo
        - login: echo
        - login: alice
        - send: {from: alice, to: echo, text: hi}
        - expect: {to: alice, message: {from: echo, body: hi}}
        """,
        bot="tests.scenario.bots.broken:echo",
    )
    assert problems(path) == []
    result = run_file(path)
    assert result.passed, result.report
    assert "the bot does not run (a fault or a restart ended it)" in result.transcript_text


def test_a_restart_logs_in_again_only_the_users_whose_session_was_live(
    write: WriteScenario,
) -> None:
    # The service had ended alice's session: she counts as logged out (as the file's
    # checks say), so the restart does not log her in, and her login step does.
    path = write(
        """
        - login: alice
        - login: bob
        - server: {kill: alice}
        - restart: {}
        - login: alice
        - send: {from: alice, to: bob, text: back}
        - expect: {to: bob, message: {from: alice, body: back}}
        """,
        bot="",
    )
    assert problems(path) == []
    result = run_file(path)
    assert result.passed, result.report
    text = result.transcript_text
    assert text.count("bob logged in again (reconnect)") == 1
