""":func:`open_desk`: the desk's engine, its web server and the bot, around a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from simulator.desk.desk import BotSpec, Desk
from simulator.desk.web import DeskWeb
from simulator.scenario.record import recording

if TYPE_CHECKING:
    from trio.testing import MockClock

    from simulator.server import Server

__all__ = ["open_desk"]


@asynccontextmanager
async def open_desk(
    server: Server,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: MockClock | None = None,
    bot: BotSpec | None = None,
    record: bool = True,
    world: Path | None = None,
) -> AsyncIterator[DeskWeb]:
    """Serve the desk for ``server`` on ``host:port`` for the duration of the block.

    Args:
        clock: the MockClock trio runs on; given, the page can advance time.
        bot: the bot to run (it logs in before the block starts).
        record: record the session (the page's "save as scenario").
        world: the world file the server started from, if any.

    Raises:
        OSError: the address cannot be bound.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)  # OSError: said by the caller
    async with AsyncExitStack() as stack:
        for listener in listeners:
            await stack.enter_async_context(listener)
        recorder = None
        if record:
            recorder = await stack.enter_async_context(
                recording(server, bot.account if bot else None)
            )
        nursery = await stack.enter_async_context(trio.open_nursery())
        desk = Desk(server, nursery, clock=clock, bot=bot, recorder=recorder, world=world)
        stack.callback(desk.close)
        stack.callback(nursery.cancel_scope.cancel)
        web = DeskWeb(desk)
        web.serve(nursery, listeners)
        if server.http.address is None:
            await server.listen_http(host, 0)  # media URLs point somewhere; the page proxies
        nursery.start_soon(desk.run)
        if bot is not None and bot.runs:
            await nursery.start(desk.run_bot)
        yield web
