"""``simulator desk`` and ``simulator serve --desk-port``: start, serve the page, stop with
exit 0; bad input is one sentence and exit 1. The page itself: tests/desk."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio

from simulator.cli import main
from tests.desk.wsclient import desk_socket

ROOT = Path(__file__).resolve().parents[2]
WORLD = ROOT / "scenarios" / "worlds" / "team.world.yaml"


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--bot-account", "zed"], "error: --bot-account 'zed': no such account"),
        (["--bot", "nowhere.at.all:run"], "error: --bot: cannot import the bot module"),
        (["--bot", "bots.echo"], "error: --bot: a bot is named package.module:callable"),
        (["--bot-command", "x", "--bot-account", "zed"], "error: --bot-account 'zed': no such"),
        (["--bot-command", "  "], "error: --bot-command is empty\n"),
    ],
)
def test_bad_arguments_are_one_sentence_and_exit_1(
    args: list[str], sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["desk", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(sentence)
    assert err.count("\n") == 1


def test_a_page_port_in_use_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["desk", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_a_bad_world_file_lists_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("accounts:\n  - phone: abc\n")
    assert main(["desk", "--world", str(world)]) == 1
    assert f"{world}:2:" in capsys.readouterr().err


def _run_until_signal(
    command: list[str],
    signum: int,
    *,
    lines: int,
    probe: Callable[[str, int], Awaitable[str]] | None = None,
) -> tuple[int, str, str, str]:
    """Start ``command``, read ``lines`` lines, look at the page (``probe``: by default the
    first message's names), send ``signum``."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT / "scenarios"
    ) as proc:
        watchdog = threading.Timer(30, proc.kill)  # a hang fails the test instead of stalling it
        watchdog.start()
        try:
            assert proc.stdout is not None and proc.stderr is not None
            out = "".join(proc.stdout.readline() for _ in range(lines))
            url = next(line for line in out.splitlines() if line.startswith("desk on "))[8:]
            with urllib.request.urlopen(url) as response:  # loopback only
                page = response.read().decode()
            assert '<script src="desk.js"' in page
            host, port = url.removeprefix("http://").rstrip("/").split(":")
            world = trio.run(probe or _first_message, host, int(port))
            proc.send_signal(signum)
            out += proc.stdout.read()
            err = proc.stderr.read()
        finally:
            watchdog.cancel()
            proc.kill()
    return proc.returncode, out, err, world


async def _first_message(host: str, port: int) -> str:
    async with desk_socket(host, port) as page:
        message = await page.receive()
        assert message["type"] == "world"
        names = ",".join(a["name"] for a in message["accounts"])
        return f"{names} advance={message['can_advance']}"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_desk_serves_the_page_until_a_signal_then_exits_0(signum: int) -> None:
    command = [sys.executable, "-m", "simulator", "desk", "--bot", "bots.echo:run"]
    code, out, err, names = _run_until_signal(command, signum, lines=3)
    assert code == 0
    assert out.startswith("desk on http://127.0.0.1:")
    assert "\nlistening on 127.0.0.1:" in out
    assert "  bot bots.echo:run as 491119999999@s.whatsapp.net\n" in out
    assert names == "Alice,Bob,Carol,Bot advance=True"
    assert err.strip().endswith("stopped")


def test_serve_desk_port_adds_the_page_to_a_plain_server() -> None:
    command = [sys.executable, "-m", "simulator", "serve", "--world", str(WORLD)]
    command += ["--desk-port", "0"]
    code, out, err, names = _run_until_signal(command, signal.SIGTERM, lines=2)
    assert code == 0
    assert out.startswith("desk on http://127.0.0.1:")
    assert "\nlistening on 127.0.0.1:" in out
    assert names == "Alice,Bob,Carol,Dave,Moderator advance=False"  # the wall clock
    assert err.strip().endswith("stopped")


async def _set_alices_status(host: str, port: int) -> str:
    async with desk_socket(host, port) as page:
        result = await page.request("status", **{"as": "alice", "text": "kept in the file"})
        assert result["ok"] is True, result
        return "set"


async def _alices_status(host: str, port: int) -> str:
    async with desk_socket(host, port) as page:
        world = await page.receive()
        status: str = next(a["status"] for a in world["accounts"] if a["name"] == "Alice")
        return status


def test_desk_state_keeps_what_users_did_across_runs(tmp_path: Path) -> None:
    """``--state FILE``: the first run fills the file with the world; what a user did there
    (Alice's status) is what the second run serves."""
    state = tmp_path / "desk.sqlite"
    command = [sys.executable, "-m", "simulator", "desk", "--state", str(state)]
    code, _out, _err, done = _run_until_signal(
        command, signal.SIGTERM, lines=2, probe=_set_alices_status
    )
    assert (code, done) == (0, "set")
    code, _out, _err, status = _run_until_signal(
        command, signal.SIGTERM, lines=2, probe=_alices_status
    )
    assert (code, status) == (0, "kept in the file")
