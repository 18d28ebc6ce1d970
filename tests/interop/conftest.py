"""What the interop tests share: the yowsup versions, driver and server subprocesses.

* :data:`CLIENTS` and the ``yowsup`` fixture: one test per line of ``clients.txt``. A
  version whose ``.interop/<name>`` folder is missing FAILS (run ``python3 dev.py setup``);
  a version this file has no :class:`Behaviour` for fails too, so nobody adds a client
  without writing down what it is expected to do.
* :func:`run_driver`: a ``drivers/*.py`` subprocess (``HOME``, ``PYTHONPATH``, ``SIM_*``,
  no proxies) as a :class:`Driver`, which reads its JSON-lines events on demand
  (:meth:`Driver.wait_event`). The process is killed when the block ends, whatever happens.
* :func:`simulator_serve`: ``python -m simulator serve --port 0`` as a subprocess, with the
  port it printed; :meth:`Serve.stop` sends SIGTERM and returns the exit code.
* ``server`` / ``server_port``: an in-process server listening on 127.0.0.1, whose
  ``state`` the tests inspect; :func:`wait_until` waits for the state to settle.

Every wait is bounded by :data:`TIMEOUT` and raises an ``AssertionError`` that carries the
driver's events so far and its stderr; nothing sleeps.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import pytest
import trio
import trio.testing

from simulator.jid import user_jid
from simulator.server import Server, open_server
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Mapping

    from simulator.wire.node import Node

ROOT: Final = Path(__file__).resolve().parents[2]
INTEROP: Final = ROOT / ".interop"
DRIVERS: Final = Path(__file__).resolve().parent / "drivers"
CLIENTS_TXT: Final = Path(__file__).resolve().parent / "clients.txt"

TIMEOUT: Final = 30.0
"""Upper bound of every single wait (seconds); a passing wait takes milliseconds, but a
yowsup process starting (protobuf, axolotl) on a machine busy with the rest of the suite
has been seen to need more than 10 s."""

PASSWORD: Final = "AQIDBAUGBwgJCgsMDQ4PEBESExQ="
WRONG_PASSWORD: Final = "FBMSERAPDg0MCwoJCAcGBQQDAgE="
USER_PHONE: Final = "491110000001"
USER_NAME: Final = "Alice"
USER_JID: Final = user_jid(USER_PHONE)
BOT_PHONE: Final = "491110000002"
BOT_NAME: Final = "Echo Bot"
BOT_JID: Final = user_jid(BOT_PHONE)
ACCOUNTS: Final = ((USER_PHONE, PASSWORD, USER_NAME), (BOT_PHONE, PASSWORD, BOT_NAME))

# What the drivers exit with (tests/interop/drivers/yowdriver.py, EXIT_*).
EXIT_OK: Final = 0
EXIT_AUTH_FAILED: Final = 3
EXIT_UNSUPPORTED: Final = 5

_PROXY_VARIABLES: Final = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

Event = dict[str, Any]
"""One JSON line of a driver: ``{"event": KIND, ...fields}`` (tests/interop/README.md)."""


# ----------------------------------------------------------------------------- versions


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """What one yowsup release does on this Python, as tests/interop/README.md records it."""

    dialect: Dialect
    """Its preamble: ``WA 1 5`` or ``WA 1 6``."""
    demo_unsupported_at: tuple[str, int] | None
    """Where the stock demo's import fails (file inside the install, line), or None."""
    fast_relogin: bool
    """Keeps the ``success`` nonce in ``~/.yowsup/<phone>/nonce`` and logs in with it."""
    bot_reads: bool
    """Its echo bot sends a read receipt after the delivery receipt."""
    legacy_receipt_acks: bool
    """Acks every receipt with ``type="delivery"`` and no ``to`` (2.0.x)."""
    media_over_https: bool
    """Its media layer uploads (``MediaUploader``) and downloads (``MediaDownloader``) over
    HTTPS: 2.4+ (2.0.53 has no upload request entity)."""
    groups_v2: bool
    """Parses ``w:gp2`` notifications (2.0.53's session profile has them held back: its
    notification layer crashes on them, PROTOCOL.md §6.2)."""


