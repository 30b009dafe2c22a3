"""SPEC §1.1: agency settings, their defaults and their validation."""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.settings import Settings


def test_s_1_1_defaults_are_those_of_the_spec() -> None:
    s = Settings()
    assert s.case_sharing is False
    assert s.default_for("anything") == "private"
    assert s.hierarchy_access is True
    assert s.child_access == "read"
    assert s.edit_policy == "access"
    assert s.ordering == "received"
    assert s.extension_close_cascade is False
    assert Settings.from_dict(None) == s
    assert Settings.from_dict({}) == s


def test_s_1_1_default_access_per_case_type_then_star_then_private() -> None:
    s = Settings.from_dict({"default_access": {"referral": "read", "*": "edit"}})
    assert s.default_for("referral") == "read"
    assert s.default_for("patient") == "edit"
    no_star = Settings.from_dict({"default_access": {"referral": "transfer"}})
    assert no_star.default_for("patient") == "private"
    assert no_star.default_for("referral") == "transfer"


@pytest.mark.parametrize(
    ("value", "level"),
    [("private", Level.NONE), ("read", Level.READ), ("edit", Level.EDIT), ("transfer", Level.EDIT)],
)
def test_s_acc_1_default_access_gives_its_level(value: str, level: Level) -> None:
    assert Settings.from_dict({"default_access": value}).default_level("x") is level


def test_s_1_1_default_access_as_one_word_applies_to_every_type() -> None:
    s = Settings.from_dict({"default_access": "read"})
    assert dict(s.default_access) == {"*": "read"}


@pytest.mark.parametrize(("value", "level"), [("none", 0), ("read", 1), ("edit", 2)])
def test_s_1_1_child_access_level(value: str, level: int) -> None:
    assert Settings.from_dict({"child_access": value}).child_level == level


@pytest.mark.parametrize(
    "changes",
    [
        {"unknown_setting": True},
        {"case_sharing": "yes"},
        {"hierarchy_access": 1},
        {"extension_close_cascade": None},
        {"default_access": {"*": "write"}},
        {"default_access": ["read"]},
        {"default_access": 3},
        {"child_access": "full"},
        {"edit_policy": "everyone"},
        {"ordering": "device"},
    ],
)
def test_s_1_1_invalid_settings_are_a_validation_error(changes: dict[str, Any]) -> None:
    with pytest.raises(CaseShareError) as info:
        Settings().updated(changes)
    assert info.value.code == "validation_error"
    assert next(iter(changes)) in info.value.message


def test_s_1_1_updated_returns_a_changed_copy_and_to_dict_round_trips() -> None:
    before = Settings()
    after = before.updated(
        {
            "case_sharing": True,
            "default_access": {"*": "private", "referral": "read"},
            "hierarchy_access": False,
            "child_access": "edit",
            "edit_policy": "owners",
            "ordering": "reconcile",
            "extension_close_cascade": True,
        }
    )
    assert before == Settings()
    assert after.case_sharing and after.edit_policy == "owners"
    assert Settings.from_dict(after.to_dict()) == after
    data = after.to_dict()
    assert data["default_access"] == {"*": "private", "referral": "read"}
    assert isinstance(data["default_access"], dict)


@pytest.mark.parametrize("case_type", ["", "x" * 101, "two\nlines", "tab\there"])
def test_s_1_1_a_default_access_case_type_is_one_short_line(case_type: str) -> None:
    with pytest.raises(CaseShareError) as refused:
        Settings.from_dict({"default_access": {case_type: "read"}})
    assert refused.value.code == "validation_error"
