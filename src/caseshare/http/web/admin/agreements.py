"""Partners › Agreements (S-AG-1): the agreements of my agency with others, incoming (they
proposed) and outgoing (we proposed); propose one, approve or reject an incoming one, withdraw an
outgoing one while it waits, switch my agency's own flags and, as the service allows, the dates;
end an approved one. Each agency switches only its own flags: the other side's are shown, never
offered. Every handler calls ``AgreementService``; it audits and tells the other side's admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.agreements import FLAGS
from caseshare.core.errors import CaseShareError
from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing, Posted, checked, refuse
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.templating import redirect, url
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare
from caseshare.services.agreements import agreement_json
from caseshare.store import AgreementRow

router = APIRouter(include_in_schema=False)

AgreementId = Annotated[int, Path(ge=1, le=2**62)]
PAGE_SIZE = 25
BASE = "/admin/agreements"

#: each flag as the screens say it, from the side of the agency that holds it
FLAG_WORDS = {
    "enabled": (
        "Enabled",
        "Off stops everything under the agreement, both ways, until it is on again.",
    ),
    "outbound_sharing": ("Outbound data sharing", "We may send our cases to them."),
    "inbound_sharing": ("Inbound data sharing", "We accept cases they send us."),
    "outbound_search": ("Outbound search", "Our people may search their cases for identifiers."),
    "inbound_search": ("Inbound search", "Their people may search our cases for identifiers."),
}
FLAG_ORDER = ("enabled", "outbound_sharing", "inbound_sharing", "outbound_search", "inbound_search")
STATUS_WORDS = {
    "pending": "Waiting for an answer",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "ended": "Ended",
    "superseded": "Replaced by a newer agreement",
}
assert set(FLAG_ORDER) == set(FLAGS)


def flag_fields() -> list[dict[str, str]]:
    return [{"name": f, "label": FLAG_WORDS[f][0], "hint": FLAG_WORDS[f][1]} for f in FLAG_ORDER]


def _posted_flags(posted: Any) -> dict[str, bool]:
    return {f: checked(posted, f) for f in FLAGS}


def _who(svc: Caseshare, viewer: Viewer, actor: str | None, other: str) -> str:
    """A person of my agency by name; someone of the other agency as one of its admins."""
    if not actor:
        return "—"
    if actor == "system":
        return "the system (an operator)"
    kind, _, number = actor.partition(":")
    directory = svc.context(viewer.agency_id).directory
    if kind == "user" and number.isascii() and number.isdigit() and int(number) in directory.users:
        return names(svc, viewer).user(int(number))
    return f"an admin of {other}"


def view(svc: Caseshare, viewer: Viewer, row: AgreementRow) -> dict[str, Any]:
    """An agreement as my agency sees it: the other agency, direction, both sides' flags in
    words, its dates, who did what, and what it allows today."""
    data = agreement_json(row, viewer.agency_id)
    mine_key, theirs_key = (
        ("proposer", "partner") if data["role"] == "proposer" else ("partner", "proposer")
    )
    mine, theirs = data[mine_key], data[theirs_key]
    other = theirs["agency"]["name"]
    today = data["today"]
    return {
        **data,
        "other": other,
        "incoming": data["role"] == "partner",
        "direction": f"Incoming: {other} proposed it"
        if data["role"] == "partner"
        else f"Outgoing: we proposed it to {other}",
        "status_words": STATUS_WORDS.get(data["status"], data["status"]),
        "mine": mine,
        "theirs": theirs,
        "my_flags_on": [FLAG_WORDS[f][0] for f in FLAG_ORDER if mine[f]],
        "their_flags_on": [FLAG_WORDS[f][0] for f in FLAG_ORDER if theirs[f]],
        "dates": _dates(data["start_date"], data["end_date"]),
        "proposed_by_words": _who(svc, viewer, data["proposed_by"], other),
        "answered_by_words": _who(svc, viewer, data["answered_by"], other),
        "closed_by_words": _who(svc, viewer, data["closed_by"], other),
        "flows": [
            ("We send them cases", today["send_data"]),
            ("They send us cases", today["receive_data"]),
            ("We search their cases", today["search_them"]),
            ("They search our cases", today["searched_by_them"]),
        ],
    }


def _dates(start: str | None, end: str | None) -> str:
    if start and end:
        return f"From {start} to {end}"
    if start:
        return f"From {start}, no end"
    if end:
        return f"Until {end}"
    return "No dates: from approval until ended"


# -- the list ---------------------------------------------------------------------------------


@router.get(BASE)
def agreements(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    status: Annotated[str, Query(max_length=20)] = "",
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> Response:
    rows, more = svc.agreements(
        viewer.agency_id, viewer.user_id, status=status or None, after=after, limit=PAGE_SIZE
    )
    return admin_page(
        request,
        svc,
        viewer,
        "agreements.html",
        "partners",
        {
            "title": "Agreements with other agencies",
            "rows": [view(svc, viewer, r) for r in rows],
            "status": status,
            "statuses": [("", "Any status"), *STATUS_WORDS.items()],
            "next": url(BASE, status=status or None, after=more) if more else None,
            "first": url(BASE, status=status or None) if after else None,
        },
    )


# -- proposing ----------------------------------------------------------------------------------


def _new_page(
    request: Request, svc: Caseshare, viewer: Viewer, form: FormState, status: int = 200
) -> Response:
    partners = svc.partner_agencies(viewer.agency_id, viewer.user_id)
    return admin_page(
        request,
        svc,
        viewer,
        "agreement_new.html",
        "partners",
        {
            "title": "Propose an agreement",
            "form": form,
            "partners": [("", "Choose an agency"), *((p["slug"], p["name"]) for p in partners)],
            "flags": flag_fields(),
        },
        status,
    )


@router.get(BASE + "/new")
def new_agreement(request: Request, svc: Service, viewer: AdminViewing) -> Response:
    return _new_page(
        request,
        svc,
        viewer,
        FormState({"enabled": "1", "outbound_sharing": "1", "inbound_sharing": "1"}),
    )


@router.post(BASE + "/new")
def propose(request: Request, svc: Service, viewer: AdminPosting, posted: Posted) -> Response:
    partner = form_text(posted, "partner", 100)
    start, end = form_text(posted, "start_date", 20), form_text(posted, "end_date", 20)
    flags = _posted_flags(posted)
    values = {"partner": partner, "start_date": start, "end_date": end}
    values.update({f: "1" if on else "" for f, on in flags.items()})
    form = FormState(values)
    if not partner:
        form.refuse("partner", "Choose the agency to propose the agreement to.")
        return _new_page(request, svc, viewer, form, 422)
    try:
        row = svc.propose_agreement(
            viewer.agency_id, viewer.user_id, partner, flags, start=start, end=end
        )
    except CaseShareError as exc:
        if exc.code == "not_found":  # a slug not in the list: say so beside the field
            form.refuse("partner", exc.message, exc.code)
        else:
            refuse(form, exc, names(svc, viewer), {"invalid_transition": "partner"}, _date(exc))
        return _new_page(request, svc, viewer, form, 422)
    other = row.agreement.other(viewer.agency_id)
    return redirect(
        f"{BASE}/{row.id}",
        f"Proposed the agreement to {other.label if other else partner}; its admins were told"
        " and answer it.",
    )


def _date(exc: CaseShareError) -> str:
    message = exc.message
    if message.startswith("end_date") or message.startswith("The end date"):
        return "end_date"
    if message.startswith("start_date") or "dates" in message:
        return "start_date"
    return "partner"


# -- one agreement --------------------------------------------------------------------------------


def _page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    agreement_id: int,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    row = svc.agreement(viewer.agency_id, viewer.user_id, agreement_id)
    shown = view(svc, viewer, row)
    mine = shown["mine"]
    defaults = {
        "flags": FormState(
            {
                **{f: "1" if mine[f] else "" for f in FLAGS},
                "start_date": shown["start_date"] or "",
                "end_date": shown["end_date"] or "",
            }
        ),
        "answer": FormState({f: "1" if mine[f] else "" for f in FLAGS}),
        "reject": FormState(),
        "close": FormState(),
    }
    defaults.update(forms or {})
    allowed = row.agreement.actions(viewer.agency_id)
    may = {
        "may_answer": "answer" in allowed,
        "may_withdraw": "withdraw" in allowed,
        # a partner sets its flags as it approves: one form, not two, while it waits
        "may_change": "switch" in allowed and "answer" not in allowed,
        "may_change_dates": "dates" in allowed,
        "may_end": "end" in allowed,
    }
    offered = {
        "answer": may["may_answer"],
        "reject": may["may_answer"],
        "flags": may["may_change"],
        "close": may["may_withdraw"] or may["may_end"],
    }
    # a refusal of a form the agreement no longer offers (someone answered it meanwhile) is
    # said at the top, beside the agreement's status
    moved = FormState()
    for key, state in defaults.items():
        if not offered[key]:
            for problem in state.problems:
                moved.refuse("agreement-summary", problem.message, problem.code)
    return admin_page(
        request,
        svc,
        viewer,
        "agreement.html",
        "partners",
        {
            "title": f"Agreement with {shown['other']}",
            "a": shown,
            "forms": defaults,
            "flags": flag_fields(),
            **may,
            "moved": moved,
            "href": f"{BASE}/{agreement_id}",
        },
        status,
    )


@router.get(BASE + "/{agreement_id}")
def show(
    request: Request, svc: Service, viewer: AdminViewing, agreement_id: AgreementId
) -> Response:
    return _page(request, svc, viewer, agreement_id)


@router.post(BASE + "/{agreement_id}/approve")
def approve(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, agreement_id: AgreementId
) -> Response:
    flags = _posted_flags(posted)
    form = FormState({f: "1" if on else "" for f, on in flags.items()})
    try:
        row = svc.answer_agreement(
            viewer.agency_id, viewer.user_id, agreement_id, approve=True, flags=flags
        )
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "enabled")
        return _page(request, svc, viewer, agreement_id, {"answer": form}, 422)
    other = row.agreement.other(viewer.agency_id)
    return redirect(
        f"{BASE}/{agreement_id}",
        f"Approved the agreement with {other.label if other else 'the other agency'}; its"
        " admins were told.",
    )


@router.post(BASE + "/{agreement_id}/reject")
def reject(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, agreement_id: AgreementId
) -> Response:
    reason = form_text(posted, "reason", 2100)
    form = FormState({"reason": reason})
    try:
        svc.answer_agreement(
            viewer.agency_id, viewer.user_id, agreement_id, approve=False, reason=reason
        )
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "reason")
        return _page(request, svc, viewer, agreement_id, {"reject": form}, 422)
    return redirect(f"{BASE}/{agreement_id}", "Rejected the agreement; its admins were told why.")


@router.post(BASE + "/{agreement_id}/flags")
def change(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, agreement_id: AgreementId
) -> Response:
    flags = _posted_flags(posted)
    values: dict[str, str] = {f: "1" if on else "" for f, on in flags.items()}
    dates: dict[str, Any] = {}
    if "start_date" in posted or "end_date" in posted:
        start, end = form_text(posted, "start_date", 20), form_text(posted, "end_date", 20)
        values.update(start_date=start, end_date=end)
        dates = {"start": start, "end": end}
    form = FormState(values)
    try:
        svc.update_agreement(viewer.agency_id, viewer.user_id, agreement_id, flags, **dates)
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {"invalid_transition": "enabled"}, _date(exc))
        return _page(request, svc, viewer, agreement_id, {"flags": form}, 422)
    return redirect(
        f"{BASE}/{agreement_id}", "Saved your agency's switches; the other agency was told."
    )


@router.post(BASE + "/{agreement_id}/close")
def close(
    request: Request, svc: Service, viewer: AdminPosting, posted: Posted, agreement_id: AgreementId
) -> Response:
    """Withdraw a pending proposal we made, or end an approved agreement (either side)."""
    reason = form_text(posted, "close-reason", 2100)
    form = FormState({"close-reason": reason})
    withdraw = form_text(posted, "what", 10) == "withdraw"
    try:
        if withdraw:
            svc.withdraw_agreement(viewer.agency_id, viewer.user_id, agreement_id, reason)
        else:
            svc.end_agreement(viewer.agency_id, viewer.user_id, agreement_id, reason)
    except CaseShareError as exc:
        refuse(form, exc, names(svc, viewer), {}, "close-reason")
        return _page(request, svc, viewer, agreement_id, {"close": form}, 422)
    said = "Withdrew the proposal" if withdraw else "Ended the agreement: nothing passes under it"
    return redirect(f"{BASE}/{agreement_id}", f"{said}; the other agency's admins were told.")
