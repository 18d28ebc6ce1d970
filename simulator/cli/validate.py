"""``simulator validate``: check scenario files without running them.

    simulator validate scenarios/

Every problem of every file is listed, one per line, as
``file:line: at steps[3].expect.message.body: <message>``; the exit code is 1 if there
is any.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.cli._startup import startup
from simulator.errors import FatalError, ScenarioError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from simulator.cli import Subparsers

__all__ = ["add_parser", "files_of", "run"]

NAME: Final = "validate"
HELP: Final = "check scenario files without running them; list every problem"
DEFAULT_PATH: Final = "scenarios"


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help=f"files or directories (default: {DEFAULT_PATH}/)"
    )
    parser.set_defaults(run=run)


def files_of(paths: Sequence[str]) -> list[Path]:
    """The scenario files under ``paths`` (default ``scenarios/``), or ``FatalError``."""
    from simulator.scenario.paths import collect_paths

    try:
        files = collect_paths(paths or [DEFAULT_PATH])
    except ScenarioError as exc:
        raise FatalError(str(exc)) from None
    if not files:
        raise FatalError(
            f"no scenario files (*.yaml, *.yml) in {', '.join(paths or [DEFAULT_PATH])}"
        )
    return files


def run(args: argparse.Namespace) -> int:
    with startup():
        from simulator.scenario.loader import check_file

    files = files_of(args.paths)
    bad = 0
    for path in files:
        problems = check_file(path)[1]
        for problem in problems:
            print(problem)
        bad += bool(problems)
    if bad:
        print(f"{bad} of {len(files)} scenario files have problems", file=sys.stderr)
        return 1
    print(f"{len(files)} scenario file{'s' if len(files) != 1 else ''} valid")
    return 0
