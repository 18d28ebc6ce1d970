"""The ``simulator`` command line: ``main(argv) -> int`` and one module per subcommand.

Each subcommand module has ``add_parser(subparsers)``, which adds its parser and sets
``run`` as its default, and ``run(args) -> int``. Adding a subcommand is writing such a
module and listing it in ``COMMANDS``. Exit codes are decided in :mod:`._errors`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final, Protocol

from simulator import __version__
from simulator.cli import control, decode, desk, explore, routes, run, schema, serve, validate
from simulator.cli._errors import exit_code_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "Command", "build_parser", "console_main", "main"]

Subparsers = argparse._SubParsersAction  # the type argparse gives add_subparsers() results


class Command(Protocol):
    """What a subcommand module provides."""

    def add_parser(self, subparsers: Subparsers[argparse.ArgumentParser], /) -> None: ...

    def run(self, args: argparse.Namespace, /) -> int: ...


COMMANDS: Final[tuple[Command, ...]] = (
    control,
    decode,
    desk,
    explore,
    routes,
    run,
    schema,
    serve,
    validate,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulator", description="A local fake of the 2014-2016 WhatsApp service."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    for sub in subparsers.choices.values():
        # Descriptions and epilogs are written laid out (examples one per line): keep them.
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""

    def dispatch() -> int:
        args = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)

    return exit_code_of(dispatch)


def console_main() -> None:
    """Entry point of the ``simulator`` console script."""
    raise SystemExit(main())
