"""Targets on the "Manage case" screen (SPEC §2): the people and entities on a case and their
identifiers. Whoever may view the case reads them on its screen; whoever may edit it adds,
changes and removes them here. Each form posts, then redirects back (POST-redirect-GET); the
service audits every change against the case, so its history shows them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.targets import KINDS, KNOWN_TYPES
from caseshare.http.auth import Service
from caseshare.http.web.casepage import CaseId, _base, case_href
from caseshare.http.web.forms import ACCESS_CODES, FormState, form_text
from caseshare.http.web.templating import redirect, render
from caseshare.http.web.viewer import Posting, Viewer, Viewing, authorised
from caseshare.http.web.words import kind_words, type_words
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

TargetId = Annotated[int, Path(ge=1, le=2**62)]
IdentifierId = Annotated[int, Path(ge=1, le=2**62)]

KIND_OPTIONS = [(k, kind_words(k)) for k in KINDS]


def _type_options(current: str = "") -> list[tuple[str, str]]:
    """The four known types, and an identifier's own type when the API gave it another."""
    options = [(t, type_words(t)) for t in KNOWN_TYPES]
    if current and current not in KNOWN_TYPES:
        options.append((current, type_words(current)))
    return options


def _field(exc: CaseShareError, prefix: str = "") -> str:
    """The field a refusal concerns, from the service's sentence."""
    message = exc.message
    if message.startswith("Target kind"):
        return "kind"
    if message.startswith("A target's name"):
        return "name"
    if message.startswith("Identifier type"):
        return prefix + "type"
    return prefix + "value"


def _refuse(form: FormState, exc: CaseShareError, prefix: str = "") -> None:
    if exc.code in ACCESS_CODES:
        raise exc
    form.refuse(_field(exc, prefix), exc.message, exc.code)


def targets_href(case_id: str, target_id: int | None = None, tail: str = "") -> str:
    return case_href(case_id, "/targets" + (f"/{target_id}" if target_id else "") + tail)


# -- a new target -----------------------------------------------------------------------------


def _new_page(
    request: Request, svc: Caseshare, viewer: Viewer, case_id: str, form: FormState, status: int
) -> Response:
    access = authorised(svc, viewer, case_id, Action.EDIT)
    context = _base(svc, viewer, access)
    context.update(
        title=f"Add a target to {context['title']}",
        case_title=context["title"],
        form=form,
        kinds=KIND_OPTIONS,
        types=_type_options(),
    )
    return render(request, "target_new.html", context, status)


@router.get("/cases/{case_id}/targets/new")
def new_target_form(request: Request, svc: Service, viewer: Viewing, case_id: CaseId) -> Response:
    return _new_page(request, svc, viewer, case_id, FormState({"kind": "suspect"}), 200)


@router.post("/cases/{case_id}/targets/new")
async def new_target(request: Request, svc: Service, viewer: Posting, case_id: CaseId) -> Response:
    posted = await request.form()
    values = {
        "kind": form_text(posted, "kind", 40),
        "name": form_text(posted, "name", 1000),
        "type": form_text(posted, "type", 40),
        "value": form_text(posted, "value", 1000),
        "deconfliction": "1" if form_text(posted, "deconfliction", 5) else "",
    }
    form = FormState(values)
    identifiers = []
    if values["value"].strip():
        identifiers.append(
            {
                "type": values["type"],
                "value": values["value"],
                "deconfliction": bool(values["deconfliction"]),
            }
        )
    if not values["name"].strip():
        form.refuse("name", "Enter the target's name: a person's full name, or what it is.")
    if form.ok:
        try:
            svc.add_target(
                viewer.agency_id,
                viewer.user_id,
                case_id,
                values["kind"],
                values["name"],
                identifiers,
            )
        except CaseShareError as exc:
            _refuse(form, exc)
    if not form.ok:
        return _new_page(request, svc, viewer, case_id, form, 422)
    return redirect(
        case_href(case_id, "#targets"),
        f"Added {values['name'].strip()} as a {kind_words(values['kind']).lower()}.",
    )


# -- one target: change it, its identifiers, or remove it -------------------------------------


def _target(svc: Caseshare, viewer: Viewer, case_id: str, target_id: int) -> dict[str, Any]:
    return svc.target(viewer.agency_id, viewer.user_id, case_id, target_id)


def _target_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    case_id: str,
    target_id: int,
    form: FormState | None = None,
    add: FormState | None = None,
    status: int = 200,
) -> Response:
    access = authorised(svc, viewer, case_id, Action.EDIT)
    context = _base(svc, viewer, access)
    target = _target(svc, viewer, case_id, target_id)
    context.update(
        title=f"{target['name']} ({kind_words(target['kind']).lower()})",
        case_title=context["title"],
        target=target,
        target_href=targets_href(case_id, target_id),
        form=form or FormState({"kind": target["kind"], "name": target["name"]}),
        add=add or FormState({"add-type": "phone"}),
        kinds=KIND_OPTIONS,
        types=_type_options(),
        type_words=type_words,
    )
    return render(request, "target.html", context, status)


@router.get("/cases/{case_id}/targets/{target_id}")
def show_target(
    request: Request, svc: Service, viewer: Viewing, case_id: CaseId, target_id: TargetId
) -> Response:
    return _target_page(request, svc, viewer, case_id, target_id)


