"""Principals and the one canonical text form of a grant: ``case:C1#edit@group:7``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple

from caseshare.core.errors import CaseShareError

KINDS: Final = ("user", "group", "location", "role", "role_tree", "agency")
#: Principals that may own cases (S-OWN-1); locations only when their type shares cases.
OWNER_KINDS: Final = ("user", "group", "location")


class Principal(NamedTuple):
    """Anything that can own a case or receive a share, named by kind and store id.

    A named tuple, so hashing and comparing (done millions of times in decisions) run in C.
    """

    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Principal:
        kind, key = parse_ref(text)
        # ASCII digits only: "²".isdigit() is true, yet int("²") fails
        if not (key.isascii() and key.isdigit()) or len(key) > 18:
            raise CaseShareError("validation_error", f"{text!r}: a principal id is a number.")
        return cls(kind, int(key))


_INTERNED: dict[str, Principal] = {}


def principal_of(text: str) -> Principal:
    """``Principal.parse`` for the store's own trusted text, interned: rows repeat grantees."""
    found = _INTERNED.get(text)
    if found is None:
        found = Principal.parse(text)
        if len(_INTERNED) < 200_000:
            _INTERNED[text] = found
    return found


def parse_ref(text: str) -> tuple[str, str]:
    """Split ``kind:key`` into its parts; the key is left as text (a store id or a file name)."""
    kind, sep, key = text.strip().partition(":")
    if not sep or not key:
        raise CaseShareError(
            "validation_error", f"{text!r} is not a principal: write kind:id, e.g. group:7."
        )
    if kind not in KINDS:
        raise CaseShareError(
            "validation_error",
            f"{text!r}: unknown principal kind {kind!r} (one of {', '.join(KINDS)}).",
        )
    return kind, key


_GRANT = re.compile(r"^case:(?P<case>[^#@\s]+)(?:#(?P<level>[^@\s]+))?@(?P<grantee>\S+)$")


@dataclass(frozen=True, slots=True)
class GrantText:
    """A parsed grant ``case:C#level@kind:key``; level may be absent or a team role's name."""

    case: str
    level: str | None
    grantee_kind: str
    grantee_key: str

    def __str__(self) -> str:
        return format_grant(self.case, self.level, f"{self.grantee_kind}:{self.grantee_key}")


def parse_grant(text: str) -> GrantText:
    """Parse the canonical grant form; a clear ``validation_error`` otherwise."""
    match = _GRANT.match(text.strip())
    if match is None:
        raise CaseShareError(
            "validation_error",
            f"{text!r} is not a grant: write case:CASE#level@kind:id, e.g. case:C1#edit@group:7.",
        )
    kind, key = parse_ref(match["grantee"])
    return GrantText(match["case"], match["level"], kind, key)


def format_grant(case: str, level: str | None, grantee: str | Principal) -> str:
    middle = f"#{level}" if level else ""
    return f"case:{case}{middle}@{grantee}"
