"""Suite-wide test configuration: the hypothesis profiles, virtual time for async tests.

``dev`` (the default) keeps a local run quick; ``ci`` (chosen when the ``CI`` environment
variable is set, as CI services do) runs more examples. Tests that want more examples in
both, such as the fuzz tests, scale ``settings.default.max_examples``. No deadline: run
times on shared CI machines vary too much for it to mean anything.

Every async test runs on virtual time: pytest-trio's ``trio.run`` gets an autojumping
``MockClock`` unless the test asks for a clock of its own (``mock_clock``,
``autojump_clock``, or any fixture that is a ``trio.abc.Clock``). On the real clock, two
readings of the service's clock in one test fall either side of a second boundary now
and then (a token's expiry, a timestamp in an answer), and a timeout waits for the
machine's load. A test that waits on the world outside the process (sockets to the
kernel, subprocesses, a browser) is marked ``real_clock``: virtual time would jump past
every one of its deadlines while the kernel answers.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
import trio
import trio.abc
import trio.testing
from hypothesis import settings

settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long", action="store_true", help="also run the tests marked long (soak runs)"
    )


def run_on_virtual_time(
    fn: Callable[[], Awaitable[Any]],
    *,
    clock: trio.abc.Clock | None = None,
    instruments: Sequence[trio.abc.Instrument] = (),
) -> Any:
    """pytest-trio's runner for a test: its own clock if it asked for one, else an
    autojumping ``MockClock``."""
    return trio.run(
        fn, clock=clock or trio.testing.MockClock(autojump_threshold=0), instruments=instruments
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Async tests run on virtual time unless marked ``real_clock``; tests marked
    ``long`` (minutes each) run only with ``--long``."""
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and inspect.iscoroutinefunction(item.obj)
            and item.get_closest_marker("real_clock") is None
        ):
            item.add_marker(pytest.mark.trio(run=run_on_virtual_time))
    if config.getoption("--long"):
        return
    kept = [item for item in items if item.get_closest_marker("long") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
