"""SPEC §2: principals and the one canonical text form of a grant, ``case:C1#edit@group:7``."""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.principals import (
    KINDS,
    OWNER_KINDS,
    GrantText,
    Principal,
    format_grant,
    parse_grant,
    parse_ref,
)


@pytest.mark.parametrize("kind", ["user", "group", "location", "role", "role_tree", "agency"])
def test_s_own_principal_kinds_round_trip_through_text(kind: str) -> None:
    principal = Principal(kind, 42)
    assert str(principal) == f"{kind}:42"
    assert Principal.parse(str(principal)) == principal
    assert Principal.parse(f"  {kind}:42 ") == principal


def test_s_own_principal_kinds_are_the_six_of_spec_2() -> None:
    assert set(KINDS) == {"user", "group", "location", "role", "role_tree", "agency"}
    assert set(OWNER_KINDS) == {"user", "group", "location"}


@pytest.mark.parametrize(
    "text", ["user", "user:", ":7", "team:7", "user:bob", "user:-1", "", "group 7"]
)
def test_s_own_malformed_principal_is_a_validation_error(text: str) -> None:
    with pytest.raises(CaseShareError) as info:
        Principal.parse(text)
    assert info.value.code == "validation_error"
    assert info.value.message


def test_s_own_parse_ref_keeps_the_key_as_text() -> None:
    assert parse_ref("group:g1") == ("group", "g1")
    assert parse_ref("role_tree:chief") == ("role_tree", "chief")


def test_s_own_principals_are_hashable_values_and_ordered() -> None:
    a, b = Principal("group", 2), Principal("group", 10)
    assert {a, Principal("group", 2)} == {a}
    assert sorted([b, a]) == [a, b]
    assert Principal("agency", 1) < Principal("user", 1)


def test_s_acc_6_grant_text_with_level_parses_into_its_parts() -> None:
    parsed = parse_grant("case:C1#edit@group:7")
    assert parsed == GrantText("C1", "edit", "group", "7")
    assert str(parsed) == "case:C1#edit@group:7"


def test_s_acc_6_grant_text_without_level_names_case_and_grantee() -> None:
    parsed = parse_grant("case:k1@user:carol")
    assert parsed == GrantText("k1", None, "user", "carol")
    assert str(parsed) == "case:k1@user:carol"


def test_s_team_1_grant_text_may_carry_a_team_role_name_where_a_level_stands() -> None:
    parsed = parse_grant("case:k1#observer@user:dan")
    assert parsed.level == "observer"
    assert parsed.grantee_kind == "user"


@pytest.mark.parametrize(
    "text",
    [
        "k1#edit@user:1",
        "case:k1#edit",
        "case:k1#edit@",
        "case:k1#edit@nobody:1",
        "case:k 1#edit@user:1",
        "case:#edit@user:1",
        "case:k1#edit@user",
    ],
)
def test_s_acc_6_malformed_grant_text_is_a_validation_error(text: str) -> None:
    with pytest.raises(CaseShareError) as info:
        parse_grant(text)
    assert info.value.code == "validation_error"
    assert text.strip() in info.value.message or "principal" in info.value.message


def test_s_acc_6_format_grant_is_the_inverse_of_parse_grant() -> None:
    assert format_grant("C1", "edit", Principal("group", 7)) == "case:C1#edit@group:7"
    assert format_grant("C1", None, "user:5") == "case:C1@user:5"
    for text in ("case:C1#edit@group:7", "case:x-y_z#read@role_tree:3", "case:k@agency:1"):
        assert str(parse_grant(text)) == text
