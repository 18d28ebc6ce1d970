"""Running scenarios: virtual time, reports that show what went wrong, determinism, bots."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import trio
import trio.testing

from simulator.errors import StepFailed
from simulator.scenario import (
    CommandBot,
    InProcessBot,
    collect_paths,
    import_bot,
    load_scenario,
    run_file,
    run_scenario,
    run_scenario_sync,
)
from tests.scenario.conftest import EXAMPLES, FILES, HERE, WriteScenario

ECHO_STEPS = """
- login: alice
- send: {from: alice, to: bot, text: hello}
- expect:
    to: alice
    message: {from: bot, body: hello}
"""


def report_head(report: str, path: Path) -> str:
    """The report up to the transcript, with the temporary path shortened."""
    return (
        report.split("\ntranscript up to the failure")[0]
        .rstrip("\n")
        .replace(str(path), "scenario.yaml")
    )


@pytest.mark.parametrize("path", collect_paths([EXAMPLES]), ids=lambda p: p.name)
def test_the_examples_pass(path: Path) -> None:
    result = run_file(path)
    assert result.passed, result.report
    assert (result.report, result.failure) == ("", None)
    assert result.steps_run == result.steps_total


def test_a_wrong_answer_shows_step_expectation_nearest_candidate_and_transcript(
    write: WriteScenario,
) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:shouting")
    result = run_file(path)
    assert not result.passed
    assert result.steps_run == 2
    assert report_head(result.report, path) == "\n".join(
        [
            "FAILED scenario.yaml:13: at steps[2]: the next <message> alice received does not"
            " match",
            "",
            "step:",
            "  - expect:",
            "      to: alice",
            "      message: {from: bot, body: hello}",
            "",
            "  expected (alice receives)              the next <message> no step had matched (at"
            " +00:00:00.000)",
            "  <message                             | <message",
            '    from="491119999999@s.whatsapp.net" |   from="491119999999@s.whatsapp.net"',
            '                                       |   type="text"',
            '                                       |   id="1420070400-265431489"',
            '                                       |   t="1420070400"',
            '                                       |   notify="Echo"',
            '                                       |   offline="0"',
            "!   <body>hello</body>                 !   <body>HELLO</body>",
            "  </message>                           | </message>",
            "  (rows marked ! differ)",
            "",
            'first difference: message/body: expected data "hello", got "HELLO"',
        ]
    )
    transcript = result.report.split("\ntranscript up to the failure")[1]
    assert (
        '  +00:00:00.000  alice --> tx  <message to="491119999999@s.whatsapp.net" type="text"'
        ' id="1420070400-239465729"><body>hello</body></message>\n'
    ) in transcript
    assert (
        '  +00:00:00.000  alice <-- rx  <message from="491119999999@s.whatsapp.net" type="text"'
        ' id="1420070400-265431489" t="1420070400" notify="Echo"'
        ' offline="0"><body>HELLO</body></message>\n'
    ) in transcript
    assert transcript.endswith(
        "  +00:00:00.000  -- steps[2]: expect alice <- <message"
        ' from="491119999999@s.whatsapp.net"><body>hello</body></message>\n'
        "  +00:00:00.000  -- FAILED: the next <message> alice received does not match"
    )


def test_a_bot_that_never_answers_times_out_in_virtual_time(write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:silent")
    wall = time.perf_counter()
    result = run_file(path)
    print(f"5 virtual seconds of waiting took {time.perf_counter() - wall:.3f}s of wall time")
    assert result.virtual_seconds == 5
    assert report_head(result.report, path) == "\n".join(
        [
            "FAILED scenario.yaml:13: at steps[2]: alice did not receive the expected <message>"
            " within 5s",
            "",
            "step:",
            "  - expect:",
            "      to: alice",
            "      message: {from: bot, body: hello}",
            "",
            "  expected (alice receives)                      alice received no <message> that no"
            " step had matched",
            '  <message from="491119999999@s.whatsapp.net"> |',
            "    <body>hello</body>                         |",
            "  </message>                                   |",
            "                                               | (nothing)",
            "",
            "other stanzas no step matched: <ack>, <ib>, <presence>, <receipt>",
        ]
    )
    assert result.report.endswith(
        "  +00:00:05.000  -- FAILED: alice did not receive the expected <message> within 5s"
    )


def test_the_nearest_candidate_is_the_most_similar_unmatched_stanza(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: one}
        - send: {from: alice, to: bot, text: two}
        - unordered:
            - {to: alice, message: {body: ONE}}
            - {to: alice, message: {body: TWO, type: media}}
        """,
        bot="tests.scenario.bots.broken:shouting",
    )
    result = run_file(path)
    failure = result.failure
    assert failure is not None
    assert failure.where is not None
    assert (failure.where.step, failure.where.line) == ("steps[3].unordered[1]", 16)
    assert failure.summary == "alice did not receive the expected <message> within 5s"
    assert failure.candidate is not None
    assert failure.candidate.child("body") is not None
    assert failure.candidate_note == "nearest of the 1 unmatched <message>"
    assert failure.difference == 'message@type: expected "media", got "text"'


