"""Fuzz every route of a live server over every transport (see ``route_fuzz``).

The short runs are part of CI. The long run (``pytest --long -k million``, at least a
million stanzas) is deselected unless ``--long`` is given.
"""

from __future__ import annotations

import os

import pytest

from simulator.server.flows import default_router
from tests.server.route_fuzz import run_fuzz

ALL_ROUTES = {route.pattern for route in default_router().routes()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("transport", "stanzas"), [("nodes", 10000), ("bytes", 3000), ("tcp", 3000)]
)
async def test_fuzzed_stanzas_on_every_route_never_disturb_the_server(
    transport: str, stanzas: int
) -> None:
    report = await run_fuzz(transport=transport, stanzas=stanzas, seed=20150101)
    assert report.stanzas == stanzas
    assert report.routes == ALL_ROUTES, "every route of the table was reached"
    assert report.reconnects > 0, "the fuzz really ends sessions (and reconnects them)"


@pytest.mark.long
@pytest.mark.parametrize("transport", ["nodes", "tcp"])
async def test_a_million_fuzzed_stanzas(transport: str) -> None:
    stanzas = int(os.environ.get("SIMULATOR_FUZZ_STANZAS", "1000000"))
    seed = int(os.environ.get("SIMULATOR_FUZZ_SEED", "1"))
    report = await run_fuzz(transport=transport, stanzas=stanzas, seed=seed, batch=200)
    print(
        f"{transport}: {report.stanzas} stanzas sent, {report.handled} dispatched,"
        f" {report.batches} batches, {report.reconnects} sessions ended by the server:"
        f" {report.closed}"
    )
    assert report.routes == ALL_ROUTES
