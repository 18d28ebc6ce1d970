"""The flows of the service, one module per family, each with a ``register(router)``.

Adding a family means writing its module and listing it in :data:`FLOWS`; the routing
table, ``simulator routes`` and the generated docs pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from simulator.server.flows import (
    account,
    broadcast,
    chatstate,
    contacts,
    encrypt,
    groups,
    iq_basic,
    media,
    messages,
    presence,
    privacy,
    profile,
    receipts,
)
from simulator.server.router import Router

__all__ = ["FLOWS", "default_router"]

FLOWS: Final[tuple[Callable[[Router], None], ...]] = (
    messages.register,
    receipts.register,
    presence.register,
    chatstate.register,
    iq_basic.register,
    groups.register,
    broadcast.register,
    contacts.register,
    privacy.register,
    profile.register,
    account.register,
    media.register,
    encrypt.register,
)


def default_router() -> Router:
    """A router with every flow registered."""
    return Router().extend(FLOWS)
