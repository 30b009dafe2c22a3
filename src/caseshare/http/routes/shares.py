"""The share API (Salesforce CaseShare semantics, SPEC §5), assignments, case teams, user search."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import STORED_CAUSES, Action, Cause
from caseshare.core.naming import Namer, named_text
from caseshare.core.principals import Principal
from caseshare.http.auth import Actor, CurrentActor, Service
from caseshare.http.routes.case_access import namer_of
from caseshare.services import SHARE_FIELDS, Caseshare, ShareEntry
from caseshare.services.sharing import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["shares"])

#: no control characters: PostgreSQL text cannot hold NUL, and no case id has them
TEXT = r"^[^\x00-\x1f]+$"
CaseId = Annotated[
    str, Path(min_length=1, max_length=255, pattern=TEXT, description="The case's id.")
]
ShareId = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored share entry's id.")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="A user's id.")]
LevelName = Literal["none", "read", "edit", "full"]
GRANTEE_HELP = "A principal: user:ID, group:ID, location:ID, role:ID, role_tree:ID or agency:ID."


class ShareCreate(BaseModel):
    """A manual share; ``access_level`` is accepted as another name of ``level``."""

    model_config = ConfigDict(extra="forbid")

    grantee: str = Field(min_length=1, max_length=100, description=GRANTEE_HELP)
    level: str = Field(
        min_length=1,
        max_length=20,
        validation_alias=AliasChoices("level", "access_level"),
        description="read or edit, and more than the agency's default access for the case type.",
    )
    row_cause: str = Field(
        default="manual", max_length=40, description="Only manual can be created (S-SHR-4)."
    )


class ShareUpdate(BaseModel):
    """A new level; the case, grantee and row cause are fixed once the share exists (S-SHR-4)."""

    model_config = ConfigDict(extra="forbid")

    level: str = Field(
        min_length=1,
        max_length=20,
        validation_alias=AliasChoices("level", "access_level"),
        description="read or edit.",
    )
    case_id: str | None = Field(default=None, max_length=255, description="Cannot change.")
    grantee: str | None = Field(default=None, max_length=100, description="Cannot change.")
    row_cause: str | None = Field(default=None, max_length=40, description="Cannot change.")


class AssigneeAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=MAX_ID, description="An active user of your agency.")


class TeamMemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=MAX_ID, description="An active user of your agency.")
    team_role_id: int = Field(ge=1, le=MAX_ID, description="A team role of your agency.")


def _require(svc: Caseshare, actor: Actor, action: Action, case_id: str) -> None:
    """Load-and-authorise: 404 when the case is not visible, 403 when visible but not enough."""
    svc.require(actor.user_id, action, case_id, agency_id=actor.agency_id)


def share_view(entry: ShareEntry, name: Namer) -> dict[str, Any]:
    """A share entry with its ids kept and names added: ``grantee_name`` and, for a derived
    row, ``path_text``."""
    view = entry.to_dict()
    view["grantee_name"] = named_text(entry.grantee, name)
    view["path_text"] = named_text(entry.path, name)
    return view


def _share_of(svc: Caseshare, actor: Actor, share_id: int) -> ShareEntry:
    """A stored share the actor may see (404 otherwise)."""
    return svc.retrieve_share(actor.agency_id, actor.user_id, share_id)


# -- describe and query ---------------------------------------------------------------------------


@router.get("/shares/describe", summary="Describe share entries: fields, levels, row causes")
def describe(actor: CurrentActor) -> dict[str, Any]:
    return {
        "fields": SHARE_FIELDS,
        "createable": sorted(k for k, v in SHARE_FIELDS.items() if v["create"]),
        "updateable": sorted(k for k, v in SHARE_FIELDS.items() if v["update"]),
        "levels": {"manual": ["read", "edit"], "all": ["none", "read", "edit", "full"]},
        "row_causes": [
            {"cause": c.value, "writable": c is Cause.MANUAL, "stored": c in STORED_CAUSES}
            for c in Cause
        ],
        "body": {"create": ["grantee", "level", "row_cause"], "update": ["level"]},
    }


@router.get("/shares", summary="Query share entries (S-SHR-7) by case, grantee, cause, level")
def query_shares(
    svc: Service,
    actor: CurrentActor,
    case: Annotated[str | None, Query(min_length=1, max_length=255, pattern=TEXT)] = None,
    grantee: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cause: Cause | None = None,
    level: LevelName | None = None,
    derived: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=30, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    who = str(Principal.parse(grantee)) if grantee is not None else None
    if case is not None:
        rows = svc.query_shares(
            actor.agency_id,
            actor.user_id,
            case,
            grantee=who,
            cause=cause,
            level=level,
            derived=derived,
        )
        name = namer_of(svc, actor.agency_id)
        return {"items": [share_view(r, name) for r in rows], "next_cursor": None}
    after = int(cursor) if cursor else 0
    if after > MAX_ID:
        raise CaseShareError("validation_error", "cursor is not one this API gave out.")
    found, more = svc.query_agency_shares(
        actor.agency_id,
        actor.user_id,
        grantee=who,
        cause=cause,
        level=level,
        after=after,
        limit=limit,
    )
    name = namer_of(svc, actor.agency_id)
    return {
        "items": [share_view(r, name) for r in found],
        "next_cursor": None if more is None else str(more),
    }


@router.get(
    "/cases/{case_id}/shares",
    summary="Every access row of a case: stored shares and derived grants (flagged derived)",
)
def case_shares(
    case_id: CaseId,
    svc: Service,
    actor: CurrentActor,
    derived: bool = True,
) -> dict[str, Any]:
    rows = svc.query_shares(actor.agency_id, actor.user_id, case_id, derived=derived)
    name = namer_of(svc, actor.agency_id)
    return {"items": [share_view(r, name) for r in rows]}


# -- create (upsert), retrieve, update, delete ----------------------------------------------------


@router.post(
    "/cases/{case_id}/shares",
    status_code=201,
    summary="Share a case (upsert): 201 created, 200 when the grantee's share was updated",
)
def create_share(
    case_id: CaseId, body: ShareCreate, response: Response, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    _require(svc, actor, Action.SHARE, case_id)
    entry, created = svc.share_upsert(
        actor.agency_id,
        actor.user_id,
        case_id,
        body.grantee,
        body.level,
        row_cause=body.row_cause,
    )
    if not created:
        response.status_code = 200
    return share_view(entry, namer_of(svc, actor.agency_id))


@router.get("/shares/{share_id}", summary="One stored share entry")
def retrieve_share(share_id: ShareId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return share_view(_share_of(svc, actor, share_id), namer_of(svc, actor.agency_id))


@router.patch("/shares/{share_id}", summary="Change a manual share's level")
def update_share(
    share_id: ShareId, body: ShareUpdate, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    entry = _share_of(svc, actor, share_id)
    _require(svc, actor, Action.SHARE, entry.case_id)
    if entry.row_cause != Cause.MANUAL.value:  # S-SHR-4, whatever the body asks of it
        raise CaseShareError(
            "read_only_share",
            f"Share {share_id} comes from {entry.row_cause}; only manual shares can be changed"
            " through the share API.",
        )
    fixed = {"case_id": entry.case_id, "grantee": entry.grantee, "row_cause": entry.row_cause}
    for name, now in fixed.items():
        sent = getattr(body, name)
        if sent is not None and sent.strip() != now:
            raise CaseShareError(
                "validation_error",
                f"A share's {name} cannot be changed after creation (S-SHR-4); delete this"
                " share and create another.",
                {"field": name},
            )
    entry = svc.update_share(actor.agency_id, actor.user_id, share_id, body.level)
    return share_view(entry, namer_of(svc, actor.agency_id))


@router.delete("/shares/{share_id}", status_code=204, summary="Delete a manual share")
def delete_share(share_id: ShareId, svc: Service, actor: CurrentActor) -> Response:
    entry = _share_of(svc, actor, share_id)
    _require(svc, actor, Action.SHARE, entry.case_id)
    svc.delete_share(actor.agency_id, actor.user_id, share_id)
    return Response(status_code=204)


# -- assignments (S-ASG-1) and user search ------------------------------------------------------


@router.get("/cases/{case_id}/assignees", summary="The users assigned to a case", tags=["assign"])
def list_assignees(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.assignees(actor.agency_id, actor.user_id, case_id)}


@router.post(
    "/cases/{case_id}/assignees",
    status_code=201,
    summary="Assign a user (full access); 200 when already assigned",
    tags=["assign"],
)
def assign(
    case_id: CaseId, body: AssigneeAdd, response: Response, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    _require(svc, actor, Action.SHARE, case_id)
    entry, created = svc.assignment(actor.agency_id, actor.user_id, case_id, body.user_id)
    if not created:
        response.status_code = 200
    return entry


@router.delete(
    "/cases/{case_id}/assignees/{user_id}",
    status_code=204,
    summary="Unassign a user",
    tags=["assign"],
)
def unassign(case_id: CaseId, user_id: UserId, svc: Service, actor: CurrentActor) -> Response:
    _require(svc, actor, Action.SHARE, case_id)
    if not svc.unassign(actor.agency_id, actor.user_id, case_id, user_id):
        raise CaseShareError(
            "not_found",
            f"user:{user_id} is not assigned to case {case_id!r}.",
            {"user_id": user_id},
        )
    return Response(status_code=204)


@router.get(
    "/user-search",
    summary="Find active users of your agency by any part of a name, user name or email",
    tags=["assign"],
)
def user_search(
    svc: Service,
    actor: CurrentActor,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Any part of a name.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    if not q.strip():
        raise CaseShareError("validation_error", "q: write at least one letter to search for.")
    return {"items": svc.search_users(actor.agency_id, q, limit)}


# -- case teams (S-TEAM-1) ------------------------------------------------------------------------


@router.get("/cases/{case_id}/team", summary="A case's team members and roles", tags=["team"])
def list_team(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.team_members(actor.agency_id, actor.user_id, case_id)}


@router.post(
    "/cases/{case_id}/team",
    status_code=201,
    summary="Add a team member with a team role (201), or change their role (200)",
    tags=["team"],
)
def add_team_member(
    case_id: CaseId, body: TeamMemberAdd, response: Response, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    _require(svc, actor, Action.SHARE, case_id)
    entry, created = svc.team_membership(
        actor.agency_id, actor.user_id, case_id, body.user_id, body.team_role_id
    )
    if not created:
        response.status_code = 200
    return entry


@router.delete(
    "/cases/{case_id}/team/{user_id}",
    status_code=204,
    summary="Remove a team member",
    tags=["team"],
)
def remove_team_member(
    case_id: CaseId, user_id: UserId, svc: Service, actor: CurrentActor
) -> Response:
    _require(svc, actor, Action.SHARE, case_id)
    if not svc.team_remove(actor.agency_id, actor.user_id, case_id, user_id):
        raise CaseShareError(
            "not_found",
            f"user:{user_id} is not on the team of case {case_id!r}.",
            {"user_id": user_id},
        )
    return Response(status_code=204)
