"""Media: the ``w:m`` upload request and the download ack (§3.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.server.router import Router

__all__ = ["register"]


def register(router: Router) -> None:
    """This family's routes are registered here."""
