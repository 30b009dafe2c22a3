"""Requests the HTTP parser refuses before the app sees them (issue 8: every refusal carries a
SPEC §14 code): uvicorn answers these itself, in plain text; ``caseshare serve`` answers them
with the app's JSON error shape, on both HTTP stacks, and keeps serving."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from caseshare.store import open_store
from tests.http.live import serving


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("http_stack", ["compiled", "pure"])
def test_a_request_that_is_not_http_gets_a_json_400_with_a_code(
    tmp_path: Path, http_stack: str
) -> None:
    url = f"sqlite:///{tmp_path / 'malformed.db'}"
    open_store(url).close()
    with serving(url, tmp_path / "serve.log", "--http-stack", http_stack) as server:
        for garbage in (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to a plain port
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n",
        ):
            answer = _raw(server.port, garbage)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400"), answer[:200]
            assert b"content-type: application/json" in head.lower()
            error = json.loads(body)
            assert error["code"] == "validation_error"
            assert "not valid HTTP/1.1" in error["message"]
            assert error["details"] == {}
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as still:
            assert still.status == 200
