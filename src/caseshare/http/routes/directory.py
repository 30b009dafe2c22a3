"""The agency's people and groups: every user reads them (to pick grantees), admins change them."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from caseshare.core.directory import Directory
from caseshare.core.errors import CaseShareError
from caseshare.core.model import Group, User
from caseshare.core.principals import Principal
from caseshare.http.auth import CurrentActor, Service
from caseshare.services import Caseshare
from caseshare.services.accounts import MIN_PASSWORD

router = APIRouter(prefix="/api/v1")

Permission = Literal["admin", "view_all", "modify_all", "transfer"]
Id = Annotated[int, Field(ge=1, le=2**62)]
#: path ids: bounded so a huge number is a 404, never a database overflow
UserId = Annotated[int, Path(ge=1, le=2**62)]
GroupId = Annotated[int, Path(ge=1, le=2**62)]
USERNAME = r"^[A-Za-z0-9._@+-]+$"
MEMBER = re.compile(r"^(user|group):[0-9]{1,18}$")


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150, pattern=USERNAME)
    full_name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    role_id: Id | None = None
    permissions: list[Permission] = Field(default_factory=list, max_length=10)
    locations: list[Id] = Field(default_factory=list, max_length=500)
    password: str | None = Field(
        None,
        min_length=MIN_PASSWORD,
        max_length=1024,
        description="Optional: without one the user cannot sign in until a password is set.",
    )
    active: bool = True


class UserChange(BaseModel):
    """Only the fields given change; ``locations`` and ``permissions`` replace the old lists."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    role_id: Id | None = Field(None, description="null takes the user out of the role tree.")
    permissions: list[Permission] | None = Field(None, max_length=10)
    locations: list[Id] | None = Field(None, max_length=500)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    current_password: str | None = Field(
        None, max_length=1024, description="Required when you set your own password."
    )


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    case_sharing: bool = Field(False, description="Members work every case the group owns.")
    kind: Literal["group", "unit"] = Field("group", description="`unit`: a field unit (§10).")


class GroupChange(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, max_length=200)
    case_sharing: bool | None = Field(None, description="Members work every case the group owns.")
    kind: Literal["group", "unit"] | None = None


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: str = Field(
        min_length=3, max_length=40, description="`user:ID` or `group:ID` (groups nest)."
    )


# -- shapes -----------------------------------------------------------------------------------


def user_json(user: User, locations: list[int]) -> dict[str, Any]:
    """A user as the API shows it: never a password or its hash."""
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "active": user.active,
        "role_id": user.role_id,
        "permissions": sorted(user.permissions),
        "locations": locations,
    }


def group_json(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "case_sharing": group.case_sharing,
        "kind": group.kind,
    }


def directory_of(svc: Caseshare, agency_id: int) -> Directory:
    return svc.context(agency_id).directory


def find_user(svc: Caseshare, agency_id: int, user_id: int) -> User:
    user = directory_of(svc, agency_id).users.get(user_id)
    if user is None:
        raise CaseShareError("not_found", f"User {user_id} was not found.")
    return user


def read_user(svc: Caseshare, agency_id: int, user_id: int) -> dict[str, Any]:
    directory = directory_of(svc, agency_id)
    user = find_user(svc, agency_id, user_id)
    out = user_json(user, svc.user_locations(agency_id).get(user_id, []))
    out["member_of"] = [
        {"principal": str(p), "name": directory.name_of(p), "path": path}
        for p, path in directory.principals_of(user_id).items()
        if p.kind != "user"
    ]
    out["case_sharing_owners"] = [str(p) for p in directory.case_sharing_owners(user_id)]
    return out


def find_group(svc: Caseshare, agency_id: int, group_id: int) -> Group:
    group = directory_of(svc, agency_id).groups.get(group_id)
    if group is None:
        raise CaseShareError("not_found", f"Group {group_id} was not found.")
    return group


def read_group(svc: Caseshare, agency_id: int, group_id: int) -> dict[str, Any]:
    directory = directory_of(svc, agency_id)
    out = group_json(find_group(svc, agency_id, group_id))
    out["members"] = [
        {"member": str(m), "name": directory.name_of(m)}
        for m in svc.group_members(agency_id, group_id)
    ]
    out["users"] = sorted(directory.members_of(Principal("group", group_id)))
    return out


# -- users ------------------------------------------------------------------------------------


@router.get("/users", summary="Users of my agency, by id, a page at a time", tags=["directory"])
def list_users(
    actor: CurrentActor,
    svc: Service,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name or email")] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) users")] = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    directory = directory_of(svc, actor.agency_id)
    needle = (q or "").strip().casefold()
    found = []
    for user in sorted(directory.users.values(), key=lambda u: u.id):
        if cursor is not None and user.id <= cursor:
            continue
        if active is not None and user.active != active:
            continue
        if needle and not any(
            needle in text.casefold() for text in (user.username, user.full_name, user.email)
        ):
            continue
        found.append(user)
        if len(found) > limit:
            break
    page, more = found[:limit], len(found) > limit
    locations = svc.user_locations(actor.agency_id)
    return {
        "items": [user_json(u, locations.get(u.id, [])) for u in page],
        "next_cursor": str(page[-1].id) if more else None,
    }


