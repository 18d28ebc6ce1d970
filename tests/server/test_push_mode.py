"""Push mode on in-process node links (``NodeLink.consume``, ``Relay``): a stanza and all
it causes run to completion in the sender's task, and nothing else changes: what each
party receives, in what order, isolation of bugs, and the sender's cancellation."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from simulator.client import ClientState, open_client
from simulator.client import events as ev
from simulator.server import Server, open_server
from simulator.server.context import HandlerContext
from simulator.server.flows import default_router
from simulator.transport import MemoryConnector
from simulator.transport.link import NodeLink
from simulator.wire.node import Node
from tests.server.conftest import ALICE, BOB, PASSWORD

BOB_JID = f"{BOB}@s.whatsapp.net"
ALICE_JID = f"{ALICE}@s.whatsapp.net"


async def test_a_send_returns_with_everything_it_caused_done(server: Server) -> None:
    """No schedule point in between: when alice's send returns, the server acked it, bob
    got it and receipted it, and alice has that receipt, and the server has bob's ack."""
    async with (
        open_client(server, ALICE, PASSWORD) as alice,
        open_client(server, BOB, PASSWORD) as bob,
    ):
        await trio.testing.wait_all_tasks_blocked()
        alice.events_nowait()
        bob.events_nowait()
        msg_id = await alice.send_text(BOB_JID, "hi")
        got = [type(e) for e in alice.events_nowait()]
        assert got == [ev.MessageReceivedServer, ev.GetReceipt, ev.MessageReceivedClient]
        received = bob.events_nowait()
        assert [type(e) for e in received] == [ev.GetMessage, ev.Unhandled]  # + ack of his receipt
        assert isinstance(received[0], ev.GetMessage) and received[0].id == msg_id
        assert list(server.state.mailbox(BOB_JID)) == []  # bob's receipt cleared it
        assert list(server.state.mailbox(ALICE_JID)) == []  # and alice acked the receipt
        assert isinstance(alice.link, NodeLink) and alice.link._live
        assert isinstance(bob.link, NodeLink) and bob.link._live


async def test_a_stanza_pushed_after_the_server_killed_the_session_is_not_handled(
    server: Server,
) -> None:
    """Killed (here by a restart without goodbye), a session whose task has not yet
    stopped takes nothing more: alice's message, pushed in her task right after, is
    neither acked nor delivered, as if her cancelled reader had never read it."""
    async with (
        open_client(server, ALICE, PASSWORD) as alice,
        open_client(server, BOB, PASSWORD) as bob,
    ):
        await trio.testing.wait_all_tasks_blocked()
        alice.events_nowait()
        bob.events_nowait()
        assert server.restart() == 2  # both sessions killed; their tasks run later
        await alice.send_text(BOB_JID, "after the kill")  # no schedule point before it
        assert alice.events_nowait() == []  # no ack
        assert bob.events_nowait() == []
        assert list(server.state.mailbox(BOB_JID)) == []  # not kept for later either


async def test_what_the_server_sends_on_its_own_reaches_a_pushed_client(server: Server) -> None:
    """A push from outside any send (a server ping from the test) is run by the relay's
    own task: the client answers it as before."""
    async with open_client(server, ALICE, PASSWORD) as alice:
        await trio.testing.wait_all_tasks_blocked()
        iq_id = server.ping(ALICE_JID)
        assert iq_id is not None
        with trio.fail_after(5):
            answer = await server.wait_answer(ALICE_JID, iq_id)
        assert answer.get("type") == "result"
        assert isinstance(await alice.wait_for(ev.Ping, timeout=5), ev.Ping)


async def test_a_callback_bug_ends_only_that_client_and_reaches_its_block(server: Server) -> None:
    """A client callback runs in the sender's task now; its exception still ends that
    client's block (raised by its reader), not the sender."""
    async with open_client(server, ALICE, PASSWORD) as alice:

        def broken(event: ev.GetMessage) -> None:
            raise ZeroDivisionError("a callback bug")

        async def bob_session() -> None:
            async with open_client(server, BOB, PASSWORD) as bob:
                bob.on(ev.GetMessage, broken)
                await trio.testing.wait_all_tasks_blocked()
                await alice.send_text(BOB_JID, "boom")  # alice's task runs bob's callback
                await trio.sleep_forever()

        with pytest.raises(BaseExceptionGroup) as raised:
            await bob_session()
        assert raised.group_contains(ZeroDivisionError)
        await alice.send_text(BOB_JID, "after")  # alice is untouched
        assert isinstance(await alice.wait_for(ev.MessageReceivedServer, timeout=5), ev.Event)


