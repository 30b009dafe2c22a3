"""Checking, explaining and listing (S-ACC-3, S-ACC-6, S-ACC-7, S-VIEW-1) on both stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.principals import Principal
from caseshare.services import CaseFilter
from caseshare.services.access import SORTS
from caseshare.store import Store
from tests.services.cast import Cast, build_cast, code_of


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


# -- the standard four access tests on every endpoint (STYLE §7) -------------------------------------


def _endpoints(c: Cast, case: str) -> dict[str, tuple[Callable[..., Any], str]]:
    """operation → (call taking the actor, the level it needs), on ``case``."""
    observer = c.svc.create_team_role(c.agency, None, f"observer-{case}", "read")
    return {
        "view": (lambda a: c.svc.require(a, Action.VIEW, case), "read"),
        "query_shares": (lambda a: c.svc.query_shares(c.agency, a, case), "read"),
        "update": (lambda a: c.svc.update_case(c.agency, a, case, name="n"), "edit"),
        "close": (lambda a: c.svc.update_case(c.agency, a, case, closed=True), "edit"),
        "share": (
            lambda a: c.svc.share(c.agency, a, case, f"user:{c.outsider}", "edit"),
            "full",
        ),
        "unshare": (lambda a: c.svc.unshare(c.agency, a, case, f"user:{c.reader}"), "full"),
        "assign": (lambda a: c.svc.assign(c.agency, a, case, c.outsider), "full"),
        "unassign": (lambda a: c.svc.unassign(c.agency, a, case, c.outsider), "full"),
        "team_add": (
            lambda a: c.svc.team_add(c.agency, a, case, c.outsider, observer),
            "full",
        ),
        "team_remove": (lambda a: c.svc.team_remove(c.agency, a, case, c.outsider), "full"),
        "transfer": (
            lambda a: c.svc.change_owner(c.agency, a, case, str(c.group_principal)),
            "full",
        ),
        "delete": (lambda a: c.svc.delete_case(c.agency, a, case), "full"),
    }


def _fresh_case(c: Cast, name: str) -> str:
    """A case like the cast's: owned by the group, with a manual read share for the reader."""
    case = c.svc.create_case(c.agency, c.owner, "patient", name, case_id=f"e-{name}")
    c.svc.share(c.agency, c.owner, case, f"user:{c.reader}", "read")
    return case


ENDPOINTS = [
    "view",
    "query_shares",
    "update",
    "close",
    "share",
    "unshare",
    "assign",
    "unassign",
    "team_add",
    "team_remove",
    "transfer",
    "delete",
]


def test_s_acc_3_standard_cast_on_every_endpoint(cast: Cast) -> None:
    c = cast
    for endpoint in ENDPOINTS:
        case = _fresh_case(c, endpoint)
        call, needs = _endpoints(c, case)[endpoint]
        assert code_of(call, c.outsider) == "not_found", endpoint  # existence never leaks
        if needs != "read":
            assert code_of(call, c.reader) == "insufficient_access", endpoint
        else:
            call(c.reader)
        for actor in (c.owner, c.colleague, c.admin):
            if endpoint != "delete":
                call(actor)
        if endpoint == "delete":
            call(c.owner)


def test_s_acc_3_a_user_of_another_agency_gets_not_found_on_every_endpoint(cast: Cast) -> None:
    # Fred has a case with the same id in his own agency; he must still not reach this one.
    # (``require``/``check`` take no agency: for Fred, "k1" is his own case.)
    c = cast
    reached = []
    endpoints = _endpoints(c, c.case)  # may set up a team role: that is audited too
    before = c.store.audit_events(c.agency, limit=10_000)
    for endpoint in ENDPOINTS[1:]:
        call, _ = endpoints[endpoint]
        try:
            call(c.foreigner)
        except CaseShareError as exc:
            if exc.code != "not_found":
                reached.append(f"{endpoint}: {exc.code}")
        else:
            reached.append(f"{endpoint}: succeeded")
    assert not reached, "a user of another agency got through: " + "; ".join(reached)
    assert c.store.audit_events(c.agency, limit=10_000) == before


