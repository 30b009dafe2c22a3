"""Cross-case alerts (S-XC-1) and the deconfliction search across agencies (S-XC-2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from caseshare.http.auth import CurrentActor, Service
from caseshare.http.routes.case_access import CaseId

router = APIRouter(prefix="/api/v1", tags=["x-case alerts"])


class Search(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=40, description="phone, email, plate, imei …")
    value: str = Field(min_length=1, max_length=500)


@router.get(
    "/cases/{case_id}/x-case-alerts",
    summary="Other cases of your agency that share an identifier with this one (S-XC-1)",
)
def alerts(case_id: CaseId, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return {"items": svc.xcase_alerts(actor.agency_id, actor.user_id, case_id)}


@router.post(
    "/deconfliction/search",
    summary="Which partner agencies hold an identifier: pointers only, audited (S-XC-2)",
)
def search(body: Search, svc: Service, actor: CurrentActor) -> dict[str, Any]:
    return svc.deconfliction_search(actor.agency_id, actor.user_id, body.type, body.value)
