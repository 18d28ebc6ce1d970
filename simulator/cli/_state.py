"""The ``--state FILE`` option of ``simulator serve`` and ``simulator desk``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.errors import FatalError

if TYPE_CHECKING:
    import argparse

    from simulator.server.store import Store

__all__ = ["open_store"]


def open_store(args: argparse.Namespace) -> Store | None:
    """The ``--state`` file, opened (and migrated), or ``None``; one sentence if unusable."""
    if args.state is None:
        return None
    from simulator.server.store import Store, StoreError  # sqlite3: only when asked

    try:
        return Store.open(args.state)
    except StoreError as exc:
        raise FatalError(str(exc)) from None
