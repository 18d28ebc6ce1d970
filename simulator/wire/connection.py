"""`Connection` (bytes) and `NodeConnection` (nodes): one FunXMPP conversation, sans-IO.

Both wrap the same :class:`~simulator.wire.handshake.Handshake`, so the login runs the
same nodes, the same table and the same blob crypto whatever carries it. They differ only
in what goes in and out:

* :class:`Connection` speaks bytes: the client's 4-byte preamble (§1.2), 3-byte frame
  headers (§1.3), the codec (§1.4), and RC4 + HMAC on the sealed kinds (§2.6).
  ``receive_data(bytes)`` (``b""`` = end of file), ``next_event()``, ``send(...) -> bytes``.
* :class:`NodeConnection` speaks ``Node`` objects for an in-process link:
  ``receive_node(node)``, ``receive_eof()``, ``next_event()``, ``send(...) -> list[Node]``.

``next_event()`` returns ``None`` when nothing can be reported yet: more input is needed,
or the login waits for our answer (after ``LoginRequested`` or ``Challenged``, peer input
stays buffered until we have sent ours; see the handshake's theory of operation). End of
file is reported once as ``ConnectionClosed``; the state is then ``CLOSED`` and nothing
more can be sent (there is no half-closed stream in this protocol).

Errors follow h11. Anything the peer can cause raises ``RemoteProtocolError`` from
``next_event()``, with ``reply_hint`` set to what a server answers before closing:
``failure`` during the login, ``<stream:error><xml-not-well-formed/></stream:error>``
after it, ``None`` for a bad preamble (§1.2), on the client side, or once the peer has
closed. Our own misuse raises ``LocalProtocolError``. Either way the connection is in
``State.ERROR`` afterwards and every call raises ``LocalProtocolError``, except one:
``send(exc.reply_hint)``, which writes the hint (sealed if logged in) exactly once.

Limits: a :class:`~simulator.wire.limits.WireLimits` bounds what the peer's bytes may
make us hold. Until the login is complete a frame may announce at most
``max_login_frame`` bytes (login nodes are small), afterwards ``max_frame``; nodes are
decoded within the node limits. :attr:`Connection.buffered` and
:attr:`Connection.receive_size` tell the I/O layer how much is held and how much to read
next, so a peer that never logs in costs at most about two login frames of memory.

Byte-exactness: a client encodes like the real 1.6 clients (``pack=True`` in
``Dialect.V16``), a server like the canonical server writer (``pack=False``). With the
recorded inputs this reproduces the golden sessions in ``tests/vectors`` byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from simulator.wire.codec import decode, encode
from simulator.wire.crypto import MAC_SIZE
from simulator.wire.events import Event, Login, NodeReceived, Role, SendEvent
from simulator.wire.framing import ENCRYPTED, HEADER_SIZE, MAX_PAYLOAD, FrameBuffer, frame_header
from simulator.wire.handshake import (
    NOT_STANZA_TAGS,
    Handshake,
    State,
    SwitchKeys,
    is_sealed,
    is_stanza,
    kind_of,
)
from simulator.wire.limits import DEFAULT_LIMITS, WireLimits
from simulator.wire.node import Node
from simulator.wire.tokens import Dialect

if TYPE_CHECKING:
    from collections.abc import Iterator

    from simulator.wire.crypto import KeyStream
    from simulator.wire.framing import Frame
    from simulator.wire.handshake import Output

__all__ = ["PREAMBLE_SIZE", "Connection", "NodeConnection"]

PREAMBLE_SIZE = 4
"""``W A 01 05|06``: raw bytes before the first frame (§1.2)."""
RECEIVE_SIZE = 65536
"""What :attr:`Connection.receive_size` suggests once logged in."""

_LOGGED_IN = frozenset({State.ESTABLISHED, State.CLIENT_ENDED, State.SERVER_ENDED})
_ESTABLISHED = State.ESTABLISHED
"""A global, not ``State.ESTABLISHED``: an enum member read off its class costs a lookup
through the enum's metaclass (about 0.1 µs), and the stanza paths ask it per stanza."""

