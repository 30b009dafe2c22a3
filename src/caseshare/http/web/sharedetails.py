"""The "Case share details" screen (the Share button of Manage case).

- "Assign case to other users": search any part of a name or email, tick, "Save assign"
  (S-ASG-1); the assignees, each with a way to remove them.
- Sharing, as Salesforce's sharing detail shows it: every grant of the case with its reason,
  level and path in words; manual shares with a user, group, location, role, role tree or the
  whole agency are added, changed and removed here, with the API's refusals (S-SHR-1…5) beside
  the field they concern.
- The case team, who has access and why (S-ACC-6), the sharing history (S-AUD-1), and "Send":
  the agency shares sent from the case (S-AG-2; the forms are in ``agencyshares.py``).

Whoever can view the case sees the page (S-SHR-7); only full access shows the controls, and a
form posted without it is the 403 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.engine import Access
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause
from caseshare.core.principals import Principal
from caseshare.core.why import read_why
from caseshare.http.auth import Service
from caseshare.http.web.casepage import case_href
from caseshare.http.web.forms import ACCESS_CODES, FormState, form_text
from caseshare.http.web.history import describe
from caseshare.http.web.pickers import resolve_pick
from caseshare.http.web.templating import redirect, render, url
from caseshare.http.web.viewer import Posting, Viewer, Viewing, authorised, names
from caseshare.http.web.words import Names
from caseshare.services import Caseshare, SharingDetail

router = APIRouter(include_in_schema=False)

CaseId = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
RowId = Annotated[int, Path(ge=1, le=2**62)]
Short = Annotated[str, Query(max_length=200)]
SHARE_KINDS = ("user", "group", "location", "role", "role_tree", "agency")
LEVELS = (("read", "Read only"), ("edit", "Read and edit"))
LEVEL_WORDS = {"none": "No access", "read": "Read", "edit": "Edit", "full": "Full access"}
#: the field a refusal of each form concerns (SPEC §14 code → the control's id)
SHARE_FIELDS = {
    "access_level_too_low": "share-level",
    "invalid_access_level": "share-level",
    "reserved_row_cause": "share-level",
}
SHOWN_PEOPLE = 3
#: each table's columns; the last of each is a control, shown only to people who may share
COLUMNS = {
    "assign": ("Person", "Email", "Assigned", "Remove"),
    "grants": ("Who", "Access", "Reason", "Details", "People it reaches", "Change"),
    "team": ("Member", "Team role", "Access", "Added", "Remove"),
    "who": ("Person", "Access", "Why"),
}


def share_href(case_id: str, tail: str = "") -> str:
    return case_href(case_id, "/share" + tail)


def _people(words: Names, ids: tuple[int, ...]) -> str:
    if not ids:
        return "nobody today"
    shown = [words.user(i) for i in ids[:SHOWN_PEOPLE]]
    more = len(ids) - len(shown)
    if more:
        return ", ".join(shown) + f" and {more} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _grant_rows(detail: SharingDetail, words: Names) -> list[dict[str, Any]]:
    """Every grant of the case, in words, as the Sharing table lists them."""
    rows = []
    for grant in detail.grants:
        stored = grant.stored
        rows.append(
            {
                "whom": grant.why.whom(words.name),
                "kind": words.kind(str(grant.why.grantee)) if grant.why.grantee else "",
                "level": grant.level.label,
                "capped": grant.uncapped != grant.level,
                "uncapped": grant.uncapped.label,
                "cause": grant.cause,
                "reason": grant.why.reason,
                "detail": grant.why.detail(words.name),
                "by": words.principal(stored.created_by) if stored else "",
                "at": stored.created_at if stored else "",
                "people": _people(words, grant.people),
                "count": len(grant.people),
                "share": stored if grant.cause == Cause.MANUAL.value else None,
            }
        )
    return rows


def _who_rows(detail: SharingDetail, words: Names) -> list[dict[str, Any]]:
    """Every user with access, and each of their grants as a sentence (S-ACC-6)."""
    roles = {m["user_id"]: (m["team_role"] or {}).get("name", "") for m in detail.team}
    rows = []
    for access in detail.who:
        why = []
        for grant in access.grants:
            read = read_why(grant.cause.value, grant.path)
            entry = detail.stored.get(read.key())
            by = words.principal(entry.created_by) if entry is not None else ""
            role = roles.get(access.user_id, "") if grant.cause is Cause.TEAM else ""
            capped = (
                f" (capped from {grant.uncapped.label})" if grant.uncapped != grant.level else ""
            )
            why.append(
                {
                    "level": grant.level.label + capped,
                    "text": read.words(words.name, by=by, team_role=role),
                }
            )
        person = words.user(access.user_id)
        if all(g.cause is Cause.AGENCY_SHARE for g in access.grants):
            person = "Someone at an agency the case was sent to"  # another agency's user
        rows.append({"person": person, "level": access.level.label, "why": why})
    return rows


def _picker(
    svc: Caseshare,
    viewer: Viewer,
    query: str,
    chosen: str,
    kinds: tuple[str, ...],
) -> dict[str, Any]:
    """One people picker's state: the words searched, the matches, what is chosen."""
    picked, matches, _ = resolve_pick(svc, viewer, chosen, query, kinds, False)
    return {
        "query": query,
        "matches": matches,
        "selected": picked,
        "selected_label": names(svc, viewer).principal(picked) if picked else "",
    }


