"""Benchmark rows for device forms and restores (SPEC §16): forms per second, full and
incremental restore."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from caseshare.core.casexml import CASE_NS, MAX_CASE_BLOCKS, META_NS
from caseshare.core.restore import to_xml
from caseshare.services import Caseshare
from caseshare.store import Store, open_store

Add = Callable[..., None]  # Report.add(name, figure, target="")


def _form(blocks: list[str]) -> str:
    return (
        '<data xmlns="http://caseshare.example/bench">'
        + "".join(blocks)
        + f'<meta xmlns="{META_NS}"><instanceID>{uuid.uuid4().hex}</instanceID></meta></data>'
    )


def _create(case_id: str, owner: str, n: int) -> str:
    return (
        f'<case xmlns="{CASE_NS}" case_id="{case_id}" date_modified="2026-11-01T10:00:00Z">'
        f"<create><case_type>patient</case_type><case_name>Patient {n}</case_name>"
        f"<owner_id>{owner}</owner_id></create>"
        f"<update><district>d{n % 25}</district><priority>high</priority></update></case>"
    )


def _update(case_id: str, n: int) -> str:
    return (
        f'<case xmlns="{CASE_NS}" case_id="{case_id}" date_modified="2026-11-02T10:00:00Z">'
        f"<update><visit>{n}</visit></update></case>"
    )


def run(
    store: Store,
    add: Add,
    live_cases: int = 10_000,
    forms: int = 200,
    big_form: int = MAX_CASE_BLOCKS,
) -> None:
    """Forms of 10 case blocks per second (create and update), then the restores."""
    svc = Caseshare(store)
    slug = f"tx-{uuid.uuid4().hex[:6]}"
    agency = svc.create_agency(slug, "Transactions benchmark")
    user = svc.create_user(agency, None, "fielder", full_name="Field Worker")
    owner = f"user:{user}"
    case_ids: list[str] = []

    def submit_creates(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            blocks = []
            for _ in range(10):
                case_id = uuid.uuid4().hex
                case_ids.append(case_id)
                blocks.append(_create(case_id, owner, len(case_ids)))
            svc.submit(agency, user, _form(blocks))
        return time.perf_counter() - start

    elapsed = submit_creates(forms)
    add("forms/s, 10 create blocks each", f"{forms / elapsed:.0f} forms/s", "target ≥ 500 (SQLite)")
    start = time.perf_counter()
    for f in range(forms):
        chosen = case_ids[f * 10 : f * 10 + 10]
        svc.submit(agency, user, _form([_update(c, f) for c in chosen]))
    elapsed = time.perf_counter() - start
    add("forms/s, 10 update blocks each", f"{forms / elapsed:.0f} forms/s", "target ≥ 500 (SQLite)")

    _devices(store, add, svc, agency, case_ids, forms)

    # issue 8 fault 7: the largest form accepted (MAX_CASE_BLOCKS), which holds the write lock
    # for the whole of its transaction — once creating 1,000 cases, once updating them
    big = [uuid.uuid4().hex for _ in range(big_form)]
    for label, blocks in (
        ("create", [_create(c, owner, n) for n, c in enumerate(big)]),
        ("update", [_update(c, n) for n, c in enumerate(big)]),
    ):
        start = time.perf_counter()
        svc.submit(agency, user, _form(blocks))
        add(
            f"one form of {big_form:,} {label} blocks"
            + (" (the block limit)" if big_form == MAX_CASE_BLOCKS else ""),
            f"{(time.perf_counter() - start) * 1000:.0f} ms",
        )
    case_ids.extend(big)

    remaining = max(0, live_cases - len(case_ids)) // 10
    submit_creates(remaining)
    start = time.perf_counter()
    full = svc.restore(user)
    payload = to_xml(full)
    elapsed = time.perf_counter() - start
    add(
        f"full restore, {len(full.cases)} live cases",
        f"{elapsed * 1000:.0f} ms ({len(payload) // 1024} KiB XML)",
        "target ≤ 1 s at 10,000",
    )

    for n in range(100):  # another device of the same user changes 100 cases
        svc.submit(agency, user, _form([_update(case_ids[n * 37 % len(case_ids)], n)]))
    start = time.perf_counter()
    incremental = svc.restore(user, since=full.token)
    to_xml(incremental)
    elapsed = time.perf_counter() - start
    add(
        f"incremental restore after 100 changes ({len(incremental.cases)} cases sent)",
        f"{elapsed * 1000:.0f} ms",
    )


def _devices(
    store: Store, add: Add, svc: Caseshare, agency: int, case_ids: list[str], forms: int
) -> None:
    """Issue 12 item 4: forms of 10 update blocks from 1 device, then from 4 devices at once
    (4 users, 4 connections, each on cases of its own): the second figure grows with the devices
    when forms wait only for forms on the same cases."""
    devices = 4
    per = max(1, forms // devices)
    users = [svc.create_user(agency, None, f"device{n}", permissions=["admin"]) for n in range(4)]
    mine = [case_ids[n * per * 10 : (n + 1) * per * 10] for n in range(devices)]
    stores = [open_store(store.url, migrate=False) for _ in range(devices)]
    try:

        def send(n: int) -> None:
            dev = Caseshare(stores[n])
            chosen = mine[n]
            for f in range(per):
                blocks = [_update(c, f) for c in chosen[f * 10 : f * 10 + 10]]
                dev.submit(agency, users[n], _form(blocks))

        start = time.perf_counter()
        send(0)
        one = per / (time.perf_counter() - start)
        threads = [threading.Thread(target=send, args=(n,)) for n in range(devices)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        four = per * devices / (time.perf_counter() - start)
    finally:
        for s in stores:
            s.close()
    add("forms/s, 1 device (10 update blocks, own connection)", f"{one:.0f} forms/s")
    add(
        f"forms/s, {devices} devices at once on distinct cases",
        f"{four:.0f} forms/s ({four / one:.1f}× one device)",
        "grows with devices (PostgreSQL)",
    )
