"""Scenario files -> checked plans: every problem of a file found and reported at once.

Loading a file goes through four stages, and problems from all of them are collected
before anything runs:

1. YAML syntax (ruamel, with positions);
2. the file models (pydantic, ``model.py``): unknown keys, wrong types, unknown steps;
3. the world (inline, or a world file relative to the scenario) and the bot (its account,
   its module imported to check that the callable exists);
4. each step's ``plan(b)`` through a :class:`Builder`: unknown user names, users acting
   while logged out, captures used in a send before any step binds them, node patterns
   that do not parse (with the parser's message), regular expressions that do not compile.

A step that fails stage 2 is skipped in stage 4, but so that one mistake does not cascade
into many reports, the captures written in it count as bound, and if it may have been a
login or logout (its key is, or is closest to, one of those), who is logged in is no
longer checked.
"""

from __future__ import annotations

import datetime
import difflib
import importlib
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from pydantic import TypeAdapter, ValidationError

from simulator.errors import ScenarioError, ScenarioSyntaxError
from simulator.jid import SERVER, user_jid
from simulator.scenario import plan
from simulator.scenario.match import (
    CAPTURE,
    Literal,
    Pattern,
    PatternError,
    Regex,
    Template,
    check_node_template,
    compile_node,
    compile_template,
    compile_value,
    node_names,
    parse_node_text,
)
from simulator.scenario.model import BotSpec, OptionsSpec, Registry, ScenarioFileBase, WorldFile
from simulator.scenario.steps import DEFAULT_REGISTRY
from simulator.world import World
from simulator.yamlfile import Problem, format_loc, locate, parse_yaml, plain, validate_yaml

if TYPE_CHECKING:
    from simulator.scenario.model import ExpectationBase
    from simulator.scenario.plan import BotFunction
    from simulator.wire.node import Node

__all__ = [
    "Builder",
    "check_file",
    "collect_paths",
    "import_bot",
    "load_scenario",
    "validate_files",
]

RESERVED: Final = frozenset({"bot", "server"})
SCENARIO_SUFFIXES: Final = (".yaml", ".yml")
WORLD_SUFFIXES: Final = (".world.yaml", ".world.yml")
_NAMED_GROUP: Final = re.compile(r"\(\?P(?:<|&lt;)([A-Za-z_][A-Za-z0-9_]*)(?:>|&gt;)")


# -------------------------------------------------------------------- files


def collect_paths(paths: Iterable[Path | str]) -> list[Path]:
    """The scenario files named by ``paths``, sorted within each directory.

    A file is taken as it is; a directory is searched recursively for ``*.yaml`` and
    ``*.yml``, leaving out world files (``*.world.yaml``).

    Raises:
        ScenarioError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.name.endswith(SCENARIO_SUFFIXES)
                and not p.name.endswith(WORLD_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def load_scenario(path: Path | str, *, registry: Registry = DEFAULT_REGISTRY) -> plan.Scenario:
    """Load and check a scenario file.

    Raises:
        ScenarioSyntaxError: the file has problems; ``problems`` lists every one as
            ``file:line: at steps[3].expect.message.body: <message>``.
    """
    scenario, problems = check_file(path, registry=registry)
    if scenario is None or problems:
        raise ScenarioSyntaxError([str(p) for p in problems])
    return scenario


def validate_files(
    paths: Iterable[Path | str], *, registry: Registry = DEFAULT_REGISTRY
) -> list[Problem]:
    """Every problem in the scenario files named by ``paths`` (files or directories)."""
    problems: list[Problem] = []
    for path in collect_paths(paths):
        problems.extend(check_file(path, registry=registry)[1])
    return problems


def check_file(
    path: Path | str, *, registry: Registry = DEFAULT_REGISTRY
) -> tuple[plan.Scenario | None, list[Problem]]:
    """The scenario in ``path`` (None if it cannot be built) and every problem found."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return None, [Problem(shown, None, "", f"cannot read the file: {reason}")]
    data, problems = parse_yaml(text, shown)
    if problems:
        return None, problems
    model, problems = validate_yaml(registry.file_model(), data, shown)
    if model is None:
        return _check_partially(path, text, data, registry, problems)
    return _build(path, text, data, model, registry, problems, broken_steps=frozenset())


