"""Issue 12 item 1: a list page reads the user's S-SYNC-1 live set (row cause ``sync``) once per
``list_stamp`` (``store.livesets``: SQLite's read stamp, PostgreSQL's MVCC snapshot) and never
lists by a set that a write, through any connection of any process, has changed since.

The world: Bea owns a chain ``c`` → ``p`` → ``g`` (each a child of the next), Ali owns nothing.
Given ``c``, Ali lists ``c`` (owner), ``p`` (implicit parent) and ``g``: only her live set
reaches ``g``, so its coming and going is the live set's. Each test runs on a fresh, committed
store, on both stores (a rolled-back fixture would list inside a transaction: no stamp).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from caseshare.store.listing import Fragment, VisibilityQuery
from caseshare.store.livesets import LIVE
from tests.services.cast import unique


@dataclass
class World:
    store: Store
    svc: Caseshare
    other: Caseshare
    agency: int
    admin: int
    ali: int
    bea: int


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    first = open_store(store_url)
    second = open_store(store_url)
    try:
        svc = Caseshare(first)
        agency = svc.create_agency(unique("live"), "Live", {"case_sharing": True})
        admin = svc.create_user(agency, None, "admin", permissions=["admin"])
        ali = svc.create_user(agency, None, "ali")
        bea = svc.create_user(agency, None, "bea")
        bea_id = f"user:{bea}"
        svc.create_case(agency, None, "t", "g", case_id="g", owner=bea_id)
        svc.create_case(
            agency, None, "t", "p", case_id="p", owner=bea_id, indices={"up": ("g", "child")}
        )
        svc.create_case(
            agency, None, "t", "c", case_id="c", owner=bea_id, indices={"up": ("p", "child")}
        )
        yield World(first, svc, Caseshare(second), agency, admin, ali, bea)
    finally:
        first.close()
        second.close()


def listed(w: World, user: int) -> set[str]:
    """Every case of the user's list, page by page (two to a page, so keyset pages too)."""
    found: set[str] = set()
    cursor = None
    while True:
        page = w.svc.list_cases(user, limit=2, cursor=cursor)
        found.update(item["case_id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def quietly(w: World, steps: Callable[[], None]) -> tuple[int, int]:
    """The (hits, misses) of ``LIVE`` that ``steps`` made, from a run during which nothing was
    committed: PostgreSQL's stamp is the cluster's snapshot, which other tests' commits move
    (SQLite's is this database's, which only this test writes). Tried until one run is quiet,
    each try from no held sets: a try cut short by a commit may have held the set under the
    stamp the next try starts in, whose first page would then hit."""
    for _ in range(50):
        LIVE.clear()
        before = w.store.list_stamp()
        hits, misses = LIVE.hits, LIVE.misses
        steps()
        if w.store.list_stamp() == before:
            return LIVE.hits - hits, LIVE.misses - misses
    pytest.fail("the database was never quiet for one run")


def test_listing_twice_reads_the_live_set_once(world: World) -> None:
    w = world
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))

    def twice() -> None:
        assert listed(w, w.ali) == {"c", "p", "g"}
        assert listed(w, w.ali) == {"c", "p", "g"}
        assert listed(w, w.ali) == w.svc.visible_case_ids(w.ali)  # the walk's own answer

    hits, misses = quietly(w, twice)
    assert misses == 2 and hits > 0  # a first page, a set read


def test_an_owner_change_through_another_connection_is_listed_at_the_very_next_page(
    world: World,
) -> None:
    w = world
    assert listed(w, w.ali) == set()
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))
    assert listed(w, w.ali) == {"c", "p", "g"}  # given: appears at once
    assert listed(w, w.ali) == {"c", "p", "g"}
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.bea))
    assert listed(w, w.ali) == set()  # taken away: gone at once
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))
    assert listed(w, w.ali) == {"c", "p", "g"}
    w.other.close_case(w.agency, w.admin, "c")  # a closed case starts no live set
    assert listed(w, w.ali) == {"c", "p"} == w.svc.visible_case_ids(w.ali)


def _given_and_held(w: World) -> None:
    """Ali is given ``c`` and lists it twice: the second page reads and holds the live set."""
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))
    for _ in range(2):
        assert listed(w, w.ali) == {"c", "p", "g"}


def test_an_owner_change_through_another_process_is_listed_at_the_very_next_page(
    world: World,
) -> None:
    w = world
    _given_and_held(w)
    code = (
        "import sys\n"
        "from caseshare.services import Caseshare\n"
        "from caseshare.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "Caseshare(store).change_owner(int(sys.argv[2]), int(sys.argv[3]), 'c', sys.argv[4])\n"
        "store.close()\n"
    )
    args = [w.store.url, str(w.agency), str(w.admin), f"user:{w.bea}"]
    subprocess.run([sys.executable, "-c", code, *args], check=True, timeout=120)
    assert listed(w, w.ali) == set()
    args[-1] = f"user:{w.ali}"
    subprocess.run([sys.executable, "-c", code, *args], check=True, timeout=120)
    assert listed(w, w.ali) == {"c", "p", "g"}


def test_a_write_of_this_connection_outside_any_transaction_is_listed_at_once(
    world: World,
) -> None:
    """An autocommitted statement bypasses ``transaction()``: ``total_changes`` counts it."""
    w = world
    _given_and_held(w)
    pk = w.store.case_pk(w.agency, "c")
    w.store.execute("UPDATE cases SET owner = ? WHERE pk = ?", (f"user:{w.bea}", pk))
    assert listed(w, w.ali) == set()


