"""Service tests: one standard cast per module and store, each test rolled back (STYLE, Warehouse).

Every module builds the cast (tests/services/cast.py) once on SQLite and once on PostgreSQL and
commits it. Each test then runs inside an outer ``store.transaction()`` that is rolled back when
the test ends; the services' own transactions nest inside it as savepoints, so their commits and
rollbacks behave as they do in production, only the outermost commit never happens. Each test gets
a new ``Caseshare`` (with an empty context cache). On PostgreSQL the casts share the session
database (``postgres_url``) and keep apart by agency; a fresh database per test would cost half a
second each.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import pytest

from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from tests.conftest import module_url
from tests.services.cast import Cast, build_cast


class _RollBack(Exception):
    """Ends a test's outer transaction."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One store per test module and database kind."""
    store = open_store(module_url(request, tmp_path_factory))
    yield store
    store.close()


@pytest.fixture(scope="module")
def built_cast(module_store: Store) -> Cast:
    return build_cast(module_store)


@pytest.fixture
def cast(built_cast: Cast) -> Iterator[Cast]:
    """The standard cast, inside a transaction that is rolled back after the test."""
    store = built_cast.store
    with contextlib.suppress(_RollBack), store.transaction():
        yield dataclasses.replace(built_cast, svc=Caseshare(store))
        raise _RollBack
    assert not store.in_transaction


@pytest.fixture
def two(store_url: str) -> Iterator[tuple[Cast, Caseshare]]:
    """The standard cast, committed, and a second service on its own connection and cache."""
    first = open_store(store_url)
    second = open_store(store_url)
    try:
        yield build_cast(first), Caseshare(second)
    finally:
        first.close()
        second.close()
