"""The compatibility profile: what yowsup 2.0 cannot parse is never sent to it (§6.2, §6.3)."""

from __future__ import annotations

from simulator.client import events as ev
from simulator.server import Server
from simulator.server.session import Profile
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect
from tests.server.conftest import ALICE, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"


def _contacts_notification(server: Server) -> Node:
    return Node(
        "notification",
        {"from": ALICE_JID, "type": "contacts", "id": server.ids.stanza_id(), "t": "1"},
        [Node("add", {"jid": "491119999999@s.whatsapp.net"})],
    )


async def test_a_yowsup_20_session_is_spared_notifications_it_cannot_parse(
    server: Server, user: OpenUser
) -> None:
    legacy = {"dialect": Dialect.V15, "features": Node("stream:features")}
    async with user(ALICE, **legacy) as alice:
        session = server.live(alice.jid)
        assert session is not None and session.profile is Profile.LEGACY_20
        server.deliver(alice.jid, _contacts_notification(server))
        server.deliver(
            alice.jid,
            Node(
                "notification",
                {"from": ALICE_JID, "type": "status", "id": "77", "t": "1"},
                [Node("set", data="hi")],
            ),
        )
        status = await alice.wait_for(ev.Event, lambda e: e.node.tag == "notification", timeout=5)
        assert status.node.get("type") == "status"
        assert not [e for e in alice.events_nowait() if e.node.get("type") == "contacts"]
    async with user(ALICE, **legacy) as alice:
        done = await alice.wait_for(ev.OfflineDone, timeout=5)
        assert done.count == 0  # the contacts notification is held back, not replayed
    # A client that can parse it gets it: nothing was lost.
    async with user(ALICE, dialect=Dialect.V15) as alice:
        session = server.live(alice.jid)
        assert session is not None and session.profile is Profile.MODERN
        done = await alice.wait_for(ev.OfflineDone, timeout=5)
        assert done.count == 1
