"""Users' S-SYNC-1 live sets held in process while nothing was written (issue 12 item 1).

A list page tests row cause ``sync`` with the recursive walk of ``VisibilityQuery.synced``; run
in every page statement it was half of a page's time on SQLite. The walk's answer (the pks of
the user's live set) is kept here under the connection's ``list_stamp`` taken BEFORE the walk
ran, and put into a page's SQL as a list of pks only while the stamp is still the same: any
commit by any connection of any process, and any write of this process, changes it
(``Connection.shared_stamp`` on SQLite, which every connection of the process to the same file
shares, so a server's pool serves a user's pages from one set), so a page never lists a case
the user's live set lost, nor misses one it gained. The set is the walk's own answer, never a
second algorithm's, so list = check (S-ACC-7) holds as before. Outside a transaction only
(inside one, every page runs the walk).

On PostgreSQL the stamp is the server's MVCC snapshot (``Connection.list_stamp``), read before
and after a page in a round trip each.

The first page under a stamp only marks the user (``SEEN``) and walks in its statement as
before: the stores run the walk there only for a row no cheaper cause shows, so a first page
often costs less than the walk alone (SQLite at S: 1-2 ms against 3-5 ms; PostgreSQL at M:
reading the set on the first page doubled it, 14 to 30 ms). The set is read when a
second page comes under the same stamp (the user is paging and nothing was written): that
page pays the walk once, every page after it is served from the set.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

#: sets held at most (per process); past it the oldest go first
MAX_SETS = 2_000

#: ``Connection.list_stamp``: SQLite's read stamp, or PostgreSQL's (url, snapshot)
Stamp = tuple[Any, ...]


class _Seen:
    """The mark of a user whose first page under the stamp walked (no set read yet): an object
    of its own, so a live set that is empty is never taken for it."""


SEEN = _Seen()


class LiveSets:
    """Live-set pks by (database, agency, context version, user), each with the
    stamp taken before it was read (or the stamp of a first page, with the ``SEEN`` mark)."""

    def __init__(self, size: int = MAX_SETS) -> None:
        self.size = size
        self._sets: dict[tuple[Any, ...], tuple[Stamp, tuple[int, ...] | None]] = {}
        self._lock = threading.Lock()
        #: counters read by the tests and the bench
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], stamp: Stamp) -> tuple[int, ...] | _Seen | None:
        """The pks held under ``stamp``; ``SEEN`` when only a first page was; else None."""
        found = self._sets.get(key)
        if found is not None and found[0] == stamp:
            if found[1] is not None:
                self.hits += 1
                return found[1]
            self.misses += 1
            return SEEN
        self.misses += 1
        return None

    def put(self, key: tuple[Any, ...], stamp: Stamp, pks: tuple[int, ...] | None) -> None:
        """Hold ``pks`` under ``stamp``; None marks a first page (``get`` then says ``SEEN``)."""
        with self._lock:
            sets = self._sets
            sets.pop(key, None)
            while len(sets) >= self.size:
                sets.pop(next(iter(sets)))
            sets[key] = (stamp, pks)

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()

    def __len__(self) -> int:
        return len(self._sets)


#: the process's one cache: keys name their connection, so every store may share it
LIVE = LiveSets()


#: cases whose step is held per stamp at most (some 30 MB); past it the steps start again empty
MAX_NODES = 200_000


class LiveGraph:
    """``live_walk``'s steps on SQLite, run level by level from Python and remembered per case
    under a stamp (``Connection.list_stamp``), for every user of the process.

    The recursive walk in one statement costs some 10-25 µs per case of a live set (each row
    of the work table probes the index for both steps, and the union's temporary B-tree
    dedups it): 40-90 ms for a typical user of the L world, whose live set holds the 2,000
    open extensions of the biggest household. Level by level, each level is one statement
    over the whole frontier (``VisibilityQuery.LIVE_STEP``, the walk's own step conditions),
    and a case's step is read once per stamp for every user: the biggest households' are
    read by the first user's page and then followed in memory. The seeds are the walk's own
    (``live_walk(seeds_only=True)``), so the set is the walk's set: the property tests and
    the CommCare graphs hold the two to one answer. What is held under a stamp is used only
    under that stamp, exactly as ``LiveSets`` (its docstring says why that is sound)."""

    def __init__(self, size: int = MAX_NODES) -> None:
        self.size = size
        self._stamp: Stamp | None = None
        self._steps: dict[int, tuple[int, ...]] = {}
        self._lock = threading.Lock()
        #: statements run (the tests count them)
        self.statements = 0

    def steps(self, stamp: Stamp) -> dict[int, tuple[int, ...]]:
        """The steps held under ``stamp`` (a fresh map when the stamp moved)."""
        with self._lock:
            if self._stamp != stamp or len(self._steps) > self.size:
                self._stamp, self._steps = stamp, {}
            return self._steps

    def walk(self, store: Any, seeds: Iterable[int], step_sql: str, stamp: Stamp) -> set[int]:
        """Every case reached from ``seeds`` by the walk's steps (the seeds included)."""
        held = self.steps(stamp)
        live = set(seeds)
        frontier = list(live)
        while frontier:
            unknown = [pk for pk in frontier if pk not in held]
            if unknown:
                found: dict[int, list[int]] = {pk: [] for pk in unknown}
                self.statements += 1
                for origin, target in store.rows(step_sql, (json.dumps(unknown),)):
                    found[origin].append(target)
                for pk, targets in found.items():
                    held[pk] = tuple(targets)
            reached = []
            for pk in frontier:
                for target in held[pk]:
                    if target not in live:
                        live.add(target)
                        reached.append(target)
            frontier = reached
        return live


#: the process's steps of live-set walks (SQLite)
GRAPH = LiveGraph()
