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
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "echo.yaml"
BOTS = ROOT / "scenarios" / "bots"


def simulator_command() -> list[str]:
    """The ``simulator`` console script next to this interpreter, or ``python -m simulator``."""
    script = Path(sys.executable).parent / "simulator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulator"]


def _environment() -> dict[str, str]:
    # Start-up is measured with bytecode cached, as users run it. Python reads any
    # non-empty PYTHONDONTWRITEBYTECODE (even "0") as "do not write .pyc files", which
    # made every probe compile the sources again: the variable is left out instead.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cpu(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds of CPU (user + system) ``argv``'s process (and its children) spent until it
    exited: on a loaded machine this moves far less than the wall time, which mostly
    measures the wait for a core. A failing command is an error."""
    process = subprocess.Popen(
        argv, cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = process.communicate()
    if process.returncode != 0:
        text = output.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): {text[-2000:]}")
    # RUSAGE_CHILDREN holds every waited-for child of this process: the probe runs one.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds from starting ``argv`` to its exit; a failing command is an error."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=_environment(), capture_output=True, check=False)
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


def pytest_argv(workers: int) -> list[str]:
    # pytest-asyncio (dpytest's dependency, in the bench environment) is not ours to time.
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    argv += ["-p", "no:asyncio"]
    return [*argv, "-n", str(workers), "--simulator-scenarios", ".", "."]


def pytest_suite(folder: Path, workers: int) -> float:
    return wall(pytest_argv(workers), cwd=folder)


def cpu_probe(what: str, files: int = 1) -> dict[str, float]:
    """``bench/ab.py``'s start-up probes: milliseconds of CPU of one command, run in a
    fresh suite of ``files`` copies of the echo scenario (the checkout under test is the
    one on ``PYTHONPATH``)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_suite(Path(tmp), files)
        argv = {
            "pass": [sys.executable, "-c", "pass"],
            "import": [
                sys.executable,
                "-c",
                "import simulator.scenario.loader, simulator.scenario.runner",
            ],
            "validate": [sys.executable, "-m", "simulator", "validate", "echo_0000.yaml"],
            "run": [sys.executable, "-m", "simulator", "run", "echo_0000.yaml"],
            "suite": [sys.executable, "-m", "simulator", "run", "."],
            "pytest-n0": pytest_argv(0),
            "pytest-n2": pytest_argv(2),
        }[what]
        return {"cpu_ms": cpu(argv, cwd=folder) * 1e3}
