"""The shim over trio's private scheduler RNG (``simulator.trio_scheduler``)."""

from __future__ import annotations

import random

import trio
import trio.lowlevel

from simulator.trio_scheduler import scheduler_random, seed_scheduler


def test_trio_still_keeps_its_scheduler_rng_where_the_shim_looks() -> None:
    # If this fails, a trio release moved ``trio._core._run._r``: transcripts may be ordered
    # differently from run to run until the shim finds it again.
    assert isinstance(scheduler_random(), random.Random)


async def _order(seed: int) -> list[int]:
    seed_scheduler(seed)
    order: list[int] = []

    async def task(index: int) -> None:
        for _ in range(3):
            await trio.lowlevel.checkpoint()
        order.append(index)

    async with trio.open_nursery() as nursery:
        for index in range(20):
            nursery.start_soon(task, index)
    return order


def test_a_seed_makes_the_scheduling_order_repeat() -> None:
    first = trio.run(_order, 7)
    assert trio.run(_order, 7) == first
    # The scheduler does shuffle (else seeding would prove nothing): some seed changes it.
    assert any(trio.run(_order, seed) != first for seed in range(8, 20))
