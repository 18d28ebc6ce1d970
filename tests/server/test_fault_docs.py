"""The README's "Faults" table stays true: every Python example and every
``simulator control fault add`` example in it sets the fault it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import trio

from simulator.cli import build_parser
from simulator.cli.control import _fault_spec
from simulator.server import faults as model
from simulator.server import open_server
from simulator.server.fault_spec import FaultSpec

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<action>\w+)\(.*?\| `(?P<python>add\(.*?\))`<br>`(?P<cli>--.*?)`", re.M)
EXAMPLES = [m.groupdict() for m in ROW.finditer(README.read_text("utf-8"))]
PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
ACCOUNTS = [(f"49111000000{n}", PASSWORD, name) for n, name in enumerate(["alice", "bob", "bot"])]


def test_the_table_lists_every_action() -> None:
    assert sorted(e["action"] for e in EXAMPLES) == sorted(
        name
        for name in model.__all__
        if isinstance(getattr(model, name), type)
        and hasattr(getattr(model, name), "name")
        and name not in ("Fault", "FaultHit")
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["action"] for e in EXAMPLES])
async def test_each_example_sets_its_fault(example: dict[str, str]) -> None:
    async with open_server(accounts=ACCOUNTS) as server:
        namespace = {name: getattr(model, name) for name in model.__all__}
        fault = eval(example["python"], {"add": server.faults.add, **namespace})
        assert type(fault.action).__name__ == example["action"]
        argv = ["control", "--port", "1", "fault", "add", *shlex.split(example["cli"])]
        spec = FaultSpec.model_validate(_fault_spec(build_parser().parse_args(argv)))
        from_cli = spec.add_to(server.faults)
        assert type(from_cli.action) is type(fault.action)
        server.faults.clear()
        await trio.lowlevel.checkpoint()
