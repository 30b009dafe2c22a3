"""The list walk's shared statement text (issue 12 item 1, h15pgpage), on both stores.

On PostgreSQL a first page's walk (no text search) is one text for every user of the agency of a shape
(``VisibilityQuery(shared=True)``): the owner rules' owners join the owner ids' array and every
criteria rule of the agency is in the text behind a parameter saying whether the user holds
it; the statement runs on its generic plan (``Connection.rows_generic``). SQLite keeps the
user's own rules. Whatever the form, a user's page holds exactly the cases the check lets them
view (S-ACC-7), for every filter and sort (S-VIEW-1), in both walk forms (sparse or per row).

The world is the bench's at size XS: 200 users in a role tree with hierarchy access, teams,
40 owner rules and 10 criteria rules granted to groups, households with children and
extensions, Zipf-shared cases.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from caseshare.bench.world import SIZES, BenchWorld, build
from caseshare.core.levels import Action
from caseshare.services import CaseFilter, Caseshare
from caseshare.store import Store, caselist
from caseshare.store.caselist import CaseListQuery
from caseshare.store.listing import VisibilityQuery


class World:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.bench: BenchWorld = build(
            store, SIZES["XS"], seed=5, slug=f"shared-{uuid.uuid4().hex[:8]}"
        )
        self.svc = Caseshare(store)
        self.agency = self.bench.agency_id
        self.ctx = self.svc.context(self.agency)
        rng = random.Random(7)
        self.users = [*rng.sample(self.bench.users, 6), self.bench.top_user]
        # a user of each kind of rule holding: criteria rules (one or more), owner rules
        held: dict[int, list[str]] = {}
        for uid in self.bench.users:
            user = self.ctx.directory.users[uid]
            kinds = sorted(r.kind for r in VisibilityQuery(store.dialect, self.ctx, user).rules)
            held.setdefault(len(kinds), []).append(str(uid))
            if kinds.count("criteria") >= 2 and uid not in self.users and len(self.users) < 10:
                self.users.append(uid)
        self.counts = held
        self.pks = {
            int(r[0]): str(r[1])
            for r in store.rows(
                "SELECT pk, case_id FROM cases WHERE agency_id = ? AND deleted = 0",
                (self.agency,),
            )
        }
        self._checked: dict[int, set[str]] = {}

    def checked(self, uid: int) -> set[str]:
        """The cases the single check lets the user view."""
        if uid not in self._checked:
            self._checked[uid] = {
                case_id
                for case_id in self.pks.values()
                if self.svc.check(uid, Action.VIEW, case_id).allowed
            }
        return self._checked[uid]


@pytest.fixture(scope="module")
def world(store: Store) -> World:
    return World(store)


FILTERS = {
    "none": CaseFilter(),
    "owned_by_me": CaseFilter(owned_by_me=True),
    "shared_with_me": CaseFilter(shared_with_me=True),
    "assigned_to_me": CaseFilter(assigned_to_me=True),
    "created_by_me": CaseFilter(created_by_me=True),
    "open": CaseFilter(status="open"),
    "patient": CaseFilter(case_type="patient", sort="name"),
    "opened_desc": CaseFilter(sort="opened_on", descending=True),
    "case_id": CaseFilter(sort="case_id", status="closed"),
}


def _rowwise(world: World, uid: int, flt: CaseFilter, *, shared: bool, sparse: bool) -> set[str]:
    """The user's list by the walk's row-by-row condition, in the shared form or not."""
    user = world.ctx.directory.users[uid]
    query = CaseListQuery(world.store, world.ctx, user, shared=shared)
    parts = [query.visibility.visible_row_own("c", sparse=sparse), *query.filters(flt)]
    sql = " AND ".join(p.sql for p in parts)
    params: list[Any] = [x for p in parts for x in p.params]
    return {
        str(r[0]) for r in world.store.rows(f"SELECT c.case_id FROM cases c WHERE {sql}", params)
    }


def test_the_world_holds_users_of_every_rule_count(world: World) -> None:
    """The shared text is tested against users who hold none, one and several rules."""
    assert len(world.counts) >= 3, world.counts
    assert len(world.users) == 10


@pytest.mark.parametrize("sparse", [False, True])
def test_users_of_one_shape_share_one_walk_text_on_postgres(world: World, sparse: bool) -> None:
    texts: set[str] = set()
    own: set[str] = set()
    for uid in world.bench.users:
        user = world.ctx.directory.users[uid]
        for shared, found in ((True, texts), (False, own)):
            query = VisibilityQuery(world.store.dialect, world.ctx, user, shared=shared)
            found.add(query.visible_row_own("c", sparse=sparse).sql)
    if world.store.dialect.name == "sqlite":
        assert texts == own  # SQLite keeps the user's own rules
        return
    # hierarchy or not, criteria rules or not, owner ids or not: a few shapes, never a
    # text per number of rules held
    assert len(texts) <= 8 < len(own), (len(texts), len(own))


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("sparse", [False, True])
def test_the_shared_walk_condition_holds_exactly_the_visible_cases(
    world: World, name: str, sparse: bool
) -> None:
    flt = FILTERS[name]
    for uid in world.users:
        own = _rowwise(world, uid, flt, shared=False, sparse=sparse)
        shared = _rowwise(world, uid, flt, shared=True, sparse=sparse)
        assert shared == own, (uid, name)
        assert own == world.svc.visible_case_ids(uid, flt), (uid, name)


def test_the_shared_walk_condition_lists_what_the_check_allows(world: World) -> None:
    """S-ACC-7 against the check itself: a user of several criteria rules, one of few."""
    for uid in (world.users[-1], world.users[0]):
        for sparse in (False, True):
            found = _rowwise(world, uid, CaseFilter(), shared=True, sparse=sparse)
            assert found == world.checked(uid), (uid, sparse)


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("sparse", [False, True])
def test_pages_walked_on_the_shared_text_page_through_the_visible_cases(
    world: World, name: str, sparse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page by the walk (a window that holds the agency, so it never misses), in order:
    the first on the shared text, the next ones on the user's own."""
    monkeypatch.setattr(caselist, "SPARSE", sparse)
    monkeypatch.setattr(caselist, "WALK", 5_000)
    monkeypatch.setattr(caselist, "_WALK_MISSES", set())
    monkeypatch.setattr(caselist, "CHOOSE", False)
    flt = FILTERS[name]
    for uid in world.users[6:9]:  # the top of the tree, users of several criteria rules
        expected = world.svc.visible_case_ids(uid, flt)
        got: list[str] = []
        cursor = None
        for _ in range(400):
            page = world.svc.list_cases(uid, flt, limit=50, cursor=cursor)
            got += [item["case_id"] for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(got) == len(set(got)) and set(got) == expected, (uid, name)
        whole = [i["case_id"] for i in world.svc.list_cases(uid, flt, limit=500).items]
        assert got[: len(whole)] == whole, (uid, name)


def test_a_generic_page_leaves_the_plan_cache_mode_as_it_was(world: World) -> None:
    store = world.store
    if store.dialect.name == "sqlite":
        assert store.rows_generic("SELECT 1") == [(1,)]
        return
    mode = "SELECT current_setting('plan_cache_mode')"
    assert store.rows_generic("SELECT ? + 1", (1,)) == [(2,)]
    assert store.value(mode) == "auto"
    with pytest.raises(Exception, match="division by zero"):
        store.rows_generic("SELECT 1 / (? - 1)", (1,))
    assert store.value(mode) == "auto"
    with pytest.raises(Exception, match="division by zero"), store.transaction():
        store.rows_generic("SELECT 1 / (? - 1)", (1,))
    assert store.value(mode) == "auto"


def test_past_shared_rules_the_text_holds_the_users_own_criteria_rules(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agency of more criteria rules than ``SHARED_RULES``: the user's own, same answer."""
    from caseshare.store import listing

    monkeypatch.setattr(listing, "SHARED_RULES", 1)
    uid = world.users[-1]  # a user of several criteria rules
    user = world.ctx.directory.users[uid]
    text = VisibilityQuery(world.store.dialect, world.ctx, user, shared=True)
    assert text.visible_row_own("c").sql.count("properties") == 3 * len(
        [r for r in text.rules if r.kind == "criteria"]
    )
    for sparse in (False, True):
        found = _rowwise(world, uid, CaseFilter(), shared=True, sparse=sparse)
        assert found == world.checked(uid), sparse
