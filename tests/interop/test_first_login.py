"""The documented first-login workflow with a real yowsup as the client (PROTOCOL.md §2.11).

Alice is ``drivers/user.py``: every request below is built by the yowsup release's own
entity class (the driver's ``iq`` and ``presence`` ops) and sent through its own protocol
layers, and every answer is read by its own parsers, whose result entities the driver
reports as JSON (``entity`` events). The world is made by Bob, Carol and Erin on our client
library, plus what Alice had before her reinstall in the server state (she blocked Dave,
she has a broadcast list). The server records both sides of each exchange, so each step is
checked three times: the request yowsup wrote, the answer the server gave, and what yowsup
made of it.

The workflow of the Chat-API docs, step by step, in yowsup 2.4.102 (file paths inside
``yowsup/layers/``; 2.5.7 has the same code at the same lines and behaves the same, so the
test runs for both):

1. sendGetPrivacyBlockedList: ``PrivacyListIqProtocolEntity`` exists and is sent, but no
   parser reads the answer: ``YowPrivacyProtocolLayer.recvIq`` is ``pass``
   (``protocol_privacy/layer.py`` lines 17-18) and nothing registers a callback.
2. sendGetClientConfig: ``PushIqProtocolEntity`` exists; ``YowIqProtocolLayer.sendIq`` sends
   it without a callback (``protocol_iq/layer.py`` line 35) and its ``recvIq`` only answers
   ``urn:xmpp:ping`` (lines 38-39), so the answer is never parsed either.
3. sendGetServerProperties: ``PropsIqProtocolEntity``, the same as 2.
4. sendGetGroups: ``ListGroupsIqProtocolEntity`` -> ``ListGroupsResultIqProtocolEntity``.
5. sendGetBroadcastLists: NOT IMPLEMENTED. No entity class asks for the lists and no layer
   handles ``w:b`` (the namespace appears only in ``coder/tokendictionary.py``); yowsup can
   only send broadcast messages (``protocol_messages/protocolentities/
   message_text_broadcast.py``). Not run.
6. sendSync: ``GetSyncIqProtocolEntity`` -> ``ResultSyncIqProtocolEntity``.
7. sendPresenceSubscription: ``SubscribePresenceProtocolEntity`` -> ``PresenceProtocolEntity``.
8. sendGetStatuses: ``GetStatusesIqProtocolEntity`` -> ``ResultStatusesIqProtocolEntity``. It
   goes out twice with the same id, because ``YowContactsIqProtocolLayer.sendIq``
   (``protocol_contacts/layer.py`` line 37) and ``YowProfilesProtocolLayer.sendIq``
   (``protocol_profiles/layer.py`` line 22, with its set-status callback) both send every
   ``xmlns="status"`` iq. The server answers both. The contacts layer parses each answer;
   the profiles layer hands up one bare result. (PROTOCOL.md §3.3 says this of 2.5.x only.)
9. sendGetProfilePicture: ``GetPictureIqProtocolEntity`` -> ``ResultGetPictureIqProtocolEntity``,
   or ``ErrorIqProtocolEntity`` (404) for a contact without a picture.

yowsup 2.0.53 is left out. It has no entity to get statuses or pictures
(``protocol_contacts/protocolentities`` holds only sync and contact notifications,
``protocol_profiles/protocolentities`` no get-picture class). Its privacy layer is in
none of its stacks (``yowsup/stacks/__init__.py`` line 40). Its ``PushIqProtocolEntity``
and ``PropsIqProtocolEntity`` are not exported, and its iq layer sends only ``w:p``
(``protocol_iq/layer.py`` line 15). Its group list is the legacy ``w:g``
``<list type="participating"/>``, which this server answers with 501 (§3.5). Its presence
layer drops every presence (``protocol_presence/layer.py`` line 17). Only the sync and the
subscriptions would remain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pytest

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.jid import user_jid
from simulator.server import Server, open_server
from simulator.server.flows.profile import DEFAULT_STATUS
from simulator.server.state import BroadcastList
from simulator.wire.node import Node
from tests.interop.conftest import (
    CLIENTS,
    EXIT_OK,
    PASSWORD,
    TIMEOUT,
    USER_PHONE,
    Driver,
    Event,
    YowsupClient,
    run_driver,
    undelivered,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

pytestmark = [pytest.mark.interop, pytest.mark.real_clock]

WORKFLOW_VERSIONS: Final = ("2.4.102", "2.5.7")
"""The releases that implement the workflow's steps (see the module docstring)."""

