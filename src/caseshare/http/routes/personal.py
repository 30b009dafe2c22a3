"""A user's own lists (S-VIEW-1): favourite cases, recently opened cases and saved filters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from caseshare.http.auth import CurrentActor, Service
from caseshare.http.routes.case_access import summary_view

router = APIRouter(prefix="/api/v1/me", tags=["personal"])

CaseId = Annotated[str, Path(min_length=1, max_length=255, description="The case's case_id.")]


class FilterFields(BaseModel):
    """The S-VIEW-1 filters of GET /api/v1/cases; unset fields do not narrow."""

    model_config = ConfigDict(extra="forbid")

    created_by_me: bool = False
    assigned_to_me: bool = False
    owned_by_me: bool = Field(default=False, description="Owned by me or one of my groups.")
    shared_with_me: bool = False
    status: str | None = Field(default=None, pattern="^(open|closed)$")
    case_type: str | None = Field(default=None, min_length=1, max_length=200)
    owner: str | None = Field(
        default=None, min_length=1, max_length=200, description="An owner id: user:ID, group:ID …"
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Text in name/external id/properties.",
    )
    sort: str = Field(default="modified", max_length=40)
    descending: bool = False


class SavedFilterBody(BaseModel):
    """A named filter; saving one under a name the user already has replaces it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    filter: FilterFields = Field(default_factory=FilterFields)
    default: bool = Field(
        default=False, description="Make this the user's default filter (only one)."
    )


@router.get("/favourites", summary="My starred cases (only those I can still see)")
def list_favourites(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    directory = svc.context(actor.agency_id).directory
    return {"items": [summary_view(directory, row) for row in svc.favourites(actor.user_id)]}


@router.put(
    "/favourites/{case_id}",
    status_code=204,
    summary="Star a case I can see (idempotent)",
)
def star(case_id: CaseId, actor: CurrentActor, svc: Service) -> Response:
    svc.set_favourite(actor.user_id, case_id, True)
    return Response(status_code=204)


@router.delete(
    "/favourites/{case_id}",
    status_code=204,
    summary="Unstar a case (idempotent)",
)
def unstar(case_id: CaseId, actor: CurrentActor, svc: Service) -> Response:
    svc.set_favourite(actor.user_id, case_id, False)
    return Response(status_code=204)


@router.get("/recent", summary="The cases I opened last, newest first (those I can still see)")
def list_recent(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    directory = svc.context(actor.agency_id).directory
    return {"items": [summary_view(directory, row) for row in svc.recent_cases(actor.user_id)]}


@router.get("/filters", summary="My saved case-list filters, by name")
def list_filters(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return {"items": svc.saved_filters(actor.user_id)}


@router.post(
    "/filters",
    status_code=201,
    summary="Save a case-list filter (replaces the one of the same name)",
)
def save_filter(body: SavedFilterBody, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    raw = body.filter.model_dump(exclude_unset=True)
    return svc.save_filter(actor.user_id, body.name, raw, default=body.default)


@router.delete("/filters/{filter_id}", status_code=204, summary="Delete one of my saved filters")
def delete_filter(
    filter_id: Annotated[int, Path(ge=1, le=2**62)], actor: CurrentActor, svc: Service
) -> Response:
    svc.delete_filter(actor.user_id, filter_id)
    return Response(status_code=204)
