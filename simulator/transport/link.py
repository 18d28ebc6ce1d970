"""`Link`: one end of a logged-in-or-logging-in FunXMPP conversation, whatever carries it.

A link turns a sans-IO connection (``simulator.wire``) into something async code can use:
``await link.receive()`` returns the next wire event, ``await link.send(x)`` sends a node
or a handshake event. The server's session and the client library are written against
this one interface, so the same code runs over every transport:

* :class:`StreamLink` — the full wire (preamble, frames, RC4 + HMAC) over any
  ``trio.abc.Stream``: TCP sockets, or in-memory byte streams.
* :class:`NodeLink` — ``Node`` objects passed directly over memory channels, no bytes at
  all; the login still runs the same handshake nodes through ``NodeConnection``, and
  after it stanzas pass straight through (``NodeConnection.passes_through``).

Writes are serialised per link: the RC4 state and MAC sequence number must advance in
exactly the order frames hit the wire (PROTOCOL.md §2.6, §4.3), and each frame goes out
in one ``send_all`` (yowsup's frame splitter breaks on split headers, §1.1).

Writes without a task: :meth:`StreamLink.send_soon` seals a stanza at once and writes
its frame from the calling task, without blocking (a non-blocking ``write`` on the
socket, or the in-memory stream's ``write_nowait``). Frames sealed this way wait in the
link's outgoing bytes only while they cannot go out yet: behind an async write under
way (which takes them along), inside a :class:`WriteBatch` (written when it is
released: everything a server produces while its reader works through one read goes
out in one write per peer), or because the kernel did not take them (then the link
calls its ``on_stuck`` and its owner's writer task finishes them with :meth:`flush`).
The bytes are sealed in the order the stanzas were given and written in that order,
whoever writes them.

Reading: a :class:`StreamLink` reads at most what its connection suggests
(``Connection.receive_size``: one login frame before the login is complete), and with a
``frame_timeout`` a peer that stops in the middle of a frame for that long ends the link
with :class:`LinkStalled`. A peer idle between frames is not timed here.

Nothing from a dead peer escapes as anything but :class:`LinkClosed`:

* once the conversation is over (the peer broke the protocol, ended the stream, or the
  login failed), a send raises ``LinkClosed`` (the one exception: the reply hint of the
  peer's protocol error, which the connection lets through once);
* a ``send_all`` that did not finish (cancelled, or the transport failed) leaves an
  unknown part of a frame on the wire, and the keystream has already moved past that
  frame: the link counts as broken from then on, and nothing more is ever written on it
  (every later frame would read as garbage or a bad MAC at the peer).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeAlias, final

import trio

from simulator.errors import LocalProtocolError
from simulator.transport import sockets
from simulator.wire.events import ConnectionClosed, Event, NodeReceived
from simulator.wire.handshake import NOT_STANZA_TAGS as _NOT_STANZA_TAGS
from simulator.wire.handshake import State
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.wire.connection import Connection, NodeConnection
    from simulator.wire.events import SendEvent
    from simulator.wire.tokens import Dialect

__all__ = [
    "Link",
    "LinkClosed",
    "LinkStalled",
    "NodeLink",
    "Relay",
    "StreamLink",
    "WriteBatch",
    "node_link_pair",
]

_OVER: frozenset[State] = frozenset(
    {State.ERROR, State.CLOSED, State.FAILED, State.CLIENT_ENDED, State.SERVER_ENDED}
)
"""Conversation states in which a refused send means the peer is gone, not a bug here."""


class LinkClosed(Exception):
    """The link is gone (peer closed, transport broke, or we closed it)."""


class LinkStalled(LinkClosed):
    """The peer stopped in the middle of a frame for longer than the frame timeout."""


class Link(Protocol):
    """What a session or a client needs from a transport."""

    async def receive(self) -> Event:
        """The next event; ``ConnectionClosed`` once, then :class:`LinkClosed`."""
        ...

    async def send(self, item: Node | SendEvent) -> None:
        """Send a node or a handshake event. Raises :class:`LinkClosed` if the link is gone."""
        ...

    async def aclose(self) -> None:
        """Close the link; idempotent."""
        ...

    @property
    def closed(self) -> bool:
        """True once nothing more can be sent: closed, gone, or a write was cut short."""
        ...

    @property
    def peer(self) -> str:
        """A short description of the other end, for logs."""
        ...

    @property
    def dialect(self) -> Dialect | None:
        """The dialect spoken, once known (a server learns it from the preamble)."""
        ...


class _LinkBase:
    """What both links share: the receive loop over a sans-IO connection."""

    def __init__(self, conn: Connection | NodeConnection, peer: str) -> None:
        self._conn = conn
        self._closed = False
        self._eof = False
        self._peer = peer
        self._batch: WriteBatch | None = None
        """A stream link's :class:`WriteBatch`, held from each stanza taken until the
        link has to wait for input (the reader's sends are written together)."""

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def dialect(self) -> Dialect | None:
        return self._conn.dialect

    @property
    def closed(self) -> bool:
        return self._closed

    def _next_event(self) -> Event | None:
        """The next event the connection has ready (None: it needs bytes first)."""
        if self._closed:
            raise LinkClosed("link closed")
        event = self._conn.next_event()
        if event is not None:
            if type(event) is NodeReceived:
                if self._batch is not None:
                    self._batch.hold()
            elif isinstance(event, ConnectionClosed):
                self._closed = True
            return event
        if self._eof:  # pragma: no cover - the connection reports EOF as an event
            raise LinkClosed("link closed")
        return None

    async def receive(self) -> Event:
        while True:
            event = self._next_event()
            if event is not None:
                return event
            await self._feed()

    async def _feed(self) -> None:
        """Wait for more input and hand it to the connection (EOF included)."""
        raise NotImplementedError

    def _refused(self, state: State, exc: LocalProtocolError) -> LocalProtocolError | LinkClosed:
        """What a send the connection refused means: the peer is gone if the conversation
        was already over, else a bug on this side (re-raised as it is)."""
        if state in _OVER:
            return LinkClosed(f"the connection is over ({state.value}): {exc}")
        return exc


@final
class WriteBatch:
    """Frames that :meth:`StreamLink.send_soon` sealed while one task holds the batch,
    written when that task releases it: one write per link for everything it made.

    The server shares one batch among its stream links. A session's reader holds it from
    the event it takes until it has to wait for input (the link releases it then), so
    what one read of a peer causes (the acks, the deliveries to other peers) costs one
    write per peer. A client's link has a batch of its own: the acks and receipts its
    reader sends for one read go out in one write. Only sends from the holding task are
    held; another task's send writes at once, taking what is held for that link along
    (the order stays).
    """

    __slots__ = ("_links", "_task")

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None
        self._links: list[StreamLink] = []

    def hold(self) -> None:
        """Hold the batch in the current task (nothing if another task holds it)."""
        if self._task is None:
            self._task = trio.lowlevel.current_task()

    def holding(self) -> bool:
        """Whether the current task holds the batch."""
        task = self._task
        return task is not None and task is trio.lowlevel.current_task()

    def release(self) -> None:
        """If the current task holds the batch: write what it held, link by link."""
        if not self.holding():
            return
        self._task = None
        links, self._links = self._links, []
        for link in links:
            link._push()

    def _add(self, link: StreamLink) -> None:
        self._links.append(link)


@final
class StreamLink(_LinkBase):
    """A :class:`Link` over a byte stream, running the full wire protocol."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        conn: Connection,
        *,
        peer: str = "stream",
        frame_timeout: float | None = None,
        receive_from: trio.abc.ReceiveStream | None = None,
        batch: WriteBatch | None = None,
    ) -> None:
        super().__init__(conn, peer)
        self._byte_conn = conn
        self._stream = stream
        self._send_lock = trio.Lock()
        self._frame_timeout = frame_timeout
        source = stream if receive_from is None else receive_from
        self._source: trio.abc.ReceiveStream = source
        # TCP sockets are read and written through their descriptors (transport.sockets).
        self._socket = source if type(source) is trio.SocketStream else None
        self._write_socket = stream if type(stream) is trio.SocketStream else None
        self._write_nowait: Callable[[bytes | bytearray], int] | None = getattr(
            stream, "write_nowait", None
        )
        if self._write_socket is not None:
            socket_stream = self._write_socket
            self._write_nowait = lambda data: sockets.write_nowait(socket_stream, data)
        self._batch = batch
        self._out = bytearray()
        """Sealed frames not written yet (see the module docstring), in wire order."""
        self._unsent = 0
        """Frames in ``_out`` (a frame the kernel took in part still counts)."""
        self._batched = False
        self._stuck = False
        """``_out`` waits for :meth:`flush` (the kernel took only part, or the stream has
        no write without waiting); ``on_stuck`` was called."""
        self.on_stuck: Callable[[], None] | None = None
        """Called when frames of :meth:`send_soon` wait for a :meth:`flush`."""
        self._reply_due = False
        self._lingering = False
        """The reader waits for the answer of the task it woke (:meth:`reply_due`)."""
        self._waited = False
        """The owner waited for input (:meth:`input_ready`) since the last read."""

    def reply_due(self) -> None:
        """The reading task has just woken a task that may well answer at once (a
        client's application, shown the message it waited for): the frames the reader
        holds in its :class:`WriteBatch` for this link wait for that answer, at most two
        scheduler rounds, so that all go out in one write (one system call here, one
        read and one wake-up at the peer). Meanwhile that task's sends are sealed and
        join the held frames (in order, as :meth:`send_soon`) instead of writing each on
        its own: an application answering several messages of one read answers them in
        the one write too. One round if the woken task sent in it, else two, because
        trio may run the woken task before or after the reader in the next one; then
        the reader writes what it holds."""
        self._reply_due = True

    @property
    def connection(self) -> Connection:
        return self._byte_conn

    @property
    def can_idle(self) -> bool:
        """Whether the owner may wait for input itself (:meth:`receive_or_idle`, then
        :meth:`input_ready`): the link reads a socket."""
        return self._socket is not None

    def input_ready(self) -> Coroutine[Any, Any, None]:
        """Wait until the socket has input (or is closed): trio's wait itself, no frame
        of the link's own held while it waits. Only where :meth:`can_idle`."""
        assert self._socket is not None
        self._waited = True  # the read after this wait needs no scheduler round of its own
        return trio.lowlevel.wait_readable(sockets.fileno(self._socket))  # noqa: ASYNC105 -- the caller awaits it

    async def receive_or_idle(self) -> Event | None:
        """:meth:`receive`, except that where it would wait for the socket between frames
        it returns None instead (what the last read caused is written first): the owner
        waits with :meth:`input_ready`, then calls this again. An idle owner then holds
        one frame of its own and trio's wait, not the chain of a read (about 2 KB).
        In the middle of a frame it waits here as :meth:`receive` does (timed)."""
        socket = self._socket
        while True:
            event = self._next_event()
            if event is not None:
                return event
            conn = self._byte_conn
            if socket is None or (self._frame_timeout is not None and conn.buffered):
                await self._feed()
                continue
            await trio.lowlevel.checkpoint_if_cancelled()
            await self._release()
            try:
                data = sockets.read_nowait(socket, conn.receive_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                if self._closed:
                    raise LinkClosed("link closed") from exc
                data = b""
            if data is None:
                return None
            if self._waited:
                self._waited = False
            else:  # read at once: the others get their turn first
                await trio.lowlevel.cancel_shielded_checkpoint()
            self._take(data)

    async def _release(self) -> None:
        """About to wait for input: out goes what the last read caused (the batch this
        reader holds; first, if the reader just woke a task that may answer, that
        answer joins it: :meth:`reply_due`)."""
        batch = self._batch
        if batch is not None:
            if self._reply_due:
                self._reply_due = False
                if self._out and self._batched and batch.holding():
                    self._lingering = True  # the woken task's sends join the held frames
                    try:
                        held = self._unsent
                        await trio.lowlevel.cancel_shielded_checkpoint()
                        if self._unsent == held:  # it has not run yet (or did not send)
                            await trio.lowlevel.cancel_shielded_checkpoint()
                    finally:
                        self._lingering = False
            batch.release()
            if self._stuck and self.on_stuck is None:  # no writer task: finish it here
                await self.flush()

    async def _feed(self) -> None:
        await self._release()
        conn = self._byte_conn
        timeout = self._frame_timeout if conn.buffered else None
        data: bytes | bytearray
        try:
            if timeout is None:  # between frames: no cancel scope to build, or to hold
                if self._socket is not None:
                    data = await sockets.receive_some(self._socket, conn.receive_size)
                else:
                    data = await self._source.receive_some(conn.receive_size)
            else:
                with trio.move_on_after(timeout) as scope:
                    data = await self._source.receive_some(conn.receive_size)
                if scope.cancelled_caught:
                    self._closed = True
                    raise LinkStalled(
                        f"stalled for {timeout:g} s with {conn.buffered} bytes of a frame"
                    )
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            if self._closed:
                raise LinkClosed("link closed") from exc
            data = b""
        self._take(data)

    def _take(self, data: bytes | bytearray) -> None:
        """Hand what was read to the connection (``b""``: the end of the stream)."""
        if not data:
            self._eof = True
        self._byte_conn.receive_data(data)

    async def _lock(self) -> None:
        """Take the send lock. Uncontended, without the scheduler round of
        ``Lock.acquire``: the write that follows is this send's checkpoint. A cancelled
        caller still stops here, before the connection has made the frame."""
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self._send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self._send_lock.acquire()

    async def send(self, item: Node | SendEvent) -> None:
        """As :meth:`Link.send`. In the task that holds the link's :class:`WriteBatch`
        (its reader, answering what it read), a stanza is sealed and held for the write
        the batch makes when the reader waits for input: then the send is no schedule
        point (that wait is, right after). The same for a send from the task the reader
        has just woken while the reader waits for its answer (:meth:`reply_due`): it
        joins the held frames, and the reader writes them all when it stops waiting."""
        batch = self._batch
        if (
            batch is not None
            and batch._task is not None
            and type(item) is Node
            and (self._lingering or batch.holding())
            and not self._send_lock.locked()
        ):
            await trio.lowlevel.checkpoint_if_cancelled()
            self.send_soon(item)
            return
        await self._lock()
        try:
            if self._closed:
                raise LinkClosed("link closed")
            state = self._byte_conn.state
            try:
                data = self._byte_conn.send(item)
            except LocalProtocolError as exc:
                raise self._refused(state, exc) from exc
            await self._write(data)
        finally:
            self._send_lock.release()

    async def send_many(self, items: Sequence[Node]) -> None:
        """Send ``items`` in order, every frame in one ``send_all``: a writer that has
        several stanzas queued pays for one write (one syscall, one wake-up at the peer)
        instead of one per stanza. The frames are complete, so a peer's frame splitter
        sees the same bytes as with one write per frame.

        If the connection refuses one of them, the ones before it are still written, then
        the refusal is raised as :meth:`send` raises it.
        """
        await self._lock()
        try:
            if self._closed:
                raise LinkClosed("link closed")
            conn = self._byte_conn
            chunks: list[bytes] = []
            refused: LocalProtocolError | LinkClosed | None = None
            for item in items:
                phase = conn.state
                try:
                    chunks.append(conn.send(item))
                except LocalProtocolError as exc:
                    refused = self._refused(phase, exc)
                    refused.__cause__ = exc
                    break
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            await self._write(data)
            if refused is not None:
                raise refused
        finally:
            self._send_lock.release()

    def send_soon(self, item: Node) -> None:
        """Seal ``item`` now and write its frame without waiting, in order after
        everything sent before (see the module docstring). Never blocks and is no
        checkpoint; what cannot go out now goes out with the next write on this link.

        Raises:
            LinkClosed: the link is gone.
            LocalProtocolError: the connection refused the node (it is in ERROR then).
        """
        if self._closed:
            raise LinkClosed("link closed")
        conn = self._byte_conn
        state = conn.state
        try:
            data = conn.send(item)
        except LocalProtocolError as exc:
            raise self._refused(state, exc) from exc
        self._out += data
        self._unsent += 1
        if self._stuck or self._send_lock.locked() or self._lingering:
            # a flush is due, or the write under way takes these bytes along, or the
            # reader waiting for an answer writes them with the frames it holds
            return
        batch = self._batch
        if batch is not None and batch._task is not None and batch.holding():
            if not self._batched:
                self._batched = True
                batch._add(self)
            return
        self._push()

    def backlog(self) -> int:
        """Frames sealed by :meth:`send_soon` and not written yet."""
        return self._unsent

    def _push(self) -> None:
        """Write ``_out`` without waiting; what the kernel leaves waits for a flush."""
        self._batched = False
        out = self._out
        if not out or self._stuck or self._send_lock.locked() or self._closed:
            return
        write = self._write_nowait
        try:
            sent = 0 if write is None else write(out)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            sent = 0  # the flush finds the transport broken and says so
        if sent == len(out):
            self._out = bytearray()
            self._unsent = 0
            return
        if sent:
            del out[:sent]  # now a frame may be cut: nothing but the rest may follow
        self._stuck = True
        if self.on_stuck is not None:
            self.on_stuck()

    async def flush(self) -> None:
        """Write what :meth:`send_soon` left, waiting as long as that takes."""
        await self._lock()
        try:
            if self._closed:
                raise LinkClosed("link closed")
            await self._write(b"")
        finally:
            self._send_lock.release()

    async def _write(self, data: bytes) -> None:
        """Write ``_out`` then ``data`` (holding the send lock), then what
        :meth:`send_soon` added meanwhile."""
        if self._out:
            data = bytes(self._out + data)
            self._out = bytearray()
            self._unsent = 0
        self._stuck = False
        done = False
        try:
            while True:
                if data:
                    if self._write_socket is not None:
                        await sockets.send_all(self._write_socket, data)
                    else:
                        await self._stream.send_all(data)
                else:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                if not self._out:
                    break
                data = bytes(self._out)
                self._out = bytearray()
                self._unsent = 0
            done = True
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise LinkClosed(f"transport broke: {exc}") from exc
        finally:
            # Cancelled or failed mid-write: part of a frame may be on the wire and the
            # keystream is past it. Nothing written after this could be read.
            self._closed = self._closed or not done

    async def aclose(self) -> None:
        if self._batch is not None:
            self._batch.release()  # what this task held for other links goes out
        self._closed = True
        await self._stream.aclose()


Consumer: TypeAlias = "Callable[[Node], Coroutine[Any, Any, None] | None]"
"""What a node link's owner hands stanzas to in push mode (:meth:`NodeLink.consume`): a
coroutine function, or a plain function when handling a stanza never waits (no
coroutine to make and run per stanza)."""


@final
class Relay:
    """Run-to-completion delivery between the ends of in-process node links.

    Every node link pair of one server shares one relay. A stanza sent on a link whose
    peer takes pushes (:meth:`NodeLink.consume`) is queued here, and the queue is run
    by the task that sent it, inside its ``send``: the peer's handler runs right there,
    and what that handler sends in turn (the server's ack, the delivery to a third
    party, that party's automatic receipt...) joins the queue and runs in the same loop,
    one stanza at a time, in the order sent. No task wakes up for a hop; only the
    application task waiting for an event does, when its client shows it one.

    A sync sender (the server queueing a stanza for a peer from a timer, a fault or a
    test) cannot run the queue itself: it wakes the relay's own task, which does.
    Handlers must not block (none of the built-in flows or client handlers does): one
    that waits holds the queue meanwhile, and is cancelled with the task running it (a
    sender checks for cancellation before it queues anything, so a handler that never
    waits is never cut short).
    """

    __slots__ = ("_nursery", "_queue", "_running", "_wake")

    def __init__(self, nursery: trio.Nursery | None = None) -> None:
        self._nursery = nursery
        self._queue: deque[tuple[NodeLink, Node]] = deque()
        self._running = False
        self._wake: trio.Event | None = None

    @property
    def running(self) -> bool:
        """A run of the queue is under way (maybe suspended in a blocking handler)."""
        return self._running

    def post(self, sender: NodeLink, node: Node) -> None:
        """Queue ``node`` for the peer of ``sender``."""
        self._queue.append((sender, node))

    def kick(self) -> None:
        """Have the relay's task run the queue soon (for senders that cannot await)."""
        if self._running:
            return  # the run under way takes what was just queued
        if self._wake is None:
            self._wake = trio.Event()
            if self._nursery is not None:
                self._nursery.start_soon(self._serve, self._wake)
            else:
                trio.lowlevel.spawn_system_task(self._serve, self._wake)
        else:
            self._wake.set()

    async def _serve(self, wake: trio.Event) -> None:
        await self.run()
        while True:
            await wake.wait()
            wake = self._wake = trio.Event()
            await self.run()

    async def run(self) -> None:
        """Hand over everything queued, including what the handlers queue meanwhile."""
        if self._running:
            return
        self._running = True
        queue = self._queue
        try:
            while queue:
                sender, node = queue.popleft()
                # The turn of ``node``, sent on ``sender``: to the peer's consumer if the
                # peer is in push mode and ``node`` a stanza (the commonest hop, spelled
                # out here: one call less per hop), else _hand_over.
                sender._in_relay -= 1
                other = sender._other
                consumer = other._consumer if other is not None and other._live else None
                if consumer is None or node.tag in _NOT_STANZA_TAGS:
                    consumer = sender._hand_over(node)
                if consumer is not None:
                    try:
                        pending = consumer(node)
                        if pending is not None:  # an async consumer
                            await pending
                    except (trio.Cancelled, KeyboardInterrupt):
                        raise  # the running task's (or the user's), not the handler's
                    except BaseException as exc:
                        # The peer's handler failed: its owner hears, in its own task.
                        # A BaseException too (the scenario watchdog's, raised in a
                        # bot's callback): it is the handler's, not this sender's.
                        sender._peer_failed(exc)
        finally:
            self._running = False


@final
class _Pipe:
    """One direction of a node link pair: an unbounded queue of nodes with one reader.

    What ``trio.open_memory_channel(math.inf)`` gave here, with the same exceptions
    (``WouldBlock``, ``EndOfChannel`` once the sender closed and the queue is drained,
    ``ClosedResourceError`` on a closed end, ``BrokenResourceError`` sending to a closed
    reader) and the same schedule points, for a few slots instead of two channel ends,
    their shared state, a deque and two dicts of waiters (about 3.5 KiB per link pair,
    and most of an idle in-process session). The deque exists only while nodes wait.
    A link end has one reader task; a second one at the same time is a bug
    (``BusyResourceError``).
    """

    __slots__ = ("_items", "_reader", "on_wake", "receiver_closed", "sender_closed")

    def __init__(self) -> None:
        self._items: deque[Node] | None = None
        self._reader: trio.lowlevel.Task | None = None
        self.on_wake: Callable[[], None] | None = None
        """Called (once) instead of waking a reader when none waits: a node came, the
        sender closed, or :meth:`interrupt` (see :meth:`NodeLink.consume_idle`)."""
        self.sender_closed = False
        self.receiver_closed = False

    def send_nowait(self, node: Node) -> None:
        if self.sender_closed:
            raise trio.ClosedResourceError("this end was closed")
        if self.receiver_closed:
            raise trio.BrokenResourceError("the reader went away")
        items = self._items
        if items is None:
            items = self._items = deque()
        items.append(node)
        self._wake()

    def peek(self) -> Node | None:
        """The next node without taking it (None if none waits)."""
        items = self._items
        return items[0] if items else None

    def take(self) -> Node | None:
        """The next node, None if none waits (``receive_nowait`` without the exception)."""
        if self.receiver_closed:
            raise trio.ClosedResourceError("this end was closed")
        items = self._items
        if items:
            node = items.popleft()
            if not items:
                self._items = None
            return node
        if self.sender_closed:
            raise trio.EndOfChannel
        return None

    def receive_nowait(self) -> Node:
        node = self.take()
        if node is None:
            raise trio.WouldBlock
        return node

    async def receive(self) -> Node | None:
        """The next node, waiting for one; None if :meth:`interrupt` ended the wait."""
        await trio.lowlevel.checkpoint_if_cancelled()
        node = self.take()
        if node is not None:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return node
        if self._reader is not None:
            raise trio.BusyResourceError("another task is receiving on this link")
        self._reader = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)
        items = self._items  # what woke us: a node (ours even if we closed since), or a close
        if items:
            node = items.popleft()
            if not items:
                self._items = None
            return node
        if self.receiver_closed:
            raise trio.ClosedResourceError("this end was closed")
        if self.sender_closed:
            raise trio.EndOfChannel
        return None  # interrupted

    def interrupt(self) -> None:
        """End the reader's wait (its :meth:`receive` returns None), if it waits."""
        self._wake()

    def _abort(self, _: object) -> trio.lowlevel.Abort:
        self._reader = None
        return trio.lowlevel.Abort.SUCCEEDED

    def _wake(self) -> None:
        reader = self._reader
        if reader is not None:
            self._reader = None
            trio.lowlevel.reschedule(reader)
        elif self.on_wake is not None:
            on_wake, self.on_wake = self.on_wake, None
            on_wake()

    async def aclose_sending(self) -> None:
        """The sender closes (its reader gets ``EndOfChannel`` after what waits)."""
        self.sender_closed = True
        self._wake()
        await trio.lowlevel.checkpoint()

    async def aclose_receiving(self) -> None:
        """The reader closes: what waits is dropped, and sending fails from then on."""
        self.receiver_closed = True
        self._items = None
        self._wake()
        await trio.lowlevel.checkpoint()


@final
class NodeLink(_LinkBase):
    """A :class:`Link` over memory channels of nodes: the fast in-process path.

    The handshake runs through ``NodeConnection`` exactly as it would over bytes (the
    response blob is still computed and verified); only framing and encryption are
    skipped.

    Push mode: an owner that calls :meth:`consume` gets every stanza of the logged-in
    conversation handed to its handler directly by the sender (through the pair's
    :class:`Relay`), without a task switch, whenever nothing sent earlier is still
    waiting in the channel. Its :meth:`receive` then waits only for what is not a
    stanza (the stream's end, the peer gone) and raises what the handler raised.
    """

    def __init__(
        self,
        conn: NodeConnection,
        send_channel: _Pipe,
        receive_channel: _Pipe,
        *,
        peer: str = "memory",
        relay: Relay | None = None,
    ) -> None:
        super().__init__(conn, peer)
        self._node_conn = conn
        self._tx = send_channel
        self._rx = receive_channel
        self._relay = relay or Relay()
        self._other: NodeLink | None = None
        """The other end of the pair (set by :func:`node_link_pair`)."""
        self._consumer: Consumer | None = None
        self._live = False
        """Push mode is on: the peer hands stanzas to ``_consumer`` (the channel is empty)."""
        self._idle_wake: Callable[[], None] | None = None
        """The owner's ``wake`` while live with no reader (:meth:`consume_idle`)."""
        self._failure: BaseException | None = None
        self._in_relay = 0
        """Nodes this end sent that wait in the relay."""
        self._in_channel = 0
        """Nodes this end put in the channel that the peer has not taken yet."""
        self._shut = False
        """This end was closed (the peer's sends fail from then on)."""

    @property
    def connection(self) -> NodeConnection:
        return self._node_conn

    def consume(self, handler: Consumer) -> None:
        """Push mode: after the login, hand the peer's stanzas to ``handler`` as they are
        sent instead of returning them from :meth:`receive` (see the class docstring).

        ``handler`` runs in the sender's task and must not block; an exception it raises
        ends push mode and is raised by the pending :meth:`receive`. It may be a plain
        function (what it returns is awaited only if it is not None).
        """
        self._consumer = handler

    def consume_idle(self, handler: Consumer, wake: Callable[[], None]) -> None:
        """Push mode with no task waiting in :meth:`receive`: what an in-process client
        uses, so that an idle one holds no task of its own (a waiting reader is a task,
        its frames and its wait: about 3 KiB per session).

        The peer's stanzas go to ``handler`` as with :meth:`consume` while the channel is
        empty. Whatever needs a reader (what already waits in the channel, a node that
        is not a stanza, the stream's end, the peer gone, ``handler`` raising in the
        sender's task) calls ``wake()`` once, in order behind what came before it; the
        owner then starts a task that reads with :meth:`receive_or_idle` until that
        returns None, and ends. ``wake`` must not block (it starts the task).
        """
        self._consumer = handler
        self._idle_wake = wake
        if self._idle_now():
            return
        self._woken()

    async def receive_or_idle(self) -> Event | None:
        """:meth:`receive`, except that where it would wait for the peer, idle push mode
        (:meth:`consume_idle`) takes over again and None is returned: the reader ends."""
        if self._failure is None and self._idle_now():
            return None
        return await self.receive()

    def _idle_now(self) -> bool:
        """Go live with no reader if nothing needs one now (True), with no await between
        the empty channel and going live (the next stanza takes the relay)."""
        rx = self._rx
        if (
            self._closed
            or self._eof
            or self._idle_wake is None
            or not self._node_conn.streaming
            or rx.peek() is not None
            or rx.sender_closed
            or rx.receiver_closed
        ):
            return False
        self._live = True
        rx.on_wake = self._woken
        return True

    def _woken(self) -> None:
        """Something needs a reader (see :meth:`consume_idle`): later stanzas queue
        behind it in the channel until the reader catches up."""
        self._live = False
        self._rx.on_wake = None
        if self._idle_wake is not None:
            self._idle_wake()

    async def receive(self) -> Event:
        if self._failure is not None:
            self._raise_failure()
        conn = self._node_conn
        if self._closed or self._eof or not conn.streaming:
            return await super().receive()
        # Logged in, nothing queued: wait for the next node ourselves, and a stanza is
        # the event the connection would make of it (a login node or the stream's end
        # still goes through the connection, which knows what it means now).
        node = await self._next_node()
        if node is None:
            self._eof = True
            conn.receive_eof()
            return await super().receive()
        if conn.passes_through(node):
            return NodeReceived(node=node)
        conn.receive_node(node)
        return await super().receive()

    async def _next_node(self) -> Node | None:
        """The next node of the channel (None at its end). With a consumer and an empty
        channel, the peer pushes stanzas to the consumer meanwhile (push mode)."""
        rx = self._rx
        node: Node | None
        try:
            if self._consumer is None:
                node = await rx.receive()
            else:
                # Not receive_nowait: a WouldBlock caught here would stay alive (with its
                # traceback) for as long as the wait below, per idle session.
                node = rx.take()
                if node is None:  # wait live (here, not in a helper: one frame less held)
                    self._live = True
                    try:
                        node = await rx.receive()  # None: _fail interrupted it
                    finally:
                        self._live = False
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            return None
        if node is None:  # the wait was cut short: the consumer raised
            self._raise_failure()
        other = self._other
        if other is not None:
            other._in_channel -= 1
        return node

    def _raise_failure(self) -> NoReturn:
        """Raise what the consumer raised; the link is closed from then on."""
        failure, self._failure = self._failure, None
        self._closed = True
        if failure is None:  # pragma: no cover - only _fail cancels the wait
            raise LinkClosed("link closed")
        raise failure

    def _fail(self, exc: BaseException) -> None:
        """The consumer raised: push mode ends, and the receive in progress raises it."""
        if self._failure is None:
            self._failure = exc
        if self._live:
            self._live = False
            self._rx.interrupt()

    async def _feed(self) -> None:
        try:
            node = await self._rx.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            self._eof = True
            self._node_conn.receive_eof()
        else:
            if node is None:  # pragma: no cover - only a live wait is interrupted
                return
            if self._other is not None:
                self._other._in_channel -= 1
            self._node_conn.receive_node(node)

    async def send(self, item: Node | SendEvent) -> None:
        """Send ``item``. To a peer in push mode, the relay runs it (and all it causes)
        to completion here, with no schedule point; otherwise into the channel, then a
        checkpoint (the peer's reader gets its turn)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._queue_for_peer(item):
            relay = self._relay
            if not relay._running:
                await relay.run()
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()

    def backlog(self) -> int:
        """Nodes sent and not yet taken by the peer: what the session's outbound limit
        counts on this link, which has no writer queue of its own."""
        held = self._in_relay + self._in_channel
        return held if held > 0 else 0

    def send_nowait(self, item: Node | SendEvent) -> None:
        """Send without blocking (the channels are unbounded): lets the server skip its
        writer task on this transport, one task switch less per stanza. A peer in push
        mode gets it from the relay, run by the relay's own task if no run is under way."""
        other = self._other
        if (  # the common case of _queue_for_peer, without the call: into the relay
            other is not None
            and (other._live or self._in_relay)
            and not self._closed
            and not other._shut
            and type(item) is Node
            and self._node_conn.passes_through(item)
        ):
            relay = self._relay
            relay._queue.append((self, item))
            self._in_relay += 1
        elif self._queue_for_peer(item):
            relay = self._relay
        else:
            return
        if not relay._running:  # kick(), without the call when a run is under way
            relay.kick()

    def _queue_for_peer(self, item: Node | SendEvent) -> bool:
        """Send ``item``: straight into the channel when that keeps the order and the
        peer reads it, else into the relay (True: the relay has to run)."""
        if self._closed:
            raise LinkClosed("link closed")
        other = self._other
        if other is not None and other._shut:
            if not self._eof and self._rx.peek() is not None:
                # What the peer said before it went is still to be read here (its last
                # stanza, the stream's end): like bytes written to a socket whose peer
                # has closed, this is lost without an error, and the owner learns of the
                # end by reading it. Which of the two comes first is a race of tasks the
                # owner cannot see; the outcome must not depend on it.
                return False
            self._closed = True
            raise LinkClosed("peer went away")
        conn = self._node_conn
        if type(item) is Node and conn.passes_through(item):
            if other is not None and (other._live or self._in_relay):
                self._relay._queue.append((self, item))  # post(), without the call
                self._in_relay += 1
                return True
            self._to_channel(item)
            return False
        state = conn.state
        try:
            nodes = conn.send(item)
        except LocalProtocolError as exc:
            raise self._refused(state, exc) from exc
        if self._in_relay:  # behind stanzas still in the relay: keep the order
            for node in nodes:
                self._relay.post(self, node)
            self._in_relay += len(nodes)
            return True
        for node in nodes:
            self._to_channel(node)
        return False

    def _to_channel(self, node: Node) -> None:
        try:
            self._tx.send_nowait(node)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._closed = True
            raise LinkClosed("peer went away") from exc
        self._in_channel += 1

    def _hand_over(self, node: Node) -> Consumer | None:
        """The relay's turn for ``node``, sent on this end (the relay counted it out): the
        peer's consumer, for the relay to run with it, if the peer is in push mode and
        ``node`` a stanza; else into the channel here (or nowhere, if the peer is gone),
        and None. A plain call, not a coroutine: the relay awaits the consumer itself, one
        frame less per hop."""
        other = self._other
        assert other is not None, "only paired links queue in a relay"
        consumer = other._consumer
        if other._live and consumer is not None and node.tag not in _NOT_STANZA_TAGS:
            return consumer
        if other._shut or other._failure is not None:
            return None  # lost with the peer, as if it had been in the channel
        try:
            self._tx.send_nowait(node)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return None
        self._in_channel += 1
        return None

    def _peer_failed(self, exc: BaseException) -> None:
        """The peer's consumer raised for a stanza this end sent: its owner hears of it."""
        assert self._other is not None
        self._other._fail(exc)

    async def aclose(self) -> None:
        if self._in_relay and not self._relay.running:
            # What this end sent before closing reaches the peer first (as it would
            # from the channel), whatever task the scheduler runs next.
            with trio.CancelScope(shield=True):
                await self._relay.run()
        self._closed = True
        self._shut = True
        self._live = False
        self._rx.on_wake = self._idle_wake = None  # the owner reads no more
        await self._tx.aclose_sending()
        await self._rx.aclose_receiving()


def node_link_pair(
    client: NodeConnection, server: NodeConnection, relay: Relay | None = None
) -> tuple[NodeLink, NodeLink]:
    """Two connected node links: (client end, server end).

    The channels are unbounded: flow control belongs to the session's outbound queue,
    which measures its own backlog (a link must never block a sender mid-fan-out).
    ``relay``: the :class:`Relay` shared with the other pairs of the same server (a
    pair of its own if None).
    """
    relay = relay or Relay()
    c2s, s2c = _Pipe(), _Pipe()
    client_end = NodeLink(client, c2s, s2c, peer="server", relay=relay)
    server_end = NodeLink(server, s2c, c2s, peer="memory-client", relay=relay)
    client_end._other = server_end
    server_end._other = client_end
    return client_end, server_end
