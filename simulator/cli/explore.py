"""``simulator explore``: generate runs against a bot until a property fails, then shrink.

    simulator explore --bot bots.echo:run                       # 1000 runs, seed 0
    simulator explore --bot mybot:run --world team.world.yaml --account helper --budget 2m
    simulator explore --bot bots.newsletter:run --property bots.newsletter -o found/
    simulator explore --bot mybot:run --invariants never.yaml --seed 7 --runs 2000
    simulator explore --bot bots.orders:run --faults all --property bots.orders
    simulator explore --bot mybot:run --faults duplicate,drop,restart

Users of the world (and new ones) write, send media, go offline, block, make groups...
with time jumps, in generated scenarios on virtual time; with --faults, the service
misbehaves too (drops, delays, duplicates, reorders stanzas, ends the bot's session,
restarts). Every run is checked: the bot neither crashes nor hangs (stops handling
events), the service accepts what it sends, it acks what it must, the service delivers
what it acked once (save what a fault touched); then your properties. A failing run is
shrunk to the shortest that fails and written as a scenario file that fails with
``simulator run``. The summary counts the server routes the bot's stanzas hit, those
never hit, and the shapes of the stanzas it got. Exit 0: nothing failed; 1: a failure
was found (or the bot or a file could not be loaded); 2: a wrong argument.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.cli._errors import split_bot_command
from simulator.errors import FatalError, ScenarioError

if TYPE_CHECKING:
    from simulator.cli import Subparsers

__all__ = ["add_parser", "parse_budget", "run"]

NAME: Final = "explore"
FAULTS: Final = ("drop", "delay", "duplicate", "reorder", "disconnect", "stream-error", "restart")
"""The faults ``--faults`` knows (:data:`simulator.explore.FAULTS`, kept here so that
``--help`` needs no Hypothesis)."""
HELP: Final = "generate runs against a bot until a property fails; shrink it to a scenario"


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        NAME, help=HELP, description=__doc__.split("\n\n")[2], epilog=__doc__.split("\n\n")[1]
    )
    bot = parser.add_mutually_exclusive_group(required=True)
    bot.add_argument("--bot", metavar="MODULE:CALLABLE", help="the in-process bot to explore")
    bot.add_argument(
        "--bot-command",
        metavar="CMD",
        help="a program as the bot (over TCP, real time: give --time-scale; slow)",
    )
    parser.add_argument(
        "--world", type=Path, metavar="FILE", help="a world file (default: a small one)"
    )
    parser.add_argument(
        "--account", metavar="NAME", help="the bot's account in the world (default: mybot)"
    )
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--runs", type=int, metavar="N", help="runs to generate (default 1000)")
    limit.add_argument(
        "--budget", metavar="TIME", help="wall time to spend generating, e.g. 30s or 2m"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the seed (default 0)")
    parser.add_argument(
        "--property",
        action="append",
        default=[],
        metavar="MODULE[:FUNCTION]",
        help="a property in Python (a module: its @invariant functions); repeatable",
    )
    parser.add_argument(
        "--invariants",
        type=Path,
        metavar="FILE",
        help="a YAML file of expect_none bodies that hold in every run",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        nargs="?",
        const=FAULTS,
        default=(),
        metavar="all|NAME,...",
        help="draw faults of the service among the users' actions: all (--faults alone"
        f" too) or some of {', '.join(FAULTS)}",
    )
    parser.add_argument(
        "--max-steps", type=int, default=16, metavar="N", help="actions per run (default 16)"
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("explore-found"),
        metavar="DIR",
        help="where the shrunk scenario goes (default explore-found/)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        metavar="F",
        help="multiply waits and timeouts by F for --bot-command (real time; default 0.01)",
    )
    parser.add_argument(
        "--yield-limit",
        type=float,
        default=1.0,
        metavar="S",
        help="fail a run when the --bot holds the event loop (never awaits: a loop that never"
        " ends) for S seconds of wall time (default 1; each such run costs S, and shrinking"
        " one takes about a hundred)",
    )
    parser.set_defaults(run=run)


def _faults(text: str) -> tuple[str, ...]:
    from simulator.explore.generate import parse_faults

    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_budget(text: str) -> float:
    """``30s``, ``2m``, ``1h``, ``1m30s`` or plain seconds -> seconds (FatalError if not)."""
    found = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if found is None or not any(found.groups()):
        raise FatalError(f"--budget is a time like 30s, 2m or 1h, not {text!r}")
    hours, minutes, seconds = found.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise FatalError("--budget must be more than 0")
    return total


def run(args: argparse.Namespace) -> int:
    try:
        from simulator.explore import explore_bot, load_properties
    except ImportError as exc:  # hypothesis is the explore extra
        raise FatalError(
            f"explore needs Hypothesis ({exc}): pip install 'simulator[explore]'"
        ) from None
    from simulator.scenario import CommandBot

    if args.runs is not None and args.runs < 1:
        raise FatalError(f"--runs must be at least 1, not {args.runs}")
    if args.max_steps < 1:
        raise FatalError(f"--max-steps must be at least 1, not {args.max_steps}")
    if args.time_scale is None:
        # A program runs on the real clock: a generated `wait: 1d` must not take a day.
        args.time_scale = 0.01 if args.bot_command else 1.0
    if not args.time_scale > 0:
        raise FatalError(f"--time-scale must be more than 0, not {args.time_scale}")
    if not args.yield_limit > 0:
        raise FatalError(f"--yield-limit must be more than 0, not {args.yield_limit}")
    budget = parse_budget(args.budget) if args.budget is not None else None
    bot: str | CommandBot = args.bot
    if args.bot_command:
        bot = CommandBot(argv=split_bot_command(args.bot_command))
    try:
        properties = [p for spec in args.property for p in load_properties(spec)]
        found = explore_bot(
            bot,
            world=args.world,
            account=args.account,
            seed=args.seed,
            runs=args.runs,
            budget=budget,
            properties=properties,
            invariants=args.invariants if args.invariants is not None else (),
            max_steps=args.max_steps,
            faults=args.faults,
            out=args.out,
            report=lambda line: print(line, file=sys.stderr, flush=True),
            time_scale=args.time_scale,
            yield_limit=args.yield_limit,
        )
    except ScenarioError as exc:
        raise FatalError(str(exc)) from None
    print(found.summary())
    if found.replay is not None:
        print(f"\nthe shrunk scenario fails like this:\n{found.replay.report}")
    return 0 if found.passed else 1
