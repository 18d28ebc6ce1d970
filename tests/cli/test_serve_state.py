"""``simulator serve --state FILE`` killed with SIGKILL in the middle of a message stream:
after a restart from the file, every message the server acked to its sender reaches the
recipient, and none the recipient acknowledged (and the server confirmed) comes again.
A state file that cannot be used is one sentence and exit 1."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio

from simulator.cli import build_parser, main
from simulator.cli._state import open_store
from simulator.cli.serve import _state
from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.errors import ConnectionClosed
from simulator.server.store import Store
from simulator.transport import TcpConnector

ALICE, BOB = "491110000001", "491110000002"
ALICE_JID, BOB_JID = f"{ALICE}@s.whatsapp.net", f"{BOB}@s.whatsapp.net"
MESSAGES = 40


@contextmanager
def serving(path: Path, seed: int) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``simulator serve --state path`` in a subprocess; yields it and its port."""
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--state", str(path)]
    command += ["--account", ALICE, "--account", BOB, "--seed", str(seed), "--log-level", "warning"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        watchdog = threading.Timer(60, proc.kill)  # a hang fails the test instead of stalling
        watchdog.start()
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("listening on 127.0.0.1:"), first
            yield proc, int(first.rsplit(":", 1)[1])
        finally:
            watchdog.cancel()
            proc.kill()


def _password(phone: str) -> str:
    from simulator.server.state import default_password

    return default_password(phone)


async def _stream_until_killed(
    port: int, proc: subprocess.Popen[str], kill_after: int, on_receipts: bool
) -> tuple[set[str], set[str], list[str]]:
    """Alice sends ``MESSAGES`` messages to Bob without waiting; after ``kill_after`` server
    acks to Alice (or, ``on_receipts``, messages reaching Bob, whose receipts are then on
    their way) the server is killed. Returns (acked to Alice, Bob's receipts the server
    passed on to Alice, what Bob got)."""
    acked: set[str] = set()
    confirmed: set[str] = set()
    got: list[str] = []

    def kill_at(count: int) -> None:
        if count >= kill_after and proc.poll() is None:
            proc.kill()  # SIGKILL, wherever the server is

    async def alice_side(alice: Client) -> None:
        async def listen() -> None:
            async for event in alice.events():
                if isinstance(event, ev.MessageReceivedServer):
                    acked.add(event.id)
                    if not on_receipts:
                        kill_at(len(acked))
                elif isinstance(event, ev.MessageReceivedClient):
                    confirmed.add(event.id)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            try:
                for i in range(MESSAGES):
                    await alice.send_text(BOB_JID, f"message {i}")
            except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # killed while sending: what was acked before counts
            await alice.wait_closed()

    async def bob_side(bob: Client) -> None:
        async for event in bob.events():
            if isinstance(event, ev.GetMessage):
                got.append(event.id)
                if on_receipts:
                    kill_at(len(got))

    with trio.fail_after(30):
        try:
            async with (
                open_client(TcpConnector("127.0.0.1", port), BOB, _password(BOB)) as bob,
                open_client(TcpConnector("127.0.0.1", port), ALICE, _password(ALICE)) as alice,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(bob_side, bob)
                await alice_side(alice)
                await bob.wait_closed()  # Bob's side takes every event that came first
        except* (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
    return acked, confirmed, got


async def _collect_after_restart(port: int) -> list[str]:
    """What the restarted server replays to Bob (everything up to the offline marker)."""
    got: list[str] = []
    with trio.fail_after(30):
        async with open_client(TcpConnector("127.0.0.1", port), BOB, _password(BOB)) as bob:
            async for event in bob.events():
                if isinstance(event, ev.GetMessage):
                    got.append(event.id)
                elif isinstance(event, ev.OfflineDone):
                    break
    return got


async def _one_run(tmp_path: Path, seed: int) -> None:
    path = tmp_path / f"state-{seed}.db"
    rng = random.Random(seed)
    kill_after, on_receipts = rng.randrange(1, MESSAGES), rng.random() < 0.5
    with serving(path, seed) as (proc, port):
        acked, confirmed, before = await _stream_until_killed(port, proc, kill_after, on_receipts)
        await trio.to_thread.run_sync(proc.wait)
    assert proc.returncode == -9
    assert len(before if on_receipts else acked) >= kill_after
    with serving(path, seed) as (_proc, port):
        after = await _collect_after_restart(port)
    assert acked <= set(before) | set(after), "a message acked to its sender was lost"
    assert not confirmed & set(after), "a message its recipient acknowledged came again"
    assert len(after) == len(set(after))


@pytest.mark.slow
@pytest.mark.real_clock  # a simulator serve subprocess
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kill_9_in_a_message_stream_loses_and_repeats_nothing_acked(
    tmp_path: Path, seed: int
) -> None:
    await _one_run(tmp_path, seed)


@pytest.mark.long
@pytest.mark.real_clock  # a simulator serve subprocess
@pytest.mark.parametrize("seed", range(100, 130))
async def test_kill_9_soak(tmp_path: Path, seed: int) -> None:
    await _one_run(tmp_path, seed)


def test_a_corrupt_state_file_is_one_sentence_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"not sqlite at all " * 300)
    assert main(["serve", "--state", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the state file {path} is not a simulator state file")
    assert err.count("\n") == 1


def test_a_locked_state_file_is_one_sentence_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    store = Store.open(path)
    try:
        assert main(["serve", "--state", str(path)]) == 1
    finally:
        store.close()
    err = capsys.readouterr().err
    assert err == f"error: the state file {path} is in use by another server (it is locked)\n"


def test_a_missing_directory_is_one_sentence_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nowhere" / "state.db"
    assert main(["serve", "--state", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot open the state file {path}") and err.count("\n") == 1


def test_the_file_is_sqlite_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_a_world_fills_a_new_file_only_and_accounts_add_what_is_missing(tmp_path: Path) -> None:
    world = Path(__file__).resolve().parents[2] / "scenarios" / "worlds" / "team.world.yaml"
    path = tmp_path / "state.db"
    argv = ["serve", "--state", str(path), "--world", str(world)]
    argv += ["--account", "491110000099:AQIDBAUGBwgJCgsMDQ4PEBESExQ="]
    args = build_parser().parse_args(argv)
    store = open_store(args)
    assert store is not None
    state = _state(args, store)
    gjid = "491110000001-1400000000@g.us"
    assert state.groups[gjid].subject == "Release team"
    state.set_subject(gjid, "Renamed since", "491110000001@s.whatsapp.net", 1)
    state.issue_password("491110000099", b"\x07" * 20, "device", 1)
    store.commit(state, 0)
    store.close()
    store = open_store(args)
    assert store is not None
    try:
        state = _state(args, store)
        assert state.groups[gjid].subject == "Renamed since"  # the world is not applied again
        account = state.account("491110000099")
        assert account is not None and account.password == b"\x07" * 20
    finally:
        store.close()
