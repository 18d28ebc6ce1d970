"""`Server`: the fake service. Owns the state, the router, the clock, the ids and the sessions.

Use :func:`open_server` (an async context manager with its own nursery) to run one::

    async with open_server(accounts=[("491234567890", "AQIDBAUGBwgJCgsMDQ4PEBESExQ=")]) as server:
        host, port = await server.listen_tcp()          # for real clients
        link = await server.connect_nodes()             # or in-process, no bytes at all

Routing of stanzas between users lives here (``deliver``, ``send_live``); what each
stanza means lives in the flow modules (``simulator.server.flows``).

Fault isolation
---------------
:meth:`Server.dispatch` is the one place every stanza reaches a handler, and it catches
whatever the handler raises. ``StanzaError`` is how a flow says no (an ``iq`` gets the
error). Anything else is a bug in the simulator: the stanza is answered like any refused
one (an ``iq`` get/set with ``500 internal-server-error``; other stanzas get nothing, so
a message is not acked and its sender sends it again), the traceback is logged with the
stanza, and nothing else is touched. :meth:`Session.run` does the same for
anything else a session raises (its writer, its login): that session ends, no other.

With ``ServerConfig.strict`` (the default everywhere but ``simulator serve``) each such
bug is also kept in :attr:`Server.bugs`, and :func:`open_server` raises
:class:`~simulator.errors.ServerBug` when its block ends, so a test or a scenario run that
hit a server bug fails loudly with the traceback, while the other sessions ran on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import ssl
import traceback
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from contextlib import asynccontextmanager
from dataclasses import field
from typing import TYPE_CHECKING, Any, Final, Literal, final

import trio

from simulator import stanzas
from simulator.collector import FREEZER, collector_for_server
from simulator.errors import ServerBug, StanzaError
from simulator.jid import SERVER, is_jid
from simulator.records import record
from simulator.server.clock import DEFAULT_EPOCH, IdSource, SecretSource, ServerClock
from simulator.server.faults import FaultSet, FaultStream
from simulator.server.flows import default_router
from simulator.server.http import HttpService
from simulator.server.router import Route, Router
from simulator.server.session import Session, SessionState
from simulator.server.state import Account, State
from simulator.server.throttle import LoginThrottle, LoginThrottler
from simulator.stanzas.errors import stream_error
from simulator.transport.link import Link, Relay, StreamLink, WriteBatch, node_link_pair
from simulator.transport.memory import memory_stream_pair
from simulator.transport.tcp import listen_tcp
from simulator.wire.connection import Connection, NodeConnection
from simulator.wire.events import Role
from simulator.wire.limits import WireLimits
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from simulator.server.state import PendingKind
    from simulator.server.store import Store

__all__ = ["BugReport", "Server", "ServerConfig", "Tap", "open_server"]

Direction = Literal["in", "out"]

Tap = Callable[[Direction, str, Node], None]
"""An observer: called with ("in", jid, node) for every stanza a user sends to the server
and ("out", jid, node) for every stanza the server queues for a user."""

SessionEvent = Literal["connected", "login", "ended"]
SessionWatcher = Callable[[SessionEvent, "Session"], None]
"""An observer of session lives: ``connected`` (a client connected), ``login`` (it logged
in: ``session.jid`` is set), ``ended`` (it is gone: ``session.close_reason`` says why)."""

log: Final = logging.getLogger("simulator.server")
"""Session starts and ends (INFO; an end for a reason the client did not choose: WARNING)."""

ORDINARY_ENDS: Final = frozenset(
    {"client disconnected", "client ended the stream", "server stopped", "closed by server"}
)
"""Close reasons logged at INFO; any other (a protocol error, a refused login, a stanza
refused with a stream error, a replaced session) is logged at WARNING."""

DEFAULT_PROPS: Final[Mapping[str, str]] = {
    # The values listed in the Chat-API docs (PROTOCOL.md §3.1).
    "timeout": "300",
    "location": "0",
    "readreceipts": "1415214000",
    "qr": "0",
    "groups_v2": "1",
    "lists": "1",
    "library": "0",
    "audio": "1",
    "checkmarks": "0",
    "newmedia": "0",
    "video_max_edge": "960",
    "image_max_kbytes": "5120",
    "image_quality": "80",
    "image_max_edge": "1280",
    "media": "16",
    "broadcast": "50",
    "max_subject": "25",
    "max_participants": "101",
    "max_groups": "9999",
}

_PENDING_KINDS: Final[Mapping[str, PendingKind]] = {
    "message": "message",
    "receipt": "receipt",
    "notification": "notification",
}
"""The stanzas kept until acked, by tag."""
_ACTIVE_SESSION: Final = SessionState.ACTIVE
"""Read as a global: an enum member read off its class costs a metaclass lookup."""


@record(kw_only=True)
class ServerConfig:
    """Tunables of one server."""

    epoch: float | None = DEFAULT_EPOCH
    """Unix time at trio time 0; ``None`` = the wall clock (for ``simulator serve``)."""
    seed: int | None = 0
    """Seed of every id and secret the server makes (ids and secrets from independent
    streams, see ``simulator.server.clock``); ``None``: unpredictable (``simulator serve``
    without ``--seed``)."""
    outbox_limit: int = 10_000
    """Stanzas queued for one peer before it counts as too slow and is disconnected."""
    login_timeout: float = 60.0
    """Seconds (server time) a peer may take to log in."""
    login_throttle: LoginThrottle | None = None
    """Failed-login throttling (``simulator.server.throttle``); ``None``: off (scenarios
    and tests, unless they ask), ``simulator serve`` turns it on."""
    key_fetch_limit: int | None = 5
    """One-time pre-keys one requester may take of one user per ``key_fetch_window``;
    more is ``406 not-acceptable`` with ``backoff`` (§3.12). ``None``: no limit."""
    key_fetch_window: int = 3600
    """Seconds (server time) of the key-fetch window."""
    frame_timeout: float = 60.0
    """Seconds (server time) a byte-stream peer may stop in the middle of a frame (or of
    the preamble) before it is dropped; a peer idle between frames is not timed."""
    idle_timeout: float | None = None
    """Seconds (server time) a logged-in peer may send nothing before it gets a server
    ping; silent as long again, it is dropped. ``None``: never (in-process tests and
    scenarios); ``simulator serve`` uses 600 (real clients ping every 50-60 s)."""
    max_connections: int = 512
    """TCP connections served at once, logged in or not; more are closed on arrival."""
    max_pending_logins: int = 64
    """TCP connections not logged in yet; a new one beyond this drops the oldest."""
    offline_limit: int = 10_000
    """Stanzas kept for one user (the offline queue, §4.4); a full one forgets its oldest."""
    wire: WireLimits = field(default_factory=WireLimits)
    """Frame and node limits of every byte-stream connection (``simulator.wire.limits``)."""
    http_max_connections: int = 256
    """HTTP connections served at once; beyond it the oldest one still sending its
    request head is dropped, or (if none) the new one gets 503."""
    http_max_head: int = 16 * 1024
    """Bytes an HTTP request line plus headers may take (431 beyond)."""
    http_max_body: int = 20 * 1024 * 1024
    """Bytes an upload body may take (413 beyond); an upload is also held to its slot size."""
    http_max_form: int = 64 * 1024
    """Bytes any other request body may take (413 beyond)."""
    http_request_timeout: float = 30.0
    """Seconds (server time) an HTTP peer has to send one whole request."""
    strict: bool = True
    """Keep every server bug (a handler or session crash) in ``Server.bugs`` and make
    :func:`open_server` raise :class:`~simulator.errors.ServerBug` at the end, so tests
    and scenario runs fail loudly. Either way the bug ends nothing but that stanza (or
    that session) and is logged; ``simulator serve`` turns this off and just logs."""
    gc_freeze_sessions: int | None = 1_000
    """Sessions (of all the servers of the process) from which the settled ones are kept
    out of CPython's collector's scans (``gc.freeze``), so that logins stay as fast with
    10,000 sessions as with 1,000; ``None``: never. See ``simulator.collector``."""
    props_version: str = "4"
    props: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PROPS))

    def __post_init__(self) -> None:
        for name in _POSITIVE_FIELDS:
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"ServerConfig.{name} must be above 0, not {value}")


_POSITIVE_FIELDS: Final = (
    "outbox_limit",
    "login_timeout",
    "frame_timeout",
    "idle_timeout",
    "max_connections",
    "max_pending_logins",
    "offline_limit",
    "http_max_connections",
    "http_max_head",
    "http_max_body",
    "http_max_form",
    "http_request_timeout",
    "gc_freeze_sessions",
)


@final
@record
class BugReport:
    """One server bug: where it happened, the stanza being handled, the traceback."""

    where: str
    stanza: Node | None
    traceback: str

    def __str__(self) -> str:
        stanza = f"\nstanza: {self.stanza.to_text()}" if self.stanza is not None else ""
        return f"server bug in {self.where}{stanza}\n{self.traceback.rstrip()}"


_MAX_BUGS_KEPT: Final = 100


@final
class Server:
    """The fake FunXMPP service. Create it with :func:`open_server`."""

    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        state: State | None = None,
        router: Router | None = None,
        config: ServerConfig | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self.store = store
        """The state file (``serve --state``; ``simulator.server.store``), or ``None``: the
        state lives in memory only."""
        if store is not None:
            if state is not None:
                raise ValueError("a server with a state file serves the file's state")
            state = store.state
        self.state = state or State()
        self.router = router or default_router()
        self.clock = ServerClock(self.config.epoch)
        run = store.opened - 1 if store is not None else 0
        counter = store.counter if store is not None else 0
        self.ids = IdSource(self.config.seed, run=run, counter=counter)
        self.secrets = SecretSource(self.config.seed, run=run)
        throttle = self.config.login_throttle
        self.login_throttle = LoginThrottler(throttle) if throttle is not None else None
        self.sessions: dict[str, Session] = {}
        self.all_sessions: set[Session] = set()
        self.logging_in: dict[Session, None] = {}
        """TCP sessions that have not logged in yet, oldest first (``max_pending_logins``)."""
        self.tcp_connections = 0
        """TCP connections open right now (``max_connections``)."""
        self.taps: list[Tap] = []
        self.bugs: list[BugReport] = []
        """Server bugs seen so far (``strict`` only; the first 100)."""
        self.session_watchers: list[SessionWatcher] = []
        self._nursery = nursery
        self._numbers = itertools.count(1)
        self._answered: dict[tuple[str, str], trio.Event] = {}
        """Wake-ups for :meth:`wait_answer`; the iqs and answers are in the state."""
        self.http = HttpService(self)
        """The HTTP side: registration and media (§4.7, §4.8); see ``simulator.server.http``."""
        self.relay = Relay(nursery)
        """Runs stanzas between in-process node links to completion in the sender's task
        (``simulator.transport.link.Relay``)."""
        self._write_batch = WriteBatch()
        """Shared by the byte-stream links: what one read causes, one write per peer."""
        self.faults = FaultSet(self, nursery)
        """Faults on demand (``simulator.server.faults``); none by default."""
        self.restart_hooks: list[Callable[[], None]] = []
        """Called by :meth:`restart` after every session dropped (a persistence layer
        reloads its state here)."""
        self.restarts = 0

    # ---------------------------------------------------------------- accounts

    def add_account(self, phone: str, password: str | bytes, push_name: str = "") -> Account:
        return self.state.add_account(phone, password, push_name=push_name)

    def success_attrs(self, account: Account) -> dict[str, str]:
        """The attributes of ``success`` (§2.9), in the order the recorded sessions show."""
        now = self.clock.now()
        return {
            "status": account.status,
            "kind": account.kind,
            "creation": str(account.creation),
            "expiration": str(account.expiration_at(now)),
            "props": self.config.props_version,
            "t": str(now),
        }

    # ---------------------------------------------------------------- connections

    def handle_stream(
        self, stream: trio.abc.Stream, peer: str = "stream", *, capped: bool = False
    ) -> Coroutine[Any, Any, None]:
        """Serve one byte-stream connection (TCP or in-memory) until it ends: the
        coroutine to await (or to start as a task), which is the session's own
        :meth:`Session.run` (no frame of the server's held per connection).

        ``capped``: count it against ``max_pending_logins`` until it has logged in.
        """
        return self._session(self._stream_link(stream, peer), capped=capped).run()

    def handle_link(self, link: Link, *, capped: bool = False) -> Coroutine[Any, Any, None]:
        """Serve one link until it ends: the coroutine of its session's
        :meth:`Session.run` (which takes the session out of the registry at its end)."""
        return self._session(link, capped=capped).run()

    def _stream_link(self, stream: trio.abc.Stream, peer: str) -> StreamLink:
        config = self.config
        faulty = FaultStream(stream, self.faults)  # network faults (latency, resets...)
        link = StreamLink(
            faulty,
            Connection(Role.SERVER, limits=config.wire),
            peer=peer,
            frame_timeout=config.frame_timeout,
            receive_from=stream,  # the faults are on the writes: read the stream itself
            batch=self._write_batch,
        )
        faulty.link = link
        return link

    def _session(self, link: Link, *, capped: bool) -> Session:
        """A new session in the registry (``capped``: among those logging in)."""
        session = Session(self, link, next(self._numbers))
        self.all_sessions.add(session)
        if capped:
            self._make_room_to_log_in()
            self.logging_in[session] = None
        return session

    def forget(self, session: Session) -> None:
        """A session's connection is over: out of the registry."""
        self.all_sessions.discard(session)
        FREEZER.ended()
        self.logging_in.pop(session, None)
        if session.counted:
            session.counted = False
            self.tcp_connections -= 1

    def start_task(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` in a task of the server's (for sessions with none of their own);
        nothing once the server is gone."""
        with contextlib.suppress(RuntimeError):  # the nursery is closed: the server is gone
            self._nursery.start_soon(fn)

    def _make_room_to_log_in(self) -> None:
        """Drop the oldest peers still logging in until one more fits: a crowd of peers
        that never log in cannot keep a real client out (it only ages them out)."""
        while len(self.logging_in) >= self.config.max_pending_logins:
            oldest = next(iter(self.logging_in))
            del self.logging_in[oldest]
            log.info("dropping %s (%s): too many peers logging in", oldest, oldest.link.peer)
            oldest.kill("too many connections logging in")

    async def connect_nodes(self, dialect: Dialect = Dialect.V16) -> Link:
        """An in-process client link of Node objects (the fast path); the server end runs here."""
        client_end, server_end = node_link_pair(
            NodeConnection(Role.CLIENT, dialect=dialect),
            NodeConnection(Role.SERVER, dialect=dialect),
            self.relay,
        )
        self._nursery.start_soon(self.handle_link, server_end)
        await trio.lowlevel.checkpoint()
        return client_end

    async def connect_bytes(self, dialect: Dialect = Dialect.V16) -> Link:
        """An in-process client link over a byte stream: the full wire, no sockets."""
        client_stream, server_stream = memory_stream_pair()
        self._nursery.start_soon(self.handle_stream, server_stream, "memory-bytes")
        await trio.lowlevel.checkpoint()
        return StreamLink(
            client_stream,
            Connection(Role.CLIENT, dialect=dialect),
            peer="server",
            batch=WriteBatch(),  # what the reader answers to one read: one write
        )

    async def listen_tcp(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Start accepting TCP clients; returns the address actually bound."""
        return await listen_tcp(self._nursery, host, port, self._serve_tcp_peer)

    def _serve_tcp_peer(self, stream: trio.SocketStream) -> Coroutine[Any, Any, None]:
        """The task of one TCP peer: its session's run (counted in ``tcp_connections``
        until :meth:`forget`), or the close of a connection over ``max_connections``."""
        if self.tcp_connections >= self.config.max_connections:
            log.warning("refusing a connection: %d are open", self.tcp_connections)
            return stream.aclose()
        try:
            host, port = stream.socket.getpeername()[:2]
            peer = f"tcp {host}:{port}"
        except OSError:  # gone already: its session finds out at its first read
            peer = "tcp (gone)"
        session = self._session(self._stream_link(stream, peer), capped=True)
        session.counted = True
        self.tcp_connections += 1
        return session.run()

    async def listen_http(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> tuple[str, int]:
        """Start the HTTP side (registration, media) on TCP, HTTPS with ``tls`` (see
        :mod:`simulator.server.tls`); returns the address bound."""
        return await self.http.listen(self._nursery, host, port, tls)

    async def connect_http(self) -> trio.abc.Stream:
        """An in-process connection to the HTTP side: a byte stream, no sockets."""
        return await self.http.connect(self._nursery)

    # ---------------------------------------------------------------- session registry

    def attach(self, session: Session) -> None:
        """A session finished its login: make it the user's live session (§4.3)."""
        self.logging_in.pop(session, None)
        if session.passive:
            return
        old = self.sessions.get(session.jid)
        if old is not None and old is not session:
            old.close(
                stream_error("conflict", "Replaced by new connection"), "replaced by a new login"
            )
        self.sessions[session.jid] = session
        session.replay_pending()

    def detach(self, session: Session) -> None:
        if self.sessions.get(session.jid) is session:
            del self.sessions[session.jid]
            self.on_disconnect(session)

    def on_disconnect(self, session: Session) -> None:
        """The user's live session ended: the flows' hooks run (presence goes unavailable,
        §3.14)."""
        for hook in self.router.disconnect_hooks:
            hook(session.ctx)

    def live(self, jid: str) -> Session | None:
        session = self.sessions.get(jid)
        if session is None or session.state is not _ACTIVE_SESSION:
            return None
        return session

    # ---------------------------------------------------------------- routing

    async def dispatch(
        self, session: Session, node: Node, *, pushed: bool = False, past_faults: bool = False
    ) -> None:
        """A stanza from ``session``'s peer: the taps see it, the faults may take it, and
        it is routed to its handler (all here: one coroutine per stanza).

        ``pushed``: handed over in the sender's task (push mode, ``Session._take_pushes``),
        not read by the session's reader: then a stopped session (killed, closed) takes
        nothing more, as its cancelled reader would not have read it. ``past_faults``:
        the routing alone (:meth:`handle`).
        """
        if not past_faults:
            if pushed and session.stopped:
                return
            taps = self.taps
            if taps:
                for tap in taps:
                    tap("in", session.jid, node)
            if self.faults.active and await self.faults.ingress(session, node):
                return  # a fault took it (simulator.server.faults)
        route = self._route(session, node)
        if route is None:
            return
        try:
            pending = route.handler(session.ctx, node)
            if pending is not None:  # an async handler
                await pending
        except Exception as exc:
            self._handler_failed(route, session, node, exc)
        # Whatever the handler changed is on disk before anything it queued is sent:
        # the session writers run only at the next checkpoint, after this returns.
        if self.store is not None:  # persist(), without the call when in memory
            self.persist()

    def take_pushed(self, session: Session, node: Node) -> Coroutine[Any, Any, None] | None:
        """:meth:`dispatch` of a stanza pushed in the sender's task (push mode): a plain
        call when no fault is set and the stanza's handler is a plain function (the
        receipts, acks and messages of every conversation), else the coroutine of
        :meth:`dispatch` for the sender's relay to run. The same steps either way, in
        the same order: no coroutine to make and run per stanza on the hot path."""
        if session.stopped:
            return None
        if self.faults.active:
            return self.dispatch(session, node, pushed=True)
        taps = self.taps
        if taps:
            for tap in taps:
                tap("in", session.jid, node)
        route = self._route(session, node)
        if route is None:
            return None
        try:
            pending = route.handler(session.ctx, node)
        except Exception as exc:
            self._handler_failed(route, session, node, exc)
        else:
            if pending is not None:  # an async handler: its coroutine is run by the relay
                return self._finish(route, session, node, pending)
        if self.store is not None:
            self.persist()
        return None

    async def _finish(
        self, route: Route, session: Session, node: Node, pending: Awaitable[None]
    ) -> None:
        """The rest of :meth:`take_pushed` for an async handler."""
        try:
            await pending
        except Exception as exc:
            self._handler_failed(route, session, node, exc)
        if self.store is not None:
            self.persist()

    async def handle(self, session: Session, node: Node) -> None:
        """Route one stanza to its handler, past every fault (see "Fault isolation"): what
        a fault delayed or held, going on."""
        await self.dispatch(session, node, past_faults=True)

    def _route(self, session: Session, node: Node) -> Route | None:
        """The route of a stanza, or None when nothing handles it: then it is answered
        here, if it has to be (a ``to`` that is no JID, an iq nobody serves)."""
        to = node.attrs.get("to")
        if to is not None and not is_jid(to):
            self._refuse_address(session, node, to)
            return None
        route = self.router.by_tag.get(node.tag)  # lookup()'s first step, without the call
        if route is not None:
            return route
        route = self.router.lookup(node)
        if route is None and node.tag == "iq" and node.get("type") in ("get", "set"):
            self._error_reply(session, node, StanzaError(501, "feature-not-implemented"))
        return route

    def _handler_failed(self, route: Route, session: Session, node: Node, exc: Exception) -> None:
        """What a handler raised: a flow's refusal, or a bug that fails this stanza only."""
        if isinstance(exc, StanzaError):
            if node.tag == "iq":
                self._error_reply(session, node, exc)
            return
        self.report_bug(f"{route.pattern} for {session!r}", node, exc)
        if node.tag == "iq" and node.get("type") in ("get", "set"):
            self._error_reply(session, node, StanzaError(500, "internal-server-error"))

    def persist(self) -> None:
        """Commit what changed to the state file, if there is one (see
        ``simulator.server.store``); a no-op in memory."""
        if self.store is not None:
            self.store.commit(self.state, self.ids.counted)

    def report_bug(self, where: str, stanza: Node | None, exc: BaseException) -> None:
        """Log a server bug with its traceback (and keep it, if ``strict``)."""
        report = BugReport(where, stanza, "".join(traceback.format_exception(exc)))
        log.error("%s", report)
        if self.config.strict and len(self.bugs) < _MAX_BUGS_KEPT:
            self.bugs.append(report)

    def take_bugs(self) -> list[BugReport]:
        """The bugs kept so far, forgotten here (whoever takes them reports them)."""
        bugs, self.bugs = self.bugs, []
        return bugs

    def _refuse_address(self, session: Session, node: Node, to: str) -> None:
        """A stanza whose ``to`` is not a JID (a file path, a name): never acked and dropped.

        An iq request gets ``400 bad-request`` (§4.2); any other stanza the §3.10 answer
        to a malformed message, ``<stream:error><xml-not-well-formed/>`` and the close,
        whose reason names the address (``simulator serve`` logs it).
        """
        if node.tag == "iq" and node.get("type") in ("get", "set"):
            self._error_reply(session, node, StanzaError(400, "bad-request"), sender=SERVER)
            return
        reason = f"malformed {node.tag}: to={to!r} is not a JID"
        session.close(stream_error("xml-not-well-formed"), reason)

    def _error_reply(
        self, session: Session, request: Node, exc: StanzaError, *, sender: str | None = None
    ) -> None:
        sender = sender or request.get("to") or SERVER
        session.push(
            stanzas.errors.iq_error(request, exc.code, exc.text, sender=sender, backoff=exc.backoff)
        )

    def deliver(self, to: str, node: Node) -> None:
        """Keep ``node`` pending for ``to`` and push it if ``to`` is connected (§4.4)."""
        self.deliver_each((to,), node)

    def deliver_each(self, recipients: Iterable[str], node: Node) -> None:
        """:meth:`deliver` the same ``node`` to each recipient (an account), in order (a
        group message, a notification to several users): its mailbox key is made once
        for all."""
        kind = _PENDING_KINDS.get(node.tag)
        assert kind is not None, f"only messages, receipts and notifications are kept: {node}"
        key = (kind, node.attrs.get("id", ""), pending_peer(node))
        accounts, sessions = self.state.accounts, self.sessions
        keep_pending, limit = self.state.keep_pending, self.config.offline_limit
        for to in recipients:
            if to not in accounts:
                continue
            dropped = keep_pending(to, key, node, limit)
            if dropped is not None:
                log.warning("offline queue of %s is full: forgot %s", to, dropped)
            session = sessions.get(to)  # live(to), spelled out
            if session is not None and session.state is _ACTIVE_SESSION:
                session.push(node)

    def send_live(self, to: str, node: Node) -> bool:
        session = self.live(to)
        if session is None:
            return False
        session.push(node)
        return True

    def message_authors(self, gjid: str, msg_id: str) -> frozenset[str]:
        """Who sent a group message with this id (ids are unique per sender only)."""
        return frozenset(self.state.group_message_authors.get((gjid, msg_id), ()))

    # ---------------------------------------------------------------- faults and restart

    def error_reply(self, session: Session, request: Node, exc: StanzaError) -> None:
        """Answer ``request`` (an iq) with ``exc`` as its error: what a fault says."""
        self._error_reply(session, request, exc)

    def restart(self, *, goodbye: bool = False) -> int:
        """Restart the service: every connection drops (with ``<stream:error>
        <system-shutdown/>`` first if ``goodbye``, else without a word, like a crash);
        what the state holds survives, so clients log in again and find their accounts,
        groups and undelivered stanzas. Stanzas held by faults are lost, as in transit.
        Returns how many connections were dropped."""
        # In the order they connected: a set's order changes from run to run.
        sessions = sorted(self.all_sessions, key=lambda session: session.number)
        for session in sessions:
            if goodbye:
                session.close(stream_error("system-shutdown"), "server restart")
            else:
                session.kill("server restart")
        self.faults.restarted(len(sessions))
        self.restarts += 1
        log.info("restart #%d: dropped %d connections", self.restarts, len(sessions))
        self.persist()
        for hook in list(self.restart_hooks):
            hook()
        return len(sessions)

    # ---------------------------------------------------------------- server-originated iqs

    def ping(self, jid: str) -> str | None:
        """Send a server ping (``urn:xmpp:ping``, §3.1) to a connected user; returns its id."""
        session = self.live(jid)
        if session is None:
            return None
        iq_id = f"{self.clock.now()}-ping-{self.ids.counter()}"
        self.state.expect_answer(jid, iq_id)
        self._answered[(jid, iq_id)] = trio.Event()
        session.push(stanzas.iq.server_ping(iq_id))
        return iq_id

    async def wait_answer(self, jid: str, iq_id: str) -> Node:
        """Wait for the answer to a server-originated iq."""
        event = self._answered.get((jid, iq_id))
        if event is None:
            raise KeyError(f"no iq {iq_id!r} was sent to {jid}")
        await event.wait()
        del self._answered[(jid, iq_id)]
        answer = self.state.take_answer(jid, iq_id)
        assert answer is not None, "the wake-up comes only with an answer"
        return answer

    def iq_answered(self, jid: str, node: Node) -> None:
        if self.state.record_answer(jid, node):
            event = self._answered.get((jid, node.get("id", "")))
            if event is not None:  # None: asked by an earlier server of this state
                event.set()

    def tap(self, observer: Tap) -> Callable[[], None]:
        """Observe every stanza in and out; returns a function that removes the observer."""
        self.taps.append(observer)
        return lambda: self.taps.remove(observer)

    def watch_sessions(self, watcher: SessionWatcher) -> Callable[[], None]:
        """Observe every session's connect, login and end; returns the remover."""
        self.session_watchers.append(watcher)
        return lambda: self.session_watchers.remove(watcher)

    def session_event(self, event: SessionEvent, session: Session) -> None:
        """Log a session's connect, login or end, and tell the watchers."""
        who = f"session #{session.number}"
        if event == "connected":
            log.info("%s from %s: connected", who, session.link.peer)
        elif event == "login":
            FREEZER.logged_in()
            passive = ", passive" if session.passive else ""
            log.info("%s: %s logged in (%s%s)", who, session.jid, session.resource, passive)
        else:
            reason = session.close_reason or "server stopped"
            level = logging.INFO if reason in ORDINARY_ENDS else logging.WARNING
            log.log(level, "%s %s: ended: %s", who, session.jid or session.link.peer, reason)
        for watcher in list(self.session_watchers):
            watcher(event, session)


def pending_peer(node: Node) -> str:
    """The third part of a mailbox key: ``from[/participant][#type]``.

    A delivery and a read receipt for the same message share an id; the type keeps them
    apart, and the ``from`` keeps apart equal ids of different senders (§4.1).
    """
    get = node.attrs.get  # hot: one bound method for every attribute read
    peer = get("from", "")
    participant = get("participant")
    if participant:
        peer = f"{peer}/{participant}"
    if node.tag == "receipt" and get("type"):
        peer = f"{peer}#{get('type')}"
    return peer


@asynccontextmanager
async def open_server(
    *,
    accounts: Iterable[tuple[str, str | bytes] | tuple[str, str | bytes, str]] = (),
    config: ServerConfig | None = None,
    state: State | None = None,
    router: Router | None = None,
    store: Store | None = None,
) -> AsyncIterator[Server]:
    """Run a server for the duration of the block; every session ends with it.

    Args:
        accounts: ``(phone, password_b64[, push_name])`` tuples to register up front.
        config: clock epoch, id seed, limits.
        state: a prepared world (accounts, contacts, groups...) to serve.
        router: a custom routing table (default: every flow).
        store: a state file to serve from and keep up to date (instead of ``state``).
    """
    config = config or ServerConfig()
    with collector_for_server(config.gc_freeze_sessions) as member:
        async with trio.open_nursery() as nursery:
            server = Server(nursery, state=state, router=router, config=config, store=store)
            member.sessions = server.all_sessions
            for phone, password, *name in accounts:
                server.add_account(phone, password, name[0] if name else "")
            server.persist()
            try:
                yield server
            except BaseException as exc:
                if server.bugs:
                    exc.add_note("\n\n".join(str(bug) for bug in server.take_bugs()))
                raise
            finally:
                for session in list(server.all_sessions):
                    session.stop()  # parked sessions have no task to cancel
                nursery.cancel_scope.cancel()
                server.persist()
        if server.bugs:
            raise ServerBug(server.take_bugs())
