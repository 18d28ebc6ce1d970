"""The garbage collector during a command's start-up: off while modules and files are
loaded, then on again for what the command does next, in every way out."""

from __future__ import annotations

import contextlib
import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.cli._startup import startup

ECHO = Path(__file__).resolve().parent.parent.parent / "scenarios" / "echo.yaml"


def test_the_collector_is_off_inside_and_on_again_after_with_what_was_made_frozen() -> None:
    assert gc.isenabled()
    with startup():
        assert not gc.isenabled()
        made = [object()]
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert made


def test_an_error_during_the_start_up_turns_the_collector_on_again() -> None:
    with pytest.raises(RuntimeError, match="broken"), startup():
        raise RuntimeError("broken")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with startup():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_command_leaves_the_collector_on(command: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([command, str(ECHO)]) == 0
    assert gc.isenabled()


def test_a_file_with_problems_leaves_the_collector_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: [{nope: 1}]\n", "utf-8")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", str(bad)]) != 0
    assert gc.isenabled()


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_command_freezes_what_its_start_up_made(command: str) -> None:
    # In a fresh interpreter: nothing is frozen until the command's start-up is over.
    code = (
        "import contextlib, gc, io\n"
        "from simulator.cli import main\n"
        "assert gc.get_freeze_count() == 0\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main([{command!r}, {str(ECHO)!r}]) == 0\n"
        "print(gc.get_freeze_count(), gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    frozen, enabled = done.stdout.split()
    assert int(frozen) > 10_000  # the scenario engine's modules, classes and validators
    assert enabled == "True"
