"""The "View cases" screen in OSS-ESPA's three layouts, chosen per user in the View cases setting.

- Advanced view: a "Favourite & recent cases" tab and a "Cases" tab with the FILTERS group
  (S-VIEW-1), whose filter the user can save as the one the tab opens with;
- Grid view: "My recent cases" above a table whose "Case filter" starts at "Created by me";
- Tree view ("View i-cases"): the tops of the user's case trees with their children and
  extensions below them.

Every view is an address: layout, tab, filters, sort and page are in the query string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Form, Request, Response

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import Service
from caseshare.http.web.casefilters import (
    GRID_SCOPES,
    SCOPES,
    SORT_LABELS,
    STATUSES,
    CaseQuery,
    filter_fields,
    read_query,
    saved_params,
)
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.pickers import resolve_pick
from caseshare.http.web.templating import redirect, render, url
from caseshare.http.web.viewer import Posting, Viewer, Viewing, names
from caseshare.services import CaseFilter, Caseshare
from caseshare.services.personal import VIEW_LAYOUTS

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
LAYOUT_NAMES = {"advanced": "Advanced view", "grid": "Grid view", "tree": "Tree view"}
TITLES = {"advanced": "Advanced view cases", "grid": "View cases", "tree": "View i-cases"}
COLUMNS = (
    {"label": "Name", "sort": "name"},
    {"label": "Case ID", "sort": "case_id"},
    {"label": "Type", "sort": None},
    {"label": "Owner", "sort": None},
    {"label": "Status", "sort": None},
    {"label": "Opened", "sort": "opened_on"},
    {"label": "Last changed", "sort": "modified"},
    {"label": "Sharing and X-Case alert", "sort": None},
)


def _page(
    svc: Caseshare, viewer: Viewer, query: CaseQuery, *, roots: bool = False, exact: bool = False
) -> dict[str, Any]:
    """One keyset page of the list, its count and the addresses of its neighbours. The count
    is an estimate ("about 166,000") when it is large, unless ``exact`` (``?count=exact``)."""
    backwards = query.before is not None
    page = svc.list_cases(
        viewer.user_id,
        query.flt,
        limit=PAGE_SIZE,
        cursor=query.before or query.after,
        backwards=backwards,
        roots=roots,
    )
    return {
        "rows": page.items,
        "next": page.next_cursor,
        "prev": page.prev_cursor,
        "count": (
            count := svc.case_count(viewer.user_id, query.flt, roots=roots, exact=exact)
        ).value,
        "count_exact": count.exact,
    }


def _sorter(base: dict[str, Any], flt: CaseFilter) -> Callable[[str], str]:
    """A header's link: sort by that column, or turn the order round when it sorts already."""

    def sort_url(key: str) -> str:
        descending = not flt.descending if flt.sort == key else key == "modified"
        return url("/cases", base, sort=key, desc="1" if descending else "0")

    return sort_url


def _owner(
    svc: Caseshare, viewer: Viewer, query: CaseQuery, form: FormState
) -> tuple[CaseQuery, list[Any], str]:
    """The owner filter from the people picker: the chosen owner, or the matches to choose from."""
    if not query.owner_q:
        return replace(query, flt=replace(query.flt, owner=None)), [], ""
    chosen, matches, problem = resolve_pick(
        svc, viewer, query.flt.owner or "", query.owner_q, ("user", "group", "location"), True
    )
    if problem:
        form.refuse("owner-q", problem)
    label = names(svc, viewer).principal(chosen) if chosen else ""
    return replace(query, flt=replace(query.flt, owner=chosen or None)), matches, label


def _layout(svc: Caseshare, viewer: Viewer, asked: str | None) -> str:
    return asked if asked in VIEW_LAYOUTS else svc.view_layout(viewer.user_id)


@router.get("/cases")
def view_cases(request: Request, svc: Service, viewer: Viewing) -> Response:
    layout = _layout(svc, viewer, request.query_params.get("view"))
    return show(request, svc, viewer, layout, FormState())


