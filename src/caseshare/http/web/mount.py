"""Puts the pages, their assets and their error pages into the app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from caseshare.http.web import (
    account,
    admin,
    agencyshares,
    caselist,
    casepage,
    errors,
    pickers,
    sharedetails,
    signin,
    targets,
)
from caseshare.http.web.viewer import SignInRequired

#: the page modules, in the order their routes are matched
PAGES = (caselist, casepage, targets, sharedetails, agencyshares, account, pickers, signin, admin)


def install(app: FastAPI) -> None:
    """Add the pages after the API's routes, serve the assets, and answer pages' errors as
    pages (the JSON handlers already in the app still answer ``/api/…``)."""
    for module in PAGES:
        app.router.routes.extend(module.router.routes)
    app.mount(
        "/static/web",
        StaticFiles(packages=[("caseshare.http.web", "static")]),
        name="web-static",
    )
    for kind, handler in list(app.exception_handlers.items()):
        app.exception_handlers[kind] = errors.page_aware(handler)
    app.add_exception_handler(SignInRequired, errors.sign_in_first)
