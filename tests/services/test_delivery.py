"""S-NOT-1: the outbox delivered to a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: delivery; the server down, then up; permanent and temporary refusals; a worker
killed with SIGKILL mid-batch; two workers side by side. No message is lost, none is sent twice."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.notices import case_assigned
from caseshare.services import Caseshare
from caseshare.services.delivery import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    Courier,
    backoff,
    parse_smtp_url,
    real_clock,
)
from caseshare.store import Store, open_store
from tests.conftest import _create_database, _drop_database
from tests.smtpserver import Handler, Server, free_port, running

BASE = "https://cs.example.org"


def _people(store: Store, count: int, *, emails: dict[int, str] | None = None) -> list[int]:
    """An agency with ``count`` users, each told once that they were assigned to case k<i>."""
    svc = Caseshare(store)
    tag = uuid.uuid4().hex[:8]
    agency = svc.create_agency(f"mail-{tag}", "Mail")
    ids = []
    with store.transaction():
        for i in range(count):
            email = (emails or {}).get(i, f"user{i}@{tag}.example")
            uid = svc.create_user(agency, None, f"u{i}", full_name=f"User {i}", email=email)
            user = svc.context(agency).directory.users[uid]
            ids += svc.notify(agency, case_assigned(f"k{i}", f"Case {i}", "Olga Owner"), [user])
    return ids


def _statuses(store: Store, ids: list[int]) -> Counter[str]:
    rows = [store.outbox_row(i) for i in ids]
    return Counter(r.status for r in rows if r is not None)


def _later(seconds: float) -> Callable[[], dt.datetime]:
    return lambda: real_clock() + dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def mail_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this module's own on each store: a worker claims every due message of
    the database, so no other module's messages may be in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('mail') / 'mail.db'}"
        return
    admin = request.getfixturevalue("postgres_admin_url")
    url = _create_database(admin)
    yield url
    _drop_database(admin, url)


@pytest.fixture
def store_url(mail_url: str) -> str:
    return mail_url


@pytest.fixture
def store(mail_url: str) -> Iterator[Store]:
    """The module's database with an empty outbox."""
    s = open_store(mail_url)
    s.execute("DELETE FROM outbox")
    yield s
    s.close()


def test_s_not_1_messages_are_delivered_with_their_message_id_once(store: Store) -> None:
    ids = _people(store, 3)
    with running() as server:
        config = parse_smtp_url(server.url)
        report = Courier(store, config, base_url=BASE).deliver()
        assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
        assert Courier(store, config).deliver().sent == 0  # nothing twice
    rows = [store.outbox_row(i) for i in ids]
    assert [r.status for r in rows if r] == ["sent"] * 3
    assert sorted(server.handler.ids()) == sorted(r.message_id for r in rows if r)
    got = next(r for r in server.handler.received if r.message_id == rows[0].message_id)  # type: ignore[union-attr]
    msg = got.message
    assert got.recipients == [rows[0].recipient_email]  # type: ignore[union-attr]
    assert msg["To"] == f"User 0 <{rows[0].recipient_email}>"  # type: ignore[union-attr]
    assert msg["From"] == "caseshare <caseshare@north.example>"
    assert msg["Subject"] == "You were assigned to case Case 0"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert text.startswith("Hello User 0,\n\nOlga Owner assigned you to the case")
    assert f"Open it: {BASE}/cases/k0" in text


def test_s_not_1_server_down_then_up_delivers_each_message_once(store: Store) -> None:
    ids = _people(store, 4)
    port = free_port()
    config = parse_smtp_url(f"smtp://127.0.0.1:{port}?timeout=5")
    down = Courier(store, config).deliver()
    assert down.sent == 0 and down.retrying == 4 and "cannot reach" in down.unreachable
    rows = [store.outbox_row(i) for i in ids]
    assert all(r and r.status == "pending" and r.attempts == 1 for r in rows)
    assert all(r and "cannot reach 127.0.0.1" in r.last_error for r in rows)
    assert all(r and r.claimed_by is None for r in rows)
    with running(port=port) as server:
        # not due yet: the first retry waits 30 s
        assert Courier(store, config).deliver().sent == 0
        assert server.handler.received == []
        up = Courier(store, config, clock=_later(backoff(1).total_seconds() + 1)).deliver()
        assert up.sent == 4
        again = Courier(store, config, clock=_later(BACKOFF_CAP.total_seconds() * 2)).deliver()
        assert again.sent == 0
    assert Counter(server.handler.ids()) == Counter(
        r.message_id for r in (store.outbox_row(i) for i in ids) if r
    )
    assert max(Counter(server.handler.ids()).values()) == 1
    assert _statuses(store, ids) == {"sent": 4}


