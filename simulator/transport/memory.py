"""An in-memory, unbounded byte stream pair: the bytes transport without sockets.

:func:`memory_stream_pair` gives two connected ``trio.abc.HalfCloseableStream`` ends, the
way ``trio.testing.memory_stream_pair`` does, without importing ``trio.testing`` (which
imports pytest whenever it is installed: tens of milliseconds on every start of the
``simulator`` command). What one end sends, the other receives, in order, in chunks of
at most ``max_bytes``:

* ``send_all`` never blocks (the buffer is unbounded) but is a checkpoint;
  ``write_nowait`` is the same write without the checkpoints;
* ``send_eof`` (or ``aclose``) of one end makes the other's ``receive_some`` return
  ``b""`` once the data sent before it is read;
* using an end after closing it raises ``trio.ClosedResourceError``; sending bytes to an
  end that was closed raises ``trio.BrokenResourceError`` (sending ``b""`` does not: there
  is nothing to deliver); two tasks sending (or receiving) at once on one end raise
  ``trio.BusyResourceError``.
"""

from __future__ import annotations

from typing import final

import trio

__all__ = ["MemoryStream", "memory_stream_pair"]


@final
class _Pipe:
    """One direction: bytes written by one end, waiting for the other end to read."""

    __slots__ = ("buffer", "eof", "reader_closed", "waiter")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False
        self.reader_closed = False
        self.waiter = trio.lowlevel.ParkingLot()


@final
class MemoryStream(trio.abc.HalfCloseableStream):
    """One end of a :func:`memory_stream_pair`."""

    __slots__ = ("_closed", "_inbound", "_outbound", "_receiving", "_sending")

    def __init__(self, inbound: _Pipe, outbound: _Pipe) -> None:
        self._inbound = inbound
        self._outbound = outbound
        self._closed = False
        self._sending = False
        self._receiving = False

    # The checkpoints are where trio.testing's memory streams have theirs (two before a
    # send or a read, one after each half of a close), so that code and tests see the
    # same interleavings on either.

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._sending = True
        try:
            await trio.lowlevel.checkpoint()
            await trio.lowlevel.checkpoint()
            self._check_can_send()
            if data:  # nothing to deliver, nothing to refuse (as trio.testing's)
                if self._outbound.reader_closed:
                    raise trio.BrokenResourceError("the other end is closed")
                self._outbound.buffer += data
                self._outbound.waiter.unpark_all()
        finally:
            self._sending = False

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        """``send_all`` without its checkpoints, for a writer that must not wait: the
        bytes taken (all of them; none while an async send is under way)."""
        if self._sending:
            return 0
        self._check_can_send()
        if data:
            if self._outbound.reader_closed:
                raise trio.BrokenResourceError("the other end is closed")
            self._outbound.buffer += data
            self._outbound.waiter.unpark_all()
        return len(data)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()
        await trio.lowlevel.checkpoint()
        self._check_can_send()

    async def send_eof(self) -> None:
        self._close_sending()
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be 1 or more")
        if self._receiving:
            raise trio.BusyResourceError("another task is receiving on this stream")
        self._receiving = True
        try:
            await trio.lowlevel.checkpoint()
            await trio.lowlevel.checkpoint()
            pipe = self._inbound
            if pipe.reader_closed:
                raise trio.ClosedResourceError("this stream is closed")
            if pipe.buffer or pipe.eof:
                await trio.lowlevel.checkpoint()
            else:
                await pipe.waiter.park()
            if pipe.reader_closed:
                raise trio.ClosedResourceError("this stream is closed")
            size = len(pipe.buffer) if max_bytes is None else max_bytes
            chunk = bytes(pipe.buffer[:size])
            del pipe.buffer[:size]
            return chunk
        finally:
            self._receiving = False

    async def aclose(self) -> None:
        try:
            self._close_sending()
            await trio.lowlevel.checkpoint()
        finally:
            self._closed = True
            pipe = self._inbound
            pipe.reader_closed = True
            pipe.buffer.clear()
            pipe.waiter.unpark_all()  # our own reader, if any, learns it
            await trio.lowlevel.checkpoint()

    def _close_sending(self) -> None:
        self._outbound.eof = True
        self._outbound.waiter.unpark_all()

    def _check_can_send(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("this stream is closed")
        if self._outbound.eof:
            raise trio.ClosedResourceError("this stream's sending side is closed (send_eof)")


def memory_stream_pair() -> tuple[MemoryStream, MemoryStream]:
    """Two connected ends: what one sends, the other receives."""
    one, other = _Pipe(), _Pipe()
    return MemoryStream(one, other), MemoryStream(other, one)
