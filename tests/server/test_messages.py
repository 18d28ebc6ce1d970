"""1:1 messages: server ack, delivery with notify and t, receipts both ways (§3.10, §3.11, §4.5)."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel

from simulator.client import events as ev
from simulator.server import Server
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"


async def test_text_is_acked_then_delivered_with_notify_and_server_time(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        await trio.sleep(100)  # the server clock moves; t must follow it
        msg_id = await alice.send_text(BOB_JID, "hello")
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        got = await bob.wait_for(ev.GetMessage, timeout=5)
    now = server.clock.now()
    assert ack.node == Node(
        "ack", {"class": "message", "id": msg_id, "from": BOB_JID, "t": str(ack.t)}
    )
    assert abs(ack.t - now) <= 1
    assert got.node == Node(
        "message",
        {
            "from": ALICE_JID,
            "type": "text",
            "id": msg_id,
            "t": str(ack.t),
            "notify": "Alice",
            "offline": "0",
        },
        [Node("body", data="hello")],
    )
    assert got.text == "hello"


async def test_body_bytes_are_relayed_verbatim(server: Server, user: OpenUser) -> None:
    latin1 = "caf\xe9".encode("latin-1")  # yowsup 2.0.53 on Python 3 sends str bodies as latin-1
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, latin1)
        got = await bob.wait_for(ev.GetMessage, timeout=5)
    assert got.body == latin1


async def test_media_location_and_vcard_arrive_as_typed_events(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_media(
            BOB_JID,
            "image",
            "https://mmg.whatsapp.net/d/x.jpg",
            size=1234,
            mimetype="image/jpeg",
            width="640",
            height="480",
            thumbnail=b"\xff\xd8",
        )
        await alice.send_location(BOB_JID, 52.52393, 13.41747, name="Berlin")
        await alice.send_vcard(BOB_JID, "Carol", "BEGIN:VCARD\nFN:Carol\nEND:VCARD")
        image = await bob.wait_for(ev.GetImage, timeout=5)
        location = await bob.wait_for(ev.GetLocation, timeout=5)
        card = await bob.wait_for(ev.GetVCard, timeout=5)
    assert image.url == "https://mmg.whatsapp.net/d/x.jpg"
    assert image.media.get("size") == "1234" and image.media.data == b"\xff\xd8"
    assert (location.latitude, location.longitude, location.name) == (52.52393, 13.41747, "Berlin")
    assert card.name == "Carol" and card.vcard == b"BEGIN:VCARD\nFN:Carol\nEND:VCARD"


async def test_delivery_and_read_receipts_reach_the_sender_and_are_acked(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        msg_id = await alice.send_text(BOB_JID, "hi")
        await bob.wait_for(ev.GetMessage, timeout=5)
        await bob.send_receipt(ALICE_JID, msg_id)
        delivered = await alice.wait_for(ev.GetReceipt, timeout=5)
        await bob.mark_read(ALICE_JID, msg_id)
        read = await alice.wait_for(ev.GetReceipt, timeout=5)
        bob_acks = [
            e.node
            for e in bob.events_nowait()
            if isinstance(e, ev.Unhandled) and e.node.tag == "ack"
        ]
        await trio.lowlevel.checkpoint()
    assert delivered.node.attrs == {
        "from": BOB_JID,
        "id": msg_id,
        "t": str(delivered.t),
        "offline": "0",
    }
    assert delivered.type == "delivery"
    assert read.type == "read" and read.ids == (msg_id,)
    assert bob_acks == [
        Node("ack", {"class": "receipt", "id": msg_id, "from": ALICE_JID}),
        Node("ack", {"class": "receipt", "id": msg_id, "from": ALICE_JID, "type": "read"}),
    ]
    # Alice acked both receipts automatically: nothing is left pending for her.
    assert len(server.state.mailbox(ALICE_JID)) == 0


async def test_a_receipt_for_several_messages_confirms_each(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        ids = [await alice.send_text(BOB_JID, f"m{i}") for i in range(3)]
        for _ in ids:
            await bob.wait_for(ev.GetMessage, timeout=5)
        await bob.mark_read(ALICE_JID, ids)
        confirmed = [await alice.wait_for(ev.MessageReceivedClient, timeout=5) for _ in ids]
    assert [c.id for c in confirmed] == ids
    assert {c.type for c in confirmed} == {"read"}
    assert len(server.state.mailbox(BOB_JID)) == 0


async def test_message_to_an_unknown_number_is_acked_and_goes_nowhere(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        msg_id = await alice.send_text("499999999999@s.whatsapp.net", "anyone?")
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
    assert ack.id == msg_id
    assert "499999999999@s.whatsapp.net" not in server.state.mailboxes


async def test_malformed_message_gets_a_stream_error_and_only_that_session_ends(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send(
            Node("message", {"to": BOB_JID, "type": "text"}, [Node("body", data="no id")])
        )
        error = await alice.wait_for(ev.StreamError, timeout=5)
        await alice.wait_closed()
        # Bob's session did not notice.
        await bob.ping(timeout=5)
    assert error.reason == "xml-not-well-formed"


async def test_a_message_to_something_that_is_not_a_jid_is_refused_not_acked(
    server: Server, user: OpenUser
) -> None:
    """A bot that sent a text ``to`` a file path (after a failed upload) was acked and the
    text vanished; now the sender is told: §3.10's malformed-message stream error."""
    closed: list[str | None] = []
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        session = server.live(ALICE_JID)
        assert session is not None
        await alice.send_text("/tmp/upload-failed.jpg", "here is your picture")
        error = await alice.wait_for(ev.StreamError, timeout=5)
        await alice.wait_closed()
        closed.append(session.close_reason)
        await bob.ping(timeout=5)
        assert not [e for e in alice.events_nowait() if isinstance(e, ev.MessageReceivedServer)]
    assert error.reason == "xml-not-well-formed"
    assert closed == ["malformed message: to='/tmp/upload-failed.jpg@s.whatsapp.net' is not a JID"]
    assert all(not box for box in server.state.mailboxes.values())


async def test_every_stanza_with_a_to_that_is_not_a_jid_is_refused(
    server: Server, user: OpenUser
) -> None:
    """One check for every stanza carrying ``to``: an iq gets ``400 bad-request``, a
    receipt, an ack, a presence or a chatstate the stream error and the close."""
    from simulator.errors import IqError

    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.iq(
                Node("iq", {"type": "get", "xmlns": "w:g2", "to": "Team"}, [Node("query")])
            )
    assert (refused.value.code, refused.value.text) == (400, "bad-request")
    stanzas = [
        Node("receipt", {"to": "bob", "id": "1"}),
        Node("ack", {"to": "491110000002", "id": "1", "class": "receipt"}),
        Node("presence", {"type": "subscribe", "to": "491110000002@whatsapp.net"}),
        Node("chatstate", {"to": "C:/photos/cat.jpg"}, [Node("composing")]),
        Node("message", {"to": "", "id": "m", "type": "text"}, [Node("body", data="x")]),
    ]
    for stanza in stanzas:
        async with user(ALICE) as alice:
            await alice.send(stanza)
            error = await alice.wait_for(ev.StreamError, timeout=5)
            await alice.wait_closed()
        assert error.reason == "xml-not-well-formed", stanza
