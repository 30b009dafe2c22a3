"""Access levels, row causes and the actions they allow (SPEC §3)."""

from __future__ import annotations

import enum


class Level(enum.IntEnum):
    """Ordered access levels: none < read < edit < full."""

    NONE = 0
    READ = 1
    EDIT = 2
    FULL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown access level {text!r} (none, read, edit, full)") from None


class Cause(enum.StrEnum):
    """Row causes: every way a user can reach a case."""

    DEFAULT = "default"
    OWNER = "owner"
    HIERARCHY = "hierarchy"
    ASSIGNED = "assigned"
    MANUAL = "manual"
    TEAM = "team"
    RULE = "rule"
    IMPLICIT_CHILD = "implicit_child"
    IMPLICIT_PARENT = "implicit_parent"
    SYNC = "sync"
    AGENCY_SHARE = "agency_share"
    PERMISSION = "permission"


#: Causes whose grants count as "direct" for implicit parent/child access (SPEC §3).
DIRECT_CAUSES = frozenset(
    {
        Cause.OWNER,
        Cause.HIERARCHY,
        Cause.ASSIGNED,
        Cause.MANUAL,
        Cause.TEAM,
        Cause.RULE,
        Cause.AGENCY_SHARE,
    }
)

#: Causes capped at read under edit_policy = owners (S-ACC-5); hierarchy is decided per grant.
OWNERS_POLICY_CAPPED = frozenset(
    {
        Cause.DEFAULT,
        Cause.MANUAL,
        Cause.TEAM,
        Cause.RULE,
        Cause.IMPLICIT_CHILD,
        Cause.IMPLICIT_PARENT,
        Cause.AGENCY_SHARE,
    }
)

#: Causes stored as rows (manual shares, assignments, team memberships).
STORED_CAUSES = frozenset({Cause.MANUAL, Cause.ASSIGNED, Cause.TEAM})


class Action(enum.StrEnum):
    """Named actions on a case."""

    VIEW = "view"
    EDIT = "edit"
    CLOSE = "close"
    DELETE = "delete"
    SHARE = "share"
    TRANSFER = "transfer"

    @classmethod
    def parse(cls, text: str) -> Action:
        aliases = {"update": "edit", "read": "view"}
        key = aliases.get(text.strip().lower(), text.strip().lower())
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(a.value for a in cls)
            raise ValueError(f"unknown action {text!r} ({names})") from None


REQUIRED_LEVEL: dict[Action, Level] = {
    Action.VIEW: Level.READ,
    Action.EDIT: Level.EDIT,
    Action.CLOSE: Level.EDIT,
    Action.DELETE: Level.FULL,
    Action.SHARE: Level.FULL,
    Action.TRANSFER: Level.FULL,
}
