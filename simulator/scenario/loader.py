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

A world that fails stage 2 or 3 (a phone listed twice, a bad account, a group naming
no one) is reported, and the steps are checked against what can be kept of it
(:func:`recover_world`), so one pass lists every mistake of the file.

A step that fails stage 2 is skipped in stage 4, but so that one mistake does not cascade
into many reports, the captures written in it count as bound, and if it may have been a
login or logout (its key is, or is closest to, one of those), who is logged in is no
longer checked.
"""

from __future__ import annotations

import datetime
import difflib
import importlib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeGuard

from pydantic import TypeAdapter, ValidationError

from simulator.errors import ScenarioError, ScenarioSyntaxError
from simulator.scenario import plan
from simulator.scenario.builder import NAMED_GROUP, Builder, Directory, Shared
from simulator.scenario.document import STEP_KEYS, ScenarioFile, StepItem
from simulator.scenario.match import CAPTURE
from simulator.scenario.model import BotSpec, OptionsSpec, ScenarioHead, StepWrapper, WorldFile
from simulator.scenario.paths import collect_paths
from simulator.world import AccountSpec, World, WorldProblem, world_problems
from simulator.yamlfile import Problem, format_loc, locate, parse_yaml, plain, validate_yaml

if TYPE_CHECKING:
    from simulator.scenario.plan import BotFunction

__all__ = [
    "Builder",
    "check_file",
    "collect_paths",
    "import_bot",
    "load_scenario",
    "validate_files",
]

_STEP: Final[TypeAdapter[StepWrapper]] = TypeAdapter(StepItem, config={"defer_build": True})
"""Validates one ``steps`` item (a file that failed as a whole is checked step by step;
built then, not at import)."""


# -------------------------------------------------------------------- files


def load_scenario(path: Path | str) -> plan.Scenario:
    """Load and check a scenario file.

    Raises:
        ScenarioSyntaxError: the file has problems; ``problems`` lists every one as
            ``file:line: at steps[3].expect.message.body: <message>``.
    """
    scenario, problems = check_file(path)
    if scenario is None or problems:
        raise ScenarioSyntaxError([str(p) for p in problems])
    return scenario


def validate_files(paths: Iterable[Path | str]) -> list[Problem]:
    """Every problem in the scenario files named by ``paths`` (files or directories)."""
    problems: list[Problem] = []
    for path in collect_paths(paths):
        problems.extend(check_file(path)[1])
    return problems


def check_file(path: Path | str) -> tuple[plan.Scenario | None, list[Problem]]:
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
    model, problems = validate_yaml(ScenarioFile, data, shown, context={"path": shown})
    if model is None:
        return _check_partially(path, text, data, problems)
    scenario, problems = _build(path, text, data, model, model.steps, problems)
    return scenario, _in_order(path, problems)


def _in_order(path: Path, problems: list[Problem]) -> list[Problem]:
    """The file's own problems by line, then those of its world file (stable)."""
    return sorted(problems, key=lambda p: (p.path != str(path), p.path, p.line or 0))


def _check_partially(
    path: Path, text: str, data: object, problems: list[Problem]
) -> tuple[None, list[Problem]]:
    """The file model failed: still check, step by step, what validated.

    Names need the world and the bot; without them (or without a list of steps) there is
    nothing more to check. Broken options fall back to the defaults.
    """
    top_broken = {p.at.split(".")[0].split("[")[0] for p in problems}
    if top_broken & {"bot", ""} or not isinstance(data, dict):
        return None, problems
    steps = data.get("steps")
    if not isinstance(steps, list):
        return None, problems
    top = {k: v for k, v in plain(data).items() if k in ("world", "bot")}
    world_checked = "world" in top_broken
    if world_checked:
        # The world's own problems are reported; check the steps against what is left.
        recovered, twice = recover_world(top.get("world"), path)
        if recovered is None:
            return None, problems
        top["world"] = recovered
        problems = _new_problems(problems, data, path, twice, ("world",))
    try:
        head = ScenarioHead.model_validate({**top, "name": "-"}, context={"path": str(path)})
    except ValidationError:  # pragma: no cover - world and bot validated above
        return None, problems
    good: list[StepWrapper | None] = []
    for item in steps:
        try:
            good.append(_STEP.validate_python(plain(item)))
        except ValidationError:
            good.append(None)
    _scenario, more = _build(path, text, data, head, good, [], world_checked=world_checked)
    return None, _in_order(path, [*problems, *more])


# -------------------------------------------------------------------- building the plan


def _build(
    path: Path,
    text: str,
    data: object,
    model: ScenarioHead,
    wrappers: Sequence[StepWrapper | None],
    problems: list[Problem],
    *,
    world_checked: bool = False,
) -> tuple[plan.Scenario | None, list[Problem]]:
    """The plan of a file whose head validated (``wrappers``: its steps, None for one
    that did not validate)."""
    world = _world(path, model, data, problems, checked=world_checked)
    if world is None:
        return None, problems
    directory = Directory(world, model.bot.account if model.bot else None)
    shared = Shared(path, data, text.splitlines(), directory, None, _options(model.options))
    for message, loc in directory.problems:
        line, kept = locate(data, loc)
        problems.append(Problem(str(path), line, format_loc(kept), message))
    if model.bot is not None:
        shared.bot = _bot(model.bot, path, directory, shared, problems)
        shared.bot_running = model.bot.autostart
    shared.bound = set(directory.builtins)
    shared.registered = {p.label for p in directory.parties} - directory.unregistered
    steps: list[plan.Step] = []
    for index, wrapper in enumerate(wrappers):
        if wrapper is None:
            _skip_broken(shared, index, STEP_KEYS)
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


