"""simulator.trio_clock hands out trio.testing's own objects, without importing pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio
import trio.testing

from simulator import trio_clock


def test_the_objects_are_trio_testings_own() -> None:
    assert trio_clock.MockClock is trio.testing.MockClock
    assert trio_clock.wait_all_tasks_blocked is trio.testing.wait_all_tasks_blocked


def test_importing_it_imports_neither_trio_testing_nor_pytest() -> None:
    code = (
        "import sys, simulator.trio_clock;"
        "print(sorted(m for m in ('pytest', 'trio.testing') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_clock_runs_virtual_time() -> None:
    async def main() -> float:
        start = trio.current_time()
        await trio.sleep(3600)
        await trio_clock.wait_all_tasks_blocked()
        return trio.current_time() - start

    assert trio.run(main, clock=trio_clock.MockClock(autojump_threshold=0)) == 3600


async def test_an_async_test_runs_on_virtual_time() -> None:
    # tests/conftest.py gives every async test an autojumping MockClock.
    clock = trio.lowlevel.current_clock()
    assert isinstance(clock, trio.testing.MockClock)
    start = trio.current_time()
    await trio.sleep(86_400)
    assert trio.current_time() - start == 86_400


async def test_a_clock_the_test_asks_for_is_the_one_it_gets(
    mock_clock: trio.testing.MockClock,
) -> None:
    assert trio.lowlevel.current_clock() is mock_clock


@pytest.mark.real_clock
async def test_a_real_clock_test_runs_on_trios_own_clock() -> None:
    assert not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
