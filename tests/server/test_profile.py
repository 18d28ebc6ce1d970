"""Profile and group pictures, statuses, and who is told about them (§3.2, §3.3, §3.15, §4.6)."""

from __future__ import annotations

from typing import TypeVar

import pytest
import trio

from simulator.client import Client, IqError
from simulator.client import events as ev
from simulator.client.events import (
    GetStatus,
    ProfilePictureChanged,
    ProfilePictureDeleted,
)
from simulator.server import Server
from simulator.server.state import Group
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
DAVE = "491110000004"
DAVE_JID = f"{DAVE}@s.whatsapp.net"
GROUP_JID = f"{ALICE}-1420070400@g.us"
NOW = 1_420_070_400  # the server clock under the mock clock, at virtual time 0
IMAGE = b"\xff\xd8\xff\xe0 full image"
PREVIEW = b"\xff\xd8\xff\xe0 thumb"
PICTURE = "w:profile:picture"
E = TypeVar("E", bound=ev.Event)


async def settle(*clients: Client) -> None:
    """A ping round trip per client: whatever the server sent before has arrived."""
    for client in clients:
        await client.ping(timeout=5)


def of_type(client: Client, *types: type[E]) -> list[E]:
    """Take every event received so far; keep those of the given types."""
    return [e for e in client.events_nowait() if isinstance(e, types)]


def add_group(server: Server) -> None:
    """Alice (admin), Bob and Carol; Dave is not in it."""
    server.state.groups[GROUP_JID] = Group(
        jid=GROUP_JID,
        subject="Tea",
        creator=ALICE_JID,
        creation=NOW,
        subject_owner=ALICE_JID,
        subject_time=NOW,
        participants={ALICE_JID: "admin", BOB_JID: None, CAROL_JID: None},
    )


# -------------------------------------------------------------------- statuses


