"""Where the server's time and identifiers come from: nowhere else.

Time is trio's clock plus a fixed epoch offset, so under ``trio.testing.MockClock`` a
scenario that waits an hour takes no wall time and every ``t`` attribute is the same
from run to run. Identifiers (notification ids, nonces, picture ids...) come from one
seeded ``random.Random`` and counters, never from the wall clock or ``os.urandom``.
"""

from __future__ import annotations

import random
import time
from typing import Final, final

import trio

__all__ = ["DEFAULT_EPOCH", "IdSource", "ServerClock"]

DEFAULT_EPOCH: Final = 1_420_070_400
"""2015-01-01T00:00:00Z: virtual time 0 in scenarios and tests, the heart of the era."""


@final
class ServerClock:
    """Unix time derived from trio's clock.

    Args:
        epoch: the Unix time that trio time 0 corresponds to. ``None`` means "real time":
            the offset is taken from the wall clock once, when the clock is created (for
            ``simulator serve``). Must be created inside ``trio.run``.
    """

    def __init__(self, epoch: float | None = DEFAULT_EPOCH) -> None:
        if epoch is None:
            epoch = time.time() - trio.current_time()
        self.epoch = epoch

    def now(self) -> int:
        """The current Unix time in whole seconds (what every ``t`` attribute carries)."""
        return int(self.epoch + trio.current_time())

    def now_ms(self) -> int:
        return int((self.epoch + trio.current_time()) * 1000)


@final
class IdSource:
    """Deterministic identifiers, all derived from one seed."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._counter = 0

    def counter(self) -> int:
        self._counter += 1
        return self._counter

    def stanza_id(self) -> str:
        """A server-originated stanza id: a 9-10 digit decimal string (PROTOCOL.md §3.15)."""
        return str(self._random.randrange(100_000_000, 10_000_000_000))

    def nonce(self, size: int = 20) -> bytes:
        """Bytes for a login challenge or a next-login nonce."""
        return self._random.randbytes(size)

    def token(self, size: int = 16) -> str:
        """A URL-safe hex token (media paths, registration codes)."""
        return self._random.randbytes(size).hex()

    def digits(self, count: int) -> str:
        return "".join(str(self._random.randrange(10)) for _ in range(count))