def test_strict_order_for_messages_with_a_hint(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: hi}
        - expect: {to: alice, message: {body: again}}
        """,
        bot="tests.scenario.bots.broken:twice",
    )
    failure = run_file(path).failure
    assert failure is not None
    assert failure.summary == "the next <message> alice received does not match"
    assert failure.difference == 'message/body: expected data "again", got "hi"'
    assert failure.details == (
        "hint: a matching <message> arrived later (at +00:00:00.000): <message> stanzas are matched"
        " in the order they came (options.strict); use `unordered` if the order does not matter",
    )


def test_unexpected_messages_left_at_the_end_fail(write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:twice")
    result = run_file(path)
    assert report_head(result.report, path) == "\n".join(
        [
            "FAILED scenario.yaml:1: at the end: alice received 1 <message> no step expected",
            "",
            "unexpected (checked at the end for the tags in options.strict: message):",
            '  +00:00:00.000  <message from="491119999999@s.whatsapp.net" type="text"'
            ' id="1420070400-265431490"'
            ' t="1420070400" notify="Echo" offline="0"><body>again</body></message>',
            "add an expectation for each, or change options.strict",
        ]
    )
    lenient = write(
        ECHO_STEPS, bot="tests.scenario.bots.broken:twice", head="options: {strict: []}\n"
    )
    assert run_file(lenient).passed


def test_a_crashing_bot_fails_the_step_with_its_traceback(write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:crashing")
    result = run_file(path)
    failure = result.failure
    assert failure is not None
    assert failure.summary == "the bot raised RuntimeError: the bot fell over"
    assert failure.where is not None and failure.where.step == "steps[1]"
    assert failure.details[0] == "bot traceback:"
    assert failure.details[-1] == "RuntimeError: the bot fell over"
    assert any("broken.py" in line and "in crashing" in line for line in failure.details)


def test_24_virtual_hours_take_no_wall_time() -> None:
    wall = time.perf_counter()
    result = run_file(EXAMPLES / "echo_next_day.yaml")
    elapsed = time.perf_counter() - wall
    print(f"24 virtual hours took {elapsed:.3f}s of wall time")
    assert result.passed, result.report
    assert result.virtual_seconds >= 24 * 3600
    assert "+1d 00:00:00.000  -- steps[5]: login alice" in result.transcript_text


def test_a_slow_bot_within_a_long_timeout(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: hello}
        - expect: {to: alice, message: {body: hello}, within: 2h}
        """,
        bot="tests.scenario.bots.broken:slow",
    )
    result = run_file(path)
    assert result.passed, result.report
    assert result.virtual_seconds == 3600


