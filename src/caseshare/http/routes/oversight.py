"""What admins oversee over HTTP: the recycle bin (S-SHR-8), the agency's audit log (S-AUD-1)
and device forms with archive and unarchive (S-TX-8). Admins only; the same services as the
screens and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from caseshare.core.directory import Directory
from caseshare.http.auth import CurrentActor, Service
from caseshare.http.routes.case_access import ONE_LINE, event_view, principal_view, user_view
from caseshare.services import Caseshare, Listing
from caseshare.services.oversight import MAX_PAGE
from caseshare.store import BinnedCase, FormSummary, SubmissionRow

router = APIRouter(prefix="/api/v1")

Cursor = Annotated[
    str | None,
    Query(max_length=40, pattern=r"^[0-9]+(\.[0-9]+)?$", description="next_cursor or prev_cursor"),
]
Direction = Annotated[
    Literal["older", "newer"],
    Query(description="`older` with a next_cursor, `newer` with a prev_cursor"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
FormStatus = Literal["normal", "archived", "error", "duplicate", "deprecated"]
InstanceId = Annotated[
    str,
    Path(min_length=1, max_length=255, pattern=ONE_LINE, description="The form's instanceID."),
]


def _page(listing: Listing[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "next_cursor": listing.older, "prev_cursor": listing.newer}


def _actor_view(directory: Directory, actor: str | None) -> dict[str, Any] | None:
    if actor is None:
        return None
    if actor == "system":
        return {"id": "system", "kind": None, "name": "the system"}
    return principal_view(directory, actor)


# -- the recycle bin ----------------------------------------------------------------------------


def binned_view(directory: Directory, row: BinnedCase) -> dict[str, Any]:
    return {
        "case_id": row.case_id,
        "case_type": row.case_type,
        "name": row.name,
        "owner": principal_view(directory, row.owner),
        "opened_on": row.opened_on,
        "closed": row.closed,
        "deleted_at": row.deleted_at,
        "deleted_by": _actor_view(directory, row.deleted_by),
    }


@router.get(
    "/recycle-bin",
    summary="Deleted cases of my agency, last deleted first (admins; S-SHR-8)",
    tags=["recycle bin"],
)
def recycle_bin(
    actor: CurrentActor,
    svc: Service,
    cursor: Cursor = None,
    direction: Direction = "older",
    limit: Limit = 50,
) -> dict[str, Any]:
    listing = svc.recycle_bin(
        actor.agency_id, actor.user_id, cursor=cursor, newer=direction == "newer", limit=limit
    )
    directory = svc.context(actor.agency_id).directory
    return _page(listing, [binned_view(directory, r) for r in listing.items])


# -- the audit log ------------------------------------------------------------------------------


@router.get(
    "/audit",
    summary="The agency's audit log, newest first, with filters (admins; S-AUD-1)",
    tags=["audit"],
)
def audit_log(
    actor: CurrentActor,
    svc: Service,
    who: Annotated[
        str | None,
        Query(max_length=40, description="Who acted: `user:ID` or `system`", alias="actor"),
    ] = None,
    kind: Annotated[
        str | None,
        Query(max_length=40, description="The action's first word: case, share, user, rule …"),
    ] = None,
    case: Annotated[
        str | None, Query(max_length=255, pattern=ONE_LINE, description="A case id")
    ] = None,
    since: Annotated[dt.date | None, Query(description="First day (UTC), YYYY-MM-DD")] = None,
    until: Annotated[dt.date | None, Query(description="Last day (UTC), included")] = None,
    cursor: Cursor = None,
    direction: Direction = "older",
    limit: Limit = 50,
) -> dict[str, Any]:
    listing = svc.audit_log(
        actor.agency_id,
        actor.user_id,
        who=who,
        kind=kind,
        case_id=case,
        since=since,
        until=until,
        cursor=cursor,
        newer=direction == "newer",
        limit=limit,
    )
    ctx = svc.context(actor.agency_id)
    items = []
    for event in listing.items:
        view = event_view(ctx, event)
        if event.actor == "system":
            view["actor_name"] = "the system"
        kind_of, _, key = event.subject.partition(":")
        view["case_id"] = key if kind_of == "case" else None
        view["subject_name"] = (principal_view(ctx.directory, event.subject) or {}).get("name")
        items.append(view)
    return _page(listing, items)


# -- device forms -------------------------------------------------------------------------------


def form_view(directory: Directory, form: FormSummary, cases: int) -> dict[str, Any]:
    return {
        "id": form.id,
        "instance_id": form.instance_id,
        "user": user_view(directory, form.user_id),
        "received_on": form.received_on,
        "status": form.status,
        "problem": form.problem,
        "size": form.size,
        "cases": cases,
    }


def _version(row: SubmissionRow) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "received_on": row.received_on}


@router.get(
    "/submissions",
    summary="Device forms of my agency, last received first, errors too (admins)",
    tags=["devices"],
)
def list_submissions(
    actor: CurrentActor,
    svc: Service,
    status: Annotated[FormStatus | None, Query()] = None,
    user: Annotated[
        int | None, Query(ge=1, le=2**62, description="The submitting user's id")
    ] = None,
    cursor: Cursor = None,
    direction: Direction = "older",
    limit: Limit = 50,
) -> dict[str, Any]:
    listing = svc.device_forms(
        actor.agency_id,
        actor.user_id,
        status=status,
        user_id=user,
        cursor=cursor,
        newer=direction == "newer",
        limit=limit,
    )
    counts = svc.form_case_counts(listing.items)
    directory = svc.context(actor.agency_id).directory
    return _page(listing, [form_view(directory, f, counts.get(f.id, 0)) for f in listing.items])


@router.get(
    "/submissions/{instance_id}",
    summary="One device form: its XML, the cases it touched, every stored version (admins)",
    tags=["devices"],
)
def read_submission(
    instance_id: InstanceId,
    actor: CurrentActor,
    svc: Service,
    version: Annotated[
        int | None, Query(ge=1, le=2**62, description="A stored version's id")
    ] = None,
) -> dict[str, Any]:
    found = svc.device_form(actor.agency_id, actor.user_id, instance_id, version)
    return _form_json(svc, actor.agency_id, found.form, found.cases, found.versions)


def _form_json(
    svc: Caseshare,
    agency_id: int,
    row: SubmissionRow,
    cases: list[str],
    versions: list[SubmissionRow],
) -> dict[str, Any]:
    directory = svc.context(agency_id).directory
    return {
        "id": row.id,
        "instance_id": row.instance_id,
        "user": user_view(directory, row.user_id),
        "received_on": row.received_on,
        "status": row.status,
        "problem": row.problem,
        "xml": row.xml,
        "cases": cases,
        "versions": [_version(v) for v in versions],
    }


@router.post(
    "/submissions/{instance_id}/archive",
    summary="Archive a form: every case it touched is rebuilt without it (admins; S-TX-8)",
    tags=["devices"],
)
def archive_submission(instance_id: InstanceId, actor: CurrentActor, svc: Service) -> Any:
    changed = svc.archive_submission(actor.agency_id, actor.user_id, instance_id)
    return {"instance_id": instance_id, "status": "archived", "cases_changed": changed}


@router.post(
    "/submissions/{instance_id}/unarchive",
    summary="Unarchive a form: the cases it touched are rebuilt with it again (admins; S-TX-8)",
    tags=["devices"],
)
def unarchive_submission(instance_id: InstanceId, actor: CurrentActor, svc: Service) -> Any:
    changed = svc.unarchive_submission(actor.agency_id, actor.user_id, instance_id)
    return {"instance_id": instance_id, "status": "normal", "cases_changed": changed}
