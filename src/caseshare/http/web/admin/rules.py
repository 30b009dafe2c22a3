"""Sharing › Sharing rules (S-RULE-1), as Salesforce's sharing rules: owner rules share the cases
owned by someone (a person, a group and its members, a location, a role) and criteria rules the
cases whose type, name, owner or properties meet conditions joined by all (AND) or any (OR);
each gives a grantee read or edit. An agency holds at most 300 rules, 50 of them criteria rules:
past that, the refusal stands beside the form. A change gives or takes access at once.

The forms work without JavaScript: "Search" finds people and groups by name and "Add another
condition" adds a row, each answering the same form with what was typed kept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData

from caseshare.core.errors import CaseShareError
from caseshare.core.principals import Principal
from caseshare.core.rules import MAX_CRITERIA_RULES, MAX_RULES, Condition, Rule
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted, checked, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.admin.rulewords import (
    FIELDS,
    OPS,
    Row,
    condition_of,
    joined,
    rows_of,
    rule_words,
)
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.pickers import picked, resolve_pick
from caseshare.http.web.templating import redirect
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

RuleId = Annotated[int, Path(ge=1, le=2**62)]
GRANTEES = ("user", "group", "location", "role", "role_tree")
OWNERS = ("user", "group", "location", "role", "role_tree")
LEVELS = (("read", "Read only"), ("edit", "Read/write"))
MATCH = (("all", "All of the conditions (AND)"), ("any", "Any of the conditions (OR)"))
BLANK_ROWS = 3
MAX_ROWS = 20


def rules_page(request: Request, svc: Caseshare, viewer: Viewer) -> Response:
    rules = svc.context(viewer.agency_id).rules
    words = names(svc, viewer)
    rows = [
        {"rule": r, "shares": rule_words(r, words), "grantee": words.principal(r.grantee)}
        for r in sorted(rules, key=lambda r: r.name.casefold())
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "rules.html",
        "sharing",
        {
            "title": "Sharing rules",
            "rows": rows,
            "count": len(rules),
            "criteria": sum(r.kind == "criteria" for r in rules),
            "max_rules": MAX_RULES,
            "max_criteria": MAX_CRITERIA_RULES,
        },
    )


@router.get("/admin/sharing/rules")
def rules(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return rules_page(request, svc, viewer)


# -- the rule form ------------------------------------------------------------------------------


def _rows(posted: FormData) -> list[Row]:
    count = form_text(posted, "rows", 5)
    n = min(int(count), MAX_ROWS) if count.isascii() and count.isdigit() else BLANK_ROWS
    return [
        Row(
            form_text(posted, f"field_{i}", 20) or "case_type",
            form_text(posted, f"key_{i}", 300),
            form_text(posted, f"op_{i}", 20) or "equals",
            form_text(posted, f"value_{i}", 2000),
        )
        for i in range(n)
    ]


def _form_values(base: dict[str, str], rows: list[Row]) -> FormState:
    values = dict(base)
    values["rows"] = str(len(rows))
    for i, row in enumerate(rows):
        values.update(
            {
                f"field_{i}": row.field,
                f"key_{i}": row.key,
                f"op_{i}": row.op,
                f"value_{i}": row.value,
            }
        )
    return FormState(values)


def rule_form(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    kind: str,
    form: FormState,
    *,
    rule: Rule | None = None,
    deep: str = "",
    status: int = 200,
) -> Response:
    """The form of a new rule (``rule`` None) or of one to change; pickers show their matches."""
    pickers: dict[str, Any] = {}
    for name, kinds in (("grantee", GRANTEES), ("owner", OWNERS)):
        query = form.value(f"{name}_q")
        chosen = form.value(name)
        matches: list[Any] = []
        if query:
            chosen, matches, problem = resolve_pick(svc, viewer, chosen, query, kinds, False)
            if problem and form.error(f"{name}-q") is None:
                form.refuse(f"{name}-q", problem)
        pickers[name] = {
            "query": query,
            "matches": matches,
            "chosen": chosen,
            "label": picked(svc, viewer, chosen),
            "kinds": ",".join(kinds),
        }
    rows = int(form.value("rows", str(BLANK_ROWS)))
    verb = "Change" if rule else "Add"
    return admin_page(
        request,
        svc,
        viewer,
        "rule.html",
        "sharing",
        {
            "title": f"{verb} {'an owner' if kind == 'owner' else 'a criteria'} rule",
            "kind": kind,
            "rule": rule,
            "form": form,
            "pickers": pickers,
            "rows": range(rows),
            "fields": FIELDS,
            "ops": OPS,
            "levels": LEVELS,
            "match": MATCH,
            "deep": deep,
            "action": f"/admin/sharing/rules/{rule.id}" if rule else "/admin/sharing/rules/new",
        },
        status,
    )


@router.get("/admin/sharing/rules/new")
def new_rule(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    kind: Annotated[str, Query(pattern="^(owner|criteria)$")] = "criteria",
) -> Response:
    base = {"kind": kind, "level": "read", "active": "1", "match": "all"}
    return rule_form(
        request,
        svc,
        viewer,
        kind,
        _form_values(base, [Row()] * BLANK_ROWS if kind == "criteria" else []),
    )


def _rule(svc: Caseshare, viewer: Viewer, rule_id: int) -> Rule:
    found = next((r for r in svc.context(viewer.agency_id).rules if r.id == rule_id), None)
    if found is None:
        raise CaseShareError("not_found", f"Rule {rule_id} was not found.")
    return found


@router.get("/admin/sharing/rules/{rule_id}")
def show_rule(request: Request, svc: Service, viewer: AdminViewing, rule_id: RuleId) -> Response:
    rule = _rule(svc, viewer, rule_id)
    words = names(svc, viewer)
    shown = rows_of(rule.criteria, words)
    match, rows = shown if shown else ("all", [])
    base = {
        "kind": rule.kind,
        "name": rule.name,
        "level": rule.level.label,
        "active": "1" if rule.active else "",
        "match": match,
        "everyone": "1" if rule.grantee.kind == "agency" else "",
        "grantee": "" if rule.grantee.kind == "agency" else str(rule.grantee),
        "owner": str(rule.owner_in) if rule.owner_in else "",
    }
    deep = "" if shown else rule_words(rule, words)
    return rule_form(
        request,
        svc,
        viewer,
        rule.kind,
        _form_values(base, [*rows, Row()] if rule.kind == "criteria" else []),
        rule=rule,
        deep=deep,
    )


def _owner_of(svc: Caseshare, viewer: Viewer) -> Any:
    """A typed owner (a name, or ``group:7``) as the owner it names, else the reason why not."""

    def owner(text: str) -> str:
        try:
            principal = Principal.parse(text)
            if svc.context(viewer.agency_id).directory.can_own(principal):
                return str(principal)
        except CaseShareError:
            pass
        found = svc.search_principals(
            viewer.agency_id, text, ("user", "group", "location"), owners_only=True
        )
        exact = [m for m in found if m.name.casefold() == text.casefold()]
        if len(exact) == 1 or len(found) == 1:
            return (exact or found)[0].value
        raise CaseShareError(
            "validation_error",
            f"No person, case-sharing group or location is called “{text}”."
            if not found
            else f"Several owners match “{text}”: write the whole name.",
        )

    return owner


def _save(
    request: Request, svc: Caseshare, viewer: Viewer, posted: FormData, rule: Rule | None
) -> Response:
    kind = rule.kind if rule else form_text(posted, "kind", 10)
    if kind not in ("owner", "criteria"):
        raise CaseShareError("validation_error", "A rule's kind is owner or criteria.")
    keys = ("name", "level", "match", "grantee", "grantee_q", "owner", "owner_q")
    base = {k: form_text(posted, k, 1000) for k in keys}
    base.update(
        kind=kind,
        active="1" if checked(posted, "active") else "",
        everyone="1" if checked(posted, "everyone") else "",
    )
    rows = _rows(posted) if kind == "criteria" else []
    find = form_text(posted, "find", 20)
    if form_text(posted, "more", 5) and len(rows) < MAX_ROWS:
        rows.append(Row())
    form = _form_values(base, rows)
    if find or form_text(posted, "more", 5):  # a search or another row: the same form again
        return rule_form(request, svc, viewer, kind, form, rule=rule)
    words = names(svc, viewer)
    grantee = _chosen(svc, viewer, form, "grantee", GRANTEES)
    if base["everyone"]:
        grantee = f"agency:{viewer.agency_id}"
    elif not grantee and form.error("grantee-q") is None:
        form.refuse("grantee-q", "Choose who gets access: search, then pick one.")
    owner = _chosen(svc, viewer, form, "owner", OWNERS) if kind == "owner" else ""
    if kind == "owner" and not owner and form.error("owner-q") is None:
        form.refuse("owner-q", "Choose whose cases the rule shares: search, then pick one.")
    criteria = None
    if kind == "criteria":
        conditions: list[Condition] = []
        for i, row in enumerate(rows):
            if row.empty:
                continue
            try:
                conditions.append(condition_of(row, _owner_of(svc, viewer)))
            except CaseShareError as exc:
                field = f"key_{i}" if "property" in exc.message.lower() else f"value_{i}"
                form.refuse(field, words.said(exc.message), exc.code)
        if not conditions and form.ok:
            form.refuse("field_0", "Give at least one condition a case must meet.")
        criteria = joined(base["match"] if base["match"] == "any" else "all", conditions)
    if form.ok:
        try:
            level = base["level"] if base["level"] in ("read", "edit") else "full"
            if rule is None:
                svc.add_rule(
                    viewer.agency_id,
                    viewer.user_id,
                    base["name"],
                    kind,
                    grantee,
                    level,
                    owner_in=owner or None,
                    criteria=criteria,
                    active=bool(base["active"]),
                )
            else:
                svc.update_rule(
                    viewer.agency_id,
                    viewer.user_id,
                    rule.id,
                    name=base["name"],
                    grantee=grantee,
                    level=level,
                    owner_in=owner or None,
                    criteria=criteria,
                    active=bool(base["active"]),
                )
        except CaseShareError as exc:
            fields = {"invalid_access_level": "level", "invalid_grantee": "grantee-q"}
            refuse(form, exc, words, fields, "name")
    if not form.ok:
        return rule_form(request, svc, viewer, kind, form, rule=rule, status=422)
    verb = "Added" if rule is None else "Saved"
    return redirect(
        "/admin/sharing/rules",
        f"{verb} the rule “{base['name'].strip()}”: its access applies at once.",
    )


def _chosen(
    svc: Caseshare, viewer: Viewer, form: FormState, name: str, kinds: tuple[str, ...]
) -> str:
    chosen, query = form.value(name), form.value(f"{name}_q")
    if query:
        chosen, _, problem = resolve_pick(svc, viewer, chosen, query, kinds, False)
        if problem:
            form.refuse(f"{name}-q", problem)
    return chosen


@router.post("/admin/sharing/rules/new")
def create_rule(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    return _save(request, svc, viewer, posted, None)


@router.post("/admin/sharing/rules/{rule_id}")
def change_rule(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, rule_id: RuleId
) -> Response:
    return _save(request, svc, viewer, posted, _rule(svc, viewer, rule_id))


@router.post("/admin/sharing/rules/{rule_id}/active")
def set_active(svc: Service, viewer: AdminPosting, posted: Posted, rule_id: RuleId) -> Response:
    rule = _rule(svc, viewer, rule_id)
    active = checked(posted, "active")
    svc.set_rule_active(viewer.agency_id, viewer.user_id, rule_id, active)
    said = "is active: its access applies" if active else "is inactive: its access ended"
    return redirect("/admin/sharing/rules", f"The rule “{rule.name}” {said} at once.")


@router.post("/admin/sharing/rules/{rule_id}/delete")
def delete_rule(svc: Service, viewer: AdminPosting, rule_id: RuleId) -> Response:
    rule = _rule(svc, viewer, rule_id)
    svc.delete_rule(viewer.agency_id, viewer.user_id, rule_id)
    return redirect(
        "/admin/sharing/rules", f"Deleted the rule “{rule.name}”: its access ended at once."
    )
