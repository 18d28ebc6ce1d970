"""`Session`: the life of one client connection on the server.

Theory of operation
-------------------
A session owns one :class:`~simulator.transport.link.Link` and runs in three phases:

1. **Login.** Read the handshake events; look the user up; answer with a challenge (or
   accept a fast re-login blob), then ``success`` or ``failure`` (PROTOCOL.md §2). An
   unknown number is challenged like a known one and refused after its response; failed
   logins are throttled per number when ``login_throttle`` is set
   (``simulator.server.throttle``). A peer that stalls here is dropped after
   ``login_timeout`` seconds of server time.
2. **Attach.** A non-passive session replaces any older session of the same user (the
   old one gets ``<stream:error><conflict/>``, §3.17), then replays the user's mailbox
   with ``offline="1"`` and ends the replay with ``<ib><offline count="N"/></ib>`` (§4.4).
3. **Serve.** On a byte stream, the reader feeds every stanza to the router, one at a
   time (§4.3: strictly sequential per connection). Everything for this peer (replies,
   deliveries from other sessions, notifications) is sealed as it is pushed
   (``StreamLink.send_soon``) and written by the task that pushed it, without waking
   another: what the router makes while the server's reader works through one read
   goes out in one write per peer when that reader waits again (the server's
   ``WriteBatch``). The order the handlers produce is the order on the wire, and the
   RC4/MAC state advances in step. Only what the kernel does not take at once (or a
   write with a network fault set) starts a writer task for the session, in the
   server's nursery, which finishes it and ends (an idle session holds no writer, no
   queue and no nursery: about 5 KB less); a link without ``send_soon`` gets the older
   outbound queue, drained by a writer task of its own, every stanza queued by the
   time it wakes in one write. On the in-process
   node link, which never blocks a sender, stanzas go onto the link directly, in the
   same order, and there is no queue and no writer task; without ``idle_timeout`` the
   session also takes pushes (``_take_pushes``): the client's task hands each stanza to
   the router itself, in order, through the server's relay, and the session **parks**:
   its task ends once nothing waits (an idle session holds no task), and the link
   starts one in the server's nursery (``_resume``) when something needs reading (the
   stream's end, the peer gone) or the session is killed or the server stops.

Isolation: whatever the peer does (garbage, a stall, a disconnect mid-frame) ends only
this session. A protocol error is answered with its reply hint (``stream:error``)
before closing. A reader that falls more than ``outbox_limit`` stanzas behind is
disconnected (on every link: on the in-process node link, what the peer has not taken
counts too); whatever it did not acknowledge stays in its mailbox for next time. A peer
that stops in the middle of a frame for ``frame_timeout`` seconds is dropped (the link
raises ``LinkStalled``). One idle between frames is fine as long as it answers pings:
with ``idle_timeout`` set, a peer silent that long gets a server ping (§3.1), and is
dropped if it stays silent as long again.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, TypeVar, final

import trio

from simulator import stanzas
from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.jid import user_jid
from simulator.server.context import HandlerContext
from simulator.server.throttle import LOCKED_REASON
from simulator.stanzas.errors import stream_error
from simulator.transport.link import Consumer, LinkClosed, LinkStalled, StreamLink
from simulator.wire.events import (
    Authenticate,
    ConnectionClosed,
    Event,
    Failure,
    LoginRejected,
    LoginRequested,
    LoginVerified,
    NodeReceived,
    StreamEnded,
    Success,
)
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.server.state import Account
    from simulator.transport.link import Link

__all__ = ["Session", "SessionState", "stream_error"]

T = TypeVar("T")

_MAX_BATCH: Final = 32
"""Most stanzas the writer puts in one write: a burst costs one syscall, and what is in
flight beyond the outbound limit stays small."""


class Profile(enum.Enum):
    """What the client on the other end can digest (PROTOCOL.md §6.3).

    yowsup 2.0.x crashes its event loop on most notification types and on unknown
    ``ib`` children, so a session that looks like it gets those held back: they stay in
    the mailbox for another client of the same account, never pushed to this one.
    """

    LEGACY_20 = "yowsup 2.0"
    """``WA 1 5`` with an empty ``stream:features`` (2.4.102 and Chat-API 2015 list four)."""
    MODERN = "modern"


# Notification types yowsup 2.0.x cannot parse (§6.2, §6.3); `picture` only with <set>.
_LEGACY_UNSAFE_NOTIFICATIONS: Final = frozenset(
    {"contacts", "w:gp2", "web", "account", "encrypt", "subject"}
)


def client_profile(link: Link, event: LoginRequested) -> Profile:
    if link.dialect is Dialect.V15 and not event.features.children:
        return Profile.LEGACY_20
    return Profile.MODERN


def digestible(profile: Profile, node: Node) -> bool:
    """Whether a client of this profile survives receiving ``node`` (§6.2, §6.3)."""
    if profile is Profile.MODERN:
        return True
    if node.tag == "notification":
        kind = node.get("type")
        if kind in _LEGACY_UNSAFE_NOTIFICATIONS:
            return False
        return not (kind == "picture" and node.child("set") is None)
    if node.tag == "ib":
        return all(child.tag in ("offline", "dirty") for child in node.children)
    return True


class SessionState(enum.Enum):
    LOGGING_IN = "logging in"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"


_ACTIVE: Final = SessionState.ACTIVE
"""A global, not ``SessionState.ACTIVE``: an enum member read off its class costs a
lookup through the enum's metaclass, and every stanza pushed asks."""
_MODERN: Final = Profile.MODERN


