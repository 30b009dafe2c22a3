"""The application: routers, error translation, the OpenAPI document and its docs page."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import psycopg
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from caseshare.core.errors import CaseShareError
from caseshare.http import errors, web
from caseshare.http.docs import docs_page
from caseshare.http.middleware import LimitRequestBody, RefuseControlCharacters, RequestLog
from caseshare.http.pool import DEFAULT_QUEUE, DEFAULT_QUEUE_WAIT, ServicePool
from caseshare.http.routes import (
    agency,
    agencyshares,
    agreements,
    case_access,
    cases,
    devices,
    directory,
    outbox,
    oversight,
    personal,
    session,
    shares,
    structure,
    targets,
    xcase,
)

OPENAPI_URL = "/api/v1/openapi.json"
DESCRIPTION = """Case management whose heart is case sharing.

Every request acts as one user: an API token (`Authorization: Bearer cs_…`, created at
`POST /api/v1/tokens`) or a browser session (`POST /api/v1/session`; writes then carry the
`X-CSRF-Token` header). Every refusal is `{"code", "message", "details"}` with a SPEC §14 code.
A case of another agency, or one you cannot see, is 404 `not_found`."""


def create_app(
    url: str,
    *,
    pool_size: int = 4,
    queue: int = DEFAULT_QUEUE,
    queue_wait: float = DEFAULT_QUEUE_WAIT,
    secure_cookies: bool = False,
    default_agency: str | None = None,
    pool: ServicePool | None = None,
    mail: str | None = None,
) -> FastAPI:
    """The app over the database at ``url`` (already migrated). ``mail`` says where this server
    delivers the outbox (``SmtpConfig.describe()``), None when it does not (no ``--smtp``)."""
    services = pool or ServicePool(url, pool_size, queue=queue, queue_wait=queue_wait)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        flusher = asyncio.create_task(services.keep_flushing(stop=stop))
        try:
            yield
        finally:
            stop.set()  # the flush under way ends first: cancelling it would lose its batch
            with contextlib.suppress(Exception):  # reason: logged by keep_flushing
                await flusher
            # a clean shutdown loses no case view (recents.py says what a kill -9 may lose);
            # a database busy at that moment is tried again for a few seconds
            for _attempt in range(20):
                with contextlib.suppress(Exception):  # reason: the database is gone; recents only
                    await services.flush_recents()
                if not len(services.recents) and not len(services.token_uses):
                    break
                await asyncio.sleep(0.25)
            if pool is None:
                services.close()

    app = FastAPI(
        title="caseshare",
        version="1",
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.pool = services
    app.state.secure_cookies = secure_cookies
    app.state.default_agency = default_agency
    app.state.mail = mail
    app.add_exception_handler(CaseShareError, errors.domain_error)
    app.add_exception_handler(errors.Unauthenticated, errors.unauthenticated)
    app.add_exception_handler(RequestValidationError, errors.invalid_request)
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_exception_handler(psycopg.DataError, errors.database_refused)
    app.add_exception_handler(OverflowError, errors.database_refused)  # SQLite: int > 64 bits
    app.add_exception_handler(psycopg.IntegrityError, errors.concurrent_change)
    app.add_exception_handler(sqlite3.IntegrityError, errors.concurrent_change)
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(LimitRequestBody)  # before a byte of a body is held in memory
    app.add_middleware(RequestLog)  # the outermost: it times and logs every answer
    # Routes are matched one by one in this order: the busiest (cases) come first.
    for module in (
        cases,
        case_access,
        shares,
        targets,
        personal,
        session,
        agency,
        directory,
        structure,
        agreements,
        agencyshares,
        xcase,
        outbox,
        oversight,
    ):
        for name in ("router", "api"):
            router = getattr(module, name, None)
            if router is not None:
                _add_routes(app, router, _error_responses())
    _add_routes(app, devices.router, {422: _error_responses()[422]})
    app.mount(
        "/static/swagger",
        # Swagger UI 5 (OpenAPI 3.1, which FastAPI writes) as the fastapi-swagger package ships it
        StaticFiles(directory=str(resources.files("fastapi_swagger") / "resources")),
        name="swagger",
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return docs_page(OPENAPI_URL, "caseshare API")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        # async: answered on the event loop, needing no worker thread and no connection
        return {"status": "ok"}

    web.install(app)  # the pages, after every API route; pages' errors as pages

    return app


#: how ``caseshare serve --workers N`` hands its settings to each worker process
ENVIRONMENT = (
    "CASESHARE_SERVE_URL",
    "CASESHARE_SERVE_CONNECTIONS",
    "CASESHARE_SERVE_QUEUE",
    "CASESHARE_SERVE_QUEUE_WAIT",
    "CASESHARE_SERVE_SECURE_COOKIES",
    "CASESHARE_SERVE_DEFAULT_AGENCY",
)


def app_from_environment() -> FastAPI:
    """The app a worker process of ``caseshare serve --workers N`` builds (a uvicorn factory)."""
    return create_app(
        os.environ["CASESHARE_SERVE_URL"],
        pool_size=int(os.environ.get("CASESHARE_SERVE_CONNECTIONS", "4")),
        queue=int(os.environ.get("CASESHARE_SERVE_QUEUE", str(DEFAULT_QUEUE))),
        queue_wait=float(os.environ.get("CASESHARE_SERVE_QUEUE_WAIT", str(DEFAULT_QUEUE_WAIT))),
        secure_cookies=os.environ.get("CASESHARE_SERVE_SECURE_COOKIES") == "1",
        default_agency=os.environ.get("CASESHARE_SERVE_DEFAULT_AGENCY") or None,
        mail=os.environ.get("CASESHARE_SERVE_MAIL") or None,
    )


def _add_routes(app: FastAPI, router: APIRouter, responses: dict[int | str, Any]) -> None:
    """The router's routes, added to the app's own list.

    ``include_router`` would wrap each router in a lazily matched layer that this FastAPI walks on
    every request (1 ms of a 1.4 ms health check); the routes themselves are complete already.
    """
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.responses = {**responses, **route.responses}
        app.router.routes.append(route)


def _error_responses() -> dict[int | str, dict[str, Any]]:
    return {
        401: {"description": "Not signed in", "content": errors.error_content(401)},
        403: {"description": "Signed in, but not allowed", "content": errors.error_content(403)},
        404: {
            "description": "Not found, or not visible to you",
            "content": errors.error_content(404),
        },
        422: {
            "description": "Refused: the body names the §14 code",
            "content": errors.error_content(422),
        },
    }
