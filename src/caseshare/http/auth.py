"""Who is calling: session cookies (with CSRF), bearer tokens and, for devices, HTTP basic auth."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from caseshare.core.errors import CaseShareError
from caseshare.core.model import User
from caseshare.http.errors import Unauthenticated
from caseshare.http.pool import ServicePool
from caseshare.services import Caseshare

SESSION_COOKIE = "caseshare_session"
#: the double-submit cookie that protects the sign-in form itself (before any session exists)
CSRF_COOKIE = "caseshare_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token: `Authorization: Bearer cs_…`."
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session; writes also need the X-CSRF-Token header.",
)


async def service(request: Request) -> AsyncIterator[Caseshare]:
    """Borrow a service (one connection) for the length of the request.

    Async: borrowing, and waiting in the queue when every connection is taken, happen on the
    event loop, so a waiting request holds no worker thread (``http/pool.py``).
    """
    pool: ServicePool = request.app.state.pool
    svc = await pool.borrow()
    try:
        yield svc
    finally:
        pool.give_back(svc)


Service = Annotated[Caseshare, Depends(service)]


@dataclass(frozen=True)
class Actor:
    """The one user a request acts as."""

    user_id: int
    agency_id: int
    username: str
    via: str  # "session", "token" or "basic"
    csrf: str | None = None


async def current_actor(
    request: Request,
    svc: Service,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Actor:
    """The signed-in user; a cookie-borne write must carry the session's CSRF token.

    Runs on the event loop: two indexed reads by key (token or session, then the user's row),
    which cost less than the hop to a worker thread. A token's once-a-minute "last used" is
    noted in the app's buffer and written by its background flush (without one, in a worker
    thread, as a write may wait for a lock).
    """
    if bearer is not None:
        found = svc.token_owner(bearer.credentials)
        if found is None:
            raise Unauthenticated("This API token is not valid: it is unknown or was revoked.")
        user, touch = found
        if touch is not None:
            if svc.token_uses is not None:  # the app's buffer: nothing written on the path
                svc.touch_token(touch)
            else:
                await anyio.to_thread.run_sync(svc.touch_token, touch)
        return Actor(user.id, user.agency_id, user.username, "token")
    if cookie:
        owned = svc.session_owner(cookie)
        if owned is None:
            raise Unauthenticated("Your session has ended; sign in again.")
        session, user = owned
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not secrets.compare_digest(sent.encode(), session.csrf.encode()):
                raise CaseShareError(
                    "insufficient_access",
                    f"This write lacks the {CSRF_HEADER} header of your session"
                    " (GET /api/v1/session gives it); it was refused to protect you.",
                )
        return Actor(user.id, user.agency_id, user.username, "session", session.csrf)
    raise Unauthenticated(
        "Sign in first: send an API token (Authorization: Bearer …) or a session cookie."
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]


def basic_user(request: Request, svc: Caseshare, agency: str) -> User:
    """HTTP basic auth as CommCare devices send it: ``name`` or ``name@agency`` and a password."""
    realm = "caseshare"  # a header is Latin-1: the agency (any text in the URL) stays out of it
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthenticated("Sign in with HTTP basic auth.", basic_realm=realm)
    try:
        name, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text; UnicodeDecodeError is one
        raise Unauthenticated("The basic auth header is malformed.", basic_realm=realm) from None
    if not sep:
        raise Unauthenticated("The basic auth header is malformed.", basic_realm=realm)
    username, at, suffix = name.partition("@")
    if at and suffix.split(".")[0] != agency:
        raise Unauthenticated(f"{name!r} is not a user of agency {agency!r}.", basic_realm=realm)
    user = svc.authenticate(agency, username, password)
    if user is None:
        raise Unauthenticated("The user name or password is wrong.", basic_realm=realm)
    return user


def new_csrf() -> str:
    return secrets.token_urlsafe(24)