@final
class Session:
    """One connection. Created and run by the server; see the module docstring."""

    def __init__(self, server: Server, link: Link, number: int) -> None:
        self.server = server
        self.link = link
        self.number = number
        self.state = SessionState.LOGGING_IN
        self.account: Account | None = None
        self.jid = ""
        self.passive = False
        self.ctx = HandlerContext(server, self)
        self.close_reason: str | None = None
        self.profile = Profile.MODERN
        self.resource = ""
        self._cancel = trio.CancelScope()
        self.counted = False
        """Counted in the server's ``tcp_connections`` until :meth:`Server.forget`."""
        self.stopped = False
        """The session's task was told to stop (:meth:`_stop`): nothing more it reads is
        handled in push mode (:meth:`Server.dispatch` checks). Kept here rather than asked of the
        cancel scope, which checks its deadline against the clock at every look."""
        self._parked = False
        """Idle on an in-process node link with no task: the link starts one when needed."""
        self._outbox_limit = server.config.outbox_limit
        # Links that can send without blocking (the in-memory node link) are written to
        # directly: the outbound queue and its writer task exist only for byte streams,
        # whose writes may block (an idle in-process session holds neither).
        self._direct: Callable[[Node], None] | None = getattr(link, "send_nowait", None)
        # What such a link holds for a peer that does not read counts against the limit.
        self._link_backlog: Callable[[], int] | None = getattr(link, "backlog", None)
        self._out_tx: trio.MemorySendChannel[Node | None] | None = None
        self._out_rx: trio.MemoryReceiveChannel[Node | None] | None = None
        # A byte stream link seals and writes in the pusher's task (send_soon): no queue,
        # and a writer task only while the link holds what the kernel did not take.
        self._soon: Callable[[Node], None] | None = None
        self._flushing: trio.CancelScope | None = None
        """The writer task's scope while one runs (:meth:`_flush`)."""
        self._closing = False
        """:meth:`close` was called on a ``send_soon`` link: the writer closes it once
        everything is written."""
        if isinstance(link, StreamLink):
            self._soon = link.send_soon
            link.on_stuck = self._stuck
        elif self._direct is None:
            self._out_tx, self._out_rx = trio.open_memory_channel[Node | None](math.inf)

    def __repr__(self) -> str:
        return f"<Session #{self.number} {self.jid or '(not logged in)'} {self.state.value}>"

    # ---------------------------------------------------------------- the whole life

    async def run(self) -> None:
        """The session's life, until it is out of the server's registry; or until it is
        parked (:meth:`_may_park`): it goes on with no task, and ends in a task of the
        server's started when the link needs one. What the session raises beyond what
        the peer can cause is a server bug: it ends this session, never the server.

        Over a socket (without ``idle_timeout``) the session waits for input here, in
        the task's outermost frame: an idle session holds this one frame and trio's
        wait, not the chain of a read (the link's ``receive_or_idle`` returns None
        where that chain would wait)."""
        self.server.session_event("connected", self)
        parked = False
        try:
            with self._cancel:
                account = await self._guarded(self._login_in_time)
                if account is None:
                    return
                self.account = account
                self.jid = account.jid
                self.server.session_event("login", self)
                link = self.link
                if isinstance(link, StreamLink):  # a writer only when stuck (_flush)
                    self.state = SessionState.ACTIVE
                    self.server.attach(self)
                    if link.can_idle and self.server.config.idle_timeout is None:
                        while await self._guarded(self._catch_up) is False:
                            try:  # noqa: SIM105 -- no suppress object held per idle session
                                await link.input_ready()
                            except (trio.BrokenResourceError, trio.ClosedResourceError):
                                pass  # the read that follows finds out what it means
                    else:
                        await self._guarded(self._reader)
                    # The stream ended: what is still to write goes out before the close.
                    with contextlib.suppress(LinkClosed):
                        await link.flush()
                    return
                if self._out_tx is None:  # a direct link: no queue, no writer
                    self.state = SessionState.ACTIVE
                    idle = self._take_pushes()
                    self.server.attach(self)
                    read = self._catch_up if idle else self._reader
                    parked = await self._guarded(read) is False and self._may_park()
                    return
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer)
                    self.state = SessionState.ACTIVE
                    self.server.attach(self)
                    await self._guarded(self._reader)
                    self._out_tx.send_nowait(None)  # let the writer drain, then stop
        except Exception as exc:  # a server bug: it ends this session, never the server
            self.server.report_bug(repr(self), None, exc)
        finally:
            await self._park_or_end(parked)

    async def _park_or_end(self, parked: bool) -> None:
        """After the session's task: parked, it goes on with no task (:meth:`_wake`
        starts one); else it ends."""
        if parked:
            self._parked = True
        else:
            await self._end_and_forget()

    async def _end_and_forget(self) -> None:
        """:meth:`_end`, then out of the server's registry, whatever the end raised (a
        server bug, say in a disconnect hook: reported, and it ends nothing else)."""
        try:
            await self._end()
        except Exception as exc:
            self.server.report_bug(repr(self), None, exc)
        finally:
            self.server.forget(self)

    async def _end(self) -> None:
        self.state = SessionState.CLOSED
        try:
            self.server.detach(self)
            self.server.session_event("ended", self)
        finally:  # closed whatever a hook raised: no connection outlives its session
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await self.link.aclose()

    def _may_park(self) -> bool:
        """Nothing waits on the link: park, unless the session was killed or closed
        meanwhile (with no checkpoint since, nothing raised Cancelled yet)."""
        return not self.stopped

    def _wake(self) -> None:
        """The parked session's link needs a reader, or the session must end: go on in
        a task of the server's (:meth:`_resume`)."""
        if self._parked:
            self._parked = False
            self.server.start_task(self._resume)

    async def _resume(self) -> None:
        """A parked session goes on: reads what needs reading (and parks again once
        nothing waits), or ends."""
        parked = False
        try:
            if not self.stopped:  # killed while parked: just end
                self._cancel = trio.CancelScope()
                with self._cancel:
                    parked = await self._guarded(self._catch_up) is False and self._may_park()
        except Exception as exc:  # a server bug: it ends this session, never the server
            self.server.report_bug(repr(self), None, exc)
        finally:
            await self._park_or_end(parked)

    def stop(self) -> None:
        """The server stops: a parked session ends (a running one is cancelled with the
        server's tasks)."""
        if self._parked:
            self._stop()

    async def _guarded(self, phase: Callable[[], Awaitable[T]]) -> T | None:
        """Run a phase; what the peer can cause ends the session here, nowhere else."""
        try:
            return await phase()
        except RemoteProtocolError as exc:
            self.close_reason = f"protocol error: {exc}"
            if exc.reply_hint is not None:
                with trio.move_on_after(1), contextlib.suppress(LinkClosed, RemoteProtocolError):
                    await self.link.send(exc.reply_hint)
        except LinkStalled as exc:
            self.close_reason = self.close_reason or f"read timeout: {exc}"
        except LinkClosed:
            self.close_reason = self.close_reason or "connection lost"
        self._stop()  # the writer has nothing left to say on a broken link
        return None

    async def _login_in_time(self) -> Account | None:
        with trio.move_on_after(self.server.config.login_timeout):
            return await self._login()
        self.close_reason = "login timed out"
        return None

    # ---------------------------------------------------------------- phase 1: login

    async def _login(self) -> Account | None:
        """Known and unknown numbers look the same from outside: both get a challenge,
        and an unknown one (checked against a random password nobody has) the same
        ``not-authorized`` after its response. A throttled number (``login_throttle``)
        gets the challenge too, and ``temporarily-unavailable`` unchecked."""
        account: Account | None = None
        user = ""
        throttle = self.server.login_throttle
        while True:
            event = await self.link.receive()
            if isinstance(event, LoginRequested):
                self.profile = client_profile(self.link, event)
                self.resource = event.resource
                user = user_jid(event.user)  # one throttle key per account, however written
                account = self.server.state.account(user)
                await self.link.send(
                    Authenticate(
                        password=account.password if account else self.server.secrets.decoy(),
                        nonce=self.server.secrets.nonce(),
                        stored_nonce=account.next_nonce if account else None,
                    )
                )
            elif isinstance(event, (LoginVerified, LoginRejected)) and (
                throttle is not None and throttle.locked(user, trio.current_time())
            ):
                self.close_reason = f"login for {user} refused: too many failures"
                await self.link.send(Failure(reason=LOCKED_REASON))
                return None
            elif isinstance(event, LoginVerified) and account is not None:
                if throttle is not None:
                    throttle.succeeded(user)
                refusal = self.server.faults.login_refusal(user)
                if refusal is not None:  # a fault refuses it (simulator.server.faults)
                    self.close_reason = f"login for {user} refused by a fault: {refusal}"
                    await self.link.send(Failure(reason=refusal))
                    return None
                self.passive = event.passive
                nonce = self.server.secrets.nonce()
                self.server.state.set_next_nonce(account.jid, nonce)
                self.server.persist()  # the nonce is on disk before the client has it
                await self.link.send(Success(attrs=self.server.success_attrs(account), nonce=nonce))
                return account
            elif isinstance(event, (LoginVerified, LoginRejected)):
                known = account is not None
                self.close_reason = f"{'wrong password for' if known else 'unknown user'} {user}"
                if throttle is not None:
                    throttle.failed(user, trio.current_time())
                await self.link.send(Failure())
                return None
            elif isinstance(event, ConnectionClosed):
                self.close_reason = "closed during login"
                return None

    # ---------------------------------------------------------------- phase 3: serve

    # _catch_up and _reader return _read's coroutine instead of awaiting it: no frame of
    # their own held per waiting session.

    def _catch_up(self) -> Awaitable[bool]:
        """The reader of a session in idle push mode (``NodeLink.consume_idle``), or of
        one that waits for its socket in :meth:`run`: True when the session is over,
        False once nothing waits (the session parks, or waits for input)."""
        return self._read(self.link.receive_or_idle)  # type: ignore[attr-defined]

    def _reader(self) -> Awaitable[bool]:
        # Without idle_timeout, the link's own receive: one frame less held per session.
        receive = self.link.receive if self.server.config.idle_timeout is None else self._receive
        return self._read(receive)

    async def _read(self, receive: Callable[[], Awaitable[Event | None]]) -> bool:
        """Dispatch what ``receive`` returns until the stream ends (True) or, in idle push
        mode, it returns None: nothing waits any more (False)."""
        dispatch = self.server.dispatch
        while True:
            event = await receive()
            if event is None:
                return False
            if isinstance(event, NodeReceived):
                await dispatch(self, event.node)
            elif isinstance(event, StreamEnded):
                # A server that closed first keeps its reason (the client's goodbye answers it).
                self.close_reason = self.close_reason or "client ended the stream"
                self.state = SessionState.CLOSING
                return True
            elif isinstance(event, ConnectionClosed):
                self.close_reason = self.close_reason or "client disconnected"
                return True

    def _take_pushes(self) -> bool:
        """On an in-process node link, have the peer's stanzas handed to the router in
        the sender's task (push mode) instead of waking the reader for each. Not with
        ``idle_timeout``, which times the reader's waits. True: idle push mode
        (``NodeLink.consume_idle``): no task waits for the stream's end; the session
        parks once nothing waits, and the link wakes it (:meth:`_wake`)."""
        if self.server.config.idle_timeout is not None:
            return False
        consume_idle = getattr(self.link, "consume_idle", None)
        if consume_idle is not None:
            consume_idle(self._pushed(), self._wake)
            return True
        consume = getattr(self.link, "consume", None)
        if consume is not None:
            consume(self._pushed())
        return False

    def _pushed(self) -> Consumer:
        """The router, for a stanza pushed in the sender's task (one partial per session;
        :meth:`Server.take_pushed` checks :attr:`stopped`, so a killed session handles
        nothing more)."""
        return functools.partial(self.server.take_pushed, self)

    async def _receive(self) -> Event:
        """The next event; with ``idle_timeout``, a silent peer is pinged, then dropped."""
        idle = self.server.config.idle_timeout
        if idle is None:
            return await self.link.receive()
        with trio.move_on_after(idle):
            return await self.link.receive()
        server = self.server
        iq_id = f"{server.clock.now()}-idle-{server.ids.counter()}"
        self.push(stanzas.iq.server_ping(iq_id))
        with trio.move_on_after(idle):
            return await self.link.receive()
        raise LinkStalled(f"silent for {2 * idle:g} s, no answer to a ping")

    def _stuck(self) -> None:
        """The link holds frames it could not write without waiting (or :meth:`close`
        wants it closed once written): a writer task finishes them, started now in the
        server's nursery unless one runs. An idle session holds no writer."""
        if self._flushing is None:
            self._flushing = trio.CancelScope()
            self.server.start_task(self._flush)

    async def _flush(self) -> None:
        """The writer of a ``send_soon`` link: write what the link holds, waiting as long
        as that takes (with it, whatever the link is given meanwhile), then end; close
        the link first if the session is closing or the link broke. :meth:`_stop` cancels
        it (a write cut short leaves the link broken)."""
        scope = self._flushing
        assert scope is not None
        link = self.link
        assert isinstance(link, StreamLink)
        try:
            with scope:
                with contextlib.suppress(LinkClosed):  # the reader hears of it too
                    await link.flush()
                if self._closing or link.closed:
                    await link.aclose()
                    self._stop()
        except Exception as exc:  # a server bug: it ends this session, never the server
            self.server.report_bug(repr(self), None, exc)
            self.kill(f"writer failed: {exc!r}")
        finally:
            if self._flushing is scope:
                self._flushing = None

    async def _writer(self) -> None:
        """For a link without ``send_soon``: write what is queued, in order: what is
        queued by the time the writer wakes (up to ``_MAX_BATCH`` stanzas) goes out in
        one write (``send_many``: one syscall and one wake-up at the peer for a burst),
        until the ``None`` that says stop. Stanzas being written no longer count as
        queued (:meth:`backlog`)."""
        assert self._out_rx is not None
        receive, take = self._out_rx.receive, self._out_rx.receive_nowait
        link = self.link
        send_many: Callable[[list[Node]], Awaitable[None]] | None = getattr(link, "send_many", None)
        stop = False
        while not stop:
            item = await receive()
            batch: list[Node] = []
            while item is not None:
                batch.append(item)
                if send_many is None or len(batch) == _MAX_BATCH:
                    break
                try:
                    item = take()
                except trio.WouldBlock:
                    break
            stop = item is None
            try:
                if send_many is not None:
                    if batch:
                        await send_many(batch)
                elif batch:
                    await link.send(batch[0])
            except LinkClosed:  # also when the reader found the peer's bytes broken
                break
        await self.link.aclose()
        self._stop()

    # ---------------------------------------------------------------- outbound queue

    def push(self, node: Node, *, force: bool = False) -> None:
        """Queue a stanza for this peer; never blocks.

        A peer that has fallen ``outbox_limit`` stanzas behind is disconnected: a slow
        reader must never hold up the sessions that send to it. ``force`` skips that
        check (the mailbox replay at login, however long).
        """
        if self.state is not _ACTIVE or (
            self.profile is not _MODERN and not digestible(self.profile, node)
        ):
            return
        server = self.server
        faults = server.faults
        if faults.active and faults.egress(self, node):
            return  # a fault took it (simulator.server.faults)
        direct = self._direct
        if direct is not None and not server.taps:  # emit() on a direct link, spelled out
            link_backlog = self._link_backlog
            if not force and link_backlog is not None and link_backlog() >= self._outbox_limit:
                self.kill("too slow: outbound queue full")
                return
            try:
                direct(node)
            except LinkClosed:
                self.kill("connection lost")
            return
        self.emit(node, force=force)

    def emit(self, node: Node, *, force: bool = False) -> None:
        """Queue a stanza for this peer past every fault (what :meth:`push` does after
        asking the faults; a delayed or held stanza going on)."""
        if self.state is not SessionState.ACTIVE:
            return
        direct = self._direct
        if direct is not None:  # a direct link: what it holds for the peer is the backlog
            link_backlog = self._link_backlog
            if not force and link_backlog is not None and link_backlog() >= self._outbox_limit:
                self.kill("too slow: outbound queue full")
                return
            taps = self.server.taps
            if taps:
                for tap in taps:
                    tap("out", self.jid, node)
            try:
                direct(node)
            except LinkClosed:
                self.kill("connection lost")
            return
        if not force and self.backlog() >= self._outbox_limit:
            self.kill("too slow: outbound queue full")
            return
        for tap in self.server.taps:
            tap("out", self.jid, node)
        soon = self._soon
        if soon is not None:
            try:
                soon(node)
            except LinkClosed:
                self.kill("connection lost")
            except LocalProtocolError as exc:  # a node the wire cannot carry: a server bug
                self.server.report_bug(repr(self), node, exc)
                self.kill(f"cannot send: {exc}")
            return
        assert self._out_tx is not None
        self._out_tx.send_nowait(node)

    def is_active(self) -> bool:
        return self.state is _ACTIVE

    def backlog(self) -> int:
        """Stanzas queued for this peer and not yet written (or, on an in-process link,
        not yet taken by the peer)."""
        queued = 0
        if self._out_tx is not None and self._soon is None:
            queued = self._out_tx.statistics().current_buffer_used
        if self._link_backlog is not None:
            queued += self._link_backlog()
        return queued

    def close(self, error: Node | None = None, reason: str = "closed by server") -> None:
        """Send ``error`` (if any) after what is already queued, then close."""
        if self.state is not SessionState.ACTIVE:
            self.kill(reason)
            return
        self.close_reason = reason
        if error is not None:
            self.push(error, force=True)
        self.state = SessionState.CLOSING
        if self._soon is not None:  # the writer closes the link once all is written
            self._closing = True
            self._stuck()
        elif self._out_tx is None:  # a direct link: the error is already on it
            self._stop()  # run() closes the link, after what it holds (a parked one wakes)
        else:
            self._out_tx.send_nowait(None)

    def kill(self, reason: str) -> None:
        """Drop the connection now, without a goodbye."""
        self.close_reason = self.close_reason or reason
        self.state = SessionState.CLOSING
        self._stop()

    def _stop(self) -> None:
        """End the session's task (its phases, its writer): the one way it is cancelled."""
        self.stopped = True
        self._cancel.cancel()
        if self._flushing is not None:
            self._flushing.cancel()
        self._wake()  # a parked session has no task to cancel: it ends in a new one

    def replay_pending(self) -> int:
        """Queue the mailbox with ``offline="1"``, then ``<ib><offline count/></ib>`` (§4.4),
        then what the flows' login hooks add (the dirty flags still set, §3.16)."""
        count = 0
        for _key, node in self.server.state.mailbox(self.jid):
            if digestible(self.profile, node):
                self.push(node.with_attrs(offline="1"), force=True)
                count += 1
        self.push(stanzas.ib.offline_done(count), force=True)
        for hook in self.server.router.login_hooks:
            hook(self.ctx)
        # The replayed backlog is not a sign of slowness: live traffic gets the usual room
        # on top of it.
        self._outbox_limit += count + 1
        return count
