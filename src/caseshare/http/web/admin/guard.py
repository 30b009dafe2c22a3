"""Admins only: anyone else gets the 404 page for an admin screen (it does not exist for them)
and the 403 page for an admin form they post anyway, and nothing changes. The services check the
admin permission again; this is the screens' first door, not their only one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import Service
from caseshare.http.web.forms import ACCESS_CODES, FormState
from caseshare.http.web.viewer import Viewer, form_poster, page_viewer
from caseshare.http.web.words import Names

#: each admin section's screens, the tabs below its title: (label, address)
SECTIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "people": (
        ("Users", "/admin/people"),
        ("Groups", "/admin/people/groups"),
        ("Roles", "/admin/people/roles"),
        ("Team roles", "/admin/people/team-roles"),
    ),
    "structure": (
        ("Locations", "/admin/structure"),
        ("Location types", "/admin/structure/types"),
    ),
    "sharing": (
        ("Sharing settings", "/admin/sharing"),
        ("Sharing rules", "/admin/sharing/rules"),
    ),
    "partners": (
        ("Agreements", "/admin/agreements"),
        ("Propose an agreement", "/admin/agreements/new"),
        ("Cases sent to us", "/agency-shares"),
        ("Outbox", "/admin/outbox"),
    ),
    "reports": (
        ("Case sharing report", "/admin/reports"),
        ("Recycle bin", "/admin/reports/recycle-bin"),
        ("Audit log", "/admin/reports/audit"),
        ("Device forms", "/admin/reports/forms"),
    ),
}


async def admin_viewer(request: Request, svc: Service) -> Viewer:
    viewer = await page_viewer(request, svc)
    if not viewer.admin:
        raise CaseShareError(
            "not_found", "There is no page at this address. If you typed it, check it is right."
        )
    return viewer


async def admin_poster(request: Request, svc: Service) -> Viewer:
    viewer = await form_poster(request, svc)
    if not viewer.admin:
        raise CaseShareError(
            "insufficient_access", "Only an agency admin may change this; ask an admin."
        )
    return viewer


async def posted_form(request: Request) -> FormData:
    """The posted form, read once (Starlette keeps it for the handler)."""
    return await request.form()


AdminViewing = Annotated[Viewer, Depends(admin_viewer)]
AdminPosting = Annotated[Viewer, Depends(admin_poster)]
Posted = Annotated[FormData, Depends(posted_form)]


def refuse(
    form: FormState,
    exc: CaseShareError,
    names: Names,
    fields: Mapping[str, str] | None = None,
    default: str = "",
) -> None:
    """The service's refusal beside the field its code concerns, in names, not ids; "you may
    not" and "not found" stay the 403 and 404 pages."""
    if exc.code in ACCESS_CODES:
        raise exc
    form.refuse((fields or {}).get(exc.code, default), names.said(exc.message), exc.code)


def tabs(section: str, path: str) -> list[dict[str, Any]]:
    """The section's tabs, the one for this address marked current (the longest match)."""
    items = SECTIONS[section]
    best = max(
        (href for _, href in items if path == href or path.startswith(href + "/")),
        key=len,
        default="",
    )
    return [{"label": label, "href": href, "current": href == best} for label, href in items]


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


def ids(form: FormData, name: str) -> list[int]:
    """The numbers a group of check-boxes sent (anything else is left out)."""
    out = []
    for value in form.getlist(name):
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            out.append(int(value))
    return list(dict.fromkeys(out))


def optional_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
