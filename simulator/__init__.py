"""simulator: a local fake of the 2014-2016 WhatsApp service (FunXMPP) for testing bots.

The public surface, by subpackage: :mod:`simulator.wire` (the sans-IO protocol core),
:mod:`simulator.server` (the fake service), :mod:`simulator.transport` (links and
connectors), :mod:`simulator.client` (the client library).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
