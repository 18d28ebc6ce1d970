"""Client methods of one flow family: Account, media upload and registration."""

from __future__ import annotations

from simulator.client.core import ClientCore

__all__ = ["AccountApi"]


class AccountApi(ClientCore):
    """Account, media upload and registration."""
