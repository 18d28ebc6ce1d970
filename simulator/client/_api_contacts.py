"""Client methods of one flow family: contact sync, privacy, pictures and statuses."""

from __future__ import annotations

from simulator.client.core import ClientCore

__all__ = ["ContactsApi"]


class ContactsApi(ClientCore):
    """Contact sync, privacy (blocked list and settings), pictures and statuses."""
