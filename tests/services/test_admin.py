"""Agency administration: rules (S-RULE-1), settings, membership, users, S-CRT-4, audit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Cause, Level
from caseshare.core.principals import Principal
from caseshare.core.rules import Condition, Rule
from caseshare.services import Caseshare
from tests.services.cast import Cast, code_of

PATIENTS = Condition("case_type", "equals", "patient")


def _level(c: Cast, uid: int, case_id: str | None = None) -> Level:
    return c.svc.access(uid, case_id or c.case).level


def _fill_rules(c: Cast, owner_rules: int, criteria_rules: int) -> None:
    """Store rules directly (fast); the service then has to count them."""
    with c.store.transaction():
        for i in range(owner_rules):
            c.store.create_rule(
                Rule(
                    0,
                    c.agency,
                    f"o{i}",
                    "owner",
                    Principal("agency", c.agency),
                    Level.READ,
                    False,
                    Principal("group", c.group),
                )
            )
        for i in range(criteria_rules):
            c.store.create_rule(
                Rule(
                    0,
                    c.agency,
                    f"c{i}",
                    "criteria",
                    Principal("agency", c.agency),
                    Level.READ,
                    False,
                    None,
                    Condition("case_type", "equals", f"t{i}"),
                )
            )


# -- S-RULE-1 ----------------------------------------------------------------------------------------


def test_s_rule_1_owner_rule_grants_at_once_and_deactivating_removes_at_once(cast: Cast) -> None:
    c = cast
    rule = c.svc.add_rule(
        c.agency,
        c.admin,
        "team cases",
        "owner",
        f"user:{c.outsider}",
        "edit",
        owner_in=str(c.group_principal),
    )
    access = c.svc.access(c.outsider, c.case)
    assert (access.level, access.causes) == (Level.EDIT, {Cause.RULE})
    assert "team cases" in access.grants[0].path
    assert _level(c, c.outsider, c.private) is Level.EDIT  # owned by a member of the group
    assert c.case in c.svc.visible_case_ids(c.outsider)
    c.svc.set_rule_active(c.agency, c.admin, rule, False)
    assert _level(c, c.outsider) is Level.NONE
    assert c.case not in c.svc.visible_case_ids(c.outsider)
    c.svc.set_rule_active(c.agency, c.admin, rule, True)
    assert _level(c, c.outsider) is Level.EDIT
    c.svc.delete_rule(c.agency, c.admin, rule)
    assert _level(c, c.outsider) is Level.NONE
    assert c.svc.visible_case_ids(c.outsider) == set()


def test_s_rule_1_criteria_rule_follows_case_changes_without_recalculation(cast: Cast) -> None:
    c = cast
    crit = Condition("property", "equals", "high", "priority")
    c.svc.add_rule(
        c.agency, c.admin, "urgent", "criteria", f"user:{c.outsider}", "read", criteria=crit
    )
    assert _level(c, c.outsider) is Level.NONE
    c.svc.update_case(c.agency, c.owner, c.case, properties={"priority": "high"})
    assert _level(c, c.outsider) is Level.READ
    assert c.svc.visible_case_ids(c.outsider) == {c.case}
    c.svc.update_case(c.agency, c.owner, c.case, properties={"priority": "low"})
    assert _level(c, c.outsider) is Level.NONE


def test_s_rule_1_the_301st_rule_is_refused(cast: Cast) -> None:
    c = cast
    _fill_rules(c, 299, 0)
    c.svc.add_rule(
        c.agency,
        c.admin,
        "300th",
        "owner",
        f"user:{c.outsider}",
        "read",
        owner_in=str(c.group_principal),
    )
    before = len(c.store.audit_events(c.agency, limit=10_000))
    for kind, extra in (
        ("owner", {"owner_in": str(c.group_principal)}),
        ("criteria", {"criteria": PATIENTS}),
    ):
        err = code_of(
            c.svc.add_rule, c.agency, c.admin, "301st", kind, f"user:{c.outsider}", "read", **extra
        )
        assert err == "validation_error"
    assert len(c.store.rules(c.agency)) == 300
    assert len(c.store.audit_events(c.agency, limit=10_000)) == before


def test_s_rule_1_the_51st_criteria_rule_is_refused_owner_rules_still_fit(cast: Cast) -> None:
    c = cast
    _fill_rules(c, 10, 49)
    c.svc.add_rule(
        c.agency, c.admin, "50th", "criteria", f"user:{c.outsider}", "read", criteria=PATIENTS
    )
    err = code_of(
        c.svc.add_rule,
        c.agency,
        c.admin,
        "51st",
        "criteria",
        f"user:{c.outsider}",
        "read",
        criteria=PATIENTS,
    )
    assert err == "validation_error"
    c.svc.add_rule(
        c.agency,
        c.admin,
        "owner",
        "owner",
        f"user:{c.outsider}",
        "read",
        owner_in=str(c.group_principal),
    )
    assert sum(r.kind == "criteria" for r in c.store.rules(c.agency)) == 50


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"level": "full"}, "invalid_access_level"),
        ({"level": "none"}, "invalid_access_level"),
        ({"kind": "owner"}, "validation_error"),  # no owner_in
        ({"kind": "criteria", "criteria": None}, "validation_error"),
        ({"kind": "sometimes"}, "validation_error"),
        ({"grantee": "foreigner"}, "invalid_grantee"),
        ({"grantee": "user:999999"}, "invalid_grantee"),
        ({"kind": "owner", "owner_in": "group:999999"}, "invalid_grantee"),
    ],
)
def test_s_rule_1_invalid_rules_are_refused(
    cast: Cast, kwargs: dict[str, object], code: str
) -> None:
    c = cast
    args: dict[str, object] = {
        "kind": "criteria",
        "grantee": f"user:{c.outsider}",
        "level": "read",
        "criteria": PATIENTS,
    }
    args.update(kwargs)
    if args["grantee"] == "foreigner":
        args["grantee"] = f"user:{c.foreigner}"
    kind, grantee, level = args.pop("kind"), args.pop("grantee"), args.pop("level")
    assert code_of(c.svc.add_rule, c.agency, c.admin, "r", kind, grantee, level, **args) == code
    assert c.store.rules(c.agency) == []


def test_s_rule_1_only_admins_manage_rules(cast: Cast) -> None:
    c = cast
    assert (
        code_of(
            c.svc.add_rule,
            c.agency,
            c.owner,
            "r",
            "criteria",
            f"user:{c.owner}",
            "read",
            criteria=PATIENTS,
        )
        == "insufficient_access"
    )
    rule = c.svc.add_rule(
        c.agency, c.admin, "r", "criteria", f"user:{c.outsider}", "read", criteria=PATIENTS
    )
    assert code_of(c.svc.set_rule_active, c.agency, c.owner, rule, False) == "insufficient_access"
    assert code_of(c.svc.delete_rule, c.agency, c.owner, rule) == "insufficient_access"
    assert _level(c, c.outsider) is Level.READ


# -- tenant isolation of administration (S-ACC-3) ------------------------------------------------


@pytest.mark.parametrize("operation", ["set_rule_active", "delete_rule"])
def test_s_acc_3_an_admin_cannot_change_another_agencys_rule(cast: Cast, operation: str) -> None:
    c = cast
    theirs = c.svc.add_rule(
        c.other_agency,
        c.foreigner,
        "south",
        "criteria",
        f"agency:{c.other_agency}",
        "read",
        criteria=PATIENTS,
    )
    args = (theirs, False) if operation == "set_rule_active" else (theirs,)
    assert code_of(getattr(c.svc, operation), c.agency, c.admin, *args) == "not_found"
    assert [r.active for r in c.store.rules(c.other_agency)] == [True]


@pytest.mark.parametrize("operation", ["set_team_role_level", "delete_team_role"])
def test_s_acc_3_an_admin_cannot_change_another_agencys_team_role(
    cast: Cast, operation: str
) -> None:
    c = cast
    theirs = c.svc.create_team_role(c.other_agency, c.foreigner, "observer", "read")
    args = (theirs, "edit") if operation == "set_team_role_level" else (theirs,)
    assert code_of(getattr(c.svc, operation), c.agency, c.admin, *args) == "not_found"
    assert c.svc.context(c.other_agency).team_roles[theirs].level is Level.READ


def test_s_acc_3_an_admin_cannot_deactivate_another_agencys_user(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.set_active, c.agency, c.admin, c.foreigner, False) == "not_found"
    assert code_of(c.svc.set_role, c.agency, c.admin, c.foreigner, None) == "not_found"
    assert c.store.user(c.foreigner).active


def test_s_acc_3_an_admin_cannot_move_another_agencys_user(cast: Cast) -> None:
    c = cast
    ltype = c.svc.create_location_type(c.agency, None, "district", shares_cases=True)
    loc = c.svc.create_location(c.agency, None, "D1", ltype)
    assert code_of(c.svc.set_locations, c.agency, c.admin, c.foreigner, [loc]) == "not_found"
    assert (
        c.store.rows("SELECT location_id FROM user_locations WHERE user_id = ?", (c.foreigner,))
        == []
    )


def test_s_acc_3_an_admin_cannot_archive_another_agencys_location(cast: Cast) -> None:
    c = cast
    ltype = c.svc.create_location_type(c.other_agency, None, "district", shares_cases=True)
    theirs = c.svc.create_location(c.other_agency, None, "South D1", ltype)
    assert code_of(c.svc.set_location_archived, c.agency, c.admin, theirs, True) == "not_found"
    assert not c.svc.context(c.other_agency).directory.locations[theirs].archived


def test_s_acc_3_an_admin_cannot_empty_another_agencys_group(cast: Cast) -> None:
    c = cast
    theirs = c.svc.create_group(c.other_agency, None, "south team", case_sharing=True)
    fred = Principal("user", c.foreigner)
    c.svc.add_member(c.other_agency, None, theirs, fred)
    assert code_of(c.svc.remove_member, c.agency, c.admin, theirs, fred) in (
        "not_found",
        "validation_error",
    )
    assert fred in c.svc.context(c.other_agency).directory.nested_members(theirs)


# -- settings ------------------------------------------------------------------------------------------


def test_s_1_1_settings_change_applies_at_once_and_is_audited(cast: Cast) -> None:
    c = cast
    assert _level(c, c.outsider) is Level.NONE
    after = c.svc.update_settings(c.agency, c.admin, {"default_access": {"patient": "read"}})
    assert after.default_for("patient") == "read"
    assert _level(c, c.outsider) is Level.READ
    assert c.svc.count_cases(c.outsider) == 2
    event = c.store.audit_events(c.agency, limit=10_000)[-1]
    assert (event.actor, event.action) == (f"user:{c.admin}", "agency.settings")
    assert event.before["default_access"] == {"*": "private"}
    assert event.after["default_access"] == {"patient": "read"}


def test_s_1_1_invalid_settings_or_non_admins_are_refused_without_audit(cast: Cast) -> None:
    c = cast
    before = c.store.audit_events(c.agency, limit=10_000)
    assert code_of(c.svc.update_settings, c.agency, c.admin, {"edit_policy": "anyone"}) == (
        "validation_error"
    )
    assert code_of(c.svc.update_settings, c.agency, c.admin, {"colour": "blue"}) == (
        "validation_error"
    )
    assert code_of(c.svc.update_settings, c.agency, c.owner, {"case_sharing": False}) == (
        "insufficient_access"
    )
    assert code_of(c.svc.update_settings, c.agency, c.foreigner, {"case_sharing": False}) == (
        "not_found"
    )
    assert c.store.audit_events(c.agency, limit=10_000) == before
    assert c.svc.context(c.agency).settings.case_sharing is True


def test_s_acc_5_edit_policy_owners_caps_a_manual_edit_share(cast: Cast) -> None:
    c = cast
    c.svc.share(c.agency, c.owner, c.case, f"user:{c.outsider}", "edit")
    assert _level(c, c.outsider) is Level.EDIT
    c.svc.update_settings(c.agency, c.admin, {"edit_policy": "owners"})
    assert _level(c, c.outsider) is Level.READ
    assert _level(c, c.colleague) is Level.FULL


def test_s_hier_1_turning_hierarchy_access_off_removes_it_at_once(cast: Cast) -> None:
    c = cast
    chief = c.svc.create_role(c.agency, None, "chief")
    officer = c.svc.create_role(c.agency, None, "officer", chief)
    c.svc.set_role(c.agency, c.admin, c.owner, officer)
    c.svc.set_role(c.agency, c.admin, c.outsider, chief)
    assert _level(c, c.outsider, c.private) is Level.FULL
    c.svc.update_settings(c.agency, c.admin, {"hierarchy_access": False})
    assert _level(c, c.outsider, c.private) is Level.NONE
    assert code_of(c.svc.set_role, c.agency, c.admin, c.owner, 999999) == "validation_error"


# -- users and membership ------------------------------------------------------------------------------


def test_s_acc_4_deactivating_removes_all_access_and_reactivating_restores_it(cast: Cast) -> None:
    c = cast
    c.svc.set_active(c.agency, c.admin, c.reader, False)
    assert _level(c, c.reader) is Level.NONE
    assert c.svc.visible_case_ids(c.reader) == set()
    c.svc.set_active(c.agency, c.admin, c.reader, True)
    assert _level(c, c.reader) is Level.READ
    assert c.svc.visible_case_ids(c.reader) == {c.case}
    events = [e.action for e in c.store.audit_events(c.agency, limit=10_000)[-2:]]
    assert events == ["user.deactivate", "user.activate"]


def test_s_acc_4_an_inactive_actor_cannot_act(cast: Cast) -> None:
    c = cast
    c.svc.set_active(c.agency, c.admin, c.owner, False)
    assert code_of(c.svc.share, c.agency, c.owner, c.case, f"user:{c.outsider}", "edit") == (
        "not_found"
    )
    c.svc.set_active(c.agency, None, c.admin, False)
    assert code_of(c.svc.update_settings, c.agency, c.admin, {"case_sharing": False}) == (
        "not_found"
    )


def test_s_own_2_membership_changes_apply_at_once(cast: Cast) -> None:
    c = cast
    assert c.svc.add_member(c.agency, c.admin, c.group, Principal("user", c.outsider)) is True
    assert c.svc.add_member(c.agency, c.admin, c.group, Principal("user", c.outsider)) is False
    assert _level(c, c.outsider) is Level.FULL
    assert c.svc.remove_member(c.agency, c.admin, c.group, Principal("user", c.outsider)) is True
    assert _level(c, c.outsider) is Level.NONE
    assert c.svc.remove_member(c.agency, c.admin, c.group, Principal("user", c.outsider)) is False


def test_s_own_2_nested_group_membership_reaches_the_owned_case(cast: Cast) -> None:
    c = cast
    inner = c.svc.create_group(c.agency, c.admin, "inner")
    c.svc.add_member(c.agency, c.admin, inner, Principal("user", c.outsider))
    c.svc.add_member(c.agency, c.admin, c.group, Principal("group", inner))
    access = c.svc.access(c.outsider, c.case)
    assert access.level is Level.FULL
    assert access.grants[0].path == (f"owner → group:{c.group} → group:{inner} ∋ user:{c.outsider}")


@pytest.mark.parametrize("member", ["cycle", "self", "foreigner", "location", "ghost"])
def test_s_own_2_invalid_members_are_refused(cast: Cast, member: str) -> None:
    c = cast
    inner = c.svc.create_group(c.agency, c.admin, "inner")
    c.svc.add_member(c.agency, c.admin, c.group, Principal("group", inner))
    who = {
        "cycle": Principal("group", c.group),
        "self": Principal("group", inner),
        "foreigner": Principal("user", c.foreigner),
        "location": Principal("location", 1),
        "ghost": Principal("user", 999999),
    }[member]
    before = c.store.audit_events(c.agency, limit=10_000)
    assert code_of(c.svc.add_member, c.agency, c.admin, inner, who) == "validation_error"
    assert c.store.audit_events(c.agency, limit=10_000) == before


def test_s_own_2_only_admins_change_membership(cast: Cast) -> None:
    c = cast
    who = Principal("user", c.outsider)
    assert code_of(c.svc.add_member, c.agency, c.owner, c.group, who) == "insufficient_access"
    assert code_of(c.svc.remove_member, c.agency, c.owner, c.group, Principal("user", c.owner)) == (
        "insufficient_access"
    )


def test_create_user_validates_permissions_names_roles_and_locations(cast: Cast) -> None:
    c = cast
    assert code_of(c.svc.create_user, c.agency, None, "x", permissions=["root"]) == (
        "validation_error"
    )
    assert code_of(c.svc.create_user, c.agency, None, "olga") == "validation_error"
    assert code_of(c.svc.create_user, c.agency, None, "x", role_id=999999) == "validation_error"
    assert code_of(c.svc.create_user, c.agency, None, "x", locations=[999999]) == (
        "validation_error"
    )
    assert code_of(c.svc.create_user, c.agency, c.owner, "x") == "insufficient_access"
    assert code_of(c.svc.create_agency, c.store.agency(c.agency)[1]) == "validation_error"


def test_s_team_1_a_second_team_role_of_the_same_name_is_a_validation_error(cast: Cast) -> None:
    # SPEC §14: every refusal carries a code; a database constraint error is not a refusal.
    c = cast
    c.svc.create_team_role(c.agency, c.admin, "observer", "read")
    assert code_of(c.svc.create_team_role, c.agency, c.admin, "observer", "edit") == (
        "validation_error"
    )
    c.svc.create_team_role(c.other_agency, None, "observer", "read")  # names are per agency


# -- S-CRT-4 ------------------------------------------------------------------------------------------


def test_s_crt_4_report_lists_users_not_in_exactly_one_group_or_location(cast: Cast) -> None:
    c = cast
    second = c.svc.create_group(c.agency, c.admin, "Second", case_sharing=True)
    c.svc.add_member(c.agency, c.admin, second, Principal("user", c.colleague))
    ltype = c.svc.create_location_type(c.agency, None, "district", shares_cases=True)
    loc = c.svc.create_location(c.agency, None, "D1", ltype)
    c.svc.set_locations(c.agency, c.admin, c.outsider, [loc])
    c.svc.create_user(c.agency, None, "sleepy", active=False)
    report = {row["username"]: row for row in c.svc.case_sharing_report(c.agency)}
    assert set(report) == {"colin", "rita", "ada"}
    assert report["rita"]["owners"] == [] and "no case-sharing group" in report["rita"]["problem"]
    assert sorted(report["colin"]["owners"]) == sorted([str(c.group_principal), f"group:{second}"])
    assert "several" in report["colin"]["problem"]
    assert report["colin"]["user_id"] == c.colleague
    assert [r["username"] for r in c.svc.case_sharing_report(c.other_agency)] == ["fred"]


# -- S-AUD-1 -------------------------------------------------------------------------------------------


def test_s_aud_1_rule_membership_and_structure_changes_are_audited(cast: Cast) -> None:
    c = cast
    start = len(c.store.audit_events(c.agency, limit=10_000))
    rule = c.svc.add_rule(
        c.agency, c.admin, "r", "criteria", f"user:{c.outsider}", "read", criteria=PATIENTS
    )
    c.svc.set_rule_active(c.agency, c.admin, rule, False)
    c.svc.delete_rule(c.agency, c.admin, rule)
    c.svc.add_member(c.agency, c.admin, c.group, Principal("user", c.outsider))
    c.svc.remove_member(c.agency, c.admin, c.group, Principal("user", c.outsider))
    tr = c.svc.create_team_role(c.agency, c.admin, "observer", "read")
    c.svc.set_team_role_level(c.agency, c.admin, tr, "edit")
    c.svc.delete_team_role(c.agency, c.admin, tr)
    c.svc.set_permissions(c.agency, c.admin, c.outsider, ["view_all"])
    events = c.store.audit_events(c.agency, limit=10_000)[start:]
    a = f"user:{c.admin}"
    assert [(e.actor, e.action, e.subject) for e in events] == [
        (a, "rule.create", f"rule:{rule}"),
        (a, "rule.update", f"rule:{rule}"),
        (a, "rule.delete", f"rule:{rule}"),
        (a, "group.member.add", f"group:{c.group}"),
        (a, "group.member.remove", f"group:{c.group}"),
        (a, "team_role.create", f"team_role:{tr}"),
        (a, "team_role.update", f"team_role:{tr}"),
        (a, "team_role.delete", f"team_role:{tr}"),
        (a, "user.permissions", f"user:{c.outsider}"),
    ]
    assert events[0].after == {
        "name": "r",
        "kind": "criteria",
        "grantee": f"user:{c.outsider}",
        "level": "read",
    }
    assert events[1].after == {"active": False}
    assert events[3].after == {"member": f"user:{c.outsider}"}
    assert events[4].before == {"member": f"user:{c.outsider}"}
    assert events[8].before == {"permissions": []}
    assert events[8].after == {"permissions": ["view_all"]}


def test_s_rule_1_two_rules_added_at_once_never_pass_the_limit(
    two: tuple[Cast, Caseshare],
) -> None:
    """S-RULE-1's limit holds under concurrency: while one service's transaction adds the 50th
    criteria rule, another's add counts the rules only once that one has ended, and is refused
    (it counted 49 and added a 51st on PostgreSQL)."""
    c, other = two
    _fill_rules(c, 0, 49)
    outcome: list[str] = []
    started = threading.Event()

    def second() -> None:
        started.set()
        outcome.append(
            code_of(
                other.add_rule,
                c.agency,
                c.admin,
                "51st",
                "criteria",
                f"user:{c.outsider}",
                "read",
                criteria=PATIENTS,
            )
        )

    with c.store.transaction():
        c.svc.add_rule(
            c.agency, c.admin, "50th", "criteria", f"user:{c.outsider}", "read", criteria=PATIENTS
        )
        thread = threading.Thread(target=second)
        thread.start()
        started.wait(10)
        time.sleep(0.3)  # the second add is waiting for this transaction now
    thread.join(30)
    assert outcome == ["validation_error"]
    assert sum(r.kind == "criteria" for r in c.store.rules(c.agency)) == 50


def _at_once(c: Cast, first: Callable[[], object], second: Callable[[], object]) -> list[str]:
    """Run ``first`` in a transaction of ``c``'s store and, while it is still open, ``second``
    on another connection (in a thread): the §14 code ``second`` is refused with, if any."""
    outcome: list[str] = []
    started = threading.Event()

    def run() -> None:
        started.set()
        try:
            second()
            outcome.append("ok")
        except CaseShareError as exc:
            outcome.append(exc.code)

    with c.store.transaction():
        first()
        thread = threading.Thread(target=run)
        thread.start()
        started.wait(10)
        time.sleep(0.3)  # the second change is waiting for this transaction now
    thread.join(30)
    return outcome


def test_groups_nested_in_each_other_at_once_never_make_a_cycle(
    two: tuple[Cast, Caseshare],
) -> None:
    """§1/§2: group nesting is allowed, cycles are rejected — also when two admins nest two
    groups in each other at the same moment (on PostgreSQL both checks passed before)."""
    c, other = two
    a = c.svc.create_group(c.agency, None, "A")
    b = c.svc.create_group(c.agency, None, "B")
    outcome = _at_once(
        c,
        lambda: c.svc.add_member(c.agency, c.admin, a, Principal("group", b)),
        lambda: other.add_member(c.agency, c.admin, b, Principal("group", a)),
    )
    assert outcome == ["validation_error"]
    assert c.store.group_members(b) == []


def test_roles_moved_below_each_other_at_once_never_make_a_cycle(
    two: tuple[Cast, Caseshare],
) -> None:
    """§1: roles form a tree — two admins moving two roles below each other at once leave one
    refused (a role hierarchy with a cycle has no top)."""
    c, other = two
    a = c.svc.create_role(c.agency, None, "A")
    b = c.svc.create_role(c.agency, None, "B")
    outcome = _at_once(
        c,
        lambda: c.svc.update_role(c.agency, c.admin, a, {"parent_id": b}),
        lambda: other.update_role(c.agency, c.admin, b, {"parent_id": a}),
    )
    assert outcome == ["validation_error"]
    assert other.context(c.agency).directory.roles[b].parent_id is None


def test_locations_moved_below_each_other_at_once_never_make_a_cycle(
    two: tuple[Cast, Caseshare],
) -> None:
    """§1: locations form a tree — two moves below each other at once leave one refused."""
    c, other = two
    kind = c.svc.create_location_type(c.agency, None, "district")
    a = c.svc.create_location(c.agency, None, "A", kind)
    b = c.svc.create_location(c.agency, None, "B", kind)
    outcome = _at_once(
        c,
        lambda: c.svc.update_location(c.agency, c.admin, a, {"parent_id": b}),
        lambda: other.update_location(c.agency, c.admin, b, {"parent_id": a}),
    )
    assert outcome == ["validation_error"]
    assert other.context(c.agency).directory.locations[b].parent_id is None
