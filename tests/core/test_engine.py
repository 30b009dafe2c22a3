"""The pure decision (SPEC §3–§4): each row cause, the caps, implicit access and transfer."""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.core.engine import Access, AgencyContext, check, direct_grants, evaluate
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.model import CaseFacts, User
from caseshare.core.principals import Principal
from caseshare.core.rules import Condition, Rule
from tests.core.builders import (
    OTHER_AGENCY,
    assigned,
    case,
    context,
    directory,
    manual,
    team,
    user,
)

OWNER, MATE, BOB, CHIEF, SERGEANT, OFFICER, ADMIN, VIEWER, MODIFIER, TRANSFERRER = range(1, 11)
FOREIGN, SLEEPER, LOCAL = 20, 21, 22
OBSERVER, EDITOR, SILENT = 1, 2, 3

USERS = [
    user(OWNER, role=3),
    user(MATE),
    user(BOB),
    user(CHIEF, role=1),
    user(SERGEANT, role=2),
    user(OFFICER, role=3),
    user(ADMIN, perms={"admin"}),
    user(VIEWER, perms={"view_all"}),
    user(MODIFIER, perms={"modify_all"}),
    user(TRANSFERRER, perms={"transfer"}),
    user(FOREIGN, agency=OTHER_AGENCY, perms={"admin"}),
    user(SLEEPER, active=False, role=3, perms={"admin"}),
    user(LOCAL),
]
# group 7 (case-sharing) ∋ group 2 ∋ MATE; group 3 (plain) ∋ BOB; location 40 ∋ LOCAL
# roles: 1 chief ⊃ 2 sergeant ⊃ 3 officer
DIRECTORY = directory(
    USERS,
    groups=[(2, False), (7, True), (3, False)],
    members=[(7, "group:2"), (2, f"user:{MATE}"), (3, f"user:{BOB}")],
    location_types=[(1, True, False)],
    locations=[(40, 1, None, False)],
    user_locations=[(LOCAL, 40)],
    roles=[(1, None), (2, 1), (3, 2)],
)
U = {u.id: u for u in USERS}
TEAM_ROLES = [(OBSERVER, Level.READ), (EDITOR, Level.EDIT), (SILENT, Level.NONE)]


def ctx(**settings: Any) -> AgencyContext:
    rules = settings.pop("rules", ())
    return context(DIRECTORY, settings=settings, rules=rules, team_roles=TEAM_ROLES)


def access(uid: int, c: CaseFacts, context_: AgencyContext | None = None) -> Access:
    return evaluate(context_ or ctx(), U[uid], c)


def level(uid: int, c: CaseFacts, context_: AgencyContext | None = None) -> Level:
    return access(uid, c, context_).level


def causes(uid: int, c: CaseFacts, context_: AgencyContext | None = None) -> set[Cause]:
    return {g.cause for g in access(uid, c, context_).grants}


# -- each row cause ----------------------------------------------------------------------------------


def test_s_acc_1_private_case_gives_nobody_else_anything() -> None:
    c = case(1, f"user:{OWNER}")
    assert level(OWNER, c) is Level.FULL
    for uid in (MATE, BOB, LOCAL, TRANSFERRER):
        assert level(uid, c) is Level.NONE
        assert access(uid, c).grants == ()


@pytest.mark.parametrize(
    ("default", "expected"),
    [("private", Level.NONE), ("read", Level.READ), ("edit", Level.EDIT), ("transfer", Level.EDIT)],
)
def test_s_acc_1_default_cause_gives_every_active_user_the_default_level(
    default: str, expected: Level
) -> None:
    context_ = ctx(default_access={"patient": default})
    c = case(1, f"user:{OWNER}")
    assert level(BOB, c, context_) is expected
    assert level(SLEEPER, c, context_) is Level.NONE
    assert level(BOB, case(2, f"user:{OWNER}", case_type="other"), context_) is Level.NONE
    if expected > Level.NONE:
        assert causes(BOB, c, context_) == {Cause.DEFAULT}