ALICE = USER_PHONE
BOB, CAROL, DAVE, ERIN = "491110000002", "491110000003", "491110000004", "491110000005"
ALICE_JID, BOB_JID, CAROL_JID, DAVE_JID, ERIN_JID = (
    user_jid(p) for p in (ALICE, BOB, CAROL, DAVE, ERIN)
)
ACCOUNTS: Final = tuple(
    (phone, PASSWORD, name)
    for phone, name in (
        (ALICE, "Alice"),
        (BOB, "Bob"),
        (CAROL, "Carol"),
        (DAVE, "Dave"),
        (ERIN, "Erin"),
    )
)
NOT_ON_WHATSAPP = "491119999999"
NOT_A_NUMBER = "call me"
BOOK: Final = ["+49 111 0000002", CAROL, ERIN, NOT_ON_WHATSAPP, NOT_A_NUMBER]
"""Alice's address book as she typed it: Bob formatted, the others bare."""
CONTACTS: Final = (BOB_JID, CAROL_JID, ERIN_JID)
SID = "first-login-1"
LIST_ID = "1419999999000@broadcast"
BOB_STATUS = "On my bike 🚲"
CAROL_STATUS = "At work"
BOB_PICTURE = (b"\xff\xd8\xff\xe0 Bob, full", b"\xff\xd8\xff\xe0 Bob, thumb")
CAROL_PICTURE = (b"\xff\xd8\xff\xe0 Carol, full", b"\xff\xd8\xff\xe0 Carol, thumb")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """Alice, her contacts Bob, Carol and Erin (who never logs in), and Dave."""
    async with open_server(accounts=ACCOUNTS) as srv:
        yield srv


@dataclass(frozen=True)
class World:
    """What the other users made before Alice's first login."""

    group: str
    welcome: str
    """The id of Bob's message to Alice, stored while she was away."""
    bob_picture: str
    carol_picture: str


async def prepare(server: Server, bob: Client) -> World:
    """Alice's old state, Carol's status and picture (then she leaves), Bob's status,
    picture, group and a message to Alice; Dave's message, which the block keeps away."""
    server.state.blocked[ALICE_JID] = [DAVE_JID]
    server.state.broadcast_lists[ALICE_JID] = {
        LIST_ID: BroadcastList(LIST_ID, "", [BOB_JID, CAROL_JID])
    }
    async with open_client(server, CAROL, PASSWORD, push_name="Carol") as carol:
        await carol.set_status(CAROL_STATUS)
        carol_picture = await carol.set_profile_picture(*CAROL_PICTURE)
    carol_account = server.state.accounts[CAROL_JID]
    await wait_until(server, lambda: not carol_account.online, "Carol offline")
    await bob.set_status(BOB_STATUS)
    bob_picture = await bob.set_profile_picture(*BOB_PICTURE)
    group = await bob.create_group("Weekend", [ALICE, CAROL])
    welcome = await bob.send_text(ALICE_JID, "welcome back")
    await bob.wait_for(ev.MessageReceivedServer, lambda e: e.id == welcome, timeout=TIMEOUT)
    async with open_client(server, DAVE, PASSWORD, push_name="Dave") as dave:
        shunned = await dave.send_text(ALICE_JID, "let me in")
        await dave.wait_for(ev.MessageReceivedServer, lambda e: e.id == shunned, timeout=TIMEOUT)
    return World(group, welcome, bob_picture, carol_picture)


def exchanges(server: Server, jid: str) -> tuple[list[Node], list[Node]]:
    """Two lists the server fills as it goes: what ``jid`` sends, what it is sent."""
    sent: list[Node] = []
    received: list[Node] = []

    def observe(direction: str, who: str, node: Node) -> None:
        if who == jid:
            (sent if direction == "in" else received).append(node)

    server.tap(observe)
    return sent, received


def entity(name: str, **fields: Any) -> Callable[[Event], bool]:
    """An ``entity`` event of this class whose fields include these."""
    return lambda e: e["entity"] == name and all(e["fields"].get(k) == v for k, v in fields.items())


