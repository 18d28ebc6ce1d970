"""``simulator run``: run scenarios and report; exit 0 only when every one passed.

    simulator run                                   # every scenario under scenarios/
    simulator run scenarios/echo.yaml -k "echo and not slow"
    simulator run --bot mybot.main:run              # test your bot (in-process, virtual time)
    simulator run --bot-command "python -m mybot" --time-scale 0.01   # any program, over TCP
    simulator run --junit report.xml --shard 2/4    # CI: the second quarter, JUnit XML

Every file is checked before anything runs; one with problems stops the run (all
problems listed). Then one line per scenario (pass/fail, virtual and wall time), the
failure reports, and a summary.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.cli._errors import split_bot_command
from simulator.cli._startup import startup
from simulator.cli.validate import DEFAULT_PATH, files_of
from simulator.errors import FatalError, ScenarioError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from simulator.cli import Subparsers
    from simulator.scenario import CommandBot, InProcessBot, Scenario, ScenarioResult

__all__ = ["add_parser", "keyword_matcher", "parse_shard", "run"]

NAME: Final = "run"
HELP: Final = "run scenario files against the bot under test"


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        NAME, help=HELP, description=HELP, epilog=__doc__.split("\n\n")[1]
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help=f"files or directories (default: {DEFAULT_PATH}/)"
    )
    bot = parser.add_mutually_exclusive_group()
    bot.add_argument(
        "--bot",
        metavar="MODULE:CALLABLE",
        help="run this in-process bot instead of the files' bots",
    )
    bot.add_argument(
        "--bot-command",
        metavar="CMD",
        help="run this program as the bot instead (it connects over TCP; see SIM_* variables)",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    parser.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="only scenarios whose path or name match, e.g. 'echo and not slow'",
    )
    parser.add_argument("--shard", metavar="I/N", help="run the I-th of N equal parts (1-based)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply waits and timeouts by F for external bots (real time), e.g. 0.01",
    )
    parser.add_argument(
        "--yield-limit",
        type=float,
        default=10.0,
        metavar="S",
        help="fail a run when an in-process bot holds the event loop (never awaits: a loop"
        " that never ends) for S seconds of wall time (default 10)",
    )
    parser.add_argument(
        "--full-payloads",
        action="store_true",
        help="show long binary payloads (key uploads, thumbnails) whole in transcripts;"
        " by default they are shortened to their first bytes and length",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.time_scale > 0:
        raise FatalError(f"--time-scale must be more than 0, not {args.time_scale}")
    if not args.yield_limit > 0:
        raise FatalError(f"--yield-limit must be more than 0, not {args.yield_limit}")
    # Modules and plans live until the process ends: made without the collector, then
    # out of its sight, so that each garbage collection during the runs looks at what
    # the runs make only (about 4 % of the CPU of a run of 1,000 files).
    with startup():
        from simulator.scenario import junit_xml
        from simulator.scenario.report import FULL_PAYLOADS
        from simulator.scenario.runner import run_scenario_sync

        FULL_PAYLOADS.set(args.full_payloads)
        scenarios = _load(files_of(args.paths))
    if args.keyword:
        selected = keyword_matcher(args.keyword)
        scenarios = [s for s in scenarios if selected(f"{s.path} {s.name}")]
        if not scenarios:
            raise FatalError(f"no scenario matches -k {args.keyword!r}")
    if args.shard:
        index, count = parse_shard(args.shard)
        scenarios = [s for i, s in enumerate(scenarios) if i % count == index - 1]
    override = _bot_override(args, scenarios)
    results = _run_all(
        scenarios, override, args.time_scale, run_scenario_sync, yield_limit=args.yield_limit
    )
    if args.junit is not None:
        try:
            args.junit.write_text(junit_xml(results), "utf-8")
        except OSError as exc:
            raise FatalError(f"cannot write {args.junit}: {exc.strerror}") from None
    return 0 if all(r.passed for r in results) else 1


def _load(files: Sequence[Path]) -> list[Scenario]:
    from simulator.scenario.loader import check_file

    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in files:
        scenario, found = check_file(path)
        problems.extend(str(p) for p in found)
        if scenario is not None:
            scenarios.append(scenario)
    if problems:
        for problem in problems:
            print(problem)
        count = len(problems)
        raise FatalError(
            f"{count} problem{'s' if count != 1 else ''} in the scenario files; nothing ran"
        )
    return scenarios


def _bot_override(
    args: argparse.Namespace, scenarios: Sequence[Scenario]
) -> InProcessBot | CommandBot | None:
    from simulator.scenario import CommandBot, InProcessBot, import_bot

    if args.bot:
        search = [Path.cwd(), *{s.path.parent for s in scenarios if s.path is not None}]
        try:
            return InProcessBot(target=args.bot, function=import_bot(args.bot, search=search))
        except ScenarioError as exc:
            raise FatalError(f"--bot: {exc}") from None
    if args.bot_command:
        return CommandBot(argv=split_bot_command(args.bot_command))
    return None


def _run_all(
    scenarios: Sequence[Scenario],
    override: InProcessBot | CommandBot | None,
    time_scale: float,
    run_scenario_sync: Callable[..., ScenarioResult],
    yield_limit: float | None = None,
) -> list[ScenarioResult]:
    from simulator.scenario.durations import format_duration

    started = time.perf_counter()
    results: list[ScenarioResult] = []
    if not scenarios:
        print("no scenarios to run in this shard")
    for scenario in scenarios:
        result = run_scenario_sync(
            scenario, bot_override=override, time_scale=time_scale, yield_limit=yield_limit
        )
        results.append(result)
        print(_progress_line(result), flush=True)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(f"\n{'=' * 30} {result.path}: {result.name} {'=' * 30}\n{result.report}")
    passed = len(results) - len(failed)
    virtual = sum(r.virtual_seconds for r in results)
    wall = time.perf_counter() - started
    summary = f"{passed} passed" + (f", {len(failed)} failed" if failed else "")
    print(f"\n{summary} in {wall:.2f}s (virtual time {format_duration(virtual)})")
    return results


def _progress_line(result: ScenarioResult) -> str:
    from simulator.scenario.durations import format_duration

    status = "PASS" if result.passed else "FAIL"
    times = f"virtual {format_duration(result.virtual_seconds)}, wall {result.wall_seconds:.2f}s"
    where = f"{result.path}" if result.path is not None else "(scenario)"
    line = f"{status}  {where}  {result.name}  ({times})"
    if result.failure is not None:
        line += f"\n      {result.failure.summary}"
    return line


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` -> (I, N) with 1 <= I <= N, or ``FatalError``."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if found is None:
        raise FatalError(f"--shard is I/N, like 2/4, not {text!r}")
    index, count = int(found.group(1)), int(found.group(2))
    if not 1 <= index <= count:
        raise FatalError(f"--shard {text}: I must be from 1 to N")
    return index, count


# -------------------------------------------------------------------- -k expressions

_TOKEN: Final = re.compile(r"\s*(\(|\)|[^\s()]+)")


def keyword_matcher(expression: str) -> Callable[[str], bool]:
    """A predicate for ``-k``: words match case-insensitive substrings; ``and``, ``or``,
    ``not`` and parentheses combine them (as in pytest).

    Raises:
        FatalError: the expression is malformed.
    """
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise FatalError("-k needs an expression")
    parser = _KeywordParser(tokens, expression)
    predicate = parser.parse_or()
    if parser.pos != len(tokens):
        raise FatalError(f"-k {expression!r}: unexpected {tokens[parser.pos]!r}")
    return predicate


class _KeywordParser:
    def __init__(self, tokens: list[str], expression: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.expression = expression

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _fail(self, what: str) -> FatalError:
        return FatalError(f"-k {self.expression!r}: {what}")

    def parse_or(self) -> Callable[[str], bool]:
        parts = [self.parse_and()]
        while self._peek() == "or":
            self.pos += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else lambda text: any(p(text) for p in parts)

    def parse_and(self) -> Callable[[str], bool]:
        parts = [self.parse_not()]
        while self._peek() == "and":
            self.pos += 1
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else lambda text: all(p(text) for p in parts)

    def parse_not(self) -> Callable[[str], bool]:
        if self._peek() == "not":
            self.pos += 1
            inner = self.parse_not()
            return lambda text: not inner(text)
        return self.parse_atom()

    def parse_atom(self) -> Callable[[str], bool]:
        token = self._peek()
        if token is None:
            raise self._fail("the expression ends too early")
        self.pos += 1
        if token == "(":
            inner = self.parse_or()
            if self._peek() != ")":
                raise self._fail("a '(' is not closed")
            self.pos += 1
            return inner
        if token in (")", "and", "or"):
            raise self._fail(f"unexpected {token!r}")
        word = token.casefold()
        return lambda text: word in text.casefold()
