"""The one place the simulator reaches into trio's private parts: its scheduler's RNG.

The scenario runner and the pytest plugin's ``simulator_server`` fixture both seed it.

trio shuffles each batch of runnable tasks with a module-level ``random.Random`` (to flush
out ordering bugs); which of two ready sessions goes first decides the order of a
transcript. Seeding it (as hypothesis does for trio's own tests) makes a run repeatable.
It is a private attribute, ``trio._core._run._r``: if a trio release drops or renames it,
runs stay correct but transcripts may be ordered differently between runs, and
``tests/scenario/test_determinism.py`` fails to say so.
"""

from __future__ import annotations

import random

import trio

__all__ = ["scheduler_random", "seed_scheduler"]


def scheduler_random() -> random.Random | None:
    """trio's scheduler RNG, or None if this trio keeps it elsewhere."""
    run_module = getattr(getattr(trio, "_core", None), "_run", None)
    found = getattr(run_module, "_r", None)
    return found if isinstance(found, random.Random) else None


def seed_scheduler(seed: int) -> None:
    """Make trio's task scheduling repeat from run to run (a no-op if the RNG moved)."""
    rng = scheduler_random()
    if rng is not None:
        rng.seed(seed)
