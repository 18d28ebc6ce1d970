"""Account iqs, payments, WhatsApp Web, calls, dirty flags and stream errors (§3.8, §3.15-§3.18)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.client import IqError, LoginFailed, code_register, code_request
from simulator.client import events as ev
from simulator.client._api_account import AccountInfo, ServicePricing
from simulator.client.events import (
    CallReceived,
    CallUpdate,
    Dirty,
    GetFeature,
    GroupsParticipantChangedNumber,
    NumberWasRemoved,
    NumberWasUpdated,
    PaidAccount,
    PaymentRecieved,
    WebSync,
)
from simulator.server import Group, Server
from simulator.server.flows import account as hooks
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, CAROL, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
CAROL_JID = f"{CAROL}@s.whatsapp.net"
NEW = "491110000042"
NEW_JID = f"{NEW}@s.whatsapp.net"
GROUP_JID = f"{ALICE}-1420070400@g.us"
ALICE_DEVICE = "alice-old-phone"


def recorder(server: Server, jid: str) -> list[Node]:
    seen: list[Node] = []
    server.tap(
        lambda direction, who, node: seen.append(node) if (direction, who) == ("out", jid) else None
    )
    return seen


async def register_new_number(server: Server) -> str:
    await code_request(server, "49", NEW[2:], identity="alice-new-phone")
    code = server.http.registrar.code_for(NEW)
    assert code is not None
    return (await code_register(server, "49", NEW[2:], code, identity="alice-new-phone")).password


# -------------------------------------------------------------------- change number


async def test_change_number_moves_groups_contacts_and_queued_stanzas(
    server: Server, user: OpenUser
) -> None:
    old = server.state.account(ALICE)
    assert old is not None
    old.identity = ALICE_DEVICE
    old.kind, old.paid_until = "paid", server.clock.now() + 1000
    server.state.groups[GROUP_JID] = Group(
        jid=GROUP_JID,
        subject="Team",
        creator=ALICE_JID,
        creation=1_420_070_400,
        subject_owner=ALICE_JID,
        subject_time=1_420_070_400,
        participants={ALICE_JID: "admin", BOB_JID: None, CAROL_JID: None},
    )
    server.state.contacts[CAROL_JID] = [ALICE]
    server.state.contacts[ALICE_JID] = [BOB]
    password = await register_new_number(server)
    async with user(BOB) as bob:
        queued = await bob.send_text(ALICE_JID, "for the old number")
        await bob.wait_for(ev.MessageReceivedServer, timeout=5)
        async with user(CAROL) as carol, user(NEW, password=password, push_name="Alice") as new:
            terms = await new.change_number(ALICE, ALICE_DEVICE)
            moved = await bob.wait_for(GroupsParticipantChangedNumber, timeout=5)
            carols = await carol.wait_for(GroupsParticipantChangedNumber, timeout=5)
            updated = await carol.wait_for(NumberWasUpdated, timeout=5)
            mail = await new.wait_for(ev.GetMessage, timeout=5)
    assert terms == AccountInfo(
        kind="paid", status="active", creation=old.creation, expiration=old.paid_until
    )
    assert moved.node == Node(
        "notification",
        {
            "from": GROUP_JID,
            "type": "w:gp2",
            "id": moved.node.get("id", ""),
            "t": moved.node.get("t", ""),
            "participant": ALICE_JID,
            "notify": "Alice",
        },
        [Node("modify", children=[Node("participant", {"jid": NEW_JID})])],
    )
    assert (moved.old_jid, moved.new_jid, carols.new_jid) == (ALICE_JID, NEW_JID, NEW_JID)
    assert updated.jid == ALICE_JID
    assert (mail.id, mail.text) == (queued, "for the old number")
    group = server.state.groups[GROUP_JID]
    assert group.participants == {NEW_JID: "admin", BOB_JID: None, CAROL_JID: None}
    assert (group.creator, group.subject_owner) == (NEW_JID, NEW_JID)
    assert server.state.contacts[NEW_JID] == [BOB]
    assert server.state.account(ALICE) is None
    with pytest.raises(LoginFailed):
        async with user(ALICE):
            pass


async def test_change_number_result_is_as_documented(server: Server, user: OpenUser) -> None:
    old = server.state.account(ALICE)
    assert old is not None
    old.identity = ALICE_DEVICE
    password = await register_new_number(server)
    to_new = recorder(server, NEW_JID)
    async with user(NEW, password=password) as new:
        await new.change_number(ALICE, ALICE_DEVICE.encode())
    answer = next(n for n in to_new if n.tag == "iq")
    assert answer == Node(
        "iq",
        {"from": "s.whatsapp.net", "id": answer.get("id", ""), "type": "result"},
        [
            Node(
                "modify",
                children=[
                    Node(
                        "account",
                        {
                            "kind": "free",
                            "status": "active",
                            "creation": str(old.creation),
                            "expiration": str(old.expiration_at(server.clock.now())),
                        },
                    )
                ],
            )
        ],
    )


async def test_change_number_closes_the_old_numbers_connection(
    server: Server, user: OpenUser
) -> None:
    old = server.state.account(ALICE)
    assert old is not None
    old.identity = ALICE_DEVICE
    password = await register_new_number(server)
    async with user(ALICE) as alice, user(NEW, password=password) as new:
        await new.change_number(ALICE, ALICE_DEVICE)
        with trio.fail_after(5):
            await alice.wait_closed()


async def test_change_number_with_a_wrong_identity_is_not_authorized(
    server: Server, user: OpenUser
) -> None:
    old = server.state.account(ALICE)
    assert old is not None
    old.identity = ALICE_DEVICE
    password = await register_new_number(server)
    async with user(NEW, password=password) as new:
        with pytest.raises(IqError) as wrong:
            await new.change_number(ALICE, "not-the-identity")
        with pytest.raises(IqError) as unknown:
            await new.change_number("491119999999", ALICE_DEVICE)
    assert wrong.value.node.children == (Node("error", {"code": "401", "text": "not-authorized"}),)
    assert (unknown.value.code, unknown.value.text) == (404, "item-not-found")
    assert server.state.account(ALICE) is not None


async def test_an_account_never_registered_over_http_cannot_be_moved(
    server: Server, user: OpenUser
) -> None:
    password = await register_new_number(server)
    async with user(NEW, password=password) as new:
        with pytest.raises(IqError) as info:
            await new.change_number(ALICE, "")
    assert info.value.code == 401


# -------------------------------------------------------------------- remove account


async def test_remove_account_answers_closes_and_tells_who_synced_it(
    server: Server, user: OpenUser
) -> None:
    server.state.contacts[CAROL_JID] = [ALICE]
    to_alice = recorder(server, ALICE_JID)
    async with user(CAROL) as carol:
        async with user(ALICE) as alice:
            await alice.remove_account(feedback="bye")
            with trio.fail_after(5):
                await alice.wait_closed()
        removed = await carol.wait_for(NumberWasRemoved, timeout=5)
    answer = next(n for n in to_alice if n.tag == "iq")
    assert answer == Node(
        "iq", {"from": "s.whatsapp.net", "id": answer.get("id", ""), "type": "result"}
    )
    assert removed.jid == ALICE_JID
    assert server.state.account(ALICE) is None
    with pytest.raises(LoginFailed):
        async with user(ALICE):
            pass


async def test_yowsups_remove_with_the_namespace_on_the_child(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        remove = Node("remove", {"xmlns": "urn:xmpp:whatsapp:account"})
        await alice.iq(Node("iq", {"type": "get", "to": "s.whatsapp.net"}, [remove]))
        with trio.fail_after(5):
            await alice.wait_closed()
    assert server.state.account(ALICE) is None


async def test_a_remove_of_another_family_is_not_an_account_removal(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as info:
            await alice.iq(
                Node(
                    "iq",
                    {"type": "get", "xmlns": "w:other", "to": "s.whatsapp.net"},
                    [Node("remove")],
                )
            )
    assert info.value.code == 501
    assert server.state.account(ALICE) is not None


# -------------------------------------------------------------------- pricing, extend, payments


async def test_service_pricing(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    await trio.sleep(1000)
    async with user(ALICE) as alice:
        pricing = await alice.get_service_pricing("de", "DE")
    assert pricing == ServicePricing(
        price="EUR€0.99", cost="0.89", currency="EUR", expiration=server.clock.now() + 30 * 86_400
    )


async def test_extend_then_a_payment(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    account = server.state.account(ALICE)
    assert account is not None
    to_alice = recorder(server, ALICE_JID)
    free_until = account.expiration_at(server.clock.now())
    assert free_until > server.clock.now()
    async with user(ALICE) as alice:
        before = await alice.extend_account()
        hooks.notify_payment(server, ALICE, author=BOB)
        paid = await alice.wait_for(PaidAccount, timeout=5)
        after = await alice.extend_account()
    assert before == AccountInfo(
        kind="free", status="active", creation=account.creation, expiration=free_until
    )
    expiration = free_until + 365 * 86_400
    assert after == AccountInfo(
        kind="paid", status="active", creation=account.creation, expiration=expiration
    )
    assert (paid.author, paid.kind, paid.status, paid.creation, paid.expiration) == (
        BOB_JID,
        "paid",
        "active",
        account.creation,
        expiration,
    )
    assert paid.node == Node(
        "notification",
        {
            "from": "s.whatsapp.net",
            "type": "account",
            "id": paid.node.get("id", ""),
            "t": str(server.clock.now()),
            "notify": "Server",
        },
        [
            Node(
                "redeem",
                {"sku": "1", "delta": "365", "author": BOB_JID},
                [
                    Node(
                        "account",
                        {
                            "kind": "paid",
                            "status": "active",
                            "creation": str(account.creation),
                            "expiration": str(expiration),
                        },
                    )
                ],
            )
        ],
    )
    extend_answer = next(n for n in to_alice if n.tag == "iq")
    assert [c.tag for c in extend_answer.children] == ["extend", "account"]
    assert len(server.state.mailbox(ALICE_JID)) == 0  # the notification was acked


async def test_payment_ib(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        assert hooks.send_payment_ib(server, ALICE)
        got = await alice.wait_for(PaymentRecieved, timeout=5)
    account = server.state.account(ALICE)
    assert account is not None
    assert (got.kind, got.status, got.creation, got.expiration) == (
        "free",
        "active",
        account.creation,
        account.expiration_at(server.clock.now()),
    )
    assert not hooks.send_payment_ib(server, ALICE)  # not connected: nothing sent


# -------------------------------------------------------------------- terms


async def test_success_expiration_is_later_than_its_own_time(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    """A free account's term is the year from its creation's latest anniversary: ``success``
    never says the account expired before the login it answers, however late the clock."""
    account = server.state.account(ALICE)
    assert account is not None
    year = 365 * 86_400
    for jump in (0, 3 * year + 5):
        await trio.sleep(jump)
        async with user(ALICE) as alice:
            login = alice.login
        assert login is not None
        now = server.clock.now()
        assert login.creation == account.creation
        assert login.t <= now < login.expiration <= now + year
        assert (login.expiration - account.creation) % year == 0
        assert (await _terms(user)).expiration == login.expiration


async def test_registered_account_starts_its_term_at_registration(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    await trio.sleep(10 * 365 * 86_400)
    password = await register_new_number(server)
    now = server.clock.now()
    account = server.state.account(NEW)
    assert account is not None and account.creation == now
    async with user(NEW, password=password) as new:
        assert new.login is not None
        assert (new.login.creation, new.login.expiration) == (now, now + 365 * 86_400)


async def _terms(user: OpenUser) -> AccountInfo:
    async with user(ALICE) as alice:
        return await alice.extend_account()


# -------------------------------------------------------------------- recovery token, dirty


async def test_recovery_token(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        await alice.set_recovery_token(b"\x01secret")
        with pytest.raises(IqError) as info:
            await alice.iq(
                Node(
                    "iq",
                    {"type": "set", "to": "s.whatsapp.net"},
                    [Node("pin", data=b"no namespace")],
                )
            )
    account = server.state.account(ALICE)
    assert account is not None and account.recovery_token == b"\x01secret"
    assert info.value.code == 400


async def test_dirty_flags_are_announced_and_cleaned(
    server: Server, user: OpenUser, autojump_clock: trio.testing.MockClock
) -> None:
    await trio.sleep(50)
    async with user(ALICE) as alice:
        assert hooks.mark_dirty(server, ALICE, ["groups", "contacts"]) == 2
        groups = await alice.wait_for(Dirty, timeout=5)
        contacts = await alice.wait_for(Dirty, timeout=5)
        await alice.clear_dirty(["groups"])
        account = server.state.account(ALICE)
        assert account is not None
        assert account.dirty == {"contacts": server.clock.now()}
        await alice.clear_dirty(["contacts"])
        with pytest.raises(IqError) as info:
            await alice.iq(
                Node(
                    "iq",
                    {"type": "set", "xmlns": "urn:xmpp:whatsapp:dirty", "to": "s.whatsapp.net"},
                )
            )
    now = str(server.clock.now())
    assert groups.node == Node(
        "ib", {"from": "s.whatsapp.net"}, [Node("dirty", {"type": "groups", "timestamp": now})]
    )
    assert (groups.type, contacts.type, contacts.timestamp) == ("groups", "contacts", int(now))
    assert account.dirty == {}
    assert info.value.code == 400


# -------------------------------------------------------------------- calls


async def test_an_incoming_call_offer_and_its_receipt(server: Server, user: OpenUser) -> None:
    to_alice = recorder(server, ALICE_JID)
    to_bob = recorder(server, BOB_JID)
    async with user(ALICE) as alice, user(BOB) as bob:
        offer = hooks.inject_call(server, ALICE, BOB, call_id="CALL1")
        call = await alice.wait_for(CallReceived, timeout=5)
        await alice.confirm_call(call)
        await alice.ping()
        await bob.ping()
    assert offer is not None and call.node == offer
    assert offer == Node(
        "call",
        {"from": BOB_JID, "id": call.id, "t": str(call.t), "notify": "Bob", "offline": "0"},
        [Node("offer", {"call-id": "CALL1"})],
    )
    assert (call.from_, call.notify, call.call_id, call.offline) == (BOB_JID, "Bob", "CALL1", False)
    ack = next(n for n in to_alice if n.tag == "ack")
    assert ack == Node("ack", {"class": "receipt", "id": call.id, "from": BOB_JID})
    assert [n for n in to_bob if n.tag in ("receipt", "call")] == []  # not forwarded
    assert len(server.state.mailbox(BOB_JID)) == 0


async def test_a_rejected_call_reaches_the_caller(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        hooks.inject_call(server, ALICE, BOB, call_id="CALL2")
        call = await alice.wait_for(CallReceived, timeout=5)
        await alice.reject_call(call)
        rejected = await bob.wait_for(CallUpdate, timeout=5)
    assert (rejected.from_, rejected.id, rejected.action, rejected.call_id) == (
        ALICE_JID,
        call.id,
        "reject",
        "CALL2",
    )


async def test_a_call_to_an_offline_user_is_not_kept(server: Server) -> None:
    assert hooks.inject_call(server, ALICE, BOB) is None
    assert len(server.state.mailbox(ALICE_JID)) == 0


# -------------------------------------------------------------------- web, features, stream errors


async def test_web_sync_and_feature_notifications(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        web = hooks.notify_web_sync(
            server, ALICE, sync=b"@3dpGL6sk", code=b"EvwDSmI/8wW6", name=b"5mwUAgIZ"
        )
        synced = await alice.wait_for(WebSync, timeout=5)
        hooks.notify_features(server, ALICE, BOB, encrypt="1")
        feature = await alice.wait_for(GetFeature, timeout=5)
    assert synced.node == web
    assert web.children == (
        Node(
            "action",
            {"type": "sync"},
            [
                Node("sync", {"type": "required"}, data=b"@3dpGL6sk"),
                Node("code", data=b"EvwDSmI/8wW6"),
                Node("name", data=b"5mwUAgIZ"),
            ],
        ),
    )
    assert (synced.from_, synced.sync_data, synced.code, synced.name) == (
        ALICE_JID,
        b"@3dpGL6sk",
        b"EvwDSmI/8wW6",
        b"5mwUAgIZ",
    )
    assert (feature.from_, feature.encrypt) == (BOB_JID, "1")


async def test_system_shutdown_ends_the_connection(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice:
        assert hooks.shut_down(server, ALICE)
        error = await alice.wait_for(ev.StreamError, timeout=5)
        with trio.fail_after(5):
            await alice.wait_closed()
    assert error.reason == "system-shutdown"
    assert error.node == Node("stream:error", children=[Node("system-shutdown")])
    assert not hooks.shut_down(server, ALICE)


async def test_unacknowledged_stanzas_can_be_enforced(server: Server, user: OpenUser) -> None:
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        assert not hooks.demand_acks(server, BOB)  # nothing pending yet
        await alice.send_text(BOB_JID, "ack me")
        await bob.wait_for(ev.GetMessage, timeout=5)
        assert hooks.demand_acks(server, BOB)
        error = await bob.wait_for(ev.StreamError, timeout=5)
    assert error.reason == "ack"
    assert len(server.state.mailbox(BOB_JID)) == 1  # kept for the next login


async def test_dirty_flags_not_yet_cleaned_are_said_again_at_login(
    server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        pass
    hooks.mark_dirty(server, ALICE, ["groups"])  # Alice is offline: nothing is sent now
    since = str(server.clock.now())
    async with user(ALICE) as alice:
        done = await alice.wait_for(ev.OfflineDone, timeout=5)
        flag = await alice.wait_for(Dirty, timeout=5)
        await alice.clear_dirty(["groups"])
    assert done.count == 0
    assert flag.node == Node(
        "ib", {"from": "s.whatsapp.net"}, [Node("dirty", {"type": "groups", "timestamp": since})]
    )
    async with user(ALICE) as alice:
        await alice.wait_for(ev.OfflineDone, timeout=5)
        await alice.ping(timeout=5)
        assert not [e for e in alice.events_nowait() if isinstance(e, Dirty)]
