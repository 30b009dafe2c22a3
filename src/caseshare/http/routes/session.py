"""Signing in and out (HTML form and JSON) and the user's own API tokens."""

from __future__ import annotations

import html
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentActor,
    Service,
    new_csrf,
)
from caseshare.http.errors import Unauthenticated
from caseshare.services import Caseshare, Session

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["session"])


class SignIn(BaseModel):
    agency: str = Field(min_length=1, max_length=100, description="The agency's slug.")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")


def _secure(request: Request) -> bool:
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def _set_session(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
        max_age=12 * 3600,
    )


def whoami(svc: Caseshare, user_id: int, csrf: str | None) -> dict[str, Any]:
    ctx, user = svc.user(user_id)
    _, slug, agency_name, _ = svc.store.agency(ctx.agency_id)
    return {
        "user": {
            "id": user.id,
            "username": user.username,
            "full_name": user.full_name,
            "email": user.email,
            "permissions": sorted(user.permissions),
        },
        "agency": {"id": ctx.agency_id, "slug": slug, "name": agency_name},
        "csrf_token": csrf,
    }


# -- JSON -------------------------------------------------------------------------------------


@api.post("/session", summary="Sign in: starts a browser session (cookie) and returns its CSRF")
def sign_in(body: SignIn, request: Request, response: Response, svc: Service) -> dict[str, Any]:
    user = svc.authenticate(body.agency, body.username, body.password)
    if user is None:
        raise Unauthenticated("The agency, user name or password is wrong.")
    session = svc.start_session(user.id)
    _set_session(request, response, session)
    return whoami(svc, user.id, session.csrf)


@api.get("/session", summary="Who am I: the signed-in user, agency and CSRF token")
def current_session(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return whoami(svc, actor.user_id, actor.csrf)


@api.delete("/session", status_code=204, summary="Sign out (ends this browser session)")
def sign_out(request: Request, actor: CurrentActor, svc: Service) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        svc.end_session(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@api.get("/tokens", summary="My API tokens (never their secrets)", tags=["tokens"])
def list_tokens(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    return {"items": svc.tokens(actor.user_id)}


@api.post("/tokens", status_code=201, summary="Create an API token; its secret is shown once")
def create_token(body: TokenRequest, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    token_id, secret = svc.create_token(actor.user_id, body.name)
    return {"id": token_id, "name": body.name.strip(), "token": secret}


@api.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of my API tokens")
def revoke_token(token_id: int, actor: CurrentActor, svc: Service) -> Response:
    svc.revoke_token(actor.user_id, token_id)
    return Response(status_code=204)


# -- HTML sign-in form -----------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · caseshare</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin:.6rem 0}}input{{display:block;width:100%;padding:.4rem}}
.error{{color:#a00}}button{{margin-top:1rem;padding:.5rem 1.2rem}}</style></head>
<body>{body}</body></html>"""


def page(title: str, content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=content), status_code=status)


def _form(request: Request, csrf: str, error: str = "", agency: str = "", user: str = "") -> str:
    default_agency = agency or request.app.state.default_agency or ""
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<h1>Sign in to caseshare</h1>{problem}
<form method="post" action="/signin">
<input type="hidden" name="csrf_token" value="{html.escape(csrf)}">
<label>Agency <input name="agency" value="{html.escape(default_agency)}" required></label>
<label>User name <input name="username" value="{html.escape(user)}" autocomplete="username"
 required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">Sign in</button></form>
<p>Programs use API tokens; see <a href="/docs">the API docs</a>.</p>"""


def _with_csrf_cookie(request: Request, response: HTMLResponse, csrf: str) -> HTMLResponse:
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, secure=_secure(request), samesite="strict", path="/"
    )
    return response


@router.get("/signin", include_in_schema=False)
def sign_in_form(request: Request) -> HTMLResponse:
    csrf = new_csrf()  # never one the client brought: a planted cookie would be a known token
    return _with_csrf_cookie(request, page("Sign in", _form(request, csrf)), csrf)


@router.post("/signin", include_in_schema=False, response_model=None)
def sign_in_post(
    request: Request,
    svc: Service,
    agency: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    fresh = new_csrf()
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        content = _form(request, fresh, "The form had expired; please sign in again.", agency)
        return _with_csrf_cookie(request, page("Sign in", content, 403), fresh)
    try:
        user = svc.authenticate(agency, username, password)
    except CaseShareError as exc:
        content = _form(request, fresh, exc.message, agency, username)
        return _with_csrf_cookie(request, page("Sign in", content, 429), fresh)
    if user is None:
        content = _form(request, fresh, "The agency, user name or password is wrong.", agency)
        return _with_csrf_cookie(request, page("Sign in", content, 401), fresh)
    session = svc.start_session(user.id)
    response = RedirectResponse("/", status_code=303)
    _set_session(request, response, session)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/signout", include_in_schema=False)
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


@router.get("/", include_in_schema=False, response_model=None)
def home(request: Request, svc: Service) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    session = svc.session(token) if token else None
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    me = whoami(svc, session.user_id, session.csrf)
    rows = svc.list_cases(session.user_id, limit=20).items
    items = "".join(
        f"<li><code>{html.escape(r['case_id'])}</code> {html.escape(r['name'])}"
        f" <small>({html.escape(r['case_type'])}, {'closed' if r['closed'] else 'open'})</small>"
        "</li>"
        for r in rows
    )
    user = me["user"]
    content = f"""<h1>caseshare</h1>
<p>Signed in as <strong>{html.escape(user["full_name"] or user["username"])}</strong>
 of {html.escape(me["agency"]["name"])}.</p>
<form method="post" action="/signout"><input type="hidden" name="csrf_token"
 value="{html.escape(session.csrf)}"><button type="submit">Sign out</button></form>
<h2>Cases you can see</h2><ul id="cases">{items or "<li>None yet.</li>"}</ul>
<p><a href="/docs">API docs</a> · <a href="/api/v1/openapi.json">OpenAPI</a></p>"""
    return page("Home", content)
