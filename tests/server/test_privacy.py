"""The blocked list and privacy settings, and their enforcement in every flow (§3.4, §4.6)."""

from __future__ import annotations

from typing import TypeVar

import pytest
import trio

from simulator.client import Client, IqError
from simulator.client import events as ev
from simulator.server import Server
from simulator.server.state import Group
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
GROUP_JID = f"{ALICE}-1420070400@g.us"
BLOCKLIST = "jabber:iq:privacy"
E = TypeVar("E", bound=ev.Event)


async def settle(*clients: Client) -> None:
    """A ping round trip per client: whatever the server sent before has arrived."""
    for client in clients:
        await client.ping(timeout=5)


def of_type(client: Client, *types: type[E]) -> list[E]:
    """Take every event received so far; keep those of the given types."""
    return [e for e in client.events_nowait() if isinstance(e, types)]


def add_group(server: Server, *members: str) -> None:
    server.state.groups[GROUP_JID] = Group(
        jid=GROUP_JID,
        subject="Tea",
        creator=ALICE_JID,
        creation=1420070400,
        subject_owner=ALICE_JID,
        subject_time=1420070400,
        participants={jid: ("admin" if jid == ALICE_JID else None) for jid in members},
    )


# -------------------------------------------------------------------- the blocked list


async def test_blocked_list_round_trip(server: Server, user: OpenUser) -> None:
    get = Node(
        "iq",
        {"id": "01", "type": "get", "xmlns": BLOCKLIST},
        [Node("query", children=[Node("list", {"name": "default"})])],
    )
    async with user(ALICE) as alice:
        empty = await alice.iq(get)
        await alice.set_blocked([BOB, CAROL_JID])
        full = await alice.iq(get.with_attrs(id="02"))
        listed = await alice.get_blocked()
        await alice.unblock(BOB_JID)
        after_unblock = await alice.get_blocked()
        await alice.block(BOB)
        await alice.block(BOB)  # already blocked: nothing changes
        after_block = await alice.get_blocked()
        await alice.set_blocked([])
        cleared = await alice.get_blocked()
    assert empty == Node(
        "iq",
        {"from": ALICE_JID, "id": "01", "type": "result"},
        [Node("query", children=[Node("list", {"name": "default"})])],
    )
    assert full == Node(
        "iq",
        {"from": ALICE_JID, "id": "02", "type": "result"},
        [
            Node(
                "query",
                children=[
                    Node(
                        "list",
                        {"name": "default"},
                        [
                            Node(
                                "item",
                                {"type": "jid", "value": BOB_JID, "action": "deny", "order": "1"},
                            ),
                            Node(
                                "item",
                                {"type": "jid", "value": CAROL_JID, "action": "deny", "order": "2"},
                            ),
                        ],
                    )
                ],
            )
        ],
    )
    assert listed == [BOB_JID, CAROL_JID]
    assert after_unblock == [CAROL_JID]
    assert after_block == [CAROL_JID, BOB_JID]
    assert cleared == [] and server.state.blocked[ALICE_JID] == []


async def test_set_blocked_answers_without_children_and_follows_order(
    server: Server, user: OpenUser
) -> None:
    items = [
        Node("item", {"type": "jid", "value": CAROL_JID, "action": "deny", "order": "2"}),
        Node("item", {"type": "jid", "value": BOB_JID, "action": "deny", "order": "1"}),
    ]
    request = Node(
        "iq",
        {"id": "0a", "type": "set", "xmlns": BLOCKLIST},
        [Node("query", children=[Node("list", {"name": "default"}, items)])],
    )
    async with user(ALICE) as alice:
        answer = await alice.iq(request)
        listed = await alice.get_blocked()
    assert answer == Node("iq", {"from": ALICE_JID, "id": "0a", "type": "result"})
    assert listed == [BOB_JID, CAROL_JID]


@pytest.mark.parametrize(
    ("listing", "code", "text"),
    [
        (Node("list", {"name": "work"}), "404", "item-not-found"),
        (
            Node(
                "list",
                {"name": "default"},
                [Node("item", {"type": "jid", "action": "deny", "order": "1"})],
            ),
            "400",
            "bad-request",
        ),
        (None, "400", "bad-request"),
    ],
    ids=["other-list", "item-without-value", "no-list"],
)
async def test_bad_blocked_list_requests_are_refused(
    server: Server, user: OpenUser, listing: Node | None, code: str, text: str
) -> None:
    query = Node("query", children=[listing] if listing is not None else [])
    async with user(ALICE) as alice:
        await alice.set_blocked([CAROL])
        with pytest.raises(IqError) as refused:
            await alice.iq(Node("iq", {"type": "set", "xmlns": BLOCKLIST}, [query]))
        still = await alice.get_blocked()
    assert refused.value.node.child("error") == Node("error", {"code": code, "text": text})
    assert still == [CAROL_JID]


# -------------------------------------------------------------------- what a block does


