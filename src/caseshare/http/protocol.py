"""uvicorn's HTTP/1.1 protocols, with TCP_NODELAY set on every connection they accept, and the
choice of HTTP stack ``caseshare serve`` runs on.

A response goes out in two writes (headers, then body). Without TCP_NODELAY, Nagle's algorithm
holds the body until the client acknowledges the headers, and a client that delays that ACK adds
40 ms to every request. Seen with ``serve --workers 2``: a health check took 43 ms instead of 1.

Stacks (issue 12 item 7, measured in docs/benchmarks.md): ``compiled`` is uvicorn's httptools
parser on the uvloop event loop, both in the lock; ``pure`` is h11 on asyncio, pure Python;
``auto`` is ``compiled`` where both import, else ``pure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

STACKS = ("auto", "compiled", "pure")


def _no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        # reason: a socket that refuses the option still serves, only slower
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def malformed_response(msg: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole 400 response, our JSON error (SPEC §14, ``http.errors.body``'s shape), for a
    request the HTTP parser refused before the app saw it: uvicorn answers those itself, in
    plain text. The connection closes after it, so it is written as bytes, past the parser."""
    reason = msg.rstrip(".") or "Invalid HTTP request received"
    payload = json.dumps(
        {
            "code": "validation_error",
            "message": f"The request is not valid HTTP/1.1 ({reason}); nothing was done."
            " Send a well-formed request.",
            "details": {},
        }
    ).encode()
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(payload)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + payload


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, as our JSON error."""
        self.transport.write(malformed_response(msg, self.server_state.default_headers))
        self.transport.close()


def compiled_available() -> bool:
    """Whether httptools and uvloop are installed (they are in the lock; not on Windows)."""
    return all(importlib.util.find_spec(m) is not None for m in ("httptools", "uvloop"))


if importlib.util.find_spec("httptools") is not None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """Module-level, so that ``serve --workers N`` can hand it to its worker processes."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            _no_delay(transport)
            super().connection_made(transport)  # type: ignore[arg-type]

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request httptools cannot parse, as our JSON error."""
            self.transport.write(malformed_response(msg, self.server_state.default_headers))
            self.transport.close()


def stack(choice: str = "auto") -> tuple[type[Any], str, str]:
    """(uvicorn ``http`` protocol class, uvicorn ``loop``, the stack's name in words)."""
    if choice not in STACKS:
        raise ValueError(f"HTTP stack {choice!r}: one of {', '.join(STACKS)}")
    if choice == "compiled" or (choice == "auto" and compiled_available()):
        if not compiled_available():
            raise RuntimeError(
                "The compiled HTTP stack needs httptools and uvloop, which are not installed"
                " here (make setup installs them); use --http-stack pure."
            )
        return NoDelayHttpToolsProtocol, "uvloop", "httptools + uvloop"
    return NoDelayH11Protocol, "asyncio", "h11 + asyncio"
