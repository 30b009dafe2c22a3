"""People › Users: the agency's users as CommCare HQ's user list shows them, a new user, and one
user's page — profile, role and permissions, locations, groups, password, deactivate.

Each form posts, redirects and says what changed; a refusal comes back beside its field with
what was typed. A new or reset password is shown once, on the answer to the post itself (never
in an address or a cookie)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.directory import Directory
from caseshare.core.errors import CaseShareError
from caseshare.core.model import PERMISSIONS, User
from caseshare.core.principals import Principal
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted, checked, ids, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.admin.trees import as_tree, indented
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.templating import redirect, url
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
UserId = Annotated[int, Path(ge=1, le=2**62)]
PERMISSION_WORDS = {
    "admin": ("Agency admin", "Manages people, structure, sharing settings and reports."),
    "view_all": ("View all cases", "Reads every case of the agency."),
    "modify_all": ("Modify all cases", "Full access to every case of the agency."),
    "transfer": ("Transfer cases", "May give a case to any user, group or location."),
}
STATUSES = (("active", "Active"), ("inactive", "Deactivated"), ("all", "Active and deactivated"))


def _roles(directory: Directory) -> list[tuple[str, str]]:
    tree = as_tree(
        directory.roles.values(), lambda r: r.id, lambda r: r.parent_id, lambda r: r.name
    )
    return [("", "No role"), *indented(tree, lambda r: r.id, lambda r: r.name)]


def _locations(directory: Directory, keep: set[int]) -> list[dict[str, Any]]:
    """Live locations as a tree (and archived ones the user still has), for check-boxes."""
    tree = as_tree(
        directory.locations.values(), lambda x: x.id, lambda x: x.parent_id, lambda x: x.name
    )
    out = []
    for node in tree:
        loc = node.item
        if loc.archived and loc.id not in keep:
            continue
        kind = directory.location_types.get(loc.type_id)
        out.append(
            {
                "id": loc.id,
                "name": loc.name,
                "depth": node.depth,
                "type": kind.name if kind else "",
                "owns": bool(kind and kind.shares_cases),
                "below": bool(kind and kind.view_descendants),
                "archived": loc.archived,
            }
        )
    return out


def _new_cases(svc: Caseshare, viewer: Viewer, user: User) -> str:
    """Where this user's new cases go (S-CRT-2), in words."""
    ctx = svc.context(viewer.agency_id)
    words = names(svc, viewer)
    if not ctx.settings.case_sharing:
        return "to them (case sharing is off for the agency)"
    owners = ctx.directory.case_sharing_owners(user.id)
    if len(owners) == 1:
        return f"to {words.principal(owners[0])}"
    if not owners:
        return "nowhere: they are in no case-sharing group or location, so creating a case fails"
    listed = ", ".join(words.principal(p) for p in owners)
    return f"nowhere: they are in several case-sharing groups or locations ({listed})"


# -- the list ---------------------------------------------------------------------------------


