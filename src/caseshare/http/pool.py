"""A fixed set of services, one database connection each, lent to one request at a time."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable

from caseshare.core.errors import CaseShareError
from caseshare.services import Caseshare, ContextCache
from caseshare.store import Store, open_store


class ServicePool:
    """Requests borrow a service (and its connection) and give it back; contexts are shared."""

    def __init__(
        self, url: str, size: int = 4, *, opener: Callable[[str], Store] | None = None
    ) -> None:
        self.url = url
        self.cache = ContextCache()
        self._opener = opener or (lambda u: open_store(u, migrate=False))
        self._idle: queue.LifoQueue[Caseshare] = queue.LifoQueue()
        self._all: list[Caseshare] = []
        for _ in range(max(1, size)):
            svc = Caseshare(self._opener(url), self.cache)
            self._all.append(svc)
            self._idle.put(svc)

    def acquire(self, timeout: float = 30.0) -> Caseshare:
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise CaseShareError(
                "validation_error", "The server is busy; try again in a moment."
            ) from None

    def try_acquire(self) -> Caseshare | None:
        """An idle service at once, or None (then wait with ``acquire`` off the event loop)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def release(self, svc: Caseshare) -> None:
        if svc.store.in_transaction:  # never hand on a connection left mid-transaction
            svc.store.close()
            self._all.remove(svc)
            svc = Caseshare(self._opener(self.url), self.cache)
            self._all.append(svc)
        self._idle.put(svc)

    def close(self) -> None:
        for svc in self._all:
            # reason: closing on shutdown; a connection already gone has nothing to report
            with contextlib.suppress(Exception):
                svc.store.close()
