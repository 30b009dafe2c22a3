"""Changing the agency after it is made (groups, location types, locations, roles, rules) and
opening a new agency with its first admin: each audited, each seen by the next decision."""

from __future__ import annotations

from caseshare.core.levels import Level
from caseshare.core.principals import Principal
from caseshare.core.rules import Condition
from tests.services.cast import Cast, code_of, unique


def _last_event(c: Cast, action: str) -> object:
    events = [e for e in c.store.audit_events(c.agency, limit=10_000) if e.action == action]
    assert events, f"no {action} event"
    return events[-1]


def test_open_agency_gives_a_new_agency_and_an_admin_who_can_sign_in(cast: Cast) -> None:
    slug = unique("fresh")
    made = cast.svc.open_agency(slug, "Fresh Start", "boss", full_name="Bea Boss")
    assert made.generated and len(made.password) >= 12
    assert cast.svc.authenticate(slug, "boss", made.password) is not None
    boss = cast.svc.context(made.agency_id).directory.users[made.admin_id]
    assert boss.permissions == frozenset({"admin"}) and boss.full_name == "Bea Boss"
    assert cast.store.case_types(made.agency_id) == []  # nothing of the demo
    # all or nothing: a taken slug or a bad user name leaves no agency behind
    assert code_of(cast.svc.open_agency, slug, "Again", "boss") == "validation_error"
    other = unique("other")
    assert code_of(cast.svc.open_agency, other, "X", "boss", password="short") == (
        "validation_error"
    )
    assert cast.store.agency_by_slug(other) is None
    assert code_of(cast.svc.open_agency, other, "X", "two words") == "validation_error"
    assert code_of(cast.svc.open_agency, "Not A Slug", "X", "boss") == "validation_error"


def test_reset_password_shows_a_new_one_once_and_ends_sessions(cast: Cast) -> None:
    session = cast.svc.start_session(cast.reader)
    slug = cast.store.agency(cast.agency)[1]
    secret = cast.svc.reset_password(cast.agency, cast.admin, cast.reader)
    assert cast.svc.authenticate(slug, "rita", secret) is not None
    assert cast.svc.session(session.token) is None
    chosen = cast.svc.reset_password(cast.agency, cast.admin, cast.reader, "a chosen one")
    assert chosen == "a chosen one"
    assert code_of(cast.svc.reset_password, cast.agency, cast.admin, cast.reader, "short") == (
        "validation_error"
    )
    assert code_of(cast.svc.reset_password, cast.agency, cast.owner, cast.reader) == (
        "insufficient_access"
    )
    assert code_of(cast.svc.reset_password, cast.agency, cast.admin, cast.foreigner) == (
        "not_found"
    )


def test_an_admin_cannot_lock_themselves_out(cast: Cast) -> None:
    assert code_of(cast.svc.set_active, cast.agency, cast.admin, cast.admin, False) == (
        "validation_error"
    )
    change = {"permissions": ["view_all"]}
    assert code_of(cast.svc.update_user, cast.agency, cast.admin, cast.admin, change) == (
        "validation_error"
    )
    assert "admin" in cast.svc.context(cast.agency).directory.users[cast.admin].permissions


def test_s_crt_2_turning_a_groups_case_sharing_off_and_on_follows_at_once(cast: Cast) -> None:
    """S-OWN-1: only case-sharing groups are owner ids; the flag decides it at once."""
    group = cast.group_principal
    assert group in cast.svc.owner_ids(cast.colleague)
    cast.svc.update_group(cast.agency, cast.admin, cast.group, {"case_sharing": False})
    assert group not in cast.svc.owner_ids(cast.colleague)
    assert cast.svc.access(cast.colleague, cast.case).level is Level.NONE
    cast.svc.update_group(cast.agency, cast.admin, cast.group, {"case_sharing": True})
    assert cast.svc.access(cast.colleague, cast.case).level is Level.FULL
    cast.svc.update_group(
        cast.agency, cast.admin, cast.group, {"name": "  Ward 7 ", "kind": "unit"}
    )
    stored = cast.svc.context(cast.agency).directory.groups[cast.group]
    assert (stored.name, stored.kind) == ("Ward 7", "unit")
    event = _last_event(cast, "group.update")
    assert event.before == {"name": "Case team", "kind": "group"}  # type: ignore[attr-defined]
    assert event.after == {"name": "Ward 7", "kind": "unit"}  # type: ignore[attr-defined]
    refused = cast.svc.update_group
    assert code_of(refused, cast.agency, cast.admin, cast.group, {"name": " "}) == (
        "validation_error"
    )
    assert code_of(refused, cast.agency, cast.admin, cast.group, {"kind": "team"}) == (
        "validation_error"
    )
    assert code_of(refused, cast.agency, cast.owner, cast.group, {"name": "x"}) == (
        "insufficient_access"
    )
    south = cast.svc.create_group(cast.other_agency, None, "south")
    assert code_of(refused, cast.agency, cast.admin, south, {"name": "x"}) == "not_found"


