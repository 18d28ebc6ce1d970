"""The pytest plugin of the simulator (registered through the ``pytest11`` entry point).

Fixtures and scenario collection are added by the scenario work; for now the plugin
only has to exist so that installing the package does not break pytest.
"""

from __future__ import annotations
