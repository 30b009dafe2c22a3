"""Property test (S-ACC-7, S-VIEW-1): on random valid worlds every page of every plan is the
next slice of the user's visible cases in (sort value, pk) order.

The list's plans (``store.caselist``) are chosen by what this process remembers: a first page
walks the sort index in a window of ``WALK`` cases, or skips the walk when most first pages of
its kind missed (``Layouts``), or after the user's walk missed (``_WALK_MISSES``). A random
world's agency is smaller than any real window, so the property test of the engine only ever
sees a walk that hits; here the window is a case or three (the walk crosses windows, misses
and goes to the candidate set), every first page may skip its walk, pages hold two cases, and
each sort is read both ways, with filters, with the agency's context version moved before
every page (what a structural change does to the plans' memory) or not, and with cases sent
here by another agency (S-AG-4), each list compared, in order, with the check's own set ordered
by the store.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from caseshare.scenario.world import World
from caseshare.services import CaseFilter
from caseshare.store import Store, caselist, open_store
from tests.strategies import worlds

SORTS = ("modified", "opened_on", "name", "case_id")
#: filters a list may add (S-VIEW-1), each with the value it is given
FILTERS: dict[str, Any] = {
    "status": "open",
    "owned_by_me": True,
    "created_by_me": True,
    "shared_with_me": True,
    "assigned_to_me": True,
    "q": "smith",  # a text search (S-VIEW-1): names and property values of the strategies
    "case_type": "t",
}


def _expected(world: World, user_id: int, flt: CaseFilter) -> list[str]:
    """The user's visible cases (the check's set, S-ACC-7) with the filter, in the store's
    own order."""
    pks = sorted(world.svc.visible_case_pks(user_id, flt))
    if not pks:
        return []
    column = caselist.SORTS[flt.sort]
    way = "DESC" if flt.descending else "ASC"
    marks = ", ".join("?" * len(pks))
    return [
        str(r[0])
        for r in world.store.rows(
            f"SELECT case_id FROM cases WHERE pk IN ({marks}) ORDER BY {column} {way}, pk {way}",
            pks,
        )
    ]


def _paged(world: World, user_id: int, flt: CaseFilter, *, bump: bool) -> list[str]:
    """Page by page; ``bump``: the agency's context version moves before every page (what a
    structural change does to the plans' memory), though nothing that decides access does."""
    found: list[str] = []
    cursor = None
    agency = world.store.user(user_id).agency_id
    for _ in range(100):
        if bump:
            with world.store.transaction():
                world.store.bump(agency, "settings")
        page = world.svc.list_cases(user_id, flt, limit=2, cursor=cursor)
        found += [item["case_id"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("the pages never ended")


def check_pages(store: Store, data: dict[str, Any], plans: Plans, *, unique: bool) -> None:
    walk, skip, bump, filters = plans
    note(f"WALK={walk} skip={skip} bump={bump} filters={filters}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(caselist, "WALK", walk)
        patch.setattr(caselist, "CHOOSE", False)
        patch.setattr(caselist, "_WALK_MISSES", set())
        layouts = caselist.Layouts()
        if skip:
            patch.setattr(layouts, "skip", lambda key: True)
        patch.setattr(caselist, "LAYOUTS", layouts)
        world = World.load(store, copy.deepcopy(data), unique=unique)
        problems = []
        for user in (str(u["id"]) for u in data["users"]):
            user_id = world.user_id(user)
            for sort in SORTS:
                for descending in (False, True):
                    chosen = {f: FILTERS[f] for f in filters}
                    flt = CaseFilter(sort=sort, descending=descending, **chosen)
                    want = _expected(world, user_id, flt)
                    for _ in range(2):  # again: the plan this process now remembers
                        got = _paged(world, user_id, flt, bump=bump)
                        if got != want:
                            problems.append(f"{user} {flt}: {got} != {want}")
        assert not problems, "\n".join(problems)


#: WALK, whether every first page skips its walk, whether the version moves before every page,
#: the filters
Plans = tuple[int, bool, bool, list[str]]
PLANS = st.tuples(
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
    st.lists(st.sampled_from(sorted(FILTERS)), max_size=3, unique=True),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=worlds(), plans=PLANS)
def test_s_acc_7_every_plan_pages_the_visible_cases_in_order_on_sqlite(
    data: dict[str, Any], plans: Plans
) -> None:
    with tempfile.TemporaryDirectory(prefix="caseshare-pages-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'caseshare.db'}")
        try:
            check_pages(store, data, plans, unique=False)
        finally:
            store.close()


@st.composite
def received_worlds(draw: st.DrawFn) -> dict[str, Any]:
    """South receives some of north's cases (S-AG-4, row cause ``agency_share``), finalised
    for Rhea or revoked since; Rhea and Sam own some of south's own cases. Names and days
    repeat, so sort values tie across the two agencies."""
    north = draw(st.integers(1, 8))
    south = draw(st.integers(1, 8))
    names = st.sampled_from(["Ann", "Bob", "ann", "Zed"])
    cases: list[dict[str, Any]] = [
        {"id": f"n{i}", "type": "t", "owner": "user:olga", "name": draw(names)}
        for i in range(north)
    ]
    cases += [
        {
            "id": f"s{i}",
            "type": "t",
            "agency": "south",
            "owner": f"user:{draw(st.sampled_from(['rhea', 'sam']))}",
            "name": draw(names),
        }
        for i in range(south)
    ]
    sent = draw(st.lists(st.integers(0, north - 1), unique=True))
    shares = [
        {
            "id": f"x{i}",
            "case": f"n{i}",
            "to": "south",
            "receiving_user": "rhea",
            "new_case": f"r{i}",
            "status": draw(st.sampled_from(["active", "active", "revoked"])),
        }
        for i in sent
    ]
    return {
        "agencies": [{"slug": "north"}, {"slug": "south"}],
        "users": [
            {"id": "olga"},
            {"id": "rhea", "agency": "south"},
            {"id": "sam", "agency": "south"},
        ],
        "cases": cases,
        "agreements": [
            {
                "id": "ns",
                "from": "north",
                "to": "south",
                "from_flags": {"outbound_sharing": True, "inbound_sharing": True},
            }
        ],
        "agency_shares": shares,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=received_worlds(), plans=PLANS)
def test_s_ag_4_cases_sent_here_page_in_order_with_every_plan(
    data: dict[str, Any], plans: Plans
) -> None:
    """Cases sent here are not on this agency's sort index: a walked page is merged with them
    (``_with_received``), a missed or skipped walk lists them from the candidate set."""
    with tempfile.TemporaryDirectory(prefix="caseshare-pages-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'caseshare.db'}")
        try:
            check_pages(store, data, plans, unique=False)
        finally:
            store.close()


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=worlds(), plans=PLANS)
def test_s_acc_7_every_plan_pages_the_visible_cases_in_order_on_postgres(
    postgres_store: Store, data: dict[str, Any], plans: Plans
) -> None:
    check_pages(postgres_store, data, plans, unique=True)


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=received_worlds(), plans=PLANS)
def test_s_ag_4_cases_sent_here_page_in_order_with_every_plan_on_postgres(
    postgres_store: Store, data: dict[str, Any], plans: Plans
) -> None:
    check_pages(postgres_store, data, plans, unique=True)