def test_s_own_1_location_type_flags_decide_who_owns_and_who_sees_below(cast: Cast) -> None:
    admin, agency = cast.admin, cast.agency
    district = cast.svc.create_location_type(agency, admin, "District")
    clinic_type = cast.svc.create_location_type(agency, admin, "Clinic", shares_cases=True)
    top = cast.svc.create_location(agency, admin, "North", district)
    clinic = cast.svc.create_location(agency, admin, "Clinic 1", clinic_type, parent_id=top)
    boss = cast.svc.create_user(agency, admin, "boss", locations=[top])
    assert Principal("location", clinic) not in cast.svc.owner_ids(boss)
    cast.svc.update_location_type(agency, admin, district, {"view_descendants": True})
    assert Principal("location", clinic) in cast.svc.owner_ids(boss)
    cast.svc.update_location_type(agency, admin, clinic_type, {"shares_cases": False})
    assert Principal("location", clinic) not in cast.svc.owner_ids(boss)
    assert _last_event(cast, "location_type.update").after == {"shares_cases": False}  # type: ignore[attr-defined]
    assert code_of(cast.svc.update_location_type, agency, admin, district, {"colour": "red"}) == (
        "validation_error"
    )


def test_locations_move_in_the_tree_but_never_below_themselves(cast: Cast) -> None:
    admin, agency = cast.admin, cast.agency
    kind = cast.svc.create_location_type(agency, admin, "Area", shares_cases=True)
    a = cast.svc.create_location(agency, admin, "A", kind)
    b = cast.svc.create_location(agency, admin, "B", kind, parent_id=a)
    c = cast.svc.create_location(agency, admin, "C", kind)
    move = cast.svc.update_location
    assert code_of(move, agency, admin, a, {"parent_id": b}) == "validation_error"
    assert code_of(move, agency, admin, a, {"parent_id": a}) == "validation_error"
    move(agency, admin, b, {"parent_id": c, "name": "B moved"})
    loc = cast.svc.context(agency).directory.locations[b]
    assert (loc.parent_id, loc.name) == (c, "B moved")
    move(agency, admin, b, {"parent_id": None})
    assert cast.svc.context(agency).directory.locations[b].parent_id is None
    assert code_of(move, agency, admin, b, {"parent_id": 2**60}) == "validation_error"


def test_s_hier_1_moving_a_role_changes_who_is_above(cast: Cast) -> None:
    admin, agency = cast.admin, cast.agency
    chief = cast.svc.create_role(agency, admin, "Chief")
    worker = cast.svc.create_role(agency, admin, "Worker")
    boss = cast.svc.create_user(agency, admin, "boss", role_id=chief)
    cast.svc.set_role(agency, admin, cast.owner, worker)
    assert cast.svc.access(boss, cast.private).level is Level.NONE
    cast.svc.update_role(agency, admin, worker, {"parent_id": chief})
    assert cast.svc.access(boss, cast.private).level is Level.FULL  # above the owner
    assert code_of(cast.svc.update_role, agency, admin, chief, {"parent_id": worker}) == (
        "validation_error"
    )
    cast.svc.update_role(agency, admin, worker, {"name": "Field worker"})
    assert cast.svc.context(agency).directory.roles[worker].name == "Field worker"


def test_s_rule_1_editing_a_rule_changes_its_access_at_once(cast: Cast) -> None:
    admin, agency = cast.admin, cast.agency
    rule = cast.svc.add_rule(
        agency,
        admin,
        "Patients to Otto",
        "criteria",
        f"user:{cast.outsider}",
        "read",
        criteria=Condition("case_type", "equals", "household"),
    )
    assert cast.svc.access(cast.outsider, cast.case).level is Level.NONE
    cast.svc.update_rule(
        agency,
        admin,
        rule,
        name="Patients to Otto",
        grantee=f"user:{cast.outsider}",
        level="edit",
        criteria=Condition("case_type", "equals", "patient"),
    )
    assert cast.svc.access(cast.outsider, cast.case).level is Level.EDIT
    event = _last_event(cast, "rule.update")
    assert event.before["level"] == "read" and event.after["level"] == "edit"  # type: ignore[attr-defined]
    change = cast.svc.update_rule
    kwargs = {"name": "x", "grantee": f"user:{cast.outsider}", "level": "full"}
    assert code_of(change, agency, admin, rule, criteria=PATIENTS, **kwargs) == (
        "invalid_access_level"
    )
    kwargs["level"] = "read"
    assert code_of(change, agency, admin, rule, **kwargs) == "validation_error"  # no criteria
    kwargs["grantee"] = f"user:{cast.foreigner}"
    assert code_of(change, agency, admin, rule, criteria=PATIENTS, **kwargs) == "invalid_grantee"
    assert code_of(change, agency, admin, 2**60, criteria=PATIENTS, **kwargs) == "not_found"


PATIENTS = Condition("case_type", "equals", "patient")
