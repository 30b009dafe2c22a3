"""Reports and repair › device forms, as CommCare HQ's form data: every form devices sent, the
refused ones too, the last received first; one form's XML (shown as text, never as markup), the
cases it touched as they are now, and Archive / Unarchive — which rebuild each of those cases
from the forms that remain (S-TX-8)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.pickers import picked, resolve_pick
from caseshare.http.web.templating import redirect, url
from caseshare.http.web.viewer import names
from caseshare.services.oversight import FORM_STATUSES

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=255)]
PAGE_SIZE = 50
STATUS_WORDS = {
    "normal": "Applied",
    "archived": "Archived",
    "error": "Refused",
    "duplicate": "Duplicate",
    "deprecated": "Replaced by an edit",
}


@router.get("/admin/reports/forms")
def device_forms(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    status: Text = "",
    user: Text = "",
    user_q: Text = "",
    after: Annotated[str, Query(max_length=20, pattern=r"^[0-9]*$")] = "",
    before: Annotated[str, Query(max_length=20, pattern=r"^[0-9]*$")] = "",
) -> Response:
    form = FormState({"status": status})
    if status and status not in FORM_STATUSES:
        form.refuse("status", "Choose a status from the list.")
        status = ""
    matches: list[Any] = []
    if user_q.strip():
        user, matches, problem = resolve_pick(svc, viewer, user, user_q, ("user",), False)
        if problem:
            form.refuse("user-q", problem)
    else:
        user = ""
    user_id = int(user.partition(":")[2]) if user.startswith("user:") else None
    page = svc.device_forms(
        viewer.agency_id,
        viewer.user_id,
        status=status or None,
        user_id=user_id,
        cursor=before or after or None,
        newer=bool(before),
        limit=PAGE_SIZE,
    )
    counts = svc.form_case_counts(page.items)
    filters = {"status": status, "user": user, "user_q": user_q if user else ""}
    base = "/admin/reports/forms"
    return admin_page(
        request,
        svc,
        viewer,
        "forms.html",
        "reports",
        {
            "title": "Device forms",
            "rows": [{"form": f, "cases": counts.get(f.id, 0)} for f in page.items],
            "form": form,
            "statuses": [("", "Any status"), *STATUS_WORDS.items()],
            "status_words": STATUS_WORDS,
            "picker": {
                "query": user_q,
                "matches": matches,
                "chosen": user,
                "label": picked(svc, viewer, user),
            },
            "older": url(base, filters, after=page.older) if page.older else None,
            "newer": url(base, filters, before=page.newer) if page.newer else None,
        },
    )


@router.get("/admin/reports/forms/{instance_id:path}")
def device_form(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    instance_id: Annotated[str, Path(min_length=1, max_length=255)],
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    found = svc.device_form(viewer.agency_id, viewer.user_id, instance_id, version)
    current = next((v for v in found.versions if v.status in ("normal", "archived")), None)
    return admin_page(
        request,
        svc,
        viewer,
        "form.html",
        "reports",
        {
            "title": f"Form {instance_id}",
            "sub": found.form,
            "versions": found.versions,
            "cases": [(case_id, found.now.get(case_id)) for case_id in found.cases],
            "status_words": STATUS_WORDS,
            "who": names(svc, viewer).user(found.form.user_id),
            "current": current,
            "can_change": current is not None and current.id == found.form.id,
        },
    )


@router.post("/admin/reports/forms")
def archive(svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    instance_id = form_text(posted, "instance_id", 255)
    verb = form_text(posted, "change", 20)
    if verb not in ("archive", "unarchive"):
        raise CaseShareError("validation_error", "Choose to archive or to unarchive the form.")
    change = svc.archive_submission if verb == "archive" else svc.unarchive_submission
    rebuilt = change(viewer.agency_id, viewer.user_id, instance_id)
    cases = ", ".join(rebuilt) if rebuilt else "no case changed"
    said = (
        f"Archived the form: every case it touched was rebuilt without it ({cases})."
        if verb == "archive"
        else f"Unarchived the form: its cases were rebuilt with it again ({cases})."
    )
    return redirect(f"/admin/reports/forms/{quote(instance_id, safe='')}", said)
