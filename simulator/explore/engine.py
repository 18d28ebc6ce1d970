"""The exploration loop: generate runs, run them as scenarios, check properties, shrink.

Each generated run (a list of steps, :mod:`.generate`) becomes an ordinary scenario
(the cast's world inline, the bot, ``options.strict: []`` since the run checks no
order of its own) and runs through the public scenario API on virtual time. A run fails
when the scenario fails (the bot crashed, it did not answer the final ping, the service
refused a step or hit a bug of its own) or when a property finds a violation.
Hypothesis drives it all (derandomised from the seed, no example database): on a
failure it shrinks the run to the smallest one that fails the same way, and the
explorer writes that one as a scenario file that replays red with ``simulator run``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NoReturn

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.internal import constants_ast
from hypothesis.internal.conjecture import providers

from simulator.errors import ScenarioSyntaxError
from simulator.explore.cast import Cast
from simulator.explore.generate import Step, media_files, runs
from simulator.explore.properties import (
    BUILT_IN,
    Property,
    Run,
    Violation,
    check_all,
    parse_events,
)
from simulator.explore.yamlout import dump_yaml
from simulator.patterns import FULL_PAYLOADS
from simulator.scenario import (
    BotFunction,
    CommandBot,
    InProcessBot,
    ScenarioResult,
    load_scenario,
    run_scenario_sync,
)
from simulator.server.flows import default_router

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_YIELD_LIMIT",
    "Exploration",
    "Finding",
    "Progress",
    "explore",
    "scenario_of",
]

DEFAULT_RUNS: Final = 1000
"""Runs generated when neither ``runs`` nor ``budget`` is given."""

DEFAULT_YIELD_LIMIT: Final = 1.0
"""Wall seconds an in-process bot may hold the event loop in an explored run (a scenario
run allows :data:`simulator.scenario.watchdog.DEFAULT_YIELD_LIMIT`): every run that trips
it, and every one while shrinking, costs that much."""

SHRINK_RUNS: Final = 300
"""Runs Hypothesis' shrinker may spend on a failure; a step-by-step pass that leaves out
one step at a time then makes the run 1-minimal (no step can go). With 150 the orders
bot's redelivery failure stopped at 6 steps for seeds 0 and 1 (3 and 5 with 300), for a
few seconds more per failure found."""


@dataclass(frozen=True)
class Finding:
    """Why a run failed: the scenario's own failure report, or a property's violation."""

    summary: str
    violation: Violation | None = None
    report: str = ""

    @property
    def key(self) -> str:
        """What must stay the same while shrinking: the kind of failure."""
        if self.violation is not None:
            return f"property: {self.violation.prop}"
        return f"run: {self.summary.split(':', 1)[0]}"


@dataclass
class Progress:
    """Counts while exploring (shown every second or so, and in the summary)."""

    runs: int = 0
    failing: int = 0
    first_failure: int | None = None
    """The number of the run that failed first (before shrinking)."""
    shapes: set[str] = field(default_factory=set)
    """Every stanza shape seen (sent or received, by anyone)."""
    routes: Counter[str] = field(default_factory=Counter)
    """Route of the server's router -> how many of the bot's stanzas it handled."""
    received: Counter[str] = field(default_factory=Counter)
    """Shape of a stanza the bot received -> how many times."""
    route_patterns: tuple[str, ...] = ()
    """Every route of the router (``simulator routes``)."""
    virtual_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    @property
    def route_total(self) -> int:
        return len(self.route_patterns)

    def line(self) -> str:
        wall = time.perf_counter() - self.started
        top = ", ".join(f"{route} {count}" for route, count in self.routes.most_common(3))
        return (
            f"runs {self.runs}  failing {self.failing}  stanza shapes {len(self.shapes)}"
            f"  bot routes {len(self.routes)}/{self.route_total}"
            + (f" ({top})" if top else "")
            + f"  virtual {_span(self.virtual_seconds)}  wall {wall:.1f}s"
        )

    def coverage(self, *, shapes: int = 12) -> list[str]:
        """The coverage of the bot's routes and of what it received, with counts: the
        routes its stanzas hit, those never hit, the shapes of the stanzas it got (the
        ``shapes`` most frequent)."""
        out = [f"routes the bot's stanzas hit: {len(self.routes)} of {self.route_total}"]
        width = max((len(route) for route in self.routes), default=0)
        out.extend(f"  {route:<{width}}  {count}" for route, count in self.routes.most_common())
        never = [route for route in self.route_patterns if route not in self.routes]
        if never:
            out.append(f"routes never hit: {len(never)}")
            out.extend(_fill(never))
        out.append(f"stanza shapes the bot received: {len(self.received)}")
        shown = self.received.most_common(shapes)
        width = max((len(shape) for shape, _ in shown), default=0)
        out.extend(f"  {shape:<{width}}  {count}" for shape, count in shown)
        if len(self.received) > len(shown):
            rest = sum(self.received.values()) - sum(count for _, count in shown)
            out.append(f"  ... {len(self.received) - len(shown)} more shapes ({rest} stanzas)")
        return out


@dataclass
class Exploration:
    """The outcome of :func:`explore`."""

    seed: int
    progress: Progress
    steps: list[Step] | None = None
    """The shrunk failing run (None: nothing failed)."""
    finding: Finding | None = None
    scenario: dict[str, Any] | None = None
    """The scenario file written for it (as data)."""
    path: Path | None = None
    """Where it was written."""
    replay: ScenarioResult | None = None
    """The written file, run once more: it fails (``passed`` is False)."""
    flaky: str = ""
    faults: tuple[str, ...] = ()
    """The faults the runs drew (``--faults``)."""

    @property
    def passed(self) -> bool:
        return self.finding is None and not self.flaky

    def summary(self) -> str:
        p = self.progress
        out = [
            f"explored {p.runs} runs ({_span(p.virtual_seconds)} of virtual time) with"
            f" --seed {self.seed}" + (f" --faults {','.join(self.faults)}" if self.faults else ""),
            f"stanza shapes seen: {len(p.shapes)}",
            *p.coverage(),
        ]
        if self.flaky:
            out.append(f"FLAKY: {self.flaky}")
        if self.finding is None:
            out.append("no property failed")
            return "\n".join(out)
        steps = len(self.steps or ())
        out.append(f"FAILED: {self.finding.summary}")
        if p.first_failure is not None:
            out.append(f"first failing run: number {p.first_failure} (the later runs shrank it)")
        out.append(f"shrunk to {steps} steps" + (f": {self.path}" if self.path else ""))
        if self.path is not None:
            out.append(f"replay: simulator run {self.path}")
        out.append(f"reproduce: the same command with --seed {self.seed}")
        return "\n".join(out)


def scenario_of(
    cast: Cast,
    steps: Sequence[Step],
    *,
    name: str = "an explored run",
    bot_target: str | None = None,
    invariants: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The scenario (as data, ready for YAML) of a generated run.

    ``invariants``: bodies of ``expect_none`` steps that must hold throughout; each is
    checked after every step (``within: 0s``: what that step set in motion).
    """
    bot: dict[str, Any] = {"account": cast.bot}
    if bot_target is not None:
        bot["python"] = bot_target
    body: list[Step] = []
    for step in steps:
        body.append(step)
        body.extend({"expect_none": {**inv, "within": "0s"}} for inv in invariants)
    return {
        "name": name,
        "world": cast.world,
        "bot": bot,
        "options": {"strict": [], "seed": 0},
        "steps": body,
    }


