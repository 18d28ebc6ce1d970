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
:func:`write_nowait` is the write without any waiting: what the kernel takes now.
"""

from __future__ import annotations

import os

import trio

__all__ = ["receive_some", "send_all", "write_nowait"]


def _fd(stream: trio.SocketStream) -> int:
    fd = stream.socket.fileno()
    if fd < 0:
        raise trio.ClosedResourceError("the socket was closed")
    return fd


async def receive_some(stream: trio.SocketStream, max_bytes: int) -> bytes:
    """At most ``max_bytes`` from ``stream``; ``b""`` at end of file."""
    await trio.lowlevel.checkpoint_if_cancelled()
    waited = False
    while True:
        fd = _fd(stream)
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(fd)
            waited = True
            continue
        except OSError as exc:  # reset by the peer, and the like
            raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
        if not waited:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return data


async def send_all(stream: trio.SocketStream, data: bytes | bytearray | memoryview) -> None:
    """Write all of ``data`` to ``stream``."""
    await trio.lowlevel.checkpoint_if_cancelled()
    fd = _fd(stream)
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
    fd = _fd(stream)
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
