"""`HandlerContext`: what a flow handler may do, and nothing more.

A handler reads and changes :class:`~simulator.server.state.State` through sync methods
and answers through its context: ``reply`` (to the requester), ``result`` (an iq
result), ``deliver`` (to a user: live if connected, and kept pending until acked, §4.4),
``send_live`` (only if connected, never queued: chat states, presence), ``notify`` (a
notification to several users). Time and ids come from the server: ``now()``,
``new_id()``.

Ordering rule (PROTOCOL.md §4.3): a handler replies first and fans out after; since every
outbound stanza of a session goes through one queue, that order is what the peer sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, final

from simulator import stanzas

if TYPE_CHECKING:
    from simulator.server.server import Server
    from simulator.server.session import Session
    from simulator.server.state import Account, State
    from simulator.wire.node import Node

__all__ = ["HandlerContext"]


@final
class HandlerContext:
    """Handed to every handler; one per session, reused for every stanza."""

    __slots__ = ("server", "session", "state")

    def __init__(self, server: Server, session: Session) -> None:
        self.server = server
        self.session = session
        self.state: State = server.state

    # ---------------------------------------------------------------- who and when

    @property
    def jid(self) -> str:
        """The logged-in user's JID."""
        return self.session.jid

    @property
    def account(self) -> Account:
        account = self.session.account
        assert account is not None, "handlers run only after login"
        return account

    def now(self) -> int:
        return self.server.clock.now()

    def new_id(self) -> str:
        return self.server.ids.stanza_id()

    # ---------------------------------------------------------------- answering

    def reply(self, node: Node) -> None:
        """Send ``node`` to the requester (this session)."""
        self.session.push(node)

    def result(
        self, request: Node, children: Iterable[Node] = (), *, sender: str | None = None
    ) -> None:
        """Answer an iq with ``<iq from=.. id=.. type="result">children</iq>``.

        ``from`` is the request's ``to``, or ``s.whatsapp.net`` when it had none (§3.0).
        """
        self.session.push(stanzas.iq.result(request, children, sender=sender))

    # ---------------------------------------------------------------- other users

    def deliver(self, to: str, node: Node) -> None:
        """Hand a message, receipt or notification to user ``to``.

        It is kept in ``to``'s mailbox until ``to`` acknowledges it, and pushed at once
        if ``to`` is connected (§4.4). Unknown users get nothing.
        """
        self.server.deliver_each((to,), node)  # Server.deliver, one call less

    def send_live(self, to: str, node: Node) -> bool:
        """Send to ``to`` only if connected; never queued. True if it was sent."""
        return self.server.send_live(to, node)

    def notify(self, recipients: Iterable[str], node: Node) -> None:
        """Deliver a notification to each recipient, each with its own copy."""
        self.server.deliver_each(recipients, node)

    def deliver_each(self, recipients: Iterable[str], node: Node) -> None:
        """:meth:`deliver` the same ``node`` to each of ``recipients``, in order."""
        self.server.deliver_each(recipients, node)
