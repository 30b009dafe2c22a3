"""People › Roles and People › Team roles.

Roles form Salesforce's role hierarchy (S-HIER-1): a tree, each role below the one it reports
to; moving a role below itself is refused. Team roles name what a case team member may do
(none, read or edit, S-TEAM-1); a role in use is not deleted but replaced on every case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.core.model import Role
from caseshare.core.principals import Principal
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import (
    AdminPosting,
    AdminViewing,
    Posted,
    optional_id,
    refuse,
)
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.admin.trees import as_tree, indented
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.templating import redirect
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

RoleId = Annotated[int, Path(ge=1, le=2**62)]
LEVELS = (
    ("none", "None — on the team, no access from it"),
    ("read", "Read"),
    ("edit", "Edit"),
)


def _parents(svc: Caseshare, viewer: Viewer) -> list[tuple[str, str]]:
    roles = svc.context(viewer.agency_id).directory.roles.values()
    tree = as_tree(roles, lambda r: r.id, lambda r: r.parent_id, lambda r: r.name)
    return [("", "Nobody: a top role"), *indented(tree, lambda r: r.id, lambda r: r.name)]


def roles_page(
    request: Request, svc: Caseshare, viewer: Viewer, form: FormState, status: int = 200
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    tree = as_tree(
        directory.roles.values(), lambda r: r.id, lambda r: r.parent_id, lambda r: r.name
    )
    people = {r: len(directory.members_of(Principal("role", r))) for r in directory.roles}
    return admin_page(
        request,
        svc,
        viewer,
        "roles.html",
        "people",
        {
            "title": "Roles",
            "tree": tree,
            "people": people,
            "form": form,
            "parents": _parents(svc, viewer),
        },
        status,
    )


@router.get("/admin/people/roles")
def roles(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return roles_page(request, svc, viewer, FormState())


@router.post("/admin/people/roles")
def create_role(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    name = form_text(posted, "name", 1024)
    parent = form_text(posted, "parent", 20)
    form = FormState({"name": name, "parent": parent})
    try:
        svc.create_role(viewer.agency_id, viewer.user_id, name, optional_id(parent))
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "name")
        return roles_page(request, svc, viewer, form, 422)
    return redirect("/admin/people/roles", f"Added the role “{name.strip()}”.")


def _role(svc: Caseshare, viewer: Viewer, role_id: int) -> Role:
    role = svc.context(viewer.agency_id).directory.roles.get(role_id)
    if role is None:
        raise CaseShareError("not_found", f"Role {role_id} was not found.")
    return role


def role_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    role_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response:
    role = _role(svc, viewer, role_id)
    directory = svc.context(viewer.agency_id).directory
    holders = sorted(
        (u for u in directory.users.values() if u.role_id == role_id),
        key=lambda u: (u.full_name or u.username).casefold(),
    )
    below = [directory.roles[r] for r in directory.roles_below(role_id) if r != role_id]
    above = [directory.roles[r] for r in directory.role_ancestors(role_id) if r in directory.roles]
    return admin_page(
        request,
        svc,
        viewer,
        "role.html",
        "people",
        {
            "title": role.name,
            "role": role,
            "holders": holders,
            "below": sorted(below, key=lambda r: r.name.casefold()),
            "above": above,
            "form": form or FormState({"name": role.name, "parent": str(role.parent_id or "")}),
            "parents": [p for p in _parents(svc, viewer) if p[0] != str(role_id)],
        },
        status,
    )


@router.get("/admin/people/roles/{role_id}")
def show_role(request: Request, svc: Service, viewer: AdminViewing, role_id: RoleId) -> Response:
    return role_page(request, svc, viewer, role_id)


@router.post("/admin/people/roles/{role_id}")
def change_role(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, role_id: RoleId
) -> Response:
    _role(svc, viewer, role_id)
    name = form_text(posted, "name", 1024)
    parent = form_text(posted, "parent", 20)
    form = FormState({"name": name, "parent": parent})
    changes = {"name": name, "parent_id": optional_id(parent)}
    try:
        svc.update_role(viewer.agency_id, viewer.user_id, role_id, changes)
    except CaseShareError as exc:
        field = "parent" if "report" in exc.message or "Role " in exc.message else "name"
        refuse(form, exc, names(svc, viewer), {}, field)
        return role_page(request, svc, viewer, role_id, form, 422)
    return redirect(f"/admin/people/roles/{role_id}", "Saved the role.")


# -- team roles (S-TEAM-1) ------------------------------------------------------------------------


def team_roles_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    form: FormState,
    row_problem: tuple[int, str, str] | None = None,
    status: int = 200,
) -> Response:
    team_roles = svc.context(viewer.agency_id).team_roles
    rows = [
        {"role": r, "uses": svc.team_role_uses(viewer.agency_id, r.id)}
        for r in sorted(team_roles.values(), key=lambda r: r.name.casefold())
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "team_roles.html",
        "people",
        {
            "title": "Team roles",
            "rows": rows,
            "form": form,
            "levels": LEVELS,
            "row_problem": row_problem,
        },
        status,
    )


@router.get("/admin/people/team-roles")
def team_roles(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return team_roles_page(request, svc, viewer, FormState({"level": "read"}))


@router.post("/admin/people/team-roles")
def create_team_role(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted
) -> Response:
    name = form_text(posted, "name", 1024)
    level = form_text(posted, "level", 10)
    form = FormState({"name": name, "level": level})
    try:
        svc.create_team_role(viewer.agency_id, viewer.user_id, name, level)
    except (CaseShareError, ValueError) as exc:
        if isinstance(exc, ValueError):
            exc = CaseShareError("validation_error", "Choose none, read or edit.")
        refuse(form, exc, names(svc, viewer), {"invalid_access_level": "level"}, "name")
        return team_roles_page(request, svc, viewer, form, status=422)
    return redirect("/admin/people/team-roles", f"Added the team role “{name.strip()}”.")


def _team_role(svc: Caseshare, viewer: Viewer, role_id: int) -> None:
    """Another agency's team role, like one that does not exist, is not found (first)."""
    if role_id not in svc.context(viewer.agency_id).team_roles:
        raise CaseShareError("not_found", f"Team role {role_id} was not found.")


