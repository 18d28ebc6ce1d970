"""The documented first-login workflow, end to end with our client library (PROTOCOL.md §2.11).

The Chat-API docs ("WhatsApp Workflow", "Fist Login") list what a client does after its
first login, in this order: the blocked list, the client config, the server properties,
the groups it takes part in, its broadcast lists, a sync of the whole address book, a
presence subscription per synced contact, the statuses of the contacts, and a profile
picture per contact. Here Alice runs exactly that against a world the other users built
through their own clients (Bob and Carol set statuses and pictures, Bob made a group with
both, Bob wrote to her, Dave whom she blocked wrote too; Erin never logged in, so she has
the default status, no picture and no last seen), plus what Alice had before her
reinstall, put into the server state (she blocked Dave; she has a broadcast list). Each
answer is compared with the values prepared; what was queued while she was offline is
checked as she receives it at login.
"""

from __future__ import annotations

import trio

from simulator.client import events as ev
from simulator.client._api_contacts import StatusInfo
from simulator.client._api_groups import BroadcastListInfo
from simulator.client.events import GroupInfo, GroupisCreated
from simulator.server import Server
from simulator.server.flows.profile import DEFAULT_STATUS
from simulator.server.state import BroadcastList
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
DAVE = "491110000004"
DAVE_JID = f"{DAVE}@s.whatsapp.net"
ERIN = "491110000005"
ERIN_JID = f"{ERIN}@s.whatsapp.net"
NOT_ON_WHATSAPP = "491119999999"
NOT_A_NUMBER = "call me"
NOW = 1_420_070_400
"""The server clock under the mock clock, at virtual time 0."""
LIST_ID = "1419999999000@broadcast"

BOB_STATUS = "On my bike 🚲".encode()
CAROL_STATUS = b"At work"
BOB_PICTURE = (b"\xff\xd8\xff\xe0 Bob, full", b"\xff\xd8\xff\xe0 Bob, thumb")
CAROL_PICTURE = (b"\xff\xd8\xff\xe0 Carol, full", b"\xff\xd8\xff\xe0 Carol, thumb")

DOCUMENTED_PROPS = {
    # The values the Chat-API docs list for sendGetServerProperties (PROTOCOL.md §3.1).
    "timeout": "300",
    "location": "0",
    "readreceipts": "1415214000",
    "qr": "0",
    "groups_v2": "1",
    "lists": "1",
    "library": "0",
    "audio": "1",
    "checkmarks": "0",
    "newmedia": "0",
    "video_max_edge": "960",
    "image_max_kbytes": "5120",
    "image_quality": "80",
    "image_max_edge": "1280",
    "media": "16",
    "broadcast": "50",
    "max_subject": "25",
    "max_participants": "101",
    "max_groups": "9999",
}


def request_of(node: Node) -> str:
    """A request Alice sent, named by what tells the workflow's steps apart."""
    if node.tag == "iq":
        return f"iq {node.get('xmlns')} {node.children[0].tag}"
    return f"presence {node.get('type')} {node.get('to', '')}".rstrip()


