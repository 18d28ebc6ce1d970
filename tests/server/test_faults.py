"""Faults on demand (simulator.server.faults): one test per action, the scopes, the log,
determinism, restart. Every test drives clients and asserts what the other party gets."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.client import LoginFailed, open_client
from simulator.client import events as ev
from simulator.errors import IqError
from simulator.server import Server, open_server
from simulator.server.faults import (
    LOGIN_REASONS,
    STREAM_ERRORS,
    Delay,
    Disconnect,
    Drop,
    Duplicate,
    EndSession,
    FaultError,
    FaultHit,
    Hold,
    Latency,
    Random,
    RefuseLogin,
    Reorder,
    ResetMidFrame,
    SplitWrites,
    Throttle,
)
from simulator.server.faults import (
    IqError as IqErrorFault,
)
from simulator.trio_scheduler import seed_scheduler
from tests.server.conftest import ALICE, BOB, CAROL, PASSWORD, OpenUser

ALICE_JID = f"{ALICE}@s.whatsapp.net"
BOB_JID = f"{BOB}@s.whatsapp.net"
MESSAGE = "<message/>"


async def texts_until_quiet(client: object, seconds: float = 5) -> list[str]:
    """Every text message the client gets until ``seconds`` pass without one."""
    from simulator.client import Client

    assert isinstance(client, Client)
    got: list[str] = []
    while True:
        with trio.move_on_after(seconds):
            got.append((await client.wait_for(ev.GetMessage)).text)
            continue
        return got


# -------------------------------------------------------------------- stanza actions


async def test_drop_out_loses_the_delivery_and_the_mailbox_brings_it_back(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    fault = server.faults.add(Drop(), direction="out", party=BOB, match=MESSAGE, times=1)
    async with user(ALICE) as alice:
        async with user(BOB) as bob:
            await alice.send_text(BOB_JID, "lost")
            await alice.wait_for(ev.MessageReceivedServer, timeout=5)
            assert await texts_until_quiet(bob) == []
        async with user(BOB) as bob:  # not acked: it comes again at the next login
            got = await bob.wait_for(ev.GetMessage, timeout=5)
    assert got.text == "lost" and got.node.get("offline") == "1"
    assert fault.hits == 1 and fault.cleared
    assert [h.action for h in server.faults.log] == ["drop"]
    assert server.faults.log[0].node is not None and server.faults.log[0].jid == BOB_JID


async def test_drop_in_is_never_handled_so_never_acked(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Drop(), direction="in", party=ALICE, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "first")
        second = await alice.send_text(BOB_JID, "second")
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        assert await texts_until_quiet(bob) == ["second"]
        assert not any(isinstance(e, ev.MessageReceivedServer) for e in alice.events_nowait())
    assert ack.id == second


async def test_delay_out_lets_later_stanzas_overtake(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Delay(30), direction="out", match="<message><body>slow</body></message>")
    async with user(ALICE) as alice, user(BOB) as bob:
        start = trio.current_time()
        await alice.send_text(BOB_JID, "slow")
        await alice.send_text(BOB_JID, "fast")
        first = await bob.wait_for(ev.GetMessage, timeout=60)
        second = await bob.wait_for(ev.GetMessage, timeout=60)
        assert trio.current_time() - start >= 30
    assert [first.text, second.text] == ["fast", "slow"]


@pytest.mark.parametrize("direction", ["in", "out"])
async def test_stanzas_due_at_the_same_time_go_on_in_their_order(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser, direction: str
) -> None:
    server.faults.add(Delay(10), direction=direction, match=MESSAGE)  # type: ignore[arg-type]
    async with user(ALICE) as alice, user(BOB) as bob:
        texts = [f"m{n}" for n in range(8)]
        for text in texts:
            await alice.send_text(BOB_JID, text)
        assert await texts_until_quiet(bob, 30) == texts


async def test_reorder_in_is_handled_in_reverse(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Reorder(3), direction="in", party=ALICE, match=MESSAGE)
    async with user(ALICE) as alice, user(BOB) as bob:
        for text in ("one", "two", "three"):
            await alice.send_text(BOB_JID, text)
        assert await texts_until_quiet(bob) == ["three", "two", "one"]


async def test_delay_in_holds_the_handling_back(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Delay(20), direction="in", party=ALICE, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "a")
        with trio.move_on_after(19):
            await bob.wait_for(ev.GetMessage)
            pytest.fail("delivered before the delay")
        assert (await bob.wait_for(ev.GetMessage, timeout=5)).text == "a"


async def test_duplicate_out_delivers_twice(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Duplicate(), direction="out", party=BOB, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "twice")
        assert await texts_until_quiet(bob) == ["twice", "twice"]


async def test_duplicate_in_is_handled_twice(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Duplicate(), direction="in", party=ALICE, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        msg_id = await alice.send_text(BOB_JID, "again")
        acks = [await alice.wait_for(ev.MessageReceivedServer, timeout=5) for _ in range(2)]
        got = await texts_until_quiet(bob)
    assert [a.id for a in acks] == [msg_id, msg_id]
    assert got == ["again", "again"]


async def test_hold_withholds_the_servers_ack_until_released(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    held = server.faults.add(Hold(), direction="out", party=ALICE, match='<ack class="message"/>')
    async with user(ALICE) as alice, user(BOB) as bob:
        msg_id = await alice.send_text(BOB_JID, "hi")
        await bob.wait_for(ev.GetMessage, timeout=5)
        with trio.move_on_after(60):
            await alice.wait_for(ev.MessageReceivedServer)
            pytest.fail("the ack was not withheld")
        assert len(held.held) == 1 and held.release() == 1
        ack = await alice.wait_for(ev.MessageReceivedServer, timeout=5)
    assert ack.id == msg_id


async def test_hold_with_release_after_lets_a_receipt_go_later(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Hold(release_after=45), direction="out", party=ALICE, match="<receipt/>")
    async with user(ALICE) as alice, user(BOB) as bob:
        msg_id = await alice.send_text(BOB_JID, "hi")
        await bob.wait_for(ev.GetMessage, timeout=5)
        start = trio.current_time()
        receipt = await alice.wait_for(ev.MessageReceivedClient, timeout=100)
        assert trio.current_time() - start >= 44
    assert receipt.id == msg_id


async def test_reorder_releases_held_stanzas_in_reverse(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Reorder(3), direction="out", party=BOB, match=MESSAGE, times=3)
    async with user(ALICE) as alice, user(BOB) as bob:
        for text in ("one", "two", "three", "four"):
            await alice.send_text(BOB_JID, text)
        assert await texts_until_quiet(bob) == ["three", "two", "one", "four"]


async def test_iq_error_answers_instead_of_the_result(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(
        IqErrorFault(503, "service-unavailable"),
        match='<iq xmlns="urn:xmpp:whatsapp:sync"/>',
        times=1,
    )
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.sync_contacts([BOB])
        result = await alice.sync_contacts([BOB])  # times=1: the next one is served
    error = refused.value.node.child("error")
    assert error is not None and error.attrs == {"code": "503", "text": "service-unavailable"}
    assert BOB in str(result)


async def test_throttle_an_iq_is_406_with_backoff(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Throttle(backoff=120), match='<iq xmlns="urn:xmpp:whatsapp:sync"/>')
    async with user(ALICE) as alice:
        with pytest.raises(IqError) as refused:
            await alice.sync_contacts([BOB])
    error = refused.value.node.child("error")
    assert error is not None
    assert error.attrs == {"code": "406", "text": "not-acceptable", "backoff": "120"}


async def test_throttle_a_message_is_refused_unacked(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Throttle(), party=ALICE, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "too soon")
        with trio.move_on_after(10):
            await alice.wait_for(ev.MessageReceivedServer)
            pytest.fail("a throttled message was acked")
        await alice.send_text(BOB_JID, "later")
        await alice.wait_for(ev.MessageReceivedServer, timeout=5)
        assert await texts_until_quiet(bob) == ["later"]


@pytest.mark.parametrize("reason", STREAM_ERRORS)
async def test_end_session_with_each_stream_error(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser, reason: str
) -> None:
    server.faults.add(EndSession(reason, "by a fault"), direction="in", party=BOB, match=MESSAGE)
    async with user(BOB) as bob:
        await bob.send_text(ALICE_JID, "bye")
        error = await bob.wait_for(ev.StreamError, timeout=5)
        await bob.wait_for(ev.Disconnected, timeout=5)
    assert error.reason == reason
    assert error.node.child("text") is not None
    assert server.live(BOB_JID) is None


async def test_disconnect_closes_without_a_goodbye(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Disconnect(), direction="out", party=BOB, match=MESSAGE)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "x")
        await bob.wait_for(ev.Disconnected, timeout=5)
        assert not any(isinstance(e, ev.StreamError) for e in bob.events_nowait())


async def test_a_session_fault_on_everything_out_ends_the_session_once(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    fault = server.faults.add(EndSession("system-shutdown"), direction="out", party=BOB)
    # The first stanza out (the offline replay's end) ends Bob's session as he logs in:
    # Bob sends nothing himself, whose first send would race that close (a send to a
    # closed in-memory stream fails at once, in whichever order the tasks run).
    async with user(ALICE) as alice, user(BOB, announce=False) as bob:
        await alice.send_text(BOB_JID, "x")
        error = await bob.wait_for(ev.StreamError, timeout=5)
        await bob.wait_for(ev.Disconnected, timeout=5)
    assert error.reason == "system-shutdown" and fault.hits == 1


async def test_immediate_session_faults(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice, user(BOB) as bob:
        assert server.faults.end_session("Bob", "ack")  # by push name
        assert (await bob.wait_for(ev.StreamError, timeout=5)).reason == "ack"
        assert server.faults.disconnect(ALICE)
        await alice.wait_for(ev.Disconnected, timeout=5)
    assert not server.faults.disconnect(ALICE)
    assert [h.action for h in server.faults.log] == ["stream-error", "disconnect"]


# -------------------------------------------------------------------- logins and accounts


@pytest.mark.parametrize("reason", LOGIN_REASONS)
async def test_refuse_login_with_each_reason_for_a_while(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser, reason: str
) -> None:
    server.faults.add(RefuseLogin(reason), party=BOB, for_=300)
    with pytest.raises(LoginFailed) as refused:
        async with user(BOB):
            pass
    assert refused.value.reason == reason
    async with user(ALICE):  # another party logs in
        pass
    await trio.sleep(300)
    async with user(BOB) as bob:  # the fault is over
        assert bob.login is not None


async def test_expire_and_suspend_an_account(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.expire(ALICE)
    async with user(ALICE) as alice:
        assert alice.login is not None and alice.login.status == "expired"
    server.faults.renew(ALICE)
    async with user(BOB) as bob:
        ban = server.faults.suspend(BOB)
        assert (await bob.wait_for(ev.StreamError, timeout=5)).reason == "system-shutdown"
    with pytest.raises(LoginFailed, match="not-authorized"):
        async with user(BOB):
            pass
    ban.clear()
    async with user(BOB) as bob:
        assert bob.login is not None and bob.login.status == "active"


# -------------------------------------------------------------------- restart


async def test_restart_drops_every_session_and_keeps_the_state(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    restarted: list[int] = []
    server.restart_hooks.append(lambda: restarted.append(len(server.all_sessions)))
    async with user(ALICE) as alice, user(BOB, auto_receipt=False) as bob:
        await alice.send_text(BOB_JID, "unacked")
        await bob.wait_for(ev.GetMessage, timeout=5)
        assert server.restart() == 2
        await alice.wait_for(ev.Disconnected, timeout=5)
        await bob.wait_for(ev.Disconnected, timeout=5)
    assert restarted == [2] and server.restarts == 1
    async with user(BOB) as bob:  # the account and the undelivered message survived
        got = await bob.wait_for(ev.GetMessage, timeout=5)
    assert got.text == "unacked" and got.node.get("offline") == "1"


async def test_restart_with_a_goodbye_says_system_shutdown(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    async with user(ALICE) as alice:
        server.restart(goodbye=True)
        assert (await alice.wait_for(ev.StreamError, timeout=5)).reason == "system-shutdown"


# -------------------------------------------------------------------- scopes


async def test_times_then_the_fault_clears_itself(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    fault = server.faults.add(Drop(), direction="out", party=BOB, match=MESSAGE, times=2)
    async with user(ALICE) as alice, user(BOB) as bob:
        for text in ("1", "2", "3"):
            await alice.send_text(BOB_JID, text)
        assert await texts_until_quiet(bob) == ["3"]
    assert fault.hits == 2 and fault.cleared and server.faults.faults == []
    assert not server.faults.active


async def test_for_a_duration_of_server_time(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    fault = server.faults.add(Drop(), direction="out", party=BOB, match=MESSAGE, for_=60)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "during")
        assert await texts_until_quiet(bob, 61) == []
        await alice.send_text(BOB_JID, "after")
        assert await texts_until_quiet(bob) == ["after"]
    assert fault.hits == 1 and fault.cleared
    untouched = server.faults.add(Drop(), party=CAROL, for_=5)
    assert list(server.faults) == [untouched]
    await trio.sleep(5)
    assert list(server.faults) == [] and untouched.cleared and not server.faults.active


async def test_until_cleared(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    fault = server.faults.add(Drop(), direction="out", party=BOB, match=MESSAGE)
    async with user(ALICE) as alice, user(BOB) as bob:
        for text in ("1", "2", "3"):
            await alice.send_text(BOB_JID, text)
        assert await texts_until_quiet(bob, 600) == []
        assert server.faults.clear() == 1
        await alice.send_text(BOB_JID, "4")
        assert await texts_until_quiet(bob) == ["4"]
    assert fault.hits == 3


async def test_selector_pattern_uses_expectation_matching(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    server.faults.add(Drop(), direction="out", match="<message><body>/^secret/i</body></message>")
    async with user(ALICE) as alice, user(BOB) as bob, user(CAROL) as carol:
        await alice.send_text(BOB_JID, "SECRET plan")
        await alice.send_text(BOB_JID, "public")
        await alice.send_text(f"{CAROL}@s.whatsapp.net", "secret too")
        assert await texts_until_quiet(bob) == ["public"]
        assert await texts_until_quiet(carol) == []


async def test_observers_see_every_hit(
    autojump_clock: trio.testing.MockClock, server: Server, user: OpenUser
) -> None:
    seen: list[FaultHit] = []
    stop = server.faults.observe(seen.append)
    server.faults.add(Duplicate(), direction="out", party=BOB, match=MESSAGE, times=1)
    async with user(ALICE) as alice, user(BOB) as bob:
        await alice.send_text(BOB_JID, "x")
        await texts_until_quiet(bob)
    stop()
    assert seen == server.faults.log and len(seen) == 1
    assert str(seen[0]).startswith(f"fault #1 duplicate to {BOB_JID}: <message")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: f.add(Delay(0)), "a delay must be above 0 seconds, not 0"),
        (lambda f: f.add(Drop(), times=0), "times must be 1 or more, not 0"),
        (lambda f: f.add(EndSession("bogus")), "the clients know the stream errors"),
        (lambda f: f.add(RefuseLogin("nope")), "a login is refused"),
        (lambda f: f.add(Drop(), match="<message"), "the stanza pattern '<message' is not"),
        (lambda f: f.add(Drop(), party="Zed"), "no account is named 'Zed'"),
        (lambda f: f.add(Latency(1), match=MESSAGE), "a latency fault selects by party only"),
        (
            lambda f: f.add(Random(((0.7, Drop()), (0.5, Duplicate())))),
            "random rates must be 0 or more and add up to 1 at most, not 1.2",
        ),
    ],
)
async def test_a_fault_that_makes_no_sense_is_refused_in_one_sentence(
    autojump_clock: trio.testing.MockClock, server: Server, make: object, message: str
) -> None:
    with pytest.raises(FaultError, match=message.replace("(", r"\(")):
        make(server.faults)  # type: ignore[operator]
    assert server.faults.faults == []


# -------------------------------------------------------------------- determinism


async def _soak(seed: int) -> tuple[list[str], list[str]]:
    """A conversation under random faults; returns (fault log, what bob received).

    A delayed message falls due at the same instant as a later send of alice's: which
    goes first is up to trio's scheduler, seeded here as the scenario runner seeds it.
    """
    seed_scheduler(seed)
    async with open_server(accounts=[(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob")]) as srv:
        srv.faults.add(
            Random(((0.2, Drop()), (0.2, Duplicate()), (0.2, Delay(3))), seed=seed),
            direction="out",
            match=MESSAGE,
        )
        async with (
            open_client(srv, ALICE, PASSWORD) as alice,
            open_client(srv, BOB, PASSWORD) as bob,
        ):
            for n in range(30):
                await alice.send_text(BOB_JID, f"m{n}")
                await trio.sleep(1)
            got = await texts_until_quiet(bob)
        return [str(hit) for hit in srv.faults.log], got


def test_random_faults_are_reproducible_from_their_seed() -> None:
    def soak(seed: int) -> tuple[list[str], list[str]]:
        return trio.run(_soak, seed, clock=trio.testing.MockClock(autojump_threshold=0))

    first = soak(7)
    again = soak(7)
    other = soak(8)
    assert first == again
    assert first[0] != other[0]
    assert {"drop", "duplicate", "delay"} <= {line.split()[2] for line in first[0]}


# -------------------------------------------------------------------- network (byte streams)


async def test_network_faults_on_a_tcp_link(autojump_clock: trio.testing.MockClock) -> None:
    async with open_server(accounts=[(ALICE, PASSWORD, "Alice"), (BOB, PASSWORD, "Bob")]) as srv:
        address = await srv.listen_tcp()
        async with (
            open_client(address, ALICE, PASSWORD) as alice,
            open_client(address, BOB, PASSWORD) as bob,
        ):
            latency = srv.faults.add(Latency(7), party=BOB, times=1)
            start = trio.current_time()
            await alice.send_text(BOB_JID, "late")
            assert (await bob.wait_for(ev.GetMessage, timeout=30)).text == "late"
            assert trio.current_time() - start >= 7 and latency.hits == 1
            split = srv.faults.add(SplitWrites(3), party=BOB, times=2)
            await alice.send_text(BOB_JID, "in pieces")
            assert (await bob.wait_for(ev.GetMessage, timeout=30)).text == "in pieces"
            await trio.testing.wait_all_tasks_blocked()  # the ack of Bob's receipt is out too
            assert split.hits == 2  # the message and what followed it, each cut in 3-byte writes
            srv.faults.add(ResetMidFrame(), party=BOB, times=1)
            await alice.send_text(BOB_JID, "cut")
            await bob.wait_for(ev.Disconnected, timeout=30)
            assert not any(isinstance(e, ev.GetMessage) for e in bob.events_nowait())
        async with open_client(address, BOB, PASSWORD) as bob:  # it was not acked: it comes again
            assert (await bob.wait_for(ev.GetMessage, timeout=30)).text == "cut"
    assert [h.action for h in srv.faults.log] == [
        "latency",
        "split-writes",
        "split-writes",
        "reset",
    ]
