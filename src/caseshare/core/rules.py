"""Sharing rules (S-RULE-1): owner rules and criteria rules, matched at decision time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level
from caseshare.core.model import CaseFacts
from caseshare.core.principals import Principal

MAX_RULES: Final = 300
MAX_CRITERIA_RULES: Final = 50
FIELDS: Final = ("case_type", "name", "owner", "property")
OPS: Final = ("equals", "not_equals", "in", "exists", "starts_with")


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a case field or property."""

    field: str
    op: str
    value: str | tuple[str, ...] | None = None
    key: str | None = None  # the property name when field == "property"


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Criterion, ...]


Criterion = Condition | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class Rule:
    """A sharing rule: its grantee gets ``level`` on every case the rule matches."""

    id: int
    agency_id: int
    name: str
    kind: str  # "owner" or "criteria"
    grantee: Principal
    level: Level
    active: bool = True
    owner_in: Principal | None = None
    criteria: Criterion | None = None


def _fail(message: str) -> CaseShareError:
    return CaseShareError("validation_error", message)


def parse_criteria(data: Any) -> Criterion:
    """Read the short form ``{case_type: x, properties: {k: v}}`` or the long all/any form."""
    if not isinstance(data, Mapping) or not data:
        raise _fail("A criteria rule needs conditions: a mapping such as {case_type: patient}.")
    if set(data) == {"all"} or set(data) == {"any"}:
        ((word, items),) = data.items()
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise _fail(f"'{word}' takes a non-empty list of conditions.")
        parsed = tuple(parse_criteria(item) for item in items)
        return AllOf(parsed) if word == "all" else AnyOf(parsed)
    return _short_form(data)


def _short_form(data: Mapping[str, Any]) -> Criterion:
    if "field" in data:
        return _condition(data)
    items: list[Criterion] = []
    for name, value in data.items():
        if name == "properties":
            if not isinstance(value, Mapping):
                raise _fail("'properties' maps property names to values.")
            for key, pvalue in value.items():
                items.append(_short("property", pvalue, str(key)))
        elif name in ("case_type", "name", "owner"):
            items.append(_short(name, value, None))
        else:
            raise _fail(f"Unknown criteria field {name!r} (case_type, name, owner, properties).")
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _short(field: str, value: Any, key: str | None) -> Condition:
    if isinstance(value, list | tuple):
        return Condition(field, "in", tuple(str(v) for v in value), key)
    return Condition(field, "equals", str(value), key)


def _condition(data: Mapping[str, Any]) -> Condition:
    field = data.get("field")
    op = data.get("op", "equals")
    if field not in FIELDS:
        raise _fail(f"Condition field must be one of {', '.join(FIELDS)}, not {field!r}.")
    if op not in OPS:
        raise _fail(f"Condition op must be one of {', '.join(OPS)}, not {op!r}.")
    key = data.get("key")
    if field == "property" and (not isinstance(key, str) or not key.strip()):
        raise _fail("A property condition names the property with 'key', a text.")
    if key is not None and not isinstance(key, str):
        raise _fail("A condition's 'key' is a property name: text.")
    value = data.get("value")
    if op == "exists":
        return Condition(field, op, None, key)
    if op == "in":
        if not isinstance(value, list | tuple) or not value:
            raise _fail("The 'in' operator takes a non-empty list of values.")
        return Condition(field, op, tuple(str(v) for v in value), key)
    if value is None or isinstance(value, list | tuple | Mapping):
        raise _fail(f"The {op!r} operator takes one value.")
    return Condition(field, op, str(value), key)


def criteria_to_data(criterion: Criterion) -> dict[str, Any]:
    """The long form, for storage; ``parse_criteria`` reads it back unchanged."""
    if isinstance(criterion, AllOf):
        return {"all": [criteria_to_data(c) for c in criterion.items]}
    if isinstance(criterion, AnyOf):
        return {"any": [criteria_to_data(c) for c in criterion.items]}
    out: dict[str, Any] = {"field": criterion.field, "op": criterion.op}
    if criterion.key is not None:
        out["key"] = criterion.key
    if criterion.value is not None:
        out["value"] = (
            list(criterion.value) if isinstance(criterion.value, tuple) else (criterion.value)
        )
    return out


Matcher = Callable[[CaseFacts], bool]


