"""``simulator serve``: run the fake service for real clients until interrupted.

    simulator serve --port 0 --account 491110000001:AQIDBAUGBwgJCgsMDQ4PEBESExQ=:Alice

Prints one line ``listening on HOST:PORT`` once clients can connect (port 0 lets the
OS choose), then serves until Ctrl-C or SIGTERM, which end it cleanly with exit 0. With
``--http-port`` it also serves registration and media over HTTP and prints
``http on HOST:PORT`` (the base URL for ``code_request`` and the media URLs). With
``--tls`` it serves them over HTTPS instead (on ``--http-port``, default 443, the port real
clients use), with a certificate signed by a local CA made at start; it writes the CA
certificate to ``--ca-cert`` and prints ``https on HOST:PORT`` and how each client
trusts that CA.

Every session's connect, login and end (with the reason the server ended it) is logged
to stderr at INFO (``--log-level``: ``debug`` adds every stanza in and out, with long
binary payloads shortened unless ``--full-payloads``; ``warning`` keeps only the ends
the client did not choose: protocol errors, refused logins and stanzas, replaced
sessions). ``-v`` is ``--log-level debug``.
With ``--control-port`` it serves the control API (``simulator.server.control``: faults,
restart, state, clock; loopback only) and prints ``control on HOST:PORT``; ``simulator
control --port PORT ...`` drives it.

Nonces, SMS codes, passwords and ids are unpredictable unless ``--seed N`` is given, and
wrong passwords are throttled per number (``--login-failures N`` within ``--login-window
SECONDS``; ``--login-failures 0`` turns that off); see README's "Limits and security".
It binds 127.0.0.1 unless told otherwise: this is a test fake (test passwords, no TLS, no
abuse protection beyond the limits in the README's "Limits and security"), and it prints
a warning on stderr when bound to any other address. The limits flags (``--max-...``,
``--*-timeout``, ``--http-max-...``) change the bounds on what one peer may hold.

With ``--state FILE`` everything users made (accounts, groups, settings, media, every
stanza not acknowledged yet) is kept in that SQLite file and served again on the next start
(``simulator.server.store``; README "State").

With ``--record FILE --record-bot ACCOUNT`` it records the session and, when stopped,
writes it to FILE as a scenario that replays it (``simulator run FILE --bot ...``); see
``simulator.scenario.record`` for what becomes which step. ``--desk-port`` adds the desk's
page (``simulator.desk``) and prints ``desk on URL``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ipaddress
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from simulator.cli._errors import unwrap_group
from simulator.cli._state import open_store
from simulator.cli.desk import desk_page
from simulator.errors import FatalError, ScenarioSyntaxError
from simulator.server import Server, ServerConfig, State, open_server
from simulator.server.state import default_password
from simulator.server.throttle import LoginThrottle
from simulator.wire.limits import MAX_FRAME, WireLimits

if TYPE_CHECKING:
    from simulator.scenario.record import LiveRecorder
    from simulator.server.store import Store

__all__ = [
    "add_parser",
    "exposure_warning",
    "parse_account",
    "run",
    "server_config",
]

NAME = "serve"
HELP = "serve real clients (yowsup, Chat-API, any language) over TCP"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 = any free port (default)"
    )
    parser.add_argument("--world", type=Path, help="a world file (YAML) with accounts and more")
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="PHONE[:PASSWORD_B64[:NAME]]",
        help="register an account (repeatable); the password defaults to one derived "
        "from the phone",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="make ids, nonces, codes and passwords repeatable from this seed (default: "
        "unpredictable, from the system's random source)",
    )
    parser.add_argument(
        "--login-failures",
        type=int,
        default=LoginThrottle().max_failures,
        metavar="N",
        help="wrong passwords per number within --login-window before its logins are "
        "refused for a while, doubling (default %(default)s; 0 = no throttling)",
    )
    parser.add_argument(
        "--login-window",
        type=float,
        default=LoginThrottle().window,
        metavar="SECONDS",
        help="how long a wrong password counts (default %(default)s)",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help="also serve registration and media over HTTP on this port (0 = any free port)",
    )
    parser.add_argument(
        "--media-url",
        metavar="URL",
        help="the base of the media URLs clients are given, e.g. https://mmg.whatsapp.net"
        " (default: http(s)://HOST:PORT of the HTTP side)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve registration and media over HTTPS with a local CA made now (on"
        " --http-port, default 443); writes the CA certificate to --ca-cert and says how each"
        " client trusts it",
    )
    parser.add_argument(
        "--ca-cert",
        type=Path,
        default=Path("simulator-ca.pem"),
        metavar="FILE",
        help="with --tls: where to write the CA certificate (default ./simulator-ca.pem)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        metavar="PORT",
        help="also serve the control API (faults, restart, state; JSON over HTTP, loopback "
        "only) on this port (0 = any free port); `simulator control` speaks it",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record the session; when stopped, write it to FILE as a scenario that replays it",
    )
    parser.add_argument(
        "--record-bot",
        metavar="ACCOUNT",
        help="with --record: the account under test (phone or name; default: the first "
        "account to log in); the others are users",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep accounts, groups, settings, media and undelivered stanzas in this SQLite "
        "file (created if missing) and serve it again after a restart (README: State)",
    )
    _add_limits(parser)
    parser.add_argument(
        "--desk-port",
        type=int,
        metavar="PORT",
        help="also serve the desk, a web page to play users and watch stanzas (0 = any port)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="what stderr shows: info (default) every session's connect, login and end with"
        " its reason; warning only ends the client did not choose; debug also every stanza",
    )
    parser.add_argument(
        "-v", dest="log_level", action="store_const", const="debug", help="--log-level debug"
    )
    parser.add_argument(
        "--full-payloads",
        action="store_true",
        help="with debug logging: show long binary payloads whole instead of shortened",
    )
    parser.set_defaults(run=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _seconds_or_never(text: str) -> float | None:
    return None if text.strip() in ("0", "0.0") else _positive_float(text)


SERVE_IDLE_TIMEOUT = 600.0
"""``--idle-timeout`` default: ten times the interval real clients ping at (§3.1)."""


def _add_limits(parser: argparse.ArgumentParser) -> None:
    """One flag per limit users may need to change; defaults come from ``ServerConfig``."""
    d = ServerConfig()
    limits = parser.add_argument_group("limits (README: Limits and security)")
    flags: list[tuple[str, str, Callable[[str], object], object, str]] = [
        ("--max-connections", "N", _positive_int, d.max_connections, "TCP connections at once"),
        (
            "--max-pending-logins",
            "N",
            _positive_int,
            d.max_pending_logins,
            "TCP connections not logged in yet; one more drops the oldest",
        ),
        ("--login-timeout", "SECONDS", _positive_float, d.login_timeout, "time to log in"),
        (
            "--frame-timeout",
            "SECONDS",
            _positive_float,
            d.frame_timeout,
            "time a peer may stop in the middle of a frame",
        ),
        (
            "--idle-timeout",
            "SECONDS",
            _seconds_or_never,
            SERVE_IDLE_TIMEOUT,
            "silence after login before a server ping; as long again and the peer is "
            "dropped; 0 = never",
        ),
        ("--max-frame", "BYTES", _positive_int, d.wire.max_frame, "largest frame after login"),
        (
            "--outbox-limit",
            "N",
            _positive_int,
            d.outbox_limit,
            "stanzas queued for a peer that does not read before it is dropped",
        ),
        (
            "--offline-limit",
            "N",
            _positive_int,
            d.offline_limit,
            "stanzas kept per user while offline; a full queue forgets its oldest",
        ),
        (
            "--http-max-connections",
            "N",
            _positive_int,
            d.http_max_connections,
            "HTTP connections at once",
        ),
        ("--http-max-body", "BYTES", _positive_int, d.http_max_body, "largest upload body"),
    ]
    for flag, metavar, kind, default, text in flags:
        limits.add_argument(
            flag, type=kind, default=default, metavar=metavar, help=f"{text} (default {default})"
        )


def server_config(args: argparse.Namespace) -> ServerConfig:
    """The served server's config from the command line: the wall clock, unpredictable ids
    and secrets unless ``--seed``, login throttling, and the limits flags."""
    if args.max_frame > MAX_FRAME:
        raise FatalError(f"--max-frame {args.max_frame}: a frame holds at most {MAX_FRAME} bytes")
    wire = WireLimits(
        max_frame=args.max_frame,
        max_login_frame=min(args.max_frame, WireLimits().max_login_frame),
    )
    return ServerConfig(
        epoch=None,
        seed=args.seed,
        # A bug in a handler is logged and answered with an error; the server keeps serving.
        strict=False,
        login_throttle=login_throttle(args),
        max_connections=args.max_connections,
        max_pending_logins=args.max_pending_logins,
        login_timeout=args.login_timeout,
        frame_timeout=args.frame_timeout,
        idle_timeout=args.idle_timeout,
        outbox_limit=args.outbox_limit,
        offline_limit=args.offline_limit,
        http_max_connections=args.http_max_connections,
        http_max_body=args.http_max_body,
        wire=wire,
    )


def exposure_warning(host: str) -> str | None:
    """A warning for a listener bound to ``host`` (the address actually bound), or ``None``
    when only this machine can reach it."""
    try:
        loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (
        f"warning: listening on {host}, reachable from other machines. simulator serve is "
        "a test fake (test passwords, no TLS); bind 127.0.0.1 unless that is what you want."
    )


LOG_LEVELS = ("debug", "info", "warning", "error")
ELIDE_AT = 64
"""Binary payloads longer than this (bytes) are shortened in the stanza log."""


@contextmanager
def _logging_to_stderr(level: str) -> Iterator[None]:
    """The ``simulator`` loggers write to stderr at ``level`` while serving, and are put
    back as they were afterwards (``main`` may run in a process that goes on)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("simulator")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], level_before, logger.propagate = saved
        logger.setLevel(level_before)


