"""Ten thousand interleaved messages with disconnects: exactly once, in order, with receipts."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
import trio
import trio.lowlevel

from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.server import open_server
from simulator.transport import MemoryConnector
from tests.server.conftest import PASSWORD

USERS = [f"4930000000{i:02d}" for i in range(6)]
JIDS = [f"{u}@s.whatsapp.net" for u in USERS]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["nodes", "bytes"])
async def test_ten_thousand_messages_arrive_exactly_once_in_order_with_receipts(mode: str) -> None:
    total = 10_000 if mode == "nodes" else 2_000
    rng = random.Random(20150101)
    sent: dict[tuple[str, str], list[str]] = defaultdict(list)  # (sender, recipient) -> ids
    received: dict[tuple[str, str], list[str]] = defaultdict(list)
    confirmed: dict[str, list[str]] = defaultdict(list)  # sender -> delivered ids
    disconnects: list[str] = []

    async with (
        open_server(accounts=[(u, PASSWORD) for u in USERS]) as server,
        trio.open_nursery() as nursery,
    ):
        connector = MemoryConnector(server, mode=mode)  # type: ignore[arg-type]
        online: dict[str, tuple[Client, trio.Event, trio.Event]] = {}

        async def run_user(jid: str, *, task_status: trio.TaskStatus[Client]) -> None:
            stop, stopped = trio.Event(), trio.Event()
            try:
                async with open_client(
                    connector, jid.split("@")[0], PASSWORD, announce=False
                ) as client:
                    client.on(ev.GetMessage, lambda e: received[(e.from_, jid)].append(e.id))
                    client.on(
                        ev.MessageReceivedClient,
                        lambda e: confirmed[jid].append(e.id) if e.type == "delivery" else None,
                    )
                    online[jid] = (client, stop, stopped)
                    task_status.started(client)
                    await stop.wait()
            finally:
                stopped.set()

        async def connect(jid: str) -> Client:
            client: Client = await nursery.start(run_user, jid)
            return client

        async def disconnect(jid: str) -> None:
            disconnects.append(jid)
            _client, stop, stopped = online.pop(jid)
            stop.set()
            await stopped.wait()

        for jid in JIDS:
            await connect(jid)
        for n in range(total):
            sender, recipient = rng.sample(JIDS, 2)
            client = online[sender][0] if sender in online else await connect(sender)
            msg_id = await client.send_text(recipient, f"{n}")
            sent[(sender, recipient)].append(msg_id)
            roll = rng.random()
            if roll < 0.01 and len(online) > 1:
                await disconnect(rng.choice(sorted(online)))
            elif roll < 0.02:
                for jid in JIDS:
                    if jid not in online:
                        await connect(jid)
                        break
            if n % 50 == 0:
                await trio.lowlevel.checkpoint()
        for jid in JIDS:
            if jid not in online:
                await connect(jid)
        # Let everything settle: once every task is idle, all receipts and acks are in.
        await trio.testing.wait_all_tasks_blocked()
        assert not any(len(server.state.mailbox(j)) for j in JIDS)
        for jid in list(online):
            await disconnect(jid)

    assert sum(len(ids) for ids in sent.values()) == total
    assert len(disconnects) > total // 200, "the run must really disconnect and reconnect"
    for pair, ids in sent.items():
        assert received[pair] == ids, f"{pair}: order or count differs"
    for sender in JIDS:
        expected = sorted(i for (s, _r), ids in sent.items() if s == sender for i in ids)
        assert sorted(confirmed[sender]) == expected, f"receipts for {sender}"
