"""Groups v2: create, info, lists, subject, members, admins, leave, messages, receipts (§3.5)."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
import trio
import trio.testing

from simulator.client import Client
from simulator.client import events as ev
from simulator.client.events import (
    GetGroupsSubject,
    GroupInfo,
    GroupisCreated,
    GroupNotification,
    GroupsParticipantChangedNumber,
    GroupsParticipantsAdd,
    GroupsParticipantsDemote,
    GroupsParticipantsPromote,
    GroupsParticipantsRemove,
)
from simulator.errors import IqError
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
NOBODY_JID = "499999999999@s.whatsapp.net"


def gp2(gjid: str, event: GroupNotification, actor: str, name: str, payload: Node) -> Node:
    """The whole ``w:gp2`` notification we expect (the id is the server's, seeded)."""
    attrs = {"from": gjid, "type": "w:gp2", "id": event.id, "t": str(event.t)}
    return Node("notification", {**attrs, "participant": actor, "notify": name}, [payload])


def members(tag: str, *jids: str, **attrs: str) -> Node:
    return Node(tag, attrs, [Node("participant", {"jid": jid}) for jid in jids])


async def flush(*clients: Client) -> None:
    """A round trip per client: whatever the server sent them before is now read."""
    for client in clients:
        await client.ping(timeout=5)


def group_events(client: Client) -> list[GroupNotification]:
    return [e for e in client.events_nowait() if isinstance(e, GroupNotification)]


async def refused(code: int, call: Awaitable[object]) -> None:
    with pytest.raises(IqError) as info:
        await call
    assert info.value.code == code


# -------------------------------------------------------------------- create, info, lists


async def test_create_sends_every_invited_user_the_whole_group(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        gjid = await alice.create_group("Team", [BOB, CAROL, NOBODY_JID])
        created = await bob.wait_for(GroupisCreated, timeout=5)
        await flush(alice)
        alice_saw = group_events(alice)
    creation = server.state.groups[gjid].creation
    assert gjid == f"{ALICE}-{creation}@g.us"
    group = Node(
        "group",
        {
            "id": f"{ALICE}-{creation}",
            "creator": ALICE_JID,
            "creation": str(creation),
            "subject": "Team",
            "s_t": str(creation),
            "s_o": ALICE_JID,
        },
        [
            Node("participant", {"jid": ALICE_JID, "type": "admin"}),
            Node("participant", {"jid": BOB_JID}),
            Node("participant", {"jid": CAROL_JID}),
        ],
    )
    assert created.node == gp2(
        gjid, created, ALICE_JID, "Alice", Node("create", {"type": "new"}, [group])
    )
    assert created.group == GroupInfo(
        jid=gjid,
        subject="Team",
        creator=ALICE_JID,
        creation=creation,
        subject_owner=ALICE_JID,
        subject_time=creation,
        participants=(ALICE_JID, BOB_JID, CAROL_JID),
        admins=(ALICE_JID,),
    )
    assert (created.admin, created.creator, created.members) == (
        ALICE_JID,
        ALICE_JID,
        created.group.participants,
    )
    assert alice_saw == []  # the creator gets the result, not a notification
    # Carol was offline: the notification waited for her, and stays until she acks it.
    async with user(CAROL, auto_ack=False) as carol:
        late = await carol.wait_for(GroupisCreated, timeout=5)
        done = await carol.wait_for(ev.OfflineDone, timeout=5)
    assert late.node == created.node.with_attrs(offline="1") and late.offline
    assert done.count == 1
    async with user(CAROL) as carol:
        again = await carol.wait_for(GroupisCreated, timeout=5)
        await flush(carol)
    assert again.id == created.id
    assert len(server.state.mailbox(CAROL_JID)) == 0


async def test_group_ids_are_creator_and_time_and_never_repeat(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        now = server.clock.now()
        request = Node("create", {"subject": "One"}, [Node("participant", {"jid": BOB_JID})])
        answer = await alice.iq(
            Node("iq", {"id": "c1", "type": "set", "xmlns": "w:g2", "to": "g.us"}, [request])
        )
        second = await alice.create_group("Two", [BOB])  # the same second
        await trio.sleep(5)
        third = await alice.create_group("Three")
    assert answer == Node(
        "iq",
        {"from": "g.us", "id": "c1", "type": "result"},
        [Node("group", {"id": f"{ALICE}-{now}"})],
    )
    assert second == f"{ALICE}-{now + 1}@g.us"
    assert server.state.groups[second].creation == now  # only the id moves on
    assert third == f"{ALICE}-{now + 5}@g.us"


async def test_info_and_the_participating_and_owning_lists(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        first = await alice.create_group("First", [BOB])
        second = await bob.create_group("Second", [ALICE, CAROL])
        info = await bob.group_info(first)
        raw = await bob.iq(
            Node(
                "iq",
                {"id": "q1", "type": "get", "xmlns": "w:g2", "to": first},
                [Node("query", {"request": "interactive"})],
            )
        )
        alice_in = await alice.get_groups()
        alice_owns = await alice.get_groups(owning=True)
        owning = await alice.iq(
            Node("iq", {"id": "l1", "type": "get", "xmlns": "w:g2", "to": "g.us"}, [Node("owning")])
        )
    assert info.jid == first and info.subject == "First"
    assert (info.participants, info.admins) == ((ALICE_JID, BOB_JID), (ALICE_JID,))
    assert raw.attrs == {"from": first, "id": "q1", "type": "result"}
    assert GroupInfo.from_node(raw.children[0]) == info
    assert [g.jid for g in alice_in] == [first, second]
    assert alice_in[1].participants == (BOB_JID, ALICE_JID, CAROL_JID)
    assert [g.jid for g in alice_owns] == [first]
    t = str(info.creation)
    assert owning == Node(
        "iq",
        {"from": "g.us", "id": "l1", "type": "result"},
        [
            Node(
                "groups",
                children=[
                    Node(
                        "group",
                        {
                            "id": first.removesuffix("@g.us"),
                            "creator": ALICE_JID,
                            "creation": t,
                            "subject": "First",
                            "s_t": t,
                            "s_o": ALICE_JID,
                        },
                        [
                            Node("participant", {"jid": ALICE_JID, "type": "admin"}),
                            Node("participant", {"jid": BOB_JID}),
                        ],
                    )
                ],
            )
        ],
    )
    async with user(CAROL) as carol:
        empty = await carol.iq(
            Node("iq", {"id": "l2", "type": "get", "xmlns": "w:g2", "to": "g.us"}, [Node("owning")])
        )
    assert empty == Node("iq", {"from": "g.us", "id": "l2", "type": "result"}, [Node("groups")])


async def test_info_refusals(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(CAROL) as carol:
        gjid = await alice.create_group("Private", [BOB])
        await refused(401, carol.group_info(gjid))
        await refused(404, carol.group_info(f"{ALICE}-1@g.us"))


async def test_participant_list_for_yowsup(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        answer = await alice.iq(
            Node("iq", {"id": "p1", "type": "get", "xmlns": "w:g2", "to": gjid}, [Node("list")])
        )
    assert answer == Node(
        "iq",
        {"from": gjid, "id": "p1", "type": "result"},
        [Node("participant", {"jid": jid}) for jid in (ALICE_JID, BOB_JID, CAROL_JID)],
    )


async def test_create_refusals(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        await refused(400, alice.create_group("", [BOB]))
        await refused(406, alice.create_group("x" * 26, [BOB]))
        assert await alice.create_group("x" * 25, [BOB])
    assert len(server.state.groups) == 1


async def test_legacy_v1_groups_are_not_implemented(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        v1 = Node(
            "iq",
            {"id": "v1", "type": "set", "xmlns": "w:g", "to": "g.us"},
            [Node("group", {"action": "create", "subject": "Old"})],
        )
        with pytest.raises(IqError) as info:
            await alice.iq(v1)
    assert info.value.node == Node(
        "iq",
        {"from": "g.us", "id": "v1", "type": "error"},
        [Node("error", {"code": "501", "text": "feature-not-implemented"})],
    )
    assert server.state.groups == {}


# -------------------------------------------------------------------- subject


async def test_subject_change_tells_the_others(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Old", [BOB, CAROL])
        await bob.set_group_subject(gjid, "New")  # any participant may
        to_alice = await alice.wait_for(GetGroupsSubject, timeout=5)
        to_carol = await carol.wait_for(GetGroupsSubject, timeout=5)
        await flush(bob)
        bob_saw = [e for e in group_events(bob) if not isinstance(e, GroupisCreated)]
        info = await carol.group_info(gjid)
    t = str(to_alice.t)
    expected = gp2(
        gjid,
        to_alice,
        BOB_JID,
        "Bob",
        Node("subject", {"subject": "New", "s_o": BOB_JID, "s_t": t}),
    )
    assert to_alice.node == expected
    assert to_carol.node == expected
    assert (to_alice.subject, to_alice.participant, to_alice.notify) == ("New", BOB_JID, "Bob")
    assert bob_saw == []
    assert (info.subject, info.subject_owner, info.subject_time) == ("New", BOB_JID, to_alice.t)


async def test_subject_refusals(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(CAROL) as carol:
        gjid = await alice.create_group("Old", [BOB])
        await refused(406, alice.set_group_subject(gjid, "y" * 26))
        await refused(400, alice.set_group_subject(gjid, ""))
        await refused(401, carol.set_group_subject(gjid, "Mine"))
        await refused(404, alice.set_group_subject(f"{ALICE}-7@g.us", "Gone"))
    assert server.state.groups[gjid].subject == "Old"


# -------------------------------------------------------------------- members and admins


async def test_an_added_user_gets_the_whole_group_and_members_get_add(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    """As the real service did (2015): the added user gets ``<create>`` (no ``type``) with
    the whole group, created before the notification's ``t``; the members get ``<add>``."""
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB])
        assert (await bob.wait_for(GroupisCreated, timeout=5)).new
        await alice.promote(gjid, [BOB])
        await bob.wait_for(GroupsParticipantsPromote, timeout=5)
        created = server.state.groups[gjid].creation
        await trio.sleep(3600)
        request = members("add", CAROL_JID, BOB_JID, NOBODY_JID)
        answer = await alice.iq(
            Node("iq", {"id": "a1", "type": "set", "xmlns": "w:g2", "to": gjid}, [request])
        )
        to_bob = await bob.wait_for(GroupsParticipantsAdd, timeout=5)
        to_carol = await carol.wait_for(GroupisCreated, timeout=5)
        await flush(alice, bob, carol)
        alice_saw = group_events(alice)
        carol_saw = group_events(carol)
        bob_saw = group_events(bob)
    # Only Carol was added: Bob is already in, the unknown number is not on the service.
    assert answer == Node(
        "iq",
        {"from": gjid, "id": "a1", "type": "result"},
        [Node("add", {"type": "success", "participant": CAROL_JID})],
    )
    expected = gp2(gjid, to_bob, ALICE_JID, "Alice", members("add", CAROL_JID, subject="Team"))
    assert to_bob.node == expected
    whole = Node(
        "group",
        {
            "id": gjid.split("@")[0],
            "creator": ALICE_JID,
            "creation": str(created),
            "subject": "Team",
            "s_t": str(created),
            "s_o": ALICE_JID,
        },
        [
            Node("participant", {"jid": ALICE_JID, "type": "admin"}),
            Node("participant", {"jid": BOB_JID, "type": "admin"}),
            Node("participant", {"jid": CAROL_JID}),
        ],
    )
    assert to_carol.node == gp2(gjid, to_carol, ALICE_JID, "Alice", Node("create", None, [whole]))
    assert to_carol.added_to_existing and not to_carol.new
    assert to_carol.creation == created < to_carol.t
    assert to_carol.group.admins == (ALICE_JID, BOB_JID)
    assert to_carol.members == (ALICE_JID, BOB_JID, CAROL_JID)
    assert (alice_saw, carol_saw, bob_saw) == ([], [], [])
    assert list(server.state.groups[gjid].participants) == [ALICE_JID, BOB_JID, CAROL_JID]


async def test_admin_removes_a_member_who_is_told_too(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        removed = await alice.remove_participants(gjid, [CAROL, NOBODY_JID])
        to_bob = await bob.wait_for(GroupsParticipantsRemove, timeout=5)
        to_carol = await carol.wait_for(GroupsParticipantsRemove, timeout=5)
        await flush(alice)
        alice_saw = group_events(alice)
        await refused(401, carol.group_info(gjid))
    assert removed == [CAROL_JID]
    expected = gp2(gjid, to_bob, ALICE_JID, "Alice", members("remove", CAROL_JID, subject="Team"))
    assert to_bob.node == expected and to_carol.node == expected
    assert alice_saw == []


async def test_promote_and_demote_tell_the_other_members(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        await alice.promote(gjid, [BOB])
        promoted = await bob.wait_for(GroupsParticipantsPromote, timeout=5)
        seen_by_carol = await carol.wait_for(GroupsParticipantsPromote, timeout=5)
        await bob.demote(gjid, ALICE)  # Bob is an admin now
        demoted = await alice.wait_for(GroupsParticipantsDemote, timeout=5)
        await carol.wait_for(GroupsParticipantsDemote, timeout=5)
        await flush(alice, bob)
        extra = group_events(alice) + [
            e for e in group_events(bob) if not isinstance(e, GroupisCreated)
        ]
        info = await carol.group_info(gjid)
    assert promoted.node == gp2(gjid, promoted, ALICE_JID, "Alice", members("promote", BOB_JID))
    assert seen_by_carol.node == promoted.node
    assert (promoted.participant, promoted.notify, promoted.participants) == (
        ALICE_JID,
        "Alice",
        (BOB_JID,),
    )
    assert demoted.node == gp2(gjid, demoted, BOB_JID, "Bob", members("demote", ALICE_JID))
    assert extra == []  # nobody is told about their own change
    assert info.admins == (BOB_JID,)


async def test_members_who_are_not_admins_are_refused(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB])
        await refused(403, bob.add_participants(gjid, [CAROL]))
        await refused(403, bob.remove_participants(gjid, [ALICE]))
        await refused(403, bob.promote(gjid, [BOB]))
        await refused(403, bob.demote(gjid, [ALICE]))
        await refused(401, carol.add_participants(gjid, [CAROL]))
        await refused(404, alice.add_participants(f"{ALICE}-3@g.us", [CAROL]))
        await flush(alice, carol)
        told = group_events(alice) + group_events(carol)
    group = server.state.groups[gjid]
    assert group.participants == {ALICE_JID: "admin", BOB_JID: None}
    assert told == []


async def test_max_participants_refuses_the_whole_request(server: Server, user: OpenUser) -> None:
    extra = [f"4920000{i:05d}" for i in range(100)]
    for phone in extra:
        server.add_account(phone, PASSWORD)
    async with user(ALICE) as alice:
        await refused(406, alice.create_group("Crowd", [*extra, BOB]))  # 102 with Alice
        assert server.state.groups == {}
        gjid = await alice.create_group("Crowd", extra)  # exactly 101
        await refused(406, alice.add_participants(gjid, [BOB]))
        await refused(406, alice.add_participants(gjid, [BOB, CAROL]))
    assert len(server.state.groups[gjid].participants) == 101
    assert BOB_JID not in server.state.groups[gjid].participants


# -------------------------------------------------------------------- leaving


async def test_leave_answers_the_leaver_tells_the_rest_and_keeps_an_admin(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        request = Node(
            "leave", {"action": "delete"}, [Node("group", {"id": gjid.removesuffix("@g.us")})]
        )
        answer = await alice.iq(
            Node("iq", {"id": "x1", "type": "set", "xmlns": "w:g2", "to": "g.us"}, [request])
        )
        left = await bob.wait_for(GroupsParticipantsRemove, timeout=5)
        heir = await bob.wait_for(GroupsParticipantsPromote, timeout=5)
        carol_saw = [
            await carol.wait_for(
                GroupNotification, lambda e: not isinstance(e, GroupisCreated), timeout=5
            )
            for _ in range(2)
        ]
        info = await carol.group_info(gjid)
    assert answer == Node(
        "iq",
        {"from": "g.us", "id": "x1", "type": "result"},
        [Node("leave", children=[Node("group", {"id": gjid})])],
    )
    assert left.node == gp2(gjid, left, ALICE_JID, "Alice", members("remove", ALICE_JID))
    # Alice was the only admin: the oldest remaining member, Bob, takes over.
    assert heir.node == gp2(gjid, heir, ALICE_JID, "Alice", members("promote", BOB_JID))
    assert [e.node for e in carol_saw] == [left.node, heir.node]
    assert (info.participants, info.admins) == ((BOB_JID, CAROL_JID), (BOB_JID,))


async def test_the_last_one_out_deletes_the_group(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        gjid = await alice.create_group("Pair", [BOB])
        other = await alice.create_group("Other")
        assert await alice.leave_groups([gjid, other]) == [gjid, other]
        await refused(405, alice.leave_groups(gjid))  # not in it any more
        assert await bob.leave_groups(gjid) == [gjid]
        await refused(404, bob.leave_groups(gjid))
        await refused(404, bob.group_info(gjid))
    assert server.state.groups == {}


async def test_demoting_the_last_admin_promotes_the_oldest_other_member(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        await alice.demote(gjid, ALICE)
        demoted = await bob.wait_for(GroupsParticipantsDemote, timeout=5)
        heir = await alice.wait_for(
            GroupsParticipantsPromote, timeout=5
        )  # told: it was not her doing
        await bob.wait_for(GroupsParticipantsPromote, timeout=5)
    assert demoted.participants == (ALICE_JID,)
    assert heir.participants == (BOB_JID,)
    assert server.state.groups[gjid].admins == [BOB_JID]


# ---------------------------------------------------------- messages, receipts, chat states


async def test_group_messages_reach_the_other_members_but_not_a_blocker(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        server.state.blocked[CAROL_JID] = [ALICE_JID]
        msg_id = await alice.send_text(gjid, "hello")
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        got = await bob.wait_for(ev.GetGroupMessage, timeout=5)
        await flush(alice, carol)
        alice_got = [e for e in alice.events_nowait() if isinstance(e, ev.GetMessage)]
        carol_got = [e for e in carol.events_nowait() if isinstance(e, ev.GetMessage)]
    assert ack.node == Node(
        "ack", {"class": "message", "id": msg_id, "from": gjid, "t": str(ack.t)}
    )
    assert got.node == Node(
        "message",
        {
            "from": gjid,
            "participant": ALICE_JID,
            "type": "text",
            "id": msg_id,
            "t": str(ack.t),
            "notify": "Alice",
            "offline": "0",
        },
        [Node("body", data="hello")],
    )
    assert (got.author, got.chat) == (ALICE_JID, gjid)
    assert alice_got == [] and carol_got == []
    assert len(server.state.mailbox(CAROL_JID)) == 0


async def test_a_non_member_is_acked_and_nothing_is_delivered(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(CAROL) as carol:
        gjid = await alice.create_group("Team", [BOB])
        msg_id = await carol.send_text(gjid, "let me in")
        ack = await carol.wait_for(ev.MessageReceivedServer, timeout=5)
        await flush(alice)
        alice_got = [e for e in alice.events_nowait() if isinstance(e, ev.GetMessage)]
    assert ack.id == msg_id
    assert alice_got == []
    assert len(server.state.mailbox(BOB_JID)) == 1  # only the create notification


async def test_each_members_receipts_reach_the_author(server: Server, user: OpenUser) -> None:
    async with (
        user(ALICE) as alice,
        user(BOB, auto_receipt=False) as bob,
        user(CAROL, auto_receipt=False) as carol,
    ):
        gjid = await alice.create_group("Team", [BOB, CAROL])
        msg_id = await alice.send_text(gjid, "read me")
        await bob.wait_for(ev.GetGroupMessage, timeout=5)
        await carol.wait_for(ev.GetGroupMessage, timeout=5)
        await bob.send_receipt(gjid, msg_id, participant=ALICE_JID)  # 2.5.x form
        from_bob = await alice.wait_for(ev.GetReceipt, timeout=5)
        await carol.send(Node("receipt", {"id": msg_id, "to": gjid}))  # 2.0.53: no participant
        from_carol = await alice.wait_for(ev.GetReceipt, timeout=5)
        await carol.mark_read(gjid, msg_id, participant=ALICE_JID)
        read = await alice.wait_for(ev.GetReceipt, timeout=5)
        await flush(alice)
    assert from_bob.node == Node(
        "receipt",
        {"from": gjid, "participant": BOB_JID, "id": msg_id, "t": str(from_bob.t), "offline": "0"},
    )
    assert from_carol.node == Node(
        "receipt",
        {
            "from": gjid,
            "participant": CAROL_JID,
            "id": msg_id,
            "t": str(from_carol.t),
            "offline": "0",
        },
    )
    assert (read.participant, read.type) == (CAROL_JID, "read")
    for member in (ALICE_JID, BOB_JID, CAROL_JID):
        assert len(server.state.mailbox(member)) == 0


async def test_two_members_sending_the_same_id_each_get_their_own_receipts(
    server: Server, user: OpenUser
) -> None:
    """Ids are unique per sender only (yowsup's are the second plus a counter, so two
    clients started together collide): a receipt naming either author reaches that author."""
    async with (
        user(ALICE, auto_receipt=False) as alice,
        user(BOB, auto_receipt=False) as bob,
        user(CAROL, auto_receipt=False) as carol,
    ):
        gjid = await alice.create_group("Team", [BOB, CAROL])
        await bob.wait_for(ev.GroupisCreated, timeout=5)
        for sender in (alice, bob):
            await sender.send(
                Node(
                    "message", {"to": gjid, "type": "text", "id": "1-2"}, [Node("body", data="hi")]
                )
            )
            await carol.wait_for(ev.GetGroupMessage, timeout=5)
        await carol.send_receipt(gjid, "1-2", participant=ALICE_JID)
        await carol.send_receipt(gjid, "1-2", participant=BOB_JID)
        to_alice = await alice.wait_for(ev.GetReceipt, timeout=5)
        to_bob = await bob.wait_for(ev.GetReceipt, timeout=5)
        # Without a participant the author is ambiguous: nobody is told.
        await carol.send(Node("receipt", {"id": "1-2", "to": gjid}))
        await flush(alice, bob)
        late = [e for c in (alice, bob) for e in c.events_nowait() if isinstance(e, ev.GetReceipt)]
        assert late == []
    assert (to_alice.participant, to_alice.id) == (CAROL_JID, "1-2")
    assert (to_bob.participant, to_bob.id) == (CAROL_JID, "1-2")


async def test_group_chat_states_are_relayed_to_online_members(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        gjid = await alice.create_group("Team", [BOB, CAROL])
        await alice.typing(gjid)
        typing = await bob.wait_for(ev.GroupMessageComposing, timeout=5)
        await alice.paused(gjid)
        paused = await bob.wait_for(ev.GroupMessagePaused, timeout=5)
    assert typing.node == Node(
        "chatstate", {"from": gjid, "participant": ALICE_JID}, [Node("composing")]
    )
    assert (paused.from_, paused.participant) == (gjid, ALICE_JID)
    assert len(server.state.mailbox(CAROL_JID)) == 1  # never queued: only the create notification


async def test_a_number_change_notification_raises_its_event(
    server: Server, user: OpenUser
) -> None:
    # The account flow emits <modify> after a number change (§3.8); here it is injected.
    async with user(ALICE) as alice:
        gjid = await alice.create_group("Team", [BOB])
        modify = Node(
            "notification",
            {"from": gjid, "type": "w:gp2", "id": "77", "t": "1420070400"}
            | {"participant": BOB_JID, "notify": "Bob"},
            [members("modify", CAROL_JID)],
        )
        server.deliver(ALICE_JID, modify)
        changed = await alice.wait_for(GroupsParticipantChangedNumber, timeout=5)
        await flush(alice)
    assert (changed.from_, changed.old_jid, changed.new_jid, changed.notify, changed.t) == (
        gjid,
        BOB_JID,
        CAROL_JID,
        "Bob",
        1420070400,
    )
    assert len(server.state.mailbox(ALICE_JID)) == 0  # acked like any notification