async def test_the_first_login_workflow_answers_with_the_world_as_prepared(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    server.add_account(DAVE, PASSWORD, "Dave")
    erin = server.add_account(ERIN, PASSWORD, "Erin")
    # What Alice had before her reinstall: Dave blocked, one broadcast list.
    server.state.blocked[ALICE_JID] = [DAVE_JID]
    server.state.broadcast_lists[ALICE_JID] = {
        LIST_ID: BroadcastList(LIST_ID, "", [BOB_JID, CAROL_JID])
    }

    # Carol sets her status and picture at NOW and leaves at NOW + 10.
    async with user(CAROL) as carol:
        await carol.set_status(CAROL_STATUS)
        carol_picture = await carol.set_profile_picture(*CAROL_PICTURE)
        await trio.sleep(10)
    carol_left = server.clock.now()
    await trio.sleep(20)

    requests: list[str] = []
    to_alice: list[Node] = []

    def observe(direction: str, jid: str, node: Node) -> None:
        if jid == ALICE_JID and direction == "out":
            to_alice.append(node)
        elif jid == ALICE_JID and node.tag in ("iq", "presence"):
            requests.append(request_of(node))

    server.tap(observe)
    async with user(BOB) as bob:
        # Bob (online throughout) sets his status and picture at NOW + 30, creates a
        # group with Alice and Carol at NOW + 35 and writes to Alice, who is offline.
        await bob.set_status(BOB_STATUS)
        bob_picture = await bob.set_profile_picture(*BOB_PICTURE)
        await trio.sleep(5)
        group = await bob.create_group("Weekend", [ALICE, CAROL])
        welcome = await bob.send_text(ALICE_JID, "welcome back")
        await bob.wait_for(ev.MessageReceivedServer, lambda e: e.id == welcome, timeout=5)
        # Dave's message is acked to Dave but never stored for Alice, who blocked him.
        async with user(DAVE) as dave:
            shunned = await dave.send_text(ALICE_JID, "let me in")
            await dave.wait_for(ev.MessageReceivedServer, lambda e: e.id == shunned, timeout=5)
        await trio.sleep(60)

        async with user(ALICE) as alice:
            invited = await alice.wait_for(GroupisCreated, timeout=5)
            welcomed = await alice.wait_for(ev.GetMessage, timeout=5)
            done = await alice.wait_for(ev.OfflineDone, timeout=5)

            # The workflow, in the documented order.
            blocked = await alice.get_blocked()
            config = await alice.get_client_config()
            props = await alice.get_server_properties()
            groups = await alice.get_groups()
            lists = await alice.get_broadcast_lists()
            book = ["+49 111 0000002", CAROL, ERIN, NOT_ON_WHATSAPP, NOT_A_NUMBER]
            synced = await alice.sync_contacts(book, context="registration", sid="first-1")
            for jid in synced.existing.values():
                await alice.subscribe(jid)
            bob_presence = await alice.wait_for(
                ev.PresenceAvailable, lambda e: e.from_ == BOB_JID, timeout=5
            )
            carol_presence = await alice.wait_for(ev.PresenceUnavailable, timeout=5)
            erin_presence = await alice.wait_for(ev.PresenceUnavailable, timeout=5)
            statuses = await alice.get_statuses(synced.existing.values())
            pictures = [await alice.get_profile_picture(j) for j in synced.existing.values()]

            # The subscription lives on: Bob leaving is told at once.
            await bob.aclose()
            bob_left = server.clock.now()
            gone = await alice.wait_for(ev.PresenceUnavailable, timeout=5)
            await alice.ping(timeout=5)
            own = await alice.wait_for(ev.PresenceAvailable, timeout=5)
            leftovers = alice.events_nowait()

    # Queued while she was away: the group's creation, then Bob's message (Dave's is not
    # there), then the end of the replay; Alice acknowledged both.
    assert [(n.tag, n.get("id"), n.get("offline")) for n in to_alice[:3]] == [
        ("notification", invited.id, "1"),
        ("message", welcome, "1"),
        ("ib", None, None),
    ]
    assert (invited.from_, invited.participant, invited.notify, invited.t) == (
        group,
        BOB_JID,
        "Bob",
        NOW + 35,
    )
    expected_group = GroupInfo(
        jid=group,
        subject="Weekend",
        creator=BOB_JID,
        creation=NOW + 35,
        subject_owner=BOB_JID,
        subject_time=NOW + 35,
        participants=(BOB_JID, ALICE_JID, CAROL_JID),
        admins=(BOB_JID,),
    )
    assert invited.group == expected_group
    assert (welcomed.from_, welcomed.body, welcomed.notify, welcomed.t) == (
        BOB_JID,
        b"welcome back",
        "Bob",
        NOW + 35,
    )
    assert done.count == 2
    assert len(server.state.mailbox(ALICE_JID)) == 0

    # Each answer, exactly.
    assert blocked == [DAVE_JID]
    assert config == Node("iq", {"from": "s.whatsapp.net", "id": config["id"], "type": "result"})
    assert props == DOCUMENTED_PROPS
    assert groups == [expected_group]
    assert lists == [BroadcastListInfo(id=LIST_ID, name="", recipients=(BOB_JID, CAROL_JID))]
    assert synced.node == Node(
        "iq",
        {"from": ALICE_JID, "id": synced.node["id"], "type": "result"},
        [
            Node(
                "sync",
                {"sid": "first-1", "index": "0", "last": "true", "version": synced.version},
                [
                    Node(
                        "in",
                        children=[
                            Node("user", {"jid": BOB_JID}, data="+49 111 0000002"),
                            Node("user", {"jid": CAROL_JID}, data=CAROL),
                            Node("user", {"jid": ERIN_JID}, data=ERIN),
                        ],
                    ),
                    Node(
                        "out",
                        children=[
                            Node(
                                "user",
                                {"jid": f"{NOT_ON_WHATSAPP}@s.whatsapp.net"},
                                data=NOT_ON_WHATSAPP,
                            )
                        ],
                    ),
                    Node("invalid", children=[Node("user", data=NOT_A_NUMBER)]),
                ],
            )
        ],
    )
    assert synced.existing == {"+49 111 0000002": BOB_JID, CAROL: CAROL_JID, ERIN: ERIN_JID}
    assert synced.version.isdigit()
    assert bob_presence.node == Node("presence", {"from": BOB_JID})
    assert carol_presence.node == Node(
        "presence", {"from": CAROL_JID, "type": "unavailable", "last": str(carol_left)}
    )
    assert erin_presence.node == Node(
        "presence", {"from": ERIN_JID, "type": "unavailable", "last": "deny"}
    )
    assert statuses == {
        BOB_JID: StatusInfo(jid=BOB_JID, status=BOB_STATUS, t=NOW + 30),
        CAROL_JID: StatusInfo(jid=CAROL_JID, status=CAROL_STATUS, t=NOW),
        ERIN_JID: StatusInfo(jid=ERIN_JID, status=DEFAULT_STATUS, t=erin.creation),
    }
    bob_got, carol_got, erin_got = pictures
    for got, jid, picture_id, preview in (
        (bob_got, BOB_JID, bob_picture, BOB_PICTURE[1]),
        (carol_got, CAROL_JID, carol_picture, CAROL_PICTURE[1]),
    ):
        assert got is not None
        assert got.node == Node(
            "iq",
            {"from": jid, "id": got.node["id"], "type": "result"},
            [Node("picture", {"type": "preview", "id": picture_id}, data=preview)],
        )
        assert (got.jid, got.type, got.id, got.data) == (jid, "preview", picture_id, preview)
    assert erin_got is None  # 404: she has none
    assert (bob_picture, carol_picture) == (str(NOW + 30), str(NOW))

    assert gone.node == Node(
        "presence", {"from": BOB_JID, "type": "unavailable", "last": str(bob_left)}
    )
    assert own.from_ == ALICE_JID  # the echo of her own announcement
    # Nothing else came: only the server's ack of her automatic delivery receipt.
    assert [e.node for e in leftovers] == [
        Node("ack", {"class": "receipt", "id": welcome, "from": BOB_JID})
    ]
    assert requests == [
        "presence available",  # the client announces itself after the login
        "iq jabber:iq:privacy query",
        "iq urn:xmpp:whatsapp:push config",
        "iq w props",
        "iq w:g2 participating",
        "iq w:b lists",
        "iq urn:xmpp:whatsapp:sync sync",
        f"presence subscribe {BOB_JID}",
        f"presence subscribe {CAROL_JID}",
        f"presence subscribe {ERIN_JID}",
        "iq status status",
        "iq w:profile:picture picture",
        "iq w:profile:picture picture",
        "iq w:profile:picture picture",
        "iq w:p ping",
    ]
