"""The share API (S-SHR-1…8), assignments (S-ASG-1), case teams (S-TEAM-1) and user search."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.cast import HttpCast, expect, standard_access

API = "/api/v1"


def _user(http: HttpCast, who: str) -> str:
    return f"user:{http.id(who)}"


def _manual_id(http: HttpCast, case_id: str, who: str) -> int:
    rows = expect(http.get("owner", f"{API}/cases/{case_id}/shares"), 200)["items"]
    found = [r for r in rows if r["row_cause"] == "manual" and r["grantee"] == _user(http, who)]
    assert len(found) == 1, rows
    return int(found[0]["id"])


@pytest.fixture(scope="module")
def roles(http: HttpCast) -> dict[str, int]:
    """Team roles of agency north: viewer (read), editor (edit), observer (none)."""
    svc = http.cast.fresh()
    return {
        name: svc.create_team_role(http.cast.agency, None, f"{name}-{http.id('owner')}", level)
        for name, level in (("viewer", "read"), ("editor", "edit"), ("observer", "none"))
    }


# -- describe --------------------------------------------------------------------------------------


def test_describe_lists_fields_levels_and_causes(http: HttpCast) -> None:
    expect(http.get(None, f"{API}/shares/describe"), 401, "insufficient_access")
    body = expect(http.get("reader", f"{API}/shares/describe"), 200)
    assert body["createable"] == ["access_level", "case_id", "grantee", "row_cause"]
    assert body["updateable"] == ["access_level"]
    assert body["levels"]["manual"] == ["read", "edit"]
    causes = {c["cause"]: c for c in body["row_causes"]}
    assert causes["manual"]["writable"] and causes["manual"]["stored"]
    assert causes["assigned"]["stored"] and not causes["assigned"]["writable"]
    assert not causes["rule"]["stored"] and not causes["owner"]["writable"]
    assert body["fields"]["id"]["create"] is False


# -- create (upsert) ------------------------------------------------------------------------------


def test_create_share_access_and_upsert(http: HttpCast) -> None:
    case_id = http.new_case("Share me")
    path = f"{API}/cases/{case_id}/shares"
    body = {"grantee": _user(http, "outsider"), "level": "read"}
    standard_access(http, "POST", path, body, write=True, ok=201)
    first = expect(http.get("owner", path), 200)["items"]
    mine = [r for r in first if r["grantee"] == _user(http, "outsider")]
    assert [(r["row_cause"], r["access_level"], r["derived"]) for r in mine] == [
        ("manual", "read", False)
    ]
    # S-SHR-3: the same grantee again updates the one share, keeping its id: 200, not 201
    again = expect(http.post("colleague", path, {"grantee": body["grantee"], "level": "edit"}), 200)
    assert again["id"] == mine[0]["id"] and again["access_level"] == "edit"
    assert again["created_by"] == _user(http, "owner")
    assert again["last_modified_by"] == _user(http, "colleague")
    rows = expect(http.get("owner", path), 200)["items"]
    assert sum(r["row_cause"] == "manual" and r["grantee"] == body["grantee"] for r in rows) == 1
    # the grantee now has edit access: they see the case's shares but cannot share (S-SHR-1)
    expect(http.get("outsider", path), 200)
    expect(http.post("outsider", path, {"grantee": _user(http, "admin"), "level": "read"}), 403)


def test_create_share_accepts_access_level_and_groups(http: HttpCast) -> None:
    case_id = http.new_case("Group share")
    svc = http.cast.fresh()
    team = svc.create_group(http.cast.agency, None, f"Readers {case_id}")
    made = expect(
        http.post(
            "owner",
            f"{API}/cases/{case_id}/shares",
            {"grantee": f"group:{team}", "access_level": "edit"},
        ),
        201,
    )
    assert made["grantee"] == f"group:{team}" and made["access_level"] == "edit"
    assert made["row_cause"] == "manual" and made["case_id"] == case_id


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"grantee": "OUTSIDER", "level": "full"}, 422, "invalid_access_level"),
        ({"grantee": "OUTSIDER", "level": "none"}, 422, "invalid_access_level"),
        ({"grantee": "OUTSIDER", "level": "owner"}, 422, "invalid_access_level"),
        ({"grantee": "OUTSIDER", "level": "read", "row_cause": "rule"}, 422, "reserved_row_cause"),
        ({"grantee": "GROUP", "level": "read"}, 422, "cannot_share_with_owner"),
        ({"grantee": "FOREIGNER", "level": "read"}, 422, "invalid_grantee"),
        ({"grantee": "user:999999999", "level": "read"}, 422, "invalid_grantee"),
        ({"grantee": "nobody", "level": "read"}, 422, "invalid_grantee"),
        ({"grantee": "OUTSIDER", "level": "read", "extra": 1}, 422, "validation_error"),
        ({"grantee": "OUTSIDER"}, 422, "validation_error"),
        ({"grantee": "x" * 101, "level": "read"}, 422, "validation_error"),
    ],
)
def test_create_share_refusals(
    http: HttpCast, body: dict[str, Any], status: int, code: str
) -> None:
    names = {
        "OUTSIDER": _user(http, "outsider"),
        "FOREIGNER": _user(http, "foreigner"),
        "GROUP": f"group:{http.cast.group}",
    }
    sent = body | {"grantee": names.get(body["grantee"], body["grantee"])}
    expect(http.post("owner", f"{API}/cases/{http.cast.case}/shares", sent), status, code)


def test_share_must_give_more_than_the_default(http: HttpCast) -> None:
    """S-SHR-2: read on a case type everyone reads already is access_level_too_low."""
    svc = http.cast.fresh()
    svc.update_settings(
        http.cast.agency, None, {"default_access": {"*": "private", "referral": "read"}}
    )
    case_id = svc.create_case(http.cast.agency, http.cast.owner, "referral", "Default read")
    path = f"{API}/cases/{case_id}/shares"
    refused = expect(
        http.post("owner", path, {"grantee": _user(http, "outsider"), "level": "read"}),
        422,
        "access_level_too_low",
    )
    assert refused["details"]["default_access"] == "read"
    expect(http.post("owner", path, {"grantee": _user(http, "outsider"), "level": "edit"}), 201)


# -- listing and query ----------------------------------------------------------------------------


def test_case_shares_lists_stored_and_derived_rows(http: HttpCast) -> None:
    case_id = http.new_case("Listed")
    path = f"{API}/cases/{case_id}/shares"
    standard_access(http, "GET", path, write=False)
    rows = expect(http.get("reader", path), 200)["items"]
    by_cause: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_cause.setdefault(r["row_cause"], []).append(r)
    owners = {r["grantee"] for r in by_cause["owner"]}
    assert owners == {_user(http, "owner"), _user(http, "colleague")}
    assert all(r["derived"] and r["id"] is None and r["path"] for r in by_cause["owner"])
    assert {r["grantee"] for r in by_cause["permission"]} == {_user(http, "admin")}
    [manual] = by_cause["manual"]
    assert manual["grantee"] == _user(http, "reader") and not manual["derived"]
    assert manual["id"] and manual["access_level"] == "read"
    assert all(_user(http, "outsider") != r["grantee"] for r in rows)
    stored_only = expect(http.get("reader", path, params={"derived": "false"}), 200)["items"]
    assert [r["row_cause"] for r in stored_only] == ["manual"]


def test_foreigner_sees_only_his_own_case_of_the_same_id(http: HttpCast) -> None:
    rows = expect(http.get("foreigner", f"{API}/cases/{http.cast.case}/shares"), 200)["items"]
    assert rows and all(r["grantee"] == _user(http, "foreigner") for r in rows)
    assert all(r["row_cause"] != "manual" for r in rows)


def test_query_filters_by_case_grantee_cause_and_level(http: HttpCast) -> None:
    case_id = http.new_case("Queried")
    http.cast.fresh().assign(http.cast.agency, http.cast.owner, case_id, http.id("admin"))
    q = f"{API}/shares"
    expect(http.get(None, q), 401, "insufficient_access")
    expect(http.get("outsider", q, params={"case": case_id}), 404, "not_found")
    expect(http.get("foreigner", q, params={"case": case_id}), 404, "not_found")
    owners = expect(http.get("reader", q, params={"case": case_id, "cause": "owner"}), 200)
    assert {r["grantee"] for r in owners["items"]} == {
        _user(http, "owner"),
        _user(http, "colleague"),
    }
    mine = expect(
        http.get("owner", q, params={"case": case_id, "grantee": _user(http, "admin")}), 200
    )["items"]
    assert {(r["row_cause"], r["derived"]) for r in mine} == {
        ("assigned", False),
        ("permission", True),
    }
    reads = expect(http.get("owner", q, params={"case": case_id, "level": "read"}), 200)["items"]
    assert [r["grantee"] for r in reads] == [_user(http, "reader")]
    expect(http.get("owner", q, params={"cause": "bogus"}), 422, "validation_error")
    expect(http.get("owner", q, params={"level": "max"}), 422, "validation_error")
    expect(http.get("owner", q, params={"grantee": "nobody"}), 422, "validation_error")
    expect(http.get("owner", q, params={"cursor": "9" * 30}), 422, "validation_error")


def test_query_across_cases_shows_only_visible_cases_and_pages(http: HttpCast) -> None:
    q = f"{API}/shares"
    mine = http.new_case("Across")
    hidden = http.cast.fresh().create_case(
        http.cast.agency, http.cast.owner, "patient", "Hidden", owner=_user(http, "owner")
    )
    http.cast.fresh().share(
        http.cast.agency, http.cast.owner, hidden, _user(http, "colleague"), "edit"
    )
    reader = expect(http.get("reader", q, params={"cause": "manual"}), 200)
    cases = {r["case_id"] for r in reader["items"]}
    assert mine in cases and hidden not in cases and reader["next_cursor"] is None
    assert all(not r["derived"] for r in reader["items"])
    owner_rows = expect(http.get("owner", q, params={"grantee": _user(http, "colleague")}), 200)
    assert hidden in {r["case_id"] for r in owner_rows["items"]}
    outsider = {r["case_id"] for r in expect(http.get("outsider", q), 200)["items"]}
    assert mine not in outsider and hidden not in outsider
    assert all(r["case_id"] != mine for r in expect(http.get("foreigner", q), 200)["items"])
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(100):
        params = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = expect(http.get("owner", q, params=params), 200)
        assert len(page["items"]) <= 1
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = expect(http.get("owner", q, params={"limit": "500"}), 200)["items"]
    assert seen == [r["id"] for r in whole] and len(seen) == len(set(seen)) > 1


# -- retrieve, update, delete ---------------------------------------------------------------------


def test_retrieve_share(http: HttpCast) -> None:
    case_id = http.new_case("Retrieve")
    share_id = _manual_id(http, case_id, "reader")
    standard_access(http, "GET", f"{API}/shares/{share_id}", write=False)
    got = expect(http.get("reader", f"{API}/shares/{share_id}"), 200)
    assert got["case_id"] == case_id and got["grantee"] == _user(http, "reader")
    expect(http.get("owner", f"{API}/shares/999999999"), 404, "not_found")
    expect(http.get("owner", f"{API}/shares/{2**70}"), 422, "validation_error")
    expect(http.get("owner", f"{API}/shares/0"), 422, "validation_error")


def test_update_share_level(http: HttpCast) -> None:
    case_id = http.new_case("Update")
    share_id = _manual_id(http, case_id, "reader")
    path = f"{API}/shares/{share_id}"
    standard_access(http, "PATCH", path, {"level": "edit"}, write=True)
    assert expect(http.get("reader", path), 200)["access_level"] == "edit"
    expect(http.call("owner", "PATCH", path, {"level": "full"}), 422, "invalid_access_level")
    moved = {"level": "read", "grantee": _user(http, "outsider")}
    refused = expect(http.call("owner", "PATCH", path, moved), 422, "validation_error")
    assert refused["details"]["field"] == "grantee"
    same = {"level": "read", "grantee": _user(http, "reader"), "case_id": case_id}
    assert expect(http.call("owner", "PATCH", path, same), 200)["access_level"] == "read"
    caused = {"level": "read", "row_cause": "team"}
    expect(http.call("owner", "PATCH", path, caused), 422, "validation_error")


def test_delete_share(http: HttpCast) -> None:
    case_id = http.new_case("Delete")
    share_id = _manual_id(http, case_id, "reader")
    path = f"{API}/shares/{share_id}"
    standard_access(http, "DELETE", path, write=True, ok=204)
    expect(http.get("owner", path), 404, "not_found")
    # the reader's only grant is gone: the case is not found for her any more
    expect(http.get("reader", f"{API}/cases/{case_id}/shares"), 404, "not_found")


def test_only_manual_rows_are_writable(http: HttpCast, roles: dict[str, int]) -> None:
    """S-SHR-4: assigned and team rows are read_only_share through the share API."""
    case_id = http.new_case("Read only rows")
    svc = http.cast.fresh()
    svc.assign(http.cast.agency, http.cast.owner, case_id, http.id("admin"))
    svc.team_add(http.cast.agency, http.cast.owner, case_id, http.id("outsider"), roles["viewer"])
    rows = expect(http.get("owner", f"{API}/cases/{case_id}/shares"), 200)["items"]
    for cause in ("assigned", "team"):
        [row] = [r for r in rows if r["row_cause"] == cause]
        path = f"{API}/shares/{row['id']}"
        expect(http.call("owner", "PATCH", path, {"level": "read"}), 409, "read_only_share")
        # turning the row into a manual one is an attempt on another cause all the same
        body = {"level": "edit", "row_cause": "manual"}
        expect(http.call("owner", "PATCH", path, body), 409, "read_only_share")
        expect(http.call("owner", "DELETE", path), 409, "read_only_share")
        expect(http.call("reader", "DELETE", path), 403, "insufficient_access")
        expect(http.call("foreigner", "DELETE", path), 404, "not_found")
    # S-SHR-8: a case in the recycle bin hides its shares
    svc.delete_case(http.cast.agency, http.cast.owner, case_id)
    expect(http.get("owner", f"{API}/shares/{_id(rows, 'manual')}"), 404, "not_found")


def _id(rows: list[dict[str, Any]], cause: str) -> int:
    return int(next(r["id"] for r in rows if r["row_cause"] == cause))


# -- assignments and user search (S-ASG-1) ------------------------------------------------------


def test_assignees_access(http: HttpCast) -> None:
    case_id = http.new_case("Assign access")
    path = f"{API}/cases/{case_id}/assignees"
    standard_access(http, "GET", path, write=False)
    standard_access(http, "POST", path, {"user_id": http.id("admin")}, write=True, ok=201)
    standard_access(http, "DELETE", f"{path}/{http.id('admin')}", write=True, ok=204)


def test_assign_gives_full_access_and_unassign_removes_it(http: HttpCast) -> None:
    case_id = http.new_case("Assign")
    path = f"{API}/cases/{case_id}/assignees"
    otto = http.id("outsider")
    expect(http.get("outsider", f"{API}/cases/{case_id}/shares"), 404)
    made = expect(http.post("owner", path, {"user_id": otto}), 201)
    assert made["user_id"] == otto and made["full_name"] == "Otto Outsider"
    assert made["assigned_by"] == _user(http, "owner") and made["share_id"]
    # assigning again changes nothing (200, same row)
    again = expect(http.post("colleague", path, {"user_id": otto}), 200)
    assert again["share_id"] == made["share_id"] and again["assigned_by"] == _user(http, "owner")
    listed = expect(http.get("reader", path), 200)["items"]
    assert [a["user_id"] for a in listed] == [otto]
    # full access: the assignee may now share the case and assign others
    expect(http.post("outsider", path, {"user_id": http.id("admin")}), 201)
    rows = expect(http.get("outsider", f"{API}/shares", params={"case": case_id}), 200)["items"]
    assert {(r["grantee"], r["row_cause"], r["access_level"]) for r in rows} >= {
        (_user(http, "outsider"), "assigned", "full")
    }
    expect(http.call("owner", "DELETE", f"{path}/{otto}"), 204)
    expect(http.get("outsider", path), 404, "not_found")
    expect(http.call("owner", "DELETE", f"{path}/{otto}"), 404, "not_found")


def test_assign_refuses_foreign_unknown_and_inactive_users(http: HttpCast) -> None:
    case_id = http.new_case("Assign refusals")
    path = f"{API}/cases/{case_id}/assignees"
    expect(http.post("owner", path, {"user_id": http.id("foreigner")}), 422, "invalid_grantee")
    expect(http.post("owner", path, {"user_id": 999999999}), 422, "invalid_grantee")
    expect(http.post("owner", path, {"user_id": 2**70}), 422, "validation_error")
    expect(http.post("owner", path, {"user_id": "x"}), 422, "validation_error")
    svc = http.cast.fresh()
    gone = svc.create_user(http.cast.agency, None, f"gone{case_id[:8]}", full_name="Gone")
    svc.set_active(http.cast.agency, None, gone, False)
    expect(http.post("owner", path, {"user_id": gone}), 422, "invalid_grantee")


def test_user_search(http: HttpCast) -> None:
    search = f"{API}/user-search"
    expect(http.get(None, search, params={"q": "olg"}), 401, "insufficient_access")
    found = expect(http.get("reader", search, params={"q": "OLG"}), 200)["items"]
    assert [u["id"] for u in found] == [http.id("owner")]
    assert set(found[0]) == {"id", "username", "full_name", "email"}
    by_email = expect(http.get("outsider", search, params={"q": "rr@north"}), 200)["items"]
    assert [u["id"] for u in by_email] == [http.id("reader")]
    by_surname = expect(http.get("owner", search, params={"q": "colleague"}), 200)["items"]
    assert [u["id"] for u in by_surname] == [http.id("colleague")]
    everyone = expect(http.get("owner", search, params={"q": "example"}), 200)["items"]
    ids = {u["id"] for u in everyone}
    assert http.id("foreigner") not in ids and http.id("admin") in ids
    assert expect(http.get("owner", search, params={"q": "fred"}), 200)["items"] == []
    assert expect(http.get("foreigner", search, params={"q": "olga"}), 200)["items"] == []
    fred = expect(http.get("foreigner", search, params={"q": "fred"}), 200)["items"]
    assert [u["id"] for u in fred] == [http.id("foreigner")]
    limited = expect(http.get("owner", search, params={"q": "example", "limit": "1"}), 200)
    assert len(limited["items"]) == 1
    expect(http.get("owner", search), 422, "validation_error")
    expect(http.get("owner", search, params={"q": " "}), 422, "validation_error")
    expect(http.get("owner", search, params={"q": "x" * 101}), 422, "validation_error")


# -- case teams (S-TEAM-1) ------------------------------------------------------------------------


def test_team_access(http: HttpCast, roles: dict[str, int]) -> None:
    case_id = http.new_case("Team access")
    path = f"{API}/cases/{case_id}/team"
    body = {"user_id": http.id("admin"), "team_role_id": roles["viewer"]}
    standard_access(http, "GET", path, write=False)
    standard_access(http, "POST", path, body, write=True, ok=201)
    standard_access(http, "DELETE", f"{path}/{http.id('admin')}", write=True, ok=204)


def test_team_roles_grant_at_once(http: HttpCast, roles: dict[str, int]) -> None:
    case_id = http.new_case("Team")
    path = f"{API}/cases/{case_id}/team"
    shares = f"{API}/cases/{case_id}/shares"
    otto = http.id("outsider")
    added = expect(
        http.post("owner", path, {"user_id": otto, "team_role_id": roles["viewer"]}), 201
    )
    assert added["team_role"]["id"] == roles["viewer"] and added["access_level"] == "read"
    assert added["full_name"] == "Otto Outsider"
    # a viewer reads but does not write
    expect(http.get("outsider", shares), 200)
    expect(http.post("outsider", path, {"user_id": otto, "team_role_id": roles["editor"]}), 403)
    changed = expect(
        http.post("colleague", path, {"user_id": otto, "team_role_id": roles["editor"]}), 200
    )
    assert changed["access_level"] == "edit" and changed["share_id"] == added["share_id"]
    team = expect(http.get("reader", path), 200)["items"]
    assert [(m["user_id"], m["team_role"]["level"]) for m in team] == [(otto, "edit")]
    rows = expect(http.get("owner", f"{API}/shares", params={"case": case_id}), 200)["items"]
    assert (_user(http, "outsider"), "team", "edit") in {
        (r["grantee"], r["row_cause"], r["access_level"]) for r in rows
    }
    # a role of level none gives nothing
    expect(http.post("owner", path, {"user_id": otto, "team_role_id": roles["observer"]}), 200)
    expect(http.get("outsider", shares), 404, "not_found")
    expect(http.post("owner", path, {"user_id": otto, "team_role_id": roles["editor"]}), 200)
    expect(http.call("owner", "DELETE", f"{path}/{otto}"), 204)
    expect(http.get("outsider", shares), 404, "not_found")
    expect(http.call("owner", "DELETE", f"{path}/{otto}"), 404, "not_found")


def test_team_refusals(http: HttpCast, roles: dict[str, int]) -> None:
    case_id = http.new_case("Team refusals")
    path = f"{API}/cases/{case_id}/team"
    viewer = roles["viewer"]
    foreign = {"user_id": http.id("foreigner"), "team_role_id": viewer}
    expect(http.post("owner", path, foreign), 422, "invalid_grantee")
    unknown = {"user_id": http.id("outsider"), "team_role_id": 999999999}
    expect(http.post("owner", path, unknown), 422, "validation_error")
    expect(http.post("owner", path, {"user_id": http.id("outsider")}), 422, "validation_error")


def test_control_characters_are_refused_not_a_crash(http: HttpCast) -> None:
    """PostgreSQL text cannot hold NUL: such ids are a validation_error, never a 500."""
    expect(http.get("owner", f"{API}/cases/a%00b/shares"), 422, "validation_error")
    expect(http.get("owner", f"{API}/shares", params={"case": "a\x00b"}), 422, "validation_error")
    body = {"grantee": "user:1\x00", "level": "read"}
    expect(http.post("owner", f"{API}/cases/a%00b/team", body), 422, "validation_error")
    sent = expect(http.post("owner", f"{API}/cases/{http.cast.case}/shares", body), 422)
    assert sent["code"] == "invalid_grantee"
