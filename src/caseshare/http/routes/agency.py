"""The caller's agency: its name and sharing settings (SPEC §1.1), which admins change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from caseshare.core.settings import Settings
from caseshare.http.auth import CurrentActor, Service

router = APIRouter(prefix="/api/v1", tags=["agency"])

DefaultValue = Literal["private", "read", "edit", "transfer"]
CaseType = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SettingsChange(BaseModel):
    """Only the settings given change; the others keep their value."""

    model_config = ConfigDict(extra="forbid", strict=True)

    case_sharing: bool | None = None
    default_access: (
        DefaultValue | Annotated[dict[CaseType, DefaultValue], Field(max_length=500)] | None
    ) = Field(
        None,
        description="One value for every case type, or a map of case type (or `*`) to a value;"
        " a map replaces the whole previous map.",
    )
    hierarchy_access: bool | None = None
    child_access: Literal["none", "read", "edit"] | None = None
    edit_policy: Literal["access", "owners"] | None = None
    ordering: Literal["received", "reconcile"] | None = None
    extension_close_cascade: bool | None = None


def agency_json(svc: Service, agency_id: int, settings: Settings | None = None) -> dict[str, Any]:
    _, slug, name, stored = svc.store.agency(agency_id)
    return {
        "id": agency_id,
        "slug": slug,
        "name": name,
        "settings": (settings or stored).to_dict(),
    }


@router.get("/agency", summary="My agency: slug, name and sharing settings")
def read_agency(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return agency_json(svc, actor.agency_id)


@router.patch("/agency/settings", summary="Change sharing settings (admins; audited)")
def update_settings(body: SettingsChange, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    settings = svc.update_settings(actor.agency_id, actor.user_id, changes)
    return agency_json(svc, actor.agency_id, settings)
