"""Jinja2 templates from the installed package, one render call, flash messages and headers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from caseshare.http.web.menu import ADMIN_MENU, MENU
from caseshare.http.web.words import when

FLASH_COOKIE = "caseshare_flash"
#: every page: nothing from elsewhere, no inline script, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def url(path: str, params: Mapping[str, Any] | None = None, **more: Any) -> str:
    """``path?query`` from the params whose value is set (None, "" and False are left out)."""
    merged = {**(params or {}), **more}
    query = [
        (k, "1" if v is True else str(v)) for k, v in merged.items() if v not in (None, "", False)
    ]
    return path + (f"?{urlencode(query)}" if query else "")


@cache
def _static_version() -> str:
    """Part of every asset URL: a new release never meets an old cached stylesheet."""
    import hashlib

    digest = hashlib.sha256()
    for item in sorted(resources.files("caseshare.http.web").joinpath("static").iterdir(), key=str):
        digest.update(item.read_bytes())
    return digest.hexdigest()[:10]


def static(name: str) -> str:
    return f"/static/web/{name}?v={_static_version()}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("caseshare.http.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.globals.update(url=url, static=static, menu=MENU, admin_menu=ADMIN_MENU)
    return env


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page: the template with the viewer (when signed in) and any flash message."""
    viewer = getattr(request.state, "viewer", None)
    flash = _read_flash(request)
    values = {
        "request": request,
        "viewer": viewer,
        "csrf": viewer.csrf if viewer is not None else "",
        "flash": flash,
        "path": request.url.path,
        **(context or {}),
    }
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def fragment(template: str, context: Mapping[str, Any]) -> HTMLResponse:
    """Part of a page, for the small scripts that refresh one region (the people picker)."""
    body = environment().get_template(template).render(context)
    return HTMLResponse(body, headers=SECURITY_HEADERS)


def redirect(location: str, flash: str | None = None, *, secure: bool = False) -> Response:
    """POST → redirect → GET (303), with a message for the next page to show once."""
    response = RedirectResponse(location, status_code=303)
    if flash:
        raw = base64.urlsafe_b64encode(json.dumps(flash).encode()).decode()
        response.set_cookie(
            FLASH_COOKIE, raw, httponly=True, samesite="lax", path="/", secure=secure, max_age=300
        )
    return response


def _read_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        text = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError):
        return None
    return text[:500] if isinstance(text, str) else None
