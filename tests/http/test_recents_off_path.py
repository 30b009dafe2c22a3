"""Issue 12 item 7: a case read makes no write on the request path. The view goes to the app's
in-process buffer (``services.recents``), is listed at once by the process that took it, and is
written by the background flush — and by the clean shutdown, so a clean stop loses none."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caseshare.http import create_app
from caseshare.http.pool import ServicePool
from caseshare.services import Caseshare
from caseshare.services.recents import RecentViews, TokenUses
from caseshare.store import Store, open_store
from caseshare.store.base import sqlite_path
from tests.conftest import module_url
from tests.http.cast import build_http_cast

API = "/api/v1"
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return module_url(request, tmp_path_factory)


def test_a_case_read_writes_nothing_and_a_clean_shutdown_keeps_the_view(database: str) -> None:
    store = open_store(database)
    cast = build_http_cast(store)
    owner = cast.owner
    token = cast.tokens["owner"]  # type: ignore[attr-defined]
    case_pk = store.case_row(cast.agency, cast.case).pk
    statements: list[str] = []

    def opener(url: str) -> Store:
        mine = open_store(url, migrate=False)
        run = mine._run

        def recorded(sql: str, params: Sequence[Any], *, control: bool = False) -> Any:
            statements.append(sql)
            return run(sql, params, control=control)

        mine._run = recorded  # type: ignore[method-assign]
        return mine

    pool = ServicePool(database, 2, opener=opener)
    app = create_app(database, pool=pool)
    bearer = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(app) as client:
            assert client.get(f"{API}/cases", headers=bearer).status_code == 200  # warm
            statements.clear()
            store.execute("UPDATE api_tokens SET last_used_at = NULL")  # its use is noted again
            read = client.get(f"{API}/cases/{cast.case}", headers=bearer)
            assert read.status_code == 200, read.text[:300]
            # nothing written on the path: not the view, nor the token's "last used"
            writes = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
            assert writes == []
            assert len(pool.token_uses) == 1
            # listed at once by this process, buffer or database
            recent = client.get(f"{API}/me/recent", headers=bearer).json()["items"]
            assert recent[0]["case_id"] == cast.case
        # the lifespan's end flushed the buffer: the view is in the database, and the
        # token's last use
        assert case_pk in [pk for pk, _ in store.recent_pks(owner)]
        assert len(pool.recents) == 0 and len(pool.token_uses) == 0
        used = "SELECT count(*) FROM api_tokens WHERE user_id = ? AND last_used_at IS NOT NULL"
        assert store.value(used, (owner,)) >= 1
    finally:
        pool.close()
        store.close()


def test_buffer_keeps_the_newest_view_once_and_drops_the_oldest_past_its_bound() -> None:
    views = RecentViews(limit=3)
    views.note(1, 10, "2026-01-01T00:00:02Z")
    views.note(1, 10, "2026-01-01T00:00:01Z")  # older: ignored
    views.note(1, 11, "2026-01-01T00:00:03Z")
    views.note(2, 10, "2026-01-01T00:00:04Z")
    assert views.pending(1) == [(10, "2026-01-01T00:00:02Z"), (11, "2026-01-01T00:00:03Z")]
    views.note(2, 12, "2026-01-01T00:00:05Z")
    assert len(views) == 3 and views.dropped == 1  # (1, 10) was the oldest
    first = views.take(2)
    assert first == [(1, 11, "2026-01-01T00:00:03Z"), (2, 10, "2026-01-01T00:00:04Z")]
    # a flush in flight: its views are still listed until it settles
    assert views.pending(1) == [(11, "2026-01-01T00:00:03Z")]
    views.settle(first, again=False)  # committed
    assert views.pending(1) == []
    second = views.take()
    assert second == [(2, 12, "2026-01-01T00:00:05Z")]
    assert len(views) == 0
    views.settle(second, again=True)  # refused: back in the buffer
    assert len(views) == 1 and views.pending(2) == [(12, "2026-01-01T00:00:05Z")]


def test_a_flush_the_database_refuses_keeps_the_views_for_the_next(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        cast = build_http_cast(store)
        case_pk = store.case_row(cast.agency, cast.case).pk
        svc = Caseshare(store)
        svc.recents = RecentViews()
        svc.note_recent(cast.owner, case_pk)
        assert store.recent_pks(cast.owner) == []  # nothing written by the read
        blocker = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            assert svc.flush_recents() == 0  # busy: given back
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert len(svc.recents) == 1
        assert svc.flush_recents() == 1
        assert [pk for pk, _ in store.recent_pks(cast.owner)] == [case_pk]
    finally:
        store.close()


def test_a_clean_shutdown_during_a_flush_loses_no_view(database: str) -> None:
    """Issue 12 item 7: a shutdown that comes while the background flush is writing waits for
    that write (and flushes the rest) before the app stops; it never abandons the batch in
    flight, which the buffer no longer counts."""
    store = open_store(database)
    cast = build_http_cast(store)
    case_pk = store.case_row(cast.agency, cast.case).pk
    writing, gate = threading.Event(), threading.Event()

    def opener(url: str) -> Store:
        mine = open_store(url, migrate=False)
        note = mine.note_recents

        def slow(views: Sequence[tuple[int, int, str]]) -> None:
            writing.set()
            gate.wait(10)  # a slow database: the flush is in flight when the stop comes
            note(views)

        mine.note_recents = slow  # type: ignore[method-assign]
        return mine

    pool = ServicePool(database, 2, opener=opener)
    app = create_app(database, pool=pool)
    try:
        with TestClient(app):
            pool.recents.note(cast.owner, case_pk, "2030-01-01T00:00:00Z")
            assert writing.wait(10)  # the background flush has taken the view
            threading.Timer(0.5, gate.set).start()
        assert store.recent_pks(cast.owner) == [(case_pk, "2030-01-01T00:00:00Z")]
    finally:
        gate.set()
        pool.close()
        store.close()


def test_token_uses_keep_the_newest_time_and_a_later_write_is_never_undone(
    sqlite_url: str,
) -> None:
    """``TokenUses`` keeps one time per token, the newest; ``touch_tokens`` never moves a
    token's recorded last use back (a flush of an older note after a newer one)."""
    uses = TokenUses()
    uses.note(7, "2026-11-27T10:00:00Z")
    uses.note(7, "2026-11-27T09:00:00Z")
    uses.note(8, "2026-11-27T09:30:00Z")
    taken = uses.take()
    assert taken == {7: "2026-11-27T10:00:00Z", 8: "2026-11-27T09:30:00Z"}
    assert len(uses) == 0 and uses.pending(7) == "2026-11-27T10:00:00Z"  # in flight: listed
    uses.settle(taken, again=True)  # refused: back for the next flush
    assert len(uses) == 2 and uses.pending(8) == "2026-11-27T09:30:00Z"
    uses.settle(uses.take(), again=False)  # written
    assert len(uses) == 0 and uses.pending(7) is None
    store = open_store(sqlite_url)
    try:
        cast = build_http_cast(store)
        token_id = int(
            store.value("SELECT min(id) FROM api_tokens WHERE user_id = ?", (cast.owner,))
        )
        with store.transaction():
            store.touch_tokens({token_id: "2026-11-27T10:00:00Z"})
            store.touch_tokens({token_id: "2026-11-27T09:00:00Z"})
        assert (
            store.value("SELECT last_used_at FROM api_tokens WHERE id = ?", (token_id,))
            == "2026-11-27T10:00:00Z"
        )
    finally:
        store.close()
