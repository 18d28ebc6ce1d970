"""The authorization matrix: every rule, tried by every wrong party, through the client.

One world per test: ALICE administers group G (BOB a plain member, VICTIM a member);
VICTIM has blocked MALLORY, has a picture, a status and encryption keys; PRIVATE hides
last seen, status and picture from everybody (``none``); STRANGER is in nothing.
MALLORY and STRANGER have VICTIM and PRIVATE in their address books, so they would be
told of their changes if the rules let them.

Each :class:`Case` is one attempt by a wrong party: a stranger (non-member), a plain
member (non-admin), a blocked user, or anybody at all (other people's ids, keys, media,
lists). It must be refused the protocol's own way (``iq`` error code, or an ack with
nothing delivered, or a result that leaves the victim out), and the parties named in
``silent`` must receive nothing at all: after a round trip to each, their event inbox is
empty. The world is checked afterwards too where the attempt could have changed it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
import trio

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.client._api_encrypt import PreKey, SignedPreKey
from simulator.client._http import http_request
from simulator.client.core import ClientState
from simulator.errors import IqError
from simulator.server import Server, ServerConfig, open_server
from simulator.transport import MemoryConnector
from simulator.wire.node import Node
from tests.server.conftest import PASSWORD

ALICE, BOB, VICTIM, MALLORY, STRANGER, PRIVATE = (
    "491110000001",
    "491110000002",
    "491110000003",
    "491110000004",
    "491110000005",
    "491110000006",
)
NAMES = {
    ALICE: "Alice",
    BOB: "Bob",
    VICTIM: "Victim",
    MALLORY: "Mallory",
    STRANGER: "Stranger",
    PRIVATE: "Private",
}


def jid(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


KEY_LIMIT: int = ServerConfig().key_fetch_limit or 0
assert KEY_LIMIT > 0, "the default server limits key fetches"
PREKEYS = [PreKey(i, bytes([i]) * 32) for i in range(1, 21)]
SIGNED = SignedPreKey(1, b"\x05" * 32, b"\x06" * 64)


@dataclass
class World:
    server: Server
    clients: dict[str, Client]
    group: str
    """G: ALICE admin, BOB and VICTIM members."""
    group_message: str
    """The id of ALICE's message to G."""
    direct_message: str
    """The id of ALICE's message to VICTIM."""
    broadcast_list: str
    """ALICE's broadcast list (to BOB and VICTIM)."""
    upload_url: str
    """An upload slot VICTIM asked for and has not used yet."""

    def __getitem__(self, phone: str) -> Client:
        return self.clients[phone]

    async def flush(self) -> None:
        """A round trip with every client: whatever was sent to them has arrived."""
        for client in self.clients.values():
            await client.ping(timeout=5)


async def build_world(server: Server, transport: str) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        clients: dict[str, Client] = {}
        for phone, name in NAMES.items():
            connector = MemoryConnector(server, mode=transport)  # type: ignore[arg-type]
            clients[phone] = await stack.enter_async_context(
                open_client(connector, phone, PASSWORD, push_name=name)
            )
        alice, victim = clients[ALICE], clients[VICTIM]
        await victim.block(jid(MALLORY))
        await clients[PRIVATE].set_privacy_settings(last="none", status="none", profile="none")
        for owner in (victim, clients[PRIVATE]):
            await owner.set_profile_picture(b"\xff\xd8picture", b"\xff\xd8preview")
            await owner.set_status(f"{owner.push_name} here")
        await victim.upload_keys(b"\x01" * 32, 42, SIGNED, PREKEYS)
        for watcher in (clients[MALLORY], clients[STRANGER]):
            await watcher.sync_contacts([f"+{VICTIM}", f"+{PRIVATE}"])
        group = await alice.create_group("G", [jid(BOB), jid(VICTIM)])
        await alice.set_group_picture(group, b"\xff\xd8group", b"\xff\xd8gpreview")
        group_message = await alice.send_text(group, "hello group")
        direct_message = await alice.send_text(jid(VICTIM), "hello victim")
        await alice.send_broadcast([jid(BOB), jid(VICTIM)], "hello all", list_id="1@broadcast")
        await victim.set_presence("available")
        ticket = await victim.request_upload("A" * 43 + "=", "image", 10)
        world = World(
            server, clients, group, group_message, direct_message, "1@broadcast", ticket.url
        )
        await world.flush()
        for client in clients.values():
            client.events_nowait()
        yield world