def test_s_acc_2_members_of_an_owning_group_have_full_access_through_nested_groups() -> None:
    a = access(MATE, case(1, "group:7"))
    assert a.level is Level.FULL
    (grant,) = a.grants
    assert grant.cause is Cause.OWNER
    assert grant.path == f"owner → group:7 → group:2 ∋ user:{MATE}"


def test_s_own_1_a_plain_group_owner_gives_its_members_nothing() -> None:
    # group 3 does not share cases: not an owner id (a world cannot create this; the engine is safe)
    assert level(BOB, case(1, "group:3")) is Level.NONE


def test_s_own_1_location_owner_gives_its_users_full_access() -> None:
    a = access(LOCAL, case(1, "location:40"))
    assert a.level is Level.FULL
    assert a.causes == {Cause.OWNER}


def test_s_hier_1_manager_above_the_owning_user_has_full_access() -> None:
    c = case(1, f"user:{OWNER}")  # OWNER is an officer (role 3)
    for manager in (CHIEF, SERGEANT):
        a = access(manager, c)
        assert a.level is Level.FULL
        assert a.causes == {Cause.HIERARCHY}
        assert f"user:{OWNER}" in a.grants[0].path
    assert level(OFFICER, c) is Level.NONE  # a peer is not above


def test_s_hier_1_manager_above_an_inactive_owner_still_has_access() -> None:
    assert level(SERGEANT, case(1, f"user:{SLEEPER}")) is Level.FULL


def test_s_hier_1_manager_above_a_user_named_in_a_grant_gets_that_grants_level() -> None:
    for stored, expected in [
        (manual(f"user:{OFFICER}", Level.READ), Level.READ),
        (manual(f"user:{OFFICER}", Level.EDIT), Level.EDIT),
        (assigned(f"user:{OFFICER}"), Level.FULL),
        (team(f"user:{OFFICER}", EDITOR), Level.EDIT),
        (team(f"user:{OFFICER}", SILENT), Level.NONE),
    ]:
        c = case(1, f"user:{BOB}", grants=[stored])
        assert level(SERGEANT, c) is expected, stored
        if expected > Level.NONE:
            (grant,) = access(SERGEANT, c).grants
            assert grant.cause is Cause.HIERARCHY
            assert grant.source is stored.cause


def test_s_hier_1_group_and_role_grants_give_no_hierarchy_access() -> None:
    c = case(1, f"user:{BOB}", grants=[manual("group:2", Level.EDIT), manual("role:3", Level.READ)])
    assert level(SERGEANT, c) is Level.NONE
    assert level(OFFICER, c) is Level.READ  # the role grant itself


def test_s_hier_1_hierarchy_access_off_removes_both_kinds() -> None:
    off = ctx(hierarchy_access=False)
    assert level(SERGEANT, case(1, f"user:{OWNER}"), off) is Level.NONE
    c = case(2, f"user:{BOB}", grants=[manual(f"user:{OFFICER}", Level.EDIT)])
    assert level(SERGEANT, c, off) is Level.NONE


def test_s_asg_1_assignee_has_full_access() -> None:
    c = case(1, f"user:{OWNER}", grants=[assigned(f"user:{BOB}")])
    a = access(BOB, c)
    assert (a.level, a.causes) == (Level.FULL, {Cause.ASSIGNED})


@pytest.mark.parametrize(
    ("grantee", "uid"),
    [
        (f"user:{BOB}", BOB),
        ("group:7", MATE),
        ("group:3", BOB),
        ("location:40", LOCAL),
        ("role:2", SERGEANT),
        ("role_tree:2", OFFICER),
        ("agency:1", TRANSFERRER),
    ],
)
def test_s_shr_manual_share_reaches_every_member_of_its_grantee(grantee: str, uid: int) -> None:
    c = case(1, f"user:{ADMIN}", grants=[manual(grantee, Level.EDIT)])  # no role, no group
    a = access(uid, c)
    assert a.level is Level.EDIT
    assert a.causes == {Cause.MANUAL}
    grant = next(g for g in a.grants if g.cause is Cause.MANUAL)
    assert grant.path.startswith(f"manual → {grantee}")


