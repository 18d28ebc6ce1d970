"""Hypothesis stateful tests: random schedules against one server, on both transports.

The schedule mixes 1:1 and group sends (each waiting for the server's ack), group
membership changes, read receipts, orderly and abrupt disconnects, reconnects and, on the
byte transport, sends cancelled in the middle of a frame. After every step:

* no stanza was delivered twice to anyone, and per sender the order is the send order;
* no session read a bad MAC or any garbled frame (a cut send ends its stream mid-frame,
  nothing else), and the server hit no bug;

and at the end, with everyone connected again: every acked message was delivered exactly
once to every recipient it was addressed to, and the delivery and read receipts each
sender got are exactly the ones its recipients sent.

Hypothesis rules are sync; the trio world (server and clients) lives in a thread of its
own running ``trio.run``, and each rule runs its async body there with
``trio.from_thread.run``. The real clock is used: between rules the loop is idle, and an
autojumping clock would fire timeouts there that no schedule asked for.
"""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar, TypeVar

import pytest
import trio
import trio.testing
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.errors import ClientError
from simulator.server import Server, open_server
from simulator.server.session import Session
from simulator.transport import MemoryConnector
from tests.server.stalling import StallingConnector, StallingStream
from tests.server.trio_host import TrioHost

T = TypeVar("T")

pytestmark = pytest.mark.slow

PASSWORD = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
USERS = ("491110000201", "491110000202", "491110000203")
JIDS = tuple(f"{u}@s.whatsapp.net" for u in USERS)
ADMIN = JIDS[0]
TIMEOUT = 10

Key = tuple[str, str | None, str]
"""A delivery as its recipient sees it: (from, participant, id)."""


