"""The ``simulator`` command line: ``main(argv) -> int`` and one module per subcommand.

Each subcommand module has ``NAME``, ``HELP``, ``add_parser(subparsers)``, which adds its
parser and sets ``run`` as its default, and ``run(args) -> int``. Adding a subcommand is
writing such a module and listing it in ``COMMANDS`` (its name, module and help line).
Exit codes are decided in :mod:`._errors`.

Start-up: only the module of the command being run is imported (``simulator decode``
does not import the scenario models, nor ``simulator --help`` the server); the other
commands get a parser holding their name and help line only, enough for the list of
commands and for argparse's "invalid choice" message.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, cast

from simulator import __version__
from simulator.cli._errors import exit_code_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "COMMANDS",
    "Command",
    "CommandEntry",
    "build_parser",
    "command_module",
    "console_main",
    "main",
]

Subparsers = argparse._SubParsersAction  # the type argparse gives add_subparsers() results


class Command(Protocol):
    """What a subcommand module provides."""

    @property
    def NAME(self) -> str: ...

    @property
    def HELP(self) -> str: ...

    def add_parser(self, subparsers: Subparsers[argparse.ArgumentParser], /) -> None: ...

    def run(self, args: argparse.Namespace, /) -> int: ...


class CommandEntry(NamedTuple):
    """A subcommand as the top-level parser lists it (``tests/cli`` checks that ``help``
    is the module's ``HELP``)."""

    name: str
    module: str
    help: str


COMMANDS: Final[tuple[CommandEntry, ...]] = (
    CommandEntry(
        "control",
        "simulator.cli.control",
        "drive a running server's control API (faults, restart, state)",
    ),
    CommandEntry(
        "decode",
        "simulator.cli.decode",
        "print the node held by hex bytes (a node, or a whole plaintext frame)",
    ),
    CommandEntry(
        "desk",
        "simulator.cli.desk",
        "chat with your bot in a browser: every stanza shown, the session saved as a scenario",
    ),
    CommandEntry(
        "explore",
        "simulator.cli.explore",
        "generate runs against a bot until a property fails; shrink it to a scenario",
    ),
    CommandEntry(
        "routes",
        "simulator.cli.routes",
        "list the server's routes and the documented functions and events",
    ),
    CommandEntry("run", "simulator.cli.run", "run scenario files against the bot under test"),
    CommandEntry("schema", "simulator.cli.schema", "print the JSON Schema of scenario files"),
    CommandEntry(
        "serve",
        "simulator.cli.serve",
        "serve real clients (yowsup, Chat-API, any language) over TCP",
    ),
    CommandEntry(
        "validate",
        "simulator.cli.validate",
        "check scenario files without running them; list every problem",
    ),
)


def command_module(entry: CommandEntry) -> Command:
    """The module of a subcommand (imported now if it was not yet)."""
    return cast("Command", importlib.import_module(entry.module))


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every subcommand whole, or with ``argv``, only the one
    ``argv`` names (the others by name and help line, their modules not imported)."""
    wanted = _named_command(argv) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="simulator", description="A local fake of the 2014-2016 WhatsApp service."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for entry in COMMANDS:
        if argv is None or entry.name == wanted:
            command_module(entry).add_parser(subparsers)
        else:
            subparsers.add_parser(entry.name, help=entry.help)
    for sub in subparsers.choices.values():
        # Descriptions and epilogs are written laid out (examples one per line): keep them.
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs: its first word that is not an option (the top-level
    parser has no option taking a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""

    words = list(sys.argv[1:] if argv is None else argv)

    def dispatch() -> int:
        args = build_parser(words).parse_args(words)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)

    return exit_code_of(dispatch)


def console_main() -> None:
    """Entry point of the ``simulator`` console script."""
    raise SystemExit(main())