def test_s_shr_manual_share_to_one_role_does_not_reach_roles_below() -> None:
    c = case(1, f"user:{MATE}", grants=[manual("role:2", Level.READ)])
    assert level(OFFICER, c) is Level.NONE
    assert level(CHIEF, c) is Level.NONE


def test_s_team_1_team_member_gets_the_team_roles_level_at_decision_time() -> None:
    c = case(1, f"user:{OWNER}", grants=[team(f"user:{BOB}", OBSERVER)])
    assert access(BOB, c).causes == {Cause.TEAM}
    assert level(BOB, c) is Level.READ
    promoted = context(
        DIRECTORY, team_roles=[(OBSERVER, Level.EDIT), (EDITOR, Level.EDIT), (SILENT, Level.NONE)]
    )
    assert level(BOB, c, promoted) is Level.EDIT
    silenced = case(2, f"user:{OWNER}", grants=[team(f"user:{BOB}", SILENT)])
    assert level(BOB, silenced) is Level.NONE
    assert access(BOB, silenced).grants == ()


def test_s_asg_1_assignment_and_team_rows_apply_only_to_the_named_user() -> None:
    # stored rows of cause assigned/team name a user; nobody else (group mates) gets them
    c = case(1, f"user:{OWNER}", grants=[assigned("group:7"), team("group:7", EDITOR)])
    assert level(MATE, c) is Level.NONE


def test_s_rule_1_owner_rule_grants_its_level_to_the_grantee() -> None:
    rule = Rule(
        1, 1, "mates", "owner", Principal("group", 3), Level.EDIT, True, Principal("group", 2)
    )
    c = case(1, f"user:{MATE}")
    a = access(BOB, c, ctx(rules=(rule,)))
    assert (a.level, a.causes) == (Level.EDIT, {Cause.RULE})
    assert "mates" in a.grants[0].path
    assert level(BOB, case(2, "group:2"), ctx(rules=(rule,))) is Level.EDIT
    assert level(BOB, case(3, f"user:{OWNER}"), ctx(rules=(rule,))) is Level.NONE


def test_s_rule_1_criteria_rule_and_inactive_rule() -> None:
    crit = Condition("property", "equals", "high", "priority")
    rule = Rule(1, 1, "high", "criteria", Principal("user", BOB), Level.READ, True, None, crit)
    hot = case(1, f"user:{OWNER}", properties={"priority": "high"})
    cold = case(2, f"user:{OWNER}", properties={"priority": "low"})
    assert level(BOB, hot, ctx(rules=(rule,))) is Level.READ
    assert level(BOB, cold, ctx(rules=(rule,))) is Level.NONE
    assert level(MATE, hot, ctx(rules=(rule,))) is Level.NONE
    off = Rule(1, 1, "high", "criteria", Principal("user", BOB), Level.READ, False, None, crit)
    assert level(BOB, hot, ctx(rules=(off,))) is Level.NONE


@pytest.mark.parametrize(
    ("uid", "expected"), [(ADMIN, Level.FULL), (MODIFIER, Level.FULL), (VIEWER, Level.READ)]
)
def test_s_acc_1_permission_cause(uid: int, expected: Level) -> None:
    a = access(uid, case(1, f"user:{OWNER}"))
    assert (a.level, a.causes) == (expected, {Cause.PERMISSION})


def test_s_acc_1_effective_level_is_the_highest_grant() -> None:
    c = case(
        1,
        f"user:{OWNER}",
        grants=[manual(f"user:{BOB}", Level.READ), team(f"user:{BOB}", EDITOR)],
    )
    a = access(BOB, c)
    assert a.level is Level.EDIT
    assert {g.cause for g in a.grants} == {Cause.MANUAL, Cause.TEAM}
    assert a.causes == {Cause.TEAM}


# -- implicit access (S-ACC-8) -------------------------------------------------------------------------


