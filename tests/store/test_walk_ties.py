"""S-VIEW-1 keyset pages where many cases share their sort value, on both stores.

A day's cases share ``opened_on`` and a bulk load's share ``server_modified_on``; names repeat.
A list page walks the sort index in windows bounded by a (sort value, pk) key
(``CaseList._walk``): on SQLite each window is read as disjoint index ranges, since a row-value
bound ends SQLite's range on the first column only (a walk that missed read every case of the
bound's value). Whatever the ties, every page of every sort, either way, is the next slice of
the user's visible cases in (value, pk) order: none twice, none missed.

The window is made small (``WALK`` = 8, pages of 5) so that a page crosses windows, a user who
sees two cases in three fills pages from the walk and one who sees one in three misses it and
goes to the candidate query.
"""

from __future__ import annotations

import uuid

import pytest

from caseshare.core.principals import Principal
from caseshare.services import CaseFilter, Caseshare
from caseshare.store import Store, caselist


class World:
    """45 cases; Ana owns two in three, Ben one in three. Every case has the same
    ``server_modified_on`` and one of two ``opened_on`` days; names come in threes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.svc = Caseshare(store)
        self.agency = self.svc.create_agency(f"ties-{uuid.uuid4().hex[:8]}", "Ties")
        admin = self.svc.create_user(self.agency, None, "admin", permissions=["admin"])
        self.ana = self.svc.create_user(self.agency, None, "ana")
        self.ben = self.svc.create_user(self.agency, None, "ben")
        for n in range(45):
            owner = self.ben if n % 3 == 0 else self.ana
            self.svc.create_case(
                self.agency,
                admin,
                "patient",
                f"name {n // 3:02d}",
                case_id=f"c{n:02d}",
                owner=Principal("user", owner),
            )
        with store.transaction():
            store.execute(
                "UPDATE cases SET server_modified_on = ?,"
                " opened_on = CASE WHEN pk % 2 = 0 THEN ? ELSE ? END WHERE agency_id = ?",
                ("2026-11-26T10:00:00.000000Z", "2026-11-02", "2026-11-01", self.agency),
            )

    def expected(self, user: int, sort: str, descending: bool) -> list[str]:
        """The user's visible cases in (sort value, pk) order, straight from the table."""
        visible = self.svc.visible_case_ids(user)
        column = caselist.SORTS[sort]
        rows = self.store.rows(
            f"SELECT case_id, {column}, pk FROM cases WHERE agency_id = ?", (self.agency,)
        )
        ordered = sorted((r for r in rows if r[0] in visible), key=lambda r: (r[1], r[2]))
        ids = [r[0] for r in ordered]
        return ids[::-1] if descending else ids

    def paged(self, user: int, sort: str, descending: bool) -> list[str]:
        flt = CaseFilter(sort=sort, descending=descending)
        found: list[str] = []
        cursor = None
        for _ in range(50):
            page = self.svc.list_cases(user, flt, limit=5, cursor=cursor)
            found += [item["case_id"] for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return found
        raise AssertionError("the pages never ended")


@pytest.fixture(scope="module")
def world(store: Store) -> World:
    return World(store)


@pytest.fixture(autouse=True)
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caselist, "WALK", 8)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", ["modified", "opened_on", "name"])
@pytest.mark.parametrize("who", ["ana", "ben"])
def test_s_view_1_pages_through_tied_sort_values_in_key_order(
    world: World, who: str, sort: str, descending: bool
) -> None:
    user = world.ana if who == "ana" else world.ben
    expected = world.expected(user, sort, descending)
    assert len(expected) == (30 if who == "ana" else 15)
    assert world.paged(user, sort, descending) == expected


def test_segments_cover_the_window_in_order_and_apart() -> None:
    """``_segments`` of a window: an after key and a bound of the same value give one pk range;
    otherwise the after key's value, the values between, the bound's value, in that order."""
    same = caselist._segments("c.x", ("a", 5), ("a", 9), True)
    assert [(s.sql, s.params) for s in same] == [
        ("c.x = ? AND c.pk > ? AND c.pk <= ?", ["a", 5, 9])
    ]
    run = caselist._segments("c.x", ("a", 5), ("a", 9), True, inclusive=True)
    assert [(s.sql, s.params) for s in run] == [
        ("c.x = ? AND c.pk >= ? AND c.pk <= ?", ["a", 5, 9])
    ]
    parts = caselist._segments("c.x", ("a", 5), ("c", 2), False)
    assert [(s.sql, s.params) for s in parts] == [
        ("c.x = ? AND c.pk < ?", ["a", 5]),
        ("c.x < ? AND c.x > ?", ["a", "c"]),
        ("c.x = ? AND c.pk >= ?", ["c", 2]),
    ]
    first = caselist._segments("c.x", None, ("c", 2), True)
    assert [(s.sql, s.params) for s in first] == [
        ("c.x < ?", ["c"]),
        ("c.x = ? AND c.pk <= ?", ["c", 2]),
    ]
    last = caselist._segments("c.x", ("a", 5), None, True)
    assert [(s.sql, s.params) for s in last] == [
        ("c.x = ? AND c.pk > ?", ["a", 5]),
        ("c.x > ?", ["a"]),
    ]


def test_layouts_skip_a_walk_once_most_first_pages_of_its_kind_missed() -> None:
    """``Layouts``: no prediction before ``least`` walks; past it, a kind whose walks mostly
    missed skips its walk, all but one in ``probe``; a kind whose walks hit never does."""
    layouts = caselist.Layouts(window=8, least=4, share=0.75, probe=3)
    missing, hitting = ("a",), ("b",)
    for _ in range(3):
        layouts.record(missing, True)
        layouts.record(hitting, False)
    assert not layouts.skip(missing)  # three walks: too few to tell
    layouts.record(missing, True)
    layouts.record(hitting, False)
    assert [layouts.skip(missing) for _ in range(6)] == [True, True, False, True, True, False]
    assert not any(layouts.skip(hitting) for _ in range(6))
    for _ in range(8):  # the layout changed: the probes hit, the window forgets the misses
        layouts.record(missing, False)
    assert not layouts.skip(missing)


def test_s_acc_7_a_first_page_that_skips_its_walk_lists_the_same_cases(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users who see none of the agency miss every walk: after enough of them, Ben's first
    page (a user of the same kind) goes to the candidate set at once, and every page of his,
    in every sort, is still the next slice of his cases."""
    monkeypatch.setattr(caselist, "LAYOUTS", caselist.Layouts())
    monkeypatch.setattr(caselist, "_WALK_MISSES", set())
    svc = world.svc
    nobodies = [
        svc.create_user(world.agency, None, f"nobody{n}-{uuid.uuid4().hex[:4]}") for n in range(12)
    ]
    for nobody in nobodies:  # the agency's version is the same from here on
        assert svc.list_cases(nobody, limit=5).items == []
    skipped = dict(caselist.LAYOUTS._skips)
    assert world.paged(world.ben, "modified", False) == world.expected(world.ben, "modified", False)
    assert sum(caselist.LAYOUTS._skips.values()) > sum(skipped.values())
    for sort in ("opened_on", "name"):
        for descending in (False, True):
            assert world.paged(world.ben, sort, descending) == world.expected(
                world.ben, sort, descending
            )
