"""What one run writes down and how it fails: the transcript, the step running, the
captures bound so far, and the :class:`Failed` that stops the run.

The runtime, the matcher and the bot supervisor share one :class:`Journal`; none of them
needs the others to note a line or fail a step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

import trio

from simulator.errors import StepFailed
from simulator.scenario.match import Pattern, Unbound, compare_rows, render_node, render_pattern
from simulator.scenario.report import Arrow, Entry, Failure, one_line
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.scenario.plan import Options, Where
    from simulator.server.faults import FaultHit

__all__ = ["Failed", "Journal"]


class Failed(StepFailed):
    """A step did not do what the file said; ``failure`` has the details for the report."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary)
        self.failure = failure


class Journal:
    """The transcript, the step running (``current``), the captures, and failures."""

    def __init__(self, options: Options, builtins: Mapping[str, str], *, time_scale: float) -> None:
        self.options = options
        self.time_scale = time_scale
        self.env: dict[str, str] = dict(builtins)
        """The captures bound so far (every party's label and ``server`` from the start)."""
        self.transcript: list[Entry] = []
        self.current: Where | None = None
        self.fault_hits: list[tuple[str, tuple[str, str | None] | None]] = []
        """One line per fault hit of the run, in order, with the tag and id of the stanza
        it touched (a failure lists them)."""
        self._start = trio.current_time()

    # ---------------------------------------------------------------- time

    def now(self) -> float:
        """Seconds since the scenario started (virtual with an in-process bot)."""
        return trio.current_time() - self._start

    def seconds(self, value: float | None) -> float:
        """A duration from the file, defaulted and scaled for the clock in use."""
        return (self.options.within if value is None else value) * self.time_scale

    # ---------------------------------------------------------------- the transcript

    def note(self, text: str) -> None:
        self.transcript.append(Entry(self.now(), "", "--", text))

    def fault(self, hit: FaultHit, label: str, described: str) -> None:
        """Fault ``hit`` (of the fault ``described``: its action and selector) touched a
        stanza of ``label`` (or the server): a note where it happened."""
        arrows = {"in": "from", "out": "to", "login": "at the login of", "net": "on the wire to"}
        whom = "" if hit.direction == "server" else f" {arrows[hit.direction]} {label}"
        stanza = f": {one_line(hit.node)}" if hit.node is not None else ""
        note = f" ({hit.note})" if hit.note else ""
        what = f"fault #{hit.fault} [{described}] {hit.action}" if described else hit.action
        line = f"{what}{note}{whom}{stanza}"
        self.note(line)
        touched = (hit.node.tag, hit.node.get("id")) if hit.node is not None else None
        self.fault_hits.append((f"at {self.now():.3f}s {line}", touched))

    def with_faults(self, failure: Failure) -> Failure:
        """``failure`` with the run's fault hits in its details, most recent first; a hit
        on the stanza the report shows (the same tag and id) says so."""
        if not self.fault_hits:
            return failure
        shown = failure.candidate
        key = (shown.tag, shown.get("id")) if shown is not None and shown.get("id") else None
        hits = tuple(
            f"{line} (the stanza shown above)" if key is not None and touched == key else line
            for line, touched in reversed(self.fault_hits)
        )
        return dataclasses.replace(
            failure, details=(*failure.details, "faults of this run, most recent first:", *hits)
        )

    def stanza(self, at: float, party: str, arrow: Arrow, node: Node) -> None:
        """``party`` sent (``tx``) or received (``rx``) ``node`` at ``at``."""
        self.transcript.append(Entry(at, party, arrow, one_line(node)))

    # ---------------------------------------------------------------- captures

    def bind(self, bound: Mapping[str, str]) -> None:
        self.env.update(bound)

    def render_text(self, text: str) -> str:
        """``text`` with its captures filled in."""
        return self.render_node(Node("text", {"value": text})).attrs["value"]

    def render_node(self, node: Node) -> Node:
        try:
            return render_node(node, self.env)
        except Unbound as exc:
            self.fail(f"{exc}: the expectation that would bind it did not match (was it optional?)")

    # ---------------------------------------------------------------- failures

    def failure(self, summary: str, details: tuple[str, ...] = ()) -> Failure:
        """A failure of the step running, now (for a failure raised later)."""
        return Failure(summary=summary, where=self.current, at=self.now(), details=details)

    def fail(
        self,
        summary: str,
        *,
        party: str | None = None,
        pattern: Pattern | None = None,
        expected_note: str = "",
        candidate: Node | None = None,
        candidate_at: float | None = None,
        candidate_note: str = "nearest candidate",
        difference: str | None = None,
        details: tuple[str, ...] = (),
    ) -> NoReturn:
        """Stop the run: this step failed (``pattern`` is shown next to ``candidate``)."""
        raise Failed(
            Failure(
                summary=summary,
                where=self.current,
                at=self.now(),
                party=party,
                expected=render_pattern(pattern, self.env) if pattern is not None else None,
                expected_note=expected_note,
                rows=tuple(compare_rows(pattern, candidate, self.env))
                if pattern is not None
                else (),
                candidate=candidate,
                candidate_at=candidate_at,
                candidate_note=candidate_note,
                difference=difference,
                details=details,
            )
        )