def _family(
    child_grants: tuple[Any, ...] = (), parent_grants: tuple[Any, ...] = ()
) -> tuple[CaseFacts, CaseFacts]:
    parent = case(10, f"user:{OWNER}", grants=parent_grants)
    child = case(11, f"user:{OWNER}", grants=child_grants, parents=[parent])
    return parent, child


@pytest.mark.parametrize(
    ("child_access", "share", "expected"),
    [
        ("read", Level.EDIT, Level.READ),
        ("edit", Level.EDIT, Level.EDIT),
        ("edit", Level.READ, Level.READ),  # never more than the level on the parent
        ("none", Level.EDIT, Level.NONE),
    ],
)
def test_s_acc_8_implicit_child_is_child_access_capped_by_the_parent_level(
    child_access: str, share: Level, expected: Level
) -> None:
    _, child = _family(parent_grants=(manual(f"user:{BOB}", share),))
    a = access(BOB, child, ctx(child_access=child_access))
    assert a.level is expected
    if expected > Level.NONE:
        assert a.causes == {Cause.IMPLICIT_CHILD}
        assert "parent case:k10" in a.grants[0].path


def test_s_acc_8_owner_of_the_parent_gets_child_access_even_with_full_on_the_parent() -> None:
    parent = case(10, f"user:{BOB}")
    child = case(11, f"user:{OWNER}", parents=[parent])
    assert level(BOB, child, ctx(child_access="edit")) is Level.EDIT
    assert level(BOB, child) is Level.READ


def test_s_acc_8_default_and_permission_on_the_parent_are_not_direct() -> None:
    parent = case(10, f"user:{OWNER}", case_type="household")
    child = case(11, f"user:{OWNER}", parents=[parent])
    assert level(BOB, child, ctx(default_access={"household": "edit"})) is Level.NONE
    a = access(VIEWER, child)
    assert a.causes == {Cause.PERMISSION}


def test_s_acc_8_implicit_parent_is_read_from_a_direct_grant_on_a_child() -> None:
    child = case(11, f"user:{OWNER}", grants=[manual(f"user:{BOB}", Level.EDIT)])
    parent = case(10, f"user:{OWNER}", children=[child])
    a = access(BOB, parent)
    assert (a.level, a.causes) == (Level.READ, {Cause.IMPLICIT_PARENT})
    assert "child case:k11" in a.grants[0].path


def test_s_acc_8_implicit_access_never_chains_to_siblings() -> None:
    parent = case(10, f"user:{OWNER}")  # neighbours carry no neighbours of their own
    sibling = case(12, f"user:{OWNER}", parents=[parent])
    assert level(BOB, sibling) is Level.NONE


def test_s_acc_8_implicit_access_never_chains_to_grandchildren() -> None:
    grandparent = case(9, f"user:{OWNER}", grants=[manual(f"user:{BOB}", Level.EDIT)])
    parent = case(10, f"user:{OWNER}", parents=[grandparent])
    assert level(BOB, parent) is Level.READ
    grandchild = case(11, f"user:{OWNER}", parents=[case(10, f"user:{OWNER}")])
    assert level(BOB, grandchild) is Level.NONE


def test_s_acc_8_direct_grants_exclude_implicit_and_default_causes() -> None:
    parent = case(10, f"user:{BOB}")
    child = case(11, f"user:{OWNER}", parents=[parent])
    assert direct_grants(ctx(default_access="edit"), U[BOB], child) == []


# -- caps ----------------------------------------------------------------------------------------------


OWNERS_POLICY = {"edit_policy": "owners"}


@pytest.mark.parametrize(
    ("stored", "uid"),
    [
        (manual(f"user:{BOB}", Level.EDIT), BOB),
        (team(f"user:{BOB}", EDITOR), BOB),
        (manual(f"user:{OFFICER}", Level.EDIT), SERGEANT),  # hierarchy over a manual share
        (team(f"user:{OFFICER}", EDITOR), SERGEANT),  # hierarchy over a team membership
    ],
)
def test_s_acc_5_owners_policy_caps_shares_teams_and_their_hierarchy_at_read(
    stored: Any, uid: int
) -> None:
    c = case(1, f"user:{MATE}", grants=[stored])
    assert level(uid, c) is Level.EDIT
    a = access(uid, c, ctx(**OWNERS_POLICY))
    assert a.level is Level.READ
    (grant,) = a.grants
    assert grant.uncapped is Level.EDIT
    assert "(capped from edit)" in str(grant)


