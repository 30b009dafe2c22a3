"""Structure: locations as CommCare HQ's Organization page shows them — a tree, each location of
a type whose flags say whether it owns cases ("shares cases") and whether its people see the
locations below ("view child data") — and the location types themselves. Archiving a location
takes it out of ownership and sharing at once; unarchiving gives it back (S-OWN-1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from caseshare.core.directory import Directory
from caseshare.core.errors import CaseShareError
from caseshare.core.model import Location, LocationType
from caseshare.core.principals import Principal
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import (
    AdminPosting,
    AdminViewing,
    Posted,
    checked,
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

Id = Annotated[int, Path(ge=1, le=2**62)]


def _tree(directory: Directory) -> list[Any]:
    return as_tree(
        directory.locations.values(), lambda x: x.id, lambda x: x.parent_id, lambda x: x.name
    )


def _parents(directory: Directory, skip: int | None = None) -> list[tuple[str, str]]:
    tree = [n for n in _tree(directory) if not n.item.archived and n.item.id != skip]
    return [("", "None: a top location"), *indented(tree, lambda x: x.id, lambda x: x.name)]


def _types(directory: Directory) -> list[tuple[str, str]]:
    kinds = sorted(directory.location_types.values(), key=lambda t: t.name.casefold())
    return [("", "Choose a type"), *((str(t.id), t.name) for t in kinds)]


def _flags(kind: LocationType | None) -> str:
    if kind is None:
        return ""
    said = ["owns cases" if kind.shares_cases else "owns no cases"]
    if kind.view_descendants:
        said.append("its people see the locations below")
    return "; ".join(said)


def locations_page(
    request: Request, svc: Caseshare, viewer: Viewer, form: FormState, status: int = 200
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    people = svc.user_locations(viewer.agency_id)
    counts: dict[int, int] = {}
    for locs in people.values():
        for loc in locs:
            counts[loc] = counts.get(loc, 0) + 1
    nodes = [
        {
            "loc": n.item,
            "depth": n.depth,
            "type": directory.location_types.get(n.item.type_id),
            "flags": _flags(directory.location_types.get(n.item.type_id)),
            "people": counts.get(n.item.id, 0),
        }
        for n in _tree(directory)
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "locations.html",
        "structure",
        {
            "title": "Locations",
            "nodes": nodes,
            "form": form,
            "types": _types(directory),
            "parents": _parents(directory),
        },
        status,
    )


@router.get("/admin/structure")
def locations(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return locations_page(request, svc, viewer, FormState())


@router.post("/admin/structure")
def create_location(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted
) -> Response:
    values = {k: form_text(posted, k, 1024) for k in ("name", "type", "parent")}
    form = FormState(values)
    type_id = optional_id(values["type"])
    if type_id is None:
        form.refuse("type", "Choose the location's type.")
        return locations_page(request, svc, viewer, form, 422)
    try:
        svc.create_location(
            viewer.agency_id,
            viewer.user_id,
            values["name"],
            type_id,
            parent_id=optional_id(values["parent"]),
        )
    except CaseShareError as exc:
        field = "parent" if exc.message.startswith("Location ") else "name"
        refuse(form, exc, names(svc, viewer), {}, field)
        return locations_page(request, svc, viewer, form, 422)
    return redirect("/admin/structure", f"Added the location “{values['name'].strip()}”.")


# -- one location -----------------------------------------------------------------------------


def _location(svc: Caseshare, viewer: Viewer, loc_id: int) -> Location:
    loc = svc.context(viewer.agency_id).directory.locations.get(loc_id)
    if loc is None:
        raise CaseShareError("not_found", f"Location {loc_id} was not found.")
    return loc


def location_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    loc_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response:
    loc = _location(svc, viewer, loc_id)
    directory = svc.context(viewer.agency_id).directory
    kind = directory.location_types.get(loc.type_id)
    assigned = svc.user_locations(viewer.agency_id)
    people = sorted(
        (directory.users[u] for u, locs in assigned.items() if loc_id in locs),
        key=lambda u: (u.full_name or u.username).casefold(),
    )
    ancestors: list[Location] = []
    up = loc.parent_id
    while up is not None and up in directory.locations and len(ancestors) < 50:
        ancestors.insert(0, directory.locations[up])
        up = directory.locations[up].parent_id
    return admin_page(
        request,
        svc,
        viewer,
        "location.html",
        "structure",
        {
            "title": loc.name,
            "loc": loc,
            "kind": kind,
            "flags": _flags(kind),
            "ancestors": ancestors,
            "people": people,
            "seen_by": sorted(
                (directory.users[u] for u in directory.members_of(Principal("location", loc_id))),
                key=lambda u: (u.full_name or u.username).casefold(),
            ),
            "owned": svc.owned_cases(viewer.agency_id, Principal("location", loc_id)),
            "form": form or FormState({"name": loc.name, "parent": str(loc.parent_id or "")}),
            "parents": _parents(directory, skip=loc_id),
        },
        status,
    )


@router.get("/admin/structure/locations/{loc_id}")
def show_location(request: Request, svc: Service, viewer: AdminViewing, loc_id: Id) -> Response:
    return location_page(request, svc, viewer, loc_id)


@router.post("/admin/structure/locations/{loc_id}")
def change_location(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, loc_id: Id
) -> Response:
    _location(svc, viewer, loc_id)
    values = {k: form_text(posted, k, 1024) for k in ("name", "parent")}
    form = FormState(values)
    changes = {"name": values["name"], "parent_id": optional_id(values["parent"])}
    try:
        svc.update_location(viewer.agency_id, viewer.user_id, loc_id, changes)
    except CaseShareError as exc:
        field = "parent" if "below" in exc.message or "unknown" in exc.message else "name"
        refuse(form, exc, names(svc, viewer), {}, field)
        return location_page(request, svc, viewer, loc_id, form, 422)
    return redirect(f"/admin/structure/locations/{loc_id}", "Saved the location.")


@router.post("/admin/structure/locations/{loc_id}/archive")
def archive_location(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, loc_id: Id
) -> Response:
    loc = _location(svc, viewer, loc_id)
    archived = not checked(posted, "unarchive")
    svc.update_location(viewer.agency_id, viewer.user_id, loc_id, {"archived": archived})
    said = (
        f"Archived {loc.name}: it owns no cases and gives nobody access until it is unarchived."
        if archived
        else f"Unarchived {loc.name}: it owns its cases again."
    )
    return redirect(f"/admin/structure/locations/{loc_id}", said)


# -- location types ---------------------------------------------------------------------------


def _type_values(kind: LocationType | None = None) -> FormState:
    if kind is None:
        return FormState()
    return FormState(
        {
            "name": kind.name,
            "shares_cases": "1" if kind.shares_cases else "",
            "view_descendants": "1" if kind.view_descendants else "",
        }
    )


def _type_form(posted: Any) -> tuple[dict[str, Any], FormState]:
    changes = {
        "name": form_text(posted, "name", 1024),
        "shares_cases": checked(posted, "shares_cases"),
        "view_descendants": checked(posted, "view_descendants"),
    }
    form = FormState(
        {
            "name": str(changes["name"]),
            "shares_cases": "1" if changes["shares_cases"] else "",
            "view_descendants": "1" if changes["view_descendants"] else "",
        }
    )
    return changes, form


def types_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    form: FormState,
    editing: tuple[int, FormState] | None = None,
    status: int = 200,
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    used: dict[int, int] = {}
    for loc in directory.locations.values():
        used[loc.type_id] = used.get(loc.type_id, 0) + 1
    kinds = sorted(directory.location_types.values(), key=lambda t: t.name.casefold())
    rows = [
        {
            "kind": k,
            "used": used.get(k.id, 0),
            "form": editing[1] if editing and editing[0] == k.id else _type_values(k),
        }
        for k in kinds
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "location_types.html",
        "structure",
        {"title": "Location types", "rows": rows, "form": form},
        status,
    )


@router.get("/admin/structure/types")
def location_types(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return types_page(request, svc, viewer, FormState())


@router.post("/admin/structure/types")
def create_type(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    changes, form = _type_form(posted)
    try:
        svc.create_location_type(
            viewer.agency_id,
            viewer.user_id,
            str(changes["name"]),
            shares_cases=bool(changes["shares_cases"]),
            view_descendants=bool(changes["view_descendants"]),
        )
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "name")
        return types_page(request, svc, viewer, form, status=422)
    return redirect("/admin/structure/types", f"Added the location type “{form.value('name')}”.")


@router.post("/admin/structure/types/{type_id}")
def change_type(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, type_id: Id
) -> Response:
    changes, form = _type_form(posted)
    try:
        svc.update_location_type(viewer.agency_id, viewer.user_id, type_id, changes)
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, f"type-{type_id}-name")
        return types_page(request, svc, viewer, FormState(), (type_id, form), status=422)
    return redirect(
        "/admin/structure/types", "Saved the location type: every location of it follows at once."
    )