Runner = Callable[[dict[str, Any]], ScenarioResult]


def make_runner(
    bot: InProcessBot | CommandBot | BotFunction,
    folder: Path,
    time_scale: float = 1.0,
    yield_limit: float | None = DEFAULT_YIELD_LIMIT,
) -> Runner:
    """Run scenario data through the public scenario API (as a file in ``folder``)."""
    target = folder / "run.yaml"
    _write_media(folder)

    def run(data: dict[str, Any]) -> ScenarioResult:
        target.write_text(dump_yaml(data), "utf-8")
        # Whole payloads in the transcript: properties parse its stanzas back into nodes.
        token = FULL_PAYLOADS.set(True)
        try:
            return run_scenario_sync(
                load_scenario(target),
                bot_override=bot,
                time_scale=time_scale,
                yield_limit=yield_limit,
            )
        finally:
            FULL_PAYLOADS.reset(token)

    return run


def explore(
    bot: InProcessBot | CommandBot | BotFunction,
    cast: Cast,
    *,
    seed_: int = 0,
    runs_: int | None = None,
    budget: float | None = None,
    properties: Iterable[Property] = (),
    invariants: Sequence[dict[str, Any]] = (),
    max_steps: int = 16,
    extra: st.SearchStrategy[Step] | None = None,
    faults: Sequence[str] = (),
    out: Path | None = None,
    bot_target: str | None = None,
    report: Callable[[str], None] | None = None,
    time_scale: float = 1.0,
    yield_limit: float | None = DEFAULT_YIELD_LIMIT,
) -> Exploration:
    """Explore ``bot`` in ``cast``'s world; returns what was found (see :class:`Exploration`).

    Args:
        seed_: the seed; the same seed explores the same runs and shrinks to the same file.
        runs_: how many runs to generate (default :data:`DEFAULT_RUNS` without ``budget``).
        budget: wall seconds to spend generating (shrinking a failure may add some).
        properties: user-written properties, checked after the built-in ones.
        invariants: ``expect_none`` bodies that hold after every step (the scenario form).
        extra: a strategy of single steps drawn as one more kind of action.
        faults: names of :data:`~simulator.explore.generate.FAULTS` the runs draw among
            the users' actions (``fault:`` and ``restart`` steps).
        out: the folder for the shrunk scenario file (None: not written).
        bot_target: ``module:callable`` written as the file's bot (for ``simulator run``).
        report: called with a progress line about once a second, and with the summary.
        yield_limit: wall seconds an in-process bot may hold the event loop (never await)
            before a run fails saying so; each such run, and each while shrinking it,
            costs that much (default :data:`DEFAULT_YIELD_LIMIT`, shorter than a scenario
            run's).
    """
    with tempfile.TemporaryDirectory(prefix="simulator-explore-") as folder:
        return _explore(
            bot,
            cast,
            make_runner(bot, Path(folder), time_scale, yield_limit),
            seed_=seed_,
            runs_=runs_,
            budget=budget,
            properties=properties,
            invariants=invariants,
            max_steps=max_steps,
            extra=extra,
            faults=tuple(faults),
            out=out,
            bot_target=bot_target,
            report=report,
            time_scale=time_scale,
            yield_limit=yield_limit,
        )


