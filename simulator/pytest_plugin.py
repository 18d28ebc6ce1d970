"""The simulator's pytest plugin: scenario files as test items, and fixtures for Python tests.

Registered through the ``pytest11`` entry point, so ``pip install simulator`` enables it.

Theory of operation
-------------------
*Configuration.* Nothing is collected unless configured: YAML files are everywhere in a
repository, and only the ones named by the ``simulator_scenarios`` ini option (paths or
globs relative to the rootdir) or by ``--simulator-scenarios PATH`` (relative to the
current directory) are scenarios. :func:`pytest_configure` expands them once, with the
same rule as ``simulator run`` (a directory means every ``*.yaml``/``*.yml`` under it but
``*.world.yaml``), checks the bot options, and keeps the result in
``config.stash[SETTINGS]``: there are no module globals, so in-process pytester runs and
xdist workers each have their own. Bad configuration raises :class:`pytest.UsageError`.

*What runs.* pytest collects what its arguments (or ``testpaths``) reach, so the plugin
adds scenario paths to ``config.args`` in two cases: a bare ``pytest`` (arguments from
``testpaths`` or the rootdir) also runs the ``simulator_scenarios`` not already under
them, and ``--simulator-scenarios PATH`` runs PATH, together with the paths given on the
command line, or alone if there are none. ``pytest tests/unit`` runs no scenarios. Every
xdist worker decides this from the same command line, so all collect the same items.

*Collection.* :func:`pytest_collect_file` turns a configured file into a
:class:`ScenarioFile`; its ``collect`` yields one :class:`ScenarioItem` named after the
scenario. The name is read from the file's first lines without loading it
(:func:`~simulator.scenario.heading.read_name`): every xdist worker collects every file,
and loading and checking them all (YAML, model, world, bot import, every step) there
made each worker repeat the whole suite's checks. The item loads and checks its file
when it runs, in the one worker that runs it; a file with problems fails its item, the
report listing every problem as ``file:line: at steps[3]...: ...`` (without a
traceback), and the other scenarios still run. A file whose name cannot be read that way
(broken YAML before it, no name, a name that is not plain text) is loaded at collection:
its problems are a ``CollectError`` (then, like ``simulator run``, pytest runs nothing).

*Running.* :meth:`ScenarioItem.runtest` runs the scenario in its own ``trio.run``
(:func:`~simulator.scenario.run_scenario_sync`: an autojump ``MockClock`` for an in-process
bot, the real clock for a command), so an item needs neither pytest-trio nor anything
shared with other items, and runs the same under xdist. A failed run raises
:class:`~simulator.errors.StepFailed` carrying the runner's report, which
:meth:`ScenarioItem.repr_failure` shows as it is (step, expected next to the nearest
candidate, transcript), without a Python traceback; any other exception is a bug and keeps
its traceback. ``--simulator-bot``/``--simulator-bot-command`` (or the ini options of the
same names) replace the files' bots, as ``simulator run --bot`` does.

*Fixtures.* ``simulator_server``, ``simulator_user`` and ``simulator_bot`` are trio
fixtures: they need pytest-trio and a trio test (``trio_mode = true`` or
``@pytest.mark.trio``), which is checked at collection (a ``UsageError`` naming the tests)
rather than failing later in pytest-trio's internals. Resources that outlive a call
(``simulator_user.login``, the bot) run in pytest-trio's per-fixture ``nursery``, which is
cancelled after the test and before the server fixture tears down. Time is whatever clock
the test asks pytest-trio for: request ``autojump_clock`` for virtual time. The server's
clock reads ``simulator_config.epoch`` (2015-01-01T00:00:00Z) when the fixture starts, and
its ids come from ``simulator_config.seed``.

Every test using these fixtures, and every scenario item, gets the ``simulator`` marker
(``-m simulator`` / ``-m "not simulator"``).

*Garbage collection.* After each scenario file is collected, what collection made so far
(the items, and the plans of files loaded at collection) is frozen (``gc.freeze``) until
the session ends, so that the collector does not scan it again and again (see
:func:`_freeze_collected`).

*Imports.* pytest imports this module in every session of every project that has the
simulator installed, so it imports only pytest and the standard library at the top; the
scenario engine, trio and the server load when something is configured or used.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import glob
import shlex
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import pytest

from simulator.records import record

if TYPE_CHECKING:
    import trio
    from _pytest._code.code import TerminalRepr

    from simulator.explore import Exploration
    from simulator.scenario import CommandBot, InProcessBot, Scenario
    from simulator.scenario.plan import BotFunction
    from simulator.server import Server, ServerConfig
    from simulator.testing import AccountSpec, RunningBot, Users, World

__all__ = [
    "SETTINGS",
    "ScenarioFile",
    "ScenarioItem",
    "Settings",
    "simulator_bot",
    "simulator_bot_account",
    "simulator_bot_callable",
    "simulator_config",
    "simulator_server",
    "simulator_user",
    "simulator_world",
]

MARKER: Final = (
    "simulator: drives the simulator's fake WhatsApp service (added to scenario files and"
    " to tests using the simulator_* fixtures)"
)
TRIO_FIXTURES: Final = frozenset({"simulator_server", "simulator_user", "simulator_bot"})
"""Fixtures that only work in a trio test (pytest-trio)."""
_GLOB_CHARS: Final = frozenset("*?[")


@final
@record(kw_only=True)
class Settings:
    """This session's configuration, in ``config.stash[SETTINGS]``."""

    files: frozenset[Path]
    """Every configured scenario file, resolved."""
    bot: InProcessBot | CommandBot | None
    """Replaces the files' bots (``--simulator-bot`` / ``--simulator-bot-command``)."""
    bot_source: str
    """Which option set ``bot`` (for messages)."""
    time_scale: float
    yield_limit: float = 10.0
    """Wall seconds an in-process bot may hold the event loop (``--simulator-yield-limit``)."""

    def is_scenario(self, path: Path) -> bool:
        return bool(self.files) and path.resolve() in self.files


