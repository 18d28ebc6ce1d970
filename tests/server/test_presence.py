"""Presence, last seen, subscriptions, push names, chat states (§3.13, §3.14)."""

from __future__ import annotations

import trio

from simulator.client import events as ev
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


async def test_subscribe_answers_with_the_current_state(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(BOB):
        pass
    left_at = server.clock.now()
    await trio.sleep(3600)
    async with user(ALICE) as alice:
        await alice.subscribe(BOB_JID)
        away = await alice.wait_for(ev.PresenceUnavailable, timeout=5)
        async with user(BOB):
            back = await alice.wait_for(
                ev.PresenceAvailable, lambda e: e.from_ == BOB_JID, timeout=5
            )
        gone = await alice.wait_for(ev.PresenceUnavailable, timeout=5)
    assert away.node == Node(
        "presence", {"from": BOB_JID, "type": "unavailable", "last": str(left_at)}
    )
    assert back.node == Node("presence", {"from": BOB_JID})
    assert gone.last == str(left_at + 3600)


async def test_going_online_is_echoed_and_unavailable_tells_subscribers(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE, announce=False) as alice, user(BOB) as bob:
        await bob.subscribe(ALICE_JID)
        await bob.wait_for(ev.PresenceUnavailable, timeout=5)
        await alice.set_presence("available")
        echo = await alice.wait_for(ev.PresenceAvailable, timeout=5)
        seen = await bob.wait_for(ev.PresenceAvailable, lambda e: e.from_ == ALICE_JID, timeout=5)
        await alice.set_presence("unavailable")
        off = await bob.wait_for(ev.PresenceUnavailable, timeout=5)
    assert echo.from_ == ALICE_JID and seen.from_ == ALICE_JID
    assert off.from_ == ALICE_JID and off.last == str(server.clock.now())


async def test_unsubscribe_stops_updates(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.subscribe(BOB_JID)
        await alice.wait_for(ev.PresenceAvailable, lambda e: e.from_ == BOB_JID, timeout=5)
        await alice.unsubscribe(BOB_JID)
        await alice.ping(timeout=5)
        await bob.set_presence("unavailable")
        await bob.ping(timeout=5)
        await alice.ping(timeout=5)
        assert not [e for e in alice.events_nowait() if isinstance(e, ev.PresenceUnavailable)]


async def test_last_seen_iq(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(BOB):
        pass
    await trio.sleep(90)
    async with user(ALICE) as alice:
        assert await alice.last_seen(BOB_JID) == 90
        async with user(BOB):
            assert await alice.last_seen(BOB_JID) == 0


async def test_the_nickname_presence_changes_the_notify_name(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.set_name("Alice Liddell")
        await alice.send_text(BOB_JID, "it's me")
        got = await bob.wait_for(ev.GetMessage, timeout=5)
    assert got.notify == "Alice Liddell"


async def test_chat_states_reach_online_users_only_and_are_never_stored(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        async with user(BOB) as bob:
            await alice.typing(BOB_JID)
            typing = await bob.wait_for(ev.MessageComposing, timeout=5)
            await alice.paused(BOB_JID)
            paused = await bob.wait_for(ev.MessagePaused, timeout=5)
        await alice.typing(BOB_JID)
        await alice.ping(timeout=5)
    assert typing.node == Node("chatstate", {"from": ALICE_JID}, [Node("composing")])
    assert paused.from_ == ALICE_JID
    assert len(server.state.mailbox(BOB_JID)) == 0
