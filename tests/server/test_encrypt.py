"""End-to-end encryption: key upload, bundle fetch, low-stock notice, encrypted relays (§3.12)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from simulator.client import Client
from simulator.client import events as ev
from simulator.client._api_encrypt import KeyBundle, PreKey, SignedPreKey
from simulator.client.events import PreKeysLow
from simulator.errors import IqError
from simulator.server import Server, ServerConfig, open_server
from simulator.server.flows.encrypt import LOW_PREKEYS
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
SERVER = "s.whatsapp.net"

IDENTITY = bytes(range(32))
SIGNED = SignedPreKey(0x000102, bytes(range(100, 132)), bytes(range(64, 128)))
REGISTRATION = 0x00003039


def prekeys(first: int, count: int) -> list[PreKey]:
    """``count`` one-time pre-keys with ids ``first``... and recognisable public keys."""
    return [PreKey(i, bytes([i % 256]) * 32) for i in range(first, first + count)]


def key_node(key_id: bytes, value: bytes) -> Node:
    return Node("key", children=[Node("id", data=key_id), Node("value", data=value)])


def skey_node(key_id: bytes, value: bytes, signature: bytes) -> Node:
    return Node(
        "skey",
        children=[
            Node("id", data=key_id),
            Node("value", data=value),
            Node("signature", data=signature),
        ],
    )


def encrypt_iq(iq_type: str, children: list[Node], iq_id: str) -> Node:
    return Node("iq", {"id": iq_id, "type": iq_type, "xmlns": "encrypt", "to": SERVER}, children)


def fetch_iq(*jids: str, iq_id: str = "k1") -> Node:
    users = [Node("user", {"jid": jid}) for jid in jids]
    return encrypt_iq("get", [Node("key", children=users)], iq_id)


async def upload(client: Client, keys: list[PreKey]) -> None:
    await client.upload_keys(IDENTITY, REGISTRATION, SIGNED, keys)


async def flush(client: Client) -> None:
    """A round trip: whatever the server queued for ``client`` before has been read."""
    await client.ping(timeout=5)


async def message_node(client: Client) -> Node:
    got = await client.wait_for(ev.Unhandled, lambda e: e.node.tag == "message", timeout=5)
    return got.node


def notices(client: Client) -> list[PreKeysLow]:
    return [e for e in client.events_nowait() if isinstance(e, PreKeysLow)]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """The test server without the key-fetch limit: these tests drain stocks on purpose
    (the limit has its own tests in test_authorization.py)."""
    accounts = [(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob"), (CAROL, PASSWORD, "Carol")]
    async with open_server(accounts=accounts, config=ServerConfig(key_fetch_limit=None)) as srv:
        yield srv


# -------------------------------------------------------------------- upload and fetch


async def test_upload_is_answered_with_an_empty_result_whatever_the_child_order(
    server: Server, user: OpenUser
) -> None:
    yowsup_order = [
        Node("list", children=[key_node(b"\x00\x00\x01", b"\x01" * 32)]),
        Node("identity", data=IDENTITY),
        Node("registration", data=b"\x00\x00\x30\x39"),
        Node("type", data=b"\x05"),
        skey_node(b"\x00\x01\x02", SIGNED.value, SIGNED.signature),
    ]
    chatapi_order = [yowsup_order[i] for i in (1, 2, 3, 0, 4)]
    async with user(BOB) as bob:
        first = await bob.iq(encrypt_iq("set", yowsup_order, "u1"))
        second = await bob.iq(encrypt_iq("set", chatapi_order, "u2"))
    assert first == Node("iq", {"from": SERVER, "id": "u1", "type": "result"})
    assert second == Node("iq", {"from": SERVER, "id": "u2", "type": "result"})


async def test_keys_uploaded_on_a_first_passive_login_are_kept(
    server: Server, user: OpenUser
) -> None:
    # yowsup 2.5.7's stacks: a passive login that uploads keys and disconnects, then the
    # real login. An error answer to the upload is fatal for them.
    async with user(BOB, passive=True) as bob:
        await upload(bob, prekeys(1, 3))
    async with user(BOB), user(ALICE) as alice:
        bundles = await alice.get_key_bundles(BOB)
    assert bundles[BOB_JID].identity == IDENTITY
    assert bundles[BOB_JID].prekey == PreKey(1, b"\x01" * 32)


async def test_a_fetch_hands_out_the_bundle_and_uses_up_its_one_time_key(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await upload(bob, prekeys(1, 3))
        answer = await alice.iq(fetch_iq(BOB_JID))
        again = await alice.get_key_bundles(BOB)
    assert answer == Node(
        "iq",
        {"from": SERVER, "id": "k1", "type": "result"},
        [
            Node(
                "list",
                children=[
                    Node(
                        "user",
                        {"jid": BOB_JID},
                        [
                            Node("registration", data=b"\x00\x00\x30\x39"),
                            Node("type", data=b"\x05"),
                            Node("identity", data=IDENTITY),
                            skey_node(b"\x00\x01\x02", SIGNED.value, SIGNED.signature),
                            key_node(b"\x00\x00\x01", b"\x01" * 32),
                        ],
                    )
                ],
            )
        ],
    )
    assert list(again) == [BOB_JID]
    bundle = again[BOB_JID]
    assert bundle == KeyBundle(
        jid=BOB_JID,
        registration=REGISTRATION,
        type=5,
        identity=IDENTITY,
        signed_prekey=SIGNED,
        prekey=PreKey(2, b"\x02" * 32),  # the next key: the first one was used up
        node=bundle.node,
    )
    assert bundle.node.child("key") == key_node(b"\x00\x00\x02", b"\x02" * 32)


async def test_an_upload_replaces_registration_and_signed_key_and_adds_one_time_keys(
    server: Server, user: OpenUser
) -> None:
    new_signed = SignedPreKey(7, b"\x77" * 32, b"\x99" * 64)
    async with user(ALICE) as alice, user(BOB) as bob:
        await upload(bob, prekeys(1, 2))
        await bob.upload_keys(IDENTITY, 99, new_signed, prekeys(3, 1))
        fetched = [await alice.get_key_bundles([BOB_JID]) for _ in range(4)]
    handed_out = [f[BOB_JID] for f in fetched[:3]]
    assert [b.prekey for b in handed_out] == prekeys(1, 3)  # oldest first, each once
    assert {(b.identity, b.registration, b.signed_prekey) for b in handed_out} == {
        (IDENTITY, 99, new_signed)
    }
    # The stock is empty: a bundle without <key> crashes clients, so Bob is left out.
    assert fetched[3] == {}


async def test_a_new_identity_drops_every_key_of_the_old_install(
    server: Server, user: OpenUser
) -> None:
    """A re-installed client uploads a fresh identity: the old install's one-time keys
    are gone from its device, so handing one out would lose the message (yowsup 2.5.7:
    ``No such prekeyRecord!``)."""
    new_identity = b"\xee" * 32
    new_signed = SignedPreKey(7, b"\x77" * 32, b"\x99" * 64)
    async with user(ALICE) as alice:
        async with user(BOB) as bob:
            await upload(bob, prekeys(1, 20))
        async with user(BOB) as reinstalled:
            await reinstalled.upload_keys(new_identity, 99, new_signed, prekeys(500, 2))
        fetched = [await alice.get_key_bundles([BOB_JID]) for _ in range(3)]
    handed_out = [f[BOB_JID] for f in fetched[:2]]
    assert [b.prekey for b in handed_out] == prekeys(500, 2)
    assert {(b.identity, b.registration, b.signed_prekey) for b in handed_out} == {
        (new_identity, 99, new_signed)
    }
    assert fetched[2] == {}  # none of the old twenty is ever handed out


async def test_users_without_keys_are_left_out(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await upload(bob, prekeys(1, 3))
        answer = await alice.iq(fetch_iq(CAROL_JID, BOB_JID, "49999@s.whatsapp.net", BOB_JID))
        nobody = await alice.iq(fetch_iq(CAROL_JID, iq_id="k2"))
        after = await alice.get_key_bundles(BOB)
    listing = answer.child("list")
    assert listing is not None
    assert [u.get("jid") for u in listing.children] == [BOB_JID]  # once, though asked twice
    assert nobody.children == (Node("list"),)
    prekey = after[BOB_JID].prekey
    assert prekey is not None and prekey.id == 2  # the repeated request used up one key


async def test_a_deleted_account_takes_its_keys_along(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        async with user(BOB) as bob:
            await upload(bob, prekeys(1, 3))
            await bob.remove_account()
            with trio.fail_after(5):
                await bob.wait_closed()
        fetched = await alice.get_key_bundles(BOB)
    assert fetched == {}


async def test_get_keys_without_a_key_element_is_refused(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.iq(encrypt_iq("get", [Node("user", {"jid": BOB_JID})], "k1"))
    assert refused.value.node == Node(
        "iq",
        {"from": SERVER, "id": "k1", "type": "error"},
        [Node("error", {"code": "400", "text": "bad-request"})],
    )


MALFORMED: dict[str, tuple[str, Node | None]] = {
    "no identity": ("identity", None),
    "empty registration": ("registration", Node("registration", data=b"")),
    "no type": ("type", None),
    "no signed key": ("skey", None),
    "signed key without signature": (
        "skey",
        Node("skey", children=[Node("id", data=b"\x00\x00\x01"), Node("value", data=b"v")]),
    ),
    "no key list": ("list", None),
    "key without id": (
        "list",
        Node("list", children=[Node("key", children=[Node("value", data=b"v")])]),
    ),
    "key id of 5 bytes": ("list", Node("list", children=[key_node(b"\x00" * 5, b"v")])),
    "not a key in the list": ("list", Node("list", children=[Node("item", data=b"x")])),
}


async def test_a_malformed_upload_is_refused_and_stores_nothing(
    server: Server, user: OpenUser
) -> None:
    good = {
        "list": Node("list", children=[key_node(b"\x00\x00\x01", b"\x01" * 32)]),
        "identity": Node("identity", data=IDENTITY),
        "registration": Node("registration", data=b"\x00\x00\x30\x39"),
        "type": Node("type", data=b"\x05"),
        "skey": skey_node(b"\x00\x01\x02", SIGNED.value, SIGNED.signature),
    }
    codes: dict[str, tuple[int | None, str]] = {}
    async with user(ALICE) as alice, user(BOB) as bob:
        for name, (part, replacement) in MALFORMED.items():
            children = [replacement if tag == part else node for tag, node in good.items()]
            with pytest.raises(IqError) as refused:
                await bob.iq(encrypt_iq("set", [c for c in children if c is not None], "u1"))
            codes[name] = (refused.value.code, refused.value.text)
        fetched = await alice.get_key_bundles(BOB)
    assert codes == dict.fromkeys(MALFORMED, (400, "bad-request"))
    assert fetched == {}


# -------------------------------------------------------------------- low stock


async def test_a_low_stock_is_told_to_the_owner_once_per_drop(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await upload(bob, prekeys(1, LOW_PREKEYS + 1))
        await alice.get_key_bundles(BOB)  # 10 left: not low yet
        await flush(bob)
        before = notices(bob)
        await alice.get_key_bundles(BOB)  # 9 left: Bob is told
        first = await bob.wait_for(PreKeysLow, timeout=5)
        for _ in range(3):  # 8, 7, 6 left: told already
            await alice.get_key_bundles(BOB)
        await flush(bob)
        repeated = notices(bob)
        await upload(bob, prekeys(100, 5))  # 11 again: the next drop is told again
        await alice.get_key_bundles(BOB)
        await alice.get_key_bundles(BOB)
        second = await bob.wait_for(PreKeysLow, timeout=5)
        await flush(bob)
        pending = len(server.state.mailbox(BOB_JID))
    assert before == [] and repeated == []
    assert first.count == second.count == LOW_PREKEYS - 1
    assert first.node == Node(
        "notification",
        {"from": SERVER, "type": "encrypt", "id": first.node["id"], "t": first.node["t"]},
        [Node("count", {"value": "9"})],
    )
    assert first.node["id"].isdigit() and first.node["t"].isdigit()
    assert second.node["id"] != first.node["id"]
    assert pending == 0  # Bob acked both


async def test_an_offline_owner_is_told_at_its_next_login(server: Server, user: OpenUser) -> None:
    async with user(BOB) as bob:
        await upload(bob, prekeys(1, LOW_PREKEYS))
    async with user(ALICE) as alice:
        await alice.get_key_bundles(BOB)
    async with user(BOB) as bob:
        told = await bob.wait_for(PreKeysLow, timeout=5)
        await bob.wait_for(ev.OfflineDone, timeout=5)
        await flush(bob)
        later = notices(bob)
    assert told.count == LOW_PREKEYS - 1
    assert told.node.get("offline") == "1"
    assert later == []
    assert len(server.state.mailbox(BOB_JID)) == 0


async def test_users_without_keys_are_never_told(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(CAROL) as carol:
        for _ in range(LOW_PREKEYS + 2):
            assert await alice.get_key_bundles(CAROL) == {}
        await flush(carol)
        told = notices(carol)
        kept = [node for _key, node in server.state.mailbox(CAROL_JID)]
    assert told == [] and kept == []


# -------------------------------------------------------------------- encrypted stanzas


async def test_one_to_one_encrypted_messages_are_relayed_unchanged(
    server: Server, user: OpenUser
) -> None:
    ciphertext = bytes(range(256)) * 2  # every byte value, 0x00 and 0xff included
    pkmsg = Node("enc", {"v": "2", "type": "pkmsg"}, data=ciphertext)
    image = Node("enc", {"v": "2", "type": "msg", "mediatype": "image"}, data=ciphertext[::-1])
    async with user(ALICE) as alice, user(BOB) as bob:
        text_id = await alice.send_message(BOB_JID, [pkmsg])
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        media_id = await alice.send_message(BOB_JID, [image], type="media")
        text = await message_node(bob)
        media = await message_node(bob)
    common = {"from": ALICE_JID, "notify": "Alice", "offline": "0"}
    assert text == Node(
        "message", {**common, "type": "text", "id": text_id, "t": str(ack.t)}, [pkmsg]
    )
    assert media.attrs == {**common, "type": "media", "id": media_id, "t": media["t"]}
    assert media.children == (image,)


async def group_of_three(alice: Client, bob: Client, carol: Client) -> str:
    gjid = await alice.create_group("Secret", [BOB, CAROL])
    for member in (bob, carol):
        await member.wait_for(ev.Event, lambda e: e.node.tag == "notification", timeout=5)
    return gjid


async def test_a_group_message_gives_each_member_the_shared_enc_and_its_own(
    server: Server, user: OpenUser
) -> None:
    skmsg = Node("enc", {"v": "2", "type": "skmsg"}, data=b"\x00group\xff")
    for_bob = Node("enc", {"v": "2", "type": "pkmsg"}, data=b"\x01bob")
    for_carol = Node("enc", {"v": "2", "type": "msg"}, data=b"\x02carol")
    participants = Node(
        "participants",
        children=[
            Node("to", {"jid": BOB_JID}, [for_bob]),
            Node("to", {"jid": CAROL_JID}, [for_carol]),
        ],
    )
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await group_of_three(alice, bob, carol)
        msg_id = await alice.send_message(gjid, [skmsg, participants])
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        to_bob = await message_node(bob)
        to_carol = await message_node(carol)
    attrs = {
        "from": gjid,
        "participant": ALICE_JID,
        "type": "text",
        "id": msg_id,
        "t": str(ack.t),
        "notify": "Alice",
        "offline": "0",
    }
    assert to_bob == Node("message", attrs, [skmsg, for_bob])
    assert to_carol == Node("message", attrs, [skmsg, for_carol])


async def test_a_group_member_without_an_entry_gets_the_shared_enc_or_nothing(
    server: Server, user: OpenUser
) -> None:
    skmsg = Node("enc", {"v": "2", "type": "skmsg"}, data=b"shared")
    for_bob = Node("enc", {"v": "2", "type": "pkmsg"}, data=b"bob only")
    for_carol = Node("enc", {"v": "2", "type": "pkmsg"}, data=b"carol again")
    only_bob = Node("participants", children=[Node("to", {"jid": BOB_JID}, [for_bob])])
    only_carol = Node("participants", children=[Node("to", {"jid": CAROL_JID}, [for_carol])])
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await group_of_three(alice, bob, carol)
        first = await alice.send_message(gjid, [skmsg, only_bob])
        to_bob = await message_node(bob)
        to_carol = await message_node(carol)
        # A re-send after Carol's retry receipt: only her entry, no skmsg.
        await alice.send(Node("message", {"to": gjid, "type": "text", "id": first}, [only_carol]))
        again = await message_node(carol)
        await flush(bob)
        bob_more = [e for e in bob.events_nowait() if e.node.tag == "message"]
    assert to_bob.children == (skmsg, for_bob)
    assert to_carol.children == (skmsg,)
    assert again.children == (for_carol,) and again["id"] == first
    assert bob_more == []


async def test_a_retry_receipt_reaches_the_author_with_its_children(
    server: Server, user: OpenUser
) -> None:
    retry = Node("retry", {"count": "1", "id": "", "t": "1420070400", "v": "1"})
    registration = Node("registration", data=b"\x00\x00\x30\x39")
    async with user(ALICE) as alice, user(BOB) as bob:
        msg_id = await alice.send_message(
            BOB_JID, [Node("enc", {"v": "2", "type": "msg"}, data=b"?")]
        )
        await message_node(bob)
        children = [retry.with_attrs(id=msg_id), registration]
        await bob.send(
            Node(
                "receipt",
                {"type": "retry", "to": ALICE_JID, "id": msg_id, "t": "1420070400"},
                children,
            )
        )
        got = await alice.wait_for(ev.GetReceipt, timeout=5)
        bob_ack = await bob.wait_for(ev.Unhandled, lambda e: e.node.tag == "ack", timeout=5)
    now = server.clock.now()
    assert got.node == Node(
        "receipt",
        {"from": BOB_JID, "id": msg_id, "t": str(got.t), "type": "retry", "offline": "0"},
        children,
    )
    assert abs(got.t - now) <= 1
    assert got.type == "retry"
    assert bob_ack.node == Node(
        "ack", {"class": "receipt", "id": msg_id, "from": ALICE_JID, "type": "retry"}
    )
    # A retry confirms nothing: the message stays pending for Bob until it is decrypted.
    assert [key[1] for key, _node in server.state.mailbox(BOB_JID)] == [msg_id]


async def test_a_group_retry_receipt_reaches_the_author_from_the_group(
    server: Server, user: OpenUser
) -> None:
    registration = Node("registration", data=b"\x00\x00\x30\x39")
    skmsg = Node("enc", {"v": "2", "type": "skmsg"}, data=b"shared")
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        gjid = await group_of_three(alice, bob, carol)
        msg_id = await alice.send_message(gjid, [skmsg])
        await message_node(carol)
        children = [Node("retry", {"count": "2", "id": msg_id, "t": "1", "v": "1"}), registration]
        attrs = {"type": "retry", "to": gjid, "id": msg_id, "participant": ALICE_JID}
        await carol.send(Node("receipt", attrs, children))
        got = await alice.wait_for(ev.GetReceipt, timeout=5)
    assert got.node == Node(
        "receipt",
        {
            "from": gjid,
            "participant": CAROL_JID,
            "id": msg_id,
            "t": str(got.t),
            "type": "retry",
            "offline": "0",
        },
        children,
    )
