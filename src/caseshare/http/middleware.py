"""Before routing: refusing addresses that carry control characters (NUL above all) and bodies
larger than any route reads, and the one log line of every request."""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caseshare.http.errors import body
from caseshare.http.web.errors import error_page, wants_page

ACCESS_LOG = logging.getLogger("caseshare.access")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RefuseControlCharacters:
    """A path or query with a control character is a 422 ``validation_error`` for every route.

    No id, slug or filter of ours contains one, and PostgreSQL cannot even compare text with a
    NUL in it: refusing here keeps every route from having to remember.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("path", "") + "?" + unquote(scope.get("query_string", b"").decode())
            if _CONTROL.search(raw):
                payload = json.dumps(
                    body(
                        "validation_error",
                        "The address contains a control character; no id or filter has one.",
                    )
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 422,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": payload})
                return
        await self.app(scope, receive, send)


class RequestLog:
    """One line per request on the ``caseshare.access`` logger: who asked (the client's address),
    the method, the path (never the query string, which may hold names people searched for),
    the status and the time taken. ``caseshare serve`` shows it at log level info."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACCESS_LOG.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            took = (time.perf_counter() - start) * 1000
            ACCESS_LOG.info(
                "%s %s %s %d %.1f ms",
                client[0] if client else "-",
                scope.get("method", "-"),
                scope.get("path", "-"),
                status,
                took,
            )


#: the largest request body read, for every route but the device receiver (which keeps its own
#: limit, the same size, and answers in OpenRosa XML): the API's and the pages' bodies are small
MAX_BODY = 5 * 1024 * 1024


class LimitRequestBody:
    """A request body larger than ``MAX_BODY`` is a 413 ``validation_error``, refused before it
    is read: by its Content-Length when it declares one, else as soon as the bytes that came
    pass the limit. Without this, any client — signed in or not — made the server hold a body
    of any size in memory before a route could refuse it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/a/"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        received = 0
        over = False
        started = False

        async def receiving() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True  # the route sees the client gone and stops reading
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if over:
                return  # the route's answer to a body cut short; the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 413 as every refusal is answered: the API's JSON body for programs, the app's
        error page (its layout, menu and way on) for people."""
        sentence = f"The request is larger than {self.limit // (1024 * 1024)} MiB; it was not read."
        request = Request(scope, receive)
        response: Response
        if wants_page(request):
            response = await error_page(request, HTTPException(413, detail=sentence))
        else:
            response = JSONResponse(body("validation_error", sentence), status_code=413)
        response.headers["connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)