def show(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    layout: str,
    save_form: FormState,
    status: int = 200,
    params: Mapping[str, str] | None = None,
) -> Response:
    """The layout's page for the address's parameters (or ``params``, when a refused form
    shows the list it came from)."""
    params = request.query_params if params is None else params
    form = FormState()
    words = names(svc, viewer)
    context: dict[str, Any] = {
        "layout": layout,
        "layouts": LAYOUT_NAMES,
        "title": TITLES[layout],
        "names": words,
        "columns": COLUMNS,
        "form": form,
        "save_form": save_form,
        "recent": svc.recent_cases(viewer.user_id),
        "layout_form": FormState({"layout": svc.view_layout(viewer.user_id)}),
        "layout_options": list(LAYOUT_NAMES.items()),
    }
    if layout == "advanced":
        filtered = any(p in params for p in ("applied", *(n for n, _ in SCOPES), "q", "sort"))
        tab = params.get("tab") or ("cases" if filtered else "favourites")
        tab = tab if tab in ("favourites", "cases") else "favourites"
        context["tab"] = tab
        if tab == "favourites":
            context["favourites"] = svc.favourites(viewer.user_id)
            return render(request, "cases_advanced.html", context, status)
        if "applied" in params:
            query = read_query(params, form)
        else:  # the Cases tab opens with the user's default filter (S-VIEW-1)
            flt = svc.saved_filter(viewer.user_id, "default")
            paging = read_query(params, form)
            owner_q = words.principal(flt.owner) if flt.owner else ""
            query = CaseQuery(flt, owner_q, paging.after, paging.before)
        query, matches, owner_label = _owner(svc, viewer, query, form)
        base = {"view": "advanced", "tab": "cases", "applied": 1, **query.params()}
        saved = svc.saved_filters(viewer.user_id)
        context.update(
            query=query,
            fields=FormState(filter_fields(query.flt), form.problems),
            owner_matches=matches,
            owner_label=owner_label,
            scopes=SCOPES,
            statuses=STATUSES,
            case_types=[("", "Any type")] + [(t, t) for t in svc.case_types(viewer.agency_id)],
            sort_url=_sorter(base, query.flt),
            here=base,
            saved=[
                {
                    **s,
                    "url": url(
                        "/cases",
                        {"view": "advanced", "tab": "cases", "applied": 1},
                        **saved_params(s["filter"], words.principal(s["filter"].get("owner"))),
                    ),
                }
                for s in saved
            ],
            **_page(svc, viewer, query, exact=params.get("count") == "exact"),
        )
        return render(request, "cases_advanced.html", context, status)
    if layout == "grid":
        scope = params.get("scope", "created")
        flags = {key: flag for key, _, flag in GRID_SCOPES}
        if scope not in flags:
            form.refuse("scope", "Choose one of the case filters.")
            scope = "created"
        query = read_query(params, form)
        flt = replace(
            query.flt,
            created_by_me=flags[scope] == "created_by_me",
            assigned_to_me=flags[scope] == "assigned_to_me",
            owned_by_me=flags[scope] == "owned_by_me",
            shared_with_me=flags[scope] == "shared_with_me",
        )
        query = replace(query, flt=flt)
        base = {
            "view": "grid",
            "scope": scope,
            "q": flt.q,
            "status": flt.status,
            "sort": flt.sort,
            "desc": "1" if flt.descending else "0",
        }
        context.update(
            query=query,
            fields=FormState({"scope": scope, "q": flt.q or "", "status": flt.status or "all"}),
            scopes=[(key, label) for key, label, _ in GRID_SCOPES],
            statuses=STATUSES,
            sort_url=_sorter({k: v for k, v in base.items() if k not in ("sort", "desc")}, flt),
            here=base,
            **_page(svc, viewer, query, exact=params.get("count") == "exact"),
        )
        return render(request, "cases_grid.html", context, status)
    query = read_query(params, form)
    if "sort" not in params:  # trees read best A→Z
        query = replace(query, flt=replace(query.flt, sort="name", descending=False))
    page = _page(svc, viewer, query, roots=True)
    tree = svc.case_tree(viewer.user_id, [row["case_id"] for row in page["rows"]])
    base = {
        "view": "tree",
        "q": query.flt.q,
        "status": query.flt.status,
        "sort": query.flt.sort,
        "desc": "1" if query.flt.descending else "0",
    }
    context.update(
        query=query,
        fields=FormState({"q": query.flt.q or "", "status": query.flt.status or "all"}),
        statuses=STATUSES,
        tree=tree,
        here=base,
        sort_labels=SORT_LABELS,
        **page,
    )
    return render(request, "cases_tree.html", context, status)


@router.post("/cases/layout")
def save_layout(
    request: Request,
    svc: Service,
    viewer: Posting,
    layout: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    svc.set_view_layout(viewer.user_id, layout)
    return redirect(
        url("/cases", view=layout),
        f"Your View cases setting is now {LAYOUT_NAMES[layout]}: View cases opens it.",
    )


@router.post("/cases/filters")
async def save_filter(request: Request, svc: Service, viewer: Posting) -> Response:
    posted = await request.form()
    form = FormState()
    query = read_query({k: form_text(posted, k, 2000) for k in posted}, form)
    name = form_text(posted, "filter_name", 200).strip()
    default = form_text(posted, "make_default") == "1"
    save_form = FormState({"filter_name": name, "make_default": "1" if default else ""})
    save_form.problems.extend(form.problems)
    if save_form.ok:
        try:
            svc.save_filter(viewer.user_id, name, _as_filter(query.flt), default=default)
        except CaseShareError as exc:
            save_form.refused(exc, {}, "filter_name")
    where = url("/cases", {"view": "advanced", "tab": "cases", "applied": 1, **query.params()})
    if not save_form.ok:  # the list as it was, the refusal beside the name, the input kept
        again = dict(parse_qsl(where.partition("?")[2]))
        return show(request, svc, viewer, "advanced", save_form, 422, again)
    said = " and made it the filter the Cases tab opens with" if default else ""
    return redirect(where, f"Saved the filter “{name}”{said}.")


def _as_filter(flt: CaseFilter) -> dict[str, Any]:
    """The filter as the service saves it: only what differs from no filter at all."""
    plain = CaseFilter()
    values = asdict(flt)
    return {k: v for k, v in values.items() if v != getattr(plain, k)}


@router.post("/cases/filters/{filter_id}/delete")
def delete_filter(svc: Service, viewer: Posting, filter_id: int) -> Response:
    svc.delete_filter(viewer.user_id, filter_id)
    return redirect(url("/cases", view="advanced", tab="cases"), "Deleted the saved filter.")
