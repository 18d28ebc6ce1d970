"""Reports: transcripts, the side-by-side view, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from simulator.scenario import Entry, Failure, ScenarioResult, junit_xml, render_transcript
from simulator.scenario.plan import Where
from simulator.scenario.report import FULL_PAYLOADS, one_line, render_failure
from simulator.wire.node import Node

ENTRIES = (
    Entry(0.0, "", "--", "steps[0]: login alice"),
    Entry(0.0, "alice", "tx", '<presence type="available"/>'),
    Entry(90061.5, "bot", "rx", "<ping/>"),
)


def test_render_transcript() -> None:
    assert render_transcript(ENTRIES) == (
        "+00:00:00.000  -- steps[0]: login alice\n"
        '+00:00:00.000  alice --> tx  <presence type="available"/>\n'
        "+1d 01:01:01.500  bot   <-- rx  <ping/>"
    )
    assert render_transcript(ENTRIES, limit=1) == (
        "... 2 earlier lines left out\n+1d 01:01:01.500  bot   <-- rx  <ping/>"
    )


def test_long_binary_payloads_are_shortened_unless_asked_for_whole() -> None:
    """yowsup's key upload (200 one-time keys) is tens of KB: a transcript line shows its
    first bytes and its length; ``--full-payloads`` shows it whole. Text stays whole."""
    keys = bytes(range(256)) * 40
    upload = Node("iq", {"xmlns": "encrypt"}, [Node("list", data=keys), Node("type", data=b"\x05")])
    line = one_line(upload)
    assert line == (
        '<iq xmlns="encrypt"><list>hex:000102030405060708090a0b0c0d0e0f…(10240 bytes)</list>'
        "<type>hex:05</type></iq>"
    )
    text = Node("body", data="a long text " * 100)
    assert one_line(text) == text.to_text()
    token = FULL_PAYLOADS.set(True)
    try:
        assert one_line(upload) == upload.to_text()
        assert Node.parse(one_line(upload)) == upload
    finally:
        FULL_PAYLOADS.reset(token)


def test_one_line_escapes_line_breaks() -> None:
    node = Node("vcard", data="BEGIN\nEND\t")
    assert one_line(node) == "<vcard>BEGIN&#xA;END&#x9;</vcard>"
    assert Node.parse(one_line(node)) == node


def test_a_failure_without_a_candidate_or_step() -> None:
    failure = Failure(summary="something broke", where=None, at=1.0, details=("a hint",))
    assert render_failure(failure, ENTRIES[:1]) == (
        "FAILED something broke\n\na hint\n\n"
        "transcript up to the failure"
        " (virtual time; --> tx: sent to the server, <-- rx: received):\n"
        "  +00:00:00.000  -- steps[0]: login alice"
    )


def result(passed: bool, name: str = "echo answers") -> ScenarioResult:
    where = Where(path="scenarios/echo.yaml", line=12, step="steps[2]", source="- wait: 1s")
    failure = (
        None if passed else Failure(summary="alice did not receive <message>", where=where, at=5.0)
    )
    return ScenarioResult(
        name=name,
        path=Path("scenarios/echo.yaml"),
        line=2,
        passed=passed,
        failure=failure,
        transcript=ENTRIES,
        virtual_seconds=5.0,
        wall_seconds=0.25,
        report="" if passed else "FAILED ... the report",
        bot_output="" if passed else "Traceback...",
    )


def test_junit_xml() -> None:
    root = ET.fromstring(junit_xml([result(True), result(False, "echo fails")]))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("2", "1", "0.500")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name"), c.get("file"), c.get("line")) for c in cases] == [
        ("scenarios.echo", "echo answers", "scenarios/echo.yaml", "2"),
        ("scenarios.echo", "echo fails", "scenarios/echo.yaml", "2"),
    ]
    assert cases[0].find("failure") is None
    failed = cases[1].find("failure")
    assert failed is not None
    assert failed.get("message") == "alice did not receive <message>"
    assert failed.text == "FAILED ... the report"
    out = cases[1].find("system-out")
    assert out is not None and out.text == render_transcript(ENTRIES)
    err = cases[1].find("system-err")
    assert err is not None and err.text == "Traceback..."


def test_transcript_columns_line_up_when_a_name_holds_an_emoji() -> None:
    from simulator.scenario.report import Entry, display_width, render_transcript

    assert [display_width(t) for t in ("bob", "☕ bar", "é", "e\u0301", "日本")] == [3, 6, 1, 1, 4]
    text = render_transcript(
        [Entry(0.0, "☕ bar", "tx", "<a/>"), Entry(0.0, "alice", "rx", "<b/>")]
    )
    first, second = text.split("\n")
    arrow = [
        display_width(line[: line.index(" -->" if "-->" in line else " <--")])
        for line in (first, second)
    ]
    assert arrow[0] == arrow[1]
    assert second.endswith("alice  <-- rx  <b/>")
