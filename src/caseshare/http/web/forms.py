"""A form's values and its refusals: each §14 sentence beside the field it concerns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from caseshare.core.errors import CaseShareError


@dataclass(frozen=True)
class Problem:
    field: str  # the id of the control the summary links to
    message: str
    code: str


@dataclass
class FormState:
    """What the person typed (kept when the form comes back) and what was refused."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def error(self, name: str) -> Problem | None:
        return next((p for p in self.problems if p.field == name), None)

    def refuse(self, name: str, message: str, code: str = "validation_error") -> None:
        self.problems.append(Problem(name, message, code))

    def refused(self, exc: CaseShareError, fields: Mapping[str, str], default: str) -> None:
        """The service's refusal, beside the field its code concerns (else ``default``)."""
        self.refuse(fields.get(exc.code, default), exc.message, exc.code)

    @property
    def ok(self) -> bool:
        return not self.problems


#: codes that mean "you may not" or "there is nothing here": the 403 and 404 pages, not a field
ACCESS_CODES = frozenset({"not_found", "insufficient_access"})


def form_text(form: Mapping[str, object], name: str, limit: int = 10_000) -> str:
    """A text field of a posted form ("" when absent or a file), cut at ``limit``."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""
