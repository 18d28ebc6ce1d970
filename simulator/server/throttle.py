"""Failed-login throttling: a password cannot be guessed at wire speed.

Policy (:class:`LoginThrottle`), per phone number in ``<auth user>`` (as a user JID, the
way the account is looked up, so ``N`` and ``N@s.whatsapp.net`` share one count), whether
or not that number is registered (so the answer says nothing about which numbers
exist): after ``max_failures`` wrong responses within ``window`` seconds the number is
locked for ``base_delay`` seconds, doubling with each further failure up to ``max_delay``.
While it is locked every login for it still gets a challenge, and after the response,
right or wrong, ``<failure><temporarily-unavailable/></failure>``: the password is not
checked, so guessing gains nothing, and the lock does not grow either (only checked
responses count). A successful login forgets the number's failures.

Time is the server's clock (trio's, so MockClock drives it in tests). The table is
bounded: a number whose failures all left the window is dropped, and past
:data:`MAX_TRACKED` numbers the oldest entry goes.

``ServerConfig.login_throttle`` holds the policy: on in ``simulator serve`` (tunable with
``--login-failures`` and ``--login-window``; ``--login-failures 0`` turns it off), off
(``None``) in scenarios and tests unless they ask for it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import field
from typing import Final, final

from simulator.records import record

__all__ = ["LOCKED_REASON", "MAX_TRACKED", "LoginThrottle", "LoginThrottler"]

LOCKED_REASON: Final = "temporarily-unavailable"
"""The ``failure`` child a locked number gets (a wrong password gets ``not-authorized``)."""
MAX_TRACKED: Final = 100_000
"""Numbers with recent failures remembered at most (the oldest is forgotten first)."""


@record(kw_only=True)
class LoginThrottle:
    """The policy; see the module docstring."""

    max_failures: int = 5
    """Wrong responses within ``window`` before the number is locked."""
    window: float = 300.0
    """Seconds a failure counts."""
    base_delay: float = 1.0
    """Seconds of the first lock; each further failure doubles it."""
    max_delay: float = 300.0
    """The longest lock."""

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= 0 or self.base_delay < 0:
            raise ValueError("login throttle: max_failures >= 1, window > 0, base_delay >= 0")
        if self.max_delay < self.base_delay:
            raise ValueError("login throttle: max_delay must be at least base_delay")


@record(frozen=False)
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@final
class LoginThrottler:
    """The failures of each number and its lock, under one :class:`LoginThrottle`."""

    def __init__(self, policy: LoginThrottle) -> None:
        self.policy = policy
        self._records: dict[str, _Record] = {}
        self._next_prune = 1024

    def __len__(self) -> int:
        return len(self._records)

    def locked(self, user: str, now: float) -> bool:
        """Whether logins for ``user`` are refused unchecked right now."""
        record = self._records.get(user)
        return record is not None and now < record.locked_until

    def failed(self, user: str, now: float) -> None:
        """A wrong response for ``user`` at ``now``: count it, lock when due."""
        policy = self.policy
        record = self._records.pop(user, None) or _Record()
        self._records[user] = record  # most recently failed last: the oldest goes first
        self._expire(record, now)
        record.failures.append(now)
        over = len(record.failures) - policy.max_failures
        if over >= 0:
            delay = min(policy.base_delay * 2.0 ** min(over, 64), policy.max_delay)
            record.locked_until = max(record.locked_until, now + delay)
        if len(self._records) >= self._next_prune:
            self.prune(now)
            self._next_prune = 2 * len(self._records) + 1024
        while len(self._records) > MAX_TRACKED:
            del self._records[next(iter(self._records))]

    def succeeded(self, user: str) -> None:
        self._records.pop(user, None)

    def prune(self, now: float) -> None:
        """Forget numbers with no failure in the window and no lock."""
        for user in list(self._records):
            record = self._records[user]
            self._expire(record, now)
            if not record.failures and now >= record.locked_until:
                del self._records[user]

    def _expire(self, record: _Record, now: float) -> None:
        while record.failures and record.failures[0] <= now - self.policy.window:
            record.failures.popleft()
