"""While the servers of a process hold many sessions, the settled ones are frozen out of
the collector's scans (``ServerConfig.gc_freeze_sessions``, ``simulator.collector``);
what ended sessions leave behind is let out again and collected, and the caller's own
freeze is put back when the last server stops. The process's clients count too (one
population of their own). Here with a threshold of 8: 4 logged-in pairs of a server
session and its client, through real servers and clients on every transport."""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import trio
import trio.testing

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.collector import CLIENTS, FREEZER, GC_THAW_SHARE
from simulator.server import Server, ServerConfig, open_server
from simulator.server.session import Session
from simulator.transport import Connector, MemoryConnector, TcpConnector
from tests.server.conftest import PASSWORD

PHONES = [f"4922200000{index:02d}" for index in range(8)]
THRESHOLD = 8
PAIRS = THRESHOLD // 2
"""Logins that reach the threshold: each is a server session and a client."""


class Hung:
    """A reference cycle hung on a server session: garbage only the collector frees."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    """Start with nothing frozen (the pytest plugin may have frozen its collection);
    the caller's freeze is put back afterwards."""
    had = gc.get_freeze_count()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if had:
            gc.freeze()


def _frozen(obj: object) -> bool:
    """Whether ``obj`` (tracked by the collector) sits in its permanent generation."""
    assert gc.is_tracked(obj)
    return not any(each is obj for each in gc.get_objects())


async def _connector(server: Server, mode: str) -> Connector:
    if mode == "tcp":
        return TcpConnector(*await server.listen_tcp())
    return MemoryConnector(server, mode="nodes" if mode == "nodes" else "bytes")


def _hang_on_logins(server: Server) -> dict[str, weakref.ref[Hung]]:
    """A :class:`Hung` on every session that logs in; the weak references by jid."""
    hung: dict[str, weakref.ref[Hung]] = {}

    def watch(event: str, session: Session) -> None:
        if event == "login":
            cycle = Hung()
            vars(session)["hung"] = cycle
            hung[session.jid] = weakref.ref(cycle)

    server.watch_sessions(watch)
    return hung


async def _until_forgotten(server: Server, count: int) -> None:
    while len(server.all_sessions) != count:
        await trio.testing.wait_all_tasks_blocked()


MODES = ["nodes", "bytes", "tcp"]


@pytest.mark.parametrize("mode", MODES)
async def test_settled_sessions_are_frozen_from_the_threshold_and_stanzas_still_flow(
    mode: str, nothing_frozen: None
) -> None:
    config = ServerConfig(gc_freeze_sessions=THRESHOLD)
    freezes = FREEZER.freezes
    async with open_server(accounts=[(p, PASSWORD) for p in PHONES], config=config) as server:
        hung = _hang_on_logins(server)
        connector = await _connector(server, mode)
        async with AsyncExitStack() as stack:
            clients: list[Client] = []
            for phone in PHONES[: PAIRS - 1]:
                clients.append(
                    await stack.enter_async_context(open_client(connector, phone, PASSWORD))
                )
            assert gc.get_freeze_count() == 0
            assert FREEZER.freezes == freezes
            first = hung[clients[0].jid]()
            assert first is not None
            assert not _frozen(first)

            clients.append(
                await stack.enter_async_context(open_client(connector, PHONES[PAIRS - 1], PASSWORD))
            )
            assert FREEZER.freezes == freezes + 1
            assert gc.get_freeze_count() > 0
            assert _frozen(first)
            del first

            msg_id = await clients[0].send_text(clients[-1].jid, "frozen, still served")
            got = await clients[-1].wait_for(ev.GetMessage, timeout=5)
            assert (got.node.get("id"), got.text) == (msg_id, "frozen, still served")
            assert got.node.get("from") == clients[0].jid
    assert gc.get_freeze_count() == 0  # the caller had nothing frozen: nothing stays


