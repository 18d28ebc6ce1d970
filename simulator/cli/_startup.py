"""A command's start-up without the garbage collector.

What a command makes while it starts (modules, classes, pydantic's validators, the loaded
scenario files) lives until the process ends: the collector can free none of it, yet it
scans it all, more each time, as the start-up allocates (two full collections while
``simulator run`` imports, about a tenth of its start-up's CPU). :func:`startup` turns
the collector off for that stretch, then moves what it made out of the collector's sight
(``gc.freeze``) and turns it back on: what the command does next (the runs, a server) is
collected as usual.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["startup"]


@contextmanager
def startup() -> Iterator[None]:
    """The collector off inside; on leaving (also by an exception) what exists is frozen
    and the collector is on again if it was on before."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()