SETTINGS: Final = pytest.StashKey[Settings]()


# -------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simulator", "simulator (the fake WhatsApp service)")
    group.addoption(
        "--simulator-scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="run the scenario files under PATH (a file, a directory or a glob); repeatable",
    )
    group.addoption(
        "--simulator-bot",
        metavar="MOD:CALLABLE",
        help="the bot under test, in-process: replaces the scenario files' bots and is what"
        " the simulator_bot fixture runs",
    )
    group.addoption(
        "--simulator-bot-command",
        metavar="CMD",
        help="the bot under test as a program connecting over TCP (SIM_HOST, SIM_PORT,"
        " SIM_PHONE, SIM_PASSWORD): replaces the scenario files' bots",
    )
    group.addoption(
        "--simulator-time-scale",
        type=float,
        metavar="F",
        help="multiply the waits and timeouts of scenarios with a command bot (real time)",
    )
    group.addoption(
        "--simulator-yield-limit",
        type=float,
        metavar="S",
        help="fail a scenario when its in-process bot holds the event loop (never awaits)"
        " for S seconds of wall time (default 10)",
    )
    parser.addini(
        "simulator_scenarios",
        "scenario files, directories or globs, relative to the rootdir (default: none)",
        type="args",
        default=[],
    )
    parser.addini("simulator_bot", "the bot under test, in-process: package.module:callable")
    parser.addini("simulator_bot_command", "the bot under test as a program (see --help)")
    parser.addini("simulator_time_scale", "like --simulator-time-scale", default="1")
    parser.addini("simulator_yield_limit", "like --simulator-yield-limit", default="10")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    ini_paths = _expand(
        config.getini("simulator_scenarios"), config.rootpath, "simulator_scenarios"
    )
    cli_paths = _expand(
        config.getoption("simulator_scenarios"),
        config.invocation_params.dir,
        "--simulator-scenarios",
    )
    bot, source = _bot_override(config)
    config.stash[SETTINGS] = Settings(
        files=_scenario_files([*ini_paths, *cli_paths]),
        bot=bot,
        bot_source=source,
        time_scale=_positive(config, "simulator_time_scale"),
        yield_limit=_positive(config, "simulator_yield_limit"),
    )
    _add_collection_args(config, ini_paths, cli_paths)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None or not (settings.files or settings.bot):
        return None
    parts = []
    if settings.files:
        count = len(settings.files)
        parts.append(f"{count} scenario file{'s' if count != 1 else ''}")
    if settings.bot is not None:
        parts.append(f"bot under test from {settings.bot_source}")
    return f"simulator: {', '.join(parts)}"


def _expand(patterns: Sequence[str], base: Path, option: str) -> list[Path]:
    """The paths ``patterns`` name, relative to ``base``, globs expanded; all must exist."""
    paths: list[Path] = []
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            found = sorted(glob.glob(pattern, root_dir=base, recursive=True))
            if not found:
                raise pytest.UsageError(f"{option}: {pattern!r} matches nothing in {base}")
            paths.extend(base / match for match in found)
        else:
            path = base / pattern
            if not path.exists():
                raise pytest.UsageError(f"{option}: {path}: no such file or directory")
            paths.append(path)
    return paths


