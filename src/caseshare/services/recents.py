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
from typing import Generic, TypeVar

from caseshare.store.base import utcnow

#: seconds between two flushes of the buffer by the HTTP app's background task
FLUSH_EVERY = 1.0
#: the most views written in one database transaction
FLUSH_BATCH = 1000
#: views held at most; past it (the database unreachable for long) the oldest are dropped
MAX_PENDING = 50_000

#: (user id, case pk, viewed at)
View = tuple[int, int, str]

K = TypeVar("K")


class Latest(Generic[K]):
    """A thread-safe buffer of notes written later, off a request's path: one time per key,
    the newest kept, the oldest dropped past ``limit``. A flush ``take``s some and ends with
    ``settle``; until then ``pending`` still holds them, so the process that noted a key
    lists it whether or not its flush has committed yet."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._items: dict[K, str] = {}
        #: items taken by a flush not yet committed
        self._flying: dict[K, str] = {}
        self._limit = limit
        #: items dropped because the buffer was full (the database unreachable for long)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, items: Iterable[tuple[K, str]]) -> None:
        """Add items (new ones, or a batch given back after a failed flush): the newest time of
        each key wins and moves to the end (insertion order is age)."""
        with self._lock:
            for key, at in items:
                known = self._items.get(key)
                if known is None or at > known:
                    self._items.pop(key, None)
                    self._items[key] = at
            while len(self._items) > self._limit:
                self._items.pop(next(iter(self._items)))
                self.dropped += 1

    def take(self, limit: int | None = None) -> list[tuple[K, str]]:
        """Up to ``limit`` items (all without one), oldest first, taken out for a flush."""
        with self._lock:
            keys = list(self._items) if limit is None else list(self._items)[:limit]
            taken = [(key, self._items.pop(key)) for key in keys]
            self._flying.update(taken)
            return taken

    def settle(self, items: list[tuple[K, str]], *, again: bool) -> None:
        """The end of a flush of ``items``: committed (or dropped), or, ``again``, given back
        for the next flush."""
        with self._lock:
            for key, at in items:
                if self._flying.get(key) == at:
                    del self._flying[key]
        if again:
            self.put(items)

    def pending(self) -> dict[K, str]:
        """Every item not yet written (or being written), the newest time of each."""
        with self._lock:
            found = dict(self._flying)
            for key, at in self._items.items():
                if at > found.get(key, ""):
                    found[key] = at
            return found


class RecentViews:
    """Case views: one entry per user and case, the newest time kept (``Latest``)."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._latest: Latest[tuple[int, int]] = Latest(limit)

    def __len__(self) -> int:
        return len(self._latest)

    @property
    def dropped(self) -> int:
        return self._latest.dropped

    def note(self, user_id: int, case_pk: int, at: str | None = None) -> None:
        self.put([(user_id, case_pk, at or utcnow())])

    def put(self, views: Iterable[View]) -> None:
        self._latest.put(((u, pk), at) for u, pk, at in views)

    def take(self, limit: int = FLUSH_BATCH) -> list[View]:
        """Up to ``limit`` views, oldest first, taken out of the buffer for a flush, which
        ends with ``settle``; until then ``pending`` still lists them."""
        return [(u, pk, at) for (u, pk), at in self._latest.take(limit)]

    def settle(self, views: list[View], *, again: bool) -> None:
        self._latest.settle([((u, pk), at) for u, pk, at in views], again=again)

    def pending(self, user_id: int) -> list[tuple[int, str]]:
        """The user's views not yet written (or being written): (case pk, viewed at) each."""
        return [(pk, at) for (u, pk), at in self._latest.pending().items() if u == user_id]


class TokenUses:
    """API tokens' last uses, noted off a request's path (issue 12 item 7) and written by the
    flush that writes the case views: a token's "last used" is recorded at most once a minute,
    and each such write had moved every read stamp of the database (the list's and the
    check's caches) once a minute per token in use. A ``kill -9`` may lose the uses of the
    last flush interval, bookkeeping only."""

    def __init__(self) -> None:
        self._latest: Latest[int] = Latest()

    def __len__(self) -> int:
        return len(self._latest)

    def note(self, token_id: int, at: str | None = None) -> None:
        self.put({token_id: at or utcnow()})

    def put(self, uses: dict[int, str]) -> None:
        self._latest.put(uses.items())

    def take(self) -> dict[int, str]:
        """Every noted use, taken out for a flush, which ends with ``settle``."""
        return dict(self._latest.take())

    def settle(self, uses: dict[int, str], *, again: bool) -> None:
        self._latest.settle(list(uses.items()), again=again)

    def pending(self, token_id: int) -> str | None:
        """The token's newest use not yet written (or being written), if any."""
        return self._latest.pending().get(token_id)
