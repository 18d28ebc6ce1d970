"""trio's virtual clock and "everything is blocked" wait, without importing ``trio.testing``.

``trio.testing`` imports pytest whenever pytest is installed (for ``RaisesGroup``): pytest,
pluggy and pygments on every start of the ``simulator`` command, which only needs
:class:`MockClock` and :func:`wait_all_tasks_blocked`. Both live in ``trio._core`` (its
``_mock_clock`` and ``_generated_run`` modules) and ``trio.testing`` re-exports those very
objects. If a trio release moves them, the public module is used (slower to import, same
behaviour) and ``tests/test_trio_clock.py`` fails, to say so.
"""

from __future__ import annotations

__all__ = ["MockClock", "wait_all_tasks_blocked"]

try:
    from trio._core._generated_run import wait_all_tasks_blocked
    from trio._core._mock_clock import MockClock
except ImportError:  # pragma: no cover - a trio release that moved them
    from trio.testing import MockClock, wait_all_tasks_blocked