def _scenario_files(paths: Sequence[Path]) -> frozenset[Path]:
    if not paths:
        return frozenset()
    from simulator.scenario.paths import collect_paths

    return frozenset(path.resolve() for path in collect_paths(paths))


def _add_collection_args(
    config: pytest.Config, ini_paths: Sequence[Path], cli_paths: Sequence[Path]
) -> None:
    """Make pytest reach the scenarios it should run (see the module docstring)."""
    source = config.args_source
    default_args = source is pytest.Config.ArgsSource.TESTPATHS or (
        source is pytest.Config.ArgsSource.INVOCATION_DIR
        and config.invocation_params.dir == config.rootpath
    )
    if cli_paths and source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
        extra: Sequence[Path] = cli_paths
    elif cli_paths:
        extra = cli_paths
    elif default_args:
        extra = ini_paths
    else:
        return
    base = config.invocation_params.dir
    for path in extra:
        if not _reached(path, config.args, base):
            config.args.append(_shown(path, base))


def _reached(path: Path, args: Iterable[str], base: Path) -> bool:
    """Whether collecting ``args`` already visits ``path``."""
    target = path.resolve()
    for arg in args:
        # A node id (``file.py::test``) reaches only its own tests.
        if "::" in arg:
            continue
        root = (base / arg).resolve()
        if target == root or root in target.parents:
            return True
    return False


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _bot_override(config: pytest.Config) -> tuple[InProcessBot | CommandBot | None, str]:
    """The bot replacing the files' bots: the command line first, then the ini file."""
    target: str | None = config.getoption("simulator_bot")
    command: str | None = config.getoption("simulator_bot_command")
    if target and command:
        raise pytest.UsageError("--simulator-bot and --simulator-bot-command exclude each other")
    if target:
        return _import_bot(config, target, "--simulator-bot"), "--simulator-bot"
    if command:
        return _command_bot(command, "--simulator-bot-command"), "--simulator-bot-command"
    target = str(config.getini("simulator_bot")).strip()
    command = str(config.getini("simulator_bot_command")).strip()
    if target and command:
        raise pytest.UsageError(
            "the ini options simulator_bot and simulator_bot_command exclude each other"
        )
    if target:
        return _import_bot(config, target, "simulator_bot"), "simulator_bot (ini)"
    if command:
        return _command_bot(command, "simulator_bot_command"), "simulator_bot_command (ini)"
    return None, ""


def _import_bot(config: pytest.Config, target: str, option: str) -> InProcessBot:
    from simulator.errors import ScenarioError
    from simulator.scenario import InProcessBot, import_bot

    search = (config.invocation_params.dir, config.rootpath)
    try:
        return InProcessBot(target=target, function=import_bot(target, search=search))
    except ScenarioError as exc:
        raise pytest.UsageError(f"{option}: {exc}") from None


def _command_bot(command: str, option: str) -> CommandBot:
    from simulator.scenario import CommandBot

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise pytest.UsageError(f"{option}: {exc}") from None
    if not argv:
        raise pytest.UsageError(f"{option} is empty")
    return CommandBot(argv=tuple(argv))


def _positive(config: pytest.Config, name: str) -> float:
    """The number option ``name`` (``--simulator-...`` or the ini option) names."""
    value: float | None = config.getoption(name)
    option = "--" + name.replace("_", "-")
    if value is None:
        option = name
        try:
            value = float(str(config.getini(name)))
        except ValueError:
            raise pytest.UsageError(f"{option} must be a number") from None
    if not value > 0:
        raise pytest.UsageError(f"{option} must be more than 0, not {value}")
    return value


# -------------------------------------------------------------------- scenario files


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    settings = parent.config.stash.get(SETTINGS, None)
    if settings is None or not settings.is_scenario(file_path):
        return None
    file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return file


