"""The core of the client library: login, the reader task, events, ``send`` and ``iq``.

Theory of operation
-------------------
:func:`~simulator.client.open_client` opens a link through a connector, runs the login
on it (the same handshake as every other client, §2) and starts :meth:`ClientCore._reader`;
the block runs with the client logged in, and leaving it ends the stream and closes the
link.

The reader turns every incoming stanza into typed events (``parse.py``) and does what a
real client does by itself, each switchable: it acks receipts and notifications
(``auto_ack``), sends delivery receipts for messages (``auto_receipt``), and answers
server pings (``auto_pong``). On an in-process node link the sender's task does this
for it (``NodeLink.consume``) and the reader waits only for the connection's end.
Answers to our own iqs resolve the waiting :meth:`ClientCore.iq` call by id instead of
becoming events.

Events are kept in arrival order until consumed: ``async for event in client.events()``
takes them in order, :meth:`ClientCore.wait_for` takes the first one that matches, and
callbacks registered with :meth:`ClientCore.on` see every event as it arrives. A task
waiting for one class of event is woken by that class only (and by the end of the
connection), not by every ack that comes first.
:meth:`ClientCore.waiting_events` tells whether the application keeps up: events that
came while it was away from the library (not waiting in it for one), and since when.

Exactly once: the automatic receipt or ack of a stanza goes out *before* the application
sees the event (over a byte stream: it is sealed first, so it precedes on the wire all the
application sends next; the link may write it together with the application's answer,
``StreamLink.reply_due``), and after :meth:`ClientCore.aclose` has said goodbye nothing
more is shown or confirmed, so the server delivers it again at the next login (§4.4).
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import functools
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from simulator import stanzas
from simulator.client import events as ev
from simulator.client.parse import LAZY as _LAZY
from simulator.client.parse import MAKERS as _MAKERS
from simulator.client.parse import PARSERS as _PARSERS
from simulator.client.parse import Kinds, parse
from simulator.errors import (
    ClientError,
    ConnectionClosed,
    IqError,
    IqTimeout,
    LoginFailed,
    RemoteProtocolError,
)
from simulator.jid import user_jid
from simulator.transport.link import Consumer, LinkClosed
from simulator.wire import events as wire
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.transport.link import Link

__all__ = ["ClientCore", "ClientState"]

E = TypeVar("E", bound=ev.Event)


class ClientState(enum.Enum):
    LOGGING_IN = "logging in"
    """Connected, login not finished."""
    OPEN = "open"
    """Logged in; everything works."""
    CLOSED = "closed"
    """The connection is gone; sending raises :class:`~simulator.errors.ConnectionClosed`."""


_OPEN = ClientState.OPEN
"""A global, not ``ClientState.OPEN``: an enum member read off its class costs a lookup
through the enum's metaclass, and every stanza sent asks."""

_Queue = list[Any] | deque[Any]
"""The events of one class in an inbox, flat: ``[seq, item, seq, item, ...]``, where an item
is the event, or the stanza of an event not made yet (``MAKERS[cls](node)`` makes it;
see :data:`simulator.client.parse.LAZY`). Flat, not a ``(seq, event)`` pair per event: a
pair is one more object for the collector per event, and a client the application does
not read keeps every event it got."""
_SHORT_QUEUE = 32
"""Items (two per event) of one class an inbox keeps in a list; from there on, a deque."""