# -- check, require, explain ------------------------------------------------------------------------


def test_s_acc_3_check_and_require_answer_not_found_across_agencies(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.check, c.foreigner, Action.VIEW, c.private) == "not_found"
    assert code_of(c.svc.require, c.foreigner, Action.VIEW, c.private) == "not_found"
    assert code_of(c.svc.explain, c.foreigner, c.private) == "not_found"
    # the same id in his own agency is his own case, not ours
    assert c.svc.explain(c.foreigner, c.case).case_pk != c.store.case_pk(c.agency, c.case)


def test_s_acc_3_require_is_not_found_without_access_and_insufficient_with_too_little(
    cast: Cast,
) -> None:
    c = cast
    assert code_of(c.svc.require, c.outsider, Action.VIEW, c.case) == "not_found"
    assert code_of(c.svc.require, c.owner, Action.VIEW, "nope") == "not_found"
    with pytest.raises(Exception) as info:
        c.svc.require(c.reader, Action.EDIT, c.case)
    assert getattr(info.value, "code", None) == "insufficient_access"
    assert getattr(info.value, "details", {}) == {"level": "read", "action": "edit"}
    assert c.svc.require(c.reader, Action.VIEW, c.case).level is Level.READ


@pytest.mark.parametrize(
    ("who", "level", "causes"),
    [
        ("owner", "full", {"owner"}),
        ("colleague", "full", {"owner"}),
        ("reader", "read", {"manual"}),
        ("outsider", "none", set()),
        ("admin", "full", {"permission"}),
    ],
)
def test_s_acc_6_explain_and_check_give_the_same_access_for_the_cast(
    cast: Cast, who: str, level: str, causes: set[str]
) -> None:
    c = cast
    uid = getattr(c, who)
    explained = c.svc.explain(uid, c.case)
    assert explained.level.label == level
    assert {cause.value for cause in explained.causes} == causes
    for action in Action:
        decision = c.svc.check(uid, action, c.case)
        assert decision.access == explained
        assert decision.allowed == explained.allows(action)
        assert decision.reasons


def test_s_acc_6_explain_names_the_path_through_the_owning_group(cast: Cast) -> None:
    c = cast
    (grant,) = c.svc.explain(c.colleague, c.case).grants
    assert grant.cause is Cause.OWNER
    assert grant.path == f"owner → group:{c.group} ∋ user:{c.colleague}"


def test_s_acc_6_who_has_access_lists_every_user_and_why(cast: Cast) -> None:
    c = cast
    who = {a.user_id: a for a in c.svc.who_has_access(c.agency, c.case)}
    assert {uid: a.level for uid, a in who.items()} == {
        c.owner: Level.FULL,
        c.colleague: Level.FULL,
        c.admin: Level.FULL,
        c.reader: Level.READ,
    }
    for uid, access in who.items():
        assert access == c.svc.explain(uid, c.case)
    levels = [a.level for a in c.svc.who_has_access(c.agency, c.case)]
    assert levels == sorted(levels, reverse=True)


def test_s_acc_8_implicit_access_through_the_stored_index(cast: Cast) -> None:
    c = cast
    child = c.svc.create_case(
        c.agency, c.owner, "visit", "v", indices={"parent": (c.case, "child")}
    )
    other = c.svc.create_case(
        c.agency, c.owner, "visit", "w", indices={"parent": (c.case, "child")}
    )
    c.svc.share(c.agency, c.owner, other, f"user:{c.outsider}", "edit")
    child_access = c.svc.explain(c.reader, child)
    assert (child_access.level, child_access.causes) == (Level.READ, {Cause.IMPLICIT_CHILD})
    parent_access = c.svc.explain(c.outsider, c.case)
    assert (parent_access.level, parent_access.causes) == (Level.READ, {Cause.IMPLICIT_PARENT})
    assert c.svc.explain(c.outsider, child).level is Level.NONE  # S-ACC-8: never chains
    assert c.svc.visible_case_ids(c.outsider) == {c.case, other}


def test_s_own_1_owner_ids_through_the_service(cast: Cast) -> None:
    c = cast
    assert c.svc.owner_ids(c.colleague) == [c.group_principal, Principal("user", c.colleague)]
    assert c.svc.owner_ids(c.outsider) == [Principal("user", c.outsider)]


