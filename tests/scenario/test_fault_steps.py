"""Fault steps (``fault``, ``release``, ``clear_faults``, ``restart``): checked with file:line
like every step, run against the server's fault model, marked in the transcript and named
in failure reports."""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

from simulator.scenario import run_file, validate_files
from tests.scenario.conftest import EXAMPLES, WriteScenario

USERS = """
- login: alice
- login: bob
"""


def problems(path: Path) -> list[str]:
    return [str(p).replace(f"{path}:", "") for p in validate_files([path])]


def test_bad_fault_steps_are_problems_at_their_lines_in_one_pass(write: WriteScenario) -> None:
    path = write(
        USERS
        + dedent(
            """
        - fault: {drop: message frm alice}
        - fault: {drop: message from carol}
        - fault: {vanish: message}
        - fault: {delay: receipt to bob}
        - fault: {drop: "<message", times: 0}
        - fault: {stream_error: anything to bob, reason: goodbye}
        - release: nothing
        - clear_faults: held
        - fault: {hold: message to bob, as: held}
        - release: held
        - clear_faults: held
        """
        ),
        bot="",
    )
    found = problems(path)
    assert found[0].startswith("11: at steps[2].fault.drop: cannot read the selector")
    assert found[1].startswith("12: at steps[3].fault.drop: unknown user 'carol'")
    assert found[2].startswith("13: at steps[4].fault.vanish: ")
    assert found[3] == "14: at steps[5].fault.delay: the delay fault needs seconds"
    assert found[4].startswith("15: at steps[6].fault.times: Input should be greater than")
    assert found[5].startswith(
        "16: at steps[7].fault.reason: 'goodbye' is not one of system-shutdown"
    )
    assert found[6] == "17: at steps[8].release: no fault step before this one is named 'nothing'"
    assert found[7] == (
        "18: at steps[9].clear_faults: no fault step before this one is named 'held' (or say all)"
    )
    assert len(found) == 8


def test_a_reason_or_code_the_action_cannot_take_is_a_problem(write: WriteScenario) -> None:
    path = write(
        USERS
        + dedent(
            """
            - fault: {stream_error: message to bob, reason: not-authorized}
            - fault: {refuse_login: bob, reason: conflict}
            - fault: {drop: message to bob, reason: ack}
            - fault: {iq_error: iq from bob, code: 42}
            """
        ),
        bot="",
    )
    assert problems(path) == [
        "11: at steps[2].fault.reason: 'not-authorized' is not a reason of stream_error"
        " (conflict, ack, xml-not-well-formed, system-shutdown)",
        "12: at steps[3].fault.reason: 'conflict' is not a reason of refuse_login"
        " (not-authorized, temporarily-unavailable)",
        "13: at steps[4].fault.reason: 'ack' is not a reason of drop (no reason for drop)",
        "14: at steps[5].fault.code: Input should be greater than or equal to 100",
    ]


def test_a_bad_pattern_is_a_problem(write: WriteScenario) -> None:
    path = write(USERS + "- fault: {drop: '<message to=>' }\n", bot="")
    (found,) = problems(path)
    assert found.startswith("10: at steps[2].fault.drop: the stanza pattern '<message to=>'")


FAULTS = (
    USERS
    + """
- fault: {drop: message from alice, times: 1}
- send: {from: alice, to: bob, text: lost}
- expect_none: {to: bob, message: {}}
- fault: {hold: message to bob, as: held}
- send: {from: alice, to: bob, text: held}
- expect_none: {to: bob, message: {}}
- release: held
- expect: {to: bob, message: {from: alice, body: held}}
- clear_faults: all
- fault: {duplicate: message to bob, times: 1}
- send: {from: alice, to: bob, text: twice}
- expect: {to: bob, message: {from: alice, body: twice}}
- restart: {}
- send: {from: alice, to: bob, text: after}
- expect: {to: bob, message: {from: alice, body: after}}
"""
)