_NEW = object.__new__
_SET_RECEIVED_NODE = NodeReceived.__dict__["node"].__set__


def _received(node: Node) -> NodeReceived:
    """``NodeReceived(node=node)`` through its slot's setter, for every stanza read: the
    frozen dataclass's ``__init__`` sets the field with ``object.__setattr__``, a lookup
    and a call more."""
    event: NodeReceived = _NEW(NodeReceived)
    _SET_RECEIVED_NODE(event, node)
    return event


class _ConnectionBase:
    """What both connections share: the handshake funnel, the event queue, errors, EOF."""

    def __init__(self, role: Role, dialect: Dialect | None) -> None:
        self._role = role
        self._dialect = dialect
        self._hs = Handshake(role)
        # Lists, not deques: they hold one or two items at a time, and an empty list
        # costs 56 bytes where a deque costs over 600 (per connection, per session).
        self._events: list[Event] = []
        self._eof = False
        self._closed_reported = False
        self._hint: Node | None = None  # the reply hint of the last RemoteProtocolError

    # ---------------------------------------------------------------- properties

    @property
    def our_role(self) -> Role:
        return self._role

    @property
    def dialect(self) -> Dialect | None:
        """The wire dialect; a byte server learns it from the preamble (``None`` before)."""
        return self._dialect

    @property
    def state(self) -> State:
        """The login/stream state shared by both ends (see ``simulator.wire.handshake``)."""
        return self._hs.state

    @property
    def user(self) -> str | None:
        """The account logging in: from ``Login`` (client) or the peer's auth (server)."""
        return self._hs.user

    @property
    def next_nonce(self) -> bytes | None:
        """The nonce for the next fast re-login (§2.8): what our ``Success`` sent (server)
        or what the peer's success carried (client). Store it per user."""
        return self._hs.next_nonce

    # ---------------------------------------------------------------- events out

    def next_event(self) -> Event | None:
        """The next event, or ``None`` if there is none until more input or our answer.

        Raises:
            RemoteProtocolError: the peer broke the protocol; see the module docstring.
            LocalProtocolError: the connection is already in ``ERROR``.
        """
        if self._events:
            return self._events.pop(0)
        self._check_usable("next_event")
        while not self._events:
            if self._closed_reported:
                return None
            before = self._hs.state  # the hint depends on the state before the fault
            try:
                if not self._step():
                    return None
            except RemoteProtocolError as exc:
                self._hs.fail()
                self._hint = exc.reply_hint = self._reply_hint(before)
                raise
        return self._events.pop(0)

    def _step(self) -> bool:
        """Process one unit of peer input, or the EOF; ``False`` if there is nothing to do."""
        if self._hs.peer_may_send and self._process_one():
            return True
        if not self._eof:
            return False
        self._check_nothing_left()
        self._take(self._hs.receive_eof())
        self._closed_reported = True
        return True

    def _reply_hint(self, state: State) -> Node | None:
        return None if self._eof else self._hs.reply_hint(state)

    def _process_one(self) -> bool:
        """Turn one unit of peer input into outputs; ``False`` if none is complete."""
        raise NotImplementedError

    def _check_nothing_left(self) -> None:
        """At EOF: raise ``RemoteProtocolError`` if the peer stopped mid-unit."""

    def _take(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, SwitchKeys):
                self._switch_keys(out)
            elif isinstance(out, Event):
                self._events.append(out)

    def _switch_keys(self, keys: SwitchKeys) -> None:
        """Install keystreams; a node link has no frames to protect."""

    def _check_usable(self, what: str) -> None:
        if self._hs.state is State.ERROR:
            raise LocalProtocolError(f"can't {what}: the connection is in ERROR")

    def _check_can_receive(self) -> None:
        self._check_usable("receive")
        if self._eof:
            raise LocalProtocolError("can't receive after end of file")

    # ---------------------------------------------------------------- nodes out

    def _outgoing(self, item: Node | SendEvent) -> Iterator[Node]:
        """The nodes to write for ``item``, installing keys and queueing events in order."""
        if self._hs.state is State.ERROR:
            yield self._take_hint(item)
            return
        for out in self._hs.send(item):
            if isinstance(out, Node):
                yield out
            else:
                self._take([out])

    def _take_hint(self, item: Node | SendEvent) -> Node:
        # Only the hint itself takes the hint: a queued stanza that races it to the
        # writer is refused without using up the goodbye.
        hint = self._hint
        if hint is None or item != hint:
            raise LocalProtocolError("can't send: the connection is in ERROR")
        self._hint = None
        return hint


