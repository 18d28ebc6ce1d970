"""The client library's lifecycle and errors: IqTimeout, sending after close, callbacks."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.client import ClientState, ConnectionClosed, IqTimeout
from simulator.client import events as ev
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, OpenUser

BOB_JID = f"{BOB}@s.whatsapp.net"


async def test_an_unanswered_iq_times_out_on_virtual_time(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        start = trio.current_time()
        with pytest.raises(IqTimeout, match="no answer to iq 'x1' within 30 s"):
            # A result sent to the server answers nothing and is never answered.
            await alice.iq(Node("iq", {"id": "x1", "type": "result", "xmlns": "w:p"}), timeout=30)
        assert trio.current_time() - start == pytest.approx(30)


async def test_sending_after_close_raises_connection_closed(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        pass
    assert alice.state is ClientState.CLOSED
    with pytest.raises(ConnectionClosed, match="cannot send: the client is closed"):
        await alice.send_text(BOB_JID, "too late")


async def test_a_waiting_call_ends_when_the_server_closes_the_connection(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        session = server.live(alice.jid)
        assert session is not None
        session.kill("test")
        with pytest.raises(ConnectionClosed):
            await alice.wait_for(ev.GetMessage, timeout=5)
        gone = await alice.wait_for(ev.Disconnected, timeout=5)
    assert gone.reason


async def test_callbacks_see_events_as_they_arrive(server: Server, user: OpenUser) -> None:
    seen: list[str] = []
    async with user(ALICE) as alice, user(BOB) as bob:
        remove = bob.on(ev.GetMessage, lambda e: seen.append(e.text))
        await alice.send_text(BOB_JID, "one")
        await bob.wait_for(ev.GetMessage, timeout=5)
        remove()
        await alice.send_text(BOB_JID, "two")
        await bob.wait_for(ev.GetMessage, timeout=5)
    assert seen == ["one"]


async def test_events_iterates_in_arrival_order(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        for text in ("a", "b", "c"):
            await alice.send_text(BOB_JID, text)
        texts = []
        async for event in bob.events():
            if isinstance(event, ev.GetMessage):
                texts.append(event.text)
                if len(texts) == 3:
                    break
    assert texts == ["a", "b", "c"]


async def test_a_long_run_of_one_event_class_keeps_its_order(
    server: Server, user: OpenUser
) -> None:
    """An inbox files events by class in a short list first and a deque once it grows
    (``_SHORT_QUEUE``): across the switch, a predicate still finds the first match, and
    the events of every class still come out in arrival order."""
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "last before")  # acked and receipted: other classes
        ids = [await alice.send_text(BOB_JID, f"m{n}") for n in range(40)]
        last = await bob.wait_for(ev.GetMessage, lambda e: e.text == "m39", timeout=5)
        got = await bob.wait_for(ev.GetMessage, lambda e: e.text == "m20", timeout=5)
        assert (last.id, got.id) == (ids[39], ids[20])
        events = bob.events_nowait()
        texts = [e.text for e in events if isinstance(e, ev.GetMessage)]
        assert texts == ["last before"] + [f"m{n}" for n in range(39) if n != 20]
        await alice.wait_for(ev.MessageReceivedServer, lambda e: e.id == ids[39], timeout=5)
        sent = [e for e in alice.events_nowait() if isinstance(e, ev.MessageReceivedServer)]
        assert [e.id for e in sent][-39:] == ids[:39]


async def test_waiters_for_different_events_each_get_theirs_and_learn_the_end(
    server: Server, user: OpenUser
) -> None:
    # A waiter is woken only by the events it waits for (not by every ack first), so
    # this checks that waiters for different classes still each get theirs, and that
    # one already waiting for a message learns when the connection ends.
    got: dict[str, str] = {}
    async with user(ALICE) as alice, user(BOB) as bob:

        async def wait_message() -> None:
            got["message"] = (await bob.wait_for(ev.GetMessage, timeout=5)).text

        async def wait_receipt() -> None:
            got["receipt"] = (await alice.wait_for(ev.MessageReceivedClient, timeout=5)).id

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_message)
            nursery.start_soon(wait_receipt)
            await trio.testing.wait_all_tasks_blocked()
            msg_id = await alice.send_text(BOB_JID, "hello")
        assert got == {"message": "hello", "receipt": msg_id}

        async def wait_in_vain() -> None:
            with pytest.raises(ConnectionClosed):
                await bob.wait_for(ev.GetMessage, timeout=5)
            got["closed"] = "yes"

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_in_vain)
            await trio.testing.wait_all_tasks_blocked()
            session = server.live(bob.jid)
            assert session is not None
            session.kill("test")
        assert got["closed"] == "yes"