def _skip_broken(shared: Shared, index: int, keys: Sequence[str]) -> None:
    """A step that failed validation: what it would have bound counts as bound, and if it
    may have been a login or logout, who is logged in is no longer known."""
    source = _step_source(shared.lines, locate(shared.data, ("steps", index))[0])
    shared.bound.update(CAPTURE.findall(source) + NAMED_GROUP.findall(source))
    steps = shared.data.get("steps") if isinstance(shared.data, dict) else None
    raw = steps[index] if isinstance(steps, list) and index < len(steps) else None
    key = str(next(iter(raw))) if isinstance(raw, dict) and raw else ""
    near = [key] if key in keys else difflib.get_close_matches(key, keys, n=1)
    if not near or near[0] in ("login", "logout"):
        shared.lenient = True


def _options(spec: OptionsSpec) -> plan.Options:
    start = spec.start if spec.start.tzinfo else spec.start.replace(tzinfo=datetime.UTC)
    return plan.Options(
        within=spec.within, strict=frozenset(spec.strict), seed=spec.seed, epoch=start.timestamp()
    )


def _world(
    path: Path, model: ScenarioHead, data: object, problems: list[Problem], *, checked: bool
) -> World | None:
    if isinstance(model.world, World):
        # With problems in the world, the steps are still checked (nothing runs). A world
        # recovered from a failed validation (``checked``) reports its own consistency
        # problems except those its schema problems already located.
        if checked:
            problems[:] = _new_problems(problems, data, path, model.world.problems(), ("world",))
        else:
            problems.extend(world_problems(model.world, data, str(path), ("world",)))
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
        world, found = validate_yaml(
            World, world_data, str(world_path), context={"path": str(world_path)}
        )
        if world is not None:
            problems.extend(world_problems(world, world_data, str(world_path)))
            return world
        problems.extend(found)
        # Check the steps against what is left of the world (nothing will run).
        recovered, twice = recover_world(plain(world_data), world_path)
        checks = [*twice, *(recovered.problems() if recovered is not None else [])]
        problems.extend(_new_problems(found, world_data, world_path, checks)[len(found) :])
        return recovered
    problems.extend(found)
    return None


def _new_problems(
    problems: list[Problem],
    data: object,
    path: Path,
    more: Sequence[WorldProblem],
    prefix: tuple[int | str, ...] = (),
) -> list[Problem]:
    """``problems`` and those of ``more`` (located in ``data``) not already there."""
    out = list(problems)
    seen = {(p.line, p.at, p.message) for p in problems}
    for message, loc in more:
        line, kept = locate(data, (*prefix, *loc))
        problem = Problem(str(path), line, format_loc(kept), message)
        if (problem.line, problem.at, problem.message) not in seen:
            seen.add((problem.line, problem.at, problem.message))
            out.append(problem)
    return out


def recover_world(raw: object, path: Path) -> tuple[World | None, list[WorldProblem]]:
    """What can be kept of a world that failed validation, to check the steps against it.

    Accounts that fail keep their name (with a made-up phone), a phone listed twice gets a
    made-up one, and each other table is kept only if it validates with these accounts,
    so that one mistake in the world does not hide the steps' mistakes, nor turn every
    step naming that account into another report. Also returns the phones listed twice
    (a check the failed validation may not have reached).
    """
    if not isinstance(raw, dict):
        return None, []
    context = {"path": str(path)}
    accounts: list[dict[str, object]] = []
    phones: set[str] = set()
    twice: list[WorldProblem] = []
    items = raw.get("accounts")
    for index, item in enumerate(items if isinstance(items, list) else []):
        try:
            account: dict[str, object] = AccountSpec.model_validate(
                item, context=context
            ).model_dump()
            phone = str(account["phone"])
        except ValidationError:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            account, phone = {"name": name}, ""
        if phone in phones:
            twice.append((f"phone {phone} is listed twice", ("accounts",)))
        if phone in phones or not phone:
            phone = f"{99_000_000_000 + index}"
        account["phone"] = phone
        phones.add(phone)
        accounts.append(account)
    kept: dict[str, object] = {"accounts": accounts}
    for key, value in raw.items():
        if key == "accounts":
            continue
        try:
            World.model_validate({"accounts": accounts, key: value}, context=context)
        except ValidationError:
            continue
        kept[key] = value
    try:
        return World.model_validate(kept, context=context), twice
    except ValidationError:
        return None, twice


def _bot(
    spec: BotSpec, path: Path, directory: Directory, shared: Shared, problems: list[Problem]
) -> plan.BotPlan | None:
    def problem(message: str, *loc: str) -> None:
        line, kept = locate(shared.data, ("bot", *loc))
        problems.append(Problem(str(path), line, format_loc(kept), message))

    party = directory.find(spec.account)
    if party is None:
        problem(f"no account {spec.account!r} in the world ({directory.known()})", "account")
        return None
    if party.label in directory.unregistered:
        problem("the bot's account must be registered (not registered: false)", "account")
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
    if module_name not in sys.modules:  # a module imported before is not looked for again
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
    if not _is_bot(found):
        raise ScenarioError(f"{target} is not callable")
    return found


def _is_bot(found: object) -> TypeGuard[BotFunction]:
    """A bot is anything callable: its parameter (a client, or ``connect``) is told apart
    and called when it runs."""
    return callable(found)


def _where(shared: Shared, index: int, *rest: int | str) -> plan.Where:
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
