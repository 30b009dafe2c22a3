"""``Connection.later`` on both stores: a write nobody waits for goes with the next statement
that needs an answer (PostgreSQL: one pipeline, ``BEGIN`` and ``COMMIT`` included); SQLite runs
it at once. Either way a later read sees it, a rollback (whole or to a savepoint) takes it back,
and its error ends the transaction with nothing of it kept (issue 12 item 4)."""

from __future__ import annotations

import uuid

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.settings import Settings
from caseshare.store import Store


def _agency(store: Store) -> int:
    with store.transaction():
        return store.create_agency(f"later-{uuid.uuid4().hex[:8]}", "Later", Settings())


def _events(store: Store, agency: int) -> list[str]:
    return sorted(e.subject for e in store.audit_events(agency))


def _event(store: Store, agency: int, subject: str) -> None:
    store.later(
        "INSERT INTO audit_events (agency_id, actor, at, action, subject, reason)"
        " VALUES (?, 'user:1', '2026-11-26T00:00:00.000000Z', 'test', ?, '')",
        (agency, subject),
    )


def test_a_later_write_is_seen_by_the_next_read_and_committed(store: Store) -> None:
    agency = _agency(store)
    with store.transaction():
        _event(store, agency, "a")
        _event(store, agency, "b")
        assert _events(store, agency) == ["a", "b"]
        _event(store, agency, "c")  # sent with the COMMIT
    assert _events(store, agency) == ["a", "b", "c"]
    _event(store, agency, "d")  # outside a transaction: at once
    assert _events(store, agency) == ["a", "b", "c", "d"]


def test_a_rollback_takes_later_writes_back(store: Store) -> None:
    agency = _agency(store)
    with pytest.raises(RuntimeError), store.transaction():  # BEGIN and the write never sent
        _event(store, agency, "a")
        raise RuntimeError("no")
    with pytest.raises(RuntimeError), store.transaction():  # BEGIN sent by a read
        _event(store, agency, "b")
        assert _events(store, agency) == ["b"]
        _event(store, agency, "c")
        raise RuntimeError("no")
    assert not store.in_transaction
    assert _events(store, agency) == []
    with store.transaction():
        _event(store, agency, "kept")
        with pytest.raises(RuntimeError), store.transaction():  # a savepoint
            _event(store, agency, "gone")
            raise RuntimeError("no")
        with store.transaction():
            _event(store, agency, "inner")
    assert _events(store, agency) == ["inner", "kept"]


def test_a_transaction_with_nothing_in_it_commits(store: Store) -> None:
    with store.transaction():
        pass
    with store.transaction(), store.transaction():
        pass
    assert not store.in_transaction
    assert store.value("SELECT 1") == 1


def test_a_failing_later_write_leaves_nothing_of_its_transaction(store: Store) -> None:
    agency = _agency(store)
    with pytest.raises(Exception) as raised, store.transaction():
        store.execute(
            "INSERT INTO audit_events (agency_id, actor, at, action, subject, reason)"
            " VALUES (?, 'user:1', '2026-11-26T00:00:00.000000Z', 'test', 'first', '')",
            (agency,),
        )
        _event(store, agency, "second")
        # a row the database refuses (subject NOT NULL), sent with the COMMIT on PostgreSQL
        store.later(
            "INSERT INTO audit_events (agency_id, actor, at, action, subject, reason)"
            " VALUES (?, 'user:1', '2026-11-26T00:00:00.000000Z', 'test', NULL, '')",
            (agency,),
        )
    assert not isinstance(raised.value, CaseShareError)  # a fault, as it was
    assert not store.in_transaction
    assert _events(store, agency) == []
    with store.transaction():  # the connection is fine after it
        _event(store, agency, "after")
    assert _events(store, agency) == ["after"]
