"""Where the server's time and identifiers come from: nowhere else.

Time is trio's clock plus a fixed epoch offset, so under ``trio.testing.MockClock`` a
scenario that waits an hour takes no wall time and every ``t`` attribute is the same
from run to run.

Two sources of randomness, kept apart so that seeing the output of one never tells
anything about the other:

* :class:`IdSource`: identifiers peers may see and nobody needs to guess (stanza ids,
  call ids, counters). Seeded: a ``random.Random``; unseeded: the system's CSPRNG.
* :class:`SecretSource`: what must not be guessed (login nonces, SMS codes, issued
  passwords, upload tokens), one independent stream per purpose. Seeded: HMAC-SHA256 of
  the seed, the purpose and a counter, so a run is repeatable yet one stream's output
  (the challenge nonces a peer sees) says nothing about another's (the next SMS code);
  unseeded: ``os.urandom``.

Scenarios and tests always pass a seed (transcripts byte-identical run to run);
``simulator serve`` passes none unless given ``--seed N``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import time
from typing import TYPE_CHECKING, Final, final

import trio

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_EPOCH", "IdSource", "SecretSource", "ServerClock"]

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
        self._current_time: Callable[[], float] = trio.lowlevel.current_clock().current_time
        """The run's clock, asked directly: what ``trio.current_time()`` asks, two calls
        less (the server asks for every message and receipt)."""

    def now(self) -> int:
        """The current Unix time in whole seconds (what every ``t`` attribute carries)."""
        return int(self.epoch + self._current_time())

    def now_ms(self) -> int:
        return int((self.epoch + self._current_time()) * 1000)


@final
class IdSource:
    """Identifiers: deterministic from ``seed``, or unpredictable with ``seed=None``.

    Nothing secret comes from here (see :class:`SecretSource`).
    """

    def __init__(self, seed: int | None = 0, *, run: int = 0, counter: int = 0) -> None:
        # ``run``: how many times a state file was opened before (``serve --state``), so a
        # seeded server restarted from its file never hands out the ids of an earlier run.
        if seed is None:
            self._random: random.Random = random.SystemRandom()
        else:
            self._random = random.Random(seed if run == 0 else f"{seed}/run {run}")
        self._counter = counter
        """Counters continue from ``counter`` (the high-water mark a state file kept)."""

    @property
    def counted(self) -> int:
        """The last counter handed out (what a state file keeps)."""
        return self._counter

    def counter(self) -> int:
        self._counter += 1
        return self._counter

    def stanza_id(self) -> str:
        """A server-originated stanza id: a 9-10 digit decimal string (PROTOCOL.md §3.15)."""
        return str(self._random.randrange(100_000_000, 10_000_000_000))

    def token(self, size: int = 16) -> str:
        """A hex identifier (call ids); never a secret."""
        return self._random.randbytes(size).hex()


@final
class SecretSource:
    """Secrets, one independent stream per purpose (see the module docstring).

    ``seed=None``: every byte from ``os.urandom``. With a seed: stream ``purpose`` is
    HMAC-SHA256(key = SHA-256(seed, purpose), counter), deterministic and, without the
    seed, unpredictable from any other stream or from its own earlier output.
    """

    def __init__(self, seed: int | None = None, *, run: int = 0) -> None:
        self._seed: int | str | None = seed if seed is None or run == 0 else f"{seed}/run {run}"
        self._streams: dict[str, tuple[bytes, int]] = {}

    @property
    def seeded(self) -> bool:
        return self._seed is not None

    def draw(self, purpose: str, size: int) -> bytes:
        """``size`` secret bytes from the stream ``purpose``."""
        if self._seed is None:
            return os.urandom(size)
        key, counter = self._streams.get(purpose) or (
            hashlib.sha256(f"simulator secrets {self._seed} {purpose}".encode()).digest(),
            0,
        )
        out = b""
        while len(out) < size:
            out += hmac.digest(key, counter.to_bytes(8, "big"), "sha256")
            counter += 1
        self._streams[purpose] = (key, counter)
        return out[:size]

    def nonce(self, size: int = 20) -> bytes:
        """A login challenge or next-login nonce (§2.4, §2.9)."""
        return self.draw("nonce", size)

    def password(self, size: int = 20) -> bytes:
        """A password issued at registration (§4.8)."""
        return self.draw("password", size)

    def decoy(self) -> bytes:
        """A password nobody has: an unknown number is challenged against it (§2.3), so its
        response fails exactly like a wrong password."""
        return self.draw("decoy", 20)

    def token(self, size: int = 16) -> str:
        """A hex capability token (media upload and download paths)."""
        return self.draw("token", size).hex()

    def digits(self, count: int, purpose: str = "code") -> str:
        """``count`` decimal digits, uniformly (SMS codes)."""
        out: list[str] = []
        while len(out) < count:
            for byte in self.draw(purpose, count):
                if byte < 250 and len(out) < count:  # 250 = 25 * 10: no modulo bias
                    out.append(str(byte % 10))
        return "".join(out)
