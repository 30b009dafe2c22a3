"""People › Groups: groups and field units, as CommCare HQ's Groups page — a new group, and one
group's page: name, the case-sharing flag, group or field unit, its direct members (people and
nested groups; cycles refused) and everyone in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.core.model import Group
from caseshare.core.principals import Principal
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted, checked, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.pickers import picked, resolve_pick
from caseshare.http.web.templating import redirect, url
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare, Match

router = APIRouter(include_in_schema=False)

GroupId = Annotated[int, Path(ge=1, le=2**62)]
KINDS = (("group", "Group"), ("unit", "Field unit (receives cases from other agencies)"))


def _kind(group: Group) -> str:
    if group.kind == "unit":
        return "Field unit"
    return "Case-sharing group" if group.case_sharing else "Group"


def groups_page(
    request: Request, svc: Caseshare, viewer: Viewer, form: FormState, status: int = 200
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    rows = [
        {
            "group": g,
            "kind": _kind(g),
            "members": len(svc.group_members(viewer.agency_id, g.id)),
            "users": len(directory.members_of(Principal("group", g.id))),
        }
        for g in sorted(directory.groups.values(), key=lambda g: g.name.casefold())
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "groups.html",
        "people",
        {"title": "Groups", "rows": rows, "form": form, "kinds": KINDS},
        status,
    )


@router.get("/admin/people/groups")
def groups(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return groups_page(request, svc, viewer, FormState({"kind": "group"}))


@router.post("/admin/people/groups")
def create_group(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    name = form_text(posted, "name", 1024)
    sharing = checked(posted, "case_sharing")
    kind = form_text(posted, "kind", 20) or "group"
    form = FormState({"name": name, "case_sharing": "1" if sharing else "", "kind": kind})
    try:
        group_id = svc.create_group(
            viewer.agency_id, viewer.user_id, name, case_sharing=sharing, kind=kind
        )
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "name")
        return groups_page(request, svc, viewer, form, 422)
    return redirect(
        f"/admin/people/groups/{group_id}", f"Added the group “{name.strip()}”: now add members."
    )


# -- one group ----------------------------------------------------------------------------------


def _group(svc: Caseshare, viewer: Viewer, group_id: int) -> Group:
    group = svc.context(viewer.agency_id).directory.groups.get(group_id)
    if group is None:
        raise CaseShareError("not_found", f"Group {group_id} was not found.")
    return group


def group_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    group_id: int,
    *,
    settings: FormState | None = None,
    adding: FormState | None = None,
    query: str = "",
    chosen: str = "",
    status: int = 200,
) -> Response:
    group = _group(svc, viewer, group_id)
    directory = svc.context(viewer.agency_id).directory
    words = names(svc, viewer)
    adding = adding or FormState()
    matches: list[Match] = []
    if query:
        chosen, matches, problem = resolve_pick(
            svc, viewer, chosen, query, ("user", "group"), False
        )
        if problem and not adding.problems:
            adding.refuse("member-q", problem)
    members = [
        {"principal": str(m), "name": words.principal(m), "kind": words.kind(str(m))}
        for m in svc.group_members(viewer.agency_id, group_id)
    ]
    everyone = sorted(
        (directory.users[u] for u in directory.members_of(Principal("group", group_id))),
        key=lambda u: (u.full_name or u.username).casefold(),
    )
    return admin_page(
        request,
        svc,
        viewer,
        "group.html",
        "people",
        {
            "title": group.name,
            "group": group,
            "kind": _kind(group),
            "settings": settings
            or FormState(
                {
                    "name": group.name,
                    "case_sharing": "1" if group.case_sharing else "",
                    "kind": group.kind,
                }
            ),
            "kinds": KINDS,
            "adding": adding,
            "query": query,
            "matches": matches,
            "chosen": chosen,
            "chosen_label": picked(svc, viewer, chosen),
            "members": members,
            "everyone": everyone,
            "owned": svc.owned_cases(viewer.agency_id, Principal("group", group_id)),
        },
        status,
    )


@router.get("/admin/people/groups/{group_id}")
def show_group(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    group_id: GroupId,
    member_q: Annotated[str, Query(max_length=200)] = "",
    member: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return group_page(request, svc, viewer, group_id, query=member_q.strip(), chosen=member)


@router.post("/admin/people/groups/{group_id}/settings")
def change_group(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, group_id: GroupId
) -> Response:
    _group(svc, viewer, group_id)
    changes = {
        "name": form_text(posted, "name", 1024),
        "case_sharing": checked(posted, "case_sharing"),
        "kind": form_text(posted, "kind", 20) or "group",
    }
    form = FormState(
        {
            "name": str(changes["name"]),
            "case_sharing": "1" if changes["case_sharing"] else "",
            "kind": str(changes["kind"]),
        }
    )
    try:
        svc.update_group(viewer.agency_id, viewer.user_id, group_id, changes)
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "name")
        return group_page(request, svc, viewer, group_id, settings=form, status=422)
    return redirect(f"/admin/people/groups/{group_id}", "Saved the group.")


@router.post("/admin/people/groups/{group_id}/members")
def add_member(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, group_id: GroupId
) -> Response:
    group = _group(svc, viewer, group_id)
    chosen = form_text(posted, "member", 40)
    query = form_text(posted, "member_q", 200).strip()
    words = names(svc, viewer)
    form = FormState()
    if not chosen and query:
        chosen, _, problem = resolve_pick(svc, viewer, "", query, ("user", "group"), False)
        if problem:
            form.refuse("member-q", problem)
    if not chosen and form.ok:
        form.refuse("member-q", "Search for a person or group, then choose one to add.")
    if form.ok:
        try:
            member = Principal.parse(chosen)
            added = svc.add_member(viewer.agency_id, viewer.user_id, group_id, member)
        except CaseShareError as exc:
            refuse(form, exc, words, {}, "member-q")
    if not form.ok:
        return group_page(
            request, svc, viewer, group_id, adding=form, query=query, chosen=chosen, status=422
        )
    who = words.principal(chosen)
    said = f"Added {who} to {group.name}." if added else f"{who} was in {group.name} already."
    return redirect(url(f"/admin/people/groups/{group_id}"), said)


@router.post("/admin/people/groups/{group_id}/members/remove")
def remove_member(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, group_id: GroupId
) -> Response:
    group = _group(svc, viewer, group_id)
    text = form_text(posted, "member", 40)
    try:
        member = Principal.parse(text)
    except CaseShareError:
        member = None
    if member is None or member.kind not in ("user", "group"):
        raise CaseShareError("validation_error", "Choose a member of the group to remove.")
    svc.remove_member(viewer.agency_id, viewer.user_id, group_id, member)
    who = names(svc, viewer).principal(member)
    return redirect(f"/admin/people/groups/{group_id}", f"Removed {who} from {group.name}.")