def test_s_not_1_a_permanent_refusal_fails_visibly_a_temporary_one_retries(
    store: Store,
) -> None:
    ids = _people(store, 3)
    first, second, third = (store.outbox_row(i) for i in ids)
    assert first and second and third
    handler = Handler(
        refuse={
            first.recipient_email: "550 5.1.1 No such user here",
            second.recipient_email: "451 4.2.0 Mailbox busy, try later",
        }
    )
    with running(handler) as server:
        report = Courier(store, parse_smtp_url(server.url)).deliver()
    assert (report.sent, report.retrying, report.failed) == (1, 1, 1)
    failed, busy, sent = (store.outbox_row(i) for i in ids)
    assert failed and failed.status == "failed"
    assert "refused by the mail server: 550 5.1.1 No such user here" in failed.last_error
    assert busy and busy.status == "pending" and "451 4.2.0 Mailbox busy" in busy.last_error
    assert busy.next_attempt_at > busy.created_at
    assert sent and sent.status == "sent"
    assert server.handler.ids() == [sent.message_id]
    # admins see the failure, and can queue it again once the address is fixed
    assert [r.id for r in store.outbox_page(failed.agency_id, status="failed")] == [failed.id]


def test_s_not_1_out_of_attempts_a_message_is_failed_not_lost(store: Store) -> None:
    (only,) = _people(store, 1)
    store.execute("UPDATE outbox SET attempts = ? WHERE id = ?", (MAX_ATTEMPTS - 1, only))
    report = Courier(store, parse_smtp_url(f"smtp://127.0.0.1:{free_port()}")).deliver()
    assert report.failed == 1
    row = store.outbox_row(only)
    assert row and row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in row.last_error


def test_s_not_1_a_message_no_mail_header_can_carry_fails_visibly_and_the_rest_are_sent(
    store: Store,
) -> None:
    """Text the API stores may not fit in a mail header: a case named over two lines (names may
    hold line breaks), a full name over two lines, an address with a line break (a header
    injection; refused since, but stored before) or with letters SMTP cannot carry without
    SMTPUTF8. None may stop the outbox:
    a subject or display name is written on one line, an address no header can carry fails that
    one message visibly, and every other message due in the same batch is sent once."""
    svc = Caseshare(store)
    tag = uuid.uuid4().hex[:8]
    agency = svc.create_agency(f"mail-{tag}", "Mail")
    people = [
        ("Ann Lines", f"ann@{tag}.example"),  # injection, below: fails
        ("Jos\u00e9", f"jos\u00e9@{tag}.example"),  # not ASCII: fails
        ("Two\r\nLines", f"two@{tag}.example"),  # display name over two lines: sent
        ("Plain", f"plain@{tag}.example"),  # sent
    ]
    ids = []
    with store.transaction():
        for i, (name, email) in enumerate(people):
            uid = svc.create_user(agency, None, f"u{i}", full_name=name, email=email)
            user = svc.context(agency).directory.users[uid]
            notice = case_assigned(f"k{i}", "First line\nsecond line", "Olga\r\nOwner")
            ids += svc.notify(agency, notice, [user])
    injection = f"ann@{tag}.example\r\nBcc: eve@evil.example"  # stored before it was refused
    store.execute("UPDATE outbox SET recipient_email = ? WHERE id = ?", (injection, ids[0]))
    with running() as server:
        report = Courier(store, parse_smtp_url(server.url), base_url=BASE).deliver()
        assert (report.sent, report.retrying, report.failed) == (2, 0, 2), report
        assert Courier(store, parse_smtp_url(server.url)).deliver().sent == 0  # nothing twice
    injected, foreign, two, plain = (store.outbox_row(i) for i in ids)
    for bad in (injected, foreign):
        assert bad and bad.status == "failed"
        assert "cannot be written in a mail header" in bad.last_error, bad.last_error
    assert two and two.status == "sent" and plain and plain.status == "sent"
    assert sorted(server.handler.ids()) == sorted([two.message_id, plain.message_id])
    received = {r.message_id: r for r in server.handler.received}
    assert received[two.message_id].recipients == [two.recipient_email]
    msg = received[two.message_id].message
    assert msg["To"] == f"Two Lines <{two.recipient_email}>"
    assert msg["Subject"] == "You were assigned to case First line second line"
    assert "evil.example" not in str(received[plain.message_id].message)
    # admins see both failures, to fix the addresses and queue them again
    assert {r.id for r in store.outbox_page(agency, status="failed")} == {ids[0], ids[1]}


def _kill_mid_batch(
    store_url: str, store: Store, *, record_held: bool
) -> tuple[list[int], Handler]:
    """A ``caseshare outbox deliver`` process sends 6 messages; the server holds the 3rd; the
    process is killed with SIGKILL while it waits; then another worker takes over once the
    dead one's lease has expired."""
    ids = _people(store, 6)
    handler = Handler(hold_at=3, record_held=record_held)
    with running(handler) as server:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "caseshare.cli",
                "outbox",
                "deliver",
                "--smtp",
                server.url,
                "--database",
                store_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert handler.arrived.wait(60), worker.communicate(timeout=5)
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == -signal.SIGKILL
        handler.release.set()
        config = parse_smtp_url(server.url)
        mid = _statuses(store, ids)
        assert mid == {"sent": 2, "pending": 4}, mid  # the held one and the rest wait
        # the dead worker's lease still holds the rest: nobody else takes them yet
        assert Courier(store, config).deliver().sent == 0
        later = _later(config.lease.total_seconds() + 1)
        report = Courier(store, config, clock=later).deliver()
        assert report.sent == 4, report
    assert _statuses(store, ids) == {"sent": 6}
    return ids, handler


