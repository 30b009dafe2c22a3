"""The people picker's search: the matches as the part of the page the script swaps in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from caseshare.http.auth import Service
from caseshare.http.web.templating import fragment
from caseshare.http.web.viewer import Viewer, Viewing, names
from caseshare.services import Caseshare, Match
from caseshare.services.people import PICKABLE

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Query(max_length=200)]


def kinds_of(text: str) -> tuple[str, ...]:
    return tuple(k for k in text.split(",") if k in PICKABLE) or ("user",)


def picked(svc: Caseshare, viewer: Viewer, value: str) -> str:
    """The name of what is chosen (a principal's text) for the picker's checked option."""
    return names(svc, viewer).principal(value) if value else ""


def resolve_pick(
    svc: Caseshare,
    viewer: Viewer,
    chosen: str,
    query: str,
    kinds: tuple[str, ...],
    owners_only: bool,
) -> tuple[str, list[Match], str]:
    """(what is chosen, the matches to offer, a sentence when nothing could be chosen).

    A choice stands while the search words still find it; otherwise the words decide: one
    match is chosen, several are offered, none is said plainly.
    """
    query = query.strip()
    found = svc.search_principals(viewer.agency_id, query, kinds, owners_only=owners_only)
    values = [m.value for m in found]
    if chosen and (not query or chosen in values):
        return chosen, found, ""
    if not query:
        return "", [], ""
    if len(found) == 1:
        return found[0].value, found, ""
    if not found:
        what = "that can own cases " if owners_only else ""
        return "", [], f"Nobody and nothing {what}matches “{query}”: try part of a name or email."
    return "", found, f"Several match “{query}”: choose one, then search again."


@router.get("/pick")
def pick(
    svc: Service,
    viewer: Viewing,
    q: Short = "",
    field: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]+$")] = "who",
    kinds: Short = "user",
    owners: Short = "",
    multiple: Short = "",
    form: Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9_-]*$")] = "",
    selected: Short = "",
) -> HTMLResponse:
    found = svc.search_principals(viewer.agency_id, q, kinds_of(kinds), owners_only=bool(owners))
    return fragment(
        "_picker_options.html",
        {
            "name": field,
            "matches": found,
            "selected": selected,
            "selected_label": picked(svc, viewer, selected),
            "multiple": bool(multiple),
            "form_id": form,
            "query": q,
        },
    )
