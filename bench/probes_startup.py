"""Start-up and suite probes: wall time of whole processes, from start to exit.

* ``python -c pass`` is the floor every command pays;
* ``import simulator.scenario`` (its loader and runner), ``simulator validate one.yaml``,
  ``simulator run one.yaml``;
* a suite of generated scenario files (copies of ``scenarios/echo.yaml`` with their bot),
  run by ``simulator run DIR`` and by ``pytest --simulator-scenarios DIR`` with
  ``-n 0`` and ``-n 2`` (pytest-xdist).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "echo.yaml"
BOTS = ROOT / "scenarios" / "bots"


def simulator_command() -> list[str]:
    """The ``simulator`` console script next to this interpreter, or ``python -m simulator``."""
    script = Path(sys.executable).parent / "simulator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulator"]


def wall(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds from starting ``argv`` to its exit; a failing command is an error."""
    # Start-up is measured with bytecode cached, as users run it. Python reads any
    # non-empty PYTHONDONTWRITEBYTECODE (even "0") as "do not write .pyc files", which
    # made every probe compile the sources again: the variable is left out instead.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {output[-2000:]}")
    return elapsed


def make_suite(folder: Path, count: int) -> Path:
    """``count`` copies of the echo scenario (distinct names) and its bot under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(BOTS, folder / "bots", dirs_exist_ok=True)
    text = EXAMPLE.read_text()
    first, rest = text.split("\nname: ", 1)
    _, rest = rest.split("\n", 1)
    for index in range(count):
        (folder / f"echo_{index:04d}.yaml").write_text(
            f"{first}\nname: echo number {index}\n{rest}"
        )
    return folder


def python_pass() -> float:
    return wall([sys.executable, "-c", "pass"])


def import_scenario() -> float:
    # simulator.scenario loads its names on first use: import what a run uses (the
    # loader with the file models, and the runner with the server and the client).
    return wall(
        [sys.executable, "-c", "import simulator.scenario.loader, simulator.scenario.runner"]
    )


def validate_one(folder: Path) -> float:
    return wall([*simulator_command(), "validate", "echo_0000.yaml"], cwd=folder)


def run_one(folder: Path) -> float:
    return wall([*simulator_command(), "run", "echo_0000.yaml"], cwd=folder)


def run_suite(folder: Path) -> float:
    return wall([*simulator_command(), "run", "."], cwd=folder)


def pytest_suite(folder: Path, workers: int) -> float:
    # pytest-asyncio (dpytest's dependency, in the bench environment) is not ours to time.
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    argv += ["-p", "no:asyncio"]
    argv += ["-n", str(workers), "--simulator-scenarios", ".", "."]
    return wall(argv, cwd=folder)
