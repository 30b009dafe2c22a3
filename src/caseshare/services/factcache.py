"""The facts of recently checked cases, held in process and used only while nothing was written
(issue 12 item 5): a repeated check reads one stamp instead of the case, its neighbours and
their grants.

Each entry is stamped with the connection's ``read_stamp`` taken BEFORE its facts were read,
and is used only when that connection's stamp is still the same: any commit by any connection
of any process, and any write of this process, changes it (``Connection.read_stamp`` says
how). So a revoked grant is never served: the revoke's commit changes every stamp. SQLite only:
PostgreSQL has no cheap synchronous stamp, so there every check reads the store (one round
trip).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from caseshare.core.engine import Access
from caseshare.core.model import CaseFacts, SyncRoute

#: entries held at most (per process); past it the oldest go first
MAX_ENTRIES = 20_000

Stamp = tuple[int, int, int, int]


@dataclass(slots=True)
class Entry:
    """What one user's check of one case read under ``stamp``: the facts (children filtered
    for that user) and, once asked, whether the case is in the user's sync live set and how
    (``sync_known``: asked; ``route``: the route, None when it is not), and the access."""

    stamp: Stamp
    facts: CaseFacts
    sync_known: bool = False
    route: SyncRoute | None = None
    #: the user's access as a plain check decides it (not explain's every grant): the
    #: decision is pure in the context, the user and these facts, all current under the stamp
    access: Access | None = None


class FactCache:
    """Entries by (connection serial, agency, context version, user, case id)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._entries: dict[tuple[Any, ...], Entry] = {}
        self._lock = threading.Lock()
        #: counters read by the tests and the bench
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], stamp: Stamp) -> Entry | None:
        found = self._entries.get(key)
        if found is not None and found.stamp == stamp:
            self.hits += 1
            return found
        self.misses += 1
        return None

    def put(self, key: tuple[Any, ...], entry: Entry) -> None:
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            while len(entries) >= self.size:
                entries.pop(next(iter(entries)))
            entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: the process's one cache: entries name their connection, so every store may share it
FACTS = FactCache()
