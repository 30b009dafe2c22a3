"""S-RULE-1: criteria rules (short and long form, every operator) and the 300 / 50 limits."""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.principals import Principal
from caseshare.core.rules import (
    MAX_CRITERIA_RULES,
    MAX_RULES,
    AllOf,
    AnyOf,
    Condition,
    Rule,
    check_limits,
    compile_on_type,
    criteria_to_data,
    matches,
    parse_criteria,
)
from tests.core.builders import case

PATIENT = case(
    1,
    "group:7",
    case_type="patient",
    name="Smith, Ann",
    properties={"priority": "high", "district": "north-3", "empty": ""},
)


def _rule(i: int, kind: str) -> Rule:
    return Rule(
        i,
        1,
        f"r{i}",
        kind,
        Principal("group", 1),
        Level.READ,
        owner_in=Principal("group", 2) if kind == "owner" else None,
        criteria=Condition("case_type", "equals", "x") if kind == "criteria" else None,
    )


# -- parsing --------------------------------------------------------------------------------------


def test_s_rule_1_short_form_single_entry_is_one_equals_condition() -> None:
    assert parse_criteria({"case_type": "patient"}) == Condition("case_type", "equals", "patient")


def test_s_rule_1_short_form_list_value_means_in() -> None:
    assert parse_criteria({"case_type": ["patient", "referral"]}) == Condition(
        "case_type", "in", ("patient", "referral")
    )


def test_s_rule_1_short_form_entries_are_anded_and_properties_become_property_conditions() -> None:
    parsed = parse_criteria(
        {"case_type": "patient", "owner": "group:7", "properties": {"priority": "high"}}
    )
    assert parsed == AllOf(
        (
            Condition("case_type", "equals", "patient"),
            Condition("owner", "equals", "group:7"),
            Condition("property", "equals", "high", "priority"),
        )
    )


def test_s_rule_1_short_form_values_are_compared_as_text() -> None:
    assert parse_criteria({"properties": {"age": 42}}) == Condition(
        "property", "equals", "42", "age"
    )


def test_s_rule_1_long_form_nests_all_and_any() -> None:
    data = {
        "any": [
            {"field": "case_type", "op": "in", "value": ["patient", "referral"]},
            {
                "all": [
                    {
                        "field": "property",
                        "key": "district",
                        "op": "starts_with",
                        "value": "north-",
                    },
                    {"field": "property", "key": "flagged", "op": "exists"},
                ]
            },
        ]
    }
    parsed = parse_criteria(data)
    assert parsed == AnyOf(
        (
            Condition("case_type", "in", ("patient", "referral")),
            AllOf(
                (
                    Condition("property", "starts_with", "north-", "district"),
                    Condition("property", "exists", None, "flagged"),
                )
            ),
        )
    )
    assert criteria_to_data(parsed) == data
    assert parse_criteria(criteria_to_data(parsed)) == parsed


def test_s_rule_1_long_form_condition_defaults_to_equals() -> None:
    assert parse_criteria({"field": "name", "value": "x"}) == Condition("name", "equals", "x")


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        "case_type: patient",
        None,
        {"status": "open"},
        {"properties": ["priority"]},
        {"all": []},
        {"any": "x"},
        {"field": "colour", "op": "equals", "value": "red"},
        {"field": "name", "op": "like", "value": "x"},
        {"field": "property", "op": "equals", "value": "x"},
        {"field": "name", "op": "in", "value": "x"},
        {"field": "name", "op": "in", "value": []},
        {"field": "name", "op": "equals"},
        {"field": "name", "op": "equals", "value": ["a", "b"]},
        {"field": "name", "op": "starts_with", "value": {"a": 1}},
    ],
)
def test_s_rule_1_malformed_criteria_are_a_validation_error(data: Any) -> None:
    with pytest.raises(CaseShareError) as info:
        parse_criteria(data)
    assert info.value.code == "validation_error"
    assert info.value.message


# -- matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Condition("case_type", "equals", "patient"), True),
        (Condition("case_type", "equals", "Patient"), False),
        (Condition("case_type", "not_equals", "referral"), True),
        (Condition("case_type", "not_equals", "patient"), False),
        (Condition("case_type", "in", ("referral", "patient")), True),
        (Condition("case_type", "in", ("referral",)), False),
        (Condition("case_type", "exists"), True),
        (Condition("name", "starts_with", "Smith"), True),
        (Condition("name", "starts_with", "smith"), False),
        (Condition("name", "equals", "Smith, Ann"), True),
        (Condition("owner", "equals", "group:7"), True),
        (Condition("owner", "in", ("user:1", "group:7")), True),
        (Condition("owner", "not_equals", "group:7"), False),
        (Condition("property", "equals", "high", "priority"), True),
        (Condition("property", "equals", "low", "priority"), False),
        (Condition("property", "not_equals", "low", "priority"), True),
        (Condition("property", "in", ("low", "high"), "priority"), True),
        (Condition("property", "exists", None, "priority"), True),
        (Condition("property", "starts_with", "north-", "district"), True),
        (Condition("property", "starts_with", "south-", "district"), False),
        (Condition("property", "starts_with", "", "district"), True),
    ],
)
def test_s_rule_1_each_operator_on_each_field(condition: Condition, expected: bool) -> None:
    assert matches(condition, PATIENT) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("equals", "", False),
        ("equals", "x", False),
        ("in", ("x", ""), False),
        ("starts_with", "", False),
        ("exists", None, False),
        ("not_equals", "x", True),
        ("not_equals", "", True),
    ],
)
def test_s_rule_1_a_missing_property_only_ever_meets_not_equals(
    op: str, value: Any, expected: bool
) -> None:
    assert matches(Condition("property", op, value, "missing"), PATIENT) is expected


