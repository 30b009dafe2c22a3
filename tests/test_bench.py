"""`caseshare bench` keeps working: the XS world builds and every SPEC §16 row is printed."""

from __future__ import annotations

import re

import pytest

from caseshare.bench import run_bench

ROWS = [
    "floor: Python set lookup",
    "floor: indexed SELECT by key",
    "floor: commit of a one-row update",
    "build world",
    "decision (case data in hand)",
    "check incl. store read",
    "check repeated, nothing written since",
    "list: first page of 50",
    "list: page 20 by keyset",
    "exact count (typical user)",
    "exact count (top of role tree",
    "share (committed)",
    "revoke (committed)",
    "assign (committed)",
    "membership change (committed)",
    "rule change (committed)",
    "first check after a structural change",
    "forms/s, 10 create blocks each",
    "forms/s, 10 update blocks each",
    "one form of 100 create blocks",
    "one form of 100 update blocks",
    "full restore,",
    "incremental restore after 100 changes",
    "peak resident memory",
]


def test_bench_xs_prints_every_row_with_a_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bench(size="XS", store_kind="sqlite") == 0
    out = capsys.readouterr().out
    for row in ROWS:
        line = next((ln for ln in out.splitlines() if row in ln), None)
        assert line is not None, f"bench printed no {row!r} row:\n{out}"
        assert re.search(r"\d", line.split(row, 1)[1]), f"no figure on: {line}"


def test_bench_http_xs_serves_and_measures_every_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`caseshare bench --http`: a real server process, a load generator, every row answered."""
    assert run_bench(size="XS", store_kind="sqlite", http=True, concurrency=2, duration=0.5) == 0
    out = capsys.readouterr().out
    for row in ("floor: GET /healthz", "HTTP check", "HTTP case read", "HTTP list: first page"):
        line = next((ln for ln in out.splitlines() if row in ln), None)
        assert line is not None, f"bench printed no {row!r} row:\n{out}"
        assert re.search(r"\d+ req/s  p50 [\d.]+ ms  p99 [\d.]+ ms", line), line
        assert "200×" in line, f"no request succeeded: {line}"
        assert not re.search(r"\b(401|5\d\d)×", line), f"sign-in failures or errors: {line}"
    assert re.search(r"server: peak resident memory\s+\d+ MiB", out), out
