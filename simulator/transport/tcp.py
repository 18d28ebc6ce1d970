"""TCP listeners for real clients: bind, then accept until cancelled, one task per peer.

Shared by the FunXMPP listener and the HTTP side. An ``accept`` that fails for lack of
resources (EMFILE and friends) backs off and carries on: one burst of peers must not
stop the server. Accepted sockets get ``TCP_NODELAY`` (PROTOCOL.md §1.1: small frames,
no reason to wait).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Awaitable, Callable

import trio

__all__ = ["listen_tcp"]

Handler = Callable[[trio.SocketStream], Awaitable[None]]


async def listen_tcp(
    nursery: trio.Nursery, host: str, port: int, handler: Handler
) -> tuple[str, int]:
    """Bind ``host:port`` (0 = any free port), serve each peer with ``handler`` in
    ``nursery``; returns the address actually bound. Raises ``OSError`` if binding fails."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    for listener in listeners:
        nursery.start_soon(_accept_loop, nursery, listener, handler)
    sockname = listeners[0].socket.getsockname()
    return sockname[0], sockname[1]


async def _accept_loop(
    nursery: trio.Nursery, listener: trio.SocketListener, handler: Handler
) -> None:
    # One name for every peer's task: trio would format one per task (about 100 bytes
    # held by each connection).
    name = f"{handler.__module__}.{getattr(handler, '__qualname__', handler)}"
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            except OSError:  # e.g. EMFILE: back off, keep serving the others
                await trio.sleep(0.1)
                continue
            with contextlib.suppress(OSError):
                stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            nursery.start_soon(handler, stream, name=name)
