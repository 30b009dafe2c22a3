"""Why a user reaches a case: explain, check, who has access (S-ACC-6) and the case's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from caseshare.core.directory import Directory
from caseshare.core.engine import Access, AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.naming import Namer, display_name, named_text, principals_in
from caseshare.core.principals import Principal
from caseshare.core.why import read_why
from caseshare.http.auth import Actor, CurrentActor, Service
from caseshare.http.fastjson import Json
from caseshare.services import Caseshare
from caseshare.store.audit import AuditEvent

router = APIRouter(prefix="/api/v1", tags=["case access"])

#: one line of text without control characters (PostgreSQL text cannot even hold NUL)
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
CaseId = Annotated[
    str, Path(min_length=1, max_length=255, pattern=ONE_LINE, description="The case id.")
]
MAX_HISTORY = 500


# -- views shared with routes/cases.py ---------------------------------------------------------


def user_view(directory: Directory, user_id: int | None) -> dict[str, Any] | None:
    """A user as a person reads it, or None when there is none (or it is unknown)."""
    if user_id is None:
        return None
    user = directory.users.get(user_id)
    if user is None:
        return {"id": user_id, "username": None, "full_name": None}
    return {"id": user.id, "username": user.username, "full_name": user.full_name}


def principal_view(directory: Directory, text: str | None) -> dict[str, Any] | None:
    """``{"id": "group:7", "kind": "group", "name": "Case team"}`` for a principal's text."""
    if not text:
        return None
    try:
        principal = Principal.parse(text)
    except CaseShareError:
        return {"id": text, "kind": None, "name": None}
    return {"id": text, "kind": principal.kind, "name": directory.name_of(principal)}


def summary_view(directory: Directory, row: dict[str, Any]) -> dict[str, Any]:
    """A case's short row (lists, favourites, recents) with its owner as every answer shows it."""
    return {**row, "owner": principal_view(directory, row["owner"])}


def namer_of(svc: Caseshare, agency_id: int) -> Namer:
    """Display names of the agency's principals; the agency's own name is read only when a
    text names the whole agency (most never do)."""
    directory = svc.recent_context(agency_id).directory
    agency_name: list[str] = []

    def name(principal: Principal) -> str:
        if principal.kind == "agency" and not agency_name:
            agency_name.append(svc.agency_names(agency_id)[1])
        return display_name(principal, directory, agency_id, "".join(agency_name))

    return name


def access_view(access: Access, name: Namer) -> dict[str, Any]:
    """The engine's Access object as JSON: the same object the check decides with, its ids
    kept and their names added (``names``; each grant's ``path_text`` and ``why``)."""
    paths = [g.path for g in access.grants]
    mentioned = principals_in(f"user:{access.user_id}", access.blocked or "", *paths)
    return {
        "user_id": access.user_id,
        "case_id": access.case_id,
        "level": access.level.label,
        "causes": sorted(c.value for c in access.causes),
        "actions": {a.value: access.allows(a) for a in Action},
        "blocked": access.blocked,
        "grants": [
            {
                "cause": g.cause.value,
                "level": g.level.label,
                "uncapped_level": g.uncapped.label,
                "path": g.path,
                "source": g.source.value if g.source is not None else None,
                "transfer": g.transfer,
                "text": str(g),
                "path_text": named_text(g.path, name),
                "why": read_why(g.cause.value, g.path).words(name),
            }
            for g in access.grants
        ],
        "names": {str(p): name(p) for p in mentioned},
    }


def reasons_text(access: Access, name: Namer) -> list[str]:
    """The decision's reasons as sentences with names, one per reason of ``Decision.reasons``."""
    if access.blocked:
        return [named_text(access.blocked, name)]
    if not access.grants:
        return ["No grant applies."]
    return [read_why(g.cause.value, g.path).words(name) for g in access.grants]


def visible(svc: Caseshare, actor: Actor, case_id: str, action: Action = Action.VIEW) -> Access:
    """Load-and-authorise in the caller's agency: not_found when invisible, else 403."""
    return svc.require(actor.user_id, action, case_id, agency_id=actor.agency_id)