def _check_partially(
    path: Path, text: str, data: Any, registry: Registry, problems: list[Problem]
) -> tuple[None, list[Problem]]:
    """The file model failed: still check, step by step, what validated.

    Names need the world and the bot; without them (or without a list of steps) there is
    nothing more to check. Broken options fall back to the defaults.
    """
    top_broken = {p.at.split(".")[0].split("[")[0] for p in problems}
    if top_broken & {"world", "bot", ""} or not isinstance(data, dict):
        return None, problems
    steps = data.get("steps")
    if not isinstance(steps, list):
        return None, problems
    top = {k: v for k, v in plain(data).items() if k in ("world", "bot")}
    try:
        base = ScenarioFileBase.model_validate({**top, "name": "-", "steps": [None]})
    except ValidationError:  # pragma: no cover - world and bot validated above
        return None, problems
    steps_type: Any = registry.file_model().model_fields["steps"].annotation
    adapter: TypeAdapter[list[Any]] = TypeAdapter(steps_type)
    good: list[Any] = []
    broken: set[int] = set()
    for index, item in enumerate(steps):
        try:
            good.append(adapter.validate_python([plain(item)])[0])
        except ValidationError:
            good.append(None)
            broken.add(index)
    model = base.model_copy(update={"steps": good})
    _scenario, more = _build(path, text, data, model, registry, [], broken_steps=frozenset(broken))
    return None, sorted([*problems, *more], key=lambda p: p.line or 0)


# -------------------------------------------------------------------- building the plan


@dataclass
class _Shared:
    """What every builder of one file shares."""

    path: Path
    data: Any
    lines: list[str]
    directory: Directory
    bot: plan.BotPlan | None
    options: plan.Options
    problems: list[Problem] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)
    logged_in: set[str] = field(default_factory=set)
    bot_running: bool = False
    lenient: bool = False
    """A login or logout could not be checked: stop checking who is logged in."""


def _build(
    path: Path,
    text: str,
    data: Any,
    model: ScenarioFileBase,
    registry: Registry,
    problems: list[Problem],
    *,
    broken_steps: frozenset[int],
) -> tuple[plan.Scenario | None, list[Problem]]:
    world = _world(path, model, data, problems)
    if world is None:
        return None, problems
    directory = Directory(world, model.bot.account if model.bot else None)
    shared = _Shared(path, data, text.splitlines(), directory, None, _options(model.options))
    for message, loc in directory.problems:
        line, kept = locate(data, loc)
        problems.append(Problem(str(path), line, format_loc(kept), message))
    if model.bot is not None:
        shared.bot = _bot(model.bot, path, directory, shared, problems)
        shared.bot_running = model.bot.autostart
    shared.bound = set(directory.builtins)
    steps: list[plan.Step] = []
    for index, wrapper in enumerate(model.steps):
        if index in broken_steps or wrapper is None:
            _skip_broken(shared, index, [step.KEY for step in registry.steps])
            continue
        builder = Builder(shared, ("steps", index, wrapper.KEY), _where(shared, index))
        step = wrapper.spec().plan(builder)
        if step is not None:
            steps.append(step)
    problems.extend(shared.problems)
    if problems:
        return None, problems
    scenario = plan.Scenario(
        name=model.name,
        description=model.description,
        path=path,
        line=locate(data, ("name",))[0],
        world=world,
        parties=directory.parties,
        bot=shared.bot,
        steps=tuple(steps),
        options=shared.options,
        builtins=dict(directory.builtins),
    )
    return scenario, problems


def _skip_broken(shared: _Shared, index: int, keys: Sequence[str]) -> None:
    """A step that failed validation: what it would have bound counts as bound, and if it
    may have been a login or logout, who is logged in is no longer known."""
    source = _step_source(shared.lines, locate(shared.data, ("steps", index))[0])
    shared.bound.update(CAPTURE.findall(source) + _NAMED_GROUP.findall(source))
    raw = shared.data["steps"][index]
    key = str(next(iter(raw))) if isinstance(raw, dict) and raw else ""
    near = [key] if key in keys else difflib.get_close_matches(key, keys, n=1)
    if not near or near[0] in ("login", "logout"):
        shared.lenient = True


def _options(spec: OptionsSpec) -> plan.Options:
    start = spec.start if spec.start.tzinfo else spec.start.replace(tzinfo=datetime.UTC)
    return plan.Options(
        within=spec.within, strict=frozenset(spec.strict), seed=spec.seed, epoch=start.timestamp()
    )


def _world(path: Path, model: ScenarioFileBase, data: Any, problems: list[Problem]) -> World | None:
    if isinstance(model.world, World):
        return model.world
    assert isinstance(model.world, WorldFile)
    world_path = path.parent / model.world.file
    line, _kept = locate(data, ("world",))
    try:
        world_text = world_path.read_text("utf-8")
    except OSError as exc:
        problems.append(
            Problem(
                str(path), line, "world", f"cannot read the world file {world_path}: {exc.strerror}"
            )
        )
        return None
    world_data, found = parse_yaml(world_text, str(world_path))
    if not found:
        world, found = validate_yaml(World, world_data, str(world_path))
        if world is not None:
            return world
    problems.extend(found)
    return None


