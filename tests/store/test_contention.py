"""What each database says when requests contend, as the refusals clients can act on (issue 8)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from caseshare.core.errors import Busy, CaseShareError
from caseshare.store import open_store
from caseshare.store.base import lock_timeout_ms


def test_lock_timeout_is_read_in_postgresql_units() -> None:
    assert [lock_timeout_ms(t) for t in ("250", "500ms", "2s", "1.5s", "1min")] == [
        250,
        500,
        2000,
        1500,
        60_000,
    ]
    with pytest.raises(CaseShareError, match="not a duration"):
        lock_timeout_ms("soon")


def test_issue8_sqlite_database_is_locked_is_busy_and_leaves_no_transaction_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("CASESHARE_LOCK_TIMEOUT", "100ms")
    store = open_store(url)
    holder = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(Busy) as refused, store.transaction():
        store.execute("DELETE FROM signin_failures")
    assert refused.value.code == "invalid_transition"
    assert refused.value.details["retry_after"] >= 1
    assert not store.in_transaction
    holder.execute("ROLLBACK")
    with store.transaction():  # the connection is fine afterwards
        store.execute("DELETE FROM signin_failures")
    store.close()


@pytest.mark.postgres
def test_issue8_postgresql_lock_timeout_is_busy(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASESHARE_LOCK_TIMEOUT", "200ms")
    store = open_store(fresh_postgres_url)
    other = open_store(fresh_postgres_url)
    with other.transaction():
        other.execute("LOCK TABLE signin_failures IN EXCLUSIVE MODE")
        with pytest.raises(Busy), store.transaction():
            store.execute("DELETE FROM signin_failures")
    assert not store.in_transaction and store.healthy
    store.close()
    other.close()


@pytest.mark.postgres
def test_issue8_postgresql_deadlock_is_a_clean_concurrent_change(fresh_postgres_url: str) -> None:
    """Two transactions that lock two rows in opposite orders: PostgreSQL rolls one back, and
    that one is told another request changed the same thing."""
    one, two = open_store(fresh_postgres_url), open_store(fresh_postgres_url)
    with one.transaction():
        one.execute("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER)")
        one.execute("INSERT INTO pair VALUES (1, 0), (2, 0)")
    both = threading.Barrier(2)
    outcomes: list[str] = []

    def cross(store: object, first: int, second: int) -> None:
        assert hasattr(store, "transaction")
        try:
            with store.transaction():  # type: ignore[attr-defined]
                store.execute("UPDATE pair SET n = n + 1 WHERE id = ?", (first,))  # type: ignore[attr-defined]
                both.wait()
                store.execute("UPDATE pair SET n = n + 1 WHERE id = ?", (second,))  # type: ignore[attr-defined]
            outcomes.append("committed")
        except CaseShareError as exc:
            outcomes.append(exc.code)

    threads = [
        threading.Thread(target=cross, args=(one, 1, 2)),
        threading.Thread(target=cross, args=(two, 2, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["committed", "invalid_transition"]
    one.close()
    two.close()


def test_issue8_a_note_made_in_passing_gives_up_at_once_behind_a_long_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers wait out the lock timeout (10 s here); a read's own bookkeeping does not."""
    monkeypatch.setenv("CASESHARE_LOCK_TIMEOUT", "10s")
    store = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    holder = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    with pytest.raises(Busy), store.in_passing():
        store.execute("DELETE FROM signin_failures")
    assert time.monotonic() - began < 2
    holder.execute("ROLLBACK")
    with store.in_passing():  # free again: it writes
        store.execute("DELETE FROM signin_failures")
    assert store.value("PRAGMA busy_timeout") == 10_000  # writers wait as before
    store.close()