def test_s_acc_5_owners_policy_caps_default_rule_and_implicit_grants() -> None:
    crit = Condition("case_type", "equals", "patient")
    rule = Rule(1, 1, "all", "criteria", Principal("user", BOB), Level.EDIT, True, None, crit)
    context_ = ctx(edit_policy="owners", default_access="edit", child_access="edit", rules=(rule,))
    parent = case(10, f"user:{BOB}")
    c = case(1, f"user:{OWNER}", parents=[parent])
    a = access(BOB, c, context_)
    assert a.level is Level.READ
    assert {g.cause for g in a.grants} == {Cause.DEFAULT, Cause.RULE, Cause.IMPLICIT_CHILD}
    assert all(g.uncapped is Level.EDIT for g in a.grants)


def test_s_acc_5_owners_policy_leaves_the_owner_side_alone() -> None:
    context_ = ctx(**OWNERS_POLICY)
    c = case(1, f"user:{OWNER}", grants=[assigned(f"user:{BOB}"), assigned(f"user:{OFFICER}")])
    assert level(OWNER, c, context_) is Level.FULL
    assert level(BOB, c, context_) is Level.FULL  # assigned
    assert level(SERGEANT, c, context_) is Level.FULL  # hierarchy over owner and assignee
    assert level(ADMIN, c, context_) is Level.FULL
    assert level(MODIFIER, c, context_) is Level.FULL
    assert level(MATE, case(2, "group:7"), context_) is Level.FULL


def test_s_acc_4_inactive_user_has_no_access_whatever_names_them() -> None:
    c = case(1, f"user:{SLEEPER}", grants=[manual(f"user:{SLEEPER}", Level.EDIT)])
    a = access(SLEEPER, c, ctx(default_access="edit"))
    assert a.level is Level.NONE
    assert a.grants == ()
    assert a.blocked is not None and "S-ACC-4" in a.blocked
    reactivated = User(SLEEPER, 1, "u21", active=True, role_id=3, permissions=frozenset({"admin"}))
    assert evaluate(ctx(), reactivated, c).level is Level.FULL


def test_s_acc_3_a_user_of_another_agency_has_no_access_even_as_admin() -> None:
    c = case(1, f"user:{OWNER}", grants=[manual(f"user:{FOREIGN}", Level.EDIT)])
    a = access(FOREIGN, c, ctx(default_access="edit"))
    assert a.level is Level.NONE
    assert a.blocked is not None and "S-ACC-3" in a.blocked


def test_s_acc_3_a_context_of_another_agency_decides_nothing() -> None:
    other = context(DIRECTORY, agency=OTHER_AGENCY)
    a = evaluate(other, U[OWNER], case(1, f"user:{OWNER}"))
    assert a.level is Level.NONE and a.blocked


def test_s_shr_8_a_deleted_case_grants_nothing() -> None:
    c = case(1, f"user:{OWNER}", deleted=True)
    for uid in (OWNER, ADMIN):
        a = access(uid, c)
        assert a.level is Level.NONE
        assert a.blocked is not None and "recycle bin" in a.blocked


def test_s_acc_8_deleted_neighbours_give_no_implicit_access() -> None:
    parent = case(10, f"user:{BOB}", deleted=True)
    assert level(BOB, case(11, f"user:{OWNER}", parents=[parent])) is Level.NONE


# -- actions and transfer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lvl", "allowed"),
    [
        (Level.READ, {Action.VIEW}),
        (Level.EDIT, {Action.VIEW, Action.EDIT, Action.CLOSE}),
    ],
)
def test_s_acc_1_actions_allowed_by_level(lvl: Level, allowed: set[Action]) -> None:
    c = case(1, f"user:{OWNER}", grants=[manual(f"user:{BOB}", lvl)])
    a = access(BOB, c)
    assert {act for act in Action if a.allows(act)} == allowed


