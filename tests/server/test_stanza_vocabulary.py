"""One definition per stanza: what the client library sends, and what the server hands
out, is exactly what :mod:`simulator.stanzas` builds; and each module recognizes its kind.

The server's tap sees every stanza a client sends ("in") and every stanza queued for a
user ("out"); each is compared, as a whole node, with the vocabulary's own build.
"""

from __future__ import annotations

import pytest

from simulator import stanzas
from simulator.client import Client, IqError
from simulator.client import events as ev
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


def sent_by(server: Server, jid: str) -> list[Node]:
    seen: list[Node] = []
    server.tap(lambda d, who, node: seen.append(node) if (d, who) == ("in", jid) else None)
    return seen


def queued_for(server: Server, jid: str) -> list[Node]:
    seen: list[Node] = []
    server.tap(lambda d, who, node: seen.append(node) if (d, who) == ("out", jid) else None)
    return seen


async def settle(client: Client) -> None:
    """Let everything sent so far reach the server: a ping is answered after it."""
    await client.ping(timeout=5)


async def test_every_kind_the_client_library_sends_is_the_vocabularys(
    server: Server, user: OpenUser
) -> None:
    sent = sent_by(server, ALICE_JID)
    async with user(ALICE, announce=False) as alice:
        ids = [
            await alice.send_text(BOB_JID, "hi"),
            await alice.send_media(BOB_JID, "image", "http://x/d/1/a.jpg", size=3, caption="c"),
            await alice.send_location(BOB_JID, 52.520008, 13.404954, name="Berlin"),
            await alice.send_vcard(BOB_JID, "Bob", "BEGIN:VCARD"),
        ]
        await alice.send_receipt(BOB_JID, "m1")
        await alice.send_receipt(BOB_JID, ["m1", "m2"], type="read", participant=BOB_JID)
        await alice.mark_read(BOB_JID, "m3")
        await alice.typing(BOB_JID)
        await alice.paused(BOB_JID)
        await alice.set_presence("available", name="Alice")
        await alice.set_presence("unavailable")
        await alice.set_name("Al")
        await alice.subscribe(BOB_JID)
        await alice.unsubscribe(BOB_JID)
        await settle(alice)
        await alice.set_status("here")
        await alice.get_server_properties()
    message = stanzas.message
    expected = [
        message.outgoing(BOB_JID, ids[0], [message.text("hi")]),
        message.outgoing(
            BOB_JID,
            ids[1],
            [message.media("image", "http://x/d/1/a.jpg", size=3, caption="c")],
            type="media",
        ),
        message.outgoing(
            BOB_JID, ids[2], [message.location(52.520008, 13.404954, name="Berlin")], type="media"
        ),
        message.outgoing(BOB_JID, ids[3], [message.vcard("Bob", "BEGIN:VCARD")], type="media"),
        stanzas.receipt.build(BOB_JID, "m1"),
        stanzas.receipt.build(BOB_JID, ["m1", "m2"], type="read", participant=BOB_JID),
        stanzas.receipt.build(BOB_JID, "m3", type="read"),
        stanzas.chatstate.build(BOB_JID, "composing"),
        stanzas.chatstate.build(BOB_JID, "paused"),
        stanzas.presence.available(name="Alice"),
        stanzas.presence.available("unavailable"),
        stanzas.presence.name("Al"),
        stanzas.presence.subscribe(BOB_JID),
        stanzas.presence.unsubscribe(BOB_JID),
    ]
    iqs = [n for n in sent if n.tag == "iq"]
    expected_iqs = [
        stanzas.iq.request("get", [Node("ping")], xmlns="w:p", to="s.whatsapp.net"),
        stanzas.iq.request(
            "set", [Node("status", data="here")], xmlns="status", to="s.whatsapp.net"
        ),
        stanzas.iq.request("get", [Node("props")], xmlns="w", to="s.whatsapp.net"),
    ]
    expected_iqs = [
        n.with_attrs(id=iq.get("id", "")) for n, iq in zip(expected_iqs, iqs, strict=True)
    ]
    assert iqs == expected_iqs
    assert [n for n in sent if n.tag != "iq"] == expected
    # Attribute order is part of the transcript: compare the text forms as well.
    assert [n.to_text() for n in sent if n.tag != "iq"] == [n.to_text() for n in expected]
    assert [n.to_text() for n in iqs] == [n.to_text() for n in expected_iqs]


async def test_the_server_ping_and_the_clients_pong_are_the_vocabularys(
    server: Server, user: OpenUser
) -> None:
    from_alice, to_alice = sent_by(server, ALICE_JID), queued_for(server, ALICE_JID)
    async with user(ALICE) as alice:
        iq_id = server.ping(ALICE_JID)
        assert iq_id is not None
        await server.wait_answer(ALICE_JID, iq_id)
        del alice
    ping = next(n for n in to_alice if n.get("id") == iq_id)
    assert ping == stanzas.iq.server_ping(iq_id)
    assert next(n for n in from_alice if n.get("id") == iq_id) == stanzas.iq.pong(ping)