def test_a_write_that_lands_during_a_page_makes_the_page_read_again(world: World) -> None:
    """The stamp is read again after the page: a commit of another connection between the
    stamp and the page's statements (here: at the page's first statement) sends the page
    back to the walk, so no page mixes a live set of before with rows of after."""
    w = world
    _given_and_held(w)
    store = w.store
    run, generic = store._run, store.rows_generic
    fired: list[str] = []

    def race(sql: str) -> None:
        if not fired and "ORDER BY" in sql and "FROM cases c" in sql:
            fired.append(sql)
            w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.bea))

    def racing(sql: str, params: Any, *, control: bool = False) -> Any:
        race(sql)
        return run(sql, params, control=control)

    def racing_generic(sql: str, params: Any = ()) -> Any:  # a first page's walk on PostgreSQL
        race(sql)
        return generic(sql, params)

    store._run = racing  # type: ignore[method-assign]
    store.rows_generic = racing_generic  # type: ignore[method-assign]
    try:
        page = w.svc.list_cases(w.ali, limit=50)
    finally:
        del store._run
        del store.rows_generic
    assert fired
    assert [item["case_id"] for item in page.items] == []
    assert listed(w, w.ali) == set()


def test_an_empty_live_set_is_held_like_any_other(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bea closes her chain's start: she owns cases, but her live set is empty. Once read, it
    is served from ``LIVE`` like a set with cases, never walked again under the same stamp."""
    w = world
    w.other.close_case(w.agency, w.admin, "c")
    w.other.close_case(w.agency, w.admin, "p")
    w.other.close_case(w.agency, w.admin, "g")
    first = listed(w, w.bea)
    assert first == {"c", "p", "g"}  # her own cases, by owner
    walks: list[int] = []
    live_walk = VisibilityQuery.live_walk

    def counted(self: VisibilityQuery, *, seeds_only: bool = False) -> Fragment:
        walks.append(1)
        return live_walk(self, seeds_only=seeds_only)

    monkeypatch.setattr(VisibilityQuery, "live_walk", counted)

    def again() -> None:
        listed(w, w.bea)  # a first page marks her, a second reads the (empty) set
        walks.clear()
        assert listed(w, w.bea) == first

    hits, _ = quietly(w, again)
    assert hits >= 2  # the second listing's two pages at least
    assert walks == []  # the held empty set, not a walk read again


def test_a_write_held_open_elsewhere_is_listed_when_it_commits(world: World) -> None:
    """Another connection's transaction is open across pages: its change is not listed while
    it is uncommitted, and is at the first page after its commit, though nothing else moved
    (on PostgreSQL the open transaction is in every snapshot's in-progress list until then)."""
    w = world
    _given_and_held(w)
    other = w.other.store
    with other.transaction():
        w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.bea))
        assert listed(w, w.ali) == {"c", "p", "g"}  # not committed: not seen
        assert listed(w, w.ali) == {"c", "p", "g"}
    assert listed(w, w.ali) == set()
    assert listed(w, w.ali) == w.svc.visible_case_ids(w.ali) == set()


def test_sqlite_connections_share_a_stamp_until_anything_is_written(world: World) -> None:
    """``shared_stamp``: once each has looked, two connections of this process to one file
    give the same stamp while nothing is written; after a write by either, or by another
    process, neither gives a stamp of before again."""
    w = world
    a, b = w.store, w.other.store
    if a.dialect.name != "sqlite":
        assert a.shared_stamp() is None
        return
    a.list_stamp(), b.list_stamp()  # each connection's first look moves the stamp
    before = a.list_stamp()
    assert b.list_stamp() == before == a.list_stamp()
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))  # b writes
    after_b = a.list_stamp()
    assert after_b != before and b.list_stamp() not in (before,)
    settled = b.list_stamp()
    assert a.list_stamp() == settled
    code = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "db.execute('UPDATE cases SET name = name || ? WHERE case_id = ?', ('!', 'g'))\n"
        "db.commit()\n"
    )
    path = a.url.removeprefix("sqlite:///")
    subprocess.run([sys.executable, "-c", code, path], check=True, timeout=120)
    assert b.list_stamp() not in (before, settled)
    assert a.list_stamp() not in (before, settled)
    with a.transaction():
        assert a.list_stamp() is None  # inside a transaction: no stamp


def test_a_live_set_read_on_one_connection_serves_the_others(world: World) -> None:
    """A server's pool: the set one connection read is used by the next page on another, and
    a change through either is listed at once on both."""
    w = world
    w.other.change_owner(w.agency, w.admin, "c", Principal("user", w.ali))

    def across() -> None:
        assert listed(w, w.ali) == {"c", "p", "g"}  # reads and holds the set
        page = w.other.list_cases(w.ali, limit=50)
        assert {item["case_id"] for item in page.items} == {"c", "p", "g"}

    hits, _ = quietly(w, across)
    if w.store.dialect.name == "sqlite":
        # the first connection's first page marks, its second reads the set; the other
        # connection's page is served from it (with a stamp per connection: a miss)
        assert hits == 1
    w.svc.change_owner(w.agency, w.admin, "c", Principal("user", w.bea))
    assert {i["case_id"] for i in w.other.list_cases(w.ali, limit=50).items} == set()
    assert listed(w, w.ali) == set()