def test_s_rule_1_an_empty_property_value_does_not_exist() -> None:
    assert not matches(Condition("property", "exists", None, "empty"), PATIENT)
    assert matches(Condition("property", "equals", "", "empty"), PATIENT)


def test_s_rule_1_all_and_any_combine_conditions() -> None:
    yes = Condition("case_type", "equals", "patient")
    no = Condition("case_type", "equals", "referral")
    assert matches(AllOf((yes, yes)), PATIENT)
    assert not matches(AllOf((yes, no)), PATIENT)
    assert matches(AnyOf((no, yes)), PATIENT)
    assert not matches(AnyOf((no, no)), PATIENT)
    assert matches(AnyOf((no, AllOf((yes, yes)))), PATIENT)


def test_s_rule_1_parsed_short_form_matches_like_the_docs_example() -> None:
    rule = parse_criteria({"case_type": "patient", "properties": {"priority": "high"}})
    assert matches(rule, PATIENT)
    assert not matches(rule, case(2, "user:1", case_type="patient"))


# -- limits ----------------------------------------------------------------------------------------


def test_s_rule_1_limits_are_300_rules_and_50_criteria_rules() -> None:
    assert (MAX_RULES, MAX_CRITERIA_RULES) == (300, 50)


def test_s_rule_1_the_300th_rule_is_accepted_and_the_301st_refused() -> None:
    rules = [_rule(i, "owner") for i in range(299)]
    check_limits(rules, "owner")
    check_limits(rules, "criteria")
    rules.append(_rule(299, "owner"))
    for kind in ("owner", "criteria"):
        with pytest.raises(CaseShareError) as info:
            check_limits(rules, kind)
        assert info.value.code == "validation_error"
        assert "300" in info.value.message


def test_s_rule_1_the_50th_criteria_rule_is_accepted_and_the_51st_refused() -> None:
    rules = [_rule(i, "criteria") for i in range(49)]
    check_limits(rules, "criteria")
    rules.append(_rule(49, "criteria"))
    with pytest.raises(CaseShareError) as info:
        check_limits(rules, "criteria")
    assert info.value.code == "validation_error"
    assert "50" in info.value.message
    check_limits(rules, "owner")  # owner rules still fit under the 300


def _ct(op: str, value: str | tuple[str, ...]) -> Condition:
    return Condition("case_type", op, value)


HIGH = Condition("property", "equals", "high", "priority")


TYPES = ("patient", "referral", "x", "household", "")


@pytest.mark.parametrize(
    ("criterion", "settled"),
    [
        (_ct("equals", "patient"), {"patient": True, "referral": False}),
        (_ct("in", ("patient", "referral")), {"patient": True, "referral": True, "x": False}),
        (_ct("not_equals", "patient"), {"patient": False, "x": True}),
        (_ct("starts_with", "pat"), {"patient": True, "household": False}),
        (Condition("case_type", "exists"), {"patient": True, "": False}),
        (HIGH, {}),
        (AllOf((_ct("equals", "patient"), HIGH)), {"referral": False}),
        (AllOf((_ct("in", ("patient", "referral")), _ct("equals", "referral"))), {"x": False}),
        (AllOf((HIGH, HIGH)), {}),
        (AnyOf((_ct("equals", "patient"), HIGH)), {"patient": True}),
        (AnyOf((_ct("equals", "patient"), _ct("equals", "referral"))), {"x": False}),
        (AnyOf((AllOf((_ct("equals", "patient"), HIGH)), _ct("equals", "x"))), {"x": True}),
        (AnyOf((AllOf((_ct("not_equals", "x"), HIGH)), _ct("equals", "x"))), {"referral": None}),
    ],
)
def test_s_rule_1_a_rule_on_one_case_type_tests_what_the_type_leaves_open(
    criterion: AllOf | AnyOf | Condition, settled: dict[str, bool | None]
) -> None:
    """A decision settles a criteria rule's conditions on the case type once per type
    (``compile_on_type``): what is left must meet exactly the cases the whole criteria meet,
    and a rule settled as never (or always) holding must hold on no (or every) case of it."""
    for case_type in TYPES:
        test = compile_on_type(criterion, case_type)
        if case_type in settled:
            want = settled[case_type]
            assert test is want if want is not None else not isinstance(test, bool)
        for properties in ({"priority": "high"}, {"priority": "low"}, {}):
            other = case(1, "group:7", case_type=case_type, properties=properties)
            held = test if isinstance(test, bool) else test(other)
            assert held == matches(criterion, other), (case_type, properties)