async def test_a_blocked_users_messages_are_acked_but_never_delivered(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.block(BOB)
        msg_id = await bob.send_text(ALICE_JID, "hello?")
        ack = await bob.wait_for(ev.MessageReceivedServer, timeout=5)
        await settle(alice, bob)
        alice_got = of_type(alice, ev.GetMessage)
        await alice.unblock(BOB)
        later = await bob.send_text(ALICE_JID, "now?")
        delivered = await alice.wait_for(ev.GetMessage, timeout=5)
    assert ack.id == msg_id and ack.to == ALICE_JID
    assert alice_got == []
    assert delivered.id == later and delivered.text == "now?"


async def test_a_blocked_users_group_and_broadcast_messages_skip_the_blocker(
    server: Server, user: OpenUser
) -> None:
    add_group(server, ALICE_JID, BOB_JID, CAROL_JID)
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.block(BOB)
        group_id = await bob.send_text(GROUP_JID, "hi all")
        listing = Node(
            "broadcast", children=[Node("to", {"jid": ALICE_JID}), Node("to", {"jid": CAROL_JID})]
        )
        cast_id = await bob.send_message(
            "1420070400@broadcast", [Node("body", data="news"), listing]
        )
        in_group = await carol.wait_for(ev.GetGroupMessage, timeout=5)
        cast = await carol.wait_for(ev.GetMessage, lambda e: e.id == cast_id, timeout=5)
        await settle(alice, bob, carol)
        alice_got = of_type(alice, ev.GetMessage)
        acks = [a.id for a in of_type(bob, ev.MessageReceivedServer)]
    assert in_group.id == group_id and in_group.participant == BOB_JID
    assert cast.from_ == BOB_JID
    assert alice_got == []
    assert acks == [group_id, cast_id]


async def test_no_receipts_cross_a_block_in_either_direction(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE, auto_receipt=False) as alice, user(BOB) as bob:
        early = await bob.send_text(ALICE_JID, "before the block")
        await alice.wait_for(ev.GetMessage, timeout=5)
        await alice.block(BOB)
        await alice.mark_read(BOB_JID, early)  # the blocker's receipt does not reach Bob
        msg_id = await alice.send_text(BOB_JID, "you can read this")  # the blocker may still write
        got = await bob.wait_for(ev.GetMessage, timeout=5)  # bob's client sends its receipt
        await bob.mark_read(ALICE_JID, msg_id)
        await settle(bob, alice)
        seen = {c.jid: c.events_nowait() for c in (alice, bob)}
    receipts = [
        e
        for events in seen.values()
        for e in events
        if isinstance(e, ev.GetReceipt | ev.MessageReceivedClient)
    ]
    acks = [
        e.node
        for c in (alice, bob)
        for e in seen[c.jid]
        if isinstance(e, ev.Unhandled) and e.node.tag == "ack"
    ]
    assert got.id == msg_id
    assert receipts == []
    # Every receipt was acked as usual: nothing tells either side about the block.
    assert acks == [
        Node("ack", {"class": "receipt", "id": early, "from": BOB_JID, "type": "read"}),
        Node("ack", {"class": "receipt", "id": msg_id, "from": ALICE_JID}),
        Node("ack", {"class": "receipt", "id": msg_id, "from": ALICE_JID, "type": "read"}),
    ]
    assert len(server.state.mailbox(ALICE_JID)) == 0 and len(server.state.mailbox(BOB_JID)) == 0


async def test_a_blocked_user_never_sees_the_blocker_online_nor_its_last_seen(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await bob.subscribe(ALICE_JID)
        online = await bob.wait_for(ev.PresenceAvailable, lambda e: e.from_ == ALICE_JID, timeout=5)
        await alice.block(BOB)
        hidden = await bob.wait_for(ev.PresenceUnavailable, timeout=5)
        await alice.set_presence("unavailable")
        await trio.sleep(60)
        await alice.set_presence("available")
        await settle(alice, bob)
        while_blocked = [
            e
            for e in of_type(bob, ev.PresenceAvailable, ev.PresenceUnavailable)
            if e.node["from"] == ALICE_JID
        ]
        await bob.subscribe(ALICE_JID)  # asking again does not help
        asked = await bob.wait_for(ev.PresenceUnavailable, timeout=5)
        with pytest.raises(IqError) as last_seen:
            await bob.last_seen(ALICE_JID)
        await alice.unblock(BOB)
        back = await bob.wait_for(ev.PresenceAvailable, timeout=5)
        seconds = await bob.last_seen(ALICE_JID)
    assert online.node == Node("presence", {"from": ALICE_JID})
    assert hidden.node == Node(
        "presence", {"from": ALICE_JID, "type": "unavailable", "last": "deny"}
    )
    assert while_blocked == []
    assert asked.node == Node(
        "presence", {"from": ALICE_JID, "type": "unavailable", "last": "deny"}
    )
    assert last_seen.value.node.child("error") == Node(
        "error", {"code": "401", "text": "not-authorized"}
    )
    assert back.node == Node("presence", {"from": ALICE_JID})
    assert seconds == 0


async def test_a_blocked_users_last_seen_is_deny_while_the_blocker_is_offline(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        await alice.block(BOB)
    async with user(BOB) as bob, user(CAROL) as carol:
        await bob.subscribe(ALICE_JID)
        await carol.subscribe(ALICE_JID)
        to_bob = await bob.wait_for(ev.PresenceUnavailable, timeout=5)
        to_carol = await carol.wait_for(ev.PresenceUnavailable, timeout=5)
    assert to_bob.last == "deny"
    assert to_carol.last.isdigit()


async def test_chat_states_do_not_reach_a_user_who_blocked_the_sender(
    server: Server, user: OpenUser
) -> None:
    add_group(server, ALICE_JID, BOB_JID, CAROL_JID)
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.block(BOB)
        await bob.typing(ALICE_JID)
        await bob.typing(GROUP_JID)
        in_group = await carol.wait_for(ev.GroupMessageComposing, timeout=5)
        await alice.typing(BOB_JID)  # the other way round is not blocked
        to_bob = await bob.wait_for(ev.MessageComposing, timeout=5)
        await settle(alice, bob)
        alice_got = of_type(alice, ev.MessageComposing, ev.GroupMessageComposing)
    assert in_group.participant == BOB_JID
    assert to_bob.from_ == ALICE_JID
    assert alice_got == []


# -------------------------------------------------------------------- privacy settings


async def test_privacy_settings_start_at_all_and_a_set_answers_with_what_changed(
    server: Server, user: OpenUser
) -> None:
    get = Node(
        "iq",
        {"id": "p1", "type": "get", "xmlns": "privacy", "to": "s.whatsapp.net"},
        [Node("privacy")],
    )
    async with user(ALICE) as alice:
        start = await alice.iq(get)
        answer = await alice.iq(
            Node(
                "iq",
                {"id": "p2", "type": "set", "xmlns": "privacy"},  # yowsup sends no ``to``
                [
                    Node(
                        "privacy",
                        children=[
                            Node("category", {"name": "last", "value": "none"}),
                            Node("category", {"name": "profile", "value": "contacts"}),
                        ],
                    )
                ],
            )
        )
        now = await alice.get_privacy_settings()
        confirmed = await alice.set_privacy_settings(status="none")
        final = await alice.get_privacy_settings()
    assert start == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": "p1", "type": "result"},
        [
            Node(
                "privacy",
                children=[
                    Node("category", {"name": "last", "value": "all"}),
                    Node("category", {"name": "status", "value": "all"}),
                    Node("category", {"name": "profile", "value": "all"}),
                ],
            )
        ],
    )
    # yowsup 2.5 parses the set answer with the get parser: the <privacy> child is there.
    assert answer == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": "p2", "type": "result"},
        [
            Node(
                "privacy",
                children=[
                    Node("category", {"name": "last", "value": "none"}),
                    Node("category", {"name": "profile", "value": "contacts"}),
                ],
            )
        ],
    )
    assert now == {"last": "none", "status": "all", "profile": "contacts"}
    assert confirmed == {"status": "none"}
    assert final == {"last": "none", "status": "none", "profile": "contacts"}


@pytest.mark.parametrize(
    "values", [{"last": "friends"}, {"colour": "all"}, {}], ids=["value", "category", "empty"]
)
async def test_bad_privacy_settings_are_refused_and_change_nothing(
    server: Server, user: OpenUser, values: dict[str, str]
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.set_privacy_settings(
                status="contacts", **values
            ) if values else await alice.set_privacy_settings()
        settings = await alice.get_privacy_settings()
    assert refused.value.node.child("error") == Node(
        "error", {"code": "400", "text": "bad-request"}
    )
    assert settings == {"last": "all", "status": "all", "profile": "all"}


@pytest.mark.parametrize(
    ("setting", "bob_sees", "carol_sees"),
    [("all", True, True), ("contacts", True, False), ("none", False, False)],
)
async def test_the_last_setting_governs_last_seen_for_every_viewer(
    server: Server,
    user: OpenUser,
    autojump_clock: trio.testing.MockClock,
    setting: str,
    bob_sees: bool,
    carol_sees: bool,
) -> None:
    async with user(ALICE) as alice:
        await alice.sync_contacts([BOB])  # Bob is Alice's contact, Carol is not
        await alice.set_privacy_settings(last=setting)
    left = server.clock.now()
    await trio.sleep(30)
    async with user(BOB) as bob, user(CAROL) as carol:
        seen: dict[str, tuple[str, int | str]] = {}
        for name, viewer in (("bob", bob), ("carol", carol)):
            await viewer.subscribe(ALICE_JID)
            presence = await viewer.wait_for(ev.PresenceUnavailable, timeout=5)
            try:
                answer: int | str = await viewer.last_seen(ALICE_JID)
            except IqError as exc:
                answer = f"{exc.code} {exc.text}"
            seen[name] = (presence.last, answer)
    visible, hidden = (str(left), 30), ("deny", "401 not-authorized")
    assert seen["bob"] == (visible if bob_sees else hidden)
    assert seen["carol"] == (visible if carol_sees else hidden)
