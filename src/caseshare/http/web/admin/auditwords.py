"""Audit events (S-AUD-1) as sentences for the agency's audit log: who did what to whom, in
names. Case events read as a case's history does; agency events say what changed, before and
after. An action without a sentence of its own is shown as it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caseshare.http.web.words import Names
from caseshare.store import AuditEvent

#: the audit log's "what changed" filter: the actions' first words, in a person's words
KIND_WORDS = {
    "case": "Cases",
    "share": "Manual shares",
    "assignment": "Assignments",
    "team": "Case teams",
    "rule": "Sharing rules",
    "agency": "Agency settings",
    "user": "Users",
    "token": "API tokens",
    "group": "Groups and memberships",
    "location": "Locations",
    "location_type": "Location types",
    "role": "Roles",
    "team_role": "Team roles",
    "submission": "Device forms",
}
_FIXED = {
    "case.close": "closed the case",
    "case.delete": "moved the case to the recycle bin",
    "case.restore": "restored the case from the recycle bin",
    "case.purge": "purged the case for good",
    "case.rebuild": "rebuilt the case from its device forms",
    "agency.create": "created the agency",
    "user.create": "added the user",
    "user.deactivate": "deactivated the user",
    "user.activate": "reactivated the user",
    "user.password": "set the user's password",
    "user.profile": "changed the user's name or email",
    "user.permissions": "changed the user's permissions",
    "user.role": "changed the user's role",
    "user.locations": "changed the user's locations",
    "token.create": "created an API token",
    "token.revoke": "revoked an API token",
    "group.create": "created the group",
    "group.update": "changed the group",
    "location.create": "created the location",
    "location.update": "changed the location",
    "location_type.create": "created the location type",
    "location_type.update": "changed the location type",
    "role.create": "created the role",
    "role.update": "changed the role",
    "team_role.create": "created the team role",
    "team_role.update": "changed the team role's level",
    "team_role.delete": "deleted the team role",
    "rule.create": "created the sharing rule",
    "rule.update": "changed the sharing rule",
    "rule.delete": "deleted the sharing rule",
    "agency.settings": "changed the sharing settings",
    "submission.archive": "archived the device form",
    "submission.unarchive": "unarchived the device form",
}


def _level(value: Any) -> str:
    return {"read": "read", "edit": "edit", "full": "full access"}.get(str(value), str(value))


def describe(event: AuditEvent, names: Names) -> str:
    """What the event's actor did, as a sentence without the actor."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    who = names.principal(
        after.get("grantee") or before.get("grantee") or after.get("user") or before.get("user")
    )
    action = event.action
    if action == "case.create":
        return f"created the case, owned by {names.principal(after.get('owner'))}"
    if action == "case.owner":
        return (
            f"gave the case to {names.principal(after.get('owner'))}"
            f" (it was {names.principal(before.get('owner'))}'s)"
        )
    if action == "case.update":
        return "changed the case"
    if action == "share.create":
        return f"shared the case with {who} ({_level(after.get('level'))})"
    if action == "share.update":
        return f"changed {who}'s share to {_level(after.get('level'))}"
    if action == "share.delete":
        return f"removed {who}'s share"
    if action == "assignment.create":
        return f"assigned {who} to the case"
    if action == "assignment.delete":
        return f"unassigned {who}"
    if action in ("team.create", "team.update"):
        return f"made {who} {after.get('role', '')} in the case team"
    if action == "team.delete":
        return f"removed {who} from the case team"
    if action == "group.member.add":
        return f"added {names.principal(after.get('member'))} to the group"
    if action == "group.member.remove":
        return f"took {names.principal(before.get('member'))} out of the group"
    return _FIXED.get(action, action)


def subject_words(event: AuditEvent, names: Names, rules: Mapping[int, str] | None = None) -> str:
    """What the event is about: a case's id, a person's, group's or rule's name, a form's id."""
    kind, _, key = event.subject.partition(":")
    if kind in ("user", "group", "location", "role"):
        return names.principal(event.subject)
    if kind == "rule" and key.isascii() and key.isdigit() and int(key) in (rules or {}):
        return f"rule “{(rules or {})[int(key)]}”"
    if kind == "case":
        return f"case {key}"
    if kind == "submission":
        return f"form {key}"
    if kind == "agency":
        return names.agency_name
    return event.subject.replace("_", " ").replace(":", " ")


def _switch(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def _settings_words(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """What a settings change changed: each switch, and each case type's default access."""
    said = []
    for key, new in after.items():
        old = before.get(key)
        if key == "default_access" and isinstance(new, dict):
            old_map = old if isinstance(old, dict) else {}
            for case_type in sorted(set(old_map) | set(new)):
                if old_map.get(case_type) != new.get(case_type):
                    which = "every other case type" if case_type == "*" else case_type
                    was, now = old_map.get(case_type) or "default", new.get(case_type) or "default"
                    said.append(f"default access of {which}: {was} → {now}")
        elif old != new:
            said.append(f"{key.replace('_', ' ')}: {_switch(old)} → {_switch(new)}")
    return "; ".join(said)


def change_words(event: AuditEvent, names: Names) -> str:
    """The fields an agency change touched, before → after, names for principals."""
    if event.subject.startswith("case:") or not isinstance(event.after, dict):
        return ""
    before = event.before if isinstance(event.before, dict) else {}
    if event.action == "agency.settings":
        return _settings_words(before, event.after)
    kind = event.subject.partition(":")[0]

    def shown(key: str, value: Any) -> str:
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in ("parent_id", "parent") and kind in ("role", "location"):
            return names.principal(f"{kind}:{value}")
        if key == "role_id":
            return names.principal(f"role:{value}")
        return names.said(str(value))

    said = []
    for key, new in event.after.items():
        if key in ("member", "cases", "criteria", "settings") or isinstance(new, dict | list):
            continue
        old = before.get(key)
        label = key.removesuffix("_id").replace("_", " ")
        if key in before and old != new:
            said.append(f"{label}: {shown(key, old)} → {shown(key, new)}")
        elif key not in before:
            said.append(f"{label}: {shown(key, new)}")
    return "; ".join(said)
