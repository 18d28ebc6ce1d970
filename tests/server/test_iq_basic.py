"""Pings both ways, server properties, push config, normalize, unrouted iqs (§3.0, §3.1, §3.8)."""

from __future__ import annotations

import pytest

from simulator.client import IqError
from simulator.client import events as ev
from simulator.server import Server
from simulator.server.server import DEFAULT_PROPS
from simulator.wire.node import Node
from tests.server.conftest import ALICE, OpenUser


async def test_client_ping_gets_a_result(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        answer = await alice.iq(Node("iq", {"id": "7", "type": "get", "xmlns": "w:p"}))
    assert answer == Node("iq", {"from": "s.whatsapp.net", "id": "7", "type": "result"})


async def test_server_ping_is_answered_by_the_client(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        iq_id = server.ping(alice.jid)
        assert iq_id is not None
        pong = await server.wait_answer(alice.jid, iq_id)
        ping = await alice.wait_for(ev.Ping, timeout=5)
    assert ping.node.attrs == {
        "from": "s.whatsapp.net",
        "id": iq_id,
        "type": "get",
        "xmlns": "urn:xmpp:ping",
    }
    assert pong.get("type") == "result" and pong.get("id") == iq_id


async def test_server_properties_are_the_documented_values(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        props = await alice.get_server_properties()
    assert props == dict(DEFAULT_PROPS)
    assert props["max_participants"] == "101" and props["max_subject"] == "25"


async def test_push_config_is_stored_and_echoed(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        empty = await alice.get_client_config()
        await alice.set_client_config(platform="S40", version="2.12.81")
        stored = await alice.get_client_config()
    assert empty.children == ()
    assert stored.children == (Node("config", {"platform": "S40", "version": "2.12.81"}),)


@pytest.mark.parametrize(
    ("cc", "number", "expected"),
    [("34", "123456789", "34123456789"), ("49", "0171 234-567", "49171234567")],
)
async def test_normalize(
    server: Server, user: OpenUser, cc: str, number: str, expected: str
) -> None:
    async with user(ALICE) as alice:
        assert await alice.normalize(cc, number) == expected


async def test_an_unknown_iq_is_answered_501_so_no_client_hangs(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as caught:
            await alice.iq(
                Node("iq", {"type": "get", "xmlns": "urn:example:nothing", "to": "s.whatsapp.net"})
            )
    assert caught.value.node.child("error") == Node(
        "error", {"code": "501", "text": "feature-not-implemented"}
    )
    assert caught.value.code == 501


async def test_a_bad_request_is_answered_400(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as caught:
            await alice.iq(
                Node(
                    "iq", {"type": "set", "xmlns": "urn:xmpp:whatsapp:push", "to": "s.whatsapp.net"}
                )
            )
    assert caught.value.code == 400
