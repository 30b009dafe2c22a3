"""Two processes opening one new database at the same moment (two ``caseshare
serve`` started together, a server and a CLI command) both bring it up to date: the migrations
are applied once, by one of them, and neither fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from caseshare.store import Store, open_store

OPENERS = 4


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_stores_opened_at_once_on_a_new_database_migrate_it_once(
    kind: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "fresh_postgres_url"))
    barrier = threading.Barrier(OPENERS)

    def opened(_: int) -> Store:
        barrier.wait()
        return open_store(url)

    with ThreadPoolExecutor(OPENERS) as pool:
        stores = list(pool.map(opened, range(OPENERS)))
    try:
        versions = [r[0] for r in stores[0].rows("SELECT version FROM schema_migrations")]
        assert len(versions) == len(set(versions))
        assert all(s.schema_version() == max(versions) for s in stores)
        assert all(s.migrate() == [] for s in stores)
    finally:
        for store in stores:
            store.close()
