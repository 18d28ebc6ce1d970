"""Account: change number, remove, pricing, extend, recovery token, dirty flags (§3.8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server.router import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """This family's routes are registered here."""
