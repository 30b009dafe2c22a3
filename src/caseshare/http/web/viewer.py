"""Who is looking at a page: the session cookie signs pages in; forms carry its CSRF token.

Every page handler takes a ``Viewer`` (GET) or a ``Poster`` (POST): signed out, the browser is
sent to the sign-in page and back; a form without the session's token changes nothing (403).
``authorised`` is the one load-and-authorise call for a case page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from caseshare.core.engine import Access
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.http.auth import SESSION_COOKIE, Service
from caseshare.http.web.words import Names
from caseshare.services import Caseshare

CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """Signed out (or the session ended): the browser goes to the sign-in page, then back."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a page is for, and what the layout shows of them."""

    user_id: int
    agency_id: int
    username: str
    full_name: str
    agency_name: str
    admin: bool
    csrf: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signin_url(next_url: str) -> str:
    return "/signin" if next_url in ("", "/") else f"/signin?next={quote(next_url, safe='')}"


def read_viewer(request: Request, svc: Caseshare) -> Viewer | None:
    """The viewer this request's session cookie names, or None (read only, by key)."""
    token = request.cookies.get(SESSION_COOKIE)
    owned = svc.session_owner(token) if token else None
    if owned is None:
        return None
    session, user = owned
    _, agency_name = svc.agency_names(user.agency_id)
    found = Viewer(
        user.id,
        user.agency_id,
        user.username,
        user.full_name,
        agency_name,
        "admin" in user.permissions,
        session.csrf,
    )
    request.state.viewer = found
    return found


async def page_viewer(request: Request, svc: Service) -> Viewer:
    found = read_viewer(request, svc)
    if found is None:
        raise SignInRequired(_here(request) if request.method == "GET" else "/")
    return found


async def form_poster(request: Request, svc: Service) -> Viewer:
    """The viewer of a form post, whose hidden field must hold the session's CSRF token."""
    found = read_viewer(request, svc)
    if found is None:
        raise SignInRequired("/")  # the form's content is gone with the session
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), found.csrf.encode()):
        raise CaseShareError(
            "insufficient_access",
            "This form had expired or did not come from your caseshare page, so nothing was"
            " changed. Go back, reload the page and try again.",
        )
    return found


Viewing = Annotated[Viewer, Depends(page_viewer)]
Posting = Annotated[Viewer, Depends(form_poster)]


def authorised(
    svc: Caseshare, viewer: Viewer, case_id: str, action: Action = Action.VIEW
) -> Access:
    """Load-and-authorise a case for a page: ``not_found`` when the viewer cannot see it (the
    404 page, whether it exists or not), ``insufficient_access`` when they may not do this."""
    return svc.require(viewer.user_id, action, case_id, agency_id=viewer.agency_id)


def names(svc: Caseshare, viewer: Viewer) -> Names:
    return Names(svc.context(viewer.agency_id).directory, viewer.agency_id, viewer.agency_name)
