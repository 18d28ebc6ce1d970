"""Suite-wide test configuration: the hypothesis profiles.

``dev`` (the default) keeps a local run quick; ``ci`` (chosen when the ``CI`` environment
variable is set, as CI services do) runs more examples. Tests that want more examples in
both, such as the fuzz tests, scale ``settings.default.max_examples``. No deadline: run
times on shared CI machines vary too much for it to mean anything.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long", action="store_true", help="also run the tests marked long (soak runs)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` (minutes each) run only with ``--long``."""
    if config.getoption("--long"):
        return
    kept = [item for item in items if item.get_closest_marker("long") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
