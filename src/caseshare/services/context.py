"""Caches each agency's decision context, reloaded whenever the agency's version moves."""

from __future__ import annotations

import threading

from caseshare.core.engine import AgencyContext
from caseshare.store import Store


class ContextCache:
    """One ``AgencyContext`` per agency, checked against the store's version on every use."""

    def __init__(self) -> None:
        self._contexts: dict[int, AgencyContext] = {}
        self._lock = threading.Lock()

    def get(self, store: Store, agency_id: int) -> AgencyContext:
        version = store.agency_version(agency_id)
        ctx = self._contexts.get(agency_id)
        if ctx is not None and ctx.version == version:
            return ctx
        fresh = store.load_context(agency_id)
        with self._lock:
            self._contexts[agency_id] = fresh
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._contexts.clear()
