"""Explore: let the simulator find the bug in a bot, and hand back the shortest scenario.

    from simulator.explore import explore_bot

    found = explore_bot("bots.echo:run", runs=200, seed=0)
    assert found.passed, found.summary()

Generated runs (users of the world, and new ones, doing what users do, with time jumps,
and with ``faults=`` the service's faults) are scenarios: lists of steps of the file
format (:mod:`.generate`), run through the public scenario API on virtual time.
Properties (:mod:`.properties`) are checked on each run's transcript (:mod:`.library`
holds more to take off the shelf); Hypothesis shrinks a failing run and the explorer
writes it as a scenario file that fails with ``simulator run`` (:mod:`.engine`).
"""

from __future__ import annotations

from simulator.explore.api import explore_bot, load_invariants, load_properties
from simulator.explore.cast import DEFAULT_WORLD, Cast, load_world
from simulator.explore.engine import DEFAULT_RUNS, Exploration, Finding, explore, scenario_of
from simulator.explore.generate import FAULTS, runs
from simulator.explore.properties import BUILT_IN, Event, Property, Run, Violation, invariant

__all__ = [
    "BUILT_IN",
    "DEFAULT_RUNS",
    "DEFAULT_WORLD",
    "FAULTS",
    "Cast",
    "Event",
    "Exploration",
    "Finding",
    "Property",
    "Run",
    "Violation",
    "explore",
    "explore_bot",
    "invariant",
    "load_invariants",
    "load_properties",
    "load_world",
    "runs",
    "scenario_of",
]
