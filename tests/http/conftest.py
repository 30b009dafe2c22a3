"""HTTP tests: the real app in-process over HTTP, on SQLite and PostgreSQL, with the standard cast.

Each test module gets the cast of tests/services/cast.py, committed to a real database, every
person with a password and an API token, and an app with its own connection pool. Requests go
through ``starlette``'s test client: real HTTP semantics (routing, headers, cookies, bodies)
without a socket. Tests that change things make their own cases, so they never depend on order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from caseshare.http import create_app
from caseshare.services import accounts
from caseshare.store import open_store
from tests.conftest import module_url
from tests.http.cast import HttpCast, build_http_cast


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Cheap argon2 parameters for the HTTP tests: the cast's passwords are hashed per module and
    every device request verifies one. Production keeps argon2's defaults (tests/test_serve.py and
    tests/test_cli_accounts.py run with them)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        yield


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def http(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpCast]:
    """The standard cast behind the real app, once per module and database kind."""
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    cast = build_http_cast(store)
    app = create_app(url, pool_size=2)
    with TestClient(app) as client:
        yield HttpCast(cast, client)
    store.close()
