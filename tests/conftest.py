"""Suite-wide test configuration: the hypothesis profiles.

``dev`` (the default) keeps a local run quick; ``ci`` (chosen when the ``CI`` environment
variable is set, as CI services do) runs more examples. Tests that want more examples in
both, such as the fuzz tests, scale ``settings.default.max_examples``. No deadline: run
times on shared CI machines vary too much for it to mean anything.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
