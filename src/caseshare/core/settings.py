"""Agency settings (SPEC §1.1): each a mechanism from a reference system, with its default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Level

DEFAULT_ACCESS_VALUES = ("private", "read", "edit", "transfer")
EDIT_POLICIES = ("access", "owners")
ORDERINGS = ("received", "reconcile")
CHILD_ACCESS = ("none", "read", "edit")
MAX_CASE_TYPE = 100


@dataclass(frozen=True)
class Settings:
    """One agency's sharing settings; ``default_access`` maps case types (and ``*``) to a value."""

    case_sharing: bool = False
    default_access: Mapping[str, str] = field(default_factory=lambda: {"*": "private"})
    hierarchy_access: bool = True
    child_access: str = "read"
    edit_policy: str = "access"
    ordering: str = "received"
    extension_close_cascade: bool = False

    def default_for(self, case_type: str) -> str:
        """The org-wide default for a case type: its own entry, else ``*``, else private."""
        value = self.default_access.get(case_type)
        if value is None:
            value = self.default_access.get("*", "private")
        return value

    def default_level(self, case_type: str) -> Level:
        return _DEFAULT_LEVEL[self.default_for(case_type)]

    @property
    def child_level(self) -> Level:
        return Level.parse(self.child_access)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["default_access"] = dict(self.default_access)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Settings:
        return cls().updated(data or {})

    def updated(self, changes: Mapping[str, Any]) -> Settings:
        """A copy with ``changes`` applied, each validated; unknown keys are refused."""
        known = {f.name for f in fields(self)}
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise CaseShareError(
                    "validation_error",
                    f"Unknown agency setting {key!r} (known: {', '.join(sorted(known))}).",
                )
            values[key] = _validate(key, value)
        return replace(self, **values)


_DEFAULT_LEVEL = {
    "private": Level.NONE,
    "read": Level.READ,
    "edit": Level.EDIT,
    "transfer": Level.EDIT,
}


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CaseShareError(
            "validation_error",
            f"Setting {key} must be one of {', '.join(allowed)}, not {value!r}.",
        )
    return str(value)


def _validate(key: str, value: Any) -> Any:
    if key in ("case_sharing", "hierarchy_access", "extension_close_cascade"):
        if not isinstance(value, bool):
            raise CaseShareError("validation_error", f"Setting {key} must be true or false.")
        return value
    if key == "default_access":
        if isinstance(value, str):
            value = {"*": value}
        if not isinstance(value, Mapping):
            raise CaseShareError(
                "validation_error",
                "Setting default_access maps case types (or *) to private, read, edit or transfer.",
            )
        for case_type in value:
            if not isinstance(case_type, str) or not 0 < len(case_type) <= MAX_CASE_TYPE:
                raise CaseShareError(
                    "validation_error",
                    f"A case type in default_access has 1 to {MAX_CASE_TYPE} characters.",
                )
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in case_type):
                raise CaseShareError(
                    "validation_error", "A case type in default_access is one line of text."
                )
        return {
            str(k): _choice(f"default_access[{k}]", v, DEFAULT_ACCESS_VALUES)
            for k, v in value.items()
        }
    if key == "child_access":
        return _choice(key, value, CHILD_ACCESS)
    if key == "edit_policy":
        return _choice(key, value, EDIT_POLICIES)
    return _choice(key, value, ORDERINGS)
