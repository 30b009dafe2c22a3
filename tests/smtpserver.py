"""A real SMTP server on loopback for the delivery tests (aiosmtpd), with switches a test can
turn: refuse an address for good (5xx) or for now (4xx), hold a message before answering."""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    message_id: str
    recipients: list[str]
    message: Message


@dataclass
class Handler:
    """What the server does with each message; everything it accepted is in ``received``."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address → "550 …" or "451 …"
    #: hold the n-th DATA (1-based) until ``release`` is set; ``arrived`` tells it came
    hold_at: int | None = None
    record_held: bool = False  # True: the held message counts as accepted before the hold
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    delay: float = 0.0
    _data_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._data_seen += 1
            seen = self._data_seen
        message = email.message_from_bytes(envelope.content)
        item = Received(str(message["Message-ID"]), list(envelope.rcpt_tos), message)
        if seen == self.hold_at:
            if self.record_held:
                self.received.append(item)
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 held, then let go: not stored" if not self.record_held else "250 OK"
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append(item)
        return "250 OK"

    def ids(self) -> list[str]:
        return [r.message_id for r in self.received]


class Server:
    """The handler behind an aiosmtpd controller on 127.0.0.1:``port``."""

    def __init__(
        self,
        handler: Handler,
        port: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.handler = handler
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if users is not None:

            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                ok = (
                    isinstance(data, LoginPassword)
                    and users.get(data.login.decode()) == data.password.decode()
                )
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=check, auth_required=True)
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> Server:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=caseshare@north.example&timeout=10"


@contextlib.contextmanager
def running(handler: Handler | None = None, port: int | None = None) -> Iterator[Server]:
    server = Server(handler or Handler(), port).start()
    try:
        yield server
    finally:
        server.stop()
