"""Statements PostgreSQL plans at every run (``store.base.planned_each_run``), issue 12 item 4.

A statement psycopg prepared is run on a generic plan PostgreSQL made from the statistics of
the moment, until the table is analyzed again. A form's history read, prepared while the
agency's transactions were few, kept scanning all of them for each case as they grew (0.3 ms a
case at 5,000 transactions). It is never prepared: planned for the table as it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from caseshare.core.settings import Settings
from caseshare.store import Store, open_store
from caseshare.store.submissions import _WITH_HISTORY_PG


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    s = open_store(postgres_url)
    yield s
    s.close()


def _prepared(store: Store) -> list[str]:
    return [r[0] for r in store.rows("SELECT statement FROM pg_prepared_statements")]


def test_a_forms_history_read_is_never_prepared_while_others_are(store: Store) -> None:
    with store.transaction():
        agency = store.create_agency(f"plan-{uuid.uuid4().hex[:8]}", "Plan", Settings())
        store.add_transaction(agency, "c1", None, 1, ["create"], client_date=None)
    for _ in range(8):  # past psycopg's prepare threshold (5)
        assert store.with_history(agency, ["c1", "c2"]) == {"c1"}
        _, _, history, _, _ = store.form_first_reads(agency, "form-1", ["c1", "c2"])
        assert history == {"c1"}
    prepared = _prepared(store)
    assert not any("CROSS JOIN LATERAL (SELECT 1 FROM case_transactions" in s for s in prepared)
    # the other first reads of a form are prepared as before (the control)
    assert any("FROM submissions" in s for s in prepared)
    assert "CROSS JOIN LATERAL (SELECT 1 FROM case_transactions" in _WITH_HISTORY_PG