class Connection(_ConnectionBase):
    """One FunXMPP connection over bytes, for either role (PROTOCOL.md §1-§2).

    Args:
        role: which end we are.
        dialect: the wire dialect. A client must choose it (it writes the preamble); a
            server learns it from the client's preamble, and if one is given here it
            refuses any other.
        limits: what the peer may make us hold (frame sizes before and after the
            login, node limits); see :class:`~simulator.wire.limits.WireLimits`.
    """

    def __init__(
        self,
        role: Role,
        *,
        dialect: Dialect | None = None,
        limits: WireLimits = DEFAULT_LIMITS,
    ) -> None:
        if role is Role.CLIENT and dialect is None:
            raise LocalProtocolError("a client must choose its dialect (it sends it, §1.2)")
        super().__init__(role, dialect)
        self._limits = limits
        self._buffer = FrameBuffer(limits.max_login_frame)
        self._preamble_done = False
        self._incoming: KeyStream | None = None
        self._outgoing_keys: KeyStream | None = None

    @property
    def limits(self) -> WireLimits:
        return self._limits

    @property
    def logged_in(self) -> bool:
        """Whether the login is complete (the larger frame limit applies)."""
        state = self._hs.state
        return state is State.ESTABLISHED or state in _LOGGED_IN

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events: a partial frame (or frames
        waiting for our answer during the login)."""
        return len(self._buffer)

    @property
    def buffer_capacity(self) -> int:
        """Bytes of storage the receive buffer holds right now."""
        return self._buffer.capacity

    @property
    def receive_size(self) -> int:
        """How many bytes the I/O layer should ask for at most in its next read: one
        login frame before the login is complete, ``RECEIVE_SIZE`` after."""
        if self.logged_in:
            return RECEIVE_SIZE
        return self._limits.max_login_frame + 3

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes from the peer, split anywhere; ``b""`` means the peer closed."""
        self._check_can_receive()
        if data:
            self._buffer.feed(data if isinstance(data, bytes) else bytes(data))
        else:
            self._eof = True

    def send(self, item: Node | SendEvent) -> bytes:
        """The bytes to write for a login event, a stanza or ``StreamEnd``.

        Write them with one call (§1.1): the frames are complete and in wire order.

        Raises:
            LocalProtocolError: not allowed now, or the node cannot be encoded; the
                connection is in ERROR afterwards.
        """
        if self._hs.state is _ESTABLISHED and type(item) is Node and is_stanza(item):
            # The hot path: a stanza while logged in. The table's row for it says "stay",
            # so the handshake has nothing to do; only the frame is built.
            try:
                return self._sealed_frame(item)
            except ProtocolError:
                self._hs.fail()
                raise
        client = self._role is Role.CLIENT
        out = bytearray()
        try:
            if client and not self._preamble_done and isinstance(item, Login):
                out += self._dialect_or_fail().preamble
            for node in self._outgoing(item):
                out += self._frame(node)
        except ProtocolError:
            self._hs.fail()
            raise
        # A client's first successful send is its Login, preamble included.
        self._preamble_done = self._preamble_done or client
        return bytes(out)

    def _dialect_or_fail(self) -> Dialect:
        if self._dialect is None:
            raise LocalProtocolError("nothing can be sent before the client's preamble arrived")
        return self._dialect

    def _frame(self, node: Node) -> bytes:
        """Encode, and seal if the kind is sealed (§1.3, §2.6), one frame."""
        if is_sealed(kind_of(node)):
            return self._sealed_frame(node)
        dialect = self._dialect_or_fail()
        payload = encode(node, dialect, pack=self._role is Role.CLIENT and dialect is Dialect.V16)
        return frame_header(len(payload), encrypted=False) + payload

    def _sealed_frame(self, node: Node) -> bytes:
        """Encode and seal one frame (§1.3, §2.6)."""
        dialect = self._dialect_or_fail()
        payload = encode(node, dialect, pack=self._role is Role.CLIENT and dialect is Dialect.V16)
        if self._outgoing_keys is None:
            raise LocalProtocolError(f"<{node.tag}> must be sealed but no keys exist yet")
        if len(payload) + MAC_SIZE > MAX_PAYLOAD:
            raise LocalProtocolError(f"<{node.tag}> is too big for a frame (§1.5)")
        sealed = self._outgoing_keys.seal(payload)
        size = len(sealed)  # at most MAX_PAYLOAD (checked above): frame_header, inline
        return bytes((ENCRYPTED << 4 | size >> 16, size >> 8 & 0xFF, size & 0xFF)) + sealed

    def _switch_keys(self, keys: SwitchKeys) -> None:
        self._incoming, self._outgoing_keys = keys.incoming, keys.outgoing

    def next_event(self) -> Event | None:
        if not self._events and self._hs.state is _ESTABLISHED:
            # The hot path: logged in, a whole sealed frame waiting. The same steps as
            # the generic path (``_process_one``), without building a ``Frame``.
            sealed = self._buffer.next_sealed()
            if sealed is not None:
                try:
                    node = self._open_sealed(*sealed)
                except RemoteProtocolError as exc:
                    self._hs.fail()
                    self._hint = exc.reply_hint = self._reply_hint(State.ESTABLISHED)
                    raise
                if node.tag not in NOT_STANZA_TAGS:  # is_stanza(node)
                    return _received(node)
                try:
                    self._take(self._hs.receive(node))
                except RemoteProtocolError as exc:
                    self._hs.fail()
                    self._hint = exc.reply_hint = self._reply_hint(State.ESTABLISHED)
                    raise
        return super().next_event()

    def _open_sealed(self, payload: bytes, offset: int) -> Node:
        """:meth:`_open` for a sealed frame at ``offset`` (its header's first byte)."""
        assert self._incoming is not None, "ESTABLISHED implies the keys"
        plain = self._incoming.open(payload, offset=offset)
        node = decode(
            plain, self._dialect_or_fail(), base_offset=offset + HEADER_SIZE, limits=self._limits
        )
        if not is_stanza(node) and not is_sealed(kind_of(node)):
            raise RemoteProtocolError(
                f"encrypted <{node.tag}> frame at offset {offset}: login nodes are "
                "plaintext (§1.3)",
                offset=offset,
            )
        return node

    def _reply_hint(self, state: State) -> Node | None:
        # Without a valid preamble there is no dialect to answer in: just close (§1.2).
        return super()._reply_hint(state) if self._preamble_done else None

    def _process_one(self) -> bool:
        if self._role is Role.SERVER and not self._preamble_done:
            return self._read_preamble()  # a unit of its own: the reply hint changes with it
        if self.logged_in:
            self._buffer.max_payload = self._limits.max_frame
        frame = self._buffer.next_frame()
        if frame is None:
            return False
        node = self._open(frame)
        if self._hs.state is _ESTABLISHED and frame.encrypted and is_stanza(node):
            # The hot path: a stanza while logged in; the table's row says "stay" and
            # the handshake would only wrap it (what ``Handshake.receive`` returns for it).
            self._events.append(NodeReceived(node=node))
        else:
            self._take(self._hs.receive(node))
        return True

    def _read_preamble(self) -> bool:
        raw = self._buffer.take_exact(PREAMBLE_SIZE)
        if raw is None:
            return False
        dialect = Dialect.from_preamble(raw)
        if dialect is None or (self._dialect is not None and dialect is not self._dialect):
            raise RemoteProtocolError(f"bad preamble {raw.hex()} (§1.2)", offset=0)
        self._dialect, self._preamble_done = dialect, True
        return True

    def _open(self, frame: Frame) -> Node:
        """Unseal and decode one frame, and check that its sealing fits its kind."""
        payload = frame.payload
        if frame.encrypted:
            if self._incoming is None:
                raise RemoteProtocolError(
                    f"encrypted frame at offset {frame.offset} before the login keys exist",
                    offset=frame.offset,
                )
            payload = self._incoming.open(payload, offset=frame.offset)
        node = decode(
            payload, self._dialect_or_fail(), base_offset=frame.payload_offset, limits=self._limits
        )
        if is_sealed(kind_of(node)) != frame.encrypted:
            what = "encrypted" if frame.encrypted else "plaintext"
            rule = "login nodes are plaintext" if frame.encrypted else "after login all is sealed"
            raise RemoteProtocolError(
                f"{what} <{node.tag}> frame at offset {frame.offset}: {rule} (§1.3)",
                offset=frame.offset,
            )
        return node

    def _check_nothing_left(self) -> None:
        left = len(self._buffer)
        if left and self._hs.peer_may_send:
            raise RemoteProtocolError(
                f"the peer closed the connection with {left} bytes of an unfinished frame",
                offset=self._buffer.offset,
            )