class _Inbox:
    """Unconsumed events: arrival order overall, and one queue per event class.

    ``wait_for(GetMessage)`` must not rescan thousands of acks and receipts the
    application never asked for, so events are filed by class and only the queues of
    matching classes are searched; a global sequence number keeps the arrival order.
    """

    __slots__ = ("_by_type", "_matching", "_seq")

    def __init__(self) -> None:
        self._by_type: dict[type[ev.Event], _Queue] = {}
        self._matching: dict[type[ev.Event], list[tuple[type[ev.Event], _Queue]]] = {}
        """The queues of the classes that match a class asked for, as asked before (made
        again when a new class of event comes, or a queue grows from a list to a deque)."""
        self._seq = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self._by_type.values()) // 2

    def append(self, event: ev.Event) -> None:
        self.file(type(event), event)

    def file(self, cls: type[ev.Event], item: ev.Event | Node) -> None:
        """File an event of class ``cls``: the event, or its stanza (made when taken)."""
        seq = self._seq = self._seq + 1
        queue = self._by_type.get(cls)
        if queue is None:
            # A list while short: an empty deque costs over 600 bytes, and most queues
            # of an idle client hold one event or two (the offline count, a presence).
            queue = self._by_type[cls] = []
            self._matching.clear()  # the new class may match what was asked before
        elif len(queue) == _SHORT_QUEUE and type(queue) is list:
            queue = self._by_type[cls] = deque(queue)  # long: cheap at the front
            self._matching.clear()  # the lists held there are not the queue any more
        queue.append(seq)
        queue.append(item)

    def _queues(self, cls: type[ev.Event]) -> list[tuple[type[ev.Event], _Queue]]:
        """The queues of every class of event that is ``cls`` or a subclass of it."""
        queues = self._matching.get(cls)
        if queues is None:
            queues = [(kind, q) for kind, q in self._by_type.items() if issubclass(kind, cls)]
            self._matching[cls] = queues
        return queues

    def take(self, cls: type[E], predicate: Callable[[E], bool] | None = None) -> E | None:
        """Remove and return the oldest event of class ``cls`` that matches."""
        if predicate is None:  # the oldest of the queues' heads: no scan of a queue
            head: _Queue | None = None
            head_kind: type[ev.Event] = cls
            head_seq = 0
            for kind, queue in self._queues(cls):
                if queue and (head is None or queue[0] < head_seq):
                    head, head_kind, head_seq = queue, kind, queue[0]
            if head is None:
                return None
            if isinstance(head, list):
                item = head[1]
                del head[:2]
            else:
                head.popleft()
                item = head.popleft()
            found = _MAKERS[head_kind](item) if type(item) is Node else item
            assert isinstance(found, cls)
            return found
        best: tuple[int, _Queue, int] | None = None
        for kind, queue in self._queues(cls):
            for index in range(0, len(queue), 2):
                seq = queue[index]
                if best is not None and seq > best[0]:
                    break
                item = queue[index + 1]
                if type(item) is Node:  # made once, for the predicate and for the taker
                    item = queue[index + 1] = _MAKERS[kind](item)
                # Always true (its class is a subclass of cls); it tells the type checker.
                if isinstance(item, cls) and predicate(item):
                    best = (seq, queue, index)
                    break
        if best is None:
            return None
        _seq, queue, index = best
        event = queue[index + 1]
        del queue[index]
        del queue[index]
        assert isinstance(event, cls)
        return event

    def drain(self) -> list[ev.Event]:
        found: list[tuple[int, ev.Event]] = []
        for kind, queue in self._by_type.items():
            for index in range(0, len(queue), 2):
                item = queue[index + 1]
                found.append((queue[index], _MAKERS[kind](item) if type(item) is Node else item))
        found.sort(key=_seq_of)
        self._by_type.clear()
        self._matching.clear()
        return [event for _seq, event in found]


def _seq_of(entry: tuple[int, ev.Event]) -> int:
    return entry[0]


