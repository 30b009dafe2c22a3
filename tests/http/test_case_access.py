"""Why a user reaches a case over HTTP: explain and check (one Access object, S-ACC-6), who has
access, and the case's audit history (S-AUD-1)."""

from __future__ import annotations

from tests.http.cast import HttpCast, expect, standard_access

CASES = "/api/v1/cases"
ACTIONS = ("view", "edit", "close", "delete", "share", "transfer")


def test_explain_access(http: HttpCast) -> None:
    case_id = http.new_case("Explained")
    standard_access(http, "GET", f"{CASES}/{case_id}/access", write=False)


def test_s_acc_6_explain_gives_every_grant_with_its_path(http: HttpCast) -> None:
    case_id = http.new_case("Why")
    path = f"{CASES}/{case_id}/access"
    mine = expect(http.get("colleague", path), 200)
    assert mine["user_id"] == http.id("colleague")
    assert mine["level"] == "full" and mine["causes"] == ["owner"]
    (grant,) = mine["grants"]
    assert grant["cause"] == "owner" and grant["level"] == "full"
    assert f"group:{http.cast.group}" in grant["path"]
    assert f"user:{http.id('colleague')}" in grant["path"]
    read = expect(http.get("reader", path), 200)
    assert read["level"] == "read" and read["causes"] == ["manual"]
    assert read["actions"] == {a: a == "view" for a in ACTIONS}


def test_admins_explain_another_users_access_others_may_not(http: HttpCast) -> None:
    case_id = http.new_case("For the admin")
    path = f"{CASES}/{case_id}/access"
    rita = expect(http.get("admin", path, params={"user": http.id("reader")}), 200)
    assert rita["user_id"] == http.id("reader") and rita["causes"] == ["manual"]
    otto = expect(http.get("admin", path, params={"user": http.id("outsider")}), 200)
    assert otto["level"] == "none" and otto["grants"] == [] and otto["causes"] == []
    expect(http.get("admin", path, params={"user": http.id("foreigner")}), 404, "not_found")
    expect(http.get("admin", path, params={"user": 10**12}), 404, "not_found")
    expect(http.get("admin", path, params={"user": 0}), 422, "validation_error")
    refused = http.get("owner", path, params={"user": http.id("reader")})
    expect(refused, 403, "insufficient_access")
    # asking about oneself is always fine
    expect(http.get("reader", path, params={"user": http.id("reader")}), 200)
    # the question about someone else never reveals a case the asker cannot see
    expect(http.get("outsider", path, params={"user": http.id("owner")}), 404, "not_found")


def test_check_access(http: HttpCast) -> None:
    case_id = http.new_case("Checked")
    standard_access(http, "GET", f"{CASES}/{case_id}/check?action=edit", write=False)


def test_check_answers_with_level_and_causes_and_agrees_with_explain(http: HttpCast) -> None:
    case_id = http.new_case("Decided")
    path = f"{CASES}/{case_id}"
    for who in ("owner", "reader", "admin"):
        explained = expect(http.get(who, f"{path}/access"), 200)
        for action in ACTIONS:
            got = expect(http.get(who, f"{path}/check", params={"action": action}), 200)
            assert got["allowed"] == explained["actions"][action], (who, action)
            assert got["level"] == explained["level"]
            assert got["causes"] == explained["causes"]
    edit = expect(http.get("reader", f"{path}/check", params={"action": "update"}), 200)
    assert edit == {
        "action": "edit",
        "allowed": False,
        "level": "read",
        "causes": ["manual"],
        "reasons": [edit["reasons"][0]],
        "reasons_text": ["Manual share"],  # the reader is named in the share directly
    }
    assert edit["reasons"][0].startswith("manual read")
    expect(http.get("reader", f"{path}/check", params={"action": "fly"}), 422, "validation_error")
    expect(http.get("reader", f"{path}/check"), 422, "validation_error")


def test_who_has_access_access(http: HttpCast) -> None:
    case_id = http.new_case("Who")
    standard_access(http, "GET", f"{CASES}/{case_id}/who-has-access", write=False)