def test_faults_act_and_the_transcript_marks_each_hit_the_same_every_run(
    write: WriteScenario,
) -> None:
    path = write(FAULTS, bot="")
    result = run_file(path)
    assert result.passed, result.report
    text = result.transcript_text
    assert "fault #1 set: drop <message/> to the server for 491110000001@s.whatsapp.net" in text
    assert (
        "fault #1 [drop <message/> to the server for 491110000001@s.whatsapp.net (1 times)]" in text
    )
    assert "drop from alice: <message" in text and "<body>lost</body>" in text
    assert "hold to bob: <message" in text
    assert "fault #2 (held) releases 1 stanzas" in text
    assert "duplicate to bob: <message" in text
    rx = [line for line in text.splitlines() if "bob   <-- rx" in line and ">twice<" in line]
    assert len(rx) == 2  # the service sent it twice (bob's client tells the copy apart)
    assert "restart (2 connections dropped)" in text
    assert "alice logged in again (reconnect)" in text
    assert "bob logged in again (reconnect)" in text
    assert not [line for line in text.splitlines() if "bob   <-- rx" in line and ">lost<" in line]
    assert run_file(path).transcript_text == text


def test_a_failure_lists_the_fault_hits_most_recent_first(write: WriteScenario) -> None:
    path = write(
        USERS
        + dedent(
            """
        - fault: {drop: message from alice, times: 1}
        - fault: {delay: receipt to alice, seconds: 1}
        - send: {from: alice, to: bob, text: one}
        - send: {from: alice, to: bob, text: two}
        - expect: {to: bob, message: {from: alice, body: one}}
        """
        ),
        bot="",
    )
    result = run_file(path)
    assert not result.passed
    assert result.failure is not None
    details = list(result.failure.details)
    start = details.index("faults of this run, most recent first:")
    hits = details[start + 1 :]
    assert len(hits) == 2
    assert "fault #2 [delay 1s <receipt/> from the server for 491110000001" in hits[0]
    assert "fault #1 [drop <message/> to the server for 491110000001" in hits[1]
    assert "<body>one</body>" in hits[1]
    assert "faults of this run, most recent first:" in result.report


def test_suspend_ends_the_session_and_is_in_the_transcript(write: WriteScenario) -> None:
    path = write(
        "- login: alice\n- fault: {suspend: alice, as: ban}\n- clear_faults: ban\n", bot=""
    )
    result = run_file(path)
    assert result.passed, result.report
    text = result.transcript_text
    assert "fault: suspend alice" in text
    assert "stream-error to alice" in text
    assert "alice's session #1 dropped" in text


def test_the_fault_examples_of_the_readme_are_valid_steps(write: WriteScenario) -> None:
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    start = readme.index("## Faults")
    section = readme[start : readme.index("\n## ", start)]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 10
    assert all(len(block.strip().splitlines()) == 2 for block in blocks)  # two lines each
    keys = {m for block in blocks for m in re.findall(r"- fault: \{(\w+):", block)}
    assert keys == {
        "drop", "delay", "duplicate", "hold", "reorder", "iq_error", "throttle",
        "stream_error", "disconnect", "refuse_login", "expire", "suspend", "latency",
        "random",
    }  # fmt: skip
    steps = "- login: alice\n" + "".join(blocks)
    assert problems(write(steps, bot="tests.scenario.bots.broken:shouting")) == []


def test_a_fault_on_the_stanza_the_report_shows_is_marked(write: WriteScenario) -> None:
    path = write(
        USERS
        + dedent(
            """
            - fault: {delay: message to bob, seconds: 2, times: 1}
            - fault: {duplicate: receipt to alice, times: 1}
            - send: {from: alice, to: bob, text: late}
            - expect: {to: bob, message: {from: alice, body: early}}
            """
        ),
        bot="",
    )
    result = run_file(path)
    assert result.failure is not None and result.failure.candidate is not None
    details = list(result.failure.details)
    hits = details[details.index("faults of this run, most recent first:") + 1 :]
    marked = [line for line in hits if line.endswith("(the stanza shown above)")]
    assert len(marked) == 1 and "delay to bob" in marked[0], hits
