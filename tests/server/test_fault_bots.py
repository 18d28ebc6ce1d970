"""The example bots under faults: ``bots.resilient`` passes each one, ``bots.naive``
fails each, and the failure names the fault (from the server's fault log)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import pytest
import trio
import trio.testing

from scenarios.bots import naive, resilient
from simulator.client import Client, open_client
from simulator.client import events as ev
from simulator.server import Server, open_server
from simulator.server.faults import Duplicate, Throttle
from tests.server.conftest import ALICE, PASSWORD

BOT = "491110000009"
BOT_JID = f"{BOT}@s.whatsapp.net"
Bot = Callable[[Callable[[], AbstractAsyncContextManager[Client]]], Awaitable[None]]


async def stream_error(server: Server) -> None:
    server.faults.end_session(BOT, "ack")


async def throttle(server: Server) -> None:
    server.faults.add(
        Throttle(backoff=30),
        direction="in",
        party=BOT,
        match='<iq xmlns="urn:xmpp:whatsapp:sync"/>',
        times=1,
    )


async def duplicate(server: Server) -> None:
    server.faults.add(Duplicate(), direction="out", party=BOT, match="<message/>", times=1)


async def restart(server: Server) -> None:
    server.restart()


FAULTS = {
    "stream-error": (stream_error, "after"),
    "throttle": (throttle, "before"),
    "duplicate": (duplicate, "before"),
    "restart": (restart, "after"),
}
"""name -> (how to cause it, before or after the bot logs in)."""


async def judge(bot: Bot, fault: str) -> str | None:
    """Run ``bot`` through ``fault`` while Alice says hello: None if she got exactly one
    answer, else why not, naming the faults that hit."""
    cause, when = FAULTS[fault]
    accounts = [(ALICE, PASSWORD, "Alice"), (BOT, PASSWORD, "Bot")]
    async with open_server(accounts=accounts) as server, trio.open_nursery() as nursery:
        crashed: list[str] = []

        async def run_bot() -> None:
            try:
                await bot(lambda: open_client(server, BOT, PASSWORD))
            except Exception as exc:  # the failure to report
                crashed.append(f"{type(exc).__name__}: {exc}")

        if when == "before":
            await cause(server)
        nursery.start_soon(run_bot)
        await trio.sleep(1)  # the bot logs in
        if when == "after":
            await cause(server)
            await trio.sleep(1)
        answers: list[str] = []
        async with open_client(server, ALICE, PASSWORD) as alice:
            await trio.sleep(60)  # time to reconnect, or to sit out a backoff
            await alice.send_text(BOT_JID, "hello")
            while True:
                with trio.move_on_after(30):
                    answers.append((await alice.wait_for(ev.GetMessage)).text)
                    continue
                break
        nursery.cancel_scope.cancel()
        if answers == ["echo: hello"]:
            return None
        hits = "; ".join(str(hit) for hit in server.faults.log) or "no fault hit"
        why = f", the bot ended with {crashed[0]}" if crashed else ""
        return f"under {hits}: Alice got {answers}, not one 'echo: hello'{why}"


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_the_resilient_bot_survives(
    fault: str, autojump_clock: trio.testing.MockClock
) -> None:
    assert await judge(resilient.run, fault) is None


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("stream-error", "stream-error"),
        ("throttle", "fault #1 throttle"),
        ("duplicate", "fault #1 duplicate"),
        ("restart", "restart"),
    ],
)
async def test_the_naive_bot_fails_and_the_report_names_the_fault(
    fault: str, named: str, autojump_clock: trio.testing.MockClock
) -> None:
    report = await judge(naive.run, fault)
    assert report is not None and named in report, report