def test_s_acc_1_full_allows_every_action() -> None:
    a = access(OWNER, case(1, f"user:{OWNER}"))
    assert all(a.allows(act) for act in Action)


def test_s_acc_1_transfer_needs_full_or_edit_with_the_transfer_permission() -> None:
    c = case(
        1,
        f"user:{OWNER}",
        grants=[manual(f"user:{BOB}", Level.EDIT), manual(f"user:{TRANSFERRER}", Level.EDIT)],
    )
    assert not access(BOB, c).allows(Action.TRANSFER)
    assert access(TRANSFERRER, c).allows(Action.TRANSFER)
    read_only = case(2, f"user:{OWNER}", grants=[manual(f"user:{TRANSFERRER}", Level.READ)])
    assert not access(TRANSFERRER, read_only).allows(Action.TRANSFER)
    assert not access(TRANSFERRER, case(3, f"user:{OWNER}")).allows(Action.VIEW)


def test_s_acc_1_default_access_transfer_allows_the_transfer_action() -> None:
    context_ = ctx(default_access={"patient": "transfer", "note": "edit"})
    a = access(BOB, case(1, f"user:{OWNER}"), context_)
    assert a.level is Level.EDIT
    assert a.allows(Action.TRANSFER)
    assert not a.allows(Action.SHARE)
    assert not access(BOB, case(2, f"user:{OWNER}", case_type="note"), context_).allows(
        Action.TRANSFER
    )


def test_s_acc_5_capped_transfer_default_no_longer_allows_transfer() -> None:
    context_ = ctx(default_access="transfer", edit_policy="owners")
    a = access(BOB, case(1, f"user:{OWNER}"), context_)
    assert a.level is Level.READ
    assert not a.allows(Action.TRANSFER)


# -- explanation -----------------------------------------------------------------------------------


def test_s_acc_6_causes_are_those_whose_grant_reaches_the_effective_level() -> None:
    c = case(
        1,
        f"user:{OWNER}",
        grants=[manual(f"user:{BOB}", Level.EDIT), team(f"user:{BOB}", EDITOR)],
    )
    context_ = ctx(default_access="read")
    a = access(BOB, c, context_)
    assert a.level is Level.EDIT
    assert a.causes == {Cause.MANUAL, Cause.TEAM}
    assert Cause.DEFAULT in {g.cause for g in a.grants}
    assert access(MATE, case(2, f"user:{OWNER}")).causes == frozenset()


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("uid", [OWNER, BOB, SERGEANT, ADMIN, FOREIGN, SLEEPER, TRANSFERRER])
def test_s_acc_6_explain_and_check_are_the_same_access(action: Action, uid: int) -> None:
    c = case(
        1,
        f"user:{OWNER}",
        grants=[manual(f"user:{BOB}", Level.EDIT), manual(f"user:{TRANSFERRER}", Level.READ)],
    )
    context_ = ctx(default_access="read")
    decision = check(context_, U[uid], action, c)
    explained = evaluate(context_, U[uid], c)
    assert decision.access == explained
    assert decision.action is action
    assert decision.allowed == explained.allows(action)


def test_s_acc_6_decision_reasons_name_each_grant_or_the_block() -> None:
    c = case(1, f"user:{OWNER}", grants=[manual(f"user:{BOB}", Level.READ)])
    allowed = check(ctx(), U[BOB], Action.VIEW, c)
    assert allowed.allowed
    assert allowed.reasons == [f"manual read: manual → user:{BOB}"]
    denied = check(ctx(), U[MATE], Action.VIEW, c)
    assert not denied.allowed
    assert denied.reasons == ["no grant applies"]
    blocked = check(ctx(), U[SLEEPER], Action.VIEW, c)
    assert not blocked.allowed
    assert "inactive" in blocked.reasons[0]
