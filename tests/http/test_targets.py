"""Targets over HTTP (SPEC §2) on both stores, with the standard cast's four access tests on
every endpoint: anonymous 401, outsider and other agency 404, read-only 403 on writes."""

from __future__ import annotations

from typing import Any

from tests.http.cast import HttpCast, expect, standard_access

API = "/api/v1"
PHONE = {"type": "phone", "value": "+44 20 7946-0000", "deconfliction": True}


def _target(http: HttpCast, case_id: str, **body: Any) -> dict[str, Any]:
    payload = {"kind": "suspect", "name": "John Doe", "identifiers": [PHONE], **body}
    return expect(http.post("owner", f"{API}/cases/{case_id}/targets", payload), 201)


def test_targets_list_and_add_with_the_standard_access_tests(http: HttpCast) -> None:
    case_id = http.new_case("Targets")
    path = f"{API}/cases/{case_id}/targets"
    body = {"kind": "witness", "name": "Ann Other", "identifiers": [PHONE]}
    standard_access(http, "POST", path, body, write=True, ok=201)
    standard_access(http, "GET", path, write=False)
    items = expect(http.get("reader", path), 200)["items"]
    assert [(t["kind"], t["name"]) for t in items] == [("witness", "Ann Other")]
    ident = items[0]["identifiers"][0]
    assert ident["normalized"] == "442079460000" and ident["deconfliction"] is True
    assert items[0]["added_by"] == f"user:{http.id('owner')}"


def test_target_read_change_and_remove_with_the_standard_access_tests(http: HttpCast) -> None:
    case_id = http.new_case("Targets 2")
    t = _target(http, case_id)
    path = f"{API}/cases/{case_id}/targets/{t['id']}"
    standard_access(http, "GET", path, write=False)
    standard_access(http, "PATCH", path, {"kind": "victim"}, write=True)
    assert expect(http.get("reader", path), 200)["kind"] == "victim"
    standard_access(http, "DELETE", path, write=True, ok=204)
    expect(http.get("owner", path), 404, "not_found")


def test_target_identifiers_with_the_standard_access_tests(http: HttpCast) -> None:
    case_id = http.new_case("Targets 3")
    t = _target(http, case_id)
    path = f"{API}/cases/{case_id}/targets/{t['id']}/identifiers"
    body = {"type": "email", "value": "JD@Example.org", "deconfliction": True}
    standard_access(http, "POST", path, body, write=True, ok=201)
    added = expect(http.get("owner", f"{API}/cases/{case_id}/targets/{t['id']}"), 200)
    email = added["identifiers"][-1]
    assert email["normalized"] == "jd@example.org"
    one = f"{path}/{email['id']}"
    standard_access(http, "PATCH", one, {"deconfliction": False}, write=True)
    changed = expect(http.get("owner", f"{API}/cases/{case_id}/targets/{t['id']}"), 200)
    assert changed["identifiers"][-1]["deconfliction"] is False
    standard_access(http, "DELETE", one, write=True, ok=204)
    left = expect(http.get("owner", f"{API}/cases/{case_id}/targets/{t['id']}"), 200)
    assert [i["type"] for i in left["identifiers"]] == ["phone"]


def test_target_refusals_name_the_problem(http: HttpCast) -> None:
    case_id = http.new_case("Targets 4")
    path = f"{API}/cases/{case_id}/targets"
    bad_kind = expect(http.post("owner", path, {"kind": "villain", "name": "X"}), 422)
    assert bad_kind["code"] == "validation_error" and "suspect" in bad_kind["message"]
    bad_phone = {"kind": "suspect", "name": "X", "identifiers": [{"type": "phone", "value": "1"}]}
    assert "between 3 and 20 digits" in expect(http.post("owner", path, bad_phone), 422)["message"]
    unknown = expect(http.post("owner", path, {"kind": "suspect", "name": "X", "age": 3}), 422)
    assert unknown["code"] == "validation_error"
    # an outsider sending a bad body still learns only "not found" … after the shape check
    expect(http.post("outsider", path, {"kind": "villain", "name": "X"}), 404, "not_found")
    expect(http.get("owner", f"{path}/999999"), 404, "not_found")
    t = _target(http, case_id)
    other = http.new_case("Targets 5")
    expect(http.get("owner", f"{API}/cases/{other}/targets/{t['id']}"), 404, "not_found")
    assert len(expect(http.get("owner", path), 200)["items"]) == 1


def test_target_changes_show_in_the_case_history(http: HttpCast) -> None:
    case_id = http.new_case("Targets 6")
    _target(http, case_id)
    history = expect(http.get("owner", f"{API}/cases/{case_id}/history"), 200)
    actions = [e["action"] for e in history["items"]]
    assert "target.create" in actions