@router.post("/cases/{case_id}/targets/{target_id}")
async def change_target(
    request: Request, svc: Service, viewer: Posting, case_id: CaseId, target_id: TargetId
) -> Response:
    posted = await request.form()
    kind, name = form_text(posted, "kind", 40), form_text(posted, "name", 1000)
    form = FormState({"kind": kind, "name": name})
    try:
        svc.change_target(
            viewer.agency_id, viewer.user_id, case_id, target_id, kind=kind, name=name
        )
    except CaseShareError as exc:
        _refuse(form, exc)
        return _target_page(request, svc, viewer, case_id, target_id, form=form, status=422)
    return redirect(targets_href(case_id, target_id), "Saved the target.")


@router.post("/cases/{case_id}/targets/{target_id}/remove")
def remove_target(svc: Service, viewer: Posting, case_id: CaseId, target_id: TargetId) -> Response:
    target = _target(svc, viewer, case_id, target_id)
    svc.remove_target(viewer.agency_id, viewer.user_id, case_id, target_id)
    return redirect(
        case_href(case_id, "#targets"),
        f"Removed {target['name']} and their identifiers from the case.",
    )


@router.post("/cases/{case_id}/targets/{target_id}/identifiers")
async def add_identifier(
    request: Request, svc: Service, viewer: Posting, case_id: CaseId, target_id: TargetId
) -> Response:
    posted = await request.form()
    values = {
        "add-type": form_text(posted, "type", 40),
        "add-value": form_text(posted, "value", 1000),
        "add-deconfliction": "1" if form_text(posted, "deconfliction", 5) else "",
    }
    add = FormState(values)
    try:
        svc.add_identifier(
            viewer.agency_id,
            viewer.user_id,
            case_id,
            target_id,
            values["add-type"],
            values["add-value"],
            bool(values["add-deconfliction"]),
        )
    except CaseShareError as exc:
        _refuse(add, exc, "add-")
        return _target_page(request, svc, viewer, case_id, target_id, add=add, status=422)
    return redirect(
        targets_href(case_id, target_id, "#identifiers"),
        f"Added the {type_words(values['add-type']).lower()} {values['add-value'].strip()}.",
    )


def _identifier(target: dict[str, Any], identifier_id: int) -> dict[str, Any]:
    for ident in target["identifiers"]:
        if ident["id"] == identifier_id:
            return dict(ident)
    raise CaseShareError(
        "not_found", f"Identifier {identifier_id} was not found on target {target['name']}."
    )


def _identifier_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    case_id: str,
    target_id: int,
    identifier_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response:
    access = authorised(svc, viewer, case_id, Action.EDIT)
    context = _base(svc, viewer, access)
    target = _target(svc, viewer, case_id, target_id)
    ident = _identifier(target, identifier_id)
    context.update(
        title=f"Change {type_words(ident['type']).lower()} {ident['value']} of {target['name']}",
        target=target,
        target_href=targets_href(case_id, target_id),
        ident=ident,
        form=form
        or FormState(
            {
                "type": ident["type"],
                "value": ident["value"],
                "deconfliction": "1" if ident["deconfliction"] else "",
            }
        ),
        types=_type_options(ident["type"]),
    )
    return render(request, "target_identifier.html", context, status)


@router.get("/cases/{case_id}/targets/{target_id}/identifiers/{identifier_id}")
def show_identifier(
    request: Request,
    svc: Service,
    viewer: Viewing,
    case_id: CaseId,
    target_id: TargetId,
    identifier_id: IdentifierId,
) -> Response:
    return _identifier_page(request, svc, viewer, case_id, target_id, identifier_id)


@router.post("/cases/{case_id}/targets/{target_id}/identifiers/{identifier_id}")
async def change_identifier(
    request: Request,
    svc: Service,
    viewer: Posting,
    case_id: CaseId,
    target_id: TargetId,
    identifier_id: IdentifierId,
) -> Response:
    posted = await request.form()
    values = {
        "type": form_text(posted, "type", 40),
        "value": form_text(posted, "value", 1000),
        "deconfliction": "1" if form_text(posted, "deconfliction", 5) else "",
    }
    form = FormState(values)
    try:
        svc.change_identifier(
            viewer.agency_id,
            viewer.user_id,
            case_id,
            target_id,
            identifier_id,
            type=values["type"],
            value=values["value"],
            deconfliction=bool(values["deconfliction"]),
        )
    except CaseShareError as exc:
        _refuse(form, exc)
        return _identifier_page(request, svc, viewer, case_id, target_id, identifier_id, form, 422)
    return redirect(targets_href(case_id, target_id, "#identifiers"), "Saved the identifier.")


@router.post("/cases/{case_id}/targets/{target_id}/identifiers/{identifier_id}/remove")
def remove_identifier(
    svc: Service,
    viewer: Posting,
    case_id: CaseId,
    target_id: TargetId,
    identifier_id: IdentifierId,
) -> Response:
    ident = _identifier(_target(svc, viewer, case_id, target_id), identifier_id)
    svc.remove_identifier(viewer.agency_id, viewer.user_id, case_id, target_id, identifier_id)
    return redirect(
        targets_href(case_id, target_id, "#identifiers"),
        f"Removed the {type_words(ident['type']).lower()} {ident['value']}.",
    )
