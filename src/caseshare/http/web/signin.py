"""Signing in and out in the browser, and the home address (the "View cases" screen)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import CSRF_COOKIE, SESSION_COOKIE, Service, new_csrf
from caseshare.http.routes.session import secure_request, set_session
from caseshare.http.web.forms import FormState
from caseshare.http.web.templating import render
from caseshare.http.web.viewer import read_viewer

router = APIRouter(include_in_schema=False)

SIGNIN_FIELDS = {"agency": "agency", "username": "username", "password": "password"}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site's address."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _form_page(request: Request, form: FormState, next_url: str, status: int = 200) -> Response:
    csrf = new_csrf()  # never one the client brought: a planted cookie would be a known token
    form.values.setdefault("agency", request.app.state.default_agency or "")
    response = render(
        request,
        "signin.html",
        {"form": form, "signin_csrf": csrf, "next": next_url, "title": "Sign in"},
        status,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        httponly=True,
        secure=secure_request(request),
        samesite="strict",
        path="/",
    )
    return response


@router.get("/signin")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _form_page(request, FormState(), safe_next(next))


@router.post("/signin", response_model=None)
def sign_in_post(
    request: Request,
    svc: Service,
    agency: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    form = FormState({"agency": agency, "username": username})
    target = safe_next(next)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        form.refuse(
            "agency",
            "The form had expired; please sign in again.",
            "insufficient_access",
        )
        return _form_page(request, form, target, 403)
    for name, label in (("agency", "agency"), ("username", "user name"), ("password", "password")):
        if not {"agency": agency, "username": username, "password": password}[name].strip():
            form.refuse(name, f"Enter your {label}.")
    if not form.ok:
        return _form_page(request, form, target, 422)
    try:
        user = svc.authenticate(agency, username, password)
    except CaseShareError as exc:  # too many failed sign-ins: 429, with the wait in words
        form.refuse("password", exc.message, exc.code)
        response = _form_page(request, form, target, 429)
        if "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response
    if user is None:
        form.refuse(
            "password", "The agency, user name or password is wrong.", "insufficient_access"
        )
        return _form_page(request, form, target, 401)
    session = svc.start_session(user.id)
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, session)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/signout")
def sign_out_post(
    request: Request, svc: Service, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    session = svc.session(token) if token else None
    if session is not None and secrets.compare_digest(session.csrf.encode(), csrf_token.encode()):
        svc.end_session(session.token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, svc: Service) -> RedirectResponse:
    """Home is the "View cases" screen in the viewer's own layout; signed out, sign in."""
    if read_viewer(request, svc) is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/cases", status_code=303)
