"""Issue 12 items 3 and 5: two ``caseshare serve`` processes on one PostgreSQL database. What is
taken away through one — a manual share, a membership, a rule — is in force at the very next
request to the other, whose agency context is patched from the change log, never served stale.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from caseshare.store import open_store
from tests.http.cast import build_http_cast
from tests.http.live import LiveServer, serving
from tests.services.cast import Cast

API = "/api/v1"


@pytest.fixture
def servers(
    fresh_postgres_url: str, tmp_path: Path
) -> Iterator[tuple[Cast, httpx.Client, httpx.Client]]:
    store = open_store(fresh_postgres_url)
    cast = build_http_cast(store)
    with (
        serving(fresh_postgres_url, tmp_path / "one.log") as one,
        serving(fresh_postgres_url, tmp_path / "two.log") as two,
        httpx.Client(base_url=one.url, timeout=30) as first,
        httpx.Client(base_url=two.url, timeout=30) as second,
    ):
        yield cast, first, second
        for server in (one, two):
            assert "Traceback" not in server.output(), server.output()
    store.close()


def _as(cast: Cast, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {cast.tokens[who]}"}  # type: ignore[attr-defined]


def _sees(client: httpx.Client, cast: Cast, who: str) -> int:
    return client.get(f"{API}/cases/{cast.case}", headers=_as(cast, who)).status_code


def test_s_shr_1_a_share_revoked_through_one_server_is_refused_at_the_next_request_to_the_other(
    servers: tuple[Cast, httpx.Client, httpx.Client],
) -> None:
    cast, first, second = servers
    assert _sees(second, cast, "reader") == 200  # the second server has the case in hand
    shares = first.get(f"{API}/cases/{cast.case}/shares", headers=_as(cast, "owner")).json()
    (share,) = [s for s in shares["items"] if s["grantee"] == f"user:{cast.reader}"]
    answer = first.delete(f"{API}/shares/{share['id']}", headers=_as(cast, "owner"))
    assert answer.status_code == 204, answer.text
    refused = second.get(f"{API}/cases/{cast.case}", headers=_as(cast, "reader"))
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_s_own_2_a_membership_removed_through_one_server_is_in_force_at_the_next_request_to_the_other(
    servers: tuple[Cast, httpx.Client, httpx.Client],
) -> None:
    cast, first, second = servers
    assert _sees(second, cast, "colleague") == 200
    answer = first.delete(
        f"{API}/groups/{cast.group}/members/user:{cast.colleague}", headers=_as(cast, "admin")
    )
    assert answer.status_code == 204, answer.text
    assert _sees(second, cast, "colleague") == 404
    assert _sees(first, cast, "colleague") == 404
    # and given back, at once too
    answer = second.post(
        f"{API}/groups/{cast.group}/members",
        json={"member": f"user:{cast.colleague}"},
        headers=_as(cast, "admin"),
    )
    assert answer.status_code == 201, answer.text
    assert _sees(first, cast, "colleague") == 200


def test_s_rule_1_a_rule_deactivated_through_one_server_stops_granting_at_the_next_request_to_the_other(
    servers: tuple[Cast, httpx.Client, httpx.Client],
) -> None:
    cast, first, second = servers
    rule = cast.svc.add_rule(
        cast.agency,
        cast.admin,
        "Outsider reads the team's cases",
        "owner",
        f"user:{cast.outsider}",
        "read",
        owner_in=cast.group_principal,
    )
    assert _sees(second, cast, "outsider") == 200
    cast.svc.set_rule_active(cast.agency, cast.admin, rule, False)  # a third process, even
    assert _sees(second, cast, "outsider") == 404
    assert _sees(first, cast, "outsider") == 404


def test_two_servers_started_together_on_a_new_database_both_serve(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    """Both bring the new database up to date at start: one applies the migrations, the other
    waits for it and finds them applied; neither stops with an error."""
    servers = [LiveServer(fresh_postgres_url, tmp_path / f"{n}.log") for n in ("one", "two")]
    barrier = threading.Barrier(len(servers))

    def start(server: LiveServer) -> None:
        barrier.wait()
        server.start()

    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(start, servers))
        for server in servers:
            assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
            assert "Traceback" not in server.output(), server.output()
    finally:
        for server in servers:
            server.stop()