async def test_a_handler_that_waits_runs_in_the_senders_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A handler that waits (none of the built-in flows does) holds its sender until it
    returns, and is cancelled with it; the server and the client go on either way."""
    finished: list[str] = []

    async def slow(ctx: HandlerContext, node: Node) -> None:
        await trio.sleep(1)
        finished.append(node.get("id", ""))
        ctx.result(node)

    router = default_router()
    router.add("iq", slow, type="get", xmlns="test:slow")
    async with (
        open_server(accounts=[(ALICE, PASSWORD)], router=router) as server,
        open_client(server, ALICE, PASSWORD) as alice,
    ):
        answer = await alice.iq(Node("iq", {"type": "get", "xmlns": "test:slow", "id": "s1"}))
        assert answer.get("type") == "result"
        with trio.move_on_after(0.5):
            await alice.send(Node("iq", {"type": "get", "xmlns": "test:slow", "id": "s2"}))
        assert finished == ["s1"]
        await alice.ping(timeout=5)
        assert server.take_bugs() == []


@pytest.mark.parametrize("mode", ["nodes", "bytes"])
async def test_the_order_is_the_same_on_both_transports(mode: str) -> None:
    """Five messages sent back to back arrive in order, each acked, on every transport."""
    async with open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server:
        connector = MemoryConnector(server, mode)  # type: ignore[arg-type]
        async with (
            open_client(connector, ALICE, PASSWORD) as alice,
            open_client(connector, BOB, PASSWORD) as bob,
        ):
            ids = [await alice.send_text(BOB_JID, f"m{n}") for n in range(5)]
            got = [await bob.wait_for(ev.GetMessage, timeout=5) for _ in ids]
            assert [e.body for e in got] == [f"m{n}".encode() for n in range(5)]
            acked = [await alice.wait_for(ev.MessageReceivedServer, timeout=5) for _ in ids]
            assert [a.id for a in acked] == ids


def _task_names() -> list[str]:
    """The names of every task of this run."""
    names: list[str] = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        assert task is not None
        names.append(task.name)
        stack.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return names


async def test_an_idle_pushed_client_holds_no_reader_until_its_stream_ends(
    server: Server,
) -> None:
    """On a node link an idle client has no task of its own (``NodeLink.consume_idle``):
    what waited at its login (the offline messages) was read by a reader that ended once
    nothing waited, live stanzas come from their senders; the server's goodbye starts
    a reader again, which reports it as before."""
    async with open_client(server, ALICE, PASSWORD) as alice:
        await alice.send_text(BOB_JID, "while you were away")
        async with open_client(server, BOB, PASSWORD) as bob:
            await trio.testing.wait_all_tasks_blocked()
            assert not any(name.endswith("._reader") for name in _task_names())
            offline = await bob.wait_for(ev.GetMessage, timeout=5)
            assert offline.text == "while you were away"
            assert isinstance(await alice.wait_for(ev.GetReceipt, timeout=5), ev.GetReceipt)
            # A second login of bob replaces this one: <stream:error><conflict/>, the end.
            async with open_client(server, BOB, PASSWORD) as again:
                gone = await bob.wait_for(ev.Disconnected, timeout=5)
                assert bob.close_reason == "stream error: conflict"
                assert gone.reason == "stream error: conflict"
                await alice.send_text(BOB_JID, "to the new one")
                live = await again.wait_for(ev.GetMessage, timeout=5)
                assert live.text == "to the new one"
            assert bob.state is ClientState.CLOSED


async def test_a_parked_session_ends_with_its_server_and_its_client_hears_it() -> None:
    """An idle in-process session has no task (it is parked); a server that stops still
    ends it: the watchers see it end, and the client sees the connection close."""
    seen: list[str] = []
    reasons: list[str | None] = []
    async with trio.open_nursery() as nursery:
        async with open_server(accounts=[(ALICE, PASSWORD)]) as server:
            server.watch_sessions(lambda event, session: seen.append(event))

            async def user(*, task_status: trio.TaskStatus[None]) -> None:
                async with open_client(server, ALICE, PASSWORD) as alice:
                    task_status.started()
                    with trio.fail_after(5):
                        await alice.wait_closed()
                    reasons.append(alice.close_reason)

            await nursery.start(user)
            await trio.testing.wait_all_tasks_blocked()
            assert not any(name.endswith(".handle_link") for name in _task_names())
            assert seen == ["connected", "login"]
        assert seen == ["connected", "login", "ended"]
    assert reasons == ["the server closed the connection"]


# ------------------------------------------------- a send racing the server's goodbye


def test_a_send_racing_the_servers_goodbye_is_lost_not_an_error_under_every_schedule() -> None:
    """The server ends Bob's session at his first stanza out (a fault), while Bob's client,
    just logged in, announces itself. Which task runs first is trio's scheduler's choice
    (seeded here 40 ways): the announcement is lost, as bytes written to a socket the
    peer closed are, and Bob hears of the end by reading it, every time; his send never
    raises while the stream error is still unread."""
    from simulator.server.faults import EndSession
    from simulator.trio_scheduler import seed_scheduler

    async def run() -> str:
        async with open_server(accounts=[(ALICE, PASSWORD), (BOB, PASSWORD)]) as server:
            server.faults.add(EndSession("system-shutdown"), direction="out", party=BOB)
            connector = MemoryConnector(server, "nodes")
            async with open_client(connector, BOB, PASSWORD) as bob:  # announces itself
                error = await bob.wait_for(ev.StreamError, timeout=5)
                await bob.wait_for(ev.Disconnected, timeout=5)
                return error.reason

    for seed in range(40):
        seed_scheduler(seed)
        assert trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0)) == (
            "system-shutdown"
        ), seed