def _bot(
    spec: BotSpec, path: Path, directory: Directory, shared: _Shared, problems: list[Problem]
) -> plan.BotPlan | None:
    def problem(message: str, *loc: str) -> None:
        line, kept = locate(shared.data, ("bot", *loc))
        problems.append(Problem(str(path), line, format_loc(kept), message))

    party = directory.find(spec.account)
    if party is None:
        problem(f"no account {spec.account!r} in the world ({directory.known()})", "account")
        return None
    runner: plan.InProcessBot | plan.CommandBot | None = None
    if spec.python is not None:
        try:
            runner = plan.InProcessBot(
                target=spec.python,
                function=import_bot(spec.python, search=(path.parent, Path.cwd())),
            )
        except ScenarioError as exc:
            problem(str(exc), "python")
    elif spec.command is not None:
        runner = plan.CommandBot(argv=tuple(spec.command), cwd=path.parent, env=dict(spec.env))
    return plan.BotPlan(
        party=party,
        runner=runner,
        autostart=spec.autostart,
        announce=spec.announce,
        auto_receipt=spec.auto_receipt,
        auto_ack=spec.auto_ack,
        login_timeout=spec.login_timeout,
        where=plan.Where(path=str(path), line=locate(shared.data, ("bot",))[0], step="bot"),
    )


