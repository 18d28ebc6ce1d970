"""Reading and writing a ``trio.SocketStream`` through its file descriptor.

``SocketStream.receive_some`` and ``send_all`` go through several layers per call (a
conflict detector, two context managers, the socket method wrapper, the non-blocking
helper), and a reader waiting in them holds eight suspended frames. On the hot path of
a TCP link that is a good part of the cost of a small frame, and of the memory of an
idle connection. These two functions do the same system calls on the stream's socket
with the same checkpoints and the same errors:

* cancellation is honoured before anything is read or written;
* a call that completes at once still lets the scheduler run others (a scheduler round,
  shielded from cancellation, as trio's own socket methods do); a read that had to wait
  for its data has been through the scheduler already and returns at once (no second
  round for the same bytes);
* a reset or other socket error is ``trio.BrokenResourceError``, a closed socket
  ``trio.ClosedResourceError``.

A write the kernel does not take whole is finished by the stream's own ``send_all``.
:func:`write_nowait` is the write without any waiting: what the kernel takes now, and
:func:`read_nowait` the read: what the kernel has now.
"""

from __future__ import annotations

import os

import trio

__all__ = ["fileno", "read_nowait", "receive_some", "send_all", "write_nowait"]


def fileno(stream: trio.SocketStream) -> int:
    """The descriptor of ``stream``'s socket; ``trio.ClosedResourceError`` once closed."""
    number = stream.socket.fileno()
    if number < 0:
        raise trio.ClosedResourceError("the socket was closed")
    return number


async def receive_some(stream: trio.SocketStream, max_bytes: int) -> bytes:
    """At most ``max_bytes`` from ``stream``; ``b""`` at end of file."""
    await trio.lowlevel.checkpoint_if_cancelled()
    data = read_nowait(stream, max_bytes)
    if data is not None:
        await trio.lowlevel.cancel_shielded_checkpoint()
        return data
    while data is None:
        # Waited outside the ``except`` of the read: a caught exception stays alive
        # (with its traceback) as long as its handler runs, here the whole idle wait.
        await trio.lowlevel.wait_readable(fileno(stream))
        data = read_nowait(stream, max_bytes)
    return data


def read_nowait(stream: trio.SocketStream, max_bytes: int) -> bytes | None:
    """At most ``max_bytes`` from ``stream`` if it has any now (``b""`` at end of file),
    else None. Never blocks and is no checkpoint."""
    fd = fileno(stream)
    try:
        return os.read(fd, max_bytes)
    except BlockingIOError:
        return None
    except OSError as exc:  # reset by the peer, and the like
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc


async def send_all(stream: trio.SocketStream, data: bytes | bytearray | memoryview) -> None:
    """Write all of ``data`` to ``stream``."""
    await trio.lowlevel.checkpoint_if_cancelled()
    fd = fileno(stream)
    try:
        sent = os.write(fd, data)
    except BlockingIOError:
        sent = 0
    except OSError as exc:
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
    if sent == len(data):
        await trio.lowlevel.cancel_shielded_checkpoint()
        return
    with memoryview(data) as view:
        await stream.send_all(view[sent:])


def write_nowait(stream: trio.SocketStream, data: bytes | bytearray | memoryview) -> int:
    """Write what the kernel takes of ``data`` right now; the number of bytes taken
    (``0`` if its buffer is full). Never blocks and is no checkpoint."""
    fd = fileno(stream)
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