async def test_a_status_is_answered_and_told_to_the_users_who_synced_the_setter(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    text = "Busy 🐝".encode()
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.sync_contacts([ALICE])  # her own number: she is not told
        await bob.sync_contacts([ALICE])  # Carol did not sync Alice
        await trio.sleep(10)
        answer = await alice.iq(
            Node(
                "iq",
                {"id": "s1", "type": "set", "xmlns": "status", "to": "s.whatsapp.net"},
                [Node("status", data=text)],
            )
        )
        got = await bob.wait_for(GetStatus, timeout=5)
        await settle(alice, carol)
        others = of_type(alice, GetStatus) + of_type(carol, GetStatus)
    assert answer == Node("iq", {"from": "s.whatsapp.net", "id": "s1", "type": "result"})
    assert got.node == Node(
        "notification",
        {"from": ALICE_JID, "type": "status", "id": got.id, "t": str(NOW + 10)},
        [Node("set", data=text)],
    )
    assert (got.from_, got.type, got.t, got.status, got.text) == (
        ALICE_JID,
        "set",
        NOW + 10,
        text,
        "Busy 🐝",
    )
    assert others == []
    assert server.state.statuses[ALICE_JID].text == text


async def test_status_notifications_wait_for_an_offline_contact(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(BOB) as bob:
        await bob.sync_contacts([ALICE])
    async with user(ALICE) as alice:
        await alice.set_status("away")
    async with user(BOB) as bob:
        got = await bob.wait_for(GetStatus, timeout=5)
    assert got.node["offline"] == "1" and got.text == "away" and got.from_ == ALICE_JID


async def test_a_status_iq_sent_twice_is_answered_twice_but_told_once(
    server: Server, user: OpenUser
) -> None:
    """yowsup 2.5.7 sends every ``status`` iq through two layers: same id, twice (§3.3)."""
    request = Node(
        "iq",
        {"id": "7", "type": "set", "xmlns": "status", "to": "s.whatsapp.net"},
        [Node("status", data="hi")],
    )
    answers: list[Node] = []
    server.tap(
        lambda way, jid, node: (
            answers.append(node)
            if way == "out" and jid == ALICE_JID and node.tag == "iq" and node.get("id") == "7"
            else None
        )
    )
    async with user(ALICE) as alice, user(BOB) as bob:
        await bob.sync_contacts([ALICE])
        await alice.send(request)
        await alice.send(request)
        await settle(alice, bob)
        told = of_type(bob, GetStatus)
        # a new iq with the same text is a new status set: told again
        await alice.set_status("hi")
        again = await bob.wait_for(GetStatus, timeout=5)
    assert answers == [Node("iq", {"from": "s.whatsapp.net", "id": "7", "type": "result"})] * 2
    assert len(told) == 1
    assert again.text == "hi"


@pytest.mark.parametrize("status", [b"", None], ids=["empty", "missing"])
async def test_an_empty_status_is_refused(
    server: Server, user: OpenUser, status: bytes | None
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await bob.sync_contacts([ALICE])
        with pytest.raises(IqError) as refused:
            await alice.iq(
                Node(
                    "iq",
                    {"type": "set", "xmlns": "status", "to": "s.whatsapp.net"},
                    [Node("status", data=status)],
                )
            )
        await settle(bob)
        told = of_type(bob, GetStatus)
    assert refused.value.node.child("error") == Node(
        "error", {"code": "400", "text": "bad-request"}
    )
    assert told == [] and ALICE_JID not in server.state.statuses


async def test_a_blocked_contact_is_not_told_and_cannot_read_the_status(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await bob.sync_contacts([ALICE])
        await carol.sync_contacts([ALICE])
        await alice.block(BOB)
        await alice.set_status("not for Bob")
        to_carol = await carol.wait_for(GetStatus, timeout=5)
        await settle(bob)
        to_bob = of_type(bob, GetStatus)
        bob_reads = await bob.get_statuses([ALICE_JID])
    assert to_carol.text == "not for Bob"
    assert to_bob == [] and bob_reads == {}


@pytest.mark.parametrize(
    ("setting", "bob_sees", "carol_sees"),
    [("all", True, True), ("contacts", True, False), ("none", False, False)],
)
async def test_the_status_setting_governs_notifications_and_reads(
    server: Server, user: OpenUser, setting: str, bob_sees: bool, carol_sees: bool
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.sync_contacts([BOB])  # Bob is Alice's contact, Carol is not
        await bob.sync_contacts([ALICE])
        await carol.sync_contacts([ALICE])
        await alice.set_privacy_settings(status=setting)
        await alice.set_status("hello contacts")
        await settle(alice, bob, carol)
        told = {
            name: [e.text for e in of_type(c, GetStatus)]
            for name, c in (("bob", bob), ("carol", carol))
        }
        read = {
            name: await c.get_statuses([ALICE_JID]) for name, c in (("bob", bob), ("carol", carol))
        }
        own = await alice.get_statuses([ALICE_JID])
    assert told == {
        "bob": ["hello contacts"] if bob_sees else [],
        "carol": ["hello contacts"] if carol_sees else [],
    }
    assert (ALICE_JID in read["bob"], ALICE_JID in read["carol"]) == (bob_sees, carol_sees)
    assert own[ALICE_JID].text == "hello contacts"  # one always sees one's own


async def test_get_statuses_gives_the_default_for_users_who_never_set_one(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    server.state.accounts[CAROL_JID].creation = 1_410_000_000
    async with user(ALICE) as alice, user(BOB) as bob:
        await trio.sleep(5)
        await alice.set_status(b"caf\xe9")  # raw bytes, kept as they are
        answer = await bob.iq(
            Node(
                "iq",
                {"id": "g1", "type": "get", "xmlns": "status", "to": "s.whatsapp.net"},
                [
                    Node(
                        "status",
                        children=[
                            Node("user", {"jid": j}) for j in (ALICE_JID, CAROL_JID, DAVE_JID)
                        ],
                    )
                ],
            )
        )
        statuses = await bob.get_statuses([ALICE, CAROL])
    assert answer == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": "g1", "type": "result"},
        [
            Node(
                "status",
                children=[
                    Node("user", {"jid": ALICE_JID, "t": str(NOW + 5)}, data=b"caf\xe9"),
                    Node(
                        "user",
                        {"jid": CAROL_JID, "t": "1410000000"},
                        data="Hey there! I am using WhatsApp.",
                    ),
                ],
            )
        ],
    )  # Dave is not on the service: left out
    assert statuses[ALICE_JID].status == b"caf\xe9" and statuses[ALICE_JID].t == NOW + 5
    assert statuses[CAROL_JID].text == "Hey there! I am using WhatsApp."


# -------------------------------------------------------------------- own picture


async def test_picture_set_get_ids_and_delete_with_notifications(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await bob.sync_contacts([ALICE])  # Carol did not sync Alice
        set_answer = await alice.iq(
            Node(
                "iq",
                {"id": "p1", "type": "set", "xmlns": PICTURE, "to": ALICE_JID},
                [
                    Node("picture", {"type": "image"}, data=IMAGE),
                    Node("picture", {"type": "preview"}, data=PREVIEW),
                ],
            )
        )
        changed = await bob.wait_for(ProfilePictureChanged, timeout=5)
        preview = await bob.get_profile_picture(ALICE)
        image = await bob.get_profile_picture(ALICE_JID, large=True)
        raw = await bob.iq(
            Node(
                "iq",
                {"id": "p2", "type": "get", "xmlns": PICTURE, "to": ALICE_JID},
                [Node("picture", {"type": "preview"})],
            )
        )
        ids = await carol.get_profile_picture_ids([ALICE, BOB])
        await settle(carol)
        carol_told = of_type(carol, ProfilePictureChanged, ProfilePictureDeleted)
        await alice.remove_profile_picture()
        deleted = await bob.wait_for(ProfilePictureDeleted, timeout=5)
        gone = await bob.get_profile_picture(ALICE)
        ids_after = await carol.get_profile_picture_ids([ALICE])
        await settle(alice, carol)
        quiet = of_type(alice, ProfilePictureChanged, ProfilePictureDeleted) + of_type(
            carol, ProfilePictureChanged, ProfilePictureDeleted
        )
    picture_id = str(NOW)
    # yowsup 2.5 reads the set answer with its get parser: the <picture> child is mandatory.
    assert set_answer == Node(
        "iq",
        {"from": ALICE_JID, "id": "p1", "type": "result"},
        [Node("picture", {"type": "image", "id": picture_id})],
    )
    assert changed.node == Node(
        "notification",
        {"from": ALICE_JID, "type": "picture", "id": changed.id, "t": str(NOW)},
        [Node("set", {"jid": ALICE_JID, "id": picture_id})],
    )
    assert (changed.from_, changed.jid, changed.picture_id, changed.participant) == (
        ALICE_JID,
        ALICE_JID,
        picture_id,
        None,
    )
    assert preview is not None and (preview.jid, preview.type, preview.id, preview.data) == (
        ALICE_JID,
        "preview",
        picture_id,
        PREVIEW,
    )
    assert image is not None and (image.type, image.data) == ("image", IMAGE)
    assert raw == Node(
        "iq",
        {"from": ALICE_JID, "id": "p2", "type": "result"},
        [Node("picture", {"type": "preview", "id": picture_id}, data=PREVIEW)],
    )
    assert ids == {ALICE_JID: picture_id, BOB_JID: None}
    assert carol_told == []
    assert deleted.node == Node(
        "notification",
        {"from": ALICE_JID, "type": "picture", "id": deleted.id, "t": str(NOW)},
        [Node("delete", {"jid": ALICE_JID})],
    )
    assert gone is None and ids_after == {ALICE_JID: None}
    assert quiet == []


async def test_delete_answers_without_children_and_a_second_delete_tells_nobody(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await bob.sync_contacts([ALICE])
        await alice.set_profile_picture(IMAGE, PREVIEW)
        await bob.wait_for(ProfilePictureChanged, timeout=5)
        chat_api_remove = Node(
            "iq",
            {"id": "0f", "to": ALICE_JID, "type": "set", "xmlns": PICTURE},
            [Node("picture"), Node("picture", {"type": "preview"})],
        )
        first = await alice.iq(chat_api_remove)
        await bob.wait_for(ProfilePictureDeleted, timeout=5)
        second = await alice.iq(chat_api_remove.with_attrs(id="10"))
        await settle(bob)
        more = of_type(bob, ProfilePictureDeleted)
    assert first == Node("iq", {"from": ALICE_JID, "id": "0f", "type": "result"})
    assert second.children == () and more == []


async def test_picture_ids_are_upload_times_and_never_repeat(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice:
        first = await alice.set_profile_picture(IMAGE, PREVIEW)
        second = await alice.set_profile_picture(IMAGE + b"2", PREVIEW)  # the same second
        await trio.sleep(100)
        third = await alice.set_profile_picture(IMAGE + b"3", PREVIEW)
    assert (first, second, third) == (str(NOW), str(NOW + 1), str(NOW + 100))


async def test_picture_errors_unknown_none_and_bad_type(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        none = await alice.get_profile_picture(BOB)  # Bob has no picture
        codes = []
        for request in (
            Node(
                "iq",
                {"type": "get", "xmlns": PICTURE, "to": BOB_JID},
                [Node("picture", {"type": "preview"})],
            ),
            Node(
                "iq",
                {"type": "get", "xmlns": PICTURE, "to": DAVE_JID},
                [Node("picture", {"type": "preview"})],
            ),
            Node(
                "iq",
                {"type": "get", "xmlns": PICTURE, "to": BOB_JID},
                [Node("picture", {"type": "huge"})],
            ),
            Node(
                "iq",
                {"type": "set", "xmlns": PICTURE, "to": BOB_JID},
                [Node("picture", {"type": "image"}, data=IMAGE)],
            ),
            Node(
                "iq",
                {"type": "set", "xmlns": PICTURE, "to": ALICE_JID},
                [Node("picture", {"type": "preview"}, data=PREVIEW)],
            ),
        ):
            with pytest.raises(IqError) as refused:
                await alice.iq(request)
            codes.append(refused.value.node.child("error"))
    assert none is None
    assert codes == [
        Node("error", {"code": "404", "text": "item-not-found"}),  # no picture
        Node("error", {"code": "404", "text": "item-not-found"}),  # no such user
        Node("error", {"code": "400", "text": "bad-request"}),  # neither preview nor image
        Node("error", {"code": "401", "text": "not-authorized"}),  # someone else's picture
        Node("error", {"code": "400", "text": "bad-request"}),  # a preview without an image
    ]
    assert server.state.pictures == {}


async def test_a_blocked_user_is_not_told_and_cannot_fetch_the_picture(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await bob.sync_contacts([ALICE])
        await carol.sync_contacts([ALICE])
        await alice.block(BOB)
        picture_id = await alice.set_profile_picture(IMAGE, PREVIEW)
        to_carol = await carol.wait_for(ProfilePictureChanged, timeout=5)
        with pytest.raises(IqError) as refused:
            await bob.get_profile_picture(ALICE)
        ids = await bob.get_profile_picture_ids([ALICE])
        await alice.remove_profile_picture()
        await carol.wait_for(ProfilePictureDeleted, timeout=5)
        await settle(bob)
        to_bob = of_type(bob, ProfilePictureChanged, ProfilePictureDeleted)
    assert to_carol.picture_id == picture_id
    assert refused.value.node.child("error") == Node(
        "error", {"code": "401", "text": "not-authorized"}
    )
    assert ids == {ALICE_JID: None}
    assert to_bob == []


@pytest.mark.parametrize(
    ("setting", "bob_sees", "carol_sees"),
    [("all", True, True), ("contacts", True, False), ("none", False, False)],
)
async def test_the_profile_setting_governs_picture_notifications_and_reads(
    server: Server, user: OpenUser, setting: str, bob_sees: bool, carol_sees: bool
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.sync_contacts([BOB])  # Bob is Alice's contact, Carol is not
        await bob.sync_contacts([ALICE])
        await carol.sync_contacts([ALICE])
        await alice.set_privacy_settings(profile=setting)
        picture_id = await alice.set_profile_picture(IMAGE, PREVIEW)
        await settle(alice, bob, carol)
        seen: dict[str, tuple[bool, str]] = {}
        for name, viewer in (("bob", bob), ("carol", carol)):
            told = bool(of_type(viewer, ProfilePictureChanged))
            try:
                picture = await viewer.get_profile_picture(ALICE)
                fetched = picture.id if picture is not None else "none"
            except IqError as exc:
                fetched = f"{exc.code} {exc.text}"
            seen[name] = (told, fetched)
        own = await alice.get_profile_picture(ALICE)
    hidden = (False, "401 not-authorized")
    assert seen["bob"] == ((True, picture_id) if bob_sees else hidden)
    assert seen["carol"] == ((True, picture_id) if carol_sees else hidden)
    assert own is not None and own.id == picture_id


async def test_the_2014_whatsapi_picture_form_is_understood(server: Server, user: OpenUser) -> None:
    """WhatsAPI (2014) put ``xmlns`` on the first ``<picture>`` instead of the iq."""
    legacy = Node(
        "iq",
        {"id": "setphoto-1", "to": ALICE_JID, "type": "set"},
        [
            Node("picture", {"xmlns": PICTURE}, data=IMAGE),
            Node("picture", {"type": "preview"}, data=PREVIEW),
        ],
    )
    async with user(ALICE) as alice:
        answer = await alice.iq(legacy)
        stored = await alice.get_profile_picture(ALICE, large=True)
        with pytest.raises(IqError) as unknown:
            await alice.iq(
                Node("iq", {"type": "set"}, [Node("picture", {"xmlns": "w:elsewhere"}, data=IMAGE)])
            )
    assert answer.child("picture") == Node(
        "picture", {"type": "image", "id": answer.children[0]["id"]}
    )
    assert stored is not None and stored.data == IMAGE
    assert unknown.value.code == 501


# -------------------------------------------------------------------- group pictures


async def test_a_group_admin_sets_the_group_picture_and_the_other_members_are_told(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    add_group(server)
    server.add_account(DAVE, PASSWORD, "Dave")
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol, user(DAVE) as dave:
        answer = await alice.iq(
            Node(
                "iq",
                {"id": "g1", "type": "set", "xmlns": PICTURE, "to": GROUP_JID},
                [
                    Node("picture", {"type": "image"}, data=IMAGE),
                    Node("picture", {"type": "preview"}, data=PREVIEW),
                ],
            )
        )
        to_bob = await bob.wait_for(ProfilePictureChanged, timeout=5)
        to_carol = await carol.wait_for(ProfilePictureChanged, timeout=5)
        fetched = await carol.get_profile_picture(GROUP_JID, large=True)
        with pytest.raises(IqError) as outsider:
            await dave.get_profile_picture(GROUP_JID)
        await settle(alice, dave)
        quiet = of_type(alice, ProfilePictureChanged) + of_type(dave, ProfilePictureChanged)
    picture_id = str(NOW)
    assert answer == Node(
        "iq",
        {"from": GROUP_JID, "id": "g1", "type": "result"},
        [Node("picture", {"type": "image", "id": picture_id})],
    )
    assert to_bob.node == Node(
        "notification",
        {
            "from": GROUP_JID,
            "type": "picture",
            "id": to_bob.id,
            "t": str(NOW),
            "participant": ALICE_JID,
        },
        [Node("set", {"jid": GROUP_JID, "id": picture_id})],
    )
    assert (to_bob.from_, to_bob.participant, to_bob.picture_id) == (
        GROUP_JID,
        ALICE_JID,
        picture_id,
    )
    assert to_carol.node == to_bob.node
    assert fetched is not None and (fetched.jid, fetched.data) == (GROUP_JID, IMAGE)
    assert outsider.value.code == 401
    assert quiet == []


async def test_only_group_admins_may_set_the_group_picture(server: Server, user: OpenUser) -> None:
    add_group(server)
    server.add_account(DAVE, PASSWORD, "Dave")
    async with user(BOB) as bob, user(CAROL) as carol, user(DAVE) as dave:
        refusals = []
        for who, gjid in ((bob, GROUP_JID), (dave, GROUP_JID), (bob, f"{BOB}-1420000000@g.us")):
            with pytest.raises(IqError) as refused:
                await who.set_group_picture(gjid, IMAGE, PREVIEW)
            refusals.append(refused.value.node)
        await settle(carol)
        told = of_type(carol, ProfilePictureChanged)
    assert [r.child("error") for r in refusals] == [
        Node("error", {"code": "403", "text": "forbidden"}),  # a member, not an admin
        Node("error", {"code": "401", "text": "not-authorized"}),  # not in the group
        Node("error", {"code": "404", "text": "item-not-found"}),  # no such group
    ]
    assert refusals[0]["from"] == GROUP_JID
    assert told == [] and server.state.pictures == {}