def import_bot(target: str, *, search: Sequence[Path] = ()) -> BotFunction:
    """The callable named ``package.module:attribute``, imported with ``search`` on the path.

    The directories are appended to ``sys.path`` (and stay there, so the bot can import
    its own modules later).

    Raises:
        ScenarioError: one sentence saying what could not be imported or found.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ScenarioError(f"a bot is named package.module:callable, not {target!r}")
    for directory in search:
        entry = str(Path(directory).resolve())
        if entry not in sys.path:
            sys.path.append(entry)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioError(f"cannot import the bot module {module_name!r}: {exc}") from None
    except Exception as exc:
        raise ScenarioError(
            f"importing the bot module {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from None
    found: object = module
    for part in attr.split("."):
        if not hasattr(found, part):
            raise ScenarioError(f"the bot module {module_name!r} has no {attr!r}")
        found = getattr(found, part)
    if not callable(found):
        raise ScenarioError(f"{target} is not callable")
    return cast("BotFunction", found)


def _where(shared: _Shared, index: int, *rest: int | str) -> plan.Where:
    line, kept = locate(shared.data, ("steps", index, *rest))
    return plan.Where(
        path=str(shared.path),
        line=line,
        step=format_loc(kept),
        source=_step_source(shared.lines, locate(shared.data, ("steps", index))[0]),
    )


def _step_source(lines: list[str], line: int | None) -> str:
    """The YAML of the sequence item starting at ``line``: the line and the ones indented more."""
    if line is None or not 0 < line <= len(lines):
        return ""
    first = lines[line - 1]
    column = len(first) - len(first.lstrip())
    out = [first[column:]]
    for text in lines[line:]:
        stripped = text.strip()
        indent = len(text) - len(text.lstrip())
        if stripped and indent <= column:
            break
        out.append(text[column:] if len(text) > column else "")
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


class Directory:
    """The world's accounts as steps name them.

    An account is named by its ``name`` in any case (``Alice`` -> ``alice``), its phone or
    its JID; the bot's account is also ``bot``. Names that are capture names are bound from
    the start to the JIDs (``{{alice}}``, ``{{bot}}``), as is ``{{server}}``.
    """

    def __init__(self, world: World, bot_ref: str | None) -> None:
        self.problems: list[tuple[str, tuple[int | str, ...]]] = []
        self._by_name: dict[str, plan.Party] = {}
        self._ambiguous: set[str] = set()
        bot_phone = self._bot_phone(world, bot_ref)
        parties = []
        for index, account in enumerate(world.accounts):
            name = account.name.casefold()
            is_bot = account.phone == bot_phone
            if name in RESERVED and not (is_bot and name == "bot"):
                self.problems.append(
                    (
                        f"the name {account.name!r} is reserved; rename the account",
                        ("world", "accounts", index, "name"),
                    )
                )
                name = ""
            label = "bot" if is_bot else (name or account.phone)
            party = plan.Party(
                label=label,
                phone=account.phone,
                jid=user_jid(account.phone),
                password=account.effective_password,
                name=account.name,
            )
            parties.append(party)
            for alias in {label, name} - {""}:
                if alias in self._by_name and self._by_name[alias] is not party:
                    self._ambiguous.add(alias)
                self._by_name.setdefault(alias, party)
        self.parties = tuple(parties)
        self.builtins: dict[str, str] = {"server": SERVER}
        for alias, party in self._by_name.items():
            if alias not in self._ambiguous and CAPTURE.fullmatch(f"{{{{{alias}}}}}"):
                self.builtins[alias] = party.jid

    @staticmethod
    def _bot_phone(world: World, ref: str | None) -> str | None:
        if ref is None:
            return None
        for account in world.accounts:
            if ref in (account.phone, user_jid(account.phone)) or (
                account.name and account.name.casefold() == ref.casefold()
            ):
                return account.phone
        return None

    def find(self, ref: str) -> plan.Party | None:
        """The account named ``ref`` (name in any case, phone or JID), if exactly one."""
        key = ref.casefold()
        if key in self._by_name and key not in self._ambiguous:
            return self._by_name[key]
        for party in self.parties:
            if ref in (party.phone, party.jid):
                return party
        return None

    def is_ambiguous(self, ref: str) -> bool:
        return ref.casefold() in self._ambiguous

    def known(self) -> str:
        names = [p.label for p in self.parties]
        return "accounts: " + (", ".join(names) if names else "none")


class Builder:
    """Checks the names, captures and patterns of one step and reports problems at their line.

    ``at(*keys)`` gives a builder for a part of the step (problems are located there).
    """

    def __init__(self, shared: _Shared, prefix: tuple[int | str, ...], where: plan.Where) -> None:
        self._s = shared
        self._prefix = prefix
        self.where = where

    def at(self, *rel: int | str) -> Builder:
        """A builder for a part of this step (``b.at("expect", 2)``)."""
        prefix = self._prefix + rel
        where = self.where
        if any(isinstance(part, int) for part in rel):  # a nested item: its own line and path
            line, kept = locate(self._s.data, prefix)
            where = plan.Where(
                path=where.path, line=line, step=format_loc(kept), source=where.source
            )
        return Builder(self._s, prefix, where)

    @property
    def options(self) -> plan.Options:
        return self._s.options

    def problem(self, message: str, *rel: int | str) -> None:
        """Report a problem at this step (or at a key under it)."""
        line, kept = locate(self._s.data, self._prefix + rel)
        self._s.problems.append(Problem(str(self._s.path), line, format_loc(kept), message))

    # ---------------------------------------------------------------- names

    def _unknown(self, ref: str, *rel: int | str) -> None:
        if self._s.directory.is_ambiguous(ref):
            self.problem(f"several accounts are named {ref!r}: name them by phone", *rel)
        else:
            self.problem(f"unknown user {ref!r} ({self._s.directory.known()})", *rel)

    def is_bot(self, ref: str) -> bool:
        bot = self._s.bot
        return ref.casefold() == "bot" or (
            bot is not None and self._s.directory.find(ref) == bot.party
        )

    def account(self, ref: str, *rel: int | str) -> plan.Party | None:
        """Any account of the world, the bot's included."""
        if ref.casefold() == "bot":
            if self._s.bot is None:
                self.problem("there is no bot in this scenario", *rel)
                return None
            return self._s.bot.party
        party = self._s.directory.find(ref)
        if party is None:
            self._unknown(ref, *rel)
        return party

    def user(self, ref: str, *rel: int | str, acting: bool = True) -> plan.Party | None:
        """A user that steps act as (not the bot); ``acting``: it must be logged in here."""
        if self.is_bot(ref):
            self.problem(
                "the bot is the account under test: steps act as users, not as the bot", *rel
            )
            return None
        party = self.account(ref, *rel)
        if party is None:
            return None
        if acting and party.label not in self._s.logged_in and not self._s.lenient:
            self.problem(
                f"{party.label} is not logged in at this step:"
                f" add `- login: {party.label}` before it",
                *rel,
            )
        return party

    def logged_in(self, party: plan.Party, state: bool, *rel: int | str) -> None:
        """Record a login (True) or logout (False) of ``party`` here."""
        now = party.label in self._s.logged_in
        if now == state and not self._s.lenient:
            self.problem(f"{party.label} is {'already' if state else 'not'} logged in here", *rel)
        if state:
            self._s.logged_in.add(party.label)
        else:
            self._s.logged_in.discard(party.label)

    def start_bot(self, *rel: int | str) -> plan.Step | None:
        if self._s.bot is None:
            self.problem("there is no bot in this scenario", *rel)
            return None
        if self._s.bot_running and not self._s.lenient:
            self.problem(
                "the bot is already running here"
                " (it starts by itself unless bot.autostart is false)",
                *rel,
            )
        self._s.bot_running = True
        return plan.StartBot(where=self.where)

    def stop_bot(self, *rel: int | str) -> plan.Step | None:
        if self._s.bot is None:
            self.problem("there is no bot in this scenario", *rel)
            return None
        if not self._s.bot_running and not self._s.lenient:
            self.problem("the bot is not running here", *rel)
        self._s.bot_running = False
        return plan.StopBot(where=self.where)

    def party(self, ref: str, *rel: int | str) -> str | None:
        """Who receives, in an expectation: a user's label, ``bot`` or ``server``."""
        key = ref.casefold()
        if key == "server" or self.is_bot(ref):
            if self._s.bot is None:
                self.problem("there is no bot in this scenario", *rel)
                return None
            return "server" if key == "server" else "bot"
        party = self.account(ref, *rel)
        return party.label if party is not None else None

    def peer(self, ref: str, *rel: int | str) -> str:
        """A destination in a sent stanza, as text for a node template."""
        if ref.casefold() == "server":
            return SERVER
        party = self._s.directory.find(ref) if ref.casefold() != "bot" else self.account(ref, *rel)
        if party is not None:
            return party.jid
        if ref.isdigit():
            return user_jid(ref)
        if "@" in ref or "{{" in ref:
            return self.text(ref, *rel)
        self._unknown(ref, *rel)
        return ref

    def jid_value(self, ref: str, *rel: int | str) -> Literal | Template | Regex:
        """A JID in a pattern: a name, phone or JID, or a ``{{capture}}`` / ``/regex/``."""
        if ref.startswith("/") or "{{" in ref or "@" in ref:
            return self.value(ref, *rel)
        if ref.casefold() == "server":
            return Literal(SERVER)
        party = self._s.directory.find(ref) if ref.casefold() != "bot" else self.account(ref, *rel)
        if party is not None:
            return Literal(party.jid)
        if ref.isdigit():
            return Literal(user_jid(ref))
        self._unknown(ref, *rel)
        return Literal(ref)

    # ---------------------------------------------------------------- values, captures, nodes

    def value(self, text: str, *rel: int | str, regex: bool = True) -> Literal | Template | Regex:
        """A value in a pattern: literal, template with captures, or ``/regex/``."""
        try:
            return compile_value(text, regex=regex)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return Literal(text)

    def _require_bound(self, names: Iterable[str], *rel: int | str) -> None:
        for name in sorted(set(names) - self._s.bound):
            self.problem(
                f"{{{{{name}}}}} is used before any step binds it (an expectation binds a capture"
                " the first time it matches)",
                *rel,
            )

    def text(self, text: str, *rel: int | str) -> str:
        """Text sent by a step: its captures must be bound by earlier steps."""
        try:
            template = compile_template(text)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return text
        self._require_bound(template.names(), *rel)
        return text

    def node(self, text: str, *rel: int | str) -> Node | None:
        """A node a step sends, in the tx/rx notation, with bound captures only."""
        try:
            node = parse_node_text(text)
            check_node_template(node)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            return None
        self._require_bound(node_names(node), *rel)
        return node

    def pattern(self, text: str, *rel: int | str, exact: bool = False) -> Pattern | None:
        """A node pattern (expectations, iq results): captures bind on first use."""
        try:
            return compile_node(text, exact=exact)
        except PatternError as exc:
            self.problem(str(exc), *rel)
            # Whatever it meant to bind counts as bound: one mistake, one report.
            self.bind(CAPTURE.findall(text) + _NAMED_GROUP.findall(text))
            return None

    def bind(self, names: Iterable[str]) -> None:
        """From the next step on, these captures are bound."""
        self._s.bound.update(names)

    def expectation(self, spec: ExpectationBase) -> plan.Expectation | None:
        """The plan of an expectation mapping (``to``, one kind, ``within``...)."""
        before = len(self._s.problems)
        party = self.party(spec.to, "to")
        key, matcher = spec.chosen()
        if spec.exact and key != "node":
            self.problem("exact applies to node patterns only", "exact")
        pattern = matcher.pattern(self.at(key), exact=spec.exact)  # type: ignore[attr-defined]
        if party is None or pattern is None or len(self._s.problems) > before:
            return None
        return plan.Expectation(
            where=self.where,
            party=party,
            pattern=pattern,
            within=spec.within,
            optional=spec.optional,
            label=f"a <{pattern.tag}>",
        )