KNOWN_VERSIONS: Final[Mapping[str, Behaviour]] = {
    "2.0.53": Behaviour(
        dialect=Dialect.V15,
        demo_unsupported_at=None,
        fast_relogin=False,
        bot_reads=False,
        legacy_receipt_acks=True,
        groups_v2=False,
        media_over_https=False,
    ),
    "2.4.102": Behaviour(
        dialect=Dialect.V15,
        demo_unsupported_at=None,
        fast_relogin=True,
        bot_reads=True,
        legacy_receipt_acks=False,
        groups_v2=True,
        media_over_https=True,
    ),
    "2.5.7": Behaviour(
        dialect=Dialect.V16,
        demo_unsupported_at=("yowsup/layers/interface/interface.py", 128),
        fast_relogin=True,
        bot_reads=True,
        legacy_receipt_acks=False,
        groups_v2=True,
        media_over_https=True,
    ),
}


@dataclass(frozen=True)
class YowsupClient:
    """One line of clients.txt: an installed yowsup release and what it is known to do."""

    name: str
    version: str

    @property
    def path(self) -> Path:
        return INTEROP / self.name

    @property
    def behaviour(self) -> Behaviour:
        behaviour = KNOWN_VERSIONS.get(self.version)
        if behaviour is None:
            pytest.fail(
                f"clients.txt lists yowsup {self.version} ({self.name}), which"
                " tests/interop/conftest.py does not know: add its Behaviour to KNOWN_VERSIONS",
                pytrace=False,
            )
        return behaviour

    @property
    def demo_runs(self) -> bool:
        return self.behaviour.demo_unsupported_at is None

    @property
    def bot(self) -> tuple[str, tuple[str, ...]]:
        """The bot to run: the stock demo, or ``user.py --echo`` where the demo cannot run."""
        return ("echo_bot.py", ()) if self.demo_runs else ("user.py", ("--echo",))


def read_clients(path: Path = CLIENTS_TXT) -> list[YowsupClient]:
    """The ``NAME yowsup2==VERSION ...`` lines of clients.txt."""
    clients = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, *requirements = line.split()
        versions = [r.split("==", 1)[1] for r in requirements if r.startswith("yowsup2==")]
        if len(versions) != 1:
            raise ValueError(f"{path}: {raw!r} does not pin exactly one yowsup2==VERSION")
        clients.append(YowsupClient(name, versions[0]))
    return clients


E2E_SUFFIX: Final = "-e2e"
"""A clients.txt name ending so is an install with the axolotl packages, for test_e2e.py."""
CLIENTS: Final = [c for c in read_clients() if not c.name.endswith(E2E_SUFFIX)]
E2E_CLIENTS: Final = [c for c in read_clients() if c.name.endswith(E2E_SUFFIX)]


def clients_where(predicate: Callable[[Behaviour], bool]) -> list[Any]:
    """``pytest.param`` for each client whose behaviour matches, for ``indirect``
    parametrization of the ``yowsup`` fixture. A version without a known behaviour is
    included, so that the fixture fails for it instead of the test quietly not running."""
    return [
        pytest.param(c, id=c.version)
        for c in CLIENTS
        if c.version not in KNOWN_VERSIONS or predicate(KNOWN_VERSIONS[c.version])
    ]


@pytest.fixture(params=[pytest.param(c, id=c.version) for c in CLIENTS])
def yowsup(request: pytest.FixtureRequest) -> YowsupClient:
    """An installed yowsup release (one test per line of clients.txt); never skipped."""
    client: YowsupClient = request.param
    if not (client.path / "yowsup" / "__init__.py").is_file():
        pytest.fail(
            f"yowsup {client.version} is not installed in {client.path}: run"
            " `python3 dev.py setup`, which installs every client of tests/interop/clients.txt"
            " (CI does this before the tests)",
            pytrace=False,
        )
    client.behaviour  # noqa: B018 - fails here, clearly, for an unknown version
    return client


