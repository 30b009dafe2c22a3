"""Refusals made before routing: addresses carrying control characters (NUL above all)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from caseshare.http.errors import body

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
