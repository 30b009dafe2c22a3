"""Agency settings, users and groups over HTTP: who may read and change what, and what it does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.cast import PASSWORD, HttpCast, expect
from tests.http.directory_cast import (
    API,
    admin_access,
    can_view,
    new_user,
    token_of,
    unique_name,
    walk_keys,
)

# -- agency ------------------------------------------------------------------------------------


def test_agency_is_read_by_everyone_and_settings_changed_by_admins(http: HttpCast) -> None:
    expect(http.get(None, f"{API}/agency"), 401, "insufficient_access")
    mine = expect(http.get("outsider", f"{API}/agency"), 200)
    assert mine["slug"] == http.slug and mine["settings"]["case_sharing"] is True
    assert expect(http.get("foreigner", f"{API}/agency"), 200)["slug"] == http.other_slug
    change = {"default_access": {"*": "private", "memo": "read"}, "child_access": "edit"}
    expect(http.call(None, "PATCH", f"{API}/agency/settings", change), 401)
    expect(http.call("outsider", "PATCH", f"{API}/agency/settings", change), 403)
    got = expect(http.call("admin", "PATCH", f"{API}/agency/settings", change), 200)
    assert got["settings"]["default_access"] == {"*": "private", "memo": "read"}
    assert got["settings"]["child_access"] == "edit"
    assert got["settings"]["case_sharing"] is True  # untouched settings keep their value
    other = expect(http.get("foreigner", f"{API}/agency"), 200)
    assert other["settings"]["child_access"] == "read"  # another agency is not touched
    events = http.cast.store.audit_events(http.cast.agency, limit=100_000)
    assert any(
        e.action == "agency.settings" and e.actor == f"user:{http.id('admin')}" for e in events
    )
    reset = {"default_access": "private", "child_access": "read"}
    assert expect(http.call("admin", "PATCH", f"{API}/agency/settings", reset), 200)["settings"][
        "default_access"
    ] == {"*": "private"}


@pytest.mark.parametrize(
    "change",
    [
        {"case_sharing": "yes"},
        {"child_access": "full"},
        {"default_access": {"patient": "everything"}},
        {"colour": "blue"},
        {"hierarchy_access": None},
    ],
)
def test_invalid_settings_are_refused(http: HttpCast, change: dict[str, Any]) -> None:
    expect(http.call("admin", "PATCH", f"{API}/agency/settings", change), 422, "validation_error")


# -- users -------------------------------------------------------------------------------------


def test_users_are_listed_to_everyone_of_the_agency_only(http: HttpCast) -> None:
    expect(http.get(None, f"{API}/users"), 401, "insufficient_access")
    listed = expect(http.get("outsider", f"{API}/users?limit=500"), 200)
    ids = {u["id"] for u in listed["items"]}
    assert {http.id(w) for w in ("owner", "colleague", "reader", "outsider", "admin")} <= ids
    assert http.id("foreigner") not in ids
    theirs = expect(http.get("foreigner", f"{API}/users?limit=500"), 200)
    assert http.id("foreigner") in {u["id"] for u in theirs["items"]}
    assert not ids & {u["id"] for u in theirs["items"]}
    assert not any("password" in k for k in walk_keys(listed))


def test_users_page_by_cursor_and_search(http: HttpCast) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        query = f"{API}/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = expect(http.get("reader", query), 200)
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 5
    found = expect(http.get("reader", f"{API}/users?q=OLGA"), 200)["items"]
    assert [u["id"] for u in found] == [http.id("owner")]
    expect(http.get("reader", f"{API}/users?limit=0"), 422, "validation_error")


def test_read_a_user_with_what_they_belong_to(http: HttpCast) -> None:
    path = f"{API}/users/{http.id('owner')}"
    got = admin_access(http, "GET", path, readable=True)
    assert got["username"] == "olga" and got["permissions"] == []
    assert f"group:{http.cast.group}" in {m["principal"] for m in got["member_of"]}
    assert got["case_sharing_owners"] == [f"group:{http.cast.group}"]
    assert not any("password" in k for k in walk_keys(got))
    expect(http.get("admin", f"{API}/users/{http.id('foreigner')}"), 404, "not_found")
    expect(http.get("admin", f"{API}/users/{2**62}"), 404, "not_found")
    expect(http.get("admin", f"{API}/users/{2**70}"), 422, "validation_error")


def test_admins_create_users_who_can_then_sign_in(http: HttpCast) -> None:
    name = unique_name()
    body = {"username": name, "full_name": "New Nurse", "password": PASSWORD}
    expect(http.post(None, f"{API}/users", body), 401)
    expect(http.post("outsider", f"{API}/users", body), 403, "insufficient_access")
    made = expect(http.post("admin", f"{API}/users", body), 201)
    assert made["username"] == name and made["active"] is True
    assert "password" not in made
    signed = http.client.post(
        f"{API}/session", json={"agency": http.slug, "username": name, "password": PASSWORD}
    )
    expect(signed, 200)
    expect(http.post("admin", f"{API}/users", body), 422, "validation_error")  # name taken
    # the same name is free in another agency
    expect(http.post("foreigner", f"{API}/users", {"username": name}), 201)
    without = new_user(http)
    assert without["locations"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"username": "has space"},
        {"username": ""},
        {"username": "x", "permissions": ["root"]},
        {"username": "x", "password": "short"},
        {"username": "x", "role_id": 2**62},
        {"username": "x", "locations": [2**62]},
        {"username": "x", "surprise": 1},
    ],
)
def test_invalid_new_users_are_refused(http: HttpCast, body: dict[str, Any]) -> None:
    expect(http.post("admin", f"{API}/users", body), 422, "validation_error")


def test_s_not_1_an_email_address_with_a_line_break_is_refused(http: HttpCast) -> None:
    """Emails go to the address as stored (S-NOT-1): one with a line break or another control
    character is a header injection ("Bcc: …") no message may carry, so creating or changing a
    user with one is 422 validation_error and nothing is stored."""
    user = new_user(http)
    path = f"{API}/users/{user['id']}"
    for email in (
        "nina@north.example\r\nBcc: eve@evil.example",
        "nina@north.example\nX: y",
        "nina\t@north.example",
        "nina\u2028@north.example",
    ):
        body = {"username": "nina-injected", "email": email}
        refusal = expect(http.post("admin", f"{API}/users", body), 422, "validation_error")
        assert "email" in refusal["message"], refusal
        refusal = expect(
            http.call("admin", "PATCH", path, {"email": email}), 422, "validation_error"
        )
        assert "email" in refusal["message"], refusal
    assert expect(http.get("admin", path), 200)["email"] == user["email"]
    names = {
        u["username"] for u in expect(http.get("admin", f"{API}/users?q=nina-inj"), 200)["items"]
    }
    assert "nina-injected" not in names


@pytest.mark.parametrize("odd", ["a\x00b", "\x1b[31mred", "a\x0bb", "O\ufffe"])
def test_names_with_control_characters_are_refused_alike_on_both_stores(
    http: HttpCast, odd: str
) -> None:
    """A user's full name, an API token's name and a saved filter's name hold text as a case's
    name does: a control character (NUL above all, which PostgreSQL cannot store and SQLite
    could) is 422 validation_error on both stores, with the same sentence, and nothing is
    stored — the same request never gets two answers from the two databases."""
    user = new_user(http, full_name="Nina Nurse")
    path = f"{API}/users/{user['id']}"
    for method, address, body in (
        ("POST", f"{API}/users", {"username": unique_name(), "full_name": odd}),
        ("PATCH", path, {"full_name": odd}),
        ("POST", f"{API}/tokens", {"name": odd}),
        ("POST", f"{API}/me/filters", {"name": odd, "filter": {}}),
    ):
        refusal = expect(http.call("admin", method, address, body), 422, "validation_error")
        assert "control character" in refusal["message"], refusal
    assert expect(http.get("admin", path), 200)["full_name"] == "Nina Nurse"
    names = [t["name"] for t in expect(http.get("admin", f"{API}/tokens"), 200)["items"]]
    assert odd not in names
    filters = expect(http.get("admin", f"{API}/me/filters"), 200)["items"]
    assert odd not in [f["name"] for f in filters]


def test_rule_criteria_and_saved_filters_with_a_nul_are_refused_alike_on_both_stores(
    http: HttpCast,
) -> None:
    """A sharing rule's conditions and a saved filter's fields are stored as JSON: a NUL in one
    of their texts was stored on SQLite and refused on PostgreSQL (whose jsonb cannot hold
    one). Both stores now answer 422 validation_error naming the control character, and store
    nothing; the same text without the NUL is taken."""
    odd = "pat\x00ient"
    rule = {"kind": "criteria", "grantee": f"group:{http.cast.group}", "level": "read"}
    conditions = (
        {"field": "case_type", "op": "equals", "value": odd},
        {"field": "case_type", "op": "in", "value": ["patient", odd]},
        {"field": "property", "op": "equals", "key": "district", "value": odd},
        {"all": [{"field": "name", "op": "starts_with", "value": odd}]},
    )
    rules_before = len(expect(http.get("admin", f"{API}/rules"), 200)["items"])
    for criteria in conditions:
        body = rule | {"name": unique_name(), "criteria": criteria}
        refusal = expect(http.post("admin", f"{API}/rules", body), 422, "validation_error")
        assert "control character" in refusal["message"], refusal
    assert len(expect(http.get("admin", f"{API}/rules"), 200)["items"]) == rules_before
    taken = rule | {
        "name": unique_name(),
        "criteria": {"field": "case_type", "op": "equals", "value": "patient"},
    }
    made = expect(http.post("admin", f"{API}/rules", taken), 201)
    change = taken | {"criteria": conditions[0]}
    change.pop("kind")
    refusal = expect(
        http.call("admin", "PATCH", f"{API}/rules/{made['id']}", change), 422, "validation_error"
    )
    assert "control character" in refusal["message"], refusal
    filters_before = len(expect(http.get("owner", f"{API}/me/filters"), 200)["items"])
    for fields in ({"q": odd}, {"case_type": odd}, {"owner": odd}):
        body = {"name": unique_name(), "filter": fields}
        refusal = expect(http.post("owner", f"{API}/me/filters", body), 422, "validation_error")
        assert "control character" in refusal["message"], refusal
    assert len(expect(http.get("owner", f"{API}/me/filters"), 200)["items"]) == filters_before


def test_admins_update_users(http: HttpCast) -> None:
    user = new_user(http)
    role = expect(http.post("admin", f"{API}/roles", {"name": "Nurse"}), 201)
    loc_type = expect(http.post("admin", f"{API}/location-types", {"name": "Ward"}), 201)
    loc = expect(
        http.post("admin", f"{API}/locations", {"name": "W1", "type_id": loc_type["id"]}), 201
    )
    change = {
        "full_name": " Nora Nurse ",
        "email": "nora@north.example",
        "role_id": role["id"],
        "permissions": ["view_all"],
        "locations": [loc["id"], loc["id"]],
    }
    path = f"{API}/users/{user['id']}"
    got = admin_access(http, "PATCH", path, change)
    assert got["full_name"] == "Nora Nurse" and got["email"] == "nora@north.example"
    assert got["role_id"] == role["id"] and got["permissions"] == ["view_all"]
    assert got["locations"] == [loc["id"]]
    cleared = expect(http.call("admin", "PATCH", path, {"role_id": None, "locations": []}), 200)
    assert cleared["role_id"] is None and cleared["locations"] == []
    assert cleared["permissions"] == ["view_all"]  # fields not given keep their value
    expect(http.call("admin", "PATCH", path, {"permissions": None}), 422, "validation_error")
    expect(http.call("admin", "PATCH", path, {"username": "x"}), 422, "validation_error")
    # a refused part leaves the whole change undone
    expect(
        http.call("admin", "PATCH", path, {"full_name": "Half", "role_id": 2**62}),
        422,
        "validation_error",
    )
    assert expect(http.get("admin", path), 200)["full_name"] == "Nora Nurse"
    foreign = f"{API}/users/{http.id('foreigner')}"
    expect(http.call("admin", "PATCH", foreign, {"full_name": "x"}), 404, "not_found")


def test_passwords_own_with_the_current_one_or_anyone_by_an_admin(http: HttpCast) -> None:
    user = new_user(http, password=PASSWORD)
    mine = token_of(http, user["id"])
    path = f"{API}/users/{user['id']}/password"
    new = "another good password"
    expect(http.client.put(path, json={"password": new}, headers=mine), 403, "insufficient_access")
    wrong = {"password": new, "current_password": "not it at all"}
    expect(http.client.put(path, json=wrong, headers=mine), 403, "insufficient_access")
    right = {"password": new, "current_password": PASSWORD}
    expect(http.client.put(path, json=right, headers=mine), 204)
    sign_in = {"agency": http.slug, "username": user["username"], "password": new}
    expect(http.client.post(f"{API}/session", json=sign_in), 200)
    expect(http.call(None, "PUT", path, {"password": new}), 401)
    expect(http.call("outsider", "PUT", path, {"password": new}), 403, "insufficient_access")
    expect(http.call("foreigner", "PUT", path, {"password": new}), 404, "not_found")
    expect(http.call("admin", "PUT", path, {"password": PASSWORD}), 204)
    expect(http.call("admin", "PUT", path, {"password": "short"}), 422, "validation_error")
    expect(http.client.post(f"{API}/session", json=sign_in), 401)


def test_deactivating_a_user_ends_all_access_and_activating_restores_it(http: HttpCast) -> None:
    """S-ACC-4."""
    user = new_user(http)
    case_id = http.new_case("For the temp")
    http.cast.svc.share(http.cast.agency, http.cast.owner, case_id, f"user:{user['id']}", "edit")
    mine = token_of(http, user["id"])
    assert can_view(http, user["id"], case_id)
    path = f"{API}/users/{user['id']}"
    got = admin_access(http, "POST", f"{path}/deactivate")
    assert got["active"] is False
    assert not can_view(http, user["id"], case_id)
    expect(http.client.get(f"{API}/agency", headers=mine), 401)
    inactive = expect(http.get("reader", f"{API}/users?active=false&limit=500"), 200)["items"]
    assert user["id"] in {u["id"] for u in inactive}
    got = admin_access(http, "POST", f"{path}/activate")
    assert got["active"] is True
    assert can_view(http, user["id"], case_id)
    expect(http.client.get(f"{API}/agency", headers=mine), 200)
    self_off = http.post("admin", f"{API}/users/{http.id('admin')}/deactivate")
    expect(self_off, 422, "validation_error")


# -- groups ------------------------------------------------------------------------------------


def test_groups_and_units_are_created_by_admins_and_read_by_all(http: HttpCast) -> None:
    body = {"name": "Team East", "kind": "unit", "case_sharing": True}
    made = admin_access(http, "POST", f"{API}/groups", body, ok=201, foreign_ids=False)
    assert made["kind"] == "unit" and made["case_sharing"] and made["members"] == []
    units = expect(http.get("reader", f"{API}/groups?kind=unit"), 200)["items"]
    assert made["id"] in {g["id"] for g in units} and all(g["kind"] == "unit" for g in units)
    assert http.cast.group not in {g["id"] for g in units}
    assert not expect(http.get("foreigner", f"{API}/groups"), 200)["items"]
    got = admin_access(http, "GET", f"{API}/groups/{http.cast.group}", readable=True)
    assert {m["member"] for m in got["members"]} == {
        f"user:{http.id('owner')}",
        f"user:{http.id('colleague')}",
    }
    expect(http.post("admin", f"{API}/groups", {"name": "x", "kind": "team"}), 422)
    expect(http.post("admin", f"{API}/groups", {"name": ""}), 422)


def test_members_are_added_nested_and_removed(http: HttpCast) -> None:
    outer = expect(http.post("admin", f"{API}/groups", {"name": "Outer"}), 201)
    inner = expect(http.post("admin", f"{API}/groups", {"name": "Inner"}), 201)
    person = new_user(http)
    outer_path, inner_path = f"{API}/groups/{outer['id']}", f"{API}/groups/{inner['id']}"
    member = {"member": f"user:{person['id']}"}
    got = admin_access(http, "POST", f"{inner_path}/members", member, ok=201)
    assert got["added"] is True and got["users"] == [person["id"]]
    again = expect(http.post("admin", f"{inner_path}/members", member), 200)
    assert again["added"] is False
    nested = expect(
        http.post("admin", f"{outer_path}/members", {"member": f"group:{inner['id']}"}), 201
    )
    assert nested["users"] == [person["id"]]  # members of nested groups count
    cycle = http.post("admin", f"{inner_path}/members", {"member": f"group:{outer['id']}"})
    expect(cycle, 422, "validation_error")
    for bad in (
        "user:x",
        "location:1",
        "user:²",
        f"user:{http.id('foreigner')}",
        "user:1" + "0" * 30,
    ):
        expect(http.post("admin", f"{inner_path}/members", {"member": bad}), 422)
    remove = f"{outer_path}/members/group:{inner['id']}"
    expect(http.call(None, "DELETE", remove), 401)
    expect(http.call("outsider", "DELETE", remove), 403, "insufficient_access")
    expect(http.call("foreigner", "DELETE", remove), 404, "not_found")
    expect(http.call("admin", "DELETE", remove), 204)
    expect(http.call("admin", "DELETE", remove), 404, "not_found")
    assert expect(http.get("reader", outer_path), 200)["users"] == []


def test_openapi_documents_every_directory_route(http: HttpCast) -> None:
    doc = expect(http.get(None, f"{API}/openapi.json"), 200)
    for path in ("/api/v1/users/{user_id}/password", "/api/v1/rules/{rule_id}", "/api/v1/agency"):
        assert path in doc["paths"]


def test_my_own_password_goes_through_the_service_my_account_uses(http: HttpCast) -> None:
    """Issue 9: the API and My account change one's own password the same way: an unchanged
    password is refused, and wrong current passwords count against the sign-in limit."""
    user = new_user(http, password=PASSWORD)
    mine = token_of(http, user["id"])
    path = f"{API}/users/{user['id']}/password"
    same = {"password": PASSWORD, "current_password": PASSWORD}
    expect(http.client.put(path, json=same, headers=mine), 422, "validation_error")
    wrong = {"password": "another good password", "current_password": "not it at all"}
    for _ in range(5):
        expect(http.client.put(path, json=wrong, headers=mine), 403, "insufficient_access")
    right = {"password": "another good password", "current_password": PASSWORD}
    locked = http.client.put(path, json=right, headers=mine)
    assert locked.status_code == 429 and "retry-after" in locked.headers