@pytest.mark.parametrize(
    "path", [EXAMPLES / "echo.yaml", FILES / "features.yaml"], ids=lambda p: p.name
)
def test_two_runs_give_identical_transcripts(path: Path) -> None:
    scenario = load_scenario(path)
    first, second, third = (run_scenario_sync(scenario) for _ in range(3))
    assert first.passed, first.report
    assert first.transcript_text == second.transcript_text == third.transcript_text
    assert len(first.transcript) > 20


def test_many_step_types_pass() -> None:
    result = run_file(FILES / "features.yaml")
    assert result.passed, result.report
    assert result.steps_run == result.steps_total == 33
    assert result.virtual_seconds == 610  # two optional expectations (5s each) and expect_none 10m


def test_optional_does_not_consume_what_it_does_not_match(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: hello}
        - expect: {to: alice, message: {body: nope}, optional: true}
        - expect: {to: alice, message: {body: HELLO}}
        - expect: {to: alice, message: {}, optional: true, within: 1m}
        """
    )
    result = run_file(path)
    assert result.passed, result.report
    assert result.virtual_seconds == 60


def test_expect_none_fails_when_it_comes(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - send: {from: alice, to: bot, text: hello}
        - expect_none: {to: alice, message: {from: bot}, within: 1h}
        """
    )
    failure = run_file(path).failure
    assert failure is not None
    assert failure.summary == "alice received a <message> the scenario says must not come"
    assert failure.expected_note == "must not come"
    assert failure.candidate is not None and failure.candidate.child("body") is not None


def test_iq_answers_are_matched(write: WriteScenario) -> None:
    path = write(
        """
        - login: alice
        - iq:
            from: alice
            node: '<iq type="get" xmlns="w:p" to="s.whatsapp.net"><ping/></iq>'
            result: '<iq type="error"/>'
        """
    )
    failure = run_file(path).failure
    assert failure is not None
    assert failure.summary == "the answer to alice's iq does not match"
    assert failure.difference == 'iq@type: expected "error", got "result"'
    assert failure.candidate_note == "the answer"


def test_server_actions_need_a_connected_party(write: WriteScenario) -> None:
    path = write("- server: {ping: alice}\n")
    failure = run_file(path).failure
    assert failure is not None
    assert failure.summary == "the server cannot ping alice: not connected"


def test_the_server_pings_the_bot(write: WriteScenario) -> None:
    path = write(
        "- server: {ping: {to: bot, within: 30s}}\n", bot="tests.scenario.bots.broken:silent"
    )
    result = run_file(path)
    assert result.passed, result.report  # the client library answers pings by itself
    assert (
        '<iq to="s.whatsapp.net" id="1420070400-ping-1" type="result"/>' in result.transcript_text
    )


def test_bot_override_with_a_function(write: WriteScenario) -> None:
    path = write(ECHO_STEPS, bot="tests.scenario.bots.broken:shouting")
    echo = import_bot("bots.echo:run", search=[EXAMPLES])
    assert run_file(path, bot_override=echo).passed
    assert run_file(path, bot_override=InProcessBot(target="echo", function=echo)).passed


def test_a_scenario_without_a_bot_program(write: WriteScenario) -> None:
    path = write(
        """
        name: no program
        world:
          accounts:
            - {phone: "491119999999", name: Echo}
        bot: {account: echo}
        steps:
          - wait: 1s
        """,
        raw=True,
    )
    failure = run_file(path).failure
    assert failure is not None
    assert failure.summary == (
        "the scenario names no bot program: give bot.python or bot.command in the file,"
        " or --bot / --bot-command"
    )


async def test_run_scenario_inside_a_test_with_the_autojump_clock(
    write: WriteScenario, autojump_clock: trio.testing.MockClock
) -> None:
    path = write(ECHO_STEPS + "- wait: 1d\n", bot="tests.scenario.bots.broken:shouting")
    start = trio.current_time()
    result = await run_scenario(
        load_scenario(path), bot_override=import_bot("bots.echo:run", search=[EXAMPLES])
    )
    assert result.passed, result.report
    assert trio.current_time() - start == 86400


