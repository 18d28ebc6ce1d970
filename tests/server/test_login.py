"""Login through the server: success, refusals, replacement, fast re-login, passive (§2, §3.17)."""

from __future__ import annotations

import pytest
import trio

from simulator.client import LoginFailed
from simulator.client import events as ev
from simulator.server import Server
from tests.server.conftest import ALICE, BOB, OpenUser

WRONG = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="


async def test_success_carries_the_account_and_the_server_time(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        assert alice.login is not None
        assert (alice.login.kind, alice.login.status) == ("free", "active")
        assert alice.login.t == server.clock.now()
        assert alice.next_nonce is not None and len(alice.next_nonce) == 20
        assert server.state.accounts[alice.jid].next_nonce == alice.next_nonce


async def test_wrong_password_is_refused_with_not_authorized(
    server: Server, user: OpenUser
) -> None:
    with pytest.raises(LoginFailed) as caught:
        async with user(ALICE, password=WRONG):
            pass  # pragma: no cover - never reached
    assert caught.value.reason == "not-authorized"


async def test_unknown_account_is_challenged_then_refused_with_not_authorized(
    server: Server, user: OpenUser
) -> None:
    """Like a wrong password (no account enumeration); the wire shape is compared in
    test_login_security.py."""
    with pytest.raises(LoginFailed) as caught:
        async with user("490000000000"):
            pass  # pragma: no cover
    assert caught.value.reason == "not-authorized"


async def test_a_second_login_replaces_the_first_with_a_conflict(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as first, user(ALICE) as second:
        error = await first.wait_for(ev.StreamError, timeout=5)
        await first.wait_closed()
        assert error.reason == "conflict"
        text = error.node.child("text")
        assert text is not None and text.data == b"Replaced by new connection"
        assert server.live(second.jid) is not None
        await second.ping(timeout=5)


async def test_fast_relogin_with_the_stored_nonce(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        nonce = alice.next_nonce
    assert nonce is not None
    async with user(ALICE, stored_nonce=nonce) as again:
        assert again.login is not None
        await again.ping(timeout=5)


async def test_fast_relogin_with_a_forgotten_nonce_falls_back_to_the_challenge(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE, stored_nonce=b"\x01" * 20) as alice:
        assert alice.login is not None


async def test_passive_login_gets_no_offline_messages_and_stays_offline(
    server: Server, user: OpenUser
) -> None:
    async with user(BOB) as bob:
        await bob.send_text(ALICE, "while you were away")
        await bob.wait_for(ev.MessageReceivedServer, timeout=5)
    async with user(ALICE, passive=True) as alice:
        await alice.ping(timeout=5)
        assert not [
            e for e in alice.events_nowait() if isinstance(e, ev.GetMessage | ev.OfflineDone)
        ]
        assert server.live(alice.jid) is None
    async with user(ALICE) as alice:
        got = await alice.wait_for(ev.GetMessage, timeout=5)
        assert got.text == "while you were away" and got.offline


async def test_a_peer_that_stalls_during_login_is_dropped(
    server: Server, autojump_clock: trio.testing.MockClock
) -> None:
    link = await server.connect_nodes()
    with trio.fail_after(server.config.login_timeout + 5):
        event = await link.receive()
    assert type(event).__name__ == "ConnectionClosed"
    await trio.testing.wait_all_tasks_blocked()
    assert not server.all_sessions