def show(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    access: Access,
    form: FormState,
    status: int = 200,
) -> Response:
    """The screen, with what a refused form holds kept and its refusal beside the field."""
    params = request.query_params
    case_id = access.case_id
    record = svc.case_record(access.case_pk)
    words = names(svc, viewer)
    detail = svc.sharing_detail(viewer.agency_id, viewer.user_id, case_id)
    before = params.get("history_before", "")
    ok = before.isascii() and before.isdigit() and len(before) < 19  # "²".isdigit() is true
    history_before = int(before) if ok else None
    events, older = svc.sharing_history(viewer.agency_id, access.case_pk, before_id=history_before)
    settings = svc.context(viewer.agency_id).settings
    default = settings.default_for(record["case_type"])
    here = share_href(case_id)
    may_share = access.allows(Action.SHARE)
    columns = {
        key: [
            {"label": label, "sort": None}
            for label in (labels if may_share or key == "who" else labels[:-1])
        ]
        for key, labels in COLUMNS.items()
    }
    assign_q = form.value("assign_q", params.get("assign_q", "")).strip()[:200]
    context = {
        "title": f"Case share details: {record['name'] or case_id}",
        "case": record,
        "href": case_href(case_id),
        "share_href": here,
        "names": words,
        "access": access,
        "may_share": may_share,
        "columns": columns,
        "value_form": lambda name, value: FormState({name: value}),
        "form": form,
        "detail": detail,
        "grants": _grant_rows(detail, words),
        "who": _who_rows(detail, words),
        "assign_picker": {
            "query": assign_q,
            "matches": svc.search_principals(viewer.agency_id, assign_q, ("user",)),
        },
        "share_picker": _picker(
            svc,
            viewer,
            form.value("share_q", params.get("share_q", "")).strip()[:200],
            form.value("share"),
            SHARE_KINDS,
        ),
        "team_picker": _picker(
            svc,
            viewer,
            form.value("team_q", params.get("team_q", "")).strip()[:200],
            form.value("team"),
            ("user",),
        ),
        "levels": LEVELS,
        "level_words": LEVEL_WORDS,
        "default": default,
        "team_roles": [(str(r.id), f"{r.name} ({r.level.label})") for r in detail.team_roles],
        "sent": [
            svc.agency_share_json(r, viewer.agency_id, viewer.user_id)
            for r in svc.agency_shares_of_case(viewer.agency_id, viewer.user_id, case_id)
        ],
        "history": [describe(e, words) for e in events],
        "older": url(here, history_before=older) + "#history" if older else None,
        "newer": here + "#history" if history_before else None,
    }
    return render(request, "case_share.html", context, status)


