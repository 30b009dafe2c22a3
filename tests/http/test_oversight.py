"""The recycle bin (S-SHR-8), the agency's audit log (S-AUD-1) and device forms with archive
(S-TX-8) over HTTP, on both stores: admins only, keyset-paged, other agencies' rows invisible."""

from __future__ import annotations

import uuid

from tests.http.cast import HttpCast, expect
from tests.http.directory_cast import API, admin_access
from tests.http.test_devices import _submit
from tests.services.forms import block, create, form, update


def test_s_shr_8_the_recycle_bin_lists_restores_and_purges(http: HttpCast) -> None:
    kept, gone = http.new_case("Keep me"), http.new_case("Purge me")
    for case_id in (kept, gone):
        expect(http.call("owner", "DELETE", f"{API}/cases/{case_id}"), 204)
    page = admin_access(http, "GET", f"{API}/recycle-bin", foreign_ids=False)
    ids = [item["case_id"] for item in page["items"]]
    assert ids[:2] == [gone, kept]  # the last deleted first
    top = page["items"][0]
    assert top["deleted_by"]["name"].startswith("olga") and top["deleted_at"]
    assert top["owner"]["kind"] == "group"
    assert not expect(http.get("foreigner", f"{API}/recycle-bin"), 200)["items"]
    one = expect(http.get("admin", f"{API}/recycle-bin?limit=1"), 200)
    assert one["next_cursor"] and one["prev_cursor"] is None
    second = expect(
        http.get("admin", f"{API}/recycle-bin?limit=1&cursor={one['next_cursor']}"), 200
    )
    assert second["items"][0]["case_id"] == kept
    back = expect(
        http.get(
            "admin", f"{API}/recycle-bin?limit=1&direction=newer&cursor={second['prev_cursor']}"
        ),
        200,
    )
    assert back["items"] == one["items"]
    expect(http.post("admin", f"{API}/cases/{kept}/restore"), 200)
    expect(http.call("admin", "DELETE", f"{API}/cases/{gone}/purge"), 204)
    left = [i["case_id"] for i in expect(http.get("admin", f"{API}/recycle-bin"), 200)["items"]]
    assert kept not in left and gone not in left
    expect(http.get("admin", f"{API}/recycle-bin?cursor=abc"), 422, "validation_error")


def test_s_aud_1_the_audit_log_filters_and_pages(http: HttpCast) -> None:
    case_id = http.new_case("Audited")
    log = admin_access(http, "GET", f"{API}/audit?case={case_id}", foreign_ids=False)
    actions = [e["action"] for e in log["items"]]
    assert actions == ["share.create", "case.create"]
    share = log["items"][0]
    assert share["case_id"] == case_id and share["actor_name"].startswith("olga")
    assert share["after"]["level"] == "read"
    shares = expect(http.get("admin", f"{API}/audit?kind=share&limit=200"), 200)["items"]
    assert shares and {e["action"].split(".")[0] for e in shares} == {"share"}
    owner = http.id("owner")
    by_owner = expect(http.get("admin", f"{API}/audit?actor=user:{owner}"), 200)["items"]
    assert by_owner and {e["actor"] for e in by_owner} == {f"user:{owner}"}
    system = expect(http.get("admin", f"{API}/audit?actor=system&limit=1"), 200)
    assert system["items"][0]["actor_name"] == "the system"
    old = expect(http.get("admin", f"{API}/audit?until=2000-01-01"), 200)
    assert old["items"] == [] and old["next_cursor"] is None
    # another agency's log never shows here, and this one never there
    theirs = expect(http.get("foreigner", f"{API}/audit?limit=200"), 200)["items"]
    assert not any(e.get("case_id") == case_id for e in theirs)
    for bad in ("actor=nobody", "since=2026-02-30", "kind=Share!", "cursor=1.2.3"):
        expect(http.get("admin", f"{API}/audit?{bad}"), 422, "validation_error")


def test_s_tx_8_device_forms_are_listed_shown_archived_and_unarchived(http: HttpCast) -> None:
    case_id, first, second = (f"dev-{uuid.uuid4().hex[:8]}" for _ in range(3))
    made = form(block(case_id, create(name="Device case")), instance=first)
    changed = form(block(case_id, update(colour="blue")), instance=second)
    for xml in (made, changed):
        assert _submit(http, "owner", xml).status_code == 201
    listed = admin_access(http, "GET", f"{API}/submissions", foreign_ids=False)
    assert [f["instance_id"] for f in listed["items"][:2]] == [second, first]
    row = listed["items"][0]
    assert row["status"] == "normal" and row["cases"] == 1 and row["user"]["username"] == "olga"
    one = admin_access(http, "GET", f"{API}/submissions/{second}")
    assert "<colour>blue</colour>" in one["xml"] and one["cases"] == [case_id]
    assert [v["status"] for v in one["versions"]] == ["normal"]
    path = f"{API}/submissions/{second}"
    archived = admin_access(http, "POST", f"{path}/archive")
    assert archived["cases_changed"] == [case_id]
    record = expect(http.get("owner", f"{API}/cases/{case_id}"), 200)
    assert "colour" not in record["properties"]  # rebuilt without the archived form
    expect(http.post("admin", f"{path}/archive"), 409, "invalid_transition")
    statuses = expect(http.get("admin", f"{API}/submissions?status=archived"), 200)["items"]
    assert second in {f["instance_id"] for f in statuses}
    expect(http.post("admin", f"{path}/unarchive"), 200)
    record = expect(http.get("owner", f"{API}/cases/{case_id}"), 200)
    assert record["properties"]["colour"] == "blue"
    expect(http.get("admin", f"{API}/submissions/no-such-form"), 404, "not_found")
    expect(http.get("admin", f"{API}/submissions?status=lost"), 422)


