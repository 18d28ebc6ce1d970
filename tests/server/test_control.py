"""The control API (simulator.server.control) and ``simulator control``, used as an
external user would: real loopback sockets, the CLI, a ``simulator serve`` subprocess."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator

import pytest
import trio

from simulator.cli import main
from simulator.client import LoginFailed, open_client
from simulator.client import events as ev
from simulator.server import Server, open_server
from simulator.server.control import ControlService
from simulator.server.fault_spec import parse_selector
from tests.server.conftest import ALICE, BOB, PASSWORD

BOB_JID = f"{BOB}@s.whatsapp.net"

# The CLI runs in a thread and `simulator serve` in a subprocess: real time.
pytestmark = pytest.mark.real_clock


@pytest.fixture
async def served() -> AsyncIterator[tuple[Server, int]]:
    """A server with its control API on a loopback port (real time: real sockets)."""
    accounts = [(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob")]
    async with open_server(accounts=accounts) as srv, trio.open_nursery() as nursery:
        _host, port = await ControlService(srv).listen(nursery, "127.0.0.1", 0)
        yield srv, port
        nursery.cancel_scope.cancel()


async def cli(port: int, *argv: str) -> int:
    return await trio.to_thread.run_sync(main, ["control", "--port", str(port), *argv])


async def call(port: int, method: str, path: str, body: object = None) -> tuple[int, object]:
    def request() -> tuple[int, object]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=payload)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    return await trio.to_thread.run_sync(request)


async def test_a_fault_added_with_the_cli_is_felt_by_the_client(
    served: tuple[Server, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = served
    assert await cli(port, "fault", "add", "--drop", "message to bob", "--times", "1") == 0
    line = capsys.readouterr().out
    assert line == f"fault #1: drop <message/> from the server for {BOB_JID} (1 times) (0 hits)\n"
    async with (
        open_client(server, ALICE, PASSWORD) as alice,
        open_client(server, BOB, PASSWORD) as bob,
    ):
        await alice.send_text(BOB_JID, "first")
        await alice.send_text(BOB_JID, "second")
        got = await bob.wait_for(ev.GetMessage, timeout=5)
    assert got.text == "second"
    assert await cli(port, "fault", "list") == 0
    assert capsys.readouterr().out == ""  # used up
    assert await cli(port, "log") == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert [(h["fault"], h["action"], h["jid"]) for h in hits] == [(1, "drop", BOB_JID)]
    assert "<body>first</body>" in hits[0]["stanza"]


async def test_hold_then_release_and_clear_through_the_api(served: tuple[Server, int]) -> None:
    server, port = served
    status, answer = await call(
        port,
        "POST",
        "/v1/faults",
        {"action": "hold", "direction": "out", "party": "Alice", "match": '<ack class="message"/>'},
    )
    assert status == 201 and isinstance(answer, dict)
    fault_id = answer["fault"]["id"]
    async with open_client(server, ALICE, PASSWORD) as alice:
        msg_id = await alice.send_text(BOB_JID, "x")
        with trio.move_on_after(0.5):
            await alice.wait_for(ev.MessageReceivedServer)
            pytest.fail("the ack was not held")
        assert await call(port, "GET", f"/v1/faults/{fault_id}") == (
            200,
            {"fault": {**answer["fault"], "hits": 1, "held": 1}},
        )
        assert await call(port, "POST", f"/v1/faults/{fault_id}/release") == (200, {"released": 1})
        assert (await alice.wait_for(ev.MessageReceivedServer, timeout=5)).id == msg_id
    assert await call(port, "DELETE", "/v1/faults") == (200, {"cleared": 1})
    assert await call(port, "GET", "/v1/faults") == (200, {"faults": []})


async def test_restart_state_and_clock(
    served: tuple[Server, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = served
    async with open_client(server, ALICE, PASSWORD) as alice:
        await alice.send_text(BOB_JID, "for later")
        await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        status, state = await call(port, "GET", "/v1/state")
        assert status == 200 and isinstance(state, dict)
        assert [s["jid"] for s in state["sessions"]] == [f"{ALICE}@s.whatsapp.net"]
        assert {a["phone"]: a["queued"] for a in state["accounts"]} == {ALICE: 0, BOB: 1}
        assert "<body>for later</body>" in state["queues"][BOB_JID][0]
        assert await cli(port, "restart") == 0
        assert capsys.readouterr().out == "restarted: 1 connections dropped\n"
        await alice.wait_for(ev.Disconnected, timeout=5)
    status, clock = await call(port, "GET", "/v1/clock")
    assert status == 200 and isinstance(clock, dict) and clock["now"] == server.clock.now()
    async with open_client(server, BOB, PASSWORD) as bob:  # the queue survived
        assert (await bob.wait_for(ev.GetMessage, timeout=5)).text == "for later"


async def test_sessions_and_accounts_through_the_cli(
    served: tuple[Server, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = served
    async with open_client(server, BOB, PASSWORD) as bob:
        assert await cli(port, "session", "end", "bob", "--reason", "ack") == 0
        assert (await bob.wait_for(ev.StreamError, timeout=5)).reason == "ack"
    assert await cli(port, "account", "expire", ALICE) == 0
    async with open_client(server, ALICE, PASSWORD) as alice:
        assert alice.login is not None and alice.login.status == "expired"
    assert await cli(port, "account", "suspend", "Bob", "--for", "10m") == 0
    assert capsys.readouterr().out == (
        f"ended\nexpired\nfault #1: refuse-login not-authorized of {BOB_JID} (for 600s) (0 hits)\n"
    )
    with pytest.raises(LoginFailed, match="not-authorized"):
        async with open_client(server, BOB, PASSWORD):
            pass


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ["fault", "add", "--delay", "message"],
            "the server refused: the delay fault needs seconds",
        ),
        (["fault", "add", "--drop", "message to nobody"], "no account is named 'nobody'"),
        (["fault", "add", "--stream-error", "message", "--reason", "bye"], "the clients know"),
        (["fault", "add", "--drop", "two words"], "cannot read the selector 'two words'"),
        (["fault", "add", "--drop", "<message"], "is not valid"),
        (["fault", "add", "--delay", "message", "--seconds", "soon"], "'soon' is not a duration"),
        (["fault", "clear", "99"], "there is no fault #99"),
        (["session", "end", "bob", "--reason", "nope"], "the clients know the stream errors"),
    ],
)
async def test_errors_are_one_sentence_and_exit_1(
    served: tuple[Server, int], capsys: pytest.CaptureFixture[str], argv: list[str], sentence: str
) -> None:
    _server, port = served
    assert await cli(port, *argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and sentence in err and err.count("\n") == 1


async def test_unknown_paths_wrong_methods_and_bad_bodies(served: tuple[Server, int]) -> None:
    _server, port = served
    assert (await call(port, "GET", "/v1"))[0] == 200
    assert await call(port, "GET", "/v2/faults") == (
        404,
        {"error": "no such path: /v2/faults (the API is under /v1)"},
    )
    assert await call(port, "PUT", "/v1/faults") == (
        405,
        {"error": "/v1/faults takes GET or POST or DELETE, not PUT"},
    )
    assert await call(port, "POST", "/v1/faults", [1]) == (
        400,
        {"error": "the request body must be a JSON object"},
    )
    assert await call(port, "POST", "/v1/faults", {"action": "explode"}) == (
        400,
        {
            "error": "action: Input should be 'drop', 'delay', 'duplicate', 'hold', 'reorder', "
            "'iq-error', 'throttle', 'stream-error', 'disconnect', 'refuse-login', 'latency', "
            "'split-writes', 'reset' or 'random'"
        },
    )


def test_an_unreachable_port_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: nothing answers there
        assert main(["control", "--port", str(port), "state"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the control API on 127.0.0.1:{port}")


def test_serve_with_a_control_port_in_a_subprocess() -> None:
    command = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--control-port", "0"]
    command += ["--account", f"{ALICE}:{PASSWORD}:Alice", "--seed", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        watchdog = threading.Timer(30, proc.kill)  # a hang fails the test instead of stalling it
        watchdog.start()
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            control = next(line for line in lines if line.startswith("control on 127.0.0.1:"))
            port = control.strip().rsplit(":", 1)[1]

            def control_cli(*argv: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [sys.executable, "-m", "simulator", "control", "--port", port, *argv],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )

            added = control_cli("fault", "add", "--throttle", "<iq/> from alice", "--backoff", "30")
            assert added.returncode == 0, added.stderr
            assert added.stdout.startswith("fault #1: throttle backoff 30 <iq/> to the server")
            state = control_cli("state")
            assert json.loads(state.stdout)["accounts"][0]["phone"] == ALICE
            refused = control_cli("fault", "add", "--hold", "message", "--seconds", "-1")
            assert refused.returncode == 1 and refused.stderr.startswith(
                "error: the server refused"
            )
        finally:
            proc.terminate()
            proc.wait()
            watchdog.cancel()


async def test_the_control_api_listens_on_loopback_only() -> None:
    async with open_server() as server, trio.open_nursery() as nursery:
        with pytest.raises(ValueError, match=r"loopback only, not on 0\.0\.0\.0"):
            await ControlService(server).listen(nursery, "0.0.0.0", 0)


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ({"action": "random", "rates": {"explode": 0.1}}, "'explode' is not a fault action"),
        ({"action": "random"}, "a random fault needs rates"),
        ({"action": "random", "rates": {"latency": 0.1}, "seconds": 1}, "not latency"),
        ({"action": "drop", "for": "soon"}, "for: Value error, 'soon' is not a duration"),
        ({"action": "drop", "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"action": "iq-error"}, "the iq-error fault needs code"),
    ],
)
async def test_a_bad_fault_spec_is_one_sentence(
    served: tuple[Server, int], spec: dict[str, object], sentence: str
) -> None:
    _server, port = served
    status, answer = await call(port, "POST", "/v1/faults", spec)
    assert status == 400 and isinstance(answer, dict) and sentence in str(answer["error"])


async def test_a_random_fault_from_the_cli_with_durations_as_text(
    served: tuple[Server, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = served
    argv = ["fault", "add", "--random", "message", "--rate", "drop=0.5", "--rate"]
    argv += ["delay=0.25", "--seconds", "1m", "--seed", "3", "--for", "2h"]
    assert await cli(port, *argv) == 0
    (fault,) = server.faults
    assert fault.duration == 7200 and fault.selector.text == "<message/>"
    assert capsys.readouterr().out == (
        "fault #1: random(seed 3: drop 0.5, delay 60s 0.25) <message/> (for 7200s) (0 hits)\n"
    )


@pytest.mark.parametrize(
    ("action", "text", "spec"),
    [
        (
            "drop",
            "message from alice",
            {"match": "<message/>", "direction": "in", "party": "alice"},
        ),
        ("drop", "receipt to 4911", {"match": "<receipt/>", "direction": "out", "party": "4911"}),
        ("drop", "w:gp2 of bob", {"match": "<w:gp2/>", "direction": "any", "party": "bob"}),
        (
            "hold",
            '<ack class="message"/> to bot',
            {"match": '<ack class="message"/>', "direction": "out", "party": "bot"},
        ),
        ("drop", "anything", {}),
        ("latency", "bot", {"party": "bot"}),
        ("reset", "anyone", {}),
    ],
)
def test_the_selector_notation(action: str, text: str, spec: dict[str, str]) -> None:
    assert parse_selector(action, text) == spec
