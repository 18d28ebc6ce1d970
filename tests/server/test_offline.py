"""Offline storage and re-delivery (§4.4)."""

from __future__ import annotations

from simulator import stanzas
from simulator.client import events as ev
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"


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


async def test_an_ack_clears_the_stanza_of_its_kind_when_ids_are_shared(
    server: Server, user: OpenUser
) -> None:
    """Ids are unique per sender only: bob keeps a message from alice and a receipt from
    carol that share an id. His ack of the receipt (by class and id, no ``to``) clears the
    receipt alone, not the older message: the message comes again at his next login, the
    receipt does not."""
    async with user(ALICE) as alice:
        msg_id = await alice.send_text(BOB_JID, "from alice")
        await alice.wait_for(ev.MessageReceivedServer, timeout=5)
    async with user(CAROL), user(BOB, auto_ack=False, auto_receipt=False) as bob:
        first = await bob.wait_for(ev.GetMessage, timeout=5)
        sent = stanzas.message.outgoing(CAROL_JID, msg_id, [stanzas.message.text("same id")])
        await bob.send(sent)
        receipt = await bob.wait_for(ev.GetReceipt, timeout=5)
        assert (receipt.id, receipt.from_) == (msg_id, CAROL_JID)
        assert len(server.state.mailbox(BOB_JID)) == 2
        # An ack by (class, id) alone, as some clients send it (§3.11): no ``to``.
        await bob.send(Node("ack", {"class": "receipt", "id": msg_id}))
        await bob.ping(timeout=5)
        assert len(server.state.mailbox(BOB_JID)) == 1
    async with user(BOB) as bob:
        again = await bob.wait_for(ev.GetMessage, timeout=5)
        done = await bob.wait_for(ev.OfflineDone, timeout=5)
        late = [e for e in bob.events_nowait() if isinstance(e, ev.GetReceipt)]
    assert first.id == again.id == msg_id and again.from_ == ALICE_JID
    assert done.count == 1 and late == []
