"""Contact sync (``urn:xmpp:whatsapp:sync``) and ``contacts`` notifications (§3.7, §3.15, §4.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server.router import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """This family's routes are registered here."""