def is_iq(iq_id: str) -> Callable[[Event], bool]:
    """A ``node`` event of an iq with this id: yowsup received it."""
    return lambda e: e["tag"] == "iq" and e["id"] == iq_id


def parsed(driver: Driver, iq_id: str) -> list[tuple[str, dict[str, Any]]]:
    """What yowsup handed up for the answers to this iq id, in order: (class, fields)."""
    return [
        (e["entity"], e["fields"])
        for e in driver.all("entity", lambda e: e["tag"] == "iq" and e["fields"]["_id"] == iq_id)
    ]


def iq_fields(iq_id: str, sender: str, *, type: str = "result", **fields: Any) -> dict[str, Any]:
    """An iq entity's fields as yowsup parses an answer: ``xmlns`` and ``to`` are unset."""
    return {
        "tag": "iq",
        "_id": iq_id,
        "_from": sender,
        "_type": type,
        "xmlns": None,
        "to": None,
        **fields,
    }


def presence_fields(
    sender: str, type: str | None = None, last: str | None = None
) -> dict[str, Any]:
    return {"tag": "presence", "_type": type, "name": None, "_from": sender, "last": last}


@pytest.mark.parametrize(
    "yowsup",
    [pytest.param(c, id=c.version) for c in CLIENTS if c.version in WORKFLOW_VERSIONS],
    indirect=True,
)
async def test_yowsup_runs_the_first_login_workflow_and_parses_every_answer(
    yowsup: YowsupClient, server: Server, tmp_path: Path
) -> None:
    _host, port = await server.listen_tcp("127.0.0.1", 0)
    requests, answers = exchanges(server, ALICE_JID)
    async with open_client(server, BOB, PASSWORD, push_name="Bob") as bob:
        world = await prepare(server, bob)
        async with run_driver(
            yowsup, "user.py", port=port, home=tmp_path / "alice", phone=ALICE
        ) as alice:
            await alice.wait_event("authed")
            offline = await alice.wait_event("entity", entity("OfflineIbProtocolEntity"))
            await alice.command("receipt", to=BOB_JID, id=world.welcome)

            for name, args in (
                ("PrivacyListIqProtocolEntity", {}),
                ("PushIqProtocolEntity", {}),
                ("PropsIqProtocolEntity", {}),
                ("ListGroupsIqProtocolEntity", {"groupsType": "participating"}),
                (
                    "GetSyncIqProtocolEntity",
                    {"numbers": BOOK, "mode": "full", "context": "registration", "sid": SID},
                ),
            ):
                await alice.command("iq", entity=name, args=args)
            synced = await alice.wait_event("entity", entity("ResultSyncIqProtocolEntity"))
            contacts = list(synced["fields"]["inNumbers"].values())
            for jid in contacts:
                await alice.command("presence", type="subscribe", to=jid)
            await alice.command("iq", entity="GetStatusesIqProtocolEntity", args={"jids": contacts})
            for jid in contacts:
                await alice.command("iq", entity="GetPictureIqProtocolEntity", args={"jid": jid})
            # yowsup handles its input in order: once the last answer is parsed, all are.
            await alice.wait_event("entity", entity("ErrorIqProtocolEntity", _from=ERIN_JID))
            for jid in contacts:
                await alice.wait_event("entity", entity("PresenceProtocolEntity", _from=jid))

            # The subscription lives on: Bob leaving is told at once.
            await bob.aclose()
            left = await alice.wait_event(
                "entity", entity("PresenceProtocolEntity", _from=BOB_JID, _type="unavailable")
            )
            # Alice acknowledged everything she was sent (Carol, offline, still has her
            # group notification waiting).
            await wait_until(
                server,
                lambda: len(server.state.mailbox(ALICE_JID)) == 0,
                f"Alice acknowledged all; pending: {undelivered(server)}",
            )
            await alice.command("quit")
            assert await alice.wait_exit() == EXIT_OK, alice.report()

    assert alice.all("error") == []
    ids = [(e["entity"], e["id"]) for e in alice.all("requested")]
    assert [name for name, _ in ids] == [
        "PrivacyListIqProtocolEntity",
        "PushIqProtocolEntity",
        "PropsIqProtocolEntity",
        "ListGroupsIqProtocolEntity",
        "GetSyncIqProtocolEntity",
        "GetStatusesIqProtocolEntity",
        *["GetPictureIqProtocolEntity"] * 3,
    ]
    blocked_id, push_id, props_id, groups_id, sync_id, status_id, *picture_ids = (i for _, i in ids)
    state = server.state
    group = state.groups[world.group]
    carol_left = state.accounts[CAROL_JID].last_seen
    bob_left = state.accounts[BOB_JID].last_seen
    assert carol_left is not None and bob_left is not None

    # ---- what was stored while Alice was away: the group's creation and Bob's message
    # (not Dave's), parsed by yowsup's groups and ib layers, acknowledged by the driver.
    invited = alice.find("entity", entity("CreateGroupsNotificationProtocolEntity"))
    assert invited is not None
    assert invited["fields"] == {
        "tag": "notification",
        "_type": "w:gp2",
        "_id": answers[0]["id"],
        "_from": world.group,
        "timestamp": group.creation,
        "notify": "Bob",
        "offline": True,
        "_participant": BOB_JID,
        "groupId": group.id,
        "createType": "new",
        "creationTimestamp": group.creation,
        "creatorJid": BOB_JID,
        "subject": "Weekend",
        "subjectTime": group.creation,
        "subjectOwnerJid": BOB_JID,
        "participants": {BOB_JID: "admin", ALICE_JID: None, CAROL_JID: None},
    }
    message = alice.find("message")
    assert message is not None
    assert (message["id"], message["from"], message["body"], message["offline"]) == (
        world.welcome,
        BOB_JID,
        "welcome back",
        "1",
    )
    assert offline["fields"] == {"tag": "ib", "count": 2}
    assert [n.tag for n in answers[:3]] == ["notification", "message", "ib"]

    # ---- the requests, exactly as yowsup's entity classes wrote them, in the documented order
    iq = {"type": "get"}
    expected_requests = [
        Node(
            "iq",
            {**iq, "id": blocked_id, "xmlns": "jabber:iq:privacy"},
            [Node("query", children=[Node("list", {"name": "default"})])],
        ),
        Node("iq", {**iq, "id": push_id, "xmlns": "urn:xmpp:whatsapp:push"}, [Node("config")]),
        Node("iq", {**iq, "id": props_id, "xmlns": "w"}, [Node("props")]),
        Node("iq", {**iq, "id": groups_id, "xmlns": "w:g2", "to": "g.us"}, [Node("participating")]),
        Node(
            "iq",
            {**iq, "id": sync_id, "xmlns": "urn:xmpp:whatsapp:sync"},
            [
                Node(
                    "sync",
                    {
                        "sid": SID,
                        "index": "0",
                        "last": "true",
                        "mode": "full",
                        "context": "registration",
                    },
                    [Node("user", data=number) for number in BOOK],
                )
            ],
        ),
        *[Node("presence", {"type": "subscribe", "to": jid}) for jid in CONTACTS],
        *[
            Node(
                "iq",
                {**iq, "id": status_id, "xmlns": "status", "to": "s.whatsapp.net"},
                [Node("status", children=[Node("user", {"jid": jid}) for jid in CONTACTS])],
            )
        ]
        * 2,
        *[
            Node(
                "iq",
                {**iq, "id": picture_id, "xmlns": "w:profile:picture", "to": jid},
                [Node("picture", {"type": "preview"})],
            )
            for picture_id, jid in zip(picture_ids, CONTACTS, strict=True)
        ],
    ]
    workflow = [n for n in requests if n.tag in ("iq", "presence")]
    assert workflow == expected_requests

    # ---- 1-3: blocked list, client config, server properties. The server's answers; yowsup
    # receives them (no crash, no error) but has no parser for them.
    def answer(iq_id: str) -> Node:
        found = [n for n in answers if n.tag == "iq" and n.get("id") == iq_id]
        assert len(found) == 1, found
        return found[0]

    item = {"type": "jid", "value": DAVE_JID, "action": "deny", "order": "1"}
    assert answer(blocked_id) == Node(
        "iq",
        {"from": ALICE_JID, "id": blocked_id, "type": "result"},
        [Node("query", children=[Node("list", {"name": "default"}, [Node("item", item)])])],
    )
    assert answer(push_id) == Node(
        "iq", {"from": "s.whatsapp.net", "id": push_id, "type": "result"}
    )
    props = answer(props_id).child("props")
    assert props is not None
    assert props.get("version") == "4"
    assert {p["name"]: p["value"] for p in props.children} == dict(server.config.props)
    for iq_id in (blocked_id, push_id, props_id):
        assert alice.find("node", is_iq(iq_id)) is not None
        assert parsed(alice, iq_id) == []

    # ---- 4: the group list, with the group Bob made, its subject and members
    assert parsed(alice, groups_id) == [
        (
            "ListGroupsResultIqProtocolEntity",
            iq_fields(
                groups_id,
                "g.us",
                groupsList=[
                    {
                        "class": "Group",
                        "_groupId": group.id,
                        "_creatorJid": BOB_JID,
                        "_subject": "Weekend",
                        "_subjectOwnerJid": BOB_JID,
                        "_subjectTime": group.creation,
                        "_creationTime": group.creation,
                        "_participants": {BOB_JID: "admin", ALICE_JID: None, CAROL_JID: None},
                    }
                ],
            ),
        )
    ]

    # ---- 6: the sync, mapping each number as typed to its JID
    version = answer(sync_id).child("sync")
    assert version is not None
    assert parsed(alice, sync_id) == [
        (
            "ResultSyncIqProtocolEntity",
            iq_fields(
                sync_id,
                ALICE_JID,
                sid=SID,
                index=0,
                last="true",
                inNumbers={"+49 111 0000002": BOB_JID, CAROL: CAROL_JID, ERIN: ERIN_JID},
                outNumbers={NOT_ON_WHATSAPP: user_jid(NOT_ON_WHATSAPP)},
                invalidNumbers=[NOT_A_NUMBER],
                wait=None,
                version=version["version"],
            ),
        )
    ]

    # ---- 7: the presence answers: Bob online, Carol away since she left, Erin never seen
    assert [e["fields"] for e in alice.all("entity", entity("PresenceProtocolEntity"))] == [
        presence_fields(BOB_JID),
        presence_fields(CAROL_JID, "unavailable", str(carol_left)),
        presence_fields(ERIN_JID, "unavailable", "deny"),
        presence_fields(BOB_JID, "unavailable", str(bob_left)),
    ]
    assert left["fields"] == presence_fields(BOB_JID, "unavailable", str(bob_left))

    # ---- 8: the statuses (Erin's is the default), for each of the two identical requests
    statuses = {
        BOB_JID: [BOB_STATUS, str(state.statuses[BOB_JID].t)],
        CAROL_JID: [CAROL_STATUS, str(state.statuses[CAROL_JID].t)],
        ERIN_JID: [DEFAULT_STATUS.decode(), str(state.accounts[ERIN_JID].creation)],
    }
    by_contacts_layer = (
        "ResultStatusesIqProtocolEntity",
        iq_fields(status_id, "s.whatsapp.net", statuses=statuses),
    )
    by_profiles_layer = ("IqProtocolEntity", iq_fields(status_id, "s.whatsapp.net"))
    assert parsed(alice, status_id) == [by_contacts_layer, by_profiles_layer, by_contacts_layer]

    # ---- 9: the pictures: the previews' bytes and ids; Erin has none
    def picture(picture_id: str, preview: bytes) -> dict[str, Any]:
        return {"preview": True, "pictureData": {"hex": preview.hex()}, "pictureId": picture_id}

    assert [parsed(alice, i) for i in picture_ids] == [
        [
            (
                "ResultGetPictureIqProtocolEntity",
                iq_fields(picture_ids[0], BOB_JID, **picture(world.bob_picture, BOB_PICTURE[1])),
            )
        ],
        [
            (
                "ResultGetPictureIqProtocolEntity",
                iq_fields(
                    picture_ids[1], CAROL_JID, **picture(world.carol_picture, CAROL_PICTURE[1])
                ),
            )
        ],
        [
            (
                "ErrorIqProtocolEntity",
                iq_fields(
                    picture_ids[2],
                    ERIN_JID,
                    type="error",
                    code="404",
                    text="item-not-found",
                    backoff=0,
                ),
            )
        ],
    ]