# ----------------------------------------------------------------------------- subprocesses


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without proxies (yowsup 2.4+ would tunnel through them)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
    env.update(extra)
    return env


def driver_environment(
    client: YowsupClient, home: Path, *, host: str, port: int, phone: str, password: str
) -> dict[str, str]:
    """What tests/interop/README.md asks for: HOME (created), PYTHONPATH, SIM_*."""
    home.mkdir(parents=True, exist_ok=True)
    return clean_environment(
        HOME=str(home),
        PYTHONPATH=str(client.path),
        SIM_HOST=host,
        SIM_PORT=str(port),
        SIM_PHONE=phone,
        SIM_PASSWORD=password,
    )


_log_numbers = itertools.count(1)


def _log_file(directory: Path, stem: str) -> tuple[Path, IO[bytes]]:
    """A fresh file for a subprocess's stderr (sync: it is opened before the spawn)."""
    path = directory / f"{next(_log_numbers):02d}-{stem}.stderr"
    return path, path.open("wb")


def _read_log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


async def _reap(process: trio.Process) -> None:
    """Kill ``process`` if it still runs, wait for it, close our ends of its pipes."""
    if process.poll() is None:
        process.kill()
    await process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            await stream.aclose()


class Driver:
    """A running ``drivers/*.py`` process and the events it has printed so far.

    Events are read from its stdout when a test waits for one, never in the background,
    so the order of :attr:`events` is exactly the driver's order. (Unread output waits in
    the pipe, which holds 64 KiB; an exchange here prints a few KiB.)
    """

    def __init__(self, process: trio.Process, label: str, stderr_path: Path) -> None:
        self.process = process
        self.label = label
        self.stderr_path = stderr_path
        self.events: list[Event] = []
        self._pending = b""
        self._eof = False

    def __repr__(self) -> str:
        return f"<Driver {self.label} pid={self.process.pid}>"

    # ------------------------------------------------------------------ reading

    async def _read_more(self) -> None:
        assert self.process.stdout is not None
        chunk = await self.process.stdout.receive_some(65536)
        if not chunk:
            self._eof = True
            chunk = b"\n"
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                self.events.append(self._parse(line))

    @staticmethod
    def _parse(line: bytes) -> Event:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict) or "event" not in event:
            return {"event": "<not an event>", "line": line.decode("utf-8", "replace")}
        return event

    def find(self, kind: str, predicate: Callable[[Event], bool] | None = None) -> Event | None:
        """The first event so far of this kind (that matches), or None."""
        for event in self.events:
            if event["event"] == kind and (predicate is None or predicate(event)):
                return event
        return None

    def all(self, kind: str, predicate: Callable[[Event], bool] | None = None) -> list[Event]:
        """Every event so far of this kind (that matches), in order."""
        return [
            e for e in self.events if e["event"] == kind and (predicate is None or predicate(e))
        ]

    def index(self, event: Event) -> int:
        """The position of this very event (not an equal one) in :attr:`events`."""
        return next(i for i, e in enumerate(self.events) if e is event)

    async def wait_event(
        self,
        kind: str,
        predicate: Callable[[Event], bool] | None = None,
    ) -> Event:
        """The first event of this kind (matching ``predicate``), read so far or next.

        Raises AssertionError (with everything the driver said) when the driver ends
        without one, or after :data:`TIMEOUT` seconds.
        """
        try:
            with trio.fail_after(TIMEOUT):
                while (found := self.find(kind, predicate)) is None:
                    if self._eof:
                        await self.process.wait()
                        raise AssertionError(
                            f"{self.label} exited with {self.process.returncode} before any"
                            f" {kind!r} event{self._matching(predicate)}\n{self.report()}"
                        )
                    await self._read_more()
        except trio.TooSlowError:
            raise AssertionError(
                f"no {kind!r} event{self._matching(predicate)} from {self.label}"
                f" within {TIMEOUT} s\n{self.report()}"
            ) from None
        return found

    @staticmethod
    def _matching(predicate: Callable[[Event], bool] | None) -> str:
        return "" if predicate is None else " matching the test's condition"

    async def wait_exit(self) -> int:
        """Read the remaining events and wait for the exit code."""
        try:
            with trio.fail_after(TIMEOUT):
                while not self._eof:
                    await self._read_more()
                return await self.process.wait()
        except trio.TooSlowError:
            raise AssertionError(
                f"{self.label} did not exit within {TIMEOUT} s\n{self.report()}"
            ) from None

    # ------------------------------------------------------------------ commanding

    async def command(self, op: str, **fields: Any) -> None:
        """Send one command line to ``user.py`` (see its docstring)."""
        assert self.process.stdin is not None
        line = json.dumps({"op": op, **fields}) + "\n"
        await self.process.stdin.send_all(line.encode("utf-8"))

    def terminate(self) -> None:
        """SIGTERM: the driver closes its connection, reports ``stopped`` and exits 0."""
        self.process.send_signal(signal.SIGTERM)

    async def aclose(self) -> None:
        """Kill the process if it still runs and reap it (called by :func:`run_driver`)."""
        await _reap(self.process)

    # ------------------------------------------------------------------ diagnostics

    @property
    def stderr(self) -> str:
        return _read_log(self.stderr_path)

    def report(self) -> str:
        lines = [f"--- events of {self.label} ({len(self.events)}):"]
        lines += [json.dumps(e) for e in self.events]
        lines.append(f"--- stderr of {self.label} ({self.stderr_path}):")
        lines.append(self.stderr.rstrip()[-4000:])
        return "\n".join(lines)


