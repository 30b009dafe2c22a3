"""A case's audit events (S-AUD-1) as sentences: who did what, with names, never ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.http.web.words import Names, kind_words, type_words
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


def _identifiers(snapshot: dict[str, Any]) -> dict[tuple[str, str], bool]:
    found = snapshot.get("identifiers")
    if not isinstance(found, list):
        return {}
    return {
        (str(i.get("type")), str(i.get("value"))): bool(i.get("deconfliction"))
        for i in found
        if isinstance(i, dict)
    }


def _target_change(action: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """A target's audit event (``target.*``) in words, naming the target and what changed."""
    name = after.get("name") or before.get("name") or "a target"
    kind = kind_words(str(after.get("kind") or before.get("kind") or "")).lower()
    if action == "target.create":
        idents = _identifiers(after)
        tail = f" with {len(idents)} identifier(s)" if idents else ""
        return f"added the target {name} ({kind}){tail}"
    if action == "target.delete":
        return f"removed the target {name} ({kind})"
    if action == "target.update":
        said = []
        if after.get("name") != before.get("name"):
            said.append(f"renamed the target {before.get('name')} to {name}")
        if after.get("kind") != before.get("kind"):
            said.append(f"made {name} a {kind}")
        return "; ".join(said) or f"saved the target {name} unchanged"
    old, new = _identifiers(before), _identifiers(after)
    parts = []
    for key in new.keys() - old.keys():
        parts.append(f"added the {type_words(key[0]).lower()} {key[1]}")
    for key in old.keys() - new.keys():
        parts.append(f"removed the {type_words(key[0]).lower()} {key[1]}")
    for key in old.keys() & new.keys():
        if old[key] != new[key]:
            state = "on" if new[key] else "off"
            parts.append(f"turned deconfliction {state} for {key[1]}")
    what = "; ".join(sorted(parts)) or "saved an identifier unchanged"
    return f"{what} (target {name})"


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
    if text is None and event.action.startswith("target."):
        text = _target_change(event.action, before, after)
    if text is None:
        text = _changes(before, after) if event.action == "case.update" else event.action
    return Line(event.at, names.principal(event.actor), text, event.reason)
