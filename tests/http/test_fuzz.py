"""A schema-driven fuzz run: schemathesis sends what our own OpenAPI document allows, and more.

Every operation gets a bounded number of generated requests as an agency admin (who reaches the
most code); none may answer with a 5xx. Before each example the admin is made active again and
given a fresh token, so an example that deactivates the admin or revokes the token (both allowed)
does not turn the rest of the run into 401s. Examples are derandomized in CI (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from caseshare.http import create_app
from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from tests.conftest import module_url
from tests.services.cast import Cast, build_cast

#: generated requests per operation and store (PostgreSQL's run is the slower, so it gets fewer)
EXAMPLES = {"sqlite": 12, "postgres": 6}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Cast, object]]:
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    cast = build_cast(store)
    app = create_app(url, pool_size=2)
    yield store, cast, app
    store.close()


def _operations(app: object) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_request_gets_a_server_error(fuzz_world: tuple[Store, Cast, object]) -> None:
    """Each operation of the OpenAPI document, EXAMPLES generated requests, no 5xx."""
    store, cast, app = fuzz_world
    svc = Caseshare(store)
    operations = _operations(app)
    assert len(operations) > 40, "the API should have been documented in full"
    tried = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES[store.dialect.name],
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def fuzz(case: schemathesis.Case) -> None:
            if not store.user(cast.admin).active:
                svc.set_active(cast.agency, None, cast.admin, True)
            _, token = svc.create_token(cast.admin, "fuzz")
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
            )

        fuzz()
        tried += 1
    assert tried == len(operations)
