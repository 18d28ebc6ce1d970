"""Offline storage and re-delivery (§4.4)."""

from __future__ import annotations

from simulator.client import events as ev
from simulator.server import Server
from tests.server.conftest import ALICE, BOB, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


async def test_messages_for_an_offline_user_arrive_in_order_at_the_next_login(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        ids = [await alice.send_text(BOB_JID, f"m{i}") for i in range(5)]
        for _ in ids:
            await alice.wait_for(ev.MessageReceivedServer, timeout=5)
    async with user(BOB) as bob:
        got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in ids]
        done = await bob.wait_for(ev.OfflineDone, timeout=5)
    assert [g.id for g in got] == ids
    assert all(g.offline and g.node.get("offline") == "1" for g in got)
    assert done.count == 5
    assert done.node.attrs == {"from": "s.whatsapp.net"}


async def test_the_offline_count_comes_after_the_stored_stanzas(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        await alice.send_text(BOB_JID, "one")
        await alice.wait_for(ev.MessageReceivedServer, timeout=5)
    async with user(BOB) as bob:
        await bob.wait_for(ev.OfflineDone, timeout=5)
        order = [type(e).__name__ for e in bob.events_nowait()]
    # Waiting for OfflineDone consumed only it: the stored message, which the reader
    # queued before it, is still in the inbox.
    assert order[: order.index("GetMessage") + 1][-1] == "GetMessage"
    assert "OfflineDone" not in order


async def test_unacknowledged_messages_are_delivered_again(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        msg_id = await alice.send_text(BOB_JID, "ack me")
    async with user(BOB, auto_receipt=False) as bob:
        first = await bob.wait_for(ev.GetMessage, timeout=5)
    async with user(BOB) as bob:  # sends the delivery receipt this time
        again = await bob.wait_for(ev.GetMessage, timeout=5)
        await bob.ping(timeout=5)
    assert first.id == again.id == msg_id
    assert len(server.state.mailbox(BOB_JID)) == 0
    async with user(BOB) as bob:
        done = await bob.wait_for(ev.OfflineDone, timeout=5)
    assert done.count == 0


async def test_receipts_for_an_offline_sender_wait_for_it(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        msg_id = await alice.send_text(BOB_JID, "read me later")
    async with user(BOB) as bob:
        await bob.wait_for(ev.GetMessage, timeout=5)
        await bob.mark_read(ALICE_JID, msg_id)
        await bob.ping(timeout=5)
    async with user(ALICE) as alice:
        delivered = await alice.wait_for(ev.MessageReceivedClient, timeout=5)
        read = await alice.wait_for(ev.MessageReceivedClient, timeout=5)
        done = await alice.wait_for(ev.OfflineDone, timeout=5)
    assert (delivered.id, delivered.type) == (msg_id, "delivery")
    assert (read.id, read.type) == (msg_id, "read")
    assert done.count == 2
