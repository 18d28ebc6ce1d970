"""Flows beyond messaging with real yowsup clients, against an in-process server over TCP.

Each test says what the yowsup side receives as yowsup itself parses it (the ``entity``
events of ``user.py``: the protocol entity class and its fields) and what our library's
side receives as typed events.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from simulator.client import events as ev
from simulator.client import open_client
from simulator.client.events import GroupisCreated, GroupsParticipantsAdd
from simulator.jid import user_jid
from simulator.server import Group, Server, open_server
from simulator.wire.node import Node
from tests.interop.conftest import (
    ACCOUNTS,
    BOT_JID,
    BOT_PHONE,
    PASSWORD,
    USER_JID,
    USER_PHONE,
    Event,
    YowsupClient,
    clients_where,
    run_driver,
    simulator_serve,
    undelivered,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = [pytest.mark.interop, pytest.mark.real_clock]

ADMIN_PHONE = "491110000009"
ADMIN_JID = user_jid(ADMIN_PHONE)


def entity_of(name: str) -> Callable[[Event], bool]:
    return lambda e: e["entity"] == name


@pytest.mark.parametrize("yowsup", clients_where(lambda b: b.groups_v2), indirect=True)
async def test_an_added_user_gets_create_and_members_get_add(
    yowsup: YowsupClient, tmp_path: Path
) -> None:
    """Our admin makes a group with a yowsup member, waits an hour, then adds a second
    yowsup user: the member parses ``<add>`` (AddGroupsNotificationProtocolEntity), the
    added user ``<create>`` without a type, with the whole group
    (CreateGroupsNotificationProtocolEntity), as the real service sent in 2015."""
    accounts = [*ACCOUNTS, (ADMIN_PHONE, PASSWORD, "Admin")]
    async with open_server(accounts=accounts) as server:
        _host, port = await server.listen_tcp("127.0.0.1", 0)
        address = ("127.0.0.1", port)
        made = server.clock.now() - 3600  # the group has existed for an hour
        gjid = f"{ADMIN_PHONE}-{made}@g.us"
        server.state.groups[gjid] = Group(
            jid=gjid,
            subject="Team",
            creator=ADMIN_JID,
            creation=made,
            subject_owner=ADMIN_JID,
            subject_time=made,
            participants={ADMIN_JID: "admin", USER_JID: None},
        )
        behaviour = yowsup.behaviour
        async with (
            open_client(
                address, ADMIN_PHONE, PASSWORD, push_name="Admin", dialect=behaviour.dialect
            ) as admin,
            run_driver(
                yowsup, "user.py", port=port, home=tmp_path / "member", phone=USER_PHONE
            ) as member,
            run_driver(
                yowsup, "user.py", port=port, home=tmp_path / "added", phone=BOT_PHONE
            ) as added,
        ):
            await member.wait_event("authed")
            await added.wait_event("authed")
            assert await admin.add_participants(gjid, [BOT_PHONE]) == [BOT_JID]
            joined = await added.wait_event(
                "entity", entity_of("CreateGroupsNotificationProtocolEntity")
            )
            told = await member.wait_event(
                "entity", entity_of("AddGroupsNotificationProtocolEntity")
            )
            await admin.ping(timeout=10)
            mine = [
                e
                for e in admin.events_nowait()
                if isinstance(e, (GroupisCreated, GroupsParticipantsAdd))
            ]
            await wait_until(server, lambda: not undelivered(server), "both notifications acked")
    assert mine == []  # the admin who acted gets the iq result only
    assert member.find("entity", entity_of("CreateGroupsNotificationProtocolEntity")) is None
    assert added.find("entity", entity_of("AddGroupsNotificationProtocolEntity")) is None
    fields = joined["fields"]
    assert fields["createType"] is None
    assert fields["groupId"] == gjid.split("@")[0]
    assert int(fields["creationTimestamp"]) == made < int(fields["timestamp"])
    assert fields["participants"] == {ADMIN_JID: "admin", USER_JID: None, BOT_JID: None}
    assert (fields["subject"], fields["subjectOwnerJid"]) == ("Team", ADMIN_JID)
    assert int(fields["subjectTime"]) == made
    assert fields["_participant"] == ADMIN_JID
    assert told["fields"]["participants"] == [BOT_JID]


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        (("-v",), "hex:000102030405060708090a0b0c0d0e0f…(300 bytes)"),
        (("-v", "--full-payloads"), "hex:" + bytes(range(150)).hex() * 2),
    ],
)
async def test_serve_logs_stanzas_at_debug_with_long_payloads_shortened(
    options: tuple[str, ...], shown: str, tmp_path: Path
) -> None:
    payload = bytes(range(150)) * 2
    async with simulator_serve(ACCOUNTS, tmp_path, *options) as serve:
        async with open_client((serve.host, serve.port), USER_PHONE, PASSWORD) as user:
            await user.send(
                Node(
                    "message",
                    {"to": BOT_JID, "type": "text", "id": "big"},
                    [Node("body", data=payload)],
                )
            )
            await user.wait_for(ev.MessageReceivedServer, timeout=10)
        assert await serve.stop() == 0
    lines = [line for line in serve.stderr.splitlines() if " DEBUG " in line and 'id="big"' in line]
    assert len(lines) == 2, serve.stderr  # the message in, the ack out
    assert f"{USER_JID} --> <message " in lines[0] and shown in lines[0]
    assert f"{USER_JID} <-- <ack " in lines[1]


async def test_serve_at_warning_logs_only_the_ends_a_client_did_not_choose(tmp_path: Path) -> None:
    async with simulator_serve(ACCOUNTS, tmp_path, "--log-level", "warning") as serve:
        async with open_client((serve.host, serve.port), USER_PHONE, PASSWORD) as user:
            await user.send_text("not a jid", "hello")
            await user.wait_for(ev.StreamError, timeout=10)
        assert await serve.stop() == 0
    logged = [line.split(" ", 2)[2] for line in serve.stderr.splitlines() if " WARNING " in line]
    assert logged == [
        f"WARNING session #1 {USER_JID}: ended: malformed message:"
        " to='not a jid@s.whatsapp.net' is not a JID"
    ], serve.stderr
    assert " INFO " not in serve.stderr


VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nTEL:+491110000003\nEND:VCARD"


async def test_location_vcard_and_contact_sync_with_every_yowsup(
    yowsup: YowsupClient, server: Server, server_port: int, tmp_path: Path
) -> None:
    """What every version's layers have beyond text, 2.0.53 included: a location and a
    vCard from yowsup to our bot and back (yowsup parses ours), and the contact sync."""
    behaviour = yowsup.behaviour
    async with (
        open_client(
            ("127.0.0.1", server_port), BOT_PHONE, PASSWORD, dialect=behaviour.dialect
        ) as bot,
        run_driver(
            yowsup, "user.py", port=server_port, home=tmp_path / "user", phone=USER_PHONE
        ) as user,
    ):
        await user.wait_event("authed")
        await user.command(
            "location", to=BOT_JID, latitude="52.52393", longitude="13.41747", name="Berlin"
        )
        place = await bot.wait_for(ev.GetLocation, timeout=10)
        assert (place.from_, place.latitude, place.longitude) == (USER_JID, 52.52393, 13.41747)
        await user.command("vcard", to=BOT_JID, name="Carol", card=VCARD)
        card = await bot.wait_for(ev.GetVCard, timeout=10)
        assert (card.name, card.vcard) == ("Carol", VCARD.encode())

        await bot.send_location(USER_JID, 48.1, 11.5, name="Munich")
        got = await user.wait_event("media", lambda e: e["fields"].get("mediaType") == "location")
        assert (float(got["fields"]["latitude"]), float(got["fields"]["longitude"])) == (48.1, 11.5)
        await bot.send_vcard(USER_JID, "Dave", VCARD)
        got = await user.wait_event("media", lambda e: e["fields"].get("mediaType") == "vcard")
        assert got["fields"]["name"] == "Dave"

        await user.command("iq", entity="GetSyncIqProtocolEntity", args={"numbers": [BOT_PHONE]})
        synced = await user.wait_event(
            "entity", lambda e: e["entity"] == "ResultSyncIqProtocolEntity"
        )
        assert BOT_JID in json.dumps(synced["fields"])
