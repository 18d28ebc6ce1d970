"""Profile and group pictures (``w:profile:picture``) and statuses (``status``) (§3.2, §3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server.router import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """This family's routes are registered here."""
