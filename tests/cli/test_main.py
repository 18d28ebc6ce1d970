"""The command-line wiring: subcommands, exit codes, ``python -m simulator``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.cli import main
from simulator.cli._errors import exit_code_of
from simulator.errors import FatalError

if TYPE_CHECKING:
    import pytest


def test_main_requires_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: simulator" in capsys.readouterr().err


def test_main_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_main_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("simulator ")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "decode" in out
    assert "serve" in out


def test_exit_code_success() -> None:
    assert exit_code_of(lambda: 0) == 0


def test_exit_code_fatal_error(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> int:
        raise FatalError("the world file does not exist")

    assert exit_code_of(command) == 1
    assert capsys.readouterr().err == "error: the world file does not exist\n"


def test_exit_code_interrupted(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> int:
        raise KeyboardInterrupt

    assert exit_code_of(command) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_exit_code_bug_saves_the_traceback_where_the_user_runs_the_tool(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def command() -> int:
        raise ZeroDivisionError("oops")

    monkeypatch.delenv("SIMULATOR_CRASH_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert exit_code_of(command) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected ZeroDivisionError: oops (this is a bug; traceback in ")
    path = Path(err.rstrip().removesuffix(")").rsplit(" ", 1)[-1])
    assert path.resolve().parent == tmp_path.resolve()
    assert "ZeroDivisionError: oops" in path.read_text("utf-8")
    assert "in command" in path.read_text("utf-8")


def test_exit_code_bug_saves_the_traceback_where_the_user_says(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def command() -> int:
        raise KeyError("gone")

    monkeypatch.setenv("SIMULATOR_CRASH_DIR", str(tmp_path / "crashes"))
    (tmp_path / "crashes").mkdir()
    assert exit_code_of(command) == 3
    err = capsys.readouterr().err
    [log] = (tmp_path / "crashes").glob("simulator-crash-*.log")
    assert err.rstrip().endswith(f"traceback in {log})")
    assert "KeyError: 'gone'" in log.read_text("utf-8")


def test_exit_code_bug_when_the_crash_folder_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def command() -> int:
        raise KeyError("gone")

    monkeypatch.setenv("SIMULATOR_CRASH_DIR", str(tmp_path / "nowhere"))
    assert exit_code_of(command) == 3
    err = capsys.readouterr().err
    assert "KeyError: 'gone'" in err  # the traceback is printed instead
    assert "(this is a bug; cannot save the traceback: " in err


def test_exit_code_system_exit_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> int:
        raise SystemExit("gave up")

    assert exit_code_of(command) == 1
    assert capsys.readouterr().err == "error: gave up\n"


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "decode", "--dialect", "1.5", "--compact", "f80102"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "<stream:end/>\n", "")


def test_a_closed_stdout_ends_quietly_with_the_sigpipe_status() -> None:
    """``simulator routes | head -1``: the reader has gone away; no "this is a bug" message.

    The reading end is closed before the command writes anything, so every write fails
    (as the writes after ``head`` exits do), deterministically.
    """
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "simulator", "routes"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (141, "")


def test_a_broken_pipe_inside_a_nursery_is_the_same_quiet_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def command() -> int:
        raise ExceptionGroup("nursery", [BrokenPipeError(32, "Broken pipe")])

    assert exit_code_of(command) == 141
    assert capsys.readouterr().err == ""
