"""Cases over HTTP: create (S-CRT), read, edit, close, transfer (S-SHR-6), the recycle bin (S-SHR-8)
and the case list (S-VIEW-1, S-ACC-7)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from tests.http.cast import HttpCast, expect, standard_access

CASES = "/api/v1/cases"


def _create(http: HttpCast, who: str, status: int = 201, **body: Any) -> dict[str, Any]:
    code = body.pop("code", None)
    body.setdefault("case_type", "patient")
    body.setdefault("name", "New case")
    return expect(http.post(who, CASES, body), status, code)


def _ids(payload: dict[str, Any]) -> list[str]:
    return [row["case_id"] for row in payload["items"]]


# -- create -------------------------------------------------------------------------------------


def test_create_needs_a_signed_in_user_and_a_valid_body(http: HttpCast) -> None:
    body = {"case_type": "patient", "name": "x"}
    expect(http.post(None, CASES, body), 401, "insufficient_access")
    expect(http.post("owner", CASES, {"name": "x"}), 422, "validation_error")
    expect(http.post("owner", CASES, {**body, "colour": "red"}), 422, "validation_error")
    expect(http.post("owner", CASES, {**body, "name": "x" * 256}), 422, "validation_error")
    expect(http.post("owner", CASES, {**body, "case_id": "a/b"}), 422, "validation_error")
    expect(
        http.post("owner", CASES, {**body, "properties": {"bad name": "v"}}),
        422,
        "validation_error",
    )
    expect(http.post("owner", CASES, {**body, "properties": [1]}), 422, "validation_error")


def test_s_crt_2_without_owner_the_case_goes_to_the_creators_group(http: HttpCast) -> None:
    response = http.post("owner", CASES, {"case_type": "patient", "name": "Grouped"})
    created = expect(response, 201)
    assert response.headers["Location"] == f"{CASES}/{created['case_id']}"
    assert created["owner"] == {
        "id": f"group:{http.cast.group}",
        "kind": "group",
        "name": "Case team",
    }
    assert created["opened_by"]["id"] == http.id("owner")
    assert created["access"]["level"] == "full"
    assert created["access"]["causes"] == ["owner"]
    # S-ACC-2: the colleague in the group works it too
    expect(http.get("colleague", f"{CASES}/{created['case_id']}"), 200)


def test_s_crt_2_no_case_sharing_group_says_what_to_do(http: HttpCast) -> None:
    refused = _create(http, "outsider", 422, code="no_case_sharing_group")
    assert "owner explicitly" in refused["message"]


def test_s_crt_3_own_user_id_keeps_the_case_private(http: HttpCast) -> None:
    me = f"user:{http.id('owner')}"
    created = _create(http, "owner", owner=me, name="Mine only")
    assert created["owner"]["id"] == me
    assert created["owner"]["name"] == "olga (Olga Owner)"
    expect(http.get("colleague", f"{CASES}/{created['case_id']}"), 404, "not_found")
    outsider_own = _create(http, "outsider", owner=f"user:{http.id('outsider')}")
    assert outsider_own["access"]["causes"] == ["owner"]


def test_s_crt_1_handing_a_new_case_to_someone_else_needs_transfer_or_admin(
    http: HttpCast,
) -> None:
    other = f"user:{http.id('outsider')}"
    _create(http, "owner", 422, owner=other, code="invalid_owner")
    _create(http, "owner", 422, owner="group:999999", code="invalid_owner")
    _create(http, "owner", 422, owner=f"user:{http.id('foreigner')}", code="invalid_owner")
    _create(http, "owner", 422, owner="nonsense", code="validation_error")
    given = _create(http, "admin", owner=other, name="For Otto")
    assert given["owner"]["id"] == other
    assert given["access"]["causes"] == ["permission"]
    assert expect(http.get("outsider", f"{CASES}/{given['case_id']}"), 200)["access"]["causes"] == [
        "owner"
    ]


def test_create_with_own_id_indices_and_properties(http: HttpCast) -> None:
    parent = http.new_case("Parent")
    own_id = f"mine-{uuid.uuid4().hex[:8]}"
    created = _create(
        http,
        "owner",
        case_id=own_id,
        external_id="EXT-1",
        properties={"priority": "high"},
        indices={"parent": {"case_id": parent}},
    )
    assert created["case_id"] == own_id
    assert created["external_id"] == "EXT-1"
    assert created["properties"] == {"priority": "high"}
    assert created["indices"] == [
        {"identifier": "parent", "case_id": parent, "case_type": "patient", "relationship": "child"}
    ]
    again = _create(http, "owner", 422, case_id=own_id, code="validation_error")
    assert "exists already" in again["message"]


def test_issue8_fault6_a_case_id_beyond_latin1_is_created_once_with_an_encoded_location(
    http: HttpCast,
) -> None:
    """A header carries Latin-1 only: the Location of a case whose id is any other text is
    percent-encoded (RFC 3986), and it leads back to the case; the create answers 201, never a
    500 after the case was written."""
    suffix = uuid.uuid4().hex[:6]
    for case_id, encoded in (
        (f"患者-{suffix}", f"%E6%82%A3%E8%80%85-{suffix}"),
        (f"\U0001f600{suffix}", f"%F0%9F%98%80{suffix}"),
        (f"\u202e{suffix}", f"%E2%80%AE{suffix}"),
        (f"Zoë.{suffix}", f"Zo%C3%AB.{suffix}"),
    ):
        response = http.post(
            "owner", CASES, {"case_type": "patient", "name": "N", "case_id": case_id}
        )
        assert expect(response, 201)["case_id"] == case_id
        assert response.headers["Location"] == f"{CASES}/{encoded}"
        assert expect(http.get("owner", response.headers["Location"]), 200)["case_id"] == case_id
        again = http.post("owner", CASES, {"case_type": "patient", "name": "N", "case_id": case_id})
        assert "exists already" in expect(again, 422, "validation_error")["message"]


def test_a_case_id_no_address_can_carry_is_refused(http: HttpCast) -> None:
    """A case whose id holds '/' (or is '.' or '..') could be listed but never opened: its
    address would miss it. The API refuses it (its body's pattern refuses '/' already; the
    service refuses the rest as forms do, ``casexml.unaddressable``)."""
    slashed = {"case_type": "patient", "name": "N", "case_id": f"a/{uuid.uuid4().hex[:6]}"}
    expect(http.post("owner", CASES, slashed), 422, "validation_error")
    for case_id in (".", ".."):
        response = http.post(
            "owner", CASES, {"case_type": "patient", "name": "N", "case_id": case_id}
        )
        assert "case_id may not" in expect(response, 422, "validation_error")["message"]


def test_an_index_to_a_case_the_creator_cannot_see_is_like_a_missing_one(http: HttpCast) -> None:
    hidden = http.new_case("Hidden parent")
    mine = f"user:{http.id('outsider')}"
    body = {"case_type": "patient", "name": "c", "owner": mine}
    invisible = http.post("outsider", CASES, {**body, "indices": {"parent": {"case_id": hidden}}})
    missing = http.post("outsider", CASES, {**body, "indices": {"parent": {"case_id": "no-such"}}})
    a = expect(invisible, 422, "invalid_index")
    b = expect(missing, 422, "invalid_index")
    assert a["message"].replace(hidden, "X") == b["message"].replace("no-such", "X")
    bad = http.post("owner", CASES, {**body, "owner": None, "indices": {"1x": {"case_id": hidden}}})
    expect(bad, 422, "invalid_index")


# -- read -----------------------------------------------------------------------------------------


def test_read_case_access_and_record(http: HttpCast) -> None:
    case_id = http.new_case("Readable", properties={"district": "4"})
    standard_access(http, "GET", f"{CASES}/{case_id}", write=False)
    got = expect(http.get("reader", f"{CASES}/{case_id}"), 200)
    assert got["name"] == "Readable" and got["case_type"] == "patient"
    assert got["properties"] == {"district": "4"}
    assert got["closed"] is False and got["closed_on"] is None
    assert got["opened_by"] == {
        "id": http.id("owner"),
        "username": "olga",
        "full_name": "Olga Owner",
    }
    assert got["access"]["level"] == "read"
    assert got["access"]["causes"] == ["manual"]
    assert got["access"]["actions"]["view"] and not got["access"]["actions"]["edit"]
    # the foreigner's agency has its own "k1": he gets his, never the north one
    assert expect(http.get("foreigner", f"{CASES}/k1"), 200)["name"] == "Fred's k1"


def test_reading_a_case_puts_it_in_the_readers_recent_cases(http: HttpCast) -> None:
    case_id = http.new_case("Recently read")
    expect(http.get("reader", f"{CASES}/{case_id}"), 200)
    # issue 12 item 7: the process that answered the read lists it at once (from its buffer)
    listed = expect(http.get("reader", "/api/v1/me/recent"), 200)["items"]
    assert listed[0]["case_id"] == case_id
    # and the background flush writes it (here: at once, as the clean shutdown does)
    portal = http.client.portal
    assert portal is not None
    portal.call(http.client.app.state.pool.flush_recents)  # type: ignore[attr-defined]
    recent = http.cast.fresh().recent_cases(http.id("reader"))
    assert recent[0]["case_id"] == case_id


# -- update and close ----------------------------------------------------------------------------


def test_update_access(http: HttpCast) -> None:
    case_id = http.new_case("To rename")
    standard_access(http, "PATCH", f"{CASES}/{case_id}", {"name": "Renamed"}, write=True)
    assert expect(http.get("owner", f"{CASES}/{case_id}"), 200)["name"] == "Renamed"


def test_update_merges_properties_and_null_removes_one(http: HttpCast) -> None:
    case_id = http.new_case("Props", properties={"a": "1", "b": "2"})
    path = f"{CASES}/{case_id}"
    body = {"external_id": "X-9", "properties": {"b": None, "c": "3"}}
    changed = expect(http.call("colleague", "PATCH", path, body), 200)
    assert changed["properties"] == {"a": "1", "c": "3"}
    assert changed["external_id"] == "X-9"
    assert changed["name"] == "Props"
    assert changed["modified_by"]["id"] == http.id("colleague")
    expect(http.call("owner", "PATCH", path, {}), 422, "validation_error")
    expect(http.call("reader", "PATCH", path, {}), 403, "insufficient_access")
    expect(http.call("owner", "PATCH", path, {"closed": False}), 422, "validation_error")
    bad = {"properties": {"case_id": "x"}}
    expect(http.call("owner", "PATCH", path, bad), 422, "validation_error")
    # text search sees the new values
    found = expect(http.get("owner", CASES, params={"q": "x-9"}), 200)
    assert case_id in _ids(found)


def test_close_access(http: HttpCast) -> None:
    case_id = http.new_case("To close")
    standard_access(http, "POST", f"{CASES}/{case_id}/close", write=True)


def test_s_tx_4_close_is_sticky_and_idempotent(http: HttpCast) -> None:
    case_id = http.new_case("Sticky")
    path = f"{CASES}/{case_id}"
    closed = expect(http.post("colleague", f"{path}/close"), 200)
    assert closed["closed"] is True
    assert closed["closed_by"]["id"] == http.id("colleague")
    again = expect(http.post("owner", f"{path}/close"), 200)
    assert again["closed_on"] == closed["closed_on"]
    assert again["closed_by"]["id"] == http.id("colleague")
    after = expect(http.call("owner", "PATCH", path, {"properties": {"late": "yes"}}), 200)
    assert after["closed"] is True and after["properties"]["late"] == "yes"


# -- owner change (S-SHR-6) ------------------------------------------------------------------------


def test_owner_change_access(http: HttpCast) -> None:
    case_id = http.new_case("To transfer")
    body = {"owner": f"user:{http.id('colleague')}"}
    standard_access(http, "POST", f"{CASES}/{case_id}/owner", body, write=True)


def test_s_shr_6_owner_change_removes_manual_shares_keeps_assignments(http: HttpCast) -> None:
    case_id = http.new_case("Handover")
    svc = http.cast.fresh()
    svc.assign(http.cast.agency, http.cast.owner, case_id, http.id("outsider"))
    path = f"{CASES}/{case_id}"
    expect(http.get("reader", path), 200)
    body = {"owner": f"user:{http.id('colleague')}", "reason": "shift change"}
    moved = expect(http.post("owner", f"{path}/owner", body), 200)
    assert moved["owner"]["id"] == f"user:{http.id('colleague')}"
    assert moved["removed_shares"] == [f"case:{case_id}#read@user:{http.id('reader')}"]
    # the owner gave the case away: she no longer sees it, and her answer says so
    assert moved["access"]["level"] == "none"
    expect(http.get("owner", path), 404, "not_found")
    expect(http.get("reader", path), 404, "not_found")
    assert expect(http.get("outsider", path), 200)["access"]["causes"] == ["assigned"]
    history = expect(http.get("colleague", f"{path}/history"), 200)
    actions = [e["action"] for e in history["items"]]
    assert actions[:2] == ["case.owner", "share.delete"]
    assert history["items"][0]["reason"] == "shift change"


def test_owner_change_to_what_cannot_own_is_invalid_owner(http: HttpCast) -> None:
    case_id = http.new_case("Nowhere")
    path = f"{CASES}/{case_id}/owner"
    expect(http.post("owner", path, {"owner": "group:999999"}), 422, "invalid_owner")
    expect(http.post("owner", path, {"owner": ""}), 422, "validation_error")
    expect(http.post("owner", path, {"owner": "user:1", "x": 1}), 422, "validation_error")


# -- the recycle bin (S-SHR-8) ----------------------------------------------------------------------


def test_delete_access(http: HttpCast) -> None:
    case_id = http.new_case("To delete")
    standard_access(http, "DELETE", f"{CASES}/{case_id}", write=True, ok=204)
    expect(http.get("owner", f"{CASES}/{case_id}"), 404, "not_found")


def test_restore_and_purge_access(http: HttpCast) -> None:
    for suffix, ok in (("restore", 200), ("purge", 204)):
        case_id = http.new_case(f"To {suffix}")
        expect(http.call("owner", "DELETE", f"{CASES}/{case_id}"), 204)
        method = "POST" if suffix == "restore" else "DELETE"
        standard_access(http, method, f"{CASES}/{case_id}/{suffix}", write=True, ok=ok)


def test_s_shr_8_delete_restore_brings_shares_back_and_purge_is_final(http: HttpCast) -> None:
    case_id = http.new_case("Binned")
    path = f"{CASES}/{case_id}"
    expect(http.post("owner", f"{path}/restore"), 409, "invalid_transition")
    expect(http.call("owner", "DELETE", path), 204)
    expect(http.get("reader", path), 404, "not_found")
    expect(http.get("colleague", path), 404, "not_found")
    expect(http.call("owner", "DELETE", path), 404, "not_found")
    assert case_id not in _ids(expect(http.get("owner", CASES, params={"limit": 500}), 200))
    restored = expect(http.post("colleague", f"{path}/restore"), 200)
    assert restored["access"]["level"] == "full"
    assert expect(http.get("reader", path), 200)["access"]["causes"] == ["manual"]
    expect(http.call("owner", "DELETE", f"{path}/purge"), 409, "invalid_transition")
    expect(http.call("owner", "DELETE", path), 204)
    expect(http.call("admin", "DELETE", f"{path}/purge"), 204)
    expect(http.post("owner", f"{path}/restore"), 404, "not_found")
    expect(http.get("owner", path), 404, "not_found")


# -- the list (S-VIEW-1) ----------------------------------------------------------------------------


def test_list_needs_a_user_and_shows_only_the_callers_agency(http: HttpCast) -> None:
    expect(http.get(None, CASES), 401, "insufficient_access")
    kind = f"t{uuid.uuid4().hex[:8]}"
    svc = http.cast.fresh()
    mine = svc.create_case(http.cast.agency, http.cast.owner, kind, "Listed")
    params = {"case_type": kind}
    assert _ids(expect(http.get("owner", CASES, params=params), 200)) == [mine]
    assert _ids(expect(http.get("outsider", CASES, params=params), 200)) == []
    assert _ids(expect(http.get("foreigner", CASES, params=params), 200)) == []
    assert "k1" in _ids(expect(http.get("foreigner", CASES), 200))


def _world(http: HttpCast) -> tuple[str, dict[str, str]]:
    """A case type of its own with four cases of different kinds."""
    kind = f"t{uuid.uuid4().hex[:8]}"
    svc = http.cast.fresh()
    north, owner = http.cast.agency, http.cast.owner
    ids = {
        "grouped": svc.create_case(north, owner, kind, "Bravo grouped", external_id="needle-1"),
        "private": svc.create_case(north, owner, kind, "Alpha private", owner=f"user:{owner}"),
        "colin": svc.create_case(north, http.cast.colleague, kind, "Charlie by Colin"),
        "closed": svc.create_case(north, owner, kind, "Delta closed", closed=True),
    }
    svc.share(north, owner, ids["private"], f"user:{http.cast.reader}", "read")
    svc.assign(north, owner, ids["colin"], http.cast.reader)
    return kind, ids


def test_s_view_1_every_filter(http: HttpCast) -> None:
    kind, ids = _world(http)

    def ids_of(who: str, **params: Any) -> set[str]:
        page = expect(http.get(who, CASES, params={"case_type": kind, **params}), 200)
        return set(_ids(page))

    assert ids_of("owner") == set(ids.values())
    assert ids_of("owner", created_by_me=True) == {ids["grouped"], ids["private"], ids["closed"]}
    assert ids_of("colleague", created_by_me=True) == {ids["colin"]}
    assert ids_of("owner", owned_by_me=True) == set(ids.values())
    assert ids_of("colleague", owned_by_me=True) == {ids["grouped"], ids["colin"], ids["closed"]}
    assert ids_of("reader") == {ids["private"], ids["colin"]}
    assert ids_of("reader", shared_with_me=True) == {ids["private"]}
    assert ids_of("reader", assigned_to_me=True) == {ids["colin"]}
    assert ids_of("owner", status="closed") == {ids["closed"]}
    assert ids_of("owner", status="open") == set(ids.values()) - {ids["closed"]}
    assert ids_of("owner", status="all") == set(ids.values())
    assert ids_of("owner", owner=f"user:{http.id('owner')}") == {ids["private"]}
    assert ids_of("owner", q="NEEDLE") == {ids["grouped"]}
    assert ids_of("owner", q="alpha") == {ids["private"]}
    assert ids_of("outsider") == set()


def test_s_acc_7_every_listed_case_passes_the_check(http: HttpCast) -> None:
    kind, ids = _world(http)
    for who in ("reader", "colleague"):
        listed = set(_ids(expect(http.get(who, CASES, params={"case_type": kind}), 200)))
        for case_id in ids.values():
            response = http.get(who, f"{CASES}/{case_id}/check", params={"action": "view"})
            if case_id in listed:
                assert expect(response, 200)["allowed"] is True
            else:  # a case the user cannot view does not exist for them
                expect(response, 404, "not_found")


def test_sorting_keyset_paging_and_count(http: HttpCast) -> None:
    kind, _ = _world(http)
    by_name = ["Alpha private", "Bravo grouped", "Charlie by Colin", "Delta closed"]
    params: dict[str, Any] = {"case_type": kind, "sort": "name", "limit": 1, "count": True}
    seen: list[str] = []
    cursor = None
    while True:
        page = expect(
            http.get("owner", CASES, params={**params, "cursor": cursor} if cursor else params), 200
        )
        assert page["count"] == 4
        seen += [row["name"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == by_name
    down = expect(
        http.get("owner", CASES, params={"case_type": kind, "sort": "name", "descending": True}),
        200,
    )
    assert [r["name"] for r in down["items"]] == by_name[::-1]
    assert "count" not in down
    assert down["items"][0]["owner"]["kind"] == "group"


def test_list_refuses_bad_parameters(http: HttpCast) -> None:
    for params in (
        {"limit": 501},
        {"limit": 0},
        {"sort": "colour"},
        {"status": "maybe"},
        {"cursor": "not-a-cursor"},
        {"cursor": base64.urlsafe_b64encode(b'[{"a": 1}, 2]').decode()},
        {"cursor": base64.urlsafe_b64encode(b'["x", "y"]').decode()},
        {"saved_filter": "mine"},
        {"q": "x" * 201},
    ):
        expect(http.get("owner", CASES, params=params), 422, "validation_error")
    expect(http.get("owner", CASES, params={"saved_filter": "999999"}), 404, "not_found")


def test_saved_filter_and_explicit_parameters_override_it(http: HttpCast) -> None:
    kind, ids = _world(http)
    svc = http.cast.fresh()
    saved = svc.save_filter(
        http.id("colleague"), f"closed {kind}", {"case_type": kind, "status": "closed"}
    )
    by_id = expect(http.get("colleague", CASES, params={"saved_filter": saved["id"]}), 200)
    assert _ids(by_id) == [ids["closed"]]
    overridden = {"saved_filter": saved["id"], "status": "open", "sort": "name"}
    assert _ids(expect(http.get("colleague", CASES, params=overridden), 200)) == [
        ids["grouped"],
        ids["colin"],
    ]
    svc.save_filter(http.id("colleague"), "default", {"case_type": kind}, default=True)
    default = expect(
        http.get("colleague", CASES, params={"saved_filter": "default", "count": 1}), 200
    )
    assert default["count"] == 3
    # someone else's saved filter is not found
    expect(http.get("owner", CASES, params={"saved_filter": saved["id"]}), 404, "not_found")


def test_control_characters_are_refused_before_they_reach_the_database(http: HttpCast) -> None:
    """PostgreSQL text cannot hold NUL: every way in answers validation_error, never 500."""
    nul = "a\x00b"
    token = base64.urlsafe_b64encode(b'["a\\u0000", 1]').decode().rstrip("=")
    for params in ({"q": nul}, {"case_type": nul}, {"owner": nul}, {"cursor": token}):
        expect(http.get("owner", CASES, params=params), 422, "validation_error")
    for path in ("k1%00", "k1%00/access", "k1%00/check?action=view", "k1%00/history"):
        expect(http.get("owner", f"{CASES}/{path}"), 422, "validation_error")
    for body in (
        {"case_type": nul, "name": "x"},
        {"case_type": "patient", "name": nul},
        {"case_type": "patient", "name": "x", "case_id": nul},
        {"case_type": "patient", "name": "x", "properties": {"p": nul}},
        {"case_type": "patient", "name": "x", "indices": {"parent": {"case_id": nul}}},
    ):
        expect(http.post("owner", CASES, body), 422)
    case_id = http.new_case("Control")
    path = f"{CASES}/{case_id}"
    expect(http.call("owner", "PATCH", path, {"properties": {"p": nul}}), 422, "validation_error")
    expect(http.post("owner", f"{path}/owner", {"owner": nul}), 422, "validation_error")
    expect(
        http.post("owner", f"{path}/owner", {"owner": "group:1", "reason": nul}),
        422,
        "validation_error",
    )
