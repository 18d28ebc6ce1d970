"""Privacy: the blocked list (``jabber:iq:privacy``) and privacy settings (``privacy``) (§3.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server.router import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """This family's routes are registered here."""
