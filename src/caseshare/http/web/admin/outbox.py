"""Partner agencies › Outbox (S-NOT-1): the agency's email notifications as admins see them —
waiting, sent, failed with the server's answer, or skipped (no address) — with the number of
attempts and the next try; a failed message can be queued again. The screen says plainly when
this server sends no email (no ``--smtp``), so messages wait until a worker delivers them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.http.auth import Service
from caseshare.http.web.admin.guard import AdminPosting, AdminViewing
from caseshare.http.web.admin.pages import admin_page
from caseshare.http.web.templating import redirect, url
from caseshare.store.outbox import STATUSES

router = APIRouter(include_in_schema=False)

MessageId = Annotated[int, Path(ge=1, le=2**62)]
PAGE_SIZE = 25
BASE = "/admin/outbox"
STATUS_WORDS = {
    "pending": "Waiting to be sent",
    "sent": "Sent",
    "failed": "Failed",
    "skipped": "Not sent: no email address",
}
KIND_WORDS = {
    "agreement_proposed": "Agreement proposed",
    "agreement_answered": "Agreement answered",
    "agreement_withdrawn": "Agreement withdrawn or ended",
    "agreement_changed": "Agreement changed",
    "case_assigned": "Assigned to a case",
    "case_shared": "Case shared",
    "agency_share_waiting": "Agency share waiting",
    "agency_share_answered": "Agency share answered",
    "agency_share_revoked": "Agency share revoked",
}
assert set(STATUS_WORDS) == set(STATUSES)


@router.get(BASE)
def outbox(
    request: Request,
    svc: Service,
    viewer: AdminViewing,
    status: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    rows, more, counts = svc.outbox(
        viewer.agency_id,
        viewer.user_id,
        status=status or None,
        before_id=before,
        limit=PAGE_SIZE,
    )
    return admin_page(
        request,
        svc,
        viewer,
        "outbox.html",
        "partners",
        {
            "title": "Outbox",
            "rows": rows,
            "counts": [(s, STATUS_WORDS[s], counts.get(s, 0)) for s in STATUSES],
            "status": status,
            "statuses": [("", "Any status"), *STATUS_WORDS.items()],
            "status_words": STATUS_WORDS,
            "kind_words": KIND_WORDS,
            "mail": getattr(request.app.state, "mail", None),
            "older": url(BASE, status=status or None, before=more) if more else None,
            "newest": url(BASE, status=status or None) if before else None,
        },
    )


@router.get(BASE + "/{message_id}")
def message(
    request: Request, svc: Service, viewer: AdminViewing, message_id: MessageId
) -> Response:
    row = svc.outbox_message(viewer.agency_id, viewer.user_id, message_id)
    return admin_page(
        request,
        svc,
        viewer,
        "outbox_message.html",
        "partners",
        {
            "title": row.subject,
            "row": row,
            "status_words": STATUS_WORDS,
            "kind_words": KIND_WORDS,
            "mail": getattr(request.app.state, "mail", None),
        },
    )


@router.post(BASE + "/{message_id}/retry")
def retry(svc: Service, viewer: AdminPosting, message_id: MessageId) -> Response:
    row = svc.retry_message(viewer.agency_id, viewer.user_id, message_id)
    return redirect(
        BASE,
        f"Queued the message to {row.recipient_name} again: the next delivery sends it.",
    )