@asynccontextmanager
async def run_driver(
    client: YowsupClient,
    script: str,
    *args: str,
    port: int,
    home: Path,
    phone: str = BOT_PHONE,
    password: str = PASSWORD,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Driver]:
    """Start ``drivers/<script>`` with ``client``'s yowsup; kill it when the block ends.

    ``home`` is the driver's HOME (yowsup 2.4+ keeps its login nonce there): pass the same
    folder to two runs for a fast re-login.
    """
    environment = driver_environment(
        client, home, host=host, port=port, phone=phone, password=password
    )
    environment.update(env or {})
    label = f"{script} {' '.join(args)} (yowsup {client.version})".replace("  ", " ")
    stderr_path, stderr_file = _log_file(home.parent, f"{Path(script).stem}-{client.version}")
    try:
        process = await trio.lowlevel.open_process(
            [sys.executable, str(DRIVERS / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=environment,
        )
    finally:
        stderr_file.close()
    driver = Driver(process, label, stderr_path)
    try:
        yield driver
    finally:
        with trio.CancelScope(shield=True):
            await driver.aclose()


# ----------------------------------------------------------------------------- simulator serve


@dataclass
class Serve:
    """A ``simulator serve`` subprocess and the address it printed."""

    process: trio.Process
    host: str
    port: int
    stdout: list[str]
    stderr_path: Path
    pending: bytes = b""
    """The start of a line read with an earlier chunk, whose end has not come yet."""

    @property
    def stderr(self) -> str:
        return _read_log(self.stderr_path)

    async def line_matching(self, pattern: str) -> re.Match[str]:
        """Read stdout on until a line matches ``pattern`` (a full match); lines read so
        far are in :attr:`stdout`."""
        for line in self.stdout:
            if match := re.fullmatch(pattern, line):
                return match
        lines, match, self.pending = await _wait_line(
            self.process, self.stderr_path, re.compile(pattern), self.pending
        )
        self.stdout += lines
        return match

    async def stop(self) -> int:
        """SIGTERM, then the exit code (``simulator serve`` documents 0 and ``stopped``)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            with trio.fail_after(TIMEOUT):
                return await self.process.wait()
        except trio.TooSlowError:
            raise AssertionError(
                f"simulator serve did not stop within {TIMEOUT} s of SIGTERM;"
                f" stderr:\n{self.stderr}"
            ) from None


_LISTENING: Final = re.compile(r"listening on (?P<host>\S+):(?P<port>\d+)")


@asynccontextmanager
async def simulator_serve(
    accounts: Iterable[tuple[str, str, str]], log_dir: Path, *options: str
) -> AsyncIterator[Serve]:
    """Run ``python -m simulator serve --host 127.0.0.1 --port 0 --account ... OPTIONS``.

    Yields once it printed ``listening on HOST:PORT``; kills it when the block ends if
    the test did not :meth:`Serve.stop` it.
    """
    command = [sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", "0"]
    for phone, password, name in accounts:
        command += ["--account", f"{phone}:{password}:{name}"]
    command += options
    stderr_path, stderr_file = _log_file(log_dir, "simulator-serve")
    try:
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=stderr_file, env=clean_environment(), cwd=ROOT
        )
    finally:
        stderr_file.close()
    try:
        lines, match, pending = await _wait_line(process, stderr_path, _LISTENING)
        yield Serve(process, match["host"], int(match["port"]), lines, stderr_path, pending)
    finally:
        with trio.CancelScope(shield=True):
            await _reap(process)


async def _wait_line(
    process: trio.Process, stderr_path: Path, pattern: re.Pattern[str], pending: bytes = b""
) -> tuple[list[str], re.Match[str], bytes]:
    """Read stdout until a whole line matches ``pattern``: the lines read, the match, and
    the start of a line not yet ended (the next call goes on from it: a chunk may end in
    the middle of a line, and dropping that part lost a line of output)."""
    assert process.stdout is not None
    lines: list[str] = []
    try:
        # Its start-up is mostly imports: about a second on a quiet machine.
        with trio.fail_after(3 * TIMEOUT):
            while True:
                chunk = await process.stdout.receive_some(65536)
                if not chunk:
                    await process.wait()
                    raise AssertionError(
                        f"simulator serve exited with {process.returncode} before printing"
                        f" {pattern.pattern!r};"
                        f" stdout {lines!r}, stderr:\n{_read_log(stderr_path)}"
                    )
                *complete, pending = (pending + chunk).split(b"\n")
                lines += [raw.decode("utf-8", "replace") for raw in complete]
                # Every whole line read is kept (Serve.line_matching looks at them later).
                for line in lines:
                    if match := pattern.fullmatch(line):
                        return lines, match, pending
    except trio.TooSlowError:
        raise AssertionError(
            f"simulator serve printed no line matching {pattern.pattern!r}; stdout {lines!r},"
            f" stderr:\n{_read_log(stderr_path)}"
        ) from None


# ----------------------------------------------------------------------------- in-process server


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """An in-process server with the user and the bot account."""
    async with open_server(accounts=ACCOUNTS) as srv:
        yield srv


@pytest.fixture
async def server_port(server: Server) -> int:
    """The TCP port ``server`` listens on (127.0.0.1)."""
    _host, port = await server.listen_tcp("127.0.0.1", 0)
    return port


def undelivered(server: Server) -> list[str]:
    """Every stanza some user has not acknowledged yet, as text (empty when all are)."""
    return [
        f"{jid}: {node.to_text(indent=None)}"
        for jid, box in server.state.mailboxes.items()
        for _key, node in box
    ]


async def wait_until(server: Server, condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds, re-checking after each stanza the server handles.

    A server tap wakes the check; ``wait_all_tasks_blocked`` lets the handler of that
    stanza finish first. No polling, no sleeping.
    """
    wake = [trio.Event()]

    def observe(direction: str, jid: str, node: Node) -> None:
        wake[0].set()

    remove = server.tap(observe)
    try:
        with trio.fail_after(TIMEOUT):
            while True:
                wake[0] = trio.Event()
                await trio.testing.wait_all_tasks_blocked()
                if condition():
                    return
                await wake[0].wait()
    except trio.TooSlowError:
        raise AssertionError(f"not within {TIMEOUT} s: {what}") from None
    finally:
        remove()
