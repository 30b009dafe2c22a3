"""Sharing rules in words, and a criteria rule's conditions as rows of a form and back.

A rule reads the way Salesforce's sharing-rule list does: "Cases of type patient whose priority
is high → Nurses (group) can read". The form edits one level of conditions joined by all (AND)
or any (OR); a deeper tree made through the API is shown in words and changed through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from caseshare.core.errors import CaseShareError
from caseshare.core.rules import AllOf, AnyOf, Condition, Criterion, Rule, parse_criteria
from caseshare.http.web.words import Names

FIELDS = (
    ("case_type", "Case type"),
    ("name", "Case name"),
    ("owner", "Owner"),
    ("property", "Property"),
)
OPS = (
    ("equals", "is"),
    ("not_equals", "is not"),
    ("in", "is one of (comma-separated)"),
    ("exists", "is set"),
    ("starts_with", "starts with"),
)
_OP_WORDS = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is one of",
    "starts_with": "starts with",
}
_FIELD_WORDS = {"case_type": "the case type", "name": "the name", "owner": "the owner"}


def condition_words(c: Condition, names: Names) -> str:
    subject = _FIELD_WORDS.get(c.field, f"“{c.key}”")
    if c.op == "exists":
        return f"{subject} is set"
    values = c.value if isinstance(c.value, tuple) else (c.value or "",)
    shown = [names.principal(v) if c.field == "owner" else v for v in values]
    return f"{subject} {_OP_WORDS[c.op]} {', '.join(shown)}"


def criteria_words(criterion: Criterion, names: Names, top: bool = True) -> str:
    if isinstance(criterion, Condition):
        return condition_words(criterion, names)
    joiner = " and " if isinstance(criterion, AllOf) else " or "
    text = joiner.join(criteria_words(c, names, False) for c in criterion.items)
    return text if top else f"({text})"


def rule_words(rule: Rule, names: Names) -> str:
    """Which cases the rule shares."""
    if rule.kind == "owner" and rule.owner_in is not None:
        source = names.principal(rule.owner_in)
        if rule.owner_in.kind == "group":
            return f"Cases owned by {source}, its members or the groups in it"
        if rule.owner_in.kind in ("role", "role_tree"):
            return f"Cases owned by the people of {source}"
        return f"Cases owned by {source}"
    if rule.criteria is not None:
        return f"Cases where {criteria_words(rule.criteria, names)}"
    return "No cases"


# -- conditions as form rows ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    field: str = "case_type"
    key: str = ""
    op: str = "equals"
    value: str = ""

    @property
    def empty(self) -> bool:
        return not self.value.strip() and self.op != "exists" and not self.key.strip()


def rows_of(criterion: Criterion | None, names: Names) -> tuple[str, list[Row]] | None:
    """(all|any, rows) for a criteria the form can show; None for a deeper tree."""
    if criterion is None:
        return "all", []
    if isinstance(criterion, Condition):
        items: tuple[Criterion, ...] = (criterion,)
        match = "all"
    else:
        items = criterion.items
        match = "all" if isinstance(criterion, AllOf) else "any"
    rows = []
    for c in items:
        if not isinstance(c, Condition):
            return None
        values = c.value if isinstance(c.value, tuple) else (c.value or "",)
        shown = [names.principal(v) if c.field == "owner" else v for v in values]
        rows.append(Row(c.field, c.key or "", c.op, ", ".join(shown)))
    return match, rows


def condition_of(row: Row, owner: Callable[[str], str]) -> Condition:
    """One row as a condition, checked by the core's own parser (its sentences); an owner's
    name becomes the owner it names (``owner``)."""
    data: dict[str, object] = {"field": row.field, "op": row.op}
    if row.field == "property":
        data["key"] = row.key.strip()
    values = [v.strip() for v in row.value.split(",") if v.strip()]
    if row.field == "owner":
        values = [owner(v) for v in values]
    if row.op == "in":
        data["value"] = values
    elif row.op != "exists":
        if not row.value.strip():
            raise CaseShareError("validation_error", "Give the value the condition compares.")
        data["value"] = values[0] if row.field == "owner" else row.value.strip()
    parsed = parse_criteria(data)
    assert isinstance(parsed, Condition)
    return parsed


def joined(match: str, conditions: list[Condition]) -> Criterion:
    if len(conditions) == 1:
        return conditions[0]
    return AllOf(tuple(conditions)) if match == "all" else AnyOf(tuple(conditions))
