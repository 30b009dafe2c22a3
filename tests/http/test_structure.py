"""Locations, roles, team roles, sharing rules and the case-sharing report over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.core.rules import parse_criteria
from tests.http.cast import HttpCast, expect
from tests.http.directory_cast import API, admin_access, can_view, new_user, report_row, unique_name

# -- locations and roles -----------------------------------------------------------------------


def test_locations_are_created_listed_and_archived(http: HttpCast) -> None:
    body = {"name": "Clinic", "shares_cases": True}
    kind = admin_access(http, "POST", f"{API}/location-types", body, ok=201, foreign_ids=False)
    assert kind["shares_cases"] and not kind["view_descendants"]
    types = expect(http.get("reader", f"{API}/location-types"), 200)["items"]
    assert kind["id"] in {t["id"] for t in types}
    new = {"name": "Clinic A", "type_id": kind["id"]}
    loc = admin_access(http, "POST", f"{API}/locations", new, ok=201, foreign_ids=False)
    child = expect(
        http.post("admin", f"{API}/locations", new | {"name": "A1", "parent_id": loc["id"]}), 201
    )
    assert child["parent_id"] == loc["id"] and child["archived"] is False
    listed = expect(http.get("outsider", f"{API}/locations"), 200)["items"]
    assert {loc["id"], child["id"]} <= {x["id"] for x in listed}
    assert not expect(http.get("foreigner", f"{API}/locations"), 200)["items"]
    # a user in a case-owning location: the location owns their new cases until it is archived
    person = new_user(http, locations=[child["id"]])
    assert report_row(http, person["id"]) is None
    path = f"{API}/locations/{child['id']}"
    archived = admin_access(http, "PATCH", path, {"archived": True})
    assert archived["archived"] is True
    assert report_row(http, person["id"]) is not None
    live = expect(http.get("reader", f"{API}/locations?archived=false"), 200)["items"]
    assert child["id"] not in {x["id"] for x in live}
    expect(http.call("admin", "PATCH", path, {"archived": False}), 200)
    assert report_row(http, person["id"]) is None
    wrong_type = {"name": "x", "type_id": 2**62}
    expect(http.post("admin", f"{API}/locations", wrong_type), 422, "validation_error")


def test_roles_form_the_hierarchy(http: HttpCast) -> None:
    """S-HIER-1: a manager above the owner's role has full access to the owner's own cases."""
    boss = admin_access(http, "POST", f"{API}/roles", {"name": "Boss"}, ok=201, foreign_ids=False)
    worker = expect(
        http.post("admin", f"{API}/roles", {"name": "Worker", "parent_id": boss["id"]}), 201
    )
    assert worker["parent_id"] == boss["id"]
    roles = expect(http.get("reader", f"{API}/roles"), 200)["items"]
    assert {boss["id"], worker["id"]} <= {r["id"] for r in roles}
    manager = new_user(http, role_id=boss["id"])
    staff = new_user(http)
    case_id = http.cast.svc.create_case(
        http.cast.agency, staff["id"], "patient", "Staff's own", owner=f"user:{staff['id']}"
    )
    assert not can_view(http, manager["id"], case_id)
    expect(
        http.call("admin", "PATCH", f"{API}/users/{staff['id']}", {"role_id": worker["id"]}), 200
    )
    assert can_view(http, manager["id"], case_id)
    bad = http.post("admin", f"{API}/roles", {"name": "x", "parent_id": 2**62})
    expect(bad, 422, "validation_error")


# -- team roles ----------------------------------------------------------------------------------


def test_team_roles_are_created_changed_and_deleted(http: HttpCast) -> None:
    body = {"name": unique_name("Nurse "), "level": "read"}
    role = admin_access(http, "POST", f"{API}/team-roles", body, ok=201, foreign_ids=False)
    assert role["level"] == "read"
    listed = expect(http.get("reader", f"{API}/team-roles"), 200)["items"]
    assert role["id"] in {r["id"] for r in listed}
    expect(http.post("admin", f"{API}/team-roles", body), 422, "validation_error")  # same name
    expect(http.post("admin", f"{API}/team-roles", {"name": "x", "level": "full"}), 422)
    path = f"{API}/team-roles/{role['id']}"
    assert admin_access(http, "PATCH", path, {"level": "edit"})["level"] == "edit"
    # a role in use is replaced, never just deleted (S-TEAM-1)
    spare = expect(
        http.post("admin", f"{API}/team-roles", {"name": unique_name(), "level": "none"}), 201
    )
    case_id = http.new_case("Team case")
    member = http.id("outsider")
    http.cast.svc.team_add(http.cast.agency, http.cast.owner, case_id, member, role["id"])
    assert http.cast.fresh().check(member, "edit", case_id).allowed
    expect(http.call("admin", "DELETE", path), 422, "validation_error")
    expect(http.call("admin", "DELETE", f"{path}?replacement={role['id']}"), 422)
    expect(http.call(None, "DELETE", f"{path}?replacement={spare['id']}"), 401)
    expect(http.call("outsider", "DELETE", f"{path}?replacement={spare['id']}"), 403)
    expect(http.call("foreigner", "DELETE", f"{path}?replacement={spare['id']}"), 404)
    expect(http.call("admin", "DELETE", f"{path}?replacement={spare['id']}"), 204)
    assert not can_view(http, member, case_id)  # the replacement gives none
    expect(http.call("admin", "DELETE", path), 404, "not_found")


# -- sharing rules -------------------------------------------------------------------------------


def test_owner_rules_share_at_once_and_stop_at_once(http: HttpCast) -> None:
    """S-RULE-1: an owner rule on a group covers its cases; deactivating or deleting ends it."""
    person = new_user(http)
    body = {
        "name": "Case team to the new one",
        "kind": "owner",
        "owner_in": f"group:{http.cast.group}",
        "grantee": f"user:{person['id']}",
        "level": "read",
    }
    assert not can_view(http, person["id"], http.cast.case)
    rule = admin_access(http, "POST", f"{API}/rules", body, ok=201, foreign_ids=False)
    assert rule["active"] and rule["level"] == "read" and rule["criteria"] is None
    assert can_view(http, person["id"], http.cast.case)
    expect(http.get("outsider", f"{API}/rules"), 403, "insufficient_access")
    listed = expect(http.get("admin", f"{API}/rules"), 200)["items"]
    assert rule["id"] in {r["id"] for r in listed}
    assert not expect(http.get("foreigner", f"{API}/rules"), 200)["items"]
    path = f"{API}/rules/{rule['id']}"
    assert admin_access(http, "PATCH", path, {"active": False})["active"] is False
    assert not can_view(http, person["id"], http.cast.case)
    expect(http.call("admin", "PATCH", path, {"active": True}), 200)
    assert can_view(http, person["id"], http.cast.case)
    admin_access(http, "DELETE", path, ok=204)
    assert not can_view(http, person["id"], http.cast.case)
    expect(http.call("admin", "DELETE", path), 404, "not_found")


def test_criteria_rules_and_their_limit(http: HttpCast) -> None:
    person = new_user(http)
    case_id = http.new_case("Criteria case", properties={"district": "east"})
    body = {
        "name": "East district",
        "kind": "criteria",
        "criteria": {"case_type": "patient", "properties": {"district": ["east", "north"]}},
        "grantee": f"user:{person['id']}",
        "level": "edit",
    }
    rule = expect(http.post("admin", f"{API}/rules", body), 201)
    assert rule["criteria"]["all"]
    assert http.cast.fresh().check(person["id"], "edit", case_id).allowed
    assert not can_view(http, person["id"], http.cast.case)
    svc = http.cast.fresh()
    existing = sum(r.kind == "criteria" for r in svc.store.rules(http.cast.agency))
    made = [
        svc.add_rule(
            http.cast.agency,
            None,
            f"filler {i}",
            "criteria",
            f"user:{person['id']}",
            "read",
            criteria=parse_criteria({"case_type": "none-such"}),
        )
        for i in range(50 - existing)
    ]
    refused = expect(http.post("admin", f"{API}/rules", body), 422, "validation_error")
    assert "50" in refused["message"]
    for rule_id in [*made, rule["id"]]:
        expect(http.call("admin", "DELETE", f"{API}/rules/{rule_id}"), 204)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"grantee": "user:2305843009213693951"}, "invalid_grantee"),
        ({"grantee": "nobody"}, "invalid_grantee"),
        ({"level": "full"}, "validation_error"),
        ({"criteria": {"colour": "red"}}, "validation_error"),
        ({"criteria": {}}, "validation_error"),
        ({"criteria": None}, "validation_error"),
        ({"owner_in": "group:1"}, "validation_error"),
        ({"kind": "owner"}, "validation_error"),
        ({"criteria": {"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}}, "validation_error"),
    ],
)
def test_invalid_rules_are_refused(http: HttpCast, change: dict[str, Any], code: str) -> None:
    body = {
        "name": "bad",
        "kind": "criteria",
        "criteria": {"case_type": "patient"},
        "grantee": f"user:{http.id('reader')}",
        "level": "read",
    } | change
    expect(http.post("admin", f"{API}/rules", body), 422, code)


def test_absurdly_deep_criteria_are_refused_not_crashed(http: HttpCast) -> None:
    for depth in (50, 5000):  # 5000 is too deep for the JSON parser itself: 422 all the same
        criteria = '{"any": [' * depth + '{"case_type": "patient"}' + "]}" * depth
        reader = http.id("reader")
        body = (
            f'{{"name": "deep", "kind": "criteria", "grantee": "user:{reader}",'
            f' "level": "read", "criteria": {criteria}}}'
        )
        headers = {"Content-Type": "application/json"}
        sent = http.call("admin", "POST", f"{API}/rules", content=body, headers=headers)
        expect(sent, 422, "validation_error")


def test_rules_cannot_name_another_agencys_principals(http: HttpCast) -> None:
    body = {
        "name": "leak",
        "kind": "owner",
        "owner_in": f"group:{http.cast.group}",
        "grantee": f"user:{http.id('foreigner')}",
        "level": "read",
    }
    expect(http.post("admin", f"{API}/rules", body), 422, "invalid_grantee")
    expect(http.post("foreigner", f"{API}/rules", body), 422, "invalid_grantee")


# -- the case-sharing report (S-CRT-4) -----------------------------------------------------------


def test_case_sharing_report_lists_users_not_in_exactly_one_owner(http: HttpCast) -> None:
    expect(http.get(None, f"{API}/reports/case-sharing"), 401)
    expect(http.get("outsider", f"{API}/reports/case-sharing"), 403, "insufficient_access")
    assert report_row(http, http.id("owner")) is None  # in exactly one case-sharing group
    lonely = report_row(http, http.id("outsider"))
    assert lonely is not None and lonely["owners"] == [] and "no case-sharing" in lonely["problem"]
    twice = new_user(http)
    second = expect(http.post("admin", f"{API}/groups", {"name": "B", "case_sharing": True}), 201)
    for group_id in (http.cast.group, second["id"]):
        member = {"member": f"user:{twice['id']}"}
        expect(http.post("admin", f"{API}/groups/{group_id}/members", member), 201)
    row = report_row(http, twice["id"])
    assert row is not None and "several" in row["problem"]
    assert {o["principal"] for o in row["owners"]} == {
        f"group:{http.cast.group}",
        f"group:{second['id']}",
    }
    assert all(o["name"] for o in row["owners"])
    theirs = expect(http.get("foreigner", f"{API}/reports/case-sharing"), 200)["items"]
    assert http.id("foreigner") in {r["user_id"] for r in theirs}
    assert http.id("outsider") not in {r["user_id"] for r in theirs}
    expect(
        http.call("admin", "DELETE", f"{API}/groups/{second['id']}/members/user:{twice['id']}"), 204
    )
