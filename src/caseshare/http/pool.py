"""A fixed set of services, one database connection each, lent to one request at a time.

Requests that find every connection taken wait in a queue *on the event loop*, first come first
served: a waiting request holds no worker thread, so the requests holding connections can always
run their handlers and give their connections back. The queue is bounded in length and in time;
past either bound the request is told to come back (``Busy``: 503 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

import anyio

from caseshare.core.errors import Busy
from caseshare.services import Caseshare, ContextCache
from caseshare.services.recents import FLUSH_EVERY, RecentViews, TokenUses
from caseshare.store import Store, open_store

_log = logging.getLogger("caseshare.recents")

#: requests of one server process that may wait for a connection at once
DEFAULT_QUEUE = 500
#: how long a request waits for a connection before it is told to come back, in seconds
DEFAULT_QUEUE_WAIT = 30.0
#: what ``Retry-After`` says when the queue turns a request away
RETRY_AFTER = 2


class ServicePool:
    """Requests borrow a service (and its connection) and give it back; contexts are shared.

    ``borrow`` and ``give_back`` run on the event loop (never in a worker thread), so the pool
    needs no lock: the loop runs one of them at a time.
    """

    def __init__(
        self,
        url: str,
        size: int = 4,
        *,
        queue: int = DEFAULT_QUEUE,
        queue_wait: float = DEFAULT_QUEUE_WAIT,
        opener: Callable[[str], Store] | None = None,
    ) -> None:
        self.url = url
        self.size = max(1, size)
        self.queue = max(0, queue)
        self.queue_wait = max(0.0, queue_wait)
        self.cache = ContextCache()
        #: case views noted by reads, written by ``keep_flushing`` (never on a read's path)
        self.recents = RecentViews()
        #: API tokens' last uses, written by the same flush
        self.token_uses = TokenUses()
        self._opener = opener or (lambda u: open_store(u, migrate=False))
        self._idle: list[Caseshare] = [self._new() for _ in range(self.size)]
        self._lent: set[Caseshare] = set()
        self._waiters: deque[asyncio.Future[Caseshare]] = deque()

    def _new(self) -> Caseshare:
        svc = Caseshare(self._opener(self.url), self.cache)
        svc.recents = self.recents
        svc.token_uses = self.token_uses
        return svc

    async def flush_recents(self) -> None:
        """Write every buffered case view, a batch per transaction, then the buffered token
        uses, with a borrowed service in a worker thread; what the database refuses stays in
        its buffer for the next try."""
        while len(self.recents):
            svc = await self.borrow()
            try:
                written = await anyio.to_thread.run_sync(svc.flush_recents)
            finally:
                self.give_back(svc)
            if not written:
                break  # refused and given back to the buffer: the next round tries again
        if len(self.token_uses):
            svc = await self.borrow()
            try:
                await anyio.to_thread.run_sync(svc.flush_token_uses)
            finally:
                self.give_back(svc)

    async def keep_flushing(
        self, every: float = FLUSH_EVERY, stop: asyncio.Event | None = None
    ) -> None:
        """The app's background task: flush the case views every ``every`` seconds until
        ``stop`` is set, then return once the flush under way has ended (the app flushes once
        more after it). Never cancelled mid-flush: a cancelled wait would leave its worker
        thread writing a batch the buffer no longer counts, on a connection given back."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            try:
                await self.flush_recents()
            except Exception:  # reason: said in the log; the next flush goes on with the rest
                _log.exception("recent-case views could not be written; that batch is dropped")

    @property
    def waiting(self) -> int:
        """Requests waiting for a connection now."""
        return len(self._waiters)

    async def borrow(self) -> Caseshare:
        """An idle service, else a place in the queue; ``Busy`` when the queue is full or the
        wait is longer than ``queue_wait``."""
        if self._idle and not self._waiters:
            return self._lend(self._idle.pop())
        if len(self._waiters) >= self.queue:
            raise Busy(
                f"The server is busy: all {self.size} connections are in use and"
                f" {self.queue} requests are waiting already.",
                RETRY_AFTER,
            )
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[Caseshare] = loop.create_future()
        self._waiters.append(turn)
        timer = loop.call_later(self.queue_wait, self._expire, turn)
        try:
            svc = await turn
        except asyncio.CancelledError:
            # the caller went away (a client that hung up) just as its turn came: pass it on
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.give_back(turn.result())
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(turn)
        return svc

    def try_borrow(self) -> Caseshare | None:
        """An idle service at once when nobody is waiting for one, else None (for work that
        may be skipped, such as naming the signed-in person on an error page)."""
        if self._idle and not self._waiters:
            return self._lend(self._idle.pop())
        return None

    def _expire(self, turn: asyncio.Future[Caseshare]) -> None:
        if not turn.done():
            turn.set_exception(
                Busy(
                    f"The server is busy: no connection came free within {self.queue_wait:g} s.",
                    RETRY_AFTER,
                )
            )

    def _lend(self, svc: Caseshare) -> Caseshare:
        self._lent.add(svc)
        return svc

    def give_back(self, svc: Caseshare) -> None:
        """Hand the service to the first request still waiting, else keep it idle."""
        self._lent.discard(svc)
        if svc.store.in_transaction or not svc.store.healthy:
            svc = self._replaced(svc)
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(self._lend(svc))
                return
        self._idle.append(svc)

    def _replaced(self, svc: Caseshare) -> Caseshare:
        """A new service for one left mid-transaction or whose connection the database dropped;
        while the database cannot be reached, the old one stays (its next borrower is told the
        database is busy, and gives it back here to try again)."""
        try:
            fresh = self._new()
        except Exception:  # reason: the database is down; the pool keeps its size and retries
            return svc
        with contextlib.suppress(Exception):  # reason: it is being thrown away
            svc.store.close()
        return fresh

    def close(self) -> None:
        for svc in [*self._idle, *self._lent]:
            # reason: closing on shutdown; a connection already gone has nothing to report
            with contextlib.suppress(Exception):
                svc.store.close()
