"""The "Manage case" screen: the case, its related cases and history, and only the actions the
viewer's access allows — edit, close (sticky, confirmed), change owner (manual shares go,
S-SHR-6), delete to the recycle bin, favourite — each a form that posts and redirects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from caseshare.core.engine import Access
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.http.auth import Service
from caseshare.http.web.forms import ACCESS_CODES, FormState, form_text
from caseshare.http.web.history import describe
from caseshare.http.web.pickers import resolve_pick
from caseshare.http.web.templating import redirect, render, url
from caseshare.http.web.viewer import Posting, Viewer, Viewing, authorised, names
from caseshare.http.web.words import kind_words, type_words
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

CaseId = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$")]
OWNER_KINDS = ("user", "group", "location")
CAUSE_WORDS = {
    "default": "everyone's default access to this case type",
    "owner": "you are the owner or in the owning group or location",
    "hierarchy": "you manage someone with access",
    "assigned": "you are assigned to it",
    "manual": "it was shared with you",
    "team": "you are in its case team",
    "rule": "a sharing rule",
    "implicit_child": "you have access to its parent case",
    "implicit_parent": "you have access to one of its child cases",
    "sync": "your device holds it: it is indexed by, or extends, a case you own",
    "agency_share": "another agency sent it to you",
    "permission": "your permissions (view all / modify all / admin)",
}


def case_href(case_id: str, tail: str = "") -> str:
    from urllib.parse import quote

    return f"/cases/{quote(case_id, safe='')}{tail}"


def _base(svc: Caseshare, viewer: Viewer, access: Access) -> dict[str, Any]:
    record = svc.case_record(access.case_pk)
    return {
        "case": record,
        "access": access,
        "may": {a.value: access.allows(a) for a in Action},
        "names": names(svc, viewer),
        "href": case_href(record["case_id"]),
        "title": record["name"] or record["case_id"],
    }


@router.get("/cases/{case_id}")
def manage_case(
    request: Request,
    svc: Service,
    viewer: Viewing,
    case_id: CaseId,
    history_before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    access = authorised(svc, viewer, case_id)
    context = _base(svc, viewer, access)
    parents, children = svc.related_cases(viewer.user_id, access.case_pk)
    events, older = svc.case_history(viewer.agency_id, access.case_pk, before_id=history_before)
    starred = any(f["case_id"] == case_id for f in svc.favourites(viewer.user_id))
    svc.note_recent(viewer.user_id, access.case_pk)
    context.update(
        parents=parents,
        children=children,
        starred=starred,
        targets=svc.targets(viewer.agency_id, viewer.user_id, case_id),
        columns_targets=[
            {"label": label, "sort": None}
            for label in ("Name", "Kind", "Identifiers", "Last changed")
        ],
        kind_words=kind_words,
        type_words=type_words,
        causes=sorted(CAUSE_WORDS.get(c.value, c.value) for c in access.causes),
        history=[describe(e, context["names"]) for e in events],
        older=url(context["href"], history_before=older) + "#history" if older else None,
        newer=context["href"] + "#history" if history_before else None,
        xcase=svc.xcase_alerts(viewer.agency_id, viewer.user_id, case_id),
        received=svc.received_for_local_case(viewer.agency_id, viewer.user_id, case_id),
    )
    return render(request, "case.html", context)


@router.post("/cases/{case_id}/favourite")
async def favourite(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    on = form_text(await request.form(), "on") == "1"
    svc.set_favourite(viewer.user_id, case_id, on)
    said = "Added to your favourites." if on else "Removed from your favourites."
    return redirect(case_href(case_id), said)


# -- edit ------------------------------------------------------------------------------------


def _edit_page(
    request: Request, svc: Caseshare, viewer: Viewer, access: Access, form: FormState, status: int
) -> Response:
    context = _base(svc, viewer, access)
    context.update(form=form, title=f"Edit {context['title']}")
    return render(request, "case_edit.html", context, status)


def _edit_field(exc: CaseShareError) -> str:
    """The field an edit's refusal concerns, from the service's sentence."""
    message = exc.message
    if message.startswith("Property name") or "one of the case's own fields" in message:
        return "new_key"
    if message.startswith("Property '"):
        return "prop-" + message.split("'")[1]
    return "external_id" if "external_id" in message else "name"


@router.get("/cases/{case_id}/edit")
def edit_form(request: Request, svc: Service, viewer: Viewing, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.EDIT)
    record = svc.case_record(access.case_pk)
    values = {"name": record["name"], "external_id": record["external_id"]}
    values.update({f"prop-{k}": v for k, v in record["properties"].items()})
    return _edit_page(request, svc, viewer, access, FormState(values), 200)


@router.post("/cases/{case_id}/edit")
async def edit_post(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.EDIT)
    posted = await request.form()
    values = {k: form_text(posted, k) for k in posted if k != "csrf_token"}
    form = FormState(values)
    record = svc.case_record(access.case_pk)
    properties: dict[str, str | None] = {}
    for key, old in record["properties"].items():
        if values.get(f"remove-{key}") == "1":
            properties[key] = None
        elif f"prop-{key}" in values and values[f"prop-{key}"] != old:
            properties[key] = values[f"prop-{key}"]
    new_key, new_value = values.get("new_key", "").strip(), values.get("new_value", "")
    if new_key:
        properties[new_key] = new_value
    elif new_value:
        form.refuse("new_key", "Give the new property a name, or leave its value empty.")
    name = values.get("name", "").strip()
    if not name:
        form.refuse("name", "Enter the case's name.")
    if form.ok:
        try:
            svc.edit_case(
                viewer.agency_id,
                viewer.user_id,
                case_id,
                name=name,
                external_id=values.get("external_id", "").strip(),
                properties=properties,
            )
        except CaseShareError as exc:
            if exc.code in ACCESS_CODES:
                raise
            form.refuse(_edit_field(exc), exc.message, exc.code)
    if not form.ok:
        return _edit_page(request, svc, viewer, access, form, 422)
    return redirect(case_href(case_id), "Saved the changes to the case.")


# -- close, delete: a confirmation step each -------------------------------------------------


@router.get("/cases/{case_id}/close")
def close_form(request: Request, svc: Service, viewer: Viewing, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.CLOSE)
    context = _base(svc, viewer, access)
    context.update(
        title=f"Close {context['title']}",
        cascade=svc.context(viewer.agency_id).settings.extension_close_cascade,
    )
    return render(request, "case_close.html", context)


@router.post("/cases/{case_id}/close")
def close_post(svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    closed = svc.close_case(viewer.agency_id, viewer.user_id, case_id)
    said = "Closed the case. A close is final." if closed else "The case was closed already."
    return redirect(case_href(case_id), said)


@router.get("/cases/{case_id}/delete")
def delete_form(request: Request, svc: Service, viewer: Viewing, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.DELETE)
    context = _base(svc, viewer, access)
    context.update(title=f"Delete {context['title']}")
    return render(request, "case_delete.html", context)


@router.post("/cases/{case_id}/delete")
def delete_post(svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    svc.delete_case(viewer.agency_id, viewer.user_id, case_id)
    return redirect(
        "/cases",
        f"Moved case {case_id} to the recycle bin, with its shares: an administrator can"
        " restore it.",
    )


# -- change owner (transfer) -------------------------------------------------------------------


def _owner_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    access: Access,
    form: FormState,
    query: str,
    status: int = 200,
) -> Response:
    context = _base(svc, viewer, access)
    chosen, matches, problem = resolve_pick(
        svc, viewer, form.value("owner"), query, OWNER_KINDS, True
    )
    if problem and query and form.ok:
        form.refuse("owner-q", problem)
    shares = svc.query_shares(
        viewer.agency_id, viewer.user_id, context["case"]["case_id"], cause="manual", derived=False
    )
    context.update(
        title=f"Change the owner of {context['title']}",
        form=form,
        owner_q=query,
        matches=matches,
        chosen=chosen if not form.value("owner") else form.value("owner"),
        chosen_label=context["names"].principal(chosen) if chosen else "",
        shares=[s for s in shares if not s.derived],
    )
    return render(request, "case_owner.html", context, status)


@router.get("/cases/{case_id}/owner")
def owner_form(
    request: Request,
    svc: Service,
    viewer: Viewing,
    case_id: CaseId,
    owner_q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    access = authorised(svc, viewer, case_id, Action.TRANSFER)
    return _owner_page(request, svc, viewer, access, FormState(), owner_q.strip())


@router.post("/cases/{case_id}/owner")
async def owner_post(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    access = authorised(svc, viewer, case_id, Action.TRANSFER)
    posted = await request.form()
    owner = form_text(posted, "owner", 100)
    reason = form_text(posted, "reason", 1000).strip()
    form = FormState({"owner": owner, "reason": reason})
    if not owner:
        form.refuse("owner-q", "Find the new owner and choose them.")
    else:
        try:
            removed = svc.change_owner(viewer.agency_id, viewer.user_id, case_id, owner, reason)
        except CaseShareError as exc:
            if exc.code in ACCESS_CODES:
                raise
            form.refused(exc, {"validation_error": "owner-q"}, "owner-q")
    if not form.ok:
        return _owner_page(request, svc, viewer, access, form, "", 422)
    who = names(svc, viewer).principal(owner)
    gone = f" {len(removed)} manual share(s) were removed (S-SHR-6)." if removed else ""
    if not svc.check(viewer.user_id, Action.VIEW, case_id).allowed:  # handed away for good
        return redirect(
            "/cases", f"Case {case_id} now belongs to {who}; you no longer see it.{gone}"
        )
    return redirect(case_href(case_id), f"The owner is now {who}.{gone}")
