"""``caseshare bench --http``: requests per second and latency over HTTP on loopback.

The server runs as it does in production (``caseshare serve``, its own process); this process is
the load generator: ``--concurrency`` threads, each on one keep-alive connection, send requests
as long as ``--duration`` lasts, as users chosen at random with their own API tokens. Three
requests are measured at the given size: an access check, a case read and a first list page.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from caseshare.bench.world import SIZES, build
from caseshare.http.protocol import compiled_available, stack
from caseshare.services import Caseshare
from caseshare.store import open_store

SAMPLED_USERS = 100


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(
    url: str, port: int, workers: int = 1, http_stack: str = "auto"
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "caseshare.cli", "serve", "--database", url),
            *("--port", str(port), "--log-level", "warning", "--workers", str(workers)),
            *("--http-stack", http_stack),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"the server stopped: {out}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 120 s")


def _drive(
    port: int,
    make: Callable[[random.Random], tuple[str, str]],
    concurrency: int,
    duration: float,
    seed: int,
) -> tuple[Load, float]:
    """Closed-loop load: each thread sends its next request when the last one is answered."""
    load = Load()
    stop = time.monotonic() + duration

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        statuses: Counter[int] = Counter()
        while time.monotonic() < stop:
            path, token = make(rng)
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            statuses[response.status] += 1
        conn.close()
        with load.lock:
            load.latencies += mine
            load.statuses += statuses

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return load, time.perf_counter() - start


def _peak_rss(pid: int) -> str:
    """The serving processes' high-water resident size (Linux), after the whole load: the
    server, or with --workers each worker (summed, with the supervisor)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            pids += [int(p) for p in children.read().split()]
        total = 0
        for one in pids:
            with open(f"/proc/{one}/status", encoding="ascii") as status:
                total += next(int(ln.split()[1]) for ln in status if ln.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return "unknown (no /proc)"
    return f"{total / 1024:.0f} MiB" + (f" ({len(pids)} processes)" if len(pids) > 1 else "")


def _figure(load: Load, elapsed: float) -> str:
    ordered = sorted(load.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    codes = ", ".join(f"{c}×{n}" for c, n in sorted(load.statuses.items()))
    return f"{len(ordered) / elapsed:.0f} req/s  p50 {p50:.1f} ms  p99 {p99:.1f} ms  [{codes}]"


def run_http(
    url: str,
    size: str,
    seed: int,
    concurrency: int,
    duration: float,
    add: Callable[..., None],
    workers: int = 1,
) -> None:
    store = open_store(url)
    try:
        t0 = time.perf_counter()
        world = build(store, SIZES[size], seed, slug=f"bench-{uuid.uuid4().hex[:6]}")
        add("build world", f"{time.perf_counter() - t0:.1f} s")
        svc = Caseshare(store)
        rng = random.Random(seed)
        directory = svc.context(world.agency_id).directory
        active = [u for u in world.users if directory.users[u].active]  # others get 401
        users = rng.sample(active, SAMPLED_USERS)
        tokens = {u: svc.create_token(u, "bench")[1] for u in users}
        # what each sampled user can open: their first page of cases (a case read must succeed)
        readable = {u: [r["case_id"] for r in svc.list_cases(u, limit=50).items] for u in users}
        readers = [u for u in users if readable[u]]
    finally:
        store.close()
    cases = world.case_ids

    def read(r: random.Random) -> tuple[str, str]:
        user = r.choice(readers)
        return f"/api/v1/cases/{r.choice(readable[user])}", tokens[user]

    def health(r: random.Random) -> tuple[str, str]:
        return "/healthz", tokens[users[0]]

    if compiled_available():  # issue 12 item 7: the pure-Python stack beside, same run
        port = _free_port()
        proc = _start_server(url, port, workers, "pure")
        try:
            for name, make in (
                ("pure stack (h11 + asyncio): GET /healthz", health),
                ("pure stack (h11 + asyncio): case read", read),
            ):
                _drive(port, make, concurrency, min(3.0, duration), seed)
                load, elapsed = _drive(port, make, concurrency, duration, seed)
                add(f"{name}, {concurrency} clients, {workers} worker(s)", _figure(load, elapsed))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    port = _free_port()
    proc = _start_server(url, port, workers)
    try:
        add("HTTP stack", stack()[2])

        def check(r: random.Random) -> tuple[str, str]:
            user = r.choice(users)
            return f"/api/v1/cases/{r.choice(cases)}/check?action=view", tokens[user]

        def page(r: random.Random) -> tuple[str, str]:
            return "/api/v1/cases?limit=50", tokens[r.choice(users)]

        for name, make in (
            ("floor: GET /healthz (no database, no sign-in)", health),
            ("HTTP check (random user and case)", check),
            ("HTTP case read (a visible case)", read),
            ("HTTP list: first page of 50", page),
        ):
            _drive(port, make, concurrency, min(3.0, duration), seed)  # warm the server
            load, elapsed = _drive(port, make, concurrency, duration, seed)
            add(f"{name}, {concurrency} clients, {workers} worker(s)", _figure(load, elapsed))
        add("server: peak resident memory", _peak_rss(proc.pid), "target ≤ 1 GiB at L")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
