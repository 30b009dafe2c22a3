"""Issue 8, fault 7 (the waiting side): a write that waits behind a long write transaction past
the lock timeout is answered 503 with ``Retry-After`` and a §14 body, never a 500; reads are
not held up, their bookkeeping (recent cases) included.

Another connection holds the lock a long write would hold: SQLite's write lock
(``BEGIN IMMEDIATE``), or on PostgreSQL the agency's case-write lock that device forms and case
writes take. The server runs with ``CASESHARE_LOCK_TIMEOUT=4s``.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from caseshare.store import open_store
from caseshare.store.base import sqlite_path
from tests.conftest import module_url
from tests.http.cast import PASSWORD, build_http_cast
from tests.http.live import serving
from tests.services.forms import block, create, form

API = "/api/v1"
LOCK_TIMEOUT = 4.0
#: the class of the agency's case-write lock on PostgreSQL (store/submissions.py)
CASE_WRITE_LOCK = 0x4353


@contextmanager
def long_write(url: str, agency_id: int) -> Iterator[None]:
    """Hold, from another connection, the lock a long write transaction holds."""
    if url.startswith("sqlite"):
        raw = sqlite3.connect(sqlite_path(url), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute("BEGIN")
        raw.execute("SELECT pg_advisory_xact_lock(%s, %s)", (CASE_WRITE_LOCK, agency_id))
        try:
            yield
        finally:
            raw.execute("ROLLBACK")


def _busy(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text[:300]
    assert int(answer.headers["Retry-After"]) >= 1


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return module_url(request, tmp_path_factory)


def test_issue8_fault7_a_writer_waiting_past_the_lock_timeout_gets_503_with_retry_after(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = database
    store = open_store(url)
    cast = build_http_cast(store)
    slug = store.agency(cast.agency)[1]
    username = store.user(cast.owner).username
    store.close()
    token = cast.tokens["owner"]  # type: ignore[attr-defined]
    env = {"CASESHARE_LOCK_TIMEOUT": f"{LOCK_TIMEOUT:g}s"}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(url, log, env=env) as server:
        bearer = {"Authorization": f"Bearer {token}"}
        basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
        device = {"Authorization": f"Basic {basic}"}
        xml = form(block("locked-out-1", create(name="Waited")))
        with httpx.Client(base_url=server.url, timeout=60) as client:
            # the device signs in first: its password is then known, and checking it again needs
            # no write (a first sign-in spends an attempt and may upgrade the hash: writes)
            for _ in range(2):
                assert client.head(f"/a/{slug}/receiver/", headers=device).status_code == 204
            with long_write(url, cast.agency):
                change = {"name": "Renamed while locked"}
                answer = client.patch(f"{API}/cases/{cast.case}", json=change, headers=bearer)
                _busy(answer)
                body = answer.json()
                assert body["code"] == "invalid_transition"
                assert "busy" in body["message"] and "try again" in body["message"]
                assert body["details"]["retry_after"] == int(answer.headers["Retry-After"])
                # reads go on, and their bookkeeping (the recent-case note) neither fails them
                # nor makes them wait out the lock timeout
                began = time.monotonic()
                read = client.get(f"{API}/cases/{cast.case}", headers=bearer)
                assert read.status_code == 200, read.text[:300]
                assert time.monotonic() - began < LOCK_TIMEOUT * 0.75
                listed = client.get(f"{API}/cases", headers=bearer)
                assert listed.status_code == 200, listed.text[:300]
                # a device form: an OpenRosa refusal that says when to come back
                sent = client.post(
                    f"/a/{slug}/receiver/",
                    content=xml.encode(),
                    headers=device | {"Content-Type": "text/xml"},
                )
                _busy(sent)
                assert sent.headers["content-type"].startswith("application/xml")
                assert "invalid_transition" in sent.text
            # the lock gone, the same requests go through
            answer = client.patch(f"{API}/cases/{cast.case}", json=change, headers=bearer)
            assert answer.status_code == 200, answer.text[:300]
            assert answer.json()["name"] == "Renamed while locked"
            sent = client.post(
                f"/a/{slug}/receiver/",
                content=xml.encode(),
                headers=device | {"Content-Type": "text/xml"},
            )
            assert sent.status_code == 201, sent.text[:300]
        assert "Traceback" not in server.output(), server.output()
