"""Store tests: one store per test module and database kind, migrated, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caseshare.store import Store, open_store


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
