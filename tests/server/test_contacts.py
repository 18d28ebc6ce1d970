"""Contact sync and ``contacts`` notifications (§3.7, §3.15, §4.6)."""

from __future__ import annotations

import pytest
import trio

from simulator.client import Client, IqError
from simulator.client import events as ev
from simulator.client.events import NumberWasAdded, NumberWasRemoved, NumberWasUpdated
from simulator.server import Server
from simulator.server.flows.contacts import ContactChange, notify_contacts
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
SYNC = "urn:xmpp:whatsapp:sync"
STRANGER = "34600000000"  # well formed, not on the service


async def settle(*clients: Client) -> None:
    """A ping round trip per client: whatever the server sent before has arrived."""
    for client in clients:
        await client.ping(timeout=5)


def sync_iq(
    mode: str = "full", context: str = "interactive", index: str = "0", *users: Node
) -> Node:
    attrs = {"mode": mode, "context": context, "sid": "sid-1", "index": index, "last": "true"}
    return Node("iq", {"type": "get", "xmlns": SYNC}, [Node("sync", attrs, users)])


@pytest.mark.parametrize("context", ["registration", "interactive", "background"])
async def test_sync_sorts_numbers_into_in_out_invalid_and_echoes_them_as_sent(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock, context: str
) -> None:
    sent = ["+49 111 0000002", "491110000003", "+34 (600) 000-000", "hello", "12", "+491110000002"]
    async with user(ALICE) as alice:
        result = await alice.sync_contacts(sent, context=context, sid="sync_sid_full_1")
    assert result.node == Node(
        "iq",
        {"from": ALICE_JID, "id": result.node["id"], "type": "result"},
        [
            Node(
                "sync",
                {"sid": "sync_sid_full_1", "index": "0", "last": "true", "version": result.version},
                [
                    Node(
                        "in",
                        children=[
                            Node("user", {"jid": BOB_JID}, data="+49 111 0000002"),
                            Node("user", {"jid": CAROL_JID}, data="491110000003"),
                            Node("user", {"jid": BOB_JID}, data="+491110000002"),
                        ],
                    ),
                    Node(
                        "out",
                        children=[
                            Node(
                                "user",
                                {"jid": f"{STRANGER}@s.whatsapp.net"},
                                data="+34 (600) 000-000",
                            )
                        ],
                    ),
                    Node("invalid", children=[Node("user", data="hello"), Node("user", data="12")]),
                ],
            )
        ],
    )
    assert result.existing == {
        "+49 111 0000002": BOB_JID,
        "491110000003": CAROL_JID,
        "+491110000002": BOB_JID,
    }
    assert result.non_existing == ["+34 (600) 000-000"]
    assert result.invalid == ["hello", "12"]
    assert (result.index, result.sid, result.last, result.wait) == (
        0,
        "sync_sid_full_1",
        True,
        None,
    )
    # The address book keeps every well-formed number once, as digits, in sync order.
    assert server.state.contacts[ALICE_JID] == [BOB, CAROL, STRANGER]


