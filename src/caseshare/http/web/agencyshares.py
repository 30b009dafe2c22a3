"""The "Send" part of Case share details (S-AG-2) and the receiving admins' screens (S-AG-3).

- "Send" → "Add new": the agencies a case may be sent to (a valid agreement) by check-box, the
  case's targets to share, "Automatically insert suspect when adding them to case", and field
  units of the receiving agencies; "Save". Each sent share can be edited or revoked.
- "Cases sent to us" (`/agency-shares`, admins): the shares sent to the agency; each one opens
  a page to finalise it (a receiving user, a new or an existing local case) or reject it with a
  reason. The email to the admins links to that page.

Pages call the services only; refusals show beside their field, "not found" and "you may not"
are the 404 and 403 pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.http.auth import Service
from caseshare.http.web.casepage import case_href
from caseshare.http.web.forms import ACCESS_CODES, FormState, form_text
from caseshare.http.web.templating import redirect, render
from caseshare.http.web.viewer import Posting, Viewer, Viewing, authorised
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

CaseId = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
RowId = Annotated[int, Path(ge=1, le=2**62)]
STATUS_WORDS = {
    "pending": "Pending: waiting for the receiving agency",
    "active": "Active",
    "rejected": "Rejected",
    "revoked": "Revoked",
}


def send_href(case_id: str, tail: str = "") -> str:
    return case_href(case_id, "/share/send" + tail)


def _refused(exc: CaseShareError, form: FormState, default: str) -> None:
    if exc.code in ACCESS_CODES:
        raise exc
    fields = {"agreement_required": "agencies", "invalid_grantee": "units"}
    form.refused(exc, fields, default)


def _id(value: Any) -> int | None:
    """A posted id: ASCII digits only ("²".isdigit() is true, yet int("²") fails)."""
    ok = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19
    return int(value) if ok else None


def _ids(values: list[Any]) -> list[int]:
    return [i for i in map(_id, values) if i is not None][:200]


# -- the sender: Send → Add new, edit, revoke ---------------------------------------------------


def _send_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    case_id: str,
    form: FormState,
    *,
    share: dict[str, Any] | None = None,
    chosen: dict[str, set[Any]] | None = None,
    status: int = 200,
) -> Response:
    record = svc.case_record(authorised(svc, viewer, case_id, Action.SHARE).case_pk)
    targets = svc.targets(viewer.agency_id, viewer.user_id, case_id)
    if share is None:
        recipients = svc.share_recipients(viewer.agency_id, viewer.user_id)
    else:
        recipients = [
            {**share["to_agency"], "units": _units_of(svc, viewer, share["to_agency"]["slug"])}
        ]
    picked = chosen or {}
    if share is not None and not picked:
        picked = {
            "targets": set(share["targets"]),
            "units": {u["id"] for u in share["units"]},
            "auto": {share["auto_include_new_targets"]},
        }
    title = "Change what is sent" if share else "Send this case to another agency"
    context = {
        "title": f"{title}: {record['name'] or case_id}",
        "heading": title,
        "case": record,
        "href": case_href(case_id),
        "share_href": case_href(case_id, "/share"),
        "action": send_href(case_id, f"/{share['id']}" if share else ""),
        "share": share,
        "recipients": recipients,
        "targets": targets,
        "picked": picked,
        "form": form,
    }
    return render(request, "agency_send.html", context, status)


def _units_of(svc: Caseshare, viewer: Viewer, slug: str) -> list[dict[str, Any]]:
    for agency in svc.share_recipients(viewer.agency_id, viewer.user_id):
        if agency["slug"] == slug:
            return list(agency["units"])
    return []


@router.get("/cases/{case_id}/share/send")
def send_form(request: Request, svc: Service, viewer: Viewing, case_id: CaseId) -> Response:
    return _send_page(request, svc, viewer, case_id, FormState())


@router.post("/cases/{case_id}/share/send")
async def send(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    posted = await request.form()
    agencies = [v for v in posted.getlist("agencies") if isinstance(v, str)][:50]
    targets = _ids(list(posted.getlist("targets")))
    units = _ids(list(posted.getlist("units")))
    auto = form_text(posted, "auto_include", 5) == "1"
    form = FormState()
    if not agencies:
        form.refuse("agencies", "Tick at least one agency to send the case to.")
    rows = []
    if form.ok:
        recipients = svc.share_recipients(viewer.agency_id, viewer.user_id)
        per_agency = {
            a["slug"]: [u for u in units if u in {x["id"] for x in a["units"]}]
            for a in recipients
            if a["slug"] in agencies
        }
        stray = set(units) - {u for us in per_agency.values() for u in us}
        if stray:
            form.refuse("units", "Choose field units of the agencies you send the case to.")
        else:
            try:
                rows = svc.send_case(
                    viewer.agency_id,
                    viewer.user_id,
                    case_id,
                    agencies,
                    targets=targets,
                    units=per_agency,
                    auto_include=auto,
                )
            except CaseShareError as exc:
                _refused(exc, form, "agencies")
    if not form.ok:
        chosen: dict[str, set[Any]] = {
            "agencies": set(agencies),
            "targets": set(targets),
            "units": set(units),
            "auto": {auto},
        }
        return _send_page(request, svc, viewer, case_id, form, chosen=chosen, status=422)
    names = ", ".join(
        svc.agency_share_json(r, viewer.agency_id, viewer.user_id)["to_agency"]["name"]
        for r in rows
    )
    said = f"Sent the case to {names}. It stays pending until an admin there finalises it."
    return redirect(case_href(case_id, "/share#send"), said)


def _sent_share(svc: Caseshare, viewer: Viewer, case_id: str, share_id: int) -> dict[str, Any]:
    row = svc.agency_share(viewer.agency_id, viewer.user_id, share_id)
    if row.case_id != case_id or row.from_agency_id != viewer.agency_id:
        raise CaseShareError("not_found", f"Agency share {share_id} was not found on this case.")
    return svc.agency_share_json(row, viewer.agency_id, viewer.user_id)


@router.get("/cases/{case_id}/share/send/{share_id}")
def edit_form(
    request: Request, svc: Service, viewer: Viewing, case_id: CaseId, share_id: RowId
) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    share = _sent_share(svc, viewer, case_id, share_id)
    return _send_page(request, svc, viewer, case_id, FormState(), share=share)


@router.post("/cases/{case_id}/share/send/{share_id}")
async def edit(
    request: Request, svc: Service, viewer: Posting, case_id: CaseId, share_id: RowId
) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    share = _sent_share(svc, viewer, case_id, share_id)
    posted = await request.form()
    targets = _ids(list(posted.getlist("targets")))
    units = _ids(list(posted.getlist("units")))
    auto = form_text(posted, "auto_include", 5) == "1"
    form = FormState()
    try:
        svc.edit_agency_share(
            viewer.agency_id,
            viewer.user_id,
            share_id,
            targets=targets,
            units=units,
            auto_include=auto,
        )
    except CaseShareError as exc:
        _refused(exc, form, "targets")
    if not form.ok:
        kept: dict[str, set[Any]] = {"targets": set(targets), "units": set(units), "auto": {auto}}
        return _send_page(request, svc, viewer, case_id, form, share=share, chosen=kept, status=422)
    said = f"Changed what is sent to {share['to_agency']['name']}."
    return redirect(case_href(case_id, "/share#send"), said)


@router.post("/cases/{case_id}/share/send/{share_id}/revoke")
async def revoke(
    request: Request, svc: Service, viewer: Posting, case_id: CaseId, share_id: RowId
) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    share = _sent_share(svc, viewer, case_id, share_id)
    posted = await request.form()
    seen = form_text(posted, "status", 20) or None
    try:
        svc.revoke_agency_share(
            viewer.agency_id, viewer.user_id, share_id, expected=seen if seen else None
        )
    except CaseShareError as exc:
        if exc.code in ACCESS_CODES:
            raise
        return redirect(case_href(case_id, "/share#send"), exc.message)
    said = (
        f"Revoked the case sent to {share['to_agency']['name']}: they no longer see it, and"
        " their admins are told by email."
    )
    return redirect(case_href(case_id, "/share#send"), said)


# -- the receiving admins ---------------------------------------------------------------------


@router.get("/agency-shares")
def received(request: Request, svc: Service, viewer: Viewing) -> Response:
    rows = svc.agency_shares_received(viewer.agency_id, viewer.user_id)
    shares = [svc.agency_share_json(r, viewer.agency_id, viewer.user_id) for r in rows]
    shares.sort(key=lambda s: (s["status"] != "pending", -s["id"]))
    context = {"title": "Cases sent to us", "shares": shares, "status_words": STATUS_WORDS}
    return render(request, "agency_shares.html", context)


def _share_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    share_id: int,
    form: FormState,
    status: int = 200,
) -> Response:
    row = svc.agency_share(viewer.agency_id, viewer.user_id, share_id)
    if row.to_agency_id != viewer.agency_id:
        raise CaseShareError("not_found", f"Agency share {share_id} was not found.")
    share = svc.agency_share_json(row, viewer.agency_id, viewer.user_id)
    admin = "admin" in svc.context(viewer.agency_id).directory.users[viewer.user_id].permissions
    summary = None
    try:
        summary = svc.received_case(viewer.agency_id, viewer.user_id, share_id)
    except CaseShareError:
        summary = None  # an admin finalises; the receiving user and units read the case
    users = sorted(
        (u for u in svc.context(viewer.agency_id).directory.users.values() if u.active),
        key=lambda u: (u.full_name or u.username).casefold(),
    )
    context = {
        "title": f"Case sent by {share['from_agency']['name']}",
        "share": share,
        "summary": summary,
        "may_answer": admin and share["status"] == "pending",
        "users": [("", "Choose a person")]
        + [(str(u.id), f"{u.full_name or u.username} ({u.username})") for u in users],
        "status_words": STATUS_WORDS,
        "form": form,
    }
    return render(request, "agency_share.html", context, status)


@router.get("/agency-shares/{share_id}")
def one_share(request: Request, svc: Service, viewer: Viewing, share_id: RowId) -> Response:
    return _share_page(request, svc, viewer, share_id, FormState())


@router.post("/agency-shares/{share_id}/accept")
async def accept(request: Request, svc: Service, viewer: Posting, share_id: RowId) -> Response:
    posted = await request.form()
    values = {k: form_text(posted, k, 255) for k in ("receiving_user", "local_case", "name")}
    form = FormState(values)
    user = _id(values["receiving_user"])
    if user is None:
        form.refuse("receiving_user", "Choose the person who receives the case.")
    row = None
    if form.ok and user is not None:
        try:
            row = svc.accept_agency_share(
                viewer.agency_id,
                viewer.user_id,
                share_id,
                user,
                local_case_id=values["local_case"].strip() or None,
                new_case_name=values["name"].strip() or None,
            )
        except CaseShareError as exc:
            if exc.code in ACCESS_CODES:
                raise
            field = {"invalid_grantee": "receiving_user", "not_found": "local_case"}
            form.refused(exc, field, "receiving_user")
    if not form.ok or row is None:
        return _share_page(request, svc, viewer, share_id, form, 422)
    said = f"Finalised: the case is mapped to {row.local_case_id}, which the receiving user has."
    return redirect(f"/agency-shares/{share_id}", said)


@router.post("/agency-shares/{share_id}/reject")
async def reject(request: Request, svc: Service, viewer: Posting, share_id: RowId) -> Response:
    posted = await request.form()
    form = FormState({"reason": form_text(posted, "reason", 2000)})
    try:
        svc.reject_agency_share(viewer.agency_id, viewer.user_id, share_id, form.value("reason"))
    except CaseShareError as exc:
        if exc.code in ACCESS_CODES:
            raise
        form.refused(exc, {}, "reason")
        return _share_page(request, svc, viewer, share_id, form, 422)
    return redirect("/agency-shares", "Rejected the case; the sender is told your reason.")
