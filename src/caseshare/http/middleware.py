"""Before routing: refusing addresses that carry control characters (NUL above all), and the
one log line of every request."""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caseshare.http.errors import body

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
