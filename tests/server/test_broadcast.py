"""Broadcast messages and broadcast lists (§3.6)."""

from __future__ import annotations

import trio

from simulator.client import Client
from simulator.client import events as ev
from simulator.client._api_groups import BroadcastListInfo
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"


def listing(*jids: str) -> Node:
    return Node("broadcast", children=[Node("to", {"jid": jid}) for jid in jids])


async def lists_of(client: Client) -> Node:
    return await client.iq(
        Node(
            "iq",
            {"id": "b1", "type": "get", "xmlns": "w:b", "to": "s.whatsapp.net"},
            [Node("lists")],
        )
    )


async def test_each_recipient_gets_an_ordinary_copy_and_receipts_come_back(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob, user(CAROL) as carol:
        msg_id = await alice.send_broadcast(
            [BOB, CAROL], "to all", list_id="1420070400123@broadcast"
        )
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        to_bob = await bob.wait_for(ev.GetMessage, timeout=5)
        to_carol = await carol.wait_for(ev.GetMessage, timeout=5)
        delivered = await alice.wait_for(ev.GetReceipt, timeout=5)  # Carol's automatic one
        await bob.mark_read(ALICE_JID, msg_id)
        read = await alice.wait_for(ev.GetReceipt, timeout=5)
    assert ack.node == Node(
        "ack",
        {"class": "message", "id": msg_id, "from": "1420070400123@broadcast", "t": str(ack.t)},
    )
    expected = Node(
        "message",
        {
            "from": ALICE_JID,
            "type": "text",
            "id": msg_id,
            "t": str(ack.t),
            "notify": "Alice",
            "offline": "0",
        },
        [Node("body", data="to all")],
    )
    assert to_bob.node == expected and to_carol.node == expected
    assert delivered.node == Node(
        "receipt", {"from": CAROL_JID, "id": msg_id, "t": str(delivered.t), "offline": "0"}
    )
    assert read.node == Node(
        "receipt", {"from": BOB_JID, "id": msg_id, "t": str(read.t), "type": "read", "offline": "0"}
    )


async def test_a_recipient_who_blocked_the_sender_gets_nothing(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        server.state.blocked[BOB_JID] = [ALICE_JID]
        await alice.send_broadcast([BOB, CAROL], "hi")
        await carol.wait_for(ev.GetMessage, timeout=5)
        await bob.ping(timeout=5)
        bob_got = [e for e in bob.events_nowait() if isinstance(e, ev.GetMessage)]
    assert bob_got == []
    assert len(server.state.mailbox(BOB_JID)) == 0


async def test_broadcasts_are_remembered_as_lists_and_can_be_deleted(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        assert await lists_of(alice) == Node(
            "iq", {"from": "s.whatsapp.net", "id": "b1", "type": "result"}, [Node("lists")]
        )
        await alice.send_broadcast([BOB, CAROL], "one", list_id="111@broadcast")
        await alice.send_broadcast_location([BOB], 52.5, 13.4, name="Berlin")
        await alice.send_broadcast(
            [CAROL], "two", list_id="111@broadcast"
        )  # same list, new recipients
        await bob.wait_for(ev.GetLocation, timeout=5)
        raw = await lists_of(alice)
        lists = await alice.get_broadcast_lists()
        bob_lists = await bob.get_broadcast_lists()
        await alice.delete_broadcast_lists(["111@broadcast", "999@broadcast"])
        after = await alice.get_broadcast_lists()
    second = lists[1].id
    assert raw.children == (
        Node(
            "lists",
            children=[
                Node(
                    "list",
                    {"id": "111@broadcast", "name": ""},
                    [Node("recipient", {"jid": CAROL_JID})],
                ),
                Node("list", {"id": second, "name": ""}, [Node("recipient", {"jid": BOB_JID})]),
            ],
        ),
    )
    assert lists == [
        BroadcastListInfo(id="111@broadcast", name="", recipients=(CAROL_JID,)),
        BroadcastListInfo(id=second, name="", recipients=(BOB_JID,)),
    ]
    assert second.endswith("@broadcast") and second.removesuffix("@broadcast").isdigit()
    assert bob_lists == []
    assert after == [BroadcastListInfo(id=second, name="", recipients=(BOB_JID,))]


async def test_bare_broadcast_of_yowsup_2053_gets_a_deterministic_list(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        now = server.clock.now()
        for msg_id, jids in (("m1", (BOB_JID,)), ("m2", (BOB_JID, CAROL_JID)), ("m3", (BOB_JID,))):
            body = Node("body", data=msg_id)
            await alice.send(
                Node(
                    "message",
                    {"to": "broadcast", "type": "text", "id": msg_id},
                    [body, listing(*jids)],
                )
            )
        acks = [await alice.wait_for(ev.MessageReceivedServer, timeout=5) for _ in range(3)]
        bob_got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in range(3)]
        carol_got = await carol.wait_for(ev.GetMessage, timeout=5)
        lists = await alice.get_broadcast_lists()
    assert [a.node.get("from") for a in acks] == ["broadcast"] * 3
    assert [g.text for g in bob_got] == ["m1", "m2", "m3"] and carol_got.text == "m2"
    assert all(g.node.child("broadcast") is None for g in [*bob_got, carol_got])
    # The same recipients reuse their list; new ones take the next free second.
    assert lists == [
        BroadcastListInfo(id=f"{now}@broadcast", name="", recipients=(BOB_JID,)),
        BroadcastListInfo(id=f"{now + 1}@broadcast", name="", recipients=(BOB_JID, CAROL_JID)),
    ]


async def test_a_known_list_without_recipients_goes_to_the_remembered_ones(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_broadcast([BOB], "first", list_id="42@broadcast")
        await bob.wait_for(ev.GetMessage, timeout=5)
        await alice.send(
            Node(
                "message",
                {"to": "42@broadcast", "type": "text", "id": "again"},
                [Node("body", data="second")],
            )
        )
        again = await bob.wait_for(ev.GetMessage, timeout=5)
    assert (again.id, again.text, again.from_) == ("again", "second", ALICE_JID)
