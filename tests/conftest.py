"""Shared fixtures: real SQLite files and a real PostgreSQL database for every store test.

PostgreSQL comes from ``CASESHARE_TEST_POSTGRES_URL`` (default: the local server on
127.0.0.1:5432, user postgres). When that server does not answer, a throwaway cluster is started
from the installed PostgreSQL binaries. Without either, PostgreSQL tests are skipped on a
developer's machine and *fail* in CI (``CI=true``): a missing database is never a silent pass.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings

from caseshare.store import Store, open_store
from tests.pgserver import PostgresUnavailable, ensure_postgres

# CI explores the same examples on every run, so a landing never depends on a lucky draw and any
# failure reproduces; developers' runs stay random and keep exploring (and keep their database).
# No per-example deadline in CI: a 2-core runner under load misses 200 ms without any bug.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ADMIN_URL_ENV = "CASESHARE_TEST_POSTGRES_URL"
T = TypeVar("T")


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to a PostgreSQL server where the tests may create databases."""
    try:
        with ensure_postgres(os.environ.get(ADMIN_URL_ENV), tmp_path_factory) as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not available: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")


def _create_database(admin_url: str) -> str:
    import psycopg

    name = f"caseshare_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def _drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def module_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """For a fixture parametrised over ``["sqlite", "postgres"]``: a new SQLite file, or the
    session's PostgreSQL database (where tests keep apart by agency)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(request.param) / 'caseshare.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def postgres_store(postgres_url: str) -> Iterator[Store]:
    """One store on the session's PostgreSQL database for a module's property examples (each
    keeps to agencies of its own: ``unique=True``)."""
    store = open_store(postgres_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by the session (tests isolate by agency)."""
    url = _create_database(postgres_admin_url)
    yield url
    _drop_database(postgres_admin_url, url)


@pytest.fixture
def fresh_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = _create_database(postgres_admin_url)
    yield url
    _drop_database(postgres_admin_url, url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'caseshare.db'}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A module's store; on PostgreSQL the session database (``postgres_url``), its tests
    keeping apart by agency."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'caseshare.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'caseshare.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` in a thread of its own: Playwright's sync API (the browser tests)
    keeps an event loop running in the main thread for the whole session, and ``asyncio.run``
    refuses to start beside a running loop."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(main))
        except BaseException as exc:  # reason: handed to the caller's thread, re-raised there
            failure.append(exc)

    worker = threading.Thread(target=run, name="run_async")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]
