"""Cases over JSON: create (S-CRT), read, edit, close, transfer (S-SHR-6), the recycle bin (S-SHR-8)
and the case list with its filters (S-VIEW-1). Explain, check and history live in case_access."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from caseshare.core.engine import Access
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.restore import is_xml_name
from caseshare.http.auth import Actor, CurrentActor, Service
from caseshare.http.fastjson import Json
from caseshare.http.routes.case_access import (
    ONE_LINE,
    CaseId,
    access_view,
    namer_of,
    principal_view,
    summary_view,
    user_view,
    visible,
)
from caseshare.services import CaseFilter, Caseshare

router = APIRouter(prefix="/api/v1", tags=["cases"])

MAX_PAGE = 500
Field255 = Annotated[str, StringConstraints(max_length=255)]
PropertyName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
PropertyValue = Annotated[str, StringConstraints(max_length=10_000)]


class IndexIn(BaseModel):
    """One index (§8.4): the referenced case and how this case relates to it."""

    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(
        min_length=1, max_length=255, pattern=ONE_LINE, description="The referenced case."
    )
    relationship: Literal["child", "extension"] = "child"


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_type: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    owner: str | None = Field(
        None,
        max_length=100,
        description="user:ID, group:ID or location:ID; left out, S-CRT-2 chooses.",
    )
    case_id: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        pattern=r"^[^/\s?#%\x00-\x1f\x7f]+$",
        description="Your own id for the case (unique in the agency); left out, one is made.",
    )
    external_id: str = Field("", max_length=255)
    properties: dict[PropertyName, PropertyValue] = Field(default_factory=dict, max_length=500)
    indices: dict[PropertyName, IndexIn] = Field(
        default_factory=dict,
        max_length=20,
        description="identifier (e.g. parent, host) → the referenced case.",
    )


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=255)
    external_id: str | None = Field(None, max_length=255)
    properties: dict[PropertyName, PropertyValue | None] | None = Field(
        None, max_length=500, description="Merged into the case's; a null value removes one."
    )


class OwnerChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: str = Field(min_length=1, max_length=100, description="user:ID, group:ID, location:ID")
    reason: str = Field("", max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


# -- the record ---------------------------------------------------------------------------------


def record(svc: Caseshare, actor: Actor, access: Access) -> dict[str, Any]:
    """The full case record with the caller's own access to it."""
    row = svc.store.case_record(access.case_pk)
    directory = svc.recent_context(actor.agency_id).directory
    states, alerts = svc.annotations([access.case_pk], [access.case_pk])
    return {
        "case_id": row["case_id"],
        "case_type": row["case_type"],
        "name": row["name"],
        "external_id": row["external_id"],
        "owner": principal_view(directory, row["owner"]),
        "opened_on": row["opened_on"],
        "opened_by": user_view(directory, row["opened_by"]),
        "modified_on": row["modified_on"],
        "server_modified_on": row["server_modified_on"],
        "modified_by": user_view(directory, row["modified_by"]),
        "closed": row["closed"],
        "closed_on": row["closed_on"],
        "closed_by": user_view(directory, row["closed_by"]),
        "properties": row["properties"],
        # only indices to cases the caller may view (issue 8 item 10)
        "indices": svc.readable_indices(actor.user_id, access.case_pk),
        "sharing_state": states[access.case_pk],
        "x_case_alert": alerts[access.case_pk],
        "access": access_view(access, namer_of(svc, actor.agency_id)),
    }


def _after_write(svc: Caseshare, actor: Actor, case_id: str) -> dict[str, Any]:
    """The record after a change, even when the change took the caller's access away."""
    return record(svc, actor, svc.access(actor.user_id, case_id))


# -- create, read, change --------------------------------------------------------------------------