class DeliveryMachine(RuleBasedStateMachine):
    transport: ClassVar[str] = "nodes"

    def __init__(self) -> None:
        super().__init__()
        self.host = TrioHost()
        self.online: dict[str, tuple[Client, trio.Event, trio.Event]] = {}
        self.streams: dict[str, StallingStream] = {}
        self.sent: dict[tuple[str, str], list[str]] = defaultdict(list)
        """(sender, to) -> ids in send order (acked or not)."""
        self.acked: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.expected: dict[tuple[str, str, str], set[str]] = {}
        """(sender, to, id) of every acked message -> whom it must reach."""
        self.received: dict[str, list[Key]] = defaultdict(list)
        self.receipts: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        """sender -> (from, id, type) of every receipt it got."""
        self.read_sent: set[tuple[str, str, str]] = set()
        """(reader, author, id) of every read receipt sent."""
        self.sessions: set[Session] = set()
        self.members = set(JIDS)
        self.host.run(self._open_world)

    # ---------------------------------------------------------------- the trio side

    async def _open_world(self) -> None:
        self.server: Server = await self.host.nursery.start(self._serve)
        admin = await self._connect(ADMIN)
        self.gjid = await admin.create_group("machine", JIDS[1:])
        await self._settle()

    async def _serve(self, *, task_status: trio.TaskStatus[Server]) -> None:
        async with open_server(accounts=[(u, PASSWORD) for u in USERS]) as server:
            task_status.started(server)
            await trio.sleep_forever()

    async def _hold(self, jid: str, *, task_status: trio.TaskStatus[Client]) -> None:
        if self.transport == "bytes":
            connector: StallingConnector | MemoryConnector = StallingConnector(self.server)
        else:
            connector = MemoryConnector(self.server, mode="nodes")
        stop, stopped = trio.Event(), trio.Event()
        try:
            async with open_client(connector, jid.split("@")[0], PASSWORD, announce=False) as c:
                c.on(ev.GetMessage, lambda e: self.received[jid].append(_key(e)))
                c.on(
                    ev.MessageReceivedClient,
                    lambda e: self.receipts[jid].append((e.from_, e.id, e.type)),
                )
                if isinstance(connector, StallingConnector):
                    self.streams[jid] = connector.streams[0]
                self.online[jid] = (c, stop, stopped)
                task_status.started(c)
                await stop.wait()
        finally:
            stopped.set()

    async def _connect(self, jid: str) -> Client:
        client: Client = await self.host.nursery.start(self._hold, jid)
        self.sessions |= self.server.all_sessions
        return client

    async def _disconnect(self, jid: str, *, abrupt: bool = False) -> None:
        client, stop, stopped = self.online.pop(jid)
        self.streams.pop(jid, None)
        if abrupt:
            await client.link.aclose()  # no goodbye: the transport just goes away
        stop.set()
        await stopped.wait()
        await self._settle()

    async def _settle(self) -> None:
        await trio.testing.wait_all_tasks_blocked()
        self.sessions |= self.server.all_sessions

    async def _send(self, sender: str, to: str, text: str) -> None:
        client = self.online[sender][0]
        try:
            msg_id = await client.send_text(to, text)
        except ClientError:
            return
        self.sent[(sender, to)].append(msg_id)
        try:
            await client.wait_for(
                ev.MessageReceivedServer, lambda e: e.id == msg_id, timeout=TIMEOUT
            )
        except ClientError:
            return  # the connection went away before the ack: not acked, at most once
        self.acked[(sender, to)].append(msg_id)
        recipients = (self.members if to == self.gjid else {to}) - {sender}
        self.expected[(sender, to, msg_id)] = recipients
        await self._settle()

    async def _cut_send(self, sender: str, to: str) -> None:
        client = self.online[sender][0]
        stream = self.streams[sender]
        await self._settle()  # nobody else is writing on this link now
        stream.armed = True
        async with trio.open_nursery() as nursery:
            scope = trio.CancelScope()

            async def send() -> None:
                with scope:
                    self.sent[(sender, to)].append(await client.send_text(to, "cut"))

            nursery.start_soon(send)
            await stream.stalled_event.wait()
            scope.cancel()
        try:
            await client.send_text(to, "after the cut")
        except ClientError:
            pass
        else:
            raise AssertionError("a link with half a frame on it accepted another send")
        assert stream.written_after_stall == 0
        await self._disconnect(sender)

    async def _change_group(self, jid: str, add: bool) -> None:
        admin = self.online[ADMIN][0]
        if add:
            await admin.add_participants(self.gjid, [jid])
            self.members.add(jid)
        else:
            await admin.remove_participants(self.gjid, [jid])
            self.members.discard(jid)
        await self._settle()

    async def _read(self, reader: str, key: Key) -> None:
        from_, participant, msg_id = key
        try:
            await self.online[reader][0].mark_read(from_, msg_id, participant=participant)
        except ClientError:
            return
        self.read_sent.add((reader, participant or from_, msg_id))
        await self._settle()

    # ---------------------------------------------------------------- rules

    @precondition(lambda self: len(self.online) < len(JIDS))
    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(sorted(set(JIDS) - set(self.online))))
        self.host.run(self._connect, jid)
        self.host.run(self._settle)

    @precondition(lambda self: bool(self.online))
    @rule(data=st.data(), abrupt=st.booleans())
    def disconnect(self, data: st.DataObject, abrupt: bool) -> None:
        jid = data.draw(st.sampled_from(sorted(self.online)))
        self.host.run(lambda: self._disconnect(jid, abrupt=abrupt))

    @precondition(lambda self: bool(self.online))
    @rule(data=st.data(), text=st.sampled_from(["hi", "second", "ünïcode", "x" * 300]))
    def send(self, data: st.DataObject, text: str) -> None:
        sender = data.draw(st.sampled_from(sorted(self.online)))
        to = data.draw(st.sampled_from([j for j in JIDS if j != sender]))
        self.host.run(self._send, sender, to, text)

    @precondition(lambda self: bool(set(self.online) & self.members))
    @rule(data=st.data())
    def send_to_group(self, data: st.DataObject) -> None:
        sender = data.draw(st.sampled_from(sorted(set(self.online) & self.members)))
        self.host.run(self._send, sender, self.gjid, "to all")

    @precondition(lambda self: ADMIN in self.online)
    @rule(data=st.data())
    def change_group(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(JIDS[1:]))
        self.host.run(self._change_group, jid, jid not in self.members)

    @precondition(lambda self: any(self.received[j] for j in self.online))
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        reader = data.draw(st.sampled_from(sorted(j for j in self.online if self.received[j])))
        key = data.draw(st.sampled_from(self.received[reader]))
        self.host.run(self._read, reader, key)

    @precondition(lambda self: self.transport == "bytes" and bool(self.online))
    @rule(data=st.data())
    def cut_a_send_mid_frame(self, data: st.DataObject) -> None:
        sender = data.draw(st.sampled_from(sorted(self.online)))
        to = data.draw(st.sampled_from([j for j in JIDS if j != sender]))
        self.host.run(self._cut_send, sender, to)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def nothing_twice_and_in_order(self) -> None:
        for jid, keys in self.received.items():
            assert len(keys) == len(set(keys)), f"{jid} got a stanza twice: {keys}"
            seen = [_where(jid, key) for key in keys]
            for (sender, to), ids in self.sent.items():
                got = [i for author, target, i in seen if (author, target) == (sender, to)]
                positions = [ids.index(i) for i in got]
                assert positions == sorted(positions), f"{sender} -> {to} at {jid}: {got} {ids}"

    @invariant()
    def no_stream_garbled_and_no_server_bug(self) -> None:
        assert self.server.bugs == [], self.server.bugs
        for session in self.sessions:
            reason = session.close_reason or ""
            assert "MAC" not in reason, reason
            if reason.startswith("protocol error"):
                assert "unfinished frame" in reason, reason  # only a cut send, nothing else

    def teardown(self) -> None:
        try:
            self.host.run(self._final_check)
        finally:
            self.host.close()

    async def _final_check(self) -> None:
        for jid in JIDS:
            if jid not in self.online:
                await self._connect(jid)
        await self._settle()
        delivered: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for jid, keys in self.received.items():
            for key in keys:
                delivered[_where(jid, key)].append(jid)
        for (sender, to, msg_id), recipients in self.expected.items():
            got = delivered.get((sender, to, msg_id), [])
            assert sorted(got) == sorted(recipients), f"{sender} -> {to} {msg_id}: reached {got}"
        # Receipts: each sender got exactly the delivery and read receipts that were sent.
        for sender in JIDS:
            deliveries = {
                (recipient, msg_id)
                for recipient, keys in self.received.items()
                for from_, participant, msg_id in keys
                if from_ == sender and participant is None
            }
            receipts = {(f, i) for f, i, t in self.receipts[sender] if t == "delivery"}
            one_to_one = {(f, i) for f, i in receipts if f in JIDS}
            assert one_to_one == deliveries, f"delivery receipts of {sender}"
            reads = {(r, i) for r, a, i in self.read_sent if a == sender}
            got_reads = {(f, i) for f, i, t in self.receipts[sender] if t == "read"}
            assert {(f, i) for f, i in got_reads if f in JIDS} == {
                (r, i) for r, i in reads if (r, i) in deliveries
            }, f"read receipts of {sender}"
        for jid in list(self.online):
            await self._disconnect(jid)


def _key(event: ev.GetMessage) -> Key:
    return (event.from_, event.participant, event.id)


def _where(recipient: str, key: Key) -> tuple[str, str, str]:
    """(author, where it was sent, id) of a delivery: a group or the recipient itself."""
    from_, participant, msg_id = key
    if participant is not None:
        return (participant, from_, msg_id)
    return (from_, recipient, msg_id)


class BytesMachine(DeliveryMachine):
    transport = "bytes"


_SETTINGS = settings(
    max_examples=max(10, (settings.default.max_examples if settings.default else 200) // 10),
    stateful_step_count=25,
)

TestDeliveryOverNodes = DeliveryMachine.TestCase
TestDeliveryOverNodes.settings = _SETTINGS
TestDeliveryOverBytes = BytesMachine.TestCase
TestDeliveryOverBytes.settings = _SETTINGS