@router.post("/admin/people/team-roles/{role_id}/level")
def change_level(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, role_id: RoleId
) -> Response:
    _team_role(svc, viewer, role_id)
    level = form_text(posted, "level", 10)
    try:
        svc.set_team_role_level(viewer.agency_id, viewer.user_id, role_id, level)
    except (CaseShareError, ValueError) as exc:
        message = exc.message if isinstance(exc, CaseShareError) else "Choose none, read or edit."
        if isinstance(exc, CaseShareError) and exc.code in ("not_found", "insufficient_access"):
            raise
        code = exc.code if isinstance(exc, CaseShareError) else "validation_error"
        return team_roles_page(
            request, svc, viewer, FormState(), (role_id, message, code), status=422
        )
    return redirect(
        "/admin/people/team-roles", "Saved the level: every case team using it changed at once."
    )


@router.post("/admin/people/team-roles/{role_id}/delete")
def delete_team_role(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, role_id: RoleId
) -> Response:
    _team_role(svc, viewer, role_id)
    replacement = optional_id(form_text(posted, "replacement", 20))
    words = names(svc, viewer)
    try:
        if replacement == role_id:
            raise CaseShareError("validation_error", "A team role cannot replace itself.")
        svc.delete_team_role(viewer.agency_id, viewer.user_id, role_id, replacement)
    except CaseShareError as exc:
        if exc.code in ("not_found", "insufficient_access"):
            raise
        problem = (role_id, words.said(exc.message), exc.code)
        return team_roles_page(request, svc, viewer, FormState(), problem, status=422)
    return redirect("/admin/people/team-roles", "Deleted the team role.")
