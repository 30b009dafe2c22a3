"""A case's audit events (S-AUD-1) as sentences: who did what, with names, never ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.http.web.words import Names
from caseshare.store.audit import AuditEvent

FIELD_WORDS = {"name": "name", "external_id": "external ID", "case_type": "case type"}


@dataclass(frozen=True)
class Line:
    at: str
    actor: str
    text: str
    reason: str


def _level(value: Any) -> str:
    return {"read": "read", "edit": "edit", "full": "full access"}.get(str(value), str(value))


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What an edit changed, in words: fields, and properties added, changed or removed."""
    said = []
    for key, word in FIELD_WORDS.items():
        if after.get(key) is not None and after.get(key) != before.get(key):
            said.append(f"{word} to “{after[key]}”")
    old = before.get("properties") or {}
    new = after.get("properties")
    if isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key not in new:
                said.append(f"removed {key}")
            elif old.get(key) != new[key]:
                said.append(f"{key} to “{new[key]}”")
    if after.get("closed") and not before.get("closed"):
        said.append("closed the case")
    if after.get("owner") and after.get("owner") != before.get("owner"):
        said.append("owner")
    return "changed " + ", ".join(said) if said else "updated the case"


def describe(event: AuditEvent, names: Names) -> Line:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    who = names.principal(after.get("grantee") or before.get("grantee") or after.get("user") or "")
    text = {
        "case.create": f"created the case, owned by {names.principal(after.get('owner'))}",
        "case.close": "closed the case",
        "case.owner": (
            f"changed the owner from {names.principal(before.get('owner'))}"
            f" to {names.principal(after.get('owner'))}"
        ),
        "case.delete": "moved the case to the recycle bin",
        "case.restore": "restored the case from the recycle bin",
        "case.purge": "purged the case",
        "case.rebuild": "rebuilt the case from its device forms",
        "share.create": f"shared the case with {who} ({_level(after.get('level'))})",
        "share.update": (
            f"changed the share of {who} from {_level(before.get('level'))}"
            f" to {_level(after.get('level'))}"
        ),
        "share.delete": f"removed the share of {who}",
        "assignment.create": f"assigned {who} to the case",
        "assignment.delete": f"unassigned {who}",
        "team.create": f"added {who} to the case team as {after.get('role', '')}",
        "team.update": f"made {who} {after.get('role', '')} in the case team",
        "team.delete": f"removed {who} from the case team",
    }.get(event.action)
    if text is None:
        text = _changes(before, after) if event.action == "case.update" else event.action
    return Line(event.at, names.principal(event.actor), text, event.reason)