async def _hold(
    connector: Connector | Server,
    phone: str,
    leave: trio.Event,
    *,
    task_status: trio.TaskStatus[Client] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A client logged in until ``leave`` is set; once it is, nothing refers to it."""
    async with open_client(connector, phone, PASSWORD) as client:
        task_status.started(client)
        del task_status, client
        await leave.wait()


@pytest.mark.parametrize("mode", MODES)
async def test_ended_sessions_are_let_out_and_collected_once_a_share_has_ended(
    mode: str, nothing_frozen: None
) -> None:
    config = ServerConfig(gc_freeze_sessions=THRESHOLD)
    async with open_server(accounts=[(p, PASSWORD) for p in PHONES], config=config) as server:
        hung = _hang_on_logins(server)
        connector = await _connector(server, mode)
        async with trio.open_nursery() as nursery:
            leaves = [trio.Event() for _ in PHONES]
            jids = []
            for phone, leave in zip(PHONES[:-2], leaves, strict=False):
                jids.append((await nursery.start(_hold, connector, phone, leave)).jid)
            other = await nursery.start(_hold, connector, PHONES[-2], leaves[-2])
            last = await nursery.start(_hold, connector, PHONES[-1], leaves[-1])
            assert gc.get_freeze_count() > 0
            unfreezes = FREEZER.unfreezes
            frozen_sessions = FREEZER._frozen_sessions
            assert frozen_sessions >= THRESHOLD
            # Each leaving pair ends a client and its server session.
            allowed = math.ceil(math.ceil(frozen_sessions * GC_THAW_SHARE) / 2)
            assert 1 < allowed < len(PHONES) - 2

            leaves[0].set()
            await _until_forgotten(server, len(PHONES) - 1)
            gc.collect()
            assert FREEZER.unfreezes == unfreezes  # still frozen: the cycle stays
            assert hung[jids[0]]() is not None
            for index in range(1, allowed):
                leaves[index].set()
                await _until_forgotten(server, len(PHONES) - 1 - index)
            assert FREEZER.unfreezes == unfreezes + 1
            gc.collect()
            assert [hung[jid]() for jid in jids[:allowed]] == [None] * allowed  # no leak

            # The rest still talk, and a login freezes the settled population again.
            await other.send_text(last.jid, "after the thaw")
            got = await last.wait_for(ev.GetMessage, timeout=5)
            assert (got.node.get("from"), got.text) == (other.jid, "after the thaw")
            again = await nursery.start(_hold, connector, PHONES[0], trio.Event())
            assert gc.get_freeze_count() > 0
            await again.ping(timeout=5)
            nursery.cancel_scope.cancel()


async def test_the_last_server_puts_back_what_the_caller_froze(nothing_frozen: None) -> None:
    marker = Hung()  # the caller's (a test run's, a command's start-up's) frozen objects
    gc.freeze()
    assert _frozen(marker)
    config = ServerConfig(gc_freeze_sessions=THRESHOLD)
    async with open_server(accounts=[(p, PASSWORD) for p in PHONES], config=config) as server:
        hung = _hang_on_logins(server)
        leave = trio.Event()
        async with (
            open_server(config=ServerConfig(gc_freeze_sessions=None)),
            trio.open_nursery() as nursery,
        ):
            for phone in PHONES:
                await nursery.start(_hold, server, phone, leave)
            assert FREEZER._frozen_sessions >= THRESHOLD
            leave.set()
        assert len(server.all_sessions) == 0
        assert FREEZER._frozen_sessions == 0  # more than a share ended: let out
    assert _frozen(marker)  # frozen again after the thaw
    assert gc.get_freeze_count() > 0
    assert len(hung) == len(PHONES)
    assert all(ref() is None for ref in hung.values())  # collected before the refreeze


async def test_below_the_threshold_or_without_one_nothing_is_frozen(nothing_frozen: None) -> None:
    freezes = FREEZER.freezes
    for threshold in (1_000, None):
        async with _every_phone_logged_in(ServerConfig(gc_freeze_sessions=threshold)):
            assert gc.get_freeze_count() == 0
    assert FREEZER.freezes == freezes


async def test_below_the_threshold_the_collector_is_not_asked_anything_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``gc.get_freeze_count`` walks every frozen object (13 ms after the command line's
    start-up freeze): a server that never freezes must not ask it, or every scenario of
    a ``simulator run DIR`` pays it."""
    asked: list[str] = []
    for name in ("get_freeze_count", "freeze", "unfreeze", "collect", "get_objects"):
        monkeypatch.setattr(gc, name, lambda *_args, _name=name, **_kw: asked.append(_name))
    async with _every_phone_logged_in(ServerConfig(gc_freeze_sessions=THRESHOLD * 10)):
        pass
    assert asked == []


async def test_with_the_collector_off_nothing_is_frozen(nothing_frozen: None) -> None:
    gc.disable()
    try:
        async with _every_phone_logged_in(ServerConfig(gc_freeze_sessions=THRESHOLD)):
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


@asynccontextmanager
async def _every_phone_logged_in(config: ServerConfig) -> AsyncIterator[None]:
    """Every phone logged in to a server of ``config``, for the block."""
    async with (
        open_server(accounts=[(p, PASSWORD) for p in PHONES], config=config) as server,
        AsyncExitStack() as stack,
    ):
        for phone in PHONES:
            await stack.enter_async_context(open_client(server, phone, PASSWORD))
        yield


async def test_the_clients_of_a_process_are_a_population_of_their_own(
    nothing_frozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clients' own threshold freezes (a load generator's process; here the server
    never asks for a freeze, and its sessions count with the clients), and the last
    client to close lets them out."""
    monkeypatch.setattr(CLIENTS, "threshold", THRESHOLD)  # the sessions count too
    freezes = FREEZER.freezes
    config = ServerConfig(gc_freeze_sessions=None)
    async with open_server(accounts=[(p, PASSWORD) for p in PHONES], config=config) as server:
        connector = await _connector(server, "tcp")
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(open_client(connector, phone, PASSWORD))
                for phone in PHONES[: PAIRS - 1]
            ]
            assert FREEZER.freezes == freezes
            clients.append(
                await stack.enter_async_context(open_client(connector, PHONES[PAIRS - 1], PASSWORD))
            )
            assert FREEZER.freezes == freezes + 1
            assert gc.get_freeze_count() > 0
            await clients[0].send_text(clients[-1].jid, "from a frozen client")
            got = await clients[-1].wait_for(ev.GetMessage, timeout=5)
            assert (got.node.get("from"), got.text) == (clients[0].jid, "from a frozen client")
        assert gc.get_freeze_count() == 0  # a quarter of them closed: let out


def test_the_threshold_must_be_above_zero() -> None:
    with pytest.raises(ValueError, match="gc_freeze_sessions"):
        ServerConfig(gc_freeze_sessions=0)