def _log_stanzas(server: Server, full: bool) -> None:
    """At DEBUG: every stanza in and out, one line each (payloads shortened unless full)."""
    from simulator.wire.node import Node

    stanzas = logging.getLogger("simulator.server.stanzas")
    if not stanzas.isEnabledFor(logging.DEBUG):
        return

    def tap(direction: str, jid: str, node: Node) -> None:
        arrow = "-->" if direction == "in" else "<--"
        stanzas.debug("%s %s %s", jid, arrow, node.to_text(elide=None if full else ELIDE_AT))

    server.tap(tap)


def parse_account(spec: str) -> tuple[str, str, str]:
    """``PHONE[:PASSWORD_B64[:NAME]]`` -> (phone, password, name), or FatalError."""
    phone, _, rest = spec.partition(":")
    password, _, name = rest.partition(":")
    if not phone.isdigit() or not 5 <= len(phone) <= 15:
        raise FatalError(
            f"--account {spec!r}: the phone must be 5 to 15 digits, country code first"
        )
    if not password:
        password = default_password(phone)
    try:
        if not base64.b64decode(password, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        raise FatalError(
            f"--account {spec!r}: the password must be base64 (as the service issued it)"
        ) from None
    return phone, password, name


def _state(args: argparse.Namespace, store: Store | None = None) -> State:
    """The state to serve: the file's (with ``--state``), plus the world and accounts
    given. A file served before already holds its world (it is not applied again), and
    an account already in the file keeps what the file says."""
    state = store.state if store is not None else State()
    if args.world is not None and (store is None or store.opened == 1):
        from simulator.world import build_state, load_world  # pydantic: only when needed

        try:
            build_state(load_world(args.world), state)
        except ScenarioSyntaxError as exc:
            raise FatalError(
                f"{args.world} is not a valid world file:\n  " + "\n  ".join(exc.problems)
            ) from None
    for spec in args.account:
        phone, password, name = parse_account(spec)
        if store is None or state.account(phone) is None:
            state.add_account(phone, password, push_name=name)
    return state


def _record_bot(args: argparse.Namespace, state: State) -> str | None:
    """The JID of the bot to record (None: the first account to log in), or FatalError."""
    if args.record is None:
        if args.record_bot is not None:
            raise FatalError("--record-bot ACCOUNT needs --record FILE")
        return None
    if not args.record.parent.is_dir():
        raise FatalError(f"--record {args.record}: the directory does not exist")
    if args.record_bot is None:
        return None
    from simulator.scenario.record import find_account

    account = find_account(state, args.record_bot)
    if account is None:
        raise FatalError(f"--record-bot {args.record_bot!r}: no such account (phone or name)")
    return account.jid


def login_throttle(args: argparse.Namespace) -> LoginThrottle | None:
    """The throttle ``--login-failures``/``--login-window`` ask for, or FatalError."""
    if args.login_failures < 0 or args.login_window <= 0:
        raise FatalError("--login-failures must be 0 or more and --login-window above 0")
    if args.login_failures == 0:
        return None
    return LoginThrottle(max_failures=args.login_failures, window=args.login_window)


@asynccontextmanager
async def _recording(
    server: Server, record: bool, bot: str | None
) -> AsyncIterator[LiveRecorder | None]:
    if not record:
        yield None
        return
    from simulator.scenario.record import recording

    async with recording(server, bot) as recorder:
        yield recorder


async def _listen(
    listen: Callable[[str, int], Awaitable[tuple[str, int]]], host: str, port: int
) -> tuple[str, int]:
    """Bind with ``listen``; a failure is one sentence for the user."""
    try:
        return await listen(host, port)
    except OSError as exc:
        raise FatalError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


TRUST_HINTS = (
    "  yowsup / Python (ssl, urllib, http.client): SSL_CERT_FILE={ca}",
    "  Python requests: REQUESTS_CA_BUNDLE={ca}",
    "  Chat-API / PHP (fsockopen ssl://, file_get_contents): php.ini openssl.cafile={ca};"
    " curl: curl.cainfo={ca} or CURLOPT_CAINFO",
    "  curl: --cacert {ca}",
)
"""How each client trusts the local CA, printed by ``serve --tls``."""


async def _listen_https(server: Server, args: argparse.Namespace) -> None:
    """Make the local CA, write its certificate, serve HTTPS, say how to trust it."""
    from simulator.server.tls import make_local_ca

    ca = make_local_ca([args.host])
    try:
        ca.write_ca(args.ca_cert)
    except OSError as exc:
        raise FatalError(f"--ca-cert {args.ca_cert}: cannot write it: {exc.strerror}") from None
    port = 443 if args.http_port is None else args.http_port
    host, bound = await _listen(
        lambda h, p: server.listen_http(h, p, tls=ca.server_context()), args.host, port
    )
    print(f"https on {host}:{bound}", flush=True)
    path = args.ca_cert.resolve()
    print(f"CA certificate {path} (valid for {', '.join(ca.names)}); trust it with:", flush=True)
    for hint in TRUST_HINTS:
        print(hint.format(ca=path), flush=True)


async def _serve(
    args: argparse.Namespace, state: State, bot: str | None = None, store: Store | None = None
) -> LiveRecorder | None:
    config = server_config(args)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with (
            open_server(
                state=state if store is None else None, config=config, store=store
            ) as server,
            _recording(server, args.record is not None, bot) as recorder,
            desk_page(server, args.host, args.desk_port),
        ):
            _log_stanzas(server, args.full_payloads)
            server.http.advertise(args.media_url)
            host, port = await _listen(server.listen_tcp, args.host, args.port)
            print(f"listening on {host}:{port}", flush=True)
            warning = exposure_warning(host)
            if warning is not None:
                print(warning, file=sys.stderr, flush=True)
            for account in state.accounts.values():
                line = f"  account {account.phone} password {account.password_b64}"
                print(f"{line} {account.push_name}".rstrip(), flush=True)
            for group in state.groups.values():
                print(f"  group {group.jid} {group.subject}".rstrip(), flush=True)
            if args.tls:
                await _listen_https(server, args)
            elif args.http_port is not None:
                http_host, http_port = await _listen(server.listen_http, args.host, args.http_port)
                print(f"http on {http_host}:{http_port}", flush=True)
            if recorder is not None:
                who = "" if bot is not None else " (the bot: the first account to log in)"
                print(f"recording to {args.record}{who}", flush=True)
            async with trio.open_nursery() as nursery:
                if args.control_port is not None:
                    from simulator.server.control import ControlService

                    control = ControlService(server)
                    listen = partial(control.listen, nursery)
                    where = await _listen(listen, "127.0.0.1", args.control_port)
                    print(f"control on {where[0]}:{where[1]}", flush=True)
                async for _signum in signals:
                    break
                nursery.cancel_scope.cancel()
    return recorder


def run(args: argparse.Namespace) -> int:
    login_throttle(args)  # a bad value is one sentence before anything starts
    store = open_store(args)
    try:
        state = _state(args, store)
        bot = _record_bot(args, state)
        with _logging_to_stderr(args.log_level):
            recorder = trio.run(_serve, args, state, bot, store)
    except BaseExceptionGroup as group:
        raise unwrap_group(group) from None
    finally:
        if store is not None:
            store.close()
    if recorder is not None:
        try:
            from simulator.scenario.record import write_recording

            lines = write_recording(recorder, args.record, seed=args.seed or 0, world=args.world)
        except OSError as exc:
            raise FatalError(f"cannot write {args.record}: {exc.strerror}") from None
        for line in lines:
            print(line, file=sys.stderr, flush=True)
    print("stopped", file=sys.stderr, flush=True)
    return 0
