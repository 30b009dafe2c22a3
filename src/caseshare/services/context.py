"""Caches each agency's decision context, patched from the change log whenever it moves."""

from __future__ import annotations

import threading

from caseshare.core.engine import AgencyContext
from caseshare.services.factcache import Stamp
from caseshare.store import Store


class ContextCache:
    """One ``AgencyContext`` per agency, checked against the store on every use.

    Each use reads the agency's version and change count (one indexed read), unless the
    caller holds a ``read_stamp`` under which the context was found current already (SQLite).
    When they moved, the changes logged since the cached context (``context_changes``, written
    by every structural change of any process in the change's own transaction) are patched in:
    the rows they name are read again, the rest of the context is shared. Only when the log
    cannot say (pruned, a change of everything) is the agency loaded whole.

    A context that includes the open transaction's own structural changes is used by that
    transaction only and never cached: the transaction may still roll back.
    """

    def __init__(self) -> None:
        self._contexts: dict[int, AgencyContext] = {}
        self._lock = threading.Lock()
        #: per (agency, connection serial): the stamp under which a context was last found
        #: current, and that context (``get``)
        self._stamped: dict[tuple[int, int], tuple[Stamp, AgencyContext]] = {}
        #: how often a context was patched, and loaded whole (read by the tests and the bench)
        self.patches = 0
        self.loads = 0

    def get(self, store: Store, agency_id: int, stamp: Stamp | None = None) -> AgencyContext:
        """The agency's current context. With ``stamp`` (``store.read_stamp()``, taken by the
        caller before this), the version read is skipped when the context was last found
        current under that very stamp on that connection: nothing was written since."""
        if stamp is not None:
            held = self._stamped.get((agency_id, stamp[0]))
            if held is not None and held[0] == stamp:
                return held[1]
        found = self._get(store, agency_id)
        if stamp is not None and agency_id not in store.changed_agencies:
            with self._lock:
                if len(self._stamped) > 10_000:
                    self._stamped.clear()
                self._stamped[(agency_id, stamp[0])] = (stamp, found)
        return found

    def agency_listing(self, user_id: int) -> int | None:
        """The agency whose cached context lists the user, if any: users never change agency
        and PostgreSQL never reuses an id, so a context of any age that lists a user names
        the user's agency, and a check need not read the user's row to learn it."""
        for agency_id, ctx in list(self._contexts.items()):
            if user_id in ctx.directory.users:
                return agency_id
        return None

    def held(self, store: Store, agency_id: int) -> AgencyContext | None:
        """The context cached for the agency, not checked against the store: a caller that
        reads the agency's state in the same round trip as something else (``at``)."""
        if agency_id in store.changed_agencies:
            return None
        return self._contexts.get(agency_id)

    def at(self, store: Store, agency_id: int, state: tuple[int, int]) -> AgencyContext:
        """``get`` with the agency's (version, change count) read already by the caller."""
        return self._get(store, agency_id, state)

    def _get(
        self, store: Store, agency_id: int, state: tuple[int, int] | None = None
    ) -> AgencyContext:
        version, seq = state if state is not None else store.agency_state(agency_id)
        ctx = self._contexts.get(agency_id)
        own = agency_id in store.changed_agencies
        if own:  # this transaction changed the agency: its own context, patched as it goes
            ctx = store.pending_contexts.get(agency_id, ctx)
        if ctx is not None and ctx.version == version:
            return ctx
        fresh = None
        if ctx is not None and ctx.change_seq < seq:
            fresh = store.patch_context(ctx, version, seq)
            if fresh is not None:
                self.patches += 1
        if fresh is None:
            fresh = store.load_context(agency_id)
            self.loads += 1
        if own:
            store.pending_contexts[agency_id] = fresh
            return fresh
        with self._lock:
            held = self._contexts.get(agency_id)
            if held is None or held.change_seq <= fresh.change_seq:
                self._contexts[agency_id] = fresh
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._contexts.clear()
            self._stamped.clear()
