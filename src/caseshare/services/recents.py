"""Recent cases noted off a read's path (issue 12 item 7): a case read puts (user, case, when)
in an in-process buffer and writes nothing; a background task of the HTTP app writes the buffer
in batches (``PersonalService.flush_recents``), and once more on a clean shutdown.

What a ``kill -9`` of the server may lose is the views of the last flush interval (at most
``FLUSH_EVERY`` seconds): recent-case entries only, never a case, a share or a form. A user's
own "recent cases" list merges the buffer of the process that answers it, so a case opened a
moment ago is listed at once by that process; another server process lists it after the flush.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from caseshare.store.base import utcnow

#: seconds between two flushes of the buffer by the HTTP app's background task
FLUSH_EVERY = 1.0
#: the most views written in one database transaction
FLUSH_BATCH = 1000
#: views held at most; past it (the database unreachable for long) the oldest are dropped
MAX_PENDING = 50_000

#: (user id, case pk, viewed at)
View = tuple[int, int, str]


class RecentViews:
    """A thread-safe buffer of case views: one entry per user and case, the newest time kept."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._views: dict[tuple[int, int], str] = {}
        #: views taken by a flush not yet committed: still listed (``pending``) meanwhile
        self._flying: dict[tuple[int, int], str] = {}
        self._limit = limit
        #: views dropped because the buffer was full (the database unreachable for long)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._views)

    def note(self, user_id: int, case_pk: int, at: str | None = None) -> None:
        self.put([(user_id, case_pk, at or utcnow())])

    def put(self, views: Iterable[View]) -> None:
        """Add views (new ones, or a batch given back after a failed flush): the newest time
        of each user and case wins."""
        with self._lock:
            for user_id, case_pk, at in views:
                key = (user_id, case_pk)
                known = self._views.get(key)
                if known is None or at > known:
                    self._views.pop(key, None)  # a newer view moves to the end (insertion order)
                    self._views[key] = at
            while len(self._views) > self._limit:
                self._views.pop(next(iter(self._views)))
                self.dropped += 1

    def take(self, limit: int = FLUSH_BATCH) -> list[View]:
        """Up to ``limit`` views, oldest first, taken out of the buffer for a flush, which
        ends with ``settle``; until then ``pending`` still lists them."""
        with self._lock:
            keys = [k for k, _ in zip(self._views, range(limit), strict=False)]
            taken = [(u, pk, self._views.pop((u, pk))) for u, pk in keys]
            self._flying.update(((u, pk), at) for u, pk, at in taken)
            return taken

    def settle(self, views: list[View], *, again: bool) -> None:
        """The end of a flush of ``views``: committed (or dropped), or, ``again``, given back
        to the buffer for the next flush."""
        with self._lock:
            for u, pk, at in views:
                if self._flying.get((u, pk)) == at:
                    del self._flying[(u, pk)]
        if again:
            self.put(views)

    def pending(self, user_id: int) -> list[tuple[int, str]]:
        """The user's views not yet written (or being written): (case pk, viewed at) each."""
        with self._lock:
            mine = {pk: at for (u, pk), at in self._flying.items() if u == user_id}
            for (u, pk), at in self._views.items():
                if u == user_id and at > mine.get(pk, ""):
                    mine[pk] = at
            return list(mine.items())


class TokenUses:
    """API tokens' last uses, noted off a request's path (issue 12 item 7) and written by the
    flush that writes the case views: a token's "last used" is recorded at most once a minute,
    and each such write had moved every read stamp of the database (the list's and the
    check's caches) once a minute per token in use. Thread-safe; the newest time of a token
    wins. A ``kill -9`` may lose the uses of the last flush interval, bookkeeping only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[int, str] = {}
        #: uses taken by a flush not yet settled: still listed (``pending``) meanwhile
        self._flying: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._uses)

    def note(self, token_id: int, at: str | None = None) -> None:
        self.put({token_id: at or utcnow()})

    def put(self, uses: dict[int, str]) -> None:
        with self._lock:
            for token_id, at in uses.items():
                if at > self._uses.get(token_id, ""):
                    self._uses[token_id] = at

    def take(self) -> dict[int, str]:
        """Every noted use, taken out for a flush, which ends with ``settle``."""
        with self._lock:
            taken, self._uses = self._uses, {}
            self._flying.update(taken)
            return taken

    def settle(self, uses: dict[int, str], *, again: bool) -> None:
        """The end of a flush of ``uses``: written, or, ``again``, given back for the next."""
        with self._lock:
            for token_id, at in uses.items():
                if self._flying.get(token_id) == at:
                    del self._flying[token_id]
        if again:
            self.put(uses)

    def pending(self, token_id: int) -> str | None:
        """The token's newest use not yet written (or being written), if any."""
        with self._lock:
            found = [at for at in (self._uses.get(token_id), self._flying.get(token_id)) if at]
            return max(found) if found else None
