"""Reports and repair › the agency's audit log (S-AUD-1): every change of access and every case
change, newest first, filtered by who acted, what kind of thing changed, which case and which
days — the filters in the address, so a filtered log is a link to send."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import Service
from caseshare.http.web.admin.auditwords import KIND_WORDS, change_words, describe, subject_words
from caseshare.http.web.admin.guard import AdminViewing, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import FormState
from caseshare.http.web.pickers import picked, resolve_pick
from caseshare.http.web.templating import url
from caseshare.http.web.viewer import names

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=255)]
PAGE_SIZE = 50


def _day(text: str, form: FormState, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        form.refuse(field, "Write the day as a date, for example 2026-03-31.")
        return None


@router.get("/admin/reports/audit")
def audit_log(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    actor: Text = "",
    actor_q: Text = "",
    system: Text = "",
    kind: Text = "",
    case: Text = "",
    since: Text = "",
    until: Text = "",
    after: Annotated[str, Query(max_length=20, pattern=r"^[0-9]*$")] = "",
    before: Annotated[str, Query(max_length=20, pattern=r"^[0-9]*$")] = "",
) -> Response:
    form = FormState(
        {
            "system": "1" if system else "",
            "kind": kind,
            "case": case,
            "since": since,
            "until": until,
        }
    )
    who: str | None = None
    matches: list[Any] = []
    if system:
        who = "system"
    elif actor_q.strip():
        actor, matches, problem = resolve_pick(svc, viewer, actor, actor_q, ("user",), False)
        if problem:
            form.refuse("actor-q", problem)
        who = actor or None
    if kind and kind not in KIND_WORDS:
        form.refuse("kind", "Choose what changed from the list.")
        kind = ""
    first, last = _day(since, form, "since"), _day(until, form, "until")
    filters = {
        "actor": who if who and who != "system" else "",
        "actor_q": actor_q if who and who != "system" else "",
        "system": "1" if system else "",
        "kind": kind,
        "case": case.strip(),
        "since": since,
        "until": until,
    }
    try:
        page = svc.audit_log(
            viewer.agency_id,
            viewer.user_id,
            who=who,
            kind=kind or None,
            case_id=case.strip() or None,
            since=first,
            until=last,
            cursor=before or after or None,
            newer=bool(before),
            limit=PAGE_SIZE,
        )
        events = page.items
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "until" if "day" in exc.message else "case")
        events, page = [], None
    words = names(svc, viewer)
    rules = {r.id: r.name for r in svc.context(viewer.agency_id).rules}
    rows = [
        {
            "event": e,
            "who": words.principal(e.actor),
            "what": describe(e, words),
            "about": subject_words(e, words, rules),
            "case": e.subject.partition(":")[2] if e.subject.startswith("case:") else None,
            "change": change_words(e, words),
        }
        for e in events
    ]
    base = "/admin/reports/audit"
    return admin_page(
        request,
        svc,
        viewer,
        "audit.html",
        "reports",
        {
            "title": "Audit log",
            "rows": rows,
            "form": form,
            "kinds": [("", "Anything"), *KIND_WORDS.items()],
            "actor": {
                "query": actor_q,
                "matches": matches,
                "chosen": who if who and who != "system" else "",
                "label": picked(svc, viewer, who) if who and who != "system" else "",
            },
            "older": url(base, filters, after=page.older) if page and page.older else None,
            "newer": url(base, filters, before=page.newer) if page and page.newer else None,
        },
    )