# -- the context cache ---------------------------------------------------------------------------------


def test_s_acc_4_every_change_is_seen_at_once_by_another_service_instance(cast: Cast) -> None:
    c = cast
    other = c.fresh()
    assert other.explain(c.reader, c.case).level is Level.READ
    c.svc.set_active(c.agency, None, c.reader, False)
    assert other.explain(c.reader, c.case).level is Level.NONE
    c.svc.set_active(c.agency, None, c.reader, True)
    assert other.explain(c.reader, c.case).level is Level.READ


def test_context_cache_never_serves_a_context_from_a_rolled_back_transaction(cast: Cast) -> None:
    c = cast
    with pytest.raises(Boom), c.store.transaction():
        ghost = c.svc.create_user(c.agency, None, "ghost")  # bumps the agency version …
        c.svc.share(c.agency, c.owner, c.case, f"user:{ghost}", "edit")  # … and caches it
        raise Boom
    # another worker commits a change; the agency version comes back to the same number
    c.fresh().add_member(c.agency, None, c.group, Principal("user", c.outsider))
    assert c.fresh().explain(c.outsider, c.case).level is Level.FULL
    assert c.svc.explain(c.outsider, c.case).level is Level.FULL
    assert c.outsider in c.svc.context(c.agency).directory.members_of(c.group_principal)


# -- listing (S-ACC-7, S-VIEW-1) -----------------------------------------------------------------------


def build_listing(c: Cast) -> Cast:
    """Two dozen cases of every kind of access, with ties in names for the keyset."""
    s = c.svc
    names = ["Alpha", "beta", "Alpha", "Ærø Ösel", "zed", "Beta", "alpha", "Mid"]
    for i in range(16):
        k = s.create_case(
            c.agency,
            c.owner if i % 2 else c.colleague,
            "patient" if i % 3 else "referral",
            names[i % len(names)],
            case_id=f"g{i:02d}",
            external_id=f"EXT-{i:03d}",
            properties={"district": f"north-{i % 4}", "note": "Zoë" if i == 5 else "plain"},
        )
        if i % 4 == 0:
            s.share(c.agency, c.owner, k, f"user:{c.reader}", "read")
        if i % 5 == 0:
            s.assign(c.agency, c.owner, k, c.outsider)
        if i % 6 == 1:
            s.update_case(c.agency, c.owner, k, closed=True)
    s.create_case(
        c.agency,
        c.colleague,
        "patient",
        "Colin's own",
        case_id="p-colin",
        owner=f"user:{c.colleague}",
    )
    s.create_case(
        c.agency, c.outsider, "patient", "Otto's own", case_id="p-otto", owner=f"user:{c.outsider}"
    )
    s.create_case(
        c.agency,
        c.owner,
        "visit",
        "child of g00",
        case_id="c-child",
        indices={"parent": ("g00", "child")},
    )
    s.create_case(c.agency, c.owner, "patient", "binned", case_id="d-binned")
    s.share(c.agency, c.owner, "d-binned", f"user:{c.reader}", "read")
    s.delete_case(c.agency, c.owner, "d-binned")
    rules_target = s.create_case(
        c.agency,
        c.admin,
        "patient",
        "ruled",
        case_id="r-ruled",
        owner=f"user:{c.admin}",
        properties={"priority": "high"},
    )
    s.add_rule(c.agency, None, "high", "criteria", f"user:{c.reader}", "read", criteria=_high())
    assert rules_target == "r-ruled"
    return c


@pytest.fixture
def listing(cast: Cast) -> Cast:
    """A listing world of its own, for tests that change it."""
    return build_listing(cast)


@pytest.fixture(scope="module")
def seen(module_store: Store) -> Cast:
    """One committed listing world per store for the read-only listing tests of this module."""
    return build_listing(build_cast(module_store))


def _high() -> Any:
    from caseshare.core.rules import Condition

    return Condition("property", "equals", "high", "priority")


