"""SPEC §3: access levels, row causes and the actions they allow."""

from __future__ import annotations

import pytest

from caseshare.core.levels import (
    DIRECT_CAUSES,
    OWNERS_POLICY_CAPPED,
    REQUIRED_LEVEL,
    STORED_CAUSES,
    Action,
    Cause,
    Level,
)


def test_s_acc_1_levels_are_ordered_none_read_edit_full() -> None:
    assert Level.NONE < Level.READ < Level.EDIT < Level.FULL
    assert max(Level.READ, Level.FULL, Level.EDIT) is Level.FULL
    assert [lvl.label for lvl in Level] == ["none", "read", "edit", "full"]


@pytest.mark.parametrize("text", ["read", "READ", " Edit ", "full", "none"])
def test_s_acc_1_level_parse_ignores_case_and_space(text: str) -> None:
    assert Level.parse(text).label == text.strip().lower()


@pytest.mark.parametrize("text", ["write", "", "all", "1"])
def test_s_acc_1_unknown_level_is_refused_naming_the_levels(text: str) -> None:
    with pytest.raises(ValueError, match="none, read, edit, full"):
        Level.parse(text)


def test_s_acc_1_row_causes_are_those_of_the_spec_3_table() -> None:
    assert {c.value for c in Cause} == {
        "default",
        "owner",
        "hierarchy",
        "assigned",
        "manual",
        "team",
        "rule",
        "implicit_child",
        "implicit_parent",
        "sync",
        "agency_share",
        "permission",
    }


def test_s_acc_8_direct_causes_exclude_default_permission_implicit_and_sync() -> None:
    excluded = {
        Cause.DEFAULT,
        Cause.PERMISSION,
        Cause.IMPLICIT_CHILD,
        Cause.IMPLICIT_PARENT,
        Cause.SYNC,  # the CommCare index closure seeds no implicit access (SPEC §3)
    }
    assert set(Cause) - excluded == DIRECT_CAUSES


def test_s_acc_5_owners_policy_caps_exactly_the_listed_causes() -> None:
    assert {
        Cause.DEFAULT,
        Cause.MANUAL,
        Cause.TEAM,
        Cause.RULE,
        Cause.IMPLICIT_CHILD,
        Cause.IMPLICIT_PARENT,
        Cause.AGENCY_SHARE,
    } == OWNERS_POLICY_CAPPED
    for unaffected in (Cause.OWNER, Cause.ASSIGNED, Cause.PERMISSION, Cause.SYNC):
        assert unaffected not in OWNERS_POLICY_CAPPED


def test_s_shr_4_only_manual_assigned_and_team_are_stored() -> None:
    assert {Cause.MANUAL, Cause.ASSIGNED, Cause.TEAM} == STORED_CAUSES


@pytest.mark.parametrize(
    ("action", "level"),
    [
        (Action.VIEW, Level.READ),
        (Action.EDIT, Level.EDIT),
        (Action.CLOSE, Level.EDIT),
        (Action.DELETE, Level.FULL),
        (Action.SHARE, Level.FULL),
        (Action.TRANSFER, Level.FULL),
    ],
)
def test_s_acc_1_each_action_needs_the_level_of_spec_3(action: Action, level: Level) -> None:
    assert REQUIRED_LEVEL[action] is level


def test_s_acc_1_every_action_has_a_required_level() -> None:
    assert set(REQUIRED_LEVEL) == set(Action)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("view", Action.VIEW),
        ("read", Action.VIEW),
        ("update", Action.EDIT),
        ("EDIT", Action.EDIT),
        (" close ", Action.CLOSE),
        ("delete", Action.DELETE),
        ("share", Action.SHARE),
        ("transfer", Action.TRANSFER),
    ],
)
def test_s_acc_1_action_parse_accepts_names_and_spec_aliases(text: str, action: Action) -> None:
    assert Action.parse(text) is action


def test_s_acc_1_unknown_action_is_refused_naming_the_actions() -> None:
    with pytest.raises(ValueError, match="view, edit, close, delete, share, transfer"):
        Action.parse("publish")
