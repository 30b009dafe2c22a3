"""Agency shares (S-AG-2…S-AG-5): send a case to partner agencies, edit or revoke what was
sent; the receiving admins finalise or reject; the receiving user and units read the summary."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from caseshare.http.auth import CurrentActor, Service
from caseshare.http.routes.case_access import CaseId, access_view, namer_of

router = APIRouter(prefix="/api/v1", tags=["agency shares"])

ShareId = Annotated[int, Path(ge=1, le=2**62, description="An agency share's id.")]
StatusName = Literal["pending", "active", "rejected", "revoked"]
Ids = list[Annotated[int, Field(ge=1, le=2**62)]]


class Send(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agencies: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50, description="The receiving agencies' slugs."
    )
    targets: Ids = Field(default_factory=list, description="The case's targets to share.")
    units: dict[str, Ids] = Field(
        default_factory=dict, description="Per agency slug, its field units (groups of kind unit)."
    )
    auto_include_new_targets: bool = Field(
        False, description="Targets added to the case later are shared too."
    )


class Edit(BaseModel):
    """What a share holds; a field not given keeps its value."""

    model_config = ConfigDict(extra="forbid")

    targets: Ids | None = None
    units: Ids | None = None
    auto_include_new_targets: bool | None = None


class Revoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)
    status: Literal["pending", "active"] | None = Field(
        None, description="The status you saw: the revoke happens only if it still is."
    )


class Accept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receiving_user: int = Field(ge=1, le=2**62, description="A user of your agency.")
    local_case_id: str | None = Field(
        None, min_length=1, max_length=255, description="Map to this case of yours; else new."
    )
    case_type: str = Field("received", min_length=1, max_length=255)
    name: str | None = Field(None, min_length=1, max_length=255)


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Told to the sender.")


@router.get("/agency-shares/recipients", summary="Agencies a case may be sent to, with units")
def recipients(svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.share_recipients(actor.agency_id, actor.user_id)}


@router.get("/agency-shares", summary="Shares your agency received or sent (admins)")
def list_shares(
    svc: Service,
    actor: CurrentActor,
    direction: Literal["received", "sent"] = "received",
    status: StatusName | None = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    read = svc.agency_shares_received if direction == "received" else svc.agency_shares_sent
    rows = read(actor.agency_id, actor.user_id, status=status, after=after)
    return {"items": [svc.agency_share_json(r, actor.agency_id, actor.user_id) for r in rows]}


@router.get("/cases/{case_id}/agency-shares", summary="The shares sent from a case")
def case_shares(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    rows = svc.agency_shares_of_case(actor.agency_id, actor.user_id, case_id)
    return {"items": [svc.agency_share_json(r, actor.agency_id, actor.user_id) for r in rows]}


@router.post(
    "/cases/{case_id}/agency-shares",
    status_code=201,
    summary="Send a case to partner agencies (needs full access and a valid agreement)",
)
def send(case_id: CaseId, body: Send, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    rows = svc.send_case(
        actor.agency_id,
        actor.user_id,
        case_id,
        body.agencies,
        targets=body.targets,
        units=body.units,
        auto_include=body.auto_include_new_targets,
    )
    return {"items": [svc.agency_share_json(r, actor.agency_id, actor.user_id) for r in rows]}


@router.get("/cases/{case_id}/received", summary="Cases sent here, seen from their local case")
def received_for_case(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.received_for_local_case(actor.agency_id, actor.user_id, case_id)}


@router.get("/agency-shares/{share_id}", summary="One agency share")
def read(share_id: ShareId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.agency_share(actor.agency_id, actor.user_id, share_id)
    return svc.agency_share_json(row, actor.agency_id, actor.user_id)


@router.get(
    "/agency-shares/{share_id}/case",
    summary="The shared case's summary and shared targets (receiving user and units)",
)
def received_case(share_id: ShareId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return svc.received_case(actor.agency_id, actor.user_id, share_id)


@router.get(
    "/agency-shares/{share_id}/access",
    summary="Your access to the shared case, and why (S-ACC-6, row cause agency_share)",
)
def received_access(share_id: ShareId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.agency_share(actor.agency_id, actor.user_id, share_id)
    access = svc.access_received(actor.user_id, row.case_pk)
    return access_view(access, namer_of(svc, actor.agency_id))


@router.patch("/agency-shares/{share_id}", summary="Change the shared targets, units, auto-include")
def edit(share_id: ShareId, body: Edit, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.edit_agency_share(
        actor.agency_id,
        actor.user_id,
        share_id,
        targets=body.targets,
        units=body.units,
        auto_include=body.auto_include_new_targets,
    )
    return svc.agency_share_json(row, actor.agency_id, actor.user_id)


@router.post("/agency-shares/{share_id}/revoke", summary="Revoke a share you sent")
def revoke(
    share_id: ShareId, svc: Service, actor: CurrentActor, body: Revoke | None = None
) -> dict[str, Any]:
    body = body or Revoke(reason=None, status=None)
    row = svc.revoke_agency_share(
        actor.agency_id, actor.user_id, share_id, body.reason, expected=body.status
    )
    return svc.agency_share_json(row, actor.agency_id, actor.user_id)


@router.post("/agency-shares/{share_id}/accept", summary="Finalise a share sent to you (admins)")
def accept(share_id: ShareId, body: Accept, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.accept_agency_share(
        actor.agency_id,
        actor.user_id,
        share_id,
        body.receiving_user,
        local_case_id=body.local_case_id,
        new_case_type=body.case_type,
        new_case_name=body.name,
    )
    return svc.agency_share_json(row, actor.agency_id, actor.user_id)


@router.post("/agency-shares/{share_id}/reject", summary="Reject a share, with a reason (admins)")
def reject(share_id: ShareId, body: Reject, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.reject_agency_share(actor.agency_id, actor.user_id, share_id, body.reason)
    return svc.agency_share_json(row, actor.agency_id, actor.user_id)
