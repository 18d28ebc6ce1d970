"""Start-up: each command imports what it needs and nothing more (no timings here; the
figures are in ``bench/``).

Every check runs the command in a fresh interpreter and lists which of a few heavy
modules it imported: pytest (through ``trio.testing``) never, pydantic and the scenario
models only for the commands that read scenario files, the server only where it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import COMMANDS, command_module

ROOT = Path(__file__).resolve().parent.parent.parent
ECHO = ROOT / "scenarios" / "echo.yaml"

HEAVY = (
    "pytest",
    "trio",
    "trio.testing",
    "pydantic",
    "simulator.scenario",
    "simulator.server",
    "simulator.client",
    "cryptography.x509",
    "h11",
)


def imported_by(argv: list[str]) -> set[str]:
    """Which of ``HEAVY`` running ``simulator ARGV`` imported (its output is dropped)."""
    code = (
        "import contextlib, io, json, sys\n"
        "from simulator.cli import main\n"
        "quiet = io.StringIO()\n"
        "with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):\n"
        f"    code = main({argv!r})\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    status, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == 0, done.stdout + done.stderr
    return set(modules)


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["decode", "--dialect", "1.5", "f80102"], ["schema", "--help"]],
    ids=" ".join,
)
def test_commands_that_read_no_scenario_import_neither_models_nor_server(argv: list[str]) -> None:
    assert imported_by(argv) == set()


def test_routes_imports_the_server_but_no_scenario_model() -> None:
    found = imported_by(["routes"])
    assert "simulator.server" in found
    assert not found & {"pytest", "trio.testing", "pydantic", "simulator.scenario"}


@pytest.mark.parametrize("command", ["run", "validate"])
def test_running_or_checking_a_file_imports_neither_pytest_nor_tls(command: str) -> None:
    found = imported_by([command, str(ECHO)])
    assert "simulator.scenario" in found
    # Nor HTTP: the echo scenario uploads no media (h11 loads with the first request).
    assert not found & {"pytest", "trio.testing", "cryptography.x509", "h11"}


def test_the_command_list_names_each_module_with_its_own_help_line() -> None:
    for entry in COMMANDS:
        module = command_module(entry)
        assert (entry.name, entry.help) == (module.NAME, module.HELP)


def test_a_file_builds_the_validators_of_its_own_steps_only() -> None:
    code = (
        "import json, sys\n"
        "from simulator.scenario import check_file, document\n"
        f"scenario, problems = check_file({str(ECHO)!r})\n"
        "assert scenario is not None and not problems, problems\n"
        "made = sorted(document._MADE)\n"
        "families = ('fault_steps', 'flow_steps', 'service_steps')\n"
        "other = [f for f in families if 'simulator.scenario.' + f in sys.modules]\n"
        "built = sorted(w.KEY for w in document.STEP_TYPES if w.__pydantic_complete__)\n"
        "print(json.dumps([made, other, built]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    made, other, built = json.loads(done.stdout.strip().splitlines()[-1])
    # Only the wrappers of its steps are made, and no module of steps it does not use (the
    # faults', the flows', the service's) is imported; of every wrapper, only those of its
    # steps are built.
    assert made == ["expect", "expect_none", "login", "logout", "read", "send"]
    assert other == []
    assert built == made


def _modules_after(code: str, names: tuple[str, ...]) -> set[str]:
    check = f"\nimport sys\nprint([m for m in {names!r} if m in sys.modules])\n"
    done = subprocess.run(
        [sys.executable, "-c", code + check], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_validating_a_file_starts_neither_the_runner_nor_the_server() -> None:
    code = (
        "import contextlib, io\n"
        "from simulator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['validate', {str(ECHO)!r}]) == 0\n"
    )
    names = ("simulator.scenario.runner", "simulator.server.server", "simulator.server.http")
    assert _modules_after(code, names) == set()


def test_finding_scenario_files_imports_no_engine() -> None:
    # What the pytest plugin does in every process, xdist's controller included.
    code = "from simulator.scenario.paths import collect_paths\ncollect_paths(['scenarios'])\n"
    names = ("pydantic", "trio", "simulator.scenario.loader", "simulator.server")
    assert _modules_after(code, names) == set()