async def test_external_bots_refuse_the_autojump_clock(
    write: WriteScenario, autojump_clock: trio.testing.MockClock
) -> None:
    scenario = load_scenario(write("- wait: 1s\n"))
    with pytest.raises(StepFailed, match="an external bot needs the real clock"):
        await run_scenario(scenario, bot_override=CommandBot(argv=("true",)))


# -------------------------------------------------------------------- external bots

TCP_ECHO = HERE / "bots" / "tcp_echo.py"


@pytest.mark.slow
def test_an_external_bot_over_tcp(write: WriteScenario) -> None:
    path = write(ECHO_STEPS + "- expect: {to: alice, receipt: {from: bot}}\n", bot="x:y")
    path.write_text(path.read_text().replace("python: x:y", f"command: [python, {TCP_ECHO}]"))
    result = run_file(path)
    assert result.passed, result.report
    assert result.bot_output == "logged in as 491119999999@s.whatsapp.net\n"


@pytest.mark.slow
def test_an_external_bot_that_exits(write: WriteScenario) -> None:
    path = write(ECHO_STEPS)
    override = CommandBot(argv=(sys.executable, str(TCP_ECHO), "--fail"))
    result = run_scenario_sync(load_scenario(path), bot_override=override)
    failure = result.failure
    assert failure is not None
    assert failure.summary == "the bot process exited with code 2"
    assert failure.where is not None and failure.where.step == "bot"
    assert failure.details == ("bot output:", "  cannot start: no configuration")


@pytest.mark.slow
def test_an_external_bot_with_time_scale(write: WriteScenario) -> None:
    path = write(ECHO_STEPS + "- wait: 1h\n")
    override = CommandBot(argv=(sys.executable, str(TCP_ECHO)))
    result = run_scenario_sync(load_scenario(path), bot_override=override, time_scale=0.0001)
    assert result.passed, result.report
    # On the real clock the scenario's time is real: the hour was scaled to 0.36 s.
    assert 0.36 <= result.virtual_seconds < 3600


def test_a_command_that_cannot_start(write: WriteScenario) -> None:
    path = write(ECHO_STEPS)
    override = CommandBot(argv=("/nonexistent/bot",))
    failure = run_scenario_sync(load_scenario(path), bot_override=override).failure
    assert failure is not None
    assert (
        failure.summary
        == "cannot start the bot command /nonexistent/bot: No such file or directory"
    )


def test_the_readme_example_passes(tmp_path: Path) -> None:
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    example = readme.split("## A complete file\n\n```yaml\n")[1].split("```")[0]
    path = tmp_path / "readme.yaml"
    path.write_text(example.replace("bots.echo:run", "scenarios.bots.echo:run"), "utf-8")
    result = run_file(path)
    assert result.passed, result.report
    assert result.virtual_seconds == 60 + 24 * 3600 + 5  # expect_none 1m, wait 24h, optional 5s


def test_the_transcript_marks_logins_drops_and_reconnects(write: WriteScenario) -> None:
    """A developer sees in the transcript when a session started, why it ended and that
    the party came back, next to the stanzas."""
    path = write(
        """
- login: alice
- server: {kill: bot}
- login: bot
- send: {from: alice, to: bot, text: hello}
- expect:
    to: alice
    message: {from: bot, body: HELLO}
""",
        bot="tests.scenario.bots.broken:shouting",
    )
    result = run_file(path)
    assert result.passed, result.report
    notes = [e.text for e in result.transcript if e.arrow == "--"]
    marks = [n for n in notes if "logged in" in n or "session #" in n]
    assert marks[0].startswith("bot logged in (session #")
    assert [m.split(" (session")[0] for m in marks[:4]] == [
        "bot logged in",
        "alice logged in",
        marks[2],
        "bot logged in again (reconnect)",
    ]
    assert marks[2].startswith("bot's session #")
    assert marks[2].endswith(" dropped: killed by the scenario")
