"""CPython's garbage collector while servers (or many clients) run: rarer young
collections, and a frozen population of settled sessions once there are many.

Two things make a full collection expensive for a server: it scans every object of the
process, and a server with thousands of idle sessions has over a hundred tracked objects
per session (both ends, in one process: tasks, coroutines, links, connections, keys).
Those objects live as long as their sessions; scanning them again at every full
collection finds nothing to free, and with 9,000 sessions one such scan took 0.8-1 s.

* :data:`GC_YOUNG_THRESHOLD`: young collections (and so every generation) are rarer while
  any server runs.
* :class:`SessionFreezer`: once the servers of the process hold
  ``ServerConfig.gc_freeze_sessions`` sessions, the settled population is moved into the
  collector's permanent generation (``gc.freeze``), again each time it has grown by
  :data:`GC_FREEZE_GROWTH` (each freeze first collects the young generations only: O(1)
  per session), and let out again (``gc.unfreeze``) once
  :data:`GC_THAW_SHARE` of the sessions frozen has ended, so that the reference cycles
  of ended sessions are collected: what ended sessions leave frozen is bounded by a
  share of the live ones. The last server to stop lets everything out and puts back
  the caller's own freeze (the pytest plugin and the command line freeze what their
  start-up made).
* The clients of the process (``open_client``) count as one more population, with
  :data:`CLIENT_FREEZE_SESSIONS`: a load generator holding thousands of logged-in
  clients (the server in a process of its own) had the same rescans on its side.

Below the thresholds (every test, every scenario run) nothing is frozen.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from collections.abc import Iterator, Sized

__all__ = [
    "CLIENTS",
    "CLIENT_FREEZE_SESSIONS",
    "FREEZER",
    "GC_FREEZE_GROWTH",
    "GC_THAW_SHARE",
    "GC_YOUNG_THRESHOLD",
    "Member",
    "SessionFreezer",
    "collector_for_server",
]

GC_YOUNG_THRESHOLD: Final = 10_000
"""The young-generation threshold of CPython's collector while a server runs (default
700). Every ten young collections a middle one, every ten of those a full one, which
scans every object of the process: with thousands of sessions open, full collections
took most of a login's time, and more as sessions piled up (TCP logins, 6,000 sessions
in one process: 12 full collections, over 60 % of the CPU time). Collecting the young
generation 14 times less often makes every generation that much rarer; what stays
uncollected meanwhile is at most that many young objects."""

GC_FREEZE_GROWTH: Final = 0.1
"""How far the sessions of the process grow between two freezes (see
:class:`SessionFreezer`). A freeze first collects the young and middle generations (at
most some 100,000 objects, whatever the sessions), so freezing costs O(1) per session;
a small share spreads the freezes over the logins, and comes before CPython's own full
collection would (at a quarter more long-lived objects), which then finds little to
scan. Measured with 10,000 TCP sessions of both ends in one process, a full collection
before each freeze found nothing to free, 25 times."""

CLIENT_FREEZE_SESSIONS: Final = 1_000
"""Open clients (of ``open_client``, all of them in the process) from which the freeze
applies to them as it does to a server's sessions. With 10,000 clients logging in
against a server in another process, full collections took 4.1 s of the clients'
process's 14.3 s of CPU."""

GC_THAW_SHARE: Final = 0.25
"""The share of the sessions frozen that may end before everything is let out again
(``gc.unfreeze``) and the next freeze collects the cycles the ended ones left: what
ended sessions keep frozen is at most this share of the live ones, and the full
collection that frees it comes once per that many ended sessions (O(1) per session,
as often as CPython's own full collection would come)."""


@final
class Member:
    """One running server in the policy: its threshold and (once it exists) its
    sessions."""

    __slots__ = ("sessions", "threshold")

    def __init__(self, threshold: int | None) -> None:
        self.threshold = threshold
        self.sessions: Sized = ()