def _subject(svc: Caseshare, actor: Actor, user: int | None) -> int:
    """The user whose access is asked about: the caller, or (admins only) one of the agency."""
    if user is None or user == actor.user_id:
        return actor.user_id
    ctx, me = svc.user(actor.user_id)
    if "admin" not in me.permissions:
        raise CaseShareError(
            "insufficient_access",
            "Only an agency admin may ask about another user's access; leave out ?user to see"
            " your own.",
        )
    other = ctx.directory.users.get(user)
    if other is None or other.agency_id != actor.agency_id:
        raise CaseShareError("not_found", f"User {user} was not found.")
    return user


def _access_of(
    svc: Caseshare, actor: Actor, case_id: str, user: int | None, *, explain: bool = False
) -> Access:
    """The subject's access; with ``explain``, every grant that applies (S-ACC-6), the
    ``sync`` one included where another grant already decides."""
    mine = visible(svc, actor, case_id)
    subject = _subject(svc, actor, user)
    if explain:
        return svc.explain(subject, case_id)
    return mine if subject == actor.user_id else svc.access(subject, case_id)


# -- routes -----------------------------------------------------------------------------------

UserParam = Annotated[
    int | None,
    Query(ge=1, le=2**62, description="Admins only: another user of the agency (default: you)."),
]


@router.get(
    "/cases/{case_id}/access",
    summary="Explain access (S-ACC-6): every grant with its cause, level and path",
)
def explain(case_id: CaseId, actor: CurrentActor, svc: Service, user: UserParam = None) -> Json:
    access = _access_of(svc, actor, case_id, user, explain=True)
    return Json(access_view(access, namer_of(svc, actor.agency_id)))


@router.get(
    "/cases/{case_id}/check",
    summary="May I do this? The decision and the causes that decide it",
)
def check(
    case_id: CaseId,
    actor: CurrentActor,
    svc: Service,
    action: Annotated[
        str, Query(min_length=1, max_length=20, description="view, edit, close, delete, share …")
    ],
    user: UserParam = None,
) -> Json:
    try:
        act = Action.parse(action)
    except ValueError as exc:
        raise CaseShareError("validation_error", str(exc).capitalize() + ".") from None
    decision = _access_of(svc, actor, case_id, user).decide(act)
    return Json(
        {
            "action": act.value,
            "allowed": decision.allowed,
            "level": decision.access.level.label,
            "causes": sorted(c.value for c in decision.access.causes),
            "reasons": list(decision.reasons),
            "reasons_text": reasons_text(decision.access, namer_of(svc, actor.agency_id)),
        }
    )


@router.get(
    "/cases/{case_id}/who-has-access",
    summary="Every user with access to the case, and why (the sharing hierarchy)",
)
def who_has_access(case_id: CaseId, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    visible(svc, actor, case_id)
    ctx = svc.context(actor.agency_id)
    name = namer_of(svc, actor.agency_id)
    items = []
    for access in svc.who_has_access(actor.agency_id, case_id):
        view = access_view(access, name)
        view["user"] = user_view(ctx.directory, access.user_id)
        items.append(view)
    return {"case_id": case_id, "items": items}


def event_view(ctx: AgencyContext, event: AuditEvent) -> dict[str, Any]:
    actor = None
    if event.actor.startswith("user:"):
        actor = principal_view(ctx.directory, event.actor)
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "actor_name": actor["name"] if actor else None,
        "action": event.action,
        "subject": event.subject,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }


@router.get("/cases/{case_id}/history", summary="The case's audit history (S-AUD-1), newest first")
def history(
    case_id: CaseId,
    actor: CurrentActor,
    svc: Service,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 50,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    access = visible(svc, actor, case_id)
    before = int(cursor) if cursor else None
    events = svc.store.case_audit_page(
        actor.agency_id, access.case_pk, before_id=before, limit=limit + 1
    )
    more = len(events) > limit
    events = events[:limit]
    ctx = svc.context(actor.agency_id)
    return {
        "case_id": case_id,
        "items": [event_view(ctx, e) for e in events],
        "next_cursor": str(events[-1].id) if more and events else None,
    }
