"""A case's targets and their identifiers (SPEC §2): view the case to read them, edit it to
change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from caseshare.core.targets import KINDS, MAX_IDENTIFIERS
from caseshare.http.auth import CurrentActor, Service
from caseshare.http.routes.shares import CaseId

router = APIRouter(prefix="/api/v1", tags=["targets"])

TargetId = Annotated[int, Path(ge=1, le=2**62, description="A target's id.")]
IdentifierId = Annotated[int, Path(ge=1, le=2**62, description="An identifier's id.")]
TYPE_HELP = "phone, email, plate, imei, or another lower-case word (letters, digits, _)."


class NewIdentifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=40, description=TYPE_HELP)
    value: str = Field(min_length=1, max_length=255)
    deconfliction: bool = Field(
        False, description="Opt in to cross-case alerts (S-XC-1) on this identifier."
    )


class IdentifierChange(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, min_length=1, max_length=40, description=TYPE_HELP)
    value: str | None = Field(None, min_length=1, max_length=255)
    deconfliction: bool | None = None


class NewTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=40, description=f"One of {', '.join(KINDS)}.")
    name: str = Field(min_length=1, max_length=255)
    identifiers: list[NewIdentifier] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)


class TargetChange(BaseModel):
    """Only the fields given change; identifiers change through their own endpoints."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(None, min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=255)


@router.get("/cases/{case_id}/targets", summary="A case's targets, with their identifiers")
def list_targets(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.targets(actor.agency_id, actor.user_id, case_id)}


@router.post("/cases/{case_id}/targets", status_code=201, summary="Add a target (edit access)")
def add_target(
    case_id: CaseId, body: NewTarget, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    return svc.add_target(
        actor.agency_id,
        actor.user_id,
        case_id,
        body.kind,
        body.name,
        [i.model_dump() for i in body.identifiers],
    )


@router.get("/cases/{case_id}/targets/{target_id}", summary="One target")
def read_target(
    case_id: CaseId, target_id: TargetId, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    return svc.target(actor.agency_id, actor.user_id, case_id, target_id)


@router.patch("/cases/{case_id}/targets/{target_id}", summary="Change a target's kind or name")
def change_target(
    case_id: CaseId, target_id: TargetId, body: TargetChange, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    return svc.change_target(
        actor.agency_id, actor.user_id, case_id, target_id, kind=body.kind, name=body.name
    )


@router.delete("/cases/{case_id}/targets/{target_id}", status_code=204, summary="Remove a target")
def remove_target(
    case_id: CaseId, target_id: TargetId, svc: Service, actor: CurrentActor
) -> Response:
    svc.remove_target(actor.agency_id, actor.user_id, case_id, target_id)
    return Response(status_code=204)


@router.post(
    "/cases/{case_id}/targets/{target_id}/identifiers",
    status_code=201,
    summary="Add an identifier to a target; answers the whole target",
)
def add_identifier(
    case_id: CaseId, target_id: TargetId, body: NewIdentifier, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    return svc.add_identifier(
        actor.agency_id,
        actor.user_id,
        case_id,
        target_id,
        body.type,
        body.value,
        body.deconfliction,
    )


@router.patch(
    "/cases/{case_id}/targets/{target_id}/identifiers/{identifier_id}",
    summary="Change an identifier (type, value, deconfliction); answers the whole target",
)
def change_identifier(
    case_id: CaseId,
    target_id: TargetId,
    identifier_id: IdentifierId,
    body: IdentifierChange,
    svc: Service,
    actor: CurrentActor,
) -> dict[str, Any]:
    return svc.change_identifier(
        actor.agency_id,
        actor.user_id,
        case_id,
        target_id,
        identifier_id,
        type=body.type,
        value=body.value,
        deconfliction=body.deconfliction,
    )


@router.delete(
    "/cases/{case_id}/targets/{target_id}/identifiers/{identifier_id}",
    status_code=204,
    summary="Remove an identifier",
)
def remove_identifier(
    case_id: CaseId,
    target_id: TargetId,
    identifier_id: IdentifierId,
    svc: Service,
    actor: CurrentActor,
) -> Response:
    svc.remove_identifier(actor.agency_id, actor.user_id, case_id, target_id, identifier_id)
    return Response(status_code=204)
