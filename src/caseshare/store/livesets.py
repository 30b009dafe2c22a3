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

import threading
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
