"""Frames: the 3-byte header and an incremental buffer that cuts a byte stream into frames.

After the 4-byte preamble (§1.2), everything in both directions is a sequence of frames
(§1.3): a flag nibble, a 20-bit payload length, then the payload. Peers split their
writes anywhere (yowsup 2.0.53 writes the preamble one byte at a time, §1.1), so
``FrameBuffer`` accepts bytes in pieces of any size and hands out whole frames.

Flags: only ``ENCRYPTED`` (0x8) or nothing. ``COMPRESSED`` (0x4) is refused: no client
sets it, and only Chat-API's reader knows it, so a peer sending it is confused or hostile
(§1.3, §6.1). Any other bit is refused as well. The buffer does not decrypt: the
connection checks ``Frame.flags`` against the login state and unseals the payload.

Memory: a frame whose header announces more than ``max_payload`` bytes is refused as soon
as the header is complete, before any of its payload is kept; nothing is ever allocated
for an announced size, only for bytes that arrived. Once everything received has been
handed out the buffer lets go of its storage, so one big frame does not pin its size for
the life of the connection.
"""

from __future__ import annotations

from typing import Final, final

from simulator.errors import LocalProtocolError, RemoteProtocolError
from simulator.records import record
from simulator.wire.codec import XML_NOT_WELL_FORMED
from simulator.wire.limits import MAX_FRAME

__all__ = [
    "COMPRESSED",
    "ENCRYPTED",
    "HEADER_SIZE",
    "MAX_PAYLOAD",
    "Frame",
    "FrameBuffer",
    "frame_header",
]

HEADER_SIZE: Final = 3
"""Bytes in a frame header: flag nibble + 20-bit length (§1.3)."""
MAX_PAYLOAD: Final = MAX_FRAME
"""Largest payload a header can announce, MAC bytes included (§1.5)."""
ENCRYPTED: Final = 0x8
"""Flag: RC4 ciphertext followed by a 4-byte MAC (§2.6)."""
COMPRESSED: Final = 0x4
"""Flag: zlib after decryption. Never sent by a client or by us; refused on receipt."""

_COMPACT_AT: Final = 1 << 16  # drop consumed bytes once this many have piled up


def frame_header(length: int, *, encrypted: bool) -> bytes:
    """The 3-byte header of a frame whose payload is ``length`` bytes.

    Raises:
        LocalProtocolError: ``length`` is negative or above ``MAX_PAYLOAD``.

    >>> frame_header(5, encrypted=False).hex()
    '000005'
    """
    if not 0 <= length <= MAX_PAYLOAD:
        raise LocalProtocolError(f"a frame payload of {length} bytes exceeds {MAX_PAYLOAD}")
    flags = ENCRYPTED if encrypted else 0
    return bytes((flags << 4 | length >> 16, (length >> 8) & 0xFF, length & 0xFF))


@record
class Frame:
    """One frame as received.

    Attributes:
        flags: the flag nibble (``0`` or ``ENCRYPTED``).
        payload: the bytes after the header (ciphertext and MAC when encrypted).
        offset: stream offset of the frame's first header byte, counting from the first
            byte fed to the buffer (the preamble included), for error messages.
    """

    flags: int
    payload: bytes
    offset: int

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & ENCRYPTED)

    @property
    def payload_offset(self) -> int:
        """Stream offset of the first payload byte (``base_offset`` for the decoder)."""
        return self.offset + HEADER_SIZE


@final
class FrameBuffer:
    """Bytes in (``feed``), frames out (``next_frame``); sans-IO, any split accepted.

    Consumed bytes are dropped in batches, so many small feeds stay linear in time.

    >>> buf = FrameBuffer()
    >>> buf.feed(b"WA\\x01\\x05\\x00\\x00\\x01")
    >>> buf.take_exact(4)
    b'WA\\x01\\x05'
    >>> buf.next_frame() is None
    True
    >>> buf.feed(b"\\x02")
    >>> buf.next_frame()
    Frame(flags=0, payload=b'\\x02', offset=4)
    """

    __slots__ = ("_buf", "_dropped", "_pos", "max_payload")

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._pos = 0  # next unread byte in _buf
        self._dropped = 0  # stream offset of _buf[0]
        self.max_payload = max_payload
        """Largest payload a header may announce; the connection lowers it before login."""

    @property
    def capacity(self) -> int:
        """Bytes of storage held right now (for tests and diagnostics)."""
        return self._buf.__alloc__()

    def __len__(self) -> int:
        """Bytes received and not yet handed out."""
        return len(self._buf) - self._pos

    @property
    def offset(self) -> int:
        """Stream offset of the next byte to be handed out."""
        return self._dropped + self._pos

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buf += data

    def take_exact(self, n: int) -> bytes | None:
        """The next ``n`` raw bytes (e.g. the preamble), or ``None`` until all have arrived."""
        if len(self) < n:
            return None
        return self._consume(n)

    def next_frame(self) -> Frame | None:
        """The next complete frame, or ``None`` until it has fully arrived.

        Raises:
            RemoteProtocolError: the header has unknown or compressed flags (as soon as its
                first byte is there). The buffer is unusable afterwards.
        """
        available = len(self)
        if available == 0:
            return None
        head = self._buf[self._pos]
        flags = head >> 4
        if flags & ~ENCRYPTED:
            raise self._bad_flags(flags)
        if available < HEADER_SIZE:
            return None
        length = (head & 0xF) << 16 | self._buf[self._pos + 1] << 8 | self._buf[self._pos + 2]
        if length > self.max_payload:
            raise self._too_big(length)
        if available < HEADER_SIZE + length:
            return None
        offset = self.offset
        self._pos += HEADER_SIZE
        return Frame(flags, self._consume(length), offset)

    def next_sealed(self) -> tuple[bytes, int] | None:
        """The payload and stream offset of the next frame if it is complete, sealed
        (flags exactly ``ENCRYPTED``) and within ``max_payload``: the one shape of every
        frame once logged in. ``None`` otherwise, consuming nothing: :meth:`next_frame`
        then says what is missing or wrong."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        head = buf[pos]
        if head >> 4 != ENCRYPTED:
            return None
        length = (head & 0xF) << 16 | buf[pos + 1] << 8 | buf[pos + 2]
        if length > self.max_payload or len(buf) - pos - HEADER_SIZE < length:
            return None
        offset = self._dropped + pos
        self._pos = pos + HEADER_SIZE
        return self._consume(length), offset

    def _consume(self, n: int) -> bytes:
        start = self._pos
        self._pos += n
        out = bytes(self._buf[start : self._pos])
        # Drop what was read when that is cheap (all of it) or pays for itself (most of it).
        if self._pos == len(self._buf):
            self._dropped += self._pos
            self._buf = bytearray()  # a fresh one: the old storage is freed, not kept
            self._pos = 0
        elif self._pos >= _COMPACT_AT and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._dropped += self._pos
            self._pos = 0
        return out

    def _too_big(self, length: int) -> RemoteProtocolError:
        offset = self.offset
        return RemoteProtocolError(
            f"a frame of {length} bytes at offset {offset} (limit {self.max_payload} now)",
            offset=offset,
            reply_hint=XML_NOT_WELL_FORMED,
        )

    def _bad_flags(self, flags: int) -> RemoteProtocolError:
        if flags & COMPRESSED:
            what = f"compressed frame (flags 0x{flags:X})"
        else:
            what = f"frame with unknown flags 0x{flags:X}"
        offset = self.offset
        return RemoteProtocolError(
            f"{what} at offset {offset}", offset=offset, reply_hint=XML_NOT_WELL_FORMED
        )