def test_s_not_1_a_worker_killed_mid_batch_loses_nothing(store_url: str, store: Store) -> None:
    ids, handler = _kill_mid_batch(store_url, store, record_held=False)
    sent = Counter(handler.ids())
    assert sorted(sent) == sorted(r.message_id for r in (store.outbox_row(i) for i in ids) if r)
    assert set(sent.values()) == {1}  # every message exactly once


def test_s_not_1_the_at_least_once_edge_resends_with_the_same_message_id(
    store_url: str, store: Store
) -> None:
    """Documented: the server stored the 3rd message, the worker died before it heard "250"
    and marked it sent; the next worker sends it again, and the Message-ID is the same, so the
    receiver can drop the duplicate."""
    ids, handler = _kill_mid_batch(store_url, store, record_held=True)
    sent = Counter(handler.ids())
    assert len(sent) == 6
    assert sorted(sent.values()) == [1, 1, 1, 1, 1, 2]
    third = store.outbox_row(ids[2])
    assert third and sent[third.message_id] == 2


def test_s_not_1_two_workers_side_by_side_send_each_message_once(
    store_url: str, store: Store
) -> None:
    ids = _people(store, 24)
    handler = Handler(delay=0.01)
    reports = []
    with running(handler) as server:
        config = parse_smtp_url(server.url)
        start = threading.Barrier(2)

        def work() -> None:
            own = open_store(store_url, migrate=False)
            try:
                courier = Courier(own, config, batch=3)
                start.wait()
                reports.append(courier.deliver())
            finally:
                own.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert sum(r.sent for r in reports) == 24
    assert all(r.sent > 0 for r in reports), reports  # both took part
    sent = Counter(handler.ids())
    assert len(sent) == 24 and set(sent.values()) == {1}
    assert _statuses(store, ids) == {"sent": 24}


# -- the SMTP URL ---------------------------------------------------------------------------------


def test_s_not_1_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.tls, plain.username) == (
        "mail.example.org",
        25,
        "none",
        "",
    )
    tls = parse_smtp_url(
        "smtp://ann%40x.org:p%3Ass@mail.example.org?starttls=true&from=cs@x.org&timeout=5"
    )
    assert (tls.port, tls.tls, tls.username, tls.password, tls.sender, tls.timeout) == (
        587,
        "starttls",
        "ann@x.org",
        "p:ss",
        "cs@x.org",
        5.0,
    )
    assert "p:ss" not in tls.describe() and "p:ss" not in repr(tls)
    ssl = parse_smtp_url("smtps://u:p@mail.example.org:2465?verify=false")
    assert (ssl.port, ssl.tls, ssl.verify) == (2465, "ssl", False)
    assert tls.lease >= dt.timedelta(seconds=120)
    for bad in (
        "http://mail.example.org",
        "smtp://",
        "smtps://h?starttls=true",
        "smtp://h?tls=yes",
        "smtp://h?starttls=maybe",
        "smtp://h?from=nobody",
        "smtp://h?timeout=0",
        "smtp://h:notaport",
    ):
        with pytest.raises(CaseShareError) as info:
            parse_smtp_url(bad)
        assert info.value.code == "validation_error", bad


def test_s_not_1_backoff_doubles_to_an_hour() -> None:
    waits = [backoff(n).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits[-1] == BACKOFF_CAP.total_seconds() == 3600


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_s_not_1_starttls_and_sign_in(sqlite_url: str, tmp_path: Path) -> None:
    """STARTTLS with a certificate checked against ``cafile``, then AUTH; a wrong password is
    a temporary failure the outbox shows, and the message goes once the password is right.
    (The SMTP session does not depend on the store: SQLite shows it.)"""
    store = open_store(sqlite_url)
    cert, key = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    ids = _people(store, 2)
    server = Server(Handler(), tls=tls, users={"ann": "s3cret"}).start()
    try:
        base = (
            f"127.0.0.1:{server.port}?starttls=true&cafile={cert}&from=cs@north.example&timeout=5"
        )
        wrong = Courier(store, parse_smtp_url(f"smtp://ann:nope@{base}")).deliver()
        assert wrong.sent == 0 and wrong.retrying == 2
        row = store.outbox_row(ids[0])
        assert row and row.status == "pending" and "535" in row.last_error
        untrusted = parse_smtp_url(f"smtp://ann:s3cret@127.0.0.1:{server.port}?starttls=true")
        later = _later(backoff(1).total_seconds() + 1)
        assert Courier(store, untrusted, clock=later).deliver().sent == 0  # unknown certificate
        right = parse_smtp_url(f"smtp://ann:s3cret@{base}")
        assert Courier(store, right, clock=_later(3600)).deliver().sent == 2
        assert _statuses(store, ids) == {"sent": 2}
    finally:
        server.stop()
        store.close()
    assert len(server.handler.received) == 2
