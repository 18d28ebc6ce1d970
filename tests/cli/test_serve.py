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

from simulator.cli import build_parser, main
from simulator.cli.serve import exposure_warning, parse_account, server_config
from simulator.errors import FatalError
from simulator.server import ServerConfig
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
    assert "warning" not in err  # bound to loopback: nothing to warn about


@pytest.mark.parametrize(
    ("host", "warned"),
    [
        ("127.0.0.1", False),
        ("127.0.0.5", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.20", True),
    ],
)
def test_serve_warns_when_bound_beyond_loopback(host: str, warned: bool) -> None:
    warning = exposure_warning(host)
    assert (warning is not None) == warned
    if warning is not None:
        assert warning.startswith(f"warning: listening on {host}, reachable from other machines")


def test_the_limit_flags_reach_the_server_config() -> None:
    flags = "--max-connections 7 --max-pending-logins 3 --login-timeout 5 --frame-timeout 2.5"
    flags += " --max-frame 8000 --outbox-limit 11 --offline-limit 12 --idle-timeout 0"
    flags += " --http-max-connections 13 --http-max-body 14"
    args = build_parser().parse_args(["serve", *flags.split()])
    config = server_config(args)
    assert (config.max_connections, config.max_pending_logins) == (7, 3)
    assert (config.login_timeout, config.frame_timeout, config.idle_timeout) == (5.0, 2.5, None)
    assert (config.wire.max_frame, config.wire.max_login_frame) == (8000, 8000)
    assert (config.outbox_limit, config.offline_limit) == (11, 12)
    assert (config.http_max_connections, config.http_max_body) == (13, 14)
    assert config.epoch is None


def test_the_limit_flags_default_to_the_server_config_defaults_but_idle_users_are_probed() -> None:
    config = server_config(build_parser().parse_args(["serve"]))
    # serve differs from the Python defaults in exactly these: the wall clock, no seed,
    # login throttling on, idle peers probed, handler bugs logged rather than collected.
    assert config.login_throttle is not None
    assert config == ServerConfig(
        epoch=None,
        seed=None,
        idle_timeout=600,
        login_throttle=config.login_throttle,
        strict=False,
    )


def test_a_frame_limit_beyond_the_wire_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--max-frame", "2000000"]) == 1
    err = capsys.readouterr().err
    assert err == "error: --max-frame 2000000: a frame holds at most 1048575 bytes\n"


def test_a_limit_below_one_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--max-connections", "0"]) == 2
    assert "'0' is not a whole number of at least 1" in capsys.readouterr().err


def test_tls_with_an_unwritable_ca_path_is_one_sentence_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "no-such-dir" / "ca.pem"
    assert main(["serve", "--tls", "--http-port", "0", "--ca-cert", str(where)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --ca-cert {where}: cannot write it: ")
    assert err.count("\n") == 1