@router.post("/cases", status_code=201, summary="Create a case (owner rules S-CRT-1…3)")
def create_case(
    body: CaseCreate, response: Response, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    for identifier, index in body.indices.items():
        if not is_xml_name(identifier):
            raise CaseShareError(
                "invalid_index",
                f"Index identifier {identifier!r} must start with a letter or _ and hold only"
                " letters, digits, _, - and .",
            )
        try:
            visible(svc, actor, index.case_id)
        except CaseShareError as exc:  # an invisible case is reported like a missing one
            if exc.code != "not_found":
                raise
            raise CaseShareError(
                "invalid_index",
                f"Index {identifier!r} names case {index.case_id!r}, which does not exist in"
                " this agency.",
            ) from None
    case_id = svc.create_case(
        actor.agency_id,
        actor.user_id,
        body.case_type,
        body.name,
        owner=body.owner,
        case_id=body.case_id,
        properties=body.properties,
        external_id=body.external_id,
        indices={k: (v.case_id, v.relationship) for k, v in body.indices.items()},
    )
    # a header is Latin-1: the id (any text) goes in percent-encoded (RFC 3986)
    response.headers["Location"] = f"/api/v1/cases/{quote(case_id, safe='')}"
    return _after_write(svc, actor, case_id)


@router.get("/cases/{case_id}", summary="One case: the full record and your access to it")
def read_case(case_id: CaseId, actor: CurrentActor, svc: Service) -> Json:
    access = visible(svc, actor, case_id)
    out = record(svc, actor, access)
    svc.note_recent(actor.user_id, access.case_pk)
    return Json(out)


@router.patch("/cases/{case_id}", summary="Change name, external id or properties (needs edit)")
def update_case(
    case_id: CaseId, body: CaseUpdate, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    if body.name is None and body.external_id is None and body.properties is None:
        visible(svc, actor, case_id, Action.EDIT)
        raise CaseShareError(
            "validation_error", "Nothing to change: give name, external_id or properties."
        )
    svc.edit_case(
        actor.agency_id,
        actor.user_id,
        case_id,
        name=body.name,
        external_id=body.external_id,
        properties=body.properties,
    )
    return _after_write(svc, actor, case_id)


@router.post("/cases/{case_id}/close", summary="Close a case (needs edit; closing is sticky)")
def close_case(case_id: CaseId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    svc.close_case(actor.agency_id, actor.user_id, case_id)
    return _after_write(svc, actor, case_id)


@router.post(
    "/cases/{case_id}/owner",
    summary="Change the owner (transfer); the case's manual shares are removed (S-SHR-6)",
)
def change_owner(
    case_id: CaseId, body: OwnerChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    removed = svc.change_owner(
        actor.agency_id, actor.user_id, case_id, body.owner, body.reason.strip()
    )
    return {**_after_write(svc, actor, case_id), "removed_shares": removed}


# -- the recycle bin (S-SHR-8) ----------------------------------------------------------------


def _may_bin(svc: Caseshare, actor: Actor, case_id: str) -> None:
    """Restore and purge need the delete action on the case as if it were not deleted."""
    svc.require(
        actor.user_id, Action.DELETE, case_id, agency_id=actor.agency_id, include_deleted=True
    )


@router.delete("/cases/{case_id}", status_code=204, summary="Delete: to the recycle bin")
def delete_case(case_id: CaseId, actor: CurrentActor, svc: Service) -> Response:
    svc.delete_case(actor.agency_id, actor.user_id, case_id)
    return Response(status_code=204)


@router.post("/cases/{case_id}/restore", summary="Restore from the recycle bin, with its shares")
def restore_case(case_id: CaseId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    _may_bin(svc, actor, case_id)
    svc.restore_case(actor.agency_id, actor.user_id, case_id)
    return _after_write(svc, actor, case_id)


@router.delete(
    "/cases/{case_id}/purge", status_code=204, summary="Purge from the recycle bin, for good"
)
def purge_case(case_id: CaseId, actor: CurrentActor, svc: Service) -> Response:
    _may_bin(svc, actor, case_id)
    svc.purge_case(actor.agency_id, actor.user_id, case_id)
    return Response(status_code=204)


# -- the case list (S-VIEW-1) ---------------------------------------------------------------


def _checked_cursor(cursor: str) -> str:
    """Refuse a cursor the listing could not compare (a hand-made one) before any SQL runs."""
    problem = CaseShareError(
        "validation_error", "The page cursor is not valid; start again from the first page."
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise problem from None
    ok_value = value is None or (
        isinstance(value, str) and len(value) <= 1000 and re.fullmatch(ONE_LINE, value) is not None
    )
    if not ok_value or not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk < 2**62:
        raise problem
    return cursor


Flag = Annotated[bool | None, Query()]
Text = Annotated[str | None, Query(max_length=200, pattern=ONE_LINE)]


@router.get("/cases", summary="The cases you can see: filters, sorting, keyset paging, count")
def list_cases(
    actor: CurrentActor,
    svc: Service,
    created_by_me: Flag = None,
    assigned_to_me: Flag = None,
    owned_by_me: Flag = None,
    shared_with_me: Flag = None,
    status: Annotated[Literal["open", "closed", "all"] | None, Query()] = None,
    case_type: Text = None,
    owner: Text = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=ONE_LINE, description="Text search.")
    ] = None,
    sort: Annotated[Literal["name", "opened_on", "modified", "case_id"] | None, Query()] = None,
    descending: Flag = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")] = None,
    saved_filter: Annotated[
        str | None,
        Query(
            max_length=18,
            pattern=r"^([0-9]+|default)$",
            description="A saved filter's id, or `default`; other parameters override it.",
        ),
    ] = None,
    count: Annotated[
        str | None,
        Query(
            pattern=r"^(true|false|1|0|exact|estimate)$",
            description="`true` or `exact`: also return the exact count; `estimate`: a fast"
            " estimate when the count is large (`count_exact` says which it is).",
        ),
    ] = None,
) -> Json:
    base = CaseFilter()
    if saved_filter is not None:
        chosen: int | str = (
            int(saved_filter) if saved_filter.isascii() and saved_filter.isdigit() else saved_filter
        )
        base = svc.saved_filter(actor.user_id, chosen)
    explicit: dict[str, Any] = {
        "created_by_me": created_by_me,
        "assigned_to_me": assigned_to_me,
        "owned_by_me": owned_by_me,
        "shared_with_me": shared_with_me,
        "status": status,
        "case_type": case_type,
        "owner": owner,
        "q": q,
        "sort": sort,
        "descending": descending,
    }
    flt = replace(base, **{k: v for k, v in explicit.items() if v is not None})
    if flt.status == "all":
        flt = replace(flt, status=None)
    page = svc.list_cases(
        actor.user_id,
        flt,
        limit=limit,
        cursor=_checked_cursor(cursor) if cursor else None,
    )
    directory = page.directory or svc.context(actor.agency_id).directory
    items = [summary_view(directory, item) for item in page.items]
    out: dict[str, Any] = {"items": items, "next_cursor": page.next_cursor}
    if count in ("true", "1", "exact"):
        out["count"] = svc.count_cases(actor.user_id, flt)
    elif count == "estimate":
        counted = svc.case_count(actor.user_id, flt)
        out["count"], out["count_exact"] = counted.value, counted.exact
    return Json(out)
