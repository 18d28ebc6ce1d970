"""``simulator desk``: the service, the bot and a web page to play its users, until interrupted.

    simulator desk --bot bots.echo:run
    simulator desk --world team.world.yaml --bot-command "python -m mybot"
    simulator desk --world team.world.yaml           # no bot: real clients connect over TCP

Prints ``desk on http://127.0.0.1:PORT/`` once the page is up, and ``listening on
HOST:PORT`` for real clients, then serves until Ctrl-C or SIGTERM (exit 0). Without
``--world`` the world is Alice, Bob, Carol and Bot. The bot's account is ``--bot-account``,
else the account named "bot", else the world's last account; ``--bot-account`` alone names
the account your own client (a real bot over TCP) logs in as, for the page and the
recording. Time runs at real speed; the page can advance it (see ``simulator.desk``).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from simulator.cli._errors import split_bot_command, unwrap_group
from simulator.cli._state import open_store
from simulator.errors import FatalError, ScenarioError, ScenarioSyntaxError

if TYPE_CHECKING:
    from trio.testing import MockClock

    from simulator.desk import BotSpec
    from simulator.server import Server, State
    from simulator.server.store import Store

__all__ = ["add_parser", "desk_page", "run"]

NAME = "desk"
HELP = "chat with your bot in a browser: every stanza shown, the session saved as a scenario"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, help="a world file (YAML) with accounts and more")
    bot = parser.add_mutually_exclusive_group()
    bot.add_argument("--bot", metavar="MOD:FN", help="run this bot in-process")
    bot.add_argument(
        "--bot-command",
        metavar="CMD",
        help="run this program as the bot (it connects over TCP; see the SIM_* variables)",
    )
    parser.add_argument(
        "--bot-account",
        metavar="ACCOUNT",
        help='the bot\'s account (phone or name; default: "bot", else the last account);'
        " alone: the account your own client logs in as over TCP",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="the page's port; 0 = any free port (default)"
    )
    parser.add_argument(
        "--server-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the service's TCP port for real clients; 0 = any free port (default)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for nonces and ids (default 0)")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep the service's state in this SQLite file across runs (as serve --state); "
        "--world fills a new file only",
    )
    parser.set_defaults(run=run)


def _state(world: Path | None, store: Store | None = None) -> State:
    """The world to serve; with a state file that was served before, the file's state
    (the world went into it the first time)."""
    from simulator.world import build_state, load_world

    if store is not None and store.opened > 1:
        return store.state
    into = store.state if store is not None else None
    if world is None:
        from simulator.testing import DEFAULT_WORLD

        return build_state(DEFAULT_WORLD, into)
    try:
        loaded = load_world(world)
        return build_state(loaded, into)
    except ScenarioSyntaxError as exc:
        raise FatalError(
            f"{world} is not a valid world file:\n  " + "\n  ".join(exc.problems)
        ) from None


def _bot(args: argparse.Namespace, state: State) -> BotSpec | None:
    from simulator.desk import BotSpec
    from simulator.scenario.record import find_account

    if args.bot is None and args.bot_command is None and args.bot_account is None:
        return None
    if not state.accounts:
        raise FatalError("the world has no accounts: there is none for the bot")
    if args.bot_account is not None:
        account = find_account(state, args.bot_account)
        if account is None:
            raise FatalError(f"--bot-account {args.bot_account!r}: no such account (phone or name)")
    else:
        account = find_account(state, "bot") or list(state.accounts.values())[-1]
    if args.bot is None and args.bot_command is None:  # your own client logs in as it
        return BotSpec(account=account.jid, target=f"a real client as {account.phone}")
    if args.bot is not None:
        from simulator.scenario import import_bot

        search = [Path.cwd()] + ([args.world.parent] if args.world is not None else [])
        try:
            function = import_bot(args.bot, search=search)
        except ScenarioError as exc:
            raise FatalError(f"--bot: {exc}") from None
        return BotSpec(account=account.jid, function=function, target=args.bot)
    argv = split_bot_command(args.bot_command)
    return BotSpec(account=account.jid, target=args.bot_command, argv=argv)


@asynccontextmanager
async def desk_page(
    server: Server,
    host: str,
    port: int | None,
    *,
    clock: MockClock | None = None,
    bot: BotSpec | None = None,
    world: Path | None = None,
) -> AsyncIterator[None]:
    """The desk for ``server`` on ``host:port`` (``None``: no desk); prints its URL."""
    if port is None:
        yield
        return
    from simulator.desk import open_desk

    try:
        async with open_desk(
            server, host=host, port=port, clock=clock, bot=bot, world=world
        ) as web:
            print(f"desk on {web.url}", flush=True)
            yield
    except OSError as exc:  # binding the page's port (later errors come out grouped)
        raise FatalError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


async def _desk(
    args: argparse.Namespace,
    state: State,
    bot: BotSpec | None,
    clock: MockClock,
    store: Store | None = None,
) -> None:
    from simulator.server import ServerConfig, open_server

    # Interactive: a handler bug is logged and answered with an error, as under serve.
    config = ServerConfig(epoch=None, seed=args.seed, strict=False)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with (
            open_server(
                state=state if store is None else None, config=config, store=store
            ) as server,
            desk_page(server, args.host, args.port, clock=clock, bot=bot, world=args.world),
        ):
            try:
                host, port = await server.listen_tcp(args.host, args.server_port)
            except OSError as exc:
                raise FatalError(
                    f"cannot listen on {args.host}:{args.server_port}: {exc.strerror}"
                ) from None
            print(f"listening on {host}:{port}", flush=True)
            if bot is not None:
                print(f"  bot {bot.target} as {bot.account}", flush=True)
            async for _signum in signals:
                break


def run(args: argparse.Namespace) -> int:
    import trio.testing

    store = open_store(args)
    try:
        state = _state(args.world, store)
        bot = _bot(args, state)
        clock = trio.testing.MockClock(rate=1.0)
        trio.run(_desk, args, state, bot, clock, store, clock=clock)
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
    finally:
        if store is not None:
            store.close()
    print("stopped", file=sys.stderr, flush=True)
    return 0
