"""Browser routes answer HTML error pages; ``/api/…`` (and the device endpoints) keep JSON.

The app's JSON handlers stay as they are: ``page_aware`` wraps each one and answers a page
instead when the request is for a page. Signed out, a page sends the browser to sign in.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from caseshare.core.errors import CaseShareError
from caseshare.http.errors import Unauthenticated, status_of
from caseshare.http.web.templating import redirect, render
from caseshare.http.web.viewer import SignInRequired, read_viewer, signin_url

Handler = Callable[[Request, Exception], Awaitable[Response]]
#: what Starlette keeps for a handler (it may also be sync)
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]

#: addresses that speak JSON (or OpenRosa XML) to programs, never pages
MACHINE_PREFIXES = ("/api/", "/a/", "/healthz", "/static/", "/docs")

TITLES = {
    403: "You cannot do that",
    404: "Page not found",
    405: "Page not found",
    409: "Something changed at the same moment",
    412: "Start again",
    422: "This could not be done",
    429: "Too many attempts",
}


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


def page_aware(api_handler: AnyHandler) -> Handler:
    """The JSON handler for programs, an error page for people."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not wants_page(request):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return await error_page(request, exc)

    return handle


async def sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect(signin_url(exc.next_url))


async def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Unauthenticated):
        return redirect(signin_url("/"))
    _know_viewer(request)
    code = "validation_error"
    headers: dict[str, str] = {}
    if isinstance(exc, CaseShareError):
        status, code, message = status_of(exc), exc.code, exc.message
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
    elif isinstance(exc, StarletteHTTPException) and exc.status_code in (404, 405):
        status, code = 404, "not_found"
        message = "There is no page at this address. If you typed it, check it is right."
    elif isinstance(exc, StarletteHTTPException):
        status, message = exc.status_code, str(exc.detail)
    elif isinstance(exc, RequestValidationError):
        status = 422
        fields = sorted({str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()})
        message = "The address or form holds a value this page cannot use: " + ", ".join(fields)
    else:  # what the database refused (NUL in text, a lost race): the API's own sentences
        status = 409 if "Integrity" in type(exc).__name__ else 422
        code = "invalid_transition" if status == 409 else "validation_error"
        message = (
            "Another change was made at the same moment, so nothing was changed. Try again."
            if status == 409
            else "A value cannot be stored: text may not hold control characters."
        )
    if code == "not_found":
        status = 404
    title = TITLES.get(status, "This could not be done")
    response = render(
        request,
        "error.html",
        {"title": title, "message": message, "code": code, "status": status},
        status,
    )
    response.headers.update(headers)
    return response


def _know_viewer(request: Request) -> None:
    """Error pages keep the menu of a signed-in person: their session, read by key."""
    if getattr(request.state, "viewer", None) is not None:
        return
    pool = request.app.state.pool
    svc = pool.try_borrow()
    if svc is None:
        return
    try:
        # reason: an error page must render even when the session cannot be read
        with contextlib.suppress(Exception):
            read_viewer(request, svc)
    finally:
        pool.give_back(svc)