class _EventIterator:
    """What :meth:`ClientCore.events` returns: takes events in arrival order."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientCore) -> None:
        self._client = client

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> ev.Event:
        client = self._client
        client._asked()
        while True:
            event = client._inbox.take(ev.Event)
            if event is not None:
                return event
            if client.state is ClientState.CLOSED:
                raise StopAsyncIteration
            await client._idle(client._arrival())


class ClientCore:
    """The machinery of a client: login, reader, events, ``send`` and ``iq``.

    The API methods live in mixins by flow family (:class:`~simulator.client.client.Client`
    combines them); each is written against this class alone.
    """

    def __init__(
        self,
        link: Link,
        phone: str,
        *,
        push_name: str = "",
        auto_ack: bool = True,
        auto_receipt: bool = True,
        auto_pong: bool = True,
    ) -> None:
        self.link = link
        self.phone = phone
        self.jid = user_jid(phone)
        self.push_name = push_name
        self.auto_ack = auto_ack
        self.auto_receipt = auto_receipt
        self.auto_pong = auto_pong
        self.state = ClientState.LOGGING_IN
        self.login: ev.LoginSuccess | None = None
        self._login_clock = 0.0
        self.next_nonce: bytes | None = None
        """The nonce from ``success``: pass it as ``stored_nonce`` for a fast re-login."""
        self.close_reason: str | None = None
        self._inbox = _Inbox()
        self._arrived: trio.Event | None = None
        """Set at the next event the waiters want; made only when somebody waits (most
        events find nobody)."""
        self._awaited: type[ev.Event] = ev.Event
        """The class of event ``_arrived`` is set for: what its waiters wait for (any
        event once waiters want different classes). A task waiting for a message is not
        woken for every ack and receipt that comes first."""
        self._reply_due: Callable[[], None] | None = getattr(link, "reply_due", None)
        """The link's hint that the task just woken may answer at once (StreamLink)."""
        self._callbacks: list[tuple[type[ev.Event], Callable[[Any], object]]] = []
        self._pending_iqs: dict[str, tuple[trio.Event, list[Node]]] = {}
        self._ids = 0
        self._id_prefix = "0"
        self._closed = False
        """The connection is gone and the client has taken note (``_lost`` or ``aclose``)."""
        self._closed_event: trio.Event | None = None
        """Set with ``_closed``; made only when somebody waits for the end."""
        self._nursery: trio.Nursery | None = None
        """Where the reader starts (on an in-process node link, only once needed)."""
        self._ending = False
        # Is the application keeping up? (see waiting_events)
        self._idle_tasks = 0
        self._unasked_since: float | None = None
        self._unasked = 0

    def __repr__(self) -> str:
        return f"<Client {self.jid} {self.state.value}>"

    # ---------------------------------------------------------------- the service's time

    def time(self) -> float:
        """The service's current time, in Unix seconds: its time at login (``login.t``)
        plus the time passed on trio's clock since.

        Read the time of day here, not with ``datetime.now()`` or ``time.time()``: in a
        scenario (or a test with ``autojump_clock``) trio's clock is virtual, and this
        follows it (``- wait: 24h`` moves it a day), while the wall clock does not;
        against ``simulator serve`` it is the real time (to the second of the login).

        Raises:
            ClientError: the client has not logged in.
        """
        if self.login is None:
            raise ClientError("the client has not logged in: the service's time is unknown")
        return self.login.t + (trio.current_time() - self._login_clock)

    def now(self) -> datetime.datetime:
        """The service's current time as an aware UTC datetime (see :meth:`time`)."""
        return datetime.datetime.fromtimestamp(self.time(), datetime.UTC)

    # ---------------------------------------------------------------- lifecycle

    async def _login(self, login: wire.Login) -> None:
        await self.link.send(login)
        while True:
            event = await self.link.receive()
            if isinstance(event, wire.Challenged):
                await self.link.send(wire.Response())
            elif isinstance(event, wire.LoginSucceeded):
                node = event.node
                self.next_nonce = node.data
                self.login = ev.LoginSuccess(
                    node=node,
                    kind=node.get("kind", ""),
                    status=node.get("status", ""),
                    creation=int(node.get("creation") or 0),
                    expiration=int(node.get("expiration") or 0),
                    t=int(node.get("t") or 0),
                )
                # Real clients number messages "<unix time>-<counter>" and repeat ids after a
                # restart (§6.2); we start each login's counter at a point drawn from the
                # login's nonce, so a reconnect at the same second never reuses an id.
                self._login_clock = trio.current_time()
                self._id_prefix = node.get("t", "0")
                self._ids = int.from_bytes((node.data or b"")[:3], "big") * 16
                self.state = ClientState.OPEN
                return
            elif isinstance(event, wire.LoginFailed):
                self.state = ClientState.CLOSED
                raise LoginFailed(event.reason)
            elif isinstance(event, wire.ConnectionClosed):
                self.state = ClientState.CLOSED
                raise ConnectionClosed("the server closed the connection during login")

    async def aclose(self) -> None:
        """End the stream and close the connection; idempotent.

        Whatever arrives after the goodbye is not shown and not confirmed, so the
        server delivers it again at the next login (§4.4).
        """
        if self.state is ClientState.OPEN:
            self._ending = True
            try:
                with trio.move_on_after(5):
                    await self.link.send(wire.StreamEnd())
            except (LinkClosed, RemoteProtocolError):
                pass
        self.state = ClientState.CLOSED
        self.close_reason = self.close_reason or "closed by the application"
        self._set_closed()
        await self.link.aclose()

    async def wait_closed(self) -> None:
        """Wait until the connection is gone (for example after a ``stream:error``)."""
        if self._closed:
            self._asked()
            await trio.lowlevel.checkpoint()
            return
        if self._closed_event is None:
            self._closed_event = trio.Event()
        await self._idle(self._closed_event)

    def _set_closed(self) -> None:
        self._closed = True
        if self._closed_event is not None:
            self._closed_event.set()

    # ---------------------------------------------------------------- reading

    def _start_reading(self, nursery: trio.Nursery) -> None:
        """Start :meth:`_reader` in ``nursery``; on an in-process node link, only while
        something needs it (``NodeLink.consume_idle``): stanzas are pushed to
        :meth:`_handle` by their sender, so an idle client holds no task of its own."""
        consume_idle = getattr(self.link, "consume_idle", None)
        if consume_idle is None:
            nursery.start_soon(self._reader)
            return
        self._nursery = nursery
        consume_idle(self._pushed(), self._wake_reader)

    def _pushed(self) -> Consumer:
        """What handles a stanza pushed in its sender's task: a plain call
        (:meth:`_take_pushed`) when the link sends without blocking, so the automatic
        answers go out with no schedule point (a pushed handler must not block); else
        :meth:`_handle`."""
        send_nowait = getattr(self.link, "send_nowait", None)
        if send_nowait is not None:
            return functools.partial(self._take_pushed, send_nowait)
        return self._handle

    def _wake_reader(self) -> None:
        """The link needs a reader now (a bound method: lighter than a closure)."""
        if self._nursery is not None:
            with contextlib.suppress(RuntimeError):  # the block is over: nothing to read
                self._nursery.start_soon(self._reader)

    async def _reader(self) -> None:
        link = self.link
        receive: Callable[[], Awaitable[wire.Event | None]] = link.receive
        if self._nursery is not None:  # idle push mode: read until nothing waits, and end
            receive = link.receive_or_idle  # type: ignore[attr-defined]
        else:
            consume = getattr(link, "consume", None)
            if consume is not None:  # an in-process node link: stanzas pushed to _handle
                consume(self._pushed())
        try:
            while True:
                event = await receive()
                if event is None:  # the link calls for a reader again when it needs one
                    return
                if isinstance(event, wire.NodeReceived):
                    await self._handle(event.node)
                elif isinstance(event, wire.StreamEnded | wire.ConnectionClosed):
                    self._lost("the server closed the connection")
                    return
        except RemoteProtocolError as exc:
            self._lost(f"protocol error from the server: {exc}")
        except LinkClosed:
            self._lost(self.close_reason or "connection closed")

    def _lost(self, reason: str) -> None:
        self.close_reason = self.close_reason or reason
        self.state = ClientState.CLOSED
        for event, _slot in self._pending_iqs.values():
            event.set()
        self._emit(ev.Disconnected(node=Node("disconnected"), reason=self.close_reason))
        self._set_closed()
        arrived = self._arrived  # every waiter learns of the end, whatever it waits for
        if arrived is not None:
            self._arrived = None
            arrived.set()

    async def _handle(self, node: Node) -> None:
        """One stanza from the server, read by the reader task."""
        answer, events, kinds = self._take(node)
        if answer is not None and not await self._send_answer(answer):
            return
        self._show(node, events, kinds)

    def _take_pushed(self, send_nowait: Callable[[Node], None], node: Node) -> None:
        """:meth:`_handle` for a stanza pushed in the sender's task (see :meth:`_reader`):
        the same steps, the answer sent with the link's ``send_nowait``, no schedule
        point anywhere."""
        classify = _LAZY.get(node.tag)
        kinds = classify(node) if classify is not None else None
        if kinds is None:
            answer, events, kinds = self._take(node)
            if answer is not None and not self._send_answer_now(answer, send_nowait):
                return
            self._show(node, events, kinds)
            return
        # What _take and _show do for a stanza of LAZY (never an iq or a stream:error),
        # spelled out: the commonest stanzas of a conversation, two calls less.
        answer = self._auto_answer(node, (), kinds)
        if answer is None:
            if self._ending:
                return
        elif not self._send_answer_now(answer, send_nowait):
            return
        self._emit_lazy(kinds, node)

    def _take(self, node: Node) -> tuple[Node | None, Sequence[ev.Event], Kinds]:
        """What to answer to ``node`` by itself, and the events to show once that answer
        went out (none if it could not go out): made (a list), or their classes and
        makers (:data:`~simulator.client.parse.LAZY`), made only when looked at.

        The automatic receipt or ack goes out BEFORE the application sees the event, and
        an event whose answer could not go out (we already ended the stream) is not shown
        at all: the server keeps it and delivers it again next time. So with orderly
        goodbyes every stanza reaches the application exactly once."""
        tag = node.tag
        if tag == "iq":
            return self._take_iq(node), (), ()
        classify = _LAZY.get(tag)
        kinds = classify(node) if classify is not None else None
        if kinds is not None:
            events: Sequence[ev.Event] = ()
            answer = self._auto_answer(node, events, kinds)
        else:
            kinds = ()
            events = _PARSERS.get(tag, parse)(node)  # parse(), one call less
            answer = self._auto_answer(node, events, kinds)
        if answer is None and self._ending and tag != "stream:error":
            return None, (), ()
        return answer, events, kinds

    def _show(self, node: Node, events: Sequence[ev.Event], kinds: Kinds) -> None:
        """Show the events of ``node`` (see :meth:`_take`)."""
        for event in events:
            self._emit(event)
        self._emit_lazy(kinds, node)

    def _take_iq(self, node: Node) -> Node | None:
        """An iq from the server: the answer our own iq waits for, or a server ping
        (shown as an event; the pong returned if ``auto_pong``), or an unhandled event."""
        iq_type = node.get("type")
        if iq_type in ("result", "error"):
            waiter = self._pending_iqs.get(node.get("id", ""))
            if waiter is not None:
                waiter[1].append(node)
                waiter[0].set()
            elif (error := stanzas.errors.recognize(node)) is not None:
                self._emit(ev.GetError(node=node, id=error.id, code=error.code, text=error.text))
            return None
        if node.get("xmlns") == stanzas.iq.PING_XMLNS:
            self._emit(ev.Ping(node=node, id=node.get("id", "")))
            return stanzas.iq.pong(node) if self.auto_pong else None
        self._emit(ev.Unhandled(node=node))
        return None

    def _auto_answer(self, node: Node, events: Sequence[ev.Event], kinds: Kinds) -> Node | None:
        """What a real client answers to ``node`` by itself (None: nothing), given the
        events it raises (made, or their classes: see :meth:`_take`)."""
        tag = node.tag
        if tag == "receipt":
            return stanzas.ack.for_stanza(node, "receipt") if self.auto_ack else None
        if tag == "message":
            if self.auto_receipt:
                for event in events:
                    if isinstance(event, ev.MessageEvent):
                        return stanzas.receipt.delivery_for(node)
                for cls in kinds:
                    if issubclass(cls, ev.MessageEvent):
                        return stanzas.receipt.delivery_for(node)
            return None
        if tag == "notification":
            return stanzas.ack.for_stanza(node, "notification") if self.auto_ack else None
        if tag == "stream:error":
            self.close_reason = f"stream error: {node.children[0].tag if node.children else ''}"
        return None

    async def _send_answer(self, answer: Node) -> bool:
        """Send an automatic answer; False if it could not go out."""
        try:
            await self.send(answer)
        except ConnectionClosed:
            return False
        return True

    def _send_answer_now(self, answer: Node, send_nowait: Callable[[Node], None]) -> bool:
        """:meth:`_send_answer` without a schedule point (:meth:`send`'s checks, and what
        it does when the link is gone)."""
        if self.state is not _OPEN or self._ending:
            return False
        try:
            send_nowait(answer)
        except LinkClosed:
            self._lost("connection lost while sending")
            return False
        return True

    def _emit(self, event: ev.Event) -> None:
        seen = False
        if self._callbacks:
            for cls, callback in self._callbacks:
                if isinstance(event, cls):
                    callback(event)
                    seen = True
        if not seen and not self._idle_tasks:
            if not self._unasked:
                self._unasked_since = trio.current_time()
            self._unasked += 1
        self._inbox.append(event)
        arrived = self._arrived
        if arrived is not None and isinstance(event, self._awaited):
            self._arrived = None
            arrived.set()
            if self._reply_due is not None:
                self._reply_due()

    def _emit_lazy(self, kinds: Kinds, node: Node) -> None:
        """:meth:`_emit` of each event of ``node``, of the classes ``kinds``, in order: made
        (``MAKERS[cls](node)``) only if a callback takes it now, else when the
        application takes it."""
        callbacks = self._callbacks
        inbox = self._inbox
        for cls in kinds:
            if callbacks and any(issubclass(cls, kind) for kind, _callback in callbacks):
                self._emit(_MAKERS[cls](node))
                continue
            if not self._idle_tasks:
                if not self._unasked:
                    self._unasked_since = trio.current_time()
                self._unasked += 1
            inbox.file(cls, node)  # made when taken
            arrived = self._arrived
            if arrived is not None and issubclass(cls, self._awaited):
                self._arrived = None
                arrived.set()
                if self._reply_due is not None:
                    self._reply_due()

    def _arrival(self, cls: type[ev.Event] = ev.Event) -> trio.Event:
        """What a waiter for the next event of class ``cls`` waits on."""
        arrived = self._arrived
        if arrived is None:
            arrived = self._arrived = trio.Event()
            self._awaited = cls
        elif not issubclass(cls, self._awaited):
            self._awaited = ev.Event  # waiters want different classes: any event wakes them
        return arrived

    # ---------------------------------------------------------------- keeping up

    def waiting_events(self) -> tuple[float, int] | None:
        """Events that wait for the application: ``(since, count)``, the trio time the
        first of them came and how many came, since the application last asked the
        library for an event; None while it waits in the library for one
        (:meth:`events`, :meth:`wait_for`, :meth:`wait_closed`), when none came, or when
        the connection is gone.

        An application that keeps up asks again in no time; one that stays away while
        events wait is stuck in its handler (the server's pings are answered all the
        same, by the reader). Events a callback of :meth:`on` saw do not wait.
        """
        if self._idle_tasks or not self._unasked or self.state is ClientState.CLOSED:
            return None
        assert self._unasked_since is not None
        return self._unasked_since, self._unasked

    def _asked(self) -> None:
        """The application asks for an event: it has not stopped handling them."""
        self._unasked = 0
        self._unasked_since = None

    async def _idle(self, event: trio.Event) -> None:
        """The application waits in the library (for an event, or the end)."""
        self._asked()
        self._idle_tasks += 1
        try:
            await event.wait()
        finally:
            self._idle_tasks -= 1

    # ---------------------------------------------------------------- consuming events

    def on(self, event_type: type[E], callback: Callable[[E], object]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event of this type as it arrives.

        Callbacks run as the event arrives (inside the reader, or on an in-process node
        link in the task that sent the stanza) and must not block; start a task for slow
        work. An exception a callback raises ends this client, as before.
        Returns a function that removes the callback.
        """
        entry = (event_type, callback)
        self._callbacks.append(entry)
        return lambda: self._callbacks.remove(entry)

    def events_nowait(self) -> list[ev.Event]:
        """Take every event received so far, in order."""
        self._asked()
        return self._inbox.drain()

    async def next_event(self, *, timeout: float = math.inf) -> ev.Event:
        """Take the oldest unconsumed event, waiting for one if needed."""
        return await self.wait_for(ev.Event, timeout=timeout)

    def events(self) -> AsyncIterator[ev.Event]:
        """Every event in order, until the connection is gone.

        ``async for event in client.events(): ...``; breaking out of the loop is fine (the
        iterator holds no resources: it is not an async generator).
        """
        return _EventIterator(self)

    async def wait_for(
        self,
        event_type: type[E] = ev.Event,  # type: ignore[assignment]
        predicate: Callable[[E], bool] | None = None,
        *,
        timeout: float = math.inf,
    ) -> E:
        """Take the first unconsumed event of this type (matching ``predicate``).

        Raises:
            trio.TooSlowError: nothing matched within ``timeout`` seconds (of trio time).
            ConnectionClosed: the connection ended first.
        """
        self._asked()
        event = self._inbox.take(event_type, predicate)
        if event is not None:  # there already: no timer to set (none would be checked)
            return event
        if timeout == math.inf:
            return await self._wait_arrival(event_type, predicate)
        with trio.fail_after(timeout):
            return await self._wait_arrival(event_type, predicate)

    async def _wait_arrival(self, event_type: type[E], predicate: Callable[[E], bool] | None) -> E:
        while True:
            event = self._inbox.take(event_type, predicate)
            if event is not None:
                return event
            if self.state is ClientState.CLOSED and self._closed:
                raise ConnectionClosed(self.close_reason or "connection closed")
            await self._idle(self._arrival(event_type))

    async def wait_for_message(self, *, timeout: float = math.inf) -> ev.GetMessage:
        """The next text message (1:1 or group)."""
        return await self.wait_for(ev.GetMessage, timeout=timeout)

    async def wait_for_receipt(
        self, msg_id: str | None = None, *, type: str | None = None, timeout: float = math.inf
    ) -> ev.MessageReceivedClient:
        """The next receipt for ``msg_id`` (any message if None), of ``type`` if given."""
        return await self.wait_for(
            ev.MessageReceivedClient,
            lambda e: (msg_id is None or e.id == msg_id) and (type is None or e.type == type),
            timeout=timeout,
        )

    # ---------------------------------------------------------------- sending

    def new_id(self) -> str:
        """A message id in the style of the real clients: ``<login time>-<counter>``."""
        self._ids += 1
        return f"{self._id_prefix}-{self._ids}"

    async def send(self, node: Node) -> None:
        """Send any stanza as it is.

        No lock of its own: a link keeps its frames whole and in order (a byte stream
        link serialises its writes, a node link hands over without blocking).
        """
        if self.state is not _OPEN or self._ending:
            raise ConnectionClosed(f"cannot send: the client is {self.state.value}")
        try:
            await self.link.send(node)
        except LinkClosed as exc:
            self._lost("connection lost while sending")
            raise ConnectionClosed(str(exc)) from exc
        except trio.Cancelled:
            if self.link.closed:  # cut mid-frame: the link can carry nothing more
                self._lost("a send was cancelled in the middle of a frame")
            raise

    async def iq(self, node: Node, *, timeout: float = 30) -> Node:
        """Send an iq and return the result node.

        An ``id`` is added if the node has none.

        Raises:
            IqError: the server answered ``type="error"``; ``.node`` has the answer.
            IqTimeout: no answer within ``timeout`` seconds.
            ConnectionClosed: the connection ended first.
        """
        iq_id = node.get("id") or self.new_id()
        if node.get("id") is None:
            node = node.with_attrs(id=iq_id)
        done = trio.Event()
        slot: list[Node] = []
        self._pending_iqs[iq_id] = (done, slot)
        try:
            await self.send(node)
            with trio.move_on_after(timeout):
                await done.wait()
        finally:
            del self._pending_iqs[iq_id]
        if not slot:
            if self.state is ClientState.CLOSED:
                raise ConnectionClosed(self.close_reason or "connection closed")
            raise IqTimeout(f"no answer to iq {iq_id!r} within {timeout} s")
        answer = slot[0]
        if answer.get("type") == "error":
            raise IqError(answer)
        return answer
