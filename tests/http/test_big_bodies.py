"""Hostile input: request bodies larger than any route reads are refused before they are read,
on every address, signed in or not (docs/api/README.md, "Refusals").

A body is held in memory while it is read, so a server that reads one of any size before a
route refuses it is one anonymous request away from running out of memory. Above 5 MiB (the
device receiver's own limit) the answer is 413 ``validation_error`` — JSON under ``/api/``, a
page for the pages — on both stores, over the in-process app and over a real socket.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from caseshare.http.middleware import MAX_BODY
from caseshare.store import open_store
from tests.conftest import module_url
from tests.http.cast import HttpCast, build_http_cast, expect
from tests.http.live import LiveServer, serving

API = "/api/v1"
TOO_BIG = b"x" * (MAX_BODY + 1)


def _chunks(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A body sent in chunks without a Content-Length (chunked transfer encoding)."""
    while total > 0:
        yield b" " * min(size, total)
        total -= size


def test_a_body_past_the_limit_is_413_for_the_api_signed_in_or_not(http: HttpCast) -> None:
    json_type = {"Content-Type": "application/json"}
    for who in (None, "owner", "admin"):
        for path in (f"{API}/cases", f"{API}/session", f"{API}/groups", f"{API}/tokens"):
            refusal = expect(
                http.call(who, "POST", path, content=TOO_BIG, headers=json_type),
                413,
                "validation_error",
            )
            assert "larger than 5 MiB" in refusal["message"]
    # the same without a Content-Length: cut off once the bytes pass the limit
    answer = http.call(
        "owner", "POST", f"{API}/cases", content=_chunks(MAX_BODY + 1), headers=json_type
    )
    expect(answer, 413, "validation_error")
    # a body within the limit is read as ever
    case = expect(
        http.post("owner", f"{API}/cases", {"case_type": "patient", "name": "Small body"}), 201
    )
    assert case["name"] == "Small body"


def test_a_body_past_the_limit_is_a_413_page_for_the_pages(http: HttpCast) -> None:
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/signin", "/cases/filters", f"/cases/{http.cast.case}/edit"):
        answer = http.call(None, "POST", path, content=TOO_BIG, headers=form_type)
        assert answer.status_code == 413, (path, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
        assert "larger than 5 MiB" in answer.text


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    build_http_cast(store)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(url, log) as live:
        yield live
        assert "Traceback" not in live.output(), live.output()
    store.close()


def test_a_declared_huge_body_is_refused_before_a_byte_of_it_is_read(server: LiveServer) -> None:
    """Over a real socket: a request that declares 300 MiB and sends none of it is answered at
    once. A server that read bodies before refusing them would wait for the 300 MiB."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (300 * 1024 * 1024)
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"code":"validation_error"' in payload.replace(b" ", b""), payload