def test_s_acc_6_who_has_access_lists_every_user_and_why(http: HttpCast) -> None:
    case_id = http.new_case("Sharing hierarchy")
    got = expect(http.get("reader", f"{CASES}/{case_id}/who-has-access"), 200)
    by_user = {row["user"]["id"]: row for row in got["items"]}
    assert set(by_user) == {http.id(w) for w in ("owner", "colleague", "reader", "admin")}
    assert by_user[http.id("owner")]["causes"] == ["owner"]
    assert by_user[http.id("reader")]["level"] == "read"
    assert by_user[http.id("reader")]["user"]["full_name"] == "Rita Reader"
    assert by_user[http.id("admin")]["causes"] == ["permission"]
    assert [row["level"] for row in got["items"]][-1] == "read"  # strongest first


def test_history_access(http: HttpCast) -> None:
    case_id = http.new_case("Audited")
    standard_access(http, "GET", f"{CASES}/{case_id}/history", write=False)


def test_s_aud_1_history_newest_first_with_paging(http: HttpCast) -> None:
    case_id = http.new_case("Chronicle")
    path = f"{CASES}/{case_id}"
    expect(http.call("owner", "PATCH", path, {"name": "Chronicle 2"}), 200)
    expect(http.post("colleague", f"{path}/close"), 200)
    full = expect(http.get("reader", f"{path}/history"), 200)
    actions = [e["action"] for e in full["items"]]
    assert actions == ["case.close", "case.update", "share.create", "case.create"]
    assert full["next_cursor"] is None
    close = full["items"][0]
    assert close["actor"] == f"user:{http.id('colleague')}"
    assert close["actor_name"] == "colin (Colin Colleague)"
    update = full["items"][1]
    assert update["before"]["name"] == "Chronicle" and update["after"]["name"] == "Chronicle 2"
    paged: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = expect(http.get("reader", f"{path}/history", params=params), 200)
        paged += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == [e["id"] for e in full["items"]]
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": "x"}, {"cursor": "9" * 19}):
        expect(http.get("reader", f"{path}/history", params=bad), 422, "validation_error")


def test_s_acc_6_explain_names_what_its_paths_mention_and_keeps_the_ids(http: HttpCast) -> None:
    """Issue 9: "why" paths read ``group:7 ∋ user:5``; the answer now names them too."""
    case_id = http.new_case("Named")
    group, colin = f"group:{http.cast.group}", f"user:{http.id('colleague')}"
    mine = expect(http.get("colleague", f"{CASES}/{case_id}/access"), 200)
    assert mine["names"] == {colin: "Colin Colleague", group: "Case team (group)"}
    (grant,) = mine["grants"]
    assert grant["path"] == f"owner → {group} ∋ {colin}"  # the canonical ids stay
    assert grant["path_text"] == "owner → Case team (group) ∋ Colin Colleague"
    assert grant["why"] == "Owner: member of Case team (group)"
    decided = expect(http.get("reader", f"{CASES}/{case_id}/check?action=view"), 200)
    assert decided["reasons_text"] == ["Manual share"]
    admin = expect(http.get("admin", f"{CASES}/{case_id}/access"), 200)
    assert admin["grants"][0]["why"] == "Permission: agency admin"


def test_s_acc_6_who_has_access_and_shares_carry_names(http: HttpCast) -> None:
    case_id = http.new_case("Named for all")
    who = expect(http.get("reader", f"{CASES}/{case_id}/who-has-access"), 200)
    by_user = {item["user"]["full_name"]: item for item in who["items"]}
    assert set(by_user) == {"Olga Owner", "Colin Colleague", "Rita Reader", "Ada Admin"}
    for item in who["items"]:
        for grant in item["grants"]:
            assert "user:" not in grant["path_text"] and "group:" not in grant["path_text"]
            assert grant["why"] and not grant["why"].startswith(grant["cause"] + ":")
    shares = expect(http.get("owner", f"{CASES}/{case_id}/shares"), 200)["items"]
    rita = next(s for s in shares if s["row_cause"] == "manual")
    assert rita["grantee"] == f"user:{http.id('reader')}" and rita["grantee_name"] == "Rita Reader"
    derived = next(s for s in shares if s["row_cause"] == "owner")
    assert derived["path_text"].endswith("∋ Olga Owner") or derived["path_text"].endswith(
        "∋ Colin Colleague"
    )
