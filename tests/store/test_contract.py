"""The store contract (STYLE §4): the same conformance suite on SQLite and on PostgreSQL.

Migrations run on a fresh database of each kind (``store_url``). The other tests share one store
per module and kind (on PostgreSQL the session database) and keep apart by agency: each creates
its own agency with a unique slug, so a fresh database per test (about a second each on a busy
server) is not needed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caseshare.core.levels import Cause, Level
from caseshare.core.model import User
from caseshare.core.principals import Principal
from caseshare.core.rules import AllOf, AnyOf, Condition, Rule
from caseshare.core.settings import Settings
from caseshare.store import Store, open_store
from caseshare.store.schema import MIGRATIONS


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


MISSING = 10**9  # an id no row has


def unique(slug: str) -> str:
    return f"{slug}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def agency(store: Store) -> int:
    with store.transaction():
        return store.create_agency(unique("north"), "North", Settings())


def _case(store: Store, agency: int, case_id: str, owner: str = "user:1", **kw: Any) -> int:
    with store.transaction():
        return store.insert_case(
            agency,
            case_id,
            kw.pop("case_type", "patient"),
            kw.pop("name", case_id),
            Principal.parse(owner),
            opened_by=kw.pop("opened_by", None),
            **kw,
        )


def _index(store: Store, child: int, ident: str, parent: int, rel: str = "child") -> None:
    with store.transaction():
        store.set_index(child, ident, parent, "patient", rel)


# -- migrations and transactions --------------------------------------------------------------------


def test_store_migrate_is_idempotent_and_reports_the_schema_version(store_url: str) -> None:
    fresh = Store(store_url)
    try:
        first = fresh.migrate()
        assert first == [v for v, _, _ in MIGRATIONS]
        assert fresh.migrate() == []
        assert fresh.schema_version() == max(v for v, _, _ in MIGRATIONS)
    finally:
        fresh.close()
    again = open_store(store_url)
    try:
        assert again.migrate() == []
        assert again.schema_version() == max(v for v, _, _ in MIGRATIONS)
    finally:
        again.close()


def test_store_transaction_commits_for_other_connections(store: Store) -> None:
    slug = unique("north")
    with store.transaction():
        assert store.in_transaction
        store.create_agency(slug, "North", Settings())
    assert not store.in_transaction
    other = open_store(store.url)
    try:
        assert other.agency_by_slug(slug) is not None
    finally:
        other.close()


def test_store_exception_in_transaction_rolls_back_everything_inside(store: Store) -> None:
    slug = unique("north")
    with pytest.raises(Boom), store.transaction():
        agency = store.create_agency(slug, "North", Settings())
        store.create_user(agency, "olga")
        store.insert_case(agency, "k1", "patient", "K", Principal("user", 1), opened_by=None)
        raise Boom
    assert not store.in_transaction
    assert store.agency_by_slug(slug) is None
    assert store.rows("SELECT id FROM users WHERE agency_id = ?", (agency,)) == []
    assert store.rows("SELECT pk FROM cases WHERE agency_id = ?", (agency,)) == []
    with store.transaction():  # the connection is usable afterwards
        store.create_agency(slug, "North", Settings())
    assert store.agency_by_slug(slug) is not None


def test_store_nested_savepoint_rolls_back_only_its_part(store: Store, agency: int) -> None:
    with store.transaction():
        store.create_user(agency, "kept")
        with pytest.raises(Boom), store.transaction():
            store.create_user(agency, "dropped")
            with store.transaction():
                store.create_user(agency, "dropped-too")
            raise Boom
        with store.transaction():
            store.create_user(agency, "kept-too")
    names = {r[0] for r in store.rows("SELECT username FROM users WHERE agency_id = ?", (agency,))}
    assert names == {"kept", "kept-too"}


def test_store_outer_rollback_discards_released_savepoints(store: Store, agency: int) -> None:
    with pytest.raises(Boom), store.transaction():
        with store.transaction():
            store.create_user(agency, "inner")
        raise Boom
    assert store.rows("SELECT username FROM users WHERE agency_id = ?", (agency,)) == []


# -- structure round trip ---------------------------------------------------------------------------


def test_store_agencies_round_trip(store: Store) -> None:
    settings = Settings.from_dict(
        {"case_sharing": True, "default_access": {"*": "read", "note": "private"}}
    )
    north, south = unique("north"), unique("south")
    with store.transaction():
        a = store.create_agency(north, "North Agency", settings)
        b = store.create_agency(south, "South", Settings())
    assert store.agency(a) == (a, north, "North Agency", settings)
    assert store.agency_by_slug(south) == b
    assert store.agency_by_slug(unique("east")) is None
    mine = [row for row in store.agencies() if row[0] in (a, b)]
    assert mine == [(a, north, "North Agency"), (b, south, "South")]  # in id order
    changed = settings.updated({"edit_policy": "owners"})
    with store.transaction():
        store.set_settings(a, changed)
    assert store.load_context(a).settings == changed


def test_store_unknown_agency_is_not_found(store: Store) -> None:
    from caseshare.core.errors import CaseShareError

    for call in (lambda: store.agency(MISSING), lambda: store.agency_version(MISSING)):
        with pytest.raises(CaseShareError) as info:
            call()
        assert info.value.code == "not_found"


def test_store_structure_round_trips_through_load_context(store: Store, agency: int) -> None:
    with store.transaction():
        chief = store.create_role(agency, "chief", None)
        officer = store.create_role(agency, "officer", None)
        store.set_role_parent(agency, officer, chief)
        olga = store.create_user(
            agency,
            "olga",
            email="olga@north.example",
            full_name="Olga Ölund",
            role_id=officer,
            permissions=frozenset({"transfer", "view_all"}),
        )
        ed = store.create_user(agency, "ed", active=False)
        g1 = store.create_group(agency, "Team One", True, "group")
        g2 = store.create_group(agency, "Unit", False, "unit")
        store.add_member(agency, g1, Principal("user", olga))
        store.add_member(agency, g1, Principal("group", g2))
        store.add_member(agency, g2, Principal("user", ed))
        district = store.create_location_type(agency, "district", True, True)
        clinic = store.create_location_type(agency, "clinic", False, False)
        d1 = store.create_location(agency, "D1", district, None, False)
        c1 = store.create_location(agency, "C1", clinic, d1, True)
        store.set_user_locations(olga, agency, [d1, c1])
        observer = store.create_team_role(agency, "observer", Level.READ)
    ctx = store.load_context(agency)
    d = ctx.directory
    assert d.users[olga] == User(
        olga,
        agency,
        "olga",
        "olga@north.example",
        "Olga Ölund",
        True,
        officer,
        frozenset({"transfer", "view_all"}),
    )
    assert not d.users[ed].active
    assert d.roles[officer].parent_id == chief and d.roles[chief].parent_id is None
    assert (d.groups[g1].name, d.groups[g1].case_sharing, d.groups[g1].kind) == (
        "Team One",
        True,
        "group",
    )
    assert (d.groups[g2].case_sharing, d.groups[g2].kind) == (False, "unit")
    assert d.nested_members(g1) == {
        Principal("user", olga),
        Principal("group", g2),
        Principal("user", ed),
    }
    assert d.location_types[district].shares_cases and d.location_types[district].view_descendants
    assert not d.location_types[clinic].shares_cases
    assert d.locations[c1].parent_id == d1 and d.locations[c1].archived
    assert {p for p in d.principals_of(olga) if p.kind == "location"} == {
        Principal("location", d1),
        Principal("location", c1),
    }
    assert ctx.team_roles[observer].level is Level.READ
    assert ctx.team_roles[observer].name == "observer"
    assert ctx.version == store.agency_version(agency)


def test_store_update_user_and_user_lookups(store: Store, agency: int) -> None:
    with store.transaction():
        uid = store.create_user(agency, "olga")
    user = store.user(uid)
    assert store.user_by_name(agency, "olga") == user
    assert store.user_by_name(agency, "nobody") is None
    changed = User(uid, agency, "olga", "o@x", "Olga", False, None, frozenset({"admin"}))
    with store.transaction():
        store.update_user(changed)
    assert store.user(uid) == changed
    with store.transaction():
        assert store.remove_member(agency, MISSING, Principal("user", uid)) is False


def test_store_add_member_twice_adds_once(store: Store, agency: int) -> None:
    with store.transaction():
        uid = store.create_user(agency, "olga")
        gid = store.create_group(agency, "g", True, "group")
        assert store.add_member(agency, gid, Principal("user", uid)) is True
        assert store.add_member(agency, gid, Principal("user", uid)) is False
        assert store.remove_member(agency, gid, Principal("user", uid)) is True
    assert store.load_context(agency).directory.nested_members(gid) == set()


def test_store_team_roles_change_level_replace_and_delete(store: Store, agency: int) -> None:
    with store.transaction():
        a = store.create_team_role(agency, "a", Level.READ)
        b = store.create_team_role(agency, "b", Level.EDIT)
        store.set_team_role_level(agency, a, Level.NONE)
    assert store.load_context(agency).team_roles[a].level is Level.NONE
    pk = _case(store, agency, "k1")
    with store.transaction():
        store.put_grant(agency, pk, Cause.TEAM, Principal("user", 5), Level.NONE, "system", a)
    assert store.team_role_in_use(a) == 1
    with store.transaction():
        assert store.replace_team_role(a, b) == 1
        store.delete_team_role(agency, a)
    assert store.team_role_in_use(a) == 0
    assert store.team_role_in_use(b) == 1
    assert set(store.load_context(agency).team_roles) == {b}


def test_store_rules_round_trip_with_nested_criteria(store: Store, agency: int) -> None:
    criteria = AnyOf(
        (
            Condition("case_type", "in", ("patient", "referral")),
            AllOf(
                (
                    Condition("property", "starts_with", "north-", "district"),
                    Condition("property", "exists", None, "flagged"),
                    Condition("name", "not_equals", "Ünïcode ✓"),
                )
            ),
        )
    )
    owner_rule = Rule(
        0,
        agency,
        "owners",
        "owner",
        Principal("role_tree", 3),
        Level.READ,
        True,
        Principal("group", 7),
    )
    crit_rule = Rule(
        0, agency, "critical", "criteria", Principal("group", 2), Level.EDIT, False, None, criteria
    )
    with store.transaction():
        r1 = store.create_rule(owner_rule)
        r2 = store.create_rule(crit_rule)
    loaded = store.rules(agency)
    assert [r.id for r in loaded] == [r1, r2]
    assert loaded[0] == Rule(
        r1,
        agency,
        "owners",
        "owner",
        Principal("role_tree", 3),
        Level.READ,
        True,
        Principal("group", 7),
        None,
    )
    assert loaded[1].criteria == criteria
    assert loaded[1].active is False
    assert store.load_context(agency).rules == tuple(loaded)
    with store.transaction():
        store.set_rule_active(agency, r2, True)
        store.delete_rule(agency, r1)
    (only,) = store.rules(agency)
    assert only.id == r2 and only.active


# -- the agency version ----------------------------------------------------------------------------


def test_store_agency_version_changes_on_each_structural_change(store: Store, agency: int) -> None:
    steps: list[tuple[str, Any]] = []
    ids: dict[str, int] = {}

    def step(name: str, fn: Any) -> None:
        steps.append((name, fn))

    step("create_user", lambda: ids.setdefault("u", store.create_user(agency, "olga")))
    step("update_user", lambda: store.update_user(store.user(ids["u"])))
    step(
        "create_group", lambda: ids.setdefault("g", store.create_group(agency, "g", True, "group"))
    )
    step("add_member", lambda: store.add_member(agency, ids["g"], Principal("user", ids["u"])))
    step(
        "remove_member", lambda: store.remove_member(agency, ids["g"], Principal("user", ids["u"]))
    )
    step(
        "create_location_type",
        lambda: ids.setdefault("t", store.create_location_type(agency, "t", True, False)),
    )
    step(
        "create_location",
        lambda: ids.setdefault("l", store.create_location(agency, "l", ids["t"], None, False)),
    )
    step("set_location_archived", lambda: store.set_location_archived(agency, ids["l"], True))
    step("set_user_locations", lambda: store.set_user_locations(ids["u"], agency, [ids["l"]]))
    step("create_role", lambda: ids.setdefault("r", store.create_role(agency, "r", None)))
    step("set_role_parent", lambda: store.set_role_parent(agency, ids["r"], None))
    step(
        "create_team_role",
        lambda: ids.setdefault("tr", store.create_team_role(agency, "o", Level.READ)),
    )
    step("set_team_role_level", lambda: store.set_team_role_level(agency, ids["tr"], Level.EDIT))
    step("delete_team_role", lambda: store.delete_team_role(agency, ids["tr"]))
    rule = Rule(
        0, agency, "r", "owner", Principal("agency", agency), Level.READ, True, Principal("user", 1)
    )
    step("create_rule", lambda: ids.setdefault("rule", store.create_rule(rule)))
    step("set_rule_active", lambda: store.set_rule_active(agency, ids["rule"], False))
    step("delete_rule", lambda: store.delete_rule(agency, ids["rule"]))
    step("set_settings", lambda: store.set_settings(agency, Settings(case_sharing=True)))
    for name, fn in steps:
        before = store.agency_version(agency)
        with store.transaction():
            fn()
        # versions are random, never reused (a rolled-back one must not come back): they change
        assert store.agency_version(agency) != before, name


def test_store_agency_version_rolls_back_with_the_change(store: Store, agency: int) -> None:
    before = store.agency_version(agency)
    with pytest.raises(Boom), store.transaction():
        store.create_user(agency, "olga")
        raise Boom
    assert store.agency_version(agency) == before


# -- cases --------------------------------------------------------------------------------------------


def test_store_case_insert_and_read_back(store: Store, agency: int) -> None:
    props = {"név": "Zoë ✓", "quote": 'say "hi"', "emoji": "🙂", "empty": ""}
    pk = _case(
        store,
        agency,
        "K-1",
        "group:7",
        name="Ærø",
        properties=props,
        external_id="EXT-1",
        opened_by=3,
    )
    assert store.case_pk(agency, "K-1") == pk
    assert store.case_pk(agency, "missing") is None
    row = store.case_row(agency, "K-1")
    assert row is not None
    assert (row.pk, row.case_id, row.case_type, row.name, row.owner) == (
        pk,
        "K-1",
        "patient",
        "Ærø",
        Principal("group", 7),
    )
    assert dict(row.properties) == props
    assert row.external_id == "EXT-1"
    assert (row.closed, row.deleted) == (False, False)
    rec = store.case_record(pk)
    assert rec["opened_by"] == 3 and rec["modified_by"] == 3
    assert rec["properties"] == props
    assert rec["opened_on"] == rec["modified_on"]
    assert store.case_row(MISSING, "K-1") is None


def test_store_case_update_owner_close_and_touch(store: Store, agency: int) -> None:
    pk = _case(store, agency, "k1", properties={"a": "1"})
    before = store.case_record(pk)
    with store.transaction():
        store.update_case(
            pk, name="New", case_type="referral", external_id="X", properties={"b": "2"}
        )
        store.set_owner(pk, Principal("location", 4))
        store.set_closed(pk, True, 9)
        store.touch(pk, 9)
    rec = store.case_record(pk)
    assert (rec["name"], rec["case_type"], rec["external_id"]) == ("New", "referral", "X")
    assert rec["properties"] == {"b": "2"}
    assert rec["owner"] == "location:4"
    assert rec["closed"] and rec["closed_by"] == 9 and rec["closed_on"]
    assert rec["modified_by"] == 9
    assert rec["server_modified_on"] >= before["server_modified_on"]
    with store.transaction():
        store.update_case(pk)  # nothing to change is fine
        store.set_closed(pk, False, 9)
    rec = store.case_record(pk)
    assert not rec["closed"] and rec["closed_by"] is None and rec["closed_on"] is None


def test_store_owner_user_column_follows_the_owner(store: Store, agency: int) -> None:
    pk = _case(store, agency, "k1", "user:5")
    assert store.value("SELECT owner_user_id FROM cases WHERE pk = ?", (pk,)) == 5
    with store.transaction():
        store.set_owner(pk, Principal("group", 5))
    assert store.value("SELECT owner_user_id FROM cases WHERE pk = ?", (pk,)) is None


def test_store_set_deleted_moves_case_and_grants_to_the_bin_and_back(
    store: Store, agency: int
) -> None:
    pk = _case(store, agency, "k1")
    with store.transaction():
        store.put_grant(agency, pk, Cause.MANUAL, Principal("user", 2), Level.READ, "system")
        store.set_deleted(pk, True)
    assert store.case_record(pk)["deleted"]
    assert store.grant_rows(pk) == []
    (binned,) = store.grant_rows(pk, include_deleted=True)
    assert binned.is_deleted
    with store.transaction():
        store.set_deleted(pk, False)
    (back,) = store.grant_rows(pk)
    assert not back.is_deleted and back.id == binned.id


def test_store_purge_removes_case_grants_and_indices(store: Store, agency: int) -> None:
    parent = _case(store, agency, "p")
    child = _case(store, agency, "c")
    _index(store, child, "parent", parent)
    with store.transaction():
        store.put_grant(agency, parent, Cause.MANUAL, Principal("user", 2), Level.READ, "system")
        store.purge_case(parent)
    assert store.case_pk(agency, "p") is None
    assert store.grant_rows(parent, include_deleted=True) == []
    assert store.indices(child) == []
    assert store.case_pk(agency, "c") == child


def test_store_case_id_is_unique_per_agency_only(store: Store, agency: int) -> None:
    with store.transaction():
        other = store.create_agency(unique("south"), "South", Settings())
    _case(store, agency, "same")
    _case(store, other, "same")
    with pytest.raises(Exception), store.transaction():  # noqa: B017 (reason: driver error types differ)
        store.insert_case(agency, "same", "t", "", Principal("user", 1), opened_by=None)
    assert store.case_pk(agency, "same") != store.case_pk(other, "same")


# -- stored grants ---------------------------------------------------------------------------------


def test_store_put_grant_is_an_upsert_per_case_cause_and_grantee(store: Store, agency: int) -> None:
    pk = _case(store, agency, "k1")
    bob = Principal("user", 2)
    with store.transaction():
        first, before = store.put_grant(agency, pk, Cause.MANUAL, bob, Level.READ, "user:1")
    assert before is None
    assert (first.cause, first.grantee, first.level) == (Cause.MANUAL, bob, Level.READ)
    assert first.created_by == first.modified_by == "user:1"
    with store.transaction():
        second, before = store.put_grant(agency, pk, Cause.MANUAL, bob, Level.EDIT, "user:3")
    assert before == first
    assert second.id == first.id
    assert second.level is Level.EDIT
    assert second.created_by == "user:1" and second.modified_by == "user:3"
    assert second.created_at == first.created_at
    with store.transaction():
        assigned, _ = store.put_grant(agency, pk, Cause.ASSIGNED, bob, Level.FULL, "user:1")
    assert assigned.id != first.id
    rows = store.grant_rows(pk)
    assert [(r.cause, r.grantee) for r in rows] == [(Cause.MANUAL, bob), (Cause.ASSIGNED, bob)]
    assert store.grant_rows(pk, cause=Cause.ASSIGNED) == [assigned]
    assert store.find_grant(pk, Cause.MANUAL, bob) == second
    assert store.find_grant(pk, Cause.TEAM, bob) is None
    assert store.grant_row(first.id) == second
    assert store.grant_row(MISSING) is None
    count = store.value("SELECT count(*) FROM grants WHERE case_pk = ?", (pk,))
    assert count == 2
    with store.transaction():
        store.delete_grant(first.id)
    assert store.grant_rows(pk) == [assigned]


def test_store_grants_for_many_cases(store: Store, agency: int) -> None:
    pks = [_case(store, agency, f"k{i}") for i in range(70)]  # past the 64-parameter inline list
    with store.transaction():
        for i, pk in enumerate(pks):
            if i % 2 == 0:
                store.put_grant(
                    agency, pk, Cause.MANUAL, Principal("user", i + 1), Level.READ, "system"
                )
    found = store.grants_for(pks)
    assert set(found) == set(pks)
    for i, pk in enumerate(pks):
        grants = found[pk]
        if i % 2 == 0:
            ((g),) = grants
            assert (g.case_pk, g.grantee, g.level) == (pk, Principal("user", i + 1), Level.READ)
        else:
            assert grants == ()
    assert store.grants_for([]) == {}


def test_store_facts_parents_only_through_child_relationship(store: Store, agency: int) -> None:
    host = _case(store, agency, "host")
    parent = _case(store, agency, "parent")
    case = _case(store, agency, "case")
    kid = _case(store, agency, "kid")
    ext = _case(store, agency, "ext")
    gone = _case(store, agency, "gone")
    _index(store, case, "parent", parent, "child")
    _index(store, case, "host", host, "extension")
    _index(store, kid, "parent", case, "child")
    _index(store, ext, "host", case, "extension")
    _index(store, gone, "parent", case, "child")
    with store.transaction():
        store.put_grant(agency, parent, Cause.MANUAL, Principal("user", 2), Level.EDIT, "system")
        store.put_grant(agency, kid, Cause.ASSIGNED, Principal("user", 3), Level.FULL, "system")
        store.put_grant(agency, case, Cause.MANUAL, Principal("user", 4), Level.READ, "system")
        store.set_deleted(gone, True)
    row = store.case_row(agency, "case")
    assert row is not None
    facts = store.facts(row)
    assert [p.case_id for p in facts.parents] == ["parent"]
    assert [c.case_id for c in facts.children] == ["kid", "ext"]
    assert [g.grantee for g in facts.grants] == [Principal("user", 4)]
    assert [g.grantee for g in facts.parents[0].grants] == [Principal("user", 2)]
    assert [g.grantee for g in facts.children[0].grants] == [Principal("user", 3)]
    assert facts.parents[0].parents == () and facts.children[0].children == ()
    assert store.indices(case) == [
        ("host", "host", "patient", "extension"),
        ("parent", "parent", "patient", "child"),
    ]


def test_store_facts_child_filter_and_limit(store: Store, agency: int) -> None:
    case = _case(store, agency, "case")
    kids = [_case(store, agency, f"kid{i}", "user:9" if i % 2 else "user:8") for i in range(6)]
    for kid in kids:
        _index(store, kid, "parent", case)
    row = store.case_row(agency, "case")
    assert row is not None
    assert len(store.facts(row).children) == 6
    only9 = store.facts(row, child_filter=("c.owner = ?", ["user:9"]))
    assert [c.case_id for c in only9.children] == ["kid1", "kid3", "kid5"]
    limited = store.facts(row, child_filter=("c.owner = ?", ["user:9"]), child_limit=2)
    assert [c.case_id for c in limited.children] == ["kid1", "kid3"]


def test_store_set_index_replaces_the_same_identifier(store: Store, agency: int) -> None:
    a, b, c = (_case(store, agency, n) for n in ("a", "b", "c"))
    _index(store, c, "parent", a)
    _index(store, c, "parent", b)
    assert store.indices(c) == [("parent", "b", "patient", "child")]
    with store.transaction():
        store.remove_index(c, "parent")
    assert store.indices(c) == []


# -- audit ----------------------------------------------------------------------------------------------


def test_store_audit_events_append_and_read_back_in_order(store: Store, agency: int) -> None:
    pk = _case(store, agency, "k1")
    with store.transaction():
        first = store.record(
            agency,
            "user:1",
            "share.create",
            "case:k1",
            case_pk=pk,
            after={"grantee": "user:2", "level": "read", "note": "Zoë ✓"},
        )
        second = store.record(
            agency,
            "user:1",
            "share.update",
            "case:k1",
            case_pk=pk,
            before={"level": "read"},
            after={"level": "edit"},
            reason="needs to edit",
        )
        third = store.record(agency, "system", "agency.settings", f"agency:{agency}")
    assert first < second < third
    events = store.audit_events(agency)
    assert [e.id for e in events] == [first, second, third]
    e1, e2, e3 = events
    assert (e1.actor, e1.action, e1.subject, e1.case_pk) == (
        "user:1",
        "share.create",
        "case:k1",
        pk,
    )
    assert e1.before is None
    assert e1.after == {"grantee": "user:2", "level": "read", "note": "Zoë ✓"}
    assert (e2.before, e2.after, e2.reason) == (
        {"level": "read"},
        {"level": "edit"},
        "needs to edit",
    )
    assert e3.case_pk is None and e3.agency_id == agency
    assert e1.at <= e2.at <= e3.at
    assert [e.id for e in store.audit_events(agency, case_pk=pk)] == [first, second]
    assert [e.id for e in store.audit_events(agency, limit=1)] == [first]
    assert store.audit_events(MISSING) == []


def test_store_audit_event_rolls_back_with_its_change(store: Store, agency: int) -> None:
    with pytest.raises(Boom), store.transaction():
        store.record(agency, "user:1", "share.create", "case:k1")
        raise Boom
    assert store.audit_events(agency) == []


# -- submissions: statements per form ---------------------------------------------------------------


def test_store_new_submission_takes_its_id_as_position_in_one_statement(
    store: Store, agency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-TX-1/S-TX-5: a new form's position is its id (received order), an edit keeps the old
    position; on PostgreSQL the new form is written in one round trip, not an INSERT and an
    UPDATE (issue 12 item 4)."""
    statements: list[str] = []
    run = store._run

    def counted(sql: str, params: Any, *, control: bool = False) -> Any:
        statements.append(sql)
        return run(sql, params, control=control)

    with store.transaction():
        monkeypatch.setattr(store, "_run", counted)
        first = store.insert_submission(agency, "f1", None, "<data/>", "h1", "normal")
        monkeypatch.undo()
        if store.is_postgres:
            assert len(statements) == 1, statements
        store.set_submission_status(first, "deprecated")
        again = store.insert_submission(
            agency, "f1", None, "<data/>", "h2", "normal", position=first
        )
        later = store.insert_submission(agency, "f2", None, "<data/>", "h3", "normal")
    found = {r.id: r.position for r in store.submissions(agency)}
    assert found == {first: first, again: first, later: later}
    assert later > first


