"""S-HIER-1 and implicit_parent in the list's walk, on both stores (issue 12 item 1).

A walk reaches parents through the cases the user owns or holds a grant on, as one set
(``VisibilityQuery.visible_row_own(sparse=True)``); the role tree's sources are not in that set
(for a district manager they are a tenth of the agency) but tested on the children of each row
walked. Either way a manager's list holds the household whose child a person in a role below
owns, or holds a grant on, and nothing more than the check allows (S-ACC-7).
"""

from __future__ import annotations

import uuid

import pytest

from caseshare.core.levels import Action
from caseshare.core.principals import Principal
from caseshare.services import CaseFilter, Caseshare
from caseshare.store import Store, caselist


class World:
    def __init__(self, store: Store) -> None:
        self.svc = svc = Caseshare(store)
        self.agency = svc.create_agency(f"hier-{uuid.uuid4().hex[:8]}", "Hierarchy")
        admin = svc.create_user(self.agency, None, "admin", permissions=["admin"])
        top = svc.create_role(self.agency, admin, "district")
        below = svc.create_role(self.agency, admin, "worker", top)
        self.manager = svc.create_user(self.agency, admin, "manager", role_id=top)
        worker = svc.create_user(self.agency, admin, "worker", role_id=below)
        other = svc.create_user(self.agency, admin, "other")

        def case(name: str, owner: int, parent: str | None = None) -> str:
            indices = {"parent": (parent, "child")} if parent else None
            return svc.create_case(
                self.agency,
                admin,
                "patient" if parent else "household",
                name,
                case_id=name,
                owner=Principal("user", owner),
                indices=indices,
            )

        # h1's child is the worker's (owned); h2's child is shared with the worker; h3 and its
        # child are someone else's alone
        case("h1", other)
        case("k1", worker, "h1")
        case("h2", other)
        case("k2", other, "h2")
        svc.share(self.agency, admin, "k2", Principal("user", worker), "read")
        case("h3", other)
        case("k3", other, "h3")
        self.all = ["h1", "k1", "h2", "k2", "h3", "k3"]


@pytest.fixture(scope="module")
def world(store: Store) -> World:
    return World(store)


@pytest.mark.parametrize("sparse", [False, True])
def test_s_hier_1_a_manager_lists_the_parents_of_cases_below_in_both_walk_forms(
    world: World, sparse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caselist, "SPARSE", sparse)
    monkeypatch.setattr(caselist, "_WALK_MISSES", set())
    svc = world.svc
    allowed = {c for c in world.all if svc.check(world.manager, Action.VIEW, c).allowed}
    assert allowed == {"h1", "k1", "h2", "k2"}
    for limit in (1, 2, 50):
        got: list[str] = []
        cursor = None
        for _ in range(20):
            page = svc.list_cases(
                world.manager, CaseFilter(sort="name"), limit=limit, cursor=cursor
            )
            got += [item["case_id"] for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert got == sorted(allowed), (limit, got)