class NodeConnection(_ConnectionBase):
    """One FunXMPP conversation as ``Node`` objects: an in-process link, no bytes.

    The login is the same handshake as :class:`Connection` (the blob is built and
    verified with the real keys, §2.7); only framing and frame encryption are skipped.

    Args:
        role: which end we are.
        dialect: the dialect the peer would have announced; informational here.
    """

    def __init__(self, role: Role, *, dialect: Dialect) -> None:
        super().__init__(role, dialect)
        self._inbox: list[Node] = []
        self._machine = self._hs.machine  # its state is read for every stanza

    def receive_node(self, node: Node) -> None:
        """One node from the peer."""
        self._check_can_receive()
        self._inbox.append(node)

    def receive_eof(self) -> None:
        """The peer went away."""
        self._check_can_receive()
        self._eof = True

    @property
    def streaming(self) -> bool:
        """Logged in (``ESTABLISHED``) with nothing queued on the way in: the next peer
        stanza would come out of :meth:`next_event` as it went in (see
        :meth:`passes_through`)."""
        return self._hs.state is _ESTABLISHED and not self._events and not self._inbox

    def passes_through(self, node: Node) -> bool:
        """Whether ``node`` may skip this connection, either way: a stanza while logged in
        (``ESTABLISHED``) with nothing queued on the way in.

        Then :meth:`send` would return ``[node]`` and ``receive_node(node)`` followed by
        :meth:`next_event` would return ``NodeReceived(node=node)``, both leaving the
        state as it is (the table's rows for a stanza in ``ESTABLISHED`` say "stay"), so
        a link may hand the node over itself: the hot path of an in-process session,
        which runs no state machine per stanza after the login.
        """
        # streaming, spelled out: this runs for every stanza on an in-process link.
        return (
            node.tag not in NOT_STANZA_TAGS  # is_stanza(node)
            and self._machine.state is _ESTABLISHED
            and not self._events
            and not self._inbox
        )

    def send(self, item: Node | SendEvent) -> list[Node]:
        """The nodes to hand to the peer for a login event, a stanza or ``StreamEnd``.

        Raises:
            LocalProtocolError: not allowed now; the connection is in ERROR afterwards.
        """
        return list(self._outgoing(item))

    def _process_one(self) -> bool:
        if not self._inbox:
            return False
        self._take(self._hs.receive(self._inbox.pop(0)))
        return True