@final
class SessionFreezer:
    """The process's freeze policy (one instance, :data:`FREEZER`), fed by the servers.

    A server joins it for its life (:meth:`serving`, its whole nursery included) with
    its ``gc_freeze_sessions`` (``None``: this server never asks for a freeze); the
    logged-in clients of the process join as one more member (:data:`CLIENTS`). The
    smallest threshold of the members applies to the sessions and clients of all.

    * A session logged in (:meth:`logged_in`): with at least the threshold of sessions,
      and a tenth more (:data:`GC_FREEZE_GROWTH`) than at the last freeze, collect the
      young generations (the garbage of the latest logins) and freeze all that is left.
      Cyclic garbage that had already reached the old generation is frozen with it,
      until the next thaw: at most what became garbage since the last freeze.
    * A session ended (:meth:`ended`): once :data:`GC_THAW_SHARE` of the sessions frozen
      has ended, let everything out (``gc.unfreeze``); the next login freezes again
      after a full collection, which frees the cycles of the ended sessions (and any
      other garbage frozen so far).
    * The last member stops: let everything out; if the caller had frozen objects before
      our first freeze (``gc.get_freeze_count()``, asked then), collect and freeze again,
      so what the caller froze stays frozen (with whatever else outlives the servers).

    Nothing happens while the collector is off (``gc.disable``) or its young threshold
    is 0: whoever did that manages the collector.
    """

    def __init__(self) -> None:
        self._servers: list[Member] = []
        self._threshold: int | None = None
        self._frozen_sessions = 0
        """Sessions at the last freeze of ours; 0: nothing frozen by us."""
        self._ended = 0
        """Sessions ended since our first freeze (or our last unfreeze)."""
        self._caller_froze = False
        self._engaged = False
        """Whether we froze anything since the first server started."""
        self._thawed = False
        """Let out since the last freeze: the next freeze collects every generation."""
        self.freezes = 0
        """Freezes so far (for tests and benchmarks)."""
        self.unfreezes = 0
        """Unfreezes so far (for tests and benchmarks)."""

    @contextmanager
    def serving(self, threshold: int | None) -> Iterator[Member]:
        """A server counts inside the block: its threshold, and the sessions the caller
        puts in the :class:`Member` it gets."""
        member = Member(threshold)
        self.join(member)
        try:
            yield member
        finally:
            self.leave(member)

    def join(self, member: Member) -> None:
        """``member`` counts from now on (:meth:`serving` as a plain call)."""
        self._servers.append(member)
        self._threshold = self._lowest()

    def leave(self, member: Member) -> None:
        """``member`` counts no more; the last one to leave stops the policy."""
        self._servers.remove(member)
        self._threshold = self._lowest()
        if not self._servers:
            self._stop()

    def _lowest(self) -> int | None:
        thresholds = [each.threshold for each in self._servers if each.threshold is not None]
        return min(thresholds) if thresholds else None

    def _sessions(self) -> int:
        return sum(len(member.sessions) for member in self._servers)

    @staticmethod
    def _collector_on() -> bool:
        return gc.isenabled() and gc.get_threshold()[0] > 0

    def logged_in(self) -> None:
        """A session of a server of the process has logged in."""
        threshold = self._threshold
        if threshold is None:
            return
        sessions = self._sessions()
        if sessions < threshold or sessions < self._frozen_sessions * (1 + GC_FREEZE_GROWTH):
            return
        if not self._collector_on():
            return
        if not self._engaged:
            # Asked only now, not as the first server starts: CPython counts the frozen
            # objects one by one (13 ms for what the command line froze, which every
            # scenario of `simulator run DIR` paid once).
            self._caller_froze = gc.get_freeze_count() > 0
        # The young garbage goes now; after a thaw, all of it (the ended sessions').
        gc.collect(2 if self._thawed else 1)
        gc.freeze()
        self._thawed = False
        self._frozen_sessions = sessions
        self._engaged = True
        self.freezes += 1

    def ended(self) -> None:
        """A session of a server of the process has ended."""
        if not self._frozen_sessions:
            return
        self._ended += 1
        if self._ended >= self._frozen_sessions * GC_THAW_SHARE:
            self._let_out()

    def _let_out(self) -> None:
        gc.unfreeze()
        self._thawed = True
        self._frozen_sessions = 0
        self._ended = 0
        self.unfreezes += 1

    def _stop(self) -> None:
        if not self._engaged:
            return  # never touched: the caller's state is as it was
        self._engaged = False
        if self._frozen_sessions:
            self._let_out()
        if self._caller_froze:
            self._caller_froze = False
            gc.collect()
            gc.freeze()


FREEZER: Final = SessionFreezer()

_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def _roomy_gc() -> Iterator[None]:
    """Raise the collector's young threshold to :data:`GC_YOUNG_THRESHOLD` while any
    server runs (never lower it); the last server to end puts the thresholds back as
    they were, unless somebody else changed them meanwhile."""
    global _gc_users, _gc_saved
    if _gc_users == 0:
        before = gc.get_threshold()
        if before[0] and before[0] < GC_YOUNG_THRESHOLD:  # 0: collection off, leave it
            gc.set_threshold(GC_YOUNG_THRESHOLD, *before[1:])
            _gc_saved = before
    _gc_users += 1
    try:
        yield
    finally:
        _gc_users -= 1
        if _gc_users == 0 and _gc_saved is not None:
            ours = (GC_YOUNG_THRESHOLD, *_gc_saved[1:])
            if gc.get_threshold() == ours:
                gc.set_threshold(*_gc_saved)
            _gc_saved = None


@contextmanager
def collector_for_server(freeze_sessions: int | None) -> Iterator[Member]:
    """The collector as a running server wants it, for the block: :func:`_roomy_gc`, and
    the server in :data:`FREEZER` (put its sessions in the :class:`Member`)."""
    with _roomy_gc(), FREEZER.serving(freeze_sessions) as member:
        yield member


@final
class _Clients:
    """The open clients of the process: one :data:`FREEZER` member while any is open
    (the young threshold is left alone: a client alone is not a server). A client calls
    :meth:`opened` once logged in and :meth:`closed` at its end."""

    __slots__ = ("_count", "_member", "threshold")

    def __init__(self) -> None:
        self._count = 0
        self._member: Member | None = None
        self.threshold: int | None = CLIENT_FREEZE_SESSIONS
        """The clients' threshold, read when the first of them opens (``None``: never)."""

    def __len__(self) -> int:
        return self._count

    def opened(self) -> None:
        """A client has logged in: counted, and a login for :data:`FREEZER`."""
        if self._count == 0:
            self._member = Member(self.threshold)
            self._member.sessions = self
            FREEZER.join(self._member)
        self._count += 1
        FREEZER.logged_in()

    def closed(self) -> None:
        self._count -= 1
        FREEZER.ended()
        if self._count == 0 and self._member is not None:
            member, self._member = self._member, None
            FREEZER.leave(member)


CLIENTS: Final = _Clients()