@final
class ScenarioFile(pytest.File):
    """A scenario file: one :class:`ScenarioItem`, or a collection error with every problem."""

    def collect(self) -> Iterator[ScenarioItem]:
        from simulator.scenario.heading import read_name

        shown = _relative(self.path, self.config.invocation_params.dir)
        try:
            named = read_name(self.path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            named = None  # the loader says why
        if named is not None:
            _freeze_collected(self.config)
            name, line = named
            yield ScenarioItem.from_parent(self, name=name, line=line, shown=shown)
            return
        from simulator.scenario import check_file

        scenario, problems = check_file(shown)
        _freeze_collected(self.config)
        if problems or scenario is None:
            raise self.CollectError(_problems_text(problems))
        yield ScenarioItem.from_parent(
            self, name=scenario.name, line=scenario.line, shown=shown, scenario=scenario
        )


def _problems_text(problems: Sequence[object]) -> str:
    count = len(problems)
    heading = f"{count} problem{'s' if count != 1 else ''} in this scenario file:"
    return "\n".join([heading, *(str(p) for p in problems)])


class _FileProblems(Exception):
    """The file of a scenario item has problems (found when the item runs)."""


@final
class ScenarioItem(pytest.Item):
    """One scenario, run against a fresh server in its own ``trio.run``.

    Collected from the scenario's name alone (:mod:`simulator.scenario.heading`), the file
    is loaded and checked when the item runs; problems fail the item with every one
    listed. ``scenario`` is the plan when collection had to load the file.
    """

    def __init__(
        self, *, line: int | None, shown: Path, scenario: Scenario | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.line = line
        self.shown = shown
        self.scenario = scenario
        self.add_marker("simulator")
        # pytest-trio 0.8's trio mode reads ``item.obj`` of every item and crashes without
        # one (python-trio/pytest-trio#132, fixed after 0.8.0). A sync callable is never
        # taken for a trio test.
        self.obj = self.runtest

    def runtest(self) -> None:
        from simulator.errors import StepFailed
        from simulator.scenario import run_scenario_sync

        scenario = self.scenario
        if scenario is None:
            from simulator.scenario import check_file

            # Loaded where pytest started, as collection would have: the reports' paths
            # are relative to it and the bot module is looked for there too, even if a
            # test left the process in another directory.
            with contextlib.chdir(self.config.invocation_params.dir):
                scenario, problems = check_file(self.shown)
            if problems or scenario is None:
                raise _FileProblems(_problems_text(problems))
        settings = self.config.stash[SETTINGS]
        result = run_scenario_sync(
            scenario,
            bot_override=settings.bot,
            time_scale=settings.time_scale,
            yield_limit=settings.yield_limit,
        )
        self.user_properties.append(("virtual_seconds", round(result.virtual_seconds, 3)))
        if result.bot_output:
            self.add_report_section("call", "bot output", result.bot_output)
        if not result.passed:
            raise StepFailed(result.report)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        from simulator.errors import StepFailed

        if isinstance(excinfo.value, StepFailed):
            # The report's own "FAILED " says what pytest's heading and summary already
            # say; without it the first line (the summary's message) is file:line: why.
            return str(excinfo.value).removeprefix("FAILED ")
        if isinstance(excinfo.value, _FileProblems):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.line - 1 if self.line is not None else None
        return self.path, line, f"scenario: {self.name}"


_FROZEN: Final = pytest.StashKey[bool]()


def _freeze_collected(config: pytest.Config) -> None:
    """Move what collection made so far out of the garbage collector's sight.

    The items (and the plans of the files loaded at collection) live until the session
    ends; left in the collector's generations, every full collection scans them all
    again, more often the more files there are (a fifth of the CPU of collecting 1,000
    files when collection loaded every file). Frozen objects are still freed when nothing
    refers to them; only reference cycles among them wait for
    :func:`pytest_sessionfinish`, which unfreezes.
    """
    gc.freeze()
    config.stash[_FROZEN] = True


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.stash.get(_FROZEN, False):
        gc.freeze()  # the last file's item and the session's list of items too


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.stash.get(_FROZEN, False):
        session.config.stash[_FROZEN] = False
        gc.unfreeze()


def _relative(path: Path, base: Path) -> Path:
    """``path`` as reports should show it: relative to ``base`` when it is under it."""
    try:
        return path.relative_to(base)
    except ValueError:
        return path


# -------------------------------------------------------------------- marking and checks


def pytest_itemcollected(item: pytest.Item) -> None:
    if TRIO_FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker("simulator")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse trio fixtures in tests pytest-trio does not run (after its trio mode marked them)."""
    misused = [
        item.nodeid
        for item in items
        if TRIO_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("trio") is None
    ]
    if not misused:
        return
    fixtures = ", ".join(sorted(TRIO_FIXTURES))
    if not config.pluginmanager.hasplugin("trio"):
        fix = "install pytest-trio (pip install pytest-trio) and make the tests trio tests"
    else:
        fix = (
            "make them async and mark them @pytest.mark.trio, or set trio_mode = true"
            " in the pytest configuration"
        )
    listing = "\n".join(f"  {nodeid}" for nodeid in misused)
    raise pytest.UsageError(
        f"the simulator's fixtures ({fixtures}) are trio fixtures; these tests are not"
        f" trio tests:\n{listing}\n{fix}"
    )


# -------------------------------------------------------------------- fixtures


@pytest.fixture
def simulator_world() -> World:
    """The accounts the ``simulator_server`` serves; override it to serve your own.

    Default: Alice (491110000001), Bob (491110000002), Carol (491110000003) and Bot
    (491119999999), passwords derived from the phones.
    """
    from simulator.testing import DEFAULT_WORLD

    return DEFAULT_WORLD


@pytest.fixture
def simulator_config() -> ServerConfig:
    """The server's settings: ``epoch`` (its time when the fixture starts) and ``seed``."""
    from simulator.server import DEFAULT_EPOCH, ServerConfig

    return ServerConfig(epoch=DEFAULT_EPOCH, seed=0)


@pytest.fixture
async def simulator_server(
    simulator_world: World, simulator_config: ServerConfig
) -> AsyncIterator[Server]:
    """A fresh in-process server holding ``simulator_world`` (a trio fixture).

    trio's scheduler is seeded from ``simulator_config.seed`` first (when set), as the scenario
    runner does: two parties ready at the same instant take their turns in the same
    order in every run of the test (in-process stanzas run in the sender's task).
    """
    from simulator.testing import open_world_server
    from simulator.trio_scheduler import seed_scheduler

    if simulator_config.seed is not None:  # None: ids unpredictable, scheduling too
        seed_scheduler(simulator_config.seed)
    async with open_world_server(simulator_world, config=simulator_config) as server:
        yield server


@pytest.fixture
def simulator_user(
    simulator_server: Server, simulator_world: World, nursery: trio.Nursery
) -> Users:
    """Log users of the world in: ``async with simulator_user("alice") as alice:``.

    ``await simulator_user.login("bob")`` keeps the client until the test ends;
    ``simulator_user.jid("bob")`` is Bob's JID. Users are named by name, phone or JID.
    """
    from simulator.testing import Users

    return Users(simulator_server, simulator_world, nursery)


@pytest.fixture
def simulator_bot_account() -> str:
    """The account the bot under test logs in as (a name, phone or JID of the world)."""
    return "bot"


@pytest.fixture
def simulator_bot_callable(pytestconfig: pytest.Config) -> BotFunction:
    """The bot under test, ``async def bot(client)``: ``--simulator-bot`` / ``simulator_bot``.

    Override this fixture to test a bot in Python without configuring it.
    """
    __tracebackhide__ = True
    from simulator.scenario import InProcessBot

    settings = pytestconfig.stash[SETTINGS]
    if isinstance(settings.bot, InProcessBot):
        return settings.bot.function
    if settings.bot is not None:
        raise pytest.UsageError(
            f"the simulator_bot fixture runs in-process bots only; {settings.bot_source} names"
            " a program (it replaces the bots of scenario files): give --simulator-bot"
            " MOD:CALLABLE or override the simulator_bot_callable fixture"
        )
    raise pytest.UsageError(
        'the simulator_bot fixture has no bot to run: set simulator_bot = "package.module:run"'
        " in the pytest configuration, pass --simulator-bot, or override the"
        " simulator_bot_callable fixture"
    )


@pytest.fixture
def _simulator_bot_spec(simulator_world: World, simulator_bot_account: str) -> AccountSpec:
    """The bot's account, looked up before the trio run (so a wrong name is a plain error)."""
    __tracebackhide__ = True
    from simulator.testing import find_account

    try:
        return find_account(simulator_world, simulator_bot_account)
    except LookupError as exc:
        raise pytest.UsageError(f"simulator_bot_account: {exc}") from None


@pytest.fixture
async def simulator_bot(
    simulator_server: Server,
    _simulator_bot_spec: AccountSpec,
    simulator_bot_callable: BotFunction,
    nursery: trio.Nursery,
) -> RunningBot:
    """The bot under test, logged in and running in the test's nursery (a trio fixture).

    Its value is a :class:`~simulator.testing.RunningBot` (``jid``, ``phone``, ``name``,
    ``client``). The bot runs until it returns or the test ends; an exception from the bot
    fails the test.
    """
    from simulator.testing import start_bot

    return await start_bot(nursery, simulator_server, _simulator_bot_spec, simulator_bot_callable)


@pytest.fixture
def simulator_explore(tmp_path: Path) -> Callable[..., Exploration]:
    """Explore a bot from a (sync) test: ``found = simulator_explore("bots.echo:run")``,
    then ``assert found.passed, found.summary()``. Takes the arguments of
    :func:`simulator.explore.explore_bot`; the shrunk scenario goes under ``tmp_path``
    unless ``out`` is given. Needs Hypothesis (the ``explore`` extra)."""
    from simulator.explore import explore_bot

    return functools.partial(explore_bot, out=tmp_path / "explore")
