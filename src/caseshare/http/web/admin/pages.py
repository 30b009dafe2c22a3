"""One way to draw an admin screen: the section's tabs above the page, the viewer's names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response

from caseshare.http.web.admin.guard import tabs
from caseshare.http.web.templating import render
from caseshare.http.web.viewer import Viewer, names
from caseshare.services import Caseshare

SECTION_LABELS = {
    "people": "People",
    "structure": "Structure",
    "sharing": "Sharing",
    "partners": "Partner agencies",
    "reports": "Reports and repair",
}


def columns(*labels: str) -> list[dict[str, Any]]:
    """A table's columns for the ``table`` macro, none of them sortable."""
    return [{"label": label, "sort": None} for label in labels]


def admin_page(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    template: str,
    section: str,
    context: Mapping[str, Any],
    status: int = 200,
) -> Response:
    values = {
        "section": SECTION_LABELS[section],
        "tabs": tabs(section, request.url.path),
        "names": names(svc, viewer),
        "columns": columns,
        **context,
    }
    return render(request, f"admin/{template}", values, status)
