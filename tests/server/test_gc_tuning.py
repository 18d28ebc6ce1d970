"""While a server runs, CPython's collector scans its young generation less often
(``GC_YOUNG_THRESHOLD``): full collections, which scan every session's objects, stop
dominating logins as sessions pile up. The thresholds are put back afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from simulator.client import open_client
from simulator.collector import GC_YOUNG_THRESHOLD
from simulator.server import open_server
from tests.server.conftest import ALICE, PASSWORD


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


async def test_servers_raise_the_young_threshold_while_any_runs(
    default_thresholds: tuple[int, int, int],
) -> None:
    async with open_server(accounts=[(ALICE, PASSWORD)]) as server:
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
        async with open_server():
            pass
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)  # one is still running
        async with open_client(server, ALICE, PASSWORD) as alice:
            await alice.ping(timeout=5)
    assert gc.get_threshold() == default_thresholds


async def test_thresholds_set_meanwhile_or_higher_ones_are_left_alone(
    default_thresholds: tuple[int, int, int],
) -> None:
    async with open_server():
        gc.set_threshold(500, 5, 5)  # somebody else's choice
    assert gc.get_threshold() == (500, 5, 5)
    gc.set_threshold(50_000, 10, 10)
    async with open_server():
        assert gc.get_threshold() == (50_000, 10, 10)
    assert gc.get_threshold() == (50_000, 10, 10)
    gc.set_threshold(0, 10, 10)  # collection off: stays off
    async with open_server():
        assert gc.get_threshold() == (0, 10, 10)