async def test_automatic_replies_and_the_servers_copies_are_the_vocabularys(
    server: Server, user: OpenUser
) -> None:
    from_alice, from_bob = sent_by(server, ALICE_JID), sent_by(server, BOB_JID)
    to_alice, to_bob = queued_for(server, ALICE_JID), queued_for(server, BOB_JID)
    async with user(ALICE) as alice, user(BOB) as bob:
        msg_id = await alice.send_text(BOB_JID, "hi")
        await bob.wait_for(ev.GetMessage, timeout=5)
        await alice.wait_for(ev.GetReceipt, timeout=5)
        await settle(alice)
        await settle(bob)
    # The announce presence after the login.
    assert from_alice[0] == stanzas.presence.available(name="Alice")
    # The server's ack to the sender and the copy the recipient gets.
    ack = next(n for n in to_alice if n.tag == "ack")
    t = ack.get("t", "")
    assert ack == stanzas.ack.message_ack(msg_id, BOB_JID, t)
    copy = next(n for n in to_bob if n.tag == "message")
    sent = next(n for n in from_alice if n.tag == "message")
    assert copy == stanzas.message.incoming(sent, sender=ALICE_JID, t=t, notify="Alice")
    # Bob's automatic delivery receipt, the server's ack of it and its forwarded copy,
    # and Alice's automatic ack of that.
    receipt = next(n for n in from_bob if n.tag == "receipt")
    assert receipt == stanzas.receipt.delivery_for(copy)
    assert next(n for n in to_bob if n.tag == "ack") == stanzas.ack.receipt_ack(receipt)
    forwarded = next(n for n in to_alice if n.tag == "receipt")
    assert forwarded == stanzas.receipt.incoming(receipt, sender=BOB_JID, t=forwarded["t"])
    # The presence the server answers a going-online with.
    assert next(n for n in to_alice if n.tag == "presence") == stanzas.presence.online(ALICE_JID)
    assert next(n for n in from_alice if n.tag == "ack") == stanzas.ack.for_stanza(
        forwarded, "receipt"
    )


async def test_an_upload_sends_the_payload_builders_media_message(
    server: Server, user: OpenUser
) -> None:
    await server.listen_http()
    sent = sent_by(server, ALICE_JID)
    async with user(ALICE, announce=False) as alice:
        done = await alice.upload_media(BOB_JID, b"abc", "audio", filename="a.mp3", voice=True)
        await settle(alice)
    message = next(n for n in sent if n.tag == "message")
    media = stanzas.message.media(
        "audio",
        done.url,
        size=3,
        mimetype="audio/mpeg",
        filehash=done.filehash,
        file=done.filename,
        origin="live",
    )
    assert message == stanzas.message.outgoing(BOB_JID, done.id, [media], type="media")
    assert (
        message.to_text()
        == stanzas.message.outgoing(BOB_JID, done.id, [media], type="media").to_text()
    )


async def test_refusals_are_the_vocabularys_errors(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        request = Node("iq", {"type": "get", "xmlns": "w:nothing"}, [Node("x")])
        with pytest.raises(IqError) as refused:
            await alice.iq(request)
    answer = refused.value.node
    request = request.with_attrs(id=answer.get("id", ""))
    expected = stanzas.errors.iq_error(
        request, 501, "feature-not-implemented", sender="s.whatsapp.net"
    )
    assert answer == expected
    assert stanzas.errors.recognize(answer) == stanzas.errors.IqError(
        answer.get("id", ""), 501, "feature-not-implemented"
    )


@pytest.mark.parametrize(
    ("node", "view"),
    [
        (
            stanzas.message.outgoing("b", "1", [stanzas.message.text("hi")]),
            stanzas.message.Message("1", "text", "b", None, None, b"hi", None),
        ),
        (
            stanzas.receipt.build("b", ["1", "2"], type="read"),
            stanzas.receipt.Receipt(("1", "2"), "read", "b", None, None),
        ),
        (
            stanzas.ack.for_stanza(Node("receipt", {"from": "b", "id": "1"}), "receipt"),
            stanzas.ack.Ack("receipt", "1", None, "b", None, None),
        ),
        (
            stanzas.presence.available(name="A"),
            stanzas.presence.Presence("available", "A", None, None, None),
        ),
        (
            stanzas.chatstate.build("b", "composing"),
            stanzas.chatstate.ChatState("composing", "b", None, None),
        ),
        (
            stanzas.notification.build("g", "w:gp2", "7", "100", [Node("add")], participant="a"),
            stanzas.notification.Notification("w:gp2", "7", "g", "a", (Node("add"),)),
        ),
        (stanzas.ib.offline_done(3), stanzas.ib.Ib(("offline",))),
        (stanzas.ib.dirty("groups", 100), stanzas.ib.Ib(("dirty",))),
        (
            stanzas.errors.stream_error("conflict", "Replaced by new connection"),
            stanzas.errors.StreamError("conflict", "Replaced by new connection"),
        ),
        (stanzas.errors.stream_error("ack"), stanzas.errors.StreamError("ack", None)),
    ],
)
def test_each_kind_recognizes_what_it_builds(node: Node, view: object) -> None:
    recognizers = [
        stanzas.message.recognize,
        stanzas.receipt.recognize,
        stanzas.ack.recognize,
        stanzas.presence.recognize,
        stanzas.chatstate.recognize,
        stanzas.notification.recognize,
        stanzas.ib.recognize,
        stanzas.errors.recognize_stream_error,
    ]
    seen = [r(node) for r in recognizers]
    assert [v for v in seen if v is not None] == [view]
