"""Agreements (S-AG-1) and the outbox (S-NOT-1) over HTTP on both stores: admins of the two
agencies only; anyone else is 401 (anonymous), 403 (not an admin) or 404 (another agency)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.http.cast import HttpCast, expect

API = "/api/v1"


@pytest.fixture(scope="module")
def west(http: HttpCast) -> dict[str, Any]:
    """A third agency with an admin of its own, who is no side of north and south's agreements."""
    svc = http.cast.fresh()
    agency = svc.create_agency(f"west-{uuid.uuid4().hex[:8]}", "West")
    admin = svc.create_user(agency, None, "wes", email="wes@west.example", permissions=["admin"])
    http.tokens["west"] = svc.create_token(admin, "tests")[1]
    return {"id": agency, "admin": admin}


def _flow(http: HttpCast, agreement_id: int) -> dict[str, Any]:
    return expect(http.get("admin", f"{API}/agreements/{agreement_id}"), 200)["today"]


def test_s_ag_1_propose_answer_change_and_end_over_http(http: HttpCast, west: dict) -> None:
    body = {"partner": http.other_slug, "outbound_sharing": True, "inbound_sharing": True}
    expect(http.post(None, f"{API}/agreements", body), 401, "insufficient_access")
    expect(http.post("owner", f"{API}/agreements", body), 403, "insufficient_access")
    missing = {**body, "partner": "nowhere"}
    expect(http.post("admin", f"{API}/agreements", missing), 404, "not_found")
    expect(http.post("admin", f"{API}/agreements", {**body, "sharing": True}), 422)
    made = expect(http.post("admin", f"{API}/agreements", {**body, "end_date": "2099-12-31"}), 201)
    agreement_id = made["id"]
    assert made["status"] == "pending" and made["role"] == "proposer"
    assert made["partner"]["agency"]["slug"] == http.other_slug
    assert made["today"]["send_data"]["condition"] == "status"
    expect(http.post("admin", f"{API}/agreements", body), 409, "invalid_transition")
    path = f"{API}/agreements/{agreement_id}"
    # the partner sees it from its side; a third agency's admin does not see it at all
    theirs = expect(http.get("foreigner", path), 200)
    assert theirs["role"] == "partner" and theirs["partner"]["inbound_sharing"] is True
    expect(http.get("west", path), 404, "not_found")
    expect(http.post("west", f"{path}/approve"), 404, "not_found")
    expect(http.get("reader", path), 403, "insufficient_access")
    # only the partner answers; a rejection needs a reason
    expect(http.post("admin", f"{path}/approve"), 403, "insufficient_access")
    expect(http.post("foreigner", f"{path}/reject", {"reason": ""}), 422, "validation_error")
    approved = expect(http.post("foreigner", f"{path}/approve", {"outbound_search": True}), 200)
    assert approved["status"] == "approved" and approved["partner"]["outbound_search"] is True
    assert approved["today"]["send_data"]["allowed"] is True
    expect(http.post("foreigner", f"{path}/approve"), 409, "invalid_transition")
    expect(http.post("admin", f"{path}/withdraw"), 409, "invalid_transition")
    assert _flow(http, agreement_id)["search_them"]["condition"] == "outbound_off"
    # each side switches its own flags; the dates only narrow once approved
    off = expect(http.call("foreigner", "PATCH", path, {"inbound_sharing": False}), 200)
    assert off["partner"]["inbound_sharing"] is False
    assert _flow(http, agreement_id)["send_data"]["condition"] == "inbound_off"
    wider = expect(http.call("admin", "PATCH", path, {"end_date": None}), 422, "validation_error")
    assert "propose a new agreement" in wider["message"]
    narrow = expect(http.call("admin", "PATCH", path, {"end_date": "2098-01-01"}), 200)
    assert narrow["end_date"] == "2098-01-01"
    bad_date = expect(http.call("admin", "PATCH", path, {"end_date": "soon"}), 422)
    assert bad_date["code"] == "validation_error"
    mine = expect(http.get("admin", f"{API}/agreements?status=approved"), 200)["items"]
    assert agreement_id in [a["id"] for a in mine]
    assert expect(http.get("west", f"{API}/agreements"), 200)["items"] == []
    ended = expect(http.post("foreigner", f"{path}/end", {"reason": "Project over"}), 200)
    assert ended["status"] == "ended" and ended["reason"] == "Project over"
    assert _flow(http, agreement_id)["send_data"]["condition"] == "status"  # ended


def test_s_ag_1_withdraw_and_reject_over_http(http: HttpCast) -> None:
    body = {"partner": http.other_slug}
    first = expect(http.post("admin", f"{API}/agreements", body), 201)["id"]
    expect(http.post("foreigner", f"{API}/agreements/{first}/withdraw"), 403)
    gone = expect(http.post("admin", f"{API}/agreements/{first}/withdraw", {"reason": "Oops"}), 200)
    assert gone["status"] == "withdrawn"
    second = expect(http.post("admin", f"{API}/agreements", body), 201)["id"]
    # §14: a reason with a control character (NUL: PostgreSQL refused it with a generic
    # sentence, SQLite stored it and mailed it) is refused alike on both stores
    for bad in ("Not\x00now", "Not\x07now"):
        refusal = expect(
            http.post("foreigner", f"{API}/agreements/{second}/reject", {"reason": bad}),
            422,
            "validation_error",
        )
        assert "control character" in refusal["message"], refusal
    no = expect(
        http.post("foreigner", f"{API}/agreements/{second}/reject", {"reason": "Not now"}), 200
    )
    assert no["status"] == "rejected" and no["reason"] == "Not now"


def test_s_ag_1_admins_list_the_agencies_they_may_propose_to(http: HttpCast, west: dict) -> None:
    expect(http.get("owner", f"{API}/agencies"), 403, "insufficient_access")
    slugs = {a["slug"] for a in expect(http.get("admin", f"{API}/agencies"), 200)["items"]}
    assert http.other_slug in slugs and http.slug not in slugs


def test_s_not_1_admins_see_their_agencys_outbox_and_retry_a_failure(http: HttpCast) -> None:
    case_id = http.new_case("Outbox")
    expect(
        http.post("owner", f"{API}/cases/{case_id}/assignees", {"user_id": http.id("outsider")}),
        201,
    )
    expect(http.get(None, f"{API}/outbox"), 401, "insufficient_access")
    expect(http.get("owner", f"{API}/outbox"), 403, "insufficient_access")
    page = expect(http.get("admin", f"{API}/outbox?kind=case_assigned&limit=1"), 200)
    message = page["items"][0]
    assert message["recipient_user_id"] == http.id("outsider")
    assert message["about"] == f"case:{case_id}" and message["status"] == "pending"
    assert set(page["counts"]) == {"pending", "sent", "failed", "skipped"}
    one = f"{API}/outbox/{message['id']}"
    assert expect(http.get("admin", one), 200)["message_id"] == message["message_id"]
    expect(http.get("foreigner", one), 404, "not_found")
    expect(http.post("admin", f"{one}/retry"), 409, "invalid_transition")
    http.cast.store.mark_failed(message["id"], "550 5.1.1 no such user")
    failed = expect(http.get("admin", f"{API}/outbox?status=failed"), 200)["items"]
    assert [m["last_error"] for m in failed if m["id"] == message["id"]] == [
        "550 5.1.1 no such user"
    ]
    expect(http.post("owner", f"{one}/retry"), 403, "insufficient_access")
    assert expect(http.post("admin", f"{one}/retry"), 200)["status"] == "pending"
    expect(http.get("admin", f"{API}/outbox?status=lost"), 422, "validation_error")
