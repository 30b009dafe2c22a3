"""The notification outbox (S-NOT-1) as an agency's admins see it: what waits, what was sent,
what failed and why."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from caseshare.core.errors import CaseShareError
from caseshare.core.notices import KINDS
from caseshare.http.auth import CurrentActor, Service
from caseshare.services.notifications import message_json

router = APIRouter(prefix="/api/v1", tags=["outbox"])

MessageId = Annotated[int, Path(ge=1, le=2**62, description="An outbox message's id.")]
StatusName = Literal["pending", "sent", "failed", "skipped"]


@router.get("/outbox", summary="Your agency's notification messages, newest first (admins)")
def list_outbox(
    svc: Service,
    actor: CurrentActor,
    status: StatusName | None = None,
    kind: Annotated[str | None, Query(max_length=40, description=", ".join(KINDS))] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    before = int(cursor) if cursor else None
    if before is not None and before > 2**62:
        raise CaseShareError("validation_error", "cursor is not one this API gave out.")
    rows, more, counts = svc.outbox(
        actor.agency_id, actor.user_id, status=status, kind=kind, before_id=before, limit=limit
    )
    return {
        "items": [message_json(r) for r in rows],
        "next_cursor": None if more is None else str(more),
        "counts": counts,
    }


@router.get("/outbox/{message_id}", summary="One message (admins)")
def read_message(message_id: MessageId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return message_json(svc.outbox_message(actor.agency_id, actor.user_id, message_id))


@router.post("/outbox/{message_id}/retry", summary="Send a failed message again (admins; audited)")
def retry(message_id: MessageId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return message_json(svc.retry_message(actor.agency_id, actor.user_id, message_id))