def _explore(
    bot: InProcessBot | CommandBot | BotFunction,
    cast: Cast,
    run_data: Runner,
    *,
    seed_: int,
    runs_: int | None,
    budget: float | None,
    properties: Iterable[Property],
    invariants: Sequence[dict[str, Any]],
    max_steps: int,
    extra: st.SearchStrategy[Step] | None,
    faults: tuple[str, ...],
    out: Path | None,
    bot_target: str | None,
    report: Callable[[str], None] | None,
    time_scale: float,
    yield_limit: float | None,
) -> Exploration:
    router = default_router()
    checks = (*BUILT_IN, *properties)
    progress = Progress(route_patterns=tuple(route.pattern for route in router.routes()))
    exploration = Exploration(seed=seed_, progress=progress, faults=faults)
    if runs_ is None:
        runs_ = DEFAULT_RUNS if budget is None else 1_000_000
    deadline = math.inf if budget is None else time.perf_counter() + budget
    last_report = time.perf_counter()
    found: list[tuple[list[Step], Finding]] = []
    failed: set[str] = set()  # the runs that failed, as JSON (see the shrink budget)
    shrinking = 0

    def evaluate(steps: list[Step]) -> tuple[ScenarioResult, Finding | None]:
        result = run_data(scenario_of(cast, steps, invariants=invariants))
        events, notes = parse_events(result.transcript, cast)
        progress.virtual_seconds += result.virtual_seconds
        for event in events:
            shape = _shape(event.node)
            progress.shapes.add(shape)
            if event.party != "bot":
                continue
            if event.arrow == "rx":
                progress.received[shape] += 1
                continue
            route = router.lookup(event.node)
            if route is not None:
                progress.routes[route.pattern] += 1
        if not result.passed:
            summary = result.failure.summary if result.failure is not None else "the run failed"
            return result, Finding(summary=summary, report=result.report)
        violations = check_all(Run(steps, events, cast, notes), checks)
        if violations:
            first = violations[0]
            return result, Finding(summary=f"{first.prop}: {first.message}", violation=first)
        return result, None

    @settings(
        database=None,
        max_examples=runs_,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @seed(seed_)
    @given(runs(cast, max_steps=max_steps, extra=extra, faults=faults))
    def one_run(steps: list[Step]) -> None:
        nonlocal last_report, shrinking
        if not found and time.perf_counter() > deadline:
            reject()
        key = json.dumps(steps, sort_keys=True)
        if found:
            shrinking += 1
            if shrinking > SHRINK_RUNS:
                # The shrink budget is spent: only the runs known to fail fail again (the
                # final replay of the smallest one must), every new candidate passes.
                if key in failed:
                    _fail("again")
                return
        _result, finding = evaluate(steps)
        progress.runs += 1
        if report is not None and time.perf_counter() - last_report >= 1.0:
            last_report = time.perf_counter()
            report(progress.line())
        if finding is None:
            return
        if found and finding.key != found[0][1].key:
            return  # shrinking keeps to the first kind of failure found
        progress.failing += 1
        failed.add(key)
        if progress.first_failure is None:
            progress.first_failure = progress.runs
        found.append((steps, finding))
        _fail(finding.summary)

    try:
        with _constants_of(_bot_module(bot)):
            one_run()
    except _Found:
        pass
    except Unsatisfiable:
        pass  # the budget ran out before the first run
    except Flaky as exc:
        exploration.flaky = f"a run failed once and passed when repeated ({exc})"
    if found:
        steps, finding = _one_minimal(*found[-1], evaluate)
        exploration.steps = steps
        exploration.finding = finding
        exploration.scenario = _failing_scenario(
            cast, steps, finding, seed_, bot_target, invariants
        )
        if out is not None:
            exploration.path = _write(out, exploration.scenario, seed_)
            exploration.replay = run_scenario_sync(
                load_scenario(exploration.path),
                bot_override=bot,
                time_scale=time_scale,
                yield_limit=yield_limit,
            )
    if report is not None:
        report(progress.line())
    return exploration


def _bot_module(bot: InProcessBot | CommandBot | BotFunction) -> ModuleType | None:
    """The module of an in-process bot's function (None for a bot run as a command)."""
    if isinstance(bot, CommandBot):
        return None
    function = bot.function if isinstance(bot, InProcessBot) else bot
    name = getattr(function, "__module__", None)
    return sys.modules.get(name) if isinstance(name, str) else None


@contextmanager
def _constants_of(module: ModuleType | None) -> Iterator[None]:
    """Hypothesis draws now and then a literal found in the project's code ("local
    constants", Hypothesis 6.131 and later): that is how a run says a bot's command word
    (``STOP``). But its pool is every loaded module of the project, and it grows with
    every import: a seed would explore other runs after a change to any module, in
    another process, or once a step module is imported on first use. While an
    exploration runs the pool is the bot's own module's literals, whatever else is
    loaded (the cache of permitted constants drawn from it is cleared before and after).
    Hypothesis has no setting for it: this reaches into its provider module, and does
    nothing with a version that lacks those names."""
    get = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    of_module = getattr(constants_ast, "constants_from_module", None)
    if get is None or cache is None or of_module is None:  # pragma: no cover - other versions
        yield
        return
    pool = of_module(module) if module is not None else constants_ast.Constants()
    providers._get_local_constants = lambda: pool
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = get
        cache.cache.clear()


def _one_minimal(
    steps: list[Step],
    finding: Finding,
    evaluate: Callable[[list[Step]], tuple[ScenarioResult, Finding | None]],
) -> tuple[list[Step], Finding]:
    """Hypothesis' smallest run, made 1-minimal: no step, and no two steps together (a
    bot's logout and its login), can be left out with the run still failing the same way.
    A cut that makes the file invalid (a user acting before their login) does not fail."""

    def still_fails(shorter: list[Step]) -> Finding | None:
        if not shorter:
            return None
        try:
            _result, again = evaluate(shorter)
        except ScenarioSyntaxError:
            return None
        return again if again is not None and again.key == finding.key else None

    changed = True
    while changed:
        changed = False
        cuts = [(i,) for i in reversed(range(len(steps)))] + [
            (i, j) for i in reversed(range(len(steps))) for j in reversed(range(i))
        ]
        for cut in cuts:
            shorter = [step for k, step in enumerate(steps) if k not in cut]
            again = still_fails(shorter)
            if again is not None:
                steps, finding, changed = shorter, again, True
                break
    return steps, finding


class _Found(Exception):
    """A run failed (raised inside Hypothesis so that it shrinks the run)."""


def _fail(summary: str) -> NoReturn:
    # One place raises: Hypothesis tells failures apart by where they were raised, and
    # a known failure replayed after the shrink budget is the same failure (not Flaky).
    raise _Found(summary)


def _failing_scenario(
    cast: Cast,
    steps: list[Step],
    finding: Finding,
    seed_: int,
    bot_target: str | None,
    invariants: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The scenario file of a shrunk run: its steps and the check that fails on replay."""
    violation = finding.violation
    body = list(steps)
    if violation is None and invariants:
        # Keep only the invariant check that failed, where it failed.
        data = scenario_of(cast, steps, invariants=invariants)
        step_path = _failing_step(finding.report)
        if step_path is not None and 0 <= step_path < len(data["steps"]):
            per = len(invariants) + 1
            generated = step_path // per
            which = step_path % per - 1
            if which >= 0:
                body = [*steps[: generated + 1]]
                body.append({"expect_none": {**invariants[which], "within": "0s"}})
    elif violation is not None:
        check = _check_step(violation, cast)
        if violation.event is not None and violation.event.step is not None:
            body.insert(violation.event.step + 1, check)
        else:
            body.append(check)
    data = scenario_of(
        cast, body, name=f"explore --seed {seed_}: {_first_line(finding)}", bot_target=bot_target
    )
    data["description"] = (
        f"Found by `simulator explore --seed {seed_}` and shrunk to the smallest run that"
        f" still fails. {finding.summary}"
    )
    return data


def _first_line(finding: Finding) -> str:
    if finding.violation is not None:
        return finding.violation.prop
    return finding.summary.splitlines()[0][:100]


def _check_step(violation: Violation, cast: Cast) -> Step:
    """The expectation that fails on replay where ``violation`` shows."""
    if violation.missing is not None:
        party, pattern = violation.missing
        return {"expect": {"to": party, "node": pattern, "within": "0s"}}
    event = violation.event
    assert event is not None
    node = event.node
    attrs = {k: node.get(k, "") for k in ("id", "type") if node.get(k) is not None}
    if event.arrow == "tx":
        # What the party sent: checked where it went out (the bot's stanzas: at the server).
        to = node.get("to")
        if to is not None:
            attrs = {"to": to, **attrs}
        party = "server" if event.party == "bot" else event.party
    else:
        frm = node.get("from")
        if frm is not None:
            attrs = {"from": frm, **attrs}
        party = event.party
    rendered = " ".join(f'{k}="{_template(v, cast)}"' for k, v in attrs.items())
    pattern = f"<{node.tag} {rendered}/>" if rendered else f"<{node.tag}/>"
    return {"expect_none": {"to": party, "node": pattern, "within": "0s"}}


def _template(value: str, cast: Cast) -> str:
    """An attribute value for a node pattern: an account's JID as its template."""
    name = cast.name_of(value) if value.endswith("@s.whatsapp.net") else None
    if name is not None:
        return "{{bot}}" if name == cast.bot else "{{" + _handle(name) + "}}"
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _handle(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]", "_", plain.lower())


def _failing_step(report: str) -> int | None:
    marker = ": at steps["
    start = report.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = report.find("]", start)
    try:
        return int(report[start:end])
    except ValueError:
        return None


def _write_media(folder: Path) -> None:
    """The media files generated steps send, where the scenario finds them."""
    for relative, content in media_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)


def _write(out: Path, data: dict[str, Any], seed_: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    if any(path in dump_yaml({"steps": data["steps"]}) for path in media_files()):
        _write_media(out)
    path = out / f"explore-seed-{seed_}.yaml"
    header = (
        "# yaml-language-server: $schema=scenario.schema.json\n"
        f"# Found by `simulator explore --seed {seed_}`; replay: simulator run {path.name}\n"
    )
    path.write_text(header + dump_yaml(data), "utf-8")
    return path


def _shape(node: Any) -> str:
    """A stanza's shape: its tag, attribute names and the shapes of its children."""
    attrs = ",".join(sorted(k for k in node.attrs if k not in ("id", "t")))
    inner = "".join(_shape(c) for c in node.children)
    return f"<{node.tag} {attrs}>{inner}" if attrs else f"<{node.tag}>{inner}"


def _fill(items: Sequence[str], width: int = 100) -> list[str]:
    """``items`` comma-separated on indented lines of about ``width``, never split."""
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(line) + len(item) + 2 > width:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {item}" if line else f"  {item}"
    return [*lines, line] if line else lines


def _span(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds:.0f}s"
