"""``simulator schema``: print the JSON Schema of scenario files.

    simulator schema > scenarios/scenario.schema.json

Editors that speak the yaml-language-server protocol complete and check scenario files
whose first line is ``# yaml-language-server: $schema=scenario.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from simulator.errors import FatalError

if TYPE_CHECKING:
    import argparse

    from simulator.cli import Subparsers

__all__ = ["add_parser", "run", "schema_text"]

NAME: Final = "schema"
HELP: Final = "print the JSON Schema of scenario files"


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    parser.set_defaults(run=run)


def schema_text() -> str:
    """The schema as the committed ``scenario.schema.json`` holds it."""
    from simulator.scenario import scenario_json_schema

    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, "utf-8")
    except OSError as exc:
        raise FatalError(f"cannot write {args.output}: {exc.strerror}") from None
    return 0
