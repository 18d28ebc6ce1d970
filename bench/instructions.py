"""A/B in instructions: what a probe costs per unit, counted by valgrind, not timed.

    .venv/bin/python bench/instructions.py OLD NEW [fan-out] [fan-out-33] [echo-node]
                                           [echo-node-pipe] [scenario-file]

On a shared machine the CPU-time A/B of ``ab.py`` moves by ±10-30 % from run to run
(the other jobs' cache and hyperthread pressure lands on both sides unevenly). The
number of instructions a run executes does not: this runs each probe under
``valgrind --tool=cachegrind --cache-sim=no`` (about 40 times slower than normal) at two
sizes, in each checkout, and prints the difference divided by the units between them
(deliveries of the fan-out, round trips of the echoes, sequential or 64 in flight, files
of ``scenario-file``: the load, check and run of a copy of ``scenarios/echo.yaml``): the
setup (imports, logins) cancels out. The collector is off in these runs
(``gc.disable()``): whether a full collection falls inside the window depends on the
allocation counts of the whole run, and one full collection would move the figure by a
quarter; what the collector costs is left to the timed probes. ``PYTHONHASHSEED=0`` and
a seeded trio scheduler make the string hashes and the order of the tasks, and so the
runs, repeatable.

Instructions are not time (a cache miss costs more than an add), but on the hot paths,
which are Python bytecode over small objects, the two move together; use this to tell
whether a change helped, and ``ab.py`` for the factor in CPU time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROBES = {
    # name: (code with SIZE, small size, large size, units per size step)
    "fan-out": (
        "t.group_fan_out(256, SIZE)",
        1,
        9,
        256,
    ),
    "fan-out-33": (
        # The same, 8,192 deliveries between the sizes instead of 2,048: the logins of the
        # 257 clients (most of a run) vary by some 0.5 % from run to run, which the
        # shorter step puts at ±4 % of a delivery's count.
        "t.group_fan_out(256, SIZE)",
        1,
        33,
        256,
    ),
    "echo-node": (
        "t.echo('node', SIZE, pipelined=False)",
        100,
        500,
        1,
    ),
    "echo-node-pipe": (
        "t.echo('node', SIZE, pipelined=True)",
        100,
        500,
        1,
    ),
    # What ``simulator run DIR`` does per file, without its output: load and check a copy
    # of scenarios/echo.yaml (its own name), then run it.
    "scenario-file": (
        "import pathlib, shutil, tempfile; "
        "from simulator.scenario.loader import check_file; "
        "from simulator.scenario.runner import run_scenario_sync; "
        "d = pathlib.Path(tempfile.mkdtemp()); shutil.copytree('scenarios/bots', d / 'bots'); "
        "text = pathlib.Path('scenarios/echo.yaml').read_text(); "
        "paths = [d / f'echo_{i}.yaml' for i in range(SIZE)]; "
        "[p.write_text(text.replace('\\nname: ', f'\\nname: {p.stem} ', 1)) for p in paths]; "
        "assert all(run_scenario_sync(check_file(p)[0]).passed for p in paths); "
        "shutil.rmtree(d)",
        4,
        24,
        1,
    ),
}
_PRELUDE = (
    "import gc, sys; gc.disable(); sys.path.insert(0, 'bench'); import probes_trio as t; "
    # trio shuffles each batch of runnable tasks with a generator seeded from the OS; the
    # same order every run keeps the logins (most of a run) the same size.
    "import trio._core._run; trio._core._run._r.seed(0); "
)
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(checkout: Path, probe: str, size: int) -> int:
    """Instructions of one run of ``probe`` at ``size`` in ``checkout``."""
    code = _PRELUDE + PROBES[probe][0].replace("SIZE", str(size))
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    result = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = _REFS.search(result.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{result.stderr}")
    return int(found.group(1).replace(",", ""))


def per_unit(checkout: Path, probe: str) -> float:
    _code, small, large, units = PROBES[probe]
    with ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda size: count(checkout, probe, size), (small, large))
    return (high - low) / ((large - small) * units)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("probes", nargs="*", default=["fan-out"], choices=sorted(PROBES))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("not installed: valgrind (apt-get install valgrind)")
        return 1
    for probe in args.probes:
        old = per_unit(args.old.resolve(), probe)
        new = per_unit(args.new.resolve(), probe)
        unit = (
            "delivery"
            if probe.startswith("fan-out")
            else {"scenario-file": "file"}.get(probe, "round trip")
        )
        print(
            f"{probe}: instructions per {unit}: A {old:,.0f}  B {new:,.0f}  "
            f"A/B {old / new:.3f} (B does the work in {new / old:.0%} of A's instructions)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