@pytest.fixture
async def world(transport: str) -> AsyncIterator[World]:
    async with open_server(accounts=[(p, PASSWORD, n) for p, n in NAMES.items()]) as server:
        server.http.advertised_url = "http://127.0.0.1:1"  # uploads go in-process (via=)
        async for built in build_world(server, transport):
            yield built


async def refused(code: int, call: Awaitable[object]) -> IqError:
    with pytest.raises(IqError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


async def raw_iq(client: Client, to: str, xmlns: str, iq_type: str, child: Node) -> Node:
    return await client.iq(Node("iq", {"type": iq_type, "xmlns": xmlns, "to": to}, [child]))


def participants(tag: str, *phones: str) -> Node:
    return Node(tag, children=[Node("participant", {"jid": jid(p)}) for p in phones])


# ==================================================================== the cases


@dataclass(frozen=True)
class Case:
    rule: str
    party: str
    """The wrong party: stranger, member (not admin), blocked, anybody."""
    attempt: Callable[[World], Awaitable[None]]
    silent: tuple[str, ...]
    """Who must receive nothing from the attempt."""

    @property
    def id(self) -> str:
        return f"{self.rule}-by-{self.party}"


CASES: list[Case] = []
GROUP_SIDE = (ALICE, BOB, VICTIM)


def case(
    rule: str, party: str, *silent: str
) -> Callable[[Callable[[World], Awaitable[None]]], None]:
    def register(attempt: Callable[[World], Awaitable[None]]) -> None:
        CASES.append(Case(rule, party, attempt, silent))

    return register


# -------------------------------------------------------------------- group membership


@case("group-info", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].group_info(w.group))


@case("group-participant-list", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, raw_iq(w[STRANGER], w.group, "w:g2", "get", Node("list")))


@case("group-subject", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].set_group_subject(w.group, "owned"))
    assert w.server.state.groups[w.group].subject == "G"


@case("group-add", "stranger", *GROUP_SIDE, MALLORY)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].add_participants(w.group, [jid(STRANGER), jid(MALLORY)]))
    assert list(w.server.state.groups[w.group].participants) == [jid(p) for p in GROUP_SIDE]


@case("group-remove", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].remove_participants(w.group, jid(VICTIM)))


@case("group-promote", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].promote(w.group, jid(STRANGER)))


@case("group-demote", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].demote(w.group, jid(ALICE)))
    assert w.server.state.groups[w.group].admins == [jid(ALICE)]


@case("group-leave", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(405, w[STRANGER].leave_groups(w.group))


@case("group-picture-get", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].get_profile_picture(w.group))


@case("group-picture-set", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].set_group_picture(w.group, b"\xff\xd8x", b"\xff\xd8y"))


