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

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, final

import trio

from simulator.errors import LocalProtocolError
from simulator.transport import sockets
from simulator.wire.events import ConnectionClosed, Event, NodeReceived
from simulator.wire.handshake import State
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.wire.connection import Connection, NodeConnection
    from simulator.wire.events import SendEvent
    from simulator.wire.tokens import Dialect

__all__ = ["Link", "LinkClosed", "LinkStalled", "NodeLink", "StreamLink", "node_link_pair"]

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

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def dialect(self) -> Dialect | None:
        return self._conn.dialect

    @property
    def closed(self) -> bool:
        return self._closed

    async def receive(self) -> Event:
        while True:
            if self._closed:
                raise LinkClosed("link closed")
            event = self._conn.next_event()
            if event is not None:
                if isinstance(event, ConnectionClosed):
                    self._closed = True
                return event
            if self._eof:  # pragma: no cover - the connection reports EOF as an event
                raise LinkClosed("link closed")
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

    @property
    def connection(self) -> Connection:
        return self._byte_conn

    async def _feed(self) -> None:
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
        await self._lock()
        try:
            if self._closed:
                raise LinkClosed("link closed")
            state = self._byte_conn.state
            try:
                data = self._byte_conn.send(item)
            except LocalProtocolError as exc:
                raise self._refused(state, exc) from exc
            if data:
                await self._write(data)
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
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
                state = conn.state
                try:
                    chunks.append(conn.send(item))
                except LocalProtocolError as exc:
                    refused = self._refused(state, exc)
                    refused.__cause__ = exc
                    break
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if data:
                await self._write(data)
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
            if refused is not None:
                raise refused
        finally:
            self._send_lock.release()

    async def _write(self, data: bytes) -> None:
        done = False
        try:
            if self._write_socket is not None:
                await sockets.send_all(self._write_socket, data)
            else:
                await self._stream.send_all(data)
            done = True
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise LinkClosed(f"transport broke: {exc}") from exc
        finally:
            # Cancelled or failed mid-write: part of a frame may be on the wire and the
            # keystream is past it. Nothing written after this could be read.
            self._closed = self._closed or not done

    async def aclose(self) -> None:
        self._closed = True
        await self._stream.aclose()


@final
class NodeLink(_LinkBase):
    """A :class:`Link` over memory channels of nodes: the fast in-process path.

    The handshake runs through ``NodeConnection`` exactly as it would over bytes (the
    response blob is still computed and verified); only framing and encryption are
    skipped.
    """

    def __init__(
        self,
        conn: NodeConnection,
        send_channel: trio.MemorySendChannel[Node],
        receive_channel: trio.MemoryReceiveChannel[Node],
        *,
        peer: str = "memory",
    ) -> None:
        super().__init__(conn, peer)
        self._node_conn = conn
        self._tx = send_channel
        self._rx = receive_channel

    @property
    def connection(self) -> NodeConnection:
        return self._node_conn

    async def receive(self) -> Event:
        conn = self._node_conn
        if self._closed or self._eof or not conn.streaming:
            return await super().receive()
        # Logged in, nothing queued: wait for the next node ourselves, and a stanza is
        # the event the connection would make of it (a login node or the stream's end
        # still goes through the connection, which knows what it means now).
        try:
            node = await self._rx.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            self._eof = True
            conn.receive_eof()
            return await super().receive()
        if conn.passes_through(node):
            return NodeReceived(node=node)
        conn.receive_node(node)
        return await super().receive()

    async def _feed(self) -> None:
        try:
            node = await self._rx.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            self._eof = True
            self._node_conn.receive_eof()
        else:
            self._node_conn.receive_node(node)

    async def send(self, item: Node | SendEvent) -> None:
        self.send_nowait(item)
        await trio.lowlevel.checkpoint()

    def backlog(self) -> int:
        """Nodes sent and not yet taken by the peer: what the session's outbound limit
        counts on this link, which has no writer queue of its own."""
        return self._tx.statistics().current_buffer_used

    def send_nowait(self, item: Node | SendEvent) -> None:
        """Send without blocking (the channels are unbounded): lets the server skip its
        writer task on this transport, one task switch less per stanza."""
        if self._closed:
            raise LinkClosed("link closed")
        conn = self._node_conn
        if isinstance(item, Node) and conn.passes_through(item):
            nodes: list[Node] = [item]  # what conn.send(item) would return, state unchanged
        else:
            state = conn.state
            try:
                nodes = conn.send(item)
            except LocalProtocolError as exc:
                raise self._refused(state, exc) from exc
        for node in nodes:
            try:
                self._tx.send_nowait(node)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._closed = True
                raise LinkClosed("peer went away") from exc

    async def aclose(self) -> None:
        self._closed = True
        await self._tx.aclose()
        await self._rx.aclose()


def node_link_pair(client: NodeConnection, server: NodeConnection) -> tuple[NodeLink, NodeLink]:
    """Two connected node links: (client end, server end).

    The channels are unbounded: flow control belongs to the session's outbound queue,
    which measures its own backlog (a link must never block a sender mid-fan-out).
    """
    c2s_tx, c2s_rx = trio.open_memory_channel["Node"](math.inf)
    s2c_tx, s2c_rx = trio.open_memory_channel["Node"](math.inf)
    return (
        NodeLink(client, c2s_tx, s2c_rx, peer="server"),
        NodeLink(server, s2c_tx, c2s_rx, peer="memory-client"),
    )
