"""The payload children of outgoing messages (PROTOCOL.md §3.10).

They are the stanza vocabulary's builders (:mod:`simulator.stanzas.message`), named here
for the client library and the scenario steps.
"""

from __future__ import annotations

from simulator.stanzas.message import location, media, text, vcard

__all__ = ["location", "media", "text", "vcard"]
