"""Node patterns for expectations: moved to :mod:`simulator.patterns` (the server's fault
selectors use the same notation and matching rules); this module re-exports them."""

from __future__ import annotations

from simulator.patterns import *  # noqa: F403
from simulator.patterns import __all__ as __all__
from simulator.patterns import check_node_template, compile_template

__all__ = [*__all__, "check_node_template", "compile_template"]