def _getter(condition: Condition) -> Callable[[CaseFacts], str | None]:
    if condition.field == "case_type":
        return lambda case: case.case_type
    if condition.field == "name":
        return lambda case: case.name
    if condition.field == "owner":
        return lambda case: str(case.owner)
    key = condition.key or ""
    return lambda case: case.properties.get(key)


def compile_criteria(criterion: Criterion) -> Matcher:
    """The criteria as one function, built once per rule: ``matches`` without re-walking.

    The commonest tests (a case type, a property equal to or among values) read the field
    inline instead of through a getter, and AND/OR loop without a generator: a decision runs
    every applicable rule of the user on the case and on its neighbours."""
    if isinstance(criterion, AllOf | AnyOf):
        parts = tuple(compile_criteria(c) for c in criterion.items)
        if len(parts) == 1:
            return parts[0]
        if isinstance(criterion, AllOf):
            if len(parts) == 2:
                first, second = parts
                return lambda case: first(case) and second(case)

            def all_of(case: CaseFacts) -> bool:
                for part in parts:  # noqa: SIM110 (reason: all() of a generator is slower)
                    if not part(case):
                        return False
                return True

            return all_of
        if len(parts) == 2:
            first, second = parts
            return lambda case: first(case) or second(case)

        def any_of(case: CaseFacts) -> bool:
            for part in parts:  # noqa: SIM110 (reason: any() of a generator is slower)
                if part(case):
                    return True
            return False

        return any_of
    op, value = criterion.op, criterion.value
    if criterion.field == "case_type" and op in ("equals", "in"):
        if op == "equals":
            return lambda case: case.case_type == value
        types = frozenset(value or ())
        return lambda case: case.case_type in types
    if criterion.field == "property" and op in ("equals", "in"):
        key = criterion.key or ""
        if op == "equals":
            return lambda case: case.properties.get(key) == value
        values = frozenset(value or ())
        return lambda case: case.properties.get(key) in values
    get = _getter(criterion)
    if op == "not_equals":
        return lambda case: get(case) != value
    if op == "exists":
        return lambda case: bool(get(case))
    if op == "equals":
        return lambda case: get(case) == value
    if op == "in":
        values = frozenset(value or ())
        return lambda case: get(case) in values
    prefix = value if isinstance(value, str) else ""

    def starts(case: CaseFacts) -> bool:
        found = get(case)
        return found is not None and found.startswith(prefix)

    return starts


def compile_on_type(criterion: Criterion, case_type: str) -> Matcher | bool:
    """The criteria's test on cases of one type, built once per user and type: every condition
    on the case type is settled here, so a decision tests only what is left (True or False when
    nothing is: the rule then holds on every case of the type, or on none)."""
    settled = _on_type(criterion, _probe(case_type))
    return settled if isinstance(settled, bool) else compile_criteria(settled)


def _probe(case_type: str) -> CaseFacts:
    """A case of the type and nothing else: a condition on the case type reads only that."""
    return CaseFacts(0, 0, "", case_type, "", Principal("user", 0))


def _on_type(criterion: Criterion, probe: CaseFacts) -> Criterion | bool:
    if isinstance(criterion, Condition):
        if criterion.field != "case_type":
            return criterion
        return compile_criteria(criterion)(probe)  # the same test a case would meet
    items = [_on_type(c, probe) for c in criterion.items]
    decisive = isinstance(criterion, AnyOf)  # the value that settles the whole: any / all
    if any(c is decisive for c in items):
        return decisive
    left = tuple(c for c in items if not isinstance(c, bool))
    if not left:
        return not decisive
    if len(left) == 1:
        return left[0]
    return AnyOf(left) if decisive else AllOf(left)


def matches(criterion: Criterion, case: CaseFacts) -> bool:
    """Whether the case meets the criteria; a missing property only ever meets ``not_equals``."""
    return compile_criteria(criterion)(case)


def check_limits(existing: Sequence[Rule], kind: str) -> None:
    """S-RULE-1 limits: at most 300 rules an agency, of which at most 50 criteria rules."""
    if len(existing) >= MAX_RULES:
        raise _fail(f"An agency holds at most {MAX_RULES} sharing rules; delete one first.")
    if kind == "criteria" and sum(r.kind == "criteria" for r in existing) >= MAX_CRITERIA_RULES:
        raise _fail(
            f"An agency holds at most {MAX_CRITERIA_RULES} criteria rules; delete one first."
        )
