"""The example scenarios against deliberately broken bots: each failure report must point at
the step, show the expectation next to the nearest candidate, and carry the transcript."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from simulator.scenario import (
    BotFunction,
    ScenarioResult,
    collect_paths,
    load_scenario,
    run_file,
    run_scenario_sync,
)
from tests.scenario.bots import broken_helpdesk, broken_moderator, broken_reminder
from tests.scenario.conftest import EXAMPLES


def run_broken(name: str, bot: BotFunction) -> tuple[ScenarioResult, list[str], str]:
    """Run an example with ``bot``: the result, the report's head lines, its transcript."""
    result = run_file(EXAMPLES / name, bot_override=bot)
    assert not result.passed
    report = result.report.replace(str(EXAMPLES), "scenarios")
    head, _, transcript = report.partition("\ntranscript up to the failure")
    return result, head.split("\n"), transcript


@pytest.mark.parametrize("path", collect_paths([EXAMPLES]), ids=lambda p: p.name)
def test_every_example_passes_quickly_with_its_own_bot(path: Path) -> None:
    wall = time.perf_counter()
    result = run_file(path)
    assert result.passed, result.report
    assert result.steps_run == result.steps_total
    wall = time.perf_counter() - wall
    print(f"{path.name}: {result.virtual_seconds:.0f}s virtual, {wall:.3f}s wall")


@pytest.mark.parametrize("path", collect_paths([EXAMPLES]), ids=lambda p: p.name)
def test_every_example_gives_the_same_transcript_twice(path: Path) -> None:
    scenario = load_scenario(path)
    first, second = run_scenario_sync(scenario), run_scenario_sync(scenario)
    assert first.transcript_text == second.transcript_text


def test_a_moderator_that_never_removes() -> None:
    result, head, transcript = run_broken("moderator.yaml", broken_moderator.never_removes)
    assert result.steps_run == 7
    assert head[0] == (
        "FAILED scenarios/moderator.yaml:22: at steps[7]: the server (from the bot) did not"
        " receive the expected <iq> within 5s"
    )
    assert head[2:4] == [
        "step:",
        '  - expect: {to: server, iq: {type: set, to: team, xmlns: "w:g2", child: remove}}',
    ]
    # The nearest candidate is the bot's other iq: it looked the group up, then stopped.
    assert head[5:15] == [
        "  expected (server receives)            nearest of the 1 unmatched <iq>, received"
        " before the previous step began (at +00:00:00.000)",
        "  <iq                                 | <iq",
        '!   type="set"                        !   type="get"',
        '    xmlns="w:g2"                      |   xmlns="w:g2"',
        '    to="491110000001-1400000000@g.us" |   to="491110000001-1400000000@g.us"',
        '                                      |   id="1420070400-265431489"',
        "!   <remove/>                         !",
        '                                      |   <query request="interactive"/>',
        "  </iq>                               | </iq>",
        "  (rows marked ! differ)",
    ]
    assert 'first difference: iq@type: expected "set", got "get"' in head
    # The transcript shows the announcement that nothing backed.
    assert (
        '  +00:00:00.000  bot   --> tx  <message to="491110000001-1400000000@g.us" type="text"'
        ' id="1420070400-265431490"><body>Removed Carol: no casino talk here.</body></message>\n'
    ) in transcript
    assert "<remove>" not in transcript
    assert transcript.endswith(
        "  +00:00:05.000  -- FAILED: the server (from the bot) did not receive the expected"
        " <iq> within 5s"
    )


def test_a_reminder_an_hour_late() -> None:
    result, head, transcript = run_broken("reminder.yaml", broken_reminder.an_hour_late)
    assert result.steps_run == 9
    assert head[0] == (
        "FAILED scenarios/reminder.yaml:28: at steps[9]: the next <message> alice received"
        " does not match"
    )
    assert head[3] == (
        '  - expect: {to: alice, message: {from: bot, body: "Reminder: drink water",'
        " t: 1420072200, offline: true}}"
    )
    assert head[5:10] == [
        "  expected (alice receives)              the next <message> no step had matched"
        " (at +03:29:00.000)",
        "  <message                             | <message",
        '    from="491119999992@s.whatsapp.net" |   from="491119999992@s.whatsapp.net"',
        '!   t="1420072200"                     !   t="1420075800"',
        '    offline="1"                        |   offline="1"',
    ]
    assert 'first difference: message@t: expected "1420072200", got "1420075800"' in head
    # Sent at 01:30, an hour after it was due; kept for Alice until her login at 03:29.
    assert (
        '  +01:30:00.000  bot   --> tx  <message to="491110000001@s.whatsapp.net" type="text"'
        ' id="1420070400-265431491"><body>Reminder: drink water</body></message>\n'
    ) in transcript


def test_a_help_desk_that_marks_the_wrong_message_read() -> None:
    result, head, transcript = run_broken(
        "offline_receipts.yaml", broken_helpdesk.reads_the_wrong_message
    )
    assert result.steps_run == 10
    assert head[0] == (
        "FAILED scenarios/offline_receipts.yaml:32: at steps[10].unordered[2]: the server"
        " (from the bot) did not receive the expected <receipt> within 5s"
    )
    assert '      - {to: server, receipt: {id: "{{m1}}", type: read}}' in head
    table = head.index(
        "  expected (server receives)    nearest of the 2 unmatched <receipt>, received before"
        " the previous step began (at +01:00:00.000)"
    )
    assert head[table + 1 : table + 5] == [
        "  <receipt                    | <receipt",
        '!   id="1420070400-265431489" !   id="1420074000-239465729"',
        '    type="read"               |   type="read"',
        '                              |   to="491110000001@s.whatsapp.net"',
    ]
    assert (
        'first difference: receipt@id: expected "1420070400-265431489", got "1420074000-239465729"'
    ) in head
    assert (
        '  +01:00:00.000  bot   --> tx  <receipt to="491110000001@s.whatsapp.net"'
        ' id="1420074000-239465729" type="read"/>\n'
    ) in transcript