@router.get("/cases/{case_id}/share")
def share_details(
    request: Request,
    svc: Service,
    viewer: Viewing,
    case_id: CaseId,
    assign_q: Short = "",
    share_q: Short = "",
    team_q: Short = "",
    history_before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    access = authorised(svc, viewer, case_id)
    return show(request, svc, viewer, access, FormState())


def _refused(exc: CaseShareError, form: FormState, fields: Mapping[str, str], default: str) -> None:
    """A refusal beside its field; "you may not" and "not found" are the 403 and 404 pages."""
    if exc.code in ACCESS_CODES:
        raise exc
    form.refused(exc, fields, default)


async def _posted(request: Request) -> dict[str, str]:
    posted = await request.form()
    return {k: form_text(posted, k, 2000) for k in posted if k != "csrf_token"}


# -- assign (S-ASG-1) ---------------------------------------------------------------------------


@router.post("/cases/{case_id}/share/assign")
async def assign(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.SHARE)
    posted = await request.form()
    chosen = [v for v in posted.getlist("assign") if isinstance(v, str)][:50]
    form = FormState({"assign_q": form_text(posted, "assign_q", 200)})
    if not chosen:
        form.refuse("assign-q", "Find the people to assign and tick them, then Save assign.")
    added: list[str] = []
    for value in chosen:
        try:
            who = Principal.parse(value)
            if who.kind != "user":
                raise CaseShareError("invalid_grantee", "Only people can be assigned to a case.")
            if svc.assign(viewer.agency_id, viewer.user_id, case_id, who.id):
                added.append(names(svc, viewer).principal(who))
        except CaseShareError as exc:
            _refused(exc, form, {}, "assign-q")
            break
    if not form.ok:
        return show(request, svc, viewer, access, form, 422)
    said = (
        "Assigned " + ", ".join(added) + " to the case: they have the same access as its creator."
        if added
        else "They were assigned to the case already; nothing changed."
    )
    return redirect(case_href(case_id), said)  # the seed: "The Manage case screen reopens"


@router.post("/cases/{case_id}/share/unassign/{user_id}")
def unassign(svc: Service, viewer: Posting, case_id: CaseId, user_id: RowId) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    removed = svc.unassign(viewer.agency_id, viewer.user_id, case_id, user_id)
    who = names(svc, viewer).user(user_id)
    said = f"{who} is no longer assigned." if removed else f"{who} was not assigned."
    return redirect(share_href(case_id, "#assign"), said)


# -- manual shares (S-SHR-1…5) ------------------------------------------------------------------


@router.post("/cases/{case_id}/share/manual")
async def add_share(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.SHARE)
    values = await _posted(request)
    form = FormState({k: values.get(k, "") for k in ("share", "share-level", "share_q")})
    grantee, level = form.value("share"), form.value("share-level")
    if not grantee:
        form.refuse("share-q", "Find the person, group, location or role to share with.")
    if not level:
        form.refuse("share-level", "Choose read only, or read and edit.")
    if form.ok:
        try:
            entry, created = svc.share_upsert(
                viewer.agency_id, viewer.user_id, case_id, grantee, level
            )
        except CaseShareError as exc:
            _refused(exc, form, SHARE_FIELDS, "share-q")
    if not form.ok:
        return show(request, svc, viewer, access, form, 422)
    who = names(svc, viewer).principal(entry.grantee)
    verb = "Shared the case with" if created else "Changed the share of"
    said = f"{verb} {who}: {LEVEL_WORDS[entry.access_level].lower()}."
    return redirect(share_href(case_id, "#sharing"), said)


@router.post("/cases/{case_id}/share/manual/{share_id}")
async def change_share(
    request: Request, svc: Service, viewer: Posting, case_id: CaseId, share_id: RowId
) -> Response:
    access = authorised(svc, viewer, case_id, Action.SHARE)
    field = f"level-{share_id}"
    values = await _posted(request)
    form = FormState({field: values.get(field, "")})
    try:
        entry = svc.retrieve_share(viewer.agency_id, viewer.user_id, share_id)
        if entry.case_id != case_id:
            raise CaseShareError("not_found", f"Share {share_id} was not found on this case.")
        entry = svc.update_share(viewer.agency_id, viewer.user_id, share_id, form.value(field))
    except CaseShareError as exc:
        _refused(exc, form, {}, field)
    if not form.ok:
        return show(request, svc, viewer, access, form, 422)
    who = names(svc, viewer).principal(entry.grantee)
    said = f"{who} now has {LEVEL_WORDS[entry.access_level].lower()} access."
    return redirect(share_href(case_id, "#sharing"), said)


@router.post("/cases/{case_id}/share/manual/{share_id}/remove")
def remove_share(svc: Service, viewer: Posting, case_id: CaseId, share_id: RowId) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    entry = svc.retrieve_share(viewer.agency_id, viewer.user_id, share_id)
    if entry.case_id != case_id:
        raise CaseShareError("not_found", f"Share {share_id} was not found on this case.")
    svc.delete_share(viewer.agency_id, viewer.user_id, share_id)
    who = names(svc, viewer).principal(entry.grantee)
    return redirect(share_href(case_id, "#sharing"), f"Removed the share with {who}.")


# -- the case team (S-TEAM-1) -------------------------------------------------------------------


@router.post("/cases/{case_id}/share/team")
async def team_member(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    """Add a member, or change a member's role (the same form, as the service's upsert)."""
    access = authorised(svc, viewer, case_id, Action.SHARE)
    values = await _posted(request)
    member = values.get("team", "")
    role_field = values.get("role_field", "team-role")
    role_field = role_field if role_field.replace("-", "").isalnum() else "team-role"
    form = FormState({"team": member, role_field: values.get(role_field, "")})
    role = form.value(role_field)
    who: Principal | None = None
    try:
        who = Principal.parse(member) if member else None
    except CaseShareError:
        who = None
    if who is None or who.kind != "user":
        form.refuse("team-q", "Find the person to add to the case team and choose them.")
    if not (role.isascii() and role.isdigit()) or len(role) > 18:
        form.refuse(role_field, "Choose the member's team role.")
    if form.ok and who is not None:
        try:
            svc.team_add(viewer.agency_id, viewer.user_id, case_id, who.id, int(role))
        except CaseShareError as exc:
            _refused(exc, form, {"validation_error": role_field}, "team-q")
    if not form.ok or who is None:
        return show(request, svc, viewer, access, form, 422)
    role_name = svc.context(viewer.agency_id).team_roles[int(role)].name
    said = f"{names(svc, viewer).user(who.id)} is in the case team as {role_name}."
    return redirect(share_href(case_id, "#team"), said)


@router.post("/cases/{case_id}/share/team/{user_id}/remove")
def remove_member(svc: Service, viewer: Posting, case_id: CaseId, user_id: RowId) -> Response:
    authorised(svc, viewer, case_id, Action.SHARE)
    removed = svc.team_remove(viewer.agency_id, viewer.user_id, case_id, user_id)
    who = names(svc, viewer).user(user_id)
    said = f"Removed {who} from the case team." if removed else f"{who} was not in the team."
    return redirect(share_href(case_id, "#team"), said)
