"""``simulator routes``: the routing table and the documented functions and events.

Prints which stanza each server flow handles (with its PROTOCOL.md section), then every
function and event of the Chat-API documentation with what the simulator does with it.
``--markdown`` prints the same as the Markdown page kept in ``docs/flows.md``.
"""

from __future__ import annotations

import argparse
from typing import Final

from simulator.catalog import event_rows, function_rows, render_markdown

__all__ = ["add_parser", "run"]

NAME: Final = "routes"
HELP: Final = "list the server's routes and the documented functions and events"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/flows.md")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(render_markdown(), end="")
        return 0
    from simulator.server.flows import default_router

    routes = default_router().routes()
    width = max(len(r.pattern) for r in routes)
    print("Routes (any other get/set iq is answered 501 feature-not-implemented):")
    for route in routes:
        print(f"  {route.pattern:<{width}}  {route.flow:<10} {route.section:<6} {route.summary}")
    for title, rows in (
        ("Documented functions", function_rows()),
        ("Documented events", event_rows()),
    ):
        print(f"\n{title}:")
        name_width = max(len(r.name) for r in rows)
        for row in rows:
            print(f"  {row.name:<{name_width}}  {row.status:<14} {row.how.replace('`', '')}")
    return 0
