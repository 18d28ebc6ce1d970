"""Test helpers (like ``trio.testing``): a server holding a world, users by name, the bot.

With pytest, use the fixtures of the simulator's plugin (``simulator_server``,
``simulator_user``, ``simulator_bot``; see ``simulator.pytest_plugin``). Elsewhere::

    from simulator.testing import Users, open_world_server

    async def main() -> None:
        async with open_world_server() as server:
            users = Users(server)
            async with users("alice") as alice, users("bob") as bob:
                await alice.send_text(users.jid("bob"), "hi")
                assert (await bob.wait_for_message()).text == "hi"

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))  # virtual time
"""

from __future__ import annotations

from simulator.testing._harness import (
    DEFAULT_WORLD,
    RunningBot,
    UserOptions,
    Users,
    find_account,
    open_world_server,
    start_bot,
)
from simulator.world import AccountSpec, World

__all__ = [
    "DEFAULT_WORLD",
    "AccountSpec",
    "RunningBot",
    "UserOptions",
    "Users",
    "World",
    "find_account",
    "open_world_server",
    "start_bot",
]
