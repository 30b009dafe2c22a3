"""Delivering the outbox to an SMTP server (S-NOT-1): claim with a lease, renew it just before
each send, mark each message the moment the server accepted it; temporary failures come back
with exponential backoff, permanent ones are marked failed where admins see them."""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlparse

from caseshare.core.errors import CaseShareError
from caseshare.core.notices import compose
from caseshare.store import OutboxRow, Store, open_store
from caseshare.store.base import timestamp

log = logging.getLogger("caseshare.delivery")

SMTP_ENV = "CASESHARE_SMTP_URL"
BASE_URL_ENV = "CASESHARE_BASE_URL"
#: the first retry waits this long; each next one twice as long, up to BACKOFF_CAP
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
#: temporary failures after which a message is marked failed (about a day of retries)
MAX_ATTEMPTS = 30
BATCH = 20
Clock = Callable[[], dt.datetime]


def real_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min … 1 h."""
    step: dt.timedelta = BACKOFF_BASE * (2 ** max(0, min(attempts - 1, 16)))
    return min(step, BACKOFF_CAP)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: ``smtp://`` (plain, or STARTTLS with ``?starttls=true``) or
    ``smtps://`` (TLS from the first byte), with an optional user and password."""

    host: str
    port: int
    tls: str = "none"  # "none", "starttls" or "ssl"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "caseshare@localhost"
    timeout: float = 30.0
    cafile: str = ""
    verify: bool = True

    @property
    def lease(self) -> dt.timedelta:
        """How long a claim lasts: well past one message's SMTP exchange (``timeout``), so a
        worker that holds a lease has finished sending before anyone else may take it."""
        return dt.timedelta(seconds=max(120.0, 4 * self.timeout))

    def describe(self) -> str:
        """The URL without the password, for logs and the console."""
        who = f"{self.username}@" if self.username else ""
        scheme = "smtps" if self.tls == "ssl" else "smtp"
        extra = "?starttls=true" if self.tls == "starttls" else ""
        return f"{scheme}://{who}{self.host}:{self.port}{extra} (from {self.sender})"

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile or None)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def connect(self) -> smtplib.SMTP:
        """A signed-in connection; raises ``OSError`` or ``smtplib.SMTPException``."""
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.tls == "starttls":
                smtp.starttls(context=self.tls_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _flag(value: str, name: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise CaseShareError("validation_error", f"SMTP URL: {name}={value!r} is not true or false.")


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=true&from=ADDR&timeout=30&cafile=PATH
    &verify=false]``; user and password are percent-encoded. Default ports: 25 (587 with
    STARTTLS), 465 for smtps."""
    parts = urlparse(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise CaseShareError(
            "validation_error",
            f"{url!r} is not an SMTP URL: write smtp://[user[:password]@]host[:port][?starttls=true]"
            " or smtps://…",
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"starttls", "from", "timeout", "cafile", "verify"}
    if unknown:
        raise CaseShareError(
            "validation_error",
            f"SMTP URL: unknown option(s) {', '.join(sorted(unknown))} (known: starttls, from,"
            " timeout, cafile, verify).",
        )
    starttls = _flag(query.get("starttls", "false"), "starttls")
    if parts.scheme == "smtps" and starttls:
        raise CaseShareError(
            "validation_error", "SMTP URL: smtps:// is TLS already; starttls is for smtp://."
        )
    tls = "ssl" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    try:
        port = parts.port or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise CaseShareError("validation_error", f"SMTP URL: {exc}.") from None
    if not 0 < timeout <= 600:
        raise CaseShareError("validation_error", "SMTP URL: timeout is 1 to 600 seconds.")
    sender = query.get("from") or "caseshare@localhost"
    if "@" not in sender:
        raise CaseShareError(
            "validation_error", f"SMTP URL: from={sender!r} is not an email address."
        )
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        sender=sender,
        timeout=timeout,
        cafile=query.get("cafile", ""),
        verify=_flag(query.get("verify", "true"), "verify"),
    )


def smtp_config(url: str | None) -> SmtpConfig | None:
    """The URL given, else ``CASESHARE_SMTP_URL``; None when neither is set."""
    chosen = url or os.environ.get(SMTP_ENV, "")
    return parse_smtp_url(chosen) if chosen else None


def base_url(url: str | None) -> str:
    return (url or os.environ.get(BASE_URL_ENV, "")).rstrip("/")


@dataclass
class Report:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unreachable: str = ""  # why the server could not be reached, when it could not

    def __str__(self) -> str:
        text = f"sent {self.sent}, to retry {self.retrying}, failed {self.failed}"
        return text + (f" (server unreachable: {self.unreachable})" if self.unreachable else "")


class _Temporary(Exception):
    """The server is out of reach, or said "try later" (4xx)."""


class _Broken(_Temporary):
    """The connection is gone: the rest of the batch waits for the next attempt too."""


class _Permanent(Exception):
    """The server refused this message for good (5xx)."""


class _Unwritable(Exception):
    """This message cannot be written at all (its address holds a line break, or letters SMTP
    carries only with SMTPUTF8): it fails for good, and the rest of the batch goes on."""


def _one_line(text: str) -> str:
    """Header text on one line: a case name or a full name may hold line breaks (every one
    ``str.splitlines`` sees), which no mail header may carry."""
    return " ".join(text.splitlines())


def _address(row: OutboxRow) -> str:
    """The recipient's address as the envelope and the To header carry it, unchanged: one that
    would need changing (a line break is a header injection) is refused, never guessed at."""
    address = row.recipient_email
    if not address.isascii() or not address.isprintable():
        problem = "is not plain ASCII" if not address.isascii() else "holds a control character"
        raise _Unwritable(
            f"the address {address!r} cannot be written in a mail header: it {problem};"
            " correct the user's email, then queue the message again"
        )
    return address


def _refusal(code: int, text: str) -> Exception:
    message = f"{code} {text}".strip()
    return _Permanent(message) if 500 <= code < 600 else _Temporary(message)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


class Courier:
    """One delivery worker over one store connection. ``clock`` is the time it believes
    (tests pass a later one to see retries fall due without waiting)."""

    def __init__(
        self,
        store: Store,
        config: SmtpConfig,
        *,
        base_url: str = "",
        batch: int = BATCH,
        clock: Clock = real_clock,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.base_url = base_url
        self.batch = max(1, batch)
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def deliver(self, *, limit: int | None = None) -> Report:
        """Send every message that is due (at most ``limit``); stop early when the server
        cannot be reached, leaving the rest for the next run."""
        report = Report()
        done = 0
        while limit is None or done < limit:
            size = self.batch if limit is None else min(self.batch, limit - done)
            claimed = self._claim(size)
            if not claimed:
                break
            done += len(claimed)
            if not self._send_batch(claimed, report):
                break
        return report

    def _claim(self, size: int) -> list[OutboxRow]:
        now = self.clock()
        with self.store.transaction():
            return self.store.claim(
                self.worker, timestamp(now), timestamp(now + self.config.lease), size
            )

    def _send_batch(self, rows: list[OutboxRow], report: Report) -> bool:
        """False when the server was out of reach (the unsent rows are rescheduled)."""
        try:
            smtp = self.config.connect()
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"cannot reach {self.config.host}:{self.config.port}: {exc}"
            report.unreachable = reason
            for row in rows:
                self._temporary(row, reason, report)
            return False
        try:
            for i, row in enumerate(rows):
                try:
                    if not self._renew(row):
                        continue  # our lease ran out and another worker has it now
                    self._send(smtp, row)
                except _Broken as exc:
                    for rest in rows[i:]:
                        self._temporary(rest, str(exc), report)
                    report.unreachable = str(exc)
                    return False
                except _Temporary as exc:
                    self._temporary(row, str(exc), report)
                except _Permanent as exc:
                    self._failed(row, f"refused by the mail server: {exc}", report)
                except _Unwritable as exc:
                    self._failed(row, str(exc), report)
                else:
                    with self.store.transaction():
                        self.store.mark_sent(row.id, timestamp(self.clock()))
                    report.sent += 1
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return True

    def _renew(self, row: OutboxRow) -> bool:
        with self.store.transaction():
            return self.store.renew(
                row.id, self.worker, timestamp(self.clock() + self.config.lease)
            )

    def message(self, row: OutboxRow) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr(("caseshare", self.config.sender))
        msg["To"] = formataddr((_one_line(row.recipient_name), _address(row)))
        msg["Subject"] = _one_line(row.subject)
        msg["Message-ID"] = row.message_id
        msg["Date"] = format_datetime(self.clock())
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        msg.set_content(compose(row.body, row.link, self.base_url))
        return msg

    def _send(self, smtp: smtplib.SMTP, row: OutboxRow) -> None:
        try:
            message = self.message(row)
        except (ValueError, UnicodeError) as exc:  # whatever else no header can carry
            raise _Unwritable(f"the message cannot be written in a mail header: {exc}") from None
        try:
            smtp.send_message(message, self.config.sender, [_address(row)])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _refusal(code, _text(text)) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise _Broken(f"the server closed the connection: {exc}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _Permanent(f"the server cannot take this address: {exc}") from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, others
            raise _refusal(exc.smtp_code, _text(exc.smtp_error)) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Broken(f"the connection failed: {exc}") from None

    def _temporary(self, row: OutboxRow, reason: str, report: Report) -> None:
        attempts = row.attempts
        with self.store.transaction():
            if attempts >= MAX_ATTEMPTS:
                self.store.mark_failed(
                    row.id, f"gave up after {attempts} attempts; the last said: {reason}"
                )
                report.failed += 1
                return
            due = self.clock() + backoff(attempts)
            self.store.mark_retry(row.id, timestamp(due), reason)
        report.retrying += 1
        log.warning("message %s to retry at %s: %s", row.id, timestamp(due), reason)

    def _failed(self, row: OutboxRow, reason: str, report: Report) -> None:
        with self.store.transaction():
            self.store.mark_failed(row.id, reason)
        report.failed += 1
        log.warning("message %s failed: %s", row.id, reason)


class DeliveryLoop:
    """``caseshare serve --smtp``: a thread in the server process that delivers what is due
    every ``interval`` seconds over its own database connection, until stopped."""

    def __init__(
        self, url: str, config: SmtpConfig, *, base_url: str = "", interval: float = 2.0
    ) -> None:
        self.url = url
        self.config = config
        self.base_url = base_url
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="caseshare-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        store: Store | None = None
        while not self._stop.is_set():
            try:
                if store is None:
                    store = open_store(self.url, migrate=False)
                courier = Courier(store, self.config, base_url=self.base_url)
                report = courier.deliver()
                if report.sent or report.failed or report.retrying:
                    log.info("outbox: %s", report)
            except Exception:  # a database hiccup: log it, reconnect, go on
                log.exception("outbox delivery failed; trying again in %s s", self.interval)
                if store is not None:
                    store.close()
                    store = None
            self._stop.wait(self.interval)
        if store is not None:
            store.close()
