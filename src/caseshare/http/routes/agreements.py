"""Agreements between agencies (S-AG-1), for the admins of the two agencies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from caseshare.core.agreements import FLAGS
from caseshare.core.errors import CaseShareError
from caseshare.http.auth import CurrentActor, Service
from caseshare.services import Caseshare
from caseshare.services.agreements import UNCHANGED, agreement_json

router = APIRouter(prefix="/api/v1", tags=["agreements"])

AgreementId = Annotated[int, Path(ge=1, le=2**62, description="An agreement's id.")]
StatusName = Literal["pending", "approved", "rejected", "withdrawn", "ended", "superseded"]
Reason = Field(None, max_length=2000)


class Flags(BaseModel):
    """Your own agency's switches; a switch not given keeps its value."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="Off stops everything under the agreement.")
    inbound_search: bool | None = Field(None, description="The other agency may search you.")
    outbound_search: bool | None = Field(None, description="Your users may search the other.")
    inbound_sharing: bool | None = Field(None, description="You take case data from the other.")
    outbound_sharing: bool | None = Field(None, description="You send case data to the other.")

    def given(self) -> dict[str, bool]:
        return {f: v for f in FLAGS if (v := getattr(self, f)) is not None}


class Proposal(Flags):
    partner: str = Field(min_length=1, max_length=200, description="The other agency's slug.")
    start_date: dt.date | None = Field(None, description="First day (UTC) it is in force.")
    end_date: dt.date | None = Field(None, description="Last day (UTC) it is in force.")


class Change(Flags):
    """Your switches, and the dates: ``null`` clears a date; a date not given keeps its value."""

    start_date: dt.date | None = None
    end_date: dt.date | None = None


class Approval(Flags):
    """Approve, optionally setting your own switches at the same time."""


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Told to the proposer.")


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Reason


def _json(svc: Caseshare, actor: CurrentActor, row: Any) -> dict[str, Any]:
    del svc
    return agreement_json(row, actor.agency_id)


@router.get("/agencies", summary="The other agencies, to propose an agreement to (admins)")
def other_agencies(svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.partner_agencies(actor.agency_id, actor.user_id)}


@router.get("/agreements", summary="The agreements your agency is a side of (admins)")
def list_agreements(
    svc: Service,
    actor: CurrentActor,
    status: StatusName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    after = int(cursor) if cursor else 0
    if after > 2**62:
        raise CaseShareError("validation_error", "cursor is not one this API gave out.")
    rows, more = svc.agreements(
        actor.agency_id, actor.user_id, status=status, after=after, limit=limit
    )
    return {
        "items": [agreement_json(r, actor.agency_id) for r in rows],
        "next_cursor": None if more is None else str(more),
    }


@router.post("/agreements", status_code=201, summary="Propose an agreement to another agency")
def propose(body: Proposal, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    row = svc.propose_agreement(
        actor.agency_id,
        actor.user_id,
        body.partner,
        body.given(),
        start=body.start_date,
        end=body.end_date,
    )
    return _json(svc, actor, row)


@router.get("/agreements/{agreement_id}", summary="One agreement, with what it allows today")
def read(agreement_id: AgreementId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return _json(svc, actor, svc.agreement(actor.agency_id, actor.user_id, agreement_id))


@router.patch(
    "/agreements/{agreement_id}",
    summary="Change your own switches, or the dates (narrow only, once approved)",
)
def change(
    agreement_id: AgreementId, body: Change, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    sent = body.model_fields_set
    row = svc.update_agreement(
        actor.agency_id,
        actor.user_id,
        agreement_id,
        body.given(),
        start=body.start_date if "start_date" in sent else UNCHANGED,
        end=body.end_date if "end_date" in sent else UNCHANGED,
    )
    return _json(svc, actor, row)


@router.post("/agreements/{agreement_id}/approve", summary="Approve a proposal made to you")
def approve(
    agreement_id: AgreementId, svc: Service, actor: CurrentActor, body: Approval | None = None
) -> dict[str, Any]:
    flags = body.given() if body is not None else {}
    row = svc.answer_agreement(
        actor.agency_id, actor.user_id, agreement_id, approve=True, flags=flags
    )
    return _json(svc, actor, row)


@router.post("/agreements/{agreement_id}/reject", summary="Reject a proposal, with a reason")
def reject(
    agreement_id: AgreementId, body: Rejection, svc: Service, actor: CurrentActor
) -> dict[str, Any]:
    row = svc.answer_agreement(
        actor.agency_id, actor.user_id, agreement_id, approve=False, reason=body.reason
    )
    return _json(svc, actor, row)


@router.post("/agreements/{agreement_id}/withdraw", summary="Withdraw your pending proposal")
def withdraw(
    agreement_id: AgreementId, svc: Service, actor: CurrentActor, body: Closing | None = None
) -> dict[str, Any]:
    reason = body.reason if body is not None else None
    row = svc.withdraw_agreement(actor.agency_id, actor.user_id, agreement_id, reason)
    return _json(svc, actor, row)


@router.post("/agreements/{agreement_id}/end", summary="End an approved agreement")
def end(
    agreement_id: AgreementId, svc: Service, actor: CurrentActor, body: Closing | None = None
) -> dict[str, Any]:
    reason = body.reason if body is not None else None
    row = svc.end_agreement(actor.agency_id, actor.user_id, agreement_id, reason)
    return _json(svc, actor, row)
