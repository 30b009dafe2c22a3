"""Issue 8, regression suite: kill -9 in the middle of a burst of device forms loses nothing
acknowledged and half-applies nothing.

``caseshare serve`` takes forms from several devices at once (threads); each form creates a
case and a child of it. The server is killed with SIGKILL while forms are in flight, then
started again on the same database. Every form answered 201 before the kill is there, whole;
every other form is there whole or not at all; a device sending its unanswered forms again
(as CommCare does) gets every one of them applied exactly once.
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from caseshare.store import Store, open_store
from tests.conftest import module_url
from tests.http.cast import PASSWORD, build_http_cast
from tests.http.live import LiveServer
from tests.services.forms import block, create, form, index, update

DEVICES = 4
#: the kill comes once this many forms are acknowledged (a burst keeps going meanwhile)
KILL_AFTER = 24


@dataclass
class Sent:
    """What one device sent: form number → instance id, and which were acknowledged."""

    instances: dict[int, str] = field(default_factory=dict)
    acknowledged: set[int] = field(default_factory=set)


def _form(run: str, k: int, instance: str) -> str:
    parent, child = f"{run}-{k}-a", f"{run}-{k}-b"
    return form(
        block(parent, create(name=f"Parent {k}") + update(seq=str(k))),
        block(child, create(name=f"Child {k}") + update(seq=str(k)) + index("parent", parent)),
        instance=instance,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return module_url(request, tmp_path_factory)


def test_issue8_kill_9_mid_burst_keeps_every_acknowledged_form_whole(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = open_store(database)
    cast = build_http_cast(store)
    slug = store.agency(cast.agency)[1]
    username = store.user(cast.owner).username
    auth = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "text/xml"}
    receiver = f"/a/{slug}/receiver/"
    run = f"crash-{uuid.uuid4().hex[:8]}"
    server = LiveServer(database, tmp_path_factory.mktemp("serve") / "serve.log")
    server.start()
    try:
        sent = [Sent() for _ in range(DEVICES)]
        acknowledged = threading.Semaphore(0)
        stop = threading.Event()

        def device(d: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for k in range(d * 10_000, d * 10_000 + 10_000):
                    if stop.is_set():
                        return
                    instance = uuid.uuid4().hex
                    sent[d].instances[k] = instance
                    try:
                        answer = client.post(
                            receiver, content=_form(run, k, instance).encode(), headers=headers
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert answer.status_code == 201, answer.text[:300]
                    sent[d].acknowledged.add(k)
                    acknowledged.release()

        threads = [threading.Thread(target=device, args=(d,), daemon=True) for d in range(DEVICES)]
        for t in threads:
            t.start()
        for _ in range(KILL_AFTER):
            assert acknowledged.acquire(timeout=60), "the burst stalled before the kill"
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.start()

        acked = {k for s in sent for k in s.acknowledged}
        every = {k: i for s in sent for k, i in s.instances.items()}
        assert len(acked) >= KILL_AFTER
        reader = open_store(database)
        try:
            for k in every:
                found = _applied(reader, cast.agency, run, k, every[k])
                if k in acked:
                    assert found == "whole", (k, found)
                else:
                    assert found in ("whole", "absent"), (k, found)
        finally:
            reader.close()

        # a device sends again what was never answered: each is applied once, whole
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for k in sorted(set(every) - acked):
                answer = client.post(
                    receiver, content=_form(run, k, every[k]).encode(), headers=headers
                )
                assert answer.status_code == 201, answer.text[:300]
            token = cast.tokens["owner"]  # type: ignore[attr-defined]
            for k in sorted(every)[:: max(1, len(every) // 10)]:
                record = client.get(
                    f"/api/v1/cases/{run}-{k}-b", headers={"Authorization": f"Bearer {token}"}
                )
                assert record.status_code == 200, record.text[:300]
                body = record.json()
                assert body["properties"]["seq"] == str(k)
                assert [i["case_id"] for i in body["indices"]] == [f"{run}-{k}-a"]
        reader = open_store(database)
        try:
            for k, instance in every.items():
                assert _applied(reader, cast.agency, run, k, instance) == "whole", k
        finally:
            reader.close()
        assert "Traceback" not in server.output(), server.output()
    finally:
        server.stop()
        store.close()


def _applied(store: Store, agency_id: int, run: str, k: int, instance: str) -> str:
    """``whole`` when form ``k`` is stored once and both its cases carry it, ``absent`` when
    nothing of it is there, else what is half there."""
    submissions = store.value(
        "SELECT count(*) FROM submissions WHERE agency_id = ? AND instance_id = ?"
        " AND status = 'normal'",
        (agency_id, instance),
    )
    cases = [store.case_row(agency_id, f"{run}-{k}-{part}") for part in ("a", "b")]
    if not submissions and all(c is None for c in cases):
        return "absent"
    if submissions == 1 and all(c is not None and c.properties.get("seq") == str(k) for c in cases):
        return "whole"
    return f"half: {submissions} submissions, cases {[c and c.properties for c in cases]}"
