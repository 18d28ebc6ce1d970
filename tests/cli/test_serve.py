"""``simulator serve``: bad input gets one readable sentence and exit 1 (the serving itself is
exercised with real clients in tests/interop)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.cli.serve import parse_account
from simulator.errors import FatalError
from simulator.world import default_password


def test_an_account_without_password_gets_the_derived_one() -> None:
    assert parse_account("491110000001") == ("491110000001", default_password("491110000001"), "")
    assert parse_account("491110000001:AQID:Alice") == ("491110000001", "AQID", "Alice")


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ("alice", "the phone must be 5 to 15 digits"),
        ("491110000001:not base64!", "the password must be base64"),
    ],
)
def test_a_bad_account_is_one_sentence_and_exit_1(
    spec: str, sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--account", spec]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --account") and sentence in err
    assert err.count("\n") == 1
    with pytest.raises(FatalError):
        parse_account(spec)


def test_a_bad_world_file_lists_every_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("accounts:\n  - phone: abc\n  - {phone: '491110000001', colour: red}\n")
    assert main(["serve", "--world", str(world)]) == 1
    err = capsys.readouterr().err
    assert f"{world} is not a valid world file" in err
    assert f"{world}:2:" in err and f"{world}:3:" in err


def test_a_port_in_use_is_one_sentence_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_end_serve_cleanly_with_exit_0(signum: int) -> None:
    world = Path(__file__).resolve().parents[2] / "scenarios" / "worlds" / "team.world.yaml"
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--world", str(world)]
    command += ["--account", "491110000099"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        watchdog = threading.Timer(30, proc.kill)  # a hang fails the test instead of stalling it
        watchdog.start()
        try:
            assert proc.stdout is not None and proc.stderr is not None
            first = proc.stdout.readline()
            assert first.startswith("listening on 127.0.0.1:")
            proc.send_signal(signum)
            out = first + proc.stdout.read()
            err = proc.stderr.read()
        finally:
            watchdog.cancel()
            proc.kill()
    assert proc.returncode == 0
    assert "  account 491110000001 password BZcTHLrDUDNFr0un8OkYiBaMzX8= Alice\n" in out
    assert "  account 491110000099 password " in out
    assert "  group 491110000001-1400000000@g.us Release team\n" in out
    assert err.strip().endswith("stopped")


def test_tls_with_an_unwritable_ca_path_is_one_sentence_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "no-such-dir" / "ca.pem"
    assert main(["serve", "--tls", "--http-port", "0", "--ca-cert", str(where)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --ca-cert {where}: cannot write it: ")
    assert err.count("\n") == 1