@case("group-picture-id", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    assert await w[STRANGER].get_profile_picture_ids([w.group]) == {w.group: None}


@case("group-invite", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    # Invite links came after this era: the request is not a feature of the service.
    await refused(501, raw_iq(w[STRANGER], w.group, "w:g2", "get", Node("invite")))


@case("group-message", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await w[STRANGER].send_text(w.group, "let me in")  # acked, delivered to nobody


@case("group-chatstate", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await w[STRANGER].typing(w.group)


@case("group-receipt", "stranger", *GROUP_SIDE)
async def _(w: World) -> None:
    await w[STRANGER].mark_read(w.group, w.group_message, participant=jid(ALICE))
    await w[STRANGER].send_receipt(w.group, w.group_message)


@case("group-receipt-names-another-author", "member", ALICE, VICTIM)
async def _(w: World) -> None:
    # ALICE wrote it: BOB cannot make VICTIM believe the group read a message of hers.
    await w[BOB].mark_read(w.group, w.group_message, participant=jid(VICTIM))


# -------------------------------------------------------------------- group admin rights


@case("group-add", "member", ALICE, VICTIM, STRANGER)
async def _(w: World) -> None:
    await refused(403, w[BOB].add_participants(w.group, jid(STRANGER)))


@case("group-remove", "member", ALICE, VICTIM)
async def _(w: World) -> None:
    await refused(403, w[BOB].remove_participants(w.group, jid(VICTIM)))
    assert jid(VICTIM) in w.server.state.groups[w.group].participants


@case("group-promote", "member", ALICE, VICTIM)
async def _(w: World) -> None:
    await refused(403, w[BOB].promote(w.group, jid(BOB)))


@case("group-demote", "member", ALICE, VICTIM)
async def _(w: World) -> None:
    await refused(403, w[BOB].demote(w.group, jid(ALICE)))


@case("group-picture-set", "member", ALICE, VICTIM)
async def _(w: World) -> None:
    await refused(403, w[BOB].set_group_picture(w.group, b"\xff\xd8x", b"\xff\xd8y"))


# -------------------------------------------------------------------- privacy settings


@case("privacy-last-seen", "stranger", PRIVATE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].last_seen(jid(PRIVATE)))


@case("privacy-status", "stranger", PRIVATE)
async def _(w: World) -> None:
    assert await w[STRANGER].get_statuses([jid(PRIVATE)]) == {}


@case("privacy-picture", "stranger", PRIVATE)
async def _(w: World) -> None:
    await refused(401, w[STRANGER].get_profile_picture(jid(PRIVATE)))
    assert await w[STRANGER].get_profile_picture_ids([jid(PRIVATE)]) == {jid(PRIVATE): None}


@case("privacy-presence", "stranger", PRIVATE)
async def _(w: World) -> None:
    await w[PRIVATE].set_presence("unavailable")  # online-ness is public; last seen is not
    await w[STRANGER].subscribe(jid(PRIVATE))
    answer = await w[STRANGER].wait_for(ev.PresenceUnavailable, timeout=5)
    assert (answer.from_, answer.last) == (jid(PRIVATE), "deny")


@case("privacy-contacts-only", "stranger", PRIVATE)
async def _(w: World) -> None:
    private = w[PRIVATE]
    await private.sync_contacts([f"+{ALICE}"])
    await private.set_privacy_settings(last="contacts", status="contacts", profile="contacts")
    await refused(401, w[STRANGER].last_seen(jid(PRIVATE)))
    await refused(401, w[STRANGER].get_profile_picture(jid(PRIVATE)))
    assert await w[STRANGER].get_statuses([jid(PRIVATE)]) == {}
    # The contact sees all three: the rule refuses the wrong party, not everybody.
    assert await w[ALICE].last_seen(jid(PRIVATE)) == 0
    assert await w[ALICE].get_profile_picture(jid(PRIVATE)) is not None
    assert jid(PRIVATE) in await w[ALICE].get_statuses([jid(PRIVATE)])


@case("privacy-changes-untold", "stranger", STRANGER)
async def _(w: World) -> None:
    # STRANGER has PRIVATE in its address book; PRIVATE's changes are still not its business.
    await w[PRIVATE].set_status("new status")
    await w[PRIVATE].set_profile_picture(b"\xff\xd8new", b"\xff\xd8newp")


# -------------------------------------------------------------------- blocking


@case("blocked-message", "blocked", VICTIM)
async def _(w: World) -> None:
    await w[MALLORY].send_text(jid(VICTIM), "it's me")


@case("blocked-broadcast", "blocked", VICTIM)
async def _(w: World) -> None:
    await w[MALLORY].send_broadcast([jid(VICTIM)], "it's me")


@case("blocked-receipt", "blocked", VICTIM)
async def _(w: World) -> None:
    await w[MALLORY].mark_read(jid(VICTIM), "some-id")


@case("blocked-chatstate", "blocked", VICTIM)
async def _(w: World) -> None:
    await w[MALLORY].typing(jid(VICTIM))


@case("blocked-call", "blocked", VICTIM)
async def _(w: World) -> None:
    offer = Node("offer", {"call-id": "c1"})
    await w[MALLORY].send(Node("call", {"to": jid(VICTIM), "id": "call-1"}, [offer]))


@case("blocked-last-seen", "blocked", VICTIM)
async def _(w: World) -> None:
    await refused(401, w[MALLORY].last_seen(jid(VICTIM)))


@case("blocked-status", "blocked", VICTIM)
async def _(w: World) -> None:
    assert await w[MALLORY].get_statuses([jid(VICTIM)]) == {}


@case("blocked-picture", "blocked", VICTIM)
async def _(w: World) -> None:
    await refused(401, w[MALLORY].get_profile_picture(jid(VICTIM)))
    assert await w[MALLORY].get_profile_picture_ids([jid(VICTIM)]) == {jid(VICTIM): None}


@case("blocked-presence", "blocked", MALLORY)
async def _(w: World) -> None:
    mallory = w[MALLORY]
    await mallory.subscribe(jid(VICTIM))
    answer = await mallory.wait_for(ev.PresenceUnavailable, timeout=5)
    assert (answer.from_, answer.last) == (jid(VICTIM), "deny")
    await w[VICTIM].set_presence("unavailable")
    await w[VICTIM].set_presence("available")  # MALLORY hears of neither


@case("blocked-changes-untold", "blocked", MALLORY)
async def _(w: World) -> None:
    await w[VICTIM].set_status("new status")
    await w[VICTIM].set_profile_picture(b"\xff\xd8new", b"\xff\xd8newp")


@case("blocked-group-create", "blocked", VICTIM)
async def _(w: World) -> None:
    gjid = await w[MALLORY].create_group("trap", [jid(VICTIM), jid(STRANGER)])
    assert w.server.state.groups[gjid].participants == {jid(MALLORY): "admin", jid(STRANGER): None}
    w[STRANGER].events_nowait()  # STRANGER was not blocking anybody: invited


@case("blocked-group-add", "blocked", VICTIM)
async def _(w: World) -> None:
    gjid = await w[MALLORY].create_group("trap", [])
    assert await w[MALLORY].add_participants(gjid, jid(VICTIM)) == []
    assert list(w.server.state.groups[gjid].participants) == [jid(MALLORY)]


@case("blocked-group-chatstate-and-message", "blocked", VICTIM)
async def _(w: World) -> None:
    # MALLORY got into a group with VICTIM through someone else: still blocked there.
    await w[ALICE].add_participants(w.group, jid(MALLORY))
    await w.flush()
    for phone in GROUP_SIDE:
        w[phone].events_nowait()
    await w[MALLORY].send_text(w.group, "hi all")
    await w[MALLORY].typing(w.group)
    await w.flush()
    # (the server's ack of ALICE's own receipt may come before or after the chat state)
    heard = [type(e) for e in w[ALICE].events_nowait() if not isinstance(e, ev.Unhandled)]
    assert heard[:2] == [ev.GetGroupMessage, ev.GroupMessageComposing]  # the others do


# -------------------------------------------------------------------- keys


@case("key-fetch-limit", "anybody", VICTIM)
async def _(w: World) -> None:
    for _ in range(KEY_LIMIT):
        assert jid(VICTIM) in await w[STRANGER].get_key_bundles(jid(VICTIM))
    error = await refused(406, w[STRANGER].get_key_bundles(jid(VICTIM)))
    error_node = error.node.child("error")
    assert error_node is not None and error_node.get("backoff") == "3600"
    keys = w.server.state.encryption_keys[jid(VICTIM)]
    assert len(keys.prekeys) == len(PREKEYS) - KEY_LIMIT  # the refusal took nothing
    # Another requester has its own allowance.
    assert jid(VICTIM) in await w[ALICE].get_key_bundles(jid(VICTIM))


# -------------------------------------------------------------------- other people's ids


@case("ack-of-another-users-message", "anybody", VICTIM)
async def _(w: World) -> None:
    # VICTIM has ALICE's message pending until it acks; STRANGER's ack clears nothing.
    victim_box = w.server.state.mailbox(jid(VICTIM))
    victim_box.clear()
    pending = Node("message", {"from": jid(ALICE), "id": "m-1", "type": "text"})
    victim_box.add(("message", "m-1", jid(ALICE)), pending)
    await w[STRANGER].send(Node("ack", {"class": "message", "id": "m-1", "to": jid(ALICE)}))
    await w[STRANGER].send_receipt(jid(ALICE), "m-1")
    await w.flush()
    assert [key for key, _node in victim_box] == [("message", "m-1", jid(ALICE))]
    receipts = [e for e in w[ALICE].events_nowait() if isinstance(e, ev.MessageReceivedClient)]
    assert [(r.from_, r.id) for r in receipts] == [(jid(STRANGER), "m-1")]  # its own, only


# -------------------------------------------------------------------- other people's accounts


@case("picture-set-of-another", "anybody", VICTIM, MALLORY, STRANGER)
async def _(w: World) -> None:
    pictures = [Node("picture", {"type": "image"}, data=b"\xff\xd8mine")]
    request = Node("iq", {"type": "set", "xmlns": "w:profile:picture", "to": jid(VICTIM)}, pictures)
    await refused(401, w[STRANGER].iq(request))
    assert w.server.state.pictures[jid(VICTIM)].image == b"\xff\xd8picture"


@case("change-number-onto-another", "anybody", VICTIM)
async def _(w: World) -> None:
    w.server.state.accounts[jid(VICTIM)].identity = "victim's device"
    await refused(401, w[STRANGER].change_number(VICTIM, "a guess"))
    assert jid(VICTIM) in w.server.state.accounts


# -------------------------------------------------------------------- media and lists


@case("media-upload-slot-of-another", "anybody", VICTIM)
async def _(w: World) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nnot hers\r\n--b--\r\n'
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    stolen = await http_request("POST", w.upload_url, via=w.server, headers=headers, body=body)
    assert stolen.status == 400  # bytes that are not the announced file: refused
    guessed_url = w.upload_url.rsplit("/", 1)[0] + "/" + "0" * 32
    guessed = await http_request("POST", guessed_url, via=w.server, headers=headers, body=body)
    assert guessed.status == 404
    assert w.server.state.media == {}


@case("broadcast-lists-of-another", "anybody", ALICE, BOB, VICTIM)
async def _(w: World) -> None:
    stranger = w[STRANGER]
    assert await stranger.get_broadcast_lists() == []
    await stranger.delete_broadcast_lists(w.broadcast_list)
    await stranger.send_message(w.broadcast_list, [Node("body", data=b"to her list?")])
    assert list(w.server.state.broadcast_lists[jid(ALICE)]) == [w.broadcast_list]


@pytest.mark.parametrize("attempt", CASES, ids=[c.id for c in CASES])
async def test_every_wrong_party_is_refused_and_the_victim_hears_nothing(
    world: World, attempt: Case, autojump_clock: trio.testing.MockClock
) -> None:
    # On virtual time: the key-fetch case checks a backoff counted from the first fetch
    # (on the wall clock a loaded machine made it 3599 s instead of 3600).
    await attempt.attempt(world)
    await world.flush()
    for phone in attempt.silent:
        assert world[phone].events_nowait() == [], f"{NAMES[phone]} heard of it"
    for client in world.clients.values():
        assert client.state is ClientState.OPEN, client  # nobody was disconnected


def test_every_rule_is_tried_by_a_wrong_party() -> None:
    """The parties of the issue: each is the wrong party of at least one case."""
    assert {c.party for c in CASES} == {"stranger", "member", "blocked", "anybody"}
    assert len({c.id for c in CASES}) == len(CASES)


# ==================================================================== key fetches over time


async def test_a_key_fetch_limit_passes_with_its_window(
    world: World, autojump_clock: trio.testing.MockClock
) -> None:
    stranger, window = world[STRANGER], ServerConfig().key_fetch_window
    for _ in range(KEY_LIMIT):
        await stranger.get_key_bundles(jid(VICTIM))
        await trio.sleep(10)
    await trio.sleep(window - 10 * KEY_LIMIT - 1)  # the first fetch: 1 s left in the window
    error = await refused(406, stranger.get_key_bundles(jid(VICTIM)))
    assert error.node.child("error") == Node(
        "error", {"code": "406", "text": "not-acceptable", "backoff": "1"}
    )
    await trio.sleep(1)
    assert jid(VICTIM) in await stranger.get_key_bundles(jid(VICTIM))  # one slot free again
    await refused(406, stranger.get_key_bundles(jid(VICTIM)))


async def test_a_reinstalled_user_can_be_fetched_again_at_once(world: World) -> None:
    stranger = world[STRANGER]
    for _ in range(KEY_LIMIT):
        await stranger.get_key_bundles(jid(VICTIM))
    await refused(406, stranger.get_key_bundles(jid(VICTIM)))
    fresh = [PreKey(i, bytes([i]) * 32) for i in range(100, 103)]
    await world[VICTIM].upload_keys(b"\x02" * 32, 43, SIGNED, fresh)  # a new identity
    bundle = (await stranger.get_key_bundles(jid(VICTIM)))[jid(VICTIM)]
    assert (bundle.identity, bundle.prekey) == (b"\x02" * 32, fresh[0])


async def test_a_fetch_over_the_limit_for_one_user_takes_nothing_from_the_others(
    world: World,
) -> None:
    stranger = world[STRANGER]
    await world[PRIVATE].upload_keys(b"\x03" * 32, 44, SIGNED, PREKEYS)
    for _ in range(KEY_LIMIT):
        await stranger.get_key_bundles(jid(VICTIM))
    await refused(406, stranger.get_key_bundles([jid(PRIVATE), jid(VICTIM)]))
    assert len(world.server.state.encryption_keys[jid(PRIVATE)].prekeys) == len(PREKEYS)
