"""Issue 8, fault 1: a burst of signed-in requests queues for a connection and is answered.

``caseshare serve`` runs in its own process over a real socket; 200 clients send their request at
the same instant while another thread keeps asking ``/healthz``. Requests wait for one of the
four connections on the event loop, not in worker threads, so the requests that hold a connection
can always finish: all 200 are answered 200 (the queue is configured to take them all) and
``/healthz`` stays fast. Past the configured queue, the answer is 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from caseshare.store import open_store
from tests.conftest import module_url, run_async
from tests.http.cast import build_http_cast
from tests.http.live import serving

BURST = 200
#: /healthz must answer within this even while the burst is served (the fault: 30–60 s)
HEALTHZ_LIMIT = 5.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A database with the standard cast: its URL and the owner's API token."""
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    cast = build_http_cast(store)
    for n in range(20):
        cast.svc.create_case(cast.agency, cast.owner, "patient", f"Burst {n}")
    store.close()
    yield url, cast.tokens["owner"]  # type: ignore[attr-defined]


async def _burst(base: str, token: str, n: int) -> list[httpx.Response]:
    """``n`` requests sent at the same moment, each on its own connection."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        go = asyncio.Event()

        async def one() -> httpx.Response:
            await go.wait()
            return await client.get("/api/v1/cases?limit=10", headers=headers)

        tasks = [asyncio.create_task(one()) for _ in range(n)]
        await asyncio.sleep(0)
        go.set()
        return await asyncio.gather(*tasks)


class HealthProbe(threading.Thread):
    """Asks /healthz every 0.1 s until stopped; keeps how long each answer took."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            began = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=30) as answer:
                    assert answer.status == 200
            except Exception as exc:  # reason: any failure of the probe is what the test reports
                self.failures.append(repr(exc))
            self.latencies.append(time.monotonic() - began)
            time.sleep(0.1)


def test_issue8_burst_of_200_signed_in_requests_all_answered_and_healthz_stays_fast(
    world: tuple[str, str], tmp_path: Path
) -> None:
    url, token = world
    env = {
        "CASESHARE_CONNECTIONS": "4",
        "CASESHARE_QUEUE": str(BURST),
        "CASESHARE_QUEUE_WAIT": "120",
    }
    with serving(url, tmp_path / "serve.log", env=env) as server:
        probe = HealthProbe(server.url)
        probe.start()
        try:
            began = time.monotonic()
            answers = run_async(_burst(server.url, token, BURST))
            took = time.monotonic() - began
        finally:
            probe.done.set()
            probe.join(timeout=60)
        statuses = sorted({a.status_code for a in answers})
        assert statuses == [200], (
            statuses,
            [a.text[:200] for a in answers if a.status_code != 200],
        )
        assert all("items" in a.json() for a in answers)
        assert probe.latencies, "no /healthz probe ran during the burst"
        assert not probe.failures, probe.failures
        assert max(probe.latencies) < HEALTHZ_LIMIT, (max(probe.latencies), took)
        assert "Traceback" not in server.output(), server.output()


def test_issue8_past_the_queue_a_burst_gets_503_with_retry_after_never_a_4xx(
    world: tuple[str, str], tmp_path: Path
) -> None:
    """One connection and no queue at all: whoever finds it busy is told to come back."""
    url, token = world
    with serving(
        url, tmp_path / "serve.log", "--connections", "1", "--queue", "0", "--queue-wait", "0"
    ) as server:
        answers = run_async(_burst(server.url, token, 40))
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 503}, statuses
    busy = [a for a in answers if a.status_code == 503]
    assert busy, "40 requests at once on one connection and no queue: some must be turned away"
    for answer in busy:
        assert int(answer.headers["Retry-After"]) >= 1
        body = answer.json()
        assert body["code"] == "invalid_transition"
        assert "try again" in body["message"]
        assert body["details"]["retry_after"] == int(answer.headers["Retry-After"])