def _all_cases(c: Cast) -> dict[str, dict[str, Any]]:
    rows = c.store.rows("SELECT pk FROM cases WHERE agency_id = ?", (c.agency,))
    records = [c.store.case_record(r[0]) for r in rows]
    return {r["case_id"]: r for r in records}


_MEMO: dict[tuple[int, int], set[str]] = {}


def _checked(c: Cast, uid: int, *, memo: bool = False) -> set[str]:
    """The cases the single check lets the user view (memo: only for the read-only world)."""
    key = (id(c), uid)
    if memo and key in _MEMO:
        return _MEMO[key]
    found = {k for k in _all_cases(c) if c.svc.check(uid, Action.VIEW, k).allowed}
    if memo:
        _MEMO[key] = found
    return found


def _paged(c: Cast, uid: int, flt: CaseFilter, limit: int = 3) -> list[str]:
    out: list[str] = []
    cursor = None
    for _ in range(200):
        page = c.svc.list_cases(uid, flt, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        out += [item["case_id"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return out
    raise AssertionError("paging did not end")


CAST = ["owner", "colleague", "reader", "outsider", "admin"]


@pytest.mark.parametrize("who", CAST)
def test_s_acc_7_listing_equals_check_for_every_user(seen: Cast, who: str) -> None:
    c = seen
    uid = getattr(c, who)
    expected = _checked(c, uid)
    assert c.svc.visible_case_ids(uid) == expected
    assert sorted(_paged(c, uid, CaseFilter(), limit=5)) == sorted(expected)
    assert c.svc.count_cases(uid) == len(expected)
    assert "d-binned" not in expected


def test_s_acc_7_what_each_user_of_the_cast_sees(seen: Cast) -> None:
    c = seen
    every = set(_all_cases(c)) - {"d-binned"}
    assert c.svc.visible_case_ids(c.admin) == every
    reader = c.svc.visible_case_ids(c.reader)
    assert reader == {"k1", "g00", "g04", "g08", "g12", "c-child", "r-ruled"}
    # assigned to g00, so its child c-child by implicit_child
    assert c.svc.visible_case_ids(c.outsider) == {"g00", "g05", "g10", "g15", "p-otto", "c-child"}
    assert c.svc.visible_case_ids(c.foreigner) == {"k1"}  # his own k1
    assert "p-colin" not in c.svc.visible_case_ids(c.owner)


def _predicate(c: Cast, uid: int, flt: CaseFilter) -> Callable[[dict[str, Any]], bool]:
    pk_grants = {k: c.store.grant_rows(r["pk"]) for k, r in _all_cases(c).items()}
    owner_ids = {str(p) for p in c.svc.owner_ids(uid)}
    mine = {str(p) for p in c.svc.context(c.agency).directory.principals_of(uid)}
    me = f"user:{uid}"

    def ok(rec: dict[str, Any]) -> bool:
        grants = pk_grants[rec["case_id"]]
        if flt.created_by_me and rec["opened_by"] != uid:
            return False
        if flt.assigned_to_me and not any(
            g.cause is Cause.ASSIGNED and str(g.grantee) == me for g in grants
        ):
            return False
        if flt.owned_by_me and rec["owner"] not in owner_ids:
            return False
        if flt.shared_with_me and not any(
            g.cause is Cause.MANUAL and str(g.grantee) in mine for g in grants
        ):
            return False
        if flt.status == "open" and rec["closed"]:
            return False
        if flt.status == "closed" and not rec["closed"]:
            return False
        if flt.case_type and rec["case_type"] != flt.case_type:
            return False
        if flt.owner and rec["owner"] != flt.owner:
            return False
        if flt.q:
            needle = flt.q.lower()
            hay = [rec["name"], rec["external_id"], *rec["properties"].values()]
            if not any(needle in h.lower() for h in hay):
                return False
        return True

    return ok


FILTERS = {
    "created_by_me": CaseFilter(created_by_me=True),
    "assigned_to_me": CaseFilter(assigned_to_me=True),
    "owned_by_me": CaseFilter(owned_by_me=True),
    "shared_with_me": CaseFilter(shared_with_me=True),
    "open": CaseFilter(status="open"),
    "closed": CaseFilter(status="closed"),
    "all": CaseFilter(status="all"),
    "case_type": CaseFilter(case_type="referral"),
    "owner_group": CaseFilter(owner="group"),
    "q_name": CaseFilter(q="ALPHA"),
    "q_external": CaseFilter(q="ext-01"),
    "q_property": CaseFilter(q="north-3"),
    "q_wildcards": CaseFilter(q="%_"),
    "combined": CaseFilter(status="open", case_type="patient", shared_with_me=True),
}


@pytest.mark.parametrize("name", [*FILTERS, "sort_name", "sort_opened_desc", "sort_id"])
@pytest.mark.parametrize("walk", [1, 250])
@pytest.mark.parametrize("sparse", [False, True])
def test_s_acc_7_both_list_plans_page_in_order_through_exactly_the_visible_cases(
    seen: Cast, name: str, walk: int, sparse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: a page walks ``WALK`` cases of the sort index testing each, else builds the
    candidate set; a window of twice the page makes most pages fall back, one of 250 holds
    the cast. The walk reaches parents per row, or (``sparse``) through the direct set."""
    from caseshare.store import caselist

    monkeypatch.setattr(caselist, "SPARSE", sparse)
    monkeypatch.setattr(caselist, "WALK", walk)
    monkeypatch.setattr(caselist, "_WALK_MISSES", set())
    monkeypatch.setattr(caselist, "CHOOSE", False)  # walk first for every user
    c = seen
    cases = _all_cases(c)
    flt = {
        "sort_name": CaseFilter(sort="name"),
        "sort_opened_desc": CaseFilter(sort="opened_on", descending=True),
        "sort_id": CaseFilter(sort="case_id", status="open"),
    }.get(name) or FILTERS[name]
    if flt.owner == "group":
        flt = CaseFilter(owner=str(c.group_principal))
    key = {"name": "name", "opened_on": "opened_on", "case_id": "case_id"}.get(flt.sort)
    for who in CAST:
        uid = getattr(c, who)
        ok = _predicate(c, uid, flt)
        expected = {k for k in _checked(c, uid, memo=True) if ok(cases[k])}
        for limit in (1, 4):
            got = _paged(c, uid, flt, limit=limit)
            assert sorted(got) == sorted(expected) and len(got) == len(expected), (who, limit)
            if key is not None:
                values = [c.svc.list_cases(uid, flt, limit=500).items]
                order = [i["case_id"] for i in values[0]]
                assert got == order, (who, limit)


@pytest.mark.parametrize("name", list(FILTERS))
def test_s_view_1_each_filter_narrows_the_visible_set(seen: Cast, name: str) -> None:
    c = seen
    cases = _all_cases(c)
    for who in CAST:
        uid = getattr(c, who)
        flt = FILTERS[name]
        if flt.owner == "group":
            flt = CaseFilter(owner=str(c.group_principal))
        ok = _predicate(c, uid, flt)
        expected = {k for k in _checked(c, uid, memo=True) if ok(cases[k])}
        assert c.svc.visible_case_ids(uid, flt) == expected, who
        assert c.svc.visible_case_ids(uid, flt, rowwise=True) == expected, who
        assert c.svc.count_cases(uid, flt) == len(expected), who
        assert sorted(_paged(c, uid, flt, limit=4)) == sorted(expected), who


def test_s_view_1_filters_find_what_they_name(seen: Cast) -> None:
    c = seen
    ids = c.svc.visible_case_ids
    assert ids(c.outsider, CaseFilter(assigned_to_me=True)) == {"g00", "g05", "g10", "g15"}
    assert ids(c.reader, CaseFilter(shared_with_me=True)) == {"k1", "g00", "g04", "g08", "g12"}
    assert ids(c.admin, CaseFilter(q="ext-015")) == {"g15"}
    assert ids(c.admin, CaseFilter(q="alpha")) >= {"g00", "g02", "g06"}
    assert ids(c.admin, CaseFilter(case_type="visit")) == {"c-child"}
    assert "p-colin" in ids(c.colleague, CaseFilter(owned_by_me=True, created_by_me=True))


def test_s_view_1_text_search_finds_non_ascii_names_in_any_case(seen: Cast) -> None:
    c = seen
    assert c.svc.visible_case_ids(c.admin, CaseFilter(q="Ærø")) == {"g03", "g11"}
    assert c.svc.visible_case_ids(c.admin, CaseFilter(q="ærø ösel")) == {"g03", "g11"}


def test_s_view_1_text_search_finds_non_ascii_property_values(seen: Cast) -> None:
    c = seen
    assert c.svc.visible_case_ids(c.admin, CaseFilter(q="Zoë")) == {"g05"}


def test_s_view_1_invalid_status_sort_and_cursor_are_validation_errors(seen: Cast) -> None:
    c = seen
    assert code_of(c.svc.list_cases, c.owner, CaseFilter(status="pending")) == "validation_error"
    assert code_of(c.svc.list_cases, c.owner, CaseFilter(sort="colour")) == "validation_error"
    assert code_of(c.svc.list_cases, c.owner, None, cursor="not-a-cursor!") == "validation_error"


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORTS))
def test_s_view_1_keyset_pages_return_every_case_once_in_the_listing_order(
    seen: Cast, sort: str, descending: bool
) -> None:
    c = seen
    flt = CaseFilter(sort=sort, descending=descending)
    for uid in (c.admin, c.owner):
        whole = [i["case_id"] for i in c.svc.list_cases(uid, flt, limit=500).items]
        assert len(whole) == len(set(whole)) == c.svc.count_cases(uid)
        for limit in (1, 2, 7):
            assert _paged(c, uid, flt, limit=limit) == whole


def test_s_view_1_keyset_paging_is_stable_when_cases_are_inserted_between_pages(
    listing: Cast,
) -> None:
    c = listing
    n = 0
    for sort in SORTS:
        for descending in (False, True):
            flt = CaseFilter(sort=sort, descending=descending)
            before = c.svc.visible_case_ids(c.owner)
            seen: list[str] = []
            page = c.svc.list_cases(c.owner, flt, limit=4)
            seen += [i["case_id"] for i in page.items]
            for name in ["AAA first", "mmm middle", "zzz last", "Alpha"]:
                c.svc.create_case(c.agency, c.owner, "patient", name, case_id=f"new{n:03d}")
                n += 1
            cursor = page.next_cursor
            while cursor:
                page = c.svc.list_cases(c.owner, flt, limit=4, cursor=cursor)
                seen += [i["case_id"] for i in page.items]
                cursor = page.next_cursor
            where = f"sort {sort} {'desc' if descending else 'asc'}"
            assert len(seen) == len(set(seen)), f"{where}: a case came twice"
            assert before <= set(seen), f"{where}: missing {before - set(seen)}"
            assert set(seen) <= c.svc.visible_case_ids(c.owner), where


def test_s_view_1_page_items_carry_the_case_summary(seen: Cast) -> None:
    c = seen
    page = c.svc.list_cases(c.reader, CaseFilter(sort="case_id"), limit=2)
    assert page.limit == 2 and page.next_cursor
    item = page.items[0]
    assert set(item) >= {
        "case_id",
        "case_type",
        "name",
        "owner",
        "closed",
        "opened_on",
        "server_modified_on",
        "external_id",
    }
    assert c.svc.list_cases(c.reader, limit=0).limit == 1
    assert c.svc.list_cases(c.reader, limit=10_000).limit == 500


def test_s_acc_7_listing_of_an_inactive_user_is_empty(listing: Cast) -> None:
    c = listing
    c.svc.set_active(c.agency, None, c.admin, False)
    assert c.svc.visible_case_ids(c.admin) == set()
    assert c.svc.count_cases(c.admin) == 0
    assert c.svc.list_cases(c.admin).items == []


def test_s_view_1_text_search_does_not_match_the_json_encoding_of_properties(seen: Cast) -> None:
    # "text search on name/external id/properties": the property *values*, not the JSON text
    c = seen
    assert c.svc.visible_case_ids(c.admin, CaseFilter(q='":"')) == set()
    assert c.svc.visible_case_ids(c.admin, CaseFilter(q="{")) == set()
