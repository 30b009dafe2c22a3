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


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]


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
