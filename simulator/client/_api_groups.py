"""Client methods of one flow family: Groups (w:g2) and broadcast lists (w:b)."""

from __future__ import annotations

from simulator.client.core import ClientCore

__all__ = ["GroupsApi"]


class GroupsApi(ClientCore):
    """Groups (w:g2) and broadcast lists (w:b)."""
