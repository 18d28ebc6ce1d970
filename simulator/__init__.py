"""simulator: a local fake of the 2014-2016 WhatsApp service (FunXMPP) for testing bots.

The entry points most users need are available here; each subpackage has its own
public surface:

* :mod:`simulator.wire` — the sans-IO protocol core (Node, codec, login, Connection);
* :mod:`simulator.server` — the fake service (:func:`open_server`);
* :mod:`simulator.transport` — links and connectors (memory, TCP);
* :mod:`simulator.client` — the client library (:func:`open_client`, typed events);
* :mod:`simulator.scenario` — scenario files and their runner (:func:`run_file`);
* :mod:`simulator.testing` — the pieces the pytest plugin's fixtures are made of.

The names below are imported on first use, so ``import simulator`` stays cheap (the pytest
plugin is imported by every pytest run of a project that has the simulator installed).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from simulator.lazy import lazy_names

__version__ = "0.1.0"

# A library logs only where its user asks (``simulator serve`` does, on stderr): without
# this, Python would print its WARNING records (a dropped session) to stderr by itself.
logging.getLogger("simulator").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from simulator.client import Client, open_client
    from simulator.scenario import load_scenario, run_file
    from simulator.server import Server, open_server
    from simulator.wire import Dialect, Node

__all__ = [
    "Client",
    "Dialect",
    "Node",
    "Server",
    "__version__",
    "load_scenario",
    "open_client",
    "open_server",
    "run_file",
]

_LAZY = {
    "Client": "simulator.client",
    "open_client": "simulator.client",
    "load_scenario": "simulator.scenario",
    "run_file": "simulator.scenario",
    "Server": "simulator.server",
    "open_server": "simulator.server",
    "Dialect": "simulator.wire",
    "Node": "simulator.wire",
}


__getattr__ = lazy_names(__name__, _LAZY)
