"""Reports and repair › the case-sharing report (S-CRT-4) and the recycle bin (S-SHR-8).

The report reads like CommCare HQ's "users not in exactly one case-sharing group" page, each
person with a link to fix their groups. The recycle bin lists deleted cases, the last deleted
first, each with a Restore button (its manual shares come back) and a Purge button that asks
once more before the case goes for good."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from caseshare.core.principals import Principal
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import form_text
from caseshare.http.web.templating import redirect, url

router = APIRouter(include_in_schema=False)

Cursor = Annotated[str, Query(max_length=40, pattern=r"^[0-9.]*$")]
PAGE_SIZE = 25


@router.get("/admin/reports")
def case_sharing_report(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    ctx = svc.context(viewer.agency_id)
    rows = []
    for row in svc.sharing_report(viewer.agency_id, viewer.user_id):
        user = ctx.directory.users[row["user_id"]]
        owners = [Principal.parse(p) for p in row["owners"]]
        rows.append({"user": user, "owners": owners, "none": not owners})
    return admin_page(
        request,
        svc,
        viewer,
        "report.html",
        "reports",
        {
            "title": "Users not in exactly one case-sharing group",
            "rows": rows,
            "case_sharing": ctx.settings.case_sharing,
            "active": sum(1 for u in ctx.directory.users.values() if u.active),
        },
    )


# -- the recycle bin ------------------------------------------------------------------------------


@router.get("/admin/reports/recycle-bin")
def recycle_bin(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    after: Cursor = "",
    before: Cursor = "",
) -> Response:
    page = svc.recycle_bin(
        viewer.agency_id,
        viewer.user_id,
        cursor=before or after or None,
        newer=bool(before),
        limit=PAGE_SIZE,
    )
    base = "/admin/reports/recycle-bin"
    return admin_page(
        request,
        svc,
        viewer,
        "recycle_bin.html",
        "reports",
        {
            "title": "Recycle bin",
            "rows": page.items,
            "older": url(base, after=page.older) if page.older else None,
            "newer": url(base, before=page.newer) if page.newer else None,
        },
    )


@router.post("/admin/reports/recycle-bin/restore")
def restore(svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    case_id = form_text(posted, "case_id", 255)
    svc.restore_case(viewer.agency_id, viewer.user_id, case_id)
    return redirect(
        "/admin/reports/recycle-bin",
        f"Restored case {case_id}, with its manual shares: it is back in everyone's lists.",
    )


@router.get("/admin/reports/recycle-bin/purge")
def confirm_purge(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    case: Annotated[str, Query(min_length=1, max_length=255)],
) -> Response:
    found = svc.binned_case(viewer.agency_id, viewer.user_id, case)
    return admin_page(
        request,
        svc,
        viewer,
        "purge.html",
        "reports",
        {"title": f"Purge {found.name or found.case_id} for good?", "row": found},
    )


@router.post("/admin/reports/recycle-bin/purge")
def purge(svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    case_id = form_text(posted, "case_id", 255)
    svc.purge_case(viewer.agency_id, viewer.user_id, case_id)
    return redirect(
        "/admin/reports/recycle-bin",
        f"Purged case {case_id}: it and its shares are gone for good.",
    )
