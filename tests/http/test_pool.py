"""The connection pool (http/pool.py): a queue on the event loop, bounded in length and time,
first come first served, that never loses a connection; real stores underneath."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caseshare.core.errors import Busy
from caseshare.http import create_app
from caseshare.http.pool import ServicePool
from caseshare.store import open_store
from tests.conftest import run_async
from tests.http.cast import build_http_cast


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    open_store(url).close()
    return url


def test_issue8_waiters_are_served_first_come_first_served(url: str) -> None:
    pool = ServicePool(url, 1, queue=5, queue_wait=10)

    async def scenario() -> list[str]:
        order: list[str] = []
        held = await pool.borrow()

        async def waiter(name: str) -> None:
            svc = await pool.borrow()
            order.append(name)
            await asyncio.sleep(0)
            pool.give_back(svc)

        tasks = [asyncio.create_task(waiter(n)) for n in "abc"]
        await asyncio.sleep(0.01)
        assert pool.waiting == 3
        pool.give_back(held)
        await asyncio.gather(*tasks)
        return order

    assert run_async(scenario()) == ["a", "b", "c"]
    assert pool.waiting == 0
    pool.close()


def test_issue8_a_full_queue_and_a_long_wait_are_busy_with_retry_after(url: str) -> None:
    pool = ServicePool(url, 1, queue=1, queue_wait=0.2)

    async def scenario() -> tuple[Busy, Busy]:
        held = await pool.borrow()
        first = asyncio.create_task(pool.borrow())
        await asyncio.sleep(0.01)
        with pytest.raises(Busy) as full:  # the queue holds one, and it is taken
            await pool.borrow()
        with pytest.raises(Busy) as late:  # the one waiting gives up after 0.2 s
            await first
        pool.give_back(held)
        again = await pool.borrow()  # nothing was lost on the way
        pool.give_back(again)
        return full.value, late.value

    full, late = run_async(scenario())
    for refusal in (full, late):
        assert refusal.code == "invalid_transition" and refusal.details["retry_after"] >= 1
        assert "busy" in refusal.message and "try again" in refusal.message
    assert "1 requests are waiting" in full.message
    assert "0.2 s" in late.message
    pool.close()


def test_issue8_a_waiter_that_goes_away_loses_no_connection(url: str) -> None:
    """A client that hangs up while waiting: its place goes, and a connection handed to it at
    that very moment goes on to the next waiter."""
    pool = ServicePool(url, 1, queue=5, queue_wait=10)

    async def scenario() -> None:
        held = await pool.borrow()
        gone = asyncio.create_task(pool.borrow())
        patient = asyncio.create_task(pool.borrow())
        await asyncio.sleep(0.01)
        pool.give_back(held)  # handed to `gone`'s turn …
        gone.cancel()  # … which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await gone
        svc = await asyncio.wait_for(patient, 2)
        pool.give_back(svc)
        assert pool.waiting == 0
        mine = await asyncio.wait_for(pool.borrow(), 2)
        pool.give_back(mine)

    run_async(scenario())
    pool.close()


@pytest.mark.postgres
def test_issue8_a_connection_postgresql_dropped_is_replaced(fresh_postgres_url: str) -> None:
    """The server ends the backend (a restart, an admin): that request is answered 503 with
    Retry-After, and the connection is replaced, so the next request is answered as usual."""
    store = open_store(fresh_postgres_url)
    cast = build_http_cast(store)
    headers = {"Authorization": f"Bearer {cast.tokens['owner']}"}  # type: ignore[attr-defined]
    app = create_app(fresh_postgres_url, pool_size=1)
    with TestClient(app) as client:
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
        store.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        dropped = client.get("/api/v1/cases", headers=headers)
        assert dropped.status_code == 503, dropped.text
        assert int(dropped.headers["Retry-After"]) >= 1
        assert "cannot be reached" in dropped.json()["message"]
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    store.close()