async def test_empty_wrappers_are_left_out(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        only_in = await alice.sync_contacts([BOB])
        nothing = await alice.sync_contacts([], mode="query")
    sync = only_in.node.child("sync")
    assert sync is not None and [c.tag for c in sync.children] == ["in"]
    empty = nothing.node.child("sync")
    assert empty is not None and empty.children == ()
    assert (nothing.existing, nothing.non_existing, nothing.invalid) == ({}, [], [])


async def test_full_replaces_delta_adds_and_removes_query_stores_nothing(
    server: Server, user: OpenUser
) -> None:
    book = server.state.contacts
    async with user(ALICE) as alice:
        await alice.sync_contacts([BOB, STRANGER], mode="full")
        assert book[ALICE_JID] == [BOB, STRANGER]
        await alice.sync_contacts(["+" + CAROL], mode="full")
        assert book[ALICE_JID] == [CAROL]
        await alice.sync_contacts([BOB, CAROL], mode="delta", deleted=[CAROL])
        assert book[ALICE_JID] == [BOB]
        await alice.sync_contacts(["+49 111 0000003"], mode="delta", context="background")
        assert book[ALICE_JID] == [BOB, CAROL]
        await alice.sync_contacts([], mode="delta", deleted=["+49 111 0000002"])
        assert book[ALICE_JID] == [CAROL]
        asked = await alice.sync_contacts([BOB, STRANGER], mode="query")
        assert book[ALICE_JID] == [CAROL]
        # chunked (and full split into pieces): index 0 starts over, later indexes add.
        await alice.sync_contacts([STRANGER], mode="chunked", context="registration", last=False)
        assert book[ALICE_JID] == [STRANGER]
        await alice.sync_contacts([BOB], mode="chunked", context="registration", index=1)
        assert book[ALICE_JID] == [STRANGER, BOB]
        await alice.sync_contacts([CAROL], mode="full", index=1)
        assert book[ALICE_JID] == [STRANGER, BOB, CAROL]
    # query answers like the others, it only does not store.
    assert asked.existing == {BOB: BOB_JID} and asked.non_existing == [STRANGER]


async def test_index_sid_and_last_are_echoed_and_versions_always_grow(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        first = await alice.sync_contacts([BOB], index=3, last=False, sid="1.795270223e+17")
        second = await alice.sync_contacts([BOB])  # same virtual instant
        await trio.sleep(5)
        third = await alice.sync_contacts([BOB])
    sync = first.node.child("sync")
    assert sync is not None
    assert (sync["index"], sync["last"], sync["sid"]) == ("3", "false", "1.795270223e+17")
    assert (first.index, first.last) == (3, False)
    versions = [int(r.version) for r in (first, second, third)]
    assert versions == sorted(set(versions))
    assert versions[2] - versions[0] >= 5_000_000  # microseconds of server time


@pytest.mark.parametrize(
    "request_node",
    [
        sync_iq("sideways", "interactive", "0", Node("user", data=BOB)),
        sync_iq("full", "whenever", "0", Node("user", data=BOB)),
        sync_iq("full", "interactive", "first", Node("user", data=BOB)),
        Node(
            "iq",
            {"type": "get", "xmlns": SYNC},
            [Node("sync", {"index": "0"}, [Node("user", data=BOB)])],
        ),
    ],
    ids=["mode", "context", "index", "no-mode"],
)
async def test_malformed_syncs_are_refused_and_store_nothing(
    server: Server, user: OpenUser, request_node: Node
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.iq(request_node)
    assert refused.value.node == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": refused.value.node["id"], "type": "error"},
        [Node("error", {"code": "400", "text": "bad-request"})],
    )
    assert ALICE_JID not in server.state.contacts


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [("add", NumberWasAdded), ("remove", NumberWasRemoved), ("update", NumberWasUpdated)],
)
async def test_notify_contacts_reaches_exactly_the_users_who_synced_the_number(
    server: Server,
    user: OpenUser,
    autojump_clock: trio.testing.MockClock,
    kind: ContactChange,
    event_type: type[NumberWasAdded],
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.sync_contacts([CAROL, STRANGER])
        await bob.sync_contacts([ALICE, STRANGER])  # not Carol
        await carol.sync_contacts([CAROL])  # her own number: she is never told about herself
        told = notify_contacts(server, CAROL_JID, kind)
        got = await alice.wait_for(event_type, timeout=5)
        await settle(alice, bob, carol)
        rest = [
            e
            for c in (alice, bob, carol)
            for e in c.events_nowait()
            if isinstance(e, NumberWasAdded | NumberWasRemoved | NumberWasUpdated)
        ]
    assert told == [ALICE_JID]
    assert got.node == Node(
        "notification",
        {"from": ALICE_JID, "type": "contacts", "id": got.id, "t": str(server.clock.now())},
        [Node(kind, {"jid": CAROL_JID})],
    )
    assert got.jid == CAROL_JID and got.id.isdigit() and 9 <= len(got.id) <= 10
    assert rest == []
    assert len(server.state.mailbox(ALICE_JID)) == 0  # the client acked it


async def test_contacts_notifications_wait_for_an_offline_user(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        await alice.sync_contacts([STRANGER, BOB])
    server.add_account(STRANGER, "AQIDBAUGBwgJCgsMDQ4PEBESExQ=", "Newcomer")
    told = notify_contacts(server, STRANGER, "add")  # a bare number works as well
    assert told == [ALICE_JID] and len(server.state.mailbox(ALICE_JID)) == 1
    async with user(ALICE) as alice:
        added = await alice.wait_for(NumberWasAdded, timeout=5)
        done = await alice.wait_for(ev.OfflineDone, timeout=5)
        # the number is on the service now: a new sync says so
        again = await alice.sync_contacts([STRANGER], mode="query")
    assert added.jid == f"{STRANGER}@s.whatsapp.net" and added.node["offline"] == "1"
    assert done.count == 1
    assert again.existing == {STRANGER: f"{STRANGER}@s.whatsapp.net"}


async def test_notify_contacts_from_a_handler_context_and_bad_kinds(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await bob.sync_contacts([ALICE])
        session = server.live(ALICE_JID)
        assert session is not None
        assert notify_contacts(session.ctx, ALICE_JID, "update") == [BOB_JID]
        updated = await bob.wait_for(NumberWasUpdated, timeout=5)
        with pytest.raises(ValueError, match="add, remove, update"):
            notify_contacts(server, ALICE_JID, "sync")  # type: ignore[arg-type]
        await settle(alice)
    assert updated.jid == ALICE_JID


async def test_a_sync_after_notification_is_unhandled(server: Server, user: OpenUser) -> None:
    """``<sync after>`` asks for a re-sync; no documented event stands for it (§3.15)."""
    async with user(ALICE) as alice:
        node = Node(
            "notification",
            {"from": ALICE_JID, "type": "contacts", "id": "4174521704", "t": "1437251557"},
            [Node("sync", {"after": "1437251557"})],
        )
        server.deliver(ALICE_JID, node)
        got = await alice.wait_for(ev.Unhandled, lambda e: e.node.tag == "notification", timeout=5)
        await settle(alice)
    assert got.node == node
    assert len(server.state.mailbox(ALICE_JID)) == 0  # acked all the same
