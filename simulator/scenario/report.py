"""What a run tells people: the transcript, the failure report, JUnit XML.

A failure report reads top to bottom like this::

    FAILED scenarios/echo.yaml:13: at steps[2]: the next <message> alice received does not match

    step:
      - expect:
          to: alice
          message: {from: bot, body: hello}

      expected (alice receives)              the next <message> no step had matched (at +00:00:00)
      <message                             | <message
        from="491119999999@s.whatsapp.net" |   from="491119999999@s.whatsapp.net"
                                           |   type="text"
                                           |   id="1420070400-54719953"
    !   <body>hello</body>                 !   <body>HELLO</body>
      </message>                           | </message>
      (rows marked ! differ)

    first difference: message/body: expected data "hello", got "HELLO"

    transcript up to the failure (virtual time; --> tx: sent to the server, <-- rx: received):
      +00:00:00.000  alice --> tx  <message to="491119999999@s.whatsapp.net" ...>...</message>
      +00:00:00.000  alice <-- rx  <message from="491119999999@s.whatsapp.net" ...>...</message>
      +00:00:00.000  -- steps[2]: expect alice <- <message ...><body>hello</body></message>

The side-by-side rows come from :func:`~simulator.scenario.match.compare_rows`:
attributes and children aligned, the rows that differ marked with ``!``.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from simulator.patterns import ELIDE_AT as ELIDE_AT
from simulator.patterns import FULL_PAYLOADS as FULL_PAYLOADS
from simulator.records import record
from simulator.scenario.durations import format_clock

if TYPE_CHECKING:
    from pathlib import Path

    from simulator.scenario.match import Row
    from simulator.scenario.plan import Where
    from simulator.wire.node import Node

__all__ = [
    "Arrow",
    "Entry",
    "Failure",
    "ScenarioResult",
    "junit_xml",
    "one_line",
    "render_failure",
    "render_transcript",
]

WIDTH: Final = 120
TRANSCRIPT_LIMIT: Final = 200
"""Transcript lines shown in a failure report (the last ones)."""

Arrow = Literal["tx", "rx", "--"]


@record
class Entry:
    """One line of a transcript: a stanza a party sent (tx) or received (rx), or a note."""

    at: float
    """Virtual seconds since the scenario started."""
    party: str
    arrow: Arrow
    text: str
    """The stanza in the tx/rx notation, or the note."""

    def render(self, width: int) -> str:
        if self.arrow == "--":
            return f"{format_clock(self.at)}  -- {self.text}"
        arrow = "--> tx" if self.arrow == "tx" else "<-- rx"
        return f"{format_clock(self.at)}  {pad(self.party, width)} {arrow}  {self.text}"


def display_width(text: str) -> int:
    """The columns ``text`` takes in a terminal: wide characters (most emoji, CJK) take
    two, combining marks and zero-width characters none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns (see :func:`display_width`)."""
    return text + " " * max(0, width - display_width(text))


def one_line(node: Node) -> str:
    """The node in the tx/rx notation on one line (line breaks in data as ``&#xA;``);
    binary payloads over :data:`ELIDE_AT` bytes shortened unless :data:`FULL_PAYLOADS`."""
    elide = None if FULL_PAYLOADS.get() else ELIDE_AT
    return (
        node.to_text(elide=elide)
        .replace("\r", "&#xD;")
        .replace("\n", "&#xA;")
        .replace("\t", "&#x9;")
    )


def render_transcript(entries: Sequence[Entry], *, limit: int | None = None) -> str:
    """The transcript as text, one line per stanza or note (the last ``limit`` lines)."""
    width = max((display_width(e.party) for e in entries if e.arrow != "--"), default=5)
    shown = list(entries)
    lines = []
    if limit is not None and len(shown) > limit:
        lines.append(f"... {len(shown) - limit} earlier lines left out")
        shown = shown[-limit:]
    lines.extend(entry.render(width) for entry in shown)
    return "\n".join(lines)


@record(kw_only=True)
class Failure:
    """Why a run failed, with everything the report shows."""

    summary: str
    """One sentence."""
    where: Where | None
    """The step (None: before the first step or after the last)."""
    at: float
    party: str | None = None
    expected: str | None = None
    """The expectation as a pattern in the tx/rx notation."""
    expected_note: str = ""
    """Said of the expectation in the report's heading (``must not come``)."""
    rows: tuple[Row, ...] = ()
    """The expectation and the candidate side by side (see ``match.compare_rows``)."""
    candidate: Node | None = None
    candidate_at: float | None = None
    candidate_note: str = "nearest candidate"
    difference: str | None = None
    details: tuple[str, ...] = ()
    """More lines: a hint, a traceback, the bot's output."""


@dataclass(frozen=True, kw_only=True)
class ScenarioResult:
    """The outcome of one scenario run."""

    name: str
    path: Path | None
    line: int | None = None
    passed: bool
    failure: Failure | None = None
    transcript: tuple[Entry, ...] = ()
    virtual_seconds: float = 0.0
    """Time on the scenario's clock (virtual with an in-process bot)."""
    wall_seconds: float = 0.0
    steps_run: int = 0
    steps_total: int = 0
    report: str = ""
    """The failure report (empty when the scenario passed)."""
    bot_output: str = ""
    """What an external bot wrote to stdout/stderr."""

    @property
    def transcript_text(self) -> str:
        return render_transcript(self.transcript)

    @property
    def classname(self) -> str:
        """JUnit ``classname``: the file's path without suffix, dotted."""
        if self.path is None:
            return "scenario"
        return ".".join(self.path.with_suffix("").parts)

    @property
    def test_name(self) -> str:
        """JUnit ``name``: the scenario's name."""
        return self.name


# -------------------------------------------------------------------- the failure report


def render_failure(failure: Failure, transcript: Sequence[Entry]) -> str:
    """The whole failure report (see the module docstring)."""
    where = f"{failure.where}: " if failure.where is not None else ""
    out = [f"FAILED {where}{failure.summary}"]
    if failure.where is not None and failure.where.source:
        out += ["", "step:", _indent(failure.where.source)]
    if failure.expected is not None:
        out += ["", _side_by_side(failure)]
        if any(differs for _left, _right, differs in failure.rows):
            out.append("  (rows marked ! differ)")
    if failure.difference:
        out += ["", f"first difference: {failure.difference}"]
    if failure.details:
        out += ["", *failure.details]
    out += [
        "",
        "transcript up to the failure"
        " (virtual time; --> tx: sent to the server, <-- rx: received):",
        _indent(render_transcript(transcript, limit=TRANSCRIPT_LIMIT) or "(empty)"),
    ]
    return "\n".join(out)


def _indent(text: str, pad: str = "  ") -> str:
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _side_by_side(failure: Failure) -> str:
    who = f"{failure.party} receives" if failure.party else ""
    left_title = "expected" + (f" ({who})" if who else "")
    if failure.expected_note:
        left_title = f"{left_title}, {failure.expected_note}"
    if failure.candidate is None:
        right_title = failure.candidate_note
    else:
        at = failure.candidate_at
        right_title = failure.candidate_note + (
            f" (at {format_clock(at)})" if at is not None else ""
        )
    rows = list(failure.rows) or [
        (line, "", False) for line in (failure.expected or "").split("\n")
    ]
    width = max(display_width(left) for left, _right, _differs in [(left_title, "", False), *rows])
    lines = [f"  {pad(left_title, width)}   {right_title}".rstrip()]
    for left, right, differs in rows:
        mark, bar = ("!", "!") if differs else (" ", "|")
        lines.append(f"{mark} {pad(left, width)} {bar} {right}".rstrip())
    if failure.candidate is None:
        lines.append(f"  {pad('', width)} | (nothing)")
    return "\n".join(lines)


# -------------------------------------------------------------------- JUnit


def junit_xml(results: Sequence[ScenarioResult], *, suite: str = "simulator") -> str:
    """A JUnit XML report (one ``testcase`` per scenario) for CI services."""
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuites", tests=str(len(results)), failures=str(failures), errors="0")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{sum(r.wall_seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            node,
            "testcase",
            classname=result.classname,
            name=result.test_name,
            time=f"{result.wall_seconds:.3f}",
        )
        if result.path is not None:
            case.set("file", str(result.path))
        if result.line is not None:
            case.set("line", str(result.line))
        if result.failure is not None:
            failed = ET.SubElement(
                case, "failure", message=result.failure.summary, type="StepFailed"
            )
            failed.text = result.report
        out = ET.SubElement(case, "system-out")
        out.text = result.transcript_text
        if result.bot_output:
            err = ET.SubElement(case, "system-err")
            err.text = result.bot_output
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
