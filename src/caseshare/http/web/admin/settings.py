"""Sharing › Sharing settings: the agency's settings (SPEC §1.1) on one page, as Salesforce's
Sharing Settings shows its organisation-wide defaults — one default access per case type, then
the switches each reference system brings (case sharing, hierarchy, child access, edit policy,
ordering, extension close cascade). One save changes them together, audited before and after."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData

from caseshare.core.errors import CaseShareError
from caseshare.core.settings import Settings
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted, checked, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.templating import redirect
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

MAX_TYPES = 500

#: Salesforce's words for the organisation-wide defaults
ACCESS = (
    ("private", "Private: only those given access"),
    ("read", "Public read only"),
    ("edit", "Public read/write"),
    ("transfer", "Public read/write/transfer"),
)
SAME = ("", "As every other case type")
CHILD = (
    ("none", "Nothing: child cases are shared on their own"),
    ("read", "Read the child cases"),
    ("edit", "Read and edit the child cases"),
)
POLICY = (
    ("access", "Anyone with edit access may edit"),
    ("owners", "Only the owner's side, the managers above them and admins; others read"),
)
ORDERING = (
    ("received", "In the order the server received them"),
    ("reconcile", "Reconcile: one person's forms received close together, by device time"),
)
SWITCHES = {
    "case_sharing": "case sharing",
    "hierarchy_access": "hierarchy access",
    "child_access": "child access",
    "edit_policy": "edit policy",
    "ordering": "form ordering",
    "extension_close_cascade": "extension close cascade",
}


def _types(svc: Caseshare, agency_id: int, settings: Settings) -> list[str]:
    known = set(svc.case_types(agency_id)) | set(settings.default_access)
    return sorted(known - {"*"}, key=str.casefold)


def _values(settings: Settings, types: list[str]) -> dict[str, str]:
    values = {
        "case_sharing": "1" if settings.case_sharing else "",
        "hierarchy_access": "1" if settings.hierarchy_access else "",
        "extension_close_cascade": "1" if settings.extension_close_cascade else "",
        "child_access": settings.child_access,
        "edit_policy": settings.edit_policy,
        "ordering": settings.ordering,
        "access_all": settings.default_access.get("*", "private"),
        "new_access": "read",
    }
    for i, case_type in enumerate(types):
        values[f"access_{i}"] = settings.default_access.get(case_type, "")
    return values


def settings_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    form: FormState | None = None,
    types: list[str] | None = None,
    status: int = 200,
) -> Response:
    settings = svc.context(viewer.agency_id).settings
    types = types if types is not None else _types(svc, viewer.agency_id, settings)
    return admin_page(
        request,
        svc,
        viewer,
        "settings.html",
        "sharing",
        {
            "title": "Sharing settings",
            "form": form or FormState(_values(settings, types)),
            "types": list(enumerate(types)),
            "access": ACCESS,
            "same": [SAME, *ACCESS],
            "child": CHILD,
            "policy": POLICY,
            "ordering": ORDERING,
        },
        status,
    )


@router.get("/admin/sharing")
def sharing_settings(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return settings_page(request, svc, viewer)


def _changes(posted: FormData, types: list[str]) -> tuple[dict[str, Any], FormState]:
    """The whole settings from the form, and the form's values to show again."""
    defaults = {"*": form_text(posted, "access_all", 20)}
    values = {k: form_text(posted, k, 20) for k in ("access_all", "new_access")}
    for i, case_type in enumerate(types):
        chosen = form_text(posted, f"access_{i}", 20)
        values[f"access_{i}"] = chosen
        if chosen:
            defaults[case_type] = chosen
    new_type = form_text(posted, "new_type", 1000).strip()
    values["new_type"] = new_type
    if new_type:
        defaults[new_type] = values["new_access"]
    changes: dict[str, Any] = {"default_access": defaults}
    for key in ("case_sharing", "hierarchy_access", "extension_close_cascade"):
        changes[key] = checked(posted, key)
        values[key] = "1" if changes[key] else ""
    for key in ("child_access", "edit_policy", "ordering"):
        changes[key] = values[key] = form_text(posted, key, 20)
    return changes, FormState(values)


def _said(before: Settings, after: Settings) -> str:
    """What a save changed, in words."""
    said = []
    for key, word in SWITCHES.items():
        old, new = getattr(before, key), getattr(after, key)
        if old != new:
            shown = ("on" if new else "off") if isinstance(new, bool) else new
            said.append(f"{word} is now {shown}")
    for case_type in sorted(set(before.default_access) | set(after.default_access)):
        old_value = before.default_access.get(case_type)
        new_value = after.default_access.get(case_type)
        if old_value != new_value:
            which = "every other case type" if case_type == "*" else case_type
            said.append(f"{which}: {new_value or 'as every other case type'}")
    return ("Saved: " + "; ".join(said) + ".") if said else "Saved; nothing changed."


@router.post("/admin/sharing")
def save_settings(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    before = svc.context(viewer.agency_id).settings
    types: list[str] = []
    while len(types) < MAX_TYPES and f"type_{len(types)}" in posted:
        types.append(form_text(posted, f"type_{len(types)}", 200))
    changes, form = _changes(posted, types)
    try:
        after = svc.update_settings(viewer.agency_id, viewer.user_id, changes)
    except CaseShareError as exc:
        field = next((k for k in SWITCHES if k in exc.message), "new_type")
        refuse(form, exc, names(svc, viewer), {}, field)
        return settings_page(request, svc, viewer, form, types, 422)
    return redirect("/admin/sharing", _said(before, after))