@pytest.mark.parametrize("child_filter", [("1 = 1", []), ("c.owner = ?", ["user:7"])])
def test_store_facts_many_agrees_with_facts_by_id_in_one_round_trip(
    store: Store, agency: int, child_filter: tuple[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-TX-7: a form's cases are decided on the same facts (parents, children up to the limit,
    grants of each) as one case is; on PostgreSQL they are read in one pipeline, not four
    statements one after the other (issue 12 item 4)."""
    parent = _case(store, agency, "fm-p")
    a = _case(store, agency, "fm-a")
    b = _case(store, agency, "fm-b", owner="user:7")
    kids = [
        _case(store, agency, f"fm-k{n}", owner="user:7" if n % 2 else "user:1") for n in range(4)
    ]
    gone = _case(store, agency, "fm-gone", owner="user:7")
    for child in (a, b):
        _index(store, child, "parent", parent)
    for kid in [*kids, gone]:
        _index(store, kid, "parent", a)
    _index(store, kids[0], "host", b, rel="extension")
    with store.transaction():
        store.set_deleted(gone, True)  # a deleted child is no child
        for pk, who in ((parent, 2), (a, 3), (kids[1], 4), (kids[3], 5)):
            store.put_grant(agency, pk, Cause.MANUAL, Principal("user", who), Level.READ, "system")
    ids = ["fm-a", "fm-b", "fm-p", "fm-k1", "fm-gone", "fm-nowhere"]
    statements: list[str] = []
    run = store._run

    def counted(sql: str, params: Any, *, control: bool = False) -> Any:
        statements.append(sql)
        return run(sql, params, control=control)

    monkeypatch.setattr(store, "_run", counted)
    many = store.facts_many(agency, ids, child_filter=child_filter, child_limit=1)
    monkeypatch.undo()
    if store.is_postgres:
        assert statements == []  # all four in rows_together's pipeline
    one = {
        cid: store.facts_by_id(agency, cid, child_filter=child_filter, child_limit=1) for cid in ids
    }
    assert many == {cid: facts for cid, facts in one.items() if facts is not None}
    assert set(many) == {"fm-a", "fm-b", "fm-p", "fm-k1", "fm-gone"}
    assert len(many["fm-a"].children) == 1 and many["fm-p"].grants


def test_store_case_states_with_their_indices_in_one_round_trip(
    store: Store, agency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-TX-1: a form's cases are read with their index rows before its blocks are applied; on
    PostgreSQL both queries go in one pipeline (issue 12 item 4)."""
    host = _case(store, agency, "cs-host")
    kid = _case(store, agency, "cs-kid", properties={"colour": "red"})
    _index(store, kid, "parent", host)
    _index(store, kid, "host", host, rel="extension")
    statements: list[str] = []
    run = store._run

    def counted(sql: str, params: Any, *, control: bool = False) -> Any:
        statements.append(sql)
        return run(sql, params, control=control)

    monkeypatch.setattr(store, "_run", counted)
    found = store.case_states(agency, ["cs-kid", "cs-host", "cs-none"])
    monkeypatch.undo()
    if store.is_postgres:
        assert statements == []
    assert set(found) == {"cs-kid", "cs-host"}
    pk, columns, indices = found["cs-kid"]
    assert pk == kid and columns["properties"] == {"colour": "red"}
    assert indices == [
        ("host", "cs-host", "patient", "extension"),
        ("parent", "cs-host", "patient", "child"),
    ]
    assert found["cs-host"] == (host, found["cs-host"][1], [])


def test_store_a_forms_first_reads_go_together(
    store: Store, agency: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-TX-5: a form first finds the current version of its instanceID and its cases' states;
    on PostgreSQL both in one round trip (issue 12 item 4)."""
    kid = _case(store, agency, "fr-kid")
    host = _case(store, agency, "fr-host")
    _index(store, kid, "parent", host)
    with store.transaction():
        sub = store.insert_submission(agency, "fr-form", None, "<data/>", "h1", "normal")
    statements: list[str] = []
    run = store._run

    def counted(sql: str, params: Any, *, control: bool = False) -> Any:
        statements.append(sql)
        return run(sql, params, control=control)

    monkeypatch.setattr(store, "_run", counted)
    current, states, history = store.current_submission_and_states(
        agency, "fr-form", ["fr-kid", "fr-x"]
    )
    none, nothing, no_history = store.current_submission_and_states(agency, "fr-other", [])
    monkeypatch.undo()
    if store.is_postgres:
        assert len(statements) == 1  # the second call: one query, no pipeline needed
    assert current == store.current_submission(agency, "fr-form") and current is not None
    assert current.id == sub
    assert states == store.case_states(agency, ["fr-kid"])
    assert (none, nothing) == (None, {})
    if store.is_postgres:  # read in the same pipeline; SQLite leaves it to with_history
        assert history == store.with_history(agency, ["fr-kid", "fr-x"])
        assert no_history == set()
    else:
        assert history is None and no_history is None
