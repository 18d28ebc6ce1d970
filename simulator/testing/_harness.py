"""A server holding a world, users logged in by name, the bot under test: for any test runner.

The pytest fixtures (``simulator.pytest_plugin``) are thin wrappers around these; they
work the same in a plain ``trio.run`` or another test runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Final, Literal, TypedDict, Unpack, final

import trio

from simulator.client import Client, open_client
from simulator.jid import user_jid
from simulator.records import record
from simulator.server import DEFAULT_EPOCH, ServerConfig, open_server
from simulator.transport import MemoryConnector
from simulator.wire.tokens import Dialect
from simulator.world import AccountSpec, World, build_state

if TYPE_CHECKING:
    from simulator.scenario.plan import BotFunction
    from simulator.server import Server

__all__ = [
    "DEFAULT_WORLD",
    "RunningBot",
    "UserOptions",
    "Users",
    "find_account",
    "open_world_server",
    "start_bot",
]

DEFAULT_WORLD: Final = World(
    accounts=[
        AccountSpec(phone="491110000001", name="Alice"),
        AccountSpec(phone="491110000002", name="Bob"),
        AccountSpec(phone="491110000003", name="Carol"),
        AccountSpec(phone="491119999999", name="Bot"),
    ]
)
"""Alice, Bob and Carol, and an account named Bot for the bot under test."""


def find_account(world: World, ref: str) -> AccountSpec:
    """The account ``ref`` names: its ``name`` in any case, its phone or its JID.

    Raises:
        LookupError: no account of the world has that name, phone or JID.
    """
    wanted = ref.strip().lower()
    for account in world.accounts:
        if wanted in (account.name.lower(), account.phone, user_jid(account.phone)):
            return account
    known = ", ".join(a.name.lower() or a.phone for a in world.accounts) or "none"
    raise LookupError(f"no account {ref!r} in the simulator's world (accounts: {known})")


@asynccontextmanager
async def open_world_server(
    world: World = DEFAULT_WORLD, *, config: ServerConfig | None = None
) -> AsyncIterator[Server]:
    """Run a server holding ``world`` for the duration of the block.

    The server's clock reads ``config.epoch`` (default 2015-01-01T00:00:00Z) when the block
    starts, whatever trio's clock reads, and its ids come from ``config.seed``: two runs of
    a test see the same times and ids. Under an autojump ``MockClock`` time is virtual.

    Example::

        async with open_world_server() as server, Users(server)("alice") as alice:
            await alice.send_text("491110000002", "hi")
    """
    config = config or ServerConfig(epoch=DEFAULT_EPOCH)
    if config.epoch is not None:
        config = dataclasses.replace(config, epoch=config.epoch - trio.current_time())
    async with open_server(state=build_state(world), config=config) as server:
        yield server


class UserOptions(TypedDict, total=False):
    """How a user's client logs in and behaves (see :func:`simulator.client.open_client`)."""

    push_name: str
    passive: bool
    announce: bool
    auto_ack: bool
    auto_receipt: bool
    auto_pong: bool
    dialect: Dialect
    transport: Literal["nodes", "bytes"]
    """``nodes`` (default): nodes over memory channels; ``bytes``: the full byte wire."""


@final
class Users:
    """Opens logged-in clients of ``server`` for the accounts of ``world``, by name.

    ``async with users("alice") as alice:`` scopes a client to the block;
    ``await users.login("alice")`` keeps it until ``nursery`` ends (the test, for the
    ``simulator_user`` fixture).
    """

    def __init__(
        self,
        server: Server,
        world: World = DEFAULT_WORLD,
        nursery: trio.Nursery | None = None,
    ) -> None:
        self.server = server
        self.world = world
        self._nursery = nursery

    def jid(self, ref: str) -> str:
        """The JID of the account ``ref`` names (a name, phone or JID)."""
        return user_jid(find_account(self.world, ref).phone)

    def __call__(
        self, ref: str, **options: Unpack[UserOptions]
    ) -> AbstractAsyncContextManager[Client]:
        """Log in as the account ``ref`` names; the client closes when the block ends.

        Raises:
            LookupError: no such account in the world.
        """
        account = find_account(self.world, ref)
        return open_client(
            MemoryConnector(self.server, mode=options.get("transport", "nodes")),
            account.phone,
            account.effective_password,
            push_name=options.get("push_name", account.name),
            passive=options.get("passive", False),
            announce=options.get("announce", True),
            auto_ack=options.get("auto_ack", True),
            auto_receipt=options.get("auto_receipt", True),
            auto_pong=options.get("auto_pong", True),
            dialect=options.get("dialect", Dialect.V16),
        )

    async def login(self, ref: str, **options: Unpack[UserOptions]) -> Client:
        """Log in as ``ref`` for as long as the nursery runs; returns the logged-in client.

        Raises:
            RuntimeError: this ``Users`` was made without a nursery.
        """
        if self._nursery is None:
            raise RuntimeError("Users.login needs a nursery: Users(server, world, nursery)")
        opening = self(ref, **options)
        client: Client = await self._nursery.start(_hold, opening)
        return client


async def _hold(
    opening: AbstractAsyncContextManager[Client], task_status: trio.TaskStatus[Client]
) -> None:
    async with opening as client:
        task_status.started(client)
        await trio.sleep_forever()


@final
@record
class RunningBot:
    """The bot under test, logged in and running (see :func:`start_bot`)."""

    jid: str
    phone: str
    name: str
    client: Client
    """The bot's own client: the bot consumes its events, so a test should not."""


async def start_bot(
    nursery: trio.Nursery,
    server: Server,
    account: AccountSpec,
    bot: BotFunction,
    **options: Unpack[UserOptions],
) -> RunningBot:
    """Log ``account`` in and run ``await bot(client)`` in ``nursery``; returns once logged in.

    The bot runs until it returns (its client then logs out) or the nursery ends. An
    exception from the bot propagates out of the nursery (in the fixture: fails the test).
    """
    users = Users(server, World(accounts=[account]))
    running: RunningBot = await nursery.start(
        _run_bot, users(account.phone, **options), bot, account
    )
    return running


async def _run_bot(
    opening: AbstractAsyncContextManager[Client],
    bot: BotFunction,
    account: AccountSpec,
    task_status: trio.TaskStatus[RunningBot],
) -> None:
    async with opening as client:
        task_status.started(RunningBot(client.jid, account.phone, account.name, client))
        await bot(client)