@router.get("/admin/people")
def users(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "active",
    after: Annotated[str, Query(max_length=200)] = "",
    before: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    status = status if status in dict(STATUSES) else "active"
    needle = q.strip().casefold()
    found = [
        u
        for u in sorted(directory.users.values(), key=lambda u: u.username.casefold())
        if (status == "all" or u.active == (status == "active"))
        and (not needle or needle in f"{u.username}\n{u.full_name}\n{u.email}".casefold())
    ]
    keys = [u.username.casefold() for u in found]
    if before:
        end = sum(1 for k in keys if k < before.casefold())
        start = max(0, end - PAGE_SIZE)
    else:
        start = sum(1 for k in keys if k <= after.casefold()) if after else 0
        end = start + PAGE_SIZE
    page = found[start:end]
    here = {"q": q, "status": status}
    locations = svc.user_locations(viewer.agency_id)
    words = names(svc, viewer)
    rows = [
        {
            "user": u,
            "role": directory.roles[u.role_id].name if u.role_id in directory.roles else "",
            "permissions": [PERMISSION_WORDS[p][0] for p in PERMISSIONS if p in u.permissions],
            "locations": [
                directory.locations[x].name
                for x in locations.get(u.id, [])
                if x in directory.locations
            ],
            "owners": [words.principal(p) for p in directory.case_sharing_owners(u.id)],
        }
        for u in page
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "users.html",
        "people",
        {
            "title": "Users",
            "rows": rows,
            "count": len(found),
            "filters": FormState({"q": q, "status": status}),
            "statuses": STATUSES,
            "case_sharing": svc.context(viewer.agency_id).settings.case_sharing,
            # past the last name (its users deactivated since, or a hand-typed cursor) the
            # page is empty: "previous" is then the last page before that cursor
            "prev": url("/admin/people", here, before=page[0].username if page else after)
            if start > 0
            else None,
            "next": url("/admin/people", here, after=page[-1].username)
            if end < len(found)
            else None,
        },
    )


# -- a new user ---------------------------------------------------------------------------------


def _new_form(
    request: Request, svc: Caseshare, viewer: Viewer, form: FormState, status: int = 200
) -> Response:
    directory = svc.context(viewer.agency_id).directory
    chosen = {int(x) for x in form.value("locations").split(",") if x.isascii() and x.isdigit()}
    return admin_page(
        request,
        svc,
        viewer,
        "user_new.html",
        "people",
        {
            "title": "Add a user",
            "form": form,
            "roles": _roles(directory),
            "permissions": PERMISSION_WORDS,
            "locations": _locations(directory, set()),
            "chosen_locations": chosen,
        },
        status,
    )


@router.get("/admin/people/new")
def new_user(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return _new_form(request, svc, viewer, FormState())


@router.post("/admin/people/new")
def create_user(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    values = {k: form_text(posted, k, 1024) for k in ("username", "full_name", "email", "role")}
    perms = [p for p in PERMISSIONS if checked(posted, f"perm_{p}")]
    locs = ids(posted, "locations")
    form = FormState(
        {**values, **{f"perm_{p}": "1" for p in perms}, "locations": ",".join(map(str, locs))}
    )
    password = form_text(posted, "password", 1024)
    words = names(svc, viewer)
    role = values["role"]
    try:
        user_id = svc.create_user(
            viewer.agency_id,
            viewer.user_id,
            values["username"],
            full_name=values["full_name"].strip(),
            email=values["email"].strip(),
            role_id=int(role) if role.isascii() and role.isdigit() else None,
            permissions=perms,
            locations=locs,
        )
    except CaseShareError as exc:
        refuse(form, exc, words, {}, "username")
        return _new_form(request, svc, viewer, form, 422)
    try:
        secret = svc.reset_password(viewer.agency_id, viewer.user_id, user_id, password)
    except CaseShareError as exc:  # the user exists; the password can be set on their page
        form.refuse("password", words.said(exc.message), exc.code)
        secret = ""
    return _password_page(request, svc, viewer, user_id, secret, created=True, form=form)


def _password_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    user_id: int,
    secret: str,
    *,
    created: bool,
    form: FormState | None = None,
) -> Response:
    """The answer to a post that made a password: shown here once, never stored in the page's
    address, a cookie or the log."""
    user = svc.context(viewer.agency_id).directory.users[user_id]
    slug, _ = svc.agency_names(viewer.agency_id)
    return admin_page(
        request,
        svc,
        viewer,
        "user_password.html",
        "people",
        {
            "title": f"Added {user.full_name or user.username}"
            if created
            else f"New password for {user.full_name or user.username}",
            "person": user,
            "secret": secret,
            "created": created,
            "slug": slug,
            "problems": form.problems if form else [],
        },
        201 if created else 200,
    )


# -- one user ---------------------------------------------------------------------------------


def _user(svc: Caseshare, viewer: Viewer, user_id: int) -> User:
    user = svc.context(viewer.agency_id).directory.users.get(user_id)
    if user is None:
        raise CaseShareError("not_found", f"User {user_id} was not found.")
    return user


def user_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    user_id: int,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    user = _user(svc, viewer, user_id)
    ctx = svc.context(viewer.agency_id)
    directory = ctx.directory
    words = names(svc, viewer)
    assigned = set(svc.user_locations(viewer.agency_id).get(user_id, []))
    in_groups = set(svc.user_groups(viewer.agency_id, user_id))
    given = forms or {}
    defaults = {
        "profile": FormState({"full_name": user.full_name, "email": user.email}),
        "access": FormState(
            {
                "role": str(user.role_id or ""),
                **{f"perm_{p}": "1" for p in user.permissions},
            }
        ),
        "locations": FormState(),
        "groups": FormState(),
        "password": FormState(),
        "active": FormState(),
    }
    defaults.update(given)
    groups = sorted(directory.groups.values(), key=lambda g: g.name.casefold())
    member_of = [
        {"name": words.principal(p), "path": words.said(path)}
        for p, path in directory.principals_of(user_id).items()
        if p.kind in ("group", "location", "role", "role_tree")
    ]
    return admin_page(
        request,
        svc,
        viewer,
        "user.html",
        "people",
        {
            "title": user.full_name or user.username,
            "person": user,
            "forms": defaults,
            "roles": _roles(directory),
            "permissions": PERMISSION_WORDS,
            "locations": _locations(directory, assigned),
            "assigned": assigned,
            "groups": groups,
            "in_groups": in_groups,
            "member_of": member_of,
            "owner_ids": [words.principal(p) for p in directory.owner_ids(user_id)],
            "new_cases": _new_cases(svc, viewer, user),
            "myself": user_id == viewer.user_id,
        },
        status,
    )


@router.get("/admin/people/users/{user_id}")
def show_user(request: Request, svc: Service, viewer: AdminViewing, user_id: UserId) -> Response:
    return user_page(request, svc, viewer, user_id)


def _change(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    user_id: int,
    which: str,
    form: FormState,
    change: Any,
    done: str,
    default_field: str,
) -> Response:
    """Run one change of the user's page: redirect with ``done`` or come back with the refusal."""
    _user(svc, viewer, user_id)
    try:
        change()
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, default_field)
        return user_page(request, svc, viewer, user_id, {which: form}, 422)
    return redirect(url(f"/admin/people/users/{user_id}"), done)


@router.post("/admin/people/users/{user_id}/profile")
def change_profile(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, user_id: UserId
) -> Response:
    values = {k: form_text(posted, k, 1024).strip() for k in ("full_name", "email")}
    return _change(
        request,
        svc,
        viewer,
        user_id,
        "profile",
        FormState(values),
        lambda: svc.update_user(viewer.agency_id, viewer.user_id, user_id, values),
        "Saved the name and email.",
        "full_name",
    )


@router.post("/admin/people/users/{user_id}/access")
def change_access(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, user_id: UserId
) -> Response:
    role = form_text(posted, "role", 20)
    perms = [p for p in PERMISSIONS if checked(posted, f"perm_{p}")]
    form = FormState({"role": role, **{f"perm_{p}": "1" for p in perms}})
    changes = {
        "role_id": int(role) if role.isascii() and role.isdigit() else None,
        "permissions": perms,
    }
    return _change(
        request,
        svc,
        viewer,
        user_id,
        "access",
        form,
        lambda: svc.update_user(viewer.agency_id, viewer.user_id, user_id, changes),
        "Saved the role and permissions.",
        "role",
    )


@router.post("/admin/people/users/{user_id}/locations")
def change_locations(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, user_id: UserId
) -> Response:
    chosen = ids(posted, "locations")
    return _change(
        request,
        svc,
        viewer,
        user_id,
        "locations",
        FormState(),
        lambda: svc.update_user(viewer.agency_id, viewer.user_id, user_id, {"locations": chosen}),
        "Saved the locations.",
        "locations",
    )


@router.post("/admin/people/users/{user_id}/groups")
def change_groups(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, user_id: UserId
) -> Response:
    chosen = ids(posted, "groups")
    words = names(svc, viewer)
    outcome: dict[str, tuple[list[int], list[int]]] = {}

    def save() -> None:
        outcome["x"] = svc.set_user_groups(viewer.agency_id, viewer.user_id, user_id, chosen)

    response = _change(request, svc, viewer, user_id, "groups", FormState(), save, "", "groups")
    if "x" not in outcome:
        return response
    joined, left = outcome["x"]
    said = [
        *(f"joined {words.principal(Principal('group', g))}" for g in joined),
        *(f"left {words.principal(Principal('group', g))}" for g in left),
    ]
    message = ("Saved the groups: " + "; ".join(said) + ".") if said else "No group changed."
    return redirect(url(f"/admin/people/users/{user_id}"), message)


@router.post("/admin/people/users/{user_id}/password")
def reset_password(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, user_id: UserId
) -> Response:
    _user(svc, viewer, user_id)
    chosen = form_text(posted, "new_password", 1024)
    try:
        secret = svc.reset_password(viewer.agency_id, viewer.user_id, user_id, chosen)
    except CaseShareError as exc:
        form = FormState()
        refuse(form, exc, names(svc, viewer), {}, "new_password")
        return user_page(request, svc, viewer, user_id, {"password": form}, 422)
    return _password_page(request, svc, viewer, user_id, secret, created=False)


@router.post("/admin/people/users/{user_id}/{verb}")
def set_active(
    request: Request,
    svc: Service,
    viewer: AdminPosting,
    user_id: UserId,
    verb: Annotated[str, Path(pattern="^(deactivate|activate)$")],
) -> Response:
    user = _user(svc, viewer, user_id)
    active = verb == "activate"
    who = user.full_name or user.username
    done = (
        f"{who} is active again: their grants apply and they can sign in."
        if active
        else f"Deactivated {who}: all their access ended at once, and so did their sessions."
    )
    return _change(
        request,
        svc,
        viewer,
        user_id,
        "active",
        FormState(),
        lambda: svc.set_active(viewer.agency_id, viewer.user_id, user_id, active),
        done,
        "active",
    )