def test_s_tx_8_a_refused_form_is_not_archived_with_409_not_404(http: HttpCast) -> None:
    """docs/api/oversight.md: archiving a form that is not normal is 409 invalid_transition; 404
    is for an instanceID the agency never received. A form refused whole (stored with status
    error) was received: the list and the form's own page show it, so its archive and unarchive
    are 409 naming its status, and nothing changes."""
    instance = uuid.uuid4().hex
    refused = form(
        block(f"dev-{uuid.uuid4().hex[:8]}", create() + update(x="1")), instance=instance
    )
    refused = refused.replace("<case_name>N</case_name>", "")  # a create without a name
    assert _submit(http, "owner", refused).status_code == 422
    path = f"{API}/submissions/{instance}"
    shown = expect(http.get("admin", path), 200)
    assert shown["status"] == "error"
    for verb in ("archive", "unarchive"):
        refusal = expect(http.post("admin", f"{path}/{verb}"), 409, "invalid_transition")
        assert "error" in refusal["message"], refusal
    assert [v["status"] for v in expect(http.get("admin", path), 200)["versions"]] == ["error"]
    expect(http.post("admin", f"{API}/submissions/never-received/archive"), 404, "not_found")


# -- changing structure after it is made -----------------------------------------------------


def test_groups_are_renamed_and_case_sharing_turned_off_and_on(http: HttpCast) -> None:
    made = expect(http.post("admin", f"{API}/groups", {"name": "Ward"}), 201)
    path = f"{API}/groups/{made['id']}"
    changed = admin_access(http, "PATCH", path, {"case_sharing": True, "name": "Ward 9"})
    assert changed["case_sharing"] is True and changed["name"] == "Ward 9"
    unit = expect(http.call("admin", "PATCH", path, {"kind": "unit"}), 200)
    assert unit["kind"] == "unit" and unit["name"] == "Ward 9"
    expect(http.call("admin", "PATCH", path, {"name": None}), 422, "validation_error")
    expect(http.call("admin", "PATCH", path, {"case_sharing": "yes"}), 422, "validation_error")
    expect(http.call("admin", "PATCH", path, {"name": "  "}), 422, "validation_error")


def test_location_types_locations_and_roles_change_after_they_are_made(http: HttpCast) -> None:
    kind = expect(http.post("admin", f"{API}/location-types", {"name": "Zone"}), 201)
    flags = {"shares_cases": True, "view_descendants": True}
    changed = admin_access(http, "PATCH", f"{API}/location-types/{kind['id']}", flags)
    assert changed["shares_cases"] and changed["view_descendants"]
    top = expect(
        http.post("admin", f"{API}/locations", {"name": "Top", "type_id": kind["id"]}), 201
    )
    low = expect(
        http.post(
            "admin",
            f"{API}/locations",
            {"name": "Low", "type_id": kind["id"], "parent_id": top["id"]},
        ),
        201,
    )
    moved = expect(
        http.call("admin", "PATCH", f"{API}/locations/{top['id']}", {"parent_id": low["id"]}), 422
    )
    assert moved["code"] == "validation_error"
    out = admin_access(
        http, "PATCH", f"{API}/locations/{low['id']}", {"parent_id": None, "name": "Low 2"}
    )
    assert out["parent_id"] is None and out["name"] == "Low 2"
    archived = expect(
        http.call("admin", "PATCH", f"{API}/locations/{low['id']}", {"archived": True}), 200
    )
    assert archived["archived"] is True
    boss = expect(http.post("admin", f"{API}/roles", {"name": "Boss"}), 201)
    staff = expect(http.post("admin", f"{API}/roles", {"name": "Staff"}), 201)
    under = admin_access(http, "PATCH", f"{API}/roles/{staff['id']}", {"parent_id": boss["id"]})
    assert under["parent_id"] == boss["id"]
    cycle = http.call("admin", "PATCH", f"{API}/roles/{boss['id']}", {"parent_id": staff["id"]})
    expect(cycle, 422, "validation_error")


def test_s_rule_1_a_rule_is_edited_whole_and_its_kind_stays(http: HttpCast) -> None:
    grantee = f"user:{http.id('outsider')}"
    body = {
        "name": "Households",
        "kind": "criteria",
        "grantee": grantee,
        "level": "read",
        "criteria": {"case_type": "household"},
    }
    rule = expect(http.post("admin", f"{API}/rules", body), 201)
    case_id = http.new_case("Patient for a rule")
    path = f"{API}/rules/{rule['id']}"
    assert expect(http.get("outsider", f"{API}/cases/{case_id}"), 404)
    change = {"criteria": {"any": [{"field": "case_type", "op": "equals", "value": "patient"}]}}
    edited = admin_access(http, "PATCH", path, change | {"level": "edit"})
    assert edited["level"] == "edit" and edited["kind"] == "criteria"
    assert expect(http.get("outsider", f"{API}/cases/{case_id}"), 200)["case_id"] == case_id
    expect(http.call("admin", "PATCH", path, {"owner_in": grantee}), 422, "validation_error")
    expect(http.call("admin", "PATCH", path, {"level": "full"}), 422)
    off = expect(http.call("admin", "PATCH", path, {"active": False}), 200)
    assert off["active"] is False
    expect(http.get("outsider", f"{API}/cases/{case_id}"), 404)
