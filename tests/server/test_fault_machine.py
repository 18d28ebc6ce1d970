"""Hypothesis stateful test: the service keeps its own promises with faults on.

Random schedules of sends, disconnects, reconnects, restarts and the passing of time,
with faults set and cleared at random on messages, receipts and acks (drop, delay,
duplicate, hold, reorder, throttle, disconnect, stream errors). The promise checked:

* after every step the server hit no bug;
* a message is never delivered again to a recipient whose receipt for it the server has
  handled (it duplicates nothing acked by its recipient), unless a fault touched that
  message itself (a duplicated or replayed delivery is what such a fault is for);
* at the end, with every fault cleared, held stanzas released and everyone connected
  again: every message the server acked reached its recipient at least once (a delivery
  whose receipt was lost with its connection comes again: the protocol's redelivery,
  §4.4, which clients absorb by id).

Time is a ``MockClock`` that only moves when a rule moves it (``advance``): between
steps the loop settles (``wait_all_tasks_blocked``) with no timeout running, so the
schedule alone decides what happens when.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal, TypeVar

import pytest
import trio
import trio.testing
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.errors import ClientError
from simulator.server import Server, open_server
from simulator.server.faults import (
    Delay,
    Disconnect,
    Drop,
    Duplicate,
    EndSession,
    Hold,
    Reorder,
    StanzaAction,
    Throttle,
)
from simulator.server.session import Session
from simulator.transport import MemoryConnector
from simulator.wire.node import Node
from tests.server.trio_host import TrioHost

T = TypeVar("T")

pytestmark = pytest.mark.slow

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
USERS = ("491110000301", "491110000302", "491110000303")
JIDS = tuple(f"{u}@s.whatsapp.net" for u in USERS)

ACTIONS: tuple[StanzaAction, ...] = (
    Drop(),
    Delay(5),
    Duplicate(),
    Hold(release_after=20),
    Hold(),
    Reorder(2),
    Throttle(30),
    Disconnect(),
    EndSession("ack"),
)
PATTERNS = (
    "<message/>",
    "<receipt/>",
    '<ack class="message"/>',
    "<message><body>b</body></message>",
)


class FaultMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = trio.testing.MockClock()
        self.host = TrioHost(self.clock)
        self.online: dict[str, tuple[Client, trio.Event, trio.Event]] = {}
        self.acked: dict[str, str] = {}
        """message id -> its recipient, for every message the server acked."""
        self.received: dict[str, list[str]] = defaultdict(list)
        """recipient -> ids of the messages it got, in order."""
        self.receipts_handled: set[tuple[str, str]] = set()
        """(recipient, id) of every receipt the server handled."""
        self.again: list[tuple[str, str]] = []
        """(recipient, id) delivered after the server handled its receipt."""
        self.host.run(self._open_world)

    # ---------------------------------------------------------------- the trio side

    async def _open_world(self) -> None:
        self.server: Server = await self.host.nursery.start(self._serve)
        handle = self.server.handle

        async def handled(session: Session, node: Node) -> None:
            await handle(session, node)
            if node.tag == "receipt":
                self.receipts_handled.add((session.jid, node.get("id", "")))

        setattr(self.server, "handle", handled)  # noqa: B010 - observe what is handled
        self.server.tap(self._pushed)
        for jid in JIDS:
            await self._connect(jid)

    async def _serve(self, *, task_status: trio.TaskStatus[Server]) -> None:
        async with open_server(accounts=[(u, PASSWORD) for u in USERS]) as server:
            task_status.started(server)
            await trio.sleep_forever()

    async def _hold(self, jid: str, *, task_status: trio.TaskStatus[Client | None]) -> None:
        stop, stopped = trio.Event(), trio.Event()
        connector = MemoryConnector(self.server, mode="nodes")
        try:
            async with open_client(connector, jid.split("@")[0], PASSWORD, announce=False) as c:
                c.on(ev.GetMessage, lambda e: self.received[jid].append(e.id))
                c.on(ev.Disconnected, lambda _e: self._lost(jid, c))
                self.online[jid] = (c, stop, stopped)
                task_status.started(c)
                await stop.wait()
        except ClientError:  # a fault refused or ended it at once
            task_status.started(None)
        finally:
            stopped.set()

    def _pushed(self, direction: str, jid: str, node: Node) -> None:
        """A stanza written to a client (past the faults): a message must not be one
        whose receipt from that client the server has handled."""
        key = (jid, node.get("id", ""))
        if direction == "out" and node.tag == "message" and key in self.receipts_handled:
            self.again.append(key)

    def _lost(self, jid: str, client: Client) -> None:
        if jid in self.online and self.online[jid][0] is client:
            self.online[jid][1].set()
            del self.online[jid]

    async def _connect(self, jid: str) -> None:
        await self.host.nursery.start(self._hold, jid)
        await self._settle()

    async def _disconnect(self, jid: str) -> None:
        _client, stop, stopped = self.online.pop(jid)
        stop.set()
        await stopped.wait()
        await self._settle()

    async def _settle(self) -> None:
        await trio.testing.wait_all_tasks_blocked()

    async def _send(self, sender: str, to: str, text: str) -> None:
        client = self.online[sender][0]
        acks: list[str] = []
        stop = client.on(ev.MessageReceivedServer, lambda e: acks.append(e.id))
        try:
            msg_id = await client.send_text(to, text)
        except ClientError:
            return
        finally:
            await self._settle()
            stop()
        if msg_id in acks:
            self.acked[msg_id] = to

    async def _advance(self, seconds: float) -> None:
        self.clock.jump(seconds)
        await self._settle()

    # ---------------------------------------------------------------- rules

    @precondition(lambda self: len(self.online) < len(JIDS))
    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(sorted(set(JIDS) - set(self.online))))
        self.host.run(self._connect, jid)

    @precondition(lambda self: bool(self.online))
    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(sorted(self.online)))
        self.host.run(self._disconnect, jid)

    @precondition(lambda self: bool(self.online))
    @rule(data=st.data(), texts=st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=4))
    def send(self, data: st.DataObject, texts: list[str]) -> None:
        for text in texts:
            if not self.online:
                return
            sender = data.draw(st.sampled_from(sorted(self.online)))
            to = data.draw(st.sampled_from([j for j in JIDS if j != sender]))
            self.host.run(self._send, sender, to, text)

    @initialize(action=st.sampled_from(ACTIONS), pattern=st.sampled_from(PATTERNS))
    def first_fault(self, action: StanzaAction, pattern: str) -> None:
        self.server.faults.add(action, match=pattern)

    @rule(
        action=st.sampled_from(ACTIONS),
        direction=st.sampled_from(["in", "out"]),
        pattern=st.sampled_from(PATTERNS),
        party=st.sampled_from([None, *JIDS]),
        times=st.sampled_from([None, 1, 2]),
    )
    def add_fault(
        self,
        action: StanzaAction,
        direction: Literal["in", "out"],
        pattern: str,
        party: str | None,
        times: int | None,
    ) -> None:
        self.server.faults.add(
            action,
            direction=direction,
            match=pattern,
            party=party,
            times=times,
        )

    @rule()
    def clear_faults(self) -> None:
        self.host.run(self._clear)

    async def _clear(self) -> None:
        self.server.faults.clear()
        await self._settle()

    @rule(seconds=st.sampled_from([1, 6, 30]))
    def advance(self, seconds: float) -> None:
        self.host.run(self._advance, seconds)

    @rule()
    def restart(self) -> None:
        self.host.run(self._restart)

    async def _restart(self) -> None:
        self.server.restart()
        await self._settle()

    # ---------------------------------------------------------------- invariants

    @invariant()
    def no_server_bug(self) -> None:
        assert self.server.bugs == [], self.server.bugs

    @invariant()
    def nothing_acked_by_its_recipient_comes_again(self) -> None:
        touched = self._touched_messages()
        for jid, msg_id in self.again:
            assert msg_id in touched, f"{msg_id} came again to {jid} after its receipt"

    def _touched_messages(self) -> set[str]:
        return {
            hit.node.get("id", "")
            for hit in self.server.faults.log
            if hit.node is not None and hit.node.tag == "message"
        }

    def teardown(self) -> None:
        try:
            self.host.run(self._final_check)
        finally:
            self.host.close()

    async def _final_check(self) -> None:
        await self._clear()
        await self._advance(60)  # delayed stanzas go on
        for jid in sorted(self.online):  # a fresh login delivers whatever is still pending
            await self._disconnect(jid)
        for jid in JIDS:
            await self._connect(jid)
        await self._advance(1)
        for msg_id, to in self.acked.items():
            faults = [
                str(h)
                for h in self.server.faults.log
                if h.node is not None and h.node.get("id") == msg_id
            ]
            assert msg_id in self.received[to], (
                f"acked message {msg_id} never reached {to}; faults on it: {faults}"
            )
        self.nothing_acked_by_its_recipient_comes_again()


FaultMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
test_the_service_keeps_its_promises_with_faults_on = FaultMachine.TestCase