@router.post("/users", status_code=201, summary="Create a user (admins)", tags=["directory"])
def create_user(body: NewUser, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    user_id = svc.create_user(
        actor.agency_id,
        actor.user_id,
        body.username,
        email=body.email.strip(),
        full_name=body.full_name.strip(),
        active=body.active,
        role_id=body.role_id,
        permissions=list(body.permissions),
        locations=list(dict.fromkeys(body.locations)),
    )
    if body.password is not None:
        svc.set_password(actor.agency_id, actor.user_id, user_id, body.password)
    return read_user(svc, actor.agency_id, user_id)


@router.get("/users/{user_id}", summary="One user, with what they belong to", tags=["directory"])
def get_user(user_id: UserId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return read_user(svc, actor.agency_id, user_id)


@router.patch(
    "/users/{user_id}",
    summary="Change a user's name, email, role, permissions or locations (admins)",
    tags=["directory"],
)
def update_user(
    user_id: UserId, body: UserChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    find_user(svc, actor.agency_id, user_id)
    changes = body.model_dump(exclude_unset=True)
    for key in ("full_name", "email", "permissions", "locations"):
        if key in changes and changes[key] is None:
            raise CaseShareError("validation_error", f"{key} cannot be null.")
    for key in ("full_name", "email"):
        if key in changes:
            changes[key] = changes[key].strip()
    svc.update_user(actor.agency_id, actor.user_id, user_id, changes)
    return read_user(svc, actor.agency_id, user_id)


@router.put(
    "/users/{user_id}/password",
    status_code=204,
    summary="Set a password: your own (with the current one), or anyone's as an admin",
    tags=["directory"],
)
def set_password(user_id: UserId, body: NewPassword, actor: CurrentActor, svc: Service) -> Response:
    find_user(svc, actor.agency_id, user_id)
    if user_id != actor.user_id:
        svc.set_password(actor.agency_id, actor.user_id, user_id, body.password)
    elif body.current_password is None:
        raise CaseShareError(
            "insufficient_access",
            "To change your own password, give your current one as current_password.",
        )
    else:  # the same service as My account: a wrong current password counts as a failed sign-in
        svc.change_own_password(actor.user_id, body.current_password, body.password)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/deactivate",
    summary="Deactivate a user: all their access ends at once (S-ACC-4; admins)",
    tags=["directory"],
)
def deactivate_user(user_id: UserId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    find_user(svc, actor.agency_id, user_id)
    svc.set_active(actor.agency_id, actor.user_id, user_id, False)
    return read_user(svc, actor.agency_id, user_id)


@router.post(
    "/users/{user_id}/activate",
    summary="Reactivate a user: their grants apply again (S-ACC-4; admins)",
    tags=["directory"],
)
def activate_user(user_id: UserId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    find_user(svc, actor.agency_id, user_id)
    svc.set_active(actor.agency_id, actor.user_id, user_id, True)
    return read_user(svc, actor.agency_id, user_id)


# -- groups -----------------------------------------------------------------------------------


@router.get("/groups", summary="Groups and field units of my agency", tags=["directory"])
def list_groups(
    actor: CurrentActor,
    svc: Service,
    kind: Annotated[Literal["group", "unit"] | None, Query()] = None,
    case_sharing: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    groups = sorted(directory_of(svc, actor.agency_id).groups.values(), key=lambda g: g.id)
    return {
        "items": [
            group_json(g)
            for g in groups
            if (kind is None or g.kind == kind)
            and (case_sharing is None or g.case_sharing == case_sharing)
        ]
    }


@router.post(
    "/groups", status_code=201, summary="Create a group or unit (admins)", tags=["directory"]
)
def create_group(body: NewGroup, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    group_id = svc.create_group(
        actor.agency_id,
        actor.user_id,
        body.name.strip(),
        case_sharing=body.case_sharing,
        kind=body.kind,
    )
    return read_group(svc, actor.agency_id, group_id)


@router.get(
    "/groups/{group_id}", summary="One group: direct members and all its users", tags=["directory"]
)
def get_group(group_id: GroupId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return read_group(svc, actor.agency_id, group_id)


@router.patch(
    "/groups/{group_id}",
    summary="Rename a group, turn case sharing on or off, or make it a field unit (admins)",
    tags=["directory"],
)
def update_group(
    group_id: GroupId, body: GroupChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    find_group(svc, actor.agency_id, group_id)
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise CaseShareError("validation_error", "A group's fields cannot be null.")
    svc.update_group(actor.agency_id, actor.user_id, group_id, changes)
    return read_group(svc, actor.agency_id, group_id)


@router.post(
    "/groups/{group_id}/members",
    summary="Add a user or a nested group (admins; cycles refused)",
    tags=["directory"],
    responses={201: {"description": "Added"}, 200: {"description": "Already a member"}},
)
def add_member(
    group_id: GroupId, body: NewMember, actor: CurrentActor, svc: Service, response: Response
) -> dict[str, Any]:
    find_group(svc, actor.agency_id, group_id)
    member = _member(body.member)
    added = svc.add_member(actor.agency_id, actor.user_id, group_id, member)
    response.status_code = 201 if added else 200
    return read_group(svc, actor.agency_id, group_id) | {"added": added}


@router.delete(
    "/groups/{group_id}/members/{member}",
    status_code=204,
    summary="Remove a direct member, e.g. user:5 or group:7 (admins)",
    tags=["directory"],
)
def remove_member(
    group_id: GroupId,
    member: Annotated[str, Path(max_length=40, description="user:ID or group:ID")],
    actor: CurrentActor,
    svc: Service,
) -> Response:
    find_group(svc, actor.agency_id, group_id)
    principal = _member(member)
    if not svc.remove_member(actor.agency_id, actor.user_id, group_id, principal):
        raise CaseShareError(
            "not_found", f"{principal} is not a direct member of group {group_id}."
        )
    return Response(status_code=204)


def _member(text: str) -> Principal:
    if MEMBER.match(text) is None:
        raise CaseShareError(
            "validation_error", f"{text!r}: a group's members are written user:ID or group:ID."
        )
    return Principal.parse(text)
