"""Signing in and out over JSON and the user's own API tokens (the sign-in page is http/web)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from caseshare.http.auth import SESSION_COOKIE, CurrentActor, Service
from caseshare.http.errors import Unauthenticated
from caseshare.services import Caseshare, Session

api = APIRouter(prefix="/api/v1", tags=["session"])


class SignIn(BaseModel):
    agency: str = Field(min_length=1, max_length=100, description="The agency's slug.")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")


def secure_request(request: Request) -> bool:
    """Cookies are Secure over HTTPS, and always with ``--secure-cookies`` (behind a TLS proxy)."""
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def set_session(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        secure=secure_request(request),
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
    set_session(request, response, session)
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
