"""The explorer's front door: a bot by name or function, a world file, files of checks."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from simulator.errors import ScenarioError
from simulator.explore.cast import load_world
from simulator.explore.engine import DEFAULT_YIELD_LIMIT, Exploration, explore
from simulator.explore.generate import Step, parse_faults
from simulator.explore.properties import Property, is_invariant
from simulator.scenario import BotFunction, CommandBot, InProcessBot, import_bot
from simulator.yamlfile import load_yaml

__all__ = ["explore_bot", "load_invariants", "load_properties"]


def explore_bot(
    bot: str | BotFunction | CommandBot,
    *,
    world: Path | str | None = None,
    account: str | None = None,
    seed: int = 0,
    runs: int | None = None,
    budget: float | None = None,
    properties: Iterable[Property] = (),
    invariants: Sequence[dict[str, Any]] | Path | str = (),
    max_steps: int = 16,
    extra: st.SearchStrategy[Step] | None = None,
    faults: Sequence[str] | str = (),
    out: Path | str | None = None,
    report: Callable[[str], None] | None = None,
    time_scale: float = 1.0,
    yield_limit: float | None = DEFAULT_YIELD_LIMIT,
    search: Sequence[Path] = (),
) -> Exploration:
    """Explore a bot: ``module:callable`` (imported from ``search``, then the current
    directory), an ``async def bot(client)``, or a :class:`CommandBot`.

    ``world``: a world file (default: :data:`~simulator.explore.DEFAULT_WORLD`);
    ``account``: the bot's account in it (default ``mybot``). ``invariants``: a list of
    ``expect_none`` bodies, or the path of a file of them (see :func:`load_invariants`).
    ``faults``: ``"all"``, ``"drop,duplicate"`` or a list of names of
    :data:`~simulator.explore.FAULTS` (ValueError for an unknown one).
    The rest is :func:`~simulator.explore.explore`'s.
    """
    if isinstance(faults, str):
        faults = parse_faults(faults)
    else:
        faults = parse_faults(",".join(faults)) if faults else ()
    target: str | None = None
    runner: InProcessBot | CommandBot
    if isinstance(bot, str):
        target = bot
        runner = InProcessBot(target=bot, function=import_bot(bot, search=[*search, Path.cwd()]))
    elif isinstance(bot, CommandBot):
        runner = bot
    else:
        name = f"{getattr(bot, '__module__', '?')}:{getattr(bot, '__qualname__', 'bot')}"
        runner = InProcessBot(target=name, function=bot)
        target = name if "<" not in name else None
    cast = load_world(Path(world) if world is not None else None, bot=account)
    if isinstance(invariants, Path | str):
        invariants = load_invariants(invariants)
    return explore(
        runner,
        cast,
        seed_=seed,
        runs_=runs,
        budget=budget,
        properties=properties,
        invariants=invariants,
        max_steps=max_steps,
        extra=extra,
        faults=faults,
        out=Path(out) if out is not None else None,
        bot_target=target,
        report=report,
        time_scale=time_scale,
        yield_limit=yield_limit,
    )


def load_properties(spec: str, *, search: Sequence[Path] = ()) -> list[Property]:
    """``module:function`` (that property) or ``module`` (every :func:`invariant` in it).

    Raises:
        ScenarioError: the module or function cannot be found, or the module has none.
    """
    module_name, _, attr = spec.partition(":")
    added = [str(p) for p in (*search, Path.cwd()) if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioError(f"cannot import {module_name!r}: {exc}") from None
    finally:
        for path in added:
            sys.path.remove(path)
    if attr:
        found = getattr(module, attr, None)
        if not callable(found):
            raise ScenarioError(f"{module_name} has no function {attr!r}")
        return [found]
    marked = [v for v in vars(module).values() if is_invariant(v)]
    if not marked:
        raise ScenarioError(
            f"{module_name} has no function marked @invariant(...); name one as {spec}:NAME"
        )
    return marked


def load_invariants(path: Path | str) -> list[dict[str, Any]]:
    """The ``invariants:`` of a YAML file: ``expect_none`` bodies that hold in every run.

    Raises:
        ScenarioError: the file cannot be read or is not of that form.
    """
    path = Path(path)
    try:
        data = load_yaml(path.read_text("utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the file: {exc}") from None
    items = data.get("invariants") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ScenarioError(
            f"{path}: expected a mapping with a list `invariants:` of expect_none bodies,"
            " e.g. `- {to: alice, message: {from: bot, body: /error/i}}`"
        )
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        body = item.get("expect_none", item) if isinstance(item, dict) else None
        if not isinstance(body, dict) or "to" not in body:
            raise ScenarioError(
                f"{path}: invariants[{index}] is not an expect_none body (a mapping with `to`)"
            )
        out.append({str(k): v for k, v in body.items() if k != "within"})
    return out
